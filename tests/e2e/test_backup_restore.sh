#!/usr/bin/env bash
# test_backup_restore.sh - what restoring a confidential VM's recovery point
# creates, with curl, from the cvm-cmk fixture: RestoreDisks into a target
# resource group (managed disks, ConfidentialVM_DiskEncryptedWithCustomerKey
# with the original or the securedVMDetails disk encryption set, data disks
# too), RestoreDisks without a target group (no disks), AlternateLocation (a
# new VM on the restored disks), OriginalLocation (the source VM switched to
# them), the synchronous validation, and the disks' GET/list/DELETE.
source "$(dirname "$0")/lib.sh"
SUB=00000000-0000-0000-0000-000000000001
start_emulator --fixture cvm-cmk

RG=cvm-rg
V=7.4
RSV=2023-06-01
CV=2023-09-01
VAULT="/subscriptions/$SUB/resourceGroups/$RG/providers/Microsoft.RecoveryServices/vaults/cvm-vault"
COMPUTE="/subscriptions/$SUB/resourceGroups/$RG/providers/Microsoft.Compute"
VM_ID="$COMPUTE/virtualMachines/cvm1"
DES_ID="$COMPUTE/diskEncryptionSets/cvm-des"
ITEM="$VAULT/backupFabrics/Azure/protectionContainers/IaasVMContainer;iaasvmcontainerv2;$RG;cvm1/protectedItems/VM;iaasvmcontainerv2;$RG;cvm1"
BMS=6a4b2f8e-1c3d-4e5f-9a7b-262044b1e2ce
SA="/subscriptions/$SUB/resourceGroups/$RG/providers/Microsoft.Storage/storageAccounts/cvmrestore"
TG="/subscriptions/$SUB/resourceGroups/restore-rg"

uuid() { python3 -c 'import uuid; print(uuid.uuid4())'; }
wait_op() {
    for _ in $(seq 1 100); do
        arm GET "$1"
        [ "$(jq_ "$BODY_OUT" status)" != "InProgress" ] && return 0
        sleep 0.05
    done
}
# follow: waits for the operation of the last 202 and loads its job into JOB.
follow() {
    local op
    op=$(header Azure-AsyncOperation)
    op=${op##*/}
    op=${op%%\?*}
    wait_op "$VAULT/backupOperations/$op?api-version=$RSV"
    OPBODY=$BODY_OUT
    arm GET "$VAULT/backupJobs/$(jq_ "$BODY_OUT" properties.jobId)?api-version=$RSV"
    JOB=$BODY_OUT
}
# restore BODYPROPS: POST restore of RP with extra properties (JSON members, no braces).
restore() {
    arm POST "$ITEM/recoveryPoints/$RP/restore?api-version=$RSV" \
        "{\"properties\":{\"objectType\":\"IaasVMRestoreRequest\",\"recoveryPointId\":\"$RP\",\"sourceResourceId\":\"$VM_ID\",\"storageAccountId\":\"$SA\",\"region\":\"uaenorth\",$1}}"
}
bag() { jq_ "$JOB" "properties.extendedInfo.propertyBag.$1"; }

# A data disk on the VM, the grant, protection and one backup.
arm GET "$VM_ID?api-version=$CV"
VMBODY=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); d["properties"]["storageProfile"]["dataDisks"]=[{"lun":0,"name":"cvm1-data0","createOption":"Empty","diskSizeGB":64,"managedDisk":{"storageAccountType":"StandardSSD_LRS"}}]; print(json.dumps(d))' "$BODY_OUT")
arm PUT "$VM_ID?api-version=$CV" "$VMBODY"
check "VM with a data disk" eq "$STATUS" 200
arm PUT "/mhsm/cvmhsm/keys/cvm-cmk/providers/Microsoft.Authorization/roleAssignments/$(uuid)?api-version=$V" \
    "{\"properties\":{\"roleDefinitionId\":\"Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/21dbd100-6940-42c2-9190-5d6cb909625b\",\"principalId\":\"$BMS\"}}"
arm PUT "$ITEM?api-version=$RSV" \
    "{\"properties\":{\"protectedItemType\":\"Microsoft.Compute/virtualMachines\",\"sourceResourceId\":\"$VM_ID\",\"policyId\":\"$VAULT/backupPolicies/EnhancedPolicy\"}}"
follow
check "protected" eq "$(jq_ "$OPBODY" status)" "Succeeded"
arm POST "$ITEM/backup?api-version=$RSV" '{"properties":{"objectType":"IaasVMBackupRequest"}}'
follow
check "backed up" eq "$(jq_ "$JOB" properties.status)" "Completed"
arm GET "$ITEM/recoveryPoints?api-version=$RSV"
RP=$(jq_ "$BODY_OUT" value.0.name)
check "recovery points show no internal fields" eq "$(jq_ "$BODY_OUT" value.0._vm)" ""
arm GET "$ITEM/recoveryPoints/$RP?api-version=$RSV"
check "recovery point GET shows no internal fields" eq "$(jq_ "$BODY_OUT" _vm)" ""
arm PUT "$SA?api-version=2023-05-01" '{"location":"uaenorth","sku":{"name":"Standard_LRS"},"kind":"StorageV2"}'

# ---- synchronous validation ----
restore "\"recoveryType\":\"RestoreDisks\",\"targetResourceGroupId\":\"$TG\""
check "missing target resource group: 400" eq "$STATUS" 400
check "its code" eq "$(jq_ "$BODY_OUT" error.code)" "UserErrorTargetResourceGroupNotFound"
arm PUT "/subscriptions/$SUB/resourcegroups/restore-rg?api-version=2021-04-01" '{"location":"uaenorth"}'
restore "\"recoveryType\":\"RestoreDisks\",\"targetResourceGroupId\":\"$TG/extra\""
check "a target group id with more segments: 400" eq "$STATUS" 400
restore "\"recoveryType\":\"AlternateLocation\",\"targetResourceGroupId\":\"$TG\""
check "alternate location without a target VM: 400" eq "$STATUS" 400
check "names the parameter" contains "$(jq_ "$BODY_OUT" error.message)" "targetVirtualMachineId"
restore "\"recoveryType\":\"AlternateLocation\",\"targetResourceGroupId\":\"$TG\",\"targetVirtualMachineId\":\"$VM_ID\""
check "a target VM outside the target group: 400" eq "$STATUS" 400
arm GET "$TG/providers/Microsoft.Compute/disks?api-version=$CV"
check "refused restores created nothing" eq "$(jq_ "$BODY_OUT" value)" "[]"

# ---- RestoreDisks ----
restore "\"recoveryType\":\"RestoreDisks\",\"targetResourceGroupId\":\"$TG\""
check "restore disks 202" eq "$STATUS" 202
follow
check "restore job completed" eq "$(jq_ "$JOB" properties.status)" "Completed"
check "job names the target group" eq "$(bag "Target resource group")" "restore-rg"
arm GET "$TG/providers/Microsoft.Compute/disks?api-version=$CV"
DISKS=$BODY_OUT
check "two disks restored" eq "$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])["value"]))' "$DISKS")" 2
OS_DISK=$(python3 -c 'import json,sys; print([d["id"] for d in json.loads(sys.argv[1])["value"] if "osdisk" in d["name"]][0])' "$DISKS")
check "job lists the restored disks" contains "$(bag "Restored Disks")" "$OS_DISK"
arm GET "$OS_DISK?api-version=$CV"
check "OS disk GET" eq "$STATUS" 200
check "OS disk named after the VM" contains "$(jq_ "$BODY_OUT" name)" "cvm1-osdisk-"
check "OS disk in the VM's region" eq "$(jq_ "$BODY_OUT" location)" "uaenorth"
check "OS disk type" eq "$(jq_ "$BODY_OUT" properties.osType)" "Linux"
check "OS disk is a CVM disk with CMK" eq "$(jq_ "$BODY_OUT" properties.securityProfile.securityType)" "ConfidentialVM_DiskEncryptedWithCustomerKey"
check "OS disk keeps the original disk encryption set" eq "$(jq_ "$BODY_OUT" properties.securityProfile.secureVMDiskEncryptionSetId)" "$DES_ID"
check "OS disk comes from the recovery point" contains "$(jq_ "$BODY_OUT" properties.creationData.sourceResourceId)" "/recoveryPoints/$RP"
check "OS disk unattached" eq "$(jq_ "$BODY_OUT" properties.diskState)" "Unattached"
DATA_DISK=$(python3 -c 'import json,sys; print([d["id"] for d in json.loads(sys.argv[1])["value"] if "datadisk-0" in d["name"]][0])' "$DISKS")
arm GET "$DATA_DISK?api-version=$CV"
check "data disk size kept" eq "$(jq_ "$BODY_OUT" properties.diskSizeGB)" "64"
check "data disk sku kept" eq "$(jq_ "$BODY_OUT" sku.name)" "StandardSSD_LRS"

# A replacement disk encryption set (securedVMDetails).
arm PUT "$COMPUTE/diskEncryptionSets/new-des?api-version=$CV" \
    "{\"location\":\"uaenorth\",\"properties\":{\"encryptionType\":\"ConfidentialVmEncryptedWithCustomerKey\",\"activeKey\":{\"keyUrl\":\"https://cvmhsm.managedhsm.azure.net/keys/cvm-cmk\"}}}"
NEW_DES="$COMPUTE/diskEncryptionSets/new-des"
restore "\"recoveryType\":\"RestoreDisks\",\"targetResourceGroupId\":\"$TG\",\"securedVMDetails\":{\"securedVMOsDiskEncryptionSetId\":\"$NEW_DES\"}"
follow
arm GET "$TG/providers/Microsoft.Compute/disks?api-version=$CV"
check "second restore adds disks with new names" eq "$(python3 -c 'import json,sys; v=json.loads(sys.argv[1])["value"]; print(len(v), len(set(d["name"] for d in v)))' "$BODY_OUT")" "4 4"
OS2=$(python3 -c 'import json,sys; print(sys.argv[2].split(",")[0])' "" "$(bag "Restored Disks")")
arm GET "$OS2?api-version=$CV"
check "securedVMDetails disk encryption set used" eq "$(jq_ "$BODY_OUT" properties.securityProfile.secureVMDiskEncryptionSetId)" "$NEW_DES"

# Without a target group: VHDs in the storage account, not written by the emulator.
restore "\"recoveryType\":\"RestoreDisks\""
follow
check "restore without target group completes" eq "$(jq_ "$JOB" properties.status)" "Completed"
check "and says no disks were made" contains "$(bag "Restored Disks")" "none"
arm GET "$TG/providers/Microsoft.Compute/disks?api-version=$CV"
check "no new disks" eq "$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])["value"]))' "$BODY_OUT")" 4

# ---- AlternateLocation ----
NEWVM="$TG/providers/Microsoft.Compute/virtualMachines/cvm1-restored"
restore "\"recoveryType\":\"AlternateLocation\",\"targetResourceGroupId\":\"$TG\",\"targetVirtualMachineId\":\"$NEWVM\",\"virtualNetworkId\":\"$TG/providers/Microsoft.Network/virtualNetworks/vnet1\",\"subnetId\":\"$TG/providers/Microsoft.Network/virtualNetworks/vnet1/subnets/default\""
check "alternate location 202" eq "$STATUS" 202
follow
check "alternate location completed" eq "$(jq_ "$JOB" properties.status)" "Completed"
check "job names the new VM" eq "$(bag "Restored Virtual Machine")" "$NEWVM"
arm GET "$NEWVM?api-version=$CV"
check "new VM exists" eq "$STATUS" 200
check "new VM is confidential" eq "$(jq_ "$BODY_OUT" properties.securityProfile.securityType)" "ConfidentialVM"
NEWOS=$(jq_ "$BODY_OUT" properties.storageProfile.osDisk.managedDisk.id)
check "new VM runs on a restored disk" contains "$(bag "Restored Disks")" "$NEWOS"
check "attached" eq "$(jq_ "$BODY_OUT" properties.storageProfile.osDisk.createOption)" "Attach"
check "OS disk keeps its encryption set" eq "$(jq_ "$BODY_OUT" properties.storageProfile.osDisk.managedDisk.securityProfile.diskEncryptionSet.id)" "$DES_ID"
check "data disk attached too" contains "$(jq_ "$BODY_OUT" properties.storageProfile.dataDisks.0.managedDisk.id)" "cvm1-datadisk-0-"
check "no image or OS profile on an attached VM" eq "$(jq_ "$BODY_OUT" properties.osProfile)$(jq_ "$BODY_OUT" properties.storageProfile.imageReference)" ""
check "network from the request" eq "$(jq_ "$BODY_OUT" properties.networkProfile.subnetId)" "$TG/providers/Microsoft.Network/virtualNetworks/vnet1/subnets/default"
check "a new vmId" test "$(jq_ "$BODY_OUT" properties.vmId)" != ""
restore "\"recoveryType\":\"AlternateLocation\",\"targetResourceGroupId\":\"$TG\",\"targetVirtualMachineId\":\"$NEWVM\""
check "restore onto an existing VM: 400" eq "$STATUS" 400
check "its code" eq "$(jq_ "$BODY_OUT" error.code)" "UserErrorVmAlreadyExists"

# ---- OriginalLocation ----
arm GET "$VM_ID?api-version=$CV"
BEFORE=$(jq_ "$BODY_OUT" properties.storageProfile.osDisk.name)
restore "\"recoveryType\":\"OriginalLocation\""
follow
check "original location completed" eq "$(jq_ "$JOB" properties.status)" "Completed"
arm GET "$VM_ID?api-version=$CV"
AFTER=$(jq_ "$BODY_OUT" properties.storageProfile.osDisk.managedDisk.id)
check "source VM now on a restored disk" contains "$AFTER" "/resourceGroups/$RG/providers/Microsoft.Compute/disks/cvm1-osdisk-"
check "its disk name changed" test "$BEFORE" != "$(jq_ "$BODY_OUT" properties.storageProfile.osDisk.name)"
arm GET "$AFTER?api-version=$CV"
check "the disk is in the VM's own group" eq "$STATUS" 200

# ---- disks ----
arm DELETE "$OS_DISK?api-version=$CV"
check "disk DELETE" eq "$STATUS" 200
arm GET "$OS_DISK?api-version=$CV"
check "deleted disk is 404" eq "$STATUS" 404
arm PUT "$OS_DISK?api-version=$CV" '{"location":"uaenorth"}'
check "disks are not created by PUT" eq "$STATUS" 405

finish

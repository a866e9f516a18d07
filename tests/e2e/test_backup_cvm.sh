#!/usr/bin/env bash
# test_backup_cvm.sh - Azure Backup of a confidential VM whose OS disk key is
# in a Managed HSM, from the cvm-cmk fixture, with curl: the documented
# failure without a grant, each grant that must work and each that must not,
# the V1 policy refusal, backup now (job, recovery point with the key backup,
# which restores into an HSM), a backup failing after the grant is removed,
# restore, jobs with filters, stop protection and item deletion. The four
# status URLs of an operation are checked to agree.
source "$(dirname "$0")/lib.sh"
SUB=00000000-0000-0000-0000-000000000001
start_emulator --fixture cvm-cmk

RG=cvm-rg
V=7.4
RSV=2023-06-01
VAULT="/subscriptions/$SUB/resourceGroups/$RG/providers/Microsoft.RecoveryServices/vaults/cvm-vault"
VM_ID="/subscriptions/$SUB/resourceGroups/$RG/providers/Microsoft.Compute/virtualMachines/cvm1"
BMS=6a4b2f8e-1c3d-4e5f-9a7b-262044b1e2ce
BMS_APP=262044b1-e2ce-469f-a196-69ab7ada62d3
CRYPTO_USER=21dbd100-6940-42c2-9190-5d6cb909625b
MESSAGE="Azure Backup Service does not have sufficient permissions to Key Vault for Backup of Encrypted Virtual Machines."

uuid() { python3 -c 'import uuid; print(uuid.uuid4())'; }

# grant SCOPE ROLE PRINCIPAL: a Managed HSM local role assignment (sets RA).
grant() {
    RA=$(uuid)
    local scope=$1
    [ "$scope" = "/" ] && scope=""
    arm PUT "/mhsm/cvmhsm$scope/providers/Microsoft.Authorization/roleAssignments/$RA?api-version=$V" \
        "{\"properties\":{\"roleDefinitionId\":\"Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/$2\",\"principalId\":\"$3\"}}"
    [ "$STATUS" = 201 ] || echo "grant failed: $STATUS $BODY_OUT"
}

revoke() {
    arm DELETE "/mhsm/cvmhsm/providers/Microsoft.Authorization/roleAssignments/$1?api-version=$V"
    [ "$STATUS" = 200 ] || echo "revoke failed: $STATUS $BODY_OUT"
}

# wait_op URL: polls an OperationStatus URL until it is no longer InProgress (sets BODY_OUT).
wait_op() {
    for _ in $(seq 1 100); do
        arm GET "$1"
        [ "$(jq_ "$BODY_OUT" status)" != "InProgress" ] && return 0
        sleep 0.05
    done
}

# protect POLICY: enables protection of cvm1; sets OP (op id) and OPBODY (final status).
protect() {
    arm PUT "$ITEM?api-version=$RSV" \
        "{\"properties\":{\"protectedItemType\":\"Microsoft.Compute/virtualMachines\",\"sourceResourceId\":\"$VM_ID\",\"policyId\":\"$VAULT/backupPolicies/$1\"}}"
    PSTATUS=$STATUS
    ASYNC=$(header Azure-AsyncOperation)
    LOCATION=$(header Location)
    RETRY=$(header Retry-After)
    OP=${ASYNC##*/}
    OP=${OP%%\?*}
    # az CLI polls the vault's backupOperations/{id} with the id from Azure-AsyncOperation.
    wait_op "$VAULT/backupOperations/$OP?api-version=$RSV"
    OPBODY=$BODY_OUT
}

# unprotect: deletes the protected item (LRO) so the next case starts clean.
unprotect() {
    arm DELETE "$ITEM?api-version=$RSV"
    if [ "$STATUS" = 202 ]; then
        wait_op "$(header Azure-AsyncOperation)"
    fi
}

item_absent() {
    arm GET "$ITEM?api-version=$RSV"
    [ "$STATUS" = 404 ]
}

# ---- the fixture ----
arm GET "$VAULT?api-version=$RSV"
check "vault from fixture" eq "$STATUS" 200
check "vault identity" eq "$(jq_ "$BODY_OUT" identity.type)" "SystemAssigned"
arm GET "$VAULT/backupPolicies?api-version=$RSV&\$filter=backupManagementType%20eq%20'AzureIaasVM'"
check "two policies" eq "$(printf '%s' "$BODY_OUT" | python3 -c 'import json,sys; print(sorted((p["name"],p["properties"]["policyType"]) for p in json.load(sys.stdin)["value"]))')" \
    "[('DefaultPolicy', 'V1'), ('EnhancedPolicy', 'V2')]"
arm GET "$VM_ID?api-version=2023-09-01"
check "CVM" eq "$(jq_ "$BODY_OUT" properties.securityProfile.securityType)" "ConfidentialVM"
DES_ID=$(jq_ "$BODY_OUT" properties.storageProfile.osDisk.managedDisk.securityProfile.diskEncryptionSet.id)
arm GET "$DES_ID?api-version=2023-09-01"
check "DES type" eq "$(jq_ "$BODY_OUT" properties.encryptionType)" "ConfidentialVmEncryptedWithCustomerKey"
check "DES key in the HSM" contains "$(jq_ "$BODY_OUT" properties.activeKey.keyUrl)" "https://cvmhsm.managedhsm.localhost:"

# ---- discovery ----
arm POST "$VAULT/backupFabrics/Azure/refreshContainers?api-version=$RSV"
check "refresh 202" eq "$STATUS" 202
arm GET "$(header Location)"
check "refresh done 204" eq "$STATUS" 204
arm GET "$VAULT/backupProtectableItems?api-version=$RSV&\$filter=backupManagementType%20eq%20'AzureIaasVM'"
PID=$(jq_ "$BODY_OUT" value.0.id)
check "protectable VM" eq "$(jq_ "$BODY_OUT" value.0.properties.virtualMachineId)" "$VM_ID"
check "not protected" eq "$(jq_ "$BODY_OUT" value.0.properties.protectionState)" "NotProtected"
CONTAINER=$(printf '%s' "$PID" | sed 's#.*/protectionContainers/\([^/]*\)/.*#\1#')
ITEMNAME=${PID##*/protectableItems/}
check "container name" eq "$CONTAINER" "IaasVMContainer;iaasvmcontainerv2;cvm-rg;cvm1"
ITEM="$VAULT/backupFabrics/Azure/protectionContainers/$CONTAINER/protectedItems/$ITEMNAME"

# ---- the documented failure: no grant ----
protect EnhancedPolicy
check "protect 202" eq "$PSTATUS" 202
check "Location" contains "$LOCATION" "/protectedItems/$ITEMNAME/operationResults/$OP"
check "Azure-AsyncOperation" contains "$ASYNC" "/protectedItems/$ITEMNAME/operationsStatus/$OP"
check "Retry-After" eq "$RETRY" "1"
check "no grant: Failed" eq "$(jq_ "$OPBODY" status)" "Failed"
check "no grant: code" eq "$(jq_ "$OPBODY" error.code)" "UserErrorKeyVaultPermissionsNotConfigured"
check "no grant: message" eq "$(jq_ "$OPBODY" error.message)" "$MESSAGE"
check "no grant: properties null" eq "$(printf '%s' "$OPBODY" | python3 -c 'import json,sys; print(json.load(sys.stdin)["properties"])')" "None"
check "no grant: endTime" contains "$(jq_ "$OPBODY" endTime)" "Z"
arm GET "$ASYNC"
check "operationsStatus agrees" eq "$BODY_OUT" "$OPBODY"
arm GET "$LOCATION"
check "operationResults reports the error" eq "$(jq_ "$BODY_OUT" error.code)" "UserErrorKeyVaultPermissionsNotConfigured"
check "nothing protected" item_absent

# ---- grants that must not be enough ----
arm POST "/mhsm/cvmhsm/keys/other-key/create?api-version=$V" '{"kty":"RSA-HSM"}'
check "another key" eq "$STATUS" 200
declare -a BAD=(
    "/|7b127d3c-77bd-4e3e-bbe0-dbb8971fa7f8|$BMS|Managed HSM Backup at /"
    "/keys/cvm-cmk|7b127d3c-77bd-4e3e-bbe0-dbb8971fa7f8|$BMS|Managed HSM Backup on the key"
    "/keys/cvm-cmk|33413926-3206-4cdd-b39a-83574fe37a17|$BMS|Crypto Service Encryption User on the key"
    "/keys|2c18b078-7c48-4d3a-af88-5a3a1b3f82b3|$BMS|Crypto Auditor on all keys"
    "/|a290e904-7015-4bba-90c8-60543313cdb4|$BMS|Administrator at /"
    "/|515eb02d-2335-4d2d-92f2-b1cbdf9c3778|$BMS|Crypto Officer at /"
    "/keys/other-key|$CRYPTO_USER|$BMS|Crypto User on another key"
    "/|$CRYPTO_USER|dddddddd-0000-4000-8000-000000000001|Crypto User at / to another principal"
)
for case in "${BAD[@]}"; do
    IFS='|' read -r scope role who label <<<"$case"
    grant "$scope" "$role" "$who"
    protect EnhancedPolicy
    check "not enough: $label" eq "$(jq_ "$OPBODY" error.code)" "UserErrorKeyVaultPermissionsNotConfigured"
    check "not enough: $label, nothing protected" item_absent
    revoke "$RA"
done
# Read and backup split over two grants at different scopes still make both.
grant "/keys/cvm-cmk" 7b127d3c-77bd-4e3e-bbe0-dbb8971fa7f8 "$BMS"
RA_B=$RA
grant "/keys" 2c18b078-7c48-4d3a-af88-5a3a1b3f82b3 "$BMS"
RA_A=$RA
protect EnhancedPolicy
check "Backup on the key + Auditor on all keys together" eq "$(jq_ "$OPBODY" status)" "Succeeded"
unprotect
revoke "$RA_B"
revoke "$RA_A"

# ---- a CVM on a V1 policy fails even with the grant ----
grant "/keys/cvm-cmk" "$CRYPTO_USER" "$BMS"
protect DefaultPolicy
check "V1 policy refused" eq "$(jq_ "$OPBODY" status)" "Failed"
check "V1 policy code" eq "$(jq_ "$OPBODY" error.code)" "UserErrorStandardPolicyNotSupportedForConfidentialVM"
check "V1: nothing protected" item_absent
revoke "$RA"

# ---- grants that must work ----
CUSTOM=$(uuid)
arm PUT "/mhsm/cvmhsm///providers/Microsoft.Authorization/roleDefinitions/$CUSTOM?api-version=$V" \
    '{"properties":{"roleName":"Backup key access","type":"CustomRole","permissions":[{"dataActions":["Microsoft.KeyVault/managedHsm/keys/read/action","Microsoft.KeyVault/managedHsm/keys/backup/action"]}],"assignableScopes":["/"]}}'
check "custom role" eq "$STATUS" 201
declare -a GOOD=(
    "/keys/cvm-cmk|$CRYPTO_USER|$BMS|Crypto User on the key"
    "/keys|$CRYPTO_USER|$BMS|Crypto User on all keys"
    "/|$CRYPTO_USER|$BMS|Crypto User at /"
    "/keys/cvm-cmk|$CUSTOM|$BMS|custom role with both actions on the key"
    "/keys/cvm-cmk|$CRYPTO_USER|$BMS_APP|Crypto User to the app id"
)
for case in "${GOOD[@]}"; do
    IFS='|' read -r scope role who label <<<"$case"
    grant "$scope" "$role" "$who"
    protect EnhancedPolicy
    check "works: $label" eq "$(jq_ "$OPBODY" status)" "Succeeded"
    JOB=$(jq_ "$OPBODY" properties.jobId)
    arm GET "$VAULT/backupJobs/$JOB?api-version=$RSV"
    check "works: $label, ConfigureBackup job" eq "$(jq_ "$BODY_OUT" properties.operation)/$(jq_ "$BODY_OUT" properties.status)" "ConfigureBackup/Completed"
    arm GET "$ITEM?api-version=$RSV"
    check "works: $label, item IRPending" eq "$(jq_ "$BODY_OUT" properties.protectionState)" "IRPending"
    unprotect
    revoke "$RA"
done

# ---- protected: backup now, recovery point, key backup ----
grant "/keys/cvm-cmk" "$CRYPTO_USER" "$BMS"
RA_KEEP=$RA
protect EnhancedPolicy
check "protect" eq "$(jq_ "$OPBODY" status)" "Succeeded"
check "properties.objectType" eq "$(jq_ "$OPBODY" properties.objectType)" "OperationStatusJobExtendedInfo"
arm GET "$ASYNC"
check "operationsStatus = backupOperations" eq "$BODY_OUT" "$OPBODY"
arm GET "$LOCATION"
check "operationResults gives the item" eq "$(jq_ "$BODY_OUT" properties.policyName)" "EnhancedPolicy"
check "item fields" eq "$(jq_ "$BODY_OUT" properties.friendlyName)/$(jq_ "$BODY_OUT" properties.containerName)/$(jq_ "$BODY_OUT" properties.lastBackupTime)" \
    "cvm1/iaasvmcontainerv2;cvm-rg;cvm1/2001-01-01T00:00:00Z"
arm GET "$VAULT/backupProtectedItems?api-version=$RSV&\$filter=backupManagementType%20eq%20'AzureIaasVM'%20and%20itemType%20eq%20'VM'"
check "protected items list" eq "$(jq_ "$BODY_OUT" value.0.properties.sourceResourceId)" "$VM_ID"
arm GET "$VAULT/backupPolicies/EnhancedPolicy?api-version=$RSV"
check "policy counts the item" eq "$(jq_ "$BODY_OUT" properties.protectedItemsCount)" "1"

arm POST "$ITEM/backup?api-version=$RSV" '{"properties":{"objectType":"IaasVMBackupRequest","recoveryPointExpiryTimeInUTC":"2030-12-01T00:00:00Z"}}'
check "backup now 202" eq "$STATUS" 202
BASYNC=$(header Azure-AsyncOperation)
wait_op "$BASYNC"
check "backup op succeeded" eq "$(jq_ "$BODY_OUT" status)" "Succeeded"
BJOB=$(jq_ "$BODY_OUT" properties.jobId)
arm GET "$VAULT/backupJobs/$BJOB?api-version=$RSV"
check "Backup job completed" eq "$(jq_ "$BODY_OUT" properties.operation)/$(jq_ "$BODY_OUT" properties.status)" "Backup/Completed"
check "job tasks" eq "$(jq_ "$BODY_OUT" properties.extendedInfo.tasksList.1.taskId)" "Transfer data to vault"
arm GET "$ITEM?api-version=$RSV"
check "item protected" eq "$(jq_ "$BODY_OUT" properties.protectionState)/$(jq_ "$BODY_OUT" properties.lastBackupStatus)" "Protected/Completed"
check "recovery point count" eq "$(jq_ "$BODY_OUT" properties.extendedInfo.recoveryPointCount)" "1"
arm GET "$ITEM/recoveryPoints?api-version=$RSV"
check "one recovery point" eq "$(printf '%s' "$BODY_OUT" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["value"]))')" 1
RP=$(jq_ "$BODY_OUT" value.0.name)
arm GET "$ITEM/recoveryPoints/$RP?api-version=$RSV"
check "recovery point" eq "$(jq_ "$BODY_OUT" properties.objectType)/$(jq_ "$BODY_OUT" properties.securityType)" "IaasVMRecoveryPoint/ConfidentialVM"
check "expiry kept" eq "$(jq_ "$BODY_OUT" properties.recoveryPointProperties.expiryTime)" "2030-12-01T00:00:00Z"
KEYDATA=$(jq_ "$BODY_OUT" properties.keyAndSecret.kekDetails.keyBackupData)
check "key backup stored with the point" test -n "$KEYDATA"
# The key backup restores with POST /keys/restore (into a new HSM here).
arm PUT "/subscriptions/$SUB/resourceGroups/$RG/providers/Microsoft.KeyVault/managedHSMs/cvmhsm-dr?api-version=2023-07-01" \
    '{"location":"uaenorth","sku":{"family":"B","name":"Standard_B1"},"properties":{"initialAdminObjectIds":["00000000-0000-0000-0000-00000000c0de"]}}'
arm PUT "/mhsm/cvmhsm-dr/providers/Microsoft.Authorization/roleAssignments/$(uuid)?api-version=$V" \
    "{\"properties\":{\"roleDefinitionId\":\"$CRYPTO_USER\",\"principalId\":\"00000000-0000-0000-0000-00000000c0de\"}}"
arm POST "/mhsm/cvmhsm-dr/keys/restore?api-version=$V" "{\"value\":\"$KEYDATA\"}"
check "recovery point's key backup restores" contains "$(jq_ "$BODY_OUT" key.kid)" "/keys/cvm-cmk/"

# ---- the grant removed: the next backup job fails ----
revoke "$RA_KEEP"
arm POST "$ITEM/backup?api-version=$RSV" '{"properties":{"objectType":"IaasVMBackupRequest"}}'
check "backup accepted" eq "$STATUS" 202
wait_op "$(header Azure-AsyncOperation)"
FJOB=$(jq_ "$BODY_OUT" properties.jobId)
arm GET "$VAULT/backupJobs/$FJOB?api-version=$RSV"
check "failed Backup job" eq "$(jq_ "$BODY_OUT" properties.status)" "Failed"
check "job error" eq "$(jq_ "$BODY_OUT" properties.errorDetails.0.errorString)" "$MESSAGE"
check "job error title" eq "$(jq_ "$BODY_OUT" properties.errorDetails.0.errorTitle)" "UserErrorKeyVaultPermissionsNotConfigured"
arm GET "$ITEM/recoveryPoints?api-version=$RSV"
check "no new recovery point" eq "$(printf '%s' "$BODY_OUT" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["value"]))')" 1

# ---- restore ----
arm PUT "/subscriptions/$SUB/resourceGroups/$RG/providers/Microsoft.Storage/storageAccounts/cvmrestore?api-version=2023-05-01" \
    '{"sku":{"name":"Standard_LRS"},"kind":"StorageV2","location":"uaenorth"}'
SA="/subscriptions/$SUB/resourceGroups/$RG/providers/Microsoft.Storage/storageAccounts/cvmrestore"
arm POST "$ITEM/recoveryPoints/$RP/restore?api-version=$RSV" \
    "{\"properties\":{\"objectType\":\"IaasVMRestoreRequest\",\"recoveryPointId\":\"$RP\",\"recoveryType\":\"RestoreDisks\",\"sourceResourceId\":\"$VM_ID\",\"storageAccountId\":\"$SA\",\"region\":\"uaenorth\",\"securedVMDetails\":{\"securedVMOsDiskEncryptionSetId\":\"$DES_ID\"}}}"
check "restore 202" eq "$STATUS" 202
wait_op "$(header Azure-AsyncOperation)"
check "restore succeeded" eq "$(jq_ "$BODY_OUT" status)" "Succeeded"
RJOB=$(jq_ "$BODY_OUT" properties.jobId)
arm GET "$VAULT/backupJobs/$RJOB?api-version=$RSV"
check "Restore job" eq "$(jq_ "$BODY_OUT" properties.operation)" "Restore"
check "secured encryption info" eq "$(jq_ "$BODY_OUT" properties.extendedInfo.propertyBag.Secured\ Encryption\ Info\ Blob\ Name)" "securedEncryptionInfo.json"
arm POST "$ITEM/recoveryPoints/$RP/restore?api-version=$RSV" \
    "{\"properties\":{\"objectType\":\"IaasVMRestoreRequest\",\"recoveryType\":\"RestoreDisks\",\"storageAccountId\":\"$SA/x\"}}"
check "restore to a missing account: 400" eq "$STATUS" 400

# ---- jobs ----
arm GET "$VAULT/backupJobs?api-version=$RSV&\$filter=operation%20eq%20'Backup'%20and%20backupManagementType%20eq%20'AzureIaasVM'"
check "Backup jobs" eq "$(printf '%s' "$BODY_OUT" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["value"]))')" 2
arm GET "$VAULT/backupJobs?api-version=$RSV&\$filter=status%20eq%20'Failed'"
check "failed jobs" eq "$(jq_ "$BODY_OUT" value.0.name)" "$FJOB"
arm GET "$VAULT/backupJobs?api-version=$RSV&\$filter=startTime%20eq%20'2001-01-01%2000:00:00%20AM'%20and%20endTime%20eq%20'2001-01-02%2000:00:00%20AM'"
check "time window excludes" eq "$(jq_ "$BODY_OUT" value)" "[]"
arm GET "$VAULT/backupJobs?api-version=$RSV&\$filter=bogus%20eq%20'x'"
check "bad filter" eq "$STATUS" 400
arm POST "$VAULT/backupJobs/$BJOB/cancel?api-version=$RSV"
check "finished job not cancellable" eq "$STATUS" 400

# ---- stop protection, delete ----
arm PUT "$ITEM?api-version=$RSV" "{\"properties\":{\"protectedItemType\":\"Microsoft.Compute/virtualMachines\",\"sourceResourceId\":\"$VM_ID\",\"protectionState\":\"ProtectionStopped\"}}"
check "stop 202" eq "$STATUS" 202
wait_op "$(header Azure-AsyncOperation)"
SJOB=$(jq_ "$BODY_OUT" properties.jobId)
arm GET "$VAULT/backupJobs/$SJOB?api-version=$RSV"
check "DisableBackup job" eq "$(jq_ "$BODY_OUT" properties.operation)" "DisableBackup"
arm GET "$ITEM?api-version=$RSV"
check "stopped" eq "$(jq_ "$BODY_OUT" properties.protectionState)" "ProtectionStopped"
arm POST "$ITEM/backup?api-version=$RSV" '{}'
check "no backup when stopped" eq "$STATUS" 400
arm DELETE "$VAULT?api-version=$RSV"
check "vault with items: 409" eq "$STATUS" 409
arm DELETE "$ITEM?api-version=$RSV"
check "delete item 202" eq "$STATUS" 202
check "delete item Azure-AsyncOperation" contains "$(header Azure-AsyncOperation)" "/vaults/cvm-vault/backupOperations/"
check "delete item Location" contains "$(header Location)" "/vaults/cvm-vault/backupOperationResults/"
arm GET "$(header Location)"
check "delete result 204" eq "$STATUS" 204
check "item deleted" item_absent
arm DELETE "$VAULT?api-version=$RSV"
check "vault deleted" eq "$STATUS" 200

finish

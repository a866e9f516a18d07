#!/usr/bin/env bash
# test_chsmctl_backup.sh - chsmctl's Managed HSM and Azure Backup commands
# against the cvm-cmk fixture: mhsm create/show/list/delete, key
# create/show/list/backup/restore, role assign/list/delete (and a 403 for a
# principal without roles); backup vault create/show/policies/delete; the two
# documented scenarios - the scripted path failing without the grant and
# succeeding after `mhsm role assign`, and `backup protect --grant-like-portal`
# succeeding in one go (Managed HSM and access-policy Key Vault keys); backup
# now --wait (a job and a recovery point; a failed job after the grant is
# removed is exit 4), jobs list/show --wait, items, rp list/show and
# restore-disks creating the managed disk.
source "$(dirname "$0")/lib.sh"
SUB=00000000-0000-0000-0000-000000000001

CTL=${CHSM_BUILD_DIR:-$(dirname "$CHSM_EMULATOR")}/chsmctl
[ -x "$CTL" ] || { echo "chsmctl not built at $CTL"; exit 1; }

# ctl ARGS...: runs chsmctl; sets OUT (stdout), ERR (stderr) and RC.
ctl() {
    set +e
    "$CTL" --quiet "$@" >"$E2E_TMP/out" 2>"$E2E_TMP/err"
    RC=$?
    set -e
    OUT=$(cat "$E2E_TMP/out")
    ERR=$(cat "$E2E_TMP/err")
    STATUS=$RC BODY_OUT="$OUT $ERR"
}
# pyget JSON EXPR [ARGS...]: prints a Python expression over d = the JSON (ARGS are sys.argv[2:]).
pyget() {
    local j=$1 e=$2
    shift 2
    python3 -c "import json,sys; d=json.loads(sys.argv[1]); print($e)" "$j" "$@"
}

start_emulator --fixture cvm-cmk
export CHSM_DATA_DIR=$DATA
unset CHSM_ENDPOINT CHSM_CA_CERT CHSM_SUBSCRIPTION CHSM_RESOURCE_GROUP CHSM_CLIENT_ID

RG=cvm-rg
BMS=6a4b2f8e-1c3d-4e5f-9a7b-262044b1e2ce
MESSAGE="Azure Backup Service does not have sufficient permissions to Key Vault for Backup of Encrypted Virtual Machines."
COMPUTE="/subscriptions/$SUB/resourceGroups/$RG/providers/Microsoft.Compute"
TENANT=72f988bf-86f1-41af-91ab-2d7cd011db47

# ---- help ----
for gc in "mhsm" "mhsm role" "mhsm key" "backup" "backup vault" "backup jobs" "backup rp"; do
    # shellcheck disable=SC2086
    ctl $gc --help
    check "$gc --help" eq "$RC" 0
done
for gc in "mhsm create" "mhsm show" "mhsm role assign" "mhsm role list" "mhsm key create" \
    "mhsm key show" "backup vault create" "backup protect" "backup now" "backup jobs list" \
    "backup jobs show" "backup restore-disks"; do
    # shellcheck disable=SC2086
    ctl $gc --help
    check "$gc --help prints usage" contains "$OUT" "usage: chsmctl $gc"
done
ctl backup protect --vault cvm-vault -g $RG
check "protect without --vm is a usage error" eq "$RC" 2
ctl mhsm role assign --hsm-name cvmhsm --role "Crypto User" --assignee $BMS --scope /secrets
check "a bad scope is a usage error" eq "$RC" 2
ctl mhsm role assign --hsm-name cvmhsm --role "Nobody" --assignee $BMS
check "an unknown role is a usage error" eq "$RC" 2
ctl backup jobs list --vault cvm-vault -g $RG --status "In Progress"
check "a filter with spaces is a usage error" eq "$RC" 2

# ---- Managed HSM ----
ctl group create hsm-rg --location uksouth
ctl mhsm create ctlhsm -g hsm-rg
check "mhsm create without an object id is a usage error" eq "$RC" 2
check "it says why" contains "$ERR" "--administrator"
ctl mhsm create ctlhsm -g hsm-rg --administrator 00000000-0000-0000-0000-00000000c0de --wait
check "mhsm create --wait" eq "$RC" 0
check "provisioned" eq "$(jq_ "$OUT" properties.provisioningState)" "Succeeded"
check "hsmUri" contains "$(jq_ "$OUT" properties.hsmUri)" "https://ctlhsm.managedhsm.localhost:"
ctl mhsm show ctlhsm -g hsm-rg
check "mhsm show" eq "$(jq_ "$OUT" properties.initialAdminObjectIds.0)" "00000000-0000-0000-0000-00000000c0de"
ctl mhsm show nosuch -g hsm-rg
check "mhsm show of a missing HSM: exit 3" eq "$RC" 3
ctl -o table mhsm list -g hsm-rg
check "mhsm list" contains "$OUT" "ctlhsm"
# chsmctl acts as its client id: not an administrator of the new HSM.
ctl mhsm key create k1 --hsm-name ctlhsm
check "no local role: HTTP error exit 3" eq "$RC" 3
check "403 AccessDenied shown" contains "$ERR" "[AccessDenied, HTTP 403]"
export CHSM_CLIENT_ID=00000000-0000-0000-0000-00000000c0de
ctl mhsm role assign --hsm-name ctlhsm --role "Managed HSM Crypto User" --assignee 00000000-0000-0000-0000-00000000c0de
check "administrator assigns Crypto User at /" eq "$RC" 0
check "assignment scope /" eq "$(jq_ "$OUT" properties.scope)" "/"
ctl mhsm key create k1 --hsm-name ctlhsm --kty RSA-HSM --size 3072 --exportable
check "key create" eq "$RC" 0
check "exportable with a release policy" eq "$(jq_ "$OUT" attributes.exportable)" "True"
KID=$(jq_ "$OUT" key.kid)
ctl mhsm key show k1 --hsm-name ctlhsm
check "key show" eq "$(jq_ "$OUT" key.kid)" "$KID"
ctl mhsm key show k1 --hsm-name ctlhsm --version "${KID##*/}"
check "key show --version" eq "$RC" 0
ctl mhsm key list --hsm-name ctlhsm
check "key list" contains "$OUT" "/keys/k1"
ctl mhsm key backup k1 --hsm-name ctlhsm --file "$E2E_TMP/k1.blob"
check "key backup to a file" test -s "$E2E_TMP/k1.blob"
ctl mhsm create ctlhsm2 -g hsm-rg --wait
check "mhsm create takes a GUID client id as administrator" eq "$RC" 0
ctl mhsm role assign --hsm-name ctlhsm2 --role "Crypto User" --assignee 00000000-0000-0000-0000-00000000c0de --scope keys
ctl mhsm key restore --hsm-name ctlhsm2 --file "$E2E_TMP/k1.blob"
check "key restore into another HSM" eq "$(jq_ "$OUT" key.n)" "$("$CTL" mhsm key show k1 --hsm-name ctlhsm | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"]["n"])')"
ctl mhsm role list --hsm-name ctlhsm2 --scope /keys/k1 --assignee 00000000-0000-0000-0000-00000000c0de
check "role list at a key scope shows inherited assignments" eq "$(pyget "$OUT" 'sorted(a["properties"]["scope"] for a in d)')" "['/', '/keys']"
RA=$(pyget "$OUT" '[a["name"] for a in d if a["properties"]["scope"]=="/keys"][0]')
ctl mhsm role delete "$RA" --hsm-name ctlhsm2 --scope /keys
check "role delete" eq "$RC" 0
ctl mhsm key show k1 --hsm-name ctlhsm2
check "without the role the key is denied" eq "$RC" 3
ctl mhsm delete ctlhsm2 -g hsm-rg --wait
check "mhsm delete" eq "$RC" 0
unset CHSM_CLIENT_ID

# ---- Recovery Services vaults ----
ctl backup vault create ctlvault -g $RG --location uaenorth
check "backup vault create" eq "$RC" 0
check "system identity" test -n "$(jq_ "$OUT" identity.principalId)"
ctl -o table backup vault policies ctlvault -g $RG
check "default and enhanced policies" contains "$OUT" "EnhancedPolicy  V2"
ctl backup vault show ctlvault -g $RG
check "backup vault show" eq "$(jq_ "$OUT" name)" "ctlvault"
ctl backup vault delete ctlvault -g $RG
check "backup vault delete" eq "$RC" 0

# ---- the documented failure ----
ctl backup protect --vault cvm-vault -g $RG --vm cvm1
check "protect without the grant fails: exit 4" eq "$RC" 4
check "with the service's message" contains "$ERR" "$MESSAGE"
check "and its code" contains "$ERR" "[UserErrorKeyVaultPermissionsNotConfigured]"
ctl backup items --vault cvm-vault -g $RG
check "nothing protected" eq "$OUT" "[]"
ctl backup protect --vault cvm-vault -g $RG --vm cvm1 --policy DefaultPolicy
check "a CVM on the V1 policy fails too" contains "$ERR" "UserErrorStandardPolicyNotSupportedForConfidentialVM"

# ---- the portal path: --grant-like-portal in one go ----
arm GET "$COMPUTE/virtualMachines/cvm1?api-version=2023-09-01"
arm PUT "$COMPUTE/virtualMachines/cvm2?api-version=2023-09-01" "$(pyget "$BODY_OUT" 'json.dumps({"location":d["location"],"properties":{k:v for k,v in d["properties"].items() if k not in ("vmId","provisioningState")}})')"
check "second CVM on the same key" eq "$STATUS" 201
ctl backup protect --vault cvm-vault -g $RG --vm cvm2 --grant-like-portal
check "--grant-like-portal protects in one go" eq "$RC" 0
check "it says what it granted" contains "$ERR" "granted the Backup Management Service (object id $BMS) the Managed HSM Crypto User role on /keys/cvm-cmk of Managed HSM cvmhsm"
check "ConfigureBackup job printed" eq "$(jq_ "$OUT" properties.operation)" "ConfigureBackup"
ctl mhsm role list --hsm-name cvmhsm --scope /keys/cvm-cmk --assignee backup-management-service
check "the grant is on the key" eq "$(pyget "$OUT" '[(a["properties"]["scope"], a["properties"]["roleDefinitionId"].split("/")[-1]) for a in d]')" "[('/keys/cvm-cmk', '21dbd100-6940-42c2-9190-5d6cb909625b')]"
PORTAL_RA=$(pyget "$OUT" 'd[0]["name"]')

# ---- the scripted path: fails until `mhsm role assign` ----
ctl mhsm role delete "$PORTAL_RA" --hsm-name cvmhsm --scope /keys/cvm-cmk
check "grant removed" eq "$RC" 0
ctl backup protect --vault cvm-vault -g $RG --vm cvm1
check "scripted protect still fails" eq "$RC" 4
ctl mhsm role assign --hsm-name cvmhsm --role "Managed HSM Backup" --assignee backup-management-service --scope /keys/cvm-cmk
ctl backup protect --vault cvm-vault -g $RG --vm cvm1
check "Managed HSM Backup alone is not enough" eq "$RC" 4
ctl mhsm role assign --hsm-name cvmhsm --role "Managed HSM Crypto User" --assignee backup-management-service --scope /keys/cvm-cmk
check "mhsm role assign on the key" eq "$RC" 0
GRANT=$(jq_ "$OUT" name)
ctl backup protect --vault cvm-vault -g $RG --vm cvm1
check "protect succeeds after the grant" eq "$RC" 0
check "ConfigureBackup completed" eq "$(jq_ "$OUT" properties.status)" "Completed"
ctl -o table backup items --vault cvm-vault -g $RG
check "both VMs protected" eq "$(printf '%s\n' "$OUT" | grep -c IRPending)" 2

# ---- backup now, jobs, recovery points ----
ctl backup now --vault cvm-vault -g $RG --vm cvm1 --wait
check "backup now --wait" eq "$RC" 0
check "Backup job completed" eq "$(jq_ "$OUT" properties.operation)/$(jq_ "$OUT" properties.status)" "Backup/Completed"
JOB=$(jq_ "$OUT" name)
ctl backup jobs show "$JOB" --vault cvm-vault -g $RG --wait
check "jobs show --wait" eq "$(jq_ "$OUT" properties.status)" "Completed"
ctl backup jobs list --vault cvm-vault -g $RG --operation Backup
check "jobs list --operation" eq "$(pyget "$OUT" 'sorted(set(j["properties"]["operation"] for j in d))')" "['Backup']"
ctl backup jobs list --vault cvm-vault -g $RG --operation ConfigureBackup --status Completed
check "jobs list --operation --status" eq "$(pyget "$OUT" 'len(d)')" 2
ctl backup rp list --vault cvm-vault -g $RG --vm cvm1
check "one recovery point" eq "$(pyget "$OUT" 'len(d)')" 1
RP=$(pyget "$OUT" 'd[0]["name"]')
ctl backup rp show "$RP" --vault cvm-vault -g $RG --vm cvm1
check "rp show carries the key backup" test -n "$(jq_ "$OUT" properties.keyAndSecret.kekDetails.keyBackupData)"
ctl backup now --vault cvm-vault -g $RG --vm cvm1
check "backup now without --wait prints the operation" contains "$(jq_ "$OUT" location)" "/operationsStatus/"

ctl mhsm role delete "$GRANT" --hsm-name cvmhsm --scope /keys/cvm-cmk
ctl backup now --vault cvm-vault -g $RG --vm cvm1 --wait
check "backup after the grant is removed: exit 4" eq "$RC" 4
check "the job's error" contains "$ERR" "$MESSAGE"
check "the failed job is printed" eq "$(jq_ "$OUT" properties.status)" "Failed"
ctl backup jobs show "$(jq_ "$OUT" name)" --vault cvm-vault -g $RG --wait
check "jobs show --wait of a failed job: exit 4" eq "$RC" 4
ctl backup jobs show "$(jq_ "$OUT" name)" --vault cvm-vault -g $RG
check "jobs show without --wait: exit 0" eq "$RC" 0

# ---- restore-disks ----
ctl storage create cvmsa -g $RG --location uaenorth --wait
ctl group create restore-rg --location uaenorth
ctl backup restore-disks --vault cvm-vault -g $RG --vm cvm1 --rp "$RP" --storage-account cvmsa --target-resource-group restore-rg
check "restore-disks" eq "$RC" 0
check "Restore job completed" eq "$(jq_ "$OUT" properties.operation)/$(jq_ "$OUT" properties.status)" "Restore/Completed"
DISK=$(jq_ "$OUT" "properties.extendedInfo.propertyBag.Restored Disks")
arm GET "$DISK?api-version=2023-09-01"
check "the restored disk exists" eq "$STATUS" 200
check "a confidential disk" eq "$(jq_ "$BODY_OUT" properties.securityProfile.securityType)" "ConfidentialVM_DiskEncryptedWithCustomerKey"

# ---- --grant-like-portal with a key in an access-policy Key Vault ----
KVS="/subscriptions/$SUB/resourceGroups/$RG/providers/Microsoft.KeyVault/vaults"
arm PUT "$KVS/ctlkv?api-version=2023-07-01" "{\"location\":\"uaenorth\",\"properties\":{\"tenantId\":\"$TENANT\",\"sku\":{\"family\":\"A\",\"name\":\"standard\"},\"accessPolicies\":[{\"tenantId\":\"$TENANT\",\"objectId\":\"00000000-0000-0000-0000-00000000c0de\",\"permissions\":{\"keys\":[\"all\"]}}]}}"
arm POST "/kv/ctlkv/keys/kvk/create?api-version=7.4" '{"kty":"RSA","key_size":3072}'
KVKID=$(jq_ "$BODY_OUT" key.kid)
arm PUT "$COMPUTE/diskEncryptionSets/kv-des?api-version=2023-09-01" \
    "{\"location\":\"uaenorth\",\"properties\":{\"encryptionType\":\"ConfidentialVmEncryptedWithCustomerKey\",\"activeKey\":{\"keyUrl\":\"$KVKID\"}}}"
arm GET "$COMPUTE/virtualMachines/cvm1?api-version=2023-09-01"
arm PUT "$COMPUTE/virtualMachines/cvm3?api-version=2023-09-01" "$(pyget "$BODY_OUT" 'json.dumps({"location":d["location"],"properties":{**{k:v for k,v in d["properties"].items() if k not in ("vmId","provisioningState")},"storageProfile":{"osDisk":{"osType":"Linux","createOption":"FromImage","managedDisk":{"securityProfile":{"securityEncryptionType":"DiskWithVMGuestState","diskEncryptionSet":{"id":sys.argv[2]}}}}}}})' "$COMPUTE/diskEncryptionSets/kv-des")"
check "CVM on a Key Vault key" eq "$STATUS" 201
ctl backup protect --vault cvm-vault -g $RG --vm cvm3
check "vault key without a policy: exit 4" eq "$RC" 4
ctl backup protect --vault cvm-vault -g $RG --vm cvm3 --grant-like-portal
check "--grant-like-portal with a vault key" eq "$RC" 0
check "it says it added an access policy" contains "$ERR" "added an access policy for the Backup Management Service (object id $BMS) to Key Vault ctlkv"
arm GET "$KVS/ctlkv?api-version=2023-07-01"
check "the policy is get, list, backup" eq "$(pyget "$BODY_OUT" '[sorted(p["permissions"]["keys"]) for p in d["properties"]["accessPolicies"] if p["objectId"]==sys.argv[2]]' "$BMS")" "[['backup', 'get', 'list']]"

# A VM that is not confidential: nothing to grant.
arm PUT "$COMPUTE/virtualMachines/plainvm?api-version=2023-09-01" '{"location":"uaenorth","properties":{"hardwareProfile":{"vmSize":"Standard_D2s_v5"},"storageProfile":{"osDisk":{"osType":"Linux","createOption":"FromImage","managedDisk":{"storageAccountType":"Premium_LRS"}}}}}'
ctl backup protect --vault cvm-vault -g $RG --vm plainvm --policy DefaultPolicy --grant-like-portal
check "plain VM protected" eq "$RC" 0
check "nothing to grant said" contains "$ERR" "nothing to grant"

finish

#!/usr/bin/env bash
# test_keyvault_cmk.sh - the Key Vault alternative of the confidential VM
# backup scenario, with curl: Microsoft.KeyVault/vaults (PUT/GET/list/DELETE,
# vaultUri, validation), access policies add/replace/remove, the key data
# plane on the vault (by path and by Host name: create, get, list, versions,
# backup/restore) authorised by access policies and in RBAC mode by Azure
# RBAC (the two 403 bodies), and Azure Backup's check on a vault key: the
# documented failure, access policies that must not work (get+list only, a
# grant to another principal), the one that works (get, list, backup), a
# backup carrying the key backup, a backup job failing once the policy is
# removed, and the same for an RBAC vault with a custom role.
source "$(dirname "$0")/lib.sh"
SUB=00000000-0000-0000-0000-000000000001
start_emulator --fixture cvm-cmk

RG=cvm-rg
KV_V=2023-07-01
DP_V=7.4
RSV=2023-06-01
COMPUTE_V=2023-09-01
TENANT=72f988bf-86f1-41af-91ab-2d7cd011db47
ME=00000000-0000-0000-0000-00000000c0de
OTHER=bbbbbbbb-0000-4000-8000-000000000002
BMS=6a4b2f8e-1c3d-4e5f-9a7b-262044b1e2ce
MESSAGE="Azure Backup Service does not have sufficient permissions to Key Vault for Backup of Encrypted Virtual Machines."
VAULTS="/subscriptions/$SUB/resourceGroups/$RG/providers/Microsoft.KeyVault/vaults"
RSVAULT="/subscriptions/$SUB/resourceGroups/$RG/providers/Microsoft.RecoveryServices/vaults/cvm-vault"
COMPUTE="/subscriptions/$SUB/resourceGroups/$RG/providers/Microsoft.Compute"

uuid() { python3 -c 'import uuid; print(uuid.uuid4())'; }
tok() {
    curl -sS $(ca_opt) -X POST "$ARM/$TENANT/oauth2/v2.0/token" \
        -d "grant_type=client_credentials&client_id=$1&client_secret=x&scope=https://vault.azure.net/.default" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}
T_OTHER=$(tok "$OTHER")

# policy OID PERMS...: an access policy entry for OID with key permissions PERMS.
policy() {
    local oid=$1
    shift
    local perms
    perms=$(printf '"%s",' "$@")
    printf '{"tenantId":"%s","objectId":"%s","permissions":{"keys":[%s]}}' "$TENANT" "$oid" "${perms%,}"
}
# policies KIND VAULT ENTRY: PUT .../accessPolicies/KIND.
policies() {
    arm PUT "$VAULTS/$2/accessPolicies/$1?api-version=$KV_V" "{\"properties\":{\"accessPolicies\":[$3]}}"
}

# ---- the ARM resource ----
arm PUT "$VAULTS/kvcmk?api-version=$KV_V" "{\"location\":\"uaenorth\",\"properties\":{\"sku\":{\"family\":\"A\",\"name\":\"standard\"},\"accessPolicies\":[]}}"
check "vault without tenantId is 400" eq "$STATUS" 400
arm PUT "$VAULTS/kvcmk?api-version=$KV_V" "{\"location\":\"uaenorth\",\"properties\":{\"tenantId\":\"$TENANT\",\"sku\":{\"family\":\"A\",\"name\":\"gold\"}}}"
check "vault with a bad sku is 400" eq "$STATUS" 400
arm PUT "$VAULTS/kvcmk?api-version=$KV_V" "{\"location\":\"uaenorth\",\"properties\":{\"tenantId\":\"$TENANT\",\"sku\":{\"family\":\"A\",\"name\":\"standard\"},\"accessPolicies\":[{\"tenantId\":\"$TENANT\",\"objectId\":\"$ME\",\"permissions\":{\"keys\":[\"fly\"]}}]}}"
check "an unknown key permission is 400" eq "$STATUS" 400
check "the permission is named" contains "$BODY_OUT" "'fly' is not a valid permission"
arm PUT "$VAULTS/kv--x?api-version=$KV_V" "{\"location\":\"uaenorth\",\"properties\":{\"tenantId\":\"$TENANT\",\"sku\":{\"family\":\"A\",\"name\":\"standard\"}}}"
check "invalid vault name is 400" eq "$STATUS" 400
check "invalid vault name code" eq "$(jq_ "$BODY_OUT" error.code)" "VaultNameNotValid"
arm PUT "$VAULTS/kvcmk?api-version=$KV_V" "{\"location\":\"uaenorth\",\"properties\":{\"tenantId\":\"$TENANT\",\"sku\":{\"family\":\"A\",\"name\":\"standard\"},\"accessPolicies\":[$(policy $ME all)]}}"
check "vault created" eq "$STATUS" 201
check "vault type" eq "$(jq_ "$BODY_OUT" type)" "Microsoft.KeyVault/vaults"
PORT=${ARM##*:}
check "vaultUri is the emulator's" eq "$(jq_ "$BODY_OUT" properties.vaultUri)" "https://kvcmk.vault.localhost:$PORT/"
check "access policies by default" eq "$(jq_ "$BODY_OUT" properties.enableRbacAuthorization)" "False"
check "soft delete on" eq "$(jq_ "$BODY_OUT" properties.enableSoftDelete)" "True"
arm PUT "$VAULTS/kvcmk?api-version=$KV_V" "{\"location\":\"uaenorth\",\"properties\":{\"tenantId\":\"$TENANT\",\"sku\":{\"family\":\"A\",\"name\":\"standard\"},\"accessPolicies\":[$(policy $ME all)]}}"
check "vault PUT again is 200" eq "$STATUS" 200
arm PUT "/subscriptions/$SUB/resourcegroups/other-rg?api-version=2021-04-01" '{"location":"uaenorth"}'
arm PUT "/subscriptions/$SUB/resourceGroups/other-rg/providers/Microsoft.KeyVault/vaults/KVCMK?api-version=$KV_V" "{\"location\":\"uaenorth\",\"properties\":{\"tenantId\":\"$TENANT\",\"sku\":{\"family\":\"A\",\"name\":\"standard\"}}}"
check "vault names are global (409)" eq "$STATUS" 409
check "conflict code" eq "$(jq_ "$BODY_OUT" error.code)" "VaultAlreadyExists"
arm GET "$VAULTS/kvcmk?api-version=$KV_V"
check "vault GET" eq "$STATUS" 200
arm GET "$VAULTS?api-version=$KV_V"
check "vault list by group" eq "$(jq_ "$BODY_OUT" value.0.name)" "kvcmk"
arm GET "/subscriptions/$SUB/providers/Microsoft.KeyVault/vaults?api-version=$KV_V"
check "vault list by subscription" contains "$BODY_OUT" '"name":"kvcmk"'
arm GET "$VAULTS/nosuch?api-version=$KV_V"
check "missing vault is 404" eq "$STATUS" 404

# ---- key data plane, access policies ----
arm POST "/kv/kvcmk/keys/cmk1/create?api-version=$DP_V" '{"kty":"RSA","key_size":3072}'
check "key created in the vault" eq "$STATUS" 200
KID=$(jq_ "$BODY_OUT" key.kid)
check "kid is on the vault host" contains "$KID" "https://kvcmk.vault.localhost:$PORT/keys/cmk1/"
curl -sS --path-as-is $(ca_opt) -o "$E2E_TMP/b" -D "$E2E_TMP/h" -w '%{http_code}' "$ARM/kv/kvcmk/keys/cmk1?api-version=$DP_V" >"$E2E_TMP/s"
check "no token is 401" eq "$(cat "$E2E_TMP/s")" 401
check "challenge names the vault resource" contains "$(tr -d '\r' <"$E2E_TMP/h")" 'resource="https://vault.azure.net"'
STATUS=$(curl -sS $(ca_opt) -o "$E2E_TMP/b" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
    -H "Host: kvcmk.vault.localhost:$PORT" "$ARM/keys/cmk1?api-version=$DP_V")
check "key by vault host name" eq "$STATUS" 200
check "same kid by host" eq "$(jq_ "$(cat "$E2E_TMP/b")" key.kid)" "$KID"

TOKEN=$T_OTHER arm GET "/kv/kvcmk/keys/cmk1?api-version=$DP_V"
check "no access policy: 403" eq "$STATUS" 403
check "403 code Forbidden" eq "$(jq_ "$BODY_OUT" error.code)" "Forbidden"
check "403 innererror AccessDenied" eq "$(jq_ "$BODY_OUT" error.innererror.code)" "AccessDenied"
check "403 message names the permission" contains "$(jq_ "$BODY_OUT" error.message)" "oid=$OTHER;iss=https://sts.windows.net/$TENANT/' does not have keys get permission on key vault 'kvcmk;location=uaenorth'"
policies add kvcmk "$(policy $OTHER get)"
check "access policy add" eq "$STATUS" 200
check "add answers the policies sent" eq "$(jq_ "$BODY_OUT" properties.accessPolicies.0.objectId)" "$OTHER"
check "add answer id" contains "$(jq_ "$BODY_OUT" id)" "/vaults/kvcmk/accessPolicies/add"
TOKEN=$T_OTHER arm GET "/kv/kvcmk/keys/cmk1?api-version=$DP_V"
check "get allowed by the policy" eq "$STATUS" 200
TOKEN=$T_OTHER arm GET "/kv/kvcmk/keys?api-version=$DP_V"
check "list still denied" eq "$STATUS" 403
check "list denial names list" contains "$BODY_OUT" "does not have keys list permission"
policies add kvcmk "$(policy $OTHER list)"
arm GET "$VAULTS/kvcmk?api-version=$KV_V"
check "add merges into one entry" eq "$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print([sorted(p["permissions"]["keys"]) for p in d["properties"]["accessPolicies"] if p["objectId"]==sys.argv[2]])' "$BODY_OUT" "$OTHER")" "[['get', 'list']]"
TOKEN=$T_OTHER arm GET "/kv/kvcmk/keys?api-version=$DP_V"
check "list allowed after add" eq "$STATUS" 200
policies replace kvcmk "$(policy $OTHER list)"
TOKEN=$T_OTHER arm GET "/kv/kvcmk/keys/cmk1?api-version=$DP_V"
check "replace took get away" eq "$STATUS" 403
TOKEN=$T_OTHER arm GET "/kv/kvcmk/keys?api-version=$DP_V"
check "replace kept list" eq "$STATUS" 200
policies remove kvcmk "$(policy $OTHER list)"
arm GET "$VAULTS/kvcmk?api-version=$KV_V"
check "remove drops an emptied entry" eq "$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(len(d["properties"]["accessPolicies"]))' "$BODY_OUT")" 1
policies bogus kvcmk "$(policy $OTHER list)"
check "unknown operation kind is 400" eq "$STATUS" 400
policies add kvcmk '{"objectId":"x","permissions":{"keys":["get"]}}'
check "policy without tenantId is 400" eq "$STATUS" 400
policies add nosuch "$(policy $OTHER get)"
check "policies of a missing vault: 404" eq "$STATUS" 404
TOKEN=$T_OTHER arm POST "/kv/kvcmk/keys/cmk1/backup?api-version=$DP_V"
check "backup denied without the permission" eq "$STATUS" 403

arm POST "/kv/kvcmk/keys/cmk1/backup?api-version=$DP_V"
check "key backup" eq "$STATUS" 200
KBLOB=$(jq_ "$BODY_OUT" value)
arm PUT "$VAULTS/kvcopy?api-version=$KV_V" "{\"location\":\"uaenorth\",\"properties\":{\"tenantId\":\"$TENANT\",\"sku\":{\"family\":\"A\",\"name\":\"standard\"},\"accessPolicies\":[$(policy $ME get restore)]}}"
arm POST "/kv/kvcopy/keys/restore?api-version=$DP_V" "{\"value\":\"$KBLOB\"}"
check "key restored into another vault" eq "$STATUS" 200
check "restored key keeps its version" eq "${KID##*/}" "$(jq_ "$BODY_OUT" key.kid | sed 's#.*/##')"
arm GET "/kv/kvcopy/keys?api-version=$DP_V"
check "list needs list" eq "$STATUS" 403

# ---- Azure Backup with a key in the access-policy vault ----
arm PUT "$COMPUTE/diskEncryptionSets/kv-des?api-version=$COMPUTE_V" \
    "{\"location\":\"uaenorth\",\"identity\":{\"type\":\"SystemAssigned\"},\"properties\":{\"encryptionType\":\"ConfidentialVmEncryptedWithCustomerKey\",\"activeKey\":{\"keyUrl\":\"$KID\",\"sourceVault\":{\"id\":\"$VAULTS/kvcmk\"}}}}"
check "disk encryption set on a vault key" eq "$STATUS" 201
DES_ID=$(jq_ "$BODY_OUT" id)
vm_body() {
    printf '{"location":"uaenorth","properties":{"hardwareProfile":{"vmSize":"Standard_DC2as_v6"},"securityProfile":{"securityType":"ConfidentialVM"},"storageProfile":{"osDisk":{"name":"%s-os","osType":"Linux","createOption":"FromImage","managedDisk":{"securityProfile":{"securityEncryptionType":"DiskWithVMGuestState","diskEncryptionSet":{"id":"%s"}}}}}}}' "$1" "$2"
}
arm PUT "$COMPUTE/virtualMachines/cvmkv?api-version=$COMPUTE_V" "$(vm_body cvmkv "$DES_ID")"
check "confidential VM on the vault key" eq "$STATUS" 201

wait_op() {
    for _ in $(seq 1 100); do
        arm GET "$1"
        [ "$(jq_ "$BODY_OUT" status)" != "InProgress" ] && return 0
        sleep 0.05
    done
}
# protect VM: enables protection with EnhancedPolicy; OPBODY is the final status.
protect() {
    ITEM="$RSVAULT/backupFabrics/Azure/protectionContainers/IaasVMContainer;iaasvmcontainerv2;$RG;$1/protectedItems/VM;iaasvmcontainerv2;$RG;$1"
    arm PUT "$ITEM?api-version=$RSV" \
        "{\"properties\":{\"protectedItemType\":\"Microsoft.Compute/virtualMachines\",\"sourceResourceId\":\"$COMPUTE/virtualMachines/$1\",\"policyId\":\"$RSVAULT/backupPolicies/EnhancedPolicy\"}}"
    local op
    op=$(header Azure-AsyncOperation)
    op=${op##*/}
    op=${op%%\?*}
    wait_op "$RSVAULT/backupOperations/$op?api-version=$RSV"
    OPBODY=$BODY_OUT
}
# backup_job VM: on-demand backup; JOB is the job body.
backup_job() {
    arm POST "$ITEM/backup?api-version=$RSV" '{"properties":{"objectType":"IaasVMBackupRequest"}}'
    local op
    op=$(header Azure-AsyncOperation)
    op=${op##*/}
    op=${op%%\?*}
    wait_op "$RSVAULT/backupOperations/$op?api-version=$RSV"
    arm GET "$RSVAULT/backupJobs/$(jq_ "$BODY_OUT" properties.jobId)?api-version=$RSV"
    JOB=$BODY_OUT
}

protect cvmkv
check "no policy for the BMS: protection fails" eq "$(jq_ "$OPBODY" status)" "Failed"
check "documented code" eq "$(jq_ "$OPBODY" error.code)" "UserErrorKeyVaultPermissionsNotConfigured"
check "documented message" eq "$(jq_ "$OPBODY" error.message)" "$MESSAGE"
arm GET "$ITEM?api-version=$RSV"
check "nothing protected" eq "$STATUS" 404
policies add kvcmk "$(policy $BMS get list)"
protect cvmkv
check "get+list without backup is not enough" eq "$(jq_ "$OPBODY" error.code)" "UserErrorKeyVaultPermissionsNotConfigured"
policies add kvcmk "$(policy $OTHER get list backup)"
protect cvmkv
check "a grant to another principal is not enough" eq "$(jq_ "$OPBODY" status)" "Failed"
policies add kvcmk "$(policy $BMS backup)"
protect cvmkv
check "get, list, backup for the BMS: protected" eq "$(jq_ "$OPBODY" status)" "Succeeded"
backup_job
check "backup job completed" eq "$(jq_ "$JOB" properties.status)" "Completed"
arm GET "$ITEM/recoveryPoints?api-version=$RSV"
check "recovery point names the vault" eq "$(jq_ "$BODY_OUT" value.0.properties.keyAndSecret.kekDetails.keyVaultId)" "$VAULTS/kvcmk"
check "recovery point key url" eq "$(jq_ "$BODY_OUT" value.0.properties.keyAndSecret.kekDetails.keyUrl)" "$KID"
RPBLOB=$(jq_ "$BODY_OUT" value.0.properties.keyAndSecret.kekDetails.keyBackupData)
check "recovery point carries the key backup" test -n "$RPBLOB"
arm PUT "$VAULTS/kvrp?api-version=$KV_V" "{\"location\":\"uaenorth\",\"properties\":{\"tenantId\":\"$TENANT\",\"sku\":{\"family\":\"A\",\"name\":\"standard\"},\"accessPolicies\":[$(policy $ME all)]}}"
arm POST "/kv/kvrp/keys/restore?api-version=$DP_V" "{\"value\":\"$RPBLOB\"}"
check "the recovery point's key backup restores" eq "$STATUS" 200
policies remove kvcmk "{\"tenantId\":\"$TENANT\",\"objectId\":\"$BMS\",\"permissions\":{}}"
backup_job
check "backup job fails once the policy is removed" eq "$(jq_ "$JOB" properties.status)" "Failed"
check "job error title" eq "$(jq_ "$JOB" properties.errorDetails.0.errorTitle)" "UserErrorKeyVaultPermissionsNotConfigured"
policies add kvcmk "$(policy $BMS all)"
backup_job
check "'all' grants get, list and backup" eq "$(jq_ "$JOB" properties.status)" "Completed"

# ---- RBAC mode ----
arm PUT "$VAULTS/kvrbac?api-version=$KV_V" "{\"location\":\"uaenorth\",\"properties\":{\"tenantId\":\"$TENANT\",\"sku\":{\"family\":\"A\",\"name\":\"premium\"},\"enableRbacAuthorization\":true,\"accessPolicies\":[$(policy $ME all)]}}"
check "RBAC vault" eq "$(jq_ "$BODY_OUT" properties.enableRbacAuthorization)" "True"
arm POST "/kv/kvrbac/keys/cmk2/create?api-version=$DP_V" '{"kty":"RSA-HSM","key_size":3072}'
check "RBAC vault ignores access policies" eq "$STATUS" 403
check "RBAC denial innererror" eq "$(jq_ "$BODY_OUT" error.innererror.code)" "ForbiddenByRbac"
check "RBAC denial names the action" contains "$(jq_ "$BODY_OUT" error.message)" "Action: 'Microsoft.KeyVault/vaults/keys/create/action'"
OFFICER=$(uuid)
arm PUT "/subscriptions/$SUB/providers/Microsoft.Authorization/roleDefinitions/$OFFICER?api-version=2022-04-01" \
    "{\"properties\":{\"roleName\":\"kv keys officer\",\"type\":\"CustomRole\",\"permissions\":[{\"actions\":[],\"notActions\":[],\"dataActions\":[\"Microsoft.KeyVault/vaults/keys/*\"],\"notDataActions\":[]}],\"assignableScopes\":[\"/subscriptions/$SUB\"]}}"
check "custom key officer role" eq "$STATUS" 201
arm PUT "$VAULTS/kvrbac/providers/Microsoft.Authorization/roleAssignments/$(uuid)?api-version=2022-04-01" \
    "{\"properties\":{\"roleDefinitionId\":\"/subscriptions/$SUB/providers/Microsoft.Authorization/roleDefinitions/$OFFICER\",\"principalId\":\"$ME\"}}"
check "officer assigned on the vault" eq "$STATUS" 201
arm POST "/kv/kvrbac/keys/cmk2/create?api-version=$DP_V" '{"kty":"RSA-HSM","key_size":3072}'
check "key created through RBAC" eq "$STATUS" 200
KID2=$(jq_ "$BODY_OUT" key.kid)
arm PUT "$COMPUTE/diskEncryptionSets/kvr-des?api-version=$COMPUTE_V" \
    "{\"location\":\"uaenorth\",\"properties\":{\"encryptionType\":\"ConfidentialVmEncryptedWithCustomerKey\",\"activeKey\":{\"keyUrl\":\"$KID2\"}}}"
arm PUT "$COMPUTE/virtualMachines/cvmkvr?api-version=$COMPUTE_V" "$(vm_body cvmkvr "$(jq_ "$BODY_OUT" id)")"
check "CVM on the RBAC vault key" eq "$STATUS" 201
policies add kvrbac "$(policy $BMS all)"
protect cvmkvr
check "RBAC vault: an access policy does not count" eq "$(jq_ "$OPBODY" error.code)" "UserErrorKeyVaultPermissionsNotConfigured"
READER=$(uuid)
arm PUT "/subscriptions/$SUB/providers/Microsoft.Authorization/roleDefinitions/$READER?api-version=2022-04-01" \
    "{\"properties\":{\"roleName\":\"kv key reader\",\"type\":\"CustomRole\",\"permissions\":[{\"actions\":[],\"notActions\":[],\"dataActions\":[\"Microsoft.KeyVault/vaults/keys/read\"],\"notDataActions\":[]}],\"assignableScopes\":[\"/subscriptions/$SUB\"]}}"
BACKUPR=$(uuid)
arm PUT "/subscriptions/$SUB/providers/Microsoft.Authorization/roleDefinitions/$BACKUPR?api-version=2022-04-01" \
    "{\"properties\":{\"roleName\":\"kv key backup\",\"type\":\"CustomRole\",\"permissions\":[{\"actions\":[],\"notActions\":[],\"dataActions\":[\"Microsoft.KeyVault/vaults/keys/read\",\"Microsoft.KeyVault/vaults/keys/backup/action\"],\"notDataActions\":[]}],\"assignableScopes\":[\"/subscriptions/$SUB\"]}}"
arm PUT "$VAULTS/kvrbac/keys/cmk2/providers/Microsoft.Authorization/roleAssignments/$(uuid)?api-version=2022-04-01" \
    "{\"properties\":{\"roleDefinitionId\":\"/subscriptions/$SUB/providers/Microsoft.Authorization/roleDefinitions/$READER\",\"principalId\":\"$BMS\"}}"
check "read-only role on the key" eq "$STATUS" 201
protect cvmkvr
check "keys/read alone is not enough" eq "$(jq_ "$OPBODY" status)" "Failed"
arm PUT "$VAULTS/kvrbac/keys/cmk2/providers/Microsoft.Authorization/roleAssignments/$(uuid)?api-version=2022-04-01" \
    "{\"properties\":{\"roleDefinitionId\":\"/subscriptions/$SUB/providers/Microsoft.Authorization/roleDefinitions/$BACKUPR\",\"principalId\":\"$OTHER\"}}"
protect cvmkvr
check "the role to another principal is not enough" eq "$(jq_ "$OPBODY" status)" "Failed"
arm PUT "$VAULTS/kvrbac/keys/cmk2/providers/Microsoft.Authorization/roleAssignments/$(uuid)?api-version=2022-04-01" \
    "{\"properties\":{\"roleDefinitionId\":\"/subscriptions/$SUB/providers/Microsoft.Authorization/roleDefinitions/$BACKUPR\",\"principalId\":\"$BMS\"}}"
protect cvmkvr
check "keys/read + keys/backup/action on the key: protected" eq "$(jq_ "$OPBODY" status)" "Succeeded"

# ---- built-in Key Vault roles ----
KVR=/subscriptions/$SUB/providers/Microsoft.Authorization/roleDefinitions
arm GET "$KVR/12338af0-0e69-4776-bea7-57ae8d297424?api-version=2022-04-01"
check "built-in Key Vault Crypto User" eq "$(jq_ "$BODY_OUT" properties.roleName)" "Key Vault Crypto User"
arm PUT "$VAULTS/kvbuiltin?api-version=$KV_V" "{\"location\":\"uaenorth\",\"properties\":{\"tenantId\":\"$TENANT\",\"sku\":{\"family\":\"A\",\"name\":\"premium\"},\"enableRbacAuthorization\":true}}"
arm PUT "$VAULTS/kvbuiltin/providers/Microsoft.Authorization/roleAssignments/$(uuid)?api-version=2022-04-01" \
    "{\"properties\":{\"roleDefinitionId\":\"$KVR/21090545-7ca7-4776-b22c-e363652d74d2\",\"principalId\":\"$ME\"}}"
check "Key Vault Reader assigned" eq "$STATUS" 201
arm POST "/kv/kvbuiltin/keys/k1/create?api-version=$DP_V" '{"kty":"EC-HSM","crv":"P-256"}'
check "a reader cannot create keys" eq "$STATUS" 403
arm PUT "$VAULTS/kvbuiltin/providers/Microsoft.Authorization/roleAssignments/$(uuid)?api-version=2022-04-01" \
    "{\"properties\":{\"roleDefinitionId\":\"$KVR/14b46e9e-c2b7-41b4-b07b-48a6ebf60603\",\"principalId\":\"$ME\"}}"
arm POST "/kv/kvbuiltin/keys/k1/create?api-version=$DP_V" '{"kty":"EC-HSM","crv":"P-256"}'
check "Key Vault Crypto Officer creates keys" eq "$STATUS" 200

# ---- delete ----
arm DELETE "$VAULTS/kvcopy?api-version=$KV_V"
check "vault DELETE" eq "$STATUS" 200
arm GET "/kv/kvcopy/keys/cmk1?api-version=$DP_V"
check "its keys are gone with it" eq "$STATUS" 404
arm DELETE "$VAULTS/kvcopy?api-version=$KV_V"
check "DELETE of a missing vault is 204" eq "$STATUS" 204

finish

#!/usr/bin/env bash
# test_managed_hsm.sh - Managed HSM end to end with curl: the ARM resource
# (PUT as LRO, hsmUri, list, delete), the data plane by path and by Host
# name, the 401 challenge, local RBAC (built-in roles with their ids, custom
# roles, assignments at /, /keys, /keys/{name}, the scope quirks clients send,
# the 403 AccessDenied body), the built-in role matrix, keys (create, get,
# list, versions, update, delete/recover/purge, backup/restore round trip,
# wrap/unwrap) and full HSM backup/restore to the Blob-like store.
source "$(dirname "$0")/lib.sh"
start_emulator

RG=mhsm-rg
HSMNAME=contosohsm
V=7.4
ADMIN=aaaaaaaa-0000-4000-8000-000000000001
HSM_PATH="/subscriptions/$SUB/resourceGroups/$RG/providers/Microsoft.KeyVault/managedHSMs/$HSMNAME"
KV_V=2023-07-01
TENANT=72f988bf-86f1-41af-91ab-2d7cd011db47

# tok OID: a token for principal OID from the emulated Entra ID (client credentials).
tok() {
    curl -sS $(ca_opt) -X POST "$ARM/$TENANT/oauth2/v2.0/token" \
        -d "grant_type=client_credentials&client_id=$1&client_secret=x&scope=https://managedhsm.azure.net/.default" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}

# dp TOKEN METHOD PATH [BODY]: a data-plane call by path.
dp() {
    local t=$1
    shift
    TOKEN=$t arm "$1" "/mhsm/$HSMNAME$2" "${3-}"
}

uuid() { python3 -c 'import uuid; print(uuid.uuid4())'; }

arm PUT "/subscriptions/$SUB/resourcegroups/$RG?api-version=2021-04-01" '{"location":"uksouth"}'
check "resource group" eq "$STATUS" 201

# ---- ARM resource ----
arm PUT "$HSM_PATH?api-version=$KV_V" '{"location":"UK South","sku":{"family":"B","name":"Standard_B1"}}'
check "initialAdminObjectIds required" eq "$STATUS" 400
arm PUT "$HSM_PATH?api-version=$KV_V" \
    "{\"location\":\"UK South\",\"sku\":{\"family\":\"B\",\"name\":\"Standard_B1\"},\"properties\":{\"tenantId\":\"$TENANT\",\"initialAdminObjectIds\":[\"$ADMIN\"],\"softDeleteRetentionInDays\":7}}"
check "PUT managedHSM 201" eq "$STATUS" 201
check "provisioning" eq "$(jq_ "$BODY_OUT" properties.provisioningState)" "Provisioning"
ASYNC=$(header Azure-AsyncOperation)
check "Azure-AsyncOperation" contains "$ASYNC" "/providers/Microsoft.KeyVault/locations/uksouth/operationResults/"
arm GET "$ASYNC"
check "operation succeeded" eq "$(jq_ "$BODY_OUT" status)" "Succeeded"
arm GET "$HSM_PATH?api-version=$KV_V"
check "GET managedHSM" eq "$STATUS" 200
check "provisioned" eq "$(jq_ "$BODY_OUT" properties.provisioningState)" "Succeeded"
HSMURI=$(jq_ "$BODY_OUT" properties.hsmUri)
PORT=${ARM##*:}
check "hsmUri" eq "$HSMURI" "https://$HSMNAME.managedhsm.localhost:$PORT/"
arm GET "/subscriptions/$SUB/providers/Microsoft.KeyVault/managedHSMs?api-version=$KV_V"
check "list by subscription" eq "$(jq_ "$BODY_OUT" value.0.name)" "$HSMNAME"
arm PUT "/subscriptions/$SUB/resourceGroups/$RG/providers/Microsoft.KeyVault/managedHSMs/ContosoHSM2?api-version=$KV_V" \
    "{\"location\":\"uksouth\",\"sku\":{\"family\":\"B\",\"name\":\"Standard_B1\"},\"properties\":{\"initialAdminObjectIds\":[\"$ADMIN\"]}}"
check "second HSM" eq "$STATUS" 201
arm PUT "/subscriptions/$SUB/resourceGroups/$RG/providers/Microsoft.KeyVault/managedHSMs/$HSMNAME-x?api-version=$KV_V" \
    "{\"location\":\"uksouth\",\"sku\":{\"family\":\"B\",\"name\":\"Bad\"},\"properties\":{\"initialAdminObjectIds\":[\"$ADMIN\"]}}"
check "bad sku" eq "$STATUS" 400

# ---- the 401 challenge ----
code=$(curl -sS $(ca_opt) -o "$E2E_TMP/b" -D "$E2E_TMP/h" -w '%{http_code}' "$ARM/mhsm/$HSMNAME/keys?api-version=$V")
check "no token: 401" eq "$code" 401
check "401 empty body" eq "$(cat "$E2E_TMP/b")" ""
WWW=$(tr -d '\r' <"$E2E_TMP/h" | awk -F': ' 'tolower($1)=="www-authenticate"{print $2}')
check "challenge resource" contains "$WWW" 'resource="https://managedhsm.azure.net"'
check "challenge authorization" contains "$WWW" "authorization=\"$ARM/$TENANT\""
dp x GET "/keys"
check "missing api-version" eq "$STATUS" 400

T_ADMIN=$(tok $ADMIN)

# ---- RBAC: the administrator has no key operations ----
dp "$T_ADMIN" POST "/keys/cmk/create?api-version=$V" '{"kty":"RSA-HSM","key_size":3072}'
check "admin cannot create keys" eq "$STATUS" 403
check "AccessDenied code" eq "$(jq_ "$BODY_OUT" error.code)" "AccessDenied"
check "AccessDenied message" contains "$(jq_ "$BODY_OUT" error.message)" \
    "Not authorized to access Microsoft.KeyVault/managedHsm/keys/create on '/keys/cmk' (Activity ID: "

dp "$T_ADMIN" GET "///providers/Microsoft.Authorization/roleDefinitions?api-version=$V"
check "role definitions list" eq "$STATUS" 200
NDEFS=$(printf '%s' "$BODY_OUT" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["value"]))')
check "nine built-in roles" eq "$NDEFS" 9
dp "$T_ADMIN" GET "///providers/Microsoft.Authorization/roleDefinitions/21dbd100-6940-42c2-9190-5d6cb909625b?api-version=$V"
check "Crypto User by id" eq "$(jq_ "$BODY_OUT" properties.roleName)" "Managed HSM Crypto User"
check "Crypto User id" eq "$(jq_ "$BODY_OUT" id)" \
    "Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/21dbd100-6940-42c2-9190-5d6cb909625b"
check "built-in type" eq "$(jq_ "$BODY_OUT" properties.type)" "AKVBuiltInRole"
check "Crypto User has backup" contains "$(jq_ "$BODY_OUT" properties.permissions.0.dataActions)" \
    "Microsoft.KeyVault/managedHsm/keys/backup/action"
dp "$T_ADMIN" GET "/providers/Microsoft.Authorization/roleDefinitions?api-version=$V&\$filter=roleName%20eq%20'Managed%20HSM%20Backup%20User'"
check "filter by roleName" eq "$(jq_ "$BODY_OUT" value.0.name)" "7b127d3c-77bd-4e3e-bbe0-dbb8971fa7f8"
check "Backup role lacks read" eq "$(printf '%s' "$BODY_OUT" | grep -c 'keys/read/action')" 0

# The admin grants itself Crypto User at "/" (JS SDK form: ///providers/...).
RA=$(uuid)
dp "$T_ADMIN" PUT "///providers/Microsoft.Authorization/roleAssignments/$RA?api-version=$V" \
    "{\"properties\":{\"roleDefinitionId\":\"Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/21dbd100-6940-42c2-9190-5d6cb909625b\",\"principalId\":\"$ADMIN\"}}"
check "assign at / 201" eq "$STATUS" 201
check "assignment scope" eq "$(jq_ "$BODY_OUT" properties.scope)" "/"
check "assignment id" eq "$(jq_ "$BODY_OUT" id)" "/providers/Microsoft.Authorization/roleAssignments/$RA"
dp "$T_ADMIN" GET "/providers/Microsoft.Authorization/roleAssignments/$RA?api-version=$V"
check "get assignment" eq "$(jq_ "$BODY_OUT" name)" "$RA"
dp "$T_ADMIN" GET "/providers/Microsoft.Authorization/roleAssignments/$(uuid)?api-version=$V"
check "missing assignment 404" eq "$STATUS" 404
check "RoleAssignmentNotFound" eq "$(jq_ "$BODY_OUT" error.code)" "RoleAssignmentNotFound"
dp "$T_ADMIN" GET "/providers/Microsoft.Authorization/roleAssignments?api-version=$V&\$filter=principalId%20eq%20'$ADMIN'"
check "list by principal" eq "$(printf '%s' "$BODY_OUT" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["value"]))')" 2
dp "$T_ADMIN" PUT "/badscope/providers/Microsoft.Authorization/roleAssignments/$(uuid)?api-version=$V" \
    "{\"properties\":{\"roleDefinitionId\":\"21dbd100-6940-42c2-9190-5d6cb909625b\",\"principalId\":\"$ADMIN\"}}"
check "bad scope 400" eq "$STATUS" 400

# ---- keys ----
dp "$T_ADMIN" POST "/keys/cmk/create?api-version=$V" '{"kty":"RSA-HSM","key_size":3072,"attributes":{"exportable":true}}'
check "exportable needs a release policy" eq "$STATUS" 400
dp "$T_ADMIN" POST "/keys/cmk/create?api-version=$V" \
    '{"kty":"RSA-HSM","key_size":3072,"key_ops":["wrapKey","unwrapKey"],"attributes":{"exportable":true},"release_policy":{"contentType":"application/json; charset=utf-8","data":"eyJ2ZXJzaW9uIjoiMS4wLjAifQ","immutable":false},"tags":{"purpose":"cvm"}}'
check "create key" eq "$STATUS" 200
KID=$(jq_ "$BODY_OUT" key.kid)
VER1=${KID##*/}
check "kid" eq "${KID%/*}" "https://$HSMNAME.managedhsm.localhost:$PORT/keys/cmk"
check "version is 32 hex" eq "${#VER1}" 32
check "kty" eq "$(jq_ "$BODY_OUT" key.kty)" "RSA-HSM"
N=$(jq_ "$BODY_OUT" key.n)
check "n is 3072 bits" eq "$(python3 -c "import base64,sys; s='$N'; print(len(base64.urlsafe_b64decode(s+'='*(-len(s)%4)))*8)")" 3072
check "e" eq "$(jq_ "$BODY_OUT" key.e)" "AQAB"
check "exportable" eq "$(jq_ "$BODY_OUT" attributes.exportable)" "True"
check "recoveryLevel" eq "$(jq_ "$BODY_OUT" attributes.recoveryLevel)" "CustomizedRecoverable+Purgeable"
check "release policy kept" eq "$(jq_ "$BODY_OUT" release_policy.immutable)" "False"
dp "$T_ADMIN" POST "/keys/cmk/create?api-version=$V" '{"kty":"RSA-HSM","key_size":2048}'
VER2=$(jq_ "$BODY_OUT" key.kid); VER2=${VER2##*/}
check "second version" eq "$STATUS" 200
dp "$T_ADMIN" POST "/keys/ec1/create?api-version=$V" '{"kty":"EC-HSM","crv":"P-256"}'
check "EC key" eq "$(jq_ "$BODY_OUT" key.crv)" "P-256"
dp "$T_ADMIN" POST "/keys/aes1/create?api-version=$V" '{"kty":"oct-HSM","key_size":256}'
check "oct key" eq "$(jq_ "$BODY_OUT" key.kty)" "oct-HSM"
dp "$T_ADMIN" POST "/keys/bad_name/create?api-version=$V" '{"kty":"RSA-HSM"}'
check "bad key name" eq "$STATUS" 400
dp "$T_ADMIN" POST "/keys/k9/create?api-version=$V" '{"kty":"DSA"}'
check "bad kty" eq "$STATUS" 400
dp "$T_ADMIN" GET "/keys/cmk?api-version=$V"
check "get latest" eq "$(jq_ "$BODY_OUT" key.kid)" "https://$HSMNAME.managedhsm.localhost:$PORT/keys/cmk/$VER2"
dp "$T_ADMIN" GET "/keys/cmk/$VER1?api-version=$V"
check "get version" eq "$(jq_ "$BODY_OUT" tags.purpose)" "cvm"
dp "$T_ADMIN" GET "/keys/cmk/versions?api-version=$V"
check "versions" eq "$(printf '%s' "$BODY_OUT" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["value"]))')" 2
dp "$T_ADMIN" GET "/keys?api-version=$V"
check "list keys" eq "$(printf '%s' "$BODY_OUT" | python3 -c 'import json,sys; print(sorted(k["kid"].rsplit("/",1)[1] for k in json.load(sys.stdin)["value"]))')" "['aes1', 'cmk', 'ec1']"
dp "$T_ADMIN" PATCH "/keys/cmk/$VER2?api-version=$V" '{"attributes":{"enabled":false},"tags":{"a":"b"}}'
check "update" eq "$(jq_ "$BODY_OUT" attributes.enabled)" "False"
dp "$T_ADMIN" PATCH "/keys/cmk/$VER2?api-version=$V" '{"attributes":{"enabled":true}}'
dp "$T_ADMIN" GET "/keys/nope?api-version=$V"
check "missing key 404" eq "$(jq_ "$BODY_OUT" error.code)" "KeyNotFound"

# wrap / unwrap
dp "$T_ADMIN" POST "/keys/cmk/$VER2/wrapkey?api-version=$V" '{"alg":"RSA-OAEP-256","value":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"}'
check "wrap" eq "$STATUS" 200
WRAPPED=$(jq_ "$BODY_OUT" value)
dp "$T_ADMIN" POST "/keys/cmk/$VER2/unwrapkey?api-version=$V" "{\"alg\":\"RSA-OAEP-256\",\"value\":\"$WRAPPED\"}"
check "unwrap round trip" eq "$(jq_ "$BODY_OUT" value)" "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"

# backup / delete / purge / restore round trip
dp "$T_ADMIN" POST "/keys/cmk/backup?api-version=$V"
check "backup" eq "$STATUS" 200
KBLOB=$(jq_ "$BODY_OUT" value)
check "backup blob is base64url" eq "$(printf '%s' "$KBLOB" | tr -d 'A-Za-z0-9_-' | wc -c)" 0
dp "$T_ADMIN" POST "/keys/restore?api-version=$V" "{\"value\":\"$KBLOB\"}"
check "restore over existing: 409" eq "$STATUS" 409
dp "$T_ADMIN" DELETE "/keys/cmk?api-version=$V"
check "delete" eq "$(jq_ "$BODY_OUT" recoveryId)" "https://$HSMNAME.managedhsm.localhost:$PORT/deletedkeys/cmk"
dp "$T_ADMIN" GET "/keys/cmk?api-version=$V"
check "deleted key is gone" eq "$STATUS" 404
dp "$T_ADMIN" POST "/keys/cmk/create?api-version=$V" '{"kty":"RSA-HSM"}'
check "name of a deleted key: 409" eq "$STATUS" 409
dp "$T_ADMIN" GET "/deletedkeys/cmk?api-version=$V"
check "deleted key readable by officer only" eq "$STATUS" 403
RA2=$(uuid)
dp "$T_ADMIN" PUT "/providers/Microsoft.Authorization/roleAssignments/$RA2?api-version=$V" \
    "{\"properties\":{\"roleDefinitionId\":\"515eb02d-2335-4d2d-92f2-b1cbdf9c3778\",\"principalId\":\"$ADMIN\"}}"
dp "$T_ADMIN" GET "/deletedkeys?api-version=$V"
check "list deleted" eq "$(jq_ "$BODY_OUT" value.0.recoveryId)" "https://$HSMNAME.managedhsm.localhost:$PORT/deletedkeys/cmk"
dp "$T_ADMIN" DELETE "/deletedkeys/cmk?api-version=$V"
check "purge" eq "$STATUS" 204
dp "$T_ADMIN" POST "/keys/restore?api-version=$V" "{\"value\":\"$KBLOB\"}"
check "restore" eq "$STATUS" 200
check "restored kid" eq "$(jq_ "$BODY_OUT" key.kid)" "https://$HSMNAME.managedhsm.localhost:$PORT/keys/cmk/$VER2"
check "restored n" eq "$(TOKEN=$T_ADMIN arm GET "/mhsm/$HSMNAME/keys/cmk/$VER1?api-version=$V"; jq_ "$BODY_OUT" key.n)" "$N"
dp "$T_ADMIN" POST "/keys/cmk/$VER2/unwrapkey?api-version=$V" "{\"alg\":\"RSA-OAEP-256\",\"value\":\"$WRAPPED\"}"
check "restored key unwraps" eq "$(jq_ "$BODY_OUT" value)" "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
TAMPERED="${KBLOB:0:40}A${KBLOB:41}"
[ "${KBLOB:40:1}" = "A" ] && TAMPERED="${KBLOB:0:40}B${KBLOB:41}"
dp "$T_ADMIN" DELETE "/keys/ec1?api-version=$V"
dp "$T_ADMIN" DELETE "/deletedkeys/ec1?api-version=$V"
dp "$T_ADMIN" POST "/keys/restore?api-version=$V" "{\"value\":\"$TAMPERED\"}"
check "tampered backup: 400" eq "$STATUS" 400
# A backup restores into another HSM of the emulator (same security domain).
dp "$T_ADMIN" POST "/keys/cmk/backup?api-version=$V"
KBLOB=$(jq_ "$BODY_OUT" value)
TOKEN=$T_ADMIN arm PUT "/mhsm/contosohsm2/providers/Microsoft.Authorization/roleAssignments/$(uuid)?api-version=$V" \
    "{\"properties\":{\"roleDefinitionId\":\"21dbd100-6940-42c2-9190-5d6cb909625b\",\"principalId\":\"$ADMIN\"}}"
TOKEN=$T_ADMIN arm POST "/mhsm/contosohsm2/keys/restore?api-version=$V" "{\"value\":\"$KBLOB\"}"
check "restore into another HSM" eq "$(jq_ "$BODY_OUT" key.kid)" "https://contosohsm2.managedhsm.localhost:$PORT/keys/cmk/$VER2"

# ---- by host name ----
code=$(curl -sS $(ca_opt) --connect-to "$HSMNAME.managedhsm.localhost:$PORT:127.0.0.1:$PORT" \
    -H "Authorization: Bearer $T_ADMIN" -o "$E2E_TMP/b" -w '%{http_code}' \
    "https://$HSMNAME.managedhsm.localhost:$PORT/keys/cmk?api-version=$V")
check "by host name" eq "$code" 200
check "by host name body" eq "$(jq_ "$(cat "$E2E_TMP/b")" key.kid)" "https://$HSMNAME.managedhsm.localhost:$PORT/keys/cmk/$VER2"

# ---- custom roles ----
CR=$(uuid)
dp "$T_ADMIN" PUT "///providers/Microsoft.Authorization/roleDefinitions/21dbd100-6940-42c2-9190-5d6cb909625b?api-version=$V" \
    '{"properties":{"roleName":"x","permissions":[{"dataActions":["Microsoft.KeyVault/managedHsm/keys/read/action"]}]}}'
check "built-in GUID reuse 400" eq "$(jq_ "$BODY_OUT" error.code)" "BadParameter"
check "built-in GUID reuse message" contains "$(jq_ "$BODY_OUT" error.message)" "Cannot re-use the name/GUID matching that of a built-in role."
dp "$T_ADMIN" PUT "///providers/Microsoft.Authorization/roleDefinitions/$CR?api-version=$V" \
    '{"properties":{"roleName":"Key reader","type":"CustomRole","permissions":[{"dataActions":["Microsoft.KeyVault/managedHsm/keys/nonsense"]}],"assignableScopes":["/"]}}'
check "invalid data action 400" eq "$STATUS" 400
dp "$T_ADMIN" PUT "///providers/Microsoft.Authorization/roleDefinitions/$CR?api-version=$V" \
    '{"properties":{"roleName":"Key reader","type":"CustomRole","permissions":[{"dataActions":["Microsoft.KeyVault/managedHsm/keys/read/action"]}],"assignableScopes":["/"]}}'
check "custom role 201" eq "$STATUS" 201
check "custom role defaults" eq "$(jq_ "$BODY_OUT" properties.description)|$(jq_ "$BODY_OUT" properties.permissions.0.notDataActions)" "|[]"
dp "$T_ADMIN" GET "///providers/Microsoft.Authorization/roleDefinitions/$CR?api-version=$V"
check "get custom role" eq "$(jq_ "$BODY_OUT" properties.type)" "CustomRole"
dp "$T_ADMIN" PUT "//keys/providers/Microsoft.Authorization/roleDefinitions/$(uuid)?api-version=$V" \
    '{"properties":{"roleName":"y","permissions":[]}}'
check "role definition at /keys: 400" eq "$STATUS" 400

# ---- scopes: an assignment on one key ----
KEYUSER=bbbbbbbb-0000-4000-8000-000000000002
T_KEYUSER=$(tok $KEYUSER)
dp "$T_ADMIN" PUT "//keys/cmk/providers/Microsoft.Authorization/roleAssignments/$(uuid)?api-version=$V" \
    "{\"properties\":{\"roleDefinitionId\":\"Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/$CR\",\"principalId\":\"$KEYUSER\"}}"
check "assign custom role on /keys/cmk" eq "$(jq_ "$BODY_OUT" properties.scope)" "/keys/cmk"
dp "$T_KEYUSER" GET "/keys/cmk?api-version=$V"
check "key-scoped read allowed" eq "$STATUS" 200
dp "$T_KEYUSER" GET "/keys/aes1?api-version=$V"
check "other key denied" eq "$STATUS" 403
dp "$T_KEYUSER" GET "/keys?api-version=$V"
check "list needs /keys" eq "$STATUS" 403
check "list denial names /keys" contains "$(jq_ "$BODY_OUT" error.message)" "keys/read/action on '/keys'"
dp "$T_KEYUSER" POST "/keys/cmk/backup?api-version=$V"
check "custom role lacks backup" eq "$STATUS" 403
dp "$T_ADMIN" GET "//keys/providers/Microsoft.Authorization/roleAssignments?api-version=$V"
check "list at /keys omits key-level" eq "$(printf '%s' "$BODY_OUT" | grep -c '/keys/cmk')" 0
dp "$T_ADMIN" GET "//keys/cmk/providers/Microsoft.Authorization/roleAssignments?api-version=$V"
check "list at /keys/cmk includes it" eq "$(printf '%s' "$BODY_OUT" | grep -c '/keys/cmk')" 1
dp "$T_ADMIN" DELETE "///providers/Microsoft.Authorization/roleDefinitions/$CR?api-version=$V"
check "delete custom role" eq "$(jq_ "$BODY_OUT" name)" "$CR"
dp "$T_KEYUSER" GET "/keys/cmk?api-version=$V"
check "deleted role grants nothing" eq "$STATUS" 403

# ---- the built-in role matrix ----
# Operation classes: key read, key create, key backup, key restore, key delete,
# role assignment read, role definition write, full backup start, deleted keys read.
declare -A EXPECT=(
    [a290e904-7015-4bba-90c8-60543313cdb4]="403 403 403 403 403 200 201 202 403"
    [515eb02d-2335-4d2d-92f2-b1cbdf9c3778]="403 403 403 403 403 200 201 403 200"
    [21dbd100-6940-42c2-9190-5d6cb909625b]="200 200 200 409 200 200 403 403 403"
    [4bd23610-cdcf-4971-bdee-bdc562cc28e4]="403 403 403 403 403 200 201 403 403"
    [2c18b078-7c48-4d3a-af88-5a3a1b3f82b3]="200 403 403 403 403 200 403 403 200"
    [33413926-3206-4cdd-b39a-83574fe37a17]="200 403 403 403 403 403 403 403 403"
    [21dbd100-6940-42c2-9190-5d6cb909625c]="403 403 403 403 403 403 403 403 403"
    [7b127d3c-77bd-4e3e-bbe0-dbb8971fa7f8]="403 403 200 403 403 403 403 202 403"
    [6efe6056-5259-49d2-8b3d-d3d73544b20b]="403 403 403 409 403 403 403 403 403"
)
arm PUT "/subscriptions/$SUB/resourceGroups/$RG/providers/Microsoft.Storage/storageAccounts/mhsmbackups?api-version=2023-05-01" \
    '{"sku":{"name":"Standard_LRS"},"kind":"StorageV2","location":"uksouth"}'
for _ in $(seq 1 50); do
    arm GET "/subscriptions/$SUB/resourceGroups/$RG/providers/Microsoft.Storage/storageAccounts/mhsmbackups?api-version=2023-05-01"
    [ "$(jq_ "$BODY_OUT" properties.provisioningState)" = "Succeeded" ] && break
    sleep 0.1
done
arm PUT "/subscriptions/$SUB/resourceGroups/$RG/providers/Microsoft.Storage/storageAccounts/mhsmbackups/blobServices/default/containers/backups?api-version=2023-05-01" '{"properties":{}}'
check "container" eq "$STATUS" 201
CONTAINER_URI="$BLOB/mhsmbackups/backups"
i=0
for role in "${!EXPECT[@]}"; do
    i=$((i + 1))
    P=$(printf 'cccccccc-0000-4000-8000-%012d' $i)
    TP=$(tok "$P")
    dp "$T_ADMIN" PUT "/providers/Microsoft.Authorization/roleAssignments/$(uuid)?api-version=$V" \
        "{\"properties\":{\"roleDefinitionId\":\"Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/$role\",\"principalId\":\"$P\"}}"
    dp "$T_ADMIN" DELETE "/keys/m$i?api-version=$V" >/dev/null
    got=""
    dp "$TP" GET "/keys/cmk?api-version=$V"; got="$got $STATUS"
    dp "$TP" POST "/keys/m$i/create?api-version=$V" '{"kty":"EC-HSM"}'; got="$got $STATUS"
    dp "$TP" POST "/keys/cmk/backup?api-version=$V"; got="$got $STATUS"
    dp "$TP" POST "/keys/restore?api-version=$V" "{\"value\":\"$KBLOB\"}"; got="$got $STATUS"
    dp "$T_ADMIN" POST "/keys/d$i/create?api-version=$V" '{"kty":"EC-HSM"}'
    dp "$TP" DELETE "/keys/d$i?api-version=$V"; got="$got $STATUS"
    dp "$TP" GET "/providers/Microsoft.Authorization/roleAssignments?api-version=$V"; got="$got $STATUS"
    dp "$TP" PUT "/providers/Microsoft.Authorization/roleDefinitions/$(uuid)?api-version=$V" \
        '{"properties":{"roleName":"r","permissions":[{"dataActions":["Microsoft.KeyVault/managedHsm/rng/action"]}]}}'
    got="$got $STATUS"
    dp "$TP" POST "/backup?api-version=$V" "{\"storageResourceUri\":\"$CONTAINER_URI\",\"token\":\"sv=2022-11-02&sig=x\"}"
    got="$got $STATUS"
    dp "$TP" GET "/deletedkeys?api-version=$V"; got="$got $STATUS"
    check "matrix $role" eq "${got# }" "${EXPECT[$role]}"
done
check "403 body for a denied role" eq "$(dp "$(tok cccccccc-0000-4000-8000-000000000099)" GET "/keys/cmk?api-version=$V"; jq_ "$BODY_OUT" error.code)" "AccessDenied"

# ---- full HSM backup / restore ----
dp "$T_ADMIN" POST "/backup?api-version=$V" "{\"storageResourceUri\":\"$CONTAINER_URI\"}"
check "backup needs token or MI" eq "$STATUS" 400
dp "$T_ADMIN" POST "/backup?api-version=$V" "{\"storageResourceUri\":\"$BLOB/mhsmbackups/nope\",\"token\":\"sv=x\"}"
check "backup to a missing container" eq "$STATUS" 400
dp "$T_ADMIN" POST "/backup?api-version=$V" "{\"storageResourceUri\":\"$CONTAINER_URI\",\"token\":\"sv=2022-11-02&sig=x\"}"
check "full backup 202" eq "$STATUS" 202
PENDING=$(header Azure-AsyncOperation)
check "pending url" contains "$PENDING" "https://$HSMNAME.managedhsm.localhost:$PORT/backup/"
JOB=$(jq_ "$BODY_OUT" jobId)
for _ in $(seq 1 50); do
    dp "$T_ADMIN" GET "/backup/$JOB/pending?api-version=$V"
    [ "$(jq_ "$BODY_OUT" status)" != "InProgress" ] && break
    sleep 0.1
done
check "backup succeeded" eq "$(jq_ "$BODY_OUT" status)" "Succeeded"
FOLDER_URI=$(jq_ "$BODY_OUT" azureStorageBlobContainerUri)
FOLDER=${FOLDER_URI##*/}
check "folder name" eq "${FOLDER:0:16}" "mhsm-$HSMNAME-"
arm PUT "/subscriptions/$SUB/resourceGroups/$RG/providers/Microsoft.Storage/storageAccounts/mhsmbackups/providers/Microsoft.Authorization/roleAssignments/$(uuid)?api-version=2022-04-01" \
    "{\"properties\":{\"roleDefinitionId\":\"/subscriptions/$SUB/providers/Microsoft.Authorization/roleDefinitions/2a2b9908-6ea1-4ae2-8e65-a410df84e7d1\",\"principalId\":\"$ADMIN\"}}"
code=$(curl -sS $(ca_opt) -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $T_ADMIN" -H "x-ms-version: 2023-11-03" \
    "$CONTAINER_URI/$FOLDER/mhsm-backup.blob")
check "backup blob exists in the store" eq "$code" 200
dp "$T_ADMIN" DELETE "/keys/cmk?api-version=$V"
dp "$T_ADMIN" DELETE "/deletedkeys/cmk?api-version=$V"
dp "$T_ADMIN" GET "/keys/cmk?api-version=$V"
check "key gone before restore" eq "$STATUS" 404
dp "$T_ADMIN" PUT "/restore?api-version=$V" \
    "{\"sasTokenParameters\":{\"storageResourceUri\":\"$CONTAINER_URI\",\"token\":\"sv=x\"},\"folderToRestore\":\"$FOLDER\"}"
check "restore 202" eq "$STATUS" 202
RJOB=$(jq_ "$BODY_OUT" jobId)
for _ in $(seq 1 50); do
    dp "$T_ADMIN" GET "/restore/$RJOB/pending?api-version=$V"
    [ "$(jq_ "$BODY_OUT" status)" != "InProgress" ] && break
    sleep 0.1
done
check "restore succeeded" eq "$(jq_ "$BODY_OUT" status)" "Succeeded"
dp "$T_ADMIN" GET "/keys/cmk?api-version=$V"
check "key back after full restore" eq "$(jq_ "$BODY_OUT" key.n)" "$(TOKEN=$T_ADMIN arm GET "/mhsm/contosohsm2/keys/cmk?api-version=$V"; jq_ "$BODY_OUT" key.n)"
dp "$T_ADMIN" PUT "/restore?api-version=$V" \
    "{\"sasTokenParameters\":{\"storageResourceUri\":\"$CONTAINER_URI\",\"token\":\"sv=x\"},\"folderToRestore\":\"mhsm-none-20000101000000\"}"
RJOB=$(jq_ "$BODY_OUT" jobId)
for _ in $(seq 1 50); do
    dp "$T_ADMIN" GET "/restore/$RJOB/pending?api-version=$V"
    [ "$(jq_ "$BODY_OUT" status)" != "InProgress" ] && break
    sleep 0.1
done
check "restore of a missing folder fails" eq "$(jq_ "$BODY_OUT" status)" "Failed"

# ---- delete ----
arm DELETE "/subscriptions/$SUB/resourceGroups/$RG/providers/Microsoft.KeyVault/managedHSMs/ContosoHSM2?api-version=$KV_V"
check "delete HSM 202" eq "$STATUS" 202
arm GET "$(header Location)"
check "delete done" eq "$(jq_ "$BODY_OUT" status)" "Succeeded"
TOKEN=$T_ADMIN arm GET "/mhsm/contosohsm2/keys/cmk?api-version=$V"
check "data plane gone" eq "$STATUS" 404

finish

# cloudhsm_lib.sh - helpers for the Cloud HSM end-to-end tests (sourced after lib.sh).
#
# They drive only public surfaces: ARM (resource groups, identities, storage, role
# assignments, clusters) and the HSM data plane at {ARM}/hsm/{label}.

HSM_V=${HSM_V:-2025-03-31}
STORAGE_V=2023-05-01
MSI_V=2023-01-31
AUTHZ_V=2022-04-01
RG_V=2021-04-01
BLOB_CONTRIBUTOR=ba92f5b4-2d11-453d-a403-e96b0029c9fe
BLOB_READER=2a2b9908-6ea1-4ae2-8e65-a410df84e7d1
CONTRACT="${CHSM_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/contract"

rg_path() { echo "/subscriptions/$SUB/resourceGroups/$1"; }
cluster_path() { echo "$(rg_path "$1")/providers/Microsoft.HardwareSecurityModules/cloudHsmClusters/$2"; }

# must CMD...: a setup step that has to work; stops the test with context when it does not.
must() {
    if ! "$@"; then
        echo "SETUP FAILED: $* (status=${STATUS:-} body=${BODY_OUT:-})"
        FAILS=$((FAILS + 1))
        finish
    fi
}

# fails CMD...: succeeds when CMD fails (for checks that something is rejected).
fails() { ! "$@"; }

ok_status() { case "$STATUS" in 200 | 201 | 202) return 0 ;; *) return 1 ;; esac; }

create_rg() {
    arm PUT "$(rg_path "$1")?api-version=$RG_V" '{"location":"uksouth"}'
    ok_status
}

# create_identity RG NAME: sets MSI_ID (lowercase resourcegroups, as the tutorial pastes it)
# and MSI_PRINCIPAL.
create_identity() {
    arm PUT "$(rg_path "$1")/providers/Microsoft.ManagedIdentity/userAssignedIdentities/$2?api-version=$MSI_V" \
        '{"location":"uksouth"}'
    ok_status || return 1
    MSI_ID="/subscriptions/$SUB/resourcegroups/$1/providers/Microsoft.ManagedIdentity/userAssignedIdentities/$2"
    MSI_PRINCIPAL=$(jq_ "$BODY_OUT" properties.principalId)
    [ -n "$MSI_PRINCIPAL" ]
}

# create_cluster RG NAME [IDENTITY_ID] [API]: the tutorial's PUT (PascalCase keys).
create_cluster() {
    local ident=""
    if [ -n "${3:-}" ]; then
        ident=",\"Identity\":{\"type\":\"UserAssigned\",\"userAssignedIdentities\":{\"$3\":{}}}"
    fi
    arm PUT "$(cluster_path "$1" "$2")?api-version=${4:-$HSM_V}" \
        "{\"Sku\":{\"Family\":\"B\",\"Name\":\"Standard_B1\"},\"Location\":\"uksouth\"$ident}"
    ok_status
}

# create_storage RG ACCOUNT CONTAINER: account and container through ARM; sets ACCOUNT_ID.
create_storage() {
    local acct="$(rg_path "$1")/providers/Microsoft.Storage/storageAccounts/$2"
    arm PUT "$acct?api-version=$STORAGE_V" \
        '{"sku":{"name":"Standard_LRS"},"kind":"StorageV2","location":"uksouth","properties":{"allowSharedKeyAccess":false}}'
    ok_status || return 1
    for _ in $(seq 1 50); do
        arm GET "$acct?api-version=$STORAGE_V"
        [ "$(jq_ "$BODY_OUT" properties.provisioningState)" = "Succeeded" ] && break
        sleep 0.1
    done
    ACCOUNT_ID="$acct"
    arm PUT "$acct/blobServices/default/containers/$3?api-version=$STORAGE_V" '{"properties":{}}'
    ok_status
}

# assign_role SCOPE PRINCIPAL ROLE_GUID
assign_role() {
    local name
    name=$(python3 -c 'import uuid; print(uuid.uuid4())')
    arm PUT "$1/providers/Microsoft.Authorization/roleAssignments/$name?api-version=$AUTHZ_V" \
        "{\"properties\":{\"roleDefinitionId\":\"/subscriptions/$SUB/providers/Microsoft.Authorization/roleDefinitions/$3\",\"principalId\":\"$2\",\"principalType\":\"ServicePrincipal\"}}"
    ok_status
}

# hsm_url RG NAME: sets HSM to the cluster's data-plane base URL (from properties.hsms[0].fqdn).
hsm_url() {
    arm GET "$(cluster_path "$1" "$2")?api-version=$HSM_V"
    local fqdn label
    fqdn=$(jq_ "$BODY_OUT" properties.hsms.0.fqdn)
    label=$(echo "$fqdn" | cut -d. -f2)
    HSM="$ARM/hsm/$label"
    [ -n "$label" ]
}

# dp METHOD URL [BODY]: one data-plane call with $SESSION (if set); sets DP_STATUS, DP_BODY.
dp() {
    local method=$1 url=$2 body=${3-}
    local args=(-sS -X "$method" $(ca_opt) -o "$E2E_TMP/dpbody" -w '%{http_code}')
    if [ -n "${SESSION:-}" ]; then args+=(-H "Authorization: HSM-Session $SESSION"); fi
    if [ -n "$body" ]; then args+=(-H 'Content-Type: application/json' --data-binary "$body"); fi
    DP_STATUS=$(curl "${args[@]}" "$url")
    DP_BODY=$(cat "$E2E_TMP/dpbody")
}

# login TYPE USER PASSWORD: sets SESSION on success.
login() {
    SESSION=""
    dp POST "$HSM/login" "{\"userType\":\"$1\",\"username\":\"$2\",\"password\":\"$3\"}"
    [ "$DP_STATUS" = 200 ] || return 1
    SESSION=$(jq_ "$DP_BODY" session)
}

# activate_with_cu: PRECO admin -> CO (password adminpass1), then a CU cu1/user1234 logged in.
activate_with_cu() {
    login PRECO admin tenantadmin || return 1
    dp POST "$HSM/activate" '{"newPassword":"adminpass1"}'
    [ "$DP_STATUS" = 200 ] || return 1
    dp POST "$HSM/users" '{"userType":"CU","username":"cu1","password":"user1234"}'
    [ "$DP_STATUS" = 201 ] || return 1
    login CU cu1 user1234
}

# contract METHOD PATH SPEC_VERSION: validates BODY_OUT/STATUS of the last arm() call.
contract() {
    local spec
    case "$3" in
    2025-03-31) spec="$CONTRACT/specs/hardwaresecuritymodules/2025-03-31/openapi.json" ;;
    *) spec="$CONTRACT/specs/hardwaresecuritymodules/2024-06-30-preview/cloudhsm.json" ;;
    esac
    printf '%s' "$BODY_OUT" | python3 "$CONTRACT/validate.py" "$spec" "$1" "$2" "$STATUS"
}

# job_status: GET of the last Location header; sets STATUS/BODY_OUT and JOB (properties.status).
follow_location() {
    local loc
    loc=$(header Location)
    arm GET "$loc"
    JOB=$(jq_ "$BODY_OUT" properties.status)
    JOB_ERROR=$(jq_ "$BODY_OUT" properties.error.code)
}

# backup_blob_get ACCOUNT_ID CONTAINER BACKUP_ID FILE: downloads the blob a backup wrote (the
# one whose name holds BACKUP_ID) into FILE through the Blob REST API; sets BACKUP_BLOB to its
# name. Tests never read the data dir's files: where a blob's bytes live (a file, or the
# database for small ones) is the store's business. The tutorial's accounts refuse Shared Key,
# so the test's own caller (the emulator's default principal for an opaque token) is given
# Storage Blob Data Contributor on the account and sends its bearer token.
CALLER_OID=00000000-0000-0000-0000-00000000c0de
backup_blob_get() {
    local account_id=$1 container=$2 bid=$3 file=$4 account=${1##*/} br
    br="$(dirname "${BASH_SOURCE[0]}")/blobreq.py"
    assign_role "$account_id" "$CALLER_OID" $BLOB_CONTRIBUTOR || return 1
    [ "$(python3 "$br" GET "$BLOB/$account/$container?restype=container&comp=list" \
        --bearer "$TOKEN" $(ca_opt) --body-out "$E2E_TMP/list.xml")" = 200 ] || return 1
    BACKUP_BLOB=$(python3 - "$E2E_TMP/list.xml" "$bid" <<'PY'
import sys, xml.etree.ElementTree as ET
for n in ET.parse(sys.argv[1]).getroot().iter("Name"):
    if sys.argv[2] in (n.text or ""):
        print(n.text)
        break
PY
)
    [ -n "$BACKUP_BLOB" ] || return 1
    [ "$(python3 "$br" GET "$BLOB/$account/$container/$BACKUP_BLOB" --bearer "$TOKEN" \
        $(ca_opt) --body-out "$file")" = 200 ]
}

# backup_blob_put ACCOUNT_ID CONTAINER FILE: overwrites the blob backup_blob_get found.
backup_blob_put() {
    local account=${1##*/} container=$2 file=$3 br
    br="$(dirname "${BASH_SOURCE[0]}")/blobreq.py"
    [ "$(python3 "$br" PUT "$BLOB/$account/$container/$BACKUP_BLOB" --bearer "$TOKEN" \
        $(ca_opt) -H 'x-ms-blob-type: BlockBlob' --data-file "$file" \
        --body-out "$E2E_TMP/put.out")" = 201 ]
}

#!/usr/bin/env bash
# test_client_az.sh - the Azure CLI (Debian's azure-cli 2.45) against the
# emulator with configuration only: a custom cloud registered both ways,
# service-principal and managed-identity logins, groups, identities, storage,
# role assignments and the Cloud HSM calls through az rest, blobs with
# --auth-mode login, a key and a connection string.
. "$(dirname "$0")/lib.sh"
command -v az >/dev/null || { echo "az is not installed (scripts/test.sh installs azure-cli)"; exit 1; }

# --strict-auth: az's tokens (audience: the cloud's ARM URL) are verified.
start_emulator --strict-auth
export AZURE_CONFIG_DIR=$E2E_TMP/az AZURE_CORE_COLLECT_TELEMETRY=0 AZURE_CORE_NO_COLOR=1
export AZURE_CORE_ONLY_SHOW_ERRORS=1
# The CLI's requests honour REQUESTS_CA_BUNDLE (which replaces the default
# bundle); its cloud-metadata fetch uses urllib, which reads SSL_CERT_FILE.
export REQUESTS_CA_BUNDLE=$CA SSL_CERT_FILE=$CA
unset ARM_CLOUD_METADATA_URL MSI_ENDPOINT MSI_SECRET IDENTITY_ENDPOINT IDENTITY_HEADER
TENANT=72f988bf-86f1-41af-91ab-2d7cd011db47
DEFSUB=00000000-0000-0000-0000-000000000001
# The service principal's id is a GUID: its token's oid is this id, so a role
# assignment can name it (az storage --auth-mode login needs a data role).
SP_ID=5c1e7a10-0c1e-4c1e-8c1e-00000000a2c1
azq() { timeout 120 az "$@" 2>"$E2E_TMP/az.err"; }
ok() { # ok NAME CMD...: the az command succeeds
    local name=$1
    shift
    if OUT=$(azq "$@"); then PASSES=$((PASSES + 1)); else
        FAILS=$((FAILS + 1))
        echo "FAIL: $name: az $*"
        tail -5 "$E2E_TMP/az.err"
    fi
}

# --- the cloud, registered from the ARM endpoint (single-cloud metadata) ---
ok "cloud register" cloud register -n Emulator --endpoint-resource-manager "$ARM"
ok "cloud set" cloud set -n Emulator
ok "service principal login" login --service-principal -u "$SP_ID" -p secret --tenant "$TENANT" -o json
check "login finds the default subscription" eq "$(jq_ "$OUT" 0.id)" "$DEFSUB"
ok "account show" account show -o json
check "tenant from the subscription list" eq "$(jq_ "$OUT" tenantId)" "$TENANT"

# --- resource group, identity ---
ok "group create" group create -n az-rg -l westeurope -o json
check "group id" eq "$(jq_ "$OUT" id)" "/subscriptions/$DEFSUB/resourceGroups/az-rg"
ok "identity create" identity create -g az-rg -n az-id -o json
PRINCIPAL=$(jq_ "$OUT" principalId)
IDENTITY_ID=$(jq_ "$OUT" id)
check "identity has a principal id" test -n "$PRINCIPAL"
ok "identity show" identity show -g az-rg -n az-id -o json
check "identity show is stable" eq "$(jq_ "$OUT" principalId)" "$PRINCIPAL"

# --- storage account and keys ---
ACCT=azdr$(python3 -c 'import uuid; print(uuid.uuid4().hex[:12])')
ok "storage account create" storage account create -g az-rg -n "$ACCT" -l westeurope --sku Standard_LRS -o json
ACCT_ID=$(jq_ "$OUT" id)
BLOB_EP=$(jq_ "$OUT" primaryEndpoints.blob)
check "primaryEndpoints.blob is the emulator's blob endpoint" eq "$BLOB_EP" "$BLOB/$ACCT/"
ok "storage account keys list" storage account keys list -g az-rg -n "$ACCT" -o json
KEY=$(jq_ "$OUT" 0.value)
check "two keys" test -n "$KEY" -a -n "$(jq_ "$OUT" 1.value)"
CS="DefaultEndpointsProtocol=https;AccountName=$ACCT;AccountKey=$KEY;BlobEndpoint=$BLOB/$ACCT"

# --- role assignments through az rest (az role assignment create is broken in 2.45) ---
assign() { # assign PRINCIPAL SCOPE: Storage Blob Data Contributor
    local ra
    ra=$(python3 -c 'import uuid; print(uuid.uuid4())')
    ok "role assignment for $1" rest --method put \
        --url "$ARM$2/providers/Microsoft.Authorization/roleAssignments/$ra?api-version=2022-04-01" \
        --body "{\"properties\":{\"roleDefinitionId\":\"/subscriptions/$DEFSUB/providers/Microsoft.Authorization/roleDefinitions/ba92f5b4-2d11-453d-a403-e96b0029c9fe\",\"principalId\":\"$1\",\"principalType\":\"ServicePrincipal\"}}" -o json
    check "role assignment names $1" eq "$(jq_ "$OUT" properties.principalId)" "$1"
}
assign "$PRINCIPAL" "$ACCT_ID"
assign "$SP_ID" "$ACCT_ID"

# --- container (login) and blobs: --auth-mode login, a key, a connection string ---
# The registered cloud has no storage suffix, so the blob endpoint is given
# explicitly (--blob-endpoint, or BlobEndpoint= in the connection string).
ok "container create --auth-mode login" storage container create -n azbackups --account-name "$ACCT" \
    --auth-mode login --blob-endpoint "$BLOB_EP" -o json
check "container created" eq "$(jq_ "$OUT" created)" True
printf 'written by az storage blob upload\n' >"$E2E_TMP/hello.txt"
ok "blob upload --auth-mode key" storage blob upload -c azbackups -n notes/hello.txt -f "$E2E_TMP/hello.txt" \
    --account-name "$ACCT" --account-key "$KEY" --blob-endpoint "$BLOB_EP" -o none

# --- Cloud HSM through az rest: two clusters with the identity, activation, backup, restore ---
R=/subscriptions/$DEFSUB/resourceGroups/az-rg/providers/Microsoft.HardwareSecurityModules/cloudHsmClusters
HV=2025-03-31
for n in az-src az-dst; do
    ok "cluster PUT $n" rest --method put --url "$ARM$R/$n?api-version=$HV" \
        --body "{\"location\":\"westeurope\",\"sku\":{\"family\":\"B\",\"name\":\"Standard_B1\"},\"identity\":{\"type\":\"UserAssigned\",\"userAssignedIdentities\":{\"$IDENTITY_ID\":{}}}}" -o json
    check "cluster $n names the identity's principal" contains "$OUT" "$PRINCIPAL"
done
ok "cluster GET" rest --method get --url "$ARM$R/az-src?api-version=$HV" -o json
check "source provisioned" eq "$(jq_ "$OUT" properties.provisioningState)" Succeeded
LABEL=$(jq_ "$OUT" properties.hsms.0.fqdn | cut -d. -f2)
check "source has an HSM label" test -n "$LABEL"
ok "HSM login as PRECO admin" rest --method post --skip-authorization-header --url "$ARM/hsm/$LABEL/login" \
    --body '{"userType":"PRECO","username":"admin","password":"tenantadmin"}' -o json
SESSION=$(jq_ "$OUT" session)
ok "HSM activate" rest --method post --skip-authorization-header --headers "Authorization=HSM-Session $SESSION" \
    --url "$ARM/hsm/$LABEL/activate" --body '{"newPassword":"Az-Dr-Passw0rd"}' -o json
check "activated" eq "$(jq_ "$OUT" activationState)" Active

# rest_job NAME URL BODY: POSTs with az rest --verbose (which logs the response
# headers: az rest prints only the body, and a 202 has none), then GETs the
# Location until the job reports its status. Sets JOB to the status body.
rest_job() {
    JOB=""
    ok "$1 (202)" rest --verbose --method post --url "$2" --body "$3"
    local loc
    loc=$(sed -n "s/.*'Location': '\(.*\)'.*/\1/p" "$E2E_TMP/az.err" | head -1)
    check "$1 Location is on the emulator" contains "$loc" "$ARM/"
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        [ -n "$loc" ] || break
        if OUT=$(azq rest --method get --url "$loc" -o json) && [ -n "$(jq_ "$OUT" properties.status)" ]; then
            JOB=$OUT
            break
        fi
        sleep 1
    done
    check "$1 status Succeeded" eq "$(jq_ "$JOB" properties.status)" Succeeded
}
CONTAINER_URI=${BLOB_EP}azbackups
rest_job "backup" "$ARM$R/az-src/backup?api-version=$HV" "{\"azureStorageBlobContainerUri\":\"$CONTAINER_URI\"}"
BACKUP_ID=$(jq_ "$JOB" properties.backupId)
check "backup id" contains "$BACKUP_ID" cloudhsm-
rest_job "restore" "$ARM$R/az-dst/restore?api-version=$HV" \
    "{\"azureStorageBlobContainerUri\":\"$CONTAINER_URI\",\"backupId\":\"$BACKUP_ID\"}"
ok "destination GET" rest --method get --url "$ARM$R/az-dst?api-version=$HV" -o json
check "destination Active" eq "$(jq_ "$OUT" properties.activationState)" Active
# az resource invoke-action follows the Location itself (ARMPolling) and prints the result.
ok "invoke-action validateBackupProperties" resource invoke-action --action validateBackupProperties \
    --ids "$R/az-src" --api-version "$HV" --request-body "{\"azureStorageBlobContainerUri\":\"$CONTAINER_URI\"}" -o json
check "invoke-action polled to the result" eq "$(jq_ "$OUT" properties.status)" Succeeded

# --- list and download with each auth mode; the backup is one of the blobs ---
for mode in login key connection-string; do
    case $mode in
        login) auth=(--account-name "$ACCT" --auth-mode login --blob-endpoint "$BLOB_EP") ;;
        key) auth=(--account-name "$ACCT" --auth-mode key --account-key "$KEY" --blob-endpoint "$BLOB_EP") ;;
        connection-string) auth=(--connection-string "$CS") ;;
    esac
    ok "blob list ($mode)" storage blob list -c azbackups "${auth[@]}" --query '[].name' -o tsv
    check "list ($mode) shows the upload" contains "$OUT" notes/hello.txt
    check "list ($mode) shows the backup" contains "$OUT" "$BACKUP_ID"
    rm -f "$E2E_TMP/down.txt"
    ok "blob download ($mode)" storage blob download -c azbackups -n notes/hello.txt -f "$E2E_TMP/down.txt" \
        "${auth[@]}" -o none
    check "download ($mode) is the upload" cmp -s "$E2E_TMP/hello.txt" "$E2E_TMP/down.txt"
done
ok "blob delete (connection string)" storage blob delete -c azbackups -n notes/hello.txt --connection-string "$CS"
ok "blob list after delete" storage blob list -c azbackups --connection-string "$CS" --query '[].name' -o tsv
check "deleted blob is gone" eval '! contains "$OUT" notes/hello.txt'

# --- the same cloud from ARM_CLOUD_METADATA_URL (list form), with a managed identity login ---
ALT=$E2E_TMP/az-alt
mkdir -p "$ALT"
(
    export AZURE_CONFIG_DIR=$ALT ARM_CLOUD_METADATA_URL="$ARM/metadata/endpoints?api-version=2022-09-01"
    azq cloud set -n Emulator && MSI_ENDPOINT="$ARM/msi/token" azq login --identity -o json
) >"$E2E_TMP/alt.json" && ALT_OK=yes || ALT_OK=no
check "ARM_CLOUD_METADATA_URL cloud + managed identity login" eq "$ALT_OK" yes
check "managed identity login finds the subscription" contains "$(cat "$E2E_TMP/alt.json")" "$DEFSUB"

finish

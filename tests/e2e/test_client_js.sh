#!/usr/bin/env bash
# test_client_js.sh - the official Azure SDK packages for JavaScript (npm,
# pinned in tests/clients/node/package-lock.json) run the DR scenario and the
# Blob operations against the emulator with configuration only:
# tests/clients/node/dr.test.mjs under node's own test runner.
. "$(dirname "$0")/lib.sh"
NODE_DIR=$(cd "$(dirname "$0")/../clients/node" && pwd)
command -v node >/dev/null || { echo "node is not installed (scripts/test.sh installs nodejs)"; exit 1; }
# The pinned packages (see tests/clients/node/package.json) need Node 20 or later.
NODE_MAJOR=$(node -p 'process.versions.node.split(".")[0]')
[ "$NODE_MAJOR" -ge 20 ] || { echo "FAIL: node $(node --version) is too old: the pinned @azure packages need Node >= 20"; exit 1; }
if [ ! -d "$NODE_DIR/node_modules/@azure/arm-storage" ] || [ ! -d "$NODE_DIR/node_modules/@azure/identity" ]; then
    command -v npm >/dev/null || { echo "npm is not installed (scripts/test.sh installs npm)"; exit 1; }
    (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error)
fi

# Operations take a little time, so the pollers really poll (202, then 200).
start_emulator --op-duration 'provision=300ms,backup=400ms,restore=400ms'
# The machine may point these at the system bundle: the emulator's CA must be
# the one trusted (Node adds NODE_EXTRA_CA_CERTS to its built-in roots).
export NODE_EXTRA_CA_CERTS=$CA
unset SSL_CERT_FILE REQUESTS_CA_BUNDLE MSI_ENDPOINT MSI_SECRET AZURE_CLIENT_ID AZURE_TENANT_ID
export IDENTITY_ENDPOINT=$ARM/msi/token IDENTITY_HEADER=emulator-identity-header
export SUB TENANT=72f988bf-86f1-41af-91ab-2d7cd011db47 ARM BLOB

# node --test prints TAP with its own "# pass N" / "# fail N" summary.
if (cd "$NODE_DIR" && timeout 300 node --test --test-reporter=spec dr.test.mjs) >"$E2E_TMP/node.out" 2>&1; then
    NODE_RC=0
else
    NODE_RC=$?
fi
cat "$E2E_TMP/node.out"
NODE_PASS=$(awk '/^ℹ pass /{print $3}' "$E2E_TMP/node.out" | tail -1)
NODE_FAIL=$(awk '/^ℹ fail /{print $3}' "$E2E_TMP/node.out" | tail -1)
PASSES=$((PASSES + ${NODE_PASS:-0}))
FAILS=$((FAILS + ${NODE_FAIL:-0}))
check "node --test exited 0" eq "$NODE_RC" 0
check "node --test ran the steps" test "${NODE_PASS:-0}" -gt 0
finish

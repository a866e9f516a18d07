#!/usr/bin/env bash
# test_cvm_backup_js.sh - the official Azure SDK packages for JavaScript (npm,
# pinned in tests/clients/node/package-lock.json: @azure/keyvault-keys and
# @azure/arm-recoveryservicesbackup) drive the confidential VM backup scenario
# against the cvm-cmk fixture: tests/clients/node/cvm_backup.test.mjs under
# node's own test runner.
. "$(dirname "$0")/lib.sh"
NODE_DIR=$(cd "$(dirname "$0")/../clients/node" && pwd)
command -v node >/dev/null || { echo "node is not installed (scripts/test.sh installs nodejs)"; exit 1; }
NODE_MAJOR=$(node -p 'process.versions.node.split(".")[0]')
[ "$NODE_MAJOR" -ge 20 ] || { echo "FAIL: node $(node --version) is too old: the pinned @azure packages need Node >= 20"; exit 1; }
if [ ! -d "$NODE_DIR/node_modules/@azure/arm-recoveryservicesbackup" ] || [ ! -d "$NODE_DIR/node_modules/@azure/keyvault-keys" ]; then
    command -v npm >/dev/null || { echo "npm is not installed (scripts/test.sh installs npm)"; exit 1; }
    (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error)
fi

SUB=00000000-0000-0000-0000-000000000001
# Protection and backups take a little time, so the status is really polled.
start_emulator --fixture cvm-cmk --op-duration 'backup/protect=200ms,backup/backupNow=200ms,backup/restore=200ms'
export NODE_EXTRA_CA_CERTS=$CA
unset SSL_CERT_FILE REQUESTS_CA_BUNDLE AZURE_CLIENT_ID AZURE_TENANT_ID
export SUB ARM TENANT=72f988bf-86f1-41af-91ab-2d7cd011db47

if (cd "$NODE_DIR" && timeout 300 node --test --test-reporter=spec cvm_backup.test.mjs) >"$E2E_TMP/node.out" 2>&1; then
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

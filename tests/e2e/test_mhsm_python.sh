#!/usr/bin/env bash
# test_mhsm_python.sh - the Azure SDK for Python from Debian (python3-azure:
# azure-keyvault-keys, azure-keyvault-administration, azure-mgmt-
# recoveryservicesbackup) against the Managed HSM data plane (by host name)
# and Azure Backup, from the cvm-cmk fixture: tests/clients/python/test_mhsm_sdk.py.
. "$(dirname "$0")/lib.sh"
PY_DIR=$(cd "$(dirname "$0")/../clients/python" && pwd)
PY=/usr/bin/python3
"$PY" -c 'import azure.identity, azure.keyvault.keys, azure.keyvault.administration, azure.mgmt.recoveryservicesbackup' 2>/dev/null ||
    { echo "python3-azure is not installed (scripts/test.sh installs it)"; exit 1; }
SUB=00000000-0000-0000-0000-000000000001
# Not --strict-auth: fixtures replay their steps with an unsigned token (control/fixtures.c).
start_emulator --fixture cvm-cmk
export REQUESTS_CA_BUNDLE=$CA SSL_CERT_FILE=$CA
unset AZURE_CLIENT_ID AZURE_TENANT_ID AZURE_AUTHORITY_HOST
export SUB TENANT=72f988bf-86f1-41af-91ab-2d7cd011db47 ARM
if timeout 300 "$PY" "$PY_DIR/test_mhsm_sdk.py" >"$E2E_TMP/py.out" 2>&1; then PY_RC=0; else PY_RC=$?; fi
cat "$E2E_TMP/py.out"
PY_PASS=$(sed -n 's/^test_mhsm_sdk: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$E2E_TMP/py.out")
PY_FAIL=$(sed -n 's/^test_mhsm_sdk: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$E2E_TMP/py.out")
PASSES=$((PASSES + ${PY_PASS:-0}))
FAILS=$((FAILS + ${PY_FAIL:-0}))
check "test_mhsm_sdk.py exited 0" eq "$PY_RC" 0
finish

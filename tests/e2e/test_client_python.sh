#!/usr/bin/env bash
# test_client_python.sh - the Azure SDK for Python as Debian packages it
# (python3-azure; azure-identity, azure-mgmt-*, azure-storage-blob) runs the
# DR scenario and the Blob operations against the emulator with configuration
# only: tests/clients/python/test_sdk.py (unittest).
. "$(dirname "$0")/lib.sh"
PY_DIR=$(cd "$(dirname "$0")/../clients/python" && pwd)
# Debian's packages live in Debian's interpreter, whatever python3 is first on PATH.
PY=/usr/bin/python3
"$PY" -c 'import azure.identity, azure.mgmt.storage, azure.storage.blob' 2>/dev/null ||
    { echo "python3-azure is not installed (scripts/test.sh installs it)"; exit 1; }

# Operations take a little time, so the pollers really poll (202, then 200);
# --strict-auth: every token must be one the emulator signed, for an audience
# it serves (the SDKs ask for "{ARM URL}/.default").
start_emulator --strict-auth --op-duration 'provision=300ms,backup=400ms,restore=400ms'
# requests (the SDK's transport) reads REQUESTS_CA_BUNDLE, which replaces the
# default bundle; urllib/ssl read SSL_CERT_FILE.
export REQUESTS_CA_BUNDLE=$CA SSL_CERT_FILE=$CA
unset NODE_EXTRA_CA_CERTS MSI_ENDPOINT MSI_SECRET AZURE_CLIENT_ID AZURE_TENANT_ID AZURE_AUTHORITY_HOST
export IDENTITY_ENDPOINT=$ARM/msi/token IDENTITY_HEADER=emulator-identity-header
export SUB TENANT=72f988bf-86f1-41af-91ab-2d7cd011db47 ARM BLOB CHSM_STRICT_AUTH=1

if timeout 300 "$PY" "$PY_DIR/test_sdk.py" >"$E2E_TMP/py.out" 2>&1; then PY_RC=0; else PY_RC=$?; fi
cat "$E2E_TMP/py.out"
PY_PASS=$(sed -n 's/^test_sdk: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$E2E_TMP/py.out")
PY_FAIL=$(sed -n 's/^test_sdk: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$E2E_TMP/py.out")
PASSES=$((PASSES + ${PY_PASS:-0}))
FAILS=$((FAILS + ${PY_FAIL:-0}))
check "test_sdk.py exited 0" eq "$PY_RC" 0
check "test_sdk.py ran its steps" test "${PY_PASS:-0}" -gt 0
finish

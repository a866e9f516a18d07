#!/usr/bin/env bash
# test_hsm_limits.sh - the key-handle limit of a simulated cluster: the
# service's 3,200 by default, --hsm-max-keys for load tests.
. "$(dirname "$0")/lib.sh"

if "$CHSM_EMULATOR" --in-memory --listen 127.0.0.1:0 --hsm-max-keys 0 >"$E2E_TMP/bad.log" 2>&1; then
    check "--hsm-max-keys 0 refused" eq 0 1
else
    check "--hsm-max-keys 0 refused" contains "$(cat "$E2E_TMP/bad.log")" "hsm-max-keys"
fi

start_emulator --fixture tutorial-ready --hsm-max-keys 6
S=00000000-0000-0000-0000-000000000001
C=/subscriptions/$S/resourceGroups/dr-rg/providers/Microsoft.HardwareSecurityModules/cloudHsmClusters
V=api-version=2025-03-31
arm GET "$C/chsm-src?$V"
LABEL=$(jq_ "$BODY_OUT" properties.hsms.0.fqdn | cut -d. -f2)
arm POST "/hsm/$LABEL/login" '{"userType":"CU","username":"cu1","password":"user1234"}'
SESSION=$(jq_ "$BODY_OUT" session)
hsm() { # hsm METHOD PATH [BODY]
    local args=(-sS -X "$1" $(ca_opt) -o "$E2E_TMP/body" -w '%{http_code}' -H "Authorization: HSM-Session $SESSION")
    if [ -n "${3-}" ]; then args+=(-H 'Content-Type: application/json' --data-binary "$3"); fi
    STATUS=$(curl "${args[@]}" "$ARM/hsm/$LABEL$2")
    BODY_OUT=$(cat "$E2E_TMP/body")
}
hsm GET /keys
HAVE=$(printf '%s' "$BODY_OUT" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["keys"]))')
check "the fixture's keys are under the limit" test "$HAVE" -lt 6
for _ in $(seq "$HAVE" 5); do
    hsm POST /keys '{"type":"AES","size":256,"label":"fill"}'
done
check "keys up to the limit" eq "$STATUS" 201
hsm POST /keys '{"type":"AES","size":256,"label":"one-too-many"}'
check "one more is refused" eq "$STATUS" 400
check "the message names the limit" contains "$BODY_OUT" "at most 6 key handles"
# After a deletion the handle counter has passed the limit, so the keys are counted: one new
# key fits again, and the next is refused.
hsm GET /keys
H=$(printf '%s' "$BODY_OUT" | python3 -c 'import json,sys; print([k["handle"] for k in json.load(sys.stdin)["keys"] if k.get("label") == "fill"][0])')
hsm DELETE "/keys/$H"
check "a key deleted" eq "$STATUS" 200
hsm POST /keys '{"type":"AES","size":256,"label":"refill"}'
check "one key fits again after a deletion" eq "$STATUS" 201
hsm POST /keys '{"type":"AES","size":256,"label":"one-too-many"}'
check "and the next is refused" eq "$STATUS" 400
finish

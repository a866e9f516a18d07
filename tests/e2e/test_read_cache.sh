#!/usr/bin/env bash
# test_read_cache.sh - repeated GETs answered from the read cache never show
# stale state: after a write, a snapshot restore, a reset, a fault rule, or
# an operation that finishes on read when the clock moves, or a token that expires.
. "$(dirname "$0")/lib.sh"

start_emulator --fixture tutorial-ready
V=api-version=2025-03-31
S=00000000-0000-0000-0000-000000000001 # the fixture's subscription
C="/subscriptions/$S/resourceGroups/dr-rg/providers/Microsoft.HardwareSecurityModules/cloudHsmClusters/chsm-src"
ctl() { curl -sS -X "$1" $(ca_opt) -o /dev/null -w '%{http_code}' ${3:+-H 'Content-Type: application/json' --data-binary "$3"} "$ARM$2"; }

arm GET "$C?$V"
FIRST=$BODY_OUT
arm GET "$C?$V"
check "a repeated GET answers the same" eq "$BODY_OUT" "$FIRST"
check "each answer has its own request id" test -n "$(header x-ms-request-id)"
R1=$(header x-ms-request-id)
arm GET "$C?$V"
check "request ids differ between cached answers" test "$(header x-ms-request-id)" != "$R1"
check "client request id echoed on a cached answer" eq "$(curl -sS $(ca_opt) -D - -o /dev/null -H 'Authorization: Bearer x' -H 'x-ms-client-request-id: abc-123' "$ARM$C?$V" | tr -d '\r' | grep -i '^x-ms-client-request-id:' | sed 's/^[^:]*: //')" abc-123

# --- a write shows at once ---
arm PATCH "$C?$V" '{"tags":{"stage":"one"}}'
arm GET "$C?$V"
check "write visible" eq "$(jq_ "$BODY_OUT" tags.stage)" one

# --- snapshot restore goes back ---
check "snapshot saved" eq "$(ctl POST /_emulator/snapshots/one)" 201
arm PATCH "$C?$V" '{"tags":{"stage":"two"}}'
arm GET "$C?$V"
check "second write visible" eq "$(jq_ "$BODY_OUT" tags.stage)" two
check "snapshot restored" eq "$(ctl POST /_emulator/snapshots/one/restore)" 204
arm GET "$C?$V"
check "restore visible" eq "$(jq_ "$BODY_OUT" tags.stage)" one

# --- a fault rule changes the answer without a write, and its removal too ---
check "nodeDown armed" eq "$(ctl POST /_emulator/faults '{"id":"n2","resource":"*/cloudHsmClusters/chsm-src","action":{"type":"nodeDown","node":2}}')" 201
arm GET "$C?$V"
check "node down visible" eq "$(jq_ "$BODY_OUT" properties.hsms.1.state)" Failed
check "rule removed" eq "$(ctl DELETE /_emulator/faults/n2)" 204
arm GET "$C?$V"
check "node back" eq "$(jq_ "$BODY_OUT" properties.hsms.1.state)" Running

# --- an operation that becomes due with the clock finishes on the next GET ---
check "provisioning takes 30 s" eq "$(ctl POST /_emulator/timing '{"kind":"provision","durationMs":30000}')" 200
check "clock frozen" eq "$(ctl POST /_emulator/clock '{"now":"2031-01-01T00:00:00Z"}')" 200
NEW="/subscriptions/$S/resourceGroups/dr-rg/providers/Microsoft.HardwareSecurityModules/cloudHsmClusters/chsm-new"
arm PUT "$NEW?$V" '{"location":"uksouth","sku":{"family":"B","name":"Standard_B1"}}'
check "new cluster accepted" eq "$STATUS" 201
arm GET "$NEW?$V"
check "provisioning at first" eq "$(jq_ "$BODY_OUT" properties.provisioningState)" Provisioning
arm GET "$NEW?$V"
check "still provisioning" eq "$(jq_ "$BODY_OUT" properties.provisioningState)" Provisioning
ctl POST /_emulator/clock '{"advanceSeconds":31}' >/dev/null
arm GET "$NEW?$V"
check "done once due, not a stale copy" eq "$(jq_ "$BODY_OUT" properties.provisioningState)" Succeeded

# --- conditional GETs are not answered from memory ---
ETAG=$(jq_ "$FIRST" etag)
if [ -n "$ETAG" ]; then
    S=$(curl -sS $(ca_opt) -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer x' -H "If-None-Match: \"nope\"" "$ARM$C?$V")
    check "conditional GET answered" eq "$S" 200
fi

# --- reset empties what was cached ---
check "reset" eq "$(ctl POST /_emulator/reset)" 204
arm GET "$C?$V"
check "gone after reset" eq "$STATUS" 404

# --- strict auth: a cached answer never outlives the token that was checked for it ---
# Answers are looked up before routing and before the token check; the entry keeps the
# token's expiry, so once the (QA) clock passes it the token is checked again: 401.
stop_emulator
DATA=$E2E_TMP/strict start_emulator --strict-auth --fixture tutorial-ready
token_for() {
    curl -fsS $(ca_opt) -X POST "$ARM/$S/oauth2/v2.0/token" \
        -d "grant_type=client_credentials&client_id=$1&client_secret=x&scope=https%3A%2F%2Fmanagement.azure.com%2F.default" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}
TOK=$(token_for app-1)
ADMIN=$(token_for emulator-admin) # with --strict-auth the control surface wants this client
TOKEN=$TOK arm GET "$C?$V"
check "strict: token accepted" eq "$STATUS" 200
TOKEN=$TOK arm GET "$C?$V"
check "strict: repeated GET answered" eq "$STATUS" 200
TOKEN=${TOK}x arm GET "$C?$V"
check "strict: a tampered token is refused even though the path is cached" eq "$STATUS" 401
check "strict: clock moved past the token's expiry" eq "$(curl -sS -X POST $(ca_opt) -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' --data-binary '{"advanceSeconds":7200}' "$ARM/_emulator/clock")" 200
TOKEN=$TOK arm GET "$C?$V"
check "strict: expired token refused, not served from memory" eq "$STATUS" 401
check "strict: expiry code" eq "$(jq_ "$BODY_OUT" error.code)" ExpiredAuthenticationToken
finish

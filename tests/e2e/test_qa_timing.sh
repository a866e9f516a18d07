#!/usr/bin/env bash
# test_qa_timing.sh - operation durations and progress steps, from the
# command line and changed at runtime (/_emulator/timing), read through
# /_emulator/operations under a frozen clock so every step is exact.
. "$(dirname "$0")/lib.sh"

# A bad step count is refused at start with a message, not ignored.
if "$CHSM_EMULATOR" --in-memory --listen 127.0.0.1:0 --op-duration 'delete=2s:0' >"$E2E_TMP/bad.log" 2>&1; then
    check "bad --op-duration steps refused" eq 0 1
else
    check "bad --op-duration steps refused" contains "$(cat "$E2E_TMP/bad.log")" "op-duration"
fi

start_emulator --op-duration 'provision=0s,delete=20s:2'
V=api-version=2021-04-01
RG=/subscriptions/$SUB/resourcegroups
ctl() { # ctl METHOD PATH [BODY]
    local args=(-sS --path-as-is -X "$1" $(ca_opt) -o "$E2E_TMP/body" -w '%{http_code}')
    if [ -n "${3-}" ]; then args+=(-H 'Content-Type: application/json' --data-binary "$3"); fi
    STATUS=$(curl "${args[@]}" "$ARM$2")
    BODY_OUT=$(cat "$E2E_TMP/body")
}
count_() { # count_ JSON: how many items its value array holds
    printf '%s' "$1" | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["value"]))'
}
op_id() { # op_id: the operation id from the last response's Location header
    header location | sed -E 's#.*/operationresults/([0-9a-f]{32}).*#\1#'
}

ctl GET /_emulator/timing
check "start rules listed" eq "$(jq_ "$BODY_OUT" value.1.kind)" delete
check "start duration kept" eq "$(jq_ "$BODY_OUT" value.1.durationMs)" 20000
check "start steps kept" eq "$(jq_ "$BODY_OUT" value.1.steps)" 2

# --- the start rule: 20 s in two steps ---
ctl POST /_emulator/clock '{"now":"2030-01-01T00:00:00Z"}'
arm PUT "$RG/rg1?$V" '{"location":"westeurope"}'
arm DELETE "$RG/rg1?$V"
check "delete accepted" eq "$STATUS" 202
OP1=$(op_id)
ctl GET "/_emulator/operations/$OP1"
check "step 1 of 2 at start" eq "$(jq_ "$BODY_OUT" percentComplete)" 0
ctl POST /_emulator/clock '{"advanceSeconds":10}'
ctl GET "/_emulator/operations/$OP1"
check "step 2 of 2 at half time" eq "$(jq_ "$BODY_OUT" percentComplete)" 50
check "still running" eq "$(jq_ "$BODY_OUT" status)" InProgress
ctl POST /_emulator/clock '{"advanceSeconds":10}'
ctl GET "/_emulator/operations/$OP1"
check "done when due" eq "$(jq_ "$BODY_OUT" status)" Succeeded
check "100 when done" eq "$(jq_ "$BODY_OUT" percentComplete)" 100

# --- changed at runtime: 40 s in four named steps ---
ctl POST /_emulator/timing '{"kind":"resourceGroups/delete","duration":"40s","steps":4,"statusDetails":["Queued","Deleting resources","Cleaning up","Finishing"]}'
check "runtime rule accepted" eq "$STATUS" 200
check "runtime rule listed last" eq "$(jq_ "$BODY_OUT" value.2.durationMs)" 40000
arm PUT "$RG/rg2?$V" '{"location":"westeurope"}'
arm DELETE "$RG/rg2?$V"
OP2=$(op_id)
ctl GET "/_emulator/operations/$OP2"
check "runtime step 1" eq "$(jq_ "$BODY_OUT" percentComplete)" 0
check "runtime step 1 text" eq "$(jq_ "$BODY_OUT" statusDetails)" Queued
ctl POST /_emulator/clock '{"advanceSeconds":10}'
ctl GET "/_emulator/operations/$OP2"
check "runtime step 2" eq "$(jq_ "$BODY_OUT" percentComplete)" 25
check "runtime step 2 text" eq "$(jq_ "$BODY_OUT" statusDetails)" "Deleting resources"
ctl POST /_emulator/clock '{"advanceSeconds":25}'
ctl GET /_emulator/operations
check "list shows progress too" eq "$(jq_ "$BODY_OUT" value.0.percentComplete)" 75
check "list shows step text" eq "$(jq_ "$BODY_OUT" value.0.statusDetails)" Finishing
arm GET "/subscriptions/$SUB/operationresults/$OP2?$V"
check "ARM still says running" eq "$STATUS" 202
ctl POST /_emulator/clock '{"advanceSeconds":5}'
arm GET "/subscriptions/$SUB/operationresults/$OP2?$V"
check "ARM done at the new duration" eq "$STATUS" 200
arm GET "$RG/rg2?$V"
check "group gone" eq "$STATUS" 404

# --- a stalled operation stays at its last step until released ---
ctl POST /_emulator/faults '{"id":"hold","operation":"resourceGroups/delete","action":{"type":"stallOperation"}}'
arm PUT "$RG/rg3?$V" '{"location":"westeurope"}'
arm DELETE "$RG/rg3?$V"
OP3=$(op_id)
ctl POST /_emulator/clock '{"advanceSeconds":3600}'
ctl GET "/_emulator/operations/$OP3"
check "held op stays below 100" eq "$(jq_ "$BODY_OUT" percentComplete)" 75
check "held op still running" eq "$(jq_ "$BODY_OUT" status)" InProgress
ctl POST /_emulator/faults/hold/release
ctl GET "/_emulator/operations/$OP3"
check "released op completes" eq "$(jq_ "$BODY_OUT" status)" Succeeded

# --- bad rules name the field ---
ctl POST /_emulator/timing '{"kind":"backup","durationMs":-1}'
check "negative duration refused" eq "$STATUS" 400
check "error code" eq "$(jq_ "$BODY_OUT" error.code)" InvalidTimingRule
check "error names durationMs" contains "$(jq_ "$BODY_OUT" error.message)" durationMs
ctl POST /_emulator/timing '{"kind":"backup","durationMs":10,"steps":0}'
check "zero steps refused" contains "$(jq_ "$BODY_OUT" error.message)" steps
ctl POST /_emulator/timing '{"kind":"backup","durationMs":10,"statusDetails":[1]}'
check "non-string details refused" contains "$(jq_ "$BODY_OUT" error.message)" "statusDetails[0]"
ctl POST /_emulator/timing '{"kind":"backup","durationMs":10,"speed":2}'
check "unknown field refused" contains "$(jq_ "$BODY_OUT" error.message)" speed
ctl POST /_emulator/timing '{"durationMs":10}'
check "kind required" contains "$(jq_ "$BODY_OUT" error.message)" kind
ctl POST /_emulator/timing '[1]'
check "non-object refused" eq "$STATUS" 400

# --- delete one, reset to the start rules ---
ctl DELETE '/_emulator/timing?kind=nothing'
check "deleting an unknown kind is 404" eq "$STATUS" 404
ctl DELETE '/_emulator/timing?kind=resourceGroups/delete'
check "one rule deleted" eq "$(count_ "$BODY_OUT")" 2
ctl POST /_emulator/timing '{"kind":"*","durationMs":5000}'
ctl POST '/_emulator/reset?keepTiming=true'
ctl GET /_emulator/timing
check "reset keeps timing when asked" eq "$(count_ "$BODY_OUT")" 3
ctl POST /_emulator/reset
ctl GET /_emulator/timing
check "reset restores the start rules" eq "$(count_ "$BODY_OUT")" 2
ctl POST /_emulator/timing '{"kind":"backup","durationMs":1}'
ctl DELETE /_emulator/timing
check "delete all restores the start rules" eq "$(count_ "$BODY_OUT")" 2

finish

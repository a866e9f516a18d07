#!/usr/bin/env bash
# test_qa.sh - the QA control surface: fault rules of every synchronous kind,
# failed and stalled operations, the journal, operations by hand, the clock,
# reset, state export/import, snapshots and --seed determinism.
. "$(dirname "$0")/lib.sh"

start_emulator
V=api-version=2021-04-01
RG=/subscriptions/$SUB/resourcegroups
ctl() { # ctl METHOD PATH [BODY]: a control call (no token needed on loopback)
    local args=(-sS --path-as-is -X "$1" $(ca_opt) -D "$E2E_TMP/headers" -o "$E2E_TMP/body" -w '%{http_code}')
    if [ -n "${3-}" ]; then args+=(-H 'Content-Type: application/json' --data-binary "$3"); fi
    STATUS=$(curl "${args[@]}" "$ARM$2")
    BODY_OUT=$(cat "$E2E_TMP/body")
    HEADERS_OUT=$(tr -d '\r' <"$E2E_TMP/headers")
}

# --- a synchronous error rule, limited by count ---
ctl POST /_emulator/faults '{"id":"rg-boom","operation":"resourceGroups/write","method":"PUT","resource":"/subscriptions/*/resourcegroups/doomed*","count":1,"action":{"type":"error","status":503,"code":"ServiceUnavailable","message":"injected outage"}}'
check "fault rule created" eq "$STATUS" 201
check "rule echoes id" eq "$(jq_ "$BODY_OUT" id)" rg-boom
arm PUT "$RG/doomed1?$V" '{"location":"westeurope"}'
check "rule answers its status" eq "$STATUS" 503
check "rule answers its code" eq "$(jq_ "$BODY_OUT" error.code)" ServiceUnavailable
check "fault header names the rule" eq "$(header x-ms-emulator-fault)" rg-boom
arm PUT "$RG/doomed1?$V" '{"location":"westeurope"}'
check "rule expires after its count" eq "$STATUS" 201
arm PUT "$RG/other?$V" '{"location":"westeurope"}'
check "non-matching resource unaffected" eq "$STATUS" 201
ctl GET /_emulator/faults/rg-boom
check "rule counts fired" eq "$(jq_ "$BODY_OUT" fired)" 1
check "rule shows expired" eq "$(jq_ "$BODY_OUT" expired)" True

# --- Nth match only ---
ctl POST /_emulator/faults '{"id":"second","operation":"resourceGroups/read","nth":2,"action":{"type":"error","status":500,"code":"Second"}}'
arm GET "$RG/other?$V"
check "first match passes" eq "$STATUS" 200
arm GET "$RG/other?$V"
check "second match fires" eq "$(jq_ "$BODY_OUT" error.code)" Second
arm GET "$RG/other?$V"
check "third match passes" eq "$STATUS" 200
ctl DELETE /_emulator/faults/second
check "delete rule" eq "$STATUS" 204
ctl DELETE /_emulator/faults/second
check "delete missing rule is 404" eq "$STATUS" 404

# --- throttle, latency, drop ---
ctl POST /_emulator/faults '{"id":"slow-down","operation":"resourceGroups/list","count":1,"action":{"type":"throttle","retryAfter":7}}'
arm GET "$RG?$V"
check "throttle is 429" eq "$STATUS" 429
check "throttle has Retry-After" eq "$(header Retry-After)" 7
ctl POST /_emulator/faults '{"id":"lag","operation":"resourceGroups/read","count":1,"action":{"type":"latency","ms":400}}'
T0=$(date +%s%N)
arm GET "$RG/other?$V"
T1=$(date +%s%N)
check "latency rule still answers" eq "$STATUS" 200
check "latency rule delays" test $(((T1 - T0) / 1000000)) -ge 380
ctl POST /_emulator/faults '{"id":"cut","operation":"resourceGroups/read","count":1,"action":{"type":"dropConnection"}}'
if curl -s -o /dev/null --cacert "$CA" -H "Authorization: Bearer x" "$ARM$RG/other?$V"; then DROPPED=no; else DROPPED=yes; fi
check "dropped connection has no answer" eq "$DROPPED" yes
ctl POST /_emulator/faults '{"id":"rst","operation":"resourceGroups/read","count":1,"action":{"type":"resetConnection"}}'
if curl -s -o /dev/null --cacert "$CA" -H "Authorization: Bearer x" "$ARM$RG/other?$V"; then RESET=no; else RESET=yes; fi
check "reset connection has no answer" eq "$RESET" yes

# --- bad rules are refused with the field named ---
ctl POST /_emulator/faults '{"action":{"type":"explode"}}'
check "unknown action type is 400" eq "$STATUS" 400
check "message names the field" contains "$(jq_ "$BODY_OUT" error.message)" "action.type"
ctl POST /_emulator/faults '{"probability":2,"action":{"type":"error"}}'
check "bad probability is 400" contains "$(jq_ "$BODY_OUT" error.message)" "probability"
ctl POST /_emulator/faults '{"id":"lag","action":{"type":"error"}}'
check "duplicate id is 409" eq "$STATUS" 409

# --- a failed operation, and a stalled one released by hand ---
ctl POST /_emulator/faults '{"id":"no-delete","operation":"resourceGroups/delete","count":1,"action":{"type":"failOperation","code":"DeleteBlocked","message":"QA says no"}}'
arm DELETE "$RG/other?$V"
check "failing operation is still accepted" eq "$STATUS" 202
LOC=$(header Location)
arm GET "$LOC"
check "failed operation reports its code" eq "$(jq_ "$BODY_OUT" error.code)" DeleteBlocked
arm GET "$RG/other?$V"
check "failed operation changed nothing" eq "$STATUS" 200
ctl POST /_emulator/faults '{"id":"hold","operation":"resourceGroups/delete","action":{"type":"stallOperation"}}'
arm DELETE "$RG/other?$V"
LOC=$(header Location)
OPID=$(basename "${LOC%%\?*}")
sleep 0.3
arm GET "$LOC"
check "stalled operation is running" eq "$STATUS" 202
ctl GET /_emulator/operations
check "operations list shows it" contains "$BODY_OUT" "$OPID"
ctl POST /_emulator/faults/hold/release
check "release counts" eq "$(jq_ "$BODY_OUT" released)" 1
arm GET "$LOC"
check "released operation completes" eq "$STATUS" 200
arm PUT "$RG/stall2?$V" '{"location":"westeurope"}'
arm DELETE "$RG/stall2?$V"
OPID=$(basename "$(header Location | sed 's/?.*//')")
ctl POST "/_emulator/operations/$OPID/fail" '{"code":"ByHand","message":"failed by the test"}'
check "operation failed by hand" eq "$(jq_ "$BODY_OUT" error.code)" ByHand
ctl POST "/_emulator/operations/$OPID/complete"
check "ended operation cannot complete" eq "$STATUS" 409
ctl DELETE /_emulator/faults
check "delete all rules" eq "$STATUS" 204

# --- journal ---
ctl GET "/_emulator/requests?limit=500"
check "journal records faults" contains "$BODY_OUT" '"fault":"rg-boom"'
check "journal records dropped requests" contains "$BODY_OUT" '"fault":"cut"'

# --- clock ---
ctl POST /_emulator/clock '{"now":"2030-01-02T03:04:05Z"}'
check "clock frozen at the given time" contains "$(jq_ "$BODY_OUT" now)" "2030-01-02T03:04:05"
arm PUT "$RG/timed?$V" '{"location":"westeurope"}'
ctl POST /_emulator/clock '{"advanceSeconds":60}'
check "frozen clock advances by hand" contains "$(jq_ "$BODY_OUT" now)" "2030-01-02T03:05:05"
ctl POST /_emulator/clock '{"offsetSeconds":0}'
check "offset 0 unfreezes" eq "$(jq_ "$BODY_OUT" frozen)" False

# --- export, reset, import ---
ctl GET /_emulator/state
EXPORT=$BODY_OUT
check "export format" eq "$(jq_ "$EXPORT" format)" chsm-state
ctl POST /_emulator/reset
check "reset" eq "$STATUS" 204
arm GET "$RG?$V"
check "reset empties state" eq "$(jq_ "$BODY_OUT" value.0)" ""
arm GET "/subscriptions?$V"
check "reset keeps the default subscription" eq "$(jq_ "$BODY_OUT" value.0.subscriptionId)" 00000000-0000-0000-0000-000000000001
ctl PUT /_emulator/state "$EXPORT"
check "import" eq "$STATUS" 204
ctl GET /_emulator/state
check "export/import round trip is identical" eq "$BODY_OUT" "$EXPORT"
ctl PUT /_emulator/state '{"format":"chsm-state","version":1,"schema":{},"tables":{}}'
check "import with the wrong schema is 400" eq "$(jq_ "$BODY_OUT" error.code)" InvalidState
arm GET "$RG/timed?$V"
check "a refused import changes nothing" eq "$STATUS" 200

# --- snapshots ---
ctl POST /_emulator/snapshots/before
check "snapshot saved" eq "$STATUS" 201
arm PUT "$RG/after-snapshot?$V" '{"location":"westeurope"}'
arm DELETE "$RG/timed?$V"
arm GET "$(header Location)"
ctl POST /_emulator/snapshots/before/restore
check "snapshot restored" eq "$STATUS" 204
arm GET "$RG/after-snapshot?$V"
check "later change undone" eq "$STATUS" 404
arm GET "$RG/timed?$V"
check "earlier state back" eq "$STATUS" 200
ctl GET /_emulator/snapshots
check "snapshots listed" eq "$(jq_ "$BODY_OUT" value.0.name)" before
ctl POST "/_emulator/snapshots/..%2fx"
check "snapshot names cannot escape" eq "$STATUS" 400
ctl DELETE /_emulator/snapshots/before
check "snapshot deleted" eq "$STATUS" 204
ctl POST /_emulator/snapshots/nope/restore
check "missing snapshot is 404" eq "$STATUS" 404
stop_emulator

# --- --seed: two runs of one script give the same bytes ---
run_seeded() {
    DATA=$E2E_TMP/seed-$1
    start_emulator --seed 42
    ctl POST /_emulator/clock '{"now":"2030-01-01T00:00:00Z"}'
    arm PUT "$RG/seeded?$V" '{"location":"westeurope"}'
    {
        echo "$(header x-ms-request-id)"
        arm DELETE "$RG/seeded?$V"
        header Location | sed "s#$ARM##"
        echo "$(header x-ms-request-id)"
        arm POST "/$SUB/oauth2/v2.0/token" ''
    } >"$E2E_TMP/seed-$1.out"
    TOKEN_BODY=$(curl -sS --cacert "$CA" -X POST "$ARM/$SUB/oauth2/v2.0/token" -d 'grant_type=client_credentials&client_id=a')
    jq_ "$TOKEN_BODY" access_token | cut -d. -f2 >>"$E2E_TMP/seed-$1.out"
    stop_emulator
    unset DATA
}
run_seeded a
run_seeded b
check "seeded runs are identical" cmp -s "$E2E_TMP/seed-a.out" "$E2E_TMP/seed-b.out"
check "seeded output is not empty" test "$(wc -l <"$E2E_TMP/seed-a.out")" -ge 3

# --- fixtures: built in, from a file, and each kind of bad one ---
DATA=$E2E_TMP/data-fx
start_emulator --fixture empty-resource-group
arm GET "/subscriptions/00000000-0000-0000-0000-000000000001/resourcegroups/dr-rg?$V"
check "--fixture NAME loads a built-in fixture" eq "$STATUS" 200
ctl GET /_emulator/fixtures
check "built-in fixtures listed" contains "$BODY_OUT" empty-resource-group
cat >"$E2E_TMP/fx-ok.json" <<'JSON'
{"format":"chsm-fixture","version":1,"variables":{"s":"00000000-0000-0000-0000-0000000000f1"},
 "steps":[{"name":"a","method":"PUT","path":"/subscriptions/{s}/resourcegroups/fx-a?api-version=2021-04-01","body":{"location":"westeurope","tags":{"made":"{s}"}},"save":{"rgid":"id"}},
          {"name":"b","method":"PUT","path":"/subscriptions/{s}/resourcegroups/fx-b?api-version=2021-04-01","body":{"location":"westeurope","tags":{"from":"{rgid}"}}}]}
JSON
ctl POST /_emulator/fixtures "$(cat "$E2E_TMP/fx-ok.json")"
check "fixture document applied" eq "$STATUS" 204
arm GET "/subscriptions/00000000-0000-0000-0000-0000000000f1/resourcegroups/fx-b?$V"
check "saved variables flow into later steps" eq "$(jq_ "$BODY_OUT" tags.from)" "/subscriptions/00000000-0000-0000-0000-0000000000f1/resourceGroups/fx-a"
ctl POST /_emulator/fixtures '{"format":"nope","version":1,"steps":[]}'
check "bad format named" contains "$(jq_ "$BODY_OUT" error.message)" "format"
ctl POST /_emulator/fixtures '{"format":"chsm-fixture","version":2,"steps":[]}'
check "bad version named" contains "$(jq_ "$BODY_OUT" error.message)" "version"
ctl POST /_emulator/fixtures '{"format":"chsm-fixture","version":1,"steps":[{"name":"x","path":"/a"}]}'
check "missing method named" contains "$(jq_ "$BODY_OUT" error.message)" "steps[0] (x) needs 'method'"
ctl POST /_emulator/fixtures '{"format":"chsm-fixture","version":1,"steps":[{"method":"GET","path":"/subscriptions/{nope}"}]}'
check "undefined variable named" contains "$(jq_ "$BODY_OUT" error.message)" "{nope}"
ctl POST /_emulator/fixtures '{"format":"chsm-fixture","version":1,"steps":[
  {"name":"good","method":"PUT","path":"/subscriptions/00000000-0000-0000-0000-0000000000f2/resourcegroups/fx-c?api-version=2021-04-01","body":{"location":"x"}},
  {"name":"bad","method":"PUT","path":"/subscriptions/00000000-0000-0000-0000-0000000000f2/resourcegroups/fx-d?api-version=2021-04-01","body":{}}]}'
check "failing step reported with its error" contains "$(jq_ "$BODY_OUT" error.message)" "steps[1] (bad) failed with HTTP 400: LocationRequired"
arm GET "/subscriptions/00000000-0000-0000-0000-0000000000f2/resourcegroups/fx-c?$V"
check "a failed fixture applies nothing" eq "$STATUS" 404
ctl POST /_emulator/fixtures '{"name":"no-such-fixture"}'
check "unknown built-in is 404" eq "$STATUS" 404
stop_emulator
echo '{"format":"chsm-fixture","version":1,"steps":[{"method":"PUT"}]}' >"$E2E_TMP/fx-bad.json"
if "$CHSM_EMULATOR" --listen 127.0.0.1:0 --blob-listen 127.0.0.1:0 --data-dir "$E2E_TMP/data-fx2" \
    --fixture "$E2E_TMP/fx-bad.json" >"$E2E_TMP/fx.log" 2>&1; then FXRC=0; else FXRC=$?; fi
check "a bad --fixture stops the start" eq "$FXRC" 1
check "and says why" grep -q "fx-bad.json: steps\[0\] needs 'method'" "$E2E_TMP/fx.log"
unset DATA

# --- --no-control and --faults FILE ---
cat >"$E2E_TMP/faults.json" <<'JSON'
{"rules":[{"id":"from-file","operation":"resourceGroups/write","action":{"type":"error","status":418,"code":"Teapot"}}]}
JSON
DATA=$E2E_TMP/data-nc
start_emulator --no-control --faults "$E2E_TMP/faults.json"
ctl GET /_emulator/faults
check "--no-control hides the surface" eq "$STATUS" 404
arm PUT "$RG/x?$V" '{"location":"westeurope"}'
check "--faults FILE rules are armed" eq "$(jq_ "$BODY_OUT" error.code)" Teapot
finish

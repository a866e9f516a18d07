# lib.sh - shared helpers for the end-to-end tests (sourced, not run).
#
# start_emulator [flags...] starts the real chsm-emulator on ephemeral ports
# (ARM and Blob on port 0) with a private temp data dir, waits until
# <data-dir>/emulator.json exists and /_emulator/health answers, and exports:
#   ARM   base URL of the ARM listener     BLOB  base URL of the Blob listener (if any)
#   CA    CA certificate to trust           DATA  the data dir
#   EMU_PID
# Everything is torn down on exit. Tests never reach beyond loopback.
# CHSM_EMULATOR_WRAPPER (e.g. "valgrind --log-file=...", scripts/valgrind.sh) runs the emulator
# under a tool; CHSM_START_TRIES (200) is how many 50 ms waits start_emulator allows.
set -euo pipefail

: "${CHSM_EMULATOR:?CHSM_EMULATOR must point at the chsm-emulator binary}"
SUB=${SUB:-00000000-0000-0000-0000-0000000000a1}
TOKEN=${TOKEN:-e2e-token}
E2E_TMP=$(mktemp -d "${TMPDIR:-/tmp}/chsm-e2e.XXXXXX")
EMU_PID=""
FAILS=0
PASSES=0

cleanup() {
    local rc=$?
    if [ "$rc" -ne 0 ] && [ -s "$E2E_TMP/emulator.log" ]; then
        echo "--- $(basename "$0") stopped early (exit $rc); emulator log tail ---"
        tail -n 60 "$E2E_TMP/emulator.log"
    fi
    if [ -n "$EMU_PID" ] && kill -0 "$EMU_PID" 2>/dev/null; then
        kill -TERM "$EMU_PID" 2>/dev/null || true
        wait "$EMU_PID" 2>/dev/null || true
    fi
    rm -rf "$E2E_TMP"
}
trap cleanup EXIT

# start_emulator [--data-dir DIR] [other flags]: DATA defaults to a new temp dir.
start_emulator() {
    DATA=${DATA:-$E2E_TMP/data}
    mkdir -p "$DATA"
    rm -f "$DATA/emulator.json"
    ${CHSM_EMULATOR_WRAPPER:-} "$CHSM_EMULATOR" --listen 127.0.0.1:0 --blob-listen 127.0.0.1:0 \
        --data-dir "$DATA" --log-level warn "$@" >>"$E2E_TMP/emulator.log" 2>&1 &
    EMU_PID=$!
    for _ in $(seq 1 "${CHSM_START_TRIES:-200}"); do
        if [ -s "$DATA/emulator.json" ]; then break; fi
        if ! kill -0 "$EMU_PID" 2>/dev/null; then
            echo "emulator exited early:"; cat "$E2E_TMP/emulator.log"; return 1
        fi
        sleep 0.05
    done
    ARM=$(json_get "$DATA/emulator.json" armUrl)
    BLOB=$(json_get "$DATA/emulator.json" blobUrl || true)
    CA=$(json_get "$DATA/emulator.json" caCert || true)
    export ARM BLOB CA DATA EMU_PID
    curl -fsS $(ca_opt) "$ARM/_emulator/health" >/dev/null
}

# stop_emulator: graceful stop (SIGTERM), waiting for exit.
stop_emulator() {
    kill -TERM "$EMU_PID"
    wait "$EMU_PID" || true
    EMU_PID=""
}

# kill_emulator: SIGKILL, as a crash.
kill_emulator() {
    kill -KILL "$EMU_PID"
    wait "$EMU_PID" 2>/dev/null || true
    EMU_PID=""
}

# json_get FILE KEY.PATH: prints a value from a JSON file (python3 is on every Debian).
json_get() {
    python3 - "$1" "$2" <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))
try:
    for k in sys.argv[2].split('.'):
        v = v[int(k)] if isinstance(v, list) else v[k]
except (KeyError, IndexError, ValueError):
    sys.exit(1)
if v is None:
    sys.exit(1)
print(v if not isinstance(v, (dict, list)) else json.dumps(v))
PY
}

# jq_ TEXT KEY.PATH: the same on a JSON string.
jq_() {
    printf '%s' "$1" | python3 -c '
import json, sys
try:
    v = json.load(sys.stdin)
    for k in sys.argv[1].split("."):
        if k == "": continue
        v = v[int(k)] if isinstance(v, list) else v.get(k) if isinstance(v, dict) else None
except (IndexError, ValueError):
    v = None
print("" if v is None else (v if not isinstance(v, (dict, list)) else json.dumps(v)))' "$2"
}

ca_opt() {
    if [ -n "${CA:-}" ]; then printf -- '--cacert %s' "$CA"; fi
}

# arm METHOD PATH [BODY]: calls ARM, sets STATUS, BODY_OUT and HEADERS_OUT.
arm() {
    local method=$1 path=$2 body=${3-}
    local args=(-sS --path-as-is -X "$method" $(ca_opt) -H "Authorization: Bearer $TOKEN"
        -D "$E2E_TMP/headers" -o "$E2E_TMP/body" -w '%{http_code}')
    if [ -n "$body" ]; then args+=(-H 'Content-Type: application/json' --data-binary "$body"); fi
    case "$path" in http*) url=$path ;; *) url=$ARM$path ;; esac
    STATUS=$(curl "${args[@]}" "$url")
    BODY_OUT=$(cat "$E2E_TMP/body")
    HEADERS_OUT=$(tr -d '\r' <"$E2E_TMP/headers")
}

# header NAME: a header of the last arm() response.
header() {
    printf '%s\n' "$HEADERS_OUT" | awk -v n="$(echo "$1" | tr 'A-Z' 'a-z')" -F': ' \
        'tolower($1)==n {sub(/^[^:]*: /,""); print; exit}'
}

# check NAME CONDITION...: records one assertion (a command that must succeed).
check() {
    local name=$1
    shift
    if "$@"; then
        PASSES=$((PASSES + 1))
    else
        FAILS=$((FAILS + 1))
        echo "FAIL: $name (status=${STATUS:-} body=${BODY_OUT:-})"
    fi
}

eq() { [ "$1" = "$2" ]; }
contains() { case "$1" in *"$2"*) return 0 ;; *) return 1 ;; esac; }

# finish: stops the emulator, counts any sanitizer report in its log as a
# failure, prints the tally in the plain "N passed, N failed" form and exits.
finish() {
    if [ -n "$EMU_PID" ]; then stop_emulator; fi
    if grep -qE "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$E2E_TMP/emulator.log" 2>/dev/null; then
        FAILS=$((FAILS + 1))
        echo "FAIL: the sanitizers reported errors in the emulator:"
        grep -E -A20 "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$E2E_TMP/emulator.log" | head -60
    fi
    echo "$(basename "$0" .sh): $PASSES passed, $FAILS failed"
    if [ "$FAILS" -ne 0 ]; then
        echo "--- emulator log ---"; tail -n 50 "$E2E_TMP/emulator.log" || true
        exit 1
    fi
    exit 0
}

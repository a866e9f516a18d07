#!/usr/bin/env bash
# valgrind.sh [TEST...] - runs end-to-end tests (tests/e2e/test_*.sh; default all of them) with
# every emulator they start under valgrind memcheck (--leak-check=full,
# --errors-for-leak-kinds=definite, --error-exitcode=99), through lib.sh's
# CHSM_EMULATOR_WRAPPER hook. Builds build-valgrind/ (RelWithDebInfo, no sanitizers) unless
# CHSM_EMULATOR is set. Prints, per test, its own verdict and memcheck's: errors and bytes
# definitely lost per emulator run (runs ended by SIGKILL, on purpose, have no leak summary and
# are listed as killed). Exits non-zero when a test failed or memcheck reported an error or a
# definite leak. Logs stay in build-valgrind/logs/TEST/. Not part of CI: the whole suite takes
# far more than CI's budget under valgrind (docs/reliability.md has the latest figures).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${CHSM_VALGRIND_BUILD_DIR:-$root/build-valgrind}
command -v valgrind >/dev/null || { echo "valgrind.sh: valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }
if [ -z "${CHSM_EMULATOR:-}" ]; then
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$build" -j"$(nproc)" --target chsm-emulator chsmctl >/dev/null
    export CHSM_EMULATOR=$build/chsm-emulator
fi
# Tests find chsmctl and the other built tools beside the emulator.
export CHSM_SOURCE_DIR=$root CHSM_BUILD_DIR=${CHSM_BUILD_DIR:-$(dirname "$CHSM_EMULATOR")}
tests=("$@")
if [ ${#tests[@]} -eq 0 ]; then
    for f in "$root"/tests/e2e/test_*.sh; do tests+=("$(basename "$f" .sh)"); done
fi
# Under valgrind the emulator starts 20-50x slower (a fixture takes over a minute): allow five.
export CHSM_START_TRIES=6000
failed=0
for t in "${tests[@]}"; do
    t=$(basename "$t" .sh)
    logs=$build/logs/$t
    rm -rf "$logs"
    mkdir -p "$logs"
    export CHSM_EMULATOR_WRAPPER="valgrind --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 --num-callers=30 --log-file=$logs/memcheck.%p.log"
    started=$SECONDS
    verdict=passed
    if ! timeout "${CHSM_VALGRIND_TIMEOUT:-1800}" bash "$root/tests/e2e/$t.sh" >"$logs/test.log" 2>&1; then
        verdict=FAILED
        failed=1
    fi
    runs=0 killed=0 errors=0 lost=0
    for log in "$logs"/memcheck.*.log; do
        [ -e "$log" ] || continue
        runs=$((runs + 1))
        if ! grep -q "ERROR SUMMARY" "$log"; then
            killed=$((killed + 1))
            continue
        fi
        e=$(sed -n 's/.*ERROR SUMMARY: \([0-9,]*\) errors.*/\1/p' "$log" | tr -d ,)
        l=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$log" | tr -d , | head -1)
        errors=$((errors + ${e:-0}))
        lost=$((lost + ${l:-0}))
    done
    if [ "$errors" -ne 0 ] || [ "$lost" -ne 0 ]; then failed=1; fi
    echo "valgrind $t: test $verdict ($(tail -1 "$logs/test.log")) in $((SECONDS - started))s;" \
        "$runs emulator runs ($killed killed), $errors errors, $lost bytes definitely lost"
done
exit $failed

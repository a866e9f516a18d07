#!/usr/bin/env bash
# test.sh - installs what the tests need, builds from scratch (a normal build
# and an AddressSanitizer + UndefinedBehaviorSanitizer build, the latter with
# the fault simulation of test_faultsim) and runs every
# test under ctest in both, then each libFuzzer harness for 30 s
# (scripts/fuzz.sh); after the normal suite, the benchmark harness in smoke mode
# (scripts/bench.sh --smoke).
# Exits non-zero if anything fails.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/deps.sh"
chsm_install_packages "${CHSM_BUILD_PACKAGES[@]}" "${CHSM_TEST_PACKAGES[@]}"
# The official JavaScript SDK packages the client tests drive (pinned by
# tests/clients/node/package-lock.json), installed once here, not by the
# parallel e2e tests: again whenever the lock file is newer than the install.
node_dir="$root/tests/clients/node"
if [ ! -f "$node_dir/node_modules/.package-lock.json" ] ||
    [ "$node_dir/package-lock.json" -nt "$node_dir/node_modules/.package-lock.json" ]; then
    (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error)
fi
# playwright-core for the dashboard's browser test (tests/browser, Debian's chromium), the same way.
browser_dir="$root/tests/browser"
if [ ! -f "$browser_dir/node_modules/.package-lock.json" ] ||
    [ "$browser_dir/package-lock.json" -nt "$browser_dir/node_modules/.package-lock.json" ]; then
    (cd "$browser_dir" && npm ci --no-audit --no-fund --loglevel=error)
fi

jobs=$(nproc)
run_suite() {
    local name=$1
    shift
    local build="$root/build-test-$name"
    rm -rf "$build"
    echo "=== $name build ==="
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
    cmake --build "$build" -j"$jobs"
    echo "=== $name tests ==="
    # One retry for a test that fails (its first output stays in the log): the e2e tests start
    # dozens of emulators side by side on a loaded two-core runner, where an occasional
    # environmental failure should not hide the rest; a real failure fails twice.
    (cd "$build" && ctest --output-on-failure -j"$jobs" --timeout 900 --repeat until-pass:2)
}

run_suite normal
# The benchmark harness in smoke mode (a few seconds per case, bars reported, not asserted),
# so it keeps working; Azurite missing (no network for npm) is reported, not a failure.
echo "=== benchmark harness (smoke) ==="
"$root/scripts/bench.sh" --smoke --build-dir "$root/build-test-normal"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# The sanitizer build also carries the test-only fault simulation hooks (util/faultsim.h), so
# tests/unit/test_faultsim.c runs there, with leak checks on every failure path it takes.
run_suite sanitize -DCHSM_SANITIZE=ON -DCHSM_FAULT_SIM=ON
echo "=== fuzzing (30 s per harness) ==="
rm -rf "$root/build-test-fuzz"
CHSM_FUZZ_BUILD_DIR="$root/build-test-fuzz" "$root/scripts/fuzz.sh" all 30
echo "=== all suites passed ==="

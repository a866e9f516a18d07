#!/usr/bin/env bash
# bench.sh - the benchmark harness (bench/, docs/performance.md): builds the emulator, chsmctl,
# the floor server and the load driver, then measures the emulator side by side with Azurite
# (in memory and on disk), a bare libmicrohttpd server, `openssl speed` and the disk, all on
# loopback on this machine, and writes bench/results/<date>.md (ratios, medians, raw runs).
#
#   scripts/bench.sh [--smoke] [--build-dir DIR] [--repeats N] [--duration S] [--out FILE]
#                    [--only case,case...]
#
# --smoke: a few seconds per case, for CI (scripts/test.sh): the report goes to
# $TMPDIR/chsm-bench-smoke.md unless --out is given. Bars are reported, never asserted: the
# exit status is non-zero only when a case could not run. Azurite is installed into
# bench/node (npm ci, pinned by package-lock.json); when that fails the peer is reported missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build-bench"
args=()
cmdline="scripts/bench.sh${*:+ $*}"
while [ $# -gt 0 ]; do
    case "$1" in
        --build-dir) build=$2; shift 2 ;;
        *) args+=("$1"); shift ;;
    esac
done
for tool in wrk curl python3 openssl; do
    command -v "$tool" >/dev/null || { echo "bench.sh: $tool is required (scripts/deps.sh)" >&2; exit 2; }
done
if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" -j"$(nproc)" --target chsm-emulator chsmctl chsm-bench-floor \
    chsm-bench-driver >/dev/null
exec python3 "$root/bench/bench.py" --build "$build" --command "$cmdline" ${args[@]+"${args[@]}"}

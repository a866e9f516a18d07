#!/usr/bin/env bash
# fuzz.sh NAME SECONDS - builds the libFuzzer harness tests/fuzz/fuzz_NAME.c
# (clang, ASan + UBSan, in build-fuzz/) and runs it for SECONDS on a copy of
# its seed corpus tests/fuzz/corpus/NAME (the committed seeds stay as they
# are), with the dictionary tests/fuzz/NAME.dict when there is one. NAME
# "all" runs every harness in turn. Prints one summary line per harness;
# exits non-zero when a harness crashed, leaked or hung, with the reproducer
# kept under build-fuzz/artifacts/NAME/.
#
# Environment: CHSM_FUZZ_BUILD_DIR (default build-fuzz), CHSM_FUZZ_JOBS
# (build parallelism, default nproc), CHSM_FUZZ_KEEP_CORPUS=1 keeps the grown
# corpus under build-fuzz/corpus/NAME instead of deleting it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

usage() {
    echo "usage: scripts/fuzz.sh NAME|all SECONDS" >&2
    echo "harnesses: $(harnesses | tr '\n' ' ')" >&2
    exit 2
}
harnesses() {
    for f in "$root"/tests/fuzz/fuzz_*.c; do
        basename "$f" .c | sed 's/^fuzz_//'
    done
}

[ $# -eq 2 ] || usage
name=$1
secs=$2
case "$secs" in '' | *[!0-9]*) usage ;; esac
if [ "$name" = all ]; then
    names=$(harnesses)
else
    [ -f "$root/tests/fuzz/fuzz_$name.c" ] || usage
    names=$name
fi

build=${CHSM_FUZZ_BUILD_DIR:-$root/build-fuzz}
jobs=${CHSM_FUZZ_JOBS:-$(nproc)}
targets=()
for n in $names; do targets+=("fuzz_$n"); done
mkdir -p "$build"
# Quiet unless the build fails, then its whole output.
if ! { CC=clang cmake -S "$root" -B "$build" -DCHSM_FUZZ=ON -DCHSM_TESTS=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo &&
    cmake --build "$build" -j"$jobs" --target "${targets[@]}"; } >"$build/fuzz-build.log" 2>&1; then
    cat "$build/fuzz-build.log" >&2
    echo "fuzz: the build failed" >&2
    exit 1
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=0
for n in $names; do
    work=$(mktemp -d "${TMPDIR:-/tmp}/chsm-fuzz-$n.XXXXXX")
    mkdir -p "$work/corpus" "$build/artifacts/$n"
    if [ -d "$root/tests/fuzz/corpus/$n" ]; then
        cp -R "$root/tests/fuzz/corpus/$n/." "$work/corpus/"
    fi
    seeds=$(find "$work/corpus" -type f | wc -l)
    dict=()
    if [ -f "$root/tests/fuzz/$n.dict" ]; then dict=(-dict="$root/tests/fuzz/$n.dict"); fi
    rc=0
    started=$SECONDS
    (cd "$work" && "$build/fuzz_$n" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=25 \
        -print_final_stats=1 -artifact_prefix="$work/" "${dict[@]}" corpus >"$work/log" 2>&1) || rc=$?
    took=$((SECONDS - started))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -1)
    grown=$(find "$work/corpus" -type f | wc -l)
    crashes=0
    for a in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
        [ -e "$a" ] || continue
        crashes=$((crashes + 1))
        cp "$a" "$build/artifacts/$n/"
    done
    if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then
        crashes=1 # died without a reproducer (e.g. the harness could not start)
    fi
    echo "fuzz $n: ${execs:-0} executions in ${took}s, $crashes crashes, corpus $seeds -> $grown inputs"
    if [ "$crashes" -ne 0 ]; then
        failed=1
        tail -60 "$work/log" >&2
        echo "fuzz $n: reproducer(s) in $build/artifacts/$n/; replay with $build/fuzz_$n FILE" >&2
    fi
    if [ "${CHSM_FUZZ_KEEP_CORPUS:-0}" = 1 ]; then
        rm -rf "$build/corpus/$n"
        mkdir -p "$build/corpus"
        mv "$work/corpus" "$build/corpus/$n"
    fi
    rm -rf "$work"
done
exit $failed

#!/usr/bin/env bash
# run.sh - installs what is missing, builds chsm-emulator in Release and
# starts it in the foreground on its embedded defaults (HTTPS, ARM on
# 127.0.0.1:8443, Blob on 127.0.0.1:10000, state in ./.chsm-data).
# Extra arguments are passed to the emulator, e.g. scripts/run.sh --in-memory
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/deps.sh"
chsm_install_packages "${CHSM_BUILD_PACKAGES[@]}"
build="$root/build-release"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCHSM_TESTS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target chsm-emulator >/dev/null
exec "$build/chsm-emulator" "$@"

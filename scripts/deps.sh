#!/usr/bin/env bash
# deps.sh - installs the Debian packages a build (and, with --test, the test
# suite) needs; only what is missing, running apt-get update first when
# something is. Safe to run again. Sourced by run.sh and test.sh.
set -euo pipefail

CHSM_BUILD_PACKAGES=(build-essential cmake pkg-config libmicrohttpd-dev libcjson-dev
    libsqlite3-dev libssl-dev uuid-dev libgnutls28-dev libcurl4-openssl-dev libp11-kit-dev)
CHSM_TEST_PACKAGES=(libcmocka-dev curl python3 openssl nodejs npm azure-cli python3-azure
    clang libclang-rt-14-dev wrk chromium fonts-liberation opensc libengine-pkcs11-openssl sqlite3)

chsm_install_packages() {
    local missing=()
    for p in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
            missing+=("$p")
        fi
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    # node and npm may come from elsewhere than Debian (an image's own Node):
    # only install them when the commands are missing.
    local filtered=()
    for p in "${missing[@]}"; do
        case "$p" in
            nodejs) command -v node >/dev/null 2>&1 || filtered+=("$p") ;;
            npm) command -v npm >/dev/null 2>&1 || filtered+=("$p") ;;
            *) filtered+=("$p") ;;
        esac
    done
    [ ${#filtered[@]} -eq 0 ] && return 0
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    echo "Installing missing packages: ${filtered[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${filtered[@]}"
}

# pkcs11_lib.sh - helpers for the PKCS#11 module's end-to-end tests (sourced after lib.sh
# and cloudhsm_lib.sh). They load client/pkcs11's libchsm-pkcs11.so into OpenSC's
# pkcs11-tool and OpenSSL (Debian packages opensc and libengine-pkcs11-openssl, installed by
# scripts/deps.sh --test); a missing tool fails the test.

BUILD=${CHSM_BUILD_DIR:-$(dirname "$CHSM_EMULATOR")}
P11_MODULE=${CHSM_PKCS11_MODULE:-$BUILD/client/pkcs11/libchsm-pkcs11.so}
CTL=${CHSMCTL:-$BUILD/chsmctl}
[ -f "$P11_MODULE" ] || { echo "the PKCS#11 module is not built at $P11_MODULE"; exit 1; }
[ -x "$CTL" ] || { echo "chsmctl not built at $CTL"; exit 1; }
command -v pkcs11-tool >/dev/null || { echo "pkcs11-tool is missing (Debian package opensc; scripts/deps.sh --test)"; exit 1; }
PIN=cu1:user1234

# A sanitizer build's module needs the sanitizer runtimes loaded first into the programs that
# load it (pkcs11-tool, openssl); their own leaks are not this project's.
P11_ENV=()
if ldd "$P11_MODULE" 2>/dev/null | grep -q libasan; then
    P11_ENV=(env "LD_PRELOAD=$(ldd "$P11_MODULE" | awk '/libasan|libubsan/ {printf "%s ", $3}')"
        "ASAN_OPTIONS=detect_leaks=0:abort_on_error=1")
fi

# ctl ARGS...: chsmctl against the running emulator (the fixture's default subscription).
ctl() { CHSM_DATA_DIR=$DATA "$CTL" "$@"; }

# use_cluster NAME [RG]: writes $E2E_TMP/NAME.cfg with `chsmctl cluster config` and points the
# module at it (CHSM_PKCS11_CONFIG).
use_cluster() {
    ctl cluster config "$1" -g "${2:-dr-rg}" --out "$E2E_TMP/$1.cfg" >/dev/null 2>&1 || return 1
    export CHSM_PKCS11_CONFIG="$E2E_TMP/$1.cfg"
}

# p11 ARGS...: pkcs11-tool with the module, logged in as cu1; output in P11_OUT.
p11() {
    P11_OUT=$("${P11_ENV[@]}" pkcs11-tool --module "$P11_MODULE" --login --pin "$PIN" "$@" 2>&1) || true
}

# p11_anon ARGS...: pkcs11-tool with the module and only the given options (no login unless
# they ask for one).
p11_anon() {
    P11_OUT=$("${P11_ENV[@]}" pkcs11-tool --module "$P11_MODULE" "$@" 2>&1) || true
}

# out_has TEXT: the last p11 output contains TEXT; when it does not, the output goes to the log
# (a failing CI run then shows what pkcs11-tool said).
out_has() {
    contains "$P11_OUT" "$1" && return 0
    printf 'pkcs11-tool said (wanted "%s"):\n%s\n' "$1" "$(printf '%s' "$P11_OUT" | head -20)" >&2
    return 1
}

#!/usr/bin/env bash
# test_pkcs11_openssl.sh - OpenSSL 3 signs with keys in the simulated HSM through the PKCS#11
# module, addressing them by pkcs11: URI, and plain openssl verifies with the exported public
# keys. Debian 12 has no pkcs11-provider package, so this uses libp11's engine (Debian
# libengine-pkcs11-openssl), which OpenSSL 3 still loads through its engine API
# (docs/pkcs11.md).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cloudhsm_lib.sh"
source "$(dirname "$0")/pkcs11_lib.sh"
ENGINES=$(openssl version -e | sed -n 's/^ENGINESDIR: "\(.*\)"$/\1/p')
ENGINE_SO="$ENGINES/pkcs11.so"
[ -f "$ENGINE_SO" ] || { echo "libp11's engine is missing at $ENGINE_SO (Debian package libengine-pkcs11-openssl)"; exit 1; }
start_emulator --fixture tutorial-ready
must use_cluster chsm-src
cd "$E2E_TMP"

p11 --keypairgen --key-type rsa:2048 --label ossl-rsa --id e001
check "RSA pair for OpenSSL" out_has "Key pair generated"
p11 --keypairgen --key-type EC:prime256v1 --label ossl-ec --id e002
check "EC pair for OpenSSL" out_has "Key pair generated"

cat >engine.cnf <<CNF
openssl_conf = openssl_init
[openssl_init]
engines = engine_section
[engine_section]
pkcs11 = pkcs11_section
[pkcs11_section]
engine_id = pkcs11
dynamic_path = $ENGINE_SO
MODULE_PATH = $P11_MODULE
init = 0
CNF
# eng ARGS...: openssl with the pkcs11 engine configured; plain openssl runs without it.
eng() { OPENSSL_CONF="$E2E_TMP/engine.cnf" "${P11_ENV[@]}" openssl "$@"; }
TOKEN_URI="pkcs11:token=chsm-src"
RSA_URI="$TOKEN_URI;object=ossl-rsa;type=private;pin-value=$PIN"
EC_URI="$TOKEN_URI;object=ossl-ec;type=private;pin-value=$PIN"

head -c 100000 /dev/urandom >file.bin
check "engine exports the RSA public key by URI" \
    eng pkey -engine pkcs11 -inform engine -pubin -in "$TOKEN_URI;object=ossl-rsa;type=public;pin-value=$PIN" -pubout -out rsa.pem
check "engine exports the EC public key by URI" \
    eng pkey -engine pkcs11 -inform engine -pubin -in "$TOKEN_URI;object=ossl-ec;type=public;pin-value=$PIN" -pubout -out ec.pem
check "RSA public key is PEM" grep -q "BEGIN PUBLIC KEY" rsa.pem

check "openssl dgst -sign with the RSA key by URI (PKCS#1 v1.5)" \
    eng dgst -sha256 -engine pkcs11 -keyform engine -sign "$RSA_URI" -out rsa.sig file.bin
check "plain openssl verifies the RSA signature" openssl dgst -sha256 -verify rsa.pem -signature rsa.sig file.bin
check "openssl dgst -sign with RSA-PSS" \
    eng dgst -sha384 -engine pkcs11 -keyform engine -sign "$RSA_URI" -sigopt rsa_padding_mode:pss \
    -sigopt rsa_pss_saltlen:digest -out pss.sig file.bin
check "plain openssl verifies the PSS signature" openssl dgst -sha384 -verify rsa.pem \
    -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest -signature pss.sig file.bin
check "openssl dgst -sign with the EC key by URI (ECDSA)" \
    eng dgst -sha256 -engine pkcs11 -keyform engine -sign "$EC_URI" -out ec.sig file.bin
check "plain openssl verifies the ECDSA signature" openssl dgst -sha256 -verify ec.pem -signature ec.sig file.bin
printf 'x' >>file.bin
check "a changed file does not verify" fails openssl dgst -sha256 -verify rsa.pem -signature rsa.sig file.bin
check "a wrong PIN does not sign" fails eng dgst -sha256 -engine pkcs11 -keyform engine \
    -sign "$TOKEN_URI;object=ossl-rsa;type=private;pin-value=cu1:nope1234" -out bad.sig file.bin

# The public key the engine saw is the one pkcs11-tool exports. (Every key needs a logged-in
# crypto user here, public ones too: hence pin-value in the public URIs.)
p11 --read-object --type pubkey --id e001 -o rsa.der
check "the exported keys agree" eq "$(openssl pkey -pubin -inform DER -in rsa.der -outform PEM 2>/dev/null)" \
    "$(cat rsa.pem)"

finish

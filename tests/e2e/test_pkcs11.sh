#!/usr/bin/env bash
# test_pkcs11.sh - the PKCS#11 module (libchsm-pkcs11.so) under OpenSC's pkcs11-tool against the
# tutorial-ready fixture's source cluster: slots and token, mechanisms, login (and a wrong PIN),
# AES/RSA/EC generation, sign and verify with every signature mechanism (and plain openssl on
# the exported public keys), encrypt and decrypt, wrap and unwrap, import, random, and
# `pkcs11-tool --test`.
SUB=00000000-0000-0000-0000-000000000001 # the tutorial-ready fixture's subscription
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cloudhsm_lib.sh"
source "$(dirname "$0")/pkcs11_lib.sh"
start_emulator --fixture tutorial-ready
must use_cluster chsm-src
cd "$E2E_TMP"

# --- slots, token, mechanisms ---
p11_anon -L
check "one slot" out_has "Slot 0 (0x1): Cloud HSM cluster hsm1.chsm-src-"
check "token label is the cluster" out_has "token label        : chsm-src"
check "token initialized" out_has "token initialized, PIN initialized"
p11_anon -M
for m in AES-KEY-GEN RSA-PKCS-KEY-PAIR-GEN ECDSA-KEY-PAIR-GEN SHA256-RSA-PKCS SHA384-RSA-PKCS-PSS \
    RSA-PKCS-OAEP "ECDSA," ECDSA-SHA384 AES-GCM AES-CBC-PAD SHA512; do
    check "mechanism $m listed" out_has "$m"
done
check "no PKCS#1 v1.5 encryption offered" fails out_has "RSA-PKCS, keySize={2048,4096}, hw, encrypt"

# --- login ---
p11_anon --login --pin cu1:wrongpass -O
check "wrong password: CKR_PIN_INCORRECT" out_has "CKR_PIN_INCORRECT"
p11_anon --login --pin user1234 -O
check "PIN without user: CKR_PIN_INCORRECT" out_has "CKR_PIN_INCORRECT"
p11_anon -O
check "nothing visible before login" fails out_has "Key Object"
p11 -O
check "fixture AES key visible after login" out_has "label:      data-key"
check "fixture RSA key visible" out_has "label:      sign-key"
check "fixture EC key visible" out_has "label:      ec-key"

# --- generation ---
p11 --keygen --key-type AES:32 --label p11-aes --id a001
check "AES without --sensitive --private refused (as the real library)" out_has "CKR_ATTRIBUTE_VALUE_INVALID"
p11 --keygen --key-type AES:32 --label p11-aes --id a001 --sensitive --private --extractable
check "AES-256 generated" out_has "Secret Key Object; AES length 32"
check "AES id" out_has "ID:         a001"
p11 --keygen --key-type AES:16 --label p11-kek --id a002 --sensitive --private
check "AES-128 generated, not extractable" out_has "never extractable"
p11 --keypairgen --key-type rsa:2048 --label p11-rsa --id b001
check "RSA-2048 pair" out_has "Public Key Object; RSA 2048 bits"
p11 --keypairgen --key-type EC:prime256v1 --label p11-ec256 --id c001
check "EC P-256 pair" out_has "EC_PARAMS:  06082a8648ce3d030107"
p11 --keypairgen --key-type EC:secp384r1 --label p11-ec384 --id c002
check "EC P-384 pair" out_has "EC_PARAMS:  06052b81040022"
p11 --keypairgen --key-type EC:secp521r1 --label p11-ec521 --id c003
check "P-521 refused" fails out_has "Key pair generated"
p11 --keypairgen --key-type rsa:1024 --label p11-rsa1k --id b009
check "RSA-1024 refused: CKR_KEY_SIZE_RANGE" out_has "CKR_KEY_SIZE_RANGE"
p11 --read-object --type secrkey --id a001 -o aes.bin
check "secret key value is sensitive" out_has "CKR_ATTRIBUTE_SENSITIVE"

# --- sign and verify ---
printf 'PKCS#11 module e2e message\n' >msg.txt
openssl dgst -sha256 -binary msg.txt >msg.sha256
openssl dgst -sha384 -binary msg.txt >msg.sha384
p11 --read-object --type pubkey --id b001 -o rsa.der
openssl pkey -pubin -inform DER -in rsa.der -out rsa.pem 2>/dev/null || true
check "RSA public key exported" test -s rsa.pem
# OpenSC 0.23's `--read-object --type pubkey` of an EC key reads freed memory (ASan reports a
# heap-use-after-free inside pkcs11-tool before EVP_PKEY_fromdata) and fails now and then, so
# the P-256 SubjectPublicKeyInfo is put together from the CKA_EC_POINT that -O prints.
# (-O lists every public key; the block with ID c001 is the one.)
p11 -O --type pubkey
printf '%s\n' "$P11_OUT" | python3 -c '
import re, sys
spki = ""
for block in re.split(r"\n(?=\S)", sys.stdin.read()):
    m = re.search(r"EC_POINT:\s+0441(04[0-9a-f]{128})\b", block)
    if m and re.search(r"ID:\s+c001\b", block):
        spki = "3059301306072a8648ce3d020106082a8648ce3d030107034200" + m.group(1)
open("ec256.der", "wb").write(bytes.fromhex(spki))'
openssl pkey -pubin -inform DER -in ec256.der -out ec256.pem 2>/dev/null || true
check "EC public key from CKA_EC_POINT" test -s ec256.pem

sign_verify() { # ID MECH INPUT [extra args...]
    local id=$1 mech=$2 in=$3
    shift 3
    p11 --sign --id "$id" -m "$mech" -i "$in" -o "sig.$mech" "$@"
    check "sign $mech" test -s "sig.$mech"
    p11 --verify --id "$id" -m "$mech" -i "$in" --signature-file "sig.$mech" "$@"
    check "verify $mech" out_has "Signature is valid"
}
for m in SHA256-RSA-PKCS SHA384-RSA-PKCS SHA512-RSA-PKCS SHA256-RSA-PKCS-PSS SHA384-RSA-PKCS-PSS \
    SHA512-RSA-PKCS-PSS; do
    sign_verify b001 "$m" msg.txt
done
sign_verify b001 RSA-PKCS msg.txt
sign_verify b001 RSA-PKCS-PSS msg.sha256 --hash-algorithm SHA256 --mgf MGF1-SHA256
sign_verify c001 ECDSA-SHA256 msg.txt
sign_verify c002 ECDSA-SHA384 msg.txt
sign_verify c002 ECDSA msg.sha384
check "plain openssl verifies SHA256-RSA-PKCS" openssl dgst -sha256 -verify rsa.pem \
    -signature sig.SHA256-RSA-PKCS msg.txt
check "plain openssl verifies SHA384-RSA-PKCS-PSS" openssl dgst -sha384 -sigopt rsa_padding_mode:pss \
    -sigopt rsa_pss_saltlen:digest -verify rsa.pem -signature sig.SHA384-RSA-PKCS-PSS msg.txt
p11 --sign --id c001 -m ECDSA-SHA256 --signature-format openssl -i msg.txt -o ec.der.sig
check "plain openssl verifies ECDSA-SHA256" openssl dgst -sha256 -verify ec256.pem \
    -signature ec.der.sig msg.txt
check "an ECDSA P-384 signature is r||s of 96 bytes" eq "$(stat -c %s sig.ECDSA)" 96
printf 'tampered\n' >bad.txt
p11 --verify --id b001 -m SHA256-RSA-PKCS -i bad.txt --signature-file sig.SHA256-RSA-PKCS
check "tampered message: invalid signature" out_has "Invalid signature"
p11 --sign --id a001 -m SHA256-RSA-PKCS -i msg.txt -o x.sig
check "signing with an AES key refused" fails test -s x.sig

# --- encrypt and decrypt ---
IV=000102030405060708090a0b0c0d0e0f
p11 --encrypt --id a001 -m AES-CBC-PAD --iv $IV -i msg.txt -o cbc.bin
check "AES-CBC-PAD ciphertext" eq "$(stat -c %s cbc.bin)" 32
p11 --decrypt --id a001 -m AES-CBC-PAD --iv $IV -i cbc.bin -o cbc.out
check "AES-CBC-PAD round trip" cmp -s cbc.out msg.txt
check "ciphertext is not the plaintext" fails cmp -s cbc.bin msg.txt
# pkcs11-tool 0.23 encrypts with secret keys only: RSA-OAEP input comes from plain openssl.
openssl pkeyutl -encrypt -pubin -inkey rsa.pem -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 \
    -pkeyopt rsa_mgf1_md:sha256 -in msg.txt -out oaep2.bin || true
p11 --decrypt --id b001 -m RSA-PKCS-OAEP --hash-algorithm SHA256 --mgf MGF1-SHA256 -i oaep2.bin -o oaep2.out
check "RSA-OAEP from plain openssl decrypts in the HSM" cmp -s oaep2.out msg.txt
p11 --decrypt --id b001 -m RSA-PKCS-OAEP --hash-algorithm SHA-1 -i oaep2.bin -o x.out
check "OAEP with SHA-1 refused: CKR_MECHANISM_PARAM_INVALID" out_has "CKR_MECHANISM_PARAM_INVALID"

# --- wrap and unwrap (pkcs11-tool 0.23 has no name for CKM_AES_KEY_WRAP_PAD: 0x210A) ---
p11 --wrap --id a002 -m 0x210A --application-id a001 -o wrapped.bin
check "AES key wrapped with AES-KWP" eq "$(stat -c %s wrapped.bin 2>/dev/null)" 40
p11 --unwrap --id a002 -m 0x210A -i wrapped.bin --key-type AES: --application-id a003 \
    --application-label p11-unwrapped --sensitive --private
check "unwrapped into a new key" out_has "p11-unwrapped"
p11 --decrypt --id a003 -m AES-CBC-PAD --iv $IV -i cbc.bin -o cbc2.out
check "the unwrapped key decrypts what the original encrypted" cmp -s cbc2.out msg.txt
p11 --wrap --id a001 -m 0x210A --application-id a002 -o nope.bin
check "a non-extractable key is not wrapped: CKR_KEY_UNEXTRACTABLE" out_has "CKR_KEY_UNEXTRACTABLE"

# --- import (C_CreateObject through a transient wrapping key) ---
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -outform DER -out imp.der 2>/dev/null
p11 --write-object imp.der --type privkey --id d001 --label p11-imported --sensitive --private
check "RSA private key imported" out_has "p11-imported"
p11 --sign --id d001 -m SHA256-RSA-PKCS -i msg.txt -o imp.sig
openssl pkey -inform DER -in imp.der -pubout -out imp.pub || true
check "the imported key signs like the original" openssl dgst -sha256 -verify imp.pub -signature imp.sig msg.txt
p11 -O --type privkey --label chsm-p11-import
check "no transient import keys left" fails out_has "chsm-p11-import"

# --- the data plane's prehashed sign/verify underneath (docs/hsm-data-plane.md), by curl ---
must hsm_url dr-rg chsm-src
must login CU cu1 user1234
dp GET "$HSM/keys?keyId=0xb001&class=private"
PRIV=$(jq_ "$DP_BODY" keys.0.handle)
check "CKA_ID b001 is keyId 0xb001 on the wire" test -n "$PRIV"
D256=$(base64 -w0 msg.sha256)
MSG=$(base64 -w0 msg.txt)
dp POST "$HSM/keys/$PRIV/sign" "{\"mechanism\":\"RSA-PSS-SHA256\",\"data\":\"$D256\",\"prehashed\":true}"
check "prehashed PSS sign 200" eq "$DP_STATUS" 200
SIG=$(jq_ "$DP_BODY" signature)
dp POST "$HSM/keys/$PRIV/verify" "{\"mechanism\":\"RSA-PSS-SHA256\",\"data\":\"$MSG\",\"signature\":\"$SIG\"}"
check "a prehashed signature verifies over the message" eq "$(jq_ "$DP_BODY" valid)" True
dp POST "$HSM/keys/$PRIV/sign" "{\"mechanism\":\"RSA-PSS-SHA256\",\"data\":\"$MSG\",\"prehashed\":true}"
check "prehashed data of the wrong length: 400" eq "$DP_STATUS" 400
dp POST "$HSM/keys/$PRIV/sign" "{\"mechanism\":\"RSA-PSS-SHA256\",\"data\":\"$D256\",\"prehashed\":\"yes\"}"
check "a non-boolean prehashed: 400 InvalidRequest" eq "$(jq_ "$DP_BODY" error.code)" InvalidRequest
dp POST "$HSM/keys/$PRIV/sign" "{\"mechanism\":\"ECDSA\",\"data\":\"$D256\"}"
check "ECDSA with an RSA key: 400" eq "$DP_STATUS" 400
SESSION=""

# --- random, object removal, the OpenSC self test ---
p11 --generate-random 5000 -o rnd.bin
check "5000 random bytes" eq "$(stat -c %s rnd.bin)" 5000
p11 --delete-object --type secrkey --id a003
p11 -O --type secrkey --id a003
check "deleted key is gone" fails out_has "p11-unwrapped"
p11 --test
check "pkcs11-tool --test: No errors" out_has "No errors"
[ "$FAILS" -eq 0 ] || printf '%s\n' "$P11_OUT" | tail -30

finish

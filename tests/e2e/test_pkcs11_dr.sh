#!/usr/bin/env bash
# test_pkcs11_dr.sh - the DR proof through the PKCS#11 module: an application generates keys
# through the module on the source cluster and signs and encrypts, the cluster is backed up
# through ARM and restored into the destination, the module's configuration is pointed at the
# destination, and the same CKA_IDs find keys that verify the earlier signatures and decrypt
# the earlier ciphertext. Then one configuration names both clusters: two slots.
SUB=00000000-0000-0000-0000-000000000001 # the tutorial-ready fixture's subscription
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cloudhsm_lib.sh"
source "$(dirname "$0")/pkcs11_lib.sh"
start_emulator --fixture tutorial-ready
cd "$E2E_TMP"
RG=dr-rg

# --- before the disaster: the application's keys and outputs on the source ---
must use_cluster chsm-src
cp chsm-src.cfg azcloudhsm_resource.cfg.src
p11 --keypairgen --key-type rsa:2048 --label app-signing --id 5151
check "RSA pair on the source" out_has "Key pair generated"
p11 --keypairgen --key-type EC:secp384r1 --label app-ec --id 5152
check "EC pair on the source" out_has "Key pair generated"
p11 --keygen --key-type AES:32 --label app-data --id 5153 --sensitive --private
check "AES key on the source" out_has "Secret Key Object"
printf 'signed before the disaster\n' >msg.txt
p11 --sign --id 5151 -m SHA256-RSA-PKCS -i msg.txt -o rsa.sig
check "RSA signature made on the source" test -s rsa.sig
p11 --sign --id 5152 -m ECDSA-SHA384 -i msg.txt -o ec.sig
check "ECDSA signature made on the source" test -s ec.sig
IV=0f0e0d0c0b0a09080706050403020100
p11 --encrypt --id 5153 -m AES-CBC-PAD --iv $IV -i msg.txt -o data.enc
check "data encrypted on the source" test -s data.enc
p11 --read-object --type pubkey --id 5151 -o src-pub.der
check "source public key exported" test -s src-pub.der

# --- backup of the source and restore into the destination, through ARM ---
CONTAINER=https://drbackups.blob.core.windows.net/backups
arm POST "$(cluster_path $RG chsm-src)/backup?api-version=$HSM_V" \
    "{\"azureStorageBlobContainerUri\":\"$CONTAINER\"}"
check "backup accepted" eq "$STATUS" 202
follow_location
check "backup Succeeded" eq "$JOB" Succeeded
BACKUP_ID=$(jq_ "$BODY_OUT" properties.backupId)
arm POST "$(cluster_path $RG chsm-dst)/restore?api-version=$HSM_V" \
    "{\"azureStorageBlobContainerUri\":\"$CONTAINER\",\"backupId\":\"$BACKUP_ID\"}"
check "restore accepted" eq "$STATUS" 202
follow_location
check "restore Succeeded" eq "$JOB" Succeeded

# --- after: the module pointed at the destination ---
must use_cluster chsm-dst
check "the configuration now names the destination" fails cmp -s chsm-dst.cfg azcloudhsm_resource.cfg.src
p11_anon -L
check "the token is the destination cluster" out_has "token label        : chsm-dst"
p11 -O --id 5151
check "the RSA key is found by the same CKA_ID" out_has "label:      app-signing"
p11 --verify --id 5151 -m SHA256-RSA-PKCS -i msg.txt --signature-file rsa.sig
check "the restored RSA key verifies the signature made before" out_has "Signature is valid"
p11 --verify --id 5152 -m ECDSA-SHA384 -i msg.txt --signature-file ec.sig
check "the restored EC key verifies the ECDSA signature made before" out_has "Signature is valid"
p11 --decrypt --id 5153 -m AES-CBC-PAD --iv $IV -i data.enc -o data.out
check "the restored AES key decrypts the data encrypted before" cmp -s data.out msg.txt
p11 --read-object --type pubkey --id 5151 -o dst-pub.der
check "the public key is the same" cmp -s src-pub.der dst-pub.der
printf 'signed after the restore\n' >msg2.txt
p11 --sign --id 5151 -m SHA256-RSA-PKCS -i msg2.txt -o rsa2.sig
openssl pkey -pubin -inform DER -in src-pub.der -out src-pub.pem 2>/dev/null || true
check "a signature made on the destination verifies with the source's public key" \
    openssl dgst -sha256 -verify src-pub.pem -signature rsa2.sig msg2.txt
printf 'tampered\n' >bad.txt
p11 --verify --id 5151 -m SHA256-RSA-PKCS -i bad.txt --signature-file rsa.sig
check "a tampered message still fails on the destination" out_has "Invalid signature"

# --- one configuration naming both clusters: one slot each ---
python3 - chsm-src.cfg chsm-dst.cfg >both.cfg <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
a["servers"] += b["servers"]
a["servers"].append({"hostname": b["servers"][0]["hostname"].replace("hsm1.", "hsm2.", 1)})
print(json.dumps(a))
PY
export CHSM_PKCS11_CONFIG=$E2E_TMP/both.cfg
p11_anon -L
check "two clusters, two slots (a second node of one cluster adds none)" \
    eq "$(printf '%s\n' "$P11_OUT" | grep -c '^Slot ')" 2
check "slot 2 is the destination" out_has "token label        : chsm-dst"
p11_anon --slot 2 --login --pin "$PIN" --verify --id 5151 -m SHA256-RSA-PKCS -i msg.txt \
    --signature-file rsa.sig
check "verification through slot 2" out_has "Signature is valid"

finish

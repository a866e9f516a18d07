#!/usr/bin/env bash
# test_cloudhsm_dataplane.sh - the simulated HSM's own API (docs/hsm-data-plane.md): activation,
# user management rules, lockout, key ownership and sharing, sign/verify, encrypt/decrypt,
# wrap/unwrap, attributes, random, sessions.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cloudhsm_lib.sh"
start_emulator

RG=dprg
must create_rg $RG
must create_cluster $RG hsm1
must hsm_url $RG hsm1

dp GET "$ARM/hsm/nosuch-0000000000000000/cluster"
check "unknown label: 404" eq "$(jq_ "$DP_BODY" error.code)" ClusterNotFound
dp GET "$HSM/cluster"
check "cluster: NotActivated" eq "$(jq_ "$DP_BODY" activationState)" NotActivated
check "cluster: node 1 hostname" contains "$(jq_ "$DP_BODY" nodes.0.hostname)" ".cloudhsm.localhost"
dp GET "$HSM/users"
check "users need a session: 401" eq "$DP_STATUS" 401
check "401 code" eq "$(jq_ "$DP_BODY" error.code)" RET_USER_LOGIN_FAILURE
check "401 hsmReturn" eq "$(jq_ "$DP_BODY" error.hsmReturn)" 0x000000a3
login PRECO admin wrongpass1 || true
check "wrong PRECO password: 401" eq "$DP_STATUS" 401
must login PRECO admin tenantadmin
dp GET "$HSM/users"
check "PRECO lists users" eq "$(jq_ "$DP_BODY" users.0.userType)" PRECO
dp POST "$HSM/users" '{"userType":"CU","username":"cu1","password":"user1234"}'
check "users before activation: 409" eq "$(jq_ "$DP_BODY" error.code)" ClusterNotActivated
dp POST "$HSM/activate" '{"newPassword":"short"}'
check "short password: 400" eq "$DP_STATUS" 400
dp POST "$HSM/activate" '{"newPassword":"adminpass1"}'
check "activate: 200" eq "$DP_STATUS" 200
check "activate: Active" eq "$(jq_ "$DP_BODY" activationState)" Active
dp POST "$HSM/activate" '{"newPassword":"adminpass2"}'
check "activate twice: 409" eq "$DP_STATUS" 409
dp GET "$HSM/users"
check "admin is now a CO" eq "$(jq_ "$DP_BODY" users.0.userType)" CO
login PRECO admin tenantadmin || true
check "PRECO login gone" eq "$DP_STATUS" 401
must login CO admin adminpass1
CO=$SESSION
dp POST "$HSM/users" '{"userType":"CU","username":"cu1","password":"user1234"}'
check "CO creates cu1" eq "$DP_STATUS" 201
dp POST "$HSM/users" '{"userType":"CU","username":"CU1","password":"user1234"}'
check "names are case-insensitive" eq "$(jq_ "$DP_BODY" error.code)" UserAlreadyExists
dp POST "$HSM/users" '{"userType":"CU","username":"cu2","password":"user5678"}'
dp POST "$HSM/users" '{"userType":"CU","username":"bad-name","password":"user5678"}'
check "bad user name: 400" eq "$DP_STATUS" 400
dp POST "$HSM/keys" '{"type":"AES"}'
check "CO cannot make keys" eq "$(jq_ "$DP_BODY" error.code)" OperationNotPermitted

# Lockout after 5 failures; a CO's reset unlocks.
for i in 1 2 3 4; do login CU cu2 wrongpass0 || true; done
login CU cu2 wrongpass0 || true
check "5th failure locks: 423" eq "$DP_STATUS" 423
login CU cu2 user5678 || true
check "locked even with the right password" eq "$(jq_ "$DP_BODY" error.code)" UserLocked
SESSION=$CO
dp PUT "$HSM/users/cu2/password" '{"userType":"CU","password":"newpass99"}'
check "CO resets cu2" eq "$(jq_ "$DP_BODY" locked)" False
login CU cu2 newpass99 || true
check "cu2 logs in again" eq "$DP_STATUS" 200
CU2=$SESSION

must login CU cu1 user1234
CU1=$SESSION
dp POST "$HSM/users" '{"userType":"CU","username":"cu3","password":"user1234"}'
check "CU cannot create users" eq "$(jq_ "$DP_BODY" error.code)" OperationNotPermitted
dp POST "$HSM/keys" '{"type":"AES","size":128,"label":"kek","keyId":"kek1"}'
check "AES-128" eq "$(jq_ "$DP_BODY" keys.0.size)" 128
KEK=$(jq_ "$DP_BODY" keys.0.handle)
dp POST "$HSM/keys" '{"type":"AES","size":256,"label":"data","keyId":"data1"}'
DATA_KEY=$(jq_ "$DP_BODY" keys.0.handle)
DATA_KCV=$(jq_ "$DP_BODY" keys.0.kcv)
dp POST "$HSM/keys" '{"type":"AES","keyId":"kek1"}'
check "duplicate keyId: 409" eq "$(jq_ "$DP_BODY" error.code)" KeyIdAlreadyExists
dp POST "$HSM/keys" '{"type":"AES"}'
check "keyId generated when absent" test -n "$(jq_ "$DP_BODY" keys.0.keyId)"
dp POST "$HSM/keys" '{"type":"RSA","size":2048,"keyId":"rsa1"}'
RPUB=$(jq_ "$DP_BODY" keys.0.handle)
RPRIV=$(jq_ "$DP_BODY" keys.1.handle)
dp POST "$HSM/keys" '{"type":"DES"}'
check "unknown key type: 400" eq "$DP_STATUS" 400

# Wrap and unwrap (RFC 5649) keep the key.
dp POST "$HSM/keys/$KEK/wrap" "{\"mechanism\":\"AES-KEY-WRAP-PAD\",\"keyHandle\":$DATA_KEY}"
check "wrap: 200" eq "$DP_STATUS" 200
WRAPPED=$(jq_ "$DP_BODY" wrapped)
dp POST "$HSM/keys/$KEK/unwrap" "{\"mechanism\":\"AES-KEY-WRAP-PAD\",\"wrapped\":\"$WRAPPED\",\"type\":\"AES\",\"label\":\"copy\",\"keyId\":\"copy1\"}"
check "unwrap: 201" eq "$DP_STATUS" 201
check "unwrapped key has the same KCV" eq "$(jq_ "$DP_BODY" keys.0.kcv)" "$DATA_KCV"
# RSA-OAEP round trip and signatures.
dp POST "$HSM/keys/$RPUB/encrypt" '{"mechanism":"RSA-OAEP-SHA256","data":"aGk="}'
CT=$(jq_ "$DP_BODY" ciphertext)
dp POST "$HSM/keys/$RPRIV/decrypt" "{\"mechanism\":\"RSA-OAEP-SHA256\",\"ciphertext\":\"$CT\"}"
check "RSA-OAEP round trip" eq "$(jq_ "$DP_BODY" data)" aGk=
dp POST "$HSM/keys/$RPRIV/sign" '{"mechanism":"RSA-PSS-SHA256","data":"bXNn"}'
SIG=$(jq_ "$DP_BODY" signature)
dp POST "$HSM/keys/$RPUB/verify" "{\"mechanism\":\"RSA-PSS-SHA256\",\"data\":\"bXNn\",\"signature\":\"$SIG\"}"
check "PSS verifies" eq "$(jq_ "$DP_BODY" valid)" True
dp POST "$HSM/keys/$RPUB/verify" "{\"mechanism\":\"RSA-PSS-SHA256\",\"data\":\"b3RoZXI=\",\"signature\":\"$SIG\"}"
check "PSS rejects other data" eq "$(jq_ "$DP_BODY" valid)" False
dp POST "$HSM/keys/$RPUB/sign" '{"mechanism":"RSA-PSS-SHA256","data":"bXNn"}'
check "public key cannot sign" eq "$DP_STATUS" 400
dp GET "$HSM/keys/$RPUB/public"
check "public PEM" contains "$(jq_ "$DP_BODY" pem)" "BEGIN PUBLIC KEY"

# Ownership and sharing.
SESSION=$CU2
dp GET "$HSM/keys/$KEK"
check "cu2 cannot see cu1's key" eq "$(jq_ "$DP_BODY" error.code)" KeyAccessDenied
dp GET "$HSM/keys/$RPUB"
check "public keys are visible to every CU" eq "$DP_STATUS" 200
SESSION=$CU1
dp POST "$HSM/keys/$RPRIV/share" '{"username":"cu2","share":true}'
check "share: 200" eq "$(jq_ "$DP_BODY" sharedWith.0)" cu2
SESSION=$CU2
dp POST "$HSM/keys/$RPRIV/sign" '{"mechanism":"RSA-PKCS-SHA256","data":"bXNn"}'
check "shared user signs" eq "$DP_STATUS" 200
dp DELETE "$HSM/keys/$RPRIV"
check "shared user cannot delete" eq "$(jq_ "$DP_BODY" error.code)" KeyAccessDenied
dp GET "$HSM/keys?keyId=rsa1"
check "find: shared private + public" eq "$(jq_ "$DP_BODY" keys.1.class)" private

# Attributes.
SESSION=$CU1
dp PATCH "$HSM/keys/$DATA_KEY" '{"attributes":{"extractable":false},"label":"renamed"}'
check "PATCH: version 2" eq "$(jq_ "$DP_BODY" version)" 2
dp PATCH "$HSM/keys/$DATA_KEY" '{"attributes":{"extractable":true}}'
check "extractable cannot come back" eq "$DP_STATUS" 400
dp POST "$HSM/keys/$KEK/wrap" "{\"mechanism\":\"AES-KEY-WRAP-PAD\",\"keyHandle\":$DATA_KEY}"
check "non-extractable key cannot be wrapped" eq "$DP_STATUS" 403
dp PATCH "$HSM/keys/$KEK" '{"attributes":{"trusted":true}}'
check "CU cannot set trusted" eq "$DP_STATUS" 403
SESSION=$CO
dp PATCH "$HSM/keys/$KEK" '{"attributes":{"trusted":true}}'
check "CO sets trusted" eq "$(jq_ "$DP_BODY" attributes.trusted)" True
dp DELETE "$HSM/users/cu1"
check "CU owning keys cannot be deleted" eq "$(jq_ "$DP_BODY" error.code)" UserOwnsKeys

SESSION=$CU1
dp GET "$HSM/random?bytes=32"
check "random 32 bytes" eq "$(jq_ "$DP_BODY" data | base64 -d | wc -c | tr -d ' ')" 32
dp GET "$HSM/random?bytes=5000"
check "random bound" eq "$DP_STATUS" 400
dp GET "$HSM/keys/999999"
check "unknown handle" eq "$(jq_ "$DP_BODY" error.code)" InvalidObjectHandle
dp DELETE "$HSM/keys/$KEK"
check "owner deletes" eq "$DP_STATUS" 200
dp POST "$HSM/logout"
check "logout" eq "$DP_STATUS" 200
dp GET "$HSM/keys"
check "session gone after logout" eq "$DP_STATUS" 401

finish

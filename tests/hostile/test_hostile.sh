#!/usr/bin/env bash
# test_hostile.sh - the hostile input catalogue (tests/hostile/cases.txt, run by hostile.py):
# starts an emulator with a short idle timeout, sets up one of everything the cases aim at
# (resource group, storage account, Cloud HSM cluster activated with a crypto user, Managed
# HSM with a key, a Blob container and blob), then sends every case over a raw socket and
# checks each gets a 4xx (or, for slow and truncated ones, a closed connection), never a 5xx,
# with the emulator healthy and its state unchanged afterwards.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../e2e/lib.sh"
source "$here/../e2e/cloudhsm_lib.sh"
# Idle connections are closed after 3 s, so the stalled and truncated cases are bounded.
start_emulator --request-timeout 3

RG=hostilerg
must create_rg $RG
must create_identity $RG hostile-id
must create_storage $RG hostileacct hcc
must create_cluster $RG hcl "$MSI_ID"
must hsm_url $RG hcl
must activate_with_cu
dp POST "$HSM/keys" '{"type":"AES","size":256,"keyId":"hostilekey"}'
check "HSM key" eq "$DP_STATUS" 201

TENANT=72f988bf-86f1-41af-91ab-2d7cd011db47
ADMIN=aaaaaaaa-0000-4000-8000-0000000000ad
arm PUT "$(rg_path $RG)/providers/Microsoft.KeyVault/managedHSMs/hmhsm?api-version=2023-07-01" \
    "{\"location\":\"uksouth\",\"sku\":{\"family\":\"B\",\"name\":\"Standard_B1\"},\"properties\":{\"tenantId\":\"$TENANT\",\"initialAdminObjectIds\":[\"$ADMIN\"]}}"
must ok_status
arm GET "$(rg_path $RG)/providers/Microsoft.KeyVault/managedHSMs/hmhsm?api-version=2023-07-01"
MTOKEN=$(curl -sS $(ca_opt) -X POST "$ARM/$TENANT/oauth2/v2.0/token" \
    -d "grant_type=client_credentials&client_id=$ADMIN&client_secret=x&scope=https://managedhsm.azure.net/.default" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
TOKEN=$MTOKEN arm PUT "/mhsm/hmhsm///providers/Microsoft.Authorization/roleAssignments/$(python3 -c 'import uuid; print(uuid.uuid4())')?api-version=7.4" \
    "{\"properties\":{\"roleDefinitionId\":\"Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/21dbd100-6940-42c2-9190-5d6cb909625b\",\"principalId\":\"$ADMIN\"}}"
must ok_status
TOKEN=$MTOKEN arm POST "/mhsm/hmhsm/keys/mkey/create?api-version=7.4" '{"kty":"RSA-HSM","key_size":2048}'
must ok_status

BR="$here/../e2e/blobreq.py"
DEVKEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
check "blob container" eq "$(python3 "$BR" PUT "$BLOB/devstoreaccount1/hcc?restype=container" \
    --account devstoreaccount1 --key "$DEVKEY" --cacert "$CA")" 201
check "blob" eq "$(python3 "$BR" PUT "$BLOB/devstoreaccount1/hcc/hb" --account devstoreaccount1 \
    --key "$DEVKEY" --cacert "$CA" -H 'x-ms-blob-type: BlockBlob' --data hostile)" 201

export SUB TOKEN RG SESSION MTOKEN
export CLUSTER="$(cluster_path $RG hcl)"
export HSM="/hsm/${HSM##*/hsm/}"
export MHSM=/mhsm/hmhsm
export STACCT="$ACCOUNT_ID"
export HOSTILE_CLOSE_LIMIT=8
if python3 "$here/hostile.py" "$here/cases.txt"; then
    PASSES=$((PASSES + 1))
else
    FAILS=$((FAILS + 1))
    echo "FAIL: hostile cases (see above)"
fi
finish

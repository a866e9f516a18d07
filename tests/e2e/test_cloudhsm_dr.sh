#!/usr/bin/env bash
# test_cloudhsm_dr.sh - the tutorial "Back up and restore Azure Cloud HSM resources", end to
# end, with curl: resource group, identity, two clusters with the identity, storage account and
# container, Storage Blob Data Contributor for the identity, activation of the source through
# the HSM data plane, keys made by a crypto user, backup, one GET of Location, restore into the
# second cluster, one GET of Location, and the destination serves the same keys. Run once per
# api-version.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cloudhsm_lib.sh"
start_emulator

RG=drtest
must create_rg $RG
must create_identity $RG hsm-backup-id
must create_storage $RG drbackupacct backups
BACKUP_ACCOUNT_ID=$ACCOUNT_ID
must assign_role "$ACCOUNT_ID" "$MSI_PRINCIPAL" $BLOB_CONTRIBUTOR

run_flow() {
    local v=$1 src=$2 dst=$3
    HSM_V=$v
    must create_cluster $RG $src "$MSI_ID" $v
    check "$v create answers Provisioning" eq "$(jq_ "$BODY_OUT" properties.provisioningState)" Provisioning
    check "$v create shows NotDefined" eq "$(jq_ "$BODY_OUT" properties.activationState)" NotDefined
    check "$v create fills the identity's principalId" python3 -c '
import json, sys
d = json.loads(sys.argv[1])["identity"]["userAssignedIdentities"]
sys.exit(list(d.values())[0]["principalId"] != sys.argv[2] or list(d)[0].lower() != sys.argv[3].lower())' \
        "$BODY_OUT" "$MSI_PRINCIPAL" "$MSI_ID"
    must create_cluster $RG $dst "$MSI_ID" $v

    arm GET "$(cluster_path $RG $src)?api-version=$v"
    check "$v next GET: Succeeded" eq "$(jq_ "$BODY_OUT" properties.provisioningState)" Succeeded
    check "$v next GET: NotActivated" eq "$(jq_ "$BODY_OUT" properties.activationState)" NotActivated
    check "$v next GET: status message" eq "$(jq_ "$BODY_OUT" properties.statusMessage)" \
        "HSM cluster provisioning successful."
    check "$v three hsms" eq "$(jq_ "$BODY_OUT" properties.hsms.2.fqdn | cut -d. -f1,3,4)" \
        "hsm3.cloudhsm.localhost"
    check "$v publicNetworkAccess defaulted" eq "$(jq_ "$BODY_OUT" properties.publicNetworkAccess)" Disabled

    # Activate the source through its HSM and make keys as a crypto user.
    must hsm_url $RG $src
    local src_hsm=$HSM
    dp GET "$HSM/cluster"
    check "$v only node 1 before activation" eq "$(jq_ "$DP_BODY" nodes.1.state)" NotConnected
    must activate_with_cu
    arm GET "$(cluster_path $RG $src)?api-version=$v"
    check "$v source Active after activation" eq "$(jq_ "$BODY_OUT" properties.activationState)" Active
    dp POST "$HSM/keys" '{"type":"RSA","size":2048,"label":"signkey","keyId":"signkeyid","tags":{"app":"dr"}}'
    check "$v RSA pair made" eq "$DP_STATUS" 201
    local priv
    priv=$(jq_ "$DP_BODY" keys.1.handle)
    dp POST "$HSM/keys" '{"type":"AES","size":256,"label":"kek","keyId":"aeskey1"}'
    check "$v AES key made" eq "$DP_STATUS" 201
    local aes
    aes=$(jq_ "$DP_BODY" keys.0.handle)
    dp POST "$HSM/keys/$aes/encrypt" '{"mechanism":"AES-GCM","data":"c2VjcmV0IGRhdGE="}'
    local ct iv tag
    ct=$(jq_ "$DP_BODY" ciphertext)
    iv=$(jq_ "$DP_BODY" iv)
    tag=$(jq_ "$DP_BODY" tag)
    dp POST "$HSM/keys/$priv/sign" '{"mechanism":"RSA-PKCS-SHA256","data":"aGVsbG8gZHI="}'
    check "$v signed before the backup" eq "$DP_STATUS" 200
    local sig
    sig=$(jq_ "$DP_BODY" signature)

    # Backup, then one GET of Location, as the tutorial does.
    arm POST "$(cluster_path $RG $src)/backup?api-version=$v" \
        '{"azureStorageBlobContainerUri":"https://drbackupacct.blob.core.windows.net/backups"}'
    check "$v backup 202" eq "$STATUS" 202
    check "$v backup empty body" eq "$BODY_OUT" ""
    check "$v no Azure-AsyncOperation" eq "$(header Azure-AsyncOperation)" ""
    check "$v Location to backupOperationStatus" contains "$(header Location)" \
        "$ARM$(cluster_path $RG $src)/backupOperationStatus/"
    check "$v Location keeps api-version" contains "$(header Location)" "?api-version=$v"
    follow_location
    check "$v backup status 200" eq "$STATUS" 200
    check "$v backup Succeeded" eq "$JOB" Succeeded
    local bid
    bid=$(jq_ "$BODY_OUT" properties.backupId)
    BACKUP_ID=$bid
    check "$v backupId format" python3 -c 'import re,sys; sys.exit(not re.fullmatch(r"cloudhsm-[0-9a-f-]{36}-\d{16}", sys.argv[1]))' "$bid"
    check "$v jobId is 32 hex" python3 -c 'import re,sys; sys.exit(not re.fullmatch(r"[0-9a-f]{32}", sys.argv[1]))' "$(jq_ "$BODY_OUT" properties.jobId)"
    check "$v backup status validates" contract GET "$(cluster_path $RG $src)/backupOperationStatus/x" $v

    # Restore into the second cluster, one GET of Location.
    arm POST "$(cluster_path $RG $dst)/restore?api-version=$v" \
        "{\"azureStorageBlobContainerUri\":\"https://drbackupacct.blob.core.windows.net/backups\",\"backupId\":\"$bid\"}"
    check "$v restore 202" eq "$STATUS" 202
    check "$v Location to restoreOperationStatus" contains "$(header Location)" "/restoreOperationStatus/"
    follow_location
    check "$v restore Succeeded" eq "$JOB" Succeeded
    check "$v restore status validates" contract GET "$(cluster_path $RG $dst)/restoreOperationStatus/x" $v
    arm GET "$(cluster_path $RG $dst)?api-version=$v"
    check "$v destination Active" eq "$(jq_ "$BODY_OUT" properties.activationState)" Active
    check "$v destination provisioned" eq "$(jq_ "$BODY_OUT" properties.provisioningState)" Succeeded

    # The destination's HSM has the same users and keys.
    must hsm_url $RG $dst
    check "$v destination has its own label" test "$HSM" != "$src_hsm"
    dp GET "$HSM/cluster"
    check "$v all nodes connected after restore" eq "$(jq_ "$DP_BODY" nodes.2.state)" Connected
    login CU cu1 user1234
    check "$v source's CU logs in on the destination" test -n "$SESSION"
    dp GET "$HSM/keys?keyId=signkeyid"
    check "$v signkeyid pair restored" eq "$(jq_ "$DP_BODY" keys.1.keyId)" signkeyid
    check "$v tags restored" eq "$(jq_ "$DP_BODY" keys.0.tags.app)" dr
    local pub
    pub=$(jq_ "$DP_BODY" keys.0.handle)
    check "$v first key is the public half" eq "$(jq_ "$DP_BODY" keys.0.class)" public
    dp POST "$HSM/keys/$pub/verify" \
        "{\"mechanism\":\"RSA-PKCS-SHA256\",\"data\":\"aGVsbG8gZHI=\",\"signature\":\"$sig\"}"
    check "$v old signature verifies with the restored key" eq "$(jq_ "$DP_BODY" valid)" True
    dp GET "$HSM/keys?keyId=aeskey1"
    local aes2
    aes2=$(jq_ "$DP_BODY" keys.0.handle)
    dp POST "$HSM/keys/$aes2/decrypt" \
        "{\"mechanism\":\"AES-GCM\",\"ciphertext\":\"$ct\",\"iv\":\"$iv\",\"tag\":\"$tag\"}"
    check "$v restored AES key decrypts" eq "$(jq_ "$DP_BODY" data)" "c2VjcmV0IGRhdGE="
    SESSION=""
}

run_flow 2025-03-31 src-25 dst-25
run_flow 2024-06-30-preview src-24 dst-24

# The backup blob holds no key material in the clear and is a versioned format.
blob=$E2E_TMP/backup.bin
check "backup blob stored in the blob store" backup_blob_get "$BACKUP_ACCOUNT_ID" backups "$BACKUP_ID" "$blob"
check "backup blob starts with the magic" eq "$(head -c 8 "$blob" 2>/dev/null)" CHSMBKUP
check "no key ids or PEM in the clear" fails grep -q --binary-files=text -e signkeyid -e BEGIN "$blob"

finish

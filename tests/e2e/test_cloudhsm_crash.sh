#!/usr/bin/env bash
# test_cloudhsm_crash.sh - slow operations and crashes: with --op-duration the backup, restore
# and provisioning jobs report 202/Provisioning until due; a restore and a backup interrupted by
# SIGKILL are completed after restart, whole (never half-applied).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cloudhsm_lib.sh"
start_emulator --op-duration backup=2s,restore=2s,provision=1s

RG=crashrg
U=https://crashacct.blob.core.windows.net/backups
must create_rg $RG
must create_identity $RG crash-id
must create_storage $RG crashacct backups
must assign_role "$ACCOUNT_ID" "$MSI_PRINCIPAL" $BLOB_CONTRIBUTOR
must create_cluster $RG src "$MSI_ID"
check "slow provisioning: Provisioning" eq "$(jq_ "$BODY_OUT" properties.provisioningState)" Provisioning
arm GET "$(cluster_path $RG src)?api-version=$HSM_V"
check "still Provisioning before due" eq "$(jq_ "$BODY_OUT" properties.provisioningState)" Provisioning
check "NotDefined while provisioning" eq "$(jq_ "$BODY_OUT" properties.activationState)" NotDefined
arm POST "$(cluster_path $RG src)/backup?api-version=$HSM_V" "{\"azureStorageBlobContainerUri\":\"$U\"}"
check "backup while provisioning: 409" eq "$STATUS" 409
must create_cluster $RG dst "$MSI_ID"
sleep 1.2
arm GET "$(cluster_path $RG src)?api-version=$HSM_V"
check "provisioned when due" eq "$(jq_ "$BODY_OUT" properties.provisioningState)" Succeeded
must hsm_url $RG src
must activate_with_cu
dp POST "$HSM/keys" '{"type":"EC","curve":"P-384","keyId":"crashkey"}'
check "key made" eq "$DP_STATUS" 201
SESSION=""

# Backup interrupted by a crash.
arm POST "$(cluster_path $RG src)/backup?api-version=$HSM_V" "{\"azureStorageBlobContainerUri\":\"$U\"}"
check "backup accepted" eq "$STATUS" 202
LOC=$(header Location)
arm GET "$LOC"
check "backup running: 202" eq "$STATUS" 202
check "running status repeats Location" eq "$(header Location)" "$LOC"
kill_emulator
OLD=$ARM
start_emulator
LOC=${LOC/#$OLD/$ARM}
sleep 2
arm GET "$LOC"
check "backup completed after restart" eq "$(jq_ "$BODY_OUT" properties.status)" Succeeded
BID=$(jq_ "$BODY_OUT" properties.backupId)

# Restore interrupted by a crash (started with the restore duration of the first run's flags).
kill_emulator
start_emulator --op-duration restore=2s
arm POST "$(cluster_path $RG dst)/restore?api-version=$HSM_V" \
    "{\"azureStorageBlobContainerUri\":\"$U\",\"backupId\":\"$BID\"}"
check "restore accepted" eq "$STATUS" 202
LOC=$(header Location)
arm GET "$(cluster_path $RG dst)?api-version=$HSM_V"
check "destination untouched while the restore runs" eq "$(jq_ "$BODY_OUT" properties.activationState)" NotActivated
kill_emulator
OLD=$ARM
start_emulator
LOC=${LOC/#$OLD/$ARM}
sleep 2
arm GET "$LOC"
check "restore completed after restart" eq "$(jq_ "$BODY_OUT" properties.status)" Succeeded
arm GET "$(cluster_path $RG dst)?api-version=$HSM_V"
check "destination Active" eq "$(jq_ "$BODY_OUT" properties.activationState)" Active
must hsm_url $RG dst
must login CU cu1 user1234
dp GET "$HSM/keys?keyId=crashkey"
check "restored key present" eq "$(jq_ "$DP_BODY" keys.1.curve)" P-384

finish

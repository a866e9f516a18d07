#!/usr/bin/env bash
# test_cloudhsm_failures.sh - every documented failure of Cloud HSM backup/restore, and the
# identity rules: restore into an activated cluster (fails and leaves it nonfunctional),
# restore into the source, SAS in the URI or the token field, no role assignment, missing
# account/container, unknown backupId, a tampered backup blob, two identities, an unknown
# identity, no identity, a source that is not activated. See docs/errors.md.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cloudhsm_lib.sh"
start_emulator

RG=failrg
U=https://acct1.blob.core.windows.net/backups
must create_rg $RG
must create_identity $RG id-with-role
ID1=$MSI_ID
P1=$MSI_PRINCIPAL
must create_identity $RG id-without-role
ID2=$MSI_ID
must create_storage $RG acct1 backups
ACCT1=$ACCOUNT_ID
must create_storage $RG acct2 other
must assign_role "$ACCT1" "$P1" $BLOB_CONTRIBUTOR

# ---- identity rules ----
arm PUT "$(cluster_path $RG two-ids)?api-version=$HSM_V" \
    "{\"sku\":{\"family\":\"B\",\"name\":\"Standard_B1\"},\"location\":\"uksouth\",\"identity\":{\"type\":\"UserAssigned\",\"userAssignedIdentities\":{\"$ID1\":{},\"$ID2\":{}}}}"
check "two identities: 400" eq "$STATUS" 400
check "two identities: code" eq "$(jq_ "$BODY_OUT" error.code)" MultipleManagedIdentitiesNotSupported
arm GET "$(cluster_path $RG two-ids)?api-version=$HSM_V"
check "two identities: nothing created" eq "$STATUS" 404
arm PUT "$(cluster_path $RG unknown-id)?api-version=$HSM_V" \
    "{\"sku\":{\"family\":\"B\",\"name\":\"Standard_B1\"},\"location\":\"uksouth\",\"identity\":{\"type\":\"UserAssigned\",\"userAssignedIdentities\":{\"/subscriptions/$SUB/resourceGroups/$RG/providers/Microsoft.ManagedIdentity/userAssignedIdentities/nope\":{}}}}"
check "unknown identity: 400" eq "$STATUS" 400
check "unknown identity: code" eq "$(jq_ "$BODY_OUT" error.code)" ManagedIdentityNotFound
arm PUT "$(cluster_path $RG both-kinds)?api-version=$HSM_V" \
    "{\"sku\":{\"family\":\"B\",\"name\":\"Standard_B1\"},\"location\":\"uksouth\",\"identity\":{\"type\":\"SystemAssigned,UserAssigned\",\"userAssignedIdentities\":{\"$ID1\":{}}}}"
check "system+user identity: code" eq "$(jq_ "$BODY_OUT" error.code)" MultipleManagedIdentitiesNotSupported
arm PUT "$(cluster_path $RG x)?api-version=$HSM_V" '{"sku":{"family":"B","name":"Standard_B1"},"location":"uksouth"}'
check "name too short: 400" eq "$STATUS" 400
arm PUT "$(cluster_path $RG okname)?api-version=2023-12-10-preview" '{"sku":{"family":"B","name":"Standard_B1"},"location":"uksouth"}'
check "unsupported api-version" eq "$(jq_ "$BODY_OUT" error.code)" InvalidApiVersionParameter

# ---- clusters ----
must create_cluster $RG src "$ID1"
must create_cluster $RG dst-active "$ID1"
must create_cluster $RG dst-fresh "$ID1"
must create_cluster $RG src-norole "$ID2"
must create_cluster $RG no-identity
arm PATCH "$(cluster_path $RG no-identity)?api-version=$HSM_V" \
    "{\"identity\":{\"type\":\"UserAssigned\",\"userAssignedIdentities\":{\"$ID1\":{},\"$ID2\":{}}}}"
check "PATCH with two identities: code" eq "$(jq_ "$BODY_OUT" error.code)" MultipleManagedIdentitiesNotSupported
arm PATCH "$(cluster_path $RG src-norole)?api-version=$HSM_V" \
    "{\"identity\":{\"type\":\"UserAssigned\",\"userAssignedIdentities\":{\"$ID1\":{}}}}"
check "PATCH adding a second identity: code" eq "$(jq_ "$BODY_OUT" error.code)" MultipleManagedIdentitiesNotSupported
arm PATCH "$(cluster_path $RG src-norole)?api-version=$HSM_V" '{"tags":{"team":"dr"}}'
check "PATCH tags: 200" eq "$STATUS" 200
check "PATCH tags applied" eq "$(jq_ "$BODY_OUT" tags.team)" dr

# Backup of a cluster that is not activated yet.
arm POST "$(cluster_path $RG src)/backup?api-version=$HSM_V" "{\"azureStorageBlobContainerUri\":\"$U\"}"
check "backup before activation: 409" eq "$STATUS" 409
check "backup before activation: code" eq "$(jq_ "$BODY_OUT" error.code)" CloudHsmNotActivated

for c in src dst-active src-norole; do
    must hsm_url $RG $c
    must activate_with_cu
    dp POST "$HSM/keys" '{"type":"EC","curve":"P-256","label":"k","keyId":"eckey"}'
    check "$c key made" eq "$DP_STATUS" 201
done
SESSION=""

# ---- request-level (synchronous) failures ----
arm POST "$(cluster_path $RG src)/backup?api-version=$HSM_V" \
    "{\"azureStorageBlobContainerUri\":\"$U?sv=2022-11-02&sig=abc\"}"
check "SAS in URI: 400" eq "$STATUS" 400
check "SAS in URI: code" eq "$(jq_ "$BODY_OUT" error.code)" SasTokenNotSupported
arm POST "$(cluster_path $RG src)/backup?api-version=$HSM_V" \
    "{\"azureStorageBlobContainerUri\":\"$U\",\"token\":\"sv=2022-11-02&sig=abc\"}"
check "token field: 400" eq "$STATUS" 400
check "token field: code" eq "$(jq_ "$BODY_OUT" error.code)" SasTokenNotSupported
arm POST "$(cluster_path $RG dst-fresh)/restore?api-version=$HSM_V" \
    "{\"azureStorageBlobContainerUri\":\"$U\",\"backupId\":\"x\",\"token\":\"sig=abc\"}"
check "restore with token: code" eq "$(jq_ "$BODY_OUT" error.code)" SasTokenNotSupported
arm POST "$(cluster_path $RG src)/backup?api-version=$HSM_V" '{}'
check "backup without URI: 400" eq "$STATUS" 400
arm POST "$(cluster_path $RG src)/backup?api-version=$HSM_V" '{"azureStorageBlobContainerUri":"not a uri"}'
check "bad URI: 400" eq "$(jq_ "$BODY_OUT" error.code)" InvalidStorageContainerUri
arm POST "$(cluster_path $RG dst-fresh)/restore?api-version=$HSM_V" "{\"azureStorageBlobContainerUri\":\"$U\"}"
check "restore without backupId: code" eq "$(jq_ "$BODY_OUT" error.code)" MissingRequiredProperty
arm POST "$(cluster_path $RG no-identity)/restore?api-version=$HSM_V" \
    "{\"azureStorageBlobContainerUri\":\"$U\",\"backupId\":\"cloudhsm-x\"}"
check "no identity: 400" eq "$STATUS" 400
check "no identity: code" eq "$(jq_ "$BODY_OUT" error.code)" ManagedIdentityNotConfigured
arm POST "$(cluster_path $RG nosuch)/backup?api-version=$HSM_V" "{\"azureStorageBlobContainerUri\":\"$U\"}"
check "backup of a missing cluster: 404" eq "$STATUS" 404

# ---- job-level failures ----
arm POST "$(cluster_path $RG src-norole)/backup?api-version=$HSM_V" "{\"azureStorageBlobContainerUri\":\"$U\"}"
check "no role: accepted" eq "$STATUS" 202
follow_location
check "no role: status 200" eq "$STATUS" 200
check "no role: Failed" eq "$JOB" Failed
check "no role: code" eq "$JOB_ERROR" AuthorizationPermissionMismatch
check "no role: mirrored status" eq "$(jq_ "$BODY_OUT" status)" Failed
check "failed status validates" contract GET "$(cluster_path $RG src-norole)/backupOperationStatus/x" $HSM_V
arm POST "$(cluster_path $RG src)/backup?api-version=$HSM_V" \
    '{"azureStorageBlobContainerUri":"https://acct1.blob.core.windows.net/nocontainer"}'
follow_location
check "missing container: code" eq "$JOB_ERROR" ContainerNotFound
arm POST "$(cluster_path $RG src)/backup?api-version=$HSM_V" \
    '{"azureStorageBlobContainerUri":"https://noacct.blob.core.windows.net/backups"}'
follow_location
check "missing account: code" eq "$JOB_ERROR" ContainerNotFound
arm POST "$(cluster_path $RG src)/validateBackupProperties?api-version=$HSM_V" "{\"azureStorageBlobContainerUri\":\"$U\"}"
check "validate backup: 202" eq "$STATUS" 202
follow_location
check "validate backup: Succeeded" eq "$JOB" Succeeded
check "validate backup: no backupId" eq "$(jq_ "$BODY_OUT" properties.backupId)" ""

# Two good backups; the second one through the emulator's own blob endpoint form.
arm POST "$(cluster_path $RG src)/backup?api-version=$HSM_V" "{\"azureStorageBlobContainerUri\":\"$U\"}"
follow_location
check "backup: Succeeded" eq "$JOB" Succeeded
BID=$(jq_ "$BODY_OUT" properties.backupId)
arm POST "$(cluster_path $RG src)/backup?api-version=$HSM_V" "{\"azureStorageBlobContainerUri\":\"$BLOB/acct1/backups\"}"
follow_location
check "backup via the blob endpoint URI: Succeeded" eq "$JOB" Succeeded
BID2=$(jq_ "$BODY_OUT" properties.backupId)

# Restore into the source.
arm POST "$(cluster_path $RG src)/restore?api-version=$HSM_V" \
    "{\"azureStorageBlobContainerUri\":\"$U\",\"backupId\":\"$BID\"}"
check "restore to source: 409" eq "$STATUS" 409
check "restore to source: code" eq "$(jq_ "$BODY_OUT" error.code)" RestoreToSourceNotSupported
arm GET "$(cluster_path $RG src)?api-version=$HSM_V"
check "source still Active" eq "$(jq_ "$BODY_OUT" properties.activationState)" Active

# Unknown backupId, then a tampered blob: both fail and leave dst-fresh untouched.
arm POST "$(cluster_path $RG dst-fresh)/restore?api-version=$HSM_V" \
    "{\"azureStorageBlobContainerUri\":\"$U\",\"backupId\":\"cloudhsm-00000000-0000-0000-0000-000000000000-2025010100000000\"}"
follow_location
check "unknown backupId: Failed" eq "$JOB" Failed
check "unknown backupId: code" eq "$JOB_ERROR" BackupNotFound
# Tamper with the second backup's blob at rest: download it, flip one bit of the sealed
# payload and upload it again, through the Blob API with the account's key.
check "found the second backup's blob" backup_blob_get "$ACCT1" backups "$BID2" "$E2E_TMP/bk2"
check "it is a backup" eq "$(head -c 8 "$E2E_TMP/bk2")" CHSMBKUP
python3 - "$E2E_TMP/bk2" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 0x01  # one bit in the sealed payload
open(p, "wb").write(bytes(b))
PY
check "tampered blob uploaded" backup_blob_put "$ACCT1" backups "$E2E_TMP/bk2"
arm POST "$(cluster_path $RG dst-fresh)/restore?api-version=$HSM_V" \
    "{\"azureStorageBlobContainerUri\":\"$U\",\"backupId\":\"$BID2\"}"
follow_location
check "tampered blob: Failed" eq "$JOB" Failed
check "tampered blob: code" eq "$JOB_ERROR" BackupCorrupted
arm GET "$(cluster_path $RG dst-fresh)?api-version=$HSM_V"
check "dst-fresh untouched" eq "$(jq_ "$BODY_OUT" properties.activationState)" NotActivated

# No read permission for the destination's identity.
arm POST "$(cluster_path $RG src-norole)/restore?api-version=$HSM_V" \
    "{\"azureStorageBlobContainerUri\":\"$U\",\"backupId\":\"$BID\"}"
follow_location
check "restore without role: code" eq "$JOB_ERROR" AuthorizationPermissionMismatch

# validateRestoreProperties into an activated cluster: reports, changes nothing.
arm POST "$(cluster_path $RG dst-active)/validateRestoreProperties?api-version=$HSM_V" \
    "{\"azureStorageBlobContainerUri\":\"$U\",\"backupId\":\"$BID\"}"
check "validate restore: 202" eq "$STATUS" 202
check "validate restore: restoreOperationStatus" contains "$(header Location)" "/restoreOperationStatus/"
follow_location
check "validate restore into activated: code" eq "$JOB_ERROR" CloudHsmAlreadyActivated
arm GET "$(cluster_path $RG dst-active)?api-version=$HSM_V"
check "validate changed nothing" eq "$(jq_ "$BODY_OUT" properties.activationState)" Active

# Restore into an activated cluster: fails and renders it nonfunctional.
arm POST "$(cluster_path $RG dst-active)/restore?api-version=$HSM_V" \
    "{\"azureStorageBlobContainerUri\":\"$U\",\"backupId\":\"$BID\"}"
check "restore into activated: accepted" eq "$STATUS" 202
follow_location
check "restore into activated: Failed" eq "$JOB" Failed
check "restore into activated: code" eq "$JOB_ERROR" CloudHsmAlreadyActivated
arm GET "$(cluster_path $RG dst-active)?api-version=$HSM_V"
check "destination activationState Failed" eq "$(jq_ "$BODY_OUT" properties.activationState)" Failed
check "destination provisioningState Failed" eq "$(jq_ "$BODY_OUT" properties.provisioningState)" Failed
check "failed cluster validates" contract GET "$(cluster_path $RG dst-active)" $HSM_V
must hsm_url $RG dst-active
dp POST "$HSM/login" '{"userType":"CU","username":"cu1","password":"user1234"}'
check "nonfunctional HSM refuses logins" eq "$DP_STATUS" 409
check "nonfunctional HSM code" eq "$(jq_ "$DP_BODY" error.code)" ClusterNotFunctional
arm POST "$(cluster_path $RG dst-active)/restore?api-version=$HSM_V" \
    "{\"azureStorageBlobContainerUri\":\"$U\",\"backupId\":\"$BID\"}"
follow_location
check "restore into a failed cluster: code" eq "$JOB_ERROR" CloudHsmNotFunctional

# After all that, the untouched destination still restores fine.
arm POST "$(cluster_path $RG dst-fresh)/restore?api-version=$HSM_V" \
    "{\"azureStorageBlobContainerUri\":\"$U\",\"backupId\":\"$BID\"}"
follow_location
check "good restore after failures: Succeeded" eq "$JOB" Succeeded

arm GET "$(cluster_path $RG src)/backupOperationStatus/0123456789abcdef0123456789abcdef?api-version=$HSM_V"
check "unknown job: 404" eq "$STATUS" 404

finish

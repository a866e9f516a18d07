#!/usr/bin/env bash
# test_qa_dr.sh - the QA controls on the DR scenario: the tutorial fixtures,
# and each fault action aimed at backup and restore (failed and stalled
# operations, corrupted and truncated backups, a storage outage, a read-only
# container, a node down) with the natural failures needing no rule.
. "$(dirname "$0")/lib.sh"

S=00000000-0000-0000-0000-000000000001
CL=/subscriptions/$S/resourceGroups/dr-rg/providers/Microsoft.HardwareSecurityModules/cloudHsmClusters
HV=api-version=2025-03-31
URI=https://drbackups.blob.core.windows.net/backups
ctl() {
    local args=(-sS --path-as-is -X "$1" $(ca_opt) -o "$E2E_TMP/body" -w '%{http_code}')
    if [ -n "${3-}" ]; then args+=(-H 'Content-Type: application/json' --data-binary "$3"); fi
    STATUS=$(curl "${args[@]}" "$ARM$2")
    BODY_OUT=$(cat "$E2E_TMP/body")
}
backup() { # backup: starts a backup of chsm-src; LOC = its status URL
    arm POST "$CL/chsm-src/backup?$HV" "{\"azureStorageBlobContainerUri\":\"$URI\"}"
    LOC=$(header Location)
}
restore() { # restore DEST BACKUP_ID
    arm POST "$CL/$1/restore?$HV" "{\"azureStorageBlobContainerUri\":\"$URI\",\"backupId\":\"$2\"}"
    LOC=$(header Location)
}

start_emulator --fixture tutorial-ready
ctl POST /_emulator/snapshots/ready

# --- the fixture is the tutorial's starting point ---
arm GET "$CL/chsm-src?$HV"
check "fixture: source active" eq "$(jq_ "$BODY_OUT" properties.activationState)" Active
arm GET "$CL/chsm-dst?$HV"
check "fixture: destination not activated" eq "$(jq_ "$BODY_OUT" properties.activationState)" NotActivated
backup
arm GET "$LOC"
check "fixture: backup succeeds" eq "$(jq_ "$BODY_OUT" properties.status)" Succeeded
GOOD=$(jq_ "$BODY_OUT" properties.backupId)
restore chsm-dst "$GOOD"
arm GET "$LOC"
check "fixture: restore succeeds" eq "$(jq_ "$BODY_OUT" properties.status)" Succeeded
arm GET "$CL/chsm-dst?$HV"
check "fixture: destination now active" eq "$(jq_ "$BODY_OUT" properties.activationState)" Active

# --- failOperation: the rule's code lands in properties.error and statusDetails ---
ctl POST /_emulator/snapshots/ready/restore
ctl POST /_emulator/faults '{"id":"bk-fail","operation":"cloudHsmClusters/backup","count":1,"action":{"type":"failOperation","code":"HsmBackupFailed","message":"The HSM could not complete the backup.","statusDetails":"Backup aborted by QA"}}'
backup
check "failing backup accepted" eq "$STATUS" 202
arm GET "$LOC"
check "failed backup is a 200" eq "$STATUS" 200
check "status Failed" eq "$(jq_ "$BODY_OUT" properties.status)" Failed
check "rule code in properties.error" eq "$(jq_ "$BODY_OUT" properties.error.code)" HsmBackupFailed
check "rule statusDetails" eq "$(jq_ "$BODY_OUT" properties.statusDetails)" "Backup aborted by QA"
check "top-level status mirrors" eq "$(jq_ "$BODY_OUT" status)" Failed

# --- stallOperation: running until released ---
backup
arm GET "$LOC"
GOOD=$(jq_ "$BODY_OUT" properties.backupId)
ctl POST /_emulator/faults '{"id":"rs-hold","operation":"cloudHsmClusters/restore","action":{"type":"stallOperation"}}'
restore chsm-dst "$GOOD"
arm GET "$LOC"
check "stalled restore is 202" eq "$STATUS" 202
arm GET "$CL/chsm-dst?$HV"
check "stalled restore changed nothing yet" eq "$(jq_ "$BODY_OUT" properties.activationState)" NotActivated
ctl POST /_emulator/faults/rs-hold/release
arm GET "$LOC"
check "released restore succeeds" eq "$(jq_ "$BODY_OUT" properties.status)" Succeeded
ctl DELETE /_emulator/faults

# --- corruptBlob on write: the restore of that backup fails cleanly ---
ctl POST /_emulator/snapshots/ready/restore
backup
arm GET "$LOC"
GOOD=$(jq_ "$BODY_OUT" properties.backupId)
ctl POST /_emulator/faults '{"operation":"blob/PutBlob","resource":"/drbackups/backups/*","count":1,"action":{"type":"corruptBlob"}}'
backup
arm GET "$LOC"
check "corrupted backup still reports Succeeded (the HSM does not re-read)" eq "$(jq_ "$BODY_OUT" properties.status)" Succeeded
BAD=$(jq_ "$BODY_OUT" properties.backupId)
restore chsm-dst "$BAD"
arm GET "$LOC"
check "restore of a corrupted backup fails" eq "$(jq_ "$BODY_OUT" properties.error.code)" BackupCorrupted
arm GET "$CL/chsm-dst?$HV"
check "destination untouched by the failed restore" eq "$(jq_ "$BODY_OUT" properties.activationState)" NotActivated

# --- truncateBlob on read ---
ctl POST /_emulator/faults '{"operation":"blob/GetBlob","action":{"type":"truncateBlob"}}'
restore chsm-dst "$GOOD"
arm GET "$LOC"
check "restore of a truncated read fails" eq "$(jq_ "$BODY_OUT" properties.error.code)" BackupCorrupted
ctl DELETE /_emulator/faults

# --- storage outage and a read-only container fail the backup job ---
ctl POST /_emulator/faults '{"id":"outage","resource":"/drbackups/*","action":{"type":"storageUnavailable"}}'
backup
arm GET "$LOC"
check "storage outage fails the backup" eq "$(jq_ "$BODY_OUT" properties.error.code)" StorageUnavailable
ctl DELETE /_emulator/faults/outage
ctl POST /_emulator/faults '{"id":"ro","resource":"/drbackups/backups/*","action":{"type":"containerReadOnly"}}'
backup
arm GET "$LOC"
check "read-only container fails the backup" eq "$(jq_ "$BODY_OUT" properties.status)" Failed
restore chsm-dst "$GOOD"
arm GET "$LOC"
check "read-only container still serves the restore" eq "$(jq_ "$BODY_OUT" properties.status)" Succeeded
ctl DELETE /_emulator/faults

# --- nodeDown shows in the data plane and in ARM ---
ctl POST /_emulator/faults '{"resource":"*/cloudHsmClusters/chsm-src","action":{"type":"nodeDown","node":2}}'
arm GET "$CL/chsm-src?$HV"
FQDN=$(jq_ "$BODY_OUT" properties.hsms.0.fqdn)
LABEL=$(echo "$FQDN" | cut -d. -f2)
INFO=$(curl -fsS --cacert "$CA" "$ARM/hsm/$LABEL/cluster")
check "getClusterInfo shows node 2 down" eq "$(jq_ "$INFO" nodes.1.state)" NotConnected
check "node 1 still up" eq "$(jq_ "$INFO" nodes.0.state)" Connected
ctl DELETE /_emulator/faults

# --- throttling on the status URL: 429 with Retry-After ---
ctl POST /_emulator/faults '{"operation":"cloudHsmClusters/*","method":"GET","count":1,"action":{"type":"throttle","retryAfter":3}}'
arm GET "$CL/chsm-src?$HV"
check "throttled GET is 429" eq "$STATUS" 429
check "Retry-After set" eq "$(header Retry-After)" 3
ctl DELETE /_emulator/faults

# --- the other fixtures: no role, destination already active ---
stop_emulator
DATA=$E2E_TMP/no-role start_emulator --fixture tutorial-no-role
backup
arm GET "$LOC"
check "no role: backup fails naturally" eq "$(jq_ "$BODY_OUT" properties.error.code)" AuthorizationPermissionMismatch
stop_emulator
DATA=$E2E_TMP/dst-active start_emulator --fixture tutorial-destination-active
backup
arm GET "$LOC"
ID=$(jq_ "$BODY_OUT" properties.backupId)
restore chsm-dst "$ID"
arm GET "$LOC"
check "destination active: restore fails naturally" eq "$(jq_ "$BODY_OUT" properties.status)" Failed
arm GET "$CL/chsm-dst?$HV"
check "and leaves the destination nonfunctional" eq "$(jq_ "$BODY_OUT" properties.activationState)" Failed
finish

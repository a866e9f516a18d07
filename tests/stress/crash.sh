#!/usr/bin/env bash
# crash.sh [TRIALS] - crash consistency (docs/reliability.md). Runs a workload of resource
# group writes, a counter tag, Blob uploads (new and overwritten, up to 1.5 MiB) and the
# disaster-recovery flow (create a destination cluster, back the source up, restore into the
# destination) against one data dir, kills the emulator with SIGKILL at a random moment, and
# after each kill checks: PRAGMA integrity_check is ok (sqlite3 CLI); after a restart every
# acknowledged write is there, no blob is torn, every acknowledged operation ends, and no
# cluster is half-restored (crashload.py verify). TRIALS defaults to 20 (CI, via ctest);
# run 200 by hand: bash tests/stress/crash.sh 200. Needs CHSM_EMULATOR, python3, sqlite3.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../e2e/lib.sh"
source "$here/../e2e/cloudhsm_lib.sh"
TRIALS=${1:-20}
case "$TRIALS" in '' | *[!0-9]*) TRIALS=20 ;; esac
if ! command -v sqlite3 >/dev/null; then
    echo "FAIL: the sqlite3 command is missing (Debian package sqlite3, in scripts/deps.sh)"
    exit 1
fi
# Operations take long enough that kills land in the middle of them.
OPS=backup=300ms,restore=500ms,provision=100ms
start_emulator --op-duration $OPS

RG=crashrg
must create_rg $RG
must create_identity $RG crash-id
must create_storage $RG crashacct backups
must assign_role "$ACCOUNT_ID" "$MSI_PRINCIPAL" $BLOB_CONTRIBUTOR
must create_cluster $RG src "$MSI_ID"
for _ in $(seq 1 50); do
    arm GET "$(cluster_path $RG src)?api-version=$HSM_V"
    [ "$(jq_ "$BODY_OUT" properties.provisioningState)" = Succeeded ] && break
    sleep 0.1
done
must hsm_url $RG src
must activate_with_cu
dp POST "$HSM/keys" '{"type":"EC","curve":"P-256","keyId":"crashkey"}'
check "source key" eq "$DP_STATUS" 201
SESSION=""
DEVKEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
check "blob container" eq "$(python3 "$here/../e2e/blobreq.py" PUT "$BLOB/devstoreaccount1/crash?restype=container" \
    --account devstoreaccount1 --key "$DEVKEY" --cacert "$CA")" 201

export SUB TOKEN RG MSI_ID HSM_V BACKUP_URI=https://crashacct.blob.core.windows.net/backups
LOG=$E2E_TMP/acks.jsonl
: >"$LOG"
failed_trials=0
for t in $(seq 1 "$TRIALS"); do
    export ARM BLOB CA
    python3 "$here/crashload.py" load "$LOG" "$t" &
    load=$!
    # A random moment 0.2-2.5 s into the workload.
    sleep "$(python3 -c 'import random; print(round(random.uniform(0.2, 2.5), 2))')"
    kill_emulator
    kill -KILL "$load" 2>/dev/null || true
    wait "$load" 2>/dev/null || true
    ok=1
    ic=$(sqlite3 "$DATA/state.db" 'PRAGMA integrity_check' 2>&1)
    if [ "$ic" != ok ]; then
        echo "trial $t: integrity_check: $ic"
        ok=0
    fi
    start_emulator --op-duration $OPS
    export ARM BLOB
    if ! out=$(python3 "$here/crashload.py" verify "$LOG" "$t"); then ok=0; fi
    [ "${CRASH_VERBOSE:-0}" = 1 ] || [ "$ok" = 0 ] && echo "trial $t: $out"
    if [ "$ok" = 0 ]; then failed_trials=$((failed_trials + 1)); fi
done
check "every trial consistent ($failed_trials of $TRIALS failed)" eq "$failed_trials" 0
# Every trial's acknowledged writes survived every later crash, too.
out=$(python3 "$here/crashload.py" verify "$LOG") || true
echo "all trials: $out"
check "all acknowledged writes after $TRIALS crashes" contains "$out" ": 0 problems"
n() { grep -c "\"kind\": \"$1\"" "$LOG" || true; }
echo "crash: $TRIALS trials, $failed_trials failed; acknowledged: $(n rg) resource groups," \
    "$(n counter) counter updates, $(n blob) blob uploads, $(n cluster) cluster creations," \
    "$(n backup) backups ($(($(n backup) - $(n backup-done))) cut by the kill)," \
    "$(n restore) restores ($(($(n restore) - $(n restore-done))) cut by the kill)"
finish

#!/usr/bin/env bash
# soak.sh [SECONDS] [CLIENTS] - the soak test (docs/reliability.md): CLIENTS (64) concurrent
# clients run mixed ARM, Blob and HSM data-plane operations for SECONDS (60 in CI via ctest;
# 600 by hand: bash tests/stress/soak.sh 600) and the run must show zero 5xx and transport
# errors, zero lost updates (counters written with If-Match against ETags, on resource groups
# and on blobs, equal the acknowledged increments), every read-back equal to what was written,
# and the emulator's RSS flat after the warm-up (the first third of the run).
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../e2e/lib.sh"
source "$here/../e2e/cloudhsm_lib.sh"
SECS=${1:-60}
CLIENTS=${2:-64}
case "$SECS$CLIENTS" in *[!0-9]*) echo "usage: soak.sh [SECONDS] [CLIENTS]"; exit 2 ;; esac
start_emulator

must create_rg soakrg
for k in 0 1 2 3; do
    arm PUT "$(rg_path soak-counter-$k)?api-version=$RG_V" '{"location":"uksouth","tags":{"n":"0"}}'
    must ok_status
done
must create_cluster soakrg soakcl
must hsm_url soakrg soakcl
must activate_with_cu
SESSIONS=$SESSION
for _ in 1 2 3; do
    must login CU cu1 user1234
    SESSIONS="$SESSIONS $SESSION"
done
DEVKEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
BR="$here/../e2e/blobreq.py"
check "soak container" eq "$(python3 "$BR" PUT "$BLOB/devstoreaccount1/soak?restype=container" \
    --account devstoreaccount1 --key "$DEVKEY" --cacert "$CA")" 201
for k in 0 1 2 3; do
    check "blob counter $k" eq "$(python3 "$BR" PUT "$BLOB/devstoreaccount1/soak/counter-$k" \
        --account devstoreaccount1 --key "$DEVKEY" --cacert "$CA" -H 'x-ms-blob-type: BlockBlob' --data 0)" 201
done

export ARM BLOB CA TOKEN SUB SESSIONS SRC="$(cluster_path soakrg soakcl)" HSM="/hsm/${HSM##*/hsm/}"
python3 "$here/soakload.py" "$CLIENTS" "$SECS" "$EMU_PID" >"$E2E_TMP/soak.json"
python3 - "$E2E_TMP/soak.json" <<'PY' >"$E2E_TMP/verdict" || true
import json, sys
r = json.load(open(sys.argv[1]))
st = r["status"]
errors = sum(v for k, v in st.items() if k.startswith("5") or k in ("transport", "failures"))
rss = r["rss_kib"]
# Flat after warm-up: the last third's peak against the middle third's peak.
third = max(1, len(rss) // 3)
mid = max(v for _, v in rss[third:2 * third]) if len(rss) >= 3 else 0
end = max(v for _, v in rss[2 * third:]) if len(rss) >= 3 else 0
growth = end - mid
flat = len(rss) < 3 or growth <= max(8192, mid // 10)
print(f"soak: {r['clients']} clients, {r['seconds']} s, {r['requests']} requests "
      f"({r['requests'] / max(r['seconds'], 1):.0f}/s), statuses {st}, "
      f"{r['increments']} counted increments with {r['conflicts']} 412 conflicts retried, "
      f"lost updates {len(r['lost_updates'])}; RSS {rss[0][1] if rss else 0} KiB at start, "
      f"{mid} KiB peak after warm-up, {end} KiB peak in the last third ({growth:+d} KiB)")
print(f"ERRORS={errors}")
print(f"LOST={len(r['lost_updates'])}")
print(f"FLAT={1 if flat else 0}")
for f in r["failures"][:20] + r["lost_updates"]:
    print("  " + f)
PY
head -1 "$E2E_TMP/verdict"
sed -n '5,$p' "$E2E_TMP/verdict"
check "no 5xx, transport errors or mismatches" grep -qx "ERRORS=0" "$E2E_TMP/verdict"
check "no lost updates" grep -qx "LOST=0" "$E2E_TMP/verdict"
check "RSS flat after warm-up" grep -qx "FLAT=1" "$E2E_TMP/verdict"
finish

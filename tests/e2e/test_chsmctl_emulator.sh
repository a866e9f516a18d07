#!/usr/bin/env bash
# test_chsmctl_emulator.sh - chsmctl emulator ...: the QA controls from the client.
. "$(dirname "$0")/lib.sh"
CTL="$CHSM_BUILD_DIR/chsmctl"
start_emulator
c() { "$CTL" --data-dir "$DATA" "$@"; }

check "health" contains "$(c emulator health)" '"ready"'
check "fixture load" c emulator fixture load tutorial-ready
check "fixture list" contains "$(c emulator fixture list -o table)" tutorial-no-role
check "faults add" contains "$(c emulator faults add '{"id":"hold","operation":"cloudHsmClusters/backup","action":{"type":"stallOperation"}}')" '"hold"'
echo '{"id":"slow","operation":"*","action":{"type":"latency","ms":1}}' >"$E2E_TMP/rule.json"
check "faults add @FILE" c emulator faults add "@$E2E_TMP/rule.json"
check "faults list" contains "$(c emulator faults list -o table)" stallOperation
OUT=$(c backup start chsm-src -g dr-rg --account drbackups --container backups)
JOB=$(jq_ "$OUT" location | sed 's#.*/##; s#?.*##')
check "backup job id" test -n "$JOB"
check "stalled operation listed" contains "$(c emulator operations list -o table)" "$JOB"
check "faults release" contains "$(c emulator faults release hold)" '"released"'
check "released operation done" contains "$(c emulator operations show "$JOB")" Succeeded
check "requests journal" contains "$(c emulator requests -n 50 -o table)" ' slow'
check "faults delete" c emulator faults delete slow
if c emulator faults show slow 2>/dev/null; then R=0; else R=$?; fi
check "missing rule exits 3" eq "$R" 3
check "snapshot save" c emulator snapshot save base
check "reset" c emulator reset
if c group show dr-rg -g dr-rg >/dev/null 2>&1; then R=0; else R=$?; fi
check "reset emptied the state" test "$R" -ne 0
check "snapshot restore" c emulator snapshot restore base
check "state is back" contains "$(c group show dr-rg)" dr-rg
check "state export" c emulator state export --out "$E2E_TMP/state.json"
if c emulator state import "$E2E_TMP/state.json" 2>"$E2E_TMP/imp.err"; then R=0; else R=$?; fi
check "import without key material is refused" eq "$R" 3
check "and says why" grep -q includeKeyMaterial "$E2E_TMP/imp.err"
check "state export with key material" c emulator state export --out "$E2E_TMP/state.json" --include-key-material
check "state import" c emulator state import "$E2E_TMP/state.json"
c cluster config chsm-src -g dr-rg --out "$E2E_TMP/src.cfg" >/dev/null
check "keys still usable after import" contains "$(c util "$E2E_TMP/src.cfg" singlecmd loginHSM -u CU -s cu1 -p user1234 findKey -l data-key 2>&1 || true)" "matched"
check "clock advance" contains "$(c emulator clock --advance 3600)" '"offsetSeconds":'
check "timing set" contains "$(c emulator timing set cloudHsmClusters/backup 30s --steps 3 --details 'Queued;Copying;Sealing')" '"Copying"'
c emulator clock --now 2031-01-01T00:00:00Z >/dev/null
OUT=$(c backup start chsm-src -g dr-rg --account drbackups --container backups)
JOB=$(jq_ "$OUT" location | sed 's#.*/##; s#?.*##')
c emulator clock --advance 11 >/dev/null
OUT=$(c emulator operations show "$JOB")
check "operation shows its progress step" eq "$(jq_ "$OUT" percentComplete)" 33
check "operation shows its step text" eq "$(jq_ "$OUT" statusDetails)" Copying
check "timing list" contains "$(c emulator timing -o table)" 30000
check "timing delete" c emulator timing delete cloudHsmClusters/backup
check "timing reset" c emulator timing reset
if c emulator timing set backup 2s --steps 0 2>/dev/null; then R=0; else R=$?; fi
check "bad steps refused" test "$R" -ne 0
if c emulator snapshot save '../x' 2>/dev/null; then R=0; else R=$?; fi
check "bad snapshot name is a usage error" eq "$R" 2
finish

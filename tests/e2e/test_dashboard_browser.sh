#!/usr/bin/env bash
# test_dashboard_browser.sh - the dashboard in a real browser: Debian's chromium
# driven by playwright-core (npm, pinned in tests/browser/package-lock.json)
# runs tests/browser/dashboard.test.mjs under node's own test runner against an
# emulator started with --fixture tutorial-ready. Screenshots of each step go to
# $CHSM_BUILD_DIR/test-artifacts/dashboard/.
. "$(dirname "$0")/lib.sh"
BROWSER_DIR=$(cd "$(dirname "$0")/../browser" && pwd)
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
: "${CHSM_BUILD_DIR:?CHSM_BUILD_DIR must point at the build dir (ctest sets it)}"
CHSMCTL="$CHSM_BUILD_DIR/chsmctl"
command -v node >/dev/null || { echo "FAIL: node is not installed (scripts/deps.sh installs nodejs)"; exit 1; }
NODE_MAJOR=$(node -p 'process.versions.node.split(".")[0]')
[ "$NODE_MAJOR" -ge 20 ] || { echo "FAIL: node $(node --version) is too old: playwright-core needs Node >= 20"; exit 1; }
[ -x "$CHROMIUM" ] || { echo "FAIL: $CHROMIUM is missing (scripts/deps.sh installs Debian's chromium)"; exit 1; }
[ -x "$CHSMCTL" ] || { echo "FAIL: $CHSMCTL is missing (build the chsmctl target)"; exit 1; }
if [ ! -f "$BROWSER_DIR/node_modules/playwright-core/package.json" ]; then
    command -v npm >/dev/null || { echo "FAIL: npm is not installed (scripts/deps.sh installs npm)"; exit 1; }
    (cd "$BROWSER_DIR" && npm ci --no-audit --no-fund --loglevel=error)
fi

ARTIFACTS="$CHSM_BUILD_DIR/test-artifacts/dashboard"
rm -rf "$ARTIFACTS"
mkdir -p "$ARTIFACTS"
start_emulator --fixture tutorial-ready
export ARM DATA CHSMCTL ARTIFACTS CHROMIUM CHSM_EMULATOR

if (cd "$BROWSER_DIR" && timeout 300 node --test --test-reporter=spec dashboard.test.mjs) >"$E2E_TMP/node.out" 2>&1; then
    NODE_RC=0
else
    NODE_RC=$?
fi
cat "$E2E_TMP/node.out"
NODE_PASS=$(awk '/^ℹ pass /{print $3}' "$E2E_TMP/node.out" | tail -1)
NODE_FAIL=$(awk '/^ℹ fail /{print $3}' "$E2E_TMP/node.out" | tail -1)
PASSES=$((PASSES + ${NODE_PASS:-0}))
FAILS=$((FAILS + ${NODE_FAIL:-0}))
check "node --test exited 0" eq "$NODE_RC" 0
check "node --test ran the steps" test "${NODE_PASS:-0}" -gt 0
for shot in 01-clusters 02-fault-armed 03-backup-running 04-backup-failed 05-reset 06-fixture-loaded 07-narrow 08-keyboard 09-strict-auth 10-strict-auth-token; do
    check "screenshot $shot saved" test -s "$ARTIFACTS/$shot.png"
done
echo "screenshots: $ARTIFACTS"
finish

#!/usr/bin/env bash
# test_dashboard.sh - GET /_emulator/ui serves the dashboard's embedded assets
# with the right headers (type, CSP, nosniff, ETag/304) and nothing external;
# GET /_emulator/inventory describes HSMs and backup blobs without secrets;
# --no-control hides both, --strict-auth guards the inventory but not the
# (stateless) page. The page itself is driven in a browser by
# test_dashboard_browser.sh.
. "$(dirname "$0")/lib.sh"
UI_DIR="${CHSM_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/emulator/control/ui"
CTL="${CHSM_BUILD_DIR:-}/chsmctl"
start_emulator --fixture tutorial-ready

# get PATH [curl args...]: GET without a token; sets STATUS, HEADERS_OUT, and the body in $E2E_TMP/body
get() {
    local path=$1
    shift
    rm -f "$E2E_TMP/body"
    : >"$E2E_TMP/body"
    STATUS=$(curl -sS $(ca_opt) -D "$E2E_TMP/headers" -o "$E2E_TMP/body" -w '%{http_code}' "$@" "$ARM$path")
    HEADERS_OUT=$(tr -d '\r' <"$E2E_TMP/headers")
    BODY_OUT=$(head -c 300 "$E2E_TMP/body")
}

get /_emulator/ui
check "page 200" eq "$STATUS" 200
check "page is HTML" eq "$(header Content-Type)" "text/html; charset=utf-8"
check "page CSP default-src self" contains "$(header Content-Security-Policy)" "default-src 'self'"
check "page CSP no inline script" eq "$(header Content-Security-Policy | grep -c "unsafe-inline")" 0
check "page CSP no framing" contains "$(header Content-Security-Policy)" "frame-ancestors 'none'"
check "page nosniff" eq "$(header X-Content-Type-Options)" nosniff
check "page revalidated" eq "$(header Cache-Control)" no-cache
ETAG=$(header ETag)
check "page ETag" test -n "$ETAG"
check "page is the embedded index.html" cmp -s "$E2E_TMP/body" "$UI_DIR/index.html"
check "page loads app.js" grep -q 'src="/_emulator/ui/app.js"' "$E2E_TMP/body"
get /_emulator/ui -H "If-None-Match: $ETAG"
check "page 304 on its ETag" eq "$STATUS" 304
check "304 has no body" test ! -s "$E2E_TMP/body"
check "304 keeps the ETag" eq "$(header ETag)" "$ETAG"
get /_emulator/ui -H 'If-None-Match: "other"'
check "page 200 on another ETag" eq "$STATUS" 200
get /_emulator/ui/
check "page with a trailing slash" eq "$STATUS" 200

for f in app.js:text/javascript app.css:text/css index.html:text/html; do
    name=${f%%:*}
    type=${f#*:}
    get "/_emulator/ui/$name"
    check "$name 200" eq "$STATUS" 200
    check "$name type" eq "$(header Content-Type)" "$type; charset=utf-8"
    check "$name nosniff" eq "$(header X-Content-Type-Options)" nosniff
    check "$name CSP" contains "$(header Content-Security-Policy)" "default-src 'self'"
    check "$name ETag" test -n "$(header ETag)"
    check "$name bytes as in the source" cmp -s "$E2E_TMP/body" "$UI_DIR/$name"
done
# Works offline: no asset loads anything from elsewhere (no URLs in src/href/url()/@import,
# no absolute fetch()).
check "no external references" eq "$(cat "$UI_DIR"/* | grep -cE "(src|href)=\"(https?:)?//|url\((['\"])?(https?:)?//|@import|fetch\(['\"\`]https?:")" 0
get /_emulator/ui/nope.js
check "unknown asset 404" eq "$STATUS" 404
check "unknown asset ARM error" contains "$BODY_OUT" '"NotFound"'
get /_emulator/ui/..%2fhealth
check "no climbing out" test "$STATUS" -ge 400
STATUS=$(curl -sS $(ca_opt) -o /dev/null -w '%{http_code}' -X POST "$ARM/_emulator/ui")
check "POST page 405" eq "$STATUS" 405

# The inventory: what ARM cannot show.
arm GET /_emulator/inventory
check "inventory 200" eq "$STATUS" 200
check "two clusters" eq "$(jq_ "$BODY_OUT" clusters | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" 2
SRC=$(printf '%s' "$BODY_OUT" | python3 -c 'import json,sys; print(json.dumps([c for c in json.load(sys.stdin)["clusters"] if c["name"]=="chsm-src"][0]))')
DST=$(printf '%s' "$BODY_OUT" | python3 -c 'import json,sys; print(json.dumps([c for c in json.load(sys.stdin)["clusters"] if c["name"]=="chsm-dst"][0]))')
check "source Active" eq "$(jq_ "$SRC" hsm.activationState)" Active
check "destination NotActivated" eq "$(jq_ "$DST" hsm.activationState)" NotActivated
check "source key handles" eq "$(jq_ "$SRC" hsm.keys.handles)" 5
check "source AES keys" eq "$(jq_ "$SRC" hsm.keys.byType.AES)" 1
check "source private keys" eq "$(jq_ "$SRC" hsm.keys.byClass.private)" 2
check "source CU user" eq "$(jq_ "$SRC" hsm.users.1.username)/$(jq_ "$SRC" hsm.users.1.userType)" cu1/CU
check "destination PRECO" eq "$(jq_ "$DST" hsm.users.0.userType)" PRECO
check "no password hashes" eq "$(printf '%s' "$BODY_OUT" | grep -ci 'password\|pbkdf2\|sealed')" 0
check "resource group" eq "$(jq_ "$SRC" resourceGroup)" dr-rg
check "storage account" eq "$(jq_ "$BODY_OUT" storageAccounts.0.name)" drbackups
check "container" eq "$(jq_ "$BODY_OUT" storageAccounts.0.containers.0.name)" backups
check "no blobs yet" eq "$(jq_ "$BODY_OUT" storageAccounts.0.containers.0.blobs)" "[]"
if [ -x "$CTL" ]; then
    OUT=$("$CTL" --data-dir "$DATA" backup start chsm-src -g dr-rg --account drbackups --container backups --wait)
    BID=$(jq_ "$OUT" properties.backupId)
    check "backup made" test -n "$BID"
    arm GET /_emulator/inventory
    BLOB=$(jq_ "$BODY_OUT" storageAccounts.0.containers.0.blobs.0)
    check "backup blob named by its id" eq "$(jq_ "$BLOB" name)" "$BID"
    check "backup blob backupId" eq "$(jq_ "$BLOB" backupId)" "$BID"
    check "backup blob source cluster" eq "$(jq_ "$BLOB" sourceCluster)" chsm-src
    check "backup blob size" test "$(jq_ "$BLOB" size)" -gt 0
    check "backup blob time" contains "$(jq_ "$BLOB" createdAt)" T
else
    FAILS=$((FAILS + 1))
    echo "FAIL: $CTL is missing (build the chsmctl target; ctest sets CHSM_BUILD_DIR)"
fi

# --no-control hides the page and the inventory.
stop_emulator
DATA=$E2E_TMP/data-off start_emulator --no-control
get /_emulator/ui
check "--no-control: page 404" eq "$STATUS" 404
get /_emulator/ui/app.js
check "--no-control: asset 404" eq "$STATUS" 404
arm GET /_emulator/inventory
check "--no-control: inventory 404" eq "$STATUS" 404
get /_emulator/health
check "--no-control: health still served" eq "$STATUS" 200

# --strict-auth: the page (no state) loads without a token, the inventory needs emulator-admin.
stop_emulator
DATA=$E2E_TMP/data-strict start_emulator --strict-auth
get /_emulator/ui
check "--strict-auth: page 200 without a token" eq "$STATUS" 200
get /_emulator/inventory
check "--strict-auth: inventory 401 without a token" eq "$STATUS" 401
token_for() {
    curl -sS $(ca_opt) -X POST "$ARM/common/oauth2/v2.0/token" \
        -d "grant_type=client_credentials&client_id=$1&client_secret=x&scope=https://management.azure.com/.default" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}
TOKEN=$(token_for someone-else) arm GET /_emulator/inventory
check "--strict-auth: inventory 403 for another client" eq "$STATUS" 403
TOKEN=$(token_for emulator-admin) arm GET /_emulator/inventory
check "--strict-auth: inventory 200 for emulator-admin" eq "$STATUS" 200
finish

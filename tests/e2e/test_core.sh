#!/usr/bin/env bash
# test_core.sh - the emulator core over HTTPS with curl: resource groups,
# auth and api-version errors, hostile input, an LRO reaching Succeeded, and
# state kept across a graceful restart and a SIGKILL.
. "$(dirname "$0")/lib.sh"

start_emulator
V=api-version=2021-04-01
RG=/subscriptions/$SUB/resourcegroups

# --- readiness file and health ---
check "emulator.json names the ARM url" contains "$ARM" "https://127.0.0.1:"
check "emulator.json names the CA" test -s "$CA"
check "pid matches" eq "$(json_get "$DATA/emulator.json" pid)" "$EMU_PID"

# --- resource groups CRUD ---
arm PUT "$RG/rg-one?$V" '{"location":"westeurope","tags":{"env":"test"}}'
check "create rg is 201" eq "$STATUS" 201
check "rg id" eq "$(jq_ "$BODY_OUT" id)" "/subscriptions/$SUB/resourceGroups/rg-one"
check "request id header" test -n "$(header x-ms-request-id)"
check "correlation id header" test -n "$(header x-ms-correlation-request-id)"
arm PUT "$RG/rg-one?$V" '{"location":"westeurope","tags":{"env":"prod"}}'
check "update rg is 200" eq "$STATUS" 200
check "tags replaced" eq "$(jq_ "$BODY_OUT" tags.env)" prod
arm PUT "$RG/rg-one?$V" '{"location":"eastus"}'
check "location change is 409" eq "$STATUS" 409
check "location change code" eq "$(jq_ "$BODY_OUT" error.code)" InvalidResourceGroupLocation
arm GET "/subscriptions/$SUB/resourceGroups/RG-ONE?$V"
check "ids are case-insensitive" eq "$STATUS" 200
check "name kept as sent" eq "$(jq_ "$BODY_OUT" name)" rg-one
arm PUT "$RG/rg-two?$V" '{"Location":"westeurope"}'
check "PascalCase property names are read" eq "$STATUS" 201
arm GET "$RG?$V"
check "list rgs" eq "$(jq_ "$BODY_OUT" value.1.name)" rg-two
arm GET "$RG?$V&%24top=1"
check "paged list has nextLink" contains "$(jq_ "$BODY_OUT" nextLink)" "$ARM/subscriptions/$SUB/resourcegroups?"
NEXT=$(jq_ "$BODY_OUT" nextLink)
arm GET "$NEXT"
check "nextLink page" eq "$(jq_ "$BODY_OUT" value.0.name)" rg-two
arm PATCH "$RG/rg-two?$V" '{"tags":{"a":"b"}}'
check "patch rg" eq "$(jq_ "$BODY_OUT" tags.a)" b
STATUS=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA" -I -H "Authorization: Bearer $TOKEN" "$ARM$RG/rg-two?$V")
check "HEAD existing rg is 204" eq "$STATUS" 204
STATUS=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA" -I -H "Authorization: Bearer $TOKEN" "$ARM$RG/nope?$V")
check "HEAD missing rg is 404" eq "$STATUS" 404
arm GET "$RG/nope?$V"
check "missing rg code" eq "$(jq_ "$BODY_OUT" error.code)" ResourceGroupNotFound

# --- an LRO: deleting a resource group ---
arm DELETE "$RG/rg-two?$V"
check "delete rg is 202" eq "$STATUS" 202
LOC=$(header Location)
check "Location is absolute on our host" contains "$LOC" "$ARM/subscriptions/$SUB/operationresults/"
check "Location keeps api-version" contains "$LOC" "$V"
check "Retry-After" eq "$(header Retry-After)" 1
arm GET "$LOC"
check "operation result succeeded" eq "$STATUS" 200
arm GET "$RG/rg-two?$V"
check "deleted rg is gone" eq "$STATUS" 404
arm DELETE "$RG/rg-two?$V"
check "deleting a missing rg is 204" eq "$STATUS" 204

# --- auth ---
STATUS=$(curl -s -o "$E2E_TMP/b" -D "$E2E_TMP/h" -w '%{http_code}' --cacert "$CA" "$ARM$RG?$V")
check "no token is 401" eq "$STATUS" 401
check "401 code" eq "$(jq_ "$(cat "$E2E_TMP/b")" error.code)" AuthenticationFailed
check "WWW-Authenticate" grep -qi '^WWW-Authenticate: Bearer' "$E2E_TMP/h"
STATUS=$(curl -s -o "$E2E_TMP/b" -w '%{http_code}' --cacert "$CA" -H "Authorization: Basic abc" "$ARM$RG?$V")
check "basic auth is 401" eq "$STATUS" 401
STATUS=$(curl -s -o "$E2E_TMP/b" -w '%{http_code}' --cacert "$CA" -H "Authorization: Bearer a b" "$ARM$RG?$V")
check "malformed token is 401" eq "$(jq_ "$(cat "$E2E_TMP/b")" error.code)" InvalidAuthenticationToken
TOK=$(curl -fsS --cacert "$CA" -X POST "$ARM/$SUB/oauth2/v2.0/token" \
    -d "grant_type=client_credentials&client_id=app-1&client_secret=x&scope=https%3A%2F%2Fmanagement.azure.com%2F.default")
check "token endpoint issues a JWT" contains "$(jq_ "$TOK" access_token)" "eyJ"
check "token type" eq "$(jq_ "$TOK" token_type)" Bearer
KEYS=$(curl -fsS --cacert "$CA" "$ARM/$SUB/discovery/v2.0/keys")
check "JWKS published" eq "$(jq_ "$KEYS" keys.0.alg)" RS256

# --- cloud discovery, ADFS-style login and managed identity endpoints (for az and SDKs) ---
M=$(curl -fsS --cacert "$CA" "$ARM/metadata/endpoints?api-version=2015-01-01")
check "cloud metadata login endpoint" eq "$(jq_ "$M" authentication.loginEndpoint)" "$ARM/adfs"
check "cloud metadata audience" eq "$(jq_ "$M" authentication.audiences.0)" "$ARM/"
M=$(curl -fsS --cacert "$CA" "$ARM/metadata/endpoints?api-version=2022-09-01")
check "cloud metadata list form" eq "$(jq_ "$M" 0.resourceManager)" "$ARM/"
M=$(curl -fsS --cacert "$CA" "$ARM/adfs/.well-known/openid-configuration")
check "adfs openid configuration" eq "$(jq_ "$M" token_endpoint)" "$ARM/adfs/oauth2/token"
M=$(curl -fsS --cacert "$CA" -X POST "$ARM/adfs/oauth2/token" -d 'grant_type=client_credentials&client_id=sp-1&client_secret=s&scope=https%3A%2F%2Fmanagement.core.windows.net%2F%2F.default')
check "adfs token" contains "$(jq_ "$M" access_token)" eyJ
M=$(curl -fsS --cacert "$CA" -H 'X-IDENTITY-HEADER: s' "$ARM/msi/token?api-version=2019-08-01&resource=https://management.azure.com/&client_id=c1")
check "app service MSI (GET)" eq "$(jq_ "$M" client_id)" c1
M=$(curl -fsS --cacert "$CA" -H 'Metadata: true' -X POST "$ARM/msi/token" -d 'resource=https%3A%2F%2Fmanagement.core.windows.net%2F')
check "CLI MSI (POST)" eq "$(jq_ "$M" token_type)" Bearer
STATUS=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA" "$ARM/metadata/identity/oauth2/token?resource=x")
check "IMDS needs the Metadata header" eq "$STATUS" 400
arm GET "/subscriptions?api-version=2019-11-01"
check "subscriptions list has tenantId" test -n "$(jq_ "$BODY_OUT" value.0.tenantId)"

# --- api-version ---
arm GET "$RG"
check "missing api-version is 400" eq "$(jq_ "$BODY_OUT" error.code)" MissingApiVersionParameter
arm GET "$RG?api-version=1999-01-01"
check "unknown api-version is 400" eq "$(jq_ "$BODY_OUT" error.code)" InvalidApiVersionParameter
check "supported versions listed" contains "$(jq_ "$BODY_OUT" error.message)" "2021-04-01"

# --- hostile input ---
arm PUT "$RG/rg-bad?$V" '{"location":'
check "malformed JSON is 400" eq "$(jq_ "$BODY_OUT" error.code)" InvalidRequestContent
arm PUT "$RG/rg-bad?$V" '[1,2]'
check "non-object JSON is 400" eq "$STATUS" 400
arm PUT "$RG/rg-bad?$V" '{"location":"x"} trailing'
check "trailing garbage is 400" eq "$STATUS" 400
STATUS=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA" -X PUT -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: text/plain' --data '{"location":"x"}' "$ARM$RG/rg-bad?$V")
check "wrong content type is 415" eq "$STATUS" 415
head -c 5000000 /dev/zero | tr '\0' 'a' >"$E2E_TMP/big"
STATUS=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA" -X PUT -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' --data-binary @"$E2E_TMP/big" "$ARM$RG/rg-bad?$V")
check "oversize body is 413" eq "$STATUS" 413
arm PUT "$RG/rg%2Fbad?$V" '{"location":"x"}'
check "encoded slash is 400" eq "$STATUS" 400
arm PUT "$RG/..?$V" '{"location":"x"}'
check "dot-dot segment is 400" eq "$STATUS" 400
STATUS=$(curl -s -o /dev/null -w '%{http_code}' --path-as-is --cacert "$CA" -H "Authorization: Bearer $TOKEN" "$ARM/subscriptions/$SUB/resourcegroups/%2e%2e?$V")
check "encoded dot-dot is 400" eq "$STATUS" 400
arm PUT "$RG/rg%00x?$V" '{"location":"x"}'
check "NUL byte is 400" eq "$STATUS" 400
arm PUT "$RG/$(printf 'r%.0s' $(seq 1 91))?$V" '{"location":"x"}'
check "too long rg name is 400" eq "$(jq_ "$BODY_OUT" error.code)" InvalidResourceGroup
arm PUT "$RG/bad*name?$V" '{"location":"x"}'
check "invalid rg characters is 400" eq "$STATUS" 400
arm PUT "$RG/rg-noloc?$V" '{}'
check "missing location is 400" eq "$(jq_ "$BODY_OUT" error.code)" LocationRequired
arm POST "$RG/rg-one?$V" '{}'
check "wrong method is 405" eq "$STATUS" 405
arm GET "/subscriptions/$SUB/providers/Microsoft.Nothing/things?$V"
check "unknown provider is 404" eq "$(jq_ "$BODY_OUT" error.code)" InvalidResourceType
arm GET "$RG?$V"
check "nothing was created by bad input" eq "$(jq_ "$BODY_OUT" value.1)" ""

# --- durability: graceful restart, then kill -9 ---
stop_emulator
check "ready file removed on stop" test ! -e "$DATA/emulator.json"
start_emulator
arm GET "$RG/rg-one?$V"
check "state kept across restart" eq "$(jq_ "$BODY_OUT" tags.env)" prod
arm PUT "$RG/rg-three?$V" '{"location":"northeurope"}'
check "created before crash" eq "$STATUS" 201
kill_emulator
start_emulator
arm GET "$RG/rg-three?$V"
check "acknowledged change survives SIGKILL" eq "$STATUS" 200

# --- slow operations: --op-duration makes the LRO observable ---
stop_emulator
start_emulator --op-duration delete=1500ms
arm DELETE "$RG/rg-three?$V"
LOC=$(header Location)
arm GET "$LOC"
check "slow operation is 202 while running" eq "$STATUS" 202
check "still running keeps Location" contains "$(header Location)" operationresults
sleep 2
arm GET "$LOC"
check "slow operation then succeeds" eq "$STATUS" 200
arm GET "$RG/rg-three?$V"
check "rg gone after slow delete" eq "$STATUS" 404

# --- operation interrupted by a crash resumes after restart ---
arm PUT "$RG/rg-four?$V" '{"location":"northeurope"}'
arm DELETE "$RG/rg-four?$V"
LOC=$(header Location)
kill_emulator
start_emulator
sleep 2
# Port 0 gave the new process another port: follow the same operation there.
LOC="$ARM/${LOC#https://*/}"
arm GET "$LOC"
check "interrupted operation completes after restart" eq "$STATUS" 200

finish

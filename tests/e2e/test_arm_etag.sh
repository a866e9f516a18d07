#!/usr/bin/env bash
# test_arm_etag.sh - ARM optimistic concurrency (arm/conditional.h): the ETag header on GET,
# PUT and PATCH of resource groups, Cloud HSM clusters and storage accounts; If-Match and
# If-None-Match on PUT, PATCH and DELETE answered 412 PreconditionFailed (ARM error body) when
# they do not hold; two writers holding the same ETag: the second gets 412.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cloudhsm_lib.sh"
start_emulator

# call METHOD PATH [BODY] [extra header]: arm with one more request header.
call() {
    local method=$1 path=$2 body=${3-} extra=${4-}
    local args=(-sS --path-as-is -X "$method" $(ca_opt) -H "Authorization: Bearer $TOKEN"
        -D "$E2E_TMP/headers" -o "$E2E_TMP/body" -w '%{http_code}')
    if [ -n "$extra" ]; then args+=(-H "$extra"); fi
    if [ -n "$body" ]; then args+=(-H 'Content-Type: application/json' --data-binary "$body"); fi
    STATUS=$(curl "${args[@]}" "$ARM$path")
    BODY_OUT=$(cat "$E2E_TMP/body")
    HEADERS_OUT=$(tr -d '\r' <"$E2E_TMP/headers")
}

RGP="$(rg_path etagrg)?api-version=$RG_V"
call PUT "$RGP" '{"location":"uksouth"}' 'If-None-Match: *'
check "create with If-None-Match: * 201" eq "$STATUS" 201
E1=$(header ETag)
check "ETag on PUT" test -n "$E1"
call PUT "$RGP" '{"location":"uksouth"}' 'If-None-Match: *'
check "If-None-Match: * on an existing group 412" eq "$STATUS" 412
check "PreconditionFailed" eq "$(jq_ "$BODY_OUT" error.code)" PreconditionFailed
check "ARM error message" test -n "$(jq_ "$BODY_OUT" error.message)"
call GET "$RGP"
check "ETag on GET" eq "$(header ETag)" "$E1"

# Two writers read the same ETag; the first write wins, the second is told.
call PUT "$RGP" '{"location":"uksouth","tags":{"writer":"a"}}' "If-Match: $E1"
check "first writer 200" eq "$STATUS" 200
E2=$(header ETag)
check "ETag changed" test "$E2" != "$E1"
call PUT "$RGP" '{"location":"uksouth","tags":{"writer":"b"}}' "If-Match: $E1"
check "second writer 412" eq "$STATUS" 412
call GET "$RGP"
check "first write kept" eq "$(jq_ "$BODY_OUT" tags.writer)" a
call PUT "$RGP" '{"location":"uksouth","tags":{"writer":"b"}}' "If-Match: W/$E2"
check "weak form of the current ETag 200" eq "$STATUS" 200
call PUT "$RGP" '{"location":"uksouth"}' 'If-Match: "nope", "also-nope"'
check "list of stale ETags 412" eq "$STATUS" 412
call PUT "$(rg_path nosuchrg)?api-version=$RG_V" '{"location":"uksouth"}' 'If-Match: *'
check "If-Match: * on a missing group 412" eq "$STATUS" 412
call GET "$(rg_path nosuchrg)?api-version=$RG_V"
check "not created by the refused PUT" eq "$STATUS" 404

# A Cloud HSM cluster: PATCH with a stale ETag.
must create_rg hsmrg
must create_cluster hsmrg etagcl
CL="$(cluster_path hsmrg etagcl)?api-version=$HSM_V"
call GET "$CL"
C1=$(header ETag)
check "cluster ETag" test -n "$C1"
call PATCH "$CL" '{"tags":{"t":"1"}}' "If-Match: $C1"
check "cluster PATCH with the ETag" eq "$STATUS" 200
call PATCH "$CL" '{"tags":{"t":"2"}}' "If-Match: $C1"
check "cluster PATCH with a stale ETag 412" eq "$STATUS" 412
call GET "$CL"
check "cluster tag from the first PATCH" eq "$(jq_ "$BODY_OUT" tags.t)" 1

# A storage account: PATCH and DELETE with a stale ETag.
must create_storage hsmrg etagacct etagbox
SA="$ACCOUNT_ID?api-version=$STORAGE_V"
call GET "$SA"
S1=$(header ETag)
check "storage account ETag" test -n "$S1"
call PATCH "$SA" '{"tags":{"t":"1"}}' "If-Match: $S1"
check "account PATCH with the ETag" eq "$STATUS" 200
call DELETE "$SA" "" "If-Match: $S1"
check "account DELETE with a stale ETag 412" eq "$STATUS" 412
call GET "$SA"
check "account still there" eq "$STATUS" 200
call DELETE "$SA" "" "If-Match: $(header ETag)"
check "account DELETE with the current ETag" eq "$STATUS" 200
finish

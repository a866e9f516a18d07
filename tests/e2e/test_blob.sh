#!/usr/bin/env bash
# test_blob.sh - the Blob endpoint over the wire with a Shared Key signer
# (blobreq.py, standard library only): containers, blobs, ranges, blocks,
# conditions, listings, errors, SAS, public access, bearer + RBAC, an ARM
# storage account and its keys, allowSharedKeyAccess=false, restart.
source "$(dirname "$0")/lib.sh"

BR="$(dirname "$0")/blobreq.py"
DEVKEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
ACCT=devstoreaccount1
AKEY=$DEVKEY
AUTH=key # key | none | bearer

# blob METHOD PATH [blobreq options]: a request to $BLOB/$ACCT$PATH signed
# with $ACCT/$AKEY (AUTH=key), a bearer $TOKEN (AUTH=bearer) or nothing.
blob() {
    local method=$1 path=$2
    shift 2
    local auth=()
    case "$AUTH" in
    key) auth=(--account "$ACCT" --key "$AKEY") ;;
    bearer) auth=(--bearer "$TOKEN") ;;
    esac
    STATUS=$(python3 "$BR" "$method" "$BLOB/$ACCT$path" "${auth[@]}" --cacert "$CA" \
        --body-out "$E2E_TMP/bbody" --headers-out "$E2E_TMP/bheaders" "$@")
    BODY_OUT=$(tr -d '\0' <"$E2E_TMP/bbody")
    HEADERS_OUT=$(cat "$E2E_TMP/bheaders")
}
code() { header x-ms-error-code; }
md5b64() { openssl dgst -md5 -binary "$1" | base64; }

start_emulator

# ---- containers ----
blob PUT "/c-one?restype=container" -H "x-ms-meta-team: dr"
check "create container" eq "$STATUS" 201
check "container etag" test -n "$(header etag)"
check "x-ms-version echoed" eq "$(header x-ms-version)" 2025-05-05
check "request id" test -n "$(header x-ms-request-id)"
check "date header" test -n "$(header date)"
blob PUT "/c-one?restype=container"
check "create twice 409" eq "$STATUS" 409
check "ContainerAlreadyExists" eq "$(code)" ContainerAlreadyExists
check "xml error body" contains "$BODY_OUT" "<Error><Code>ContainerAlreadyExists</Code><Message>"
blob PUT "/ab?restype=container"
check "short name 400" eq "$STATUS" 400
check "short name OutOfRangeInput" eq "$(code)" OutOfRangeInput
blob PUT "/Bad_Name?restype=container"
check "bad chars InvalidResourceName" eq "$(code)" InvalidResourceName
blob PUT "/a--b?restype=container"
check "double hyphen InvalidResourceName" eq "$(code)" InvalidResourceName
blob GET "/c-one?restype=container"
check "container properties" eq "$STATUS" 200
check "container metadata header" eq "$(header x-ms-meta-team)" dr
blob GET "/nosuch?restype=container"
check "ContainerNotFound" eq "$(code)" ContainerNotFound
blob GET "/c-one?restype=container&comp=acl"
check "get acl" eq "$STATUS" 200
check "no policies" contains "$BODY_OUT" "<SignedIdentifiers />"

# ---- Put Blob / Get Blob ----
printf 'hello world' >"$E2E_TMP/hello"
blob PUT "/c-one/dir/a.txt" -H "x-ms-blob-type: BlockBlob" -H "Content-Type: text/plain" \
    -H "x-ms-meta-color: blue" --data-file "$E2E_TMP/hello"
check "put blob" eq "$STATUS" 201
check "put blob content-md5" eq "$(header content-md5)" "$(md5b64 "$E2E_TMP/hello")"
ETAG=$(header etag)
blob GET "/c-one/dir/a.txt"
check "get blob" eq "$STATUS" 200
check "get blob body" eq "$BODY_OUT" "hello world"
check "get blob type" eq "$(header content-type)" text/plain
check "get blob meta" eq "$(header x-ms-meta-color)" blue
check "get blob etag" eq "$(header etag)" "$ETAG"
check "blob type header" eq "$(header x-ms-blob-type)" BlockBlob
check "last-modified" test -n "$(header last-modified)"
blob GET "/c-one/dir/a.txt" -H "x-ms-range: bytes=6-10"
check "range 206" eq "$STATUS" 206
check "range body" eq "$BODY_OUT" "world"
check "content-range" eq "$(header content-range)" "bytes 6-10/11"
blob GET "/c-one/dir/a.txt" -H "Range: bytes=4-"
check "open range" eq "$BODY_OUT" "o world"
blob GET "/c-one/dir/a.txt" -H "x-ms-range: bytes=100-"
check "range past end 416" eq "$STATUS" 416
check "InvalidRange" eq "$(code)" InvalidRange
blob HEAD "/c-one/dir/a.txt"
check "head 200" eq "$STATUS" 200
check "head length" eq "$(header content-length)" 11
check "head no body" eq "$BODY_OUT" ""
blob HEAD "/c-one/missing.txt"
check "head missing 404" eq "$STATUS" 404
check "head error code header" eq "$(code)" BlobNotFound

# ---- conditions ----
blob PUT "/c-one/dir/a.txt" -H "x-ms-blob-type: BlockBlob" -H "If-None-Match: *" --data x
check "create-only on existing 409" eq "$STATUS" 409
check "BlobAlreadyExists" eq "$(code)" BlobAlreadyExists
blob PUT "/c-one/dir/a.txt" -H "x-ms-blob-type: BlockBlob" -H 'If-Match: "0x1"' --data x
check "if-match wrong 412" eq "$STATUS" 412
check "ConditionNotMet" eq "$(code)" ConditionNotMet
blob GET "/c-one/dir/a.txt" -H "If-None-Match: $ETAG"
check "if-none-match 304" eq "$STATUS" 304
blob GET "/c-one/dir/a.txt" -H "If-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT"
check "if-modified-since future 304" eq "$STATUS" 304
blob GET "/c-one/dir/a.txt" -H "If-Unmodified-Since: Mon, 01 Jan 2001 00:00:00 GMT"
check "if-unmodified-since past 412" eq "$STATUS" 412
blob PUT "/c-one/new.txt" -H "x-ms-blob-type: BlockBlob" -H "If-None-Match: *" --data new
check "create-only new 201" eq "$STATUS" 201
blob GET "/c-one/dir/a.txt"
check "unchanged after refused writes" eq "$BODY_OUT" "hello world"

# ---- checksums and bad input ----
blob PUT "/c-one/dir/a.txt" -H "x-ms-blob-type: BlockBlob" --data "other" \
    -H "Content-MD5: $(md5b64 "$E2E_TMP/hello")"
check "md5 mismatch 400" eq "$STATUS" 400
check "Md5Mismatch" eq "$(code)" Md5Mismatch
CRC_OK=$(printf 'crc' | python3 -c '
import sys, base64
POLY = 0x9A6C9329AC4BC9B5
crc = 0xFFFFFFFFFFFFFFFF
for b in sys.stdin.buffer.read():
    crc ^= b
    for _ in range(8):
        crc = (crc >> 1) ^ POLY if crc & 1 else crc >> 1
crc ^= 0xFFFFFFFFFFFFFFFF
print(base64.b64encode(crc.to_bytes(8, "little")).decode())')
blob PUT "/c-one/crc.txt" -H "x-ms-blob-type: BlockBlob" --data crc -H "x-ms-content-crc64: $CRC_OK"
check "crc64 accepted" eq "$STATUS" 201
check "crc64 echoed" eq "$(header x-ms-content-crc64)" "$CRC_OK"
blob PUT "/c-one/crc.txt" -H "x-ms-blob-type: BlockBlob" --data crX -H "x-ms-content-crc64: $CRC_OK"
check "crc64 mismatch" eq "$(code)" Crc64Mismatch
blob PUT "/c-one/pb" -H "x-ms-blob-type: PageBlob" --data ""
check "page blob not implemented" eq "$STATUS" 501
blob PUT "/c-one/nt" --data "x"
check "missing blob type" eq "$(code)" MissingRequiredHeader
LONG=$(head -c 1025 /dev/zero | tr '\0' 'n')
blob PUT "/c-one/$LONG" -H "x-ms-blob-type: BlockBlob" --data x
check "name over 1024 400" eq "$STATUS" 400
check "name over 1024 OutOfRangeInput" eq "$(code)" OutOfRangeInput
blob PUT "/c-one/a/%2E%2E/b" -H "x-ms-blob-type: BlockBlob" --data x
check "dot-dot segment refused" eq "$STATUS" 400
blob PUT "/c-one/a/b." -H "x-ms-blob-type: BlockBlob" --data x
check "trailing dot refused" eq "$(code)" InvalidResourceName
blob PUT "/c-one/meta.txt" -H "x-ms-blob-type: BlockBlob" -H "x-ms-meta-1bad: x" --data x
check "bad metadata name" eq "$(code)" InvalidMetadata
blob GET "/c-one/dir/a.txt" -H "x-ms-version: 1999-01-01"
check "unknown version 400" eq "$(code)" InvalidHeaderValue
AKEY=$(printf 'wrong-key-wrong-key-wrong-key-12' | base64)
blob GET "/c-one/dir/a.txt"
check "wrong key 403" eq "$STATUS" 403
check "AuthenticationFailed" eq "$(code)" AuthenticationFailed
check "detail names string to sign" contains "$BODY_OUT" "AuthenticationErrorDetail"
AKEY=$DEVKEY
AUTH=none
blob GET "/c-one/dir/a.txt"
check "anonymous on private 401" eq "$STATUS" 401
check "NoAuthenticationInformation" eq "$(code)" NoAuthenticationInformation
AUTH=key

# A body cut short of its Content-Length leaves nothing behind.
python3 "$BR" truncated "$BLOB/$ACCT/c-one/torn.bin" "$CA" 2000000 1500000 >/dev/null
sleep 0.3
blob GET "/c-one/torn.bin"
check "truncated upload stored nothing" eq "$(code)" BlobNotFound
for _ in $(seq 1 50); do
    [ "$(ls "$DATA/tmp" | wc -l)" -eq 0 ] && break
    sleep 0.1
done
check "no spilled body left" eq "$(ls "$DATA/tmp" | wc -l)" 0
check "no temp files left" eq "$(ls "$DATA/blobs/tmp" | wc -l)" 0

# ---- metadata and properties ----
blob PUT "/c-one/dir/a.txt?comp=metadata" -H "x-ms-meta-shape: round"
check "set blob metadata" eq "$STATUS" 200
blob GET "/c-one/dir/a.txt?comp=metadata"
check "get blob metadata" eq "$(header x-ms-meta-shape)" round
check "metadata replaced" eq "$(header x-ms-meta-color)" ""
blob PUT "/c-one/dir/a.txt?comp=properties" -H "x-ms-blob-content-type: application/json"
check "set blob properties" eq "$STATUS" 200
blob HEAD "/c-one/dir/a.txt"
check "content type changed" eq "$(header content-type)" application/json
blob PUT "/c-one?restype=container&comp=metadata" -H "x-ms-meta-owner: ops"
check "set container metadata" eq "$STATUS" 200

# ---- listings ----
for n in dir/b.txt dir/sub/c.txt top.txt; do
    blob PUT "/c-one/$n" -H "x-ms-blob-type: BlockBlob" --data "$n"
done
blob GET "/c-one?restype=container&comp=list&delimiter=/"
check "list with delimiter" eq "$STATUS" 200
check "prefix dir/" contains "$BODY_OUT" "<BlobPrefix><Name>dir/</Name></BlobPrefix>"
check "top blob listed" contains "$BODY_OUT" "<Name>top.txt</Name>"
check "nested not listed" test "$(printf '%s' "$BODY_OUT" | grep -c 'dir/b.txt')" -eq 0
blob GET "/c-one?restype=container&comp=list&prefix=dir/&delimiter=/&include=metadata"
check "prefix listing" contains "$BODY_OUT" "<Name>dir/b.txt</Name>"
check "sub prefix" contains "$BODY_OUT" "<BlobPrefix><Name>dir/sub/</Name></BlobPrefix>"
check "metadata included" contains "$BODY_OUT" "<Metadata><shape>round</shape></Metadata>"
check "enumeration results" contains "$BODY_OUT" 'ContainerName="c-one"'
blob GET "/c-one?restype=container&comp=list&maxresults=2"
check "page 1 marker" contains "$BODY_OUT" "<NextMarker>"
MARKER=$(printf '%s' "$BODY_OUT" | sed -n 's:.*<NextMarker>\(.*\)</NextMarker>.*:\1:p')
check "page 1 has two" test "$(printf '%s' "$BODY_OUT" | grep -o '<Blob>' | wc -l)" -eq 2
blob GET "/c-one?restype=container&comp=list&maxresults=100&marker=$MARKER"
check "page 2 continues" contains "$BODY_OUT" "<Name>$MARKER</Name>"
check "page 2 ends" contains "$BODY_OUT" "<NextMarker />"
blob GET "/c-one?restype=container&comp=list&maxresults=0"
check "maxresults 0 refused" eq "$(code)" OutOfRangeQueryParameterValue
blob PUT "/c-two?restype=container"
blob GET "?comp=list&prefix=c-&maxresults=1&include=metadata"
check "list containers" eq "$STATUS" 200
check "list containers first" contains "$BODY_OUT" "<Name>c-one</Name>"
check "list containers next marker" contains "$BODY_OUT" "<NextMarker>c-two</NextMarker>"
check "container metadata listed" contains "$BODY_OUT" "<owner>ops</owner>"

# ---- blocks ----
B1=$(printf 'block-1' | base64)
B2=$(printf 'block-2' | base64)
printf 'AAAA' >"$E2E_TMP/p1"
printf 'BBBB' >"$E2E_TMP/p2"
blob PUT "/c-one/blocks.bin?comp=block&blockid=$B1" --data-file "$E2E_TMP/p1"
check "put block 1" eq "$STATUS" 201
blob PUT "/c-one/blocks.bin?comp=block&blockid=$B2" --data-file "$E2E_TMP/p2"
check "put block 2" eq "$STATUS" 201
blob PUT "/c-one/blocks.bin?comp=block&blockid=$(printf 'x' | base64)" --data z
check "block id length mismatch" eq "$(code)" InvalidBlobOrBlock
blob PUT "/c-one/blocks.bin?comp=block&blockid=not*base64" --data z
check "block id not base64" eq "$(code)" InvalidQueryParameterValue
blob GET "/c-one/blocks.bin?comp=blocklist&blocklisttype=uncommitted"
check "uncommitted list" contains "$BODY_OUT" "<UncommittedBlocks><Block><Name>$B1</Name><Size>4</Size></Block>"
blob GET "/c-one/blocks.bin"
check "uncommitted blob not readable" eq "$(code)" BlobNotFound
blob PUT "/c-one/blocks.bin?comp=blocklist" \
    --data "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList><Latest>$B1</Latest><Latest>$(printf 'block-9' | base64)</Latest></BlockList>"
check "unknown block 400" eq "$(code)" InvalidBlockList
blob PUT "/c-one/blocks.bin?comp=blocklist" --data "<BlockList><Latest>$B1"
check "malformed xml" eq "$(code)" InvalidXmlDocument
blob PUT "/c-one/blocks.bin?comp=blocklist" -H "x-ms-blob-content-type: text/plain" \
    --data "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList><Latest>$B2</Latest><Uncommitted>$B1</Uncommitted></BlockList>"
check "put block list" eq "$STATUS" 201
blob GET "/c-one/blocks.bin"
check "committed content" eq "$BODY_OUT" "BBBBAAAA"
check "committed type" eq "$(header content-type)" text/plain
blob GET "/c-one/blocks.bin?comp=blocklist&blocklisttype=all"
check "committed list" contains "$BODY_OUT" "<CommittedBlocks><Block><Name>$B2</Name><Size>4</Size></Block><Block><Name>$B1</Name>"
check "uncommitted dropped" contains "$BODY_OUT" "<UncommittedBlocks></UncommittedBlocks>"
# Reuse a committed block and add a new one.
B3=$(printf 'block-3' | base64)
blob PUT "/c-one/blocks.bin?comp=block&blockid=$B3" --data "CCCC"
blob PUT "/c-one/blocks.bin?comp=blocklist" \
    --data "<BlockList><Committed>$B1</Committed><Latest>$B3</Latest></BlockList>"
blob GET "/c-one/blocks.bin"
check "committed block reused" eq "$BODY_OUT" "AAAACCCC"

# ---- large bodies (spilled to a file by the HTTP layer) ----
head -c 3145728 /dev/urandom >"$E2E_TMP/big"
blob PUT "/c-one/big.bin" -H "x-ms-blob-type: BlockBlob" --data-file "$E2E_TMP/big" \
    -H "Content-MD5: $(md5b64 "$E2E_TMP/big")"
check "put 3 MiB" eq "$STATUS" 201
blob GET "/c-one/big.bin"
check "get 3 MiB" cmp -s "$E2E_TMP/bbody" "$E2E_TMP/big"
head -c 1500000 "$E2E_TMP/big" >"$E2E_TMP/big1"
tail -c +1500001 "$E2E_TMP/big" >"$E2E_TMP/big2"
K1=$(printf 'k-000001' | base64)
K2=$(printf 'k-000002' | base64)
blob PUT "/c-one/big2.bin?comp=block&blockid=$K1" --data-file "$E2E_TMP/big1"
blob PUT "/c-one/big2.bin?comp=block&blockid=$K2" --data-file "$E2E_TMP/big2"
blob PUT "/c-one/big2.bin?comp=blocklist" --data "<BlockList><Latest>$K1</Latest><Latest>$K2</Latest></BlockList>"
check "big block list" eq "$STATUS" 201
blob GET "/c-one/big2.bin"
check "big block list content" cmp -s "$E2E_TMP/bbody" "$E2E_TMP/big"
blob GET "/c-one/big2.bin" -H "x-ms-range: bytes=1499990-1500009"
cmp -s "$E2E_TMP/bbody" <(tail -c +1499991 "$E2E_TMP/big" | head -c 20) && R=ok || R=bad
check "range across blocks" eq "$R" ok

# ---- host-style addressing ----
PORT=${BLOB##*:}
STATUS=$(python3 "$BR" GET "$BLOB/c-one/dir/a.txt" --host "devstoreaccount1.blob.localhost:$PORT" \
    --account devstoreaccount1 --key "$DEVKEY" --cacert "$CA" --body-out "$E2E_TMP/bbody" \
    --headers-out "$E2E_TMP/bheaders")
check "host-style get" eq "$STATUS" 200
check "host-style body" eq "$(cat "$E2E_TMP/bbody")" "hello world"

# ---- service properties ----
blob GET "?restype=service&comp=properties"
check "service properties" contains "$BODY_OUT" "<StorageServiceProperties>"
blob PUT "?restype=service&comp=properties" \
    --data '<?xml version="1.0" encoding="utf-8"?><StorageServiceProperties><Cors /></StorageServiceProperties>'
check "set service properties 202" eq "$STATUS" 202
blob GET "?restype=service&comp=properties"
check "service properties kept" contains "$BODY_OUT" "<StorageServiceProperties><Cors /></StorageServiceProperties>"

# ---- SAS ----
FUTURE=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
PAST=$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)
SAS=$(python3 "$BR" sas "$ACCT" "$DEVKEY" sp=rl se="$FUTURE" sr=c cr=c-one spr=https)
AUTH=none
blob GET "/c-one/dir/a.txt?$SAS"
check "service SAS read" eq "$STATUS" 200
blob GET "/c-one?restype=container&comp=list&$SAS"
check "service SAS list" eq "$STATUS" 200
blob PUT "/c-one/sas.txt?$SAS" -H "x-ms-blob-type: BlockBlob" --data x
check "service SAS cannot write" eq "$(code)" AuthorizationPermissionMismatch
blob GET "/c-two?restype=container&comp=list&$SAS"
check "service SAS other container" eq "$(code)" AuthenticationFailed
EXPIRED=$(python3 "$BR" sas "$ACCT" "$DEVKEY" sp=rl se="$PAST" sr=c cr=c-one)
blob GET "/c-one/dir/a.txt?$EXPIRED"
check "expired SAS" eq "$(code)" AuthenticationFailed
blob GET "/c-one/dir/a.txt?${SAS%sig=*}sig=AAAA${SAS##*sig=}"
check "tampered SAS" eq "$(code)" AuthenticationFailed
BSAS=$(python3 "$BR" sas "$ACCT" "$DEVKEY" sp=rcw se="$FUTURE" sr=b cr=c-one bl=sas.txt)
blob PUT "/c-one/sas.txt?$BSAS" -H "x-ms-blob-type: BlockBlob" --data "via sas"
check "blob SAS write" eq "$STATUS" 201
ASAS=$(python3 "$BR" sas "$ACCT" "$DEVKEY" sp=rwdlc ss=b srt=sco se="$FUTURE" sv=2021-08-06)
blob PUT "/c-sas?restype=container&$ASAS"
check "account SAS creates container" eq "$STATUS" 201
OSAS=$(python3 "$BR" sas "$ACCT" "$DEVKEY" sp=rwdlc ss=b srt=o se="$FUTURE")
blob PUT "/c-sas2?restype=container&$OSAS"
check "account SAS resource type" eq "$(code)" AuthorizationResourceTypeMismatch
AUTH=key

# ---- public access ----
blob PUT "/c-one?restype=container&comp=acl" -H "x-ms-blob-public-access: container"
check "set public access" eq "$STATUS" 200
AUTH=none
blob GET "/c-one/dir/a.txt"
check "anonymous read of public container" eq "$STATUS" 200
blob GET "/c-one?restype=container&comp=list"
check "anonymous list of public container" eq "$STATUS" 200
blob PUT "/c-one/anon.txt" -H "x-ms-blob-type: BlockBlob" --data x
check "anonymous write refused" eq "$STATUS" 401
AUTH=key
blob PUT "/c-one?restype=container&comp=acl"
AUTH=none
blob GET "/c-one/dir/a.txt"
check "private again" eq "$STATUS" 401
AUTH=key

# ---- an ARM storage account ----
arm PUT "/subscriptions/$SUB/resourceGroups/blob-rg?api-version=2021-04-01" '{"location":"westeurope"}'
arm PUT "/subscriptions/$SUB/resourceGroups/blob-rg/providers/Microsoft.Storage/storageAccounts/drbackups?api-version=2025-08-01" \
    '{"location":"westeurope","sku":{"name":"Standard_LRS"},"kind":"StorageV2","properties":{"allowBlobPublicAccess":false}}'
check "create storage account" eq "$STATUS" 200
check "account blob endpoint" eq "$(jq_ "$BODY_OUT" properties.primaryEndpoints.blob)" "$BLOB/drbackups/"
SAID=$(jq_ "$BODY_OUT" id)
arm POST "/subscriptions/$SUB/resourceGroups/blob-rg/providers/Microsoft.Storage/storageAccounts/drbackups/listKeys?api-version=2025-08-01"
check "listKeys" eq "$STATUS" 200
KEY1=$(jq_ "$BODY_OUT" keys.0.value)
KEY2=$(jq_ "$BODY_OUT" keys.1.value)
check "key1 is 64 bytes" eq "$(printf '%s' "$KEY1" | base64 -d | wc -c)" 64
check "keys differ" test "$KEY1" != "$KEY2"
check "key permissions" eq "$(jq_ "$BODY_OUT" keys.0.permissions)" FULL
ACCT=drbackups
AKEY=$KEY1
blob PUT "/backups?restype=container"
check "container on ARM account" eq "$STATUS" 201
blob PUT "/backups/b1.bin" -H "x-ms-blob-type: BlockBlob" --data-file "$E2E_TMP/hello"
check "blob on ARM account" eq "$STATUS" 201
AKEY=$KEY2
blob GET "/backups/b1.bin"
check "key2 works too" eq "$BODY_OUT" "hello world"
AKEY=$DEVKEY
blob GET "/backups/b1.bin"
check "other account's key refused" eq "$(code)" AuthenticationFailed
AKEY=$KEY1
arm GET "$SAID/blobServices/default/containers/backups?api-version=2025-08-01"
check "ARM sees data-plane container" eq "$STATUS" 200
check "ARM container publicAccess" eq "$(jq_ "$BODY_OUT" properties.publicAccess)" None
arm PUT "$SAID/blobServices/default/containers/armmade?api-version=2025-08-01" '{"properties":{"publicAccess":"None","metadata":{"k":"v"}}}'
check "ARM creates container" eq "$STATUS" 201
blob GET "/armmade?restype=container"
check "data plane sees ARM container" eq "$STATUS" 200
check "ARM metadata on data plane" eq "$(header x-ms-meta-k)" v
arm PUT "$SAID/blobServices/default/containers/pub?api-version=2025-08-01" '{"properties":{"publicAccess":"Container"}}'
check "public container refused by account" eq "$STATUS" 409
arm GET "$SAID/blobServices/default/containers?api-version=2025-08-01"
check "ARM list containers" eq "$(jq_ "$BODY_OUT" value.1.name)" backups
arm POST "/subscriptions/$SUB/providers/Microsoft.Storage/checkNameAvailability?api-version=2025-08-01" \
    '{"name":"drbackups","type":"Microsoft.Storage/storageAccounts"}'
check "name taken" eq "$(jq_ "$BODY_OUT" reason)" AlreadyExists
arm PUT "/subscriptions/$SUB/resourceGroups/blob-rg/providers/Microsoft.Storage/storageAccounts/devstoreaccount1?api-version=2025-08-01" \
    '{"location":"westeurope","sku":{"name":"Standard_LRS"},"kind":"StorageV2"}'
check "dev account name taken" eq "$(jq_ "$BODY_OUT" error.code)" StorageAccountAlreadyTaken
arm PUT "/subscriptions/$SUB/resourceGroups/blob-rg/providers/Microsoft.Storage/storageAccounts/Bad?api-version=2025-08-01" \
    '{"location":"westeurope"}'
check "bad account name" eq "$(jq_ "$BODY_OUT" error.code)" AccountNameInvalid
arm GET "/subscriptions/$SUB/resourceGroups/blob-rg/providers/Microsoft.Storage/storageAccounts?api-version=2023-01-01"
check "list by rg" eq "$(jq_ "$BODY_OUT" value.0.name)" drbackups

# bearer + RBAC: the e2e token's principal gets Storage Blob Data Contributor on the account.
AUTH=bearer
blob GET "/backups/b1.bin"
check "bearer without role 403" eq "$(code)" AuthorizationPermissionMismatch
arm PUT "$SAID/providers/Microsoft.Authorization/roleAssignments/6f1c2b1e-0f3a-4a55-9d0e-2f6a4c1d9e01?api-version=2022-04-01" \
    '{"properties":{"roleDefinitionId":"/subscriptions/'"$SUB"'/providers/Microsoft.Authorization/roleDefinitions/ba92f5b4-2d11-453d-a403-e96b0029c9fe","principalId":"00000000-0000-0000-0000-00000000c0de","principalType":"ServicePrincipal"}}'
check "role assignment" eq "$STATUS" 201
blob GET "/backups/b1.bin"
check "bearer with role reads" eq "$BODY_OUT" "hello world"
blob PUT "/backups/b2.bin" -H "x-ms-blob-type: BlockBlob" --data "by bearer"
check "bearer with role writes" eq "$STATUS" 201
AUTH=key

# allowSharedKeyAccess=false refuses Shared Key and SAS, keeps bearer.
arm PATCH "$SAID?api-version=2025-08-01" '{"properties":{"allowSharedKeyAccess":false}}'
check "patch allowSharedKeyAccess" eq "$(jq_ "$BODY_OUT" properties.allowSharedKeyAccess)" False
blob GET "/backups/b1.bin"
check "shared key refused" eq "$STATUS" 403
check "KeyBasedAuthenticationNotPermitted" eq "$(code)" KeyBasedAuthenticationNotPermitted
KSAS=$(python3 "$BR" sas drbackups "$KEY1" sp=r se="$FUTURE" sr=c cr=backups)
AUTH=none
blob GET "/backups/b1.bin?$KSAS"
check "SAS refused too" eq "$(code)" KeyBasedAuthenticationNotPermitted
AUTH=bearer
blob GET "/backups/b1.bin"
check "bearer still works" eq "$STATUS" 200
AUTH=key
arm POST "$SAID/listKeys?api-version=2025-08-01"
check "listKeys still works" eq "$STATUS" 200
arm POST "$SAID/regenerateKey?api-version=2025-08-01" '{"keyName":"key2"}'
check "regenerate key2" test "$(jq_ "$BODY_OUT" keys.1.value)" != "$KEY2"
check "key1 kept" eq "$(jq_ "$BODY_OUT" keys.0.value)" "$KEY1"
arm PATCH "$SAID?api-version=2025-08-01" '{"properties":{"allowSharedKeyAccess":true}}'
blob GET "/backups/b1.bin"
check "shared key back" eq "$STATUS" 200

# ---- restart: everything is still there ----
ACCT=devstoreaccount1
AKEY=$DEVKEY
stop_emulator
start_emulator
blob GET "/c-one/big.bin"
check "3 MiB blob after restart" cmp -s "$E2E_TMP/bbody" "$E2E_TMP/big"
blob GET "/c-one/blocks.bin"
check "block blob after restart" eq "$BODY_OUT" "AAAACCCC"
ACCT=drbackups
AKEY=$KEY1
blob GET "/backups/b1.bin"
check "ARM account key after restart" eq "$BODY_OUT" "hello world"

# ---- a resource group deletion takes its storage accounts, their blobs and files ----
arm PUT "/subscriptions/$SUB/resourceGroups/gone-rg?api-version=2021-04-01" '{"location":"westeurope"}'
arm PUT "/subscriptions/$SUB/resourceGroups/gone-rg/providers/Microsoft.Storage/storageAccounts/goneacct?api-version=2025-08-01" \
    '{"location":"westeurope","sku":{"name":"Standard_LRS"},"kind":"StorageV2"}'
arm POST "/subscriptions/$SUB/resourceGroups/gone-rg/providers/Microsoft.Storage/storageAccounts/goneacct/listKeys?api-version=2025-08-01"
GONEKEY=$(jq_ "$BODY_OUT" keys.0.value)
ACCT=goneacct
AKEY=$GONEKEY
blob PUT "/box?restype=container"
FILES_BEFORE=$(ls "$DATA/blobs/data" | wc -l)
blob PUT "/box/x.bin" -H "x-ms-blob-type: BlockBlob" --data-file "$E2E_TMP/hello"
check "blob in doomed group" eq "$STATUS" 201
arm DELETE "/subscriptions/$SUB/resourceGroups/gone-rg?api-version=2021-04-01"
check "delete group 202" eq "$STATUS" 202
LOC=$(header location)
for _ in $(seq 1 100); do
    arm GET "$LOC"
    [ "$STATUS" = 202 ] || break
    sleep 0.1
done
check "group deletion done" eq "$STATUS" 200
blob GET "/box/x.bin"
check "account gone with its group" eq "$STATUS" 404
check "its files removed" eq "$(ls "$DATA/blobs/data" | wc -l)" "$FILES_BEFORE"
arm PUT "/subscriptions/$SUB/resourceGroups/gone-rg?api-version=2021-04-01" '{"location":"westeurope"}'
arm PUT "/subscriptions/$SUB/resourceGroups/gone-rg/providers/Microsoft.Storage/storageAccounts/goneacct?api-version=2025-08-01" \
    '{"location":"westeurope","sku":{"name":"Standard_LRS"},"kind":"StorageV2"}'
check "name reusable" eq "$STATUS" 200
arm POST "/subscriptions/$SUB/resourceGroups/gone-rg/providers/Microsoft.Storage/storageAccounts/goneacct/listKeys?api-version=2025-08-01"
check "new keys" test "$(jq_ "$BODY_OUT" keys.0.value)" != "$GONEKEY"
AKEY=$(jq_ "$BODY_OUT" keys.0.value)
blob GET "/box?restype=container"
check "no containers inherited" eq "$(code)" ContainerNotFound

# ---- deletes ----
ACCT=devstoreaccount1
AKEY=$DEVKEY
blob DELETE "/c-one/dir/a.txt"
check "delete blob 202" eq "$STATUS" 202
blob GET "/c-one/dir/a.txt"
check "deleted blob gone" eq "$(code)" BlobNotFound
blob DELETE "/c-one/dir/a.txt"
check "delete again 404" eq "$(code)" BlobNotFound
FILES_BEFORE=$(ls "$DATA/blobs/data" | wc -l)
blob DELETE "/c-one?restype=container"
check "delete container 202" eq "$STATUS" 202
blob GET "/c-one?restype=container"
check "deleted container gone" eq "$(code)" ContainerNotFound
check "container files removed" test "$(ls "$DATA/blobs/data" | wc -l)" -lt "$FILES_BEFORE"
arm DELETE "$SAID?api-version=2025-08-01"
check "delete storage account" eq "$STATUS" 200
ACCT=drbackups
AKEY=$KEY1
blob GET "/backups/b1.bin"
check "deleted account gone" eq "$STATUS" 404
check "no files left once every blob is gone" eq "$(ls "$DATA/blobs/data" | wc -l)" 0

# ---- body limit: an oversize body is refused before it is stored ----
stop_emulator
start_emulator --max-blob-body 1048576
ACCT=devstoreaccount1
AKEY=$DEVKEY
blob PUT "/c-two/huge.bin" -H "x-ms-blob-type: BlockBlob" --data-file "$E2E_TMP/big"
check "oversize body 413" eq "$STATUS" 413
blob GET "/c-two/huge.bin"
check "oversize stored nothing" eq "$(code)" BlobNotFound

finish

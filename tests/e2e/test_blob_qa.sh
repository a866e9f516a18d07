#!/usr/bin/env bash
# test_blob_qa.sh - the Blob endpoint under the QA controls: fault rules
# (storageUnavailable, containerReadOnly, corruptBlob on write and on read,
# truncateBlob, error), reset, and snapshots that carry the blob files.
source "$(dirname "$0")/lib.sh"

BR="$(dirname "$0")/blobreq.py"
DEVKEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

blob() { # blob METHOD PATH [blobreq options], signed for devstoreaccount1
    local method=$1 path=$2
    shift 2
    STATUS=$(python3 "$BR" "$method" "$BLOB/devstoreaccount1$path" --account devstoreaccount1 \
        --key "$DEVKEY" --cacert "$CA" --body-out "$E2E_TMP/bbody" \
        --headers-out "$E2E_TMP/bheaders" "$@")
    BODY_OUT=$(tr -d '\0' <"$E2E_TMP/bbody")
    HEADERS_OUT=$(cat "$E2E_TMP/bheaders")
}
ctl() { # ctl METHOD PATH [BODY]: a control call
    local args=(-sS -X "$1" $(ca_opt) -o "$E2E_TMP/cbody" -w '%{http_code}')
    if [ -n "${3-}" ]; then args+=(-H 'Content-Type: application/json' --data-binary "$3"); fi
    CSTATUS=$(curl "${args[@]}" "$ARM$2")
}
code() { header x-ms-error-code; }
md5b64() { openssl dgst -md5 -binary "$1" | base64; }

start_emulator
blob PUT "/qabox?restype=container"
check "container" eq "$STATUS" 201
head -c 4096 /dev/urandom >"$E2E_TMP/payload"
blob PUT "/qabox/one.bin" -H "x-ms-blob-type: BlockBlob" --data-file "$E2E_TMP/payload"
check "put" eq "$STATUS" 201

# storageUnavailable: every operation on the matching resources answers 503 ServerBusy, in XML.
ctl POST /_emulator/faults '{"id":"down","resource":"/devstoreaccount1/qabox*","count":2,"action":{"type":"storageUnavailable"}}'
check "rule added" eq "$CSTATUS" 201
blob GET "/qabox/one.bin"
check "storage unavailable 503" eq "$STATUS" 503
check "ServerBusy" eq "$(code)" ServerBusy
check "fault header" eq "$(header x-ms-emulator-fault)" down
check "xml error" contains "$BODY_OUT" "<Code>ServerBusy</Code>"
blob GET "/qabox?restype=container&comp=list"
check "second hit" eq "$STATUS" 503
blob GET "/qabox/one.bin"
check "rule used up" eq "$STATUS" 200

# containerReadOnly: writes refused, reads served.
ctl POST /_emulator/faults '{"id":"ro","resource":"/devstoreaccount1/qabox/*","action":{"type":"containerReadOnly"}}'
blob PUT "/qabox/two.bin" -H "x-ms-blob-type: BlockBlob" --data x
check "read-only refuses writes" eq "$(code)" OperationNotAllowedInCurrentState
blob GET "/qabox/one.bin"
check "read-only serves reads" eq "$STATUS" 200
ctl DELETE /_emulator/faults/ro
check "rule removed" test "$CSTATUS" -lt 300

# corruptBlob on write: the stored bytes differ from what was sent (its MD5 still the sent one).
ctl POST /_emulator/faults '{"operation":"blob/PutBlob","resource":"/devstoreaccount1/qabox/bad.bin","count":1,"action":{"type":"corruptBlob"}}'
blob PUT "/qabox/bad.bin" -H "x-ms-blob-type: BlockBlob" --data-file "$E2E_TMP/payload"
check "corrupted write accepted" eq "$STATUS" 201
blob GET "/qabox/bad.bin"
cmp -s "$E2E_TMP/bbody" "$E2E_TMP/payload" && SAME=yes || SAME=no
check "stored content corrupted" eq "$SAME" no
check "same length" eq "$(wc -c <"$E2E_TMP/bbody")" 4096
check "stored md5 is the sent one" eq "$(header content-md5)" "$(md5b64 "$E2E_TMP/payload")"

# truncateBlob on write.
ctl POST /_emulator/faults '{"operation":"blob/PutBlob","resource":"*/short.bin","count":1,"action":{"type":"truncateBlob"}}'
blob PUT "/qabox/short.bin" -H "x-ms-blob-type: BlockBlob" --data-file "$E2E_TMP/payload"
blob HEAD "/qabox/short.bin"
check "stored content truncated" eq "$(header content-length)" 2048

# corruptBlob on read: the reader sees altered bytes once; the blob itself is intact.
ctl POST /_emulator/faults '{"operation":"blob/GetBlob","resource":"*/one.bin","count":1,"action":{"type":"corruptBlob"}}'
blob GET "/qabox/one.bin"
cmp -s "$E2E_TMP/bbody" "$E2E_TMP/payload" && SAME=yes || SAME=no
check "read corrupted" eq "$SAME" no
blob GET "/qabox/one.bin"
check "blob intact afterwards" cmp -s "$E2E_TMP/bbody" "$E2E_TMP/payload"

# error rule rendered in the Blob format.
ctl POST /_emulator/faults '{"operation":"blob/DeleteBlob","count":1,"action":{"type":"error","status":500,"code":"InternalError","message":"injected"}}'
blob DELETE "/qabox/one.bin"
check "error rule 500" eq "$STATUS" 500
check "error rule code" eq "$(code)" InternalError
blob GET "/qabox/one.bin"
check "not deleted" eq "$STATUS" 200

# Snapshots carry the blob files; reset empties them.
ctl POST /_emulator/snapshots/s1
check "snapshot saved" test "$CSTATUS" -lt 300
blob DELETE "/qabox/one.bin"
check "deleted" eq "$STATUS" 202
ctl POST /_emulator/snapshots/s1/restore
check "snapshot restored" test "$CSTATUS" -lt 300
blob GET "/qabox/one.bin"
check "blob back from snapshot" cmp -s "$E2E_TMP/bbody" "$E2E_TMP/payload"
ctl POST /_emulator/reset
check "reset" test "$CSTATUS" -lt 300
blob GET "/qabox?restype=container"
check "containers gone after reset" eq "$(code)" ContainerNotFound
check "files gone after reset" eq "$(ls "$DATA/blobs/data" | wc -l)" 0
blob PUT "/qabox?restype=container"
check "dev account still there" eq "$STATUS" 201

finish

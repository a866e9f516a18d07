/* sharedkey.h - Azure Storage Shared Key authorization (Blob service form,
 * version 2015-02-21 and later): the canonical string-to-sign of a request
 * and the HMAC-SHA256 signature over it with the account key. */
#ifndef CHSM_BLOB_SHAREDKEY_H
#define CHSM_BLOB_SHAREDKEY_H

#include "http/message.h"

#include <stddef.h>

/* chsm_blob_sharedkey_parse splits an Authorization value "SharedKey
 * account:signature" (scheme matched case-sensitively, as Azure does);
 * CHSM_EINVAL when it is not one. */
int chsm_blob_sharedkey_parse(const char *header, char *account, size_t accountlen, char *signature,
                              size_t siglen);
/* chsm_blob_sharedkey_canonical_headers returns the CanonicalizedHeaders part:
 * every x-ms- header, lowercased, sorted, duplicates joined by ',', each
 * "name:value\n" (caller frees). */
char *chsm_blob_sharedkey_canonical_headers(const chsm_request *req);
/* chsm_blob_sharedkey_canonical_resource returns "/" + account + path, then
 * "\nname:value" per query parameter (names lowercased and sorted, values
 * decoded, repeated names' values sorted and joined by ','); caller frees. */
char *chsm_blob_sharedkey_canonical_resource(const chsm_request *req, const char *account,
                                             const char *path);
/* chsm_blob_sharedkey_string_to_sign returns the whole string-to-sign of req
 * for the canonical resource built from account and path (caller frees). */
char *chsm_blob_sharedkey_string_to_sign(const chsm_request *req, const char *account,
                                         const char *path);
/* chsm_blob_hmac_base64 returns base64(HMAC-SHA256(base64-decoded key, text))
 * (caller frees), or NULL when key is not base64. */
char *chsm_blob_hmac_base64(const char *key_b64, const char *text);
/* chsm_blob_signature_matches compares two base64 signatures in constant time. */
int chsm_blob_signature_matches(const char *expected, const char *given);

#endif

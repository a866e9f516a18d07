/* sharedkey.c - the Shared Key string-to-sign and signatures. */
#include "blob/sharedkey.h"

#include "crypto/digest.h"
#include "util/buf.h"
#include "util/status.h"
#include "util/text.h"

#include <stdlib.h>
#include <string.h>

int chsm_blob_sharedkey_parse(const char *header, char *account, size_t accountlen, char *signature,
                              size_t siglen)
{
    static const char scheme[] = "SharedKey ";
    if (!header || strncmp(header, scheme, sizeof scheme - 1) != 0)
        return CHSM_EINVAL;
    const char *p = header + sizeof scheme - 1;
    while (*p == ' ')
        p++;
    const char *colon = strchr(p, ':');
    if (!colon || colon == p || (size_t)(colon - p) >= accountlen || !colon[1] ||
        strlen(colon + 1) >= siglen)
        return CHSM_EINVAL;
    memcpy(account, p, (size_t)(colon - p));
    account[colon - p] = '\0';
    strcpy(signature, colon + 1);
    return CHSM_OK;
}

typedef struct pair {
    char *name; /* lowercased */
    const char *value;
} pair;

static int pair_cmp(const void *a, const void *b)
{
    const pair *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

/* trimmed appends value without leading and trailing whitespace. */
static void append_trimmed(chsm_buf *b, const char *v)
{
    while (*v == ' ' || *v == '\t')
        v++;
    size_t n = strlen(v);
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    chsm_buf_append(b, v, n);
}

/* append_sorted writes "prefix name:value[,value...] suffix" per distinct
 * name of the sorted pairs. */
static void append_sorted(chsm_buf *b, pair *pairs, size_t n, const char *before, const char *after,
                          int trim)
{
    qsort(pairs, n, sizeof *pairs, pair_cmp);
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || strcmp(pairs[i].name, pairs[i - 1].name) != 0) {
            if (i > 0)
                chsm_buf_puts(b, after);
            chsm_buf_puts(b, before);
            chsm_buf_puts(b, pairs[i].name);
            chsm_buf_puts(b, ":");
        } else {
            chsm_buf_puts(b, ",");
        }
        if (trim)
            append_trimmed(b, pairs[i].value);
        else
            chsm_buf_puts(b, pairs[i].value);
    }
    if (n > 0)
        chsm_buf_puts(b, after);
}

static void free_pairs(pair *pairs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(pairs[i].name);
    free(pairs);
}

char *chsm_blob_sharedkey_canonical_headers(const chsm_request *req)
{
    pair *pairs = calloc(req->nheaders + 1, sizeof *pairs);
    if (!pairs)
        return NULL;
    size_t n = 0;
    int failed = 0;
    for (size_t i = 0; i < req->nheaders; i++) {
        if (!chsm_starts_with_ci(req->headers[i].name, "x-ms-"))
            continue;
        pairs[n].name = chsm_lower_dup(req->headers[i].name);
        pairs[n].value = req->headers[i].value;
        if (!pairs[n].name)
            failed = 1;
        else
            n++;
    }
    chsm_buf b = {0};
    if (!failed)
        append_sorted(&b, pairs, n, "", "\n", 1);
    free_pairs(pairs, n);
    if (failed || b.failed) {
        chsm_buf_free(&b);
        return NULL;
    }
    return b.len ? chsm_buf_steal(&b) : chsm_strdup("");
}

char *chsm_blob_sharedkey_canonical_resource(const chsm_request *req, const char *account,
                                             const char *path)
{
    chsm_buf b = {0};
    chsm_buf_printf(&b, "/%s%s", account, path && *path ? path : "/");
    pair *pairs = calloc(req->nquery + 1, sizeof *pairs);
    if (!pairs) {
        chsm_buf_free(&b);
        return NULL;
    }
    size_t n = 0;
    int failed = 0;
    for (size_t i = 0; i < req->nquery; i++) {
        pairs[n].name = chsm_lower_dup(req->query[i].name);
        pairs[n].value = req->query[i].value;
        if (!pairs[n].name)
            failed = 1;
        else
            n++;
    }
    if (!failed)
        append_sorted(&b, pairs, n, "\n", "", 0);
    free_pairs(pairs, n);
    if (failed || b.failed) {
        chsm_buf_free(&b);
        return NULL;
    }
    return chsm_buf_steal(&b);
}

static const char *header_or_empty(const chsm_request *req, const char *name)
{
    const char *v = chsm_request_header(req, name);
    return v ? v : "";
}

char *chsm_blob_sharedkey_string_to_sign(const chsm_request *req, const char *account,
                                         const char *path)
{
    char *headers = chsm_blob_sharedkey_canonical_headers(req);
    char *resource = chsm_blob_sharedkey_canonical_resource(req, account, path);
    if (!headers || !resource) {
        free(headers);
        free(resource);
        return NULL;
    }
    /* Since 2015-02-21 a zero Content-Length is signed as the empty string. */
    const char *length = header_or_empty(req, "Content-Length");
    if (strcmp(length, "0") == 0)
        length = "";
    chsm_buf b = {0};
    chsm_buf_printf(&b, "%s\n%s\n%s\n%s\n%s\n%s\n%s\n%s\n%s\n%s\n%s\n%s\n%s%s", req->method,
                    header_or_empty(req, "Content-Encoding"),
                    header_or_empty(req, "Content-Language"), length,
                    header_or_empty(req, "Content-MD5"), header_or_empty(req, "Content-Type"),
                    header_or_empty(req, "Date"), header_or_empty(req, "If-Modified-Since"),
                    header_or_empty(req, "If-Match"), header_or_empty(req, "If-None-Match"),
                    header_or_empty(req, "If-Unmodified-Since"), header_or_empty(req, "Range"),
                    headers, resource);
    free(headers);
    free(resource);
    if (b.failed) {
        chsm_buf_free(&b);
        return NULL;
    }
    return chsm_buf_steal(&b);
}

char *chsm_blob_hmac_base64(const char *key_b64, const char *text)
{
    unsigned char *key = NULL;
    size_t keylen = 0;
    if (chsm_crypto_base64_decode(key_b64, &key, &keylen) != CHSM_OK)
        return NULL;
    unsigned char mac[32];
    int rc = chsm_crypto_hmac_sha256(key, keylen, text, strlen(text), mac);
    free(key);
    return rc == CHSM_OK ? chsm_crypto_base64_encode(mac, sizeof mac) : NULL;
}

int chsm_blob_signature_matches(const char *expected, const char *given)
{
    if (!expected || !given)
        return 0;
    size_t n = strlen(expected);
    return strlen(given) == n && chsm_crypto_equal(expected, given, n);
}

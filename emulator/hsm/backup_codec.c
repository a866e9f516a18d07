/* backup_codec.c - encoding and bounded decoding of backup blobs. */
#include "hsm/backup_codec.h"

#include "crypto/digest.h"
#include "crypto/keys.h"
#include "crypto/seal.h"
#include "util/status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC_LEN 8
#define TAG_LEN 16
#define INFO_PREFIX "chsm backup v1" /* v2: the same with '2', INFO_PREFIX_LEN bytes */
#define INFO_PREFIX_LEN (sizeof INFO_PREFIX - 1)

/* ---- big-endian writer over a fixed buffer ---- */

typedef struct writer {
    unsigned char *p;
    size_t len, cap;
} writer;

static void put_bytes(writer *w, const void *data, size_t n)
{
    if (w->len + n <= w->cap) {
        memcpy(w->p + w->len, data, n);
        w->len += n;
    }
}

static void put_u16(writer *w, unsigned v)
{
    unsigned char b[2] = {(unsigned char)(v >> 8), (unsigned char)v};
    put_bytes(w, b, 2);
}

static void put_u64(writer *w, uint64_t v)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (56 - 8 * i));
    put_bytes(w, b, 8);
}

/* ---- bounded reader: every read checks the remaining length first ---- */

typedef struct reader {
    const unsigned char *p;
    size_t len, pos;
} reader;

static int get_bytes(reader *r, void *out, size_t n)
{
    if (n > r->len - r->pos)
        return 0;
    memcpy(out, r->p + r->pos, n);
    r->pos += n;
    return 1;
}

static int get_u16(reader *r, unsigned *v)
{
    unsigned char b[2];
    if (!get_bytes(r, b, 2))
        return 0;
    *v = ((unsigned)b[0] << 8) | b[1];
    return 1;
}

static int get_u64(reader *r, uint64_t *v)
{
    unsigned char b[8];
    if (!get_bytes(r, b, 8))
        return 0;
    *v = 0;
    for (int i = 0; i < 8; i++)
        *v = (*v << 8) | b[i];
    return 1;
}

/* get_string reads a u16 length and that many bytes of printable ASCII. */
static int get_string(reader *r, char *out, size_t max)
{
    unsigned n;
    if (!get_u16(r, &n) || n == 0 || n > max || !get_bytes(r, out, n))
        return 0;
    out[n] = '\0';
    for (unsigned i = 0; i < n; i++)
        if ((unsigned char)out[i] < 0x20 || (unsigned char)out[i] > 0x7e)
            return 0;
    return 1;
}

/* derive_key derives the payload key of a blob of version (1 or 2). */
static int derive_key(int version, const unsigned char fleet_secret[32],
                      const unsigned char salt[32], const char *backup_id, unsigned char key[32])
{
    unsigned char info[INFO_PREFIX_LEN + 1 + CHSM_BACKUP_MAX_ID];
    size_t idlen = strlen(backup_id);
    if (idlen > CHSM_BACKUP_MAX_ID || version < 1 || version > 9)
        return CHSM_EINVAL;
    memcpy(info, INFO_PREFIX, INFO_PREFIX_LEN);
    info[INFO_PREFIX_LEN - 1] = (unsigned char)('0' + version);
    info[INFO_PREFIX_LEN] = 0;
    memcpy(info + INFO_PREFIX_LEN + 1, backup_id, idlen);
    return chsm_crypto_hkdf_sha256(fleet_secret, 32, salt, 32, info, INFO_PREFIX_LEN + 1 + idlen,
                                   key, 32);
}

static int printable(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return 0;
    return 1;
}

int chsm_backup_encode(const unsigned char fleet_secret[32], const char *backup_id,
                       const char *source_id, int64_t created_ms, const void *payload, size_t n,
                       unsigned char **out, size_t *outlen)
{
    if (!printable(backup_id, CHSM_BACKUP_MAX_ID) ||
        !printable(source_id, CHSM_BACKUP_MAX_SOURCE) || n > CHSM_BACKUP_MAX_PAYLOAD ||
        (!payload && n))
        return CHSM_EINVAL;
    unsigned char salt[32], iv[12], key[32];
    if (chsm_crypto_random(salt, sizeof salt) != CHSM_OK ||
        chsm_crypto_random(iv, sizeof iv) != CHSM_OK)
        return CHSM_ECRYPTO;
    size_t idlen = strlen(backup_id), srclen = strlen(source_id);
    size_t header_len = MAGIC_LEN + 2 + 2 + idlen + 2 + srclen + 8 + 32 + 12 + 8;
    size_t total = header_len + n + TAG_LEN;
    writer w = {malloc(total), 0, total};
    if (!w.p)
        return CHSM_ENOMEM;
    put_bytes(&w, CHSM_BACKUP_MAGIC, MAGIC_LEN);
    put_u16(&w, 1);
    put_u16(&w, (unsigned)idlen);
    put_bytes(&w, backup_id, idlen);
    put_u16(&w, (unsigned)srclen);
    put_bytes(&w, source_id, srclen);
    put_u64(&w, (uint64_t)created_ms);
    put_bytes(&w, salt, sizeof salt);
    put_bytes(&w, iv, sizeof iv);
    put_u64(&w, (uint64_t)n);
    int rc = w.len == header_len ? derive_key(1, fleet_secret, salt, backup_id, key) : CHSM_EINVAL;
    if (rc == CHSM_OK)
        rc = chsm_crypto_aes256gcm_seal(key, iv, w.p, header_len, payload, n, w.p + header_len,
                                        w.p + header_len + n);
    chsm_crypto_key_wipe(key, sizeof key);
    if (rc != CHSM_OK) {
        free(w.p);
        return rc;
    }
    *out = w.p;
    *outlen = total;
    return CHSM_OK;
}

/* parse_header reads the header, leaving r at the first payload byte. */
static int parse_header(reader *r, chsm_backup_header *h, char *err, size_t errlen)
{
    memset(h, 0, sizeof *h);
    unsigned char magic[MAGIC_LEN];
    unsigned version;
    uint64_t created, plen;
    if (!get_bytes(r, magic, MAGIC_LEN) || memcmp(magic, CHSM_BACKUP_MAGIC, MAGIC_LEN) != 0) {
        snprintf(err, errlen, "the blob is not a Cloud HSM backup (bad magic)");
        return CHSM_EINVAL;
    }
    if (!get_u16(r, &version)) {
        snprintf(err, errlen, "the backup is truncated");
        return CHSM_EINVAL;
    }
    if (version < CHSM_BACKUP_VERSION_MIN || version > CHSM_BACKUP_VERSION) {
        snprintf(err, errlen, "the backup format version %u is not supported (expected %d to %d)",
                 version, CHSM_BACKUP_VERSION_MIN, CHSM_BACKUP_VERSION);
        return CHSM_EINVAL;
    }
    h->version = (int)version;
    if (!get_string(r, h->backup_id, CHSM_BACKUP_MAX_ID) ||
        !get_string(r, h->source_id, CHSM_BACKUP_MAX_SOURCE) || !get_u64(r, &created) ||
        !get_bytes(r, h->salt, sizeof h->salt) || !get_bytes(r, h->iv, sizeof h->iv) ||
        !get_u64(r, &plen)) {
        snprintf(err, errlen, "the backup header is truncated or malformed");
        return CHSM_EINVAL;
    }
    h->created_ms = (int64_t)created;
    /* The declared payload must be exactly what follows, plus the tag. */
    if (plen > CHSM_BACKUP_MAX_PAYLOAD || r->len - r->pos < TAG_LEN ||
        plen != r->len - r->pos - TAG_LEN) {
        snprintf(err, errlen, "the backup is truncated or has trailing data");
        return CHSM_EINVAL;
    }
    h->payload_len = plen;
    return CHSM_OK;
}

int chsm_backup_peek(const unsigned char *blob, size_t len, chsm_backup_header *h, char *err,
                     size_t errlen)
{
    if (!blob || len > CHSM_BACKUP_MAX_BLOB) {
        snprintf(err, errlen, "the backup is empty or too large");
        return CHSM_EINVAL;
    }
    reader r = {blob, len, 0};
    return parse_header(&r, h, err, errlen);
}

/* open_payload authenticates and decrypts the payload of a peeked blob into plain (which may be
 * the payload's own bytes in blob). */
static int open_payload(const unsigned char fleet_secret[32], const unsigned char *blob, size_t len,
                        const chsm_backup_header *h, unsigned char *plain, char *err, size_t errlen)
{
    size_t header_len = len - (size_t)h->payload_len - TAG_LEN;
    unsigned char key[32];
    int rc = derive_key(h->version, fleet_secret, h->salt, h->backup_id, key);
    if (rc == CHSM_OK)
        rc = chsm_crypto_aes256gcm_open(key, h->iv, blob, header_len, blob + header_len,
                                        (size_t)h->payload_len, blob + header_len + h->payload_len,
                                        plain);
    chsm_crypto_key_wipe(key, sizeof key);
    if (rc != CHSM_OK) {
        snprintf(err, errlen,
                 rc == CHSM_ECRYPTO ? "the backup failed its integrity check: it was modified, "
                                      "truncated or sealed by another emulator fleet"
                                    : "the backup could not be decrypted");
        return rc == CHSM_ENOMEM ? rc : CHSM_ECRYPTO;
    }
    return CHSM_OK;
}

int chsm_backup_decode(const unsigned char fleet_secret[32], const unsigned char *blob, size_t len,
                       chsm_backup_header *h, unsigned char **payload, size_t *n, char *err,
                       size_t errlen)
{
    *payload = NULL;
    *n = 0;
    int rc = chsm_backup_peek(blob, len, h, err, errlen);
    if (rc != CHSM_OK)
        return rc;
    unsigned char *plain = malloc((size_t)h->payload_len + 1);
    if (!plain)
        return CHSM_ENOMEM;
    rc = open_payload(fleet_secret, blob, len, h, plain, err, errlen);
    if (rc != CHSM_OK) {
        free(plain);
        return rc;
    }
    plain[h->payload_len] = '\0';
    *payload = plain;
    *n = (size_t)h->payload_len;
    return CHSM_OK;
}

int chsm_backup_decode_in_place(const unsigned char fleet_secret[32], unsigned char *blob,
                                size_t len, chsm_backup_header *h, unsigned char **payload,
                                size_t *n, char *err, size_t errlen)
{
    *payload = NULL;
    *n = 0;
    int rc = chsm_backup_peek(blob, len, h, err, errlen);
    if (rc != CHSM_OK)
        return rc;
    unsigned char *p = blob + (len - (size_t)h->payload_len - TAG_LEN);
    rc = open_payload(fleet_secret, blob, len, h, p, err, errlen);
    if (rc != CHSM_OK)
        return rc; /* the AES-GCM open wiped the payload bytes */
    *payload = p;
    *n = (size_t)h->payload_len;
    return CHSM_OK;
}

/* ---- version 2 writer ---- */

/* The header's fixed part after the two strings: created, salt, iv, payload length. */
#define HEADER_TAIL (8 + 32 + 12 + 8)

/* writer_reserve makes room for n more bytes; growing copies into a new buffer and wipes the
 * old one (it holds key material in the clear). */
static int writer_reserve(chsm_backup_writer *w, size_t n)
{
    if (w->failed)
        return 0;
    if (n > CHSM_BACKUP_MAX_BLOB || w->len + n > CHSM_BACKUP_MAX_BLOB) {
        w->failed = CHSM_ETOOBIG;
        return 0;
    }
    if (w->len + n <= w->cap)
        return 1;
    size_t cap = w->cap ? w->cap : 4096;
    while (cap < w->len + n)
        cap *= 2;
    unsigned char *p = malloc(cap);
    if (!p) {
        w->failed = CHSM_ENOMEM;
        return 0;
    }
    if (w->buf) {
        memcpy(p, w->buf, w->len);
        chsm_crypto_key_wipe(w->buf, w->cap);
        free(w->buf);
    }
    w->buf = p;
    w->cap = cap;
    return 1;
}

void chsm_backup_writer_reserve(chsm_backup_writer *w, size_t n)
{
    size_t room = CHSM_BACKUP_MAX_BLOB - (w->len < CHSM_BACKUP_MAX_BLOB ? w->len : 0);
    if (n > room - TAG_LEN) /* a hint never fails the writer by itself */
        n = room > TAG_LEN ? room - TAG_LEN : 0;
    writer_reserve(w, n + TAG_LEN);
}

void chsm_backup_writer_put(chsm_backup_writer *w, const void *data, size_t n)
{
    if (n && writer_reserve(w, n)) {
        memcpy(w->buf + w->len, data, n);
        w->len += n;
    }
}

void chsm_backup_writer_put_u16(chsm_backup_writer *w, unsigned v)
{
    unsigned char b[2] = {(unsigned char)(v >> 8), (unsigned char)v};
    chsm_backup_writer_put(w, b, 2);
}

void chsm_backup_writer_put_u32(chsm_backup_writer *w, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    chsm_backup_writer_put(w, b, 4);
}

void chsm_backup_writer_put_u64(chsm_backup_writer *w, uint64_t v)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (56 - 8 * i));
    chsm_backup_writer_put(w, b, 8);
}

size_t chsm_backup_writer_payload_len(const chsm_backup_writer *w)
{
    return w->len >= w->header_len ? w->len - w->header_len : 0;
}

void chsm_backup_writer_patch_u32(chsm_backup_writer *w, size_t off, uint32_t v)
{
    if (w->failed || w->header_len + off + 4 > w->len)
        return;
    unsigned char *p = w->buf + w->header_len + off;
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

int chsm_backup_writer_begin(chsm_backup_writer *w, const char *backup_id, const char *source_id,
                             int64_t created_ms, size_t size_hint)
{
    memset(w, 0, sizeof *w);
    if (!printable(backup_id, CHSM_BACKUP_MAX_ID) || !printable(source_id, CHSM_BACKUP_MAX_SOURCE))
        return CHSM_EINVAL;
    snprintf(w->backup_id, sizeof w->backup_id, "%s", backup_id);
    size_t idlen = strlen(backup_id), srclen = strlen(source_id);
    size_t header_len = MAGIC_LEN + 2 + 2 + idlen + 2 + srclen + HEADER_TAIL;
    if (size_hint > CHSM_BACKUP_MAX_PAYLOAD)
        size_hint = CHSM_BACKUP_MAX_PAYLOAD;
    writer_reserve(w, header_len + size_hint + TAG_LEN);
    chsm_backup_writer_put(w, CHSM_BACKUP_MAGIC, MAGIC_LEN);
    chsm_backup_writer_put_u16(w, 2);
    chsm_backup_writer_put_u16(w, (unsigned)idlen);
    chsm_backup_writer_put(w, backup_id, idlen);
    chsm_backup_writer_put_u16(w, (unsigned)srclen);
    chsm_backup_writer_put(w, source_id, srclen);
    chsm_backup_writer_put_u64(w, (uint64_t)created_ms);
    unsigned char zero[32 + 12 + 8] = {0}; /* salt, iv and length: set by finish */
    chsm_backup_writer_put(w, zero, sizeof zero);
    w->header_len = header_len;
    if (w->failed) {
        int rc = w->failed;
        chsm_backup_writer_discard(w);
        return rc;
    }
    return CHSM_OK;
}

int chsm_backup_writer_finish(chsm_backup_writer *w, const unsigned char fleet_secret[32],
                              unsigned char **out, size_t *outlen)
{
    *out = NULL;
    *outlen = 0;
    size_t n = chsm_backup_writer_payload_len(w);
    if (!w->failed && n > CHSM_BACKUP_MAX_PAYLOAD)
        w->failed = CHSM_ETOOBIG;
    writer_reserve(w, TAG_LEN);
    int rc = w->failed ? w->failed : w->buf ? CHSM_OK : CHSM_EINVAL;
    unsigned char *salt = rc == CHSM_OK ? w->buf + w->header_len - HEADER_TAIL + 8 : NULL;
    unsigned char *iv = salt ? salt + 32 : NULL;
    if (rc == CHSM_OK &&
        (chsm_crypto_random(salt, 32) != CHSM_OK || chsm_crypto_random(iv, 12) != CHSM_OK))
        rc = CHSM_ECRYPTO;
    if (rc == CHSM_OK) {
        unsigned char *plen = iv + 12;
        for (int i = 0; i < 8; i++)
            plen[i] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
        unsigned char key[32];
        rc = derive_key(2, fleet_secret, salt, w->backup_id, key);
        unsigned char *payload = w->buf + w->header_len;
        if (rc == CHSM_OK)
            rc = chsm_crypto_aes256gcm_seal(key, iv, w->buf, w->header_len, payload, n, payload,
                                            payload + n);
        chsm_crypto_key_wipe(key, sizeof key);
    }
    if (rc != CHSM_OK) {
        chsm_backup_writer_discard(w);
        return rc;
    }
    *out = w->buf;
    *outlen = w->len + TAG_LEN;
    memset(w, 0, sizeof *w);
    return CHSM_OK;
}

void chsm_backup_writer_discard(chsm_backup_writer *w)
{
    if (w->buf) {
        chsm_crypto_key_wipe(w->buf, w->cap);
        free(w->buf);
    }
    memset(w, 0, sizeof *w);
}

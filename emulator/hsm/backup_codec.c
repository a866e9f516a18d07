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
#define INFO_PREFIX "chsm backup v1"

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

static int derive_key(const unsigned char fleet_secret[32], const unsigned char salt[32],
                      const char *backup_id, unsigned char key[32])
{
    unsigned char info[sizeof INFO_PREFIX + CHSM_BACKUP_MAX_ID + 1];
    size_t idlen = strlen(backup_id);
    if (idlen > CHSM_BACKUP_MAX_ID)
        return CHSM_EINVAL;
    memcpy(info, INFO_PREFIX, sizeof INFO_PREFIX - 1);
    info[sizeof INFO_PREFIX - 1] = 0;
    memcpy(info + sizeof INFO_PREFIX, backup_id, idlen);
    return chsm_crypto_hkdf_sha256(fleet_secret, 32, salt, 32, info, sizeof INFO_PREFIX + idlen,
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
    put_u16(&w, CHSM_BACKUP_VERSION);
    put_u16(&w, (unsigned)idlen);
    put_bytes(&w, backup_id, idlen);
    put_u16(&w, (unsigned)srclen);
    put_bytes(&w, source_id, srclen);
    put_u64(&w, (uint64_t)created_ms);
    put_bytes(&w, salt, sizeof salt);
    put_bytes(&w, iv, sizeof iv);
    put_u64(&w, (uint64_t)n);
    int rc = w.len == header_len ? derive_key(fleet_secret, salt, backup_id, key) : CHSM_EINVAL;
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
    if (version != CHSM_BACKUP_VERSION) {
        snprintf(err, errlen, "the backup format version %u is not supported (expected %d)",
                 version, CHSM_BACKUP_VERSION);
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

int chsm_backup_decode(const unsigned char fleet_secret[32], const unsigned char *blob, size_t len,
                       chsm_backup_header *h, unsigned char **payload, size_t *n, char *err,
                       size_t errlen)
{
    *payload = NULL;
    *n = 0;
    int rc = chsm_backup_peek(blob, len, h, err, errlen);
    if (rc != CHSM_OK)
        return rc;
    size_t header_len = len - (size_t)h->payload_len - TAG_LEN;
    unsigned char key[32];
    rc = derive_key(fleet_secret, h->salt, h->backup_id, key);
    unsigned char *plain = rc == CHSM_OK ? malloc((size_t)h->payload_len + 1) : NULL;
    if (rc == CHSM_OK && !plain)
        rc = CHSM_ENOMEM;
    if (rc == CHSM_OK)
        rc = chsm_crypto_aes256gcm_open(key, h->iv, blob, header_len, blob + header_len,
                                        (size_t)h->payload_len, blob + header_len + h->payload_len,
                                        plain);
    chsm_crypto_key_wipe(key, sizeof key);
    if (rc != CHSM_OK) {
        free(plain);
        snprintf(err, errlen,
                 rc == CHSM_ECRYPTO ? "the backup failed its integrity check: it was modified, "
                                      "truncated or sealed by another emulator fleet"
                                    : "the backup could not be decrypted");
        return rc == CHSM_ENOMEM ? rc : CHSM_ECRYPTO;
    }
    plain[h->payload_len] = '\0';
    *payload = plain;
    *n = (size_t)h->payload_len;
    return CHSM_OK;
}

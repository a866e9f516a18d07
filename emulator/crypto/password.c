/* password.c - PBKDF2-HMAC-SHA256 password hashes. */
#include "crypto/password.h"

#include "crypto/digest.h"
#include "util/status.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#define PREFIX "pbkdf2-sha256$"
#define SALT_LEN 16
#define HASH_LEN 32
/* Bounds for what verify accepts from a stored string. */
#define MIN_SALT_LEN 4 /* RFC 7914's PBKDF2 vectors use the 4-byte salts "salt" and "NaCl" */
#define MAX_PART_LEN 64
#define MIN_HASH_LEN 16

/* The memo of verified passwords. PBKDF2 at 100,000 iterations costs ~25 ms,
 * and a DR run logs the same users in again and again: a password this process
 * has hashed or verified is remembered as HMAC(pepper, encoded hash, password),
 * so the next check of that pair is one HMAC. Only matches are remembered (a
 * wrong password always pays the full cost); the pepper is random per process
 * and the memo lives in memory only, so it reveals nothing a stored hash does not. */
#define MEMO_SLOTS 256
static struct {
    pthread_mutex_t mu;
    unsigned char pepper[32];
    int ready;
    unsigned char tags[MEMO_SLOTS][32];
    int used;
    int next;
} memo = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* memo_tag computes the memo's tag of (encoded, password); 0 when unavailable. */
static int memo_tag(const char *encoded, const char *password, unsigned char tag[32])
{
    pthread_mutex_lock(&memo.mu);
    if (!memo.ready)
        memo.ready = chsm_crypto_random(memo.pepper, sizeof memo.pepper) == CHSM_OK;
    int ready = memo.ready;
    pthread_mutex_unlock(&memo.mu);
    size_t el = strlen(encoded), pl = strlen(password);
    if (!ready || el > 4096 || pl > 4096)
        return 0;
    unsigned char *buf = malloc(el + 1 + pl);
    if (!buf)
        return 0;
    memcpy(buf, encoded, el + 1); /* the NUL separates the two */
    memcpy(buf + el + 1, password, pl);
    int ok =
        chsm_crypto_hmac_sha256(memo.pepper, sizeof memo.pepper, buf, el + 1 + pl, tag) == CHSM_OK;
    OPENSSL_cleanse(buf, el + 1 + pl);
    free(buf);
    return ok;
}

static void memo_remember(const char *encoded, const char *password)
{
    unsigned char tag[32];
    if (!memo_tag(encoded, password, tag))
        return;
    pthread_mutex_lock(&memo.mu);
    memcpy(memo.tags[memo.next], tag, sizeof tag);
    memo.next = (memo.next + 1) % MEMO_SLOTS;
    if (memo.used < MEMO_SLOTS)
        memo.used++;
    pthread_mutex_unlock(&memo.mu);
}

static int memo_knows(const char *encoded, const char *password)
{
    unsigned char tag[32];
    if (!memo_tag(encoded, password, tag))
        return 0;
    int found = 0;
    pthread_mutex_lock(&memo.mu);
    for (int i = 0; i < memo.used && !found; i++)
        found = chsm_crypto_equal(memo.tags[i], tag, sizeof tag) == 1;
    pthread_mutex_unlock(&memo.mu);
    return found;
}

static int pbkdf2(const char *password, const unsigned char *salt, size_t saltlen, long iter,
                  unsigned char *out, size_t outlen)
{
    size_t plen = strlen(password);
    if (plen > INT_MAX || saltlen > INT_MAX || iter > INT_MAX || outlen > INT_MAX)
        return CHSM_EINVAL;
    if (PKCS5_PBKDF2_HMAC(password, (int)plen, salt, (int)saltlen, (int)iter, EVP_sha256(),
                          (int)outlen, out) != 1)
        return CHSM_ECRYPTO;
    return CHSM_OK;
}

int chsm_crypto_password_hash(const char *password, char *out, size_t outlen)
{
    if (!password || !out)
        return CHSM_EINVAL;
    unsigned char salt[SALT_LEN], hash[HASH_LEN];
    int rc = chsm_crypto_random(salt, sizeof salt);
    if (rc == CHSM_OK)
        rc =
            pbkdf2(password, salt, sizeof salt, CHSM_CRYPTO_PASSWORD_ITERATIONS, hash, sizeof hash);
    if (rc != CHSM_OK) {
        OPENSSL_cleanse(hash, sizeof hash);
        return rc;
    }
    char *salt64 = chsm_crypto_base64_encode(salt, sizeof salt);
    char *hash64 = chsm_crypto_base64_encode(hash, sizeof hash);
    OPENSSL_cleanse(hash, sizeof hash);
    rc = CHSM_ENOMEM;
    if (salt64 && hash64) {
        int w = snprintf(out, outlen, PREFIX "%d$%s$%s", CHSM_CRYPTO_PASSWORD_ITERATIONS, salt64,
                         hash64);
        rc = (w < 0 || (size_t)w >= outlen) ? CHSM_EINVAL : CHSM_OK;
    }
    free(salt64);
    free(hash64);
    if (rc != CHSM_OK && outlen)
        out[0] = '\0';
    if (rc == CHSM_OK)
        memo_remember(out, password);
    return rc;
}

int chsm_crypto_password_hash_well_known(const char *password, char *out, size_t outlen)
{
    /* One hash per well-known password per process: it guards nothing, since
     * the password is in the documentation, and costs a PBKDF2 per cluster. */
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    static char last_password[64];
    static char last_hash[CHSM_CRYPTO_PASSWORD_HASH_LEN];
    if (!password || !out)
        return CHSM_EINVAL;
    pthread_mutex_lock(&mu);
    int rc = CHSM_OK;
    if (!last_hash[0] || strcmp(last_password, password) != 0) {
        rc = chsm_crypto_password_hash(password, last_hash, sizeof last_hash);
        snprintf(last_password, sizeof last_password, "%s", rc == CHSM_OK ? password : "");
        if (rc != CHSM_OK)
            last_hash[0] = '\0';
    }
    if (rc == CHSM_OK) {
        int w = snprintf(out, outlen, "%s", last_hash);
        rc = (w < 0 || (size_t)w >= outlen) ? CHSM_EINVAL : CHSM_OK;
    }
    pthread_mutex_unlock(&mu);
    return rc;
}

/* decode_part base64-decodes the len characters at s, requiring minlen..MAX_PART_LEN bytes. */
static int decode_part(const char *s, size_t len, size_t minlen, unsigned char *out, size_t *outlen)
{
    char tmp[(MAX_PART_LEN + 2) / 3 * 4 + 1];
    if (len == 0 || len >= sizeof tmp)
        return CHSM_EINVAL;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    unsigned char *bytes = NULL;
    size_t n = 0;
    int rc = chsm_crypto_base64_decode(tmp, &bytes, &n);
    if (rc != CHSM_OK)
        return rc;
    if (n < minlen || n > MAX_PART_LEN) {
        free(bytes);
        return CHSM_EINVAL;
    }
    memcpy(out, bytes, n);
    *outlen = n;
    OPENSSL_cleanse(bytes, n);
    free(bytes);
    return CHSM_OK;
}

int chsm_crypto_password_verify(const char *password, const char *encoded)
{
    if (!password || !encoded)
        return CHSM_EINVAL;
    if (strncmp(encoded, PREFIX, strlen(PREFIX)) != 0)
        return CHSM_EINVAL;
    const char *p = encoded + strlen(PREFIX);

    /* Iterations: plain decimal digits, no sign or leading zero. */
    long iter = 0;
    const char *q = p;
    while (*q >= '0' && *q <= '9' && q - p < 9)
        iter = iter * 10 + (*q++ - '0');
    if (q == p || *q != '$' || *p == '0' || iter > CHSM_CRYPTO_PASSWORD_MAX_ITERATIONS)
        return CHSM_EINVAL;

    if (memo_knows(encoded, password))
        return 1;
    const char *salt_s = q + 1;
    const char *dollar = strchr(salt_s, '$');
    if (!dollar)
        return CHSM_EINVAL;
    const char *hash_s = dollar + 1;
    if (strchr(hash_s, '$'))
        return CHSM_EINVAL;

    unsigned char salt[MAX_PART_LEN], want[MAX_PART_LEN], got[MAX_PART_LEN];
    size_t saltlen = 0, hashlen = 0;
    int rc = decode_part(salt_s, (size_t)(dollar - salt_s), MIN_SALT_LEN, salt, &saltlen);
    if (rc == CHSM_OK)
        rc = decode_part(hash_s, strlen(hash_s), MIN_HASH_LEN, want, &hashlen);
    if (rc == CHSM_OK)
        rc = pbkdf2(password, salt, saltlen, iter, got, hashlen);
    if (rc == CHSM_OK)
        rc = chsm_crypto_equal(got, want, hashlen);
    OPENSSL_cleanse(got, sizeof got);
    OPENSSL_cleanse(want, sizeof want);
    if (rc == 1)
        memo_remember(encoded, password);
    return rc;
}

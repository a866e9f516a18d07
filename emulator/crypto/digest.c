/* digest.c - hashes, MACs, randomness and encodings over OpenSSL. */
#include "crypto/digest.h"

#include "util/status.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

int chsm_crypto_random(void *out, size_t n)
{
    unsigned char *p = out;
    /* RAND_bytes takes an int, so large requests go in chunks. */
    while (n > 0) {
        int chunk = n > INT_MAX ? INT_MAX : (int)n;
        if (RAND_bytes(p, chunk) != 1)
            return CHSM_ECRYPTO;
        p += chunk;
        n -= (size_t)chunk;
    }
    return CHSM_OK;
}

/* digest runs a one-shot EVP digest. The callers' signatures are void because a
 * failure here means OpenSSL itself is broken (out of memory or the default
 * provider missing); the output is zeroed then, so it can never match anything. */
static void digest(const EVP_MD *md, const void *data, size_t n, unsigned char *out, size_t outlen)
{
    unsigned int len = 0;
    static const unsigned char empty;
    if (EVP_Digest(n ? data : &empty, n, out, &len, md, NULL) != 1 || len != outlen)
        memset(out, 0, outlen);
}

void chsm_crypto_sha256(const void *data, size_t n, unsigned char out[32])
{
    digest(EVP_sha256(), data, n, out, 32);
}

void chsm_crypto_md5(const void *data, size_t n, unsigned char out[16])
{
    digest(EVP_md5(), data, n, out, 16);
}

int chsm_crypto_hmac_sha256(const void *key, size_t keylen, const void *data, size_t n,
                            unsigned char out[32])
{
    /* OpenSSL rejects a NULL key even with length 0, and an empty key is legal HMAC. */
    static const unsigned char empty;
    unsigned int len = 0;
    if (keylen > INT_MAX)
        return CHSM_EINVAL;
    if (!HMAC(EVP_sha256(), keylen ? key : &empty, (int)keylen, n ? data : &empty, n, out, &len) ||
        len != 32)
        return CHSM_ECRYPTO;
    return CHSM_OK;
}

/* ---- base64 ----
 * Hand-written rather than EVP_EncodeBlock/EVP_DecodeBlock: those accept
 * whitespace, ignore trailing garbage and cannot do the URL alphabet, while the
 * callers (block ids, Content-MD5, JWTs) need strict, canonical decoding. */

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static char *b64_encode(const char *alphabet, int pad, const void *data, size_t n)
{
    const unsigned char *in = data;
    if (n > (SIZE_MAX - 1) / 4 * 3 - 3)
        return NULL;
    char *out = malloc((n + 2) / 3 * 4 + 1);
    if (!out)
        return NULL;
    char *o = out;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        *o++ = alphabet[v >> 18 & 63];
        *o++ = alphabet[v >> 12 & 63];
        *o++ = alphabet[v >> 6 & 63];
        *o++ = alphabet[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        *o++ = alphabet[v >> 18 & 63];
        *o++ = alphabet[v >> 12 & 63];
        if (pad) {
            *o++ = '=';
            *o++ = '=';
        }
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        *o++ = alphabet[v >> 18 & 63];
        *o++ = alphabet[v >> 12 & 63];
        *o++ = alphabet[v >> 6 & 63];
        if (pad)
            *o++ = '=';
    }
    *o = '\0';
    return out;
}

/* b64_value maps a character to its 6-bit value in alphabet, or -1. */
static int b64_value(const char *alphabet, char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == alphabet[62])
        return 62;
    if (c == alphabet[63])
        return 63;
    return -1;
}

/* b64_decode decodes slen characters with no padding (the padded form is
 * stripped by the caller). Rejects a dangling single character and non-zero
 * bits after the last byte, so every byte string has exactly one encoding. */
static int b64_decode(const char *alphabet, const char *s, size_t slen, unsigned char **out,
                      size_t *outlen)
{
    if (slen % 4 == 1)
        return CHSM_EINVAL;
    size_t n = slen / 4 * 3 + (slen % 4 ? slen % 4 - 1 : 0);
    unsigned char *buf = malloc(n + 1);
    if (!buf)
        return CHSM_ENOMEM;
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < slen; i++) {
        int v = b64_value(alphabet, s[i]);
        if (v < 0) {
            free(buf);
            return CHSM_EINVAL;
        }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0) {
        free(buf);
        return CHSM_EINVAL;
    }
    buf[o] = '\0';
    *out = buf;
    *outlen = o;
    return CHSM_OK;
}

char *chsm_crypto_base64_encode(const void *data, size_t n)
{
    return b64_encode(b64_std, 1, data, n);
}

int chsm_crypto_base64_decode(const char *s, unsigned char **out, size_t *outlen)
{
    if (!s || !out || !outlen)
        return CHSM_EINVAL;
    size_t len = strlen(s);
    if (len % 4 != 0)
        return CHSM_EINVAL;
    /* Padding only as the last one or two characters of the last quantum. */
    size_t body = len;
    if (body > 0 && s[body - 1] == '=')
        body--;
    if (body > 0 && s[body - 1] == '=')
        body--;
    if (body % 4 == 1)
        return CHSM_EINVAL;
    return b64_decode(b64_std, s, body, out, outlen);
}

char *chsm_crypto_base64url_encode(const void *data, size_t n)
{
    return b64_encode(b64_url, 0, data, n);
}

int chsm_crypto_base64url_decode(const char *s, size_t slen, unsigned char **out, size_t *outlen)
{
    if ((!s && slen) || !out || !outlen)
        return CHSM_EINVAL;
    return b64_decode(b64_url, s ? s : "", slen, out, outlen);
}

void chsm_crypto_hex(const void *data, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *in = data;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

/* ---- CRC-64 (Azure Storage) ---- */

#define CRC64_POLY 0x9A6C9329AC4BC9B5ull /* reflected form of 0xAD93D23594C93659 */

static uint64_t crc64_table[256];
static pthread_once_t crc64_once = PTHREAD_ONCE_INIT;

static void crc64_init(void)
{
    for (unsigned i = 0; i < 256; i++) {
        uint64_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ CRC64_POLY : c >> 1;
        crc64_table[i] = c;
    }
}

uint64_t chsm_crypto_crc64(uint64_t crc, const void *data, size_t n)
{
    const unsigned char *p = data;
    pthread_once(&crc64_once, crc64_init);
    /* Complementing on entry and exit makes the function chainable from 0. */
    crc = ~crc;
    for (size_t i = 0; i < n; i++)
        crc = crc64_table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

int chsm_crypto_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

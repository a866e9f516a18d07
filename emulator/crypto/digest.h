/* digest.h - hashes, MACs, randomness and encodings.
 *
 * The crypto folder is the only place in the emulator that calls OpenSSL;
 * every other layer goes through these wrappers so a library change touches
 * one folder. Functions returning int give a chsm_status (CHSM_OK on success). */
#ifndef CHSM_CRYPTO_DIGEST_H
#define CHSM_CRYPTO_DIGEST_H

#include <stddef.h>
#include <stdint.h>

/* chsm_crypto_random fills out with n cryptographically secure random bytes. */
int chsm_crypto_random(void *out, size_t n);
/* chsm_crypto_sha256 writes the SHA-256 digest of n bytes of data to out. */
void chsm_crypto_sha256(const void *data, size_t n, unsigned char out[32]);
/* chsm_crypto_md5 writes the MD5 digest (for Content-MD5 only, never security) to out. */
void chsm_crypto_md5(const void *data, size_t n, unsigned char out[16]);
/* chsm_crypto_hmac_sha256 writes HMAC-SHA256(key, data) to out. */
int chsm_crypto_hmac_sha256(const void *key, size_t keylen, const void *data, size_t n,
                            unsigned char out[32]);

/* chsm_crypto_base64_encode encodes with the standard alphabet and padding; caller frees. */
char *chsm_crypto_base64_encode(const void *data, size_t n);
/* chsm_crypto_base64_decode strictly decodes padded standard base64 (CHSM_EINVAL on any
 * bad character, length or padding); caller frees *out, which is NUL-terminated for
 * convenience (not counted in *outlen). */
int chsm_crypto_base64_decode(const char *s, unsigned char **out, size_t *outlen);
/* chsm_crypto_base64url_encode encodes with the URL-safe alphabet, no padding; caller frees. */
char *chsm_crypto_base64url_encode(const void *data, size_t n);
/* chsm_crypto_base64url_decode strictly decodes slen chars of unpadded base64url; caller
 * frees *out, which is NUL-terminated for convenience (not counted in *outlen). */
int chsm_crypto_base64url_decode(const char *s, size_t slen, unsigned char **out, size_t *outlen);
/* chsm_crypto_hex writes n bytes as lowercase hex; out has room for 2n+1 bytes. */
void chsm_crypto_hex(const void *data, size_t n, char *out);

/* chsm_crypto_crc64 continues the Azure Storage CRC-64 (x-ms-content-crc64) from crc.
 *
 * Start with crc = 0 and feed chunks in order: crc64(crc64(0, a), b) == crc64(0, ab).
 * This is the CRC the Azure Storage SDKs implement (StorageCrc64Calculator): reflected
 * polynomial 0x9A6C9329AC4BC9B5, the running value complemented on entry and exit, which is
 * the catalogued CRC-64/NVME (check value crc64(0, "123456789") = 0xae8b14860a799888).
 * On the wire Azure sends the 8 bytes little-endian, base64-encoded. */
uint64_t chsm_crypto_crc64(uint64_t crc, const void *data, size_t n);

/* chsm_crypto_equal compares n bytes in constant time; returns 1 if equal, 0 if not. */
int chsm_crypto_equal(const void *a, const void *b, size_t n);

#endif

/* seal.h - key derivation and authenticated encryption.
 *
 * Used to seal HSM key material and backups at rest: HKDF derives one key per
 * purpose from a master secret, and AES-256-GCM both hides and authenticates
 * the data, so a tampered file fails to open instead of yielding garbage. */
#ifndef CHSM_CRYPTO_SEAL_H
#define CHSM_CRYPTO_SEAL_H

#include <stddef.h>

/* chsm_crypto_hkdf_sha256 derives outlen bytes (RFC 5869, extract and expand) into out. */
int chsm_crypto_hkdf_sha256(const void *ikm, size_t ikmlen, const void *salt, size_t saltlen,
                            const void *info, size_t infolen, unsigned char *out, size_t outlen);
/* chsm_crypto_aes256gcm_seal encrypts n bytes into cipher_out (n bytes) and writes the tag;
 * the iv must never repeat under one key (use chsm_crypto_random). */
int chsm_crypto_aes256gcm_seal(const unsigned char key[32], const unsigned char iv[12],
                               const void *aad, size_t aadlen, const void *plain, size_t n,
                               unsigned char *cipher_out, unsigned char tag_out[16]);
/* chsm_crypto_aes256gcm_open decrypts n bytes into plain_out; CHSM_ECRYPTO if the tag does not
 * authenticate (plain_out is then zeroed). */
int chsm_crypto_aes256gcm_open(const unsigned char key[32], const unsigned char iv[12],
                               const void *aad, size_t aadlen, const void *cipher, size_t n,
                               const unsigned char tag[16], unsigned char *plain_out);

/* An AES-256-GCM key set up once for many small seals and opens (a backup or restore of
 * thousands of keys): the key schedule and the cipher contexts are reused, only the iv and
 * the data change per call. */
typedef struct chsm_crypto_gcm chsm_crypto_gcm;

/* chsm_crypto_gcm_new keys a new context with key (caller frees with chsm_crypto_gcm_free). */
int chsm_crypto_gcm_new(const unsigned char key[32], chsm_crypto_gcm **out);
/* chsm_crypto_gcm_seal is chsm_crypto_aes256gcm_seal under g's key. */
int chsm_crypto_gcm_seal(chsm_crypto_gcm *g, const unsigned char iv[12], const void *aad,
                         size_t aadlen, const void *plain, size_t n, unsigned char *cipher_out,
                         unsigned char tag_out[16]);
/* chsm_crypto_gcm_open is chsm_crypto_aes256gcm_open under g's key (CHSM_ECRYPTO, plain_out
 * zeroed, when the tag does not authenticate). */
int chsm_crypto_gcm_open(chsm_crypto_gcm *g, const unsigned char iv[12], const void *aad,
                         size_t aadlen, const void *cipher, size_t n, const unsigned char tag[16],
                         unsigned char *plain_out);
/* chsm_crypto_gcm_free wipes the key and frees g (NULL is fine). */
void chsm_crypto_gcm_free(chsm_crypto_gcm *g);

#endif

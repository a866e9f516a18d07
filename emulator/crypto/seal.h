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

#endif

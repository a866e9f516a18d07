/* keys.h - the simulated HSM's key operations.
 *
 * Keys travel as byte blobs so no OpenSSL type leaves this folder: a secret
 * (AES) key is its raw bytes, a private key is PKCS#8 DER, a public key is
 * SubjectPublicKeyInfo DER. Mechanism names are the data plane's
 * ("RSA-PKCS-SHA256", "AES-GCM", ...; see docs/hsm-data-plane.md). Functions
 * return a chsm_status; CHSM_EINVAL means the input or the mechanism does not
 * fit the key, CHSM_ECRYPTO that OpenSSL refused or authentication failed.
 * Output buffers are allocated here and freed by the caller (use
 * chsm_crypto_key_free for anything that held key material). */
#ifndef CHSM_CRYPTO_KEYS_H
#define CHSM_CRYPTO_KEYS_H

#include <stddef.h>

/* The largest key blob accepted from storage, a backup or an unwrap. */
#define CHSM_CRYPTO_KEY_MAX_DER 8192

/* What an asymmetric key blob holds (chsm_crypto_key_describe). */
typedef struct chsm_key_desc {
    int is_private; /* 1: PKCS#8 private key, 0: public key */
    char type[8];   /* "RSA" or "EC" */
    int bits;       /* RSA modulus bits; EC field bits (256, 384) */
    char curve[8];  /* "P-256" or "P-384" for EC, else "" */
} chsm_key_desc;

/* chsm_crypto_key_free wipes n bytes of p and frees it (NULL is fine). */
void chsm_crypto_key_free(void *p, size_t n);
/* chsm_crypto_key_wipe zeroes n bytes in a way the compiler keeps. */
void chsm_crypto_key_wipe(void *p, size_t n);

/* chsm_crypto_key_generate_rsa makes an RSA key of bits (2048..4096) with the odd public
 * exponent e (>= 65537) as PKCS#8 DER (caller frees *der); RSA-2048 with e = 65537 comes
 * from the key pool (crypto/keypool.h) when one is ready. */
int chsm_crypto_key_generate_rsa(int bits, unsigned long e, unsigned char **der, size_t *len);
/* chsm_crypto_key_generate_rsa_now is the same, always generating on the spot
 * (the key pool's own generator: crypto/keypool.h). */
int chsm_crypto_key_generate_rsa_now(int bits, unsigned long e, unsigned char **der, size_t *len);
/* chsm_crypto_key_generate_ec makes an EC key on curve "P-256" or "P-384" as PKCS#8 DER. */
int chsm_crypto_key_generate_ec(const char *curve, unsigned char **der, size_t *len);
/* chsm_crypto_key_describe parses a PKCS#8 private or SPKI public DER blob and describes it;
 * CHSM_EINVAL for anything else (including RSA under 2048 bits or other curves). */
int chsm_crypto_key_describe(const unsigned char *der, size_t len, chsm_key_desc *out);
/* chsm_crypto_key_public_der returns the SPKI DER public key of a private or public blob. */
int chsm_crypto_key_public_der(const unsigned char *der, size_t len, unsigned char **pub,
                               size_t *publen);
/* chsm_crypto_key_public_pem returns the "-----BEGIN PUBLIC KEY-----" PEM of a private or
 * public blob (caller frees), or NULL. */
char *chsm_crypto_key_public_pem(const unsigned char *der, size_t len);

/* chsm_crypto_key_kcv_secret writes the key check value of an AES key: the first 3 bytes of
 * the zero block encrypted with it. */
int chsm_crypto_key_kcv_secret(const unsigned char *key, size_t keylen, unsigned char kcv[3]);
/* chsm_crypto_key_kcv_public writes the key check value of an asymmetric key: the first 3
 * bytes of SHA-1 over its SPKI DER public key. */
int chsm_crypto_key_kcv_public(const unsigned char *der, size_t len, unsigned char kcv[3]);

/* chsm_crypto_key_sign signs n bytes of data with a private key blob using mechanism
 * RSA-PKCS-SHA{256,384,512}, RSA-PSS-SHA{256,384,512} (salt = hash length) or
 * ECDSA-SHA{256,384,512} (DER-encoded signature). */
int chsm_crypto_key_sign(const unsigned char *der, size_t len, const char *mechanism,
                         const void *data, size_t n, unsigned char **sig, size_t *siglen);
/* chsm_crypto_key_verify checks sig over data with a public or private blob: 1 valid,
 * 0 invalid, or a negative chsm_status (unknown mechanism, wrong key type). */
int chsm_crypto_key_verify(const unsigned char *der, size_t len, const char *mechanism,
                           const void *data, size_t n, const unsigned char *sig, size_t siglen);

/* chsm_crypto_key_aes_encrypt encrypts with an AES key (16/24/32 bytes): "AES-GCM" (iv 12
 * bytes, optional aad, tag_out gets 16 bytes) or "AES-CBC-PAD" (iv 16 bytes, PKCS#7). */
int chsm_crypto_key_aes_encrypt(const unsigned char *key, size_t keylen, const char *mechanism,
                                const unsigned char *iv, size_t ivlen, const void *aad,
                                size_t aadlen, const void *plain, size_t n, unsigned char **out,
                                size_t *outlen, unsigned char tag_out[16]);
/* chsm_crypto_key_aes_decrypt reverses chsm_crypto_key_aes_encrypt; for AES-GCM tag is the
 * 16-byte tag. CHSM_ECRYPTO when the tag or the padding is wrong. */
int chsm_crypto_key_aes_decrypt(const unsigned char *key, size_t keylen, const char *mechanism,
                                const unsigned char *iv, size_t ivlen, const void *aad,
                                size_t aadlen, const void *cipher, size_t n,
                                const unsigned char *tag, size_t taglen, unsigned char **out,
                                size_t *outlen);
/* chsm_crypto_key_rsa_encrypt encrypts with RSA-OAEP (SHA-256, MGF1-SHA-256) under a public
 * or private RSA blob. */
int chsm_crypto_key_rsa_encrypt(const unsigned char *der, size_t len, const void *plain, size_t n,
                                unsigned char **out, size_t *outlen);
/* chsm_crypto_key_rsa_decrypt decrypts RSA-OAEP (SHA-256) with a private RSA blob. */
int chsm_crypto_key_rsa_decrypt(const unsigned char *der, size_t len, const void *cipher, size_t n,
                                unsigned char **out, size_t *outlen);
/* chsm_crypto_key_aes_wrap_pad wraps n bytes with an AES key-encryption key (RFC 5649). */
int chsm_crypto_key_aes_wrap_pad(const unsigned char *kek, size_t keklen, const void *in, size_t n,
                                 unsigned char **out, size_t *outlen);
/* chsm_crypto_key_aes_unwrap_pad unwraps RFC 5649 data; CHSM_ECRYPTO if it does not verify. */
int chsm_crypto_key_aes_unwrap_pad(const unsigned char *kek, size_t keklen, const void *in,
                                   size_t n, unsigned char **out, size_t *outlen);

#endif

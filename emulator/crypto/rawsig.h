/* rawsig.h - signatures over data the caller has already hashed or encoded (the
 * data plane's "prehashed" sign/verify, used by the PKCS#11 module for
 * CKM_RSA_PKCS, CKM_RSA_PKCS_PSS and CKM_ECDSA). Key blobs are those of
 * crypto/keys.h (PKCS#8 private, SPKI public). Mechanisms:
 *   "RSA-PKCS"                 data (at most modulus - 11 bytes, normally a DigestInfo) is
 *                              padded with PKCS#1 v1.5 type 1 as given, without hashing;
 *   "ECDSA"                    data is a digest of 1..64 bytes, signed as given (DER
 *                              signature);
 *   "RSA-PKCS-SHA{256,384,512}", "RSA-PSS-SHA{256,384,512}" (salt = hash length),
 *   "ECDSA-SHA{256,384,512}"   data is the digest of that hash (exactly its length). */
#ifndef CHSM_CRYPTO_RAWSIG_H
#define CHSM_CRYPTO_RAWSIG_H

#include <stddef.h>

/* chsm_crypto_key_sign_prehashed signs prepared data with a private blob (caller frees
 * *sig); CHSM_EINVAL when the mechanism, the key or the data length do not fit. */
int chsm_crypto_key_sign_prehashed(const unsigned char *der, size_t len, const char *mechanism,
                                   const void *data, size_t n, unsigned char **sig, size_t *siglen);
/* chsm_crypto_key_verify_prehashed checks sig over prepared data with a public or private
 * blob: 1 valid, 0 invalid, or a negative chsm_status (mechanism or key does not fit). */
int chsm_crypto_key_verify_prehashed(const unsigned char *der, size_t len, const char *mechanism,
                                     const void *data, size_t n, const unsigned char *sig,
                                     size_t siglen);

#endif

/* jwk.h - the public parts of an asymmetric key as a JSON Web Key needs them.
 *
 * Key Vault and Managed HSM return keys as JWKs: RSA keys as the modulus n and
 * exponent e, EC keys as the curve and the point x, y, all base64url. This
 * reads them out of the key blobs crypto/keys.h produces, so no OpenSSL type
 * leaves the crypto folder. */
#ifndef CHSM_CRYPTO_JWK_H
#define CHSM_CRYPTO_JWK_H

#include <stddef.h>

/* The public JWK members of a key, each base64url without padding (caller
 * frees with chsm_crypto_jwk_clear). */
typedef struct chsm_jwk_public {
    char kty[4]; /* "RSA" or "EC" */
    char crv[8]; /* "P-256" / "P-384" for EC */
    char *n, *e; /* RSA */
    char *x, *y; /* EC */
} chsm_jwk_public;

/* chsm_crypto_jwk_public fills out from a PKCS#8 private or SPKI public DER
 * blob; CHSM_EINVAL for anything else. */
int chsm_crypto_jwk_public(const unsigned char *der, size_t len, chsm_jwk_public *out);
/* chsm_crypto_jwk_clear frees what jwk owns and zeroes it. */
void chsm_crypto_jwk_clear(chsm_jwk_public *jwk);

#endif

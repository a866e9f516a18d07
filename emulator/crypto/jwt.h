/* jwt.h - RS256 JSON Web Tokens, the emulator's stand-in for Entra ID.
 *
 * The emulator mints access tokens with one RSA key and publishes its public
 * half as a JWKS, so clients that validate tokens see the same shapes Entra ID
 * serves. Only RS256 is produced or accepted: accepting whatever "alg" a token
 * names is the classic JWT forgery ("none", or HS256 keyed with the public key). */
#ifndef CHSM_CRYPTO_JWT_H
#define CHSM_CRYPTO_JWT_H

#include <cjson/cJSON.h>

/* The longest token (or PEM) accepted, so hostile input cannot cost much work. */
#define CHSM_CRYPTO_JWT_MAX_TOKEN 16384

/* An RSA signing key and its key id; safe to use from several threads once made. */
typedef struct chsm_jwt_key chsm_jwt_key;

/* chsm_crypto_jwt_key_generate makes a new RSA-2048 key; caller frees with _key_free. */
int chsm_crypto_jwt_key_generate(chsm_jwt_key **out);
/* chsm_crypto_jwt_key_from_pem loads an unencrypted RSA (>= 2048 bit) private key PEM;
 * caller frees with _key_free. */
int chsm_crypto_jwt_key_from_pem(const char *pem, chsm_jwt_key **out);
/* chsm_crypto_jwt_key_to_pem returns the private key as PKCS#8 PEM; caller frees. */
char *chsm_crypto_jwt_key_to_pem(const chsm_jwt_key *k);
/* chsm_crypto_jwt_key_free releases a key (NULL is fine). */
void chsm_crypto_jwt_key_free(chsm_jwt_key *k);
/* chsm_crypto_jwt_key_id returns the kid: base64url of the first 15 bytes of SHA-256 of the
 * DER SubjectPublicKeyInfo; owned by k. */
const char *chsm_crypto_jwt_key_id(const chsm_jwt_key *k);
/* chsm_crypto_jwt_jwks returns {"keys":[{"kty","use","alg","kid","n","e"}]}; caller frees. */
cJSON *chsm_crypto_jwt_jwks(const chsm_jwt_key *k);
/* chsm_crypto_jwt_sign signs a claims object as a compact RS256 token with header
 * {"typ":"JWT","alg":"RS256","kid":...}; NULL on failure; caller frees. */
char *chsm_crypto_jwt_sign(const chsm_jwt_key *k, const cJSON *claims);
/* chsm_crypto_jwt_decode parses a token WITHOUT verifying it; CHSM_EINVAL if it is not three
 * base64url parts whose first two are JSON objects; caller frees *header and *claims
 * (either pointer may be NULL if that part is not wanted). */
int chsm_crypto_jwt_decode(const char *token, cJSON **header, cJSON **claims);
/* chsm_crypto_jwt_verify checks the token is RS256 and signed by k, then returns its claims
 * (caller frees); CHSM_EINVAL if malformed, CHSM_ECRYPTO if the alg is not RS256 or the
 * signature does not verify. Does NOT check exp, nbf, iss or aud: the caller does. */
int chsm_crypto_jwt_verify(const chsm_jwt_key *k, const char *token, cJSON **claims);

#endif

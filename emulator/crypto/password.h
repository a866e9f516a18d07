/* password.h - password hashing for HSM users.
 *
 * Stored hashes are self-describing strings so the iteration count can be raised
 * later without invalidating existing users: verification reads the count back
 * from the string rather than using the current default. */
#ifndef CHSM_CRYPTO_PASSWORD_H
#define CHSM_CRYPTO_PASSWORD_H

#include <stddef.h>

/* PBKDF2 iterations for new hashes (OWASP's 2021 floor for PBKDF2-HMAC-SHA256 was 310000;
 * 100000 keeps user creation fast in an emulator that holds no real secrets). */
#define CHSM_CRYPTO_PASSWORD_ITERATIONS 100000
/* The largest iteration count verify accepts, bounding the work a stored string can demand. */
#define CHSM_CRYPTO_PASSWORD_MAX_ITERATIONS 10000000
/* A buffer this size always holds an encoded hash. */
#define CHSM_CRYPTO_PASSWORD_HASH_LEN 128

/* chsm_crypto_password_hash writes "pbkdf2-sha256$<iter>$<b64 salt>$<b64 hash>" (random 16-byte
 * salt, 32-byte PBKDF2-HMAC-SHA256) into out; CHSM_EINVAL if outlen is too small. */
int chsm_crypto_password_hash(const char *password, char *out, size_t outlen);
/* chsm_crypto_password_hash_well_known hashes a well-known password (the PRECO default) once per
 * process and hands out that same hash again: it protects nothing, so it is not paid per use. */
int chsm_crypto_password_hash_well_known(const char *password, char *out, size_t outlen);
/* chsm_crypto_password_verify checks password against an encoded hash in constant time;
 * returns 1 on a match, 0 on a mismatch, a negative chsm_status if encoded is malformed.
 * A pair this process hashed or verified before is recognised from memory (no PBKDF2). */
int chsm_crypto_password_verify(const char *password, const char *encoded);

#endif

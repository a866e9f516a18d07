/* keypool.h - RSA-2048 key pairs made ahead of time.
 *
 * Generating an RSA-2048 key takes 50-500 ms (a random search for primes),
 * which made it the largest single cost of a scripted DR run. While the pool
 * runs, a background thread keeps a few key pairs ready and
 * chsm_crypto_key_generate_rsa hands one out at once; when the pool is empty
 * or not running, keys are generated on the spot as before. Every key is still
 * fresh, random and used once. The pool is process-wide (key generation has no
 * per-app state) and reference-counted, so several apps in one test process
 * may start and stop it. */
#ifndef CHSM_CRYPTO_KEYPOOL_H
#define CHSM_CRYPTO_KEYPOOL_H

#include <stddef.h>

/* chsm_crypto_keypool_start starts (or shares) the pool, keeping depth keys ready. */
int chsm_crypto_keypool_start(int depth);
/* chsm_crypto_keypool_stop drops one reference; the last stops the thread and frees the keys. */
void chsm_crypto_keypool_stop(void);
/* chsm_crypto_keypool_take hands out a ready RSA-2048 (e = 65537) private key
 * as PKCS#8 DER (caller frees *der); CHSM_ENOTFOUND when none is ready. */
int chsm_crypto_keypool_take(unsigned char **der, size_t *len);

#endif

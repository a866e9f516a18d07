/* signing_key.h - the emulated Entra ID's token signing key, made in the
 * background on first start.
 *
 * A new data dir needs a new RSA-2048 key (50-500 ms of key generation).
 * Making it on a thread of its own lets the emulator answer /_emulator/health
 * (and everything that needs no token) at once; the first caller that signs or
 * verifies a token waits for it. The thread starts once the listeners answer
 * (chsm_signing_key_start), so on a two-core CI runner it does not take a core
 * from start-up itself, or when a token is first needed, whichever comes first. The key lives in
 * <data-dir>/token-signing-key.pem (0600); data dirs from before keep it in the store's settings,
 * which win. */
#ifndef CHSM_APP_SIGNING_KEY_H
#define CHSM_APP_SIGNING_KEY_H

#include <stddef.h>

struct chsm_app;
struct chsm_jwt_key;
typedef struct chsm_signing_key chsm_signing_key;

/* chsm_signing_key_open loads the key from the store or its file, or notes that
 * one must be made; err receives a message on failure. */
int chsm_signing_key_open(struct chsm_app *app, char *err, size_t errlen);
/* chsm_signing_key_start starts making the key in the background if it must be made. */
int chsm_signing_key_start(struct chsm_app *app);
/* chsm_signing_key_get returns the key, waiting for its generation if needed;
 * NULL when it could not be made (owned by the app). */
struct chsm_jwt_key *chsm_signing_key_get(struct chsm_app *app);
/* chsm_signing_key_close waits for a generation under way and frees the key. */
void chsm_signing_key_close(struct chsm_app *app);

#endif

/* settings.h - small named values the emulator keeps across restarts
 * (its token signing key, the HSM fleet secret, ...). */
#ifndef CHSM_STORE_SETTINGS_H
#define CHSM_STORE_SETTINGS_H

#include "store/store.h"

#include <stddef.h>

/* chsm_settings_get copies setting name into a new buffer (caller frees *value);
 * CHSM_ENOTFOUND when unset. A NUL is appended after *len bytes. */
int chsm_settings_get(chsm_store *s, const char *name, unsigned char **value, size_t *len);
/* chsm_settings_put stores len bytes under name, replacing any old value. */
int chsm_settings_put(chsm_store *s, const char *name, const void *value, size_t len);

#endif

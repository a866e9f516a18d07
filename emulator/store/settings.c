/* settings.c - named values in the settings table. */
#include "store/settings.h"

#include "store/store_internal.h"
#include "util/status.h"

#include <stdlib.h>
#include <string.h>

int chsm_settings_get(chsm_store *s, const char *name, unsigned char **value, size_t *len)
{
    static const char sql[] = "SELECT value FROM settings WHERE name=?";
    *value = NULL;
    *len = 0;
    store_lock_(s);
    sqlite3_stmt *st = store_prepare_(s, sql);
    int rc = CHSM_EIO;
    if (st) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
        int step = sqlite3_step(st);
        if (step == SQLITE_ROW) {
            size_t n = (size_t)sqlite3_column_bytes(st, 0);
            unsigned char *p = malloc(n + 1);
            if (p) {
                if (n)
                    memcpy(p, sqlite3_column_blob(st, 0), n);
                p[n] = '\0';
                *value = p;
                *len = n;
                rc = CHSM_OK;
            } else {
                rc = CHSM_ENOMEM;
            }
        } else if (step == SQLITE_DONE) {
            rc = CHSM_ENOTFOUND;
        }
        store_done_(st);
    }
    store_unlock_(s);
    return rc;
}

int chsm_settings_put(chsm_store *s, const char *name, const void *value, size_t len)
{
    static const char sql[] = "INSERT INTO settings(name, value) VALUES(?, ?)"
                              " ON CONFLICT(name) DO UPDATE SET value=excluded.value";
    store_lock_(s);
    sqlite3_stmt *st = store_prepare_(s, sql);
    int rc = CHSM_EIO;
    if (st) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_blob(st, 2, value, (int)len, SQLITE_TRANSIENT);
        int step = sqlite3_step(st);
        rc = step == SQLITE_DONE ? CHSM_OK : store_fail_(s, step);
        store_done_(st);
    }
    store_unlock_(s);
    return rc;
}

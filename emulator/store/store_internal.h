/* store_internal.h - what repository files share; not for use outside store/. */
#ifndef CHSM_STORE_INTERNAL_H
#define CHSM_STORE_INTERNAL_H

#include "store/store.h"

#include <sqlite3.h>

/* store_lock_ takes the store mutex (recursive) for a read or a single write. */
void store_lock_(chsm_store *s);
/* store_unlock_ releases it. */
void store_unlock_(chsm_store *s);
/* store_db_ returns the connection; call only with the lock held. */
sqlite3 *store_db_(chsm_store *s);
/* store_prepare_ prepares sql (cached per statement text); NULL on error. */
sqlite3_stmt *store_prepare_(chsm_store *s, const char *sql);
/* store_done_ resets a cached statement after use. */
void store_done_(sqlite3_stmt *st);
/* store_fail_ marks the current transaction doomed after an SQLite error. */
int store_fail_(chsm_store *s, int sqlite_rc);
/* store_bind_lower_ binds an ASCII-lowercased copy of s (NULL binds NULL). */
void store_bind_lower_(sqlite3_stmt *st, int idx, const char *s);
/* store_text_dup_ copies a text column (NULL stays NULL); caller frees. */
char *store_text_dup_(sqlite3_stmt *st, int col);

/* A schema module: the ordered migration steps of one repository. Steps are
 * append-only: never edit one that has shipped, add a new step instead. */
typedef struct store_schema_ {
    const char *module;
    const char *const *steps;
    int nsteps;
} store_schema_;

/* store_schemas_ lists every module's schema, NULL-terminated (store/schema.c). */
extern const store_schema_ *const store_schemas_[];

#endif

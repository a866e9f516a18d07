/* store.h - the durable state: one SQLite database, WAL mode, migrations.
 *
 * One connection serves the whole process behind a recursive mutex, so a
 * transaction begun by a handler sees and makes changes atomically with
 * respect to every other request (serializable by construction). Nested
 * begin/commit pairs join the outermost transaction; an inner failure dooms
 * it. Repository files in store/ are the only code that writes SQL. */
#ifndef CHSM_STORE_STORE_H
#define CHSM_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

typedef struct chsm_store chsm_store;

/* chsm_store_set_fsync chooses, for stores opened afterwards, whether each
 * commit is fsynced (survives power loss) or only written (survives any
 * process crash, the default). */
void chsm_store_set_fsync(int fsync_each_commit);
/* chsm_store_open opens (creating and migrating) the database at path, or a
 * private in-memory database when path is NULL. */
int chsm_store_open(const char *path, chsm_store **out, char *err, size_t errlen);
/* chsm_store_close closes the database. */
void chsm_store_close(chsm_store *s);
/* chsm_store_begin starts (or joins) a write transaction and holds the store lock. */
int chsm_store_begin(chsm_store *s);
/* chsm_store_commit ends the outermost transaction; CHSM_EIO (and a rollback)
 * if it or a joined inner one failed. Releases the lock taken by begin. */
int chsm_store_commit(chsm_store *s);
/* chsm_store_rollback abandons the transaction (the outermost one, when nested). */
void chsm_store_rollback(chsm_store *s);
/* chsm_store_hold keeps the store to the calling thread (its recursive lock, no transaction)
 * until chsm_store_release, so several reads and writes in between see one state. */
void chsm_store_hold(chsm_store *s);
/* chsm_store_release ends one chsm_store_hold. */
void chsm_store_release(chsm_store *s);
/* chsm_store_schema_version returns the sum of all modules' schema versions. */
int chsm_store_schema_version(chsm_store *s);
/* chsm_store_generation returns a number that changes whenever any row may have changed (a
 * snapshot restore does not move it: its caller says so to whoever caches). */
uint64_t chsm_store_generation(chsm_store *s);
/* chsm_store_integrity_ok runs PRAGMA integrity_check; 1 when "ok". */
int chsm_store_integrity_ok(chsm_store *s);

#endif

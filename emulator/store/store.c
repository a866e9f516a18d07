/* store.c - opening, migrating and locking the SQLite database.
 *
 * Why one connection and a mutex rather than a pool: every state change must
 * be one transaction, and handlers read-modify-write (a PUT reads the old
 * resource to keep createdAt). With a single serialized connection that is
 * correct without retry loops on SQLITE_BUSY, and SQLite in WAL mode is fast
 * enough that the mutex is not the bottleneck of an emulator. */
#include "store/store_internal.h"

#include "util/status.h"
#include "util/faultsim.h"
#include "util/oom.h"
#include "util/text.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct chsm_store {
    sqlite3 *db;
    pthread_mutex_t mu;
    int depth;                  /* nesting of begin() */
    int doomed;                 /* an inner step failed: the outermost commit rolls back */
    unsigned long oom_at_begin; /* chsm_oom_count() when the transaction began */
    struct stmt_entry {
        const char *sql; /* statement texts are string literals: compare pointers */
        sqlite3_stmt *st;
    } * cache; /* grows as repositories prepare new statements; finalized at close */
    int ncache, capcache;
};

static int exec(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "%s", msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return CHSM_EIO;
    }
    return CHSM_OK;
}

/* migrate_module applies the steps of one schema module that this database
 * has not seen yet, each step in its own transaction with its version bump. */
static int migrate_module(sqlite3 *db, const store_schema_ *m, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int version = 0;
    if (sqlite3_prepare_v2(db, "SELECT version FROM schema_modules WHERE module=?", -1, &st,
                           NULL) != SQLITE_OK)
        return CHSM_EIO;
    sqlite3_bind_text(st, 1, m->module, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (version > m->nsteps) {
        snprintf(err, errlen, "the data dir was written by a newer emulator (%s schema %d > %d)",
                 m->module, version, m->nsteps);
        return CHSM_ECONFLICT;
    }
    for (int v = version; v < m->nsteps; v++) {
        if (exec(db, "BEGIN IMMEDIATE", err, errlen) != CHSM_OK)
            return CHSM_EIO;
        char *bump = sqlite3_mprintf("INSERT INTO schema_modules(module, version) VALUES(%Q, %d) "
                                     "ON CONFLICT(module) DO UPDATE SET version=excluded.version",
                                     m->module, v + 1);
        int rc = bump ? exec(db, m->steps[v], err, errlen) : CHSM_ENOMEM;
        if (rc == CHSM_OK)
            rc = exec(db, bump, err, errlen);
        sqlite3_free(bump);
        if (rc != CHSM_OK) {
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            return rc;
        }
        if (exec(db, "COMMIT", err, errlen) != CHSM_OK)
            return CHSM_EIO;
    }
    return CHSM_OK;
}

static int migrate(sqlite3 *db, char *err, size_t errlen)
{
    if (exec(db,
             "CREATE TABLE IF NOT EXISTS schema_modules(module TEXT PRIMARY KEY, "
             "version INTEGER NOT NULL)",
             err, errlen) != CHSM_OK)
        return CHSM_EIO;
    for (size_t i = 0; store_schemas_[i]; i++) {
        int rc = migrate_module(db, store_schemas_[i], err, errlen);
        if (rc != CHSM_OK)
            return rc;
    }
    return CHSM_OK;
}

static int store_fsync_each_commit;

void chsm_store_set_fsync(int fsync_each_commit)
{
    store_fsync_each_commit = fsync_each_commit;
}

#ifdef CHSM_FAULT_SIM
/* Fault simulation (util/faultsim.h): a statement the countdown picks is interrupted at its
 * first progress check, so its sqlite3_step fails with SQLITE_INTERRUPT. Transaction control
 * does not count: a COMMIT interrupted after it committed would look failed with its changes
 * kept, which no real failure does. */
static _Thread_local int fsim_interrupt;

static int fsim_trace(unsigned type, void *ctx, void *stmt, void *text)
{
    (void)type;
    (void)ctx;
    (void)stmt;
    const char *sql = text ? text : "";
    while (*sql == ' ' || *sql == '\n')
        sql++;
    static const char *const skip[] = {"BEGIN",     "COMMIT",  "END",   "ROLLBACK",
                                       "SAVEPOINT", "RELEASE", "PRAGMA"};
    for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++)
        if (chsm_starts_with_ci(sql, skip[i]))
            return 0;
    if (chsm_faultsim_fail(CHSM_FAULTSIM_SQL))
        fsim_interrupt = 1;
    return 0;
}

static int fsim_commit(void *ctx)
{
    (void)ctx;
    chsm_faultsim_note_commit();
    return 0;
}

static int fsim_progress(void *ctx)
{
    (void)ctx;
    int stop = fsim_interrupt;
    fsim_interrupt = 0;
    return stop;
}
#endif

/* sqlite_log is SQLite's error log (SQLITE_CONFIG_LOG): a statement that failed for a reason
 * its caller may have taken for "no row" (I/O, corruption, interruption, SQLite out of memory)
 * is counted on this thread (util/oom.h). Constraint violations, schema changes, notices and
 * warnings are answers the code handles, not failures. */
static void sqlite_log(void *ctx, int code, const char *msg)
{
    (void)ctx;
    (void)msg;
    switch (code & 0xff) {
    case SQLITE_NOMEM:
    case SQLITE_IOERR:
    case SQLITE_CORRUPT:
    case SQLITE_FULL:
    case SQLITE_INTERRUPT:
    case SQLITE_CANTOPEN:
    case SQLITE_NOTADB:
    case SQLITE_READONLY:
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_PROTOCOL:
        chsm_failure_note();
        break;
    default:
        break;
    }
}

static void install_sqlite_log(void)
{
    /* Only possible before SQLite initialises: the first store open does it. */
    sqlite3_config(SQLITE_CONFIG_LOG, sqlite_log, NULL);
}

int chsm_store_open(const char *path, chsm_store **out, char *err, size_t errlen)
{
    static pthread_once_t log_once = PTHREAD_ONCE_INIT;
    pthread_once(&log_once, install_sqlite_log);
    *out = NULL;
    chsm_store *s = calloc(1, sizeof *s);
    if (!s)
        return CHSM_ENOMEM;
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&s->mu, &attr);
    pthread_mutexattr_destroy(&attr);

    /* A database made now holds nothing anyone was told is stored: it is built without
     * syncs (below), which is most of a new data dir's start-up. */
    struct stat st;
    int is_new = !path || stat(path, &st) != 0;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX;
    int rc = sqlite3_open_v2(path ? path : ":memory:", &s->db, flags, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "cannot open %s: %s",
                 path ? path : ":memory:", s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        chsm_store_close(s);
        return CHSM_EIO;
    }
    sqlite3_busy_timeout(s->db, 5000);
#ifdef CHSM_FAULT_SIM
    sqlite3_trace_v2(s->db, SQLITE_TRACE_STMT, fsim_trace, NULL);
    sqlite3_progress_handler(s->db, 1, fsim_progress, NULL);
    sqlite3_commit_hook(s->db, fsim_commit, NULL);
#endif
    /* WAL with synchronous=NORMAL: a commit that returned has been written to
     * the WAL file, so a killed process (kill -9, a crash) never loses an
     * acknowledged change; only an OS crash or power loss could lose the last
     * commits, which is what the fsync per commit of FULL (--fsync) buys, at
     * a tenth of the write rate.
     * A new database (without --fsync) is switched to WAL and given its schema with
     * synchronous=OFF: it skips the fsyncs of the rollback journal, the file, the WAL and the
     * directory, 5-20 ms on a CI disk, for state that does not exist yet. A killed
     * process still loses nothing (the kernel holds the writes); only a power loss in
     * those first milliseconds could leave a damaged file behind, in a data dir nothing
     * was stored in yet. */
    const char *sync = store_fsync_each_commit ? "FULL" : "NORMAL";
    char pragmas[160];
    snprintf(pragmas, sizeof pragmas,
             "PRAGMA synchronous=%s; PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON;",
             is_new && !store_fsync_each_commit ? "OFF" : sync);
    char settle[64];
    snprintf(settle, sizeof settle, "PRAGMA synchronous=%s;", sync);
    if (exec(s->db, pragmas, err, errlen) != CHSM_OK || migrate(s->db, err, errlen) != CHSM_OK ||
        exec(s->db, settle, err, errlen) != CHSM_OK) {
        chsm_store_close(s);
        return CHSM_EIO;
    }
    *out = s;
    return CHSM_OK;
}

void chsm_store_close(chsm_store *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->ncache; i++)
        sqlite3_finalize(s->cache[i].st);
    free(s->cache);
    if (s->db)
        sqlite3_close(s->db);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

void store_lock_(chsm_store *s)
{
    pthread_mutex_lock(&s->mu);
}

void store_unlock_(chsm_store *s)
{
    pthread_mutex_unlock(&s->mu);
}

sqlite3 *store_db_(chsm_store *s)
{
    return s->db;
}

sqlite3_stmt *store_prepare_(chsm_store *s, const char *sql)
{
    for (int i = 0; i < s->ncache; i++)
        if (s->cache[i].sql == sql)
            return s->cache[i].st;
    if (s->ncache == s->capcache) {
        int cap = s->capcache ? s->capcache * 2 : 64;
        struct stmt_entry *p = realloc(s->cache, (size_t)cap * sizeof *p);
        if (!p)
            return NULL;
        s->cache = p;
        s->capcache = cap;
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return NULL;
    s->cache[s->ncache].sql = sql;
    s->cache[s->ncache].st = st;
    s->ncache++;
    return st;
}

void store_done_(sqlite3_stmt *st)
{
    if (st) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
}

int store_fail_(chsm_store *s, int sqlite_rc)
{
    (void)sqlite_rc;
    if (s->depth > 0)
        s->doomed = 1;
    return CHSM_EIO;
}

char *store_text_dup_(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    if (!t)
        return NULL;
    size_t n = (size_t)sqlite3_column_bytes(st, col);
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, t, n);
        p[n] = '\0';
    }
    return p;
}

/* Transaction control runs as cached prepared statements (sqlite3_exec would
 * parse the SQL again for every transaction: ~10k instructions a request). */
static const char sql_begin[] = "BEGIN IMMEDIATE";
static const char sql_commit[] = "COMMIT";
static const char sql_rollback[] = "ROLLBACK";

static int tx_control(chsm_store *s, const char *sql)
{
    sqlite3_stmt *st = store_prepare_(s, sql);
    if (!st)
        return sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int chsm_store_begin(chsm_store *s)
{
    store_lock_(s);
    if (s->depth++ > 0)
        return CHSM_OK;
    s->doomed = 0;
    s->oom_at_begin = chsm_oom_count();
    if (tx_control(s, sql_begin) != SQLITE_OK) {
        s->depth--;
        store_unlock_(s);
        return CHSM_EIO;
    }
    return CHSM_OK;
}

int chsm_store_commit(chsm_store *s)
{
    int rc = CHSM_OK;
    if (--s->depth == 0) {
        /* Memory ran out while the transaction was built: what it would commit may be a
         * document with members missing, so it is not committed (util/oom.h). */
        int oom = chsm_oom_count() != s->oom_at_begin;
        if (s->doomed || oom || tx_control(s, sql_commit) != SQLITE_OK) {
            tx_control(s, sql_rollback);
            rc = oom ? CHSM_ENOMEM : CHSM_EIO;
        }
        s->doomed = 0;
    } else if (s->doomed) {
        rc = CHSM_EIO;
    }
    store_unlock_(s);
    return rc;
}

void chsm_store_hold(chsm_store *s)
{
    store_lock_(s);
}

void chsm_store_release(chsm_store *s)
{
    store_unlock_(s);
}

void chsm_store_rollback(chsm_store *s)
{
    if (--s->depth == 0) {
        tx_control(s, sql_rollback);
        s->doomed = 0;
    } else {
        s->doomed = 1;
    }
    store_unlock_(s);
}

int chsm_store_schema_version(chsm_store *s)
{
    int v = -1;
    store_lock_(s);
    sqlite3_stmt *st = store_prepare_(s, "SELECT sum(version) FROM schema_modules");
    if (st && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    store_done_(st);
    store_unlock_(s);
    return v;
}

int chsm_store_integrity_ok(chsm_store *s)
{
    int ok = 0;
    store_lock_(s);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(st, 0);
        ok = t && strcmp((const char *)t, "ok") == 0;
    }
    sqlite3_finalize(st);
    store_unlock_(s);
    return ok;
}

void store_bind_lower_(sqlite3_stmt *st, int idx, const char *s)
{
    /* Every realistic key is lowered on the stack (SQLite copies it), so running out of memory
     * cannot turn a lookup into a silent "not found". */
    char small[4096];
    size_t n = s ? strlen(s) : 0;
    if (s && n < sizeof small) {
        for (size_t i = 0; i <= n; i++)
            small[i] = (char)tolower((unsigned char)s[i]);
        sqlite3_bind_text(st, idx, small, (int)n, SQLITE_TRANSIENT);
        return;
    }
    char *low = chsm_lower_dup(s);
    if (low)
        sqlite3_bind_text(st, idx, low, -1, free);
    else
        sqlite3_bind_null(st, idx);
}

/* repo.c - the HSM tables in SQLite (the only SQL of hsm/). */
#include "hsm/repo.h"

#include "crypto/keys.h"
#include "store/store_internal.h"
#include "util/status.h"
#include "util/text.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const hsm_steps[] = {
    /* 1: clusters, users, keys (material sealed), sessions */
    "CREATE TABLE hsm_clusters ("
    "  cluster_key TEXT PRIMARY KEY," /* lowercased ARM resource id */
    "  resource_id TEXT NOT NULL,"
    "  label_key TEXT NOT NULL UNIQUE,"
    "  label TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  activation TEXT NOT NULL,"
    "  next_handle INTEGER NOT NULL,"
    "  next_user_id INTEGER NOT NULL,"
    "  salt BLOB NOT NULL,"
    "  provision_op TEXT NOT NULL DEFAULT '',"
    "  system_principal TEXT NOT NULL DEFAULT '',"
    "  created_ms INTEGER NOT NULL,"
    "  activated_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE hsm_users ("
    "  cluster_key TEXT NOT NULL,"
    "  name_key TEXT NOT NULL,"
    "  user_id INTEGER NOT NULL,"
    "  user_type TEXT NOT NULL,"
    "  username TEXT NOT NULL,"
    "  password_hash TEXT NOT NULL,"
    "  login_failures INTEGER NOT NULL DEFAULT 0,"
    "  locked INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (cluster_key, name_key));"
    "CREATE TABLE hsm_keys ("
    "  cluster_key TEXT NOT NULL,"
    "  handle INTEGER NOT NULL,"
    "  key_id TEXT NOT NULL,"
    "  class TEXT NOT NULL,"
    "  owner_key TEXT NOT NULL,"
    "  meta TEXT NOT NULL,"
    "  sealed_material BLOB NOT NULL," /* iv || tag || ciphertext */
    "  PRIMARY KEY (cluster_key, handle));"
    "CREATE INDEX hsm_keys_by_id ON hsm_keys(cluster_key, key_id);"
    "CREATE TABLE hsm_sessions ("
    "  token_hash TEXT PRIMARY KEY,"
    "  cluster_key TEXT NOT NULL,"
    "  name_key TEXT NOT NULL,"
    "  username TEXT NOT NULL,"
    "  user_type TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  last_used_ms INTEGER NOT NULL);"
    "CREATE INDEX hsm_sessions_by_user ON hsm_sessions(cluster_key, name_key);",
};

/* The hsm module's schema, listed in store/schema.c. */
const store_schema_ chsm_hsm_schema_ = {"hsm", hsm_steps,
                                        (int)(sizeof hsm_steps / sizeof hsm_steps[0])};

static void copy_col(sqlite3_stmt *st, int col, char *out, size_t outlen)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(out, outlen, "%s", t ? (const char *)t : "");
}

/* exec_simple runs a statement with text binds (NULL-terminated), lowercasing
 * those listed in lower_mask; reports CHSM_ENOTFOUND when want_change and no
 * row changed. */
static int exec_text(chsm_store *s, const char *sql, int want_change, unsigned lower_mask,
                     const char *a, const char *b)
{
    store_lock_(s);
    sqlite3_stmt *st = store_prepare_(s, sql);
    int rc = CHSM_EIO;
    if (st) {
        const char *args[2] = {a, b};
        for (int i = 0; i < 2 && args[i]; i++) {
            if (lower_mask & (1u << i))
                store_bind_lower_(st, i + 1, args[i]);
            else
                sqlite3_bind_text(st, i + 1, args[i], -1, SQLITE_TRANSIENT);
        }
        int step = sqlite3_step(st);
        if (step == SQLITE_DONE)
            rc = (want_change && sqlite3_changes(store_db_(s)) == 0) ? CHSM_ENOTFOUND : CHSM_OK;
        else
            rc = store_fail_(s, step);
        store_done_(st);
    }
    store_unlock_(s);
    return rc;
}

/* ---- clusters ---- */

#define CLUSTER_COLUMNS                                                                            \
    "resource_id, label, name, activation, next_handle, next_user_id, salt, provision_op,"         \
    " system_principal, created_ms, activated_ms"

static void row_to_cluster(sqlite3_stmt *st, chsm_hsm_cluster *c)
{
    memset(c, 0, sizeof *c);
    copy_col(st, 0, c->resource_id, sizeof c->resource_id);
    copy_col(st, 1, c->label, sizeof c->label);
    copy_col(st, 2, c->name, sizeof c->name);
    copy_col(st, 3, c->activation, sizeof c->activation);
    c->next_handle = sqlite3_column_int64(st, 4);
    c->next_user_id = sqlite3_column_int(st, 5);
    if (sqlite3_column_bytes(st, 6) == (int)sizeof c->salt)
        memcpy(c->salt, sqlite3_column_blob(st, 6), sizeof c->salt);
    copy_col(st, 7, c->provision_op, sizeof c->provision_op);
    copy_col(st, 8, c->system_principal, sizeof c->system_principal);
    c->created_ms = sqlite3_column_int64(st, 9);
    c->activated_ms = sqlite3_column_int64(st, 10);
}

int chsm_hsm_repo_cluster_insert(chsm_store *s, const chsm_hsm_cluster *c)
{
    static const char sql[] =
        "INSERT INTO hsm_clusters(cluster_key, label_key, " CLUSTER_COLUMNS ")"
        " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)";
    store_lock_(s);
    sqlite3_stmt *st = store_prepare_(s, sql);
    int rc = CHSM_EIO;
    if (st) {
        store_bind_lower_(st, 1, c->resource_id);
        store_bind_lower_(st, 2, c->label);
        sqlite3_bind_text(st, 3, c->resource_id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 4, c->label, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 5, c->name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 6, c->activation, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 7, c->next_handle);
        sqlite3_bind_int(st, 8, c->next_user_id);
        sqlite3_bind_blob(st, 9, c->salt, (int)sizeof c->salt, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 10, c->provision_op, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 11, c->system_principal, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 12, c->created_ms);
        sqlite3_bind_int64(st, 13, c->activated_ms);
        int step = sqlite3_step(st);
        if (step == SQLITE_DONE)
            rc = CHSM_OK;
        else if (step == SQLITE_CONSTRAINT)
            rc = CHSM_EEXISTS;
        else
            rc = store_fail_(s, step);
        store_done_(st);
    }
    store_unlock_(s);
    return rc;
}

int chsm_hsm_repo_cluster_update(chsm_store *s, const chsm_hsm_cluster *c)
{
    static const char sql[] =
        "UPDATE hsm_clusters SET activation=?2, next_handle=?3, next_user_id=?4,"
        " provision_op=?5, system_principal=?6, activated_ms=?7 WHERE cluster_key=?1";
    store_lock_(s);
    sqlite3_stmt *st = store_prepare_(s, sql);
    int rc = CHSM_EIO;
    if (st) {
        store_bind_lower_(st, 1, c->resource_id);
        sqlite3_bind_text(st, 2, c->activation, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 3, c->next_handle);
        sqlite3_bind_int(st, 4, c->next_user_id);
        sqlite3_bind_text(st, 5, c->provision_op, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 6, c->system_principal, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 7, c->activated_ms);
        int step = sqlite3_step(st);
        if (step == SQLITE_DONE)
            rc = sqlite3_changes(store_db_(s)) > 0 ? CHSM_OK : CHSM_ENOTFOUND;
        else
            rc = store_fail_(s, step);
        store_done_(st);
    }
    store_unlock_(s);
    return rc;
}

static int cluster_get_by(chsm_store *s, const char *sql, const char *key, chsm_hsm_cluster *out)
{
    memset(out, 0, sizeof *out);
    store_lock_(s);
    sqlite3_stmt *st = store_prepare_(s, sql);
    int rc = CHSM_EIO;
    if (st) {
        store_bind_lower_(st, 1, key);
        int step = sqlite3_step(st);
        if (step == SQLITE_ROW) {
            row_to_cluster(st, out);
            rc = CHSM_OK;
        } else if (step == SQLITE_DONE) {
            rc = CHSM_ENOTFOUND;
        }
        store_done_(st);
    }
    store_unlock_(s);
    return rc;
}

int chsm_hsm_repo_cluster_get(chsm_store *s, const char *resource_id, chsm_hsm_cluster *out)
{
    static const char sql[] = "SELECT " CLUSTER_COLUMNS " FROM hsm_clusters WHERE cluster_key=?";
    return cluster_get_by(s, sql, resource_id, out);
}

int chsm_hsm_repo_cluster_by_label(chsm_store *s, const char *label, chsm_hsm_cluster *out)
{
    static const char sql[] = "SELECT " CLUSTER_COLUMNS " FROM hsm_clusters WHERE label_key=?";
    return cluster_get_by(s, sql, label, out);
}

int chsm_hsm_repo_cluster_wipe(chsm_store *s, const char *resource_id)
{
    static const char del_users[] = "DELETE FROM hsm_users WHERE cluster_key=?";
    static const char del_keys[] = "DELETE FROM hsm_keys WHERE cluster_key=?";
    static const char del_sessions[] = "DELETE FROM hsm_sessions WHERE cluster_key=?";
    int rc = exec_text(s, del_users, 0, 1, resource_id, NULL);
    if (rc == CHSM_OK)
        rc = exec_text(s, del_keys, 0, 1, resource_id, NULL);
    if (rc == CHSM_OK)
        rc = exec_text(s, del_sessions, 0, 1, resource_id, NULL);
    return rc;
}

int chsm_hsm_repo_cluster_delete(chsm_store *s, const char *resource_id)
{
    static const char sql[] = "DELETE FROM hsm_clusters WHERE cluster_key=?";
    int rc = chsm_hsm_repo_cluster_wipe(s, resource_id);
    if (rc == CHSM_OK)
        rc = exec_text(s, sql, 1, 1, resource_id, NULL);
    return rc;
}

/* ---- users ---- */

#define USER_COLUMNS "user_id, user_type, username, password_hash, login_failures, locked"

static void row_to_user(sqlite3_stmt *st, chsm_hsm_user *u)
{
    memset(u, 0, sizeof *u);
    u->user_id = sqlite3_column_int(st, 0);
    copy_col(st, 1, u->user_type, sizeof u->user_type);
    copy_col(st, 2, u->username, sizeof u->username);
    copy_col(st, 3, u->password_hash, sizeof u->password_hash);
    u->login_failures = sqlite3_column_int(st, 4);
    u->locked = sqlite3_column_int(st, 5);
}

int chsm_hsm_repo_users_list(chsm_store *s, const char *resource_id, chsm_hsm_user **out, size_t *n)
{
    static const char sql[] =
        "SELECT " USER_COLUMNS " FROM hsm_users WHERE cluster_key=? ORDER BY user_id";
    *out = NULL;
    *n = 0;
    store_lock_(s);
    sqlite3_stmt *st = store_prepare_(s, sql);
    int rc = st ? CHSM_OK : CHSM_EIO;
    if (st) {
        store_bind_lower_(st, 1, resource_id);
        size_t cap = 0;
        int step;
        while ((step = sqlite3_step(st)) == SQLITE_ROW) {
            if (*n == cap) {
                cap = cap ? cap * 2 : 8;
                chsm_hsm_user *p = realloc(*out, cap * sizeof *p);
                if (!p) {
                    rc = CHSM_ENOMEM;
                    break;
                }
                *out = p;
            }
            row_to_user(st, &(*out)[(*n)++]);
        }
        if (rc == CHSM_OK && step != SQLITE_DONE)
            rc = CHSM_EIO;
        store_done_(st);
    }
    store_unlock_(s);
    if (rc != CHSM_OK) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

int chsm_hsm_repo_user_get(chsm_store *s, const char *resource_id, const char *username,
                           chsm_hsm_user *out)
{
    static const char sql[] =
        "SELECT " USER_COLUMNS " FROM hsm_users WHERE cluster_key=? AND name_key=?";
    memset(out, 0, sizeof *out);
    store_lock_(s);
    sqlite3_stmt *st = store_prepare_(s, sql);
    int rc = CHSM_EIO;
    if (st) {
        store_bind_lower_(st, 1, resource_id);
        store_bind_lower_(st, 2, username);
        int step = sqlite3_step(st);
        if (step == SQLITE_ROW) {
            row_to_user(st, out);
            rc = CHSM_OK;
        } else if (step == SQLITE_DONE) {
            rc = CHSM_ENOTFOUND;
        }
        store_done_(st);
    }
    store_unlock_(s);
    return rc;
}

int chsm_hsm_repo_user_put(chsm_store *s, const char *resource_id, const chsm_hsm_user *u)
{
    static const char sql[] =
        "INSERT INTO hsm_users(cluster_key, name_key, " USER_COLUMNS ") VALUES(?,?,?,?,?,?,?,?)"
        " ON CONFLICT(cluster_key, name_key) DO UPDATE SET user_id=excluded.user_id,"
        " user_type=excluded.user_type, username=excluded.username,"
        " password_hash=excluded.password_hash, login_failures=excluded.login_failures,"
        " locked=excluded.locked";
    store_lock_(s);
    sqlite3_stmt *st = store_prepare_(s, sql);
    int rc = CHSM_EIO;
    if (st) {
        store_bind_lower_(st, 1, resource_id);
        store_bind_lower_(st, 2, u->username);
        sqlite3_bind_int(st, 3, u->user_id);
        sqlite3_bind_text(st, 4, u->user_type, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 5, u->username, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 6, u->password_hash, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 7, u->login_failures);
        sqlite3_bind_int(st, 8, u->locked);
        int step = sqlite3_step(st);
        rc = step == SQLITE_DONE ? CHSM_OK : store_fail_(s, step);
        store_done_(st);
    }
    store_unlock_(s);
    return rc;
}

int chsm_hsm_repo_user_delete(chsm_store *s, const char *resource_id, const char *username)
{
    static const char del_user[] = "DELETE FROM hsm_users WHERE cluster_key=? AND name_key=?";
    static const char del_sessions[] =
        "DELETE FROM hsm_sessions WHERE cluster_key=? AND name_key=?";
    int rc = exec_text(s, del_user, 1, 3, resource_id, username);
    if (rc == CHSM_OK)
        rc = exec_text(s, del_sessions, 0, 3, resource_id, username);
    return rc;
}

/* ---- keys ---- */

static int row_to_key(sqlite3_stmt *st, chsm_hsm_key *k, int with_material)
{
    memset(k, 0, sizeof *k);
    k->handle = sqlite3_column_int64(st, 0);
    copy_col(st, 1, k->key_id, sizeof k->key_id);
    copy_col(st, 2, k->klass, sizeof k->klass);
    const char *meta = (const char *)sqlite3_column_text(st, 3);
    k->meta = meta ? cJSON_Parse(meta) : NULL;
    if (!k->meta)
        return CHSM_EIO;
    const char *owner = cJSON_GetStringValue(cJSON_GetObjectItem(k->meta, "owner"));
    snprintf(k->owner, sizeof k->owner, "%s", owner ? owner : "");
    if (with_material) {
        int n = sqlite3_column_bytes(st, 4);
        if (n <= 0 || n > CHSM_CRYPTO_KEY_MAX_DER + 64)
            return CHSM_EIO;
        k->sealed = malloc((size_t)n);
        if (!k->sealed)
            return CHSM_ENOMEM;
        memcpy(k->sealed, sqlite3_column_blob(st, 4), (size_t)n);
        k->sealed_len = (size_t)n;
    }
    return CHSM_OK;
}

int chsm_hsm_repo_keys_list(chsm_store *s, const char *resource_id, int with_material,
                            chsm_hsm_key **out, size_t *n)
{
    static const char sql[] = "SELECT handle, key_id, class, meta, sealed_material FROM hsm_keys"
                              " WHERE cluster_key=? ORDER BY handle";
    *out = NULL;
    *n = 0;
    store_lock_(s);
    sqlite3_stmt *st = store_prepare_(s, sql);
    int rc = st ? CHSM_OK : CHSM_EIO;
    if (st) {
        store_bind_lower_(st, 1, resource_id);
        size_t cap = 0;
        int step;
        while ((step = sqlite3_step(st)) == SQLITE_ROW) {
            if (*n == cap) {
                cap = cap ? cap * 2 : 16;
                chsm_hsm_key *p = realloc(*out, cap * sizeof *p);
                if (!p) {
                    rc = CHSM_ENOMEM;
                    break;
                }
                *out = p;
            }
            rc = row_to_key(st, &(*out)[*n], with_material);
            (*n)++;
            if (rc != CHSM_OK)
                break;
        }
        if (rc == CHSM_OK && step != SQLITE_DONE)
            rc = CHSM_EIO;
        store_done_(st);
    }
    store_unlock_(s);
    if (rc != CHSM_OK) {
        chsm_hsm_keys_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

int chsm_hsm_repo_keys_each(chsm_store *s, const char *resource_id, chsm_hsm_key_row_fn fn,
                            void *ctx)
{
    static const char sql[] = "SELECT handle, key_id, class, meta, sealed_material FROM hsm_keys"
                              " WHERE cluster_key=? ORDER BY handle";
    store_lock_(s);
    sqlite3_stmt *st = store_prepare_(s, sql);
    int rc = st ? CHSM_OK : CHSM_EIO;
    if (st) {
        store_bind_lower_(st, 1, resource_id);
        int step;
        while ((step = sqlite3_step(st)) == SQLITE_ROW) {
            chsm_hsm_key_row row;
            memset(&row, 0, sizeof row);
            row.handle = sqlite3_column_int64(st, 0);
            row.key_id = (const char *)sqlite3_column_text(st, 1);
            row.klass = (const char *)sqlite3_column_text(st, 2);
            row.meta = (const char *)sqlite3_column_text(st, 3);
            row.meta_len = (size_t)sqlite3_column_bytes(st, 3);
            row.sealed = sqlite3_column_blob(st, 4);
            row.sealed_len = (size_t)sqlite3_column_bytes(st, 4);
            if (!row.key_id || !row.klass || !row.meta) {
                rc = CHSM_EIO;
                break;
            }
            rc = fn(ctx, &row);
            if (rc != CHSM_OK)
                break;
        }
        if (rc == CHSM_OK && step != SQLITE_DONE)
            rc = CHSM_EIO;
        store_done_(st);
    }
    store_unlock_(s);
    return rc;
}

/* ---- batched key inserts ---- */

#define INSERT_BATCH 16
#define KEY_ROW "(?,?,?,?,?,?,?)"
#define KEY_ROWS4 KEY_ROW "," KEY_ROW "," KEY_ROW "," KEY_ROW
/* OR FAIL: a conflict stops the statement without undoing its earlier rows, so SQLite keeps no
 * statement journal (with the default ABORT every batch copied the pages it touched, ~30 per
 * batch, into a temp file first). A failure dooms the whole transaction instead. */
#define KEY_INSERT                                                                                 \
    "INSERT OR FAIL INTO hsm_keys(cluster_key, handle, key_id, class, owner_key, meta, "           \
    "sealed_material)"                                                                             \
    " VALUES"
/* The page cache a bulk insert may use per key: a restore is one transaction whose dirty pages
 * (row and two index entries, ~1.1 KiB a key) must stay in the cache. With SQLite's default
 * 2 MB cache they spill to the WAL as the transaction goes, and the cluster's key_id index,
 * which takes random inserts, reads its pages back: 100k keys took twice as long per key as
 * 10k. */
#define INSERT_CACHE_KIB_PER_KEY 2

typedef struct queued_key {
    int64_t handle;
    char key_id[129];
    char klass[8];
    char owner_key[32];
    const char *meta; /* borrowed */
    size_t meta_len;
    unsigned char sealed[CHSM_CRYPTO_KEY_MAX_DER + 64];
    size_t sealed_len;
} queued_key;

struct chsm_hsm_key_inserter {
    chsm_store *s;
    char cluster_key[600];
    int old_cache; /* the cache_size before, restored by finish */
    int rc;        /* the first error */
    size_t n;
    queued_key q[INSERT_BATCH];
};

/* cache_size reads (set 0) or sets the connection's page cache size (PRAGMA cache_size). */
static int cache_size(chsm_store *s, int set, int value)
{
    char sql[64];
    if (set)
        snprintf(sql, sizeof sql, "PRAGMA cache_size=%d", value);
    else
        snprintf(sql, sizeof sql, "PRAGMA cache_size");
    sqlite3_stmt *st = NULL;
    int v = 0;
    if (sqlite3_prepare_v2(store_db_(s), sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void bind_queued(sqlite3_stmt *st, int base, const char *cluster_key, const queued_key *k)
{
    sqlite3_bind_text(st, base + 1, cluster_key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, base + 2, k->handle);
    sqlite3_bind_text(st, base + 3, k->key_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, base + 4, k->klass, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, base + 5, k->owner_key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, base + 6, k->meta, (int)k->meta_len, SQLITE_STATIC);
    sqlite3_bind_blob(st, base + 7, k->sealed, (int)k->sealed_len, SQLITE_STATIC);
}

/* run_insert binds count queued keys from first into st and steps it. */
static int run_insert(chsm_hsm_key_inserter *ins, sqlite3_stmt *st, size_t first, size_t count)
{
    if (!st)
        return CHSM_EIO;
    for (size_t i = 0; i < count; i++)
        bind_queued(st, (int)i * 7, ins->cluster_key, &ins->q[first + i]);
    int step = sqlite3_step(st);
    int rc = step == SQLITE_DONE ? CHSM_OK : store_fail_(ins->s, step);
    if (step == SQLITE_CONSTRAINT)
        rc = CHSM_EEXISTS;
    store_done_(st); /* clears the bindings before the queue is reused */
    return rc;
}

/* flush inserts the queue: a full batch in one statement, a partial one row by row. */
static void flush(chsm_hsm_key_inserter *ins)
{
    static const char batch_sql[] = KEY_INSERT KEY_ROWS4 "," KEY_ROWS4 "," KEY_ROWS4 "," KEY_ROWS4;
    static const char one_sql[] = KEY_INSERT KEY_ROW;
    if (ins->rc == CHSM_OK && ins->n > 0) {
        store_lock_(ins->s);
        if (ins->n == INSERT_BATCH) {
            ins->rc = run_insert(ins, store_prepare_(ins->s, batch_sql), 0, INSERT_BATCH);
        } else {
            for (size_t i = 0; ins->rc == CHSM_OK && i < ins->n; i++)
                ins->rc = run_insert(ins, store_prepare_(ins->s, one_sql), i, 1);
        }
        store_unlock_(ins->s);
    }
    for (size_t i = 0; i < ins->n; i++)
        chsm_crypto_key_wipe(ins->q[i].sealed, ins->q[i].sealed_len);
    ins->n = 0;
}

int chsm_hsm_repo_key_inserter_new(chsm_store *s, const char *resource_id, size_t expected,
                                   chsm_hsm_key_inserter **out)
{
    *out = NULL;
    size_t n = strlen(resource_id);
    chsm_hsm_key_inserter *ins = calloc(1, sizeof *ins);
    if (!ins)
        return CHSM_ENOMEM;
    if (n >= sizeof ins->cluster_key) {
        free(ins);
        return CHSM_EINVAL;
    }
    for (size_t i = 0; i <= n; i++)
        ins->cluster_key[i] = (char)tolower((unsigned char)resource_id[i]);
    ins->s = s;
    store_lock_(s); /* held until finish: the cache size is this connection's */
    ins->old_cache = cache_size(s, 0, 0);
    size_t kib = expected < (size_t)INT32_MAX / 4 ? expected * INSERT_CACHE_KIB_PER_KEY : 0;
    /* cache_size: a positive value counts pages, a negative one KiB */
    int old_kib = ins->old_cache < 0 ? -ins->old_cache : ins->old_cache * 4;
    if (kib > (size_t)old_kib)
        cache_size(s, 1, -(int)kib);
    *out = ins;
    return CHSM_OK;
}

int chsm_hsm_repo_key_inserter_add(chsm_hsm_key_inserter *ins, const chsm_hsm_key_row *row)
{
    if (ins->rc != CHSM_OK)
        return ins->rc;
    if (!row->sealed || !row->sealed_len || row->sealed_len > sizeof ins->q[0].sealed ||
        !row->meta || row->meta_len > INT32_MAX || !row->key_id ||
        strlen(row->key_id) >= sizeof ins->q[0].key_id || !row->klass ||
        strlen(row->klass) >= sizeof ins->q[0].klass || !row->owner ||
        strlen(row->owner) >= sizeof ins->q[0].owner_key)
        return CHSM_EINVAL;
    queued_key *k = &ins->q[ins->n];
    k->handle = row->handle;
    memcpy(k->key_id, row->key_id, strlen(row->key_id) + 1); /* lengths checked above */
    memcpy(k->klass, row->klass, strlen(row->klass) + 1);
    size_t i = 0;
    for (; row->owner[i]; i++)
        k->owner_key[i] = (char)tolower((unsigned char)row->owner[i]);
    k->owner_key[i] = '\0';
    k->meta = row->meta;
    k->meta_len = row->meta_len;
    memcpy(k->sealed, row->sealed, row->sealed_len);
    k->sealed_len = row->sealed_len;
    if (++ins->n == INSERT_BATCH)
        flush(ins);
    return ins->rc;
}

int chsm_hsm_repo_key_inserter_finish(chsm_hsm_key_inserter *ins)
{
    if (!ins)
        return CHSM_OK;
    flush(ins);
    int rc = ins->rc;
    /* Back to the usual size: SQLite frees the pages past it once they are clean. */
    cache_size(ins->s, 1, ins->old_cache ? ins->old_cache : -2000);
    store_unlock_(ins->s);
    chsm_crypto_key_wipe(ins, sizeof *ins);
    free(ins);
    return rc;
}

int chsm_hsm_repo_key_get(chsm_store *s, const char *resource_id, int64_t handle, chsm_hsm_key *out)
{
    static const char sql[] = "SELECT handle, key_id, class, meta, sealed_material FROM hsm_keys"
                              " WHERE cluster_key=? AND handle=?";
    memset(out, 0, sizeof *out);
    store_lock_(s);
    sqlite3_stmt *st = store_prepare_(s, sql);
    int rc = CHSM_EIO;
    if (st) {
        store_bind_lower_(st, 1, resource_id);
        sqlite3_bind_int64(st, 2, handle);
        int step = sqlite3_step(st);
        if (step == SQLITE_ROW)
            rc = row_to_key(st, out, 1);
        else if (step == SQLITE_DONE)
            rc = CHSM_ENOTFOUND;
        store_done_(st);
    }
    store_unlock_(s);
    if (rc != CHSM_OK && rc != CHSM_ENOTFOUND)
        chsm_hsm_key_clear(out);
    return rc;
}

int chsm_hsm_repo_key_id_exists(chsm_store *s, const char *resource_id, const char *key_id)
{
    static const char sql[] = "SELECT 1 FROM hsm_keys WHERE cluster_key=? AND key_id=? LIMIT 1";
    store_lock_(s);
    sqlite3_stmt *st = store_prepare_(s, sql);
    int rc = CHSM_EIO;
    if (st) {
        store_bind_lower_(st, 1, resource_id);
        sqlite3_bind_text(st, 2, key_id, -1, SQLITE_TRANSIENT);
        int step = sqlite3_step(st);
        rc = step == SQLITE_ROW ? 1 : step == SQLITE_DONE ? 0 : CHSM_EIO;
        store_done_(st);
    }
    store_unlock_(s);
    return rc;
}

int chsm_hsm_repo_key_put(chsm_store *s, const char *resource_id, const chsm_hsm_key *k)
{
    static const char sql[] =
        "INSERT INTO hsm_keys(cluster_key, handle, key_id, class, owner_key, meta, sealed_material)"
        " VALUES(?,?,?,?,?,?,?) ON CONFLICT(cluster_key, handle) DO UPDATE SET"
        " key_id=excluded.key_id, class=excluded.class, owner_key=excluded.owner_key,"
        " meta=excluded.meta, sealed_material=excluded.sealed_material";
    if (!k->sealed || !k->sealed_len)
        return CHSM_EINVAL;
    char *meta = cJSON_PrintUnformatted(k->meta);
    if (!meta)
        return CHSM_ENOMEM;
    store_lock_(s);
    sqlite3_stmt *st = store_prepare_(s, sql);
    int rc = CHSM_EIO;
    if (st) {
        store_bind_lower_(st, 1, resource_id);
        sqlite3_bind_int64(st, 2, k->handle);
        sqlite3_bind_text(st, 3, k->key_id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 4, k->klass, -1, SQLITE_TRANSIENT);
        store_bind_lower_(st, 5, k->owner);
        sqlite3_bind_text(st, 6, meta, -1, SQLITE_TRANSIENT);
        sqlite3_bind_blob(st, 7, k->sealed, (int)k->sealed_len, SQLITE_TRANSIENT);
        int step = sqlite3_step(st);
        rc = step == SQLITE_DONE ? CHSM_OK : store_fail_(s, step);
        store_done_(st);
    }
    store_unlock_(s);
    free(meta);
    return rc;
}

int chsm_hsm_repo_key_put_meta(chsm_store *s, const char *resource_id, const chsm_hsm_key *k)
{
    static const char sql[] = "UPDATE hsm_keys SET key_id=?3, owner_key=?4, meta=?5"
                              " WHERE cluster_key=?1 AND handle=?2";
    char *meta = cJSON_PrintUnformatted(k->meta);
    if (!meta)
        return CHSM_ENOMEM;
    store_lock_(s);
    sqlite3_stmt *st = store_prepare_(s, sql);
    int rc = CHSM_EIO;
    if (st) {
        store_bind_lower_(st, 1, resource_id);
        sqlite3_bind_int64(st, 2, k->handle);
        sqlite3_bind_text(st, 3, k->key_id, -1, SQLITE_TRANSIENT);
        store_bind_lower_(st, 4, k->owner);
        sqlite3_bind_text(st, 5, meta, -1, SQLITE_TRANSIENT);
        int step = sqlite3_step(st);
        if (step == SQLITE_DONE)
            rc = sqlite3_changes(store_db_(s)) > 0 ? CHSM_OK : CHSM_ENOTFOUND;
        else
            rc = store_fail_(s, step);
        store_done_(st);
    }
    store_unlock_(s);
    free(meta);
    return rc;
}

int chsm_hsm_repo_key_delete(chsm_store *s, const char *resource_id, int64_t handle)
{
    static const char sql[] = "DELETE FROM hsm_keys WHERE cluster_key=? AND handle=?";
    store_lock_(s);
    sqlite3_stmt *st = store_prepare_(s, sql);
    int rc = CHSM_EIO;
    if (st) {
        store_bind_lower_(st, 1, resource_id);
        sqlite3_bind_int64(st, 2, handle);
        int step = sqlite3_step(st);
        if (step == SQLITE_DONE)
            rc = sqlite3_changes(store_db_(s)) > 0 ? CHSM_OK : CHSM_ENOTFOUND;
        else
            rc = store_fail_(s, step);
        store_done_(st);
    }
    store_unlock_(s);
    return rc;
}

int chsm_hsm_repo_keys_count(chsm_store *s, const char *resource_id)
{
    static const char sql[] = "SELECT count(*) FROM hsm_keys WHERE cluster_key=?";
    store_lock_(s);
    sqlite3_stmt *st = store_prepare_(s, sql);
    int rc = CHSM_EIO;
    if (st) {
        store_bind_lower_(st, 1, resource_id);
        if (sqlite3_step(st) == SQLITE_ROW)
            rc = sqlite3_column_int(st, 0);
        store_done_(st);
    }
    store_unlock_(s);
    return rc;
}

int chsm_hsm_repo_keys_owned_by(chsm_store *s, const char *resource_id, const char *username)
{
    static const char sql[] = "SELECT count(*) FROM hsm_keys WHERE cluster_key=? AND owner_key=?";
    store_lock_(s);
    sqlite3_stmt *st = store_prepare_(s, sql);
    int rc = CHSM_EIO;
    if (st) {
        store_bind_lower_(st, 1, resource_id);
        store_bind_lower_(st, 2, username);
        if (sqlite3_step(st) == SQLITE_ROW)
            rc = sqlite3_column_int(st, 0);
        store_done_(st);
    }
    store_unlock_(s);
    return rc;
}

/* ---- sessions ---- */

int chsm_hsm_repo_session_insert(chsm_store *s, const chsm_hsm_session *ss)
{
    static const char sql[] =
        "INSERT INTO hsm_sessions(token_hash, cluster_key, name_key, username, user_type,"
        " created_ms, last_used_ms) VALUES(?,?,?,?,?,?,?)";
    store_lock_(s);
    sqlite3_stmt *st = store_prepare_(s, sql);
    int rc = CHSM_EIO;
    if (st) {
        sqlite3_bind_text(st, 1, ss->token_hash, -1, SQLITE_TRANSIENT);
        store_bind_lower_(st, 2, ss->cluster_key);
        store_bind_lower_(st, 3, ss->username);
        sqlite3_bind_text(st, 4, ss->username, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 5, ss->user_type, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 6, ss->created_ms);
        sqlite3_bind_int64(st, 7, ss->last_used_ms);
        int step = sqlite3_step(st);
        rc = step == SQLITE_DONE ? CHSM_OK : store_fail_(s, step);
        store_done_(st);
    }
    store_unlock_(s);
    return rc;
}

int chsm_hsm_repo_session_get(chsm_store *s, const char *token_hash, chsm_hsm_session *out)
{
    static const char sql[] = "SELECT token_hash, cluster_key, username, user_type, created_ms,"
                              " last_used_ms FROM hsm_sessions WHERE token_hash=?";
    memset(out, 0, sizeof *out);
    store_lock_(s);
    sqlite3_stmt *st = store_prepare_(s, sql);
    int rc = CHSM_EIO;
    if (st) {
        sqlite3_bind_text(st, 1, token_hash, -1, SQLITE_TRANSIENT);
        int step = sqlite3_step(st);
        if (step == SQLITE_ROW) {
            copy_col(st, 0, out->token_hash, sizeof out->token_hash);
            copy_col(st, 1, out->cluster_key, sizeof out->cluster_key);
            copy_col(st, 2, out->username, sizeof out->username);
            copy_col(st, 3, out->user_type, sizeof out->user_type);
            out->created_ms = sqlite3_column_int64(st, 4);
            out->last_used_ms = sqlite3_column_int64(st, 5);
            rc = CHSM_OK;
        } else if (step == SQLITE_DONE) {
            rc = CHSM_ENOTFOUND;
        }
        store_done_(st);
    }
    store_unlock_(s);
    return rc;
}

int chsm_hsm_repo_session_touch(chsm_store *s, const char *token_hash, int64_t now_ms,
                                const char *user_type)
{
    static const char sql[] =
        "UPDATE hsm_sessions SET last_used_ms=?2, user_type=?3 WHERE token_hash=?1";
    store_lock_(s);
    sqlite3_stmt *st = store_prepare_(s, sql);
    int rc = CHSM_EIO;
    if (st) {
        sqlite3_bind_text(st, 1, token_hash, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 2, now_ms);
        sqlite3_bind_text(st, 3, user_type, -1, SQLITE_TRANSIENT);
        int step = sqlite3_step(st);
        rc = step == SQLITE_DONE ? CHSM_OK : store_fail_(s, step);
        store_done_(st);
    }
    store_unlock_(s);
    return rc;
}

int chsm_hsm_repo_session_delete(chsm_store *s, const char *token_hash)
{
    static const char sql[] = "DELETE FROM hsm_sessions WHERE token_hash=?";
    return exec_text(s, sql, 0, 0, token_hash, NULL);
}

int chsm_hsm_repo_sessions_delete_all(chsm_store *s, const char *resource_id)
{
    static const char sql[] = "DELETE FROM hsm_sessions WHERE cluster_key=?";
    return exec_text(s, sql, 0, 1, resource_id, NULL);
}

void chsm_hsm_key_clear(chsm_hsm_key *k)
{
    cJSON_Delete(k->meta);
    free(k->sealed);
    memset(k, 0, sizeof *k);
}

void chsm_hsm_keys_free(chsm_hsm_key *arr, size_t n)
{
    for (size_t i = 0; i < n; i++)
        chsm_hsm_key_clear(&arr[i]);
    free(arr);
}

/* repo.c - the Blob store's tables in SQLite (the only SQL of blob/). */
#include "blob/repo.h"

#include "store/store_internal.h"
#include "util/status.h"
#include "util/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const blob_steps[] = {
    /* 1: accounts, containers, committed blobs, uncommitted blocks */
    "CREATE TABLE blob_accounts ("
    "  name TEXT PRIMARY KEY,"
    "  resource_id TEXT NOT NULL,"
    "  key1 TEXT NOT NULL,"
    "  key2 TEXT NOT NULL,"
    "  key1_ms INTEGER NOT NULL,"
    "  key2_ms INTEGER NOT NULL,"
    "  allow_shared_key INTEGER NOT NULL DEFAULT 1,"
    "  allow_public INTEGER NOT NULL DEFAULT 0,"
    "  created_ms INTEGER NOT NULL);"
    "CREATE TABLE blob_containers ("
    "  account TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  etag TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  modified_ms INTEGER NOT NULL,"
    "  public_access TEXT NOT NULL DEFAULT '',"
    "  metadata TEXT NOT NULL DEFAULT '{}',"
    "  PRIMARY KEY (account, name));"
    "CREATE TABLE blob_blobs ("
    "  account TEXT NOT NULL,"
    "  container TEXT NOT NULL,"
    "  name TEXT NOT NULL," /* case-sensitive, byte order */
    "  content_id TEXT NOT NULL,"
    "  size INTEGER NOT NULL,"
    "  content_type TEXT,"
    "  content_encoding TEXT,"
    "  content_language TEXT,"
    "  content_disposition TEXT,"
    "  cache_control TEXT,"
    "  content_md5 TEXT,"
    "  metadata TEXT NOT NULL DEFAULT '{}',"
    "  blocks TEXT NOT NULL DEFAULT '[]',"
    "  etag TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  modified_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (account, container, name));"
    "CREATE INDEX blob_blobs_by_content ON blob_blobs(content_id);"
    "CREATE TABLE blob_blocks ("
    "  account TEXT NOT NULL,"
    "  container TEXT NOT NULL,"
    "  blob TEXT NOT NULL,"
    "  block_id TEXT NOT NULL,"
    "  size INTEGER NOT NULL,"
    "  content_id TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  seq INTEGER NOT NULL,"
    "  PRIMARY KEY (account, container, blob, block_id));"
    "CREATE INDEX blob_blocks_by_content ON blob_blocks(content_id);",
    /* 2: small blobs keep their content in the row (NULL: the file content_id);
     * only file ids need the index (collection of unreferenced files) */
    "ALTER TABLE blob_blobs ADD COLUMN data BLOB;"
    "DROP INDEX blob_blobs_by_content;"
    "CREATE INDEX blob_blobs_by_content ON blob_blobs(content_id) WHERE data IS NULL;",
};

/* The blob module's schema, listed in store/schema.c. */
const store_schema_ chsm_blob_schema_ = {"blob", blob_steps,
                                         (int)(sizeof blob_steps / sizeof blob_steps[0])};

static void copy_col(sqlite3_stmt *st, int col, char *out, size_t outlen)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    size_t n = t ? (size_t)sqlite3_column_bytes(st, col) : 0;
    if (n >= outlen)
        n = outlen - 1; /* cut short, as snprintf would */
    if (n)
        memcpy(out, t, n);
    out[n] = '\0';
}

static void bind_text(sqlite3_stmt *st, int idx, const char *v)
{
    if (v)
        sqlite3_bind_text(st, idx, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, idx);
}

/* step_done runs a write statement; CHSM_ENOTFOUND when want_change and nothing changed. */
static int step_done(chsm_store *s, sqlite3_stmt *st, int want_change)
{
    int step = sqlite3_step(st);
    int rc;
    if (step == SQLITE_DONE)
        rc = (want_change && sqlite3_changes(store_db_(s)) == 0) ? CHSM_ENOTFOUND : CHSM_OK;
    else if (step == SQLITE_CONSTRAINT)
        rc = CHSM_EEXISTS;
    else
        rc = store_fail_(s, step);
    store_done_(st);
    return rc;
}

int chsm_blob_repo_ids_add(char ***ids, size_t *n, const char *id)
{
    char **p = realloc(*ids, (*n + 1) * sizeof *p);
    if (!p)
        return CHSM_ENOMEM;
    *ids = p;
    p[*n] = chsm_strdup(id);
    if (!p[*n])
        return CHSM_ENOMEM;
    (*n)++;
    return CHSM_OK;
}

void chsm_blob_repo_ids_free(char **ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
}

/* collect_ids appends column 0 of every row of st (already bound) to *ids. */
static int collect_ids(chsm_store *s, sqlite3_stmt *st, char ***ids, size_t *nids)
{
    int rc = CHSM_OK, step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(st, 0);
        if (t && rc == CHSM_OK)
            rc = chsm_blob_repo_ids_add(ids, nids, (const char *)t);
    }
    if (step != SQLITE_DONE)
        rc = store_fail_(s, step);
    store_done_(st);
    return rc;
}

/* ---- accounts ---- */

int chsm_blob_repo_account_get(chsm_store *s, const char *name, chsm_blob_account *out)
{
    memset(out, 0, sizeof *out);
    store_lock_(s);
    sqlite3_stmt *st = store_prepare_(
        s, "SELECT name, resource_id, key1, key2, key1_ms, key2_ms, allow_shared_key, "
           "allow_public, created_ms FROM blob_accounts WHERE name = ?");
    int rc = CHSM_EIO;
    if (st) {
        store_bind_lower_(st, 1, name);
        int step = sqlite3_step(st);
        if (step == SQLITE_ROW) {
            copy_col(st, 0, out->name, sizeof out->name);
            copy_col(st, 1, out->resource_id, sizeof out->resource_id);
            copy_col(st, 2, out->key1, sizeof out->key1);
            copy_col(st, 3, out->key2, sizeof out->key2);
            out->key1_ms = sqlite3_column_int64(st, 4);
            out->key2_ms = sqlite3_column_int64(st, 5);
            out->allow_shared_key = sqlite3_column_int(st, 6);
            out->allow_public = sqlite3_column_int(st, 7);
            out->created_ms = sqlite3_column_int64(st, 8);
            rc = CHSM_OK;
        } else if (step == SQLITE_DONE) {
            rc = CHSM_ENOTFOUND;
        } else {
            rc = store_fail_(s, step);
        }
        store_done_(st);
    }
    store_unlock_(s);
    return rc;
}

int chsm_blob_repo_account_put(chsm_store *s, const chsm_blob_account *a)
{
    store_lock_(s);
    sqlite3_stmt *st = store_prepare_(
        s, "INSERT OR REPLACE INTO blob_accounts (name, resource_id, key1, key2, key1_ms, "
           "key2_ms, allow_shared_key, allow_public, created_ms) VALUES (?,?,?,?,?,?,?,?,?)");
    int rc = CHSM_EIO;
    if (st) {
        store_bind_lower_(st, 1, a->name);
        bind_text(st, 2, a->resource_id);
        bind_text(st, 3, a->key1);
        bind_text(st, 4, a->key2);
        sqlite3_bind_int64(st, 5, a->key1_ms);
        sqlite3_bind_int64(st, 6, a->key2_ms);
        sqlite3_bind_int(st, 7, a->allow_shared_key ? 1 : 0);
        sqlite3_bind_int(st, 8, a->allow_public ? 1 : 0);
        sqlite3_bind_int64(st, 9, a->created_ms);
        rc = step_done(s, st, 0);
    }
    store_unlock_(s);
    return rc;
}

/* delete_where runs a DELETE bound to (account[, container[, blob]]). */
static int delete_where(chsm_store *s, const char *sql, const char *a, const char *c, const char *b)
{
    sqlite3_stmt *st = store_prepare_(s, sql);
    if (!st)
        return CHSM_EIO;
    store_bind_lower_(st, 1, a);
    if (c)
        store_bind_lower_(st, 2, c);
    if (b)
        bind_text(st, 3, b);
    return step_done(s, st, 0);
}

static int ids_where(chsm_store *s, const char *sql, const char *a, const char *c, const char *b,
                     char ***ids, size_t *nids)
{
    sqlite3_stmt *st = store_prepare_(s, sql);
    if (!st)
        return CHSM_EIO;
    store_bind_lower_(st, 1, a);
    if (c)
        store_bind_lower_(st, 2, c);
    if (b)
        bind_text(st, 3, b);
    return collect_ids(s, st, ids, nids);
}

int chsm_blob_repo_account_delete(chsm_store *s, const char *name, char ***ids, size_t *nids)
{
    int rc = chsm_store_begin(s);
    if (rc != CHSM_OK)
        return rc;
    rc = ids_where(s, "SELECT content_id FROM blob_blobs WHERE account = ? AND data IS NULL", name,
                   NULL, NULL, ids, nids);
    if (rc == CHSM_OK)
        rc = ids_where(s, "SELECT content_id FROM blob_blocks WHERE account = ?", name, NULL, NULL,
                       ids, nids);
    if (rc == CHSM_OK)
        rc = delete_where(s, "DELETE FROM blob_blocks WHERE account = ?", name, NULL, NULL);
    if (rc == CHSM_OK)
        rc = delete_where(s, "DELETE FROM blob_blobs WHERE account = ?", name, NULL, NULL);
    if (rc == CHSM_OK)
        rc = delete_where(s, "DELETE FROM blob_containers WHERE account = ?", name, NULL, NULL);
    if (rc == CHSM_OK)
        rc = delete_where(s, "DELETE FROM blob_accounts WHERE name = ?", name, NULL, NULL);
    if (rc == CHSM_OK)
        return chsm_store_commit(s);
    chsm_store_rollback(s);
    return rc;
}

int chsm_blob_repo_accounts_under(chsm_store *s, const char *prefix, char ***names, size_t *n)
{
    store_lock_(s);
    sqlite3_stmt *st = store_prepare_(s, "SELECT name FROM blob_accounts WHERE "
                                         "substr(lower(resource_id), 1, length(?1) + 1) = "
                                         "lower(?1) || '/' ORDER BY name");
    int rc = CHSM_EIO;
    if (st) {
        bind_text(st, 1, prefix);
        rc = collect_ids(s, st, names, n);
    }
    store_unlock_(s);
    return rc;
}

/* ---- containers ---- */

#define CONTAINER_COLUMNS "account, name, etag, created_ms, modified_ms, public_access, metadata"

static int row_to_container(sqlite3_stmt *st, chsm_blob_container *c)
{
    memset(c, 0, sizeof *c);
    copy_col(st, 0, c->account, sizeof c->account);
    copy_col(st, 1, c->name, sizeof c->name);
    copy_col(st, 2, c->etag, sizeof c->etag);
    c->created_ms = sqlite3_column_int64(st, 3);
    c->modified_ms = sqlite3_column_int64(st, 4);
    copy_col(st, 5, c->public_access, sizeof c->public_access);
    c->metadata = store_text_dup_(st, 6);
    return c->metadata ? CHSM_OK : CHSM_ENOMEM;
}

int chsm_blob_repo_container_get(chsm_store *s, const char *account, const char *name,
                                 chsm_blob_container *out)
{
    memset(out, 0, sizeof *out);
    store_lock_(s);
    sqlite3_stmt *st = store_prepare_(s, "SELECT " CONTAINER_COLUMNS
                                         " FROM blob_containers WHERE account = ? AND name = ?");
    int rc = CHSM_EIO;
    if (st) {
        store_bind_lower_(st, 1, account);
        store_bind_lower_(st, 2, name);
        int step = sqlite3_step(st);
        if (step == SQLITE_ROW)
            rc = row_to_container(st, out);
        else if (step == SQLITE_DONE)
            rc = CHSM_ENOTFOUND;
        else
            rc = store_fail_(s, step);
        store_done_(st);
    }
    store_unlock_(s);
    return rc;
}

int chsm_blob_repo_container_insert(chsm_store *s, const chsm_blob_container *c)
{
    store_lock_(s);
    sqlite3_stmt *st = store_prepare_(s, "INSERT INTO blob_containers (" CONTAINER_COLUMNS
                                         ") VALUES (?,?,?,?,?,?,?)");
    int rc = CHSM_EIO;
    if (st) {
        store_bind_lower_(st, 1, c->account);
        store_bind_lower_(st, 2, c->name);
        bind_text(st, 3, c->etag);
        sqlite3_bind_int64(st, 4, c->created_ms);
        sqlite3_bind_int64(st, 5, c->modified_ms);
        bind_text(st, 6, c->public_access);
        bind_text(st, 7, c->metadata ? c->metadata : "{}");
        rc = step_done(s, st, 0);
    }
    store_unlock_(s);
    return rc;
}

int chsm_blob_repo_container_update(chsm_store *s, const chsm_blob_container *c)
{
    store_lock_(s);
    sqlite3_stmt *st = store_prepare_(s, "UPDATE blob_containers SET etag = ?, modified_ms = ?, "
                                         "public_access = ?, metadata = ? "
                                         "WHERE account = ? AND name = ?");
    int rc = CHSM_EIO;
    if (st) {
        bind_text(st, 1, c->etag);
        sqlite3_bind_int64(st, 2, c->modified_ms);
        bind_text(st, 3, c->public_access);
        bind_text(st, 4, c->metadata ? c->metadata : "{}");
        store_bind_lower_(st, 5, c->account);
        store_bind_lower_(st, 6, c->name);
        rc = step_done(s, st, 1);
    }
    store_unlock_(s);
    return rc;
}

int chsm_blob_repo_container_delete(chsm_store *s, const char *account, const char *name,
                                    char ***ids, size_t *nids)
{
    int rc = chsm_store_begin(s);
    if (rc != CHSM_OK)
        return rc;
    rc = delete_where(s, "DELETE FROM blob_containers WHERE account = ? AND name = ?", account,
                      name, NULL);
    if (rc == CHSM_OK && sqlite3_changes(store_db_(s)) == 0)
        rc = CHSM_ENOTFOUND;
    if (rc == CHSM_OK)
        rc = ids_where(s,
                       "SELECT content_id FROM blob_blobs WHERE account = ? AND container = ? "
                       "AND data IS NULL",
                       account, name, NULL, ids, nids);
    if (rc == CHSM_OK)
        rc = ids_where(s, "SELECT content_id FROM blob_blocks WHERE account = ? AND container = ?",
                       account, name, NULL, ids, nids);
    if (rc == CHSM_OK)
        rc = delete_where(s, "DELETE FROM blob_blocks WHERE account = ? AND container = ?", account,
                          name, NULL);
    if (rc == CHSM_OK)
        rc = delete_where(s, "DELETE FROM blob_blobs WHERE account = ? AND container = ?", account,
                          name, NULL);
    if (rc == CHSM_OK)
        return chsm_store_commit(s);
    chsm_store_rollback(s);
    return rc;
}

int chsm_blob_repo_container_list(chsm_store *s, const char *account, const char *prefix,
                                  const char *from, size_t limit, chsm_blob_container **out,
                                  size_t *n)
{
    *out = NULL;
    *n = 0;
    store_lock_(s);
    sqlite3_stmt *st = store_prepare_(
        s, "SELECT " CONTAINER_COLUMNS " FROM blob_containers WHERE account = ?1 AND name >= ?2 "
           "AND substr(name, 1, length(?3)) = ?3 ORDER BY name LIMIT ?4");
    int rc = CHSM_EIO;
    if (st) {
        store_bind_lower_(st, 1, account);
        bind_text(st, 2, from ? from : "");
        bind_text(st, 3, prefix ? prefix : "");
        sqlite3_bind_int64(st, 4, limit ? (sqlite3_int64)limit : -1);
        rc = CHSM_OK;
        int step;
        while ((step = sqlite3_step(st)) == SQLITE_ROW && rc == CHSM_OK) {
            chsm_blob_container *p = realloc(*out, (*n + 1) * sizeof *p);
            if (!p) {
                rc = CHSM_ENOMEM;
                break;
            }
            *out = p;
            rc = row_to_container(st, &p[*n]);
            (*n)++;
        }
        if (rc == CHSM_OK && step != SQLITE_DONE)
            rc = store_fail_(s, step);
        store_done_(st);
    }
    store_unlock_(s);
    if (rc != CHSM_OK) {
        chsm_blob_containers_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

void chsm_blob_container_clear(chsm_blob_container *c)
{
    if (!c)
        return;
    free(c->metadata);
    memset(c, 0, sizeof *c);
}

void chsm_blob_containers_free(chsm_blob_container *arr, size_t n)
{
    for (size_t i = 0; i < n; i++)
        chsm_blob_container_clear(&arr[i]);
    free(arr);
}

/* ---- blobs ---- */

#define BLOB_COLUMNS                                                                               \
    "name, content_id, size, content_type, content_encoding, content_language, "                   \
    "content_disposition, cache_control, content_md5, metadata, blocks, etag, created_ms, "        \
    "modified_ms"
/* What a read selects: the columns, then whether the content is inline. */
#define BLOB_READ_COLUMNS BLOB_COLUMNS ", data IS NOT NULL"

static int row_to_blob(sqlite3_stmt *st, chsm_blob_row *b)
{
    memset(b, 0, sizeof *b);
    b->name = store_text_dup_(st, 0);
    copy_col(st, 1, b->content_id, sizeof b->content_id);
    b->size = (uint64_t)sqlite3_column_int64(st, 2);
    b->content_type = store_text_dup_(st, 3);
    b->content_encoding = store_text_dup_(st, 4);
    b->content_language = store_text_dup_(st, 5);
    b->content_disposition = store_text_dup_(st, 6);
    b->cache_control = store_text_dup_(st, 7);
    b->content_md5 = store_text_dup_(st, 8);
    b->metadata = store_text_dup_(st, 9);
    b->blocks = store_text_dup_(st, 10);
    copy_col(st, 11, b->etag, sizeof b->etag);
    b->created_ms = sqlite3_column_int64(st, 12);
    b->modified_ms = sqlite3_column_int64(st, 13);
    b->inline_content = sqlite3_column_int(st, 14) != 0;
    return b->name && b->metadata && b->blocks ? CHSM_OK : CHSM_ENOMEM;
}

/* row_data copies the inline content of column col into b (it must hold b->size bytes). */
static int row_data(sqlite3_stmt *st, int col, chsm_blob_row *b)
{
    if (!b->inline_content)
        return CHSM_OK;
    const void *p = sqlite3_column_blob(st, col);
    size_t n = (size_t)sqlite3_column_bytes(st, col);
    if (n != b->size)
        return CHSM_EIO; /* the row disagrees with itself */
    if (n && !p)
        return CHSM_ENOMEM; /* SQLite could not allocate the value */
    if (n == 0)
        return CHSM_OK;
    b->data = malloc(n);
    if (!b->data)
        return CHSM_ENOMEM;
    memcpy(b->data, p, n);
    return CHSM_OK;
}

/* blob_get loads a blob, with its inline content when with_data. */
static int blob_get(chsm_store *s, const char *account, const char *container, const char *name,
                    int with_data, chsm_blob_row *out)
{
    memset(out, 0, sizeof *out);
    store_lock_(s);
    sqlite3_stmt *st =
        with_data ? store_prepare_(s, "SELECT " BLOB_READ_COLUMNS ", data FROM blob_blobs WHERE "
                                      "account = ? AND container = ? AND name = ?")
                  : store_prepare_(s, "SELECT " BLOB_READ_COLUMNS " FROM blob_blobs WHERE "
                                      "account = ? AND container = ? AND name = ?");
    int rc = CHSM_EIO;
    if (st) {
        store_bind_lower_(st, 1, account);
        store_bind_lower_(st, 2, container);
        bind_text(st, 3, name);
        int step = sqlite3_step(st);
        if (step == SQLITE_ROW) {
            rc = row_to_blob(st, out);
            if (rc == CHSM_OK && with_data)
                rc = row_data(st, 15, out);
        } else if (step == SQLITE_DONE)
            rc = CHSM_ENOTFOUND;
        else
            rc = store_fail_(s, step);
        store_done_(st);
    }
    store_unlock_(s);
    if (rc != CHSM_OK)
        chsm_blob_row_clear(out);
    return rc;
}

int chsm_blob_repo_blob_get(chsm_store *s, const char *account, const char *container,
                            const char *name, chsm_blob_row *out)
{
    return blob_get(s, account, container, name, 1, out);
}

int chsm_blob_repo_blob_props(chsm_store *s, const char *account, const char *container,
                              const char *name, chsm_blob_row *out)
{
    return blob_get(s, account, container, name, 0, out);
}

int chsm_blob_repo_blob_put(chsm_store *s, const char *account, const char *container,
                            const chsm_blob_row *b)
{
    store_lock_(s);
    sqlite3_stmt *st =
        /* An upsert, not INSERT OR REPLACE: the row keeps its rowid, so an
         * overwrite rewrites one table page instead of deleting from one and
         * appending to another, and leaves the primary key index alone. */
        store_prepare_(s, "INSERT INTO blob_blobs (account, container, " BLOB_COLUMNS
                          ", data) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
                          "ON CONFLICT (account, container, name) DO UPDATE SET "
                          "content_id = excluded.content_id, size = excluded.size, "
                          "content_type = excluded.content_type, "
                          "content_encoding = excluded.content_encoding, "
                          "content_language = excluded.content_language, "
                          "content_disposition = excluded.content_disposition, "
                          "cache_control = excluded.cache_control, "
                          "content_md5 = excluded.content_md5, metadata = excluded.metadata, "
                          "blocks = excluded.blocks, etag = excluded.etag, "
                          "created_ms = excluded.created_ms, modified_ms = excluded.modified_ms, "
                          "data = excluded.data");
    int rc = CHSM_EIO;
    if (st) {
        store_bind_lower_(st, 1, account);
        store_bind_lower_(st, 2, container);
        bind_text(st, 3, b->name);
        bind_text(st, 4, b->content_id);
        sqlite3_bind_int64(st, 5, (sqlite3_int64)b->size);
        bind_text(st, 6, b->content_type);
        bind_text(st, 7, b->content_encoding);
        bind_text(st, 8, b->content_language);
        bind_text(st, 9, b->content_disposition);
        bind_text(st, 10, b->cache_control);
        bind_text(st, 11, b->content_md5);
        bind_text(st, 12, b->metadata ? b->metadata : "{}");
        bind_text(st, 13, b->blocks ? b->blocks : "[]");
        bind_text(st, 14, b->etag);
        sqlite3_bind_int64(st, 15, b->created_ms);
        sqlite3_bind_int64(st, 16, b->modified_ms);
        if (b->inline_content) /* a zero-length blob, not NULL, for an empty blob */
            sqlite3_bind_blob64(st, 17, b->data ? (const void *)b->data : (const void *)"",
                                b->data ? (sqlite3_uint64)b->size : 0, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, 17);
        rc = step_done(s, st, 0);
    }
    store_unlock_(s);
    return rc;
}

int chsm_blob_repo_blob_delete(chsm_store *s, const char *account, const char *container,
                               const char *name)
{
    store_lock_(s);
    sqlite3_stmt *st = store_prepare_(
        s, "DELETE FROM blob_blobs WHERE account = ? AND container = ? AND name = ?");
    int rc = CHSM_EIO;
    if (st) {
        store_bind_lower_(st, 1, account);
        store_bind_lower_(st, 2, container);
        bind_text(st, 3, name);
        rc = step_done(s, st, 1);
    }
    store_unlock_(s);
    return rc;
}

int chsm_blob_repo_blob_list(chsm_store *s, const char *account, const char *container,
                             const char *from, int after, size_t limit, chsm_blob_row **out,
                             size_t *n)
{
    *out = NULL;
    *n = 0;
    store_lock_(s);
    sqlite3_stmt *st =
        store_prepare_(s, after ? "SELECT " BLOB_READ_COLUMNS " FROM blob_blobs WHERE account = ? "
                                  "AND container = ? AND name > ? ORDER BY name LIMIT ?"
                                : "SELECT " BLOB_READ_COLUMNS " FROM blob_blobs WHERE account = ? "
                                  "AND container = ? AND name >= ? ORDER BY name LIMIT ?");
    int rc = CHSM_EIO;
    if (st) {
        store_bind_lower_(st, 1, account);
        store_bind_lower_(st, 2, container);
        bind_text(st, 3, from ? from : "");
        sqlite3_bind_int64(st, 4, limit ? (sqlite3_int64)limit : -1);
        rc = CHSM_OK;
        int step;
        while ((step = sqlite3_step(st)) == SQLITE_ROW && rc == CHSM_OK) {
            chsm_blob_row *p = realloc(*out, (*n + 1) * sizeof *p);
            if (!p) {
                rc = CHSM_ENOMEM;
                break;
            }
            *out = p;
            rc = row_to_blob(st, &p[*n]);
            (*n)++;
        }
        if (rc == CHSM_OK && step != SQLITE_DONE)
            rc = store_fail_(s, step);
        store_done_(st);
    }
    store_unlock_(s);
    if (rc != CHSM_OK) {
        chsm_blob_rows_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

void chsm_blob_row_clear(chsm_blob_row *b)
{
    if (!b)
        return;
    free(b->name);
    free(b->content_type);
    free(b->content_encoding);
    free(b->content_language);
    free(b->content_disposition);
    free(b->cache_control);
    free(b->content_md5);
    free(b->metadata);
    free(b->blocks);
    free(b->data);
    memset(b, 0, sizeof *b);
}

void chsm_blob_rows_free(chsm_blob_row *arr, size_t n)
{
    for (size_t i = 0; i < n; i++)
        chsm_blob_row_clear(&arr[i]);
    free(arr);
}

/* ---- uncommitted blocks ---- */

int chsm_blob_repo_block_put(chsm_store *s, const char *account, const char *container,
                             const char *blob, const chsm_blob_block *b, char replaced[33])
{
    replaced[0] = '\0';
    int rc = chsm_store_begin(s);
    if (rc != CHSM_OK)
        return rc;
    sqlite3_stmt *st = store_prepare_(s, "SELECT content_id FROM blob_blocks WHERE account = ? "
                                         "AND container = ? AND blob = ? AND block_id = ?");
    rc = CHSM_EIO;
    if (st) {
        store_bind_lower_(st, 1, account);
        store_bind_lower_(st, 2, container);
        bind_text(st, 3, blob);
        bind_text(st, 4, b->block_id);
        int step = sqlite3_step(st);
        if (step == SQLITE_ROW) {
            copy_col(st, 0, replaced, 33);
            rc = CHSM_OK;
        } else if (step == SQLITE_DONE) {
            rc = CHSM_OK;
        } else {
            rc = store_fail_(s, step);
        }
        store_done_(st);
    }
    /* seq keeps upload order; a re-uploaded block moves to the end, as the
     * latest version of that id. */
    st =
        rc == CHSM_OK
            ? store_prepare_(s, "INSERT OR REPLACE INTO blob_blocks (account, container, blob, "
                                "block_id, size, content_id, created_ms, seq) VALUES "
                                "(?1,?2,?3,?4,?5,?6,?7,(SELECT coalesce(max(seq),0)+1 FROM "
                                "blob_blocks WHERE account = ?1 AND container = ?2 AND blob = ?3))")
            : NULL;
    if (st) {
        store_bind_lower_(st, 1, account);
        store_bind_lower_(st, 2, container);
        bind_text(st, 3, blob);
        bind_text(st, 4, b->block_id);
        sqlite3_bind_int64(st, 5, (sqlite3_int64)b->size);
        bind_text(st, 6, b->content_id);
        sqlite3_bind_int64(st, 7, b->created_ms);
        rc = step_done(s, st, 0);
    } else if (rc == CHSM_OK) {
        rc = CHSM_EIO;
    }
    if (rc == CHSM_OK)
        return chsm_store_commit(s);
    chsm_store_rollback(s);
    return rc;
}

int chsm_blob_repo_block_list(chsm_store *s, const char *account, const char *container,
                              const char *blob, chsm_blob_block **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    store_lock_(s);
    sqlite3_stmt *st =
        store_prepare_(s, "SELECT block_id, size, content_id, created_ms FROM blob_blocks WHERE "
                          "account = ? AND container = ? AND blob = ? ORDER BY seq");
    int rc = CHSM_EIO;
    if (st) {
        store_bind_lower_(st, 1, account);
        store_bind_lower_(st, 2, container);
        bind_text(st, 3, blob);
        rc = CHSM_OK;
        int step;
        while ((step = sqlite3_step(st)) == SQLITE_ROW && rc == CHSM_OK) {
            chsm_blob_block *p = realloc(*out, (*n + 1) * sizeof *p);
            if (!p) {
                rc = CHSM_ENOMEM;
                break;
            }
            *out = p;
            memset(&p[*n], 0, sizeof p[*n]);
            p[*n].block_id = store_text_dup_(st, 0);
            p[*n].size = (uint64_t)sqlite3_column_int64(st, 1);
            copy_col(st, 2, p[*n].content_id, sizeof p[*n].content_id);
            p[*n].created_ms = sqlite3_column_int64(st, 3);
            if (!p[*n].block_id)
                rc = CHSM_ENOMEM;
            (*n)++;
        }
        if (rc == CHSM_OK && step != SQLITE_DONE)
            rc = store_fail_(s, step);
        store_done_(st);
    }
    store_unlock_(s);
    if (rc != CHSM_OK) {
        chsm_blob_blocks_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

int chsm_blob_repo_block_count(chsm_store *s, const char *account, const char *container,
                               const char *blob, size_t *n)
{
    *n = 0;
    store_lock_(s);
    sqlite3_stmt *st = store_prepare_(s, "SELECT count(*) FROM blob_blocks WHERE account = ? AND "
                                         "container = ? AND blob = ?");
    int rc = CHSM_EIO;
    if (st) {
        store_bind_lower_(st, 1, account);
        store_bind_lower_(st, 2, container);
        bind_text(st, 3, blob);
        int step = sqlite3_step(st);
        if (step == SQLITE_ROW) {
            *n = (size_t)sqlite3_column_int64(st, 0);
            rc = CHSM_OK;
        } else {
            rc = store_fail_(s, step);
        }
        store_done_(st);
    }
    store_unlock_(s);
    return rc;
}

int chsm_blob_repo_block_delete_all(chsm_store *s, const char *account, const char *container,
                                    const char *blob, char ***ids, size_t *nids)
{
    int rc = chsm_store_begin(s);
    if (rc != CHSM_OK)
        return rc;
    rc = ids_where(s,
                   "SELECT content_id FROM blob_blocks WHERE account = ? AND container = ? "
                   "AND blob = ?",
                   account, container, blob, ids, nids);
    if (rc == CHSM_OK)
        rc = delete_where(s,
                          "DELETE FROM blob_blocks WHERE account = ? AND container = ? AND "
                          "blob = ?",
                          account, container, blob);
    if (rc == CHSM_OK)
        return chsm_store_commit(s);
    chsm_store_rollback(s);
    return rc;
}

void chsm_blob_blocks_free(chsm_blob_block *arr, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(arr[i].block_id);
    free(arr);
}

int chsm_blob_repo_content_referenced(chsm_store *s, const char *id)
{
    store_lock_(s);
    /* Only file ids are asked about; inline content has no file. */
    sqlite3_stmt *st = store_prepare_(s, "SELECT EXISTS(SELECT 1 FROM blob_blobs WHERE "
                                         "content_id = ?1 AND data IS NULL) OR EXISTS(SELECT 1 "
                                         "FROM blob_blocks WHERE content_id = ?1)");
    int rc = CHSM_EIO;
    if (st) {
        bind_text(st, 1, id);
        int step = sqlite3_step(st);
        if (step == SQLITE_ROW)
            rc = sqlite3_column_int(st, 0) ? 1 : 0;
        else
            rc = store_fail_(s, step);
        store_done_(st);
    }
    store_unlock_(s);
    return rc;
}

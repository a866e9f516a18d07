/* admin.c - reset, export/import and snapshots of the whole database. */
#include "store/admin.h"

#include "crypto/digest.h"
#include "store/store_internal.h"
#include "util/status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ADMIN_MAX_TABLES 64

/* Tables that hold the emulator itself, not the emulated state. */
static int is_internal_table(const char *name)
{
    return strncmp(name, "sqlite_", 7) == 0 || strcmp(name, "settings") == 0 ||
           strcmp(name, "schema_modules") == 0;
}

/* list_tables fills names (caller frees each) with the state tables, sorted. */
static int list_tables(sqlite3 *db, char **names, int max, int *n)
{
    sqlite3_stmt *st;
    *n = 0;
    if (sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name",
                           -1, &st, NULL) != SQLITE_OK)
        return CHSM_EIO;
    while (sqlite3_step(st) == SQLITE_ROW && *n < max) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        if (!is_internal_table(name))
            names[(*n)++] = strdup(name);
    }
    sqlite3_finalize(st);
    return CHSM_OK;
}

static void free_names(char **names, int n)
{
    for (int i = 0; i < n; i++)
        free(names[i]);
}

static int exec_(sqlite3 *db, const char *sql)
{
    return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? CHSM_OK : CHSM_EIO;
}

/* delete_all empties the state tables; the caller holds a transaction. */
static int delete_all(sqlite3 *db)
{
    char *names[ADMIN_MAX_TABLES];
    int n;
    int rc = list_tables(db, names, ADMIN_MAX_TABLES, &n);
    for (int i = 0; rc == CHSM_OK && i < n; i++) {
        char *sql = sqlite3_mprintf("DELETE FROM \"%w\"", names[i]);
        rc = sql ? exec_(db, sql) : CHSM_ENOMEM;
        sqlite3_free(sql);
    }
    free_names(names, n);
    return rc;
}

int chsm_store_reset(chsm_store *s)
{
    if (chsm_store_begin(s) != CHSM_OK)
        return CHSM_EIO;
    int rc = delete_all(store_db_(s));
    if (rc == CHSM_OK)
        return chsm_store_commit(s);
    chsm_store_rollback(s);
    return rc;
}

static cJSON *column_value(sqlite3_stmt *st, int col)
{
    switch (sqlite3_column_type(st, col)) {
    case SQLITE_INTEGER:
        return cJSON_CreateNumber((double)sqlite3_column_int64(st, col));
    case SQLITE_FLOAT:
        return cJSON_CreateNumber(sqlite3_column_double(st, col));
    case SQLITE_TEXT:
        return cJSON_CreateString((const char *)sqlite3_column_text(st, col));
    case SQLITE_BLOB: {
        char *b64 = chsm_crypto_base64_encode(sqlite3_column_blob(st, col),
                                              (size_t)sqlite3_column_bytes(st, col));
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "base64", b64 ? b64 : "");
        free(b64);
        return o;
    }
    default:
        return cJSON_CreateNull();
    }
}

static cJSON *export_table(sqlite3 *db, const char *name, int include_sealed)
{
    char *sql = sqlite3_mprintf("SELECT * FROM \"%w\" ORDER BY rowid", name);
    sqlite3_stmt *st = NULL;
    int ok = sql && sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK;
    sqlite3_free(sql);
    if (!ok) {
        /* WITHOUT ROWID tables have no rowid: fall back to the natural order. */
        sql = sqlite3_mprintf("SELECT * FROM \"%w\"", name);
        ok = sql && sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK;
        sqlite3_free(sql);
        if (!ok)
            return NULL;
    }
    int ncol = sqlite3_column_count(st);
    cJSON *t = cJSON_CreateObject();
    cJSON *cols = cJSON_AddArrayToObject(t, "columns");
    int keep[256];
    for (int c = 0; c < ncol && c < 256; c++) {
        const char *cn = sqlite3_column_name(st, c);
        keep[c] = include_sealed || !strstr(cn, "sealed");
        if (keep[c])
            cJSON_AddItemToArray(cols, cJSON_CreateString(cn));
    }
    cJSON *rows = cJSON_AddArrayToObject(t, "rows");
    while (sqlite3_step(st) == SQLITE_ROW) {
        cJSON *row = cJSON_CreateArray();
        for (int c = 0; c < ncol && c < 256; c++)
            if (keep[c])
                cJSON_AddItemToArray(row, column_value(st, c));
        cJSON_AddItemToArray(rows, row);
    }
    sqlite3_finalize(st);
    return t;
}

cJSON *chsm_store_export(chsm_store *s, int include_sealed)
{
    store_lock_(s);
    sqlite3 *db = store_db_(s);
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "format", "chsm-state");
    cJSON_AddNumberToObject(out, "version", 1);
    cJSON_AddBoolToObject(out, "includesKeyMaterial", include_sealed);
    cJSON *schema = cJSON_AddObjectToObject(out, "schema");
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT module, version FROM schema_modules ORDER BY module", -1,
                           &st, NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW)
            cJSON_AddNumberToObject(schema, (const char *)sqlite3_column_text(st, 0),
                                    sqlite3_column_int(st, 1));
        sqlite3_finalize(st);
    }
    cJSON *tables = cJSON_AddObjectToObject(out, "tables");
    char *names[ADMIN_MAX_TABLES];
    int n = 0;
    int rc = list_tables(db, names, ADMIN_MAX_TABLES, &n);
    for (int i = 0; rc == CHSM_OK && i < n; i++) {
        cJSON *t = export_table(db, names[i], include_sealed);
        if (!t)
            rc = CHSM_EIO;
        else
            cJSON_AddItemToObject(tables, names[i], t);
    }
    free_names(names, n);
    store_unlock_(s);
    if (rc != CHSM_OK) {
        cJSON_Delete(out);
        return NULL;
    }
    return out;
}

static int bind_value(sqlite3_stmt *st, int idx, const cJSON *v)
{
    if (cJSON_IsNull(v))
        return sqlite3_bind_null(st, idx);
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (d == (double)(sqlite3_int64)d)
            return sqlite3_bind_int64(st, idx, (sqlite3_int64)d);
        return sqlite3_bind_double(st, idx, d);
    }
    if (cJSON_IsString(v))
        return sqlite3_bind_text(st, idx, v->valuestring, -1, SQLITE_TRANSIENT);
    if (cJSON_IsBool(v))
        return sqlite3_bind_int(st, idx, cJSON_IsTrue(v));
    const char *b64 = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "base64"));
    if (!b64)
        return SQLITE_MISMATCH;
    unsigned char *bytes = NULL;
    size_t len = 0;
    if (chsm_crypto_base64_decode(b64, &bytes, &len) != CHSM_OK)
        return SQLITE_MISMATCH;
    int rc = sqlite3_bind_blob(st, idx, bytes, (int)len, SQLITE_TRANSIENT);
    free(bytes);
    return rc;
}

static int import_table(sqlite3 *db, const char *name, const cJSON *t, char *err, size_t errlen)
{
    const cJSON *cols = cJSON_GetObjectItemCaseSensitive(t, "columns");
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(t, "rows");
    int ncol = cJSON_GetArraySize(cols);
    if (!cJSON_IsArray(cols) || !cJSON_IsArray(rows) || ncol < 1 || ncol > 256) {
        snprintf(err, errlen, "tables.%s needs 'columns' and 'rows' arrays", name);
        return CHSM_EINVAL;
    }
    sqlite3_str *q = sqlite3_str_new(db);
    sqlite3_str_appendf(q, "INSERT INTO \"%w\"(", name);
    int i = 0;
    for (const cJSON *c = cols->child; c; c = c->next, i++) {
        if (!cJSON_IsString(c)) {
            sqlite3_free(sqlite3_str_finish(q));
            snprintf(err, errlen, "tables.%s.columns[%d] is not a string", name, i);
            return CHSM_EINVAL;
        }
        sqlite3_str_appendf(q, "%s\"%w\"", i ? "," : "", c->valuestring);
    }
    sqlite3_str_appendf(q, ") VALUES(");
    for (i = 0; i < ncol; i++)
        sqlite3_str_appendf(q, "%s?", i ? "," : "");
    sqlite3_str_appendf(q, ")");
    char *sql = sqlite3_str_finish(q);
    sqlite3_stmt *st = NULL;
    if (!sql || sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "tables.%s does not fit this emulator's schema: %s", name,
                 sqlite3_errmsg(db));
        sqlite3_free(sql);
        return CHSM_EINVAL;
    }
    sqlite3_free(sql);
    int r = 0, rc = CHSM_OK;
    for (const cJSON *row = rows->child; row && rc == CHSM_OK; row = row->next, r++) {
        if (!cJSON_IsArray(row) || cJSON_GetArraySize(row) != ncol) {
            snprintf(err, errlen, "tables.%s.rows[%d] must have %d values", name, r, ncol);
            rc = CHSM_EINVAL;
            break;
        }
        int c = 1;
        for (const cJSON *v = row->child; v; v = v->next, c++) {
            if (bind_value(st, c, v) != SQLITE_OK) {
                snprintf(err, errlen, "tables.%s.rows[%d][%d] has an unsupported value", name, r,
                         c - 1);
                rc = CHSM_EINVAL;
                break;
            }
        }
        if (rc == CHSM_OK && sqlite3_step(st) != SQLITE_DONE) {
            const char *why = sqlite3_errmsg(db);
            snprintf(err, errlen, "tables.%s.rows[%d] was refused: %s%s", name, r, why,
                     strstr(why, "sealed") ? " (key material is only in exports made with "
                                             "includeKeyMaterial=true)"
                                           : "");
            rc = CHSM_EINVAL;
        }
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    sqlite3_finalize(st);
    return rc;
}

int chsm_store_import(chsm_store *s, const cJSON *state, char *err, size_t errlen)
{
    const char *format = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(state, "format"));
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(state, "version");
    const cJSON *schema = cJSON_GetObjectItemCaseSensitive(state, "schema");
    const cJSON *tables = cJSON_GetObjectItemCaseSensitive(state, "tables");
    if (!format || strcmp(format, "chsm-state") != 0 || !cJSON_IsNumber(version) ||
        version->valueint != 1 || !cJSON_IsObject(schema) || !cJSON_IsObject(tables)) {
        snprintf(err, errlen,
                 "not a chsm-state version 1 export (format, version, schema and "
                 "tables are required)");
        return CHSM_EINVAL;
    }
    if (chsm_store_begin(s) != CHSM_OK)
        return CHSM_EIO;
    sqlite3 *db = store_db_(s);
    int rc = CHSM_OK;
    sqlite3_stmt *st;
    int nmodules = 0;
    if (sqlite3_prepare_v2(db, "SELECT module, version FROM schema_modules", -1, &st, NULL) ==
        SQLITE_OK) {
        while (rc == CHSM_OK && sqlite3_step(st) == SQLITE_ROW) {
            const char *module = (const char *)sqlite3_column_text(st, 0);
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(schema, module);
            nmodules++;
            if (!cJSON_IsNumber(v) || v->valueint != sqlite3_column_int(st, 1)) {
                snprintf(err, errlen,
                         "schema.%s is %d here but %s in the export: export and import with the "
                         "same emulator version",
                         module, sqlite3_column_int(st, 1),
                         cJSON_IsNumber(v) ? "different" : "missing");
                rc = CHSM_EINVAL;
            }
        }
        sqlite3_finalize(st);
    }
    if (rc == CHSM_OK && cJSON_GetArraySize(schema) != nmodules) {
        snprintf(err, errlen, "the export names schema modules this emulator does not have");
        rc = CHSM_EINVAL;
    }
    if (rc == CHSM_OK)
        rc = delete_all(db);
    for (const cJSON *t = tables->child; rc == CHSM_OK && t; t = t->next) {
        if (is_internal_table(t->string)) {
            snprintf(err, errlen, "tables.%s cannot be imported", t->string);
            rc = CHSM_EINVAL;
        } else {
            rc = import_table(db, t->string, t, err, errlen);
        }
    }
    if (rc == CHSM_OK)
        return chsm_store_commit(s);
    chsm_store_rollback(s);
    return rc;
}

/* copy_db copies every page of from into to with the online backup API. */
static int copy_db(sqlite3 *to, sqlite3 *from)
{
    sqlite3_backup *b = sqlite3_backup_init(to, "main", from, "main");
    if (!b)
        return CHSM_EIO;
    int rc = sqlite3_backup_step(b, -1);
    sqlite3_backup_finish(b);
    return rc == SQLITE_DONE ? CHSM_OK : CHSM_EIO;
}

int chsm_store_snapshot_save(chsm_store *s, const char *path)
{
    sqlite3 *snap = NULL;
    if (sqlite3_open_v2(path, &snap, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        sqlite3_close(snap);
        return CHSM_EIO;
    }
    store_lock_(s);
    int rc = copy_db(snap, store_db_(s));
    store_unlock_(s);
    sqlite3_close(snap);
    return rc;
}

int chsm_store_snapshot_restore(chsm_store *s, const char *path)
{
    sqlite3 *snap = NULL;
    if (sqlite3_open_v2(path, &snap, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(snap);
        return CHSM_ENOTFOUND;
    }
    store_lock_(s);
    int rc = copy_db(store_db_(s), snap);
    store_unlock_(s);
    sqlite3_close(snap);
    return rc;
}

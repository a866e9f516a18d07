/* resources.c - ARM resource documents in SQLite. */
#include "store/resources.h"

#include "store/store_internal.h"
#include "util/status.h"
#include "util/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t now_ms_(void)
{
    return chsm_now_ms();
}

#define RESOURCE_COLUMNS                                                                           \
    "id, type_key, name, subscription_key, rg_key, parent_key, body, etag, created_ms, updated_ms"

static int row_to_resource(sqlite3_stmt *st, chsm_resource *r)
{
    memset(r, 0, sizeof *r);
    r->id = store_text_dup_(st, 0);
    r->type = store_text_dup_(st, 1);
    r->name = store_text_dup_(st, 2);
    r->subscription = store_text_dup_(st, 3);
    r->resource_group = store_text_dup_(st, 4);
    r->parent_id = store_text_dup_(st, 5);
    const char *body = (const char *)sqlite3_column_text(st, 6);
    r->body = body ? cJSON_Parse(body) : NULL;
    const char *etag = (const char *)sqlite3_column_text(st, 7);
    snprintf(r->etag, sizeof r->etag, "%s", etag ? etag : "");
    r->created_ms = sqlite3_column_int64(st, 8);
    r->updated_ms = sqlite3_column_int64(st, 9);
    if (!r->id || !r->body) {
        chsm_resource_clear(r);
        return CHSM_ENOMEM;
    }
    return CHSM_OK;
}

int chsm_resources_get(chsm_store *s, const char *id, chsm_resource *out)
{
    static const char sql[] = "SELECT " RESOURCE_COLUMNS " FROM resources WHERE id_key=?";
    memset(out, 0, sizeof *out);
    store_lock_(s);
    sqlite3_stmt *st = store_prepare_(s, sql);
    int rc = CHSM_EIO;
    if (st) {
        store_bind_lower_(st, 1, id);
        int step = sqlite3_step(st);
        if (step == SQLITE_ROW)
            rc = row_to_resource(st, out);
        else if (step == SQLITE_DONE)
            rc = CHSM_ENOTFOUND;
        store_done_(st);
    }
    store_unlock_(s);
    return rc;
}

int chsm_resources_etag(chsm_store *s, const char *id, char out[40])
{
    static const char sql[] = "SELECT etag FROM resources WHERE id_key=?";
    out[0] = '\0';
    store_lock_(s);
    sqlite3_stmt *st = store_prepare_(s, sql);
    int rc = CHSM_EIO;
    if (st) {
        store_bind_lower_(st, 1, id);
        int step = sqlite3_step(st);
        if (step == SQLITE_ROW) {
            const char *e = (const char *)sqlite3_column_text(st, 0);
            snprintf(out, 40, "%s", e ? e : "");
            rc = CHSM_OK;
        } else {
            rc = step == SQLITE_DONE ? CHSM_ENOTFOUND : CHSM_EIO;
        }
        store_done_(st);
    }
    store_unlock_(s);
    return rc;
}

int chsm_resources_exists(chsm_store *s, const char *id)
{
    static const char sql[] = "SELECT 1 FROM resources WHERE id_key=?";
    store_lock_(s);
    sqlite3_stmt *st = store_prepare_(s, sql);
    int rc = CHSM_EIO;
    if (st) {
        store_bind_lower_(st, 1, id);
        int step = sqlite3_step(st);
        rc = step == SQLITE_ROW ? 1 : step == SQLITE_DONE ? 0 : CHSM_EIO;
        store_done_(st);
    }
    store_unlock_(s);
    return rc;
}

int chsm_resources_put(chsm_store *s, chsm_resource *r)
{
    static const char sql[] =
        "INSERT INTO resources(id_key, id, type_key, name, subscription_key, rg_key, parent_key,"
        " body, etag, created_ms, updated_ms) VALUES(?,?,?,?,?,?,?,?,?,?,?)"
        " ON CONFLICT(id_key) DO UPDATE SET id=excluded.id, type_key=excluded.type_key,"
        " name=excluded.name, subscription_key=excluded.subscription_key,"
        " rg_key=excluded.rg_key, parent_key=excluded.parent_key, body=excluded.body,"
        " etag=excluded.etag, updated_ms=excluded.updated_ms";
    char *body = cJSON_PrintUnformatted(r->body);
    if (!body)
        return CHSM_ENOMEM;
    char uuid[37];
    chsm_uuid(uuid);
    int64_t now = now_ms_();
    store_lock_(s);
    sqlite3_stmt *st = store_prepare_(s, sql);
    int rc = CHSM_EIO;
    if (st) {
        store_bind_lower_(st, 1, r->id);
        sqlite3_bind_text(st, 2, r->id, -1, SQLITE_TRANSIENT);
        store_bind_lower_(st, 3, r->type);
        sqlite3_bind_text(st, 4, r->name ? r->name : "", -1, SQLITE_TRANSIENT);
        store_bind_lower_(st, 5, r->subscription);
        store_bind_lower_(st, 6, r->resource_group);
        store_bind_lower_(st, 7, r->parent_id);
        sqlite3_bind_text(st, 8, body, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 9, uuid, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 10, r->created_ms ? r->created_ms : now);
        sqlite3_bind_int64(st, 11, now);
        int step = sqlite3_step(st);
        rc = step == SQLITE_DONE ? CHSM_OK : store_fail_(s, step);
        store_done_(st);
    }
    store_unlock_(s);
    free(body);
    if (rc == CHSM_OK) {
        snprintf(r->etag, sizeof r->etag, "%s", uuid);
        if (!r->created_ms)
            r->created_ms = now;
        r->updated_ms = now;
    }
    return rc;
}

int chsm_resources_delete(chsm_store *s, const char *id)
{
    static const char sql[] = "DELETE FROM resources WHERE id_key=?";
    store_lock_(s);
    sqlite3_stmt *st = store_prepare_(s, sql);
    int rc = CHSM_EIO;
    if (st) {
        store_bind_lower_(st, 1, id);
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

int chsm_resources_delete_under(chsm_store *s, const char *prefix, int *count)
{
    /* Range scan on the primary key: ids under P are exactly those in
     * [P + "/", P + "0"), since '0' follows '/' in ASCII. */
    static const char sql[] = "DELETE FROM resources WHERE id_key >= ? AND id_key < ?";
    char *low = chsm_lower_dup(prefix);
    if (!low)
        return CHSM_ENOMEM;
    size_t n = strlen(low);
    char *lo = malloc(n + 2), *hi = malloc(n + 2);
    if (!lo || !hi) {
        free(low);
        free(lo);
        free(hi);
        return CHSM_ENOMEM;
    }
    snprintf(lo, n + 2, "%s/", low);
    snprintf(hi, n + 2, "%s0", low);
    store_lock_(s);
    sqlite3_stmt *st = store_prepare_(s, sql);
    int rc = CHSM_EIO;
    if (st) {
        sqlite3_bind_text(st, 1, lo, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, hi, -1, SQLITE_TRANSIENT);
        int step = sqlite3_step(st);
        if (step == SQLITE_DONE) {
            rc = CHSM_OK;
            if (count)
                *count = sqlite3_changes(store_db_(s));
        } else {
            rc = store_fail_(s, step);
        }
        store_done_(st);
    }
    store_unlock_(s);
    free(low);
    free(lo);
    free(hi);
    return rc;
}

int chsm_resources_list(chsm_store *s, const chsm_resource_query *q, chsm_resource **out, size_t *n)
{
    static const char sql[] = "SELECT " RESOURCE_COLUMNS " FROM resources WHERE type_key=?1"
                              " AND (?2 IS NULL OR subscription_key=?2)"
                              " AND (?3 IS NULL OR rg_key=?3)"
                              " AND (?4 IS NULL OR parent_key=?4)"
                              " AND (?5 IS NULL OR id_key>?5)"
                              " ORDER BY id_key LIMIT ?6";
    *out = NULL;
    *n = 0;
    store_lock_(s);
    sqlite3_stmt *st = store_prepare_(s, sql);
    int rc = st ? CHSM_OK : CHSM_EIO;
    if (st) {
        store_bind_lower_(st, 1, q->type);
        store_bind_lower_(st, 2, q->subscription);
        store_bind_lower_(st, 3, q->resource_group);
        store_bind_lower_(st, 4, q->parent_id);
        store_bind_lower_(st, 5, q->after_id);
        sqlite3_bind_int64(st, 6, q->limit ? (sqlite3_int64)q->limit : -1);
        size_t cap = 0;
        int step;
        while ((step = sqlite3_step(st)) == SQLITE_ROW) {
            if (*n == cap) {
                cap = cap ? cap * 2 : 8;
                chsm_resource *p = realloc(*out, cap * sizeof *p);
                if (!p) {
                    rc = CHSM_ENOMEM;
                    break;
                }
                *out = p;
            }
            if ((rc = row_to_resource(st, &(*out)[*n])) != CHSM_OK)
                break;
            (*n)++;
        }
        if (rc == CHSM_OK && step != SQLITE_DONE)
            rc = CHSM_EIO;
        store_done_(st);
    }
    store_unlock_(s);
    if (rc != CHSM_OK) {
        chsm_resources_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

void chsm_resource_clear(chsm_resource *r)
{
    free(r->id);
    free(r->type);
    free(r->name);
    free(r->subscription);
    free(r->resource_group);
    free(r->parent_id);
    cJSON_Delete(r->body);
    memset(r, 0, sizeof *r);
}

void chsm_resources_free(chsm_resource *arr, size_t n)
{
    for (size_t i = 0; i < n; i++)
        chsm_resource_clear(&arr[i]);
    free(arr);
}

/* operations.c - long-running operations in SQLite. */
#include "store/operations.h"

#include "store/store_internal.h"
#include "util/status.h"
#include "util/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void bind_json(sqlite3_stmt *st, int idx, const cJSON *j)
{
    char *text = j ? cJSON_PrintUnformatted(j) : NULL;
    if (text)
        sqlite3_bind_text(st, idx, text, -1, free);
    else
        sqlite3_bind_null(st, idx);
}

static void bind_opt_text(sqlite3_stmt *st, int idx, const char *s)
{
    if (s)
        sqlite3_bind_text(st, idx, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, idx);
}

int chsm_ops_insert(chsm_store *s, const chsm_op *op)
{
    static const char sql[] =
        "INSERT INTO operations(id, kind, resource_key, resource_id, status, percent, start_ms,"
        " end_ms, due_ms, error_code, error_message, params, result, fault)"
        " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
    store_lock_(s);
    sqlite3_stmt *st = store_prepare_(s, sql);
    int rc = CHSM_EIO;
    if (st) {
        sqlite3_bind_text(st, 1, op->id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, op->kind, -1, SQLITE_TRANSIENT);
        store_bind_lower_(st, 3, op->resource_id);
        bind_opt_text(st, 4, op->resource_id);
        sqlite3_bind_text(st, 5, op->status, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 6, op->percent);
        sqlite3_bind_int64(st, 7, op->start_ms);
        if (op->end_ms)
            sqlite3_bind_int64(st, 8, op->end_ms);
        else
            sqlite3_bind_null(st, 8);
        sqlite3_bind_int64(st, 9, op->due_ms);
        bind_opt_text(st, 10, op->error_code);
        bind_opt_text(st, 11, op->error_message);
        bind_json(st, 12, op->params);
        bind_json(st, 13, op->result);
        bind_json(st, 14, op->fault);
        int step = sqlite3_step(st);
        rc = step == SQLITE_DONE ? CHSM_OK : store_fail_(s, step);
        store_done_(st);
    }
    store_unlock_(s);
    return rc;
}

#define OP_COLUMNS                                                                                 \
    "id, kind, resource_id, status, percent, start_ms, end_ms, due_ms, error_code,"                \
    " error_message, params, result, fault"

static cJSON *json_column(sqlite3_stmt *st, int col)
{
    const char *t = (const char *)sqlite3_column_text(st, col);
    return t ? cJSON_Parse(t) : NULL;
}

static void row_to_op(sqlite3_stmt *st, chsm_op *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->id, sizeof out->id, "%s", (const char *)sqlite3_column_text(st, 0));
    snprintf(out->kind, sizeof out->kind, "%s", (const char *)sqlite3_column_text(st, 1));
    out->resource_id = store_text_dup_(st, 2);
    snprintf(out->status, sizeof out->status, "%s", (const char *)sqlite3_column_text(st, 3));
    out->percent = sqlite3_column_int(st, 4);
    out->start_ms = sqlite3_column_int64(st, 5);
    out->end_ms = sqlite3_column_int64(st, 6);
    out->due_ms = sqlite3_column_int64(st, 7);
    out->error_code = store_text_dup_(st, 8);
    out->error_message = store_text_dup_(st, 9);
    out->params = json_column(st, 10);
    out->result = json_column(st, 11);
    out->fault = json_column(st, 12);
}

int chsm_ops_get(chsm_store *s, const char *id, chsm_op *out)
{
    static const char sql[] = "SELECT " OP_COLUMNS " FROM operations WHERE id=?";
    memset(out, 0, sizeof *out);
    store_lock_(s);
    sqlite3_stmt *st = store_prepare_(s, sql);
    int rc = CHSM_EIO;
    if (st) {
        store_bind_lower_(st, 1, id);
        int step = sqlite3_step(st);
        if (step == SQLITE_ROW) {
            row_to_op(st, out);
            rc = CHSM_OK;
        } else if (step == SQLITE_DONE) {
            rc = CHSM_ENOTFOUND;
        }
        store_done_(st);
    }
    store_unlock_(s);
    return rc;
}

int chsm_ops_list(chsm_store *s, size_t limit, chsm_op **out, size_t *n)
{
    static const char sql[] =
        "SELECT " OP_COLUMNS " FROM operations ORDER BY start_ms DESC, id LIMIT ?";
    *out = NULL;
    *n = 0;
    chsm_op *arr = calloc(limit ? limit : 1, sizeof *arr);
    if (!arr)
        return CHSM_ENOMEM;
    store_lock_(s);
    sqlite3_stmt *st = store_prepare_(s, sql);
    int rc = CHSM_EIO;
    if (st) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)limit);
        int step;
        while ((step = sqlite3_step(st)) == SQLITE_ROW && *n < limit)
            row_to_op(st, &arr[(*n)++]);
        rc = (step == SQLITE_DONE || step == SQLITE_ROW) ? CHSM_OK : CHSM_EIO;
        store_done_(st);
    }
    store_unlock_(s);
    *out = arr;
    return rc;
}

int chsm_ops_update(chsm_store *s, const chsm_op *op)
{
    static const char sql[] =
        "UPDATE operations SET status=?, percent=?, end_ms=?, due_ms=?, error_code=?,"
        " error_message=?, result=?, fault=? WHERE id=?";
    store_lock_(s);
    sqlite3_stmt *st = store_prepare_(s, sql);
    int rc = CHSM_EIO;
    if (st) {
        sqlite3_bind_text(st, 1, op->status, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 2, op->percent);
        if (op->end_ms)
            sqlite3_bind_int64(st, 3, op->end_ms);
        else
            sqlite3_bind_null(st, 3);
        sqlite3_bind_int64(st, 4, op->due_ms);
        bind_opt_text(st, 5, op->error_code);
        bind_opt_text(st, 6, op->error_message);
        bind_json(st, 7, op->result);
        bind_json(st, 8, op->fault);
        sqlite3_bind_text(st, 9, op->id, -1, SQLITE_TRANSIENT);
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

int chsm_ops_due(chsm_store *s, int64_t now_ms, char (*ids)[33], size_t max, size_t *n)
{
    static const char sql[] = "SELECT id FROM operations WHERE status='InProgress' AND due_ms<=?"
                              " ORDER BY due_ms LIMIT ?";
    *n = 0;
    store_lock_(s);
    sqlite3_stmt *st = store_prepare_(s, sql);
    int rc = CHSM_EIO;
    if (st) {
        sqlite3_bind_int64(st, 1, now_ms);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
        int step;
        while ((step = sqlite3_step(st)) == SQLITE_ROW && *n < max)
            snprintf(ids[(*n)++], 33, "%s", (const char *)sqlite3_column_text(st, 0));
        rc = (step == SQLITE_DONE || step == SQLITE_ROW) ? CHSM_OK : CHSM_EIO;
        store_done_(st);
    }
    store_unlock_(s);
    return rc;
}

int64_t chsm_ops_next_due(chsm_store *s)
{
    static const char sql[] = "SELECT min(due_ms) FROM operations WHERE status='InProgress'";
    int64_t due = 0;
    store_lock_(s);
    sqlite3_stmt *st = store_prepare_(s, sql);
    if (st) {
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
            due = sqlite3_column_int64(st, 0);
        store_done_(st);
    }
    store_unlock_(s);
    return due;
}

int chsm_ops_running_for(chsm_store *s, const char *resource_id, const char *kind)
{
    static const char sql[] = "SELECT 1 FROM operations WHERE resource_key=? AND "
                              "status='InProgress' AND kind GLOB ? LIMIT 1";
    store_lock_(s);
    sqlite3_stmt *st = store_prepare_(s, sql);
    int rc = CHSM_EIO;
    if (st) {
        store_bind_lower_(st, 1, resource_id);
        sqlite3_bind_text(st, 2, kind, -1, SQLITE_TRANSIENT);
        int step = sqlite3_step(st);
        rc = step == SQLITE_ROW ? 1 : step == SQLITE_DONE ? 0 : CHSM_EIO;
        store_done_(st);
    }
    store_unlock_(s);
    return rc;
}

void chsm_op_clear(chsm_op *op)
{
    free(op->resource_id);
    free(op->error_code);
    free(op->error_message);
    cJSON_Delete(op->params);
    cJSON_Delete(op->result);
    cJSON_Delete(op->fault);
    free(op->progress_details);
    memset(op, 0, sizeof *op);
}

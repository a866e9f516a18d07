/* lro.c - completing long-running operations when they are due. */
#include "arm/lro.h"

#include "app/app.h"
#include "arm/timing.h"
#include "control/faults.h"
#include "util/status.h"
#include "util/text.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LRO_MAX_KINDS 64
#define LRO_BATCH 16
#define LRO_IDLE_WAIT_MS 1000
/* The due time of a stalled operation: far enough to never come. */
#define LRO_NEVER ((int64_t)1 << 60)

struct chsm_lro {
    struct chsm_app *app;
    struct {
        char kind[48];
        chsm_lro_run_fn run;
    } kinds[LRO_MAX_KINDS];
    int nkinds;
    pthread_t worker;
    int worker_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stopping;
    int woken;
};

chsm_lro *chsm_lro_new(struct chsm_app *app)
{
    chsm_lro *lro = calloc(1, sizeof *lro);
    if (!lro)
        return NULL;
    lro->app = app;
    pthread_mutex_init(&lro->mu, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&lro->cv, &attr);
    pthread_condattr_destroy(&attr);
    return lro;
}

int chsm_lro_register(chsm_lro *lro, const char *kind, chsm_lro_run_fn run)
{
    if (lro->nkinds >= LRO_MAX_KINDS || strlen(kind) >= sizeof lro->kinds[0].kind)
        return CHSM_ETOOBIG;
    strcpy(lro->kinds[lro->nkinds].kind, kind);
    lro->kinds[lro->nkinds].run = run;
    lro->nkinds++;
    return CHSM_OK;
}

static chsm_lro_run_fn find_run(const chsm_lro *lro, const char *kind)
{
    for (int i = 0; i < lro->nkinds; i++)
        if (strcmp(lro->kinds[i].kind, kind) == 0)
            return lro->kinds[i].run;
    return NULL;
}

void chsm_lro_fail(chsm_op *op, const char *code, const char *message)
{
    snprintf(op->status, sizeof op->status, "%s", CHSM_OP_FAILED);
    free(op->error_code);
    free(op->error_message);
    op->error_code = chsm_strdup(code);
    op->error_message = chsm_strdup(message);
    op->end_ms = chsm_now_ms();
    op->percent = 100;
}

void chsm_lro_succeed(chsm_op *op, cJSON *result)
{
    snprintf(op->status, sizeof op->status, "%s", CHSM_OP_SUCCEEDED);
    if (result) {
        cJSON_Delete(op->result);
        op->result = result;
    }
    op->end_ms = chsm_now_ms();
    op->percent = 100;
}

int chsm_lro_begin(struct chsm_app *app, const char *kind, const char *resource_id, cJSON *params,
                   chsm_op *out)
{
    memset(out, 0, sizeof *out);
    if (strlen(kind) >= sizeof out->kind) {
        cJSON_Delete(params);
        return CHSM_EINVAL;
    }
    chsm_uuid_hex(out->id);
    strcpy(out->kind, kind);
    out->resource_id = chsm_strdup(resource_id);
    if (resource_id && !out->resource_id) {
        cJSON_Delete(params);
        return CHSM_ENOMEM;
    }
    strcpy(out->status, CHSM_OP_IN_PROGRESS);
    out->start_ms = chsm_now_ms();
    out->due_ms = out->start_ms + chsm_timing_duration_ms(app->timing, kind);
    out->params = params;
    /* A fault rule may hold this operation: fail it on purpose, or stall it
     * until QA releases it. The request itself is still accepted. */
    chsm_fault_hit hit;
    if (chsm_faults_match(app->faults, kind, NULL, resource_id,
                          CHSM_FAULT_FAIL_OPERATION | CHSM_FAULT_STALL, &hit)) {
        out->fault = cJSON_CreateObject();
        cJSON_AddStringToObject(out->fault, "rule", hit.rule_id);
        if (hit.type == CHSM_FAULT_STALL) {
            cJSON_AddStringToObject(out->fault, "type", "stall");
            out->due_ms = LRO_NEVER;
        } else {
            cJSON_AddStringToObject(out->fault, "type", "fail");
            cJSON_AddStringToObject(out->fault, "code", hit.code);
            cJSON_AddStringToObject(out->fault, "message", hit.message);
            cJSON_AddStringToObject(out->fault, "statusDetails", hit.status_details);
            out->due_ms = out->start_ms + hit.fail_after_ms;
        }
    }
    int rc = chsm_ops_insert(app->store, out);
    if (rc == CHSM_OK && app->lro)
        chsm_lro_wake(app->lro);
    return rc;
}

/* fail_by_fault ends op as its fault rule asks, without running it. */
static void fail_by_fault(chsm_op *op)
{
    const char *code = cJSON_GetStringValue(cJSON_GetObjectItem(op->fault, "code"));
    const char *msg = cJSON_GetStringValue(cJSON_GetObjectItem(op->fault, "message"));
    const char *details = cJSON_GetStringValue(cJSON_GetObjectItem(op->fault, "statusDetails"));
    chsm_lro_fail(op, code ? code : "InternalError", msg ? msg : "The operation failed.");
    if (details) {
        if (!op->result)
            op->result = cJSON_CreateObject();
        cJSON_DeleteItemFromObject(op->result, "statusDetails");
        cJSON_AddStringToObject(op->result, "statusDetails", details);
    }
}

/* complete_in_tx runs a due operation; the caller holds a transaction. */
static int complete_in_tx(chsm_lro *lro, chsm_op *op)
{
    const char *fault = cJSON_GetStringValue(cJSON_GetObjectItem(op->fault, "type"));
    if (fault && strcmp(fault, "fail") == 0) {
        fail_by_fault(op);
        return chsm_ops_update(lro->app->store, op);
    }
    chsm_lro_run_fn run = find_run(lro, op->kind);
    if (!run) {
        chsm_lro_fail(op, "OperationInterrupted",
                      "The operation could not be completed: its kind is not known to this "
                      "emulator build.");
        return chsm_ops_update(lro->app->store, op);
    }
    chsm_ids_frame saved;
    chsm_ids_enter(op->id, &saved);
    int rc = run(lro->app, op);
    chsm_ids_leave(&saved);
    if (rc != CHSM_OK)
        return rc;
    if (strcmp(op->status, CHSM_OP_IN_PROGRESS) == 0)
        chsm_lro_succeed(op, NULL);
    return chsm_ops_update(lro->app->store, op);
}

/* complete_if_due completes id when due; on failure of the run function its
 * changes are rolled back and the operation alone is failed. */
static int complete_if_due(chsm_lro *lro, const char *id, int64_t now)
{
    chsm_store *s = lro->app->store;
    if (chsm_store_begin(s) != CHSM_OK)
        return CHSM_EIO;
    chsm_op op;
    int rc = chsm_ops_get(s, id, &op);
    if (rc != CHSM_OK) {
        chsm_store_rollback(s);
        return rc;
    }
    if (strcmp(op.status, CHSM_OP_IN_PROGRESS) != 0 || op.due_ms > now) {
        chsm_op_clear(&op);
        chsm_store_rollback(s);
        return CHSM_OK;
    }
    rc = complete_in_tx(lro, &op);
    if (rc == CHSM_OK)
        rc = chsm_store_commit(s);
    else
        chsm_store_rollback(s);
    if (rc != CHSM_OK && chsm_store_begin(s) == CHSM_OK) {
        chsm_op fresh;
        if (chsm_ops_get(s, id, &fresh) == CHSM_OK) {
            chsm_lro_fail(&fresh, "InternalServerError",
                          "The operation failed inside the emulator; no change was applied.");
            chsm_ops_update(s, &fresh);
            chsm_op_clear(&fresh);
        }
        chsm_store_commit(s);
    }
    chsm_op_clear(&op);
    return rc;
}

void chsm_lro_progress(struct chsm_app *app, chsm_op *op, int64_t now_ms)
{
    if (strcmp(op->status, CHSM_OP_IN_PROGRESS) != 0)
        return;
    /* Progress is a function of time, so it is computed on read rather than
     * written by the worker: no writes while polling, and the QA clock moves
     * it. A held operation's due time is not its real end. */
    char details[264];
    int64_t end = op->fault || op->due_ms >= LRO_NEVER ? 0 : op->due_ms;
    chsm_timing_progress(app->timing, op->kind, op->start_ms, end, now_ms, &op->percent, details,
                         sizeof details);
    free(op->progress_details);
    op->progress_details = details[0] ? chsm_strdup(details) : NULL;
}

int chsm_lro_get(struct chsm_app *app, const char *id, chsm_op *out)
{
    int64_t now = chsm_now_ms();
    if (app->lro)
        complete_if_due(app->lro, id, now);
    int rc = chsm_ops_get(app->store, id, out);
    if (rc == CHSM_OK)
        chsm_lro_progress(app, out, now);
    return rc;
}

int chsm_lro_run_due(chsm_lro *lro)
{
    char ids[LRO_BATCH][33];
    size_t n = 0;
    int total = 0;
    int64_t now = chsm_now_ms();
    do {
        if (chsm_ops_due(lro->app->store, now, ids, LRO_BATCH, &n) != CHSM_OK)
            break;
        for (size_t i = 0; i < n; i++) {
            complete_if_due(lro, ids[i], now);
            total++;
        }
    } while (n == LRO_BATCH);
    return total;
}

static void *worker_main(void *arg)
{
    chsm_lro *lro = arg;
    pthread_mutex_lock(&lro->mu);
    while (!lro->stopping) {
        pthread_mutex_unlock(&lro->mu);
        chsm_lro_run_due(lro);
        int64_t next = chsm_ops_next_due(lro->app->store);
        int64_t now = chsm_now_ms();
        int64_t wait = LRO_IDLE_WAIT_MS;
        if (next > 0)
            wait = next > now ? (next - now < wait ? next - now : wait) : 0;
        pthread_mutex_lock(&lro->mu);
        if (wait > 0 && !lro->woken && !lro->stopping) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            ts.tv_sec += wait / 1000;
            ts.tv_nsec += (wait % 1000) * 1000000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&lro->cv, &lro->mu, &ts);
        }
        lro->woken = 0;
    }
    pthread_mutex_unlock(&lro->mu);
    return NULL;
}

int chsm_lro_start_worker(chsm_lro *lro)
{
    if (pthread_create(&lro->worker, NULL, worker_main, lro) != 0)
        return CHSM_ENOMEM;
    lro->worker_started = 1;
    return CHSM_OK;
}

int chsm_lro_release(struct chsm_app *app, const char *id)
{
    chsm_store *s = app->store;
    if (chsm_store_begin(s) != CHSM_OK)
        return CHSM_EIO;
    chsm_op op;
    int rc = chsm_ops_get(s, id, &op);
    if (rc == CHSM_OK && strcmp(op.status, CHSM_OP_IN_PROGRESS) != 0)
        rc = CHSM_ECONFLICT;
    if (rc == CHSM_OK) {
        /* Released: due now, and no longer held (a stall or a pending failure). */
        cJSON_Delete(op.fault);
        op.fault = NULL;
        op.due_ms = chsm_now_ms();
        rc = chsm_ops_update(s, &op);
    }
    chsm_op_clear(&op);
    if (rc == CHSM_OK)
        rc = chsm_store_commit(s);
    else
        chsm_store_rollback(s);
    if (rc == CHSM_OK && app->lro)
        chsm_lro_wake(app->lro);
    return rc;
}

int chsm_lro_release_rule(struct chsm_app *app, const char *rule_id, int *count)
{
    chsm_op *ops = NULL;
    size_t n = 0;
    *count = 0;
    int rc = chsm_ops_list(app->store, 10000, &ops, &n);
    for (size_t i = 0; i < n; i++) {
        const char *rule = cJSON_GetStringValue(cJSON_GetObjectItem(ops[i].fault, "rule"));
        if (rc == CHSM_OK && rule && strcmp(rule, rule_id) == 0 &&
            strcmp(ops[i].status, CHSM_OP_IN_PROGRESS) == 0 &&
            chsm_lro_release(app, ops[i].id) == CHSM_OK)
            (*count)++;
        chsm_op_clear(&ops[i]);
    }
    free(ops);
    return rc;
}

int chsm_lro_force_fail(struct chsm_app *app, const char *id, const char *code, const char *message)
{
    chsm_store *s = app->store;
    if (chsm_store_begin(s) != CHSM_OK)
        return CHSM_EIO;
    chsm_op op;
    int rc = chsm_ops_get(s, id, &op);
    if (rc == CHSM_OK && strcmp(op.status, CHSM_OP_IN_PROGRESS) != 0)
        rc = CHSM_ECONFLICT;
    if (rc == CHSM_OK) {
        chsm_lro_fail(&op, code, message);
        rc = chsm_ops_update(s, &op);
    }
    chsm_op_clear(&op);
    if (rc == CHSM_OK)
        rc = chsm_store_commit(s);
    else
        chsm_store_rollback(s);
    return rc;
}

void chsm_lro_wake(chsm_lro *lro)
{
    pthread_mutex_lock(&lro->mu);
    lro->woken = 1;
    pthread_cond_signal(&lro->cv);
    pthread_mutex_unlock(&lro->mu);
}

void chsm_lro_free(chsm_lro *lro)
{
    if (!lro)
        return;
    if (lro->worker_started) {
        pthread_mutex_lock(&lro->mu);
        lro->stopping = 1;
        pthread_cond_signal(&lro->cv);
        pthread_mutex_unlock(&lro->mu);
        pthread_join(lro->worker, NULL);
    }
    pthread_mutex_destroy(&lro->mu);
    pthread_cond_destroy(&lro->cv);
    free(lro);
}

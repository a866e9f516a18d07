/* lro.h - the long-running operation engine.
 *
 * A provider starts an operation inside its request's transaction; the
 * operation is due after the configured duration of its kind (0 by default,
 * so the first poll finds it finished, as scripts written from the docs
 * expect). When due, the kind's run function completes it inside one store
 * transaction, either from the background worker or from the poll that finds
 * it due, whichever comes first; so an operation is applied whole or not at
 * all, and one in flight when the process died is simply run after restart. */
#ifndef CHSM_ARM_LRO_H
#define CHSM_ARM_LRO_H

#include "store/operations.h"

struct chsm_app;
typedef struct chsm_lro chsm_lro;

/* A run function completes op: it sets op->status (Succeeded or Failed),
 * op->result and op->error_* and makes its state changes through the store.
 * It runs inside a transaction; returning non-zero rolls everything back and
 * fails the operation with InternalServerError. */
typedef int (*chsm_lro_run_fn)(struct chsm_app *app, chsm_op *op);

/* chsm_lro_new creates the engine (not started). */
chsm_lro *chsm_lro_new(struct chsm_app *app);
/* chsm_lro_register sets the run function of an operation kind. */
int chsm_lro_register(chsm_lro *lro, const char *kind, chsm_lro_run_fn run);
/* chsm_lro_start_worker starts the background thread that completes due operations. */
int chsm_lro_start_worker(chsm_lro *lro);
/* chsm_lro_free stops the worker and frees the engine. */
void chsm_lro_free(chsm_lro *lro);
/* chsm_lro_begin creates an InProgress operation of kind on resource_id with
 * params (ownership taken) and copies it into out (caller clears). Call it
 * inside the request's transaction so the operation exists iff the request's
 * changes do. */
int chsm_lro_begin(struct chsm_app *app, const char *kind, const char *resource_id, cJSON *params,
                   chsm_op *out);
/* chsm_lro_get loads operation id, completing it first if it is due, with
 * its progress filled in (caller clears out). */
int chsm_lro_get(struct chsm_app *app, const char *id, chsm_op *out);
/* chsm_lro_progress sets a running op's percent and progress_details for
 * now_ms from the timing table (arm/timing.h); chsm_lro_get does it. */
void chsm_lro_progress(struct chsm_app *app, chsm_op *op, int64_t now_ms);
/* chsm_lro_run_due completes every due operation now; returns how many ran. */
int chsm_lro_run_due(chsm_lro *lro);
/* chsm_lro_fail sets op to Failed with code and message, ending it now. */
void chsm_lro_fail(chsm_op *op, const char *code, const char *message);
/* chsm_lro_succeed sets op to Succeeded with result (ownership taken, may be NULL). */
void chsm_lro_succeed(chsm_op *op, cJSON *result);
/* chsm_lro_release lets an operation held by a stall rule finish (it becomes
 * due now); CHSM_ENOTFOUND / CHSM_ECONFLICT when absent / not running. */
int chsm_lro_release(struct chsm_app *app, const char *id);
/* chsm_lro_release_rule releases every operation held by fault rule rule_id;
 * count receives how many. */
int chsm_lro_release_rule(struct chsm_app *app, const char *rule_id, int *count);
/* chsm_lro_force_fail ends a running operation now as Failed with code and message. */
int chsm_lro_force_fail(struct chsm_app *app, const char *id, const char *code,
                        const char *message);
/* chsm_lro_wake tells the worker that a new operation may be due soon. */
void chsm_lro_wake(chsm_lro *lro);

#endif

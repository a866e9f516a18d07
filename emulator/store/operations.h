/* operations.h - the repository of long-running operations (arm/lro.c drives them). */
#ifndef CHSM_STORE_OPERATIONS_H
#define CHSM_STORE_OPERATIONS_H

#include "store/store.h"

#include <cjson/cJSON.h>
#include <stdint.h>

/* Operation statuses, as ARM spells them. */
#define CHSM_OP_IN_PROGRESS "InProgress"
#define CHSM_OP_SUCCEEDED "Succeeded"
#define CHSM_OP_FAILED "Failed"
#define CHSM_OP_CANCELED "Canceled"

typedef struct chsm_op {
    char id[33];       /* 32 lowercase hex digits */
    char kind[48];     /* "cloudHsmClusters/backup", "resourceGroups/delete", ... */
    char *resource_id; /* the resource it acts on, or NULL */
    char status[16];   /* CHSM_OP_* */
    int percent;       /* 0..100 */
    int64_t start_ms;
    int64_t end_ms;   /* 0 while running */
    int64_t due_ms;   /* when the worker may complete it */
    char *error_code; /* on failure */
    char *error_message;
    cJSON *params;          /* inputs recorded at start (owned, may be NULL) */
    cJSON *result;          /* outputs recorded at the end (owned, may be NULL) */
    cJSON *fault;           /* a fault rule's hold: {"rule","type":"fail"|"stall",...}, or NULL */
    char *progress_details; /* a running operation's step text, computed on read, never stored */
} chsm_op;

/* chsm_ops_insert stores a new operation. */
int chsm_ops_insert(chsm_store *s, const chsm_op *op);
/* chsm_ops_get loads id into out (caller clears); CHSM_ENOTFOUND when absent. */
int chsm_ops_get(chsm_store *s, const char *id, chsm_op *out);
/* chsm_ops_update saves status, percent, times, error and result of op. */
int chsm_ops_update(chsm_store *s, const chsm_op *op);
/* chsm_ops_due lists up to max ids of InProgress operations due at now_ms. */
int chsm_ops_due(chsm_store *s, int64_t now_ms, char (*ids)[33], size_t max, size_t *n);
/* chsm_ops_next_due returns the earliest due_ms of a running operation, or 0 if none. */
int64_t chsm_ops_next_due(chsm_store *s);
/* chsm_ops_running_for tells whether an operation of kind (prefix match when
 * kind ends in '*') is InProgress on resource_id: 1, 0, or <0 on error. */
int chsm_ops_running_for(chsm_store *s, const char *resource_id, const char *kind);
/* chsm_ops_list returns up to limit operations, newest first, as a new array
 * (caller frees each with chsm_op_clear and the array with free). */
int chsm_ops_list(chsm_store *s, size_t limit, chsm_op **out, size_t *n);
/* chsm_op_clear frees what op owns and zeroes it. */
void chsm_op_clear(chsm_op *op);

#endif

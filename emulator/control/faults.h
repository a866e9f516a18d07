/* faults.h - QA fault injection: rules that make chosen requests or
 * operations misbehave on purpose.
 *
 * A rule matches an operation name ("cloudHsmClusters/backup",
 * "blob/PutBlob", globs allowed), an HTTP method and a resource glob, fires
 * with a probability, optionally only on its Nth match, and expires after a
 * count. Layers ask at their own decision points: the ARM pipeline and the
 * blob dispatcher for synchronous answers, the operation engine for failed
 * or stalled operations, the blob store for corrupted content, the HSM data
 * plane for nodes that are down. Rules live in memory (and --faults FILE). */
#ifndef CHSM_CONTROL_FAULTS_H
#define CHSM_CONTROL_FAULTS_H

#include "http/message.h"

#include <cjson/cJSON.h>
#include <stddef.h>

typedef enum chsm_fault_type {
    CHSM_FAULT_ERROR = 1u << 0,          /* answer status + code + message */
    CHSM_FAULT_LATENCY = 1u << 1,        /* sleep ms (+ jitter) before answering */
    CHSM_FAULT_THROTTLE = 1u << 2,       /* 429 with Retry-After */
    CHSM_FAULT_DROP = 1u << 3,           /* close the connection without an answer */
    CHSM_FAULT_RESET = 1u << 4,          /* reset the connection (RST) */
    CHSM_FAULT_FAIL_OPERATION = 1u << 5, /* accept, then fail the long-running operation */
    CHSM_FAULT_STALL = 1u << 6,          /* accept, then hold the operation until released */
    CHSM_FAULT_CORRUPT = 1u << 7,        /* flip a byte of blob content (write or read) */
    CHSM_FAULT_TRUNCATE = 1u << 8,       /* cut blob content in half (write or read) */
    CHSM_FAULT_NODE_DOWN = 1u << 9,      /* an HSM node of a cluster is unavailable */
} chsm_fault_type;

/* What a rule that fired asks for. */
typedef struct chsm_fault_hit {
    chsm_fault_type type;
    char rule_id[48];
    int status;    /* ERROR, THROTTLE */
    char code[64]; /* ERROR, FAIL_OPERATION */
    char message[256];
    char status_details[256]; /* FAIL_OPERATION */
    int latency_ms;           /* LATENCY (jitter already applied) */
    int retry_after_s;        /* THROTTLE */
    int fail_after_ms;        /* FAIL_OPERATION: how long the operation runs before failing */
    int node;                 /* NODE_DOWN: 1..3 */
} chsm_fault_hit;

typedef struct chsm_faults chsm_faults;

/* chsm_faults_new returns an empty rule set (caller frees). */
chsm_faults *chsm_faults_new(void);
/* chsm_faults_free frees the rule set. */
void chsm_faults_free(chsm_faults *f);
/* chsm_faults_add validates rule (a JSON object) and adds it; on success
 * *out (if not NULL) is the stored rule as JSON (caller frees). On invalid
 * input returns CHSM_EINVAL with a message naming the bad field. */
int chsm_faults_add(chsm_faults *f, const cJSON *rule, cJSON **out, char *err, size_t errlen);
/* chsm_faults_load adds the rules of a JSON file (an array, or {"rules":[...]}). */
int chsm_faults_load(chsm_faults *f, const char *path, char *err, size_t errlen);
/* chsm_faults_list returns {"value":[rules]} (caller frees). */
cJSON *chsm_faults_list(chsm_faults *f);
/* chsm_faults_any tells whether any rule (fired out or not) is armed. */
int chsm_faults_any(chsm_faults *f);
/* chsm_faults_get returns rule id as JSON (caller frees), or NULL. */
cJSON *chsm_faults_get(chsm_faults *f, const char *id);
/* chsm_faults_delete removes rule id; CHSM_ENOTFOUND if absent. */
int chsm_faults_delete(chsm_faults *f, const char *id);
/* chsm_faults_clear removes every rule. */
void chsm_faults_clear(chsm_faults *f);
/* chsm_faults_match finds the first live rule whose action type is in
 * type_mask and which matches operation, method (NULL: any) and resource
 * (NULL: any); counts the match, and fills hit when it fires. Returns 1 when
 * a rule fired, 0 otherwise. */
int chsm_faults_match(chsm_faults *f, const char *operation, const char *method,
                      const char *resource, unsigned type_mask, chsm_fault_hit *hit);
/* chsm_faults_on_request applies the synchronous rules matching req
 * (operation req->operation, method, resource: the given one, or the decoded
 * path when NULL): latency is slept here; a dropped or reset connection is
 * set on res. Returns 1 when the request must not reach its handler, with
 * hit telling what to answer (ERROR or THROTTLE are rendered by the caller,
 * in its own error format); req->fault names the rule that fired. */
int chsm_faults_on_request(chsm_faults *f, chsm_request *req, const char *resource,
                           chsm_response *res, chsm_fault_hit *hit);
/* chsm_faults_node_down tells whether a NODE_DOWN rule covers node (1..3) of
 * the cluster with resource id cluster_id, without counting a match. */
int chsm_faults_node_down(chsm_faults *f, const char *cluster_id, int node, char *rule_id,
                          size_t rule_id_len);
/* chsm_faults_glob matches text against a glob ('*' any run, '?' one
 * character), ignoring ASCII case; exported for tests. */
int chsm_faults_glob(const char *pattern, const char *text);

#endif

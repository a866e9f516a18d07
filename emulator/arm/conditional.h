/* conditional.h - ARM optimistic concurrency on resource documents.
 *
 * Every document in store/resources.h has an etag that changes with each write. Answers to a
 * GET, PUT or PATCH of such a resource carry it as the ETag header; a PUT, PATCH or DELETE with
 * If-Match (the etag, a list of them, or *) or If-None-Match (* or etags) is checked against it
 * and refused with 412 PreconditionFailed when the condition does not hold. The check and the
 * handler's write run in one store transaction, so two writers holding the same etag cannot
 * both succeed: one gets 412 and re-reads. A request on a /subscriptions/ resource holds the
 * store from before its handler until its ETag is read, so the ETag always belongs to the
 * state the answer shows (a GET could otherwise pair an old body with a newer ETag, and a
 * read-modify-write based on it would lose an update). */
#ifndef CHSM_ARM_CONDITIONAL_H
#define CHSM_ARM_CONDITIONAL_H

#include "http/message.h"

/* What chsm_arm_conditional_begin took, for chsm_arm_conditional_end. */
typedef struct chsm_arm_conditional {
    int held;  /* the store is held (chsm_store_hold) */
    int began; /* a transaction is open for an If-Match / If-None-Match write */
} chsm_arm_conditional;

/* chsm_arm_conditional_begin holds the store for a request on a /subscriptions/ resource and
 * checks its If-Match / If-None-Match (PUT, PATCH, DELETE): with a condition it opens a store
 * transaction the handler's own nests in. It answers 412 (or 500) and returns nonzero when the
 * request must not run (nothing left held). */
int chsm_arm_conditional_begin(chsm_request *req, chsm_response *res, chsm_arm_conditional *c);
/* chsm_arm_conditional_end commits what begin opened (rolls back when the handler answered an
 * error; a failed commit becomes 500), adds the ETag header to a 200/201 answer of a GET, PUT
 * or PATCH of a stored resource, and releases the store. */
void chsm_arm_conditional_end(chsm_request *req, chsm_response *res, chsm_arm_conditional *c);

#endif

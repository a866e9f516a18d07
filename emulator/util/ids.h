/* ids.h - generated identifiers: random by default, reproducible with --seed.
 *
 * With a seed, ids come from streams derived from (seed, context): each
 * request gets the context of its arrival number and each operation run the
 * context of its operation id, so the ids a script sees do not depend on
 * which thread happened to run first. */
#ifndef CHSM_UTIL_IDS_H
#define CHSM_UTIL_IDS_H

#include <stdint.h>

/* chsm_ids_seed makes ids deterministic from seed (call once at start). */
void chsm_ids_seed(uint64_t seed);
/* chsm_ids_seeded tells whether a seed is in force. */
int chsm_ids_seeded(void);
/* What chsm_ids_enter replaced, for chsm_ids_leave to put back. */
typedef struct chsm_ids_frame {
    int in_context;
    uint64_t state;
} chsm_ids_frame;

/* chsm_ids_enter switches this thread to the id stream named by context
 * text (a request number, an operation id), saving the current one in saved;
 * no effect without a seed. */
void chsm_ids_enter(const char *context, chsm_ids_frame *saved);
/* chsm_ids_leave puts back the stream saved by chsm_ids_enter. */
void chsm_ids_leave(const chsm_ids_frame *saved);
/* chsm_ids_next_request_context writes the next request's context ("req-N"). */
void chsm_ids_next_request_context(char *out, int outlen);
/* chsm_ids_random fills n bytes from the current stream (random without a seed). */
void chsm_ids_random(void *out, int n);
/* chsm_uuid writes a new lowercase UUID v4 (36 chars + NUL). */
void chsm_uuid(char out[37]);
/* chsm_uuid_hex writes a new UUID as 32 lowercase hex digits (+ NUL). */
void chsm_uuid_hex(char out[33]);

#endif

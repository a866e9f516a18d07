/* read_cache.h - answers repeated GETs of resource documents from memory.
 *
 * Scripts poll: a DR runbook GETs its cluster until provisioningState is
 * Succeeded, a test reads the same storage account again and again. Building
 * a cluster's document costs several SQLite lookups and a JSON round trip, so
 * the pipeline keeps the last answers of routes marked CHSM_ROUTE_CACHEABLE
 * and serves them again while nothing that could change them has happened:
 *  - the store's generation (store.h) is the same: no row changed;
 *  - no operation was running when the answer was made (a running one can
 *    finish on read, and its state depends on the clock);
 *  - no fault rule is armed (rules change answers without touching the store);
 *  - nobody called chsm_read_cache_invalidate (snapshot restore, reset).
 * The key is the method, the scheme and host the client used, the raw path
 * and query and the Authorization header, so a cached answer only goes back
 * to a request that would have been answered the same. Headers the pipeline
 * adds per request (request and correlation ids) are never cached. */
#ifndef CHSM_ARM_READ_CACHE_H
#define CHSM_ARM_READ_CACHE_H

#include "http/message.h"

#include <stdint.h>

typedef struct chsm_read_cache chsm_read_cache;

/* chsm_read_cache_new makes an empty cache (caller frees with chsm_read_cache_free). */
chsm_read_cache *chsm_read_cache_new(void);
/* chsm_read_cache_free releases the cache (NULL is fine). */
void chsm_read_cache_free(chsm_read_cache *c);
/* chsm_read_cache_serve fills res from a fresh entry for req and returns 1, or returns 0. */
int chsm_read_cache_serve(chsm_read_cache *c, uint64_t generation, const chsm_request *req,
                          chsm_response *res);
/* chsm_read_cache_put remembers res (its status, body and the headers from index
 * first_header on) as the answer to req at generation. */
void chsm_read_cache_put(chsm_read_cache *c, uint64_t generation, const chsm_request *req,
                         const chsm_response *res, size_t first_header);
/* chsm_read_cache_invalidate forgets every entry. */
void chsm_read_cache_invalidate(chsm_read_cache *c);

#endif

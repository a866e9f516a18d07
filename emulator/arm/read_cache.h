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
 * to a request that would have been answered the same. Because everything the
 * pipeline checks before a handler (route, api-version, token) follows from
 * that key, the pipeline looks an answer up before routing; the one check that
 * also depends on the clock, a strict-mode token's expiry, is kept with the
 * entry. Headers the pipeline adds per request (request and correlation ids)
 * are never cached. */
#ifndef CHSM_ARM_READ_CACHE_H
#define CHSM_ARM_READ_CACHE_H

#include "http/message.h"
#include "router/router.h"

#include <stdint.h>

typedef struct chsm_read_cache chsm_read_cache;

/* A request's cache key: built once per request, on the stack unless long. */
typedef struct chsm_read_cache_key {
    char *data; /* stack or heap (heap) */
    size_t len;
    int heap;
    char stack[2048];
} chsm_read_cache_key;

/* chsm_read_cache_key_make builds req's key into k (free with chsm_read_cache_key_free). */
int chsm_read_cache_key_make(const chsm_request *req, chsm_read_cache_key *k);
/* chsm_read_cache_key_free releases what k holds on the heap. */
void chsm_read_cache_key_free(chsm_read_cache_key *k);

/* chsm_read_cache_new makes an empty cache (caller frees with chsm_read_cache_free). */
chsm_read_cache *chsm_read_cache_new(void);
/* chsm_read_cache_free releases the cache (NULL is fine). */
void chsm_read_cache_free(chsm_read_cache *c);
/* chsm_read_cache_serve fills res from the entry for key k still fresh at generation and
 * now_ms and returns the route that made it, or returns NULL (res untouched). */
const chsm_route *chsm_read_cache_serve(chsm_read_cache *c, uint64_t generation, int64_t now_ms,
                                        const chsm_read_cache_key *k, chsm_response *res);
/* chsm_read_cache_put remembers res (its status, body and the headers from index
 * first_header on) as route's answer for key k at generation, good until
 * valid_until_ms (the expiry of the token that authorised it). */
void chsm_read_cache_put(chsm_read_cache *c, uint64_t generation, int64_t valid_until_ms,
                         const chsm_read_cache_key *k, const chsm_route *route,
                         const chsm_response *res, size_t first_header);
/* chsm_read_cache_invalidate forgets every entry. */
void chsm_read_cache_invalidate(chsm_read_cache *c);

#endif

/* router.h - method + path template -> handler.
 *
 * Templates are '/'-separated: literal segments match ASCII case-insensitively
 * (ARM treats "resourceGroups" and "resourcegroups" alike), "{name}" captures
 * one decoded segment as the client sent it, and "{*name}" captures one or
 * more segments joined by '/' (an ARM scope such as a role assignment's).
 * Providers declare static route tables; the router only keeps pointers. */
#ifndef CHSM_ROUTER_ROUTER_H
#define CHSM_ROUTER_ROUTER_H

#include "http/message.h"

typedef void (*chsm_handler_fn)(chsm_request *req, chsm_response *res);

/* Route flags. */
enum {
    CHSM_ROUTE_PUBLIC = 1u << 0,         /* no bearer token needed */
    CHSM_ROUTE_NO_API_VERSION = 1u << 1, /* api-version is not required */
    CHSM_ROUTE_CACHEABLE = 1u << 2,      /* a GET whose answer depends only on stored state
                                          * and the request (arm/read_cache.h) */
};

typedef struct chsm_route {
    const char *method; /* "GET", "PUT", "POST", "PATCH", "DELETE", "HEAD" */
    const char *path;   /* template, e.g. "/subscriptions/{subscriptionId}/resourcegroups" */
    chsm_handler_fn handler;
    const char *operation; /* stable name for logs and fault rules: "cloudHsmClusters/backup" */
    const char *const *api_versions; /* NULL-terminated list accepted, or NULL for any */
    unsigned flags;
} chsm_route;

typedef struct chsm_router chsm_router;

/* chsm_router_new returns an empty router (caller frees with chsm_router_free). */
chsm_router *chsm_router_new(void);
/* chsm_router_free releases the router (not the route tables it points to). */
void chsm_router_free(chsm_router *r);
/* chsm_router_add registers n routes; earlier routes win over later ones. */
int chsm_router_add(chsm_router *r, const chsm_route *routes, size_t n);
/* chsm_router_match finds the route for req's method and segments and stores
 * its captures in req->params. Returns CHSM_OK, CHSM_ENOTFOUND (no template
 * matches the path) or CHSM_ECONFLICT (the path matches, the method does not:
 * 405), in which case allow (if not NULL) receives the allowed methods. */
int chsm_router_match(const chsm_router *r, chsm_request *req, const chsm_route **out, char *allow,
                      size_t allowlen);

#endif

/* pipeline.c - the ARM request path, one direction: route -> checks -> handler. */
#include "arm/pipeline.h"

#include "app/app.h"
#include "arm/apiversion.h"
#include "arm/auth.h"
#include "arm/conditional.h"
#include "arm/errors.h"
#include "arm/read_cache.h"
#include "control/faults.h"
#include "store/operations.h"
#include "util/clock.h"
#include "util/oom.h"
#include "util/status.h"
#include "util/text.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Methods whose body ARM reads as JSON. */
static int wants_json_body(const chsm_request *req)
{
    return strcmp(req->method, "PUT") == 0 || strcmp(req->method, "PATCH") == 0 ||
           strcmp(req->method, "POST") == 0;
}

static int content_type_ok(const chsm_request *req)
{
    if (req->body_len == 0)
        return 1;
    const char *ct = chsm_request_header(req, "Content-Type");
    /* ARM reads JSON bodies labelled application/json (with any parameters),
     * text/json or merge-patch; a missing type is read as JSON too. Anything
     * else, such as the form type curl -d sends by default, is 415. */
    return !ct || chsm_starts_with_ci(ct, "application/json") ||
           chsm_starts_with_ci(ct, "text/json") ||
           chsm_starts_with_ci(ct, "application/merge-patch+json");
}

static void not_found(const chsm_request *req, chsm_response *res)
{
    /* Under a subscription, an unknown provider or type is ARM's
     * InvalidResourceType / NoRegisteredProviderFound; elsewhere a plain 404. */
    for (size_t i = 0; i + 1 < req->nsegments; i++) {
        if (chsm_streq_ci(req->segments[i], "providers")) {
            chsm_arm_error(res, 404, "InvalidResourceType",
                           "The resource type could not be found in the namespace '%.200s' "
                           "for this emulator.",
                           req->segments[i + 1]);
            return;
        }
    }
    chsm_arm_error(res, 404, "NotFound", "No route matches '%.300s %.500s'.", req->method,
                   req->raw_path ? req->raw_path : "");
}

/* mhsm_host_rewrite serves https://{name}.managedhsm.localhost:PORT/... as
 * /mhsm/{name}/... (the Managed HSM data plane, mhsm/dataplane.c) and
 * https://{name}.vault.localhost:PORT/... as /kv/{name}/... (Key Vault keys). */
static int mhsm_host_rewrite(chsm_request *req)
{
    static const struct {
        const char *suffix;
        const char *prefix;
    } hosts[] = {{".managedhsm.localhost", "/mhsm/"}, {".vault.localhost", "/kv/"}};
    const char *host = chsm_request_header(req, "Host");
    if (!host || !req->raw_path)
        return CHSM_OK;
    size_t n = strcspn(host, ":");
    for (size_t h = 0; h < sizeof hosts / sizeof hosts[0]; h++) {
        size_t sl = strlen(hosts[h].suffix);
        if (n <= sl || n - sl > 64 || !chsm_starts_with_ci(host + n - sl, hosts[h].suffix))
            continue;
        char path[4096];
        if ((size_t)snprintf(path, sizeof path, "%s%.*s%s", hosts[h].prefix, (int)(n - sl), host,
                             req->raw_path) >= sizeof path)
            return CHSM_EINVAL;
        for (size_t i = 0; i < req->nsegments; i++)
            free(req->segments[i]);
        free(req->segments);
        req->segments = NULL;
        req->nsegments = 0;
        return chsm_request_set_path(req, path);
    }
    return CHSM_OK;
}

/* dispatch_routed routes req and runs its checks and handler; with key, a 200 from a
 * cacheable route is kept under it (generation: the store's before the lookup). */
static void dispatch_routed(struct chsm_app *app, chsm_request *req, chsm_response *res,
                            const chsm_read_cache_key *key, uint64_t generation)
{
    if (mhsm_host_rewrite(req) != CHSM_OK) {
        chsm_arm_error(res, 400, "InvalidUri", "The request path is invalid.");
        return;
    }
    const chsm_route *route = NULL;
    char allow[128];
    int rc = chsm_router_match(app->arm_router, req, &route, allow, sizeof allow);
    if (rc == CHSM_ENOTFOUND) {
        not_found(req, res);
        return;
    }
    if (rc == CHSM_ECONFLICT) {
        chsm_arm_error(res, 405, "MethodNotAllowed",
                       "The method '%s' is not allowed on this resource; allowed: %s.", req->method,
                       allow);
        chsm_response_header(res, "Allow", allow, 1);
        return;
    }
    if (rc != CHSM_OK) {
        chsm_arm_error(res, 500, "InternalServerError", "Routing failed: %s.", chsm_status_str(rc));
        return;
    }
    req->route = route;
    snprintf(req->operation, sizeof req->operation, "%s", route->operation);
    chsm_fault_hit hit;
    if (chsm_faults_on_request(app->faults, req, NULL, res, &hit)) {
        if (hit.type == CHSM_FAULT_THROTTLE) {
            char secs[16];
            snprintf(secs, sizeof secs, "%d", hit.retry_after_s);
            chsm_arm_error(res, 429, "TooManyRequests",
                           "The request is being throttled (fault rule %s). Retry after %d "
                           "seconds.",
                           hit.rule_id, hit.retry_after_s);
            chsm_response_header(res, "Retry-After", secs, 1);
        } else if (hit.type == CHSM_FAULT_ERROR) {
            chsm_arm_error(res, hit.status, hit.code, "%s", hit.message);
        }
        chsm_response_header(res, "x-ms-emulator-fault", hit.rule_id, 1);
        return;
    }
    if (chsm_arm_check_api_version(req, route, app->cfg.loose_api_version, res))
        return;
    if (!(route->flags & CHSM_ROUTE_PUBLIC) && chsm_arm_authenticate(app, req, res))
        return;
    if (wants_json_body(req) && !(route->flags & CHSM_ROUTE_PUBLIC) && !content_type_ok(req)) {
        chsm_arm_error(res, 415, "UnsupportedMediaType",
                       "The content media type '%.100s' is not supported. Only "
                       "'application/json' is supported.",
                       chsm_request_header(req, "Content-Type"));
        return;
    }
    chsm_arm_conditional conditional;
    if (chsm_arm_conditional_begin(req, res, &conditional))
        return;
    size_t first_header = res->nheaders;
    unsigned long failures = chsm_oom_count();
    route->handler(req, res);
    chsm_arm_conditional_end(req, res, &conditional);
    /* Never keep an answer built while an allocation or a store read failed: it may miss
     * members (app.c turns it into a 500, but a cached copy would outlive that). */
    if (key && (route->flags & CHSM_ROUTE_CACHEABLE) && res->status == 200 &&
        chsm_oom_count() == failures && chsm_store_generation(app->store) == generation &&
        chsm_ops_next_due(app->store) == 0)
        chsm_read_cache_put(app->read_cache, generation,
                            req->principal.expires_ms ? req->principal.expires_ms : INT64_MAX, key,
                            route, res, first_header);
}

void chsm_arm_dispatch(struct chsm_app *app, chsm_request *req, chsm_response *res)
{
    const char *corr = chsm_request_header(req, "x-ms-correlation-request-id");
    char corr_buf[37];
    if (!corr || strlen(corr) > 128) {
        chsm_uuid(corr_buf);
        corr = corr_buf;
    }
    chsm_response_header(res, "x-ms-correlation-request-id", corr, 1);

    /* Repeated reads of unchanged state come from memory (arm/read_cache.h), looked up
     * before routing: the route, the api-version and the token checks all follow from
     * the key (the Host header, which may name a Managed HSM or vault, is in it), and a
     * strict-mode token's expiry is kept with the entry. */
    int cacheable = app->read_cache && strcmp(req->method, "GET") == 0 &&
                    !chsm_faults_any(app->faults) && !chsm_request_header(req, "If-None-Match") &&
                    !chsm_request_header(req, "If-Match") &&
                    !chsm_request_header(req, "If-Modified-Since");
    chsm_read_cache_key key;
    if (!cacheable || chsm_read_cache_key_make(req, &key) != CHSM_OK) {
        dispatch_routed(app, req, res, NULL, 0);
        return;
    }
    uint64_t generation = chsm_store_generation(app->store);
    int64_t now = app->cfg.strict_auth ? chsm_now_ms() : 0;
    const chsm_route *hit = chsm_read_cache_serve(app->read_cache, generation, now, &key, res);
    if (hit) {
        req->route = hit;
        snprintf(req->operation, sizeof req->operation, "%s", hit->operation);
    } else {
        dispatch_routed(app, req, res, &key, generation);
    }
    chsm_read_cache_key_free(&key);
}

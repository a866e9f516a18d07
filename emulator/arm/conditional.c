/* conditional.c - ETag, If-Match and If-None-Match on ARM resource documents. */
#include "arm/conditional.h"

#include "app/app.h"
#include "arm/errors.h"
#include "store/resources.h"
#include "util/buf.h"
#include "util/status.h"
#include "util/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* resource_id joins the decoded path segments: the id a handler stores the resource under. */
static char *resource_id(const chsm_request *req)
{
    if (req->nsegments == 0)
        return NULL;
    chsm_buf b = {0};
    for (size_t i = 0; i < req->nsegments; i++)
        chsm_buf_printf(&b, "/%s", req->segments[i]);
    return chsm_buf_steal(&b);
}

/* etag_in tells whether etag is one of the comma-separated entity tags in list (quotes and a
 * weak W/ prefix ignored, as ARM clients send them either way). */
static int etag_in(const char *list, const char *etag)
{
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        if (!*p)
            break;
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        while (n > 0 && p[n - 1] == ' ')
            n--;
        if (n >= 2 && (p[0] == 'W' || p[0] == 'w') && p[1] == '/') {
            p += 2;
            n -= 2;
        }
        if (n >= 2 && p[0] == '"' && p[n - 1] == '"') {
            p++;
            n -= 2;
        }
        if (n == strlen(etag) && strncmp(p, etag, n) == 0)
            return 1;
        p = end ? end + 1 : p + n;
        if (!end)
            break;
    }
    return 0;
}

static int is_star(const char *v)
{
    while (*v == ' ')
        v++;
    return v[0] == '*' && v[1 + strspn(v + 1, " ")] == '\0';
}

/* held_request: a GET, PUT, PATCH or DELETE of something under /subscriptions/ (resource
 * documents; not the HSM data planes, whose handlers may run long without the store). */
static int held_request(const chsm_request *req)
{
    return req->nsegments >= 2 && chsm_streq_ci(req->segments[0], "subscriptions") &&
           (strcmp(req->method, "GET") == 0 || strcmp(req->method, "PUT") == 0 ||
            strcmp(req->method, "PATCH") == 0 || strcmp(req->method, "DELETE") == 0);
}

static int writes(const chsm_request *req)
{
    return strcmp(req->method, "PUT") == 0 || strcmp(req->method, "PATCH") == 0 ||
           strcmp(req->method, "DELETE") == 0;
}

static int check_conditions(chsm_request *req, chsm_response *res, const char *if_match,
                            const char *if_none);
static void set_etag(chsm_request *req, chsm_response *res);

int chsm_arm_conditional_begin(chsm_request *req, chsm_response *res, chsm_arm_conditional *c)
{
    c->held = c->began = 0;
    if (!held_request(req))
        return 0;
    chsm_store_hold(req->app->store);
    c->held = 1;
    const char *if_match = chsm_request_header(req, "If-Match");
    const char *if_none = chsm_request_header(req, "If-None-Match");
    if ((!if_match && !if_none) || !writes(req))
        return 0;
    int refused = check_conditions(req, res, if_match, if_none);
    if (refused) {
        chsm_store_release(req->app->store);
        c->held = 0;
        return 1;
    }
    c->began = 1;
    return 0;
}

/* check_conditions opens the transaction and checks the headers; answers and returns nonzero
 * (transaction rolled back) when they do not hold. */
static int check_conditions(chsm_request *req, chsm_response *res, const char *if_match,
                            const char *if_none)
{
    char *id = resource_id(req);
    if (!id) {
        chsm_arm_error(res, 500, "InternalServerError", "The server ran out of memory.");
        return 1;
    }
    chsm_store *s = req->app->store;
    if (chsm_store_begin(s) != CHSM_OK) {
        free(id);
        chsm_arm_error(res, 500, "InternalServerError", "The state store could not be opened.");
        return 1;
    }
    char etag[40];
    int rc = chsm_resources_etag(s, id, etag);
    free(id);
    if (rc != CHSM_OK && rc != CHSM_ENOTFOUND) {
        chsm_store_rollback(s);
        chsm_arm_error(res, 500, "InternalServerError", "The state store could not be read.");
        return 1;
    }
    int exists = rc == CHSM_OK;
    const char *why = NULL;
    if (if_match && !(exists && (is_star(if_match) || etag_in(if_match, etag))))
        why = exists ? "The resource has changed: its ETag does not match the If-Match header."
                     : "The resource does not exist, so the If-Match header cannot match.";
    else if (if_none && exists && (is_star(if_none) || etag_in(if_none, etag)))
        why = is_star(if_none) ? "The resource already exists (If-None-Match: *)."
                               : "The resource's ETag matches the If-None-Match header.";
    if (why) {
        chsm_store_rollback(s);
        chsm_arm_error(res, 412, "PreconditionFailed", "%s", why);
        return 1;
    }
    return 0;
}

void chsm_arm_conditional_end(chsm_request *req, chsm_response *res, chsm_arm_conditional *c)
{
    if (!c->held)
        return;
    chsm_store *s = req->app->store;
    if (c->began) {
        if (res->status >= 400) {
            chsm_store_rollback(s);
        } else if (chsm_store_commit(s) != CHSM_OK) {
            chsm_arm_error(res, 500, "InternalServerError",
                           "The change could not be committed to the state store.");
            chsm_store_release(s);
            return;
        }
    }
    set_etag(req, res);
    chsm_store_release(s);
}

/* set_etag adds the ETag of the resource a GET, PUT or PATCH answered 200/201 for. */
static void set_etag(chsm_request *req, chsm_response *res)
{
    chsm_store *s = req->app->store;
    int reads_back = strcmp(req->method, "GET") == 0 || strcmp(req->method, "PUT") == 0 ||
                     strcmp(req->method, "PATCH") == 0;
    if (!reads_back || (res->status != 200 && res->status != 201) ||
        chsm_response_find_header(res, "ETag"))
        return;
    char *id = resource_id(req);
    char etag[40];
    if (id && chsm_resources_etag(s, id, etag) == CHSM_OK && etag[0]) {
        char quoted[48];
        snprintf(quoted, sizeof quoted, "\"%s\"", etag);
        chsm_response_header(res, "ETag", quoted, 1);
    }
    free(id);
}

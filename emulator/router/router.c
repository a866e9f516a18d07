/* router.c - matching a request against route templates.
 *
 * Templates are split into segments once, when registered. Matching walks
 * the request's decoded segments; "{*name}" tries the shortest capture first
 * and backtracks, which is enough for ARM's "{scope}/providers/..." shapes. */
#include "router/router.h"

#include "util/buf.h"
#include "util/status.h"
#include "util/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROUTER_MAX_TEMPLATE_SEGMENTS 24
#define ROUTER_MAX_CAPTURES 8

enum { SEG_LITERAL = 0, SEG_CAPTURE, SEG_GREEDY };

typedef struct compiled_route {
    const chsm_route *route;
    char *segs[ROUTER_MAX_TEMPLATE_SEGMENTS];         /* owned copies of template segments */
    unsigned char kind[ROUTER_MAX_TEMPLATE_SEGMENTS]; /* SEG_* of each segment */
    size_t nsegs;
    int greedy; /* how many {*name} segments; with any, nsegs or more request segments match */
    int last_literal; /* index of the last literal segment, or -1 */
    int greedy_at;    /* index of the {*name} segment, or -1 */
} compiled_route;

struct chsm_router {
    compiled_route *routes;
    size_t n;
};

typedef struct capture {
    const char *name; /* points into the template */
    size_t name_len;
    size_t first, count; /* request segments captured */
} capture;

chsm_router *chsm_router_new(void)
{
    return calloc(1, sizeof(chsm_router));
}

void chsm_router_free(chsm_router *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        for (size_t j = 0; j < r->routes[i].nsegs; j++)
            free(r->routes[i].segs[j]);
    free(r->routes);
    free(r);
}

int chsm_router_add(chsm_router *r, const chsm_route *routes, size_t n)
{
    compiled_route *p = realloc(r->routes, (r->n + n) * sizeof *p);
    if (!p)
        return CHSM_ENOMEM;
    r->routes = p;
    for (size_t i = 0; i < n; i++) {
        compiled_route *c = &r->routes[r->n];
        memset(c, 0, sizeof *c);
        c->route = &routes[i];
        c->last_literal = -1;
        c->greedy_at = -1;
        const char *s = routes[i].path;
        while (*s == '/')
            s++;
        while (*s) {
            const char *slash = strchr(s, '/');
            size_t len = slash ? (size_t)(slash - s) : strlen(s);
            if (c->nsegs >= ROUTER_MAX_TEMPLATE_SEGMENTS)
                return CHSM_ETOOBIG;
            c->segs[c->nsegs] = chsm_strndup(s, len);
            if (!c->segs[c->nsegs])
                return CHSM_ENOMEM;
            c->kind[c->nsegs] = len >= 2 && s[0] == '{' && s[len - 1] == '}'
                                    ? (len >= 3 && s[1] == '*' ? SEG_GREEDY : SEG_CAPTURE)
                                    : SEG_LITERAL;
            if (c->kind[c->nsegs] == SEG_GREEDY) {
                c->greedy_at = (int)c->nsegs;
                c->greedy++;
            }
            if (c->kind[c->nsegs] == SEG_LITERAL)
                c->last_literal = (int)c->nsegs;
            c->nsegs++;
            s += len;
            while (*s == '/')
                s++;
        }
        r->n++;
    }
    return CHSM_OK;
}

static int match_from(const compiled_route *c, size_t ti, char **segs, size_t nsegs, size_t si,
                      capture *caps, size_t *ncaps)
{
    if (ti == c->nsegs)
        return si == nsegs;
    const char *t = c->segs[ti];
    if (c->kind[ti] != SEG_LITERAL) {
        int greedy = c->kind[ti] == SEG_GREEDY;
        const char *name = t + (greedy ? 2 : 1);
        size_t name_len = strlen(t) - (greedy ? 3 : 2);
        if (*ncaps >= ROUTER_MAX_CAPTURES)
            return 0;
        size_t max = greedy ? nsegs - si : 1;
        for (size_t count = 1; count <= max && si + count <= nsegs; count++) {
            size_t saved = *ncaps;
            caps[*ncaps] = (capture){name, name_len, si, count};
            (*ncaps)++;
            if (match_from(c, ti + 1, segs, nsegs, si + count, caps, ncaps))
                return 1;
            *ncaps = saved;
        }
        return 0;
    }
    if (si >= nsegs || !chsm_streq_ci(t, segs[si]))
        return 0;
    return match_from(c, ti + 1, segs, nsegs, si + 1, caps, ncaps);
}

static int store_captures(chsm_request *req, const capture *caps, size_t ncaps)
{
    for (size_t i = 0; i < ncaps; i++) {
        chsm_buf value = {0};
        for (size_t k = 0; k < caps[i].count; k++) {
            if (k)
                chsm_buf_puts(&value, "/");
            chsm_buf_puts(&value, req->segments[caps[i].first + k]);
        }
        char *v = chsm_buf_steal(&value);
        char *name = chsm_strndup(caps[i].name, caps[i].name_len);
        chsm_kv *p = (v && name) ? realloc(req->params, (req->nparams + 1) * sizeof *p) : NULL;
        if (!p) {
            free(v);
            free(name);
            return CHSM_ENOMEM;
        }
        req->params = p;
        p[req->nparams].name = name;
        p[req->nparams].value = v;
        req->nparams++;
    }
    return CHSM_OK;
}

int chsm_router_match(const chsm_router *r, chsm_request *req, const chsm_route **out, char *allow,
                      size_t allowlen)
{
    *out = NULL;
    int path_known = 0;
    chsm_buf methods = {0};
    /* HEAD is answered by the GET route when no HEAD route exists. */
    int is_head = strcmp(req->method, "HEAD") == 0;
    const compiled_route *head_fallback = NULL;
    capture head_caps[ROUTER_MAX_CAPTURES];
    size_t head_ncaps = 0;
    for (size_t i = 0; i < r->n; i++) {
        const compiled_route *c = &r->routes[i];
        capture caps[ROUTER_MAX_CAPTURES];
        size_t ncaps = 0;
        /* Most routes fail on length alone: each template segment takes one request segment,
         * a {*name} one or more. */
        if (c->greedy ? req->nsegments < c->nsegs : req->nsegments != c->nsegs)
            continue;
        /* The last literal (the resource type or action) is what differs between
         * the many routes of one length: check it before the walk. Without
         * {*name} template and request segments line up one to one; after a
         * {*name} they line up counted from the end. */
        if (c->last_literal >= 0 && c->greedy <= 1) {
            size_t at = (size_t)c->last_literal;
            if (c->greedy && c->last_literal > c->greedy_at)
                at = req->nsegments - (c->nsegs - at);
            if (!chsm_streq_ci(c->segs[c->last_literal], req->segments[at]))
                continue;
        }
        if (!match_from(c, 0, req->segments, req->nsegments, 0, caps, &ncaps))
            continue;
        if (strcmp(c->route->method, req->method) == 0) {
            chsm_buf_free(&methods);
            *out = c->route;
            return store_captures(req, caps, ncaps);
        }
        if (is_head && !head_fallback && strcmp(c->route->method, "GET") == 0) {
            head_fallback = c;
            memcpy(head_caps, caps, sizeof caps);
            head_ncaps = ncaps;
        }
        if (!strstr(methods.data ? methods.data : "", c->route->method)) {
            if (methods.len)
                chsm_buf_puts(&methods, ", ");
            chsm_buf_puts(&methods, c->route->method);
        }
        path_known = 1;
    }
    if (head_fallback) {
        chsm_buf_free(&methods);
        *out = head_fallback->route;
        return store_captures(req, head_caps, head_ncaps);
    }
    if (allow && allowlen)
        snprintf(allow, allowlen, "%s", methods.data ? methods.data : "");
    chsm_buf_free(&methods);
    return path_known ? CHSM_ECONFLICT : CHSM_ENOTFOUND;
}

/* message.c - request and response construction and lookup. */
#include "http/message.h"

#include "util/status.h"
#include "util/text.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Bounds on what one request may carry; the server enforces byte limits too. */
#define CHSM_MAX_SEGMENTS 64
#define CHSM_MAX_QUERY 64
#define CHSM_MAX_HEADERS 128

/* grows: whether an array filled one element at a time, n elements long, is full. Arrays
 * grow to 8, then double, so the capacity follows from n alone (they never shrink but
 * to nothing). A request's ~6 headers cost one allocation instead of six. */
static int grows(size_t n)
{
    return n == 0 || (n >= 8 && (n & (n - 1)) == 0);
}

static int kv_push(chsm_kv **arr, size_t *n, size_t max, const char *name, const char *value)
{
    if (*n >= max)
        return CHSM_ETOOBIG;
    chsm_kv *p = *arr;
    if (grows(*n)) {
        p = realloc(*arr, (*n ? *n * 2 : 8) * sizeof **arr);
        if (!p)
            return CHSM_ENOMEM;
        *arr = p;
    }
    p[*n].name = chsm_strdup(name);
    p[*n].value = chsm_strdup(value ? value : "");
    if (!p[*n].name || !p[*n].value) {
        free(p[*n].name);
        free(p[*n].value);
        return CHSM_ENOMEM;
    }
    (*n)++;
    return CHSM_OK;
}

static void kv_free(chsm_kv *arr, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(arr[i].name);
        free(arr[i].value);
    }
    free(arr);
}

static const char *kv_find(const chsm_kv *arr, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (chsm_streq_ci(arr[i].name, name))
            return arr[i].value;
    return NULL;
}

void chsm_request_init(chsm_request *req, struct chsm_app *app, const char *method)
{
    memset(req, 0, sizeof *req);
    req->app = app;
    strncpy(req->method, method, sizeof req->method - 1);
    strcpy(req->base_url, "http://127.0.0.1");
}

int chsm_request_set_path(chsm_request *req, const char *raw_path)
{
    free(req->raw_path);
    req->raw_path = chsm_strdup(raw_path);
    if (!req->raw_path)
        return CHSM_ENOMEM;
    if (raw_path[0] != '/')
        return CHSM_EINVAL;
    const char *p = raw_path + 1;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 0 && !slash)
            break; /* a trailing slash names the same resource */
        if (n == 0) {
            p = slash + 1;
            continue; /* ARM folds empty segments ("//") */
        }
        char *seg = chsm_percent_decode(p, n);
        if (!seg)
            return CHSM_EINVAL;
        /* A decoded segment must stay one segment: no encoded '/' or '\\', and
         * no dot segments, so no name can climb out of its place. */
        if (strchr(seg, '/') || strchr(seg, '\\') || strcmp(seg, ".") == 0 ||
            strcmp(seg, "..") == 0 || req->nsegments >= CHSM_MAX_SEGMENTS) {
            free(seg);
            return CHSM_EINVAL;
        }
        char **segs = req->segments;
        if (grows(req->nsegments)) {
            segs = realloc(segs, (req->nsegments ? req->nsegments * 2 : 8) * sizeof *segs);
            if (!segs) {
                free(seg);
                return CHSM_ENOMEM;
            }
            req->segments = segs;
        }
        segs[req->nsegments++] = seg;
        if (!slash)
            break;
        p = slash + 1;
    }
    return CHSM_OK;
}

int chsm_request_add_query(chsm_request *req, const char *name, const char *value)
{
    return kv_push(&req->query, &req->nquery, CHSM_MAX_QUERY, name, value);
}

int chsm_request_parse_query(chsm_request *req, const char *raw)
{
    if (!raw)
        return CHSM_OK;
    const char *p = raw;
    while (*p) {
        const char *amp = strchr(p, '&');
        size_t n = amp ? (size_t)(amp - p) : strlen(p);
        if (n > 0) {
            const char *eq = memchr(p, '=', n);
            size_t kn = eq ? (size_t)(eq - p) : n;
            char *k = chsm_percent_decode(p, kn);
            char *v = eq ? chsm_percent_decode(eq + 1, n - kn - 1) : chsm_strdup("");
            int rc = (k && v) ? chsm_request_add_query(req, k, v) : CHSM_EINVAL;
            free(k);
            free(v);
            if (rc != CHSM_OK)
                return rc;
        }
        if (!amp)
            break;
        p = amp + 1;
    }
    return CHSM_OK;
}

int chsm_request_add_header(chsm_request *req, const char *name, const char *value)
{
    return kv_push(&req->headers, &req->nheaders, CHSM_MAX_HEADERS, name, value);
}

const char *chsm_request_header(const chsm_request *req, const char *name)
{
    return kv_find(req->headers, req->nheaders, name);
}

const char *chsm_request_query(const chsm_request *req, const char *name)
{
    return kv_find(req->query, req->nquery, name);
}

const char *chsm_request_param(const chsm_request *req, const char *name)
{
    return kv_find(req->params, req->nparams, name);
}

void chsm_request_free(chsm_request *req)
{
    free(req->raw_path);
    for (size_t i = 0; i < req->nsegments; i++)
        free(req->segments[i]);
    free(req->segments);
    kv_free(req->query, req->nquery);
    kv_free(req->headers, req->nheaders);
    kv_free(req->params, req->nparams);
    req->raw_path = NULL;
    req->segments = NULL;
    req->query = req->headers = req->params = NULL;
    req->nsegments = req->nquery = req->nheaders = req->nparams = 0;
}

void chsm_response_init(chsm_response *res)
{
    memset(res, 0, sizeof *res);
    res->status = 200;
    res->body_fd = -1;
}

void chsm_response_header(chsm_response *res, const char *name, const char *value, int replace)
{
    if (replace) {
        for (size_t i = 0; i < res->nheaders; i++) {
            if (chsm_streq_ci(res->headers[i].name, name)) {
                char *v = chsm_strdup(value);
                if (v) {
                    free(res->headers[i].value);
                    res->headers[i].value = v;
                }
                return;
            }
        }
    }
    kv_push(&res->headers, &res->nheaders, CHSM_MAX_HEADERS, name, value);
}

const char *chsm_response_find_header(const chsm_response *res, const char *name)
{
    return kv_find(res->headers, res->nheaders, name);
}

void chsm_response_set_body(chsm_response *res, int status, const char *content_type, char *body,
                            size_t len)
{
    free(res->body);
    if (res->body_fd >= 0)
        close(res->body_fd);
    res->body_fd = -1;
    res->status = status;
    res->body = body;
    res->body_len = body ? len : 0;
    if (content_type)
        chsm_response_header(res, "Content-Type", content_type, 1);
}

void chsm_response_set_text(chsm_response *res, int status, const char *content_type,
                            const char *text)
{
    char *copy = chsm_strdup(text ? text : "");
    chsm_response_set_body(res, status, content_type, copy, copy ? strlen(copy) : 0);
}

void chsm_response_set_file(chsm_response *res, int status, int fd, uint64_t offset, uint64_t len)
{
    chsm_response_set_body(res, status, NULL, NULL, 0);
    res->body_fd = fd;
    res->body_fd_offset = offset;
    res->body_fd_len = len;
}

void chsm_response_free(chsm_response *res)
{
    kv_free(res->headers, res->nheaders);
    free(res->body);
    if (res->body_fd >= 0)
        close(res->body_fd);
    chsm_response_init(res);
}

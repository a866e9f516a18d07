/* lro.c - long-running operation selection, classification and waiting. */
#include "chsmc_lro.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int has_ci(const char *s, const char *needle)
{
    size_t n = strlen(needle);
    for (; s && *s; s++)
        if (strncasecmp(s, needle, n) == 0)
            return 1;
    return 0;
}

static int is_write(const char *method)
{
    return chsmc_streq_ci(method, "PUT") || chsmc_streq_ci(method, "PATCH");
}

static const char *provisioning_state(const cJSON *body)
{
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(body, "properties");
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "provisioningState"));
}

chsmc_lro_mode chsmc_lro_select(const char *method, const chsmc_response *initial,
                                const char *original_url, char *poll_url, size_t n)
{
    if (n)
        poll_url[0] = '\0';
    if (!initial || initial->status >= 400)
        return CHSMC_LRO_DONE;
    if (chsmc_response_header(initial, "Azure-AsyncOperation", poll_url, n) && poll_url[0])
        return CHSMC_LRO_ASYNC_OPERATION;
    if (chsmc_response_header(initial, "Operation-Location", poll_url, n) && poll_url[0])
        return CHSMC_LRO_ASYNC_OPERATION;
    if (chsmc_response_header(initial, "Location", poll_url, n) && poll_url[0])
        return CHSMC_LRO_LOCATION;
    if (is_write(method)) {
        cJSON *j = chsmc_response_json(initial);
        const char *ps = provisioning_state(j);
        int running = ps && !chsmc_streq_ci(ps, "Succeeded") && !chsmc_streq_ci(ps, "Failed") &&
                      !chsmc_streq_ci(ps, "Canceled") && !chsmc_streq_ci(ps, "Cancelled");
        cJSON_Delete(j);
        if (running) {
            chsmc_copy(poll_url, n, original_url);
            return CHSMC_LRO_BODY;
        }
    }
    return CHSMC_LRO_DONE;
}

static chsmc_lro_state state_of_text(const char *s)
{
    if (has_ci(s, "succeeded"))
        return CHSMC_LRO_SUCCEEDED;
    if (has_ci(s, "fail"))
        return CHSMC_LRO_FAILED;
    if (has_ci(s, "canceled") || has_ci(s, "cancelled"))
        return CHSMC_LRO_CANCELED;
    return CHSMC_LRO_RUNNING;
}

/* operation_error fills e from body.error or body.properties.error. */
static void operation_error(const cJSON *body, const char *label, chsmc_error *e)
{
    if (!e)
        return;
    chsmc_error_clear(e);
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(body, "error");
    if (!cJSON_IsObject(err))
        err = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(body, "properties"),
                                               "error");
    const char *code = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(err, "code"));
    const char *msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(err, "message"));
    if (!msg) {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(body, "properties");
        msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "statusDetails"));
        if (!msg)
            msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "statusMessage"));
    }
    chsmc_copy(e->code, sizeof e->code, code ? code : "OperationFailed");
    snprintf(e->message, sizeof e->message, "the operation ended %s%s%s", label, msg ? ": " : "",
             msg ? msg : "");
}

chsmc_lro_state chsmc_lro_classify(chsmc_lro_mode mode, const chsmc_response *r, char *label,
                                   size_t n, chsmc_error *e)
{
    cJSON *body = chsmc_response_json(r);
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(body, "properties");
    const char *text = NULL;
    chsmc_lro_state st;
    switch (mode) {
    case CHSMC_LRO_ASYNC_OPERATION:
        text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "status"));
        if (text)
            st = state_of_text(text);
        else if (r->status == 202)
            st = CHSMC_LRO_RUNNING, text = "InProgress";
        else
            st = CHSMC_LRO_SUCCEEDED, text = "Succeeded";
        break;
    case CHSMC_LRO_LOCATION:
    case CHSMC_LRO_DONE:
        text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "status"));
        if (!text)
            text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(props, "status"));
        if (r->status == 202)
            st = CHSMC_LRO_RUNNING, text = text ? text : "InProgress";
        else if (text)
            st = state_of_text(text);
        else
            st = CHSMC_LRO_SUCCEEDED, text = "Succeeded";
        break;
    case CHSMC_LRO_BODY:
    default:
        text = provisioning_state(body);
        if (text)
            st = state_of_text(text);
        else
            st = CHSMC_LRO_SUCCEEDED, text = "Succeeded";
        break;
    }
    if (label && n)
        chsmc_copy(label, n, text);
    if (st == CHSMC_LRO_FAILED || st == CHSMC_LRO_CANCELED)
        operation_error(body, text, e);
    cJSON_Delete(body);
    return st;
}

long chsmc_lro_retry_after_ms(const chsmc_response *r, long default_ms)
{
    char v[64];
    if (!chsmc_response_header(r, "Retry-After", v, sizeof v))
        return default_ms;
    char *end = NULL;
    long s = strtol(v, &end, 10);
    if (end == v || *end || s <= 0)
        return default_ms;
    if (s > 60)
        s = 60;
    return s * 1000;
}

typedef struct waiter {
    chsmc_client *c;
    const chsmc_wait_opts *o;
    long long start;
    long long deadline;
    long interval;
    char last[128];
} waiter;

static void waiter_init(waiter *w, chsmc_client *c, const chsmc_wait_opts *o)
{
    static const chsmc_wait_opts defaults = {0};
    memset(w, 0, sizeof *w);
    w->c = c;
    w->o = o ? o : &defaults;
    w->start = chsmc_now_ms();
    w->deadline = w->start + (long long)(w->o->timeout_s > 0 ? w->o->timeout_s : 300) * 1000;
    w->interval = w->o->interval_ms > 0 ? w->o->interval_ms : 1000;
}

static void report(waiter *w, const char *label)
{
    int changed = strcmp(w->last, label) != 0;
    chsmc_copy(w->last, sizeof w->last, label);
    if (w->o->progress)
        w->o->progress(w->o->progress_ctx, label, chsmc_now_ms() - w->start, changed);
}

/* pause sleeps before the next poll; CHSMC_ETIMEOUT when the deadline has passed. */
static int pause_or_timeout(waiter *w, const chsmc_response *r, chsmc_error *e)
{
    long long now = chsmc_now_ms();
    if (now >= w->deadline)
        return chsmc_error_set(e, CHSMC_ETIMEOUT, "Timeout",
                               "the operation did not finish within %d s (last status %s)",
                               (int)((w->deadline - w->start) / 1000), w->last);
    long ms = chsmc_lro_retry_after_ms(r, w->interval);
    if (now + ms > w->deadline)
        ms = (long)(w->deadline - now);
    chsmc_sleep_ms(ms);
    return CHSMC_OK;
}

/* poll_error turns an error status of a poll into a library error: 5xx with an envelope is
 * how a failed operation is reported by operation-result URLs. */
static int poll_error(const chsmc_response *r, chsmc_error *e)
{
    chsmc_error_parse(r->body, r->status, e);
    return r->status >= 500 ? CHSMC_EOPFAILED : CHSMC_EHTTP;
}

static int get_json(chsmc_client *c, const char *url, cJSON **out, chsmc_error *e)
{
    return chsmc_arm_call(c, "GET", url, NULL, NULL, NULL, out, e);
}

static int poll_loop(waiter *w, chsmc_lro_mode mode, char *poll_url, size_t urlcap,
                     chsmc_response *last, chsmc_error *e)
{
    for (;;) {
        chsmc_response r;
        int rc = chsmc_arm_request(w->c, "GET", poll_url, NULL, NULL, &r, e);
        if (rc != CHSMC_OK)
            return rc;
        if (r.status >= 400) {
            rc = poll_error(&r, e);
            report(w, "Failed");
            chsmc_response_clear(&r);
            return rc;
        }
        char label[128];
        chsmc_lro_state st = chsmc_lro_classify(mode, &r, label, sizeof label, e);
        report(w, label);
        char next[2048];
        if (mode == CHSMC_LRO_ASYNC_OPERATION &&
            ((chsmc_response_header(&r, "Azure-AsyncOperation", next, sizeof next) && next[0]) ||
             (chsmc_response_header(&r, "Operation-Location", next, sizeof next) && next[0])))
            chsmc_copy(poll_url, urlcap, next);
        else if (mode == CHSMC_LRO_LOCATION &&
                 chsmc_response_header(&r, "Location", next, sizeof next) && next[0])
            chsmc_copy(poll_url, urlcap, next);
        if (st == CHSMC_LRO_SUCCEEDED) {
            *last = r;
            return CHSMC_OK;
        }
        if (st != CHSMC_LRO_RUNNING) {
            chsmc_response_clear(&r);
            return CHSMC_EOPFAILED;
        }
        rc = pause_or_timeout(w, &r, e);
        chsmc_response_clear(&r);
        if (rc != CHSMC_OK)
            return rc;
    }
}

int chsmc_lro_wait(chsmc_client *c, const char *method, const char *path_or_url,
                   const char *api_version, const chsmc_response *initial, const chsmc_wait_opts *o,
                   cJSON **result, chsmc_error *e)
{
    if (result)
        *result = NULL;
    if (initial->status >= 400) {
        chsmc_error_parse(initial->body, initial->status, e);
        return CHSMC_EHTTP;
    }
    char *original = chsmc_arm_url(c, path_or_url, api_version);
    if (!original)
        return chsmc_error_set(e, CHSMC_ENOMEM, "OutOfMemory", "out of memory");
    char poll_url[2048];
    chsmc_lro_mode mode = chsmc_lro_select(method, initial, original, poll_url, sizeof poll_url);
    if (mode == CHSMC_LRO_DONE) {
        free(original);
        if (result && !chsmc_streq_ci(method, "DELETE"))
            *result = chsmc_response_json(initial);
        return CHSMC_OK;
    }
    waiter w;
    waiter_init(&w, c, o);
    int rc = CHSMC_OK;
    if (mode == CHSMC_LRO_BODY) {
        char label[128];
        chsmc_lro_classify(mode, initial, label, sizeof label, NULL);
        report(&w, label);
        /* The first poll comes at once, as in the header modes, unless the server asked for a
         * pause: an operation that is already done (provisioning with duration 0) costs one
         * GET, not a second of sleep. Later polls are paced by Retry-After. */
        if (chsmc_lro_retry_after_ms(initial, 0) > 0)
            rc = pause_or_timeout(&w, initial, e);
    }
    chsmc_response last = {0};
    if (rc == CHSMC_OK)
        rc = poll_loop(&w, mode, poll_url, sizeof poll_url, &last, e);
    if (rc == CHSMC_OK && result) {
        int delete = chsmc_streq_ci(method, "DELETE");
        if (mode == CHSMC_LRO_ASYNC_OPERATION) {
            if (is_write(method))
                rc = get_json(c, original, result, e);
            else if (!delete)
                *result = chsmc_response_json(&last);
        } else if (!delete) {
            *result = chsmc_response_json(&last);
            if (!*result && is_write(method))
                rc = get_json(c, original, result, e);
        }
    }
    chsmc_response_clear(&last);
    free(original);
    return rc;
}

int chsmc_lro_follow(chsmc_client *c, const char *url, const chsmc_wait_opts *o, cJSON **result,
                     chsmc_error *e)
{
    if (result)
        *result = NULL;
    char *abs = chsmc_arm_url(c, url, NULL);
    if (!abs)
        return chsmc_error_set(e, CHSMC_ENOMEM, "OutOfMemory", "out of memory");
    char poll_url[2048];
    chsmc_copy(poll_url, sizeof poll_url, abs);
    free(abs);
    waiter w;
    waiter_init(&w, c, o);
    chsmc_response last = {0};
    int rc = poll_loop(&w, CHSMC_LRO_LOCATION, poll_url, sizeof poll_url, &last, e);
    if (rc == CHSMC_OK && result)
        *result = chsmc_response_json(&last);
    chsmc_response_clear(&last);
    return rc;
}

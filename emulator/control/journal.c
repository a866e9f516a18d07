/* journal.c - a ring buffer of answered requests. */
#include "control/journal.h"

#include "util/text.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry {
    int64_t at_ms;
    char listener[8];
    char method[16];
    char path[512];
    int status;
    double ms;
    char request_id[40];
    char operation[64];
    char fault[48];
} entry;

struct chsm_journal {
    pthread_mutex_t mu;
    entry *ring;
    int capacity;
    int next;  /* slot of the next entry */
    int count; /* entries held */
};

chsm_journal *chsm_journal_new(int capacity)
{
    chsm_journal *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->ring = calloc((size_t)capacity, sizeof *j->ring);
    if (!j->ring) {
        free(j);
        return NULL;
    }
    j->capacity = capacity;
    pthread_mutex_init(&j->mu, NULL);
    return j;
}

void chsm_journal_free(chsm_journal *j)
{
    if (!j)
        return;
    pthread_mutex_destroy(&j->mu);
    free(j->ring);
    free(j);
}

/* copy_field copies src into a fixed field, cut to fit and NUL-terminated. */
static void copy_field(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

void chsm_journal_add(chsm_journal *j, const chsm_request *req, const chsm_response *res, double ms)
{
    if (!j)
        return;
    int64_t at_ms = chsm_now_ms();
    /* Filled in place under the lock: an entry is ~700 bytes, and building it on the
     * stack first (then copying it in) was most of a cached GET's journal cost. */
    pthread_mutex_lock(&j->mu);
    entry *e = &j->ring[j->next];
    e->at_ms = at_ms;
    copy_field(e->listener, sizeof e->listener,
               req->listener == CHSM_LISTENER_BLOB ? "blob" : "arm");
    copy_field(e->method, sizeof e->method, req->method);
    copy_field(e->path, sizeof e->path, req->raw_path ? req->raw_path : "");
    e->status = res->drop ? 0 : res->status;
    e->ms = ms;
    copy_field(e->request_id, sizeof e->request_id, req->request_id);
    copy_field(e->operation, sizeof e->operation, req->operation);
    copy_field(e->fault, sizeof e->fault, req->fault);
    j->next = (j->next + 1) % j->capacity;
    if (j->count < j->capacity)
        j->count++;
    pthread_mutex_unlock(&j->mu);
}

cJSON *chsm_journal_list(chsm_journal *j, int limit)
{
    cJSON *arr = cJSON_CreateArray();
    pthread_mutex_lock(&j->mu);
    int n = limit < j->count ? limit : j->count;
    for (int i = 0; i < n; i++) {
        const entry *e = &j->ring[(j->next - 1 - i + j->capacity) % j->capacity];
        cJSON *o = cJSON_CreateObject();
        char ts[40];
        chsm_format_time(e->at_ms, ts, sizeof ts);
        cJSON_AddStringToObject(o, "time", ts);
        cJSON_AddStringToObject(o, "listener", e->listener);
        cJSON_AddStringToObject(o, "method", e->method);
        cJSON_AddStringToObject(o, "path", e->path);
        if (e->status)
            cJSON_AddNumberToObject(o, "status", e->status);
        else
            cJSON_AddNullToObject(o, "status"); /* the connection was dropped */
        cJSON_AddNumberToObject(o, "durationMs", (double)(int64_t)(e->ms * 10) / 10.0);
        cJSON_AddStringToObject(o, "requestId", e->request_id);
        if (e->operation[0])
            cJSON_AddStringToObject(o, "operation", e->operation);
        if (e->fault[0])
            cJSON_AddStringToObject(o, "fault", e->fault);
        cJSON_AddItemToArray(arr, o);
    }
    pthread_mutex_unlock(&j->mu);
    cJSON *body = cJSON_CreateObject();
    cJSON_AddItemToObject(body, "value", arr);
    return body;
}

void chsm_journal_clear(chsm_journal *j)
{
    pthread_mutex_lock(&j->mu);
    j->next = j->count = 0;
    pthread_mutex_unlock(&j->mu);
}

/* read_cache.c - the last answers of cacheable GETs (see read_cache.h). */
#include "arm/read_cache.h"

#include "util/buf.h"
#include "util/text.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Direct-mapped slots: a colliding key replaces the older entry. Bounded
 * memory: at most SLOTS bodies of at most MAX_BODY bytes. */
#define SLOTS 128
#define MAX_BODY (32 * 1024)
#define MAX_HEADERS 8

typedef struct entry {
    char *key; /* NULL: empty slot */
    uint64_t hash;
    uint64_t generation;
    uint64_t epoch;
    int status;
    char *body;
    size_t body_len;
    chsm_kv headers[MAX_HEADERS];
    size_t nheaders;
} entry;

struct chsm_read_cache {
    pthread_mutex_t mu;
    uint64_t epoch; /* moved by invalidate: older entries are stale */
    entry slots[SLOTS];
};

chsm_read_cache *chsm_read_cache_new(void)
{
    chsm_read_cache *c = calloc(1, sizeof *c);
    if (c)
        pthread_mutex_init(&c->mu, NULL);
    return c;
}

static void entry_clear(entry *e)
{
    free(e->key);
    free(e->body);
    for (size_t i = 0; i < e->nheaders; i++) {
        free(e->headers[i].name);
        free(e->headers[i].value);
    }
    memset(e, 0, sizeof *e);
}

void chsm_read_cache_free(chsm_read_cache *c)
{
    if (!c)
        return;
    for (int i = 0; i < SLOTS; i++)
        entry_clear(&c->slots[i]);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* make_key returns the request's cache key (caller frees), or NULL. */
static char *make_key(const chsm_request *req)
{
    chsm_buf b = {0};
    chsm_buf_puts(&b, req->method);
    chsm_buf_puts(&b, "\n");
    chsm_buf_puts(&b, req->base_url);
    chsm_buf_puts(&b, req->raw_path);
    for (size_t i = 0; i < req->nquery; i++) {
        chsm_buf_puts(&b, i ? "&" : "?");
        chsm_buf_puts(&b, req->query[i].name);
        chsm_buf_puts(&b, "=");
        chsm_buf_puts(&b, req->query[i].value);
    }
    chsm_buf_puts(&b, "\n");
    const char *auth = chsm_request_header(req, "Authorization");
    chsm_buf_puts(&b, auth ? auth : "");
    if (b.failed) {
        chsm_buf_free(&b);
        return NULL;
    }
    return chsm_buf_steal(&b);
}

/* fnv1a hashes the key to pick its slot. */
static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

int chsm_read_cache_serve(chsm_read_cache *c, uint64_t generation, const chsm_request *req,
                          chsm_response *res)
{
    char *key = make_key(req);
    if (!key)
        return 0;
    uint64_t h = fnv1a(key);
    entry *e = &c->slots[h % SLOTS];
    char *body = NULL;
    chsm_kv headers[MAX_HEADERS];
    size_t nheaders = 0;
    int status = 0, hit = 0;
    size_t body_len = 0;
    pthread_mutex_lock(&c->mu);
    if (e->key && e->hash == h && e->generation == generation && e->epoch == c->epoch &&
        strcmp(e->key, key) == 0) {
        body = e->body_len ? malloc(e->body_len) : NULL;
        hit = !e->body_len || body;
        if (body)
            memcpy(body, e->body, e->body_len);
        body_len = e->body_len;
        status = e->status;
        for (size_t i = 0; hit && i < e->nheaders; i++) {
            headers[nheaders].name = chsm_strdup(e->headers[i].name);
            headers[nheaders].value = chsm_strdup(e->headers[i].value);
            nheaders++;
        }
    }
    pthread_mutex_unlock(&c->mu);
    free(key);
    if (!hit) {
        free(body);
        return 0;
    }
    /* The handler's headers, in its order (Content-Type comes from set_body). */
    const char *type = NULL;
    for (size_t i = 0; i < nheaders; i++)
        if (headers[i].name && chsm_streq_ci(headers[i].name, "Content-Type"))
            type = headers[i].value;
    chsm_response_set_body(res, status, type, body, body_len);
    for (size_t i = 0; i < nheaders; i++) {
        if (headers[i].name && headers[i].value && !chsm_streq_ci(headers[i].name, "Content-Type"))
            chsm_response_header(res, headers[i].name, headers[i].value, 1);
        free(headers[i].name);
        free(headers[i].value);
    }
    return 1;
}

void chsm_read_cache_put(chsm_read_cache *c, uint64_t generation, const chsm_request *req,
                         const chsm_response *res, size_t first_header)
{
    if (res->body_fd >= 0 || res->drop || res->close_connection || res->body_len > MAX_BODY ||
        res->nheaders < first_header || res->nheaders - first_header > MAX_HEADERS)
        return;
    entry fresh;
    memset(&fresh, 0, sizeof fresh);
    fresh.key = make_key(req);
    fresh.body = res->body_len ? malloc(res->body_len) : NULL;
    int ok = fresh.key && (!res->body_len || fresh.body);
    if (fresh.body)
        memcpy(fresh.body, res->body, res->body_len);
    fresh.body_len = res->body_len;
    fresh.status = res->status;
    fresh.generation = generation;
    for (size_t i = first_header; ok && i < res->nheaders; i++) {
        chsm_kv *kv = &fresh.headers[fresh.nheaders++];
        kv->name = chsm_strdup(res->headers[i].name);
        kv->value = chsm_strdup(res->headers[i].value);
        ok = kv->name && kv->value;
    }
    if (!ok) {
        entry_clear(&fresh);
        return;
    }
    fresh.hash = fnv1a(fresh.key);
    pthread_mutex_lock(&c->mu);
    fresh.epoch = c->epoch;
    entry *e = &c->slots[fresh.hash % SLOTS];
    entry old = *e;
    *e = fresh;
    pthread_mutex_unlock(&c->mu);
    entry_clear(&old);
}

void chsm_read_cache_invalidate(chsm_read_cache *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->epoch++;
    pthread_mutex_unlock(&c->mu);
}

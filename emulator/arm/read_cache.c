/* read_cache.c - the last answers of cacheable GETs (see read_cache.h). */
#include "arm/read_cache.h"

#include "util/status.h"
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
    size_t key_len;
    uint64_t hash;
    uint64_t generation;
    uint64_t epoch;
    int64_t valid_until_ms; /* the token's expiry (strict auth), or INT64_MAX */
    const chsm_route *route;
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

/* key_add appends n bytes, moving to the heap when the stack is full; 0 when out of memory. */
static int key_add(chsm_read_cache_key *k, const char *s, size_t n)
{
    if (k->len + n + 1 > sizeof k->stack && !k->heap) {
        char *h = malloc(k->len + n + 1);
        if (!h)
            return 0;
        memcpy(h, k->data, k->len);
        k->data = h;
        k->heap = 1;
    } else if (k->heap) {
        char *h = realloc(k->data, k->len + n + 1);
        if (!h)
            return 0;
        k->data = h;
    }
    memcpy(k->data + k->len, s, n);
    k->len += n;
    k->data[k->len] = '\0';
    return 1;
}

/* key_field appends s with its length in front, so no value can pass for another
 * (a decoded query value may hold '&', '=' or a newline). */
static int key_field(chsm_read_cache_key *k, const char *s)
{
    size_t n = strlen(s);
    unsigned char len[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16),
                            (unsigned char)(n >> 8), (unsigned char)n};
    return n <= 0xffffffffu && key_add(k, (const char *)len, sizeof len) && key_add(k, s, n);
}

void chsm_read_cache_key_free(chsm_read_cache_key *k)
{
    if (k->heap)
        free(k->data);
    k->data = k->stack;
    k->heap = 0;
    k->len = 0;
}

int chsm_read_cache_key_make(const chsm_request *req, chsm_read_cache_key *k)
{
    k->data = k->stack;
    k->len = 0;
    k->heap = 0;
    const char *auth = chsm_request_header(req, "Authorization");
    int ok = key_field(k, req->method) && key_field(k, req->base_url) &&
             key_field(k, req->raw_path ? req->raw_path : "");
    for (size_t i = 0; ok && i < req->nquery; i++)
        ok = key_field(k, req->query[i].name) && key_field(k, req->query[i].value);
    ok = ok && key_field(k, auth ? auth : "");
    if (!ok)
        chsm_read_cache_key_free(k);
    return ok ? CHSM_OK : CHSM_ENOMEM;
}

/* key_hash picks the key's slot: 8 bytes a step (a key is ~500 bytes, and FNV-1a's byte
 * at a time was 1.6k instructions of every cached GET); equal keys are still compared whole. */
static uint64_t key_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL ^ n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
        h ^= h >> 29;
    }
    for (; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h ^ (h >> 32);
}

const chsm_route *chsm_read_cache_serve(chsm_read_cache *c, uint64_t generation, int64_t now_ms,
                                        const chsm_read_cache_key *k, chsm_response *res)
{
    uint64_t h = key_hash(k->data, k->len);
    entry *e = &c->slots[h % SLOTS];
    const chsm_route *route = NULL;
    pthread_mutex_lock(&c->mu);
    if (e->key && e->hash == h && e->generation == generation && e->epoch == c->epoch &&
        now_ms <= e->valid_until_ms && e->key_len == k->len &&
        memcmp(e->key, k->data, k->len) == 0) {
        char *body = e->body_len ? malloc(e->body_len) : NULL;
        if (body || !e->body_len) {
            if (body)
                memcpy(body, e->body, e->body_len);
            /* The handler's headers, in its order (Content-Type comes from set_body). */
            const char *type = NULL;
            for (size_t i = 0; i < e->nheaders; i++)
                if (chsm_streq_ci(e->headers[i].name, "Content-Type"))
                    type = e->headers[i].value;
            chsm_response_set_body(res, e->status, type, body, e->body_len);
            for (size_t i = 0; i < e->nheaders; i++)
                if (!chsm_streq_ci(e->headers[i].name, "Content-Type"))
                    chsm_response_header(res, e->headers[i].name, e->headers[i].value, 1);
            route = e->route;
        }
    }
    pthread_mutex_unlock(&c->mu);
    return route;
}

void chsm_read_cache_put(chsm_read_cache *c, uint64_t generation, int64_t valid_until_ms,
                         const chsm_read_cache_key *k, const chsm_route *route,
                         const chsm_response *res, size_t first_header)
{
    if (!route || res->body_fd >= 0 || res->drop || res->close_connection ||
        res->body_len > MAX_BODY || res->nheaders < first_header ||
        res->nheaders - first_header > MAX_HEADERS)
        return;
    entry fresh;
    memset(&fresh, 0, sizeof fresh);
    fresh.key = malloc(k->len + 1);
    if (fresh.key) {
        memcpy(fresh.key, k->data, k->len + 1);
        fresh.key_len = k->len;
    }
    fresh.valid_until_ms = valid_until_ms;
    fresh.route = route;
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
    fresh.hash = key_hash(fresh.key, fresh.key_len);
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

/* ids.c - random or seeded identifiers. */
#include "util/ids.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <uuid/uuid.h>

static int ids_seeded;
static uint64_t ids_seed;
static atomic_ullong ids_request_counter;
static pthread_mutex_t ids_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t ids_shared_state;

/* Per-thread stream while a request or an operation run is in progress. */
static _Thread_local int ids_in_context;
static _Thread_local uint64_t ids_context_state;

/* Per-thread pool of kernel random bytes: one getrandom() call per 256 bytes instead of
 * libuuid's per-call srandom(), random() loop and lock-file fcntl (7% of an ARM GET). */
#define IDS_POOL 256
static _Thread_local unsigned char ids_pool[IDS_POOL];
static _Thread_local size_t ids_pool_left;

/* ids_kernel_random fills out with n bytes from the kernel's CSPRNG (libuuid if that fails). */
static void ids_kernel_random(unsigned char *out, int n)
{
    while (n > 0) {
        if (ids_pool_left == 0) {
            ssize_t got = getrandom(ids_pool, IDS_POOL, 0);
            if (got != IDS_POOL) {
                uuid_t u;
                uuid_generate_random(u);
                int take = n < 16 ? n : 16;
                memcpy(out, u, (size_t)take);
                out += take;
                n -= take;
                continue;
            }
            ids_pool_left = IDS_POOL;
        }
        size_t take = (size_t)n < ids_pool_left ? (size_t)n : ids_pool_left;
        unsigned char *src = ids_pool + (IDS_POOL - ids_pool_left);
        memcpy(out, src, take);
        memset(src, 0, take); /* a byte is handed out once */
        ids_pool_left -= take;
        out += take;
        n -= (int)take;
    }
}

/* splitmix64: small, fast, and good enough for identifiers (not secrets). */
static uint64_t splitmix(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t hash_text(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

void chsm_ids_seed(uint64_t seed)
{
    ids_seeded = 1;
    ids_seed = seed;
    ids_shared_state = seed;
}

int chsm_ids_seeded(void)
{
    return ids_seeded;
}

void chsm_ids_enter(const char *context, chsm_ids_frame *saved)
{
    saved->in_context = ids_in_context;
    saved->state = ids_context_state;
    if (!ids_seeded)
        return;
    ids_in_context = 1;
    ids_context_state = ids_seed ^ hash_text(context);
}

void chsm_ids_leave(const chsm_ids_frame *saved)
{
    ids_in_context = saved->in_context;
    ids_context_state = saved->state;
}

void chsm_ids_next_request_context(char *out, int outlen)
{
    unsigned long long n = atomic_fetch_add(&ids_request_counter, 1) + 1;
    snprintf(out, (size_t)outlen, "req-%llu", n);
}

void chsm_ids_random(void *out, int n)
{
    unsigned char *p = out;
    if (!ids_seeded) {
        ids_kernel_random(p, n);
        return;
    }
    if (!ids_in_context)
        pthread_mutex_lock(&ids_mu);
    uint64_t *state = ids_in_context ? &ids_context_state : &ids_shared_state;
    while (n > 0) {
        uint64_t v = splitmix(state);
        int take = n < 8 ? n : 8;
        memcpy(p, &v, (size_t)take);
        p += take;
        n -= take;
    }
    if (!ids_in_context)
        pthread_mutex_unlock(&ids_mu);
}

void chsm_uuid(char out[37])
{
    uuid_t u;
    chsm_ids_random(u, 16);
    u[6] = (unsigned char)((u[6] & 0x0f) | 0x40); /* version 4 */
    u[8] = (unsigned char)((u[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    uuid_unparse_lower(u, out);
}

void chsm_uuid_hex(char out[33])
{
    unsigned char u[16];
    chsm_ids_random(u, 16);
    u[6] = (unsigned char)((u[6] & 0x0f) | 0x40);
    u[8] = (unsigned char)((u[8] & 0x3f) | 0x80);
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        out[i * 2] = hex[u[i] >> 4];
        out[i * 2 + 1] = hex[u[i] & 0x0f];
    }
    out[32] = '\0';
}

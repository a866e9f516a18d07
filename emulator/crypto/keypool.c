/* keypool.c - a background thread that keeps RSA-2048 key pairs ready. */
#include "crypto/keypool.h"

#include "crypto/keys.h"
#include "util/status.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define POOL_MAX 8

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    int refs;
    int stopping;
    int depth;
    int count;
    unsigned char *der[POOL_MAX];
    size_t len[POOL_MAX];
} pool = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

/* fill keeps the pool at its depth until stopped. */
static void *fill(void *arg)
{
    (void)arg;
#ifdef __linux__
    /* Keys made ahead of time are only an optimisation: the thread runs at the lowest
     * priority so it never takes a core from requests (on Linux, setpriority with who 0
     * sets the calling thread's nice value only). Failure is harmless. */
    (void)setpriority(PRIO_PROCESS, 0, 19);
#endif
    pthread_mutex_lock(&pool.mu);
    while (!pool.stopping) {
        if (pool.count >= pool.depth) {
            pthread_cond_wait(&pool.cv, &pool.mu);
            continue;
        }
        pthread_mutex_unlock(&pool.mu);
        unsigned char *der = NULL;
        size_t len = 0;
        int rc = chsm_crypto_key_generate_rsa_now(2048, 65537, &der, &len);
        pthread_mutex_lock(&pool.mu);
        if (rc != CHSM_OK)
            break; /* no keys ahead of time; callers generate their own */
        if (pool.stopping || pool.count >= POOL_MAX) {
            OPENSSL_cleanse(der, len);
            free(der);
            continue;
        }
        pool.der[pool.count] = der;
        pool.len[pool.count] = len;
        pool.count++;
    }
    pthread_mutex_unlock(&pool.mu);
    return NULL;
}

int chsm_crypto_keypool_start(int depth)
{
    if (depth < 1 || depth > POOL_MAX)
        return CHSM_EINVAL;
    pthread_mutex_lock(&pool.mu);
    int rc = CHSM_OK;
    if (pool.refs == 0) {
        pool.stopping = 0;
        pool.depth = depth;
        if (pthread_create(&pool.thread, NULL, fill, NULL) != 0)
            rc = CHSM_ENOMEM;
    } else if (depth > pool.depth) {
        pool.depth = depth;
        pthread_cond_broadcast(&pool.cv);
    }
    if (rc == CHSM_OK)
        pool.refs++;
    pthread_mutex_unlock(&pool.mu);
    return rc;
}

void chsm_crypto_keypool_stop(void)
{
    pthread_mutex_lock(&pool.mu);
    if (pool.refs == 0 || --pool.refs > 0) {
        pthread_mutex_unlock(&pool.mu);
        return;
    }
    pool.stopping = 1;
    pthread_cond_broadcast(&pool.cv);
    pthread_mutex_unlock(&pool.mu);
    /* The thread may be in the middle of one generation: that is the wait. */
    pthread_join(pool.thread, NULL);
    pthread_mutex_lock(&pool.mu);
    for (int i = 0; i < pool.count; i++) {
        OPENSSL_cleanse(pool.der[i], pool.len[i]);
        free(pool.der[i]);
        pool.der[i] = NULL;
    }
    pool.count = 0;
    pthread_mutex_unlock(&pool.mu);
}

int chsm_crypto_keypool_take(unsigned char **der, size_t *len)
{
    int rc = CHSM_ENOTFOUND;
    pthread_mutex_lock(&pool.mu);
    if (pool.count > 0) {
        pool.count--;
        *der = pool.der[pool.count];
        *len = pool.len[pool.count];
        pool.der[pool.count] = NULL;
        pthread_cond_broadcast(&pool.cv); /* refill */
        rc = CHSM_OK;
    }
    pthread_mutex_unlock(&pool.mu);
    return rc;
}

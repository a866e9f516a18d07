/* md5follow.c - a thread that hashes a file behind its writer (from a
 * mapping of the page cache), woken when enough new bytes are there or the end
 * is asked for. */
#include "crypto/md5follow.h"

#include "crypto/md5stream.h"
#include "util/status.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/* The thread reads this much at a time, and is woken once this much is new. */
#define FOLLOW_CHUNK (256 * 1024)
#define FOLLOW_MAP (4 * 1024 * 1024) /* at most this much is mapped at a time */
#define FOLLOW_WAKE (128 * 1024)

struct chsm_md5_follower {
    int fd;
    long page; /* the mapping granularity */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t more; /* the thread waits here for bytes or the end */
    pthread_cond_t done; /* the caller of _result waits here */
    uint64_t written;    /* bytes reported */
    uint64_t hashed;     /* bytes hashed */
    int thread_waiting;
    int ending;  /* _result: hash what is reported, then finish */
    int stopped; /* _stop: leave now */
    int failed;  /* a read failed: no digest */
    chsm_md5_stream *md5;
    char *buf;
};

/* hash_range hashes len bytes of the file from at: through a read-only
 * mapping of the page cache (no copy), or pread into buf when mapping fails;
 * returns the bytes hashed, <= 0 on failure. */
static ssize_t hash_range(chsm_md5_follower *f, uint64_t at, size_t len)
{
    struct stat st;
    if (fstat(f->fd, &st) != 0 || (uint64_t)st.st_size < at + len)
        return -1; /* shorter than reported: a mapping past its end would fault */
    uint64_t base = at - at % (uint64_t)f->page;
    size_t maplen = (size_t)(at - base) + len;
    void *map = mmap(NULL, maplen, PROT_READ, MAP_SHARED, f->fd, (off_t)base);
    if (map != MAP_FAILED) {
        chsm_crypto_md5_stream_update(f->md5, (const char *)map + (at - base), len);
        munmap(map, maplen);
        return (ssize_t)len;
    }
    size_t want = len < FOLLOW_CHUNK ? len : FOLLOW_CHUNK;
    ssize_t k = pread(f->fd, f->buf, want, (off_t)at);
    while (k < 0 && errno == EINTR)
        k = pread(f->fd, f->buf, want, (off_t)at);
    if (k > 0)
        chsm_crypto_md5_stream_update(f->md5, f->buf, (size_t)k);
    return k;
}

static void *follow(void *arg)
{
    chsm_md5_follower *f = arg;
    pthread_mutex_lock(&f->lock);
    for (;;) {
        while (!f->stopped && !f->failed && f->written - f->hashed < FOLLOW_WAKE &&
               !(f->ending && f->written > f->hashed)) {
            if (f->ending) {
                pthread_cond_broadcast(&f->done); /* everything is hashed */
            }
            f->thread_waiting = 1;
            pthread_cond_wait(&f->more, &f->lock);
            f->thread_waiting = 0;
        }
        if (f->stopped || f->failed)
            break;
        uint64_t avail = f->written - f->hashed;
        uint64_t at = f->hashed;
        pthread_mutex_unlock(&f->lock);
        size_t want = avail < FOLLOW_MAP ? (size_t)avail : FOLLOW_MAP;
        ssize_t k = hash_range(f, at, want);
        pthread_mutex_lock(&f->lock);
        if (k <= 0) {
            f->failed = 1; /* the file is shorter than reported, or unreadable */
            pthread_cond_broadcast(&f->done);
            break;
        }
        f->hashed += (uint64_t)k;
    }
    pthread_mutex_unlock(&f->lock);
    return NULL;
}

chsm_md5_follower *chsm_crypto_md5_follow_start(int fd)
{
    chsm_md5_follower *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->fd = fd;
    f->page = sysconf(_SC_PAGESIZE);
    if (f->page <= 0)
        f->page = 4096;
    f->buf = malloc(FOLLOW_CHUNK);
    f->md5 = chsm_crypto_md5_stream_new();
    if (!f->buf || !f->md5)
        goto fail;
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->more, NULL);
    pthread_cond_init(&f->done, NULL);
    if (pthread_create(&f->thread, NULL, follow, f) != 0) {
        pthread_mutex_destroy(&f->lock);
        pthread_cond_destroy(&f->more);
        pthread_cond_destroy(&f->done);
        goto fail;
    }
    return f;
fail:
    if (f->md5) {
        unsigned char unused[16];
        chsm_crypto_md5_stream_final(f->md5, unused);
    }
    free(f->buf);
    free(f);
    return NULL;
}

void chsm_crypto_md5_follow_wrote(chsm_md5_follower *f, size_t n)
{
    pthread_mutex_lock(&f->lock);
    f->written += n;
    if (f->thread_waiting && f->written - f->hashed >= FOLLOW_WAKE)
        pthread_cond_signal(&f->more);
    pthread_mutex_unlock(&f->lock);
}

int chsm_crypto_md5_follow_result(chsm_md5_follower *f, unsigned char out[16])
{
    pthread_mutex_lock(&f->lock);
    f->ending = 1;
    pthread_cond_signal(&f->more);
    while (!f->failed && f->hashed < f->written)
        pthread_cond_wait(&f->done, &f->lock);
    int failed = f->failed;
    /* The thread waits for more (or a stop) now; it no longer touches the digest. */
    pthread_mutex_unlock(&f->lock);
    if (failed)
        return CHSM_EIO;
    chsm_crypto_md5_stream_final(f->md5, out);
    f->md5 = NULL;
    return CHSM_OK;
}

void chsm_crypto_md5_follow_stop(chsm_md5_follower *f)
{
    if (!f)
        return;
    pthread_mutex_lock(&f->lock);
    f->stopped = 1;
    pthread_cond_signal(&f->more);
    pthread_mutex_unlock(&f->lock);
    pthread_join(f->thread, NULL);
    pthread_mutex_destroy(&f->lock);
    pthread_cond_destroy(&f->more);
    pthread_cond_destroy(&f->done);
    if (f->md5) {
        unsigned char unused[16];
        chsm_crypto_md5_stream_final(f->md5, unused);
    }
    free(f->buf);
    free(f);
}

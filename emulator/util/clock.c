/* clock.c - real time plus a QA-controlled offset, or a frozen instant. */
#include "util/clock.h"

#include <pthread.h>
#include <time.h>

static pthread_mutex_t clock_mu = PTHREAD_MUTEX_INITIALIZER;
static int64_t clock_offset_ms;
static int clock_frozen;
static int64_t clock_frozen_at;

static int64_t real_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t chsm_now_ms(void)
{
    pthread_mutex_lock(&clock_mu);
    int64_t now = clock_frozen ? clock_frozen_at : real_ms() + clock_offset_ms;
    pthread_mutex_unlock(&clock_mu);
    return now;
}

void chsm_clock_set_offset(int64_t offset_ms)
{
    pthread_mutex_lock(&clock_mu);
    clock_offset_ms = offset_ms;
    clock_frozen = 0;
    pthread_mutex_unlock(&clock_mu);
}

void chsm_clock_freeze(int64_t at_ms)
{
    pthread_mutex_lock(&clock_mu);
    clock_frozen = 1;
    clock_frozen_at = at_ms;
    clock_offset_ms = at_ms - real_ms();
    pthread_mutex_unlock(&clock_mu);
}

void chsm_clock_advance(int64_t delta_ms)
{
    pthread_mutex_lock(&clock_mu);
    if (clock_frozen)
        clock_frozen_at += delta_ms;
    clock_offset_ms += delta_ms;
    pthread_mutex_unlock(&clock_mu);
}

void chsm_clock_state(int64_t *offset_ms, int *frozen)
{
    pthread_mutex_lock(&clock_mu);
    *offset_ms = clock_frozen ? clock_frozen_at - real_ms() : clock_offset_ms;
    *frozen = clock_frozen;
    pthread_mutex_unlock(&clock_mu);
}

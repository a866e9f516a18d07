/* faultsim.c - test-only fault simulation (see faultsim.h); empty unless CHSM_FAULT_SIM. */
#include "util/faultsim.h"

#ifdef CHSM_FAULT_SIM
#include <execinfo.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

static struct {
    pthread_mutex_t mu;
    int armed;
    pthread_t owner;
    chsm_faultsim_kind kind;
    long fail_at; /* 0: count only */
    long seen;
    int fired;
    long commits;
} fsim = {PTHREAD_MUTEX_INITIALIZER, 0, 0, CHSM_FAULTSIM_ALLOC, 0, 0, 0, 0};
static atomic_int fsim_armed; /* the cheap check before taking the lock */

void chsm_faultsim_arm(chsm_faultsim_kind kind, long n)
{
    pthread_mutex_lock(&fsim.mu);
    fsim.armed = 1;
    fsim.owner = pthread_self();
    fsim.kind = kind;
    fsim.fail_at = n;
    fsim.seen = 0;
    fsim.fired = 0;
    fsim.commits = 0;
    atomic_store(&fsim_armed, 1);
    pthread_mutex_unlock(&fsim.mu);
}

void chsm_faultsim_disarm(void)
{
    pthread_mutex_lock(&fsim.mu);
    fsim.armed = 0;
    atomic_store(&fsim_armed, 0);
    pthread_mutex_unlock(&fsim.mu);
}

int chsm_faultsim_fired(void)
{
    pthread_mutex_lock(&fsim.mu);
    int f = fsim.fired;
    pthread_mutex_unlock(&fsim.mu);
    return f;
}

long chsm_faultsim_seen(void)
{
    pthread_mutex_lock(&fsim.mu);
    long n = fsim.seen;
    pthread_mutex_unlock(&fsim.mu);
    return n;
}

long chsm_faultsim_commits(void)
{
    pthread_mutex_lock(&fsim.mu);
    long n = fsim.commits;
    pthread_mutex_unlock(&fsim.mu);
    return n;
}

void chsm_faultsim_note_commit(void)
{
    if (!atomic_load(&fsim_armed))
        return;
    pthread_mutex_lock(&fsim.mu);
    if (fsim.armed && pthread_equal(fsim.owner, pthread_self()))
        fsim.commits++;
    pthread_mutex_unlock(&fsim.mu);
}

int chsm_faultsim_fail(chsm_faultsim_kind kind)
{
    if (!atomic_load(&fsim_armed))
        return 0;
    int fail = 0;
    pthread_mutex_lock(&fsim.mu);
    if (fsim.armed && fsim.kind == kind && pthread_equal(fsim.owner, pthread_self())) {
        fsim.seen++;
        if (fsim.fail_at > 0 && fsim.seen == fsim.fail_at) {
            fsim.fired = 1;
            fail = 1;
        }
    }
    pthread_mutex_unlock(&fsim.mu);
    if (fail && getenv("CHSM_FAULTSIM_BACKTRACE")) {
        /* Where the failed event was (glibc backtrace; build with -rdynamic for names). */
        void *frames[16];
        int n = backtrace(frames, 16);
        backtrace_symbols_fd(frames, n, STDERR_FILENO);
    }
    return fail;
}

#else
/* ISO C wants at least one declaration in a translation unit. */
typedef int chsm_faultsim_unused;
#endif

/* oom.c - the per-thread count of failed allocations (see oom.h). */
#include "util/oom.h"

static _Thread_local unsigned long oom_failures;

void chsm_oom_note(void)
{
    oom_failures++;
}

void chsm_failure_note(void)
{
    oom_failures++;
}

unsigned long chsm_oom_count(void)
{
    return oom_failures;
}

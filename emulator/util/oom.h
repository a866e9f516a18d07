/* oom.h - noting that an allocation failed on this thread.
 *
 * Much code builds documents with cJSON calls whose failures are easy to miss (an add that
 * could not allocate leaves a member out). The allocation wrappers (util/buf.h, util/text.h
 * and cJSON's hooks, util/json.h) count every failure here, so the store refuses to commit a
 * transaction during which memory ran out (it might hold a half-built document) and the
 * dispatcher answers 500 instead of a possibly incomplete 2xx/4xx (app/app.c). */
#ifndef CHSM_UTIL_OOM_H
#define CHSM_UTIL_OOM_H

/* chsm_oom_note records one failed allocation on this thread. */
void chsm_oom_note(void);
/* chsm_oom_count returns how many allocations failed on this thread so far. */
unsigned long chsm_oom_count(void);

#endif

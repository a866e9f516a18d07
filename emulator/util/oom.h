/* oom.h - noting failures that code may have swallowed: an allocation or a store statement that
 * failed on this thread.
 *
 * Much code builds documents with cJSON calls whose failures are easy to miss (an add that
 * could not allocate leaves a member out), and many reads treat any failure as "not there".
 * The allocation wrappers (util/buf.h, util/text.h and cJSON's hooks, util/json.h) and the
 * store (SQLite's error log, store/store.c) count every such failure here, so the store refuses
 * to commit a transaction during which one happened (it might hold a half-built document or a
 * decision made on a failed read) and the dispatcher answers 500 instead of a possibly wrong
 * 2xx/4xx (app/app.c). */
#ifndef CHSM_UTIL_OOM_H
#define CHSM_UTIL_OOM_H

/* chsm_oom_note records one failed allocation on this thread. */
void chsm_oom_note(void);
/* chsm_failure_note records one failed store statement (I/O, corruption, interruption, out of
 * memory inside SQLite) on this thread; it counts with the failed allocations. */
void chsm_failure_note(void);
/* chsm_oom_count returns how many allocations and store statements failed on this thread so
 * far. */
unsigned long chsm_oom_count(void);

#endif

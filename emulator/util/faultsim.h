/* faultsim.h - test-only fault simulation, in the style of SQLite's fault tests.
 *
 * Built only with the CMake option CHSM_FAULT_SIM (off by default; scripts/test.sh turns it on
 * in the sanitizer build, which tests/unit/test_faultsim.c runs in). A test arms one kind of
 * fault with a countdown: the Nth allocation through the util wrappers (util/buf.h,
 * util/text.h) and cJSON (its hooks, chsm_json_init in util/json.h), the Nth SQL statement
 * the store runs (transaction control excluded), or the Nth write(2) of the Blob content
 * writer then fails, once. Only events on the thread that armed the fault count, so background
 * threads cannot move the countdown. Without the option every hook is the constant 0. */
#ifndef CHSM_UTIL_FAULTSIM_H
#define CHSM_UTIL_FAULTSIM_H

typedef enum chsm_faultsim_kind {
    CHSM_FAULTSIM_ALLOC = 0, /* malloc/realloc in util wrappers and cJSON */
    CHSM_FAULTSIM_SQL,       /* one SQL statement of the store (not BEGIN/COMMIT/ROLLBACK) */
    CHSM_FAULTSIM_WRITE,     /* one write(2) of the Blob content writer */
    CHSM_FAULTSIM_KINDS
} chsm_faultsim_kind;

#ifdef CHSM_FAULT_SIM
/* chsm_faultsim_arm makes the nth event of kind on this thread fail (n >= 1) and restarts the
 * count; n = 0 only counts. */
void chsm_faultsim_arm(chsm_faultsim_kind kind, long n);
/* chsm_faultsim_disarm stops counting and failing. */
void chsm_faultsim_disarm(void);
/* chsm_faultsim_fired tells whether the armed fault has failed its event. */
int chsm_faultsim_fired(void);
/* chsm_faultsim_seen returns how many events of the armed kind happened since arming. */
long chsm_faultsim_seen(void);
/* chsm_faultsim_commits returns how many store transactions this thread committed since arming
 * (a fault after the commit cannot leave the state unchanged; the store notes commits). */
long chsm_faultsim_commits(void);
/* chsm_faultsim_note_commit is the store's commit hook. */
void chsm_faultsim_note_commit(void);
/* chsm_faultsim_fail is the hook: counts one event of kind and returns 1 when it must fail. */
int chsm_faultsim_fail(chsm_faultsim_kind kind);
#define CHSM_FAULTSIM_FAIL(kind) chsm_faultsim_fail(kind)
#else
#define CHSM_FAULTSIM_FAIL(kind) 0
#endif

#endif

/* timing.h - how long each kind of long-running operation takes, and the
 * progress steps it reports on the way.
 *
 * The table starts from --op-duration and QA may change it at runtime
 * (/_emulator/timing). A rule names an operation kind ("cloudHsmClusters/backup"),
 * its last word ("backup") or "*"; the most recently set matching rule wins.
 * A change applies to operations started afterwards; the progress of a
 * running one is computed on read from its start and due times, so it needs
 * no writes and follows the QA clock. */
#ifndef CHSM_ARM_TIMING_H
#define CHSM_ARM_TIMING_H

#include <cjson/cJSON.h>
#include <stdint.h>

struct chsm_config;
typedef struct chsm_timing chsm_timing;

#define CHSM_TIMING_MAX_RULES 64
#define CHSM_TIMING_MAX_STEPS 100
#define CHSM_TIMING_MAX_DETAILS 16
#define CHSM_TIMING_MAX_DURATION_MS ((int64_t)24 * 3600 * 1000)

/* chsm_timing_new creates the table from cfg's --op-duration rules (caller frees). */
chsm_timing *chsm_timing_new(const struct chsm_config *cfg);
/* chsm_timing_free frees t (NULL is fine). */
void chsm_timing_free(chsm_timing *t);
/* chsm_timing_duration_ms returns how long an operation of kind takes (0 if no rule). */
int64_t chsm_timing_duration_ms(chsm_timing *t, const char *kind);
/* chsm_timing_progress computes a running operation's percent (0..99) and
 * copies its step's status text into details (empty when none); end_ms is
 * when it is due, or <= 0 when held (the rule's duration is used then). */
void chsm_timing_progress(chsm_timing *t, const char *kind, int64_t start_ms, int64_t end_ms,
                          int64_t now_ms, int *percent, char *details, size_t detailslen);
/* chsm_timing_set adds or replaces the rule of rule_json
 * ({"kind","durationMs"|"duration","steps"?,"statusDetails"?}); on bad input
 * returns CHSM_EINVAL with a message naming the field in err. */
int chsm_timing_set(chsm_timing *t, const cJSON *rule_json, char *err, size_t errlen);
/* chsm_timing_delete removes the rule for kind; CHSM_ENOTFOUND when absent. */
int chsm_timing_delete(chsm_timing *t, const char *kind);
/* chsm_timing_reset goes back to the rules given at start. */
void chsm_timing_reset(chsm_timing *t);
/* chsm_timing_to_json lists the rules, oldest first (caller frees). */
cJSON *chsm_timing_to_json(chsm_timing *t);

#endif

/* log.h - the emulator's log: one line per event on stderr, filtered by level.
 *
 * Only the top of the program (main, the access log) writes here; layers
 * below return errors to their callers instead. */
#ifndef CHSM_APP_LOG_H
#define CHSM_APP_LOG_H

#include "util/status.h"

/* chsm_log_set_level sets the most verbose level written (enum chsm_log_level). */
void chsm_log_set_level(int level);
/* chsm_log writes one line at level when it passes the filter. */
void chsm_log(int level, const char *fmt, ...) CHSM_PRINTF(2, 3);

#endif

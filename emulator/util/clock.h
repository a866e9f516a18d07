/* clock.h - the emulator's notion of now.
 *
 * Everything that stamps or schedules (systemData, operation due times,
 * token expiry) asks chsm_now_ms, so QA can move time: an offset shifts the
 * real clock, and a frozen clock stands still until moved (with seeded ids
 * this makes two runs of one script produce the same bytes). */
#ifndef CHSM_UTIL_CLOCK_H
#define CHSM_UTIL_CLOCK_H

#include <stdint.h>

/* chsm_now_ms returns the emulator's now in milliseconds since the epoch. */
int64_t chsm_now_ms(void);
/* chsm_clock_set_offset shifts now by offset_ms from the real clock (unfreezes). */
void chsm_clock_set_offset(int64_t offset_ms);
/* chsm_clock_freeze stops the clock at at_ms (ms since the epoch). */
void chsm_clock_freeze(int64_t at_ms);
/* chsm_clock_advance moves now forward by delta_ms (frozen or not). */
void chsm_clock_advance(int64_t delta_ms);
/* chsm_clock_state reports the offset and whether the clock is frozen. */
void chsm_clock_state(int64_t *offset_ms, int *frozen);

#endif

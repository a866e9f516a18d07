/* log.c - leveled one-line log on stderr. */
#include "app/log.h"

#include "app/config.h"
#include "util/text.h"

#include <stdarg.h>
#include <stdio.h>

static int log_level = CHSM_LOG_INFO;

void chsm_log_set_level(int level)
{
    log_level = level;
}

void chsm_log(int level, const char *fmt, ...)
{
    if (level > log_level)
        return;
    static const char *const names[] = {"error", "warn", "info", "debug"};
    char ts[40], line[2048];
    chsm_format_time(chsm_now_ms(), ts, sizeof ts);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* One fprintf per line so lines from worker threads do not interleave. */
    fprintf(stderr, "%s %-5s %s\n", ts, names[level & 3], line);
}

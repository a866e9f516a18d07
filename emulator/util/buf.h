/* buf.h - a growable byte buffer for building strings and bodies.
 *
 * A chsm_buf owns its memory; chsm_buf_steal hands it to the caller. After an
 * allocation failure the buffer is marked failed and further appends are
 * no-ops, so builders check once at the end. */
#ifndef CHSM_UTIL_BUF_H
#define CHSM_UTIL_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct chsm_buf {
    char *data; /* always NUL-terminated when len > 0 */
    size_t len;
    size_t cap;
    int failed; /* an allocation failed; contents are incomplete */
} chsm_buf;

/* chsm_buf_append adds n bytes. */
void chsm_buf_append(chsm_buf *b, const void *data, size_t n);
/* chsm_buf_puts adds a NUL-terminated string. */
void chsm_buf_puts(chsm_buf *b, const char *s);
/* chsm_buf_printf adds formatted text. */
void chsm_buf_printf(chsm_buf *b, const char *fmt, ...);
/* chsm_buf_vprintf adds formatted text from a va_list. */
void chsm_buf_vprintf(chsm_buf *b, const char *fmt, va_list ap);
/* chsm_buf_steal returns the owned string (never NULL unless failed) and resets b. */
char *chsm_buf_steal(chsm_buf *b);
/* chsm_buf_free releases the buffer's memory. */
void chsm_buf_free(chsm_buf *b);

#endif

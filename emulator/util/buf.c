/* buf.c - growable byte buffer. */
#include "util/buf.h"

#include "util/faultsim.h"
#include "util/oom.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int buf_reserve(chsm_buf *b, size_t extra)
{
    if (b->failed)
        return -1;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    char *p = CHSM_FAULTSIM_FAIL(CHSM_FAULTSIM_ALLOC) ? NULL : realloc(b->data, cap);
    if (!p) {
        b->failed = 1;
        chsm_oom_note();
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

void chsm_buf_append(chsm_buf *b, const void *data, size_t n)
{
    if (buf_reserve(b, n) != 0)
        return;
    if (n)
        memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void chsm_buf_puts(chsm_buf *b, const char *s)
{
    chsm_buf_append(b, s, strlen(s));
}

void chsm_buf_vprintf(chsm_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0 || buf_reserve(b, (size_t)n) != 0)
        return;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void chsm_buf_printf(chsm_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    chsm_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

char *chsm_buf_steal(chsm_buf *b)
{
    char *s;
    if (b->failed) {
        free(b->data);
        s = NULL;
    } else if (!b->data) {
        s = calloc(1, 1);
    } else {
        s = b->data;
    }
    b->data = NULL;
    b->len = b->cap = 0;
    b->failed = 0;
    return s;
}

void chsm_buf_free(chsm_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->failed = 0;
}

/* util.c - errors, buffers, base64, files, random ids and time for the client library. */
#include "chsmc.h"

#include <cjson/cJSON.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void chsmc_error_clear(chsmc_error *e)
{
    if (e)
        memset(e, 0, sizeof *e);
}

int chsmc_error_set(chsmc_error *e, int rc, const char *code, const char *fmt, ...)
{
    if (!e)
        return rc;
    chsmc_copy(e->code, sizeof e->code, code);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return rc;
}

static void copy_json_str(char *dst, size_t n, const cJSON *obj, const char *key)
{
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, key));
    if (v)
        chsmc_copy(dst, n, v);
}

int chsmc_error_parse(const char *body, long http_status, chsmc_error *e)
{
    chsmc_error tmp;
    if (!e)
        e = &tmp;
    memset(e, 0, sizeof *e);
    e->http_status = http_status;
    cJSON *j = body && *body ? cJSON_Parse(body) : NULL;
    int found = 0;
    if (j) {
        const cJSON *err = cJSON_GetObjectItemCaseSensitive(j, "error");
        if (cJSON_IsObject(err)) {
            copy_json_str(e->code, sizeof e->code, err, "code");
            copy_json_str(e->message, sizeof e->message, err, "message");
            copy_json_str(e->target, sizeof e->target, err, "target");
            copy_json_str(e->hsm_return, sizeof e->hsm_return, err, "hsmReturn");
            found = e->code[0] != '\0';
        } else if (cJSON_IsString(err)) { /* OAuth 2 error */
            copy_json_str(e->code, sizeof e->code, j, "error");
            copy_json_str(e->message, sizeof e->message, j, "error_description");
            found = 1;
        } else if (cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "code"))) {
            copy_json_str(e->code, sizeof e->code, j, "code");
            copy_json_str(e->message, sizeof e->message, j, "message");
            found = 1;
        }
        cJSON_Delete(j);
    }
    if (!found) {
        chsmc_copy(e->code, sizeof e->code, "HttpError");
        snprintf(e->message, sizeof e->message, "HTTP %ld%s%.300s", http_status,
                 body && *body ? ": " : " with an empty body", body ? body : "");
    } else if (!e->message[0]) {
        snprintf(e->message, sizeof e->message, "HTTP %ld", http_status);
    }
    return found ? 0 : 1;
}

void chsmc_error_prefix(chsmc_error *e, const char *prefix)
{
    if (!e || !prefix)
        return;
    size_t cap = sizeof e->message;
    size_t plen = strlen(prefix);
    if (plen >= cap)
        plen = cap - 1;
    size_t mlen = strlen(e->message);
    if (plen + mlen >= cap)
        mlen = cap - 1 - plen;
    memmove(e->message + plen, e->message, mlen);
    memcpy(e->message, prefix, plen);
    e->message[plen + mlen] = '\0';
}

const char *chsmc_status_name(int rc)
{
    switch (rc) {
    case CHSMC_OK:
        return "ok";
    case CHSMC_EFAIL:
        return "failed";
    case CHSMC_EUSAGE:
        return "usage";
    case CHSMC_EHTTP:
        return "http";
    case CHSMC_EOPFAILED:
        return "operation-failed";
    case CHSMC_ECONNECT:
        return "unreachable";
    case CHSMC_ETIMEOUT:
        return "timeout";
    case CHSMC_ENOMEM:
        return "no-memory";
    case CHSMC_EIO:
        return "io";
    default:
        return "unknown";
    }
}

int chsmc_buf_append(chsmc_buf *b, const void *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d)
            return CHSMC_ENOMEM;
        b->data = d;
        b->cap = cap;
    }
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return CHSMC_OK;
}

int chsmc_buf_printf(chsmc_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return CHSMC_ENOMEM;
    char *tmp = malloc((size_t)n + 1);
    if (!tmp)
        return CHSMC_ENOMEM;
    va_start(ap, fmt);
    vsnprintf(tmp, (size_t)n + 1, fmt, ap);
    va_end(ap);
    int rc = chsmc_buf_append(b, tmp, (size_t)n);
    free(tmp);
    return rc;
}

void chsmc_buf_free(chsmc_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *chsmc_base64_encode(const void *p, size_t n)
{
    const unsigned char *s = p;
    char *out = malloc((n + 2) / 3 * 4 + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)s[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)s[i + 1] << 8;
        if (i + 2 < n)
            v |= s[i + 2];
        out[o++] = b64[(v >> 18) & 63];
        out[o++] = b64[(v >> 12) & 63];
        out[o++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? b64[v & 63] : '=';
    }
    out[o] = '\0';
    return out;
}

static int b64_value(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

unsigned char *chsmc_base64_decode(const char *s, size_t *outlen)
{
    size_t n = strlen(s);
    unsigned char *out = malloc(n / 4 * 3 + 4);
    if (!out)
        return NULL;
    unsigned acc = 0;
    int bits = 0, pad = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isspace(c))
            continue;
        if (c == '=') {
            pad++;
            continue;
        }
        int v = b64_value(c);
        if (v < 0 || pad) {
            free(out);
            return NULL;
        }
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)((acc >> bits) & 0xff);
        }
    }
    if (pad > 2 || bits >= 6) {
        free(out);
        return NULL;
    }
    *outlen = o;
    return out;
}

char *chsmc_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    chsmc_buf b = {0};
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (chsmc_buf_append(&b, chunk, n) != CHSMC_OK) {
            fclose(f);
            chsmc_buf_free(&b);
            errno = ENOMEM;
            return NULL;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        chsmc_buf_free(&b);
        errno = EIO;
        return NULL;
    }
    if (!b.data && chsmc_buf_append(&b, "", 0) != CHSMC_OK)
        return NULL;
    if (len)
        *len = b.len;
    return b.data;
}

int chsmc_write_file(const char *path, const void *data, size_t n, int mode)
{
    size_t plen = strlen(path) + 32;
    char *tmp = malloc(plen);
    if (!tmp)
        return CHSMC_ENOMEM;
    char rnd[9];
    chsmc_random_hex(rnd, 8);
    snprintf(tmp, plen, "%s.tmp-%s", path, rnd);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, mode ? mode : 0600);
    if (fd < 0) {
        free(tmp);
        return CHSMC_EIO;
    }
    const char *p = data;
    size_t left = n;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            close(fd);
            unlink(tmp);
            free(tmp);
            return CHSMC_EIO;
        }
        p += w;
        left -= (size_t)w;
    }
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        free(tmp);
        return CHSMC_EIO;
    }
    free(tmp);
    return CHSMC_OK;
}

static void random_bytes(unsigned char *out, size_t n)
{
    int fd = open("/dev/urandom", O_RDONLY);
    size_t got = 0;
    if (fd >= 0) {
        while (got < n) {
            ssize_t r = read(fd, out + got, n - got);
            if (r <= 0)
                break;
            got += (size_t)r;
        }
        close(fd);
    }
    if (got < n) { /* no /dev/urandom: ids only need to be unlikely to collide */
        static unsigned long state;
        if (!state)
            state = (unsigned long)time(NULL) ^ ((unsigned long)getpid() << 16);
        for (; got < n; got++) {
            state = state * 6364136223846793005UL + 1442695040888963407UL;
            out[got] = (unsigned char)(state >> 33);
        }
    }
}

void chsmc_uuid(char out[37])
{
    unsigned char b[16];
    random_bytes(b, sizeof b);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

void chsmc_random_hex(char *out, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[64];
    size_t done = 0;
    while (done < n) {
        size_t take = n - done < sizeof b ? n - done : sizeof b;
        random_bytes(b, take);
        for (size_t i = 0; i < take; i++)
            out[done + i] = hex[b[i] & 15];
        done += take;
    }
    out[n] = '\0';
}

int chsmc_streq_ci(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    while (*a && *b) {
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return 0;
        a++;
        b++;
    }
    return *a == *b;
}

char *chsmc_copy(char *dst, size_t n, const char *src)
{
    if (n == 0)
        return dst;
    snprintf(dst, n, "%s", src ? src : "");
    return dst;
}

void chsmc_sleep_ms(long ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

long long chsmc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* chsmc.h - the chsm client library: status codes, the error record and the
 * small helpers every other chsmc_ header uses.
 *
 * The library speaks HTTP to a running chsm-emulator (ARM endpoints, the
 * token endpoint and the simulated HSM data plane); it never links the
 * emulator. Functions return a chsmc_status and fill a chsmc_error; nothing
 * is printed. The status values are also chsmctl's exit codes. */
#ifndef CHSMC_H
#define CHSMC_H

#include <stddef.h>

/* Lets the compiler check printf-style formats where it can (GCC and Clang). */
#if defined(__GNUC__) || defined(__clang__)
#define CHSMC_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define CHSMC_PRINTF(fmt, args)
#endif

/* Results of library calls; chsmctl exits with the same numbers. */
typedef enum chsmc_status {
    CHSMC_OK = 0,
    CHSMC_EFAIL = 1,     /* a check failed (e.g. dr verification), or a generic failure */
    CHSMC_EUSAGE = 2,    /* bad arguments or bad input file */
    CHSMC_EHTTP = 3,     /* the server answered with an HTTP/ARM/HSM error */
    CHSMC_EOPFAILED = 4, /* a long-running operation ended Failed or Canceled */
    CHSMC_ECONNECT = 5,  /* no emulator found, or it cannot be reached */
    CHSMC_ETIMEOUT = 6,  /* waiting for an operation took longer than allowed */
    CHSMC_ENOMEM = 7,    /* out of memory */
    CHSMC_EIO = 8,       /* a local file could not be read or written */
} chsmc_status;

/* What went wrong, as far as the library knows. */
typedef struct chsmc_error {
    long http_status;    /* 0 when no response was received */
    char code[128];      /* error.code of the envelope, or a library code */
    char message[1024];  /* error.message, or a library message */
    char hsm_return[32]; /* error.hsmReturn of the HSM data plane, "" if none */
    char target[128];    /* error.target, "" if none */
} chsmc_error;

/* chsmc_error_clear empties e (NULL is fine). */
void chsmc_error_clear(chsmc_error *e);
/* chsmc_error_set fills e with code and a formatted message and returns rc. */
int chsmc_error_set(chsmc_error *e, int rc, const char *code, const char *fmt, ...)
    CHSMC_PRINTF(4, 5);
/* chsmc_error_parse fills e from an error response body (ARM envelope
 * {"error":{"code","message","target","hsmReturn"}}, OAuth {"error",
 * "error_description"} or a bare {"code","message"}); when the body is none of
 * those, code is "HttpError" and the message quotes the status and the body.
 * Returns 0 when an envelope was found, 1 otherwise. */
int chsmc_error_parse(const char *body, long http_status, chsmc_error *e);
/* chsmc_error_prefix puts prefix in front of e's message (truncating at the end). */
void chsmc_error_prefix(chsmc_error *e, const char *prefix);
/* chsmc_status_name is a short name of rc ("ok", "usage", "http", ...). */
const char *chsmc_status_name(int rc);

/* A growable byte buffer, always NUL-terminated when data != NULL. */
typedef struct chsmc_buf {
    char *data;
    size_t len;
    size_t cap;
} chsmc_buf;

/* chsmc_buf_append adds n bytes; returns CHSMC_OK or CHSMC_ENOMEM. */
int chsmc_buf_append(chsmc_buf *b, const void *p, size_t n);
/* chsmc_buf_printf appends formatted text. */
int chsmc_buf_printf(chsmc_buf *b, const char *fmt, ...) CHSMC_PRINTF(2, 3);
/* chsmc_buf_free releases b's memory and empties it. */
void chsmc_buf_free(chsmc_buf *b);

/* chsmc_base64_encode returns standard base64 of n bytes (caller frees), NULL on OOM. */
char *chsmc_base64_encode(const void *p, size_t n);
/* chsmc_base64_decode decodes standard base64 (padding optional, whitespace skipped) into a
 * new buffer (caller frees) and its length; NULL on bad input or OOM. */
unsigned char *chsmc_base64_decode(const char *s, size_t *outlen);

/* chsmc_read_file loads a whole file (caller frees, NUL-terminated); NULL with errno set. */
char *chsmc_read_file(const char *path, size_t *len);
/* chsmc_write_file writes n bytes to path (created 0600 when mode is 0, else mode), replacing
 * it atomically through a temp file; CHSMC_OK or CHSMC_EIO. */
int chsmc_write_file(const char *path, const void *data, size_t n, int mode);

/* chsmc_uuid writes a random version-4 UUID (36 characters + NUL) into out. */
void chsmc_uuid(char out[37]);
/* chsmc_random_hex writes n random lowercase hex digits + NUL into out (n+1 bytes). */
void chsmc_random_hex(char *out, size_t n);
/* chsmc_streq_ci compares ASCII strings case-insensitively; NULLs are equal only to NULL. */
int chsmc_streq_ci(const char *a, const char *b);
/* chsmc_copy copies src (NULL means "") into dst of size n, truncating; returns dst. */
char *chsmc_copy(char *dst, size_t n, const char *src);
/* chsmc_sleep_ms sleeps ms milliseconds. */
void chsmc_sleep_ms(long ms);
/* chsmc_now_ms is a monotonic clock in milliseconds. */
long long chsmc_now_ms(void);

#endif

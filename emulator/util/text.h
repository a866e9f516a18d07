/* text.h - string, time and identifier helpers. */
#ifndef CHSM_UTIL_TEXT_H
#define CHSM_UTIL_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "util/clock.h"
#include "util/ids.h"

/* chsm_strdup copies s (NULL stays NULL); the caller frees. */
char *chsm_strdup(const char *s);
/* chsm_strndup copies at most n bytes of s; the caller frees. */
char *chsm_strndup(const char *s, size_t n);
/* chsm_lower_dup returns an ASCII-lowercased copy of s; the caller frees. */
char *chsm_lower_dup(const char *s);
/* chsm_streq_ci compares two strings ASCII case-insensitively (NULLs equal only to NULL). */
int chsm_streq_ci(const char *a, const char *b);
/* chsm_starts_with_ci tells whether s begins with prefix, ignoring ASCII case. */
int chsm_starts_with_ci(const char *s, const char *prefix);
/* chsm_percent_decode decodes %XX escapes of n bytes into a new string; '+' stays
 * '+'. Returns NULL on a malformed escape or a decoded NUL byte. */
char *chsm_percent_decode(const char *s, size_t n);
/* chsm_percent_decode_rc is chsm_percent_decode telling why it failed: CHSM_EINVAL for a bad
 * escape or a NUL, CHSM_ENOMEM when out of memory; *out (caller frees) is NULL on failure. */
int chsm_percent_decode_rc(const char *s, size_t n, char **out);
/* chsm_percent_encode escapes everything but unreserved characters (and '/'
 * when keep_slash); the caller frees. */
char *chsm_percent_encode(const char *s, int keep_slash);

/* chsm_format_time writes ms-since-epoch as ISO 8601 UTC with 7 fractional
 * digits, as ARM does ("2025-06-13T14:36:45.1234567Z"); out needs 32 bytes. */
void chsm_format_time(int64_t ms, char *out, size_t outlen);
/* chsm_format_http_date writes an RFC 1123 date for Last-Modified / Date; out needs 32 bytes. */
void chsm_format_http_date(int64_t ms, char *out, size_t outlen);
/* chsm_is_uuid tells whether s is a canonical 8-4-4-4-12 hex UUID. */
int chsm_is_uuid(const char *s);
/* chsm_utf8_valid tells whether the n bytes at s are well-formed UTF-8 (RFC 3629: no overlong
 * forms, surrogates or code points beyond U+10FFFF). */
int chsm_utf8_valid(const char *s, size_t n);

#endif

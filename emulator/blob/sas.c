/* sas.c - parsing and verifying shared access signatures. */
#include "blob/sas.h"

#include "blob/sharedkey.h"
#include "util/buf.h"
#include "util/status.h"
#include "util/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *q(const chsm_request *req, const char *name)
{
    const char *v = chsm_request_query(req, name);
    return v ? v : "";
}

int chsm_blob_sas_parse(const chsm_request *req, chsm_blob_sas *s)
{
    memset(s, 0, sizeof *s);
    if (!chsm_request_query(req, "sig"))
        return 0;
    s->sv = q(req, "sv");
    s->sp = q(req, "sp");
    s->st = q(req, "st");
    s->se = q(req, "se");
    s->sip = q(req, "sip");
    s->spr = q(req, "spr");
    s->sig = q(req, "sig");
    s->ss = q(req, "ss");
    s->srt = q(req, "srt");
    s->ses = q(req, "ses");
    s->sr = q(req, "sr");
    s->si = q(req, "si");
    s->snapshot = ""; /* snapshot SAS (sr=bs) is not supported */
    s->rscc = q(req, "rscc");
    s->rscd = q(req, "rscd");
    s->rsce = q(req, "rsce");
    s->rscl = q(req, "rscl");
    s->rsct = q(req, "rsct");
    s->user_delegation = chsm_request_query(req, "skoid") != NULL;
    s->kind = *s->ss || *s->srt ? CHSM_SAS_ACCOUNT : CHSM_SAS_SERVICE;
    return 1;
}

char *chsm_blob_sas_string_to_sign(const chsm_blob_sas *s, const char *account,
                                   const char *container, const char *blob)
{
    chsm_buf b = {0};
    if (strcmp(s->sv, "2015-04-05") < 0)
        return NULL;
    if (s->kind == CHSM_SAS_ACCOUNT) {
        chsm_buf_printf(&b, "%s\n%s\n%s\n%s\n%s\n%s\n%s\n%s\n%s\n", account, s->sp, s->ss, s->srt,
                        s->st, s->se, s->sip, s->spr, s->sv);
        if (strcmp(s->sv, "2020-12-06") >= 0)
            chsm_buf_printf(&b, "%s\n", s->ses);
    } else {
        int is_blob = strcmp(s->sr, "b") == 0;
        chsm_buf_printf(&b, "%s\n%s\n%s\n/blob/%s/%s%s%s\n%s\n%s\n%s\n%s\n", s->sp, s->st, s->se,
                        account, container ? container : "", is_blob ? "/" : "",
                        is_blob && blob ? blob : "", s->si, s->sip, s->spr, s->sv);
        if (strcmp(s->sv, "2018-11-09") >= 0)
            chsm_buf_printf(&b, "%s\n%s\n", s->sr, s->snapshot);
        if (strcmp(s->sv, "2020-12-06") >= 0)
            chsm_buf_printf(&b, "%s\n", s->ses);
        chsm_buf_printf(&b, "%s\n%s\n%s\n%s\n%s", s->rscc, s->rscd, s->rsce, s->rscl, s->rsct);
    }
    if (b.failed) {
        chsm_buf_free(&b);
        return NULL;
    }
    return chsm_buf_steal(&b);
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int chsm_blob_parse_iso8601(const char *s, int64_t *ms)
{
    int y, mo, d, h = 0, mi = 0, sec = 0;
    size_t n = strlen(s);
    if (n < 10 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
        digits(s + 8, 2, &d))
        return CHSM_EINVAL;
    const char *p = s + 10;
    if (*p) {
        if (*p != 'T' || strlen(p) < 7 || digits(p + 1, 2, &h) || p[3] != ':' ||
            digits(p + 4, 2, &mi))
            return CHSM_EINVAL;
        p += 6;
        if (*p == ':') {
            if (digits(p + 1, 2, &sec))
                return CHSM_EINVAL;
            p += 3;
            if (*p == '.') {
                p++;
                while (*p >= '0' && *p <= '9')
                    p++;
            }
        }
        if (strcmp(p, "Z") != 0)
            return CHSM_EINVAL;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return CHSM_EINVAL;
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return CHSM_EINVAL;
    *ms = (int64_t)t * 1000;
    return CHSM_OK;
}

/* A thread's recently verified signatures. One SAS usually signs many
 * requests (an account SAS signs every request of a client), and its HMAC is
 * the largest part of the check. An entry holds the key, the string to sign
 * and the signature that matched; a hit needs all three equal (the signature
 * compared in constant time), so a regenerated key or any other field misses.
 * Fixed-size, thread-local: no lock and nothing to free. */
#define SAS_MEMO_ENTRIES 8
typedef struct sas_memo {
    char key[100];
    char sts[600];
    char sig[64];
} sas_memo;
static _Thread_local sas_memo memo[SAS_MEMO_ENTRIES];
static _Thread_local unsigned memo_next;

static int memo_fits(const char *key, const char *sts, const char *sig)
{
    return strlen(key) < sizeof memo[0].key && strlen(sts) < sizeof memo[0].sts &&
           strlen(sig) < sizeof memo[0].sig;
}

/* memo_verified tells whether sig was verified for sts with key before. */
static int memo_verified(const char *key, const char *sts, const char *sig)
{
    for (int i = 0; i < SAS_MEMO_ENTRIES; i++) {
        const sas_memo *m = &memo[i];
        if (m->key[0] && strcmp(m->key, key) == 0 && strcmp(m->sts, sts) == 0 &&
            chsm_blob_signature_matches(m->sig, sig))
            return 1;
    }
    return 0;
}

static void memo_add(const char *key, const char *sts, const char *sig)
{
    if (!memo_fits(key, sts, sig))
        return;
    sas_memo *m = &memo[memo_next++ % SAS_MEMO_ENTRIES];
    snprintf(m->key, sizeof m->key, "%s", key);
    snprintf(m->sts, sizeof m->sts, "%s", sts);
    snprintf(m->sig, sizeof m->sig, "%s", sig);
}

static int set_why(char *why, size_t whylen, int result, const char *fmt, const char *arg)
{
    if (why && whylen)
        snprintf(why, whylen, fmt, arg ? arg : "");
    return result;
}

int chsm_blob_sas_check(const chsm_blob_sas *s, const char *account, const char *container,
                        const char *blob, const char *const *keys, size_t nkeys, int64_t now_ms,
                        int https, int level, const char *perms, char *why, size_t whylen)
{
    if (s->user_delegation)
        return set_why(why, whylen, CHSM_SAS_UNSUPPORTED,
                       "User delegation SAS is not supported by this emulator.%s", NULL);
    if (*s->si)
        return set_why(why, whylen, CHSM_SAS_UNSUPPORTED,
                       "The signed identifier '%s' does not name a stored access policy.", s->si);
    if (!*s->sv || strcmp(s->sv, "2015-04-05") < 0)
        return set_why(why, whylen, CHSM_SAS_UNSUPPORTED,
                       "The signed version '%s' is not supported; use 2015-04-05 or later.", s->sv);
    if (s->kind == CHSM_SAS_SERVICE && strcmp(s->sr, "b") != 0 && strcmp(s->sr, "c") != 0)
        return set_why(why, whylen, CHSM_SAS_UNSUPPORTED,
                       "The signed resource '%s' is not supported; use b or c.", s->sr);
    char *sts = chsm_blob_sas_string_to_sign(s, account, container, blob);
    if (!sts)
        return set_why(why, whylen, CHSM_SAS_UNSUPPORTED, "The SAS form is not supported.%s", NULL);
    int matched = 0;
    for (size_t i = 0; i < nkeys && !matched; i++)
        matched = keys[i] && *keys[i] && memo_verified(keys[i], sts, s->sig);
    for (size_t i = 0; i < nkeys && !matched; i++) {
        if (!keys[i] || !*keys[i])
            continue;
        char *sig = chsm_blob_hmac_base64(keys[i], sts);
        matched = chsm_blob_signature_matches(sig, s->sig);
        free(sig);
        if (matched)
            memo_add(keys[i], sts, s->sig);
    }
    if (!matched) {
        int r = set_why(why, whylen, CHSM_SAS_BAD_SIGNATURE,
                        "Signature did not match. String to sign used was %s", sts);
        free(sts);
        return r;
    }
    free(sts);
    int64_t start = 0, expiry = 0;
    if (!*s->se || chsm_blob_parse_iso8601(s->se, &expiry) != CHSM_OK)
        return set_why(why, whylen, CHSM_SAS_BAD_TIME,
                       "Signed expiry time '%s' is missing or malformed.", s->se);
    if (*s->st && chsm_blob_parse_iso8601(s->st, &start) != CHSM_OK)
        return set_why(why, whylen, CHSM_SAS_BAD_TIME, "Signed start time '%s' is malformed.",
                       s->st);
    if (now_ms >= expiry || (*s->st && now_ms < start))
        return set_why(why, whylen, CHSM_SAS_BAD_TIME,
                       "Signature not valid in the specified time frame (expiry %s).", s->se);
    if (strcmp(s->spr, "https") == 0 && !https)
        return set_why(why, whylen, CHSM_SAS_PROTOCOL, "This SAS allows HTTPS only.%s", NULL);
    if (s->kind == CHSM_SAS_ACCOUNT) {
        if (!strchr(s->ss, 'b'))
            return set_why(why, whylen, CHSM_SAS_SERVICE_MISMATCH,
                           "The SAS does not grant the Blob service (ss=%s).", s->ss);
        if (!strchr(s->srt, (char)level))
            return set_why(why, whylen, CHSM_SAS_RESOURCE_MISMATCH,
                           "The SAS does not grant this resource type (srt=%s).", s->srt);
    } else {
        int ok = (level == CHSM_SAS_LEVEL_OBJECT) ||
                 (level == CHSM_SAS_LEVEL_CONTAINER && strcmp(s->sr, "c") == 0);
        if (!ok)
            return set_why(why, whylen, CHSM_SAS_RESOURCE_MISMATCH,
                           "A service SAS (sr=%s) does not grant this resource type.", s->sr);
    }
    for (const char *p = perms; *p; p++)
        if (strchr(s->sp, *p))
            return CHSM_SAS_OK;
    return set_why(why, whylen, CHSM_SAS_PERMISSION,
                   "The SAS permissions (sp=%s) do not allow this operation.", s->sp);
}

/* timing.c - the operation timing table: durations and progress steps per kind. */
#include "arm/timing.h"

#include "app/config.h"
#include "util/status.h"
#include "util/text.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct timing_rule {
    char kind[48];
    int64_t ms;
    int steps;                              /* >= 1; 1 means no intermediate progress */
    char *details[CHSM_TIMING_MAX_DETAILS]; /* status text per step, owned */
    int ndetails;
} timing_rule;

struct chsm_timing {
    pthread_mutex_t mu;
    timing_rule rules[CHSM_TIMING_MAX_RULES];
    int n;
    const chsm_config *cfg; /* the start rules, for reset */
};

static void rule_clear(timing_rule *r)
{
    for (int i = 0; i < r->ndetails; i++)
        free(r->details[i]);
    memset(r, 0, sizeof *r);
}

/* load_start copies the --op-duration rules; the caller holds mu. */
static void load_start(chsm_timing *t)
{
    for (int i = 0; i < t->n; i++)
        rule_clear(&t->rules[i]);
    t->n = 0;
    for (int i = 0; t->cfg && i < t->cfg->nop_durations && i < CHSM_TIMING_MAX_RULES; i++) {
        timing_rule *r = &t->rules[t->n++];
        snprintf(r->kind, sizeof r->kind, "%s", t->cfg->op_durations[i].kind);
        r->ms = t->cfg->op_durations[i].ms;
        r->steps = t->cfg->op_durations[i].steps > 0 ? t->cfg->op_durations[i].steps : 1;
    }
}

chsm_timing *chsm_timing_new(const chsm_config *cfg)
{
    chsm_timing *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    pthread_mutex_init(&t->mu, NULL);
    t->cfg = cfg;
    load_start(t);
    return t;
}

void chsm_timing_free(chsm_timing *t)
{
    if (!t)
        return;
    for (int i = 0; i < t->n; i++)
        rule_clear(&t->rules[i]);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

/* find returns the rule for kind (newest match wins); the caller holds mu. */
static const timing_rule *find(const chsm_timing *t, const char *kind)
{
    const char *slash = strrchr(kind, '/');
    const char *last = slash ? slash + 1 : kind;
    for (int i = t->n - 1; i >= 0; i--) {
        const char *k = t->rules[i].kind;
        if (chsm_streq_ci(k, kind) || chsm_streq_ci(k, last) || strcmp(k, "*") == 0)
            return &t->rules[i];
    }
    return NULL;
}

int64_t chsm_timing_duration_ms(chsm_timing *t, const char *kind)
{
    if (!t)
        return 0;
    pthread_mutex_lock(&t->mu);
    const timing_rule *r = find(t, kind);
    int64_t ms = r ? r->ms : 0;
    pthread_mutex_unlock(&t->mu);
    return ms;
}

void chsm_timing_progress(chsm_timing *t, const char *kind, int64_t start_ms, int64_t end_ms,
                          int64_t now_ms, int *percent, char *details, size_t detailslen)
{
    *percent = 0;
    if (detailslen)
        details[0] = '\0';
    if (!t)
        return;
    pthread_mutex_lock(&t->mu);
    const timing_rule *r = find(t, kind);
    if (r) {
        if (end_ms <= 0)
            end_ms = start_ms + r->ms;
        int step = 0;
        if (end_ms > start_ms && now_ms > start_ms) {
            /* step k of S covers [k/S, (k+1)/S) of the duration; the last
             * step lasts until the operation really ends (a held one stays
             * there), so a running operation never claims 100. */
            int64_t span = end_ms - start_ms;
            int64_t done = now_ms - start_ms;
            step = done >= span ? r->steps - 1 : (int)(done * r->steps / span);
        }
        *percent = step * 100 / r->steps;
        if (r->ndetails && detailslen)
            snprintf(details, detailslen, "%s",
                     r->details[step < r->ndetails ? step : r->ndetails - 1]);
    }
    pthread_mutex_unlock(&t->mu);
}

/* parse_rule validates rule_json into out (owning its texts). */
static int parse_rule(const cJSON *j, timing_rule *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->steps = 1;
    if (!cJSON_IsObject(j)) {
        snprintf(err, errlen, "The body must be a JSON object.");
        return CHSM_EINVAL;
    }
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(j, "kind");
    if (!cJSON_IsString(kind) || !kind->valuestring[0] ||
        strlen(kind->valuestring) >= sizeof out->kind) {
        snprintf(err, errlen,
                 "'kind' must be an operation kind of 1 to %zu characters "
                 "(\"cloudHsmClusters/backup\", \"backup\" or \"*\").",
                 sizeof out->kind - 1);
        return CHSM_EINVAL;
    }
    snprintf(out->kind, sizeof out->kind, "%s", kind->valuestring);
    const cJSON *ms = cJSON_GetObjectItemCaseSensitive(j, "durationMs");
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(j, "duration");
    if (ms && text) {
        snprintf(err, errlen, "Give 'durationMs' or 'duration', not both.");
        return CHSM_EINVAL;
    }
    if (ms) {
        if (!cJSON_IsNumber(ms) || ms->valuedouble < 0 ||
            ms->valuedouble > (double)CHSM_TIMING_MAX_DURATION_MS ||
            ms->valuedouble != (double)(int64_t)ms->valuedouble) {
            snprintf(err, errlen,
                     "'durationMs' must be a whole number of milliseconds from 0 to "
                     "86400000.");
            return CHSM_EINVAL;
        }
        out->ms = (int64_t)ms->valuedouble;
    } else if (text) {
        if (!cJSON_IsString(text) ||
            chsm_config_parse_duration(text->valuestring, &out->ms) != CHSM_OK || out->ms < 0 ||
            out->ms > CHSM_TIMING_MAX_DURATION_MS) {
            snprintf(err, errlen,
                     "'duration' must be like \"250ms\", \"2s\" or \"1m\" (at most "
                     "24h).");
            return CHSM_EINVAL;
        }
    } else {
        snprintf(err, errlen, "'durationMs' (or 'duration') is required.");
        return CHSM_EINVAL;
    }
    const cJSON *steps = cJSON_GetObjectItemCaseSensitive(j, "steps");
    if (steps) {
        if (!cJSON_IsNumber(steps) || steps->valuedouble < 1 ||
            steps->valuedouble > CHSM_TIMING_MAX_STEPS ||
            steps->valuedouble != (double)(int)steps->valuedouble) {
            snprintf(err, errlen, "'steps' must be a whole number from 1 to %d.",
                     CHSM_TIMING_MAX_STEPS);
            return CHSM_EINVAL;
        }
        out->steps = (int)steps->valuedouble;
    }
    const cJSON *details = cJSON_GetObjectItemCaseSensitive(j, "statusDetails");
    if (details) {
        int n = cJSON_IsArray(details) ? cJSON_GetArraySize(details) : -1;
        if (n < 0 || n > CHSM_TIMING_MAX_DETAILS) {
            snprintf(err, errlen, "'statusDetails' must be an array of at most %d strings.",
                     CHSM_TIMING_MAX_DETAILS);
            return CHSM_EINVAL;
        }
        const cJSON *d;
        cJSON_ArrayForEach(d, details)
        {
            if (!cJSON_IsString(d) || strlen(d->valuestring) > 256) {
                snprintf(err, errlen,
                         "'statusDetails[%d]' must be a string of at most 256 "
                         "characters.",
                         out->ndetails);
                rule_clear(out);
                return CHSM_EINVAL;
            }
            out->details[out->ndetails] = chsm_strdup(d->valuestring);
            if (!out->details[out->ndetails]) {
                rule_clear(out);
                return CHSM_ENOMEM;
            }
            out->ndetails++;
        }
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, j)
    {
        if (strcmp(it->string, "kind") && strcmp(it->string, "durationMs") &&
            strcmp(it->string, "duration") && strcmp(it->string, "steps") &&
            strcmp(it->string, "statusDetails")) {
            snprintf(err, errlen,
                     "Unknown field '%.64s' (known: kind, durationMs, duration, "
                     "steps, statusDetails).",
                     it->string);
            rule_clear(out);
            return CHSM_EINVAL;
        }
    }
    return CHSM_OK;
}

int chsm_timing_set(chsm_timing *t, const cJSON *rule_json, char *err, size_t errlen)
{
    timing_rule r;
    int rc = parse_rule(rule_json, &r, err, errlen);
    if (rc != CHSM_OK)
        return rc;
    pthread_mutex_lock(&t->mu);
    /* Replacing moves the rule to the end, so it is the newest and wins. */
    for (int i = 0; i < t->n; i++) {
        if (chsm_streq_ci(t->rules[i].kind, r.kind)) {
            rule_clear(&t->rules[i]);
            memmove(&t->rules[i], &t->rules[i + 1], (size_t)(t->n - i - 1) * sizeof r);
            t->n--;
            break;
        }
    }
    if (t->n >= CHSM_TIMING_MAX_RULES) {
        pthread_mutex_unlock(&t->mu);
        rule_clear(&r);
        snprintf(err, errlen, "At most %d timing rules may exist.", CHSM_TIMING_MAX_RULES);
        return CHSM_ETOOBIG;
    }
    t->rules[t->n++] = r;
    pthread_mutex_unlock(&t->mu);
    return CHSM_OK;
}

int chsm_timing_delete(chsm_timing *t, const char *kind)
{
    int rc = CHSM_ENOTFOUND;
    pthread_mutex_lock(&t->mu);
    for (int i = 0; i < t->n; i++) {
        if (chsm_streq_ci(t->rules[i].kind, kind)) {
            rule_clear(&t->rules[i]);
            memmove(&t->rules[i], &t->rules[i + 1], (size_t)(t->n - i - 1) * sizeof t->rules[0]);
            t->n--;
            rc = CHSM_OK;
            break;
        }
    }
    pthread_mutex_unlock(&t->mu);
    return rc;
}

void chsm_timing_reset(chsm_timing *t)
{
    pthread_mutex_lock(&t->mu);
    load_start(t);
    pthread_mutex_unlock(&t->mu);
}

cJSON *chsm_timing_to_json(chsm_timing *t)
{
    cJSON *arr = cJSON_CreateArray();
    pthread_mutex_lock(&t->mu);
    for (int i = 0; arr && i < t->n; i++) {
        const timing_rule *r = &t->rules[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "kind", r->kind);
        cJSON_AddNumberToObject(o, "durationMs", (double)r->ms);
        cJSON_AddNumberToObject(o, "steps", r->steps);
        cJSON *d = cJSON_AddArrayToObject(o, "statusDetails");
        for (int k = 0; k < r->ndetails; k++)
            cJSON_AddItemToArray(d, cJSON_CreateString(r->details[k]));
        cJSON_AddItemToArray(arr, o);
    }
    pthread_mutex_unlock(&t->mu);
    return arr;
}

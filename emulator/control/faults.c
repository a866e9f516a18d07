/* faults.c - the fault rule set and its matching. */
#include "control/faults.h"

#include "app/files.h"
#include "util/ids.h"
#include "util/json.h"
#include "util/status.h"
#include "util/text.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FAULTS_MAX_RULES 256
#define FAULTS_MAX_FILE (1024 * 1024)

typedef struct fault_rule {
    char id[48];
    char *operation; /* glob */
    char *method;    /* NULL: any */
    char *resource;  /* glob */
    double probability;
    long nth;   /* fire only on this match (1-based); 0: every match */
    long count; /* expire after firing this many times; 0: never */
    long matched, fired;
    chsm_fault_hit action;
    int jitter_ms;
    char description[256];
} fault_rule;

struct chsm_faults {
    pthread_mutex_t mu;
    fault_rule *rules[FAULTS_MAX_RULES];
    int n;
};

static const struct {
    const char *name;
    chsm_fault_type type;
} type_names[] = {
    {"error", CHSM_FAULT_ERROR},
    {"latency", CHSM_FAULT_LATENCY},
    {"throttle", CHSM_FAULT_THROTTLE},
    {"dropConnection", CHSM_FAULT_DROP},
    {"resetConnection", CHSM_FAULT_RESET},
    {"failOperation", CHSM_FAULT_FAIL_OPERATION},
    {"stallOperation", CHSM_FAULT_STALL},
    {"corruptBlob", CHSM_FAULT_CORRUPT},
    {"truncateBlob", CHSM_FAULT_TRUNCATE},
    {"nodeDown", CHSM_FAULT_NODE_DOWN},
    /* Sugar, expanded when the rule is added. */
    {"storageUnavailable", CHSM_FAULT_ERROR},
    {"containerReadOnly", CHSM_FAULT_ERROR},
};

static const char *type_name(chsm_fault_type t)
{
    for (size_t i = 0; i < sizeof type_names / sizeof type_names[0]; i++)
        if (type_names[i].type == t)
            return type_names[i].name;
    return "unknown";
}

chsm_faults *chsm_faults_new(void)
{
    chsm_faults *f = calloc(1, sizeof *f);
    if (f)
        pthread_mutex_init(&f->mu, NULL);
    return f;
}

static void rule_free(fault_rule *r)
{
    if (!r)
        return;
    free(r->operation);
    free(r->method);
    free(r->resource);
    free(r);
}

void chsm_faults_clear(chsm_faults *f)
{
    pthread_mutex_lock(&f->mu);
    for (int i = 0; i < f->n; i++)
        rule_free(f->rules[i]);
    f->n = 0;
    pthread_mutex_unlock(&f->mu);
}

int chsm_faults_any(chsm_faults *f)
{
    pthread_mutex_lock(&f->mu);
    int n = f->n;
    pthread_mutex_unlock(&f->mu);
    return n > 0;
}

void chsm_faults_free(chsm_faults *f)
{
    if (!f)
        return;
    chsm_faults_clear(f);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

int chsm_faults_glob(const char *p, const char *t)
{
    /* Iterative matcher with one backtrack point: linear in practice. */
    const char *star = NULL, *resume = NULL;
    while (*t) {
        if (*p == '*') {
            star = p++;
            resume = t;
        } else if (*p == '?' || tolower((unsigned char)*p) == tolower((unsigned char)*t)) {
            p++;
            t++;
        } else if (star) {
            p = star + 1;
            t = ++resume;
        } else {
            return 0;
        }
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

static cJSON *rule_json(const fault_rule *r)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "id", r->id);
    cJSON_AddStringToObject(j, "operation", r->operation);
    if (r->method)
        cJSON_AddStringToObject(j, "method", r->method);
    cJSON_AddStringToObject(j, "resource", r->resource);
    cJSON_AddNumberToObject(j, "probability", r->probability);
    if (r->nth)
        cJSON_AddNumberToObject(j, "nth", (double)r->nth);
    if (r->count)
        cJSON_AddNumberToObject(j, "count", (double)r->count);
    if (r->description[0])
        cJSON_AddStringToObject(j, "description", r->description);
    cJSON *a = cJSON_AddObjectToObject(j, "action");
    const chsm_fault_hit *h = &r->action;
    cJSON_AddStringToObject(a, "type", type_name(h->type));
    switch (h->type) {
    case CHSM_FAULT_ERROR:
        cJSON_AddNumberToObject(a, "status", h->status);
        cJSON_AddStringToObject(a, "code", h->code);
        cJSON_AddStringToObject(a, "message", h->message);
        break;
    case CHSM_FAULT_THROTTLE:
        cJSON_AddNumberToObject(a, "retryAfter", h->retry_after_s);
        break;
    case CHSM_FAULT_LATENCY:
        cJSON_AddNumberToObject(a, "ms", h->latency_ms);
        cJSON_AddNumberToObject(a, "jitterMs", r->jitter_ms);
        break;
    case CHSM_FAULT_FAIL_OPERATION:
        cJSON_AddStringToObject(a, "code", h->code);
        cJSON_AddStringToObject(a, "message", h->message);
        cJSON_AddStringToObject(a, "statusDetails", h->status_details);
        cJSON_AddNumberToObject(a, "afterMs", h->fail_after_ms);
        break;
    case CHSM_FAULT_NODE_DOWN:
        cJSON_AddNumberToObject(a, "node", h->node);
        break;
    default:
        break;
    }
    cJSON_AddNumberToObject(j, "matched", (double)r->matched);
    cJSON_AddNumberToObject(j, "fired", (double)r->fired);
    int expired = r->count && r->fired >= r->count;
    cJSON_AddBoolToObject(j, "expired", expired);
    return j;
}

static int bad(char *err, size_t errlen, const char *field, const char *why)
{
    snprintf(err, errlen, "The fault rule's '%s' %s.", field, why);
    return CHSM_EINVAL;
}

static int copy_str(const cJSON *obj, const char *key, char *out, size_t outlen, char *err,
                    size_t errlen, const char *field)
{
    const cJSON *v = cJSON_GetObjectItem(obj, key);
    if (!v)
        return CHSM_OK;
    if (!cJSON_IsString(v) || strlen(v->valuestring) >= outlen)
        return bad(err, errlen, field, "must be a string of reasonable length");
    snprintf(out, outlen, "%s", v->valuestring);
    return CHSM_OK;
}

static int get_int(const cJSON *obj, const char *key, long lo, long hi, long *out, char *err,
                   size_t errlen, const char *field)
{
    const cJSON *v = cJSON_GetObjectItem(obj, key);
    if (!v)
        return CHSM_OK;
    if (!cJSON_IsNumber(v) || v->valuedouble < (double)lo || v->valuedouble > (double)hi ||
        v->valuedouble != (double)(long)v->valuedouble) {
        char why[96];
        snprintf(why, sizeof why, "must be a whole number from %ld to %ld", lo, hi);
        return bad(err, errlen, field, why);
    }
    *out = (long)v->valuedouble;
    return CHSM_OK;
}

/* parse_action fills r->action from the rule's "action" object. */
static int parse_action(fault_rule *r, const cJSON *a, char *err, size_t errlen)
{
    if (!cJSON_IsObject(a))
        return bad(err, errlen, "action", "is required and must be an object with a 'type'");
    const char *type = chsm_json_str(a, "type");
    if (!type)
        return bad(err, errlen, "action.type", "is required");
    size_t i;
    for (i = 0; i < sizeof type_names / sizeof type_names[0]; i++)
        if (strcmp(type, type_names[i].name) == 0)
            break;
    if (i == sizeof type_names / sizeof type_names[0])
        return bad(err, errlen, "action.type",
                   "is not one of error, latency, throttle, dropConnection, resetConnection, "
                   "failOperation, stallOperation, corruptBlob, truncateBlob, nodeDown, "
                   "storageUnavailable, containerReadOnly");
    chsm_fault_hit *h = &r->action;
    h->type = type_names[i].type;
    long v = 0;
    int rc = CHSM_OK;
    if (strcmp(type, "error") == 0) {
        h->status = 500;
        snprintf(h->code, sizeof h->code, "InternalServerError");
        snprintf(h->message, sizeof h->message, "Injected by fault rule %s.", r->id);
        v = 500;
        rc = get_int(a, "status", 400, 599, &v, err, errlen, "action.status");
        h->status = (int)v;
        if (rc == CHSM_OK)
            rc = copy_str(a, "code", h->code, sizeof h->code, err, errlen, "action.code");
        if (rc == CHSM_OK)
            rc = copy_str(a, "message", h->message, sizeof h->message, err, errlen,
                          "action.message");
    } else if (strcmp(type, "storageUnavailable") == 0) {
        /* The storage service's own answer to an overloaded account. */
        h->status = 503;
        snprintf(h->code, sizeof h->code, "ServerBusy");
        snprintf(h->message, sizeof h->message,
                 "The server is currently unable to receive requests. Please retry your "
                 "request.");
        if (!r->operation || strcmp(r->operation, "*") == 0) {
            free(r->operation);
            r->operation = chsm_strdup("blob/*");
        }
    } else if (strcmp(type, "containerReadOnly") == 0) {
        h->status = 409;
        snprintf(h->code, sizeof h->code, "OperationNotAllowedInCurrentState");
        snprintf(h->message, sizeof h->message,
                 "The container is read-only (fault rule %s): writes are refused.", r->id);
        if (!r->method) {
            /* Writes only: reads of the container keep working. */
            r->method = chsm_strdup("PUT");
        }
        if (!r->operation || strcmp(r->operation, "*") == 0) {
            free(r->operation);
            r->operation = chsm_strdup("blob/*");
        }
    } else if (strcmp(type, "throttle") == 0) {
        h->status = 429;
        v = 1;
        rc = get_int(a, "retryAfter", 0, 3600, &v, err, errlen, "action.retryAfter");
        h->retry_after_s = (int)v;
        snprintf(h->code, sizeof h->code, "TooManyRequests");
    } else if (strcmp(type, "latency") == 0) {
        v = 0;
        rc = get_int(a, "ms", 0, 600000, &v, err, errlen, "action.ms");
        h->latency_ms = (int)v;
        v = 0;
        if (rc == CHSM_OK)
            rc = get_int(a, "jitterMs", 0, 600000, &v, err, errlen, "action.jitterMs");
        r->jitter_ms = (int)v;
    } else if (strcmp(type, "failOperation") == 0) {
        snprintf(h->code, sizeof h->code, "InternalError");
        snprintf(h->message, sizeof h->message, "The operation failed (fault rule %s).", r->id);
        rc = copy_str(a, "code", h->code, sizeof h->code, err, errlen, "action.code");
        if (rc == CHSM_OK)
            rc = copy_str(a, "message", h->message, sizeof h->message, err, errlen,
                          "action.message");
        snprintf(h->status_details, sizeof h->status_details, "%s", h->message);
        if (rc == CHSM_OK)
            rc = copy_str(a, "statusDetails", h->status_details, sizeof h->status_details, err,
                          errlen, "action.statusDetails");
        v = 0;
        if (rc == CHSM_OK)
            rc = get_int(a, "afterMs", 0, 86400000, &v, err, errlen, "action.afterMs");
        h->fail_after_ms = (int)v;
    } else if (strcmp(type, "nodeDown") == 0) {
        v = 0;
        rc = get_int(a, "node", 1, 3, &v, err, errlen, "action.node");
        if (rc == CHSM_OK && v == 0)
            rc = bad(err, errlen, "action.node", "is required (1, 2 or 3)");
        h->node = (int)v;
    }
    return rc;
}

int chsm_faults_add(chsm_faults *f, const cJSON *rule, cJSON **out, char *err, size_t errlen)
{
    if (out)
        *out = NULL;
    if (!cJSON_IsObject(rule))
        return bad(err, errlen, "rule", "must be a JSON object");
    fault_rule *r = calloc(1, sizeof *r);
    if (!r)
        return CHSM_ENOMEM;
    int rc = copy_str(rule, "id", r->id, sizeof r->id, err, errlen, "id");
    if (rc == CHSM_OK && !r->id[0]) {
        char hex[33];
        chsm_uuid_hex(hex);
        snprintf(r->id, sizeof r->id, "fault-%.12s", hex);
    }
    for (const char *c = r->id; rc == CHSM_OK && *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_')
            rc = bad(err, errlen, "id", "may hold only letters, digits, '-' and '_'");
    const char *op = chsm_json_str(rule, "operation");
    const char *method = chsm_json_str(rule, "method");
    const char *res = chsm_json_str(rule, "resource");
    if (rc == CHSM_OK && cJSON_GetObjectItem(rule, "operation") && !op)
        rc = bad(err, errlen, "operation", "must be a string");
    if (rc == CHSM_OK && cJSON_GetObjectItem(rule, "resource") && !res)
        rc = bad(err, errlen, "resource", "must be a string");
    if (rc == CHSM_OK && cJSON_GetObjectItem(rule, "method") && !method)
        rc = bad(err, errlen, "method", "must be a string");
    if (rc == CHSM_OK && ((op && strlen(op) > 200) || (res && strlen(res) > 1000) ||
                          (method && strlen(method) > 10)))
        rc = bad(err, errlen, "operation/resource/method", "is too long");
    if (rc == CHSM_OK) {
        r->operation = chsm_strdup(op ? op : "*");
        r->method = method ? chsm_strdup(method) : NULL;
        r->resource = chsm_strdup(res ? res : "*");
        r->probability = 1.0;
        const cJSON *p = cJSON_GetObjectItem(rule, "probability");
        if (p && (!cJSON_IsNumber(p) || p->valuedouble < 0 || p->valuedouble > 1))
            rc = bad(err, errlen, "probability", "must be a number from 0 to 1");
        else if (p)
            r->probability = p->valuedouble;
    }
    if (rc == CHSM_OK)
        rc = get_int(rule, "nth", 1, 1000000, &r->nth, err, errlen, "nth");
    if (rc == CHSM_OK)
        rc = get_int(rule, "count", 1, 1000000000, &r->count, err, errlen, "count");
    if (rc == CHSM_OK)
        rc = copy_str(rule, "description", r->description, sizeof r->description, err, errlen,
                      "description");
    if (rc == CHSM_OK)
        rc = parse_action(r, cJSON_GetObjectItem(rule, "action"), err, errlen);
    snprintf(r->action.rule_id, sizeof r->action.rule_id, "%s", r->id);
    if (rc != CHSM_OK) {
        rule_free(r);
        return rc;
    }
    pthread_mutex_lock(&f->mu);
    for (int i = 0; i < f->n; i++) {
        if (strcmp(f->rules[i]->id, r->id) == 0) {
            pthread_mutex_unlock(&f->mu);
            snprintf(err, errlen, "A fault rule with id '%s' exists already.", r->id);
            rule_free(r);
            return CHSM_EEXISTS;
        }
    }
    if (f->n >= FAULTS_MAX_RULES) {
        pthread_mutex_unlock(&f->mu);
        rule_free(r);
        snprintf(err, errlen, "At most %d fault rules can be armed.", FAULTS_MAX_RULES);
        return CHSM_ETOOBIG;
    }
    f->rules[f->n++] = r;
    if (out)
        *out = rule_json(r);
    pthread_mutex_unlock(&f->mu);
    return CHSM_OK;
}

int chsm_faults_load(chsm_faults *f, const char *path, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    if (chsm_read_file(path, FAULTS_MAX_FILE, &text, &len) != CHSM_OK) {
        snprintf(err, errlen, "cannot read the fault file '%s'", path);
        return CHSM_EIO;
    }
    char perr[160];
    cJSON *root = chsm_json_parse(text, len, perr, sizeof perr);
    free(text);
    if (!root) {
        snprintf(err, errlen, "%s: %s", path, perr);
        return CHSM_EINVAL;
    }
    const cJSON *rules = cJSON_IsArray(root) ? root : cJSON_GetObjectItem(root, "rules");
    int rc = cJSON_IsArray(rules) ? CHSM_OK : CHSM_EINVAL;
    if (rc != CHSM_OK)
        snprintf(err, errlen, "%s: expected an array of rules or {\"rules\":[...]}", path);
    int idx = 0;
    for (const cJSON *r = rules ? rules->child : NULL; rc == CHSM_OK && r; r = r->next, idx++) {
        char rerr[300];
        rc = chsm_faults_add(f, r, NULL, rerr, sizeof rerr);
        if (rc != CHSM_OK)
            snprintf(err, errlen, "%s: rule %d: %s", path, idx, rerr);
    }
    cJSON_Delete(root);
    return rc;
}

cJSON *chsm_faults_list(chsm_faults *f)
{
    cJSON *arr = cJSON_CreateArray();
    pthread_mutex_lock(&f->mu);
    for (int i = 0; i < f->n; i++)
        cJSON_AddItemToArray(arr, rule_json(f->rules[i]));
    pthread_mutex_unlock(&f->mu);
    cJSON *body = cJSON_CreateObject();
    cJSON_AddItemToObject(body, "value", arr);
    return body;
}

cJSON *chsm_faults_get(chsm_faults *f, const char *id)
{
    cJSON *j = NULL;
    pthread_mutex_lock(&f->mu);
    for (int i = 0; i < f->n && !j; i++)
        if (strcmp(f->rules[i]->id, id) == 0)
            j = rule_json(f->rules[i]);
    pthread_mutex_unlock(&f->mu);
    return j;
}

int chsm_faults_delete(chsm_faults *f, const char *id)
{
    int rc = CHSM_ENOTFOUND;
    pthread_mutex_lock(&f->mu);
    for (int i = 0; i < f->n; i++) {
        if (strcmp(f->rules[i]->id, id) == 0) {
            rule_free(f->rules[i]);
            memmove(&f->rules[i], &f->rules[i + 1], (size_t)(f->n - i - 1) * sizeof f->rules[0]);
            f->n--;
            rc = CHSM_OK;
            break;
        }
    }
    pthread_mutex_unlock(&f->mu);
    return rc;
}

static double draw_unit(void)
{
    uint32_t v;
    chsm_ids_random(&v, sizeof v);
    return (double)v / 4294967296.0;
}

static int rule_matches(const fault_rule *r, const char *operation, const char *method,
                        const char *resource)
{
    if (r->count && r->fired >= r->count)
        return 0;
    if (!chsm_faults_glob(r->operation, operation ? operation : ""))
        return 0;
    if (r->method && method && !chsm_streq_ci(r->method, method))
        return 0;
    if (r->method && !method)
        return 0;
    return chsm_faults_glob(r->resource, resource ? resource : "");
}

int chsm_faults_match(chsm_faults *f, const char *operation, const char *method,
                      const char *resource, unsigned type_mask, chsm_fault_hit *hit)
{
    if (!f)
        return 0;
    int fired = 0;
    pthread_mutex_lock(&f->mu);
    for (int i = 0; i < f->n && !fired; i++) {
        fault_rule *r = f->rules[i];
        if (!(r->action.type & type_mask) || !rule_matches(r, operation, method, resource))
            continue;
        r->matched++;
        if (r->nth && r->matched != r->nth)
            continue;
        if (r->probability < 1.0 && draw_unit() >= r->probability)
            continue;
        r->fired++;
        *hit = r->action;
        if (r->action.type == CHSM_FAULT_LATENCY && r->jitter_ms > 0)
            hit->latency_ms += (int)(draw_unit() * (r->jitter_ms + 1));
        fired = 1;
    }
    pthread_mutex_unlock(&f->mu);
    return fired;
}

int chsm_faults_node_down(chsm_faults *f, const char *cluster_id, int node, char *rule_id,
                          size_t rule_id_len)
{
    if (!f)
        return 0;
    int down = 0;
    pthread_mutex_lock(&f->mu);
    for (int i = 0; i < f->n && !down; i++) {
        fault_rule *r = f->rules[i];
        if (r->action.type == CHSM_FAULT_NODE_DOWN && r->action.node == node &&
            !(r->count && r->fired >= r->count) && chsm_faults_glob(r->resource, cluster_id)) {
            down = 1;
            if (rule_id)
                snprintf(rule_id, rule_id_len, "%s", r->id);
        }
    }
    pthread_mutex_unlock(&f->mu);
    return down;
}

/* path_resource joins the decoded segments ("/subscriptions/s/resourceGroups/g/..."). */
static void path_resource(const chsm_request *req, char *out, size_t outlen)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < req->nsegments && o + 1 < outlen; i++) {
        int n = snprintf(out + o, outlen - o, "/%s", req->segments[i]);
        if (n < 0)
            break;
        o += (size_t)n;
    }
}

int chsm_faults_on_request(chsm_faults *f, chsm_request *req, const char *resource,
                           chsm_response *res, chsm_fault_hit *hit)
{
    if (!f || !chsm_faults_any(f))
        return 0; /* the common case: no rules, so no resource id to work out */
    char path[1024];
    if (!resource) {
        path_resource(req, path, sizeof path);
        resource = path;
    }
    if (chsm_faults_match(f, req->operation, req->method, resource, CHSM_FAULT_LATENCY, hit)) {
        snprintf(req->fault, sizeof req->fault, "%s", hit->rule_id);
        struct timespec ts = {hit->latency_ms / 1000, (long)(hit->latency_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    unsigned mask = CHSM_FAULT_ERROR | CHSM_FAULT_THROTTLE | CHSM_FAULT_DROP | CHSM_FAULT_RESET;
    if (!chsm_faults_match(f, req->operation, req->method, resource, mask, hit))
        return 0;
    snprintf(req->fault, sizeof req->fault, "%s", hit->rule_id);
    if (hit->type == CHSM_FAULT_DROP)
        res->drop = CHSM_DROP_CLOSE;
    else if (hit->type == CHSM_FAULT_RESET)
        res->drop = CHSM_DROP_RESET;
    return 1;
}

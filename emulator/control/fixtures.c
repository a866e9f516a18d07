/* fixtures.c - replaying fixture steps through the emulator's request path. */
#include "control/fixtures.h"

#include "app/app.h"
#include "app/files.h"
#include "arm/auth.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/status.h"
#include "util/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIXTURE_MAX_FILE (4 * 1024 * 1024)
#define FIXTURE_MAX_VARS 64
#define FIXTURE_MAX_SESSIONS 16

typedef struct vars {
    char *name[FIXTURE_MAX_VARS];
    char *value[FIXTURE_MAX_VARS];
    int n;
} vars;

typedef struct session {
    char cluster[512]; /* cluster resource id, lowercased */
    char base[256];    /* /hsm/{label} */
    char user[128];    /* userType:username the session belongs to */
    char token[256];
} session;

typedef struct run {
    chsm_app *app;
    vars v;
    session sessions[FIXTURE_MAX_SESSIONS];
    int nsessions;
    char *err;
    size_t errlen;
    char bearer[4200]; /* "Bearer <token>": a real signed token, so --strict-auth accepts it */
} run;

static void vars_free(vars *v)
{
    for (int i = 0; i < v->n; i++) {
        free(v->name[i]);
        free(v->value[i]);
    }
    v->n = 0;
}

static int vars_set(vars *v, const char *name, const char *value)
{
    for (int i = 0; i < v->n; i++) {
        if (strcmp(v->name[i], name) == 0) {
            char *copy = chsm_strdup(value);
            if (!copy)
                return CHSM_ENOMEM;
            free(v->value[i]);
            v->value[i] = copy;
            return CHSM_OK;
        }
    }
    if (v->n >= FIXTURE_MAX_VARS)
        return CHSM_ETOOBIG;
    v->name[v->n] = chsm_strdup(name);
    v->value[v->n] = chsm_strdup(value);
    if (!v->name[v->n] || !v->value[v->n])
        return CHSM_ENOMEM;
    v->n++;
    return CHSM_OK;
}

/* expand replaces {var} in text (caller frees); unknown names are an error. */
static char *expand(run *r, const char *text, const char *where)
{
    chsm_buf b = {0};
    const char *p = text;
    while (*p) {
        const char *open = strchr(p, '{');
        const char *close = open ? strchr(open, '}') : NULL;
        if (!open || !close) {
            chsm_buf_puts(&b, p);
            break;
        }
        chsm_buf_append(&b, p, (size_t)(open - p));
        size_t n = (size_t)(close - open - 1);
        int found = 0;
        for (int i = 0; i < r->v.n; i++) {
            if (strlen(r->v.name[i]) == n && strncmp(r->v.name[i], open + 1, n) == 0) {
                chsm_buf_puts(&b, r->v.value[i]);
                found = 1;
                break;
            }
        }
        if (!found) {
            /* JSON bodies may hold literal braces: only names that look like
             * variables must be defined. */
            int looks_like_var =
                n > 0 && n < 64 &&
                strspn(open + 1,
                       "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == n;
            if (looks_like_var) {
                snprintf(r->err, r->errlen, "%s: the variable '{%.*s}' is not defined", where,
                         (int)n, open + 1);
                chsm_buf_free(&b);
                return NULL;
            }
            chsm_buf_append(&b, open, n + 2);
        }
        p = close + 1;
    }
    return chsm_buf_steal(&b);
}

/* expand_json returns a copy of j with {var} expanded in every string (caller frees). */
static cJSON *expand_json(run *r, const cJSON *j, const char *where)
{
    if (cJSON_IsString(j)) {
        char *s = expand(r, j->valuestring, where);
        cJSON *out = s ? cJSON_CreateString(s) : NULL;
        free(s);
        return out;
    }
    if (cJSON_IsObject(j) || cJSON_IsArray(j)) {
        cJSON *out = cJSON_IsObject(j) ? cJSON_CreateObject() : cJSON_CreateArray();
        for (const cJSON *c = j->child; c; c = c->next) {
            cJSON *e = expand_json(r, c, where);
            if (!e) {
                cJSON_Delete(out);
                return NULL;
            }
            if (cJSON_IsObject(j)) {
                char *key = expand(r, c->string, where);
                if (!key) {
                    cJSON_Delete(e);
                    cJSON_Delete(out);
                    return NULL;
                }
                cJSON_AddItemToObject(out, key, e);
                free(key);
            } else {
                cJSON_AddItemToArray(out, e);
            }
        }
        return out;
    }
    return cJSON_Duplicate(j, 1);
}

/* json_path follows "a.b.0.c" into j; NULL when absent. */
static const cJSON *json_path(const cJSON *j, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    char *save = NULL;
    for (char *k = strtok_r(buf, ".", &save); k && j; k = strtok_r(NULL, ".", &save))
        j = cJSON_IsArray(j) ? cJSON_GetArrayItem(j, atoi(k)) : cJSON_GetObjectItem(j, k);
    return j;
}

typedef struct step_result {
    int status;
    cJSON *body;
} step_result;

/* send_ dispatches one in-process request to the ARM listener's path. */
static int send_(run *r, const char *method, const char *url, const cJSON *body,
                 const char *auth_header, step_result *out)
{
    chsm_request req;
    chsm_response res;
    chsm_request_init(&req, r->app, method);
    chsm_response_init(&res);
    req.listener = CHSM_LISTENER_ARM;
    snprintf(req.base_url, sizeof req.base_url, "%s",
             r->app->arm_url[0] ? r->app->arm_url : "https://127.0.0.1");
    chsm_uuid(req.request_id);
    const char *q = strchr(url, '?');
    char *path = chsm_strndup(url, q ? (size_t)(q - url) : strlen(url));
    int rc = path ? chsm_request_set_path(&req, path) : CHSM_ENOMEM;
    free(path);
    if (rc == CHSM_OK && q)
        rc = chsm_request_parse_query(&req, q + 1);
    char *text = body ? cJSON_PrintUnformatted(body) : NULL;
    if (rc == CHSM_OK) {
        chsm_request_add_header(&req, "Authorization", auth_header);
        chsm_request_add_header(&req, "Content-Type", "application/json");
        if (text) {
            req.body = (const unsigned char *)text;
            req.body_len = strlen(text);
        }
        chsm_app_dispatch(r->app, &req, &res);
        out->status = res.status;
        out->body = res.body_len ? cJSON_ParseWithLength(res.body, res.body_len) : NULL;
    }
    free(text);
    chsm_request_free(&req);
    chsm_response_free(&res);
    return rc;
}

static int expected(const cJSON *expect, int status)
{
    if (!expect)
        return status >= 200 && status < 300;
    if (cJSON_IsNumber(expect))
        return expect->valueint == status;
    for (const cJSON *e = expect->child; e; e = e->next)
        if (cJSON_IsNumber(e) && e->valueint == status)
            return 1;
    return 0;
}

static int fail_step(run *r, const char *where, const step_result *sr)
{
    const cJSON *e = cJSON_GetObjectItem(sr->body, "error");
    snprintf(r->err, r->errlen, "%s failed with HTTP %d: %s: %s", where, sr->status,
             e ? chsm_json_str(e, "code") ? chsm_json_str(e, "code") : "?" : "?",
             e ? chsm_json_str(e, "message") ? chsm_json_str(e, "message") : "" : "");
    return CHSM_EINVAL;
}

/* hsm_session finds or opens the data-plane session a step asks for. */
static int hsm_session(run *r, const char *cluster_id, const cJSON *login, const char *where,
                       session **out)
{
    char *cluster = chsm_lower_dup(cluster_id);
    const char *type = chsm_json_str(login, "userType");
    const char *user = chsm_json_str(login, "username");
    const char *pass = chsm_json_str(login, "password");
    char who[128] = "";
    if (login) {
        if (!type || !user || !pass) {
            free(cluster);
            snprintf(r->err, r->errlen, "%s.login needs userType, username and password", where);
            return CHSM_EINVAL;
        }
        snprintf(who, sizeof who, "%s:%s", type, user);
    }
    for (int i = 0; i < r->nsessions; i++) {
        if (strcmp(r->sessions[i].cluster, cluster) == 0 &&
            (!login || strcmp(r->sessions[i].user, who) == 0)) {
            free(cluster);
            *out = &r->sessions[i];
            return CHSM_OK;
        }
    }
    if (r->nsessions >= FIXTURE_MAX_SESSIONS) {
        free(cluster);
        snprintf(r->err, r->errlen, "%s: too many HSM sessions in one fixture", where);
        return CHSM_ETOOBIG;
    }
    session *s = &r->sessions[r->nsessions];
    memset(s, 0, sizeof *s);
    snprintf(s->cluster, sizeof s->cluster, "%s", cluster);
    free(cluster);
    /* The data-plane label comes from the cluster's ARM view: hsm1.{label}.... */
    char url[700];
    snprintf(url, sizeof url, "%s?api-version=2025-03-31", cluster_id);
    step_result sr = {0};
    int rc = send_(r, "GET", url, NULL, r->bearer, &sr);
    const cJSON *fqdn = json_path(sr.body, "properties.hsms.0.fqdn");
    if (rc != CHSM_OK || sr.status != 200 || !cJSON_IsString(fqdn)) {
        rc = sr.status != 200 ? fail_step(r, where, &sr) : CHSM_EINVAL;
        if (sr.status == 200)
            snprintf(r->err, r->errlen, "%s: the cluster has no HSM nodes yet", where);
        cJSON_Delete(sr.body);
        return rc;
    }
    const char *dot = strchr(fqdn->valuestring, '.');
    const char *end = dot ? strchr(dot + 1, '.') : NULL;
    if (!end) {
        cJSON_Delete(sr.body);
        snprintf(r->err, r->errlen, "%s: unexpected HSM node name", where);
        return CHSM_EINVAL;
    }
    snprintf(s->base, sizeof s->base, "/hsm/%.*s", (int)(end - dot - 1), dot + 1);
    cJSON_Delete(sr.body);
    if (login) {
        snprintf(s->user, sizeof s->user, "%s", who);
        snprintf(url, sizeof url, "%s/login", s->base);
        memset(&sr, 0, sizeof sr);
        rc = send_(r, "POST", url, login, "", &sr);
        const char *tok = chsm_json_str(sr.body, "session");
        if (rc != CHSM_OK || sr.status != 200 || !tok) {
            rc = fail_step(r, where, &sr);
            cJSON_Delete(sr.body);
            return rc;
        }
        snprintf(s->token, sizeof s->token, "HSM-Session %s", tok);
        cJSON_Delete(sr.body);
    }
    r->nsessions++;
    *out = s;
    return CHSM_OK;
}

static int run_step(run *r, const cJSON *step, int index)
{
    char where[160];
    const char *name = chsm_json_str(step, "name");
    snprintf(where, sizeof where, "steps[%d]%s%.100s%s", index, name ? " (" : "", name ? name : "",
             name ? ")" : "");
    if (!cJSON_IsObject(step)) {
        snprintf(r->err, r->errlen, "%s must be an object", where);
        return CHSM_EINVAL;
    }
    const char *method = chsm_json_str(step, "method");
    const char *path = chsm_json_str(step, "path");
    const cJSON *hsm = cJSON_GetObjectItem(step, "hsm");
    if (!method || !path || path[0] != '/') {
        snprintf(r->err, r->errlen, "%s needs 'method' and a 'path' starting with '/'", where);
        return CHSM_EINVAL;
    }
    if (hsm && !cJSON_IsString(hsm)) {
        snprintf(r->err, r->errlen, "%s.hsm must be a cluster resource id", where);
        return CHSM_EINVAL;
    }
    char *url = expand(r, path, where);
    if (!url)
        return CHSM_EINVAL;
    cJSON *body = NULL;
    const cJSON *raw_body = cJSON_GetObjectItem(step, "body");
    if (raw_body && !(body = expand_json(r, raw_body, where))) {
        free(url);
        return CHSM_EINVAL;
    }
    int rc = CHSM_OK;
    char auth[4200];
    snprintf(auth, sizeof auth, "%s", r->bearer);
    char full[2048];
    snprintf(full, sizeof full, "%s", url);
    if (hsm) {
        char *cluster = expand(r, hsm->valuestring, where);
        cJSON *login = NULL;
        const cJSON *raw_login = cJSON_GetObjectItem(step, "login");
        if (raw_login)
            login = expand_json(r, raw_login, where);
        session *s = NULL;
        rc = cluster && (!raw_login || login) ? hsm_session(r, cluster, login, where, &s)
                                              : CHSM_EINVAL;
        if (rc == CHSM_OK) {
            snprintf(full, sizeof full, "%s%s", s->base, url);
            snprintf(auth, sizeof auth, "%s", s->token);
        }
        free(cluster);
        cJSON_Delete(login);
    }
    step_result sr = {0};
    if (rc == CHSM_OK) {
        rc = send_(r, method, full, body, auth, &sr);
        if (rc != CHSM_OK)
            snprintf(r->err, r->errlen, "%s: %s '%.300s'", where,
                     rc == CHSM_EINVAL ? "the path is not a valid request path" : "cannot send",
                     full);
    }
    if (rc == CHSM_OK && !expected(cJSON_GetObjectItem(step, "expect"), sr.status))
        rc = fail_step(r, where, &sr);
    const cJSON *save = cJSON_GetObjectItem(step, "save");
    for (const cJSON *sv = save ? save->child : NULL; rc == CHSM_OK && sv; sv = sv->next) {
        const cJSON *v = cJSON_IsString(sv) ? json_path(sr.body, sv->valuestring) : NULL;
        if (!v || !(cJSON_IsString(v) || cJSON_IsNumber(v))) {
            snprintf(r->err, r->errlen, "%s.save.%s: the response has no value at '%s'", where,
                     sv->string, cJSON_IsString(sv) ? sv->valuestring : "?");
            rc = CHSM_EINVAL;
        } else {
            char num[32];
            if (cJSON_IsNumber(v))
                snprintf(num, sizeof num, "%.0f", v->valuedouble);
            rc = vars_set(&r->v, sv->string, cJSON_IsString(v) ? v->valuestring : num);
        }
    }
    cJSON_Delete(sr.body);
    cJSON_Delete(body);
    free(url);
    return rc;
}

int chsm_fixture_apply(struct chsm_app *app, const cJSON *fixture, char *err, size_t errlen)
{
    if (errlen)
        err[0] = '\0';
    const char *format = chsm_json_str(fixture, "format");
    const cJSON *version = cJSON_GetObjectItem(fixture, "version");
    const cJSON *steps = cJSON_GetObjectItem(fixture, "steps");
    const cJSON *variables = cJSON_GetObjectItem(fixture, "variables");
    if (!cJSON_IsObject(fixture) || !format || strcmp(format, "chsm-fixture") != 0) {
        snprintf(err, errlen, "format: must be \"chsm-fixture\"");
        return CHSM_EINVAL;
    }
    if (!cJSON_IsNumber(version) || version->valueint != 1) {
        snprintf(err, errlen, "version: only version 1 is supported");
        return CHSM_EINVAL;
    }
    if (!cJSON_IsArray(steps)) {
        snprintf(err, errlen, "steps: must be an array");
        return CHSM_EINVAL;
    }
    if (variables && !cJSON_IsObject(variables)) {
        snprintf(err, errlen, "variables: must be an object of strings");
        return CHSM_EINVAL;
    }
    run r;
    memset(&r, 0, sizeof r);
    r.app = app;
    r.err = err;
    r.errlen = errlen;
    char *token = chsm_auth_issue_token(app, CHSM_DEFAULT_TENANT, CHSM_DEFAULT_OID,
                                        "emulator-fixture", "https://management.azure.com/", 3600);
    snprintf(r.bearer, sizeof r.bearer, "Bearer %s", token ? token : "fixture");
    free(token);
    int rc = CHSM_OK;
    for (const cJSON *v = variables ? variables->child : NULL; rc == CHSM_OK && v; v = v->next) {
        if (!cJSON_IsString(v)) {
            snprintf(err, errlen, "variables.%s: must be a string", v->string);
            rc = CHSM_EINVAL;
        } else {
            rc = vars_set(&r.v, v->string, v->valuestring);
        }
    }
    /* One transaction around every step: the fixture applies whole or not at all. */
    if (rc == CHSM_OK && chsm_store_begin(app->store) != CHSM_OK)
        rc = CHSM_EIO;
    else if (rc == CHSM_OK) {
        int i = 0;
        for (const cJSON *s = steps->child; rc == CHSM_OK && s; s = s->next, i++)
            rc = run_step(&r, s, i);
        if (rc == CHSM_OK) {
            rc = chsm_store_commit(app->store);
            if (rc != CHSM_OK)
                snprintf(err, errlen, "a step failed inside the emulator; nothing was applied");
        } else {
            chsm_store_rollback(app->store);
        }
    }
    vars_free(&r.v);
    /* Every failure names its cause (callers answer err to clients). */
    if (rc != CHSM_OK && errlen && !err[0])
        snprintf(err, errlen, "the fixture could not be applied: %s", chsm_status_str(rc));
    return rc;
}

int chsm_fixture_apply_text(struct chsm_app *app, const char *text, size_t len, char *err,
                            size_t errlen)
{
    char perr[160];
    cJSON *j = chsm_json_parse(text, len, perr, sizeof perr);
    if (!j) {
        snprintf(err, errlen, "%s", perr);
        return CHSM_EINVAL;
    }
    int rc = chsm_fixture_apply(app, j, err, errlen);
    cJSON_Delete(j);
    return rc;
}

int chsm_fixture_load(struct chsm_app *app, const char *name_or_path, char *err, size_t errlen)
{
    const char *builtin = chsm_fixture_builtin(name_or_path);
    if (builtin)
        return chsm_fixture_apply_text(app, builtin, strlen(builtin), err, errlen);
    char *text = NULL;
    size_t len = 0;
    int rc = chsm_read_file(name_or_path, FIXTURE_MAX_FILE, &text, &len);
    if (rc != CHSM_OK) {
        snprintf(err, errlen, "'%s' is neither a built-in fixture nor a readable file",
                 name_or_path);
        return rc;
    }
    char inner[1024];
    rc = chsm_fixture_apply_text(app, text, len, inner, sizeof inner);
    if (rc != CHSM_OK)
        snprintf(err, errlen, "%s: %s", name_or_path, inner);
    free(text);
    return rc;
}

/* Built in from the fixtures folder at build time (scripts/embed_fixtures.cmake). */
struct chsm_embedded_fixture {
    const char *name;
    const char *text;
};
extern const struct chsm_embedded_fixture chsm_embedded_fixtures[];

const char *chsm_fixture_builtin(const char *name)
{
    for (int i = 0; chsm_embedded_fixtures[i].name; i++)
        if (strcmp(chsm_embedded_fixtures[i].name, name) == 0)
            return chsm_embedded_fixtures[i].text;
    return NULL;
}

const char *const *chsm_fixture_builtin_names(void)
{
    static const char *names[64];
    int n = 0;
    for (int i = 0; chsm_embedded_fixtures[i].name && n < 63; i++)
        names[n++] = chsm_embedded_fixtures[i].name;
    names[n] = NULL;
    return names;
}

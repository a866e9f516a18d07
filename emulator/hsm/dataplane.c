/* dataplane.c - the simulated HSM's own API (docs/hsm-data-plane.md).
 *
 * Served on the ARM listener under /hsm/{label}/..., without ARM bearer
 * tokens or api-version: the HSM authenticates its own users with sessions
 * ("Authorization: HSM-Session <token>"). Rules follow the Cloud HSM
 * utilities: PRECO admin/tenantadmin activates the cluster, COs manage users,
 * CUs own and use keys, 5 failed logins lock a CO/CU. */
#include "providers/provider.h"

#include "app/app.h"
#include "control/faults.h"
#include "crypto/digest.h"
#include "crypto/keys.h"
#include "crypto/password.h"
#include "crypto/rawsig.h"
#include "hsm/model.h"
#include "hsm/repo.h"
#include "store/resources.h"
#include "util/json.h"
#include "util/status.h"
#include "util/text.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DP_JSON "application/json; charset=utf-8"
#define DP_MAX_DATA (1024 * 1024) /* largest decoded data/ciphertext input */
#define DP_MAX_RANDOM 4096
#define DP_MAX_LABEL 127
#define DP_MAX_KEY_ID 128
#define DP_MAX_TAGS 50

/* HSM return codes carried in error.hsmReturn. */
#define RET_LOGIN_FAILURE "0x000000a3"
#define RET_LOCKED "0x000000a4"
#define RET_INVALID_HANDLE "0x000000a8"
#define RET_ACCESS_DENIED "0x000000c6"
#define RET_POLICY "0x000000b3"

/* ---- responses ---- */

static void dp_json(chsm_response *res, int status, cJSON *body)
{
    char *text = body ? cJSON_PrintUnformatted(body) : NULL;
    cJSON_Delete(body);
    if (!text) {
        chsm_response_set_text(res, 500, DP_JSON,
                               "{\"error\":{\"code\":\"InternalError\",\"message\":\"Out of "
                               "memory while rendering the response.\"}}");
        return;
    }
    chsm_response_set_body(res, status, DP_JSON, text, strlen(text));
}

static void dp_error(chsm_response *res, int status, const char *code, const char *hsm_return,
                     const char *fmt, ...) CHSM_PRINTF(5, 6);

static void dp_error(chsm_response *res, int status, const char *code, const char *hsm_return,
                     const char *fmt, ...)
{
    char message[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "code", code);
    cJSON_AddStringToObject(e, "message", message);
    if (hsm_return)
        cJSON_AddStringToObject(e, "hsmReturn", hsm_return);
    cJSON *body = cJSON_CreateObject();
    cJSON_AddItemToObject(body, "error", e);
    dp_json(res, status, body);
}

static void store_failed(chsm_response *res, int rc)
{
    dp_error(res, 500, "InternalError", NULL, "The HSM state store failed: %s.",
             chsm_status_str(rc));
}

static void bad_request(chsm_response *res, const char *fmt, ...) CHSM_PRINTF(2, 3);
static void bad_request(chsm_response *res, const char *fmt, ...)
{
    char message[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    dp_error(res, 400, "InvalidRequest", NULL, "%s", message);
}

/* ---- request context ---- */

typedef struct dp {
    chsm_request *req;
    chsm_response *res;
    chsm_app *app;
    chsm_hsm_cluster c;
    int authed;
    chsm_hsm_session s;
} dp;

enum { NEED_NOTHING = 0, NEED_SESSION = 1 };

/* all_nodes_down tells whether every node that serves requests is down: node 1 alone before
 * activation, any of the three after (a client fails over between nodes). */
static int all_nodes_down(const dp *d)
{
    int serving = strcmp(d->c.activation, CHSM_HSM_ACTIVE) == 0 ? CHSM_HSM_NODES : 1;
    for (int i = 1; i <= serving; i++)
        if (!chsm_faults_node_down(d->app->faults, d->c.resource_id, i, NULL, 0))
            return 0;
    return 1;
}

/* dp_open finds the cluster of {label}, refuses a nonfunctional one, and (when asked)
 * authenticates the session, refreshing its idle timer. Answers and returns nonzero on
 * failure. */
static int dp_open(chsm_request *req, chsm_response *res, dp *d, int need)
{
    memset(d, 0, sizeof *d);
    d->req = req;
    d->res = res;
    d->app = req->app;
    const char *label = chsm_request_param(req, "label");
    int rc = label ? chsm_hsm_repo_cluster_by_label(d->app->store, label, &d->c) : CHSM_ENOTFOUND;
    if (rc == CHSM_OK && chsm_resources_exists(d->app->store, d->c.resource_id) != 1)
        rc = CHSM_ENOTFOUND; /* HSM state left behind by a deleted resource group */
    if (rc == CHSM_ENOTFOUND) {
        dp_error(res, 404, "ClusterNotFound", NULL, "No Cloud HSM cluster has the label '%.80s'.",
                 label ? label : "");
        return 1;
    }
    if (rc != CHSM_OK) {
        store_failed(res, rc);
        return 1;
    }
    if (need == NEED_NOTHING)
        return 0;
    if (all_nodes_down(d)) {
        dp_error(res, 503, "NodeUnavailable", NULL,
                 "No node of the Cloud HSM cluster '%s' is reachable (fault injection); retry "
                 "later.",
                 d->c.name);
        return 1;
    }
    if (strcmp(d->c.activation, CHSM_HSM_FAILED) == 0) {
        dp_error(res, 409, "ClusterNotFunctional", RET_POLICY,
                 "The Cloud HSM cluster '%s' is not functional: a restore into it failed "
                 "(activationState Failed). Delete and re-create it.",
                 d->c.name);
        return 1;
    }
    const char *auth = chsm_request_header(req, "Authorization");
    const char *prefix = "HSM-Session ";
    if (!auth || !chsm_starts_with_ci(auth, prefix) || strlen(auth) > 512) {
        dp_error(res, 401, "RET_USER_LOGIN_FAILURE", RET_LOGIN_FAILURE,
                 "Log in first: send 'Authorization: HSM-Session <token>' from POST /login.");
        return 1;
    }
    const char *token = auth + strlen(prefix);
    while (*token == ' ')
        token++;
    unsigned char h[32];
    char hex[65];
    chsm_crypto_sha256(token, strlen(token), h);
    chsm_crypto_hex(h, 32, hex);
    int64_t now = chsm_now_ms();
    if (chsm_store_begin(d->app->store) != CHSM_OK) {
        store_failed(res, CHSM_EIO);
        return 1;
    }
    rc = chsm_hsm_repo_session_get(d->app->store, hex, &d->s);
    char *key = chsm_lower_dup(d->c.resource_id);
    int ok = rc == CHSM_OK && key && strcmp(d->s.cluster_key, key) == 0;
    free(key);
    if (ok && now - d->s.last_used_ms > CHSM_HSM_SESSION_IDLE_MS) {
        chsm_hsm_repo_session_delete(d->app->store, hex);
        ok = 0;
    }
    if (ok)
        rc = chsm_hsm_repo_session_touch(d->app->store, hex, now, d->s.user_type);
    if (chsm_store_commit(d->app->store) != CHSM_OK && ok) {
        store_failed(res, CHSM_EIO);
        return 1;
    }
    if (!ok) {
        dp_error(res, 401, "RET_USER_LOGIN_FAILURE", RET_LOGIN_FAILURE,
                 "The session is unknown or expired (sessions end after 15 minutes idle); "
                 "log in again.");
        return 1;
    }
    d->authed = 1;
    return 0;
}

static int is_type(const dp *d, const char *type)
{
    return strcmp(d->s.user_type, type) == 0;
}

static int require_activated(dp *d)
{
    if (strcmp(d->c.activation, CHSM_HSM_ACTIVE) == 0)
        return 0;
    dp_error(d->res, 409, "ClusterNotActivated", NULL,
             "The Cloud HSM cluster '%s' is not activated yet: log in as PRECO admin and "
             "activate it (POST /activate) first.",
             d->c.name);
    return 1;
}

static int require_cu(dp *d)
{
    if (require_activated(d))
        return 1;
    if (is_type(d, "CU"))
        return 0;
    dp_error(d->res, 403, "OperationNotPermitted", RET_POLICY,
             "Only crypto users (CU) use keys; '%s' is a %s.", d->s.username, d->s.user_type);
    return 1;
}

static int require_co(dp *d)
{
    if (require_activated(d))
        return 1;
    if (is_type(d, "CO"))
        return 0;
    dp_error(d->res, 403, "OperationNotPermitted", RET_POLICY,
             "Only crypto officers (CO) manage users; '%s' is a %s.", d->s.username,
             d->s.user_type);
    return 1;
}

static cJSON *body_object(dp *d)
{
    if (!d->req->body || d->req->body_len == 0) {
        bad_request(d->res, "A JSON object body is required.");
        return NULL;
    }
    char err[160];
    cJSON *j = chsm_json_parse((const char *)d->req->body, d->req->body_len, err, sizeof err);
    if (!j || !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        bad_request(d->res, "The body is not a JSON object%s%s.", j ? "" : ": ", j ? "" : err);
        return NULL;
    }
    return j;
}

/* b64_field decodes a base64 member; absent gives *out NULL unless required. */
static int b64_field(dp *d, const cJSON *body, const char *name, int required, unsigned char **out,
                     size_t *n)
{
    *out = NULL;
    *n = 0;
    const cJSON *v = cJSON_GetObjectItem(body, name);
    if (!v || cJSON_IsNull(v)) {
        if (!required)
            return 0;
        bad_request(d->res, "'%s' (base64) is required.", name);
        return 1;
    }
    if (!cJSON_IsString(v) || strlen(v->valuestring) > (DP_MAX_DATA / 3 + 1) * 4 ||
        chsm_crypto_base64_decode(v->valuestring, out, n) != CHSM_OK) {
        bad_request(d->res, "'%s' must be standard base64 of at most %d bytes.", name, DP_MAX_DATA);
        return 1;
    }
    return 0;
}

static void add_b64(cJSON *obj, const char *name, const void *data, size_t n)
{
    char *b = chsm_crypto_base64_encode(data, n);
    cJSON_AddStringToObject(obj, name, b ? b : "");
    free(b);
}

/* ---- users ---- */

static int valid_username(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > 31)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_')
            return 0;
    return 1;
}

static int valid_password(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 8 || n > 32)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
            return 0;
    return 1;
}

static cJSON *user_json(const chsm_hsm_user *u)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "userId", u->user_id);
    cJSON_AddStringToObject(j, "userType", u->user_type);
    cJSON_AddStringToObject(j, "username", u->username);
    cJSON_AddNumberToObject(j, "loginFailureCount", u->login_failures);
    cJSON_AddBoolToObject(j, "locked", u->locked);
    return j;
}

static cJSON *cluster_json(chsm_app *app, const chsm_hsm_cluster *c)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "label", c->label);
    cJSON_AddStringToObject(j, "clusterName", c->name);
    cJSON_AddStringToObject(j, "resourceId", c->resource_id);
    cJSON_AddStringToObject(j, "activationState", c->activation);
    cJSON *nodes = cJSON_AddArrayToObject(j, "nodes");
    int active = strcmp(c->activation, CHSM_HSM_ACTIVE) == 0;
    int failed = strcmp(c->activation, CHSM_HSM_FAILED) == 0;
    for (int i = 1; i <= CHSM_HSM_NODES; i++) {
        char fqdn[128];
        chsm_hsm_node_fqdn(c->label, i, fqdn, sizeof fqdn);
        cJSON *n = cJSON_CreateObject();
        cJSON_AddNumberToObject(n, "nodeId", i);
        cJSON_AddStringToObject(n, "hostname", fqdn);
        cJSON_AddNumberToObject(n, "port", 2225);
        int down = chsm_faults_node_down(app->faults, c->resource_id, i, NULL, 0);
        cJSON_AddStringToObject(
            n, "state", !failed && !down && (active || i == 1) ? "Connected" : "NotConnected");
        cJSON_AddNumberToObject(n, "serverId", i - 1);
        cJSON_AddItemToArray(nodes, n);
    }
    return j;
}

static void get_cluster(chsm_request *req, chsm_response *res)
{
    dp d;
    if (dp_open(req, res, &d, NEED_NOTHING))
        return;
    dp_json(res, 200, cluster_json(d.app, &d.c));
}

static void post_login(chsm_request *req, chsm_response *res)
{
    dp d;
    if (dp_open(req, res, &d, NEED_NOTHING))
        return;
    if (all_nodes_down(&d)) {
        dp_error(res, 503, "NodeUnavailable", NULL,
                 "No node of the Cloud HSM cluster '%s' is reachable (fault injection); retry "
                 "later.",
                 d.c.name);
        return;
    }
    if (strcmp(d.c.activation, CHSM_HSM_FAILED) == 0) {
        dp_error(res, 409, "ClusterNotFunctional", RET_POLICY,
                 "The Cloud HSM cluster '%s' is not functional (activationState Failed).",
                 d.c.name);
        return;
    }
    cJSON *in = body_object(&d);
    if (!in)
        return;
    const char *type = chsm_json_str(in, "userType");
    const char *name = chsm_json_str(in, "username");
    const char *password = chsm_json_str(in, "password");
    if (!type || !name || !password) {
        bad_request(res, "'userType', 'username' and 'password' are required.");
        cJSON_Delete(in);
        return;
    }
    if (strcmp(type, "CO") != 0 && strcmp(type, "CU") != 0 && strcmp(type, "PRECO") != 0 &&
        strcmp(type, "AU") != 0) {
        bad_request(res, "'userType' must be CO, CU, PRECO or AU.");
        cJSON_Delete(in);
        return;
    }
    chsm_hsm_user u;
    int rc = chsm_hsm_repo_user_get(d.app->store, d.c.resource_id, name, &u);
    if (rc != CHSM_OK && rc != CHSM_ENOTFOUND) {
        store_failed(res, rc);
        cJSON_Delete(in);
        return;
    }
    if (rc == CHSM_ENOTFOUND || strcmp(u.user_type, type) != 0) {
        dp_error(res, 401, "RET_USER_LOGIN_FAILURE", RET_LOGIN_FAILURE,
                 "Login failed: no %s user '%.40s' on this HSM, or a wrong password.", type, name);
        cJSON_Delete(in);
        return;
    }
    if (u.locked) {
        dp_error(res, 423, "UserLocked", RET_LOCKED,
                 "The user '%s' is locked after %d failed logins; a crypto officer must reset "
                 "its password.",
                 u.username, CHSM_HSM_MAX_FAILED_LOGINS);
        cJSON_Delete(in);
        return;
    }
    /* Hashing is slow on purpose: verify outside the store lock. */
    int match = chsm_crypto_password_verify(password, u.password_hash);
    cJSON_Delete(in);
    chsm_store *s = d.app->store;
    if (chsm_store_begin(s) != CHSM_OK) {
        store_failed(res, CHSM_EIO);
        return;
    }
    chsm_hsm_user fresh;
    rc = chsm_hsm_repo_user_get(s, d.c.resource_id, u.username, &fresh);
    char token_b64[64] = "";
    int64_t now = chsm_now_ms();
    if (rc == CHSM_OK && match != 1) {
        fresh.login_failures++;
        if (fresh.login_failures >= CHSM_HSM_MAX_FAILED_LOGINS &&
            (strcmp(fresh.user_type, "CO") == 0 || strcmp(fresh.user_type, "CU") == 0))
            fresh.locked = 1;
        rc = chsm_hsm_repo_user_put(s, d.c.resource_id, &fresh);
    } else if (rc == CHSM_OK) {
        fresh.login_failures = 0;
        rc = chsm_hsm_repo_user_put(s, d.c.resource_id, &fresh);
        unsigned char raw[32], h[32];
        chsm_hsm_session ss;
        memset(&ss, 0, sizeof ss);
        if (rc == CHSM_OK)
            rc = chsm_crypto_random(raw, sizeof raw);
        char *tok = rc == CHSM_OK ? chsm_crypto_base64url_encode(raw, sizeof raw) : NULL;
        if (rc == CHSM_OK && !tok)
            rc = CHSM_ENOMEM;
        if (rc == CHSM_OK) {
            snprintf(token_b64, sizeof token_b64, "%s", tok);
            chsm_crypto_sha256(tok, strlen(tok), h);
            chsm_crypto_hex(h, 32, ss.token_hash);
            snprintf(ss.cluster_key, sizeof ss.cluster_key, "%s", d.c.resource_id);
            snprintf(ss.username, sizeof ss.username, "%s", fresh.username);
            snprintf(ss.user_type, sizeof ss.user_type, "%s", fresh.user_type);
            ss.created_ms = ss.last_used_ms = now;
            rc = chsm_hsm_repo_session_insert(s, &ss);
        }
        free(tok);
    }
    if (rc == CHSM_OK)
        rc = chsm_store_commit(s);
    else
        chsm_store_rollback(s);
    if (rc != CHSM_OK) {
        store_failed(res, rc);
        return;
    }
    if (match != 1) {
        if (fresh.locked)
            dp_error(res, 423, "UserLocked", RET_LOCKED,
                     "Login failed; the user '%s' is now locked after %d failed logins.",
                     fresh.username, CHSM_HSM_MAX_FAILED_LOGINS);
        else
            dp_error(res, 401, "RET_USER_LOGIN_FAILURE", RET_LOGIN_FAILURE,
                     "Login failed: no %s user '%.40s' on this HSM, or a wrong password.",
                     fresh.user_type, fresh.username);
        return;
    }
    char expires[40];
    chsm_format_time(now + CHSM_HSM_SESSION_IDLE_MS, expires, sizeof expires);
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "session", token_b64);
    cJSON_AddStringToObject(out, "userType", fresh.user_type);
    cJSON_AddStringToObject(out, "username", fresh.username);
    cJSON_AddStringToObject(out, "expiresAt", expires);
    chsm_crypto_key_wipe(token_b64, sizeof token_b64);
    dp_json(res, 200, out);
}

static void post_logout(chsm_request *req, chsm_response *res)
{
    dp d;
    if (dp_open(req, res, &d, NEED_SESSION))
        return;
    int rc = chsm_hsm_repo_session_delete(d.app->store, d.s.token_hash);
    if (rc != CHSM_OK) {
        store_failed(res, rc);
        return;
    }
    dp_json(res, 200, cJSON_CreateObject());
}

/* activate promotes PRECO admin to CO with a new password and activates the cluster. */
static void activate(dp *d, const char *new_password)
{
    if (!valid_password(new_password)) {
        bad_request(d->res, "The new password must be 8-32 printable characters.");
        return;
    }
    char hash[CHSM_CRYPTO_PASSWORD_HASH_LEN];
    int rc = chsm_crypto_password_hash(new_password, hash, sizeof hash);
    if (rc != CHSM_OK) {
        store_failed(d->res, rc);
        return;
    }
    chsm_store *s = d->app->store;
    if (chsm_store_begin(s) != CHSM_OK) {
        store_failed(d->res, CHSM_EIO);
        return;
    }
    chsm_hsm_user u;
    rc = chsm_hsm_repo_user_get(s, d->c.resource_id, d->s.username, &u);
    if (rc == CHSM_OK && strcmp(u.user_type, "PRECO") != 0)
        rc = CHSM_ECONFLICT;
    if (rc == CHSM_OK) {
        snprintf(u.user_type, sizeof u.user_type, "CO");
        snprintf(u.password_hash, sizeof u.password_hash, "%s", hash);
        u.login_failures = 0;
        u.locked = 0;
        rc = chsm_hsm_repo_user_put(s, d->c.resource_id, &u);
    }
    if (rc == CHSM_OK)
        rc = chsm_hsm_set_activation(d->app, d->c.resource_id, CHSM_HSM_ACTIVE);
    if (rc == CHSM_OK)
        rc = chsm_hsm_repo_session_touch(s, d->s.token_hash, chsm_now_ms(), "CO");
    if (rc == CHSM_OK)
        rc = chsm_store_commit(s);
    else
        chsm_store_rollback(s);
    if (rc == CHSM_ECONFLICT) {
        dp_error(d->res, 409, "OperationNotPermitted", RET_POLICY,
                 "The cluster is already activated.");
        return;
    }
    if (rc != CHSM_OK) {
        store_failed(d->res, rc);
        return;
    }
    snprintf(d->c.activation, sizeof d->c.activation, "%s", CHSM_HSM_ACTIVE);
    dp_json(d->res, 200, cluster_json(d->app, &d->c));
}

static void post_activate(chsm_request *req, chsm_response *res)
{
    dp d;
    if (dp_open(req, res, &d, NEED_SESSION))
        return;
    if (!is_type(&d, "PRECO")) {
        dp_error(res, strcmp(d.c.activation, CHSM_HSM_ACTIVE) == 0 ? 409 : 403,
                 "OperationNotPermitted", RET_POLICY,
                 strcmp(d.c.activation, CHSM_HSM_ACTIVE) == 0
                     ? "The cluster is already activated."
                     : "Only the PRECO user activates the cluster.");
        return;
    }
    cJSON *in = body_object(&d);
    if (!in)
        return;
    activate(&d, chsm_json_str(in, "newPassword"));
    cJSON_Delete(in);
}

static void list_users(chsm_request *req, chsm_response *res)
{
    dp d;
    if (dp_open(req, res, &d, NEED_SESSION))
        return;
    chsm_hsm_user *users = NULL;
    size_t n = 0;
    int rc = chsm_hsm_repo_users_list(d.app->store, d.c.resource_id, &users, &n);
    if (rc != CHSM_OK) {
        store_failed(res, rc);
        return;
    }
    cJSON *out = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(out, "users");
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, user_json(&users[i]));
    free(users);
    dp_json(res, 200, out);
}

static void create_user(chsm_request *req, chsm_response *res)
{
    dp d;
    if (dp_open(req, res, &d, NEED_SESSION) || require_co(&d))
        return;
    cJSON *in = body_object(&d);
    if (!in)
        return;
    const char *type = chsm_json_str(in, "userType");
    const char *name = chsm_json_str(in, "username");
    const char *password = chsm_json_str(in, "password");
    char hash[CHSM_CRYPTO_PASSWORD_HASH_LEN];
    if (!type || (strcmp(type, "CO") != 0 && strcmp(type, "CU") != 0)) {
        bad_request(res, "'userType' must be CO or CU.");
    } else if (!valid_username(name)) {
        bad_request(res, "'username' must be 1-31 letters, digits or '_'.");
    } else if (!valid_password(password)) {
        bad_request(res, "'password' must be 8-32 printable characters.");
    } else if (chsm_crypto_password_hash(password, hash, sizeof hash) != CHSM_OK) {
        store_failed(res, CHSM_ECRYPTO);
    } else {
        chsm_store *s = d.app->store;
        chsm_hsm_user u, existing;
        memset(&u, 0, sizeof u);
        chsm_hsm_user *all = NULL;
        size_t n = 0;
        int rc = chsm_store_begin(s);
        if (rc == CHSM_OK) {
            rc = chsm_hsm_repo_user_get(s, d.c.resource_id, name, &existing);
            if (rc == CHSM_OK)
                rc = CHSM_EEXISTS;
            else if (rc == CHSM_ENOTFOUND)
                rc = chsm_hsm_repo_users_list(s, d.c.resource_id, &all, &n);
            if (rc == CHSM_OK && n >= CHSM_HSM_MAX_USERS)
                rc = CHSM_ETOOBIG;
            free(all);
            chsm_hsm_cluster c;
            if (rc == CHSM_OK)
                rc = chsm_hsm_repo_cluster_get(s, d.c.resource_id, &c);
            if (rc == CHSM_OK) {
                u.user_id = c.next_user_id++;
                snprintf(u.user_type, sizeof u.user_type, "%s", type);
                snprintf(u.username, sizeof u.username, "%s", name);
                snprintf(u.password_hash, sizeof u.password_hash, "%s", hash);
                rc = chsm_hsm_repo_user_put(s, d.c.resource_id, &u);
                if (rc == CHSM_OK)
                    rc = chsm_hsm_repo_cluster_update(s, &c);
            }
            if (rc == CHSM_OK)
                rc = chsm_store_commit(s);
            else
                chsm_store_rollback(s);
        }
        if (rc == CHSM_EEXISTS)
            dp_error(res, 409, "UserAlreadyExists", NULL, "A user named '%s' already exists.",
                     existing.username);
        else if (rc == CHSM_ETOOBIG)
            bad_request(res, "The HSM holds at most %d users.", CHSM_HSM_MAX_USERS);
        else if (rc != CHSM_OK)
            store_failed(res, rc);
        else
            dp_json(res, 201, user_json(&u));
    }
    cJSON_Delete(in);
}

static void change_password(chsm_request *req, chsm_response *res)
{
    dp d;
    if (dp_open(req, res, &d, NEED_SESSION))
        return;
    const char *target = chsm_request_param(req, "username");
    cJSON *in = body_object(&d);
    if (!in)
        return;
    const char *type = chsm_json_str(in, "userType");
    const char *password = chsm_json_str(in, "password");
    int self = chsm_streq_ci(target, d.s.username);
    chsm_hsm_user u;
    int rc = chsm_hsm_repo_user_get(d.app->store, d.c.resource_id, target, &u);
    if (rc == CHSM_ENOTFOUND) {
        dp_error(res, 404, "UserNotFound", NULL, "No user '%.40s' exists on this HSM.", target);
        goto out;
    }
    if (rc != CHSM_OK) {
        store_failed(res, rc);
        goto out;
    }
    if (type && strcmp(type, u.user_type) != 0) {
        bad_request(res, "The user '%s' is a %s, not a %s.", u.username, u.user_type, type);
        goto out;
    }
    if (self && strcmp(u.user_type, "PRECO") == 0) {
        /* changePswd PRECO admin <new>: this is the activation. */
        activate(&d, password);
        goto out;
    }
    if (!self && require_co(&d))
        goto out;
    if (self && require_activated(&d))
        goto out;
    if (!valid_password(password)) {
        bad_request(res, "'password' must be 8-32 printable characters.");
        goto out;
    }
    char hash[CHSM_CRYPTO_PASSWORD_HASH_LEN];
    if (chsm_crypto_password_hash(password, hash, sizeof hash) != CHSM_OK) {
        store_failed(res, CHSM_ECRYPTO);
        goto out;
    }
    chsm_store *s = d.app->store;
    rc = chsm_store_begin(s);
    if (rc == CHSM_OK) {
        rc = chsm_hsm_repo_user_get(s, d.c.resource_id, target, &u);
        if (rc == CHSM_OK) {
            snprintf(u.password_hash, sizeof u.password_hash, "%s", hash);
            if (is_type(&d, "CO")) { /* a CO's reset also unlocks */
                u.locked = 0;
                u.login_failures = 0;
            }
            rc = chsm_hsm_repo_user_put(s, d.c.resource_id, &u);
        }
        if (rc == CHSM_OK)
            rc = chsm_store_commit(s);
        else
            chsm_store_rollback(s);
    }
    if (rc != CHSM_OK)
        store_failed(res, rc);
    else
        dp_json(res, 200, user_json(&u));
out:
    cJSON_Delete(in);
}

/* unshare_all removes username from every key's sharedWith list. */
static int unshare_all(chsm_app *app, const char *resource_id, const char *username)
{
    chsm_hsm_key *keys = NULL;
    size_t n = 0;
    int rc = chsm_hsm_repo_keys_list(app->store, resource_id, 0, &keys, &n);
    for (size_t i = 0; rc == CHSM_OK && i < n; i++) {
        cJSON *shared = cJSON_GetObjectItem(keys[i].meta, "sharedWith");
        int changed = 0;
        for (int j = cJSON_GetArraySize(shared) - 1; j >= 0; j--) {
            const char *v = cJSON_GetStringValue(cJSON_GetArrayItem(shared, j));
            if (v && chsm_streq_ci(v, username)) {
                cJSON_DeleteItemFromArray(shared, j);
                changed = 1;
            }
        }
        if (changed)
            rc = chsm_hsm_repo_key_put_meta(app->store, resource_id, &keys[i]);
    }
    chsm_hsm_keys_free(keys, n);
    return rc;
}

static void delete_user(chsm_request *req, chsm_response *res)
{
    dp d;
    if (dp_open(req, res, &d, NEED_SESSION) || require_co(&d))
        return;
    const char *target = chsm_request_param(req, "username");
    if (chsm_streq_ci(target, d.s.username)) {
        dp_error(res, 403, "OperationNotPermitted", RET_POLICY,
                 "A user cannot delete itself while logged in.");
        return;
    }
    chsm_store *s = d.app->store;
    if (chsm_store_begin(s) != CHSM_OK) {
        store_failed(res, CHSM_EIO);
        return;
    }
    chsm_hsm_user u;
    int rc = chsm_hsm_repo_user_get(s, d.c.resource_id, target, &u);
    int owned = 0;
    if (rc == CHSM_OK) {
        owned = chsm_hsm_repo_keys_owned_by(s, d.c.resource_id, u.username);
        rc = owned < 0 ? owned : owned > 0 ? CHSM_ECONFLICT : CHSM_OK;
    }
    if (rc == CHSM_OK)
        rc = unshare_all(d.app, d.c.resource_id, u.username);
    if (rc == CHSM_OK)
        rc = chsm_hsm_repo_user_delete(s, d.c.resource_id, u.username);
    if (rc == CHSM_OK)
        rc = chsm_store_commit(s);
    else
        chsm_store_rollback(s);
    if (rc == CHSM_ENOTFOUND)
        dp_error(res, 404, "UserNotFound", NULL, "No user '%.40s' exists on this HSM.", target);
    else if (rc == CHSM_ECONFLICT)
        dp_error(res, 409, "UserOwnsKeys", NULL,
                 "The crypto user '%s' owns %d key(s); delete them first.", u.username, owned);
    else if (rc != CHSM_OK)
        store_failed(res, rc);
    else
        dp_json(res, 200, cJSON_CreateObject());
}

/* ---- keys ---- */

static const char *const attribute_names[] = {
    "token",  "extractable", "sensitive", "encrypt", "decrypt", "wrap",
    "unwrap", "sign",        "verify",    "derive",  "trusted",
};
#define NATTR (sizeof attribute_names / sizeof attribute_names[0])

/* default_attributes returns the attributes a new key of class/type gets. */
static cJSON *default_attributes(const char *klass, const char *type)
{
    int secret = strcmp(klass, "secret") == 0, priv = strcmp(klass, "private") == 0;
    int rsa = strcmp(type, "RSA") == 0;
    int v[NATTR] = {
        1,                                /* token */
        1,                                /* extractable */
        !strcmp(klass, "public") ? 0 : 1, /* sensitive */
        secret || (!priv && rsa),         /* encrypt */
        secret || (priv && rsa),          /* decrypt */
        secret || (!priv && rsa),         /* wrap */
        secret || (priv && rsa),          /* unwrap */
        priv,                             /* sign */
        !secret && !priv,                 /* verify */
        priv && !rsa,                     /* derive */
        0,                                /* trusted */
    };
    cJSON *a = cJSON_CreateObject();
    for (size_t i = 0; i < NATTR; i++)
        cJSON_AddBoolToObject(a, attribute_names[i], v[i]);
    return a;
}

static int known_attribute(const char *name)
{
    for (size_t i = 0; i < NATTR; i++)
        if (strcmp(attribute_names[i], name) == 0)
            return 1;
    return 0;
}

/* check_attributes validates a request's attributes object (booleans, known names). */
static int check_attributes(dp *d, const cJSON *attrs)
{
    if (!attrs || cJSON_IsNull(attrs))
        return 0;
    if (!cJSON_IsObject(attrs)) {
        bad_request(d->res, "'attributes' must be an object of booleans.");
        return 1;
    }
    for (const cJSON *a = attrs->child; a; a = a->next) {
        if (!known_attribute(a->string) || !cJSON_IsBool(a)) {
            bad_request(d->res, "Unknown or non-boolean attribute '%.40s'.", a->string);
            return 1;
        }
    }
    return 0;
}

static int check_tags(dp *d, const cJSON *tags)
{
    if (!tags || cJSON_IsNull(tags))
        return 0;
    int n = 0;
    if (cJSON_IsObject(tags)) {
        for (const cJSON *t = tags->child; t; t = t->next) {
            if (!cJSON_IsString(t) || strlen(t->string) == 0 || strlen(t->string) > 128 ||
                strlen(t->valuestring) > 256 || ++n > DP_MAX_TAGS)
                goto bad;
        }
        return 0;
    }
bad:
    bad_request(d->res, "'tags' must be an object of at most %d string values.", DP_MAX_TAGS);
    return 1;
}

static const char *key_type(const chsm_hsm_key *k)
{
    const char *t = chsm_json_str(k->meta, "type");
    return t ? t : "";
}

static int attr(const cJSON *meta, const char *name)
{
    return cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(meta, "attributes"), name));
}

/* key_json renders a stored key as the wire object (handle first). */
static cJSON *key_json(const chsm_hsm_key *k)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "handle", (double)k->handle);
    for (const cJSON *m = k->meta ? k->meta->child : NULL; m; m = m->next)
        cJSON_AddItemToObject(j, m->string, cJSON_Duplicate(m, 1));
    return j;
}

static int key_visible(const dp *d, const chsm_hsm_key *k)
{
    if (strcmp(k->klass, "public") == 0 || chsm_streq_ci(k->owner, d->s.username))
        return 1;
    const cJSON *s;
    cJSON_ArrayForEach(s, cJSON_GetObjectItem(k->meta, "sharedWith"))
    {
        if (cJSON_IsString(s) && chsm_streq_ci(s->valuestring, d->s.username))
            return 1;
    }
    return 0;
}

static int parse_handle(const char *s, int64_t *out)
{
    if (!s || !*s || strlen(s) > 15)
        return 0;
    for (const char *p = s; *p; p++)
        if (!isdigit((unsigned char)*p))
            return 0;
    *out = strtoll(s, NULL, 10);
    return *out > 0;
}

/* load_key loads a key the caller may use (owner_only: must own it). Answers on failure. */
static int load_key(dp *d, const char *handle_text, int owner_only, chsm_hsm_key *k)
{
    int64_t h;
    if (!parse_handle(handle_text, &h)) {
        dp_error(d->res, 404, "InvalidObjectHandle", RET_INVALID_HANDLE,
                 "Invalid object handle '%.20s' is passed to this operation.",
                 handle_text ? handle_text : "");
        return 1;
    }
    int rc = chsm_hsm_repo_key_get(d->app->store, d->c.resource_id, h, k);
    if (rc == CHSM_ENOTFOUND) {
        dp_error(d->res, 404, "InvalidObjectHandle", RET_INVALID_HANDLE,
                 "Invalid object handle %lld is passed to this operation.", (long long)h);
        return 1;
    }
    if (rc != CHSM_OK) {
        store_failed(d->res, rc);
        return 1;
    }
    if (owner_only ? !chsm_streq_ci(k->owner, d->s.username) : !key_visible(d, k)) {
        dp_error(d->res, 403, "KeyAccessDenied", RET_ACCESS_DENIED,
                 "Key Access is denied: key %lld is %s '%s'.", (long long)h,
                 owner_only ? "owned by another user, not" : "neither owned by nor shared with",
                 d->s.username);
        chsm_hsm_key_clear(k);
        return 1;
    }
    return 0;
}

/* key_material unseals a loaded key's material (caller frees with chsm_crypto_key_free). */
static int key_material(dp *d, const chsm_hsm_key *k, unsigned char **m, size_t *n)
{
    int rc = chsm_hsm_unseal(d->app, &d->c, k->handle, k->sealed, k->sealed_len, m, n);
    if (rc != CHSM_OK)
        dp_error(d->res, 500, "InternalError", NULL,
                 "The key material of handle %lld does not authenticate (%s).",
                 (long long)k->handle, chsm_status_str(rc));
    return rc != CHSM_OK;
}

static int require_attr(dp *d, const chsm_hsm_key *k, const char *name)
{
    if (attr(k->meta, name))
        return 0;
    dp_error(d->res, 403, "OperationNotPermitted", RET_POLICY,
             "Key %lld does not allow '%s' (its %s attribute is false).", (long long)k->handle,
             name, name);
    return 1;
}

/* new_key_meta builds the stored metadata of a new key. */
static cJSON *new_key_meta(const char *key_id, const char *label, const char *klass,
                           const char *type, int size, const char *curve, const char *owner,
                           const cJSON *attrs, const cJSON *tags, const char *kcv_hex)
{
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "keyId", key_id);
    cJSON_AddStringToObject(m, "label", label ? label : "");
    cJSON_AddStringToObject(m, "class", klass);
    cJSON_AddStringToObject(m, "type", type);
    cJSON_AddNumberToObject(m, "size", size);
    if (curve && *curve)
        cJSON_AddStringToObject(m, "curve", curve);
    else
        cJSON_AddNullToObject(m, "curve");
    cJSON_AddStringToObject(m, "owner", owner);
    cJSON_AddArrayToObject(m, "sharedWith");
    cJSON *a = default_attributes(klass, type);
    for (const cJSON *o = attrs ? attrs->child : NULL; o; o = o->next) {
        if (strcmp(klass, "public") == 0 &&
            (strcmp(o->string, "sensitive") == 0 || strcmp(o->string, "extractable") == 0))
            continue; /* public keys are never sensitive and always extractable */
        chsm_json_set(a, o->string, cJSON_CreateBool(cJSON_IsTrue(o)));
    }
    cJSON_AddItemToObject(m, "attributes", a);
    cJSON_AddNumberToObject(m, "version", 1);
    cJSON_AddItemToObject(m, "tags",
                          cJSON_IsObject(tags) ? cJSON_Duplicate(tags, 1) : cJSON_CreateObject());
    cJSON_AddStringToObject(m, "kcv", kcv_hex);
    char now[40];
    chsm_format_time(chsm_now_ms(), now, sizeof now);
    cJSON_AddStringToObject(m, "createdAt", now);
    return m;
}

typedef struct new_key {
    const char *klass;
    cJSON *meta; /* owned until stored */
    unsigned char *material;
    size_t material_len;
} new_key;

/* store_new_keys allocates handles and stores 1 or 2 new keys in one transaction, then
 * answers 201 {"keys":[...]}. Takes ownership of the keys' meta and material. */
static void store_new_keys(dp *d, new_key *nk, int count, const char *key_id)
{
    chsm_store *s = d->app->store;
    cJSON *out = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(out, "keys");
    chsm_hsm_cluster c;
    int rc = chsm_store_begin(s);
    if (rc == CHSM_OK) {
        int exists = chsm_hsm_repo_key_id_exists(s, d->c.resource_id, key_id);
        rc = exists < 0 ? exists : exists ? CHSM_EEXISTS : CHSM_OK;
        if (rc == CHSM_OK)
            rc = chsm_hsm_repo_cluster_get(s, d->c.resource_id, &c);
        /* Handles come only from the counter, which starts at CHSM_HSM_FIRST_HANDLE, so the
         * cluster holds at most next_handle - FIRST keys: the keys are counted (COUNT(*) is
         * O(keys), which made filling a cluster quadratic) only when that bound could pass
         * the limit, i.e. after deletions near the limit. */
        int64_t bound = rc == CHSM_OK ? c.next_handle - CHSM_HSM_FIRST_HANDLE : 0;
        if (rc == CHSM_OK && (bound < 0 || bound + count > d->app->cfg.hsm_max_keys)) {
            int n = chsm_hsm_repo_keys_count(s, d->c.resource_id);
            if (n < 0)
                rc = n;
            else if (n + count > d->app->cfg.hsm_max_keys)
                rc = CHSM_ETOOBIG;
        }
        for (int i = 0; rc == CHSM_OK && i < count; i++) {
            chsm_hsm_key k;
            memset(&k, 0, sizeof k);
            k.handle = c.next_handle++;
            snprintf(k.key_id, sizeof k.key_id, "%s", key_id);
            snprintf(k.klass, sizeof k.klass, "%s", nk[i].klass);
            snprintf(k.owner, sizeof k.owner, "%s", d->s.username);
            k.meta = nk[i].meta;
            rc = chsm_hsm_seal(d->app, &c, k.handle, nk[i].material, nk[i].material_len, &k.sealed,
                               &k.sealed_len);
            if (rc == CHSM_OK)
                rc = chsm_hsm_repo_key_put(s, d->c.resource_id, &k);
            if (rc == CHSM_OK)
                cJSON_AddItemToArray(arr, key_json(&k));
            free(k.sealed);
        }
        if (rc == CHSM_OK)
            rc = chsm_hsm_repo_cluster_update(s, &c);
        if (rc == CHSM_OK)
            rc = chsm_store_commit(s);
        else
            chsm_store_rollback(s);
    }
    for (int i = 0; i < count; i++) {
        cJSON_Delete(nk[i].meta);
        chsm_crypto_key_free(nk[i].material, nk[i].material_len);
    }
    if (rc == CHSM_EEXISTS) {
        cJSON_Delete(out);
        dp_error(d->res, 409, "KeyIdAlreadyExists", NULL,
                 "A key with keyId '%.128s' already exists in this cluster.", key_id);
    } else if (rc == CHSM_ETOOBIG) {
        cJSON_Delete(out);
        bad_request(d->res, "The cluster holds at most %d key handles.", d->app->cfg.hsm_max_keys);
    } else if (rc != CHSM_OK) {
        cJSON_Delete(out);
        store_failed(d->res, rc);
    } else {
        dp_json(d->res, 201, out);
    }
}

/* key_common validates label, keyId, attributes and tags of a new key; fills key_id. */
static int key_common(dp *d, const cJSON *in, const char **label, char key_id[DP_MAX_KEY_ID + 1])
{
    const cJSON *l = cJSON_GetObjectItem(in, "label");
    const cJSON *id = cJSON_GetObjectItem(in, "keyId");
    if (l && !cJSON_IsNull(l) && (!cJSON_IsString(l) || strlen(l->valuestring) > DP_MAX_LABEL)) {
        bad_request(d->res, "'label' must be a string of at most %d characters.", DP_MAX_LABEL);
        return 1;
    }
    *label = cJSON_IsString(l) ? l->valuestring : "";
    if (id && !cJSON_IsNull(id)) {
        size_t n = cJSON_IsString(id) ? strlen(id->valuestring) : 0;
        int ok = n >= 1 && n <= DP_MAX_KEY_ID;
        for (size_t i = 0; ok && i < n; i++)
            ok = (unsigned char)id->valuestring[i] >= 0x21 &&
                 (unsigned char)id->valuestring[i] <= 0x7e;
        if (!ok) {
            bad_request(d->res, "'keyId' must be 1-%d printable characters without spaces.",
                        DP_MAX_KEY_ID);
            return 1;
        }
        snprintf(key_id, DP_MAX_KEY_ID + 1, "%s", id->valuestring);
    } else {
        chsm_uuid(key_id); /* keyId is unique in the cluster, so one is made up when absent */
    }
    return check_attributes(d, cJSON_GetObjectItem(in, "attributes")) ||
           check_tags(d, cJSON_GetObjectItem(in, "tags"));
}

static void kcv_hex(const unsigned char kcv[3], char out[7])
{
    chsm_crypto_hex(kcv, 3, out);
}

static void generate_key(chsm_request *req, chsm_response *res)
{
    dp d;
    if (dp_open(req, res, &d, NEED_SESSION) || require_cu(&d))
        return;
    cJSON *in = body_object(&d);
    if (!in)
        return;
    const char *type = chsm_json_str(in, "type");
    const cJSON *size = cJSON_GetObjectItem(in, "size");
    const char *label;
    char key_id[DP_MAX_KEY_ID + 1];
    const cJSON *attrs = cJSON_GetObjectItem(in, "attributes");
    const cJSON *tags = cJSON_GetObjectItem(in, "tags");
    new_key nk[2];
    memset(nk, 0, sizeof nk);
    unsigned char kcv[3];
    char hex[7];
    if (key_common(&d, in, &label, key_id))
        goto out;
    if (type && strcmp(type, "AES") == 0) {
        int bits = cJSON_IsNumber(size) ? size->valueint : 256;
        if (size && (!cJSON_IsNumber(size) || size->valuedouble != (double)bits ||
                     (bits != 128 && bits != 192 && bits != 256))) {
            bad_request(res, "AES 'size' must be 128, 192 or 256 bits.");
            goto out;
        }
        nk[0].klass = "secret";
        nk[0].material_len = (size_t)bits / 8;
        nk[0].material = malloc(nk[0].material_len);
        if (!nk[0].material || chsm_crypto_random(nk[0].material, nk[0].material_len) != CHSM_OK ||
            chsm_crypto_key_kcv_secret(nk[0].material, nk[0].material_len, kcv) != CHSM_OK) {
            chsm_crypto_key_free(nk[0].material, nk[0].material_len);
            store_failed(res, CHSM_ECRYPTO);
            goto out;
        }
        kcv_hex(kcv, hex);
        nk[0].meta = new_key_meta(key_id, label, "secret", "AES", bits, NULL, d.s.username, attrs,
                                  tags, hex);
        store_new_keys(&d, nk, 1, key_id);
        goto out;
    }
    if (!type || (strcmp(type, "RSA") != 0 && strcmp(type, "EC") != 0)) {
        bad_request(res, "'type' must be AES, RSA or EC.");
        goto out;
    }
    unsigned char *priv = NULL, *pub = NULL;
    size_t privlen = 0, publen = 0;
    int bits = 0, rc;
    const char *curve = NULL;
    if (strcmp(type, "RSA") == 0) {
        const cJSON *e = cJSON_GetObjectItem(in, "publicExponent");
        bits = cJSON_IsNumber(size) ? size->valueint : 2048;
        if ((size && (!cJSON_IsNumber(size) || size->valuedouble != (double)bits)) ||
            (bits != 2048 && bits != 3072 && bits != 4096)) {
            bad_request(res, "RSA 'size' must be 2048, 3072 or 4096 bits.");
            goto out;
        }
        double ev = cJSON_IsNumber(e) ? e->valuedouble : 65537;
        if ((e && !cJSON_IsNumber(e)) || ev < 65537 || ev > 4294967295.0 ||
            ((unsigned long)ev & 1) == 0 || (double)(unsigned long)ev != ev) {
            bad_request(res, "'publicExponent' must be an odd integer >= 65537.");
            goto out;
        }
        rc = chsm_crypto_key_generate_rsa(bits, (unsigned long)ev, &priv, &privlen);
    } else {
        const char *cv = chsm_json_str(in, "curve");
        if (!cv && cJSON_IsNumber(size) && size->valuedouble == (double)size->valueint)
            cv = size->valueint == 384 ? "P-384" : size->valueint == 256 ? "P-256" : NULL;
        else if (!cv && !size)
            cv = "P-256";
        if (!cv || (strcmp(cv, "P-256") != 0 && strcmp(cv, "P-384") != 0)) {
            bad_request(res, "EC 'curve' must be P-256 or P-384.");
            goto out;
        }
        curve = cv;
        bits = strcmp(cv, "P-256") == 0 ? 256 : 384;
        rc = chsm_crypto_key_generate_ec(cv, &priv, &privlen);
    }
    if (rc == CHSM_OK)
        rc = chsm_crypto_key_public_der(priv, privlen, &pub, &publen);
    if (rc == CHSM_OK)
        rc = chsm_crypto_key_kcv_public(priv, privlen, kcv);
    if (rc != CHSM_OK) {
        chsm_crypto_key_free(priv, privlen);
        free(pub);
        store_failed(res, rc);
        goto out;
    }
    kcv_hex(kcv, hex);
    nk[0].klass = "public";
    nk[0].material = pub;
    nk[0].material_len = publen;
    nk[0].meta =
        new_key_meta(key_id, label, "public", type, bits, curve, d.s.username, attrs, tags, hex);
    nk[1].klass = "private";
    nk[1].material = priv;
    nk[1].material_len = privlen;
    nk[1].meta =
        new_key_meta(key_id, label, "private", type, bits, curve, d.s.username, attrs, tags, hex);
    store_new_keys(&d, nk, 2, key_id);
out:
    cJSON_Delete(in);
}

static void find_keys(chsm_request *req, chsm_response *res)
{
    dp d;
    if (dp_open(req, res, &d, NEED_SESSION) || require_cu(&d))
        return;
    const char *label = chsm_request_query(req, "label");
    const char *klass = chsm_request_query(req, "class");
    const char *type = chsm_request_query(req, "type");
    const char *key_id = chsm_request_query(req, "keyId");
    chsm_hsm_key *keys = NULL;
    size_t n = 0;
    int rc = chsm_hsm_repo_keys_list(d.app->store, d.c.resource_id, 0, &keys, &n);
    if (rc != CHSM_OK) {
        store_failed(res, rc);
        return;
    }
    cJSON *out = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(out, "keys");
    for (size_t i = 0; i < n; i++) {
        const chsm_hsm_key *k = &keys[i];
        const char *kl = chsm_json_str(k->meta, "label");
        const char *kt = chsm_json_str(k->meta, "type");
        if (!key_visible(&d, k) || (label && (!kl || strcmp(kl, label) != 0)) ||
            (klass && strcmp(k->klass, klass) != 0) || (type && (!kt || strcmp(kt, type) != 0)) ||
            (key_id && strcmp(k->key_id, key_id) != 0))
            continue;
        cJSON_AddItemToArray(arr, key_json(k));
    }
    chsm_hsm_keys_free(keys, n);
    dp_json(res, 200, out);
}

static void get_key(chsm_request *req, chsm_response *res)
{
    dp d;
    chsm_hsm_key k;
    if (dp_open(req, res, &d, NEED_SESSION) || require_cu(&d) ||
        load_key(&d, chsm_request_param(req, "handle"), 0, &k))
        return;
    dp_json(res, 200, key_json(&k));
    chsm_hsm_key_clear(&k);
}

/* patch_key: the owning CU changes label, tags and attributes (extractable only to false,
 * sensitive only to true); a CO may set only "trusted" (the user-KEK step). */
static void patch_key(chsm_request *req, chsm_response *res)
{
    dp d;
    if (dp_open(req, res, &d, NEED_SESSION) || require_activated(&d))
        return;
    int co = is_type(&d, "CO");
    if (!co && !is_type(&d, "CU")) {
        dp_error(res, 403, "OperationNotPermitted", RET_POLICY, "Only a CU or CO may do this.");
        return;
    }
    cJSON *in = body_object(&d);
    if (!in)
        return;
    const cJSON *attrs = cJSON_GetObjectItem(in, "attributes");
    const cJSON *label = cJSON_GetObjectItem(in, "label");
    const cJSON *tags = cJSON_GetObjectItem(in, "tags");
    chsm_hsm_key k;
    memset(&k, 0, sizeof k);
    if (check_attributes(&d, attrs) || check_tags(&d, tags))
        goto out;
    if (label && !cJSON_IsNull(label) &&
        (!cJSON_IsString(label) || strlen(label->valuestring) > DP_MAX_LABEL)) {
        bad_request(res, "'label' must be a string of at most %d characters.", DP_MAX_LABEL);
        goto out;
    }
    if (co) {
        int only_trusted = !label && !tags && cJSON_IsObject(attrs) && attrs->child &&
                           !attrs->child->next && strcmp(attrs->child->string, "trusted") == 0;
        if (!only_trusted) {
            dp_error(res, 403, "OperationNotPermitted", RET_POLICY,
                     "A crypto officer may only set the 'trusted' attribute of a key.");
            goto out;
        }
        int64_t h;
        int rc = parse_handle(chsm_request_param(req, "handle"), &h)
                     ? chsm_hsm_repo_key_get(d.app->store, d.c.resource_id, h, &k)
                     : CHSM_ENOTFOUND;
        if (rc != CHSM_OK) {
            if (rc == CHSM_ENOTFOUND)
                dp_error(res, 404, "InvalidObjectHandle", RET_INVALID_HANDLE,
                         "Invalid object handle is passed to this operation.");
            else
                store_failed(res, rc);
            goto out;
        }
    } else if (load_key(&d, chsm_request_param(req, "handle"), 1, &k)) {
        goto out;
    }
    cJSON *cur = cJSON_GetObjectItem(k.meta, "attributes");
    for (const cJSON *a = attrs ? attrs->child : NULL; a; a = a->next) {
        int was = cJSON_IsTrue(cJSON_GetObjectItem(cur, a->string)), now = cJSON_IsTrue(a);
        if (was == now)
            continue;
        if (strcmp(a->string, "extractable") == 0 && now) {
            bad_request(res, "'extractable' can only change from true to false.");
            goto out;
        }
        if (strcmp(a->string, "sensitive") == 0 && !now) {
            bad_request(res, "'sensitive' can only change from false to true.");
            goto out;
        }
        if (strcmp(a->string, "trusted") == 0 && !co) {
            dp_error(res, 403, "OperationNotPermitted", RET_POLICY,
                     "Only a crypto officer sets the 'trusted' attribute.");
            goto out;
        }
        chsm_json_set(cur, a->string, cJSON_CreateBool(now));
    }
    if (cJSON_IsString(label))
        chsm_json_set_str(k.meta, "label", label->valuestring);
    if (cJSON_IsObject(tags))
        chsm_json_set(k.meta, "tags", cJSON_Duplicate(tags, 1));
    const cJSON *ver = cJSON_GetObjectItem(k.meta, "version");
    chsm_json_set(k.meta, "version",
                  cJSON_CreateNumber((cJSON_IsNumber(ver) ? ver->valueint : 1) + 1));
    int rc = chsm_hsm_repo_key_put_meta(d.app->store, d.c.resource_id, &k);
    if (rc != CHSM_OK)
        store_failed(res, rc);
    else
        dp_json(res, 200, key_json(&k));
out:
    chsm_hsm_key_clear(&k);
    cJSON_Delete(in);
}

static void delete_key(chsm_request *req, chsm_response *res)
{
    dp d;
    chsm_hsm_key k;
    if (dp_open(req, res, &d, NEED_SESSION) || require_cu(&d) ||
        load_key(&d, chsm_request_param(req, "handle"), 1, &k))
        return;
    int rc = chsm_hsm_repo_key_delete(d.app->store, d.c.resource_id, k.handle);
    chsm_hsm_key_clear(&k);
    if (rc != CHSM_OK && rc != CHSM_ENOTFOUND)
        store_failed(res, rc);
    else
        dp_json(res, 200, cJSON_CreateObject());
}

static void get_public(chsm_request *req, chsm_response *res)
{
    dp d;
    chsm_hsm_key k;
    if (dp_open(req, res, &d, NEED_SESSION) || require_cu(&d) ||
        load_key(&d, chsm_request_param(req, "handle"), 0, &k))
        return;
    unsigned char *m = NULL;
    size_t n = 0;
    if (strcmp(k.klass, "secret") == 0) {
        bad_request(res, "Key %lld is a secret key; it has no public key.", (long long)k.handle);
    } else if (!key_material(&d, &k, &m, &n)) {
        char *pem = chsm_crypto_key_public_pem(m, n);
        chsm_crypto_key_free(m, n);
        if (!pem) {
            store_failed(res, CHSM_ECRYPTO);
        } else {
            cJSON *out = cJSON_CreateObject();
            cJSON_AddStringToObject(out, "pem", pem);
            free(pem);
            dp_json(res, 200, out);
        }
    }
    chsm_hsm_key_clear(&k);
}

static void share_key(chsm_request *req, chsm_response *res)
{
    dp d;
    chsm_hsm_key k;
    if (dp_open(req, res, &d, NEED_SESSION) || require_cu(&d) ||
        load_key(&d, chsm_request_param(req, "handle"), 1, &k))
        return;
    cJSON *in = body_object(&d);
    if (!in) {
        chsm_hsm_key_clear(&k);
        return;
    }
    const char *who = chsm_json_str(in, "username");
    const cJSON *share = cJSON_GetObjectItem(in, "share");
    chsm_hsm_user u;
    int rc;
    if (!who || !cJSON_IsBool(share)) {
        bad_request(res, "'username' and a boolean 'share' are required.");
    } else if (strcmp(k.klass, "public") == 0) {
        bad_request(res, "Public keys cannot be shared: every crypto user sees them.");
    } else if ((rc = chsm_hsm_repo_user_get(d.app->store, d.c.resource_id, who, &u)) != CHSM_OK) {
        if (rc == CHSM_ENOTFOUND)
            dp_error(res, 404, "UserNotFound", NULL, "No user '%.40s' exists on this HSM.", who);
        else
            store_failed(res, rc);
    } else if (strcmp(u.user_type, "CU") != 0 || chsm_streq_ci(u.username, k.owner)) {
        bad_request(res, "Keys are shared with other crypto users (CU) only.");
    } else {
        cJSON *shared = cJSON_GetObjectItem(k.meta, "sharedWith");
        if (!cJSON_IsArray(shared)) {
            shared = cJSON_CreateArray();
            chsm_json_set(k.meta, "sharedWith", shared);
        }
        int found = -1;
        for (int i = 0; i < cJSON_GetArraySize(shared); i++)
            if (chsm_streq_ci(cJSON_GetStringValue(cJSON_GetArrayItem(shared, i)), u.username))
                found = i;
        if (cJSON_IsTrue(share) && found < 0)
            cJSON_AddItemToArray(shared, cJSON_CreateString(u.username));
        else if (!cJSON_IsTrue(share) && found >= 0)
            cJSON_DeleteItemFromArray(shared, found);
        rc = chsm_hsm_repo_key_put_meta(d.app->store, d.c.resource_id, &k);
        if (rc != CHSM_OK)
            store_failed(res, rc);
        else
            dp_json(res, 200, key_json(&k));
    }
    cJSON_Delete(in);
    chsm_hsm_key_clear(&k);
}

/* crypto_error maps a crypto status to an answer. */
static void crypto_error(dp *d, int rc, const char *what, const char *mechanism)
{
    if (rc == CHSM_EINVAL)
        bad_request(d->res, "The mechanism '%.40s' or the input does not fit key for %s.",
                    mechanism ? mechanism : "", what);
    else if (rc == CHSM_ECRYPTO)
        dp_error(d->res, 400, "InvalidRequest", "0x0000001b",
                 "CSP Error: ERR_BAD_PKCS_DATA: %s failed (wrong key, tag, iv or data).", what);
    else
        store_failed(d->res, rc);
}

/* op_setup opens the session, loads the key in the path (usable by the caller) and parses
 * the body. */
static int op_setup(chsm_request *req, chsm_response *res, dp *d, chsm_hsm_key *k, cJSON **in)
{
    *in = NULL;
    if (dp_open(req, res, d, NEED_SESSION) || require_cu(d) ||
        load_key(d, chsm_request_param(req, "handle"), 0, k))
        return 1;
    *in = body_object(d);
    if (!*in) {
        chsm_hsm_key_clear(k);
        return 1;
    }
    return 0;
}

/* prehashed tells whether a sign/verify body's data is already hashed: mechanisms RSA-PKCS and
 * ECDSA always, the SHA mechanisms with "prehashed": true. -1 (answered) when the flag is not a
 * boolean. */
static int prehashed(dp *d, const cJSON *in, const char *mech)
{
    const cJSON *f = cJSON_GetObjectItem(in, "prehashed");
    if (f && !cJSON_IsBool(f)) {
        bad_request(d->res, "'prehashed' must be a boolean.");
        return -1;
    }
    return cJSON_IsTrue(f) || strcmp(mech, "RSA-PKCS") == 0 || strcmp(mech, "ECDSA") == 0;
}

static void sign_data(chsm_request *req, chsm_response *res)
{
    dp d;
    chsm_hsm_key k;
    cJSON *in;
    if (op_setup(req, res, &d, &k, &in))
        return;
    const char *mech = chsm_json_str(in, "mechanism");
    unsigned char *data = NULL, *m = NULL, *sig = NULL;
    size_t n = 0, mlen = 0, siglen = 0;
    int raw = 0;
    if (!mech) {
        bad_request(res, "'mechanism' is required.");
    } else if (strcmp(k.klass, "private") != 0) {
        bad_request(res, "Signing needs a private key; key %lld is a %s key.", (long long)k.handle,
                    k.klass);
    } else if ((raw = prehashed(&d, in, mech)) >= 0 && !require_attr(&d, &k, "sign") &&
               !b64_field(&d, in, "data", 1, &data, &n) && !key_material(&d, &k, &m, &mlen)) {
        int rc = raw ? chsm_crypto_key_sign_prehashed(m, mlen, mech, data, n, &sig, &siglen)
                     : chsm_crypto_key_sign(m, mlen, mech, data, n, &sig, &siglen);
        if (rc != CHSM_OK) {
            crypto_error(&d, rc, "sign", mech);
        } else {
            cJSON *out = cJSON_CreateObject();
            add_b64(out, "signature", sig, siglen);
            dp_json(res, 200, out);
        }
    }
    chsm_crypto_key_free(m, mlen);
    free(data);
    free(sig);
    cJSON_Delete(in);
    chsm_hsm_key_clear(&k);
}

static void verify_data(chsm_request *req, chsm_response *res)
{
    dp d;
    chsm_hsm_key k;
    cJSON *in;
    if (op_setup(req, res, &d, &k, &in))
        return;
    const char *mech = chsm_json_str(in, "mechanism");
    unsigned char *data = NULL, *sig = NULL, *m = NULL;
    size_t n = 0, siglen = 0, mlen = 0;
    int raw = 0;
    if (!mech) {
        bad_request(res, "'mechanism' is required.");
    } else if (strcmp(k.klass, "secret") == 0) {
        bad_request(res, "Verifying needs a public or private key; key %lld is a secret key.",
                    (long long)k.handle);
    } else if ((raw = prehashed(&d, in, mech)) >= 0 && !require_attr(&d, &k, "verify") &&
               !b64_field(&d, in, "data", 1, &data, &n) &&
               !b64_field(&d, in, "signature", 1, &sig, &siglen) &&
               !key_material(&d, &k, &m, &mlen)) {
        int rc = raw ? chsm_crypto_key_verify_prehashed(m, mlen, mech, data, n, sig, siglen)
                     : chsm_crypto_key_verify(m, mlen, mech, data, n, sig, siglen);
        if (rc < 0) {
            crypto_error(&d, rc, "verify", mech);
        } else {
            cJSON *out = cJSON_CreateObject();
            cJSON_AddBoolToObject(out, "valid", rc == 1);
            dp_json(res, 200, out);
        }
    }
    chsm_crypto_key_free(m, mlen);
    free(data);
    free(sig);
    cJSON_Delete(in);
    chsm_hsm_key_clear(&k);
}

static int is_aes_mech(const char *m)
{
    return m && (strcmp(m, "AES-GCM") == 0 || strcmp(m, "AES-CBC-PAD") == 0);
}

static void encrypt_data(chsm_request *req, chsm_response *res)
{
    dp d;
    chsm_hsm_key k;
    cJSON *in;
    if (op_setup(req, res, &d, &k, &in))
        return;
    const char *mech = chsm_json_str(in, "mechanism");
    unsigned char *data = NULL, *iv = NULL, *aad = NULL, *m = NULL, *ct = NULL;
    size_t n = 0, ivlen = 0, aadlen = 0, mlen = 0, ctlen = 0;
    unsigned char tag[16], ivbuf[16];
    int aes = is_aes_mech(mech), rsa = mech && strcmp(mech, "RSA-OAEP-SHA256") == 0;
    if (!aes && !rsa) {
        bad_request(res, "'mechanism' must be AES-GCM, AES-CBC-PAD or RSA-OAEP-SHA256.");
    } else if (aes ? strcmp(k.klass, "secret") != 0
                   : strcmp(k.klass, "secret") == 0 || strcmp(key_type(&k), "RSA") != 0) {
        bad_request(res, "%s needs %s key; key %lld is a %s %s key.", mech,
                    aes ? "an AES" : "an RSA", (long long)k.handle, key_type(&k), k.klass);
    } else if (!require_attr(&d, &k, "encrypt") && !b64_field(&d, in, "data", 1, &data, &n) &&
               !b64_field(&d, in, "iv", 0, &iv, &ivlen) &&
               !b64_field(&d, in, "aad", 0, &aad, &aadlen) && !key_material(&d, &k, &m, &mlen)) {
        int rc;
        cJSON *out = cJSON_CreateObject();
        if (aes) {
            int gcm = strcmp(mech, "AES-GCM") == 0;
            if (!iv) {
                ivlen = gcm ? 12 : 16;
                chsm_crypto_random(ivbuf, ivlen);
            } else if (ivlen <= sizeof ivbuf) {
                memcpy(ivbuf, iv, ivlen);
            } else {
                ivlen = 0; /* rejected below */
            }
            rc = chsm_crypto_key_aes_encrypt(m, mlen, mech, ivbuf, ivlen, aad, aadlen, data, n, &ct,
                                             &ctlen, tag);
            if (rc == CHSM_OK) {
                add_b64(out, "ciphertext", ct, ctlen);
                add_b64(out, "iv", ivbuf, ivlen);
                if (gcm)
                    add_b64(out, "tag", tag, 16);
            }
        } else {
            rc = aad ? CHSM_EINVAL : chsm_crypto_key_rsa_encrypt(m, mlen, data, n, &ct, &ctlen);
            if (rc == CHSM_OK)
                add_b64(out, "ciphertext", ct, ctlen);
        }
        if (rc != CHSM_OK) {
            cJSON_Delete(out);
            crypto_error(&d, rc, "encrypt", mech);
        } else {
            dp_json(res, 200, out);
        }
    }
    chsm_crypto_key_free(m, mlen);
    free(data);
    free(iv);
    free(aad);
    free(ct);
    cJSON_Delete(in);
    chsm_hsm_key_clear(&k);
}

static void decrypt_data(chsm_request *req, chsm_response *res)
{
    dp d;
    chsm_hsm_key k;
    cJSON *in;
    if (op_setup(req, res, &d, &k, &in))
        return;
    const char *mech = chsm_json_str(in, "mechanism");
    unsigned char *ct = NULL, *iv = NULL, *aad = NULL, *tag = NULL, *m = NULL, *pt = NULL;
    size_t ctlen = 0, ivlen = 0, aadlen = 0, taglen = 0, mlen = 0, ptlen = 0;
    int aes = is_aes_mech(mech), rsa = mech && strcmp(mech, "RSA-OAEP-SHA256") == 0;
    if (!aes && !rsa) {
        bad_request(res, "'mechanism' must be AES-GCM, AES-CBC-PAD or RSA-OAEP-SHA256.");
    } else if (aes ? strcmp(k.klass, "secret") != 0
                   : strcmp(k.klass, "private") != 0 || strcmp(key_type(&k), "RSA") != 0) {
        bad_request(res, "%s needs %s key; key %lld is a %s %s key.", mech,
                    aes ? "an AES" : "a private RSA", (long long)k.handle, key_type(&k), k.klass);
    } else if (!require_attr(&d, &k, "decrypt") &&
               !b64_field(&d, in, "ciphertext", 1, &ct, &ctlen) &&
               !b64_field(&d, in, "iv", aes, &iv, &ivlen) &&
               !b64_field(&d, in, "aad", 0, &aad, &aadlen) &&
               !b64_field(&d, in, "tag", aes && strcmp(mech, "AES-GCM") == 0, &tag, &taglen) &&
               !key_material(&d, &k, &m, &mlen)) {
        int rc = aes ? chsm_crypto_key_aes_decrypt(m, mlen, mech, iv, ivlen, aad, aadlen, ct, ctlen,
                                                   tag, taglen, &pt, &ptlen)
                 : aad ? CHSM_EINVAL
                       : chsm_crypto_key_rsa_decrypt(m, mlen, ct, ctlen, &pt, &ptlen);
        if (rc != CHSM_OK) {
            crypto_error(&d, rc, "decrypt", mech);
        } else {
            cJSON *out = cJSON_CreateObject();
            add_b64(out, "data", pt, ptlen);
            dp_json(res, 200, out);
        }
    }
    chsm_crypto_key_free(m, mlen);
    chsm_crypto_key_free(pt, ptlen);
    free(ct);
    free(iv);
    free(aad);
    free(tag);
    cJSON_Delete(in);
    chsm_hsm_key_clear(&k);
}

static void wrap_key(chsm_request *req, chsm_response *res)
{
    dp d;
    chsm_hsm_key k, target;
    cJSON *in;
    if (op_setup(req, res, &d, &k, &in))
        return;
    memset(&target, 0, sizeof target);
    const char *mech = chsm_json_str(in, "mechanism");
    const cJSON *th = cJSON_GetObjectItem(in, "keyHandle");
    unsigned char *wm = NULL, *tm = NULL, *out = NULL;
    size_t wmlen = 0, tmlen = 0, outlen = 0;
    int aes = mech && strcmp(mech, "AES-KEY-WRAP-PAD") == 0;
    int rsa = mech && strcmp(mech, "RSA-OAEP-SHA256") == 0;
    char handle_text[24];
    snprintf(handle_text, sizeof handle_text, "%.0f", cJSON_IsNumber(th) ? th->valuedouble : 0.0);
    if (!aes && !rsa) {
        bad_request(res, "'mechanism' must be AES-KEY-WRAP-PAD or RSA-OAEP-SHA256.");
    } else if (!cJSON_IsNumber(th)) {
        bad_request(res, "'keyHandle' (the key to wrap) is required.");
    } else if (aes ? strcmp(k.klass, "secret") != 0
                   : strcmp(k.klass, "secret") == 0 || strcmp(key_type(&k), "RSA") != 0) {
        bad_request(res, "%s needs %s wrapping key.", mech, aes ? "an AES" : "an RSA");
    } else if (!require_attr(&d, &k, "wrap") && !load_key(&d, handle_text, 1, &target)) {
        if (strcmp(target.klass, "public") == 0) {
            bad_request(res, "Public keys are not wrapped; export them instead.");
        } else if (!attr(target.meta, "extractable")) {
            dp_error(res, 403, "OperationNotPermitted", RET_POLICY, "Key %lld is not extractable.",
                     (long long)target.handle);
        } else if (!key_material(&d, &k, &wm, &wmlen) && !key_material(&d, &target, &tm, &tmlen)) {
            int rc = aes ? chsm_crypto_key_aes_wrap_pad(wm, wmlen, tm, tmlen, &out, &outlen)
                         : chsm_crypto_key_rsa_encrypt(wm, wmlen, tm, tmlen, &out, &outlen);
            if (rc != CHSM_OK) {
                crypto_error(&d, rc, "wrap", mech);
            } else {
                cJSON *o = cJSON_CreateObject();
                add_b64(o, "wrapped", out, outlen);
                dp_json(res, 200, o);
            }
        }
    }
    chsm_crypto_key_free(wm, wmlen);
    chsm_crypto_key_free(tm, tmlen);
    free(out);
    cJSON_Delete(in);
    chsm_hsm_key_clear(&k);
    chsm_hsm_key_clear(&target);
}

static void unwrap_key(chsm_request *req, chsm_response *res)
{
    dp d;
    chsm_hsm_key k;
    cJSON *in;
    if (op_setup(req, res, &d, &k, &in))
        return;
    const char *mech = chsm_json_str(in, "mechanism");
    const char *type = chsm_json_str(in, "type");
    const char *label;
    char key_id[DP_MAX_KEY_ID + 1];
    unsigned char *wrapped = NULL, *wm = NULL, *plain = NULL;
    size_t wlen = 0, wmlen = 0, plen = 0;
    int aes = mech && strcmp(mech, "AES-KEY-WRAP-PAD") == 0;
    int rsa = mech && strcmp(mech, "RSA-OAEP-SHA256") == 0;
    if (!aes && !rsa) {
        bad_request(res, "'mechanism' must be AES-KEY-WRAP-PAD or RSA-OAEP-SHA256.");
        goto out;
    }
    if (!type ||
        (strcmp(type, "AES") != 0 && strcmp(type, "RSA") != 0 && strcmp(type, "EC") != 0)) {
        bad_request(res, "'type' (of the unwrapped key) must be AES, RSA or EC.");
        goto out;
    }
    if (aes ? strcmp(k.klass, "secret") != 0
            : strcmp(k.klass, "private") != 0 || strcmp(key_type(&k), "RSA") != 0) {
        bad_request(res, "%s needs %s unwrapping key.", mech, aes ? "an AES" : "a private RSA");
        goto out;
    }
    if (require_attr(&d, &k, "unwrap") || key_common(&d, in, &label, key_id) ||
        b64_field(&d, in, "wrapped", 1, &wrapped, &wlen) || key_material(&d, &k, &wm, &wmlen))
        goto out;
    int rc = aes ? chsm_crypto_key_aes_unwrap_pad(wm, wmlen, wrapped, wlen, &plain, &plen)
                 : chsm_crypto_key_rsa_decrypt(wm, wmlen, wrapped, wlen, &plain, &plen);
    if (rc != CHSM_OK) {
        crypto_error(&d, rc, "unwrap", mech);
        goto out;
    }
    unsigned char kcv[3];
    char hex[7];
    new_key nk;
    memset(&nk, 0, sizeof nk);
    const cJSON *attrs = cJSON_GetObjectItem(in, "attributes");
    const cJSON *tags = cJSON_GetObjectItem(in, "tags");
    if (strcmp(type, "AES") == 0) {
        if ((plen != 16 && plen != 24 && plen != 32) ||
            chsm_crypto_key_kcv_secret(plain, plen, kcv) != CHSM_OK) {
            bad_request(res, "The unwrapped data is not an AES key (16, 24 or 32 bytes).");
            goto out;
        }
        kcv_hex(kcv, hex);
        nk.klass = "secret";
        nk.meta = new_key_meta(key_id, label, "secret", "AES", (int)plen * 8, NULL, d.s.username,
                               attrs, tags, hex);
    } else {
        chsm_key_desc desc;
        if (chsm_crypto_key_describe(plain, plen, &desc) != CHSM_OK || !desc.is_private ||
            strcmp(desc.type, type) != 0 ||
            chsm_crypto_key_kcv_public(plain, plen, kcv) != CHSM_OK) {
            bad_request(res, "The unwrapped data is not a PKCS#8 %s private key.", type);
            goto out;
        }
        kcv_hex(kcv, hex);
        nk.klass = "private";
        nk.meta = new_key_meta(key_id, label, "private", type, desc.bits, desc.curve, d.s.username,
                               attrs, tags, hex);
    }
    nk.material = plain;
    nk.material_len = plen;
    plain = NULL;
    store_new_keys(&d, &nk, 1, key_id);
out:
    chsm_crypto_key_free(wm, wmlen);
    chsm_crypto_key_free(plain, plen);
    free(wrapped);
    cJSON_Delete(in);
    chsm_hsm_key_clear(&k);
}

static void get_random(chsm_request *req, chsm_response *res)
{
    dp d;
    if (dp_open(req, res, &d, NEED_SESSION))
        return;
    const char *q = chsm_request_query(req, "bytes");
    char *end = NULL;
    long n = q ? strtol(q, &end, 10) : -1;
    if (!q || !*q || *end || n < 1 || n > DP_MAX_RANDOM) {
        bad_request(res, "'bytes' must be 1 to %d.", DP_MAX_RANDOM);
        return;
    }
    unsigned char buf[DP_MAX_RANDOM];
    if (chsm_crypto_random(buf, (size_t)n) != CHSM_OK) {
        store_failed(res, CHSM_ECRYPTO);
        return;
    }
    cJSON *out = cJSON_CreateObject();
    add_b64(out, "data", buf, (size_t)n);
    dp_json(res, 200, out);
}

#define DP (CHSM_ROUTE_PUBLIC | CHSM_ROUTE_NO_API_VERSION)
#define BASE "/hsm/{label}"

static const chsm_route routes[] = {
    {"GET", BASE "/cluster", get_cluster, "hsm/cluster/read", NULL, DP},
    {"POST", BASE "/login", post_login, "hsm/login", NULL, DP},
    {"POST", BASE "/logout", post_logout, "hsm/logout", NULL, DP},
    {"POST", BASE "/activate", post_activate, "hsm/activate", NULL, DP},
    {"GET", BASE "/users", list_users, "hsm/users/list", NULL, DP},
    {"POST", BASE "/users", create_user, "hsm/users/create", NULL, DP},
    {"PUT", BASE "/users/{username}/password", change_password, "hsm/users/password", NULL, DP},
    {"DELETE", BASE "/users/{username}", delete_user, "hsm/users/delete", NULL, DP},
    {"POST", BASE "/keys", generate_key, "hsm/keys/generate", NULL, DP},
    {"GET", BASE "/keys", find_keys, "hsm/keys/find", NULL, DP},
    {"GET", BASE "/keys/{handle}", get_key, "hsm/keys/read", NULL, DP},
    {"PATCH", BASE "/keys/{handle}", patch_key, "hsm/keys/update", NULL, DP},
    {"DELETE", BASE "/keys/{handle}", delete_key, "hsm/keys/delete", NULL, DP},
    {"GET", BASE "/keys/{handle}/public", get_public, "hsm/keys/public", NULL, DP},
    {"POST", BASE "/keys/{handle}/share", share_key, "hsm/keys/share", NULL, DP},
    {"POST", BASE "/keys/{handle}/sign", sign_data, "hsm/keys/sign", NULL, DP},
    {"POST", BASE "/keys/{handle}/verify", verify_data, "hsm/keys/verify", NULL, DP},
    {"POST", BASE "/keys/{handle}/encrypt", encrypt_data, "hsm/keys/encrypt", NULL, DP},
    {"POST", BASE "/keys/{handle}/decrypt", decrypt_data, "hsm/keys/decrypt", NULL, DP},
    {"POST", BASE "/keys/{handle}/wrap", wrap_key, "hsm/keys/wrap", NULL, DP},
    {"POST", BASE "/keys/{handle}/unwrap", unwrap_key, "hsm/keys/unwrap", NULL, DP},
    {"GET", BASE "/random", get_random, "hsm/random", NULL, DP},
};

const chsm_provider chsm_provider_hsm_data_plane = {"HSM data plane", routes, CHSM_COUNT(routes),
                                                    NULL};

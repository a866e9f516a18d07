/* dataplane.c - the Managed HSM data plane (docs/managed-hsm.md).
 *
 * Served on the ARM listener under /mhsm/{hsmName}/... (and, through the
 * Host header, at https://{hsmName}.managedhsm.localhost:PORT/..., which
 * arm/pipeline.c rewrites to the same paths). Not ARM: bearer tokens are
 * checked here, a missing one gets Key Vault's 401 challenge, and every call
 * is authorised against the HSM's local RBAC (mhsm/rbac.c): a missing data
 * action is 403 AccessDenied. */
#include "providers/provider.h"

#include "app/app.h"
#include "arm/auth.h"
#include "arm/lro.h"
#include "arm/versions.h"
#include "blob/blob.h"
#include "crypto/digest.h"
#include "crypto/jwk.h"
#include "crypto/keys.h"
#include "mhsm/mhsm.h"
#include "rbac/rbac.h"
#include "store/resources.h"
#include "util/json.h"
#include "util/status.h"
#include "util/text.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KV_JSON "application/json; charset=utf-8"
#define MATERIAL_AAD "chsm managed hsm key material"
#define KIND_FULL_BACKUP "managedHSMs/fullBackup"
#define KIND_FULL_RESTORE "managedHSMs/fullRestore"
#define KIND_KEY_RESTORE "managedHSMs/selectiveKeyRestore"
#define FULL_BACKUP_BLOB "mhsm-backup.blob"
#define MAX_FULL_BACKUP (64 * 1024 * 1024)
#define DAY_S 86400

/* ---- responses ---- */

static void kv_json(chsm_response *res, int status, cJSON *body)
{
    char *text = body ? cJSON_PrintUnformatted(body) : NULL;
    cJSON_Delete(body);
    if (!text) {
        chsm_response_set_text(res, status == 200 ? 500 : status, KV_JSON, "");
        return;
    }
    chsm_response_set_body(res, status, KV_JSON, text, strlen(text));
}

static void kv_error(chsm_response *res, int status, const char *code, const char *fmt, ...)
    CHSM_PRINTF(4, 5);

static void kv_error(chsm_response *res, int status, const char *code, const char *fmt, ...)
{
    char message[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "code", code);
    cJSON_AddStringToObject(e, "message", message);
    cJSON *body = cJSON_CreateObject();
    cJSON_AddItemToObject(body, "error", e);
    kv_json(res, status, body);
}

static void store_failed(chsm_response *res, int rc)
{
    kv_error(res, 500, "InternalError", "The Managed HSM state store failed: %s.",
             chsm_status_str(rc));
}

/* ---- the request context: HSM, caller, authorisation ---- */

typedef struct mreq {
    chsm_resource hsm; /* the Managed HSM's (or Key Vault's) ARM resource */
    char uri[256];     /* https://{name}.managedhsm.localhost:PORT (.vault.localhost) */
    char activity[37];
    int vault; /* 1: a Key Vault (/kv/{vaultName}): access policies or Azure RBAC */
} mreq;

static void mreq_clear(mreq *m)
{
    chsm_resource_clear(&m->hsm);
}

/* challenge answers Key Vault's 401: empty body and WWW-Authenticate. */
static void challenge(chsm_request *req, chsm_response *res, const mreq *m, const char *error)
{
    char www[512];
    snprintf(www, sizeof www, "Bearer authorization=\"%s/%s\", resource=\"%s\"%s", req->base_url,
             req->principal.tid[0] ? req->principal.tid : CHSM_DEFAULT_TENANT,
             m->vault ? "https://vault.azure.net" : "https://managedhsm.azure.net",
             error ? error : "");
    chsm_response_set_text(res, 401, KV_JSON, "");
    chsm_response_header(res, "WWW-Authenticate", www, 1);
}

/* mopen finds the HSM and authenticates the caller; on failure it answers and returns 1. */
static int mopen(chsm_request *req, chsm_response *res, mreq *m)
{
    memset(m, 0, sizeof *m);
    chsm_uuid(m->activity);
    const char *name = chsm_request_param(req, "hsmName");
    if (!name) {
        name = chsm_request_param(req, "vaultName");
        m->vault = 1;
    }
    int rc = !name      ? CHSM_ENOTFOUND
             : m->vault ? chsm_kv_find(req->app, name, &m->hsm)
                        : chsm_mhsm_find(req->app, name, &m->hsm);
    if (rc == CHSM_ENOTFOUND) {
        kv_error(res, 404, m->vault ? "VaultNotFound" : "HsmNotFound",
                 "The %s '%.100s' does not exist.", m->vault ? "Key Vault" : "Managed HSM",
                 name ? name : "");
        return 1;
    }
    if (rc != CHSM_OK) {
        store_failed(res, rc);
        return 1;
    }
    const cJSON *props = chsm_json_obj(m->hsm.body, "properties");
    const char *ps = chsm_json_str(props, "provisioningState");
    if (ps && !chsm_streq_ci(ps, "Succeeded") && !chsm_streq_ci(ps, "Provisioning")) {
        kv_error(res, 503, "ServiceUnavailable",
                 "The Managed HSM '%.100s' is not available (provisioningState %s).", name, ps);
        mreq_clear(m);
        return 1;
    }
    const char *scheme = chsm_starts_with_ci(req->base_url, "http://") ? "http" : "https";
    if (m->vault)
        chsm_kv_uri(req->app, scheme, m->hsm.name, m->uri, sizeof m->uri);
    else
        chsm_mhsm_uri(req->app, scheme, m->hsm.name, m->uri, sizeof m->uri);
    const char *h = chsm_request_header(req, "Authorization");
    if (!h || !chsm_starts_with_ci(h, "Bearer ")) {
        challenge(req, res, m, NULL);
        mreq_clear(m);
        return 1;
    }
    const char *token = h + 7;
    while (*token == ' ')
        token++;
    char err[256];
    if (chsm_auth_principal_from_token(req->app, token, req->app->cfg.strict_auth, &req->principal,
                                       err, sizeof err) != CHSM_OK) {
        challenge(req, res, m, ", error=\"invalid_token\"");
        mreq_clear(m);
        return 1;
    }
    return 0;
}

/* vault_permission maps a Managed HSM data action at target to the Key Vault key permission
 * an access policy grants ("get", "list", "create", ...); NULL when a vault has none. */
static const char *vault_permission(const char *target, const char *action)
{
    static const struct {
        const char *action;
        const char *perm;
    } map[] = {{"keys/create", "create"},           {"keys/write/action", "update"},
               {"keys/delete", "delete"},           {"keys/backup/action", "backup"},
               {"keys/restore/action", "restore"},  {"keys/wrap/action", "wrapKey"},
               {"keys/unwrap/action", "unwrapKey"}, {"keys/deletedKeys/recover/action", "recover"},
               {"keys/deletedKeys/delete", "purge"}};
    if (strcmp(action, CHSM_MHSM_KEYS_READ) == 0 ||
        strcmp(action, CHSM_MHSM_ACTION("keys/deletedKeys/read/action")) == 0)
        return strcmp(target, "/keys") == 0 ? "list" : "get";
    size_t pl = strlen(CHSM_MHSM_ACTION(""));
    if (strncmp(action, CHSM_MHSM_ACTION(""), pl) != 0)
        return NULL;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(action + pl, map[i].action) == 0)
            return map[i].perm;
    return NULL;
}

/* vault_authorize is authorize for a Key Vault: its access policies, or Azure RBAC in RBAC
 * mode, with the service's two 403 bodies (shared/reference/backup-and-managed-hsm.md 3). */
static int vault_authorize(chsm_request *req, chsm_response *res, mreq *m, const char *target,
                           const char *action)
{
    const char *perm = vault_permission(target, action);
    const char *key = strncmp(target, "/keys/", 6) == 0 ? target + 6 : NULL;
    char rbac_action[160] = "";
    int ok = perm ? chsm_kv_allowed(req->app, &m->hsm, req->principal.oid, key, perm, rbac_action,
                                    sizeof rbac_action)
                  : 0;
    if (ok < 0) {
        store_failed(res, ok);
        return 1;
    }
    if (ok)
        return 0;
    const char *tid = req->principal.tid[0] ? req->principal.tid : CHSM_DEFAULT_TENANT;
    int rbac = cJSON_IsTrue(
        cJSON_GetObjectItem(chsm_json_obj(m->hsm.body, "properties"), "enableRbacAuthorization"));
    char message[1200];
    if (rbac) {
        char *scope = key ? chsm_mhsm_key_id(m->hsm.id, key) : chsm_strdup(m->hsm.id);
        snprintf(message, sizeof message,
                 "Caller is not authorized to perform action on resource.\r\nIf role "
                 "assignments, deny assignments or role definitions were changed recently, "
                 "please observe propagation time.\r\nCaller: appid=%s;oid=%s;iss=https://"
                 "sts.windows.net/%s/\r\nAction: '%s'\r\nResource: '%s'\r\nAssignment: (not "
                 "found)\r\nDenyAssignmentId: null\r\nDecisionReason: null \r\nVault: "
                 "%s;location=%s\r\n",
                 req->principal.appid[0] ? req->principal.appid : req->principal.oid,
                 req->principal.oid, tid, rbac_action[0] ? rbac_action : action,
                 scope ? scope : m->hsm.id, m->hsm.name, chsm_json_str(m->hsm.body, "location"));
        free(scope);
    } else {
        snprintf(message, sizeof message,
                 "The user, group or application 'appid=%s;oid=%s;iss=https://sts.windows.net/"
                 "%s/' does not have keys %s permission on key vault '%s;location=%s'. For help "
                 "resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287",
                 req->principal.appid[0] ? req->principal.appid : req->principal.oid,
                 req->principal.oid, tid, perm ? perm : "(unsupported)", m->hsm.name,
                 chsm_json_str(m->hsm.body, "location"));
    }
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "code", "Forbidden");
    cJSON_AddStringToObject(e, "message", message);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(e, "innererror"), "code",
                            rbac ? "ForbiddenByRbac" : "AccessDenied");
    cJSON *body = cJSON_CreateObject();
    cJSON_AddItemToObject(body, "error", e);
    kv_json(res, 403, body);
    return 1;
}

/* authorize answers 403 AccessDenied and returns 1 unless the caller holds action at target. */
static int authorize(chsm_request *req, chsm_response *res, mreq *m, const char *target,
                     const char *action)
{
    if (m->vault)
        return vault_authorize(req, res, m, target, action);
    int ok = chsm_mhsm_allowed(req->app, m->hsm.id, req->principal.oid, target, action);
    if (ok < 0) {
        store_failed(res, ok);
        return 1;
    }
    if (!ok) {
        kv_error(res, 403, "AccessDenied", "Not authorized to access %s on '%s' (Activity ID: %s)",
                 action, target, m->activity);
        return 1;
    }
    return 0;
}

/* mbegin = mopen + authorize. */
static int mbegin(chsm_request *req, chsm_response *res, mreq *m, const char *target,
                  const char *action)
{
    if (mopen(req, res, m))
        return 1;
    if (authorize(req, res, m, target, action)) {
        mreq_clear(m);
        return 1;
    }
    return 0;
}

static cJSON *body_object(chsm_request *req, chsm_response *res, int required)
{
    if (req->body_len == 0) {
        if (required) {
            kv_error(res, 400, "BadParameter", "The request body is required.");
            return NULL;
        }
        return cJSON_CreateObject();
    }
    char err[160];
    cJSON *j = chsm_json_parse((const char *)req->body, req->body_len, err, sizeof err);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        kv_error(res, 400, "BadParameter", "The request body is not a valid JSON object.");
        return NULL;
    }
    return j;
}

static int key_name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > 127)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-')
            return 0;
    return 1;
}

/* key_target writes "/keys/{name}" for the RBAC check. */
static int key_target(chsm_request *req, chsm_response *res, char *out, size_t outlen)
{
    const char *name = chsm_request_param(req, "keyName");
    if (!key_name_ok(name)) {
        kv_error(res, 400, "BadParameter",
                 "The key name '%.130s' is invalid: it must be 1-127 letters, digits and '-'.",
                 name ? name : "");
        return 1;
    }
    snprintf(out, outlen, "/keys/%s", name);
    return 0;
}

/* ---- keys ---- */

static int64_t now_s(void)
{
    return chsm_now_ms() / 1000;
}

static int hsm_retention_days(const mreq *m)
{
    const cJSON *p = chsm_json_obj(m->hsm.body, "properties");
    const cJSON *d = cJSON_GetObjectItem(p, "softDeleteRetentionInDays");
    return cJSON_IsNumber(d) && d->valueint >= 7 && d->valueint <= 90 ? d->valueint : 90;
}

static const char *recovery_level(const mreq *m)
{
    const cJSON *p = chsm_json_obj(m->hsm.body, "properties");
    int purge_protection = cJSON_IsTrue(cJSON_GetObjectItem(p, "enablePurgeProtection"));
    int custom = hsm_retention_days(m) != 90;
    if (purge_protection)
        return custom ? "CustomizedRecoverable" : "Recoverable";
    return custom ? "CustomizedRecoverable+Purgeable" : "Recoverable+Purgeable";
}

/* render_bundle builds a KeyBundle from a version document. */
static cJSON *render_bundle(const chsm_app *app, const mreq *m, const char *name, const cJSON *ver)
{
    const char *v = chsm_json_str(ver, "version");
    const char *kty = chsm_json_str(ver, "kty");
    cJSON *b = cJSON_CreateObject();
    cJSON *key = cJSON_AddObjectToObject(b, "key");
    char kid[512];
    snprintf(kid, sizeof kid, "%s/keys/%s/%s", m->uri, name, v ? v : "");
    cJSON_AddStringToObject(key, "kid", kid);
    cJSON_AddStringToObject(key, "kty", kty ? kty : "");
    const cJSON *ops = cJSON_GetObjectItem(ver, "key_ops");
    cJSON_AddItemToObject(key, "key_ops", ops ? cJSON_Duplicate(ops, 1) : cJSON_CreateArray());
    if (kty && !chsm_starts_with_ci(kty, "oct")) {
        unsigned char *der = NULL;
        size_t len = 0;
        if (chsm_mhsm_unseal(app, MATERIAL_AAD, chsm_json_str(ver, "material"), &der, &len) ==
            CHSM_OK) {
            chsm_jwk_public jwk;
            if (chsm_crypto_jwk_public(der, len, &jwk) == CHSM_OK) {
                if (jwk.n) {
                    cJSON_AddStringToObject(key, "n", jwk.n);
                    cJSON_AddStringToObject(key, "e", jwk.e);
                } else {
                    cJSON_AddStringToObject(key, "crv", jwk.crv);
                    cJSON_AddStringToObject(key, "x", jwk.x);
                    cJSON_AddStringToObject(key, "y", jwk.y);
                }
                chsm_crypto_jwk_clear(&jwk);
            }
            chsm_crypto_key_free(der, len);
        }
    }
    const cJSON *attrs = cJSON_GetObjectItem(ver, "attributes");
    cJSON *a = attrs ? cJSON_Duplicate(attrs, 1) : cJSON_CreateObject();
    chsm_json_set(a, "recoverableDays", cJSON_CreateNumber(hsm_retention_days(m)));
    chsm_json_set_str(a, "recoveryLevel", recovery_level(m));
    cJSON_AddItemToObject(b, "attributes", a);
    const cJSON *tags = cJSON_GetObjectItem(ver, "tags");
    if (cJSON_IsObject(tags))
        cJSON_AddItemToObject(b, "tags", cJSON_Duplicate(tags, 1));
    const cJSON *rp = cJSON_GetObjectItem(ver, "release_policy");
    if (cJSON_IsObject(rp))
        cJSON_AddItemToObject(b, "release_policy", cJSON_Duplicate(rp, 1));
    return b;
}

/* load_key loads the key document and its version (current when version is
 * NULL/empty) and answers 404 KeyNotFound itself; deleted keys count as
 * absent unless allow_deleted. */
static int load_key(chsm_request *req, chsm_response *res, const mreq *m, const char *name,
                    const char *version, int allow_deleted, chsm_resource *key, chsm_resource *ver)
{
    memset(key, 0, sizeof *key);
    memset(ver, 0, sizeof *ver);
    char *kid = chsm_mhsm_key_id(m->hsm.id, name);
    int rc = kid ? chsm_resources_get(req->app->store, kid, key) : CHSM_ENOMEM;
    free(kid);
    if (rc == CHSM_OK && !allow_deleted &&
        cJSON_IsObject(cJSON_GetObjectItem(key->body, "deleted")))
        rc = CHSM_ENOTFOUND;
    if (rc == CHSM_OK) {
        const char *v = version && *version ? version : chsm_json_str(key->body, "current");
        char *vid = v ? chsm_mhsm_version_id(m->hsm.id, name, v) : NULL;
        rc = vid ? chsm_resources_get(req->app->store, vid, ver) : CHSM_ENOTFOUND;
        free(vid);
    }
    if (rc == CHSM_ENOTFOUND) {
        kv_error(res, 404, "KeyNotFound",
                 "A key with (name/id) %.130s%s%.40s was not found in this key vault. If you "
                 "recently deleted this key you may be able to recover it using the correct "
                 "recovery command. For help resolving this issue, please see "
                 "https://go.microsoft.com/fwlink/?linkid=2125182",
                 name, version && *version ? "/" : "", version ? version : "");
    } else if (rc != CHSM_OK) {
        store_failed(res, rc);
    }
    if (rc != CHSM_OK) {
        chsm_resource_clear(key);
        chsm_resource_clear(ver);
        return 1;
    }
    return 0;
}

static const char *const key_ops_enum[] = {"encrypt",   "decrypt", "sign",   "verify", "wrapKey",
                                           "unwrapKey", "import",  "export", NULL};

static int valid_key_ops(const cJSON *ops)
{
    if (!cJSON_IsArray(ops))
        return 0;
    const cJSON *o;
    cJSON_ArrayForEach(o, ops)
    {
        int ok = 0;
        for (int i = 0; cJSON_IsString(o) && key_ops_enum[i]; i++)
            ok |= strcmp(o->valuestring, key_ops_enum[i]) == 0;
        if (!ok)
            return 0;
    }
    return 1;
}

/* check_attrs validates attributes/tags/key_ops of a create or update; answers 400. */
static int check_common(chsm_response *res, const cJSON *in)
{
    const cJSON *attrs = cJSON_GetObjectItem(in, "attributes");
    if (attrs && !cJSON_IsObject(attrs)) {
        kv_error(res, 400, "BadParameter", "'attributes' must be an object.");
        return 1;
    }
    static const char *const bools[] = {"enabled", "exportable", NULL};
    for (int i = 0; attrs && bools[i]; i++) {
        const cJSON *b = cJSON_GetObjectItem(attrs, bools[i]);
        if (b && !cJSON_IsBool(b)) {
            kv_error(res, 400, "BadParameter", "'attributes.%s' must be a boolean.", bools[i]);
            return 1;
        }
    }
    static const char *const nums[] = {"nbf", "exp", NULL};
    for (int i = 0; attrs && nums[i]; i++) {
        const cJSON *b = cJSON_GetObjectItem(attrs, nums[i]);
        if (b && !cJSON_IsNull(b) &&
            (!cJSON_IsNumber(b) || b->valuedouble < 0 || b->valuedouble > 253402300799.0 ||
             b->valuedouble != (double)(long long)b->valuedouble)) {
            kv_error(res, 400, "BadParameter", "'attributes.%s' must be a number of seconds.",
                     nums[i]);
            return 1;
        }
    }
    const cJSON *tags = cJSON_GetObjectItem(in, "tags");
    if (tags && !cJSON_IsNull(tags)) {
        if (!cJSON_IsObject(tags) || cJSON_GetArraySize(tags) > 15) {
            kv_error(res, 400, "BadParameter", "'tags' must be an object of at most 15 strings.");
            return 1;
        }
        const cJSON *t;
        cJSON_ArrayForEach(t, tags)
        {
            if (!cJSON_IsString(t)) {
                kv_error(res, 400, "BadParameter", "Tag '%.100s' must be a string.", t->string);
                return 1;
            }
        }
    }
    const cJSON *ops = cJSON_GetObjectItem(in, "key_ops");
    if (ops && !valid_key_ops(ops)) {
        kv_error(res, 400, "BadParameter",
                 "'key_ops' must be an array of encrypt, decrypt, sign, verify, wrapKey, "
                 "unwrapKey, import, export.");
        return 1;
    }
    const cJSON *rp = cJSON_GetObjectItem(in, "release_policy");
    if (rp && !cJSON_IsNull(rp) && !cJSON_IsObject(rp)) {
        kv_error(res, 400, "BadParameter", "'release_policy' must be an object.");
        return 1;
    }
    return 0;
}

/* apply_attrs copies the settable attributes of in onto attrs. */
static void apply_attrs(cJSON *attrs, const cJSON *in)
{
    static const char *const names[] = {"enabled", "nbf", "exp", "exportable", NULL};
    for (int i = 0; in && names[i]; i++) {
        const cJSON *v = cJSON_GetObjectItem(in, names[i]);
        if (v && cJSON_IsNull(v))
            cJSON_DeleteItemFromObject(attrs, names[i]);
        else if (v)
            chsm_json_set(attrs, names[i], cJSON_Duplicate(v, 1));
    }
}

/* generate makes key material for kty/size/crv; answers 400 itself. */
static int generate(chsm_response *res, const char *kty, const cJSON *size_item, const char *crv,
                    unsigned char **mat, size_t *matlen, const char **canon_kty)
{
    int size = cJSON_IsNumber(size_item) ? size_item->valueint : 0;
    int rc;
    if (chsm_streq_ci(kty, "RSA") || chsm_streq_ci(kty, "RSA-HSM")) {
        if (!size)
            size = 2048;
        if (size != 2048 && size != 3072 && size != 4096) {
            kv_error(res, 400, "BadParameter", "RSA key_size must be 2048, 3072 or 4096.");
            return 1;
        }
        *canon_kty = "RSA-HSM";
        rc = chsm_crypto_key_generate_rsa(size, 65537, mat, matlen);
    } else if (chsm_streq_ci(kty, "EC") || chsm_streq_ci(kty, "EC-HSM")) {
        const char *c = crv ? crv : "P-256";
        if (strcmp(c, "P-256") != 0 && strcmp(c, "P-384") != 0) {
            kv_error(res, 400, "BadParameter",
                     "The curve '%.20s' is not supported by the emulator (P-256, P-384).", c);
            return 1;
        }
        *canon_kty = "EC-HSM";
        rc = chsm_crypto_key_generate_ec(c, mat, matlen);
    } else if (chsm_streq_ci(kty, "oct") || chsm_streq_ci(kty, "oct-HSM")) {
        if (!size)
            size = 256;
        if (size != 128 && size != 192 && size != 256) {
            kv_error(res, 400, "BadParameter", "oct key_size must be 128, 192 or 256.");
            return 1;
        }
        *canon_kty = "oct-HSM";
        *matlen = (size_t)size / 8;
        *mat = malloc(*matlen);
        rc = *mat ? chsm_crypto_random(*mat, *matlen) : CHSM_ENOMEM;
    } else {
        kv_error(res, 400, "BadParameter",
                 "The key type '%.20s' is invalid: use RSA-HSM, EC-HSM or oct-HSM.",
                 kty ? kty : "");
        return 1;
    }
    if (rc != CHSM_OK) {
        kv_error(res, 500, "InternalError", "Key generation failed: %s.", chsm_status_str(rc));
        return 1;
    }
    return 0;
}

static cJSON *default_ops(const char *kty)
{
    static const char *const rsa[] = {"encrypt", "decrypt",   "sign", "verify",
                                      "wrapKey", "unwrapKey", NULL};
    static const char *const ec[] = {"sign", "verify", NULL};
    static const char *const oct[] = {"encrypt", "decrypt", "wrapKey", "unwrapKey", NULL};
    const char *const *list = chsm_starts_with_ci(kty, "RSA")  ? rsa
                              : chsm_starts_with_ci(kty, "EC") ? ec
                                                               : oct;
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; list[i]; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(list[i]));
    return a;
}

/* put_version stores a new current version of key name (creating the key
 * document if needed) inside the caller's transaction. */
static int put_version(chsm_app *app, const mreq *m, const char *name, cJSON *ver)
{
    char *kid = chsm_mhsm_key_id(m->hsm.id, name);
    const char *v = chsm_json_str(ver, "version");
    char *vid = kid && v ? chsm_mhsm_version_id(m->hsm.id, name, v) : NULL;
    if (!vid) {
        free(kid);
        return CHSM_ENOMEM;
    }
    chsm_resource key = {0};
    int rc = chsm_resources_get(app->store, kid, &key);
    if (rc == CHSM_ENOTFOUND) {
        key.body = cJSON_CreateObject();
        cJSON_AddStringToObject(key.body, "name", name);
        rc = CHSM_OK;
    } else if (rc == CHSM_OK) {
        /* keep the name as first written */
        free(key.id);
        key.id = NULL;
    }
    if (rc == CHSM_OK) {
        chsm_json_set_str(key.body, "current", v);
        const char *kname = chsm_json_str(key.body, "name");
        chsm_resource kr = {.id = kid,
                            .type = CHSM_MHSM_KEY_TYPE,
                            .name = (char *)(kname ? kname : name),
                            .parent_id = m->hsm.id,
                            .body = key.body,
                            .created_ms = key.created_ms};
        rc = chsm_resources_put(app->store, &kr);
    }
    if (rc == CHSM_OK) {
        chsm_resource vr = {.id = vid,
                            .type = CHSM_MHSM_KEY_VERSION_TYPE,
                            .name = (char *)v,
                            .parent_id = kid,
                            .body = ver};
        rc = chsm_resources_put(app->store, &vr);
    }
    chsm_resource_clear(&key);
    free(kid);
    free(vid);
    return rc;
}

static void create_key(chsm_request *req, chsm_response *res)
{
    char target[160];
    mreq m;
    if (key_target(req, res, target, sizeof target) ||
        mbegin(req, res, &m, target, CHSM_MHSM_ACTION("keys/create")))
        return;
    const char *name = chsm_request_param(req, "keyName");
    cJSON *in = body_object(req, res, 1);
    cJSON *ver = NULL;
    unsigned char *mat = NULL;
    size_t matlen = 0;
    if (!in || check_common(res, in))
        goto out;
    const char *kty = chsm_json_str(in, "kty");
    const cJSON *attrs_in = cJSON_GetObjectItem(in, "attributes");
    const cJSON *rp = cJSON_GetObjectItem(in, "release_policy");
    if (cJSON_IsTrue(cJSON_GetObjectItem(attrs_in, "exportable")) && !cJSON_IsObject(rp)) {
        kv_error(res, 400, "BadParameter", "Exportable keys must have a release policy.");
        goto out;
    }
    const char *canon = NULL;
    if (generate(res, kty, cJSON_GetObjectItem(in, "key_size"), chsm_json_str(in, "crv"), &mat,
                 &matlen, &canon))
        goto out;
    char version[33];
    chsm_uuid_hex(version);
    char *sealed = chsm_mhsm_seal(req->app, MATERIAL_AAD, mat, matlen);
    if (!sealed) {
        store_failed(res, CHSM_ECRYPTO);
        goto out;
    }
    int64_t now = now_s();
    ver = cJSON_CreateObject();
    cJSON_AddStringToObject(ver, "version", version);
    cJSON_AddStringToObject(ver, "kty", canon);
    const cJSON *ops = cJSON_GetObjectItem(in, "key_ops");
    cJSON_AddItemToObject(ver, "key_ops", ops ? cJSON_Duplicate(ops, 1) : default_ops(canon));
    cJSON *attrs = cJSON_AddObjectToObject(ver, "attributes");
    cJSON_AddBoolToObject(attrs, "enabled", 1);
    apply_attrs(attrs, attrs_in);
    if (!cJSON_GetObjectItem(attrs, "exportable"))
        cJSON_AddBoolToObject(attrs, "exportable", 0);
    cJSON_AddNumberToObject(attrs, "created", (double)now);
    cJSON_AddNumberToObject(attrs, "updated", (double)now);
    const cJSON *tags = cJSON_GetObjectItem(in, "tags");
    if (cJSON_IsObject(tags))
        cJSON_AddItemToObject(ver, "tags", cJSON_Duplicate(tags, 1));
    if (cJSON_IsObject(rp))
        cJSON_AddItemToObject(ver, "release_policy", cJSON_Duplicate(rp, 1));
    cJSON_AddStringToObject(ver, "material", sealed);
    free(sealed);

    chsm_store *s = req->app->store;
    int rc = chsm_store_begin(s);
    if (rc == CHSM_OK) {
        char *kid = chsm_mhsm_key_id(m.hsm.id, name);
        chsm_resource old;
        int got = kid ? chsm_resources_get(s, kid, &old) : CHSM_ENOMEM;
        free(kid);
        if (got == CHSM_OK) {
            if (cJSON_IsObject(cJSON_GetObjectItem(old.body, "deleted")))
                rc = CHSM_ECONFLICT;
            chsm_resource_clear(&old);
        } else if (got != CHSM_ENOTFOUND) {
            rc = got;
        }
        if (rc == CHSM_OK)
            rc = put_version(req->app, &m, name, ver);
        if (rc == CHSM_OK)
            rc = chsm_store_commit(s);
        else
            chsm_store_rollback(s);
    }
    if (rc == CHSM_ECONFLICT)
        kv_error(res, 409, "Conflict",
                 "Key %.130s is currently in a deleted but recoverable state, and its name cannot "
                 "be reused; in this state, the key can only be recovered or purged.",
                 name);
    else if (rc != CHSM_OK)
        store_failed(res, rc);
    else
        kv_json(res, 200, render_bundle(req->app, &m, name, ver));
out:
    chsm_crypto_key_free(mat, matlen);
    cJSON_Delete(ver);
    cJSON_Delete(in);
    mreq_clear(&m);
}

static void get_key(chsm_request *req, chsm_response *res)
{
    char target[160];
    mreq m;
    if (key_target(req, res, target, sizeof target) ||
        mbegin(req, res, &m, target, CHSM_MHSM_KEYS_READ))
        return;
    const char *name = chsm_request_param(req, "keyName");
    chsm_resource key, ver;
    if (!load_key(req, res, &m, name, chsm_request_param(req, "keyVersion"), 0, &key, &ver)) {
        const char *shown = chsm_json_str(key.body, "name");
        kv_json(res, 200, render_bundle(req->app, &m, shown ? shown : name, ver.body));
        chsm_resource_clear(&key);
        chsm_resource_clear(&ver);
    }
    mreq_clear(&m);
}

static cJSON *key_item(const mreq *m, const char *name, const char *version, const cJSON *ver)
{
    cJSON *item = cJSON_CreateObject();
    char kid[512];
    snprintf(kid, sizeof kid, "%s/keys/%s%s%s", m->uri, name, version ? "/" : "",
             version ? version : "");
    cJSON_AddStringToObject(item, "kid", kid);
    const cJSON *attrs = cJSON_GetObjectItem(ver, "attributes");
    cJSON *a = attrs ? cJSON_Duplicate(attrs, 1) : cJSON_CreateObject();
    chsm_json_set(a, "recoverableDays", cJSON_CreateNumber(hsm_retention_days(m)));
    chsm_json_set_str(a, "recoveryLevel", recovery_level(m));
    cJSON_AddItemToObject(item, "attributes", a);
    const cJSON *tags = cJSON_GetObjectItem(ver, "tags");
    if (cJSON_IsObject(tags))
        cJSON_AddItemToObject(item, "tags", cJSON_Duplicate(tags, 1));
    return item;
}

static cJSON *list_body(cJSON *items)
{
    cJSON *b = cJSON_CreateObject();
    cJSON_AddItemToObject(b, "value", items);
    cJSON_AddNullToObject(b, "nextLink");
    return b;
}

/* list_keys_common lists live (deleted = 0) or deleted keys. */
static void list_keys_common(chsm_request *req, chsm_response *res, int deleted)
{
    mreq m;
    if (mbegin(req, res, &m, "/keys",
               deleted ? CHSM_MHSM_ACTION("keys/deletedKeys/read/action") : CHSM_MHSM_KEYS_READ))
        return;
    chsm_resource_query q = {.type = CHSM_MHSM_KEY_TYPE, .parent_id = m.hsm.id};
    chsm_resource *rows = NULL;
    size_t n = 0;
    int rc = chsm_resources_list(req->app->store, &q, &rows, &n);
    if (rc != CHSM_OK) {
        store_failed(res, rc);
        mreq_clear(&m);
        return;
    }
    cJSON *items = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) {
        const cJSON *del = cJSON_GetObjectItem(rows[i].body, "deleted");
        if (cJSON_IsObject(del) != deleted)
            continue;
        const char *name = chsm_json_str(rows[i].body, "name");
        const char *cur = chsm_json_str(rows[i].body, "current");
        char *vid = name && cur ? chsm_mhsm_version_id(m.hsm.id, name, cur) : NULL;
        chsm_resource ver;
        if (vid && chsm_resources_get(req->app->store, vid, &ver) == CHSM_OK) {
            cJSON *item = key_item(&m, name, NULL, ver.body);
            if (deleted) {
                char rid[512];
                snprintf(rid, sizeof rid, "%s/deletedkeys/%s", m.uri, name);
                cJSON_AddStringToObject(item, "recoveryId", rid);
                cJSON *dd = cJSON_GetObjectItem(del, "deletedDate");
                cJSON *sp = cJSON_GetObjectItem(del, "scheduledPurgeDate");
                if (dd)
                    cJSON_AddItemToObject(item, "deletedDate", cJSON_Duplicate(dd, 1));
                if (sp)
                    cJSON_AddItemToObject(item, "scheduledPurgeDate", cJSON_Duplicate(sp, 1));
            }
            cJSON_AddItemToArray(items, item);
            chsm_resource_clear(&ver);
        }
        free(vid);
    }
    chsm_resources_free(rows, n);
    kv_json(res, 200, list_body(items));
    mreq_clear(&m);
}

static void list_keys(chsm_request *req, chsm_response *res)
{
    list_keys_common(req, res, 0);
}

static void list_deleted_keys(chsm_request *req, chsm_response *res)
{
    list_keys_common(req, res, 1);
}

static void list_versions(chsm_request *req, chsm_response *res)
{
    char target[160];
    mreq m;
    if (key_target(req, res, target, sizeof target) ||
        mbegin(req, res, &m, target, CHSM_MHSM_KEYS_READ))
        return;
    const char *name = chsm_request_param(req, "keyName");
    chsm_resource key, ver;
    if (load_key(req, res, &m, name, NULL, 0, &key, &ver)) {
        mreq_clear(&m);
        return;
    }
    chsm_resource_clear(&ver);
    chsm_resource_query q = {.type = CHSM_MHSM_KEY_VERSION_TYPE, .parent_id = key.id};
    chsm_resource *rows = NULL;
    size_t n = 0;
    int rc = chsm_resources_list(req->app->store, &q, &rows, &n);
    if (rc != CHSM_OK) {
        store_failed(res, rc);
    } else {
        cJSON *items = cJSON_CreateArray();
        const char *shown = chsm_json_str(key.body, "name");
        for (size_t i = 0; i < n; i++)
            cJSON_AddItemToArray(items,
                                 key_item(&m, shown ? shown : name,
                                          chsm_json_str(rows[i].body, "version"), rows[i].body));
        chsm_resources_free(rows, n);
        kv_json(res, 200, list_body(items));
    }
    chsm_resource_clear(&key);
    mreq_clear(&m);
}

static void update_key(chsm_request *req, chsm_response *res)
{
    char target[160];
    mreq m;
    if (key_target(req, res, target, sizeof target) ||
        mbegin(req, res, &m, target, CHSM_MHSM_ACTION("keys/write/action")))
        return;
    const char *name = chsm_request_param(req, "keyName");
    cJSON *in = body_object(req, res, 1);
    chsm_resource key = {0}, ver = {0};
    if (!in || check_common(res, in) ||
        load_key(req, res, &m, name, chsm_request_param(req, "keyVersion"), 0, &key, &ver))
        goto out;
    cJSON *attrs = chsm_json_obj(ver.body, "attributes");
    const cJSON *attrs_in = cJSON_GetObjectItem(in, "attributes");
    if (cJSON_GetObjectItem(attrs_in, "exportable") &&
        cJSON_IsTrue(cJSON_GetObjectItem(attrs, "exportable")) !=
            cJSON_IsTrue(cJSON_GetObjectItem(attrs_in, "exportable"))) {
        kv_error(res, 400, "BadParameter", "'exportable' cannot be changed after creation.");
        goto out;
    }
    if (attrs)
        apply_attrs(attrs, attrs_in);
    if (attrs)
        chsm_json_set(attrs, "updated", cJSON_CreateNumber((double)now_s()));
    const cJSON *ops = cJSON_GetObjectItem(in, "key_ops");
    if (ops)
        chsm_json_set(ver.body, "key_ops", cJSON_Duplicate(ops, 1));
    const cJSON *tags = cJSON_GetObjectItem(in, "tags");
    if (cJSON_IsObject(tags))
        chsm_json_set(ver.body, "tags", cJSON_Duplicate(tags, 1));
    const cJSON *rp = cJSON_GetObjectItem(in, "release_policy");
    if (cJSON_IsObject(rp))
        chsm_json_set(ver.body, "release_policy", cJSON_Duplicate(rp, 1));
    int rc = chsm_resources_put(req->app->store, &ver);
    if (rc != CHSM_OK)
        store_failed(res, rc);
    else {
        const char *shown = chsm_json_str(key.body, "name");
        kv_json(res, 200, render_bundle(req->app, &m, shown ? shown : name, ver.body));
    }
out:
    chsm_resource_clear(&key);
    chsm_resource_clear(&ver);
    cJSON_Delete(in);
    mreq_clear(&m);
}

static void add_deleted_fields(cJSON *bundle, const mreq *m, const char *name, const cJSON *del)
{
    char rid[512];
    snprintf(rid, sizeof rid, "%s/deletedkeys/%s", m->uri, name);
    cJSON_AddStringToObject(bundle, "recoveryId", rid);
    cJSON_AddItemToObject(bundle, "deletedDate",
                          cJSON_Duplicate(cJSON_GetObjectItem(del, "deletedDate"), 1));
    cJSON_AddItemToObject(bundle, "scheduledPurgeDate",
                          cJSON_Duplicate(cJSON_GetObjectItem(del, "scheduledPurgeDate"), 1));
}

static void delete_key(chsm_request *req, chsm_response *res)
{
    char target[160];
    mreq m;
    if (key_target(req, res, target, sizeof target) ||
        mbegin(req, res, &m, target, CHSM_MHSM_ACTION("keys/delete")))
        return;
    const char *name = chsm_request_param(req, "keyName");
    chsm_resource key, ver;
    if (load_key(req, res, &m, name, NULL, 0, &key, &ver)) {
        mreq_clear(&m);
        return;
    }
    int64_t now = now_s();
    cJSON *del = cJSON_CreateObject();
    cJSON_AddNumberToObject(del, "deletedDate", (double)now);
    cJSON_AddNumberToObject(del, "scheduledPurgeDate",
                            (double)(now + (int64_t)hsm_retention_days(&m) * DAY_S));
    chsm_json_set(key.body, "deleted", del);
    int rc = chsm_resources_put(req->app->store, &key);
    if (rc != CHSM_OK) {
        store_failed(res, rc);
    } else {
        const char *shown = chsm_json_str(key.body, "name");
        cJSON *b = render_bundle(req->app, &m, shown ? shown : name, ver.body);
        add_deleted_fields(b, &m, shown ? shown : name, del);
        kv_json(res, 200, b);
    }
    chsm_resource_clear(&key);
    chsm_resource_clear(&ver);
    mreq_clear(&m);
}

/* deleted_key loads a deleted key (404 DeletedKeyNotFound otherwise). */
static int deleted_key(chsm_request *req, chsm_response *res, const mreq *m, const char *name,
                       chsm_resource *key, chsm_resource *ver)
{
    chsm_response tmp;
    chsm_response_init(&tmp);
    int failed = load_key(req, &tmp, m, name, NULL, 1, key, ver);
    int status = tmp.status;
    chsm_response_free(&tmp);
    if (!failed && cJSON_IsObject(cJSON_GetObjectItem(key->body, "deleted")))
        return 0;
    if (!failed) {
        chsm_resource_clear(key);
        chsm_resource_clear(ver);
    }
    if (failed && status == 500)
        store_failed(res, CHSM_EIO);
    else
        kv_error(res, 404, "KeyNotFound", "Deleted Key not found: %.130s", name);
    return 1;
}

static void get_deleted_key(chsm_request *req, chsm_response *res)
{
    char target[160];
    mreq m;
    if (key_target(req, res, target, sizeof target) ||
        mbegin(req, res, &m, target, CHSM_MHSM_ACTION("keys/deletedKeys/read/action")))
        return;
    const char *name = chsm_request_param(req, "keyName");
    chsm_resource key, ver;
    if (!deleted_key(req, res, &m, name, &key, &ver)) {
        const char *shown = chsm_json_str(key.body, "name");
        cJSON *b = render_bundle(req->app, &m, shown ? shown : name, ver.body);
        add_deleted_fields(b, &m, shown ? shown : name, cJSON_GetObjectItem(key.body, "deleted"));
        kv_json(res, 200, b);
        chsm_resource_clear(&key);
        chsm_resource_clear(&ver);
    }
    mreq_clear(&m);
}

static void recover_key(chsm_request *req, chsm_response *res)
{
    char target[160];
    mreq m;
    if (key_target(req, res, target, sizeof target) ||
        mbegin(req, res, &m, target, CHSM_MHSM_ACTION("keys/deletedKeys/recover/action")))
        return;
    const char *name = chsm_request_param(req, "keyName");
    chsm_resource key, ver;
    if (!deleted_key(req, res, &m, name, &key, &ver)) {
        cJSON_DeleteItemFromObject(key.body, "deleted");
        int rc = chsm_resources_put(req->app->store, &key);
        const char *shown = chsm_json_str(key.body, "name");
        if (rc != CHSM_OK)
            store_failed(res, rc);
        else
            kv_json(res, 200, render_bundle(req->app, &m, shown ? shown : name, ver.body));
        chsm_resource_clear(&key);
        chsm_resource_clear(&ver);
    }
    mreq_clear(&m);
}

static void purge_key(chsm_request *req, chsm_response *res)
{
    char target[160];
    mreq m;
    if (key_target(req, res, target, sizeof target) ||
        mbegin(req, res, &m, target, CHSM_MHSM_ACTION("keys/deletedKeys/delete")))
        return;
    const char *name = chsm_request_param(req, "keyName");
    chsm_resource key, ver;
    if (!deleted_key(req, res, &m, name, &key, &ver)) {
        const cJSON *p = chsm_json_obj(m.hsm.body, "properties");
        if (cJSON_IsTrue(cJSON_GetObjectItem(p, "enablePurgeProtection"))) {
            kv_error(res, 403, "Forbidden",
                     "Operation \"purge\" is not allowed because purge protection is enabled "
                     "for this Managed HSM.");
        } else {
            chsm_store *s = req->app->store;
            int rc = chsm_store_begin(s);
            if (rc == CHSM_OK)
                rc = chsm_resources_delete_under(s, key.id, NULL);
            if (rc == CHSM_OK)
                rc = chsm_resources_delete(s, key.id);
            if (rc == CHSM_OK)
                rc = chsm_store_commit(s);
            else
                chsm_store_rollback(s);
            if (rc != CHSM_OK)
                store_failed(res, rc);
            else
                chsm_response_set_text(res, 204, KV_JSON, "");
        }
        chsm_resource_clear(&key);
        chsm_resource_clear(&ver);
    }
    mreq_clear(&m);
}

static void backup_key(chsm_request *req, chsm_response *res)
{
    char target[160];
    mreq m;
    if (key_target(req, res, target, sizeof target) ||
        mbegin(req, res, &m, target, CHSM_MHSM_KEYS_BACKUP))
        return;
    const char *name = chsm_request_param(req, "keyName");
    char *blob = NULL;
    int rc = chsm_mhsm_key_backup(req->app, m.hsm.id, name, &blob);
    if (rc == CHSM_ENOTFOUND) {
        chsm_resource key, ver;
        if (!load_key(req, res, &m, name, NULL, 0, &key, &ver)) {
            chsm_resource_clear(&key);
            chsm_resource_clear(&ver);
            store_failed(res, CHSM_EIO);
        }
    } else if (rc != CHSM_OK) {
        store_failed(res, rc);
    } else {
        cJSON *b = cJSON_CreateObject();
        cJSON_AddStringToObject(b, "value", blob);
        kv_json(res, 200, b);
    }
    free(blob);
    mreq_clear(&m);
}

static void restore_key(chsm_request *req, chsm_response *res)
{
    mreq m;
    if (mbegin(req, res, &m, "/keys", CHSM_MHSM_ACTION("keys/restore/action")))
        return;
    cJSON *in = body_object(req, res, 1);
    const char *value = in ? chsm_json_str(in, "value") : NULL;
    if (in && !value) {
        kv_error(res, 400, "BadParameter", "'value' (the key backup) is required.");
    } else if (in) {
        char name[160];
        int rc = chsm_mhsm_key_restore(req->app, m.hsm.id, value, name, sizeof name);
        if (rc == CHSM_EINVAL) {
            kv_error(res, 400, "BadParameter",
                     "The key backup is invalid: it was not made by a Managed HSM of this "
                     "emulator's security domain, or it was altered.");
        } else if (rc == CHSM_EEXISTS) {
            kv_error(res, 409, "Conflict",
                     "There is already a key named %.130s in this Managed HSM (or one deleted "
                     "and recoverable): restore needs the name to be free.",
                     name);
        } else if (rc != CHSM_OK) {
            store_failed(res, rc);
        } else {
            chsm_resource key, ver;
            if (!load_key(req, res, &m, name, NULL, 0, &key, &ver)) {
                kv_json(res, 200, render_bundle(req->app, &m, name, ver.body));
                chsm_resource_clear(&key);
                chsm_resource_clear(&ver);
            }
        }
    }
    cJSON_Delete(in);
    mreq_clear(&m);
}

/* wrap_common: RSA-OAEP-256 with an RSA key (the algorithm CMK clients use). */
static void wrap_common(chsm_request *req, chsm_response *res, int unwrap)
{
    char target[160];
    mreq m;
    if (key_target(req, res, target, sizeof target) ||
        mbegin(req, res, &m, target,
               unwrap ? CHSM_MHSM_ACTION("keys/unwrap/action")
                      : CHSM_MHSM_ACTION("keys/wrap/action")))
        return;
    const char *name = chsm_request_param(req, "keyName");
    cJSON *in = body_object(req, res, 1);
    chsm_resource key = {0}, ver = {0};
    unsigned char *der = NULL, *data = NULL, *out = NULL;
    size_t derlen = 0, datalen = 0, outlen = 0;
    if (!in || load_key(req, res, &m, name, chsm_request_param(req, "keyVersion"), 0, &key, &ver))
        goto done;
    const char *alg = chsm_json_str(in, "alg");
    const char *value = chsm_json_str(in, "value");
    const cJSON *attrs = chsm_json_obj(ver.body, "attributes");
    if (!alg || strcmp(alg, "RSA-OAEP-256") != 0 ||
        !chsm_starts_with_ci(chsm_json_str(ver.body, "kty"), "RSA")) {
        kv_error(res, 400, "BadParameter",
                 "The emulator supports wrapKey/unwrapKey with alg RSA-OAEP-256 on RSA keys.");
        goto done;
    }
    if (cJSON_IsFalse(cJSON_GetObjectItem(attrs, "enabled"))) {
        kv_error(res, 403, "Forbidden", "Operation %s is not allowed on a disabled key.",
                 unwrap ? "unwrapKey" : "wrapKey");
        goto done;
    }
    if (!value || chsm_crypto_base64url_decode(value, strlen(value), &data, &datalen) != CHSM_OK) {
        kv_error(res, 400, "BadParameter", "'value' must be base64url.");
        goto done;
    }
    int rc = chsm_mhsm_unseal(req->app, MATERIAL_AAD, chsm_json_str(ver.body, "material"), &der,
                              &derlen);
    if (rc == CHSM_OK)
        rc = unwrap ? chsm_crypto_key_rsa_decrypt(der, derlen, data, datalen, &out, &outlen)
                    : chsm_crypto_key_rsa_encrypt(der, derlen, data, datalen, &out, &outlen);
    if (rc != CHSM_OK) {
        kv_error(res, 400, "BadParameter", "The %s operation failed on the given value.",
                 unwrap ? "unwrapKey" : "wrapKey");
        goto done;
    }
    char *enc = chsm_crypto_base64url_encode(out, outlen);
    cJSON *b = cJSON_CreateObject();
    char kid[512];
    snprintf(kid, sizeof kid, "%s/keys/%s/%s", m.uri, name, chsm_json_str(ver.body, "version"));
    cJSON_AddStringToObject(b, "kid", kid);
    cJSON_AddStringToObject(b, "value", enc ? enc : "");
    free(enc);
    kv_json(res, 200, b);
done:
    chsm_crypto_key_free(der, derlen);
    chsm_crypto_key_free(out, outlen);
    free(data);
    chsm_resource_clear(&key);
    chsm_resource_clear(&ver);
    cJSON_Delete(in);
    mreq_clear(&m);
}

static void wrap_key(chsm_request *req, chsm_response *res)
{
    wrap_common(req, res, 0);
}

static void unwrap_key(chsm_request *req, chsm_response *res)
{
    wrap_common(req, res, 1);
}

/* ---- local RBAC ---- */

/* rbac_scope normalizes the {scope} capture (absent = "/"); answers 400. */
static int rbac_scope(chsm_request *req, chsm_response *res, char *out, size_t outlen)
{
    const char *raw = chsm_request_param(req, "scope");
    if (chsm_mhsm_scope_normalize(raw ? raw : "/", out, outlen) != CHSM_OK) {
        kv_error(res, 400, "BadParameter",
                 "The scope '%.200s' is invalid: Managed HSM supports '/', '/keys' and "
                 "'/keys/{keyName}'.",
                 raw ? raw : "");
        return 1;
    }
    return 0;
}

/* rbac_begin reads the {scope} capture into scope and opens the request authorised for action
 * there (rbac_scope, then mbegin); nonzero when it answered. */
static int rbac_begin(chsm_request *req, chsm_response *res, mreq *m, char *scope, size_t scopelen,
                      const char *action)
{
    return rbac_scope(req, res, scope, scopelen) || mbegin(req, res, m, scope, action);
}

/* rbac_doc_answer answers the HSM's "<kind>/<name>" document: 200 with it (GET), or deletes it
 * first (del, answering the deleted document); 404 nf_code "Requested <what> not found". */
static void rbac_doc_answer(chsm_request *req, chsm_response *res, const mreq *m, const char *kind,
                            const char *name, int del, const char *nf_code, const char *what)
{
    char id[600];
    snprintf(id, sizeof id, "%s/%s/%s", m->hsm.id, kind, name ? name : "");
    chsm_resource r;
    int rc = chsm_resources_get(req->app->store, id, &r);
    if (rc == CHSM_OK) {
        if (del)
            rc = chsm_resources_delete(req->app->store, id);
        if (rc == CHSM_OK) {
            kv_json(res, 200, r.body);
            r.body = NULL;
        }
        chsm_resource_clear(&r);
    }
    if (rc == CHSM_ENOTFOUND)
        kv_error(res, 404, nf_code, "Requested %s not found (Activity ID: %s)", what, m->activity);
    else if (rc != CHSM_OK)
        store_failed(res, rc);
}

static int role_matches_filter(const cJSON *role, const char *filter)
{
    if (!filter || !*filter)
        return 1;
    const char *p = filter;
    while (*p == ' ')
        p++;
    if (!chsm_starts_with_ci(p, "roleName eq "))
        return -1;
    p += 12;
    while (*p == ' ')
        p++;
    char want[256];
    size_t n = strlen(p);
    if (n >= 2 && p[0] == '\'' && p[n - 1] == '\'') {
        p++;
        n -= 2;
    }
    if (n >= sizeof want)
        return 0;
    memcpy(want, p, n);
    want[n] = '\0';
    return chsm_streq_ci(chsm_json_str(chsm_json_obj(role, "properties"), "roleName"), want);
}

static void list_role_definitions(chsm_request *req, chsm_response *res)
{
    char scope[160];
    mreq m;
    if (rbac_begin(req, res, &m, scope, sizeof scope,
                   CHSM_MHSM_ACTION("roleDefinitions/read/action")))
        return;
    const char *filter = chsm_request_query(req, "$filter");
    cJSON *probe = chsm_mhsm_builtin_role_at(0);
    int bad = role_matches_filter(probe, filter) < 0;
    cJSON_Delete(probe);
    if (bad) {
        kv_error(res, 400, "BadParameter",
                 "The filter '%.200s' is not supported: use roleName eq '{name}'.", filter);
        mreq_clear(&m);
        return;
    }
    cJSON *items = cJSON_CreateArray();
    for (size_t i = 0; i < chsm_mhsm_builtin_count(); i++) {
        cJSON *r = chsm_mhsm_builtin_role_at(i);
        if (role_matches_filter(r, filter) == 1)
            cJSON_AddItemToArray(items, r);
        else
            cJSON_Delete(r);
    }
    chsm_resource_query q = {.type = CHSM_MHSM_ROLE_DEF_TYPE, .parent_id = m.hsm.id};
    chsm_resource *rows = NULL;
    size_t n = 0;
    int rc = chsm_resources_list(req->app->store, &q, &rows, &n);
    if (rc != CHSM_OK) {
        cJSON_Delete(items);
        store_failed(res, rc);
        mreq_clear(&m);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (role_matches_filter(rows[i].body, filter) == 1) {
            cJSON_AddItemToArray(items, rows[i].body);
            rows[i].body = NULL;
        }
    }
    chsm_resources_free(rows, n);
    kv_json(res, 200, list_body(items));
    mreq_clear(&m);
}

static void get_role_definition(chsm_request *req, chsm_response *res)
{
    char scope[160];
    mreq m;
    if (rbac_begin(req, res, &m, scope, sizeof scope,
                   CHSM_MHSM_ACTION("roleDefinitions/read/action")))
        return;
    const char *guid = chsm_request_param(req, "roleDefinitionName");
    cJSON *role = NULL;
    int rc = chsm_mhsm_find_role(req->app, m.hsm.id, guid, &role);
    if (rc == CHSM_ENOTFOUND)
        kv_error(res, 404, "RoleDefinitionNotFound",
                 "Requested role definition not found (Activity ID: %s)", m.activity);
    else if (rc != CHSM_OK)
        store_failed(res, rc);
    else
        kv_json(res, 200, role);
    mreq_clear(&m);
}

static const char *const data_action_enum[] = {
    "keys/read/action",
    "keys/write/action",
    "keys/deletedKeys/read/action",
    "keys/deletedKeys/recover/action",
    "keys/backup/action",
    "keys/restore/action",
    "roleAssignments/delete/action",
    "roleAssignments/read/action",
    "roleAssignments/write/action",
    "roleDefinitions/read/action",
    "roleDefinitions/write/action",
    "roleDefinitions/delete/action",
    "keys/encrypt/action",
    "keys/decrypt/action",
    "keys/wrap/action",
    "keys/unwrap/action",
    "keys/sign/action",
    "keys/verify/action",
    "keys/create",
    "keys/delete",
    "keys/export/action",
    "keys/release/action",
    "keys/import/action",
    "keys/deletedKeys/delete",
    "securitydomain/download/action",
    "securitydomain/download/read",
    "securitydomain/upload/action",
    "securitydomain/upload/read",
    "securitydomain/transferkey/read",
    "backup/start/action",
    "restore/start/action",
    "backup/status/action",
    "restore/status/action",
    "rng/action",
    /* newer service builds */
    "keys/rotate/action",
    "keys/derive/action",
    NULL,
};

/* valid_data_action accepts the spec's DataAction values (and '*' patterns
 * over them, which Azure RBAC writes as wildcards). */
static int valid_data_action(const char *a)
{
    if (!a)
        return 0;
    if (strchr(a, '*'))
        return chsm_starts_with_ci(a, "Microsoft.KeyVault/managedHsm/") || strcmp(a, "*") == 0;
    if (!chsm_starts_with_ci(a, "Microsoft.KeyVault/managedHsm/"))
        return 0;
    const char *tail = a + strlen("Microsoft.KeyVault/managedHsm/");
    for (int i = 0; data_action_enum[i]; i++)
        if (chsm_streq_ci(tail, data_action_enum[i]))
            return 1;
    return 0;
}

static cJSON *string_list(const cJSON *in, const char *name, chsm_response *res, int check)
{
    const cJSON *l = cJSON_GetObjectItem(in, name);
    if (!l || cJSON_IsNull(l))
        return cJSON_CreateArray();
    if (!cJSON_IsArray(l)) {
        kv_error(res, 400, "BadParameter", "'permissions[].%s' must be an array of strings.", name);
        return NULL;
    }
    const cJSON *s;
    cJSON_ArrayForEach(s, l)
    {
        if (!cJSON_IsString(s) || (check && !valid_data_action(s->valuestring))) {
            kv_error(res, 400, "BadParameter",
                     "'%.200s' in permissions[].%s is not a Managed HSM data action.",
                     cJSON_IsString(s) ? s->valuestring : "?", name);
            return NULL;
        }
    }
    return cJSON_Duplicate(l, 1);
}

static void put_role_definition(chsm_request *req, chsm_response *res)
{
    char scope[160];
    mreq m;
    if (rbac_begin(req, res, &m, scope, sizeof scope,
                   CHSM_MHSM_ACTION("roleDefinitions/write/action")))
        return;
    const char *guid = chsm_request_param(req, "roleDefinitionName");
    cJSON *in = body_object(req, res, 1);
    cJSON *doc = NULL;
    if (!in)
        goto out;
    if (strcmp(scope, "/") != 0) {
        kv_error(res, 400, "BadParameter",
                 "Role definitions can only be created at scope '/'. Managed HSM only "
                 "supports '/'.");
        goto out;
    }
    if (!chsm_is_uuid(guid)) {
        kv_error(res, 400, "BadParameter", "The role definition name '%.100s' must be a GUID.",
                 guid ? guid : "");
        goto out;
    }
    cJSON *builtin = chsm_mhsm_builtin_role(guid);
    if (builtin) {
        cJSON_Delete(builtin);
        kv_error(res, 400, "BadParameter",
                 "Cannot re-use the name/GUID matching that of a built-in role. Please use a "
                 "unique role ID. (Activity ID: %s)",
                 m.activity);
        goto out;
    }
    const cJSON *p = chsm_json_obj(in, "properties");
    const char *role_name = p ? chsm_json_str(p, "roleName") : NULL;
    const char *type = p ? chsm_json_str(p, "type") : NULL;
    const cJSON *perms = p ? cJSON_GetObjectItem(p, "permissions") : NULL;
    const cJSON *scopes = p ? cJSON_GetObjectItem(p, "assignableScopes") : NULL;
    if (!p) {
        kv_error(res, 400, "BadParameter", "'properties' is required.");
        goto out;
    }
    if (type && strcmp(type, "CustomRole") != 0) {
        kv_error(res, 400, "BadParameter", "'properties.type' must be CustomRole.");
        goto out;
    }
    if (perms && !cJSON_IsArray(perms)) {
        kv_error(res, 400, "BadParameter", "'properties.permissions' must be an array.");
        goto out;
    }
    if (scopes && !cJSON_IsNull(scopes)) {
        const cJSON *sc;
        int ok = cJSON_IsArray(scopes);
        cJSON_ArrayForEach(sc, scopes)
        {
            char norm[16];
            ok = ok && cJSON_IsString(sc) &&
                 chsm_mhsm_scope_normalize(sc->valuestring, norm, sizeof norm) == CHSM_OK &&
                 strcmp(norm, "/") == 0;
        }
        if (!ok) {
            kv_error(res, 400, "BadParameter",
                     "'assignableScopes' must be [\"/\"]: Managed HSM only supports '/'.");
            goto out;
        }
    }
    doc = cJSON_CreateObject();
    char id[160];
    char *lower = chsm_lower_dup(guid);
    chsm_mhsm_role_definition_id(lower ? lower : guid, id, sizeof id);
    cJSON_AddStringToObject(doc, "id", id);
    cJSON_AddStringToObject(doc, "name", lower ? lower : guid);
    cJSON_AddStringToObject(doc, "type", "Microsoft.Authorization/roleDefinitions");
    cJSON *np = cJSON_AddObjectToObject(doc, "properties");
    cJSON *as = cJSON_AddArrayToObject(np, "assignableScopes");
    cJSON_AddItemToArray(as, cJSON_CreateString("/"));
    const char *desc = chsm_json_str(p, "description");
    cJSON_AddStringToObject(np, "description", desc ? desc : "");
    cJSON *nperms = cJSON_AddArrayToObject(np, "permissions");
    const cJSON *blk;
    int bad = 0;
    cJSON_ArrayForEach(blk, perms)
    {
        if (!cJSON_IsObject(blk)) {
            kv_error(res, 400, "BadParameter", "Each permission must be an object.");
            bad = 1;
            break;
        }
        cJSON *o = cJSON_CreateObject();
        static const char *const lists[] = {"actions", "notActions", "dataActions",
                                            "notDataActions"};
        for (int i = 0; i < 4 && !bad; i++) {
            cJSON *l = string_list(blk, lists[i], res, i >= 2);
            if (!l)
                bad = 1;
            else
                cJSON_AddItemToObject(o, lists[i], l);
        }
        cJSON_AddItemToArray(nperms, o);
        if (bad)
            break;
    }
    if (bad) {
        free(lower);
        goto out;
    }
    cJSON_AddStringToObject(np, "roleName", role_name ? role_name : "");
    cJSON_AddStringToObject(np, "type", "CustomRole");
    char did[600];
    snprintf(did, sizeof did, "%s/roleDefinitions/%s", m.hsm.id, lower ? lower : guid);
    chsm_resource r = {.id = did,
                       .type = CHSM_MHSM_ROLE_DEF_TYPE,
                       .name = lower ? lower : (char *)guid,
                       .parent_id = m.hsm.id,
                       .body = doc};
    int rc = chsm_resources_put(req->app->store, &r);
    free(lower);
    if (rc != CHSM_OK)
        store_failed(res, rc);
    else {
        kv_json(res, 201, doc);
        doc = NULL;
    }
out:
    cJSON_Delete(doc);
    cJSON_Delete(in);
    mreq_clear(&m);
}

static void delete_role_definition(chsm_request *req, chsm_response *res)
{
    char scope[160];
    mreq m;
    if (rbac_begin(req, res, &m, scope, sizeof scope,
                   CHSM_MHSM_ACTION("roleDefinitions/delete/action")))
        return;
    const char *guid = chsm_request_param(req, "roleDefinitionName");
    cJSON *builtin = chsm_mhsm_builtin_role(guid);
    if (builtin) {
        cJSON_Delete(builtin);
        kv_error(res, 400, "BadParameter", "Built-in roles cannot be deleted.");
        mreq_clear(&m);
        return;
    }
    rbac_doc_answer(req, res, &m, "roleDefinitions", guid, 1, "RoleDefinitionNotFound",
                    "role definition");
    mreq_clear(&m);
}

static int principal_filter(const char *filter, char *out, size_t outlen)
{
    out[0] = '\0';
    if (!filter || !*filter)
        return 0;
    const char *p = filter;
    while (*p == ' ')
        p++;
    if (!chsm_starts_with_ci(p, "principalId eq "))
        return -1;
    p += 15;
    while (*p == ' ')
        p++;
    size_t n = strlen(p);
    if (n >= 2 && p[0] == '\'' && p[n - 1] == '\'') {
        p++;
        n -= 2;
    }
    if (n >= outlen)
        return -1;
    memcpy(out, p, n);
    out[n] = '\0';
    return 1;
}

static void list_role_assignments(chsm_request *req, chsm_response *res)
{
    char scope[160];
    mreq m;
    if (rbac_begin(req, res, &m, scope, sizeof scope,
                   CHSM_MHSM_ACTION("roleAssignments/read/action")))
        return;
    char who[128];
    const char *filter = chsm_request_query(req, "$filter");
    int pf = principal_filter(filter, who, sizeof who);
    if (pf < 0) {
        kv_error(res, 400, "BadParameter",
                 "The filter '%.200s' is not supported: use principalId eq '{id}'.", filter);
        mreq_clear(&m);
        return;
    }
    chsm_resource_query q = {.type = CHSM_MHSM_ROLE_ASSIGNMENT_TYPE, .parent_id = m.hsm.id};
    chsm_resource *rows = NULL;
    size_t n = 0;
    int rc = chsm_resources_list(req->app->store, &q, &rows, &n);
    if (rc != CHSM_OK) {
        store_failed(res, rc);
        mreq_clear(&m);
        return;
    }
    cJSON *items = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) {
        const cJSON *p = chsm_json_obj(rows[i].body, "properties");
        const char *s = chsm_json_str(p, "scope");
        /* Assignments that apply at the scope: at it or above it. */
        if (!chsm_mhsm_scope_covers(s, scope))
            continue;
        if (pf == 1 && !chsm_streq_ci(chsm_json_str(p, "principalId"), who))
            continue;
        cJSON_AddItemToArray(items, rows[i].body);
        rows[i].body = NULL;
    }
    chsm_resources_free(rows, n);
    kv_json(res, 200, list_body(items));
    mreq_clear(&m);
}

static void get_role_assignment(chsm_request *req, chsm_response *res)
{
    char scope[160];
    mreq m;
    if (rbac_begin(req, res, &m, scope, sizeof scope,
                   CHSM_MHSM_ACTION("roleAssignments/read/action")))
        return;
    const char *name = chsm_request_param(req, "roleAssignmentName");
    rbac_doc_answer(req, res, &m, "roleAssignments", name, 0, "RoleAssignmentNotFound",
                    "role assignment");
    mreq_clear(&m);
}

static void put_role_assignment(chsm_request *req, chsm_response *res)
{
    char scope[160];
    mreq m;
    if (rbac_begin(req, res, &m, scope, sizeof scope,
                   CHSM_MHSM_ACTION("roleAssignments/write/action")))
        return;
    const char *name = chsm_request_param(req, "roleAssignmentName");
    cJSON *in = body_object(req, res, 1);
    if (!in)
        goto out;
    const cJSON *p = chsm_json_obj(in, "properties");
    const char *role_id = p ? chsm_json_str(p, "roleDefinitionId") : NULL;
    const char *principal = p ? chsm_json_str(p, "principalId") : NULL;
    char guid[37];
    if (!chsm_is_uuid(name)) {
        kv_error(res, 400, "BadParameter", "The role assignment name '%.100s' must be a GUID.",
                 name ? name : "");
    } else if (!role_id || !principal || !*principal) {
        kv_error(res, 400, "BadParameter",
                 "'properties.roleDefinitionId' and 'properties.principalId' are required.");
    } else if (chsm_rbac_role_guid(role_id, guid) != CHSM_OK) {
        kv_error(res, 400, "BadParameter", "The role definition id '%.200s' is invalid.", role_id);
    } else if (strlen(principal) > 64) {
        kv_error(res, 400, "BadParameter", "The principal id is too long.");
    } else {
        cJSON *out = NULL;
        int rc = chsm_mhsm_assign(req->app, m.hsm.id, name, scope, guid, principal, &out);
        if (rc == CHSM_ENOTFOUND)
            kv_error(res, 400, "BadParameter",
                     "The role definition '%s' does not exist (Activity ID: %s)", guid, m.activity);
        else if (rc == CHSM_EEXISTS)
            kv_error(res, 409, "RoleAssignmentExists",
                     "A role assignment named %s already exists with another principal, role "
                     "or scope. (Activity ID: %s)",
                     name, m.activity);
        else if (rc != CHSM_OK)
            store_failed(res, rc);
        else
            kv_json(res, 201, out);
    }
out:
    cJSON_Delete(in);
    mreq_clear(&m);
}

static void delete_role_assignment(chsm_request *req, chsm_response *res)
{
    char scope[160];
    mreq m;
    if (rbac_begin(req, res, &m, scope, sizeof scope,
                   CHSM_MHSM_ACTION("roleAssignments/delete/action")))
        return;
    const char *name = chsm_request_param(req, "roleAssignmentName");
    rbac_doc_answer(req, res, &m, "roleAssignments", name, 1, "RoleAssignmentNotFound",
                    "role assignment");
    mreq_clear(&m);
}

/* ---- full backup and restore (Blob-like store) ---- */

static void job_headers(chsm_response *res, const mreq *m, const char *what, const char *id)
{
    char url[512];
    snprintf(url, sizeof url, "%s/%s/%s/pending", m->uri, what, id);
    chsm_response_header(res, "Azure-AsyncOperation", url, 1);
    chsm_response_header(res, "Retry-After", "1", 1);
}

static cJSON *render_job(const chsm_op *op, int backup)
{
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "status", op->status);
    const char *details = NULL;
    if (strcmp(op->status, CHSM_OP_SUCCEEDED) == 0)
        details = backup ? "The backup completed." : "The restore completed.";
    else if (strcmp(op->status, CHSM_OP_IN_PROGRESS) == 0)
        details = backup ? "Backup in progress." : "Restore in progress.";
    else
        details = op->error_message;
    if (details)
        cJSON_AddStringToObject(b, "statusDetails", details);
    else
        cJSON_AddNullToObject(b, "statusDetails");
    if (op->error_code) {
        cJSON *e = cJSON_AddObjectToObject(b, "error");
        cJSON_AddStringToObject(e, "code", op->error_code);
        cJSON_AddStringToObject(e, "message", op->error_message ? op->error_message : "");
    } else {
        cJSON_AddNullToObject(b, "error");
    }
    cJSON_AddNumberToObject(b, "startTime", (double)(op->start_ms / 1000));
    if (op->end_ms)
        cJSON_AddNumberToObject(b, "endTime", (double)(op->end_ms / 1000));
    else
        cJSON_AddNullToObject(b, "endTime");
    cJSON_AddStringToObject(b, "jobId", op->id);
    if (backup) {
        const char *uri =
            op->result ? chsm_json_str(op->result, "azureStorageBlobContainerUri") : NULL;
        if (!uri && op->params)
            uri = chsm_json_str(op->params, "folderUri");
        if (uri)
            cJSON_AddStringToObject(b, "azureStorageBlobContainerUri", uri);
    }
    return b;
}

/* storage_params reads {storageResourceUri, token?, useManagedIdentity?}; answers 400. */
static int storage_params(chsm_request *req, chsm_response *res, const cJSON *sp, char *account,
                          size_t alen, char *container, size_t clen, const char **uri_out)
{
    const char *uri = sp ? chsm_json_str(sp, "storageResourceUri") : NULL;
    const char *token = sp ? chsm_json_str(sp, "token") : NULL;
    int mi = sp ? cJSON_IsTrue(cJSON_GetObjectItem(sp, "useManagedIdentity")) : 0;
    if (!uri) {
        kv_error(res, 400, "BadParameter", "'storageResourceUri' is required.");
        return 1;
    }
    if (!token && !mi) {
        kv_error(res, 400, "BadParameter",
                 "Either 'token' (a SAS token) or 'useManagedIdentity': true is required.");
        return 1;
    }
    if (chsm_blob_resolve_container_uri(uri, account, alen, container, clen) != CHSM_OK) {
        kv_error(res, 400, "BadParameter",
                 "'storageResourceUri' must be a blob container URL (no query string): "
                 "'%.300s'.",
                 uri);
        return 1;
    }
    int exists = chsm_blob_container_exists(req->app, account, container);
    if (exists != 1) {
        kv_error(res, 400, "InvalidStorageResource",
                 "The container '%.100s' of storage account '%.100s' does not exist.", container,
                 account);
        return 1;
    }
    *uri_out = uri;
    return 0;
}

static void full_backup(chsm_request *req, chsm_response *res)
{
    mreq m;
    if (mbegin(req, res, &m, "/", CHSM_MHSM_ACTION("backup/start/action")))
        return;
    cJSON *in = body_object(req, res, 1);
    char account[64], container[80];
    const char *uri = NULL;
    if (!in ||
        storage_params(req, res, in, account, sizeof account, container, sizeof container, &uri)) {
        cJSON_Delete(in);
        mreq_clear(&m);
        return;
    }
    char folder[200], ts[32];
    int64_t now = chsm_now_ms() / 1000;
    time_t t = (time_t)now;
    struct tm tmv;
    gmtime_r(&t, &tmv);
    strftime(ts, sizeof ts, "%Y%m%d%H%M%S", &tmv);
    char *lower = chsm_lower_dup(m.hsm.name);
    snprintf(folder, sizeof folder, "mhsm-%s-%s", lower ? lower : m.hsm.name, ts);
    free(lower);
    size_t ulen = strlen(uri);
    char folder_uri[700];
    snprintf(folder_uri, sizeof folder_uri, "%.*s/%s",
             (int)(ulen && uri[ulen - 1] == '/' ? ulen - 1 : ulen), uri, folder);
    cJSON *params = cJSON_CreateObject();
    cJSON_AddStringToObject(params, "account", account);
    cJSON_AddStringToObject(params, "container", container);
    cJSON_AddStringToObject(params, "folder", folder);
    cJSON_AddStringToObject(params, "folderUri", folder_uri);
    chsm_op op;
    int rc = chsm_lro_begin(req->app, KIND_FULL_BACKUP, m.hsm.id, params, &op);
    if (rc != CHSM_OK) {
        store_failed(res, rc);
    } else {
        kv_json(res, 202, render_job(&op, 1));
        job_headers(res, &m, "backup", op.id);
        chsm_op_clear(&op);
    }
    cJSON_Delete(in);
    mreq_clear(&m);
}

static void start_restore(chsm_request *req, chsm_response *res, int selective)
{
    char target[160] = "/";
    mreq m;
    if (selective && key_target(req, res, target, sizeof target))
        return;
    if (mbegin(req, res, &m, "/", CHSM_MHSM_ACTION("restore/start/action")))
        return;
    cJSON *in = body_object(req, res, 1);
    char account[64], container[80];
    const char *uri = NULL;
    const char *folder = in ? chsm_json_str(in, selective ? "folder" : "folderToRestore") : NULL;
    if (!in || storage_params(req, res, chsm_json_obj(in, "sasTokenParameters"), account,
                              sizeof account, container, sizeof container, &uri))
        goto out;
    if (!folder || !*folder || strchr(folder, '/') || strstr(folder, "..")) {
        kv_error(res, 400, "BadParameter", "'%s' must name the backup folder (mhsm-{name}-{time}).",
                 selective ? "folder" : "folderToRestore");
        goto out;
    }
    cJSON *params = cJSON_CreateObject();
    cJSON_AddStringToObject(params, "account", account);
    cJSON_AddStringToObject(params, "container", container);
    cJSON_AddStringToObject(params, "folder", folder);
    if (selective)
        cJSON_AddStringToObject(params, "key", chsm_request_param(req, "keyName"));
    chsm_op op;
    int rc = chsm_lro_begin(req->app, selective ? KIND_KEY_RESTORE : KIND_FULL_RESTORE, m.hsm.id,
                            params, &op);
    if (rc != CHSM_OK) {
        store_failed(res, rc);
    } else {
        kv_json(res, 202, render_job(&op, 0));
        job_headers(res, &m, "restore", op.id);
        chsm_op_clear(&op);
    }
out:
    cJSON_Delete(in);
    mreq_clear(&m);
}

static void full_restore(chsm_request *req, chsm_response *res)
{
    start_restore(req, res, 0);
}

static void selective_restore(chsm_request *req, chsm_response *res)
{
    start_restore(req, res, 1);
}

static void job_status(chsm_request *req, chsm_response *res, int backup)
{
    mreq m;
    if (mbegin(req, res, &m, "/",
               backup ? CHSM_MHSM_ACTION("backup/status/action")
                      : CHSM_MHSM_ACTION("restore/status/action")))
        return;
    const char *id = chsm_request_param(req, "jobId");
    chsm_op op;
    int rc = id && strlen(id) == 32 ? chsm_lro_get(req->app, id, &op) : CHSM_ENOTFOUND;
    if (rc == CHSM_OK && (!op.resource_id || !chsm_streq_ci(op.resource_id, m.hsm.id) ||
                          (backup ? strcmp(op.kind, KIND_FULL_BACKUP) != 0
                                  : strcmp(op.kind, KIND_FULL_RESTORE) != 0 &&
                                        strcmp(op.kind, KIND_KEY_RESTORE) != 0))) {
        chsm_op_clear(&op);
        rc = CHSM_ENOTFOUND;
    }
    if (rc == CHSM_ENOTFOUND)
        kv_error(res, 404, "NotFound", "The job '%.64s' was not found.", id ? id : "");
    else if (rc != CHSM_OK)
        store_failed(res, rc);
    else {
        kv_json(res, 200, render_job(&op, backup));
        chsm_op_clear(&op);
    }
    mreq_clear(&m);
}

static void backup_status(chsm_request *req, chsm_response *res)
{
    job_status(req, res, 1);
}

static void restore_status(chsm_request *req, chsm_response *res)
{
    job_status(req, res, 0);
}

/* list_docs appends every document of type under parent to arr. */
static int list_docs(chsm_app *app, const char *type, const char *parent, cJSON *arr)
{
    chsm_resource_query q = {.type = type, .parent_id = parent};
    chsm_resource *rows = NULL;
    size_t n = 0;
    int rc = chsm_resources_list(app->store, &q, &rows, &n);
    for (size_t i = 0; rc == CHSM_OK && i < n; i++) {
        cJSON_AddItemToArray(arr, rows[i].body);
        rows[i].body = NULL;
    }
    chsm_resources_free(rows, n);
    return rc;
}

static int run_full_backup(chsm_app *app, chsm_op *op)
{
    const char *account = chsm_json_str(op->params, "account");
    const char *container = chsm_json_str(op->params, "container");
    const char *folder = chsm_json_str(op->params, "folder");
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "format", "chsm-mhsm-full-backup");
    cJSON_AddNumberToObject(doc, "version", 1);
    cJSON *keys = cJSON_AddArrayToObject(doc, "keys");
    cJSON *roles = cJSON_AddArrayToObject(doc, "roleDefinitions");
    cJSON *assignments = cJSON_AddArrayToObject(doc, "roleAssignments");
    chsm_resource_query q = {.type = CHSM_MHSM_KEY_TYPE, .parent_id = op->resource_id};
    chsm_resource *rows = NULL;
    size_t n = 0;
    int rc = chsm_resources_list(app->store, &q, &rows, &n);
    for (size_t i = 0; rc == CHSM_OK && i < n; i++) {
        if (cJSON_IsObject(cJSON_GetObjectItem(rows[i].body, "deleted")))
            continue;
        char *blob = NULL;
        rc = chsm_mhsm_key_backup(app, op->resource_id, chsm_json_str(rows[i].body, "name"), &blob);
        if (rc == CHSM_OK) {
            cJSON *k = cJSON_CreateObject();
            cJSON_AddStringToObject(k, "name", chsm_json_str(rows[i].body, "name"));
            cJSON_AddStringToObject(k, "backup", blob);
            cJSON_AddItemToArray(keys, k);
        }
        free(blob);
    }
    chsm_resources_free(rows, n);
    if (rc == CHSM_OK)
        rc = list_docs(app, CHSM_MHSM_ROLE_DEF_TYPE, op->resource_id, roles);
    if (rc == CHSM_OK)
        rc = list_docs(app, CHSM_MHSM_ROLE_ASSIGNMENT_TYPE, op->resource_id, assignments);
    char *text = rc == CHSM_OK ? cJSON_PrintUnformatted(doc) : NULL;
    cJSON_Delete(doc);
    if (rc != CHSM_OK || !text) {
        free(text);
        return rc != CHSM_OK ? rc : CHSM_ENOMEM;
    }
    char *sealed = chsm_mhsm_seal(app, "chsm managed hsm full backup", text, strlen(text));
    free(text);
    if (!sealed)
        return CHSM_ECRYPTO;
    char name[300];
    snprintf(name, sizeof name, "%s/%s", folder, FULL_BACKUP_BLOB);
    rc = chsm_blob_write(app, account, container, name, sealed, strlen(sealed),
                         "application/octet-stream", NULL);
    free(sealed);
    if (rc == CHSM_ENOTFOUND) {
        chsm_lro_fail(op, "ContainerNotFound", "The backup container no longer exists.");
        return CHSM_OK;
    }
    if (rc == CHSM_EUNAVAILABLE) {
        chsm_lro_fail(op, "StorageUnavailable", "The storage account refused the backup.");
        return CHSM_OK;
    }
    if (rc != CHSM_OK)
        return rc;
    cJSON *result = cJSON_CreateObject();
    cJSON_AddStringToObject(result, "azureStorageBlobContainerUri",
                            chsm_json_str(op->params, "folderUri"));
    chsm_lro_succeed(op, result);
    return CHSM_OK;
}

/* read_full_backup loads and opens a folder's backup (NULL + op failed on a user error). */
static cJSON *read_full_backup(chsm_app *app, chsm_op *op, int *rc_out)
{
    const char *account = chsm_json_str(op->params, "account");
    const char *container = chsm_json_str(op->params, "container");
    const char *folder = chsm_json_str(op->params, "folder");
    char name[300];
    snprintf(name, sizeof name, "%s/%s", folder, FULL_BACKUP_BLOB);
    unsigned char *data = NULL;
    size_t len = 0;
    *rc_out = CHSM_OK;
    int rc = chsm_blob_read(app, account, container, name, MAX_FULL_BACKUP, &data, &len);
    if (rc == CHSM_ENOTFOUND || rc == CHSM_EUNAVAILABLE) {
        chsm_lro_fail(op, "BackupNotFound", "No Managed HSM backup was found in the folder given.");
        return NULL;
    }
    if (rc != CHSM_OK) {
        *rc_out = rc;
        return NULL;
    }
    unsigned char *plain = NULL;
    size_t plainlen = 0;
    char *text = chsm_strndup((const char *)data, len); /* the blob is not NUL-terminated */
    free(data);
    rc = text ? chsm_mhsm_unseal(app, "chsm managed hsm full backup", text, &plain, &plainlen)
              : CHSM_ENOMEM;
    free(text);
    cJSON *doc = rc == CHSM_OK ? cJSON_ParseWithLength((const char *)plain, plainlen) : NULL;
    chsm_crypto_key_free(plain, plainlen);
    if (!doc)
        chsm_lro_fail(op, "InvalidBackup",
                      "The backup could not be opened: it was altered or made by another "
                      "security domain.");
    return doc;
}

static int restore_one_key(chsm_app *app, const char *hsm_id, const char *blob)
{
    char name[160];
    int rc = chsm_mhsm_key_restore(app, hsm_id, blob, name, sizeof name);
    if (rc == CHSM_EEXISTS) {
        /* A restore replaces what is there. */
        char *kid = chsm_mhsm_key_id(hsm_id, name);
        rc = kid ? chsm_resources_delete_under(app->store, kid, NULL) : CHSM_ENOMEM;
        if (rc == CHSM_OK)
            rc = chsm_resources_delete(app->store, kid);
        free(kid);
        if (rc == CHSM_OK)
            rc = chsm_mhsm_key_restore(app, hsm_id, blob, name, sizeof name);
    }
    return rc;
}

static int put_docs(chsm_app *app, const char *hsm_id, const char *type, const char *what,
                    const cJSON *arr)
{
    const cJSON *d;
    int rc = CHSM_OK;
    cJSON_ArrayForEach(d, arr)
    {
        const char *name = chsm_json_str(d, "name");
        if (!name || !chsm_is_uuid(name))
            continue;
        char id[600];
        snprintf(id, sizeof id, "%s/%s/%s", hsm_id, what, name);
        chsm_resource r = {.id = id,
                           .type = (char *)type,
                           .name = (char *)name,
                           .parent_id = (char *)hsm_id,
                           .body = (cJSON *)d};
        rc = chsm_resources_put(app->store, &r);
        if (rc != CHSM_OK)
            break;
    }
    return rc;
}

static int run_restore(chsm_app *app, chsm_op *op)
{
    int rc;
    cJSON *doc = read_full_backup(app, op, &rc);
    if (!doc)
        return rc;
    const char *only = chsm_json_str(op->params, "key");
    const cJSON *keys = cJSON_GetObjectItem(doc, "keys");
    const cJSON *k;
    int found = 0;
    cJSON_ArrayForEach(k, keys)
    {
        const char *name = chsm_json_str(k, "name");
        if (only && !chsm_streq_ci(name, only))
            continue;
        found = 1;
        rc = restore_one_key(app, op->resource_id, chsm_json_str(k, "backup"));
        if (rc != CHSM_OK)
            break;
    }
    if (rc == CHSM_OK && !only) {
        rc = put_docs(app, op->resource_id, CHSM_MHSM_ROLE_DEF_TYPE, "roleDefinitions",
                      cJSON_GetObjectItem(doc, "roleDefinitions"));
        if (rc == CHSM_OK)
            rc = put_docs(app, op->resource_id, CHSM_MHSM_ROLE_ASSIGNMENT_TYPE, "roleAssignments",
                          cJSON_GetObjectItem(doc, "roleAssignments"));
    }
    cJSON_Delete(doc);
    if (rc == CHSM_EINVAL) {
        chsm_lro_fail(op, "InvalidBackup", "A key in the backup could not be restored.");
        return CHSM_OK;
    }
    if (rc != CHSM_OK)
        return rc;
    if (only && !found) {
        chsm_lro_fail(op, "KeyNotFound", "The key is not in the backup folder given.");
        return CHSM_OK;
    }
    chsm_lro_succeed(op, NULL);
    return CHSM_OK;
}

static int dataplane_init(chsm_app *app)
{
    int rc = chsm_lro_register(app->lro, KIND_FULL_BACKUP, run_full_backup);
    if (rc == CHSM_OK)
        rc = chsm_lro_register(app->lro, KIND_FULL_RESTORE, run_restore);
    if (rc == CHSM_OK)
        rc = chsm_lro_register(app->lro, KIND_KEY_RESTORE, run_restore);
    return rc;
}

#define MP CHSM_ROUTE_PUBLIC /* tokens are checked here, with Key Vault's challenge */
#define BASE "/mhsm/{hsmName}"
#define KV "/kv/{vaultName}"
#define AUTHZ "/providers/Microsoft.Authorization"
#define V chsm_api_managedhsm

static const chsm_route routes[] = {
    {"GET", BASE AUTHZ "/roleDefinitions", list_role_definitions, "mhsm/roleDefinitions/list", V,
     MP},
    {"GET", BASE "/{*scope}" AUTHZ "/roleDefinitions", list_role_definitions,
     "mhsm/roleDefinitions/list", V, MP},
    {"GET", BASE AUTHZ "/roleDefinitions/{roleDefinitionName}", get_role_definition,
     "mhsm/roleDefinitions/read", V, MP},
    {"GET", BASE "/{*scope}" AUTHZ "/roleDefinitions/{roleDefinitionName}", get_role_definition,
     "mhsm/roleDefinitions/read", V, MP},
    {"PUT", BASE AUTHZ "/roleDefinitions/{roleDefinitionName}", put_role_definition,
     "mhsm/roleDefinitions/write", V, MP},
    {"PUT", BASE "/{*scope}" AUTHZ "/roleDefinitions/{roleDefinitionName}", put_role_definition,
     "mhsm/roleDefinitions/write", V, MP},
    {"DELETE", BASE AUTHZ "/roleDefinitions/{roleDefinitionName}", delete_role_definition,
     "mhsm/roleDefinitions/delete", V, MP},
    {"DELETE", BASE "/{*scope}" AUTHZ "/roleDefinitions/{roleDefinitionName}",
     delete_role_definition, "mhsm/roleDefinitions/delete", V, MP},
    {"GET", BASE AUTHZ "/roleAssignments", list_role_assignments, "mhsm/roleAssignments/list", V,
     MP},
    {"GET", BASE "/{*scope}" AUTHZ "/roleAssignments", list_role_assignments,
     "mhsm/roleAssignments/list", V, MP},
    {"GET", BASE AUTHZ "/roleAssignments/{roleAssignmentName}", get_role_assignment,
     "mhsm/roleAssignments/read", V, MP},
    {"GET", BASE "/{*scope}" AUTHZ "/roleAssignments/{roleAssignmentName}", get_role_assignment,
     "mhsm/roleAssignments/read", V, MP},
    {"PUT", BASE AUTHZ "/roleAssignments/{roleAssignmentName}", put_role_assignment,
     "mhsm/roleAssignments/write", V, MP},
    {"PUT", BASE "/{*scope}" AUTHZ "/roleAssignments/{roleAssignmentName}", put_role_assignment,
     "mhsm/roleAssignments/write", V, MP},
    {"DELETE", BASE AUTHZ "/roleAssignments/{roleAssignmentName}", delete_role_assignment,
     "mhsm/roleAssignments/delete", V, MP},
    {"DELETE", BASE "/{*scope}" AUTHZ "/roleAssignments/{roleAssignmentName}",
     delete_role_assignment, "mhsm/roleAssignments/delete", V, MP},
    {"GET", BASE "/keys", list_keys, "mhsm/keys/list", V, MP},
    {"POST", BASE "/keys/restore", restore_key, "mhsm/keys/restore", V, MP},
    {"POST", BASE "/keys/{keyName}/create", create_key, "mhsm/keys/create", V, MP},
    {"POST", BASE "/keys/{keyName}/backup", backup_key, "mhsm/keys/backup", V, MP},
    {"PUT", BASE "/keys/{keyName}/restore", selective_restore, "mhsm/keys/selectiveRestore", V, MP},
    {"GET", BASE "/keys/{keyName}/versions", list_versions, "mhsm/keys/versions", V, MP},
    {"GET", BASE "/keys/{keyName}", get_key, "mhsm/keys/read", V, MP},
    {"PATCH", BASE "/keys/{keyName}", update_key, "mhsm/keys/update", V, MP},
    {"DELETE", BASE "/keys/{keyName}", delete_key, "mhsm/keys/delete", V, MP},
    {"GET", BASE "/keys/{keyName}/{keyVersion}", get_key, "mhsm/keys/read", V, MP},
    {"PATCH", BASE "/keys/{keyName}/{keyVersion}", update_key, "mhsm/keys/update", V, MP},
    {"POST", BASE "/keys/{keyName}/{keyVersion}/wrapkey", wrap_key, "mhsm/keys/wrap", V, MP},
    {"POST", BASE "/keys/{keyName}/{keyVersion}/unwrapkey", unwrap_key, "mhsm/keys/unwrap", V, MP},
    {"GET", BASE "/deletedkeys", list_deleted_keys, "mhsm/deletedKeys/list", V, MP},
    {"GET", BASE "/deletedkeys/{keyName}", get_deleted_key, "mhsm/deletedKeys/read", V, MP},
    {"DELETE", BASE "/deletedkeys/{keyName}", purge_key, "mhsm/deletedKeys/purge", V, MP},
    {"POST", BASE "/deletedkeys/{keyName}/recover", recover_key, "mhsm/deletedKeys/recover", V, MP},
    {"POST", BASE "/backup", full_backup, "mhsm/backup", V, MP},
    {"GET", BASE "/backup/{jobId}/pending", backup_status, "mhsm/backup/status", V, MP},
    {"PUT", BASE "/restore", full_restore, "mhsm/restore", V, MP},
    {"GET", BASE "/restore/{jobId}/pending", restore_status, "mhsm/restore/status", V, MP},
    /* Key Vault vaults: the key operations only (docs/managed-hsm.md). */
    {"GET", KV "/keys", list_keys, "kv/keys/list", V, MP},
    {"POST", KV "/keys/restore", restore_key, "kv/keys/restore", V, MP},
    {"POST", KV "/keys/{keyName}/create", create_key, "kv/keys/create", V, MP},
    {"POST", KV "/keys/{keyName}/backup", backup_key, "kv/keys/backup", V, MP},
    {"GET", KV "/keys/{keyName}/versions", list_versions, "kv/keys/versions", V, MP},
    {"GET", KV "/keys/{keyName}", get_key, "kv/keys/read", V, MP},
    {"PATCH", KV "/keys/{keyName}", update_key, "kv/keys/update", V, MP},
    {"DELETE", KV "/keys/{keyName}", delete_key, "kv/keys/delete", V, MP},
    {"GET", KV "/keys/{keyName}/{keyVersion}", get_key, "kv/keys/read", V, MP},
    {"PATCH", KV "/keys/{keyName}/{keyVersion}", update_key, "kv/keys/update", V, MP},
    {"POST", KV "/keys/{keyName}/{keyVersion}/wrapkey", wrap_key, "kv/keys/wrap", V, MP},
    {"POST", KV "/keys/{keyName}/{keyVersion}/unwrapkey", unwrap_key, "kv/keys/unwrap", V, MP},
    {"GET", KV "/deletedkeys", list_deleted_keys, "kv/deletedKeys/list", V, MP},
    {"GET", KV "/deletedkeys/{keyName}", get_deleted_key, "kv/deletedKeys/read", V, MP},
    {"DELETE", KV "/deletedkeys/{keyName}", purge_key, "kv/deletedKeys/purge", V, MP},
    {"POST", KV "/deletedkeys/{keyName}/recover", recover_key, "kv/deletedKeys/recover", V, MP},
};

const chsm_provider chsm_provider_mhsm_data_plane = {"Managed HSM data plane", routes,
                                                     CHSM_COUNT(routes), dataplane_init};

/* vault.c - Key Vault vaults as far as a customer-managed key needs them:
 * lookup by name, key URLs, access policies (validation, add/replace/remove,
 * the permission check), RBAC mode through rbac/, and Azure Backup's check
 * (shared/reference/backup-and-managed-hsm.md section 3; docs/backup.md). */
#include "mhsm/mhsm.h"

#include "app/app.h"
#include "rbac/rbac.h"
#include "util/json.h"
#include "util/status.h"
#include "util/text.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int chsm_kv_find(struct chsm_app *app, const char *name, chsm_resource *out)
{
    return chsm_mhsm_find_named(app, CHSM_KV_TYPE, name, out);
}

void chsm_kv_uri(const struct chsm_app *app, const char *scheme, const char *name, char *out,
                 size_t outlen)
{
    chsm_mhsm_host_uri(app, scheme, name, "vault.localhost", out, outlen);
}

static int key_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 127)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-')
            return 0;
    return 1;
}

int chsm_kv_parse_key_url(const char *url, char *vault, size_t vaultlen, char *key, size_t keylen,
                          char *version, size_t versionlen)
{
    const char *host = url ? strstr(url, "://") : NULL;
    if (!host)
        return CHSM_EINVAL;
    host += 3;
    size_t hostlen = strcspn(host, "/?#");
    const char *path = host + hostlen;
    char hostbuf[256];
    if (hostlen == 0 || hostlen >= sizeof hostbuf)
        return CHSM_EINVAL;
    memcpy(hostbuf, host, hostlen);
    hostbuf[hostlen] = '\0';
    char *colon = strchr(hostbuf, ':');
    if (colon)
        *colon = '\0';
    char *dot = strchr(hostbuf, '.');
    if (dot && (chsm_streq_ci(dot, ".vault.azure.net") || chsm_streq_ci(dot, ".vault.localhost"))) {
        *dot = '\0';
        if (!hostbuf[0] || (size_t)snprintf(vault, vaultlen, "%s", hostbuf) >= vaultlen)
            return CHSM_EINVAL;
    } else {
        char seg[16];
        if (!chsm_mhsm_path_segment(&path, seg, sizeof seg) || !chsm_streq_ci(seg, "kv") ||
            !chsm_mhsm_path_segment(&path, vault, vaultlen))
            return CHSM_EINVAL;
    }
    char seg[16];
    if (!chsm_mhsm_path_segment(&path, seg, sizeof seg) || !chsm_streq_ci(seg, "keys") ||
        !chsm_mhsm_path_segment(&path, key, keylen) || !key_name_ok(key))
        return CHSM_EINVAL;
    if (versionlen) {
        version[0] = '\0';
        if (!chsm_mhsm_path_segment(&path, version, versionlen))
            version[0] = '\0';
    }
    return CHSM_OK;
}

/* ---- access policies ---- */

static const char *const key_perms[] = {"all",
                                        "encrypt",
                                        "decrypt",
                                        "wrapKey",
                                        "unwrapKey",
                                        "sign",
                                        "verify",
                                        "get",
                                        "list",
                                        "create",
                                        "update",
                                        "import",
                                        "delete",
                                        "backup",
                                        "restore",
                                        "recover",
                                        "purge",
                                        "release",
                                        "rotate",
                                        "getrotationpolicy",
                                        "setrotationpolicy",
                                        NULL};
static const char *const secret_perms[] = {"all",    "get",     "list",    "set",   "delete",
                                           "backup", "restore", "recover", "purge", NULL};
static const char *const cert_perms[] = {
    "all",           "get",         "list",       "delete",
    "create",        "import",      "update",     "managecontacts",
    "getissuers",    "listissuers", "setissuers", "deleteissuers",
    "manageissuers", "recover",     "purge",      "backup",
    "restore",       NULL};
static const char *const storage_perms[] = {
    "all",   "get",    "list",    "delete", "set",     "update", "regeneratekey", "recover",
    "purge", "backup", "restore", "setsas", "listsas", "getsas", "deletesas",     NULL};

static const struct {
    const char *name;
    const char *const *allowed;
} perm_kinds[] = {{"keys", key_perms},
                  {"secrets", secret_perms},
                  {"certificates", cert_perms},
                  {"storage", storage_perms}};

static int in_list(const char *s, const char *const *list)
{
    for (int i = 0; list[i]; i++)
        if (chsm_streq_ci(s, list[i]))
            return 1;
    return 0;
}

int chsm_kv_check_access_policies(const cJSON *policies, char *err, size_t errlen)
{
    if (!cJSON_IsArray(policies) || cJSON_GetArraySize(policies) > 1024) {
        snprintf(err, errlen, "accessPolicies must be an array of at most 1024 entries.");
        return 1;
    }
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, policies)
    {
        const char *tenant = chsm_json_str(e, "tenantId");
        const char *object = chsm_json_str(e, "objectId");
        const cJSON *app_id = cJSON_GetObjectItem(e, "applicationId");
        const cJSON *perms = chsm_json_obj(e, "permissions");
        if (!cJSON_IsObject(e) || !tenant || !chsm_is_uuid(tenant) || !object || !*object ||
            strlen(object) > 64 || !perms ||
            (app_id && !cJSON_IsNull(app_id) &&
             !(cJSON_IsString(app_id) && chsm_is_uuid(app_id->valuestring)))) {
            snprintf(err, errlen,
                     "accessPolicies[%d] needs tenantId (a GUID), objectId and a permissions "
                     "object (applicationId, if given, is a GUID).",
                     i);
            return 1;
        }
        const cJSON *k;
        cJSON_ArrayForEach(k, perms)
        {
            const char *const *allowed = NULL;
            for (size_t p = 0; p < sizeof perm_kinds / sizeof perm_kinds[0]; p++)
                if (chsm_streq_ci(k->string, perm_kinds[p].name))
                    allowed = perm_kinds[p].allowed;
            if (!allowed || !cJSON_IsArray(k)) {
                snprintf(err, errlen,
                         "accessPolicies[%d].permissions.%.40s is not one of keys, secrets, "
                         "certificates, storage (arrays of permission names).",
                         i, k->string ? k->string : "");
                return 1;
            }
            const cJSON *v;
            cJSON_ArrayForEach(v, k)
            {
                if (!cJSON_IsString(v) || !in_list(v->valuestring, allowed)) {
                    snprintf(err, errlen,
                             "accessPolicies[%d].permissions.%s: '%.40s' is not a valid "
                             "permission.",
                             i, k->string, cJSON_IsString(v) ? v->valuestring : "?");
                    return 1;
                }
            }
        }
        i++;
    }
    return 0;
}

static const cJSON *policies_of(const cJSON *vault)
{
    return cJSON_GetObjectItem(chsm_json_obj(vault, "properties"), "accessPolicies");
}

int chsm_kv_policy_allows(const cJSON *vault, const char *principal, const char *perm)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, policies_of(vault))
    {
        if (!principal || !chsm_streq_ci(chsm_json_str(e, "objectId"), principal))
            continue;
        const cJSON *keys = cJSON_GetObjectItem(chsm_json_obj(e, "permissions"), "keys");
        const cJSON *v;
        cJSON_ArrayForEach(v, keys)
        {
            if (cJSON_IsString(v) &&
                (chsm_streq_ci(v->valuestring, perm) || chsm_streq_ci(v->valuestring, "all")))
                return 1;
        }
    }
    return 0;
}

/* same_entry: same tenantId, objectId and applicationId (absent = absent). */
static int same_entry(const cJSON *a, const cJSON *b)
{
    const char *aa = chsm_json_str(a, "applicationId");
    const char *ba = chsm_json_str(b, "applicationId");
    return chsm_streq_ci(chsm_json_str(a, "tenantId"), chsm_json_str(b, "tenantId")) &&
           chsm_streq_ci(chsm_json_str(a, "objectId"), chsm_json_str(b, "objectId")) &&
           ((!aa && !ba) || (aa && ba && chsm_streq_ci(aa, ba)));
}

/* merge adds (or, with remove, takes away) the permission names of from into into. */
static void merge(cJSON *into, const cJSON *from, int remove)
{
    const cJSON *k;
    cJSON_ArrayForEach(k, from)
    {
        cJSON *list = cJSON_GetObjectItem(into, k->string);
        if (!list) {
            if (remove)
                continue;
            list = cJSON_AddArrayToObject(into, k->string);
        }
        const cJSON *v;
        cJSON_ArrayForEach(v, k)
        {
            int found = -1, idx = 0;
            const cJSON *w;
            cJSON_ArrayForEach(w, list)
            {
                if (found < 0 && chsm_streq_ci(w->valuestring, v->valuestring))
                    found = idx;
                idx++;
            }
            if (remove && found >= 0)
                cJSON_DeleteItemFromArray(list, found);
            else if (!remove && found < 0)
                cJSON_AddItemToArray(list, cJSON_CreateString(v->valuestring));
        }
    }
}

static int empty_permissions(const cJSON *perms)
{
    const cJSON *k;
    cJSON_ArrayForEach(k, perms)
    {
        if (cJSON_GetArraySize(k) > 0)
            return 0;
    }
    return 1;
}

int chsm_kv_apply_policies(cJSON *vault, const char *kind, const cJSON *policies)
{
    int add = chsm_streq_ci(kind, "add"), replace = chsm_streq_ci(kind, "replace");
    int remove = chsm_streq_ci(kind, "remove");
    if (!add && !replace && !remove)
        return CHSM_EINVAL;
    cJSON *props = chsm_json_obj(vault, "properties");
    if (!props)
        return CHSM_EINVAL;
    cJSON *list = cJSON_GetObjectItem(props, "accessPolicies");
    if (!cJSON_IsArray(list)) {
        list = cJSON_CreateArray();
        chsm_json_set(props, "accessPolicies", list);
    }
    const cJSON *in;
    cJSON_ArrayForEach(in, policies)
    {
        const cJSON *perms = chsm_json_obj(in, "permissions");
        int idx = 0, found = -1;
        cJSON *e;
        cJSON_ArrayForEach(e, list)
        {
            if (found < 0 && same_entry(e, in))
                found = idx;
            idx++;
        }
        cJSON *entry = found >= 0 ? cJSON_GetArrayItem(list, found) : NULL;
        if (remove) {
            if (!entry)
                continue;
            cJSON *mine = chsm_json_obj(entry, "permissions");
            if (empty_permissions(perms) || !mine) {
                cJSON_DeleteItemFromArray(list, found);
                continue;
            }
            merge(mine, perms, 1);
            if (empty_permissions(mine))
                cJSON_DeleteItemFromArray(list, found);
            continue;
        }
        if (!entry) {
            entry = cJSON_Duplicate(in, 1);
            cJSON_AddItemToArray(list, entry);
            if (!chsm_json_obj(entry, "permissions"))
                cJSON_AddObjectToObject(entry, "permissions");
            continue;
        }
        if (replace) {
            chsm_json_set(entry, "permissions",
                          perms ? cJSON_Duplicate(perms, 1) : cJSON_CreateObject());
        } else {
            cJSON *mine = chsm_json_obj(entry, "permissions");
            if (!mine) {
                mine = cJSON_CreateObject();
                chsm_json_set(entry, "permissions", mine);
            }
            merge(mine, perms, 0);
        }
    }
    return CHSM_OK;
}

/* ---- the checks ---- */

/* rbac_action_of maps a key permission to the Key Vault RBAC data action. */
static void rbac_action_of(const char *perm, char *out, size_t outlen)
{
    if (chsm_streq_ci(perm, "get") || chsm_streq_ci(perm, "list"))
        snprintf(out, outlen, "%s", CHSM_KV_KEYS_READ);
    else if (chsm_streq_ci(perm, "delete"))
        snprintf(out, outlen, "%s", CHSM_KV_ACTION("keys/delete"));
    else if (chsm_streq_ci(perm, "wrapKey"))
        snprintf(out, outlen, "%s", CHSM_KV_ACTION("keys/wrap/action"));
    else if (chsm_streq_ci(perm, "unwrapKey"))
        snprintf(out, outlen, "%s", CHSM_KV_ACTION("keys/unwrap/action"));
    else
        snprintf(out, outlen, CHSM_KV_ACTION("keys/%s/action"), perm);
}

static int rbac_mode(const chsm_resource *vault)
{
    return cJSON_IsTrue(
        cJSON_GetObjectItem(chsm_json_obj(vault->body, "properties"), "enableRbacAuthorization"));
}

int chsm_kv_allowed(struct chsm_app *app, const chsm_resource *vault, const char *principal,
                    const char *key_name, const char *perm, char *rbac_action, size_t actionlen)
{
    char action[160];
    rbac_action_of(perm, action, sizeof action);
    if (rbac_action && actionlen)
        snprintf(rbac_action, actionlen, "%s", action);
    if (!rbac_mode(vault))
        return chsm_kv_policy_allows(vault->body, principal, perm);
    char *scope = key_name ? chsm_mhsm_key_id(vault->id, key_name) : chsm_strdup(vault->id);
    if (!scope)
        return CHSM_ENOMEM;
    int ok = chsm_rbac_has_data_action(app, principal, scope, action);
    free(scope);
    return ok;
}

int chsm_kv_backup_service_allowed(struct chsm_app *app, const chsm_resource *vault,
                                   const char *key_name)
{
    static const char *const who[] = {CHSM_BMS_OBJECT_ID, CHSM_BMS_APP_ID};
    static const char *const need[] = {"get", "list", "backup"};
    for (size_t a = 0; a < 3; a++) {
        int any = 0;
        for (int w = 0; w < 2 && !any; w++) {
            int ok = chsm_kv_allowed(app, vault, who[w], key_name, need[a], NULL, 0);
            if (ok < 0)
                return ok;
            any = ok;
        }
        if (!any)
            return 0;
    }
    return 1;
}

/* rbac.c - Managed HSM local RBAC: the built-in roles with their real ids
 * and dataActions (shared/reference/backup-and-managed-hsm.md 2.4, the
 * observed lists), scopes, custom roles, assignments and the access check.
 * Also the HSM lookup by name and key URL parsing the other files share. */
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

#define A(x) "Microsoft.KeyVault/managedHsm/" x

typedef struct mhsm_role {
    const char *guid;
    const char *name;
    const char *const *data_actions; /* NULL-terminated */
} mhsm_role;

static const char *const admin_actions[] = {
    A("roleAssignments/delete/action"),
    A("roleAssignments/read/action"),
    A("roleAssignments/write/action"),
    A("roleDefinitions/read/action"),
    A("roleDefinitions/write/action"),
    A("roleDefinitions/delete/action"),
    A("securitydomain/download/action"),
    A("securitydomain/download/read"),
    A("securitydomain/upload/action"),
    A("securitydomain/upload/read"),
    A("securitydomain/transferkey/read"),
    A("backup/start/action"),
    A("restore/start/action"),
    A("backup/status/action"),
    A("restore/status/action"),
    NULL,
};

static const char *const officer_actions[] = {
    A("roleAssignments/delete/action"),
    A("roleAssignments/read/action"),
    A("roleAssignments/write/action"),
    A("roleDefinitions/read/action"),
    A("roleDefinitions/write/action"),
    A("roleDefinitions/delete/action"),
    A("keys/deletedKeys/read/action"),
    A("keys/deletedKeys/delete"),
    A("keys/deletedKeys/recover/action"),
    A("keys/export/action"),
    NULL,
};

static const char *const user_actions[] = {
    A("roleDefinitions/read/action"),
    A("roleAssignments/read/action"),
    A("keys/read/action"),
    A("keys/write/action"),
    A("keys/delete"),
    A("keys/create"),
    A("keys/rotate/action"),
    A("keys/import/action"),
    A("keys/release/action"),
    A("keys/backup/action"),
    A("keys/restore/action"),
    A("keys/encrypt/action"),
    A("keys/decrypt/action"),
    A("keys/wrap/action"),
    A("keys/unwrap/action"),
    A("keys/sign/action"),
    A("keys/verify/action"),
    A("keys/derive/action"),
    A("rng/action"),
    NULL,
};

static const char *const policy_admin_actions[] = {
    A("roleDefinitions/read/action"),
    A("roleDefinitions/write/action"),
    A("roleDefinitions/delete/action"),
    A("roleAssignments/read/action"),
    A("roleAssignments/write/action"),
    A("roleAssignments/delete/action"),
    NULL,
};

static const char *const auditor_actions[] = {
    A("roleAssignments/read/action"),
    A("roleDefinitions/read/action"),
    A("keys/read/action"),
    A("keys/deletedKeys/read/action"),
    NULL,
};

static const char *const encryption_user_actions[] = {
    A("keys/read/action"),
    A("keys/wrap/action"),
    A("keys/unwrap/action"),
    NULL,
};

static const char *const release_user_actions[] = {A("keys/release/action"), NULL};

static const char *const backup_actions[] = {
    A("backup/start/action"),
    A("backup/status/action"),
    A("keys/backup/action"),
    NULL,
};

static const char *const restore_actions[] = {
    A("keys/restore/action"),
    A("restore/start/action"),
    A("restore/status/action"),
    NULL,
};

static const mhsm_role builtin[] = {
    {CHSM_MHSM_ROLE_ADMINISTRATOR, "Managed HSM Administrator", admin_actions},
    {CHSM_MHSM_ROLE_CRYPTO_OFFICER, "Managed HSM Crypto Officer", officer_actions},
    {CHSM_MHSM_ROLE_CRYPTO_USER, "Managed HSM Crypto User", user_actions},
    {"4bd23610-cdcf-4971-bdee-bdc562cc28e4", "Managed HSM Policy Administrator",
     policy_admin_actions},
    {"2c18b078-7c48-4d3a-af88-5a3a1b3f82b3", "Managed HSM Crypto Auditor", auditor_actions},
    {"33413926-3206-4cdd-b39a-83574fe37a17", "Managed HSM Crypto Service Encryption User",
     encryption_user_actions},
    {"21dbd100-6940-42c2-9190-5d6cb909625c", "Managed HSM Crypto Service Release User",
     release_user_actions},
    {CHSM_MHSM_ROLE_BACKUP, "Managed HSM Backup User", backup_actions},
    {"6efe6056-5259-49d2-8b3d-d3d73544b20b", "Managed HSM Restore User", restore_actions},
};

void chsm_mhsm_role_definition_id(const char *guid, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s%s", CHSM_MHSM_ROLE_DEF_PREFIX, guid);
}

static cJSON *string_array(const char *const *items)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; items && items[i]; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(items[i]));
    return a;
}

static cJSON *render_builtin(const mhsm_role *r)
{
    char id[160];
    chsm_mhsm_role_definition_id(r->guid, id, sizeof id);
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "id", id);
    cJSON_AddStringToObject(d, "name", r->guid);
    cJSON_AddStringToObject(d, "type", "Microsoft.Authorization/roleDefinitions");
    cJSON *p = cJSON_AddObjectToObject(d, "properties");
    cJSON *scopes = cJSON_AddArrayToObject(p, "assignableScopes");
    cJSON_AddItemToArray(scopes, cJSON_CreateString("/"));
    cJSON_AddStringToObject(p, "description", "");
    cJSON *perms = cJSON_AddArrayToObject(p, "permissions");
    cJSON *block = cJSON_CreateObject();
    cJSON_AddItemToObject(block, "actions", cJSON_CreateArray());
    cJSON_AddItemToObject(block, "notActions", cJSON_CreateArray());
    cJSON_AddItemToObject(block, "dataActions", string_array(r->data_actions));
    cJSON_AddItemToObject(block, "notDataActions", cJSON_CreateArray());
    cJSON_AddItemToArray(perms, block);
    cJSON_AddStringToObject(p, "roleName", r->name);
    cJSON_AddStringToObject(p, "type", "AKVBuiltInRole");
    return d;
}

size_t chsm_mhsm_builtin_count(void)
{
    return sizeof builtin / sizeof builtin[0];
}

cJSON *chsm_mhsm_builtin_role_at(size_t i)
{
    return i < chsm_mhsm_builtin_count() ? render_builtin(&builtin[i]) : NULL;
}

cJSON *chsm_mhsm_builtin_role(const char *guid)
{
    for (size_t i = 0; guid && i < chsm_mhsm_builtin_count(); i++)
        if (chsm_streq_ci(builtin[i].guid, guid))
            return render_builtin(&builtin[i]);
    return NULL;
}

/* ---- scopes ---- */

static int key_name_ok(const char *s, size_t n)
{
    if (n < 1 || n > 127)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-')
            return 0;
    return 1;
}

int chsm_mhsm_scope_normalize(const char *raw, char *out, size_t outlen)
{
    /* Collapse repeated slashes, drop trailing ones, ensure one leading '/'. */
    char buf[256];
    size_t n = 0;
    buf[n++] = '/';
    for (const char *p = raw ? raw : ""; *p; p++) {
        if (*p == '/' && buf[n - 1] == '/')
            continue;
        if (n + 1 >= sizeof buf)
            return CHSM_EINVAL;
        buf[n++] = *p;
    }
    while (n > 1 && buf[n - 1] == '/')
        n--;
    buf[n] = '\0';
    if (strcmp(buf, "/") == 0) {
        snprintf(out, outlen, "/");
        return CHSM_OK;
    }
    if (!chsm_starts_with_ci(buf, "/keys") || (buf[5] != '\0' && buf[5] != '/'))
        return CHSM_EINVAL;
    if (buf[5] == '\0') {
        snprintf(out, outlen, "/keys");
        return CHSM_OK;
    }
    const char *name = buf + 6;
    if (strchr(name, '/') || !key_name_ok(name, strlen(name)))
        return CHSM_EINVAL;
    if ((size_t)snprintf(out, outlen, "/keys/%s", name) >= outlen)
        return CHSM_EINVAL;
    return CHSM_OK;
}

int chsm_mhsm_scope_covers(const char *scope, const char *target)
{
    if (!scope || !target)
        return 0;
    if (strcmp(scope, "/") == 0)
        return 1;
    size_t n = strlen(scope);
    return chsm_starts_with_ci(target, scope) && (target[n] == '\0' || target[n] == '/');
}

/* ---- roles and assignments ---- */

static char *child_id(const char *hsm_id, const char *what, const char *name)
{
    size_t n = strlen(hsm_id) + strlen(what) + strlen(name) + 3;
    char *id = malloc(n);
    if (id)
        snprintf(id, n, "%s/%s/%s", hsm_id, what, name);
    return id;
}

int chsm_mhsm_find_role(struct chsm_app *app, const char *hsm_id, const char *guid, cJSON **out)
{
    *out = chsm_mhsm_builtin_role(guid);
    if (*out)
        return CHSM_OK;
    char *id = child_id(hsm_id, "roleDefinitions", guid);
    if (!id)
        return CHSM_ENOMEM;
    chsm_resource r;
    int rc = chsm_resources_get(app->store, id, &r);
    free(id);
    if (rc != CHSM_OK)
        return rc;
    *out = r.body;
    r.body = NULL;
    chsm_resource_clear(&r);
    return CHSM_OK;
}

int chsm_mhsm_allowed(struct chsm_app *app, const char *hsm_id, const char *principal_id,
                      const char *target, const char *action)
{
    chsm_resource_query q = {.type = CHSM_MHSM_ROLE_ASSIGNMENT_TYPE, .parent_id = hsm_id};
    chsm_resource *rows = NULL;
    size_t n = 0;
    int rc = chsm_resources_list(app->store, &q, &rows, &n);
    if (rc != CHSM_OK)
        return rc < 0 ? rc : CHSM_EIO;
    int ok = 0;
    for (size_t i = 0; i < n && !ok; i++) {
        const cJSON *p = chsm_json_obj(rows[i].body, "properties");
        const char *who = chsm_json_str(p, "principalId");
        const char *scope = chsm_json_str(p, "scope");
        char guid[37];
        if (!who || !chsm_streq_ci(who, principal_id) || !chsm_mhsm_scope_covers(scope, target) ||
            chsm_rbac_role_guid(chsm_json_str(p, "roleDefinitionId"), guid) != CHSM_OK)
            continue;
        cJSON *role = NULL;
        if (chsm_mhsm_find_role(app, hsm_id, guid, &role) == CHSM_OK)
            ok = chsm_rbac_role_permits(role, action, 1);
        cJSON_Delete(role);
    }
    chsm_resources_free(rows, n);
    return ok;
}

int chsm_mhsm_assign(struct chsm_app *app, const char *hsm_id, const char *name, const char *scope,
                     const char *role_guid, const char *principal_id, cJSON **out)
{
    if (out)
        *out = NULL;
    char norm[160];
    if (!chsm_is_uuid(name) || chsm_mhsm_scope_normalize(scope, norm, sizeof norm) != CHSM_OK)
        return CHSM_EINVAL;
    cJSON *role = NULL;
    int rc = chsm_mhsm_find_role(app, hsm_id, role_guid, &role);
    if (rc != CHSM_OK)
        return rc;
    const char *canon_guid = chsm_json_str(role, "name");
    char role_id[160];
    chsm_mhsm_role_definition_id(canon_guid ? canon_guid : role_guid, role_id, sizeof role_id);
    cJSON_Delete(role);
    char *id = child_id(hsm_id, "roleAssignments", name);
    if (!id)
        return CHSM_ENOMEM;
    chsm_resource old;
    rc = chsm_resources_get(app->store, id, &old);
    if (rc == CHSM_OK) {
        const cJSON *p = chsm_json_obj(old.body, "properties");
        char old_guid[37];
        int same = chsm_streq_ci(chsm_json_str(p, "principalId"), principal_id) &&
                   chsm_rbac_role_guid(chsm_json_str(p, "roleDefinitionId"), old_guid) == CHSM_OK &&
                   chsm_streq_ci(old_guid, canon_guid ? canon_guid : role_guid) &&
                   chsm_streq_ci(chsm_json_str(p, "scope"), norm);
        chsm_resource_clear(&old);
        if (!same) {
            free(id);
            return CHSM_EEXISTS;
        }
    } else if (rc != CHSM_ENOTFOUND) {
        free(id);
        return rc;
    }
    char lower_principal[64];
    snprintf(lower_principal, sizeof lower_principal, "%s", principal_id);
    for (char *c = lower_principal; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    cJSON *body = cJSON_CreateObject();
    char shown_id[200];
    /* As observed: the id has no scope prefix. */
    snprintf(shown_id, sizeof shown_id, "/providers/Microsoft.Authorization/roleAssignments/%s",
             name);
    cJSON_AddStringToObject(body, "id", shown_id);
    cJSON_AddStringToObject(body, "name", name);
    cJSON_AddStringToObject(body, "type", "Microsoft.Authorization/roleAssignments");
    cJSON *p = cJSON_AddObjectToObject(body, "properties");
    cJSON_AddStringToObject(p, "principalId", lower_principal);
    cJSON_AddStringToObject(p, "roleDefinitionId", role_id);
    cJSON_AddStringToObject(p, "scope", norm);
    chsm_resource r = {.id = id,
                       .type = CHSM_MHSM_ROLE_ASSIGNMENT_TYPE,
                       .name = (char *)name,
                       .parent_id = (char *)hsm_id,
                       .body = body};
    rc = chsm_resources_put(app->store, &r);
    free(id);
    if (rc == CHSM_OK && out)
        *out = body;
    else
        cJSON_Delete(body);
    return rc;
}

int chsm_mhsm_backup_service_allowed(struct chsm_app *app, const char *hsm_id, const char *key_name)
{
    char target[160];
    snprintf(target, sizeof target, "/keys/%s", key_name);
    static const char *const who[] = {CHSM_BMS_OBJECT_ID, CHSM_BMS_APP_ID};
    static const char *const need[] = {CHSM_MHSM_KEYS_READ, CHSM_MHSM_KEYS_BACKUP};
    for (int a = 0; a < 2; a++) {
        int any = 0;
        for (int w = 0; w < 2 && !any; w++) {
            int ok = chsm_mhsm_allowed(app, hsm_id, who[w], target, need[a]);
            if (ok < 0)
                return ok;
            any = ok;
        }
        if (!any)
            return 0;
    }
    return 1;
}

/* ---- HSMs ---- */

int chsm_mhsm_find_named(struct chsm_app *app, const char *type, const char *name,
                         chsm_resource *out)
{
    memset(out, 0, sizeof *out);
    chsm_resource_query q = {.type = type};
    chsm_resource *rows = NULL;
    size_t n = 0;
    int rc = chsm_resources_list(app->store, &q, &rows, &n);
    if (rc != CHSM_OK)
        return rc;
    rc = CHSM_ENOTFOUND;
    for (size_t i = 0; name && i < n; i++) {
        if (chsm_streq_ci(rows[i].name, name)) {
            *out = rows[i];
            memset(&rows[i], 0, sizeof rows[i]);
            rc = CHSM_OK;
            break;
        }
    }
    chsm_resources_free(rows, n);
    return rc;
}

void chsm_mhsm_host_uri(const struct chsm_app *app, const char *scheme, const char *name,
                        const char *domain, char *out, size_t outlen)
{
    char *lower = chsm_lower_dup(name);
    snprintf(out, outlen, "%s://%s.%s:%d", scheme ? scheme : "https", lower ? lower : name, domain,
             app->arm_port);
    free(lower);
}

int chsm_mhsm_find(struct chsm_app *app, const char *name, chsm_resource *out)
{
    return chsm_mhsm_find_named(app, CHSM_MHSM_TYPE, name, out);
}

void chsm_mhsm_uri(const struct chsm_app *app, const char *scheme, const char *name, char *out,
                   size_t outlen)
{
    chsm_mhsm_host_uri(app, scheme, name, "managedhsm.localhost", out, outlen);
}

int chsm_mhsm_path_segment(const char **p, char *out, size_t outlen)
{
    const char *s = *p;
    while (*s == '/')
        s++;
    size_t n = strcspn(s, "/?#");
    if (n == 0 || n >= outlen)
        return 0;
    memcpy(out, s, n);
    out[n] = '\0';
    *p = s + n;
    return 1;
}

int chsm_mhsm_parse_key_url(const char *url, char *hsm, size_t hsmlen, char *key, size_t keylen,
                            char *version, size_t versionlen)
{
    if (!url)
        return CHSM_EINVAL;
    const char *host = strstr(url, "://");
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
    if (dot && (chsm_streq_ci(dot, ".managedhsm.azure.net") ||
                chsm_streq_ci(dot, ".managedhsm.localhost"))) {
        *dot = '\0';
        if ((size_t)snprintf(hsm, hsmlen, "%s", hostbuf) >= hsmlen)
            return CHSM_EINVAL;
    } else {
        char seg[128];
        if (!chsm_mhsm_path_segment(&path, seg, sizeof seg) || !chsm_streq_ci(seg, "mhsm") ||
            !chsm_mhsm_path_segment(&path, hsm, hsmlen))
            return CHSM_EINVAL;
    }
    char seg[32];
    if (!chsm_mhsm_path_segment(&path, seg, sizeof seg) || !chsm_streq_ci(seg, "keys") ||
        !chsm_mhsm_path_segment(&path, key, keylen) || !key_name_ok(key, strlen(key)))
        return CHSM_EINVAL;
    if (versionlen)
        version[0] = '\0';
    if (versionlen && !chsm_mhsm_path_segment(&path, version, versionlen))
        version[0] = '\0';
    return CHSM_OK;
}

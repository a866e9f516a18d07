/* rbac.c - the access check: wildcard permissions, inherited scopes, and
 * the role assignments of a principal read from the resource store.
 *
 * Assignments are stored by providers/authorization.c with parent_id set to
 * their scope, so the assignments that apply at a scope are found with one
 * indexed lookup per ancestor of that scope ("/", "/subscriptions",
 * "/subscriptions/S", ... the scope itself). */
#include "rbac/rbac.h"

#include "app/app.h"
#include "store/resources.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/status.h"
#include "util/text.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define ROLE_DEFS_SEGMENT "/providers/Microsoft.Authorization/roleDefinitions/"

int chsm_rbac_action_matches(const char *pattern, const char *action)
{
    if (!pattern || !action)
        return 0;
    /* Glob with '*' only; on a mismatch resume after the last '*', one
     * character further into the action. */
    const char *p = pattern, *a = action, *star = NULL, *resume = NULL;
    while (*a) {
        if (*p == '*') {
            star = p++;
            resume = a;
        } else if (*p && tolower((unsigned char)*p) == tolower((unsigned char)*a)) {
            p++;
            a++;
        } else if (star) {
            p = star + 1;
            a = ++resume;
        } else {
            return 0;
        }
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

/* trimmed_len is the length of s without trailing '/' characters. */
static size_t trimmed_len(const char *s)
{
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == '/')
        n--;
    return n;
}

int chsm_rbac_scope_covers(const char *scope, const char *target)
{
    if (!scope || !target)
        return 0;
    size_t sn = trimmed_len(scope), tn = trimmed_len(target);
    if (sn == 0)
        return 1; /* "/" is the root of every scope */
    if (sn > tn)
        return 0;
    for (size_t i = 0; i < sn; i++)
        if (tolower((unsigned char)scope[i]) != tolower((unsigned char)target[i]))
            return 0;
    return sn == tn || target[sn] == '/';
}

static int list_matches(const cJSON *list, const char *action)
{
    const cJSON *item;
    cJSON_ArrayForEach(item, list)
    {
        if (cJSON_IsString(item) && chsm_rbac_action_matches(item->valuestring, action))
            return 1;
    }
    return 0;
}

int chsm_rbac_role_permits(const cJSON *role, const char *action, int data)
{
    const cJSON *props = chsm_json_obj(role, "properties");
    const cJSON *perms = props ? cJSON_GetObjectItem(props, "permissions") : NULL;
    const cJSON *block;
    cJSON_ArrayForEach(block, perms)
    {
        const cJSON *allow = cJSON_GetObjectItem(block, data ? "dataActions" : "actions");
        const cJSON *deny = cJSON_GetObjectItem(block, data ? "notDataActions" : "notActions");
        if (list_matches(allow, action) && !list_matches(deny, action))
            return 1;
    }
    return 0;
}

int chsm_rbac_role_guid(const char *role_definition_id, char out[37])
{
    out[0] = '\0';
    if (!role_definition_id)
        return CHSM_EINVAL;
    const char *guid = role_definition_id;
    const char *slash = strrchr(role_definition_id, '/');
    if (slash) {
        /* Everything before the GUID must end in ".../providers/Microsoft.Authorization/
         * roleDefinitions/" (the scope in front of it may be anything). */
        size_t seg = strlen(ROLE_DEFS_SEGMENT);
        size_t head = (size_t)(slash - role_definition_id) + 1;
        if (head < seg || !chsm_starts_with_ci(role_definition_id + head - seg, ROLE_DEFS_SEGMENT))
            return CHSM_EINVAL;
        guid = slash + 1;
    }
    if (!chsm_is_uuid(guid))
        return CHSM_EINVAL;
    for (int i = 0; i < 36; i++)
        out[i] = (char)tolower((unsigned char)guid[i]);
    out[36] = '\0';
    return CHSM_OK;
}

char *chsm_rbac_custom_role_id(const char *guid)
{
    chsm_buf b = {0};
    chsm_buf_printf(&b, ROLE_DEFS_SEGMENT "%s", guid);
    /* ROLE_DEFS_SEGMENT starts with "/providers": the tenant-level id. */
    return chsm_buf_steal(&b);
}

int chsm_rbac_find_role(chsm_app *app, const char *guid, const char *subscription, cJSON **out)
{
    *out = chsm_rbac_builtin_role(guid, subscription);
    if (*out)
        return CHSM_OK;
    if (chsm_rbac_builtin_exists(guid))
        return CHSM_ENOMEM;
    char *id = chsm_rbac_custom_role_id(guid);
    if (!id)
        return CHSM_ENOMEM;
    chsm_resource r;
    int rc = chsm_resources_get(app->store, id, &r);
    free(id);
    if (rc != CHSM_OK)
        return rc;
    chsm_buf rid = {0};
    if (subscription && *subscription)
        chsm_buf_printf(&rid, "/subscriptions/%s", subscription);
    chsm_buf_printf(&rid, ROLE_DEFS_SEGMENT "%s", r.name);
    chsm_json_set_str(r.body, "id", rid.data ? rid.data : "");
    chsm_buf_free(&rid);
    *out = r.body;
    r.body = NULL;
    chsm_resource_clear(&r);
    return CHSM_OK;
}

/* assignment_grants tells whether one stored assignment gives principal the
 * action: 1, 0, or <0 on a store error. */
static int assignment_grants(chsm_app *app, const chsm_resource *a, const char *principal_id,
                             const char *action, int data)
{
    const cJSON *props = chsm_json_obj(a->body, "properties");
    const char *pid = chsm_json_str(props, "principalId");
    char guid[37];
    if (!pid || !chsm_streq_ci(pid, principal_id) ||
        chsm_rbac_role_guid(chsm_json_str(props, "roleDefinitionId"), guid) != CHSM_OK)
        return 0;
    cJSON *role = NULL;
    int rc = chsm_rbac_find_role(app, guid, NULL, &role);
    if (rc == CHSM_ENOTFOUND)
        return 0; /* the custom role was deleted: the assignment grants nothing */
    if (rc != CHSM_OK)
        return rc;
    int ok = chsm_rbac_role_permits(role, action, data);
    cJSON_Delete(role);
    return ok;
}

/* assignments_at checks the assignments whose scope is exactly prefix. */
static int assignments_at(chsm_app *app, const char *prefix, const char *principal_id,
                          const char *action, int data)
{
    chsm_resource_query q = {.type = CHSM_RBAC_ASSIGNMENT_TYPE, .parent_id = prefix};
    chsm_resource *rows = NULL;
    size_t n = 0;
    int rc = chsm_resources_list(app->store, &q, &rows, &n);
    if (rc != CHSM_OK)
        return rc;
    int granted = 0;
    for (size_t i = 0; i < n && granted == 0; i++)
        granted = assignment_grants(app, &rows[i], principal_id, action, data);
    chsm_resources_free(rows, n);
    return granted;
}

static int has(chsm_app *app, const char *principal_id, const char *scope, const char *action,
               int data)
{
    if (!app || !principal_id || !*principal_id || !scope || !action)
        return 0;
    int granted = assignments_at(app, "/", principal_id, action, data);
    size_t n = trimmed_len(scope);
    char *buf = chsm_strndup(scope, n);
    if (!buf)
        return CHSM_ENOMEM;
    /* Each '/' after the first character ends an ancestor; the scope itself last. */
    for (size_t i = 1; i <= n && granted == 0; i++) {
        if (i < n && buf[i] != '/')
            continue;
        char saved = buf[i];
        buf[i] = '\0';
        granted = assignments_at(app, buf, principal_id, action, data);
        buf[i] = saved;
    }
    free(buf);
    return granted;
}

int chsm_rbac_has_data_action(chsm_app *app, const char *principal_id, const char *scope,
                              const char *action)
{
    return has(app, principal_id, scope, action, 1);
}

int chsm_rbac_has_action(chsm_app *app, const char *principal_id, const char *scope,
                         const char *action)
{
    return has(app, principal_id, scope, action, 0);
}

/* authorization.c - Microsoft.Authorization: role assignments at any scope
 * and role definitions (the built-ins of rbac/roles.c plus custom roles).
 *
 * A role assignment is stored as a resource document under its own id with
 * parent_id = its scope, which is how rbac/rbac.c finds the assignments that
 * apply at a scope. A custom role is stored once, under the tenant-level id
 * chsm_rbac_custom_role_id(guid), and shown under whatever scope it is read
 * at, as built-in roles are. The "{*scope}" templates end in the literal
 * ".../providers/Microsoft.Authorization/...", so they never shadow another
 * provider's routes. docs/providers.md lists the choices made where Azure's
 * behaviour is not documented. */
#include "providers/answers.h"
#include "providers/managed_identity.h"
#include "providers/provider.h"

#include "app/app.h"
#include "arm/auth.h"
#include "arm/errors.h"
#include "arm/names.h"
#include "arm/resource.h"
#include "arm/versions.h"
#include "rbac/rbac.h"
#include "store/resources.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/status.h"
#include "util/text.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUTHZ "/providers/Microsoft.Authorization"
#define RA_SEGMENT AUTHZ "/roleAssignments/"
#define MAX_SCOPE_SEGMENTS 32

/* ---- scopes ---- */

typedef struct scope_info {
    char *scope;        /* "/" or "/subscriptions/..." without a trailing '/', owned */
    char sub[72];       /* subscription id, or "" */
    char rg[96];        /* resource group name, or "" */
    char *resource_id;  /* top-level resource in the group the scope is in or under, or NULL */
    char resource[300]; /* "{ns}/{type}/{name}" of it, for messages */
} scope_info;

static void scope_clear(scope_info *si)
{
    free(si->scope);
    free(si->resource_id);
    memset(si, 0, sizeof *si);
}

static int invalid_scope(chsm_response *res, const char *scope)
{
    chsm_arm_error(res, 400, "InvalidScope",
                   "The scope '%.300s' is not valid. Use '/', "
                   "'/providers/Microsoft.Management/managementGroups/{name}', "
                   "'/subscriptions/{id}', '/subscriptions/{id}/resourceGroups/{name}' or a "
                   "resource id.",
                   scope);
    return 1;
}

/* resource_path_ok tells whether segs[from..n) is "providers/{ns}/{type}/{name}"
 * followed by any number of "{type}/{name}" pairs. */
static int resource_path_ok(char **segs, size_t from, size_t n)
{
    return n >= from + 4 && chsm_streq_ci(segs[from], "providers") && (n - from - 2) % 2 == 0;
}

/* parse_scope reads the {*scope} capture (none: the root scope), checks its
 * shape and, when check_exists, that its resource group and top-level
 * resource exist (404 ResourceGroupNotFound / ResourceNotFound, as ARM
 * answers for a missing parent). Answers and returns nonzero on failure. */
static int parse_scope(chsm_request *req, chsm_response *res, int check_exists, scope_info *si)
{
    memset(si, 0, sizeof *si);
    const char *cap = chsm_request_param(req, "scope");
    chsm_buf b = {0};
    chsm_buf_printf(&b, "/%s", cap ? cap : "");
    si->scope = chsm_buf_steal(&b);
    if (!si->scope) {
        chsm_provider_store_error(res, CHSM_ENOMEM);
        return 1;
    }
    size_t len = strlen(si->scope);
    while (len > 1 && si->scope[len - 1] == '/')
        si->scope[--len] = '\0';
    if (len == 1)
        return 0; /* the root scope */
    char *copy = chsm_strdup(si->scope + 1);
    if (!copy) {
        chsm_provider_store_error(res, CHSM_ENOMEM);
        return 1;
    }
    char *segs[MAX_SCOPE_SEGMENTS];
    size_t n = 0;
    for (char *save = NULL, *t = copy ? strtok_r(copy, "/", &save) : NULL; t;
         t = strtok_r(NULL, "/", &save)) {
        if (n == MAX_SCOPE_SEGMENTS) {
            free(copy);
            return invalid_scope(res, si->scope);
        }
        segs[n++] = t;
    }
    int bad = 0;
    if (n >= 1 && chsm_streq_ci(segs[0], "providers")) {
        bad = !(n == 4 && chsm_streq_ci(segs[1], "Microsoft.Management") &&
                chsm_streq_ci(segs[2], "managementGroups"));
    } else if (n >= 2 && chsm_streq_ci(segs[0], "subscriptions") &&
               chsm_arm_valid_subscription(segs[1])) {
        snprintf(si->sub, sizeof si->sub, "%s", segs[1]);
        if (n == 2) {
            /* the subscription itself */
        } else if (chsm_streq_ci(segs[2], "resourceGroups")) {
            if (n < 4 || !chsm_arm_valid_resource_group(segs[3]) ||
                (n > 4 && !resource_path_ok(segs, 4, n)))
                bad = 1;
            else
                snprintf(si->rg, sizeof si->rg, "%s", segs[3]);
            if (!bad && n > 4) {
                chsm_buf id = {0};
                chsm_buf_printf(&id, "/subscriptions/%s/resourceGroups/%s/providers/%s/%s/%s",
                                segs[1], segs[3], segs[5], segs[6], segs[7]);
                si->resource_id = chsm_buf_steal(&id);
                if (!si->resource_id) {
                    free(copy);
                    chsm_provider_store_error(res, CHSM_ENOMEM);
                    return 1;
                }
                snprintf(si->resource, sizeof si->resource, "%s/%s/%s", segs[5], segs[6], segs[7]);
            }
        } else {
            bad = !resource_path_ok(segs, 2, n); /* a subscription-level resource */
        }
    } else {
        bad = 1;
    }
    free(copy);
    if (bad)
        return invalid_scope(res, si->scope);
    if (!check_exists || !si->rg[0])
        return 0;
    if (chsm_arm_require_resource_group(req, res, si->sub, si->rg))
        return 1;
    if (si->resource_id) {
        int exists = chsm_resources_exists(req->app->store, si->resource_id);
        if (exists < 0) {
            chsm_provider_store_error(res, exists);
            return 1;
        }
        if (!exists) {
            chsm_arm_error(res, 404, "ResourceNotFound",
                           "The Resource '%s' under resource group '%s' was not found. For more "
                           "details please go to https://aka.ms/ARMResourceNotFoundFix",
                           si->resource, si->rg);
            return 1;
        }
    }
    return 0;
}

/* scope_prefix is what goes before "/providers/..." in an id at scope. */
static const char *scope_prefix(const scope_info *si)
{
    return strcmp(si->scope, "/") == 0 ? "" : si->scope;
}

/* ---- $filter ---- */

typedef struct filter {
    int at_scope;           /* atScope() */
    int at_scope_and_below; /* atScopeAndBelow() (role definitions) */
    char principal[72];     /* principalId eq '...' or assignedTo('...') */
    char role_name[260];    /* roleName eq '...' */
    char type[32];          /* type eq '...' */
} filter;

/* quoted_value copies the value after "eq" or inside "(...)": quotes are
 * optional, '+' reads as a space. */
static int quoted_value(const char *s, char *out, size_t outlen)
{
    while (*s == ' ')
        s++;
    char quote = (*s == '\'' || *s == '"') ? *s++ : 0;
    size_t n = 0;
    for (; *s && (quote ? *s != quote : (*s != ' ' && *s != ')')); s++) {
        if (n + 1 >= outlen)
            return 0;
        out[n++] = *s;
    }
    if (quote && *s != quote)
        return 0;
    out[n] = '\0';
    return n > 0;
}

/* parse_filter understands clauses joined by " and ": atScope(),
 * atScopeAndBelow(), principalId eq '{id}', assignedTo('{id}'),
 * roleName eq '{name}', type eq '{type}'. Answers 400 and returns nonzero
 * on anything else. */
static int parse_filter(chsm_request *req, chsm_response *res, filter *f)
{
    memset(f, 0, sizeof *f);
    const char *raw = chsm_request_query(req, "$filter");
    if (!raw || !*raw)
        return 0;
    char *text = chsm_strdup(raw);
    if (!text) {
        chsm_provider_store_error(res, CHSM_ENOMEM);
        return 1;
    }
    for (char *c = text; *c; c++)
        if (*c == '+')
            *c = ' ';
    int ok = 1;
    char *p = text;
    while (ok && *p) {
        while (*p == ' ')
            p++;
        char *end = NULL;
        /* Find the next " and " outside quotes. */
        char quote = 0;
        for (char *q = p; *q; q++) {
            if (quote) {
                if (*q == quote)
                    quote = 0;
            } else if (*q == '\'' || *q == '"') {
                quote = *q;
            } else if (q[0] == ' ' && chsm_starts_with_ci(q, " and ")) {
                end = q;
                break;
            }
        }
        if (end)
            *end = '\0';
        char *clause = p;
        size_t cl = strlen(clause);
        while (cl > 0 && clause[cl - 1] == ' ')
            clause[--cl] = '\0';
        if (chsm_streq_ci(clause, "atScope()"))
            f->at_scope = 1;
        else if (chsm_streq_ci(clause, "atScopeAndBelow()"))
            f->at_scope_and_below = 1;
        else if (chsm_starts_with_ci(clause, "principalId eq "))
            ok = quoted_value(clause + 15, f->principal, sizeof f->principal);
        else if (chsm_starts_with_ci(clause, "assignedTo(") && clause[cl - 1] == ')')
            ok = quoted_value(clause + 11, f->principal, sizeof f->principal);
        else if (chsm_starts_with_ci(clause, "roleName eq "))
            ok = quoted_value(clause + 12, f->role_name, sizeof f->role_name);
        else if (chsm_starts_with_ci(clause, "type eq "))
            ok = quoted_value(clause + 8, f->type, sizeof f->type);
        else
            ok = 0;
        p = end ? end + 5 : clause + cl;
    }
    if (!ok)
        chsm_arm_error(res, 400, "InvalidFilterInQueryString",
                       "The $filter '%.300s' is not supported. Use atScope(), principalId eq "
                       "'{id}', assignedTo('{id}'), roleName eq '{name}', type eq '{type}' or "
                       "atScopeAndBelow(), joined by 'and'.",
                       raw);
    free(text);
    return !ok;
}

/* ---- role assignments ---- */

static const char *const principal_types[] = {"User",         "Group",  "ServicePrincipal",
                                              "ForeignGroup", "Device", NULL};

static const char *known_principal_type(const char *t)
{
    for (const char *const *p = principal_types; *p; p++)
        if (chsm_streq_ci(*p, t))
            return *p;
    return NULL;
}

static void assignment_not_found(chsm_response *res, const char *name)
{
    chsm_arm_error(res, 404, "RoleAssignmentNotFound", "The role assignment '%s' is not found.",
                   name);
}

static char *assignment_id(const scope_info *si, const char *name)
{
    chsm_buf b = {0};
    chsm_buf_printf(&b, "%s" RA_SEGMENT "%s", scope_prefix(si), name);
    return chsm_buf_steal(&b);
}

/* assignment_matches tells whether stored assignment a names principal and role guid. */
static int assignment_matches(const cJSON *a, const char *principal, const char *guid)
{
    const cJSON *p = chsm_json_obj(a, "properties");
    char g[37];
    return chsm_streq_ci(chsm_json_str(p, "principalId"), principal) &&
           chsm_rbac_role_guid(chsm_json_str(p, "roleDefinitionId"), g) == CHSM_OK &&
           strcmp(g, guid) == 0;
}

static void null_or_string(cJSON *obj, const char *key, const char *value)
{
    if (value)
        cJSON_AddStringToObject(obj, key, value);
    else
        cJSON_AddNullToObject(obj, key);
}

static void put_assignment(chsm_request *req, chsm_response *res)
{
    const char *name = chsm_request_param(req, "roleAssignmentName");
    if (!chsm_is_uuid(name)) {
        chsm_arm_error(res, 400, "InvalidRoleAssignmentId",
                       "The role assignment ID '%.100s' is not valid. The role assignment ID "
                       "must be a GUID.",
                       name ? name : "");
        return;
    }
    cJSON *in = chsm_arm_body_object(req, res, 1);
    if (!in)
        return;
    scope_info si;
    chsm_resource old = {0};
    cJSON *body = NULL;
    char *id = NULL;
    chsm_store *s = req->app->store;
    int began = 0;
    if (parse_scope(req, res, 0, &si))
        goto out;
    const cJSON *props = chsm_json_obj(in, "properties");
    const char *role_id = chsm_json_str(props, "roleDefinitionId");
    const char *principal = chsm_json_str(props, "principalId");
    const char *ptype_in = chsm_json_str(props, "principalType");
    const char *body_scope = chsm_json_str(props, "scope");
    const char *description = chsm_json_str(props, "description");
    const char *condition = chsm_json_str(props, "condition");
    const char *condition_version = chsm_json_str(props, "conditionVersion");
    const char *delegated = chsm_json_str(props, "delegatedManagedIdentityResourceId");
    char guid[37];
    if (!props) {
        chsm_arm_error_target(res, 400, "InvalidRequestContent", "properties",
                              "The request content was invalid: 'properties' is required.");
        goto out;
    }
    if (!role_id || !principal) {
        chsm_arm_error_target(res, 400, "InvalidRequestContent",
                              role_id ? "properties.principalId" : "properties.roleDefinitionId",
                              "The request content was invalid: 'properties.%s' is required.",
                              role_id ? "principalId" : "roleDefinitionId");
        goto out;
    }
    if (chsm_rbac_role_guid(role_id, guid) != CHSM_OK) {
        chsm_arm_error(res, 400, "InvalidRoleDefinitionId",
                       "The role definition ID '%.300s' is not valid.", role_id);
        goto out;
    }
    if (!chsm_is_uuid(principal)) {
        chsm_arm_error(res, 400, "InvalidPrincipalId",
                       "The Principal ID '%.100s' is not valid. Principal ID must be a GUID.",
                       principal);
        goto out;
    }
    const char *ptype = ptype_in ? known_principal_type(ptype_in) : NULL;
    if (ptype_in && !ptype) {
        chsm_arm_error_target(res, 400, "InvalidPrincipalType", "properties.principalType",
                              "The principal type '%.40s' is not valid: use User, Group, "
                              "ServicePrincipal, ForeignGroup or Device.",
                              ptype_in);
        goto out;
    }
    /* Covering both ways is equality, ignoring case and a trailing '/'. */
    if (body_scope && !(chsm_rbac_scope_covers(body_scope, si.scope) &&
                        chsm_rbac_scope_covers(si.scope, body_scope))) {
        chsm_arm_error(res, 400, "InvalidCreateRoleAssignmentRequest",
                       "The request to create role assignment '%s' is not valid. Role assignment "
                       "scope '%.300s' must match the scope specified on the URI '%.300s'.",
                       name, body_scope, si.scope);
        goto out;
    }
    int rc = chsm_store_begin(s);
    if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
        goto out;
    }
    began = 1;
    scope_info checked;
    int missing = parse_scope(req, res, 1, &checked);
    scope_clear(&checked);
    if (missing)
        goto out;
    cJSON *role = NULL;
    rc = chsm_rbac_find_role(req->app, guid, si.sub[0] ? si.sub : NULL, &role);
    cJSON_Delete(role);
    if (rc == CHSM_ENOTFOUND) {
        chsm_arm_error(res, 404, "RoleDefinitionDoesNotExist",
                       "The specified role definition with ID '%s' does not exist.", guid);
        goto out;
    }
    if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
        goto out;
    }
    /* A known managed identity is a service principal: Azure resolves the
     * type itself and refuses a different one. */
    chsm_msi_info msi;
    rc = chsm_msi_find_by_principal_id(req->app, principal, &msi, NULL, 0);
    if (rc != CHSM_OK && rc != CHSM_ENOTFOUND) {
        chsm_provider_store_error(res, rc);
        goto out;
    }
    if (rc == CHSM_OK) {
        if (ptype && strcmp(ptype, "ServicePrincipal") != 0) {
            chsm_arm_error(res, 400, "UnmatchedPrincipalType",
                           "The PrincipalId '%s' has type 'ServicePrincipal', which is different "
                           "from specified PrincipalType '%s'.",
                           principal, ptype);
            goto out;
        }
        ptype = "ServicePrincipal";
    }
    if (!ptype)
        ptype = "User"; /* the spec's default */
    id = assignment_id(&si, name);
    if (!id) {
        chsm_provider_store_error(res, CHSM_ENOMEM);
        goto out;
    }
    rc = chsm_resources_get(s, id, &old);
    int existed = rc == CHSM_OK;
    if (rc != CHSM_OK && rc != CHSM_ENOTFOUND) {
        chsm_provider_store_error(res, rc);
        goto out;
    }
    if (existed && !assignment_matches(old.body, principal, guid)) {
        chsm_arm_error(res, 409, "RoleAssignmentUpdateNotPermitted",
                       "Tenant ID, application ID, principal ID, and scope are not allowed to be "
                       "updated.");
        goto out;
    }
    if (!existed) {
        chsm_resource_query q = {.type = CHSM_RBAC_ASSIGNMENT_TYPE, .parent_id = si.scope};
        chsm_resource *rows = NULL;
        size_t n = 0;
        rc = chsm_resources_list(s, &q, &rows, &n);
        if (rc != CHSM_OK) {
            chsm_provider_store_error(res, rc);
            goto out;
        }
        const char *dup = NULL;
        for (size_t i = 0; i < n && !dup; i++)
            if (assignment_matches(rows[i].body, principal, guid))
                dup = rows[i].id;
        if (dup) {
            chsm_arm_error(res, 409, "RoleAssignmentExists",
                           "The role assignment already exists. The ID of the existing role "
                           "assignment is %s.",
                           strrchr(dup, '/') + 1);
            chsm_resources_free(rows, n);
            goto out;
        }
        chsm_resources_free(rows, n);
    }
    char now[40];
    chsm_format_time(chsm_now_ms(), now, sizeof now);
    const char *who = req->principal.oid[0] ? req->principal.oid : CHSM_DEFAULT_OID;
    const cJSON *oldp = existed ? chsm_json_obj(old.body, "properties") : NULL;
    body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "id", existed ? old.id : id);
    cJSON_AddStringToObject(body, "name", name);
    cJSON_AddStringToObject(body, "type", CHSM_RBAC_ASSIGNMENT_TYPE);
    cJSON *p = cJSON_AddObjectToObject(body, "properties");
    cJSON_AddStringToObject(p, "roleDefinitionId", role_id);
    cJSON_AddStringToObject(p, "principalId", principal);
    cJSON_AddStringToObject(p, "principalType", ptype);
    cJSON_AddStringToObject(p, "scope", existed ? chsm_json_str(oldp, "scope") : si.scope);
    null_or_string(p, "condition", condition);
    null_or_string(p, "conditionVersion",
                   condition ? (condition_version ? condition_version : "2.0") : NULL);
    const char *created_on = existed ? chsm_json_str(oldp, "createdOn") : NULL;
    const char *created_by = existed ? chsm_json_str(oldp, "createdBy") : NULL;
    cJSON_AddStringToObject(p, "createdOn", created_on ? created_on : now);
    cJSON_AddStringToObject(p, "updatedOn", now);
    cJSON_AddStringToObject(p, "createdBy", created_by ? created_by : who);
    cJSON_AddStringToObject(p, "updatedBy", who);
    null_or_string(p, "delegatedManagedIdentityResourceId", delegated);
    null_or_string(p, "description", description);
    chsm_resource r = {.id = existed ? old.id : id,
                       .type = CHSM_RBAC_ASSIGNMENT_TYPE,
                       .name = (char *)name,
                       .subscription = si.sub[0] ? si.sub : NULL,
                       .resource_group = si.rg[0] ? si.rg : NULL,
                       .parent_id = si.scope,
                       .body = body,
                       .created_ms = old.created_ms};
    rc = chsm_resources_put(s, &r);
    if (rc == CHSM_OK)
        rc = chsm_store_commit(s);
    else
        chsm_store_rollback(s);
    began = 0;
    if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
        goto out;
    }
    chsm_arm_json(res, existed ? 200 : 201, body);
    body = NULL;
out:
    if (began)
        chsm_store_rollback(s);
    cJSON_Delete(body);
    chsm_resource_clear(&old);
    scope_clear(&si);
    cJSON_Delete(in);
    free(id);
}

static void get_assignment(chsm_request *req, chsm_response *res)
{
    const char *name = chsm_request_param(req, "roleAssignmentName");
    scope_info si;
    if (parse_scope(req, res, 1, &si))
        goto out;
    char *id = assignment_id(&si, name);
    chsm_resource r;
    int rc = id ? chsm_resources_get(req->app->store, id, &r) : CHSM_ENOMEM;
    free(id);
    if (rc == CHSM_ENOTFOUND) {
        assignment_not_found(res, name);
    } else if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
    } else {
        chsm_arm_json(res, 200, r.body);
        r.body = NULL;
        chsm_resource_clear(&r);
    }
out:
    scope_clear(&si);
}

/* DELETE answers 200 with the deleted assignment, or 204 when there was none. */
static void delete_assignment(chsm_request *req, chsm_response *res)
{
    const char *name = chsm_request_param(req, "roleAssignmentName");
    scope_info si;
    chsm_resource r = {0};
    char *id = NULL;
    if (parse_scope(req, res, 0, &si))
        goto out;
    id = assignment_id(&si, name);
    chsm_store *s = req->app->store;
    int rc = id ? chsm_store_begin(s) : CHSM_ENOMEM;
    if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
        goto out;
    }
    rc = chsm_resources_get(s, id, &r);
    if (rc == CHSM_OK)
        rc = chsm_resources_delete(s, id);
    if (rc == CHSM_OK) {
        rc = chsm_store_commit(s);
    } else {
        chsm_store_rollback(s);
    }
    if (rc == CHSM_ENOTFOUND) {
        chsm_arm_json(res, 204, NULL);
    } else if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
    } else {
        chsm_arm_json(res, 200, r.body);
        r.body = NULL;
    }
out:
    chsm_resource_clear(&r);
    scope_clear(&si);
    free(id);
}

/* GET {scope}/providers/Microsoft.Authorization/roleAssignments: without a
 * filter the assignments at, above and below the scope; atScope(): at or
 * above; principalId eq / assignedTo(): at, above or below, for that
 * principal (groups are not modelled, so assignedTo is principalId). */
static void list_assignments(chsm_request *req, chsm_response *res)
{
    scope_info si;
    filter f;
    if (parse_scope(req, res, 1, &si))
        goto out;
    if (parse_filter(req, res, &f))
        goto out;
    if (f.role_name[0] || f.type[0] || f.at_scope_and_below) {
        chsm_arm_error(res, 400, "InvalidFilterInQueryString",
                       "Role assignments can be filtered by atScope(), principalId eq '{id}' and "
                       "assignedTo('{id}') only.");
        goto out;
    }
    chsm_resource_query q = {.type = CHSM_RBAC_ASSIGNMENT_TYPE};
    chsm_resource *rows = NULL;
    size_t n = 0;
    int rc = chsm_resources_list(req->app->store, &q, &rows, &n);
    if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
        goto out;
    }
    cJSON *items = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) {
        const cJSON *p = chsm_json_obj(rows[i].body, "properties");
        const char *scope = chsm_json_str(p, "scope");
        int above = chsm_rbac_scope_covers(scope, si.scope);
        int below = chsm_rbac_scope_covers(si.scope, scope);
        if (!(above || (below && !f.at_scope)))
            continue;
        if (f.principal[0] && !chsm_streq_ci(chsm_json_str(p, "principalId"), f.principal))
            continue;
        cJSON_AddItemToArray(items, rows[i].body);
        rows[i].body = NULL;
    }
    chsm_resources_free(rows, n);
    chsm_arm_json(res, 200, chsm_arm_list_body(items, NULL));
out:
    scope_clear(&si);
}

/* ---- role definitions ---- */

static void role_not_found(chsm_response *res, const char *guid)
{
    chsm_arm_error(res, 404, "RoleDefinitionDoesNotExist",
                   "The specified role definition with ID '%.100s' does not exist.", guid);
}

static int check_role_guid(chsm_response *res, const char *guid)
{
    if (chsm_is_uuid(guid))
        return 0;
    chsm_arm_error(res, 400, "InvalidRoleDefinitionId",
                   "The role definition ID '%.100s' is not valid: it must be a GUID.",
                   guid ? guid : "");
    return 1;
}

static void get_definition(chsm_request *req, chsm_response *res)
{
    const char *guid = chsm_request_param(req, "roleDefinitionId");
    scope_info si;
    if (parse_scope(req, res, 0, &si))
        goto out;
    if (check_role_guid(res, guid))
        goto out;
    cJSON *role = NULL;
    int rc = chsm_rbac_find_role(req->app, guid, si.sub[0] ? si.sub : NULL, &role);
    if (rc == CHSM_ENOTFOUND)
        role_not_found(res, guid);
    else if (rc != CHSM_OK)
        chsm_provider_store_error(res, rc);
    else
        chsm_arm_json(res, 200, role);
out:
    scope_clear(&si);
}

/* role_shown_at tells whether a custom role belongs in a list at scope: one
 * of its assignable scopes is the scope or above it (or, with
 * atScopeAndBelow(), below it). */
static int role_shown_at(const cJSON *role, const char *scope, int and_below)
{
    const cJSON *scopes =
        cJSON_GetObjectItem(chsm_json_obj(role, "properties"), "assignableScopes");
    const cJSON *s;
    cJSON_ArrayForEach(s, scopes)
    {
        if (!cJSON_IsString(s))
            continue;
        if (chsm_rbac_scope_covers(s->valuestring, scope) ||
            (and_below && chsm_rbac_scope_covers(scope, s->valuestring)))
            return 1;
    }
    return 0;
}

static int role_passes(const cJSON *role, const filter *f)
{
    const cJSON *p = chsm_json_obj(role, "properties");
    if (f->role_name[0] && !chsm_streq_ci(chsm_json_str(p, "roleName"), f->role_name))
        return 0;
    return !f->type[0] || chsm_streq_ci(chsm_json_str(p, "type"), f->type);
}

/* custom_roles lists every stored custom role (caller frees). */
static int custom_roles(chsm_app *app, chsm_resource **rows, size_t *n)
{
    chsm_resource_query q = {.type = CHSM_RBAC_DEFINITION_TYPE};
    return chsm_resources_list(app->store, &q, rows, n);
}

/* render_custom sets a stored custom role's id to the subscription it is read in. */
static void render_custom(cJSON *role, const char *sub, const char *guid)
{
    chsm_buf b = {0};
    if (sub && *sub)
        chsm_buf_printf(&b, "/subscriptions/%s", sub);
    chsm_buf_printf(&b, AUTHZ "/roleDefinitions/%s", guid);
    chsm_json_set_str(role, "id", b.data ? b.data : "");
    chsm_buf_free(&b);
}

static void list_definitions(chsm_request *req, chsm_response *res)
{
    scope_info si;
    filter f;
    if (parse_scope(req, res, 0, &si))
        goto out;
    if (parse_filter(req, res, &f))
        goto out;
    if (f.principal[0] || f.at_scope) {
        chsm_arm_error(res, 400, "InvalidFilterInQueryString",
                       "Role definitions can be filtered by roleName eq '{name}', type eq "
                       "'{type}' and atScopeAndBelow() only.");
        goto out;
    }
    const char *sub = si.sub[0] ? si.sub : NULL;
    cJSON *items = cJSON_CreateArray();
    for (size_t i = 0; i < chsm_rbac_builtin_count(); i++) {
        cJSON *role = chsm_rbac_builtin_role_at(i, sub);
        if (role && role_passes(role, &f))
            cJSON_AddItemToArray(items, role);
        else
            cJSON_Delete(role);
    }
    chsm_resource *rows = NULL;
    size_t n = 0;
    int rc = custom_roles(req->app, &rows, &n);
    if (rc != CHSM_OK) {
        cJSON_Delete(items);
        chsm_provider_store_error(res, rc);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (!role_passes(rows[i].body, &f) ||
            !role_shown_at(rows[i].body, si.scope, f.at_scope_and_below))
            continue;
        render_custom(rows[i].body, sub, rows[i].name);
        cJSON_AddItemToArray(items, rows[i].body);
        rows[i].body = NULL;
    }
    chsm_resources_free(rows, n);
    chsm_arm_json(res, 200, chsm_arm_list_body(items, NULL));
out:
    scope_clear(&si);
}

/* string_list returns a copy of a permissions list, or an empty array when
 * absent; NULL when it is present but not an array of strings. */
static cJSON *string_list(const cJSON *block, const char *key)
{
    const cJSON *a = cJSON_GetObjectItem(block, key);
    if (!a || cJSON_IsNull(a))
        return cJSON_CreateArray();
    if (!cJSON_IsArray(a))
        return NULL;
    const cJSON *s;
    cJSON_ArrayForEach(s, a)
    {
        if (!cJSON_IsString(s) || !*s->valuestring)
            return NULL;
    }
    return cJSON_Duplicate(a, 1);
}

/* permissions_copy returns the permissions blocks normalized to the four
 * lists, or NULL (with *bad naming the list) when malformed. */
static cJSON *permissions_copy(const cJSON *perms, const char **bad)
{
    static const char *const keys[] = {"actions", "notActions", "dataActions", "notDataActions"};
    *bad = "permissions";
    if (!cJSON_IsArray(perms) || cJSON_GetArraySize(perms) == 0)
        return NULL;
    cJSON *out = cJSON_CreateArray();
    const cJSON *block;
    cJSON_ArrayForEach(block, perms)
    {
        if (!cJSON_IsObject(block)) {
            cJSON_Delete(out);
            return NULL;
        }
        cJSON *b = cJSON_CreateObject();
        cJSON_AddItemToArray(out, b);
        for (size_t k = 0; k < 4; k++) {
            cJSON *list = string_list(block, keys[k]);
            if (!list) {
                *bad = keys[k];
                cJSON_Delete(out);
                return NULL;
            }
            cJSON_AddItemToObject(b, keys[k], list);
        }
    }
    return out;
}

static void put_definition(chsm_request *req, chsm_response *res)
{
    const char *guid_in = chsm_request_param(req, "roleDefinitionId");
    if (check_role_guid(res, guid_in))
        return;
    char guid[37];
    chsm_rbac_role_guid(guid_in, guid);
    cJSON *builtin = chsm_rbac_builtin_role(guid, NULL);
    if (builtin) {
        cJSON_Delete(builtin);
        chsm_arm_error(res, 400, "InvalidRoleDefinition",
                       "The role definition '%s' is a built-in role and cannot be changed.", guid);
        return;
    }
    cJSON *in = chsm_arm_body_object(req, res, 1);
    if (!in)
        return;
    scope_info si;
    cJSON *body = NULL, *perms = NULL;
    chsm_resource old = {0};
    chsm_resource *rows = NULL;
    size_t n = 0;
    char *id = NULL;
    int began = 0;
    chsm_store *s = req->app->store;
    if (parse_scope(req, res, 0, &si))
        goto out;
    const cJSON *props = chsm_json_obj(in, "properties");
    const char *role_name = chsm_json_str(props, "roleName");
    const char *type = chsm_json_str(props, "type");
    const char *description = chsm_json_str(props, "description");
    const cJSON *scopes = cJSON_GetObjectItem(props, "assignableScopes");
    const char *bad = NULL;
    perms = permissions_copy(cJSON_GetObjectItem(props, "permissions"), &bad);
    if (!role_name || !*role_name) {
        chsm_arm_error_target(res, 400, "InvalidRequestContent", "properties.roleName",
                              "The request content was invalid: 'properties.roleName' is "
                              "required.");
        goto out;
    }
    if (type && !chsm_streq_ci(type, "CustomRole")) {
        chsm_arm_error_target(res, 400, "InvalidRoleDefinition", "properties.type",
                              "Only custom roles can be created: the type must be 'CustomRole'.");
        goto out;
    }
    if (!perms) {
        chsm_arm_error_target(res, 400, "InvalidRoleDefinition", "properties.permissions",
                              "The permissions must be a non-empty array of objects whose "
                              "'%s' is a list of non-empty strings.",
                              bad);
        goto out;
    }
    int nscopes = cJSON_IsArray(scopes) ? cJSON_GetArraySize(scopes) : 0;
    const cJSON *sc;
    cJSON_ArrayForEach(sc, scopes)
    {
        if (!cJSON_IsString(sc) || sc->valuestring[0] != '/')
            nscopes = 0;
    }
    if (nscopes == 0) {
        chsm_arm_error_target(res, 400, "InvalidRoleDefinition", "properties.assignableScopes",
                              "The assignableScopes must be a non-empty array of scope ids.");
        goto out;
    }
    int rc = chsm_store_begin(s);
    if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
        goto out;
    }
    began = 1;
    /* Role names are unique in the directory, built-in ones included. */
    for (size_t i = 0; i < chsm_rbac_builtin_count(); i++) {
        cJSON *b = chsm_rbac_builtin_role_at(i, NULL);
        int same =
            chsm_streq_ci(chsm_json_str(chsm_json_obj(b, "properties"), "roleName"), role_name);
        cJSON_Delete(b);
        if (same) {
            chsm_arm_error(res, 409, "RoleDefinitionWithSameNameExists",
                           "A role definition cannot be created with the name '%s': a built-in "
                           "role has it.",
                           role_name);
            goto out;
        }
    }
    rc = custom_roles(req->app, &rows, &n);
    if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (!chsm_streq_ci(rows[i].name, guid) &&
            chsm_streq_ci(chsm_json_str(chsm_json_obj(rows[i].body, "properties"), "roleName"),
                          role_name)) {
            chsm_arm_error(res, 409, "RoleDefinitionWithSameNameExists",
                           "A custom role with the same name already exists in this directory.");
            goto out;
        }
    }
    id = chsm_rbac_custom_role_id(guid);
    rc = id ? chsm_resources_get(s, id, &old) : CHSM_ENOMEM;
    int existed = rc == CHSM_OK;
    if (rc != CHSM_OK && rc != CHSM_ENOTFOUND) {
        chsm_provider_store_error(res, rc);
        goto out;
    }
    char now[40];
    chsm_format_time(chsm_now_ms(), now, sizeof now);
    const char *who = req->principal.oid[0] ? req->principal.oid : CHSM_DEFAULT_OID;
    const cJSON *oldp = existed ? chsm_json_obj(old.body, "properties") : NULL;
    body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "id", "");
    cJSON_AddStringToObject(body, "name", guid);
    cJSON_AddStringToObject(body, "type", CHSM_RBAC_DEFINITION_TYPE);
    cJSON *p = cJSON_AddObjectToObject(body, "properties");
    cJSON_AddStringToObject(p, "roleName", role_name);
    cJSON_AddStringToObject(p, "type", "CustomRole");
    null_or_string(p, "description", description);
    cJSON_AddItemToObject(p, "assignableScopes", cJSON_Duplicate(scopes, 1));
    cJSON_AddItemToObject(p, "permissions", perms);
    perms = NULL;
    const char *created_on = existed ? chsm_json_str(oldp, "createdOn") : NULL;
    const char *created_by = existed ? chsm_json_str(oldp, "createdBy") : NULL;
    cJSON_AddStringToObject(p, "createdOn", created_on ? created_on : now);
    cJSON_AddStringToObject(p, "updatedOn", now);
    cJSON_AddStringToObject(p, "createdBy", created_by ? created_by : who);
    cJSON_AddStringToObject(p, "updatedBy", who);
    render_custom(body, si.sub[0] ? si.sub : NULL, guid);
    chsm_resource r = {.id = id,
                       .type = CHSM_RBAC_DEFINITION_TYPE,
                       .name = guid,
                       .subscription = si.sub[0] ? si.sub : NULL,
                       .body = body,
                       .created_ms = old.created_ms};
    rc = chsm_resources_put(s, &r);
    if (rc == CHSM_OK)
        rc = chsm_store_commit(s);
    else
        chsm_store_rollback(s);
    began = 0;
    if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
        goto out;
    }
    chsm_arm_json(res, existed ? 200 : 201, body);
    body = NULL;
out:
    if (began)
        chsm_store_rollback(s);
    chsm_resources_free(rows, n);
    chsm_resource_clear(&old);
    cJSON_Delete(body);
    cJSON_Delete(perms);
    scope_clear(&si);
    cJSON_Delete(in);
    free(id);
}

/* DELETE a custom role: 200 with it, 204 when absent, 409 while assigned. */
static void delete_definition(chsm_request *req, chsm_response *res)
{
    const char *guid_in = chsm_request_param(req, "roleDefinitionId");
    if (check_role_guid(res, guid_in))
        return;
    char guid[37];
    chsm_rbac_role_guid(guid_in, guid);
    cJSON *builtin = chsm_rbac_builtin_role(guid, NULL);
    if (builtin) {
        cJSON_Delete(builtin);
        chsm_arm_error(res, 400, "InvalidRoleDefinition",
                       "The role definition '%s' is a built-in role and cannot be deleted.", guid);
        return;
    }
    scope_info si;
    chsm_resource r = {0};
    chsm_resource *rows = NULL;
    size_t n = 0;
    char *id = NULL;
    chsm_store *s = req->app->store;
    int began = 0;
    if (parse_scope(req, res, 0, &si))
        goto out;
    id = chsm_rbac_custom_role_id(guid);
    int rc = id ? chsm_store_begin(s) : CHSM_ENOMEM;
    if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
        goto out;
    }
    began = 1;
    rc = chsm_resources_get(s, id, &r);
    if (rc == CHSM_ENOTFOUND) {
        chsm_arm_json(res, 204, NULL);
        goto out;
    }
    if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
        goto out;
    }
    chsm_resource_query q = {.type = CHSM_RBAC_ASSIGNMENT_TYPE};
    rc = chsm_resources_list(s, &q, &rows, &n);
    if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        char g[37];
        const char *rid =
            chsm_json_str(chsm_json_obj(rows[i].body, "properties"), "roleDefinitionId");
        if (chsm_rbac_role_guid(rid, g) == CHSM_OK && strcmp(g, guid) == 0) {
            chsm_arm_error(res, 409, "RoleDefinitionHasAssignments",
                           "There are existing role assignments referencing role '%s' (for "
                           "example %s): delete them first.",
                           guid, rows[i].id);
            goto out;
        }
    }
    rc = chsm_resources_delete(s, id);
    if (rc == CHSM_OK)
        rc = chsm_store_commit(s);
    else
        chsm_store_rollback(s);
    began = 0;
    if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
        goto out;
    }
    render_custom(r.body, si.sub[0] ? si.sub : NULL, guid);
    chsm_arm_json(res, 200, r.body);
    r.body = NULL;
out:
    if (began)
        chsm_store_rollback(s);
    chsm_resources_free(rows, n);
    chsm_resource_clear(&r);
    scope_clear(&si);
    free(id);
}

#define RA AUTHZ "/roleAssignments"
#define RD AUTHZ "/roleDefinitions"
#define V chsm_api_authorization

/* Each template twice: under a scope and at the root ("/"). */
static const chsm_route routes[] = {
    {"GET", "/{*scope}" RA, list_assignments, "roleAssignments/list", V, 0},
    {"GET", RA, list_assignments, "roleAssignments/list", V, 0},
    {"PUT", "/{*scope}" RA "/{roleAssignmentName}", put_assignment, "roleAssignments/write", V, 0},
    {"PUT", RA "/{roleAssignmentName}", put_assignment, "roleAssignments/write", V, 0},
    {"GET", "/{*scope}" RA "/{roleAssignmentName}", get_assignment, "roleAssignments/read", V, 0},
    {"GET", RA "/{roleAssignmentName}", get_assignment, "roleAssignments/read", V, 0},
    {"DELETE", "/{*scope}" RA "/{roleAssignmentName}", delete_assignment, "roleAssignments/delete",
     V, 0},
    {"DELETE", RA "/{roleAssignmentName}", delete_assignment, "roleAssignments/delete", V, 0},
    {"GET", "/{*scope}" RD, list_definitions, "roleDefinitions/list", V, 0},
    {"GET", RD, list_definitions, "roleDefinitions/list", V, 0},
    {"GET", "/{*scope}" RD "/{roleDefinitionId}", get_definition, "roleDefinitions/read", V, 0},
    {"GET", RD "/{roleDefinitionId}", get_definition, "roleDefinitions/read", V, 0},
    {"PUT", "/{*scope}" RD "/{roleDefinitionId}", put_definition, "roleDefinitions/write", V, 0},
    {"PUT", RD "/{roleDefinitionId}", put_definition, "roleDefinitions/write", V, 0},
    {"DELETE", "/{*scope}" RD "/{roleDefinitionId}", delete_definition, "roleDefinitions/delete", V,
     0},
    {"DELETE", RD "/{roleDefinitionId}", delete_definition, "roleDefinitions/delete", V, 0},
};

const chsm_provider chsm_provider_authorization = {"Microsoft.Authorization", routes,
                                                   CHSM_COUNT(routes), NULL};

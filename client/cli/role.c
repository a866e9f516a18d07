/* role.c - chsmctl role assign|list|delete: Azure RBAC role assignments. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static const ctl_column cols[] = {{"NAME", "name"},
                                  {"PRINCIPAL", "properties.principalId"},
                                  {"ROLE", "roleName"},
                                  {"SCOPE", "properties.scope"},
                                  {NULL, NULL}};

/* print shows assignments; the table names built-in roles instead of their ids. */
static void print(const ctl *c, cJSON *j)
{
    if (c->output == CTL_OUT_TABLE) {
        int n = cJSON_IsArray(j) ? cJSON_GetArraySize(j) : 1;
        for (int i = 0; i < n; i++) {
            cJSON *item = cJSON_IsArray(j) ? cJSON_GetArrayItem(j, i) : j;
            const char *id = cJSON_GetStringValue(ctl_jget(item, "properties.roleDefinitionId"));
            const char *name = chsmc_role_name(id);
            if (cJSON_IsObject(item) && !cJSON_GetObjectItem(item, "roleName"))
                cJSON_AddStringToObject(item, "roleName", name ? name : (id ? id : ""));
        }
    }
    ctl_print(c, j, cols);
}

/* scope_of resolves --scope / --storage-account / -g / the subscription into out. */
static int scope_of(ctl *c, const chsmc_opts *o, char *out, size_t n, chsmc_error *e)
{
    int rc = ctl_connect(c, e);
    if (rc != CHSMC_OK)
        return rc;
    const char *scope = chsmc_opts_get(o, "scope");
    const char *account = chsmc_opts_get(o, "storage-account");
    const char *rg = ctl_resource_group(o);
    if (scope) {
        if (scope[0] != '/')
            return chsmc_error_set(e, CHSMC_EUSAGE, "InvalidScope",
                                   "--scope must be a resource id starting with '/'");
        chsmc_copy(out, n, scope);
        size_t len = strlen(out);
        while (len > 1 && out[len - 1] == '/')
            out[--len] = '\0';
    } else if (account) {
        return ctl_rg_path(c, o, CHSMC_TYPE_STORAGE, account, out, n, e);
    } else if (rg) {
        snprintf(out, n, "/subscriptions/%s/resourceGroups/%s", c->ep.subscription, rg);
    } else {
        snprintf(out, n, "/subscriptions/%s", c->ep.subscription);
    }
    return CHSMC_OK;
}

/* principal_of resolves --assignee: a GUID as is, else an identity name in -g (its
 * principalId). */
static int principal_of(ctl *c, const chsmc_opts *o, const char *assignee, char *out, size_t n,
                        chsmc_error *e)
{
    if (chsmc_is_guid(assignee)) {
        chsmc_copy(out, n, assignee);
        return CHSMC_OK;
    }
    char path[700];
    int rc = ctl_rg_path(c, o, CHSMC_TYPE_MSI, assignee, path, sizeof path, e);
    cJSON *j = NULL;
    if (rc == CHSMC_OK)
        rc = chsmc_arm_call(c->client, "GET", path, CHSMC_API_MSI, NULL, NULL, &j, e);
    if (rc != CHSMC_OK)
        return rc;
    const char *p = cJSON_GetStringValue(ctl_jget(j, "properties.principalId"));
    if (!p) {
        cJSON_Delete(j);
        return chsmc_error_set(e, CHSMC_EHTTP, "NoPrincipalId",
                               "the identity '%s' has no principalId", assignee);
    }
    chsmc_copy(out, n, p);
    cJSON_Delete(j);
    return CHSMC_OK;
}

static const char assign_usage[] =
    "usage: chsmctl role assign --assignee PRINCIPAL|IDENTITY --role ROLE\n"
    "                           [--scope ID | --storage-account NAME -g RG | -g RG]\n"
    "                           [--name GUID] [--assignee-type ServicePrincipal] [--wait]\n"
    "Creates a role assignment. ROLE is a built-in name (\"Storage Blob Data Contributor\",\n"
    "\"Storage Blob Data Owner\", \"Storage Blob Data Reader\", Owner, Contributor, Reader)\n"
    "or a role definition GUID. --assignee is a principal id, or the name of a user-assigned\n"
    "identity in -g RG (its principalId is used).\n";

static int cmd_assign(ctl *c, int argc, char **argv)
{
    static const chsmc_opt_spec specs[] = {
        {"help", 'h', 0}, {"resource-group", 'g', 1}, {"assignee", 0, 1}, {"role", 0, 1},
        {"scope", 0, 1},  {"storage-account", 0, 1},  {"name", 0, 1},     {"assignee-type", 0, 1}};
    chsmc_opts o;
    int rc = ctl_parse(assign_usage, specs, CTL_N(specs), argc, argv, &o, 0, 0);
    if (rc)
        return ctl_done(rc);
    const char *assignee = chsmc_opts_get(&o, "assignee");
    const char *role = chsmc_opts_get(&o, "role");
    const char *name = chsmc_opts_get(&o, "name");
    const char *ptype = chsmc_opts_get(&o, "assignee-type");
    if (!assignee || !role)
        return ctl_usage_error("role assign needs --assignee and --role");
    const char *guid = chsmc_role_guid(role);
    if (!guid)
        return ctl_usage_error("unknown role '%s' (give a built-in role name or a GUID)", role);
    if (name && !chsmc_is_guid(name))
        return ctl_usage_error("--name must be a GUID");
    chsmc_error e;
    chsmc_error_clear(&e);
    char scope[700], principal[128], path[1000], rdef[300], uuid[37];
    rc = scope_of(c, &o, scope, sizeof scope, &e);
    if (rc == CHSMC_OK)
        rc = principal_of(c, &o, assignee, principal, sizeof principal, &e);
    if (rc != CHSMC_OK)
        return ctl_error("role assign", rc, &e);
    if (!name) {
        chsmc_uuid(uuid);
        name = uuid;
    }
    snprintf(path, sizeof path, "%s/" CHSMC_ROLE_ASSIGNMENTS "/%s", scope, name);
    if (guid[0] == '/')
        chsmc_copy(rdef, sizeof rdef, guid);
    else
        snprintf(rdef, sizeof rdef,
                 "/subscriptions/%s/providers/Microsoft.Authorization/roleDefinitions/%s",
                 c->ep.subscription, guid);
    cJSON *body = cJSON_CreateObject();
    cJSON *p = cJSON_AddObjectToObject(body, "properties");
    cJSON_AddStringToObject(p, "roleDefinitionId", rdef);
    cJSON_AddStringToObject(p, "principalId", principal);
    cJSON_AddStringToObject(p, "principalType", ptype ? ptype : "ServicePrincipal");
    cJSON *res = NULL;
    rc = ctl_arm(c, "PUT", path, CHSMC_API_AUTHORIZATION, body, chsmc_opts_has(&o, "wait"),
                 "role assign", &res, &e);
    cJSON_Delete(body);
    if (rc != CHSMC_OK)
        return ctl_error("role assign", rc, &e);
    print(c, res);
    cJSON_Delete(res);
    return CHSMC_OK;
}

static const char list_usage[] =
    "usage: chsmctl role list [--scope ID | --storage-account NAME -g RG | -g RG]\n"
    "                         [--assignee PRINCIPAL|IDENTITY]\n"
    "Lists the role assignments at a scope (and those inherited by it).\n";

static int cmd_list(ctl *c, int argc, char **argv)
{
    static const chsmc_opt_spec specs[] = {{"help", 'h', 0},
                                           {"resource-group", 'g', 1},
                                           {"assignee", 0, 1},
                                           {"scope", 0, 1},
                                           {"storage-account", 0, 1}};
    chsmc_opts o;
    int rc = ctl_parse(list_usage, specs, CTL_N(specs), argc, argv, &o, 0, 0);
    if (rc)
        return ctl_done(rc);
    chsmc_error e;
    chsmc_error_clear(&e);
    char scope[700], principal[128] = "", path[1000];
    const char *assignee = chsmc_opts_get(&o, "assignee");
    rc = scope_of(c, &o, scope, sizeof scope, &e);
    if (rc == CHSMC_OK && assignee)
        rc = principal_of(c, &o, assignee, principal, sizeof principal, &e);
    if (rc != CHSMC_OK)
        return ctl_error("role list", rc, &e);
    if (principal[0])
        snprintf(path, sizeof path,
                 "%s/" CHSMC_ROLE_ASSIGNMENTS "?%%24filter=principalId%%20eq%%20%%27%s%%27", scope,
                 principal);
    else
        snprintf(path, sizeof path, "%s/" CHSMC_ROLE_ASSIGNMENTS, scope);
    cJSON *items = NULL;
    rc = ctl_list(c, path, CHSMC_API_AUTHORIZATION, &items, &e);
    if (rc != CHSMC_OK)
        return ctl_error("role list", rc, &e);
    if (principal[0]) { /* keep only the assignee's, whatever the server's filter support */
        for (int i = cJSON_GetArraySize(items) - 1; i >= 0; i--) {
            const char *p = cJSON_GetStringValue(
                ctl_jget(cJSON_GetArrayItem(items, i), "properties.principalId"));
            if (!chsmc_streq_ci(p, principal))
                cJSON_DeleteItemFromArray(items, i);
        }
    }
    print(c, items);
    cJSON_Delete(items);
    return CHSMC_OK;
}

static const char delete_usage[] =
    "usage: chsmctl role delete NAME|ID [--scope ID | --storage-account NAME -g RG | -g RG]\n"
    "Deletes a role assignment by its GUID name at a scope, or by its full id.\n";

static int cmd_delete(ctl *c, int argc, char **argv)
{
    static const chsmc_opt_spec specs[] = {
        {"help", 'h', 0}, {"resource-group", 'g', 1}, {"scope", 0, 1}, {"storage-account", 0, 1}};
    chsmc_opts o;
    int rc = ctl_parse(delete_usage, specs, CTL_N(specs), argc, argv, &o, 1, 1);
    if (rc)
        return ctl_done(rc);
    chsmc_error e;
    chsmc_error_clear(&e);
    const char *arg = o.positionals[0];
    char scope[700], path[1000];
    if (arg[0] == '/') {
        rc = ctl_connect(c, &e);
        chsmc_copy(path, sizeof path, arg);
    } else if (!chsmc_is_guid(arg)) {
        return ctl_usage_error("a role assignment name is a GUID");
    } else {
        rc = scope_of(c, &o, scope, sizeof scope, &e);
        snprintf(path, sizeof path, "%s/" CHSMC_ROLE_ASSIGNMENTS "/%s", scope, arg);
    }
    cJSON *res = NULL;
    if (rc == CHSMC_OK)
        rc = ctl_arm(c, "DELETE", path, CHSMC_API_AUTHORIZATION, NULL, 0, "", &res, &e);
    if (rc != CHSMC_OK)
        return ctl_error("role delete", rc, &e);
    print(c, res);
    cJSON_Delete(res);
    return CHSMC_OK;
}

int ctl_cmd_role(ctl *c, int argc, char **argv)
{
    static const ctl_command cmds[] = {
        {"assign", cmd_assign, "assign a role to a principal at a scope"},
        {"list", cmd_list, "list role assignments"},
        {"delete", cmd_delete, "delete a role assignment"},
        {NULL, NULL, NULL}};
    return ctl_group_run(c, "role", "Role assignments (Microsoft.Authorization).", cmds, argc,
                         argv);
}

/* mhsm.c - chsmctl mhsm: Managed HSMs (Microsoft.KeyVault/managedHSMs), their
 * local RBAC (role assign|list|delete) and keys (key create|show|list|backup|
 * restore), on the emulator's data plane {armUrl}/mhsm/{name} (docs/managed-hsm.md).
 *
 * The data plane is called with chsmctl's bearer token, whose object id is its
 * client id (CHSM_CLIENT_ID, default "chsmctl"): that principal needs the local
 * roles the operation asks for, as an az user does. */
#include "cli.h"
#include "cli_backup.h"

#include <stdlib.h>
#include <string.h>

#define TYPE_MHSM "Microsoft.KeyVault/managedHSMs"
#define API_KEYVAULT "2023-07-01"
#define API_MHSM_DATA "7.4"
#define ROLE_DEF_PREFIX "Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/"

static const ctl_column hsm_cols[] = {{"NAME", "name"},
                                      {"LOCATION", "location"},
                                      {"STATE", "properties.provisioningState"},
                                      {"URI", "properties.hsmUri"},
                                      {NULL, NULL}};
static const ctl_column ra_cols[] = {{"NAME", "name"},
                                     {"PRINCIPAL", "properties.principalId"},
                                     {"ROLE", "roleName"},
                                     {"SCOPE", "properties.scope"},
                                     {NULL, NULL}};
static const ctl_column key_cols[] = {{"KID", "key.kid"},
                                      {"KTY", "key.kty"},
                                      {"ENABLED", "attributes.enabled"},
                                      {"EXPORTABLE", "attributes.exportable"},
                                      {NULL, NULL}};
static const ctl_column key_item_cols[] = {
    {"KID", "kid"}, {"ENABLED", "attributes.enabled"}, {NULL, NULL}};

/* The built-in local roles (docs/managed-hsm.md), by name and id. */
static const struct {
    const char *name;
    const char *guid;
} builtin_roles[] = {
    {"Managed HSM Administrator", "a290e904-7015-4bba-90c8-60543313cdb4"},
    {"Managed HSM Crypto Officer", "515eb02d-2335-4d2d-92f2-b1cbdf9c3778"},
    {"Managed HSM Crypto User", CTL_MHSM_ROLE_CRYPTO_USER},
    {"Managed HSM Policy Administrator", "4bd23610-cdcf-4971-bdee-bdc562cc28e4"},
    {"Managed HSM Crypto Auditor", "2c18b078-7c48-4d3a-af88-5a3a1b3f82b3"},
    {"Managed HSM Crypto Service Encryption User", "33413926-3206-4cdd-b39a-83574fe37a17"},
    {"Managed HSM Crypto Service Release User", "21dbd100-6940-42c2-9190-5d6cb909625c"},
    {"Managed HSM Backup", "7b127d3c-77bd-4e3e-bbe0-dbb8971fa7f8"},
    {"Managed HSM Restore", "6efe6056-5259-49d2-8b3d-d3d73544b20b"},
};

const char *ctl_mhsm_role_guid(const char *name_or_id)
{
    if (!name_or_id)
        return NULL;
    for (size_t i = 0; i < CTL_N(builtin_roles); i++) {
        const char *n = builtin_roles[i].name;
        /* "Managed HSM Crypto User" or just "Crypto User"; the service calls
         * Backup/Restore "Managed HSM Backup User"/"... Restore User". */
        if (chsmc_streq_ci(name_or_id, n) || chsmc_streq_ci(name_or_id, n + strlen("Managed HSM ")))
            return builtin_roles[i].guid;
    }
    if (chsmc_streq_ci(name_or_id, "Managed HSM Backup User"))
        return "7b127d3c-77bd-4e3e-bbe0-dbb8971fa7f8";
    if (chsmc_streq_ci(name_or_id, "Managed HSM Restore User"))
        return "6efe6056-5259-49d2-8b3d-d3d73544b20b";
    const char *slash = strrchr(name_or_id, '/');
    const char *g = slash ? slash + 1 : name_or_id;
    return chsmc_is_guid(g) ? g : NULL;
}

/* role_name_of returns the built-in name of a role definition id, or NULL. */
static const char *role_name_of(const char *id)
{
    const char *slash = id ? strrchr(id, '/') : NULL;
    const char *g = slash ? slash + 1 : id;
    for (size_t i = 0; g && i < CTL_N(builtin_roles); i++)
        if (chsmc_streq_ci(g, builtin_roles[i].guid))
            return builtin_roles[i].name;
    return NULL;
}

int ctl_mhsm_scope(const char *raw, char *out, size_t n)
{
    char buf[300];
    size_t k = 0;
    /* collapse slashes, ensure one leading '/', drop a trailing one */
    buf[k++] = '/';
    for (const char *p = raw ? raw : ""; *p && k + 1 < sizeof buf; p++)
        if (*p != '/' || buf[k - 1] != '/')
            buf[k++] = *p;
    if (k > 1 && buf[k - 1] == '/')
        k--;
    buf[k] = '\0';
    if (strcmp(buf, "/") == 0 || chsmc_streq_ci(buf, "/keys")) {
        chsmc_copy(out, n, buf);
        return CHSMC_OK;
    }
    if (strncmp(buf, "/keys/", 6) == 0 && chsmc_valid_name(buf + 6, 127, "-")) {
        chsmc_copy(out, n, buf);
        return CHSMC_OK;
    }
    return CHSMC_EUSAGE;
}

int ctl_mhsm_url(ctl *c, const char *hsm, const char *suffix, char *out, size_t n, chsmc_error *e)
{
    int rc = ctl_connect(c, e);
    if (rc != CHSMC_OK)
        return rc;
    if (!hsm || !chsmc_valid_name(hsm, 24, "-"))
        return chsmc_error_set(e, CHSMC_EUSAGE, "InvalidName",
                               "'%s' is not a valid Managed HSM name", hsm ? hsm : "");
    if ((size_t)snprintf(out, n, "%s/mhsm/%s%s", c->ep.arm_url, hsm, suffix) >= n)
        return chsmc_error_set(e, CHSMC_EUSAGE, "InvalidName", "the names are too long");
    return CHSMC_OK;
}

int ctl_mhsm_assign(ctl *c, const char *hsm, const char *scope, const char *role_guid,
                    const char *principal, const char *name, cJSON **out, chsmc_error *e)
{
    char uuid[37], suffix[600], url[1200];
    if (!name) {
        chsmc_uuid(uuid);
        name = uuid;
    }
    snprintf(suffix, sizeof suffix, "%s/providers/Microsoft.Authorization/roleAssignments/%s",
             strcmp(scope, "/") == 0 ? "" : scope, name);
    int rc = ctl_mhsm_url(c, hsm, suffix, url, sizeof url, e);
    if (rc != CHSMC_OK)
        return rc;
    char rdef[200];
    snprintf(rdef, sizeof rdef, ROLE_DEF_PREFIX "%s", role_guid);
    cJSON *body = cJSON_CreateObject();
    cJSON *p = cJSON_AddObjectToObject(body, "properties");
    cJSON_AddStringToObject(p, "roleDefinitionId", rdef);
    cJSON_AddStringToObject(p, "principalId", principal);
    rc = chsmc_arm_call(c->client, "PUT", url, API_MHSM_DATA, body, NULL, out, e);
    cJSON_Delete(body);
    return rc;
}

int ctl_mhsm_list_assignments(ctl *c, const char *hsm, const char *scope, cJSON **items,
                              chsmc_error *e)
{
    char suffix[400], url[1000];
    snprintf(suffix, sizeof suffix, "%s/providers/Microsoft.Authorization/roleAssignments",
             strcmp(scope, "/") == 0 ? "" : scope);
    int rc = ctl_mhsm_url(c, hsm, suffix, url, sizeof url, e);
    if (rc != CHSMC_OK)
        return rc;
    return ctl_list(c, url, API_MHSM_DATA, items, e);
}

/* print_assignments names built-in roles in the table. */
static void print_assignments(const ctl *c, cJSON *j)
{
    if (c->output == CTL_OUT_TABLE) {
        int n = cJSON_IsArray(j) ? cJSON_GetArraySize(j) : 1;
        for (int i = 0; i < n; i++) {
            cJSON *item = cJSON_IsArray(j) ? cJSON_GetArrayItem(j, i) : j;
            const char *id = cJSON_GetStringValue(ctl_jget(item, "properties.roleDefinitionId"));
            const char *name = role_name_of(id);
            if (cJSON_IsObject(item) && !cJSON_GetObjectItem(item, "roleName"))
                cJSON_AddStringToObject(item, "roleName", name ? name : (id ? id : ""));
        }
    }
    ctl_print(c, j, ra_cols);
}

/* ---- the ARM resource ---- */

static const char create_usage[] =
    "usage: chsmctl mhsm create NAME -g RG --administrator OBJECTID[,OBJECTID...]\n"
    "                           [--location LOC] [--retention-days 7-90]\n"
    "                           [--purge-protection] [--wait]\n"
    "Creates a Managed HSM (PUT Microsoft.KeyVault/managedHSMs, 2023-07-01, sku Standard_B1).\n"
    "The administrators get Managed HSM Administrator at '/'. Without --administrator the\n"
    "client id is used when it is a GUID (set CHSM_CLIENT_ID to act as that principal).\n"
    "Answers 201 while provisioning; --wait follows the operation.\n";

static int cmd_create(ctl *c, int argc, char **argv)
{
    static const chsmc_opt_spec specs[] = {
        {"help", 'h', 0},        {"resource-group", 'g', 1}, {"location", 'l', 1},
        {"administrator", 0, 1}, {"retention-days", 0, 1},   {"purge-protection", 0, 0},
        {"wait", 0, 0}};
    chsmc_opts o;
    int rc = ctl_parse(create_usage, specs, CTL_N(specs), argc, argv, &o, 1, 1);
    if (rc)
        return ctl_done(rc);
    chsmc_error e;
    chsmc_error_clear(&e);
    char path[700];
    rc = ctl_rg_path(c, &o, TYPE_MHSM, o.positionals[0], path, sizeof path, &e);
    if (rc != CHSMC_OK)
        return ctl_error("mhsm create", rc, &e);
    const char *admins = chsmc_opts_get(&o, "administrator");
    if (!admins && chsmc_is_guid(c->ep.client_id))
        admins = c->ep.client_id;
    if (!admins)
        return ctl_usage_error("mhsm create needs --administrator OBJECTID (the client id '%s' "
                               "is not an object id)",
                               c->ep.client_id);
    const char *days = chsmc_opts_get(&o, "retention-days");
    long long d = 90;
    if (days && chsmc_parse_int(days, 7, 90, &d) != CHSMC_OK)
        return ctl_usage_error("--retention-days must be 7-90");
    cJSON *body = cJSON_CreateObject();
    const char *loc = chsmc_opts_get(&o, "location");
    cJSON_AddStringToObject(body, "location", loc ? loc : CTL_DEFAULT_LOCATION);
    cJSON *sku = cJSON_AddObjectToObject(body, "sku");
    cJSON_AddStringToObject(sku, "family", "B");
    cJSON_AddStringToObject(sku, "name", "Standard_B1");
    cJSON *p = cJSON_AddObjectToObject(body, "properties");
    cJSON_AddStringToObject(p, "tenantId", c->ep.tenant);
    cJSON *list = cJSON_AddArrayToObject(p, "initialAdminObjectIds");
    char buf[1024];
    chsmc_copy(buf, sizeof buf, admins);
    for (char *save = NULL, *a = strtok_r(buf, ",", &save); a; a = strtok_r(NULL, ",", &save)) {
        if (!chsmc_is_guid(a)) {
            cJSON_Delete(body);
            return ctl_usage_error("--administrator wants object ids (GUIDs), not '%s'", a);
        }
        cJSON_AddItemToArray(list, cJSON_CreateString(a));
    }
    cJSON_AddNumberToObject(p, "softDeleteRetentionInDays", (double)d);
    cJSON_AddBoolToObject(p, "enablePurgeProtection", chsmc_opts_has(&o, "purge-protection"));
    cJSON *res = NULL;
    rc = ctl_arm(c, "PUT", path, API_KEYVAULT, body, chsmc_opts_has(&o, "wait"), "mhsm create",
                 &res, &e);
    cJSON_Delete(body);
    if (rc != CHSMC_OK)
        return ctl_error("mhsm create", rc, &e);
    ctl_print(c, res, hsm_cols);
    cJSON_Delete(res);
    return CHSMC_OK;
}

static int cmd_show(ctl *c, int argc, char **argv)
{
    static const char usage[] = "usage: chsmctl mhsm show NAME -g RG\n";
    return ctl_simple(c, "mhsm show", usage, "GET", TYPE_MHSM, API_KEYVAULT, hsm_cols, argc, argv);
}

static int cmd_delete(ctl *c, int argc, char **argv)
{
    static const char usage[] = "usage: chsmctl mhsm delete NAME -g RG [--wait]\n"
                                "Deletes a Managed HSM with its keys and role assignments.\n";
    return ctl_simple(c, "mhsm delete", usage, "DELETE", TYPE_MHSM, API_KEYVAULT, hsm_cols, argc,
                      argv);
}

static int cmd_list(ctl *c, int argc, char **argv)
{
    static const char usage[] = "usage: chsmctl mhsm list [-g RG]\n";
    static const chsmc_opt_spec specs[] = {{"help", 'h', 0}, {"resource-group", 'g', 1}};
    chsmc_opts o;
    int rc = ctl_parse(usage, specs, CTL_N(specs), argc, argv, &o, 0, 0);
    if (rc)
        return ctl_done(rc);
    chsmc_error e;
    chsmc_error_clear(&e);
    char path[700];
    if (ctl_resource_group(&o)) {
        rc = ctl_rg_path(c, &o, TYPE_MHSM, NULL, path, sizeof path, &e);
    } else {
        rc = ctl_connect(c, &e);
        snprintf(path, sizeof path, "/subscriptions/%s/providers/" TYPE_MHSM, c->ep.subscription);
    }
    cJSON *items = NULL;
    if (rc == CHSMC_OK)
        rc = ctl_list(c, path, API_KEYVAULT, &items, &e);
    if (rc != CHSMC_OK)
        return ctl_error("mhsm list", rc, &e);
    ctl_print(c, items, hsm_cols);
    cJSON_Delete(items);
    return CHSMC_OK;
}

/* ---- local RBAC ---- */

/* hsm_and_scope reads --hsm-name and --scope (default "/"). */
static int hsm_and_scope(const chsmc_opts *o, const char **hsm, char *scope, size_t n)
{
    *hsm = chsmc_opts_get(o, "hsm-name");
    if (!*hsm)
        return ctl_usage_error("name the Managed HSM with --hsm-name");
    const char *s = chsmc_opts_get(o, "scope");
    if (ctl_mhsm_scope(s ? s : "/", scope, n) != CHSMC_OK)
        return ctl_usage_error("--scope must be /, /keys or /keys/KEYNAME, not '%s'", s);
    return CHSMC_OK;
}

static const char assign_usage[] =
    "usage: chsmctl mhsm role assign --hsm-name HSM --role ROLE --assignee OBJECTID\n"
    "                                [--scope /|/keys|/keys/KEY] [--name GUID]\n"
    "Assigns a local role of the Managed HSM (PUT {hsm}/{scope}/providers/\n"
    "Microsoft.Authorization/roleAssignments/{guid}, api-version 7.4). ROLE is a built-in\n"
    "name (\"Managed HSM Crypto User\" or \"Crypto User\", Administrator, Crypto Officer,\n"
    "Policy Administrator, Crypto Auditor, Crypto Service Encryption User, Crypto Service\n"
    "Release User, Backup, Restore) or a role definition GUID/id (custom roles).\n"
    "--assignee backup-management-service names the Backup Management Service (object "
    "id\n" CTL_BMS_OBJECT_ID ").\nThe default scope is '/'.\n";

static int cmd_role_assign(ctl *c, int argc, char **argv)
{
    static const chsmc_opt_spec specs[] = {{"help", 'h', 0},   {"hsm-name", 0, 1}, {"role", 0, 1},
                                           {"assignee", 0, 1}, {"scope", 0, 1},    {"name", 0, 1}};
    chsmc_opts o;
    int rc = ctl_parse(assign_usage, specs, CTL_N(specs), argc, argv, &o, 0, 0);
    if (rc)
        return ctl_done(rc);
    const char *hsm, *role = chsmc_opts_get(&o, "role");
    const char *assignee = chsmc_opts_get(&o, "assignee");
    const char *name = chsmc_opts_get(&o, "name");
    char scope[300];
    if (hsm_and_scope(&o, &hsm, scope, sizeof scope) != CHSMC_OK)
        return CHSMC_EUSAGE;
    if (!role || !assignee)
        return ctl_usage_error("mhsm role assign needs --role and --assignee");
    const char *guid = ctl_mhsm_role_guid(role);
    if (!guid)
        return ctl_usage_error("unknown role '%s' (give a built-in name or a GUID)", role);
    if (name && !chsmc_is_guid(name))
        return ctl_usage_error("--name must be a GUID");
    if (chsmc_streq_ci(assignee, "backup-management-service"))
        assignee = CTL_BMS_OBJECT_ID;
    chsmc_error e;
    chsmc_error_clear(&e);
    cJSON *res = NULL;
    rc = ctl_mhsm_assign(c, hsm, scope, guid, assignee, name, &res, &e);
    if (rc != CHSMC_OK)
        return ctl_error("mhsm role assign", rc, &e);
    print_assignments(c, res);
    cJSON_Delete(res);
    return CHSMC_OK;
}

static const char rlist_usage[] =
    "usage: chsmctl mhsm role list --hsm-name HSM [--scope /|/keys|/keys/KEY]\n"
    "                              [--assignee OBJECTID]\n"
    "Lists the role assignments that apply at a scope (at it or above it).\n";

static int cmd_role_list(ctl *c, int argc, char **argv)
{
    static const chsmc_opt_spec specs[] = {
        {"help", 'h', 0}, {"hsm-name", 0, 1}, {"scope", 0, 1}, {"assignee", 0, 1}};
    chsmc_opts o;
    int rc = ctl_parse(rlist_usage, specs, CTL_N(specs), argc, argv, &o, 0, 0);
    if (rc)
        return ctl_done(rc);
    const char *hsm, *assignee = chsmc_opts_get(&o, "assignee");
    char scope[300];
    if (hsm_and_scope(&o, &hsm, scope, sizeof scope) != CHSMC_OK)
        return CHSMC_EUSAGE;
    if (assignee && chsmc_streq_ci(assignee, "backup-management-service"))
        assignee = CTL_BMS_OBJECT_ID;
    chsmc_error e;
    chsmc_error_clear(&e);
    cJSON *items = NULL;
    rc = ctl_mhsm_list_assignments(c, hsm, scope, &items, &e);
    if (rc != CHSMC_OK)
        return ctl_error("mhsm role list", rc, &e);
    for (int i = cJSON_GetArraySize(items) - 1; assignee && i >= 0; i--) {
        const char *p =
            cJSON_GetStringValue(ctl_jget(cJSON_GetArrayItem(items, i), "properties.principalId"));
        if (!chsmc_streq_ci(p, assignee))
            cJSON_DeleteItemFromArray(items, i);
    }
    print_assignments(c, items);
    cJSON_Delete(items);
    return CHSMC_OK;
}

static const char rdelete_usage[] =
    "usage: chsmctl mhsm role delete NAME --hsm-name HSM [--scope /|/keys|/keys/KEY]\n"
    "Deletes a role assignment (its GUID name) at a scope.\n";

static int cmd_role_delete(ctl *c, int argc, char **argv)
{
    static const chsmc_opt_spec specs[] = {{"help", 'h', 0}, {"hsm-name", 0, 1}, {"scope", 0, 1}};
    chsmc_opts o;
    int rc = ctl_parse(rdelete_usage, specs, CTL_N(specs), argc, argv, &o, 1, 1);
    if (rc)
        return ctl_done(rc);
    const char *hsm;
    char scope[300], suffix[600], url[1200];
    if (hsm_and_scope(&o, &hsm, scope, sizeof scope) != CHSMC_OK)
        return CHSMC_EUSAGE;
    if (!chsmc_is_guid(o.positionals[0]))
        return ctl_usage_error("a role assignment name is a GUID");
    snprintf(suffix, sizeof suffix, "%s/providers/Microsoft.Authorization/roleAssignments/%s",
             strcmp(scope, "/") == 0 ? "" : scope, o.positionals[0]);
    chsmc_error e;
    chsmc_error_clear(&e);
    cJSON *res = NULL;
    rc = ctl_mhsm_url(c, hsm, suffix, url, sizeof url, &e);
    if (rc == CHSMC_OK)
        rc = chsmc_arm_call(c->client, "DELETE", url, API_MHSM_DATA, NULL, NULL, &res, &e);
    if (rc != CHSMC_OK)
        return ctl_error("mhsm role delete", rc, &e);
    print_assignments(c, res);
    cJSON_Delete(res);
    return CHSMC_OK;
}

static int cmd_role(ctl *c, int argc, char **argv)
{
    static const ctl_command cmds[] = {
        {"assign", cmd_role_assign, "assign a local role at /, /keys or /keys/KEY"},
        {"list", cmd_role_list, "list role assignments that apply at a scope"},
        {"delete", cmd_role_delete, "delete a role assignment"},
        {NULL, NULL, NULL}};
    return ctl_group_run(c, "mhsm role", "Managed HSM local role assignments.", cmds, argc, argv);
}

/* ---- keys ---- */

/* key_call sends method to {hsm}/keys{suffix} and prints the answer with cols. */
static int key_call(ctl *c, const char *what, const char *hsm, const char *method,
                    const char *suffix, const cJSON *body, const ctl_column *cols, cJSON **keep)
{
    chsmc_error e;
    chsmc_error_clear(&e);
    char url[1200];
    cJSON *res = NULL;
    int rc = ctl_mhsm_url(c, hsm, suffix, url, sizeof url, &e);
    if (rc == CHSMC_OK)
        rc = chsmc_arm_call(c->client, method, url, API_MHSM_DATA, body, NULL, &res, &e);
    if (rc != CHSMC_OK)
        return ctl_error(what, rc, &e);
    if (keep) {
        *keep = res;
        return CHSMC_OK;
    }
    ctl_print(c, res, cols);
    cJSON_Delete(res);
    return CHSMC_OK;
}

/* A release policy that lets a confidential VM release the key (the CVM quick-create's). */
#define CVM_RELEASE_POLICY                                                                         \
    "eyJ2ZXJzaW9uIjoiMS4wLjAiLCJhbnlPZiI6W3siYXV0aG9yaXR5IjoiaHR0cHM6Ly9zaGFyZWRldXMuZXVzLmF0dGV"  \
    "zdC5henVyZS5uZXQiLCJhbGxPZiI6W3siY2xhaW0iOiJ4LW1zLWlzb2xhdGlvbi10ZWUueC1tcy1hdHRlc3RhdGlvbi1" \
    "0eXBlIiwiZXF1YWxzIjoic2V2c25wdm0ifV19XX0"

static const char kcreate_usage[] =
    "usage: chsmctl mhsm key create NAME --hsm-name HSM [--kty RSA-HSM|EC-HSM|oct-HSM]\n"
    "                               [--size BITS] [--curve P-256|P-384] [--ops op,op...]\n"
    "                               [--exportable]\n"
    "Creates a key (POST {hsm}/keys/{name}/create). --exportable adds the confidential VM\n"
    "release policy, as a CVM customer-managed key needs (RSA-HSM 3072 is what the CVM\n"
    "quick start uses). Needs keys/create on /keys/NAME.\n";

static int cmd_key_create(ctl *c, int argc, char **argv)
{
    static const chsmc_opt_spec specs[] = {{"help", 'h', 0},    {"hsm-name", 0, 1}, {"kty", 0, 1},
                                           {"size", 0, 1},      {"curve", 0, 1},    {"ops", 0, 1},
                                           {"exportable", 0, 0}};
    chsmc_opts o;
    int rc = ctl_parse(kcreate_usage, specs, CTL_N(specs), argc, argv, &o, 1, 1);
    if (rc)
        return ctl_done(rc);
    const char *hsm = chsmc_opts_get(&o, "hsm-name");
    if (!hsm)
        return ctl_usage_error("name the Managed HSM with --hsm-name");
    const char *name = o.positionals[0];
    if (!chsmc_valid_name(name, 127, "-"))
        return ctl_usage_error("a key name is 1-127 letters, digits and '-'");
    const char *kty = chsmc_opts_get(&o, "kty");
    const char *size = chsmc_opts_get(&o, "size");
    const char *curve = chsmc_opts_get(&o, "curve");
    const char *ops = chsmc_opts_get(&o, "ops");
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "kty", kty ? kty : "RSA-HSM");
    if (size) {
        long long bits;
        if (chsmc_parse_int(size, 1, 8192, &bits) != CHSMC_OK) {
            cJSON_Delete(body);
            return ctl_usage_error("--size must be a number of bits");
        }
        cJSON_AddNumberToObject(body, "key_size", (double)bits);
    }
    if (curve)
        cJSON_AddStringToObject(body, "crv", curve);
    if (ops) {
        cJSON *a = cJSON_AddArrayToObject(body, "key_ops");
        char buf[256];
        chsmc_copy(buf, sizeof buf, ops);
        for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
            cJSON_AddItemToArray(a, cJSON_CreateString(t));
    }
    cJSON *attrs = cJSON_AddObjectToObject(body, "attributes");
    cJSON_AddBoolToObject(attrs, "enabled", 1);
    if (chsmc_opts_has(&o, "exportable")) {
        cJSON_AddBoolToObject(attrs, "exportable", 1);
        cJSON *rp = cJSON_AddObjectToObject(body, "release_policy");
        cJSON_AddStringToObject(rp, "contentType", "application/json; charset=utf-8");
        cJSON_AddStringToObject(rp, "data", CVM_RELEASE_POLICY);
        cJSON_AddBoolToObject(rp, "immutable", 0);
    }
    char suffix[300];
    snprintf(suffix, sizeof suffix, "/keys/%s/create", name);
    rc = key_call(c, "mhsm key create", hsm, "POST", suffix, body, key_cols, NULL);
    cJSON_Delete(body);
    return rc;
}

static const char kshow_usage[] =
    "usage: chsmctl mhsm key show NAME --hsm-name HSM [--version V]\n";

static int cmd_key_show(ctl *c, int argc, char **argv)
{
    static const chsmc_opt_spec specs[] = {{"help", 'h', 0}, {"hsm-name", 0, 1}, {"version", 0, 1}};
    chsmc_opts o;
    int rc = ctl_parse(kshow_usage, specs, CTL_N(specs), argc, argv, &o, 1, 1);
    if (rc)
        return ctl_done(rc);
    const char *hsm = chsmc_opts_get(&o, "hsm-name");
    const char *version = chsmc_opts_get(&o, "version");
    if (!hsm)
        return ctl_usage_error("name the Managed HSM with --hsm-name");
    if (!chsmc_valid_name(o.positionals[0], 127, "-") ||
        (version && !chsmc_valid_name(version, 64, "")))
        return ctl_usage_error("invalid key name or version");
    char suffix[300];
    snprintf(suffix, sizeof suffix, "/keys/%s%s%s", o.positionals[0], version ? "/" : "",
             version ? version : "");
    return key_call(c, "mhsm key show", hsm, "GET", suffix, NULL, key_cols, NULL);
}

static const char klist_usage[] = "usage: chsmctl mhsm key list --hsm-name HSM\n";

static int cmd_key_list(ctl *c, int argc, char **argv)
{
    static const chsmc_opt_spec specs[] = {{"help", 'h', 0}, {"hsm-name", 0, 1}};
    chsmc_opts o;
    int rc = ctl_parse(klist_usage, specs, CTL_N(specs), argc, argv, &o, 0, 0);
    if (rc)
        return ctl_done(rc);
    const char *hsm = chsmc_opts_get(&o, "hsm-name");
    if (!hsm)
        return ctl_usage_error("name the Managed HSM with --hsm-name");
    chsmc_error e;
    chsmc_error_clear(&e);
    char url[1000];
    cJSON *items = NULL;
    rc = ctl_mhsm_url(c, hsm, "/keys", url, sizeof url, &e);
    if (rc == CHSMC_OK)
        rc = ctl_list(c, url, API_MHSM_DATA, &items, &e);
    if (rc != CHSMC_OK)
        return ctl_error("mhsm key list", rc, &e);
    ctl_print(c, items, key_item_cols);
    cJSON_Delete(items);
    return CHSMC_OK;
}

static const char kbackup_usage[] =
    "usage: chsmctl mhsm key backup NAME --hsm-name HSM --file FILE\n"
    "Writes the key's opaque backup blob (POST {hsm}/keys/{name}/backup) to FILE.\n";

static int cmd_key_backup(ctl *c, int argc, char **argv)
{
    static const chsmc_opt_spec specs[] = {{"help", 'h', 0}, {"hsm-name", 0, 1}, {"file", 'f', 1}};
    chsmc_opts o;
    int rc = ctl_parse(kbackup_usage, specs, CTL_N(specs), argc, argv, &o, 1, 1);
    if (rc)
        return ctl_done(rc);
    const char *hsm = chsmc_opts_get(&o, "hsm-name");
    const char *file = chsmc_opts_get(&o, "file");
    if (!hsm || !file)
        return ctl_usage_error("mhsm key backup needs --hsm-name and --file");
    if (!chsmc_valid_name(o.positionals[0], 127, "-"))
        return ctl_usage_error("invalid key name");
    char suffix[300];
    snprintf(suffix, sizeof suffix, "/keys/%s/backup", o.positionals[0]);
    cJSON *res = NULL;
    rc = key_call(c, "mhsm key backup", hsm, "POST", suffix, NULL, NULL, &res);
    if (rc != CHSMC_OK)
        return rc;
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(res, "value"));
    rc = v ? chsmc_write_file(file, v, strlen(v), 0) : CHSMC_EHTTP;
    cJSON_Delete(res);
    if (rc != CHSMC_OK) {
        fprintf(stderr, "chsmctl: mhsm key backup: cannot write '%s'\n", file);
        return rc;
    }
    fprintf(stderr, "wrote the backup of key %s to %s\n", o.positionals[0], file);
    return CHSMC_OK;
}

static const char krestore_usage[] =
    "usage: chsmctl mhsm key restore --hsm-name HSM --file FILE\n"
    "Restores a key backup blob (POST {hsm}/keys/restore) into any Managed HSM of the emulator.\n";

static int cmd_key_restore(ctl *c, int argc, char **argv)
{
    static const chsmc_opt_spec specs[] = {{"help", 'h', 0}, {"hsm-name", 0, 1}, {"file", 'f', 1}};
    chsmc_opts o;
    int rc = ctl_parse(krestore_usage, specs, CTL_N(specs), argc, argv, &o, 0, 0);
    if (rc)
        return ctl_done(rc);
    const char *hsm = chsmc_opts_get(&o, "hsm-name");
    const char *file = chsmc_opts_get(&o, "file");
    if (!hsm || !file)
        return ctl_usage_error("mhsm key restore needs --hsm-name and --file");
    size_t len = 0;
    char *blob = chsmc_read_file(file, &len);
    if (!blob) {
        fprintf(stderr, "chsmctl: mhsm key restore: cannot read '%s'\n", file);
        return CHSMC_EIO;
    }
    while (len > 0 && (blob[len - 1] == '\n' || blob[len - 1] == '\r' || blob[len - 1] == ' '))
        blob[--len] = '\0';
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "value", blob);
    free(blob);
    rc = key_call(c, "mhsm key restore", hsm, "POST", "/keys/restore", body, key_cols, NULL);
    cJSON_Delete(body);
    return rc;
}

static int cmd_key(ctl *c, int argc, char **argv)
{
    static const ctl_command cmds[] = {{"create", cmd_key_create, "create a key"},
                                       {"show", cmd_key_show, "show a key (current or a version)"},
                                       {"list", cmd_key_list, "list keys"},
                                       {"backup", cmd_key_backup, "write a key's backup blob"},
                                       {"restore", cmd_key_restore, "restore a key backup blob"},
                                       {NULL, NULL, NULL}};
    return ctl_group_run(c, "mhsm key", "Managed HSM keys.", cmds, argc, argv);
}

int ctl_cmd_mhsm(ctl *c, int argc, char **argv)
{
    static const ctl_command cmds[] = {
        {"create", cmd_create, "create a Managed HSM"},
        {"show", cmd_show, "show a Managed HSM"},
        {"list", cmd_list, "list Managed HSMs"},
        {"delete", cmd_delete, "delete a Managed HSM"},
        {"role", cmd_role, "local RBAC: role assign|list|delete"},
        {"key", cmd_key, "keys: key create|show|list|backup|restore"},
        {NULL, NULL, NULL}};
    return ctl_group_run(c, "mhsm", "Managed HSMs (Microsoft.KeyVault/managedHSMs).", cmds, argc,
                         argv);
}

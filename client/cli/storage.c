/* storage.c - chsmctl storage create|show|keys and container create|show|delete. */
#include "cli.h"

#include <string.h>

static const ctl_column cols[] = {{"NAME", "name"},
                                  {"LOCATION", "location"},
                                  {"STATE", "properties.provisioningState"},
                                  {"SHARED KEY", "properties.allowSharedKeyAccess"},
                                  {"BLOB ENDPOINT", "properties.primaryEndpoints.blob"},
                                  {NULL, NULL}};

static const char create_usage[] =
    "usage: chsmctl storage create NAME -g RG [--location LOC] [--sku Standard_LRS]\n"
    "                              [--allow-shared-key-access true|false] [--wait]\n"
    "Creates a StorageV2 account (3-24 lowercase letters and digits). The tutorial disables\n"
    "shared key access; Cloud HSM backups use the cluster's managed identity instead.\n";

static int cmd_create(ctl *c, int argc, char **argv)
{
    static const chsmc_opt_spec specs[] = {
        {"help", 'h', 0}, {"resource-group", 'g', 1},        {"location", 'l', 1},
        {"sku", 0, 1},    {"allow-shared-key-access", 0, 1}, {"wait", 0, 0}};
    chsmc_opts o;
    int rc = ctl_parse(create_usage, specs, CTL_N(specs), argc, argv, &o, 1, 1);
    if (rc)
        return ctl_done(rc);
    const char *name = o.positionals[0];
    const char *sk = chsmc_opts_get(&o, "allow-shared-key-access");
    if (sk && strcmp(sk, "true") != 0 && strcmp(sk, "false") != 0)
        return ctl_usage_error("--allow-shared-key-access must be true or false");
    chsmc_error e;
    chsmc_error_clear(&e);
    char path[700];
    rc = ctl_rg_path(c, &o, CHSMC_TYPE_STORAGE, name, path, sizeof path, &e);
    if (rc != CHSMC_OK)
        return ctl_error("storage create", rc, &e);
    const char *loc = chsmc_opts_get(&o, "location");
    const char *sku = chsmc_opts_get(&o, "sku");
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "location", loc ? loc : CTL_DEFAULT_LOCATION);
    cJSON_AddStringToObject(body, "kind", "StorageV2");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(body, "sku"), "name",
                            sku ? sku : "Standard_LRS");
    cJSON *p = cJSON_AddObjectToObject(body, "properties");
    cJSON_AddStringToObject(p, "minimumTlsVersion", "TLS1_2");
    if (sk)
        cJSON_AddBoolToObject(p, "allowSharedKeyAccess", strcmp(sk, "true") == 0);
    cJSON *res = NULL;
    rc = ctl_arm(c, "PUT", path, CHSMC_API_STORAGE, body, chsmc_opts_has(&o, "wait"),
                 "storage create", &res, &e);
    cJSON_Delete(body);
    if (rc != CHSMC_OK)
        return ctl_error("storage create", rc, &e);
    ctl_print(c, res, cols);
    cJSON_Delete(res);
    return CHSMC_OK;
}

static int cmd_show(ctl *c, int argc, char **argv)
{
    return ctl_simple(c, "storage show", "usage: chsmctl storage show NAME -g RG\n", "GET",
                      CHSMC_TYPE_STORAGE, CHSMC_API_STORAGE, cols, argc, argv);
}

static const char keys_usage[] = "usage: chsmctl storage keys NAME -g RG\n"
                                 "Lists the account keys (POST listKeys).\n";

static int cmd_keys(ctl *c, int argc, char **argv)
{
    static const chsmc_opt_spec specs[] = {{"help", 'h', 0}, {"resource-group", 'g', 1}};
    chsmc_opts o;
    int rc = ctl_parse(keys_usage, specs, CTL_N(specs), argc, argv, &o, 1, 1);
    if (rc)
        return ctl_done(rc);
    chsmc_error e;
    chsmc_error_clear(&e);
    char path[760];
    rc = ctl_rg_path(c, &o, CHSMC_TYPE_STORAGE, o.positionals[0], path, sizeof path - 20, &e);
    cJSON *res = NULL;
    if (rc == CHSMC_OK) {
        strcat(path, "/listKeys");
        rc = ctl_arm(c, "POST", path, CHSMC_API_STORAGE, NULL, 0, "", &res, &e);
    }
    if (rc != CHSMC_OK)
        return ctl_error("storage keys", rc, &e);
    static const ctl_column kcols[] = {
        {"KEY", "keyName"}, {"PERMISSIONS", "permissions"}, {"VALUE", "value"}, {NULL, NULL}};
    if (c->output == CTL_OUT_TABLE)
        ctl_print(c, cJSON_GetObjectItem(res, "keys"), kcols);
    else
        ctl_print_json(res);
    cJSON_Delete(res);
    return CHSMC_OK;
}

int ctl_cmd_storage(ctl *c, int argc, char **argv)
{
    static const ctl_command cmds[] = {
        {"create", cmd_create, "create a storage account (--wait to follow the operation)"},
        {"show", cmd_show, "show a storage account"},
        {"keys", cmd_keys, "list the account keys"},
        {NULL, NULL, NULL}};
    return ctl_group_run(c, "storage", "Storage accounts (Microsoft.Storage).", cmds, argc, argv);
}

/* ---- containers ---- */

static const ctl_column ccols[] = {{"NAME", "name"},
                                   {"PUBLIC ACCESS", "properties.publicAccess"},
                                   {"LEASE", "properties.leaseState"},
                                   {NULL, NULL}};

static int container_path(ctl *c, const chsmc_opts *o, char *path, size_t n, chsmc_error *e)
{
    const char *account = chsmc_opts_get(o, "account");
    const char *name = o->positionals[0];
    if (!account)
        return chsmc_error_set(e, CHSMC_EUSAGE, "MissingAccount",
                               "name the storage account with --account NAME");
    if (!chsmc_valid_name(name, 63, "-"))
        return chsmc_error_set(e, CHSMC_EUSAGE, "InvalidName", "'%s' is not a valid container name",
                               name);
    int rc = ctl_rg_path(c, o, CHSMC_TYPE_STORAGE, account, path, n - 80, e);
    if (rc == CHSMC_OK) {
        strcat(path, "/blobServices/default/containers/");
        strcat(path, name);
    }
    return rc;
}

static int container_cmd(ctl *c, const char *what, const char *usage, const char *method, int argc,
                         char **argv)
{
    static const chsmc_opt_spec specs[] = {
        {"help", 'h', 0}, {"resource-group", 'g', 1}, {"account", 0, 1}, {"wait", 0, 0}};
    chsmc_opts o;
    int rc = ctl_parse(usage, specs, CTL_N(specs), argc, argv, &o, 1, 1);
    if (rc)
        return ctl_done(rc);
    chsmc_error e;
    chsmc_error_clear(&e);
    char path[900];
    cJSON *res = NULL, *body = NULL;
    rc = container_path(c, &o, path, sizeof path, &e);
    if (rc == CHSMC_OK && strcmp(method, "PUT") == 0) {
        body = cJSON_CreateObject();
        cJSON *p = cJSON_AddObjectToObject(body, "properties");
        cJSON_AddStringToObject(p, "publicAccess", "None");
        cJSON_AddObjectToObject(p, "metadata");
    }
    if (rc == CHSMC_OK)
        rc = ctl_arm(c, method, path, CHSMC_API_STORAGE, body,
                     strcmp(method, "GET") != 0 && chsmc_opts_has(&o, "wait"), what, &res, &e);
    cJSON_Delete(body);
    if (rc != CHSMC_OK)
        return ctl_error(what, rc, &e);
    ctl_print(c, res, ccols);
    cJSON_Delete(res);
    return CHSMC_OK;
}

static int cmd_container_create(ctl *c, int argc, char **argv)
{
    return container_cmd(c, "container create",
                         "usage: chsmctl container create NAME --account ACCOUNT -g RG [--wait]\n"
                         "Creates a blob container through ARM (blobServices/default).\n",
                         "PUT", argc, argv);
}

static int cmd_container_show(ctl *c, int argc, char **argv)
{
    return container_cmd(c, "container show",
                         "usage: chsmctl container show NAME --account ACCOUNT -g RG\n", "GET",
                         argc, argv);
}

static int cmd_container_delete(ctl *c, int argc, char **argv)
{
    return container_cmd(c, "container delete",
                         "usage: chsmctl container delete NAME --account ACCOUNT -g RG [--wait]\n",
                         "DELETE", argc, argv);
}

int ctl_cmd_container(ctl *c, int argc, char **argv)
{
    static const ctl_command cmds[] = {{"create", cmd_container_create, "create a blob container"},
                                       {"show", cmd_container_show, "show a blob container"},
                                       {"delete", cmd_container_delete, "delete a blob container"},
                                       {NULL, NULL, NULL}};
    return ctl_group_run(c, "container", "Blob containers of a storage account.", cmds, argc, argv);
}

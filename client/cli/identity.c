/* identity.c - chsmctl identity create|show|delete: user-assigned managed identities. */
#include "cli.h"

static const ctl_column cols[] = {{"NAME", "name"},
                                  {"LOCATION", "location"},
                                  {"PRINCIPAL ID", "properties.principalId"},
                                  {"CLIENT ID", "properties.clientId"},
                                  {NULL, NULL}};

static const char create_usage[] =
    "usage: chsmctl identity create NAME -g RG [--location LOC] [--wait]\n"
    "Creates a user-assigned managed identity (PUT, synchronous: --wait is accepted and follows\n"
    "an operation only if the server starts one). Its principalId is what role assignments\n"
    "name.\n";

static int cmd_create(ctl *c, int argc, char **argv)
{
    static const chsmc_opt_spec specs[] = {
        {"help", 'h', 0}, {"resource-group", 'g', 1}, {"location", 'l', 1}, {"wait", 0, 0}};
    chsmc_opts o;
    int rc = ctl_parse(create_usage, specs, CTL_N(specs), argc, argv, &o, 1, 1);
    if (rc)
        return ctl_done(rc);
    chsmc_error e;
    chsmc_error_clear(&e);
    char path[700];
    rc = ctl_rg_path(c, &o, CHSMC_TYPE_MSI, o.positionals[0], path, sizeof path, &e);
    if (rc != CHSMC_OK)
        return ctl_error("identity create", rc, &e);
    const char *loc = chsmc_opts_get(&o, "location");
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "location", loc ? loc : CTL_DEFAULT_LOCATION);
    cJSON *res = NULL;
    rc = ctl_arm(c, "PUT", path, CHSMC_API_MSI, body, 1, "identity create", &res, &e);
    cJSON_Delete(body);
    if (rc != CHSMC_OK)
        return ctl_error("identity create", rc, &e);
    ctl_print(c, res, cols);
    cJSON_Delete(res);
    return CHSMC_OK;
}

static int cmd_show(ctl *c, int argc, char **argv)
{
    return ctl_simple(c, "identity show", "usage: chsmctl identity show NAME -g RG\n", "GET",
                      CHSMC_TYPE_MSI, CHSMC_API_MSI, cols, argc, argv);
}

static int cmd_delete(ctl *c, int argc, char **argv)
{
    return ctl_simple(c, "identity delete", "usage: chsmctl identity delete NAME -g RG\n", "DELETE",
                      CHSMC_TYPE_MSI, CHSMC_API_MSI, cols, argc, argv);
}

int ctl_cmd_identity(ctl *c, int argc, char **argv)
{
    static const ctl_command cmds[] = {
        {"create", cmd_create, "create a user-assigned managed identity"},
        {"show", cmd_show, "show an identity (principalId, clientId)"},
        {"delete", cmd_delete, "delete an identity"},
        {NULL, NULL, NULL}};
    return ctl_group_run(c, "identity", "User-assigned managed identities.", cmds, argc, argv);
}

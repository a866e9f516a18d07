/* group.c - chsmctl group create|show|delete: resource groups. */
#include "cli.h"

#include <string.h>

static const ctl_column cols[] = {{"NAME", "name"},
                                  {"LOCATION", "location"},
                                  {"STATE", "properties.provisioningState"},
                                  {NULL, NULL}};

static int group_path(ctl *c, const char *name, char *out, size_t n, chsmc_error *e)
{
    int rc = ctl_connect(c, e);
    if (rc != CHSMC_OK)
        return rc;
    if (!chsmc_valid_name(name, 90, "-_.()"))
        return chsmc_error_set(e, CHSMC_EUSAGE, "InvalidName",
                               "'%s' is not a valid resource group name", name);
    chsmc_path_group(c->ep.subscription, name, out, n);
    return CHSMC_OK;
}

/* add_tags adds "tags" from repeated --tag k=v (only the last is kept by the parser, so one
 * --tags "k=v,k2=v2" list is accepted instead). */
static int add_tags(cJSON *body, const char *tags)
{
    if (!tags)
        return CHSMC_OK;
    cJSON *t = cJSON_AddObjectToObject(body, "tags");
    char buf[1024];
    chsmc_copy(buf, sizeof buf, tags);
    for (char *save = NULL, *kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq || eq == kv)
            return ctl_usage_error("--tags wants k=v[,k=v...], not '%s'", kv);
        *eq = '\0';
        cJSON_AddStringToObject(t, kv, eq + 1);
    }
    return CHSMC_OK;
}

static const char create_usage[] =
    "usage: chsmctl group create NAME [--location LOC] [--tags k=v,...]\n"
    "Creates or updates a resource group (PUT, synchronous).\n";

static int cmd_create(ctl *c, int argc, char **argv)
{
    static const chsmc_opt_spec specs[] = {
        {"help", 'h', 0}, {"location", 'l', 1}, {"tags", 0, 1}, {"wait", 0, 0}};
    chsmc_opts o;
    int rc = ctl_parse(create_usage, specs, CTL_N(specs), argc, argv, &o, 1, 1);
    if (rc)
        return ctl_done(rc);
    chsmc_error e;
    chsmc_error_clear(&e);
    char path[512];
    rc = group_path(c, o.positionals[0], path, sizeof path, &e);
    if (rc != CHSMC_OK)
        return ctl_error("group create", rc, &e);
    const char *loc = chsmc_opts_get(&o, "location");
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "location", loc ? loc : CTL_DEFAULT_LOCATION);
    if (add_tags(body, chsmc_opts_get(&o, "tags")) != CHSMC_OK) {
        cJSON_Delete(body);
        return CHSMC_EUSAGE;
    }
    cJSON *res = NULL;
    rc = ctl_arm(c, "PUT", path, CHSMC_API_RESOURCES, body, 1, "group create", &res, &e);
    cJSON_Delete(body);
    if (rc != CHSMC_OK)
        return ctl_error("group create", rc, &e);
    ctl_print(c, res, cols);
    cJSON_Delete(res);
    return CHSMC_OK;
}

static const char show_usage[] = "usage: chsmctl group show NAME\n";

static int cmd_show(ctl *c, int argc, char **argv)
{
    static const chsmc_opt_spec specs[] = {{"help", 'h', 0}};
    chsmc_opts o;
    int rc = ctl_parse(show_usage, specs, CTL_N(specs), argc, argv, &o, 1, 1);
    if (rc)
        return ctl_done(rc);
    chsmc_error e;
    chsmc_error_clear(&e);
    char path[512];
    rc = group_path(c, o.positionals[0], path, sizeof path, &e);
    cJSON *res = NULL;
    if (rc == CHSMC_OK)
        rc = ctl_arm(c, "GET", path, CHSMC_API_RESOURCES, NULL, 0, "group show", &res, &e);
    if (rc != CHSMC_OK)
        return ctl_error("group show", rc, &e);
    ctl_print(c, res, cols);
    cJSON_Delete(res);
    return CHSMC_OK;
}

static const char delete_usage[] =
    "usage: chsmctl group delete NAME [--wait]\n"
    "Deletes a resource group and everything in it (202 + Location; --wait follows it).\n";

static int cmd_delete(ctl *c, int argc, char **argv)
{
    static const chsmc_opt_spec specs[] = {{"help", 'h', 0}, {"wait", 0, 0}};
    chsmc_opts o;
    int rc = ctl_parse(delete_usage, specs, CTL_N(specs), argc, argv, &o, 1, 1);
    if (rc)
        return ctl_done(rc);
    chsmc_error e;
    chsmc_error_clear(&e);
    char path[512];
    rc = group_path(c, o.positionals[0], path, sizeof path, &e);
    cJSON *res = NULL;
    if (rc == CHSMC_OK)
        rc = ctl_arm(c, "DELETE", path, CHSMC_API_RESOURCES, NULL, chsmc_opts_has(&o, "wait"),
                     "group delete", &res, &e);
    if (rc != CHSMC_OK)
        return ctl_error("group delete", rc, &e);
    ctl_print_json(res);
    cJSON_Delete(res);
    return CHSMC_OK;
}

int ctl_cmd_group(ctl *c, int argc, char **argv)
{
    static const ctl_command cmds[] = {
        {"create", cmd_create, "create or update a resource group"},
        {"show", cmd_show, "show a resource group"},
        {"delete", cmd_delete, "delete a resource group (--wait to follow the operation)"},
        {NULL, NULL, NULL}};
    return ctl_group_run(c, "group", "Resource groups.", cmds, argc, argv);
}

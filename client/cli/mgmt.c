/* mgmt.c - chsmctl mgmt: an azcloudhsm_mgmt_util-style shell for crypto officers
 * (loginHSM, logoutHSM, getClusterInfo, createUser, listUsers, changePswd,
 * deleteUser, quit/exit), with outputs modelled on the documented ones. */
#include "shell.h"

#include <stdlib.h>
#include <string.h>

#define PORT 2225

static const char usage[] =
    "usage: chsmctl mgmt [CFG | --config CFG] [-f SCRIPT] [--yes] [singlecmd CMD ARGS...]\n"
    "\n"
    "An azcloudhsm_mgmt_util-style shell on the cluster named by CFG, an\n"
    "azcloudhsm_resource.cfg (default ./azcloudhsm_resource.cfg or $CHSM_RESOURCE_CFG; write\n"
    "one with `chsmctl cluster config`). Commands come from the terminal (prompt\n"
    "cloudmgmt>), a pipe, a script (-f) or the singlecmd arguments.\n"
    "\n"
    "Commands:\n"
    "  loginHSM <CO|CU|PRECO|AU> <user> <password>\n"
    "  logoutHSM\n"
    "  getClusterInfo\n"
    "  listUsers\n"
    "  createUser <CO|CU> <user> <password>        (asks y/n)\n"
    "  changePswd <CO|CU|PRECO> <user> <password>  (asks y/n; PRECO admin activates)\n"
    "  deleteUser <CO|CU> <user>                   (asks y/n)\n"
    "  help, quit, exit\n"
    "\n"
    "The CAUTION question is answered from the terminal, from the next input line of a pipe\n"
    "or script (\"y\"), or automatically with --yes and in singlecmd mode. Global options\n"
    "(--endpoint, --ca-cert, ...) go before `mgmt`. Exit code: 0 when every command\n"
    "succeeded, else the first failure's code.\n";

static const struct {
    const char *name;
    int arity;
} arity[] = {{"loginHSM", 3},   {"logoutHSM", 0},  {"getClusterInfo", 0}, {"listUsers", 0},
             {"createUser", 3}, {"changePswd", 3}, {"deleteUser", 2},     {"help", 0},
             {"quit", 0},       {"exit", 0}};

static int split(int argc, char **argv)
{
    for (size_t i = 0; i < sizeof arity / sizeof arity[0]; i++)
        if (strcmp(arity[i].name, argv[0]) == 0)
            return 1 + (arity[i].arity < argc - 1 ? arity[i].arity : argc - 1);
    return argc; /* unknown: take the rest, the command reports it */
}

static void mask(int argc, char **argv, char *out, size_t n)
{
    size_t o = 0;
    int secret =
        argc == 4 && (strcmp(argv[0], "loginHSM") == 0 || strcmp(argv[0], "createUser") == 0 ||
                      strcmp(argv[0], "changePswd") == 0);
    for (int i = 0; i < argc && o < n; i++)
        o += (size_t)snprintf(out + o, n - o, "%s%s", i ? " " : "",
                              secret && i == 3 ? "********" : argv[i]);
}

static void per_node(ctl_shell *s, const char *fmt_ok)
{
    int k = ctl_shell_node_count(s);
    for (int i = 0; i < k; i++) {
        int up;
        const char *h = ctl_shell_node(s, i, &up);
        if (up)
            printf("%s on server %d(%s)\n", fmt_ok, i, h);
    }
}

static int fail(ctl_shell *s, const char *cmd, int rc, const chsmc_error *e)
{
    const char *h = ctl_shell_node(s, 0, NULL);
    if (rc == CHSMC_EHTTP) {
        printf("HSM Error: %s%s%s\n", e->code, e->hsm_return[0] ? " " : "", e->hsm_return);
        printf("%s failed on server 0(%s): %s\n", cmd, h, e->message);
    } else {
        printf("%s failed: %s\n", cmd, e->message[0] ? e->message : chsmc_status_name(rc));
    }
    return rc;
}

static int usage_line(const char *syntax)
{
    printf("Usage: %s\n", syntax);
    return CHSMC_EUSAGE;
}

static int valid_type(const char *t, int allow_preco)
{
    return strcmp(t, "CO") == 0 || strcmp(t, "CU") == 0 || strcmp(t, "AU") == 0 ||
           (allow_preco && strcmp(t, "PRECO") == 0);
}

static int cmd_login(ctl_shell *s, int argc, char **argv)
{
    if (argc != 4 || !valid_type(argv[1], 1))
        return usage_line("loginHSM <CO|CU|PRECO|AU> <user name> <password>");
    chsmc_error e;
    chsmc_error_clear(&e);
    int rc = chsmc_hsm_login(s->hsm, argv[1], argv[2], argv[3], &e);
    if (rc != CHSMC_OK)
        return fail(s, "loginHSM", rc, &e);
    per_node(s, "loginHSM success");
    return CHSMC_OK;
}

static int cmd_logout(ctl_shell *s, int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return usage_line("logoutHSM");
    if (!chsmc_hsm_logged_in(s->hsm, NULL, NULL)) {
        printf("logoutHSM failed: not logged in\n");
        return CHSMC_EUSAGE;
    }
    chsmc_error e;
    chsmc_error_clear(&e);
    int rc = chsmc_hsm_logout(s->hsm, &e);
    if (rc != CHSMC_OK)
        return fail(s, "logoutHSM", rc, &e);
    per_node(s, "logoutHSM success");
    return CHSMC_OK;
}

static int cmd_cluster_info(ctl_shell *s, int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return usage_line("getClusterInfo");
    chsmc_error e;
    chsmc_error_clear(&e);
    int rc = ctl_shell_refresh(s, &e);
    if (rc != CHSMC_OK)
        return fail(s, "getClusterInfo", rc, &e);
    printf("\nCluster info from server 0(%s):\n", ctl_shell_node(s, 0, NULL));
    printf("%-16s%-58s%s\n", "Node Id", "Hostname", "Port");
    const cJSON *nodes = cJSON_GetObjectItem(s->cluster, "nodes");
    const cJSON *n;
    int i = 0;
    cJSON_ArrayForEach(n, nodes)
    {
        const cJSON *id = cJSON_GetObjectItem(n, "nodeId");
        const cJSON *port = cJSON_GetObjectItem(n, "port");
        printf("%-16d%-58s%d\n", cJSON_IsNumber(id) ? id->valueint : i + 1,
               ctl_shell_node(s, i, NULL), cJSON_IsNumber(port) ? port->valueint : PORT);
        i++;
    }
    for (i = 0; i < ctl_shell_node_count(s); i++) {
        int up;
        ctl_shell_node(s, i, &up);
        if (!up)
            printf("Server %d is not connected\n", i);
    }
    return CHSMC_OK;
}

static int cmd_list_users(ctl_shell *s, int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return usage_line("listUsers");
    chsmc_error e;
    chsmc_error_clear(&e);
    cJSON *users = NULL;
    int rc = chsmc_hsm_list_users(s->hsm, &users, &e);
    if (rc != CHSMC_OK)
        return fail(s, "listUsers", rc, &e);
    int k = ctl_shell_node_count(s);
    for (int i = 0; i < k; i++) {
        int up;
        const char *h = ctl_shell_node(s, i, &up);
        if (!up)
            continue;
        printf("Users on server %d(%s):\n", i, h);
        printf("Number of users found:%d\n\n", cJSON_GetArraySize(users));
        printf("    %-10s%-14s%-34s%-14s%-18s%s\n", "User Id", "User Type", "User Name",
               "MofnPubKey", "LoginFailureCnt", "2FA");
        const cJSON *u;
        cJSON_ArrayForEach(u, users)
        {
            const cJSON *id = cJSON_GetObjectItem(u, "userId");
            const cJSON *fails = cJSON_GetObjectItem(u, "loginFailureCount");
            const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(u, "userType"));
            const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(u, "username"));
            printf("    %-10d%-14s%-34s%-14s%-18d%s%s\n", cJSON_IsNumber(id) ? id->valueint : 0,
                   type ? type : "?", name ? name : "?", "NO",
                   cJSON_IsNumber(fails) ? fails->valueint : 0, "NO",
                   cJSON_IsTrue(cJSON_GetObjectItem(u, "locked")) ? "  (locked)" : "");
        }
    }
    cJSON_Delete(users);
    return CHSMC_OK;
}

static int cmd_create_user(ctl_shell *s, int argc, char **argv)
{
    if (argc != 4 || !valid_type(argv[1], 0))
        return usage_line("createUser <CO|CU> <user name> <password>");
    if (!ctl_shell_confirm(s)) {
        printf("createUser aborted\n");
        return CHSMC_OK; /* declining is not a failure */
    }
    printf("Creating User %s(%s) on %d nodes\n", argv[2], argv[1], ctl_shell_connected_count(s));
    chsmc_error e;
    chsmc_error_clear(&e);
    int rc = chsmc_hsm_create_user(s->hsm, argv[1], argv[2], argv[3], NULL, &e);
    if (rc != CHSMC_OK)
        return fail(s, "createUser", rc, &e);
    per_node(s, "createUser success");
    return CHSMC_OK;
}

static int cmd_change_password(ctl_shell *s, int argc, char **argv)
{
    if (argc != 4 || !valid_type(argv[1], 1))
        return usage_line("changePswd <CO|CU|PRECO> <user name> <new password>");
    if (!ctl_shell_confirm(s)) {
        printf("changePswd aborted\n");
        return CHSMC_OK; /* declining is not a failure */
    }
    printf("Changing password for %s(%s) on %d nodes\n", argv[2], argv[1],
           ctl_shell_connected_count(s));
    chsmc_error e;
    chsmc_error_clear(&e);
    int rc;
    int activation = strcmp(argv[1], "PRECO") == 0;
    if (activation) /* the PRECO password change is the activation (contract) */
        rc = chsmc_hsm_activate(s->hsm, argv[3], &e);
    else
        rc = chsmc_hsm_change_password(s->hsm, argv[1], argv[2], argv[3], &e);
    if (rc != CHSMC_OK)
        return fail(s, "changePswd", rc, &e);
    per_node(s, "changePswd success");
    if (activation) {
        chsmc_error e2;
        if (ctl_shell_refresh(s, &e2) == CHSMC_OK) {
            for (int i = 0; i < ctl_shell_node_count(s); i++) {
                int up;
                const char *h = ctl_shell_node(s, i, &up);
                if (up)
                    printf("E2E enabled on server %d(%s)\n", i, h);
            }
        }
    }
    return CHSMC_OK;
}

static int cmd_delete_user(ctl_shell *s, int argc, char **argv)
{
    if (argc != 3 || !valid_type(argv[1], 0))
        return usage_line("deleteUser <CO|CU> <user name>");
    if (!ctl_shell_confirm(s)) {
        printf("deleteUser aborted\n");
        return CHSMC_OK; /* declining is not a failure */
    }
    printf("Deleting user %s(%s) on %d nodes\n", argv[2], argv[1], ctl_shell_connected_count(s));
    chsmc_error e;
    chsmc_error_clear(&e);
    int rc = chsmc_hsm_delete_user(s->hsm, argv[2], &e);
    if (rc != CHSMC_OK)
        return fail(s, "deleteUser", rc, &e);
    per_node(s, "deleteUser success");
    return CHSMC_OK;
}

static int cmd_help(ctl_shell *s, int argc, char **argv)
{
    (void)s;
    (void)argc;
    (void)argv;
    const char *cmds = strstr(usage, "Commands:");
    const char *end = cmds ? strstr(cmds, "\n\n") : NULL;
    if (cmds && end)
        printf("%.*s\n", (int)(end - cmds), cmds);
    return CHSMC_OK;
}

static int cmd_quit(ctl_shell *s, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("\ndisconnecting from servers, please wait...\n");
    s->quit = 1;
    return CHSMC_OK;
}

static int exec(ctl_shell *s, int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(ctl_shell *s, int argc, char **argv);
    } cmds[] = {{"loginHSM", cmd_login},
                {"logoutHSM", cmd_logout},
                {"getClusterInfo", cmd_cluster_info},
                {"listUsers", cmd_list_users},
                {"createUser", cmd_create_user},
                {"changePswd", cmd_change_password},
                {"deleteUser", cmd_delete_user},
                {"help", cmd_help},
                {"quit", cmd_quit},
                {"exit", cmd_quit}};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (strcmp(cmds[i].name, argv[0]) == 0)
            return cmds[i].fn(s, argc, argv);
    printf("Invalid command: %s (type help for the list of commands)\n", argv[0]);
    return CHSMC_EUSAGE;
}

static void banner(ctl_shell *s)
{
    printf("Liquidsec MGMT Util Version            :       2.09.07.02\n"
           "SDK API Version                        :       2.09.07.02\n"
           "SDK Package Version                    :       2.0.1.0 (chsmctl %s, emulated)\n\n"
           "Connecting to the server(s), it may take time\n"
           "depending on the server(s) load, please wait...\n\n",
           CHSM_VERSION);
    const char *state = cJSON_GetStringValue(cJSON_GetObjectItem(s->cluster, "activationState"));
    int active = state && strcmp(state, "Active") == 0;
    int k = ctl_shell_node_count(s);
    for (int i = 0; i < k; i++) {
        int up;
        const char *h = ctl_shell_node(s, i, &up);
        if (i == 1 && !active)
            printf("Connecting to servers in the cluster.\n\n");
        printf("Connecting to 'server %d': hostname '%s', port %d...\n", i, h, PORT);
        if (!up) {
            printf("Connetion to server %s(%s) on port %d failed\n\n", h, h, PORT);
            printf("Server %d(%s) is not connected\n", i, h);
            continue;
        }
        printf("Connected to 'server %d': hostname '%s', port %d...\n", i, h, PORT);
        if (active) {
            printf("\nE2E enabled on server %d(%s)\n", i, h);
        } else {
            printf("\nServer %d(%s) is in unencrypted mode now...\n", i, h);
            printf("running in limited commands mode\n\n");
        }
    }
    if (state && strcmp(state, "Failed") == 0)
        printf("\nWARNING: the cluster is not functional (activationState Failed)\n");
}

int ctl_cmd_mgmt(ctl *c, int argc, char **argv)
{
    ctl_shell s;
    memset(&s, 0, sizeof s);
    s.c = c;
    s.name = "mgmt";
    s.prompt = "cloudmgmt>";
    s.exec = exec;
    s.split = split;
    s.mask = mask;
    s.banner = banner;
    return ctl_shell_main(&s, usage, argc, argv);
}

/* main.c - chsmctl: global options and the command groups.
 *
 * Global options may come before the group or anywhere after it (except for
 * the mgmt and util shells, whose own arguments look like options: there they
 * must come before the group name). */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "usage: chsmctl [global options] GROUP COMMAND [options]\n"
    "\n"
    "A client for the chsm-emulator (local Azure Cloud HSM): ARM resources, backup and\n"
    "restore, and the HSM utilities.\n"
    "\n"
    "Groups:\n"
    "  group       resource groups: create, show, delete\n"
    "  identity    user-assigned managed identities: create, show, delete\n"
    "  cluster     Cloud HSM clusters: create, show, list, delete, set-identity, activate,\n"
    "              config\n"
    "  storage     storage accounts: create, show, keys\n"
    "  container   blob containers: create, show, delete\n"
    "  role        role assignments: assign, list, delete\n"
    "  backup      backup start (Cloud HSM); Azure Backup of VMs: vault, protect, now,\n"
    "              jobs, items, rp, restore-disks\n"
    "  mhsm        Managed HSMs: create, show, list, delete, role, key\n"
    "  restore     restore start\n"
    "  operation   operation show URL\n"
    "  dr          dr run: the whole backup and restore tutorial in one command\n"
    "  mgmt        azcloudhsm_mgmt_util-style shell (crypto officers)\n"
    "  util        azcloudhsm_util-style shell (crypto users)\n"
    "  emulator    QA controls: faults, requests, operations, clock, reset, state,\n"
    "              snapshot, fixture\n"
    "\n"
    "Global options:\n"
    "  --endpoint URL       the emulator's ARM URL (env CHSM_ENDPOINT; default: from\n"
    "                       <data-dir>/emulator.json)\n"
    "  --ca-cert FILE       CA certificate to trust (env CHSM_CA_CERT)\n"
    "  --subscription ID    subscription (env CHSM_SUBSCRIPTION; default\n"
    "                       " CHSMC_DEFAULT_SUBSCRIPTION ")\n"
    "  --data-dir DIR       where emulator.json is (env CHSM_DATA_DIR; default ./.chsm-data)\n"
    "  -o, --output FMT     json (default) or table\n"
    "  --timeout SECONDS    how long --wait waits (default 300)\n"
    "  --quiet              no progress lines while waiting\n"
    "  --verbose            show the endpoint and every HTTP request on stderr\n"
    "  --help, --version\n"
    "\n"
    "Exit codes: 0 ok, 1 a check failed, 2 usage, 3 HTTP/ARM/HSM error, 4 operation failed,\n"
    "5 cannot reach the emulator, 6 timed out, 7 out of memory, 8 local file error.\n";

static const struct {
    const char *name;
    int (*run)(ctl *c, int argc, char **argv);
} groups[] = {
    {"group", ctl_cmd_group},         {"identity", ctl_cmd_identity},
    {"cluster", ctl_cmd_cluster},     {"storage", ctl_cmd_storage},
    {"container", ctl_cmd_container}, {"role", ctl_cmd_role},
    {"backup", ctl_cmd_backup},       {"restore", ctl_cmd_restore},
    {"operation", ctl_cmd_operation}, {"dr", ctl_cmd_dr},
    {"mgmt", ctl_cmd_mgmt},           {"util", ctl_cmd_util},
    {"emulator", ctl_cmd_emulator},   {"mhsm", ctl_cmd_mhsm},
};

/* take_global consumes a global option at argv[*i] (advancing past its value); returns 1
 * when it was one, 0 when not, -1 on a missing or bad value. */
static int take_global(ctl *c, int argc, char **argv, int *i)
{
    static const char *const with_value[] = {
        "endpoint", "ca-cert", "subscription", "data-dir", "output", "timeout", NULL};
    const char *a = argv[*i];
    const char *name = NULL, *value = NULL;
    if (strcmp(a, "-o") == 0) {
        name = "output";
    } else if (strcmp(a, "--verbose") == 0) {
        c->verbose = 1;
        return 1;
    } else if (strcmp(a, "--quiet") == 0) {
        c->quiet = 1;
        return 1;
    } else if (strncmp(a, "--", 2) == 0) {
        for (int k = 0; with_value[k]; k++) {
            size_t n = strlen(with_value[k]);
            if (strncmp(a + 2, with_value[k], n) == 0 && (a[2 + n] == '\0' || a[2 + n] == '=')) {
                name = with_value[k];
                if (a[2 + n] == '=')
                    value = a + 3 + n;
            }
        }
    }
    if (!name)
        return 0;
    if (!value) {
        if (*i + 1 >= argc) {
            ctl_usage_error("option '%s' needs a value", a);
            return -1;
        }
        value = argv[++*i];
    }
    if (strcmp(name, "endpoint") == 0) {
        c->flags.endpoint = value;
    } else if (strcmp(name, "ca-cert") == 0) {
        c->flags.ca_cert = value;
    } else if (strcmp(name, "subscription") == 0) {
        c->flags.subscription = value;
    } else if (strcmp(name, "data-dir") == 0) {
        c->flags.data_dir = value;
    } else if (strcmp(name, "output") == 0) {
        if (strcmp(value, "json") == 0)
            c->output = CTL_OUT_JSON;
        else if (strcmp(value, "table") == 0)
            c->output = CTL_OUT_TABLE;
        else {
            ctl_usage_error("--output must be json or table, not '%s'", value);
            return -1;
        }
    } else {
        long long t;
        if (chsmc_parse_int(value, 1, 86400, &t) != CHSMC_OK) {
            ctl_usage_error("--timeout must be a number of seconds (1-86400)");
            return -1;
        }
        c->timeout_s = (int)t;
    }
    return 1;
}

int main(int argc, char **argv)
{
    ctl c;
    memset(&c, 0, sizeof c);
    c.timeout_s = 300;
    c.progress = isatty(STDERR_FILENO);
    const char *out = getenv("CHSM_OUTPUT");
    if (out && strcmp(out, "table") == 0)
        c.output = CTL_OUT_TABLE;

    /* Global options before the group. */
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        }
        if (strcmp(argv[i], "--version") == 0) {
            printf("chsmctl %s\n", CHSM_VERSION);
            return 0;
        }
        int t = take_global(&c, argc, argv, &i);
        if (t < 0)
            return CHSMC_EUSAGE;
        if (t == 0) {
            fprintf(stderr, "chsmctl: unknown option '%s'\n%s", argv[i], usage);
            return CHSMC_EUSAGE;
        }
    }
    if (i >= argc) {
        fputs(usage, stderr);
        return CHSMC_EUSAGE;
    }
    if (strcmp(argv[i], "help") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    const char *group = argv[i++];
    int shell = strcmp(group, "mgmt") == 0 || strcmp(group, "util") == 0;

    /* The rest, minus global options (not for the shells). */
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    if (!rest)
        return CHSMC_ENOMEM;
    int nrest = 0, only_args = 0;
    for (; i < argc; i++) {
        if (!shell && !only_args) {
            if (strcmp(argv[i], "--") == 0)
                only_args = 1;
            int t = take_global(&c, argc, argv, &i);
            if (t < 0) {
                free(rest);
                return CHSMC_EUSAGE;
            }
            if (t > 0)
                continue;
        }
        rest[nrest++] = argv[i];
    }
    int rc = -1;
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++)
        if (strcmp(groups[g].name, group) == 0)
            rc = groups[g].run(&c, nrest, rest);
    if (rc < 0) {
        fprintf(stderr, "chsmctl: unknown group '%s'\n%s", group, usage);
        rc = CHSMC_EUSAGE;
    }
    free(rest);
    ctl_progress_end();
    chsmc_client_free(c.client);
    return rc;
}

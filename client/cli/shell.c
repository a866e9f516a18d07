/* shell.c - the read-eval loop and connection shared by the mgmt and util shells. */
#include "shell.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int ctl_shell_refresh(ctl_shell *s, chsmc_error *e)
{
    cJSON *j = NULL;
    int rc = chsmc_hsm_cluster(s->hsm, &j, e);
    if (rc != CHSMC_OK)
        return rc;
    cJSON_Delete(s->cluster);
    s->cluster = j;
    return CHSMC_OK;
}

int ctl_shell_node_count(const ctl_shell *s)
{
    return cJSON_GetArraySize(cJSON_GetObjectItem(s->cluster, "nodes"));
}

const char *ctl_shell_node(const ctl_shell *s, int i, int *connected)
{
    const cJSON *n = cJSON_GetArrayItem(cJSON_GetObjectItem(s->cluster, "nodes"), i);
    const char *state = cJSON_GetStringValue(cJSON_GetObjectItem(n, "state"));
    if (connected)
        *connected = state && strcmp(state, "Connected") == 0;
    const char *h = cJSON_GetStringValue(cJSON_GetObjectItem(n, "hostname"));
    return h ? h : "?";
}

int ctl_shell_connected_count(const ctl_shell *s)
{
    int n = 0, k = ctl_shell_node_count(s);
    for (int i = 0; i < k; i++) {
        int up;
        ctl_shell_node(s, i, &up);
        n += up;
    }
    return n;
}

/* read_line reads one line (without the newline) into a new string; NULL at EOF. */
static char *read_line(FILE *in)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, in);
    if (n < 0) {
        free(line);
        return NULL;
    }
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    return line;
}

int ctl_shell_confirm(ctl_shell *s)
{
    fputs("*************************CAUTION********************************\n"
          "This is a CRITICAL operation, should be done on all nodes in the\n"
          "cluster. Cav server does NOT synchronize these changes with the\n"
          "nodes on which this operation is not executed or failed, please\n"
          "ensure this operation is executed on all nodes in the cluster.\n"
          "****************************************************************\n\n",
          stdout);
    for (;;) {
        fputs("Do you want to continue(y/n)?", stdout);
        if (s->assume_yes) {
            fputs("y\n", stdout);
            return 1;
        }
        fflush(stdout);
        char *ans = read_line(s->in);
        if (!ans) {
            fputs("\n", stdout);
            return 0; /* EOF answers no */
        }
        if (!s->interactive)
            printf("%s\n", ans);
        char *p = ans;
        while (*p == ' ' || *p == '\t')
            p++;
        int yes = strcmp(p, "y") == 0 || strcmp(p, "Y") == 0;
        int no = strcmp(p, "n") == 0 || strcmp(p, "N") == 0;
        free(ans);
        if (yes || no)
            return yes;
        fputs("Invalid option, please type 'y' or 'n'\n", stdout);
    }
}

static int run_words(ctl_shell *s, int argc, char **argv, int *first_failure)
{
    if (argc == 0)
        return CHSMC_OK;
    if (!s->interactive) {
        char echo[2048];
        s->mask(argc, argv, echo, sizeof echo);
        printf("%s%s\n", s->prompt, echo);
    }
    int rc = s->exec(s, argc, argv);
    fflush(stdout);
    if (rc != CHSMC_OK && *first_failure == CHSMC_OK)
        *first_failure = rc;
    return rc;
}

static int loop(ctl_shell *s)
{
    int first_failure = CHSMC_OK;
    while (!s->quit) {
        if (s->interactive) {
            fputs(s->prompt, stdout);
            fflush(stdout);
        }
        char *line = read_line(s->in);
        if (!line) {
            if (s->interactive)
                fputc('\n', stdout);
            break;
        }
        char **argv = NULL;
        int argc = 0;
        if (chsmc_split_line(line, &argv, &argc) != CHSMC_OK) {
            printf("Invalid input: unterminated quote in '%s'\n", line);
            if (first_failure == CHSMC_OK)
                first_failure = CHSMC_EUSAGE;
        } else {
            run_words(s, argc, argv, &first_failure);
        }
        chsmc_argv_free(argv, argc);
        free(line);
    }
    return first_failure;
}

static int singlecmd(ctl_shell *s, int argc, char **argv)
{
    int first_failure = CHSMC_OK;
    int i = 0;
    while (i < argc && !s->quit) {
        int n = s->split(argc - i, argv + i);
        if (n < 1)
            n = 1;
        run_words(s, n, argv + i, &first_failure);
        i += n;
    }
    return first_failure;
}

int ctl_shell_main(ctl_shell *s, const char *usage, int argc, char **argv)
{
    const char *cfg = NULL, *script = NULL;
    int single = -1;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        } else if (strcmp(a, "--yes") == 0 || strcmp(a, "-y") == 0) {
            s->assume_yes = 1;
        } else if (strcmp(a, "--config") == 0 || strcmp(a, "-f") == 0 || strcmp(a, "--file") == 0) {
            if (i + 1 >= argc)
                return ctl_usage_error("option '%s' needs a value", a);
            if (strcmp(a, "--config") == 0)
                cfg = argv[++i];
            else
                script = argv[++i];
        } else if (strcmp(a, "singlecmd") == 0) {
            single = i + 1;
            break;
        } else if (a[0] == '-') {
            fprintf(stderr, "chsmctl: unknown option '%s'\n%s", a, usage);
            return CHSMC_EUSAGE;
        } else if (!cfg) {
            cfg = a;
        } else {
            fprintf(stderr, "chsmctl: unexpected argument '%s'\n%s", a, usage);
            return CHSMC_EUSAGE;
        }
    }
    if (single >= 0 && single >= argc)
        return ctl_usage_error("singlecmd needs a command");
    if (single >= 0 && script)
        return ctl_usage_error("use either -f SCRIPT or singlecmd, not both");
    if (!cfg)
        cfg = getenv("CHSM_RESOURCE_CFG");
    if (!cfg || !*cfg)
        cfg = "azcloudhsm_resource.cfg";
    chsmc_copy(s->cfg_path, sizeof s->cfg_path, cfg);

    chsmc_error e;
    chsmc_error_clear(&e);
    int rc = chsmc_cfg_load(cfg, &s->cfg, &e);
    if (rc != CHSMC_OK) {
        if (rc == CHSMC_EIO)
            chsmc_error_prefix(&e, "(write one with `chsmctl cluster config NAME -g RG --out "
                                   "FILE`) ");
        return ctl_error(s->name, rc == CHSMC_EIO ? CHSMC_EUSAGE : rc, &e);
    }
    s->c->flags.cfg_arm_url = s->cfg.arm_url[0] ? s->cfg.arm_url : NULL;
    s->c->flags.cfg_ca_cert = s->cfg.ca_cert[0] ? s->cfg.ca_cert : NULL;
    rc = ctl_connect(s->c, &e);
    if (rc == CHSMC_OK)
        rc = chsmc_hsm_open(s->c->client, s->cfg.hostname, &s->hsm, &e);
    if (rc == CHSMC_OK)
        rc = ctl_shell_refresh(s, &e);
    if (rc != CHSMC_OK)
        return ctl_error(s->name, rc, &e);

    FILE *script_file = NULL;
    if (script) {
        script_file = fopen(script, "r");
        if (!script_file) {
            fprintf(stderr, "chsmctl: %s: cannot open '%s': %s\n", s->name, script,
                    strerror(errno));
            chsmc_hsm_free(s->hsm);
            cJSON_Delete(s->cluster);
            return CHSMC_EIO;
        }
        s->in = script_file;
        s->interactive = 0;
    } else {
        s->in = stdin;
        s->interactive = single < 0 && isatty(STDIN_FILENO);
    }
    if (single >= 0) {
        s->assume_yes = 1;
        s->interactive = 0;
    }
    s->banner(s);
    fflush(stdout);
    rc = single >= 0 ? singlecmd(s, argc - single, argv + single) : loop(s);
    if (chsmc_hsm_logged_in(s->hsm, NULL, NULL)) {
        chsmc_error e2;
        chsmc_hsm_logout(s->hsm, &e2);
    }
    if (script_file)
        fclose(script_file);
    chsmc_hsm_free(s->hsm);
    s->hsm = NULL;
    cJSON_Delete(s->cluster);
    s->cluster = NULL;
    return rc;
}

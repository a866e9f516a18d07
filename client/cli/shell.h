/* shell.h - what `chsmctl mgmt` and `chsmctl util` share: their arguments
 * (cfg file, -f script, singlecmd), the connection to the cluster named by an
 * azcloudhsm_resource.cfg, the read-eval loop over a terminal, a pipe or a
 * script, and the CAUTION y/n banner. */
#ifndef CHSMCTL_SHELL_H
#define CHSMCTL_SHELL_H

#include "cli.h"

#include <stdio.h>

typedef struct ctl_shell ctl_shell;

/* Runs one command line (argv[0] is the command); returns CHSMC_OK or the failure's code. */
typedef int (*ctl_shell_exec_fn)(ctl_shell *s, int argc, char **argv);
/* Splits a singlecmd argument list: returns how many words from argv[0] belong to the first
 * command (at least 1). */
typedef int (*ctl_shell_split_fn)(int argc, char **argv);
/* Writes the line to echo for argv with secrets masked. */
typedef void (*ctl_shell_mask_fn)(int argc, char **argv, char *out, size_t n);

struct ctl_shell {
    ctl *c;
    const char *name;   /* "mgmt" or "util" */
    const char *prompt; /* "cloudmgmt>" or "Command: " */
    ctl_shell_exec_fn exec;
    ctl_shell_split_fn split;
    ctl_shell_mask_fn mask;
    void (*banner)(ctl_shell *s); /* printed once connected */
    FILE *in;                     /* where commands and y/n answers come from */
    int interactive;              /* commands come from a terminal */
    int assume_yes;               /* --yes or singlecmd: the CAUTION banner answers itself */
    int quit;                     /* set by quit/exit */
    chsmc_resource_cfg cfg;
    char cfg_path[1024];
    chsmc_hsm *hsm;
    cJSON *cluster; /* GET /cluster, refreshed by ctl_shell_refresh */
};

/* ctl_shell_main parses `[--config FILE] [-f SCRIPT] [--yes] [CFG] [singlecmd CMD...]`, loads
 * the cfg, connects and runs the commands; returns the exit code (0 when every command
 * succeeded, else the first failure's code). usage is printed for --help. */
int ctl_shell_main(ctl_shell *s, const char *usage, int argc, char **argv);
/* ctl_shell_refresh reloads the cluster info; CHSMC_OK or an error (in e). */
int ctl_shell_refresh(ctl_shell *s, chsmc_error *e);
/* ctl_shell_node_count is the number of nodes in the cluster info (3 normally). */
int ctl_shell_node_count(const ctl_shell *s);
/* ctl_shell_node returns node i (0-based): its hostname and whether it is Connected. */
const char *ctl_shell_node(const ctl_shell *s, int i, int *connected);
/* ctl_shell_connected_count is the number of Connected nodes. */
int ctl_shell_connected_count(const ctl_shell *s);
/* ctl_shell_confirm prints the CAUTION banner and asks y/n (terminal), reads the answer line
 * (pipe/script) or answers y itself (--yes, singlecmd); returns 1 for yes. */
int ctl_shell_confirm(ctl_shell *s);

#endif

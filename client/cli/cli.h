/* cli.h - what chsmctl's command groups share: the invocation context (global
 * flags, the lazily created client), option parsing with --help, output in
 * json or table form, error reporting with the documented exit codes, ARM
 * requests with --wait, and the progress display. */
#ifndef CHSMCTL_CLI_H
#define CHSMCTL_CLI_H

#include "chsmc.h"
#include "chsmc_args.h"
#include "chsmc_arm.h"
#include "chsmc_client.h"
#include "chsmc_config.h"
#include "chsmc_hsm.h"
#include "chsmc_lro.h"

#include <cjson/cJSON.h>
#include <stdio.h>

#ifndef CHSM_VERSION
#define CHSM_VERSION "0.0.0"
#endif

#define CTL_HELP_SHOWN 100 /* ctl_parse: --help was printed; exit 0 */
#define CTL_DEFAULT_LOCATION "uksouth"
#define CTL_N(a) (sizeof(a) / sizeof((a)[0]))

typedef enum ctl_output { CTL_OUT_JSON = 0, CTL_OUT_TABLE } ctl_output;

/* One chsmctl invocation. */
typedef struct ctl {
    chsmc_endpoint_opts flags; /* from --endpoint, --ca-cert, --subscription, --data-dir */
    ctl_output output;
    int timeout_s; /* --timeout: bound for --wait (default 300) */
    int verbose;   /* --verbose: trace HTTP on stderr */
    int progress;  /* 1: progress indicator on a terminal, 0: plain lines */
    int quiet;     /* --quiet: no progress lines */
    chsmc_endpoint ep;
    chsmc_client *client; /* created by ctl_client */
} ctl;

/* A command of a group. */
typedef struct ctl_command {
    const char *name;
    int (*run)(ctl *c, int argc, char **argv);
    const char *summary;
} ctl_command;

/* A table column: header and a dotted JSON path ("properties.provisioningState"). */
typedef struct ctl_column {
    const char *header;
    const char *path;
} ctl_column;

/* ctl_group_run dispatches argv[0] among commands (printing the group's help for --help or
 * no command); returns the exit code. */
int ctl_group_run(ctl *c, const char *group, const char *summary, const ctl_command *cmds, int argc,
                  char **argv);

/* ctl_parse parses a command's options; prints usage on --help (returns CTL_HELP_SHOWN)
 * or a message plus usage on bad input (returns CHSMC_EUSAGE); 0 to go on. Positionals
 * must number between min_pos and max_pos. */
int ctl_parse(const char *usage, const chsmc_opt_spec *specs, size_t nspecs, int argc, char **argv,
              chsmc_opts *o, int min_pos, int max_pos);
/* ctl_done maps a ctl_parse result to an exit code (CTL_HELP_SHOWN -> 0). */
int ctl_done(int rc);

/* ctl_connect resolves the endpoint and creates c->client once; errors in e. */
int ctl_connect(ctl *c, chsmc_error *e);
/* ctl_error prints "chsmctl: what: message [code, HTTP n]" on stderr and returns rc. */
int ctl_error(const char *what, int rc, const chsmc_error *e);
/* ctl_usage_error prints "chsmctl: message" and returns CHSMC_EUSAGE. */
int ctl_usage_error(const char *fmt, ...) CHSMC_PRINTF(1, 2);

/* ctl_print_json prints j pretty on stdout (nothing for NULL). */
void ctl_print_json(const cJSON *j);
/* ctl_print prints one object (or an array of objects) as json or as a table of cols. */
void ctl_print(const ctl *c, const cJSON *j, const ctl_column *cols);
/* ctl_jstr returns the value at a dotted path as text in buf ("" when absent). */
const char *ctl_jstr(const cJSON *j, const char *path, char *buf, size_t n);
/* ctl_jget returns the item at a dotted path (array indexes allowed), or NULL. */
const cJSON *ctl_jget(const cJSON *j, const char *path);

/* ctl_wait_opts fills o for --wait with the progress display labelled what. */
void ctl_wait_opts(ctl *c, chsmc_wait_opts *o, const char *what);
/* ctl_progress_end ends a terminal progress line (newline) if one is open. */
void ctl_progress_end(void);

/* ctl_arm sends method to path with body; with wait follows the operation. On success
 * *result (may be NULL) gets the final body (or, without wait, the response body, plus
 * "location" naming the operation URL when there is one). Prints nothing; errors in e. */
int ctl_arm(ctl *c, const char *method, const char *path, const char *api, const cJSON *body,
            int wait, const char *what, cJSON **result, chsmc_error *e);
/* ctl_list GETs a collection following nextLink; *items gets all values (caller frees). */
int ctl_list(ctl *c, const char *path, const char *api, cJSON **items, chsmc_error *e);

/* ctl_resource_group returns -g/--resource-group or CHSM_RESOURCE_GROUP, or NULL. */
const char *ctl_resource_group(const chsmc_opts *o);
/* ctl_rg_path connects and writes the path of resource type/name in the resource group of
 * -g (name NULL: the collection); CHSMC_EUSAGE when -g is missing or a name is invalid. */
int ctl_rg_path(ctl *c, const chsmc_opts *o, const char *type, const char *name, char *out,
                size_t n, chsmc_error *e);
/* ctl_simple runs a show/delete-style command: method on type/NAME in -g (usage names the
 * command); prints the result as json/table with cols. */
int ctl_simple(ctl *c, const char *what, const char *usage, const char *method, const char *type,
               const char *api, const ctl_column *cols, int argc, char **argv);
/* ctl_identity_id writes the resource id of identity name_or_id in resource group rg. */
void ctl_identity_id(const ctl *c, const char *rg, const char *name_or_id, char *out, size_t n);

/* Command groups. */
int ctl_cmd_group(ctl *c, int argc, char **argv);
int ctl_cmd_identity(ctl *c, int argc, char **argv);
int ctl_cmd_cluster(ctl *c, int argc, char **argv);
int ctl_cmd_storage(ctl *c, int argc, char **argv);
int ctl_cmd_container(ctl *c, int argc, char **argv);
int ctl_cmd_role(ctl *c, int argc, char **argv);
int ctl_cmd_backup(ctl *c, int argc, char **argv);
int ctl_cmd_restore(ctl *c, int argc, char **argv);
int ctl_cmd_operation(ctl *c, int argc, char **argv);
int ctl_cmd_dr(ctl *c, int argc, char **argv);
int ctl_cmd_mgmt(ctl *c, int argc, char **argv);
int ctl_cmd_util(ctl *c, int argc, char **argv);
int ctl_cmd_emulator(ctl *c, int argc, char **argv);
int ctl_cmd_mhsm(ctl *c, int argc, char **argv);

/* Helpers shared by cluster, dr and the shells. */

/* ctl_cluster_path writes the ARM path of cluster name in rg. */
void ctl_cluster_path(const ctl *c, const char *rg, const char *name, char *out, size_t n);
/* ctl_cluster_fqdn GETs the cluster and writes its hsm1 FQDN; CHSMC_EHTTP when the cluster
 * has no HSM nodes yet (still provisioning). */
int ctl_cluster_fqdn(ctl *c, const char *rg, const char *name, char *fqdn, size_t n,
                     chsmc_error *e);
/* ctl_cluster_activate logs in as PRECO admin/preco_password and activates with password. */
int ctl_cluster_activate(ctl *c, const char *fqdn, const char *preco_password, const char *password,
                         chsmc_error *e);

#endif

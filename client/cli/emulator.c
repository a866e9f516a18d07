/* emulator.c - chsmctl emulator ...: the QA control surface under /_emulator/
 * (docs/qa.md): health, fault rules, the request journal, operations, the
 * clock, operation timing, reset, state export/import, snapshots and fixtures. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* call sends method to /_emulator/path with an optional JSON body and prints
 * the answer (json, or a table of cols when it is a {"value":[...]} list). */
static int call(ctl *c, const char *what, const char *method, const char *path, const cJSON *body,
                const ctl_column *cols)
{
    chsmc_error e;
    chsmc_error_clear(&e);
    int rc = ctl_connect(c, &e);
    if (rc != CHSMC_OK)
        return ctl_error(what, rc, &e);
    cJSON *json = NULL;
    rc = chsmc_arm_call(c->client, method, path, NULL, body, NULL, &json, &e);
    if (rc != CHSMC_OK)
        return ctl_error(what, rc, &e);
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(json, "value");
    if (json)
        ctl_print(c, cols && cJSON_IsArray(value) ? value : json, cols);
    cJSON_Delete(json);
    return CHSMC_OK;
}

/* json_arg reads a JSON argument given inline or as @FILE (caller frees). */
static cJSON *json_arg(const char *arg, const char *what)
{
    char *text = NULL;
    if (arg[0] == '@') {
        size_t len;
        text = chsmc_read_file(arg + 1, &len);
        if (!text) {
            ctl_usage_error("%s: cannot read %s", what, arg + 1);
            return NULL;
        }
    }
    cJSON *j = cJSON_Parse(text ? text : arg);
    free(text);
    if (!j)
        ctl_usage_error("%s: the argument is not valid JSON", what);
    return j;
}

static const chsmc_opt_spec help_only[] = {{"help", 'h', 0}};

static int cmd_health(ctl *c, int argc, char **argv)
{
    chsmc_opts o;
    int rc = ctl_parse("usage: chsmctl emulator health\nShows /_emulator/health.\n", help_only,
                       CTL_N(help_only), argc, argv, &o, 0, 0);
    return rc ? ctl_done(rc) : call(c, "emulator health", "GET", "/_emulator/health", NULL, NULL);
}

static const ctl_column fault_cols[] = {{"ID", "id"},
                                        {"OPERATION", "operation"},
                                        {"RESOURCE", "resource"},
                                        {"ACTION", "action.type"},
                                        {"FIRED", "fired"},
                                        {"EXPIRED", "expired"},
                                        {NULL, NULL}};

static int cmd_faults(ctl *c, int argc, char **argv)
{
    static const char usage[] =
        "usage: chsmctl emulator faults add RULE|@FILE\n"
        "       chsmctl emulator faults list | show ID | delete ID | clear | release ID\n"
        "Fault rules (docs/qa.md): RULE is the rule's JSON, e.g.\n"
        "  '{\"operation\":\"cloudHsmClusters/backup\",\"action\":{\"type\":\"failOperation\","
        "\"code\":\"BackupFailed\"}}'\n"
        "release lets operations stalled by rule ID finish.\n";
    chsmc_opts o;
    int rc = ctl_parse(usage, help_only, CTL_N(help_only), argc, argv, &o, 1, 2);
    if (rc)
        return ctl_done(rc);
    const char *verb = o.positionals[0];
    const char *arg = o.npositionals > 1 ? o.positionals[1] : NULL;
    char path[300];
    int needs_arg = strcmp(verb, "list") != 0 && strcmp(verb, "clear") != 0;
    if (needs_arg != (arg != NULL))
        return ctl_usage_error("emulator faults %s %s", verb,
                               needs_arg ? "needs an argument" : "takes no argument");
    if (strcmp(verb, "add") == 0) {
        cJSON *rule = json_arg(arg, "emulator faults add");
        if (!rule)
            return CHSMC_EUSAGE;
        rc = call(c, "emulator faults add", "POST", "/_emulator/faults", rule, fault_cols);
        cJSON_Delete(rule);
        return rc;
    }
    if (strcmp(verb, "list") == 0)
        return call(c, "emulator faults list", "GET", "/_emulator/faults", NULL, fault_cols);
    if (strcmp(verb, "clear") == 0)
        return call(c, "emulator faults clear", "DELETE", "/_emulator/faults", NULL, NULL);
    if (!chsmc_valid_name(arg, 48, "-_"))
        return ctl_usage_error("'%s' is not a fault rule id", arg);
    snprintf(path, sizeof path, "/_emulator/faults/%s", arg);
    if (strcmp(verb, "show") == 0)
        return call(c, "emulator faults show", "GET", path, NULL, fault_cols);
    if (strcmp(verb, "delete") == 0)
        return call(c, "emulator faults delete", "DELETE", path, NULL, NULL);
    if (strcmp(verb, "release") == 0) {
        strcat(path, "/release");
        return call(c, "emulator faults release", "POST", path, NULL, NULL);
    }
    return ctl_usage_error("'emulator faults %s' is not a command", verb);
}

static int cmd_requests(ctl *c, int argc, char **argv)
{
    static const chsmc_opt_spec specs[] = {{"help", 'h', 0}, {"limit", 'n', 1}};
    static const ctl_column cols[] = {
        {"TIME", "time"},     {"METHOD", "method"}, {"PATH", "path"}, {"STATUS", "status"},
        {"MS", "durationMs"}, {"FAULT", "fault"},   {NULL, NULL}};
    chsmc_opts o;
    int rc = ctl_parse("usage: chsmctl emulator requests [--limit N]\nThe request journal, "
                       "newest first (faults that fired included).\n",
                       specs, CTL_N(specs), argc, argv, &o, 0, 0);
    if (rc)
        return ctl_done(rc);
    const char *limit = chsmc_opts_get(&o, "limit");
    char path[64];
    int n = limit ? atoi(limit) : 100;
    if (n < 1 || n > 1000)
        return ctl_usage_error("--limit must be 1 to 1000");
    snprintf(path, sizeof path, "/_emulator/requests?limit=%d", n);
    return call(c, "emulator requests", "GET", path, NULL, cols);
}

static int cmd_operations(ctl *c, int argc, char **argv)
{
    static const chsmc_opt_spec specs[] = {{"help", 'h', 0}, {"code", 0, 1}, {"message", 0, 1}};
    static const ctl_column cols[] = {{"ID", "id"},
                                      {"KIND", "kind"},
                                      {"STATUS", "status"},
                                      {"%", "percentComplete"},
                                      {"STARTED", "startTime"},
                                      {"ERROR", "error.code"},
                                      {NULL, NULL}};
    static const char usage[] =
        "usage: chsmctl emulator operations list | show ID | complete ID |\n"
        "                                   fail ID [--code CODE] [--message TEXT]\n"
        "Long-running operations; complete finishes one now (releasing a stall), fail ends it.\n";
    chsmc_opts o;
    int rc = ctl_parse(usage, specs, CTL_N(specs), argc, argv, &o, 1, 2);
    if (rc)
        return ctl_done(rc);
    const char *verb = o.positionals[0];
    if (strcmp(verb, "list") == 0)
        return call(c, "emulator operations list", "GET", "/_emulator/operations", NULL, cols);
    if (o.npositionals < 2 || !chsmc_valid_name(o.positionals[1], 32, ""))
        return ctl_usage_error("emulator operations %s needs an operation id", verb);
    char path[128];
    snprintf(path, sizeof path, "/_emulator/operations/%s", o.positionals[1]);
    if (strcmp(verb, "show") == 0)
        return call(c, "emulator operations show", "GET", path, NULL, cols);
    if (strcmp(verb, "complete") == 0) {
        strcat(path, "/complete");
        return call(c, "emulator operations complete", "POST", path, NULL, cols);
    }
    if (strcmp(verb, "fail") == 0) {
        strcat(path, "/fail");
        cJSON *body = cJSON_CreateObject();
        const char *code = chsmc_opts_get(&o, "code");
        const char *message = chsmc_opts_get(&o, "message");
        if (code)
            cJSON_AddStringToObject(body, "code", code);
        if (message)
            cJSON_AddStringToObject(body, "message", message);
        rc = call(c, "emulator operations fail", "POST", path, body, cols);
        cJSON_Delete(body);
        return rc;
    }
    return ctl_usage_error("'emulator operations %s' is not a command", verb);
}

static int cmd_clock(ctl *c, int argc, char **argv)
{
    static const chsmc_opt_spec specs[] = {{"help", 'h', 0},  {"offset", 0, 1}, {"now", 0, 1},
                                           {"advance", 0, 1}, {"freeze", 0, 0}, {"run", 0, 0}};
    static const char usage[] =
        "usage: chsmctl emulator clock [--offset SECONDS | --now RFC3339 | --advance SECONDS]\n"
        "                              [--freeze | --run]\n"
        "Shows, or moves, the emulator's clock. --now freezes it at a time; --run lets it run.\n";
    chsmc_opts o;
    int rc = ctl_parse(usage, specs, CTL_N(specs), argc, argv, &o, 0, 0);
    if (rc)
        return ctl_done(rc);
    cJSON *body = cJSON_CreateObject();
    const char *offset = chsmc_opts_get(&o, "offset");
    const char *advance = chsmc_opts_get(&o, "advance");
    const char *now = chsmc_opts_get(&o, "now");
    if (offset)
        cJSON_AddNumberToObject(body, "offsetSeconds", atof(offset));
    if (advance)
        cJSON_AddNumberToObject(body, "advanceSeconds", atof(advance));
    if (now)
        cJSON_AddStringToObject(body, "now", now);
    if (chsmc_opts_has(&o, "freeze"))
        cJSON_AddTrueToObject(body, "frozen");
    if (chsmc_opts_has(&o, "run"))
        cJSON_AddFalseToObject(body, "frozen");
    int change = body->child != NULL;
    rc = call(c, "emulator clock", change ? "POST" : "GET", "/_emulator/clock",
              change ? body : NULL, NULL);
    cJSON_Delete(body);
    return rc;
}

/* timing_body builds the rule of `timing set KIND DURATION` (caller frees). */
static cJSON *timing_body(const chsmc_opts *o)
{
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "kind", o->positionals[1]);
    cJSON_AddStringToObject(body, "duration", o->positionals[2]);
    const char *steps = chsmc_opts_get(o, "steps");
    if (steps)
        cJSON_AddNumberToObject(body, "steps", atof(steps));
    const char *details = chsmc_opts_get(o, "details");
    if (details) {
        /* One text per step, separated by ';' (texts rarely hold one). */
        cJSON *arr = cJSON_AddArrayToObject(body, "statusDetails");
        const char *p = details;
        for (;;) {
            const char *semi = strchr(p, ';');
            size_t n = semi ? (size_t)(semi - p) : strlen(p);
            char *one = malloc(n + 1);
            if (one) {
                memcpy(one, p, n);
                one[n] = '\0';
                cJSON_AddItemToArray(arr, cJSON_CreateString(one));
                free(one);
            }
            if (!semi)
                break;
            p = semi + 1;
        }
    }
    return body;
}

static int cmd_timing(ctl *c, int argc, char **argv)
{
    static const chsmc_opt_spec specs[] = {{"help", 'h', 0}, {"steps", 0, 1}, {"details", 0, 1}};
    static const ctl_column cols[] = {{"KIND", "kind"},
                                      {"MS", "durationMs"},
                                      {"STEPS", "steps"},
                                      {"DETAILS", "statusDetails"},
                                      {NULL, NULL}};
    static const char usage[] =
        "usage: chsmctl emulator timing [list]\n"
        "       chsmctl emulator timing set KIND DURATION [--steps N] [--details 'A;B;C']\n"
        "       chsmctl emulator timing delete KIND | reset\n"
        "How long operations of a kind take (\"2s\", \"500ms\") and the progress steps they\n"
        "report (percentComplete, one status text per step); reset goes back to\n"
        "--op-duration. KIND is \"cloudHsmClusters/backup\", its last word, or \"*\".\n";
    chsmc_opts o;
    int rc = ctl_parse(usage, specs, CTL_N(specs), argc, argv, &o, 0, 3);
    if (rc)
        return ctl_done(rc);
    const char *verb = o.npositionals ? o.positionals[0] : "list";
    if (strcmp(verb, "list") == 0)
        return call(c, "emulator timing list", "GET", "/_emulator/timing", NULL, cols);
    if (strcmp(verb, "reset") == 0)
        return call(c, "emulator timing reset", "DELETE", "/_emulator/timing", NULL, cols);
    if (strcmp(verb, "set") == 0) {
        if (o.npositionals != 3)
            return ctl_usage_error("emulator timing set needs KIND and DURATION");
        cJSON *body = timing_body(&o);
        rc = call(c, "emulator timing set", "POST", "/_emulator/timing", body, cols);
        cJSON_Delete(body);
        return rc;
    }
    if (strcmp(verb, "delete") == 0) {
        if (o.npositionals != 2 || !chsmc_valid_name(o.positionals[1], 47, "/*"))
            return ctl_usage_error("emulator timing delete needs an operation kind");
        char path[128];
        snprintf(path, sizeof path, "/_emulator/timing?kind=%s", o.positionals[1]);
        return call(c, "emulator timing delete", "DELETE", path, NULL, cols);
    }
    return ctl_usage_error("'emulator timing %s' is not a command", verb);
}

static int cmd_reset(ctl *c, int argc, char **argv)
{
    static const chsmc_opt_spec specs[] = {
        {"help", 'h', 0}, {"keep-faults", 0, 0}, {"keep-timing", 0, 0}};
    chsmc_opts o;
    int rc = ctl_parse("usage: chsmctl emulator reset [--keep-faults] [--keep-timing]\nEmpties "
                       "all state (keeps the certificate and keys of the emulator itself).\n",
                       specs, CTL_N(specs), argc, argv, &o, 0, 0);
    if (rc)
        return ctl_done(rc);
    int kf = chsmc_opts_has(&o, "keep-faults"), kt = chsmc_opts_has(&o, "keep-timing");
    char path[96];
    snprintf(path, sizeof path, "/_emulator/reset%s%s%s", kf || kt ? "?" : "",
             kf ? "keepFaults=true" : "", kt ? (kf ? "&keepTiming=true" : "keepTiming=true") : "");
    return call(c, "emulator reset", "POST", path, NULL, NULL);
}

static int cmd_state(ctl *c, int argc, char **argv)
{
    static const chsmc_opt_spec specs[] = {
        {"help", 'h', 0}, {"out", 0, 1}, {"include-key-material", 0, 0}};
    static const char usage[] =
        "usage: chsmctl emulator state export [--out FILE] [--include-key-material]\n"
        "       chsmctl emulator state import FILE\n"
        "Exports the whole state as JSON, or replaces it with an export.\n";
    chsmc_opts o;
    int rc = ctl_parse(usage, specs, CTL_N(specs), argc, argv, &o, 1, 2);
    if (rc)
        return ctl_done(rc);
    chsmc_error e;
    chsmc_error_clear(&e);
    if (strcmp(o.positionals[0], "import") == 0) {
        if (o.npositionals != 2)
            return ctl_usage_error("emulator state import needs a FILE");
        char at[1100];
        snprintf(at, sizeof at, "@%s", o.positionals[1]);
        cJSON *state = json_arg(at, "emulator state import");
        if (!state)
            return CHSMC_EUSAGE;
        rc = call(c, "emulator state import", "PUT", "/_emulator/state", state, NULL);
        cJSON_Delete(state);
        return rc;
    }
    if (strcmp(o.positionals[0], "export") != 0 || o.npositionals != 1)
        return ctl_usage_error("emulator state takes export or import FILE");
    const char *out = chsmc_opts_get(&o, "out");
    if (!out)
        return call(c, "emulator state export", "GET",
                    chsmc_opts_has(&o, "include-key-material")
                        ? "/_emulator/state?includeKeyMaterial=true"
                        : "/_emulator/state",
                    NULL, NULL);
    rc = ctl_connect(c, &e);
    cJSON *json = NULL;
    if (rc == CHSMC_OK)
        rc = chsmc_arm_call(c->client, "GET",
                            chsmc_opts_has(&o, "include-key-material")
                                ? "/_emulator/state?includeKeyMaterial=true"
                                : "/_emulator/state",
                            NULL, NULL, NULL, &json, &e);
    if (rc != CHSMC_OK)
        return ctl_error("emulator state export", rc, &e);
    char *text = cJSON_PrintUnformatted(json);
    cJSON_Delete(json);
    rc = text ? chsmc_write_file(out, text, strlen(text), 0600) : CHSMC_ENOMEM;
    free(text);
    if (rc != CHSMC_OK) {
        fprintf(stderr, "chsmctl: emulator state export: cannot write %s\n", out);
        return CHSMC_EIO;
    }
    return CHSMC_OK;
}

static int cmd_snapshot(ctl *c, int argc, char **argv)
{
    static const char usage[] = "usage: chsmctl emulator snapshot save|restore|delete NAME\n"
                                "       chsmctl emulator snapshot list\n"
                                "Named, consistent snapshots of the whole state.\n";
    static const ctl_column cols[] = {{"NAME", "name"}, {"CREATED", "createdAt"}, {NULL, NULL}};
    chsmc_opts o;
    int rc = ctl_parse(usage, help_only, CTL_N(help_only), argc, argv, &o, 1, 2);
    if (rc)
        return ctl_done(rc);
    const char *verb = o.positionals[0];
    if (strcmp(verb, "list") == 0)
        return call(c, "emulator snapshot list", "GET", "/_emulator/snapshots", NULL, cols);
    if (o.npositionals != 2 || !chsmc_valid_name(o.positionals[1], 64, "-_"))
        return ctl_usage_error("emulator snapshot %s needs a NAME (letters, digits, - and _)",
                               verb);
    char path[128];
    snprintf(path, sizeof path, "/_emulator/snapshots/%s", o.positionals[1]);
    if (strcmp(verb, "save") == 0)
        return call(c, "emulator snapshot save", "POST", path, NULL, cols);
    if (strcmp(verb, "delete") == 0)
        return call(c, "emulator snapshot delete", "DELETE", path, NULL, NULL);
    if (strcmp(verb, "restore") == 0) {
        strcat(path, "/restore");
        return call(c, "emulator snapshot restore", "POST", path, NULL, NULL);
    }
    return ctl_usage_error("'emulator snapshot %s' is not a command", verb);
}

static int cmd_fixture(ctl *c, int argc, char **argv)
{
    static const char usage[] =
        "usage: chsmctl emulator fixture list\n"
        "       chsmctl emulator fixture load NAME|FILE\n"
        "Loads a built-in fixture by name (tutorial-ready, ...) or a fixture file.\n";
    static const ctl_column cols[] = {
        {"NAME", "name"}, {"DESCRIPTION", "description"}, {NULL, NULL}};
    chsmc_opts o;
    int rc = ctl_parse(usage, help_only, CTL_N(help_only), argc, argv, &o, 1, 2);
    if (rc)
        return ctl_done(rc);
    if (strcmp(o.positionals[0], "list") == 0)
        return call(c, "emulator fixture list", "GET", "/_emulator/fixtures", NULL, cols);
    if (strcmp(o.positionals[0], "load") != 0 || o.npositionals != 2)
        return ctl_usage_error("emulator fixture takes list or load NAME|FILE");
    const char *arg = o.positionals[1];
    cJSON *body;
    if (strchr(arg, '/') || strstr(arg, ".json")) {
        char at[1100];
        snprintf(at, sizeof at, "@%s", arg);
        body = json_arg(at, "emulator fixture load");
        if (!body)
            return CHSMC_EUSAGE;
    } else {
        body = cJSON_CreateObject();
        cJSON_AddStringToObject(body, "name", arg);
    }
    rc = call(c, "emulator fixture load", "POST", "/_emulator/fixtures", body, NULL);
    cJSON_Delete(body);
    return rc;
}

int ctl_cmd_emulator(ctl *c, int argc, char **argv)
{
    static const ctl_command cmds[] = {
        {"health", cmd_health, "is the emulator ready"},
        {"faults", cmd_faults, "fault rules: add, list, show, delete, clear, release"},
        {"requests", cmd_requests, "the request journal"},
        {"operations", cmd_operations, "long-running operations: list, show, complete, fail"},
        {"clock", cmd_clock, "show or move the emulator's clock"},
        {"timing", cmd_timing, "operation durations and progress steps"},
        {"reset", cmd_reset, "empty all state"},
        {"state", cmd_state, "export or import the whole state"},
        {"snapshot", cmd_snapshot, "save, restore, list, delete snapshots"},
        {"fixture", cmd_fixture, "list or load fixtures"},
        {NULL, NULL, NULL},
    };
    return ctl_group_run(c, "emulator", "The QA control surface (docs/qa.md).", cmds, argc, argv);
}

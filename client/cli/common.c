/* common.c - the helpers every chsmctl command group uses. */
#include "cli.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int ctl_group_run(ctl *c, const char *group, const char *summary, const ctl_command *cmds, int argc,
                  char **argv)
{
    int help = argc == 0 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0 ||
               strcmp(argv[0], "help") == 0;
    if (!help) {
        for (const ctl_command *k = cmds; k->name; k++)
            if (strcmp(k->name, argv[0]) == 0)
                return k->run(c, argc - 1, argv + 1);
        fprintf(stderr, "chsmctl: '%s %s' is not a command.\n", group, argv[0]);
    }
    FILE *f = help && argc > 0 ? stdout : stderr;
    fprintf(f, "usage: chsmctl %s COMMAND [options]\n\n%s\n\nCommands:\n", group, summary);
    for (const ctl_command *k = cmds; k->name; k++)
        fprintf(f, "  %-14s %s\n", k->name, k->summary);
    fprintf(f, "\nRun 'chsmctl %s COMMAND --help' for a command's options.\n", group);
    return help && argc > 0 ? 0 : CHSMC_EUSAGE;
}

int ctl_parse(const char *usage, const chsmc_opt_spec *specs, size_t nspecs, int argc, char **argv,
              chsmc_opts *o, int min_pos, int max_pos)
{
    char err[256];
    if (chsmc_opts_parse(specs, nspecs, argc, argv, o, err, sizeof err) != CHSMC_OK) {
        fprintf(stderr, "chsmctl: %s\n%s", err, usage);
        return CHSMC_EUSAGE;
    }
    if (chsmc_opts_has(o, "help")) {
        fputs(usage, stdout);
        return CTL_HELP_SHOWN;
    }
    if (o->npositionals < min_pos || o->npositionals > max_pos) {
        fprintf(stderr, "chsmctl: %s\n%s",
                o->npositionals < min_pos ? "missing argument" : "too many arguments", usage);
        return CHSMC_EUSAGE;
    }
    return 0;
}

int ctl_done(int rc)
{
    return rc == CTL_HELP_SHOWN ? 0 : rc;
}

static void trace_line(void *ctx, const char *line)
{
    (void)ctx;
    ctl_progress_end();
    fprintf(stderr, "%s\n", line);
}

int ctl_connect(ctl *c, chsmc_error *e)
{
    if (c->client)
        return CHSMC_OK;
    int rc = chsmc_endpoint_resolve(&c->flags, &c->ep, e);
    if (rc == CHSMC_OK)
        rc = chsmc_client_new(&c->ep, &c->client, e);
    if (rc != CHSMC_OK)
        return rc;
    if (c->verbose) {
        fprintf(stderr, "endpoint %s (from %s), CA %s, subscription %s\n", c->ep.arm_url,
                c->ep.source, c->ep.ca_cert[0] ? c->ep.ca_cert : "(system)", c->ep.subscription);
        chsmc_client_set_trace(c->client, trace_line, NULL);
    }
    return CHSMC_OK;
}

int ctl_error(const char *what, int rc, const chsmc_error *e)
{
    ctl_progress_end();
    if (!e || (!e->code[0] && !e->message[0])) {
        fprintf(stderr, "chsmctl: %s failed (%s)\n", what, chsmc_status_name(rc));
        return rc;
    }
    fprintf(stderr, "chsmctl: %s: %s", what, e->message[0] ? e->message : "failed");
    if (e->code[0] && e->http_status)
        fprintf(stderr, " [%s, HTTP %ld]", e->code, e->http_status);
    else if (e->code[0])
        fprintf(stderr, " [%s]", e->code);
    fputc('\n', stderr);
    return rc;
}

int ctl_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("chsmctl: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return CHSMC_EUSAGE;
}

void ctl_print_json(const cJSON *j)
{
    if (!j)
        return;
    char *s = cJSON_Print(j);
    if (s) {
        fputs(s, stdout);
        fputc('\n', stdout);
        free(s);
    }
}

const cJSON *ctl_jget(const cJSON *j, const char *path)
{
    char key[128];
    const char *p = path;
    while (j && *p) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        snprintf(key, sizeof key, "%.*s", (int)len, p);
        if (cJSON_IsArray(j)) {
            char *end = NULL;
            long idx = strtol(key, &end, 10);
            j = end && !*end ? cJSON_GetArrayItem(j, (int)idx) : NULL;
        } else {
            j = cJSON_GetObjectItemCaseSensitive(j, key);
        }
        p = dot ? dot + 1 : p + len;
    }
    return j;
}

const char *ctl_jstr(const cJSON *j, const char *path, char *buf, size_t n)
{
    const cJSON *v = ctl_jget(j, path);
    buf[0] = '\0';
    if (cJSON_IsString(v))
        chsmc_copy(buf, n, v->valuestring);
    else if (cJSON_IsNumber(v))
        snprintf(buf, n, "%.15g", v->valuedouble);
    else if (cJSON_IsBool(v))
        chsmc_copy(buf, n, cJSON_IsTrue(v) ? "true" : "false");
    else if (v && !cJSON_IsNull(v)) {
        char *s = cJSON_PrintUnformatted(v);
        chsmc_copy(buf, n, s);
        free(s);
    }
    return buf;
}

void ctl_print(const ctl *c, const cJSON *j, const ctl_column *cols)
{
    if (!j)
        return;
    if (c->output == CTL_OUT_JSON || !cols) {
        ctl_print_json(j);
        return;
    }
    int ncols = 0;
    while (cols[ncols].header)
        ncols++;
    size_t width[16] = {0};
    int nrows = cJSON_IsArray(j) ? cJSON_GetArraySize(j) : 1;
    char buf[512];
    for (int k = 0; k < ncols && k < 16; k++) {
        width[k] = strlen(cols[k].header);
        for (int r = 0; r < nrows; r++) {
            const cJSON *row = cJSON_IsArray(j) ? cJSON_GetArrayItem(j, r) : j;
            size_t l = strlen(ctl_jstr(row, cols[k].path, buf, sizeof buf));
            if (l > width[k])
                width[k] = l;
        }
    }
    for (int k = 0; k < ncols && k < 16; k++)
        printf("%-*s%s", k + 1 < ncols ? (int)width[k] : 0, cols[k].header,
               k + 1 < ncols ? "  " : "\n");
    for (int k = 0; k < ncols && k < 16; k++) {
        for (size_t i = 0; i < width[k]; i++)
            putchar('-');
        printf("%s", k + 1 < ncols ? "  " : "\n");
    }
    for (int r = 0; r < nrows; r++) {
        const cJSON *row = cJSON_IsArray(j) ? cJSON_GetArrayItem(j, r) : j;
        for (int k = 0; k < ncols && k < 16; k++)
            printf("%-*s%s", k + 1 < ncols ? (int)width[k] : 0,
                   ctl_jstr(row, cols[k].path, buf, sizeof buf), k + 1 < ncols ? "  " : "\n");
    }
}

/* ---- progress ---- */

typedef struct progress {
    const char *what;
    int tty;
    int quiet;
} progress;

static progress prog;
static int line_open;

void ctl_progress_end(void)
{
    if (line_open) {
        fputc('\n', stderr);
        line_open = 0;
    }
}

static void on_progress(void *ctx, const char *status, long long elapsed_ms, int changed)
{
    progress *p = ctx;
    if (p->quiet)
        return;
    if (p->tty) {
        static const char spin[] = "|/-\\";
        static unsigned tick;
        fprintf(stderr, "\r\033[K%s: %s %c %llds", p->what, status, spin[tick++ % 4],
                elapsed_ms / 1000);
        line_open = 1;
    } else if (changed) {
        fprintf(stderr, "%s: %s\n", p->what, status);
    }
    fflush(stderr);
}

void ctl_wait_opts(ctl *c, chsmc_wait_opts *o, const char *what)
{
    memset(o, 0, sizeof *o);
    o->timeout_s = c->timeout_s;
    prog.what = what;
    prog.tty = c->progress;
    prog.quiet = c->quiet;
    o->progress = on_progress;
    o->progress_ctx = &prog;
}

/* ---- ARM ---- */

int ctl_arm(ctl *c, const char *method, const char *path, const char *api, const cJSON *body,
            int wait, const char *what, cJSON **result, chsmc_error *e)
{
    if (result)
        *result = NULL;
    int rc = ctl_connect(c, e);
    if (rc != CHSMC_OK)
        return rc;
    chsmc_client *cl = c->client;
    chsmc_response r;
    rc = chsmc_arm_request(cl, method, path, api, body, &r, e);
    if (rc != CHSMC_OK)
        return rc;
    if (r.status >= 400) {
        chsmc_error_parse(r.body, r.status, e);
        chsmc_response_clear(&r);
        return CHSMC_EHTTP;
    }
    if (wait) {
        chsmc_wait_opts o;
        ctl_wait_opts(c, &o, what);
        rc = chsmc_lro_wait(cl, method, path, api, &r, &o, result, e);
        ctl_progress_end();
    } else if (result) {
        *result = chsmc_response_json(&r);
        char loc[2048];
        if ((chsmc_response_header(&r, "Azure-AsyncOperation", loc, sizeof loc) ||
             chsmc_response_header(&r, "Location", loc, sizeof loc)) &&
            loc[0]) {
            if (!*result)
                *result = cJSON_CreateObject();
            if (cJSON_IsObject(*result) && !cJSON_GetObjectItem(*result, "location")) {
                cJSON_AddStringToObject(*result, "location", loc);
                cJSON_AddNumberToObject(*result, "status", (double)r.status);
            }
        }
    }
    chsmc_response_clear(&r);
    return rc;
}

int ctl_list(ctl *c, const char *path, const char *api, cJSON **items, chsmc_error *e)
{
    *items = NULL;
    int rc = ctl_connect(c, e);
    if (rc != CHSMC_OK)
        return rc;
    chsmc_client *cl = c->client;
    cJSON *all = cJSON_CreateArray();
    char *next = chsmc_arm_url(cl, path, api);
    for (int page = 0; next && page < 1000; page++) {
        cJSON *j = NULL;
        rc = chsmc_arm_call(cl, "GET", next, NULL, NULL, NULL, &j, e);
        free(next);
        next = NULL;
        if (rc != CHSMC_OK)
            break;
        cJSON *value = cJSON_GetObjectItemCaseSensitive(j, "value");
        cJSON *it;
        cJSON_ArrayForEach(it, value) cJSON_AddItemToArray(all, cJSON_Duplicate(it, 1));
        const char *nl = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "nextLink"));
        if (nl && *nl)
            next = strdup(nl);
        cJSON_Delete(j);
    }
    free(next);
    if (rc != CHSMC_OK) {
        cJSON_Delete(all);
        return rc;
    }
    *items = all;
    return CHSMC_OK;
}

const char *ctl_resource_group(const chsmc_opts *o)
{
    const char *g = chsmc_opts_get(o, "resource-group");
    if (!g || !*g)
        g = getenv("CHSM_RESOURCE_GROUP");
    return g && *g ? g : NULL;
}

void ctl_identity_id(const ctl *c, const char *rg, const char *name_or_id, char *out, size_t n)
{
    if (name_or_id[0] == '/') {
        chsmc_copy(out, n, name_or_id);
        return;
    }
    /* The tutorial pastes MSI ids with a lowercase "resourcegroups", as MSI returns them. */
    snprintf(out, n, "/subscriptions/%s/resourcegroups/%s/providers/" CHSMC_TYPE_MSI "/%s",
             c->ep.subscription, rg ? rg : "", name_or_id);
}

void ctl_cluster_path(const ctl *c, const char *rg, const char *name, char *out, size_t n)
{
    chsmc_path_resource(c->ep.subscription, rg, CHSMC_TYPE_CLUSTER, name, out, n);
}

int ctl_cluster_fqdn(ctl *c, const char *rg, const char *name, char *fqdn, size_t n, chsmc_error *e)
{
    char path[600];
    int rc = ctl_connect(c, e);
    if (rc != CHSMC_OK)
        return rc;
    ctl_cluster_path(c, rg, name, path, sizeof path);
    cJSON *j = NULL;
    rc = chsmc_arm_call(c->client, "GET", path, CHSMC_API_CLOUDHSM, NULL, NULL, &j, e);
    if (rc != CHSMC_OK)
        return rc;
    const char *f = cJSON_GetStringValue(ctl_jget(j, "properties.hsms.0.fqdn"));
    if (!f) {
        char ps[64];
        ctl_jstr(j, "properties.provisioningState", ps, sizeof ps);
        cJSON_Delete(j);
        return chsmc_error_set(e, CHSMC_EHTTP, "ClusterNotReady",
                               "the cluster '%s' has no HSM nodes yet (provisioningState %s); "
                               "wait for it (cluster create --wait)",
                               name, ps[0] ? ps : "unknown");
    }
    chsmc_copy(fqdn, n, f);
    cJSON_Delete(j);
    return CHSMC_OK;
}

int ctl_cluster_activate(ctl *c, const char *fqdn, const char *preco_password, const char *password,
                         chsmc_error *e)
{
    chsmc_hsm *h = NULL;
    int rc = ctl_connect(c, e);
    if (rc == CHSMC_OK)
        rc = chsmc_hsm_open(c->client, fqdn, &h, e);
    if (rc != CHSMC_OK)
        return rc;
    rc = chsmc_hsm_login(h, "PRECO", "admin", preco_password, e);
    if (rc == CHSMC_OK) {
        rc = chsmc_hsm_activate(h, password, e);
        chsmc_error e2;
        chsmc_hsm_logout(h, &e2);
    }
    chsmc_hsm_free(h);
    return rc;
}

int ctl_rg_path(ctl *c, const chsmc_opts *o, const char *type, const char *name, char *out,
                size_t n, chsmc_error *e)
{
    int rc = ctl_connect(c, e);
    if (rc != CHSMC_OK)
        return rc;
    const char *rg = ctl_resource_group(o);
    if (!rg)
        return chsmc_error_set(e, CHSMC_EUSAGE, "MissingResourceGroup",
                               "name the resource group with -g/--resource-group (or set "
                               "CHSM_RESOURCE_GROUP)");
    if (!chsmc_valid_name(rg, 90, "-_.()"))
        return chsmc_error_set(e, CHSMC_EUSAGE, "InvalidName",
                               "'%s' is not a valid resource group name", rg);
    if (name && !chsmc_valid_name(name, 128, "-_."))
        return chsmc_error_set(e, CHSMC_EUSAGE, "InvalidName", "'%s' is not a valid name", name);
    if (chsmc_path_resource(c->ep.subscription, rg, type, name, out, n) != 0)
        return chsmc_error_set(e, CHSMC_EUSAGE, "InvalidName", "the names are too long");
    return CHSMC_OK;
}

int ctl_simple(ctl *c, const char *what, const char *usage, const char *method, const char *type,
               const char *api, const ctl_column *cols, int argc, char **argv)
{
    static const chsmc_opt_spec specs[] = {
        {"help", 'h', 0}, {"resource-group", 'g', 1}, {"wait", 0, 0}};
    chsmc_opts o;
    int rc = ctl_parse(usage, specs, CTL_N(specs), argc, argv, &o, 1, 1);
    if (rc)
        return ctl_done(rc);
    chsmc_error e;
    chsmc_error_clear(&e);
    char path[700];
    cJSON *res = NULL;
    rc = ctl_rg_path(c, &o, type, o.positionals[0], path, sizeof path, &e);
    if (rc == CHSMC_OK)
        rc = ctl_arm(c, method, path, api, NULL, chsmc_opts_has(&o, "wait"), what, &res, &e);
    if (rc != CHSMC_OK)
        return ctl_error(what, rc, &e);
    if (strcmp(method, "GET") == 0)
        ctl_print(c, res, cols);
    else
        ctl_print_json(res);
    cJSON_Delete(res);
    return CHSMC_OK;
}

/* config.c - defaults and command-line flags. */
#include "app/config.h"

#include "util/status.h"
#include "util/text.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "Usage: chsm-emulator [options]\n"
    "\n"
    "A local emulator of the Azure Cloud HSM and Azure Backup ARM endpoints.\n"
    "\n"
    "  --listen ADDR:PORT       ARM listener (default 127.0.0.1:8443; port 0 picks a free one)\n"
    "  --blob-listen ADDR:PORT  Blob listener (default 127.0.0.1:10000)\n"
    "  --data-dir DIR           state directory (default ./.chsm-data)\n"
    "  --in-memory              keep state in memory; nothing survives exit\n"
    "  --tls-cert FILE          PEM certificate chain to serve (default: generated)\n"
    "  --tls-key FILE           PEM private key of --tls-cert\n"
    "  --no-tls                 serve plain HTTP\n"
    "  --threads N              HTTP worker threads (default: number of cores)\n"
    "  --max-body BYTES         ARM request body limit (default 4194304)\n"
    "  --max-blob-body BYTES    Blob request body limit (default 5368709120)\n"
    "  --request-timeout SECS   idle connection timeout (default 120)\n"
    "  --op-duration KIND=DUR[:STEPS]  how long operations of KIND take and in how many\n"
    "                           progress steps, e.g. backup=2s:4,restore=500ms\n"
    "                           (repeatable or comma-separated; default 0: done by the first "
    "poll)\n"
    "  --strict-auth            accept only unexpired tokens signed by this emulator\n"
    "  --loose-api-version      accept any api-version (for SDKs newer than the emulator)\n"
    "  --log-level LEVEL        error, warn, info (default) or debug\n"
    "  --faults FILE            fault rules to arm at start (see docs/qa.md)\n"
    "  --fixture FILE           load a starting state (repeatable; see fixtures/)\n"
    "  --seed N                 make every generated id deterministic\n"
    "  --no-control             turn off the /_emulator/ QA control surface\n"
    "  --fsync                  fsync every commit (survive power loss; default survives\n"
    "                           any process crash, kill -9 included)\n"
    "  --hsm-max-keys N         key handles a simulated cluster holds (default 3200, the\n"
    "                           service's limit; raise it for load tests)\n"
    "  --key-pool N             RSA-2048 key pairs kept ready for HSM key generation\n"
    "                           (default 2; 0 generates each on demand)\n"
    "  --help                   show this text\n"
    "  --version                print the version\n";

const char *chsm_config_usage(void)
{
    return usage;
}

void chsm_config_defaults(chsm_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    strcpy(cfg->arm_host, "127.0.0.1");
    cfg->arm_port = 8443;
    strcpy(cfg->blob_host, "127.0.0.1");
    cfg->blob_port = 10000;
    strcpy(cfg->data_dir, ".chsm-data");
    cfg->tls = 1;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    cfg->threads = cores > 0 ? (int)cores : 2;
    cfg->arm_body_limit = 4u * 1024 * 1024;
    cfg->blob_body_limit = (size_t)5 * 1024 * 1024 * 1024;
    cfg->request_timeout_s = 120;
    cfg->log_level = CHSM_LOG_INFO;
    cfg->key_pool = 2;
    cfg->hsm_max_keys = 3200;
}

int chsm_config_parse_duration(const char *text, int64_t *ms)
{
    char *end = NULL;
    if (!text || !isdigit((unsigned char)*text))
        return CHSM_EINVAL;
    double v = strtod(text, &end);
    double scale;
    if (strcmp(end, "ms") == 0)
        scale = 1;
    else if (strcmp(end, "s") == 0 || *end == '\0')
        scale = 1000;
    else if (strcmp(end, "m") == 0)
        scale = 60000;
    else
        return CHSM_EINVAL;
    if (v < 0 || v * scale > 86400000.0)
        return CHSM_EINVAL;
    *ms = (int64_t)(v * scale);
    return CHSM_OK;
}

static int parse_host_port(const char *arg, char *host, size_t hostlen, int *port)
{
    const char *colon = strrchr(arg, ':');
    if (!colon)
        return CHSM_EINVAL;
    size_t hn = (size_t)(colon - arg);
    const char *h = arg;
    if (hn >= 2 && h[0] == '[' && h[hn - 1] == ']') {
        h++;
        hn -= 2;
    }
    if (hn == 0 || hn >= hostlen)
        return CHSM_EINVAL;
    char *end = NULL;
    long p = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || p < 0 || p > 65535)
        return CHSM_EINVAL;
    memcpy(host, h, hn);
    host[hn] = '\0';
    *port = (int)p;
    return CHSM_OK;
}

static int add_op_durations(chsm_config *cfg, const char *arg)
{
    char *copy = chsm_strdup(arg);
    if (!copy)
        return CHSM_ENOMEM;
    int rc = CHSM_OK;
    char *save = NULL;
    for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '=');
        int64_t ms;
        long steps = 1;
        char *colon = eq ? strchr(eq + 1, ':') : NULL;
        if (colon) {
            char *end = NULL;
            *colon = '\0';
            steps = strtol(colon + 1, &end, 10);
            if (!colon[1] || *end || steps < 1 || steps > 100)
                steps = -1;
        }
        if (!eq || eq == item || (size_t)(eq - item) >= sizeof cfg->op_durations[0].kind ||
            chsm_config_parse_duration(eq + 1, &ms) != CHSM_OK || steps < 1 ||
            cfg->nop_durations >= CHSM_MAX_OP_DURATIONS) {
            rc = CHSM_EINVAL;
            break;
        }
        chsm_op_duration *d = &cfg->op_durations[cfg->nop_durations++];
        memcpy(d->kind, item, (size_t)(eq - item));
        d->kind[eq - item] = '\0';
        d->ms = ms;
        d->steps = (int)steps;
    }
    free(copy);
    return rc;
}

static int parse_size(const char *arg, size_t *out)
{
    char *end = NULL;
    if (!arg || !isdigit((unsigned char)*arg))
        return CHSM_EINVAL;
    unsigned long long v = strtoull(arg, &end, 10);
    if (*end || v == 0)
        return CHSM_EINVAL;
    *out = (size_t)v;
    return CHSM_OK;
}

int chsm_config_parse(chsm_config *cfg, int argc, char **argv, char *out, size_t outlen)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = 1, bad = 0;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            snprintf(out, outlen, "%s", usage);
            return 1;
        } else if (strcmp(a, "--version") == 0) {
            snprintf(out, outlen, "chsm-emulator %s\n", CHSM_VERSION);
            return 1;
        } else if (strcmp(a, "--in-memory") == 0) {
            cfg->in_memory = 1, takes = 0;
        } else if (strcmp(a, "--no-tls") == 0) {
            cfg->tls = 0, takes = 0;
        } else if (strcmp(a, "--strict-auth") == 0) {
            cfg->strict_auth = 1, takes = 0;
        } else if (strcmp(a, "--loose-api-version") == 0) {
            cfg->loose_api_version = 1, takes = 0;
        } else if (strcmp(a, "--no-control") == 0) {
            cfg->no_control = 1, takes = 0;
        } else if (strcmp(a, "--fsync") == 0) {
            cfg->fsync = 1, takes = 0;
        } else if (!v) {
            snprintf(out, outlen, "unknown option or missing value: %s\n", a);
            return CHSM_EINVAL;
        } else if (strcmp(a, "--listen") == 0) {
            bad = parse_host_port(v, cfg->arm_host, sizeof cfg->arm_host, &cfg->arm_port);
        } else if (strcmp(a, "--blob-listen") == 0) {
            bad = parse_host_port(v, cfg->blob_host, sizeof cfg->blob_host, &cfg->blob_port);
        } else if (strcmp(a, "--data-dir") == 0) {
            bad = strlen(v) >= sizeof cfg->data_dir || !*v;
            if (!bad)
                snprintf(cfg->data_dir, sizeof cfg->data_dir, "%s", v);
        } else if (strcmp(a, "--tls-cert") == 0) {
            bad = strlen(v) >= sizeof cfg->tls_cert;
            if (!bad)
                snprintf(cfg->tls_cert, sizeof cfg->tls_cert, "%s", v);
        } else if (strcmp(a, "--tls-key") == 0) {
            bad = strlen(v) >= sizeof cfg->tls_key;
            if (!bad)
                snprintf(cfg->tls_key, sizeof cfg->tls_key, "%s", v);
        } else if (strcmp(a, "--threads") == 0) {
            cfg->threads = atoi(v);
            bad = cfg->threads < 1 || cfg->threads > 256;
        } else if (strcmp(a, "--hsm-max-keys") == 0) {
            char *end = NULL;
            long n = strtol(v, &end, 10);
            bad = !*v || *end || n < 1 || n > 1000000;
            cfg->hsm_max_keys = (int)n;
        } else if (strcmp(a, "--key-pool") == 0) {
            char *end = NULL;
            long n = strtol(v, &end, 10);
            bad = !*v || *end || n < 0 || n > 8;
            cfg->key_pool = (int)n;
        } else if (strcmp(a, "--max-body") == 0) {
            bad = parse_size(v, &cfg->arm_body_limit);
        } else if (strcmp(a, "--max-blob-body") == 0) {
            bad = parse_size(v, &cfg->blob_body_limit);
        } else if (strcmp(a, "--request-timeout") == 0) {
            cfg->request_timeout_s = atoi(v);
            bad = cfg->request_timeout_s < 1;
        } else if (strcmp(a, "--op-duration") == 0) {
            bad = add_op_durations(cfg, v);
        } else if (strcmp(a, "--faults") == 0) {
            bad = strlen(v) >= sizeof cfg->faults_file;
            if (!bad)
                snprintf(cfg->faults_file, sizeof cfg->faults_file, "%s", v);
        } else if (strcmp(a, "--fixture") == 0) {
            bad = strlen(v) >= sizeof cfg->fixtures[0] || cfg->nfixtures >= CHSM_MAX_FIXTURES;
            if (!bad)
                snprintf(cfg->fixtures[cfg->nfixtures++], sizeof cfg->fixtures[0], "%s", v);
        } else if (strcmp(a, "--seed") == 0) {
            char *end = NULL;
            cfg->seed = strtoull(v, &end, 10);
            bad = !isdigit((unsigned char)*v) || *end;
            cfg->seeded = !bad;
        } else if (strcmp(a, "--log-level") == 0) {
            static const char *const levels[] = {"error", "warn", "info", "debug"};
            bad = 1;
            for (int l = 0; l < 4; l++)
                if (strcmp(v, levels[l]) == 0)
                    cfg->log_level = l, bad = 0;
        } else {
            snprintf(out, outlen, "unknown option: %s\n", a);
            return CHSM_EINVAL;
        }
        if (bad) {
            snprintf(out, outlen, "invalid value for %s: '%s'\n", a, v);
            return CHSM_EINVAL;
        }
        i += takes;
    }
    if ((cfg->tls_cert[0] != '\0') != (cfg->tls_key[0] != '\0')) {
        snprintf(out, outlen, "--tls-cert and --tls-key go together\n");
        return CHSM_EINVAL;
    }
    return 0;
}

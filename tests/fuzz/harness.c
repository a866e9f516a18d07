/* harness.c - the shared part of the libFuzzer harnesses (see harness.h). */
#include "harness.h"

#include "app/files.h"
#include "app/log.h"
#include "control/faults.h"
#include "store/admin.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/ids.h"
#include "util/status.h"
#include "util/text.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The most headers one fuzzed request carries (the server's own limit is
 * on bytes; this only keeps inputs cheap). */
#define FUZZ_MAX_HEADERS 64

void (*fuzz_prepare_hook)(chsm_request *req);

chsm_app *fuzz_app_open(void)
{
    /* libFuzzer ends a timed run with exit() and never closes the app, so
     * OpenSSL's exit-time cleanup would run under any thread still using it
     * (the signing key's maker): keep OpenSSL alive until the process ends. */
    OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL);
    chsm_config cfg;
    chsm_config_defaults(&cfg);
    cfg.in_memory = 1;
    cfg.seeded = 1;
    cfg.seed = 1;
    cfg.log_level = CHSM_LOG_ERROR;
    cfg.nfixtures = 0;
    cfg.key_pool = 0; /* no background key maker: inputs replay the same way */
    cfg.faults_file[0] = '\0';
    chsm_log_set_level(CHSM_LOG_ERROR);
    chsm_app *app = NULL;
    char err[512] = "";
    if (chsm_app_open(&cfg, &app, err, sizeof err) != CHSM_OK) {
        fprintf(stderr, "fuzz: cannot open the emulator: %s\n", err);
        abort();
    }
    return app;
}

int fuzz_send(chsm_app *app, int listener, const char *method, const char *url,
              const char *const *headers, const void *body, size_t body_len, cJSON **json)
{
    if (json)
        *json = NULL;
    chsm_request req;
    chsm_response res;
    chsm_request_init(&req, app, method);
    chsm_response_init(&res);
    req.listener = listener;
    snprintf(req.base_url, sizeof req.base_url, "%s",
             listener == CHSM_LISTENER_BLOB ? "https://127.0.0.1:10000" : "https://127.0.0.1:8443");
    chsm_uuid(req.request_id);
    int status = 0;
    const char *q = strchr(url, '?');
    char *path = chsm_strndup(url, q ? (size_t)(q - url) : strlen(url));
    int rc = strlen(method) < sizeof req.method && path ? chsm_request_set_path(&req, path)
                                                        : CHSM_EINVAL;
    free(path);
    if (rc == CHSM_OK && q)
        rc = chsm_request_parse_query(&req, q + 1);
    for (size_t i = 0; rc == CHSM_OK && headers && headers[i]; i++) {
        const char *colon = strchr(headers[i], ':');
        if (!colon)
            continue;
        char *name = chsm_strndup(headers[i], (size_t)(colon - headers[i]));
        const char *value = colon + 1;
        while (*value == ' ' || *value == '\t')
            value++;
        rc = name ? chsm_request_add_header(&req, name, value) : CHSM_ENOMEM;
        free(name);
    }
    if (rc == CHSM_OK) {
        req.body = body_len ? body : NULL;
        req.body_len = body_len;
        if (fuzz_prepare_hook)
            fuzz_prepare_hook(&req);
        chsm_app_dispatch(app, &req, &res);
        status = res.status;
        if (getenv("CHSM_FUZZ_VERBOSE"))
            fprintf(stderr, "fuzz: %d %s %s %.*s\n", status, method, url,
                    (int)(res.body_len > 300 ? 300 : res.body_len), res.body ? res.body : "");
        if (json && res.body_len)
            *json = cJSON_ParseWithLength(res.body, res.body_len);
    }
    chsm_request_free(&req);
    chsm_response_free(&res);
    return status;
}

/* next_line returns the line starting at *p (without CR LF, NUL-terminated
 * in place) and moves *p past it; NULL at the end. */
static char *next_line(char **p, char *end)
{
    if (*p >= end)
        return NULL;
    char *line = *p;
    char *lf = memchr(line, '\n', (size_t)(end - line));
    char *stop = lf ? lf : end;
    *p = lf ? lf + 1 : end;
    if (stop > line && stop[-1] == '\r')
        stop--;
    *stop = '\0';
    return line;
}

int fuzz_send_raw(chsm_app *app, int listener, const uint8_t *data, size_t size, const char *prefix)
{
    /* One NUL past the end, so a line that ends the input is still a string. */
    char *copy = malloc(size + 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';
    char *p = copy, *end = copy + size;
    char *line = next_line(&p, end);
    char *sp = line ? strchr(line, ' ') : NULL;
    if (!sp || sp == line) {
        free(copy);
        return 0;
    }
    *sp = '\0';
    const char *method = line;
    const char *target = sp + 1;
    const char *headers[FUZZ_MAX_HEADERS + 1];
    size_t nheaders = 0;
    int has_body = 0;
    while ((line = next_line(&p, end)) != NULL) {
        if (!*line) {
            has_body = 1;
            break;
        }
        if (nheaders < FUZZ_MAX_HEADERS)
            headers[nheaders++] = line;
    }
    headers[nheaders] = NULL;
    chsm_buf url = {0};
    if (prefix)
        chsm_buf_puts(&url, prefix);
    chsm_buf_puts(&url, target);
    char *u = chsm_buf_steal(&url);
    int status = 0;
    if (u) {
        /* The body is copied to its own allocation so ASan sees reads past it. */
        size_t body_len = has_body ? (size_t)(end - p) : 0;
        unsigned char *body = body_len ? malloc(body_len) : NULL;
        if (body)
            memcpy(body, p, body_len);
        if (!body_len || body)
            status = fuzz_send(app, listener, method, u, headers, body, body_len, NULL);
        free(body);
    }
    free(u);
    free(copy);
    return status;
}

char *fuzz_expand(const uint8_t *data, size_t size, const char *const *vars, size_t *outlen)
{
    chsm_buf b = {0};
    size_t i = 0;
    while (i < size) {
        int replaced = 0;
        if (data[i] == '{') {
            for (size_t v = 0; vars && vars[v]; v += 2) {
                size_t n = strlen(vars[v]);
                if (i + n + 2 <= size && memcmp(data + i + 1, vars[v], n) == 0 &&
                    data[i + 1 + n] == '}') {
                    chsm_buf_puts(&b, vars[v + 1]);
                    i += n + 2;
                    replaced = 1;
                    break;
                }
            }
        }
        if (!replaced)
            chsm_buf_append(&b, data + i++, 1);
    }
    *outlen = b.len;
    chsm_buf_append(&b, "", 1); /* the NUL, and a buffer even for empty input */
    return chsm_buf_steal(&b);
}

static void die(const char *what, int status)
{
    fprintf(stderr, "fuzz: %s (HTTP %d)\n", what, status);
    abort();
}

void fuzz_cluster_create(chsm_app *app, const char *name, char *id, size_t idlen, char *label,
                         size_t labellen)
{
    static const char *const json[] = {"Authorization: Bearer fuzz",
                                       "Content-Type: application/json", NULL};
    const char *rg = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/fuzz-rg";
    char url[512];
    snprintf(url, sizeof url, "%s?api-version=2021-04-01", rg);
    const char *loc = "{\"location\":\"westeurope\"}";
    int st = fuzz_send(app, CHSM_LISTENER_ARM, "PUT", url, json, loc, strlen(loc), NULL);
    if (st != 200 && st != 201)
        die("cannot create the resource group", st);
    snprintf(id, idlen, "%s/providers/Microsoft.HardwareSecurityModules/cloudHsmClusters/%s", rg,
             name);
    snprintf(url, sizeof url, "%s?api-version=2025-03-31", id);
    const char *body = "{\"location\":\"westeurope\",\"sku\":{\"family\":\"B\",\"name\":"
                       "\"Standard_B1\"},\"properties\":{}}";
    st = fuzz_send(app, CHSM_LISTENER_ARM, "PUT", url, json, body, strlen(body), NULL);
    if (st != 200 && st != 201)
        die("cannot create the cluster", st);
    cJSON *c = NULL;
    st = fuzz_send(app, CHSM_LISTENER_ARM, "GET", url, json, NULL, 0, &c);
    const cJSON *hsms = cJSON_GetObjectItem(cJSON_GetObjectItem(c, "properties"), "hsms");
    const char *fqdn =
        cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(hsms, 0), "fqdn"));
    const char *dot = fqdn ? strchr(fqdn, '.') : NULL;
    const char *end = dot ? strchr(dot + 1, '.') : NULL;
    if (st != 200 || !end)
        die("the cluster has no HSM node names", st);
    snprintf(label, labellen, "%.*s", (int)(end - dot - 1), dot + 1);
    cJSON_Delete(c);
}

int fuzz_hsm_call(chsm_app *app, const char *label, const char *method, const char *path,
                  const char *session, const char *body, cJSON **json)
{
    char url[512], auth[300];
    snprintf(url, sizeof url, "/hsm/%s%s", label, path);
    snprintf(auth, sizeof auth, "Authorization: HSM-Session %s", session ? session : "");
    const char *headers[] = {"Content-Type: application/json", session ? auth : NULL, NULL};
    return fuzz_send(app, CHSM_LISTENER_ARM, method, url, headers, body, body ? strlen(body) : 0,
                     json);
}

void fuzz_after_input(chsm_app *app)
{
    chsm_faults_clear(app->faults);
    chsm_clock_set_offset(0);
}

void fuzz_reset(chsm_app *app)
{
    if (chsm_store_reset(app->store) != CHSM_OK) {
        fprintf(stderr, "fuzz: the store reset failed\n");
        abort();
    }
    for (int i = 0; i < app->nstate_hooks; i++) {
        if (app->state_hooks[i]->reset && app->state_hooks[i]->reset(app) != CHSM_OK) {
            fprintf(stderr, "fuzz: a state reset hook failed\n");
            abort();
        }
    }
    char dir[1200];
    snprintf(dir, sizeof dir, "%s/snapshots", app->data_dir);
    chsm_remove_tree(dir);
}

/* main.c - chsm-emulator: flags, start, ready file, graceful stop. */
#include "app/app.h"
#include "app/files.h"
#include "app/log.h"
#include "app/tls.h"
#include "arm/lro.h"
#include "blob/blob.h"
#include "control/fixtures.h"
#include "control/journal.h"
#include "http/server.h"
#include "util/status.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* stop_signals: SIGINT and SIGTERM, which stop the emulator gracefully. */
static void stop_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
}

static void dispatch(void *ctx, chsm_request *req, chsm_response *res)
{
    chsm_app_dispatch(ctx, req, res);
}

static void access_log(void *ctx, const chsm_request *req, const chsm_response *res, double ms)
{
    chsm_app *app = ctx;
    chsm_journal_add(app->journal, req, res, ms);
    if (req->fault[0])
        chsm_log(CHSM_LOG_WARN, "fault rule %s fired on %s %s", req->fault, req->method,
                 req->raw_path ? req->raw_path : "-");
    chsm_log(CHSM_LOG_INFO, "%s %s %s %d %.1fms %s",
             req->listener == CHSM_LISTENER_BLOB ? "blob" : "arm", req->method,
             req->raw_path ? req->raw_path : "-", res->status, ms, req->request_id);
}

/* start_ipv6_twin also serves a listener bound to 127.0.0.1 on [::1] at the
 * same port, because "localhost" resolves to ::1 first for many clients
 * (Node 18+ among them). Failure is not fatal: the IPv4 listener serves. */
static chsm_listener *start_ipv6_twin(const chsm_listener_config *v4, int port)
{
    if (strcmp(v4->host, "127.0.0.1") != 0 && strcmp(v4->host, "localhost") != 0)
        return NULL;
    chsm_listener_config v6 = *v4;
    v6.host = "::1";
    v6.port = port;
    chsm_listener *l = NULL;
    char err[256];
    if (chsm_listener_start(&v6, &l, err, sizeof err) != CHSM_OK) {
        chsm_log(CHSM_LOG_WARN, "not listening on [::1]:%d (%s); use 127.0.0.1", port, err);
        return NULL;
    }
    return l;
}

/* write_ready_file publishes where this emulator listens, atomically, so
 * tests and chsmctl never read a half-written file. */
static int write_ready_file(const chsm_app *app)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "version", CHSM_VERSION);
    cJSON_AddNumberToObject(j, "pid", (double)getpid());
    cJSON_AddNumberToObject(j, "armPort", app->arm_port);
    cJSON_AddStringToObject(j, "armUrl", app->arm_url);
    if (app->blob_port) {
        cJSON_AddNumberToObject(j, "blobPort", app->blob_port);
        cJSON_AddStringToObject(j, "blobUrl", app->blob_url);
    }
    if (app->ca_cert_path[0])
        cJSON_AddStringToObject(j, "caCert", app->ca_cert_path);
    else
        cJSON_AddNullToObject(j, "caCert");
    cJSON_AddStringToObject(j, "dataDir", app->data_dir);
    cJSON_AddBoolToObject(j, "tls", app->cfg.tls);
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    if (!text)
        return CHSM_ENOMEM;
    char path[1200];
    snprintf(path, sizeof path, "%s/emulator.json", app->data_dir);
    int rc = chsm_write_file_atomic(path, text, strlen(text), 0644, 0); /* gone at exit anyway */
    free(text);
    return rc;
}

int main(int argc, char **argv)
{
    chsm_config cfg;
    chsm_config_defaults(&cfg);
    char msg[4096];
    int rc = chsm_config_parse(&cfg, argc, argv, msg, sizeof msg);
    if (rc == 1) {
        fputs(msg, stdout);
        return 0;
    }
    if (rc != 0) {
        fprintf(stderr, "chsm-emulator: %s%s", msg, "Try --help.\n");
        return 2;
    }
    chsm_log_set_level(cfg.log_level);
    signal(SIGPIPE, SIG_IGN);
    /* The stop signals are blocked here, before any thread exists, so every thread inherits
     * the mask and only the main thread's sigwait below takes them. A handler could run on any
     * thread instead and leave the main thread paused for ever (seen under valgrind); one that
     * arrives while starting is kept pending and stops the emulator once it is up. */
    sigset_t stop_set;
    stop_signals(&stop_set);
    pthread_sigmask(SIG_BLOCK, &stop_set, NULL);
    /* Everything the emulator writes (state, blobs, keys, certificates) is
     * for the user who runs it only. */
    umask(077);

    chsm_app *app = NULL;
    char err[512] = "";
    if (chsm_app_open(&cfg, &app, err, sizeof err) != CHSM_OK) {
        chsm_log(CHSM_LOG_ERROR, "cannot start: %s", err);
        return 1;
    }
    char *cert = NULL, *key = NULL;
    if (cfg.tls && chsm_app_tls_material(app, &cert, &key, err, sizeof err) != CHSM_OK) {
        chsm_log(CHSM_LOG_ERROR, "cannot set up TLS: %s", err);
        chsm_app_close(app);
        return 1;
    }
    char spill_dir[1200];
    snprintf(spill_dir, sizeof spill_dir, "%s/tmp", app->data_dir);
    chsm_mkdirs(spill_dir);

    chsm_listener_config lc = {
        .kind = CHSM_LISTENER_ARM,
        .host = cfg.arm_host,
        .port = cfg.arm_port,
        .threads = cfg.threads,
        .body_limit = cfg.arm_body_limit,
        .spill_threshold = 0,
        .spill_dir = spill_dir,
        .timeout_s = cfg.request_timeout_s,
        .tls_cert_pem = cfg.tls ? cert : NULL,
        .tls_key_pem = cfg.tls ? key : NULL,
        .dispatch = dispatch,
        .access_log = access_log,
        .ctx = app,
        .app = app,
    };
    chsm_listener *arm = NULL;
    if (chsm_listener_start(&lc, &arm, err, sizeof err) != CHSM_OK) {
        chsm_log(CHSM_LOG_ERROR, "cannot start the ARM listener: %s", err);
        free(cert);
        free(key);
        chsm_app_close(app);
        return 1;
    }
    app->arm_port = chsm_listener_port(arm);
    chsm_listener *arm6 = start_ipv6_twin(&lc, app->arm_port);
    const char *shown_host = strchr(cfg.arm_host, ':') ? "[::1]" : "127.0.0.1";
    if (strcmp(cfg.arm_host, "0.0.0.0") != 0 && !strchr(cfg.arm_host, ':') &&
        strcmp(cfg.arm_host, "localhost") != 0)
        shown_host = cfg.arm_host;
    snprintf(app->arm_url, sizeof app->arm_url, "%s://%s:%d", cfg.tls ? "https" : "http",
             shown_host, app->arm_port);

    /* The Blob listener: same TLS pair, bodies over 1 MiB spill to a file. */
    chsm_listener_config bc = lc;
    bc.kind = CHSM_LISTENER_BLOB;
    bc.host = cfg.blob_host;
    bc.port = cfg.blob_port;
    bc.body_limit = cfg.blob_body_limit;
    bc.spill_threshold = 1024 * 1024;
    bc.fsync_spill = cfg.fsync; /* power-loss durability only with --fsync, as for the store */
    bc.spill_observer = &chsm_blob_spill_observer; /* Put Blob's MD5 while the body arrives */
    chsm_listener *blob = NULL, *blob6 = NULL;
    if (chsm_listener_start(&bc, &blob, err, sizeof err) != CHSM_OK) {
        chsm_log(CHSM_LOG_ERROR, "cannot start the Blob listener: %s", err);
        chsm_listener_stop(arm);
        chsm_listener_stop(arm6);
        chsm_listener_stop(blob);
        chsm_listener_stop(blob6);
        free(cert);
        free(key);
        chsm_app_close(app);
        return 1;
    }
    app->blob_port = chsm_listener_port(blob);
    blob6 = start_ipv6_twin(&bc, app->blob_port);
    const char *blob_host = strchr(cfg.blob_host, ':') ? "[::1]" : "127.0.0.1";
    if (strcmp(cfg.blob_host, "0.0.0.0") != 0 && !strchr(cfg.blob_host, ':') &&
        strcmp(cfg.blob_host, "localhost") != 0)
        blob_host = cfg.blob_host;
    snprintf(app->blob_url, sizeof app->blob_url, "%s://%s:%d", cfg.tls ? "https" : "http",
             blob_host, app->blob_port);

    /* Fixtures go in before the ready file: ready means the state is there. */
    for (int i = 0; i < cfg.nfixtures; i++) {
        if (chsm_fixture_load(app, cfg.fixtures[i], err, sizeof err) != CHSM_OK) {
            chsm_log(CHSM_LOG_ERROR, "cannot load fixture %s", err);
            chsm_listener_stop(arm);
            chsm_listener_stop(arm6);
            chsm_listener_stop(blob);
            chsm_listener_stop(blob6);
            free(cert);
            free(key);
            chsm_app_close(app);
            return 1;
        }
        chsm_log(CHSM_LOG_INFO, "loaded fixture %s", cfg.fixtures[i]);
    }
    if (chsm_lro_start_worker(app->lro) != CHSM_OK || write_ready_file(app) != CHSM_OK) {
        chsm_log(CHSM_LOG_ERROR, "cannot start: the operation worker or %s/emulator.json failed",
                 app->data_dir);
        chsm_listener_stop(arm);
        chsm_listener_stop(arm6);
        chsm_listener_stop(blob);
        chsm_listener_stop(blob6);
        free(cert);
        free(key);
        chsm_app_close(app);
        return 1;
    }
    chsm_log(CHSM_LOG_INFO, "chsm-emulator %s ready: ARM %s, Blob %s, data %s%s", CHSM_VERSION,
             app->arm_url, app->blob_url, app->data_dir, cfg.in_memory ? " (in memory)" : "");
    if (app->ca_cert_path[0])
        chsm_log(CHSM_LOG_INFO, "trust this CA certificate: %s", app->ca_cert_path);
    if (chsm_app_start_background(app) != CHSM_OK)
        chsm_log(CHSM_LOG_WARN, "background key generation did not start; keys are made on demand");

    int sig = 0;
    while (sigwait(&stop_set, &sig) != 0)
        ;

    chsm_log(CHSM_LOG_INFO, "stopping: finishing in-flight requests");
    chsm_listener_quiesce(arm);
    chsm_listener_quiesce(arm6);
    chsm_listener_quiesce(blob);
    chsm_listener_quiesce(blob6);
    chsm_listener_stop(arm);
    chsm_listener_stop(arm6);
    chsm_listener_stop(blob);
    chsm_listener_stop(blob6);
    char ready[1200];
    snprintf(ready, sizeof ready, "%s/emulator.json", app->data_dir);
    unlink(ready);
    free(cert);
    free(key);
    chsm_app_close(app);
    chsm_log(CHSM_LOG_INFO, "stopped");
    return 0;
}

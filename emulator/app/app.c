/* app.c - assembling the emulator: data dir, store, keys, routes, engine. */
#include "app/app.h"

#include "app/files.h"
#include "app/signing_key.h"
#include "arm/errors.h"
#include "arm/lro.h"
#include "arm/read_cache.h"
#include "arm/timing.h"
#include "arm/pipeline.h"
#include "blob/blob.h"
#include "control/faults.h"
#include "control/journal.h"
#include "crypto/digest.h"
#include "crypto/keypool.h"
#include "crypto/jwt.h"
#include "providers/provider.h"
#include "store/settings.h"
#include "util/oom.h"
#include "util/status.h"
#include "util/text.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How many requests /_emulator/requests remembers. */
#define CHSM_JOURNAL_SIZE 1000

/* load_or_create_secrets loads the token signing key (app/signing_key.h: a file in the data
 * dir, made in the background when new) and loads or makes the HSM fleet secret, kept in the
 * store, so tokens and backups stay valid across restarts. */
static int load_or_create_secrets(chsm_app *app, char *err, size_t errlen)
{
    unsigned char *val = NULL;
    size_t len = 0;
    int rc = chsm_signing_key_open(app, err, errlen);
    if (rc != CHSM_OK)
        return rc;
    rc = chsm_settings_get(app->store, "hsm.fleet_secret", &val, &len);
    if (rc == CHSM_OK && len == sizeof app->fleet_secret) {
        memcpy(app->fleet_secret, val, len);
    } else if (rc == CHSM_ENOTFOUND) {
        rc = chsm_crypto_random(app->fleet_secret, sizeof app->fleet_secret);
        if (rc == CHSM_OK)
            rc = chsm_settings_put(app->store, "hsm.fleet_secret", app->fleet_secret,
                                   sizeof app->fleet_secret);
    } else if (rc == CHSM_OK) {
        rc = CHSM_EINVAL;
    }
    free(val);
    if (rc != CHSM_OK)
        snprintf(err, errlen, "cannot load or create the HSM fleet secret: %s",
                 chsm_status_str(rc));
    return rc;
}

static int prepare_data_dir(chsm_app *app, char *err, size_t errlen)
{
    if (app->cfg.in_memory) {
        char tmpl[] = "/tmp/chsm-emulator-XXXXXX";
        if (!mkdtemp(tmpl)) {
            snprintf(err, errlen, "cannot create a temp dir for --in-memory");
            return CHSM_EIO;
        }
        snprintf(app->data_dir, sizeof app->data_dir, "%s", tmpl);
        return CHSM_OK;
    }
    if (chsm_mkdirs(app->cfg.data_dir) != CHSM_OK) {
        snprintf(err, errlen, "cannot create the data dir '%s'", app->cfg.data_dir);
        return CHSM_EIO;
    }
    char abs[PATH_MAX];
    if (!realpath(app->cfg.data_dir, abs) || strlen(abs) >= sizeof app->data_dir) {
        snprintf(err, errlen, "cannot resolve the data dir '%s'", app->cfg.data_dir);
        return CHSM_EIO;
    }
    memcpy(app->data_dir, abs, strlen(abs) + 1); /* length checked above */
    return CHSM_OK;
}

int chsm_app_open(const chsm_config *cfg, chsm_app **out, char *err, size_t errlen)
{
    *out = NULL;
    chsm_app *app = calloc(1, sizeof *app);
    if (!app)
        return CHSM_ENOMEM;
    app->cfg = *cfg;
    app->started_ms = chsm_now_ms();
    if (cfg->seeded)
        chsm_ids_seed(cfg->seed);
    app->faults = chsm_faults_new();
    app->journal = chsm_journal_new(CHSM_JOURNAL_SIZE);
    app->timing = chsm_timing_new(&app->cfg);
    app->read_cache = chsm_read_cache_new();
    int rc = app->faults && app->journal && app->timing && app->read_cache ? CHSM_OK : CHSM_ENOMEM;
    if (rc == CHSM_OK && cfg->faults_file[0])
        rc = chsm_faults_load(app->faults, cfg->faults_file, err, errlen);
    if (rc == CHSM_OK)
        rc = prepare_data_dir(app, err, errlen);
    if (rc == CHSM_OK) {
        char dbpath[1200];
        snprintf(dbpath, sizeof dbpath, "%s/state.db", app->data_dir);
        chsm_store_set_fsync(cfg->fsync);
        rc = chsm_store_open(cfg->in_memory ? NULL : dbpath, &app->store, err, errlen);
    }
    if (rc == CHSM_OK)
        rc = load_or_create_secrets(app, err, errlen);
    if (rc == CHSM_OK) {
        app->arm_router = chsm_router_new();
        app->lro = chsm_lro_new(app);
        if (!app->arm_router || !app->lro)
            rc = CHSM_ENOMEM;
    }
    for (size_t i = 0; rc == CHSM_OK && chsm_providers[i]; i++) {
        const chsm_provider *p = chsm_providers[i];
        rc = chsm_router_add(app->arm_router, p->routes, p->nroutes);
        if (rc == CHSM_OK && p->init)
            rc = p->init(app);
        if (rc != CHSM_OK)
            snprintf(err, errlen, "provider %s failed to start: %s", p->name, chsm_status_str(rc));
    }
    if (rc == CHSM_OK)
        rc = chsm_blob_open(app, err, errlen);
    if (rc != CHSM_OK) {
        chsm_app_close(app);
        return rc;
    }
    *out = app;
    return CHSM_OK;
}

int chsm_app_start_background(chsm_app *app)
{
    /* RSA key generation takes a core for 50-500 ms each: started before the listeners,
     * it slowed a two-core machine's start-up by a third. */
    int rc = chsm_signing_key_start(app);
    if (app->cfg.key_pool > 0 && !app->key_pool_started) {
        int prc = chsm_crypto_keypool_start(app->cfg.key_pool);
        app->key_pool_started = prc == CHSM_OK;
        if (rc == CHSM_OK)
            rc = prc;
    }
    return rc;
}

void chsm_app_close(chsm_app *app)
{
    if (!app)
        return;
    chsm_lro_free(app->lro);
    chsm_blob_close(app);
    chsm_router_free(app->arm_router);
    chsm_signing_key_close(app);
    if (app->key_pool_started)
        chsm_crypto_keypool_stop();
    chsm_store_close(app->store);
    chsm_faults_free(app->faults);
    chsm_journal_free(app->journal);
    chsm_timing_free(app->timing);
    chsm_read_cache_free(app->read_cache);
    if (app->cfg.in_memory && app->data_dir[0])
        chsm_remove_tree(app->data_dir);
    free(app);
}

void chsm_app_dispatch(chsm_app *app, chsm_request *req, chsm_response *res)
{
    req->app = app;
    unsigned long oom = chsm_oom_count();
    if (req->listener == CHSM_LISTENER_BLOB)
        chsm_blob_dispatch(app, req, res);
    else
        chsm_arm_dispatch(app, req, res);
    /* Memory ran out or a store statement failed while answering: the answer may have members
     * missing or rest on a failed read, so it becomes a 500 (the store did not commit a
     * transaction that saw the failure; util/oom.h). */
    if (chsm_oom_count() != oom && res->status < 500 && !res->drop) {
        if (req->listener == CHSM_LISTENER_BLOB) {
            chsm_response_header(res, "x-ms-error-code", "InternalError", 1);
            chsm_response_set_text(res, 500, "application/xml",
                                   "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>"
                                   "InternalError</Code><Message>The server failed while "
                                   "answering the request (out of memory or a state store "
                                   "error).</Message></Error>");
        } else {
            chsm_arm_error(res, 500, "InternalServerError",
                           "The server failed while answering the request (out of memory or a "
                           "state store error).");
        }
    }
}

int chsm_app_add_state_hooks(chsm_app *app, const chsm_state_hooks *hooks)
{
    if (app->nstate_hooks >= CHSM_MAX_STATE_HOOKS)
        return CHSM_ETOOBIG;
    app->state_hooks[app->nstate_hooks++] = hooks;
    return CHSM_OK;
}

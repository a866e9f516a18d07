/* app.h - the running emulator: configuration plus every layer's state.
 *
 * One chsm_app exists per process (tests may make more). Handlers reach it
 * through req->app; nothing else is global. */
#ifndef CHSM_APP_APP_H
#define CHSM_APP_APP_H

#include "app/config.h"
#include "http/message.h"
#include "router/router.h"
#include "store/store.h"

#include <stdint.h>

struct chsm_lro;
struct chsm_signing_key;
struct chsm_blob_service;
struct chsm_http_server;
struct chsm_faults;
struct chsm_journal;
struct chsm_timing;
struct chsm_read_cache;

/* What a model with state outside SQLite (blob content files) does when QA
 * resets the emulator or saves/restores a snapshot. Any hook may be NULL. */
typedef struct chsm_state_hooks {
    int (*reset)(struct chsm_app *app); /* after the store was emptied */
    int (*snapshot_save)(struct chsm_app *app, const char *dir);
    int (*snapshot_restore)(struct chsm_app *app, const char *dir); /* after the store's restore */
    /* resources with ids under prefix (a resource group) are being deleted, in
     * the caller's transaction: drop the model state kept beside them */
    int (*delete_under)(struct chsm_app *app, const char *prefix);
} chsm_state_hooks;

#define CHSM_MAX_STATE_HOOKS 8

typedef struct chsm_app {
    chsm_config cfg;
    chsm_store *store;
    chsm_router *arm_router;
    struct chsm_lro *lro;
    struct chsm_signing_key *signing_key; /* signs Entra ID tokens (app/signing_key.h) */
    unsigned char fleet_secret[32];       /* root of the simulated HSM fleet's key hierarchy */
    struct chsm_blob_service *blob;       /* the Blob-like store (blob/) */
    struct chsm_faults *faults;           /* QA fault rules (control/faults.h) */
    struct chsm_journal *journal;         /* the last requests, for /_emulator/requests */
    struct chsm_read_cache *read_cache;   /* answers repeated GETs (arm/read_cache.h) */
    struct chsm_timing *timing; /* operation durations and progress steps (arm/timing.h) */
    char data_dir[1024];        /* absolute; for --in-memory a private temp dir */
    char ca_cert_path[1200];    /* PEM users trust; empty without TLS */
    char arm_url[128];          /* scheme://127.0.0.1:port once listening */
    char blob_url[128];
    int arm_port, blob_port;
    int64_t started_ms;
    int key_pool_started; /* holds a reference on crypto/keypool.h's pool */
    const chsm_state_hooks *state_hooks[CHSM_MAX_STATE_HOOKS];
    int nstate_hooks;
} chsm_app;

/* chsm_app_open prepares an app from cfg: data dir, store, keys, routes,
 * operation engine (not the listeners). err receives a message on failure. */
int chsm_app_open(const chsm_config *cfg, chsm_app **out, char *err, size_t errlen);
/* chsm_app_start_background starts the work that may wait until the listeners answer:
 * the token signing key of a new data dir and the RSA key pool. */
int chsm_app_start_background(chsm_app *app);
/* chsm_app_close stops the engine and frees everything the app owns. */
void chsm_app_close(chsm_app *app);
/* chsm_app_add_state_hooks registers hooks (not copied: keep them static). */
int chsm_app_add_state_hooks(chsm_app *app, const chsm_state_hooks *hooks);
/* chsm_app_dispatch answers one request of the given listener. */
void chsm_app_dispatch(chsm_app *app, chsm_request *req, chsm_response *res);

#endif

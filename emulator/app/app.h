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
struct chsm_jwt_key;
struct chsm_blob_service;
struct chsm_http_server;

typedef struct chsm_app {
    chsm_config cfg;
    chsm_store *store;
    chsm_router *arm_router;
    struct chsm_lro *lro;
    struct chsm_jwt_key *jwt_key;   /* signs the tokens of the emulated Entra ID */
    unsigned char fleet_secret[32]; /* root of the simulated HSM fleet's key hierarchy */
    struct chsm_blob_service *blob; /* the Blob-like store (blob/) */
    char data_dir[1024];            /* absolute; for --in-memory a private temp dir */
    char ca_cert_path[1200];        /* PEM users trust; empty without TLS */
    char arm_url[128];              /* scheme://127.0.0.1:port once listening */
    char blob_url[128];
    int arm_port, blob_port;
    int64_t started_ms;
} chsm_app;

/* chsm_app_open prepares an app from cfg: data dir, store, keys, routes,
 * operation engine (not the listeners). err receives a message on failure. */
int chsm_app_open(const chsm_config *cfg, chsm_app **out, char *err, size_t errlen);
/* chsm_app_close stops the engine and frees everything the app owns. */
void chsm_app_close(chsm_app *app);
/* chsm_app_dispatch answers one request of the given listener. */
void chsm_app_dispatch(chsm_app *app, chsm_request *req, chsm_response *res);

#endif

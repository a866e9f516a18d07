/* health.c - /_emulator/: the emulator's own status endpoints.
 *
 * /_emulator/health answers 200 only when the store answers and the
 * listeners are up (main sets arm_url once they are); scripts poll it before
 * they start. Later QA controls (faults, reset, snapshots) live beside it. */
#include "providers/provider.h"

#include "app/app.h"
#include "arm/errors.h"
#include "store/store.h"
#include "util/text.h"

static void health(chsm_request *req, chsm_response *res)
{
    chsm_app *app = req->app;
    int store_ok = chsm_store_schema_version(app->store) > 0;
    int listening = app->arm_url[0] != '\0';
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "status", store_ok && listening ? "ready" : "starting");
    cJSON_AddStringToObject(b, "version", CHSM_VERSION);
    cJSON_AddBoolToObject(b, "store", store_ok);
    cJSON_AddBoolToObject(b, "listening", listening);
    cJSON_AddNumberToObject(b, "uptimeSeconds", (double)(chsm_now_ms() - app->started_ms) / 1000.0);
    chsm_arm_json(res, store_ok && listening ? 200 : 503, b);
}

static void info(chsm_request *req, chsm_response *res)
{
    chsm_app *app = req->app;
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "version", CHSM_VERSION);
    cJSON_AddStringToObject(b, "armUrl", app->arm_url);
    if (app->blob_url[0])
        cJSON_AddStringToObject(b, "blobUrl", app->blob_url);
    cJSON_AddStringToObject(b, "dataDir", app->data_dir);
    cJSON_AddBoolToObject(b, "inMemory", app->cfg.in_memory);
    cJSON_AddBoolToObject(b, "strictAuth", app->cfg.strict_auth);
    if (app->ca_cert_path[0])
        cJSON_AddStringToObject(b, "caCert", app->ca_cert_path);
    chsm_arm_json(res, 200, b);
}

#define PUBLIC (CHSM_ROUTE_PUBLIC | CHSM_ROUTE_NO_API_VERSION)

static const chsm_route routes[] = {
    {"GET", "/_emulator/health", health, "emulator/health", NULL, PUBLIC},
    {"GET", "/_emulator/info", info, "emulator/info", NULL, PUBLIC},
};

const chsm_provider chsm_provider_control = {"emulator control", routes, CHSM_COUNT(routes), NULL};

/* inventory.c - GET /_emulator/inventory: what the ARM API cannot show about
 * the emulator's state, for the dashboard and for scripts (docs/qa.md):
 * each cluster's HSM (activation, users, key handles counted by type and
 * class) and each storage account's containers and blobs, backup blobs
 * marked with their backupId and source cluster. Read in one transaction so
 * the picture is consistent; password hashes and key material never leave. */
#include "providers/provider.h"

#include "app/app.h"
#include "arm/errors.h"
#include "blob/repo.h"
#include "control/access.h"
#include "hsm/repo.h"
#include "store/resources.h"
#include "store/store.h"
#include "util/json.h"
#include "util/status.h"
#include "util/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLUSTER_TYPE "Microsoft.HardwareSecurityModules/cloudHsmClusters"
#define MAX_CONTAINERS 100 /* per account */
#define MAX_BLOBS 200      /* per container */

static void add_time(cJSON *o, const char *key, int64_t ms)
{
    char ts[40];
    chsm_format_time(ms, ts, sizeof ts);
    cJSON_AddStringToObject(o, key, ts);
}

static void count_up(cJSON *counts, const char *key)
{
    cJSON *n = cJSON_GetObjectItemCaseSensitive(counts, key && *key ? key : "unknown");
    if (n)
        cJSON_SetNumberValue(n, n->valuedouble + 1);
    else
        cJSON_AddNumberToObject(counts, key && *key ? key : "unknown", 1);
}

/* hsm_json describes the HSM of cluster resource_id into *out (caller frees). */
static int hsm_json(chsm_store *s, const char *resource_id, cJSON **out)
{
    chsm_hsm_cluster c;
    int rc = chsm_hsm_repo_cluster_get(s, resource_id, &c);
    if (rc == CHSM_ENOTFOUND) {
        *out = cJSON_CreateNull();
        return CHSM_OK;
    }
    if (rc != CHSM_OK)
        return rc;
    cJSON *h = cJSON_CreateObject();
    cJSON_AddStringToObject(h, "label", c.label);
    cJSON_AddStringToObject(h, "activationState", c.activation);
    if (c.activated_ms)
        add_time(h, "activatedAt", c.activated_ms);
    chsm_hsm_user *users = NULL;
    size_t nusers = 0;
    rc = chsm_hsm_repo_users_list(s, resource_id, &users, &nusers);
    cJSON *ua = cJSON_AddArrayToObject(h, "users");
    for (size_t i = 0; rc == CHSM_OK && i < nusers; i++) {
        cJSON *u = cJSON_CreateObject();
        cJSON_AddNumberToObject(u, "userId", users[i].user_id);
        cJSON_AddStringToObject(u, "username", users[i].username);
        cJSON_AddStringToObject(u, "userType", users[i].user_type);
        cJSON_AddBoolToObject(u, "locked", users[i].locked);
        cJSON_AddNumberToObject(u, "loginFailures", users[i].login_failures);
        cJSON_AddItemToArray(ua, u);
    }
    free(users);
    chsm_hsm_key *keys = NULL;
    size_t nkeys = 0;
    if (rc == CHSM_OK)
        rc = chsm_hsm_repo_keys_list(s, resource_id, 0, &keys, &nkeys);
    if (rc == CHSM_OK) {
        cJSON *k = cJSON_AddObjectToObject(h, "keys");
        cJSON_AddNumberToObject(k, "handles", (double)nkeys);
        cJSON *by_type = cJSON_AddObjectToObject(k, "byType");
        cJSON *by_class = cJSON_AddObjectToObject(k, "byClass");
        for (size_t i = 0; i < nkeys; i++) {
            count_up(by_type, chsm_json_str(keys[i].meta, "type"));
            count_up(by_class, keys[i].klass);
        }
        chsm_hsm_keys_free(keys, nkeys);
    }
    if (rc != CHSM_OK) {
        cJSON_Delete(h);
        return rc;
    }
    *out = h;
    return CHSM_OK;
}

static int clusters_json(chsm_store *s, cJSON *arr)
{
    chsm_resource_query q = {.type = CLUSTER_TYPE};
    chsm_resource *rows = NULL;
    size_t n = 0;
    int rc = chsm_resources_list(s, &q, &rows, &n);
    for (size_t i = 0; rc == CHSM_OK && i < n; i++) {
        cJSON *hsm = NULL;
        rc = hsm_json(s, rows[i].id, &hsm);
        if (rc != CHSM_OK)
            break;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", rows[i].id);
        cJSON_AddStringToObject(o, "name", rows[i].name);
        if (rows[i].subscription)
            cJSON_AddStringToObject(o, "subscriptionId", rows[i].subscription);
        if (rows[i].resource_group)
            cJSON_AddStringToObject(o, "resourceGroup", rows[i].resource_group);
        cJSON_AddItemToObject(o, "hsm", hsm);
        cJSON_AddItemToArray(arr, o);
    }
    chsm_resources_free(rows, n);
    return rc;
}

static cJSON *blob_json(const chsm_blob_row *b)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", b->name);
    cJSON_AddNumberToObject(o, "size", (double)b->size);
    if (b->content_type)
        cJSON_AddStringToObject(o, "contentType", b->content_type);
    add_time(o, "createdAt", b->created_ms);
    add_time(o, "lastModified", b->modified_ms);
    cJSON *meta = b->metadata ? cJSON_Parse(b->metadata) : NULL;
    if (cJSON_IsObject(meta)) {
        cJSON_AddItemToObject(o, "metadata", meta);
        /* A backup the HSM wrote is named by its backupId and tagged (cloudhsm.c). */
        const char *format = chsm_json_str(meta, "chsmbackupformat");
        if (format) {
            cJSON_AddStringToObject(o, "backupId", b->name);
            const char *src = chsm_json_str(meta, "sourcecluster");
            if (src)
                cJSON_AddStringToObject(o, "sourceCluster", src);
        }
    } else {
        cJSON_Delete(meta);
    }
    return o;
}

static int container_json(chsm_store *s, const chsm_blob_container *c, cJSON **out)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", c->name);
    add_time(o, "createdAt", c->created_ms);
    add_time(o, "lastModified", c->modified_ms);
    chsm_blob_row *blobs = NULL;
    size_t n = 0;
    /* one more than shown tells whether there are more */
    int rc = chsm_blob_repo_blob_list(s, c->account, c->name, NULL, 0, MAX_BLOBS + 1, &blobs, &n);
    if (rc != CHSM_OK) {
        cJSON_Delete(o);
        return rc;
    }
    cJSON *arr = cJSON_AddArrayToObject(o, "blobs");
    for (size_t i = 0; i < n && i < MAX_BLOBS; i++)
        cJSON_AddItemToArray(arr, blob_json(&blobs[i]));
    cJSON_AddBoolToObject(o, "truncated", n > MAX_BLOBS);
    chsm_blob_rows_free(blobs, n);
    *out = o;
    return CHSM_OK;
}

static int accounts_json(chsm_store *s, cJSON *arr)
{
    char **names = NULL;
    size_t n = 0;
    int rc = chsm_blob_repo_accounts_under(s, "", &names, &n);
    for (size_t i = 0; rc == CHSM_OK && i < n; i++) {
        chsm_blob_account a;
        rc = chsm_blob_repo_account_get(s, names[i], &a);
        if (rc != CHSM_OK)
            break;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", a.name);
        cJSON_AddStringToObject(o, "id", a.resource_id);
        cJSON_AddBoolToObject(o, "allowSharedKeyAccess", a.allow_shared_key);
        cJSON_AddItemToArray(arr, o);
        chsm_blob_container *cs = NULL;
        size_t nc = 0;
        rc = chsm_blob_repo_container_list(s, a.name, NULL, NULL, MAX_CONTAINERS + 1, &cs, &nc);
        if (rc != CHSM_OK)
            break;
        cJSON *ca = cJSON_AddArrayToObject(o, "containers");
        for (size_t j = 0; rc == CHSM_OK && j < nc && j < MAX_CONTAINERS; j++) {
            cJSON *c = NULL;
            rc = container_json(s, &cs[j], &c);
            if (rc == CHSM_OK)
                cJSON_AddItemToArray(ca, c);
        }
        cJSON_AddBoolToObject(o, "truncated", nc > MAX_CONTAINERS);
        chsm_blob_containers_free(cs, nc);
    }
    chsm_blob_repo_ids_free(names, n);
    return rc;
}

static void get_inventory(chsm_request *req, chsm_response *res)
{
    if (!chsm_control_allowed(req, res))
        return;
    chsm_store *s = req->app->store;
    int rc = chsm_store_begin(s);
    if (rc != CHSM_OK) {
        chsm_arm_error(res, 500, "InternalServerError", "The state store failed: %s.",
                       chsm_status_str(rc));
        return;
    }
    cJSON *b = cJSON_CreateObject();
    rc = clusters_json(s, cJSON_AddArrayToObject(b, "clusters"));
    if (rc == CHSM_OK)
        rc = accounts_json(s, cJSON_AddArrayToObject(b, "storageAccounts"));
    /* read only: commit rather than roll back, so an enclosing transaction (a fixture
     * replaying this request) is not doomed */
    int crc = chsm_store_commit(s);
    if (rc == CHSM_OK)
        rc = crc;
    if (rc != CHSM_OK) {
        cJSON_Delete(b);
        chsm_arm_error(res, 500, "InternalServerError", "The state store failed: %s.",
                       chsm_status_str(rc));
        return;
    }
    chsm_arm_json(res, 200, b);
}

#define CONTROL (CHSM_ROUTE_PUBLIC | CHSM_ROUTE_NO_API_VERSION)

static const chsm_route routes[] = {
    {"GET", "/_emulator/inventory", get_inventory, "emulator/inventory", NULL, CONTROL},
};

const chsm_provider chsm_provider_inventory = {"emulator inventory", routes, CHSM_COUNT(routes),
                                               NULL};

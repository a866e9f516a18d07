/* storage.c - Microsoft.Storage: storage accounts (create, read, update,
 * delete, list, listKeys, regenerateKey, checkNameAvailability) and blob
 * containers through ARM.
 *
 * The account document lives in the resources table; its data-plane side
 * (the two keys, allowSharedKeyAccess, allowBlobPublicAccess) and its
 * containers live in the blob store (blob/arm.h), so an account created here
 * is an account of the Blob endpoint and a container created on either side
 * is seen by both. Creation answers 200 with the finished account (the real
 * service answers 202 and a Location to poll; SDKs accept both). Any
 * api-version is accepted (it must be present). */
#include "providers/answers.h"
#include "providers/provider.h"

#include "app/app.h"
#include "arm/auth.h"
#include "arm/errors.h"
#include "arm/names.h"
#include "arm/resource.h"
#include "arm/versions.h"
#include "blob/arm.h"
#include "blob/names.h"
#include "store/resources.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/status.h"
#include "util/text.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SA_TYPE "Microsoft.Storage/storageAccounts"
#define CONTAINER_TYPE "Microsoft.Storage/storageAccounts/blobServices/containers"
#define LIST_PAGE 100

static char *normalized_location(const char *loc)
{
    char *out = malloc(strlen(loc) + 1);
    if (!out)
        return NULL;
    size_t n = 0;
    for (const char *p = loc; *p; p++)
        if (*p != ' ')
            out[n++] = (char)tolower((unsigned char)*p);
    out[n] = '\0';
    return out;
}

/* account_params validates sub, rg and the account name; answers and returns nonzero. */
static int account_params(chsm_request *req, chsm_response *res, const char **sub, const char **rg,
                          const char **name)
{
    *sub = chsm_request_param(req, "subscriptionId");
    *rg = chsm_request_param(req, "resourceGroupName");
    *name = chsm_request_param(req, "accountName");
    if (!chsm_arm_valid_subscription(*sub) || !chsm_arm_valid_resource_group(*rg)) {
        chsm_arm_require_resource_group(req, res, *sub, *rg); /* answers the 400 */
        return 1;
    }
    if (chsm_blob_check_account_name(*name) != CHSM_BLOB_NAME_OK) {
        chsm_arm_error_target(res, 400, "AccountNameInvalid", "accountName",
                              "%.64s is not a valid storage account name. Storage account name "
                              "must be between 3 and 24 characters in length and use numbers and "
                              "lower-case letters only.",
                              *name);
        return 1;
    }
    return 0;
}

static void account_not_found(chsm_response *res, const char *name, const char *rg)
{
    chsm_arm_error(res, 404, "ResourceNotFound",
                   "The Resource 'Microsoft.Storage/storageAccounts/%s' under resource group '%s' "
                   "was not found. For more details please go to "
                   "https://aka.ms/ARMResourceNotFoundFix",
                   name, rg);
}

/* blob_base writes the Blob listener's base URL as this client should use
 * it: the listener's scheme and port, and, when the listener is on loopback
 * (or every address), the host the client used to reach ARM (localhost,
 * 127.0.0.1, [::1], a container name), as absolute URLs should. */
static void blob_base(const chsm_request *req, char *out, size_t outlen)
{
    const char *blob = req->app->blob_url[0] ? req->app->blob_url : "https://127.0.0.1:10000";
    const char *bhost = strstr(blob, "://");
    const char *bport = strrchr(blob, ':');
    const char *chost = strstr(req->base_url, "://");
    int loopback = bhost && (strncmp(bhost + 3, "127.0.0.1:", 10) == 0 ||
                             strncmp(bhost + 3, "[::1]:", 6) == 0);
    if (!loopback || !bport || bport < bhost + 3 || !chost) {
        snprintf(out, outlen, "%s", blob);
        return;
    }
    chost += 3;
    const char *cend = *chost == '[' ? strchr(chost, ']') : strchr(chost, ':');
    if (*chost == '[' && cend)
        cend++;
    if (!cend)
        cend = chost + strlen(chost);
    snprintf(out, outlen, "%.*s%.*s%s", (int)(bhost + 3 - blob), blob, (int)(cend - chost), chost,
             bport);
}

/* with_endpoints returns a copy of an account document with primaryEndpoints
 * pointing at this emulator's Blob listener as it runs now (caller frees). */
static cJSON *with_endpoints(const chsm_request *req, const cJSON *doc)
{
    cJSON *out = cJSON_Duplicate(doc, 1);
    cJSON *props = chsm_json_obj(out, "properties");
    const char *name = chsm_json_str(out, "name");
    if (!props || !name)
        return out;
    cJSON *ep = cJSON_CreateObject();
    char url[400], base[300];
    blob_base(req, base, sizeof base);
    snprintf(url, sizeof url, "%s/%s/", base, name);
    cJSON_AddStringToObject(ep, "blob", url);
    static const char *const others[] = {"dfs", "file", "queue", "table", "web"};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        snprintf(url, sizeof url, "https://%s.%s.core.windows.net/", name, others[i]);
        cJSON_AddStringToObject(ep, others[i], url);
    }
    chsm_json_set(props, "primaryEndpoints", ep);
    return out;
}

static int is_bool_or_null(const cJSON *v)
{
    return !v || cJSON_IsBool(v) || cJSON_IsNull(v);
}

/* check_props answers 400 for ill-typed properties we act on. */
static int check_props(chsm_response *res, const cJSON *props)
{
    static const char *const bools[] = {"allowSharedKeyAccess", "allowBlobPublicAccess",
                                        "supportsHttpsTrafficOnly", "isHnsEnabled"};
    if (props && !cJSON_IsObject(props)) {
        chsm_arm_error_target(res, 400, "InvalidRequestContent", "properties",
                              "The properties of a storage account must be an object.");
        return 1;
    }
    for (size_t i = 0; props && i < sizeof bools / sizeof bools[0]; i++) {
        if (!is_bool_or_null(cJSON_GetObjectItem(props, bools[i]))) {
            chsm_arm_error_target(res, 400, "InvalidRequestContent", bools[i],
                                  "The property '%s' must be a boolean.", bools[i]);
            return 1;
        }
    }
    const char *tier = chsm_json_str(props, "accessTier");
    if (tier && strcmp(tier, "Hot") != 0 && strcmp(tier, "Cool") != 0 &&
        strcmp(tier, "Cold") != 0 && strcmp(tier, "Premium") != 0) {
        chsm_arm_error_target(res, 400, "InvalidRequestPropertyValue", "accessTier",
                              "The value '%.40s' is not allowed for accessTier.", tier);
        return 1;
    }
    return 0;
}

/* merge_props copies the settable properties of in over props. */
static void merge_props(cJSON *props, const cJSON *in)
{
    static const char *const names[] = {"allowSharedKeyAccess",
                                        "allowBlobPublicAccess",
                                        "minimumTlsVersion",
                                        "supportsHttpsTrafficOnly",
                                        "accessTier",
                                        "publicNetworkAccess",
                                        "networkAcls",
                                        "isHnsEnabled",
                                        "allowCrossTenantReplication",
                                        "defaultToOAuthAuthentication",
                                        "encryption",
                                        "largeFileSharesState",
                                        "dnsEndpointType",
                                        "isSftpEnabled",
                                        "isLocalUserEnabled"};
    for (size_t i = 0; in && i < sizeof names / sizeof names[0]; i++) {
        const cJSON *v = cJSON_GetObjectItem(in, names[i]);
        if (v)
            chsm_json_set(props, names[i], cJSON_Duplicate(v, 1));
    }
}

static int shared_key_allowed(const cJSON *props)
{
    const cJSON *v = cJSON_GetObjectItem(props, "allowSharedKeyAccess");
    return !cJSON_IsFalse(v); /* null or absent counts as true */
}

static int public_allowed(const cJSON *props)
{
    return cJSON_IsTrue(cJSON_GetObjectItem(props, "allowBlobPublicAccess"));
}

static void set_sku(cJSON *body, const cJSON *sku_in)
{
    const char *name = chsm_json_str(sku_in, "name");
    if (!name)
        return;
    cJSON *sku = cJSON_CreateObject();
    cJSON_AddStringToObject(sku, "name", name);
    cJSON_AddStringToObject(sku, "tier", strncmp(name, "Premium", 7) == 0 ? "Premium" : "Standard");
    chsm_json_set(body, "sku", sku);
}

static int check_kind_sku(chsm_response *res, const cJSON *in, const char *kind, const cJSON *sku)
{
    const cJSON *k = cJSON_GetObjectItem(in, "kind");
    if (k && !cJSON_IsString(k)) {
        chsm_arm_error_target(res, 400, "InvalidRequestPropertyValue", "kind",
                              "The kind must be a string.");
        return 1;
    }
    static const char *const kinds[] = {"Storage", "StorageV2", "BlobStorage", "FileStorage",
                                        "BlockBlobStorage"};
    if (kind) {
        int ok = 0;
        for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
            ok |= strcmp(kind, kinds[i]) == 0;
        if (!ok) {
            chsm_arm_error_target(res, 400, "InvalidRequestPropertyValue", "kind",
                                  "The value '%.40s' is not allowed for kind.", kind);
            return 1;
        }
    }
    if (sku && (!cJSON_IsObject(sku) || !chsm_json_str(sku, "name"))) {
        chsm_arm_error_target(res, 400, "InvalidRequestContent", "sku",
                              "The sku must be an object with a name.");
        return 1;
    }
    return 0;
}

static void put_account(chsm_request *req, chsm_response *res)
{
    const char *sub, *rg, *name;
    if (account_params(req, res, &sub, &rg, &name))
        return;
    cJSON *in = chsm_arm_body_object(req, res, 1);
    if (!in)
        return;
    const char *location = chsm_json_str(in, "location");
    const cJSON *tags = cJSON_GetObjectItem(in, "tags");
    const cJSON *in_props = cJSON_GetObjectItem(in, "properties");
    const cJSON *sku = cJSON_GetObjectItem(in, "sku");
    const char *kind = chsm_json_str(in, "kind");
    if (!location || !*location) {
        chsm_arm_error_target(res, 400, "LocationRequired", "location",
                              "The location property is required for this definition.");
        cJSON_Delete(in);
        return;
    }
    if (chsm_arm_check_tags(tags, res) || check_props(res, in_props) ||
        check_kind_sku(res, in, kind, sku)) {
        cJSON_Delete(in);
        return;
    }
    char *loc = normalized_location(location);
    char *id = chsm_arm_resource_id(sub, rg, SA_TYPE, name);
    chsm_store *s = req->app->store;
    chsm_resource old = {0};
    cJSON *body = NULL;
    char **ids = NULL;
    size_t nids = 0;
    int existed = 0;
    if (!loc || !id) {
        chsm_provider_store_error(res, CHSM_ENOMEM);
        goto out;
    }
    int rc = chsm_store_begin(s);
    if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
        goto out;
    }
    if (chsm_arm_require_resource_group(req, res, sub, rg)) {
        chsm_store_rollback(s);
        goto out;
    }
    int taken = chsm_blob_arm_name_taken(req->app, name, id);
    if (taken != 0) {
        chsm_store_rollback(s);
        if (taken < 0)
            chsm_provider_store_error(res, taken);
        else
            chsm_arm_error(res, 409, "StorageAccountAlreadyTaken",
                           "The storage account named %s is already taken.", name);
        goto out;
    }
    rc = chsm_resources_get(s, id, &old);
    existed = rc == CHSM_OK;
    if (rc == CHSM_ENOTFOUND)
        rc = CHSM_OK;
    if (rc != CHSM_OK) {
        chsm_store_rollback(s);
        chsm_provider_store_error(res, rc);
        goto out;
    }
    const char *old_loc = existed ? chsm_json_str(old.body, "location") : NULL;
    if (old_loc && !chsm_streq_ci(old_loc, loc)) {
        chsm_store_rollback(s);
        chsm_arm_error_target(res, 409, "InvalidResourceLocation", "location",
                              "The resource '%s' already exists in location '%s' in resource "
                              "group '%s'. A resource with the same name cannot be created in "
                              "location '%s'. Please select a new resource name.",
                              name, old_loc, rg, loc);
        goto out;
    }
    int64_t now = chsm_now_ms();
    char created[40];
    chsm_format_time(existed ? old.created_ms : now, created, sizeof created);
    body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "id", existed ? old.id : id);
    cJSON_AddStringToObject(body, "name", name);
    cJSON_AddStringToObject(body, "type", SA_TYPE);
    cJSON_AddStringToObject(body, "location", loc);
    cJSON_AddItemToObject(body, "tags",
                          cJSON_IsObject(tags) ? cJSON_Duplicate(tags, 1) : cJSON_CreateObject());
    cJSON *default_sku = cJSON_CreateObject();
    cJSON_AddStringToObject(default_sku, "name", "Standard_LRS");
    set_sku(body, sku ? sku : default_sku);
    cJSON_Delete(default_sku);
    cJSON_AddStringToObject(body, "kind", kind ? kind : "StorageV2");
    const cJSON *identity = cJSON_GetObjectItem(in, "identity");
    if (cJSON_IsObject(identity))
        cJSON_AddItemToObject(body, "identity", cJSON_Duplicate(identity, 1));
    cJSON *props = cJSON_AddObjectToObject(body, "properties");
    /* The defaults of a new account today, then what the request sets. */
    cJSON_AddStringToObject(props, "provisioningState", "Succeeded");
    cJSON_AddStringToObject(props, "creationTime", created);
    cJSON_AddStringToObject(props, "primaryLocation", loc);
    cJSON_AddStringToObject(props, "statusOfPrimary", "available");
    cJSON_AddStringToObject(props, "minimumTlsVersion", "TLS1_2");
    cJSON_AddBoolToObject(props, "allowBlobPublicAccess", 0);
    cJSON_AddBoolToObject(props, "supportsHttpsTrafficOnly", 1);
    cJSON_AddStringToObject(props, "accessTier", "Hot");
    cJSON_AddStringToObject(props, "publicNetworkAccess", "Enabled");
    cJSON_AddBoolToObject(props, "isHnsEnabled", 0);
    cJSON *acls = cJSON_AddObjectToObject(props, "networkAcls");
    cJSON_AddStringToObject(acls, "bypass", "AzureServices");
    cJSON_AddItemToObject(acls, "virtualNetworkRules", cJSON_CreateArray());
    cJSON_AddItemToObject(acls, "ipRules", cJSON_CreateArray());
    cJSON_AddStringToObject(acls, "defaultAction", "Allow");
    cJSON *enc = cJSON_AddObjectToObject(props, "encryption");
    cJSON *services = cJSON_AddObjectToObject(enc, "services");
    cJSON *eb = cJSON_AddObjectToObject(services, "blob");
    cJSON_AddBoolToObject(eb, "enabled", 1);
    cJSON_AddStringToObject(eb, "keyType", "Account");
    cJSON_AddStringToObject(eb, "lastEnabledTime", created);
    cJSON_AddStringToObject(enc, "keySource", "Microsoft.Storage");
    merge_props(props, in_props);

    chsm_blob_account acct;
    rc = chsm_blob_arm_account_put(req->app, name, existed ? old.id : id, shared_key_allowed(props),
                                   public_allowed(props), &acct, &ids, &nids);
    if (rc == CHSM_OK) {
        char k1[40], k2[40];
        chsm_format_time(acct.key1_ms, k1, sizeof k1);
        chsm_format_time(acct.key2_ms, k2, sizeof k2);
        cJSON *kct = cJSON_CreateObject();
        cJSON_AddStringToObject(kct, "key1", k1);
        cJSON_AddStringToObject(kct, "key2", k2);
        chsm_json_set(props, "keyCreationTime", kct);
        cJSON_AddItemToObject(
            body, "systemData",
            chsm_arm_system_data(req, existed ? chsm_json_obj(old.body, "systemData") : NULL));
        chsm_resource r = {.id = existed ? old.id : id,
                           .type = SA_TYPE,
                           .name = (char *)name,
                           .subscription = (char *)sub,
                           .resource_group = (char *)rg,
                           .body = body,
                           .created_ms = old.created_ms};
        rc = chsm_resources_put(s, &r);
    }
    if (rc == CHSM_OK)
        rc = chsm_store_commit(s);
    else
        chsm_store_rollback(s);
    if (rc != CHSM_OK) {
        chsm_blob_repo_ids_free(ids, nids);
        chsm_provider_store_error(res, rc);
        goto out;
    }
    chsm_blob_arm_remove_files(req->app, ids, nids);
    chsm_arm_json(res, 200, with_endpoints(req, body));
out:
    cJSON_Delete(body);
    chsm_resource_clear(&old);
    cJSON_Delete(in);
    free(loc);
    free(id);
}

/* load_account answers 400/404 itself and returns nonzero unless the account exists. */
static int load_account(chsm_request *req, chsm_response *res, chsm_resource *r)
{
    const char *sub, *rg, *name;
    memset(r, 0, sizeof *r);
    if (account_params(req, res, &sub, &rg, &name))
        return 1;
    if (chsm_arm_require_resource_group(req, res, sub, rg))
        return 1;
    char *id = chsm_arm_resource_id(sub, rg, SA_TYPE, name);
    int rc = id ? chsm_resources_get(req->app->store, id, r) : CHSM_ENOMEM;
    free(id);
    if (rc == CHSM_ENOTFOUND) {
        account_not_found(res, name, rg);
        return 1;
    }
    if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
        return 1;
    }
    return 0;
}

static void get_account(chsm_request *req, chsm_response *res)
{
    chsm_resource r;
    if (load_account(req, res, &r))
        return;
    chsm_arm_json(res, 200, with_endpoints(req, r.body));
    chsm_resource_clear(&r);
}

static void patch_account(chsm_request *req, chsm_response *res)
{
    cJSON *in = chsm_arm_body_object(req, res, 1);
    if (!in)
        return;
    const cJSON *tags = cJSON_GetObjectItem(in, "tags");
    const cJSON *in_props = cJSON_GetObjectItem(in, "properties");
    const cJSON *sku = cJSON_GetObjectItem(in, "sku");
    const char *kind = chsm_json_str(in, "kind");
    if (chsm_arm_check_tags(tags, res) || check_props(res, in_props) ||
        check_kind_sku(res, in, kind, sku)) {
        cJSON_Delete(in);
        return;
    }
    chsm_store *s = req->app->store;
    int rc = chsm_store_begin(s);
    if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
        cJSON_Delete(in);
        return;
    }
    chsm_resource r;
    if (load_account(req, res, &r)) {
        chsm_store_rollback(s);
        cJSON_Delete(in);
        return;
    }
    if (cJSON_IsObject(tags))
        chsm_json_set(r.body, "tags", cJSON_Duplicate(tags, 1));
    if (sku)
        set_sku(r.body, sku);
    if (kind)
        chsm_json_set_str(r.body, "kind", kind);
    const cJSON *identity = cJSON_GetObjectItem(in, "identity");
    if (cJSON_IsObject(identity))
        chsm_json_set(r.body, "identity", cJSON_Duplicate(identity, 1));
    cJSON *props = chsm_json_obj(r.body, "properties");
    if (!props) {
        props = cJSON_CreateObject();
        chsm_json_set(r.body, "properties", props);
    }
    merge_props(props, in_props);
    chsm_json_set(r.body, "systemData",
                  chsm_arm_system_data(req, chsm_json_obj(r.body, "systemData")));
    chsm_blob_account acct;
    rc = chsm_blob_arm_account_get(req->app, r.name, &acct);
    if (rc == CHSM_OK) {
        acct.allow_shared_key = shared_key_allowed(props);
        acct.allow_public = public_allowed(props);
        rc = chsm_blob_repo_account_put(s, &acct);
    }
    if (rc == CHSM_OK)
        rc = chsm_resources_put(s, &r);
    if (rc == CHSM_OK)
        rc = chsm_store_commit(s);
    else
        chsm_store_rollback(s);
    if (rc != CHSM_OK)
        chsm_provider_store_error(res, rc);
    else
        chsm_arm_json(res, 200, with_endpoints(req, r.body));
    chsm_resource_clear(&r);
    cJSON_Delete(in);
}

static void delete_account(chsm_request *req, chsm_response *res)
{
    const char *sub, *rg, *name;
    if (account_params(req, res, &sub, &rg, &name))
        return;
    char *id = chsm_arm_resource_id(sub, rg, SA_TYPE, name);
    chsm_store *s = req->app->store;
    char **ids = NULL;
    size_t nids = 0;
    int rc = id ? chsm_store_begin(s) : CHSM_ENOMEM;
    if (rc != CHSM_OK) {
        free(id);
        chsm_provider_store_error(res, rc);
        return;
    }
    rc = chsm_resources_delete(s, id);
    int deleted = rc == CHSM_OK;
    if (rc == CHSM_OK)
        rc = chsm_resources_delete_under(s, id, NULL);
    if (rc == CHSM_OK) {
        chsm_blob_account acct;
        int arc = chsm_blob_arm_account_get(req->app, name, &acct);
        if (arc == CHSM_OK && chsm_streq_ci(acct.resource_id, id))
            rc = chsm_blob_arm_account_delete(req->app, name, &ids, &nids);
        else if (arc != CHSM_OK && arc != CHSM_ENOTFOUND)
            rc = arc;
    }
    if (rc == CHSM_OK)
        rc = chsm_store_commit(s);
    else
        chsm_store_rollback(s);
    free(id);
    if (rc == CHSM_ENOTFOUND) {
        chsm_arm_json(res, 204, NULL);
        return;
    }
    if (rc != CHSM_OK) {
        chsm_blob_repo_ids_free(ids, nids);
        chsm_provider_store_error(res, rc);
        return;
    }
    chsm_blob_arm_remove_files(req->app, ids, nids);
    chsm_arm_json(res, deleted ? 200 : 204, NULL);
}

static void list_by_rg(chsm_request *req, chsm_response *res)
{
    chsm_provider_list_page(req, res, chsm_request_param(req, "resourceGroupName"), SA_TYPE,
                            with_endpoints);
}

static void list_by_subscription(chsm_request *req, chsm_response *res)
{
    chsm_provider_list_page(req, res, NULL, SA_TYPE, with_endpoints);
}

static cJSON *keys_body(const chsm_blob_account *a)
{
    cJSON *body = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(body, "keys");
    const char *values[2] = {a->key1, a->key2};
    int64_t times[2] = {a->key1_ms, a->key2_ms};
    for (int i = 0; i < 2; i++) {
        char name[8], when[40];
        snprintf(name, sizeof name, "key%d", i + 1);
        chsm_format_time(times[i], when, sizeof when);
        cJSON *k = cJSON_CreateObject();
        cJSON_AddStringToObject(k, "keyName", name);
        cJSON_AddStringToObject(k, "value", values[i]);
        cJSON_AddStringToObject(k, "permissions", "FULL");
        cJSON_AddStringToObject(k, "creationTime", when);
        cJSON_AddItemToArray(arr, k);
    }
    return body;
}

/* load_keys finds the data-plane account of an existing ARM account. */
static int load_keys(chsm_request *req, chsm_response *res, chsm_blob_account *a)
{
    chsm_resource r;
    if (load_account(req, res, &r))
        return 1;
    int rc = chsm_blob_arm_account_get(req->app, r.name, a);
    chsm_resource_clear(&r);
    if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
        return 1;
    }
    return 0;
}

static void list_keys(chsm_request *req, chsm_response *res)
{
    chsm_blob_account a;
    if (load_keys(req, res, &a))
        return;
    chsm_arm_json(res, 200, keys_body(&a));
}

static void regenerate_key(chsm_request *req, chsm_response *res)
{
    cJSON *in = chsm_arm_body_object(req, res, 1);
    if (!in)
        return;
    const char *key = chsm_json_str(in, "keyName");
    int which = key && chsm_streq_ci(key, "key1") ? 1 : key && chsm_streq_ci(key, "key2") ? 2 : 0;
    if (!which) {
        chsm_arm_error_target(res, 400, "InvalidRequestPropertyValue", "keyName",
                              "The keyName must be key1 or key2.");
        cJSON_Delete(in);
        return;
    }
    cJSON_Delete(in);
    chsm_blob_account a;
    if (load_keys(req, res, &a))
        return;
    int rc = chsm_blob_arm_regenerate_key(req->app, a.name, which, &a);
    if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
        return;
    }
    chsm_arm_json(res, 200, keys_body(&a));
}

static void check_name_availability(chsm_request *req, chsm_response *res)
{
    cJSON *in = chsm_arm_body_object(req, res, 1);
    if (!in)
        return;
    const char *name = chsm_json_str(in, "name");
    const char *type = chsm_json_str(in, "type");
    if (!name || (type && !chsm_streq_ci(type, SA_TYPE))) {
        chsm_arm_error_target(res, 400, "InvalidRequestContent", "name",
                              "Give the name and type Microsoft.Storage/storageAccounts.");
        cJSON_Delete(in);
        return;
    }
    cJSON *out = cJSON_CreateObject();
    if (chsm_blob_check_account_name(name) != CHSM_BLOB_NAME_OK) {
        cJSON_AddBoolToObject(out, "nameAvailable", 0);
        cJSON_AddStringToObject(out, "reason", "AccountNameInvalid");
        char msg[256];
        snprintf(msg, sizeof msg,
                 "%.64s is not a valid storage account name. Storage account name must be "
                 "between 3 and 24 characters in length and use numbers and lower-case letters "
                 "only.",
                 name);
        cJSON_AddStringToObject(out, "message", msg);
    } else {
        int taken = chsm_blob_arm_name_taken(req->app, name, "");
        if (taken < 0) {
            cJSON_Delete(out);
            cJSON_Delete(in);
            chsm_provider_store_error(res, taken);
            return;
        }
        cJSON_AddBoolToObject(out, "nameAvailable", !taken);
        if (taken) {
            char msg[128];
            snprintf(msg, sizeof msg, "The storage account named %s is already taken.", name);
            cJSON_AddStringToObject(out, "reason", "AlreadyExists");
            cJSON_AddStringToObject(out, "message", msg);
        }
    }
    cJSON_Delete(in);
    chsm_arm_json(res, 200, out);
}

static void get_blob_service(chsm_request *req, chsm_response *res)
{
    chsm_resource r;
    if (load_account(req, res, &r))
        return;
    cJSON *body = cJSON_CreateObject();
    char id[800];
    snprintf(id, sizeof id, "%s/blobServices/default", r.id);
    cJSON_AddStringToObject(body, "id", id);
    cJSON_AddStringToObject(body, "name", "default");
    cJSON_AddStringToObject(body, "type", "Microsoft.Storage/storageAccounts/blobServices");
    const cJSON *sku = cJSON_GetObjectItem(r.body, "sku");
    if (sku)
        cJSON_AddItemToObject(body, "sku", cJSON_Duplicate(sku, 1));
    cJSON *props = cJSON_AddObjectToObject(body, "properties");
    cJSON *cors = cJSON_AddObjectToObject(props, "cors");
    cJSON_AddItemToObject(cors, "corsRules", cJSON_CreateArray());
    cJSON *drp = cJSON_AddObjectToObject(props, "deleteRetentionPolicy");
    cJSON_AddBoolToObject(drp, "allowPermanentDelete", 0);
    cJSON_AddBoolToObject(drp, "enabled", 0);
    chsm_resource_clear(&r);
    chsm_arm_json(res, 200, body);
}

/* ---- containers ---- */

static const char *access_to_arm(const char *pa)
{
    return strcmp(pa, "container") == 0 ? "Container" : strcmp(pa, "blob") == 0 ? "Blob" : "None";
}

static cJSON *container_body(const chsm_resource *acct, const chsm_blob_container *c,
                             int with_metadata)
{
    cJSON *b = cJSON_CreateObject();
    char id[900], etag[48], when[40];
    snprintf(id, sizeof id, "%s/blobServices/default/containers/%s", acct->id, c->name);
    snprintf(etag, sizeof etag, "\"%s\"", c->etag);
    chsm_format_time(c->modified_ms, when, sizeof when);
    cJSON_AddStringToObject(b, "id", id);
    cJSON_AddStringToObject(b, "name", c->name);
    cJSON_AddStringToObject(b, "type", CONTAINER_TYPE);
    cJSON_AddStringToObject(b, "etag", etag);
    cJSON *p = cJSON_AddObjectToObject(b, "properties");
    cJSON_AddStringToObject(p, "publicAccess", access_to_arm(c->public_access));
    cJSON_AddStringToObject(p, "lastModifiedTime", when);
    cJSON_AddStringToObject(p, "leaseStatus", "Unlocked");
    cJSON_AddStringToObject(p, "leaseState", "Available");
    cJSON_AddBoolToObject(p, "hasImmutabilityPolicy", 0);
    cJSON_AddBoolToObject(p, "hasLegalHold", 0);
    cJSON_AddBoolToObject(p, "deleted", 0);
    cJSON_AddNumberToObject(p, "remainingRetentionDays", 0);
    cJSON_AddStringToObject(p, "defaultEncryptionScope", "$account-encryption-key");
    cJSON_AddBoolToObject(p, "denyEncryptionScopeOverride", 0);
    if (with_metadata) {
        cJSON *m = c->metadata ? cJSON_Parse(c->metadata) : NULL;
        cJSON_AddItemToObject(p, "metadata", m ? m : cJSON_CreateObject());
    }
    return b;
}

/* container_name validates {containerName}; answers and returns nonzero. */
static int container_name(chsm_request *req, chsm_response *res, const char **name)
{
    *name = chsm_request_param(req, "containerName");
    int c = chsm_blob_check_container_name(*name);
    if (c == CHSM_BLOB_NAME_OK)
        return 0;
    chsm_arm_error_target(res, 400, "ContainerOperationFailure", "containerName",
                          "The container name '%.80s' is invalid: use 3-63 lowercase letters, "
                          "digits and single hyphens, starting and ending with a letter or digit.",
                          *name);
    return 1;
}

static void container_not_found(chsm_response *res)
{
    chsm_arm_error(res, 404, "ContainerNotFound", "The specified container does not exist.");
}

/* parse_container_props reads properties.publicAccess and .metadata; answers 400. */
static int parse_container_props(chsm_response *res, const cJSON *in, const char **access,
                                 char **metadata)
{
    const cJSON *props = chsm_json_obj(in, "properties");
    const char *pa = chsm_json_str(props, "publicAccess");
    const cJSON *meta = props ? cJSON_GetObjectItem(props, "metadata") : NULL;
    *access = NULL;
    *metadata = NULL;
    const cJSON *pa_item = props ? cJSON_GetObjectItem(props, "publicAccess") : NULL;
    if (pa_item && !pa && !cJSON_IsNull(pa_item)) {
        chsm_arm_error_target(res, 400, "InvalidRequestPropertyValue", "properties.publicAccess",
                              "The publicAccess must be a string: None, Blob or Container.");
        return 1;
    }
    if (pa) {
        if (chsm_streq_ci(pa, "None"))
            *access = "";
        else if (chsm_streq_ci(pa, "Blob"))
            *access = "blob";
        else if (chsm_streq_ci(pa, "Container"))
            *access = "container";
        else {
            chsm_arm_error_target(res, 400, "InvalidRequestPropertyValue",
                                  "properties.publicAccess",
                                  "The publicAccess '%.40s' is invalid: use None, Blob or "
                                  "Container.",
                                  pa);
            return 1;
        }
    }
    if (meta && !cJSON_IsNull(meta)) {
        int ok = cJSON_IsObject(meta);
        for (const cJSON *it = ok ? meta->child : NULL; it && ok; it = it->next)
            ok = cJSON_IsString(it) && chsm_blob_valid_metadata_name(it->string);
        if (!ok) {
            chsm_arm_error_target(res, 400, "InvalidMetadata", "properties.metadata",
                                  "The metadata must be an object of string values whose names "
                                  "are C# identifiers.");
            return 1;
        }
        *metadata = chsm_json_print_owned(meta);
    }
    return 0;
}

static void put_container_common(chsm_request *req, chsm_response *res, int patch)
{
    const char *cname;
    if (container_name(req, res, &cname))
        return;
    cJSON *in = chsm_arm_body_object(req, res, 0);
    if (!in)
        return;
    const char *access;
    char *metadata;
    if (parse_container_props(res, in, &access, &metadata)) {
        cJSON_Delete(in);
        return;
    }
    chsm_resource acct;
    if (load_account(req, res, &acct)) {
        free(metadata);
        cJSON_Delete(in);
        return;
    }
    chsm_blob_container old;
    int rc = chsm_blob_repo_container_get(req->app->store, acct.name, cname, &old);
    int exists = rc == CHSM_OK;
    if (patch && rc == CHSM_ENOTFOUND) {
        container_not_found(res);
        goto out;
    }
    if (rc != CHSM_OK && rc != CHSM_ENOTFOUND) {
        chsm_provider_store_error(res, rc);
        goto out;
    }
    char keep[16] = "";
    if (exists)
        snprintf(keep, sizeof keep, "%s", old.public_access);
    chsm_blob_container_clear(&old);
    /* PATCH keeps what it does not name; PUT sets publicAccess (None by default). */
    const char *effective = access ? access : (patch ? keep : "");
    if (effective[0] && !public_allowed(chsm_json_obj(acct.body, "properties"))) {
        chsm_arm_error(res, 409, "PublicAccessNotPermitted",
                       "Public access is not permitted on this storage account.");
        goto out;
    }
    int created = 0;
    chsm_blob_container c;
    rc = chsm_blob_arm_container_put(req->app, acct.name, cname, effective,
                                     metadata ? metadata : (patch ? NULL : "{}"), &created, &c);
    if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
        goto out;
    }
    chsm_arm_json(res, created ? 201 : 200, container_body(&acct, &c, 1));
    chsm_blob_container_clear(&c);
out:
    chsm_resource_clear(&acct);
    free(metadata);
    cJSON_Delete(in);
}

static void put_container(chsm_request *req, chsm_response *res)
{
    put_container_common(req, res, 0);
}

static void patch_container(chsm_request *req, chsm_response *res)
{
    put_container_common(req, res, 1);
}

static void get_container(chsm_request *req, chsm_response *res)
{
    const char *cname;
    if (container_name(req, res, &cname))
        return;
    chsm_resource acct;
    if (load_account(req, res, &acct))
        return;
    chsm_blob_container c;
    int rc = chsm_blob_repo_container_get(req->app->store, acct.name, cname, &c);
    if (rc == CHSM_ENOTFOUND)
        container_not_found(res);
    else if (rc != CHSM_OK)
        chsm_provider_store_error(res, rc);
    else
        chsm_arm_json(res, 200, container_body(&acct, &c, 1));
    chsm_blob_container_clear(&c);
    chsm_resource_clear(&acct);
}

static void delete_container(chsm_request *req, chsm_response *res)
{
    const char *cname;
    if (container_name(req, res, &cname))
        return;
    chsm_resource acct;
    if (load_account(req, res, &acct))
        return;
    int rc = chsm_blob_arm_container_delete(req->app, acct.name, cname);
    chsm_resource_clear(&acct);
    if (rc == CHSM_ENOTFOUND)
        chsm_arm_json(res, 204, NULL);
    else if (rc != CHSM_OK)
        chsm_provider_store_error(res, rc);
    else
        chsm_arm_json(res, 200, NULL);
}

static void list_containers(chsm_request *req, chsm_response *res)
{
    chsm_resource acct;
    if (load_account(req, res, &acct))
        return;
    chsm_blob_container *rows = NULL;
    size_t n = 0;
    int rc = chsm_blob_repo_container_list(req->app->store, acct.name, NULL,
                                           chsm_request_query(req, "$skipToken"), LIST_PAGE + 1,
                                           &rows, &n);
    if (rc != CHSM_OK) {
        chsm_resource_clear(&acct);
        chsm_provider_store_error(res, rc);
        return;
    }
    cJSON *items = cJSON_CreateArray();
    for (size_t i = 0; i < n && i < LIST_PAGE; i++)
        cJSON_AddItemToArray(items, container_body(&acct, &rows[i], 0));
    char *next = NULL;
    if (n > LIST_PAGE) {
        char *enc = chsm_percent_encode(rows[LIST_PAGE].name, 0);
        chsm_buf b = {0};
        chsm_buf_printf(&b, "%s%s?api-version=%s&$skipToken=%s", req->base_url, req->raw_path,
                        chsm_request_query(req, "api-version"), enc ? enc : "");
        free(enc);
        next = chsm_buf_steal(&b);
    }
    chsm_blob_containers_free(rows, n);
    chsm_resource_clear(&acct);
    chsm_arm_json(res, 200, chsm_arm_list_body(items, next));
    free(next);
}

#define RGP "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}"
#define SA "/providers/Microsoft.Storage/storageAccounts"
#define ACCT RGP SA "/{accountName}"
#define CONTAINERS ACCT "/blobServices/default/containers"

static const chsm_route routes[] = {
    {"POST", "/subscriptions/{subscriptionId}/providers/Microsoft.Storage/checkNameAvailability",
     check_name_availability, "storageAccounts/checkNameAvailability", chsm_api_storage, 0},
    {"GET", "/subscriptions/{subscriptionId}" SA, list_by_subscription, "storageAccounts/list",
     chsm_api_storage, 0},
    {"GET", RGP SA, list_by_rg, "storageAccounts/list", chsm_api_storage, 0},
    {"PUT", ACCT, put_account, "storageAccounts/write", chsm_api_storage, 0},
    {"GET", ACCT, get_account, "storageAccounts/read", chsm_api_storage, CHSM_ROUTE_CACHEABLE},
    {"PATCH", ACCT, patch_account, "storageAccounts/write", chsm_api_storage, 0},
    {"DELETE", ACCT, delete_account, "storageAccounts/delete", chsm_api_storage, 0},
    {"POST", ACCT "/listKeys", list_keys, "storageAccounts/listKeys", chsm_api_storage, 0},
    {"POST", ACCT "/regenerateKey", regenerate_key, "storageAccounts/regenerateKey",
     chsm_api_storage, 0},
    {"GET", ACCT "/blobServices/default", get_blob_service, "blobServices/read", chsm_api_storage,
     0},
    {"GET", CONTAINERS, list_containers, "blobServices/containers/list", chsm_api_storage, 0},
    {"PUT", CONTAINERS "/{containerName}", put_container, "blobServices/containers/write",
     chsm_api_storage, 0},
    {"PATCH", CONTAINERS "/{containerName}", patch_container, "blobServices/containers/write",
     chsm_api_storage, 0},
    {"GET", CONTAINERS "/{containerName}", get_container, "blobServices/containers/read",
     chsm_api_storage, 0},
    {"DELETE", CONTAINERS "/{containerName}", delete_container, "blobServices/containers/delete",
     chsm_api_storage, 0},
};

const chsm_provider chsm_provider_storage = {"Microsoft.Storage", routes, CHSM_COUNT(routes), NULL};

/* managed_identity.c - Microsoft.ManagedIdentity/userAssignedIdentities.
 *
 * An identity is a resource document whose properties.principalId (the
 * object id role assignments name), clientId (what IMDS token requests name)
 * and tenantId are generated once, on create, and never change. Ids are
 * written with lowercase "resourcegroups", as the real service and its spec
 * example do; every lookup is case-insensitive anyway. Any api-version is
 * accepted (it must be present). */
#include "providers/answers.h"
#include "providers/managed_identity.h"
#include "providers/provider.h"

#include "app/app.h"
#include "arm/auth.h"
#include "arm/errors.h"
#include "arm/names.h"
#include "arm/resource.h"
#include "arm/versions.h"
#include "store/resources.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/status.h"
#include "util/text.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MSI_TYPE "Microsoft.ManagedIdentity/userAssignedIdentities"

/* identity_id returns the id the real service writes (caller frees). */
static char *identity_id(const char *sub, const char *rg, const char *name)
{
    chsm_buf b = {0};
    chsm_buf_printf(&b, "/subscriptions/%s/resourcegroups/%s/providers/" MSI_TYPE "/%s", sub, rg,
                    name);
    return chsm_buf_steal(&b);
}

/* normalized_location turns "West Europe" into "westeurope" (caller frees). */
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

static void not_found(chsm_response *res, const char *name, const char *rg)
{
    chsm_arm_error(res, 404, "ResourceNotFound",
                   "The Resource '" MSI_TYPE "/%s' under resource group '%s' was not found. For "
                   "more details please go to https://aka.ms/ARMResourceNotFoundFix",
                   name, rg);
}

/* check_identity_name answers 400 unless name is 3-128 letters, digits, '-'
 * and '_' starting with a letter or digit. */
static int check_identity_name(chsm_response *res, const char *name)
{
    if (chsm_arm_check_name(res, "userAssignedIdentities", name, 3, 128, "-_"))
        return 1;
    if (!isalnum((unsigned char)name[0])) {
        chsm_arm_error_target(res, 400, "InvalidResourceName", "userAssignedIdentities",
                              "The userAssignedIdentities name '%.200s' is invalid. It must start "
                              "with a letter or a digit.",
                              name);
        return 1;
    }
    return 0;
}

static void put_identity(chsm_request *req, chsm_response *res)
{
    const char *sub = chsm_request_param(req, "subscriptionId");
    const char *rg = chsm_request_param(req, "resourceGroupName");
    const char *name = chsm_request_param(req, "resourceName");
    if (!chsm_arm_valid_subscription(sub) || !chsm_arm_valid_resource_group(rg)) {
        chsm_arm_require_resource_group(req, res, sub, rg); /* answers the 400 */
        return;
    }
    if (check_identity_name(res, name))
        return;
    cJSON *in = chsm_arm_body_object(req, res, 1);
    if (!in)
        return;
    const char *location = chsm_json_str(in, "location");
    const cJSON *tags = cJSON_GetObjectItem(in, "tags");
    const cJSON *in_props = chsm_json_obj(in, "properties");
    const char *isolation = chsm_json_str(in_props, "isolationScope");
    if (!location || !*location) {
        chsm_arm_error_target(res, 400, "LocationRequired", "location",
                              "The location property is required for this definition.");
        cJSON_Delete(in);
        return;
    }
    if (chsm_arm_check_tags(tags, res)) {
        cJSON_Delete(in);
        return;
    }
    if (isolation && strcmp(isolation, "None") != 0 && strcmp(isolation, "Regional") != 0) {
        chsm_arm_error_target(res, 400, "InvalidRequestContent", "properties.isolationScope",
                              "The isolationScope '%.40s' is invalid: use None or Regional.",
                              isolation);
        cJSON_Delete(in);
        return;
    }
    char *loc = normalized_location(location);
    char *id = identity_id(sub, rg, name);
    chsm_store *s = req->app->store;
    chsm_resource old = {0};
    cJSON *body = NULL;
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
    const cJSON *old_props = existed ? chsm_json_obj(old.body, "properties") : NULL;
    char principal[37], client[37];
    const char *tenant = req->principal.tid[0] ? req->principal.tid : CHSM_DEFAULT_TENANT;
    if (old_props && chsm_json_str(old_props, "principalId") &&
        chsm_json_str(old_props, "clientId") && chsm_json_str(old_props, "tenantId")) {
        snprintf(principal, sizeof principal, "%s", chsm_json_str(old_props, "principalId"));
        snprintf(client, sizeof client, "%s", chsm_json_str(old_props, "clientId"));
        tenant = chsm_json_str(old_props, "tenantId");
    } else {
        chsm_uuid(principal);
        chsm_uuid(client);
    }
    body = cJSON_CreateObject();
    /* An update keeps the id as first written (names as the client spelled them then). */
    cJSON_AddStringToObject(body, "id", existed ? old.id : id);
    cJSON_AddStringToObject(body, "name", existed ? old.name : name);
    cJSON_AddStringToObject(body, "type", MSI_TYPE);
    cJSON_AddStringToObject(body, "location", loc);
    cJSON_AddItemToObject(body, "tags",
                          cJSON_IsObject(tags) ? cJSON_Duplicate(tags, 1) : cJSON_CreateObject());
    cJSON *props = cJSON_AddObjectToObject(body, "properties");
    cJSON_AddStringToObject(props, "tenantId", tenant);
    cJSON_AddStringToObject(props, "principalId", principal);
    cJSON_AddStringToObject(props, "clientId", client);
    const char *old_isolation = chsm_json_str(old_props, "isolationScope");
    if (isolation || old_isolation)
        cJSON_AddStringToObject(props, "isolationScope", isolation ? isolation : old_isolation);
    cJSON_AddItemToObject(
        body, "systemData",
        chsm_arm_system_data(req, existed ? chsm_json_obj(old.body, "systemData") : NULL));
    chsm_resource r = {.id = existed ? old.id : id,
                       .type = MSI_TYPE,
                       .name = existed ? old.name : (char *)name,
                       .subscription = (char *)sub,
                       .resource_group = (char *)rg,
                       .body = body,
                       .created_ms = old.created_ms};
    rc = chsm_resources_put(s, &r);
    if (rc == CHSM_OK)
        rc = chsm_store_commit(s);
    else
        chsm_store_rollback(s);
    if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
        goto out;
    }
    chsm_arm_json(res, existed ? 200 : 201, body);
    body = NULL;
out:
    cJSON_Delete(body);
    chsm_resource_clear(&old);
    cJSON_Delete(in);
    free(loc);
    free(id);
}

/* load answers 400/404 itself and returns nonzero unless the identity exists. */
static int load(chsm_request *req, chsm_response *res, chsm_resource *r)
{
    const char *sub = chsm_request_param(req, "subscriptionId");
    const char *rg = chsm_request_param(req, "resourceGroupName");
    const char *name = chsm_request_param(req, "resourceName");
    memset(r, 0, sizeof *r);
    if (chsm_arm_require_resource_group(req, res, sub, rg))
        return 1;
    char *id = identity_id(sub, rg, name);
    int rc = id ? chsm_resources_get(req->app->store, id, r) : CHSM_ENOMEM;
    free(id);
    if (rc == CHSM_ENOTFOUND)
        not_found(res, name, rg);
    else if (rc != CHSM_OK)
        chsm_provider_store_error(res, rc);
    return rc != CHSM_OK;
}

static void get_identity(chsm_request *req, chsm_response *res)
{
    chsm_resource r;
    if (load(req, res, &r))
        return;
    chsm_arm_json(res, 200, r.body);
    r.body = NULL;
    chsm_resource_clear(&r);
}

/* PATCH (IdentityUpdate): tags replace the old ones; location is create-only
 * and the read-only properties are ignored, as the spec marks them. */
static void patch_identity(chsm_request *req, chsm_response *res)
{
    cJSON *in = chsm_arm_body_object(req, res, 1);
    if (!in)
        return;
    const cJSON *tags = cJSON_GetObjectItem(in, "tags");
    if (chsm_arm_check_tags(tags, res)) {
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
    if (load(req, res, &r)) {
        chsm_store_rollback(s);
        cJSON_Delete(in);
        return;
    }
    if (cJSON_IsObject(tags))
        chsm_json_set(r.body, "tags", cJSON_Duplicate(tags, 1));
    chsm_json_set(r.body, "systemData",
                  chsm_arm_system_data(req, chsm_json_obj(r.body, "systemData")));
    rc = chsm_resources_put(s, &r);
    if (rc == CHSM_OK)
        rc = chsm_store_commit(s);
    else
        chsm_store_rollback(s);
    if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
    } else {
        chsm_arm_json(res, 200, r.body);
        r.body = NULL;
    }
    chsm_resource_clear(&r);
    cJSON_Delete(in);
}

/* DELETE: 200 when it existed, 204 when it did not. Role assignments naming
 * the identity's principal stay, as in Azure (they show an unknown identity). */
static void delete_identity(chsm_request *req, chsm_response *res)
{
    const char *sub = chsm_request_param(req, "subscriptionId");
    const char *rg = chsm_request_param(req, "resourceGroupName");
    const char *name = chsm_request_param(req, "resourceName");
    if (chsm_arm_require_resource_group(req, res, sub, rg))
        return;
    char *id = identity_id(sub, rg, name);
    chsm_store *s = req->app->store;
    int rc = id ? chsm_store_begin(s) : CHSM_ENOMEM;
    if (rc == CHSM_OK) {
        rc = chsm_resources_delete(s, id);
        if (rc == CHSM_OK || rc == CHSM_ENOTFOUND) {
            int crc = chsm_store_commit(s);
            if (crc != CHSM_OK)
                rc = crc;
        } else {
            chsm_store_rollback(s);
        }
    }
    free(id);
    if (rc == CHSM_OK)
        chsm_arm_json(res, 200, NULL);
    else if (rc == CHSM_ENOTFOUND)
        chsm_arm_json(res, 204, NULL);
    else
        chsm_provider_store_error(res, rc);
}

static void list_by_rg(chsm_request *req, chsm_response *res)
{
    chsm_provider_list_page(req, res, chsm_request_param(req, "resourceGroupName"), MSI_TYPE, NULL);
}

static void list_by_subscription(chsm_request *req, chsm_response *res)
{
    chsm_provider_list_page(req, res, NULL, MSI_TYPE, NULL);
}

static void fill_info(const cJSON *body, chsm_msi_info *info)
{
    const cJSON *p = chsm_json_obj(body, "properties");
    const char *pid = chsm_json_str(p, "principalId");
    const char *cid = chsm_json_str(p, "clientId");
    const char *tid = chsm_json_str(p, "tenantId");
    snprintf(info->principal_id, sizeof info->principal_id, "%s", pid ? pid : "");
    snprintf(info->client_id, sizeof info->client_id, "%s", cid ? cid : "");
    snprintf(info->tenant_id, sizeof info->tenant_id, "%s", tid ? tid : "");
}

int chsm_msi_lookup(chsm_app *app, const char *resource_id, chsm_msi_info *info)
{
    if (!resource_id)
        return CHSM_ENOTFOUND;
    chsm_resource r;
    int rc = chsm_resources_get(app->store, resource_id, &r);
    if (rc != CHSM_OK)
        return rc;
    if (!chsm_streq_ci(r.type, MSI_TYPE))
        rc = CHSM_ENOTFOUND;
    else
        fill_info(r.body, info);
    chsm_resource_clear(&r);
    return rc;
}

/* find_by fills info (and resource_id) from the first identity whose
 * properties.<key> equals value, ignoring case. The scan is over all
 * identities: an emulator holds a handful. */
static int find_by(chsm_app *app, const char *key, const char *value, chsm_msi_info *info,
                   char *resource_id, size_t idlen)
{
    if (!value || !*value)
        return CHSM_ENOTFOUND;
    chsm_resource_query q = {.type = MSI_TYPE};
    chsm_resource *rows = NULL;
    size_t n = 0;
    int rc = chsm_resources_list(app->store, &q, &rows, &n);
    if (rc != CHSM_OK)
        return rc;
    rc = CHSM_ENOTFOUND;
    for (size_t i = 0; i < n; i++) {
        const char *v = chsm_json_str(chsm_json_obj(rows[i].body, "properties"), key);
        if (v && chsm_streq_ci(v, value)) {
            fill_info(rows[i].body, info);
            if (resource_id && idlen)
                snprintf(resource_id, idlen, "%s", rows[i].id);
            rc = CHSM_OK;
            break;
        }
    }
    chsm_resources_free(rows, n);
    return rc;
}

int chsm_msi_find_by_client_id(chsm_app *app, const char *client_id, chsm_msi_info *info,
                               char *resource_id, size_t idlen)
{
    return find_by(app, "clientId", client_id, info, resource_id, idlen);
}

int chsm_msi_find_by_principal_id(chsm_app *app, const char *principal_id, chsm_msi_info *info,
                                  char *resource_id, size_t idlen)
{
    return find_by(app, "principalId", principal_id, info, resource_id, idlen);
}

#define RGP "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}"
#define UAI "/providers/" MSI_TYPE

static const chsm_route routes[] = {
    {"GET", "/subscriptions/{subscriptionId}" UAI, list_by_subscription,
     "userAssignedIdentities/list", chsm_api_msi, 0},
    {"GET", RGP UAI, list_by_rg, "userAssignedIdentities/list", chsm_api_msi, 0},
    {"PUT", RGP UAI "/{resourceName}", put_identity, "userAssignedIdentities/write", chsm_api_msi,
     0},
    {"GET", RGP UAI "/{resourceName}", get_identity, "userAssignedIdentities/read", chsm_api_msi,
     CHSM_ROUTE_CACHEABLE},
    {"PATCH", RGP UAI "/{resourceName}", patch_identity, "userAssignedIdentities/write",
     chsm_api_msi, 0},
    {"DELETE", RGP UAI "/{resourceName}", delete_identity, "userAssignedIdentities/delete",
     chsm_api_msi, 0},
};

const chsm_provider chsm_provider_managed_identity = {"Microsoft.ManagedIdentity", routes,
                                                      CHSM_COUNT(routes), NULL};

/* resources.c - Microsoft.Resources: subscriptions, resource groups, and the
 * generic operation results URL that resource group deletion reports through.
 *
 * Any subscription id is accepted and recorded on first write, since every
 * DR script starts by creating a resource group (New-AzResourceGroup). */
#include "providers/answers.h"
#include "providers/provider.h"

#include "app/app.h"
#include "arm/auth.h"
#include "arm/errors.h"
#include "arm/lro.h"
#include "arm/names.h"
#include "arm/resource.h"
#include "arm/versions.h"
#include "store/resources.h"
#include "util/json.h"
#include "util/status.h"
#include "util/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RG_TYPE "Microsoft.Resources/resourceGroups"
#define SUB_TYPE "Microsoft.Resources/subscriptions"
#define RG_DELETE_KIND "resourceGroups/delete"

static cJSON *subscription_body(const char *sub, const char *tid)
{
    cJSON *b = cJSON_CreateObject();
    char id[128];
    snprintf(id, sizeof id, "/subscriptions/%s", sub);
    cJSON_AddStringToObject(b, "id", id);
    cJSON_AddStringToObject(b, "authorizationSource", "RoleBased");
    cJSON_AddStringToObject(b, "subscriptionId", sub);
    cJSON_AddStringToObject(b, "tenantId", tid);
    cJSON_AddStringToObject(b, "displayName", "Emulator Subscription");
    cJSON_AddStringToObject(b, "state", "Enabled");
    cJSON *policies = cJSON_AddObjectToObject(b, "subscriptionPolicies");
    cJSON_AddStringToObject(policies, "locationPlacementId", "Public_2014-09-01");
    cJSON_AddStringToObject(policies, "quotaId", "PayAsYouGo_2014-09-01");
    cJSON_AddStringToObject(policies, "spendingLimit", "Off");
    return b;
}

/* ensure_subscription records sub on first write (inside the caller's transaction). */
static int ensure_subscription(chsm_request *req, const char *sub)
{
    char id[128];
    snprintf(id, sizeof id, "/subscriptions/%s", sub);
    int exists = chsm_resources_exists(req->app->store, id);
    if (exists != 0)
        return exists == 1 ? CHSM_OK : CHSM_EIO;
    chsm_resource r = {0};
    r.id = id;
    r.type = SUB_TYPE;
    r.name = (char *)sub;
    r.subscription = (char *)sub;
    r.body =
        subscription_body(sub, req->principal.tid[0] ? req->principal.tid : CHSM_DEFAULT_TENANT);
    int rc = chsm_resources_put(req->app->store, &r);
    cJSON_Delete(r.body);
    return rc;
}

static void get_subscription(chsm_request *req, chsm_response *res)
{
    const char *sub = chsm_request_param(req, "subscriptionId");
    if (!chsm_arm_valid_subscription(sub)) {
        chsm_arm_error(res, 400, "InvalidSubscriptionId",
                       "The provided subscription identifier '%.100s' is malformed or invalid.",
                       sub);
        return;
    }
    chsm_arm_json(
        res, 200,
        subscription_body(sub, req->principal.tid[0] ? req->principal.tid : CHSM_DEFAULT_TENANT));
}

static void list_subscriptions(chsm_request *req, chsm_response *res)
{
    chsm_resource_query q = {.type = SUB_TYPE};
    chsm_provider_list_all(req, res, &q);
}

static int rg_params(chsm_request *req, chsm_response *res, const char **sub, const char **rg)
{
    *sub = chsm_request_param(req, "subscriptionId");
    *rg = chsm_request_param(req, "resourceGroupName");
    if (!chsm_arm_valid_subscription(*sub)) {
        chsm_arm_error(res, 400, "InvalidSubscriptionId",
                       "The provided subscription identifier '%.100s' is malformed or invalid.",
                       *sub);
        return 1;
    }
    if (!chsm_arm_valid_resource_group(*rg)) {
        chsm_arm_error_target(res, 400, "InvalidResourceGroup", "resourceGroupName",
                              "The provided resource group name '%.100s' has these invalid "
                              "characters or length: it must be 1-90 letters, digits, '_', '-', "
                              "'.', '(' or ')' and not end in '.'.",
                              *rg);
        return 1;
    }
    return 0;
}

static void put_rg(chsm_request *req, chsm_response *res)
{
    const char *sub, *rg;
    if (rg_params(req, res, &sub, &rg))
        return;
    cJSON *in = chsm_arm_body_object(req, res, 1);
    if (!in)
        return;
    const char *location = chsm_json_str(in, "location");
    const cJSON *tags = cJSON_GetObjectItem(in, "tags");
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
    char *id = chsm_arm_rg_id(sub, rg);
    chsm_store *s = req->app->store;
    chsm_resource old = {0};
    int rc = chsm_store_begin(s);
    int existed = 0;
    if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
        goto out;
    }
    {
        rc = chsm_resources_get(s, id, &old);
        existed = rc == CHSM_OK;
        if (rc == CHSM_ENOTFOUND)
            rc = CHSM_OK;
    }
    if (rc == CHSM_OK && existed) {
        const char *old_loc = chsm_json_str(old.body, "location");
        if (old_loc && !chsm_streq_ci(old_loc, location)) {
            chsm_store_rollback(s);
            chsm_arm_error(res, 409, "InvalidResourceGroupLocation",
                           "Invalid resource group location '%s'. The Resource group already "
                           "exists in location '%s'.",
                           location, old_loc);
            goto out;
        }
    }
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "id", id);
    cJSON_AddStringToObject(body, "name", rg);
    cJSON_AddStringToObject(body, "type", RG_TYPE);
    cJSON_AddStringToObject(body, "location",
                            existed ? chsm_json_str(old.body, "location") : location);
    const char *managed_by = chsm_json_str(in, "managedBy");
    if (managed_by)
        cJSON_AddStringToObject(body, "managedBy", managed_by);
    cJSON_AddItemToObject(body, "tags",
                          cJSON_IsObject(tags) ? cJSON_Duplicate(tags, 1) : cJSON_CreateObject());
    cJSON *props = cJSON_AddObjectToObject(body, "properties");
    cJSON_AddStringToObject(props, "provisioningState", "Succeeded");
    if (rc == CHSM_OK)
        rc = ensure_subscription(req, sub);
    if (rc == CHSM_OK) {
        chsm_resource r = {.id = id,
                           .type = RG_TYPE,
                           .name = (char *)rg,
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
        cJSON_Delete(body);
        chsm_provider_store_error(res, rc);
        goto out;
    }
    chsm_arm_json(res, existed ? 200 : 201, body);
out:
    chsm_resource_clear(&old);
    cJSON_Delete(in);
    free(id);
}

static void get_rg(chsm_request *req, chsm_response *res)
{
    const char *sub, *rg;
    if (rg_params(req, res, &sub, &rg))
        return;
    char *id = chsm_arm_rg_id(sub, rg);
    chsm_resource r;
    int rc = chsm_resources_get(req->app->store, id, &r);
    free(id);
    if (rc == CHSM_ENOTFOUND) {
        chsm_arm_error(res, 404, "ResourceGroupNotFound", "Resource group '%s' could not be found.",
                       rg);
        return;
    }
    if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
        return;
    }
    chsm_arm_json(res, 200, r.body);
    r.body = NULL;
    chsm_resource_clear(&r);
}

static void head_rg(chsm_request *req, chsm_response *res)
{
    const char *sub, *rg;
    if (rg_params(req, res, &sub, &rg))
        return;
    char *id = chsm_arm_rg_id(sub, rg);
    int exists = chsm_resources_exists(req->app->store, id);
    free(id);
    chsm_arm_json(res, exists == 1 ? 204 : exists == 0 ? 404 : 500, NULL);
}

static void patch_rg(chsm_request *req, chsm_response *res)
{
    const char *sub, *rg;
    if (rg_params(req, res, &sub, &rg))
        return;
    cJSON *in = chsm_arm_body_object(req, res, 1);
    if (!in)
        return;
    const cJSON *tags = cJSON_GetObjectItem(in, "tags");
    if (chsm_arm_check_tags(tags, res)) {
        cJSON_Delete(in);
        return;
    }
    char *id = chsm_arm_rg_id(sub, rg);
    chsm_store *s = req->app->store;
    chsm_resource r = {0};
    if (chsm_store_begin(s) != CHSM_OK) {
        chsm_provider_store_error(res, CHSM_EIO);
        cJSON_Delete(in);
        free(id);
        return;
    }
    int rc = chsm_resources_get(s, id, &r);
    if (rc == CHSM_OK && cJSON_IsObject(tags))
        chsm_json_set(r.body, "tags", cJSON_Duplicate(tags, 1));
    if (rc == CHSM_OK)
        rc = chsm_resources_put(s, &r);
    if (rc == CHSM_OK)
        rc = chsm_store_commit(s);
    else
        chsm_store_rollback(s);
    if (rc == CHSM_ENOTFOUND)
        chsm_arm_error(res, 404, "ResourceGroupNotFound", "Resource group '%s' could not be found.",
                       rg);
    else if (rc != CHSM_OK)
        chsm_provider_store_error(res, rc);
    else {
        chsm_arm_json(res, 200, r.body);
        r.body = NULL;
    }
    chsm_resource_clear(&r);
    cJSON_Delete(in);
    free(id);
}

static void set_operation_location(chsm_request *req, chsm_response *res, const char *sub,
                                   const char *op_id)
{
    char path[256];
    snprintf(path, sizeof path, "/subscriptions/%s/operationresults/%s", sub, op_id);
    char *url = chsm_arm_abs_url(req, path);
    if (url)
        chsm_response_header(res, "Location", url, 1);
    chsm_response_header(res, "Retry-After", "1", 1);
    free(url);
}

static void delete_rg(chsm_request *req, chsm_response *res)
{
    const char *sub, *rg;
    if (rg_params(req, res, &sub, &rg))
        return;
    char *id = chsm_arm_rg_id(sub, rg);
    chsm_store *s = req->app->store;
    chsm_resource r = {0};
    chsm_op op = {0};
    if (chsm_store_begin(s) != CHSM_OK) {
        chsm_provider_store_error(res, CHSM_EIO);
        free(id);
        return;
    }
    int rc = chsm_resources_get(s, id, &r);
    if (rc == CHSM_OK) {
        cJSON *props = chsm_json_obj(r.body, "properties");
        if (props)
            chsm_json_set_str(props, "provisioningState", "Deleting");
        rc = chsm_resources_put(s, &r);
    }
    if (rc == CHSM_OK)
        rc = chsm_lro_begin(req->app, RG_DELETE_KIND, id, NULL, &op);
    if (rc == CHSM_OK)
        rc = chsm_store_commit(s);
    else
        chsm_store_rollback(s);
    if (rc == CHSM_ENOTFOUND) {
        /* Deleting what is not there is success in ARM: 204. */
        chsm_arm_json(res, 204, NULL);
    } else if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
    } else {
        chsm_arm_json(res, 202, NULL);
        set_operation_location(req, res, sub, op.id);
    }
    chsm_op_clear(&op);
    chsm_resource_clear(&r);
    free(id);
}

/* run_rg_delete removes the group and everything under it, in the engine's transaction. */
static int run_rg_delete(chsm_app *app, chsm_op *op)
{
    int count = 0;
    int rc = CHSM_OK;
    /* Models with state beside their ARM documents (HSM fleets, blob
     * accounts) drop it in this same transaction. */
    for (int i = 0; rc == CHSM_OK && i < app->nstate_hooks; i++)
        if (app->state_hooks[i]->delete_under)
            rc = app->state_hooks[i]->delete_under(app, op->resource_id);
    if (rc == CHSM_OK)
        rc = chsm_resources_delete_under(app->store, op->resource_id, &count);
    if (rc == CHSM_OK) {
        rc = chsm_resources_delete(app->store, op->resource_id);
        if (rc == CHSM_ENOTFOUND)
            rc = CHSM_OK;
    }
    if (rc == CHSM_OK)
        chsm_lro_succeed(op, NULL);
    return rc;
}

static void list_rgs(chsm_request *req, chsm_response *res)
{
    const char *sub = chsm_request_param(req, "subscriptionId");
    if (!chsm_arm_valid_subscription(sub)) {
        chsm_arm_error(res, 400, "InvalidSubscriptionId",
                       "The provided subscription identifier '%.100s' is malformed or invalid.",
                       sub);
        return;
    }
    const char *top = chsm_request_query(req, "$top");
    size_t page = CHSM_PROVIDER_LIST_PAGE;
    if (top) {
        long t = atol(top);
        if (t < 1 || t > 1000) {
            chsm_arm_error(res, 400, "InvalidParameter", "The $top value must be 1 to 1000.");
            return;
        }
        page = (size_t)t;
    }
    chsm_resource_query q = {
        .type = RG_TYPE, .subscription = sub, .after_id = chsm_request_query(req, "$skiptoken")};
    chsm_provider_answer_page(req, res, &q, page, NULL);
}

/* GET /subscriptions/{sub}/operationresults/{id}: ARM's Location-style
 * status: 202 (+Location, Retry-After) while running, 200 when it succeeded,
 * and the operation's error with status 409 when it failed. */
static void get_operation_result(chsm_request *req, chsm_response *res)
{
    const char *sub = chsm_request_param(req, "subscriptionId");
    const char *id = chsm_request_param(req, "operationId");
    chsm_op op;
    int rc = strlen(id) == 32 ? chsm_lro_get(req->app, id, &op) : CHSM_ENOTFOUND;
    if (rc == CHSM_ENOTFOUND) {
        chsm_arm_error(res, 404, "OperationNotFound", "The operation '%.64s' was not found.", id);
        return;
    }
    if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
        return;
    }
    if (strcmp(op.status, CHSM_OP_IN_PROGRESS) == 0) {
        chsm_arm_json(res, 202, NULL);
        set_operation_location(req, res, sub, op.id);
    } else if (strcmp(op.status, CHSM_OP_SUCCEEDED) == 0) {
        chsm_arm_json(res, 200, op.result ? cJSON_Duplicate(op.result, 1) : NULL);
    } else {
        chsm_arm_error(res, 409, op.error_code ? op.error_code : "OperationFailed", "%s",
                       op.error_message ? op.error_message : "The operation failed.");
    }
    chsm_op_clear(&op);
}

/* A subscription exists from the first start, so that a login (az login,
 * Connect-AzAccount) finds one before any script has created anything. */
static int ensure_default_subscription(chsm_app *app)
{
    char id[128];
    snprintf(id, sizeof id, "/subscriptions/%s", CHSM_DEFAULT_SUBSCRIPTION);
    int exists = chsm_resources_exists(app->store, id);
    if (exists != 0)
        return exists == 1 ? CHSM_OK : CHSM_EIO;
    chsm_resource r = {0};
    r.id = id;
    r.type = SUB_TYPE;
    r.name = CHSM_DEFAULT_SUBSCRIPTION;
    r.subscription = CHSM_DEFAULT_SUBSCRIPTION;
    r.body = subscription_body(CHSM_DEFAULT_SUBSCRIPTION, CHSM_DEFAULT_TENANT);
    int rc = chsm_resources_put(app->store, &r);
    cJSON_Delete(r.body);
    return rc;
}

static const chsm_state_hooks resources_hooks = {.reset = ensure_default_subscription};

static int resources_init(chsm_app *app)
{
    int rc = chsm_lro_register(app->lro, RG_DELETE_KIND, run_rg_delete);
    if (rc == CHSM_OK)
        rc = chsm_app_add_state_hooks(app, &resources_hooks);
    return rc == CHSM_OK ? ensure_default_subscription(app) : rc;
}

static const chsm_route routes[] = {
    {"GET", "/subscriptions", list_subscriptions, "subscriptions/list", chsm_api_resources, 0},
    {"GET", "/subscriptions/{subscriptionId}", get_subscription, "subscriptions/read",
     chsm_api_resources, 0},
    {"GET", "/subscriptions/{subscriptionId}/resourcegroups", list_rgs, "resourceGroups/list",
     chsm_api_resources, 0},
    {"PUT", "/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}", put_rg,
     "resourceGroups/write", chsm_api_resources, 0},
    {"GET", "/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}", get_rg,
     "resourceGroups/read", chsm_api_resources, CHSM_ROUTE_CACHEABLE},
    {"HEAD", "/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}", head_rg,
     "resourceGroups/read", chsm_api_resources, 0},
    {"PATCH", "/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}", patch_rg,
     "resourceGroups/write", chsm_api_resources, 0},
    {"DELETE", "/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}", delete_rg,
     "resourceGroups/delete", chsm_api_resources, 0},
    {"GET", "/subscriptions/{subscriptionId}/operationresults/{operationId}", get_operation_result,
     "operationResults/read", chsm_api_resources, 0},
};

const chsm_provider chsm_provider_resources = {"Microsoft.Resources", routes, CHSM_COUNT(routes),
                                               resources_init};

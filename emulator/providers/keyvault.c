/* keyvault.c - Microsoft.KeyVault/managedHSMs (the ARM side of a Managed HSM;
 * its data plane is mhsm/dataplane.c). docs/managed-hsm.md. Also
 * Microsoft.KeyVault/vaults as far as a customer-managed key needs them
 * (synchronous PUT/GET/DELETE/list, access policy add/replace/remove; model
 * in mhsm/vault.c).
 *
 * PUT is a long-running operation (201 + Azure-AsyncOperation, provisioning
 * completes through the operation engine, so --op-duration and QA fault
 * rules apply to kind managedHSMs/provision); DELETE likewise (202 +
 * Location, kind managedHSMs/delete) and takes the HSM's keys and local
 * RBAC with it. properties.hsmUri is the emulator's URL for the HSM. */
#include "providers/provider.h"
#include "providers/answers.h"

#include "app/app.h"
#include "arm/errors.h"
#include "arm/lro.h"
#include "arm/names.h"
#include "arm/resource.h"
#include "arm/versions.h"
#include "arm/auth.h"
#include "mhsm/mhsm.h"
#include "store/resources.h"
#include "util/json.h"
#include "util/status.h"
#include "util/text.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS "Microsoft.KeyVault"
#define KIND_PROVISION "managedHSMs/provision"
#define KIND_DELETE "managedHSMs/delete"

/* hsm_name_ok: 3-24 letters, digits and '-', starting with a letter, ending
 * with a letter or digit, no "--" (the Managed HSM naming rule). */
static int hsm_name_ok(const char *n)
{
    size_t len = n ? strlen(n) : 0;
    if (len < 3 || len > 24 || !isalpha((unsigned char)n[0]) || !isalnum((unsigned char)n[len - 1]))
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (!isalnum((unsigned char)n[i]) && n[i] != '-')
            return 0;
        if (n[i] == '-' && n[i + 1] == '-')
            return 0;
    }
    return 1;
}

/* named_params checks the resource group and the {param} name (bad_code "The <label> name
 * ... is invalid" when not an HSM/vault name) and builds the id of type (caller frees *id);
 * nonzero when it answered. */
static int named_params(chsm_request *req, chsm_response *res, const char *param, const char *type,
                        const char *bad_code, const char *label, const char **name, char **id)
{
    const char *sub = chsm_request_param(req, "subscriptionId");
    const char *rg = chsm_request_param(req, "resourceGroupName");
    *name = chsm_request_param(req, param);
    if (chsm_arm_require_resource_group(req, res, sub, rg))
        return 1;
    if (!hsm_name_ok(*name)) {
        chsm_arm_error_target(res, 400, bad_code, "name",
                              "The %s name '%.100s' is invalid: it must be 3-24 letters, "
                              "digits and '-', start with a letter, end with a letter or digit, "
                              "and not contain '--'.",
                              label, *name ? *name : "");
        return 1;
    }
    *id = chsm_arm_resource_id(sub, rg, type, *name);
    return *id ? 0 : 1;
}

/* type_not_found answers 404 ResourceNotFound for resource name of type. */
static void type_not_found(chsm_response *res, const char *type, const char *name)
{
    chsm_arm_error(res, 404, "ResourceNotFound",
                   "The Resource '%s/%s' under resource group was not found.", type, name);
}

static int hsm_params(chsm_request *req, chsm_response *res, const char **name, char **id)
{
    return named_params(req, res, "name", NS "/managedHSMs", "InvalidResourceName", "Managed HSM",
                        name, id);
}

static void not_found(chsm_response *res, const char *name)
{
    type_not_found(res, NS "/managedHSMs", name);
}

/* render returns the document as clients see it (hsmUri filled in, internal fields dropped). */
static cJSON *render(const chsm_request *req, const cJSON *doc)
{
    cJSON *out = cJSON_Duplicate(doc, 1);
    cJSON_DeleteItemFromObject(out, "_provisionOp");
    cJSON *p = chsm_json_obj(out, "properties");
    if (p) {
        char uri[300];
        const char *scheme = chsm_starts_with_ci(req->base_url, "http://") ? "http" : "https";
        chsm_mhsm_uri(req->app, scheme, chsm_json_str(out, "name"), uri, sizeof uri);
        strncat(uri, "/", sizeof uri - strlen(uri) - 1);
        chsm_json_set_str(p, "hsmUri", uri);
    }
    return out;
}

static void async_header(chsm_request *req, chsm_response *res, const char *location,
                         const char *op_id, const char *header)
{
    char path[512];
    char *loc = chsm_percent_encode(location ? location : "global", 0);
    snprintf(path, sizeof path,
             "/subscriptions/%s/providers/" NS "/locations/%s/operationResults/%s",
             chsm_request_param(req, "subscriptionId"), loc ? loc : "global", op_id);
    free(loc);
    char *url = chsm_arm_abs_url(req, path);
    if (url)
        chsm_response_header(res, header, url, 1);
    chsm_response_header(res, "Retry-After", "1", 1);
    free(url);
}

static int valid_guid_list(const cJSON *a)
{
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) < 1 || cJSON_GetArraySize(a) > 10)
        return 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, a)
    {
        if (!cJSON_IsString(x) || !chsm_is_uuid(x->valuestring))
            return 0;
    }
    return 1;
}

static void normalize_location(const char *in, char *out, size_t outlen)
{
    size_t n = 0;
    for (const char *c = in; *c && n + 1 < outlen; c++)
        if (*c != ' ')
            out[n++] = (char)tolower((unsigned char)*c);
    out[n] = '\0';
}

static void put_hsm(chsm_request *req, chsm_response *res)
{
    const char *name;
    char *id = NULL;
    if (hsm_params(req, res, &name, &id))
        return;
    cJSON *in = chsm_arm_body_object(req, res, 1);
    cJSON *doc = NULL;
    chsm_resource old = {0}, other = {0};
    chsm_op op = {0};
    if (!in)
        goto out;
    const char *location = chsm_json_str(in, "location");
    const cJSON *sku = chsm_json_obj(in, "sku");
    const cJSON *tags = cJSON_GetObjectItem(in, "tags");
    const cJSON *props = chsm_json_obj(in, "properties");
    if (!location || !*location) {
        chsm_arm_error_target(res, 400, "LocationRequired", "location",
                              "The location property is required for this definition.");
        goto out;
    }
    if (chsm_arm_check_tags(tags, res))
        goto out;
    const char *sku_name = sku ? chsm_json_str(sku, "name") : NULL;
    if (!sku_name ||
        !(chsm_streq_ci(sku_name, "Standard_B1") || chsm_streq_ci(sku_name, "Custom_B32") ||
          chsm_streq_ci(sku_name, "Custom_B6"))) {
        chsm_arm_error_target(res, 400, "InvalidSku", "sku.name",
                              "The SKU must be {\"family\":\"B\",\"name\":\"Standard_B1\"} (or "
                              "Custom_B32, Custom_B6).");
        goto out;
    }
    const cJSON *admins = props ? cJSON_GetObjectItem(props, "initialAdminObjectIds") : NULL;
    const cJSON *retention = props ? cJSON_GetObjectItem(props, "softDeleteRetentionInDays") : NULL;
    if (retention &&
        (!cJSON_IsNumber(retention) || retention->valueint < 7 || retention->valueint > 90)) {
        chsm_arm_error_target(res, 400, "BadRequest", "properties.softDeleteRetentionInDays",
                              "softDeleteRetentionInDays must be between 7 and 90.");
        goto out;
    }
    chsm_store *s = req->app->store;
    int rc = chsm_store_begin(s);
    if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
        goto out;
    }
    rc = chsm_resources_get(s, id, &old);
    int existed = rc == CHSM_OK;
    if (rc == CHSM_ENOTFOUND)
        rc = CHSM_OK;
    if (rc == CHSM_OK && !existed) {
        int found = chsm_mhsm_find(req->app, name, &other);
        if (found == CHSM_OK) {
            chsm_store_rollback(s);
            chsm_arm_error(res, 409, "ConflictError",
                           "The name '%s' is already in use by another Managed HSM (HSM names "
                           "are global).",
                           name);
            goto out;
        }
        if (found != CHSM_ENOTFOUND)
            rc = found;
        if (rc == CHSM_OK && !valid_guid_list(admins)) {
            chsm_store_rollback(s);
            chsm_arm_error_target(res, 400, "BadRequest", "properties.initialAdminObjectIds",
                                  "properties.initialAdminObjectIds must list 1-10 object ids "
                                  "(GUIDs) of the initial administrators.");
            goto out;
        }
    }
    if (rc != CHSM_OK) {
        chsm_store_rollback(s);
        chsm_provider_store_error(res, rc);
        goto out;
    }
    const cJSON *oldp = existed ? chsm_json_obj(old.body, "properties") : NULL;
    if (existed && old.body) {
        const char *old_loc = chsm_json_str(old.body, "location");
        char a[64], b[64];
        normalize_location(old_loc ? old_loc : "", a, sizeof a);
        normalize_location(location, b, sizeof b);
        if (strcmp(a, b) != 0) {
            chsm_store_rollback(s);
            chsm_arm_error(res, 409, "InvalidResourceLocation",
                           "The resource already exists in location '%s'.", old_loc);
            goto out;
        }
    }
    char loc[64];
    normalize_location(location, loc, sizeof loc);
    doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "id", existed ? old.id : id);
    cJSON_AddStringToObject(doc, "name", existed ? chsm_json_str(old.body, "name") : name);
    cJSON_AddStringToObject(doc, "type", NS "/managedHSMs");
    cJSON_AddStringToObject(doc, "location", loc);
    cJSON *nsku = cJSON_AddObjectToObject(doc, "sku");
    cJSON_AddStringToObject(nsku, "family", "B");
    cJSON_AddStringToObject(nsku, "name", sku_name);
    cJSON_AddItemToObject(doc, "tags",
                          cJSON_IsObject(tags) ? cJSON_Duplicate(tags, 1) : cJSON_CreateObject());
    cJSON_AddItemToObject(
        doc, "systemData",
        chsm_arm_system_data(req, existed ? chsm_json_obj(old.body, "systemData") : NULL));
    cJSON *np = cJSON_AddObjectToObject(doc, "properties");
    const char *tenant = props ? chsm_json_str(props, "tenantId") : NULL;
    cJSON_AddStringToObject(np, "tenantId",
                            tenant                  ? tenant
                            : req->principal.tid[0] ? req->principal.tid
                                                    : CHSM_DEFAULT_TENANT);
    const cJSON *keep_admins =
        existed ? cJSON_GetObjectItem(oldp, "initialAdminObjectIds") : admins;
    cJSON_AddItemToObject(np, "initialAdminObjectIds",
                          keep_admins ? cJSON_Duplicate(keep_admins, 1) : cJSON_CreateArray());
    cJSON_AddStringToObject(np, "hsmUri", "");
    cJSON_AddBoolToObject(np, "enableSoftDelete", 1);
    int days = retention ? retention->valueint : 90;
    if (!retention && existed) {
        const cJSON *od = cJSON_GetObjectItem(oldp, "softDeleteRetentionInDays");
        if (cJSON_IsNumber(od))
            days = od->valueint;
    }
    cJSON_AddNumberToObject(np, "softDeleteRetentionInDays", days);
    /* Purge protection cannot be turned off once on. */
    int purge = (props && cJSON_IsTrue(cJSON_GetObjectItem(props, "enablePurgeProtection"))) ||
                (existed && cJSON_IsTrue(cJSON_GetObjectItem(oldp, "enablePurgeProtection")));
    cJSON_AddBoolToObject(np, "enablePurgeProtection", purge);
    const char *pna = props ? chsm_json_str(props, "publicNetworkAccess") : NULL;
    cJSON_AddStringToObject(np, "publicNetworkAccess", pna ? pna : "Enabled");
    const cJSON *acls = props ? cJSON_GetObjectItem(props, "networkAcls") : NULL;
    if (cJSON_IsObject(acls))
        cJSON_AddItemToObject(np, "networkAcls", cJSON_Duplicate(acls, 1));
    const char *old_ps = oldp ? chsm_json_str(oldp, "provisioningState") : NULL;
    cJSON_AddStringToObject(np, "provisioningState", old_ps ? old_ps : "Provisioning");
    cJSON_AddStringToObject(np, "statusMessage",
                            old_ps && strcmp(old_ps, "Succeeded") == 0
                                ? "The Managed HSM is provisioned and ready to use."
                                : "Provisioning the Managed HSM.");
    cJSON *sd = cJSON_AddObjectToObject(np, "securityDomainProperties");
    cJSON_AddStringToObject(sd, "activationStatus", "Active");
    cJSON_AddStringToObject(sd, "activationStatusMessage",
                            "The emulator activates Managed HSMs without a security domain "
                            "download.");
    const cJSON *identity = chsm_json_obj(in, "identity");
    if (identity) {
        cJSON *ni = cJSON_Duplicate(identity, 1);
        const char *t = chsm_json_str(identity, "type");
        if (t && chsm_starts_with_ci(t, "SystemAssigned")) {
            const cJSON *oi = existed ? chsm_json_obj(old.body, "identity") : NULL;
            const char *pid = oi ? chsm_json_str(oi, "principalId") : NULL;
            char fresh[37];
            chsm_uuid(fresh);
            chsm_json_set_str(ni, "principalId", pid ? pid : fresh);
            chsm_json_set_str(ni, "tenantId", chsm_json_str(np, "tenantId"));
        }
        cJSON_AddItemToObject(doc, "identity", ni);
    }
    if (!existed) {
        rc = chsm_lro_begin(req->app, KIND_PROVISION, id, NULL, &op);
        if (rc == CHSM_OK)
            cJSON_AddStringToObject(doc, "_provisionOp", op.id);
        /* The initial administrators get Managed HSM Administrator at "/". */
        const cJSON *a;
        cJSON_ArrayForEach(a, admins)
        {
            if (rc != CHSM_OK)
                break;
            char ra[37];
            chsm_uuid(ra);
            rc = chsm_mhsm_assign(req->app, id, ra, "/", CHSM_MHSM_ROLE_ADMINISTRATOR,
                                  a->valuestring, NULL);
        }
    } else {
        const char *pop = chsm_json_str(old.body, "_provisionOp");
        if (pop)
            cJSON_AddStringToObject(doc, "_provisionOp", pop);
    }
    chsm_resource r = {.id = existed ? old.id : id,
                       .type = NS "/managedHSMs",
                       .name = (char *)chsm_json_str(doc, "name"),
                       .subscription = (char *)chsm_request_param(req, "subscriptionId"),
                       .resource_group = (char *)chsm_request_param(req, "resourceGroupName"),
                       .body = doc,
                       .created_ms = old.created_ms};
    if (rc == CHSM_OK)
        rc = chsm_resources_put(s, &r);
    rc = chsm_provider_finish_tx(s, rc);
    if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
        goto out;
    }
    chsm_arm_json(res, existed ? 200 : 201, render(req, doc));
    if (!existed)
        async_header(req, res, loc, op.id, "Azure-AsyncOperation");
out:
    chsm_op_clear(&op);
    chsm_resource_clear(&old);
    chsm_resource_clear(&other);
    cJSON_Delete(doc);
    cJSON_Delete(in);
    free(id);
}

/* load_hsm reads the HSM, completing its provisioning first if it is due. */
static int load_hsm(chsm_app *app, const char *id, chsm_resource *out)
{
    int rc = chsm_resources_get(app->store, id, out);
    if (rc != CHSM_OK)
        return rc;
    const char *pop = chsm_json_str(out->body, "_provisionOp");
    const char *ps = chsm_json_str(chsm_json_obj(out->body, "properties"), "provisioningState");
    if (pop && ps && strcmp(ps, "Provisioning") == 0) {
        chsm_op op;
        if (chsm_lro_get(app, pop, &op) == CHSM_OK) {
            chsm_op_clear(&op);
            chsm_resource_clear(out);
            rc = chsm_resources_get(app->store, id, out);
        }
    }
    return rc;
}

static void get_hsm(chsm_request *req, chsm_response *res)
{
    const char *name;
    char *id;
    if (hsm_params(req, res, &name, &id))
        return;
    chsm_resource r;
    int rc = load_hsm(req->app, id, &r);
    free(id);
    if (rc == CHSM_ENOTFOUND) {
        not_found(res, name);
        return;
    }
    if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
        return;
    }
    chsm_arm_json(res, 200, render(req, r.body));
    chsm_resource_clear(&r);
}

static void patch_hsm(chsm_request *req, chsm_response *res)
{
    const char *name;
    char *id;
    if (hsm_params(req, res, &name, &id))
        return;
    cJSON *in = chsm_arm_body_object(req, res, 1);
    if (!in) {
        free(id);
        return;
    }
    const cJSON *tags = cJSON_GetObjectItem(in, "tags");
    if (chsm_arm_check_tags(tags, res)) {
        cJSON_Delete(in);
        free(id);
        return;
    }
    chsm_store *s = req->app->store;
    chsm_resource r = {0};
    int rc = chsm_store_begin(s);
    if (rc == CHSM_OK)
        rc = chsm_resources_get(s, id, &r);
    if (rc == CHSM_OK) {
        if (cJSON_IsObject(tags))
            chsm_json_set(r.body, "tags", cJSON_Duplicate(tags, 1));
        const cJSON *props = chsm_json_obj(in, "properties");
        cJSON *p = chsm_json_obj(r.body, "properties");
        if (props && p) {
            if (cJSON_IsTrue(cJSON_GetObjectItem(props, "enablePurgeProtection")))
                chsm_json_set(p, "enablePurgeProtection", cJSON_CreateTrue());
            const char *pna = chsm_json_str(props, "publicNetworkAccess");
            if (pna)
                chsm_json_set_str(p, "publicNetworkAccess", pna);
        }
        chsm_json_set(r.body, "systemData",
                      chsm_arm_system_data(req, chsm_json_obj(r.body, "systemData")));
        rc = chsm_resources_put(s, &r);
    }
    rc = chsm_provider_finish_tx(s, rc);
    if (rc == CHSM_ENOTFOUND)
        not_found(res, name);
    else if (rc != CHSM_OK)
        chsm_provider_store_error(res, rc);
    else
        chsm_arm_json(res, 200, render(req, r.body));
    chsm_resource_clear(&r);
    cJSON_Delete(in);
    free(id);
}

static void delete_hsm(chsm_request *req, chsm_response *res)
{
    const char *name;
    char *id;
    if (hsm_params(req, res, &name, &id))
        return;
    chsm_store *s = req->app->store;
    chsm_resource r = {0};
    chsm_op op = {0};
    int rc = chsm_store_begin(s);
    if (rc == CHSM_OK)
        rc = chsm_resources_get(s, id, &r);
    if (rc == CHSM_OK) {
        cJSON *p = chsm_json_obj(r.body, "properties");
        if (p)
            chsm_json_set_str(p, "provisioningState", "Deleting");
        rc = chsm_resources_put(s, &r);
    }
    if (rc == CHSM_OK)
        rc = chsm_lro_begin(req->app, KIND_DELETE, id, NULL, &op);
    rc = chsm_provider_finish_tx(s, rc);
    if (rc == CHSM_ENOTFOUND) {
        chsm_arm_json(res, 204, NULL);
    } else if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
    } else {
        chsm_arm_json(res, 202, NULL);
        async_header(req, res, chsm_json_str(r.body, "location"), op.id, "Location");
    }
    chsm_op_clear(&op);
    chsm_resource_clear(&r);
    free(id);
}

static int run_provision(chsm_app *app, chsm_op *op)
{
    chsm_resource r;
    int rc = chsm_resources_get(app->store, op->resource_id, &r);
    if (rc == CHSM_ENOTFOUND) {
        chsm_lro_fail(op, "ResourceNotFound", "The Managed HSM was deleted while provisioning.");
        return CHSM_OK;
    }
    if (rc != CHSM_OK)
        return rc;
    cJSON *p = chsm_json_obj(r.body, "properties");
    if (p) {
        chsm_json_set_str(p, "provisioningState", "Succeeded");
        chsm_json_set_str(p, "statusMessage", "The Managed HSM is provisioned and ready to use.");
    }
    rc = chsm_resources_put(app->store, &r);
    chsm_resource_clear(&r);
    if (rc == CHSM_OK)
        chsm_lro_succeed(op, NULL);
    return rc;
}

static int run_delete(chsm_app *app, chsm_op *op)
{
    int rc = chsm_resources_delete_under(app->store, op->resource_id, NULL);
    if (rc == CHSM_OK) {
        rc = chsm_resources_delete(app->store, op->resource_id);
        if (rc == CHSM_ENOTFOUND)
            rc = CHSM_OK;
    }
    if (rc == CHSM_OK)
        chsm_lro_succeed(op, NULL);
    return rc;
}

static void list_hsms(chsm_request *req, chsm_response *res, const char *rg)
{
    chsm_provider_list_page(req, res, rg, NS "/managedHSMs", render);
}

static void list_by_rg(chsm_request *req, chsm_response *res)
{
    list_hsms(req, res, chsm_request_param(req, "resourceGroupName"));
}

static void list_by_sub(chsm_request *req, chsm_response *res)
{
    list_hsms(req, res, NULL);
}

/* GET .../locations/{loc}/operationResults/{id}: the Azure-AsyncOperation
 * status body, and for DELETE's Location: 202 while running, 200 when done. */
static void get_operation(chsm_request *req, chsm_response *res)
{
    const char *opid = chsm_request_param(req, "operationId");
    chsm_op op = {0};
    int rc = opid && strlen(opid) == 32 ? chsm_lro_get(req->app, opid, &op) : CHSM_ENOTFOUND;
    if (rc == CHSM_OK && strncmp(op.kind, "managedHSMs/", 12) != 0) {
        chsm_op_clear(&op);
        rc = CHSM_ENOTFOUND;
    }
    if (rc == CHSM_ENOTFOUND) {
        chsm_arm_error(res, 404, "OperationNotFound", "The operation '%.64s' was not found.",
                       opid ? opid : "");
        return;
    }
    if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
        return;
    }
    cJSON *b = cJSON_CreateObject();
    char *url = chsm_arm_abs_url(req, req->raw_path);
    cJSON_AddStringToObject(b, "id", url ? url : op.id);
    free(url);
    cJSON_AddStringToObject(b, "name", op.id);
    cJSON_AddStringToObject(b, "status", op.status);
    char t[40];
    chsm_format_time(op.start_ms, t, sizeof t);
    cJSON_AddStringToObject(b, "startTime", t);
    if (op.end_ms) {
        chsm_format_time(op.end_ms, t, sizeof t);
        cJSON_AddStringToObject(b, "endTime", t);
    }
    if (op.error_code)
        cJSON_AddItemToObject(b, "error",
                              chsm_arm_error_detail(op.error_code, op.error_message
                                                                       ? op.error_message
                                                                       : "The operation failed."));
    chsm_arm_json(res, 200, b);
    if (strcmp(op.status, CHSM_OP_IN_PROGRESS) == 0)
        chsm_response_header(res, "Retry-After", "1", 1);
    chsm_op_clear(&op);
}

/* ---- Key Vault vaults (only what a customer-managed key needs) ---- */

#define VAULT_TYPE NS "/vaults"

static int vault_params(chsm_request *req, chsm_response *res, const char **name, char **id)
{
    return named_params(req, res, "vaultName", VAULT_TYPE, "VaultNameNotValid", "vault", name, id);
}

static void vault_not_found(chsm_response *res, const char *name)
{
    type_not_found(res, VAULT_TYPE, name);
}

/* render_vault returns the vault as clients see it (vaultUri filled in). */
static cJSON *render_vault(const chsm_request *req, const cJSON *doc)
{
    cJSON *out = cJSON_Duplicate(doc, 1);
    cJSON *p = chsm_json_obj(out, "properties");
    if (p) {
        char uri[300];
        const char *scheme = chsm_starts_with_ci(req->base_url, "http://") ? "http" : "https";
        chsm_kv_uri(req->app, scheme, chsm_json_str(out, "name"), uri, sizeof uri);
        strncat(uri, "/", sizeof uri - strlen(uri) - 1);
        chsm_json_set_str(p, "vaultUri", uri);
    }
    return out;
}

/* check_vault_props validates a vault PUT's properties; answers 400 itself. */
static int check_vault_props(chsm_response *res, const cJSON *props)
{
    if (!props) {
        chsm_arm_error_target(res, 400, "BadRequest", "properties",
                              "The properties of the vault are required (tenantId, sku).");
        return 1;
    }
    const char *tenant = chsm_json_str(props, "tenantId");
    if (!tenant || !chsm_is_uuid(tenant)) {
        chsm_arm_error_target(res, 400, "BadRequest", "properties.tenantId",
                              "properties.tenantId must be the tenant's id (a GUID).");
        return 1;
    }
    const cJSON *sku = chsm_json_obj(props, "sku");
    const char *sku_name = sku ? chsm_json_str(sku, "name") : NULL;
    if (!sku_name || !(chsm_streq_ci(sku_name, "standard") || chsm_streq_ci(sku_name, "premium"))) {
        chsm_arm_error_target(res, 400, "BadRequest", "properties.sku",
                              "properties.sku must be {\"family\":\"A\",\"name\":\"standard\"} "
                              "(or premium).");
        return 1;
    }
    const cJSON *retention = cJSON_GetObjectItem(props, "softDeleteRetentionInDays");
    if (retention &&
        (!cJSON_IsNumber(retention) || retention->valueint < 7 || retention->valueint > 90)) {
        chsm_arm_error_target(res, 400, "BadRequest", "properties.softDeleteRetentionInDays",
                              "softDeleteRetentionInDays must be between 7 and 90.");
        return 1;
    }
    static const char *const bools[] = {"enableRbacAuthorization",
                                        "enableSoftDelete",
                                        "enablePurgeProtection",
                                        "enabledForDiskEncryption",
                                        "enabledForDeployment",
                                        "enabledForTemplateDeployment",
                                        NULL};
    for (int i = 0; bools[i]; i++) {
        const cJSON *b = cJSON_GetObjectItem(props, bools[i]);
        if (b && !cJSON_IsBool(b) && !cJSON_IsNull(b)) {
            chsm_arm_error_target(res, 400, "BadRequest", bools[i], "%s must be a boolean.",
                                  bools[i]);
            return 1;
        }
    }
    const cJSON *aps = cJSON_GetObjectItem(props, "accessPolicies");
    char err[300];
    if (aps && !cJSON_IsNull(aps) && chsm_kv_check_access_policies(aps, err, sizeof err)) {
        chsm_arm_error_target(res, 400, "BadRequest", "properties.accessPolicies", "%s", err);
        return 1;
    }
    return 0;
}

static void put_vault(chsm_request *req, chsm_response *res)
{
    const char *name;
    char *id = NULL;
    if (vault_params(req, res, &name, &id))
        return;
    cJSON *in = chsm_arm_body_object(req, res, 1);
    cJSON *doc = NULL;
    chsm_resource old = {0}, other = {0};
    if (!in)
        goto out;
    const char *location = chsm_json_str(in, "location");
    const cJSON *tags = cJSON_GetObjectItem(in, "tags");
    const cJSON *props = chsm_json_obj(in, "properties");
    if (!location || !*location) {
        chsm_arm_error_target(res, 400, "LocationRequired", "location",
                              "The location property is required for this definition.");
        goto out;
    }
    if (chsm_arm_check_tags(tags, res) || check_vault_props(res, props))
        goto out;
    chsm_store *s = req->app->store;
    int rc = chsm_store_begin(s);
    if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
        goto out;
    }
    rc = chsm_resources_get(s, id, &old);
    int existed = rc == CHSM_OK;
    if (rc == CHSM_ENOTFOUND) {
        rc = chsm_kv_find(req->app, name, &other);
        if (rc == CHSM_OK) {
            chsm_store_rollback(s);
            chsm_arm_error(res, 409, "VaultAlreadyExists",
                           "The vault name '%s' is already in use. Vault names are globally "
                           "unique.",
                           name);
            goto out;
        }
        if (rc == CHSM_ENOTFOUND)
            rc = CHSM_OK;
    }
    if (rc != CHSM_OK) {
        chsm_store_rollback(s);
        chsm_provider_store_error(res, rc);
        goto out;
    }
    const cJSON *oldp = existed ? chsm_json_obj(old.body, "properties") : NULL;
    char loc[64];
    normalize_location(location, loc, sizeof loc);
    if (existed) {
        char a[64];
        const char *old_loc = chsm_json_str(old.body, "location");
        normalize_location(old_loc ? old_loc : "", a, sizeof a);
        if (strcmp(a, loc) != 0) {
            chsm_store_rollback(s);
            chsm_arm_error(res, 409, "InvalidResourceLocation",
                           "The resource already exists in location '%s'.", old_loc);
            goto out;
        }
    }
    doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "id", existed ? old.id : id);
    cJSON_AddStringToObject(doc, "name", existed ? chsm_json_str(old.body, "name") : name);
    cJSON_AddStringToObject(doc, "type", VAULT_TYPE);
    cJSON_AddStringToObject(doc, "location", loc);
    cJSON_AddItemToObject(doc, "tags",
                          cJSON_IsObject(tags) ? cJSON_Duplicate(tags, 1) : cJSON_CreateObject());
    cJSON_AddItemToObject(
        doc, "systemData",
        chsm_arm_system_data(req, existed ? chsm_json_obj(old.body, "systemData") : NULL));
    cJSON *np = cJSON_Duplicate(props, 1);
    cJSON_AddItemToObject(doc, "properties", np);
    cJSON *sku = chsm_json_obj(np, "sku");
    chsm_json_set_str(sku, "family", "A");
    chsm_json_set_str(
        sku, "name", chsm_streq_ci(chsm_json_str(sku, "name"), "premium") ? "premium" : "standard");
    if (!cJSON_IsArray(cJSON_GetObjectItem(np, "accessPolicies")))
        chsm_json_set(np, "accessPolicies", cJSON_CreateArray());
    if (!cJSON_IsBool(cJSON_GetObjectItem(np, "enableRbacAuthorization")))
        chsm_json_set(np, "enableRbacAuthorization", cJSON_CreateFalse());
    chsm_json_set(np, "enableSoftDelete", cJSON_CreateTrue());
    if (!cJSON_IsNumber(cJSON_GetObjectItem(np, "softDeleteRetentionInDays"))) {
        const cJSON *od = cJSON_GetObjectItem(oldp, "softDeleteRetentionInDays");
        chsm_json_set(np, "softDeleteRetentionInDays",
                      cJSON_CreateNumber(cJSON_IsNumber(od) ? od->valueint : 90));
    }
    /* Purge protection cannot be turned off once on. */
    if (cJSON_IsTrue(cJSON_GetObjectItem(oldp, "enablePurgeProtection")) ||
        cJSON_IsTrue(cJSON_GetObjectItem(np, "enablePurgeProtection")))
        chsm_json_set(np, "enablePurgeProtection", cJSON_CreateTrue());
    else
        cJSON_DeleteItemFromObject(np, "enablePurgeProtection");
    if (!chsm_json_str(np, "publicNetworkAccess"))
        chsm_json_set_str(np, "publicNetworkAccess", "Enabled");
    chsm_json_set_str(np, "vaultUri", "");
    chsm_json_set_str(np, "provisioningState", "Succeeded");
    chsm_resource r = {.id = existed ? old.id : id,
                       .type = VAULT_TYPE,
                       .name = (char *)chsm_json_str(doc, "name"),
                       .subscription = (char *)chsm_request_param(req, "subscriptionId"),
                       .resource_group = (char *)chsm_request_param(req, "resourceGroupName"),
                       .body = doc,
                       .created_ms = old.created_ms};
    rc = chsm_resources_put(s, &r);
    rc = chsm_provider_finish_tx(s, rc);
    if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
        goto out;
    }
    chsm_arm_json(res, existed ? 200 : 201, render_vault(req, doc));
out:
    chsm_resource_clear(&old);
    chsm_resource_clear(&other);
    cJSON_Delete(doc);
    cJSON_Delete(in);
    free(id);
}

static void get_vault(chsm_request *req, chsm_response *res)
{
    const char *name;
    char *id;
    if (vault_params(req, res, &name, &id))
        return;
    chsm_resource r;
    int rc = chsm_resources_get(req->app->store, id, &r);
    free(id);
    if (rc == CHSM_OK && !chsm_streq_ci(r.type, VAULT_TYPE)) {
        chsm_resource_clear(&r);
        rc = CHSM_ENOTFOUND;
    }
    if (rc == CHSM_ENOTFOUND)
        vault_not_found(res, name);
    else if (rc != CHSM_OK)
        chsm_provider_store_error(res, rc);
    else
        chsm_arm_json(res, 200, render_vault(req, r.body));
    if (rc == CHSM_OK)
        chsm_resource_clear(&r);
}

/* DELETE is synchronous (200, 204 when absent) and takes the vault's keys with it. Soft
 * deleted vaults (deletedVaults, purge) are not modelled. */
static void delete_vault(chsm_request *req, chsm_response *res)
{
    const char *name;
    char *id;
    if (vault_params(req, res, &name, &id))
        return;
    chsm_store *s = req->app->store;
    int rc = chsm_store_begin(s);
    if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
        free(id);
        return;
    }
    int exists = chsm_resources_exists(s, id);
    rc = exists < 0 ? exists : CHSM_OK;
    size_t n = strlen(id);
    char *under = exists == 1 ? malloc(n + 2) : NULL;
    if (exists == 1 && !under)
        rc = CHSM_ENOMEM;
    if (under) {
        snprintf(under, n + 2, "%s/", id);
        rc = chsm_resources_delete_under(s, under, NULL);
        if (rc == CHSM_OK)
            rc = chsm_resources_delete(s, id);
        free(under);
    }
    rc = chsm_provider_finish_tx(s, rc);
    if (rc != CHSM_OK)
        chsm_provider_store_error(res, rc);
    else
        chsm_arm_json(res, exists == 1 ? 200 : 204, NULL);
    free(id);
}

static void list_vaults(chsm_request *req, chsm_response *res, const char *rg)
{
    chsm_provider_list_page(req, res, rg, VAULT_TYPE, render_vault);
}

static void list_vaults_by_rg(chsm_request *req, chsm_response *res)
{
    list_vaults(req, res, chsm_request_param(req, "resourceGroupName"));
}

static void list_vaults_by_sub(chsm_request *req, chsm_response *res)
{
    list_vaults(req, res, NULL);
}

/* PUT .../vaults/{name}/accessPolicies/{add|replace|remove}: answers 200 with the
 * request's VaultAccessPolicyParameters (id, type, properties.accessPolicies as sent). */
static void update_access_policies(chsm_request *req, chsm_response *res)
{
    const char *name;
    char *id;
    if (vault_params(req, res, &name, &id))
        return;
    const char *kind = chsm_request_param(req, "operationKind");
    cJSON *in = chsm_arm_body_object(req, res, 1);
    chsm_resource r = {0};
    if (!in)
        goto out;
    if (!kind || !(chsm_streq_ci(kind, "add") || chsm_streq_ci(kind, "replace") ||
                   chsm_streq_ci(kind, "remove"))) {
        chsm_arm_error(res, 400, "BadRequest",
                       "The access policy operation '%.40s' is invalid: use add, replace or "
                       "remove.",
                       kind ? kind : "");
        goto out;
    }
    const cJSON *aps = cJSON_GetObjectItem(chsm_json_obj(in, "properties"), "accessPolicies");
    char err[300];
    if (!aps) {
        chsm_arm_error_target(res, 400, "BadRequest", "properties.accessPolicies",
                              "properties.accessPolicies is required.");
        goto out;
    }
    if (chsm_kv_check_access_policies(aps, err, sizeof err)) {
        chsm_arm_error_target(res, 400, "BadRequest", "properties.accessPolicies", "%s", err);
        goto out;
    }
    chsm_store *s = req->app->store;
    int rc = chsm_store_begin(s);
    if (rc == CHSM_OK)
        rc = chsm_resources_get(s, id, &r);
    if (rc == CHSM_OK && !chsm_streq_ci(r.type, VAULT_TYPE))
        rc = CHSM_ENOTFOUND;
    if (rc == CHSM_OK)
        rc = chsm_kv_apply_policies(r.body, kind, aps);
    if (rc == CHSM_OK) {
        chsm_json_set(r.body, "systemData",
                      chsm_arm_system_data(req, chsm_json_obj(r.body, "systemData")));
        rc = chsm_resources_put(s, &r);
    }
    rc = chsm_provider_finish_tx(s, rc);
    if (rc == CHSM_ENOTFOUND) {
        vault_not_found(res, name);
    } else if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
    } else {
        cJSON *b = cJSON_CreateObject();
        char rid[700];
        char *lower = chsm_lower_dup(kind);
        snprintf(rid, sizeof rid, "%s/accessPolicies/%s", r.id, lower ? lower : kind);
        free(lower);
        cJSON_AddStringToObject(b, "id", rid);
        cJSON_AddStringToObject(b, "name", kind);
        cJSON_AddStringToObject(b, "type", VAULT_TYPE "/accessPolicies");
        cJSON_AddStringToObject(b, "location", chsm_json_str(r.body, "location"));
        cJSON_AddItemToObject(cJSON_AddObjectToObject(b, "properties"), "accessPolicies",
                              cJSON_Duplicate(aps, 1));
        chsm_arm_json(res, 200, b);
    }
out:
    chsm_resource_clear(&r);
    cJSON_Delete(in);
    free(id);
}

static int keyvault_init(chsm_app *app)
{
    int rc = chsm_lro_register(app->lro, KIND_PROVISION, run_provision);
    if (rc == CHSM_OK)
        rc = chsm_lro_register(app->lro, KIND_DELETE, run_delete);
    return rc;
}

#define HSM                                                                                        \
    "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/" NS             \
    "/managedHSMs"
#define VAULTS                                                                                     \
    "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/" NS "/vaults"
#define V chsm_api_keyvault

static const chsm_route routes[] = {
    {"PUT", HSM "/{name}", put_hsm, "managedHSMs/write", V, 0},
    {"GET", HSM "/{name}", get_hsm, "managedHSMs/read", V, 0},
    {"PATCH", HSM "/{name}", patch_hsm, "managedHSMs/write", V, 0},
    {"DELETE", HSM "/{name}", delete_hsm, "managedHSMs/delete", V, 0},
    {"GET", HSM, list_by_rg, "managedHSMs/list", V, 0},
    {"GET", "/subscriptions/{subscriptionId}/providers/" NS "/managedHSMs", list_by_sub,
     "managedHSMs/list", V, 0},
    {"GET",
     "/subscriptions/{subscriptionId}/providers/" NS
     "/locations/{location}/operationResults/{operationId}",
     get_operation, "managedHSMs/operationResults/read", V, 0},
    {"PUT", VAULTS "/{vaultName}", put_vault, "vaults/write", V, 0},
    {"GET", VAULTS "/{vaultName}", get_vault, "vaults/read", V, 0},
    {"DELETE", VAULTS "/{vaultName}", delete_vault, "vaults/delete", V, 0},
    {"GET", VAULTS, list_vaults_by_rg, "vaults/read", V, 0},
    {"GET", "/subscriptions/{subscriptionId}/providers/" NS "/vaults", list_vaults_by_sub,
     "vaults/read", V, 0},
    {"PUT", VAULTS "/{vaultName}/accessPolicies/{operationKind}", update_access_policies,
     "vaults/accessPolicies/write", V, 0},
};

const chsm_provider chsm_provider_keyvault = {NS, routes, CHSM_COUNT(routes), keyvault_init};

/* cloudhsm.c - Microsoft.HardwareSecurityModules/cloudHsmClusters (api-versions
 * 2024-06-30-preview and 2025-03-31): clusters, backup and restore with their
 * status URLs, private endpoint connections, private link resources and the
 * provider's operation list. See docs/cloudhsm.md for every behaviour chosen
 * where the public record is silent, and docs/errors.md for the error codes.
 *
 * The ARM document of a cluster lives in the generic resources table; its HSM
 * (activation, users, keys) lives in hsm/ and is overlaid when rendering, so
 * activationState has one source of truth. */
#include "providers/answers.h"
#include "providers/provider.h"

#include "app/app.h"
#include "arm/auth.h"
#include "arm/errors.h"
#include "arm/lro.h"
#include "arm/resource.h"
#include "arm/versions.h"
#include "blob/blob.h"
#include "control/faults.h"
#include "crypto/keys.h"
#include "hsm/backup_codec.h"
#include "hsm/model.h"
#include "hsm/snapshot.h"
#include "providers/managed_identity.h"
#include "rbac/rbac.h"
#include "store/operations.h"
#include "store/resources.h"
#include "util/json.h"
#include "util/status.h"
#include "util/text.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define NS "Microsoft.HardwareSecurityModules"
#define CLUSTER_TYPE NS "/cloudHsmClusters"
#define PEC_TYPE CLUSTER_TYPE "/privateEndpointConnections"
#define PLR_TYPE CLUSTER_TYPE "/privateLinkResources"

#define KIND_PROVISION "cloudHsmClusters/provision"
#define KIND_DELETE "cloudHsmClusters/delete"
#define KIND_BACKUP "cloudHsmClusters/backup"
#define KIND_VALIDATE_BACKUP "cloudHsmClusters/validateBackup"
#define KIND_RESTORE "cloudHsmClusters/restore"
#define KIND_VALIDATE_RESTORE "cloudHsmClusters/validateRestore"
#define KIND_PEC_DELETE "cloudHsmClusters/peConnectionDelete"

#define STATUS_PROVISIONED "HSM cluster provisioning successful."
#define STATUS_RESTORE_FAILED                                                                      \
    "A restore into an activated Cloud HSM failed and left the cluster nonfunctional; delete and " \
    "re-create it."

/* ---- small helpers ---- */

static int valid_cluster_name(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n < 3 || n > 23)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)name[i]) && name[i] != '-')
            return 0;
    return 1;
}

/* cluster_params reads and checks sub/rg/name; *id gets the cluster id (caller frees). */
static int cluster_params(chsm_request *req, chsm_response *res, const char **name, char **id)
{
    const char *sub = chsm_request_param(req, "subscriptionId");
    const char *rg = chsm_request_param(req, "resourceGroupName");
    *name = chsm_request_param(req, "cloudHsmClusterName");
    *id = NULL;
    if (chsm_arm_require_resource_group(req, res, sub, rg))
        return 1;
    if (!valid_cluster_name(*name)) {
        chsm_arm_error_target(res, 400, "InvalidResourceName", "cloudHsmClusterName",
                              "The resource name '%.100s' is invalid: a Cloud HSM cluster name "
                              "has 3-23 letters, digits and '-' (^[a-zA-Z0-9-]{3,23}$).",
                              *name ? *name : "");
        return 1;
    }
    *id = chsm_arm_resource_id(sub, rg, CLUSTER_TYPE, *name);
    return *id ? 0 : (chsm_provider_store_error(res, CHSM_ENOMEM), 1);
}

static void not_found(chsm_request *req, chsm_response *res, const char *name)
{
    chsm_arm_error(res, 404, "ResourceNotFound",
                   "The Resource '" CLUSTER_TYPE "/%s' under resource group '%s' was not found. "
                   "For more details please go to https://aka.ms/ARMResourceNotFoundFix",
                   name, chsm_request_param(req, "resourceGroupName"));
}

/* complete_provisioning lets a due provision operation finish before a read, so the first
 * GET after a PUT (with the default duration 0) already shows Succeeded. */
static void complete_provisioning(chsm_app *app, const char *id)
{
    chsm_hsm_cluster c;
    if (chsm_hsm_repo_cluster_get(app->store, id, &c) != CHSM_OK || !c.provision_op[0])
        return;
    chsm_op op;
    if (chsm_lro_get(app, c.provision_op, &op) == CHSM_OK)
        chsm_op_clear(&op);
}

static cJSON *hsm_node(const char *label, int node, const char *state, const char *message)
{
    char fqdn[128];
    chsm_hsm_node_fqdn(label, node, fqdn, sizeof fqdn);
    cJSON *h = cJSON_CreateObject();
    cJSON_AddStringToObject(h, "fqdn", fqdn);
    cJSON_AddStringToObject(h, "state", state);
    cJSON_AddStringToObject(h, "stateMessage", message);
    return h;
}

/* add_node appends node to hsms, or frees it when that is impossible (out of memory). */
static void add_node(cJSON *hsms, cJSON *node)
{
    if (!cJSON_AddItemToArray(hsms, node))
        cJSON_Delete(node);
}

/* render returns the cluster as ARM shows it (caller frees): the stored document with
 * activationState, hsms and privateEndpointConnections filled from the HSM model. */
static cJSON *render(chsm_app *app, const cJSON *doc)
{
    cJSON *out = cJSON_Duplicate(doc, 1);
    const char *id = chsm_json_str(doc, "id");
    if (!chsm_json_obj(out, "properties"))
        chsm_json_put(out, "properties", cJSON_CreateObject());
    cJSON *props = chsm_json_obj(out, "properties");
    if (!props) { /* out of memory (counted by util/oom.h) */
        cJSON_Delete(out);
        return NULL;
    }
    const char *ps = chsm_json_str(props, "provisioningState");
    chsm_hsm_cluster c;
    int have = id && chsm_hsm_repo_cluster_get(app->store, id, &c) == CHSM_OK;
    int provisioning = !ps || strcmp(ps, "Provisioning") == 0;
    cJSON *hsms = cJSON_CreateArray();
    const char *activation = "NotDefined";
    if (have && !provisioning) {
        activation = c.activation;
        for (int i = 1; i <= CHSM_HSM_NODES; i++) {
            if (chsm_faults_node_down(app->faults, id, i, NULL, 0))
                add_node(hsms, hsm_node(c.label, i, "Failed",
                                        "The HSM node is unavailable (fault "
                                        "injection)."));
            else if (strcmp(c.activation, CHSM_HSM_FAILED) == 0)
                add_node(hsms, hsm_node(c.label, i, "Failed",
                                        "The HSM is not functional after a failed "
                                        "restore."));
            else if (strcmp(c.activation, CHSM_HSM_ACTIVE) == 0 || i == 1)
                add_node(hsms, hsm_node(c.label, i, "Running",
                                        strcmp(c.activation, CHSM_HSM_ACTIVE) == 0
                                            ? "The HSM is running."
                                            : "The HSM is running and waits for "
                                              "activation."));
            else
                add_node(hsms, hsm_node(c.label, i, "InitialProvisioning",
                                        "The HSM joins the cluster once it is "
                                        "activated."));
        }
    }
    chsm_json_set_str(props, "activationState", activation);
    chsm_json_put(props, "hsms", hsms);
    cJSON *pecs = cJSON_CreateArray();
    chsm_resource_query q = {.type = PEC_TYPE, .parent_id = id};
    chsm_resource *rows = NULL;
    size_t n = 0;
    if (id && chsm_resources_list(app->store, &q, &rows, &n) == CHSM_OK) {
        for (size_t i = 0; i < n; i++) {
            add_node(pecs, rows[i].body);
            rows[i].body = NULL;
        }
        chsm_resources_free(rows, n);
    }
    chsm_json_put(props, "privateEndpointConnections", pecs);
    return out;
}

/* load_cluster loads the stored document of id, answering 404 when absent. */
static int load_cluster(chsm_request *req, chsm_response *res, const char *name, const char *id,
                        chsm_resource *r)
{
    int rc = chsm_resources_get(req->app->store, id, r);
    if (rc == CHSM_ENOTFOUND) {
        not_found(req, res, name);
        return 1;
    }
    if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
        return 1;
    }
    return 0;
}

/* ---- identity ---- */

static int identity_error(chsm_response *res, int status, const char *code, const char *fmt,
                          const char *arg)
{
    chsm_arm_error_target(res, status, code, "identity", fmt, arg ? arg : "");
    return 1;
}

/* build_identity turns a request identity into the stored one: at most one identity per
 * cluster, user-assigned identities must exist and get their principalId/clientId. prev is
 * the stored identity for PATCH merging (NULL on PUT). *out is NULL for no identity. */
static int build_identity(chsm_request *req, chsm_response *res, const cJSON *in, const cJSON *prev,
                          const char *system_principal, cJSON **out)
{
    *out = NULL;
    if (!in || cJSON_IsNull(in))
        return 0;
    if (!cJSON_IsObject(in))
        return identity_error(res, 400, "InvalidIdentity", "The identity must be an object.%s",
                              NULL);
    const char *type = chsm_json_str(in, "type");
    if (!type && prev)
        type = chsm_json_str(prev, "type");
    char t[64];
    size_t j = 0;
    for (size_t i = 0; type && type[i] && j < sizeof t - 1; i++)
        if (type[i] != ' ')
            t[j++] = (char)tolower((unsigned char)type[i]);
    t[j] = '\0';
    if (!type || (strcmp(t, "none") != 0 && strcmp(t, "systemassigned") != 0 &&
                  strcmp(t, "userassigned") != 0 && strcmp(t, "systemassigned,userassigned") != 0))
        return identity_error(res, 400, "InvalidIdentityType",
                              "The identity type '%.60s' is invalid: use None, SystemAssigned "
                              "or UserAssigned.",
                              type);
    if (strcmp(t, "none") == 0)
        return 0;
    if (strcmp(t, "systemassigned,userassigned") == 0)
        return identity_error(res, 400, "MultipleManagedIdentitiesNotSupported",
                              "A Cloud HSM cluster can have only one managed identity; "
                              "'SystemAssigned,UserAssigned' names two.%s",
                              NULL);
    cJSON *id = cJSON_CreateObject();
    if (strcmp(t, "systemassigned") == 0) {
        cJSON_AddStringToObject(id, "type", "SystemAssigned");
        cJSON_AddStringToObject(id, "principalId", system_principal);
        cJSON_AddStringToObject(id, "tenantId",
                                req->principal.tid[0] ? req->principal.tid : CHSM_DEFAULT_TENANT);
        *out = id;
        return 0;
    }
    /* UserAssigned: merge with the stored map on PATCH (a null value removes an entry). */
    const cJSON *map = cJSON_GetObjectItem(in, "userAssignedIdentities");
    if (map && !cJSON_IsNull(map) && !cJSON_IsObject(map)) {
        cJSON_Delete(id);
        return identity_error(res, 400, "InvalidIdentity",
                              "userAssignedIdentities must be an object keyed by identity "
                              "resource id.%s",
                              NULL);
    }
    cJSON *names = cJSON_CreateArray();
    const cJSON *pm = prev ? cJSON_GetObjectItem(prev, "userAssignedIdentities") : NULL;
    for (const cJSON *e = pm ? pm->child : NULL; e; e = e->next) {
        const cJSON *override = NULL;
        for (const cJSON *m = map ? map->child : NULL; m; m = m->next)
            if (chsm_streq_ci(m->string, e->string))
                override = m;
        if (!override) /* kept; a null override removes it, a value re-adds it below */
            cJSON_AddItemToArray(names, cJSON_CreateString(e->string));
    }
    for (const cJSON *m = map ? map->child : NULL; m; m = m->next)
        if (!cJSON_IsNull(m))
            cJSON_AddItemToArray(names, cJSON_CreateString(m->string));
    int count = cJSON_GetArraySize(names);
    if (count != 1) {
        cJSON_Delete(names);
        cJSON_Delete(id);
        if (count > 1)
            return identity_error(res, 400, "MultipleManagedIdentitiesNotSupported",
                                  "A Cloud HSM cluster can have only one managed identity; the "
                                  "request names %s user-assigned identities.",
                                  "several");
        return identity_error(res, 400, "InvalidIdentity",
                              "Identity type UserAssigned needs exactly one entry in "
                              "userAssignedIdentities.%s",
                              NULL);
    }
    const char *rid = cJSON_GetArrayItem(names, 0)->valuestring;
    chsm_msi_info info;
    int rc = chsm_msi_lookup(req->app, rid, &info);
    if (rc != CHSM_OK) {
        cJSON_Delete(id);
        if (rc == CHSM_ENOTFOUND) {
            identity_error(res, 400, "ManagedIdentityNotFound",
                           "The user-assigned identity '%.300s' was not found; create it "
                           "(Microsoft.ManagedIdentity/userAssignedIdentities) first.",
                           rid);
        } else {
            chsm_provider_store_error(res, rc);
        }
        cJSON_Delete(names);
        return 1;
    }
    cJSON_AddStringToObject(id, "type", "UserAssigned");
    cJSON *uai = cJSON_AddObjectToObject(id, "userAssignedIdentities");
    cJSON *v = cJSON_AddObjectToObject(uai, rid);
    cJSON_AddStringToObject(v, "principalId", info.principal_id);
    cJSON_AddStringToObject(v, "clientId", info.client_id);
    cJSON_Delete(names);
    *out = id;
    return 0;
}

/* cluster_principal finds the principal the cluster's HSM uses for storage. Returns CHSM_OK
 * or fills code/message (ManagedIdentityNotConfigured, ManagedIdentityNotFound). */
static int cluster_principal(chsm_app *app, const cJSON *doc, char principal[40], const char **code,
                             char *msg, size_t msglen)
{
    const cJSON *id = chsm_json_obj(doc, "identity");
    const char *type = id ? chsm_json_str(id, "type") : NULL;
    if (type && strcmp(type, "SystemAssigned") == 0) {
        snprintf(principal, 40, "%s", chsm_json_str(id, "principalId"));
        return CHSM_OK;
    }
    const cJSON *map = id ? cJSON_GetObjectItem(id, "userAssignedIdentities") : NULL;
    if (!type || strcmp(type, "UserAssigned") != 0 || !map || !map->child) {
        *code = "ManagedIdentityNotConfigured";
        snprintf(msg, msglen,
                 "The Cloud HSM cluster has no managed identity: assign one user-assigned "
                 "identity (identity.type UserAssigned) before backup or restore.");
        return CHSM_ECONFLICT;
    }
    chsm_msi_info info;
    int rc = chsm_msi_lookup(app, map->child->string, &info);
    if (rc == CHSM_ENOTFOUND) {
        *code = "ManagedIdentityNotFound";
        snprintf(msg, msglen, "The cluster's user-assigned identity '%.300s' no longer exists.",
                 map->child->string);
        return rc;
    }
    if (rc != CHSM_OK) {
        *code = "InternalServerError";
        snprintf(msg, msglen, "The identity store failed: %s.", chsm_status_str(rc));
        return rc;
    }
    snprintf(principal, 40, "%s", info.principal_id);
    return CHSM_OK;
}

/* ---- PUT / GET / PATCH / DELETE ---- */

static int canonical_enum(const char *in, const char *const *allowed, const char **out)
{
    for (const char *const *p = allowed; *p; p++) {
        if (chsm_streq_ci(in, *p)) {
            *out = *p;
            return 1;
        }
    }
    return 0;
}

static const char *const sku_names[] = {"Standard_B1", "Standard B10", NULL};
static const char *const scopes[] = {"TenantReuse", "SubscriptionReuse", "ResourceGroupReuse",
                                     "NoReuse", NULL};

/* check_sku validates a request sku and returns a canonical copy (NULL with an answer). */
static cJSON *check_sku(chsm_response *res, const cJSON *sku)
{
    const char *family = chsm_json_str(sku, "family");
    const char *name = chsm_json_str(sku, "name");
    const cJSON *cap = cJSON_GetObjectItem(sku, "capacity");
    const char *canon = NULL;
    if (!cJSON_IsObject(sku) || !family || !chsm_streq_ci(family, "B") || !name ||
        !canonical_enum(name, sku_names, &canon) ||
        (cap && !cJSON_IsNull(cap) && !cJSON_IsNumber(cap))) {
        chsm_arm_error_target(res, 400, "InvalidSku", "sku",
                              "The sku must be {\"family\":\"B\",\"name\":\"Standard_B1\"} (or "
                              "name \"Standard B10\").");
        return NULL;
    }
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "family", "B");
    cJSON_AddStringToObject(out, "name", canon);
    if (cJSON_IsNumber(cap))
        cJSON_AddNumberToObject(out, "capacity", cap->valueint);
    return out;
}

static void put_cluster(chsm_request *req, chsm_response *res)
{
    const char *name;
    char *id;
    if (cluster_params(req, res, &name, &id))
        return;
    cJSON *in = chsm_arm_body_object(req, res, 1);
    cJSON *sku = NULL, *identity = NULL, *doc = NULL;
    chsm_resource old = {0};
    chsm_op op = {0};
    if (!in)
        goto out;
    const char *location = chsm_json_str(in, "location");
    const cJSON *tags = cJSON_GetObjectItem(in, "tags");
    const cJSON *props = chsm_json_obj(in, "properties");
    const char *scope = props ? chsm_json_str(props, "autoGeneratedDomainNameLabelScope") : NULL;
    const char *pna = props ? chsm_json_str(props, "publicNetworkAccess") : NULL;
    const char *scope_canon = "TenantReuse";
    if (!location || !*location) {
        chsm_arm_error_target(res, 400, "LocationRequired", "location",
                              "The location property is required for this definition.");
        goto out;
    }
    if (chsm_arm_check_tags(tags, res))
        goto out;
    if (scope && !canonical_enum(scope, scopes, &scope_canon)) {
        chsm_arm_error_target(res, 400, "InvalidParameter",
                              "properties.autoGeneratedDomainNameLabelScope",
                              "autoGeneratedDomainNameLabelScope must be TenantReuse, "
                              "SubscriptionReuse, ResourceGroupReuse or NoReuse.");
        goto out;
    }
    if (pna && !chsm_streq_ci(pna, "Disabled")) {
        chsm_arm_error_target(res, 400, "InvalidParameter", "properties.publicNetworkAccess",
                              "Cloud HSM clusters only support publicNetworkAccess 'Disabled'.");
        goto out;
    }
    chsm_store *s = req->app->store;
    int rc = chsm_resources_get(s, id, &old);
    int existed = rc == CHSM_OK;
    if (rc != CHSM_OK && rc != CHSM_ENOTFOUND) {
        chsm_provider_store_error(res, rc);
        goto out;
    }
    const cJSON *in_sku = cJSON_GetObjectItem(in, "sku");
    if (existed) {
        const char *old_loc = chsm_json_str(old.body, "location");
        const char *old_ps =
            chsm_json_str(chsm_json_obj(old.body, "properties"), "provisioningState");
        if (old_loc && !chsm_streq_ci(old_loc, location)) {
            chsm_arm_error_target(res, 409, "InvalidResourceLocation", "location",
                                  "The resource '%s' already exists in location '%s'; a "
                                  "resource cannot move to '%s'.",
                                  name, old_loc, location);
            goto out;
        }
        if (old_ps && strcmp(old_ps, "Deleting") == 0) {
            chsm_arm_error(res, 409, "Conflict", "The Cloud HSM cluster '%s' is being deleted.",
                           name);
            goto out;
        }
        sku = cJSON_Duplicate(chsm_json_obj(old.body, "sku"), 1);
        if (in_sku && !cJSON_IsNull(in_sku)) {
            cJSON *want = check_sku(res, in_sku);
            if (!want)
                goto out;
            int same = chsm_streq_ci(chsm_json_str(want, "name"), chsm_json_str(sku, "name"));
            cJSON_Delete(want);
            if (!same) {
                chsm_arm_error_target(res, 400, "SkuUpdateNotSupported", "sku",
                                      "The sku of a Cloud HSM cluster is set at creation and "
                                      "cannot change.");
                goto out;
            }
        }
    } else {
        if (!in_sku || cJSON_IsNull(in_sku)) {
            chsm_arm_error_target(
                res, 400, "InvalidSku", "sku",
                "The sku is required: {\"family\":\"B\",\"name\":\"Standard_B1\"}.");
            goto out;
        }
        if (!(sku = check_sku(res, in_sku)))
            goto out;
    }
    char system_principal[40];
    chsm_hsm_cluster hc;
    if (chsm_hsm_repo_cluster_get(s, id, &hc) == CHSM_OK && existed && hc.system_principal[0])
        snprintf(system_principal, sizeof system_principal, "%s", hc.system_principal);
    else
        chsm_uuid(system_principal);
    if (build_identity(req, res, cJSON_GetObjectItem(in, "identity"), NULL, system_principal,
                       &identity))
        goto out;

    doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "id", id);
    cJSON_AddStringToObject(doc, "name", name);
    cJSON_AddStringToObject(doc, "type", CLUSTER_TYPE);
    cJSON_AddStringToObject(doc, "location",
                            existed ? chsm_json_str(old.body, "location") : location);
    /* chsm_json_put frees what it cannot attach (out of memory). */
    chsm_json_put(doc, "tags",
                  cJSON_IsObject(tags) ? cJSON_Duplicate(tags, 1) : cJSON_CreateObject());
    chsm_json_put(doc, "sku", sku);
    sku = NULL;
    if (identity) {
        chsm_json_put(doc, "identity", identity);
        identity = NULL;
    }
    chsm_json_put(
        doc, "systemData",
        chsm_arm_system_data(req, existed ? chsm_json_obj(old.body, "systemData") : NULL));
    cJSON *np = cJSON_AddObjectToObject(doc, "properties");
    const cJSON *oldp = existed ? chsm_json_obj(old.body, "properties") : NULL;
    const char *old_ps = oldp ? chsm_json_str(oldp, "provisioningState") : NULL;
    const char *old_msg = oldp ? chsm_json_str(oldp, "statusMessage") : NULL;
    const char *old_scope = oldp ? chsm_json_str(oldp, "autoGeneratedDomainNameLabelScope") : NULL;
    cJSON_AddStringToObject(np, "provisioningState", old_ps ? old_ps : "Provisioning");
    if (old_msg)
        cJSON_AddStringToObject(np, "statusMessage", old_msg);
    cJSON_AddStringToObject(np, "autoGeneratedDomainNameLabelScope",
                            scope       ? scope_canon
                            : old_scope ? old_scope
                                        : "TenantReuse");
    cJSON_AddStringToObject(np, "publicNetworkAccess", "Disabled");

    rc = chsm_store_begin(s);
    if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
        goto out;
    }
    int have_hsm = chsm_hsm_repo_cluster_get(s, id, &hc) == CHSM_OK;
    if (!existed || !have_hsm) {
        rc = chsm_lro_begin(req->app, KIND_PROVISION, id, NULL, &op);
        if (rc == CHSM_OK)
            rc = chsm_hsm_cluster_create(req->app, id, name, op.id, system_principal);
        if (rc == CHSM_OK && existed)
            chsm_json_set_str(np, "provisioningState", "Provisioning");
    }
    chsm_resource r = {.id = id,
                       .type = CLUSTER_TYPE,
                       .name = (char *)name,
                       .subscription = (char *)chsm_request_param(req, "subscriptionId"),
                       .resource_group = (char *)chsm_request_param(req, "resourceGroupName"),
                       .body = doc,
                       .created_ms = old.created_ms};
    if (rc == CHSM_OK)
        rc = chsm_resources_put(s, &r);
    if (rc == CHSM_OK)
        rc = chsm_store_commit(s);
    else
        chsm_store_rollback(s);
    if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
        goto out;
    }
    chsm_arm_json(res, existed ? 200 : 201, render(req->app, doc));
out:
    chsm_op_clear(&op);
    chsm_resource_clear(&old);
    cJSON_Delete(doc);
    cJSON_Delete(sku);
    cJSON_Delete(identity);
    cJSON_Delete(in);
    free(id);
}

static void get_cluster(chsm_request *req, chsm_response *res)
{
    const char *name;
    char *id;
    if (cluster_params(req, res, &name, &id))
        return;
    complete_provisioning(req->app, id);
    chsm_resource r;
    if (!load_cluster(req, res, name, id, &r)) {
        chsm_arm_json(res, 200, render(req->app, r.body));
        chsm_resource_clear(&r);
    }
    free(id);
}

static void patch_cluster(chsm_request *req, chsm_response *res)
{
    const char *name;
    char *id;
    if (cluster_params(req, res, &name, &id))
        return;
    cJSON *in = chsm_arm_body_object(req, res, 1);
    cJSON *identity = NULL;
    chsm_resource r = {0};
    if (!in)
        goto out;
    const cJSON *tags = cJSON_GetObjectItem(in, "tags");
    const cJSON *want_identity = cJSON_GetObjectItem(in, "identity");
    if (chsm_arm_check_tags(tags, res))
        goto out;
    complete_provisioning(req->app, id);
    if (load_cluster(req, res, name, id, &r))
        goto out;
    chsm_hsm_cluster hc;
    const char *sp =
        chsm_hsm_repo_cluster_get(req->app->store, id, &hc) == CHSM_OK ? hc.system_principal : "";
    if (want_identity && !cJSON_IsNull(want_identity) &&
        build_identity(req, res, want_identity, chsm_json_obj(r.body, "identity"), sp, &identity))
        goto out;
    chsm_store *s = req->app->store;
    int rc = chsm_store_begin(s);
    if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
        goto out;
    }
    chsm_resource cur = {0};
    rc = chsm_resources_get(s, id, &cur);
    if (rc == CHSM_OK) {
        if (cJSON_IsObject(tags))
            chsm_json_set(cur.body, "tags", cJSON_Duplicate(tags, 1));
        if (want_identity && !cJSON_IsNull(want_identity)) {
            cJSON_DeleteItemFromObject(cur.body, "identity");
            if (identity) {
                cJSON_AddItemToObject(cur.body, "identity", identity);
                identity = NULL;
            }
        }
        chsm_json_set(cur.body, "systemData",
                      chsm_arm_system_data(req, chsm_json_obj(cur.body, "systemData")));
        rc = chsm_resources_put(s, &cur);
    }
    if (rc == CHSM_OK)
        rc = chsm_store_commit(s);
    else
        chsm_store_rollback(s);
    if (rc == CHSM_ENOTFOUND)
        not_found(req, res, name);
    else if (rc != CHSM_OK)
        chsm_provider_store_error(res, rc);
    else
        chsm_arm_json(res, 200, render(req->app, cur.body));
    chsm_resource_clear(&cur);
out:
    chsm_resource_clear(&r);
    cJSON_Delete(identity);
    cJSON_Delete(in);
    free(id);
}

/* operation_location sets Location (and Retry-After) to the provider's operation results
 * URL for op_id. */
static void operation_location(chsm_request *req, chsm_response *res, const char *location,
                               const char *op_id)
{
    char path[512];
    char *loc = chsm_percent_encode(location ? location : "global", 0);
    snprintf(path, sizeof path,
             "/subscriptions/%s/providers/" NS "/locations/%s/operationResults/%s",
             chsm_request_param(req, "subscriptionId"), loc ? loc : "global", op_id);
    free(loc);
    char *url = chsm_arm_abs_url(req, path);
    if (url)
        chsm_response_header(res, "Location", url, 1);
    chsm_response_header(res, "Retry-After", "1", 1);
    free(url);
}

static void delete_cluster(chsm_request *req, chsm_response *res)
{
    const char *name;
    char *id;
    if (cluster_params(req, res, &name, &id))
        return;
    chsm_store *s = req->app->store;
    chsm_resource r = {0};
    chsm_op op = {0};
    int rc = chsm_store_begin(s);
    if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
        free(id);
        return;
    }
    rc = chsm_resources_get(s, id, &r);
    if (rc == CHSM_OK) {
        cJSON *props = chsm_json_obj(r.body, "properties");
        if (props)
            chsm_json_set_str(props, "provisioningState", "Deleting");
        rc = chsm_resources_put(s, &r);
    }
    if (rc == CHSM_OK)
        rc = chsm_lro_begin(req->app, KIND_DELETE, id, NULL, &op);
    if (rc == CHSM_OK)
        rc = chsm_store_commit(s);
    else
        chsm_store_rollback(s);
    if (rc == CHSM_ENOTFOUND) {
        chsm_arm_json(res, 204, NULL);
    } else if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
    } else {
        chsm_arm_json(res, 202, NULL);
        operation_location(req, res, chsm_json_str(r.body, "location"), op.id);
    }
    chsm_op_clear(&op);
    chsm_resource_clear(&r);
    free(id);
}

/* render_listed renders a listed cluster once a due provisioning has finished (caller
 * frees), as a GET would; NULL when it went away meanwhile. */
static cJSON *render_listed(const chsm_request *req, const cJSON *doc)
{
    const char *id = chsm_json_str(doc, "id");
    if (!id)
        return render(req->app, doc);
    complete_provisioning(req->app, id);
    chsm_resource fresh;
    if (chsm_resources_get(req->app->store, id, &fresh) != CHSM_OK)
        return NULL;
    cJSON *out = render(req->app, fresh.body);
    chsm_resource_clear(&fresh);
    return out;
}

/* list answers one page of clusters of a subscription (rg NULL) or resource group. */
static void list_clusters(chsm_request *req, chsm_response *res, const char *rg)
{
    chsm_provider_list_page(req, res, rg, CLUSTER_TYPE, render_listed);
}

static void list_by_rg(chsm_request *req, chsm_response *res)
{
    list_clusters(req, res, chsm_request_param(req, "resourceGroupName"));
}

static void list_by_sub(chsm_request *req, chsm_response *res)
{
    list_clusters(req, res, NULL);
}

/* ---- long-running operation runs ---- */

static int run_provision(chsm_app *app, chsm_op *op)
{
    chsm_resource r;
    int rc = chsm_resources_get(app->store, op->resource_id, &r);
    if (rc == CHSM_ENOTFOUND) {
        chsm_lro_fail(op, "ResourceNotFound", "The cluster was deleted while provisioning.");
        return CHSM_OK;
    }
    if (rc != CHSM_OK)
        return rc;
    cJSON *props = chsm_json_obj(r.body, "properties");
    const char *ps = props ? chsm_json_str(props, "provisioningState") : NULL;
    if (props && ps && strcmp(ps, "Provisioning") == 0) {
        chsm_json_set_str(props, "provisioningState", "Succeeded");
        chsm_json_set_str(props, "statusMessage", STATUS_PROVISIONED);
        rc = chsm_resources_put(app->store, &r);
    }
    chsm_resource_clear(&r);
    chsm_hsm_cluster c;
    if (rc == CHSM_OK && chsm_hsm_repo_cluster_get(app->store, op->resource_id, &c) == CHSM_OK) {
        c.provision_op[0] = '\0';
        rc = chsm_hsm_repo_cluster_update(app->store, &c);
    }
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
        rc = chsm_hsm_cluster_destroy(app, op->resource_id);
    if (rc == CHSM_OK)
        chsm_lro_succeed(op, NULL);
    return rc;
}

static int run_pec_delete(chsm_app *app, chsm_op *op)
{
    int rc = chsm_resources_delete(app->store, op->resource_id);
    if (rc == CHSM_ENOTFOUND)
        rc = CHSM_OK;
    if (rc == CHSM_OK)
        chsm_lro_succeed(op, NULL);
    return rc;
}

/* fail_job ends op with code and a formatted message. */
static int fail_job(chsm_op *op, const char *code, const char *fmt, ...) CHSM_PRINTF(3, 4);
static int fail_job(chsm_op *op, const char *code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    chsm_lro_fail(op, code, msg);
    return CHSM_OK;
}

/* storage_check resolves the job's container and checks the HSM identity's data action on
 * it. Returns CHSM_OK (container_scope filled, caller frees), a failed job (CHSM_ECONFLICT
 * after fail_job) or a store error. */
static int storage_check(chsm_app *app, chsm_op *op, const char *principal, const char *action,
                         const char *account, const char *container, char **container_scope)
{
    *container_scope = NULL;
    char *acct_id = chsm_blob_account_resource_id(app, account);
    if (!acct_id) {
        fail_job(op, "ContainerNotFound",
                 "The storage account '%s' does not exist in this emulator; create it "
                 "(Microsoft.Storage/storageAccounts) first.",
                 account);
        return CHSM_ECONFLICT;
    }
    int exists = chsm_blob_container_exists(app, account, container);
    if (exists < 0) {
        free(acct_id);
        return exists;
    }
    if (!exists) {
        free(acct_id);
        fail_job(op, "ContainerNotFound",
                 "The container '%s' does not exist in storage account "
                 "'%s'.",
                 container, account);
        return CHSM_ECONFLICT;
    }
    size_t n = strlen(acct_id) + strlen(container) + 64;
    char *scope = malloc(n);
    if (!scope) {
        free(acct_id);
        return CHSM_ENOMEM;
    }
    snprintf(scope, n, "%s/blobServices/default/containers/%s", acct_id, container);
    free(acct_id);
    int allowed = chsm_rbac_has_data_action(app, principal, scope, action);
    if (allowed < 0) {
        free(scope);
        return allowed;
    }
    if (!allowed) {
        fail_job(op, "AuthorizationPermissionMismatch",
                 "This request is not authorized to perform this operation using this "
                 "permission: the cluster's managed identity (principal %s) has no role with "
                 "'%s' on container '%s' of storage account '%s' (assign Storage Blob Data "
                 "Contributor on the account).",
                 principal, action, container, account);
        free(scope);
        return CHSM_ECONFLICT;
    }
    *container_scope = scope;
    return CHSM_OK;
}

/* backup_time_details writes the statusDetails text the real service uses. */
static void backup_time_details(const char *what, int64_t ms, char *out, size_t outlen)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    int h12 = tm.tm_hour % 12 == 0 ? 12 : tm.tm_hour % 12;
    snprintf(out, outlen, "HSM %s Time: %d/%d/%d %d:%02d:%02d %s +00:00 UTC.", what, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_year + 1900, h12, tm.tm_min, tm.tm_sec,
             tm.tm_hour < 12 ? "AM" : "PM");
}

static int run_backup_like(chsm_app *app, chsm_op *op, int validate)
{
    const char *uri = chsm_json_str(op->params, "azureStorageBlobContainerUri");
    const char *account = chsm_json_str(op->params, "account");
    const char *container = chsm_json_str(op->params, "container");
    const char *backup_id = chsm_json_str(op->params, "backupId");
    chsm_resource r;
    int rc = chsm_resources_get(app->store, op->resource_id, &r);
    if (rc == CHSM_ENOTFOUND)
        return fail_job(op, "ResourceNotFound", "The Cloud HSM cluster was deleted.");
    if (rc != CHSM_OK)
        return rc;
    chsm_hsm_cluster c;
    char principal[40], msg[512], *scope = NULL;
    const char *code = NULL;
    rc = chsm_hsm_repo_cluster_get(app->store, op->resource_id, &c);
    if (rc != CHSM_OK)
        goto done;
    if (strcmp(c.activation, CHSM_HSM_ACTIVE) != 0) {
        rc = fail_job(op, "CloudHsmNotActivated",
                      "The Cloud HSM cluster is %s; only an activated (Active) cluster can be "
                      "backed up.",
                      c.activation);
        goto done;
    }
    if (cluster_principal(app, r.body, principal, &code, msg, sizeof msg) != CHSM_OK) {
        rc = fail_job(op, code, "%s", msg);
        goto done;
    }
    if (account && container) {
        rc = storage_check(app, op, principal, CHSM_ACTION_BLOB_WRITE, account, container, &scope);
        if (rc == CHSM_ECONFLICT) {
            rc = CHSM_OK;
            goto done;
        }
        if (rc != CHSM_OK)
            goto done;
    }
    cJSON *result = cJSON_CreateObject();
    if (uri)
        cJSON_AddStringToObject(result, "azureStorageBlobContainerUri", uri);
    if (validate || !account || !container) {
        cJSON_AddStringToObject(result, "statusDetails",
                                "The cluster, its managed identity and the storage container "
                                "allow a backup.");
        chsm_lro_succeed(op, result);
        goto done;
    }
    /* The snapshot is written key by key into the blob's buffer and sealed there. */
    unsigned char *blob = NULL;
    size_t bloblen = 0;
    int64_t now = chsm_now_ms();
    chsm_backup_writer w;
    rc = chsm_backup_writer_begin(&w, backup_id, op->resource_id, now, 0);
    if (rc == CHSM_OK) {
        rc = chsm_hsm_snapshot_write(app, op->resource_id, &w);
        if (rc == CHSM_OK)
            rc = chsm_backup_writer_finish(&w, app->fleet_secret, &blob, &bloblen);
        chsm_backup_writer_discard(&w); /* wipes the key material in the clear */
    }
    if (rc == CHSM_OK) {
        char format[8];
        snprintf(format, sizeof format, "%d", CHSM_BACKUP_VERSION);
        cJSON *meta = cJSON_CreateObject();
        cJSON_AddStringToObject(meta, "chsmbackupformat", format);
        cJSON_AddStringToObject(meta, "sourcecluster", c.name);
        rc = chsm_blob_write(app, account, container, backup_id, blob, bloblen,
                             "application/octet-stream", meta);
        cJSON_Delete(meta);
    }
    free(blob);
    if (rc == CHSM_ENOTFOUND) {
        cJSON_Delete(result);
        rc = fail_job(op, "ContainerNotFound", "The container '%s' disappeared during the backup.",
                      container);
        goto done;
    }
    if (rc == CHSM_EUNAVAILABLE) {
        cJSON_Delete(result);
        rc = fail_job(op, "StorageUnavailable",
                      "The storage account '%s' refused the backup blob (the storage service is "
                      "unavailable or the container is read-only).",
                      account);
        goto done;
    }
    if (rc != CHSM_OK) {
        cJSON_Delete(result);
        goto done;
    }
    char details[128];
    backup_time_details("Backup", now, details, sizeof details);
    cJSON_AddStringToObject(result, "backupId", backup_id);
    cJSON_AddStringToObject(result, "statusDetails", details);
    chsm_lro_succeed(op, result);
done:
    free(scope);
    chsm_resource_clear(&r);
    return rc;
}

static int run_backup(chsm_app *app, chsm_op *op)
{
    return run_backup_like(app, op, 0);
}

static int run_validate_backup(chsm_app *app, chsm_op *op)
{
    return run_backup_like(app, op, 1);
}

/* render_failed marks the destination nonfunctional after a restore into an activated
 * cluster (tutorial: "the restore operation fails and renders the destination Cloud HSM
 * resource nonfunctional"). */
static int render_failed(chsm_app *app, chsm_resource *r)
{
    cJSON *props = chsm_json_obj(r->body, "properties");
    if (props) {
        chsm_json_set_str(props, "provisioningState", "Failed");
        chsm_json_set_str(props, "statusMessage", STATUS_RESTORE_FAILED);
    }
    int rc = chsm_resources_put(app->store, r);
    if (rc == CHSM_OK)
        rc = chsm_hsm_set_activation(app, r->id, CHSM_HSM_FAILED);
    return rc;
}

static int run_restore_like(chsm_app *app, chsm_op *op, int validate)
{
    const char *account = chsm_json_str(op->params, "account");
    const char *container = chsm_json_str(op->params, "container");
    const char *backup_id = chsm_json_str(op->params, "backupId");
    chsm_resource r;
    int rc = chsm_resources_get(app->store, op->resource_id, &r);
    if (rc == CHSM_ENOTFOUND)
        return fail_job(op, "ResourceNotFound", "The Cloud HSM cluster was deleted.");
    if (rc != CHSM_OK)
        return rc;
    chsm_hsm_cluster c;
    char principal[40], msg[512], err[256], *scope = NULL;
    const char *code = NULL;
    unsigned char *blob = NULL, *payload = NULL;
    size_t bloblen = 0, plen = 0;
    chsm_hsm_snapshot *snapshot = NULL;
    char *source_id = NULL;
    rc = chsm_hsm_repo_cluster_get(app->store, op->resource_id, &c);
    if (rc != CHSM_OK)
        goto done;
    if (cluster_principal(app, r.body, principal, &code, msg, sizeof msg) != CHSM_OK) {
        rc = fail_job(op, code, "%s", msg);
        goto done;
    }
    if (account && container) {
        rc = storage_check(app, op, principal, CHSM_ACTION_BLOB_READ, account, container, &scope);
        if (rc == CHSM_ECONFLICT) {
            rc = CHSM_OK;
            goto done;
        }
        if (rc != CHSM_OK)
            goto done;
    }
    if (account && container && backup_id) {
        rc = chsm_blob_read(app, account, container, backup_id, CHSM_BACKUP_MAX_BLOB, &blob,
                            &bloblen);
        if (rc == CHSM_ENOTFOUND) {
            rc = fail_job(op, "BackupNotFound",
                          "No backup '%s' exists in container '%s' of storage account '%s'.",
                          backup_id, container, account);
            goto done;
        }
        if (rc == CHSM_EUNAVAILABLE) {
            rc = fail_job(op, "StorageUnavailable",
                          "The storage account '%s' is unavailable: the backup could not be read.",
                          account);
            goto done;
        }
        if (rc == CHSM_ETOOBIG) {
            rc = fail_job(op, "BackupCorrupted",
                          "The blob '%s' is larger than any backup and cannot be one.", backup_id);
            goto done;
        }
        if (rc != CHSM_OK)
            goto done;
        chsm_backup_header h;
        /* Decrypted in the blob's own buffer (wiped below): no second copy of the payload. */
        rc = chsm_backup_decode_in_place(app->fleet_secret, blob, bloblen, &h, &payload, &plen, err,
                                         sizeof err);
        if (rc == CHSM_EINVAL || rc == CHSM_ECRYPTO) {
            rc = fail_job(op, "BackupCorrupted", "The backup '%s' cannot be restored: %s.",
                          backup_id, err);
            goto done;
        }
        if (rc != CHSM_OK)
            goto done;
        if (strcmp(h.backup_id, backup_id) != 0) {
            rc = fail_job(op, "BackupCorrupted",
                          "The blob '%s' holds backup '%s', not the requested one.", backup_id,
                          h.backup_id);
            goto done;
        }
        source_id = chsm_strdup(h.source_id);
        rc = chsm_hsm_snapshot_open(h.version, payload, plen, app->cfg.hsm_max_keys, &snapshot, err,
                                    sizeof err);
        if (rc == CHSM_EINVAL) {
            rc = fail_job(op, "BackupCorrupted", "The backup '%s' cannot be restored: %s.",
                          backup_id, err);
            goto done;
        }
        if (rc != CHSM_OK)
            goto done;
    }
    chsm_hsm_restore_verdict v = chsm_hsm_restore_rule(op->resource_id, c.activation, source_id);
    if (v == CHSM_HSM_RESTORE_TO_SOURCE) {
        rc = fail_job(op, chsm_hsm_restore_error(v),
                      "A backup cannot be restored into its source Cloud HSM cluster.");
        goto done;
    }
    if (v == CHSM_HSM_RESTORE_NOT_FUNCTIONAL) {
        rc = fail_job(op, chsm_hsm_restore_error(v),
                      "The Cloud HSM cluster is not functional after an earlier failed restore; "
                      "delete and re-create it.");
        goto done;
    }
    if (v == CHSM_HSM_RESTORE_ALREADY_ACTIVE) {
        if (!validate) {
            rc = render_failed(app, &r);
            if (rc != CHSM_OK)
                goto done;
        }
        rc = fail_job(op, chsm_hsm_restore_error(v),
                      validate ? "The destination Cloud HSM cluster is already activated; a "
                                 "restore into it would fail and leave it nonfunctional. Restore "
                                 "into a cluster in the NotActivated state."
                               : "The destination Cloud HSM cluster was already activated; the "
                                 "restore failed and the cluster is now nonfunctional "
                                 "(activationState Failed). Restore into a cluster in the "
                                 "NotActivated state.");
        goto done;
    }
    if (validate || !snapshot) {
        cJSON *result = cJSON_CreateObject();
        cJSON_AddStringToObject(result, "statusDetails",
                                "The cluster, its managed identity, the storage container and "
                                "the backup allow a restore.");
        chsm_lro_succeed(op, result);
        goto done;
    }
    rc = chsm_hsm_snapshot_import(app, op->resource_id, snapshot, err, sizeof err);
    if (rc == CHSM_EINVAL) {
        rc = fail_job(op, "BackupCorrupted", "The backup '%s' cannot be restored: %s.", backup_id,
                      err);
        goto done;
    }
    if (rc != CHSM_OK)
        goto done;
    cJSON *props = chsm_json_obj(r.body, "properties");
    if (props) {
        chsm_json_set_str(props, "provisioningState", "Succeeded");
        chsm_json_set_str(props, "statusMessage", STATUS_PROVISIONED);
    }
    rc = chsm_resources_put(app->store, &r);
    if (rc == CHSM_OK) {
        char details[128];
        backup_time_details("Restore", chsm_now_ms(), details, sizeof details);
        cJSON *result = cJSON_CreateObject();
        cJSON_AddStringToObject(result, "statusDetails", details);
        chsm_lro_succeed(op, result);
    }
done:
    free(source_id);
    chsm_hsm_snapshot_free(snapshot);
    if (payload)
        chsm_crypto_key_wipe(payload, plen); /* the payload in the clear, inside blob */
    free(blob);
    free(scope);
    chsm_resource_clear(&r);
    return rc;
}

static int run_restore(chsm_app *app, chsm_op *op)
{
    return run_restore_like(app, op, 0);
}

static int run_validate_restore(chsm_app *app, chsm_op *op)
{
    return run_restore_like(app, op, 1);
}

/* ---- backup / restore requests ---- */

static int is_restore_kind(const char *kind)
{
    return strcmp(kind, KIND_RESTORE) == 0 || strcmp(kind, KIND_VALIDATE_RESTORE) == 0;
}

/* make_backup_id writes cloudhsm-<uuid>-<yyyyMMddHHmmssff>. */
static void make_backup_id(char *out, size_t outlen)
{
    char uuid[37];
    chsm_uuid(uuid);
    int64_t ms = chsm_now_ms();
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, outlen, "cloudhsm-%s-%04d%02d%02d%02d%02d%02d%02d", uuid, tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)((ms % 1000) / 10));
}

static int valid_backup_id(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > CHSM_BACKUP_MAX_ID)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
            return 0;
    return 1;
}

/* restore_source_check peeks at the backup's (unauthenticated) header to refuse a restore
 * into its own source synchronously; the job re-checks after authenticating the blob. */
static int restore_source_check(chsm_request *req, chsm_response *res, const char *id,
                                const char *account, const char *container, const char *backup_id)
{
    unsigned char *blob = NULL;
    size_t len = 0;
    if (chsm_blob_read(req->app, account, container, backup_id, CHSM_BACKUP_MAX_BLOB, &blob,
                       &len) != CHSM_OK)
        return 0;
    chsm_backup_header h;
    char err[160];
    int same = chsm_backup_peek(blob, len, &h, err, sizeof err) == CHSM_OK &&
               chsm_streq_ci(h.source_id, id);
    free(blob);
    if (!same)
        return 0;
    chsm_arm_error(res, 409, "RestoreToSourceNotSupported",
                   "The backup '%s' was taken from this Cloud HSM cluster; a backup cannot be "
                   "restored into its source cluster (it is activated). Restore into a new "
                   "cluster in the NotActivated state.",
                   backup_id);
    return 1;
}

static void start_job(chsm_request *req, chsm_response *res, const char *kind)
{
    const char *name;
    char *id;
    if (cluster_params(req, res, &name, &id))
        return;
    int restore = is_restore_kind(kind);
    int validate =
        strcmp(kind, KIND_VALIDATE_BACKUP) == 0 || strcmp(kind, KIND_VALIDATE_RESTORE) == 0;
    cJSON *in = chsm_arm_body_object(req, res, strcmp(kind, KIND_RESTORE) == 0);
    chsm_resource r = {0};
    chsm_op op = {0};
    if (!in)
        goto out;
    complete_provisioning(req->app, id);
    if (load_cluster(req, res, name, id, &r))
        goto out;
    const cJSON *uri_item = cJSON_GetObjectItem(in, "azureStorageBlobContainerUri");
    const cJSON *token = cJSON_GetObjectItem(in, "token");
    const cJSON *bid_item = cJSON_GetObjectItem(in, "backupId");
    const char *uri = cJSON_GetStringValue(uri_item);
    const char *backup_id = cJSON_GetStringValue(bid_item);
    char account[128] = "", container[128] = "";
    if (token && !cJSON_IsNull(token) &&
        !(cJSON_IsString(token) && token->valuestring[0] == '\0')) {
        chsm_arm_error_target(res, 400, "SasTokenNotSupported", "token",
                              "Azure Cloud HSM does not support backup and restore with shared "
                              "access signature (SAS) tokens: the 'token' property is reserved "
                              "for Azure Backup. Grant the cluster's managed identity Storage "
                              "Blob Data Contributor on the storage account instead.");
        goto out;
    }
    if (uri_item && !cJSON_IsNull(uri_item) && !uri) {
        chsm_arm_error_target(res, 400, "InvalidRequestContent", "azureStorageBlobContainerUri",
                              "azureStorageBlobContainerUri must be a string.");
        goto out;
    }
    if (!uri && !validate) {
        chsm_arm_error_target(res, 400, "MissingRequiredProperty", "azureStorageBlobContainerUri",
                              "The property 'azureStorageBlobContainerUri' is required.");
        goto out;
    }
    if (uri && strchr(uri, '?')) {
        chsm_arm_error_target(res, 400, "SasTokenNotSupported", "azureStorageBlobContainerUri",
                              "Azure Cloud HSM does not support backup and restore with shared "
                              "access signature (SAS) tokens: pass the container URI without a "
                              "query string and grant the cluster's managed identity Storage "
                              "Blob Data Contributor on the storage account.");
        goto out;
    }
    int resolved = uri ? chsm_blob_resolve_container_uri(uri, account, sizeof account, container,
                                                         sizeof container)
                       : CHSM_OK;
    if (resolved == CHSM_ENOMEM) {
        chsm_arm_error(res, 500, "InternalServerError", "The server ran out of memory.");
        goto out;
    }
    if (resolved != CHSM_OK) {
        chsm_arm_error_target(res, 400, "InvalidStorageContainerUri",
                              "azureStorageBlobContainerUri",
                              "'%.300s' is not a blob container URI: use "
                              "https://{account}.blob.core.windows.net/{container} or the "
                              "emulator's blob endpoint {blobUrl}/{account}/{container}.",
                              uri);
        goto out;
    }
    if (restore) {
        if (bid_item && !cJSON_IsNull(bid_item) && !valid_backup_id(backup_id)) {
            chsm_arm_error_target(res, 400, "InvalidRequestContent", "backupId",
                                  "backupId must be the id a backup returned "
                                  "(cloudhsm-<uuid>-<timestamp>).");
            goto out;
        }
        if (!backup_id && !validate) {
            chsm_arm_error_target(res, 400, "MissingRequiredProperty", "backupId",
                                  "The property 'backupId' is required.");
            goto out;
        }
    }
    const cJSON *props = chsm_json_obj(r.body, "properties");
    const char *ps = props ? chsm_json_str(props, "provisioningState") : NULL;
    if (ps && (strcmp(ps, "Provisioning") == 0 || strcmp(ps, "Deleting") == 0 ||
               strcmp(ps, "Updating") == 0)) {
        chsm_arm_error(res, 409, "Conflict",
                       "The Cloud HSM cluster '%s' is %s; try again when it has finished.", name,
                       ps);
        goto out;
    }
    char principal[40], msg[512];
    const char *code = NULL;
    int rc = cluster_principal(req->app, r.body, principal, &code, msg, sizeof msg);
    if (rc != CHSM_OK) {
        if (rc == CHSM_ECONFLICT || rc == CHSM_ENOTFOUND)
            chsm_arm_error_target(res, 400, code, "identity", "%s", msg);
        else
            chsm_provider_store_error(res, rc);
        goto out;
    }
    if (!restore) {
        chsm_hsm_cluster c;
        rc = chsm_hsm_repo_cluster_get(req->app->store, id, &c);
        if (rc != CHSM_OK) {
            chsm_provider_store_error(res, rc);
            goto out;
        }
        if (strcmp(c.activation, CHSM_HSM_ACTIVE) != 0) {
            chsm_arm_error(res, 409, "CloudHsmNotActivated",
                           "The Cloud HSM cluster '%s' is %s; only an activated (Active) cluster "
                           "can be backed up. Activate it through its HSM first.",
                           name, c.activation);
            goto out;
        }
    } else if (uri && backup_id &&
               restore_source_check(req, res, id, account, container, backup_id)) {
        goto out;
    }
    chsm_store *s = req->app->store;
    rc = chsm_store_begin(s);
    if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
        goto out;
    }
    int busy = chsm_ops_running_for(s, id, "cloudHsmClusters/*");
    if (busy != 0) {
        chsm_store_rollback(s);
        if (busy > 0)
            chsm_arm_error(res, 409, "Conflict",
                           "Another operation is in progress on the Cloud HSM cluster '%s'; "
                           "wait for it to finish.",
                           name);
        else
            chsm_provider_store_error(res, busy);
        goto out;
    }
    cJSON *params = cJSON_CreateObject();
    if (uri) {
        cJSON_AddStringToObject(params, "azureStorageBlobContainerUri", uri);
        cJSON_AddStringToObject(params, "account", account);
        cJSON_AddStringToObject(params, "container", container);
    }
    if (restore && backup_id)
        cJSON_AddStringToObject(params, "backupId", backup_id);
    if (strcmp(kind, KIND_BACKUP) == 0) {
        char bid[CHSM_BACKUP_MAX_ID];
        make_backup_id(bid, sizeof bid);
        cJSON_AddStringToObject(params, "backupId", bid);
    }
    rc = chsm_lro_begin(req->app, kind, id, params, &op);
    if (rc == CHSM_OK)
        rc = chsm_store_commit(s);
    else
        chsm_store_rollback(s);
    if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
        goto out;
    }
    /* As the real service: 202, no body, Location to the job's status URL (Location polling,
     * not Azure-AsyncOperation: the status body keeps its status under properties). */
    char *path = NULL;
    size_t plen = strlen(req->raw_path) + 64;
    path = malloc(plen);
    if (path) {
        const char *raw = req->raw_path;
        const char *slash = strrchr(raw, '/');
        snprintf(path, plen, "%.*s/%s/%s", (int)(slash - raw), raw,
                 restore ? "restoreOperationStatus" : "backupOperationStatus", op.id);
        char *url = chsm_arm_abs_url(req, path);
        if (url)
            chsm_response_header(res, "Location", url, 1);
        free(url);
        free(path);
    }
    chsm_arm_json(res, 202, NULL);
    chsm_response_header(res, "Retry-After", "1", 1);
out:
    chsm_op_clear(&op);
    chsm_resource_clear(&r);
    cJSON_Delete(in);
    free(id);
}

static void post_backup(chsm_request *req, chsm_response *res)
{
    start_job(req, res, KIND_BACKUP);
}

static void post_validate_backup(chsm_request *req, chsm_response *res)
{
    start_job(req, res, KIND_VALIDATE_BACKUP);
}

static void post_restore(chsm_request *req, chsm_response *res)
{
    start_job(req, res, KIND_RESTORE);
}

static void post_validate_restore(chsm_request *req, chsm_response *res)
{
    start_job(req, res, KIND_VALIDATE_RESTORE);
}

static int is_hex32(const char *s)
{
    if (!s || strlen(s) != 32)
        return 0;
    for (int i = 0; i < 32; i++)
        if (!isxdigit((unsigned char)s[i]))
            return 0;
    return 1;
}

/* get_job_status answers backupOperationStatus / restoreOperationStatus: 202 + Location while
 * running, else 200 {"properties":{...}} with status mirrored at the top level. */
static void get_job_status(chsm_request *req, chsm_response *res, int restore)
{
    const char *name;
    char *id;
    if (cluster_params(req, res, &name, &id))
        return;
    const char *job = chsm_request_param(req, "jobId");
    chsm_op op = {0};
    char lower[33];
    int rc = CHSM_ENOTFOUND;
    if (is_hex32(job)) {
        for (int i = 0; i < 33; i++)
            lower[i] = (char)tolower((unsigned char)job[i]);
        rc = chsm_lro_get(req->app, lower, &op);
    }
    int kind_ok = rc == CHSM_OK &&
                  (restore ? is_restore_kind(op.kind)
                           : (strcmp(op.kind, KIND_BACKUP) == 0 ||
                              strcmp(op.kind, KIND_VALIDATE_BACKUP) == 0)) &&
                  chsm_streq_ci(op.resource_id, id);
    if (rc == CHSM_OK && !kind_ok)
        rc = CHSM_ENOTFOUND;
    if (rc == CHSM_ENOTFOUND) {
        chsm_arm_error(res, 404, "OperationNotFound",
                       "No %s job '%.40s' exists for the Cloud HSM cluster '%s'.",
                       restore ? "restore" : "backup", job ? job : "", name);
        goto out;
    }
    if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
        goto out;
    }
    if (strcmp(op.status, CHSM_OP_IN_PROGRESS) == 0) {
        char *url = chsm_arm_abs_url(req, req->raw_path);
        if (url)
            chsm_response_header(res, "Location", url, 1);
        free(url);
        chsm_arm_json(res, 202, NULL);
        chsm_response_header(res, "Retry-After", "1", 1);
        goto out;
    }
    char start[40], end[40];
    chsm_format_time(op.start_ms, start, sizeof start);
    chsm_format_time(op.end_ms ? op.end_ms : op.start_ms, end, sizeof end);
    int failed = strcmp(op.status, CHSM_OP_FAILED) == 0;
    const char *status = failed                                      ? "Failed"
                         : strcmp(op.status, CHSM_OP_SUCCEEDED) == 0 ? "Succeeded"
                                                                     : "Cancelled";
    cJSON *props = cJSON_CreateObject();
    if (!restore) {
        const char *uri =
            op.result ? chsm_json_str(op.result, "azureStorageBlobContainerUri") : NULL;
        if (!uri && op.params)
            uri = chsm_json_str(op.params, "azureStorageBlobContainerUri");
        const char *bid = op.result ? chsm_json_str(op.result, "backupId") : NULL;
        if (uri)
            cJSON_AddStringToObject(props, "azureStorageBlobContainerUri", uri);
        if (bid)
            cJSON_AddStringToObject(props, "backupId", bid);
    }
    cJSON_AddStringToObject(props, "status", status);
    /* A failed job explains itself in statusDetails unless the failure came
     * with its own text (a QA failOperation rule's statusDetails). */
    const char *details = op.result ? chsm_json_str(op.result, "statusDetails") : NULL;
    if (failed && (!details || !op.fault))
        details = op.error_message;
    if (details)
        cJSON_AddStringToObject(props, "statusDetails", details);
    /* chsm_json_put frees what it cannot attach (out of memory). */
    if (failed)
        chsm_json_put(
            props, "error",
            chsm_arm_error_detail(op.error_code ? op.error_code : "Failed",
                                  op.error_message ? op.error_message : "The job failed."));
    cJSON_AddStringToObject(props, "startTime", start);
    cJSON_AddStringToObject(props, "endTime", end);
    cJSON_AddStringToObject(props, "jobId", op.id);
    cJSON *error_copy = failed ? cJSON_Duplicate(cJSON_GetObjectItem(props, "error"), 1) : NULL;
    cJSON *body = cJSON_CreateObject();
    chsm_json_put(body, "properties", props);
    cJSON_AddStringToObject(body, "status", status);
    chsm_json_put(body, "error", error_copy);
    chsm_arm_json(res, 200, body);
out:
    chsm_op_clear(&op);
    free(id);
}

static void get_backup_status(chsm_request *req, chsm_response *res)
{
    get_job_status(req, res, 0);
}

static void get_restore_status(chsm_request *req, chsm_response *res)
{
    get_job_status(req, res, 1);
}

/* GET .../locations/{location}/operationResults/{id}: Location polling of deletes. */
static void get_operation_result(chsm_request *req, chsm_response *res)
{
    const char *opid = chsm_request_param(req, "operationId");
    chsm_op op = {0};
    int rc = is_hex32(opid) ? chsm_lro_get(req->app, opid, &op) : CHSM_ENOTFOUND;
    if (rc == CHSM_OK && strncmp(op.kind, "cloudHsmClusters/", 17) != 0)
        rc = CHSM_ENOTFOUND;
    if (rc == CHSM_ENOTFOUND) {
        chsm_arm_error(res, 404, "OperationNotFound", "The operation '%.64s' was not found.",
                       opid ? opid : "");
    } else if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
    } else if (strcmp(op.status, CHSM_OP_IN_PROGRESS) == 0) {
        char *url = chsm_arm_abs_url(req, req->raw_path);
        if (url)
            chsm_response_header(res, "Location", url, 1);
        free(url);
        chsm_arm_json(res, 202, NULL);
        chsm_response_header(res, "Retry-After", "1", 1);
    } else if (strcmp(op.status, CHSM_OP_SUCCEEDED) == 0) {
        chsm_arm_json(res, 204, NULL);
    } else {
        chsm_arm_error(res, 500, op.error_code ? op.error_code : "OperationFailed", "%s",
                       op.error_message ? op.error_message : "The operation failed.");
    }
    chsm_op_clear(&op);
}

/* ---- private endpoint connections and private link resources ---- */

static int pec_name_ok(const char *n)
{
    size_t len = n ? strlen(n) : 0;
    if (len < 1 || len > 80)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)n[i]) && !strchr("-_.", n[i]))
            return 0;
    return 1;
}

/* pec_setup checks the cluster exists and builds the connection id (caller frees both). */
static int pec_setup(chsm_request *req, chsm_response *res, char **cluster_id, char **pec_id,
                     const char **pec)
{
    const char *name;
    *pec_id = NULL;
    if (cluster_params(req, res, &name, cluster_id))
        return 1;
    int exists = chsm_resources_exists(req->app->store, *cluster_id);
    if (exists != 1) {
        if (exists == 0)
            not_found(req, res, name);
        else
            chsm_provider_store_error(res, exists);
        free(*cluster_id);
        return 1;
    }
    *pec = chsm_request_param(req, "peConnectionName");
    if (*pec && !pec_name_ok(*pec)) {
        chsm_arm_error_target(res, 400, "InvalidResourceName", "peConnectionName",
                              "The private endpoint connection name '%.100s' is invalid.", *pec);
        free(*cluster_id);
        return 1;
    }
    if (*pec) {
        size_t n = strlen(*cluster_id) + strlen(*pec) + 40;
        *pec_id = malloc(n);
        if (*pec_id)
            snprintf(*pec_id, n, "%s/privateEndpointConnections/%s", *cluster_id, *pec);
    }
    return 0;
}

static void list_pecs(chsm_request *req, chsm_response *res)
{
    char *cid, *pid;
    const char *pec;
    if (pec_setup(req, res, &cid, &pid, &pec))
        return;
    chsm_resource_query q = {.type = PEC_TYPE, .parent_id = cid};
    chsm_provider_list_all(req, res, &q);
    free(cid);
    free(pid);
}

static void get_pec(chsm_request *req, chsm_response *res)
{
    char *cid, *pid;
    const char *pec;
    if (pec_setup(req, res, &cid, &pid, &pec))
        return;
    chsm_resource r;
    int rc = pid ? chsm_resources_get(req->app->store, pid, &r) : CHSM_ENOMEM;
    if (rc == CHSM_ENOTFOUND)
        chsm_arm_error(res, 404, "ResourceNotFound",
                       "The private endpoint connection '%s' was not found.", pec);
    else if (rc != CHSM_OK)
        chsm_provider_store_error(res, rc);
    else {
        chsm_arm_json(res, 200, r.body);
        r.body = NULL;
        chsm_resource_clear(&r);
    }
    free(cid);
    free(pid);
}

static void put_pec(chsm_request *req, chsm_response *res)
{
    char *cid, *pid;
    const char *pec;
    if (pec_setup(req, res, &cid, &pid, &pec))
        return;
    cJSON *in = chsm_arm_body_object(req, res, 1);
    chsm_resource old = {0};
    cJSON *doc = NULL;
    if (!in || !pid)
        goto out;
    const cJSON *props = chsm_json_obj(in, "properties");
    const cJSON *state = props ? chsm_json_obj(props, "privateLinkServiceConnectionState") : NULL;
    const cJSON *endpoint = props ? chsm_json_obj(props, "privateEndpoint") : NULL;
    const char *status = state ? chsm_json_str(state, "status") : NULL;
    static const char *const statuses[] = {"Pending", "Approved", "Rejected", NULL};
    const char *canon = NULL;
    if (!state) {
        chsm_arm_error_target(res, 400, "MissingRequiredProperty",
                              "properties.privateLinkServiceConnectionState",
                              "properties.privateLinkServiceConnectionState is required.");
        goto out;
    }
    if (status && !canonical_enum(status, statuses, &canon)) {
        chsm_arm_error_target(res, 400, "InvalidParameter",
                              "properties.privateLinkServiceConnectionState.status",
                              "The connection status must be Pending, Approved or Rejected.");
        goto out;
    }
    int rc = chsm_resources_get(req->app->store, pid, &old);
    if (rc != CHSM_OK && rc != CHSM_ENOTFOUND) {
        chsm_provider_store_error(res, rc);
        goto out;
    }
    char etag[40];
    chsm_uuid(etag);
    doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "id", pid);
    cJSON_AddStringToObject(doc, "name", pec);
    cJSON_AddStringToObject(doc, "type", PEC_TYPE);
    cJSON_AddStringToObject(doc, "etag", etag);
    cJSON_AddItemToObject(
        doc, "systemData",
        chsm_arm_system_data(req, old.body ? chsm_json_obj(old.body, "systemData") : NULL));
    cJSON *p = cJSON_AddObjectToObject(doc, "properties");
    if (endpoint)
        cJSON_AddItemToObject(p, "privateEndpoint", cJSON_Duplicate(endpoint, 1));
    cJSON *st = cJSON_Duplicate(state, 1);
    if (canon)
        chsm_json_set_str(st, "status", canon);
    cJSON_AddItemToObject(p, "privateLinkServiceConnectionState", st);
    cJSON_AddStringToObject(p, "provisioningState", "Succeeded");
    cJSON *groups = cJSON_AddArrayToObject(p, "groupIds");
    cJSON_AddItemToArray(groups, cJSON_CreateString("cloudHsm"));
    chsm_resource r = {.id = pid,
                       .type = PEC_TYPE,
                       .name = (char *)pec,
                       .subscription = (char *)chsm_request_param(req, "subscriptionId"),
                       .resource_group = (char *)chsm_request_param(req, "resourceGroupName"),
                       .parent_id = cid,
                       .body = doc,
                       .created_ms = old.created_ms};
    rc = chsm_resources_put(req->app->store, &r);
    if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
        goto out;
    }
    chsm_arm_json(res, 200, doc);
    doc = NULL;
out:
    cJSON_Delete(doc);
    cJSON_Delete(in);
    chsm_resource_clear(&old);
    free(cid);
    free(pid);
}

static void delete_pec(chsm_request *req, chsm_response *res)
{
    char *cid, *pid;
    const char *pec;
    if (pec_setup(req, res, &cid, &pid, &pec))
        return;
    chsm_store *s = req->app->store;
    chsm_op op = {0};
    chsm_resource cl = {0};
    int rc = pid ? chsm_store_begin(s) : CHSM_ENOMEM;
    if (rc == CHSM_OK) {
        int exists = chsm_resources_exists(s, pid);
        rc = exists < 0 ? exists : exists ? CHSM_OK : CHSM_ENOTFOUND;
        if (rc == CHSM_OK)
            rc = chsm_lro_begin(req->app, KIND_PEC_DELETE, pid, NULL, &op);
        if (rc == CHSM_OK)
            rc = chsm_store_commit(s);
        else
            chsm_store_rollback(s);
    }
    if (rc == CHSM_ENOTFOUND) {
        chsm_arm_json(res, 204, NULL);
    } else if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
    } else {
        chsm_resources_get(s, cid, &cl);
        chsm_arm_json(res, 202, NULL);
        operation_location(req, res, cl.body ? chsm_json_str(cl.body, "location") : NULL, op.id);
    }
    chsm_resource_clear(&cl);
    chsm_op_clear(&op);
    free(cid);
    free(pid);
}

static void list_private_link_resources(chsm_request *req, chsm_response *res)
{
    char *cid, *pid;
    const char *pec;
    if (pec_setup(req, res, &cid, &pid, &pec))
        return;
    cJSON *item = cJSON_CreateObject();
    size_t n = strlen(cid) + 40;
    char *rid = malloc(n);
    if (rid)
        snprintf(rid, n, "%s/privateLinkResources/cloudHsm", cid);
    cJSON_AddStringToObject(item, "id", rid ? rid : "");
    free(rid);
    cJSON_AddStringToObject(item, "name", "cloudHsm");
    cJSON_AddStringToObject(item, "type", PLR_TYPE);
    cJSON *p = cJSON_AddObjectToObject(item, "properties");
    cJSON_AddStringToObject(p, "groupId", "cloudHsm");
    cJSON *members = cJSON_AddArrayToObject(p, "requiredMembers");
    for (int i = 1; i <= CHSM_HSM_NODES; i++) {
        char m[8];
        snprintf(m, sizeof m, "hsm%d", i);
        cJSON_AddItemToArray(members, cJSON_CreateString(m));
    }
    cJSON *zones = cJSON_AddArrayToObject(p, "requiredZoneNames");
    cJSON_AddItemToArray(zones, cJSON_CreateString("privatelink.cloudhsm.azure.net"));
    cJSON *items = cJSON_CreateArray();
    cJSON_AddItemToArray(items, item);
    chsm_arm_json(res, 200, chsm_arm_list_body(items, NULL));
    free(cid);
    free(pid);
}

/* ---- provider operations ---- */

static void list_operations(chsm_request *req, chsm_response *res)
{
    (void)req;
    static const struct {
        const char *name, *resource, *operation, *description;
    } ops[] = {
        {NS "/cloudHsmClusters/read", "Cloud HSM Cluster", "Read Cloud HSM Cluster",
         "Gets or lists Cloud HSM clusters."},
        {NS "/cloudHsmClusters/write", "Cloud HSM Cluster", "Create or Update Cloud HSM Cluster",
         "Creates or updates a Cloud HSM cluster."},
        {NS "/cloudHsmClusters/delete", "Cloud HSM Cluster", "Delete Cloud HSM Cluster",
         "Deletes a Cloud HSM cluster."},
        {NS "/cloudHsmClusters/backup/action", "Cloud HSM Cluster", "Backup Cloud HSM Cluster",
         "Backs up a Cloud HSM cluster to a storage container."},
        {NS "/cloudHsmClusters/validateBackupProperties/action", "Cloud HSM Cluster",
         "Validate Backup Properties", "Checks that a backup can run."},
        {NS "/cloudHsmClusters/restore/action", "Cloud HSM Cluster", "Restore Cloud HSM Cluster",
         "Restores a backup into a Cloud HSM cluster."},
        {NS "/cloudHsmClusters/validateRestoreProperties/action", "Cloud HSM Cluster",
         "Validate Restore Properties", "Checks that a restore can run."},
        {NS "/cloudHsmClusters/backupOperationStatus/read", "Backup Operation Status",
         "Read Backup Status", "Gets the status of a backup job."},
        {NS "/cloudHsmClusters/restoreOperationStatus/read", "Restore Operation Status",
         "Read Restore Status", "Gets the status of a restore job."},
        {NS "/cloudHsmClusters/privateEndpointConnections/read", "Private Endpoint Connection",
         "Read Private Endpoint Connection", "Gets or lists private endpoint connections."},
        {NS "/cloudHsmClusters/privateEndpointConnections/write", "Private Endpoint Connection",
         "Write Private Endpoint Connection", "Creates or updates a private endpoint connection."},
        {NS "/cloudHsmClusters/privateEndpointConnections/delete", "Private Endpoint Connection",
         "Delete Private Endpoint Connection", "Deletes a private endpoint connection."},
        {NS "/cloudHsmClusters/privateLinkResources/read", "Private Link Resource",
         "Read Private Link Resources", "Lists the private link resources of a cluster."},
        {NS "/operations/read", "Operations", "Read Operations",
         "Lists the provider's operations."},
    };
    cJSON *items = cJSON_CreateArray();
    for (size_t i = 0; i < CHSM_COUNT(ops); i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", ops[i].name);
        cJSON_AddBoolToObject(o, "isDataAction", 0);
        cJSON *d = cJSON_AddObjectToObject(o, "display");
        cJSON_AddStringToObject(d, "provider", "Microsoft Hardware Security Modules");
        cJSON_AddStringToObject(d, "resource", ops[i].resource);
        cJSON_AddStringToObject(d, "operation", ops[i].operation);
        cJSON_AddStringToObject(d, "description", ops[i].description);
        cJSON_AddStringToObject(o, "origin", "user,system");
        cJSON_AddItemToArray(items, o);
    }
    chsm_arm_json(res, 200, chsm_arm_list_body(items, NULL));
}

/* delete_clusters_under drops the HSM state of every cluster in a resource
 * group being deleted (the caller's transaction covers it). */
static int delete_clusters_under(chsm_app *app, const char *prefix)
{
    chsm_resource_query q = {.type = CLUSTER_TYPE};
    chsm_resource *rows = NULL;
    size_t n = 0;
    int rc = chsm_resources_list(app->store, &q, &rows, &n);
    size_t plen = strlen(prefix);
    for (size_t i = 0; rc == CHSM_OK && i < n; i++)
        if (strncasecmp(rows[i].id, prefix, plen) == 0 && rows[i].id[plen] == '/')
            rc = chsm_hsm_cluster_destroy(app, rows[i].id);
    chsm_resources_free(rows, n);
    return rc;
}

static const chsm_state_hooks cloudhsm_hooks = {.delete_under = delete_clusters_under};

static int cloudhsm_init(chsm_app *app)
{
    int hrc = chsm_app_add_state_hooks(app, &cloudhsm_hooks);
    if (hrc != CHSM_OK)
        return hrc;
    static const struct {
        const char *kind;
        chsm_lro_run_fn run;
    } kinds[] = {
        {KIND_PROVISION, run_provision},   {KIND_DELETE, run_delete},
        {KIND_BACKUP, run_backup},         {KIND_VALIDATE_BACKUP, run_validate_backup},
        {KIND_RESTORE, run_restore},       {KIND_VALIDATE_RESTORE, run_validate_restore},
        {KIND_PEC_DELETE, run_pec_delete},
    };
    for (size_t i = 0; i < CHSM_COUNT(kinds); i++) {
        int rc = chsm_lro_register(app->lro, kinds[i].kind, kinds[i].run);
        if (rc != CHSM_OK)
            return rc;
    }
    return CHSM_OK;
}

#define SUBP "/subscriptions/{subscriptionId}"
#define R SUBP "/resourceGroups/{resourceGroupName}/providers/" CLUSTER_TYPE
#define C R "/{cloudHsmClusterName}"
#define V chsm_api_cloudhsm

static const chsm_route routes[] = {
    {"GET", "/providers/" NS "/operations", list_operations, "operations/read", V, 0},
    {"GET", SUBP "/providers/" CLUSTER_TYPE, list_by_sub, "cloudHsmClusters/list", V,
     CHSM_ROUTE_CACHEABLE},
    {"GET", SUBP "/providers/" NS "/locations/{location}/operationResults/{operationId}",
     get_operation_result, "cloudHsmClusters/operationResults/read", V, 0},
    {"GET", R, list_by_rg, "cloudHsmClusters/list", V, CHSM_ROUTE_CACHEABLE},
    {"PUT", C, put_cluster, "cloudHsmClusters/write", V, 0},
    {"GET", C, get_cluster, "cloudHsmClusters/read", V, CHSM_ROUTE_CACHEABLE},
    {"PATCH", C, patch_cluster, "cloudHsmClusters/write", V, 0},
    {"DELETE", C, delete_cluster, "cloudHsmClusters/delete", V, 0},
    {"POST", C "/backup", post_backup, "cloudHsmClusters/backup", V, 0},
    {"POST", C "/validateBackupProperties", post_validate_backup,
     "cloudHsmClusters/validateBackupProperties", V, 0},
    {"POST", C "/restore", post_restore, "cloudHsmClusters/restore", V, 0},
    {"POST", C "/validateRestoreProperties", post_validate_restore,
     "cloudHsmClusters/validateRestoreProperties", V, 0},
    {"GET", C "/backupOperationStatus/{jobId}", get_backup_status,
     "cloudHsmClusters/backupOperationStatus/read", V, 0},
    {"GET", C "/restoreOperationStatus/{jobId}", get_restore_status,
     "cloudHsmClusters/restoreOperationStatus/read", V, 0},
    {"GET", C "/privateEndpointConnections", list_pecs,
     "cloudHsmClusters/privateEndpointConnections/read", V, 0},
    {"GET", C "/privateEndpointConnections/{peConnectionName}", get_pec,
     "cloudHsmClusters/privateEndpointConnections/read", V, 0},
    {"PUT", C "/privateEndpointConnections/{peConnectionName}", put_pec,
     "cloudHsmClusters/privateEndpointConnections/write", V, 0},
    {"DELETE", C "/privateEndpointConnections/{peConnectionName}", delete_pec,
     "cloudHsmClusters/privateEndpointConnections/delete", V, 0},
    {"GET", C "/privateLinkResources", list_private_link_resources,
     "cloudHsmClusters/privateLinkResources/read", V, 0},
};

const chsm_provider chsm_provider_cloudhsm = {NS, routes, CHSM_COUNT(routes), cloudhsm_init};

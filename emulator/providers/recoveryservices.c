/* recoveryservices.c - Microsoft.RecoveryServices vaults and Azure Backup of
 * virtual machines (docs/backup.md): policies, container refresh and
 * protectable items, protection, on-demand backup, jobs, recovery points,
 * restore, stop protection and item deletion.
 *
 * Protect, backup, restore, item deletion and container refresh are
 * long-running operations on arm/lro.h (kinds backup/protect, backup/stop,
 * backup/backupNow, backup/restore, backup/deleteItem,
 * backup/refreshContainers), so --op-duration and QA fault rules apply.
 * Their status is readable through the item's operationsStatus and
 * operationResults and through the vault's backupOperations and
 * backupOperationResults: one operation, several URLs. The confidential VM /
 * customer-managed key check (backup/check.c) runs when the operation
 * completes, as the service does it after answering 202. */
#include "providers/provider.h"
#include "providers/answers.h"

#include "app/app.h"
#include "arm/auth.h"
#include "arm/errors.h"
#include "arm/lro.h"
#include "arm/names.h"
#include "arm/resource.h"
#include "backup/backup.h"
#include "mhsm/mhsm.h"
#include "store/resources.h"
#include "util/json.h"
#include "util/status.h"
#include "util/text.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NS "Microsoft.RecoveryServices"
#define VAULT_TYPE NS "/vaults"
#define POLICY_TYPE NS "/vaults/backupPolicies"
#define ITEM_TYPE NS "/vaults/backupFabrics/protectionContainers/protectedItems"
#define RP_TYPE NS "/vaults/backupFabrics/protectionContainers/protectedItems/recoveryPoints"
#define JOB_TYPE NS "/vaults/backupJobs"

#define KIND_PROTECT "backup/protect"
#define KIND_STOP "backup/stop"
#define KIND_BACKUP "backup/backupNow"
#define KIND_RESTORE "backup/restore"
#define KIND_DELETE_ITEM "backup/deleteItem"
#define KIND_REFRESH "backup/refreshContainers"

#define DAY_MS (86400LL * 1000)

static void iso(int64_t ms, char *out, size_t outlen)
{
    chsm_format_time(ms, out, outlen);
}

static char *vault_id_of(chsm_request *req)
{
    return chsm_arm_resource_id(chsm_request_param(req, "subscriptionId"),
                                chsm_request_param(req, "resourceGroupName"), VAULT_TYPE,
                                chsm_request_param(req, "vaultName"));
}

/* open_vault checks the resource group and vault exist; answers 404 and returns NULL. */
static char *open_vault(chsm_request *req, chsm_response *res, chsm_resource *vault)
{
    const char *sub = chsm_request_param(req, "subscriptionId");
    const char *rg = chsm_request_param(req, "resourceGroupName");
    if (chsm_arm_require_resource_group(req, res, sub, rg))
        return NULL;
    char *id = vault_id_of(req);
    chsm_resource tmp;
    chsm_resource *v = vault ? vault : &tmp;
    int rc = id ? chsm_resources_get(req->app->store, id, v) : CHSM_ENOMEM;
    if (rc == CHSM_ENOTFOUND) {
        chsm_arm_error(res, 404, "ResourceNotFound",
                       "The Resource '" VAULT_TYPE "/%s' under resource group '%s' was not found.",
                       chsm_request_param(req, "vaultName"), rg);
    } else if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
    }
    if (rc != CHSM_OK) {
        free(id);
        return NULL;
    }
    if (!vault)
        chsm_resource_clear(&tmp);
    return id;
}

/* ---- vaults ---- */

static cJSON *policy_doc(const char *vault_id, const char *name, int v2)
{
    cJSON *d = cJSON_CreateObject();
    char id[700];
    snprintf(id, sizeof id, "%s/backupPolicies/%s", vault_id, name);
    cJSON_AddStringToObject(d, "id", id);
    cJSON_AddStringToObject(d, "name", name);
    cJSON_AddStringToObject(d, "type", POLICY_TYPE);
    cJSON *p = cJSON_AddObjectToObject(d, "properties");
    cJSON_AddStringToObject(p, "backupManagementType", "AzureIaasVM");
    cJSON_AddStringToObject(p, "policyType", v2 ? "V2" : "V1");
    cJSON_AddNumberToObject(p, "instantRpRetentionRangeInDays", v2 ? 7 : 2);
    cJSON_AddStringToObject(p, "timeZone", "UTC");
    cJSON_AddNumberToObject(p, "protectedItemsCount", 0);
    cJSON *s = cJSON_AddObjectToObject(p, "schedulePolicy");
    cJSON *times = cJSON_CreateArray();
    cJSON_AddItemToArray(times, cJSON_CreateString("2023-06-01T02:00:00Z"));
    if (v2) {
        cJSON_AddStringToObject(s, "schedulePolicyType", "SimpleSchedulePolicyV2");
        cJSON_AddStringToObject(s, "scheduleRunFrequency", "Daily");
        cJSON *ds = cJSON_AddObjectToObject(s, "dailySchedule");
        cJSON_AddItemToObject(ds, "scheduleRunTimes", times);
    } else {
        cJSON_AddStringToObject(s, "schedulePolicyType", "SimpleSchedulePolicy");
        cJSON_AddStringToObject(s, "scheduleRunFrequency", "Daily");
        cJSON_AddItemToObject(s, "scheduleRunTimes", times);
        cJSON_AddNumberToObject(s, "scheduleWeeklyFrequency", 0);
    }
    cJSON *r = cJSON_AddObjectToObject(p, "retentionPolicy");
    cJSON_AddStringToObject(r, "retentionPolicyType", "LongTermRetentionPolicy");
    cJSON *daily = cJSON_AddObjectToObject(r, "dailySchedule");
    cJSON *rt = cJSON_CreateArray();
    cJSON_AddItemToArray(rt, cJSON_CreateString("2023-06-01T02:00:00Z"));
    cJSON_AddItemToObject(daily, "retentionTimes", rt);
    cJSON *dur = cJSON_AddObjectToObject(daily, "retentionDuration");
    cJSON_AddNumberToObject(dur, "count", 30);
    cJSON_AddStringToObject(dur, "durationType", "Days");
    return d;
}

static int put_policy_doc(chsm_store *s, const char *vault_id, cJSON *doc)
{
    const char *name = chsm_json_str(doc, "name");
    char id[700];
    snprintf(id, sizeof id, "%s/backupPolicies/%s", vault_id, name);
    chsm_resource r = {.id = id,
                       .type = POLICY_TYPE,
                       .name = (char *)name,
                       .parent_id = (char *)vault_id,
                       .body = doc};
    return chsm_resources_put(s, &r);
}

static void put_vault(chsm_request *req, chsm_response *res)
{
    const char *sub = chsm_request_param(req, "subscriptionId");
    const char *rg = chsm_request_param(req, "resourceGroupName");
    const char *name = chsm_request_param(req, "vaultName");
    if (chsm_arm_require_resource_group(req, res, sub, rg) ||
        chsm_arm_check_name(res, "vault", name, 2, 50, "-"))
        return;
    cJSON *in = chsm_arm_body_object(req, res, 1);
    if (!in)
        return;
    const char *location = chsm_json_str(in, "location");
    if (!location || !*location) {
        chsm_arm_error_target(res, 400, "LocationRequired", "location",
                              "The location property is required for this definition.");
        cJSON_Delete(in);
        return;
    }
    if (chsm_arm_check_tags(cJSON_GetObjectItem(in, "tags"), res)) {
        cJSON_Delete(in);
        return;
    }
    char *id = vault_id_of(req);
    chsm_store *s = req->app->store;
    chsm_resource old = {0};
    int rc = chsm_store_begin(s);
    int existed = 0;
    if (rc == CHSM_OK) {
        rc = chsm_resources_get(s, id, &old);
        existed = rc == CHSM_OK;
        if (rc == CHSM_ENOTFOUND)
            rc = CHSM_OK;
    }
    char loc[64];
    size_t n = 0;
    for (const char *c = location; *c && n + 1 < sizeof loc; c++)
        if (*c != ' ')
            loc[n++] = (char)tolower((unsigned char)*c);
    loc[n] = '\0';
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "id", existed ? old.id : id);
    cJSON_AddStringToObject(doc, "name", existed ? chsm_json_str(old.body, "name") : name);
    cJSON_AddStringToObject(doc, "type", VAULT_TYPE);
    cJSON_AddStringToObject(doc, "location", existed ? chsm_json_str(old.body, "location") : loc);
    char etag[48];
    snprintf(etag, sizeof etag, "W/\"datetime'%lld'\"", (long long)chsm_now_ms());
    cJSON_AddStringToObject(doc, "etag", etag);
    const cJSON *tags = cJSON_GetObjectItem(in, "tags");
    cJSON_AddItemToObject(doc, "tags",
                          cJSON_IsObject(tags) ? cJSON_Duplicate(tags, 1) : cJSON_CreateObject());
    cJSON *sku = cJSON_AddObjectToObject(doc, "sku");
    cJSON_AddStringToObject(sku, "name", "RS0");
    cJSON_AddStringToObject(sku, "tier", "Standard");
    const cJSON *ident = chsm_json_obj(in, "identity");
    const char *it = ident ? chsm_json_str(ident, "type") : NULL;
    if (it && !chsm_streq_ci(it, "None")) {
        cJSON *ni = cJSON_Duplicate(ident, 1);
        if (chsm_starts_with_ci(it, "SystemAssigned")) {
            const cJSON *oi = existed ? chsm_json_obj(old.body, "identity") : NULL;
            const char *pid = oi ? chsm_json_str(oi, "principalId") : NULL;
            char fresh[37];
            chsm_uuid(fresh);
            chsm_json_set_str(ni, "principalId", pid ? pid : fresh);
            chsm_json_set_str(ni, "tenantId",
                              req->principal.tid[0] ? req->principal.tid : CHSM_DEFAULT_TENANT);
        }
        cJSON_AddItemToObject(doc, "identity", ni);
    }
    cJSON *p = cJSON_AddObjectToObject(doc, "properties");
    cJSON_AddStringToObject(p, "provisioningState", "Succeeded");
    const cJSON *pin = chsm_json_obj(in, "properties");
    const char *pna = pin ? chsm_json_str(pin, "publicNetworkAccess") : NULL;
    cJSON_AddStringToObject(p, "publicNetworkAccess", pna ? pna : "Enabled");
    cJSON_AddStringToObject(p, "privateEndpointStateForBackup", "None");
    cJSON_AddStringToObject(p, "privateEndpointStateForSiteRecovery", "None");
    cJSON_AddItemToObject(
        doc, "systemData",
        chsm_arm_system_data(req, existed ? chsm_json_obj(old.body, "systemData") : NULL));
    chsm_resource r = {.id = existed ? old.id : id,
                       .type = VAULT_TYPE,
                       .name = (char *)chsm_json_str(doc, "name"),
                       .subscription = (char *)sub,
                       .resource_group = (char *)rg,
                       .body = doc,
                       .created_ms = old.created_ms};
    if (rc == CHSM_OK)
        rc = chsm_resources_put(s, &r);
    if (rc == CHSM_OK && !existed) {
        /* New vaults come with DefaultPolicy (V1) and EnhancedPolicy (V2). */
        cJSON *d1 = policy_doc(id, "DefaultPolicy", 0);
        cJSON *d2 = policy_doc(id, "EnhancedPolicy", 1);
        rc = put_policy_doc(s, id, d1);
        if (rc == CHSM_OK)
            rc = put_policy_doc(s, id, d2);
        cJSON_Delete(d1);
        cJSON_Delete(d2);
    }
    rc = chsm_provider_finish_tx(s, rc);
    if (rc != CHSM_OK) {
        cJSON_Delete(doc);
        chsm_provider_store_error(res, rc);
    } else {
        chsm_arm_json(res, existed ? 200 : 201, doc);
    }
    chsm_resource_clear(&old);
    cJSON_Delete(in);
    free(id);
}

static void get_vault(chsm_request *req, chsm_response *res)
{
    chsm_resource v;
    char *id = open_vault(req, res, &v);
    if (!id)
        return;
    chsm_arm_json(res, 200, v.body);
    v.body = NULL;
    chsm_resource_clear(&v);
    free(id);
}

static void delete_vault(chsm_request *req, chsm_response *res)
{
    const char *sub = chsm_request_param(req, "subscriptionId");
    const char *rg = chsm_request_param(req, "resourceGroupName");
    if (chsm_arm_require_resource_group(req, res, sub, rg))
        return;
    char *id = vault_id_of(req);
    chsm_store *s = req->app->store;
    chsm_resource_query q = {.type = ITEM_TYPE, .parent_id = id, .limit = 1};
    chsm_resource *rows = NULL;
    size_t n = 0;
    int rc = chsm_resources_list(s, &q, &rows, &n);
    chsm_resources_free(rows, n);
    if (rc == CHSM_OK && n > 0) {
        chsm_arm_error(res, 409, "ServiceResourceNotEmpty",
                       "Vault cannot be deleted as there are existing resources within the "
                       "vault. Please delete any replicated items, registered servers, Hyper-V "
                       "sites, and protection containers associated with the vault.");
        free(id);
        return;
    }
    if (rc == CHSM_OK)
        rc = chsm_store_begin(s);
    if (rc == CHSM_OK) {
        rc = chsm_resources_delete_under(s, id, NULL);
        if (rc == CHSM_OK)
            rc = chsm_resources_delete(s, id);
        rc = chsm_provider_finish_tx(s, rc);
    }
    if (rc == CHSM_ENOTFOUND)
        chsm_arm_json(res, 204, NULL);
    else if (rc != CHSM_OK)
        chsm_provider_store_error(res, rc);
    else
        chsm_arm_json(res, 200, NULL);
    free(id);
}

static void list_vaults(chsm_request *req, chsm_response *res)
{
    const char *sub = chsm_request_param(req, "subscriptionId");
    const char *rg = chsm_request_param(req, "resourceGroupName");
    if (rg && chsm_arm_require_resource_group(req, res, sub, rg))
        return;
    chsm_resource_query q = {.type = VAULT_TYPE, .subscription = sub, .resource_group = rg};
    chsm_provider_list_all(req, res, &q);
}

/* ---- policies ---- */

static int count_items_with_policy(chsm_app *app, const char *vault_id, const char *policy_id)
{
    chsm_resource_query q = {.type = ITEM_TYPE, .parent_id = vault_id};
    chsm_resource *rows = NULL;
    size_t n = 0;
    if (chsm_resources_list(app->store, &q, &rows, &n) != CHSM_OK)
        return 0;
    int c = 0;
    for (size_t i = 0; i < n; i++)
        c += chsm_streq_ci(chsm_json_str(chsm_json_obj(rows[i].body, "properties"), "policyId"),
                           policy_id);
    chsm_resources_free(rows, n);
    return c;
}

static cJSON *render_policy(chsm_app *app, const char *vault_id, cJSON *doc)
{
    cJSON *p = chsm_json_obj(doc, "properties");
    if (p)
        chsm_json_set(
            p, "protectedItemsCount",
            cJSON_CreateNumber(count_items_with_policy(app, vault_id, chsm_json_str(doc, "id"))));
    return doc;
}

static void list_policies(chsm_request *req, chsm_response *res)
{
    char *vid = open_vault(req, res, NULL);
    if (!vid)
        return;
    const char *filter = chsm_request_query(req, "$filter");
    chsm_resource_query q = {.type = POLICY_TYPE, .parent_id = vid};
    chsm_resource *rows = NULL;
    size_t n = 0;
    int rc = chsm_resources_list(req->app->store, &q, &rows, &n);
    if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
        free(vid);
        return;
    }
    cJSON *items = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) {
        const char *bmt =
            chsm_json_str(chsm_json_obj(rows[i].body, "properties"), "backupManagementType");
        if (filter && bmt && !strstr(filter, bmt))
            continue;
        cJSON_AddItemToArray(items, render_policy(req->app, vid, rows[i].body));
        rows[i].body = NULL;
    }
    chsm_resources_free(rows, n);
    chsm_arm_json(res, 200, chsm_arm_list_body(items, NULL));
    free(vid);
}

static char *policy_id_of(const char *vault_id, const char *name)
{
    size_t n = strlen(vault_id) + strlen(name) + 20;
    char *id = malloc(n);
    if (id)
        snprintf(id, n, "%s/backupPolicies/%s", vault_id, name);
    return id;
}

static void get_policy(chsm_request *req, chsm_response *res)
{
    char *vid = open_vault(req, res, NULL);
    if (!vid)
        return;
    const char *name = chsm_request_param(req, "policyName");
    char *pid = policy_id_of(vid, name);
    chsm_resource r;
    int rc = pid ? chsm_resources_get(req->app->store, pid, &r) : CHSM_ENOMEM;
    if (rc == CHSM_ENOTFOUND)
        chsm_arm_error(res, 404, "BMSUserErrorPolicyNotFound",
                       "The policy '%.100s' was not found in the vault.", name);
    else if (rc != CHSM_OK)
        chsm_provider_store_error(res, rc);
    else {
        chsm_arm_json(res, 200, render_policy(req->app, vid, r.body));
        r.body = NULL;
        chsm_resource_clear(&r);
    }
    free(pid);
    free(vid);
}

static void put_policy(chsm_request *req, chsm_response *res)
{
    char *vid = open_vault(req, res, NULL);
    if (!vid)
        return;
    const char *name = chsm_request_param(req, "policyName");
    cJSON *in = chsm_arm_body_object(req, res, 1);
    if (!in || chsm_arm_check_name(res, "policy", name, 3, 150, "-_")) {
        cJSON_Delete(in);
        free(vid);
        return;
    }
    const cJSON *p = chsm_json_obj(in, "properties");
    const char *bmt = p ? chsm_json_str(p, "backupManagementType") : NULL;
    const char *ptype = p ? chsm_json_str(p, "policyType") : NULL;
    const cJSON *sp = p ? chsm_json_obj(p, "schedulePolicy") : NULL;
    const char *spt = sp ? chsm_json_str(sp, "schedulePolicyType") : NULL;
    const char *err = NULL;
    if (!p)
        err = "'properties' is required.";
    else if (!bmt || !chsm_streq_ci(bmt, "AzureIaasVM"))
        err = "The emulator supports backupManagementType AzureIaasVM policies only.";
    else if (ptype && !chsm_streq_ci(ptype, "V1") && !chsm_streq_ci(ptype, "V2"))
        err = "policyType must be V1 or V2.";
    else if (!sp || !spt)
        err = "'properties.schedulePolicy.schedulePolicyType' is required.";
    else if (chsm_streq_ci(spt, "SimpleSchedulePolicyV2") != (ptype && chsm_streq_ci(ptype, "V2")))
        err = "An Enhanced policy (policyType V2) needs schedulePolicyType SimpleSchedulePolicyV2, "
              "and SimpleSchedulePolicyV2 needs policyType V2.";
    else if (!cJSON_IsObject(chsm_json_obj(p, "retentionPolicy")))
        err = "'properties.retentionPolicy' is required.";
    if (err) {
        chsm_arm_error(res, 400, "BMSUserErrorInvalidPolicyInput", "%s", err);
        cJSON_Delete(in);
        free(vid);
        return;
    }
    char *pid = policy_id_of(vid, name);
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "id", pid);
    cJSON_AddStringToObject(doc, "name", name);
    cJSON_AddStringToObject(doc, "type", POLICY_TYPE);
    cJSON *np = cJSON_Duplicate(p, 1);
    chsm_json_set_str(np, "backupManagementType", "AzureIaasVM");
    chsm_json_set_str(np, "policyType", ptype && chsm_streq_ci(ptype, "V2") ? "V2" : "V1");
    if (!cJSON_GetObjectItem(np, "timeZone"))
        cJSON_AddStringToObject(np, "timeZone", "UTC");
    cJSON_AddItemToObject(doc, "properties", np);
    int rc = put_policy_doc(req->app->store, vid, doc);
    if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
        cJSON_Delete(doc);
    } else {
        chsm_arm_json(res, 200, render_policy(req->app, vid, doc));
    }
    free(pid);
    cJSON_Delete(in);
    free(vid);
}

static void delete_policy(chsm_request *req, chsm_response *res)
{
    char *vid = open_vault(req, res, NULL);
    if (!vid)
        return;
    char *pid = policy_id_of(vid, chsm_request_param(req, "policyName"));
    if (pid && count_items_with_policy(req->app, vid, pid) > 0) {
        chsm_arm_error(res, 400, "BMSUserErrorPolicyInUse",
                       "The policy is used by protected items; stop their protection first.");
    } else {
        int rc = pid ? chsm_resources_delete(req->app->store, pid) : CHSM_ENOMEM;
        if (rc == CHSM_ENOTFOUND)
            chsm_arm_json(res, 204, NULL);
        else if (rc != CHSM_OK)
            chsm_provider_store_error(res, rc);
        else
            chsm_arm_json(res, 200, NULL);
    }
    free(pid);
    free(vid);
}

/* ---- operations: one state, four URLs ---- */

static int is_backup_kind(const char *kind)
{
    return strncmp(kind, "backup/", 7) == 0;
}

/* load_op loads a backup operation of this vault (resource_id under it). */
static int load_op(chsm_request *req, const char *vault_id, const char *opid, chsm_op *op)
{
    int rc = opid && strlen(opid) == 32 ? chsm_lro_get(req->app, opid, op) : CHSM_ENOTFOUND;
    if (rc == CHSM_OK && (!is_backup_kind(op->kind) || !op->resource_id ||
                          !chsm_starts_with_ci(op->resource_id, vault_id))) {
        chsm_op_clear(op);
        rc = CHSM_ENOTFOUND;
    }
    return rc;
}

static cJSON *operation_status(const chsm_op *op)
{
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "id", op->id);
    cJSON_AddStringToObject(b, "name", op->id);
    cJSON_AddStringToObject(b, "status", op->status);
    char t[40];
    iso(op->start_ms, t, sizeof t);
    cJSON_AddStringToObject(b, "startTime", t);
    if (op->end_ms) {
        iso(op->end_ms, t, sizeof t);
        cJSON_AddStringToObject(b, "endTime", t);
    }
    if (op->error_code)
        cJSON_AddItemToObject(
            b, "error",
            chsm_arm_error_detail(op->error_code, op->error_message ? op->error_message : ""));
    const char *job = op->result ? chsm_json_str(op->result, "jobId") : NULL;
    if (job) {
        cJSON *p = cJSON_AddObjectToObject(b, "properties");
        cJSON_AddStringToObject(p, "objectType", "OperationStatusJobExtendedInfo");
        cJSON_AddStringToObject(p, "jobId", job);
    } else {
        cJSON_AddNullToObject(b, "properties");
    }
    return b;
}

/* load_requested_op loads the vault's {operationId} operation; answers 404/500 (nonzero). */
static int load_requested_op(chsm_request *req, chsm_response *res, const char *vault_id,
                             chsm_op *op)
{
    int rc = load_op(req, vault_id, chsm_request_param(req, "operationId"), op);
    if (rc == CHSM_ENOTFOUND)
        chsm_arm_error(res, 404, "BMSUserErrorOperationNotFound", "The operation was not found.");
    else if (rc != CHSM_OK)
        chsm_provider_store_error(res, rc);
    return rc != CHSM_OK;
}

/* op_answer answers a request about the operation of vault vault_id. */
typedef void (*op_answer)(chsm_request *req, chsm_response *res, const char *vault_id);

static void answer_status(chsm_request *req, chsm_response *res, const char *vault_id)
{
    chsm_op op;
    if (load_requested_op(req, res, vault_id, &op))
        return;
    chsm_arm_json(res, 200, operation_status(&op));
    chsm_op_clear(&op);
}

/* answer_result: 202 + Location while running; then the item (protect,
 * 200), nothing (204), or the operation's error. */
static void answer_result(chsm_request *req, chsm_response *res, const char *vault_id)
{
    chsm_op op;
    if (load_requested_op(req, res, vault_id, &op))
        return;
    if (strcmp(op.status, CHSM_OP_IN_PROGRESS) == 0) {
        char *url = chsm_arm_abs_url(req, req->raw_path);
        if (url)
            chsm_response_header(res, "Location", url, 1);
        free(url);
        chsm_response_header(res, "Retry-After", "1", 1);
        chsm_arm_json(res, 202, NULL);
    } else if (strcmp(op.status, CHSM_OP_FAILED) == 0) {
        chsm_arm_error(res, 400, op.error_code ? op.error_code : "OperationFailed", "%s",
                       op.error_message ? op.error_message : "The operation failed.");
    } else if (strcmp(op.kind, KIND_PROTECT) == 0 || strcmp(op.kind, KIND_STOP) == 0) {
        chsm_resource item;
        if (chsm_resources_get(req->app->store, op.resource_id, &item) == CHSM_OK) {
            chsm_arm_json(res, 200, item.body);
            item.body = NULL;
            chsm_resource_clear(&item);
        } else {
            chsm_arm_json(res, 204, NULL);
        }
    } else {
        chsm_arm_json(res, 204, NULL);
    }
    chsm_op_clear(&op);
}

/* vault_op_answer opens the vault and answers about one of its operations. */
static void vault_op_answer(chsm_request *req, chsm_response *res, op_answer answer)
{
    char *vid = open_vault(req, res, NULL);
    if (vid)
        answer(req, res, vid);
    free(vid);
}

static void vault_op_status(chsm_request *req, chsm_response *res)
{
    vault_op_answer(req, res, answer_status);
}

static void vault_op_result(chsm_request *req, chsm_response *res)
{
    vault_op_answer(req, res, answer_result);
}

/* accepted answers 202 with the item's (or the vault's) operation URLs. */
static void accepted(chsm_request *req, chsm_response *res, const char *base, const char *opid,
                     int vault_style)
{
    char path[1200];
    snprintf(path, sizeof path,
             vault_style ? "%s/backupOperationResults/%s" : "%s/operationResults/%s", base, opid);
    char *loc = chsm_arm_abs_url(req, path);
    snprintf(path, sizeof path, vault_style ? "%s/backupOperations/%s" : "%s/operationsStatus/%s",
             base, opid);
    char *async = chsm_arm_abs_url(req, path);
    chsm_arm_json(res, 202, NULL);
    if (loc)
        chsm_response_header(res, "Location", loc, 1);
    if (async)
        chsm_response_header(res, "Azure-AsyncOperation", async, 1);
    chsm_response_header(res, "Retry-After", "1", 1);
    free(loc);
    free(async);
}

/* ---- discovery ---- */

static void refresh_containers(chsm_request *req, chsm_response *res)
{
    char *vid = open_vault(req, res, NULL);
    if (!vid)
        return;
    if (!chsm_streq_ci(chsm_request_param(req, "fabricName"), "Azure")) {
        chsm_arm_error(res, 400, "BMSUserErrorInvalidInput", "The fabric must be 'Azure'.");
        free(vid);
        return;
    }
    chsm_op op;
    int rc = chsm_lro_begin(req->app, KIND_REFRESH, vid, NULL, &op);
    if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
    } else {
        char path[1000];
        snprintf(path, sizeof path, "%s/backupFabrics/Azure/operationResults/%s", vid, op.id);
        char *url = chsm_arm_abs_url(req, path);
        chsm_arm_json(res, 202, NULL);
        if (url)
            chsm_response_header(res, "Location", url, 1);
        chsm_response_header(res, "Retry-After", "1", 1);
        free(url);
        chsm_op_clear(&op);
    }
    free(vid);
}

static void fabric_op_result(chsm_request *req, chsm_response *res)
{
    vault_op_result(req, res);
}

static void item_names(const char *rg, const char *vm, char *container, size_t clen, char *item,
                       size_t ilen)
{
    snprintf(container, clen, "IaasVMContainer;iaasvmcontainerv2;%s;%s", rg, vm);
    snprintf(item, ilen, "VM;iaasvmcontainerv2;%s;%s", rg, vm);
}

static void list_protectable(chsm_request *req, chsm_response *res)
{
    chsm_resource vault;
    char *vid = open_vault(req, res, &vault);
    if (!vid)
        return;
    const char *vloc = chsm_json_str(vault.body, "location");
    chsm_resource_query q = {.type = "Microsoft.Compute/virtualMachines",
                             .subscription = chsm_request_param(req, "subscriptionId")};
    chsm_resource *rows = NULL;
    size_t n = 0;
    int rc = chsm_resources_list(req->app->store, &q, &rows, &n);
    if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
        chsm_resource_clear(&vault);
        free(vid);
        return;
    }
    cJSON *items = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) {
        const char *loc = chsm_json_str(rows[i].body, "location");
        if (vloc && loc && !chsm_streq_ci(vloc, loc))
            continue; /* only VMs in the vault's region */
        const char *rg = rows[i].resource_group ? rows[i].resource_group : "";
        char container[300], item[300], id[1500];
        item_names(rg, rows[i].name, container, sizeof container, item, sizeof item);
        char iid[1500];
        snprintf(iid, sizeof iid,
                 "%s/backupFabrics/Azure/protectionContainers/%s/protectedItems/%s", vid, container,
                 item);
        int protected_ = chsm_resources_exists(req->app->store, iid) == 1;
        snprintf(id, sizeof id,
                 "%s/backupFabrics/Azure/protectionContainers/%s/protectableItems/%s", vid,
                 container, item);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", id);
        cJSON_AddStringToObject(o, "name", item + 3);
        cJSON_AddStringToObject(o, "type",
                                NS "/vaults/backupFabrics/protectionContainers/protectableItems");
        cJSON *p = cJSON_AddObjectToObject(o, "properties");
        cJSON_AddStringToObject(p, "protectableItemType", "Microsoft.Compute/virtualMachines");
        cJSON_AddStringToObject(p, "backupManagementType", "AzureIaasVM");
        cJSON_AddStringToObject(p, "workloadType", "VM");
        cJSON_AddStringToObject(p, "friendlyName", rows[i].name);
        cJSON_AddStringToObject(p, "virtualMachineId", rows[i].id);
        cJSON_AddStringToObject(p, "virtualMachineVersion", "Compute");
        cJSON_AddStringToObject(p, "resourceGroup", rg);
        cJSON_AddStringToObject(p, "protectionState", protected_ ? "Protected" : "NotProtected");
        cJSON_AddItemToArray(items, o);
    }
    chsm_resources_free(rows, n);
    chsm_arm_json(res, 200, chsm_arm_list_body(items, NULL));
    chsm_resource_clear(&vault);
    free(vid);
}

/* ---- protected items ---- */

static char *item_id_of(const char *vault_id, const char *container, const char *item)
{
    size_t n = strlen(vault_id) + strlen(container) + strlen(item) + 80;
    char *id = malloc(n);
    if (id)
        snprintf(id, n, "%s/backupFabrics/Azure/protectionContainers/%s/protectedItems/%s",
                 vault_id, container, item);
    return id;
}

/* item_params opens the vault and builds the item id; answers 400/404. */
static char *item_params(chsm_request *req, chsm_response *res, char **vid)
{
    *vid = open_vault(req, res, NULL);
    if (!*vid)
        return NULL;
    const char *fabric = chsm_request_param(req, "fabricName");
    const char *container = chsm_request_param(req, "containerName");
    const char *item = chsm_request_param(req, "protectedItemName");
    if (!chsm_streq_ci(fabric, "Azure") || !chsm_starts_with_ci(container, "IaasVMContainer;") ||
        !chsm_starts_with_ci(item, "VM;")) {
        chsm_arm_error(res, 400, "BMSUserErrorInvalidInput",
                       "The emulator protects Azure VMs only: fabric 'Azure', container "
                       "'IaasVMContainer;iaasvmcontainerv2;{rg};{vm}', item "
                       "'VM;iaasvmcontainerv2;{rg};{vm}'.");
        free(*vid);
        *vid = NULL;
        return NULL;
    }
    return item_id_of(*vid, container, item);
}

static void get_item(chsm_request *req, chsm_response *res)
{
    char *vid;
    char *iid = item_params(req, res, &vid);
    if (!iid)
        return;
    chsm_resource r;
    int rc = chsm_resources_get(req->app->store, iid, &r);
    if (rc == CHSM_ENOTFOUND)
        chsm_arm_error(res, 404, "BMSUserErrorProtectedItemNotFound",
                       "The protected item was not found.");
    else if (rc != CHSM_OK)
        chsm_provider_store_error(res, rc);
    else {
        chsm_arm_json(res, 200, r.body);
        r.body = NULL;
        chsm_resource_clear(&r);
    }
    free(iid);
    free(vid);
}

static void list_items(chsm_request *req, chsm_response *res)
{
    char *vid = open_vault(req, res, NULL);
    if (!vid)
        return;
    chsm_resource_query q = {.type = ITEM_TYPE, .parent_id = vid};
    chsm_provider_list_all(req, res, &q);
    free(vid);
}

static void put_item(chsm_request *req, chsm_response *res)
{
    char *vid;
    char *iid = item_params(req, res, &vid);
    if (!iid)
        return;
    cJSON *in = chsm_arm_body_object(req, res, 1);
    chsm_resource existing = {0};
    if (!in)
        goto out;
    const cJSON *p = chsm_json_obj(in, "properties");
    const char *src = p ? chsm_json_str(p, "sourceResourceId") : NULL;
    const cJSON *pol_item = p ? cJSON_GetObjectItem(p, "policyId") : NULL;
    const char *policy = cJSON_GetStringValue(pol_item);
    const char *state = p ? chsm_json_str(p, "protectionState") : NULL;
    const char *pit = p ? chsm_json_str(p, "protectedItemType") : NULL;
    int exists = chsm_resources_get(req->app->store, iid, &existing) == CHSM_OK;
    int stop =
        exists && ((state && chsm_streq_ci(state, "ProtectionStopped")) || (policy && !*policy));
    if (!p) {
        chsm_arm_error(res, 400, "UserErrorInvalidRequestParameter",
                       "Parameter properties in request is invalid.");
        goto out;
    }
    if (pit && !chsm_streq_ci(pit, "Microsoft.Compute/virtualMachines")) {
        chsm_arm_error(res, 400, "UserErrorInvalidRequestParameter",
                       "Parameter protectedItemType in request is invalid: the emulator protects "
                       "Microsoft.Compute/virtualMachines.");
        goto out;
    }
    cJSON *params = cJSON_CreateObject();
    cJSON_AddStringToObject(params, "vaultId", vid);
    if (!stop) {
        if (!src && exists)
            src = chsm_json_str(chsm_json_obj(existing.body, "properties"), "sourceResourceId");
        if (!src || !policy || !*policy) {
            cJSON_Delete(params);
            chsm_arm_error(res, 400, "UserErrorInvalidRequestParameter",
                           "Parameter %s in request is invalid.",
                           !src ? "sourceResourceId" : "policyId");
            goto out;
        }
        int vm_exists = chsm_resources_exists(req->app->store, src);
        int pol_exists = chsm_resources_exists(req->app->store, policy);
        if (vm_exists != 1 || pol_exists != 1 || !chsm_starts_with_ci(policy, vid)) {
            cJSON_Delete(params);
            if (vm_exists != 1)
                chsm_arm_error(res, 400, "BMSUserErrorInvalidSourceResourceId",
                               "The virtual machine '%.300s' was not found.", src);
            else
                chsm_arm_error(res, 400, "BMSUserErrorPolicyNotFound",
                               "The policy '%.300s' was not found in this vault.", policy);
            goto out;
        }
        cJSON_AddStringToObject(params, "sourceResourceId", src);
        cJSON_AddStringToObject(params, "policyId", policy);
        const cJSON *ext = chsm_json_obj(p, "extendedProperties");
        if (ext)
            cJSON_AddItemToObject(params, "extendedProperties", cJSON_Duplicate(ext, 1));
    }
    cJSON_AddStringToObject(params, "containerName", chsm_request_param(req, "containerName"));
    cJSON_AddStringToObject(params, "itemName", chsm_request_param(req, "protectedItemName"));
    chsm_op op;
    int rc = chsm_lro_begin(req->app, stop ? KIND_STOP : KIND_PROTECT, iid, params, &op);
    if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
    } else {
        accepted(req, res, iid, op.id, 0);
        chsm_op_clear(&op);
    }
out:
    chsm_resource_clear(&existing);
    cJSON_Delete(in);
    free(iid);
    free(vid);
}

static void delete_item(chsm_request *req, chsm_response *res)
{
    char *vid;
    char *iid = item_params(req, res, &vid);
    if (!iid)
        return;
    int exists = chsm_resources_exists(req->app->store, iid);
    if (exists != 1) {
        if (exists == 0)
            chsm_arm_json(res, 204, NULL);
        else
            chsm_provider_store_error(res, exists);
    } else {
        cJSON *params = cJSON_CreateObject();
        cJSON_AddStringToObject(params, "vaultId", vid);
        chsm_op op;
        int rc = chsm_lro_begin(req->app, KIND_DELETE_ITEM, iid, params, &op);
        if (rc != CHSM_OK)
            chsm_provider_store_error(res, rc);
        else {
            accepted(req, res, vid, op.id, 1);
            chsm_op_clear(&op);
        }
    }
    free(iid);
    free(vid);
}

/* item_op_answer checks the item's path (vault, container, item) and answers about one of
 * the vault's operations. */
static void item_op_answer(chsm_request *req, chsm_response *res, op_answer answer)
{
    char *vid;
    char *iid = item_params(req, res, &vid);
    if (!iid)
        return;
    answer(req, res, vid);
    free(iid);
    free(vid);
}

static void item_op_status(chsm_request *req, chsm_response *res)
{
    item_op_answer(req, res, answer_status);
}

static void item_op_result(chsm_request *req, chsm_response *res)
{
    item_op_answer(req, res, answer_result);
}

static void backup_now(chsm_request *req, chsm_response *res)
{
    char *vid;
    char *iid = item_params(req, res, &vid);
    if (!iid)
        return;
    cJSON *in = chsm_arm_body_object(req, res, 0);
    chsm_resource item = {0};
    int rc = in ? chsm_resources_get(req->app->store, iid, &item) : CHSM_EINVAL;
    if (!in)
        goto out;
    if (rc == CHSM_ENOTFOUND) {
        chsm_arm_error(res, 404, "BMSUserErrorProtectedItemNotFound",
                       "The protected item was not found.");
        goto out;
    }
    if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
        goto out;
    }
    const char *state = chsm_json_str(chsm_json_obj(item.body, "properties"), "protectionState");
    if (state && chsm_streq_ci(state, "ProtectionStopped")) {
        chsm_arm_error(res, 400, "UserErrorBackupOperationInProgressOrNotAllowed",
                       "Protection of this item is stopped: backups are not allowed.");
        goto out;
    }
    const cJSON *p = chsm_json_obj(in, "properties");
    const char *ot = p ? chsm_json_str(p, "objectType") : NULL;
    if (ot && !chsm_streq_ci(ot, "IaasVMBackupRequest")) {
        chsm_arm_error(res, 400, "UserErrorInvalidRequestParameter",
                       "Parameter objectType in request is invalid: use IaasVMBackupRequest.");
        goto out;
    }
    cJSON *params = cJSON_CreateObject();
    cJSON_AddStringToObject(params, "vaultId", vid);
    const char *expiry = p ? chsm_json_str(p, "recoveryPointExpiryTimeInUTC") : NULL;
    if (expiry)
        cJSON_AddStringToObject(params, "expiry", expiry);
    chsm_op op;
    rc = chsm_lro_begin(req->app, KIND_BACKUP, iid, params, &op);
    if (rc != CHSM_OK)
        chsm_provider_store_error(res, rc);
    else {
        accepted(req, res, iid, op.id, 0);
        chsm_op_clear(&op);
    }
out:
    chsm_resource_clear(&item);
    cJSON_Delete(in);
    free(iid);
    free(vid);
}

/* ---- jobs ---- */

static void duration(int64_t ms, char *out, size_t outlen)
{
    snprintf(out, outlen, "PT%lld.%03lldS", (long long)(ms / 1000), (long long)(ms % 1000));
}

/* make_job stores a job of the vault and writes its id. */
static int make_job(chsm_app *app, const char *vault_id, const char *operation, const char *status,
                    const char *vm_name, const char *container, int64_t start_ms,
                    const char *error_code, const char *error_message, cJSON *property_bag,
                    char job_id[37])
{
    chsm_uuid(job_id);
    int64_t end_ms = chsm_now_ms();
    char id[800], t[40], d[40], activity[37];
    snprintf(id, sizeof id, "%s/backupJobs/%s", vault_id, job_id);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "id", id);
    cJSON_AddStringToObject(j, "name", job_id);
    cJSON_AddStringToObject(j, "type", JOB_TYPE);
    cJSON *p = cJSON_AddObjectToObject(j, "properties");
    cJSON_AddStringToObject(p, "jobType", "AzureIaaSVMJob");
    cJSON_AddStringToObject(p, "entityFriendlyName", vm_name ? vm_name : "");
    cJSON_AddStringToObject(p, "backupManagementType", "AzureIaasVM");
    cJSON_AddStringToObject(p, "operation", operation);
    cJSON_AddStringToObject(p, "status", status);
    iso(start_ms, t, sizeof t);
    cJSON_AddStringToObject(p, "startTime", t);
    iso(end_ms, t, sizeof t);
    cJSON_AddStringToObject(p, "endTime", t);
    chsm_uuid(activity);
    cJSON_AddStringToObject(p, "activityId", activity);
    duration(end_ms - start_ms, d, sizeof d);
    cJSON_AddStringToObject(p, "duration", d);
    cJSON_AddStringToObject(p, "virtualMachineVersion", "Compute");
    if (container)
        cJSON_AddStringToObject(p, "containerName", container);
    cJSON_AddBoolToObject(p, "isUserTriggered", 1);
    cJSON_AddItemToObject(p, "actionsInfo", cJSON_CreateArray());
    if (error_code) {
        cJSON *errs = cJSON_AddArrayToObject(p, "errorDetails");
        cJSON *e = cJSON_CreateObject();
        /* errorCode is an integer in the spec; the service's numbers are not published. */
        cJSON_AddNumberToObject(e, "errorCode", 400);
        cJSON_AddStringToObject(e, "errorTitle", error_code);
        cJSON_AddStringToObject(e, "errorString", error_message ? error_message : "");
        cJSON *rec = cJSON_AddArrayToObject(e, "recommendations");
        cJSON_AddItemToArray(
            rec, cJSON_CreateString("Grant the Backup Management Service the Managed HSM Crypto "
                                    "User role (or a role with keys/read/action and "
                                    "keys/backup/action) on the key, then retry."));
        cJSON_AddItemToArray(errs, e);
    }
    cJSON *ext = cJSON_AddObjectToObject(p, "extendedInfo");
    cJSON *tasks = cJSON_AddArrayToObject(ext, "tasksList");
    if (strcmp(operation, "Backup") == 0) {
        static const char *const names[] = {"Take Snapshot", "Transfer data to vault"};
        for (int i = 0; i < 2; i++) {
            cJSON *task = cJSON_CreateObject();
            cJSON_AddStringToObject(task, "taskId", names[i]);
            cJSON_AddStringToObject(task, "status",
                                    error_code ? (i ? "NotStarted" : "Failed") : "Completed");
            cJSON_AddStringToObject(task, "duration", d);
            cJSON_AddItemToArray(tasks, task);
        }
    }
    cJSON *bag = property_bag ? property_bag : cJSON_CreateObject();
    cJSON_AddStringToObject(bag, "VM Name", vm_name ? vm_name : "");
    cJSON_AddItemToObject(ext, "propertyBag", bag);
    cJSON_AddNumberToObject(ext, "progressPercentage", 100);
    if (error_message)
        cJSON_AddStringToObject(ext, "dynamicErrorMessage", error_message);
    chsm_resource r = {
        .id = id, .type = JOB_TYPE, .name = job_id, .parent_id = (char *)vault_id, .body = j};
    int rc = chsm_resources_put(app->store, &r);
    cJSON_Delete(j);
    return rc;
}

static int job_cmp(const void *a, const void *b)
{
    const cJSON *ja = *(const cJSON *const *)a, *jb = *(const cJSON *const *)b;
    const char *sa = chsm_json_str(chsm_json_obj(ja, "properties"), "startTime");
    const char *sb = chsm_json_str(chsm_json_obj(jb, "properties"), "startTime");
    return strcmp(sb ? sb : "", sa ? sa : ""); /* newest first */
}

/* parse_filter_time reads "2023-06-01T10:00:00Z", "2023-06-01 10:00:00" or
 * az's "2023-06-01 10:00:00 AM" as ms since the epoch; -1 when it is none. */
static int64_t parse_filter_time(const char *s)
{
    int y, mo, d, h = 0, mi = 0, sec = 0;
    char sep = 0;
    if (sscanf(s, "%d-%d-%d%c%d:%d:%d", &y, &mo, &d, &sep, &h, &mi, &sec) < 3)
        return -1;
    if (strstr(s, "PM") && h < 12)
        h += 12;
    if (strstr(s, "AM") && h == 12)
        h = 0;
    struct tm tmv = {0};
    tmv.tm_year = y - 1900;
    tmv.tm_mon = mo - 1;
    tmv.tm_mday = d;
    tmv.tm_hour = h;
    tmv.tm_min = mi;
    tmv.tm_sec = sec;
    return (int64_t)timegm(&tmv) * 1000;
}

static int64_t parse_iso_ms(const char *s)
{
    return s ? parse_filter_time(s) : -1;
}

typedef struct job_filter {
    char operation[128], status[128], bmt[128];
    int64_t start, end;
} job_filter;

/* parse_job_filter reads "k eq 'v' and ..."; returns 0, or 1 for an unsupported clause. */
static int parse_job_filter(const char *f, job_filter *out)
{
    memset(out, 0, sizeof *out);
    out->start = out->end = -1;
    if (!f)
        return 0;
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", f);
    char *p = buf;
    while (*p) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        char key[48], val[128];
        int n = 0;
        if (sscanf(p, "%47s eq %n", key, &n) != 1 || n == 0)
            return 1;
        p += n;
        if (*p == '\'') {
            char *end = strchr(p + 1, '\'');
            if (!end)
                return 1;
            snprintf(val, sizeof val, "%.*s", (int)(end - p - 1), p + 1);
            p = end + 1;
        } else {
            size_t len = strcspn(p, " ");
            snprintf(val, sizeof val, "%.*s", (int)len, p);
            p += len;
        }
        if (chsm_streq_ci(key, "operation"))
            snprintf(out->operation, sizeof out->operation, "%s", val);
        else if (chsm_streq_ci(key, "status"))
            snprintf(out->status, sizeof out->status, "%s", val);
        else if (chsm_streq_ci(key, "backupManagementType"))
            snprintf(out->bmt, sizeof out->bmt, "%s", val);
        else if (chsm_streq_ci(key, "startTime"))
            out->start = parse_filter_time(val);
        else if (chsm_streq_ci(key, "endTime"))
            out->end = parse_filter_time(val);
        else
            return 1;
        while (*p == ' ')
            p++;
        if (chsm_starts_with_ci(p, "and "))
            p += 4;
        else if (*p)
            return 1;
    }
    return 0;
}

static int job_matches(const cJSON *job, const job_filter *f)
{
    const cJSON *p = chsm_json_obj(job, "properties");
    if (f->operation[0] && !chsm_streq_ci(chsm_json_str(p, "operation"), f->operation))
        return 0;
    if (f->status[0] && !chsm_streq_ci(chsm_json_str(p, "status"), f->status))
        return 0;
    if (f->bmt[0] && !chsm_streq_ci(chsm_json_str(p, "backupManagementType"), f->bmt))
        return 0;
    int64_t start = parse_iso_ms(chsm_json_str(p, "startTime"));
    if (f->start >= 0 && start >= 0 && start < f->start)
        return 0;
    if (f->end >= 0 && start >= 0 && start > f->end)
        return 0;
    return 1;
}

static void list_jobs(chsm_request *req, chsm_response *res)
{
    char *vid = open_vault(req, res, NULL);
    if (!vid)
        return;
    job_filter f;
    const char *filter = chsm_request_query(req, "$filter");
    if (parse_job_filter(filter, &f)) {
        chsm_arm_error(res, 400, "BMSUserErrorInvalidInput",
                       "The filter '%.200s' is not supported: use operation, status, "
                       "backupManagementType, startTime and endTime with 'eq' and 'and'.",
                       filter);
        free(vid);
        return;
    }
    chsm_resource_query q = {.type = JOB_TYPE, .parent_id = vid};
    chsm_resource *rows = NULL;
    size_t n = 0;
    int rc = chsm_resources_list(req->app->store, &q, &rows, &n);
    if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
        free(vid);
        return;
    }
    cJSON **jobs = calloc(n ? n : 1, sizeof *jobs);
    size_t m = 0;
    for (size_t i = 0; jobs && i < n; i++) {
        if (job_matches(rows[i].body, &f)) {
            jobs[m++] = rows[i].body;
            rows[i].body = NULL;
        }
    }
    if (m > 1)
        qsort(jobs, m, sizeof *jobs, job_cmp);
    cJSON *items = cJSON_CreateArray();
    for (size_t i = 0; i < m; i++)
        cJSON_AddItemToArray(items, jobs[i]);
    free(jobs);
    chsm_resources_free(rows, n);
    chsm_arm_json(res, 200, chsm_arm_list_body(items, NULL));
    free(vid);
}

/* load_requested_job opens the vault and loads its {jobName} job into r; answers 404/500
 * (nonzero). */
static int load_requested_job(chsm_request *req, chsm_response *res, chsm_resource *r)
{
    char *vid = open_vault(req, res, NULL);
    if (!vid)
        return 1;
    char id[800];
    snprintf(id, sizeof id, "%s/backupJobs/%s", vid, chsm_request_param(req, "jobName"));
    free(vid);
    int rc = chsm_resources_get(req->app->store, id, r);
    if (rc == CHSM_ENOTFOUND)
        chsm_arm_error(res, 404, "BMSUserErrorJobNotFound", "The job was not found.");
    else if (rc != CHSM_OK)
        chsm_provider_store_error(res, rc);
    return rc != CHSM_OK;
}

static void get_job(chsm_request *req, chsm_response *res)
{
    chsm_resource r;
    if (load_requested_job(req, res, &r))
        return;
    chsm_arm_json(res, 200, r.body);
    r.body = NULL;
    chsm_resource_clear(&r);
}

static void cancel_job(chsm_request *req, chsm_response *res)
{
    chsm_resource r;
    if (load_requested_job(req, res, &r))
        return;
    /* Jobs are recorded when their operation completes, so none is still running. */
    chsm_arm_error(res, 400, "BMSUserErrorJobNotCancellable",
                   "The job cannot be cancelled: it has status %s.",
                   chsm_json_str(chsm_json_obj(r.body, "properties"), "status"));
    chsm_resource_clear(&r);
}

/* ---- recovery points and restore ---- */

static void list_rps(chsm_request *req, chsm_response *res)
{
    char *vid;
    char *iid = item_params(req, res, &vid);
    if (!iid)
        return;
    int exists = chsm_resources_exists(req->app->store, iid);
    if (exists != 1) {
        if (exists == 0)
            chsm_arm_error(res, 404, "BMSUserErrorProtectedItemNotFound",
                           "The protected item was not found.");
        else
            chsm_provider_store_error(res, exists);
    } else {
        chsm_resource_query q = {.type = RP_TYPE, .parent_id = iid};
        chsm_resource *rows = NULL;
        size_t n = 0;
        int rc = chsm_resources_list(req->app->store, &q, &rows, &n);
        if (rc != CHSM_OK) {
            chsm_provider_store_error(res, rc);
        } else {
            cJSON *items = cJSON_CreateArray();
            for (size_t i = n; i-- > 0;) {
                cJSON_DeleteItemFromObject(rows[i].body, "_vm");
                cJSON_AddItemToArray(items, rows[i].body);
                rows[i].body = NULL;
            }
            chsm_resources_free(rows, n);
            chsm_arm_json(res, 200, chsm_arm_list_body(items, NULL));
        }
    }
    free(iid);
    free(vid);
}

static void get_rp(chsm_request *req, chsm_response *res)
{
    char *vid;
    char *iid = item_params(req, res, &vid);
    if (!iid)
        return;
    char id[1800];
    snprintf(id, sizeof id, "%s/recoveryPoints/%s", iid,
             chsm_request_param(req, "recoveryPointId"));
    chsm_resource r;
    int rc = chsm_resources_get(req->app->store, id, &r);
    if (rc == CHSM_ENOTFOUND)
        chsm_arm_error(res, 404, "BMSUserErrorRecoveryPointNotFound",
                       "The recovery point was not found.");
    else if (rc != CHSM_OK)
        chsm_provider_store_error(res, rc);
    else {
        cJSON_DeleteItemFromObject(r.body, "_vm");
        chsm_arm_json(res, 200, r.body);
        r.body = NULL;
        chsm_resource_clear(&r);
    }
    free(iid);
    free(vid);
}

/* restore_target_group splits /subscriptions/{s}/resourceGroups/{rg} (no more segments);
 * 0 when it is one. */
static int restore_target_group(const char *id, char *sub, size_t sublen, char *rg, size_t rglen)
{
    const char *p = id;
    if (!chsm_starts_with_ci(p, "/subscriptions/"))
        return 1;
    p += strlen("/subscriptions/");
    size_t n = strcspn(p, "/");
    if (n == 0 || n >= sublen || !chsm_starts_with_ci(p + n, "/resourceGroups/"))
        return 1;
    snprintf(sub, sublen, "%.*s", (int)n, p);
    p += n + strlen("/resourceGroups/");
    n = strcspn(p, "/");
    if (n == 0 || n >= rglen || p[n])
        return 1;
    snprintf(rg, rglen, "%.*s", (int)n, p);
    return 0;
}

static void restore(chsm_request *req, chsm_response *res)
{
    char *vid;
    char *iid = item_params(req, res, &vid);
    if (!iid)
        return;
    cJSON *in = chsm_arm_body_object(req, res, 1);
    chsm_resource rp = {0};
    char id[1800];
    snprintf(id, sizeof id, "%s/recoveryPoints/%s", iid,
             chsm_request_param(req, "recoveryPointId"));
    int rc = in ? chsm_resources_get(req->app->store, id, &rp) : CHSM_EINVAL;
    if (!in)
        goto out;
    if (rc == CHSM_ENOTFOUND) {
        chsm_arm_error(res, 404, "BMSUserErrorRecoveryPointNotFound",
                       "The recovery point was not found.");
        goto out;
    }
    if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
        goto out;
    }
    const cJSON *p = chsm_json_obj(in, "properties");
    const char *ot = p ? chsm_json_str(p, "objectType") : NULL;
    const char *rt = p ? chsm_json_str(p, "recoveryType") : NULL;
    const char *sa = p ? chsm_json_str(p, "storageAccountId") : NULL;
    const cJSON *sv = p ? chsm_json_obj(p, "securedVMDetails") : NULL;
    const char *des = sv ? chsm_json_str(sv, "securedVMOsDiskEncryptionSetId") : NULL;
    static const char *const types[] = {"RestoreDisks", "AlternateLocation", "OriginalLocation",
                                        NULL};
    int type_ok = 0;
    for (int i = 0; rt && types[i]; i++)
        type_ok |= chsm_streq_ci(rt, types[i]);
    if (!ot || !chsm_streq_ci(ot, "IaasVMRestoreRequest") || !type_ok) {
        chsm_arm_error(res, 400, "UserErrorInvalidRequestParameter",
                       "Parameter objectType/recoveryType in request is invalid: use "
                       "IaasVMRestoreRequest with RestoreDisks, AlternateLocation or "
                       "OriginalLocation.");
        goto out;
    }
    if (!chsm_streq_ci(rt, "OriginalLocation") &&
        (!sa || chsm_resources_exists(req->app->store, sa) != 1)) {
        chsm_arm_error(res, 400, "UserErrorStorageAccountNotFound",
                       "The storage account '%.300s' was not found.", sa ? sa : "");
        goto out;
    }
    if (des && chsm_resources_exists(req->app->store, des) != 1) {
        chsm_arm_error(res, 400, "UserErrorDiskEncryptionSetNotFound",
                       "The disk encryption set '%.300s' was not found.", des);
        goto out;
    }
    const char *tg = p ? chsm_json_str(p, "targetResourceGroupId") : NULL;
    const char *tvm = p ? chsm_json_str(p, "targetVirtualMachineId") : NULL;
    if (chsm_streq_ci(rt, "AlternateLocation") && (!tg || !tvm)) {
        chsm_arm_error(res, 400, "UserErrorInvalidRequestParameter",
                       "Parameter %s in request is invalid: a restore to an alternate location "
                       "creates a VM and needs targetResourceGroupId and targetVirtualMachineId.",
                       !tg ? "targetResourceGroupId" : "targetVirtualMachineId");
        goto out;
    }
    char tg_sub[64], tg_rg[128];
    if (tg && (restore_target_group(tg, tg_sub, sizeof tg_sub, tg_rg, sizeof tg_rg) ||
               chsm_resources_exists(req->app->store, tg) != 1)) {
        chsm_arm_error(res, 400, "UserErrorTargetResourceGroupNotFound",
                       "The target resource group '%.300s' was not found.", tg);
        goto out;
    }
    if (tvm) {
        char prefix[300];
        snprintf(prefix, sizeof prefix, "%s/providers/Microsoft.Compute/virtualMachines/", tg);
        const char *vmname = tvm + strlen(prefix);
        if (!chsm_starts_with_ci(tvm, prefix) || !*vmname || strchr(vmname, '/')) {
            chsm_arm_error(res, 400, "UserErrorInvalidRequestParameter",
                           "Parameter targetVirtualMachineId in request is invalid: it must name "
                           "a virtual machine in the target resource group.");
            goto out;
        }
        if (chsm_resources_exists(req->app->store, tvm) == 1) {
            chsm_arm_error(res, 400, "UserErrorVmAlreadyExists",
                           "The virtual machine '%.300s' already exists: restore to a new one.",
                           tvm);
            goto out;
        }
    }
    cJSON *params = cJSON_CreateObject();
    cJSON_AddStringToObject(params, "vaultId", vid);
    cJSON_AddStringToObject(params, "recoveryPoint", id);
    cJSON_AddItemToObject(params, "request", cJSON_Duplicate(p, 1));
    chsm_op op;
    rc = chsm_lro_begin(req->app, KIND_RESTORE, iid, params, &op);
    if (rc != CHSM_OK)
        chsm_provider_store_error(res, rc);
    else {
        accepted(req, res, iid, op.id, 0);
        chsm_op_clear(&op);
    }
out:
    chsm_resource_clear(&rp);
    cJSON_Delete(in);
    free(iid);
    free(vid);
}

/* ---- operation runs ---- */

static int job_result(chsm_op *op, const char *job_id)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "jobId", job_id);
    chsm_lro_succeed(op, r);
    return CHSM_OK;
}

static int run_protect(chsm_app *app, chsm_op *op)
{
    const char *vault_id = chsm_json_str(op->params, "vaultId");
    const char *src = chsm_json_str(op->params, "sourceResourceId");
    const char *policy_id = chsm_json_str(op->params, "policyId");
    chsm_backup_vm vm;
    int rc = chsm_backup_read_vm(app, src, &vm);
    if (rc == CHSM_ENOTFOUND) {
        chsm_lro_fail(op, "BMSUserErrorInvalidSourceResourceId",
                      "The virtual machine was deleted.");
        return CHSM_OK;
    }
    if (rc != CHSM_OK)
        return rc;
    chsm_resource policy;
    rc = chsm_resources_get(app->store, policy_id, &policy);
    if (rc == CHSM_ENOTFOUND) {
        chsm_lro_fail(op, "BMSUserErrorPolicyNotFound", "The policy was deleted.");
        return CHSM_OK;
    }
    if (rc != CHSM_OK)
        return rc;
    char code[96], message[400];
    int refused =
        chsm_backup_check(app, &vm, policy.body, code, sizeof code, message, sizeof message);
    const cJSON *ext = cJSON_GetObjectItem(op->params, "extendedProperties");
    if (refused == 0 && vm.cmk && ext && chsm_json_obj(ext, "diskExclusionProperties")) {
        snprintf(code, sizeof code, "UserErrorEncryptedVmNotSupportedWithDiskEx");
        snprintf(message, sizeof message,
                 "Disk exclusion is not supported for encrypted virtual machines.");
        refused = 1;
    }
    if (refused != 0) {
        chsm_resource_clear(&policy);
        if (refused < 0)
            return refused;
        chsm_lro_fail(op, code, message);
        return CHSM_OK; /* nothing protected */
    }
    chsm_resource old = {0};
    int existed = chsm_resources_get(app->store, op->resource_id, &old) == CHSM_OK;
    const char *container = chsm_json_str(op->params, "containerName");
    const char *item = chsm_json_str(op->params, "itemName");
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "id", op->resource_id);
    cJSON_AddStringToObject(doc, "name", item);
    cJSON_AddStringToObject(doc, "type", ITEM_TYPE);
    cJSON *p = cJSON_AddObjectToObject(doc, "properties");
    const cJSON *oldp = existed ? chsm_json_obj(old.body, "properties") : NULL;
    cJSON_AddStringToObject(p, "protectedItemType", "Microsoft.Compute/virtualMachines");
    cJSON_AddStringToObject(p, "backupManagementType", "AzureIaasVM");
    cJSON_AddStringToObject(p, "workloadType", "VM");
    cJSON_AddStringToObject(p, "containerName", container + strlen("IaasVMContainer;"));
    cJSON_AddStringToObject(p, "sourceResourceId", src);
    cJSON_AddStringToObject(p, "virtualMachineId", src);
    cJSON_AddStringToObject(p, "friendlyName", vm.vm_name);
    cJSON_AddStringToObject(p, "policyId", policy_id);
    cJSON_AddStringToObject(p, "policyName", policy.name);
    cJSON_AddStringToObject(p, "protectionStatus", "Healthy");
    const char *old_state = oldp ? chsm_json_str(oldp, "protectionState") : NULL;
    int had_rp = oldp && chsm_json_str(oldp, "lastRecoveryPoint");
    cJSON_AddStringToObject(p, "protectionState",
                            had_rp ? "Protected"
                            : old_state && !chsm_streq_ci(old_state, "ProtectionStopped")
                                ? old_state
                                : "IRPending");
    cJSON_AddStringToObject(p, "healthStatus", "Passed");
    const char *lbs = oldp ? chsm_json_str(oldp, "lastBackupStatus") : NULL;
    cJSON_AddStringToObject(p, "lastBackupStatus", lbs ? lbs : "");
    const char *lbt = oldp ? chsm_json_str(oldp, "lastBackupTime") : NULL;
    cJSON_AddStringToObject(p, "lastBackupTime", lbt ? lbt : "2001-01-01T00:00:00Z");
    const char *lrp = oldp ? chsm_json_str(oldp, "lastRecoveryPoint") : NULL;
    if (lrp)
        cJSON_AddStringToObject(p, "lastRecoveryPoint", lrp);
    const char *dataid = oldp ? chsm_json_str(oldp, "protectedItemDataId") : NULL;
    char fresh[24];
    unsigned char rnd[6];
    chsm_ids_random(rnd, sizeof rnd);
    snprintf(
        fresh, sizeof fresh, "%llu",
        (unsigned long long)(17592000000000ULL + (((unsigned long long)rnd[0] << 24) |
                                                  ((unsigned long long)rnd[1] << 16) |
                                                  ((unsigned long long)rnd[2] << 8) | rnd[3])));
    cJSON_AddStringToObject(p, "protectedItemDataId", dataid ? dataid : fresh);
    cJSON *ext_info = cJSON_AddObjectToObject(p, "extendedInfo");
    const cJSON *oext = oldp ? chsm_json_obj(oldp, "extendedInfo") : NULL;
    const cJSON *cnt = oext ? cJSON_GetObjectItem(oext, "recoveryPointCount") : NULL;
    cJSON_AddNumberToObject(ext_info, "recoveryPointCount",
                            cJSON_IsNumber(cnt) ? cnt->valueint : 0);
    cJSON_AddBoolToObject(ext_info, "policyInconsistent", 0);
    if (vm.cmk)
        cJSON_AddStringToObject(p, "kekUrl", vm.key_url);
    chsm_resource r = {.id = op->resource_id,
                       .type = ITEM_TYPE,
                       .name = (char *)item,
                       .parent_id = (char *)vault_id,
                       .body = doc,
                       .created_ms = old.created_ms};
    rc = chsm_resources_put(app->store, &r);
    cJSON_Delete(doc);
    chsm_resource_clear(&old);
    chsm_resource_clear(&policy);
    char job[37];
    if (rc == CHSM_OK)
        rc = make_job(app, vault_id, "ConfigureBackup", "Completed", vm.vm_name, container,
                      op->start_ms, NULL, NULL, NULL, job);
    return rc == CHSM_OK ? job_result(op, job) : rc;
}

/* load_op_item loads the protected item operation op works on; when it was deleted meanwhile
 * the operation fails (BMSUserErrorProtectedItemNotFound) and the answer is CHSM_ENOTFOUND. */
static int load_op_item(chsm_app *app, chsm_op *op, chsm_resource *item)
{
    int rc = chsm_resources_get(app->store, op->resource_id, item);
    if (rc == CHSM_ENOTFOUND)
        chsm_lro_fail(op, "BMSUserErrorProtectedItemNotFound", "The protected item was deleted.");
    return rc;
}

static int run_stop(chsm_app *app, chsm_op *op)
{
    const char *vault_id = chsm_json_str(op->params, "vaultId");
    chsm_resource item;
    int rc = load_op_item(app, op, &item);
    if (rc != CHSM_OK)
        return rc == CHSM_ENOTFOUND ? CHSM_OK : rc;
    cJSON *p = chsm_json_obj(item.body, "properties");
    chsm_json_set_str(p, "protectionState", "ProtectionStopped");
    chsm_json_set_str(p, "policyId", "");
    chsm_json_set_str(p, "policyName", "");
    rc = chsm_resources_put(app->store, &item);
    char job[37];
    if (rc == CHSM_OK)
        rc = make_job(app, vault_id, "DisableBackup", "Completed", chsm_json_str(p, "friendlyName"),
                      NULL, op->start_ms, NULL, NULL, NULL, job);
    chsm_resource_clear(&item);
    return rc == CHSM_OK ? job_result(op, job) : rc;
}

static int run_backup(chsm_app *app, chsm_op *op)
{
    const char *vault_id = chsm_json_str(op->params, "vaultId");
    chsm_resource item;
    int rc = load_op_item(app, op, &item);
    if (rc != CHSM_OK)
        return rc == CHSM_ENOTFOUND ? CHSM_OK : rc;
    cJSON *p = chsm_json_obj(item.body, "properties");
    const char *src = chsm_json_str(p, "sourceResourceId");
    const char *container = chsm_json_str(p, "containerName");
    chsm_backup_vm vm;
    rc = chsm_backup_read_vm(app, src, &vm);
    char code[96] = "", message[400] = "";
    int refused = 0;
    if (rc == CHSM_ENOTFOUND) {
        refused = 1;
        snprintf(code, sizeof code, "UserErrorVmNotFound");
        snprintf(message, sizeof message, "The virtual machine no longer exists.");
        snprintf(vm.vm_name, sizeof vm.vm_name, "%s", chsm_json_str(p, "friendlyName"));
    } else if (rc != CHSM_OK) {
        chsm_resource_clear(&item);
        return rc;
    } else {
        refused = chsm_backup_check(app, &vm, NULL, code, sizeof code, message, sizeof message);
        if (refused < 0) {
            chsm_resource_clear(&item);
            return refused;
        }
    }
    char key_backup_err = 0;
    char *key_backup = NULL;
    if (!refused && vm.cmk && chsm_backup_key_owner(&vm)[0]) {
        rc = chsm_mhsm_key_backup(app, chsm_backup_key_owner(&vm), vm.key_name, &key_backup);
        if (rc == CHSM_ENOTFOUND) {
            refused = 1;
            key_backup_err = 1;
            snprintf(code, sizeof code, "UserErrorKeyVaultKeyNotFound");
            snprintf(message, sizeof message,
                     "The customer-managed key of the VM's disk encryption set was not found.");
        } else if (rc != CHSM_OK) {
            chsm_resource_clear(&item);
            return rc;
        }
    }
    (void)key_backup_err;
    char job[37];
    int64_t now = chsm_now_ms();
    char t[40];
    iso(now, t, sizeof t);
    if (refused) {
        chsm_json_set_str(p, "lastBackupStatus", "Failed");
        chsm_json_set_str(p, "healthStatus", "ActionRequired");
        rc = chsm_resources_put(app->store, &item);
        if (rc == CHSM_OK)
            rc = make_job(app, vault_id, "Backup", "Failed", vm.vm_name, container, op->start_ms,
                          code, message, NULL, job);
        chsm_resource_clear(&item);
        return rc == CHSM_OK ? job_result(op, job) : rc;
    }
    /* A recovery point: numeric id, the CMK's key backup stored with it. */
    unsigned char rnd[4];
    chsm_ids_random(rnd, sizeof rnd);
    char rp_name[32];
    snprintf(rp_name, sizeof rp_name, "%lld%04u", (long long)(now / 1000),
             (unsigned)(((rnd[0] << 8) | rnd[1]) % 10000));
    char rp_id[1800];
    snprintf(rp_id, sizeof rp_id, "%s/recoveryPoints/%s", op->resource_id, rp_name);
    cJSON *rpd = cJSON_CreateObject();
    cJSON_AddStringToObject(rpd, "id", rp_id);
    cJSON_AddStringToObject(rpd, "name", rp_name);
    cJSON_AddStringToObject(rpd, "type", RP_TYPE);
    cJSON *rpp = cJSON_AddObjectToObject(rpd, "properties");
    cJSON_AddStringToObject(rpp, "objectType", "IaasVMRecoveryPoint");
    cJSON_AddStringToObject(rpp, "recoveryPointType", "CrashConsistent");
    cJSON_AddStringToObject(rpp, "recoveryPointTime", t);
    cJSON_AddStringToObject(rpp, "sourceVMStorageType", "NormalStorage");
    cJSON_AddBoolToObject(rpp, "isSourceVMEncrypted", vm.cmk);
    if (vm.cmk) {
        cJSON *ks = cJSON_AddObjectToObject(rpp, "keyAndSecret");
        cJSON *kek = cJSON_AddObjectToObject(ks, "kekDetails");
        cJSON_AddStringToObject(kek, "keyUrl", vm.key_url);
        cJSON_AddStringToObject(kek, "keyVaultId", chsm_backup_key_owner(&vm));
        cJSON_AddStringToObject(kek, "keyBackupData", key_backup ? key_backup : "");
        cJSON_AddStringToObject(ks, "encryptionMechanism", "CMK");
    }
    cJSON_AddBoolToObject(rpp, "isManagedVirtualMachine", 1);
    cJSON_AddStringToObject(rpp, "virtualMachineSize", vm.size);
    cJSON_AddStringToObject(rpp, "osType", vm.os_type);
    if (vm.confidential)
        cJSON_AddStringToObject(rpp, "securityType", "ConfidentialVM");
    cJSON *tiers = cJSON_AddArrayToObject(rpp, "recoveryPointTierDetails");
    static const char *const tier_types[] = {"InstantRP", "HardenedRP"};
    for (int i = 0; i < 2; i++) {
        cJSON *tier = cJSON_CreateObject();
        cJSON_AddStringToObject(tier, "type", tier_types[i]);
        cJSON_AddStringToObject(tier, "status", "Valid");
        cJSON_AddItemToArray(tiers, tier);
    }
    const char *expiry = chsm_json_str(op->params, "expiry");
    char exp_buf[40];
    if (!expiry) {
        iso(now + 30 * DAY_MS, exp_buf, sizeof exp_buf); /* default retention: 30 days */
        expiry = exp_buf;
    }
    cJSON *rprops = cJSON_AddObjectToObject(rpp, "recoveryPointProperties");
    cJSON_AddStringToObject(rprops, "expiryTime", expiry);
    cJSON_AddStringToObject(rprops, "ruleName", "");
    free(key_backup);
    /* What a restore recreates: the VM's configuration at backup time (internal, not shown). */
    chsm_resource vmdoc;
    if (chsm_resources_get(app->store, src, &vmdoc) == CHSM_OK) {
        cJSON *snap = cJSON_CreateObject();
        cJSON_AddStringToObject(snap, "location", chsm_json_str(vmdoc.body, "location"));
        const cJSON *zones = cJSON_GetObjectItem(vmdoc.body, "zones");
        if (cJSON_IsArray(zones))
            cJSON_AddItemToObject(snap, "zones", cJSON_Duplicate(zones, 1));
        const cJSON *vp = chsm_json_obj(vmdoc.body, "properties");
        cJSON *pp = vp ? cJSON_Duplicate(vp, 1) : cJSON_CreateObject();
        cJSON_DeleteItemFromObject(pp, "provisioningState");
        cJSON_DeleteItemFromObject(pp, "vmId");
        cJSON_AddItemToObject(snap, "properties", pp);
        cJSON_AddItemToObject(rpd, "_vm", snap);
        chsm_resource_clear(&vmdoc);
    }
    chsm_resource rr = {
        .id = rp_id, .type = RP_TYPE, .name = rp_name, .parent_id = op->resource_id, .body = rpd};
    rc = chsm_resources_put(app->store, &rr);
    cJSON_Delete(rpd);
    chsm_json_set_str(p, "protectionState", "Protected");
    chsm_json_set_str(p, "healthStatus", "Passed");
    chsm_json_set_str(p, "lastBackupStatus", "Completed");
    chsm_json_set_str(p, "lastBackupTime", t);
    chsm_json_set_str(p, "lastRecoveryPoint", t);
    cJSON *ext = chsm_json_obj(p, "extendedInfo");
    if (ext) {
        const cJSON *cnt = cJSON_GetObjectItem(ext, "recoveryPointCount");
        chsm_json_set(ext, "recoveryPointCount",
                      cJSON_CreateNumber((cJSON_IsNumber(cnt) ? cnt->valueint : 0) + 1));
        chsm_json_set_str(ext, "oldestRecoveryPoint", t);
    }
    if (rc == CHSM_OK)
        rc = chsm_resources_put(app->store, &item);
    if (rc == CHSM_OK) {
        cJSON *bag = cJSON_CreateObject();
        cJSON_AddStringToObject(bag, "Backup Size", "0 MB");
        cJSON_AddStringToObject(bag, "Recovery Point Id", rp_name);
        rc = make_job(app, vault_id, "Backup", "Completed", vm.vm_name, container, op->start_ms,
                      NULL, NULL, bag, job);
    }
    chsm_resource_clear(&item);
    return rc == CHSM_OK ? job_result(op, job) : rc;
}

/* put_compute stores a Microsoft.Compute document under id in sub/rg. */
static int put_compute(chsm_app *app, const char *id, const char *type, const char *sub,
                       const char *rg, cJSON *doc)
{
    const char *slash = strrchr(id, '/');
    chsm_resource r = {.id = (char *)id,
                       .type = (char *)type,
                       .name = (char *)(slash ? slash + 1 : id),
                       .subscription = (char *)sub,
                       .resource_group = (char *)rg,
                       .body = doc};
    return chsm_resources_put(app->store, &r);
}

/* restored_disk builds (and stores) managed disk name_base in sub/rg from a VM disk entry
 * (osDisk or a dataDisks element) of the backed-up VM; id gets its id. For a confidential
 * VM the disk is ConfidentialVM_DiskEncryptedWithCustomerKey with des; otherwise des (may
 * be "") becomes its customer-managed encryption. */
static int restored_disk(chsm_app *app, const char *sub, const char *rg, const char *location,
                         const char *name_base, const cJSON *entry, const char *os_type,
                         int confidential, const char *des, const char *rp_id, char *id,
                         size_t idlen)
{
    char name[200];
    snprintf(name, sizeof name, "%s", name_base);
    for (int i = 2; i < 100; i++) {
        snprintf(id, idlen,
                 "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/disks/%s", sub,
                 rg, name);
        int exists = chsm_resources_exists(app->store, id);
        if (exists < 0)
            return exists;
        if (exists == 0)
            break;
        snprintf(name, sizeof name, "%s-%d", name_base, i);
    }
    const cJSON *md = chsm_json_obj(entry, "managedDisk");
    const char *sat = md ? chsm_json_str(md, "storageAccountType") : NULL;
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "id", id);
    cJSON_AddStringToObject(d, "name", name);
    cJSON_AddStringToObject(d, "type", "Microsoft.Compute/disks");
    cJSON_AddStringToObject(d, "location", location ? location : "");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(d, "sku"), "name", sat ? sat : "Premium_LRS");
    cJSON *p = cJSON_AddObjectToObject(d, "properties");
    if (os_type)
        cJSON_AddStringToObject(p, "osType", os_type);
    cJSON *cd = cJSON_AddObjectToObject(p, "creationData");
    cJSON_AddStringToObject(cd, "createOption", "Restore");
    cJSON_AddStringToObject(cd, "sourceResourceId", rp_id);
    const cJSON *size = cJSON_GetObjectItem(entry, "diskSizeGB");
    cJSON_AddNumberToObject(p, "diskSizeGB", cJSON_IsNumber(size) ? size->valuedouble : 30);
    if (confidential && des && *des) {
        cJSON *sp = cJSON_AddObjectToObject(p, "securityProfile");
        cJSON_AddStringToObject(sp, "securityType", "ConfidentialVM_DiskEncryptedWithCustomerKey");
        cJSON_AddStringToObject(sp, "secureVMDiskEncryptionSetId", des);
    } else if (des && *des) {
        cJSON *enc = cJSON_AddObjectToObject(p, "encryption");
        cJSON_AddStringToObject(enc, "type", "EncryptionAtRestWithCustomerKey");
        cJSON_AddStringToObject(enc, "diskEncryptionSetId", des);
    }
    cJSON_AddStringToObject(p, "diskState", "Unattached");
    cJSON_AddStringToObject(p, "provisioningState", "Succeeded");
    char t[40];
    chsm_format_time(chsm_now_ms(), t, sizeof t);
    cJSON_AddStringToObject(p, "timeCreated", t);
    int rc = put_compute(app, id, "Microsoft.Compute/disks", sub, rg, d);
    cJSON_Delete(d);
    return rc;
}

/* attach_disk points a VM disk entry at a restored managed disk. */
static void attach_disk(cJSON *entry, const char *disk_id, const char *des)
{
    const char *slash = strrchr(disk_id, '/');
    chsm_json_set_str(entry, "name", slash ? slash + 1 : disk_id);
    chsm_json_set_str(entry, "createOption", "Attach");
    cJSON *md = chsm_json_obj(entry, "managedDisk");
    if (!md) {
        md = cJSON_CreateObject();
        chsm_json_set(entry, "managedDisk", md);
    }
    chsm_json_set_str(md, "id", disk_id);
    cJSON *sp = chsm_json_obj(md, "securityProfile");
    if (sp && des && *des) {
        cJSON *ds = cJSON_CreateObject();
        cJSON_AddStringToObject(ds, "id", des);
        chsm_json_set(sp, "diskEncryptionSet", ds);
    }
}

/* restore_resources creates what a restore of recovery point rp (document) makes, as
 * docs/backup.md describes: managed disks in the target resource group (RestoreDisks with
 * targetResourceGroupId, AlternateLocation), a new VM on them (AlternateLocation), or the
 * source VM switched to them (OriginalLocation). bag gets "Target resource group" and
 * "Restored Disks". Returns 1 (op failed) when the recovery point predates disk
 * snapshots and a VM is asked for. */
static int restore_resources(chsm_app *app, chsm_op *op, const cJSON *request, const cJSON *rp,
                             const char *source_vm, cJSON *bag)
{
    const char *rt = chsm_json_str(request, "recoveryType");
    const char *tg = chsm_json_str(request, "targetResourceGroupId");
    const cJSON *snap = chsm_json_obj(rp, "_vm");
    char sub[64], rg[128];
    int original = chsm_streq_ci(rt, "OriginalLocation");
    int alternate = chsm_streq_ci(rt, "AlternateLocation");
    if (original) {
        /* the source VM's own resource group */
        const char *g = strstr(source_vm ? source_vm : "", "/providers/");
        char buf[400];
        snprintf(buf, sizeof buf, "%.*s", g ? (int)(g - source_vm) : 0, source_vm ? source_vm : "");
        if (!g || restore_target_group(buf, sub, sizeof sub, rg, sizeof rg))
            return CHSM_OK;
    } else if (!tg || restore_target_group(tg, sub, sizeof sub, rg, sizeof rg)) {
        cJSON_AddStringToObject(bag, "Restored Disks",
                                "none: without targetResourceGroupId the disks would be VHDs in "
                                "the storage account, which the emulator does not write");
        return CHSM_OK;
    }
    if (!snap) {
        chsm_lro_fail(op, "UserErrorRecoveryPointNotRestorable",
                      "This recovery point holds no disk configuration (made by an older "
                      "emulator); take a new backup.");
        return 1;
    }
    cJSON_AddStringToObject(bag, "Target resource group", rg);
    const cJSON *vp = chsm_json_obj(snap, "properties");
    const cJSON *storage = chsm_json_obj(vp, "storageProfile");
    const cJSON *os = chsm_json_obj(storage, "osDisk");
    const char *os_type = chsm_json_str(os, "osType");
    int confidential = chsm_streq_ci(
        chsm_json_str(chsm_json_obj(vp, "securityProfile"), "securityType"), "ConfidentialVM");
    const cJSON *osd_sp = chsm_json_obj(chsm_json_obj(os, "managedDisk"), "securityProfile");
    const char *des = chsm_json_str(chsm_json_obj(osd_sp, "diskEncryptionSet"), "id");
    const cJSON *sv = chsm_json_obj(request, "securedVMDetails");
    const char *new_des = sv ? chsm_json_str(sv, "securedVMOsDiskEncryptionSetId") : NULL;
    if (!new_des)
        new_des = chsm_json_str(request, "diskEncryptionSetId");
    if (new_des && *new_des)
        des = new_des;
    const char *location = chsm_json_str(snap, "location");
    const char *vm_name = strrchr(source_vm ? source_vm : "", '/');
    vm_name = vm_name ? vm_name + 1 : "vm";
    char ts[32], base[200], os_id[600], rp_id[1800];
    time_t secs = (time_t)(op->start_ms / 1000);
    struct tm tmv;
    gmtime_r(&secs, &tmv);
    strftime(ts, sizeof ts, "%Y%m%d-%H%M%S", &tmv);
    snprintf(rp_id, sizeof rp_id, "%s", chsm_json_str(rp, "id"));
    snprintf(base, sizeof base, "%s-osdisk-%s", vm_name, ts);
    int rc = restored_disk(app, sub, rg, location, base, os, os_type, confidential, des, rp_id,
                           os_id, sizeof os_id);
    if (rc != CHSM_OK)
        return rc;
    char list[4096];
    snprintf(list, sizeof list, "%s", os_id);
    cJSON *data_ids = cJSON_CreateArray();
    const cJSON *dd;
    cJSON_ArrayForEach(dd, cJSON_GetObjectItem(storage, "dataDisks"))
    {
        const cJSON *lun = cJSON_GetObjectItem(dd, "lun");
        char did[600];
        snprintf(base, sizeof base, "%s-datadisk-%d-%s", vm_name,
                 cJSON_IsNumber(lun) ? lun->valueint : 0, ts);
        rc = restored_disk(app, sub, rg, location, base, dd, NULL, 0, confidential ? NULL : des,
                           rp_id, did, sizeof did);
        if (rc != CHSM_OK) {
            cJSON_Delete(data_ids);
            return rc;
        }
        cJSON_AddItemToArray(data_ids, cJSON_CreateString(did));
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, ",%s", did);
    }
    cJSON_AddStringToObject(bag, "Restored Disks", list);
    cJSON *vm = NULL;
    const char *vm_id = NULL;
    chsm_resource old = {0};
    if (alternate) {
        vm_id = chsm_json_str(request, "targetVirtualMachineId");
        vm = cJSON_CreateObject();
        const char *slash = strrchr(vm_id, '/');
        cJSON_AddStringToObject(vm, "id", vm_id);
        cJSON_AddStringToObject(vm, "name", slash ? slash + 1 : vm_id);
        cJSON_AddStringToObject(vm, "type", "Microsoft.Compute/virtualMachines");
        cJSON_AddStringToObject(vm, "location", location ? location : "");
        const cJSON *zones = cJSON_GetObjectItem(snap, "zones");
        if (zones)
            cJSON_AddItemToObject(vm, "zones", cJSON_Duplicate(zones, 1));
        cJSON *p = cJSON_Duplicate(vp, 1);
        cJSON_AddItemToObject(vm, "properties", p);
        cJSON_DeleteItemFromObject(p, "osProfile");
        cJSON *st = chsm_json_obj(p, "storageProfile");
        cJSON_DeleteItemFromObject(st, "imageReference");
        const char *vnet = chsm_json_str(request, "virtualNetworkId");
        const char *subnet = chsm_json_str(request, "subnetId");
        cJSON_DeleteItemFromObject(p, "networkProfile");
        if (vnet || subnet) {
            cJSON *np = cJSON_AddObjectToObject(p, "networkProfile");
            cJSON_AddStringToObject(np, "virtualNetworkId", vnet ? vnet : "");
            cJSON_AddStringToObject(np, "subnetId", subnet ? subnet : "");
        }
        char fresh[37];
        chsm_uuid(fresh);
        chsm_json_set_str(p, "vmId", fresh);
        chsm_json_set_str(p, "provisioningState", "Succeeded");
    } else if (original) {
        vm_id = source_vm;
        rc = chsm_resources_get(app->store, source_vm, &old);
        if (rc == CHSM_ENOTFOUND) {
            cJSON_Delete(data_ids);
            chsm_lro_fail(op, "UserErrorVmNotFound",
                          "The original virtual machine no longer exists: restore to an "
                          "alternate location or restore its disks.");
            return 1;
        }
        if (rc != CHSM_OK) {
            cJSON_Delete(data_ids);
            return rc;
        }
        vm = old.body;
        old.body = NULL;
    }
    if (vm) {
        cJSON *st = chsm_json_obj(chsm_json_obj(vm, "properties"), "storageProfile");
        cJSON *vos = chsm_json_obj(st, "osDisk");
        if (vos)
            attach_disk(vos, os_id, des);
        int i = 0;
        cJSON *vd;
        cJSON_ArrayForEach(vd, cJSON_GetObjectItem(st, "dataDisks"))
        {
            const char *did = cJSON_GetStringValue(cJSON_GetArrayItem(data_ids, i++));
            if (did)
                attach_disk(vd, did, NULL);
        }
        char vsub[64], vrg[128];
        char buf[600];
        const char *g = strstr(vm_id, "/providers/");
        snprintf(buf, sizeof buf, "%.*s", g ? (int)(g - vm_id) : 0, vm_id);
        if (restore_target_group(buf, vsub, sizeof vsub, vrg, sizeof vrg) == 0)
            rc = put_compute(app, vm_id, "Microsoft.Compute/virtualMachines", vsub, vrg, vm);
        cJSON_AddStringToObject(bag, "Restored Virtual Machine", vm_id);
        cJSON_Delete(vm);
    }
    chsm_resource_clear(&old);
    cJSON_Delete(data_ids);
    return rc;
}

static int run_restore(chsm_app *app, chsm_op *op)
{
    const char *vault_id = chsm_json_str(op->params, "vaultId");
    chsm_resource rp, item;
    int rc = chsm_resources_get(app->store, chsm_json_str(op->params, "recoveryPoint"), &rp);
    if (rc == CHSM_ENOTFOUND) {
        chsm_lro_fail(op, "BMSUserErrorRecoveryPointNotFound", "The recovery point was deleted.");
        return CHSM_OK;
    }
    if (rc != CHSM_OK)
        return rc;
    rc = chsm_resources_get(app->store, op->resource_id, &item);
    if (rc != CHSM_OK) {
        chsm_resource_clear(&rp);
        if (rc == CHSM_ENOTFOUND) {
            chsm_lro_fail(op, "BMSUserErrorProtectedItemNotFound", "The item was deleted.");
            return CHSM_OK;
        }
        return rc;
    }
    const cJSON *req = cJSON_GetObjectItem(op->params, "request");
    const cJSON *rpp = chsm_json_obj(rp.body, "properties");
    const cJSON *ip = chsm_json_obj(item.body, "properties");
    cJSON *bag = cJSON_CreateObject();
    cJSON_AddStringToObject(bag, "Recovery point time", chsm_json_str(rpp, "recoveryPointTime"));
    cJSON_AddStringToObject(bag, "Recovery Type", chsm_json_str(req, "recoveryType"));
    const char *sa = chsm_json_str(req, "storageAccountId");
    if (sa) {
        const char *slash = strrchr(sa, '/');
        cJSON_AddStringToObject(bag, "Target Storage Account Name", slash ? slash + 1 : sa);
    }
    const char *vm_name = chsm_json_str(ip, "friendlyName");
    if (chsm_streq_ci(chsm_json_str(rpp, "securityType"), "ConfidentialVM")) {
        char container[96];
        snprintf(container, sizeof container, "%s-%.8s", vm_name ? vm_name : "vm", op->id);
        for (char *c = container; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        cJSON_AddStringToObject(bag, "Config Blob Container Name", container);
        cJSON_AddStringToObject(bag, "Secured Encryption Info Blob Name",
                                "securedEncryptionInfo.json");
        const cJSON *sv = chsm_json_obj(req, "securedVMDetails");
        const char *des = sv ? chsm_json_str(sv, "securedVMOsDiskEncryptionSetId") : NULL;
        if (des)
            cJSON_AddStringToObject(bag, "Target Disk Encryption Set", des);
    }
    rc = restore_resources(app, op, req, rp.body, chsm_json_str(ip, "sourceResourceId"), bag);
    if (rc != CHSM_OK) {
        cJSON_Delete(bag);
        chsm_resource_clear(&rp);
        chsm_resource_clear(&item);
        return rc == 1 ? CHSM_OK : rc;
    }
    char job[37];
    rc = make_job(app, vault_id, "Restore", "Completed", vm_name, NULL, op->start_ms, NULL, NULL,
                  bag, job);
    chsm_resource_clear(&rp);
    chsm_resource_clear(&item);
    return rc == CHSM_OK ? job_result(op, job) : rc;
}

static int run_delete_item(chsm_app *app, chsm_op *op)
{
    const char *vault_id = chsm_json_str(op->params, "vaultId");
    chsm_resource item;
    int rc = chsm_resources_get(app->store, op->resource_id, &item);
    if (rc == CHSM_ENOTFOUND) {
        chsm_lro_succeed(op, NULL);
        return CHSM_OK;
    }
    if (rc != CHSM_OK)
        return rc;
    char name[128];
    snprintf(name, sizeof name, "%s",
             chsm_json_str(chsm_json_obj(item.body, "properties"), "friendlyName"));
    chsm_resource_clear(&item);
    rc = chsm_resources_delete_under(app->store, op->resource_id, NULL);
    if (rc == CHSM_OK)
        rc = chsm_resources_delete(app->store, op->resource_id);
    char job[37];
    if (rc == CHSM_OK)
        rc = make_job(app, vault_id, "DeleteBackupData", "Completed", name, NULL, op->start_ms,
                      NULL, NULL, NULL, job);
    return rc == CHSM_OK ? job_result(op, job) : rc;
}

static int run_refresh(chsm_app *app, chsm_op *op)
{
    (void)app;
    chsm_lro_succeed(op, NULL);
    return CHSM_OK;
}

static int rs_init(chsm_app *app)
{
    static const struct {
        const char *kind;
        chsm_lro_run_fn run;
    } kinds[] = {{KIND_PROTECT, run_protect},         {KIND_STOP, run_stop},
                 {KIND_BACKUP, run_backup},           {KIND_RESTORE, run_restore},
                 {KIND_DELETE_ITEM, run_delete_item}, {KIND_REFRESH, run_refresh}};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        int rc = chsm_lro_register(app->lro, kinds[i].kind, kinds[i].run);
        if (rc != CHSM_OK)
            return rc;
    }
    return CHSM_OK;
}

#define RG "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}"
#define VAULT RG "/providers/" NS "/vaults/{vaultName}"
#define ITEM                                                                                       \
    VAULT "/backupFabrics/{fabricName}/protectionContainers/{containerName}/protectedItems/"       \
          "{protectedItemName}"

/* Any api-version: Backup clients and LRO URLs in the wild carry many (2016-12-01 ... 2026). */
static const chsm_route routes[] = {
    {"PUT", VAULT, put_vault, "vaults/write", NULL, 0},
    {"GET", VAULT, get_vault, "vaults/read", NULL, 0},
    {"DELETE", VAULT, delete_vault, "vaults/delete", NULL, 0},
    {"GET", RG "/providers/" NS "/vaults", list_vaults, "vaults/list", NULL, 0},
    {"GET", "/subscriptions/{subscriptionId}/providers/" NS "/vaults", list_vaults, "vaults/list",
     NULL, 0},
    {"GET", VAULT "/backupPolicies", list_policies, "backupPolicies/list", NULL, 0},
    {"GET", VAULT "/backupPolicies/{policyName}", get_policy, "backupPolicies/read", NULL, 0},
    {"PUT", VAULT "/backupPolicies/{policyName}", put_policy, "backupPolicies/write", NULL, 0},
    {"DELETE", VAULT "/backupPolicies/{policyName}", delete_policy, "backupPolicies/delete", NULL,
     0},
    {"POST", VAULT "/backupFabrics/{fabricName}/refreshContainers", refresh_containers,
     "backupFabrics/refreshContainers", NULL, 0},
    {"GET", VAULT "/backupFabrics/{fabricName}/operationResults/{operationId}", fabric_op_result,
     "backupFabrics/operationResults/read", NULL, 0},
    {"GET", VAULT "/backupProtectableItems", list_protectable, "backupProtectableItems/list", NULL,
     0},
    {"GET", VAULT "/backupProtectedItems", list_items, "backupProtectedItems/list", NULL, 0},
    {"PUT", ITEM, put_item, "protectedItems/write", NULL, 0},
    {"GET", ITEM, get_item, "protectedItems/read", NULL, 0},
    {"DELETE", ITEM, delete_item, "protectedItems/delete", NULL, 0},
    {"GET", ITEM "/operationsStatus/{operationId}", item_op_status,
     "protectedItems/operationsStatus/read", NULL, 0},
    {"GET", ITEM "/operationResults/{operationId}", item_op_result,
     "protectedItems/operationResults/read", NULL, 0},
    {"POST", ITEM "/backup", backup_now, "protectedItems/backup", NULL, 0},
    {"GET", ITEM "/recoveryPoints", list_rps, "recoveryPoints/list", NULL, 0},
    {"GET", ITEM "/recoveryPoints/{recoveryPointId}", get_rp, "recoveryPoints/read", NULL, 0},
    {"POST", ITEM "/recoveryPoints/{recoveryPointId}/restore", restore, "recoveryPoints/restore",
     NULL, 0},
    {"GET", VAULT "/backupOperations/{operationId}", vault_op_status, "backupOperations/read", NULL,
     0},
    {"GET", VAULT "/backupOperationResults/{operationId}", vault_op_result,
     "backupOperationResults/read", NULL, 0},
    {"GET", VAULT "/backupJobs", list_jobs, "backupJobs/list", NULL, 0},
    {"GET", VAULT "/backupJobs/{jobName}", get_job, "backupJobs/read", NULL, 0},
    {"POST", VAULT "/backupJobs/{jobName}/cancel", cancel_job, "backupJobs/cancel", NULL, 0},
};

const chsm_provider chsm_provider_recoveryservices = {NS, routes, CHSM_COUNT(routes), rs_init};

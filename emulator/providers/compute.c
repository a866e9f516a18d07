/* compute.c - Microsoft.Compute virtualMachines and diskEncryptionSets, only
 * as far as Azure Backup reads them (docs/backup.md): documents stored as
 * given, validated for the fields the confidential-VM checks use
 * (securityProfile.securityType, the OS disk's securityEncryptionType and
 * diskEncryptionSet, the set's encryptionType and activeKey.keyUrl). No VM
 * runs; PUT answers synchronously with provisioningState Succeeded. */
#include "providers/provider.h"
#include "providers/answers.h"

#include "app/app.h"
#include "arm/auth.h"
#include "arm/errors.h"
#include "arm/names.h"
#include "arm/resource.h"
#include "arm/versions.h"
#include "mhsm/mhsm.h"
#include "store/resources.h"
#include "util/json.h"
#include "util/status.h"
#include "util/text.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS "Microsoft.Compute"
#define VM_TYPE NS "/virtualMachines"
#define DES_TYPE NS "/diskEncryptionSets"
#define DISK_TYPE NS "/disks"

static int one_of(const char *v, const char *const *allowed)
{
    for (int i = 0; allowed[i]; i++)
        if (chsm_streq_ci(v, allowed[i]))
            return 1;
    return 0;
}

/* key_url_ok accepts a Managed HSM or Key Vault key URL (https://{vault}.vault.azure.net/keys/...).
 */
static int key_url_ok(const char *url)
{
    char hsm[128], key[128], ver[64];
    if (chsm_mhsm_parse_key_url(url, hsm, sizeof hsm, key, sizeof key, ver, sizeof ver) ==
            CHSM_OK ||
        chsm_kv_parse_key_url(url, hsm, sizeof hsm, key, sizeof key, ver, sizeof ver) == CHSM_OK)
        return 1;
    const char *host = url ? strstr(url, "://") : NULL;
    if (!host)
        return 0;
    host += 3;
    const char *path = host + strcspn(host, "/");
    return chsm_starts_with_ci(path, "/keys/") && strlen(path) > 6;
}

/* validate_des checks a disk encryption set body; answers 400. */
static int validate_des(chsm_response *res, const cJSON *in)
{
    const cJSON *p = chsm_json_obj(in, "properties");
    static const char *const types[] = {"EncryptionAtRestWithCustomerKey",
                                        "EncryptionAtRestWithPlatformAndCustomerKeys",
                                        "ConfidentialVmEncryptedWithCustomerKey", NULL};
    const char *et = p ? chsm_json_str(p, "encryptionType") : NULL;
    if (et && !one_of(et, types)) {
        chsm_arm_error_target(res, 400, "InvalidParameter", "properties.encryptionType",
                              "The value '%.100s' of encryptionType is invalid.", et);
        return 1;
    }
    const cJSON *ak = p ? chsm_json_obj(p, "activeKey") : NULL;
    const char *url = ak ? chsm_json_str(ak, "keyUrl") : NULL;
    if (!url || !key_url_ok(url)) {
        chsm_arm_error_target(res, 400, "InvalidParameter", "properties.activeKey.keyUrl",
                              "properties.activeKey.keyUrl must be the URL of a key in a Key "
                              "Vault or a Managed HSM (https://{name}.managedhsm.azure.net/keys/"
                              "{key}/{version}).");
        return 1;
    }
    return 0;
}

/* validate_vm checks a virtual machine body, and that its OS disk's
 * encryption set exists and fits a confidential VM; answers 400/404. */
static int validate_vm(chsm_request *req, chsm_response *res, const cJSON *in)
{
    const cJSON *p = chsm_json_obj(in, "properties");
    const cJSON *sp = p ? chsm_json_obj(p, "securityProfile") : NULL;
    const char *st = sp ? chsm_json_str(sp, "securityType") : NULL;
    static const char *const sec_types[] = {"TrustedLaunch", "ConfidentialVM", "Standard", NULL};
    if (st && !one_of(st, sec_types)) {
        chsm_arm_error_target(res, 400, "InvalidParameter",
                              "properties.securityProfile.securityType",
                              "The value '%.100s' of securityType is invalid.", st);
        return 1;
    }
    const cJSON *sto = p ? chsm_json_obj(p, "storageProfile") : NULL;
    const cJSON *os = sto ? chsm_json_obj(sto, "osDisk") : NULL;
    const cJSON *md = os ? chsm_json_obj(os, "managedDisk") : NULL;
    const cJSON *dsp = md ? chsm_json_obj(md, "securityProfile") : NULL;
    const char *set = dsp ? chsm_json_str(dsp, "securityEncryptionType") : NULL;
    static const char *const enc_types[] = {"DiskWithVMGuestState", "VMGuestStateOnly",
                                            "NonPersistedTPM", NULL};
    if (set && !one_of(set, enc_types)) {
        chsm_arm_error_target(res, 400, "InvalidParameter",
                              "properties.storageProfile.osDisk.managedDisk.securityProfile."
                              "securityEncryptionType",
                              "The value '%.100s' of securityEncryptionType is invalid.", set);
        return 1;
    }
    if (st && chsm_streq_ci(st, "ConfidentialVM") && !set) {
        chsm_arm_error_target(res, 400, "InvalidParameter",
                              "properties.storageProfile.osDisk.managedDisk.securityProfile."
                              "securityEncryptionType",
                              "A confidential VM needs the OS disk's securityEncryptionType.");
        return 1;
    }
    const cJSON *des = dsp ? chsm_json_obj(dsp, "diskEncryptionSet") : NULL;
    const char *des_id = des ? chsm_json_str(des, "id") : NULL;
    if (des && !des_id) {
        chsm_arm_error_target(res, 400, "InvalidParameter", "diskEncryptionSet.id",
                              "diskEncryptionSet.id is required.");
        return 1;
    }
    if (des_id) {
        chsm_resource d;
        int rc = chsm_resources_get(req->app->store, des_id, &d);
        if (rc == CHSM_ENOTFOUND || (rc == CHSM_OK && !chsm_streq_ci(d.type, DES_TYPE))) {
            if (rc == CHSM_OK)
                chsm_resource_clear(&d);
            chsm_arm_error(res, 404, "NotFound", "The disk encryption set '%.300s' was not found.",
                           des_id);
            return 1;
        }
        if (rc != CHSM_OK) {
            chsm_provider_store_error(res, rc);
            return 1;
        }
        const char *et = chsm_json_str(chsm_json_obj(d.body, "properties"), "encryptionType");
        int ok = !(set && chsm_streq_ci(set, "DiskWithVMGuestState")) ||
                 chsm_streq_ci(et, "ConfidentialVmEncryptedWithCustomerKey");
        chsm_resource_clear(&d);
        if (!ok) {
            chsm_arm_error(res, 400, "InvalidParameter",
                           "The disk encryption set of a confidential VM OS disk must have "
                           "encryptionType ConfidentialVmEncryptedWithCustomerKey.");
            return 1;
        }
    }
    return 0;
}

static void put_doc(chsm_request *req, chsm_response *res, const char *type, int is_vm)
{
    const char *sub = chsm_request_param(req, "subscriptionId");
    const char *rg = chsm_request_param(req, "resourceGroupName");
    const char *name = chsm_request_param(req, "name");
    if (chsm_arm_require_resource_group(req, res, sub, rg) ||
        chsm_arm_check_name(res, is_vm ? "virtual machine" : "disk encryption set", name, 1,
                            is_vm ? 64 : 80, "-_."))
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
    if (chsm_arm_check_tags(cJSON_GetObjectItem(in, "tags"), res) ||
        (is_vm ? validate_vm(req, res, in) : validate_des(res, in))) {
        cJSON_Delete(in);
        return;
    }
    char *id = chsm_arm_resource_id(sub, rg, type, name);
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
    cJSON *doc = cJSON_Duplicate(in, 1);
    chsm_json_set_str(doc, "id", existed ? old.id : id);
    chsm_json_set_str(doc, "name", existed ? chsm_json_str(old.body, "name") : name);
    chsm_json_set_str(doc, "type", type);
    cJSON *p = chsm_json_obj(doc, "properties");
    if (!p) {
        p = cJSON_CreateObject();
        chsm_json_set(doc, "properties", p);
    }
    chsm_json_set_str(p, "provisioningState", "Succeeded");
    if (is_vm) {
        const char *vm_id =
            existed ? chsm_json_str(chsm_json_obj(old.body, "properties"), "vmId") : NULL;
        char fresh[37];
        chsm_uuid(fresh);
        chsm_json_set_str(p, "vmId", vm_id ? vm_id : fresh);
    }
    cJSON *ident = chsm_json_obj(doc, "identity");
    const char *it = ident ? chsm_json_str(ident, "type") : NULL;
    if (it && chsm_starts_with_ci(it, "SystemAssigned")) {
        const cJSON *oi = existed ? chsm_json_obj(old.body, "identity") : NULL;
        const char *pid = oi ? chsm_json_str(oi, "principalId") : NULL;
        char fresh[37];
        chsm_uuid(fresh);
        chsm_json_set_str(ident, "principalId", pid ? pid : fresh);
        chsm_json_set_str(ident, "tenantId",
                          req->principal.tid[0] ? req->principal.tid : CHSM_DEFAULT_TENANT);
    }
    chsm_json_set(
        doc, "systemData",
        chsm_arm_system_data(req, existed ? chsm_json_obj(old.body, "systemData") : NULL));
    chsm_resource r = {.id = existed ? old.id : id,
                       .type = (char *)type,
                       .name = (char *)chsm_json_str(doc, "name"),
                       .subscription = (char *)sub,
                       .resource_group = (char *)rg,
                       .body = doc,
                       .created_ms = old.created_ms};
    if (rc == CHSM_OK)
        rc = chsm_resources_put(s, &r);
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

static char *doc_id(chsm_request *req, chsm_response *res, const char *type)
{
    const char *sub = chsm_request_param(req, "subscriptionId");
    const char *rg = chsm_request_param(req, "resourceGroupName");
    const char *name = chsm_request_param(req, "name");
    if (chsm_arm_require_resource_group(req, res, sub, rg))
        return NULL;
    return chsm_arm_resource_id(sub, rg, type, name);
}

static void get_doc(chsm_request *req, chsm_response *res, const char *type)
{
    char *id = doc_id(req, res, type);
    if (!id)
        return;
    chsm_resource r;
    int rc = chsm_resources_get(req->app->store, id, &r);
    if (rc == CHSM_ENOTFOUND)
        chsm_arm_error(res, 404, "ResourceNotFound",
                       "The Resource '%s/%s' under resource group '%s' was not found.", type,
                       chsm_request_param(req, "name"),
                       chsm_request_param(req, "resourceGroupName"));
    else if (rc != CHSM_OK)
        chsm_provider_store_error(res, rc);
    else {
        chsm_arm_json(res, 200, r.body);
        r.body = NULL;
        chsm_resource_clear(&r);
    }
    free(id);
}

static void delete_doc(chsm_request *req, chsm_response *res, const char *type)
{
    char *id = doc_id(req, res, type);
    if (!id)
        return;
    int rc = chsm_resources_delete(req->app->store, id);
    if (rc == CHSM_ENOTFOUND)
        chsm_arm_json(res, 204, NULL);
    else if (rc != CHSM_OK)
        chsm_provider_store_error(res, rc);
    else
        chsm_arm_json(res, 200, NULL);
    free(id);
}

static void list_docs(chsm_request *req, chsm_response *res, const char *type)
{
    const char *sub = chsm_request_param(req, "subscriptionId");
    const char *rg = chsm_request_param(req, "resourceGroupName");
    if (chsm_arm_require_resource_group(req, res, sub, rg))
        return;
    chsm_resource_query q = {.type = type, .subscription = sub, .resource_group = rg};
    chsm_provider_list_all(req, res, &q);
}

static void put_vm(chsm_request *req, chsm_response *res)
{
    put_doc(req, res, VM_TYPE, 1);
}
static void get_vm(chsm_request *req, chsm_response *res)
{
    get_doc(req, res, VM_TYPE);
}
static void delete_vm(chsm_request *req, chsm_response *res)
{
    delete_doc(req, res, VM_TYPE);
}
static void list_vms(chsm_request *req, chsm_response *res)
{
    list_docs(req, res, VM_TYPE);
}
static void put_des(chsm_request *req, chsm_response *res)
{
    put_doc(req, res, DES_TYPE, 0);
}
static void get_des(chsm_request *req, chsm_response *res)
{
    get_doc(req, res, DES_TYPE);
}
static void delete_des(chsm_request *req, chsm_response *res)
{
    delete_doc(req, res, DES_TYPE);
}
static void list_des(chsm_request *req, chsm_response *res)
{
    list_docs(req, res, DES_TYPE);
}

/* Managed disks exist only as Azure Backup restores them (recoveryservices.c):
 * readable, listable and deletable here, not created by PUT. */
static void get_disk(chsm_request *req, chsm_response *res)
{
    get_doc(req, res, DISK_TYPE);
}
static void delete_disk(chsm_request *req, chsm_response *res)
{
    delete_doc(req, res, DISK_TYPE);
}
static void list_disks(chsm_request *req, chsm_response *res)
{
    list_docs(req, res, DISK_TYPE);
}

#define RG "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/" NS
#define V chsm_api_compute

static const chsm_route routes[] = {
    {"PUT", RG "/virtualMachines/{name}", put_vm, "virtualMachines/write", V, 0},
    {"GET", RG "/virtualMachines/{name}", get_vm, "virtualMachines/read", V, 0},
    {"DELETE", RG "/virtualMachines/{name}", delete_vm, "virtualMachines/delete", V, 0},
    {"GET", RG "/virtualMachines", list_vms, "virtualMachines/list", V, 0},
    {"PUT", RG "/diskEncryptionSets/{name}", put_des, "diskEncryptionSets/write", V, 0},
    {"GET", RG "/diskEncryptionSets/{name}", get_des, "diskEncryptionSets/read", V, 0},
    {"DELETE", RG "/diskEncryptionSets/{name}", delete_des, "diskEncryptionSets/delete", V, 0},
    {"GET", RG "/diskEncryptionSets", list_des, "diskEncryptionSets/list", V, 0},
    {"GET", RG "/disks/{name}", get_disk, "disks/read", V, 0},
    {"DELETE", RG "/disks/{name}", delete_disk, "disks/delete", V, 0},
    {"GET", RG "/disks", list_disks, "disks/list", V, 0},
};

const chsm_provider chsm_provider_compute = {NS, routes, CHSM_COUNT(routes), NULL};

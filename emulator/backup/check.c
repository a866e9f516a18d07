/* check.c - the confidential VM / customer-managed key checks Azure Backup
 * makes before it protects or backs up a VM (shared/reference/
 * backup-and-managed-hsm.md section 6). */
#include "backup/backup.h"

#include "app/app.h"
#include "mhsm/mhsm.h"
#include "store/resources.h"
#include "util/json.h"
#include "util/status.h"
#include "util/text.h"

#include <stdio.h>
#include <string.h>

static void copy(char *out, size_t outlen, const char *s)
{
    snprintf(out, outlen, "%s", s ? s : "");
}

/* id_segment copies the segment after key (e.g. "resourceGroups") of an ARM id. */
static void id_segment(const char *id, const char *key, char *out, size_t outlen)
{
    out[0] = '\0';
    size_t kl = strlen(key);
    for (const char *p = id; p && *p; p++) {
        if (*p == '/' && chsm_starts_with_ci(p + 1, key) && p[1 + kl] == '/') {
            const char *v = p + 2 + kl;
            size_t n = strcspn(v, "/");
            snprintf(out, outlen, "%.*s", (int)n, v);
            return;
        }
    }
}

int chsm_backup_read_vm(struct chsm_app *app, const char *vm_id, chsm_backup_vm *out)
{
    memset(out, 0, sizeof *out);
    chsm_resource vm;
    int rc = chsm_resources_get(app->store, vm_id, &vm);
    if (rc != CHSM_OK)
        return rc;
    if (!chsm_streq_ci(vm.type, "Microsoft.Compute/virtualMachines")) {
        chsm_resource_clear(&vm);
        return CHSM_ENOTFOUND;
    }
    copy(out->vm_name, sizeof out->vm_name, vm.name);
    id_segment(vm.id, "resourceGroups", out->resource_group, sizeof out->resource_group);
    copy(out->location, sizeof out->location, chsm_json_str(vm.body, "location"));
    const cJSON *p = chsm_json_obj(vm.body, "properties");
    copy(out->size, sizeof out->size, chsm_json_str(chsm_json_obj(p, "hardwareProfile"), "vmSize"));
    const cJSON *os = chsm_json_obj(chsm_json_obj(p, "storageProfile"), "osDisk");
    copy(out->os_type, sizeof out->os_type, chsm_json_str(os, "osType"));
    out->confidential = chsm_streq_ci(
        chsm_json_str(chsm_json_obj(p, "securityProfile"), "securityType"), "ConfidentialVM");
    const cJSON *dsp = chsm_json_obj(chsm_json_obj(os, "managedDisk"), "securityProfile");
    copy(out->des_id, sizeof out->des_id,
         chsm_json_str(chsm_json_obj(dsp, "diskEncryptionSet"), "id"));
    chsm_resource_clear(&vm);
    if (!out->des_id[0])
        return CHSM_OK;
    chsm_resource des;
    rc = chsm_resources_get(app->store, out->des_id, &des);
    if (rc == CHSM_ENOTFOUND)
        return CHSM_OK; /* a set deleted after the VM was made: no key to check */
    if (rc != CHSM_OK)
        return rc;
    const cJSON *dp = chsm_json_obj(des.body, "properties");
    out->cmk = chsm_streq_ci(chsm_json_str(dp, "encryptionType"),
                             "ConfidentialVmEncryptedWithCustomerKey");
    copy(out->key_url, sizeof out->key_url,
         chsm_json_str(chsm_json_obj(dp, "activeKey"), "keyUrl"));
    chsm_resource_clear(&des);
    char version[64];
    if (chsm_mhsm_parse_key_url(out->key_url, out->hsm_name, sizeof out->hsm_name, out->key_name,
                                sizeof out->key_name, version, sizeof version) == CHSM_OK) {
        chsm_resource hsm;
        rc = chsm_mhsm_find(app, out->hsm_name, &hsm);
        if (rc == CHSM_OK) {
            copy(out->hsm_id, sizeof out->hsm_id, hsm.id);
            chsm_resource_clear(&hsm);
        } else if (rc != CHSM_ENOTFOUND) {
            return rc;
        }
    } else if (chsm_kv_parse_key_url(out->key_url, out->vault_name, sizeof out->vault_name,
                                     out->key_name, sizeof out->key_name, version,
                                     sizeof version) == CHSM_OK) {
        chsm_resource kv;
        rc = chsm_kv_find(app, out->vault_name, &kv);
        if (rc == CHSM_OK) {
            copy(out->vault_id, sizeof out->vault_id, kv.id);
            chsm_resource_clear(&kv);
        } else if (rc != CHSM_ENOTFOUND) {
            return rc;
        }
    }
    return CHSM_OK;
}

const char *chsm_backup_key_owner(const chsm_backup_vm *vm)
{
    return vm->hsm_id[0] ? vm->hsm_id : vm->vault_id;
}

int chsm_backup_check(struct chsm_app *app, const chsm_backup_vm *vm, const cJSON *policy,
                      char *code, size_t codelen, char *message, size_t messagelen)
{
    code[0] = message[0] = '\0';
    if (vm->confidential && policy) {
        const char *type = chsm_json_str(chsm_json_obj(policy, "properties"), "policyType");
        if (!type || !chsm_streq_ci(type, "V2")) {
            /* No public source gives the code: docs/backup.md. */
            snprintf(code, codelen, "UserErrorStandardPolicyNotSupportedForConfidentialVM");
            snprintf(message, messagelen,
                     "Confidential VMs can be protected only with an Enhanced policy (policyType "
                     "V2). The default policy won't support Confidential Azure VMs.");
            return 1;
        }
    }
    if (!vm->confidential || !vm->cmk)
        return 0;
    int ok = 0;
    if (vm->hsm_id[0]) {
        ok = chsm_mhsm_backup_service_allowed(app, vm->hsm_id, vm->key_name);
    } else if (vm->vault_id[0]) {
        chsm_resource kv;
        ok = chsm_resources_get(app->store, vm->vault_id, &kv);
        if (ok == CHSM_OK) {
            ok = chsm_kv_backup_service_allowed(app, &kv, vm->key_name);
            chsm_resource_clear(&kv);
        } else if (ok == CHSM_ENOTFOUND) {
            ok = 0;
        }
    }
    if (ok < 0)
        return ok;
    /* A Managed HSM or Key Vault that no longer exists (or a key URL that is
     * neither): Backup cannot read the key, so it may not (docs/backup.md). */
    if (!ok) {
        snprintf(code, codelen, "%s", CHSM_BACKUP_KV_PERMISSIONS_CODE);
        snprintf(message, messagelen, "%s", CHSM_BACKUP_KV_PERMISSIONS_MESSAGE);
        return 1;
    }
    return 0;
}

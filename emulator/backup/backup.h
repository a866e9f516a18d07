/* backup.h - Azure Backup's view of a virtual machine: is it a confidential
 * VM whose OS disk is encrypted with a customer-managed key, where is that
 * key, and may the Backup Management Service use it (docs/backup.md). */
#ifndef CHSM_BACKUP_BACKUP_H
#define CHSM_BACKUP_BACKUP_H

#include <cjson/cJSON.h>
#include <stddef.h>

struct chsm_app;

/* The code and message Azure Backup reports when it may not use the key. */
#define CHSM_BACKUP_KV_PERMISSIONS_CODE "UserErrorKeyVaultPermissionsNotConfigured"
#define CHSM_BACKUP_KV_PERMISSIONS_MESSAGE                                                         \
    "Azure Backup Service does not have sufficient permissions to Key Vault for Backup of "        \
    "Encrypted Virtual Machines."

/* What Azure Backup reads of a VM. */
typedef struct chsm_backup_vm {
    int confidential;     /* securityProfile.securityType == ConfidentialVM */
    int cmk;              /* its OS disk set is ConfidentialVmEncryptedWithCustomerKey */
    char des_id[512];     /* the OS disk's disk encryption set, or "" */
    char key_url[512];    /* the set's activeKey.keyUrl, or "" */
    char hsm_name[128];   /* the Managed HSM of the key, or "" (Key Vault key) */
    char hsm_id[512];     /* its ARM id, or "" when no such HSM exists */
    char vault_name[128]; /* the Key Vault of the key, or "" (Managed HSM key) */
    char vault_id[512];   /* its ARM id, or "" when no such vault exists */
    char key_name[128];   /* the key's name */
    char vm_name[128];
    char resource_group[128];
    char location[64];
    char size[64];    /* hardwareProfile.vmSize */
    char os_type[16]; /* storageProfile.osDisk.osType */
} chsm_backup_vm;

/* chsm_backup_read_vm loads what Backup reads of VM vm_id into out;
 * CHSM_ENOTFOUND when the VM (not its key) does not exist. */
int chsm_backup_read_vm(struct chsm_app *app, const char *vm_id, chsm_backup_vm *out);

/* chsm_backup_key_owner is the ARM id of the Managed HSM or Key Vault holding vm's key,
 * or "" when neither exists. */
const char *chsm_backup_key_owner(const chsm_backup_vm *vm);

/* chsm_backup_check decides whether Backup may protect or back up vm under
 * policy (a backupPolicies document, may be NULL for a backup run): a
 * confidential VM needs an Enhanced (V2) policy; a CVM with a CMK in a
 * Managed HSM needs the Backup Management Service to hold keys/read/action
 * and keys/backup/action on the key; one in a Key Vault needs an access
 * policy with keys get, list and backup, or in RBAC mode keys/read and
 * keys/backup/action on the key. Returns 0 when allowed, 1 when refused
 * (code and message filled), <0 on a store error. */
int chsm_backup_check(struct chsm_app *app, const chsm_backup_vm *vm, const cJSON *policy,
                      char *code, size_t codelen, char *message, size_t messagelen);

#endif

/* roles.c - the built-in role definitions the emulator knows, as Azure
 * publishes them (Learn "Azure built-in roles" for the ARM roles; Learn
 * "Local RBAC built-in roles for Managed HSM" for the two Managed HSM roles,
 * whose permitted-operations table lists data actions without the
 * "Microsoft.KeyVault/managedHsm" prefix written out here; the Key Vault roles
 * of "Azure built-in roles for Security", for vaults in RBAC mode). */
#include "rbac/rbac.h"

#include "util/buf.h"
#include "util/text.h"

#include <stdlib.h>
#include <string.h>

typedef struct builtin_role {
    const char *guid;
    const char *name;
    const char *description;
    const char *const *actions; /* each list NULL-terminated */
    const char *const *not_actions;
    const char *const *data_actions;
    const char *const *not_data_actions;
} builtin_role;

static const char *const none[] = {NULL};

static const char *const all_actions[] = {"*", NULL};

static const char *const contributor_not_actions[] = {
    "Microsoft.Authorization/*/Delete",
    "Microsoft.Authorization/*/Write",
    "Microsoft.Authorization/elevateAccess/Action",
    "Microsoft.Blueprint/blueprintAssignments/write",
    "Microsoft.Blueprint/blueprintAssignments/delete",
    "Microsoft.Compute/galleries/share/action",
    "Microsoft.Purview/consents/write",
    "Microsoft.Purview/consents/delete",
    "Microsoft.Resources/deploymentStacks/manageDenySetting/action",
    "Microsoft.Subscription/cancel/action",
    "Microsoft.Subscription/enable/action",
    NULL,
};

static const char *const reader_actions[] = {"*/read", NULL};

#define BLOB_SVC "Microsoft.Storage/storageAccounts/blobServices"

static const char *const blob_contributor_actions[] = {
    BLOB_SVC "/containers/delete",
    BLOB_SVC "/containers/read",
    BLOB_SVC "/containers/write",
    BLOB_SVC "/generateUserDelegationKey/action",
    NULL,
};

static const char *const blob_contributor_data_actions[] = {
    BLOB_SVC "/containers/blobs/delete",     BLOB_SVC "/containers/blobs/read",
    BLOB_SVC "/containers/blobs/write",      BLOB_SVC "/containers/blobs/move/action",
    BLOB_SVC "/containers/blobs/add/action", NULL,
};

static const char *const blob_owner_actions[] = {
    BLOB_SVC "/containers/*",
    BLOB_SVC "/generateUserDelegationKey/action",
    NULL,
};

static const char *const blob_owner_data_actions[] = {BLOB_SVC "/containers/blobs/*", NULL};

static const char *const blob_reader_actions[] = {
    BLOB_SVC "/containers/read",
    BLOB_SVC "/generateUserDelegationKey/action",
    NULL,
};

static const char *const blob_reader_data_actions[] = {BLOB_SVC "/containers/blobs/read", NULL};

#define MHSM "Microsoft.KeyVault/managedHsm"

static const char *const mhsm_crypto_user_data_actions[] = {
    MHSM "/keys/read/action",
    MHSM "/keys/write/action",
    MHSM "/keys/rotate/action",
    MHSM "/keys/create",
    MHSM "/keys/delete",
    MHSM "/keys/backup/action",
    MHSM "/keys/restore/action",
    MHSM "/keys/release/action",
    MHSM "/keys/import/action",
    MHSM "/keys/encrypt/action",
    MHSM "/keys/decrypt/action",
    MHSM "/keys/wrap/action",
    MHSM "/keys/unwrap/action",
    MHSM "/keys/sign/action",
    MHSM "/keys/verify/action",
    MHSM "/roleAssignments/read/action",
    MHSM "/roleDefinitions/read/action",
    NULL,
};

static const char *const mhsm_crypto_officer_data_actions[] = {
    MHSM "/keys/deletedKeys/read/action",  MHSM "/keys/deletedKeys/recover/action",
    MHSM "/keys/deletedKeys/delete",       MHSM "/roleAssignments/read/action",
    MHSM "/roleAssignments/write/action",  MHSM "/roleAssignments/delete/action",
    MHSM "/roleDefinitions/read/action",   MHSM "/roleDefinitions/write/action",
    MHSM "/roleDefinitions/delete/action", NULL,
};

#define KV "Microsoft.KeyVault"

/* The control-plane reads every Key Vault data role carries. */
static const char *const kv_data_role_actions[] = {
    "Microsoft.Authorization/*/read",
    "Microsoft.Insights/alertRules/*",
    "Microsoft.Resources/deployments/*",
    "Microsoft.Resources/subscriptions/resourceGroups/read",
    "Microsoft.Support/*",
    KV "/checkNameAvailability/read",
    KV "/deletedVaults/read",
    KV "/locations/*/read",
    KV "/vaults/*/read",
    KV "/operations/read",
    NULL,
};

static const char *const kv_admin_data_actions[] = {KV "/vaults/*", NULL};

static const char *const kv_crypto_officer_data_actions[] = {
    KV "/vaults/keys/*",
    KV "/vaults/keyrotationpolicies/*",
    NULL,
};

static const char *const kv_crypto_user_data_actions[] = {
    KV "/vaults/keys/read",           KV "/vaults/keys/update/action",
    KV "/vaults/keys/backup/action",  KV "/vaults/keys/encrypt/action",
    KV "/vaults/keys/decrypt/action", KV "/vaults/keys/wrap/action",
    KV "/vaults/keys/unwrap/action",  KV "/vaults/keys/sign/action",
    KV "/vaults/keys/verify/action",  NULL,
};

static const char *const kv_service_encryption_actions[] = {
    KV "/vaults/keys/read",
    KV "/vaults/keys/wrap/action",
    KV "/vaults/keys/unwrap/action",
    NULL,
};

static const char *const kv_reader_data_actions[] = {
    KV "/vaults/*/read",
    KV "/vaults/secrets/readMetadata/action",
    NULL,
};

static const builtin_role builtins[] = {
    {CHSM_ROLE_OWNER, "Owner",
     "Grants full access to manage all resources, including the ability to assign roles in "
     "Azure RBAC.",
     all_actions, none, none, none},
    {CHSM_ROLE_CONTRIBUTOR, "Contributor",
     "Grants full access to manage all resources, but does not allow you to assign roles in "
     "Azure RBAC, manage assignments in Azure Blueprints, or share image galleries.",
     all_actions, contributor_not_actions, none, none},
    {CHSM_ROLE_READER, "Reader", "View all resources, but does not allow you to make any changes.",
     reader_actions, none, none, none},
    {CHSM_ROLE_STORAGE_BLOB_DATA_CONTRIBUTOR, "Storage Blob Data Contributor",
     "Allows for read, write and delete access to Azure Storage blob containers and data",
     blob_contributor_actions, none, blob_contributor_data_actions, none},
    {CHSM_ROLE_STORAGE_BLOB_DATA_OWNER, "Storage Blob Data Owner",
     "Allows for full access to Azure Storage blob containers and data, including assigning "
     "POSIX access control.",
     blob_owner_actions, none, blob_owner_data_actions, none},
    {CHSM_ROLE_STORAGE_BLOB_DATA_READER, "Storage Blob Data Reader",
     "Allows for read access to Azure Storage blob containers and data", blob_reader_actions, none,
     blob_reader_data_actions, none},
    {CHSM_ROLE_MHSM_CRYPTO_USER, "Managed HSM Crypto User",
     "Grants permissions to perform all key management operations except purge or recover "
     "deleted keys and export keys.",
     none, none, mhsm_crypto_user_data_actions, none},
    {CHSM_ROLE_MHSM_CRYPTO_OFFICER, "Managed HSM Crypto Officer",
     "Grants permissions to perform all role management, purge or recover deleted keys, and "
     "export keys. Not permitted to perform any other key management operations.",
     none, none, mhsm_crypto_officer_data_actions, none},
    {CHSM_ROLE_KV_ADMINISTRATOR, "Key Vault Administrator",
     "Perform all data plane operations on a key vault and all objects in it, including "
     "certificates, keys, and secrets. Cannot manage key vault resources or manage role "
     "assignments. Only works for key vaults that use the 'Azure role-based access control' "
     "permission model.",
     kv_data_role_actions, none, kv_admin_data_actions, none},
    {CHSM_ROLE_KV_CRYPTO_OFFICER, "Key Vault Crypto Officer",
     "Perform any action on the keys of a key vault, except manage permissions. Only works for "
     "key vaults that use the 'Azure role-based access control' permission model.",
     kv_data_role_actions, none, kv_crypto_officer_data_actions, none},
    {CHSM_ROLE_KV_CRYPTO_USER, "Key Vault Crypto User",
     "Perform cryptographic operations using keys. Only works for key vaults that use the "
     "'Azure role-based access control' permission model.",
     none, none, kv_crypto_user_data_actions, none},
    {CHSM_ROLE_KV_CRYPTO_SERVICE_ENCRYPTION_USER, "Key Vault Crypto Service Encryption User",
     "Read metadata of keys and perform wrap/unwrap operations. Only works for key vaults that "
     "use the 'Azure role-based access control' permission model.",
     none, none, kv_service_encryption_actions, none},
    {CHSM_ROLE_KV_READER, "Key Vault Reader",
     "Read metadata of key vaults and its certificates, keys, and secrets. Cannot read "
     "sensitive values such as secret contents or key material. Only works for key vaults that "
     "use the 'Azure role-based access control' permission model.",
     kv_data_role_actions, none, kv_reader_data_actions, none},
};

#define NBUILTINS (sizeof builtins / sizeof builtins[0])

/* string_array returns a new array of list's strings, or NULL when out of memory. */
static cJSON *string_array(const char *const *list)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && list[i]; i++) {
        if (!cJSON_AddItemToArray(a, cJSON_CreateString(list[i]))) {
            cJSON_Delete(a);
            return NULL;
        }
    }
    return a;
}

/* add_array adds name: list's strings to obj; 0 when out of memory (nothing leaked). */
static int add_array(cJSON *obj, const char *name, const char *const *list)
{
    cJSON *a = string_array(list);
    if (a && cJSON_AddItemToObject(obj, name, a))
        return 1;
    cJSON_Delete(a);
    return 0;
}

/* role_json returns the definition of r, whole, or NULL when out of memory (never a document
 * with members missing: a role without its actions would silently deny). */
static cJSON *role_json(const builtin_role *r, const char *subscription)
{
    chsm_buf id = {0};
    if (subscription && *subscription)
        chsm_buf_printf(&id, "/subscriptions/%s", subscription);
    chsm_buf_printf(&id, "/providers/Microsoft.Authorization/roleDefinitions/%s", r->guid);
    cJSON *doc = cJSON_CreateObject();
    int ok = doc && id.data && cJSON_AddStringToObject(doc, "id", id.data);
    chsm_buf_free(&id);
    ok = ok && cJSON_AddStringToObject(doc, "name", r->guid) &&
         cJSON_AddStringToObject(doc, "type", CHSM_RBAC_DEFINITION_TYPE);
    cJSON *props = ok ? cJSON_AddObjectToObject(doc, "properties") : NULL;
    ok = props && cJSON_AddStringToObject(props, "roleName", r->name) &&
         cJSON_AddStringToObject(props, "type", "BuiltInRole") &&
         cJSON_AddStringToObject(props, "description", r->description);
    cJSON *scopes = ok ? cJSON_AddArrayToObject(props, "assignableScopes") : NULL;
    ok = scopes && cJSON_AddItemToArray(scopes, cJSON_CreateString("/"));
    cJSON *perms = ok ? cJSON_AddArrayToObject(props, "permissions") : NULL;
    cJSON *p = perms ? cJSON_CreateObject() : NULL;
    if (p && !cJSON_AddItemToArray(perms, p)) {
        cJSON_Delete(p);
        p = NULL;
    }
    ok = p && add_array(p, "actions", r->actions) && add_array(p, "notActions", r->not_actions) &&
         add_array(p, "dataActions", r->data_actions) &&
         add_array(p, "notDataActions", r->not_data_actions);
    if (!ok) {
        cJSON_Delete(doc);
        return NULL;
    }
    return doc;
}

int chsm_rbac_builtin_exists(const char *guid)
{
    for (size_t i = 0; guid && i < NBUILTINS; i++)
        if (chsm_streq_ci(builtins[i].guid, guid))
            return 1;
    return 0;
}

cJSON *chsm_rbac_builtin_role(const char *guid, const char *subscription)
{
    if (!guid)
        return NULL;
    for (size_t i = 0; i < NBUILTINS; i++)
        if (chsm_streq_ci(builtins[i].guid, guid))
            return role_json(&builtins[i], subscription);
    return NULL;
}

size_t chsm_rbac_builtin_count(void)
{
    return NBUILTINS;
}

cJSON *chsm_rbac_builtin_role_at(size_t i, const char *subscription)
{
    return i < NBUILTINS ? role_json(&builtins[i], subscription) : NULL;
}

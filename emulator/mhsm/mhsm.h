/* mhsm.h - the Managed HSM model: local RBAC, keys and their sealed material.
 *
 * A Managed HSM (Microsoft.KeyVault/managedHSMs, providers/keyvault.c) has a
 * data plane of its own (mhsm/dataplane.c, docs/managed-hsm.md) with its own
 * role-based access control, separate from ARM's: role definitions live at
 * "/", role assignments at "/", "/keys" or "/keys/{name}", and every data
 * action is checked against them. Everything is kept as documents in the
 * generic resource store under the HSM's ARM id, so deleting the HSM or its
 * resource group drops it in the same transaction:
 *   {hsmId}/keys/{name}                    Microsoft.KeyVault/managedHSMs/keys
 *   {hsmId}/keys/{name}/versions/{version} Microsoft.KeyVault/managedHSMs/keys/versions
 *   {hsmId}/roleDefinitions/{guid}         Microsoft.KeyVault/managedHSMs/roleDefinitions
 *   {hsmId}/roleAssignments/{guid}         Microsoft.KeyVault/managedHSMs/roleAssignments */
#ifndef CHSM_MHSM_MHSM_H
#define CHSM_MHSM_MHSM_H

#include "store/resources.h"

#include <cjson/cJSON.h>
#include <stddef.h>

struct chsm_app;

#define CHSM_MHSM_TYPE "Microsoft.KeyVault/managedHSMs"
#define CHSM_MHSM_KEY_TYPE "Microsoft.KeyVault/managedHSMs/keys"
#define CHSM_MHSM_KEY_VERSION_TYPE "Microsoft.KeyVault/managedHSMs/keys/versions"
#define CHSM_MHSM_ROLE_DEF_TYPE "Microsoft.KeyVault/managedHSMs/roleDefinitions"
#define CHSM_MHSM_ROLE_ASSIGNMENT_TYPE "Microsoft.KeyVault/managedHSMs/roleAssignments"

/* The Backup Management Service: its well-known application id, and the
 * object id it has in the emulator's tenant (fixed: docs/backup.md). */
#define CHSM_BMS_APP_ID "262044b1-e2ce-469f-a196-69ab7ada62d3"
#define CHSM_BMS_OBJECT_ID "6a4b2f8e-1c3d-4e5f-9a7b-262044b1e2ce"

/* Built-in local role ids (stable across HSMs). */
#define CHSM_MHSM_ROLE_ADMINISTRATOR "a290e904-7015-4bba-90c8-60543313cdb4"
#define CHSM_MHSM_ROLE_CRYPTO_OFFICER "515eb02d-2335-4d2d-92f2-b1cbdf9c3778"
#define CHSM_MHSM_ROLE_CRYPTO_USER "21dbd100-6940-42c2-9190-5d6cb909625b"
#define CHSM_MHSM_ROLE_BACKUP "7b127d3c-77bd-4e3e-bbe0-dbb8971fa7f8"

/* Data actions the data plane and Azure Backup check. */
#define CHSM_MHSM_ACTION(x) "Microsoft.KeyVault/managedHsm/" x
#define CHSM_MHSM_KEYS_READ CHSM_MHSM_ACTION("keys/read/action")
#define CHSM_MHSM_KEYS_BACKUP CHSM_MHSM_ACTION("keys/backup/action")

/* The role definition id prefix role assignments carry. */
#define CHSM_MHSM_ROLE_DEF_PREFIX                                                                  \
    "Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/"

/* ---- shared by the Managed HSM and the Key Vault vault models ---- */

/* chsm_mhsm_find_named loads the resource of type named name (any case, any subscription) into
 * out (caller clears); CHSM_ENOTFOUND when none (or name is NULL). */
int chsm_mhsm_find_named(struct chsm_app *app, const char *type, const char *name,
                         chsm_resource *out);
/* chsm_mhsm_host_uri writes "{scheme}://{lowercase name}.{domain}:{armPort}" (scheme NULL =
 * https; no trailing '/'). */
void chsm_mhsm_host_uri(const struct chsm_app *app, const char *scheme, const char *name,
                        const char *domain, char *out, size_t outlen);
/* chsm_mhsm_path_segment copies the next '/'-separated segment of *p (up to '?' or '#') into
 * out and advances *p; 0 when there is none or it does not fit. */
int chsm_mhsm_path_segment(const char **p, char *out, size_t outlen);

/* ---- HSMs ---- */

/* chsm_mhsm_find loads the Managed HSM named name (any case, any
 * subscription: names are global, as DNS names are) into out (caller clears);
 * CHSM_ENOTFOUND when none. */
int chsm_mhsm_find(struct chsm_app *app, const char *name, chsm_resource *out);
/* chsm_mhsm_uri writes the data-plane URL of HSM name as clients should use
 * it: "{scheme}://{name}.managedhsm.localhost:{armPort}" (no trailing '/'). */
void chsm_mhsm_uri(const struct chsm_app *app, const char *scheme, const char *name, char *out,
                   size_t outlen);
/* chsm_mhsm_parse_key_url extracts the HSM name and key name (and version, may be
 * empty) from a key URL: https://{hsm}.managedhsm.azure.net/keys/{k}[/{v}],
 * https://{hsm}.managedhsm.localhost:P/keys/..., or {armUrl}/mhsm/{hsm}/keys/...
 * Returns CHSM_EINVAL when url is none of these. */
int chsm_mhsm_parse_key_url(const char *url, char *hsm, size_t hsmlen, char *key, size_t keylen,
                            char *version, size_t versionlen);

/* ---- local RBAC ---- */

/* chsm_mhsm_scope_normalize turns a scope as clients send it ("", "/", "//",
 * "keys", "//keys", "/keys/k1") into "/", "/keys" or "/keys/{name}" in out;
 * CHSM_EINVAL for anything else. */
int chsm_mhsm_scope_normalize(const char *raw, char *out, size_t outlen);
/* chsm_mhsm_scope_covers tells whether an assignment at scope applies to
 * target (same scope or an ancestor; key names compared case-insensitively). */
int chsm_mhsm_scope_covers(const char *scope, const char *target);
/* chsm_mhsm_builtin_count tells how many built-in local roles there are. */
size_t chsm_mhsm_builtin_count(void);
/* chsm_mhsm_builtin_role_at returns built-in role i as a RoleDefinition (new
 * object, caller frees), or NULL past the end. */
cJSON *chsm_mhsm_builtin_role_at(size_t i);
/* chsm_mhsm_builtin_role returns the built-in role with guid (any case), or NULL. */
cJSON *chsm_mhsm_builtin_role(const char *guid);
/* chsm_mhsm_role_definition_id writes "Microsoft.KeyVault/providers/
 * Microsoft.Authorization/roleDefinitions/{guid}" into out. */
void chsm_mhsm_role_definition_id(const char *guid, char *out, size_t outlen);
/* chsm_mhsm_find_role loads role guid of HSM hsm_id, built-in or custom
 * (caller frees *out); CHSM_ENOTFOUND when neither. */
int chsm_mhsm_find_role(struct chsm_app *app, const char *hsm_id, const char *guid, cJSON **out);
/* chsm_mhsm_allowed tells whether principal_id holds data action at target
 * scope of HSM hsm_id: some assignment to it (principal compared
 * case-insensitively) at target or an ancestor whose role lists the action
 * in dataActions and not in notDataActions. 1 yes, 0 no, <0 store error. */
int chsm_mhsm_allowed(struct chsm_app *app, const char *hsm_id, const char *principal_id,
                      const char *target, const char *action);
/* chsm_mhsm_assign stores role assignment name (a GUID) of role_guid to
 * principal_id at scope (normalized) on HSM hsm_id and returns it rendered in
 * *out if out is not NULL (caller frees). CHSM_ENOTFOUND when the role does
 * not exist, CHSM_EEXISTS when name is taken by another principal or role. */
int chsm_mhsm_assign(struct chsm_app *app, const char *hsm_id, const char *name, const char *scope,
                     const char *role_guid, const char *principal_id, cJSON **out);
/* chsm_mhsm_backup_service_allowed is the check Azure Backup makes before it
 * protects or backs up a confidential VM whose key is key_name in HSM
 * hsm_id: the Backup Management Service (object id, or its app id as
 * principal) holds both keys/read/action and keys/backup/action at
 * /keys/{key_name}. 1 yes, 0 no, <0 store error. */
int chsm_mhsm_backup_service_allowed(struct chsm_app *app, const char *hsm_id,
                                     const char *key_name);

/* ---- keys ---- */

/* chsm_mhsm_seal encrypts n bytes of key material under the emulator's
 * Managed HSM key (derived from the fleet secret) for context (aad) and
 * returns base64 text (caller frees), or NULL. */
char *chsm_mhsm_seal(const struct chsm_app *app, const char *context, const void *data, size_t n);
/* chsm_mhsm_unseal reverses chsm_mhsm_seal (caller frees *out with
 * chsm_crypto_key_free); CHSM_ECRYPTO when it does not authenticate. */
int chsm_mhsm_unseal(const struct chsm_app *app, const char *context, const char *sealed,
                     unsigned char **out, size_t *outlen);
/* chsm_mhsm_key_backup returns the opaque backup blob (base64url) of key
 * name of HSM hsm_id with all its versions (caller frees *blob);
 * CHSM_ENOTFOUND when no such (non-deleted) key. */
int chsm_mhsm_key_backup(struct chsm_app *app, const char *hsm_id, const char *name, char **blob);
/* chsm_mhsm_key_restore restores a blob from chsm_mhsm_key_backup (made by any
 * HSM of this emulator: they share one security domain) into HSM hsm_id and
 * writes the key's name to name; CHSM_EINVAL for a blob that does not open,
 * CHSM_EEXISTS when a key (or a deleted key) of that name exists. */
int chsm_mhsm_key_restore(struct chsm_app *app, const char *hsm_id, const char *blob, char *name,
                          size_t namelen);
/* chsm_mhsm_key_id returns "{hsmId}/keys/{name}" (caller frees). */
char *chsm_mhsm_key_id(const char *hsm_id, const char *name);
/* chsm_mhsm_version_id returns "{hsmId}/keys/{name}/versions/{version}" (caller frees). */
char *chsm_mhsm_version_id(const char *hsm_id, const char *name, const char *version);

/* ---- Key Vault vaults (the customer-managed key alternative) ----
 *
 * Microsoft.KeyVault/vaults (providers/keyvault.c) keep their keys with the
 * same documents and sealing as a Managed HSM, under the vault's ARM id
 * ({vaultId}/keys/{name}, .../versions/{v}); the data plane is served under
 * /kv/{vaultName}/... and https://{vaultName}.vault.localhost:PORT/...
 * (mhsm/dataplane.c). A vault authorises data-plane calls with its access
 * policies, or with Azure RBAC (rbac/) when enableRbacAuthorization is true. */

#define CHSM_KV_TYPE "Microsoft.KeyVault/vaults"
/* Key Vault RBAC data actions Azure Backup needs on a key (docs/backup.md). */
#define CHSM_KV_ACTION(x) "Microsoft.KeyVault/vaults/" x
#define CHSM_KV_KEYS_READ CHSM_KV_ACTION("keys/read")
#define CHSM_KV_KEYS_BACKUP CHSM_KV_ACTION("keys/backup/action")

/* chsm_kv_find loads the vault named name (any case, any subscription: vault
 * names are global DNS names) into out (caller clears); CHSM_ENOTFOUND when none. */
int chsm_kv_find(struct chsm_app *app, const char *name, chsm_resource *out);
/* chsm_kv_uri writes "{scheme}://{name}.vault.localhost:{armPort}" (no trailing '/'). */
void chsm_kv_uri(const struct chsm_app *app, const char *scheme, const char *name, char *out,
                 size_t outlen);
/* chsm_kv_parse_key_url extracts the vault name, key name and version (may be
 * empty) from https://{v}.vault.azure.net/keys/{k}[/{ver}],
 * https://{v}.vault.localhost:P/keys/... or {armUrl}/kv/{v}/keys/...;
 * CHSM_EINVAL for anything else. */
int chsm_kv_parse_key_url(const char *url, char *vault, size_t vaultlen, char *key, size_t keylen,
                          char *version, size_t versionlen);
/* chsm_kv_check_access_policies validates an accessPolicies array (entries of
 * {tenantId, objectId, applicationId?, permissions{keys,secrets,certificates,
 * storage}}, known permission names in any case); 0 when valid, else 1 with
 * a message in err. */
int chsm_kv_check_access_policies(const cJSON *policies, char *err, size_t errlen);
/* chsm_kv_policy_allows tells whether the access policies of vault document
 * vault grant principal (object id, compared case-insensitively) the key
 * permission perm ("get", "list", "backup", ...; "all" grants every one). */
int chsm_kv_policy_allows(const cJSON *vault, const char *principal, const char *perm);
/* chsm_kv_apply_policies applies an accessPolicies/{kind} request (kind
 * "add", "replace" or "remove") to the vault document's
 * properties.accessPolicies in place: add merges permissions into the entry
 * of the same tenantId/objectId/applicationId (or appends one), replace sets
 * that entry's permissions (appending when absent), remove takes the given
 * permissions away and drops entries left with none (an entry given with no
 * permissions is dropped whole). CHSM_EINVAL for an unknown kind. */
int chsm_kv_apply_policies(cJSON *vault, const char *kind, const cJSON *policies);
/* chsm_kv_allowed tells whether principal may use key permission perm on key
 * key_name (NULL for the key list) of vault: access policies, or with
 * enableRbacAuthorization the RBAC data action (keys/read for get and list,
 * keys/{perm}/action otherwise) at {vaultId}/keys/{key} (or the vault).
 * 1 yes, 0 no, <0 store error. rbac_action (may be NULL) gets the action. */
int chsm_kv_allowed(struct chsm_app *app, const chsm_resource *vault, const char *principal,
                    const char *key_name, const char *perm, char *rbac_action, size_t actionlen);
/* chsm_kv_backup_service_allowed is Azure Backup's check for a key in a
 * vault: the Backup Management Service (object id or app id) holds keys get,
 * list and backup in an access policy, or, in RBAC mode, keys/read and
 * keys/backup/action on the key. 1 yes, 0 no, <0 store error. */
int chsm_kv_backup_service_allowed(struct chsm_app *app, const chsm_resource *vault,
                                   const char *key_name);

#endif

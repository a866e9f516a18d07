/* rbac.h - Azure role-based access control: built-in role definitions, role
 * assignments at any scope, and the check "may principal P do data action A
 * at scope S", with assignments inherited downward (an assignment on a
 * resource group covers its storage accounts and their containers).
 *
 * Assignments are ARM resources of type Microsoft.Authorization/roleAssignments
 * stored by providers/authorization.c; this model reads them through the
 * store, so callers hold no SQL. */
#ifndef CHSM_RBAC_RBAC_H
#define CHSM_RBAC_RBAC_H

#include <cjson/cJSON.h>
#include <stddef.h>

struct chsm_app;

/* Built-in role definition ids (the GUIDs Azure uses). */
#define CHSM_ROLE_OWNER "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
#define CHSM_ROLE_CONTRIBUTOR "b24988ac-6180-42a0-ab88-20f7382dd24c"
#define CHSM_ROLE_READER "acdd72a7-3385-48ef-bd42-f606fba81ae7"
#define CHSM_ROLE_STORAGE_BLOB_DATA_CONTRIBUTOR "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
#define CHSM_ROLE_STORAGE_BLOB_DATA_OWNER "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"
#define CHSM_ROLE_STORAGE_BLOB_DATA_READER "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
#define CHSM_ROLE_MHSM_CRYPTO_USER "21dbd100-6940-42c2-9190-5d6cb909625b"
#define CHSM_ROLE_MHSM_CRYPTO_OFFICER "515eb02d-2335-4d2d-92f2-b1cbdf9c3778"
#define CHSM_ROLE_KV_ADMINISTRATOR "00482a5a-887f-4fb3-b363-3b7fe8e74483"
#define CHSM_ROLE_KV_CRYPTO_OFFICER "14b46e9e-c2b7-41b4-b07b-48a6ebf60603"
#define CHSM_ROLE_KV_CRYPTO_USER "12338af0-0e69-4776-bea7-57ae8d297424"
#define CHSM_ROLE_KV_CRYPTO_SERVICE_ENCRYPTION_USER "e147488a-f6f5-4113-8e2d-b22465e65bf6"
#define CHSM_ROLE_KV_READER "21090545-7ca7-4776-b22c-e363652d74d2"

/* The ARM types role assignments and custom role definitions are stored as
 * (store/resources.h): an assignment under its own id with parent_id = its
 * scope; a custom role under chsm_rbac_custom_role_id(guid). */
#define CHSM_RBAC_ASSIGNMENT_TYPE "Microsoft.Authorization/roleAssignments"
#define CHSM_RBAC_DEFINITION_TYPE "Microsoft.Authorization/roleDefinitions"

/* Data actions the emulator checks. */
#define CHSM_ACTION_BLOB_READ "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"
#define CHSM_ACTION_BLOB_WRITE                                                                     \
    "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write"
#define CHSM_ACTION_BLOB_DELETE                                                                    \
    "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete"

/* chsm_rbac_has_data_action tells whether principal_id holds, at scope or any
 * ancestor of it (case-insensitive ids), a role whose dataActions cover
 * action (wildcards as Azure writes them, minus notDataActions).
 * Returns 1 yes, 0 no, <0 on a store error. */
int chsm_rbac_has_data_action(struct chsm_app *app, const char *principal_id, const char *scope,
                              const char *action);
/* chsm_rbac_has_action is the same for control-plane actions ("actions"). */
int chsm_rbac_has_action(struct chsm_app *app, const char *principal_id, const char *scope,
                         const char *action);
/* chsm_rbac_builtin_role returns the built-in role definition with guid id
 * (a new object shaped like ARM's roleDefinition, caller frees), or NULL. */
cJSON *chsm_rbac_builtin_role(const char *guid, const char *subscription);
/* chsm_rbac_builtin_exists tells whether guid is a built-in role (no allocation). */
int chsm_rbac_builtin_exists(const char *guid);
/* chsm_rbac_builtin_count tells how many built-in roles the emulator knows. */
size_t chsm_rbac_builtin_count(void);
/* chsm_rbac_builtin_role_at returns built-in role number i (0-based) like
 * chsm_rbac_builtin_role (caller frees), or NULL past the end. */
cJSON *chsm_rbac_builtin_role_at(size_t i, const char *subscription);

/* chsm_rbac_action_matches tells whether a permission pattern covers action:
 * ASCII case-insensitive, each '*' standing for any run of characters
 * (including '/'): a lone star, a provider prefix followed by a star, a
 * star in the middle of a path. */
int chsm_rbac_action_matches(const char *pattern, const char *action);
/* chsm_rbac_scope_covers tells whether an assignment at scope applies to
 * target: the same id or an ancestor (target starts with scope + '/'),
 * compared case-insensitively, trailing '/' ignored; "/" covers everything. */
int chsm_rbac_scope_covers(const char *scope, const char *target);
/* chsm_rbac_role_permits tells whether a role definition (ARM shape, with
 * properties.permissions) grants action: some permission block lists a
 * matching pattern in actions (dataActions when data) and none in its
 * notActions (notDataActions). */
int chsm_rbac_role_permits(const cJSON *role, const char *action, int data);
/* chsm_rbac_role_guid writes the role GUID of a roleDefinitionId (a full id
 * ".../providers/Microsoft.Authorization/roleDefinitions/{guid}" in any case,
 * or a bare GUID) lowercased into out; CHSM_EINVAL when it has none. */
int chsm_rbac_role_guid(const char *role_definition_id, char out[37]);
/* chsm_rbac_custom_role_id returns the store id of custom role guid
 * ("/providers/Microsoft.Authorization/roleDefinitions/{guid}", caller frees). */
char *chsm_rbac_custom_role_id(const char *guid);
/* chsm_rbac_find_role loads role guid, built-in or custom, into *out (a new
 * roleDefinition object whose id is under subscription, or tenant-level when
 * NULL; caller frees). CHSM_ENOTFOUND when no such role exists. */
int chsm_rbac_find_role(struct chsm_app *app, const char *guid, const char *subscription,
                        cJSON **out);

#endif

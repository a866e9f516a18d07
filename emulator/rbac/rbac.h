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

#endif

/* arm.h - what the ARM storage provider (providers/storage.c) asks of the
 * blob store: the data-plane side of storage accounts (keys, access
 * switches) and blob containers, which ARM and the Blob endpoint share. */
#ifndef CHSM_BLOB_ARM_H
#define CHSM_BLOB_ARM_H

#include "blob/repo.h"

#include <stddef.h>

struct chsm_app;

/* chsm_blob_arm_name_taken tells whether account name is in use by another
 * live account than resource_id (the development account always is): 1, 0, <0. */
int chsm_blob_arm_name_taken(struct chsm_app *app, const char *name, const char *resource_id);
/* chsm_blob_arm_account_put creates the data-plane account for resource_id
 * with two new random keys, or updates its switches keeping the keys. A row
 * left by a deleted resource (resource group deletion) is replaced and its
 * containers and blobs dropped. Call inside the caller's transaction; the
 * files to remove after commit are appended to *ids. out gets the row. */
int chsm_blob_arm_account_put(struct chsm_app *app, const char *name, const char *resource_id,
                              int allow_shared_key, int allow_public, chsm_blob_account *out,
                              char ***ids, size_t *nids);
/* chsm_blob_arm_account_get loads the data-plane account of name. */
int chsm_blob_arm_account_get(struct chsm_app *app, const char *name, chsm_blob_account *out);
/* chsm_blob_arm_account_delete drops an account with its containers and
 * blobs (inside the caller's transaction; files appended to *ids). */
int chsm_blob_arm_account_delete(struct chsm_app *app, const char *name, char ***ids, size_t *nids);
/* chsm_blob_arm_regenerate_key replaces key 1 or 2 with a new random key. */
int chsm_blob_arm_regenerate_key(struct chsm_app *app, const char *name, int which,
                                 chsm_blob_account *out);
/* chsm_blob_arm_remove_files removes content files after a commit and frees the list. */
void chsm_blob_arm_remove_files(struct chsm_app *app, char **ids, size_t n);

/* chsm_blob_arm_container_put creates a container or, when it exists,
 * replaces its public access and (when metadata_json is not NULL) metadata;
 * *created tells which. out gets the stored container (caller clears). */
int chsm_blob_arm_container_put(struct chsm_app *app, const char *account, const char *name,
                                const char *public_access, const char *metadata_json, int *created,
                                chsm_blob_container *out);
/* chsm_blob_arm_container_delete drops a container and its blobs (own
 * transaction, files removed after it); CHSM_ENOTFOUND when absent. */
int chsm_blob_arm_container_delete(struct chsm_app *app, const char *account, const char *name);

#endif

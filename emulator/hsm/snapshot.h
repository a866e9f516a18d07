/* snapshot.h - what a Cloud HSM backup carries (docs/backup-format.md, "Payload").
 *
 * Format 2 (backup blob version 2) is binary and written one key at a time:
 * a small JSON document with the cluster and its users, then one record per
 * key straight from its stored row (its key object as stored, its material in
 * the clear), so neither a backup nor a restore builds a tree of every key.
 * Format 1 (blob version 1: one JSON document, hsm/model.h) is still read.
 * All functions work inside the caller's store transaction. */
#ifndef CHSM_HSM_SNAPSHOT_H
#define CHSM_HSM_SNAPSHOT_H

#include "hsm/backup_codec.h"

#include <stddef.h>

struct chsm_app;

#define CHSM_HSM_SNAPSHOT_FORMAT_2 2
#define CHSM_HSM_SNAPSHOT_MAX_META (1u << 20) /* longest key object of a format-2 record */

/* An opened, completely validated snapshot of either format. */
typedef struct chsm_hsm_snapshot chsm_hsm_snapshot;

/* chsm_hsm_snapshot_write appends the format-2 snapshot of resource_id's HSM to w. */
int chsm_hsm_snapshot_write(struct chsm_app *app, const char *resource_id, chsm_backup_writer *w);
/* chsm_hsm_snapshot_open reads the payload of a backup blob of version blob_version (1: JSON,
 * 2: binary) and validates it completely without touching any state: users, at most max_keys
 * keys, each key's material against its class and type, owners and shares among the users.
 * The snapshot refers to payload, which must outlive it (caller frees with
 * chsm_hsm_snapshot_free). CHSM_EINVAL with the reason in err. */
int chsm_hsm_snapshot_open(int blob_version, const unsigned char *payload, size_t n, int max_keys,
                           chsm_hsm_snapshot **out, char *err, size_t errlen);
/* chsm_hsm_snapshot_keys tells how many keys an opened snapshot holds. */
size_t chsm_hsm_snapshot_keys(const chsm_hsm_snapshot *snap);
/* chsm_hsm_snapshot_import replaces the HSM of resource_id with an opened snapshot and
 * activates it; key handles are reassigned, key and user ids kept. After a store error the
 * caller rolls back. */
int chsm_hsm_snapshot_import(struct chsm_app *app, const char *resource_id,
                             const chsm_hsm_snapshot *snap, char *err, size_t errlen);
/* chsm_hsm_snapshot_free frees an opened snapshot (NULL is fine); the payload is the
 * caller's. */
void chsm_hsm_snapshot_free(chsm_hsm_snapshot *snap);

#endif

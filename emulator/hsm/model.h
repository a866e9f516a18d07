/* model.h - the simulated HSM fleet: one three-node HSM per cloudHsmClusters
 * resource, its lifecycle, its key material sealed at rest, and the snapshot
 * that backups carry.
 *
 * Key material never sits in the database in the clear: each key's bytes
 * (raw AES key, PKCS#8 private key or SPKI public key) are sealed with
 * AES-256-GCM under HKDF-SHA256(fleet secret, per-cluster salt,
 * "chsm hsm key material v1"), bound by the AAD to the cluster and handle.
 * All functions work inside the caller's store transaction. */
#ifndef CHSM_HSM_MODEL_H
#define CHSM_HSM_MODEL_H

#include "hsm/repo.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

struct chsm_app;

#define CHSM_HSM_NODES 3
#define CHSM_HSM_FIRST_HANDLE 262150 /* 0x40006, as Azure's examples */
#define CHSM_HSM_MAX_KEYS 3200       /* key handles per cluster (service limits) */
#define CHSM_HSM_MAX_USERS 1024
#define CHSM_HSM_SESSION_IDLE_MS (15 * 60 * 1000)
#define CHSM_HSM_MAX_FAILED_LOGINS 5
#define CHSM_HSM_PRECO_USER "admin"
#define CHSM_HSM_PRECO_PASSWORD "tenantadmin"
#define CHSM_HSM_SNAPSHOT_FORMAT 1

/* chsm_hsm_label writes the data-plane label of a cluster: its name lowercased, '-', and 16
 * hex digits of SHA-256 over the lowercased resource id (stable for the id). */
void chsm_hsm_label(const char *resource_id, const char *name, char *out, size_t outlen);
/* chsm_hsm_node_fqdn writes hsm{node}.{label}.cloudhsm.localhost (node is 1..3). */
void chsm_hsm_node_fqdn(const char *label, int node, char *out, size_t outlen);

/* chsm_hsm_cluster_create makes the HSM of a new cluster: NotActivated, one user PRECO
 * admin/tenantadmin, fresh sealing salt. Leftover state under the same id (from a resource
 * group deleted around it) is discarded first. */
int chsm_hsm_cluster_create(struct chsm_app *app, const char *resource_id, const char *name,
                            const char *provision_op, const char *system_principal);
/* chsm_hsm_cluster_destroy removes the HSM of a cluster (absent is fine). */
int chsm_hsm_cluster_destroy(struct chsm_app *app, const char *resource_id);
/* chsm_hsm_set_activation changes a cluster's activation state (CHSM_HSM_*); Failed also
 * ends every session. */
int chsm_hsm_set_activation(struct chsm_app *app, const char *resource_id, const char *state);

/* chsm_hsm_seal seals n bytes of key material for key handle of cluster c (caller frees
 * *sealed, which holds iv || tag || ciphertext). */
int chsm_hsm_seal(struct chsm_app *app, const chsm_hsm_cluster *c, int64_t handle,
                  const void *plain, size_t n, unsigned char **sealed, size_t *len);
/* chsm_hsm_unseal opens sealed material of key handle (caller frees *plain with
 * chsm_crypto_key_free(*plain, *n)); CHSM_ECRYPTO if it does not authenticate. */
int chsm_hsm_unseal(struct chsm_app *app, const chsm_hsm_cluster *c, int64_t handle,
                    const unsigned char *sealed, size_t len, unsigned char **plain, size_t *n);

/* The bytes sealed material adds to the key: iv (12) and tag (16), stored before the
 * ciphertext. */
#define CHSM_HSM_SEAL_OVERHEAD (12 + 16)

/* A cluster's sealing context for an operation on many keys (backup, restore): the key is
 * derived and the cipher keyed once, ivs are drawn from a random pool. */
typedef struct chsm_hsm_sealer chsm_hsm_sealer;

/* chsm_hsm_sealer_new makes the sealing context of cluster c (caller frees with
 * chsm_hsm_sealer_free). */
int chsm_hsm_sealer_new(struct chsm_app *app, const chsm_hsm_cluster *c, chsm_hsm_sealer **out);
/* chsm_hsm_sealer_seal seals n bytes (1..CHSM_CRYPTO_KEY_MAX_DER) of material for handle into
 * out, which has room for n + CHSM_HSM_SEAL_OVERHEAD bytes. */
int chsm_hsm_sealer_seal(chsm_hsm_sealer *s, int64_t handle, const void *plain, size_t n,
                         unsigned char *out);
/* chsm_hsm_sealer_open opens len bytes of sealed material of handle into plain_out, which has
 * room for len - CHSM_HSM_SEAL_OVERHEAD bytes; CHSM_ECRYPTO if it does not authenticate. */
int chsm_hsm_sealer_open(chsm_hsm_sealer *s, int64_t handle, const unsigned char *sealed,
                         size_t len, unsigned char *plain_out);
/* chsm_hsm_sealer_free wipes and frees s (NULL is fine). */
void chsm_hsm_sealer_free(chsm_hsm_sealer *s);

/* chsm_hsm_snapshot_head returns a snapshot's root: its format number, the cluster and its
 * users, as both snapshot formats begin (caller frees); NULL when out of memory. */
cJSON *chsm_hsm_snapshot_head(int format, const chsm_hsm_cluster *c, const chsm_hsm_user *users,
                              size_t nusers);
/* chsm_hsm_export returns the FORMAT 1 snapshot (one JSON document) a backup carried before
 * format 2 (hsm/snapshot.h) (caller frees): cluster metadata, users with password hashes,
 * keys with attributes, versions, tags and material (in the clear: the caller seals the whole
 * snapshot), and the key role assignments. Kept to make old-format backups for tests. */
int chsm_hsm_export(struct chsm_app *app, const char *resource_id, cJSON **snapshot);
/* chsm_hsm_snapshot_check validates a format-1 snapshot completely without touching any state:
 * format, users, at most max_keys keys, key material against each key's class and type, one
 * owner per key and only known users in role assignments. CHSM_EINVAL with the reason in err. */
int chsm_hsm_snapshot_check(const cJSON *snapshot, int max_keys, char *err, size_t errlen);
/* chsm_hsm_import replaces the HSM of resource_id with a format-1 snapshot and activates it. The
 * snapshot is checked (chsm_hsm_snapshot_check) before anything is written, so a bad one
 * leaves the destination untouched; after a store error the caller rolls back. Key handles are
 * reassigned; key ids and user ids are kept. */
int chsm_hsm_import(struct chsm_app *app, const char *resource_id, const cJSON *snapshot, char *err,
                    size_t errlen);

/* chsm_hsm_material_fits tells whether key material fits a key's class and type (AES 16/24/32
 * bytes; private keys PKCS#8 and public keys SPKI of that type): 1 or 0. */
int chsm_hsm_material_fits(const char *klass, const char *type, const unsigned char *m, size_t n);
/* chsm_hsm_check_users validates a snapshot's users array (1..CHSM_HSM_MAX_USERS entries,
 * ids, types, unique names, hash sizes). CHSM_EINVAL with the reason in err. */
int chsm_hsm_check_users(const cJSON *users, char *err, size_t errlen);
/* chsm_hsm_import_users wipes resource_id's users, keys and sessions and stores the checked
 * users; *max_user_id gets the largest user id. */
int chsm_hsm_import_users(struct chsm_app *app, const char *resource_id, const cJSON *users,
                          int *max_user_id);

/* What a restore into a cluster may do, from the destination's state (chsm_hsm_restore_rule). */
typedef enum chsm_hsm_restore_verdict {
    CHSM_HSM_RESTORE_OK = 0,         /* NotActivated, not the source: restore */
    CHSM_HSM_RESTORE_TO_SOURCE,      /* the backup came from this cluster: refuse, no change */
    CHSM_HSM_RESTORE_ALREADY_ACTIVE, /* activated: the restore fails and, unless only
                                        validating, leaves the destination Failed */
    CHSM_HSM_RESTORE_NOT_FUNCTIONAL, /* Failed after an earlier restore: refuse, no change */
} chsm_hsm_restore_verdict;

/* chsm_hsm_restore_rule decides a restore into dest_id (activation dest_activation) of a
 * backup taken from source_id (NULL when not known yet). Ids compare case-insensitively. */
chsm_hsm_restore_verdict chsm_hsm_restore_rule(const char *dest_id, const char *dest_activation,
                                               const char *source_id);
/* chsm_hsm_restore_error returns the ARM error code of a verdict ("" for OK). */
const char *chsm_hsm_restore_error(chsm_hsm_restore_verdict v);

#endif

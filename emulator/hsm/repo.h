/* repo.h - the simulated HSM fleet's tables: clusters, users, keys, sessions.
 *
 * Every row belongs to one cluster, named by the lowercased ARM resource id of
 * its cloudHsmClusters resource (the "cluster key"). This file's repo.c is the
 * only SQL of the hsm/ folder. Functions return a chsm_status; the caller
 * groups them into one store transaction (store.h begin/commit). */
#ifndef CHSM_HSM_REPO_H
#define CHSM_HSM_REPO_H

#include "store/store.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

/* Activation states as ARM spells them (properties.activationState). */
#define CHSM_HSM_NOT_ACTIVATED "NotActivated"
#define CHSM_HSM_ACTIVE "Active"
#define CHSM_HSM_FAILED "Failed"

typedef struct chsm_hsm_cluster {
    char resource_id[600]; /* as the client spelled it at creation */
    char label[64];        /* data-plane label: {name lowercased}-{16 hex} */
    char name[32];
    char activation[16];       /* CHSM_HSM_* */
    int64_t next_handle;       /* next key handle to hand out */
    int next_user_id;          /* next HSM user id */
    unsigned char salt[32];    /* per-cluster salt of the key-material sealing key */
    char provision_op[33];     /* the cloudHsmClusters/provision operation, or "" */
    char system_principal[40]; /* principalId of a system-assigned identity, or "" */
    int64_t created_ms;
    int64_t activated_ms; /* 0 until activated */
} chsm_hsm_cluster;

typedef struct chsm_hsm_user {
    int user_id;
    char user_type[8]; /* PRECO, CO, CU, AU */
    char username[32]; /* as created; compared case-insensitively */
    char password_hash[128];
    int login_failures;
    int locked;
} chsm_hsm_user;

typedef struct chsm_hsm_key {
    int64_t handle;
    char key_id[129];
    char klass[8];         /* secret, public, private */
    char owner[32];        /* username of the owning CU */
    cJSON *meta;           /* the data plane's key object without "handle" (owned) */
    unsigned char *sealed; /* key material sealed under the cluster key (owned) */
    size_t sealed_len;
} chsm_hsm_key;

typedef struct chsm_hsm_session {
    char token_hash[65]; /* hex SHA-256 of the bearer token */
    char cluster_key[600];
    char username[32];
    char user_type[8];
    int64_t created_ms;
    int64_t last_used_ms;
} chsm_hsm_session;

/* chsm_hsm_repo_cluster_insert stores a new cluster row (CHSM_EEXISTS if present). */
int chsm_hsm_repo_cluster_insert(chsm_store *s, const chsm_hsm_cluster *c);
/* chsm_hsm_repo_cluster_update saves the mutable fields of c (activation, counters, op,
 * system principal, activated_ms). */
int chsm_hsm_repo_cluster_update(chsm_store *s, const chsm_hsm_cluster *c);
/* chsm_hsm_repo_cluster_get loads the cluster of resource_id (any case); CHSM_ENOTFOUND. */
int chsm_hsm_repo_cluster_get(chsm_store *s, const char *resource_id, chsm_hsm_cluster *out);
/* chsm_hsm_repo_cluster_by_label loads the cluster with data-plane label (any case). */
int chsm_hsm_repo_cluster_by_label(chsm_store *s, const char *label, chsm_hsm_cluster *out);
/* chsm_hsm_repo_cluster_delete removes the cluster and all its users, keys and sessions. */
int chsm_hsm_repo_cluster_delete(chsm_store *s, const char *resource_id);
/* chsm_hsm_repo_cluster_wipe removes the cluster's users, keys and sessions, keeping it. */
int chsm_hsm_repo_cluster_wipe(chsm_store *s, const char *resource_id);

/* chsm_hsm_repo_users_list returns the cluster's users by user id (caller frees *out). */
int chsm_hsm_repo_users_list(chsm_store *s, const char *resource_id, chsm_hsm_user **out,
                             size_t *n);
/* chsm_hsm_repo_user_get loads user username (any case); CHSM_ENOTFOUND. */
int chsm_hsm_repo_user_get(chsm_store *s, const char *resource_id, const char *username,
                           chsm_hsm_user *out);
/* chsm_hsm_repo_user_put inserts or replaces the user with u's name. */
int chsm_hsm_repo_user_put(chsm_store *s, const char *resource_id, const chsm_hsm_user *u);
/* chsm_hsm_repo_user_delete removes a user and its sessions; CHSM_ENOTFOUND. */
int chsm_hsm_repo_user_delete(chsm_store *s, const char *resource_id, const char *username);

/* chsm_hsm_repo_keys_list returns the cluster's keys by handle (caller frees with
 * chsm_hsm_keys_free). with_material 0 leaves sealed NULL. */
int chsm_hsm_repo_keys_list(chsm_store *s, const char *resource_id, int with_material,
                            chsm_hsm_key **out, size_t *n);
/* A key row's columns borrowed from the database (valid during one callback) or from the
 * caller (for an insert). */
typedef struct chsm_hsm_key_row {
    int64_t handle;
    const char *key_id;
    const char *klass;
    const char *owner; /* as spelled; stored lowercased in owner_key */
    const char *meta;  /* the key object, JSON text */
    size_t meta_len;
    const unsigned char *sealed;
    size_t sealed_len;
} chsm_hsm_key_row;

/* A callback over key rows: non-zero stops the walk and is returned by it. */
typedef int (*chsm_hsm_key_row_fn)(void *ctx, const chsm_hsm_key_row *row);

/* chsm_hsm_repo_keys_each calls fn for each of the cluster's keys by handle, without copying
 * or parsing (row->owner is NULL: it lives in meta). Returns fn's first non-zero value, or a
 * store error. */
int chsm_hsm_repo_keys_each(chsm_store *s, const char *resource_id, chsm_hsm_key_row_fn fn,
                            void *ctx);
/* Batched inserts of many new keys of one cluster (a restore): rows go in several to a
 * statement, with a page cache large enough for the cluster's indexes while it runs. */
typedef struct chsm_hsm_key_inserter chsm_hsm_key_inserter;

/* chsm_hsm_repo_key_inserter_new starts batched inserts of about expected keys into
 * resource_id (end them with chsm_hsm_repo_key_inserter_finish). */
int chsm_hsm_repo_key_inserter_new(chsm_store *s, const char *resource_id, size_t expected,
                                   chsm_hsm_key_inserter **out);
/* chsm_hsm_repo_key_inserter_add queues a new key: its fields are copied, except row->meta,
 * which must stay valid until the inserter is finished. */
int chsm_hsm_repo_key_inserter_add(chsm_hsm_key_inserter *ins, const chsm_hsm_key_row *row);
/* chsm_hsm_repo_key_inserter_finish inserts what is queued, frees ins (NULL is fine) and
 * returns the first error of any insert (CHSM_EEXISTS: a handle was taken). */
int chsm_hsm_repo_key_inserter_finish(chsm_hsm_key_inserter *ins);
/* chsm_hsm_repo_key_get loads key handle with its material; CHSM_ENOTFOUND. */
int chsm_hsm_repo_key_get(chsm_store *s, const char *resource_id, int64_t handle,
                          chsm_hsm_key *out);
/* chsm_hsm_repo_key_id_exists tells whether a key with key_id exists: 1, 0, <0. */
int chsm_hsm_repo_key_id_exists(chsm_store *s, const char *resource_id, const char *key_id);
/* chsm_hsm_repo_key_put inserts or replaces k (all columns, material included). */
int chsm_hsm_repo_key_put(chsm_store *s, const char *resource_id, const chsm_hsm_key *k);
/* chsm_hsm_repo_key_put_meta replaces only k's metadata (owner, key id, meta). */
int chsm_hsm_repo_key_put_meta(chsm_store *s, const char *resource_id, const chsm_hsm_key *k);
/* chsm_hsm_repo_key_delete removes key handle; CHSM_ENOTFOUND. */
int chsm_hsm_repo_key_delete(chsm_store *s, const char *resource_id, int64_t handle);
/* chsm_hsm_repo_keys_count counts the cluster's key handles: >=0, or <0 on error. */
int chsm_hsm_repo_keys_count(chsm_store *s, const char *resource_id);
/* chsm_hsm_repo_keys_owned_by counts keys owned by username: >=0, or <0 on error. */
int chsm_hsm_repo_keys_owned_by(chsm_store *s, const char *resource_id, const char *username);

/* chsm_hsm_repo_session_insert stores a session. */
int chsm_hsm_repo_session_insert(chsm_store *s, const chsm_hsm_session *ss);
/* chsm_hsm_repo_session_get loads a session by token hash; CHSM_ENOTFOUND. */
int chsm_hsm_repo_session_get(chsm_store *s, const char *token_hash, chsm_hsm_session *out);
/* chsm_hsm_repo_session_touch sets last_used_ms and user_type of a session. */
int chsm_hsm_repo_session_touch(chsm_store *s, const char *token_hash, int64_t now_ms,
                                const char *user_type);
/* chsm_hsm_repo_sessions_delete_all removes every session of a cluster. */
int chsm_hsm_repo_sessions_delete_all(chsm_store *s, const char *resource_id);
/* chsm_hsm_repo_session_delete removes one session (absent is fine). */
int chsm_hsm_repo_session_delete(chsm_store *s, const char *token_hash);

/* chsm_hsm_key_clear frees what k owns and zeroes it. */
void chsm_hsm_key_clear(chsm_hsm_key *k);
/* chsm_hsm_keys_free clears and frees an array from chsm_hsm_repo_keys_list. */
void chsm_hsm_keys_free(chsm_hsm_key *arr, size_t n);

#endif

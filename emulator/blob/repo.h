/* repo.h - the Blob store's tables: accounts (keys and access switches of
 * storage accounts), containers, committed blobs and uncommitted blocks.
 * The only SQL of blob/ lives in repo.c. Account and container names are
 * stored lowercased; blob names exactly as given (they are case-sensitive). */
#ifndef CHSM_BLOB_REPO_H
#define CHSM_BLOB_REPO_H

#include "store/store.h"

#include <stddef.h>
#include <stdint.h>

typedef struct chsm_blob_account {
    char name[32];
    char resource_id[600]; /* the storage account's ARM id */
    char key1[96], key2[96];
    int64_t key1_ms, key2_ms;
    int allow_shared_key; /* allowSharedKeyAccess (null counts as true) */
    int allow_public;     /* allowBlobPublicAccess */
    int64_t created_ms;
} chsm_blob_account;

typedef struct chsm_blob_container {
    char account[32];
    char name[64];
    char etag[40]; /* unquoted "0x..." */
    int64_t created_ms, modified_ms;
    char public_access[16]; /* "", "blob" or "container" */
    char *metadata;         /* JSON object text, owned */
} chsm_blob_container;

typedef struct chsm_blob_row {
    char *name;
    char content_id[33]; /* the content's id: a file in blobs/data/, unless inline_content */
    uint64_t size;
    /* Small content written whole (Put Blob) is kept in the row itself, in the
     * transaction that makes it visible: inline_content is 1 and data holds the
     * size bytes (NULL when size is 0). Rows loaded by chsm_blob_repo_blob_get
     * own data; rows from chsm_blob_repo_blob_list have data NULL. A row a
     * handler builds for a write may point data at bytes it does not own. */
    int inline_content;
    unsigned char *data;
    char *content_type, *content_encoding, *content_language, *content_disposition, *cache_control,
        *content_md5; /* owned, may be NULL */
    char *metadata;   /* JSON object text, owned */
    char *blocks;     /* committed block list: JSON [{"id","size"}], owned */
    char etag[40];
    int64_t created_ms, modified_ms;
} chsm_blob_row;

typedef struct chsm_blob_block {
    char *block_id; /* base64, as sent */
    uint64_t size;
    char content_id[33];
    int64_t created_ms;
} chsm_blob_block;

/* ---- accounts ---- */
/* chsm_blob_repo_account_get loads account name; CHSM_ENOTFOUND when absent. */
int chsm_blob_repo_account_get(chsm_store *s, const char *name, chsm_blob_account *out);
/* chsm_blob_repo_account_put inserts or replaces an account row. */
int chsm_blob_repo_account_put(chsm_store *s, const chsm_blob_account *a);
/* chsm_blob_repo_account_delete removes the account row, its containers,
 * blobs and blocks; the content ids they held are appended to *ids (caller
 * frees with chsm_blob_repo_ids_free) for removal after commit. */
int chsm_blob_repo_account_delete(chsm_store *s, const char *name, char ***ids, size_t *nids);

/* chsm_blob_repo_accounts_under lists the names of accounts whose resource
 * id lies under prefix + "/" (any case); caller frees with chsm_blob_repo_ids_free. */
int chsm_blob_repo_accounts_under(chsm_store *s, const char *prefix, char ***names, size_t *n);

/* ---- containers ---- */
/* chsm_blob_repo_container_get loads a container (caller clears); CHSM_ENOTFOUND when absent. */
int chsm_blob_repo_container_get(chsm_store *s, const char *account, const char *name,
                                 chsm_blob_container *out);
/* chsm_blob_repo_container_insert creates c; CHSM_EEXISTS when it exists. */
int chsm_blob_repo_container_insert(chsm_store *s, const chsm_blob_container *c);
/* chsm_blob_repo_container_update rewrites etag, modified time, public access and metadata. */
int chsm_blob_repo_container_update(chsm_store *s, const chsm_blob_container *c);
/* chsm_blob_repo_container_delete removes a container with its blobs and
 * blocks, appending their content ids to *ids; CHSM_ENOTFOUND when absent. */
int chsm_blob_repo_container_delete(chsm_store *s, const char *account, const char *name,
                                    char ***ids, size_t *nids);
/* chsm_blob_repo_container_list returns up to limit containers of account
 * whose names are >= from and start with prefix (both may be NULL), by name. */
int chsm_blob_repo_container_list(chsm_store *s, const char *account, const char *prefix,
                                  const char *from, size_t limit, chsm_blob_container **out,
                                  size_t *n);
/* chsm_blob_container_clear frees what c owns. */
void chsm_blob_container_clear(chsm_blob_container *c);
/* chsm_blob_containers_free clears and frees a list. */
void chsm_blob_containers_free(chsm_blob_container *arr, size_t n);

/* ---- blobs ---- */
/* chsm_blob_repo_blob_get loads a blob with its inline content, if any (caller
 * clears); CHSM_ENOTFOUND when absent. */
int chsm_blob_repo_blob_get(chsm_store *s, const char *account, const char *container,
                            const char *name, chsm_blob_row *out);
/* chsm_blob_repo_blob_props loads a blob without its inline content (data
 * NULL; inline_content still tells where the content is); CHSM_ENOTFOUND when
 * absent. Such a row must not be written back with chsm_blob_repo_blob_put. */
int chsm_blob_repo_blob_props(chsm_store *s, const char *account, const char *container,
                              const char *name, chsm_blob_row *out);
/* chsm_blob_repo_blob_put inserts or replaces a blob row (with data when inline_content). */
int chsm_blob_repo_blob_put(chsm_store *s, const char *account, const char *container,
                            const chsm_blob_row *b);
/* chsm_blob_repo_blob_delete removes a blob row; CHSM_ENOTFOUND when absent. */
int chsm_blob_repo_blob_delete(chsm_store *s, const char *account, const char *container,
                               const char *name);
/* chsm_blob_repo_blob_list returns up to limit blobs of a container with
 * names >= from (> from when after; NULL: from the first), in byte order,
 * without their inline content (caller frees). */
int chsm_blob_repo_blob_list(chsm_store *s, const char *account, const char *container,
                             const char *from, int after, size_t limit, chsm_blob_row **out,
                             size_t *n);
/* chsm_blob_row_clear frees what b owns. */
void chsm_blob_row_clear(chsm_blob_row *b);
/* chsm_blob_rows_free clears and frees a list. */
void chsm_blob_rows_free(chsm_blob_row *arr, size_t n);

/* ---- uncommitted blocks ---- */
/* chsm_blob_repo_block_put stores a block; a block of the same id is replaced
 * and its content id copied to replaced (else replaced[0] = 0). */
int chsm_blob_repo_block_put(chsm_store *s, const char *account, const char *container,
                             const char *blob, const chsm_blob_block *b, char replaced[33]);
/* chsm_blob_repo_block_list returns the uncommitted blocks of a blob in upload order. */
int chsm_blob_repo_block_list(chsm_store *s, const char *account, const char *container,
                              const char *blob, chsm_blob_block **out, size_t *n);
/* chsm_blob_repo_block_count counts a blob's uncommitted blocks. */
int chsm_blob_repo_block_count(chsm_store *s, const char *account, const char *container,
                               const char *blob, size_t *n);
/* chsm_blob_repo_block_delete_all removes a blob's uncommitted blocks,
 * appending their content ids to *ids. */
int chsm_blob_repo_block_delete_all(chsm_store *s, const char *account, const char *container,
                                    const char *blob, char ***ids, size_t *nids);
/* chsm_blob_blocks_free frees a block list. */
void chsm_blob_blocks_free(chsm_blob_block *arr, size_t n);

/* ---- content ids ---- */
/* chsm_blob_repo_content_referenced tells whether a blob or block uses id: 1, 0, <0 error. */
int chsm_blob_repo_content_referenced(chsm_store *s, const char *id);
/* chsm_blob_repo_ids_add appends a copy of id to a list. */
int chsm_blob_repo_ids_add(char ***ids, size_t *n, const char *id);
/* chsm_blob_repo_ids_free frees a list of ids. */
void chsm_blob_repo_ids_free(char **ids, size_t n);

#endif

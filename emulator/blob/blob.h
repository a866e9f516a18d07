/* blob.h - the Blob-like store: its service (listener dispatch) and the
 * in-process interface the HSM backup/restore code uses instead of HTTP.
 *
 * Accounts are the storage accounts of the ARM storage provider
 * (Microsoft.Storage/storageAccounts resources), plus the well-known
 * development account devstoreaccount1 with Azurite's published key. */
#ifndef CHSM_BLOB_BLOB_H
#define CHSM_BLOB_BLOB_H

#include "http/message.h"
#include "http/server.h"

#include <stddef.h>
#include <stdint.h>

struct chsm_app;

/* chsm_blob_open prepares the blob service of app (content dir, schema is
 * migrated by the store); err gets a message on failure. */
int chsm_blob_open(struct chsm_app *app, char *err, size_t errlen);
/* chsm_blob_close frees the blob service of app. */
void chsm_blob_close(struct chsm_app *app);
/* chsm_blob_dispatch answers one request of the blob listener (XML errors,
 * Shared Key / bearer / SAS auth). */
void chsm_blob_dispatch(struct chsm_app *app, chsm_request *req, chsm_response *res);

/* chsm_blob_resolve_container_uri maps a container URI in Azure's form
 * (https://{account}.blob.core.windows.net/{container}) or the emulator's
 * (path-style http(s)://127.0.0.1:port/{account}/{container} or host-style
 * {account}.blob.localhost) to account and container names. CHSM_EINVAL when
 * it is not a container URI (including one with a query string), CHSM_ENOMEM when out of
 * memory. */
int chsm_blob_resolve_container_uri(const char *uri, char *account, size_t accountlen,
                                    char *container, size_t containerlen);
/* chsm_blob_account_resource_id returns the ARM id of the storage account
 * named account (caller frees), or NULL when no such account exists. */
char *chsm_blob_account_resource_id(struct chsm_app *app, const char *account);
/* chsm_blob_container_exists tells whether account/container exists: 1, 0, <0 error. */
int chsm_blob_container_exists(struct chsm_app *app, const char *account, const char *container);
/* The Blob listener's spill observer (its ctx is the app): a Put Blob body
 * that spills to a file is hashed (Content-MD5) on a thread of its own as it
 * arrives, so the handler finds the digest ready. */
extern const chsm_spill_observer chsm_blob_spill_observer;

/* chsm_blob_write stores len bytes as a block blob account/container/name,
 * atomically (in the row, or a temp file + rename, and one transaction), with
 * content type and metadata (a cJSON object of string values, may be NULL). */
int chsm_blob_write(struct chsm_app *app, const char *account, const char *container,
                    const char *name, const void *data, size_t len, const char *content_type,
                    const void *metadata /* const cJSON * */);
/* chsm_blob_read loads a whole blob of at most max bytes (caller frees *data);
 * CHSM_ENOTFOUND when the container or blob does not exist. */
int chsm_blob_read(struct chsm_app *app, const char *account, const char *container,
                   const char *name, size_t max, unsigned char **data, size_t *len);

#endif

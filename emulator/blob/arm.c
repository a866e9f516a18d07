/* arm.c - the blob store's side of ARM storage accounts and containers. */
#include "blob/arm.h"

#include "app/app.h"
#include "blob/internal.h"
#include "crypto/digest.h"
#include "util/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* new_key writes a random 64-byte key, base64 (88 characters). */
static int new_key(char out[96])
{
    unsigned char raw[64];
    if (chsm_crypto_random(raw, sizeof raw) != CHSM_OK)
        return CHSM_ECRYPTO;
    char *b64 = chsm_crypto_base64_encode(raw, sizeof raw);
    if (!b64)
        return CHSM_ENOMEM;
    snprintf(out, 96, "%s", b64);
    free(b64);
    return CHSM_OK;
}

int chsm_blob_arm_name_taken(chsm_app *app, const char *name, const char *resource_id)
{
    if (chsm_streq_ci(name, CHSM_BLOB_DEV_ACCOUNT))
        return 1;
    chsm_blob_account a;
    int rc = chsm_blob_account_find(app, name, &a);
    if (rc == CHSM_ENOTFOUND)
        return 0;
    if (rc != CHSM_OK)
        return rc;
    return chsm_streq_ci(a.resource_id, resource_id) ? 0 : 1;
}

int chsm_blob_arm_account_put(chsm_app *app, const char *name, const char *resource_id,
                              int allow_shared_key, int allow_public, chsm_blob_account *out,
                              char ***ids, size_t *nids)
{
    chsm_blob_account a;
    int rc = chsm_blob_repo_account_get(app->store, name, &a);
    if (rc == CHSM_OK && !chsm_streq_ci(a.resource_id, resource_id)) {
        /* Left behind by a resource that no longer exists: start afresh. */
        rc = chsm_blob_repo_account_delete(app->store, name, ids, nids);
        if (rc == CHSM_OK)
            rc = CHSM_ENOTFOUND;
    }
    if (rc == CHSM_ENOTFOUND) {
        memset(&a, 0, sizeof a);
        snprintf(a.name, sizeof a.name, "%s", name);
        a.created_ms = a.key1_ms = a.key2_ms = chsm_now_ms();
        rc = new_key(a.key1);
        if (rc == CHSM_OK)
            rc = new_key(a.key2);
    }
    if (rc != CHSM_OK)
        return rc;
    snprintf(a.resource_id, sizeof a.resource_id, "%s", resource_id);
    a.allow_shared_key = allow_shared_key;
    a.allow_public = allow_public;
    rc = chsm_blob_repo_account_put(app->store, &a);
    if (rc == CHSM_OK && out)
        *out = a;
    return rc;
}

int chsm_blob_arm_account_get(chsm_app *app, const char *name, chsm_blob_account *out)
{
    return chsm_blob_repo_account_get(app->store, name, out);
}

int chsm_blob_arm_account_delete(chsm_app *app, const char *name, char ***ids, size_t *nids)
{
    return chsm_blob_repo_account_delete(app->store, name, ids, nids);
}

int chsm_blob_arm_regenerate_key(chsm_app *app, const char *name, int which, chsm_blob_account *out)
{
    int rc = chsm_store_begin(app->store);
    if (rc != CHSM_OK)
        return rc;
    chsm_blob_account a;
    rc = chsm_blob_repo_account_get(app->store, name, &a);
    if (rc == CHSM_OK) {
        rc = new_key(which == 2 ? a.key2 : a.key1);
        if (which == 2)
            a.key2_ms = chsm_now_ms();
        else
            a.key1_ms = chsm_now_ms();
    }
    if (rc == CHSM_OK)
        rc = chsm_blob_repo_account_put(app->store, &a);
    if (rc == CHSM_OK)
        rc = chsm_store_commit(app->store);
    else
        chsm_store_rollback(app->store);
    if (rc == CHSM_OK && out)
        *out = a;
    return rc;
}

void chsm_blob_arm_remove_files(chsm_app *app, char **ids, size_t n)
{
    chsm_blob_remove_files(app, ids, n);
}

int chsm_blob_arm_container_put(chsm_app *app, const char *account, const char *name,
                                const char *public_access, const char *metadata_json, int *created,
                                chsm_blob_container *out)
{
    chsm_store *s = app->store;
    int rc = chsm_store_begin(s);
    if (rc != CHSM_OK)
        return rc;
    chsm_blob_container c;
    rc = chsm_blob_repo_container_get(s, account, name, &c);
    *created = rc == CHSM_ENOTFOUND;
    int64_t now = chsm_now_ms();
    if (rc == CHSM_ENOTFOUND) {
        memset(&c, 0, sizeof c);
        snprintf(c.account, sizeof c.account, "%s", account);
        snprintf(c.name, sizeof c.name, "%s", name);
        c.created_ms = now;
        c.metadata = chsm_strdup(metadata_json ? metadata_json : "{}");
        rc = c.metadata ? CHSM_OK : CHSM_ENOMEM;
    } else if (rc == CHSM_OK && metadata_json) {
        char *m = chsm_strdup(metadata_json);
        if (m) {
            free(c.metadata);
            c.metadata = m;
        } else {
            rc = CHSM_ENOMEM;
        }
    }
    if (rc == CHSM_OK) {
        snprintf(c.public_access, sizeof c.public_access, "%s", public_access ? public_access : "");
        c.modified_ms = now;
        chsm_blob_new_etag(now, c.etag);
        rc = *created ? chsm_blob_repo_container_insert(s, &c)
                      : chsm_blob_repo_container_update(s, &c);
    }
    if (rc == CHSM_OK)
        rc = chsm_store_commit(s);
    else
        chsm_store_rollback(s);
    if (rc == CHSM_OK && out)
        *out = c;
    else
        chsm_blob_container_clear(&c);
    return rc;
}

int chsm_blob_arm_container_delete(chsm_app *app, const char *account, const char *name)
{
    char **ids = NULL;
    size_t nids = 0;
    int rc = chsm_blob_repo_container_delete(app->store, account, name, &ids, &nids);
    if (rc != CHSM_OK) {
        chsm_blob_repo_ids_free(ids, nids);
        return rc;
    }
    chsm_blob_remove_files(app, ids, nids);
    return CHSM_OK;
}

/* service.c - the blob service's life cycle, accounts, the commit of a blob
 * version, fault hooks on content, and the in-process API of blob.h. */
#include "blob/blob.h"

#include "app/app.h"
#include "blob/internal.h"
#include "blob/names.h"
#include "control/faults.h"
#include "crypto/digest.h"
#include "store/resources.h"
#include "util/json.h"
#include "util/text.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct chsm_blob_service *chsm_blob_service_of(chsm_app *app)
{
    return app->blob;
}

static int hook_reset(chsm_app *app)
{
    return app->blob ? chsm_blob_content_clear(&app->blob->content) : CHSM_OK;
}

static int hook_save(chsm_app *app, const char *dir)
{
    return app->blob ? chsm_blob_content_save(&app->blob->content, dir) : CHSM_OK;
}

static int hook_restore(chsm_app *app, const char *dir)
{
    return app->blob ? chsm_blob_content_restore(&app->blob->content, dir) : CHSM_OK;
}

/* hook_delete_under drops the accounts of a resource group being deleted, in
 * the deleting transaction; their files go once that transaction committed. */
static int hook_delete_under(chsm_app *app, const char *prefix)
{
    struct chsm_blob_service *svc = app->blob;
    if (!svc)
        return CHSM_OK;
    char **names = NULL, **ids = NULL;
    size_t nnames = 0, nids = 0;
    int rc = chsm_blob_repo_accounts_under(app->store, prefix, &names, &nnames);
    for (size_t i = 0; rc == CHSM_OK && i < nnames; i++)
        rc = chsm_blob_repo_account_delete(app->store, names[i], &ids, &nids);
    chsm_blob_repo_ids_free(names, nnames);
    if (rc == CHSM_OK && nids) {
        pthread_mutex_lock(&svc->pending_lock);
        char **p = realloc(svc->pending, (svc->npending + nids) * sizeof *p);
        if (p) {
            svc->pending = p;
            memcpy(p + svc->npending, ids, nids * sizeof *ids);
            svc->npending += nids;
            free(ids);
            ids = NULL;
            nids = 0;
        }
        pthread_mutex_unlock(&svc->pending_lock);
    }
    /* Without memory for the list the files stay until the next start's collection. */
    chsm_blob_repo_ids_free(ids, nids);
    return rc;
}

void chsm_blob_flush_pending(chsm_app *app)
{
    struct chsm_blob_service *svc = app->blob;
    if (!svc)
        return;
    pthread_mutex_lock(&svc->pending_lock);
    char **list = svc->pending;
    size_t n = svc->npending;
    svc->pending = NULL;
    svc->npending = 0;
    pthread_mutex_unlock(&svc->pending_lock);
    for (size_t i = 0; i < n; i++) {
        /* Waits for the deleting transaction (it holds the store lock). */
        if (chsm_blob_repo_content_referenced(app->store, list[i]) == 0)
            chsm_blob_content_remove(&svc->content, list[i]);
        free(list[i]);
    }
    free(list);
}

static const chsm_state_hooks blob_hooks = {.reset = hook_reset,
                                            .snapshot_save = hook_save,
                                            .snapshot_restore = hook_restore,
                                            .delete_under = hook_delete_under};

static int keep_referenced(void *ctx, const char *id)
{
    chsm_app *app = ctx;
    return chsm_blob_repo_content_referenced(app->store, id);
}

int chsm_blob_open(chsm_app *app, char *err, size_t errlen)
{
    struct chsm_blob_service *svc = calloc(1, sizeof *svc);
    if (!svc) {
        snprintf(err, errlen, "out of memory");
        return CHSM_ENOMEM;
    }
    int rc = chsm_blob_content_init(&svc->content, app->data_dir);
    if (rc != CHSM_OK) {
        snprintf(err, errlen, "cannot create the blob folders under %s", app->data_dir);
        free(svc);
        return rc;
    }
    svc->content.fsync = app->cfg.fsync;
    /* Files no row references were written by requests that never committed
     * (a crash in between) or deleted rows whose files outlived a crash. */
    rc = chsm_blob_content_collect(&svc->content, keep_referenced, app);
    if (rc != CHSM_OK) {
        snprintf(err, errlen, "cannot check the blob files against the store");
        free(svc);
        return rc;
    }
    rc = chsm_app_add_state_hooks(app, &blob_hooks);
    if (rc != CHSM_OK) {
        snprintf(err, errlen, "cannot register the blob state hooks");
        free(svc);
        return rc;
    }
    pthread_mutex_init(&svc->pending_lock, NULL);
    app->blob = svc;
    return CHSM_OK;
}

void chsm_blob_close(chsm_app *app)
{
    if (!app || !app->blob)
        return;
    chsm_blob_flush_pending(app);
    chsm_blob_content_reap_wait();
    pthread_mutex_destroy(&app->blob->pending_lock);
    free(app->blob);
    app->blob = NULL;
}

int chsm_blob_account_find(chsm_app *app, const char *name, chsm_blob_account *out)
{
    memset(out, 0, sizeof *out);
    if (strcmp(name, CHSM_BLOB_DEV_ACCOUNT) == 0) {
        snprintf(out->name, sizeof out->name, "%s", CHSM_BLOB_DEV_ACCOUNT);
        snprintf(out->resource_id, sizeof out->resource_id, "%s", CHSM_BLOB_DEV_SCOPE);
        snprintf(out->key1, sizeof out->key1, "%s", CHSM_BLOB_DEV_KEY);
        out->allow_shared_key = 1;
        out->allow_public = 1;
        return CHSM_OK;
    }
    if (chsm_blob_check_account_name(name) != CHSM_BLOB_NAME_OK)
        return CHSM_ENOTFOUND;
    int rc = chsm_blob_repo_account_get(app->store, name, out);
    if (rc != CHSM_OK)
        return rc;
    /* A resource group deletion removes the ARM resource, not this row. */
    int exists = chsm_resources_exists(app->store, out->resource_id);
    if (exists < 0)
        return CHSM_EIO;
    return exists ? CHSM_OK : CHSM_ENOTFOUND;
}

void chsm_blob_remove_files(chsm_app *app, char **ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        chsm_blob_content_remove(&app->blob->content, ids[i]);
    chsm_blob_repo_ids_free(ids, n);
}

/* alter applies a fired rule to the open file fd of *size bytes. */
static void alter(const chsm_fault_hit *hit, int fd, uint64_t *size)
{
    if (hit->type == CHSM_FAULT_TRUNCATE) {
        *size /= 2;
        if (ftruncate(fd, (off_t)*size) != 0)
            return;
    } else if (*size > 0) {
        unsigned char byte;
        off_t at = (off_t)(*size / 2);
        if (pread(fd, &byte, 1, at) == 1) {
            byte ^= 0xFF;
            if (pwrite(fd, &byte, 1, at) != 1)
                return;
        }
    }
    fsync(fd);
}

int chsm_blob_fault_write(chsm_app *app, const char *operation, const char *resource,
                          const char *content_id, uint64_t *size)
{
    chsm_fault_hit hit;
    if (!app->faults || !chsm_faults_match(app->faults, operation, "PUT", resource,
                                           CHSM_FAULT_CORRUPT | CHSM_FAULT_TRUNCATE, &hit))
        return 0;
    char path[1200];
    if (chsm_blob_content_path(&app->blob->content, content_id, path, sizeof path) != CHSM_OK)
        return 0;
    int fd = open(path, O_RDWR);
    if (fd < 0)
        return 0;
    alter(&hit, fd, size);
    close(fd);
    return 1;
}

int chsm_blob_fault_mem(chsm_app *app, const char *operation, const char *method,
                        const char *resource, const unsigned char *data, uint64_t *len,
                        unsigned char **out)
{
    *out = NULL;
    chsm_fault_hit hit;
    if (!app->faults || !chsm_faults_match(app->faults, operation, method, resource,
                                           CHSM_FAULT_CORRUPT | CHSM_FAULT_TRUNCATE, &hit))
        return 0;
    /* The same change alter() makes to a file. */
    uint64_t n = hit.type == CHSM_FAULT_TRUNCATE ? *len / 2 : *len;
    if (n == 0) {
        *len = 0;
        return 1;
    }
    unsigned char *copy = malloc((size_t)n);
    if (!copy)
        return 0;
    memcpy(copy, data, (size_t)n);
    if (hit.type != CHSM_FAULT_TRUNCATE)
        copy[n / 2] ^= 0xFF;
    *len = n;
    *out = copy;
    return 1;
}

int chsm_blob_fault_read(chsm_app *app, const char *operation, const char *resource, int *fd,
                         uint64_t *offset, uint64_t *len)
{
    chsm_fault_hit hit;
    if (!app->faults || !chsm_faults_match(app->faults, operation, "GET", resource,
                                           CHSM_FAULT_CORRUPT | CHSM_FAULT_TRUNCATE, &hit))
        return 0;
    /* Serve an altered private copy; the stored blob stays intact. */
    char tmpl[1200];
    snprintf(tmpl, sizeof tmpl, "%s/r-XXXXXX", app->blob->content.tmp);
    int copy = mkstemp(tmpl);
    if (copy < 0)
        return 0;
    unlink(tmpl);
    char buf[65536];
    uint64_t done = 0;
    while (done < *len) {
        size_t want = *len - done < sizeof buf ? (size_t)(*len - done) : sizeof buf;
        ssize_t k = pread(*fd, buf, want, (off_t)(*offset + done));
        if (k <= 0 || write(copy, buf, (size_t)k) != k) {
            close(copy);
            return 0;
        }
        done += (uint64_t)k;
    }
    alter(&hit, copy, len);
    close(*fd);
    *fd = copy;
    *offset = 0;
    return 1;
}

int chsm_blob_load_container(chsm_blob_ctx *x, chsm_blob_container *c)
{
    int rc = chsm_blob_repo_container_get(x->app->store, x->account.name, x->container, c);
    if (rc == CHSM_OK)
        return 0;
    if (rc == CHSM_ENOTFOUND)
        chsm_blob_error(x, 404, "ContainerNotFound", "The specified container does not exist.",
                        NULL);
    else
        chsm_blob_store_error(x, rc);
    return 1;
}

int chsm_blob_store_committed(chsm_app *app, chsm_blob_ctx *x, const char *account,
                              const char *container, chsm_blob_row *row, chsm_blob_commit *opt)
{
    chsm_store *s = app->store;
    chsm_blob_row old = {0};
    char **ids = NULL;
    size_t nids = 0;
    int exists = 0;
    int rc = chsm_store_begin(s);
    if (rc != CHSM_OK)
        goto fail;
    chsm_blob_container c;
    rc = chsm_blob_repo_container_get(s, account, container, &c);
    chsm_blob_container_clear(&c);
    if (rc == CHSM_ENOTFOUND) {
        chsm_store_rollback(s);
        if (x)
            chsm_blob_error(x, 404, "ContainerNotFound", "The specified container does not exist.",
                            NULL);
        goto fail_answered;
    }
    if (rc == CHSM_OK) {
        rc = chsm_blob_repo_blob_props(s, account, container, row->name, &old);
        exists = rc == CHSM_OK;
        if (rc == CHSM_ENOTFOUND)
            rc = CHSM_OK;
    }
    if (rc == CHSM_OK && opt && opt->conditions) {
        int cond =
            chsm_blob_check_conditions(opt->conditions, exists, old.etag, old.modified_ms, 0);
        if (cond != CHSM_BLOB_COND_OK) {
            chsm_store_rollback(s);
            if (x)
                chsm_blob_answer_conditions(x, cond, "BlobAlreadyExists",
                                            "The specified blob already exists.");
            rc = CHSM_ECONFLICT;
            goto fail_answered;
        }
    }
    if (rc == CHSM_OK && opt && opt->verify && opt->verify(app, opt->verify_ctx)) {
        chsm_store_rollback(s);
        if (x)
            chsm_blob_error(x, 400, "InvalidBlockList", "The specified block list is invalid.",
                            NULL);
        rc = CHSM_ECONFLICT;
        goto fail_answered;
    }
    if (rc == CHSM_OK) {
        int64_t now = chsm_now_ms();
        row->modified_ms = now;
        row->created_ms = exists ? old.created_ms : now;
        chsm_blob_new_etag(now, row->etag);
        rc = chsm_blob_repo_blob_put(s, account, container, row);
    }
    if (rc == CHSM_OK)
        rc = chsm_blob_repo_block_delete_all(s, account, container, row->name, &ids, &nids);
    if (rc == CHSM_OK && exists && !old.inline_content &&
        strcmp(old.content_id, row->content_id) != 0)
        rc = chsm_blob_repo_ids_add(&ids, &nids, old.content_id);
    if (rc == CHSM_OK)
        rc = chsm_store_commit(s);
    else
        chsm_store_rollback(s);
    if (rc != CHSM_OK)
        goto fail;
    chsm_blob_row_clear(&old);
    chsm_blob_remove_files(app, ids, nids);
    if (opt)
        opt->created = !exists;
    return CHSM_OK;
fail:
    if (x)
        chsm_blob_store_error(x, rc);
fail_answered:
    chsm_blob_row_clear(&old);
    chsm_blob_repo_ids_free(ids, nids);
    if (!row->inline_content)
        chsm_blob_content_remove(&app->blob->content, row->content_id);
    return rc == CHSM_OK ? CHSM_EIO : rc;
}

/* ---- the in-process interface ---- */

/* split_host_port copies the host of an authority (without port, brackets kept). */
static int parse_uri(const char *uri, char *host, size_t hostlen, const char **path)
{
    const char *p;
    if (chsm_starts_with_ci(uri, "https://"))
        p = uri + 8;
    else if (chsm_starts_with_ci(uri, "http://"))
        p = uri + 7;
    else
        return CHSM_EINVAL;
    if (strpbrk(uri, "?#"))
        return CHSM_EINVAL;
    const char *slash = strchr(p, '/');
    size_t n = slash ? (size_t)(slash - p) : strlen(p);
    if (n == 0 || n >= hostlen || memchr(p, '@', n))
        return CHSM_EINVAL;
    memcpy(host, p, n);
    host[n] = '\0';
    /* Drop the port. */
    char *colon = strrchr(host, ':');
    if (colon && !strchr(colon, ']'))
        *colon = '\0';
    for (char *h = host; *h; h++)
        if (*h >= 'A' && *h <= 'Z')
            *h = (char)(*h - 'A' + 'a');
    *path = slash ? slash : "/";
    return CHSM_OK;
}

/* next_segment copies the next decoded path segment; returns the rest or NULL (*oom set when
 * that was for want of memory). */
static const char *next_segment(const char *p, char *out, size_t outlen, int *oom)
{
    while (*p == '/')
        p++;
    if (!*p)
        return NULL;
    const char *end = strchr(p, '/');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    char *dec = NULL;
    if (chsm_percent_decode_rc(p, n, &dec) == CHSM_ENOMEM)
        *oom = 1;
    if (!dec || strlen(dec) >= outlen) {
        free(dec);
        return NULL;
    }
    strcpy(out, dec);
    free(dec);
    return p + n;
}

int chsm_blob_resolve_container_uri(const char *uri, char *account, size_t accountlen,
                                    char *container, size_t containerlen)
{
    char host[256];
    const char *path;
    if (!uri || parse_uri(uri, host, sizeof host, &path) != CHSM_OK)
        return CHSM_EINVAL;
    char acct[64] = "", cont[128] = "";
    const char *rest = path;
    int oom = 0;
    const char *dot = strstr(host, ".blob.");
    if (dot &&
        (strcmp(dot, ".blob.core.windows.net") == 0 || strcmp(dot, ".blob.localhost") == 0)) {
        size_t n = (size_t)(dot - host);
        if (n >= sizeof acct)
            return CHSM_EINVAL;
        memcpy(acct, host, n);
        acct[n] = '\0';
    } else {
        rest = next_segment(rest, acct, sizeof acct, &oom);
        if (!rest)
            return oom ? CHSM_ENOMEM : CHSM_EINVAL;
    }
    rest = next_segment(rest, cont, sizeof cont, &oom);
    if (!rest)
        return oom ? CHSM_ENOMEM : CHSM_EINVAL;
    while (*rest == '/')
        rest++;
    if (*rest)
        return CHSM_EINVAL; /* a blob URI, not a container's */
    if (chsm_blob_check_account_name(acct) != CHSM_BLOB_NAME_OK ||
        chsm_blob_check_container_name(cont) != CHSM_BLOB_NAME_OK)
        return CHSM_EINVAL;
    if (strlen(acct) >= accountlen || strlen(cont) >= containerlen)
        return CHSM_EINVAL;
    strcpy(account, acct);
    strcpy(container, cont);
    return CHSM_OK;
}

char *chsm_blob_account_resource_id(chsm_app *app, const char *account)
{
    chsm_blob_account a;
    if (!account || chsm_blob_account_find(app, account, &a) != CHSM_OK)
        return NULL;
    return chsm_strdup(a.resource_id);
}

int chsm_blob_container_exists(chsm_app *app, const char *account, const char *container)
{
    chsm_blob_account a;
    int rc = chsm_blob_account_find(app, account, &a);
    if (rc == CHSM_ENOTFOUND)
        return 0;
    if (rc != CHSM_OK)
        return rc;
    if (chsm_blob_check_container_name(container) != CHSM_BLOB_NAME_OK)
        return 0;
    chsm_blob_container c;
    rc = chsm_blob_repo_container_get(app->store, a.name, container, &c);
    chsm_blob_container_clear(&c);
    return rc == CHSM_OK ? 1 : rc == CHSM_ENOTFOUND ? 0 : rc;
}

static int check_names(const char *account, const char *container, const char *name)
{
    if (!account || !container || !name ||
        chsm_blob_check_container_name(container) != CHSM_BLOB_NAME_OK ||
        chsm_blob_check_blob_name(name) != CHSM_BLOB_NAME_OK)
        return CHSM_EINVAL;
    return CHSM_OK;
}

/* refused_by_fault tells whether an error-type fault rule (storageUnavailable,
 * containerReadOnly, error) refuses this in-process call, as it would the
 * same call over HTTP. */
static int refused_by_fault(chsm_app *app, const char *operation, const char *method,
                            const char *account, const char *container, const char *name)
{
    char resource[1400];
    snprintf(resource, sizeof resource, "/%s/%s/%s", account, container, name);
    chsm_fault_hit hit;
    return app->faults && chsm_faults_match(app->faults, operation, method, resource,
                                            CHSM_FAULT_ERROR | CHSM_FAULT_THROTTLE, &hit);
}

int chsm_blob_write(chsm_app *app, const char *account, const char *container, const char *name,
                    const void *data, size_t len, const char *content_type, const void *metadata)
{
    if (check_names(account, container, name) != CHSM_OK || (!data && len))
        return CHSM_EINVAL;
    if (len > CHSM_BLOB_MAX_PUT_BLOB_SIZE)
        return CHSM_ETOOBIG;
    const cJSON *meta = metadata;
    if (meta && !cJSON_IsObject(meta))
        return CHSM_EINVAL;
    for (const cJSON *it = meta ? meta->child : NULL; it; it = it->next)
        if (!cJSON_IsString(it) || !chsm_blob_valid_metadata_name(it->string))
            return CHSM_EINVAL;
    chsm_blob_account a;
    int rc = chsm_blob_account_find(app, account, &a);
    if (rc != CHSM_OK)
        return rc;
    int exists = chsm_blob_container_exists(app, a.name, container);
    if (exists <= 0)
        return exists == 0 ? CHSM_ENOTFOUND : exists;
    if (refused_by_fault(app, "blob/PutBlob", "PUT", a.name, container, name))
        return CHSM_EUNAVAILABLE;

    chsm_blob_row row = {0};
    unsigned char md5[16];
    chsm_crypto_md5(data ? data : "", len, md5);
    char *md5_b64 = chsm_crypto_base64_encode(md5, sizeof md5);
    char *meta_text = meta ? chsm_json_print_owned(meta) : chsm_strdup("{}");
    row.name = (char *)name;
    row.size = len;
    row.content_type =
        (char *)(content_type && *content_type ? content_type : "application/octet-stream");
    row.content_md5 = md5_b64;
    row.metadata = meta_text;
    row.blocks = "[]";
    if (!md5_b64 || !meta_text) {
        free(md5_b64);
        free(meta_text);
        return CHSM_ENOMEM;
    }
    char resource[1400];
    snprintf(resource, sizeof resource, "/%s/%s/%s", a.name, container, name);
    uint64_t size = len;
    unsigned char *altered = NULL; /* inline content a fault rule changed */
    if (len <= CHSM_BLOB_INLINE_MAX) {
        /* Small content goes in the row, as Put Blob stores it. */
        chsm_blob_content_new_id(row.content_id);
        row.inline_content = 1;
        row.data = len ? (unsigned char *)data : NULL; /* the caller's; not cleared below */
        if (chsm_blob_fault_mem(app, "blob/PutBlob", "PUT", resource, data, &size, &altered))
            row.data = altered;
    } else {
        rc = chsm_blob_content_write(&app->blob->content, data, len, row.content_id);
        if (rc == CHSM_OK)
            chsm_blob_fault_write(app, "blob/PutBlob", resource, row.content_id, &size);
    }
    row.size = size;
    if (rc == CHSM_OK)
        rc = chsm_blob_store_committed(app, NULL, a.name, container, &row, NULL);
    free(altered);
    free(md5_b64);
    free(meta_text);
    return rc;
}

int chsm_blob_read(chsm_app *app, const char *account, const char *container, const char *name,
                   size_t max, unsigned char **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    if (check_names(account, container, name) != CHSM_OK)
        return CHSM_EINVAL;
    chsm_blob_account a;
    int rc = chsm_blob_account_find(app, account, &a);
    if (rc != CHSM_OK)
        return rc;
    if (refused_by_fault(app, "blob/GetBlob", "GET", a.name, container, name))
        return CHSM_EUNAVAILABLE;
    chsm_blob_row row;
    int fd = -1;
    uint64_t size = 0;
    rc = chsm_store_begin(app->store);
    if (rc != CHSM_OK)
        return rc;
    /* Open the file under the store lock: a concurrent overwrite removes the
     * old file only after its commit, which waits for this lock. */
    rc = chsm_blob_repo_blob_get(app->store, a.name, container, name, &row);
    if (rc == CHSM_OK && !row.inline_content)
        rc = chsm_blob_content_open(&app->blob->content, row.content_id, &fd, &size);
    unsigned char *inline_data = NULL; /* inline content, taken from the row */
    if (rc == CHSM_OK && row.inline_content) {
        inline_data = row.data;
        row.data = NULL;
        size = row.size;
    }
    chsm_blob_row_clear(&row);
    chsm_store_commit(app->store);
    if (rc != CHSM_OK)
        return rc == CHSM_ENOTFOUND ? CHSM_ENOTFOUND : rc;
    if (size > max) {
        if (fd >= 0)
            close(fd);
        free(inline_data);
        return CHSM_ETOOBIG;
    }
    unsigned char *buf = fd < 0 && inline_data ? inline_data : malloc(size ? size : 1);
    if (!buf) {
        if (fd >= 0)
            close(fd);
        return CHSM_ENOMEM;
    }
    uint64_t got = fd < 0 ? size : 0;
    while (got < size) {
        ssize_t k = pread(fd, buf + got, (size_t)(size - got), (off_t)got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (uint64_t)k;
    }
    if (fd >= 0)
        close(fd);
    if (got != size) {
        free(buf);
        return CHSM_EIO;
    }
    /* A read-side corruptBlob / truncateBlob rule changes what the reader sees. */
    char resource[1400];
    snprintf(resource, sizeof resource, "/%s/%s/%s", a.name, container, name);
    chsm_fault_hit hit;
    if (app->faults && chsm_faults_match(app->faults, "blob/GetBlob", "GET", resource,
                                         CHSM_FAULT_CORRUPT | CHSM_FAULT_TRUNCATE, &hit)) {
        if (hit.type == CHSM_FAULT_TRUNCATE)
            size /= 2;
        else if (size > 0)
            buf[size / 2] ^= 0xFF;
    }
    *data = buf;
    *len = (size_t)size;
    return CHSM_OK;
}

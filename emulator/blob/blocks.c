/* blocks.c - block blobs in pieces: Put Block, Put Block List, Get Block List.
 *
 * Each uncommitted block is its own content file. Put Block List assembles
 * the named blocks (uncommitted, or committed ones taken from the current
 * blob's file at their offsets) into a new file outside any lock, then
 * commits it in one transaction that first re-checks that the blocks it used
 * are still the ones it read. */
#include "app/app.h"
#include "app/files.h"
#include "blob/internal.h"
#include "blob/xml.h"
#include "crypto/digest.h"
#include "util/json.h"
#include "util/text.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Largest Put Block List body read (50,000 ids of 64 bytes in XML fit easily). */
#define BLOCK_LIST_BODY_MAX (16u * 1024 * 1024)

static void invalid_block_list(chsm_blob_ctx *x)
{
    chsm_blob_error(x, 400, "InvalidBlockList", "The specified block list is invalid.", NULL);
}

/* valid_block_id: base64 of 1-64 bytes. */
static int valid_block_id(const char *id)
{
    unsigned char *raw = NULL;
    size_t n = 0;
    int ok = chsm_crypto_base64_decode(id, &raw, &n) == CHSM_OK && n >= 1 && n <= 64;
    free(raw);
    return ok;
}

/* first_committed_id returns the id of the first committed block of JSON list text, or NULL. */
static char *first_committed_id(const char *blocks)
{
    cJSON *arr = blocks ? cJSON_Parse(blocks) : NULL;
    const char *id = arr ? chsm_json_str(cJSON_GetArrayItem(arr, 0), "id") : NULL;
    char *out = chsm_strdup(id);
    cJSON_Delete(arr);
    return out;
}

void chsm_blob_put_block(chsm_blob_ctx *x)
{
    const char *bid = chsm_request_query(x->req, "blockid");
    if (!bid || !valid_block_id(bid)) {
        chsm_blob_error_query(x, "InvalidQueryParameterValue", "blockid", bid);
        return;
    }
    chsm_store *s = x->app->store;
    chsm_blob_container c;
    if (chsm_blob_load_container(x, &c))
        return;
    chsm_blob_container_clear(&c);
    /* All block ids of a blob have the same length; at most 100,000 wait uncommitted. */
    chsm_blob_block *blocks = NULL;
    size_t nblocks = 0;
    chsm_blob_row row;
    int rc =
        chsm_blob_repo_block_list(s, x->account.name, x->container, x->blob, &blocks, &nblocks);
    if (rc != CHSM_OK) {
        chsm_blob_store_error(x, rc);
        return;
    }
    size_t idlen = strlen(bid);
    int mismatch = nblocks > 0 && strlen(blocks[0].block_id) != idlen;
    int exists = 0;
    for (size_t i = 0; i < nblocks; i++)
        if (strcmp(blocks[i].block_id, bid) == 0)
            exists = 1;
    chsm_blob_blocks_free(blocks, nblocks);
    if (!mismatch &&
        chsm_blob_repo_blob_get(s, x->account.name, x->container, x->blob, &row) == CHSM_OK) {
        char *first = first_committed_id(row.blocks);
        mismatch = first && strlen(first) != idlen;
        free(first);
        chsm_blob_row_clear(&row);
    }
    if (mismatch) {
        chsm_blob_error(x, 400, "InvalidBlobOrBlock",
                        "The specified blob or block content is invalid.", NULL);
        return;
    }
    if (!exists && nblocks >= CHSM_BLOB_MAX_UNCOMMITTED) {
        chsm_blob_error(x, 409, "BlockCountExceedsLimit",
                        "The uncommitted block count cannot exceed the maximum limit of 100,000 "
                        "blocks.",
                        NULL);
        return;
    }
    chsm_blob_block b = {0};
    chsm_blob_body body; /* blocks are always files: Put Block List assembles from them */
    if (chsm_blob_take_body(x, CHSM_BLOB_MAX_BLOCK_SIZE, 0, &body))
        return;
    memcpy(b.content_id, body.content_id, sizeof b.content_id);
    b.size = body.size;
    b.block_id = (char *)bid;
    b.created_ms = chsm_now_ms();
    char replaced[33] = "";
    rc = chsm_store_begin(s);
    if (rc == CHSM_OK) {
        /* The container may have gone while the body was stored. */
        rc = chsm_blob_repo_container_get(s, x->account.name, x->container, &c);
        chsm_blob_container_clear(&c);
        if (rc == CHSM_OK)
            rc = chsm_blob_repo_block_put(s, x->account.name, x->container, x->blob, &b, replaced);
        if (rc == CHSM_OK)
            rc = chsm_store_commit(s);
        else
            chsm_store_rollback(s);
    }
    if (rc != CHSM_OK) {
        chsm_blob_content_remove(&x->app->blob->content, b.content_id);
        if (rc == CHSM_ENOTFOUND)
            chsm_blob_error(x, 404, "ContainerNotFound", "The specified container does not exist.",
                            NULL);
        else
            chsm_blob_store_error(x, rc);
        return;
    }
    if (replaced[0])
        chsm_blob_content_remove(&x->app->blob->content, replaced);
    char *md5_b64 = chsm_crypto_base64_encode(body.md5, sizeof body.md5);
    if (md5_b64)
        chsm_response_header(x->res, "Content-MD5", md5_b64, 1);
    free(md5_b64);
    chsm_response_header(x->res, "x-ms-request-server-encrypted", "true", 1);
    chsm_blob_empty_answer(x, 201);
}

/* One entry of a block list, resolved to where its bytes are. */
typedef struct plan_item {
    const char *id;
    uint64_t size;
    int committed;       /* from the current blob's file at offset */
    uint64_t offset;     /* committed only */
    char content_id[33]; /* uncommitted only: the block's file */
} plan_item;

typedef struct plan {
    chsm_blob_ctx *x;
    plan_item *items;
    size_t n;
    int uses_committed;
    char committed_content[33]; /* the blob file the committed blocks came from */
} plan;

/* verify_plan runs inside the commit transaction: every block used must
 * still be the one read before the file was assembled. */
static int verify_plan(chsm_app *app, void *ctx)
{
    plan *p = ctx;
    chsm_blob_block *blocks = NULL;
    size_t nblocks = 0;
    if (chsm_blob_repo_block_list(app->store, p->x->account.name, p->x->container, p->x->blob,
                                  &blocks, &nblocks) != CHSM_OK)
        return 1;
    int bad = 0;
    for (size_t i = 0; i < p->n && !bad; i++) {
        if (p->items[i].committed)
            continue;
        int found = 0;
        for (size_t j = 0; j < nblocks && !found; j++)
            found = strcmp(blocks[j].block_id, p->items[i].id) == 0 &&
                    strcmp(blocks[j].content_id, p->items[i].content_id) == 0;
        bad = !found;
    }
    chsm_blob_blocks_free(blocks, nblocks);
    if (!bad && p->uses_committed) {
        chsm_blob_row row;
        if (chsm_blob_repo_blob_props(app->store, p->x->account.name, p->x->container, p->x->blob,
                                      &row) != CHSM_OK)
            return 1;
        bad = strcmp(row.content_id, p->committed_content) != 0;
        chsm_blob_row_clear(&row);
    }
    return bad;
}

static char *read_list_body(chsm_blob_ctx *x, size_t *len)
{
    const chsm_request *req = x->req;
    if (req->body_len > BLOCK_LIST_BODY_MAX) {
        chsm_blob_error(x, 413, "RequestBodyTooLarge",
                        "The request body is too large and exceeds the maximum permissible limit.",
                        NULL);
        return NULL;
    }
    char *out = NULL;
    if (req->body_path) {
        if (chsm_read_file(req->body_path, BLOCK_LIST_BODY_MAX, &out, len) != CHSM_OK) {
            chsm_blob_store_error(x, CHSM_EIO);
            return NULL;
        }
        return out;
    }
    out = chsm_strndup(req->body ? (const char *)req->body : "", req->body_len);
    *len = req->body_len;
    if (!out)
        chsm_blob_store_error(x, CHSM_ENOMEM);
    return out;
}

void chsm_blob_put_block_list(chsm_blob_ctx *x)
{
    const char *blob_md5 = chsm_request_header(x->req, "x-ms-blob-content-md5");
    if (blob_md5 && !chsm_blob_md5_header_ok(blob_md5)) {
        chsm_blob_error(x, 400, "InvalidMd5",
                        "The MD5 value specified in the request is invalid. The MD5 value must be "
                        "128 bits and Base64-encoded.",
                        NULL);
        return;
    }
    size_t len = 0;
    char *body = read_list_body(x, &len);
    if (!body)
        return;
    char err[128];
    chsm_xml_node *root = chsm_xml_parse(body, len, err, sizeof err);
    free(body);
    if (!root || strcmp(root->name, "BlockList") != 0) {
        chsm_xml_free(root);
        chsm_blob_error(x, 400, "InvalidXmlDocument", "XML specified is not syntactically valid.",
                        NULL);
        return;
    }
    if (root->nchildren > CHSM_BLOB_MAX_BLOCKS) {
        chsm_xml_free(root);
        chsm_blob_error(x, 400, "BlockListTooLong",
                        "The block list may not contain more than 50,000 blocks.", NULL);
        return;
    }
    char *meta = chsm_blob_metadata_from_headers(x);
    if (!meta) {
        chsm_xml_free(root);
        return;
    }
    chsm_store *s = x->app->store;
    plan p = {0};
    p.x = x;
    chsm_blob_block *blocks = NULL;
    size_t nblocks = 0;
    chsm_blob_row old = {0};
    cJSON *committed = NULL;
    int have_old = 0, ok = 1;
    cJSON *newlist = cJSON_CreateArray();
    chsm_blob_container c;
    if (chsm_blob_load_container(x, &c))
        goto out;
    chsm_blob_container_clear(&c);
    int rc =
        chsm_blob_repo_block_list(s, x->account.name, x->container, x->blob, &blocks, &nblocks);
    if (rc == CHSM_OK) {
        rc = chsm_blob_repo_blob_get(s, x->account.name, x->container, x->blob, &old);
        have_old = rc == CHSM_OK;
        if (rc == CHSM_ENOTFOUND)
            rc = CHSM_OK;
    }
    if (rc != CHSM_OK || !newlist) {
        chsm_blob_store_error(x, rc != CHSM_OK ? rc : CHSM_ENOMEM);
        goto out;
    }
    committed = have_old ? cJSON_Parse(old.blocks) : NULL;
    p.items = calloc(root->nchildren + 1, sizeof *p.items);
    if (!p.items) {
        chsm_blob_store_error(x, CHSM_ENOMEM);
        goto out;
    }
    /* Resolve each entry: Uncommitted, Committed, or Latest (uncommitted first). */
    for (size_t i = 0; i < root->nchildren && ok; i++) {
        const chsm_xml_node *e = root->children[i];
        const char *id = e->text;
        int want_unc = strcmp(e->name, "Uncommitted") == 0 || strcmp(e->name, "Latest") == 0;
        int want_com = strcmp(e->name, "Committed") == 0 || strcmp(e->name, "Latest") == 0;
        if ((!want_unc && !want_com) || e->nchildren > 0) {
            ok = 0;
            break;
        }
        plan_item *it = &p.items[p.n];
        it->id = id;
        int found = 0;
        for (size_t j = 0; want_unc && j < nblocks && !found; j++) {
            if (strcmp(blocks[j].block_id, id) == 0) {
                found = 1;
                it->size = blocks[j].size;
                memcpy(it->content_id, blocks[j].content_id, sizeof it->content_id);
            }
        }
        uint64_t off = 0;
        cJSON *b;
        cJSON_ArrayForEach(b, committed)
        {
            if (found || !want_com)
                break;
            const cJSON *sz = cJSON_GetObjectItem(b, "size");
            uint64_t bsize = cJSON_IsNumber(sz) ? (uint64_t)sz->valuedouble : 0;
            const char *bidv = chsm_json_str(b, "id");
            if (bidv && strcmp(bidv, id) == 0) {
                found = 1;
                it->committed = 1;
                it->offset = off;
                it->size = bsize;
                p.uses_committed = 1;
            }
            off += bsize;
        }
        if (!found)
            ok = 0;
        else
            p.n++;
    }
    if (!ok) {
        invalid_block_list(x);
        goto out;
    }
    if (p.uses_committed)
        memcpy(p.committed_content, old.content_id, sizeof p.committed_content);

    /* Assemble the new file outside any lock. */
    chsm_blob_writer w;
    rc = chsm_blob_content_create(&x->app->blob->content, &w);
    for (size_t i = 0; i < p.n && rc == CHSM_OK; i++) {
        char path[1200];
        const plan_item *it = &p.items[i];
        if (it->committed && old.inline_content) {
            /* A committed block of a blob whose content is in its row. */
            if (it->offset > old.size || it->size > old.size - it->offset)
                rc = CHSM_EIO;
            else if (it->size)
                rc = chsm_blob_content_append(&w, old.data + it->offset, (size_t)it->size);
        } else {
            rc = chsm_blob_content_path(&x->app->blob->content,
                                        it->committed ? old.content_id : it->content_id, path,
                                        sizeof path);
            if (rc == CHSM_OK)
                rc = chsm_blob_content_append_file(&w, path, it->committed ? it->offset : 0,
                                                   it->size);
        }
        cJSON *entry = cJSON_CreateObject();
        cJSON_AddStringToObject(entry, "id", it->id);
        cJSON_AddNumberToObject(entry, "size", (double)it->size);
        cJSON_AddItemToArray(newlist, entry);
    }
    if (rc == CHSM_ENOTFOUND) {
        /* A block vanished under us (a concurrent commit took it). */
        chsm_blob_content_abort(&w);
        invalid_block_list(x);
        goto out;
    }
    chsm_blob_row row = {0};
    uint64_t size = w.size;
    if (rc == CHSM_OK)
        rc = chsm_blob_content_commit(&x->app->blob->content, &w, row.content_id);
    else
        chsm_blob_content_abort(&w);
    char *list_text = rc == CHSM_OK ? chsm_json_print_owned(newlist) : NULL;
    if (rc != CHSM_OK || !list_text) {
        if (rc == CHSM_OK)
            chsm_blob_content_remove(&x->app->blob->content, row.content_id);
        chsm_blob_store_error(x, rc != CHSM_OK ? rc : CHSM_ENOMEM);
        goto out;
    }
    chsm_blob_fault_write(x->app, "blob/PutBlockList", x->resource, row.content_id, &size);
    row.name = x->blob;
    row.size = size;
    row.metadata = meta;
    row.blocks = list_text;
    const char *ct = chsm_request_header(x->req, "x-ms-blob-content-type");
    row.content_type = (char *)(ct && *ct ? ct : "application/octet-stream");
    row.content_encoding = (char *)chsm_request_header(x->req, "x-ms-blob-content-encoding");
    row.content_language = (char *)chsm_request_header(x->req, "x-ms-blob-content-language");
    row.cache_control = (char *)chsm_request_header(x->req, "x-ms-blob-cache-control");
    row.content_disposition = (char *)chsm_request_header(x->req, "x-ms-blob-content-disposition");
    row.content_md5 = (char *)blob_md5;
    chsm_blob_commit opt = {.conditions = x->req, .verify = verify_plan, .verify_ctx = &p};
    if (chsm_blob_store_committed(x->app, x, x->account.name, x->container, &row, &opt) ==
        CHSM_OK) {
        char etag[48], date[40];
        chsm_blob_quoted_etag(row.etag, etag, sizeof etag);
        chsm_format_http_date(row.modified_ms, date, sizeof date);
        chsm_response_header(x->res, "ETag", etag, 1);
        chsm_response_header(x->res, "Last-Modified", date, 1);
        chsm_response_header(x->res, "x-ms-request-server-encrypted", "true", 1);
        chsm_blob_empty_answer(x, 201);
    }
    free(list_text);
out:
    free(p.items);
    cJSON_Delete(newlist);
    cJSON_Delete(committed);
    chsm_blob_row_clear(&old);
    chsm_blob_blocks_free(blocks, nblocks);
    chsm_xml_free(root);
    free(meta);
}

static void block_xml(chsm_buf *b, const char *id, uint64_t size)
{
    chsm_xml_open(b, "Block");
    chsm_xml_elem(b, "Name", id);
    chsm_xml_elem_u64(b, "Size", size);
    chsm_xml_close(b, "Block");
}

void chsm_blob_get_block_list(chsm_blob_ctx *x)
{
    const char *type = chsm_request_query(x->req, "blocklisttype");
    int want_com = 1, want_unc = 0;
    if (type) {
        if (chsm_streq_ci(type, "committed")) {
            want_com = 1;
        } else if (chsm_streq_ci(type, "uncommitted")) {
            want_com = 0;
            want_unc = 1;
        } else if (chsm_streq_ci(type, "all")) {
            want_unc = 1;
        } else {
            chsm_blob_error_query(x, "InvalidQueryParameterValue", "blocklisttype", type);
            return;
        }
    }
    chsm_blob_container c;
    if (chsm_blob_load_container(x, &c))
        return;
    chsm_blob_container_clear(&c);
    chsm_store *s = x->app->store;
    chsm_blob_row row;
    chsm_blob_block *blocks = NULL;
    size_t nblocks = 0;
    int rc = chsm_store_begin(s);
    int have_row = 0;
    if (rc == CHSM_OK) {
        rc = chsm_blob_repo_blob_get(s, x->account.name, x->container, x->blob, &row);
        have_row = rc == CHSM_OK;
        if (rc == CHSM_ENOTFOUND)
            rc = CHSM_OK;
        if (rc == CHSM_OK)
            rc = chsm_blob_repo_block_list(s, x->account.name, x->container, x->blob, &blocks,
                                           &nblocks);
        chsm_store_commit(s);
    }
    if (rc != CHSM_OK) {
        if (have_row)
            chsm_blob_row_clear(&row);
        chsm_blob_store_error(x, rc);
        return;
    }
    if (!have_row && nblocks == 0) {
        chsm_blob_error(x, 404, "BlobNotFound", "The specified blob does not exist.", NULL);
        return;
    }
    chsm_buf b = {0};
    chsm_xml_begin(&b);
    chsm_xml_open(&b, "BlockList");
    if (want_com) {
        chsm_xml_open(&b, "CommittedBlocks");
        cJSON *arr = have_row ? cJSON_Parse(row.blocks) : NULL;
        cJSON *e;
        cJSON_ArrayForEach(e, arr)
        {
            const cJSON *sz = cJSON_GetObjectItem(e, "size");
            block_xml(&b, chsm_json_str(e, "id"),
                      cJSON_IsNumber(sz) ? (uint64_t)sz->valuedouble : 0);
        }
        cJSON_Delete(arr);
        chsm_xml_close(&b, "CommittedBlocks");
    }
    if (want_unc) {
        chsm_xml_open(&b, "UncommittedBlocks");
        for (size_t i = 0; i < nblocks; i++)
            block_xml(&b, blocks[i].block_id, blocks[i].size);
        chsm_xml_close(&b, "UncommittedBlocks");
    }
    chsm_xml_close(&b, "BlockList");
    if (have_row) {
        char etag[48], date[40], size[24];
        chsm_blob_quoted_etag(row.etag, etag, sizeof etag);
        chsm_format_http_date(row.modified_ms, date, sizeof date);
        snprintf(size, sizeof size, "%llu", (unsigned long long)row.size);
        chsm_response_header(x->res, "ETag", etag, 1);
        chsm_response_header(x->res, "Last-Modified", date, 1);
        chsm_response_header(x->res, "x-ms-blob-content-length", size, 1);
        chsm_blob_row_clear(&row);
    }
    chsm_blob_blocks_free(blocks, nblocks);
    chsm_blob_xml_answer(x, 200, &b);
}

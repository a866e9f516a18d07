/* blobs.c - blob operations: Put Blob, Get Blob (ranges), properties,
 * metadata, Delete Blob. */
#include "app/app.h"
#include "blob/internal.h"
#include "blob/xml.h"
#include "crypto/digest.h"
#include "util/text.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Largest range whose MD5 Get Blob computes (x-ms-range-get-content-md5). */
#define RANGE_MD5_MAX (4u * 1024 * 1024)

int chsm_blob_md5_header_ok(const char *v)
{
    unsigned char *raw = NULL;
    size_t n = 0;
    int ok = chsm_crypto_base64_decode(v, &raw, &n) == CHSM_OK && n == 16;
    free(raw);
    return ok;
}

static void invalid_md5(chsm_blob_ctx *x)
{
    chsm_blob_error(x, 400, "InvalidMd5",
                    "The MD5 value specified in the request is invalid. The MD5 value must be 128 "
                    "bits and Base64-encoded.",
                    NULL);
}

static void put_crc_le(uint64_t crc, unsigned char out[8])
{
    for (int i = 0; i < 8; i++)
        out[i] = (unsigned char)(crc >> (8 * i));
}

int chsm_blob_take_body(chsm_blob_ctx *x, uint64_t limit, int may_inline, chsm_blob_body *out)
{
    memset(out, 0, sizeof *out);
    unsigned char *md5 = out->md5;
    const chsm_request *req = x->req;
    const char *cl = chsm_request_header(req, "Content-Length");
    if (!cl) {
        chsm_blob_error(x, 411, "MissingContentLengthHeader",
                        "Content-Length HTTP header is missing", NULL);
        return 1;
    }
    char *end = NULL;
    unsigned long long declared = strtoull(cl, &end, 10);
    if (!*cl || *end || declared != req->body_len) {
        chsm_blob_error_header(x, "InvalidHeaderValue", "Content-Length", cl);
        return 1;
    }
    if (declared > limit) {
        chsm_blob_error(x, 413, "RequestBodyTooLarge",
                        "The request body is too large and exceeds the maximum permissible limit.",
                        NULL);
        return 1;
    }
    const char *want_md5 = chsm_request_header(req, "Content-MD5");
    const char *want_crc = chsm_request_header(req, "x-ms-content-crc64");
    if (want_md5 && !chsm_blob_md5_header_ok(want_md5)) {
        invalid_md5(x);
        return 1;
    }
    unsigned char *crc_raw = NULL;
    size_t crc_len = 0;
    if (want_crc &&
        (chsm_crypto_base64_decode(want_crc, &crc_raw, &crc_len) != CHSM_OK || crc_len != 8)) {
        free(crc_raw);
        chsm_blob_error_header(x, "InvalidHeaderValue", "x-ms-content-crc64", want_crc);
        return 1;
    }
    uint64_t crc = 0;
    int rc = CHSM_OK;
    if (req->body_path && !want_crc && chsm_blob_observed_md5(req, md5) == CHSM_OK) {
        /* Hashed on another core as it arrived. */
    } else if (req->body_path) {
        int fd = open(req->body_path, O_RDONLY);
        rc = fd < 0 ? CHSM_EIO
                    : chsm_blob_content_digest(fd, 0, req->body_len, md5, want_crc ? &crc : NULL);
        if (fd >= 0)
            close(fd);
    } else {
        chsm_crypto_md5(req->body ? req->body : (const unsigned char *)"", req->body_len, md5);
        if (want_crc)
            crc = chsm_crypto_crc64(0, req->body ? req->body : (const unsigned char *)"",
                                    req->body_len);
    }
    if (rc != CHSM_OK) {
        free(crc_raw);
        chsm_blob_store_error(x, rc);
        return 1;
    }
    char *md5_b64 = chsm_crypto_base64_encode(md5, 16);
    if (want_md5 && (!md5_b64 || strcmp(md5_b64, want_md5) != 0)) {
        chsm_buf b = {0};
        chsm_xml_elem(&b, "UserSpecifiedMd5", want_md5);
        chsm_xml_elem(&b, "ServerCalculatedMd5", md5_b64);
        char *extra = chsm_buf_steal(&b);
        chsm_blob_error(x, 400, "Md5Mismatch",
                        "The MD5 value specified in the request did not match with the MD5 value "
                        "calculated by the server.",
                        extra);
        free(extra);
        free(md5_b64);
        free(crc_raw);
        return 1;
    }
    free(md5_b64);
    if (want_crc) {
        unsigned char le[8];
        put_crc_le(crc, le);
        char *crc_b64 = chsm_crypto_base64_encode(le, 8);
        int match = memcmp(le, crc_raw, 8) == 0;
        free(crc_raw);
        if (!match) {
            chsm_buf b = {0};
            chsm_xml_elem(&b, "UserSpecifiedCrc64", want_crc);
            chsm_xml_elem(&b, "ServerCalculatedCrc64", crc_b64);
            char *extra = chsm_buf_steal(&b);
            chsm_blob_error(x, 400, "Crc64Mismatch",
                            "The CRC64 value specified in the request did not match with the "
                            "CRC64 value calculated by the server.",
                            extra);
            free(extra);
            free(crc_b64);
            return 1;
        }
        if (crc_b64)
            chsm_response_header(x->res, "x-ms-content-crc64", crc_b64, 1);
        free(crc_b64);
    }
    out->size = declared;
    if (may_inline && !req->body_path && req->body_len <= CHSM_BLOB_INLINE_MAX) {
        chsm_blob_content_new_id(out->content_id);
        out->inline_content = 1;
        out->data = req->body_len ? req->body : NULL;
        return 0;
    }
    if (req->body_path)
        rc = chsm_blob_content_import(&x->app->blob->content, req->body_path, out->content_id);
    else
        rc = chsm_blob_content_write(&x->app->blob->content,
                                     req->body ? req->body : (const unsigned char *)"",
                                     req->body_len, out->content_id);
    if (rc != CHSM_OK) {
        chsm_blob_store_error(x, rc);
        return 1;
    }
    return 0;
}

/* header_or copies the first present header of two names (NULL if neither). */
static const char *header_or(const chsm_request *req, const char *a, const char *b)
{
    const char *v = chsm_request_header(req, a);
    if (!v && b)
        v = chsm_request_header(req, b);
    return v;
}

static void write_headers(chsm_blob_ctx *x, const chsm_blob_row *row)
{
    char etag[48], date[40];
    chsm_blob_quoted_etag(row->etag, etag, sizeof etag);
    chsm_format_http_date(row->modified_ms, date, sizeof date);
    chsm_response_header(x->res, "ETag", etag, 1);
    chsm_response_header(x->res, "Last-Modified", date, 1);
    chsm_response_header(x->res, "x-ms-request-server-encrypted", "true", 1);
}

void chsm_blob_put_blob(chsm_blob_ctx *x)
{
    const char *type = chsm_request_header(x->req, "x-ms-blob-type");
    if (!type) {
        chsm_blob_error_header(x, "MissingRequiredHeader", "x-ms-blob-type", NULL);
        return;
    }
    if (strcmp(type, "PageBlob") == 0 || strcmp(type, "AppendBlob") == 0) {
        chsm_blob_error(x, 501, "NotImplemented",
                        "Only block blobs are supported by the emulator's Blob service.", NULL);
        return;
    }
    if (strcmp(type, "BlockBlob") != 0) {
        chsm_blob_error_header(x, "InvalidHeaderValue", "x-ms-blob-type", type);
        return;
    }
    const char *blob_md5 = chsm_request_header(x->req, "x-ms-blob-content-md5");
    if (blob_md5 && !chsm_blob_md5_header_ok(blob_md5)) {
        invalid_md5(x);
        return;
    }
    chsm_blob_container c;
    if (chsm_blob_load_container(x, &c))
        return;
    chsm_blob_container_clear(&c);
    char *meta = chsm_blob_metadata_from_headers(x);
    if (!meta)
        return;
    chsm_blob_row row = {0};
    chsm_blob_body body;
    if (chsm_blob_take_body(x, CHSM_BLOB_MAX_PUT_BLOB_SIZE, 1, &body)) {
        free(meta);
        return;
    }
    memcpy(row.content_id, body.content_id, sizeof row.content_id);
    row.size = body.size;
    row.inline_content = body.inline_content;
    unsigned char *altered = NULL; /* inline content a fault rule changed */
    if (row.inline_content) {
        row.data = (unsigned char *)body.data; /* the request's; not cleared below */
        if (chsm_blob_fault_mem(x->app, "blob/PutBlob", "PUT", x->resource, body.data, &row.size,
                                &altered))
            row.data = altered;
    } else {
        chsm_blob_fault_write(x->app, "blob/PutBlob", x->resource, row.content_id, &row.size);
    }
    char *md5_b64 = chsm_crypto_base64_encode(body.md5, sizeof body.md5);
    row.name = x->blob;
    row.metadata = meta;
    row.blocks = "[]";
    const char *ct = header_or(x->req, "x-ms-blob-content-type", "Content-Type");
    row.content_type = (char *)(ct && *ct ? ct : "application/octet-stream");
    row.content_encoding =
        (char *)header_or(x->req, "x-ms-blob-content-encoding", "Content-Encoding");
    row.content_language =
        (char *)header_or(x->req, "x-ms-blob-content-language", "Content-Language");
    row.cache_control = (char *)header_or(x->req, "x-ms-blob-cache-control", NULL);
    row.content_disposition = (char *)header_or(x->req, "x-ms-blob-content-disposition", NULL);
    row.content_md5 = (char *)(blob_md5 ? blob_md5 : md5_b64);
    chsm_blob_commit opt = {.conditions = x->req};
    if (chsm_blob_store_committed(x->app, x, x->account.name, x->container, &row, &opt) ==
        CHSM_OK) {
        write_headers(x, &row);
        if (md5_b64)
            chsm_response_header(x->res, "Content-MD5", md5_b64, 1);
        chsm_blob_empty_answer(x, 201);
    }
    free(altered);
    free(md5_b64);
    free(meta);
}

/* parse_range reads "bytes=S-E" or "bytes=S-"; 0 on success. */
static int parse_range(const char *v, uint64_t *start, uint64_t *end, int *open_end)
{
    if (strncmp(v, "bytes=", 6) != 0)
        return -1;
    const char *p = v + 6;
    char *e = NULL;
    if (*p < '0' || *p > '9')
        return -1;
    errno = 0;
    unsigned long long s = strtoull(p, &e, 10);
    if (errno || *e != '-')
        return -1;
    p = e + 1;
    *start = s;
    if (!*p) {
        *open_end = 1;
        return 0;
    }
    if (*p < '0' || *p > '9')
        return -1;
    unsigned long long en = strtoull(p, &e, 10);
    if (errno || *e || en < s)
        return -1;
    *open_end = 0;
    *end = en;
    return 0;
}

/* open_blob loads the blob row and opens its file under the store lock (so
 * a concurrent overwrite cannot remove the file first); answers 404s. Inline
 * content comes with the row (row->data) and *fd stays -1. */
static int open_blob(chsm_blob_ctx *x, chsm_blob_row *row, int *fd)
{
    *fd = -1;
    chsm_store *s = x->app->store;
    int rc = chsm_store_begin(s);
    if (rc != CHSM_OK) {
        chsm_blob_store_error(x, rc);
        return 1;
    }
    chsm_blob_container c;
    if (chsm_blob_load_container(x, &c)) {
        chsm_store_commit(s);
        return 1;
    }
    chsm_blob_container_clear(&c);
    rc = chsm_blob_repo_blob_get(s, x->account.name, x->container, x->blob, row);
    if (rc == CHSM_OK && !row->inline_content)
        rc = chsm_blob_content_open(&x->app->blob->content, row->content_id, fd, NULL);
    chsm_store_commit(s);
    if (rc == CHSM_ENOTFOUND) {
        chsm_blob_row_clear(row);
        chsm_blob_error(x, 404, "BlobNotFound", "The specified blob does not exist.", NULL);
        return 1;
    }
    if (rc != CHSM_OK) {
        chsm_blob_row_clear(row);
        chsm_blob_store_error(x, rc);
        return 1;
    }
    return 0;
}

static void set_if(chsm_blob_ctx *x, const char *name, const char *v)
{
    if (v && *v)
        chsm_response_header(x->res, name, v, 1);
}

static void blob_headers(chsm_blob_ctx *x, const chsm_blob_row *row, int full)
{
    char etag[48], date[40], created[40];
    chsm_blob_quoted_etag(row->etag, etag, sizeof etag);
    chsm_format_http_date(row->modified_ms, date, sizeof date);
    chsm_format_http_date(row->created_ms, created, sizeof created);
    chsm_response_header(x->res, "ETag", etag, 1);
    chsm_response_header(x->res, "Last-Modified", date, 1);
    chsm_response_header(x->res, "x-ms-creation-time", created, 1);
    chsm_response_header(x->res, "x-ms-blob-type", "BlockBlob", 1);
    chsm_response_header(x->res, "x-ms-lease-status", "unlocked", 1);
    chsm_response_header(x->res, "x-ms-lease-state", "available", 1);
    chsm_response_header(x->res, "x-ms-server-encrypted", "true", 1);
    chsm_response_header(x->res, "Accept-Ranges", "bytes", 1);
    chsm_blob_metadata_to_headers(x, row->metadata);
    if (!full)
        return;
    set_if(x, "Content-Type", row->content_type);
    set_if(x, "Content-Encoding", row->content_encoding);
    set_if(x, "Content-Language", row->content_language);
    set_if(x, "Cache-Control", row->cache_control);
    set_if(x, "Content-Disposition", row->content_disposition);
}

static void close_fd(int fd)
{
    if (fd >= 0)
        close(fd);
}

/* answer_content answers status with len bytes of the blob from offset: the
 * file fd (whose ownership passes to the response), or the row's inline
 * content copied out (fd < 0; data then holds the bytes from offset). */
static void answer_content(chsm_blob_ctx *x, int status, int fd, const unsigned char *data,
                           uint64_t offset, uint64_t len)
{
    if (fd >= 0) {
        chsm_response_set_file(x->res, status, fd, offset, len);
        return;
    }
    char *copy = malloc(len ? (size_t)len : 1);
    if (!copy) {
        chsm_blob_store_error(x, CHSM_ENOMEM);
        return;
    }
    if (len)
        memcpy(copy, data + offset, (size_t)len);
    chsm_response_set_body(x->res, status, NULL, copy, (size_t)len);
}

void chsm_blob_get_blob(chsm_blob_ctx *x)
{
    const char *xr = chsm_request_header(x->req, "x-ms-range");
    const char *hr = chsm_request_header(x->req, "Range");
    const char *range = xr ? xr : hr;
    uint64_t start = 0, end = 0;
    int open_end = 0, ranged = 0;
    if (range) {
        if (parse_range(range, &start, &end, &open_end) == 0)
            ranged = 1;
        else if (xr) {
            chsm_blob_error_header(x, "InvalidHeaderValue", "x-ms-range", xr);
            return;
        }
        /* A malformed Range is ignored, as HTTP says. */
    }
    const char *want_md5 = chsm_request_header(x->req, "x-ms-range-get-content-md5");
    int range_md5 = want_md5 && chsm_streq_ci(want_md5, "true");
    chsm_blob_row row;
    int fd;
    if (open_blob(x, &row, &fd))
        return;
    int cond = chsm_blob_check_conditions(x->req, 1, row.etag, row.modified_ms, 1);
    if (cond != CHSM_BLOB_COND_OK) {
        close_fd(fd);
        if (cond == CHSM_BLOB_COND_NOT_MODIFIED) {
            char etag[48], date[40];
            chsm_blob_quoted_etag(row.etag, etag, sizeof etag);
            chsm_format_http_date(row.modified_ms, date, sizeof date);
            chsm_response_header(x->res, "ETag", etag, 1);
            chsm_response_header(x->res, "Last-Modified", date, 1);
        }
        chsm_blob_answer_conditions(x, cond, "ConditionNotMet", "");
        chsm_blob_row_clear(&row);
        return;
    }
    uint64_t size = row.size, offset = 0, len = size;
    if (ranged) {
        if (start >= size) {
            char cr[64];
            snprintf(cr, sizeof cr, "bytes */%llu", (unsigned long long)size);
            close_fd(fd);
            chsm_blob_row_clear(&row);
            chsm_response_header(x->res, "Content-Range", cr, 1);
            chsm_blob_error(x, 416, "InvalidRange",
                            "The range specified is invalid for the current size of the resource.",
                            NULL);
            return;
        }
        if (open_end || end >= size)
            end = size - 1;
        offset = start;
        len = end - start + 1;
    }
    if (range_md5 && (!ranged || len > RANGE_MD5_MAX)) {
        close_fd(fd);
        chsm_blob_row_clear(&row);
        chsm_blob_error(x, 400, "OutOfRangeInput", "One of the request inputs is out of range.",
                        NULL);
        return;
    }
    const unsigned char *data = row.data; /* inline content, or NULL */
    unsigned char *altered = NULL;        /* inline content a fault rule changed */
    if (!x->head && fd >= 0) {
        chsm_blob_fault_read(x->app, "blob/GetBlob", x->resource, &fd, &offset, &len);
    } else if (!x->head && chsm_blob_fault_mem(x->app, "blob/GetBlob", "GET", x->resource,
                                               data ? data + offset : NULL, &len, &altered)) {
        data = altered;
        offset = 0;
    }
    blob_headers(x, &row, 1);
    if (ranged) {
        char cr[96];
        snprintf(cr, sizeof cr, "bytes %llu-%llu/%llu", (unsigned long long)start,
                 (unsigned long long)(start + len - (len ? 1 : 0)), (unsigned long long)size);
        chsm_response_header(x->res, "Content-Range", cr, 1);
        set_if(x, "x-ms-blob-content-md5", row.content_md5);
        if (range_md5) {
            unsigned char md5[16];
            int rc = CHSM_OK;
            if (fd >= 0)
                rc = chsm_blob_content_digest(fd, offset, len, md5, NULL);
            else
                chsm_crypto_md5(data ? data + offset : (const unsigned char *)"", (size_t)len, md5);
            if (rc == CHSM_OK) {
                char *b64 = chsm_crypto_base64_encode(md5, 16);
                set_if(x, "Content-MD5", b64);
                free(b64);
            }
        }
    } else {
        set_if(x, "Content-MD5", row.content_md5);
    }
    chsm_blob_common_headers(x);
    answer_content(x, ranged ? 206 : 200, fd, data, offset, len);
    free(altered);
    chsm_blob_row_clear(&row);
}

void chsm_blob_get_blob_properties(chsm_blob_ctx *x)
{
    int metadata_only = chsm_request_query(x->req, "comp") != NULL;
    chsm_blob_row row;
    int fd;
    if (open_blob(x, &row, &fd))
        return;
    int cond = chsm_blob_check_conditions(x->req, 1, row.etag, row.modified_ms, 1);
    if (cond != CHSM_BLOB_COND_OK) {
        close_fd(fd);
        chsm_blob_answer_conditions(x, cond, "ConditionNotMet", "");
        chsm_blob_row_clear(&row);
        return;
    }
    if (metadata_only) {
        close_fd(fd);
        char etag[48], date[40];
        chsm_blob_quoted_etag(row.etag, etag, sizeof etag);
        chsm_format_http_date(row.modified_ms, date, sizeof date);
        chsm_response_header(x->res, "ETag", etag, 1);
        chsm_response_header(x->res, "Last-Modified", date, 1);
        chsm_blob_metadata_to_headers(x, row.metadata);
        chsm_blob_row_clear(&row);
        chsm_blob_empty_answer(x, 200);
        return;
    }
    blob_headers(x, &row, 1);
    set_if(x, "Content-MD5", row.content_md5);
    chsm_response_header(x->res, "x-ms-access-tier", "Hot", 1);
    chsm_response_header(x->res, "x-ms-access-tier-inferred", "true", 1);
    chsm_blob_common_headers(x);
    /* HEAD answers with the blob's Content-Length, so the content backs the
     * response even though no byte of it is sent. */
    answer_content(x, 200, fd, row.data, 0, row.size);
    chsm_blob_row_clear(&row);
}

/* update_blob runs change on the blob row inside one transaction after the
 * write conditions, then stores it with a new ETag and answers 200. */
static void update_blob(chsm_blob_ctx *x,
                        void (*change)(chsm_blob_ctx *x, chsm_blob_row *row, void *ctx), void *ctx)
{
    chsm_store *s = x->app->store;
    chsm_blob_row row;
    int rc = chsm_store_begin(s);
    if (rc != CHSM_OK) {
        chsm_blob_store_error(x, rc);
        return;
    }
    chsm_blob_container c;
    if (chsm_blob_load_container(x, &c)) {
        chsm_store_rollback(s);
        return;
    }
    chsm_blob_container_clear(&c);
    rc = chsm_blob_repo_blob_get(s, x->account.name, x->container, x->blob, &row);
    if (rc != CHSM_OK) {
        chsm_store_rollback(s);
        if (rc == CHSM_ENOTFOUND)
            chsm_blob_error(x, 404, "BlobNotFound", "The specified blob does not exist.", NULL);
        else
            chsm_blob_store_error(x, rc);
        return;
    }
    int cond = chsm_blob_check_conditions(x->req, 1, row.etag, row.modified_ms, 0);
    if (chsm_blob_answer_conditions(x, cond, "ConditionNotMet",
                                    "The condition specified using HTTP conditional header(s) is "
                                    "not met.")) {
        chsm_store_rollback(s);
        chsm_blob_row_clear(&row);
        return;
    }
    change(x, &row, ctx);
    row.modified_ms = chsm_now_ms();
    chsm_blob_new_etag(row.modified_ms, row.etag);
    rc = chsm_blob_repo_blob_put(s, x->account.name, x->container, &row);
    if (rc == CHSM_OK)
        rc = chsm_store_commit(s);
    else
        chsm_store_rollback(s);
    if (rc != CHSM_OK) {
        chsm_blob_store_error(x, rc);
    } else {
        write_headers(x, &row);
        chsm_blob_empty_answer(x, 200);
    }
    chsm_blob_row_clear(&row);
}

static void replace_str(char **field, const char *v)
{
    free(*field);
    *field = v && *v ? chsm_strdup(v) : NULL;
}

static void change_properties(chsm_blob_ctx *x, chsm_blob_row *row, void *ctx)
{
    (void)ctx;
    /* Set Blob Properties replaces all five HTTP properties: one not sent is cleared. */
    const chsm_request *r = x->req;
    replace_str(&row->content_type, chsm_request_header(r, "x-ms-blob-content-type"));
    replace_str(&row->content_encoding, chsm_request_header(r, "x-ms-blob-content-encoding"));
    replace_str(&row->content_language, chsm_request_header(r, "x-ms-blob-content-language"));
    replace_str(&row->cache_control, chsm_request_header(r, "x-ms-blob-cache-control"));
    replace_str(&row->content_disposition, chsm_request_header(r, "x-ms-blob-content-disposition"));
    replace_str(&row->content_md5, chsm_request_header(r, "x-ms-blob-content-md5"));
}

void chsm_blob_set_blob_properties(chsm_blob_ctx *x)
{
    const char *md5 = chsm_request_header(x->req, "x-ms-blob-content-md5");
    if (md5 && *md5 && !chsm_blob_md5_header_ok(md5)) {
        invalid_md5(x);
        return;
    }
    update_blob(x, change_properties, NULL);
}

static void change_metadata(chsm_blob_ctx *x, chsm_blob_row *row, void *ctx)
{
    (void)x;
    char *copy = chsm_strdup(ctx);
    if (copy) {
        free(row->metadata);
        row->metadata = copy;
    }
}

void chsm_blob_set_blob_metadata(chsm_blob_ctx *x)
{
    char *meta = chsm_blob_metadata_from_headers(x);
    if (!meta)
        return;
    update_blob(x, change_metadata, meta);
    free(meta);
}

void chsm_blob_delete_blob(chsm_blob_ctx *x)
{
    chsm_store *s = x->app->store;
    chsm_blob_row row;
    char **ids = NULL;
    size_t nids = 0;
    int rc = chsm_store_begin(s);
    if (rc != CHSM_OK) {
        chsm_blob_store_error(x, rc);
        return;
    }
    chsm_blob_container c;
    if (chsm_blob_load_container(x, &c)) {
        chsm_store_rollback(s);
        return;
    }
    chsm_blob_container_clear(&c);
    rc = chsm_blob_repo_blob_props(s, x->account.name, x->container, x->blob, &row);
    if (rc != CHSM_OK) {
        chsm_store_rollback(s);
        if (rc == CHSM_ENOTFOUND)
            chsm_blob_error(x, 404, "BlobNotFound", "The specified blob does not exist.", NULL);
        else
            chsm_blob_store_error(x, rc);
        return;
    }
    int cond = chsm_blob_check_conditions(x->req, 1, row.etag, row.modified_ms, 0);
    if (chsm_blob_answer_conditions(x, cond, "ConditionNotMet",
                                    "The condition specified using HTTP conditional header(s) is "
                                    "not met.")) {
        chsm_store_rollback(s);
        chsm_blob_row_clear(&row);
        return;
    }
    rc = chsm_blob_repo_blob_delete(s, x->account.name, x->container, x->blob);
    if (rc == CHSM_OK)
        rc =
            chsm_blob_repo_block_delete_all(s, x->account.name, x->container, x->blob, &ids, &nids);
    if (rc == CHSM_OK && !row.inline_content) /* inline content went with its row */
        rc = chsm_blob_repo_ids_add(&ids, &nids, row.content_id);
    if (rc == CHSM_OK)
        rc = chsm_store_commit(s);
    else
        chsm_store_rollback(s);
    chsm_blob_row_clear(&row);
    if (rc != CHSM_OK) {
        chsm_blob_repo_ids_free(ids, nids);
        chsm_blob_store_error(x, rc);
        return;
    }
    /* Files go only after the commit: a crash in between leaves an orphan
     * file (collected at the next start), never a row without its file. */
    chsm_blob_remove_files(x->app, ids, nids);
    chsm_response_header(x->res, "x-ms-delete-type-permanent", "true", 1);
    chsm_blob_empty_answer(x, 202);
}

/* internal.h - what the files of blob/ share: the service state, the
 * per-request context, XML errors, conditional headers and the handlers.
 * Not for use outside blob/. */
#ifndef CHSM_BLOB_INTERNAL_H
#define CHSM_BLOB_INTERNAL_H

#include "blob/content.h"
#include "blob/repo.h"
#include "http/message.h"
#include "util/buf.h"
#include "util/status.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct chsm_app;

/* The development account every Azurite connection string names. */
#define CHSM_BLOB_DEV_ACCOUNT "devstoreaccount1"
#define CHSM_BLOB_DEV_KEY                                                                          \
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
/* The ARM scope role assignments name for the development account. */
#define CHSM_BLOB_DEV_SCOPE                                                                        \
    "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/devstore/providers/"       \
    "Microsoft.Storage/storageAccounts/devstoreaccount1"
/* The x-ms-version answered when the request names none. */
#define CHSM_BLOB_DEFAULT_VERSION "2026-02-06"
/* Limits of block blobs (Azure's, since version 2019-12-12). */
#define CHSM_BLOB_MAX_BLOCK_SIZE ((uint64_t)4000 * 1024 * 1024)
#define CHSM_BLOB_MAX_PUT_BLOB_SIZE ((uint64_t)5000 * 1024 * 1024)
#define CHSM_BLOB_MAX_BLOCKS 50000
#define CHSM_BLOB_MAX_UNCOMMITTED 100000
#define CHSM_BLOB_MAX_METADATA 8192
/* Put Blob content up to this size is kept in the blob's row (SQLite), in the
 * transaction that makes it visible, instead of a file of its own. */
#define CHSM_BLOB_INLINE_MAX (64u * 1024)

struct chsm_blob_service {
    chsm_blob_content content;
    /* Files of rows deleted inside someone else's transaction (a resource
     * group deletion): removed once no row references them any more. */
    pthread_mutex_t pending_lock;
    char **pending;
    size_t npending;
};

/* One request of the blob listener, once addressed. */
typedef struct chsm_blob_ctx {
    struct chsm_app *app;
    chsm_request *req;
    chsm_response *res;
    chsm_blob_account account;
    char container[64]; /* "" at service level */
    char *blob;         /* decoded blob name, owned; NULL above blob level */
    const char *version;
    int https;
    int head;            /* HEAD: answer headers only */
    char resource[1400]; /* "/{account}/{container}/{blob}" for fault rules */
    char endpoint[400];  /* the account's service endpoint URL, ending in '/' */
} chsm_blob_ctx;

/* ---- responses (errors.c) ---- */
/* chsm_blob_error answers status with Azure's XML error body (no body for
 * HEAD), x-ms-error-code, and the common headers; extra_xml (may be NULL) is
 * inserted after <Message> (e.g. <HeaderName>..). */
void chsm_blob_error(chsm_blob_ctx *x, int status, const char *code, const char *message,
                     const char *extra_xml);
/* chsm_blob_error_header answers 400 InvalidHeaderValue naming the header. */
void chsm_blob_error_header(chsm_blob_ctx *x, const char *code, const char *header,
                            const char *value);
/* chsm_blob_error_query answers 400 naming the query parameter. */
void chsm_blob_error_query(chsm_blob_ctx *x, const char *code, const char *param,
                           const char *value);
/* chsm_blob_store_error answers 500 InternalError for a store or disk failure. */
void chsm_blob_store_error(chsm_blob_ctx *x, int rc);
/* chsm_blob_common_headers adds x-ms-version and Server. */
void chsm_blob_common_headers(chsm_blob_ctx *x);
/* chsm_blob_xml_answer answers status with an XML body taken from b. */
void chsm_blob_xml_answer(chsm_blob_ctx *x, int status, chsm_buf *b);
/* chsm_blob_empty_answer answers status with no body and Content-Length 0. */
void chsm_blob_empty_answer(chsm_blob_ctx *x, int status);

/* ---- conditions, dates, etags (conditions.c) ---- */
/* chsm_blob_new_etag writes a new unquoted ETag ("0x8D..."). */
void chsm_blob_new_etag(int64_t ms, char out[40]);
/* chsm_blob_quoted_etag writes "\"etag\"". */
void chsm_blob_quoted_etag(const char *etag, char *out, size_t outlen);
/* chsm_blob_parse_http_date parses an RFC 1123 date; CHSM_EINVAL when malformed. */
int chsm_blob_parse_http_date(const char *s, int64_t *ms);
/* What the conditional headers decide. */
enum {
    CHSM_BLOB_COND_OK = 0,
    CHSM_BLOB_COND_FAILED = 1,
    CHSM_BLOB_COND_NOT_MODIFIED = 2,
    CHSM_BLOB_COND_EXISTS = 3,
    CHSM_BLOB_COND_BAD = 4
};
/* chsm_blob_check_conditions evaluates If-Match, If-None-Match,
 * If-Modified-Since and If-Unmodified-Since against a resource (exists 0:
 * none, then etag/modified_ms are ignored); read tells GET/HEAD semantics
 * (304) from write semantics (412; If-None-Match: * on an existing resource
 * is CHSM_BLOB_COND_EXISTS). */
int chsm_blob_check_conditions(const chsm_request *req, int exists, const char *etag,
                               int64_t modified_ms, int read);
/* chsm_blob_answer_conditions answers the outcome of chsm_blob_check_conditions
 * when it is not OK (409 exists_code, 412, 304 or 400) and returns nonzero. */
int chsm_blob_answer_conditions(chsm_blob_ctx *x, int cond, const char *exists_code,
                                const char *exists_message);

/* ---- metadata (conditions.c) ---- */
/* chsm_blob_metadata_from_headers collects x-ms-meta-* headers into a JSON
 * object text (caller frees); answers 400 InvalidMetadata / MetadataTooLarge
 * and returns NULL on bad input (or on no memory, 500). */
char *chsm_blob_metadata_from_headers(chsm_blob_ctx *x);
/* chsm_blob_metadata_to_headers adds x-ms-meta-<name> headers from JSON text. */
void chsm_blob_metadata_to_headers(chsm_blob_ctx *x, const char *json);
/* chsm_blob_metadata_to_xml appends <Metadata>..</Metadata> from JSON text. */
void chsm_blob_metadata_to_xml(chsm_buf *b, const char *json);

/* ---- service plumbing (service.c) ---- */
/* chsm_blob_service_of returns the app's blob service. */
struct chsm_blob_service *chsm_blob_service_of(struct chsm_app *app);
/* chsm_blob_account_find loads account name: the development account, or an
 * ARM storage account whose resource still exists; CHSM_ENOTFOUND otherwise. */
int chsm_blob_account_find(struct chsm_app *app, const char *name, chsm_blob_account *out);
/* chsm_blob_flush_pending removes pending files that no row references any
 * more (their deletion committed) and forgets those referenced again (it
 * rolled back). */
void chsm_blob_flush_pending(struct chsm_app *app);
/* chsm_blob_remove_files removes the content files of ids (after a commit) and frees the list. */
void chsm_blob_remove_files(struct chsm_app *app, char **ids, size_t n);
/* chsm_blob_fault_write applies a corruptBlob/truncateBlob rule matching
 * operation on resource to the new file content_id in place (before its
 * commit); returns 1 when a rule fired (*size updated), 0 when none. */
int chsm_blob_fault_write(struct chsm_app *app, const char *operation, const char *resource,
                          const char *content_id, uint64_t *size);
/* chsm_blob_fault_mem applies a corruptBlob/truncateBlob rule matching
 * operation and method ("PUT": on write, "GET": on read) on resource to the
 * *len bytes at data (inline content): returns 1 when a rule fired, with *out
 * an altered private copy (caller frees; may be NULL when *len became 0) and
 * *len updated; 0 when none fired or there was no memory for the copy. */
int chsm_blob_fault_mem(struct chsm_app *app, const char *operation, const char *method,
                        const char *resource, const unsigned char *data, uint64_t *len,
                        unsigned char **out);
/* chsm_blob_fault_read applies such a rule to what a reader is about to get:
 * fd, offset and len are replaced by an altered private copy; 1 when one fired. */
int chsm_blob_fault_read(struct chsm_app *app, const char *operation, const char *resource, int *fd,
                         uint64_t *offset, uint64_t *len);

/* ---- handlers ---- */
void chsm_blob_list_containers(chsm_blob_ctx *x);
void chsm_blob_get_service_properties(chsm_blob_ctx *x);
void chsm_blob_set_service_properties(chsm_blob_ctx *x);
void chsm_blob_get_account_info(chsm_blob_ctx *x);
void chsm_blob_create_container(chsm_blob_ctx *x);
void chsm_blob_delete_container(chsm_blob_ctx *x);
void chsm_blob_get_container_properties(chsm_blob_ctx *x);
void chsm_blob_set_container_metadata(chsm_blob_ctx *x);
void chsm_blob_get_container_acl(chsm_blob_ctx *x);
void chsm_blob_set_container_acl(chsm_blob_ctx *x);
void chsm_blob_list_blobs(chsm_blob_ctx *x);
void chsm_blob_put_blob(chsm_blob_ctx *x);
void chsm_blob_get_blob(chsm_blob_ctx *x);
void chsm_blob_get_blob_properties(chsm_blob_ctx *x);
void chsm_blob_set_blob_properties(chsm_blob_ctx *x);
void chsm_blob_set_blob_metadata(chsm_blob_ctx *x);
void chsm_blob_delete_blob(chsm_blob_ctx *x);
void chsm_blob_put_block(chsm_blob_ctx *x);
void chsm_blob_put_block_list(chsm_blob_ctx *x);
void chsm_blob_get_block_list(chsm_blob_ctx *x);

/* ---- shared by handlers ---- */
/* A request body once taken by chsm_blob_take_body. */
typedef struct chsm_blob_body {
    char content_id[33]; /* the new content's id */
    uint64_t size;
    unsigned char md5[16];
    /* 1: no file was written; the content is the request body at data (not
     * owned: it lives as long as the request), to be stored in the row. */
    int inline_content;
    const unsigned char *data;
} chsm_blob_body;

/* chsm_blob_take_body checks Content-Length, Content-MD5 and
 * x-ms-content-crc64 of the request body (at most limit bytes), then stores it
 * as a new content file, or, when may_inline and it is at most
 * CHSM_BLOB_INLINE_MAX bytes held in memory, leaves it for the caller to store
 * in the row; answers the error and returns nonzero on failure. out->md5
 * receives the body's MD5; the computed CRC-64 is echoed when one was sent. */
int chsm_blob_take_body(chsm_blob_ctx *x, uint64_t limit, int may_inline, chsm_blob_body *out);
/* chsm_blob_observed_md5 writes the MD5 of a spilled body that the spill
 * observer hashed as it arrived (upload.c); CHSM_ENOTFOUND when it did not. */
int chsm_blob_observed_md5(const chsm_request *req, unsigned char md5[16]);
/* chsm_blob_md5_header validates a base64 MD5 header value (16 bytes). */
int chsm_blob_md5_header_ok(const char *v);
/* chsm_blob_load_container loads x's container or answers 404 ContainerNotFound
 * (500 on failure) and returns nonzero. */
int chsm_blob_load_container(chsm_blob_ctx *x, chsm_blob_container *c);
/* Options of chsm_blob_store_committed. */
typedef struct chsm_blob_commit {
    const chsm_request *conditions; /* write conditions to re-check, or NULL */
    /* Called inside the transaction; nonzero fails the commit with 400
     * InvalidBlockList (the blocks it used changed meanwhile). May be NULL. */
    int (*verify)(struct chsm_app *app, void *ctx);
    void *verify_ctx;
    int created; /* out: 1 when no blob existed before */
} chsm_blob_commit;

/* chsm_blob_store_committed records a blob whose content is already the file
 * row->content_id, replacing any previous version and dropping the blob's
 * uncommitted blocks, in one transaction that re-checks the container and the
 * conditions; then removes the superseded files. Sets row's etag and times.
 * On failure the new file is removed and, when x is not NULL, the error is
 * answered. */
int chsm_blob_store_committed(struct chsm_app *app, chsm_blob_ctx *x, const char *account,
                              const char *container, chsm_blob_row *row, chsm_blob_commit *opt);

#endif

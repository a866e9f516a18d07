/* containers.c - service-level and container operations of the Blob API. */
#include "app/app.h"
#include "app/files.h"
#include "blob/internal.h"
#include "blob/xml.h"
#include "store/settings.h"
#include "util/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_MAX 5000

/* parse_maxresults reads ?maxresults= (1..5000, default 5000); answers 400 on bad input. */
static int parse_maxresults(chsm_blob_ctx *x, size_t *out)
{
    const char *v = chsm_request_query(x->req, "maxresults");
    *out = LIST_MAX;
    if (!v)
        return 0;
    char *end = NULL;
    long n = strtol(v, &end, 10);
    if (!*v || *end) {
        chsm_blob_error_query(x, "InvalidQueryParameterValue", "maxresults", v);
        return 1;
    }
    if (n < 1) {
        chsm_blob_error_query(x, "OutOfRangeQueryParameterValue", "maxresults", v);
        return 1;
    }
    *out = n > LIST_MAX ? LIST_MAX : (size_t)n;
    return 0;
}

/* parse_include checks ?include= against allowed (comma list); *metadata
 * tells whether metadata was asked for. */
static int parse_include(chsm_blob_ctx *x, const char *const *allowed, int *metadata)
{
    *metadata = 0;
    const char *v = chsm_request_query(x->req, "include");
    if (!v)
        return 0;
    char *copy = chsm_strdup(v);
    int bad = !copy;
    for (char *tok = copy ? strtok(copy, ",") : NULL; tok && !bad; tok = strtok(NULL, ",")) {
        while (*tok == ' ')
            tok++;
        int ok = 0;
        for (size_t i = 0; allowed[i]; i++)
            if (chsm_streq_ci(tok, allowed[i]))
                ok = 1;
        if (!ok)
            bad = 1;
        if (chsm_streq_ci(tok, "metadata"))
            *metadata = 1;
    }
    free(copy);
    if (bad) {
        chsm_blob_error_query(x, "InvalidQueryParameterValue", "include", v);
        return 1;
    }
    return 0;
}

static void http_date(int64_t ms, char out[40])
{
    chsm_format_http_date(ms, out, 40);
}

static void container_headers(chsm_blob_ctx *x, const chsm_blob_container *c)
{
    char etag[48], date[40];
    chsm_blob_quoted_etag(c->etag, etag, sizeof etag);
    http_date(c->modified_ms, date);
    chsm_response_header(x->res, "ETag", etag, 1);
    chsm_response_header(x->res, "Last-Modified", date, 1);
}

void chsm_blob_list_containers(chsm_blob_ctx *x)
{
    static const char *const includes[] = {"metadata", "deleted", "system", NULL};
    size_t max;
    int with_meta;
    if (parse_maxresults(x, &max) || parse_include(x, includes, &with_meta))
        return;
    const char *prefix = chsm_request_query(x->req, "prefix");
    const char *marker = chsm_request_query(x->req, "marker");
    const char *from = marker;
    if (prefix && (!from || strcmp(prefix, from) > 0))
        from = prefix;
    chsm_blob_container *rows = NULL;
    size_t n = 0;
    int rc = chsm_blob_repo_container_list(x->app->store, x->account.name, prefix, from, max + 1,
                                           &rows, &n);
    if (rc != CHSM_OK) {
        chsm_blob_store_error(x, rc);
        return;
    }
    chsm_buf b = {0};
    chsm_xml_begin(&b);
    chsm_buf_puts(&b, "<EnumerationResults ServiceEndpoint=\"");
    chsm_xml_text(&b, x->endpoint);
    chsm_buf_puts(&b, "\">");
    if (prefix)
        chsm_xml_elem(&b, "Prefix", prefix);
    if (marker)
        chsm_xml_elem(&b, "Marker", marker);
    if (chsm_request_query(x->req, "maxresults"))
        chsm_xml_elem_u64(&b, "MaxResults", max);
    chsm_xml_open(&b, "Containers");
    for (size_t i = 0; i < n && i < max; i++) {
        const chsm_blob_container *c = &rows[i];
        char etag[48], date[40];
        chsm_blob_quoted_etag(c->etag, etag, sizeof etag);
        http_date(c->modified_ms, date);
        chsm_xml_open(&b, "Container");
        chsm_xml_elem(&b, "Name", c->name);
        chsm_xml_open(&b, "Properties");
        chsm_xml_elem(&b, "Last-Modified", date);
        chsm_xml_elem(&b, "Etag", etag);
        chsm_xml_elem(&b, "LeaseStatus", "unlocked");
        chsm_xml_elem(&b, "LeaseState", "available");
        if (c->public_access[0])
            chsm_xml_elem(&b, "PublicAccess", c->public_access);
        chsm_xml_elem(&b, "DefaultEncryptionScope", "$account-encryption-key");
        chsm_xml_elem(&b, "DenyEncryptionScopeOverride", "false");
        chsm_xml_elem(&b, "HasImmutabilityPolicy", "false");
        chsm_xml_elem(&b, "HasLegalHold", "false");
        chsm_xml_elem(&b, "ImmutableStorageWithVersioningEnabled", "false");
        chsm_xml_close(&b, "Properties");
        if (with_meta)
            chsm_blob_metadata_to_xml(&b, c->metadata);
        chsm_xml_close(&b, "Container");
    }
    chsm_xml_close(&b, "Containers");
    chsm_xml_elem(&b, "NextMarker", n > max ? rows[max].name : NULL);
    chsm_xml_close(&b, "EnumerationResults");
    chsm_blob_containers_free(rows, n);
    chsm_blob_xml_answer(x, 200, &b);
}

static void settings_key(const chsm_blob_ctx *x, char *out, size_t outlen)
{
    snprintf(out, outlen, "blob.service_properties.%s", x->account.name);
}

void chsm_blob_get_service_properties(chsm_blob_ctx *x)
{
    char key[96];
    settings_key(x, key, sizeof key);
    unsigned char *val = NULL;
    size_t len = 0;
    int rc = chsm_settings_get(x->app->store, key, &val, &len);
    chsm_buf b = {0};
    if (rc == CHSM_OK) {
        chsm_buf_append(&b, val, len);
        free(val);
    } else if (rc == CHSM_ENOTFOUND) {
        chsm_xml_begin(&b);
        chsm_buf_puts(&b, "<StorageServiceProperties>"
                          "<Logging><Version>1.0</Version><Delete>false</Delete><Read>false</Read>"
                          "<Write>false</Write><RetentionPolicy><Enabled>false</Enabled>"
                          "</RetentionPolicy></Logging>"
                          "<HourMetrics><Version>1.0</Version><Enabled>false</Enabled>"
                          "<RetentionPolicy><Enabled>false</Enabled></RetentionPolicy>"
                          "</HourMetrics>"
                          "<MinuteMetrics><Version>1.0</Version><Enabled>false</Enabled>"
                          "<RetentionPolicy><Enabled>false</Enabled></RetentionPolicy>"
                          "</MinuteMetrics>"
                          "<Cors />"
                          "<DeleteRetentionPolicy><Enabled>false</Enabled></DeleteRetentionPolicy>"
                          "<StaticWebsite><Enabled>false</Enabled></StaticWebsite>"
                          "</StorageServiceProperties>");
    } else {
        chsm_blob_store_error(x, rc);
        return;
    }
    chsm_blob_xml_answer(x, 200, &b);
}

/* read_body returns the request body (memory or spilled file, at most max
 * bytes) as a new NUL-terminated buffer; answers the error and returns NULL. */
static char *read_body(chsm_blob_ctx *x, size_t max, size_t *len)
{
    const chsm_request *req = x->req;
    if (req->body_len > max) {
        chsm_blob_error(x, 413, "RequestBodyTooLarge",
                        "The request body is too large and exceeds the maximum permissible limit.",
                        NULL);
        return NULL;
    }
    char *out = NULL;
    if (req->body_path) {
        if (chsm_read_file(req->body_path, max, &out, len) != CHSM_OK) {
            chsm_blob_store_error(x, CHSM_EIO);
            return NULL;
        }
        return out;
    }
    out = chsm_strndup(req->body ? (const char *)req->body : "", req->body_len);
    if (!out) {
        chsm_blob_store_error(x, CHSM_ENOMEM);
        return NULL;
    }
    *len = req->body_len;
    return out;
}

void chsm_blob_set_service_properties(chsm_blob_ctx *x)
{
    size_t len = 0;
    char *body = read_body(x, 64 * 1024, &len);
    if (!body)
        return;
    char err[128];
    chsm_xml_node *root = chsm_xml_parse(body, len, err, sizeof err);
    if (!root || strcmp(root->name, "StorageServiceProperties") != 0) {
        chsm_xml_free(root);
        free(body);
        chsm_blob_error(x, 400, "InvalidXmlDocument", "XML specified is not syntactically valid.",
                        NULL);
        return;
    }
    chsm_xml_free(root);
    char key[96];
    settings_key(x, key, sizeof key);
    int rc = chsm_settings_put(x->app->store, key, body, len);
    free(body);
    if (rc != CHSM_OK) {
        chsm_blob_store_error(x, rc);
        return;
    }
    chsm_blob_empty_answer(x, 202);
}

void chsm_blob_get_account_info(chsm_blob_ctx *x)
{
    chsm_response_header(x->res, "x-ms-sku-name", "Standard_LRS", 1);
    chsm_response_header(x->res, "x-ms-account-kind", "StorageV2", 1);
    chsm_response_header(x->res, "x-ms-is-hns-enabled", "false", 1);
    chsm_blob_empty_answer(x, 200);
}

/* public_access_header reads x-ms-blob-public-access into out ("" when
 * absent); answers 400 / 409 and returns nonzero on bad or refused values. */
static int public_access_header(chsm_blob_ctx *x, char out[16])
{
    const char *v = chsm_request_header(x->req, "x-ms-blob-public-access");
    out[0] = '\0';
    if (!v || !*v)
        return 0;
    if (strcmp(v, "container") != 0 && strcmp(v, "blob") != 0) {
        chsm_blob_error_header(x, "InvalidHeaderValue", "x-ms-blob-public-access", v);
        return 1;
    }
    if (!x->account.allow_public) {
        chsm_blob_error(x, 409, "PublicAccessNotPermitted",
                        "Public access is not permitted on this storage account.", NULL);
        return 1;
    }
    snprintf(out, 16, "%s", v);
    return 0;
}

void chsm_blob_create_container(chsm_blob_ctx *x)
{
    chsm_blob_container c;
    memset(&c, 0, sizeof c);
    if (public_access_header(x, c.public_access))
        return;
    char *meta = chsm_blob_metadata_from_headers(x);
    if (!meta)
        return;
    snprintf(c.account, sizeof c.account, "%s", x->account.name);
    snprintf(c.name, sizeof c.name, "%s", x->container);
    c.created_ms = c.modified_ms = chsm_now_ms();
    chsm_blob_new_etag(c.modified_ms, c.etag);
    c.metadata = meta;
    int rc = chsm_blob_repo_container_insert(x->app->store, &c);
    if (rc == CHSM_EEXISTS) {
        chsm_blob_error(x, 409, "ContainerAlreadyExists", "The specified container already exists.",
                        NULL);
    } else if (rc != CHSM_OK) {
        chsm_blob_store_error(x, rc);
    } else {
        container_headers(x, &c);
        chsm_blob_empty_answer(x, 201);
    }
    free(meta);
}

void chsm_blob_delete_container(chsm_blob_ctx *x)
{
    chsm_store *s = x->app->store;
    chsm_blob_container c;
    char **ids = NULL;
    size_t nids = 0;
    int rc = chsm_store_begin(s);
    if (rc != CHSM_OK) {
        chsm_blob_store_error(x, rc);
        return;
    }
    if (chsm_blob_load_container(x, &c)) {
        chsm_store_rollback(s);
        return;
    }
    int cond = chsm_blob_check_conditions(x->req, 1, c.etag, c.modified_ms, 0);
    chsm_blob_container_clear(&c);
    if (chsm_blob_answer_conditions(x, cond, "ContainerAlreadyExists",
                                    "The specified container already exists.")) {
        chsm_store_rollback(s);
        return;
    }
    rc = chsm_blob_repo_container_delete(s, x->account.name, x->container, &ids, &nids);
    if (rc == CHSM_OK)
        rc = chsm_store_commit(s);
    else
        chsm_store_rollback(s);
    if (rc != CHSM_OK) {
        chsm_blob_repo_ids_free(ids, nids);
        chsm_blob_store_error(x, rc);
        return;
    }
    chsm_blob_remove_files(x->app, ids, nids);
    chsm_blob_empty_answer(x, 202);
}

void chsm_blob_get_container_properties(chsm_blob_ctx *x)
{
    chsm_blob_container c;
    if (chsm_blob_load_container(x, &c))
        return;
    container_headers(x, &c);
    chsm_blob_metadata_to_headers(x, c.metadata);
    chsm_response_header(x->res, "x-ms-lease-status", "unlocked", 1);
    chsm_response_header(x->res, "x-ms-lease-state", "available", 1);
    chsm_response_header(x->res, "x-ms-has-immutability-policy", "false", 1);
    chsm_response_header(x->res, "x-ms-has-legal-hold", "false", 1);
    chsm_response_header(x->res, "x-ms-default-encryption-scope", "$account-encryption-key", 1);
    chsm_response_header(x->res, "x-ms-deny-encryption-scope-override", "false", 1);
    if (c.public_access[0])
        chsm_response_header(x->res, "x-ms-blob-public-access", c.public_access, 1);
    chsm_blob_container_clear(&c);
    chsm_blob_empty_answer(x, 200);
}

void chsm_blob_set_container_metadata(chsm_blob_ctx *x)
{
    char *meta = chsm_blob_metadata_from_headers(x);
    if (!meta)
        return;
    chsm_store *s = x->app->store;
    chsm_blob_container c;
    int rc = chsm_store_begin(s);
    if (rc != CHSM_OK) {
        free(meta);
        chsm_blob_store_error(x, rc);
        return;
    }
    if (chsm_blob_load_container(x, &c)) {
        chsm_store_rollback(s);
        free(meta);
        return;
    }
    int cond = chsm_blob_check_conditions(x->req, 1, c.etag, c.modified_ms, 0);
    if (chsm_blob_answer_conditions(x, cond, "ConditionNotMet",
                                    "The condition specified using HTTP conditional header(s) is "
                                    "not met.")) {
        chsm_store_rollback(s);
        chsm_blob_container_clear(&c);
        free(meta);
        return;
    }
    free(c.metadata);
    c.metadata = meta;
    c.modified_ms = chsm_now_ms();
    chsm_blob_new_etag(c.modified_ms, c.etag);
    rc = chsm_blob_repo_container_update(s, &c);
    if (rc == CHSM_OK)
        rc = chsm_store_commit(s);
    else
        chsm_store_rollback(s);
    if (rc != CHSM_OK)
        chsm_blob_store_error(x, rc);
    else {
        container_headers(x, &c);
        chsm_blob_empty_answer(x, 200);
    }
    chsm_blob_container_clear(&c);
}

void chsm_blob_get_container_acl(chsm_blob_ctx *x)
{
    chsm_blob_container c;
    if (chsm_blob_load_container(x, &c))
        return;
    container_headers(x, &c);
    if (c.public_access[0])
        chsm_response_header(x->res, "x-ms-blob-public-access", c.public_access, 1);
    chsm_blob_container_clear(&c);
    chsm_buf b = {0};
    chsm_xml_begin(&b);
    chsm_buf_puts(&b, "<SignedIdentifiers />");
    chsm_blob_xml_answer(x, 200, &b);
}

void chsm_blob_set_container_acl(chsm_blob_ctx *x)
{
    char access[16];
    if (public_access_header(x, access))
        return;
    if (x->req->body_len > 0) {
        size_t len = 0;
        char *body = read_body(x, 64 * 1024, &len);
        if (!body)
            return;
        char err[128];
        chsm_xml_node *root = chsm_xml_parse(body, len, err, sizeof err);
        free(body);
        if (!root || strcmp(root->name, "SignedIdentifiers") != 0) {
            chsm_xml_free(root);
            chsm_blob_error(x, 400, "InvalidXmlDocument",
                            "XML specified is not syntactically valid.", NULL);
            return;
        }
        size_t policies = root->nchildren;
        chsm_xml_free(root);
        if (policies > 0) {
            chsm_blob_error(x, 501, "NotImplemented",
                            "Stored access policies are not supported by the emulator; set only "
                            "x-ms-blob-public-access.",
                            NULL);
            return;
        }
    }
    chsm_store *s = x->app->store;
    chsm_blob_container c;
    int rc = chsm_store_begin(s);
    if (rc != CHSM_OK) {
        chsm_blob_store_error(x, rc);
        return;
    }
    if (chsm_blob_load_container(x, &c)) {
        chsm_store_rollback(s);
        return;
    }
    int cond = chsm_blob_check_conditions(x->req, 1, c.etag, c.modified_ms, 0);
    if (chsm_blob_answer_conditions(x, cond, "ConditionNotMet",
                                    "The condition specified using HTTP conditional header(s) is "
                                    "not met.")) {
        chsm_store_rollback(s);
        chsm_blob_container_clear(&c);
        return;
    }
    snprintf(c.public_access, sizeof c.public_access, "%s", access);
    c.modified_ms = chsm_now_ms();
    chsm_blob_new_etag(c.modified_ms, c.etag);
    rc = chsm_blob_repo_container_update(s, &c);
    if (rc == CHSM_OK)
        rc = chsm_store_commit(s);
    else
        chsm_store_rollback(s);
    if (rc != CHSM_OK)
        chsm_blob_store_error(x, rc);
    else {
        container_headers(x, &c);
        chsm_blob_empty_answer(x, 200);
    }
    chsm_blob_container_clear(&c);
}

/* ---- List Blobs ---- */

static void blob_properties_xml(chsm_buf *b, const chsm_blob_row *r)
{
    char created[40], modified[40], size[24];
    http_date(r->created_ms, created);
    http_date(r->modified_ms, modified);
    snprintf(size, sizeof size, "%llu", (unsigned long long)r->size);
    chsm_xml_open(b, "Properties");
    chsm_xml_elem(b, "Creation-Time", created);
    chsm_xml_elem(b, "Last-Modified", modified);
    chsm_xml_elem(b, "Etag", r->etag);
    chsm_xml_elem(b, "Content-Length", size);
    chsm_xml_elem(b, "Content-Type", r->content_type);
    chsm_xml_elem(b, "Content-Encoding", r->content_encoding);
    chsm_xml_elem(b, "Content-Language", r->content_language);
    chsm_xml_elem(b, "Content-CRC64", NULL);
    chsm_xml_elem(b, "Content-MD5", r->content_md5);
    chsm_xml_elem(b, "Cache-Control", r->cache_control);
    chsm_xml_elem(b, "Content-Disposition", r->content_disposition);
    chsm_xml_elem(b, "BlobType", "BlockBlob");
    chsm_xml_elem(b, "AccessTier", "Hot");
    chsm_xml_elem(b, "AccessTierInferred", "true");
    chsm_xml_elem(b, "LeaseStatus", "unlocked");
    chsm_xml_elem(b, "LeaseState", "available");
    chsm_xml_elem(b, "ServerEncrypted", "true");
    chsm_xml_close(b, "Properties");
}

void chsm_blob_list_blobs(chsm_blob_ctx *x)
{
    static const char *const includes[] = {
        "metadata", "snapshots",           "uncommittedblobs",   "copy",      "deleted",     "tags",
        "versions", "deletedwithversions", "immutabilitypolicy", "legalhold", "permissions", NULL};
    size_t max;
    int with_meta;
    if (parse_maxresults(x, &max) || parse_include(x, includes, &with_meta))
        return;
    chsm_blob_container c;
    if (chsm_blob_load_container(x, &c))
        return;
    chsm_blob_container_clear(&c);
    const char *prefix = chsm_request_query(x->req, "prefix");
    const char *delim = chsm_request_query(x->req, "delimiter");
    const char *marker = chsm_request_query(x->req, "marker");
    if (delim && !*delim)
        delim = NULL;
    size_t plen = prefix ? strlen(prefix) : 0;
    const char *from = marker && *marker ? marker : "";
    if (prefix && strcmp(prefix, from) > 0)
        from = prefix;

    chsm_buf b = {0};
    chsm_xml_begin(&b);
    chsm_buf_puts(&b, "<EnumerationResults ServiceEndpoint=\"");
    chsm_xml_text(&b, x->endpoint);
    chsm_buf_puts(&b, "\" ContainerName=\"");
    chsm_xml_text(&b, x->container);
    chsm_buf_puts(&b, "\">");
    if (prefix)
        chsm_xml_elem(&b, "Prefix", prefix);
    if (marker)
        chsm_xml_elem(&b, "Marker", marker);
    if (chsm_request_query(x->req, "maxresults"))
        chsm_xml_elem_u64(&b, "MaxResults", max);
    if (delim)
        chsm_xml_elem(&b, "Delimiter", delim);
    chsm_xml_open(&b, "Blobs");

    char *next = NULL;     /* NextMarker: the first name not listed */
    char *last_pfx = NULL; /* the BlobPrefix emitted last */
    size_t count = 0;
    char *cursor = chsm_strdup(from);
    int done = 0, first = 1, rc = cursor ? CHSM_OK : CHSM_ENOMEM;
    while (!done && rc == CHSM_OK) {
        chsm_blob_row *rows = NULL;
        size_t n = 0;
        rc = chsm_blob_repo_blob_list(x->app->store, x->account.name, x->container, cursor, !first,
                                      1000, &rows, &n);
        first = 0;
        if (rc != CHSM_OK)
            break;
        for (size_t i = 0; i < n && !done; i++) {
            const chsm_blob_row *r = &rows[i];
            if (plen && strncmp(r->name, prefix, plen) != 0) {
                done = 1; /* past the names that start with prefix */
                break;
            }
            const char *d = delim ? strstr(r->name + plen, delim) : NULL;
            if (d) {
                size_t pl = (size_t)(d - r->name) + strlen(delim);
                if (last_pfx && strlen(last_pfx) == pl && strncmp(last_pfx, r->name, pl) == 0)
                    continue;
                if (count == max) {
                    next = chsm_strdup(r->name);
                    done = 1;
                    break;
                }
                free(last_pfx);
                last_pfx = chsm_strndup(r->name, pl);
                chsm_xml_open(&b, "BlobPrefix");
                chsm_xml_elem(&b, "Name", last_pfx);
                chsm_xml_close(&b, "BlobPrefix");
                count++;
                continue;
            }
            if (count == max) {
                next = chsm_strdup(r->name);
                done = 1;
                break;
            }
            chsm_xml_open(&b, "Blob");
            chsm_xml_elem(&b, "Name", r->name);
            blob_properties_xml(&b, r);
            if (with_meta)
                chsm_blob_metadata_to_xml(&b, r->metadata);
            chsm_xml_close(&b, "Blob");
            count++;
        }
        if (n < 1000 || done) {
            done = 1;
        } else {
            free(cursor);
            cursor = chsm_strdup(rows[n - 1].name);
            if (!cursor)
                rc = CHSM_ENOMEM;
        }
        chsm_blob_rows_free(rows, n);
    }
    free(cursor);
    free(last_pfx);
    if (rc != CHSM_OK) {
        free(next);
        chsm_buf_free(&b);
        chsm_blob_store_error(x, rc);
        return;
    }
    chsm_xml_close(&b, "Blobs");
    chsm_xml_elem(&b, "NextMarker", next);
    free(next);
    chsm_xml_close(&b, "EnumerationResults");
    chsm_blob_xml_answer(x, 200, &b);
}

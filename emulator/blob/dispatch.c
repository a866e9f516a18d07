/* dispatch.c - the blob listener's front door: addressing (path-style and
 * host-style), x-ms-version, the operation table, fault rules, name checks,
 * and authorization (Shared Key, bearer + RBAC, SAS, public access). */
#include "blob/blob.h"

#include "app/app.h"
#include "arm/auth.h"
#include "blob/internal.h"
#include "blob/names.h"
#include "blob/sas.h"
#include "blob/sharedkey.h"
#include "blob/xml.h"
#include "control/faults.h"
#include "rbac/rbac.h"
#include "util/buf.h"
#include "util/text.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The service versions of the Blob REST API, oldest first. An unknown one
 * is refused (400 InvalidHeaderValue) unless --loose-api-version. */
static const char *const known_versions[] = {
    "2009-09-19", "2011-08-18", "2012-02-12", "2013-08-15", "2014-02-14", "2015-02-21",
    "2015-04-05", "2015-07-08", "2015-12-11", "2016-05-31", "2017-04-17", "2017-07-29",
    "2017-11-09", "2018-03-28", "2018-11-09", "2019-02-02", "2019-07-07", "2019-10-10",
    "2019-12-12", "2020-02-10", "2020-04-08", "2020-06-12", "2020-08-04", "2020-10-02",
    "2020-12-06", "2021-02-12", "2021-04-10", "2021-06-08", "2021-08-06", "2021-10-04",
    "2021-12-02", "2022-11-02", "2023-01-03", "2023-05-03", "2023-08-03", "2023-11-03",
    "2024-02-04", "2024-05-04", "2024-08-04", "2024-11-04", "2025-01-05", "2025-05-05",
    "2025-07-05", "2025-11-05", "2026-02-06", "2026-04-06", "2026-06-06", "2026-10-06",
    NULL,
};

/* Who may run an operation without a credential. */
enum { ANON_NEVER = 0, ANON_PUBLIC_BLOB = 1, ANON_PUBLIC_CONTAINER = 2 };

typedef struct blob_op {
    const char *name; /* Azure's operation name; "blob/<name>" for journal and faults */
    int level;        /* CHSM_SAS_LEVEL_* */
    const char *sas_perms;
    const char *rbac_action;
    int rbac_data; /* rbac_action is a data action */
    int anon;
    void (*handler)(chsm_blob_ctx *x);
} blob_op;

#define A_CONTAINERS "Microsoft.Storage/storageAccounts/blobServices/containers/"
#define A_SERVICE "Microsoft.Storage/storageAccounts/blobServices/"

static const blob_op op_list_containers = {
    "ListContainers", 's', "l", A_CONTAINERS "read", 0, ANON_NEVER, chsm_blob_list_containers};
static const blob_op op_get_service_props = {
    "GetServiceProperties",          's', "r", A_SERVICE "read", 0, ANON_NEVER,
    chsm_blob_get_service_properties};
static const blob_op op_set_service_props = {
    "SetServiceProperties",          's', "w", A_SERVICE "write", 0, ANON_NEVER,
    chsm_blob_set_service_properties};
static const blob_op op_account_info = {"GetAccountInfo",          's', "rwdlacup",
                                        CHSM_ACTION_BLOB_READ,     1,   ANON_NEVER,
                                        chsm_blob_get_account_info};
static const blob_op op_create_container = {
    "CreateContainer", 'c', "cw", A_CONTAINERS "write", 0, ANON_NEVER, chsm_blob_create_container};
static const blob_op op_delete_container = {
    "DeleteContainer", 'c', "d", A_CONTAINERS "delete", 0, ANON_NEVER, chsm_blob_delete_container};
static const blob_op op_container_props = {
    "GetContainerProperties",          'c', "r", A_CONTAINERS "read", 0, ANON_PUBLIC_CONTAINER,
    chsm_blob_get_container_properties};
static const blob_op op_container_meta = {"GetContainerMetadata",
                                          'c',
                                          "r",
                                          A_CONTAINERS "read",
                                          0,
                                          ANON_PUBLIC_CONTAINER,
                                          chsm_blob_get_container_properties};
static const blob_op op_set_container_meta = {
    "SetContainerMetadata",          'c', "w", A_CONTAINERS "write", 0, ANON_NEVER,
    chsm_blob_set_container_metadata};
static const blob_op op_get_acl = {
    "GetContainerACL", 'c', "r", A_CONTAINERS "read", 0, ANON_NEVER, chsm_blob_get_container_acl};
static const blob_op op_set_acl = {
    "SetContainerACL", 'c', "w", A_CONTAINERS "write", 0, ANON_NEVER, chsm_blob_set_container_acl};
static const blob_op op_list_blobs = {
    "ListBlobs", 'c', "l", CHSM_ACTION_BLOB_READ, 1, ANON_PUBLIC_CONTAINER, chsm_blob_list_blobs};
static const blob_op op_put_blob = {
    "PutBlob", 'o', "cw", CHSM_ACTION_BLOB_WRITE, 1, ANON_NEVER, chsm_blob_put_blob};
static const blob_op op_put_block = {
    "PutBlock", 'o', "cw", CHSM_ACTION_BLOB_WRITE, 1, ANON_NEVER, chsm_blob_put_block};
static const blob_op op_put_block_list = {
    "PutBlockList", 'o', "cw", CHSM_ACTION_BLOB_WRITE, 1, ANON_NEVER, chsm_blob_put_block_list};
static const blob_op op_get_block_list = {
    "GetBlockList", 'o', "r", CHSM_ACTION_BLOB_READ, 1, ANON_PUBLIC_BLOB, chsm_blob_get_block_list};
static const blob_op op_get_blob = {
    "GetBlob", 'o', "r", CHSM_ACTION_BLOB_READ, 1, ANON_PUBLIC_BLOB, chsm_blob_get_blob};
static const blob_op op_blob_props = {"GetBlobProperties",          'o', "r",
                                      CHSM_ACTION_BLOB_READ,        1,   ANON_PUBLIC_BLOB,
                                      chsm_blob_get_blob_properties};
static const blob_op op_blob_meta = {"GetBlobMetadata",
                                     'o',
                                     "r",
                                     CHSM_ACTION_BLOB_READ,
                                     1,
                                     ANON_PUBLIC_BLOB,
                                     chsm_blob_get_blob_properties};
static const blob_op op_set_blob_props = {"SetBlobProperties",          'o', "w",
                                          CHSM_ACTION_BLOB_WRITE,       1,   ANON_NEVER,
                                          chsm_blob_set_blob_properties};
static const blob_op op_set_blob_meta = {"SetBlobMetadata",          'o', "w",
                                         CHSM_ACTION_BLOB_WRITE,     1,   ANON_NEVER,
                                         chsm_blob_set_blob_metadata};
static const blob_op op_delete_blob = {
    "DeleteBlob", 'o', "d", CHSM_ACTION_BLOB_DELETE, 1, ANON_NEVER, chsm_blob_delete_blob};

static int method_is(const chsm_request *req, const char *m)
{
    return strcmp(req->method, m) == 0;
}

static int query_is(const chsm_request *req, const char *name, const char *value)
{
    const char *v = chsm_request_query(req, name);
    if (!value)
        return v == NULL;
    return v && chsm_streq_ci(v, value);
}

/* comp_known tells whether comp is one the Blob service defines (implemented here or not):
 * an unknown one is the client's mistake (400), a known one the emulator lacks is a 501. */
static int comp_known(const char *comp)
{
    static const char *const comps[] = {"list",
                                        "properties",
                                        "metadata",
                                        "acl",
                                        "block",
                                        "blocklist",
                                        "page",
                                        "pagelist",
                                        "appendblock",
                                        "copy",
                                        "lease",
                                        "snapshot",
                                        "tier",
                                        "tags",
                                        "blobs",
                                        "batch",
                                        "userdelegationkey",
                                        "stats",
                                        "query",
                                        "expiry",
                                        "immutabilityPolicies",
                                        "legalhold",
                                        "undelete",
                                        "rename",
                                        "incrementalcopy",
                                        "seal",
                                        "versions",
                                        NULL};
    for (const char *const *c = comps; *c; c++)
        if (chsm_streq_ci(comp, *c))
            return 1;
    return 0;
}

/* classify picks the operation; NULL with *why set when there is none:
 * 1 unsupported verb, 2 not implemented, 3 no such resource, 4 $root blob. */
static const blob_op *classify(const chsm_request *req, int level, int *why)
{
    int get = method_is(req, "GET") || method_is(req, "HEAD");
    int put = method_is(req, "PUT");
    int del = method_is(req, "DELETE");
    const char *comp = chsm_request_query(req, "comp");
    const char *restype = chsm_request_query(req, "restype");
    *why = 1;
    if (!get && !put && !del) {
        *why = method_is(req, "POST") || method_is(req, "OPTIONS") ? 2 : 1;
        return NULL;
    }
    if (level == 's') {
        *why = 3;
        if (method_is(req, "GET") && query_is(req, "comp", "list"))
            return &op_list_containers;
        if (query_is(req, "restype", "service") && query_is(req, "comp", "properties"))
            return get ? &op_get_service_props : put ? &op_set_service_props : NULL;
        if (query_is(req, "restype", "account") && query_is(req, "comp", "properties") && get)
            return &op_account_info;
        if (comp || restype)
            *why = 2;
        return NULL;
    }
    if (level == 'c') {
        if (!query_is(req, "restype", "container")) {
            *why = restype ? 3 : 4;
            return NULL;
        }
        *why = 2;
        if (!comp) {
            if (put)
                return &op_create_container;
            if (del)
                return &op_delete_container;
            return &op_container_props;
        }
        if (chsm_streq_ci(comp, "metadata"))
            return get ? &op_container_meta : put ? &op_set_container_meta : NULL;
        if (chsm_streq_ci(comp, "acl"))
            return get ? &op_get_acl : put ? &op_set_acl : NULL;
        if (chsm_streq_ci(comp, "list") && method_is(req, "GET"))
            return &op_list_blobs;
        return NULL;
    }
    *why = 2;
    if (!comp) {
        if (put)
            return chsm_request_header(req, "x-ms-copy-source") ? NULL : &op_put_blob;
        if (del)
            return &op_delete_blob;
        return method_is(req, "HEAD") ? &op_blob_props : &op_get_blob;
    }
    if (chsm_streq_ci(comp, "block") && put)
        return &op_put_block;
    if (chsm_streq_ci(comp, "blocklist"))
        return put ? &op_put_block_list : method_is(req, "GET") ? &op_get_block_list : NULL;
    if (chsm_streq_ci(comp, "properties") && put)
        return &op_set_blob_props;
    if (chsm_streq_ci(comp, "metadata"))
        return get ? &op_blob_meta : put ? &op_set_blob_meta : NULL;
    return NULL;
}

/* host_account finds the account of a host-style address ("acct.blob.localhost:10000",
 * "acct.blob.core.windows.net"); 0 when the Host is not one. */
static int host_account(const chsm_request *req, char *out, size_t outlen)
{
    const char *host = chsm_request_header(req, "Host");
    if (!host)
        return 0;
    const char *dot = strstr(host, ".blob.");
    if (!dot || dot == host || (size_t)(dot - host) >= outlen)
        return 0;
    int all_digits = 1;
    for (const char *p = host; p < dot; p++)
        if (!isdigit((unsigned char)*p))
            all_digits = 0;
    if (all_digits)
        return 0;
    memcpy(out, host, (size_t)(dot - host));
    out[dot - host] = '\0';
    for (char *p = out; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return 1;
}

/* raw_segment copies the raw text of the next path segment of *p and advances. */
static int raw_segment(const char **p, char *out, size_t outlen)
{
    const char *s = *p;
    while (*s == '/')
        s++;
    const char *end = strchr(s, '/');
    size_t n = end ? (size_t)(end - s) : strlen(s);
    if (n >= outlen)
        return -1;
    memcpy(out, s, n);
    out[n] = '\0';
    *p = end ? end + 1 : s + n;
    return 0;
}

static int version_known(const char *v)
{
    for (size_t i = 0; known_versions[i]; i++)
        if (strcmp(known_versions[i], v) == 0)
            return 1;
    return 0;
}

static void answer_name_error(chsm_blob_ctx *x, int check)
{
    if (check == CHSM_BLOB_NAME_BAD_LENGTH)
        chsm_blob_error(x, 400, "OutOfRangeInput",
                        "The specified resource name length is not within the permissible "
                        "limits.",
                        NULL);
    else
        chsm_blob_error(x, 400, "InvalidResourceName",
                        "The specifed resource name contains invalid characters.", NULL);
}

static void auth_failed(chsm_blob_ctx *x, const char *detail)
{
    chsm_buf b = {0};
    chsm_xml_elem(&b, "AuthenticationErrorDetail", detail);
    char *extra = chsm_buf_steal(&b);
    chsm_blob_error(x, 403, "AuthenticationFailed",
                    "Server failed to authenticate the request. Make sure the value of "
                    "Authorization header is formed correctly including the signature.",
                    extra);
    free(extra);
}

static void permission_mismatch(chsm_blob_ctx *x)
{
    chsm_blob_error(x, 403, "AuthorizationPermissionMismatch",
                    "This request is not authorized to perform this operation using this "
                    "permission.",
                    NULL);
}

static void key_auth_refused(chsm_blob_ctx *x)
{
    chsm_blob_error(x, 403, "KeyBasedAuthenticationNotPermitted",
                    "Key based authentication is not permitted on this storage account.", NULL);
}

/* check_shared_key verifies an Authorization: SharedKey header; 0 when valid. */
static int check_shared_key(chsm_blob_ctx *x, const char *auth, const char *path_for_auth)
{
    if (!x->account.allow_shared_key) {
        key_auth_refused(x);
        return 1;
    }
    char acct[64], sig[128];
    if (chsm_blob_sharedkey_parse(auth, acct, sizeof acct, sig, sizeof sig) != CHSM_OK) {
        auth_failed(x,
                    "The Authorization header is not of the form 'SharedKey account:signature'.");
        return 1;
    }
    if (strcmp(acct, x->account.name) != 0) {
        char detail[200];
        snprintf(detail, sizeof detail,
                 "The account '%.64s' in the Authorization header is not the account of the "
                 "request URI.",
                 acct);
        auth_failed(x, detail);
        return 1;
    }
    if (!chsm_request_header(x->req, "x-ms-date") && !chsm_request_header(x->req, "Date")) {
        auth_failed(x, "Request date header not specified (x-ms-date or Date is required).");
        return 1;
    }
    /* SDKs sign the path as sent (percent-encoded); some tools sign it decoded. */
    char *decoded = NULL;
    /* Out of memory is the server's failure (500), not a signature mismatch. */
    int oom = chsm_percent_decode_rc(path_for_auth, strlen(path_for_auth), &decoded) == CHSM_ENOMEM;
    const char *paths[2] = {path_for_auth, decoded};
    const char *keys[2] = {x->account.key1, x->account.key2};
    char *first_sts = NULL;
    int ok = 0;
    for (int p = 0; p < 2 && !ok; p++) {
        if (!paths[p] || (p == 1 && strcmp(paths[0], paths[1]) == 0))
            continue;
        char *sts = chsm_blob_sharedkey_string_to_sign(x->req, x->account.name, paths[p]);
        if (!sts) {
            oom = 1;
            continue;
        }
        for (int k = 0; k < 2 && !ok; k++) {
            if (!keys[k][0])
                continue;
            char *mac = chsm_blob_hmac_base64(keys[k], sts);
            if (!mac)
                oom = 1;
            ok = chsm_blob_signature_matches(mac, sig);
            free(mac);
        }
        if (!first_sts)
            first_sts = sts;
        else
            free(sts);
    }
    free(decoded);
    if (!ok && oom) {
        chsm_blob_store_error(x, CHSM_ENOMEM);
    } else if (!ok) {
        chsm_buf b = {0};
        chsm_buf_printf(&b,
                        "The MAC signature found in the HTTP request '%s' is not the same as any "
                        "computed signature. Server used following string to sign: '%s'.",
                        sig, first_sts ? first_sts : "");
        char *detail = chsm_buf_steal(&b);
        auth_failed(x, detail ? detail : "signature mismatch");
        free(detail);
    }
    free(first_sts);
    return !ok;
}

static void container_scope(const chsm_blob_ctx *x, char *out, size_t outlen)
{
    if (x->container[0])
        snprintf(out, outlen, "%s/blobServices/default/containers/%s", x->account.resource_id,
                 x->container);
    else
        snprintf(out, outlen, "%s/blobServices/default", x->account.resource_id);
}

static int check_bearer(chsm_blob_ctx *x, const char *token, const blob_op *op)
{
    chsm_principal p;
    char err[256] = "";
    memset(&p, 0, sizeof p);
    if (chsm_auth_principal_from_token(x->app, token, x->app->cfg.strict_auth, &p, err,
                                       sizeof err) != CHSM_OK ||
        !p.oid[0]) {
        char hdr[200];
        snprintf(hdr, sizeof hdr,
                 "Bearer authorization_uri=https://login.microsoftonline.com/%s/oauth2/authorize "
                 "resource_id=https://storage.azure.com",
                 p.tid[0] ? p.tid : CHSM_DEFAULT_TENANT);
        chsm_response_header(x->res, "WWW-Authenticate", hdr, 1);
        chsm_blob_error(x, 401, "InvalidAuthenticationInfo",
                        err[0] ? err
                               : "Server failed to authenticate the request. Please refer to the "
                                 "information in the www-authenticate header.",
                        NULL);
        return 1;
    }
    x->req->principal = p;
    char scope[1200];
    container_scope(x, scope, sizeof scope);
    int allowed = op->rbac_data ? chsm_rbac_has_data_action(x->app, p.oid, scope, op->rbac_action)
                                : chsm_rbac_has_action(x->app, p.oid, scope, op->rbac_action);
    if (allowed < 0) {
        chsm_blob_store_error(x, allowed);
        return 1;
    }
    if (!allowed) {
        permission_mismatch(x);
        return 1;
    }
    return 0;
}

static int check_sas(chsm_blob_ctx *x, const chsm_blob_sas *sas, const blob_op *op)
{
    if (!x->account.allow_shared_key) {
        key_auth_refused(x);
        return 1;
    }
    const char *keys[2] = {x->account.key1, x->account.key2};
    char why[1024] = "";
    int r = chsm_blob_sas_check(sas, x->account.name, x->container, x->blob, keys, 2, chsm_now_ms(),
                                x->https, op->level, op->sas_perms, why, sizeof why);
    switch (r) {
    case CHSM_SAS_OK:
        return 0;
    case CHSM_SAS_PROTOCOL:
        chsm_blob_error(x, 403, "AuthorizationProtocolMismatch",
                        "This request is not authorized to perform this operation using this "
                        "protocol.",
                        NULL);
        return 1;
    case CHSM_SAS_SERVICE_MISMATCH:
        chsm_blob_error(x, 403, "AuthorizationServiceMismatch",
                        "This request is not authorized to perform this operation using this "
                        "service.",
                        NULL);
        return 1;
    case CHSM_SAS_RESOURCE_MISMATCH:
        chsm_blob_error(x, 403, "AuthorizationResourceTypeMismatch",
                        "This request is not authorized to perform this operation using this "
                        "resource type.",
                        NULL);
        return 1;
    case CHSM_SAS_PERMISSION:
        permission_mismatch(x);
        return 1;
    default:
        auth_failed(x, why);
        return 1;
    }
}

/* check_anonymous lets a request without credentials through when the
 * container's public access allows the operation. */
static int check_anonymous(chsm_blob_ctx *x, const blob_op *op)
{
    if (op->anon != ANON_NEVER && x->container[0]) {
        chsm_blob_container c;
        int rc = chsm_blob_repo_container_get(x->app->store, x->account.name, x->container, &c);
        if (rc == CHSM_OK) {
            int open =
                (op->anon == ANON_PUBLIC_BLOB && c.public_access[0]) ||
                (op->anon == ANON_PUBLIC_CONTAINER && strcmp(c.public_access, "container") == 0);
            chsm_blob_container_clear(&c);
            if (open && !x->account.allow_public) {
                chsm_blob_error(x, 409, "PublicAccessNotPermitted",
                                "Public access is not permitted on this storage account.", NULL);
                return 1;
            }
            if (open)
                return 0;
        } else if (rc != CHSM_ENOTFOUND) {
            chsm_blob_store_error(x, rc);
            return 1;
        }
    }
    /* Newer clients are told to authenticate; older ones (and browsers) see
     * the resource as absent, as the real service answers them. */
    if (x->version && strcmp(x->version, "2019-12-12") >= 0) {
        char hdr[200];
        snprintf(hdr, sizeof hdr,
                 "Bearer authorization_uri=https://login.microsoftonline.com/%s/oauth2/authorize "
                 "resource_id=https://storage.azure.com",
                 CHSM_DEFAULT_TENANT);
        chsm_response_header(x->res, "WWW-Authenticate", hdr, 1);
        chsm_blob_error(x, 401, "NoAuthenticationInformation",
                        "Server failed to authenticate the request. Please refer to the "
                        "information in the www-authenticate header.",
                        NULL);
    } else {
        chsm_blob_error(x, 404, "ResourceNotFound", "The specified resource does not exist.", NULL);
    }
    return 1;
}

static int authorize(chsm_blob_ctx *x, const blob_op *op, const char *path_for_auth)
{
    const char *auth = chsm_request_header(x->req, "Authorization");
    chsm_blob_sas sas;
    if (auth) {
        if (strncmp(auth, "SharedKey ", 10) == 0)
            return check_shared_key(x, auth, path_for_auth);
        if (strncmp(auth, "SharedKeyLite ", 14) == 0) {
            if (!x->account.allow_shared_key) {
                key_auth_refused(x);
                return 1;
            }
            auth_failed(x, "SharedKeyLite is not supported by this emulator; use SharedKey.");
            return 1;
        }
        if (chsm_starts_with_ci(auth, "Bearer ")) {
            const char *token = auth + 7;
            while (*token == ' ')
                token++;
            return check_bearer(x, token, op);
        }
        auth_failed(x, "The Authorization header names an unknown scheme.");
        return 1;
    }
    if (chsm_blob_sas_parse(x->req, &sas))
        return check_sas(x, &sas, op);
    return check_anonymous(x, op);
}

void chsm_blob_dispatch(chsm_app *app, chsm_request *req, chsm_response *res)
{
    chsm_blob_ctx x;
    memset(&x, 0, sizeof x);
    chsm_blob_flush_pending(app);
    x.app = app;
    x.req = req;
    x.res = res;
    x.https = strncmp(req->base_url, "https:", 6) == 0;
    x.head = method_is(req, "HEAD");
    x.version = chsm_request_header(req, "x-ms-version");
    if (x.version && !version_known(x.version) && !app->cfg.loose_api_version) {
        const char *v = x.version;
        x.version = NULL;
        chsm_blob_error_header(&x, "InvalidHeaderValue", "x-ms-version", v);
        return;
    }
    if (!x.version) {
        /* A SAS names its version in sv. */
        const char *sv = chsm_request_query(req, "sv");
        if (sv && version_known(sv))
            x.version = sv;
    }

    /* Addressing: host-style {account}.blob.host/{container}/{blob} or
     * path-style host/{account}/{container}/{blob}. */
    char acct_raw[128] = "", cont_raw[256] = "";
    const char *p = req->raw_path ? req->raw_path : "/";
    const char *path_for_auth = p;
    int host_style = host_account(req, acct_raw, sizeof acct_raw);
    if (!host_style && raw_segment(&p, acct_raw, sizeof acct_raw) < 0) {
        chsm_blob_error(&x, 400, "InvalidUri",
                        "The requested URI does not represent any resource on the server.", NULL);
        return;
    }
    if (raw_segment(&p, cont_raw, sizeof cont_raw) < 0) {
        answer_name_error(&x, CHSM_BLOB_NAME_BAD_LENGTH);
        return;
    }
    char *acct = NULL, *cont = NULL, *blob = NULL;
    int rc_a = chsm_percent_decode_rc(acct_raw, strlen(acct_raw), &acct);
    int rc_c = chsm_percent_decode_rc(cont_raw, strlen(cont_raw), &cont);
    int rc_b = *p ? chsm_percent_decode_rc(p, strlen(p), &blob) : CHSM_OK;
    int level = blob && *blob ? 'o' : cont && *cont ? 'c' : 's';
    if (rc_a == CHSM_ENOMEM || rc_c == CHSM_ENOMEM || rc_b == CHSM_ENOMEM) {
        chsm_blob_store_error(&x, CHSM_ENOMEM);
        goto out;
    }
    if (!acct || !cont || (*p && !blob)) {
        chsm_blob_error(&x, 400, "InvalidUri",
                        "The requested URI does not represent any resource on the server.", NULL);
        goto out;
    }
    if (!*acct) {
        chsm_blob_error(&x, 400, "InvalidUri",
                        "The requested URI names no storage account: use "
                        "/{account}/{container}/{blob} or {account}.blob.localhost.",
                        NULL);
        goto out;
    }
    x.blob = level == 'o' ? blob : NULL;
    if (host_style)
        snprintf(x.endpoint, sizeof x.endpoint, "%s/", req->base_url);
    else
        snprintf(x.endpoint, sizeof x.endpoint, "%s/%s/", req->base_url, acct);
    snprintf(x.resource, sizeof x.resource, "/%s%s%s%s%s", acct, level != 's' ? "/" : "",
             level != 's' ? cont : "", level == 'o' ? "/" : "", level == 'o' ? blob : "");

    int why = 0;
    const blob_op *op = classify(req, level, &why);
    if (op)
        snprintf(req->operation, sizeof req->operation, "blob/%s", op->name);
    else
        snprintf(req->operation, sizeof req->operation, "blob/Unknown");

    chsm_fault_hit hit;
    if (app->faults && chsm_faults_on_request(app->faults, req, x.resource, res, &hit)) {
        if (hit.type == CHSM_FAULT_THROTTLE || hit.type == CHSM_FAULT_ERROR) {
            chsm_blob_error(&x, hit.status, hit.code[0] ? hit.code : "ServerBusy",
                            hit.message[0] ? hit.message
                                           : "The server is currently unable to receive "
                                             "requests. Please retry your request.",
                            NULL);
            if (hit.type == CHSM_FAULT_THROTTLE) {
                char secs[16];
                snprintf(secs, sizeof secs, "%d", hit.retry_after_s);
                chsm_response_header(res, "Retry-After", secs, 1);
            }
        }
        chsm_response_header(res, "x-ms-emulator-fault", hit.rule_id, 1);
        goto out;
    }

    if (!op) {
        if (why == 1)
            chsm_blob_error(&x, 405, "UnsupportedHttpVerb",
                            "The resource doesn't support specified Http Verb.", NULL);
        else if (why == 2 && chsm_request_query(req, "comp") &&
                 !comp_known(chsm_request_query(req, "comp")))
            chsm_blob_error(&x, 400, "InvalidQueryParameterValue",
                            "Value for one of the query parameters specified in the request URI "
                            "is invalid: comp.",
                            NULL);
        else if (why == 2)
            chsm_blob_error(&x, 501, "NotImplemented",
                            "This operation is not implemented by the emulator's Blob service.",
                            NULL);
        else if (why == 4)
            chsm_blob_error(&x, 404, "ContainerNotFound",
                            "The specified container does not exist. (Container operations "
                            "need ?restype=container; the $root container is not served.)",
                            NULL);
        else
            chsm_blob_error(&x, 400, "InvalidUri",
                            "The requested URI does not represent any resource on the server.",
                            NULL);
        goto out;
    }
    if (level != 's') {
        int c = chsm_blob_check_container_name(cont);
        if (c != CHSM_BLOB_NAME_OK) {
            answer_name_error(&x, c);
            goto out;
        }
        snprintf(x.container, sizeof x.container, "%s", cont);
    }
    if (level == 'o') {
        int c = chsm_blob_check_blob_name(blob);
        if (c != CHSM_BLOB_NAME_OK) {
            answer_name_error(&x, c);
            goto out;
        }
    }
    int rc = chsm_blob_account_find(app, acct, &x.account);
    if (rc == CHSM_ENOTFOUND) {
        chsm_blob_error(&x, 404, "ResourceNotFound",
                        "The specified storage account does not exist.", NULL);
        goto out;
    }
    if (rc != CHSM_OK) {
        chsm_blob_store_error(&x, rc);
        goto out;
    }
    if (authorize(&x, op, path_for_auth))
        goto out;
    op->handler(&x);
out:
    free(acct);
    free(cont);
    free(blob);
}

/* identity_platform.c - a stand-in for Microsoft Entra ID's token endpoints.
 *
 * The SDKs and az get tokens with the client-credentials flow
 * (/{tenant}/oauth2/v2.0/token, and the v1 /{tenant}/oauth2/token), and
 * managed identities through the instance metadata service
 * (/metadata/identity/oauth2/token). Tokens are RS256 JWTs signed by the
 * emulator's key, whose JWKS is published for --strict-auth verifiers. Any
 * client secret is accepted: the emulator has no directory to check it in. */
#include "providers/provider.h"

#include "app/app.h"
#include "arm/auth.h"
#include "arm/errors.h"
#include "arm/resource.h"
#include "crypto/jwt.h"
#include "util/buf.h"
#include "util/status.h"
#include "util/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN_LIFETIME_S 3600
#define DEFAULT_RESOURCE "https://management.azure.com/"

/* form_value returns the decoded value of name in an
 * application/x-www-form-urlencoded body (caller frees), or NULL. */
static char *form_value(const chsm_request *req, const char *name)
{
    if (!req->body)
        return NULL;
    const char *p = (const char *)req->body, *end = p + req->body_len;
    size_t nlen = strlen(name);
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        if (eq && (size_t)(eq - p) == nlen && strncmp(p, name, nlen) == 0) {
            size_t vlen = (size_t)(stop - eq - 1);
            char *raw = chsm_strndup(eq + 1, vlen);
            for (char *c = raw; c && *c; c++)
                if (*c == '+')
                    *c = ' ';
            char *v = raw ? chsm_percent_decode(raw, strlen(raw)) : NULL;
            free(raw);
            return v;
        }
        p = stop + 1;
    }
    return NULL;
}

static void oauth_error(chsm_response *res, int status, const char *error, const char *desc)
{
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "error", error);
    cJSON_AddStringToObject(b, "error_description", desc);
    chsm_arm_json(res, status, b);
}

/* audience_from_scope turns "https://management.azure.com/.default" into the
 * resource it names (caller frees). */
static char *audience_from_scope(const char *scope)
{
    if (!scope || !*scope)
        return chsm_strdup(DEFAULT_RESOURCE);
    const char *space = strchr(scope, ' ');
    char *first = chsm_strndup(scope, space ? (size_t)(space - scope) : strlen(scope));
    if (!first)
        return NULL;
    size_t n = strlen(first);
    const char *suffix = "/.default";
    if (n > strlen(suffix) && strcmp(first + n - strlen(suffix), suffix) == 0)
        first[n - strlen(suffix) + 1] = '\0'; /* keep the trailing '/' */
    return first;
}

static int valid_tenant(const char *t)
{
    return t && (chsm_arm_valid_subscription(t) || chsm_streq_ci(t, "common") ||
                 chsm_streq_ci(t, "organizations"));
}

static void token_response(chsm_request *req, chsm_response *res, int v1, const char *tenant,
                           const char *oid, const char *appid, const char *aud)
{
    char *token = chsm_auth_issue_token(req->app, tenant, oid, appid, aud, TOKEN_LIFETIME_S);
    if (!token) {
        oauth_error(res, 500, "temporarily_unavailable", "The token could not be signed.");
        return;
    }
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "token_type", "Bearer");
    char num[32];
    long long expires_on = (long long)(chsm_now_ms() / 1000) + TOKEN_LIFETIME_S;
    if (v1) {
        /* v1 and IMDS send numbers as strings. */
        snprintf(num, sizeof num, "%d", TOKEN_LIFETIME_S);
        cJSON_AddStringToObject(b, "expires_in", num);
        cJSON_AddStringToObject(b, "ext_expires_in", num);
        snprintf(num, sizeof num, "%lld", expires_on);
        cJSON_AddStringToObject(b, "expires_on", num);
        snprintf(num, sizeof num, "%lld", expires_on - TOKEN_LIFETIME_S);
        cJSON_AddStringToObject(b, "not_before", num);
        cJSON_AddStringToObject(b, "resource", aud);
        if (appid)
            cJSON_AddStringToObject(b, "client_id", appid);
    } else {
        cJSON_AddNumberToObject(b, "expires_in", TOKEN_LIFETIME_S);
        cJSON_AddNumberToObject(b, "ext_expires_in", TOKEN_LIFETIME_S);
    }
    cJSON_AddStringToObject(b, "access_token", token);
    free(token);
    chsm_arm_json(res, 200, b);
    chsm_response_header(res, "Cache-Control", "no-store, no-cache", 1);
}

static void issue_client_credentials(chsm_request *req, chsm_response *res, int v1)
{
    const char *tenant = chsm_request_param(req, "tenant");
    char *grant = form_value(req, "grant_type");
    char *client_id = form_value(req, "client_id");
    char *scope = form_value(req, v1 ? "resource" : "scope");
    if (!valid_tenant(tenant)) {
        oauth_error(res, 400, "invalid_tenant", "The tenant identifier is not valid.");
    } else if (!grant || strcmp(grant, "client_credentials") != 0) {
        oauth_error(res, 400, "unsupported_grant_type",
                    "Only grant_type=client_credentials is supported by the emulator.");
    } else if (!client_id || !*client_id || strlen(client_id) > 64) {
        oauth_error(res, 400, "invalid_request", "The request body must contain 'client_id'.");
    } else {
        char *aud = v1 ? chsm_strdup(scope ? scope : DEFAULT_RESOURCE) : audience_from_scope(scope);
        const char *t = chsm_streq_ci(tenant, "common") || chsm_streq_ci(tenant, "organizations")
                            ? CHSM_DEFAULT_TENANT
                            : tenant;
        /* A service principal's object id is, in this stand-in, its client id. */
        token_response(req, res, v1, t, client_id, client_id, aud ? aud : DEFAULT_RESOURCE);
        free(aud);
    }
    free(grant);
    free(client_id);
    free(scope);
}

static void token_v2(chsm_request *req, chsm_response *res)
{
    issue_client_credentials(req, res, 0);
}

static void token_v1(chsm_request *req, chsm_response *res)
{
    issue_client_credentials(req, res, 1);
}

/* GET /metadata/identity/oauth2/token: the managed identity endpoint (IMDS). */
static void imds_token(chsm_request *req, chsm_response *res)
{
    const char *meta = chsm_request_header(req, "Metadata");
    if (!meta || !chsm_streq_ci(meta, "true")) {
        oauth_error(res, 400, "invalid_request", "Required metadata header not specified");
        return;
    }
    const char *resource = chsm_request_query(req, "resource");
    if (!resource || !*resource) {
        oauth_error(res, 400, "invalid_request", "Required query variable 'resource' is missing");
        return;
    }
    const char *client_id = chsm_request_query(req, "client_id");
    const char *object_id = chsm_request_query(req, "object_id");
    const char *oid = object_id ? object_id : client_id ? client_id : CHSM_DEFAULT_OID;
    if (strlen(oid) > 63) {
        oauth_error(res, 400, "invalid_request", "The identity parameter is too long.");
        return;
    }
    token_response(req, res, 1, CHSM_DEFAULT_TENANT, oid, client_id, resource);
}

static void jwks(chsm_request *req, chsm_response *res)
{
    cJSON *keys = chsm_crypto_jwt_jwks(req->app->jwt_key);
    if (!keys) {
        chsm_arm_error(res, 500, "InternalServerError", "The signing keys could not be listed.");
        return;
    }
    chsm_arm_json(res, 200, keys);
}

static void openid_configuration(chsm_request *req, chsm_response *res)
{
    const char *tenant = chsm_request_param(req, "tenant");
    if (!valid_tenant(tenant)) {
        oauth_error(res, 400, "invalid_tenant", "The tenant identifier is not valid.");
        return;
    }
    chsm_buf b = {0};
    cJSON *c = cJSON_CreateObject();
    chsm_buf_printf(&b, "%s/%s/oauth2/v2.0/token", req->base_url, tenant);
    cJSON_AddStringToObject(c, "token_endpoint", b.data ? b.data : "");
    chsm_buf_free(&b);
    chsm_buf_printf(&b, "%s/%s/discovery/v2.0/keys", req->base_url, tenant);
    cJSON_AddStringToObject(c, "jwks_uri", b.data ? b.data : "");
    chsm_buf_free(&b);
    chsm_buf_printf(&b, "%s/%s/v2.0", req->base_url, tenant);
    cJSON_AddStringToObject(c, "issuer", b.data ? b.data : "");
    chsm_buf_free(&b);
    chsm_buf_printf(&b, "%s/%s/oauth2/v2.0/authorize", req->base_url, tenant);
    cJSON_AddStringToObject(c, "authorization_endpoint", b.data ? b.data : "");
    chsm_buf_free(&b);
    cJSON *grants = cJSON_AddArrayToObject(c, "grant_types_supported");
    cJSON_AddItemToArray(grants, cJSON_CreateString("client_credentials"));
    cJSON *algs = cJSON_AddArrayToObject(c, "id_token_signing_alg_values_supported");
    cJSON_AddItemToArray(algs, cJSON_CreateString("RS256"));
    cJSON_AddStringToObject(c, "tenant_region_scope", "WW");
    chsm_arm_json(res, 200, c);
}

#define PUBLIC (CHSM_ROUTE_PUBLIC | CHSM_ROUTE_NO_API_VERSION)

static const chsm_route routes[] = {
    {"POST", "/{tenant}/oauth2/v2.0/token", token_v2, "entra/token", NULL, PUBLIC},
    {"POST", "/{tenant}/oauth2/token", token_v1, "entra/token", NULL, PUBLIC},
    {"GET", "/metadata/identity/oauth2/token", imds_token, "imds/token", NULL, PUBLIC},
    {"GET", "/{tenant}/discovery/v2.0/keys", jwks, "entra/keys", NULL, PUBLIC},
    {"GET", "/{tenant}/discovery/keys", jwks, "entra/keys", NULL, PUBLIC},
    {"GET", "/{tenant}/v2.0/.well-known/openid-configuration", openid_configuration, "entra/openid",
     NULL, PUBLIC},
};

const chsm_provider chsm_provider_identity_platform = {"Entra ID (emulated)", routes,
                                                       CHSM_COUNT(routes), NULL};

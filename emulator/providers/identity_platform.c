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
#include "app/signing_key.h"
#include "arm/auth.h"
#include "arm/errors.h"
#include "arm/resource.h"
#include "crypto/jwt.h"
#include "providers/managed_identity.h"
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

/* known_identity fills info when the user-assigned identity named by client
 * id, object (principal) id or resource id exists: its token then carries
 * oid = principalId and appid = clientId, as role assignments expect. An
 * unknown identity keeps the old stand-in (oid = the id asked for). */
static int known_identity(chsm_app *app, const char *client_id, const char *object_id,
                          const char *res_id, chsm_msi_info *info)
{
    if (client_id && chsm_msi_find_by_client_id(app, client_id, info, NULL, 0) == CHSM_OK)
        return 1;
    if (object_id && chsm_msi_find_by_principal_id(app, object_id, info, NULL, 0) == CHSM_OK)
        return 1;
    return res_id && chsm_msi_lookup(app, res_id, info) == CHSM_OK;
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
    const char *res_id = chsm_request_query(req, "msi_res_id");
    if (!res_id)
        res_id = chsm_request_query(req, "mi_res_id");
    const char *oid = object_id ? object_id : client_id ? client_id : CHSM_DEFAULT_OID;
    if (strlen(oid) > 63) {
        oauth_error(res, 400, "invalid_request", "The identity parameter is too long.");
        return;
    }
    chsm_msi_info msi;
    if (known_identity(req->app, client_id, object_id, res_id, &msi))
        token_response(req, res, 1, msi.tenant_id, msi.principal_id, msi.client_id, resource);
    else
        token_response(req, res, 1, CHSM_DEFAULT_TENANT, oid, client_id, resource);
}

static void jwks(chsm_request *req, chsm_response *res)
{
    cJSON *keys = chsm_crypto_jwt_jwks(chsm_signing_key_get(req->app));
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

/* ---- cloud discovery and ADFS-style login for the Azure CLI ----
 *
 * `az cloud register --endpoint-resource-manager URL` reads
 * URL/metadata/endpoints?api-version=2015-01-01 (one cloud); ARM_CLOUD_METADATA_URL
 * readers ask newer api-versions and get a list of clouds. The login endpoint is
 * URL/adfs: MSAL treats an ADFS authority as trusted and skips the instance
 * discovery it would otherwise send to Microsoft's public hosts. */

static int is_old_metadata_version(const char *v)
{
    return !v || strcmp(v, "2015-01-01") == 0 || strcmp(v, "2018-01-01") == 0;
}

static cJSON *audiences(const chsm_request *req)
{
    cJSON *a = cJSON_CreateArray();
    char buf[300];
    snprintf(buf, sizeof buf, "%s/", req->base_url);
    cJSON_AddItemToArray(a, cJSON_CreateString(buf));
    cJSON_AddItemToArray(a, cJSON_CreateString("https://management.core.windows.net/"));
    cJSON_AddItemToArray(a, cJSON_CreateString("https://management.azure.com/"));
    return a;
}

static void metadata_endpoints(chsm_request *req, chsm_response *res)
{
    char login[300], arm[300];
    snprintf(login, sizeof login, "%s/adfs", req->base_url);
    snprintf(arm, sizeof arm, "%s/", req->base_url);
    const char *v = chsm_request_query(req, "api-version");
    if (is_old_metadata_version(v)) {
        cJSON *b = cJSON_CreateObject();
        cJSON_AddStringToObject(b, "galleryEndpoint", arm);
        cJSON_AddStringToObject(b, "graphEndpoint", "https://graph.windows.net/");
        cJSON_AddStringToObject(b, "portalEndpoint", arm);
        cJSON *auth = cJSON_AddObjectToObject(b, "authentication");
        cJSON_AddStringToObject(auth, "loginEndpoint", login);
        cJSON_AddItemToObject(auth, "audiences", audiences(req));
        chsm_arm_json(res, 200, b);
        return;
    }
    cJSON *cloud = cJSON_CreateObject();
    cJSON_AddStringToObject(cloud, "name", "Emulator");
    cJSON_AddStringToObject(cloud, "portal", arm);
    cJSON_AddStringToObject(cloud, "resourceManager", arm);
    cJSON_AddStringToObject(cloud, "gallery", arm);
    cJSON_AddStringToObject(cloud, "sqlManagement", arm);
    cJSON_AddStringToObject(cloud, "batch", arm);
    cJSON_AddStringToObject(cloud, "graph", "https://graph.windows.net/");
    cJSON_AddStringToObject(cloud, "graphAudience", "https://graph.windows.net/");
    cJSON_AddStringToObject(cloud, "microsoftGraphResourceId", "https://graph.microsoft.com/");
    cJSON_AddStringToObject(cloud, "media", arm);
    cJSON_AddStringToObject(cloud, "vmImageAliasDoc", arm);
    cJSON_AddStringToObject(cloud, "activeDirectoryDataLake", arm);
    cJSON_AddStringToObject(cloud, "appInsightsResourceId", arm);
    cJSON_AddStringToObject(cloud, "appInsightsTelemetryChannelResourceId", arm);
    cJSON_AddStringToObject(cloud, "attestationResourceId", arm);
    cJSON_AddStringToObject(cloud, "synapseAnalyticsResourceId", arm);
    cJSON_AddStringToObject(cloud, "logAnalyticsResourceId", arm);
    cJSON_AddStringToObject(cloud, "ossrDbmsResourceId", arm);
    cJSON *auth = cJSON_AddObjectToObject(cloud, "authentication");
    cJSON_AddStringToObject(auth, "loginEndpoint", login);
    cJSON_AddItemToObject(auth, "audiences", audiences(req));
    cJSON_AddStringToObject(auth, "tenant", "adfs");
    cJSON_AddStringToObject(auth, "identityProvider", "ADFS");
    cJSON *suffixes = cJSON_AddObjectToObject(cloud, "suffixes");
    cJSON_AddStringToObject(suffixes, "storage", "blob.localhost");
    cJSON_AddStringToObject(suffixes, "storageSyncEndpointSuffix", "localhost");
    cJSON_AddStringToObject(suffixes, "keyVaultDns", "vault.localhost");
    cJSON_AddStringToObject(suffixes, "mhsmDns", "managedhsm.localhost");
    cJSON_AddStringToObject(suffixes, "sqlServerHostname", "database.localhost");
    cJSON_AddStringToObject(suffixes, "acrLoginServer", "azurecr.localhost");
    cJSON_AddStringToObject(suffixes, "attestationEndpoint", "attest.localhost");
    cJSON_AddStringToObject(suffixes, "synapseAnalytics", "dev.localhost");
    cJSON *list = cJSON_CreateArray();
    cJSON_AddItemToArray(list, cloud);
    chsm_arm_json(res, 200, list);
}

static void adfs_openid_configuration(chsm_request *req, chsm_response *res)
{
    char buf[300];
    cJSON *c = cJSON_CreateObject();
    snprintf(buf, sizeof buf, "%s/adfs/oauth2/token", req->base_url);
    cJSON_AddStringToObject(c, "token_endpoint", buf);
    snprintf(buf, sizeof buf, "%s/adfs/oauth2/authorize", req->base_url);
    cJSON_AddStringToObject(c, "authorization_endpoint", buf);
    snprintf(buf, sizeof buf, "%s/adfs/discovery/keys", req->base_url);
    cJSON_AddStringToObject(c, "jwks_uri", buf);
    snprintf(buf, sizeof buf, "%s/adfs", req->base_url);
    cJSON_AddStringToObject(c, "issuer", buf);
    snprintf(buf, sizeof buf, "%s/adfs/devicecode", req->base_url);
    cJSON_AddStringToObject(c, "device_authorization_endpoint", buf);
    cJSON *grants = cJSON_AddArrayToObject(c, "grant_types_supported");
    cJSON_AddItemToArray(grants, cJSON_CreateString("client_credentials"));
    cJSON *algs = cJSON_AddArrayToObject(c, "id_token_signing_alg_values_supported");
    cJSON_AddItemToArray(algs, cJSON_CreateString("RS256"));
    chsm_arm_json(res, 200, c);
}

/* POST /adfs/oauth2/token: the CLI's client-credentials login (scope is
 * "<resource>/.default", v2-style, even against ADFS). */
static void adfs_token(chsm_request *req, chsm_response *res)
{
    char *grant = form_value(req, "grant_type");
    char *client_id = form_value(req, "client_id");
    char *scope = form_value(req, "scope");
    char *resource = form_value(req, "resource");
    if (!grant || strcmp(grant, "client_credentials") != 0) {
        oauth_error(res, 400, "unsupported_grant_type",
                    "Only grant_type=client_credentials is supported by the emulator.");
    } else if (!client_id || !*client_id || strlen(client_id) > 64) {
        oauth_error(res, 400, "invalid_request", "The request body must contain 'client_id'.");
    } else {
        char *aud = resource ? chsm_strdup(resource) : audience_from_scope(scope);
        token_response(req, res, 0, CHSM_DEFAULT_TENANT, client_id, client_id,
                       aud ? aud : DEFAULT_RESOURCE);
        free(aud);
    }
    free(grant);
    free(client_id);
    free(scope);
    free(resource);
}

/* /msi/token: the App Service style managed-identity endpoint, in both the
 * shape the CLI uses (POST $MSI_ENDPOINT, form body, Metadata: true) and the
 * one @azure/identity uses (GET $IDENTITY_ENDPOINT?api-version=2019-08-01,
 * X-IDENTITY-HEADER). */
static void msi_token(chsm_request *req, chsm_response *res)
{
    int post = strcmp(req->method, "POST") == 0;
    const char *meta = chsm_request_header(req, "Metadata");
    const char *secret = chsm_request_header(req, "X-IDENTITY-HEADER");
    if (!secret)
        secret = chsm_request_header(req, "secret");
    if (!(meta && chsm_streq_ci(meta, "true")) && !secret) {
        oauth_error(res, 400, "invalid_request",
                    "Send 'Metadata: true' or the X-IDENTITY-HEADER secret.");
        return;
    }
    char *resource = post ? form_value(req, "resource") : NULL;
    char *client_id = post ? form_value(req, "client_id") : NULL;
    if (!resource)
        resource = chsm_strdup(chsm_request_query(req, "resource"));
    if (!client_id)
        client_id = chsm_strdup(chsm_request_query(req, "client_id"));
    if (!resource || !*resource) {
        oauth_error(res, 400, "invalid_request", "Required parameter 'resource' is missing");
    } else if (client_id && strlen(client_id) > 63) {
        oauth_error(res, 400, "invalid_request", "The client_id parameter is too long.");
    } else {
        const char *oid = client_id ? client_id : CHSM_DEFAULT_OID;
        chsm_msi_info msi;
        if (known_identity(req->app, client_id, chsm_request_query(req, "principal_id"),
                           chsm_request_query(req, "mi_res_id"), &msi))
            token_response(req, res, 1, msi.tenant_id, msi.principal_id, msi.client_id, resource);
        else
            token_response(req, res, 1, CHSM_DEFAULT_TENANT, oid, client_id, resource);
    }
    free(resource);
    free(client_id);
}

#define PUBLIC (CHSM_ROUTE_PUBLIC | CHSM_ROUTE_NO_API_VERSION)

/* The fixed /adfs/ and /msi/ paths come before the /{tenant}/ templates they resemble. */
static const chsm_route routes[] = {
    {"GET", "/metadata/endpoints", metadata_endpoints, "metadata/endpoints", NULL, PUBLIC},
    {"GET", "/adfs/.well-known/openid-configuration", adfs_openid_configuration, "adfs/openid",
     NULL, PUBLIC},
    {"POST", "/adfs/oauth2/token", adfs_token, "adfs/token", NULL, PUBLIC},
    {"GET", "/adfs/discovery/keys", jwks, "adfs/keys", NULL, PUBLIC},
    {"GET", "/msi/token", msi_token, "msi/token", NULL, PUBLIC},
    {"POST", "/msi/token", msi_token, "msi/token", NULL, PUBLIC},
    {"POST", "/{tenant}/oauth2/v2.0/token", token_v2, "entra/token", NULL, PUBLIC},
    {"POST", "/{tenant}/oauth2/token", token_v1, "entra/token", NULL, PUBLIC},
    {"GET", "/metadata/identity/oauth2/token", imds_token, "imds/token", NULL, PUBLIC},
    {"GET", "/{tenant}/discovery/v2.0/keys", jwks, "entra/keys", NULL, PUBLIC},
    {"GET", "/{tenant}/discovery/keys", jwks, "entra/keys", NULL, PUBLIC},
    {"GET", "/{tenant}/v2.0/.well-known/openid-configuration", openid_configuration, "entra/openid",
     NULL, PUBLIC},
    {"GET", "/{tenant}/.well-known/openid-configuration", openid_configuration, "entra/openid",
     NULL, PUBLIC},
};

const chsm_provider chsm_provider_identity_platform = {"Entra ID (emulated)", routes,
                                                       CHSM_COUNT(routes), NULL};

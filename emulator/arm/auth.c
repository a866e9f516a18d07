/* auth.c - bearer token checks and token minting. */
#include "arm/auth.h"

#include "app/app.h"
#include "app/signing_key.h"
#include "arm/errors.h"
#include "crypto/jwt.h"
#include "util/status.h"
#include "util/text.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define AUTH_MAX_TOKEN 16384

/* RFC 6750 b64token: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
static int is_b64token(const char *t)
{
    size_t n = strlen(t), i = 0;
    if (n == 0 || n > AUTH_MAX_TOKEN)
        return 0;
    while (i < n && (isalnum((unsigned char)t[i]) || strchr("-._~+/", t[i])))
        i++;
    if (i == 0)
        return 0;
    while (i < n && t[i] == '=')
        i++;
    return i == n;
}

static void copy_claim(const cJSON *claims, const char *name, char *out, size_t outlen)
{
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(claims, name));
    if (v && strlen(v) < outlen)
        snprintf(out, outlen, "%s", v);
}

/* is_own_url tells whether aud names this emulator's ARM listener, under any
 * host name: SDKs pointed at it ask for "{their ARM URL}/.default" (az takes
 * the audience from /metadata/endpoints, which names the same URL). */
static int is_own_url(const struct chsm_app *app, const char *aud)
{
    const char *host = strstr(aud, "://");
    if (!host || app->arm_port <= 0)
        return 0;
    host += 3;
    const char *end = host + strcspn(host, "/?#");
    char port[16];
    int n = snprintf(port, sizeof port, ":%d", app->arm_port);
    return end - host > n && strncmp(end - n, port, (size_t)n) == 0;
}

/* Audiences a token of ours may carry: ARM (Azure's or this emulator's URL),
 * storage, Key Vault, Managed HSM and the Cloud HSM itself. */
static int audience_ok(const struct chsm_app *app, const cJSON *claims)
{
    const char *aud = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(claims, "aud"));
    if (!aud)
        return 0;
    static const char *const ok[] = {"https://management.azure.com",
                                     "https://management.core.windows.net",
                                     "https://storage.azure.com",
                                     "https://managedhsm.azure.net",
                                     "https://cloudhsm.azure.net",
                                     "https://vault.azure.net",
                                     NULL};
    for (int i = 0; ok[i]; i++)
        if (chsm_starts_with_ci(aud, ok[i]))
            return 1;
    return is_own_url(app, aud);
}

int chsm_auth_principal_from_token(struct chsm_app *app, const char *token, int strict,
                                   chsm_principal *p, char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    if (!is_b64token(token)) {
        snprintf(err, errlen, "The access token is malformed.");
        return CHSM_EINVAL;
    }
    cJSON *header = NULL, *claims = NULL;
    int64_t expires_ms = 0;
    int rc;
    if (strict) {
        rc = chsm_crypto_jwt_verify(chsm_signing_key_get(app), token, &claims);
        if (rc != CHSM_OK) {
            snprintf(err, errlen, "The access token signature is invalid.");
            return rc;
        }
        const cJSON *exp = cJSON_GetObjectItemCaseSensitive(claims, "exp");
        /* Compared as doubles: exp may be any JSON number (1e300, negative), and
         * converting an out-of-range double to an integer is undefined. */
        if (!cJSON_IsNumber(exp) || !(exp->valuedouble * 1000.0 >= (double)chsm_now_ms())) {
            cJSON_Delete(claims);
            snprintf(err, errlen,
                     "The access token expiry UTC time is earlier than current "
                     "UTC time.");
            return CHSM_EDENIED;
        }
        const char *iss = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(claims, "iss"));
        if (!iss || !chsm_starts_with_ci(iss, "https://sts.windows.net/")) {
            cJSON_Delete(claims);
            snprintf(err, errlen,
                     "The access token is from an issuer this emulator does not trust.");
            return CHSM_EDENIED;
        }
        if (!audience_ok(app, claims)) {
            cJSON_Delete(claims);
            snprintf(err, errlen, "The access token has an invalid audience.");
            return CHSM_EDENIED;
        }
        /* exp is at least now here, so the product is positive; clamp before converting. */
        double exp_ms = exp->valuedouble * 1000.0;
        expires_ms = exp_ms >= 9.0e18 ? INT64_MAX : (int64_t)exp_ms;
    } else if (chsm_crypto_jwt_decode(token, &header, &claims) != CHSM_OK) {
        claims = NULL; /* an opaque token: allowed in the default mode */
    }
    snprintf(p->oid, sizeof p->oid, "%s", CHSM_DEFAULT_OID);
    snprintf(p->tid, sizeof p->tid, "%s", CHSM_DEFAULT_TENANT);
    if (claims) {
        copy_claim(claims, "oid", p->oid, sizeof p->oid);
        copy_claim(claims, "tid", p->tid, sizeof p->tid);
        copy_claim(claims, "appid", p->appid, sizeof p->appid);
        if (!p->appid[0])
            copy_claim(claims, "azp", p->appid, sizeof p->appid);
    }
    p->authenticated = 1;
    p->expires_ms = expires_ms;
    cJSON_Delete(header);
    cJSON_Delete(claims);
    return CHSM_OK;
}

int chsm_arm_authenticate(struct chsm_app *app, chsm_request *req, chsm_response *res)
{
    const char *h = chsm_request_header(req, "Authorization");
    char www[640];
    snprintf(www, sizeof www,
             "Bearer authorization_uri=\"%s/%s\", error=\"invalid_token\", "
             "error_description=\"The authentication failed because of missing 'Authorization' "
             "header.\"",
             req->base_url, CHSM_DEFAULT_TENANT);
    if (!h || !*h) {
        chsm_arm_error(res, 401, "AuthenticationFailed",
                       "Authentication failed. The 'Authorization' header is missing.");
        chsm_response_header(res, "WWW-Authenticate", www, 1);
        return 1;
    }
    if (!chsm_starts_with_ci(h, "Bearer ")) {
        chsm_arm_error(res, 401, "AuthenticationFailedInvalidHeader",
                       "Authentication failed. The 'Authorization' header is provided in an "
                       "invalid format.");
        chsm_response_header(res, "WWW-Authenticate", www, 1);
        return 1;
    }
    const char *token = h + 7;
    while (*token == ' ')
        token++;
    char err[256];
    int rc = chsm_auth_principal_from_token(app, token, app->cfg.strict_auth, &req->principal, err,
                                            sizeof err);
    if (rc != CHSM_OK) {
        chsm_arm_error(res, 401,
                       rc == CHSM_EDENIED ? "ExpiredAuthenticationToken"
                                          : "InvalidAuthenticationToken",
                       "%s", err);
        chsm_response_header(res, "WWW-Authenticate", www, 1);
        return 1;
    }
    return 0;
}

char *chsm_auth_issue_token(struct chsm_app *app, const char *tid, const char *oid,
                            const char *appid, const char *aud, int lifetime_s)
{
    int64_t now = chsm_now_ms() / 1000;
    char iss[128];
    snprintf(iss, sizeof iss, "https://sts.windows.net/%s/", tid);
    char uti[37];
    chsm_uuid(uti);
    cJSON *claims = cJSON_CreateObject();
    cJSON_AddStringToObject(claims, "aud", aud);
    cJSON_AddStringToObject(claims, "iss", iss);
    cJSON_AddNumberToObject(claims, "iat", (double)now);
    cJSON_AddNumberToObject(claims, "nbf", (double)now);
    cJSON_AddNumberToObject(claims, "exp", (double)(now + lifetime_s));
    cJSON_AddStringToObject(claims, "oid", oid);
    cJSON_AddStringToObject(claims, "sub", oid);
    cJSON_AddStringToObject(claims, "tid", tid);
    if (appid) {
        cJSON_AddStringToObject(claims, "appid", appid);
        cJSON_AddStringToObject(claims, "azp", appid);
    }
    cJSON_AddStringToObject(claims, "ver", "1.0");
    cJSON_AddStringToObject(claims, "uti", uti);
    char *token = chsm_crypto_jwt_sign(chsm_signing_key_get(app), claims);
    cJSON_Delete(claims);
    return token;
}

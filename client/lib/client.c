/* client.c - libcurl transport, token cache and ARM requests. */
#include "chsmc_client.h"

#include <curl/curl.h>

#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#ifndef CHSMC_VERSION
#define CHSMC_VERSION "0.1"
#endif

struct chsmc_client {
    chsmc_endpoint ep;
    CURL *curl;
    char *token;
    long long token_expiry_ms;
    chsmc_trace_fn trace;
    void *trace_ctx;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_init_rc;

static void curl_init_once(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

int chsmc_response_header(const chsmc_response *r, const char *name, char *out, size_t outlen)
{
    if (!r || !r->headers || !name)
        return 0;
    size_t nlen = strlen(name);
    const char *p = r->headers;
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len > nlen && p[nlen] == ':' && strncasecmp(p, name, nlen) == 0) {
            const char *v = p + nlen + 1;
            const char *end = p + len;
            while (v < end && (*v == ' ' || *v == '\t'))
                v++;
            while (end > v && (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
                end--;
            if (out && outlen)
                snprintf(out, outlen, "%.*s", (int)(end - v), v);
            return 1;
        }
        if (!eol)
            break;
        p = eol + 1;
    }
    return 0;
}

cJSON *chsmc_response_json(const chsmc_response *r)
{
    if (!r || !r->body || !r->body[0])
        return NULL;
    return cJSON_Parse(r->body);
}

void chsmc_response_clear(chsmc_response *r)
{
    if (!r)
        return;
    free(r->body);
    free(r->headers);
    memset(r, 0, sizeof *r);
}

int chsmc_client_new(const chsmc_endpoint *ep, chsmc_client **out, chsmc_error *e)
{
    *out = NULL;
    pthread_once(&curl_once, curl_init_once);
    if (curl_init_rc != 0)
        return chsmc_error_set(e, CHSMC_ECONNECT, "CurlInit", "libcurl could not initialise");
    chsmc_client *c = calloc(1, sizeof *c);
    if (!c)
        return chsmc_error_set(e, CHSMC_ENOMEM, "OutOfMemory", "out of memory");
    c->ep = *ep;
    c->curl = curl_easy_init();
    if (!c->curl) {
        free(c);
        return chsmc_error_set(e, CHSMC_ECONNECT, "CurlInit", "libcurl could not initialise");
    }
    *out = c;
    return CHSMC_OK;
}

void chsmc_client_free(chsmc_client *c)
{
    if (!c)
        return;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    free(c->token);
    free(c);
}

const chsmc_endpoint *chsmc_client_endpoint(const chsmc_client *c)
{
    return &c->ep;
}

void chsmc_client_set_trace(chsmc_client *c, chsmc_trace_fn fn, void *ctx)
{
    c->trace = fn;
    c->trace_ctx = ctx;
}

static void trace(chsmc_client *c, const char *fmt, ...) CHSMC_PRINTF(2, 3);
static void trace(chsmc_client *c, const char *fmt, ...)
{
    if (!c->trace)
        return;
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    c->trace(c->trace_ctx, line);
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    chsmc_buf *b = ud;
    return chsmc_buf_append(b, p, size * n) == CHSMC_OK ? size * n : 0;
}

/* on_header keeps only the header block of the last response (after 100-continue etc.). */
static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    chsmc_buf *b = ud;
    size_t len = size * n;
    if (len >= 5 && strncmp(p, "HTTP/", 5) == 0)
        b->len = 0;
    return chsmc_buf_append(b, p, len) == CHSMC_OK ? len : 0;
}

int chsmc_http_send(chsmc_client *c, const char *method, const char *url,
                    const char *const *headers, const char *body, size_t body_len,
                    chsmc_response *out, chsmc_error *e)
{
    memset(out, 0, sizeof *out);
    CURL *h = c->curl;
    curl_easy_reset(h);
    chsmc_buf b = {0}, hb = {0};
    struct curl_slist *hl = NULL;
    for (const char *const *p = headers; p && *p; p++)
        hl = curl_slist_append(hl, *p);
    hl = curl_slist_append(hl, "Accept: application/json");
    hl = curl_slist_append(hl, "Expect:");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    } else if (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
               strcmp(method, "PATCH") == 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &hb);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "chsmctl/" CHSMC_VERSION);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    if (c->ep.ca_cert[0])
        curl_easy_setopt(h, CURLOPT_CAINFO, c->ep.ca_cert);
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    trace(c, "> %s %s", method, url);
    CURLcode cc = curl_easy_perform(h);
    curl_slist_free_all(hl);
    if (cc != CURLE_OK) {
        chsmc_buf_free(&b);
        chsmc_buf_free(&hb);
        const char *hint = "";
        if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE ||
            cc == CURLE_SSL_CONNECT_ERROR)
            hint = " (is --ca-cert / CHSM_CA_CERT the emulator's CA certificate?)";
        else if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST)
            hint = " (is the emulator running?)";
        return chsmc_error_set(e, CHSMC_ECONNECT, "ConnectionFailed", "cannot reach %.300s: %s%s",
                               url, errbuf[0] ? errbuf : curl_easy_strerror(cc), hint);
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
    if (!b.data)
        chsmc_buf_append(&b, "", 0);
    if (!hb.data)
        chsmc_buf_append(&hb, "", 0);
    out->body = b.data;
    out->body_len = b.len;
    out->headers = hb.data;
    if (!out->body || !out->headers) {
        chsmc_response_clear(out);
        return chsmc_error_set(e, CHSMC_ENOMEM, "OutOfMemory", "out of memory");
    }
    trace(c, "< %ld (%zu bytes)", out->status, out->body_len);
    return CHSMC_OK;
}

/* form_escape appends s percent-encoded for application/x-www-form-urlencoded. */
static void form_escape(chsmc_buf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~')
            chsmc_buf_append(b, s, 1);
        else
            chsmc_buf_printf(b, "%%%02X", ch);
    }
}

int chsmc_client_token(chsmc_client *c, const char **token, chsmc_error *e)
{
    long long now = chsmc_now_ms();
    if (c->token && now < c->token_expiry_ms) {
        *token = c->token;
        return CHSMC_OK;
    }
    char url[800];
    snprintf(url, sizeof url, "%s/%s/oauth2/v2.0/token", c->ep.arm_url, c->ep.tenant);
    chsmc_buf form = {0};
    chsmc_buf_printf(&form, "grant_type=client_credentials&client_id=");
    form_escape(&form, c->ep.client_id);
    chsmc_buf_printf(&form, "&client_secret=emulator&scope=");
    form_escape(&form, "https://management.azure.com/.default");
    if (!form.data)
        return chsmc_error_set(e, CHSMC_ENOMEM, "OutOfMemory", "out of memory");
    const char *hdrs[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
    chsmc_response r;
    int rc = chsmc_http_send(c, "POST", url, hdrs, form.data, form.len, &r, e);
    chsmc_buf_free(&form);
    if (rc != CHSMC_OK)
        return rc;
    if (r.status != 200) {
        chsmc_error_parse(r.body, r.status, e);
        chsmc_error_prefix(e, "the token endpoint refused: ");
        chsmc_response_clear(&r);
        return CHSMC_EHTTP;
    }
    cJSON *j = chsmc_response_json(&r);
    chsmc_response_clear(&r);
    const char *tok = j ? cJSON_GetStringValue(cJSON_GetObjectItem(j, "access_token")) : NULL;
    const cJSON *exp = j ? cJSON_GetObjectItem(j, "expires_in") : NULL;
    long long life = cJSON_IsNumber(exp)   ? (long long)exp->valuedouble
                     : cJSON_IsString(exp) ? atoll(exp->valuestring)
                                           : 3600;
    if (!tok) {
        cJSON_Delete(j);
        return chsmc_error_set(e, CHSMC_EHTTP, "InvalidTokenResponse",
                               "the token endpoint answered without access_token");
    }
    free(c->token);
    c->token = strdup(tok);
    cJSON_Delete(j);
    if (!c->token)
        return chsmc_error_set(e, CHSMC_ENOMEM, "OutOfMemory", "out of memory");
    if (life > 120)
        life -= 60; /* renew a minute early */
    c->token_expiry_ms = now + life * 1000;
    *token = c->token;
    return CHSMC_OK;
}

char *chsmc_arm_url(const chsmc_client *c, const char *path_or_url, const char *api_version)
{
    chsmc_buf b = {0};
    if (strncmp(path_or_url, "http://", 7) == 0 || strncmp(path_or_url, "https://", 8) == 0)
        chsmc_buf_printf(&b, "%s", path_or_url);
    else
        chsmc_buf_printf(&b, "%s%s%s", c->ep.arm_url, path_or_url[0] == '/' ? "" : "/",
                         path_or_url);
    if (api_version && b.data && !strstr(b.data, "api-version="))
        chsmc_buf_printf(&b, "%sapi-version=%s", strchr(b.data, '?') ? "&" : "?", api_version);
    return b.data;
}

int chsmc_arm_request(chsmc_client *c, const char *method, const char *path_or_url,
                      const char *api_version, const cJSON *body, chsmc_response *out,
                      chsmc_error *e)
{
    memset(out, 0, sizeof *out);
    char *url = chsmc_arm_url(c, path_or_url, api_version);
    char *text = body ? cJSON_PrintUnformatted(body) : NULL;
    if (!url || (body && !text)) {
        free(url);
        free(text);
        return chsmc_error_set(e, CHSMC_ENOMEM, "OutOfMemory", "out of memory");
    }
    int rc = CHSMC_OK;
    for (int attempt = 0; attempt < 2; attempt++) {
        const char *tok = NULL;
        rc = chsmc_client_token(c, &tok, e);
        if (rc != CHSMC_OK)
            break;
        size_t alen = strlen(tok) + 32;
        char *auth = malloc(alen);
        if (!auth) {
            rc = chsmc_error_set(e, CHSMC_ENOMEM, "OutOfMemory", "out of memory");
            break;
        }
        snprintf(auth, alen, "Authorization: Bearer %s", tok);
        const char *hdrs[] = {auth, text ? "Content-Type: application/json" : NULL, NULL};
        char cid[37], cidh[64];
        chsmc_uuid(cid);
        snprintf(cidh, sizeof cidh, "x-ms-client-request-id: %s", cid);
        const char *all[] = {hdrs[0], cidh, hdrs[1], NULL};
        rc = chsmc_http_send(c, method, url, all, text, text ? strlen(text) : 0, out, e);
        free(auth);
        if (rc != CHSMC_OK || out->status != 401 || attempt == 1)
            break;
        chsmc_response_clear(out); /* token refused: fetch a new one and try once more */
        free(c->token);
        c->token = NULL;
    }
    free(url);
    free(text);
    return rc;
}

int chsmc_arm_call(chsmc_client *c, const char *method, const char *path_or_url,
                   const char *api_version, const cJSON *body, chsmc_response *out, cJSON **json,
                   chsmc_error *e)
{
    chsmc_response r;
    if (json)
        *json = NULL;
    int rc = chsmc_arm_request(c, method, path_or_url, api_version, body, &r, e);
    if (rc != CHSMC_OK)
        return rc;
    if (r.status >= 400) {
        chsmc_error_parse(r.body, r.status, e);
        rc = CHSMC_EHTTP;
    } else if (json) {
        *json = chsmc_response_json(&r);
    }
    if (out)
        *out = r;
    else
        chsmc_response_clear(&r);
    return rc;
}

/* chsmc_client.h - an HTTP client bound to one emulator: TLS trust, the
 * emulator's token endpoint (tokens cached until shortly before expiry), and
 * ARM calls with api-version and the error envelope parsed. */
#ifndef CHSMC_CLIENT_H
#define CHSMC_CLIENT_H

#include "chsmc.h"
#include "chsmc_config.h"

#include <cjson/cJSON.h>

/* One HTTP response: status, body (NUL-terminated, may be "") and the raw header block of
 * the final response. */
typedef struct chsmc_response {
    long status;
    char *body;
    size_t body_len;
    char *headers;
} chsmc_response;

/* chsmc_response_header copies the first header called name (any case) into out;
 * returns 1 when found, 0 when not. */
int chsmc_response_header(const chsmc_response *r, const char *name, char *out, size_t outlen);
/* chsmc_response_json parses the body as JSON (caller frees), NULL when empty or not JSON. */
cJSON *chsmc_response_json(const chsmc_response *r);
/* chsmc_response_clear frees the response's memory and empties it. */
void chsmc_response_clear(chsmc_response *r);

typedef struct chsmc_client chsmc_client;

/* A trace callback: one line per request and response (for --verbose). */
typedef void (*chsmc_trace_fn)(void *ctx, const char *line);

/* chsmc_client_new makes a client for ep (copied). CHSMC_OK, CHSMC_ENOMEM or CHSMC_ECONNECT
 * when libcurl cannot be initialised. Free with chsmc_client_free. */
int chsmc_client_new(const chsmc_endpoint *ep, chsmc_client **out, chsmc_error *e);
/* chsmc_client_free releases c (NULL is fine). */
void chsmc_client_free(chsmc_client *c);
/* chsmc_client_endpoint is the endpoint c talks to. */
const chsmc_endpoint *chsmc_client_endpoint(const chsmc_client *c);
/* chsmc_client_set_trace installs a trace callback (NULL removes it). */
void chsmc_client_set_trace(chsmc_client *c, chsmc_trace_fn fn, void *ctx);

/* chsmc_http_send performs one request to an absolute url with extra header lines
 * ("Name: value", NULL-terminated list, may be NULL) and an optional body. Any HTTP status
 * is CHSMC_OK; CHSMC_ECONNECT when the server cannot be reached (message says why). */
int chsmc_http_send(chsmc_client *c, const char *method, const char *url,
                    const char *const *headers, const char *body, size_t body_len,
                    chsmc_response *out, chsmc_error *e);

/* chsmc_client_token returns a bearer token for ARM (cached; a new one is fetched from
 * {armUrl}/{tenant}/oauth2/v2.0/token when none is valid for another minute). The string
 * belongs to c and stays valid until the next token call. */
int chsmc_client_token(chsmc_client *c, const char **token, chsmc_error *e);

/* chsmc_arm_url makes an absolute URL from an ARM path ("/subscriptions/...") or an absolute
 * URL, adding api-version unless the URL has one (api_version NULL adds nothing). Caller
 * frees; NULL on OOM. */
char *chsmc_arm_url(const chsmc_client *c, const char *path_or_url, const char *api_version);
/* chsmc_arm_request sends an authenticated ARM request (JSON body when body != NULL) and
 * returns the response whatever its status (retrying once with a fresh token on 401). */
int chsmc_arm_request(chsmc_client *c, const char *method, const char *path_or_url,
                      const char *api_version, const cJSON *body, chsmc_response *out,
                      chsmc_error *e);
/* chsmc_arm_call is chsmc_arm_request plus: a status >= 400 becomes CHSMC_EHTTP with the
 * error envelope in e; *json (when not NULL) gets the parsed body (caller frees, NULL when
 * empty); out (when not NULL) keeps the response (caller clears). */
int chsmc_arm_call(chsmc_client *c, const char *method, const char *path_or_url,
                   const char *api_version, const cJSON *body, chsmc_response *out, cJSON **json,
                   chsmc_error *e);

#endif

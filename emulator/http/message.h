/* message.h - the request and response that handlers see.
 *
 * These structs are the only HTTP types above the http/ folder: handlers read
 * a chsm_request and fill a chsm_response, and never see libmicrohttpd. Unit
 * tests build requests by hand with chsm_request_init/_add_*. */
#ifndef CHSM_HTTP_MESSAGE_H
#define CHSM_HTTP_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

struct chsm_app;
struct chsm_route;

typedef struct chsm_kv {
    char *name;
    char *value;
} chsm_kv;

/* Which listener a request arrived on. */
enum chsm_listener_kind { CHSM_LISTENER_ARM = 0, CHSM_LISTENER_BLOB = 1 };

/* The authenticated caller, filled by arm/auth before the handler runs. */
typedef struct chsm_principal {
    int authenticated;
    char oid[64];       /* object id: what role assignments name */
    char tid[64];       /* tenant id */
    char appid[64];     /* application (client) id */
    int64_t expires_ms; /* the token's expiry when it was checked (strict mode), else 0 */
} chsm_principal;

typedef struct chsm_request {
    struct chsm_app *app;
    int listener;    /* enum chsm_listener_kind */
    char method[16]; /* "GET", "PUT", ... */
    char *raw_path;  /* the path as sent (still percent-encoded), owned */
    char **segments; /* decoded path segments, owned */
    size_t nsegments;
    chsm_kv *query; /* decoded query parameters in order, owned */
    size_t nquery;
    chsm_kv *headers; /* request headers as sent, owned */
    size_t nheaders;
    chsm_kv *params; /* route captures (by template name), owned */
    size_t nparams;
    const unsigned char *body; /* whole body in memory, or NULL (owned by the http layer) */
    size_t body_len;
    const char *body_path; /* body spilled to this temp file instead, or NULL */
    void *body_observed;   /* the listener's spill observer's state for that body, or NULL */
    char base_url[256];    /* scheme://host:port as the client addressed us */
    char request_id[40];   /* x-ms-request-id of this exchange */
    chsm_principal principal;
    const struct chsm_route *route;
    char operation[64]; /* the route's operation name, for the journal and fault rules */
    char fault[48];     /* id of the fault rule that fired on this request, if any */
} chsm_request;

typedef struct chsm_response {
    int status;
    chsm_kv *headers; /* owned */
    size_t nheaders;
    char *body; /* owned, may be NULL */
    size_t body_len;
    int body_fd; /* >= 0: stream this file range instead of body; owned */
    uint64_t body_fd_offset;
    uint64_t body_fd_len;
    int close_connection; /* drop the connection after answering */
    int drop;             /* CHSM_DROP_*: do not answer at all (fault injection) */
} chsm_response;

/* How a response may refuse to be one (fault injection). */
enum { CHSM_DROP_NONE = 0, CHSM_DROP_CLOSE = 1, CHSM_DROP_RESET = 2 };

/* chsm_request_init zeroes a request for hand-built use (tests, internal calls). */
void chsm_request_init(chsm_request *req, struct chsm_app *app, const char *method);
/* chsm_request_set_path splits and decodes raw_path into segments; returns 0 or CHSM_EINVAL. */
int chsm_request_set_path(chsm_request *req, const char *raw_path);
/* chsm_request_add_query appends a decoded query parameter. */
int chsm_request_add_query(chsm_request *req, const char *name, const char *value);
/* chsm_request_parse_query decodes a raw "a=b&c=d" string into query parameters. */
int chsm_request_parse_query(chsm_request *req, const char *raw_query);
/* chsm_request_add_header appends a header. */
int chsm_request_add_header(chsm_request *req, const char *name, const char *value);
/* chsm_request_header returns the first header named name (any case), or NULL. */
const char *chsm_request_header(const chsm_request *req, const char *name);
/* chsm_request_query returns the first query parameter named name (any case), or NULL. */
const char *chsm_request_query(const chsm_request *req, const char *name);
/* chsm_request_param returns the route capture named name, or NULL. */
const char *chsm_request_param(const chsm_request *req, const char *name);
/* chsm_request_free releases everything the request owns (not the body). */
void chsm_request_free(chsm_request *req);

/* chsm_response_init prepares an empty 200 response with no body. */
void chsm_response_init(chsm_response *res);
/* chsm_response_header adds (or replaces, if replace) a response header. */
void chsm_response_header(chsm_response *res, const char *name, const char *value, int replace);
/* chsm_response_find_header returns a response header's value, or NULL. */
const char *chsm_response_find_header(const chsm_response *res, const char *name);
/* chsm_response_set_body takes ownership of body (len bytes) with a content type. */
void chsm_response_set_body(chsm_response *res, int status, const char *content_type, char *body,
                            size_t len);
/* chsm_response_set_text copies a text body. */
void chsm_response_set_text(chsm_response *res, int status, const char *content_type,
                            const char *text);
/* chsm_response_set_file streams len bytes of fd from offset; takes ownership of fd. */
void chsm_response_set_file(chsm_response *res, int status, int fd, uint64_t offset, uint64_t len);
/* chsm_response_free releases the response's headers, body and fd. */
void chsm_response_free(chsm_response *res);

#endif

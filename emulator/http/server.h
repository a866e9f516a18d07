/* server.h - the listeners: libmicrohttpd with TLS, limits and access log.
 *
 * The only file that includes <microhttpd.h>. It turns each exchange into a
 * chsm_request, hands it to a dispatch function, and sends the chsm_response
 * back; bodies over the listener's limit are refused with 413 before they are
 * read, and large bodies may spill to a temp file instead of memory. */
#ifndef CHSM_HTTP_SERVER_H
#define CHSM_HTTP_SERVER_H

#include "http/message.h"

#include <stddef.h>

typedef void (*chsm_dispatch_fn)(void *ctx, chsm_request *req, chsm_response *res);
typedef void (*chsm_access_log_fn)(void *ctx, const chsm_request *req, const chsm_response *res,
                                   double ms);

/* What a spill observer is shown when a request body starts spilling to a file. */
typedef struct chsm_body_probe {
    const char *method;
    const char *url; /* path as sent, without the query */
    int fd;          /* the spill file, open for writing; the body is appended to it */
    /* header(probe, name) and query(probe, name) look up a request header or a
     * query parameter, still percent-encoded (NULL when absent). */
    const char *(*header)(const struct chsm_body_probe *probe, const char *name);
    const char *(*query)(const struct chsm_body_probe *probe, const char *name);
    void *conn; /* the HTTP layer's, for the two lookups */
} chsm_body_probe;

/* An optional observer of spilled bodies: begin(ctx, probe) may return a state
 * (NULL: not interested); wrote(state, n) follows each append of n bytes to the
 * spill file; the state is handed to the dispatch as req->body_observed once
 * the body is complete, and end(state) releases it when the exchange ends. */
typedef struct chsm_spill_observer {
    void *(*begin)(void *ctx, const chsm_body_probe *probe);
    void (*wrote)(void *state, size_t n);
    void (*end)(void *state);
} chsm_spill_observer;

typedef struct chsm_listener_config {
    int kind;                 /* enum chsm_listener_kind */
    const char *host;         /* "127.0.0.1", "::1", "0.0.0.0" */
    int port;                 /* 0 picks a free port */
    int threads;              /* pool size */
    size_t body_limit;        /* larger bodies get 413 */
    size_t spill_threshold;   /* bodies over this go to a temp file (0: never) */
    const char *spill_dir;    /* where temp files go */
    int fsync_spill;          /* fsync a spilled body before dispatch (--fsync) */
    int timeout_s;            /* idle connection timeout */
    const char *tls_cert_pem; /* NULL: plain HTTP */
    const char *tls_key_pem;
    chsm_dispatch_fn dispatch;
    chsm_access_log_fn access_log;
    void *ctx;
    struct chsm_app *app;
    /* Told of bodies as they spill (may be NULL). */
    const chsm_spill_observer *spill_observer;
} chsm_listener_config;

typedef struct chsm_listener chsm_listener;

/* chsm_listener_start binds and starts serving; err gets a message on failure. */
int chsm_listener_start(const chsm_listener_config *cfg, chsm_listener **out, char *err,
                        size_t errlen);
/* chsm_listener_port returns the bound port (useful after port 0). */
int chsm_listener_port(const chsm_listener *l);
/* chsm_listener_quiesce stops accepting new connections. */
void chsm_listener_quiesce(chsm_listener *l);
/* chsm_listener_stop finishes in-flight requests, closes and frees the listener. */
void chsm_listener_stop(chsm_listener *l);
/* chsm_http_tls_supported tells whether libmicrohttpd was built with TLS. */
int chsm_http_tls_supported(void);

#endif

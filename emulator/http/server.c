/* server.c - libmicrohttpd glue. */
#include "http/server.h"

#include "util/buf.h"
#include "util/status.h"
#include "util/text.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Header bytes per connection (request line + headers); beyond it
 * libmicrohttpd answers 431 itself. */
#define HTTP_CONNECTION_MEMORY (64 * 1024)
#define HTTP_MAX_CONNECTIONS 1024

struct chsm_listener {
    chsm_listener_config cfg;
    struct MHD_Daemon *daemon;
    int port;
    int tls;
};

/* Per-exchange state kept between libmicrohttpd's callbacks. */
typedef struct exchange {
    chsm_buf body;
    int spill_fd;
    size_t received;
    int too_big;
    int failed;     /* could not store the body */
    void *observed; /* the spill observer's state, or NULL */
    struct timespec started;
    char spill_path[1200]; /* last: a new exchange zeroes only what comes before */
} exchange;

int chsm_http_tls_supported(void)
{
    return MHD_is_feature_supported(MHD_FEATURE_TLS) == MHD_YES;
}

/* Keep the URL and arguments as sent: the router decodes each segment itself,
 * so an encoded '/' or '..' can be told apart from a real one. */
static size_t keep_escaped(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    return strlen(s);
}

/* What collect_header fills: the request, and whether a header was unacceptable. */
typedef struct header_walk {
    chsm_request *req;
    int bad;
} header_walk;

/* header_chars_ok: a header name is an RFC 9110 token; a value has no control characters
 * other than tab (a NUL would cut the C string short: "HSM-Session <token>\0junk"). */
static int header_chars_ok(const char *key, size_t key_size, const char *value, size_t value_size)
{
    if (key_size == 0)
        return 0;
    for (size_t i = 0; i < key_size; i++) {
        unsigned char c = (unsigned char)key[i];
        if (!isalnum(c) && !strchr("!#$%&'*+-.^_`|~", c))
            return 0;
    }
    for (size_t i = 0; i < value_size; i++) {
        unsigned char c = (unsigned char)value[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return 0;
    }
    return 1;
}

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      size_t key_size, const char *value, size_t value_size)
{
    (void)kind;
    header_walk *w = cls;
    if (!header_chars_ok(key, key_size, value ? value : "", value ? value_size : 0))
        w->bad = 1;
    return chsm_request_add_header(w->req, key, value ? value : "") == CHSM_OK ? MHD_YES : MHD_NO;
}

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void)kind;
    chsm_request *req = cls;
    char *k = chsm_percent_decode(key, strlen(key));
    char *v = value ? chsm_percent_decode(value, strlen(value)) : chsm_strdup("");
    int rc = (k && v) ? chsm_request_add_query(req, k, v) : CHSM_EINVAL;
    free(k);
    free(v);
    /* A parameter that does not decode is left out; the caller sees the count
     * fall short and answers 400. */
    return rc == CHSM_OK ? MHD_YES : MHD_NO;
}

static int host_is_safe(const char *host)
{
    size_t n = strlen(host);
    if (n == 0 || n > 200)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)host[i];
        if (!isalnum(c) && !strchr(".-:[]_", c))
            return 0;
    }
    return 1;
}

static void exchange_free(chsm_listener *l, exchange *x)
{
    if (!x)
        return;
    if (x->observed)
        l->cfg.spill_observer->end(x->observed);
    chsm_buf_free(&x->body);
    if (x->spill_fd >= 0)
        close(x->spill_fd);
    if (x->spill_path[0])
        unlink(x->spill_path);
    free(x);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)c;
    (void)toe;
    exchange_free(cls, *con_cls);
    *con_cls = NULL;
}

static const char *probe_header(const chsm_body_probe *p, const char *name)
{
    return MHD_lookup_connection_value(p->conn, MHD_HEADER_KIND, name);
}

static const char *probe_query(const chsm_body_probe *p, const char *name)
{
    return MHD_lookup_connection_value(p->conn, MHD_GET_ARGUMENT_KIND, name);
}

static int append_body(chsm_listener *l, struct MHD_Connection *c, const char *url,
                       const char *method, exchange *x, const char *data, size_t n)
{
    if (x->received + n > l->cfg.body_limit) {
        x->too_big = 1;
        return 0;
    }
    x->received += n;
    if (x->spill_fd < 0 && l->cfg.spill_threshold && x->body.len + n > l->cfg.spill_threshold) {
        snprintf(x->spill_path, sizeof x->spill_path, "%s/body-XXXXXX", l->cfg.spill_dir);
        x->spill_fd = mkstemp(x->spill_path);
        if (x->spill_fd < 0) {
            x->spill_path[0] = '\0';
            x->failed = 1;
            return 0;
        }
        if (x->body.len && write(x->spill_fd, x->body.data, x->body.len) != (ssize_t)x->body.len) {
            x->failed = 1;
            return 0;
        }
        if (l->cfg.spill_observer) {
            chsm_body_probe probe = {method, url, x->spill_fd, probe_header, probe_query, c};
            x->observed = l->cfg.spill_observer->begin(l->cfg.ctx, &probe);
            if (x->observed && x->body.len)
                l->cfg.spill_observer->wrote(x->observed, x->body.len);
        }
        chsm_buf_free(&x->body);
    }
    if (x->spill_fd >= 0) {
        while (n > 0) {
            ssize_t w = write(x->spill_fd, data, n);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                x->failed = 1;
                return 0;
            }
            data += w;
            n -= (size_t)w;
            if (x->observed)
                l->cfg.spill_observer->wrote(x->observed, (size_t)w);
        }
        return 1;
    }
    chsm_buf_append(&x->body, data, n);
    if (x->body.failed)
        x->failed = 1;
    return !x->failed;
}

/* early_error answers before any dispatch, in the listener's own error format:
 * the ARM envelope, or the Blob service's XML with x-ms-error-code. */
static void early_error(const chsm_listener *l, chsm_response *res, int status,
                        const char *arm_code, const char *blob_code, const char *message)
{
    chsm_buf b = {0};
    if (l->cfg.kind == CHSM_LISTENER_BLOB) {
        chsm_buf_printf(&b,
                        "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>%s</Code>"
                        "<Message>%s</Message></Error>",
                        blob_code, message);
        chsm_response_header(res, "x-ms-error-code", blob_code, 1);
        size_t n = b.len;
        chsm_response_set_body(res, status, "application/xml", chsm_buf_steal(&b), n);
    } else {
        chsm_buf_printf(&b, "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}", arm_code, message);
        size_t n = b.len;
        chsm_response_set_body(res, status, "application/json; charset=utf-8", chsm_buf_steal(&b),
                               n);
    }
}

static enum MHD_Result send_plain(struct MHD_Connection *c, unsigned int status, const char *json)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(json), (void *)json, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "application/json; charset=utf-8");
    MHD_add_response_header(r, "Connection", "close");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static void build_base_url(chsm_listener *l, chsm_request *req)
{
    const char *host = chsm_request_header(req, "Host");
    const char *scheme = l->tls ? "https" : "http";
    if (host && host_is_safe(host))
        snprintf(req->base_url, sizeof req->base_url, "%s://%s", scheme, host);
    else
        snprintf(req->base_url, sizeof req->base_url, "%s://127.0.0.1:%d", scheme, l->port);
}

static enum MHD_Result send_response(struct MHD_Connection *c, chsm_response *res)
{
    struct MHD_Response *r;
    if (res->body_fd >= 0) {
        r = MHD_create_response_from_fd_at_offset64(res->body_fd_len, res->body_fd,
                                                    res->body_fd_offset);
        if (r)
            res->body_fd = -1; /* libmicrohttpd closes it */
    } else {
        r = MHD_create_response_from_buffer(res->body_len, res->body ? res->body : (void *)"",
                                            res->body ? MHD_RESPMEM_MUST_FREE
                                                      : MHD_RESPMEM_PERSISTENT);
        if (r)
            res->body = NULL;
    }
    if (!r)
        return MHD_NO;
    for (size_t i = 0; i < res->nheaders; i++) {
        /* libmicrohttpd sets these from the body itself. */
        if (chsm_streq_ci(res->headers[i].name, "Content-Length"))
            continue;
        MHD_add_response_header(r, res->headers[i].name, res->headers[i].value);
    }
    if (res->close_connection)
        MHD_add_response_header(r, "Connection", "close");
    enum MHD_Result ret = MHD_queue_response(c, (unsigned int)res->status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
    (void)version;
    chsm_listener *l = cls;
    exchange *x = *con_cls;
    if (!x) {
        /* Not calloc: spill_path is long and only read once a body spills. */
        x = malloc(sizeof *x);
        if (!x)
            return MHD_NO;
        memset(x, 0, offsetof(exchange, spill_path));
        x->spill_path[0] = '\0';
        x->spill_fd = -1;
        clock_gettime(CLOCK_MONOTONIC, &x->started);
        *con_cls = x;
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > l->cfg.body_limit)
            x->too_big = 1;
        else
            return MHD_YES;
    }
    if (*upload_size > 0) {
        if (!x->too_big && !x->failed)
            append_body(l, c, url, method, x, upload_data, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (x->too_big) {
        char msg[160];
        snprintf(msg, sizeof msg, "The request body is larger than the limit of %zu bytes.",
                 l->cfg.body_limit);
        chsm_response res;
        chsm_response_init(&res);
        early_error(l, &res, 413, "RequestEntityTooLarge", "RequestBodyTooLarge", msg);
        res.close_connection = 1;
        enum MHD_Result ret = send_response(c, &res);
        chsm_response_free(&res);
        return ret;
    }
    if (x->failed)
        return send_plain(c, 500,
                          "{\"error\":{\"code\":\"InternalServerError\",\"message\":\"The "
                          "request body could not be stored.\"}}");

    chsm_request req;
    chsm_request_init(&req, l->cfg.app, method);
    req.listener = l->cfg.kind;
    chsm_response res;
    chsm_response_init(&res);
    /* With --seed every id this request makes comes from its own stream. */
    char ids_context[32];
    chsm_ids_frame ids_saved;
    chsm_ids_next_request_context(ids_context, sizeof ids_context);
    chsm_ids_enter(ids_context, &ids_saved);
    chsm_uuid(req.request_id);
    int bad = strlen(method) >= sizeof req.method;
    header_walk hw = {&req, 0};
    MHD_get_connection_values_n(c, MHD_HEADER_KIND, collect_header, &hw);
    size_t nargs = (size_t)MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, NULL, NULL);
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_arg, &req);
    if (req.nquery != nargs)
        bad = 1;
    if (chsm_request_set_path(&req, url) != CHSM_OK)
        bad = 1;
    build_base_url(l, &req);
    if (x->spill_fd >= 0) {
        if (l->cfg.fsync_spill)
            fsync(x->spill_fd);
        req.body_path = x->spill_path;
        req.body_len = x->received;
        req.body_observed = x->observed;
    } else {
        req.body = (const unsigned char *)x->body.data;
        req.body_len = x->body.len;
    }
    chsm_response_header(&res, "x-ms-request-id", req.request_id, 1);
    const char *client_id = chsm_request_header(&req, "x-ms-client-request-id");
    if (client_id && strlen(client_id) <= 1024)
        chsm_response_header(&res, "x-ms-client-request-id", client_id, 1);
    if (hw.bad) {
        early_error(l, &res, 400, "InvalidHeader", "InvalidHeaderValue",
                    "A request header has an invalid name or a control character (such as NUL) "
                    "in its value.");
    } else if (bad) {
        early_error(l, &res, 400, "InvalidRequestUri", "InvalidUri",
                    "The request URI is malformed: a path segment or query parameter has an "
                    "invalid escape, a NUL byte, an encoded '/', or a '.' or '..' segment.");
    } else {
        l->cfg.dispatch(l->cfg.ctx, &req, &res);
    }
    struct timespec end;
    clock_gettime(CLOCK_MONOTONIC, &end);
    double ms = (double)(end.tv_sec - x->started.tv_sec) * 1000.0 +
                (double)(end.tv_nsec - x->started.tv_nsec) / 1e6;
    if (l->cfg.access_log)
        l->cfg.access_log(l->cfg.ctx, &req, &res, ms);
    chsm_ids_leave(&ids_saved);
    if (res.drop) {
        /* Fault injection: no answer. A reset sets SO_LINGER 0 so closing the
         * socket sends RST instead of FIN. */
        if (res.drop == CHSM_DROP_RESET) {
            const union MHD_ConnectionInfo *ci =
                MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
            if (ci) {
                struct linger lin = {1, 0};
                setsockopt(ci->connect_fd, SOL_SOCKET, SO_LINGER, &lin, sizeof lin);
            }
        }
        chsm_response_free(&res);
        chsm_request_free(&req);
        return MHD_NO;
    }
    enum MHD_Result ret = send_response(c, &res);
    chsm_response_free(&res);
    chsm_request_free(&req);
    return ret;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    /* libmicrohttpd reports client misbehaviour (resets, bad TLS) here; those
     * are not the emulator's errors, so they are kept quiet. */
    (void)cls;
    (void)fmt;
    (void)ap;
}

int chsm_listener_start(const chsm_listener_config *cfg, chsm_listener **out, char *err,
                        size_t errlen)
{
    *out = NULL;
    chsm_listener *l = calloc(1, sizeof *l);
    if (!l)
        return CHSM_ENOMEM;
    l->cfg = *cfg;
    l->tls = cfg->tls_cert_pem != NULL;

    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    unsigned int flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_USE_ITC;
    if (strchr(cfg->host, ':')) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)cfg->port);
        if (inet_pton(AF_INET6, cfg->host, &a6->sin6_addr) != 1) {
            snprintf(err, errlen, "invalid IPv6 listen address '%s'", cfg->host);
            free(l);
            return CHSM_EINVAL;
        }
        flags |= MHD_USE_IPv6;
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)cfg->port);
        const char *h = strcmp(cfg->host, "localhost") == 0 ? "127.0.0.1" : cfg->host;
        if (inet_pton(AF_INET, h, &a4->sin_addr) != 1) {
            snprintf(err, errlen, "invalid listen address '%s'", cfg->host);
            free(l);
            return CHSM_EINVAL;
        }
    }
    if (l->tls) {
        if (!chsm_http_tls_supported()) {
            snprintf(err, errlen, "libmicrohttpd was built without TLS; use --no-tls");
            free(l);
            return CHSM_EINVAL;
        }
        flags |= MHD_USE_TLS;
    }
    struct MHD_OptionItem opts[20];
    int n = 0;
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &ss};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE,
                                        cfg->threads > 0 ? cfg->threads : 1, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT,
                                        cfg->timeout_s > 0 ? cfg->timeout_s : 120, NULL};
    opts[n++] =
        (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT, HTTP_CONNECTION_MEMORY, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, HTTP_MAX_CONNECTIONS, NULL};
    /* Strict HTTP/1.1 parsing: no Host, whitespace in a header name or obsolete line folding
     * gets a 400 instead of a guess. */
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_STRICT_FOR_CLIENT, 1, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, l};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_UNESCAPE_CALLBACK, (intptr_t)keep_escaped, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, NULL};
    if (l->tls) {
        /* TLS 1.2 and 1.3 only: what the Azure SDKs and the CLI negotiate anyway. */
        opts[n++] =
            (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0,
                                    (void *)"NORMAL:-VERS-SSL3.0:-VERS-TLS1.0:-VERS-TLS1.1"};
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)cfg->tls_key_pem};
        opts[n++] =
            (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)cfg->tls_cert_pem};
    }
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};

    l->daemon = MHD_start_daemon(flags, (uint16_t)cfg->port, NULL, NULL, on_request, l,
                                 MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
    if (!l->daemon) {
        snprintf(err, errlen, "cannot listen on %s:%d (%s)", cfg->host, cfg->port,
                 errno ? strerror(errno) : "libmicrohttpd refused the configuration");
        free(l);
        return CHSM_EIO;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(l->daemon, MHD_DAEMON_INFO_BIND_PORT);
    l->port = info ? info->port : cfg->port;
    *out = l;
    return CHSM_OK;
}

int chsm_listener_port(const chsm_listener *l)
{
    return l->port;
}

void chsm_listener_quiesce(chsm_listener *l)
{
    if (l && l->daemon) {
        MHD_socket s = MHD_quiesce_daemon(l->daemon);
        if (s != MHD_INVALID_SOCKET)
            close(s);
    }
}

void chsm_listener_stop(chsm_listener *l)
{
    if (!l)
        return;
    if (l->daemon)
        MHD_stop_daemon(l->daemon);
    free(l);
}

/* floor.c - the floor for any ARM request on this stack: a libmicrohttpd server
 * configured as the emulator's listeners are (internal thread pool, epoll, the
 * same connection limits, optional TLS through GnuTLS) that answers every
 * request with a fixed 200 and a fixed JSON body, doing no other work.
 *
 *   chsm-bench-floor [--port N] [--threads N] [--body-bytes N]
 *                    [--tls-cert FILE --tls-key FILE]
 *
 * Listens on 127.0.0.1. Prints "port N" on stdout once listening (port 0 picks a free one) and
 * serves until SIGTERM or SIGINT. scripts/bench.sh starts it next to the
 * emulator and reports the emulator's ARM requests/s as a ratio of this. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FLOOR_MAX_BODY (1u << 20)
#define FLOOR_CONNECTION_MEMORY (64 * 1024)
#define FLOOR_MAX_CONNECTIONS 1024

static volatile sig_atomic_t floor_stop;

static void floor_on_signal(int sig)
{
    (void)sig;
    floor_stop = 1;
}

/* floor_read_file returns the whole file NUL-terminated (caller frees), or NULL. */
static char *floor_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *text = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        if (n >= 0 && fseek(f, 0, SEEK_SET) == 0) {
            text = malloc((size_t)n + 1);
            if (text && fread(text, 1, (size_t)n, f) != (size_t)n) {
                free(text);
                text = NULL;
            } else if (text) {
                text[n] = '\0';
            }
        }
    }
    fclose(f);
    return text;
}

/* floor_on_request answers 200 with the shared response once the request (and
 * any body) has been read, as a real handler would. */
static enum MHD_Result floor_on_request(void *cls, struct MHD_Connection *c, const char *url,
                                        const char *method, const char *version, const char *upload,
                                        size_t *upload_size, void **state)
{
    struct MHD_Response *res = cls;
    (void)url;
    (void)method;
    (void)version;
    (void)upload;
    if (*state == NULL) {
        *state = c; /* first call: headers only */
        return MHD_YES;
    }
    if (*upload_size) {
        *upload_size = 0; /* body bytes are read and dropped */
        return MHD_YES;
    }
    return MHD_queue_response(c, MHD_HTTP_OK, res);
}

static int floor_usage(void)
{
    fprintf(stderr, "usage: chsm-bench-floor [--port N] [--threads N] [--body-bytes N]\n"
                    "                        [--tls-cert FILE --tls-key FILE]\n");
    return 2;
}

int main(int argc, char **argv)
{
    int port = 0, threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    long body_bytes = 2;
    const char *cert_path = NULL, *key_path = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            return floor_usage();
        if (strcmp(a, "--port") == 0)
            port = atoi(v);
        else if (strcmp(a, "--threads") == 0)
            threads = atoi(v);
        else if (strcmp(a, "--body-bytes") == 0)
            body_bytes = atol(v);
        else if (strcmp(a, "--tls-cert") == 0)
            cert_path = v;
        else if (strcmp(a, "--tls-key") == 0)
            key_path = v;
        else
            return floor_usage();
        i++;
    }
    if (port < 0 || port > 65535 || threads < 1 || body_bytes < 2 ||
        body_bytes > (long)FLOOR_MAX_BODY || (!cert_path) != (!key_path))
        return floor_usage();

    /* A JSON object of the requested size: {"p":"xxx..."} padded out. */
    char *body = malloc((size_t)body_bytes);
    if (!body)
        return 1;
    memset(body, 'x', (size_t)body_bytes);
    if (body_bytes >= 8) {
        memcpy(body, "{\"p\":\"", 6);
        memcpy(body + body_bytes - 2, "\"}", 2);
    } else {
        body[0] = '{';
        body[body_bytes - 1] = '}';
    }
    struct MHD_Response *res =
        MHD_create_response_from_buffer((size_t)body_bytes, body, MHD_RESPMEM_MUST_FREE);
    if (!res)
        return 1;
    MHD_add_response_header(res, "Content-Type", "application/json; charset=utf-8");

    char *cert = NULL, *key = NULL;
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC;
    if (cert_path) {
        cert = floor_read_file(cert_path);
        key = floor_read_file(key_path);
        if (!cert || !key) {
            fprintf(stderr, "chsm-bench-floor: cannot read %s or %s\n", cert_path, key_path);
            return 1;
        }
        flags |= MHD_USE_TLS;
    }
    struct sockaddr_in addr; /* loopback only, like the emulator's default */
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_OptionItem opts[10];
    int n = 0;
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &addr};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, threads, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, 120, NULL};
    opts[n++] =
        (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT, FLOOR_CONNECTION_MEMORY, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, FLOOR_MAX_CONNECTIONS, NULL};
    if (cert) {
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, key};
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, cert};
    }
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    struct MHD_Daemon *d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, floor_on_request,
                                            res, MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "chsm-bench-floor: cannot listen on port %d\n", port);
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    printf("port %u\n", info ? (unsigned)info->port : (unsigned)port);
    fflush(stdout);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = floor_on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    while (!floor_stop)
        pause();
    MHD_stop_daemon(d);
    MHD_destroy_response(res);
    free(cert);
    free(key);
    return 0;
}

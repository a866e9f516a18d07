/* driver.c - the load flows wrk cannot express, over libcurl multi with
 * keep-alive connections (scripts/bench.sh runs it; results are one JSON
 * object on stdout).
 *
 *   chsm-bench-driver requests URL [options]
 *       send --count requests, --concurrency at a time; "{i}" in the URL or
 *       body is replaced by the request's index (unique names). Reports
 *       requests/s, latency percentiles and the status codes.
 *   chsm-bench-driver lro URL [options]
 *       start --count long-running operations (each answers 202/201/200 with
 *       a Location header), then poll every Location, --concurrency at a
 *       time, in rounds: until every one is done (non-202), or for
 *       --poll-seconds while they are in flight. Reports the start rate, the
 *       poll latency percentiles, errors, and the wall time of the whole.
 *
 * Options: --method M (GET; lro: POST), --header "Name: value" (repeatable),
 * --body TEXT, --count N (1), --concurrency C (1), --cacert FILE,
 * --poll-seconds S (lro: 0 = until all done), --save-body FILE (the last
 * response body of request/operation 0). A status >= 400 (or, for polls,
 * anything but 200/201/202/204) counts as an error. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define DRIVER_MAX_HEADERS 16
#define DRIVER_MAX_URL 2048

typedef struct driver_opts {
    const char *mode;
    const char *url;
    const char *method;
    const char *headers[DRIVER_MAX_HEADERS];
    int nheaders;
    const char *body;
    long count;
    long concurrency;
    const char *cacert;
    double poll_seconds;
    const char *save_body;
} driver_opts;

typedef struct driver_stats {
    double *lat_ms; /* one per completed exchange */
    long nlat;
    long cap;
    long errors;
    long status[6]; /* 1xx..5xx counts, [0] = transport failures */
} driver_stats;

/* One in-flight exchange. */
typedef struct driver_slot {
    CURL *easy;
    long index; /* request or operation index */
    double t0;  /* start, seconds */
    char *body; /* substituted request body (owned) */
    char *resp; /* response body (kept for --save-body) */
    size_t resp_len;
    char location[DRIVER_MAX_URL];
} driver_slot;

static double driver_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* driver_subst returns text with every "{i}" replaced by index (caller frees). */
static char *driver_subst(const char *text, long index)
{
    char num[32];
    int numlen = snprintf(num, sizeof num, "%ld", index);
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, "{i}")) != NULL; p += 3)
        n++;
    char *out = malloc(strlen(text) + n * (size_t)numlen + 1);
    if (!out)
        return NULL;
    char *w = out;
    for (const char *p = text; *p;) {
        if (strncmp(p, "{i}", 3) == 0) {
            memcpy(w, num, (size_t)numlen);
            w += numlen;
            p += 3;
        } else {
            *w++ = *p++;
        }
    }
    *w = '\0';
    return out;
}

static size_t driver_on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    driver_slot *s = userp;
    size_t n = size * nmemb;
    if (s->index == 0) { /* only operation 0's body can be saved */
        char *grown = realloc(s->resp, s->resp_len + n + 1);
        if (!grown)
            return 0;
        memcpy(grown + s->resp_len, data, n);
        s->resp = grown;
        s->resp_len += n;
        s->resp[s->resp_len] = '\0';
    }
    return n;
}

static size_t driver_on_header(char *data, size_t size, size_t nmemb, void *userp)
{
    driver_slot *s = userp;
    size_t n = size * nmemb;
    if (n > 9 && strncasecmp(data, "location:", 9) == 0) {
        const char *v = data + 9;
        size_t len = n - 9;
        while (len && (*v == ' ' || *v == '\t')) {
            v++;
            len--;
        }
        while (len && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
            len--;
        if (len < sizeof s->location) {
            memcpy(s->location, v, len);
            s->location[len] = '\0';
        }
    }
    return n;
}

static int driver_record(driver_stats *st, double ms, long status, int ok)
{
    if (st->nlat == st->cap) {
        long cap = st->cap ? st->cap * 2 : 1024;
        double *grown = realloc(st->lat_ms, (size_t)cap * sizeof *grown);
        if (!grown)
            return -1;
        st->lat_ms = grown;
        st->cap = cap;
    }
    st->lat_ms[st->nlat++] = ms;
    st->status[status >= 100 && status < 600 ? status / 100 : 0]++;
    if (!ok)
        st->errors++;
    return 0;
}

static int driver_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double driver_pct(const driver_stats *st, double p)
{
    if (st->nlat == 0)
        return 0;
    long i = (long)(p * (double)(st->nlat - 1) + 0.5);
    return st->lat_ms[i];
}

static void driver_print_stats(const char *name, driver_stats *st, double seconds)
{
    qsort(st->lat_ms, (size_t)st->nlat, sizeof *st->lat_ms, driver_cmp);
    printf("\"%s\":{\"count\":%ld,\"errors\":%ld,\"seconds\":%.4f,\"rps\":%.1f,"
           "\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,"
           "\"status\":{\"fail\":%ld,\"1xx\":%ld,\"2xx\":%ld,\"3xx\":%ld,\"4xx\":%ld,\"5xx\":%ld}}",
           name, st->nlat, st->errors, seconds, seconds > 0 ? (double)st->nlat / seconds : 0,
           driver_pct(st, 0.5), driver_pct(st, 0.9), driver_pct(st, 0.99),
           st->nlat ? st->lat_ms[st->nlat - 1] : 0, st->status[0], st->status[1], st->status[2],
           st->status[3], st->status[4], st->status[5]);
}

/* driver_prepare sets up slot s's easy handle for one exchange. */
static int driver_prepare(const driver_opts *o, struct curl_slist *hdrs, driver_slot *s,
                          const char *url, const char *method, const char *body)
{
    CURL *e = s->easy;
    curl_easy_reset(e);
    s->resp_len = 0;
    s->location[0] = '\0';
    free(s->body);
    s->body = NULL;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, driver_on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, driver_on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, s);
    curl_easy_setopt(e, CURLOPT_PRIVATE, s);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    if (o->cacert)
        curl_easy_setopt(e, CURLOPT_CAINFO, o->cacert);
    if (strcmp(method, "GET") != 0)
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        s->body = driver_subst(body, s->index);
        if (!s->body)
            return -1;
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, s->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(s->body));
    } else if (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, 0L);
    }
    s->t0 = driver_now();
    return 0;
}

typedef struct driver_run {
    const driver_opts *o;
    struct curl_slist *hdrs;
    CURLM *multi;
    driver_slot *slots;
    long nslots;
} driver_run;

/* Phase callbacks: next() fills the slot with the next exchange (0) or says
 * there is none (1); done() consumes a finished exchange. */
typedef int (*driver_next_fn)(driver_run *r, driver_slot *s, void *ctx);
typedef int (*driver_done_fn)(driver_run *r, driver_slot *s, long status, int transport_ok,
                              void *ctx);

/* driver_phase keeps up to nslots exchanges in flight until next() runs dry. */
static int driver_phase(driver_run *r, driver_next_fn next, driver_done_fn done, void *ctx)
{
    long active = 0;
    for (long i = 0; i < r->nslots; i++) {
        int rc = next(r, &r->slots[i], ctx);
        if (rc < 0)
            return -1;
        if (rc == 0) {
            curl_multi_add_handle(r->multi, r->slots[i].easy);
            active++;
        }
    }
    while (active > 0) {
        int running = 0;
        if (curl_multi_perform(r->multi, &running) != CURLM_OK)
            return -1;
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(r->multi, &left)) != NULL) {
            if (m->msg != CURLMSG_DONE)
                continue;
            CURL *e = m->easy_handle;
            driver_slot *s = NULL;
            curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&s);
            long status = 0;
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
            int ok = m->data.result == CURLE_OK;
            if (!ok)
                fprintf(stderr, "chsm-bench-driver: %s\n", curl_easy_strerror(m->data.result));
            curl_multi_remove_handle(r->multi, e);
            active--;
            if (done(r, s, status, ok, ctx) < 0)
                return -1;
            int rc = next(r, s, ctx);
            if (rc < 0)
                return -1;
            if (rc == 0) {
                curl_multi_add_handle(r->multi, e);
                active++;
            }
        }
        if (active > 0 && curl_multi_poll(r->multi, NULL, 0, 1000, NULL) != CURLM_OK)
            return -1;
    }
    return 0;
}

static int driver_save(const driver_opts *o, const driver_slot *s)
{
    if (!o->save_body || s->index != 0)
        return 0;
    FILE *f = fopen(o->save_body, "wb");
    if (!f)
        return -1;
    fwrite(s->resp ? s->resp : "", 1, s->resp_len, f);
    return fclose(f) == 0 ? 0 : -1;
}

/* ---- requests mode ---- */

typedef struct req_ctx {
    long issued;
    driver_stats st;
} req_ctx;

static int req_next(driver_run *r, driver_slot *s, void *vctx)
{
    req_ctx *c = vctx;
    if (c->issued >= r->o->count)
        return 1;
    s->index = c->issued++;
    char *url = driver_subst(r->o->url, s->index);
    if (!url)
        return -1;
    int rc = driver_prepare(r->o, r->hdrs, s, url, r->o->method, r->o->body);
    free(url); /* libcurl copies the URL */
    return rc;
}

static int req_done(driver_run *r, driver_slot *s, long status, int ok, void *vctx)
{
    req_ctx *c = vctx;
    if (driver_save(r->o, s) < 0)
        return -1;
    return driver_record(&c->st, (driver_now() - s->t0) * 1000, status, ok && status < 400);
}

/* ---- lro mode ---- */

typedef struct lro_op {
    char *location; /* NULL once done */
} lro_op;

typedef struct lro_ctx {
    lro_op *ops;
    long started; /* start phase: next index */
    long cursor;  /* poll phase: next op to look at in this round */
    long pending; /* ops not yet done */
    double deadline;
    driver_stats start_st;
    driver_stats poll_st;
} lro_ctx;

static int lro_start_next(driver_run *r, driver_slot *s, void *vctx)
{
    lro_ctx *c = vctx;
    if (c->started >= r->o->count)
        return 1;
    s->index = c->started++;
    char *url = driver_subst(r->o->url, s->index);
    if (!url)
        return -1;
    int rc = driver_prepare(r->o, r->hdrs, s, url, r->o->method, r->o->body);
    free(url);
    return rc;
}

static int lro_start_done(driver_run *r, driver_slot *s, long status, int ok, void *vctx)
{
    lro_ctx *c = vctx;
    int good = ok && status >= 200 && status < 300;
    if (driver_record(&c->start_st, (driver_now() - s->t0) * 1000, status, good) < 0)
        return -1;
    if (good && s->location[0]) {
        c->ops[s->index].location = strdup(s->location);
        if (!c->ops[s->index].location)
            return -1;
        c->pending++;
    } else if (driver_save(r->o, s) < 0) {
        return -1;
    }
    return 0;
}

static int lro_poll_next(driver_run *r, driver_slot *s, void *vctx)
{
    lro_ctx *c = vctx;
    (void)r;
    if (c->pending == 0)
        return 1;
    if (r->o->poll_seconds > 0 && driver_now() >= c->deadline)
        return 1;
    /* The next op still in flight, wrapping around for the next round. */
    for (long tries = 0; tries < r->o->count; tries++) {
        long i = c->cursor;
        c->cursor = (c->cursor + 1) % r->o->count;
        if (c->ops[i].location && c->ops[i].location[0]) {
            s->index = i;
            /* Mark busy so no other slot polls the same op at once. */
            char *url = c->ops[i].location;
            c->ops[i].location = strdup("");
            if (!c->ops[i].location) {
                free(url);
                return -1;
            }
            int rc = driver_prepare(r->o, r->hdrs, s, url, "GET", NULL);
            free(s->body);
            s->body = url; /* keep the URL until done */
            return rc;
        }
    }
    return 1; /* every pending op is being polled by another slot */
}

static int lro_poll_done(driver_run *r, driver_slot *s, long status, int ok, void *vctx)
{
    lro_ctx *c = vctx;
    int good = ok && (status == 200 || status == 201 || status == 202 || status == 204);
    if (driver_record(&c->poll_st, (driver_now() - s->t0) * 1000, status, good) < 0)
        return -1;
    lro_op *op = &c->ops[s->index];
    free(op->location);
    op->location = NULL;
    if (ok && status == 202) {
        op->location = s->location[0] ? strdup(s->location) : s->body;
        if (op->location == s->body)
            s->body = NULL;
        if (!op->location)
            return -1;
    } else {
        c->pending--;
        if (driver_save(r->o, s) < 0)
            return -1;
    }
    return 0;
}

static int driver_usage(void)
{
    fprintf(stderr,
            "usage: chsm-bench-driver requests|lro URL [--method M] [--header H]... [--body B]\n"
            "       [--count N] [--concurrency C] [--cacert F] [--poll-seconds S]\n"
            "       [--save-body FILE]\n");
    return 2;
}

int main(int argc, char **argv)
{
    driver_opts o = {.count = 1, .concurrency = 1};
    if (argc < 3)
        return driver_usage();
    o.mode = argv[1];
    o.url = argv[2];
    for (int i = 3; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            return driver_usage();
        if (strcmp(a, "--method") == 0)
            o.method = v;
        else if (strcmp(a, "--header") == 0 && o.nheaders < DRIVER_MAX_HEADERS)
            o.headers[o.nheaders++] = v;
        else if (strcmp(a, "--body") == 0)
            o.body = v;
        else if (strcmp(a, "--count") == 0)
            o.count = atol(v);
        else if (strcmp(a, "--concurrency") == 0)
            o.concurrency = atol(v);
        else if (strcmp(a, "--cacert") == 0)
            o.cacert = v;
        else if (strcmp(a, "--poll-seconds") == 0)
            o.poll_seconds = atof(v);
        else if (strcmp(a, "--save-body") == 0)
            o.save_body = v;
        else
            return driver_usage();
        i++;
    }
    int lro = strcmp(o.mode, "lro") == 0;
    if ((!lro && strcmp(o.mode, "requests") != 0) || o.count < 1 || o.concurrency < 1)
        return driver_usage();
    if (!o.method)
        o.method = lro ? "POST" : "GET";

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    struct curl_slist *hdrs = curl_slist_append(NULL, "Expect:");
    for (int i = 0; i < o.nheaders && hdrs; i++)
        hdrs = curl_slist_append(hdrs, o.headers[i]);
    driver_run r = {.o = &o, .hdrs = hdrs, .multi = curl_multi_init()};
    r.nslots = o.concurrency;
    r.slots = calloc((size_t)r.nslots, sizeof *r.slots);
    if (!hdrs || !r.multi || !r.slots)
        return 1;
    curl_multi_setopt(r.multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, o.concurrency);
    curl_multi_setopt(r.multi, CURLMOPT_MAXCONNECTS, o.concurrency);
    for (long i = 0; i < r.nslots; i++)
        if (!(r.slots[i].easy = curl_easy_init()))
            return 1;

    int rc = 0;
    double t0 = driver_now();
    if (!lro) {
        req_ctx c = {0};
        rc = driver_phase(&r, req_next, req_done, &c);
        double secs = driver_now() - t0;
        printf("{\"mode\":\"requests\",");
        driver_print_stats("requests", &c.st, secs);
        printf("}\n");
        free(c.st.lat_ms);
    } else {
        lro_ctx c = {0};
        c.ops = calloc((size_t)o.count, sizeof *c.ops);
        if (!c.ops)
            return 1;
        rc = driver_phase(&r, lro_start_next, lro_start_done, &c);
        double t1 = driver_now();
        c.deadline = t1 + o.poll_seconds;
        if (rc == 0)
            rc = driver_phase(&r, lro_poll_next, lro_poll_done, &c);
        double t2 = driver_now();
        printf("{\"mode\":\"lro\",\"operations\":%ld,\"in_flight_at_end\":%ld,"
               "\"wall_ms\":%.3f,",
               o.count, c.pending, (t2 - t0) * 1000);
        driver_print_stats("start", &c.start_st, t1 - t0);
        printf(",");
        driver_print_stats("poll", &c.poll_st, t2 - t1);
        printf("}\n");
        for (long i = 0; i < o.count; i++)
            free(c.ops[i].location);
        free(c.ops);
        free(c.start_st.lat_ms);
        free(c.poll_st.lat_ms);
    }
    for (long i = 0; i < r.nslots; i++) {
        curl_easy_cleanup(r.slots[i].easy);
        free(r.slots[i].body);
        free(r.slots[i].resp);
    }
    free(r.slots);
    curl_multi_cleanup(r.multi);
    curl_slist_free_all(hdrs);
    curl_global_cleanup();
    return rc == 0 ? 0 : 1;
}

/* test_read_cache.c - the ARM read cache: an entry answers only the same
 * request at the same generation and epoch, keeps the handler's headers, and
 * refuses what it must not hold. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "arm/read_cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void make_req(chsm_request *req, const char *base, const char *path, const char *auth)
{
    chsm_request_init(req, NULL, "GET");
    snprintf(req->base_url, sizeof req->base_url, "%s", base);
    assert_int_equal(chsm_request_set_path(req, path), 0);
    chsm_request_add_query(req, "api-version", "2025-03-31");
    if (auth)
        chsm_request_add_header(req, "Authorization", auth);
}

static const chsm_route route = {"GET", "/subscriptions/{s}/resourcegroups/{rg}",
                                 NULL,  "resourceGroups/read",
                                 NULL,  CHSM_ROUTE_CACHEABLE};

/* put and serve build the request's key as the pipeline does. */
static void put(chsm_read_cache *c, uint64_t gen, int64_t until, const chsm_request *req,
                const chsm_response *res)
{
    chsm_read_cache_key k;
    assert_int_equal(chsm_read_cache_key_make(req, &k), 0);
    chsm_read_cache_put(c, gen, until, &k, &route, res, 1);
    chsm_read_cache_key_free(&k);
}

static int serve(chsm_read_cache *c, uint64_t gen, int64_t now, const chsm_request *req,
                 chsm_response *out)
{
    chsm_read_cache_key k;
    assert_int_equal(chsm_read_cache_key_make(req, &k), 0);
    const chsm_route *hit = chsm_read_cache_serve(c, gen, now, &k, out);
    chsm_read_cache_key_free(&k);
    if (hit)
        assert_ptr_equal(hit, &route);
    return hit != NULL;
}

static void answer(chsm_response *res, const char *body)
{
    chsm_response_init(res);
    chsm_response_header(res, "x-ms-correlation-request-id", "pipeline", 1);
    chsm_response_set_text(res, 200, "application/json; charset=utf-8", body);
    chsm_response_header(res, "ETag", "\"7\"", 1);
}

static void test_hit_and_misses(void **state)
{
    (void)state;
    chsm_read_cache *c = chsm_read_cache_new();
    chsm_request req;
    make_req(&req, "https://127.0.0.1:8443", "/subscriptions/s/resourcegroups/rg", "Bearer a");
    chsm_response res;
    answer(&res, "{\"name\":\"rg\"}");
    put(c, 5, INT64_MAX, &req, &res);
    chsm_response_free(&res);

    chsm_response out;
    chsm_response_init(&out);
    assert_int_equal(serve(c, 5, 0, &req, &out), 1);
    assert_int_equal(out.status, 200);
    assert_int_equal(out.body_len, strlen("{\"name\":\"rg\"}"));
    assert_memory_equal(out.body, "{\"name\":\"rg\"}", out.body_len);
    assert_string_equal(chsm_response_find_header(&out, "ETag"), "\"7\"");
    assert_non_null(strstr(chsm_response_find_header(&out, "Content-Type"), "json"));
    /* Headers the pipeline set before the handler are not part of the entry. */
    assert_null(chsm_response_find_header(&out, "x-ms-correlation-request-id"));
    chsm_response_free(&out);

    /* Another generation, token, host or path: no answer. */
    chsm_response_init(&out);
    assert_int_equal(serve(c, 6, 0, &req, &out), 0);
    chsm_request other;
    make_req(&other, "https://127.0.0.1:8443", "/subscriptions/s/resourcegroups/rg", "Bearer b");
    assert_int_equal(serve(c, 5, 0, &other, &out), 0);
    chsm_request_free(&other);
    make_req(&other, "https://localhost:8443", "/subscriptions/s/resourcegroups/rg", "Bearer a");
    assert_int_equal(serve(c, 5, 0, &other, &out), 0);
    chsm_request_free(&other);
    make_req(&other, "https://127.0.0.1:8443", "/subscriptions/s/resourcegroups/rh", "Bearer a");
    assert_int_equal(serve(c, 5, 0, &other, &out), 0);
    chsm_request_free(&other);

    /* A decoded query value holding '&' and '=' is not the same request as two parameters. */
    chsm_request_init(&other, NULL, "GET");
    snprintf(other.base_url, sizeof other.base_url, "%s", "https://127.0.0.1:8443");
    assert_int_equal(chsm_request_set_path(&other, "/subscriptions/s/resourcegroups/rg"), 0);
    chsm_request_add_query(&other, "api-version", "2025-03-31");
    chsm_request_add_query(&other, "x", "1");
    chsm_request_add_header(&other, "Authorization", "Bearer a");
    answer(&res, "{\"two\":true}");
    put(c, 5, INT64_MAX, &other, &res);
    chsm_response_free(&res);
    chsm_request_free(&other);
    chsm_request_init(&other, NULL, "GET");
    snprintf(other.base_url, sizeof other.base_url, "%s", "https://127.0.0.1:8443");
    assert_int_equal(chsm_request_set_path(&other, "/subscriptions/s/resourcegroups/rg"), 0);
    chsm_request_add_query(&other, "api-version", "2025-03-31&x=1");
    chsm_request_add_header(&other, "Authorization", "Bearer a");
    assert_int_equal(serve(c, 5, 0, &other, &out), 0);
    chsm_request_free(&other);

    /* Invalidate forgets everything. */
    chsm_read_cache_invalidate(c);
    assert_int_equal(serve(c, 5, 0, &req, &out), 0);
    chsm_response_free(&out);
    chsm_request_free(&req);
    chsm_read_cache_free(c);
}

static void test_token_expiry_and_long_keys(void **state)
{
    (void)state;
    chsm_read_cache *c = chsm_read_cache_new();
    /* A token longer than the key's stack space (real Entra ID tokens run to 2-3 KB). */
    char auth[5000] = "Bearer ";
    memset(auth + 7, 'x', sizeof auth - 8);
    auth[sizeof auth - 1] = '\0';
    chsm_request req;
    make_req(&req, "https://127.0.0.1:8443", "/subscriptions/s/resourcegroups/rg", auth);
    chsm_response res, out;
    answer(&res, "{\"name\":\"rg\"}");
    put(c, 3, 1000, &req, &res); /* the token that authorised it expires at 1000 ms */
    chsm_response_free(&res);
    chsm_response_init(&out);
    assert_int_equal(serve(c, 3, 999, &req, &out), 1);
    chsm_response_free(&out);
    chsm_response_init(&out);
    assert_int_equal(serve(c, 3, 1000, &req, &out), 1);
    chsm_response_free(&out);
    /* Past the token's expiry the entry is not used: the pipeline checks the token again. */
    chsm_response_init(&out);
    assert_int_equal(serve(c, 3, 1001, &req, &out), 0);
    assert_null(out.body);
    chsm_response_free(&out);
    /* The same long token with one byte changed is another key. */
    chsm_request other;
    auth[4000] = 'y';
    make_req(&other, "https://127.0.0.1:8443", "/subscriptions/s/resourcegroups/rg", auth);
    chsm_response_init(&out);
    assert_int_equal(serve(c, 3, 0, &other, &out), 0);
    chsm_response_free(&out);
    chsm_request_free(&other);
    chsm_request_free(&req);
    chsm_read_cache_free(c);
}

static void test_refuses(void **state)
{
    (void)state;
    chsm_read_cache *c = chsm_read_cache_new();
    chsm_request req;
    make_req(&req, "http://127.0.0.1:1", "/x", NULL);
    chsm_response res, out;
    /* Bodies over the limit are not kept. */
    char *big = malloc(64 * 1024 + 1);
    memset(big, 'a', 64 * 1024);
    big[64 * 1024] = '\0';
    answer(&res, big);
    free(big);
    put(c, 1, INT64_MAX, &req, &res);
    chsm_response_free(&res);
    chsm_response_init(&out);
    assert_int_equal(serve(c, 1, 0, &req, &out), 0);
    /* Nor answers that drop the connection. */
    answer(&res, "{}");
    res.close_connection = 1;
    put(c, 1, INT64_MAX, &req, &res);
    chsm_response_free(&res);
    assert_int_equal(serve(c, 1, 0, &req, &out), 0);
    chsm_response_free(&out);
    chsm_request_free(&req);
    chsm_read_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hit_and_misses),
        cmocka_unit_test(test_token_expiry_and_long_keys),
        cmocka_unit_test(test_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

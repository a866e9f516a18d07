/* test_router.c - route templates, case-insensitive segments, captures, 404/405. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "http/message.h"
#include "router/router.h"
#include "util/status.h"

#include <string.h>

static void h_rg(chsm_request *req, chsm_response *res)
{
    (void)req;
    (void)res;
}
static void h_scope(chsm_request *req, chsm_response *res)
{
    (void)req;
    (void)res;
}

static const chsm_route routes[] = {
    {"PUT", "/subscriptions/{sub}/resourcegroups/{rg}", h_rg, "rg/write", NULL, 0},
    {"GET", "/subscriptions/{sub}/resourcegroups/{rg}", h_rg, "rg/read", NULL, 0},
    {"GET", "/{*scope}/providers/Microsoft.Authorization/roleAssignments/{name}", h_scope,
     "ra/read", NULL, 0},
};

static int match(chsm_router *r, const char *method, const char *path, chsm_request *req,
                 const chsm_route **route)
{
    chsm_request_init(req, NULL, method);
    assert_int_equal(chsm_request_set_path(req, path), CHSM_OK);
    char allow[64];
    return chsm_router_match(r, req, route, allow, sizeof allow);
}

static void test_literal_case_insensitive_and_names_kept(void **state)
{
    (void)state;
    chsm_router *r = chsm_router_new();
    assert_int_equal(chsm_router_add(r, routes, 3), CHSM_OK);
    chsm_request req;
    const chsm_route *route;
    assert_int_equal(match(r, "GET", "/SUBSCRIPTIONS/s1/resourceGroups/MyRG", &req, &route),
                     CHSM_OK);
    assert_string_equal(route->operation, "rg/read");
    assert_string_equal(chsm_request_param(&req, "rg"), "MyRG");
    assert_string_equal(chsm_request_param(&req, "sub"), "s1");
    chsm_request_free(&req);
    chsm_router_free(r);
}

static void test_greedy_scope_capture(void **state)
{
    (void)state;
    chsm_router *r = chsm_router_new();
    chsm_router_add(r, routes, 3);
    chsm_request req;
    const chsm_route *route;
    assert_int_equal(match(r, "GET",
                           "/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/"
                           "storageAccounts/a/providers/Microsoft.Authorization/roleAssignments/x",
                           &req, &route),
                     CHSM_OK);
    assert_string_equal(chsm_request_param(&req, "scope"),
                        "subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/"
                        "storageAccounts/a");
    assert_string_equal(chsm_request_param(&req, "name"), "x");
    chsm_request_free(&req);
    chsm_router_free(r);
}

static void test_405_and_404(void **state)
{
    (void)state;
    chsm_router *r = chsm_router_new();
    chsm_router_add(r, routes, 3);
    chsm_request req;
    const chsm_route *route;
    chsm_request_init(&req, NULL, "DELETE");
    chsm_request_set_path(&req, "/subscriptions/s/resourcegroups/g");
    char allow[64];
    assert_int_equal(chsm_router_match(r, &req, &route, allow, sizeof allow), CHSM_ECONFLICT);
    assert_non_null(strstr(allow, "PUT"));
    assert_non_null(strstr(allow, "GET"));
    chsm_request_free(&req);
    assert_int_equal(match(r, "GET", "/subscriptions/s/resourcegroups", &req, &route),
                     CHSM_ENOTFOUND);
    chsm_request_free(&req);
    assert_int_equal(match(r, "GET", "/subscriptions/s/resourcegroups/g/extra", &req, &route),
                     CHSM_ENOTFOUND);
    chsm_request_free(&req);
    chsm_router_free(r);
}

static void test_head_falls_back_to_get(void **state)
{
    (void)state;
    chsm_router *r = chsm_router_new();
    chsm_router_add(r, routes, 3);
    chsm_request req;
    const chsm_route *route;
    assert_int_equal(match(r, "HEAD", "/subscriptions/s/resourcegroups/g", &req, &route), CHSM_OK);
    assert_string_equal(route->operation, "rg/read");
    chsm_request_free(&req);
    chsm_router_free(r);
}

static void test_path_decoding_rejects_tricks(void **state)
{
    (void)state;
    chsm_request req;
    const char *bad[] = {"/a/%2F/b", "/a/../b", "/a/./b",   "/a/%2e%2e/b", "/a/b%00",
                         "/a/%zz",   "/a/%5c",  "relative", "/a/%"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        chsm_request_init(&req, NULL, "GET");
        assert_int_not_equal(chsm_request_set_path(&req, bad[i]), CHSM_OK);
        chsm_request_free(&req);
    }
    chsm_request_init(&req, NULL, "GET");
    assert_int_equal(chsm_request_set_path(&req, "/a//b%20c/"), CHSM_OK);
    assert_int_equal(req.nsegments, 2);
    assert_string_equal(req.segments[1], "b c");
    chsm_request_free(&req);
}

static void test_query_parsing(void **state)
{
    (void)state;
    chsm_request req;
    chsm_request_init(&req, NULL, "GET");
    assert_int_equal(
        chsm_request_parse_query(&req, "api-version=2025-03-31&%24filter=a%20eq%20'b'&flag"),
        CHSM_OK);
    assert_string_equal(chsm_request_query(&req, "API-VERSION"), "2025-03-31");
    assert_string_equal(chsm_request_query(&req, "$filter"), "a eq 'b'");
    assert_string_equal(chsm_request_query(&req, "flag"), "");
    assert_null(chsm_request_query(&req, "missing"));
    assert_int_not_equal(chsm_request_parse_query(&req, "x=%G1"), CHSM_OK);
    chsm_request_free(&req);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literal_case_insensitive_and_names_kept),
        cmocka_unit_test(test_greedy_scope_capture),
        cmocka_unit_test(test_405_and_404),
        cmocka_unit_test(test_head_falls_back_to_get),
        cmocka_unit_test(test_path_decoding_rejects_tricks),
        cmocka_unit_test(test_query_parsing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

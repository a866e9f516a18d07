/* test_hostile_regressions.c - one test per defect the hostile input catalogue
 * (tests/hostile/, docs/reliability.md) found that can be shown without a socket:
 * each input used to be accepted (and stored) and must now get a 400 with
 * nothing written. The HTTP-level ones (strict HTTP/1.1 parsing, control
 * characters in header values) are cases in tests/hostile/cases.txt. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "app/app.h"
#include "util/json.h"
#include "util/status.h"
#include "util/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUB "/subscriptions/00000000-0000-0000-0000-0000000000a1"

static chsm_app *open_app(void)
{
    chsm_config cfg;
    chsm_config_defaults(&cfg);
    cfg.in_memory = 1;
    chsm_app *app = NULL;
    char err[256];
    assert_int_equal(chsm_app_open(&cfg, &app, err, sizeof err), CHSM_OK);
    return app;
}

/* call dispatches one ARM request with body (len bytes); returns the status. */
static int call(chsm_app *app, const char *method, const char *path, const char *query,
                const char *body, size_t len)
{
    chsm_request req;
    chsm_response res;
    chsm_request_init(&req, app, method);
    chsm_response_init(&res);
    snprintf(req.base_url, sizeof req.base_url, "https://127.0.0.1:8443");
    assert_int_equal(chsm_request_set_path(&req, path), CHSM_OK);
    if (query)
        assert_int_equal(chsm_request_parse_query(&req, query), CHSM_OK);
    chsm_request_add_header(&req, "Authorization", "Bearer opaque-token");
    chsm_request_add_header(&req, "Content-Type", "application/json");
    if (body) {
        req.body = (const unsigned char *)body;
        req.body_len = len;
    }
    chsm_app_dispatch(app, &req, &res);
    int status = res.status;
    chsm_request_free(&req);
    chsm_response_free(&res);
    return status;
}

static int put_rg(chsm_app *app, const char *name, const char *body, size_t len)
{
    char path[256];
    snprintf(path, sizeof path, SUB "/resourcegroups/%s", name);
    return call(app, "PUT", path, "api-version=2021-04-01", body, len);
}

static int get_rg(chsm_app *app, const char *name)
{
    char path[256];
    snprintf(path, sizeof path, SUB "/resourcegroups/%s", name);
    return call(app, "GET", path, "api-version=2021-04-01", NULL, 0);
}

static void test_utf8_valid(void **state)
{
    (void)state;
    assert_true(chsm_utf8_valid("plain ascii", 11));
    const char *mixed = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";
    assert_true(chsm_utf8_valid(mixed, strlen(mixed)));
    assert_false(chsm_utf8_valid("\xff\xfe", 2));         /* never in UTF-8 */
    assert_false(chsm_utf8_valid("\xc0\xae", 2));         /* overlong '.' */
    assert_false(chsm_utf8_valid("\xe0\x80\xaf", 3));     /* overlong '/' */
    assert_false(chsm_utf8_valid("\xed\xa0\x80", 3));     /* surrogate U+D800 */
    assert_false(chsm_utf8_valid("\xf4\x90\x80\x80", 4)); /* beyond U+10FFFF */
    assert_false(chsm_utf8_valid("\xe2\x82", 2));         /* cut short */
    assert_false(chsm_utf8_valid("a\x80", 2));            /* stray continuation */
    assert_true(chsm_utf8_valid("a\0b", 3));              /* NUL is UTF-8; JSON checks it */
}

static void test_json_parse_refuses(void **state)
{
    (void)state;
    char err[160];
    static const char *const bad[] = {
        "{\"a\":\"uk\xff\xfesouth\"}", "{\"a\":\"x\\u0000y\"}", "{\"a\":\"line\nbreak\"}",
        "{\"a\":\"tab\there\"}",       "{\"k\xc0\xae\":1}",     "{\"a\":\"\xed\xa0\x80\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cJSON *j = chsm_json_parse(bad[i], strlen(bad[i]), err, sizeof err);
        assert_null(j);
        assert_true(err[0] != '\0');
    }
    static const char nul_raw[] = "{\"a\":\"x\0y\"}";
    assert_null(chsm_json_parse(nul_raw, sizeof nul_raw - 1, err, sizeof err));
    /* Still fine: an escaped backslash before u0000, escaped control characters, UTF-8. */
    static const char *const good[] = {
        "{\"a\":\"\\\\u0000\"}",
        "{\"a\":\"\\n\\t\\u0001\"}",
        "{\"a\":\"caf\xc3\xa9\"}",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        cJSON *j = chsm_json_parse(good[i], strlen(good[i]), err, sizeof err);
        assert_non_null(j);
        cJSON_Delete(j);
    }
}

/* "uksouth\u0000evil" was read as "uksouth" and the group created; invalid UTF-8 was stored
 * and then made the state export invalid JSON. */
static void test_resource_group_bad_text(void **state)
{
    (void)state;
    chsm_app *app = open_app();
    const char *nul = "{\"location\":\"uksouth\\u0000evil\"}";
    assert_int_equal(put_rg(app, "g1", nul, strlen(nul)), 400);
    assert_int_equal(get_rg(app, "g1"), 404);
    const char *bytes = "{\"location\":\"uksouth\",\"tags\":{\"k\xc0\xae\":\"v\"}}";
    assert_int_equal(put_rg(app, "g2", bytes, strlen(bytes)), 400);
    assert_int_equal(get_rg(app, "g2"), 404);
    const char *ok = "{\"location\":\"uksouth\"}";
    assert_int_equal(put_rg(app, "g3", ok, strlen(ok)), 201);
    chsm_app_close(app);
}

/* Two api-versions: which one counted was left to the order of the query. */
static void test_duplicate_api_version(void **state)
{
    (void)state;
    chsm_app *app = open_app();
    const char *ok = "{\"location\":\"uksouth\"}";
    assert_int_equal(call(app, "PUT", SUB "/resourcegroups/g1",
                          "api-version=2021-04-01&api-version=1999-01-01", ok, strlen(ok)),
                     400);
    assert_int_equal(get_rg(app, "g1"), 404);
    chsm_app_close(app);
}

/* A storage account "kind" of the wrong JSON type was ignored (StorageV2 assumed); a
 * container's numeric publicAccess likewise; a virtual network's addressPrefixes string. */
static void test_wrong_json_types(void **state)
{
    (void)state;
    chsm_app *app = open_app();
    const char *rg = "{\"location\":\"uksouth\"}";
    assert_int_equal(put_rg(app, "rg", rg, strlen(rg)), 201);
    const char *acct = SUB "/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/hacct";
    const char *kind = "{\"sku\":{\"name\":\"Standard_LRS\"},\"kind\":7,\"location\":\"uksouth\"}";
    assert_int_equal(call(app, "PUT", acct, "api-version=2023-05-01", kind, strlen(kind)), 400);
    assert_int_equal(call(app, "GET", acct, "api-version=2023-05-01", NULL, 0), 404);
    const char *vnet = "{\"location\":\"uksouth\",\"properties\":{\"addressSpace\":"
                       "{\"addressPrefixes\":\"10.0.0.0/16\"}}}";
    const char *vpath = SUB "/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v";
    assert_int_equal(call(app, "PUT", vpath, "api-version=2023-09-01", vnet, strlen(vnet)), 400);
    assert_int_equal(call(app, "GET", vpath, "api-version=2023-09-01", NULL, 0), 404);
    chsm_app_close(app);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_valid),
        cmocka_unit_test(test_json_parse_refuses),
        cmocka_unit_test(test_resource_group_bad_text),
        cmocka_unit_test(test_duplicate_api_version),
        cmocka_unit_test(test_wrong_json_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

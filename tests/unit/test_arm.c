/* test_arm.c - ARM conventions: error envelope, api-version rule, names,
 * JSON body helpers and bearer token issue/verify. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "app/app.h"
#include "app/signing_key.h"
#include "arm/apiversion.h"
#include "arm/auth.h"
#include "arm/errors.h"
#include "arm/names.h"
#include "arm/resource.h"
#include "crypto/jwt.h"
#include "util/json.h"
#include "util/status.h"

#include <stdlib.h>
#include <string.h>

static cJSON *body_of(const chsm_response *res)
{
    return cJSON_ParseWithLength(res->body, res->body_len);
}

static void test_error_envelope(void **state)
{
    (void)state;
    chsm_response res;
    chsm_response_init(&res);
    chsm_arm_error_target(&res, 409, "Conflict", "name", "Thing '%s' exists.", "x");
    assert_int_equal(res.status, 409);
    assert_string_equal(chsm_response_find_header(&res, "content-type"),
                        "application/json; charset=utf-8");
    cJSON *b = body_of(&res);
    cJSON *e = cJSON_GetObjectItem(b, "error");
    assert_string_equal(chsm_json_str(e, "code"), "Conflict");
    assert_string_equal(chsm_json_str(e, "message"), "Thing 'x' exists.");
    assert_string_equal(chsm_json_str(e, "target"), "name");
    cJSON_Delete(b);
    chsm_response_free(&res);
}

static void test_api_version_rule(void **state)
{
    (void)state;
    static const char *const versions[] = {"2024-06-30-preview", "2025-03-31", NULL};
    chsm_route route = {"GET", "/x", NULL, "x", versions, 0};
    chsm_request req;
    chsm_response res;
    chsm_request_init(&req, NULL, "GET");
    chsm_response_init(&res);
    assert_int_equal(chsm_arm_check_api_version(&req, &route, 0, &res), 1);
    cJSON *b = body_of(&res);
    assert_string_equal(chsm_json_str(chsm_json_obj(b, "error"), "code"),
                        "MissingApiVersionParameter");
    cJSON_Delete(b);
    chsm_response_free(&res);

    chsm_request_add_query(&req, "api-version", "2020-01-01");
    chsm_response_init(&res);
    assert_int_equal(chsm_arm_check_api_version(&req, &route, 0, &res), 1);
    b = body_of(&res);
    assert_string_equal(chsm_json_str(chsm_json_obj(b, "error"), "code"),
                        "InvalidApiVersionParameter");
    assert_non_null(strstr(chsm_json_str(chsm_json_obj(b, "error"), "message"), "2025-03-31"));
    cJSON_Delete(b);
    chsm_response_free(&res);
    chsm_response_init(&res);
    assert_int_equal(chsm_arm_check_api_version(&req, &route, 1, &res), 0); /* --loose */
    chsm_request_free(&req);

    chsm_request_init(&req, NULL, "GET");
    chsm_request_add_query(&req, "api-version", "2025-03-31");
    assert_int_equal(chsm_arm_check_api_version(&req, &route, 0, &res), 0);
    chsm_request_free(&req);
    chsm_response_free(&res);
}

static void test_names(void **state)
{
    (void)state;
    assert_true(chsm_arm_valid_resource_group("my-RG_(1).x"));
    assert_false(chsm_arm_valid_resource_group("ends."));
    assert_false(chsm_arm_valid_resource_group(""));
    assert_false(chsm_arm_valid_resource_group("a/b"));
    assert_true(chsm_arm_valid_name("chsm-1", 3, 23, "-"));
    assert_false(chsm_arm_valid_name("ab", 3, 23, "-"));
    assert_false(chsm_arm_valid_name("-abc", 3, 23, "-"));
    assert_false(chsm_arm_valid_name("abc_d", 3, 23, "-"));
    assert_false(chsm_arm_valid_name("abcdefghijklmnopqrstuvwx", 3, 23, "-"));
    assert_true(chsm_arm_valid_subscription("00000000-0000-0000-0000-000000000000"));
    assert_false(chsm_arm_valid_subscription("a b"));
}

static void test_json_helpers(void **state)
{
    (void)state;
    char err[128];
    cJSON *j = chsm_json_parse("{\"Sku\":{\"Name\":\"Standard_B1\"}}", 30, err, sizeof err);
    assert_non_null(j);
    assert_string_equal(chsm_json_str(chsm_json_obj(j, "sku"), "name"), "Standard_B1");
    cJSON_Delete(j);
    assert_null(chsm_json_parse("{\"a\":1} x", 9, err, sizeof err));
    assert_null(chsm_json_parse("{\"a\":", 5, err, sizeof err));
    assert_null(chsm_json_parse("", 0, err, sizeof err));
}

static chsm_app *open_app(int strict)
{
    chsm_config cfg;
    chsm_config_defaults(&cfg);
    cfg.in_memory = 1;
    cfg.strict_auth = strict;
    chsm_app *app = NULL;
    char err[256];
    assert_int_equal(chsm_app_open(&cfg, &app, err, sizeof err), CHSM_OK);
    return app;
}

static void test_tokens(void **state)
{
    (void)state;
    chsm_app *app = open_app(1);
    char *tok = chsm_auth_issue_token(app, "tenant-1", "oid-1", "app-1",
                                      "https://management.azure.com/", 3600);
    assert_non_null(tok);
    chsm_principal p;
    char err[128];
    assert_int_equal(chsm_auth_principal_from_token(app, tok, 1, &p, err, sizeof err), CHSM_OK);
    assert_string_equal(p.oid, "oid-1");
    assert_string_equal(p.tid, "tenant-1");
    assert_string_equal(p.appid, "app-1");
    /* A tampered token fails strict verification. */
    char *bad = strdup(tok);
    char *dot = strchr(bad, '.');
    dot[3] = dot[3] == 'A' ? 'B' : 'A';
    assert_int_not_equal(chsm_auth_principal_from_token(app, bad, 1, &p, err, sizeof err), CHSM_OK);
    free(bad);
    /* Expired and wrong-audience tokens fail strict verification. */
    char *old = chsm_auth_issue_token(app, "t", "o", NULL, "https://management.azure.com/", -10);
    assert_int_equal(chsm_auth_principal_from_token(app, old, 1, &p, err, sizeof err),
                     CHSM_EDENIED);
    char *aud = chsm_auth_issue_token(app, "t", "o", NULL, "https://example.com/", 60);
    assert_int_equal(chsm_auth_principal_from_token(app, aud, 1, &p, err, sizeof err),
                     CHSM_EDENIED);
    /* A token signed by our key but naming another issuer fails strict verification. */
    cJSON *claims = cJSON_CreateObject();
    cJSON_AddStringToObject(claims, "iss", "https://evil.example/");
    cJSON_AddStringToObject(claims, "aud", "https://management.azure.com/");
    cJSON_AddNumberToObject(claims, "exp", 4102444800.0);
    char *foreign = chsm_crypto_jwt_sign(chsm_signing_key_get(app), claims);
    cJSON_Delete(claims);
    assert_int_equal(chsm_auth_principal_from_token(app, foreign, 1, &p, err, sizeof err),
                     CHSM_EDENIED);
    free(foreign);
    /* The default mode accepts opaque tokens but not malformed ones. */
    assert_int_equal(chsm_auth_principal_from_token(app, "opaque-token", 0, &p, err, sizeof err),
                     CHSM_OK);
    assert_string_equal(p.oid, CHSM_DEFAULT_OID);
    assert_int_equal(chsm_auth_principal_from_token(app, old, 0, &p, err, sizeof err), CHSM_OK);
    assert_string_equal(p.oid, "o");
    assert_int_not_equal(chsm_auth_principal_from_token(app, "a b", 0, &p, err, sizeof err),
                         CHSM_OK);
    assert_int_not_equal(chsm_auth_principal_from_token(app, "", 0, &p, err, sizeof err), CHSM_OK);
    free(tok);
    free(old);
    free(aud);
    chsm_app_close(app);
}

static void test_authenticate_header(void **state)
{
    (void)state;
    chsm_app *app = open_app(0);
    chsm_request req;
    chsm_response res;
    chsm_request_init(&req, app, "GET");
    chsm_response_init(&res);
    assert_int_equal(chsm_arm_authenticate(app, &req, &res), 1);
    assert_int_equal(res.status, 401);
    assert_non_null(chsm_response_find_header(&res, "WWW-Authenticate"));
    chsm_response_free(&res);
    chsm_request_add_header(&req, "authorization", "Bearer abc.def");
    chsm_response_init(&res);
    assert_int_equal(chsm_arm_authenticate(app, &req, &res), 0);
    assert_true(req.principal.authenticated);
    chsm_request_free(&req);
    chsm_response_free(&res);
    chsm_app_close(app);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_envelope), cmocka_unit_test(test_api_version_rule),
        cmocka_unit_test(test_names),          cmocka_unit_test(test_json_helpers),
        cmocka_unit_test(test_tokens),         cmocka_unit_test(test_authenticate_header),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

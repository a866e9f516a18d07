/* test_fuzz_regressions.c - one test per defect the libFuzzer harnesses in
 * tests/fuzz/ found (docs/reliability.md, "Fuzzing"). Leaks show only in the
 * sanitizer suite (scripts/test.sh runs these under ASan with leak checks);
 * every test also checks the answer the input must get. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "app/app.h"
#include "app/signing_key.h"
#include "arm/auth.h"
#include "control/fixtures.h"
#include "crypto/jwt.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/status.h"
#include "util/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* call dispatches one request; returns the status and the JSON body (caller frees). */
static int call(chsm_app *app, const char *method, const char *path, const char *query,
                const char *body, cJSON **out)
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
        req.body_len = strlen(body);
    }
    chsm_app_dispatch(app, &req, &res);
    int status = res.status;
    if (out)
        *out = res.body_len ? cJSON_ParseWithLength(res.body, res.body_len) : NULL;
    chsm_request_free(&req);
    chsm_response_free(&res);
    return status;
}

static const char *error_code(const cJSON *body)
{
    return chsm_json_str(cJSON_GetObjectItem(body, "error"), "code");
}

/* fuzz_request: a role assignment PUT at a scope whose resource group does not
 * exist leaked the re-parsed scope (authorization.c put_assignment). */
static void test_role_assignment_missing_group(void **state)
{
    (void)state;
    chsm_app *app = open_app();
    cJSON *b = NULL;
    int status = call(app, "PUT",
                      "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/"
                      "no-such-rg/providers/Microsoft.Authorization/roleAssignments/"
                      "6c2f9a4e-5b7d-4c1e-9f3a-2d8e7b6a5c41",
                      "api-version=2022-04-01",
                      "{\"properties\":{\"roleDefinitionId\":\"/subscriptions/"
                      "00000000-0000-0000-0000-000000000001/providers/Microsoft.Authorization/"
                      "roleDefinitions/ba92f5b4-2d11-453d-a403-e96b0029c9fe\",\"principalId\":"
                      "\"11111111-2222-3333-4444-555555555555\"}}",
                      &b);
    assert_int_equal(status, 404);
    assert_string_equal(error_code(b), "ResourceGroupNotFound");
    cJSON_Delete(b);
    chsm_app_close(app);
}

/* strict_with_exp signs {"aud":ARM,"iss":Entra,"exp":<exp_json>} with the app's key and
 * reads it in the strict mode. */
static int strict_with_exp(chsm_app *app, const char *exp_json)
{
    char text[256];
    snprintf(text, sizeof text,
             "{\"aud\":\"https://management.azure.com/\",\"iss\":"
             "\"https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/\",\"exp\":%s}",
             exp_json);
    cJSON *claims = cJSON_Parse(text);
    assert_non_null(claims);
    char *token = chsm_crypto_jwt_sign(chsm_signing_key_get(app), claims);
    cJSON_Delete(claims);
    assert_non_null(token);
    chsm_principal p;
    char err[256];
    int rc = chsm_auth_principal_from_token(app, token, 1, &p, err, sizeof err);
    free(token);
    return rc;
}

/* fuzz_jwt: a signed token whose exp is beyond int64 range (1e300, or 1e18
 * seconds, which overflows as milliseconds) was converted to an integer:
 * undefined behaviour, and on x86 the far future read as expired. */
static void test_strict_token_huge_exp(void **state)
{
    (void)state;
    chsm_app *app = open_app();
    assert_int_equal(strict_with_exp(app, "1e300"), CHSM_OK);
    assert_int_equal(strict_with_exp(app, "1e18"), CHSM_OK);
    assert_int_equal(strict_with_exp(app, "4102444800"), CHSM_OK);
    assert_int_equal(strict_with_exp(app, "-1e300"), CHSM_EDENIED);
    assert_int_equal(strict_with_exp(app, "1"), CHSM_EDENIED);
    chsm_app_close(app);
}

/* fuzz_request: POST /_emulator/clock with offsetSeconds 1e300 converted an
 * out-of-range double to int64 (undefined); such moves are now 400. */
static void test_clock_out_of_range(void **state)
{
    (void)state;
    chsm_app *app = open_app();
    static const char *const bad[] = {
        "{\"offsetSeconds\":1e300}",  "{\"offsetSeconds\":-1e300}",
        "{\"advanceSeconds\":1e300}", "{\"advanceSeconds\":-1e12}",
        "{\"advanceSeconds\":9e15}",  "{\"now\":\"2030-01-01T00:00:00Z\",\"advanceSeconds\":1e20}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cJSON *b = NULL;
        assert_int_equal(call(app, "POST", "/_emulator/clock", NULL, bad[i], &b), 400);
        assert_string_equal(error_code(b), "InvalidParameter");
        cJSON_Delete(b);
    }
    assert_int_equal(call(app, "POST", "/_emulator/clock", NULL, "{\"advanceSeconds\":60}", NULL),
                     200);
    assert_int_equal(call(app, "POST", "/_emulator/clock", NULL, "{\"offsetSeconds\":0}", NULL),
                     200);
    chsm_app_close(app);
}

/* fuzz_fixture: a step whose path has a bad escape ("/_emulator%snapshots"),
 * or a fixture with more variables than allowed, failed without a reason, so
 * POST /_emulator/fixtures answered an uninitialized message. */
static void test_fixture_failures_have_reasons(void **state)
{
    (void)state;
    chsm_app *app = open_app();
    cJSON *b = NULL;
    int status = call(app, "POST", "/_emulator/fixtures", NULL,
                      "{\"format\":\"chsm-fixture\",\"version\":1,\"steps\":[{\"method\":"
                      "\"POST\",\"path\":\"/_emulator%snapshots/s1\"}]}",
                      &b);
    assert_int_equal(status, 400);
    assert_string_equal(error_code(b), "InvalidFixture");
    const char *msg = chsm_json_str(cJSON_GetObjectItem(b, "error"), "message");
    assert_non_null(msg);
    assert_non_null(strstr(msg, "steps[0]"));
    assert_non_null(strstr(msg, "not a valid request path"));
    cJSON_Delete(b);

    chsm_buf fx = {0};
    chsm_buf_puts(&fx, "{\"format\":\"chsm-fixture\",\"version\":1,\"variables\":{");
    for (int i = 0; i < 100; i++)
        chsm_buf_printf(&fx, "%s\"v%d\":\"x\"", i ? "," : "", i);
    chsm_buf_puts(&fx, "},\"steps\":[]}");
    char *text = chsm_buf_steal(&fx);
    char err[1024];
    memset(err, 'Z', sizeof err);
    assert_int_not_equal(chsm_fixture_apply_text(app, text, strlen(text), err, sizeof err),
                         CHSM_OK);
    assert_non_null(memchr(err, '\0', sizeof err));
    assert_true(err[0] != '\0' && err[0] != 'Z');
    free(text);
    chsm_app_close(app);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_role_assignment_missing_group),
        cmocka_unit_test(test_strict_token_huge_exp),
        cmocka_unit_test(test_clock_out_of_range),
        cmocka_unit_test(test_fixture_failures_have_reasons),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

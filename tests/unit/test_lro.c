/* test_lro.c - the long-running operation engine: due times, completion on
 * poll, atomic run functions, and operations that outlive a restart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "app/app.h"
#include "arm/lro.h"
#include "arm/timing.h"
#include "store/resources.h"
#include "util/status.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int runs;

/* Writes a resource then succeeds: the write must commit with the status. */
static int run_ok(chsm_app *app, chsm_op *op)
{
    runs++;
    chsm_resource r = {.id = "/made/by/op", .type = "t/t", .name = "op"};
    r.body = cJSON_CreateObject();
    int rc = chsm_resources_put(app->store, &r);
    cJSON_Delete(r.body);
    cJSON *result = cJSON_CreateObject();
    cJSON_AddStringToObject(result, "answer", "42");
    chsm_lro_succeed(op, result);
    return rc;
}

/* Writes a resource then fails internally: the write must be rolled back. */
static int run_broken(chsm_app *app, chsm_op *op)
{
    (void)op;
    runs++;
    chsm_resource r = {.id = "/half/written", .type = "t/t", .name = "x"};
    r.body = cJSON_CreateObject();
    chsm_resources_put(app->store, &r);
    cJSON_Delete(r.body);
    return CHSM_EIO;
}

static int run_fails(chsm_app *app, chsm_op *op)
{
    (void)app;
    runs++;
    chsm_lro_fail(op, "Nope", "It could not be done.");
    return CHSM_OK;
}

static chsm_app *open_app(const char *durations)
{
    chsm_config cfg;
    chsm_config_defaults(&cfg);
    cfg.in_memory = 1;
    if (durations) {
        char *argv[] = {"x", "--op-duration", (char *)durations};
        char out[256];
        assert_int_equal(chsm_config_parse(&cfg, 3, argv, out, sizeof out), 0);
    }
    chsm_app *app = NULL;
    char err[256];
    assert_int_equal(chsm_app_open(&cfg, &app, err, sizeof err), CHSM_OK);
    chsm_lro_register(app->lro, "test/ok", run_ok);
    chsm_lro_register(app->lro, "test/broken", run_broken);
    chsm_lro_register(app->lro, "test/fails", run_fails);
    return app;
}

static void begin(chsm_app *app, const char *kind, chsm_op *op)
{
    assert_int_equal(chsm_store_begin(app->store), CHSM_OK);
    assert_int_equal(chsm_lro_begin(app, kind, "/res/1", cJSON_CreateObject(), op), CHSM_OK);
    assert_int_equal(chsm_store_commit(app->store), CHSM_OK);
}

static void test_zero_duration_completes_on_first_poll(void **state)
{
    (void)state;
    chsm_app *app = open_app(NULL);
    runs = 0;
    chsm_op op, got;
    begin(app, "test/ok", &op);
    assert_int_equal(strlen(op.id), 32);
    assert_int_equal(chsm_lro_get(app, op.id, &got), CHSM_OK);
    assert_string_equal(got.status, "Succeeded");
    assert_string_equal(cJSON_GetObjectItem(got.result, "answer")->valuestring, "42");
    assert_true(got.end_ms >= got.start_ms);
    assert_int_equal(runs, 1);
    chsm_op_clear(&got);
    /* Polling again does not run it twice. */
    assert_int_equal(chsm_lro_get(app, op.id, &got), CHSM_OK);
    assert_int_equal(runs, 1);
    assert_int_equal(chsm_resources_exists(app->store, "/made/by/op"), 1);
    chsm_op_clear(&got);
    chsm_op_clear(&op);
    chsm_app_close(app);
}

static void test_duration_delays_completion(void **state)
{
    (void)state;
    chsm_app *app = open_app("ok=300ms");
    runs = 0;
    chsm_op op, got;
    begin(app, "test/ok", &op);
    assert_int_equal(chsm_lro_get(app, op.id, &got), CHSM_OK);
    assert_string_equal(got.status, "InProgress");
    chsm_op_clear(&got);
    assert_int_equal(chsm_lro_run_due(app->lro), 0);
    usleep(350 * 1000);
    assert_int_equal(chsm_lro_run_due(app->lro), 1);
    assert_int_equal(chsm_lro_get(app, op.id, &got), CHSM_OK);
    assert_string_equal(got.status, "Succeeded");
    chsm_op_clear(&got);
    chsm_op_clear(&op);
    chsm_app_close(app);
}

static void test_internal_failure_rolls_back(void **state)
{
    (void)state;
    chsm_app *app = open_app(NULL);
    chsm_op op, got;
    begin(app, "test/broken", &op);
    assert_int_equal(chsm_lro_get(app, op.id, &got), CHSM_OK);
    assert_string_equal(got.status, "Failed");
    assert_string_equal(got.error_code, "InternalServerError");
    assert_int_equal(chsm_resources_exists(app->store, "/half/written"), 0);
    chsm_op_clear(&got);
    chsm_op_clear(&op);
    chsm_app_close(app);
}

static void test_reported_failure(void **state)
{
    (void)state;
    chsm_app *app = open_app(NULL);
    chsm_op op, got;
    begin(app, "test/fails", &op);
    assert_int_equal(chsm_lro_get(app, op.id, &got), CHSM_OK);
    assert_string_equal(got.status, "Failed");
    assert_string_equal(got.error_code, "Nope");
    assert_string_equal(got.error_message, "It could not be done.");
    chsm_op_clear(&got);
    chsm_op_clear(&op);
    chsm_app_close(app);
}

static void test_unknown_kind_fails_cleanly(void **state)
{
    (void)state;
    chsm_app *app = open_app(NULL);
    chsm_op op, got;
    begin(app, "test/unregistered", &op);
    assert_int_equal(chsm_lro_get(app, op.id, &got), CHSM_OK);
    assert_string_equal(got.status, "Failed");
    assert_string_equal(got.error_code, "OperationInterrupted");
    chsm_op_clear(&got);
    chsm_op_clear(&op);
    chsm_app_close(app);
}

static void test_worker_completes_in_background(void **state)
{
    (void)state;
    chsm_app *app = open_app("ok=100ms");
    assert_int_equal(chsm_lro_start_worker(app->lro), CHSM_OK);
    chsm_op op, got;
    begin(app, "test/ok", &op);
    int done = 0;
    for (int i = 0; i < 100 && !done; i++) {
        usleep(20 * 1000);
        assert_int_equal(chsm_ops_get(app->store, op.id, &got), CHSM_OK);
        done = strcmp(got.status, "Succeeded") == 0;
        chsm_op_clear(&got);
    }
    assert_true(done);
    chsm_op_clear(&op);
    chsm_app_close(app);
}

static void test_config_durations(void **state)
{
    (void)state;
    int64_t ms;
    assert_int_equal(chsm_config_parse_duration("250ms", &ms), CHSM_OK);
    assert_int_equal(ms, 250);
    assert_int_equal(chsm_config_parse_duration("2s", &ms), CHSM_OK);
    assert_int_equal(ms, 2000);
    assert_int_equal(chsm_config_parse_duration("1.5", &ms), CHSM_OK);
    assert_int_equal(ms, 1500);
    assert_int_not_equal(chsm_config_parse_duration("-1s", &ms), CHSM_OK);
    assert_int_not_equal(chsm_config_parse_duration("5h", &ms), CHSM_OK);
    chsm_config cfg;
    chsm_config_defaults(&cfg);
    char *argv[] = {"x", "--op-duration", "backup=2s:4,cloudHsmClusters/restore=10ms"};
    char out[256];
    assert_int_equal(chsm_config_parse(&cfg, 3, argv, out, sizeof out), 0);
    chsm_timing *t = chsm_timing_new(&cfg);
    assert_non_null(t);
    assert_int_equal(chsm_timing_duration_ms(t, "cloudHsmClusters/backup"), 2000);
    assert_int_equal(chsm_timing_duration_ms(t, "cloudHsmClusters/restore"), 10);
    assert_int_equal(chsm_timing_duration_ms(t, "other"), 0);
    int pct;
    char details[32];
    chsm_timing_progress(t, "cloudHsmClusters/backup", 1000, 3000, 2499, &pct, details,
                         sizeof details);
    assert_int_equal(pct, 50);
    assert_string_equal(details, "");
    chsm_timing_free(t);
    char *bad[] = {"x", "--op-duration", "backup"};
    assert_int_not_equal(chsm_config_parse(&cfg, 3, bad, out, sizeof out), 0);
    char *badsteps[] = {"x", "--op-duration", "backup=1s:101"};
    assert_int_not_equal(chsm_config_parse(&cfg, 3, badsteps, out, sizeof out), 0);
    char *listen[] = {"x", "--listen", "[::1]:0"};
    assert_int_equal(chsm_config_parse(&cfg, 3, listen, out, sizeof out), 0);
    assert_string_equal(cfg.arm_host, "::1");
    char *badport[] = {"x", "--listen", "127.0.0.1:99999"};
    assert_int_not_equal(chsm_config_parse(&cfg, 3, badport, out, sizeof out), 0);
}

/* Runtime rules: replace moves a rule to the end, steps and texts follow the
 * clock, a held operation never reaches 100, reset restores the start rules. */
static void test_timing_rules(void **state)
{
    (void)state;
    chsm_config cfg;
    chsm_config_defaults(&cfg);
    chsm_timing *t = chsm_timing_new(&cfg);
    char err[300];
    cJSON *r = cJSON_Parse("{\"kind\":\"*\",\"durationMs\":100}");
    assert_int_equal(chsm_timing_set(t, r, err, sizeof err), CHSM_OK);
    cJSON_Delete(r);
    r = cJSON_Parse("{\"kind\":\"backup\",\"duration\":\"4s\",\"steps\":4,"
                    "\"statusDetails\":[\"a\",\"b\"]}");
    assert_int_equal(chsm_timing_set(t, r, err, sizeof err), CHSM_OK);
    cJSON_Delete(r);
    assert_int_equal(chsm_timing_duration_ms(t, "x/backup"), 4000);
    assert_int_equal(chsm_timing_duration_ms(t, "x/restore"), 100);
    int pct;
    char d[8];
    chsm_timing_progress(t, "x/backup", 0, 4000, 0, &pct, d, sizeof d);
    assert_int_equal(pct, 0);
    assert_string_equal(d, "a");
    chsm_timing_progress(t, "x/backup", 0, 4000, 1000, &pct, d, sizeof d);
    assert_int_equal(pct, 25);
    assert_string_equal(d, "b");
    chsm_timing_progress(t, "x/backup", 0, 4000, 3999, &pct, d, sizeof d);
    assert_int_equal(pct, 75);
    assert_string_equal(d, "b");
    chsm_timing_progress(t, "x/backup", 0, 0, 999999, &pct, d, sizeof d);
    assert_int_equal(pct, 75); /* held: stays on the last step */
    /* Replacing '*' makes it the newest, so it now wins over 'backup'. */
    r = cJSON_Parse("{\"kind\":\"*\",\"durationMs\":7}");
    assert_int_equal(chsm_timing_set(t, r, err, sizeof err), CHSM_OK);
    cJSON_Delete(r);
    assert_int_equal(chsm_timing_duration_ms(t, "x/backup"), 7);
    const char *bad[] = {"{\"kind\":\"a\"}",
                         "{\"kind\":\"a\",\"durationMs\":1.5}",
                         "{\"kind\":\"a\",\"duration\":\"soon\"}",
                         "{\"kind\":\"a\",\"durationMs\":1,\"steps\":101}",
                         "{\"kind\":\"\",\"durationMs\":1}",
                         "[]"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = cJSON_Parse(bad[i]);
        assert_int_equal(chsm_timing_set(t, r, err, sizeof err), CHSM_EINVAL);
        cJSON_Delete(r);
    }
    assert_int_equal(chsm_timing_delete(t, "BACKUP"), CHSM_OK);
    assert_int_equal(chsm_timing_delete(t, "backup"), CHSM_ENOTFOUND);
    chsm_timing_reset(t);
    assert_int_equal(chsm_timing_duration_ms(t, "x/backup"), 0);
    cJSON *list = chsm_timing_to_json(t);
    assert_int_equal(cJSON_GetArraySize(list), 0);
    cJSON_Delete(list);
    chsm_timing_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zero_duration_completes_on_first_poll),
        cmocka_unit_test(test_duration_delays_completion),
        cmocka_unit_test(test_internal_failure_rolls_back),
        cmocka_unit_test(test_reported_failure),
        cmocka_unit_test(test_unknown_kind_fails_cleanly),
        cmocka_unit_test(test_worker_completes_in_background),
        cmocka_unit_test(test_config_durations),
        cmocka_unit_test(test_timing_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

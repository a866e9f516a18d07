/* test_faults.c - fault rules: globs, validation, nth/count/probability, node down. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "control/faults.h"
#include "util/ids.h"
#include "util/status.h"

#include <string.h>

static int add(chsm_faults *f, const char *json)
{
    cJSON *rule = cJSON_Parse(json);
    assert_non_null(rule);
    char err[300];
    int rc = chsm_faults_add(f, rule, NULL, err, sizeof err);
    cJSON_Delete(rule);
    return rc;
}

static void test_glob(void **state)
{
    (void)state;
    assert_true(chsm_faults_glob("*", ""));
    assert_true(chsm_faults_glob("cloudHsmClusters/*", "CLOUDHSMCLUSTERS/backup"));
    assert_true(chsm_faults_glob("/subscriptions/*/resourceGroups/rg1/*",
                                 "/subscriptions/s/resourcegroups/RG1/providers/x/y/z"));
    assert_false(chsm_faults_glob("/subscriptions/*/resourceGroups/rg1/*",
                                  "/subscriptions/s/resourceGroups/rg10/providers/x"));
    assert_true(chsm_faults_glob("a?c", "abc"));
    assert_false(chsm_faults_glob("a?c", "ac"));
    assert_true(chsm_faults_glob("*b*b*", "abxxbyy"));
    assert_false(chsm_faults_glob("*b*b*", "abxx"));
}

static void test_validation_names_fields(void **state)
{
    (void)state;
    chsm_faults *f = chsm_faults_new();
    const char *bad[] = {
        "{}",
        "{\"action\":{}}",
        "{\"action\":{\"type\":\"nope\"}}",
        "{\"probability\":1.5,\"action\":{\"type\":\"error\"}}",
        "{\"nth\":0,\"action\":{\"type\":\"error\"}}",
        "{\"count\":-1,\"action\":{\"type\":\"error\"}}",
        "{\"action\":{\"type\":\"error\",\"status\":200}}",
        "{\"action\":{\"type\":\"nodeDown\"}}",
        "{\"id\":\"bad id\",\"action\":{\"type\":\"error\"}}",
        "{\"operation\":5,\"action\":{\"type\":\"error\"}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(add(f, bad[i]), CHSM_EINVAL);
    assert_int_equal(add(f, "{\"id\":\"x\",\"action\":{\"type\":\"error\"}}"), CHSM_OK);
    assert_int_equal(add(f, "{\"id\":\"x\",\"action\":{\"type\":\"error\"}}"), CHSM_EEXISTS);
    chsm_faults_free(f);
}

static void test_nth_and_count(void **state)
{
    (void)state;
    chsm_faults *f = chsm_faults_new();
    assert_int_equal(add(f, "{\"id\":\"n\",\"operation\":\"op/a\",\"nth\":2,"
                            "\"action\":{\"type\":\"error\",\"status\":503,\"code\":\"C\"}}"),
                     CHSM_OK);
    assert_int_equal(add(f, "{\"id\":\"c\",\"operation\":\"op/b\",\"method\":\"PUT\",\"count\":2,"
                            "\"action\":{\"type\":\"throttle\",\"retryAfter\":3}}"),
                     CHSM_OK);
    chsm_fault_hit hit;
    unsigned all = ~0u;
    assert_int_equal(chsm_faults_match(f, "op/a", "GET", "/r", all, &hit), 0);
    assert_int_equal(chsm_faults_match(f, "op/a", "GET", "/r", all, &hit), 1);
    assert_int_equal(hit.status, 503);
    assert_string_equal(hit.code, "C");
    assert_string_equal(hit.rule_id, "n");
    assert_int_equal(chsm_faults_match(f, "op/a", "GET", "/r", all, &hit), 0);
    assert_int_equal(chsm_faults_match(f, "op/b", "GET", "/r", all, &hit), 0); /* method */
    assert_int_equal(chsm_faults_match(f, "op/b", "put", "/r", all, &hit), 1);
    assert_int_equal(hit.retry_after_s, 3);
    assert_int_equal(chsm_faults_match(f, "op/b", "PUT", "/r", all, &hit), 1);
    assert_int_equal(chsm_faults_match(f, "op/b", "PUT", "/r", all, &hit), 0); /* expired */
    /* The type mask keeps a rule for operations out of synchronous checks. */
    assert_int_equal(add(f, "{\"operation\":\"op/c\",\"action\":{\"type\":\"stallOperation\"}}"),
                     CHSM_OK);
    assert_int_equal(chsm_faults_match(f, "op/c", "POST", "/r", CHSM_FAULT_ERROR, &hit), 0);
    assert_int_equal(chsm_faults_match(f, "op/c", NULL, "/r", CHSM_FAULT_STALL, &hit), 1);
    cJSON *list = chsm_faults_list(f);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(list, "value")), 3);
    cJSON_Delete(list);
    assert_int_equal(chsm_faults_delete(f, "n"), CHSM_OK);
    assert_int_equal(chsm_faults_delete(f, "n"), CHSM_ENOTFOUND);
    chsm_faults_free(f);
}

static void test_probability_is_seeded(void **state)
{
    (void)state;
    int runs[2];
    for (int r = 0; r < 2; r++) {
        chsm_ids_seed(7);
        chsm_faults *f = chsm_faults_new();
        assert_int_equal(add(f, "{\"probability\":0.5,\"action\":{\"type\":\"error\"}}"), CHSM_OK);
        chsm_fault_hit hit;
        int fired = 0;
        for (int i = 0; i < 400; i++)
            fired += chsm_faults_match(f, "x", "GET", "/", ~0u, &hit);
        assert_in_range(fired, 120, 280);
        runs[r] = fired;
        chsm_faults_free(f);
    }
    assert_int_equal(runs[0], runs[1]);
}

static void test_node_down_does_not_count(void **state)
{
    (void)state;
    chsm_faults *f = chsm_faults_new();
    assert_int_equal(add(f, "{\"id\":\"nd\",\"resource\":\"*/cloudHsmClusters/src\",\"count\":1,"
                            "\"action\":{\"type\":\"nodeDown\",\"node\":2}}"),
                     CHSM_OK);
    char rule[48];
    const char *id = "/subscriptions/s/resourceGroups/g/providers/Microsoft."
                     "HardwareSecurityModules/cloudHsmClusters/SRC";
    for (int i = 0; i < 3; i++)
        assert_true(chsm_faults_node_down(f, id, 2, rule, sizeof rule));
    assert_string_equal(rule, "nd");
    assert_false(chsm_faults_node_down(f, id, 1, rule, sizeof rule));
    assert_false(chsm_faults_node_down(f, "/other/cloudHsmClusters/dst", 2, rule, sizeof rule));
    chsm_faults_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_glob),
        cmocka_unit_test(test_validation_names_fields),
        cmocka_unit_test(test_nth_and_count),
        cmocka_unit_test(test_probability_is_seeded),
        cmocka_unit_test(test_node_down_does_not_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

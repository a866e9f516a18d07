/* test_oom.c - util/oom.h and what it drives, without the fault simulation build: a store
 * transaction during which an allocation or a store statement failed is not committed; a JSON
 * parse tells bad input from a failure. (The 500 answers that follow are test_faultsim's.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "store/settings.h"
#include "store/store.h"
#include "util/json.h"
#include "util/oom.h"
#include "util/status.h"

#include <stdlib.h>
#include <string.h>

static chsm_store *open_store(void)
{
    chsm_store *s = NULL;
    char err[200];
    assert_int_equal(chsm_store_open(NULL, &s, err, sizeof err), CHSM_OK);
    return s;
}

static int setting_exists(chsm_store *s, const char *name)
{
    unsigned char *v = NULL;
    size_t n = 0;
    int rc = chsm_settings_get(s, name, &v, &n);
    free(v);
    return rc == CHSM_OK;
}

static void test_commit_refused_after_a_failure(void **state)
{
    (void)state;
    chsm_store *s = open_store();
    /* A clean transaction commits. */
    assert_int_equal(chsm_store_begin(s), CHSM_OK);
    assert_int_equal(chsm_settings_put(s, "oom-a", "1", 1), CHSM_OK);
    assert_int_equal(chsm_store_commit(s), CHSM_OK);
    assert_true(setting_exists(s, "oom-a"));
    /* One noted failure inside the transaction: nothing of it is kept. */
    assert_int_equal(chsm_store_begin(s), CHSM_OK);
    assert_int_equal(chsm_settings_put(s, "oom-b", "1", 1), CHSM_OK);
    chsm_oom_note();
    assert_int_equal(chsm_store_commit(s), CHSM_ENOMEM);
    assert_false(setting_exists(s, "oom-b"));
    /* Nested: the outermost commit decides, and a store failure counts the same. */
    assert_int_equal(chsm_store_begin(s), CHSM_OK);
    assert_int_equal(chsm_store_begin(s), CHSM_OK);
    assert_int_equal(chsm_settings_put(s, "oom-c", "1", 1), CHSM_OK);
    chsm_failure_note();
    assert_int_equal(chsm_store_commit(s), CHSM_OK);
    assert_int_equal(chsm_store_commit(s), CHSM_ENOMEM);
    assert_false(setting_exists(s, "oom-c"));
    /* A failure before the transaction began is not its business. */
    chsm_oom_note();
    assert_int_equal(chsm_store_begin(s), CHSM_OK);
    assert_int_equal(chsm_settings_put(s, "oom-d", "1", 1), CHSM_OK);
    assert_int_equal(chsm_store_commit(s), CHSM_OK);
    assert_true(setting_exists(s, "oom-d"));
    chsm_store_close(s);
}

static void test_json_parse_tells_oom_from_bad_input(void **state)
{
    (void)state;
    char err[160];
    cJSON *j = NULL;
    assert_int_equal(chsm_json_parse_rc("{\"a\":", 5, &j, err, sizeof err), CHSM_EINVAL);
    assert_null(j);
    unsigned long before = chsm_oom_count();
    assert_int_equal(chsm_json_parse_rc("{\"a\":1}", 7, &j, err, sizeof err), CHSM_OK);
    assert_non_null(j);
    cJSON_Delete(j);
    assert_int_equal(chsm_oom_count(), before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commit_refused_after_a_failure),
        cmocka_unit_test(test_json_parse_tells_oom_from_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

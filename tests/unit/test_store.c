/* test_store.c - the SQLite store: migrations, resources, transactions, operations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "store/operations.h"
#include "store/resources.h"
#include "store/settings.h"
#include "store/store.h"
#include "util/status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static chsm_store *open_mem(void)
{
    chsm_store *s = NULL;
    char err[256];
    assert_int_equal(chsm_store_open(NULL, &s, err, sizeof err), CHSM_OK);
    return s;
}

static void put_doc(chsm_store *s, const char *id, const char *type, const char *rg, int value)
{
    chsm_resource r = {0};
    r.id = (char *)id;
    r.type = (char *)type;
    r.name = strrchr(id, '/') + 1;
    r.subscription = "s1";
    r.resource_group = (char *)rg;
    r.body = cJSON_CreateObject();
    cJSON_AddNumberToObject(r.body, "v", value);
    assert_int_equal(chsm_resources_put(s, &r), CHSM_OK);
    cJSON_Delete(r.body);
}

static void test_resource_roundtrip_case_insensitive(void **state)
{
    (void)state;
    chsm_store *s = open_mem();
    assert_true(chsm_store_schema_version(s) >= 1);
    put_doc(s, "/subscriptions/s1/resourceGroups/RG/providers/X.Y/things/A", "X.Y/things", "RG", 1);
    chsm_resource r;
    assert_int_equal(
        chsm_resources_get(s, "/SUBSCRIPTIONS/s1/resourcegroups/rg/providers/x.y/things/a", &r),
        CHSM_OK);
    assert_string_equal(r.id, "/subscriptions/s1/resourceGroups/RG/providers/X.Y/things/A");
    assert_int_equal(cJSON_GetObjectItem(r.body, "v")->valueint, 1);
    int64_t created = r.created_ms;
    char etag[40];
    strcpy(etag, r.etag);
    chsm_resource_clear(&r);
    put_doc(s, "/subscriptions/s1/resourceGroups/RG/providers/X.Y/things/A", "X.Y/things", "RG", 2);
    assert_int_equal(
        chsm_resources_get(s, "/subscriptions/s1/resourceGroups/RG/providers/X.Y/things/A", &r),
        CHSM_OK);
    assert_int_equal(r.created_ms, created);
    assert_string_not_equal(r.etag, etag);
    chsm_resource_clear(&r);
    assert_int_equal(chsm_resources_get(s, "/nope", &r), CHSM_ENOTFOUND);
    assert_int_equal(chsm_resources_delete(s, "/nope"), CHSM_ENOTFOUND);
    chsm_store_close(s);
}

static void test_list_filters_and_paging(void **state)
{
    (void)state;
    chsm_store *s = open_mem();
    char id[128];
    for (int i = 0; i < 5; i++) {
        snprintf(id, sizeof id, "/subscriptions/s1/resourceGroups/g%d/providers/X.Y/t/n%d", i % 2,
                 i);
        put_doc(s, id, "X.Y/t", i % 2 ? "g1" : "g0", i);
    }
    put_doc(s, "/subscriptions/s1/resourceGroups/g0/providers/X.Y/other/z", "X.Y/other", "g0", 9);
    chsm_resource *rows;
    size_t n;
    chsm_resource_query q = {.type = "x.y/T"};
    assert_int_equal(chsm_resources_list(s, &q, &rows, &n), CHSM_OK);
    assert_int_equal(n, 5);
    chsm_resources_free(rows, n);
    q.resource_group = "G0";
    assert_int_equal(chsm_resources_list(s, &q, &rows, &n), CHSM_OK);
    assert_int_equal(n, 3);
    chsm_resources_free(rows, n);
    q.resource_group = NULL;
    q.limit = 2;
    assert_int_equal(chsm_resources_list(s, &q, &rows, &n), CHSM_OK);
    assert_int_equal(n, 2);
    char after[128];
    snprintf(after, sizeof after, "%s", rows[1].id);
    chsm_resources_free(rows, n);
    q.after_id = after;
    q.limit = 0;
    assert_int_equal(chsm_resources_list(s, &q, &rows, &n), CHSM_OK);
    assert_int_equal(n, 3);
    chsm_resources_free(rows, n);
    chsm_store_close(s);
}

static void test_delete_under_is_exact_prefix(void **state)
{
    (void)state;
    chsm_store *s = open_mem();
    put_doc(s, "/subscriptions/s1/resourceGroups/g1", "R/g", "g1", 0);
    put_doc(s, "/subscriptions/s1/resourceGroups/g1/providers/X.Y/t/a", "X.Y/t", "g1", 0);
    put_doc(s, "/subscriptions/s1/resourceGroups/g10/providers/X.Y/t/b", "X.Y/t", "g10", 0);
    int count = 0;
    assert_int_equal(chsm_resources_delete_under(s, "/subscriptions/s1/resourcegroups/G1", &count),
                     CHSM_OK);
    assert_int_equal(count, 1);
    assert_int_equal(
        chsm_resources_exists(s, "/subscriptions/s1/resourceGroups/g10/providers/X.Y/t/b"), 1);
    assert_int_equal(chsm_resources_exists(s, "/subscriptions/s1/resourceGroups/g1"), 1);
    chsm_store_close(s);
}

static void test_transactions_nest_and_roll_back(void **state)
{
    (void)state;
    chsm_store *s = open_mem();
    assert_int_equal(chsm_store_begin(s), CHSM_OK);
    put_doc(s, "/a", "t/t", NULL, 1);
    assert_int_equal(chsm_store_begin(s), CHSM_OK);
    put_doc(s, "/b", "t/t", NULL, 1);
    assert_int_equal(chsm_store_commit(s), CHSM_OK);
    chsm_store_rollback(s);
    assert_int_equal(chsm_resources_exists(s, "/a"), 0);
    assert_int_equal(chsm_resources_exists(s, "/b"), 0);

    /* An inner rollback dooms the outer transaction. */
    assert_int_equal(chsm_store_begin(s), CHSM_OK);
    put_doc(s, "/c", "t/t", NULL, 1);
    assert_int_equal(chsm_store_begin(s), CHSM_OK);
    chsm_store_rollback(s);
    assert_int_not_equal(chsm_store_commit(s), CHSM_OK);
    assert_int_equal(chsm_resources_exists(s, "/c"), 0);

    assert_int_equal(chsm_store_begin(s), CHSM_OK);
    put_doc(s, "/d", "t/t", NULL, 1);
    assert_int_equal(chsm_store_commit(s), CHSM_OK);
    assert_int_equal(chsm_resources_exists(s, "/d"), 1);
    chsm_store_close(s);
}

static void test_operations_and_settings(void **state)
{
    (void)state;
    chsm_store *s = open_mem();
    chsm_op op = {0};
    strcpy(op.id, "0123456789abcdef0123456789abcdef");
    strcpy(op.kind, "things/run");
    op.resource_id = "/x/Y";
    strcpy(op.status, CHSM_OP_IN_PROGRESS);
    op.start_ms = 1000;
    op.due_ms = 2000;
    op.params = cJSON_CreateObject();
    assert_int_equal(chsm_ops_insert(s, &op), CHSM_OK);
    cJSON_Delete(op.params);
    char ids[4][33];
    size_t n;
    assert_int_equal(chsm_ops_due(s, 1500, ids, 4, &n), CHSM_OK);
    assert_int_equal(n, 0);
    assert_int_equal(chsm_ops_due(s, 2000, ids, 4, &n), CHSM_OK);
    assert_int_equal(n, 1);
    assert_int_equal(chsm_ops_next_due(s), 2000);
    assert_int_equal(chsm_ops_running_for(s, "/X/y", "things/*"), 1);
    chsm_op got;
    assert_int_equal(chsm_ops_get(s, op.id, &got), CHSM_OK);
    strcpy(got.status, CHSM_OP_FAILED);
    got.error_code = strdup("Boom");
    got.end_ms = 3000;
    assert_int_equal(chsm_ops_update(s, &got), CHSM_OK);
    chsm_op_clear(&got);
    assert_int_equal(chsm_ops_get(s, op.id, &got), CHSM_OK);
    assert_string_equal(got.status, "Failed");
    assert_string_equal(got.error_code, "Boom");
    chsm_op_clear(&got);
    assert_int_equal(chsm_ops_running_for(s, "/x/y", "things/*"), 0);

    unsigned char *v;
    size_t len;
    assert_int_equal(chsm_settings_get(s, "k", &v, &len), CHSM_ENOTFOUND);
    assert_int_equal(chsm_settings_put(s, "k", "\0\1\2", 3), CHSM_OK);
    assert_int_equal(chsm_settings_get(s, "k", &v, &len), CHSM_OK);
    assert_int_equal(len, 3);
    assert_int_equal(v[2], 2);
    free(v);
    chsm_store_close(s);
}

static void test_file_store_survives_reopen(void **state)
{
    (void)state;
    char dir[] = "/tmp/chsm-store-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/state.db", dir);
    chsm_store *s = NULL;
    char err[256];
    assert_int_equal(chsm_store_open(path, &s, err, sizeof err), CHSM_OK);
    int version = chsm_store_schema_version(s);
    put_doc(s, "/kept", "t/t", NULL, 7);
    chsm_store_close(s);
    assert_int_equal(chsm_store_open(path, &s, err, sizeof err), CHSM_OK);
    assert_int_equal(chsm_store_schema_version(s), version);
    assert_int_equal(chsm_resources_exists(s, "/kept"), 1);
    assert_true(chsm_store_integrity_ok(s));
    chsm_store_close(s);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resource_roundtrip_case_insensitive),
        cmocka_unit_test(test_list_filters_and_paging),
        cmocka_unit_test(test_delete_under_is_exact_prefix),
        cmocka_unit_test(test_transactions_nest_and_roll_back),
        cmocka_unit_test(test_operations_and_settings),
        cmocka_unit_test(test_file_store_survives_reopen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

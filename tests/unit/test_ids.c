/* test_ids.c - random identifiers: UUID v4 shape, no repeats, bytes across the per-thread
 * pool's refills. (Seeded ids are covered with --seed by the QA tests.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/ids.h"

#include <stdlib.h>
#include <string.h>

static int cmp_str(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

static void test_uuid_shape_and_unique(void **state)
{
    (void)state;
    enum { N = 5000 };
    char(*ids)[37] = calloc(N, sizeof *ids);
    assert_non_null(ids);
    for (int i = 0; i < N; i++) {
        chsm_uuid(ids[i]);
        assert_int_equal(strlen(ids[i]), 36);
        assert_int_equal(ids[i][14], '4');           /* version 4 */
        assert_non_null(strchr("89ab", ids[i][19])); /* RFC 4122 variant */
        assert_int_equal(ids[i][8], '-');
    }
    qsort(ids, N, sizeof *ids, cmp_str);
    for (int i = 1; i < N; i++)
        assert_string_not_equal(ids[i - 1], ids[i]);
    free(ids);
}

static void test_random_across_refills(void **state)
{
    (void)state;
    /* 1000 bytes take several pool refills; every 100-byte stretch must differ from the
     * next (a repeated or zeroed pool would show as equal stretches). */
    unsigned char a[1000];
    memset(a, 0, sizeof a);
    chsm_ids_random(a, (int)sizeof a);
    for (int i = 0; i + 200 <= (int)sizeof a; i += 100)
        assert_memory_not_equal(a + i, a + i + 100, 100);
    int zeros = 0;
    for (size_t i = 0; i < sizeof a; i++)
        zeros += a[i] == 0;
    assert_true(zeros < 30); /* about 4 expected */
    /* Odd sizes straddling the pool boundary. */
    unsigned char b[37], c[37];
    for (int k = 0; k < 20; k++) {
        chsm_ids_random(b, 37);
        chsm_ids_random(c, 37);
        assert_memory_not_equal(b, c, 37);
    }
}

static void test_uuid_hex(void **state)
{
    (void)state;
    char a[33], b[33];
    chsm_uuid_hex(a);
    chsm_uuid_hex(b);
    assert_int_equal(strlen(a), 32);
    assert_int_equal(strspn(a, "0123456789abcdef"), 32);
    assert_string_not_equal(a, b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uuid_shape_and_unique),
        cmocka_unit_test(test_random_across_refills),
        cmocka_unit_test(test_uuid_hex),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

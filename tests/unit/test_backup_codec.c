/* test_backup_codec.c - the backup blob format: round trip, tamper evidence, bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hsm/backup_codec.h"
#include "util/status.h"

static const unsigned char secret[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                         12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                                         23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
static const char *const backup_id =
    "cloudhsm-0e35c989-c582-4b3c-958d-596e4c4fe133-2025061314364592";
static const char *const source_id = "/subscriptions/s1/resourceGroups/rg/providers/"
                                     "Microsoft.HardwareSecurityModules/cloudHsmClusters/src";
static const char payload[] =
    "{\"format\":1,\"keys\":[{\"material\":\"c2VjcmV0LWtleS1ieXRlcw==\"}]}";

static void encode_small(unsigned char **blob, size_t *len)
{
    assert_int_equal(chsm_backup_encode(secret, backup_id, source_id, 1749825405920, payload,
                                        strlen(payload), blob, len),
                     CHSM_OK);
}

static void test_round_trip(void **state)
{
    (void)state;
    unsigned char *blob, *out;
    size_t len, n;
    encode_small(&blob, &len);
    chsm_backup_header h;
    char err[256];
    assert_int_equal(chsm_backup_decode(secret, blob, len, &h, &out, &n, err, sizeof err), CHSM_OK);
    assert_int_equal(n, strlen(payload));
    assert_memory_equal(out, payload, n);
    assert_int_equal(out[n], '\0');
    assert_string_equal(h.backup_id, backup_id);
    assert_string_equal(h.source_id, source_id);
    assert_int_equal(h.created_ms, 1749825405920);
    assert_int_equal(h.version, 1); /* chsm_backup_encode writes the old version */
    assert_memory_equal(blob, CHSM_BACKUP_MAGIC, 8);
    free(out);
    /* Two encodings of the same payload differ (fresh salt and iv). */
    unsigned char *blob2;
    size_t len2;
    encode_small(&blob2, &len2);
    assert_int_equal(len, len2);
    assert_memory_not_equal(blob, blob2, len);
    free(blob);
    free(blob2);
}

static void test_no_plaintext_in_blob(void **state)
{
    (void)state;
    unsigned char *blob;
    size_t len;
    encode_small(&blob, &len);
    const char *needle = "c2VjcmV0LWtleS1ieXRlcw";
    for (size_t i = 0; i + strlen(needle) <= len; i++)
        assert_false(memcmp(blob + i, needle, strlen(needle)) == 0);
    free(blob);
}

static void test_every_byte_flip_fails(void **state)
{
    (void)state;
    unsigned char *blob, *out;
    size_t len, n;
    encode_small(&blob, &len);
    char err[256];
    chsm_backup_header h;
    for (size_t i = 0; i < len; i++) {
        for (int bit = 0; bit < 8; bit += 7) { /* lowest and highest bit of every byte */
            blob[i] ^= (unsigned char)(1u << bit);
            out = NULL;
            int rc = chsm_backup_decode(secret, blob, len, &h, &out, &n, err, sizeof err);
            if (rc == CHSM_OK)
                fail_msg("flipping bit %d of byte %zu went unnoticed", bit, i);
            assert_null(out);
            assert_true(rc == CHSM_EINVAL || rc == CHSM_ECRYPTO);
            assert_true(strlen(err) > 0);
            blob[i] ^= (unsigned char)(1u << bit);
        }
    }
    /* Untouched, it still decodes. */
    assert_int_equal(chsm_backup_decode(secret, blob, len, &h, &out, &n, err, sizeof err), CHSM_OK);
    free(out);
    free(blob);
}

static void test_wrong_secret_fails(void **state)
{
    (void)state;
    unsigned char *blob, *out = NULL;
    size_t len, n;
    encode_small(&blob, &len);
    unsigned char other[32];
    memcpy(other, secret, 32);
    other[31] ^= 0x40;
    chsm_backup_header h;
    char err[256];
    assert_int_equal(chsm_backup_decode(other, blob, len, &h, &out, &n, err, sizeof err),
                     CHSM_ECRYPTO);
    assert_null(out);
    assert_non_null(strstr(err, "integrity"));
    free(blob);
}

static void test_truncated_and_extended_fail(void **state)
{
    (void)state;
    unsigned char *blob, *out;
    size_t len, n;
    encode_small(&blob, &len);
    chsm_backup_header h;
    char err[256];
    for (size_t cut = 0; cut < len; cut++) {
        out = NULL;
        int rc = chsm_backup_decode(secret, blob, cut, &h, &out, &n, err, sizeof err);
        assert_int_not_equal(rc, CHSM_OK);
        assert_null(out);
    }
    unsigned char *longer = malloc(len + 1);
    memcpy(longer, blob, len);
    longer[len] = 0;
    out = NULL;
    assert_int_not_equal(chsm_backup_decode(secret, longer, len + 1, &h, &out, &n, err, sizeof err),
                         CHSM_OK);
    assert_null(out);
    free(longer);
    /* A NULL or empty input is refused, not dereferenced. */
    assert_int_equal(chsm_backup_decode(secret, NULL, 0, &h, &out, &n, err, sizeof err),
                     CHSM_EINVAL);
    free(blob);
}

static void test_hostile_lengths(void **state)
{
    (void)state;
    /* A header that claims a huge backupId and payload must be refused by bounds checks. */
    unsigned char bad[64] = {'C', 'H', 'S', 'M', 'B', 'K', 'U', 'P', 0, 1, 0xff, 0xff};
    chsm_backup_header h;
    char err[256];
    unsigned char *out = NULL;
    size_t n;
    assert_int_equal(chsm_backup_decode(secret, bad, sizeof bad, &h, &out, &n, err, sizeof err),
                     CHSM_EINVAL);
    /* Unsupported versions: 0 and the one after the newest. */
    unsigned char v3[16] = {'C', 'H', 'S', 'M', 'B', 'K', 'U', 'P', 0, CHSM_BACKUP_VERSION + 1};
    assert_int_equal(chsm_backup_peek(v3, sizeof v3, &h, err, sizeof err), CHSM_EINVAL);
    assert_non_null(strstr(err, "version"));
    v3[9] = 0;
    assert_int_equal(chsm_backup_peek(v3, sizeof v3, &h, err, sizeof err), CHSM_EINVAL);
    assert_non_null(strstr(err, "version"));
    /* Not a backup at all. */
    assert_int_equal(
        chsm_backup_peek((const unsigned char *)"hello world", 11, &h, err, sizeof err),
        CHSM_EINVAL);
    assert_non_null(strstr(err, "magic"));
}

static void test_peek_reads_header(void **state)
{
    (void)state;
    unsigned char *blob;
    size_t len;
    encode_small(&blob, &len);
    chsm_backup_header h;
    char err[256];
    assert_int_equal(chsm_backup_peek(blob, len, &h, err, sizeof err), CHSM_OK);
    assert_string_equal(h.source_id, source_id);
    assert_int_equal(h.payload_len, strlen(payload));
    free(blob);
}

static void test_encode_rejects_bad_ids(void **state)
{
    (void)state;
    unsigned char *blob = NULL;
    size_t len;
    assert_int_equal(chsm_backup_encode(secret, "", source_id, 0, "x", 1, &blob, &len),
                     CHSM_EINVAL);
    assert_int_equal(chsm_backup_encode(secret, "a\nb", source_id, 0, "x", 1, &blob, &len),
                     CHSM_EINVAL);
    char long_id[CHSM_BACKUP_MAX_ID + 2];
    memset(long_id, 'a', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    assert_int_equal(chsm_backup_encode(secret, long_id, source_id, 0, "x", 1, &blob, &len),
                     CHSM_EINVAL);
    assert_null(blob);
    /* An empty payload is fine. */
    assert_int_equal(chsm_backup_encode(secret, backup_id, source_id, 0, NULL, 0, &blob, &len),
                     CHSM_OK);
    unsigned char *out;
    size_t n;
    chsm_backup_header h;
    char err[128];
    assert_int_equal(chsm_backup_decode(secret, blob, len, &h, &out, &n, err, sizeof err), CHSM_OK);
    assert_int_equal(n, 0);
    free(out);
    free(blob);
}

/* ---- version 2: the writer ---- */

static const unsigned char v2_bytes[] = "key record bytes, in the clear until sealed";

/* write_v2 makes a version-2 blob whose payload is u16 7, u32 (patched to 9), u64 5, bytes. */
static void write_v2(unsigned char **blob, size_t *len)
{
    chsm_backup_writer w;
    assert_int_equal(chsm_backup_writer_begin(&w, backup_id, source_id, 1749825405920, 0), CHSM_OK);
    chsm_backup_writer_put_u16(&w, 7);
    size_t at = chsm_backup_writer_payload_len(&w);
    assert_int_equal(at, 2);
    chsm_backup_writer_put_u32(&w, 0);
    chsm_backup_writer_put_u64(&w, 5);
    chsm_backup_writer_reserve(&w, 1 << 20);
    chsm_backup_writer_put(&w, v2_bytes, sizeof v2_bytes);
    chsm_backup_writer_patch_u32(&w, at, 9);
    assert_int_equal(chsm_backup_writer_finish(&w, secret, blob, len), CHSM_OK);
    assert_null(w.buf);
    chsm_backup_writer_discard(&w); /* a no-op after finish */
}

static const unsigned char v2_expected_head[] = {0, 7, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 5};

static void test_v2_round_trip(void **state)
{
    (void)state;
    unsigned char *blob, *out;
    size_t len, n;
    write_v2(&blob, &len);
    chsm_backup_header h;
    char err[256];
    assert_int_equal(chsm_backup_decode(secret, blob, len, &h, &out, &n, err, sizeof err), CHSM_OK);
    assert_int_equal(h.version, 2);
    assert_string_equal(h.backup_id, backup_id);
    assert_string_equal(h.source_id, source_id);
    assert_int_equal(h.created_ms, 1749825405920);
    assert_int_equal(n, sizeof v2_expected_head + sizeof v2_bytes);
    assert_memory_equal(out, v2_expected_head, sizeof v2_expected_head);
    assert_memory_equal(out + sizeof v2_expected_head, v2_bytes, sizeof v2_bytes);
    /* Sealed: the clear bytes are nowhere in the blob. */
    for (size_t i = 0; i + 16 <= len; i++)
        assert_memory_not_equal(blob + i, v2_bytes, 16);
    /* In place: the payload is decrypted inside the blob. */
    unsigned char *in_place;
    size_t m;
    assert_int_equal(
        chsm_backup_decode_in_place(secret, blob, len, &h, &in_place, &m, err, sizeof err),
        CHSM_OK);
    assert_true(in_place > blob && in_place + m < blob + len);
    assert_int_equal(m, n);
    assert_memory_equal(in_place, out, n);
    free(out);
    free(blob);
}

static void test_v2_every_byte_flip_fails(void **state)
{
    (void)state;
    unsigned char *blob;
    size_t len;
    write_v2(&blob, &len);
    chsm_backup_header h;
    char err[256];
    unsigned char *copy = malloc(len), *out;
    size_t n;
    assert_non_null(copy);
    for (size_t i = 0; i < len; i++) {
        for (int bit = 0; bit < 8; bit += 7) {
            memcpy(copy, blob, len);
            copy[i] ^= (unsigned char)(1u << bit);
            int rc = chsm_backup_decode_in_place(secret, copy, len, &h, &out, &n, err, sizeof err);
            assert_true(rc == CHSM_EINVAL || rc == CHSM_ECRYPTO);
            assert_null(out);
            assert_true(strlen(err) > 0);
        }
    }
    /* A failed in-place open leaves no clear bytes behind: the payload region is wiped. */
    memcpy(copy, blob, len);
    copy[len - 1] ^= 1; /* the tag */
    assert_int_equal(chsm_backup_decode_in_place(secret, copy, len, &h, &out, &n, err, sizeof err),
                     CHSM_ECRYPTO);
    size_t payload_at = len - 16 - (size_t)h.payload_len;
    for (size_t i = 0; i < h.payload_len; i++)
        assert_int_equal(copy[payload_at + i], 0);
    /* Cut at every length, or sealed under another secret: refused. */
    for (size_t cut = 0; cut < len; cut++)
        assert_int_not_equal(chsm_backup_decode(secret, blob, cut, &h, &out, &n, err, sizeof err),
                             CHSM_OK);
    unsigned char other[32];
    memcpy(other, secret, 32);
    other[31] ^= 0x80;
    memcpy(copy, blob, len);
    assert_int_equal(chsm_backup_decode_in_place(other, copy, len, &h, &out, &n, err, sizeof err),
                     CHSM_ECRYPTO);
    free(copy);
    free(blob);
}

/* The version is bound into the key: a version-1 blob relabelled 2 does not open. */
static void test_versions_do_not_mix(void **state)
{
    (void)state;
    unsigned char *blob, *out;
    size_t len, n;
    encode_small(&blob, &len);
    blob[9] = 2;
    chsm_backup_header h;
    char err[256];
    assert_int_equal(chsm_backup_decode(secret, blob, len, &h, &out, &n, err, sizeof err),
                     CHSM_ECRYPTO);
    free(blob);
}

static void test_writer_rejects_bad_ids(void **state)
{
    (void)state;
    chsm_backup_writer w;
    assert_int_equal(chsm_backup_writer_begin(&w, "", source_id, 0, 0), CHSM_EINVAL);
    assert_null(w.buf);
    assert_int_equal(chsm_backup_writer_begin(&w, backup_id, "a\tb", 0, 0), CHSM_EINVAL);
    assert_null(w.buf);
    /* An empty payload seals and opens. */
    unsigned char *blob, *out;
    size_t len, n;
    assert_int_equal(chsm_backup_writer_begin(&w, backup_id, source_id, 0, 0), CHSM_OK);
    assert_int_equal(chsm_backup_writer_finish(&w, secret, &blob, &len), CHSM_OK);
    chsm_backup_header h;
    char err[128];
    assert_int_equal(chsm_backup_decode(secret, blob, len, &h, &out, &n, err, sizeof err), CHSM_OK);
    assert_int_equal(n, 0);
    free(out);
    free(blob);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_no_plaintext_in_blob),
        cmocka_unit_test(test_every_byte_flip_fails),
        cmocka_unit_test(test_wrong_secret_fails),
        cmocka_unit_test(test_truncated_and_extended_fail),
        cmocka_unit_test(test_hostile_lengths),
        cmocka_unit_test(test_peek_reads_header),
        cmocka_unit_test(test_encode_rejects_bad_ids),
        cmocka_unit_test(test_v2_round_trip),
        cmocka_unit_test(test_v2_every_byte_flip_fails),
        cmocka_unit_test(test_versions_do_not_mix),
        cmocka_unit_test(test_writer_rejects_bad_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

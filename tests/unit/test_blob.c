/* test_blob.c - the Blob store: Shared Key canonicalization (Azure's
 * documented example), SAS, names, XML, conditions, the content files, the
 * repository and the in-process interface. Signatures are checked against
 * values computed independently (Python's hmac over the same strings). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "app/app.h"
#include "app/files.h"
#include "blob/arm.h"
#include "blob/blob.h"
#include "blob/content.h"
#include "blob/internal.h"
#include "blob/names.h"
#include "blob/repo.h"
#include "blob/sas.h"
#include "blob/sharedkey.h"
#include "blob/xml.h"
#include "crypto/digest.h"
#include "util/status.h"
#include "util/text.h"

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEVKEY                                                                                     \
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

/* The example of "Authorize with Shared Key" (Blob service, version 2015-02-21):
 * GET
 * https://myaccount.blob.core.windows.net/mycontainer?restype=container&comp=metadata&timeout=20 */
static void test_sharedkey_doc_example(void **state)
{
    (void)state;
    chsm_request req;
    chsm_request_init(&req, NULL, "GET");
    chsm_request_add_header(&req, "x-ms-date", "Fri, 26 Jun 2015 23:39:12 GMT");
    chsm_request_add_header(&req, "x-ms-version", "2015-02-21");
    chsm_request_parse_query(&req, "restype=container&comp=metadata&timeout=20");
    char *sts = chsm_blob_sharedkey_string_to_sign(&req, "myaccount", "/mycontainer");
    assert_string_equal(sts, "GET\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:Fri, 26 Jun 2015 23:39:12 "
                             "GMT\nx-ms-version:2015-02-21\n/myaccount/mycontainer\ncomp:"
                             "metadata\nrestype:container\ntimeout:20");
    char *sig = chsm_blob_hmac_base64(DEVKEY, sts);
    assert_string_equal(sig, "1u9lui2jDxj0+fpbHjQ5m5NnastJRSYM+PSmfi8TXx4=");
    assert_true(chsm_blob_signature_matches(sig, "1u9lui2jDxj0+fpbHjQ5m5NnastJRSYM+PSmfi8TXx4="));
    assert_false(chsm_blob_signature_matches(sig, "1u9lui2jDxj0+fpbHjQ5m5NnastJRSYM+PSmfi8TXx5="));
    assert_null(chsm_blob_hmac_base64("not base64!", sts));
    free(sig);
    free(sts);
    chsm_request_free(&req);
}

/* The documented canonicalized resource of a listing with a repeated parameter. */
static void test_canonical_resource(void **state)
{
    (void)state;
    chsm_request req;
    chsm_request_init(&req, NULL, "GET");
    chsm_request_parse_query(&req, "restype=container&comp=list&include=snapshots&include=metadata"
                                   "&include=uncommittedblobs");
    char *r = chsm_blob_sharedkey_canonical_resource(&req, "myaccount", "/mycontainer");
    assert_string_equal(r, "/myaccount/mycontainer\ncomp:list\ninclude:metadata,snapshots,"
                           "uncommittedblobs\nrestype:container");
    free(r);
    chsm_request_free(&req);

    /* Names lowercased, values decoded; no query: just the path; empty path: "/". */
    chsm_request_init(&req, NULL, "GET");
    chsm_request_parse_query(&req, "Prefix=a%20b&COMP=list");
    r = chsm_blob_sharedkey_canonical_resource(&req, "acct", "");
    assert_string_equal(r, "/acct/\ncomp:list\nprefix:a b");
    free(r);
    chsm_request_free(&req);
}

static void test_canonical_headers(void **state)
{
    (void)state;
    chsm_request req;
    chsm_request_init(&req, NULL, "PUT");
    chsm_request_add_header(&req, "X-MS-Version", "2025-05-05");
    chsm_request_add_header(&req, "x-ms-meta-b", "  two ");
    chsm_request_add_header(&req, "x-ms-meta-a", "one");
    chsm_request_add_header(&req, "x-ms-meta-a", "uno");
    chsm_request_add_header(&req, "Content-Type", "text/plain");
    chsm_request_add_header(&req, "Content-Length", "0");
    char *h = chsm_blob_sharedkey_canonical_headers(&req);
    assert_string_equal(h, "x-ms-meta-a:one,uno\nx-ms-meta-b:two\nx-ms-version:2025-05-05\n");
    free(h);
    /* A zero Content-Length signs as empty; standard headers in their slots. */
    char *sts = chsm_blob_sharedkey_string_to_sign(&req, "a1", "/a1/c");
    assert_non_null(strstr(sts, "PUT\n\n\n\n\ntext/plain\n"));
    free(sts);
    chsm_request_free(&req);

    char acct[32], sig[64];
    assert_int_equal(
        chsm_blob_sharedkey_parse("SharedKey myaccount:abc=", acct, sizeof acct, sig, sizeof sig),
        CHSM_OK);
    assert_string_equal(acct, "myaccount");
    assert_string_equal(sig, "abc=");
    assert_int_equal(
        chsm_blob_sharedkey_parse("SharedKeyLite a:b", acct, sizeof acct, sig, sizeof sig),
        CHSM_EINVAL);
    assert_int_equal(
        chsm_blob_sharedkey_parse("SharedKey nocolon", acct, sizeof acct, sig, sizeof sig),
        CHSM_EINVAL);
    assert_int_equal(chsm_blob_sharedkey_parse("SharedKey a:", acct, sizeof acct, sig, sizeof sig),
                     CHSM_EINVAL);
}

static void test_names(void **state)
{
    (void)state;
    assert_int_equal(chsm_blob_check_container_name("backups"), CHSM_BLOB_NAME_OK);
    assert_int_equal(chsm_blob_check_container_name("a-b-c"), CHSM_BLOB_NAME_OK);
    assert_int_equal(chsm_blob_check_container_name("abc"), CHSM_BLOB_NAME_OK);
    assert_int_equal(chsm_blob_check_container_name("ab"), CHSM_BLOB_NAME_BAD_LENGTH);
    char long_name[65];
    memset(long_name, 'a', 64);
    long_name[64] = '\0';
    assert_int_equal(chsm_blob_check_container_name(long_name), CHSM_BLOB_NAME_BAD_LENGTH);
    long_name[63] = '\0';
    assert_int_equal(chsm_blob_check_container_name(long_name), CHSM_BLOB_NAME_OK);
    assert_int_equal(chsm_blob_check_container_name("Backups"), CHSM_BLOB_NAME_BAD_CHARS);
    assert_int_equal(chsm_blob_check_container_name("a--b"), CHSM_BLOB_NAME_BAD_CHARS);
    assert_int_equal(chsm_blob_check_container_name("-ab"), CHSM_BLOB_NAME_BAD_CHARS);
    assert_int_equal(chsm_blob_check_container_name("ab-"), CHSM_BLOB_NAME_BAD_CHARS);
    assert_int_equal(chsm_blob_check_container_name("a_b"), CHSM_BLOB_NAME_BAD_CHARS);
    assert_int_equal(chsm_blob_check_container_name("$root"), CHSM_BLOB_NAME_BAD_CHARS);

    assert_int_equal(chsm_blob_check_account_name("devstoreaccount1"), CHSM_BLOB_NAME_OK);
    assert_int_equal(chsm_blob_check_account_name("ab"), CHSM_BLOB_NAME_BAD_LENGTH);
    assert_int_equal(chsm_blob_check_account_name("Upper"), CHSM_BLOB_NAME_BAD_CHARS);

    char blob[1100];
    memset(blob, 'x', 1024);
    blob[1024] = '\0';
    assert_int_equal(chsm_blob_check_blob_name(blob), CHSM_BLOB_NAME_OK);
    blob[1024] = 'x';
    blob[1025] = '\0';
    assert_int_equal(chsm_blob_check_blob_name(blob), CHSM_BLOB_NAME_BAD_LENGTH);
    /* 1024 characters of two bytes each are still 1024 characters. */
    char wide[2100];
    for (int i = 0; i < 1025; i++)
        memcpy(wide + 2 * i, "\xc3\xa9", 2);
    wide[2048] = '\0';
    assert_int_equal(chsm_blob_check_blob_name(wide), CHSM_BLOB_NAME_OK);
    wide[2048] = '\xc3';
    wide[2050] = '\0';
    assert_int_equal(chsm_blob_check_blob_name(wide), CHSM_BLOB_NAME_BAD_LENGTH);
    assert_int_equal(chsm_blob_check_blob_name("d\xc3\xa9j\xc3\xa0/vu.txt"), CHSM_BLOB_NAME_OK);
    assert_int_equal(chsm_blob_check_blob_name(""), CHSM_BLOB_NAME_BAD_LENGTH);
    assert_int_equal(chsm_blob_check_blob_name("a/../b"), CHSM_BLOB_NAME_BAD_CHARS);
    assert_int_equal(chsm_blob_check_blob_name("./a"), CHSM_BLOB_NAME_BAD_CHARS);
    assert_int_equal(chsm_blob_check_blob_name(".."), CHSM_BLOB_NAME_BAD_CHARS);
    assert_int_equal(chsm_blob_check_blob_name("a/"), CHSM_BLOB_NAME_BAD_CHARS);
    assert_int_equal(chsm_blob_check_blob_name("a."), CHSM_BLOB_NAME_BAD_CHARS);
    assert_int_equal(chsm_blob_check_blob_name("a\\b"), CHSM_BLOB_NAME_BAD_CHARS);
    assert_int_equal(chsm_blob_check_blob_name("a\nb"), CHSM_BLOB_NAME_BAD_CHARS);
    assert_int_equal(chsm_blob_check_blob_name("bad\xc3"), CHSM_BLOB_NAME_BAD_CHARS);
    assert_int_equal(chsm_blob_check_blob_name("over\xc0\xaflong"), CHSM_BLOB_NAME_BAD_CHARS);
    assert_int_equal(chsm_blob_check_blob_name("a..b/.c/d.e"), CHSM_BLOB_NAME_OK);

    assert_true(chsm_blob_valid_metadata_name("Color_2"));
    assert_true(chsm_blob_valid_metadata_name("_x"));
    assert_false(chsm_blob_valid_metadata_name("2x"));
    assert_false(chsm_blob_valid_metadata_name("a-b"));
    assert_false(chsm_blob_valid_metadata_name(""));
}

static void test_xml_writer(void **state)
{
    (void)state;
    chsm_buf b = {0};
    chsm_xml_begin(&b);
    chsm_xml_open(&b, "Root");
    chsm_xml_elem(&b, "Name", "a<b>&\"c'");
    chsm_xml_elem(&b, "Empty", "");
    chsm_xml_elem(&b, "Null", NULL);
    chsm_xml_elem_u64(&b, "Size", 5000000000ULL);
    chsm_xml_close(&b, "Root");
    char *s = chsm_buf_steal(&b);
    assert_string_equal(s, "<?xml version=\"1.0\" encoding=\"utf-8\"?><Root><Name>a&lt;b&gt;&amp;"
                           "&quot;c&apos;</Name><Empty /><Null /><Size>5000000000</Size></Root>");
    /* What the writer writes, the parser reads back. */
    char err[128];
    chsm_xml_node *n = chsm_xml_parse(s, strlen(s), err, sizeof err);
    assert_non_null(n);
    assert_string_equal(chsm_xml_child(n, "Name")->text, "a<b>&\"c'");
    assert_string_equal(chsm_xml_child(n, "Empty")->text, "");
    assert_null(chsm_xml_child(n, "Missing"));
    chsm_xml_free(n);
    free(s);
}

static void test_xml_parser(void **state)
{
    (void)state;
    const char *doc = "\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<!-- c -->\n"
                      "<BlockList xmlns:x=\"u\">\n  <Latest>QUFB</Latest>\n"
                      "  <Committed attr='1'>Q&#x42;&#66;</Committed><Uncommitted><![CDATA[<x>]]>"
                      "</Uncommitted>\n</BlockList>\n";
    char err[128];
    chsm_xml_node *n = chsm_xml_parse(doc, strlen(doc), err, sizeof err);
    assert_non_null(n);
    assert_string_equal(n->name, "BlockList");
    assert_int_equal(n->nchildren, 3);
    assert_string_equal(n->children[0]->text, "QUFB");
    assert_string_equal(n->children[1]->text, "QBB");
    assert_string_equal(n->children[2]->text, "<x>");
    chsm_xml_free(n);

    static const char *const bad[] = {
        "",
        "<a>",
        "<a></b>",
        "<a>x</a><b/>",
        "<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>",
        "<a>&unknown;</a>",
        "<a>&#0;</a>",
        "<a b=c></a>",
        "<a><b></a></b>",
        "text",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        n = chsm_xml_parse(bad[i], strlen(bad[i]), err, sizeof err);
        if (n)
            fail_msg("accepted bad XML #%zu: %s", i, bad[i]);
        assert_true(err[0] != '\0');
    }
    /* Nesting beyond the limit is refused rather than recursed into. */
    chsm_buf b = {0};
    for (int i = 0; i < 100; i++)
        chsm_buf_puts(&b, "<a>");
    for (int i = 0; i < 100; i++)
        chsm_buf_puts(&b, "</a>");
    n = chsm_xml_parse(b.data, b.len, err, sizeof err);
    assert_null(n);
    chsm_buf_free(&b);
}

static void sas_request(chsm_request *req, const char *query)
{
    chsm_request_init(req, NULL, "GET");
    chsm_request_parse_query(req, query);
}

static void test_sas(void **state)
{
    (void)state;
    const char *keys[2] = {"", DEVKEY};
    int64_t now = (int64_t)1800000000 * 1000; /* 2027-01-15 */
    char why[512];
    chsm_request req;
    chsm_blob_sas s;

    /* Account SAS, version 2020-12-06 and later (with ses). */
    sas_request(&req, "sv=2025-05-05&ss=b&srt=sco&sp=rl&se=2030-01-01T00:00:00Z&spr=https&"
                      "sig=6SnnZjsJaTrrHf7Ad5jVcsJ3K0UPiytuHvUcleGfsrY%3D");
    assert_int_equal(chsm_blob_sas_parse(&req, &s), 1);
    assert_int_equal(s.kind, CHSM_SAS_ACCOUNT);
    char *sts = chsm_blob_sas_string_to_sign(&s, "devstoreaccount1", "c1", NULL);
    assert_string_equal(sts, "devstoreaccount1\nrl\nb\nsco\n\n2030-01-01T00:00:00Z\n\nhttps\n"
                             "2025-05-05\n\n");
    free(sts);
    assert_int_equal(chsm_blob_sas_check(&s, "devstoreaccount1", "c1", "x", keys, 2, now, 1,
                                         CHSM_SAS_LEVEL_OBJECT, "r", why, sizeof why),
                     CHSM_SAS_OK);
    assert_int_equal(chsm_blob_sas_check(&s, "devstoreaccount1", "c1", "x", keys, 2, now, 1,
                                         CHSM_SAS_LEVEL_OBJECT, "w", why, sizeof why),
                     CHSM_SAS_PERMISSION);
    assert_int_equal(chsm_blob_sas_check(&s, "devstoreaccount1", "c1", "x", keys, 2, now, 0,
                                         CHSM_SAS_LEVEL_OBJECT, "r", why, sizeof why),
                     CHSM_SAS_PROTOCOL);
    int64_t later = (int64_t)1900000000 * 1000; /* 2030-03 */
    assert_int_equal(chsm_blob_sas_check(&s, "devstoreaccount1", "c1", "x", keys, 2, later, 1,
                                         CHSM_SAS_LEVEL_OBJECT, "r", why, sizeof why),
                     CHSM_SAS_BAD_TIME);
    /* Another account's name changes what is signed. */
    assert_int_equal(chsm_blob_sas_check(&s, "otheraccount", "c1", "x", keys, 2, now, 1,
                                         CHSM_SAS_LEVEL_OBJECT, "r", why, sizeof why),
                     CHSM_SAS_BAD_SIGNATURE);
    assert_non_null(strstr(why, "String to sign"));
    /* The signature was verified (and remembered) above: once the key that
     * signed it is gone it no longer matches, and a changed signature never does. */
    const char *other_keys[2] = {"", "b3RoZXIga2V5IG9mIGFub3RoZXIgYWNjb3VudA=="};
    assert_int_equal(chsm_blob_sas_check(&s, "devstoreaccount1", "c1", "x", other_keys, 2, now, 1,
                                         CHSM_SAS_LEVEL_OBJECT, "r", why, sizeof why),
                     CHSM_SAS_BAD_SIGNATURE);
    size_t siglen = strlen(s.sig);
    char *tampered = chsm_strdup(s.sig);
    tampered[0] = tampered[0] == 'A' ? 'B' : 'A';
    const char *good_sig = s.sig;
    s.sig = tampered;
    assert_int_equal(chsm_blob_sas_check(&s, "devstoreaccount1", "c1", "x", keys, 2, now, 1,
                                         CHSM_SAS_LEVEL_OBJECT, "r", why, sizeof why),
                     CHSM_SAS_BAD_SIGNATURE);
    tampered[0] = good_sig[0];
    tampered[siglen - 1] = '\0'; /* a prefix of the right one */
    assert_int_equal(chsm_blob_sas_check(&s, "devstoreaccount1", "c1", "x", keys, 2, now, 1,
                                         CHSM_SAS_LEVEL_OBJECT, "r", why, sizeof why),
                     CHSM_SAS_BAD_SIGNATURE);
    s.sig = good_sig;
    free(tampered);
    assert_int_equal(chsm_blob_sas_check(&s, "devstoreaccount1", "c1", "x", keys, 2, now, 1,
                                         CHSM_SAS_LEVEL_OBJECT, "r", why, sizeof why),
                     CHSM_SAS_OK);
    chsm_request_free(&req);

    /* Account SAS before 2020-12-06 (no ses line), srt without containers. */
    sas_request(&req, "sv=2019-02-02&ss=b&srt=sco&sp=rl&se=2030-01-01T00:00:00Z&"
                      "sig=Sxvahl/0W6iNzbueLxRXcVbbsmm5PQBSDvcVsJ9/RI4=");
    chsm_blob_sas_parse(&req, &s);
    assert_int_equal(chsm_blob_sas_check(&s, "devstoreaccount1", "c1", NULL, keys, 2, now, 0,
                                         CHSM_SAS_LEVEL_CONTAINER, "l", why, sizeof why),
                     CHSM_SAS_OK);
    chsm_request_free(&req);

    /* Blob service SAS for one blob. */
    sas_request(&req, "sv=2025-05-05&sr=b&sp=r&se=2030-01-01T00:00:00Z&spr=https&"
                      "sig=QdzL3WGxJ2ZRl7XGyByguW6Qub%2BrYaVSS6LSXiGLn6I%3D");
    chsm_blob_sas_parse(&req, &s);
    assert_int_equal(s.kind, CHSM_SAS_SERVICE);
    assert_int_equal(chsm_blob_sas_check(&s, "devstoreaccount1", "c1", "a/b.txt", keys, 2, now, 1,
                                         CHSM_SAS_LEVEL_OBJECT, "r", why, sizeof why),
                     CHSM_SAS_OK);
    /* Another blob, or the container, is outside it. */
    assert_int_equal(chsm_blob_sas_check(&s, "devstoreaccount1", "c1", "a/c.txt", keys, 2, now, 1,
                                         CHSM_SAS_LEVEL_OBJECT, "r", why, sizeof why),
                     CHSM_SAS_BAD_SIGNATURE);
    assert_int_equal(chsm_blob_sas_check(&s, "devstoreaccount1", "c1", "a/b.txt", keys, 2, now, 1,
                                         CHSM_SAS_LEVEL_CONTAINER, "r", why, sizeof why),
                     CHSM_SAS_RESOURCE_MISMATCH);
    chsm_request_free(&req);

    /* Forms the emulator does not serve are refused, not guessed at. */
    sas_request(&req, "sv=2025-05-05&sr=c&si=policy1&sig=AAAA");
    chsm_blob_sas_parse(&req, &s);
    assert_int_equal(chsm_blob_sas_check(&s, "devstoreaccount1", "c1", NULL, keys, 2, now, 1,
                                         CHSM_SAS_LEVEL_CONTAINER, "l", why, sizeof why),
                     CHSM_SAS_UNSUPPORTED);
    chsm_request_free(&req);
    sas_request(&req, "sv=2025-05-05&sr=c&skoid=x&sp=r&se=2030-01-01&sig=AAAA");
    chsm_blob_sas_parse(&req, &s);
    assert_int_equal(chsm_blob_sas_check(&s, "devstoreaccount1", "c1", NULL, keys, 2, now, 1,
                                         CHSM_SAS_LEVEL_CONTAINER, "l", why, sizeof why),
                     CHSM_SAS_UNSUPPORTED);
    chsm_request_free(&req);
    sas_request(&req, "comp=list");
    assert_int_equal(chsm_blob_sas_parse(&req, &s), 0);
    chsm_request_free(&req);
}

static void test_dates(void **state)
{
    (void)state;
    int64_t ms;
    assert_int_equal(chsm_blob_parse_iso8601("2030-01-01T00:00:00Z", &ms), CHSM_OK);
    assert_true(ms == (int64_t)1893456000 * 1000);
    assert_int_equal(chsm_blob_parse_iso8601("2030-01-01", &ms), CHSM_OK);
    assert_true(ms == (int64_t)1893456000 * 1000);
    assert_int_equal(chsm_blob_parse_iso8601("2030-01-01T00:00:00.1234567Z", &ms), CHSM_OK);
    assert_int_equal(chsm_blob_parse_iso8601("2030-01-01T00:00Z", &ms), CHSM_OK);
    assert_int_equal(chsm_blob_parse_iso8601("2030-13-01", &ms), CHSM_EINVAL);
    assert_int_equal(chsm_blob_parse_iso8601("2030-01-01T00:00:00", &ms), CHSM_EINVAL);
    assert_int_equal(chsm_blob_parse_iso8601("yesterday", &ms), CHSM_EINVAL);
    assert_int_equal(chsm_blob_parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT", &ms), CHSM_OK);
    assert_true(ms == (int64_t)784111777 * 1000);
    assert_int_equal(chsm_blob_parse_http_date("Sun, 06 Foo 1994 08:49:37 GMT", &ms), CHSM_EINVAL);
    assert_int_equal(chsm_blob_parse_http_date("06 Nov 1994", &ms), CHSM_EINVAL);
    char etag1[40], etag2[40];
    chsm_blob_new_etag(1700000000000, etag1);
    chsm_blob_new_etag(1700000000000, etag2);
    assert_true(strncmp(etag1, "0x8D", 4) == 0);
    (void)etag2;
}

static void test_conditions(void **state)
{
    (void)state;
    chsm_request req;
    int64_t mod = (int64_t)784111777 * 1000; /* Sun, 06 Nov 1994 08:49:37 GMT */
    chsm_request_init(&req, NULL, "GET");
    assert_int_equal(chsm_blob_check_conditions(&req, 1, "0x1", mod, 1), CHSM_BLOB_COND_OK);
    chsm_request_add_header(&req, "If-Match", "\"0x2\", \"0x1\"");
    assert_int_equal(chsm_blob_check_conditions(&req, 1, "0x1", mod, 1), CHSM_BLOB_COND_OK);
    assert_int_equal(chsm_blob_check_conditions(&req, 1, "0x3", mod, 1), CHSM_BLOB_COND_FAILED);
    assert_int_equal(chsm_blob_check_conditions(&req, 0, "", 0, 0), CHSM_BLOB_COND_FAILED);
    chsm_request_free(&req);

    chsm_request_init(&req, NULL, "PUT");
    chsm_request_add_header(&req, "If-None-Match", "*");
    assert_int_equal(chsm_blob_check_conditions(&req, 1, "0x1", mod, 0), CHSM_BLOB_COND_EXISTS);
    assert_int_equal(chsm_blob_check_conditions(&req, 0, "", 0, 0), CHSM_BLOB_COND_OK);
    assert_int_equal(chsm_blob_check_conditions(&req, 1, "0x1", mod, 1),
                     CHSM_BLOB_COND_NOT_MODIFIED);
    chsm_request_free(&req);

    chsm_request_init(&req, NULL, "GET");
    chsm_request_add_header(&req, "If-None-Match", "W/\"0x1\"");
    assert_int_equal(chsm_blob_check_conditions(&req, 1, "0x1", mod, 1),
                     CHSM_BLOB_COND_NOT_MODIFIED);
    assert_int_equal(chsm_blob_check_conditions(&req, 1, "0x1", mod, 0), CHSM_BLOB_COND_FAILED);
    chsm_request_free(&req);

    /* Dates compare at second granularity. */
    chsm_request_init(&req, NULL, "GET");
    chsm_request_add_header(&req, "If-Modified-Since", "Sun, 06 Nov 1994 08:49:37 GMT");
    assert_int_equal(chsm_blob_check_conditions(&req, 1, "0x1", mod + 500, 1),
                     CHSM_BLOB_COND_NOT_MODIFIED);
    assert_int_equal(chsm_blob_check_conditions(&req, 1, "0x1", mod + 1000, 1), CHSM_BLOB_COND_OK);
    chsm_request_free(&req);
    chsm_request_init(&req, NULL, "PUT");
    chsm_request_add_header(&req, "If-Unmodified-Since", "Sun, 06 Nov 1994 08:49:37 GMT");
    assert_int_equal(chsm_blob_check_conditions(&req, 1, "0x1", mod, 0), CHSM_BLOB_COND_OK);
    assert_int_equal(chsm_blob_check_conditions(&req, 1, "0x1", mod + 1000, 0),
                     CHSM_BLOB_COND_FAILED);
    chsm_request_free(&req);
    /* An unparsable date is ignored, as HTTP says. */
    chsm_request_init(&req, NULL, "GET");
    chsm_request_add_header(&req, "If-Modified-Since", "garbage");
    assert_int_equal(chsm_blob_check_conditions(&req, 1, "0x1", mod, 1), CHSM_BLOB_COND_OK);
    chsm_request_free(&req);
}

static int keep_listed(void *ctx, const char *id)
{
    return strcmp(ctx, id) == 0;
}

/* count_files counts the entries of dir. */
static size_t count_files(const char *dir)
{
    char **files = NULL;
    size_t n = 0;
    assert_int_equal(chsm_list_dir(dir, &files, &n), CHSM_OK);
    for (size_t i = 0; i < n; i++)
        free(files[i]);
    free(files);
    return n;
}

static void test_content_store(void **state)
{
    (void)state;
    char tmpl[] = "/tmp/chsm-test-blob-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    chsm_blob_content c;
    assert_int_equal(chsm_blob_content_init(&c, tmpl), CHSM_OK);

    char id1[33], id2[33], id3[33];
    assert_int_equal(chsm_blob_content_write(&c, "hello", 5, id1), CHSM_OK);
    int fd;
    uint64_t size;
    assert_int_equal(chsm_blob_content_open(&c, id1, &fd, &size), CHSM_OK);
    assert_true(size == 5);
    unsigned char md5[16];
    uint64_t crc;
    assert_int_equal(chsm_blob_content_digest(fd, 0, 5, md5, &crc), CHSM_OK);
    close(fd);
    char *hex = calloc(1, 33);
    for (int i = 0; i < 16; i++)
        sprintf(hex + 2 * i, "%02x", md5[i]);
    assert_string_equal(hex, "5d41402abc4b2a76b9719d911017c592"); /* md5("hello") */
    free(hex);

    /* Import takes a finished file by link; the source stays for its owner. */
    char src[1200];
    snprintf(src, sizeof src, "%s/spilled", tmpl);
    assert_int_equal(chsm_write_file_atomic(src, "world", 5, 0600, 1), CHSM_OK);
    assert_int_equal(chsm_blob_content_import(&c, src, id2), CHSM_OK);
    assert_int_equal(access(src, F_OK), 0);
    unlink(src);
    assert_int_equal(chsm_blob_content_open(&c, id2, &fd, &size), CHSM_OK);
    close(fd);
    assert_true(size == 5);

    /* Assembly from ranges of other files. */
    chsm_blob_writer w;
    char p1[1200], p2[1200];
    chsm_blob_content_path(&c, id1, p1, sizeof p1);
    chsm_blob_content_path(&c, id2, p2, sizeof p2);
    assert_int_equal(chsm_blob_content_create(&c, &w), CHSM_OK);
    assert_int_equal(chsm_blob_content_append_file(&w, p2, 0, 5), CHSM_OK);
    assert_int_equal(chsm_blob_content_append(&w, " ", 1), CHSM_OK);
    assert_int_equal(chsm_blob_content_append_file(&w, p1, 1, 3), CHSM_OK);
    assert_int_equal(chsm_blob_content_append_file(&w, p1, 4, 10), CHSM_EIO); /* too short */
    assert_int_equal(chsm_blob_content_commit(&c, &w, id3), CHSM_OK);
    char p3[1200];
    chsm_blob_content_path(&c, id3, p3, sizeof p3);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(chsm_read_file(p3, 100, &text, &len), CHSM_OK);
    assert_true(len >= 9);
    assert_memory_equal(text, "world ell", 9);
    free(text);

    /* A large file leaves data/ when it is removed; a thread unlinks it from tmp/. */
    size_t large_len = 8u * 1024 * 1024;
    char *large = calloc(1, large_len);
    assert_non_null(large);
    char id4[33], p4[1200], tmpdir[1200];
    assert_int_equal(chsm_blob_content_write(&c, large, large_len, id4), CHSM_OK);
    free(large);
    chsm_blob_content_path(&c, id4, p4, sizeof p4);
    chsm_blob_content_remove(&c, id4);
    assert_int_equal(access(p4, F_OK), -1);
    chsm_blob_content_reap_wait();
    snprintf(tmpdir, sizeof tmpdir, "%s/blobs/tmp", tmpl);
    assert_int_equal(count_files(tmpdir), 0);
    chsm_blob_content_remove(&c, id3); /* small: unlinked at once */
    assert_int_equal(access(p3, F_OK), -1);

    /* Ids are 32 hex digits: nothing else names a path. */
    assert_int_equal(chsm_blob_content_path(&c, "../state.db", p1, sizeof p1), CHSM_EINVAL);
    assert_int_equal(chsm_blob_content_open(&c, "00000000000000000000000000000000", &fd, NULL),
                     CHSM_ENOTFOUND);

    /* Snapshots keep files that are later removed. */
    char snap[1200];
    snprintf(snap, sizeof snap, "%s/snap", tmpl);
    assert_int_equal(chsm_blob_content_save(&c, snap), CHSM_OK);
    /* Collection keeps only referenced files. */
    assert_int_equal(chsm_blob_content_collect(&c, keep_listed, id1), CHSM_OK);
    assert_int_equal(chsm_blob_content_open(&c, id1, &fd, NULL), CHSM_OK);
    close(fd);
    assert_int_equal(chsm_blob_content_open(&c, id2, &fd, NULL), CHSM_ENOTFOUND);
    assert_int_equal(chsm_blob_content_restore(&c, snap), CHSM_OK);
    assert_int_equal(chsm_blob_content_open(&c, id2, &fd, NULL), CHSM_OK);
    close(fd);
    assert_int_equal(chsm_blob_content_clear(&c), CHSM_OK);
    assert_int_equal(chsm_blob_content_open(&c, id1, &fd, NULL), CHSM_ENOTFOUND);
    chsm_remove_tree(tmpl);
}

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

static void test_repository(void **state)
{
    (void)state;
    chsm_app *app = open_app();
    chsm_store *s = app->store;
    chsm_blob_container c;
    memset(&c, 0, sizeof c);
    snprintf(c.account, sizeof c.account, "acct1");
    snprintf(c.name, sizeof c.name, "box");
    snprintf(c.etag, sizeof c.etag, "0x1");
    c.metadata = "{}";
    assert_int_equal(chsm_blob_repo_container_insert(s, &c), CHSM_OK);
    assert_int_equal(chsm_blob_repo_container_insert(s, &c), CHSM_EEXISTS);

    /* Blob names are case-sensitive and listed in byte order. */
    const char *names[] = {"b", "B", "a/x", "a/y", "c"};
    for (size_t i = 0; i < 5; i++) {
        chsm_blob_row r = {0};
        r.name = (char *)names[i];
        snprintf(r.content_id, sizeof r.content_id, "%032zx", i);
        r.size = i;
        snprintf(r.etag, sizeof r.etag, "0x%zu", i);
        assert_int_equal(chsm_blob_repo_blob_put(s, "acct1", "box", &r), CHSM_OK);
    }
    chsm_blob_row *rows;
    size_t n;
    assert_int_equal(chsm_blob_repo_blob_list(s, "acct1", "box", NULL, 0, 0, &rows, &n), CHSM_OK);
    assert_int_equal(n, 5);
    assert_string_equal(rows[0].name, "B");
    assert_string_equal(rows[1].name, "a/x");
    assert_string_equal(rows[4].name, "c");
    chsm_blob_rows_free(rows, n);
    assert_int_equal(chsm_blob_repo_blob_list(s, "acct1", "box", "a/y", 1, 10, &rows, &n), CHSM_OK);
    assert_int_equal(n, 2);
    assert_string_equal(rows[0].name, "b");
    chsm_blob_rows_free(rows, n);
    assert_int_equal(chsm_blob_repo_content_referenced(s, "00000000000000000000000000000002"), 1);
    assert_int_equal(chsm_blob_repo_content_referenced(s, "ffffffffffffffffffffffffffffffff"), 0);

    /* Blocks keep upload order; a re-upload replaces and reports the old file. */
    chsm_blob_block b = {.block_id = "QQ==", .size = 1};
    char replaced[33];
    snprintf(b.content_id, sizeof b.content_id, "%032x", 100);
    assert_int_equal(chsm_blob_repo_block_put(s, "acct1", "box", "blk", &b, replaced), CHSM_OK);
    assert_string_equal(replaced, "");
    b.block_id = "Qg==";
    snprintf(b.content_id, sizeof b.content_id, "%032x", 101);
    assert_int_equal(chsm_blob_repo_block_put(s, "acct1", "box", "blk", &b, replaced), CHSM_OK);
    b.block_id = "QQ==";
    snprintf(b.content_id, sizeof b.content_id, "%032x", 102);
    assert_int_equal(chsm_blob_repo_block_put(s, "acct1", "box", "blk", &b, replaced), CHSM_OK);
    assert_string_equal(replaced, "00000000000000000000000000000064");
    chsm_blob_block *blocks;
    assert_int_equal(chsm_blob_repo_block_list(s, "acct1", "box", "blk", &blocks, &n), CHSM_OK);
    assert_int_equal(n, 2);
    assert_string_equal(blocks[0].block_id, "Qg==");
    assert_string_equal(blocks[1].block_id, "QQ==");
    chsm_blob_blocks_free(blocks, n);

    /* Deleting the container takes its blobs and blocks and names their files. */
    char **ids = NULL;
    size_t nids = 0;
    assert_int_equal(chsm_blob_repo_container_delete(s, "acct1", "box", &ids, &nids), CHSM_OK);
    assert_int_equal(nids, 7);
    chsm_blob_repo_ids_free(ids, nids);
    ids = NULL;
    nids = 0;
    assert_int_equal(chsm_blob_repo_container_delete(s, "acct1", "box", &ids, &nids),
                     CHSM_ENOTFOUND);
    chsm_blob_repo_ids_free(ids, nids);
    chsm_blob_row gone;
    assert_int_equal(chsm_blob_repo_blob_get(s, "acct1", "box", "b", &gone), CHSM_ENOTFOUND);
    chsm_app_close(app);
}

/* A probe over fixed values, as the HTTP layer shows a spilling request. */
typedef struct fake_probe {
    chsm_body_probe probe;
    const char *comp;      /* the comp= parameter, or NULL */
    const char *blob_type; /* x-ms-blob-type, or NULL */
} fake_probe;

static const char *fake_header(const chsm_body_probe *p, const char *name)
{
    const fake_probe *f = (const fake_probe *)p;
    return strcmp(name, "x-ms-blob-type") == 0 ? f->blob_type : NULL;
}

static const char *fake_query(const chsm_body_probe *p, const char *name)
{
    const fake_probe *f = (const fake_probe *)p;
    return strcmp(name, "comp") == 0 ? f->comp : NULL;
}

/* The spill observer hashes a Put Blob body while it is written, in pieces of
 * any size, and ignores other requests. */
static void test_spill_observer(void **state)
{
    (void)state;
    char path[] = "/tmp/chsm-test-spill-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    fake_probe fp = {
        {"PUT", "/devstoreaccount1/c/b", fd, fake_header, fake_query, NULL}, NULL, "BlockBlob"};
    const chsm_spill_observer *o = &chsm_blob_spill_observer;
    void *st = o->begin(NULL, &fp.probe);
    assert_non_null(st);
    size_t total = 3 * 1024 * 1024 + 12345;
    unsigned char *all = malloc(total);
    assert_non_null(all);
    for (size_t i = 0; i < total; i++)
        all[i] = (unsigned char)(i * 131 + (i >> 9));
    size_t done = 0, piece = 1;
    while (done < total) {
        size_t n = total - done < piece ? total - done : piece;
        assert_int_equal(write(fd, all + done, n), (ssize_t)n);
        o->wrote(st, n);
        done += n;
        piece = piece * 3 + 7; /* 1, 10, 37, ... up to megabytes */
    }
    chsm_request req;
    chsm_request_init(&req, NULL, "PUT");
    req.body_path = path;
    req.body_len = total;
    req.body_observed = st;
    unsigned char got[16], want[16];
    assert_int_equal(chsm_blob_observed_md5(&req, got), CHSM_OK);
    chsm_crypto_md5(all, total, want);
    assert_memory_equal(got, want, 16);
    o->end(st);
    /* Ended before the body was complete: the thread stops without a digest. */
    st = o->begin(NULL, &fp.probe);
    assert_non_null(st);
    o->wrote(st, total);
    o->end(st);
    /* A file shorter than reported: no digest, the handler hashes it itself. */
    st = o->begin(NULL, &fp.probe);
    o->wrote(st, total + 1);
    req.body_observed = st;
    assert_int_equal(chsm_blob_observed_md5(&req, got), CHSM_EIO);
    o->end(st);
    req.body_observed = NULL;
    assert_int_equal(chsm_blob_observed_md5(&req, got), CHSM_ENOTFOUND);
    /* Put Block and requests without x-ms-blob-type are not hashed. */
    fp.comp = "block";
    assert_null(o->begin(NULL, &fp.probe));
    fp.comp = NULL;
    fp.blob_type = NULL;
    assert_null(o->begin(NULL, &fp.probe));
    free(all);
    close(fd);
}

static void test_in_process_api(void **state)
{
    (void)state;
    chsm_app *app = open_app();
    int created = 0;
    chsm_blob_container c;
    assert_int_equal(
        chsm_blob_arm_container_put(app, "devstoreaccount1", "backups", "", "{}", &created, &c),
        CHSM_OK);
    assert_true(created);
    chsm_blob_container_clear(&c);
    assert_int_equal(chsm_blob_container_exists(app, "devstoreaccount1", "backups"), 1);
    assert_int_equal(chsm_blob_container_exists(app, "devstoreaccount1", "other"), 0);
    assert_int_equal(chsm_blob_container_exists(app, "nosuchaccount", "backups"), 0);

    cJSON *meta = cJSON_CreateObject();
    cJSON_AddStringToObject(meta, "cluster", "chsm1");
    assert_int_equal(
        chsm_blob_write(app, "devstoreaccount1", "backups", "b/1.bin", "abc", 3, NULL, meta),
        CHSM_OK);
    unsigned char *data;
    size_t len;
    assert_int_equal(
        chsm_blob_read(app, "devstoreaccount1", "backups", "b/1.bin", 100, &data, &len), CHSM_OK);
    assert_int_equal(len, 3);
    assert_memory_equal(data, "abc", 3);
    free(data);
    /* An overwrite replaces the content and removes the old file. */
    assert_int_equal(chsm_blob_write(app, "devstoreaccount1", "backups", "b/1.bin", "defg", 4,
                                     "application/octet-stream", NULL),
                     CHSM_OK);
    assert_int_equal(
        chsm_blob_read(app, "devstoreaccount1", "backups", "b/1.bin", 100, &data, &len), CHSM_OK);
    assert_int_equal(len, 4);
    assert_memory_equal(data, "defg", 4);
    free(data);
    /* Small content is kept in the row: no file. */
    char dir[1200];
    snprintf(dir, sizeof dir, "%s/blobs/data", app->data_dir);
    assert_int_equal(count_files(dir), 0);
    /* Larger content is a file; replacing it by small content removes the file. */
    size_t big_len = CHSM_BLOB_INLINE_MAX + 1;
    unsigned char *big = malloc(big_len);
    assert_non_null(big);
    for (size_t i = 0; i < big_len; i++)
        big[i] = (unsigned char)(i * 7);
    assert_int_equal(
        chsm_blob_write(app, "devstoreaccount1", "backups", "b/1.bin", big, big_len, NULL, NULL),
        CHSM_OK);
    assert_int_equal(count_files(dir), 1);
    assert_int_equal(
        chsm_blob_read(app, "devstoreaccount1", "backups", "b/1.bin", big_len, &data, &len),
        CHSM_OK);
    assert_int_equal(len, big_len);
    assert_memory_equal(data, big, big_len);
    free(data);
    free(big);
    assert_int_equal(chsm_blob_write(app, "devstoreaccount1", "backups", "b/1.bin", "defg", 4,
                                     "application/octet-stream", NULL),
                     CHSM_OK);
    assert_int_equal(count_files(dir), 0);
    assert_int_equal(
        chsm_blob_read(app, "devstoreaccount1", "backups", "b/1.bin", 100, &data, &len), CHSM_OK);
    assert_int_equal(len, 4);
    assert_memory_equal(data, "defg", 4);
    free(data);

    assert_int_equal(chsm_blob_read(app, "devstoreaccount1", "backups", "b/1.bin", 3, &data, &len),
                     CHSM_ETOOBIG);
    assert_int_equal(chsm_blob_read(app, "devstoreaccount1", "backups", "missing", 10, &data, &len),
                     CHSM_ENOTFOUND);
    assert_int_equal(chsm_blob_write(app, "devstoreaccount1", "nobox", "x", "a", 1, NULL, NULL),
                     CHSM_ENOTFOUND);
    assert_int_equal(
        chsm_blob_write(app, "devstoreaccount1", "backups", "../x", "a", 1, NULL, NULL),
        CHSM_EINVAL);
    cJSON *bad = cJSON_CreateObject();
    cJSON_AddStringToObject(bad, "not-valid", "x");
    assert_int_equal(chsm_blob_write(app, "devstoreaccount1", "backups", "y", "a", 1, NULL, bad),
                     CHSM_EINVAL);
    cJSON_Delete(bad);

    char *rid = chsm_blob_account_resource_id(app, "devstoreaccount1");
    assert_non_null(rid);
    assert_non_null(strstr(rid, "/storageAccounts/devstoreaccount1"));
    free(rid);
    assert_null(chsm_blob_account_resource_id(app, "nosuchaccount"));
    cJSON_Delete(meta);
    chsm_app_close(app);
}

static void test_resolve_container_uri(void **state)
{
    (void)state;
    char a[32], c[64];
    assert_int_equal(chsm_blob_resolve_container_uri("https://drbackups.blob.core.windows.net/"
                                                     "backups",
                                                     a, sizeof a, c, sizeof c),
                     CHSM_OK);
    assert_string_equal(a, "drbackups");
    assert_string_equal(c, "backups");
    assert_int_equal(chsm_blob_resolve_container_uri("https://DrBackups.Blob.Core.Windows.Net/"
                                                     "backups/",
                                                     a, sizeof a, c, sizeof c),
                     CHSM_OK);
    assert_string_equal(a, "drbackups");
    assert_int_equal(chsm_blob_resolve_container_uri("https://127.0.0.1:10000/devstoreaccount1/"
                                                     "hsm-backups",
                                                     a, sizeof a, c, sizeof c),
                     CHSM_OK);
    assert_string_equal(a, "devstoreaccount1");
    assert_string_equal(c, "hsm-backups");
    assert_int_equal(chsm_blob_resolve_container_uri("http://acct1.blob.localhost:10000/box", a,
                                                     sizeof a, c, sizeof c),
                     CHSM_OK);
    assert_string_equal(a, "acct1");
    assert_string_equal(c, "box");
    static const char *const bad[] = {
        "https://acct.blob.core.windows.net/box?sv=2020&sig=x",
        "https://acct.blob.core.windows.net/box/blob",
        "https://acct.blob.core.windows.net/",
        "https://acct.blob.core.windows.net/Bad_Box",
        "ftp://acct.blob.core.windows.net/box",
        "https://127.0.0.1:10000/devstoreaccount1",
        "https://user@acct.blob.core.windows.net/box",
        "not a uri",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (chsm_blob_resolve_container_uri(bad[i], a, sizeof a, c, sizeof c) != CHSM_EINVAL)
            fail_msg("accepted %s", bad[i]);
}

/* dispatch builds and answers one signed request to the blob listener. */
static void dispatch(chsm_app *app, const char *method, const char *path, const char *query,
                     const char *body, chsm_response *res, const char *extra_name,
                     const char *extra_value)
{
    chsm_request req;
    chsm_request_init(&req, app, method);
    req.listener = CHSM_LISTENER_BLOB;
    assert_int_equal(chsm_request_set_path(&req, path), CHSM_OK);
    if (query)
        chsm_request_parse_query(&req, query);
    chsm_request_add_header(&req, "x-ms-date", "Fri, 26 Jun 2015 23:39:12 GMT");
    chsm_request_add_header(&req, "x-ms-version", "2025-05-05");
    if (extra_name)
        chsm_request_add_header(&req, extra_name, extra_value);
    char cl[24];
    if (body) {
        snprintf(cl, sizeof cl, "%zu", strlen(body));
        chsm_request_add_header(&req, "Content-Length", cl);
        req.body = (const unsigned char *)body;
        req.body_len = strlen(body);
    }
    char *sts = chsm_blob_sharedkey_string_to_sign(&req, "devstoreaccount1", path);
    char *sig = chsm_blob_hmac_base64(DEVKEY, sts);
    char auth[200];
    snprintf(auth, sizeof auth, "SharedKey devstoreaccount1:%s", sig);
    chsm_request_add_header(&req, "Authorization", auth);
    free(sts);
    free(sig);
    chsm_response_init(res);
    chsm_app_dispatch(app, &req, res);
    chsm_request_free(&req);
}

static void test_dispatch(void **state)
{
    (void)state;
    chsm_app *app = open_app();
    chsm_response res;
    dispatch(app, "PUT", "/devstoreaccount1/box", "restype=container", NULL, &res, NULL, NULL);
    assert_int_equal(res.status, 201);
    chsm_response_free(&res);
    dispatch(app, "PUT", "/devstoreaccount1/box/hello.txt", NULL, "hello world", &res,
             "x-ms-blob-type", "BlockBlob");
    assert_int_equal(res.status, 201);
    assert_string_equal(chsm_response_find_header(&res, "Content-MD5"), "XrY7u+Ae7tCTyyK7j1rNww==");
    chsm_response_free(&res);
    dispatch(app, "GET", "/devstoreaccount1/box/hello.txt", NULL, NULL, &res, "x-ms-range",
             "bytes=6-");
    assert_int_equal(res.status, 206);
    /* A small blob's content is in its row: the answer is a copy of the range. */
    assert_true(res.body_fd < 0);
    assert_int_equal(res.body_len, 5);
    assert_memory_equal(res.body, "world", 5);
    assert_string_equal(chsm_response_find_header(&res, "Content-Range"), "bytes 6-10/11");
    chsm_response_free(&res);
    dispatch(app, "HEAD", "/devstoreaccount1/box/hello.txt", NULL, NULL, &res, NULL, NULL);
    assert_int_equal(res.status, 200);
    assert_int_equal(res.body_len, 11); /* the Content-Length HEAD answers with */
    chsm_response_free(&res);
    /* A larger one is a file the answer streams. */
    char *large = malloc(CHSM_BLOB_INLINE_MAX + 2);
    assert_non_null(large);
    memset(large, 'L', CHSM_BLOB_INLINE_MAX + 1);
    large[CHSM_BLOB_INLINE_MAX + 1] = '\0';
    dispatch(app, "PUT", "/devstoreaccount1/box/large.bin", NULL, large, &res, "x-ms-blob-type",
             "BlockBlob");
    assert_int_equal(res.status, 201);
    chsm_response_free(&res);
    free(large);
    dispatch(app, "GET", "/devstoreaccount1/box/large.bin", NULL, NULL, &res, "x-ms-range",
             "bytes=6-");
    assert_int_equal(res.status, 206);
    assert_true(res.body_fd >= 0);
    assert_true(res.body_fd_offset == 6 && res.body_fd_len == CHSM_BLOB_INLINE_MAX + 1 - 6);
    chsm_response_free(&res);
    dispatch(app, "GET", "/devstoreaccount1/box", "restype=container&comp=list", NULL, &res, NULL,
             NULL);
    assert_int_equal(res.status, 200);
    assert_non_null(strstr(res.body, "<Blob><Name>hello.txt</Name><Properties>"));
    assert_non_null(strstr(res.body, "<Content-Length>11</Content-Length>"));
    chsm_response_free(&res);
    /* Errors are Azure's XML with the code in a header too. */
    dispatch(app, "GET", "/devstoreaccount1/box/nope", NULL, NULL, &res, NULL, NULL);
    assert_int_equal(res.status, 404);
    assert_string_equal(chsm_response_find_header(&res, "x-ms-error-code"), "BlobNotFound");
    assert_non_null(strstr(res.body, "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>"
                                     "BlobNotFound</Code><Message>The specified blob does not "
                                     "exist.\nRequestId:"));
    chsm_response_free(&res);
    dispatch(app, "POST", "/devstoreaccount1/box/hello.txt", NULL, NULL, &res, NULL, NULL);
    assert_int_equal(res.status, 501);
    chsm_response_free(&res);
    dispatch(app, "PATCH", "/devstoreaccount1/box/hello.txt", NULL, NULL, &res, NULL, NULL);
    assert_string_equal(chsm_response_find_header(&res, "x-ms-error-code"), "UnsupportedHttpVerb");
    chsm_response_free(&res);
    dispatch(app, "GET", "/nosuchaccount/box", "restype=container", NULL, &res, NULL, NULL);
    assert_int_equal(res.status, 404);
    chsm_response_free(&res);
    chsm_app_close(app);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sharedkey_doc_example),
        cmocka_unit_test(test_canonical_resource),
        cmocka_unit_test(test_canonical_headers),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_xml_writer),
        cmocka_unit_test(test_xml_parser),
        cmocka_unit_test(test_sas),
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_conditions),
        cmocka_unit_test(test_content_store),
        cmocka_unit_test(test_repository),
        cmocka_unit_test(test_in_process_api),
        cmocka_unit_test(test_spill_observer),
        cmocka_unit_test(test_resolve_container_uri),
        cmocka_unit_test(test_dispatch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

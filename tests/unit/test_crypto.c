/* test_crypto.c - known-answer and misuse tests for the crypto layer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/cert.h"
#include "crypto/digest.h"
#include "crypto/jwt.h"
#include "crypto/keypool.h"
#include "crypto/keys.h"
#include "crypto/password.h"
#include "crypto/seal.h"
#include "util/status.h"

/* hex_of returns the lowercase hex of n bytes in a static buffer (tests only). */
static const char *hex_of(const void *data, size_t n)
{
    static char out[2 * 128 + 1];
    assert_true(n <= 128);
    chsm_crypto_hex(data, n, out);
    return out;
}

/* ---- digest.h ---- */

static void test_sha256_md5(void **state)
{
    (void)state;
    unsigned char h[32], m[16];
    chsm_crypto_sha256("abc", 3, h);
    assert_string_equal(hex_of(h, 32),
                        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    chsm_crypto_sha256(NULL, 0, h);
    assert_string_equal(hex_of(h, 32),
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    chsm_crypto_md5("", 0, m);
    assert_string_equal(hex_of(m, 16), "d41d8cd98f00b204e9800998ecf8427e");
    chsm_crypto_md5("abc", 3, m);
    assert_string_equal(hex_of(m, 16), "900150983cd24fb0d6963f7d28e17f72");
}

static void test_hmac_rfc4231_case2(void **state)
{
    (void)state;
    unsigned char mac[32];
    const char *data = "what do ya want for nothing?";
    assert_int_equal(chsm_crypto_hmac_sha256("Jefe", 4, data, strlen(data), mac), CHSM_OK);
    assert_string_equal(hex_of(mac, 32),
                        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    /* An empty key is valid HMAC (RFC 2104 pads it with zeros). */
    assert_int_equal(chsm_crypto_hmac_sha256(NULL, 0, "", 0, mac), CHSM_OK);
    assert_string_equal(hex_of(mac, 32),
                        "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

static void test_random_hex_equal(void **state)
{
    (void)state;
    unsigned char a[32], b[32];
    assert_int_equal(chsm_crypto_random(a, sizeof a), CHSM_OK);
    assert_int_equal(chsm_crypto_random(b, sizeof b), CHSM_OK);
    assert_memory_not_equal(a, b, sizeof a);
    assert_int_equal(chsm_crypto_random(a, 0), CHSM_OK);

    char hex[9];
    chsm_crypto_hex("\x00\x7f\xab\xff", 4, hex);
    assert_string_equal(hex, "007fabff");
    chsm_crypto_hex("", 0, hex);
    assert_string_equal(hex, "");

    assert_int_equal(chsm_crypto_equal("abcd", "abcd", 4), 1);
    assert_int_equal(chsm_crypto_equal("abcd", "abce", 4), 0);
    assert_int_equal(chsm_crypto_equal("x", "y", 0), 1);
}

static void test_base64_vectors(void **state)
{
    (void)state;
    /* RFC 4648 section 10. */
    static const char *plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *enc[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    static const char *url[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    for (size_t i = 0; i < sizeof plain / sizeof *plain; i++) {
        char *e = chsm_crypto_base64_encode(plain[i], strlen(plain[i]));
        assert_non_null(e);
        assert_string_equal(e, enc[i]);
        free(e);
        e = chsm_crypto_base64url_encode(plain[i], strlen(plain[i]));
        assert_non_null(e);
        assert_string_equal(e, url[i]);
        free(e);

        unsigned char *d = NULL;
        size_t n = 99;
        assert_int_equal(chsm_crypto_base64_decode(enc[i], &d, &n), CHSM_OK);
        assert_int_equal(n, strlen(plain[i]));
        assert_memory_equal(d, plain[i], n);
        assert_int_equal(d[n], '\0');
        free(d);
        assert_int_equal(chsm_crypto_base64url_decode(url[i], strlen(url[i]), &d, &n), CHSM_OK);
        assert_int_equal(n, strlen(plain[i]));
        assert_memory_equal(d, plain[i], n);
        free(d);
    }
    /* The two alphabets differ only in the last two characters. */
    char *e = chsm_crypto_base64_encode("\xfb\xff\xbf", 3);
    assert_string_equal(e, "+/+/");
    free(e);
    e = chsm_crypto_base64url_encode("\xfb\xff\xbf", 3);
    assert_string_equal(e, "-_-_");
    free(e);
}

static void test_base64_round_trip(void **state)
{
    (void)state;
    unsigned char data[70];
    assert_int_equal(chsm_crypto_random(data, sizeof data), CHSM_OK);
    for (size_t n = 0; n <= sizeof data; n++) {
        unsigned char *d = NULL;
        size_t dn = 0;
        char *e = chsm_crypto_base64_encode(data, n);
        assert_non_null(e);
        assert_int_equal(strlen(e) % 4, 0);
        assert_int_equal(chsm_crypto_base64_decode(e, &d, &dn), CHSM_OK);
        assert_int_equal(dn, n);
        assert_memory_equal(d, data, n);
        free(d);
        free(e);

        e = chsm_crypto_base64url_encode(data, n);
        assert_non_null(e);
        assert_null(strpbrk(e, "+/="));
        assert_int_equal(chsm_crypto_base64url_decode(e, strlen(e), &d, &dn), CHSM_OK);
        assert_int_equal(dn, n);
        assert_memory_equal(d, data, n);
        free(d);
        free(e);
    }
}

static void test_base64_rejects(void **state)
{
    (void)state;
    static const char *bad[] = {
        "Zg=",          /* short quantum */
        "Zg",           /* missing padding */
        "Z===",         /* too much padding */
        "====",         /* padding only */
        "=Zg=",         /* padding first */
        "Zg=a",         /* data after padding */
        "Zg==Zg==",     /* padding in the middle */
        "Zm9v\n",       /* whitespace */
        "Zm 9v",        /* space */
        "Zm-v",         /* URL alphabet */
        "Zm9v=",        /* stray padding */
        "Zh==",         /* non-zero bits after the last byte */
        "Zm9=",         /* likewise with one pad */
        "Zm9v\xc3\xa9", /* non-ASCII */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        unsigned char *d = (unsigned char *)"untouched";
        size_t n = 7;
        assert_int_equal(chsm_crypto_base64_decode(bad[i], &d, &n), CHSM_EINVAL);
        assert_string_equal((char *)d, "untouched");
        assert_int_equal(n, 7);
    }
    static const char *badurl[] = {"Zg==", "Zm8=", "Z",  "Zm9vY", "Zm+v",
                                   "Zm/v", "Zm 9", "Zh", "Zm9"};
    for (size_t i = 0; i < sizeof badurl / sizeof *badurl; i++) {
        unsigned char *d = NULL;
        size_t n = 0;
        assert_int_equal(chsm_crypto_base64url_decode(badurl[i], strlen(badurl[i]), &d, &n),
                         CHSM_EINVAL);
        assert_null(d);
    }
    /* slen bounds the input: a valid prefix of a longer string decodes alone. */
    unsigned char *d = NULL;
    size_t n = 0;
    assert_int_equal(chsm_crypto_base64url_decode("Zm9v.rest", 4, &d, &n), CHSM_OK);
    assert_int_equal(n, 3);
    assert_memory_equal(d, "foo", 3);
    free(d);
    assert_int_equal(chsm_crypto_base64_decode(NULL, &d, &n), CHSM_EINVAL);
}

static void test_crc64(void **state)
{
    (void)state;
    /* CRC-64/NVME check value, which is the Azure Storage CRC-64 (see digest.h). */
    assert_true(chsm_crypto_crc64(0, "123456789", 9) == 0xae8b14860a799888ull);
    assert_true(chsm_crypto_crc64(0, "", 0) == 0);
    /* Chaining over chunks equals one pass. */
    uint64_t c = chsm_crypto_crc64(0, "1234", 4);
    c = chsm_crypto_crc64(c, "", 0);
    c = chsm_crypto_crc64(c, "56789", 5);
    assert_true(c == 0xae8b14860a799888ull);
    assert_true(chsm_crypto_crc64(0, "123456788", 9) != 0xae8b14860a799888ull);
}

/* ---- seal.h ---- */

static void test_hkdf_rfc5869_case1(void **state)
{
    (void)state;
    unsigned char ikm[22], salt[13], info[10], okm[42];
    memset(ikm, 0x0b, sizeof ikm);
    for (int i = 0; i < 13; i++)
        salt[i] = (unsigned char)i;
    for (int i = 0; i < 10; i++)
        info[i] = (unsigned char)(0xf0 + i);
    assert_int_equal(chsm_crypto_hkdf_sha256(ikm, sizeof ikm, salt, sizeof salt, info, sizeof info,
                                             okm, sizeof okm),
                     CHSM_OK);
    assert_string_equal(hex_of(okm, 42), "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db0"
                                         "2d56ecc4c5bf34007208d5b887185865");
    /* RFC 5869 test case 3: no salt, no info. */
    assert_int_equal(chsm_crypto_hkdf_sha256(ikm, sizeof ikm, NULL, 0, NULL, 0, okm, sizeof okm),
                     CHSM_OK);
    assert_string_equal(hex_of(okm, 42), "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e"
                                         "5f3c738d2d9d201395faa4b61a96c8");
    assert_int_equal(chsm_crypto_hkdf_sha256(ikm, sizeof ikm, NULL, 0, NULL, 0, okm, 0),
                     CHSM_EINVAL);
}

static void test_gcm_known_answer(void **state)
{
    (void)state;
    /* GCM specification (McGrew & Viega) test cases 13 and 14: zero key and iv. */
    unsigned char key[32] = {0}, iv[12] = {0}, zero[16] = {0}, ct[16], tag[16], pt[16];
    assert_int_equal(chsm_crypto_aes256gcm_seal(key, iv, NULL, 0, NULL, 0, NULL, tag), CHSM_OK);
    assert_string_equal(hex_of(tag, 16), "530f8afbc74536b9a963b4f1c4cb738b");
    assert_int_equal(chsm_crypto_aes256gcm_open(key, iv, NULL, 0, NULL, 0, tag, NULL), CHSM_OK);
    assert_int_equal(chsm_crypto_aes256gcm_seal(key, iv, NULL, 0, zero, 16, ct, tag), CHSM_OK);
    assert_string_equal(hex_of(ct, 16), "cea7403d4d606b6e074ec5d3baf39d18");
    assert_string_equal(hex_of(tag, 16), "d0d1c8a799996bf0265b98b5d48ab919");
    assert_int_equal(chsm_crypto_aes256gcm_open(key, iv, NULL, 0, ct, 16, tag, pt), CHSM_OK);
    assert_memory_equal(pt, zero, 16);
}

static void test_gcm_tamper(void **state)
{
    (void)state;
    unsigned char key[32], iv[12], aad[20], plain[37], ct[37], tag[16], out[37];
    assert_int_equal(chsm_crypto_random(key, sizeof key), CHSM_OK);
    assert_int_equal(chsm_crypto_random(iv, sizeof iv), CHSM_OK);
    assert_int_equal(chsm_crypto_random(aad, sizeof aad), CHSM_OK);
    assert_int_equal(chsm_crypto_random(plain, sizeof plain), CHSM_OK);
    assert_int_equal(
        chsm_crypto_aes256gcm_seal(key, iv, aad, sizeof aad, plain, sizeof plain, ct, tag),
        CHSM_OK);
    assert_memory_not_equal(ct, plain, sizeof plain);
    assert_int_equal(chsm_crypto_aes256gcm_open(key, iv, aad, sizeof aad, ct, sizeof ct, tag, out),
                     CHSM_OK);
    assert_memory_equal(out, plain, sizeof plain);

    /* Flip each byte of each input in turn; every change must fail authentication. */
    struct {
        unsigned char *p;
        size_t n;
    } parts[] = {
        {ct, sizeof ct}, {tag, sizeof tag}, {iv, sizeof iv}, {aad, sizeof aad}, {key, sizeof key}};
    for (size_t k = 0; k < sizeof parts / sizeof *parts; k++) {
        for (size_t i = 0; i < parts[k].n; i++) {
            parts[k].p[i] ^= 0x01;
            memset(out, 0xAA, sizeof out);
            assert_int_equal(
                chsm_crypto_aes256gcm_open(key, iv, aad, sizeof aad, ct, sizeof ct, tag, out),
                CHSM_ECRYPTO);
            /* Unauthenticated plaintext is never handed out. */
            unsigned char zero[sizeof out] = {0};
            assert_memory_equal(out, zero, sizeof out);
            parts[k].p[i] ^= 0x01;
        }
    }
    /* Dropping the aad or truncating the ciphertext also fails. */
    assert_int_equal(chsm_crypto_aes256gcm_open(key, iv, NULL, 0, ct, sizeof ct, tag, out),
                     CHSM_ECRYPTO);
    assert_int_equal(
        chsm_crypto_aes256gcm_open(key, iv, aad, sizeof aad, ct, sizeof ct - 1, tag, out),
        CHSM_ECRYPTO);
    assert_int_equal(chsm_crypto_aes256gcm_open(key, iv, aad, sizeof aad, ct, sizeof ct, tag, out),
                     CHSM_OK);
}

/* A reusable context gives the one-shot functions' results call after call, also after a
 * failed open, and works in place. */
static void test_gcm_context(void **state)
{
    (void)state;
    unsigned char key[32], iv[12], aad[9] = "aad bytes", plain[45], ct[45], ct1[45], tag[16],
                                   tag1[16], out[45];
    assert_int_equal(chsm_crypto_random(key, sizeof key), CHSM_OK);
    chsm_crypto_gcm *g = NULL;
    assert_int_equal(chsm_crypto_gcm_new(key, &g), CHSM_OK);
    for (int round = 0; round < 5; round++) {
        assert_int_equal(chsm_crypto_random(iv, sizeof iv), CHSM_OK);
        assert_int_equal(chsm_crypto_random(plain, sizeof plain), CHSM_OK);
        size_t n = sizeof plain - (size_t)round * 7; /* lengths differ between calls */
        assert_int_equal(chsm_crypto_gcm_seal(g, iv, aad, sizeof aad, plain, n, ct, tag), CHSM_OK);
        assert_int_equal(chsm_crypto_aes256gcm_seal(key, iv, aad, sizeof aad, plain, n, ct1, tag1),
                         CHSM_OK);
        assert_memory_equal(ct, ct1, n);
        assert_memory_equal(tag, tag1, 16);
        tag[round] ^= 1;
        memset(out, 0xAA, sizeof out);
        assert_int_equal(chsm_crypto_gcm_open(g, iv, aad, sizeof aad, ct, n, tag, out),
                         CHSM_ECRYPTO);
        unsigned char zero[sizeof out] = {0};
        assert_memory_equal(out, zero, n);
        tag[round] ^= 1;
        assert_int_equal(chsm_crypto_gcm_open(g, iv, aad, sizeof aad, ct, n, tag, out), CHSM_OK);
        assert_memory_equal(out, plain, n);
        /* in place: the ciphertext buffer becomes the plaintext */
        assert_int_equal(chsm_crypto_gcm_open(g, iv, aad, sizeof aad, ct, n, tag, ct), CHSM_OK);
        assert_memory_equal(ct, plain, n);
    }
    /* Known answer (GCM test case 14) through a context. */
    unsigned char zkey[32] = {0}, ziv[12] = {0}, zero16[16] = {0};
    chsm_crypto_gcm *z = NULL;
    assert_int_equal(chsm_crypto_gcm_new(zkey, &z), CHSM_OK);
    assert_int_equal(chsm_crypto_gcm_seal(z, ziv, NULL, 0, zero16, 16, ct, tag), CHSM_OK);
    assert_string_equal(hex_of(ct, 16), "cea7403d4d606b6e074ec5d3baf39d18");
    assert_string_equal(hex_of(tag, 16), "d0d1c8a799996bf0265b98b5d48ab919");
    chsm_crypto_gcm *none = NULL;
    assert_int_equal(chsm_crypto_gcm_new(NULL, &none), CHSM_EINVAL);
    assert_null(none);
    chsm_crypto_gcm_free(z);
    chsm_crypto_gcm_free(g);
    chsm_crypto_gcm_free(NULL);
}

/* ---- password.h ---- */

static void test_password_hash_verify(void **state)
{
    (void)state;
    char h1[CHSM_CRYPTO_PASSWORD_HASH_LEN], h2[CHSM_CRYPTO_PASSWORD_HASH_LEN];
    assert_int_equal(chsm_crypto_password_hash("correct horse", h1, sizeof h1), CHSM_OK);
    assert_int_equal(chsm_crypto_password_hash("correct horse", h2, sizeof h2), CHSM_OK);
    assert_true(strncmp(h1, "pbkdf2-sha256$100000$", 21) == 0);
    assert_string_not_equal(h1, h2); /* random salts */
    assert_int_equal(chsm_crypto_password_verify("correct horse", h1), 1);
    assert_int_equal(chsm_crypto_password_verify("correct horse", h2), 1);
    assert_int_equal(chsm_crypto_password_verify("correct horsf", h1), 0);
    assert_int_equal(chsm_crypto_password_verify("", h1), 0);

    char small[40];
    assert_true(chsm_crypto_password_hash("x", small, sizeof small) < 0);
    assert_string_equal(small, "");

    assert_int_equal(chsm_crypto_password_hash("", h1, sizeof h1), CHSM_OK);
    assert_int_equal(chsm_crypto_password_verify("", h1), 1);
}

/* The key pool hands out fresh RSA-2048 keys made in the background, each one
 * once; with the pool stopped, generation happens on the spot as before. */
static void test_keypool(void **state)
{
    (void)state;
    unsigned char *a = NULL, *b = NULL;
    size_t alen = 0, blen = 0;
    assert_int_equal(chsm_crypto_keypool_take(&a, &alen), CHSM_ENOTFOUND); /* not running */
    assert_int_equal(chsm_crypto_keypool_start(0), CHSM_EINVAL);
    assert_int_equal(chsm_crypto_keypool_start(1), CHSM_OK);
    assert_int_equal(chsm_crypto_keypool_start(2), CHSM_OK); /* shared, deeper */
    for (int i = 0; i < 600 && chsm_crypto_keypool_take(&a, &alen) != CHSM_OK; i++)
        usleep(50 * 1000);
    assert_non_null(a);
    chsm_key_desc d;
    assert_int_equal(chsm_crypto_key_describe(a, alen, &d), CHSM_OK);
    assert_string_equal(d.type, "RSA");
    assert_int_equal(d.bits, 2048);
    assert_int_equal(d.is_private, 1);
    /* Through the generator: a pooled or a fresh key, never the same one twice. */
    assert_int_equal(chsm_crypto_key_generate_rsa(2048, 65537, &b, &blen), CHSM_OK);
    assert_false(alen == blen && memcmp(a, b, alen) == 0);
    chsm_crypto_key_free(a, alen);
    chsm_crypto_key_free(b, blen);
    chsm_crypto_keypool_stop();
    chsm_crypto_keypool_stop(); /* the last reference stops the thread */
    chsm_crypto_keypool_stop(); /* one too many is harmless */
    assert_int_equal(chsm_crypto_keypool_take(&a, &alen), CHSM_ENOTFOUND);
}

/* The memo of verified pairs answers only for the exact pair: a password that
 * matched one hash does not match another hash, and a near miss still fails. */
static void test_password_memo(void **state)
{
    (void)state;
    char h1[CHSM_CRYPTO_PASSWORD_HASH_LEN], h2[CHSM_CRYPTO_PASSWORD_HASH_LEN];
    assert_int_equal(chsm_crypto_password_hash("alpha", h1, sizeof h1), CHSM_OK);
    assert_int_equal(chsm_crypto_password_hash("beta", h2, sizeof h2), CHSM_OK);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(chsm_crypto_password_verify("alpha", h1), 1);
        assert_int_equal(chsm_crypto_password_verify("beta", h1), 0);
        assert_int_equal(chsm_crypto_password_verify("alpha", h2), 0);
        assert_int_equal(chsm_crypto_password_verify("alph", h1), 0);
    }
    /* A tampered hash string is not taken for the remembered one. */
    h1[strlen(h1) - 3] = h1[strlen(h1) - 3] == 'A' ? 'B' : 'A';
    assert_int_equal(chsm_crypto_password_verify("alpha", h1), 0);
    /* A well-known password is hashed once and the same string handed out again. */
    char w1[CHSM_CRYPTO_PASSWORD_HASH_LEN], w2[CHSM_CRYPTO_PASSWORD_HASH_LEN];
    assert_int_equal(chsm_crypto_password_hash_well_known("password", w1, sizeof w1), CHSM_OK);
    assert_int_equal(chsm_crypto_password_hash_well_known("password", w2, sizeof w2), CHSM_OK);
    assert_string_equal(w1, w2);
    assert_int_equal(chsm_crypto_password_verify("password", w1), 1);
    assert_int_equal(chsm_crypto_password_hash_well_known("other", w2, sizeof w2), CHSM_OK);
    assert_string_not_equal(w1, w2);
    assert_int_equal(chsm_crypto_password_verify("other", w2), 1);
}

static void test_password_interop(void **state)
{
    (void)state;
    /* RFC 7914 section 11: PBKDF2-HMAC-SHA256("passwd", "salt", c=1, dkLen=64) =
     * 55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc
     * 49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783, base64-encoded. */
    const char *enc = "pbkdf2-sha256$1$c2FsdA==$VawEblbjCJ/sFpHCJUS2BflBhSFt3gRl5oudV8INrLxJypzM"
                      "8Xm2RZkWZLOdd+8xfHG4RbHjC9UJESBB06GXgw==";
    assert_int_equal(chsm_crypto_password_verify("passwd", enc), 1);
    assert_int_equal(chsm_crypto_password_verify("passwe", enc), 0);
}

static void test_password_malformed(void **state)
{
    (void)state;
    char good[CHSM_CRYPTO_PASSWORD_HASH_LEN];
    assert_int_equal(chsm_crypto_password_hash("pw", good, sizeof good), CHSM_OK);
    const char *rest = good + strlen("pbkdf2-sha256$100000$"); /* "<salt>$<hash>" */
    char buf[256];
    static const char *bad_prefixes[] = {"pbkdf2-sha1$100000$",       "pbkdf2-sha256$$",
                                         "pbkdf2-sha256$0$",          "pbkdf2-sha256$-5$",
                                         "pbkdf2-sha256$0100$",       "pbkdf2-sha256$1x$",
                                         "pbkdf2-sha256$99999999999$"};
    for (size_t i = 0; i < sizeof bad_prefixes / sizeof *bad_prefixes; i++) {
        snprintf(buf, sizeof buf, "%s%s", bad_prefixes[i], rest);
        assert_true(chsm_crypto_password_verify("pw", buf) < 0);
    }
    static const char *bad[] = {
        "",
        "pbkdf2-sha256",
        "pbkdf2-sha256$1000",
        "pbkdf2-sha256$1000$c2FsdHNhbHQ=",
        "pbkdf2-sha256$1000$c2FsdHNhbHQ=$",
        "pbkdf2-sha256$1000$$VawEblbjCJ/sFpHCJUS2BQ==",
        "pbkdf2-sha256$1000$c2FsdHNhbHQ=$VawEblbjCJ/sFpHCJUS2BQ==$",
        "pbkdf2-sha256$1000$c2FsdHNhbHQ=$VawEblbjCJ/sFpHCJUS2BQ",
        "pbkdf2-sha256$1000$c2FsdHNhbHQ=$VawE",                         /* hash too short */
        "pbkdf2-sha256$1000$c2E=$VawEblbjCJ/sFpHCJUS2BQ==",             /* salt too short */
        "pbkdf2-sha256$1000$c2Fs dHNhbHQ=$VawEblbjCJ/sFpHCJUS2BQ==",    /* bad base64 */
        "pbkdf2-sha256$20000000$c2FsdHNhbHQ=$VawEblbjCJ/sFpHCJUS2BQ==", /* too many iterations */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_true(chsm_crypto_password_verify("pw", bad[i]) < 0);
    assert_true(chsm_crypto_password_verify(NULL, good) < 0);
    assert_true(chsm_crypto_password_verify("pw", NULL) < 0);
    assert_int_equal(chsm_crypto_password_verify("pw", good), 1);
}

/* ---- jwt.h ---- */

static cJSON *sample_claims(void)
{
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "aud", "https://management.azure.com/");
    cJSON_AddStringToObject(c, "sub", "user-1");
    cJSON_AddNumberToObject(c, "exp", 1900000000);
    return c;
}

static void test_jwt_sign_decode_verify(void **state)
{
    (void)state;
    chsm_jwt_key *k = NULL;
    assert_int_equal(chsm_crypto_jwt_key_generate(&k), CHSM_OK);
    const char *kid = chsm_crypto_jwt_key_id(k);
    assert_non_null(kid);
    assert_int_equal(strlen(kid), 20);

    cJSON *claims = sample_claims();
    char *tok = chsm_crypto_jwt_sign(k, claims);
    assert_non_null(tok);

    cJSON *h = NULL, *c = NULL;
    assert_int_equal(chsm_crypto_jwt_decode(tok, &h, &c), CHSM_OK);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(h, "typ")->valuestring, "JWT");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(h, "alg")->valuestring, "RS256");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(h, "kid")->valuestring, kid);
    assert_true(cJSON_Compare(c, claims, 1));
    cJSON_Delete(h);
    cJSON_Delete(c);
    /* Either output may be skipped. */
    assert_int_equal(chsm_crypto_jwt_decode(tok, NULL, NULL), CHSM_OK);

    c = NULL;
    assert_int_equal(chsm_crypto_jwt_verify(k, tok, &c), CHSM_OK);
    assert_true(cJSON_Compare(c, claims, 1));
    cJSON_Delete(c);
    assert_int_equal(chsm_crypto_jwt_verify(k, tok, NULL), CHSM_OK);

    /* A non-object claims value is refused. */
    cJSON *arr = cJSON_CreateArray();
    assert_null(chsm_crypto_jwt_sign(k, arr));
    cJSON_Delete(arr);

    free(tok);
    cJSON_Delete(claims);
    chsm_crypto_jwt_key_free(k);
}

/* replace_part returns token with part idx (0..2) replaced by repl; caller frees. */
static char *replace_part(const char *tok, int idx, const char *repl)
{
    const char *d1 = strchr(tok, '.'), *d2 = strchr(d1 + 1, '.');
    const char *start[3] = {tok, d1 + 1, d2 + 1};
    size_t len[3] = {(size_t)(d1 - tok), (size_t)(d2 - d1 - 1), strlen(d2 + 1)};
    char *out = malloc(strlen(tok) + strlen(repl) + 3);
    out[0] = '\0';
    for (int i = 0; i < 3; i++) {
        if (i)
            strcat(out, ".");
        if (i == idx)
            strcat(out, repl);
        else
            strncat(out, start[i], len[i]);
    }
    return out;
}

static void test_jwt_verify_rejects(void **state)
{
    (void)state;
    chsm_jwt_key *k = NULL, *other = NULL;
    assert_int_equal(chsm_crypto_jwt_key_generate(&k), CHSM_OK);
    assert_int_equal(chsm_crypto_jwt_key_generate(&other), CHSM_OK);
    assert_string_not_equal(chsm_crypto_jwt_key_id(k), chsm_crypto_jwt_key_id(other));
    cJSON *claims = sample_claims();
    char *tok = chsm_crypto_jwt_sign(k, claims);
    assert_non_null(tok);
    cJSON *c = (cJSON *)1;

    /* Another key. */
    assert_int_equal(chsm_crypto_jwt_verify(other, tok, &c), CHSM_ECRYPTO);
    assert_null(c);

    /* A modified payload that is still a valid JSON object. */
    cJSON_ReplaceItemInObjectCaseSensitive(claims, "sub", cJSON_CreateString("admin"));
    char *json = cJSON_PrintUnformatted(claims);
    char *p64 = chsm_crypto_base64url_encode(json, strlen(json));
    char *forged = replace_part(tok, 1, p64);
    assert_int_equal(chsm_crypto_jwt_decode(forged, NULL, NULL), CHSM_OK);
    assert_int_equal(chsm_crypto_jwt_verify(k, forged, &c), CHSM_ECRYPTO);
    assert_null(c);
    free(forged);

    /* A header claiming "none" or HS256, with or without a signature. */
    static const char *hdrs[] = {"{\"alg\":\"none\",\"typ\":\"JWT\"}",
                                 "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", "{\"typ\":\"JWT\"}",
                                 "{\"alg\":\"rs256\"}"};
    for (size_t i = 0; i < sizeof hdrs / sizeof *hdrs; i++) {
        char *h64 = chsm_crypto_base64url_encode(hdrs[i], strlen(hdrs[i]));
        forged = replace_part(tok, 0, h64);
        assert_int_equal(chsm_crypto_jwt_verify(k, forged, &c), CHSM_ECRYPTO);
        char *nosig = replace_part(forged, 2, "");
        assert_int_equal(chsm_crypto_jwt_verify(k, nosig, &c), CHSM_ECRYPTO);
        free(nosig);
        free(forged);
        free(h64);
    }

    /* A changed signature character (mid-string, so it stays canonical base64url). */
    char *sig = strrchr(tok, '.') + 1;
    char *bad = strdup(tok);
    char *bs = bad + (sig - tok) + 10;
    *bs = *bs == 'A' ? 'B' : 'A';
    assert_int_equal(chsm_crypto_jwt_verify(k, bad, &c), CHSM_ECRYPTO);
    free(bad);
    /* A truncated signature. */
    bad = strndup(tok, strlen(tok) - 4);
    assert_int_not_equal(chsm_crypto_jwt_verify(k, bad, &c), CHSM_OK);
    free(bad);

    free(json);
    free(p64);
    free(tok);
    cJSON_Delete(claims);
    chsm_crypto_jwt_key_free(k);
    chsm_crypto_jwt_key_free(other);
}

static void test_jwt_malformed(void **state)
{
    (void)state;
    chsm_jwt_key *k = NULL;
    assert_int_equal(chsm_crypto_jwt_key_generate(&k), CHSM_OK);
    /* "e30" is "{}", "W10" is "[]", "MQ" is "1", "e30g" is "{} ". */
    static const char *bad[] = {
        "",
        "e30",
        "e30.e30",
        "e30.e30.e30.e30",
        "e30.e30.e30.e30.e30",
        ".e30.",
        "e30..",
        "W10.e30.",
        "e30.W10.",
        "e30.MQ.",
        "e30.e30.@@",
        "e30=.e30.",
        "e30.e30=.",
        "eyJhIjoxfQ.e30.", /* fine */
        "eyJhIjox.e30.",   /* '{"a":1' truncated JSON */
        "e30AAA.e30.",     /* "{}" followed by a NUL byte */
        "e30gIHg.e30.",    /* "{}  x": trailing garbage */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cJSON *h = (cJSON *)1, *c = (cJSON *)1;
        int rc = chsm_crypto_jwt_decode(bad[i], &h, &c);
        if (i == 13) {
            assert_int_equal(rc, CHSM_OK);
            cJSON_Delete(h);
            cJSON_Delete(c);
            continue;
        }
        assert_int_equal(rc, CHSM_EINVAL);
        assert_null(h);
        assert_null(c);
        assert_int_equal(chsm_crypto_jwt_verify(k, bad[i], &c), CHSM_EINVAL);
        assert_null(c);
    }
    assert_int_equal(chsm_crypto_jwt_decode(NULL, NULL, NULL), CHSM_EINVAL);

    /* Over the size bound, even if well formed. */
    cJSON *claims = sample_claims();
    char *pad = malloc(CHSM_CRYPTO_JWT_MAX_TOKEN);
    memset(pad, 'x', CHSM_CRYPTO_JWT_MAX_TOKEN - 1);
    pad[CHSM_CRYPTO_JWT_MAX_TOKEN - 1] = '\0';
    cJSON_AddStringToObject(claims, "pad", pad);
    char *tok = chsm_crypto_jwt_sign(k, claims);
    assert_non_null(tok);
    assert_true(strlen(tok) > CHSM_CRYPTO_JWT_MAX_TOKEN);
    assert_int_equal(chsm_crypto_jwt_decode(tok, NULL, NULL), CHSM_EINVAL);
    assert_int_equal(chsm_crypto_jwt_verify(k, tok, NULL), CHSM_EINVAL);
    free(tok);
    free(pad);
    cJSON_Delete(claims);
    chsm_crypto_jwt_key_free(k);
}

/* An EC P-256 key, which the RS256 signer must refuse. */
static const char ec_key_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQglzpwjkoK3pUKYaE8\n"
    "a3MkCk1HZYAI3g5pddByAmksrfKhRANCAARC0DsLcnNZSKVOCyV+Ck+4Hllf4XYl\n"
    "kTiAj4mR+19uM2K7Q5cJ9PJD7VOz16qh+3R6Hbjx/4djb6Ai36LlEgUc\n"
    "-----END PRIVATE KEY-----\n";

static void test_jwt_pem_round_trip(void **state)
{
    (void)state;
    chsm_jwt_key *k = NULL, *k2 = NULL;
    assert_int_equal(chsm_crypto_jwt_key_generate(&k), CHSM_OK);
    char *pem = chsm_crypto_jwt_key_to_pem(k);
    assert_non_null(pem);
    assert_true(strncmp(pem, "-----BEGIN PRIVATE KEY-----\n", 28) == 0);
    assert_non_null(strstr(pem, "-----END PRIVATE KEY-----"));
    assert_int_equal(chsm_crypto_jwt_key_from_pem(pem, &k2), CHSM_OK);
    assert_string_equal(chsm_crypto_jwt_key_id(k), chsm_crypto_jwt_key_id(k2));
    char *pem2 = chsm_crypto_jwt_key_to_pem(k2);
    assert_string_equal(pem, pem2);

    /* A token from one verifies with the other. */
    cJSON *claims = sample_claims();
    char *tok = chsm_crypto_jwt_sign(k2, claims);
    assert_int_equal(chsm_crypto_jwt_verify(k, tok, NULL), CHSM_OK);

    chsm_jwt_key *bad = (chsm_jwt_key *)1;
    assert_int_equal(chsm_crypto_jwt_key_from_pem("not a pem", &bad), CHSM_EINVAL);
    assert_null(bad);
    assert_int_equal(chsm_crypto_jwt_key_from_pem(ec_key_pem, &bad), CHSM_EINVAL);
    assert_int_equal(chsm_crypto_jwt_key_from_pem("", &bad), CHSM_EINVAL);
    pem[60] ^= 1; /* corrupt the body */
    assert_int_equal(chsm_crypto_jwt_key_from_pem(pem, &bad), CHSM_EINVAL);

    free(tok);
    cJSON_Delete(claims);
    free(pem);
    free(pem2);
    chsm_crypto_jwt_key_free(k);
    chsm_crypto_jwt_key_free(k2);
    chsm_crypto_jwt_key_free(NULL);
}

static void test_jwt_jwks(void **state)
{
    (void)state;
    chsm_jwt_key *k = NULL;
    assert_int_equal(chsm_crypto_jwt_key_generate(&k), CHSM_OK);
    cJSON *jwks = chsm_crypto_jwt_jwks(k);
    assert_non_null(jwks);
    cJSON *keys = cJSON_GetObjectItemCaseSensitive(jwks, "keys");
    assert_true(cJSON_IsArray(keys));
    assert_int_equal(cJSON_GetArraySize(keys), 1);
    cJSON *jwk = cJSON_GetArrayItem(keys, 0);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(jwk, "kty")->valuestring, "RSA");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(jwk, "use")->valuestring, "sig");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(jwk, "alg")->valuestring, "RS256");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(jwk, "kid")->valuestring,
                        chsm_crypto_jwt_key_id(k));
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(jwk, "e")->valuestring, "AQAB");
    /* A 2048-bit modulus is 256 bytes: 342 unpadded base64url characters. */
    const char *n = cJSON_GetObjectItemCaseSensitive(jwk, "n")->valuestring;
    assert_int_equal(strlen(n), 342);
    unsigned char *nb = NULL;
    size_t nlen = 0;
    assert_int_equal(chsm_crypto_base64url_decode(n, strlen(n), &nb, &nlen), CHSM_OK);
    assert_int_equal(nlen, 256);
    assert_true(nb[0] & 0x80); /* no leading zero byte */
    free(nb);
    /* The private exponent and primes never leak into the JWKS. */
    assert_null(cJSON_GetObjectItemCaseSensitive(jwk, "d"));
    assert_null(cJSON_GetObjectItemCaseSensitive(jwk, "p"));
    cJSON_Delete(jwks);
    chsm_crypto_jwt_key_free(k);
}

/* ---- cert.h ---- */

static void test_cert_generate_and_verify(void **state)
{
    (void)state;
    char *ca = NULL, *leaf = NULL, *key = NULL;
    char err[256] = "";
    assert_int_equal(chsm_crypto_cert_generate(&ca, &leaf, &key, err, sizeof err), CHSM_OK);
    assert_true(strncmp(ca, "-----BEGIN CERTIFICATE-----\n", 28) == 0);
    assert_true(strncmp(leaf, "-----BEGIN CERTIFICATE-----\n", 28) == 0);
    assert_true(strncmp(key, "-----BEGIN PRIVATE KEY-----\n", 28) == 0);
    assert_non_null(strstr(ca, "-----END CERTIFICATE-----\n"));
    assert_string_not_equal(ca, leaf);

    assert_int_equal(chsm_crypto_cert_check_pair(leaf, key, err, sizeof err), CHSM_OK);
    /* The CA's key was discarded, so it cannot pair with the leaf key. */
    err[0] = '\0';
    assert_int_equal(chsm_crypto_cert_check_pair(ca, key, err, sizeof err), CHSM_ECRYPTO);
    assert_true(strlen(err) > 0);
    assert_int_equal(chsm_crypto_cert_check_pair("junk", key, err, sizeof err), CHSM_EINVAL);
    assert_int_equal(chsm_crypto_cert_check_pair(leaf, "junk", err, sizeof err), CHSM_EINVAL);
    assert_int_equal(chsm_crypto_cert_check_pair(leaf, ec_key_pem, err, sizeof err), CHSM_ECRYPTO);
    assert_int_equal(chsm_crypto_cert_check_pair(NULL, NULL, NULL, 0), CHSM_EINVAL);

    static const char *good_hosts[] = {
        "localhost",           "127.0.0.1", "::1", "devstoreaccount1.blob.localhost",
        "myhsm.hsm.localhost", "LOCALHOST"};
    for (size_t i = 0; i < sizeof good_hosts / sizeof *good_hosts; i++)
        assert_int_equal(chsm_crypto_cert_verify_chain(ca, leaf, good_hosts[i]), CHSM_OK);
    static const char *bad_hosts[] = {"example.com", "127.0.0.2", "a.b.blob.localhost",
                                      "localhost.example.com", "10.0.0.1"};
    for (size_t i = 0; i < sizeof bad_hosts / sizeof *bad_hosts; i++)
        assert_int_equal(chsm_crypto_cert_verify_chain(ca, leaf, bad_hosts[i]), CHSM_ECRYPTO);
    /* The CA is not a server certificate. */
    assert_int_not_equal(chsm_crypto_cert_verify_chain(ca, ca, "localhost"), CHSM_OK);
    assert_int_equal(chsm_crypto_cert_verify_chain("junk", leaf, "localhost"), CHSM_EINVAL);
    assert_int_equal(chsm_crypto_cert_verify_chain(ca, "junk", "localhost"), CHSM_EINVAL);
    assert_int_equal(chsm_crypto_cert_verify_chain(ca, leaf, ""), CHSM_EINVAL);

    /* A second run makes an unrelated CA: its leaf does not chain to the first. */
    char *ca2 = NULL, *leaf2 = NULL, *key2 = NULL;
    assert_int_equal(chsm_crypto_cert_generate(&ca2, &leaf2, &key2, err, sizeof err), CHSM_OK);
    assert_string_not_equal(key, key2);
    assert_int_equal(chsm_crypto_cert_verify_chain(ca, leaf2, "localhost"), CHSM_ECRYPTO);
    assert_int_equal(chsm_crypto_cert_verify_chain(ca2, leaf2, "localhost"), CHSM_OK);
    assert_int_equal(chsm_crypto_cert_check_pair(leaf, key2, err, sizeof err), CHSM_ECRYPTO);

    free(ca);
    free(leaf);
    free(key);
    free(ca2);
    free(leaf2);
    free(key2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_md5),
        cmocka_unit_test(test_hmac_rfc4231_case2),
        cmocka_unit_test(test_random_hex_equal),
        cmocka_unit_test(test_base64_vectors),
        cmocka_unit_test(test_base64_round_trip),
        cmocka_unit_test(test_base64_rejects),
        cmocka_unit_test(test_crc64),
        cmocka_unit_test(test_hkdf_rfc5869_case1),
        cmocka_unit_test(test_gcm_known_answer),
        cmocka_unit_test(test_gcm_tamper),
        cmocka_unit_test(test_gcm_context),
        cmocka_unit_test(test_password_hash_verify),
        cmocka_unit_test(test_password_memo),
        cmocka_unit_test(test_keypool),
        cmocka_unit_test(test_password_interop),
        cmocka_unit_test(test_password_malformed),
        cmocka_unit_test(test_jwt_sign_decode_verify),
        cmocka_unit_test(test_jwt_verify_rejects),
        cmocka_unit_test(test_jwt_malformed),
        cmocka_unit_test(test_jwt_pem_round_trip),
        cmocka_unit_test(test_jwt_jwks),
        cmocka_unit_test(test_cert_generate_and_verify),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

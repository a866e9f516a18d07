/* test_crypto_rawsig.c - crypto/rawsig: signatures over prepared data (the data plane's
 * "prehashed" sign/verify): each mechanism agrees with OpenSSL's own one-shot signatures,
 * wrong lengths, keys and mechanisms are refused, and tampering is caught. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "crypto/keys.h"
#include "crypto/rawsig.h"
#include "util/status.h"

static unsigned char *rsa, *ec, *rsa_pub;
static size_t rsa_len, ec_len, rsa_pub_len;

static int setup(void **state)
{
    (void)state;
    if (chsm_crypto_key_generate_rsa(2048, 65537, &rsa, &rsa_len) != CHSM_OK ||
        chsm_crypto_key_generate_ec("P-384", &ec, &ec_len) != CHSM_OK ||
        chsm_crypto_key_public_der(rsa, rsa_len, &rsa_pub, &rsa_pub_len) != CHSM_OK)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    chsm_crypto_key_free(rsa, rsa_len);
    chsm_crypto_key_free(ec, ec_len);
    free(rsa_pub);
    return 0;
}

static void sha(const EVP_MD *md, const char *msg, unsigned char *out, unsigned int *n)
{
    assert_int_equal(EVP_Digest(msg, strlen(msg), out, n, md, NULL), 1);
}

static void test_prehashed_matches_message_signatures(void **state)
{
    (void)state;
    const char *msg = "the message";
    unsigned char d256[32], d384[48];
    unsigned int n256, n384;
    sha(EVP_sha256(), msg, d256, &n256);
    sha(EVP_sha384(), msg, d384, &n384);
    /* a signature made over the message verifies over its digest and the other way round */
    unsigned char *sig = NULL;
    size_t siglen = 0;
    const char *mechs[] = {"RSA-PKCS-SHA256", "RSA-PSS-SHA256"};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(
            chsm_crypto_key_sign(rsa, rsa_len, mechs[i], msg, strlen(msg), &sig, &siglen), CHSM_OK);
        assert_int_equal(
            chsm_crypto_key_verify_prehashed(rsa_pub, rsa_pub_len, mechs[i], d256, 32, sig, siglen),
            1);
        free(sig);
        assert_int_equal(
            chsm_crypto_key_sign_prehashed(rsa, rsa_len, mechs[i], d256, 32, &sig, &siglen),
            CHSM_OK);
        assert_int_equal(
            chsm_crypto_key_verify(rsa_pub, rsa_pub_len, mechs[i], msg, strlen(msg), sig, siglen),
            1);
        free(sig);
    }
    /* RSA-PKCS over a DigestInfo is RSA-PKCS-SHA256 over the message */
    static const unsigned char prefix[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                           0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                           0x01, 0x05, 0x00, 0x04, 0x20};
    unsigned char di[51];
    memcpy(di, prefix, 19);
    memcpy(di + 19, d256, 32);
    assert_int_equal(
        chsm_crypto_key_sign_prehashed(rsa, rsa_len, "RSA-PKCS", di, 51, &sig, &siglen), CHSM_OK);
    assert_int_equal(siglen, 256);
    assert_int_equal(
        chsm_crypto_key_verify(rsa, rsa_len, "RSA-PKCS-SHA256", msg, strlen(msg), sig, siglen), 1);
    assert_int_equal(
        chsm_crypto_key_verify_prehashed(rsa_pub, rsa_pub_len, "RSA-PKCS", di, 51, sig, siglen), 1);
    di[50] ^= 1;
    assert_int_equal(
        chsm_crypto_key_verify_prehashed(rsa_pub, rsa_pub_len, "RSA-PKCS", di, 51, sig, siglen), 0);
    free(sig);
    /* ECDSA over a digest is ECDSA-SHA384 over the message */
    assert_int_equal(chsm_crypto_key_sign_prehashed(ec, ec_len, "ECDSA", d384, 48, &sig, &siglen),
                     CHSM_OK);
    assert_int_equal(
        chsm_crypto_key_verify(ec, ec_len, "ECDSA-SHA384", msg, strlen(msg), sig, siglen), 1);
    assert_int_equal(
        chsm_crypto_key_verify_prehashed(ec, ec_len, "ECDSA-SHA384", d384, 48, sig, siglen), 1);
    sig[siglen - 1] ^= 1;
    assert_int_equal(chsm_crypto_key_verify_prehashed(ec, ec_len, "ECDSA", d384, 48, sig, siglen),
                     0);
    free(sig);
}

static void test_refusals(void **state)
{
    (void)state;
    unsigned char d[64] = {0}, big[300] = {0};
    unsigned char *sig = NULL;
    size_t siglen = 0;
    /* digest length must be the mechanism's */
    assert_int_equal(
        chsm_crypto_key_sign_prehashed(rsa, rsa_len, "RSA-PSS-SHA256", d, 31, &sig, &siglen),
        CHSM_EINVAL);
    assert_int_equal(
        chsm_crypto_key_sign_prehashed(ec, ec_len, "ECDSA-SHA256", d, 48, &sig, &siglen),
        CHSM_EINVAL);
    /* RSA-PKCS takes at most modulus - 11 bytes; ECDSA at most 64 */
    assert_int_equal(
        chsm_crypto_key_sign_prehashed(rsa, rsa_len, "RSA-PKCS", big, 246, &sig, &siglen),
        CHSM_EINVAL);
    assert_int_equal(
        chsm_crypto_key_sign_prehashed(rsa, rsa_len, "RSA-PKCS", big, 245, &sig, &siglen), CHSM_OK);
    free(sig);
    assert_int_equal(chsm_crypto_key_sign_prehashed(ec, ec_len, "ECDSA", big, 65, &sig, &siglen),
                     CHSM_EINVAL);
    assert_int_equal(chsm_crypto_key_sign_prehashed(ec, ec_len, "ECDSA", big, 0, &sig, &siglen),
                     CHSM_EINVAL);
    /* the key must fit, and be private to sign */
    assert_int_equal(chsm_crypto_key_sign_prehashed(ec, ec_len, "RSA-PKCS", d, 32, &sig, &siglen),
                     CHSM_EINVAL);
    assert_int_equal(
        chsm_crypto_key_sign_prehashed(rsa_pub, rsa_pub_len, "RSA-PKCS", d, 32, &sig, &siglen),
        CHSM_EINVAL);
    assert_int_equal(chsm_crypto_key_sign_prehashed(rsa, rsa_len, "RSA-OAEP", d, 32, &sig, &siglen),
                     CHSM_EINVAL);
    assert_int_equal(chsm_crypto_key_sign_prehashed(rsa, rsa_len, NULL, d, 32, &sig, &siglen),
                     CHSM_EINVAL);
    assert_int_equal(chsm_crypto_key_verify_prehashed(rsa, rsa_len, "ECDSA", d, 32, d, 64),
                     CHSM_EINVAL);
    /* a malformed signature is "invalid", not an error */
    assert_int_equal(chsm_crypto_key_verify_prehashed(ec, ec_len, "ECDSA", d, 32, big, 3), 0);
    assert_int_equal(chsm_crypto_key_verify_prehashed(ec, ec_len, "ECDSA", d, 32, NULL, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prehashed_matches_message_signatures),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* jwk.c - public JWK members (n, e / crv, x, y) of RSA and EC key blobs. */
#include "crypto/jwk.h"

#include "crypto/digest.h"
#include "util/status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

static EVP_PKEY *load_key(const unsigned char *der, size_t len)
{
    const unsigned char *p = der;
    EVP_PKEY *pkey = d2i_PUBKEY(NULL, &p, (long)len);
    if (pkey)
        return pkey;
    p = der;
    PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)len);
    if (!p8)
        return NULL;
    pkey = EVP_PKCS82PKEY(p8);
    PKCS8_PRIV_KEY_INFO_free(p8);
    return pkey;
}

/* bn_b64url encodes a big number as base64url of its minimal big-endian bytes,
 * or padded to pad bytes when pad > 0 (EC coordinates have a fixed width). */
static char *bn_b64url(const BIGNUM *bn, int pad)
{
    int n = BN_num_bytes(bn);
    int width = pad > n ? pad : n;
    if (width <= 0)
        width = 1;
    unsigned char *buf = calloc(1, (size_t)width);
    if (!buf)
        return NULL;
    if (BN_bn2binpad(bn, buf, width) < 0) {
        free(buf);
        return NULL;
    }
    char *s = chsm_crypto_base64url_encode(buf, (size_t)width);
    free(buf);
    return s;
}

static char *param_b64url(EVP_PKEY *pkey, const char *name, int pad)
{
    BIGNUM *bn = NULL;
    if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1)
        return NULL;
    char *s = bn_b64url(bn, pad);
    BN_free(bn);
    return s;
}

int chsm_crypto_jwk_public(const unsigned char *der, size_t len, chsm_jwk_public *out)
{
    memset(out, 0, sizeof *out);
    if (!der || len == 0)
        return CHSM_EINVAL;
    EVP_PKEY *pkey = load_key(der, len);
    if (!pkey)
        return CHSM_EINVAL;
    int rc = CHSM_EINVAL;
    int id = EVP_PKEY_get_base_id(pkey);
    if (id == EVP_PKEY_RSA) {
        snprintf(out->kty, sizeof out->kty, "RSA");
        out->n = param_b64url(pkey, OSSL_PKEY_PARAM_RSA_N, 0);
        out->e = param_b64url(pkey, OSSL_PKEY_PARAM_RSA_E, 0);
        rc = out->n && out->e ? CHSM_OK : CHSM_ECRYPTO;
    } else if (id == EVP_PKEY_EC) {
        char group[64] = "";
        size_t glen = 0;
        if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                           &glen) == 1) {
            int width = 0;
            if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0) {
                snprintf(out->crv, sizeof out->crv, "P-256");
                width = 32;
            } else if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0) {
                snprintf(out->crv, sizeof out->crv, "P-384");
                width = 48;
            }
            if (width) {
                snprintf(out->kty, sizeof out->kty, "EC");
                out->x = param_b64url(pkey, OSSL_PKEY_PARAM_EC_PUB_X, width);
                out->y = param_b64url(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, width);
                rc = out->x && out->y ? CHSM_OK : CHSM_ECRYPTO;
            }
        }
    }
    EVP_PKEY_free(pkey);
    if (rc != CHSM_OK)
        chsm_crypto_jwk_clear(out);
    return rc;
}

void chsm_crypto_jwk_clear(chsm_jwk_public *jwk)
{
    free(jwk->n);
    free(jwk->e);
    free(jwk->x);
    free(jwk->y);
    memset(jwk, 0, sizeof *jwk);
}

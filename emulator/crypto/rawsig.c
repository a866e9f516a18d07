/* rawsig.c - sign and verify prepared (already hashed) data with OpenSSL 3 EVP_PKEY_sign. */
#include "crypto/rawsig.h"

#include "crypto/keys.h"
#include "util/status.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

/* raw_mech describes one prehashed mechanism: its key type, digest (NULL: none) and padding. */
typedef struct raw_mech {
    const char *keytype;
    const EVP_MD *md;
    int pss;
} raw_mech;

static int lookup(const char *m, raw_mech *out)
{
    static const struct {
        const char *name;
        const char *keytype;
        int bits; /* 0: no digest */
        int pss;
    } table[] = {
        {"RSA-PKCS", "RSA", 0, 0},          {"ECDSA", "EC", 0, 0},
        {"RSA-PKCS-SHA256", "RSA", 256, 0}, {"RSA-PKCS-SHA384", "RSA", 384, 0},
        {"RSA-PKCS-SHA512", "RSA", 512, 0}, {"RSA-PSS-SHA256", "RSA", 256, 1},
        {"RSA-PSS-SHA384", "RSA", 384, 1},  {"RSA-PSS-SHA512", "RSA", 512, 1},
        {"ECDSA-SHA256", "EC", 256, 0},     {"ECDSA-SHA384", "EC", 384, 0},
        {"ECDSA-SHA512", "EC", 512, 0},
    };
    for (size_t i = 0; m && i < sizeof table / sizeof table[0]; i++) {
        if (strcmp(m, table[i].name) == 0) {
            out->keytype = table[i].keytype;
            out->md = table[i].bits == 0     ? NULL
                      : table[i].bits == 256 ? EVP_sha256()
                      : table[i].bits == 384 ? EVP_sha384()
                                             : EVP_sha512();
            out->pss = table[i].pss;
            return CHSM_OK;
        }
    }
    return CHSM_EINVAL;
}

/* load parses a PKCS#8 private or SPKI public blob. */
static EVP_PKEY *load(const unsigned char *der, size_t len, int *is_private)
{
    if (!der || len == 0 || len > CHSM_CRYPTO_KEY_MAX_DER)
        return NULL;
    const unsigned char *p = der;
    PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)len);
    if (p8) {
        EVP_PKEY *k = p == der + len ? EVP_PKCS82PKEY(p8) : NULL;
        PKCS8_PRIV_KEY_INFO_free(p8);
        *is_private = 1;
        return k;
    }
    p = der;
    EVP_PKEY *k = d2i_PUBKEY(NULL, &p, (long)len);
    if (k && p != der + len) {
        EVP_PKEY_free(k);
        return NULL;
    }
    *is_private = 0;
    return k;
}

/* setup prepares an EVP_PKEY_CTX for sign (sign=1) or verify over prepared data; CHSM_EINVAL
 * when the key or the data length do not fit the mechanism. */
static int setup(const unsigned char *der, size_t len, const char *mechanism, size_t n, int sign,
                 EVP_PKEY **pkey, EVP_PKEY_CTX **ctx)
{
    raw_mech m;
    int is_private = 0;
    *pkey = NULL;
    *ctx = NULL;
    if (lookup(mechanism, &m) != CHSM_OK || n == 0 || n > 1024)
        return CHSM_EINVAL;
    *pkey = load(der, len, &is_private);
    if (!*pkey || (sign && !is_private) || !EVP_PKEY_is_a(*pkey, m.keytype))
        return CHSM_EINVAL;
    if (m.md && n != (size_t)EVP_MD_get_size(m.md))
        return CHSM_EINVAL;
    if (!m.md && strcmp(m.keytype, "EC") == 0 && n > 64)
        return CHSM_EINVAL;
    if (!m.md && strcmp(m.keytype, "RSA") == 0 && n + 11 > (size_t)EVP_PKEY_get_size(*pkey))
        return CHSM_EINVAL;
    *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, *pkey, NULL);
    if (!*ctx || (sign ? EVP_PKEY_sign_init(*ctx) : EVP_PKEY_verify_init(*ctx)) != 1)
        return CHSM_ECRYPTO;
    if (strcmp(m.keytype, "RSA") == 0) {
        if (EVP_PKEY_CTX_set_rsa_padding(*ctx, m.pss ? RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING) !=
            1)
            return CHSM_ECRYPTO;
        if (m.pss && (EVP_PKEY_CTX_set_rsa_pss_saltlen(*ctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
                      EVP_PKEY_CTX_set_rsa_mgf1_md(*ctx, m.md) != 1))
            return CHSM_ECRYPTO;
    }
    if (m.md && EVP_PKEY_CTX_set_signature_md(*ctx, m.md) != 1)
        return CHSM_ECRYPTO;
    return CHSM_OK;
}

int chsm_crypto_key_sign_prehashed(const unsigned char *der, size_t len, const char *mechanism,
                                   const void *data, size_t n, unsigned char **sig, size_t *siglen)
{
    EVP_PKEY *pkey;
    EVP_PKEY_CTX *ctx;
    int rc = setup(der, len, mechanism, n, 1, &pkey, &ctx);
    size_t need = 0;
    unsigned char *buf = NULL;
    if (rc == CHSM_OK) {
        rc = CHSM_ECRYPTO;
        if (EVP_PKEY_sign(ctx, NULL, &need, data, n) == 1 && (buf = malloc(need ? need : 1)) &&
            EVP_PKEY_sign(ctx, buf, &need, data, n) == 1) {
            *sig = buf;
            *siglen = need;
            buf = NULL;
            rc = CHSM_OK;
        }
        free(buf);
    }
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    return rc;
}

int chsm_crypto_key_verify_prehashed(const unsigned char *der, size_t len, const char *mechanism,
                                     const void *data, size_t n, const unsigned char *sig,
                                     size_t siglen)
{
    EVP_PKEY *pkey;
    EVP_PKEY_CTX *ctx;
    int rc = setup(der, len, mechanism, n, 0, &pkey, &ctx);
    if (rc == CHSM_OK) /* any failure, a malformed signature included, is "invalid" */
        rc = sig && siglen && EVP_PKEY_verify(ctx, sig, siglen, data, n) == 1 ? 1 : 0;
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    return rc;
}

/* keys.c - HSM key operations over OpenSSL 3 EVP interfaces. */
#include "crypto/keys.h"

#include "crypto/keypool.h"

#include "util/status.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

/* The largest input any one-shot operation accepts (the data plane bounds it far lower). */
#define KEYS_MAX_INPUT (16u * 1024u * 1024u)

static const unsigned char empty_input;
#define NONNULL(p) ((p) ? (const void *)(p) : (const void *)&empty_input)

void chsm_crypto_key_wipe(void *p, size_t n)
{
    if (p && n)
        OPENSSL_cleanse(p, n);
}

void chsm_crypto_key_free(void *p, size_t n)
{
    if (!p)
        return;
    chsm_crypto_key_wipe(p, n);
    free(p);
}

/* copy_out hands n bytes of an OpenSSL buffer to the caller as malloc'd memory. */
static int copy_out(const unsigned char *src, size_t n, unsigned char **out, size_t *outlen)
{
    unsigned char *p = malloc(n ? n : 1);
    if (!p)
        return CHSM_ENOMEM;
    if (n)
        memcpy(p, src, n);
    *out = p;
    *outlen = n;
    return CHSM_OK;
}

static int pkey_to_pkcs8(EVP_PKEY *pkey, unsigned char **der, size_t *len)
{
    PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(pkey);
    if (!p8)
        return CHSM_ECRYPTO;
    unsigned char *buf = NULL;
    int n = i2d_PKCS8_PRIV_KEY_INFO(p8, &buf);
    PKCS8_PRIV_KEY_INFO_free(p8);
    if (n <= 0)
        return CHSM_ECRYPTO;
    int rc = copy_out(buf, (size_t)n, der, len);
    OPENSSL_clear_free(buf, (size_t)n);
    return rc;
}

/* load_key parses a PKCS#8 private or an SPKI public blob; *is_private tells which. */
static EVP_PKEY *load_key(const unsigned char *der, size_t len, int *is_private)
{
    if (!der || len == 0 || len > CHSM_CRYPTO_KEY_MAX_DER)
        return NULL;
    const unsigned char *p = der;
    PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)len);
    if (p8) {
        EVP_PKEY *pkey = p == der + len ? EVP_PKCS82PKEY(p8) : NULL;
        PKCS8_PRIV_KEY_INFO_free(p8);
        if (pkey && is_private)
            *is_private = 1;
        return pkey;
    }
    p = der;
    EVP_PKEY *pkey = d2i_PUBKEY(NULL, &p, (long)len);
    if (pkey && p != der + len) {
        EVP_PKEY_free(pkey);
        return NULL;
    }
    if (pkey && is_private)
        *is_private = 0;
    return pkey;
}

int chsm_crypto_key_generate_rsa(int bits, unsigned long e, unsigned char **der, size_t *len)
{
    if (bits == 2048 && e == 65537 && chsm_crypto_keypool_take(der, len) == CHSM_OK)
        return CHSM_OK;
    return chsm_crypto_key_generate_rsa_now(bits, e, der, len);
}

int chsm_crypto_key_generate_rsa_now(int bits, unsigned long e, unsigned char **der, size_t *len)
{
    if ((bits != 2048 && bits != 3072 && bits != 4096) || e < 65537 || (e & 1) == 0)
        return CHSM_EINVAL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    BIGNUM *bn = BN_new();
    EVP_PKEY *pkey = NULL;
    int rc = CHSM_ECRYPTO;
    if (ctx && bn && BN_set_word(bn, e) == 1 && EVP_PKEY_keygen_init(ctx) == 1 &&
        EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, bits) == 1 &&
        EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, bn) == 1 && EVP_PKEY_keygen(ctx, &pkey) == 1)
        rc = pkey_to_pkcs8(pkey, der, len);
    EVP_PKEY_free(pkey);
    BN_free(bn);
    EVP_PKEY_CTX_free(ctx);
    return rc;
}

int chsm_crypto_key_generate_ec(const char *curve, unsigned char **der, size_t *len)
{
    if (!curve || (strcmp(curve, "P-256") != 0 && strcmp(curve, "P-384") != 0))
        return CHSM_EINVAL;
    EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
    if (!pkey)
        return CHSM_ECRYPTO;
    int rc = pkey_to_pkcs8(pkey, der, len);
    EVP_PKEY_free(pkey);
    return rc;
}

int chsm_crypto_key_describe(const unsigned char *der, size_t len, chsm_key_desc *out)
{
    memset(out, 0, sizeof *out);
    EVP_PKEY *pkey = load_key(der, len, &out->is_private);
    if (!pkey)
        return CHSM_EINVAL;
    int rc = CHSM_EINVAL;
    if (EVP_PKEY_is_a(pkey, "RSA")) {
        strcpy(out->type, "RSA");
        out->bits = EVP_PKEY_get_bits(pkey);
        if (out->bits >= 2048 && out->bits <= 8192)
            rc = CHSM_OK;
    } else if (EVP_PKEY_is_a(pkey, "EC")) {
        char group[64] = "";
        size_t glen = 0;
        strcpy(out->type, "EC");
        out->bits = EVP_PKEY_get_bits(pkey);
        if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                           &glen) == 1) {
            if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0) {
                strcpy(out->curve, "P-256");
                rc = CHSM_OK;
            } else if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0) {
                strcpy(out->curve, "P-384");
                rc = CHSM_OK;
            }
        }
    }
    EVP_PKEY_free(pkey);
    return rc;
}

int chsm_crypto_key_public_der(const unsigned char *der, size_t len, unsigned char **pub,
                               size_t *publen)
{
    EVP_PKEY *pkey = load_key(der, len, NULL);
    if (!pkey)
        return CHSM_EINVAL;
    unsigned char *buf = NULL;
    int n = i2d_PUBKEY(pkey, &buf);
    EVP_PKEY_free(pkey);
    if (n <= 0)
        return CHSM_ECRYPTO;
    int rc = copy_out(buf, (size_t)n, pub, publen);
    OPENSSL_free(buf);
    return rc;
}

char *chsm_crypto_key_public_pem(const unsigned char *der, size_t len)
{
    EVP_PKEY *pkey = load_key(der, len, NULL);
    if (!pkey)
        return NULL;
    BIO *bio = BIO_new(BIO_s_mem());
    char *pem = NULL;
    if (bio && PEM_write_bio_PUBKEY(bio, pkey) == 1) {
        char *data = NULL;
        long n = BIO_get_mem_data(bio, &data);
        if (n > 0 && (pem = malloc((size_t)n + 1)) != NULL) {
            memcpy(pem, data, (size_t)n);
            pem[n] = '\0';
        }
    }
    BIO_free(bio);
    EVP_PKEY_free(pkey);
    return pem;
}

static const EVP_CIPHER *aes_cipher(size_t keylen, const char *mode)
{
    int gcm = strcmp(mode, "gcm") == 0, cbc = strcmp(mode, "cbc") == 0,
        ecb = strcmp(mode, "ecb") == 0, wrap = strcmp(mode, "wrap") == 0;
    switch (keylen) {
    case 16:
        return gcm    ? EVP_aes_128_gcm()
               : cbc  ? EVP_aes_128_cbc()
               : ecb  ? EVP_aes_128_ecb()
               : wrap ? EVP_aes_128_wrap_pad()
                      : NULL;
    case 24:
        return gcm    ? EVP_aes_192_gcm()
               : cbc  ? EVP_aes_192_cbc()
               : ecb  ? EVP_aes_192_ecb()
               : wrap ? EVP_aes_192_wrap_pad()
                      : NULL;
    case 32:
        return gcm    ? EVP_aes_256_gcm()
               : cbc  ? EVP_aes_256_cbc()
               : ecb  ? EVP_aes_256_ecb()
               : wrap ? EVP_aes_256_wrap_pad()
                      : NULL;
    default:
        return NULL;
    }
}

int chsm_crypto_key_kcv_secret(const unsigned char *key, size_t keylen, unsigned char kcv[3])
{
    const EVP_CIPHER *c = aes_cipher(keylen, "ecb");
    if (!c)
        return CHSM_EINVAL;
    unsigned char zero[16] = {0}, out[32];
    int outl = 0;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int rc = CHSM_ECRYPTO;
    if (ctx && EVP_EncryptInit_ex(ctx, c, NULL, key, NULL) == 1 &&
        EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
        EVP_EncryptUpdate(ctx, out, &outl, zero, 16) == 1 && outl == 16) {
        memcpy(kcv, out, 3);
        rc = CHSM_OK;
    }
    EVP_CIPHER_CTX_free(ctx);
    OPENSSL_cleanse(out, sizeof out);
    return rc;
}

int chsm_crypto_key_kcv_public(const unsigned char *der, size_t len, unsigned char kcv[3])
{
    unsigned char *pub = NULL;
    size_t publen = 0;
    int rc = chsm_crypto_key_public_der(der, len, &pub, &publen);
    if (rc != CHSM_OK)
        return rc;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    rc = EVP_Digest(pub, publen, md, &mdlen, EVP_sha1(), NULL) == 1 ? CHSM_OK : CHSM_ECRYPTO;
    if (rc == CHSM_OK)
        memcpy(kcv, md, 3);
    free(pub);
    return rc;
}

/* sig_mech maps a signature mechanism to its digest, key type and RSA padding. */
static int sig_mech(const char *mech, const EVP_MD **md, const char **keytype, int *pss)
{
    static const struct {
        const char *name;
        const char *keytype;
        int pss;
        int bits;
    } table[] = {
        {"RSA-PKCS-SHA256", "RSA", 0, 256}, {"RSA-PKCS-SHA384", "RSA", 0, 384},
        {"RSA-PKCS-SHA512", "RSA", 0, 512}, {"RSA-PSS-SHA256", "RSA", 1, 256},
        {"RSA-PSS-SHA384", "RSA", 1, 384},  {"RSA-PSS-SHA512", "RSA", 1, 512},
        {"ECDSA-SHA256", "EC", 0, 256},     {"ECDSA-SHA384", "EC", 0, 384},
        {"ECDSA-SHA512", "EC", 0, 512},
    };
    if (!mech)
        return CHSM_EINVAL;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (strcmp(mech, table[i].name) == 0) {
            *md = table[i].bits == 256   ? EVP_sha256()
                  : table[i].bits == 384 ? EVP_sha384()
                                         : EVP_sha512();
            *keytype = table[i].keytype;
            *pss = table[i].pss;
            return CHSM_OK;
        }
    }
    return CHSM_EINVAL;
}

static int setup_rsa_padding(EVP_PKEY_CTX *pctx, int pss)
{
    if (!pss)
        return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1;
    return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
           EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
}

int chsm_crypto_key_sign(const unsigned char *der, size_t len, const char *mechanism,
                         const void *data, size_t n, unsigned char **sig, size_t *siglen)
{
    const EVP_MD *md;
    const char *keytype;
    int pss;
    if (sig_mech(mechanism, &md, &keytype, &pss) != CHSM_OK || n > KEYS_MAX_INPUT)
        return CHSM_EINVAL;
    int is_private = 0;
    EVP_PKEY *pkey = load_key(der, len, &is_private);
    if (!pkey)
        return CHSM_EINVAL;
    int rc = CHSM_EINVAL;
    EVP_MD_CTX *ctx = NULL;
    if (!is_private || !EVP_PKEY_is_a(pkey, keytype))
        goto out;
    rc = CHSM_ECRYPTO;
    ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    size_t need = 0;
    if (!ctx || EVP_DigestSignInit(ctx, &pctx, md, NULL, pkey) != 1)
        goto out;
    if (strcmp(keytype, "RSA") == 0 && !setup_rsa_padding(pctx, pss))
        goto out;
    if (EVP_DigestSign(ctx, NULL, &need, NONNULL(data), n) != 1)
        goto out;
    unsigned char *buf = malloc(need ? need : 1);
    if (!buf) {
        rc = CHSM_ENOMEM;
        goto out;
    }
    if (EVP_DigestSign(ctx, buf, &need, NONNULL(data), n) != 1) {
        free(buf);
        goto out;
    }
    *sig = buf;
    *siglen = need;
    rc = CHSM_OK;
out:
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    return rc;
}

int chsm_crypto_key_verify(const unsigned char *der, size_t len, const char *mechanism,
                           const void *data, size_t n, const unsigned char *sig, size_t siglen)
{
    const EVP_MD *md;
    const char *keytype;
    int pss;
    if (sig_mech(mechanism, &md, &keytype, &pss) != CHSM_OK || n > KEYS_MAX_INPUT)
        return CHSM_EINVAL;
    EVP_PKEY *pkey = load_key(der, len, NULL);
    if (!pkey)
        return CHSM_EINVAL;
    int rc = CHSM_EINVAL;
    EVP_MD_CTX *ctx = NULL;
    if (!EVP_PKEY_is_a(pkey, keytype))
        goto out;
    rc = CHSM_ECRYPTO;
    ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    if (!ctx || EVP_DigestVerifyInit(ctx, &pctx, md, NULL, pkey) != 1)
        goto out;
    if (strcmp(keytype, "RSA") == 0 && !setup_rsa_padding(pctx, pss))
        goto out;
    /* Any verification failure, including a malformed signature, is "invalid". */
    rc = EVP_DigestVerify(ctx, NONNULL(sig), siglen, NONNULL(data), n) == 1 ? 1 : 0;
out:
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    return rc;
}

int chsm_crypto_key_aes_encrypt(const unsigned char *key, size_t keylen, const char *mechanism,
                                const unsigned char *iv, size_t ivlen, const void *aad,
                                size_t aadlen, const void *plain, size_t n, unsigned char **out,
                                size_t *outlen, unsigned char tag_out[16])
{
    int gcm = mechanism && strcmp(mechanism, "AES-GCM") == 0;
    int cbc = mechanism && strcmp(mechanism, "AES-CBC-PAD") == 0;
    const EVP_CIPHER *c = (gcm || cbc) ? aes_cipher(keylen, gcm ? "gcm" : "cbc") : NULL;
    if (!c || !iv || ivlen != (gcm ? 12u : 16u) || n > KEYS_MAX_INPUT || aadlen > KEYS_MAX_INPUT ||
        (cbc && aadlen))
        return CHSM_EINVAL;
    unsigned char *buf = malloc(n + 32);
    if (!buf)
        return CHSM_ENOMEM;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int rc = CHSM_ECRYPTO, l1 = 0, l2 = 0;
    if (ctx && EVP_EncryptInit_ex(ctx, c, NULL, key, iv) == 1 &&
        (!gcm || !aadlen || EVP_EncryptUpdate(ctx, NULL, &l1, aad, (int)aadlen) == 1) &&
        EVP_EncryptUpdate(ctx, buf, &l1, NONNULL(plain), (int)n) == 1 &&
        EVP_EncryptFinal_ex(ctx, buf + l1, &l2) == 1 &&
        (!gcm || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag_out) == 1)) {
        *out = buf;
        *outlen = (size_t)(l1 + l2);
        rc = CHSM_OK;
    } else {
        free(buf);
    }
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

int chsm_crypto_key_aes_decrypt(const unsigned char *key, size_t keylen, const char *mechanism,
                                const unsigned char *iv, size_t ivlen, const void *aad,
                                size_t aadlen, const void *cipher, size_t n,
                                const unsigned char *tag, size_t taglen, unsigned char **out,
                                size_t *outlen)
{
    int gcm = mechanism && strcmp(mechanism, "AES-GCM") == 0;
    int cbc = mechanism && strcmp(mechanism, "AES-CBC-PAD") == 0;
    const EVP_CIPHER *c = (gcm || cbc) ? aes_cipher(keylen, gcm ? "gcm" : "cbc") : NULL;
    if (!c || !iv || ivlen != (gcm ? 12u : 16u) || n > KEYS_MAX_INPUT || aadlen > KEYS_MAX_INPUT ||
        (cbc && (aadlen || n == 0 || n % 16)) || (gcm && (!tag || taglen != 16)))
        return CHSM_EINVAL;
    unsigned char *buf = malloc(n + 32);
    if (!buf)
        return CHSM_ENOMEM;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int rc = CHSM_ECRYPTO, l1 = 0, l2 = 0;
    if (ctx && EVP_DecryptInit_ex(ctx, c, NULL, key, iv) == 1 &&
        (!gcm || !aadlen || EVP_DecryptUpdate(ctx, NULL, &l1, aad, (int)aadlen) == 1) &&
        EVP_DecryptUpdate(ctx, buf, &l1, NONNULL(cipher), (int)n) == 1 &&
        (!gcm || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, (void *)tag) == 1) &&
        EVP_DecryptFinal_ex(ctx, buf + l1, &l2) == 1) {
        *out = buf;
        *outlen = (size_t)(l1 + l2);
        rc = CHSM_OK;
    } else {
        chsm_crypto_key_free(buf, n + 32);
    }
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

static int rsa_oaep(const unsigned char *der, size_t len, int encrypt, const void *in, size_t n,
                    unsigned char **out, size_t *outlen)
{
    if (n > KEYS_MAX_INPUT)
        return CHSM_EINVAL;
    int is_private = 0;
    EVP_PKEY *pkey = load_key(der, len, &is_private);
    if (!pkey)
        return CHSM_EINVAL;
    int rc = CHSM_EINVAL;
    EVP_PKEY_CTX *ctx = NULL;
    unsigned char *buf = NULL;
    size_t need = 0;
    if (!EVP_PKEY_is_a(pkey, "RSA") || (!encrypt && !is_private))
        goto out;
    rc = CHSM_ECRYPTO;
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    if (!ctx || (encrypt ? EVP_PKEY_encrypt_init(ctx) : EVP_PKEY_decrypt_init(ctx)) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) != 1)
        goto out;
    if ((encrypt ? EVP_PKEY_encrypt(ctx, NULL, &need, NONNULL(in), n)
                 : EVP_PKEY_decrypt(ctx, NULL, &need, NONNULL(in), n)) != 1) {
        rc = encrypt ? CHSM_EINVAL : CHSM_ECRYPTO;
        goto out;
    }
    buf = malloc(need ? need : 1);
    if (!buf) {
        rc = CHSM_ENOMEM;
        goto out;
    }
    if ((encrypt ? EVP_PKEY_encrypt(ctx, buf, &need, NONNULL(in), n)
                 : EVP_PKEY_decrypt(ctx, buf, &need, NONNULL(in), n)) != 1) {
        /* Encrypting too much data for the modulus is the caller's mistake. */
        rc = encrypt ? CHSM_EINVAL : CHSM_ECRYPTO;
        free(buf);
        goto out;
    }
    *out = buf;
    *outlen = need;
    rc = CHSM_OK;
out:
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    return rc;
}

int chsm_crypto_key_rsa_encrypt(const unsigned char *der, size_t len, const void *plain, size_t n,
                                unsigned char **out, size_t *outlen)
{
    return rsa_oaep(der, len, 1, plain, n, out, outlen);
}

int chsm_crypto_key_rsa_decrypt(const unsigned char *der, size_t len, const void *cipher, size_t n,
                                unsigned char **out, size_t *outlen)
{
    return rsa_oaep(der, len, 0, cipher, n, out, outlen);
}

static int aes_wrap(const unsigned char *kek, size_t keklen, int enc, const void *in, size_t n,
                    unsigned char **out, size_t *outlen)
{
    const EVP_CIPHER *c = aes_cipher(keklen, "wrap");
    if (!c || n == 0 || n > CHSM_CRYPTO_KEY_MAX_DER + 16 || (!enc && (n < 16 || n % 8)))
        return CHSM_EINVAL;
    unsigned char *buf = malloc(n + 16);
    if (!buf)
        return CHSM_ENOMEM;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int rc = CHSM_ECRYPTO, l1 = 0, l2 = 0;
    if (ctx) {
        EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
        if (EVP_CipherInit_ex(ctx, c, NULL, kek, NULL, enc) == 1 &&
            EVP_CipherUpdate(ctx, buf, &l1, in, (int)n) == 1 && l1 > 0 &&
            EVP_CipherFinal_ex(ctx, buf + l1, &l2) == 1) {
            *out = buf;
            *outlen = (size_t)(l1 + l2);
            rc = CHSM_OK;
        }
    }
    if (rc != CHSM_OK)
        chsm_crypto_key_free(buf, n + 16);
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

int chsm_crypto_key_aes_wrap_pad(const unsigned char *kek, size_t keklen, const void *in, size_t n,
                                 unsigned char **out, size_t *outlen)
{
    return aes_wrap(kek, keklen, 1, in, n, out, outlen);
}

int chsm_crypto_key_aes_unwrap_pad(const unsigned char *kek, size_t keklen, const void *in,
                                   size_t n, unsigned char **out, size_t *outlen)
{
    return aes_wrap(kek, keklen, 0, in, n, out, outlen);
}

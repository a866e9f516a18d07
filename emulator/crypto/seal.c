/* seal.c - HKDF and AES-256-GCM over OpenSSL's EVP interfaces. */
#include "crypto/seal.h"

#include "util/status.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

/* EVP wants non-NULL pointers even for empty inputs. */
static const unsigned char empty_input;
#define NONNULL(p) ((p) ? (const void *)(p) : (const void *)&empty_input)

int chsm_crypto_hkdf_sha256(const void *ikm, size_t ikmlen, const void *salt, size_t saltlen,
                            const void *info, size_t infolen, unsigned char *out, size_t outlen)
{
    /* RFC 5869 caps the output at 255 hash lengths. */
    if (!out || outlen == 0 || outlen > 255 * 32 || (!ikm && ikmlen) || (!salt && saltlen) ||
        (!info && infolen))
        return CHSM_EINVAL;
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    if (!kdf)
        return CHSM_ECRYPTO;
    EVP_KDF_CTX *ctx = EVP_KDF_CTX_new(kdf);
    EVP_KDF_free(kdf);
    if (!ctx)
        return CHSM_ENOMEM;
    OSSL_PARAM params[5], *p = params;
    *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)NONNULL(ikm), ikmlen);
    /* An absent salt means HashLen zero bytes (RFC 5869 2.2); OpenSSL does the same
     * when the parameter is left out. */
    if (saltlen)
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, saltlen);
    if (infolen)
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, infolen);
    *p = OSSL_PARAM_construct_end();
    int rc = EVP_KDF_derive(ctx, out, outlen, params) == 1 ? CHSM_OK : CHSM_ECRYPTO;
    EVP_KDF_CTX_free(ctx);
    if (rc != CHSM_OK)
        OPENSSL_cleanse(out, outlen);
    return rc;
}

/* gcm_update feeds n bytes in slices, since EVP lengths are ints. With out NULL
 * the input is additional authenticated data; otherwise GCM, a stream mode,
 * must emit exactly as many bytes as it takes. */
static int gcm_update(EVP_CIPHER_CTX *ctx, unsigned char *out, const unsigned char *in, size_t n)
{
    while (n > 0) {
        int chunk = n > INT_MAX / 2 ? INT_MAX / 2 : (int)n;
        int outl = 0;
        if (EVP_CipherUpdate(ctx, out, &outl, in, chunk) != 1 || (out && outl != chunk))
            return CHSM_ECRYPTO;
        in += chunk;
        if (out)
            out += chunk;
        n -= (size_t)chunk;
    }
    return CHSM_OK;
}

/* The cipher is fetched from the provider once: an implicit fetch on every call
 * (EVP_aes_256_gcm) takes a global lock and a lookup, which showed in the cost
 * of sealing thousands of keys for a backup. Kept for the process's life. */
static EVP_CIPHER *gcm_cipher;
static pthread_once_t gcm_once = PTHREAD_ONCE_INIT;

static void gcm_fetch(void)
{
    gcm_cipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
}

/* gcm_start sets up ctx for AES-256-GCM with a 12-byte iv and feeds the aad. */
static int gcm_start(EVP_CIPHER_CTX *ctx, int enc, const unsigned char key[32],
                     const unsigned char iv[12], const void *aad, size_t aadlen)
{
    pthread_once(&gcm_once, gcm_fetch);
    const EVP_CIPHER *cipher = gcm_cipher ? gcm_cipher : EVP_aes_256_gcm();
    if (EVP_CipherInit_ex(ctx, cipher, NULL, key, iv, enc) != 1)
        return CHSM_ECRYPTO;
    /* Passing NULL output makes EVP_CipherUpdate treat the input as aad. */
    return gcm_update(ctx, NULL, aad, aadlen);
}

int chsm_crypto_aes256gcm_seal(const unsigned char key[32], const unsigned char iv[12],
                               const void *aad, size_t aadlen, const void *plain, size_t n,
                               unsigned char *cipher_out, unsigned char tag_out[16])
{
    if (!key || !iv || !tag_out || (!aad && aadlen) || (n && (!plain || !cipher_out)))
        return CHSM_EINVAL;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx)
        return CHSM_ENOMEM;
    int outl = 0;
    unsigned char final_block[16];
    int rc = gcm_start(ctx, 1, key, iv, aad, aadlen);
    if (rc == CHSM_OK)
        rc = gcm_update(ctx, cipher_out, plain, n);
    /* GCM is a stream mode: the final call emits nothing but completes the tag. */
    if (rc == CHSM_OK && EVP_CipherFinal_ex(ctx, final_block, &outl) != 1)
        rc = CHSM_ECRYPTO;
    if (rc == CHSM_OK && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag_out) != 1)
        rc = CHSM_ECRYPTO;
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

int chsm_crypto_aes256gcm_open(const unsigned char key[32], const unsigned char iv[12],
                               const void *aad, size_t aadlen, const void *cipher, size_t n,
                               const unsigned char tag[16], unsigned char *plain_out)
{
    if (!key || !iv || !tag || (!aad && aadlen) || (n && (!cipher || !plain_out)))
        return CHSM_EINVAL;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx)
        return CHSM_ENOMEM;
    int outl = 0;
    unsigned char final_block[16];
    unsigned char tagcopy[16];
    memcpy(tagcopy, tag, 16); /* the ctrl takes a non-const pointer */
    int rc = gcm_start(ctx, 0, key, iv, aad, aadlen);
    if (rc == CHSM_OK && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tagcopy) != 1)
        rc = CHSM_ECRYPTO;
    if (rc == CHSM_OK)
        rc = gcm_update(ctx, plain_out, cipher, n);
    /* The tag is checked here; until it passes the plaintext must not be trusted. */
    if (rc == CHSM_OK && EVP_CipherFinal_ex(ctx, final_block, &outl) != 1)
        rc = CHSM_ECRYPTO;
    EVP_CIPHER_CTX_free(ctx);
    if (rc != CHSM_OK && n)
        OPENSSL_cleanse(plain_out, n);
    return rc;
}

/* A keyed context per direction: EVP keeps the expanded key between calls when the cipher and
 * key are passed as NULL, so a call costs an iv setup instead of a key schedule and an
 * allocation. */
struct chsm_crypto_gcm {
    EVP_CIPHER_CTX *enc, *dec;
};

int chsm_crypto_gcm_new(const unsigned char key[32], chsm_crypto_gcm **out)
{
    *out = NULL;
    if (!key)
        return CHSM_EINVAL;
    pthread_once(&gcm_once, gcm_fetch);
    const EVP_CIPHER *cipher = gcm_cipher ? gcm_cipher : EVP_aes_256_gcm();
    chsm_crypto_gcm *g = calloc(1, sizeof *g);
    if (!g)
        return CHSM_ENOMEM;
    g->enc = EVP_CIPHER_CTX_new();
    g->dec = EVP_CIPHER_CTX_new();
    int rc = g->enc && g->dec ? CHSM_OK : CHSM_ENOMEM;
    if (rc == CHSM_OK && (EVP_CipherInit_ex(g->enc, cipher, NULL, key, NULL, 1) != 1 ||
                          EVP_CipherInit_ex(g->dec, cipher, NULL, key, NULL, 0) != 1))
        rc = CHSM_ECRYPTO;
    if (rc != CHSM_OK) {
        chsm_crypto_gcm_free(g);
        return rc;
    }
    *out = g;
    return CHSM_OK;
}

int chsm_crypto_gcm_seal(chsm_crypto_gcm *g, const unsigned char iv[12], const void *aad,
                         size_t aadlen, const void *plain, size_t n, unsigned char *cipher_out,
                         unsigned char tag_out[16])
{
    if (!g || !iv || !tag_out || (!aad && aadlen) || (n && (!plain || !cipher_out)))
        return CHSM_EINVAL;
    int outl = 0;
    unsigned char final_block[16];
    int rc = EVP_CipherInit_ex(g->enc, NULL, NULL, NULL, iv, 1) == 1 ? CHSM_OK : CHSM_ECRYPTO;
    if (rc == CHSM_OK)
        rc = gcm_update(g->enc, NULL, aad, aadlen);
    if (rc == CHSM_OK)
        rc = gcm_update(g->enc, cipher_out, plain, n);
    if (rc == CHSM_OK && EVP_CipherFinal_ex(g->enc, final_block, &outl) != 1)
        rc = CHSM_ECRYPTO;
    if (rc == CHSM_OK && EVP_CIPHER_CTX_ctrl(g->enc, EVP_CTRL_GCM_GET_TAG, 16, tag_out) != 1)
        rc = CHSM_ECRYPTO;
    return rc;
}

int chsm_crypto_gcm_open(chsm_crypto_gcm *g, const unsigned char iv[12], const void *aad,
                         size_t aadlen, const void *cipher, size_t n, const unsigned char tag[16],
                         unsigned char *plain_out)
{
    if (!g || !iv || !tag || (!aad && aadlen) || (n && (!cipher || !plain_out)))
        return CHSM_EINVAL;
    int outl = 0;
    unsigned char final_block[16];
    unsigned char tagcopy[16];
    memcpy(tagcopy, tag, 16); /* the ctrl takes a non-const pointer */
    int rc = EVP_CipherInit_ex(g->dec, NULL, NULL, NULL, iv, 0) == 1 ? CHSM_OK : CHSM_ECRYPTO;
    if (rc == CHSM_OK && EVP_CIPHER_CTX_ctrl(g->dec, EVP_CTRL_GCM_SET_TAG, 16, tagcopy) != 1)
        rc = CHSM_ECRYPTO;
    if (rc == CHSM_OK)
        rc = gcm_update(g->dec, NULL, aad, aadlen);
    if (rc == CHSM_OK)
        rc = gcm_update(g->dec, plain_out, cipher, n);
    if (rc == CHSM_OK && EVP_CipherFinal_ex(g->dec, final_block, &outl) != 1)
        rc = CHSM_ECRYPTO;
    if (rc != CHSM_OK && n && plain_out)
        OPENSSL_cleanse(plain_out, n);
    return rc;
}

void chsm_crypto_gcm_free(chsm_crypto_gcm *g)
{
    if (!g)
        return;
    EVP_CIPHER_CTX_free(g->enc); /* frees and cleanses the expanded key */
    EVP_CIPHER_CTX_free(g->dec);
    free(g);
}

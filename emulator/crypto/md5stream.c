/* md5stream.c - incremental MD5 through OpenSSL's EVP interface. */
#include "crypto/md5stream.h"

#include <openssl/evp.h>
#include <string.h>

struct chsm_md5_stream {
    EVP_MD_CTX *ctx;
    int failed;
};

chsm_md5_stream *chsm_crypto_md5_stream_new(void)
{
    chsm_md5_stream *m = OPENSSL_zalloc(sizeof *m);
    if (!m)
        return NULL;
    m->ctx = EVP_MD_CTX_new();
    if (!m->ctx || EVP_DigestInit_ex(m->ctx, EVP_md5(), NULL) != 1) {
        EVP_MD_CTX_free(m->ctx);
        OPENSSL_free(m);
        return NULL;
    }
    return m;
}

void chsm_crypto_md5_stream_update(chsm_md5_stream *m, const void *data, size_t n)
{
    if (m && n && EVP_DigestUpdate(m->ctx, data, n) != 1)
        m->failed = 1;
}

void chsm_crypto_md5_stream_final(chsm_md5_stream *m, unsigned char out[16])
{
    unsigned int len = 0;
    if (!m || m->failed || EVP_DigestFinal_ex(m->ctx, out, &len) != 1 || len != 16)
        memset(out, 0, 16);
    if (m) {
        EVP_MD_CTX_free(m->ctx);
        OPENSSL_free(m);
    }
}

/* cert.c - self-made CA and localhost leaf certificates over OpenSSL's X509 API. */
#include "crypto/cert.h"

#include "crypto/digest.h"
#include "util/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#define CA_NAME "chsm-emulator local CA"
#define LEAF_NAME "localhost"
#define CA_DAYS 3652  /* ten years, leap days included */
#define LEAF_DAYS 825 /* the longest server certificate Apple platforms accept */
/* Start validity an hour back so a client whose clock is slightly behind still accepts it. */
#define BACKDATE_SECONDS 3600
#define SERIAL_BYTES 16
#define LEAF_SAN                                                                                   \
    "DNS:localhost,DNS:*.blob.localhost,DNS:*.hsm.localhost,DNS:*.managedhsm.localhost,"           \
    "DNS:*.vault.localhost,DNS:*.localhost,IP:127.0.0.1,IP:::1"

/* set_err writes a message, followed by OpenSSL's last error if there is one, and
 * empties OpenSSL's thread-local error queue so it cannot confuse a later call. */
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0) {
        ERR_clear_error();
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    unsigned long e = ERR_peek_last_error();
    size_t used = strlen(err);
    if (e && used + 3 < errlen) {
        memcpy(err + used, ": ", 3);
        ERR_error_string_n(e, err + used + 2, errlen - used - 2);
    }
    ERR_clear_error();
}

/* bio_to_string copies a memory BIO's contents into a new string; caller frees. */
static char *bio_to_string(BIO *bio)
{
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    if (n <= 0)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (s) {
        memcpy(s, data, (size_t)n);
        s[n] = '\0';
    }
    return s;
}

static char *cert_to_pem(X509 *x)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *s = NULL;
    if (bio && PEM_write_bio_X509(bio, x) == 1)
        s = bio_to_string(bio);
    BIO_free(bio);
    return s;
}

static char *key_to_pem(EVP_PKEY *pkey)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *s = NULL;
    /* OpenSSL 3 writes PKCS#8 ("BEGIN PRIVATE KEY"), which GnuTLS reads. */
    if (bio && PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) == 1)
        s = bio_to_string(bio);
    if (bio) {
        BUF_MEM *mem = NULL;
        BIO_get_mem_ptr(bio, &mem);
        if (mem && mem->data)
            OPENSSL_cleanse(mem->data, mem->max);
    }
    BIO_free(bio);
    return s;
}

/* add_ext adds one extension written in openssl.cnf syntax; ctx names issuer and subject
 * so "hash" and "keyid" values can be computed. */
static int add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *ext = X509V3_EXT_nconf_nid(NULL, ctx, nid, value);
    if (!ext)
        return 0;
    int ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok;
}

/* new_cert makes an unsigned v3 certificate for key with a random positive serial,
 * subject CN cn, and validity from an hour ago for days. */
static X509 *new_cert(EVP_PKEY *key, const char *cn, long days)
{
    unsigned char serial[SERIAL_BYTES];
    if (chsm_crypto_random(serial, sizeof serial) != CHSM_OK)
        return NULL;
    /* Positive (top bit clear) and non-zero, as RFC 5280 4.1.2.2 asks. */
    serial[0] = (unsigned char)((serial[0] & 0x7f) | 0x01);

    X509 *x = X509_new();
    BIGNUM *bn = BN_bin2bn(serial, sizeof serial, NULL);
    X509_NAME *name = X509_NAME_new();
    int ok = x && bn && name && X509_set_version(x, X509_VERSION_3) &&
             BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) &&
             X509_gmtime_adj(X509_getm_notBefore(x), -BACKDATE_SECONDS) &&
             X509_time_adj_ex(X509_getm_notAfter(x), (int)days, -BACKDATE_SECONDS, NULL) &&
             X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1,
                                        -1, 0) &&
             X509_set_subject_name(x, name) && X509_set_pubkey(x, key);
    BN_free(bn);
    X509_NAME_free(name);
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

/* make_ca creates the self-signed CA; its key is handed back only to sign the leaf. */
static X509 *make_ca(EVP_PKEY **ca_key)
{
    *ca_key = EVP_EC_gen("P-256");
    if (!*ca_key)
        return NULL;
    X509 *ca = new_cert(*ca_key, CA_NAME, CA_DAYS);
    if (!ca)
        return NULL;
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, ca, ca, NULL, NULL, 0);
    /* pathlen:0 - this CA signs leaves only. The subject key id comes first because the
     * self-signed authority key id is copied from it. */
    int ok = X509_set_issuer_name(ca, X509_get_subject_name(ca)) &&
             add_ext(ca, &ctx, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") &&
             add_ext(ca, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign") &&
             add_ext(ca, &ctx, NID_subject_key_identifier, "hash") &&
             add_ext(ca, &ctx, NID_authority_key_identifier, "keyid:always") &&
             X509_sign(ca, *ca_key, EVP_sha256()) > 0;
    if (!ok) {
        X509_free(ca);
        return NULL;
    }
    return ca;
}

/* make_leaf creates the localhost server certificate signed by the CA. */
static X509 *make_leaf(X509 *ca, EVP_PKEY *ca_key, EVP_PKEY **leaf_key)
{
    /* P-256 rather than RSA: every client of the emulator (OpenSSL, GnuTLS, Node, .NET,
     * Python, az) accepts ECDSA server certificates, and generating the key takes well
     * under a millisecond where RSA-2048 takes 50-500 ms: a new data dir starts in the
     * time an existing one does, which is what a CI job with a fresh temp dir sees. */
    *leaf_key = EVP_EC_gen("P-256");
    if (!*leaf_key)
        return NULL;
    X509 *leaf = new_cert(*leaf_key, LEAF_NAME, LEAF_DAYS);
    if (!leaf)
        return NULL;
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, ca, leaf, NULL, NULL, 0);
    int ok = X509_set_issuer_name(leaf, X509_get_subject_name(ca)) &&
             add_ext(leaf, &ctx, NID_basic_constraints, "critical,CA:FALSE") &&
             add_ext(leaf, &ctx, NID_key_usage, "critical,digitalSignature") &&
             add_ext(leaf, &ctx, NID_ext_key_usage, "serverAuth") &&
             add_ext(leaf, &ctx, NID_subject_alt_name, LEAF_SAN) &&
             add_ext(leaf, &ctx, NID_subject_key_identifier, "hash") &&
             add_ext(leaf, &ctx, NID_authority_key_identifier, "keyid:always") &&
             X509_sign(leaf, ca_key, EVP_sha256()) > 0;
    if (!ok) {
        X509_free(leaf);
        return NULL;
    }
    return leaf;
}

int chsm_crypto_cert_generate(char **ca_cert_pem, char **leaf_cert_pem, char **leaf_key_pem,
                              char *err, size_t errlen)
{
    if (!ca_cert_pem || !leaf_cert_pem || !leaf_key_pem) {
        set_err(err, errlen, "missing output pointer");
        return CHSM_EINVAL;
    }
    *ca_cert_pem = *leaf_cert_pem = *leaf_key_pem = NULL;
    EVP_PKEY *ca_key = NULL, *leaf_key = NULL;
    X509 *leaf = NULL;
    int rc = CHSM_ECRYPTO;
    X509 *ca = make_ca(&ca_key);
    if (!ca) {
        set_err(err, errlen, "cannot create the CA certificate");
        goto done;
    }
    leaf = make_leaf(ca, ca_key, &leaf_key);
    if (!leaf) {
        set_err(err, errlen, "cannot create the server certificate");
        goto done;
    }
    *ca_cert_pem = cert_to_pem(ca);
    *leaf_cert_pem = cert_to_pem(leaf);
    *leaf_key_pem = key_to_pem(leaf_key);
    if (!*ca_cert_pem || !*leaf_cert_pem || !*leaf_key_pem) {
        set_err(err, errlen, "cannot encode the certificates as PEM");
        free(*ca_cert_pem);
        free(*leaf_cert_pem);
        if (*leaf_key_pem)
            OPENSSL_cleanse(*leaf_key_pem, strlen(*leaf_key_pem));
        free(*leaf_key_pem);
        *ca_cert_pem = *leaf_cert_pem = *leaf_key_pem = NULL;
        rc = CHSM_ENOMEM;
        goto done;
    }
    rc = CHSM_OK;
done:
    /* Freeing ca_key here is the point: nothing can sign with this CA again. */
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(leaf_key);
    X509_free(ca);
    X509_free(leaf);
    return rc;
}

/* pem_bio wraps a bounded PEM string in a read-only memory BIO. */
static BIO *pem_bio(const char *pem)
{
    if (!pem)
        return NULL;
    size_t len = strnlen(pem, CHSM_CRYPTO_CERT_MAX_PEM + 1);
    if (len == 0 || len > CHSM_CRYPTO_CERT_MAX_PEM)
        return NULL;
    return BIO_new_mem_buf(pem, (int)len);
}

static X509 *read_cert(const char *pem)
{
    BIO *bio = pem_bio(pem);
    X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    return x;
}

/* no_password stops OpenSSL from prompting on the terminal for an encrypted key. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

int chsm_crypto_cert_check_pair(const char *cert_pem, const char *key_pem, char *err, size_t errlen)
{
    X509 *cert = read_cert(cert_pem);
    if (!cert) {
        set_err(err, errlen, "the TLS certificate is not a PEM certificate");
        return CHSM_EINVAL;
    }
    BIO *bio = pem_bio(key_pem);
    EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, no_password, NULL) : NULL;
    BIO_free(bio);
    int rc = CHSM_OK;
    if (!key) {
        set_err(err, errlen, "the TLS key is not an unencrypted PEM private key");
        rc = CHSM_EINVAL;
    } else if (X509_check_private_key(cert, key) != 1) {
        set_err(err, errlen, "the TLS key does not match the certificate");
        rc = CHSM_ECRYPTO;
    }
    EVP_PKEY_free(key);
    X509_free(cert);
    ERR_clear_error();
    return rc;
}

int chsm_crypto_cert_verify_chain(const char *ca_pem, const char *leaf_pem,
                                  const char *hostname_or_ip)
{
    if (!hostname_or_ip || !*hostname_or_ip)
        return CHSM_EINVAL;
    X509 *ca = read_cert(ca_pem);
    X509 *leaf = read_cert(leaf_pem);
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int rc = CHSM_ECRYPTO;
    if (!ca || !leaf) {
        rc = CHSM_EINVAL;
        goto done;
    }
    if (!store || !ctx || X509_STORE_add_cert(store, ca) != 1 ||
        X509_STORE_CTX_init(ctx, store, leaf, NULL) != 1) {
        rc = CHSM_ENOMEM;
        goto done;
    }
    X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
    /* The "ssl_server" purpose makes OpenSSL demand extendedKeyUsage serverAuth, as TLS
     * clients do. An IP literal must match an iPAddress SAN, a name a dNSName. */
    int ok = X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER) == 1;
    if (ok && X509_VERIFY_PARAM_set1_ip_asc(param, hostname_or_ip) != 1)
        ok = X509_VERIFY_PARAM_set1_host(param, hostname_or_ip, 0) == 1;
    if (ok && X509_verify_cert(ctx) == 1)
        rc = CHSM_OK;
done:
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    X509_free(ca);
    X509_free(leaf);
    ERR_clear_error();
    return rc;
}

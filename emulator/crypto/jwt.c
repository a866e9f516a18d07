/* jwt.c - RS256 signing keys, JWKS and compact tokens. */
#include "crypto/jwt.h"

#include "crypto/digest.h"
#include "util/status.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#define RSA_BITS 2048
#define RSA_MAX_BITS 8192
#define KID_HASH_BYTES 15 /* 15 bytes encode to exactly 20 base64url characters */

struct chsm_jwt_key {
    EVP_PKEY *pkey;
    char kid[KID_HASH_BYTES / 3 * 4 + 1];
};

/* ---- keys ---- */

/* wrap takes ownership of pkey, computes its kid and returns a new key. */
static int wrap(EVP_PKEY *pkey, chsm_jwt_key **out)
{
    unsigned char *der = NULL;
    int derlen = i2d_PUBKEY(pkey, &der);
    if (derlen <= 0) {
        EVP_PKEY_free(pkey);
        return CHSM_ECRYPTO;
    }
    unsigned char hash[32];
    chsm_crypto_sha256(der, (size_t)derlen, hash);
    OPENSSL_free(der);
    char *kid = chsm_crypto_base64url_encode(hash, KID_HASH_BYTES);
    chsm_jwt_key *k = calloc(1, sizeof *k);
    if (!kid || !k) {
        free(kid);
        free(k);
        EVP_PKEY_free(pkey);
        return CHSM_ENOMEM;
    }
    memcpy(k->kid, kid, sizeof k->kid - 1);
    free(kid);
    k->pkey = pkey;
    *out = k;
    return CHSM_OK;
}

int chsm_crypto_jwt_key_generate(chsm_jwt_key **out)
{
    if (!out)
        return CHSM_EINVAL;
    *out = NULL;
    EVP_PKEY *pkey = EVP_RSA_gen(RSA_BITS);
    if (!pkey) {
        ERR_clear_error();
        return CHSM_ECRYPTO;
    }
    return wrap(pkey, out);
}

/* no_password stops OpenSSL from prompting on the terminal for an encrypted PEM. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

int chsm_crypto_jwt_key_from_pem(const char *pem, chsm_jwt_key **out)
{
    if (!pem || !out)
        return CHSM_EINVAL;
    *out = NULL;
    size_t len = strnlen(pem, CHSM_CRYPTO_JWT_MAX_TOKEN + 1);
    if (len == 0 || len > CHSM_CRYPTO_JWT_MAX_TOKEN)
        return CHSM_EINVAL;
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    if (!bio)
        return CHSM_ENOMEM;
    EVP_PKEY *pkey = PEM_read_bio_PrivateKey(bio, NULL, no_password, NULL);
    BIO_free(bio);
    ERR_clear_error();
    if (!pkey)
        return CHSM_EINVAL;
    int bits = EVP_PKEY_get_bits(pkey);
    if (!EVP_PKEY_is_a(pkey, "RSA") || bits < RSA_BITS || bits > RSA_MAX_BITS) {
        EVP_PKEY_free(pkey);
        return CHSM_EINVAL;
    }
    return wrap(pkey, out);
}

char *chsm_crypto_jwt_key_to_pem(const chsm_jwt_key *k)
{
    if (!k)
        return NULL;
    BIO *bio = BIO_new(BIO_s_mem());
    if (!bio)
        return NULL;
    char *pem = NULL;
    /* PEM_write_bio_PrivateKey writes PKCS#8 ("BEGIN PRIVATE KEY") in OpenSSL 3. */
    if (PEM_write_bio_PrivateKey(bio, k->pkey, NULL, NULL, 0, NULL, NULL) == 1) {
        char *data = NULL;
        long n = BIO_get_mem_data(bio, &data);
        if (n > 0 && (pem = malloc((size_t)n + 1))) {
            memcpy(pem, data, (size_t)n);
            pem[n] = '\0';
        }
    }
    /* The memory BIO held the private key in clear. */
    BUF_MEM *mem = NULL;
    BIO_get_mem_ptr(bio, &mem);
    if (mem && mem->data)
        OPENSSL_cleanse(mem->data, mem->max);
    BIO_free(bio);
    ERR_clear_error();
    return pem;
}

void chsm_crypto_jwt_key_free(chsm_jwt_key *k)
{
    if (!k)
        return;
    EVP_PKEY_free(k->pkey);
    free(k);
}

const char *chsm_crypto_jwt_key_id(const chsm_jwt_key *k)
{
    return k ? k->kid : NULL;
}

/* bn_param_b64url returns an RSA public parameter as unsigned big-endian base64url, the
 * encoding RFC 7518 6.3.1 requires for "n" and "e"; caller frees. */
static char *bn_param_b64url(const EVP_PKEY *pkey, const char *name)
{
    BIGNUM *bn = NULL;
    if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1)
        return NULL;
    int n = BN_num_bytes(bn);
    unsigned char *bytes = malloc(n > 0 ? (size_t)n : 1);
    char *s = NULL;
    if (bytes && BN_bn2bin(bn, bytes) == n)
        s = chsm_crypto_base64url_encode(bytes, (size_t)n);
    free(bytes);
    BN_free(bn);
    return s;
}

cJSON *chsm_crypto_jwt_jwks(const chsm_jwt_key *k)
{
    if (!k)
        return NULL;
    char *n = bn_param_b64url(k->pkey, OSSL_PKEY_PARAM_RSA_N);
    char *e = bn_param_b64url(k->pkey, OSSL_PKEY_PARAM_RSA_E);
    /* x5t/x5c are left out: they describe a certificate, and this key has none. */
    cJSON *jwk = cJSON_CreateObject();
    int ok = n && e && jwk && cJSON_AddStringToObject(jwk, "kty", "RSA") &&
             cJSON_AddStringToObject(jwk, "use", "sig") &&
             cJSON_AddStringToObject(jwk, "alg", "RS256") &&
             cJSON_AddStringToObject(jwk, "kid", k->kid) && cJSON_AddStringToObject(jwk, "n", n) &&
             cJSON_AddStringToObject(jwk, "e", e);
    cJSON *root = cJSON_CreateObject();
    cJSON *keys = cJSON_AddArrayToObject(root, "keys");
    if (!ok || !keys || !cJSON_AddItemToArray(keys, jwk)) {
        cJSON_Delete(jwk);
        cJSON_Delete(root);
        root = NULL;
    }
    free(n);
    free(e);
    ERR_clear_error();
    return root;
}

/* ---- tokens ---- */

/* b64url_json renders a JSON value and base64url-encodes it; caller frees. */
static char *b64url_json(const cJSON *item)
{
    char *json = cJSON_PrintUnformatted(item);
    if (!json)
        return NULL;
    char *s = chsm_crypto_base64url_encode(json, strlen(json));
    cJSON_free(json);
    return s;
}

char *chsm_crypto_jwt_sign(const chsm_jwt_key *k, const cJSON *claims)
{
    if (!k || !cJSON_IsObject(claims))
        return NULL;
    cJSON *header = cJSON_CreateObject();
    if (!header || !cJSON_AddStringToObject(header, "typ", "JWT") ||
        !cJSON_AddStringToObject(header, "alg", "RS256") ||
        !cJSON_AddStringToObject(header, "kid", k->kid)) {
        cJSON_Delete(header);
        return NULL;
    }
    char *h64 = b64url_json(header);
    cJSON_Delete(header);
    char *c64 = b64url_json(claims);
    char *token = NULL;
    unsigned char *sig = NULL;
    size_t siglen = 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!h64 || !c64 || !md)
        goto done;
    size_t hl = strlen(h64), cl = strlen(c64);
    /* signing input is "header.claims"; the signature goes after a second dot. */
    size_t sigmax = (size_t)EVP_PKEY_get_size(k->pkey);
    token = malloc(hl + 1 + cl + 1 + (sigmax + 2) / 3 * 4 + 1);
    sig = malloc(sigmax);
    if (!token || !sig)
        goto fail;
    memcpy(token, h64, hl);
    token[hl] = '.';
    memcpy(token + hl + 1, c64, cl);
    siglen = sigmax;
    /* EVP_PKEY is reference-counted and not modified by signing, so the cast is safe. */
    if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, (EVP_PKEY *)k->pkey) != 1 ||
        EVP_DigestSign(md, sig, &siglen, (unsigned char *)token, hl + 1 + cl) != 1)
        goto fail;
    char *s64 = chsm_crypto_base64url_encode(sig, siglen);
    if (!s64)
        goto fail;
    token[hl + 1 + cl] = '.';
    strcpy(token + hl + 1 + cl + 1, s64);
    free(s64);
    goto done;
fail:
    free(token);
    token = NULL;
done:
    EVP_MD_CTX_free(md);
    free(sig);
    free(h64);
    free(c64);
    ERR_clear_error();
    return token;
}

/* parse_part decodes one base64url part into a JSON object; caller frees. */
static int parse_part(const char *s, size_t len, cJSON **out)
{
    unsigned char *json = NULL;
    size_t n = 0;
    if (len == 0 || chsm_crypto_base64url_decode(s, len, &json, &n) != CHSM_OK)
        return CHSM_EINVAL;
    /* The decoder NUL-terminates; an embedded NUL would hide trailing bytes from cJSON. */
    const char *end = NULL;
    cJSON *item = NULL;
    if (memchr(json, '\0', n) == NULL)
        item = cJSON_ParseWithOpts((const char *)json, &end, 1);
    free(json);
    if (!cJSON_IsObject(item)) {
        cJSON_Delete(item);
        return CHSM_EINVAL;
    }
    *out = item;
    return CHSM_OK;
}

/* split finds the two dots of a compact token, rejecting oversized tokens and any other
 * shape (JWE's five parts included). */
static int split(const char *token, size_t *len, const char **dot1, const char **dot2)
{
    if (!token)
        return CHSM_EINVAL;
    *len = strnlen(token, CHSM_CRYPTO_JWT_MAX_TOKEN + 1);
    if (*len > CHSM_CRYPTO_JWT_MAX_TOKEN)
        return CHSM_EINVAL;
    *dot1 = memchr(token, '.', *len);
    if (!*dot1)
        return CHSM_EINVAL;
    *dot2 = memchr(*dot1 + 1, '.', *len - (size_t)(*dot1 + 1 - token));
    if (!*dot2 || memchr(*dot2 + 1, '.', *len - (size_t)(*dot2 + 1 - token)))
        return CHSM_EINVAL;
    return CHSM_OK;
}

int chsm_crypto_jwt_decode(const char *token, cJSON **header, cJSON **claims)
{
    size_t len;
    const char *dot1, *dot2;
    if (header)
        *header = NULL;
    if (claims)
        *claims = NULL;
    if (split(token, &len, &dot1, &dot2) != CHSM_OK)
        return CHSM_EINVAL;
    cJSON *h = NULL, *c = NULL;
    if (parse_part(token, (size_t)(dot1 - token), &h) != CHSM_OK)
        return CHSM_EINVAL;
    if (parse_part(dot1 + 1, (size_t)(dot2 - dot1 - 1), &c) != CHSM_OK) {
        cJSON_Delete(h);
        return CHSM_EINVAL;
    }
    /* The signature is not checked here, but it must still be well-formed base64url. */
    unsigned char *sig = NULL;
    size_t siglen = 0;
    if (chsm_crypto_base64url_decode(dot2 + 1, len - (size_t)(dot2 + 1 - token), &sig, &siglen) !=
        CHSM_OK) {
        cJSON_Delete(h);
        cJSON_Delete(c);
        return CHSM_EINVAL;
    }
    free(sig);
    if (header)
        *header = h;
    else
        cJSON_Delete(h);
    if (claims)
        *claims = c;
    else
        cJSON_Delete(c);
    return CHSM_OK;
}

int chsm_crypto_jwt_verify(const chsm_jwt_key *k, const char *token, cJSON **claims)
{
    if (claims)
        *claims = NULL;
    if (!k)
        return CHSM_EINVAL;
    cJSON *h = NULL, *c = NULL;
    if (chsm_crypto_jwt_decode(token, &h, &c) != CHSM_OK)
        return CHSM_EINVAL;
    const cJSON *alg = cJSON_GetObjectItemCaseSensitive(h, "alg");
    int rc = cJSON_IsString(alg) && strcmp(alg->valuestring, "RS256") == 0 ? CHSM_OK : CHSM_ECRYPTO;
    cJSON_Delete(h);

    size_t len;
    const char *dot1, *dot2;
    unsigned char *sig = NULL;
    size_t siglen = 0;
    if (rc == CHSM_OK)
        rc = split(token, &len, &dot1, &dot2);
    if (rc == CHSM_OK)
        rc =
            chsm_crypto_base64url_decode(dot2 + 1, len - (size_t)(dot2 + 1 - token), &sig, &siglen);
    /* RS256 signatures are exactly as long as the modulus. */
    if (rc == CHSM_OK && siglen != (size_t)EVP_PKEY_get_size(k->pkey))
        rc = CHSM_ECRYPTO;
    if (rc == CHSM_OK) {
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        if (!md)
            rc = CHSM_ENOMEM;
        else if (EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, (EVP_PKEY *)k->pkey) != 1 ||
                 EVP_DigestVerify(md, sig, siglen, (const unsigned char *)token,
                                  (size_t)(dot2 - token)) != 1)
            rc = CHSM_ECRYPTO;
        EVP_MD_CTX_free(md);
    }
    free(sig);
    ERR_clear_error();
    if (rc == CHSM_OK && claims)
        *claims = c;
    else
        cJSON_Delete(c);
    return rc;
}

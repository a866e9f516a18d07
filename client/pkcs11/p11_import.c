/* p11_import.c - importing key material through transient wrapping keys. */
#include "p11_import.h"

#include "p11_module.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void p11_import_req_clear(p11_import_req *req)
{
    cJSON_Delete(req->attrs);
    p11_bytes_free(&req->material);
    memset(req, 0, sizeof *req);
}

static const CK_ATTRIBUTE *find_attr(const CK_ATTRIBUTE *t, CK_ULONG n, CK_ATTRIBUTE_TYPE type)
{
    for (CK_ULONG i = 0; i < n; i++)
        if (t[i].type == type)
            return t[i].pValue && t[i].ulValueLen ? &t[i] : NULL;
    return NULL;
}

static BIGNUM *bn_of(const CK_ATTRIBUTE *a)
{
    return a ? BN_bin2bn(a->pValue, (int)a->ulValueLen, NULL) : NULL;
}

/* pkcs8_of turns an EVP_PKEY into PKCS#8 DER appended to out. */
static CK_RV pkcs8_of(EVP_PKEY *pk, p11_bytes *out)
{
    PKCS8_PRIV_KEY_INFO *p8 = pk ? EVP_PKEY2PKCS8(pk) : NULL;
    unsigned char *der = NULL;
    int len = p8 ? i2d_PKCS8_PRIV_KEY_INFO(p8, &der) : 0;
    PKCS8_PRIV_KEY_INFO_free(p8);
    CK_RV rv = len > 0 ? (p11_bytes_append(out, der, (size_t)len) ? CKR_HOST_MEMORY : CKR_OK)
                       : CKR_ATTRIBUTE_VALUE_INVALID;
    if (der)
        OPENSSL_clear_free(der, (size_t)(len > 0 ? len : 0));
    return rv;
}

/* rsa_material builds the PKCS#8 of an RSA private key from its CRT components. */
static CK_RV rsa_material(const CK_ATTRIBUTE *t, CK_ULONG n, p11_bytes *out)
{
    static const CK_ATTRIBUTE_TYPE types[8] = {
        CKA_MODULUS, CKA_PUBLIC_EXPONENT, CKA_PRIVATE_EXPONENT, CKA_PRIME_1,
        CKA_PRIME_2, CKA_EXPONENT_1,      CKA_EXPONENT_2,       CKA_COEFFICIENT};
    static const char *const names[8] = {
        OSSL_PKEY_PARAM_RSA_N,         OSSL_PKEY_PARAM_RSA_E,
        OSSL_PKEY_PARAM_RSA_D,         OSSL_PKEY_PARAM_RSA_FACTOR1,
        OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
        OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
    BIGNUM *bn[8] = {0};
    CK_RV rv = CKR_TEMPLATE_INCOMPLETE;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pk = NULL;
    int ok = bld != NULL;
    for (int i = 0; ok && i < 8; i++)
        ok = (bn[i] = bn_of(find_attr(t, n, types[i]))) != NULL &&
             OSSL_PARAM_BLD_push_BN(bld, names[i], bn[i]) == 1;
    if (ok) {
        rv = CKR_ATTRIBUTE_VALUE_INVALID;
        params = OSSL_PARAM_BLD_to_param(bld);
        ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
        if (params && ctx && EVP_PKEY_fromdata_init(ctx) == 1 &&
            EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_KEYPAIR, params) == 1)
            rv = pkcs8_of(pk, out);
    }
    EVP_PKEY_free(pk);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    for (int i = 0; i < 8; i++)
        BN_clear_free(bn[i]);
    return rv;
}

/* ec_material builds the PKCS#8 of an EC private key from CKA_EC_PARAMS and CKA_VALUE. */
static CK_RV ec_material(const CK_ATTRIBUTE *t, CK_ULONG n, p11_bytes *out)
{
    static const unsigned char p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48,
                                         0xce, 0x3d, 0x03, 0x01, 0x07};
    static const unsigned char p384[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};
    const CK_ATTRIBUTE *ep = find_attr(t, n, CKA_EC_PARAMS), *v = find_attr(t, n, CKA_VALUE);
    if (!ep || !v)
        return CKR_TEMPLATE_INCOMPLETE;
    const char *group = NULL;
    if (ep->ulValueLen == sizeof p256 && memcmp(ep->pValue, p256, sizeof p256) == 0)
        group = "prime256v1";
    else if (ep->ulValueLen == sizeof p384 && memcmp(ep->pValue, p384, sizeof p384) == 0)
        group = "secp384r1";
    if (!group)
        return CKR_CURVE_NOT_SUPPORTED;
    BIGNUM *d = bn_of(v);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pk = NULL;
    /* the public point d*G goes along: a key made from the scalar alone has none */
    EC_GROUP *grp = EC_GROUP_new_by_curve_name(OBJ_sn2nid(group));
    EC_POINT *pt = grp ? EC_POINT_new(grp) : NULL;
    unsigned char pub[133];
    size_t publen = 0;
    CK_RV rv = CKR_ATTRIBUTE_VALUE_INVALID;
    if (d && pt && EC_POINT_mul(grp, pt, d, NULL, NULL, NULL) == 1)
        publen = EC_POINT_point2oct(grp, pt, POINT_CONVERSION_UNCOMPRESSED, pub, sizeof pub, NULL);
    if (publen && bld &&
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) == 1 &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) == 1 &&
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, publen) == 1 &&
        (params = OSSL_PARAM_BLD_to_param(bld)) != NULL &&
        (ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) != NULL &&
        EVP_PKEY_fromdata_init(ctx) == 1 &&
        EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_KEYPAIR, params) == 1)
        rv = pkcs8_of(pk, out);
    EC_POINT_free(pt);
    EC_GROUP_free(grp);
    EVP_PKEY_free(pk);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_clear_free(d);
    return rv;
}

CK_RV p11_import_parse(const CK_ATTRIBUTE *t, CK_ULONG n, p11_import_req *req)
{
    memset(req, 0, sizeof *req);
    const CK_ATTRIBUTE *c = find_attr(t, n, CKA_CLASS), *k = find_attr(t, n, CKA_KEY_TYPE);
    if (!c || c->ulValueLen != sizeof(CK_ULONG))
        return CKR_TEMPLATE_INCOMPLETE;
    memcpy(&req->cls, c->pValue, sizeof req->cls);
    if (req->cls != CKO_SECRET_KEY && req->cls != CKO_PRIVATE_KEY)
        return CKR_TEMPLATE_INCONSISTENT; /* no public keys, certificates or data objects */
    if (!k || k->ulValueLen != sizeof(CK_ULONG))
        return CKR_TEMPLATE_INCOMPLETE;
    memcpy(&req->kt, k->pValue, sizeof req->kt);
    if (!(req->cls == CKO_SECRET_KEY ? req->kt == CKK_AES
                                     : req->kt == CKK_RSA || req->kt == CKK_EC))
        return CKR_TEMPLATE_INCONSISTENT;
    req->attrs = cJSON_CreateObject();
    CK_RV rv = CKR_OK;
    for (CK_ULONG i = 0; rv == CKR_OK && i < n; i++) {
        int handled;
        rv = p11_template_common(&t[i], req->cls, req->kt, req->attrs, &req->ts, &handled);
        if (rv != CKR_OK || handled)
            continue;
        CK_ATTRIBUTE_TYPE a = t[i].type;
        int material = a == CKA_VALUE ||
                       (req->kt == CKK_RSA &&
                        (a == CKA_MODULUS || a == CKA_PUBLIC_EXPONENT ||
                         a == CKA_PRIVATE_EXPONENT || a == CKA_PRIME_1 || a == CKA_PRIME_2 ||
                         a == CKA_EXPONENT_1 || a == CKA_EXPONENT_2 || a == CKA_COEFFICIENT)) ||
                       (req->kt == CKK_EC && a == CKA_EC_PARAMS);
        if (!material && !(req->cls == CKO_SECRET_KEY && a == CKA_VALUE_LEN))
            rv = CKR_ATTRIBUTE_TYPE_INVALID;
    }
    if (rv == CKR_OK && req->kt == CKK_AES) {
        const CK_ATTRIBUTE *v = find_attr(t, n, CKA_VALUE);
        if (!v)
            rv = CKR_TEMPLATE_INCOMPLETE;
        else if (v->ulValueLen != 16 && v->ulValueLen != 24 && v->ulValueLen != 32)
            rv = CKR_ATTRIBUTE_VALUE_INVALID;
        else if (p11_bytes_append(&req->material, v->pValue, v->ulValueLen))
            rv = CKR_HOST_MEMORY;
    } else if (rv == CKR_OK) {
        rv = req->kt == CKK_RSA ? rsa_material(t, n, &req->material)
                                : ec_material(t, n, &req->material);
    }
    if (rv != CKR_OK) {
        p11_import_req_clear(req);
        return rv;
    }
    cJSON_AddBoolToObject(req->attrs, "token", req->ts.token);
    req->token = req->ts.token;
    return CKR_OK;
}

/* delete_keys deletes every key of a data-plane keys array (best effort). */
static void delete_keys(p11_slot *slot, const cJSON *keys)
{
    const cJSON *k;
    cJSON_ArrayForEach(k, keys)
    {
        const cJSON *h = cJSON_GetObjectItem(k, "handle");
        chsmc_error e;
        if (cJSON_IsNumber(h))
            chsmc_hsm_delete_key(p11_hsm(slot), (long long)h->valuedouble, &e);
    }
}

static long long handle_at(const cJSON *keys, int i)
{
    const cJSON *h = cJSON_GetObjectItem(cJSON_GetArrayItem(keys, i), "handle");
    return cJSON_IsNumber(h) ? (long long)h->valuedouble : 0;
}

/* import_aes brings AES key bytes in under a transient RSA key pair (RSA-OAEP-SHA256). */
static CK_RV import_aes(p11_slot *slot, const unsigned char *key, size_t len, const char *label,
                        const char *key_id, const cJSON *attrs, cJSON **keys)
{
    chsmc_error e;
    chsmc_error_clear(&e);
    char tid[40], hex[17];
    unsigned char rnd[8];
    RAND_bytes(rnd, sizeof rnd);
    for (int i = 0; i < 8; i++)
        snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
    snprintf(tid, sizeof tid, "chsm-p11-import-%s", hex);
    cJSON *spec = cJSON_CreateObject(), *pair = NULL;
    cJSON_AddStringToObject(spec, "type", "RSA");
    cJSON_AddNumberToObject(spec, "size", 2048);
    cJSON_AddStringToObject(spec, "label", "chsm-p11-import");
    cJSON_AddStringToObject(spec, "keyId", tid);
    cJSON *a = cJSON_AddObjectToObject(spec, "attributes");
    cJSON_AddFalseToObject(a, "token");
    int rc;
    P11_CALL(slot, rc, e, chsmc_hsm_generate_key(p11_hsm(slot), spec, &pair, &e));
    cJSON_Delete(spec);
    if (rc != CHSMC_OK)
        return p11_rv_from(rc, &e, P11_CTX_OTHER);
    char *pem = NULL;
    CK_RV rv = CKR_DEVICE_ERROR;
    p11_bytes der = {0};
    unsigned char *ct = NULL;
    size_t ctlen = 0;
    EVP_PKEY *pk = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    rc = chsmc_hsm_public_pem(p11_hsm(slot), handle_at(pair, 0), &pem, &e);
    if (rc != CHSMC_OK) {
        rv = p11_rv_from(rc, &e, P11_CTX_OTHER);
        goto out;
    }
    if (p11_pem_to_der(pem, &der) != CKR_OK)
        goto out;
    const unsigned char *p = der.data;
    pk = d2i_PUBKEY(NULL, &p, (long)der.len);
    ctx = pk ? EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL) : NULL;
    if (!ctx || EVP_PKEY_encrypt_init(ctx) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) != 1 ||
        EVP_PKEY_encrypt(ctx, NULL, &ctlen, key, len) != 1 || !(ct = malloc(ctlen)) ||
        EVP_PKEY_encrypt(ctx, ct, &ctlen, key, len) != 1)
        goto out;
    chsmc_bytes w = {ct, ctlen};
    rc = chsmc_hsm_unwrap(p11_hsm(slot), handle_at(pair, 1), "RSA-OAEP-SHA256", &w, "AES", label,
                          key_id, attrs, keys, &e);
    rv = p11_rv_from(rc, &e, P11_CTX_WRAP);
out:
    delete_keys(slot, pair);
    cJSON_Delete(pair);
    free(pem);
    free(ct);
    p11_bytes_free(&der);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pk);
    return rv;
}

CK_RV p11_import_run(p11_slot *slot, const p11_import_req *req, cJSON **keys)
{
    *keys = NULL;
    const char *label = req->ts.has_label ? req->ts.label : "";
    const char *key_id = req->ts.has_id ? req->ts.key_id : NULL;
    if (req->kt == CKK_AES)
        return import_aes(slot, req->material.data, req->material.len, label, key_id, req->attrs,
                          keys);
    /* A private key: an AES key-encryption key known here, imported first, then RFC 5649. */
    unsigned char kek[32];
    if (RAND_bytes(kek, sizeof kek) != 1)
        return CKR_FUNCTION_FAILED;
    cJSON *kattrs = cJSON_CreateObject(), *kk = NULL;
    cJSON_AddFalseToObject(kattrs, "token");
    cJSON_AddTrueToObject(kattrs, "unwrap");
    cJSON_AddFalseToObject(kattrs, "extractable");
    CK_RV rv = import_aes(slot, kek, sizeof kek, "chsm-p11-import", NULL, kattrs, &kk);
    cJSON_Delete(kattrs);
    if (rv != CKR_OK) {
        OPENSSL_cleanse(kek, sizeof kek);
        return rv;
    }
    unsigned char *wrapped = malloc(req->material.len + 16);
    int l1 = 0, l2 = 0;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    rv = CKR_FUNCTION_FAILED;
    if (wrapped && c) {
        EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
        if (EVP_EncryptInit_ex(c, EVP_aes_256_wrap_pad(), NULL, kek, NULL) == 1 &&
            EVP_EncryptUpdate(c, wrapped, &l1, req->material.data, (int)req->material.len) == 1 &&
            EVP_EncryptFinal_ex(c, wrapped + l1, &l2) == 1)
            rv = CKR_OK;
    }
    EVP_CIPHER_CTX_free(c);
    OPENSSL_cleanse(kek, sizeof kek);
    if (rv == CKR_OK) {
        chsmc_error e;
        chsmc_error_clear(&e);
        chsmc_bytes w = {wrapped, (size_t)(l1 + l2)};
        int rc = chsmc_hsm_unwrap(p11_hsm(slot), handle_at(kk, 0), "AES-KEY-WRAP-PAD", &w,
                                  req->kt == CKK_RSA ? "RSA" : "EC", label, key_id, req->attrs,
                                  keys, &e);
        rv = p11_rv_from(rc, &e, P11_CTX_WRAP);
    }
    free(wrapped);
    delete_keys(slot, kk);
    cJSON_Delete(kk);
    return rv;
}

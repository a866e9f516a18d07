/* p11_mech.c - mechanism table, parameter checks and signature encodings. */
#include "p11_mech.h"

#include <openssl/bn.h>
#include <openssl/ecdsa.h>

#include <string.h>

#define SV (CKF_SIGN | CKF_VERIFY)
#define EC_FLAGS (CKF_EC_F_P | CKF_EC_NAMEDCURVE | CKF_EC_UNCOMPRESS)

static const p11_mech mechs[] = {
    {CKM_AES_KEY_GEN, 16, 32, CKF_GENERATE, CKK_AES, NULL},
    {CKM_RSA_PKCS_KEY_PAIR_GEN, 2048, 4096, CKF_GENERATE_KEY_PAIR, CKK_RSA, NULL},
    {CKM_EC_KEY_PAIR_GEN, 256, 384, CKF_GENERATE_KEY_PAIR | EC_FLAGS, CKK_EC, NULL},
    {CKM_RSA_PKCS, 2048, 4096, SV, CKK_RSA, NULL},
    {CKM_SHA256_RSA_PKCS, 2048, 4096, SV, CKK_RSA, "SHA256"},
    {CKM_SHA384_RSA_PKCS, 2048, 4096, SV, CKK_RSA, "SHA384"},
    {CKM_SHA512_RSA_PKCS, 2048, 4096, SV, CKK_RSA, "SHA512"},
    {CKM_RSA_PKCS_PSS, 2048, 4096, SV, CKK_RSA, NULL},
    {CKM_SHA256_RSA_PKCS_PSS, 2048, 4096, SV, CKK_RSA, "SHA256"},
    {CKM_SHA384_RSA_PKCS_PSS, 2048, 4096, SV, CKK_RSA, "SHA384"},
    {CKM_SHA512_RSA_PKCS_PSS, 2048, 4096, SV, CKK_RSA, "SHA512"},
    {CKM_RSA_PKCS_OAEP, 2048, 4096, CKF_ENCRYPT | CKF_DECRYPT | CKF_WRAP | CKF_UNWRAP, CKK_RSA,
     NULL},
    {CKM_ECDSA, 256, 384, SV | EC_FLAGS, CKK_EC, NULL},
    {CKM_ECDSA_SHA256, 256, 384, SV | EC_FLAGS, CKK_EC, "SHA256"},
    {CKM_ECDSA_SHA384, 256, 384, SV | EC_FLAGS, CKK_EC, "SHA384"},
    {CKM_ECDSA_SHA512, 256, 384, SV | EC_FLAGS, CKK_EC, "SHA512"},
    {CKM_AES_GCM, 16, 32, CKF_ENCRYPT | CKF_DECRYPT, CKK_AES, NULL},
    {CKM_AES_CBC_PAD, 16, 32, CKF_ENCRYPT | CKF_DECRYPT, CKK_AES, NULL},
    {CKM_AES_KEY_WRAP_PAD, 16, 32, CKF_WRAP | CKF_UNWRAP, CKK_AES, NULL},
    {CKM_SHA_1, 0, 0, CKF_DIGEST, CKK_VENDOR_DEFINED, "SHA1"},
    {CKM_SHA224, 0, 0, CKF_DIGEST, CKK_VENDOR_DEFINED, "SHA224"},
    {CKM_SHA256, 0, 0, CKF_DIGEST, CKK_VENDOR_DEFINED, "SHA256"},
    {CKM_SHA384, 0, 0, CKF_DIGEST, CKK_VENDOR_DEFINED, "SHA384"},
    {CKM_SHA512, 0, 0, CKF_DIGEST, CKK_VENDOR_DEFINED, "SHA512"},
};

CK_ULONG p11_mech_count(void)
{
    return sizeof mechs / sizeof mechs[0];
}

const p11_mech *p11_mech_at(CK_ULONG i)
{
    return i < p11_mech_count() ? &mechs[i] : NULL;
}

const p11_mech *p11_mech_find(CK_MECHANISM_TYPE type)
{
    for (CK_ULONG i = 0; i < p11_mech_count(); i++)
        if (mechs[i].type == type)
            return &mechs[i];
    return NULL;
}

const EVP_MD *p11_mech_md(CK_MECHANISM_TYPE type)
{
    switch (type) {
    case CKM_SHA_1:
        return EVP_sha1();
    case CKM_SHA224:
        return EVP_sha224();
    case CKM_SHA256:
        return EVP_sha256();
    case CKM_SHA384:
        return EVP_sha384();
    case CKM_SHA512:
        return EVP_sha512();
    default:
        break;
    }
    const p11_mech *m = p11_mech_find(type);
    return m && m->hash ? EVP_get_digestbyname(m->hash) : NULL;
}

/* pss_plan checks CK_RSA_PKCS_PSS_PARAMS: the data plane signs PSS with MGF1 of the same
 * hash and a salt as long as the hash. want_hash is the combined mechanism's hash or 0. */
static CK_RV pss_plan(const CK_MECHANISM *m, CK_MECHANISM_TYPE want_hash, p11_sig_plan *plan)
{
    if (!m->pParameter || m->ulParameterLen != sizeof(CK_RSA_PKCS_PSS_PARAMS))
        return CKR_MECHANISM_PARAM_INVALID;
    const CK_RSA_PKCS_PSS_PARAMS *p = m->pParameter;
    static const struct {
        CK_MECHANISM_TYPE hash;
        CK_RSA_PKCS_MGF_TYPE mgf;
        size_t len;
        const char *dp;
    } t[] = {{CKM_SHA256, CKG_MGF1_SHA256, 32, "RSA-PSS-SHA256"},
             {CKM_SHA384, CKG_MGF1_SHA384, 48, "RSA-PSS-SHA384"},
             {CKM_SHA512, CKG_MGF1_SHA512, 64, "RSA-PSS-SHA512"}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        if (p->hashAlg != t[i].hash)
            continue;
        if (p->mgf != t[i].mgf || p->sLen != t[i].len || (want_hash && want_hash != p->hashAlg))
            return CKR_MECHANISM_PARAM_INVALID;
        plan->dp_mech = t[i].dp;
        plan->hash_len = t[i].len;
        plan->prehashed = 1;
        return CKR_OK;
    }
    return CKR_MECHANISM_PARAM_INVALID;
}

CK_RV p11_sig_plan_for(const CK_MECHANISM *m, CK_KEY_TYPE key_type, p11_sig_plan *plan)
{
    memset(plan, 0, sizeof *plan);
    const p11_mech *d = p11_mech_find(m->mechanism);
    if (!d || !(d->flags & CKF_SIGN))
        return CKR_MECHANISM_INVALID;
    if (d->key_type != key_type)
        return CKR_KEY_TYPE_INCONSISTENT;
    switch (m->mechanism) {
    case CKM_RSA_PKCS:
    case CKM_SHA256_RSA_PKCS:
    case CKM_SHA384_RSA_PKCS:
    case CKM_SHA512_RSA_PKCS:
        if (m->ulParameterLen)
            return CKR_MECHANISM_PARAM_INVALID;
        plan->dp_mech = "RSA-PKCS"; /* the DigestInfo is made here for the combined ones */
        plan->digest_info = m->mechanism != CKM_RSA_PKCS;
        return CKR_OK;
    case CKM_RSA_PKCS_PSS:
        return pss_plan(m, 0, plan);
    case CKM_SHA256_RSA_PKCS_PSS:
        return pss_plan(m, CKM_SHA256, plan);
    case CKM_SHA384_RSA_PKCS_PSS:
        return pss_plan(m, CKM_SHA384, plan);
    case CKM_SHA512_RSA_PKCS_PSS:
        return pss_plan(m, CKM_SHA512, plan);
    default: /* ECDSA: the digest (or the caller's hash) is signed as given */
        if (m->ulParameterLen)
            return CKR_MECHANISM_PARAM_INVALID;
        plan->dp_mech = "ECDSA";
        plan->ecdsa = 1;
        return CKR_OK;
    }
}

CK_RV p11_digest_info(const unsigned char *digest, size_t n, p11_bytes *out)
{
    static const unsigned char sha256[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                           0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                           0x01, 0x05, 0x00, 0x04, 0x20};
    static const unsigned char sha384[] = {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                           0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                           0x02, 0x05, 0x00, 0x04, 0x30};
    static const unsigned char sha512[] = {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                           0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                           0x03, 0x05, 0x00, 0x04, 0x40};
    const unsigned char *prefix = n == 32 ? sha256 : n == 48 ? sha384 : n == 64 ? sha512 : NULL;
    if (!prefix)
        return CKR_DATA_LEN_RANGE;
    if (p11_bytes_append(out, prefix, sizeof sha256) || p11_bytes_append(out, digest, n))
        return CKR_HOST_MEMORY;
    return CKR_OK;
}

CK_RV p11_ecdsa_der_to_raw(const unsigned char *der, size_t n, size_t field, p11_bytes *out)
{
    const unsigned char *p = der;
    ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)n);
    if (!s)
        return CKR_DEVICE_ERROR;
    const BIGNUM *r, *sv;
    ECDSA_SIG_get0(s, &r, &sv);
    unsigned char buf[2 * 66];
    CK_RV rv = CKR_DEVICE_ERROR;
    if (field <= 66 && BN_bn2binpad(r, buf, (int)field) == (int)field &&
        BN_bn2binpad(sv, buf + field, (int)field) == (int)field)
        rv = p11_bytes_append(out, buf, 2 * field) ? CKR_HOST_MEMORY : CKR_OK;
    ECDSA_SIG_free(s);
    return rv;
}

CK_RV p11_ecdsa_raw_to_der(const unsigned char *raw, size_t n, p11_bytes *out)
{
    if (n == 0 || n % 2 || n > 2 * 66)
        return CKR_SIGNATURE_LEN_RANGE;
    ECDSA_SIG *s = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, (int)(n / 2), NULL),
           *sv = BN_bin2bn(raw + n / 2, (int)(n / 2), NULL);
    CK_RV rv = CKR_HOST_MEMORY;
    if (s && r && sv && ECDSA_SIG_set0(s, r, sv) == 1) {
        r = sv = NULL;
        unsigned char *der = NULL;
        int len = i2d_ECDSA_SIG(s, &der);
        if (len > 0)
            rv = p11_bytes_append(out, der, (size_t)len) ? CKR_HOST_MEMORY : CKR_OK;
        OPENSSL_free(der);
    }
    BN_free(r);
    BN_free(sv);
    ECDSA_SIG_free(s);
    return rv;
}

CK_RV p11_cipher_plan_for(const CK_MECHANISM *m, CK_KEY_TYPE key_type, int wrap,
                          p11_cipher_plan *plan)
{
    memset(plan, 0, sizeof *plan);
    const p11_mech *d = p11_mech_find(m->mechanism);
    if (!d || !(d->flags & (wrap ? CKF_WRAP : CKF_ENCRYPT)))
        return CKR_MECHANISM_INVALID;
    if (d->key_type != key_type)
        return CKR_KEY_TYPE_INCONSISTENT;
    switch (m->mechanism) {
    case CKM_AES_GCM: {
        /* v2.40 errata and later have ulIvBits; the original v2.40 struct has not. */
        const unsigned char *p = m->pParameter;
        CK_GCM_PARAMS g;
        if (!p)
            return CKR_MECHANISM_PARAM_INVALID;
        if (m->ulParameterLen == sizeof(CK_GCM_PARAMS)) {
            memcpy(&g, p, sizeof g);
        } else if (m->ulParameterLen == sizeof(CK_GCM_PARAMS) - sizeof(CK_ULONG)) {
            memcpy(&g.pIv, p, sizeof g.pIv);
            memcpy(&g.ulIvLen, p + sizeof(void *), sizeof(CK_ULONG));
            memcpy(&g.pAAD, p + sizeof(void *) + sizeof(CK_ULONG), sizeof g.pAAD);
            memcpy(&g.ulAADLen, p + 2 * sizeof(void *) + sizeof(CK_ULONG), sizeof(CK_ULONG));
            memcpy(&g.ulTagBits, p + 2 * sizeof(void *) + 2 * sizeof(CK_ULONG), sizeof(CK_ULONG));
        } else {
            return CKR_MECHANISM_PARAM_INVALID;
        }
        if (!g.pIv || g.ulIvLen != 12 || g.ulTagBits != 128 || (g.ulAADLen && !g.pAAD))
            return CKR_MECHANISM_PARAM_INVALID;
        plan->dp_mech = "AES-GCM";
        plan->iv = g.pIv;
        plan->iv_len = 12;
        plan->aad = g.pAAD;
        plan->aad_len = g.ulAADLen;
        return CKR_OK;
    }
    case CKM_AES_CBC_PAD:
        if (!m->pParameter || m->ulParameterLen != 16)
            return CKR_MECHANISM_PARAM_INVALID;
        plan->dp_mech = "AES-CBC-PAD";
        plan->iv = m->pParameter;
        plan->iv_len = 16;
        return CKR_OK;
    case CKM_AES_KEY_WRAP_PAD:
        /* only the default RFC 5649 IV */
        if (m->ulParameterLen)
            return CKR_MECHANISM_PARAM_INVALID;
        plan->dp_mech = "AES-KEY-WRAP-PAD";
        return CKR_OK;
    case CKM_RSA_PKCS_OAEP: {
        if (!m->pParameter || m->ulParameterLen != sizeof(CK_RSA_PKCS_OAEP_PARAMS))
            return CKR_MECHANISM_PARAM_INVALID;
        const CK_RSA_PKCS_OAEP_PARAMS *o = m->pParameter;
        if (o->hashAlg != CKM_SHA256 || o->mgf != CKG_MGF1_SHA256 ||
            (o->source && o->source != CKZ_DATA_SPECIFIED) || o->ulSourceDataLen)
            return CKR_MECHANISM_PARAM_INVALID; /* the data plane does OAEP SHA-256, no label */
        plan->dp_mech = "RSA-OAEP-SHA256";
        return CKR_OK;
    }
    default:
        return CKR_MECHANISM_INVALID;
    }
}

/* p11_attr.c - attributes of key objects and templates as data-plane requests. */
#include "p11_attr.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const unsigned char OID_P256[] = {0x06, 0x08, 0x2a, 0x86, 0x48,
                                         0xce, 0x3d, 0x03, 0x01, 0x07};
static const unsigned char OID_P384[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};

/* ---- CKA_ID <-> keyId ---- */

static int printable_id(const unsigned char *p, size_t n)
{
    if (n >= 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (p[i] < 0x21 || p[i] > 0x7e)
            return 0;
    return 1;
}

CK_RV p11_id_to_key_id(const void *id, size_t n, char out[129])
{
    const unsigned char *p = id;
    if (!p || n == 0)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    if (printable_id(p, n)) {
        if (n > 128)
            return CKR_ATTRIBUTE_VALUE_INVALID;
        memcpy(out, p, n);
        out[n] = '\0';
        return CKR_OK;
    }
    if (2 + 2 * n > 128)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    static const char hex[] = "0123456789abcdef";
    out[0] = '0';
    out[1] = 'x';
    for (size_t i = 0; i < n; i++) {
        out[2 + 2 * i] = hex[p[i] >> 4];
        out[3 + 2 * i] = hex[p[i] & 15];
    }
    out[2 + 2 * n] = '\0';
    return CKR_OK;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

CK_RV p11_key_id_to_id(const char *key_id, p11_bytes *out)
{
    size_t n = key_id ? strlen(key_id) : 0;
    int hex = n > 2 && n % 2 == 0 && key_id[0] == '0' && key_id[1] == 'x';
    for (size_t i = 2; hex && i < n; i++)
        hex = hexval(key_id[i]) >= 0;
    if (!hex)
        return p11_bytes_append(out, key_id, n) ? CKR_HOST_MEMORY : CKR_OK;
    for (size_t i = 2; i < n; i += 2) {
        unsigned char b = (unsigned char)(hexval(key_id[i]) << 4 | hexval(key_id[i + 1]));
        if (p11_bytes_append(out, &b, 1))
            return CKR_HOST_MEMORY;
    }
    return CKR_OK;
}

/* ---- reading key objects ---- */

static const char *str_of(const cJSON *key, const char *name)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(key, name));
    return s ? s : "";
}

CK_OBJECT_CLASS p11_key_class(const cJSON *key)
{
    const char *c = str_of(key, "class");
    if (strcmp(c, "secret") == 0)
        return CKO_SECRET_KEY;
    if (strcmp(c, "public") == 0)
        return CKO_PUBLIC_KEY;
    if (strcmp(c, "private") == 0)
        return CKO_PRIVATE_KEY;
    return CKO_VENDOR_DEFINED;
}

CK_KEY_TYPE p11_key_type(const cJSON *key)
{
    const char *t = str_of(key, "type");
    if (strcmp(t, "AES") == 0)
        return CKK_AES;
    if (strcmp(t, "RSA") == 0)
        return CKK_RSA;
    if (strcmp(t, "EC") == 0)
        return CKK_EC;
    return CKK_VENDOR_DEFINED;
}

int p11_key_bool(const cJSON *key, const char *name)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(key, "attributes"), name));
}

int p11_key_size(const cJSON *key)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(key, "size");
    return cJSON_IsNumber(s) ? s->valueint : 0;
}

/* The boolean attributes the data plane stores, and which key classes have them. */
enum { C_SECRET = 1, C_PUBLIC = 2, C_PRIVATE = 4, C_ALL = 7 };

typedef struct bool_attr {
    CK_ATTRIBUTE_TYPE type;
    const char *name; /* data-plane attribute */
    int classes;
} bool_attr;

static const bool_attr bool_attrs[] = {
    {CKA_TOKEN, "token", C_ALL},
    {CKA_DERIVE, "derive", C_ALL},
    {CKA_ENCRYPT, "encrypt", C_SECRET | C_PUBLIC},
    {CKA_VERIFY, "verify", C_SECRET | C_PUBLIC},
    {CKA_WRAP, "wrap", C_SECRET | C_PUBLIC},
    {CKA_TRUSTED, "trusted", C_SECRET | C_PUBLIC},
    {CKA_DECRYPT, "decrypt", C_SECRET | C_PRIVATE},
    {CKA_SIGN, "sign", C_SECRET | C_PRIVATE},
    {CKA_UNWRAP, "unwrap", C_SECRET | C_PRIVATE},
    {CKA_SENSITIVE, "sensitive", C_SECRET | C_PRIVATE},
    {CKA_EXTRACTABLE, "extractable", C_SECRET | C_PRIVATE},
};
#define NBOOL (sizeof bool_attrs / sizeof bool_attrs[0])

static int class_bit(CK_OBJECT_CLASS c)
{
    return c == CKO_SECRET_KEY    ? C_SECRET
           : c == CKO_PUBLIC_KEY  ? C_PUBLIC
           : c == CKO_PRIVATE_KEY ? C_PRIVATE
                                  : 0;
}

static const bool_attr *find_bool(CK_ATTRIBUTE_TYPE t)
{
    for (size_t i = 0; i < NBOOL; i++)
        if (bool_attrs[i].type == t)
            return &bool_attrs[i];
    return NULL;
}

static int is_spki_attr(CK_ATTRIBUTE_TYPE t)
{
    return t == CKA_MODULUS || t == CKA_PUBLIC_EXPONENT || t == CKA_EC_PARAMS ||
           t == CKA_EC_POINT || t == CKA_PUBLIC_KEY_INFO;
}

int p11_attr_needs_spki(const p11_object *o, const CK_ATTRIBUTE *t, CK_ULONG n)
{
    CK_KEY_TYPE kt = p11_key_type(o->key);
    if (kt != CKK_RSA && kt != CKK_EC)
        return 0;
    for (CK_ULONG i = 0; i < n; i++)
        if (is_spki_attr(t[i].type))
            return 1;
    return 0;
}

static CK_RV put(p11_bytes *out, const void *p, size_t n)
{
    return p11_bytes_append(out, p, n) ? CKR_HOST_MEMORY : CKR_OK;
}

static CK_RV put_bool(p11_bytes *out, int v)
{
    CK_BBOOL b = v ? CK_TRUE : CK_FALSE;
    return put(out, &b, sizeof b);
}

static CK_RV put_ulong(p11_bytes *out, CK_ULONG v)
{
    return put(out, &v, sizeof v);
}

static CK_RV put_bn(p11_bytes *out, const BIGNUM *bn)
{
    int n = BN_num_bytes(bn);
    unsigned char *buf = malloc(n > 0 ? (size_t)n : 1);
    if (!buf)
        return CKR_HOST_MEMORY;
    BN_bn2bin(bn, buf);
    CK_RV rv = put(out, buf, (size_t)n);
    free(buf);
    return rv;
}

/* der_item reads one DER TLV at *p (before end): its tag, contents and length; moves *p past
 * it. 0 when malformed. */
static int der_item(const unsigned char **p, const unsigned char *end, unsigned char *tag,
                    const unsigned char **content, size_t *len)
{
    const unsigned char *q = *p;
    if (end - q < 2)
        return 0;
    *tag = *q++;
    size_t n = *q++;
    if (n & 0x80) {
        int k = (int)(n & 0x7f);
        if (k < 1 || k > 2 || end - q < k)
            return 0;
        n = 0;
        while (k--)
            n = n << 8 | *q++;
    }
    if ((size_t)(end - q) < n)
        return 0;
    *content = q;
    *len = n;
    *p = q + n;
    return 1;
}

/* spki_point finds the public key bits of a SubjectPublicKeyInfo:
 * SEQUENCE { SEQUENCE algorithm, BIT STRING key }; 1 when found. */
static int spki_point(const unsigned char *der, size_t n, const unsigned char **pt, size_t *len)
{
    const unsigned char *p = der, *end = der + n, *seq, *c;
    size_t slen, clen;
    unsigned char tag;
    if (!der || !der_item(&p, end, &tag, &seq, &slen) || tag != 0x30)
        return 0;
    p = seq;
    end = seq + slen;
    if (!der_item(&p, end, &tag, &c, &clen) || tag != 0x30 || !der_item(&p, end, &tag, &c, &clen) ||
        tag != 0x03 || clen < 2 || c[0] != 0)
        return 0;
    *pt = c + 1; /* after the unused-bits byte */
    *len = clen - 1;
    return 1;
}

/* spki_attr computes a public-key attribute from the object's SubjectPublicKeyInfo. */
static CK_RV spki_attr(const p11_object *o, CK_ATTRIBUTE_TYPE type, p11_bytes *out)
{
    CK_KEY_TYPE kt = p11_key_type(o->key);
    if ((kt == CKK_RSA && (type == CKA_EC_PARAMS || type == CKA_EC_POINT)) ||
        (kt == CKK_EC && (type == CKA_MODULUS || type == CKA_PUBLIC_EXPONENT)) ||
        (kt == CKK_EC && type == CKA_EC_POINT && p11_key_class(o->key) != CKO_PUBLIC_KEY))
        return CKR_ATTRIBUTE_TYPE_INVALID;
    if (kt == CKK_EC && type == CKA_EC_PARAMS) { /* known from the key object alone */
        const char *curve = str_of(o->key, "curve");
        if (strcmp(curve, "P-256") == 0)
            return put(out, OID_P256, sizeof OID_P256);
        if (strcmp(curve, "P-384") == 0)
            return put(out, OID_P384, sizeof OID_P384);
    }
    if (!o->spki.data)
        return CKR_ATTRIBUTE_TYPE_INVALID; /* the caller could not fetch it */
    if (type == CKA_PUBLIC_KEY_INFO)
        return put(out, o->spki.data, o->spki.len);
    if (type == CKA_EC_POINT) {
        const unsigned char *pt = NULL;
        size_t len = 0;
        /* the SPKI's BIT STRING holds the point: read with a few DER steps and no OpenSSL
         * object (an application's engine may own EC in its library context) */
        if (!spki_point(o->spki.data, o->spki.len, &pt, &len) || len >= 128)
            return CKR_DEVICE_ERROR;
        unsigned char hdr[2] = {0x04, (unsigned char)len}; /* DER OCTET STRING */
        CK_RV r = put(out, hdr, 2);
        return r == CKR_OK ? put(out, pt, len) : r;
    }
    /* whatever OpenSSL complains about stays off the application's error queue */
    ERR_set_mark();
    const unsigned char *p = o->spki.data;
    EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, (long)o->spki.len);
    if (!pk) {
        ERR_pop_to_mark();
        return CKR_DEVICE_ERROR;
    }
    CK_RV rv = CKR_DEVICE_ERROR;
    if (type == CKA_MODULUS || type == CKA_PUBLIC_EXPONENT) {
        BIGNUM *bn = NULL;
        if (EVP_PKEY_get_bn_param(
                pk, type == CKA_MODULUS ? OSSL_PKEY_PARAM_RSA_N : OSSL_PKEY_PARAM_RSA_E, &bn) == 1)
            rv = put_bn(out, bn);
        BN_free(bn);
    } else if (type == CKA_EC_PARAMS) {
        char name[64];
        size_t len = 0;
        if (EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name,
                                           &len) == 1) {
            if (strcmp(name, "prime256v1") == 0)
                rv = put(out, OID_P256, sizeof OID_P256);
            else if (strcmp(name, "secp384r1") == 0)
                rv = put(out, OID_P384, sizeof OID_P384);
        }
    }
    EVP_PKEY_free(pk);
    ERR_pop_to_mark();
    return rv;
}

CK_RV p11_attr_value(const p11_object *o, CK_ATTRIBUTE_TYPE type, p11_bytes *out)
{
    const cJSON *k = o->key;
    CK_OBJECT_CLASS cls = p11_key_class(k);
    CK_KEY_TYPE kt = p11_key_type(k);
    int cb = class_bit(cls);
    const bool_attr *b = find_bool(type);
    if (b)
        return (b->classes & cb) ? put_bool(out, p11_key_bool(k, b->name))
                                 : CKR_ATTRIBUTE_TYPE_INVALID;
    int secret_or_private = cls == CKO_SECRET_KEY || cls == CKO_PRIVATE_KEY;
    switch (type) {
    case CKA_CLASS:
        return put_ulong(out, cls);
    case CKA_KEY_TYPE:
        return put_ulong(out, kt);
    case CKA_LABEL: {
        const char *l = str_of(k, "label");
        return put(out, l, strlen(l));
    }
    case CKA_ID:
        return p11_key_id_to_id(str_of(k, "keyId"), out);
    case CKA_PRIVATE: /* every key needs a logged-in crypto user */
    case CKA_MODIFIABLE:
    case CKA_DESTROYABLE:
    case CKA_LOCAL:
        return put_bool(out, 1);
    case CKA_COPYABLE:
        return put_bool(out, 0);
    case CKA_START_DATE:
    case CKA_END_DATE:
        return CKR_OK; /* empty */
    case CKA_KEY_GEN_MECHANISM:
        return put_ulong(out, kt == CKK_AES   ? CKM_AES_KEY_GEN
                              : kt == CKK_RSA ? CKM_RSA_PKCS_KEY_PAIR_GEN
                                              : CKM_EC_KEY_PAIR_GEN);
    case CKA_ALWAYS_SENSITIVE:
        return secret_or_private ? put_bool(out, p11_key_bool(k, "sensitive"))
                                 : CKR_ATTRIBUTE_TYPE_INVALID;
    case CKA_NEVER_EXTRACTABLE:
        return secret_or_private ? put_bool(out, !p11_key_bool(k, "extractable"))
                                 : CKR_ATTRIBUTE_TYPE_INVALID;
    case CKA_WRAP_WITH_TRUSTED:
        return secret_or_private ? put_bool(out, 0) : CKR_ATTRIBUTE_TYPE_INVALID;
    case CKA_ALWAYS_AUTHENTICATE:
        return cls == CKO_PRIVATE_KEY ? put_bool(out, 0) : CKR_ATTRIBUTE_TYPE_INVALID;
    case CKA_SIGN_RECOVER:
        return cls == CKO_PRIVATE_KEY ? put_bool(out, 0) : CKR_ATTRIBUTE_TYPE_INVALID;
    case CKA_VERIFY_RECOVER:
        return cls == CKO_PUBLIC_KEY ? put_bool(out, 0) : CKR_ATTRIBUTE_TYPE_INVALID;
    case CKA_SUBJECT:
        return cls == CKO_SECRET_KEY ? CKR_ATTRIBUTE_TYPE_INVALID : CKR_OK;
    case CKA_VALUE_LEN:
        return cls == CKO_SECRET_KEY ? put_ulong(out, (CK_ULONG)p11_key_size(k) / 8)
                                     : CKR_ATTRIBUTE_TYPE_INVALID;
    case CKA_CHECK_VALUE: {
        const char *kcv = str_of(k, "kcv");
        if (cls != CKO_SECRET_KEY || strlen(kcv) != 6)
            return CKR_ATTRIBUTE_TYPE_INVALID;
        unsigned char v[3];
        for (int i = 0; i < 3; i++) {
            int hi = hexval(kcv[2 * i]), lo = hexval(kcv[2 * i + 1]);
            if (hi < 0 || lo < 0)
                return CKR_ATTRIBUTE_TYPE_INVALID;
            v[i] = (unsigned char)(hi << 4 | lo);
        }
        return put(out, v, 3);
    }
    case CKA_MODULUS_BITS:
        return kt == CKK_RSA && cls != CKO_SECRET_KEY ? put_ulong(out, (CK_ULONG)p11_key_size(k))
                                                      : CKR_ATTRIBUTE_TYPE_INVALID;
    case CKA_VALUE:
        if (cls == CKO_PUBLIC_KEY)
            return CKR_ATTRIBUTE_TYPE_INVALID; /* the key is in CKA_MODULUS / CKA_EC_POINT */
        if (cls == CKO_PRIVATE_KEY && kt == CKK_RSA)
            return CKR_ATTRIBUTE_TYPE_INVALID;
        return CKR_ATTRIBUTE_SENSITIVE; /* key material never leaves the HSM in the clear */
    case CKA_PRIVATE_EXPONENT:
    case CKA_PRIME_1:
    case CKA_PRIME_2:
    case CKA_EXPONENT_1:
    case CKA_EXPONENT_2:
    case CKA_COEFFICIENT:
        return cls == CKO_PRIVATE_KEY && kt == CKK_RSA ? CKR_ATTRIBUTE_SENSITIVE
                                                       : CKR_ATTRIBUTE_TYPE_INVALID;
    default:
        break;
    }
    if (is_spki_attr(type) && (kt == CKK_RSA || kt == CKK_EC) && cls != CKO_SECRET_KEY)
        return spki_attr(o, type, out);
    return CKR_ATTRIBUTE_TYPE_INVALID;
}

CK_RV p11_attr_get(const p11_object *o, CK_ATTRIBUTE_PTR t, CK_ULONG n)
{
    CK_RV rv = CKR_OK;
    for (CK_ULONG i = 0; i < n; i++) {
        p11_bytes v = {0};
        CK_RV r = p11_attr_value(o, t[i].type, &v);
        if (r == CKR_HOST_MEMORY || r == CKR_DEVICE_ERROR) {
            p11_bytes_free(&v);
            return r;
        }
        if (r != CKR_OK) {
            t[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
            rv = r;
        } else if (!t[i].pValue) {
            t[i].ulValueLen = (CK_ULONG)v.len;
        } else if (t[i].ulValueLen < v.len) {
            t[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
            rv = CKR_BUFFER_TOO_SMALL;
        } else {
            if (v.len)
                memcpy(t[i].pValue, v.data, v.len);
            t[i].ulValueLen = (CK_ULONG)v.len;
        }
        p11_bytes_free(&v);
    }
    return rv;
}

int p11_attr_match(const p11_object *o, const CK_ATTRIBUTE *t, CK_ULONG n)
{
    for (CK_ULONG i = 0; i < n; i++) {
        p11_bytes v = {0};
        CK_RV r = p11_attr_value(o, t[i].type, &v);
        int ok = r == CKR_OK && v.len == t[i].ulValueLen &&
                 (v.len == 0 || (t[i].pValue && memcmp(v.data, t[i].pValue, v.len) == 0));
        p11_bytes_free(&v);
        if (!ok)
            return 0;
    }
    return 1;
}

/* ---- templates ---- */

static int get_ulong(const CK_ATTRIBUTE *a, CK_ULONG *v)
{
    if (!a->pValue || a->ulValueLen != sizeof(CK_ULONG))
        return 0;
    memcpy(v, a->pValue, sizeof *v);
    return 1;
}

static int get_bool(const CK_ATTRIBUTE *a, int *v)
{
    if (!a->pValue || a->ulValueLen != sizeof(CK_BBOOL))
        return 0;
    *v = *(const CK_BBOOL *)a->pValue != CK_FALSE;
    return 1;
}

static CK_RV get_label(const CK_ATTRIBUTE *a, char out[128])
{
    if (a->ulValueLen > 127 || (a->ulValueLen && !a->pValue) ||
        (a->ulValueLen && memchr(a->pValue, '\0', a->ulValueLen)))
        return CKR_ATTRIBUTE_VALUE_INVALID;
    if (a->ulValueLen)
        memcpy(out, a->pValue, a->ulValueLen);
    out[a->ulValueLen] = '\0';
    return CKR_OK;
}

static const char *class_name(CK_OBJECT_CLASS c)
{
    return c == CKO_SECRET_KEY    ? "secret"
           : c == CKO_PUBLIC_KEY  ? "public"
           : c == CKO_PRIVATE_KEY ? "private"
                                  : NULL;
}

static const char *type_name(CK_KEY_TYPE t)
{
    return t == CKK_AES ? "AES" : t == CKK_RSA ? "RSA" : t == CKK_EC ? "EC" : NULL;
}

CK_RV p11_find_filter_from(const CK_ATTRIBUTE *t, CK_ULONG n, p11_find_filter *f)
{
    memset(f, 0, sizeof *f);
    for (CK_ULONG i = 0; i < n; i++) {
        const CK_ATTRIBUTE *a = &t[i];
        CK_ULONG v;
        if (a->type == CKA_CLASS) {
            if (!get_ulong(a, &v))
                return CKR_ATTRIBUTE_VALUE_INVALID;
            if (!(f->klass = class_name(v)))
                f->empty = 1;
        } else if (a->type == CKA_KEY_TYPE) {
            if (!get_ulong(a, &v))
                return CKR_ATTRIBUTE_VALUE_INVALID;
            if (!(f->type = type_name(v)))
                f->empty = 1;
        } else if (a->type == CKA_LABEL) {
            if (get_label(a, f->label) != CKR_OK)
                f->empty = 1; /* no key has such a label */
            f->has_label = 1;
        } else if (a->type == CKA_ID) {
            if (a->ulValueLen == 0 || !a->pValue ||
                p11_id_to_key_id(a->pValue, a->ulValueLen, f->key_id) != CKR_OK)
                f->empty = 1;
            f->has_key_id = 1;
        }
    }
    return CKR_OK;
}

typedef p11_tmpl tmpl_state;

CK_RV p11_template_common(const CK_ATTRIBUTE *a, CK_OBJECT_CLASS cls, CK_KEY_TYPE kt, cJSON *attrs,
                          tmpl_state *ts, int *handled)
{
    CK_ULONG v;
    int b;
    *handled = 1;
    const bool_attr *ba = find_bool(a->type);
    if (ba) {
        if (!(ba->classes & class_bit(cls)))
            return CKR_ATTRIBUTE_TYPE_INVALID;
        if (!get_bool(a, &b))
            return CKR_ATTRIBUTE_VALUE_INVALID;
        if (a->type == CKA_SENSITIVE && !b)
            return CKR_ATTRIBUTE_VALUE_INVALID; /* keys are always sensitive, as on Cloud HSM */
        if (a->type == CKA_TRUSTED && b)
            return CKR_ATTRIBUTE_READ_ONLY; /* only a crypto officer marks keys trusted */
        if (a->type == CKA_TOKEN)
            ts->token = b;
        else
            cJSON_AddBoolToObject(attrs, ba->name, b);
        return CKR_OK;
    }
    switch (a->type) {
    case CKA_CLASS:
        return get_ulong(a, &v) && v == cls ? CKR_OK : CKR_TEMPLATE_INCONSISTENT;
    case CKA_KEY_TYPE:
        return get_ulong(a, &v) && v == kt ? CKR_OK : CKR_TEMPLATE_INCONSISTENT;
    case CKA_LABEL:
        ts->has_label = 1;
        return get_label(a, ts->label);
    case CKA_ID:
        if (a->ulValueLen == 0)
            return CKR_OK; /* the data plane makes one up */
        ts->has_id = 1;
        return a->pValue ? p11_id_to_key_id(a->pValue, a->ulValueLen, ts->key_id)
                         : CKR_ATTRIBUTE_VALUE_INVALID;
    case CKA_PRIVATE:
        if (!get_bool(a, &b))
            return CKR_ATTRIBUTE_VALUE_INVALID;
        /* every key needs a logged-in user; a public key may say either */
        return b || cls == CKO_PUBLIC_KEY ? CKR_OK : CKR_ATTRIBUTE_VALUE_INVALID;
    case CKA_MODIFIABLE:
    case CKA_DESTROYABLE:
        return get_bool(a, &b) && b ? CKR_OK : CKR_ATTRIBUTE_VALUE_INVALID;
    case CKA_COPYABLE:
    case CKA_WRAP_WITH_TRUSTED:
    case CKA_SIGN_RECOVER:
    case CKA_VERIFY_RECOVER:
    case CKA_ALWAYS_AUTHENTICATE:
        return get_bool(a, &b) && !b ? CKR_OK : CKR_ATTRIBUTE_VALUE_INVALID;
    case CKA_SUBJECT:
    case CKA_START_DATE:
    case CKA_END_DATE:
        return a->ulValueLen == 0 ? CKR_OK : CKR_ATTRIBUTE_VALUE_INVALID;
    default:
        *handled = 0;
        return CKR_OK;
    }
}

static void spec_common(cJSON *spec, const tmpl_state *ts, cJSON *attrs)
{
    if (ts->has_label)
        cJSON_AddStringToObject(spec, "label", ts->label);
    if (ts->has_id)
        cJSON_AddStringToObject(spec, "keyId", ts->key_id);
    cJSON_AddBoolToObject(attrs, "token", ts->token);
    cJSON_AddItemToObject(spec, "attributes", attrs);
}

CK_RV p11_template_secret(const CK_ATTRIBUTE *t, CK_ULONG n, cJSON **spec, int *token)
{
    *spec = NULL;
    tmpl_state ts;
    memset(&ts, 0, sizeof ts);
    cJSON *attrs = cJSON_CreateObject();
    CK_ULONG len = 32;
    CK_RV rv = CKR_OK;
    for (CK_ULONG i = 0; rv == CKR_OK && i < n; i++) {
        int handled;
        rv = p11_template_common(&t[i], CKO_SECRET_KEY, CKK_AES, attrs, &ts, &handled);
        if (rv != CKR_OK || handled)
            continue;
        if (t[i].type == CKA_VALUE_LEN) {
            if (!get_ulong(&t[i], &len))
                rv = CKR_ATTRIBUTE_VALUE_INVALID;
            else if (len != 16 && len != 24 && len != 32)
                rv = CKR_KEY_SIZE_RANGE;
        } else if (t[i].type == CKA_VALUE) {
            rv = CKR_TEMPLATE_INCONSISTENT; /* generated, not given */
        } else {
            rv = CKR_ATTRIBUTE_TYPE_INVALID;
        }
    }
    if (rv != CKR_OK) {
        cJSON_Delete(attrs);
        return rv;
    }
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "type", "AES");
    cJSON_AddNumberToObject(s, "size", (double)(len * 8));
    spec_common(s, &ts, attrs);
    *spec = s;
    *token = ts.token;
    return CKR_OK;
}

static int bytes_to_ulong(const CK_ATTRIBUTE *a, unsigned long long *v)
{
    if (!a->pValue || a->ulValueLen == 0 || a->ulValueLen > 8)
        return 0;
    unsigned long long x = 0;
    for (CK_ULONG i = 0; i < a->ulValueLen; i++)
        x = x << 8 | ((const unsigned char *)a->pValue)[i];
    *v = x;
    return 1;
}

/* curve_of maps CKA_EC_PARAMS (a DER OID, or the printable curve name some tools send) to
 * the data plane's curve. */
static const char *curve_of(const CK_ATTRIBUTE *a)
{
    if (!a->pValue)
        return NULL;
    if (a->ulValueLen == sizeof OID_P256 && memcmp(a->pValue, OID_P256, sizeof OID_P256) == 0)
        return "P-256";
    if (a->ulValueLen == sizeof OID_P384 && memcmp(a->pValue, OID_P384, sizeof OID_P384) == 0)
        return "P-384";
    /* PrintableString "prime256v1" / "secp384r1" */
    const unsigned char *p = a->pValue;
    if (a->ulValueLen > 2 && p[0] == 0x13 && p[1] == a->ulValueLen - 2) {
        if (a->ulValueLen - 2 == 10 && memcmp(p + 2, "prime256v1", 10) == 0)
            return "P-256";
        if (a->ulValueLen - 2 == 9 && memcmp(p + 2, "secp384r1", 9) == 0)
            return "P-384";
    }
    return NULL;
}

CK_RV p11_template_pair(CK_MECHANISM_TYPE mech, const CK_ATTRIBUTE *pub, CK_ULONG npub,
                        const CK_ATTRIBUTE *priv, CK_ULONG npriv, cJSON **spec, int *token,
                        cJSON **pub_patch)
{
    *spec = NULL;
    *pub_patch = NULL;
    int rsa = mech == CKM_RSA_PKCS_KEY_PAIR_GEN;
    CK_KEY_TYPE kt = rsa ? CKK_RSA : CKK_EC;
    tmpl_state pts, vts;
    memset(&pts, 0, sizeof pts);
    memset(&vts, 0, sizeof vts);
    cJSON *attrs = cJSON_CreateObject();
    CK_ULONG bits = 0;
    unsigned long long e = 65537;
    const char *curve = NULL;
    CK_RV rv = CKR_OK;
    for (CK_ULONG i = 0; rv == CKR_OK && i < npub; i++) {
        int handled;
        rv = p11_template_common(&pub[i], CKO_PUBLIC_KEY, kt, attrs, &pts, &handled);
        if (rv != CKR_OK || handled)
            continue;
        if (rsa && pub[i].type == CKA_MODULUS_BITS) {
            if (!get_ulong(&pub[i], &bits))
                rv = CKR_ATTRIBUTE_VALUE_INVALID;
            else if (bits != 2048 && bits != 3072 && bits != 4096)
                rv = CKR_KEY_SIZE_RANGE;
        } else if (rsa && pub[i].type == CKA_PUBLIC_EXPONENT) {
            if (!bytes_to_ulong(&pub[i], &e) || e < 65537 || e > 0xffffffffULL || !(e & 1))
                rv = CKR_ATTRIBUTE_VALUE_INVALID;
        } else if (!rsa && pub[i].type == CKA_EC_PARAMS) {
            if (!(curve = curve_of(&pub[i])))
                rv = CKR_CURVE_NOT_SUPPORTED;
        } else if (pub[i].type == CKA_MODULUS || pub[i].type == CKA_EC_POINT ||
                   pub[i].type == CKA_VALUE) {
            rv = CKR_TEMPLATE_INCONSISTENT;
        } else {
            rv = CKR_ATTRIBUTE_TYPE_INVALID;
        }
    }
    for (CK_ULONG i = 0; rv == CKR_OK && i < npriv; i++) {
        int handled;
        rv = p11_template_common(&priv[i], CKO_PRIVATE_KEY, kt, attrs, &vts, &handled);
        if (rv == CKR_OK && !handled)
            rv = CKR_ATTRIBUTE_TYPE_INVALID;
    }
    if (rv == CKR_OK && rsa && bits == 0)
        rv = CKR_TEMPLATE_INCOMPLETE;
    if (rv == CKR_OK && !rsa && !curve)
        rv = CKR_TEMPLATE_INCOMPLETE;
    if (rv == CKR_OK && pts.has_id && vts.has_id && strcmp(pts.key_id, vts.key_id) != 0)
        rv = CKR_TEMPLATE_INCONSISTENT; /* the data plane gives both halves one keyId */
    if (rv != CKR_OK) {
        cJSON_Delete(attrs);
        return rv;
    }
    if (!vts.has_id && pts.has_id) {
        vts.has_id = 1;
        memcpy(vts.key_id, pts.key_id, sizeof vts.key_id);
    }
    if (!vts.has_label && pts.has_label) {
        vts.has_label = 1;
        memcpy(vts.label, pts.label, sizeof vts.label);
    }
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "type", rsa ? "RSA" : "EC");
    if (rsa) {
        cJSON_AddNumberToObject(s, "size", (double)bits);
        cJSON_AddNumberToObject(s, "publicExponent", (double)e);
    } else {
        cJSON_AddStringToObject(s, "curve", curve);
    }
    spec_common(s, &vts, attrs);
    int label_differs = pts.has_label && strcmp(pts.label, vts.label) != 0;
    if (pts.token != vts.token || label_differs) {
        cJSON *p = cJSON_CreateObject();
        if (label_differs)
            cJSON_AddStringToObject(p, "label", pts.label);
        cJSON *pa = cJSON_AddObjectToObject(p, "attributes");
        cJSON_AddBoolToObject(pa, "token", pts.token);
        *pub_patch = p;
    }
    *spec = s;
    *token = vts.token;
    return CKR_OK;
}

CK_RV p11_template_unwrap(const CK_ATTRIBUTE *t, CK_ULONG n, const char **type, char label[128],
                          char key_id[129], int *has_key_id, cJSON **attrs, int *token)
{
    CK_ULONG cls = (CK_ULONG)-1, kt = (CK_ULONG)-1;
    *attrs = NULL;
    for (CK_ULONG i = 0; i < n; i++) {
        if (t[i].type == CKA_CLASS && !get_ulong(&t[i], &cls))
            return CKR_ATTRIBUTE_VALUE_INVALID;
        if (t[i].type == CKA_KEY_TYPE && !get_ulong(&t[i], &kt))
            return CKR_ATTRIBUTE_VALUE_INVALID;
    }
    if (cls == (CK_ULONG)-1 || kt == (CK_ULONG)-1)
        return CKR_TEMPLATE_INCOMPLETE;
    if (!((cls == CKO_SECRET_KEY && kt == CKK_AES) ||
          (cls == CKO_PRIVATE_KEY && (kt == CKK_RSA || kt == CKK_EC))))
        return CKR_TEMPLATE_INCONSISTENT;
    tmpl_state ts;
    memset(&ts, 0, sizeof ts);
    cJSON *a = cJSON_CreateObject();
    CK_RV rv = CKR_OK;
    for (CK_ULONG i = 0; rv == CKR_OK && i < n; i++) {
        int handled;
        rv = p11_template_common(&t[i], cls, kt, a, &ts, &handled);
        if (rv == CKR_OK && !handled && t[i].type != CKA_VALUE_LEN)
            rv = t[i].type == CKA_VALUE ? CKR_TEMPLATE_INCONSISTENT : CKR_ATTRIBUTE_TYPE_INVALID;
    }
    if (rv != CKR_OK) {
        cJSON_Delete(a);
        return rv;
    }
    cJSON_AddBoolToObject(a, "token", ts.token);
    *type = type_name(kt);
    memcpy(label, ts.label, 128);
    memcpy(key_id, ts.key_id, 129);
    *has_key_id = ts.has_id;
    *attrs = a;
    *token = ts.token;
    return CKR_OK;
}

CK_RV p11_template_set(const p11_object *o, const CK_ATTRIBUTE *t, CK_ULONG n, cJSON **patch)
{
    *patch = NULL;
    CK_OBJECT_CLASS cls = p11_key_class(o->key);
    cJSON *p = cJSON_CreateObject();
    cJSON *attrs = cJSON_AddObjectToObject(p, "attributes");
    CK_RV rv = CKR_OK;
    for (CK_ULONG i = 0; rv == CKR_OK && i < n; i++) {
        const CK_ATTRIBUTE *a = &t[i];
        const bool_attr *ba = find_bool(a->type);
        int b;
        if (ba) {
            if (!(ba->classes & class_bit(cls)))
                rv = CKR_ATTRIBUTE_TYPE_INVALID;
            else if (!get_bool(a, &b))
                rv = CKR_ATTRIBUTE_VALUE_INVALID;
            else if (b == p11_key_bool(o->key, ba->name))
                continue;
            else if (a->type == CKA_TOKEN || a->type == CKA_TRUSTED ||
                     (a->type == CKA_EXTRACTABLE && b) || (a->type == CKA_SENSITIVE && !b))
                rv = CKR_ATTRIBUTE_READ_ONLY;
            else
                cJSON_AddBoolToObject(attrs, ba->name, b);
        } else if (a->type == CKA_LABEL) {
            char label[128];
            rv = get_label(a, label);
            if (rv == CKR_OK)
                cJSON_AddStringToObject(p, "label", label);
        } else {
            p11_bytes cur = {0};
            CK_RV r = p11_attr_value(o, a->type, &cur);
            int same = r == CKR_OK && cur.len == a->ulValueLen &&
                       (cur.len == 0 || (a->pValue && memcmp(cur.data, a->pValue, cur.len) == 0));
            p11_bytes_free(&cur);
            if (r == CKR_HOST_MEMORY)
                rv = r;
            else if (r == CKR_ATTRIBUTE_TYPE_INVALID)
                rv = CKR_ATTRIBUTE_TYPE_INVALID;
            else if (!same)
                rv = CKR_ATTRIBUTE_READ_ONLY;
        }
    }
    if (rv != CKR_OK) {
        cJSON_Delete(p);
        return rv;
    }
    *patch = p;
    return CKR_OK;
}

CK_RV p11_pem_to_der(const char *pem, p11_bytes *out)
{
    /* PEM armour off, no key object made: the bytes are the server's SPKI DER */
    ERR_set_mark();
    BIO *bio = BIO_new_mem_buf(pem, -1);
    char *name = NULL, *header = NULL;
    unsigned char *der = NULL;
    long n = 0;
    int ok = bio && PEM_read_bio(bio, &name, &header, &der, &n) == 1 && name &&
             strcmp(name, "PUBLIC KEY") == 0 && n > 0;
    BIO_free(bio);
    ERR_pop_to_mark();
    CK_RV rv = !ok                                     ? CKR_DEVICE_ERROR
               : p11_bytes_append(out, der, (size_t)n) ? CKR_HOST_MEMORY
                                                       : CKR_OK;
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(der);
    return rv;
}

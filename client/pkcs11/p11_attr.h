/* p11_attr.h - PKCS#11 attributes of data-plane key objects, and templates turned
 * into data-plane requests. Pure logic (cJSON and OpenSSL, no network).
 *
 * A key object ({"handle","keyId","label","class","type","size","curve",
 * "attributes":{...},"kcv",...}, docs/hsm-data-plane.md) maps to CKA_CLASS,
 * CKA_KEY_TYPE, CKA_LABEL, CKA_ID (the keyId, see p11_id_*), the booleans and
 * sizes; CKA_MODULUS, CKA_PUBLIC_EXPONENT, CKA_EC_PARAMS, CKA_EC_POINT and
 * CKA_PUBLIC_KEY_INFO come from the key's SubjectPublicKeyInfo (o->spki). */
#ifndef P11_ATTR_H
#define P11_ATTR_H

#include "p11_state.h"

/* p11_id_to_key_id turns CKA_ID bytes into a data-plane keyId: printable ASCII (0x21-0x7e)
 * not starting with "0x" as is, anything else as "0x" + lowercase hex. CKR_OK, or
 * CKR_ATTRIBUTE_VALUE_INVALID when empty or too long for a keyId (128 characters). */
CK_RV p11_id_to_key_id(const void *id, size_t n, char out[129]);
/* p11_key_id_to_id reverses p11_id_to_key_id (a keyId made elsewhere is its bytes). */
CK_RV p11_key_id_to_id(const char *key_id, p11_bytes *out);

/* p11_key_class is the CKO_* of a key object (CKO_VENDOR_DEFINED when unknown). */
CK_OBJECT_CLASS p11_key_class(const cJSON *key);
/* p11_key_type is the CKK_* of a key object (CKK_VENDOR_DEFINED when unknown). */
CK_KEY_TYPE p11_key_type(const cJSON *key);
/* p11_key_bool reads a boolean of the key's "attributes" object (0 when absent). */
int p11_key_bool(const cJSON *key, const char *name);
/* p11_key_size is the key's "size" (bits; 0 when absent). */
int p11_key_size(const cJSON *key);

/* p11_attr_needs_spki tells whether answering t[0..n) needs the object's public key DER. */
int p11_attr_needs_spki(const p11_object *o, const CK_ATTRIBUTE *t, CK_ULONG n);
/* p11_attr_value computes one attribute into out: CKR_OK, CKR_ATTRIBUTE_TYPE_INVALID,
 * CKR_ATTRIBUTE_SENSITIVE or CKR_HOST_MEMORY. */
CK_RV p11_attr_value(const p11_object *o, CK_ATTRIBUTE_TYPE type, p11_bytes *out);
/* p11_attr_get is C_GetAttributeValue over an object: every entry is processed; an entry
 * that cannot be given gets ulValueLen CK_UNAVAILABLE_INFORMATION and the call returns
 * CKR_ATTRIBUTE_SENSITIVE, CKR_ATTRIBUTE_TYPE_INVALID or CKR_BUFFER_TOO_SMALL. */
CK_RV p11_attr_get(const p11_object *o, CK_ATTRIBUTE_PTR t, CK_ULONG n);
/* p11_attr_match tells whether every attribute of t equals the object's (1) or not (0). */
int p11_attr_match(const p11_object *o, const CK_ATTRIBUTE *t, CK_ULONG n);

/* Server-side filters of a search template (NULL: no filter). empty: the template cannot
 * match any key object (a class or key type the data plane has not). */
typedef struct p11_find_filter {
    const char *klass;
    const char *type;
    char label[128];
    int has_label;
    char key_id[129];
    int has_key_id;
    int empty;
} p11_find_filter;

/* p11_find_filter_from turns a search template into data-plane filters. */
CK_RV p11_find_filter_from(const CK_ATTRIBUTE *t, CK_ULONG n, p11_find_filter *f);

/* What a key template says besides booleans. */
typedef struct p11_tmpl {
    int token; /* CKA_TOKEN, default false */
    int has_label, has_id;
    char label[128];
    char key_id[129]; /* CKA_ID as a keyId */
} p11_tmpl;

/* p11_template_common reads one attribute any template of a key of class cls and type kt may
 * hold: booleans into attrs (the data plane's names), label/id/token into ts, fixed ones
 * checked. *handled is 0 for attributes it leaves to the caller. */
CK_RV p11_template_common(const CK_ATTRIBUTE *a, CK_OBJECT_CLASS cls, CK_KEY_TYPE kt, cJSON *attrs,
                          p11_tmpl *ts, int *handled);

/* p11_template_secret builds the POST /keys body of C_GenerateKey(CKM_AES_KEY_GEN) (caller
 * frees *spec); *token gets CKA_TOKEN (default false). */
CK_RV p11_template_secret(const CK_ATTRIBUTE *t, CK_ULONG n, cJSON **spec, int *token);
/* p11_template_pair builds the POST /keys body of C_GenerateKeyPair for mech
 * (CKM_RSA_PKCS_KEY_PAIR_GEN or CKM_EC_KEY_PAIR_GEN); *token gets the private key's CKA_TOKEN,
 * *pub_patch a PATCH body for the public half when its template differs (label, token), or
 * NULL. */
CK_RV p11_template_pair(CK_MECHANISM_TYPE mech, const CK_ATTRIBUTE *pub, CK_ULONG npub,
                        const CK_ATTRIBUTE *priv, CK_ULONG npriv, cJSON **spec, int *token,
                        cJSON **pub_patch);
/* p11_template_unwrap reads an unwrap template: *type ("AES", "RSA", "EC"), *label, *key_id
 * (NULL when absent), *attrs (the data-plane attributes object, caller frees), *token. */
CK_RV p11_template_unwrap(const CK_ATTRIBUTE *t, CK_ULONG n, const char **type, char label[128],
                          char key_id[129], int *has_key_id, cJSON **attrs, int *token);
/* p11_template_set turns a C_SetAttributeValue template into a PATCH body for o (caller
 * frees): CKR_ATTRIBUTE_READ_ONLY for what cannot change (class, type, id, sizes, extractable
 * back to true, sensitive back to false, ...), CKR_ATTRIBUTE_TYPE_INVALID for attributes a
 * key of its class has not, CKR_ATTRIBUTE_VALUE_INVALID for bad values. */
CK_RV p11_template_set(const p11_object *o, const CK_ATTRIBUTE *t, CK_ULONG n, cJSON **patch);

/* p11_pem_to_der decodes a "-----BEGIN PUBLIC KEY-----" PEM into SPKI DER; CKR_OK or
 * CKR_DEVICE_ERROR (the server sent something else). */
CK_RV p11_pem_to_der(const char *pem, p11_bytes *out);

#endif

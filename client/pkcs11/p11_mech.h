/* p11_mech.h - the mechanisms the module offers, how each maps onto the data
 * plane (docs/hsm-data-plane.md, docs/pkcs11.md), parameter checks, and the
 * encodings PKCS#11 and the data plane disagree on (ECDSA signatures). Pure logic. */
#ifndef P11_MECH_H
#define P11_MECH_H

#include "p11_state.h"

#include <openssl/evp.h>

/* What one mechanism is. */
typedef struct p11_mech {
    CK_MECHANISM_TYPE type;
    CK_ULONG min_key, max_key; /* CK_MECHANISM_INFO sizes: bits for RSA/EC, bytes for AES */
    CK_FLAGS flags;            /* CKF_SIGN, CKF_ENCRYPT, ... */
    CK_KEY_TYPE key_type;      /* CKK_RSA, CKK_EC, CKK_AES; CKK_VENDOR_DEFINED for digests */
    const char *hash;          /* OpenSSL digest name hashed locally, NULL when none */
} p11_mech;

/* p11_mech_count is the number of mechanisms offered. */
CK_ULONG p11_mech_count(void);
/* p11_mech_at is the i-th offered mechanism. */
const p11_mech *p11_mech_at(CK_ULONG i);
/* p11_mech_find looks a mechanism up (NULL when not offered). */
const p11_mech *p11_mech_find(CK_MECHANISM_TYPE type);
/* p11_mech_md is the OpenSSL digest of a digest, hash-then-sign mechanism or of a
 * CKM_SHA* hash type (NULL when it has none). */
const EVP_MD *p11_mech_md(CK_MECHANISM_TYPE type);

/* A sign/verify request for the data plane, worked out from a mechanism. */
typedef struct p11_sig_plan {
    const char *dp_mech; /* "RSA-PKCS", "RSA-PSS-SHA256", "ECDSA", ... */
    int prehashed;       /* send "prehashed": true with a SHA mechanism */
    int digest_info;     /* prefix the local digest with its DigestInfo (RSA PKCS#1 v1.5) */
    int ecdsa;           /* convert r||s <-> DER */
    size_t hash_len;     /* exact data length the data plane wants, 0 when free */
} p11_sig_plan;

/* p11_sig_plan_for checks mechanism m (with its parameter) for signing/verifying with a key of
 * key_type and fills plan: CKR_MECHANISM_INVALID, CKR_MECHANISM_PARAM_INVALID,
 * CKR_KEY_TYPE_INCONSISTENT. */
CK_RV p11_sig_plan_for(const CK_MECHANISM *m, CK_KEY_TYPE key_type, p11_sig_plan *plan);
/* p11_digest_info prefixes a SHA-256/384/512 digest (by length) with its DER DigestInfo;
 * CKR_OK or CKR_HOST_MEMORY. */
CK_RV p11_digest_info(const unsigned char *digest, size_t n, p11_bytes *out);

/* p11_ecdsa_der_to_raw turns a DER ECDSA signature into PKCS#11's r||s of 2*field bytes;
 * CKR_DEVICE_ERROR when it is not one. */
CK_RV p11_ecdsa_der_to_raw(const unsigned char *der, size_t n, size_t field, p11_bytes *out);
/* p11_ecdsa_raw_to_der turns r||s into DER; CKR_SIGNATURE_LEN_RANGE when n is odd or 0. */
CK_RV p11_ecdsa_raw_to_der(const unsigned char *raw, size_t n, p11_bytes *out);

/* Encryption parameters worked out from a mechanism. */
typedef struct p11_cipher_plan {
    const char *dp_mech; /* "AES-GCM", "AES-CBC-PAD", "RSA-OAEP-SHA256", "AES-KEY-WRAP-PAD" */
    const unsigned char *iv;
    size_t iv_len;
    const unsigned char *aad;
    size_t aad_len;
} p11_cipher_plan;

/* p11_cipher_plan_for checks an encrypt/decrypt (wrap=0) or wrap/unwrap (wrap=1) mechanism
 * and its parameter for a key of key_type (pointers in plan point into m's parameter). */
CK_RV p11_cipher_plan_for(const CK_MECHANISM *m, CK_KEY_TYPE key_type, int wrap,
                          p11_cipher_plan *plan);

#endif

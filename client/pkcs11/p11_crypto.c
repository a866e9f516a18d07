/* p11_crypto.c - the cryptographic entry points: sign/verify, encrypt/decrypt,
 * digest and random. Hashing for the combined mechanisms and digests happens
 * here (OpenSSL); everything that needs a key goes to the data plane. */
#include "p11_attr.h"
#include "p11_mech.h"
#include "p11_module.h"

#include <stdlib.h>
#include <string.h>

/* The most input a one-shot operation collects (the data plane takes 1 MiB). */
#define P11_MAX_INPUT (512u * 1024u)

/* op_for finds session h's operation of kind k; it must be active. */
static CK_RV op_for(CK_SESSION_HANDLE h, p11_op_kind k, p11_session **s, p11_slot **slot,
                    p11_op **op)
{
    CK_RV rv = p11_session_for(h, s, slot);
    if (rv != CKR_OK)
        return rv;
    *op = &(*s)->op[k];
    return (*op)->active ? CKR_OK : CKR_OPERATION_NOT_INITIALIZED;
}

/* feed adds input to an operation: hashed at once when it has a digest, else collected. */
static CK_RV feed(p11_op *op, const void *data, size_t n)
{
    if (op->has_result)
        return CKR_OPERATION_ACTIVE; /* only the output of the finished operation may follow */
    if (n == 0)
        return CKR_OK;
    if (op->md)
        return EVP_DigestUpdate(op->md, data, n) == 1 ? CKR_OK : CKR_FUNCTION_FAILED;
    if (op->data.len + n > P11_MAX_INPUT)
        return CKR_DATA_LEN_RANGE;
    return p11_bytes_append(&op->data, data, n) ? CKR_HOST_MEMORY : CKR_OK;
}

/* end_with resets op unless rv keeps it going (CKR_OK of a length query, BUFFER_TOO_SMALL). */
static CK_RV end_unless_kept(p11_op *op, CK_RV rv)
{
    if (rv != CKR_OK && rv != CKR_BUFFER_TOO_SMALL)
        p11_op_reset(op);
    return rv;
}

/* key_for_op finds the key of an operation init and checks it is usable. */
static CK_RV key_for_op(p11_session *s, p11_slot *slot, CK_OBJECT_HANDLE hKey, p11_object **o)
{
    CK_RV rv = p11_need_user(slot);
    if (rv == CKR_OK)
        rv = p11_object_for(s, hKey, CKR_KEY_HANDLE_INVALID, o);
    return rv;
}

/* idle_op finds session h's operation of kind k, which must not be active yet, for mechanism m. */
static CK_RV idle_op(CK_SESSION_HANDLE h, p11_op_kind k, CK_MECHANISM_PTR m, p11_session **s,
                     p11_slot **slot, p11_op **op)
{
    CK_RV rv = p11_session_for(h, s, slot);
    if (rv != CKR_OK)
        return rv;
    *op = &(*s)->op[k];
    if ((*op)->active)
        return CKR_OPERATION_ACTIVE;
    return m ? CKR_OK : CKR_ARGUMENTS_BAD;
}

/* keyed_init_op is idle_op for an operation that uses key hKey, which must be usable. */
static CK_RV keyed_init_op(CK_SESSION_HANDLE h, p11_op_kind k, CK_MECHANISM_PTR m,
                           CK_OBJECT_HANDLE hKey, p11_session **s, p11_op **op, p11_object **o)
{
    p11_slot *slot;
    CK_RV rv = idle_op(h, k, m, s, &slot, op);
    return rv != CKR_OK ? rv : key_for_op(*s, slot, hKey, o);
}

/* op_finisher computes an operation's whole output into op->result once its input is in. */
typedef CK_RV (*op_finisher)(p11_session *s, p11_slot *slot, p11_op *op);

/* run_once is a one-part call of kind k: all input at once, output by the two-call convention. */
static CK_RV run_once(CK_SESSION_HANDLE h, p11_op_kind k, op_finisher finish, const void *in,
                      CK_ULONG inlen, CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
    p11_session *s;
    p11_slot *slot;
    p11_op *op;
    CK_RV rv = op_for(h, k, &s, &slot, &op);
    if (rv != CKR_OK)
        return rv;
    if (!outlen || (!in && inlen))
        return end_unless_kept(op, CKR_ARGUMENTS_BAD);
    if (!op->has_result &&
        ((rv = feed(op, in, inlen)) != CKR_OK || (rv = finish(s, slot, op)) != CKR_OK))
        return end_unless_kept(op, rv);
    return p11_op_finish(op, out, outlen);
}

/* run_update adds a part of the input to the operation of kind k. */
static CK_RV run_update(CK_SESSION_HANDLE h, p11_op_kind k, const void *in, CK_ULONG inlen)
{
    p11_session *s;
    p11_op *op;
    CK_RV rv = op_for(h, k, &s, NULL, &op);
    if (rv != CKR_OK)
        return rv;
    rv = !in && inlen ? CKR_ARGUMENTS_BAD : feed(op, in, inlen);
    return rv == CKR_OK ? rv : end_unless_kept(op, rv);
}

/* run_last finishes a multi-part operation of kind k (two-call convention). */
static CK_RV run_last(CK_SESSION_HANDLE h, p11_op_kind k, op_finisher finish, CK_BYTE_PTR out,
                      CK_ULONG_PTR outlen)
{
    p11_session *s;
    p11_slot *slot;
    p11_op *op;
    CK_RV rv = op_for(h, k, &s, &slot, &op);
    if (rv != CKR_OK)
        return rv;
    if (!outlen)
        return end_unless_kept(op, CKR_ARGUMENTS_BAD);
    if (!op->has_result && (rv = finish(s, slot, op)) != CKR_OK)
        return end_unless_kept(op, rv);
    return p11_op_finish(op, out, outlen);
}

/* ---- sign and verify ---- */

static CK_RV sig_init(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE hKey, int sign)
{
    p11_session *s;
    p11_op *op;
    p11_object *o;
    CK_RV rv = keyed_init_op(h, sign ? P11_OP_SIGN : P11_OP_VERIFY, m, hKey, &s, &op, &o);
    if (rv != CKR_OK)
        return rv;
    p11_sig_plan plan;
    if ((rv = p11_sig_plan_for(m, p11_key_type(o->key), &plan)) != CKR_OK)
        return rv;
    CK_OBJECT_CLASS cls = p11_key_class(o->key);
    if (sign ? cls != CKO_PRIVATE_KEY : cls == CKO_SECRET_KEY)
        return CKR_KEY_TYPE_INCONSISTENT;
    if (!p11_key_bool(o->key, sign ? "sign" : "verify"))
        return CKR_KEY_FUNCTION_NOT_PERMITTED;
    const EVP_MD *md = p11_mech_find(m->mechanism)->hash ? p11_mech_md(m->mechanism) : NULL;
    memset(op, 0, sizeof *op);
    if (md) {
        op->md = EVP_MD_CTX_new();
        if (!op->md || EVP_DigestInit_ex(op->md, md, NULL) != 1) {
            p11_op_reset(op);
            return CKR_HOST_MEMORY;
        }
    }
    op->active = 1;
    op->mech = m->mechanism;
    op->key = hKey;
    op->dp_mech = plan.dp_mech;
    op->hash_len = plan.hash_len;
    op->plan = (plan.prehashed ? P11_PLAN_PREHASHED : 0) |
               (plan.digest_info ? P11_PLAN_DIGEST_INFO : 0) | (plan.ecdsa ? P11_PLAN_ECDSA : 0);
    return CKR_OK;
}

/* sig_input works out the bytes the data plane signs: the local digest (in a DigestInfo for
 * PKCS#1 v1.5) or the collected data. */
static CK_RV sig_input(p11_op *op, const p11_object *o, p11_bytes *in)
{
    if (op->md) {
        unsigned char dg[EVP_MAX_MD_SIZE];
        unsigned int dlen = 0;
        if (EVP_DigestFinal_ex(op->md, dg, &dlen) != 1)
            return CKR_FUNCTION_FAILED;
        if (op->plan & P11_PLAN_DIGEST_INFO)
            return p11_digest_info(dg, dlen, in);
        return p11_bytes_append(in, dg, dlen) ? CKR_HOST_MEMORY : CKR_OK;
    }
    size_t n = op->data.len;
    if (op->hash_len && n != op->hash_len)
        return CKR_DATA_LEN_RANGE;
    if (n == 0)
        return CKR_DATA_LEN_RANGE;
    if (p11_key_type(o->key) == CKK_RSA && n + 11 > (size_t)p11_key_size(o->key) / 8)
        return CKR_DATA_LEN_RANGE;
    if (p11_key_type(o->key) == CKK_EC && n > 64)
        return CKR_DATA_LEN_RANGE;
    return p11_bytes_append(in, op->data.data, n) ? CKR_HOST_MEMORY : CKR_OK;
}

/* sign_final computes the signature into op->result. */
static CK_RV sign_final(p11_session *s, p11_slot *slot, p11_op *op)
{
    p11_object *o;
    CK_RV rv = p11_object_for(s, op->key, CKR_KEY_HANDLE_INVALID, &o);
    p11_bytes in = {0};
    if (rv == CKR_OK)
        rv = sig_input(op, o, &in);
    if (rv != CKR_OK) {
        p11_bytes_free(&in);
        return rv;
    }
    chsmc_error e;
    chsmc_error_clear(&e);
    unsigned char *sig = NULL;
    size_t siglen = 0;
    int rc;
    P11_CALL(slot, rc, e,
             chsmc_hsm_sign_prehashed(p11_hsm(slot), o->hsm_handle, op->dp_mech, in.data, in.len,
                                      &sig, &siglen, &e));
    p11_bytes_free(&in);
    if (rc != CHSMC_OK)
        return p11_rv_from(rc, &e, P11_CTX_KEY);
    if (op->plan & P11_PLAN_ECDSA)
        rv = p11_ecdsa_der_to_raw(sig, siglen, ((size_t)p11_key_size(o->key) + 7) / 8, &op->result);
    else
        rv = p11_bytes_append(&op->result, sig, siglen) ? CKR_HOST_MEMORY : CKR_OK;
    free(sig);
    if (rv == CKR_OK)
        op->has_result = 1;
    return rv;
}

/* C_SignInit starts a signature with a private key. */
CK_RV C_SignInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
    CK_RV rv = p11_enter();
    return rv != CKR_OK ? rv : p11_leave(sig_init(hSession, pMechanism, hKey, 1));
}

/* C_Sign signs data in one part (two-call convention). */
CK_RV C_Sign(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
             CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
    CK_RV rv = p11_enter();
    return rv != CKR_OK ? rv
                        : p11_leave(run_once(hSession, P11_OP_SIGN, sign_final, pData, ulDataLen,
                                             pSignature, pulSignatureLen));
}

/* C_SignUpdate adds data to a multi-part signature. */
CK_RV C_SignUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
    CK_RV rv = p11_enter();
    return rv != CKR_OK ? rv : p11_leave(run_update(hSession, P11_OP_SIGN, pPart, ulPartLen));
}

/* C_SignFinal finishes a multi-part signature (two-call convention). */
CK_RV C_SignFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
    CK_RV rv = p11_enter();
    return rv != CKR_OK ? rv
                        : p11_leave(run_last(hSession, P11_OP_SIGN, sign_final, pSignature,
                                             pulSignatureLen));
}

/* verify_final checks sig against the operation's input; the operation always ends. */
static CK_RV verify_final(p11_session *s, p11_slot *slot, p11_op *op, const unsigned char *sig,
                          size_t siglen)
{
    p11_object *o;
    CK_RV rv = p11_object_for(s, op->key, CKR_KEY_HANDLE_INVALID, &o);
    p11_bytes in = {0}, der = {0};
    if (rv == CKR_OK)
        rv = sig_input(op, o, &in);
    if (rv == CKR_OK && (op->plan & P11_PLAN_ECDSA)) {
        if (siglen != 2 * (((size_t)p11_key_size(o->key) + 7) / 8))
            rv = CKR_SIGNATURE_LEN_RANGE;
        else
            rv = p11_ecdsa_raw_to_der(sig, siglen, &der);
        sig = der.data;
        siglen = der.len;
    } else if (rv == CKR_OK && siglen != (size_t)p11_key_size(o->key) / 8) {
        rv = CKR_SIGNATURE_LEN_RANGE;
    }
    if (rv == CKR_OK) {
        chsmc_error e;
        chsmc_error_clear(&e);
        int valid = 0, rc;
        P11_CALL(slot, rc, e,
                 chsmc_hsm_verify_prehashed(p11_hsm(slot), o->hsm_handle, op->dp_mech, in.data,
                                            in.len, sig, siglen, &valid, &e));
        rv = rc != CHSMC_OK ? p11_rv_from(rc, &e, P11_CTX_KEY)
             : valid        ? CKR_OK
                            : CKR_SIGNATURE_INVALID;
    }
    p11_bytes_free(&in);
    p11_bytes_free(&der);
    p11_op_reset(op);
    return rv;
}

/* C_VerifyInit starts a verification with a public (or verify-enabled) key. */
CK_RV C_VerifyInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
    CK_RV rv = p11_enter();
    return rv != CKR_OK ? rv : p11_leave(sig_init(hSession, pMechanism, hKey, 0));
}

/* C_Verify verifies a signature over data in one part. */
CK_RV C_Verify(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
               CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen)
{
    CK_RV rv = p11_enter();
    if (rv != CKR_OK)
        return rv;
    p11_session *s;
    p11_slot *slot;
    p11_op *op;
    if ((rv = op_for(hSession, P11_OP_VERIFY, &s, &slot, &op)) != CKR_OK)
        return p11_leave(rv);
    if ((!pData && ulDataLen) || !pSignature) {
        p11_op_reset(op);
        return p11_leave(CKR_ARGUMENTS_BAD);
    }
    if ((rv = feed(op, pData, ulDataLen)) != CKR_OK) {
        p11_op_reset(op);
        return p11_leave(rv);
    }
    return p11_leave(verify_final(s, slot, op, pSignature, ulSignatureLen));
}

/* C_VerifyUpdate adds data to a multi-part verification. */
CK_RV C_VerifyUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
    CK_RV rv = p11_enter();
    if (rv != CKR_OK)
        return rv;
    p11_session *s;
    p11_slot *slot;
    p11_op *op;
    if ((rv = op_for(hSession, P11_OP_VERIFY, &s, &slot, &op)) != CKR_OK)
        return p11_leave(rv);
    rv = !pPart && ulPartLen ? CKR_ARGUMENTS_BAD : feed(op, pPart, ulPartLen);
    if (rv != CKR_OK)
        p11_op_reset(op);
    return p11_leave(rv);
}

/* C_VerifyFinal finishes a multi-part verification. */
CK_RV C_VerifyFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen)
{
    CK_RV rv = p11_enter();
    if (rv != CKR_OK)
        return rv;
    p11_session *s;
    p11_slot *slot;
    p11_op *op;
    if ((rv = op_for(hSession, P11_OP_VERIFY, &s, &slot, &op)) != CKR_OK)
        return p11_leave(rv);
    if (!pSignature) {
        p11_op_reset(op);
        return p11_leave(CKR_ARGUMENTS_BAD);
    }
    return p11_leave(verify_final(s, slot, op, pSignature, ulSignatureLen));
}

/* ---- encrypt and decrypt ---- */

static CK_RV cipher_init(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE hKey, int enc)
{
    p11_session *s;
    p11_op *op;
    p11_object *o;
    CK_RV rv = keyed_init_op(h, enc ? P11_OP_ENCRYPT : P11_OP_DECRYPT, m, hKey, &s, &op, &o);
    if (rv != CKR_OK)
        return rv;
    p11_cipher_plan plan;
    if ((rv = p11_cipher_plan_for(m, p11_key_type(o->key), 0, &plan)) != CKR_OK)
        return rv;
    CK_OBJECT_CLASS cls = p11_key_class(o->key);
    if (p11_key_type(o->key) == CKK_RSA && cls != (enc ? CKO_PUBLIC_KEY : CKO_PRIVATE_KEY))
        return CKR_KEY_TYPE_INCONSISTENT;
    if (!p11_key_bool(o->key, enc ? "encrypt" : "decrypt"))
        return CKR_KEY_FUNCTION_NOT_PERMITTED;
    memset(op, 0, sizeof *op);
    if (p11_bytes_append(&op->param, plan.iv, plan.iv_len) ||
        p11_bytes_append(&op->aux, plan.aad, plan.aad_len)) {
        p11_op_reset(op);
        return CKR_HOST_MEMORY;
    }
    op->active = 1;
    op->mech = m->mechanism;
    op->key = hKey;
    op->dp_mech = plan.dp_mech;
    return CKR_OK;
}

/* cipher_final runs the collected input through the data plane into op->result. */
static CK_RV cipher_final(p11_session *s, p11_slot *slot, p11_op *op, int enc)
{
    p11_object *o;
    CK_RV rv = p11_object_for(s, op->key, CKR_KEY_HANDLE_INVALID, &o);
    if (rv != CKR_OK)
        return rv;
    size_t n = op->data.len, k = (size_t)p11_key_size(o->key) / 8;
    const unsigned char *in = op->data.data;
    chsmc_bytes iv = {op->param.data, op->param.len}, aad = {op->aux.data, op->aux.len};
    chsmc_bytes *ivp = op->param.len ? &iv : NULL, *aadp = op->aux.len ? &aad : NULL;
    chsmc_error e;
    chsmc_error_clear(&e);
    int rc, gcm = op->mech == CKM_AES_GCM;
    if (op->mech == CKM_RSA_PKCS_OAEP) {
        if (enc ? n > k - 2 * 32 - 2 : n != k)
            return enc ? CKR_DATA_LEN_RANGE : CKR_ENCRYPTED_DATA_LEN_RANGE;
    } else if (!enc && gcm && n < 16) {
        return CKR_ENCRYPTED_DATA_LEN_RANGE;
    } else if (!enc && op->mech == CKM_AES_CBC_PAD && (n == 0 || n % 16)) {
        return CKR_ENCRYPTED_DATA_LEN_RANGE;
    }
    if (enc) {
        chsmc_bytes plain = {(unsigned char *)in, n}, ct = {0}, ivo = {0}, tag = {0};
        P11_CALL(slot, rc, e,
                 chsmc_hsm_encrypt(p11_hsm(slot), o->hsm_handle, op->dp_mech, &plain, ivp, aadp,
                                   &ct, &ivo, &tag, &e));
        if (rc == CHSMC_OK) {
            rv = p11_bytes_append(&op->result, ct.data, ct.len) ||
                         (gcm && p11_bytes_append(&op->result, tag.data, tag.len))
                     ? CKR_HOST_MEMORY
                     : CKR_OK;
        } else {
            rv = p11_rv_from(rc, &e, P11_CTX_KEY);
        }
        chsmc_bytes_free(&ct);
        chsmc_bytes_free(&ivo);
        chsmc_bytes_free(&tag);
    } else {
        chsmc_bytes ct = {(unsigned char *)in, gcm ? n - 16 : n}, plain = {0};
        chsmc_bytes tag = {(unsigned char *)in + (gcm ? n - 16 : 0), 16};
        P11_CALL(slot, rc, e,
                 chsmc_hsm_decrypt(p11_hsm(slot), o->hsm_handle, op->dp_mech, &ct, ivp, aadp,
                                   gcm ? &tag : NULL, &plain, &e));
        if (rc == CHSMC_OK)
            rv = p11_bytes_append(&op->result, plain.data, plain.len) ? CKR_HOST_MEMORY : CKR_OK;
        else
            rv = p11_rv_from(rc, &e, P11_CTX_DECRYPT);
        if (plain.data)
            memset(plain.data, 0, plain.len);
        chsmc_bytes_free(&plain);
    }
    if (rv == CKR_OK)
        op->has_result = 1;
    return rv;
}

/* encrypt_final and decrypt_final are cipher_final as op_finishers. */
static CK_RV encrypt_final(p11_session *s, p11_slot *slot, p11_op *op)
{
    return cipher_final(s, slot, op, 1);
}

static CK_RV decrypt_final(p11_session *s, p11_slot *slot, p11_op *op)
{
    return cipher_final(s, slot, op, 0);
}

static CK_RV cipher_update(CK_SESSION_HANDLE h, int enc, CK_BYTE_PTR in, CK_ULONG inlen,
                           CK_ULONG_PTR outlen)
{
    p11_session *s;
    p11_slot *slot;
    p11_op *op;
    CK_RV rv = op_for(h, enc ? P11_OP_ENCRYPT : P11_OP_DECRYPT, &s, &slot, &op);
    if (rv != CKR_OK)
        return rv;
    if (!outlen || (!in && inlen))
        return end_unless_kept(op, CKR_ARGUMENTS_BAD);
    if (op->mech == CKM_RSA_PKCS_OAEP)
        return end_unless_kept(op, CKR_FUNCTION_NOT_SUPPORTED); /* single-part only */
    rv = feed(op, in, inlen);
    *outlen = 0; /* everything comes out of the final call */
    return rv == CKR_OK ? rv : end_unless_kept(op, rv);
}

/* C_EncryptInit starts an encryption (AES-GCM, AES-CBC-PAD, RSA-OAEP). */
CK_RV C_EncryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
    CK_RV rv = p11_enter();
    return rv != CKR_OK ? rv : p11_leave(cipher_init(hSession, pMechanism, hKey, 1));
}

/* C_Encrypt encrypts data in one part (two-call convention). */
CK_RV C_Encrypt(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                CK_BYTE_PTR pEncryptedData, CK_ULONG_PTR pulEncryptedDataLen)
{
    CK_RV rv = p11_enter();
    return rv != CKR_OK ? rv
                        : p11_leave(run_once(hSession, P11_OP_ENCRYPT, encrypt_final, pData,
                                             ulDataLen, pEncryptedData, pulEncryptedDataLen));
}

/* C_EncryptUpdate collects data of a multi-part encryption (outputs nothing yet). */
CK_RV C_EncryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen,
                      CK_BYTE_PTR pEncryptedPart, CK_ULONG_PTR pulEncryptedPartLen)
{
    (void)pEncryptedPart;
    CK_RV rv = p11_enter();
    return rv != CKR_OK
               ? rv
               : p11_leave(cipher_update(hSession, 1, pPart, ulPartLen, pulEncryptedPartLen));
}

/* C_EncryptFinal finishes a multi-part encryption with all the output. */
CK_RV C_EncryptFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pLastEncryptedPart,
                     CK_ULONG_PTR pulLastEncryptedPartLen)
{
    CK_RV rv = p11_enter();
    return rv != CKR_OK ? rv
                        : p11_leave(run_last(hSession, P11_OP_ENCRYPT, encrypt_final,
                                             pLastEncryptedPart, pulLastEncryptedPartLen));
}

/* C_DecryptInit starts a decryption. */
CK_RV C_DecryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
    CK_RV rv = p11_enter();
    return rv != CKR_OK ? rv : p11_leave(cipher_init(hSession, pMechanism, hKey, 0));
}

/* C_Decrypt decrypts data in one part (two-call convention). */
CK_RV C_Decrypt(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedData, CK_ULONG ulEncryptedDataLen,
                CK_BYTE_PTR pData, CK_ULONG_PTR pulDataLen)
{
    CK_RV rv = p11_enter();
    return rv != CKR_OK
               ? rv
               : p11_leave(run_once(hSession, P11_OP_DECRYPT, decrypt_final, pEncryptedData,
                                    ulEncryptedDataLen, pData, pulDataLen));
}

/* C_DecryptUpdate collects data of a multi-part decryption (outputs nothing yet). */
CK_RV C_DecryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart,
                      CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart, CK_ULONG_PTR pulPartLen)
{
    (void)pPart;
    CK_RV rv = p11_enter();
    return rv != CKR_OK ? rv
                        : p11_leave(cipher_update(hSession, 0, pEncryptedPart, ulEncryptedPartLen,
                                                  pulPartLen));
}

/* C_DecryptFinal finishes a multi-part decryption with all the output. */
CK_RV C_DecryptFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pLastPart, CK_ULONG_PTR pulLastPartLen)
{
    CK_RV rv = p11_enter();
    return rv != CKR_OK ? rv
                        : p11_leave(run_last(hSession, P11_OP_DECRYPT, decrypt_final, pLastPart,
                                             pulLastPartLen));
}

/* ---- digest (local) ---- */

/* C_DigestInit starts a digest (computed locally). */
CK_RV C_DigestInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism)
{
    CK_RV rv = p11_enter();
    if (rv != CKR_OK)
        return rv;
    p11_session *s;
    p11_op *op;
    if ((rv = idle_op(hSession, P11_OP_DIGEST, pMechanism, &s, NULL, &op)) != CKR_OK)
        return p11_leave(rv);
    const p11_mech *m = p11_mech_find(pMechanism->mechanism);
    if (!m || !(m->flags & CKF_DIGEST))
        return p11_leave(CKR_MECHANISM_INVALID);
    if (pMechanism->ulParameterLen)
        return p11_leave(CKR_MECHANISM_PARAM_INVALID);
    memset(op, 0, sizeof *op);
    op->md = EVP_MD_CTX_new();
    if (!op->md || EVP_DigestInit_ex(op->md, p11_mech_md(m->type), NULL) != 1) {
        p11_op_reset(op);
        return p11_leave(CKR_HOST_MEMORY);
    }
    op->active = 1;
    op->mech = m->type;
    return p11_leave(CKR_OK);
}

/* digest_final finishes the hash into op->result (an op_finisher; no key involved). */
static CK_RV digest_final(p11_session *s, p11_slot *slot, p11_op *op)
{
    (void)s;
    (void)slot;
    unsigned char dg[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_DigestFinal_ex(op->md, dg, &n) != 1)
        return CKR_FUNCTION_FAILED;
    if (p11_bytes_append(&op->result, dg, n))
        return CKR_HOST_MEMORY;
    op->has_result = 1;
    return CKR_OK;
}

/* C_Digest digests data in one part. */
CK_RV C_Digest(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
               CK_BYTE_PTR pDigest, CK_ULONG_PTR pulDigestLen)
{
    CK_RV rv = p11_enter();
    return rv != CKR_OK ? rv
                        : p11_leave(run_once(hSession, P11_OP_DIGEST, digest_final, pData,
                                             ulDataLen, pDigest, pulDigestLen));
}

/* C_DigestUpdate adds data to a digest. */
CK_RV C_DigestUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
    CK_RV rv = p11_enter();
    return rv != CKR_OK ? rv : p11_leave(run_update(hSession, P11_OP_DIGEST, pPart, ulPartLen));
}

/* C_DigestFinal finishes a digest. */
CK_RV C_DigestFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pDigest, CK_ULONG_PTR pulDigestLen)
{
    CK_RV rv = p11_enter();
    return rv != CKR_OK
               ? rv
               : p11_leave(run_last(hSession, P11_OP_DIGEST, digest_final, pDigest, pulDigestLen));
}

/* ---- random ---- */

/* C_GenerateRandom draws random bytes from the HSM. */
CK_RV C_GenerateRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR RandomData, CK_ULONG ulRandomLen)
{
    p11_session *s;
    p11_slot *slot;
    CK_RV rv = p11_enter_session(hSession, &s, &slot);
    if (rv != CKR_OK)
        return rv;
    if (!RandomData && ulRandomLen)
        return p11_leave(CKR_ARGUMENTS_BAD);
    if (slot->login == P11_NOBODY)
        return p11_leave(CKR_USER_NOT_LOGGED_IN); /* the HSM answers logged-in users only */
    CK_ULONG done = 0;
    while (done < ulRandomLen) {
        size_t chunk = ulRandomLen - done > 4096 ? 4096 : (size_t)(ulRandomLen - done);
        chsmc_bytes b = {0};
        chsmc_error e;
        chsmc_error_clear(&e);
        int rc;
        P11_CALL(slot, rc, e, chsmc_hsm_random(p11_hsm(slot), chunk, &b, &e));
        if (rc != CHSMC_OK)
            return p11_leave(p11_rv_from(rc, &e, P11_CTX_OTHER));
        if (b.len != chunk) {
            chsmc_bytes_free(&b);
            return p11_leave(CKR_DEVICE_ERROR);
        }
        memcpy(RandomData + done, b.data, chunk);
        chsmc_bytes_free(&b);
        done += chunk;
    }
    return p11_leave(CKR_OK);
}

/* p11_objects.c - the object entry points: find, attributes, create/destroy,
 * key generation, wrap and unwrap. */
#include "p11_attr.h"
#include "p11_import.h"
#include "p11_mech.h"
#include "p11_module.h"

#include <stdlib.h>
#include <string.h>

/* rw_ok tells whether session s may change a (token) object. */
static CK_RV rw_ok(const p11_session *s, int token)
{
    return token && !(s->flags & CKF_RW_SESSION) ? CKR_SESSION_READ_ONLY : CKR_OK;
}

/* ---- find ---- */

static CK_RV find_init(CK_SESSION_HANDLE h, CK_ATTRIBUTE_PTR t, CK_ULONG n)
{
    p11_session *s;
    p11_slot *slot;
    CK_RV rv = p11_session_for(h, &s, &slot);
    if (rv != CKR_OK)
        return rv;
    if (!t && n)
        return CKR_ARGUMENTS_BAD;
    p11_op *op = &s->op[P11_OP_FIND];
    if (op->active)
        return CKR_OPERATION_ACTIVE;
    p11_find_filter f;
    if ((rv = p11_find_filter_from(t, n, &f)) != CKR_OK)
        return rv;
    op->active = 1;
    if (slot->login != CKU_USER || f.empty)
        return CKR_OK; /* every key needs a logged-in crypto user: nothing to find */
    chsmc_error e;
    chsmc_error_clear(&e);
    cJSON *keys = NULL;
    int rc;
    P11_CALL(slot, rc, e,
             chsmc_hsm_find_keys(p11_hsm(slot), f.has_label ? f.label : NULL, f.klass, f.type,
                                 f.has_key_id ? f.key_id : NULL, &keys, &e));
    if (rc != CHSMC_OK) {
        p11_op_reset(op);
        return p11_rv_from(rc, &e, P11_CTX_OTHER);
    }
    size_t cap = (size_t)cJSON_GetArraySize(keys);
    op->found = calloc(cap ? cap : 1, sizeof *op->found);
    if (!op->found) {
        cJSON_Delete(keys);
        p11_op_reset(op);
        return CKR_HOST_MEMORY;
    }
    cJSON *k;
    while ((k = cJSON_DetachItemFromArray(keys, 0)) != NULL) {
        CK_OBJECT_HANDLE oh = p11_object_add(&p11_g, s->slot, k);
        p11_object *o = oh ? p11_object_get(&p11_g, oh) : NULL;
        if (!o)
            continue;
        if (p11_attr_needs_spki(o, t, n) && p11_fetch_spki(slot, o) != CKR_OK)
            continue;
        if (p11_attr_match(o, t, n))
            op->found[op->nfound++] = oh;
    }
    cJSON_Delete(keys);
    return CKR_OK;
}

/* C_FindObjectsInit starts a search: data-plane filters, then the whole template here. */
CK_RV C_FindObjectsInit(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
    CK_RV rv = p11_enter();
    return rv != CKR_OK ? rv : p11_leave(find_init(hSession, pTemplate, ulCount));
}

/* C_FindObjects hands out the next handles of the search. */
CK_RV C_FindObjects(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE_PTR phObject,
                    CK_ULONG ulMaxObjectCount, CK_ULONG_PTR pulObjectCount)
{
    p11_session *s;
    CK_RV rv = p11_enter_session(hSession, &s, NULL);
    if (rv != CKR_OK)
        return rv;
    p11_op *op = &s->op[P11_OP_FIND];
    if (!op->active)
        return p11_leave(CKR_OPERATION_NOT_INITIALIZED);
    if (!pulObjectCount || (!phObject && ulMaxObjectCount))
        return p11_leave(CKR_ARGUMENTS_BAD);
    CK_ULONG n = 0;
    while (n < ulMaxObjectCount && op->pos < op->nfound)
        phObject[n++] = op->found[op->pos++];
    *pulObjectCount = n;
    return p11_leave(CKR_OK);
}

/* C_FindObjectsFinal ends the search. */
CK_RV C_FindObjectsFinal(CK_SESSION_HANDLE hSession)
{
    p11_session *s;
    CK_RV rv = p11_enter_session(hSession, &s, NULL);
    if (rv != CKR_OK)
        return rv;
    if (!s->op[P11_OP_FIND].active)
        return p11_leave(CKR_OPERATION_NOT_INITIALIZED);
    p11_op_reset(&s->op[P11_OP_FIND]);
    return p11_leave(CKR_OK);
}

/* ---- attributes ---- */

/* enter_object is p11_enter_session that also finds object hObject of the session's slot; on
 * failure the lock is released again. */
static CK_RV enter_object(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject, p11_session **s,
                          p11_slot **slot, p11_object **o)
{
    CK_RV rv = p11_enter_session(hSession, s, slot);
    if (rv == CKR_OK && (rv = p11_object_for(*s, hObject, 0, o)) != CKR_OK)
        p11_leave(rv);
    return rv;
}

/* C_GetAttributeValue reads attributes of a key (sensitive and missing ones give -1). */
CK_RV C_GetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
                          CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
    p11_session *s;
    p11_slot *slot;
    p11_object *o;
    CK_RV rv = enter_object(hSession, hObject, &s, &slot, &o);
    if (rv != CKR_OK)
        return rv;
    if (!pTemplate && ulCount)
        return p11_leave(CKR_ARGUMENTS_BAD);
    if (p11_attr_needs_spki(o, pTemplate, ulCount) && (rv = p11_fetch_spki(slot, o)) != CKR_OK)
        return p11_leave(rv == CKR_KEY_HANDLE_INVALID ? CKR_OBJECT_HANDLE_INVALID : rv);
    return p11_leave(p11_attr_get(o, pTemplate, ulCount));
}

/* C_SetAttributeValue changes a key's label and usage flags (PATCH /keys/{handle}). */
CK_RV C_SetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
                          CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
    p11_session *s;
    p11_slot *slot;
    p11_object *o;
    cJSON *patch = NULL;
    CK_RV rv = enter_object(hSession, hObject, &s, &slot, &o);
    if (rv != CKR_OK)
        return rv;
    if (!pTemplate && ulCount)
        return p11_leave(CKR_ARGUMENTS_BAD);
    if ((rv = rw_ok(s, p11_key_bool(o->key, "token"))) != CKR_OK ||
        (rv = p11_template_set(o, pTemplate, ulCount, &patch)) != CKR_OK)
        return p11_leave(rv);
    if (!cJSON_GetObjectItem(patch, "label") && !cJSON_GetObjectItem(patch, "attributes")->child) {
        cJSON_Delete(patch); /* nothing changes */
        return p11_leave(CKR_OK);
    }
    chsmc_error e;
    chsmc_error_clear(&e);
    cJSON *key = NULL;
    int rc;
    P11_CALL(slot, rc, e, chsmc_hsm_patch_key(p11_hsm(slot), o->hsm_handle, patch, &key, &e));
    cJSON_Delete(patch);
    if (rc != CHSMC_OK) {
        rv = p11_rv_from(rc, &e, P11_CTX_KEY);
        return p11_leave(rv == CKR_KEY_HANDLE_INVALID ? CKR_OBJECT_HANDLE_INVALID : rv);
    }
    cJSON_Delete(o->key);
    o->key = key;
    return p11_leave(CKR_OK);
}

/* ---- create and destroy ---- */

/* C_CreateObject imports an AES or private key through a transient wrapping key. */
CK_RV C_CreateObject(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount,
                     CK_OBJECT_HANDLE_PTR phObject)
{
    p11_session *s;
    p11_slot *slot;
    CK_RV rv = p11_enter_user_session(hSession, &s, &slot);
    if (rv != CKR_OK)
        return rv;
    if ((!pTemplate && ulCount) || !phObject)
        return p11_leave(CKR_ARGUMENTS_BAD);
    p11_import_req req;
    if ((rv = p11_import_parse(pTemplate, ulCount, &req)) != CKR_OK)
        return p11_leave(rv);
    if ((rv = rw_ok(s, req.token)) != CKR_OK) {
        p11_import_req_clear(&req);
        return p11_leave(rv);
    }
    cJSON *keys = NULL;
    rv = p11_import_run(slot, &req, &keys);
    int token = req.token;
    p11_import_req_clear(&req);
    if (rv != CKR_OK)
        return p11_leave(rv);
    return p11_leave(p11_track_new(s->slot, keys, hSession, token, phObject, 1));
}

/* C_DestroyObject deletes a key from the HSM. */
CK_RV C_DestroyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject)
{
    p11_session *s;
    p11_slot *slot;
    p11_object *o;
    CK_RV rv = enter_object(hSession, hObject, &s, &slot, &o);
    if (rv != CKR_OK)
        return rv;
    if ((rv = rw_ok(s, p11_key_bool(o->key, "token"))) != CKR_OK)
        return p11_leave(rv);
    chsmc_error e;
    chsmc_error_clear(&e);
    int rc;
    P11_CALL(slot, rc, e, chsmc_hsm_delete_key(p11_hsm(slot), o->hsm_handle, &e));
    if (rc != CHSMC_OK && !(rc == CHSMC_EHTTP && e.http_status == 404)) {
        rv = p11_rv_from(rc, &e, P11_CTX_KEY);
        return p11_leave(rv == CKR_KEY_HANDLE_INVALID ? CKR_OBJECT_HANDLE_INVALID : rv);
    }
    p11_object_remove(&p11_g, hObject);
    return p11_leave(CKR_OK);
}

/* ---- generation ---- */

/* C_GenerateKey makes an AES key (CKM_AES_KEY_GEN). */
CK_RV C_GenerateKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                    CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phKey)
{
    p11_session *s;
    p11_slot *slot;
    CK_RV rv = p11_enter_user_session(hSession, &s, &slot);
    if (rv != CKR_OK)
        return rv;
    if (!pMechanism || !phKey || (!pTemplate && ulCount))
        return p11_leave(CKR_ARGUMENTS_BAD);
    if (pMechanism->mechanism != CKM_AES_KEY_GEN)
        return p11_leave(CKR_MECHANISM_INVALID);
    if (pMechanism->ulParameterLen)
        return p11_leave(CKR_MECHANISM_PARAM_INVALID);
    cJSON *spec = NULL, *keys = NULL;
    int token = 0;
    if ((rv = p11_template_secret(pTemplate, ulCount, &spec, &token)) != CKR_OK ||
        (rv = rw_ok(s, token)) != CKR_OK) {
        cJSON_Delete(spec);
        return p11_leave(rv);
    }
    chsmc_error e;
    chsmc_error_clear(&e);
    int rc;
    P11_CALL(slot, rc, e, chsmc_hsm_generate_key(p11_hsm(slot), spec, &keys, &e));
    cJSON_Delete(spec);
    if (rc != CHSMC_OK)
        return p11_leave(p11_rv_from(rc, &e, P11_CTX_OTHER));
    return p11_leave(p11_track_new(s->slot, keys, hSession, token, phKey, 1));
}

/* C_GenerateKeyPair makes an RSA or EC key pair. */
CK_RV C_GenerateKeyPair(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                        CK_ATTRIBUTE_PTR pPublicKeyTemplate, CK_ULONG ulPublicKeyAttributeCount,
                        CK_ATTRIBUTE_PTR pPrivateKeyTemplate, CK_ULONG ulPrivateKeyAttributeCount,
                        CK_OBJECT_HANDLE_PTR phPublicKey, CK_OBJECT_HANDLE_PTR phPrivateKey)
{
    p11_session *s;
    p11_slot *slot;
    CK_RV rv = p11_enter_user_session(hSession, &s, &slot);
    if (rv != CKR_OK)
        return rv;
    if (!pMechanism || !phPublicKey || !phPrivateKey ||
        (!pPublicKeyTemplate && ulPublicKeyAttributeCount) ||
        (!pPrivateKeyTemplate && ulPrivateKeyAttributeCount))
        return p11_leave(CKR_ARGUMENTS_BAD);
    if (pMechanism->mechanism != CKM_RSA_PKCS_KEY_PAIR_GEN &&
        pMechanism->mechanism != CKM_EC_KEY_PAIR_GEN)
        return p11_leave(CKR_MECHANISM_INVALID);
    if (pMechanism->ulParameterLen)
        return p11_leave(CKR_MECHANISM_PARAM_INVALID);
    cJSON *spec = NULL, *patch = NULL, *keys = NULL;
    int token = 0;
    rv = p11_template_pair(pMechanism->mechanism, pPublicKeyTemplate, ulPublicKeyAttributeCount,
                           pPrivateKeyTemplate, ulPrivateKeyAttributeCount, &spec, &token, &patch);
    if (rv == CKR_OK)
        rv = rw_ok(s, token || cJSON_IsTrue(cJSON_GetObjectItem(
                                   cJSON_GetObjectItem(patch, "attributes"), "token")));
    if (rv != CKR_OK) {
        cJSON_Delete(spec);
        cJSON_Delete(patch);
        return p11_leave(rv);
    }
    chsmc_error e;
    chsmc_error_clear(&e);
    int rc;
    P11_CALL(slot, rc, e, chsmc_hsm_generate_key(p11_hsm(slot), spec, &keys, &e));
    cJSON_Delete(spec);
    if (rc != CHSMC_OK) {
        cJSON_Delete(patch);
        return p11_leave(p11_rv_from(rc, &e, P11_CTX_OTHER));
    }
    int pub_token = token;
    if (patch) { /* the public half's own label or CKA_TOKEN */
        cJSON *pub = cJSON_GetArrayItem(keys, 0);
        const cJSON *hh = cJSON_GetObjectItem(pub, "handle");
        cJSON *updated = NULL;
        pub_token =
            cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(patch, "attributes"), "token"));
        P11_CALL(slot, rc, e,
                 chsmc_hsm_patch_key(p11_hsm(slot),
                                     cJSON_IsNumber(hh) ? (long long)hh->valuedouble : 0, patch,
                                     &updated, &e));
        cJSON_Delete(patch);
        if (rc == CHSMC_OK && updated)
            cJSON_ReplaceItemInArray(keys, 0, updated);
        else
            cJSON_Delete(updated);
        if (rc != CHSMC_OK)
            p11_debug("could not adjust the public key: %s", e.message);
    }
    cJSON *pub = cJSON_DetachItemFromArray(keys, 0);
    cJSON *one = cJSON_CreateArray();
    cJSON_AddItemToArray(one, pub);
    rv = p11_track_new(s->slot, one, hSession, pub_token, phPublicKey, 1);
    CK_RV rv2 = p11_track_new(s->slot, keys, hSession, token, phPrivateKey, 1);
    return p11_leave(rv != CKR_OK ? rv : rv2);
}

/* ---- wrap and unwrap ---- */

/* wrapping_plan plans mechanism m with key k for wrap (or, wrap 0, unwrap): the mechanism must
 * suit the key, which must not be a private key for wrap nor a public key for unwrap, and must
 * allow the use. */
static CK_RV wrapping_plan(CK_MECHANISM_PTR m, const p11_object *k, int wrap, p11_cipher_plan *plan)
{
    CK_RV rv = p11_cipher_plan_for(m, p11_key_type(k->key), 1, plan);
    if (rv == CKR_KEY_TYPE_INCONSISTENT ||
        (rv == CKR_OK && p11_key_class(k->key) == (wrap ? CKO_PRIVATE_KEY : CKO_PUBLIC_KEY)))
        return wrap ? CKR_WRAPPING_KEY_TYPE_INCONSISTENT : CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT;
    if (rv != CKR_OK)
        return rv;
    return p11_key_bool(k->key, wrap ? "wrap" : "unwrap") ? CKR_OK : CKR_KEY_FUNCTION_NOT_PERMITTED;
}

/* C_WrapKey wraps an extractable key (AES-KWP or RSA-OAEP). */
CK_RV C_WrapKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                CK_OBJECT_HANDLE hWrappingKey, CK_OBJECT_HANDLE hKey, CK_BYTE_PTR pWrappedKey,
                CK_ULONG_PTR pulWrappedKeyLen)
{
    p11_session *s;
    p11_slot *slot;
    p11_object *w, *k;
    CK_RV rv = p11_enter_user_session(hSession, &s, &slot);
    if (rv != CKR_OK)
        return rv;
    if (!pMechanism || !pulWrappedKeyLen)
        return p11_leave(CKR_ARGUMENTS_BAD);
    if ((rv = p11_object_for(s, hWrappingKey, CKR_WRAPPING_KEY_HANDLE_INVALID, &w)) != CKR_OK ||
        (rv = p11_object_for(s, hKey, CKR_KEY_HANDLE_INVALID, &k)) != CKR_OK)
        return p11_leave(rv);
    p11_cipher_plan plan;
    if ((rv = wrapping_plan(pMechanism, w, 1, &plan)) != CKR_OK)
        return p11_leave(rv);
    if (p11_key_class(k->key) == CKO_PUBLIC_KEY)
        return p11_leave(CKR_KEY_NOT_WRAPPABLE);
    if (!p11_key_bool(k->key, "extractable"))
        return p11_leave(CKR_KEY_UNEXTRACTABLE);
    chsmc_error e;
    chsmc_error_clear(&e);
    chsmc_bytes out = {0};
    int rc;
    P11_CALL(slot, rc, e,
             chsmc_hsm_wrap(p11_hsm(slot), w->hsm_handle, plan.dp_mech, k->hsm_handle, &out, &e));
    if (rc != CHSMC_OK)
        return p11_leave(p11_rv_from(rc, &e, P11_CTX_WRAP));
    if (!pWrappedKey) {
        rv = CKR_OK;
    } else if (*pulWrappedKeyLen < out.len) {
        rv = CKR_BUFFER_TOO_SMALL;
    } else {
        memcpy(pWrappedKey, out.data, out.len);
    }
    *pulWrappedKeyLen = (CK_ULONG)out.len;
    chsmc_bytes_free(&out);
    return p11_leave(rv);
}

/* C_UnwrapKey unwraps key material into a new key. */
CK_RV C_UnwrapKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                  CK_OBJECT_HANDLE hUnwrappingKey, CK_BYTE_PTR pWrappedKey,
                  CK_ULONG ulWrappedKeyLen, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulAttributeCount,
                  CK_OBJECT_HANDLE_PTR phKey)
{
    p11_session *s;
    p11_slot *slot;
    p11_object *u;
    CK_RV rv = p11_enter_user_session(hSession, &s, &slot);
    if (rv != CKR_OK)
        return rv;
    if (!pMechanism || !phKey || !pWrappedKey || (!pTemplate && ulAttributeCount))
        return p11_leave(CKR_ARGUMENTS_BAD);
    if ((rv = p11_object_for(s, hUnwrappingKey, CKR_UNWRAPPING_KEY_HANDLE_INVALID, &u)) != CKR_OK)
        return p11_leave(rv);
    p11_cipher_plan plan;
    if ((rv = wrapping_plan(pMechanism, u, 0, &plan)) != CKR_OK)
        return p11_leave(rv);
    const char *type;
    char label[128], key_id[129];
    int has_id, token;
    cJSON *attrs = NULL, *keys = NULL;
    if ((rv = p11_template_unwrap(pTemplate, ulAttributeCount, &type, label, key_id, &has_id,
                                  &attrs, &token)) != CKR_OK ||
        (rv = rw_ok(s, token)) != CKR_OK) {
        cJSON_Delete(attrs);
        return p11_leave(rv);
    }
    chsmc_error e;
    chsmc_error_clear(&e);
    chsmc_bytes wrapped = {pWrappedKey, ulWrappedKeyLen};
    int rc;
    P11_CALL(slot, rc, e,
             chsmc_hsm_unwrap(p11_hsm(slot), u->hsm_handle, plan.dp_mech, &wrapped, type, label,
                              has_id ? key_id : NULL, attrs, &keys, &e));
    cJSON_Delete(attrs);
    if (rc != CHSMC_OK) {
        rv = p11_rv_from(rc, &e, P11_CTX_WRAP);
        if (rc == CHSMC_EHTTP && e.http_status == 400 && rv == CKR_FUNCTION_FAILED)
            rv = CKR_WRAPPED_KEY_INVALID; /* not a key of the template's type */
        return p11_leave(rv);
    }
    return p11_leave(p11_track_new(s->slot, keys, hSession, token, phKey, 1));
}

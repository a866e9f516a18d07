/* p11_module.c - the PKCS#11 v2.40 entry points for the library, slots, tokens,
 * mechanisms, sessions and login, the function list, and the functions the
 * module does not offer (CKR_FUNCTION_NOT_SUPPORTED). */
#include "p11_attr.h"
#include "p11_mech.h"
#include "p11_module.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

p11_state p11_g;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

CK_RV p11_enter(void)
{
    pthread_mutex_lock(&g_lock);
    if (!p11_g.initialized) {
        pthread_mutex_unlock(&g_lock);
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    }
    return CKR_OK;
}

CK_RV p11_leave(CK_RV rv)
{
    pthread_mutex_unlock(&g_lock);
    return rv;
}

CK_RV p11_session_for(CK_SESSION_HANDLE h, p11_session **s, p11_slot **slot)
{
    *s = p11_session_get(&p11_g, h);
    if (!*s)
        return CKR_SESSION_HANDLE_INVALID;
    if (slot)
        *slot = &p11_g.slots[(*s)->slot];
    return CKR_OK;
}

CK_RV p11_enter_session(CK_SESSION_HANDLE h, p11_session **s, p11_slot **slot)
{
    CK_RV rv = p11_enter();
    if (rv == CKR_OK && (rv = p11_session_for(h, s, slot)) != CKR_OK)
        p11_leave(rv);
    return rv;
}

CK_RV p11_enter_user_session(CK_SESSION_HANDLE h, p11_session **s, p11_slot **slot)
{
    CK_RV rv = p11_enter_session(h, s, slot);
    if (rv == CKR_OK && (rv = p11_need_user(*slot)) != CKR_OK)
        p11_leave(rv);
    return rv;
}

CK_RV p11_need_user(const p11_slot *slot)
{
    return slot->login == CKU_USER ? CKR_OK : CKR_USER_NOT_LOGGED_IN;
}

CK_RV p11_object_for(p11_session *s, CK_OBJECT_HANDLE h, CK_RV bad_rv, p11_object **o)
{
    *o = p11_object_get(&p11_g, h);
    if (!*o || (*o)->slot != s->slot) {
        *o = NULL;
        return bad_rv ? bad_rv : CKR_OBJECT_HANDLE_INVALID;
    }
    return CKR_OK;
}

CK_RV p11_fetch_spki(p11_slot *slot, p11_object *o)
{
    CK_KEY_TYPE kt = p11_key_type(o->key);
    if (o->spki.data || (kt != CKK_RSA && kt != CKK_EC))
        return CKR_OK;
    chsmc_error e;
    chsmc_error_clear(&e);
    char *pem = NULL;
    int rc;
    P11_CALL(slot, rc, e, chsmc_hsm_public_pem(p11_hsm(slot), o->hsm_handle, &pem, &e));
    if (rc != CHSMC_OK)
        return p11_rv_from(rc, &e, P11_CTX_KEY);
    CK_RV rv = p11_pem_to_der(pem, &o->spki);
    free(pem);
    return rv;
}

void p11_drop_session_objects(p11_slot *slot, CK_SESSION_HANDLE h)
{
    for (size_t i = 0; i < p11_g.nobjects;) {
        p11_object *o = p11_g.objects[i];
        if (o->session != h || &p11_g.slots[o->slot] != slot) {
            i++;
            continue;
        }
        chsmc_error e;
        chsmc_error_clear(&e);
        if (slot->login == CKU_USER && p11_hsm(slot))
            chsmc_hsm_delete_key(p11_hsm(slot), o->hsm_handle, &e);
        p11_object_remove(&p11_g, o->handle);
    }
}

CK_RV p11_track_new(size_t si, cJSON *keys, CK_SESSION_HANDLE session, int token,
                    CK_OBJECT_HANDLE *out, size_t nout)
{
    size_t i = 0;
    CK_RV rv = CKR_OK;
    cJSON *k;
    while ((k = cJSON_DetachItemFromArray(keys, 0)) != NULL) {
        CK_OBJECT_HANDLE oh = p11_object_add(&p11_g, si, k);
        if (!oh) {
            rv = CKR_HOST_MEMORY;
            continue;
        }
        p11_object_get(&p11_g, oh)->session = token ? 0 : session;
        if (out && i < nout)
            out[i] = oh;
        i++;
    }
    cJSON_Delete(keys);
    if (rv == CKR_OK && out && i < nout)
        rv = CKR_DEVICE_ERROR; /* the HSM answered with fewer keys than asked for */
    return rv;
}

/* pad copies s into a blank-padded, not NUL-terminated field of n bytes. */
static void pad(CK_UTF8CHAR *dst, size_t n, const char *s)
{
    memset(dst, ' ', n);
    size_t l = strlen(s);
    memcpy(dst, s, l < n ? l : n);
}

/* ---- library ---- */

static CK_FUNCTION_LIST function_list;

/* C_Initialize loads the configuration and makes one slot per cluster (OS locking only). */
CK_RV C_Initialize(CK_VOID_PTR pInitArgs)
{
    if (pInitArgs) {
        CK_C_INITIALIZE_ARGS *a = pInitArgs;
        int some = a->CreateMutex || a->DestroyMutex || a->LockMutex || a->UnlockMutex;
        int all = a->CreateMutex && a->DestroyMutex && a->LockMutex && a->UnlockMutex;
        if (a->pReserved || (some && !all))
            return CKR_ARGUMENTS_BAD;
        if (all && !(a->flags & CKF_OS_LOCKING_OK))
            return CKR_CANT_LOCK; /* only the operating system's locks are used */
    }
    pthread_mutex_lock(&g_lock);
    if (p11_g.initialized)
        return p11_leave(CKR_CRYPTOKI_ALREADY_INITIALIZED);
    chsmc_error e;
    chsmc_error_clear(&e);
    CK_RV rv = p11_config_load(&p11_g, &e);
    if (rv != CKR_OK) {
        p11_debug("C_Initialize: %s", e.message);
        p11_config_close(&p11_g);
        p11_state_clear(&p11_g);
        return p11_leave(rv);
    }
    p11_g.initialized = 1;
    return p11_leave(CKR_OK);
}

/* C_Finalize deletes session keys, logs every slot out and frees everything. */
CK_RV C_Finalize(CK_VOID_PTR pReserved)
{
    if (pReserved)
        return CKR_ARGUMENTS_BAD;
    CK_RV rv = p11_enter();
    if (rv != CKR_OK)
        return rv;
    for (size_t i = 0; i < p11_g.nsessions; i++)
        p11_drop_session_objects(&p11_g.slots[p11_g.sessions[i]->slot], p11_g.sessions[i]->handle);
    for (size_t i = 0; i < p11_g.nslots; i++) {
        chsmc_error e;
        if (p11_g.slots[i].login != P11_NOBODY && p11_hsm(&p11_g.slots[i]))
            chsmc_hsm_logout(p11_hsm(&p11_g.slots[i]), &e);
    }
    p11_config_close(&p11_g);
    p11_state_clear(&p11_g);
    return p11_leave(CKR_OK);
}

/* C_GetInfo describes the library (Cryptoki 2.40). */
CK_RV C_GetInfo(CK_INFO_PTR pInfo)
{
    CK_RV rv = p11_enter();
    if (rv != CKR_OK)
        return rv;
    if (!pInfo)
        return p11_leave(CKR_ARGUMENTS_BAD);
    memset(pInfo, 0, sizeof *pInfo);
    pInfo->cryptokiVersion.major = 2;
    pInfo->cryptokiVersion.minor = 40;
    pad(pInfo->manufacturerID, sizeof pInfo->manufacturerID, "chsm-emulator");
    pad(pInfo->libraryDescription, sizeof pInfo->libraryDescription, "Cloud HSM emulator PKCS#11");
    pInfo->libraryVersion.major = 0;
    pInfo->libraryVersion.minor = 1;
    return p11_leave(CKR_OK);
}

/* C_GetFunctionList hands out the function list (callable before C_Initialize). */
CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ppFunctionList)
{
    if (!ppFunctionList)
        return CKR_ARGUMENTS_BAD;
    *ppFunctionList = &function_list;
    return CKR_OK;
}

/* ---- slots and tokens ---- */

/* C_GetSlotList lists the slots (two-call convention); every slot has its token. */
CK_RV C_GetSlotList(CK_BBOOL tokenPresent, CK_SLOT_ID_PTR pSlotList, CK_ULONG_PTR pulCount)
{
    (void)tokenPresent; /* every slot has its token: the cluster */
    CK_RV rv = p11_enter();
    if (rv != CKR_OK)
        return rv;
    if (!pulCount)
        return p11_leave(CKR_ARGUMENTS_BAD);
    if (pSlotList) {
        if (*pulCount < p11_g.nslots)
            rv = CKR_BUFFER_TOO_SMALL;
        else
            for (size_t i = 0; i < p11_g.nslots; i++)
                pSlotList[i] = p11_g.slots[i].id;
    }
    *pulCount = (CK_ULONG)p11_g.nslots;
    return p11_leave(rv);
}

/* C_GetSlotInfo describes a slot (the cluster's first node name). */
CK_RV C_GetSlotInfo(CK_SLOT_ID slotID, CK_SLOT_INFO_PTR pInfo)
{
    CK_RV rv = p11_enter();
    if (rv != CKR_OK)
        return rv;
    p11_slot *s = p11_state_slot(&p11_g, slotID);
    if (!s)
        return p11_leave(CKR_SLOT_ID_INVALID);
    if (!pInfo)
        return p11_leave(CKR_ARGUMENTS_BAD);
    memset(pInfo, 0, sizeof *pInfo);
    char desc[300];
    snprintf(desc, sizeof desc, "Cloud HSM cluster %s", s->fqdn);
    pad(pInfo->slotDescription, sizeof pInfo->slotDescription, desc);
    pad(pInfo->manufacturerID, sizeof pInfo->manufacturerID, "chsm-emulator");
    pInfo->flags = CKF_TOKEN_PRESENT;
    pInfo->hardwareVersion.major = 1;
    pInfo->firmwareVersion.major = 1;
    return p11_leave(CKR_OK);
}

/* C_GetTokenInfo describes the cluster in a slot (GET /cluster). */
CK_RV C_GetTokenInfo(CK_SLOT_ID slotID, CK_TOKEN_INFO_PTR pInfo)
{
    CK_RV rv = p11_enter();
    if (rv != CKR_OK)
        return rv;
    p11_slot *s = p11_state_slot(&p11_g, slotID);
    if (!s)
        return p11_leave(CKR_SLOT_ID_INVALID);
    if (!pInfo)
        return p11_leave(CKR_ARGUMENTS_BAD);
    chsmc_error e;
    chsmc_error_clear(&e);
    cJSON *c = NULL;
    int rc = chsmc_hsm_cluster(p11_hsm(s), &c, &e);
    if (rc != CHSMC_OK)
        return p11_leave(p11_rv_from(rc, &e, P11_CTX_OTHER));
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(c, "clusterName"));
    const char *state = cJSON_GetStringValue(cJSON_GetObjectItem(c, "activationState"));
    snprintf(s->cluster_name, sizeof s->cluster_name, "%.63s", name ? name : s->label);
    int active = state && strcmp(state, "Active") == 0;
    cJSON_Delete(c);
    memset(pInfo, 0, sizeof *pInfo);
    pad(pInfo->label, sizeof pInfo->label, s->cluster_name);
    pad(pInfo->manufacturerID, sizeof pInfo->manufacturerID, "chsm-emulator");
    pad(pInfo->model, sizeof pInfo->model, "Cloud HSM");
    const char *dash = strrchr(s->label, '-');
    pad(pInfo->serialNumber, sizeof pInfo->serialNumber, dash ? dash + 1 : s->label);
    pInfo->flags = CKF_RNG | CKF_LOGIN_REQUIRED;
    if (active)
        pInfo->flags |= CKF_TOKEN_INITIALIZED | CKF_USER_PIN_INITIALIZED;
    size_t rw = 0, n = p11_session_count(&p11_g, (size_t)(s - p11_g.slots), &rw);
    pInfo->ulMaxSessionCount = CK_EFFECTIVELY_INFINITE;
    pInfo->ulSessionCount = n;
    pInfo->ulMaxRwSessionCount = CK_EFFECTIVELY_INFINITE;
    pInfo->ulRwSessionCount = rw;
    pInfo->ulMaxPinLen = 200;
    pInfo->ulMinPinLen = 3;
    pInfo->ulTotalPublicMemory = CK_UNAVAILABLE_INFORMATION;
    pInfo->ulFreePublicMemory = CK_UNAVAILABLE_INFORMATION;
    pInfo->ulTotalPrivateMemory = CK_UNAVAILABLE_INFORMATION;
    pInfo->ulFreePrivateMemory = CK_UNAVAILABLE_INFORMATION;
    pInfo->hardwareVersion.major = 1;
    pInfo->firmwareVersion.major = 1;
    memset(pInfo->utcTime, ' ', sizeof pInfo->utcTime);
    return p11_leave(CKR_OK);
}

/* C_GetMechanismList lists the offered mechanisms (two-call convention). */
CK_RV C_GetMechanismList(CK_SLOT_ID slotID, CK_MECHANISM_TYPE_PTR pMechanismList,
                         CK_ULONG_PTR pulCount)
{
    CK_RV rv = p11_enter();
    if (rv != CKR_OK)
        return rv;
    if (!p11_state_slot(&p11_g, slotID))
        return p11_leave(CKR_SLOT_ID_INVALID);
    if (!pulCount)
        return p11_leave(CKR_ARGUMENTS_BAD);
    CK_ULONG n = p11_mech_count();
    if (pMechanismList) {
        if (*pulCount < n)
            rv = CKR_BUFFER_TOO_SMALL;
        else
            for (CK_ULONG i = 0; i < n; i++)
                pMechanismList[i] = p11_mech_at(i)->type;
    }
    *pulCount = n;
    return p11_leave(rv);
}

/* C_GetMechanismInfo gives a mechanism's key sizes and functions. */
CK_RV C_GetMechanismInfo(CK_SLOT_ID slotID, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR pInfo)
{
    CK_RV rv = p11_enter();
    if (rv != CKR_OK)
        return rv;
    if (!p11_state_slot(&p11_g, slotID))
        return p11_leave(CKR_SLOT_ID_INVALID);
    const p11_mech *m = p11_mech_find(type);
    if (!m)
        return p11_leave(CKR_MECHANISM_INVALID);
    if (!pInfo)
        return p11_leave(CKR_ARGUMENTS_BAD);
    pInfo->ulMinKeySize = m->min_key;
    pInfo->ulMaxKeySize = m->max_key;
    pInfo->flags = m->flags | (m->key_type != CKK_VENDOR_DEFINED ? CKF_HW : 0); /* digests: here */
    return p11_leave(CKR_OK);
}

/* ---- sessions ---- */

/* C_OpenSession opens a serial session on a slot. */
CK_RV C_OpenSession(CK_SLOT_ID slotID, CK_FLAGS flags, CK_VOID_PTR pApplication, CK_NOTIFY Notify,
                    CK_SESSION_HANDLE_PTR phSession)
{
    (void)pApplication; /* no callbacks are ever made */
    (void)Notify;
    CK_RV rv = p11_enter();
    if (rv != CKR_OK)
        return rv;
    p11_slot *s = p11_state_slot(&p11_g, slotID);
    if (!s)
        return p11_leave(CKR_SLOT_ID_INVALID);
    if (!phSession)
        return p11_leave(CKR_ARGUMENTS_BAD);
    return p11_leave(p11_session_open(&p11_g, (size_t)(s - p11_g.slots), flags, phSession));
}

/* close_locked ends a session; the last session of a slot logs it out. */
static CK_RV close_locked(CK_SESSION_HANDLE h)
{
    p11_session *s;
    p11_slot *slot;
    CK_RV rv = p11_session_for(h, &s, &slot);
    if (rv != CKR_OK)
        return rv;
    size_t si = s->slot;
    p11_drop_session_objects(slot, h);
    p11_session_close(&p11_g, h);
    if (p11_session_count(&p11_g, si, NULL) == 0 && slot->login != P11_NOBODY) {
        chsmc_error e;
        chsmc_hsm_logout(p11_hsm(slot), &e);
        p11_slot_forget_login(slot);
        p11_object_forget_slot(&p11_g, si);
    }
    return CKR_OK;
}

/* C_CloseSession closes a session (its session keys are deleted; the last one logs out). */
CK_RV C_CloseSession(CK_SESSION_HANDLE hSession)
{
    CK_RV rv = p11_enter();
    if (rv != CKR_OK)
        return rv;
    return p11_leave(close_locked(hSession));
}

/* C_CloseAllSessions closes every session of a slot. */
CK_RV C_CloseAllSessions(CK_SLOT_ID slotID)
{
    CK_RV rv = p11_enter();
    if (rv != CKR_OK)
        return rv;
    p11_slot *slot = p11_state_slot(&p11_g, slotID);
    if (!slot)
        return p11_leave(CKR_SLOT_ID_INVALID);
    size_t si = (size_t)(slot - p11_g.slots);
    for (size_t i = p11_g.nsessions; i > 0; i--)
        if (p11_g.sessions[i - 1]->slot == si)
            close_locked(p11_g.sessions[i - 1]->handle);
    return p11_leave(CKR_OK);
}

/* C_GetSessionInfo gives a session's slot, state and flags. */
CK_RV C_GetSessionInfo(CK_SESSION_HANDLE hSession, CK_SESSION_INFO_PTR pInfo)
{
    p11_session *s;
    p11_slot *slot;
    CK_RV rv = p11_enter_session(hSession, &s, &slot);
    if (rv != CKR_OK)
        return rv;
    if (!pInfo)
        return p11_leave(CKR_ARGUMENTS_BAD);
    pInfo->slotID = slot->id;
    pInfo->state = p11_session_state(&p11_g, s);
    pInfo->flags = s->flags;
    pInfo->ulDeviceError = 0;
    return p11_leave(CKR_OK);
}

/* C_Login logs a "user:password" PIN in as CU (CKU_USER) or CO (CKU_SO). */
CK_RV C_Login(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin,
              CK_ULONG ulPinLen)
{
    CK_RV rv = p11_enter();
    if (rv != CKR_OK)
        return rv;
    p11_session *s;
    p11_slot *slot;
    if ((rv = p11_session_for(hSession, &s, &slot)) != CKR_OK ||
        (rv = p11_login_check(&p11_g, s->slot, userType)) != CKR_OK)
        return p11_leave(rv);
    if (!pPin)
        return p11_leave(CKR_ARGUMENTS_BAD); /* no protected authentication path */
    char user[64], password[136];
    if ((rv = p11_pin_split(pPin, ulPinLen, user, password)) != CKR_OK)
        return p11_leave(rv);
    chsmc_error e;
    chsmc_error_clear(&e);
    int rc = chsmc_hsm_login(p11_hsm(slot), userType == CKU_SO ? "CO" : "CU", user, password, &e);
    if (rc == CHSMC_OK)
        rv = p11_slot_remember_login(slot, userType, user, password);
    else
        rv = p11_rv_from(rc, &e, P11_CTX_LOGIN);
    memset(password, 0, sizeof password);
    return p11_leave(rv);
}

/* C_Logout logs the slot out and forgets its object handles. */
CK_RV C_Logout(CK_SESSION_HANDLE hSession)
{
    p11_session *s;
    p11_slot *slot;
    CK_RV rv = p11_enter_session(hSession, &s, &slot);
    if (rv != CKR_OK)
        return rv;
    if (slot->login == P11_NOBODY)
        return p11_leave(CKR_USER_NOT_LOGGED_IN);
    for (size_t i = 0; i < p11_g.nsessions; i++)
        if (p11_g.sessions[i]->slot == s->slot) {
            p11_drop_session_objects(slot, p11_g.sessions[i]->handle);
            for (int k = 0; k < P11_OP_COUNT; k++)
                p11_op_reset(&p11_g.sessions[i]->op[k]);
        }
    chsmc_error e;
    chsmc_error_clear(&e);
    chsmc_hsm_logout(p11_hsm(slot), &e); /* an expired HSM session is logged out too */
    p11_slot_forget_login(slot);
    p11_object_forget_slot(&p11_g, s->slot);
    return p11_leave(CKR_OK);
}

/* ---- not offered ---- */

/* Token and PIN administration belongs to the HSM's own tools (chsmctl mgmt); the rest is
 * not offered by the data plane (docs/pkcs11.md). */
CK_RV C_InitToken(CK_SLOT_ID a, CK_UTF8CHAR_PTR b, CK_ULONG c, CK_UTF8CHAR_PTR d)
{
    (void)a;
    (void)b;
    (void)c;
    (void)d;
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_RV C_InitPIN(CK_SESSION_HANDLE a, CK_UTF8CHAR_PTR b, CK_ULONG c)
{
    (void)a;
    (void)b;
    (void)c;
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_RV C_SetPIN(CK_SESSION_HANDLE a, CK_UTF8CHAR_PTR b, CK_ULONG c, CK_UTF8CHAR_PTR d, CK_ULONG e)
{
    (void)a;
    (void)b;
    (void)c;
    (void)d;
    (void)e;
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_RV C_GetOperationState(CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG_PTR c)
{
    (void)a;
    (void)b;
    (void)c;
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_RV C_SetOperationState(CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_OBJECT_HANDLE d,
                          CK_OBJECT_HANDLE e)
{
    (void)a;
    (void)b;
    (void)c;
    (void)d;
    (void)e;
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_RV C_CopyObject(CK_SESSION_HANDLE a, CK_OBJECT_HANDLE b, CK_ATTRIBUTE_PTR c, CK_ULONG d,
                   CK_OBJECT_HANDLE_PTR e)
{
    (void)a;
    (void)b;
    (void)c;
    (void)d;
    (void)e;
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_RV C_GetObjectSize(CK_SESSION_HANDLE a, CK_OBJECT_HANDLE b, CK_ULONG_PTR c)
{
    (void)a;
    (void)b;
    (void)c;
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_RV C_DigestKey(CK_SESSION_HANDLE a, CK_OBJECT_HANDLE b)
{
    (void)a;
    (void)b;
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_RV C_SignRecoverInit(CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_OBJECT_HANDLE c)
{
    (void)a;
    (void)b;
    (void)c;
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_RV C_SignRecover(CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d, CK_ULONG_PTR e)
{
    (void)a;
    (void)b;
    (void)c;
    (void)d;
    (void)e;
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_RV C_VerifyRecoverInit(CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_OBJECT_HANDLE c)
{
    (void)a;
    (void)b;
    (void)c;
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_RV C_VerifyRecover(CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d, CK_ULONG_PTR e)
{
    (void)a;
    (void)b;
    (void)c;
    (void)d;
    (void)e;
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_RV C_DigestEncryptUpdate(CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d,
                            CK_ULONG_PTR e)
{
    (void)a;
    (void)b;
    (void)c;
    (void)d;
    (void)e;
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_RV C_DecryptDigestUpdate(CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d,
                            CK_ULONG_PTR e)
{
    (void)a;
    (void)b;
    (void)c;
    (void)d;
    (void)e;
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_RV C_SignEncryptUpdate(CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d,
                          CK_ULONG_PTR e)
{
    (void)a;
    (void)b;
    (void)c;
    (void)d;
    (void)e;
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_RV C_DecryptVerifyUpdate(CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d,
                            CK_ULONG_PTR e)
{
    (void)a;
    (void)b;
    (void)c;
    (void)d;
    (void)e;
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_RV C_DeriveKey(CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_OBJECT_HANDLE c, CK_ATTRIBUTE_PTR d,
                  CK_ULONG e, CK_OBJECT_HANDLE_PTR f)
{
    (void)a;
    (void)b;
    (void)c;
    (void)d;
    (void)e;
    (void)f;
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_RV C_WaitForSlotEvent(CK_FLAGS a, CK_SLOT_ID_PTR b, CK_VOID_PTR c)
{
    (void)a;
    (void)b;
    (void)c;
    return CKR_FUNCTION_NOT_SUPPORTED;
}

/* The HSM's generator takes no seed (the status the specification gives for that). */
CK_RV C_SeedRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSeed, CK_ULONG ulSeedLen)
{
    (void)pSeed;
    (void)ulSeedLen;
    p11_session *s;
    CK_RV rv = p11_enter_session(hSession, &s, NULL);
    if (rv != CKR_OK)
        return rv;
    return p11_leave(CKR_RANDOM_SEED_NOT_SUPPORTED);
}

/* Legacy parallel-function calls. */
CK_RV C_GetFunctionStatus(CK_SESSION_HANDLE hSession)
{
    (void)hSession;
    return CKR_FUNCTION_NOT_PARALLEL;
}

/* C_CancelFunction is a legacy call: no function runs in parallel. */
CK_RV C_CancelFunction(CK_SESSION_HANDLE hSession)
{
    (void)hSession;
    return CKR_FUNCTION_NOT_PARALLEL;
}

static CK_FUNCTION_LIST function_list = {
    {2, 40},
    C_Initialize,
    C_Finalize,
    C_GetInfo,
    C_GetFunctionList,
    C_GetSlotList,
    C_GetSlotInfo,
    C_GetTokenInfo,
    C_GetMechanismList,
    C_GetMechanismInfo,
    C_InitToken,
    C_InitPIN,
    C_SetPIN,
    C_OpenSession,
    C_CloseSession,
    C_CloseAllSessions,
    C_GetSessionInfo,
    C_GetOperationState,
    C_SetOperationState,
    C_Login,
    C_Logout,
    C_CreateObject,
    C_CopyObject,
    C_DestroyObject,
    C_GetObjectSize,
    C_GetAttributeValue,
    C_SetAttributeValue,
    C_FindObjectsInit,
    C_FindObjects,
    C_FindObjectsFinal,
    C_EncryptInit,
    C_Encrypt,
    C_EncryptUpdate,
    C_EncryptFinal,
    C_DecryptInit,
    C_Decrypt,
    C_DecryptUpdate,
    C_DecryptFinal,
    C_DigestInit,
    C_Digest,
    C_DigestUpdate,
    C_DigestKey,
    C_DigestFinal,
    C_SignInit,
    C_Sign,
    C_SignUpdate,
    C_SignFinal,
    C_SignRecoverInit,
    C_SignRecover,
    C_VerifyInit,
    C_Verify,
    C_VerifyUpdate,
    C_VerifyFinal,
    C_VerifyRecoverInit,
    C_VerifyRecover,
    C_DigestEncryptUpdate,
    C_DecryptDigestUpdate,
    C_SignEncryptUpdate,
    C_DecryptVerifyUpdate,
    C_GenerateKey,
    C_GenerateKeyPair,
    C_WrapKey,
    C_UnwrapKey,
    C_DeriveKey,
    C_SeedRandom,
    C_GenerateRandom,
    C_GetFunctionStatus,
    C_CancelFunction,
    C_WaitForSlotEvent,
};

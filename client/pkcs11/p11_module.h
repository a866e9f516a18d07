/* p11_module.h - what the C_* entry point files share: the module's one state,
 * its lock, and lookups that turn handles into sessions, slots and keys with the
 * right CKR_* codes. */
#ifndef P11_MODULE_H
#define P11_MODULE_H

#include "p11_state.h"
#include "p11_transport.h"

/* The loaded module's state; only touched with the lock held. */
extern p11_state p11_g;

/* p11_enter takes the lock; CKR_CRYPTOKI_NOT_INITIALIZED (lock released) before C_Initialize. */
CK_RV p11_enter(void);
/* p11_leave releases the lock and returns rv. */
CK_RV p11_leave(CK_RV rv);

/* p11_session_for finds session h and its slot; CKR_SESSION_HANDLE_INVALID. */
CK_RV p11_session_for(CK_SESSION_HANDLE h, p11_session **s, p11_slot **slot);
/* p11_enter_session is p11_enter then p11_session_for (slot may be NULL); on failure the lock
 * is released again. */
CK_RV p11_enter_session(CK_SESSION_HANDLE h, p11_session **s, p11_slot **slot);
/* p11_enter_user_session is p11_enter_session that also needs the slot's crypto user
 * (p11_need_user); on failure the lock is released again. */
CK_RV p11_enter_user_session(CK_SESSION_HANDLE h, p11_session **s, p11_slot **slot);
/* p11_need_user is CKR_OK when the slot's crypto user (CKU_USER) is logged in, else
 * CKR_USER_NOT_LOGGED_IN. */
CK_RV p11_need_user(const p11_slot *slot);
/* p11_object_for finds object h of session s's slot; CKR_OBJECT_HANDLE_INVALID (bad) when
 * unknown, or bad_rv (e.g. CKR_KEY_HANDLE_INVALID) when given. */
CK_RV p11_object_for(p11_session *s, CK_OBJECT_HANDLE h, CK_RV bad_rv, p11_object **o);
/* p11_fetch_spki loads the public key DER of an RSA/EC object once (GET .../public). */
CK_RV p11_fetch_spki(p11_slot *slot, p11_object *o);
/* p11_drop_session_objects deletes (on the HSM) and forgets the session objects made by
 * session h; best effort. */
void p11_drop_session_objects(p11_slot *slot, CK_SESSION_HANDLE h);
/* p11_track_new adds the keys of a data-plane "keys" array (taken over) as objects of slot
 * index si, owned by session when token is 0; out[i] (may be NULL) get the handles. */
CK_RV p11_track_new(size_t si, cJSON *keys, CK_SESSION_HANDLE session, int token,
                    CK_OBJECT_HANDLE *out, size_t nout);

#endif

/* p11_state.h - the PKCS#11 module's in-memory state: slots (one per configured
 * cluster), sessions with their active operations, and the object handle table
 * that maps PKCS#11 object handles to data-plane keys. Pure logic, no network:
 * the C_* entry points (p11_module.c, p11_objects.c, p11_crypto.c) lock the
 * global state, call these and the transport (p11_transport.h). */
#ifndef P11_STATE_H
#define P11_STATE_H

#include <p11-kit/pkcs11.h>

#include <cjson/cJSON.h>

#include <stddef.h>

/* A growable byte buffer. */
typedef struct p11_bytes {
    unsigned char *data;
    size_t len;
    size_t cap;
} p11_bytes;

/* p11_bytes_append adds n bytes; 0 on success, -1 when out of memory. */
int p11_bytes_append(p11_bytes *b, const void *p, size_t n);
/* p11_bytes_free wipes and frees b's memory and empties it. */
void p11_bytes_free(p11_bytes *b);

/* One configured cluster. */
typedef struct p11_slot {
    CK_SLOT_ID id;         /* 1-based, in configuration order */
    char fqdn[256];        /* the first configured node name of the cluster */
    char label[128];       /* the data-plane label */
    char cluster_name[64]; /* from GET /cluster, "" until known */
    CK_USER_TYPE login;    /* P11_NOBODY, CKU_USER or CKU_SO */
    char *pin;             /* "user:password" while logged in (re-login after expiry) */
    void *conn;            /* the transport (p11_conn), NULL in pure tests */
} p11_slot;

#define P11_NOBODY ((CK_USER_TYPE)-1)

/* The kinds of operation a session can have active at the same time. */
typedef enum p11_op_kind {
    P11_OP_FIND,
    P11_OP_ENCRYPT,
    P11_OP_DECRYPT,
    P11_OP_DIGEST,
    P11_OP_SIGN,
    P11_OP_VERIFY,
    P11_OP_COUNT
} p11_op_kind;

/* How an operation's input goes to the data plane. */
#define P11_PLAN_PREHASHED 1u   /* "prehashed": the data is a digest */
#define P11_PLAN_DIGEST_INFO 2u /* wrap the local digest in a DigestInfo (PKCS#1 v1.5) */
#define P11_PLAN_ECDSA 4u       /* PKCS#11 r||s signatures, DER on the wire */

/* One active operation. */
typedef struct p11_op {
    int active;
    CK_MECHANISM_TYPE mech;
    CK_OBJECT_HANDLE key; /* object handle of the key, 0 for digest and find */
    p11_bytes param;      /* copy of the mechanism parameter (the IV of a cipher) */
    p11_bytes aux;        /* the AAD of AES-GCM */
    const char *dp_mech;  /* the data plane's mechanism name */
    unsigned plan;        /* P11_PLAN_* flags */
    size_t hash_len;      /* the exact input length the data plane wants, 0: any */
    p11_bytes data;       /* accumulated input */
    void *md;             /* EVP_MD_CTX of a hash-then-sign or digest mechanism */
    int has_result;       /* result holds the finished output (two-call convention) */
    p11_bytes result;
    CK_OBJECT_HANDLE *found; /* find: matching handles */
    size_t nfound, pos;
} p11_op;

/* One session. */
typedef struct p11_session {
    CK_SESSION_HANDLE handle;
    size_t slot; /* index into the state's slots */
    CK_FLAGS flags;
    p11_op op[P11_OP_COUNT];
} p11_session;

/* One object handle: a data-plane key as the module knows it. */
typedef struct p11_object {
    CK_OBJECT_HANDLE handle;
    size_t slot;
    long long hsm_handle;      /* the data plane's handle (may differ after a restore) */
    cJSON *key;                /* the data plane's key object (owned) */
    p11_bytes spki;            /* SubjectPublicKeyInfo DER of RSA/EC keys, fetched lazily */
    CK_SESSION_HANDLE session; /* creating session of a session object (CKA_TOKEN false) */
} p11_object;

/* Everything one loaded module owns. */
typedef struct p11_state {
    int initialized;
    p11_slot *slots;
    size_t nslots;
    p11_session **sessions;
    size_t nsessions;
    CK_SESSION_HANDLE next_session;
    p11_object **objects;
    size_t nobjects;
    CK_OBJECT_HANDLE next_object;
} p11_state;

/* p11_state_slot finds a slot by id (NULL when unknown). */
p11_slot *p11_state_slot(p11_state *st, CK_SLOT_ID id);
/* p11_state_add_slot appends a slot for the cluster named label (node fqdn), numbering it;
 * CKR_OK or CKR_HOST_MEMORY. */
CK_RV p11_state_add_slot(p11_state *st, const char *fqdn, const char *label);
/* p11_slot_forget_login marks the slot logged out and wipes the remembered PIN. */
void p11_slot_forget_login(p11_slot *s);
/* p11_slot_remember_login records a login of user_type with pin (copied); CKR_HOST_MEMORY. */
CK_RV p11_slot_remember_login(p11_slot *s, CK_USER_TYPE user_type, const char *user,
                              const char *password);
/* p11_state_clear frees all slots, sessions and objects (not the transports: the caller
 * closes slot->conn first) and zeroes st. */
void p11_state_clear(p11_state *st);

/* p11_session_open opens a session on slot index si with flags (CKF_SERIAL_SESSION required,
 * no R/O session while the SO is logged in); *out gets the new handle. */
CK_RV p11_session_open(p11_state *st, size_t si, CK_FLAGS flags, CK_SESSION_HANDLE *out);
/* p11_session_get finds a session (NULL when the handle is unknown). */
p11_session *p11_session_get(p11_state *st, CK_SESSION_HANDLE h);
/* p11_session_close ends a session and its operations; the slot is logged out by the caller
 * when it was the last one (p11_session_count). CKR_SESSION_HANDLE_INVALID when unknown. */
CK_RV p11_session_close(p11_state *st, CK_SESSION_HANDLE h);
/* p11_session_count counts the sessions of slot index si; *rw (may be NULL) the R/W ones. */
size_t p11_session_count(const p11_state *st, size_t si, size_t *rw);
/* p11_session_state is the CKS_* state of s given its slot's login. */
CK_STATE p11_session_state(const p11_state *st, const p11_session *s);
/* p11_login_check says whether user_type may log in on slot index si now (CKR_OK, or
 * CKR_USER_ALREADY_LOGGED_IN, CKR_USER_ANOTHER_ALREADY_LOGGED_IN,
 * CKR_SESSION_READ_ONLY_EXISTS, CKR_USER_TYPE_INVALID, CKR_OPERATION_NOT_INITIALIZED). */
CK_RV p11_login_check(const p11_state *st, size_t si, CK_USER_TYPE user_type);
/* p11_pin_split splits a "user:password" PIN into user and password (NUL-terminated
 * copies); CKR_PIN_INCORRECT when there is no ':' or a part is empty or too long,
 * CKR_PIN_LEN_RANGE when the PIN is longer than 200 characters. */
CK_RV p11_pin_split(const CK_UTF8CHAR *pin, CK_ULONG len, char user[64], char password[136]);

/* p11_op_reset ends an operation and frees what it held. */
void p11_op_reset(p11_op *op);
/* p11_op_finish hands out an operation's result with the two-call convention: out NULL ->
 * *outlen gets the length (CKR_OK, the operation stays); too small -> CKR_BUFFER_TOO_SMALL
 * (it stays); else the bytes are copied and the operation ends. */
CK_RV p11_op_finish(p11_op *op, CK_BYTE_PTR out, CK_ULONG_PTR outlen);

/* p11_object_add gives key (taken over) on slot index si an object handle; a key already
 * known by its data-plane handle keeps its object handle and gets the fresh metadata.
 * Returns the handle, 0 when out of memory (key is freed). */
CK_OBJECT_HANDLE p11_object_add(p11_state *st, size_t si, cJSON *key);
/* p11_object_get finds an object (NULL when unknown). */
p11_object *p11_object_get(p11_state *st, CK_OBJECT_HANDLE h);
/* p11_object_remove forgets one object handle. */
void p11_object_remove(p11_state *st, CK_OBJECT_HANDLE h);
/* p11_object_forget_slot forgets every object handle of slot index si (after a logout). */
void p11_object_forget_slot(p11_state *st, size_t si);

#endif

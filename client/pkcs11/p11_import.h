/* p11_import.h - C_CreateObject for keys. The data plane imports key material
 * only by unwrapping it, so the module does what an application does with a
 * real HSM: it makes a transient RSA key pair in the HSM, encrypts an AES key
 * locally under its public half (RSA-OAEP) and unwraps it; a private key is
 * wrapped locally (AES key wrap with padding) under such an imported AES key and
 * unwrapped. The transient keys are deleted afterwards. Public keys cannot be
 * imported (the data plane has no such call). */
#ifndef P11_IMPORT_H
#define P11_IMPORT_H

#include "p11_attr.h"

/* A parsed C_CreateObject template. */
typedef struct p11_import_req {
    CK_OBJECT_CLASS cls;
    CK_KEY_TYPE kt;
    int token;
    p11_tmpl ts;
    cJSON *attrs;       /* the data plane's attributes object */
    p11_bytes material; /* AES key bytes, or the PKCS#8 DER private key */
} p11_import_req;

/* p11_import_parse reads a CreateObject template (secret AES keys with CKA_VALUE; RSA private
 * keys with all CRT components; EC private keys with CKA_EC_PARAMS and CKA_VALUE). */
CK_RV p11_import_parse(const CK_ATTRIBUTE *t, CK_ULONG n, p11_import_req *req);
/* p11_import_req_clear frees and wipes what req holds. */
void p11_import_req_clear(p11_import_req *req);
/* p11_import_run imports req's key on slot (logged in as a crypto user); *keys gets the
 * data plane's "keys" array with the new key (caller frees). */
CK_RV p11_import_run(p11_slot *slot, const p11_import_req *req, cJSON **keys);

#endif

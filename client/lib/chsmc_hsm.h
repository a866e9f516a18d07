/* chsmc_hsm.h - the simulated HSM's data plane (docs/hsm-data-plane.md):
 * sessions (Authorization: HSM-Session), cluster info, activation, users,
 * keys and crypto operations, on {armUrl}/hsm/{label}. No ARM token is used.
 * Errors come back as CHSMC_EHTTP with error.code / error.hsmReturn in e. */
#ifndef CHSMC_HSM_H
#define CHSMC_HSM_H

#include "chsmc_client.h"

#include <cjson/cJSON.h>

typedef struct chsmc_hsm chsmc_hsm;

/* chsmc_hsm_open makes a data-plane client for the node named fqdn
 * (hsm1.{label}.cloudhsm.localhost) on the emulator of c (c must outlive it; the HTTP
 * connection is shared). CHSMC_EUSAGE when fqdn is not an emulator HSM name. */
int chsmc_hsm_open(chsmc_client *c, const char *fqdn, chsmc_hsm **out, chsmc_error *e);
/* chsmc_hsm_free forgets the session (without logging out) and frees h (NULL is fine). */
void chsmc_hsm_free(chsmc_hsm *h);
/* chsmc_hsm_base_url_of is the base URL h talks to. */
const char *chsmc_hsm_base_url_of(const chsmc_hsm *h);
/* chsmc_hsm_logged_in tells whether h holds a session; *user_type / *username (may be NULL)
 * get the logged-in user's type and name. */
int chsmc_hsm_logged_in(const chsmc_hsm *h, const char **user_type, const char **username);

/* chsmc_hsm_call sends one data-plane request (path relative to the base, JSON body or
 * NULL) with the session when there is one; status >= 400 is CHSMC_EHTTP. *out (may be
 * NULL) gets the parsed body (caller frees). */
int chsmc_hsm_call(chsmc_hsm *h, const char *method, const char *path, const cJSON *body,
                   cJSON **out, chsmc_error *e);

/* chsmc_hsm_cluster gets GET /cluster (caller frees *out). */
int chsmc_hsm_cluster(chsmc_hsm *h, cJSON **out, chsmc_error *e);
/* chsmc_hsm_login opens a session as user_type (CO, CU, PRECO, AU) username/password,
 * replacing any session h held. */
int chsmc_hsm_login(chsmc_hsm *h, const char *user_type, const char *username, const char *password,
                    chsmc_error *e);
/* chsmc_hsm_logout ends the session (CHSMC_OK when there was none). */
int chsmc_hsm_logout(chsmc_hsm *h, chsmc_error *e);
/* chsmc_hsm_activate sets the PRECO password, promoting admin to CO (logged in as PRECO). */
int chsmc_hsm_activate(chsmc_hsm *h, const char *new_password, chsmc_error *e);

/* chsmc_hsm_list_users gets the users array (caller frees *users). */
int chsmc_hsm_list_users(chsmc_hsm *h, cJSON **users, chsmc_error *e);
/* chsmc_hsm_create_user creates a CO or CU (caller frees *user, which may be NULL). */
int chsmc_hsm_create_user(chsmc_hsm *h, const char *user_type, const char *username,
                          const char *password, cJSON **user, chsmc_error *e);
/* chsmc_hsm_change_password sets username's password (a CO for anyone, a user for itself). */
int chsmc_hsm_change_password(chsmc_hsm *h, const char *user_type, const char *username,
                              const char *password, chsmc_error *e);
/* chsmc_hsm_delete_user deletes username. */
int chsmc_hsm_delete_user(chsmc_hsm *h, const char *username, chsmc_error *e);

/* chsmc_hsm_generate_key posts spec ({"type","size"|"curve","label","keyId"?,...}) and
 * returns the created keys array (caller frees). */
int chsmc_hsm_generate_key(chsmc_hsm *h, const cJSON *spec, cJSON **keys, chsmc_error *e);
/* chsmc_hsm_find_keys lists visible keys matching the non-NULL filters exactly (caller
 * frees the array). */
int chsmc_hsm_find_keys(chsmc_hsm *h, const char *label, const char *key_class, const char *type,
                        const char *key_id, cJSON **keys, chsmc_error *e);
/* chsmc_hsm_get_key gets one key object (caller frees). */
int chsmc_hsm_get_key(chsmc_hsm *h, long long handle, cJSON **key, chsmc_error *e);
/* chsmc_hsm_delete_key deletes a key (owner only). */
int chsmc_hsm_delete_key(chsmc_hsm *h, long long handle, chsmc_error *e);
/* chsmc_hsm_public_pem returns the PEM of an RSA/EC key's public half (caller frees). */
int chsmc_hsm_public_pem(chsmc_hsm *h, long long handle, char **pem, chsmc_error *e);
/* chsmc_hsm_share_key shares (share=1) or unshares a key with username. */
int chsmc_hsm_share_key(chsmc_hsm *h, long long handle, const char *username, int share,
                        chsmc_error *e);
/* chsmc_hsm_sign signs data with mechanism (e.g. "RSA-PKCS-SHA256"); *sig (caller frees). */
int chsmc_hsm_sign(chsmc_hsm *h, long long handle, const char *mechanism, const void *data,
                   size_t len, unsigned char **sig, size_t *siglen, chsmc_error *e);
/* chsmc_hsm_verify checks a signature; *valid gets 1 or 0. */
int chsmc_hsm_verify(chsmc_hsm *h, long long handle, const char *mechanism, const void *data,
                     size_t len, const void *sig, size_t siglen, int *valid, chsmc_error *e);
/* chsmc_hsm_sign_prehashed is chsmc_hsm_sign with "prehashed": true: data is already hashed
 * (a digest, or for "RSA-PKCS" a DigestInfo, for "ECDSA" a digest). */
int chsmc_hsm_sign_prehashed(chsmc_hsm *h, long long handle, const char *mechanism,
                             const void *data, size_t len, unsigned char **sig, size_t *siglen,
                             chsmc_error *e);
/* chsmc_hsm_verify_prehashed is chsmc_hsm_verify with "prehashed": true. */
int chsmc_hsm_verify_prehashed(chsmc_hsm *h, long long handle, const char *mechanism,
                               const void *data, size_t len, const void *sig, size_t siglen,
                               int *valid, chsmc_error *e);
/* chsmc_hsm_patch_key changes a key's label, attributes or tags (body as PATCH /keys/{handle})
 * and returns the updated key object (caller frees; may be NULL). */
int chsmc_hsm_patch_key(chsmc_hsm *h, long long handle, const cJSON *body, cJSON **key,
                        chsmc_error *e);

/* Bytes in and out of crypto operations (data == NULL means absent). */
typedef struct chsmc_bytes {
    unsigned char *data;
    size_t len;
} chsmc_bytes;

/* chsmc_bytes_free frees b's data and empties it. */
void chsmc_bytes_free(chsmc_bytes *b);
/* chsmc_hsm_encrypt encrypts with AES-GCM, AES-CBC-PAD or RSA-OAEP-SHA256; iv/aad optional
 * (NULL); fills ciphertext and, when the server returns them, iv_out and tag_out (caller
 * frees each with chsmc_bytes_free). */
int chsmc_hsm_encrypt(chsmc_hsm *h, long long handle, const char *mechanism,
                      const chsmc_bytes *plain, const chsmc_bytes *iv, const chsmc_bytes *aad,
                      chsmc_bytes *ciphertext, chsmc_bytes *iv_out, chsmc_bytes *tag_out,
                      chsmc_error *e);
/* chsmc_hsm_decrypt reverses chsmc_hsm_encrypt (iv/aad/tag may be NULL). */
int chsmc_hsm_decrypt(chsmc_hsm *h, long long handle, const char *mechanism,
                      const chsmc_bytes *ciphertext, const chsmc_bytes *iv, const chsmc_bytes *aad,
                      const chsmc_bytes *tag, chsmc_bytes *plain, chsmc_error *e);
/* chsmc_hsm_wrap wraps key_handle with wrapping_handle (AES-KEY-WRAP-PAD or RSA-OAEP-SHA256). */
int chsmc_hsm_wrap(chsmc_hsm *h, long long wrapping_handle, const char *mechanism,
                   long long key_handle, chsmc_bytes *wrapped, chsmc_error *e);
/* chsmc_hsm_unwrap imports wrapped key material as a new key of type (AES, RSA, EC) with
 * label and optional key_id / attributes; returns the created keys array (caller frees). */
int chsmc_hsm_unwrap(chsmc_hsm *h, long long wrapping_handle, const char *mechanism,
                     const chsmc_bytes *wrapped, const char *type, const char *label,
                     const char *key_id, const cJSON *attributes, cJSON **keys, chsmc_error *e);
/* chsmc_hsm_random gets n random bytes from the HSM. */
int chsmc_hsm_random(chsmc_hsm *h, size_t n, chsmc_bytes *out, chsmc_error *e);

#endif

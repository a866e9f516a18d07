/* hsm.c - the HSM data-plane client. */
#include "chsmc_hsm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct chsmc_hsm {
    chsmc_client *c;
    char base[700];
    char *session;
    char user_type[16];
    char username[64];
};

int chsmc_hsm_open(chsmc_client *c, const char *fqdn, chsmc_hsm **out, chsmc_error *e)
{
    *out = NULL;
    chsmc_hsm *h = calloc(1, sizeof *h);
    if (!h)
        return chsmc_error_set(e, CHSMC_ENOMEM, "OutOfMemory", "out of memory");
    h->c = c;
    if (chsmc_hsm_base_url(chsmc_client_endpoint(c)->arm_url, fqdn, h->base, sizeof h->base) !=
        CHSMC_OK) {
        free(h);
        return chsmc_error_set(e, CHSMC_EUSAGE, "InvalidHsmHostname",
                               "'%.200s' is not an emulator HSM node name "
                               "(hsm1.{label}." CHSMC_HSM_DOMAIN ")",
                               fqdn ? fqdn : "");
    }
    *out = h;
    return CHSMC_OK;
}

void chsmc_hsm_free(chsmc_hsm *h)
{
    if (!h)
        return;
    free(h->session);
    free(h);
}

const char *chsmc_hsm_base_url_of(const chsmc_hsm *h)
{
    return h->base;
}

int chsmc_hsm_logged_in(const chsmc_hsm *h, const char **user_type, const char **username)
{
    if (user_type)
        *user_type = h->session ? h->user_type : NULL;
    if (username)
        *username = h->session ? h->username : NULL;
    return h->session != NULL;
}

int chsmc_hsm_call(chsmc_hsm *h, const char *method, const char *path, const cJSON *body,
                   cJSON **out, chsmc_error *e)
{
    if (out)
        *out = NULL;
    char url[1400];
    snprintf(url, sizeof url, "%s%s", h->base, path);
    char *text = body ? cJSON_PrintUnformatted(body) : NULL;
    if (body && !text)
        return chsmc_error_set(e, CHSMC_ENOMEM, "OutOfMemory", "out of memory");
    char auth[640] = "";
    if (h->session)
        snprintf(auth, sizeof auth, "Authorization: HSM-Session %s", h->session);
    const char *hdrs[3];
    int n = 0;
    if (auth[0])
        hdrs[n++] = auth;
    if (text)
        hdrs[n++] = "Content-Type: application/json";
    hdrs[n] = NULL;
    chsmc_response r;
    int rc = chsmc_http_send(h->c, method, url, hdrs, text, text ? strlen(text) : 0, &r, e);
    free(text);
    if (rc != CHSMC_OK)
        return rc;
    if (r.status >= 400) {
        chsmc_error_parse(r.body, r.status, e);
        rc = CHSMC_EHTTP;
    } else if (out) {
        *out = chsmc_response_json(&r);
        if (!*out)
            *out = cJSON_CreateObject();
    }
    chsmc_response_clear(&r);
    return rc;
}

int chsmc_hsm_cluster(chsmc_hsm *h, cJSON **out, chsmc_error *e)
{
    return chsmc_hsm_call(h, "GET", "/cluster", NULL, out, e);
}

static void forget_session(chsmc_hsm *h)
{
    free(h->session);
    h->session = NULL;
    h->user_type[0] = h->username[0] = '\0';
}

int chsmc_hsm_login(chsmc_hsm *h, const char *user_type, const char *username, const char *password,
                    chsmc_error *e)
{
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "userType", user_type ? user_type : "");
    cJSON_AddStringToObject(b, "username", username ? username : "");
    cJSON_AddStringToObject(b, "password", password ? password : "");
    forget_session(h);
    cJSON *out = NULL;
    int rc = chsmc_hsm_call(h, "POST", "/login", b, &out, e);
    cJSON_Delete(b);
    if (rc != CHSMC_OK)
        return rc;
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(out, "session"));
    if (!s || strlen(s) > 512) {
        cJSON_Delete(out);
        return chsmc_error_set(e, CHSMC_EHTTP, "InvalidLoginResponse",
                               "the HSM answered the login without a session");
    }
    h->session = strdup(s);
    const char *t = cJSON_GetStringValue(cJSON_GetObjectItem(out, "userType"));
    const char *u = cJSON_GetStringValue(cJSON_GetObjectItem(out, "username"));
    chsmc_copy(h->user_type, sizeof h->user_type, t ? t : user_type);
    chsmc_copy(h->username, sizeof h->username, u ? u : username);
    cJSON_Delete(out);
    return h->session ? CHSMC_OK : chsmc_error_set(e, CHSMC_ENOMEM, "OutOfMemory", "no memory");
}

int chsmc_hsm_logout(chsmc_hsm *h, chsmc_error *e)
{
    if (!h->session)
        return CHSMC_OK;
    int rc = chsmc_hsm_call(h, "POST", "/logout", NULL, NULL, e);
    if (rc == CHSMC_OK || rc == CHSMC_EHTTP)
        forget_session(h); /* a refused logout means the session is gone already */
    return rc;
}

int chsmc_hsm_activate(chsmc_hsm *h, const char *new_password, chsmc_error *e)
{
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "newPassword", new_password ? new_password : "");
    int rc = chsmc_hsm_call(h, "POST", "/activate", b, NULL, e);
    cJSON_Delete(b);
    if (rc == CHSMC_OK && chsmc_streq_ci(h->user_type, "PRECO"))
        chsmc_copy(h->user_type, sizeof h->user_type, "CO");
    return rc;
}

/* take_array detaches body[key] (an array) into *out. */
static int take_array(cJSON *body, const char *key, cJSON **out, chsmc_error *e)
{
    cJSON *a = cJSON_DetachItemFromObjectCaseSensitive(body, key);
    cJSON_Delete(body);
    if (!cJSON_IsArray(a)) {
        cJSON_Delete(a);
        return chsmc_error_set(e, CHSMC_EHTTP, "InvalidResponse",
                               "the HSM answered without a '%s' array", key);
    }
    *out = a;
    return CHSMC_OK;
}

int chsmc_hsm_list_users(chsmc_hsm *h, cJSON **users, chsmc_error *e)
{
    cJSON *out = NULL;
    *users = NULL;
    int rc = chsmc_hsm_call(h, "GET", "/users", NULL, &out, e);
    return rc != CHSMC_OK ? rc : take_array(out, "users", users, e);
}

int chsmc_hsm_create_user(chsmc_hsm *h, const char *user_type, const char *username,
                          const char *password, cJSON **user, chsmc_error *e)
{
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "userType", user_type ? user_type : "");
    cJSON_AddStringToObject(b, "username", username ? username : "");
    cJSON_AddStringToObject(b, "password", password ? password : "");
    int rc = chsmc_hsm_call(h, "POST", "/users", b, user, e);
    cJSON_Delete(b);
    return rc;
}

/* path_segment percent-encodes a user name for a path (names are [A-Za-z0-9_], but a bad one
 * must still reach the server as one segment so it can refuse it). */
static void path_segment(const char *s, char *out, size_t n)
{
    size_t o = 0;
    for (; s && *s && o + 4 < n; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '_' || c == '-' || c == '.')
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, n - o, "%%%02X", c);
    }
    out[o] = '\0';
}

int chsmc_hsm_change_password(chsmc_hsm *h, const char *user_type, const char *username,
                              const char *password, chsmc_error *e)
{
    char seg[200], path[256];
    path_segment(username, seg, sizeof seg);
    snprintf(path, sizeof path, "/users/%s/password", seg);
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "userType", user_type ? user_type : "");
    cJSON_AddStringToObject(b, "password", password ? password : "");
    int rc = chsmc_hsm_call(h, "PUT", path, b, NULL, e);
    cJSON_Delete(b);
    return rc;
}

int chsmc_hsm_delete_user(chsmc_hsm *h, const char *username, chsmc_error *e)
{
    char seg[200], path[256];
    path_segment(username, seg, sizeof seg);
    snprintf(path, sizeof path, "/users/%s", seg);
    return chsmc_hsm_call(h, "DELETE", path, NULL, NULL, e);
}

int chsmc_hsm_generate_key(chsmc_hsm *h, const cJSON *spec, cJSON **keys, chsmc_error *e)
{
    cJSON *out = NULL;
    *keys = NULL;
    int rc = chsmc_hsm_call(h, "POST", "/keys", spec, &out, e);
    return rc != CHSMC_OK ? rc : take_array(out, "keys", keys, e);
}

static void query_param(chsmc_buf *b, const char *name, const char *value)
{
    if (!value)
        return;
    chsmc_buf_printf(b, "%s%s=", b->len && strchr(b->data, '?') ? "&" : "?", name);
    for (const char *p = value; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~')
            chsmc_buf_append(b, p, 1);
        else
            chsmc_buf_printf(b, "%%%02X", c);
    }
}

int chsmc_hsm_find_keys(chsmc_hsm *h, const char *label, const char *key_class, const char *type,
                        const char *key_id, cJSON **keys, chsmc_error *e)
{
    chsmc_buf path = {0};
    chsmc_buf_printf(&path, "/keys");
    query_param(&path, "label", label);
    query_param(&path, "class", key_class);
    query_param(&path, "type", type);
    query_param(&path, "keyId", key_id);
    *keys = NULL;
    if (!path.data)
        return chsmc_error_set(e, CHSMC_ENOMEM, "OutOfMemory", "out of memory");
    cJSON *out = NULL;
    int rc = chsmc_hsm_call(h, "GET", path.data, NULL, &out, e);
    chsmc_buf_free(&path);
    return rc != CHSMC_OK ? rc : take_array(out, "keys", keys, e);
}

int chsmc_hsm_get_key(chsmc_hsm *h, long long handle, cJSON **key, chsmc_error *e)
{
    char path[64];
    snprintf(path, sizeof path, "/keys/%lld", handle);
    return chsmc_hsm_call(h, "GET", path, NULL, key, e);
}

int chsmc_hsm_delete_key(chsmc_hsm *h, long long handle, chsmc_error *e)
{
    char path[64];
    snprintf(path, sizeof path, "/keys/%lld", handle);
    return chsmc_hsm_call(h, "DELETE", path, NULL, NULL, e);
}

int chsmc_hsm_public_pem(chsmc_hsm *h, long long handle, char **pem, chsmc_error *e)
{
    char path[64];
    snprintf(path, sizeof path, "/keys/%lld/public", handle);
    cJSON *out = NULL;
    *pem = NULL;
    int rc = chsmc_hsm_call(h, "GET", path, NULL, &out, e);
    if (rc != CHSMC_OK)
        return rc;
    const char *p = cJSON_GetStringValue(cJSON_GetObjectItem(out, "pem"));
    if (p)
        *pem = strdup(p);
    cJSON_Delete(out);
    if (!*pem)
        return chsmc_error_set(e, CHSMC_EHTTP, "InvalidResponse",
                               "the HSM answered without a 'pem'");
    return CHSMC_OK;
}

int chsmc_hsm_share_key(chsmc_hsm *h, long long handle, const char *username, int share,
                        chsmc_error *e)
{
    char path[64];
    snprintf(path, sizeof path, "/keys/%lld/share", handle);
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "username", username ? username : "");
    cJSON_AddBoolToObject(b, "share", share);
    int rc = chsmc_hsm_call(h, "POST", path, b, NULL, e);
    cJSON_Delete(b);
    return rc;
}

static int add_b64(cJSON *obj, const char *key, const void *data, size_t len)
{
    char *s = chsmc_base64_encode(data, len);
    if (!s)
        return CHSMC_ENOMEM;
    cJSON_AddStringToObject(obj, key, s);
    free(s);
    return CHSMC_OK;
}

static void add_opt_b64(cJSON *obj, const char *key, const chsmc_bytes *b)
{
    if (b && b->data)
        add_b64(obj, key, b->data, b->len);
}

/* get_b64 decodes obj[key] into out; absent is fine unless required. */
static int get_b64(const cJSON *obj, const char *key, int required, chsmc_bytes *out,
                   chsmc_error *e)
{
    memset(out, 0, sizeof *out);
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(obj, key));
    if (!s)
        return required ? chsmc_error_set(e, CHSMC_EHTTP, "InvalidResponse",
                                          "the HSM answered without '%s'", key)
                        : CHSMC_OK;
    out->data = chsmc_base64_decode(s, &out->len);
    if (!out->data)
        return chsmc_error_set(e, CHSMC_EHTTP, "InvalidResponse", "the HSM's '%s' is not base64",
                               key);
    return CHSMC_OK;
}

void chsmc_bytes_free(chsmc_bytes *b)
{
    if (!b)
        return;
    free(b->data);
    b->data = NULL;
    b->len = 0;
}

static int key_op(chsmc_hsm *h, long long handle, const char *op, cJSON *body, cJSON **out,
                  chsmc_error *e)
{
    char path[80];
    snprintf(path, sizeof path, "/keys/%lld/%s", handle, op);
    int rc = chsmc_hsm_call(h, "POST", path, body, out, e);
    cJSON_Delete(body);
    return rc;
}

static int sign_common(chsmc_hsm *h, long long handle, const char *mechanism, int prehashed,
                       const void *data, size_t len, unsigned char **sig, size_t *siglen,
                       chsmc_error *e)
{
    *sig = NULL;
    *siglen = 0;
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "mechanism", mechanism ? mechanism : "");
    add_b64(b, "data", data, len);
    if (prehashed)
        cJSON_AddTrueToObject(b, "prehashed");
    cJSON *out = NULL;
    int rc = key_op(h, handle, "sign", b, &out, e);
    if (rc != CHSMC_OK)
        return rc;
    chsmc_bytes s;
    rc = get_b64(out, "signature", 1, &s, e);
    cJSON_Delete(out);
    if (rc == CHSMC_OK) {
        *sig = s.data;
        *siglen = s.len;
    }
    return rc;
}

int chsmc_hsm_sign(chsmc_hsm *h, long long handle, const char *mechanism, const void *data,
                   size_t len, unsigned char **sig, size_t *siglen, chsmc_error *e)
{
    return sign_common(h, handle, mechanism, 0, data, len, sig, siglen, e);
}

int chsmc_hsm_sign_prehashed(chsmc_hsm *h, long long handle, const char *mechanism,
                             const void *data, size_t len, unsigned char **sig, size_t *siglen,
                             chsmc_error *e)
{
    return sign_common(h, handle, mechanism, 1, data, len, sig, siglen, e);
}

static int verify_common(chsmc_hsm *h, long long handle, const char *mechanism, int prehashed,
                         const void *data, size_t len, const void *sig, size_t siglen, int *valid,
                         chsmc_error *e)
{
    *valid = 0;
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "mechanism", mechanism ? mechanism : "");
    add_b64(b, "data", data, len);
    add_b64(b, "signature", sig, siglen);
    if (prehashed)
        cJSON_AddTrueToObject(b, "prehashed");
    cJSON *out = NULL;
    int rc = key_op(h, handle, "verify", b, &out, e);
    if (rc != CHSMC_OK)
        return rc;
    const cJSON *v = cJSON_GetObjectItem(out, "valid");
    if (!cJSON_IsBool(v)) {
        cJSON_Delete(out);
        return chsmc_error_set(e, CHSMC_EHTTP, "InvalidResponse",
                               "the HSM answered verify without 'valid'");
    }
    *valid = cJSON_IsTrue(v);
    cJSON_Delete(out);
    return CHSMC_OK;
}

int chsmc_hsm_verify(chsmc_hsm *h, long long handle, const char *mechanism, const void *data,
                     size_t len, const void *sig, size_t siglen, int *valid, chsmc_error *e)
{
    return verify_common(h, handle, mechanism, 0, data, len, sig, siglen, valid, e);
}

int chsmc_hsm_verify_prehashed(chsmc_hsm *h, long long handle, const char *mechanism,
                               const void *data, size_t len, const void *sig, size_t siglen,
                               int *valid, chsmc_error *e)
{
    return verify_common(h, handle, mechanism, 1, data, len, sig, siglen, valid, e);
}

int chsmc_hsm_patch_key(chsmc_hsm *h, long long handle, const cJSON *body, cJSON **key,
                        chsmc_error *e)
{
    char path[64];
    snprintf(path, sizeof path, "/keys/%lld", handle);
    return chsmc_hsm_call(h, "PATCH", path, body, key, e);
}

int chsmc_hsm_encrypt(chsmc_hsm *h, long long handle, const char *mechanism,
                      const chsmc_bytes *plain, const chsmc_bytes *iv, const chsmc_bytes *aad,
                      chsmc_bytes *ciphertext, chsmc_bytes *iv_out, chsmc_bytes *tag_out,
                      chsmc_error *e)
{
    memset(ciphertext, 0, sizeof *ciphertext);
    memset(iv_out, 0, sizeof *iv_out);
    memset(tag_out, 0, sizeof *tag_out);
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "mechanism", mechanism ? mechanism : "");
    add_b64(b, "data", plain->data ? plain->data : (unsigned char *)"", plain->len);
    add_opt_b64(b, "iv", iv);
    add_opt_b64(b, "aad", aad);
    cJSON *out = NULL;
    int rc = key_op(h, handle, "encrypt", b, &out, e);
    if (rc != CHSMC_OK)
        return rc;
    rc = get_b64(out, "ciphertext", 1, ciphertext, e);
    if (rc == CHSMC_OK)
        rc = get_b64(out, "iv", 0, iv_out, e);
    if (rc == CHSMC_OK)
        rc = get_b64(out, "tag", 0, tag_out, e);
    cJSON_Delete(out);
    if (rc != CHSMC_OK) {
        chsmc_bytes_free(ciphertext);
        chsmc_bytes_free(iv_out);
        chsmc_bytes_free(tag_out);
    }
    return rc;
}

int chsmc_hsm_decrypt(chsmc_hsm *h, long long handle, const char *mechanism,
                      const chsmc_bytes *ciphertext, const chsmc_bytes *iv, const chsmc_bytes *aad,
                      const chsmc_bytes *tag, chsmc_bytes *plain, chsmc_error *e)
{
    memset(plain, 0, sizeof *plain);
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "mechanism", mechanism ? mechanism : "");
    add_b64(b, "ciphertext", ciphertext->data ? ciphertext->data : (unsigned char *)"",
            ciphertext->len);
    add_opt_b64(b, "iv", iv);
    add_opt_b64(b, "aad", aad);
    add_opt_b64(b, "tag", tag);
    cJSON *out = NULL;
    int rc = key_op(h, handle, "decrypt", b, &out, e);
    if (rc != CHSMC_OK)
        return rc;
    rc = get_b64(out, "data", 1, plain, e);
    cJSON_Delete(out);
    return rc;
}

int chsmc_hsm_wrap(chsmc_hsm *h, long long wrapping_handle, const char *mechanism,
                   long long key_handle, chsmc_bytes *wrapped, chsmc_error *e)
{
    memset(wrapped, 0, sizeof *wrapped);
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "mechanism", mechanism ? mechanism : "");
    cJSON_AddNumberToObject(b, "keyHandle", (double)key_handle);
    cJSON *out = NULL;
    int rc = key_op(h, wrapping_handle, "wrap", b, &out, e);
    if (rc != CHSMC_OK)
        return rc;
    rc = get_b64(out, "wrapped", 1, wrapped, e);
    cJSON_Delete(out);
    return rc;
}

int chsmc_hsm_unwrap(chsmc_hsm *h, long long wrapping_handle, const char *mechanism,
                     const chsmc_bytes *wrapped, const char *type, const char *label,
                     const char *key_id, const cJSON *attributes, cJSON **keys, chsmc_error *e)
{
    *keys = NULL;
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "mechanism", mechanism ? mechanism : "");
    add_b64(b, "wrapped", wrapped->data ? wrapped->data : (unsigned char *)"", wrapped->len);
    cJSON_AddStringToObject(b, "type", type ? type : "");
    cJSON_AddStringToObject(b, "label", label ? label : "");
    if (key_id)
        cJSON_AddStringToObject(b, "keyId", key_id);
    if (attributes)
        cJSON_AddItemToObject(b, "attributes", cJSON_Duplicate(attributes, 1));
    cJSON *out = NULL;
    int rc = key_op(h, wrapping_handle, "unwrap", b, &out, e);
    return rc != CHSMC_OK ? rc : take_array(out, "keys", keys, e);
}

int chsmc_hsm_random(chsmc_hsm *h, size_t n, chsmc_bytes *out, chsmc_error *e)
{
    char path[64];
    snprintf(path, sizeof path, "/random?bytes=%zu", n);
    cJSON *body = NULL;
    memset(out, 0, sizeof *out);
    int rc = chsmc_hsm_call(h, "GET", path, NULL, &body, e);
    if (rc != CHSMC_OK)
        return rc;
    rc = get_b64(body, "data", 1, out, e);
    cJSON_Delete(body);
    return rc;
}

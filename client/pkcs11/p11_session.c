/* p11_session.c - slots, sessions, login state and the object handle table. */
#include "p11_state.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int p11_bytes_append(p11_bytes *b, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n)
            cap *= 2;
        unsigned char *d = malloc(cap);
        if (!d)
            return -1;
        if (b->data) {
            memcpy(d, b->data, b->len);
            OPENSSL_cleanse(b->data, b->cap);
            free(b->data);
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

void p11_bytes_free(p11_bytes *b)
{
    if (b->data) {
        OPENSSL_cleanse(b->data, b->cap);
        free(b->data);
    }
    memset(b, 0, sizeof *b);
}

p11_slot *p11_state_slot(p11_state *st, CK_SLOT_ID id)
{
    for (size_t i = 0; i < st->nslots; i++)
        if (st->slots[i].id == id)
            return &st->slots[i];
    return NULL;
}

CK_RV p11_state_add_slot(p11_state *st, const char *fqdn, const char *label)
{
    p11_slot *s = realloc(st->slots, (st->nslots + 1) * sizeof *s);
    if (!s)
        return CKR_HOST_MEMORY;
    st->slots = s;
    p11_slot *n = &s[st->nslots];
    memset(n, 0, sizeof *n);
    n->id = (CK_SLOT_ID)(st->nslots + 1);
    strncpy(n->fqdn, fqdn, sizeof n->fqdn - 1);
    strncpy(n->label, label, sizeof n->label - 1);
    n->login = P11_NOBODY;
    st->nslots++;
    return CKR_OK;
}

static void wipe_pin(p11_slot *s)
{
    if (s->pin) {
        OPENSSL_cleanse(s->pin, strlen(s->pin));
        free(s->pin);
        s->pin = NULL;
    }
}

void p11_slot_forget_login(p11_slot *s)
{
    wipe_pin(s);
    s->login = P11_NOBODY;
}

CK_RV p11_slot_remember_login(p11_slot *s, CK_USER_TYPE user_type, const char *user,
                              const char *password)
{
    wipe_pin(s);
    size_t n = strlen(user) + strlen(password) + 2;
    s->pin = malloc(n);
    if (!s->pin)
        return CKR_HOST_MEMORY;
    snprintf(s->pin, n, "%s:%s", user, password);
    s->login = user_type;
    return CKR_OK;
}

void p11_op_reset(p11_op *op)
{
    p11_bytes_free(&op->param);
    p11_bytes_free(&op->aux);
    p11_bytes_free(&op->data);
    p11_bytes_free(&op->result);
    EVP_MD_CTX_free(op->md);
    free(op->found);
    memset(op, 0, sizeof *op);
}

static void session_free(p11_session *s)
{
    for (int k = 0; k < P11_OP_COUNT; k++)
        p11_op_reset(&s->op[k]);
    free(s);
}

static void object_free(p11_object *o)
{
    cJSON_Delete(o->key);
    p11_bytes_free(&o->spki);
    free(o);
}

void p11_state_clear(p11_state *st)
{
    for (size_t i = 0; i < st->nsessions; i++)
        session_free(st->sessions[i]);
    for (size_t i = 0; i < st->nobjects; i++)
        object_free(st->objects[i]);
    for (size_t i = 0; i < st->nslots; i++)
        wipe_pin(&st->slots[i]);
    free(st->sessions);
    free(st->objects);
    free(st->slots);
    memset(st, 0, sizeof *st);
}

CK_RV p11_session_open(p11_state *st, size_t si, CK_FLAGS flags, CK_SESSION_HANDLE *out)
{
    if (!(flags & CKF_SERIAL_SESSION))
        return CKR_SESSION_PARALLEL_NOT_SUPPORTED;
    if (si >= st->nslots)
        return CKR_SLOT_ID_INVALID;
    if (!(flags & CKF_RW_SESSION) && st->slots[si].login == CKU_SO)
        return CKR_SESSION_READ_WRITE_SO_EXISTS;
    p11_session **arr = realloc(st->sessions, (st->nsessions + 1) * sizeof *arr);
    if (!arr)
        return CKR_HOST_MEMORY;
    st->sessions = arr;
    p11_session *s = calloc(1, sizeof *s);
    if (!s)
        return CKR_HOST_MEMORY;
    s->handle = ++st->next_session;
    s->slot = si;
    s->flags = flags & (CKF_SERIAL_SESSION | CKF_RW_SESSION);
    st->sessions[st->nsessions++] = s;
    *out = s->handle;
    return CKR_OK;
}

p11_session *p11_session_get(p11_state *st, CK_SESSION_HANDLE h)
{
    for (size_t i = 0; i < st->nsessions; i++)
        if (st->sessions[i]->handle == h)
            return st->sessions[i];
    return NULL;
}

CK_RV p11_session_close(p11_state *st, CK_SESSION_HANDLE h)
{
    for (size_t i = 0; i < st->nsessions; i++) {
        if (st->sessions[i]->handle != h)
            continue;
        session_free(st->sessions[i]);
        memmove(&st->sessions[i], &st->sessions[i + 1],
                (st->nsessions - i - 1) * sizeof st->sessions[0]);
        st->nsessions--;
        return CKR_OK;
    }
    return CKR_SESSION_HANDLE_INVALID;
}

size_t p11_session_count(const p11_state *st, size_t si, size_t *rw)
{
    size_t n = 0, w = 0;
    for (size_t i = 0; i < st->nsessions; i++) {
        if (st->sessions[i]->slot != si)
            continue;
        n++;
        if (st->sessions[i]->flags & CKF_RW_SESSION)
            w++;
    }
    if (rw)
        *rw = w;
    return n;
}

CK_STATE p11_session_state(const p11_state *st, const p11_session *s)
{
    CK_USER_TYPE who = st->slots[s->slot].login;
    int rw = (s->flags & CKF_RW_SESSION) != 0;
    if (who == CKU_SO)
        return CKS_RW_SO_FUNCTIONS;
    if (who == CKU_USER)
        return rw ? CKS_RW_USER_FUNCTIONS : CKS_RO_USER_FUNCTIONS;
    return rw ? CKS_RW_PUBLIC_SESSION : CKS_RO_PUBLIC_SESSION;
}

CK_RV p11_login_check(const p11_state *st, size_t si, CK_USER_TYPE user_type)
{
    if (user_type == CKU_CONTEXT_SPECIFIC)
        return CKR_OPERATION_NOT_INITIALIZED; /* no key needs re-authentication */
    if (user_type != CKU_USER && user_type != CKU_SO)
        return CKR_USER_TYPE_INVALID;
    CK_USER_TYPE who = st->slots[si].login;
    if (who == user_type)
        return CKR_USER_ALREADY_LOGGED_IN;
    if (who != P11_NOBODY)
        return CKR_USER_ANOTHER_ALREADY_LOGGED_IN;
    size_t rw = 0, n = p11_session_count(st, si, &rw);
    if (user_type == CKU_SO && n > rw)
        return CKR_SESSION_READ_ONLY_EXISTS;
    return CKR_OK;
}

CK_RV p11_pin_split(const CK_UTF8CHAR *pin, CK_ULONG len, char user[64], char password[136])
{
    if (!pin || len == 0)
        return CKR_PIN_INCORRECT;
    if (len > 200)
        return CKR_PIN_LEN_RANGE;
    const unsigned char *colon = memchr(pin, ':', len);
    if (!colon)
        return CKR_PIN_INCORRECT;
    size_t ulen = (size_t)(colon - pin), plen = len - ulen - 1;
    if (ulen == 0 || ulen >= 64 || plen == 0 || plen >= 136 || memchr(pin, '\0', len))
        return CKR_PIN_INCORRECT;
    memcpy(user, pin, ulen);
    user[ulen] = '\0';
    memcpy(password, colon + 1, plen);
    password[plen] = '\0';
    return CKR_OK;
}

CK_RV p11_op_finish(p11_op *op, CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
    size_t n = op->result.len;
    if (!out) {
        *outlen = (CK_ULONG)n;
        return CKR_OK;
    }
    if (*outlen < n) {
        *outlen = (CK_ULONG)n;
        return CKR_BUFFER_TOO_SMALL;
    }
    if (n)
        memcpy(out, op->result.data, n);
    *outlen = (CK_ULONG)n;
    p11_op_reset(op);
    return CKR_OK;
}

static long long key_handle_of(const cJSON *key)
{
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(key, "handle");
    return cJSON_IsNumber(h) ? (long long)h->valuedouble : 0;
}

CK_OBJECT_HANDLE p11_object_add(p11_state *st, size_t si, cJSON *key)
{
    long long hh = key_handle_of(key);
    for (size_t i = 0; i < st->nobjects; i++) {
        p11_object *o = st->objects[i];
        if (o->slot == si && o->hsm_handle == hh) {
            cJSON_Delete(o->key);
            o->key = key;
            return o->handle;
        }
    }
    p11_object **arr = realloc(st->objects, (st->nobjects + 1) * sizeof *arr);
    p11_object *o = arr ? calloc(1, sizeof *o) : NULL;
    if (arr)
        st->objects = arr;
    if (!o) {
        cJSON_Delete(key);
        return 0;
    }
    o->handle = ++st->next_object;
    o->slot = si;
    o->hsm_handle = hh;
    o->key = key;
    st->objects[st->nobjects++] = o;
    return o->handle;
}

p11_object *p11_object_get(p11_state *st, CK_OBJECT_HANDLE h)
{
    for (size_t i = 0; i < st->nobjects; i++)
        if (st->objects[i]->handle == h)
            return st->objects[i];
    return NULL;
}

void p11_object_remove(p11_state *st, CK_OBJECT_HANDLE h)
{
    for (size_t i = 0; i < st->nobjects; i++) {
        if (st->objects[i]->handle != h)
            continue;
        object_free(st->objects[i]);
        memmove(&st->objects[i], &st->objects[i + 1],
                (st->nobjects - i - 1) * sizeof st->objects[0]);
        st->nobjects--;
        return;
    }
}

void p11_object_forget_slot(p11_state *st, size_t si)
{
    size_t w = 0;
    for (size_t i = 0; i < st->nobjects; i++) {
        if (st->objects[i]->slot == si)
            object_free(st->objects[i]);
        else
            st->objects[w++] = st->objects[i];
    }
    st->nobjects = w;
}

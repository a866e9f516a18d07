/* model.c - HSM lifecycle, sealing of key material, snapshots for backups. */
#include "hsm/model.h"

#include "app/app.h"
#include "crypto/digest.h"
#include "crypto/keys.h"
#include "crypto/password.h"
#include "crypto/seal.h"
#include "util/json.h"
#include "util/status.h"
#include "util/text.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEAL_INFO "chsm hsm key material v1"
#define SEAL_OVERHEAD CHSM_HSM_SEAL_OVERHEAD

void chsm_hsm_label(const char *resource_id, const char *name, char *out, size_t outlen)
{
    char *low = chsm_lower_dup(resource_id ? resource_id : "");
    unsigned char h[32];
    chsm_crypto_sha256(low ? low : "", low ? strlen(low) : 0, h);
    free(low);
    char hex[17];
    chsm_crypto_hex(h, 8, hex);
    char lname[32];
    size_t i = 0;
    for (; name && name[i] && i < sizeof lname - 1; i++)
        lname[i] = (char)tolower((unsigned char)name[i]);
    lname[i] = '\0';
    snprintf(out, outlen, "%s-%s", lname, hex);
}

void chsm_hsm_node_fqdn(const char *label, int node, char *out, size_t outlen)
{
    snprintf(out, outlen, "hsm%d.%s.cloudhsm.localhost", node, label);
}

int chsm_hsm_cluster_create(struct chsm_app *app, const char *resource_id, const char *name,
                            const char *provision_op, const char *system_principal)
{
    chsm_hsm_cluster c;
    memset(&c, 0, sizeof c);
    if (strlen(resource_id) >= sizeof c.resource_id || strlen(name) >= sizeof c.name)
        return CHSM_EINVAL;
    int rc = chsm_hsm_repo_cluster_delete(app->store, resource_id);
    if (rc != CHSM_OK && rc != CHSM_ENOTFOUND)
        return rc;
    snprintf(c.resource_id, sizeof c.resource_id, "%s", resource_id);
    snprintf(c.name, sizeof c.name, "%s", name);
    chsm_hsm_label(resource_id, name, c.label, sizeof c.label);
    snprintf(c.activation, sizeof c.activation, "%s", CHSM_HSM_NOT_ACTIVATED);
    snprintf(c.provision_op, sizeof c.provision_op, "%s", provision_op ? provision_op : "");
    snprintf(c.system_principal, sizeof c.system_principal, "%s",
             system_principal ? system_principal : "");
    c.next_handle = CHSM_HSM_FIRST_HANDLE;
    c.next_user_id = 2;
    c.created_ms = chsm_now_ms();
    rc = chsm_crypto_random(c.salt, sizeof c.salt);
    if (rc == CHSM_OK)
        rc = chsm_hsm_repo_cluster_insert(app->store, &c);
    if (rc != CHSM_OK)
        return rc;
    chsm_hsm_user u;
    memset(&u, 0, sizeof u);
    u.user_id = 1;
    snprintf(u.user_type, sizeof u.user_type, "PRECO");
    snprintf(u.username, sizeof u.username, "%s", CHSM_HSM_PRECO_USER);
    rc = chsm_crypto_password_hash_well_known(CHSM_HSM_PRECO_PASSWORD, u.password_hash,
                                              sizeof u.password_hash);
    if (rc == CHSM_OK)
        rc = chsm_hsm_repo_user_put(app->store, resource_id, &u);
    return rc;
}

int chsm_hsm_cluster_destroy(struct chsm_app *app, const char *resource_id)
{
    int rc = chsm_hsm_repo_cluster_delete(app->store, resource_id);
    return rc == CHSM_ENOTFOUND ? CHSM_OK : rc;
}

int chsm_hsm_set_activation(struct chsm_app *app, const char *resource_id, const char *state)
{
    chsm_hsm_cluster c;
    int rc = chsm_hsm_repo_cluster_get(app->store, resource_id, &c);
    if (rc != CHSM_OK)
        return rc;
    snprintf(c.activation, sizeof c.activation, "%s", state);
    if (strcmp(state, CHSM_HSM_ACTIVE) == 0 && !c.activated_ms)
        c.activated_ms = chsm_now_ms();
    rc = chsm_hsm_repo_cluster_update(app->store, &c);
    /* A nonfunctional HSM keeps no sessions; its users and keys stay, unusable. */
    if (rc == CHSM_OK && strcmp(state, CHSM_HSM_FAILED) == 0)
        rc = chsm_hsm_repo_sessions_delete_all(app->store, resource_id);
    return rc;
}

/* A cluster's sealing context: the derived key keyed into a reusable AES-GCM context (HKDF and
 * the key schedule are most of the cost of sealing one small key), the additional data's
 * fixed prefix "chsm-key|<lowercased resource id>|", and a pool of random ivs. */
struct chsm_hsm_sealer {
    chsm_crypto_gcm *gcm;
    char aad[640];
    size_t prefix_len;
    unsigned char ivs[12 * 64];
    size_t iv_next; /* bytes of ivs handed out; sizeof ivs: refill */
};

int chsm_hsm_sealer_new(struct chsm_app *app, const chsm_hsm_cluster *c, chsm_hsm_sealer **out)
{
    *out = NULL;
    size_t n = strlen(c->resource_id);
    if (n + sizeof "chsm-key||" + 21 > sizeof((chsm_hsm_sealer *)0)->aad)
        return CHSM_EINVAL;
    chsm_hsm_sealer *s = calloc(1, sizeof *s);
    if (!s)
        return CHSM_ENOMEM;
    memcpy(s->aad, "chsm-key|", 9);
    for (size_t i = 0; i < n; i++)
        s->aad[9 + i] = (char)tolower((unsigned char)c->resource_id[i]);
    s->aad[9 + n] = '|';
    s->prefix_len = 10 + n;
    s->iv_next = sizeof s->ivs;
    unsigned char key[32];
    int rc = chsm_crypto_hkdf_sha256(app->fleet_secret, sizeof app->fleet_secret, c->salt,
                                     sizeof c->salt, SEAL_INFO, sizeof SEAL_INFO - 1, key, 32);
    if (rc == CHSM_OK)
        rc = chsm_crypto_gcm_new(key, &s->gcm);
    chsm_crypto_key_wipe(key, sizeof key);
    if (rc != CHSM_OK) {
        chsm_hsm_sealer_free(s);
        return rc;
    }
    *out = s;
    return CHSM_OK;
}

void chsm_hsm_sealer_free(chsm_hsm_sealer *s)
{
    if (!s)
        return;
    chsm_crypto_gcm_free(s->gcm);
    free(s);
}

/* sealer_aad completes the additional data with the handle in decimal (as "%lld" would);
 * returns its length. */
static size_t sealer_aad(chsm_hsm_sealer *s, int64_t handle)
{
    char digits[24];
    size_t nd = 0;
    uint64_t v = handle < 0 ? (uint64_t)0 - (uint64_t)handle : (uint64_t)handle;
    do {
        digits[nd++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    size_t n = s->prefix_len;
    if (handle < 0)
        s->aad[n++] = '-';
    while (nd)
        s->aad[n++] = digits[--nd];
    return n;
}

int chsm_hsm_sealer_seal(chsm_hsm_sealer *s, int64_t handle, const void *plain, size_t n,
                         unsigned char *out)
{
    if (!plain || n == 0 || n > CHSM_CRYPTO_KEY_MAX_DER)
        return CHSM_EINVAL;
    if (s->iv_next + 12 > sizeof s->ivs) {
        int rc = chsm_crypto_random(s->ivs, sizeof s->ivs);
        if (rc != CHSM_OK)
            return rc;
        s->iv_next = 0;
    }
    memcpy(out, s->ivs + s->iv_next, 12); /* each iv is used once */
    s->iv_next += 12;
    size_t aadlen = sealer_aad(s, handle);
    return chsm_crypto_gcm_seal(s->gcm, out, s->aad, aadlen, plain, n, out + SEAL_OVERHEAD,
                                out + 12);
}

int chsm_hsm_sealer_open(chsm_hsm_sealer *s, int64_t handle, const unsigned char *sealed,
                         size_t len, unsigned char *plain_out)
{
    if (!sealed || len <= SEAL_OVERHEAD || len > CHSM_CRYPTO_KEY_MAX_DER + SEAL_OVERHEAD)
        return CHSM_EINVAL;
    size_t aadlen = sealer_aad(s, handle);
    return chsm_crypto_gcm_open(s->gcm, sealed, s->aad, aadlen, sealed + SEAL_OVERHEAD,
                                len - SEAL_OVERHEAD, sealed + 12, plain_out);
}

/* seal_with seals into a new buffer (caller frees *sealed). */
static int seal_with(chsm_hsm_sealer *s, int64_t handle, const void *plain, size_t n,
                     unsigned char **sealed, size_t *len)
{
    if (!plain || n == 0 || n > CHSM_CRYPTO_KEY_MAX_DER)
        return CHSM_EINVAL;
    unsigned char *out = malloc(n + SEAL_OVERHEAD);
    if (!out)
        return CHSM_ENOMEM;
    int rc = chsm_hsm_sealer_seal(s, handle, plain, n, out);
    if (rc != CHSM_OK) {
        free(out);
        return rc;
    }
    *sealed = out;
    *len = n + SEAL_OVERHEAD;
    return CHSM_OK;
}

/* unseal_with opens into a new buffer (caller frees with chsm_crypto_key_free). */
static int unseal_with(chsm_hsm_sealer *s, int64_t handle, const unsigned char *sealed, size_t len,
                       unsigned char **plain, size_t *n)
{
    if (!sealed || len <= SEAL_OVERHEAD || len > CHSM_CRYPTO_KEY_MAX_DER + SEAL_OVERHEAD)
        return CHSM_EINVAL;
    size_t m = len - SEAL_OVERHEAD;
    unsigned char *out = malloc(m);
    if (!out)
        return CHSM_ENOMEM;
    int rc = chsm_hsm_sealer_open(s, handle, sealed, len, out);
    if (rc != CHSM_OK) {
        chsm_crypto_key_free(out, m);
        return rc;
    }
    *plain = out;
    *n = m;
    return CHSM_OK;
}

int chsm_hsm_seal(struct chsm_app *app, const chsm_hsm_cluster *c, int64_t handle,
                  const void *plain, size_t n, unsigned char **sealed, size_t *len)
{
    chsm_hsm_sealer *s;
    int rc = chsm_hsm_sealer_new(app, c, &s);
    if (rc == CHSM_OK)
        rc = seal_with(s, handle, plain, n, sealed, len);
    chsm_hsm_sealer_free(s);
    return rc;
}

int chsm_hsm_unseal(struct chsm_app *app, const chsm_hsm_cluster *c, int64_t handle,
                    const unsigned char *sealed, size_t len, unsigned char **plain, size_t *n)
{
    chsm_hsm_sealer *s;
    int rc = chsm_hsm_sealer_new(app, c, &s);
    if (rc == CHSM_OK)
        rc = unseal_with(s, handle, sealed, len, plain, n);
    chsm_hsm_sealer_free(s);
    return rc;
}

/* ---- snapshots ---- */

cJSON *chsm_hsm_snapshot_head(int format, const chsm_hsm_cluster *c, const chsm_hsm_user *users,
                              size_t nusers)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddNumberToObject(root, "format", format);
    cJSON *cl = cJSON_AddObjectToObject(root, "cluster");
    cJSON_AddStringToObject(cl, "resourceId", c->resource_id);
    cJSON_AddStringToObject(cl, "name", c->name);
    cJSON_AddStringToObject(cl, "label", c->label);
    cJSON_AddStringToObject(cl, "activationState", c->activation);
    cJSON_AddNumberToObject(cl, "createdMs", (double)c->created_ms);
    cJSON_AddNumberToObject(cl, "activatedMs", (double)c->activated_ms);
    cJSON *ju = cJSON_AddArrayToObject(root, "users");
    int ok = cl && ju;
    for (size_t i = 0; ok && i < nusers; i++) {
        cJSON *u = cJSON_CreateObject();
        cJSON_AddNumberToObject(u, "userId", users[i].user_id);
        cJSON_AddStringToObject(u, "userType", users[i].user_type);
        cJSON_AddStringToObject(u, "username", users[i].username);
        cJSON_AddStringToObject(u, "passwordHash", users[i].password_hash);
        cJSON_AddNumberToObject(u, "loginFailureCount", users[i].login_failures);
        cJSON_AddBoolToObject(u, "locked", users[i].locked);
        if (!cJSON_AddItemToArray(ju, u)) { /* out of memory: counted by util/oom.h */
            cJSON_Delete(u);
            ok = 0;
        }
    }
    if (!ok) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

int chsm_hsm_export(struct chsm_app *app, const char *resource_id, cJSON **snapshot)
{
    *snapshot = NULL;
    chsm_hsm_cluster c;
    int rc = chsm_hsm_repo_cluster_get(app->store, resource_id, &c);
    if (rc != CHSM_OK)
        return rc;
    chsm_hsm_user *users = NULL;
    size_t nusers = 0;
    chsm_hsm_key *keys = NULL;
    size_t nkeys = 0;
    rc = chsm_hsm_repo_users_list(app->store, resource_id, &users, &nusers);
    if (rc == CHSM_OK)
        rc = chsm_hsm_repo_keys_list(app->store, resource_id, 1, &keys, &nkeys);
    if (rc != CHSM_OK) {
        free(users);
        return rc;
    }
    cJSON *root = chsm_hsm_snapshot_head(CHSM_HSM_SNAPSHOT_FORMAT, &c, users, nusers);
    if (!root)
        rc = CHSM_ENOMEM;
    cJSON *jk = cJSON_AddArrayToObject(root, "keys");
    cJSON *ra = cJSON_AddArrayToObject(root, "roleAssignments");
    chsm_hsm_sealer *sl = NULL;
    if (rc == CHSM_OK)
        rc = chsm_hsm_sealer_new(app, &c, &sl);
    for (size_t i = 0; rc == CHSM_OK && i < nkeys; i++) {
        unsigned char *plain = NULL;
        size_t n = 0;
        rc = unseal_with(sl, keys[i].handle, keys[i].sealed, keys[i].sealed_len, &plain, &n);
        if (rc != CHSM_OK)
            break;
        char *b64 = chsm_crypto_base64_encode(plain, n);
        chsm_crypto_key_free(plain, n);
        if (!b64) {
            rc = CHSM_ENOMEM;
            break;
        }
        /* The listed key's document moves into the snapshot (no copy). Ownership
         * and sharing travel as role assignments, not as key fields. */
        cJSON *k = keys[i].meta ? keys[i].meta : cJSON_CreateObject();
        keys[i].meta = NULL;
        cJSON_DeleteItemFromObject(k, "owner");
        cJSON *shared_list = cJSON_DetachItemFromObject(k, "sharedWith");
        cJSON_AddNumberToObject(k, "handle", (double)keys[i].handle);
        cJSON_AddStringToObject(k, "material", b64);
        chsm_crypto_key_wipe(b64, strlen(b64));
        free(b64);
        if (!cJSON_AddItemToArray(jk, k)) {
            cJSON_Delete(k);
            rc = CHSM_ENOMEM;
        }
        cJSON *owner = cJSON_CreateObject();
        cJSON_AddNumberToObject(owner, "handle", (double)keys[i].handle);
        cJSON_AddStringToObject(owner, "username", keys[i].owner);
        cJSON_AddStringToObject(owner, "role", "Owner");
        if (!cJSON_AddItemToArray(ra, owner)) {
            cJSON_Delete(owner);
            rc = CHSM_ENOMEM;
        }
        const cJSON *s;
        cJSON_ArrayForEach(s, shared_list)
        {
            if (!cJSON_IsString(s))
                continue;
            cJSON *a = cJSON_CreateObject();
            cJSON_AddNumberToObject(a, "handle", (double)keys[i].handle);
            cJSON_AddStringToObject(a, "username", s->valuestring);
            cJSON_AddStringToObject(a, "role", "User");
            if (!cJSON_AddItemToArray(ra, a)) {
                cJSON_Delete(a);
                rc = CHSM_ENOMEM;
            }
        }
        cJSON_Delete(shared_list);
    }
    chsm_hsm_sealer_free(sl);
    free(users);
    chsm_hsm_keys_free(keys, nkeys);
    if (rc != CHSM_OK) {
        cJSON_Delete(root);
        return rc;
    }
    *snapshot = root;
    return CHSM_OK;
}

static int bad(char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "the backup content is invalid: %s", what);
    return CHSM_EINVAL;
}

static int valid_user_type(const char *t)
{
    return t && (strcmp(t, "PRECO") == 0 || strcmp(t, "CO") == 0 || strcmp(t, "CU") == 0 ||
                 strcmp(t, "AU") == 0);
}

int chsm_hsm_material_fits(const char *klass, const char *type, const unsigned char *m, size_t n)
{
    if (!klass || !type)
        return 0;
    if (strcmp(klass, "secret") == 0)
        return strcmp(type, "AES") == 0 && (n == 16 || n == 24 || n == 32);
    chsm_key_desc d;
    if (chsm_crypto_key_describe(m, n, &d) != CHSM_OK || strcmp(d.type, type) != 0)
        return 0;
    return strcmp(klass, "private") == 0 ? d.is_private
                                         : strcmp(klass, "public") == 0 && !d.is_private;
}

/* check_material makes sure decoded material fits what the key says it is. */
static int check_material(const cJSON *meta, const unsigned char *m, size_t n)
{
    return chsm_hsm_material_fits(chsm_json_str(meta, "class"), chsm_json_str(meta, "type"), m, n);
}

/* find_user_in returns the snapshot user named name (any case), or NULL. */
static const cJSON *find_user_in(const cJSON *users, const char *name)
{
    const cJSON *u;
    cJSON_ArrayForEach(u, users)
    {
        if (chsm_streq_ci(chsm_json_str(u, "username"), name))
            return u;
    }
    return NULL;
}

/* A snapshot's role assignments sorted by key handle (then by position, so a key's shares
 * keep their order): each key finds its own in O(log n) instead of scanning them all, which
 * made restore quadratic in keys. */
typedef struct ra_ref {
    double handle;
    int pos;
    const cJSON *a;
} ra_ref;

static int ra_cmp(const void *x, const void *y)
{
    const ra_ref *a = x, *b = y;
    if (a->handle != b->handle)
        return a->handle < b->handle ? -1 : 1;
    return (a->pos > b->pos) - (a->pos < b->pos);
}

/* ra_index builds the sorted index of ra (caller frees *out); CHSM_EINVAL when an entry is
 * malformed (no numeric handle, username or role). */
static int ra_index(const cJSON *ra, ra_ref **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    int count = cJSON_GetArraySize(ra);
    ra_ref *idx = calloc(count > 0 ? (size_t)count : 1, sizeof *idx);
    if (!idx)
        return CHSM_ENOMEM;
    const cJSON *a;
    size_t i = 0;
    cJSON_ArrayForEach(a, ra)
    {
        const cJSON *ah = cJSON_GetObjectItem(a, "handle");
        if (!cJSON_IsNumber(ah) || !chsm_json_str(a, "username") || !chsm_json_str(a, "role")) {
            free(idx);
            return CHSM_EINVAL;
        }
        idx[i] = (ra_ref){ah->valuedouble, (int)i, a};
        i++;
    }
    qsort(idx, i, sizeof *idx, ra_cmp);
    *out = idx;
    *n = i;
    return CHSM_OK;
}

/* ra_first returns the position of the first entry of idx for handle (n when none). */
static size_t ra_first(const ra_ref *idx, size_t n, double handle)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (idx[mid].handle < handle)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* snapshot_check_key checks one key entry and its role assignments (exactly one Owner). */
static int snapshot_check_key(const cJSON *users, const cJSON *k, const ra_ref *idx, size_t nidx,
                              char *err, size_t errlen)
{
    const cJSON *handle = cJSON_GetObjectItem(k, "handle");
    const char *key_id = chsm_json_str(k, "keyId");
    const char *klass = chsm_json_str(k, "class");
    const char *material = chsm_json_str(k, "material");
    if (!cJSON_IsObject(k) || !cJSON_IsNumber(handle) || !key_id ||
        strlen(key_id) >= sizeof(((chsm_hsm_key *)0)->key_id) || !klass ||
        strlen(klass) >= sizeof(((chsm_hsm_key *)0)->klass) || !material ||
        strlen(material) > 2 * CHSM_CRYPTO_KEY_MAX_DER)
        return bad(err, errlen, "a key entry is malformed");
    unsigned char *m = NULL;
    size_t mlen = 0;
    if (chsm_crypto_base64_decode(material, &m, &mlen) != CHSM_OK)
        return bad(err, errlen, "a key's material is not base64");
    int ok = check_material(k, m, mlen);
    chsm_crypto_key_free(m, mlen);
    if (!ok)
        return bad(err, errlen, "a key's material does not match its type");
    int owners = 0;
    for (size_t i = ra_first(idx, nidx, handle->valuedouble);
         i < nidx && idx[i].handle == handle->valuedouble; i++) {
        const char *who = chsm_json_str(idx[i].a, "username");
        const char *role = chsm_json_str(idx[i].a, "role");
        if (!find_user_in(users, who))
            return bad(err, errlen, "a role assignment names an unknown user");
        if (strcmp(role, "Owner") == 0)
            owners++;
        else if (strcmp(role, "User") != 0)
            return bad(err, errlen, "a role assignment has an unknown role");
    }
    if (owners != 1)
        return bad(err, errlen, "a key has no single owner");
    return CHSM_OK;
}

int chsm_hsm_check_users(const cJSON *users, char *err, size_t errlen)
{
    if (!cJSON_IsArray(users) || cJSON_GetArraySize(users) < 1 ||
        cJSON_GetArraySize(users) > CHSM_HSM_MAX_USERS)
        return bad(err, errlen, "too many or no users, or too many keys");
    const cJSON *u;
    cJSON_ArrayForEach(u, users)
    {
        const cJSON *id = cJSON_GetObjectItem(u, "userId");
        const char *type = chsm_json_str(u, "userType");
        const char *name = chsm_json_str(u, "username");
        const char *hash = chsm_json_str(u, "passwordHash");
        if (!cJSON_IsNumber(id) || id->valuedouble < 1 || id->valuedouble > 1000000 ||
            !valid_user_type(type) || !name || !*name ||
            strlen(name) >= sizeof(((chsm_hsm_user *)0)->username) || !hash ||
            strlen(hash) >= sizeof(((chsm_hsm_user *)0)->password_hash) ||
            !cJSON_IsNumber(cJSON_GetObjectItem(u, "loginFailureCount")))
            return bad(err, errlen, "a user entry is malformed");
        if (find_user_in(users, name) != u)
            return bad(err, errlen, "a user appears twice");
    }
    return CHSM_OK;
}

int chsm_hsm_snapshot_check(const cJSON *snapshot, int max_keys, char *err, size_t errlen)
{
    const cJSON *fmt = cJSON_GetObjectItem(snapshot, "format");
    const cJSON *users = cJSON_GetObjectItem(snapshot, "users");
    const cJSON *keys = cJSON_GetObjectItem(snapshot, "keys");
    const cJSON *ra = cJSON_GetObjectItem(snapshot, "roleAssignments");
    if (!cJSON_IsObject(snapshot) || !cJSON_IsNumber(fmt) ||
        fmt->valueint != CHSM_HSM_SNAPSHOT_FORMAT)
        return bad(err, errlen, "unknown snapshot format");
    if (!cJSON_IsArray(users) || !cJSON_IsArray(keys) || !cJSON_IsArray(ra))
        return bad(err, errlen, "users, keys or roleAssignments missing");
    if (cJSON_GetArraySize(keys) > max_keys ||
        (double)cJSON_GetArraySize(ra) > (double)max_keys * (CHSM_HSM_MAX_USERS + 1))
        return bad(err, errlen, "too many or no users, or too many keys");
    int urc = chsm_hsm_check_users(users, err, errlen);
    if (urc != CHSM_OK)
        return urc;
    ra_ref *idx = NULL;
    size_t nidx = 0;
    if (cJSON_GetArraySize(keys) > 0) {
        int rc = ra_index(ra, &idx, &nidx);
        if (rc == CHSM_EINVAL)
            return bad(err, errlen, "a role assignment is malformed");
        if (rc != CHSM_OK)
            return rc;
    }
    int rc = CHSM_OK;
    const cJSON *k;
    cJSON_ArrayForEach(k, keys)
    {
        rc = snapshot_check_key(users, k, idx, nidx, err, errlen);
        if (rc != CHSM_OK)
            break;
    }
    free(idx);
    return rc;
}

/* import_keys stores the snapshot's keys under new handles of c, sealed for c, with their
 * owner and shares from the role assignment index. */
static int import_keys(struct chsm_app *app, const char *resource_id, const cJSON *snapshot,
                       chsm_hsm_cluster *c_, const ra_ref *idx, size_t nidx)
{
    chsm_hsm_cluster c = *c_;
    chsm_hsm_sealer *sl = NULL;
    int rc = chsm_hsm_sealer_new(app, &c, &sl);
    if (rc != CHSM_OK)
        return rc;
    const cJSON *k;
    cJSON_ArrayForEach(k, cJSON_GetObjectItem(snapshot, "keys"))
    {
        double old_handle = cJSON_GetObjectItem(k, "handle")->valuedouble;
        unsigned char *m = NULL;
        size_t mlen = 0;
        if (chsm_crypto_base64_decode(chsm_json_str(k, "material"), &m, &mlen) != CHSM_OK) {
            rc = CHSM_EINVAL;
            break;
        }
        chsm_hsm_key hk;
        memset(&hk, 0, sizeof hk);
        hk.handle = c.next_handle++;
        snprintf(hk.key_id, sizeof hk.key_id, "%s", chsm_json_str(k, "keyId"));
        snprintf(hk.klass, sizeof hk.klass, "%s", chsm_json_str(k, "class"));
        rc = seal_with(sl, hk.handle, m, mlen, &hk.sealed, &hk.sealed_len);
        chsm_crypto_key_free(m, mlen);
        if (rc != CHSM_OK)
            break;
        hk.meta = cJSON_Duplicate(k, 1);
        cJSON_DeleteItemFromObject(hk.meta, "material");
        cJSON_DeleteItemFromObject(hk.meta, "handle");
        cJSON *shared = cJSON_CreateArray();
        for (size_t i = ra_first(idx, nidx, old_handle); i < nidx && idx[i].handle == old_handle;
             i++) {
            const cJSON *a = idx[i].a;
            const char *who = chsm_json_str(
                find_user_in(cJSON_GetObjectItem(snapshot, "users"), chsm_json_str(a, "username")),
                "username");
            if (strcmp(chsm_json_str(a, "role"), "Owner") == 0)
                snprintf(hk.owner, sizeof hk.owner, "%s", who);
            else
                cJSON_AddItemToArray(shared, cJSON_CreateString(who));
        }
        chsm_json_set_str(hk.meta, "owner", hk.owner);
        chsm_json_set(hk.meta, "sharedWith", shared);
        rc = chsm_hsm_repo_key_put(app->store, resource_id, &hk);
        chsm_hsm_key_clear(&hk);
        if (rc != CHSM_OK)
            break;
    }
    chsm_hsm_sealer_free(sl);
    if (rc == CHSM_OK)
        *c_ = c;
    return rc;
}

int chsm_hsm_import_users(struct chsm_app *app, const char *resource_id, const cJSON *users,
                          int *max_user_id)
{
    *max_user_id = 1;
    int rc = chsm_hsm_repo_cluster_wipe(app->store, resource_id);
    if (rc != CHSM_OK)
        return rc;
    const cJSON *u;
    cJSON_ArrayForEach(u, users)
    {
        chsm_hsm_user hu;
        memset(&hu, 0, sizeof hu);
        hu.user_id = cJSON_GetObjectItem(u, "userId")->valueint;
        snprintf(hu.user_type, sizeof hu.user_type, "%s", chsm_json_str(u, "userType"));
        snprintf(hu.username, sizeof hu.username, "%s", chsm_json_str(u, "username"));
        snprintf(hu.password_hash, sizeof hu.password_hash, "%s", chsm_json_str(u, "passwordHash"));
        int fails = cJSON_GetObjectItem(u, "loginFailureCount")->valueint;
        hu.login_failures = fails < 0 ? 0 : fails;
        hu.locked = cJSON_IsTrue(cJSON_GetObjectItem(u, "locked"));
        if (hu.user_id > *max_user_id)
            *max_user_id = hu.user_id;
        if ((rc = chsm_hsm_repo_user_put(app->store, resource_id, &hu)) != CHSM_OK)
            return rc;
    }
    return CHSM_OK;
}

int chsm_hsm_import(struct chsm_app *app, const char *resource_id, const cJSON *snapshot, char *err,
                    size_t errlen)
{
    int rc = chsm_hsm_snapshot_check(snapshot, app->cfg.hsm_max_keys, err, errlen);
    if (rc != CHSM_OK)
        return rc;
    chsm_hsm_cluster c;
    rc = chsm_hsm_repo_cluster_get(app->store, resource_id, &c);
    if (rc != CHSM_OK) {
        snprintf(err, errlen, "the destination cluster has no HSM state");
        return rc;
    }
    int max_user_id = 1;
    rc = chsm_hsm_import_users(app, resource_id, cJSON_GetObjectItem(snapshot, "users"),
                               &max_user_id);
    if (rc != CHSM_OK)
        return rc;
    c.next_user_id = max_user_id + 1;
    ra_ref *idx = NULL;
    size_t nidx = 0;
    if (cJSON_GetArraySize(cJSON_GetObjectItem(snapshot, "keys")) > 0 &&
        (rc = ra_index(cJSON_GetObjectItem(snapshot, "roleAssignments"), &idx, &nidx)) != CHSM_OK)
        return rc;
    rc = import_keys(app, resource_id, snapshot, &c, idx, nidx);
    free(idx);
    if (rc != CHSM_OK)
        return rc;
    snprintf(c.activation, sizeof c.activation, "%s", CHSM_HSM_ACTIVE);
    c.activated_ms = chsm_now_ms();
    return chsm_hsm_repo_cluster_update(app->store, &c);
}

chsm_hsm_restore_verdict chsm_hsm_restore_rule(const char *dest_id, const char *dest_activation,
                                               const char *source_id)
{
    if (source_id && chsm_streq_ci(source_id, dest_id))
        return CHSM_HSM_RESTORE_TO_SOURCE;
    if (dest_activation && strcmp(dest_activation, CHSM_HSM_FAILED) == 0)
        return CHSM_HSM_RESTORE_NOT_FUNCTIONAL;
    if (!dest_activation || strcmp(dest_activation, CHSM_HSM_NOT_ACTIVATED) != 0)
        return CHSM_HSM_RESTORE_ALREADY_ACTIVE;
    return CHSM_HSM_RESTORE_OK;
}

const char *chsm_hsm_restore_error(chsm_hsm_restore_verdict v)
{
    switch (v) {
    case CHSM_HSM_RESTORE_TO_SOURCE:
        return "RestoreToSourceNotSupported";
    case CHSM_HSM_RESTORE_ALREADY_ACTIVE:
        return "CloudHsmAlreadyActivated";
    case CHSM_HSM_RESTORE_NOT_FUNCTIONAL:
        return "CloudHsmNotFunctional";
    default:
        return "";
    }
}

/* test_hsm.c - the simulated HSM model: lifecycle, key material sealed at rest, snapshots
 * for backup/restore, restore rules, and the key operations of crypto/keys.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/app.h"
#include "crypto/digest.h"
#include "crypto/keys.h"
#include "crypto/password.h"
#include "hsm/backup_codec.h"
#include "hsm/model.h"
#include "hsm/repo.h"
#include "hsm/snapshot.h"
#include "util/json.h"
#include "util/status.h"

#define SRC                                                                                        \
    "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.HardwareSecurityModules/"             \
    "cloudHsmClusters/src"
#define DST                                                                                        \
    "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.HardwareSecurityModules/"             \
    "cloudHsmClusters/dst"

static chsm_app *new_app(const char *dbpath)
{
    chsm_app *app = calloc(1, sizeof *app);
    assert_non_null(app);
    chsm_config_defaults(&app->cfg);
    char err[256];
    assert_int_equal(chsm_store_open(dbpath, &app->store, err, sizeof err), CHSM_OK);
    assert_int_equal(chsm_crypto_random(app->fleet_secret, 32), CHSM_OK);
    return app;
}

static void free_app(chsm_app *app)
{
    chsm_store_close(app->store);
    free(app);
}

/* put_key stores a key of cluster id with material sealed, as the data plane does. */
static int64_t put_key(chsm_app *app, const char *id, const char *key_id, const char *klass,
                       const char *type, const char *owner, const char *shared,
                       const unsigned char *m, size_t n)
{
    chsm_hsm_cluster c;
    assert_int_equal(chsm_hsm_repo_cluster_get(app->store, id, &c), CHSM_OK);
    chsm_hsm_key k;
    memset(&k, 0, sizeof k);
    k.handle = c.next_handle++;
    snprintf(k.key_id, sizeof k.key_id, "%s", key_id);
    snprintf(k.klass, sizeof k.klass, "%s", klass);
    snprintf(k.owner, sizeof k.owner, "%s", owner);
    k.meta = cJSON_CreateObject();
    cJSON_AddStringToObject(k.meta, "keyId", key_id);
    cJSON_AddStringToObject(k.meta, "label", "lbl");
    cJSON_AddStringToObject(k.meta, "class", klass);
    cJSON_AddStringToObject(k.meta, "type", type);
    cJSON_AddStringToObject(k.meta, "owner", owner);
    cJSON *sw = cJSON_AddArrayToObject(k.meta, "sharedWith");
    if (shared)
        cJSON_AddItemToArray(sw, cJSON_CreateString(shared));
    cJSON_AddNumberToObject(k.meta, "version", 3);
    cJSON *tags = cJSON_AddObjectToObject(k.meta, "tags");
    cJSON_AddStringToObject(tags, "env", "prod");
    assert_int_equal(chsm_hsm_seal(app, &c, k.handle, m, n, &k.sealed, &k.sealed_len), CHSM_OK);
    assert_int_equal(chsm_hsm_repo_key_put(app->store, id, &k), CHSM_OK);
    assert_int_equal(chsm_hsm_repo_cluster_update(app->store, &c), CHSM_OK);
    int64_t h = k.handle;
    chsm_hsm_key_clear(&k);
    return h;
}

static void add_user(chsm_app *app, const char *id, int uid, const char *type, const char *name)
{
    chsm_hsm_user u;
    memset(&u, 0, sizeof u);
    u.user_id = uid;
    snprintf(u.user_type, sizeof u.user_type, "%s", type);
    snprintf(u.username, sizeof u.username, "%s", name);
    assert_int_equal(
        chsm_crypto_password_hash("password1", u.password_hash, sizeof u.password_hash), CHSM_OK);
    assert_int_equal(chsm_hsm_repo_user_put(app->store, id, &u), CHSM_OK);
}

/* ---- lifecycle ---- */

static void test_label_and_fqdn(void **state)
{
    (void)state;
    char a[64], b[64], f[128];
    chsm_hsm_label(SRC, "Src", a, sizeof a);
    chsm_hsm_label(
        "/SUBSCRIPTIONS/s1/resourcegroups/RG/providers/microsoft.hardwaresecuritymodules/"
        "cloudhsmclusters/SRC",
        "Src", b, sizeof b);
    assert_string_equal(a, b); /* ids compare case-insensitively, so labels do too */
    assert_int_equal(strlen(a), strlen("src-") + 16);
    assert_memory_equal(a, "src-", 4);
    chsm_hsm_label(DST, "dst", b, sizeof b);
    assert_string_not_equal(a + 4, b + 4);
    chsm_hsm_node_fqdn(a, 2, f, sizeof f);
    assert_memory_equal(f, "hsm2.src-", 9);
    assert_non_null(strstr(f, ".cloudhsm.localhost"));
}

static void test_new_cluster_is_not_activated(void **state)
{
    (void)state;
    chsm_app *app = new_app(NULL);
    assert_int_equal(chsm_hsm_cluster_create(app, SRC, "src", "op1", ""), CHSM_OK);
    chsm_hsm_cluster c;
    assert_int_equal(chsm_hsm_repo_cluster_get(app->store, SRC, &c), CHSM_OK);
    assert_string_equal(c.activation, CHSM_HSM_NOT_ACTIVATED);
    assert_int_equal(c.next_handle, CHSM_HSM_FIRST_HANDLE);
    assert_string_equal(c.provision_op, "op1");
    chsm_hsm_cluster byl;
    assert_int_equal(chsm_hsm_repo_cluster_by_label(app->store, c.label, &byl), CHSM_OK);
    assert_string_equal(byl.resource_id, SRC);
    chsm_hsm_user *users;
    size_t n;
    assert_int_equal(chsm_hsm_repo_users_list(app->store, SRC, &users, &n), CHSM_OK);
    assert_int_equal(n, 1);
    assert_string_equal(users[0].user_type, "PRECO");
    assert_string_equal(users[0].username, "admin");
    assert_int_equal(chsm_crypto_password_verify("tenantadmin", users[0].password_hash), 1);
    free(users);
    /* Creating again under the same id replaces leftover state. */
    add_user(app, SRC, 2, "CU", "cu1");
    assert_int_equal(chsm_hsm_cluster_create(app, SRC, "src", "", ""), CHSM_OK);
    assert_int_equal(chsm_hsm_repo_users_list(app->store, SRC, &users, &n), CHSM_OK);
    assert_int_equal(n, 1);
    free(users);
    assert_int_equal(chsm_hsm_cluster_destroy(app, SRC), CHSM_OK);
    assert_int_equal(chsm_hsm_repo_cluster_get(app->store, SRC, &c), CHSM_ENOTFOUND);
    assert_int_equal(chsm_hsm_cluster_destroy(app, SRC), CHSM_OK);
    free_app(app);
}

/* The key-limit check counts handles per cluster (chsm_hsm_repo_keys_count), not across the
 * fleet, and sees deletions. */
static void test_keys_count(void **state)
{
    (void)state;
    chsm_app *app = new_app(NULL);
    assert_int_equal(chsm_hsm_cluster_create(app, SRC, "src", "", ""), CHSM_OK);
    assert_int_equal(chsm_hsm_cluster_create(app, DST, "dst", "", ""), CHSM_OK);
    assert_int_equal(chsm_hsm_repo_keys_count(app->store, SRC), 0);
    unsigned char m[32] = {1};
    int64_t h = put_key(app, SRC, "k1", "secret", "AES", "cu1", NULL, m, sizeof m);
    put_key(app, SRC, "k2", "secret", "AES", "cu1", NULL, m, sizeof m);
    put_key(app, DST, "k3", "secret", "AES", "cu1", NULL, m, sizeof m);
    assert_int_equal(chsm_hsm_repo_keys_count(app->store, SRC), 2);
    assert_int_equal(chsm_hsm_repo_keys_count(app->store, DST), 1);
    assert_int_equal(chsm_hsm_repo_key_delete(app->store, SRC, h), CHSM_OK);
    assert_int_equal(chsm_hsm_repo_keys_count(app->store, SRC), 1);
    free_app(app);
}

static void test_activation_state_machine(void **state)
{
    (void)state;
    chsm_app *app = new_app(NULL);
    assert_int_equal(chsm_hsm_cluster_create(app, SRC, "src", "", ""), CHSM_OK);
    chsm_hsm_session s;
    memset(&s, 0, sizeof s);
    snprintf(s.token_hash, sizeof s.token_hash, "%064d", 7);
    snprintf(s.cluster_key, sizeof s.cluster_key, "%s", SRC);
    snprintf(s.username, sizeof s.username, "admin");
    snprintf(s.user_type, sizeof s.user_type, "PRECO");
    assert_int_equal(chsm_hsm_repo_session_insert(app->store, &s), CHSM_OK);
    assert_int_equal(chsm_hsm_set_activation(app, SRC, CHSM_HSM_ACTIVE), CHSM_OK);
    chsm_hsm_cluster c;
    assert_int_equal(chsm_hsm_repo_cluster_get(app->store, SRC, &c), CHSM_OK);
    assert_string_equal(c.activation, CHSM_HSM_ACTIVE);
    assert_true(c.activated_ms > 0);
    chsm_hsm_session got;
    assert_int_equal(chsm_hsm_repo_session_get(app->store, s.token_hash, &got), CHSM_OK);
    /* Failed ends every session. */
    assert_int_equal(chsm_hsm_set_activation(app, SRC, CHSM_HSM_FAILED), CHSM_OK);
    assert_int_equal(chsm_hsm_repo_session_get(app->store, s.token_hash, &got), CHSM_ENOTFOUND);
    assert_int_equal(chsm_hsm_set_activation(app, DST, CHSM_HSM_ACTIVE), CHSM_ENOTFOUND);
    free_app(app);
}

static void test_restore_rules(void **state)
{
    (void)state;
    assert_int_equal(chsm_hsm_restore_rule(DST, CHSM_HSM_NOT_ACTIVATED, SRC), CHSM_HSM_RESTORE_OK);
    assert_int_equal(chsm_hsm_restore_rule(DST, CHSM_HSM_NOT_ACTIVATED, NULL), CHSM_HSM_RESTORE_OK);
    assert_int_equal(chsm_hsm_restore_rule(DST, CHSM_HSM_ACTIVE, SRC),
                     CHSM_HSM_RESTORE_ALREADY_ACTIVE);
    assert_int_equal(chsm_hsm_restore_rule(DST, CHSM_HSM_FAILED, SRC),
                     CHSM_HSM_RESTORE_NOT_FUNCTIONAL);
    /* The source check wins (any case of the id), even though the source is activated. */
    char upper[sizeof SRC];
    for (size_t i = 0; i < sizeof SRC; i++)
        upper[i] = (char)(SRC[i] >= 'a' && SRC[i] <= 'z' ? SRC[i] - 32 : SRC[i]);
    assert_int_equal(chsm_hsm_restore_rule(SRC, CHSM_HSM_ACTIVE, upper),
                     CHSM_HSM_RESTORE_TO_SOURCE);
    assert_string_equal(chsm_hsm_restore_error(CHSM_HSM_RESTORE_TO_SOURCE),
                        "RestoreToSourceNotSupported");
    assert_string_equal(chsm_hsm_restore_error(CHSM_HSM_RESTORE_ALREADY_ACTIVE),
                        "CloudHsmAlreadyActivated");
    assert_string_equal(chsm_hsm_restore_error(CHSM_HSM_RESTORE_NOT_FUNCTIONAL),
                        "CloudHsmNotFunctional");
    assert_string_equal(chsm_hsm_restore_error(CHSM_HSM_RESTORE_OK), "");
}

/* ---- sealing at rest ---- */

static int file_contains(const char *path, const void *needle, size_t n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc(len > 0 ? (size_t)len : 1);
    size_t got = fread(buf, 1, (size_t)len, f);
    fclose(f);
    int found = 0;
    for (size_t i = 0; !found && i + n <= got; i++)
        found = memcmp(buf + i, needle, n) == 0;
    free(buf);
    return found;
}

static void test_key_material_sealed_at_rest(void **state)
{
    (void)state;
    char dir[] = "/tmp/chsm-test-hsm-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char db[256], wal[300];
    snprintf(db, sizeof db, "%s/state.db", dir);
    snprintf(wal, sizeof wal, "%s-wal", db);
    chsm_app *app = new_app(db);
    unsigned char material[32];
    memcpy(material, "PLAINTEXT-KEY-MATERIAL-0123456789", 32);
    assert_int_equal(chsm_hsm_cluster_create(app, SRC, "src", "", ""), CHSM_OK);
    assert_int_equal(chsm_hsm_cluster_create(app, DST, "dst", "", ""), CHSM_OK);
    int64_t h = put_key(app, SRC, "k1", "secret", "AES", "cu1", NULL, material, 32);
    unsigned char secret[32];
    memcpy(secret, app->fleet_secret, 32);
    free_app(app);
    /* The scan itself works: the cluster id is stored in the clear. */
    assert_true(file_contains(db, "cloudhsmclusters/src", 20) ||
                file_contains(wal, "cloudhsmclusters/src", 20));
    assert_false(file_contains(db, material, 16));
    assert_false(file_contains(wal, material, 16));

    app = new_app(db);
    memcpy(app->fleet_secret, secret, 32);
    chsm_hsm_cluster c, d;
    assert_int_equal(chsm_hsm_repo_cluster_get(app->store, SRC, &c), CHSM_OK);
    assert_int_equal(chsm_hsm_repo_cluster_get(app->store, DST, &d), CHSM_OK);
    chsm_hsm_key k;
    assert_int_equal(chsm_hsm_repo_key_get(app->store, SRC, h, &k), CHSM_OK);
    assert_int_equal(k.sealed_len, 32 + 28);
    unsigned char *plain = NULL;
    size_t n = 0;
    assert_int_equal(chsm_hsm_unseal(app, &c, h, k.sealed, k.sealed_len, &plain, &n), CHSM_OK);
    assert_int_equal(n, 32);
    assert_memory_equal(plain, material, 32);
    chsm_crypto_key_free(plain, n);
    /* Bound to its handle and cluster, and to the fleet secret. */
    assert_int_equal(chsm_hsm_unseal(app, &c, h + 1, k.sealed, k.sealed_len, &plain, &n),
                     CHSM_ECRYPTO);
    assert_int_equal(chsm_hsm_unseal(app, &d, h, k.sealed, k.sealed_len, &plain, &n), CHSM_ECRYPTO);
    app->fleet_secret[0] ^= 1;
    assert_int_equal(chsm_hsm_unseal(app, &c, h, k.sealed, k.sealed_len, &plain, &n), CHSM_ECRYPTO);
    app->fleet_secret[0] ^= 1;
    k.sealed[k.sealed_len - 1] ^= 1;
    assert_int_equal(chsm_hsm_unseal(app, &c, h, k.sealed, k.sealed_len, &plain, &n), CHSM_ECRYPTO);
    chsm_hsm_key_clear(&k);
    free_app(app);
    unlink(db);
    unlink(wal);
    char shm[300];
    snprintf(shm, sizeof shm, "%s-shm", db);
    unlink(shm);
    rmdir(dir);
}

/* ---- snapshots ---- */

static void populate_source(chsm_app *app, unsigned char aes[32], unsigned char **ec_priv,
                            size_t *ec_len)
{
    assert_int_equal(chsm_hsm_cluster_create(app, SRC, "src", "", ""), CHSM_OK);
    assert_int_equal(chsm_hsm_set_activation(app, SRC, CHSM_HSM_ACTIVE), CHSM_OK);
    add_user(app, SRC, 1, "CO", "admin");
    add_user(app, SRC, 2, "CU", "cu1");
    add_user(app, SRC, 3, "CU", "cu2");
    assert_int_equal(chsm_crypto_random(aes, 32), CHSM_OK);
    put_key(app, SRC, "aes-1", "secret", "AES", "cu1", "cu2", aes, 32);
    assert_int_equal(chsm_crypto_key_generate_ec("P-256", ec_priv, ec_len), CHSM_OK);
    unsigned char *pub;
    size_t publen;
    assert_int_equal(chsm_crypto_key_public_der(*ec_priv, *ec_len, &pub, &publen), CHSM_OK);
    put_key(app, SRC, "ec-1", "public", "EC", "cu1", NULL, pub, publen);
    put_key(app, SRC, "ec-1", "private", "EC", "cu1", NULL, *ec_priv, *ec_len);
    free(pub);
}

static void test_export_import_round_trip(void **state)
{
    (void)state;
    chsm_app *app = new_app(NULL);
    unsigned char aes[32], *ec = NULL;
    size_t eclen = 0;
    populate_source(app, aes, &ec, &eclen);
    cJSON *snap = NULL;
    assert_int_equal(chsm_hsm_export(app, SRC, &snap), CHSM_OK);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(snap, "users")), 3);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(snap, "keys")), 3);
    /* 3 owners + 1 share */
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(snap, "roleAssignments")), 4);
    char err[256] = "";
    assert_int_equal(chsm_hsm_snapshot_check(snap, CHSM_HSM_MAX_KEYS, err, sizeof err), CHSM_OK);

    assert_int_equal(chsm_hsm_cluster_create(app, DST, "dst", "", ""), CHSM_OK);
    /* Give the destination a different handle counter so handles visibly change. */
    chsm_hsm_cluster d;
    assert_int_equal(chsm_hsm_repo_cluster_get(app->store, DST, &d), CHSM_OK);
    d.next_handle = 300000;
    assert_int_equal(chsm_hsm_repo_cluster_update(app->store, &d), CHSM_OK);
    assert_int_equal(chsm_hsm_import(app, DST, snap, err, sizeof err), CHSM_OK);
    cJSON_Delete(snap);

    assert_int_equal(chsm_hsm_repo_cluster_get(app->store, DST, &d), CHSM_OK);
    assert_string_equal(d.activation, CHSM_HSM_ACTIVE);
    assert_int_equal(d.next_user_id, 4);
    chsm_hsm_user u;
    assert_int_equal(chsm_hsm_repo_user_get(app->store, DST, "CU1", &u), CHSM_OK);
    assert_string_equal(u.user_type, "CU");
    assert_int_equal(chsm_crypto_password_verify("password1", u.password_hash), 1);
    assert_int_equal(chsm_hsm_repo_user_get(app->store, DST, "admin", &u), CHSM_OK);
    assert_string_equal(u.user_type, "CO");

    chsm_hsm_key *keys;
    size_t n;
    assert_int_equal(chsm_hsm_repo_keys_list(app->store, DST, 1, &keys, &n), CHSM_OK);
    assert_int_equal(n, 3);
    int seen_aes = 0, seen_priv = 0;
    for (size_t i = 0; i < n; i++) {
        assert_true(keys[i].handle >= 300000);
        assert_string_equal(keys[i].owner, "cu1");
        assert_int_equal(cJSON_GetObjectItem(keys[i].meta, "version")->valueint, 3);
        assert_string_equal(chsm_json_str(chsm_json_obj(keys[i].meta, "tags"), "env"), "prod");
        unsigned char *m;
        size_t mlen;
        assert_int_equal(
            chsm_hsm_unseal(app, &d, keys[i].handle, keys[i].sealed, keys[i].sealed_len, &m, &mlen),
            CHSM_OK);
        if (strcmp(keys[i].key_id, "aes-1") == 0) {
            seen_aes = 1;
            assert_int_equal(mlen, 32);
            assert_memory_equal(m, aes, 32);
            cJSON *sw = cJSON_GetObjectItem(keys[i].meta, "sharedWith");
            assert_int_equal(cJSON_GetArraySize(sw), 1);
            assert_string_equal(cJSON_GetArrayItem(sw, 0)->valuestring, "cu2");
        } else if (strcmp(keys[i].klass, "private") == 0) {
            seen_priv = 1;
            assert_string_equal(keys[i].key_id, "ec-1");
            assert_int_equal(mlen, eclen);
            assert_memory_equal(m, ec, eclen);
        }
        chsm_crypto_key_free(m, mlen);
    }
    assert_true(seen_aes && seen_priv);
    chsm_hsm_keys_free(keys, n);
    free(ec);
    free_app(app);
}

static cJSON *find_key(cJSON *snap, const char *klass)
{
    cJSON *k;
    cJSON_ArrayForEach(k, cJSON_GetObjectItem(snap, "keys"))
    {
        if (strcmp(chsm_json_str(k, "class"), klass) == 0)
            return k;
    }
    return NULL;
}

static void test_bad_snapshots_rejected_without_change(void **state)
{
    (void)state;
    chsm_app *app = new_app(NULL);
    unsigned char aes[32], *ec = NULL;
    size_t eclen = 0;
    populate_source(app, aes, &ec, &eclen);
    cJSON *good = NULL;
    assert_int_equal(chsm_hsm_export(app, SRC, &good), CHSM_OK);
    assert_int_equal(chsm_hsm_cluster_create(app, DST, "dst", "", ""), CHSM_OK);
    unsigned char other[16] = {0};
    put_key(app, DST, "existing", "secret", "AES", "someone", NULL, other, 16);
    char err[256];

    for (int variant = 0; variant < 7; variant++) {
        cJSON *bad = cJSON_Duplicate(good, 1);
        switch (variant) {
        case 0: /* AES material of the wrong length */
            chsm_json_set_str(find_key(bad, "secret"), "material", "AAAA");
            break;
        case 1: /* private key material that is a public key */
            chsm_json_set_str(find_key(bad, "private"), "material",
                              chsm_json_str(find_key(bad, "public"), "material"));
            break;
        case 2: /* an unknown owner */
            chsm_json_set_str(cJSON_GetArrayItem(cJSON_GetObjectItem(bad, "roleAssignments"), 0),
                              "username", "nobody");
            break;
        case 3: /* a key without owner */
            chsm_json_set_str(cJSON_GetArrayItem(cJSON_GetObjectItem(bad, "roleAssignments"), 0),
                              "role", "User");
            break;
        case 4: /* another format */
            chsm_json_set(bad, "format", cJSON_CreateNumber(2));
            break;
        case 5: /* a duplicate user (any case) */
            cJSON_AddItemToArray(
                cJSON_GetObjectItem(bad, "users"),
                cJSON_Duplicate(cJSON_GetArrayItem(cJSON_GetObjectItem(bad, "users"), 1), 1));
            break;
        case 6: /* material not base64 */
            chsm_json_set_str(find_key(bad, "secret"), "material", "!!!!");
            break;
        }
        err[0] = '\0';
        assert_int_equal(chsm_hsm_snapshot_check(bad, CHSM_HSM_MAX_KEYS, err, sizeof err),
                         CHSM_EINVAL);
        assert_int_equal(chsm_hsm_import(app, DST, bad, err, sizeof err), CHSM_EINVAL);
        assert_true(strlen(err) > 0);
        cJSON_Delete(bad);
        chsm_hsm_cluster d;
        assert_int_equal(chsm_hsm_repo_cluster_get(app->store, DST, &d), CHSM_OK);
        assert_string_equal(d.activation, CHSM_HSM_NOT_ACTIVATED);
        assert_int_equal(chsm_hsm_repo_key_id_exists(app->store, DST, "existing"), 1);
    }
    cJSON_Delete(good);
    free(ec);
    free_app(app);
}

/* ---- format-2 snapshots (hsm/snapshot.h) ---- */

static const unsigned char test_secret[32] = "test fleet secret, 32 bytes long";

/* backup_v2 writes SRC's format-2 backup blob (caller frees). */
static void backup_v2(chsm_app *app, unsigned char **blob, size_t *len)
{
    chsm_backup_writer w;
    assert_int_equal(chsm_backup_writer_begin(&w, "b-1", SRC, 1, 0), CHSM_OK);
    assert_int_equal(chsm_hsm_snapshot_write(app, SRC, &w), CHSM_OK);
    assert_int_equal(chsm_backup_writer_finish(&w, test_secret, blob, len), CHSM_OK);
}

/* meta_of returns the stored key object text of key_id/klass in cluster id (caller frees). */
static char *meta_of(chsm_app *app, const char *id, const char *key_id, const char *klass)
{
    chsm_hsm_key *keys;
    size_t n;
    char *text = NULL;
    assert_int_equal(chsm_hsm_repo_keys_list(app->store, id, 0, &keys, &n), CHSM_OK);
    for (size_t i = 0; i < n; i++)
        if (strcmp(keys[i].key_id, key_id) == 0 && strcmp(keys[i].klass, klass) == 0)
            text = cJSON_PrintUnformatted(keys[i].meta);
    chsm_hsm_keys_free(keys, n);
    assert_non_null(text);
    return text;
}

static void test_v2_round_trip(void **state)
{
    (void)state;
    chsm_app *app = new_app(NULL);
    memcpy(app->fleet_secret, test_secret, 32);
    unsigned char aes[32], *ec = NULL;
    size_t eclen = 0;
    populate_source(app, aes, &ec, &eclen);
    /* A keyId with the characters JSON escapes. */
    unsigned char aes2[16] = {1, 2, 3};
    put_key(app, SRC, "odd\"id\\x", "secret", "AES", "cu2", "CU1", aes2, 16);
    unsigned char *blob, *payload;
    size_t len, n;
    backup_v2(app, &blob, &len);
    chsm_backup_header h;
    char err[256] = "";
    assert_int_equal(
        chsm_backup_decode_in_place(test_secret, blob, len, &h, &payload, &n, err, sizeof err),
        CHSM_OK);
    assert_int_equal(h.version, 2);
    chsm_hsm_snapshot *snap = NULL;
    assert_int_equal(
        chsm_hsm_snapshot_open(2, payload, n, CHSM_HSM_MAX_KEYS, &snap, err, sizeof err), CHSM_OK);
    assert_int_equal(chsm_hsm_snapshot_keys(snap), 4);
    chsm_hsm_snapshot *too_many = NULL;
    assert_int_equal(chsm_hsm_snapshot_open(2, payload, n, 3, &too_many, err, sizeof err),
                     CHSM_EINVAL);
    assert_null(too_many);

    assert_int_equal(chsm_hsm_cluster_create(app, DST, "dst", "", ""), CHSM_OK);
    chsm_hsm_cluster d;
    assert_int_equal(chsm_hsm_repo_cluster_get(app->store, DST, &d), CHSM_OK);
    d.next_handle = 300000;
    assert_int_equal(chsm_hsm_repo_cluster_update(app->store, &d), CHSM_OK);
    assert_int_equal(chsm_hsm_snapshot_import(app, DST, snap, err, sizeof err), CHSM_OK);
    chsm_hsm_snapshot_free(snap);
    free(blob);

    assert_int_equal(chsm_hsm_repo_cluster_get(app->store, DST, &d), CHSM_OK);
    assert_string_equal(d.activation, CHSM_HSM_ACTIVE);
    assert_int_equal(d.next_user_id, 4);
    assert_int_equal(d.next_handle, 300004);
    chsm_hsm_user u;
    assert_int_equal(chsm_hsm_repo_user_get(app->store, DST, "cu2", &u), CHSM_OK);
    assert_string_equal(u.user_type, "CU");
    assert_int_equal(chsm_crypto_password_verify("password1", u.password_hash), 1);
    assert_int_equal(chsm_hsm_repo_keys_count(app->store, DST), 4);
    assert_int_equal(chsm_hsm_repo_keys_owned_by(app->store, DST, "cu2"), 1);
    assert_int_equal(chsm_hsm_repo_key_id_exists(app->store, DST, "odd\"id\\x"), 1);
    /* Every key object is stored as it was in the source. */
    const char *ids[][2] = {
        {"aes-1", "secret"}, {"ec-1", "public"}, {"ec-1", "private"}, {"odd\"id\\x", "secret"}};
    for (size_t i = 0; i < 4; i++) {
        char *a = meta_of(app, SRC, ids[i][0], ids[i][1]);
        char *b = meta_of(app, DST, ids[i][0], ids[i][1]);
        assert_string_equal(a, b);
        free(a);
        free(b);
    }
    chsm_hsm_key *keys;
    size_t nk;
    assert_int_equal(chsm_hsm_repo_keys_list(app->store, DST, 1, &keys, &nk), CHSM_OK);
    assert_int_equal(nk, 4);
    int seen = 0;
    for (size_t i = 0; i < nk; i++) {
        assert_true(keys[i].handle >= 300000 && keys[i].handle < 300004);
        unsigned char *m;
        size_t mlen;
        assert_int_equal(
            chsm_hsm_unseal(app, &d, keys[i].handle, keys[i].sealed, keys[i].sealed_len, &m, &mlen),
            CHSM_OK);
        if (strcmp(keys[i].key_id, "aes-1") == 0) {
            assert_int_equal(mlen, 32);
            assert_memory_equal(m, aes, 32);
            assert_string_equal(keys[i].owner, "cu1");
            seen |= 1;
        } else if (strcmp(keys[i].klass, "private") == 0) {
            assert_int_equal(mlen, eclen);
            assert_memory_equal(m, ec, eclen);
            seen |= 2;
        } else if (strcmp(keys[i].key_id, "odd\"id\\x") == 0) {
            assert_int_equal(mlen, 16);
            assert_memory_equal(m, aes2, 16);
            assert_string_equal(keys[i].owner, "cu2");
            seen |= 4;
        }
        chsm_crypto_key_free(m, mlen);
    }
    assert_int_equal(seen, 7);
    chsm_hsm_keys_free(keys, nk);
    free(ec);
    free_app(app);
}

/* Old backups (blob version 1, one JSON document) still restore through the same calls. */
static void test_v1_backup_still_restores(void **state)
{
    (void)state;
    chsm_app *app = new_app(NULL);
    memcpy(app->fleet_secret, test_secret, 32);
    unsigned char aes[32], *ec = NULL;
    size_t eclen = 0;
    populate_source(app, aes, &ec, &eclen);
    cJSON *snap1 = NULL;
    assert_int_equal(chsm_hsm_export(app, SRC, &snap1), CHSM_OK);
    char *text = cJSON_PrintUnformatted(snap1);
    cJSON_Delete(snap1);
    unsigned char *blob, *payload;
    size_t len, n;
    assert_int_equal(
        chsm_backup_encode(test_secret, "b-1", SRC, 1, text, strlen(text), &blob, &len), CHSM_OK);
    free(text);
    chsm_backup_header h;
    char err[256];
    assert_int_equal(
        chsm_backup_decode_in_place(test_secret, blob, len, &h, &payload, &n, err, sizeof err),
        CHSM_OK);
    assert_int_equal(h.version, 1);
    chsm_hsm_snapshot *snap = NULL;
    assert_int_equal(
        chsm_hsm_snapshot_open(2, payload, n, CHSM_HSM_MAX_KEYS, &snap, err, sizeof err),
        CHSM_EINVAL); /* read as the wrong format: refused, not misread */
    assert_int_equal(
        chsm_hsm_snapshot_open(h.version, payload, n, CHSM_HSM_MAX_KEYS, &snap, err, sizeof err),
        CHSM_OK);
    assert_int_equal(chsm_hsm_snapshot_keys(snap), 3);
    assert_int_equal(chsm_hsm_cluster_create(app, DST, "dst", "", ""), CHSM_OK);
    assert_int_equal(chsm_hsm_snapshot_import(app, DST, snap, err, sizeof err), CHSM_OK);
    chsm_hsm_snapshot_free(snap);
    free(blob);
    assert_int_equal(chsm_hsm_repo_keys_count(app->store, DST), 3);
    chsm_hsm_cluster d;
    assert_int_equal(chsm_hsm_repo_cluster_get(app->store, DST, &d), CHSM_OK);
    assert_string_equal(d.activation, CHSM_HSM_ACTIVE);
    free(ec);
    free_app(app);
}

/* payload building for hand-made format-2 snapshots */
typedef struct pbuf {
    unsigned char b[8192];
    size_t n;
} pbuf;

static void p_put(pbuf *p, const void *d, size_t n)
{
    assert_true(p->n + n <= sizeof p->b);
    memcpy(p->b + p->n, d, n);
    p->n += n;
}

static void p_u(pbuf *p, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--) {
        unsigned char c = (unsigned char)(v >> (8 * i));
        p_put(p, &c, 1);
    }
}

static const char good_users[] =
    "{\"format\":2,\"cluster\":{},\"users\":[{\"userId\":1,\"userType\":\"CO\","
    "\"username\":\"admin\",\"passwordHash\":\"x\",\"loginFailureCount\":0},"
    "{\"userId\":2,\"userType\":\"CU\",\"username\":\"Cu1\",\"passwordHash\":\"x\","
    "\"loginFailureCount\":0}]}";
static const char good_meta[] = "{\"keyId\":\"k1\",\"label\":\"\u00e9\\ud83d\\ude00\","
                                "\"class\":\"secret\",\"type\":\"AES\",\"owner\":\"cu1\","
                                "\"sharedWith\":[\"ADMIN\"],\"attributes\":{\"a\":[1,-2.5e3,"
                                "true,null]},\"tags\":{}}";

/* make_payload builds a format-2 payload of one key (meta, AES material of mlen bytes). */
static void make_payload(pbuf *p, uint32_t format, const char *users, uint32_t count,
                         const char *meta, size_t mlen)
{
    static const unsigned char material[32] = {9, 9, 9};
    p->n = 0;
    p_u(p, format, 4);
    p_u(p, strlen(users), 4);
    p_put(p, users, strlen(users));
    p_u(p, count, 4);
    p_u(p, 262150, 8);
    p_u(p, strlen(meta), 4);
    p_put(p, meta, strlen(meta));
    p_u(p, mlen, 2);
    p_put(p, material, mlen);
}

static void test_v2_bad_snapshots_rejected(void **state)
{
    (void)state;
    chsm_app *app = new_app(NULL);
    assert_int_equal(chsm_hsm_cluster_create(app, DST, "dst", "", ""), CHSM_OK);
    pbuf *p = malloc(sizeof *p);
    assert_non_null(p);
    char err[256];
    chsm_hsm_snapshot *snap = NULL;
    make_payload(p, 2, good_users, 1, good_meta, 32);
    assert_int_equal(chsm_hsm_snapshot_open(2, p->b, p->n, 10, &snap, err, sizeof err), CHSM_OK);
    chsm_hsm_snapshot_free(snap);
    /* Cut anywhere, or one byte more: refused. */
    for (size_t cut = 0; cut < p->n; cut++) {
        err[0] = '\0';
        assert_int_equal(chsm_hsm_snapshot_open(2, p->b, cut, 10, &snap, err, sizeof err),
                         CHSM_EINVAL);
        assert_null(snap);
        assert_true(strlen(err) > 0);
    }
    p->b[p->n] = 0;
    assert_int_equal(chsm_hsm_snapshot_open(2, p->b, p->n + 1, 10, &snap, err, sizeof err),
                     CHSM_EINVAL);
    struct {
        uint32_t format;
        const char *users;
        uint32_t count;
        const char *meta;
        size_t mlen;
    } bad[] = {
        {3, good_users, 1, good_meta, 32},                    /* another format */
        {2, "[]", 1, good_meta, 32},                          /* header not an object */
        {2, "{\"format\":2,\"users\":[]}", 1, good_meta, 32}, /* no users */
        {2, good_users, 2, good_meta, 32},                    /* more keys announced than present */
        {2, good_users, 11, good_meta, 32},                   /* more than max_keys */
        {2, good_users, 1, good_meta, 31},                    /* AES material of the wrong length */
        {2, good_users, 1,
         "{\"keyId\":\"k1\",\"class\":\"secret\",\"type\":\"AES\",\"owner\":\"nobody\"}",
         32}, /* unknown owner */
        {2, good_users, 1,
         "{\"keyId\":\"k1\",\"class\":\"secret\",\"type\":\"AES\",\"owner\":\"cu1\","
         "\"sharedWith\":[\"cu1\",\"x\"]}",
         32}, /* unknown share */
        {2, good_users, 1, "{\"keyId\":\"k1\",\"class\":\"secret\",\"type\":\"AES\"}",
         32}, /* no owner */
        {2, good_users, 1,
         "{\"keyId\":\"k1\",\"class\":\"secret\",\"type\":\"AES\",\"owner\":\"cu1\",\"OWNER\":"
         "\"admin\"}",
         32}, /* an owner twice */
        {2, good_users, 1,
         "{\"keyId\":\"k1\",\"class\":\"secret\",\"type\":\"AES\",\"owner\":\"cu1\",\"handle\":1}",
         32}, /* a handle inside the key object */
        {2, good_users, 1,
         "{\"keyId\":\"k1\",\"class\":\"secret\",\"type\":\"AES\",\"owner\":\"cu1\"} x",
         32}, /* trailing text */
        {2, good_users, 1,
         "{\"keyId\":\"k1\",\"class\":\"secret\",\"type\":\"AES\",\"owner\":\"cu1\",}",
         32}, /* trailing comma */
        {2, good_users, 1,
         "{\"keyId\":\"k1\",\"class\":\"secret\",\"type\":\"AES\",\"owner\":\"cu1\",\"l\":"
         "\"\\u0000\"}",
         32}, /* \u0000 */
        {2, good_users, 1,
         "{\"keyId\":\"k1\",\"class\":\"secret\",\"type\":\"AES\",\"owner\":\"cu1\",\"l\":"
         "\"\\ud83d\"}",
         32}, /* a lone surrogate */
        {2, good_users, 1,
         "{\"keyId\":\"k1\",\"class\":\"secret\",\"type\":\"AES\",\"owner\":\"cu1\",\"l\":"
         "\"\xc3\"}",
         32}, /* broken UTF-8 */
        {2, good_users, 1,
         "{\"keyId\":\"k1\",\"class\":\"secret\",\"type\":\"AES\",\"owner\":\"cu1\","
         "\"label\":\"a long label with a control character\x01 in its middle\"}",
         32}, /* a raw control character inside a long run of text */
        {2, good_users, 1,
         "{\"keyId\":\"k1\",\"class\":\"secret\",\"type\":\"AES\",\"owner\":\"cu1\","
         "\"label\":\"a long label with a stray \xff byte in its middle\"}",
         32}, /* a byte that is never UTF-8, inside a long run of text */
        {2, good_users, 1,
         "{\"keyId\":\"k1\",\"class\":\"secret\",\"type\":\"AES\",\"owner\":\"cu1\","
         "\"label\":\"a long label that never ends, 0123456789abcdef}",
         32}, /* an unterminated string */
        {2, good_users, 1,
         "{\"keyId\":\"k1\",\"class\":\"secret\",\"type\":\"AES\",\"owner\":\"cu1\",\"l\":01}",
         32}, /* a number with a leading zero */
        {2, good_users, 1,
         "{\"keyId\":\"k1\",\"class\":\"secret\",\"type\":\"RSA\",\"owner\":\"cu1\"}",
         32}, /* type */
        {2, good_users, 1,
         "{\"keyId\":\"\",\"class\":\"secret\",\"type\":\"AES\",\"owner\":\"cu1\"}",
         32}, /* empty id */
        {2, good_users, 1, "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]", 32},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        make_payload(p, bad[i].format, bad[i].users, bad[i].count, bad[i].meta, bad[i].mlen);
        err[0] = '\0';
        assert_int_equal(chsm_hsm_snapshot_open(2, p->b, p->n, 10, &snap, err, sizeof err),
                         CHSM_EINVAL);
        assert_null(snap);
        assert_non_null(strstr(err, "invalid"));
    }
    /* Nothing was written. */
    chsm_hsm_cluster d;
    assert_int_equal(chsm_hsm_repo_cluster_get(app->store, DST, &d), CHSM_OK);
    assert_string_equal(d.activation, CHSM_HSM_NOT_ACTIVATED);
    assert_int_equal(chsm_hsm_repo_keys_count(app->store, DST), 0);
    free(p);
    free_app(app);
}

/* ---- crypto/keys.h ---- */

static void test_kcv_known_answer(void **state)
{
    (void)state;
    unsigned char zero[16] = {0}, kcv[3];
    assert_int_equal(chsm_crypto_key_kcv_secret(zero, 16, kcv), CHSM_OK);
    /* AES-128 of the zero block under the zero key is 66e94bd4ef8a2c3b... */
    assert_int_equal(kcv[0], 0x66);
    assert_int_equal(kcv[1], 0xe9);
    assert_int_equal(kcv[2], 0x4b);
    assert_int_equal(chsm_crypto_key_kcv_secret(zero, 15, kcv), CHSM_EINVAL);
}

static void sign_verify(const unsigned char *priv, size_t len, const char *mech)
{
    unsigned char *sig;
    size_t siglen;
    const char *msg = "message to sign";
    assert_int_equal(chsm_crypto_key_sign(priv, len, mech, msg, strlen(msg), &sig, &siglen),
                     CHSM_OK);
    unsigned char *pub;
    size_t publen;
    assert_int_equal(chsm_crypto_key_public_der(priv, len, &pub, &publen), CHSM_OK);
    assert_int_equal(chsm_crypto_key_verify(pub, publen, mech, msg, strlen(msg), sig, siglen), 1);
    assert_int_equal(chsm_crypto_key_verify(priv, len, mech, msg, strlen(msg), sig, siglen), 1);
    assert_int_equal(chsm_crypto_key_verify(pub, publen, mech, "other", 5, sig, siglen), 0);
    sig[siglen / 2] ^= 1;
    assert_int_equal(chsm_crypto_key_verify(pub, publen, mech, msg, strlen(msg), sig, siglen), 0);
    /* A public key cannot sign. */
    unsigned char *s2 = NULL;
    size_t s2len;
    assert_int_equal(chsm_crypto_key_sign(pub, publen, mech, msg, 3, &s2, &s2len), CHSM_EINVAL);
    free(sig);
    free(pub);
}

static void test_sign_verify(void **state)
{
    (void)state;
    unsigned char *rsa, *ec;
    size_t rsalen, eclen;
    assert_int_equal(chsm_crypto_key_generate_rsa(2048, 65537, &rsa, &rsalen), CHSM_OK);
    assert_int_equal(chsm_crypto_key_generate_ec("P-384", &ec, &eclen), CHSM_OK);
    sign_verify(rsa, rsalen, "RSA-PKCS-SHA256");
    sign_verify(rsa, rsalen, "RSA-PSS-SHA384");
    sign_verify(ec, eclen, "ECDSA-SHA256");
    sign_verify(ec, eclen, "ECDSA-SHA512");
    unsigned char *sig = NULL;
    size_t siglen;
    assert_int_equal(chsm_crypto_key_sign(ec, eclen, "RSA-PKCS-SHA256", "x", 1, &sig, &siglen),
                     CHSM_EINVAL);
    assert_int_equal(chsm_crypto_key_sign(rsa, rsalen, "MD5", "x", 1, &sig, &siglen), CHSM_EINVAL);
    chsm_key_desc d;
    assert_int_equal(chsm_crypto_key_describe(ec, eclen, &d), CHSM_OK);
    assert_true(d.is_private);
    assert_string_equal(d.type, "EC");
    assert_string_equal(d.curve, "P-384");
    assert_int_equal(chsm_crypto_key_describe(rsa, rsalen, &d), CHSM_OK);
    assert_string_equal(d.type, "RSA");
    assert_int_equal(d.bits, 2048);
    assert_int_equal(chsm_crypto_key_describe((const unsigned char *)"junk", 4, &d), CHSM_EINVAL);
    char *pem = chsm_crypto_key_public_pem(rsa, rsalen);
    assert_non_null(pem);
    assert_non_null(strstr(pem, "-----BEGIN PUBLIC KEY-----"));
    free(pem);
    assert_int_equal(chsm_crypto_key_generate_rsa(1024, 65537, &sig, &siglen), CHSM_EINVAL);
    assert_int_equal(chsm_crypto_key_generate_rsa(2048, 65536, &sig, &siglen), CHSM_EINVAL);
    assert_int_equal(chsm_crypto_key_generate_ec("secp256k1", &sig, &siglen), CHSM_EINVAL);
    chsm_crypto_key_free(rsa, rsalen);
    chsm_crypto_key_free(ec, eclen);
}

static void test_encrypt_decrypt_wrap(void **state)
{
    (void)state;
    unsigned char key[24], iv[16], tag[16];
    chsm_crypto_random(key, sizeof key);
    chsm_crypto_random(iv, sizeof iv);
    const char *msg = "attack at dawn";
    unsigned char *ct, *pt;
    size_t ctlen, ptlen;
    assert_int_equal(chsm_crypto_key_aes_encrypt(key, 24, "AES-GCM", iv, 12, "aad", 3, msg,
                                                 strlen(msg), &ct, &ctlen, tag),
                     CHSM_OK);
    assert_int_equal(chsm_crypto_key_aes_decrypt(key, 24, "AES-GCM", iv, 12, "aad", 3, ct, ctlen,
                                                 tag, 16, &pt, &ptlen),
                     CHSM_OK);
    assert_memory_equal(pt, msg, strlen(msg));
    free(pt);
    tag[0] ^= 1;
    assert_int_equal(chsm_crypto_key_aes_decrypt(key, 24, "AES-GCM", iv, 12, "aad", 3, ct, ctlen,
                                                 tag, 16, &pt, &ptlen),
                     CHSM_ECRYPTO);
    free(ct);
    assert_int_equal(chsm_crypto_key_aes_encrypt(key, 24, "AES-CBC-PAD", iv, 16, NULL, 0, msg,
                                                 strlen(msg), &ct, &ctlen, tag),
                     CHSM_OK);
    assert_int_equal(ctlen, 16);
    assert_int_equal(chsm_crypto_key_aes_decrypt(key, 24, "AES-CBC-PAD", iv, 16, NULL, 0, ct, ctlen,
                                                 NULL, 0, &pt, &ptlen),
                     CHSM_OK);
    assert_int_equal(ptlen, strlen(msg));
    free(pt);
    free(ct);
    assert_int_equal(
        chsm_crypto_key_aes_encrypt(key, 24, "AES-GCM", iv, 16, NULL, 0, msg, 1, &ct, &ctlen, tag),
        CHSM_EINVAL);

    unsigned char *rsa, *pub;
    size_t rsalen, publen;
    assert_int_equal(chsm_crypto_key_generate_rsa(2048, 65537, &rsa, &rsalen), CHSM_OK);
    assert_int_equal(chsm_crypto_key_public_der(rsa, rsalen, &pub, &publen), CHSM_OK);
    assert_int_equal(chsm_crypto_key_rsa_encrypt(pub, publen, key, 24, &ct, &ctlen), CHSM_OK);
    assert_int_equal(chsm_crypto_key_rsa_decrypt(pub, publen, ct, ctlen, &pt, &ptlen), CHSM_EINVAL);
    assert_int_equal(chsm_crypto_key_rsa_decrypt(rsa, rsalen, ct, ctlen, &pt, &ptlen), CHSM_OK);
    assert_int_equal(ptlen, 24);
    assert_memory_equal(pt, key, 24);
    free(pt);
    free(ct);

    /* RFC 5649 wrap of a private key with a 256-bit KEK. */
    unsigned char kek[32];
    chsm_crypto_random(kek, sizeof kek);
    assert_int_equal(chsm_crypto_key_aes_wrap_pad(kek, 32, rsa, rsalen, &ct, &ctlen), CHSM_OK);
    assert_int_equal(chsm_crypto_key_aes_unwrap_pad(kek, 32, ct, ctlen, &pt, &ptlen), CHSM_OK);
    assert_int_equal(ptlen, rsalen);
    assert_memory_equal(pt, rsa, rsalen);
    chsm_crypto_key_free(pt, ptlen);
    ct[3] ^= 1;
    assert_int_equal(chsm_crypto_key_aes_unwrap_pad(kek, 32, ct, ctlen, &pt, &ptlen), CHSM_ECRYPTO);
    free(ct);
    free(pub);
    chsm_crypto_key_free(rsa, rsalen);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_label_and_fqdn),
        cmocka_unit_test(test_new_cluster_is_not_activated),
        cmocka_unit_test(test_activation_state_machine),
        cmocka_unit_test(test_restore_rules),
        cmocka_unit_test(test_key_material_sealed_at_rest),
        cmocka_unit_test(test_export_import_round_trip),
        cmocka_unit_test(test_bad_snapshots_rejected_without_change),
        cmocka_unit_test(test_v2_round_trip),
        cmocka_unit_test(test_v1_backup_still_restores),
        cmocka_unit_test(test_v2_bad_snapshots_rejected),
        cmocka_unit_test(test_kcv_known_answer),
        cmocka_unit_test(test_sign_verify),
        cmocka_unit_test(test_encrypt_decrypt_wrap),
        cmocka_unit_test(test_keys_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

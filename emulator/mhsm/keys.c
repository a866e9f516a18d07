/* keys.c - Managed HSM key material at rest and single-key backup blobs.
 *
 * Key material (PKCS#8 DER, or raw AES bytes) is sealed with AES-256-GCM
 * under a key derived from the emulator's fleet secret. A key backup is the
 * key's documents (material still sealed) in JSON, sealed again as a whole
 * and encoded base64url: opaque to clients, tamper-evident, and restorable
 * into any Managed HSM of the same emulator (one "security domain"). */
#include "mhsm/mhsm.h"

#include "app/app.h"
#include "crypto/digest.h"
#include "crypto/keys.h"
#include "crypto/seal.h"
#include "util/json.h"
#include "util/status.h"
#include "util/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BACKUP_MAGIC "CHMKB1"
#define BACKUP_MAGIC_LEN 6
#define BACKUP_AAD "chsm managed hsm key backup v1"
#define MAX_BACKUP (4 * 1024 * 1024)

static int derive(const chsm_app *app, const char *purpose, unsigned char key[32])
{
    return chsm_crypto_hkdf_sha256(app->fleet_secret, sizeof app->fleet_secret, "chsm-mhsm", 9,
                                   purpose, strlen(purpose), key, 32);
}

/* seal_raw writes iv(12) | tag(16) | cipher(n) to a new buffer. */
static int seal_raw(const chsm_app *app, const char *purpose, const char *aad, const void *data,
                    size_t n, unsigned char **out, size_t *outlen)
{
    unsigned char key[32];
    int rc = derive(app, purpose, key);
    unsigned char *buf = rc == CHSM_OK ? malloc(28 + n + 1) : NULL;
    if (!buf) {
        chsm_crypto_key_wipe(key, sizeof key);
        return rc == CHSM_OK ? CHSM_ENOMEM : rc;
    }
    rc = chsm_crypto_random(buf, 12);
    if (rc == CHSM_OK)
        rc = chsm_crypto_aes256gcm_seal(key, buf, aad, strlen(aad), data, n, buf + 28, buf + 12);
    chsm_crypto_key_wipe(key, sizeof key);
    if (rc != CHSM_OK) {
        free(buf);
        return rc;
    }
    *out = buf;
    *outlen = 28 + n;
    return CHSM_OK;
}

static int open_raw(const chsm_app *app, const char *purpose, const char *aad,
                    const unsigned char *in, size_t n, unsigned char **out, size_t *outlen)
{
    if (n < 28)
        return CHSM_ECRYPTO;
    unsigned char key[32];
    int rc = derive(app, purpose, key);
    unsigned char *plain = rc == CHSM_OK ? malloc(n - 28 + 1) : NULL;
    if (!plain) {
        chsm_crypto_key_wipe(key, sizeof key);
        return rc == CHSM_OK ? CHSM_ENOMEM : rc;
    }
    rc = chsm_crypto_aes256gcm_open(key, in, aad, strlen(aad), in + 28, n - 28, in + 12, plain);
    chsm_crypto_key_wipe(key, sizeof key);
    if (rc != CHSM_OK) {
        free(plain);
        return CHSM_ECRYPTO;
    }
    plain[n - 28] = '\0';
    *out = plain;
    *outlen = n - 28;
    return CHSM_OK;
}

char *chsm_mhsm_seal(const struct chsm_app *app, const char *context, const void *data, size_t n)
{
    unsigned char *raw = NULL;
    size_t rawlen = 0;
    if (seal_raw(app, "key material", context, data, n, &raw, &rawlen) != CHSM_OK)
        return NULL;
    char *s = chsm_crypto_base64_encode(raw, rawlen);
    free(raw);
    return s;
}

int chsm_mhsm_unseal(const struct chsm_app *app, const char *context, const char *sealed,
                     unsigned char **out, size_t *outlen)
{
    unsigned char *raw = NULL;
    size_t rawlen = 0;
    if (!sealed || chsm_crypto_base64_decode(sealed, &raw, &rawlen) != CHSM_OK)
        return CHSM_ECRYPTO;
    int rc = open_raw(app, "key material", context, raw, rawlen, out, outlen);
    free(raw);
    return rc;
}

char *chsm_mhsm_key_id(const char *hsm_id, const char *name)
{
    size_t n = strlen(hsm_id) + strlen(name) + 8;
    char *id = malloc(n);
    if (id)
        snprintf(id, n, "%s/keys/%s", hsm_id, name);
    return id;
}

char *chsm_mhsm_version_id(const char *hsm_id, const char *name, const char *version)
{
    size_t n = strlen(hsm_id) + strlen(name) + strlen(version) + 20;
    char *id = malloc(n);
    if (id)
        snprintf(id, n, "%s/keys/%s/versions/%s", hsm_id, name, version);
    return id;
}

int chsm_mhsm_key_backup(struct chsm_app *app, const char *hsm_id, const char *name, char **blob)
{
    *blob = NULL;
    char *key_id = chsm_mhsm_key_id(hsm_id, name);
    if (!key_id)
        return CHSM_ENOMEM;
    chsm_resource key;
    int rc = chsm_resources_get(app->store, key_id, &key);
    if (rc != CHSM_OK) {
        free(key_id);
        return rc;
    }
    if (cJSON_IsObject(cJSON_GetObjectItem(key.body, "deleted"))) {
        chsm_resource_clear(&key);
        free(key_id);
        return CHSM_ENOTFOUND;
    }
    chsm_resource_query q = {.type = CHSM_MHSM_KEY_VERSION_TYPE, .parent_id = key_id};
    chsm_resource *rows = NULL;
    size_t n = 0;
    rc = chsm_resources_list(app->store, &q, &rows, &n);
    free(key_id);
    if (rc != CHSM_OK) {
        chsm_resource_clear(&key);
        return rc;
    }
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "format", "chsm-mhsm-key-backup");
    cJSON_AddNumberToObject(doc, "version", 1);
    cJSON_AddItemToObject(doc, "key", key.body);
    key.body = NULL;
    cJSON *versions = cJSON_AddArrayToObject(doc, "versions");
    for (size_t i = 0; i < n; i++) {
        cJSON_AddItemToArray(versions, rows[i].body);
        rows[i].body = NULL;
    }
    chsm_resources_free(rows, n);
    chsm_resource_clear(&key);
    char *text = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    if (!text)
        return CHSM_ENOMEM;
    unsigned char *raw = NULL;
    size_t rawlen = 0;
    rc = seal_raw(app, "key backup", BACKUP_AAD, text, strlen(text), &raw, &rawlen);
    free(text);
    if (rc != CHSM_OK)
        return rc;
    unsigned char *framed = malloc(rawlen + BACKUP_MAGIC_LEN);
    if (!framed) {
        free(raw);
        return CHSM_ENOMEM;
    }
    memcpy(framed, BACKUP_MAGIC, BACKUP_MAGIC_LEN);
    memcpy(framed + BACKUP_MAGIC_LEN, raw, rawlen);
    free(raw);
    *blob = chsm_crypto_base64url_encode(framed, rawlen + BACKUP_MAGIC_LEN);
    free(framed);
    return *blob ? CHSM_OK : CHSM_ENOMEM;
}

static int decode_blob(const char *blob, unsigned char **out, size_t *outlen)
{
    size_t n = strlen(blob);
    if (n == 0 || n > MAX_BACKUP)
        return CHSM_EINVAL;
    /* Accept base64url with or without padding, and standard base64 too. */
    char *copy = chsm_strdup(blob);
    if (!copy)
        return CHSM_ENOMEM;
    for (char *c = copy; *c; c++) {
        if (*c == '+')
            *c = '-';
        else if (*c == '/')
            *c = '_';
    }
    while (n > 0 && copy[n - 1] == '=')
        copy[--n] = '\0';
    int rc = chsm_crypto_base64url_decode(copy, n, out, outlen);
    free(copy);
    return rc == CHSM_OK ? CHSM_OK : CHSM_EINVAL;
}

int chsm_mhsm_key_restore(struct chsm_app *app, const char *hsm_id, const char *blob, char *name,
                          size_t namelen)
{
    unsigned char *framed = NULL;
    size_t framedlen = 0;
    if (!blob || decode_blob(blob, &framed, &framedlen) != CHSM_OK)
        return CHSM_EINVAL;
    unsigned char *plain = NULL;
    size_t plainlen = 0;
    int rc = framedlen > BACKUP_MAGIC_LEN && memcmp(framed, BACKUP_MAGIC, BACKUP_MAGIC_LEN) == 0
                 ? open_raw(app, "key backup", BACKUP_AAD, framed + BACKUP_MAGIC_LEN,
                            framedlen - BACKUP_MAGIC_LEN, &plain, &plainlen)
                 : CHSM_EINVAL;
    free(framed);
    if (rc != CHSM_OK)
        return CHSM_EINVAL;
    cJSON *doc = cJSON_ParseWithLength((const char *)plain, plainlen);
    free(plain);
    cJSON *key = doc ? chsm_json_obj(doc, "key") : NULL;
    const cJSON *versions = doc ? cJSON_GetObjectItem(doc, "versions") : NULL;
    const char *key_name = key ? chsm_json_str(key, "name") : NULL;
    if (!key_name || !cJSON_IsArray(versions) || cJSON_GetArraySize(versions) < 1 ||
        strlen(key_name) >= namelen) {
        cJSON_Delete(doc);
        return CHSM_EINVAL;
    }
    snprintf(name, namelen, "%s", key_name);
    char *key_id = chsm_mhsm_key_id(hsm_id, key_name);
    /* Checked before the transaction: a rollback would doom a caller's
     * enclosing transaction (a full restore replaces keys that exist). */
    int exists = key_id ? chsm_resources_exists(app->store, key_id) : -1;
    rc = !key_id ? CHSM_ENOMEM : exists == 0 ? CHSM_OK : exists == 1 ? CHSM_EEXISTS : CHSM_EIO;
    if (rc == CHSM_OK)
        rc = chsm_store_begin(app->store);
    if (rc == CHSM_OK) {
        cJSON_DeleteItemFromObject(key, "deleted");
        chsm_resource kr = {.id = key_id,
                            .type = CHSM_MHSM_KEY_TYPE,
                            .name = (char *)key_name,
                            .parent_id = (char *)hsm_id,
                            .body = key};
        if (rc == CHSM_OK)
            rc = chsm_resources_put(app->store, &kr);
        const cJSON *v;
        cJSON_ArrayForEach(v, versions)
        {
            const char *ver = chsm_json_str(v, "version");
            if (rc != CHSM_OK)
                break;
            if (!ver || strlen(ver) != 32) {
                rc = CHSM_EINVAL;
                break;
            }
            char *vid = chsm_mhsm_version_id(hsm_id, key_name, ver);
            chsm_resource vr = {.id = vid,
                                .type = CHSM_MHSM_KEY_VERSION_TYPE,
                                .name = (char *)ver,
                                .parent_id = key_id,
                                .body = (cJSON *)v};
            rc = vid ? chsm_resources_put(app->store, &vr) : CHSM_ENOMEM;
            free(vid);
        }
        if (rc == CHSM_OK)
            rc = chsm_store_commit(app->store);
        else
            chsm_store_rollback(app->store);
    }
    free(key_id);
    cJSON_Delete(doc);
    return rc;
}

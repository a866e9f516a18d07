/* fuzz_backup.c - the Cloud HSM backup codec (hsm/backup_codec.h) and the
 * snapshots it carries (hsm/snapshot.h: format 1 JSON, format 2 binary).
 *
 * Each input is used three times:
 *  1. as a backup blob: peek and decode it under the harness's fixed fleet
 *     secret (mutated seeds are real backups sealed under that secret, so
 *     the header and length checks see near-valid blobs); a blob that
 *     decodes must peek to the same header, and decode in place to the
 *     same payload;
 *  2. as a payload: sealed with chsm_backup_encode, it must decode to the
 *     same bytes; it is then read as a format-1 snapshot;
 *  3. as a format-2 payload, directly.
 * Every snapshot that opens is imported into a cluster inside a transaction
 * that is rolled back, so the cluster stays as it was.
 *
 * CHSM_FUZZ_WRITE_SEEDS=DIR makes the harness write its seeds (sealed
 * backups of a cluster with users and AES/RSA/EC keys in both formats, their
 * payloads, and a backup cut short) into DIR and exit. */
#include "harness.h"

#include "hsm/backup_codec.h"
#include "hsm/model.h"
#include "hsm/snapshot.h"
#include "store/store.h"
#include "util/json.h"
#include "util/status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_INPUT (1024 * 1024)

static chsm_app *app;
static char cluster_id[512];
static char label[128];
/* Backups in the seed corpus are sealed under this secret. */
static const unsigned char fleet_secret[32] = "chsm fuzz fleet secret 32 bytes";

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_backup: %s\n", what);
        abort();
    }
}

static void write_file(const char *dir, const char *name, const void *data, size_t n)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    check(f && fwrite(data, 1, n, f) == n && fclose(f) == 0, "cannot write a seed");
}

/* write_seeds fills the cluster with users and keys, then writes seeds. */
static void write_seeds(const char *dir)
{
    cJSON *j = NULL;
    int st = fuzz_hsm_call(app, label, "POST", "/login", NULL,
                           "{\"userType\":\"PRECO\",\"username\":\"admin\",\"password\":"
                           "\"tenantadmin\"}",
                           &j);
    char co[256], cu[256];
    snprintf(co, sizeof co, "%s", st == 200 ? chsm_json_str(j, "session") : "");
    cJSON_Delete(j);
    st = fuzz_hsm_call(app, label, "POST", "/activate", co, "{\"newPassword\":\"CoPassword1!\"}",
                       NULL);
    check(st == 200, "cannot activate the cluster");
    st =
        fuzz_hsm_call(app, label, "POST", "/users", co,
                      "{\"userType\":\"CU\",\"username\":\"cu1\",\"password\":\"user1234\"}", NULL);
    check(st == 201, "cannot create a crypto user");
    st = fuzz_hsm_call(app, label, "POST", "/login", NULL,
                       "{\"userType\":\"CU\",\"username\":\"cu1\",\"password\":\"user1234\"}", &j);
    snprintf(cu, sizeof cu, "%s", st == 200 ? chsm_json_str(j, "session") : "");
    cJSON_Delete(j);
    static const char *const keys[] = {
        "{\"type\":\"AES\",\"size\":256,\"label\":\"aes\",\"keyId\":\"aes-1\"}",
        "{\"type\":\"RSA\",\"size\":2048,\"label\":\"rsa\",\"keyId\":\"rsa-1\"}",
        "{\"type\":\"EC\",\"curve\":\"P-256\",\"label\":\"ec\",\"tags\":{\"k\":\"v\"}}",
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        check(fuzz_hsm_call(app, label, "POST", "/keys", cu, keys[i], NULL) == 201,
              "cannot generate a key");
    cJSON *snap = NULL;
    check(chsm_hsm_export(app, cluster_id, &snap) == CHSM_OK, "cannot export the cluster");
    char *payload = cJSON_PrintUnformatted(snap);
    cJSON_Delete(snap);
    unsigned char *blob = NULL;
    size_t n = 0;
    check(chsm_backup_encode(fleet_secret, "cloudhsm-0123456789abcdef-2026010100000000", cluster_id,
                             1767225600000, payload, strlen(payload), &blob, &n) == CHSM_OK,
          "cannot encode a backup");
    write_file(dir, "backup_full", blob, n);
    write_file(dir, "backup_header_only", blob, 80 + strlen(cluster_id) + 42);
    write_file(dir, "payload_full.json", payload, strlen(payload));
    free(blob);
    const char *small = "{\"format\":1,\"cluster\":{},\"users\":[{\"userId\":1,\"userType\":"
                        "\"CO\",\"username\":\"admin\",\"passwordHash\":\"pbkdf2-sha256$1$"
                        "c2FsdHNhbHQ=$AAAA\",\"loginFailureCount\":0,\"locked\":false}],"
                        "\"keys\":[],\"roleAssignments\":[]}";
    check(chsm_backup_encode(fleet_secret, "b1", "/x", 0, small, strlen(small), &blob, &n) ==
              CHSM_OK,
          "cannot encode a backup");
    write_file(dir, "backup_small", blob, n);
    write_file(dir, "payload_small.json", small, strlen(small));
    free(blob);
    free(payload);
    /* Format 2: the blob the emulator writes now, and its payload. */
    chsm_backup_writer w;
    check(chsm_backup_writer_begin(&w, "cloudhsm-0123456789abcdef-2026010100000001", cluster_id,
                                   1767225600000, 0) == CHSM_OK &&
              chsm_hsm_snapshot_write(app, cluster_id, &w) == CHSM_OK &&
              chsm_backup_writer_finish(&w, fleet_secret, &blob, &n) == CHSM_OK,
          "cannot write a format-2 backup");
    write_file(dir, "backup_v2_full", blob, n);
    chsm_backup_header h;
    char err[256];
    unsigned char *p2 = NULL;
    size_t n2 = 0;
    check(chsm_backup_decode(fleet_secret, blob, n, &h, &p2, &n2, err, sizeof err) == CHSM_OK,
          "cannot decode a format-2 backup");
    write_file(dir, "payload_v2_full.bin", p2, n2);
    free(p2);
    free(blob);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    app = fuzz_app_open();
    fuzz_cluster_create(app, "fuzz-backup", cluster_id, sizeof cluster_id, label, sizeof label);
    const char *dir = getenv("CHSM_FUZZ_WRITE_SEEDS");
    if (dir) {
        write_seeds(dir);
        exit(0);
    }
    return 0;
}

/* restore opens a decoded payload as a snapshot of format and imports it, rolled back. */
static void restore(int format, const unsigned char *payload, size_t n)
{
    chsm_hsm_snapshot *snap = NULL;
    char err[512];
    err[0] = '\0';
    if (chsm_hsm_snapshot_open(format, payload, n, CHSM_HSM_MAX_KEYS, &snap, err, sizeof err) ==
        CHSM_OK) {
        check(chsm_store_begin(app->store) == CHSM_OK, "cannot begin");
        chsm_hsm_snapshot_import(app, cluster_id, snap, err, sizeof err);
        chsm_store_rollback(app->store);
        chsm_hsm_snapshot_free(snap);
    } else {
        check(err[0] != '\0', "a refused snapshot gave no reason");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_INPUT)
        return 0;
    chsm_backup_header h, peeked;
    char err[256];
    unsigned char *payload = NULL;
    size_t n = 0;
    int peek_rc = chsm_backup_peek(data, size, &peeked, err, sizeof err);
    if (chsm_backup_decode(fleet_secret, data, size, &h, &payload, &n, err, sizeof err) ==
        CHSM_OK) {
        check(peek_rc == CHSM_OK && strcmp(h.backup_id, peeked.backup_id) == 0 &&
                  strcmp(h.source_id, peeked.source_id) == 0 && h.payload_len == peeked.payload_len,
              "decode and peek disagree");
        unsigned char *copy = malloc(size), *in_place = NULL;
        size_t m = 0;
        check(copy != NULL, "out of memory");
        memcpy(copy, data, size);
        check(chsm_backup_decode_in_place(fleet_secret, copy, size, &h, &in_place, &m, err,
                                          sizeof err) == CHSM_OK &&
                  m == n && (n == 0 || memcmp(in_place, payload, n) == 0),
              "decode in place and decode disagree");
        free(copy);
        restore(h.version, payload, n);
        free(payload);
        payload = NULL;
    }
    restore(2, data, size);

    unsigned char *blob = NULL;
    size_t bloblen = 0;
    if (chsm_backup_encode(fleet_secret, "fuzz-backup", cluster_id, 0, data, size, &blob,
                           &bloblen) == CHSM_OK) {
        check(chsm_backup_decode(fleet_secret, blob, bloblen, &h, &payload, &n, err, sizeof err) ==
                  CHSM_OK,
              "an encoded backup does not decode");
        check(n == size && (size == 0 || memcmp(payload, data, size) == 0),
              "a backup does not decode to its payload");
        restore(1, payload, n);
        free(payload);
        free(blob);
    }
    return 0;
}

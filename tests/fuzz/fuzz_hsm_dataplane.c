/* fuzz_hsm_dataplane.c - the simulated HSM data plane (emulator/hsm/
 * dataplane.c) through chsm_app_dispatch at /hsm/{label}/...: login and
 * sessions, activation, users, key generation, find, attributes, sharing,
 * sign/verify, encrypt/decrypt, wrap/unwrap and random.
 *
 * Setup (at start and every RESET_EVERY inputs, after emptying the store):
 * an activated cluster with a CO, crypto users cu1 and cu2 and AES, RSA and
 * EC keys of cu1, the AES key shared with cu2.
 *
 * Input: METHOD SP PATH LF (Name ":" value LF)* LF body, the path relative
 * to /hsm/{label}. Before dispatch "{co}", "{cu}" and "{cu2}" become those
 * users' session tokens and "{aes}", "{rsa}", "{rsapub}", "{ec}", "{ecpub}"
 * the key handles, so seeds reach the handlers behind the session check. */
#include "harness.h"

#include "util/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RESET_EVERY 1000
#define MAX_INPUT (64 * 1024)

static chsm_app *app;
static char label[128];
static char prefix[160];
static char sess_co[256], sess_cu[256], sess_cu2[256];
static char h_aes[32], h_rsa[32], h_rsapub[32], h_ec[32], h_ecpub[32];
static const char *vars[] = {"co",  sess_co, "cu",    sess_cu, "cu2",    sess_cu2,
                             "aes", h_aes,   "rsa",   h_rsa,   "rsapub", h_rsapub,
                             "ec",  h_ec,    "ecpub", h_ecpub, NULL};

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void need(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_hsm_dataplane: setup failed: %s\n", what);
        abort();
    }
}

static void login(const char *type, const char *user, const char *password, char *out,
                  size_t outlen)
{
    char body[256];
    snprintf(body, sizeof body, "{\"userType\":\"%s\",\"username\":\"%s\",\"password\":\"%s\"}",
             type, user, password);
    cJSON *j = NULL;
    int st = fuzz_hsm_call(app, label, "POST", "/login", NULL, body, &j);
    const char *s = chsm_json_str(j, "session");
    need(st == 200 && s, "login");
    snprintf(out, outlen, "%s", s);
    cJSON_Delete(j);
}

/* generate makes a key as cu1 and writes the handles of its (one or two) halves. */
static void generate(const char *body, char *first, char *second)
{
    cJSON *j = NULL;
    int st = fuzz_hsm_call(app, label, "POST", "/keys", sess_cu, body, &j);
    const cJSON *keys = cJSON_GetObjectItem(j, "keys");
    need(st == 201 && cJSON_GetArraySize(keys) >= (second ? 2 : 1), "key generation");
    snprintf(first, 32, "%.0f",
             cJSON_GetObjectItem(cJSON_GetArrayItem(keys, 0), "handle")->valuedouble);
    if (second)
        snprintf(second, 32, "%.0f",
                 cJSON_GetObjectItem(cJSON_GetArrayItem(keys, 1), "handle")->valuedouble);
    cJSON_Delete(j);
}

static void setup(void)
{
    char id[512];
    fuzz_cluster_create(app, "fuzz-dp", id, sizeof id, label, sizeof label);
    snprintf(prefix, sizeof prefix, "/hsm/%s", label);
    login("PRECO", "admin", "tenantadmin", sess_co, sizeof sess_co);
    need(fuzz_hsm_call(app, label, "POST", "/activate", sess_co,
                       "{\"newPassword\":\"CoPassword1!\"}", NULL) == 200,
         "activation");
    need(fuzz_hsm_call(app, label, "POST", "/users", sess_co,
                       "{\"userType\":\"CU\",\"username\":\"cu1\",\"password\":\"user1234\"}",
                       NULL) == 201,
         "user cu1");
    need(fuzz_hsm_call(app, label, "POST", "/users", sess_co,
                       "{\"userType\":\"CU\",\"username\":\"cu2\",\"password\":\"user5678\"}",
                       NULL) == 201,
         "user cu2");
    login("CU", "cu1", "user1234", sess_cu, sizeof sess_cu);
    login("CU", "cu2", "user5678", sess_cu2, sizeof sess_cu2);
    generate("{\"type\":\"AES\",\"size\":256,\"label\":\"aes\",\"keyId\":\"aes-1\"}", h_aes, NULL);
    generate("{\"type\":\"RSA\",\"size\":2048,\"label\":\"rsa\",\"keyId\":\"rsa-1\"}", h_rsapub,
             h_rsa);
    generate("{\"type\":\"EC\",\"curve\":\"P-256\",\"label\":\"ec\"}", h_ecpub, h_ec);
    char path[64];
    snprintf(path, sizeof path, "/keys/%s/share", h_aes);
    need(fuzz_hsm_call(app, label, "POST", path, sess_cu, "{\"username\":\"cu2\",\"share\":true}",
                       NULL) == 200,
         "sharing");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    app = fuzz_app_open();
    setup();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static unsigned long runs;
    if (size > MAX_INPUT)
        return 0;
    size_t n = 0;
    char *text = fuzz_expand(data, size, vars, &n);
    if (text)
        fuzz_send_raw(app, CHSM_LISTENER_ARM, (const uint8_t *)text, n, prefix);
    free(text);
    fuzz_after_input(app);
    if (++runs % RESET_EVERY == 0) {
        fuzz_reset(app);
        setup();
    }
    return 0;
}

/* test_pkcs11_module.c - libchsm-pkcs11.so loaded with dlopen and driven through its function
 * list against a real emulator started with the tutorial-ready fixture (CHSM_EMULATOR and
 * CHSM_PKCS11_MODULE, or the build directory's chsm-emulator and client/pkcs11 module): library
 * state, sessions and login (wrong PIN, locked user, wrong state), key generation in R/O and R/W
 * sessions, attributes (sensitive, missing, two calls, one-way changes), AES-GCM/CBC, RSA-OAEP,
 * ECDSA, wrap/unwrap and CKA_EXTRACTABLE, session objects, digest, random, several threads at once,
 * and finalisation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <p11-kit/pkcs11.h>

#include "chsmc_arm.h"
#include "chsmc_client.h"
#include "chsmc_config.h"
#include "chsmc_hsm.h"

#define FIXTURE_SUB "00000000-0000-0000-0000-000000000001"

static pid_t emu_pid;
static char emu_dir[256];
static void *lib;
static CK_FUNCTION_LIST_PTR F;
static CK_UTF8CHAR PIN[] = "cu1:user1234";
#define PIN_LEN (sizeof PIN - 1)

/* start: the emulator with the fixture, a CU to lock, the module's cfg, the module. */
static int start(void **state)
{
    (void)state;
    /* the build directory's binaries unless told otherwise */
    char self[1024], emu_path[1100], mod_path[1100];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return -1;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = '\0';
    snprintf(emu_path, sizeof emu_path, "%s/chsm-emulator", self);
    snprintf(mod_path, sizeof mod_path, "%s/client/pkcs11/libchsm-pkcs11.so", self);
    const char *bin = getenv("CHSM_EMULATOR"), *mod = getenv("CHSM_PKCS11_MODULE");
    bin = bin && *bin ? bin : emu_path;
    mod = mod && *mod ? mod : mod_path;
    if (access(bin, X_OK) != 0 || access(mod, R_OK) != 0) {
        fprintf(stderr,
                "test_pkcs11_module: %s or %s is missing (build chsm-emulator and chsm-pkcs11)\n",
                bin, mod);
        return -1;
    }
    unsetenv("CHSM_ENDPOINT");
    unsetenv("CHSM_CA_CERT");
    unsetenv("CHSM_DATA_DIR");
    snprintf(emu_dir, sizeof emu_dir, "/tmp/chsm-p11-XXXXXX");
    if (!mkdtemp(emu_dir))
        return -1;
    char log[300];
    snprintf(log, sizeof log, "%s/emulator.log", emu_dir);
    emu_pid = fork();
    if (emu_pid < 0)
        return -1;
    if (emu_pid == 0) {
        FILE *f = freopen(log, "w", stdout);
        (void)f;
        dup2(STDOUT_FILENO, STDERR_FILENO);
        execl(bin, bin, "--listen", "127.0.0.1:0", "--blob-listen", "127.0.0.1:0", "--data-dir",
              emu_dir, "--log-level", "warn", "--fixture", "tutorial-ready", (char *)NULL);
        _exit(127);
    }
    char path[300];
    snprintf(path, sizeof path, "%s/emulator.json", emu_dir);
    for (int i = 0; i < 400; i++) {
        struct stat st;
        if (stat(path, &st) == 0 && st.st_size > 0)
            break;
        chsmc_sleep_ms(25);
    }
    chsmc_endpoint_opts o = {0};
    o.data_dir = emu_dir;
    chsmc_endpoint ep;
    chsmc_error e;
    chsmc_client *c = NULL;
    if (chsmc_endpoint_resolve(&o, &ep, &e) != CHSMC_OK ||
        chsmc_client_new(&ep, &c, &e) != CHSMC_OK)
        return -1;
    char rpath[512];
    chsmc_path_resource(FIXTURE_SUB, "dr-rg", CHSMC_TYPE_CLUSTER, "chsm-src", rpath, sizeof rpath);
    cJSON *cl = NULL;
    if (chsmc_arm_call(c, "GET", rpath, CHSMC_API_CLOUDHSM, NULL, NULL, &cl, &e) != CHSMC_OK)
        return -1;
    const char *fqdn = cJSON_GetStringValue(cJSON_GetObjectItem(
        cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(cl, "properties"), "hsms"), 0),
        "fqdn"));
    char host[256];
    snprintf(host, sizeof host, "%s", fqdn ? fqdn : "");
    cJSON_Delete(cl);
    /* a second crypto user, to be locked out */
    chsmc_hsm *h = NULL;
    int rc = chsmc_hsm_open(c, host, &h, &e);
    if (rc == CHSMC_OK)
        rc = chsmc_hsm_login(h, "CO", "admin", "CoPassword1!", &e);
    if (rc == CHSMC_OK)
        rc = chsmc_hsm_create_user(h, "CU", "cu2", "user5678", NULL, &e);
    chsmc_hsm_free(h);
    chsmc_client_free(c);
    if (rc != CHSMC_OK)
        return -1;
    char *cfg = chsmc_cfg_render(host, ep.arm_url, ep.ca_cert);
    snprintf(path, sizeof path, "%s/azcloudhsm_resource.cfg", emu_dir);
    rc = cfg ? chsmc_write_file(path, cfg, strlen(cfg), 0600) : CHSMC_ENOMEM;
    free(cfg);
    if (rc != CHSMC_OK)
        return -1;
    setenv("CHSM_PKCS11_CONFIG", path, 1);
    lib = dlopen(mod, RTLD_NOW | RTLD_LOCAL);
    if (!lib)
        return -1;
    CK_C_GetFunctionList gfl = (CK_C_GetFunctionList)dlsym(lib, "C_GetFunctionList");
    return gfl && gfl(&F) == CKR_OK ? 0 : -1;
}

static int stop(void **state)
{
    (void)state;
    if (F)
        F->C_Finalize(NULL);
    if (lib)
        dlclose(lib);
    if (emu_pid > 0) {
        kill(emu_pid, SIGTERM);
        waitpid(emu_pid, NULL, 0);
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", emu_dir);
        if (system(cmd) != 0)
            return -1;
    }
    return 0;
}

#define NEED_MODULE()                                                                              \
    do {                                                                                           \
        if (!F)                                                                                    \
            skip();                                                                                \
    } while (0)

static CK_SESSION_HANDLE open_session(CK_FLAGS extra)
{
    CK_SESSION_HANDLE s = 0;
    assert_int_equal(F->C_OpenSession(1, CKF_SERIAL_SESSION | extra, NULL, NULL, &s), CKR_OK);
    return s;
}

static void test_library(void **state)
{
    (void)state;
    NEED_MODULE();
    CK_INFO info;
    assert_int_equal(F->C_GetInfo(&info), CKR_CRYPTOKI_NOT_INITIALIZED);
    CK_ULONG n = 0;
    assert_int_equal(F->C_GetSlotList(CK_TRUE, NULL, &n), CKR_CRYPTOKI_NOT_INITIALIZED);
    CK_C_INITIALIZE_ARGS a;
    memset(&a, 0, sizeof a);
    a.pReserved = &a;
    assert_int_equal(F->C_Initialize(&a), CKR_ARGUMENTS_BAD);
    a.pReserved = NULL;
    a.CreateMutex = (CK_CREATEMUTEX)1; /* some but not all callbacks */
    assert_int_equal(F->C_Initialize(&a), CKR_ARGUMENTS_BAD);
    a.CreateMutex = NULL;
    a.flags = CKF_OS_LOCKING_OK;
    assert_int_equal(F->C_Initialize(&a), CKR_OK);
    assert_int_equal(F->C_Initialize(NULL), CKR_CRYPTOKI_ALREADY_INITIALIZED);
    assert_int_equal(F->C_GetInfo(&info), CKR_OK);
    assert_int_equal(info.cryptokiVersion.major, 2);
    assert_int_equal(info.cryptokiVersion.minor, 40);
    assert_memory_equal(info.manufacturerID, "chsm-emulator   ", 16);
    /* two calls for the slot list */
    assert_int_equal(F->C_GetSlotList(CK_TRUE, NULL, &n), CKR_OK);
    assert_int_equal(n, 1);
    CK_SLOT_ID slots[2];
    n = 0;
    assert_int_equal(F->C_GetSlotList(CK_TRUE, slots, &n), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(n, 1);
    n = 2;
    assert_int_equal(F->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
    assert_int_equal(slots[0], 1);
    CK_TOKEN_INFO ti;
    assert_int_equal(F->C_GetTokenInfo(1, &ti), CKR_OK);
    assert_memory_equal(ti.label, "chsm-src ", 9);
    assert_true(ti.flags & CKF_LOGIN_REQUIRED);
    assert_true(ti.flags & CKF_TOKEN_INITIALIZED);
    assert_int_equal(F->C_GetTokenInfo(9, &ti), CKR_SLOT_ID_INVALID);
    CK_MECHANISM_INFO mi;
    assert_int_equal(F->C_GetMechanismInfo(1, CKM_RSA_PKCS_OAEP, &mi), CKR_OK);
    assert_int_equal(mi.ulMinKeySize, 2048);
    assert_true(mi.flags & CKF_UNWRAP);
    assert_int_equal(F->C_GetMechanismInfo(1, CKM_DES3_CBC, &mi), CKR_MECHANISM_INVALID);
    assert_int_equal(F->C_InitToken(1, NULL, 0, NULL), CKR_FUNCTION_NOT_SUPPORTED);
    assert_int_equal(F->C_DeriveKey(1, NULL, 0, NULL, 0, NULL), CKR_FUNCTION_NOT_SUPPORTED);
}

static void test_login(void **state)
{
    (void)state;
    NEED_MODULE();
    CK_SESSION_HANDLE s = 0;
    assert_int_equal(F->C_OpenSession(1, 0, NULL, NULL, &s), CKR_SESSION_PARALLEL_NOT_SUPPORTED);
    s = open_session(0);
    CK_SESSION_INFO si;
    assert_int_equal(F->C_GetSessionInfo(s, &si), CKR_OK);
    assert_int_equal(si.state, CKS_RO_PUBLIC_SESSION);
    assert_int_equal(F->C_GetSessionInfo(s + 1000, &si), CKR_SESSION_HANDLE_INVALID);
    /* not logged in: no keys, no key operations */
    CK_MECHANISM gen = {CKM_AES_KEY_GEN, NULL, 0};
    CK_OBJECT_HANDLE k;
    assert_int_equal(F->C_GenerateKey(s, &gen, NULL, 0, &k), CKR_USER_NOT_LOGGED_IN);
    unsigned char r[4];
    assert_int_equal(F->C_GenerateRandom(s, r, 4), CKR_USER_NOT_LOGGED_IN);
    assert_int_equal(F->C_Logout(s), CKR_USER_NOT_LOGGED_IN);
    /* wrong PINs, then a locked user */
    assert_int_equal(F->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR) "cu1:wrong123", 12),
                     CKR_PIN_INCORRECT);
    assert_int_equal(F->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR) "user1234", 8), CKR_PIN_INCORRECT);
    for (int i = 0; i < 4; i++)
        assert_int_equal(F->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR) "cu2:badpass1", 12),
                         CKR_PIN_INCORRECT);
    /* the fifth failure locks the user (the data plane answers 423 at once) */
    assert_int_equal(F->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR) "cu2:badpass1", 12), CKR_PIN_LOCKED);
    assert_int_equal(F->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR) "cu2:user5678", 12), CKR_PIN_LOCKED);
    /* the SO may not log in while a R/O session is open */
    assert_int_equal(F->C_Login(s, CKU_SO, (CK_UTF8CHAR_PTR) "admin:CoPassword1!", 18),
                     CKR_SESSION_READ_ONLY_EXISTS);
    assert_int_equal(F->C_Login(s, CKU_USER, PIN, PIN_LEN), CKR_OK);
    assert_int_equal(F->C_GetSessionInfo(s, &si), CKR_OK);
    assert_int_equal(si.state, CKS_RO_USER_FUNCTIONS);
    CK_SESSION_HANDLE s2 = open_session(CKF_RW_SESSION); /* login is per token: shared */
    assert_int_equal(F->C_GetSessionInfo(s2, &si), CKR_OK);
    assert_int_equal(si.state, CKS_RW_USER_FUNCTIONS);
    assert_int_equal(F->C_Login(s2, CKU_USER, PIN, PIN_LEN), CKR_USER_ALREADY_LOGGED_IN);
    assert_int_equal(F->C_Login(s2, CKU_SO, (CK_UTF8CHAR_PTR) "admin:CoPassword1!", 18),
                     CKR_USER_ANOTHER_ALREADY_LOGGED_IN);
    assert_int_equal(F->C_Logout(s2), CKR_OK);
    assert_int_equal(F->C_GetSessionInfo(s, &si), CKR_OK);
    assert_int_equal(si.state, CKS_RO_PUBLIC_SESSION);
    assert_int_equal(F->C_CloseAllSessions(1), CKR_OK);
    assert_int_equal(F->C_CloseSession(s), CKR_SESSION_HANDLE_INVALID);
}

static CK_OBJECT_HANDLE gen_aes(CK_SESSION_HANDLE s, const char *id, CK_BBOOL token,
                                CK_BBOOL extractable)
{
    CK_MECHANISM gen = {CKM_AES_KEY_GEN, NULL, 0};
    CK_ULONG len = 32;
    CK_BBOOL t = CK_TRUE;
    CK_ATTRIBUTE tmpl[] = {{CKA_VALUE_LEN, &len, sizeof len},  {CKA_TOKEN, &token, sizeof token},
                           {CKA_ID, (void *)id, strlen(id)},   {CKA_LABEL, "unit-aes", 8},
                           {CKA_EXTRACTABLE, &extractable, 1}, {CKA_SENSITIVE, &t, sizeof t}};
    CK_OBJECT_HANDLE k = 0;
    assert_int_equal(F->C_GenerateKey(s, &gen, tmpl, 6, &k), CKR_OK);
    return k;
}

static void test_keys_and_attributes(void **state)
{
    (void)state;
    NEED_MODULE();
    CK_SESSION_HANDLE ro = open_session(0), rw = open_session(CKF_RW_SESSION);
    assert_int_equal(F->C_Login(ro, CKU_USER, PIN, PIN_LEN), CKR_OK);
    CK_MECHANISM gen = {CKM_AES_KEY_GEN, NULL, 0};
    CK_BBOOL t = CK_TRUE, f = CK_FALSE;
    CK_ATTRIBUTE tok = {CKA_TOKEN, &t, sizeof t};
    CK_OBJECT_HANDLE k;
    assert_int_equal(F->C_GenerateKey(ro, &gen, &tok, 1, &k), CKR_SESSION_READ_ONLY);
    CK_MECHANISM bad = {CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0};
    assert_int_equal(F->C_GenerateKey(rw, &bad, &tok, 1, &k), CKR_MECHANISM_INVALID);
    k = gen_aes(rw, "unit-k1", CK_TRUE, CK_TRUE);
    assert_true(k > 0 && k < 262144); /* the module's handle, not the HSM's (262150, ...) */

    /* the sensitive value, an attribute AES keys have not, and one that is fine */
    unsigned char v[32], idb[16];
    CK_ULONG vlen = 0;
    CK_ATTRIBUTE q[] = {{CKA_VALUE, v, sizeof v},
                        {CKA_PUBLIC_EXPONENT, v, sizeof v},
                        {CKA_VALUE_LEN, &vlen, sizeof vlen}};
    CK_RV rv = F->C_GetAttributeValue(ro, k, q, 3);
    assert_true(rv == CKR_ATTRIBUTE_SENSITIVE || rv == CKR_ATTRIBUTE_TYPE_INVALID);
    assert_int_equal(q[0].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    assert_int_equal(q[1].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    assert_int_equal(vlen, 32);
    CK_ATTRIBUTE id = {CKA_ID, NULL, 0};
    assert_int_equal(F->C_GetAttributeValue(ro, k, &id, 1), CKR_OK);
    assert_int_equal(id.ulValueLen, 7);
    id.pValue = idb;
    id.ulValueLen = 3;
    assert_int_equal(F->C_GetAttributeValue(ro, k, &id, 1), CKR_BUFFER_TOO_SMALL);
    id.ulValueLen = sizeof idb;
    assert_int_equal(F->C_GetAttributeValue(ro, k, &id, 1), CKR_OK);
    assert_memory_equal(idb, "unit-k1", 7);
    assert_int_equal(F->C_GetAttributeValue(ro, 99999, &id, 1), CKR_OBJECT_HANDLE_INVALID);

    /* changes: the label, extractable only to false, sensitive never back, not in R/O */
    CK_ATTRIBUTE lab = {CKA_LABEL, "renamed", 7};
    assert_int_equal(F->C_SetAttributeValue(ro, k, &lab, 1), CKR_SESSION_READ_ONLY);
    assert_int_equal(F->C_SetAttributeValue(rw, k, &lab, 1), CKR_OK);
    char lb[16];
    CK_ATTRIBUTE lq = {CKA_LABEL, lb, sizeof lb};
    assert_int_equal(F->C_GetAttributeValue(rw, k, &lq, 1), CKR_OK);
    assert_int_equal(lq.ulValueLen, 7);
    assert_memory_equal(lb, "renamed", 7);
    CK_ATTRIBUTE unsens = {CKA_SENSITIVE, &f, sizeof f};
    assert_int_equal(F->C_SetAttributeValue(rw, k, &unsens, 1), CKR_ATTRIBUTE_READ_ONLY);
    CK_ATTRIBUTE noext = {CKA_EXTRACTABLE, &f, sizeof f}, reext = {CKA_EXTRACTABLE, &t, sizeof t};
    assert_int_equal(F->C_SetAttributeValue(rw, k, &noext, 1), CKR_OK);
    assert_int_equal(F->C_SetAttributeValue(rw, k, &reext, 1), CKR_ATTRIBUTE_READ_ONLY);
    CK_ATTRIBUTE newid = {CKA_ID, "other", 5};
    assert_int_equal(F->C_SetAttributeValue(rw, k, &newid, 1), CKR_ATTRIBUTE_READ_ONLY);

    /* found again by CKA_ID: the same object handle */
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_ATTRIBUTE find[] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_ID, "unit-k1", 7}};
    CK_OBJECT_HANDLE found[4];
    CK_ULONG nf = 0;
    assert_int_equal(F->C_FindObjects(ro, found, 4, &nf), CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(F->C_FindObjectsInit(ro, find, 2), CKR_OK);
    assert_int_equal(F->C_FindObjectsInit(ro, find, 2), CKR_OPERATION_ACTIVE);
    assert_int_equal(F->C_FindObjects(ro, found, 4, &nf), CKR_OK);
    assert_int_equal(nf, 1);
    assert_int_equal(found[0], k);
    assert_int_equal(F->C_FindObjects(ro, found, 4, &nf), CKR_OK);
    assert_int_equal(nf, 0);
    assert_int_equal(F->C_FindObjectsFinal(ro), CKR_OK);

    /* destroyed: the handle is gone */
    assert_int_equal(F->C_DestroyObject(ro, k), CKR_SESSION_READ_ONLY);
    assert_int_equal(F->C_DestroyObject(rw, k), CKR_OK);
    assert_int_equal(F->C_GetAttributeValue(ro, k, &lq, 1), CKR_OBJECT_HANDLE_INVALID);
    assert_int_equal(F->C_CloseAllSessions(1), CKR_OK);
}

static void test_aes_and_wrap(void **state)
{
    (void)state;
    NEED_MODULE();
    CK_SESSION_HANDLE s = open_session(CKF_RW_SESSION);
    assert_int_equal(F->C_Login(s, CKU_USER, PIN, PIN_LEN), CKR_OK);
    CK_OBJECT_HANDLE k = gen_aes(s, "unit-gcm", CK_FALSE, CK_TRUE);
    CK_OBJECT_HANDLE kek = gen_aes(s, "unit-kek", CK_FALSE, CK_FALSE);
    unsigned char iv[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, aad[3] = {'a', 'a', 'd'};
    CK_GCM_PARAMS g = {iv, sizeof iv, 96, aad, sizeof aad, 128};
    CK_MECHANISM gcm = {CKM_AES_GCM, &g, sizeof g};
    const char *msg = "a secret message for GCM";
    size_t mlen = strlen(msg);
    unsigned char ct[128], pt[128];
    CK_ULONG clen = 0, plen;
    assert_int_equal(F->C_Encrypt(s, (CK_BYTE_PTR)msg, mlen, ct, &clen),
                     CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(F->C_EncryptInit(s, &gcm, k), CKR_OK);
    assert_int_equal(F->C_EncryptInit(s, &gcm, k), CKR_OPERATION_ACTIVE);
    assert_int_equal(F->C_Encrypt(s, (CK_BYTE_PTR)msg, mlen, NULL, &clen), CKR_OK);
    assert_int_equal(clen, mlen + 16); /* ciphertext || tag */
    clen = 4;
    assert_int_equal(F->C_Encrypt(s, (CK_BYTE_PTR)msg, mlen, ct, &clen), CKR_BUFFER_TOO_SMALL);
    clen = sizeof ct;
    assert_int_equal(F->C_Encrypt(s, (CK_BYTE_PTR)msg, mlen, ct, &clen), CKR_OK);
    assert_int_equal(clen, mlen + 16);
    assert_int_equal(F->C_DecryptInit(s, &gcm, k), CKR_OK);
    plen = sizeof pt;
    assert_int_equal(F->C_Decrypt(s, ct, clen, pt, &plen), CKR_OK);
    assert_int_equal(plen, mlen);
    assert_memory_equal(pt, msg, mlen);
    ct[0] ^= 1;
    assert_int_equal(F->C_DecryptInit(s, &gcm, k), CKR_OK);
    plen = sizeof pt;
    assert_int_equal(F->C_Decrypt(s, ct, clen, pt, &plen), CKR_ENCRYPTED_DATA_INVALID);
    assert_int_equal(F->C_Decrypt(s, ct, clen, pt, &plen), CKR_OPERATION_NOT_INITIALIZED);
    ct[0] ^= 1;

    /* CBC-PAD in parts */
    unsigned char civ[16] = {0};
    CK_MECHANISM cbc = {CKM_AES_CBC_PAD, civ, sizeof civ};
    CK_ULONG part = sizeof ct;
    assert_int_equal(F->C_EncryptInit(s, &cbc, k), CKR_OK);
    assert_int_equal(F->C_EncryptUpdate(s, (CK_BYTE_PTR)msg, 10, ct, &part), CKR_OK);
    part = sizeof ct;
    assert_int_equal(F->C_EncryptUpdate(s, (CK_BYTE_PTR)msg + 10, mlen - 10, ct, &part), CKR_OK);
    clen = sizeof ct;
    assert_int_equal(F->C_EncryptFinal(s, ct, &clen), CKR_OK);
    assert_int_equal(clen, 32);
    assert_int_equal(F->C_DecryptInit(s, &cbc, k), CKR_OK);
    plen = sizeof pt;
    assert_int_equal(F->C_Decrypt(s, ct, 31, pt, &plen), CKR_ENCRYPTED_DATA_LEN_RANGE);
    assert_int_equal(F->C_DecryptInit(s, &cbc, k), CKR_OK);
    plen = sizeof pt;
    assert_int_equal(F->C_Decrypt(s, ct, clen, pt, &plen), CKR_OK);
    assert_int_equal(plen, mlen);

    /* wrap: the non-extractable KEK wraps k; k may not wrap the KEK */
    CK_MECHANISM kwp = {CKM_AES_KEY_WRAP_PAD, NULL, 0};
    unsigned char w[64];
    CK_ULONG wlen = 0;
    assert_int_equal(F->C_WrapKey(s, &kwp, k, kek, NULL, &wlen), CKR_KEY_UNEXTRACTABLE);
    assert_int_equal(F->C_WrapKey(s, &kwp, kek, k, NULL, &wlen), CKR_OK);
    assert_int_equal(wlen, 40);
    wlen = sizeof w;
    assert_int_equal(F->C_WrapKey(s, &kwp, kek, k, w, &wlen), CKR_OK);
    CK_MECHANISM gcmw = {CKM_AES_GCM, &g, sizeof g};
    assert_int_equal(F->C_WrapKey(s, &gcmw, kek, k, w, &wlen), CKR_MECHANISM_INVALID);
    CK_OBJECT_CLASS sk = CKO_SECRET_KEY;
    CK_KEY_TYPE aes = CKK_AES;
    CK_BBOOL t = CK_TRUE;
    CK_ATTRIBUTE ut[] = {{CKA_CLASS, &sk, sizeof sk},
                         {CKA_KEY_TYPE, &aes, sizeof aes},
                         {CKA_DECRYPT, &t, sizeof t},
                         {CKA_LABEL, "unwrapped", 9}};
    CK_OBJECT_HANDLE k2 = 0;
    assert_int_equal(F->C_UnwrapKey(s, &kwp, kek, w, wlen, ut, 2 - 2, &k2),
                     CKR_TEMPLATE_INCOMPLETE);
    assert_int_equal(F->C_UnwrapKey(s, &kwp, kek, w, wlen, ut, 4, &k2), CKR_OK);
    assert_true(k2 != k);
    assert_int_equal(F->C_DecryptInit(s, &gcm, k2), CKR_OK);
    plen = sizeof pt;
    unsigned char gct[128];
    CK_ULONG gclen = sizeof gct;
    assert_int_equal(F->C_EncryptInit(s, &gcm, k), CKR_OK);
    assert_int_equal(F->C_Encrypt(s, (CK_BYTE_PTR)msg, mlen, gct, &gclen), CKR_OK);
    assert_int_equal(F->C_Decrypt(s, gct, gclen, pt, &plen), CKR_OK);
    assert_memory_equal(pt, msg, mlen); /* the unwrapped key is the same key */
    w[5] ^= 1;
    assert_int_equal(F->C_UnwrapKey(s, &kwp, kek, w, wlen, ut, 4, &k2), CKR_WRAPPED_KEY_INVALID);
    assert_int_equal(F->C_CloseSession(s), CKR_OK);
}

static void gen_pair(CK_SESSION_HANDLE s, CK_MECHANISM_TYPE mech, const char *id,
                     CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv)
{
    CK_MECHANISM m = {mech, NULL, 0};
    CK_ULONG bits = 2048;
    CK_BYTE p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
    CK_ATTRIBUTE rsa[] = {{CKA_MODULUS_BITS, &bits, sizeof bits}, {CKA_ID, (void *)id, strlen(id)}};
    CK_ATTRIBUTE ec[] = {{CKA_EC_PARAMS, p256, sizeof p256}, {CKA_ID, (void *)id, strlen(id)}};
    assert_int_equal(
        F->C_GenerateKeyPair(s, &m, mech == CKM_EC_KEY_PAIR_GEN ? ec : rsa, 2, NULL, 0, pub, priv),
        CKR_OK);
}

static void test_asymmetric(void **state)
{
    (void)state;
    NEED_MODULE();
    CK_SESSION_HANDLE s = open_session(CKF_RW_SESSION);
    assert_int_equal(F->C_Login(s, CKU_USER, PIN, PIN_LEN), CKR_OK);
    CK_OBJECT_HANDLE ecpub, ecpriv, rpub, rpriv;
    gen_pair(s, CKM_EC_KEY_PAIR_GEN, "unit-ec", &ecpub, &ecpriv);
    gen_pair(s, CKM_RSA_PKCS_KEY_PAIR_GEN, "unit-rsa", &rpub, &rpriv);
    const char *msg = "sign me";
    unsigned char sig[512];
    CK_ULONG slen = 0;
    CK_MECHANISM ecdsa = {CKM_ECDSA_SHA256, NULL, 0};
    assert_int_equal(F->C_Sign(s, (CK_BYTE_PTR)msg, 7, sig, &slen), CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(F->C_SignInit(s, &ecdsa, ecpub), CKR_KEY_TYPE_INCONSISTENT);
    CK_MECHANISM pkcs = {CKM_SHA256_RSA_PKCS, NULL, 0};
    assert_int_equal(F->C_SignInit(s, &pkcs, ecpriv), CKR_KEY_TYPE_INCONSISTENT);
    assert_int_equal(F->C_SignInit(s, &ecdsa, ecpriv), CKR_OK);
    assert_int_equal(F->C_SignInit(s, &ecdsa, ecpriv), CKR_OPERATION_ACTIVE);
    assert_int_equal(F->C_SignUpdate(s, (CK_BYTE_PTR)msg, 3), CKR_OK);
    assert_int_equal(F->C_SignUpdate(s, (CK_BYTE_PTR)msg + 3, 4), CKR_OK);
    assert_int_equal(F->C_SignFinal(s, NULL, &slen), CKR_OK);
    assert_int_equal(slen, 64); /* r || s */
    assert_int_equal(F->C_SignFinal(s, sig, &slen), CKR_OK);
    assert_int_equal(F->C_VerifyInit(s, &ecdsa, ecpub), CKR_OK);
    assert_int_equal(F->C_Verify(s, (CK_BYTE_PTR)msg, 7, sig, slen), CKR_OK);
    assert_int_equal(F->C_VerifyInit(s, &ecdsa, ecpub), CKR_OK);
    assert_int_equal(F->C_Verify(s, (CK_BYTE_PTR) "sign mE", 7, sig, slen), CKR_SIGNATURE_INVALID);
    assert_int_equal(F->C_VerifyInit(s, &ecdsa, ecpub), CKR_OK);
    assert_int_equal(F->C_Verify(s, (CK_BYTE_PTR)msg, 7, sig, 63), CKR_SIGNATURE_LEN_RANGE);

    /* RSA PSS on a digest, with the parameters the data plane supports only */
    unsigned char dg[32];
    unsigned int dlen = 0;
    EVP_Digest(msg, 7, dg, &dlen, EVP_sha256(), NULL);
    CK_RSA_PKCS_PSS_PARAMS pp = {CKM_SHA256, CKG_MGF1_SHA256, 32};
    CK_MECHANISM pss = {CKM_RSA_PKCS_PSS, &pp, sizeof pp};
    assert_int_equal(F->C_SignInit(s, &pss, rpriv), CKR_OK);
    slen = sizeof sig;
    assert_int_equal(F->C_Sign(s, dg, 31, sig, &slen), CKR_DATA_LEN_RANGE);
    assert_int_equal(F->C_SignInit(s, &pss, rpriv), CKR_OK);
    slen = sizeof sig;
    assert_int_equal(F->C_Sign(s, dg, 32, sig, &slen), CKR_OK);
    assert_int_equal(slen, 256);
    CK_MECHANISM pss256 = {CKM_SHA256_RSA_PKCS_PSS, &pp, sizeof pp};
    assert_int_equal(F->C_VerifyInit(s, &pss256, rpub), CKR_OK);
    assert_int_equal(F->C_Verify(s, (CK_BYTE_PTR)msg, 7, sig, slen), CKR_OK);
    pp.sLen = 0;
    assert_int_equal(F->C_SignInit(s, &pss, rpriv), CKR_MECHANISM_PARAM_INVALID);

    /* RSA-OAEP: the public key encrypts, the private key decrypts */
    CK_RSA_PKCS_OAEP_PARAMS op = {CKM_SHA256, CKG_MGF1_SHA256, CKZ_DATA_SPECIFIED, NULL, 0};
    CK_MECHANISM oaep = {CKM_RSA_PKCS_OAEP, &op, sizeof op};
    unsigned char ct[256], pt[256];
    CK_ULONG clen = sizeof ct, plen = sizeof pt;
    assert_int_equal(F->C_EncryptInit(s, &oaep, rpriv), CKR_KEY_TYPE_INCONSISTENT);
    assert_int_equal(F->C_EncryptInit(s, &oaep, rpub), CKR_OK);
    assert_int_equal(F->C_Encrypt(s, (CK_BYTE_PTR)msg, 7, ct, &clen), CKR_OK);
    assert_int_equal(clen, 256);
    assert_int_equal(F->C_DecryptInit(s, &oaep, rpriv), CKR_OK);
    assert_int_equal(F->C_Decrypt(s, ct, clen, pt, &plen), CKR_OK);
    assert_int_equal(plen, 7);
    assert_memory_equal(pt, msg, 7);

    /* the EC private key's attributes */
    unsigned char params[16];
    CK_ATTRIBUTE a[] = {{CKA_EC_PARAMS, params, sizeof params}, {CKA_VALUE, NULL, 0}};
    assert_int_equal(F->C_GetAttributeValue(s, ecpriv, a, 2), CKR_ATTRIBUTE_SENSITIVE);
    assert_int_equal(a[0].ulValueLen, 10);
    assert_int_equal(a[1].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    assert_int_equal(F->C_CloseSession(s), CKR_OK);
}

static void test_session_objects_digest_random(void **state)
{
    (void)state;
    NEED_MODULE();
    CK_SESSION_HANDLE a = open_session(CKF_RW_SESSION), b = open_session(0);
    assert_int_equal(F->C_Login(a, CKU_USER, PIN, PIN_LEN), CKR_OK);
    gen_aes(a, "unit-session-key", CK_FALSE, CK_FALSE);
    CK_ATTRIBUTE find = {CKA_ID, "unit-session-key", 16};
    CK_OBJECT_HANDLE h[2];
    CK_ULONG n = 0;
    assert_int_equal(F->C_FindObjectsInit(b, &find, 1), CKR_OK);
    assert_int_equal(F->C_FindObjects(b, h, 2, &n), CKR_OK);
    assert_int_equal(n, 1);
    assert_int_equal(F->C_FindObjectsFinal(b), CKR_OK);
    assert_int_equal(F->C_CloseSession(a), CKR_OK); /* its session objects go with it */
    assert_int_equal(F->C_FindObjectsInit(b, &find, 1), CKR_OK);
    assert_int_equal(F->C_FindObjects(b, h, 2, &n), CKR_OK);
    assert_int_equal(n, 0);
    assert_int_equal(F->C_FindObjectsFinal(b), CKR_OK);

    CK_MECHANISM sha = {CKM_SHA384, NULL, 0};
    unsigned char d[64], want[64];
    unsigned int wl = 0;
    CK_ULONG dl = sizeof d;
    EVP_Digest("abc", 3, want, &wl, EVP_sha384(), NULL);
    assert_int_equal(F->C_DigestInit(b, &sha), CKR_OK);
    assert_int_equal(F->C_DigestUpdate(b, (CK_BYTE_PTR) "a", 1), CKR_OK);
    assert_int_equal(F->C_DigestUpdate(b, (CK_BYTE_PTR) "bc", 2), CKR_OK);
    assert_int_equal(F->C_DigestFinal(b, d, &dl), CKR_OK);
    assert_int_equal(dl, wl);
    assert_memory_equal(d, want, wl);

    unsigned char *r = calloc(1, 5000);
    assert_non_null(r);
    assert_int_equal(F->C_GenerateRandom(b, r, 5000), CKR_OK);
    int nonzero = 0;
    for (int i = 4096; i < 5000; i++) /* the second chunk arrived too */
        nonzero |= r[i];
    assert_true(nonzero);
    free(r);
    assert_int_equal(F->C_SeedRandom(b, (CK_BYTE_PTR) "x", 1), CKR_RANDOM_SEED_NOT_SUPPORTED);
    assert_int_equal(F->C_CloseSession(b), CKR_OK);
}

/* Several threads sign and verify at once, each in its own session. */
static CK_OBJECT_HANDLE thr_pub, thr_priv;

static void *signer(void *arg)
{
    (void)arg;
    CK_SESSION_HANDLE s;
    if (F->C_OpenSession(1, CKF_SERIAL_SESSION, NULL, NULL, &s) != CKR_OK)
        return (void *)1;
    CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};
    for (int i = 0; i < 5; i++) {
        unsigned char sig[256];
        CK_ULONG sl = sizeof sig;
        char msg[32];
        snprintf(msg, sizeof msg, "thread message %d", i);
        if (F->C_SignInit(s, &m, thr_priv) != CKR_OK ||
            F->C_Sign(s, (CK_BYTE_PTR)msg, strlen(msg), sig, &sl) != CKR_OK ||
            F->C_VerifyInit(s, &m, thr_pub) != CKR_OK ||
            F->C_Verify(s, (CK_BYTE_PTR)msg, strlen(msg), sig, sl) != CKR_OK)
            return (void *)1;
    }
    return F->C_CloseSession(s) == CKR_OK ? NULL : (void *)1;
}

static void test_threads(void **state)
{
    (void)state;
    NEED_MODULE();
    CK_SESSION_HANDLE s = open_session(CKF_RW_SESSION);
    assert_int_equal(F->C_Login(s, CKU_USER, PIN, PIN_LEN), CKR_OK);
    gen_pair(s, CKM_RSA_PKCS_KEY_PAIR_GEN, "unit-threads", &thr_pub, &thr_priv);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, signer, NULL), 0);
    for (int i = 0; i < 4; i++) {
        void *ret = (void *)1;
        pthread_join(t[i], &ret);
        assert_null(ret);
    }
    assert_int_equal(F->C_CloseSession(s), CKR_OK);
}

static void test_finalize(void **state)
{
    (void)state;
    NEED_MODULE();
    assert_int_equal(F->C_Finalize(&emu_pid), CKR_ARGUMENTS_BAD);
    assert_int_equal(F->C_Finalize(NULL), CKR_OK);
    assert_int_equal(F->C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED);
    CK_SESSION_HANDLE s;
    assert_int_equal(F->C_OpenSession(1, CKF_SERIAL_SESSION, NULL, NULL, &s),
                     CKR_CRYPTOKI_NOT_INITIALIZED);
    /* and again, from the start */
    assert_int_equal(F->C_Initialize(NULL), CKR_OK);
    s = open_session(0);
    assert_int_equal(F->C_Login(s, CKU_USER, PIN, PIN_LEN), CKR_OK);
    assert_int_equal(F->C_Finalize(NULL), CKR_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_library),
        cmocka_unit_test(test_login),
        cmocka_unit_test(test_keys_and_attributes),
        cmocka_unit_test(test_aes_and_wrap),
        cmocka_unit_test(test_asymmetric),
        cmocka_unit_test(test_session_objects_digest_random),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_finalize),
    };
    return cmocka_run_group_tests(tests, start, stop);
}

/* test_pkcs11_logic.c - the PKCS#11 module's logic without a server: sessions and login
 * state, the object handle table, attributes of key objects (the two-call convention,
 * sensitive and missing attributes), templates turned into data-plane requests, CKA_ID <->
 * keyId, mechanism plans, signature encodings and the error mapping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "p11_attr.h"
#include "p11_mech.h"
#include "p11_state.h"
#include "p11_transport.h"

static p11_state st;

static int setup(void **state)
{
    (void)state;
    memset(&st, 0, sizeof st);
    assert_int_equal(p11_state_add_slot(&st, "hsm1.c1-0011223344556677.cloudhsm.localhost",
                                        "c1-0011223344556677"),
                     CKR_OK);
    assert_int_equal(p11_state_add_slot(&st, "hsm1.c2-8899aabbccddeeff.cloudhsm.localhost",
                                        "c2-8899aabbccddeeff"),
                     CKR_OK);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    p11_state_clear(&st);
    return 0;
}

/* ---- sessions and login ---- */

static void test_slots_numbered_from_one(void **state)
{
    (void)state;
    assert_int_equal(st.nslots, 2);
    assert_int_equal(p11_state_slot(&st, 1)->id, 1);
    assert_string_equal(p11_state_slot(&st, 2)->label, "c2-8899aabbccddeeff");
    assert_null(p11_state_slot(&st, 0));
    assert_null(p11_state_slot(&st, 3));
}

static void test_session_open_close(void **state)
{
    (void)state;
    CK_SESSION_HANDLE a, b, c;
    assert_int_equal(p11_session_open(&st, 0, CKF_RW_SESSION, &a),
                     CKR_SESSION_PARALLEL_NOT_SUPPORTED);
    assert_int_equal(p11_session_open(&st, 5, CKF_SERIAL_SESSION, &a), CKR_SLOT_ID_INVALID);
    assert_int_equal(p11_session_open(&st, 0, CKF_SERIAL_SESSION, &a), CKR_OK);
    assert_int_equal(p11_session_open(&st, 0, CKF_SERIAL_SESSION | CKF_RW_SESSION, &b), CKR_OK);
    assert_int_equal(p11_session_open(&st, 1, CKF_SERIAL_SESSION, &c), CKR_OK);
    assert_true(a != b && b != c && a != c);
    size_t rw = 9;
    assert_int_equal(p11_session_count(&st, 0, &rw), 2);
    assert_int_equal(rw, 1);
    assert_int_equal(p11_session_count(&st, 1, NULL), 1);
    assert_int_equal(p11_session_state(&st, p11_session_get(&st, a)), CKS_RO_PUBLIC_SESSION);
    assert_int_equal(p11_session_state(&st, p11_session_get(&st, b)), CKS_RW_PUBLIC_SESSION);
    assert_int_equal(p11_session_close(&st, a), CKR_OK);
    assert_null(p11_session_get(&st, a));
    assert_int_equal(p11_session_close(&st, a), CKR_SESSION_HANDLE_INVALID);
    /* handles are not reused */
    CK_SESSION_HANDLE d;
    assert_int_equal(p11_session_open(&st, 0, CKF_SERIAL_SESSION, &d), CKR_OK);
    assert_true(d != a && d > c);
}

static void test_login_rules(void **state)
{
    (void)state;
    CK_SESSION_HANDLE ro, rw;
    assert_int_equal(p11_session_open(&st, 0, CKF_SERIAL_SESSION, &ro), CKR_OK);
    assert_int_equal(p11_login_check(&st, 0, CKU_USER), CKR_OK);
    assert_int_equal(p11_login_check(&st, 0, CKU_SO), CKR_SESSION_READ_ONLY_EXISTS);
    assert_int_equal(p11_login_check(&st, 0, 7), CKR_USER_TYPE_INVALID);
    assert_int_equal(p11_login_check(&st, 0, CKU_CONTEXT_SPECIFIC), CKR_OPERATION_NOT_INITIALIZED);
    p11_slot *s = &st.slots[0];
    assert_int_equal(p11_slot_remember_login(s, CKU_USER, "cu1", "user1234"), CKR_OK);
    assert_string_equal(s->pin, "cu1:user1234");
    assert_int_equal(p11_login_check(&st, 0, CKU_USER), CKR_USER_ALREADY_LOGGED_IN);
    assert_int_equal(p11_login_check(&st, 0, CKU_SO), CKR_USER_ANOTHER_ALREADY_LOGGED_IN);
    assert_int_equal(p11_session_state(&st, p11_session_get(&st, ro)), CKS_RO_USER_FUNCTIONS);
    assert_int_equal(p11_login_check(&st, 1, CKU_USER), CKR_OK); /* the other slot */
    p11_slot_forget_login(s);
    assert_null(s->pin);
    assert_int_equal(s->login, P11_NOBODY);
    /* the SO needs R/W sessions only, and then no R/O session may open */
    assert_int_equal(p11_session_close(&st, ro), CKR_OK);
    assert_int_equal(p11_session_open(&st, 0, CKF_SERIAL_SESSION | CKF_RW_SESSION, &rw), CKR_OK);
    assert_int_equal(p11_login_check(&st, 0, CKU_SO), CKR_OK);
    assert_int_equal(p11_slot_remember_login(s, CKU_SO, "admin", "CoPassword1!"), CKR_OK);
    assert_int_equal(p11_session_state(&st, p11_session_get(&st, rw)), CKS_RW_SO_FUNCTIONS);
    CK_SESSION_HANDLE x;
    assert_int_equal(p11_session_open(&st, 0, CKF_SERIAL_SESSION, &x),
                     CKR_SESSION_READ_WRITE_SO_EXISTS);
}

static void test_pin_split(void **state)
{
    (void)state;
    char u[64], p[136];
    assert_int_equal(p11_pin_split((CK_UTF8CHAR *)"cu1:user1234", 12, u, p), CKR_OK);
    assert_string_equal(u, "cu1");
    assert_string_equal(p, "user1234");
    /* the password may hold ':' itself; the first one separates */
    assert_int_equal(p11_pin_split((CK_UTF8CHAR *)"cu1:a:b:c", 9, u, p), CKR_OK);
    assert_string_equal(p, "a:b:c");
    /* the length counts, not a NUL */
    assert_int_equal(p11_pin_split((CK_UTF8CHAR *)"cu1:user1234XXXX", 12, u, p), CKR_OK);
    assert_string_equal(p, "user1234");
    assert_int_equal(p11_pin_split((CK_UTF8CHAR *)"user1234", 8, u, p), CKR_PIN_INCORRECT);
    assert_int_equal(p11_pin_split((CK_UTF8CHAR *)":user1234", 9, u, p), CKR_PIN_INCORRECT);
    assert_int_equal(p11_pin_split((CK_UTF8CHAR *)"cu1:", 4, u, p), CKR_PIN_INCORRECT);
    assert_int_equal(p11_pin_split(NULL, 0, u, p), CKR_PIN_INCORRECT);
    char big[300];
    memset(big, 'a', sizeof big);
    big[3] = ':';
    assert_int_equal(p11_pin_split((CK_UTF8CHAR *)big, sizeof big, u, p), CKR_PIN_LEN_RANGE);
}

static void test_op_finish_two_call(void **state)
{
    (void)state;
    p11_op op;
    memset(&op, 0, sizeof op);
    op.active = 1;
    op.has_result = 1;
    assert_int_equal(p11_bytes_append(&op.result, "0123456789", 10), 0);
    CK_ULONG n = 0;
    assert_int_equal(p11_op_finish(&op, NULL, &n), CKR_OK); /* length query */
    assert_int_equal(n, 10);
    assert_true(op.active);
    unsigned char buf[16];
    n = 4;
    assert_int_equal(p11_op_finish(&op, buf, &n), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(n, 10);
    assert_true(op.active); /* still there for the next call */
    n = sizeof buf;
    assert_int_equal(p11_op_finish(&op, buf, &n), CKR_OK);
    assert_int_equal(n, 10);
    assert_memory_equal(buf, "0123456789", 10);
    assert_false(op.active); /* done */
}

/* ---- objects and attributes ---- */

static cJSON *key_json(long long handle, const char *klass, const char *type, int size,
                       const char *curve, const char *key_id, int sensitive, int extractable)
{
    char text[1024];
    snprintf(text, sizeof text,
             "{\"handle\":%lld,\"keyId\":\"%s\",\"label\":\"lbl\",\"class\":\"%s\",\"type\":\"%s\","
             "\"size\":%d,\"curve\":%s%s%s,\"owner\":\"cu1\",\"kcv\":\"a1b2c3\",\"attributes\":{"
             "\"token\":true,\"extractable\":%s,\"sensitive\":%s,\"encrypt\":true,\"decrypt\":true,"
             "\"wrap\":true,\"unwrap\":true,\"sign\":%s,\"verify\":%s,\"derive\":false,"
             "\"trusted\":false}}",
             handle, key_id, klass, type, size, curve ? "\"" : "", curve ? curve : "null",
             curve ? "\"" : "", extractable ? "true" : "false", sensitive ? "true" : "false",
             strcmp(klass, "private") == 0 ? "true" : "false",
             strcmp(klass, "public") == 0 ? "true" : "false");
    cJSON *j = cJSON_Parse(text);
    assert_non_null(j);
    return j;
}

static void test_object_table(void **state)
{
    (void)state;
    CK_OBJECT_HANDLE a =
        p11_object_add(&st, 0, key_json(262150, "secret", "AES", 256, NULL, "k1", 1, 1));
    CK_OBJECT_HANDLE b =
        p11_object_add(&st, 0, key_json(262151, "public", "RSA", 2048, NULL, "k2", 0, 1));
    CK_OBJECT_HANDLE c =
        p11_object_add(&st, 1, key_json(262150, "secret", "AES", 128, NULL, "k1", 1, 1));
    assert_true(a && b && c && a != b && b != c);
    /* object handles are the module's own, not the HSM's key handles */
    assert_true(a != 262150 && b != 262151);
    assert_int_equal(p11_object_get(&st, a)->hsm_handle, 262150);
    /* the same key seen again keeps its handle and gets the fresh metadata */
    CK_OBJECT_HANDLE a2 =
        p11_object_add(&st, 0, key_json(262150, "secret", "AES", 256, NULL, "k1", 1, 0));
    assert_int_equal(a2, a);
    assert_false(p11_key_bool(p11_object_get(&st, a)->key, "extractable"));
    assert_int_equal(st.nobjects, 3);
    p11_object_forget_slot(&st, 0);
    assert_null(p11_object_get(&st, a));
    assert_null(p11_object_get(&st, b));
    assert_non_null(p11_object_get(&st, c));
    p11_object_remove(&st, c);
    assert_int_equal(st.nobjects, 0);
    /* new handles after forgetting are new numbers */
    CK_OBJECT_HANDLE d =
        p11_object_add(&st, 0, key_json(262150, "secret", "AES", 256, NULL, "k1", 1, 1));
    assert_true(d > c);
}

static p11_object obj(cJSON *key)
{
    p11_object o;
    memset(&o, 0, sizeof o);
    o.key = key;
    return o;
}

static void test_attr_secret(void **state)
{
    (void)state;
    p11_object o = obj(key_json(262150, "secret", "AES", 256, NULL, "0x0a01", 1, 0));
    CK_OBJECT_CLASS cls = 0;
    CK_KEY_TYPE kt = 0;
    CK_ULONG vlen = 0;
    CK_BBOOL sens = CK_FALSE, ext = CK_TRUE, never = CK_FALSE, priv = CK_FALSE;
    unsigned char id[8], kcv[3];
    CK_ATTRIBUTE t[] = {
        {CKA_CLASS, &cls, sizeof cls},       {CKA_KEY_TYPE, &kt, sizeof kt},
        {CKA_VALUE_LEN, &vlen, sizeof vlen}, {CKA_SENSITIVE, &sens, sizeof sens},
        {CKA_EXTRACTABLE, &ext, sizeof ext}, {CKA_NEVER_EXTRACTABLE, &never, sizeof never},
        {CKA_PRIVATE, &priv, sizeof priv},   {CKA_ID, id, sizeof id},
        {CKA_CHECK_VALUE, kcv, sizeof kcv},
    };
    assert_int_equal(p11_attr_get(&o, t, 9), CKR_OK);
    assert_int_equal(cls, CKO_SECRET_KEY);
    assert_int_equal(kt, CKK_AES);
    assert_int_equal(vlen, 32);
    assert_int_equal(sens, CK_TRUE);
    assert_int_equal(ext, CK_FALSE);
    assert_int_equal(never, CK_TRUE);
    assert_int_equal(priv, CK_TRUE);
    assert_int_equal(t[7].ulValueLen, 2); /* "0x0a01" is the keyId of CKA_ID 0a 01 */
    assert_memory_equal(id, "\x0a\x01", 2);
    assert_memory_equal(kcv, "\xa1\xb2\xc3", 3);

    /* the value is sensitive, a modulus is no attribute of an AES key, and all entries are
     * processed: the good one after them is still filled */
    unsigned char val[32], mod[8];
    CK_ULONG vl2 = 0;
    CK_ATTRIBUTE u[] = {{CKA_VALUE, val, sizeof val},
                        {CKA_MODULUS, mod, sizeof mod},
                        {CKA_VALUE_LEN, &vl2, sizeof vl2}};
    CK_RV rv = p11_attr_get(&o, u, 3);
    assert_true(rv == CKR_ATTRIBUTE_SENSITIVE || rv == CKR_ATTRIBUTE_TYPE_INVALID);
    assert_int_equal(u[0].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    assert_int_equal(u[1].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    assert_int_equal(vl2, 32);
    CK_ATTRIBUTE only_value = {CKA_VALUE, val, sizeof val};
    assert_int_equal(p11_attr_get(&o, &only_value, 1), CKR_ATTRIBUTE_SENSITIVE);
    CK_ATTRIBUTE only_mod = {CKA_MODULUS, NULL, 0};
    assert_int_equal(p11_attr_get(&o, &only_mod, 1), CKR_ATTRIBUTE_TYPE_INVALID);
    assert_int_equal(only_mod.ulValueLen, CK_UNAVAILABLE_INFORMATION);

    /* two calls: NULL gives the length, too small a buffer says so */
    CK_ATTRIBUTE l = {CKA_LABEL, NULL, 0};
    assert_int_equal(p11_attr_get(&o, &l, 1), CKR_OK);
    assert_int_equal(l.ulValueLen, 3);
    char lb[2];
    l.pValue = lb;
    l.ulValueLen = sizeof lb;
    assert_int_equal(p11_attr_get(&o, &l, 1), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(l.ulValueLen, CK_UNAVAILABLE_INFORMATION);
    cJSON_Delete(o.key);
}

/* spki_of makes a key pair with OpenSSL and returns its SPKI DER in out. */
static void spki_of(const char *alg, const char *param, p11_bytes *out)
{
    EVP_PKEY *pk = strcmp(alg, "RSA") == 0 ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)
                                           : EVP_PKEY_Q_keygen(NULL, NULL, "EC", param);
    assert_non_null(pk);
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(pk, &der);
    assert_true(n > 0);
    assert_int_equal(p11_bytes_append(out, der, (size_t)n), 0);
    OPENSSL_free(der);
    EVP_PKEY_free(pk);
}

static void test_attr_public_keys(void **state)
{
    (void)state;
    p11_object r = obj(key_json(7, "public", "RSA", 2048, NULL, "rsa-key", 0, 1));
    CK_ATTRIBUTE need = {CKA_MODULUS, NULL, 0};
    CK_ATTRIBUTE label_only = {CKA_LABEL, NULL, 0};
    assert_true(p11_attr_needs_spki(&r, &need, 1));
    assert_false(p11_attr_needs_spki(&r, &label_only, 1));
    spki_of("RSA", NULL, &r.spki);
    unsigned char mod[512], e[8];
    CK_ULONG bits = 0;
    CK_ATTRIBUTE t[] = {{CKA_MODULUS, mod, sizeof mod},
                        {CKA_PUBLIC_EXPONENT, e, sizeof e},
                        {CKA_MODULUS_BITS, &bits, sizeof bits}};
    assert_int_equal(p11_attr_get(&r, t, 3), CKR_OK);
    assert_int_equal(t[0].ulValueLen, 256);
    assert_int_equal(t[1].ulValueLen, 3);
    assert_memory_equal(e, "\x01\x00\x01", 3);
    assert_int_equal(bits, 2048);
    /* a public key has no CKA_SENSITIVE and no CKA_VALUE; its CKA_ID is the keyId's bytes */
    CK_ATTRIBUTE s = {CKA_SENSITIVE, NULL, 0};
    assert_int_equal(p11_attr_get(&r, &s, 1), CKR_ATTRIBUTE_TYPE_INVALID);
    unsigned char id[16];
    CK_ATTRIBUTE idt = {CKA_ID, id, sizeof id};
    assert_int_equal(p11_attr_get(&r, &idt, 1), CKR_OK);
    assert_int_equal(idt.ulValueLen, 7);
    assert_memory_equal(id, "rsa-key", 7);
    cJSON_Delete(r.key);
    p11_bytes_free(&r.spki);

    p11_object ec = obj(key_json(8, "public", "EC", 384, "P-384", "ec", 0, 1));
    spki_of("EC", "P-384", &ec.spki);
    unsigned char params[16], point[128];
    CK_ATTRIBUTE u[] = {{CKA_EC_PARAMS, params, sizeof params},
                        {CKA_EC_POINT, point, sizeof point}};
    assert_int_equal(p11_attr_get(&ec, u, 2), CKR_OK);
    assert_int_equal(u[0].ulValueLen, 7);
    assert_memory_equal(params, "\x06\x05\x2b\x81\x04\x00\x22", 7);
    assert_int_equal(u[1].ulValueLen, 99); /* OCTET STRING of 04 || X || Y */
    assert_memory_equal(point, "\x04\x61\x04", 3);
    cJSON_Delete(ec.key);
    p11_bytes_free(&ec.spki);

    /* a private EC key: its scalar is sensitive, the point is its public key's attribute */
    p11_object ep = obj(key_json(9, "private", "EC", 256, "P-256", "ec", 1, 1));
    CK_ATTRIBUTE v = {CKA_VALUE, NULL, 0}, pt = {CKA_EC_POINT, NULL, 0};
    assert_int_equal(p11_attr_get(&ep, &v, 1), CKR_ATTRIBUTE_SENSITIVE);
    assert_int_equal(p11_attr_get(&ep, &pt, 1), CKR_ATTRIBUTE_TYPE_INVALID);
    CK_ATTRIBUTE pe = {CKA_PRIVATE_EXPONENT, NULL, 0};
    assert_int_equal(p11_attr_get(&ep, &pe, 1), CKR_ATTRIBUTE_TYPE_INVALID);
    cJSON_Delete(ep.key);
    p11_object rp = obj(key_json(10, "private", "RSA", 2048, NULL, "r", 1, 1));
    assert_int_equal(p11_attr_get(&rp, &pe, 1), CKR_ATTRIBUTE_SENSITIVE);
    cJSON_Delete(rp.key);
}

static void test_attr_match(void **state)
{
    (void)state;
    p11_object o = obj(key_json(1, "private", "RSA", 2048, NULL, "sig", 1, 1));
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_BBOOL t = CK_TRUE, f = CK_FALSE;
    CK_ATTRIBUTE yes[] = {
        {CKA_CLASS, &cls, sizeof cls}, {CKA_SIGN, &t, sizeof t}, {CKA_ID, "sig", 3}};
    CK_ATTRIBUTE no[] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_SIGN, &f, sizeof f}};
    CK_ATTRIBUTE absent[] = {{CKA_VALUE_LEN, &t, sizeof t}};
    assert_true(p11_attr_match(&o, yes, 3));
    assert_false(p11_attr_match(&o, no, 2));
    assert_false(p11_attr_match(&o, absent, 1));
    assert_true(p11_attr_match(&o, NULL, 0));
    cJSON_Delete(o.key);
}

/* ---- CKA_ID and templates ---- */

static void test_id_mapping(void **state)
{
    (void)state;
    char kid[129];
    p11_bytes b = {0};
    assert_int_equal(p11_id_to_key_id("signkey", 7, kid), CKR_OK);
    assert_string_equal(kid, "signkey");
    assert_int_equal(p11_id_to_key_id("\x01\xff", 2, kid), CKR_OK);
    assert_string_equal(kid, "0x01ff");
    assert_int_equal(p11_id_to_key_id("0x41", 4, kid), CKR_OK); /* looks like hex: encoded */
    assert_string_equal(kid, "0x30783431");
    assert_int_equal(p11_id_to_key_id("a b", 3, kid), CKR_OK); /* a space is not printable here */
    assert_string_equal(kid, "0x612062");
    assert_int_equal(p11_id_to_key_id("", 0, kid), CKR_ATTRIBUTE_VALUE_INVALID);
    unsigned char long_id[64];
    memset(long_id, 0x80, sizeof long_id);
    assert_int_equal(p11_id_to_key_id(long_id, sizeof long_id, kid), CKR_ATTRIBUTE_VALUE_INVALID);
    /* back */
    const char *cases[] = {"signkey", "0x01ff", "0x30783431", "0x612062"};
    const char *bytes[] = {"signkey", "\x01\xff", "0x41", "a b"};
    size_t lens[] = {7, 2, 4, 3};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(p11_key_id_to_id(cases[i], &b), CKR_OK);
        assert_int_equal(b.len, lens[i]);
        assert_memory_equal(b.data, bytes[i], lens[i]);
        p11_bytes_free(&b);
    }
    /* a keyId made elsewhere that is not "0x" + even hex is its own bytes */
    assert_int_equal(p11_key_id_to_id("0xabc", &b), CKR_OK);
    assert_int_equal(b.len, 5);
    p11_bytes_free(&b);
}

static void test_find_filter(void **state)
{
    (void)state;
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_KEY_TYPE kt = CKK_EC;
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof cls},
                        {CKA_KEY_TYPE, &kt, sizeof kt},
                        {CKA_LABEL, "app", 3},
                        {CKA_ID, "\x51\x51", 2}};
    p11_find_filter f;
    assert_int_equal(p11_find_filter_from(t, 4, &f), CKR_OK);
    assert_string_equal(f.klass, "private");
    assert_string_equal(f.type, "EC");
    assert_true(f.has_label);
    assert_string_equal(f.label, "app");
    assert_string_equal(f.key_id, "QQ");
    assert_false(f.empty);
    CK_OBJECT_CLASS cert = CKO_CERTIFICATE;
    CK_ATTRIBUTE c = {CKA_CLASS, &cert, sizeof cert};
    assert_int_equal(p11_find_filter_from(&c, 1, &f), CKR_OK);
    assert_true(f.empty); /* the data plane has keys only */
    CK_ATTRIBUTE bad = {CKA_CLASS, &cert, 3};
    assert_int_equal(p11_find_filter_from(&bad, 1, &f), CKR_ATTRIBUTE_VALUE_INVALID);
}

static void test_template_secret(void **state)
{
    (void)state;
    CK_ULONG len = 16;
    CK_BBOOL t = CK_TRUE, f = CK_FALSE;
    CK_ATTRIBUTE tmpl[] = {{CKA_VALUE_LEN, &len, sizeof len},
                           {CKA_TOKEN, &t, sizeof t},
                           {CKA_LABEL, "k", 1},
                           {CKA_ID, "\x0a", 1},
                           {CKA_EXTRACTABLE, &f, sizeof f},
                           {CKA_SENSITIVE, &t, sizeof t},
                           {CKA_PRIVATE, &t, sizeof t}};
    cJSON *spec = NULL;
    int token = 0;
    assert_int_equal(p11_template_secret(tmpl, 7, &spec, &token), CKR_OK);
    assert_true(token);
    char *text = cJSON_PrintUnformatted(spec);
    assert_non_null(strstr(text, "\"type\":\"AES\",\"size\":128"));
    assert_non_null(strstr(text, "\"keyId\":\"0x0a\""));
    assert_non_null(strstr(text, "\"extractable\":false"));
    assert_non_null(strstr(text, "\"token\":true"));
    free(text);
    cJSON_Delete(spec);
    /* CKA_TOKEN defaults to false: a session object */
    assert_int_equal(p11_template_secret(NULL, 0, &spec, &token), CKR_OK);
    assert_false(token);
    text = cJSON_PrintUnformatted(cJSON_GetObjectItem(spec, "attributes"));
    assert_non_null(strstr(text, "\"token\":false"));
    free(text);
    cJSON_Delete(spec);
    /* refusals */
    CK_ATTRIBUTE notsens = {CKA_SENSITIVE, &f, sizeof f};
    assert_int_equal(p11_template_secret(&notsens, 1, &spec, &token), CKR_ATTRIBUTE_VALUE_INVALID);
    CK_ATTRIBUTE notpriv = {CKA_PRIVATE, &f, sizeof f};
    assert_int_equal(p11_template_secret(&notpriv, 1, &spec, &token), CKR_ATTRIBUTE_VALUE_INVALID);
    len = 20;
    assert_int_equal(p11_template_secret(tmpl, 1, &spec, &token), CKR_KEY_SIZE_RANGE);
    CK_ATTRIBUTE value = {CKA_VALUE, "0123456789abcdef", 16};
    assert_int_equal(p11_template_secret(&value, 1, &spec, &token), CKR_TEMPLATE_INCONSISTENT);
    CK_KEY_TYPE rsa = CKK_RSA;
    CK_ATTRIBUTE wrong = {CKA_KEY_TYPE, &rsa, sizeof rsa};
    assert_int_equal(p11_template_secret(&wrong, 1, &spec, &token), CKR_TEMPLATE_INCONSISTENT);
    CK_ATTRIBUTE modbits = {CKA_MODULUS_BITS, &len, sizeof len};
    assert_int_equal(p11_template_secret(&modbits, 1, &spec, &token), CKR_ATTRIBUTE_TYPE_INVALID);
    CK_ATTRIBUTE trusted = {CKA_TRUSTED, &t, sizeof t};
    assert_int_equal(p11_template_secret(&trusted, 1, &spec, &token), CKR_ATTRIBUTE_READ_ONLY);
    assert_null(spec);
}

static void test_template_pair(void **state)
{
    (void)state;
    CK_ULONG bits = 3072;
    CK_BYTE e[] = {0x01, 0x00, 0x01};
    CK_BBOOL t = CK_TRUE, f = CK_FALSE;
    CK_ATTRIBUTE pub[] = {{CKA_MODULUS_BITS, &bits, sizeof bits},
                          {CKA_PUBLIC_EXPONENT, e, sizeof e},
                          {CKA_TOKEN, &f, sizeof f},
                          {CKA_LABEL, "pub", 3},
                          {CKA_ID, "id", 2}};
    CK_ATTRIBUTE priv[] = {
        {CKA_TOKEN, &t, sizeof t}, {CKA_LABEL, "priv", 4}, {CKA_SIGN, &t, sizeof t}};
    cJSON *spec = NULL, *patch = NULL;
    int token = 0;
    assert_int_equal(
        p11_template_pair(CKM_RSA_PKCS_KEY_PAIR_GEN, pub, 5, priv, 3, &spec, &token, &patch),
        CKR_OK);
    assert_true(token);
    char *s = cJSON_PrintUnformatted(spec);
    assert_non_null(strstr(s, "\"type\":\"RSA\",\"size\":3072,\"publicExponent\":65537"));
    assert_non_null(strstr(s, "\"label\":\"priv\",\"keyId\":\"id\""));
    free(s);
    /* the public half differs (session object, own label): a PATCH for it */
    assert_non_null(patch);
    s = cJSON_PrintUnformatted(patch);
    assert_string_equal(s, "{\"label\":\"pub\",\"attributes\":{\"token\":false}}");
    free(s);
    cJSON_Delete(spec);
    cJSON_Delete(patch);
    /* missing size, bad exponent, unknown curve, different ids */
    assert_int_equal(
        p11_template_pair(CKM_RSA_PKCS_KEY_PAIR_GEN, pub + 2, 1, NULL, 0, &spec, &token, &patch),
        CKR_TEMPLATE_INCOMPLETE);
    CK_BYTE three[] = {0x03};
    CK_ATTRIBUTE small_e[] = {{CKA_MODULUS_BITS, &bits, sizeof bits},
                              {CKA_PUBLIC_EXPONENT, three, 1}};
    assert_int_equal(
        p11_template_pair(CKM_RSA_PKCS_KEY_PAIR_GEN, small_e, 2, NULL, 0, &spec, &token, &patch),
        CKR_ATTRIBUTE_VALUE_INVALID);
    CK_BYTE p521[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23};
    CK_ATTRIBUTE ecp[] = {{CKA_EC_PARAMS, p521, sizeof p521}};
    assert_int_equal(p11_template_pair(CKM_EC_KEY_PAIR_GEN, ecp, 1, NULL, 0, &spec, &token, &patch),
                     CKR_CURVE_NOT_SUPPORTED);
    CK_BYTE p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
    CK_ATTRIBUTE ec_ok[] = {{CKA_EC_PARAMS, p256, sizeof p256}, {CKA_ID, "a", 1}};
    CK_ATTRIBUTE ec_other_id[] = {{CKA_ID, "b", 1}};
    assert_int_equal(
        p11_template_pair(CKM_EC_KEY_PAIR_GEN, ec_ok, 2, ec_other_id, 1, &spec, &token, &patch),
        CKR_TEMPLATE_INCONSISTENT);
    assert_int_equal(
        p11_template_pair(CKM_EC_KEY_PAIR_GEN, ec_ok, 2, NULL, 0, &spec, &token, &patch), CKR_OK);
    s = cJSON_PrintUnformatted(spec);
    assert_non_null(strstr(s, "\"type\":\"EC\",\"curve\":\"P-256\""));
    free(s);
    cJSON_Delete(spec);
    cJSON_Delete(patch);
}

static void test_template_set(void **state)
{
    (void)state;
    p11_object o = obj(key_json(1, "secret", "AES", 256, NULL, "k", 1, 1));
    CK_BBOOL t = CK_TRUE, f = CK_FALSE;
    cJSON *patch = NULL;
    CK_ATTRIBUTE ok[] = {
        {CKA_LABEL, "new", 3}, {CKA_EXTRACTABLE, &f, sizeof f}, {CKA_ENCRYPT, &f, sizeof f}};
    assert_int_equal(p11_template_set(&o, ok, 3, &patch), CKR_OK);
    char *s = cJSON_PrintUnformatted(patch);
    assert_string_equal(
        s, "{\"attributes\":{\"extractable\":false,\"encrypt\":false},\"label\":\"new\"}");
    free(s);
    cJSON_Delete(patch);
    /* one-way attributes, fixed ones, and ones the class has not */
    CK_ATTRIBUTE unsens = {CKA_SENSITIVE, &f, sizeof f};
    assert_int_equal(p11_template_set(&o, &unsens, 1, &patch), CKR_ATTRIBUTE_READ_ONLY);
    CK_ATTRIBUTE id = {CKA_ID, "other", 5};
    assert_int_equal(p11_template_set(&o, &id, 1, &patch), CKR_ATTRIBUTE_READ_ONLY);
    CK_ATTRIBUTE same_id = {CKA_ID, "k", 1};
    assert_int_equal(p11_template_set(&o, &same_id, 1, &patch), CKR_OK);
    cJSON_Delete(patch);
    CK_ATTRIBUTE token = {CKA_TOKEN, &f, sizeof f};
    assert_int_equal(p11_template_set(&o, &token, 1, &patch), CKR_ATTRIBUTE_READ_ONLY);
    CK_ULONG bits = 1;
    CK_ATTRIBUTE mb = {CKA_MODULUS_BITS, &bits, sizeof bits};
    assert_int_equal(p11_template_set(&o, &mb, 1, &patch), CKR_ATTRIBUTE_TYPE_INVALID);
    cJSON_Delete(o.key);
    p11_object n = obj(key_json(1, "secret", "AES", 256, NULL, "k", 1, 0));
    CK_ATTRIBUTE reext = {CKA_EXTRACTABLE, &t, sizeof t};
    assert_int_equal(p11_template_set(&n, &reext, 1, &patch), CKR_ATTRIBUTE_READ_ONLY);
    assert_null(patch);
    cJSON_Delete(n.key);
}

static void test_template_unwrap(void **state)
{
    (void)state;
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_AES;
    CK_BBOOL t = CK_TRUE;
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof cls},
                           {CKA_KEY_TYPE, &kt, sizeof kt},
                           {CKA_LABEL, "u", 1},
                           {CKA_TOKEN, &t, sizeof t}};
    const char *type;
    char label[128], kid[129];
    int has_id, token;
    cJSON *attrs = NULL;
    assert_int_equal(p11_template_unwrap(tmpl, 4, &type, label, kid, &has_id, &attrs, &token),
                     CKR_OK);
    assert_string_equal(type, "AES");
    assert_string_equal(label, "u");
    assert_false(has_id);
    assert_true(token);
    cJSON_Delete(attrs);
    assert_int_equal(p11_template_unwrap(tmpl + 1, 3, &type, label, kid, &has_id, &attrs, &token),
                     CKR_TEMPLATE_INCOMPLETE);
    cls = CKO_PUBLIC_KEY;
    assert_int_equal(p11_template_unwrap(tmpl, 4, &type, label, kid, &has_id, &attrs, &token),
                     CKR_TEMPLATE_INCONSISTENT);
}

/* ---- mechanisms ---- */

static void test_mech_table(void **state)
{
    (void)state;
    assert_non_null(p11_mech_find(CKM_SHA256_RSA_PKCS_PSS));
    assert_null(p11_mech_find(CKM_DES3_CBC));
    assert_null(p11_mech_find(CKM_AES_ECB)); /* the data plane has no ECB */
    for (CK_ULONG i = 0; i < p11_mech_count(); i++) {
        const p11_mech *m = p11_mech_at(i);
        assert_ptr_equal(p11_mech_find(m->type), m);
        if (m->flags & CKF_DIGEST)
            assert_non_null(p11_mech_md(m->type));
    }
    assert_null(p11_mech_at(p11_mech_count()));
}

static void test_sig_plans(void **state)
{
    (void)state;
    p11_sig_plan p;
    CK_MECHANISM m = {CKM_SHA384_RSA_PKCS, NULL, 0};
    assert_int_equal(p11_sig_plan_for(&m, CKK_RSA, &p), CKR_OK);
    assert_string_equal(p.dp_mech, "RSA-PKCS");
    assert_true(p.digest_info);
    assert_int_equal(p11_sig_plan_for(&m, CKK_EC, &p), CKR_KEY_TYPE_INCONSISTENT);
    m.mechanism = CKM_ECDSA;
    assert_int_equal(p11_sig_plan_for(&m, CKK_EC, &p), CKR_OK);
    assert_true(p.ecdsa);
    m.mechanism = CKM_AES_GCM;
    assert_int_equal(p11_sig_plan_for(&m, CKK_AES, &p), CKR_MECHANISM_INVALID);
    CK_RSA_PKCS_PSS_PARAMS pss = {CKM_SHA256, CKG_MGF1_SHA256, 32};
    CK_MECHANISM mp = {CKM_RSA_PKCS_PSS, &pss, sizeof pss};
    assert_int_equal(p11_sig_plan_for(&mp, CKK_RSA, &p), CKR_OK);
    assert_string_equal(p.dp_mech, "RSA-PSS-SHA256");
    assert_true(p.prehashed);
    assert_int_equal(p.hash_len, 32);
    pss.sLen = 20; /* the data plane salts with the hash length only */
    assert_int_equal(p11_sig_plan_for(&mp, CKK_RSA, &p), CKR_MECHANISM_PARAM_INVALID);
    pss.sLen = 32;
    mp.mechanism = CKM_SHA512_RSA_PKCS_PSS; /* hashAlg must be the mechanism's */
    assert_int_equal(p11_sig_plan_for(&mp, CKK_RSA, &p), CKR_MECHANISM_PARAM_INVALID);
    mp.ulParameterLen = 3;
    assert_int_equal(p11_sig_plan_for(&mp, CKK_RSA, &p), CKR_MECHANISM_PARAM_INVALID);
}

static void test_cipher_plans(void **state)
{
    (void)state;
    p11_cipher_plan p;
    unsigned char iv[16] = {0}, aad[4] = {1, 2, 3, 4};
    CK_GCM_PARAMS g = {iv, 12, 96, aad, 4, 128};
    CK_MECHANISM m = {CKM_AES_GCM, &g, sizeof g};
    assert_int_equal(p11_cipher_plan_for(&m, CKK_AES, 0, &p), CKR_OK);
    assert_string_equal(p.dp_mech, "AES-GCM");
    assert_int_equal(p.iv_len, 12);
    assert_int_equal(p.aad_len, 4);
    assert_ptr_equal(p.aad, aad);
    /* the v2.40 struct without ulIvBits */
    struct {
        CK_BYTE_PTR pIv;
        CK_ULONG ulIvLen;
        CK_BYTE_PTR pAAD;
        CK_ULONG ulAADLen;
        CK_ULONG ulTagBits;
    } old = {iv, 12, aad, 4, 128};
    CK_MECHANISM mo = {CKM_AES_GCM, &old, sizeof old};
    assert_int_equal(p11_cipher_plan_for(&mo, CKK_AES, 0, &p), CKR_OK);
    assert_int_equal(p.aad_len, 4);
    g.ulTagBits = 96;
    assert_int_equal(p11_cipher_plan_for(&m, CKK_AES, 0, &p), CKR_MECHANISM_PARAM_INVALID);
    g.ulTagBits = 128;
    g.ulIvLen = 16;
    assert_int_equal(p11_cipher_plan_for(&m, CKK_AES, 0, &p), CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(p11_cipher_plan_for(&m, CKK_RSA, 0, &p), CKR_KEY_TYPE_INCONSISTENT);
    assert_int_equal(p11_cipher_plan_for(&m, CKK_AES, 1, &p), CKR_MECHANISM_INVALID); /* no wrap */
    CK_MECHANISM cbc = {CKM_AES_CBC_PAD, iv, 16};
    assert_int_equal(p11_cipher_plan_for(&cbc, CKK_AES, 0, &p), CKR_OK);
    cbc.ulParameterLen = 8;
    assert_int_equal(p11_cipher_plan_for(&cbc, CKK_AES, 0, &p), CKR_MECHANISM_PARAM_INVALID);
    CK_RSA_PKCS_OAEP_PARAMS o = {CKM_SHA256, CKG_MGF1_SHA256, CKZ_DATA_SPECIFIED, NULL, 0};
    CK_MECHANISM om = {CKM_RSA_PKCS_OAEP, &o, sizeof o};
    assert_int_equal(p11_cipher_plan_for(&om, CKK_RSA, 1, &p), CKR_OK);
    assert_string_equal(p.dp_mech, "RSA-OAEP-SHA256");
    o.hashAlg = CKM_SHA_1;
    assert_int_equal(p11_cipher_plan_for(&om, CKK_RSA, 0, &p), CKR_MECHANISM_PARAM_INVALID);
    o.hashAlg = CKM_SHA256;
    o.pSourceData = aad;
    o.ulSourceDataLen = 4; /* no OAEP label */
    assert_int_equal(p11_cipher_plan_for(&om, CKK_RSA, 0, &p), CKR_MECHANISM_PARAM_INVALID);
    CK_MECHANISM kw = {CKM_AES_KEY_WRAP_PAD, NULL, 0};
    assert_int_equal(p11_cipher_plan_for(&kw, CKK_AES, 1, &p), CKR_OK);
    assert_string_equal(p.dp_mech, "AES-KEY-WRAP-PAD");
}

static void test_digest_info_and_ecdsa(void **state)
{
    (void)state;
    unsigned char dg[32];
    memset(dg, 0xab, sizeof dg);
    p11_bytes b = {0};
    assert_int_equal(p11_digest_info(dg, 32, &b), CKR_OK);
    assert_int_equal(b.len, 51);
    assert_memory_equal(b.data, "\x30\x31\x30\x0d\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x01", 15);
    p11_bytes_free(&b);
    assert_int_equal(p11_digest_info(dg, 20, &b), CKR_DATA_LEN_RANGE);

    /* r||s <-> DER, with a leading zero byte kept in r */
    unsigned char raw[64];
    for (int i = 0; i < 64; i++)
        raw[i] = (unsigned char)(i + 1);
    raw[0] = 0x00;
    raw[32] = 0x80; /* s needs a DER sign byte */
    p11_bytes der = {0}, back = {0};
    assert_int_equal(p11_ecdsa_raw_to_der(raw, 64, &der), CKR_OK);
    assert_int_equal(der.data[0], 0x30);
    assert_int_equal(p11_ecdsa_der_to_raw(der.data, der.len, 32, &back), CKR_OK);
    assert_int_equal(back.len, 64);
    assert_memory_equal(back.data, raw, 64);
    assert_int_equal(p11_ecdsa_raw_to_der(raw, 63, &b), CKR_SIGNATURE_LEN_RANGE);
    assert_int_equal(p11_ecdsa_der_to_raw((const unsigned char *)"\x30\x00", 1, 32, &b),
                     CKR_DEVICE_ERROR);
    p11_bytes_free(&der);
    p11_bytes_free(&back);
}

static void test_error_mapping(void **state)
{
    (void)state;
    assert_int_equal(p11_rv_from_http(401, "RET_USER_LOGIN_FAILURE", "0x000000a3", P11_CTX_LOGIN),
                     CKR_PIN_INCORRECT);
    assert_int_equal(p11_rv_from_http(401, "RET_USER_LOGIN_FAILURE", NULL, P11_CTX_KEY),
                     CKR_USER_NOT_LOGGED_IN);
    assert_int_equal(p11_rv_from_http(423, "UserLocked", NULL, P11_CTX_LOGIN), CKR_PIN_LOCKED);
    assert_int_equal(p11_rv_from_http(409, "ClusterNotActivated", NULL, P11_CTX_LOGIN),
                     CKR_USER_PIN_NOT_INITIALIZED);
    assert_int_equal(p11_rv_from_http(404, "ClusterNotFound", NULL, P11_CTX_OTHER),
                     CKR_TOKEN_NOT_PRESENT);
    assert_int_equal(p11_rv_from_http(404, "InvalidObjectHandle", "0x000000a8", P11_CTX_KEY),
                     CKR_KEY_HANDLE_INVALID);
    assert_int_equal(p11_rv_from_http(403, "KeyAccessDenied", "0x000000c6", P11_CTX_KEY),
                     CKR_ACTION_PROHIBITED);
    assert_int_equal(p11_rv_from_http(403, "OperationNotPermitted", NULL, P11_CTX_KEY),
                     CKR_KEY_FUNCTION_NOT_PERMITTED);
    assert_int_equal(p11_rv_from_http(403, "OperationNotPermitted", NULL, P11_CTX_WRAP),
                     CKR_KEY_UNEXTRACTABLE);
    assert_int_equal(p11_rv_from_http(400, "InvalidRequest", "0x0000001b", P11_CTX_DECRYPT),
                     CKR_ENCRYPTED_DATA_INVALID);
    assert_int_equal(p11_rv_from_http(409, "KeyIdAlreadyExists", NULL, P11_CTX_OTHER),
                     CKR_ATTRIBUTE_VALUE_INVALID);
    assert_int_equal(p11_rv_from_http(503, "NodeUnavailable", NULL, P11_CTX_KEY), CKR_DEVICE_ERROR);
    chsmc_error e;
    chsmc_error_clear(&e);
    assert_int_equal(p11_rv_from(CHSMC_ECONNECT, &e, P11_CTX_KEY), CKR_DEVICE_ERROR);
    assert_int_equal(p11_rv_from(CHSMC_ENOMEM, &e, P11_CTX_KEY), CKR_HOST_MEMORY);
    assert_int_equal(p11_rv_from(CHSMC_OK, &e, P11_CTX_KEY), CKR_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_slots_numbered_from_one, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_open_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_login_rules, setup, teardown),
        cmocka_unit_test(test_pin_split),
        cmocka_unit_test(test_op_finish_two_call),
        cmocka_unit_test_setup_teardown(test_object_table, setup, teardown),
        cmocka_unit_test(test_attr_secret),
        cmocka_unit_test(test_attr_public_keys),
        cmocka_unit_test(test_attr_match),
        cmocka_unit_test(test_id_mapping),
        cmocka_unit_test(test_find_filter),
        cmocka_unit_test(test_template_secret),
        cmocka_unit_test(test_template_pair),
        cmocka_unit_test(test_template_set),
        cmocka_unit_test(test_template_unwrap),
        cmocka_unit_test(test_mech_table),
        cmocka_unit_test(test_sig_plans),
        cmocka_unit_test(test_cipher_plans),
        cmocka_unit_test(test_digest_info_and_ecdsa),
        cmocka_unit_test(test_error_mapping),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

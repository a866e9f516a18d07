/* hsmutil.c - chsmctl util: an azcloudhsm_util-style shell for crypto users
 * (loginHSM -u CU -s cu1 -p user1234, key generation, findKey, getAttribute,
 * deleteKey, exportPubKey, sign/verify, encrypt/decrypt, wrapKey/unWrapKey,
 * listUsers), printing the Cfm3... return lines and the Cluster Status block. */
#include "shell.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: chsmctl util [CFG | --config CFG] [-f SCRIPT] [singlecmd CMD ARGS...]\n"
    "\n"
    "An azcloudhsm_util-style shell on the cluster named by CFG, an azcloudhsm_resource.cfg\n"
    "(default ./azcloudhsm_resource.cfg or $CHSM_RESOURCE_CFG). Commands come from the\n"
    "terminal (prompt Command:), a pipe, a script (-f) or singlecmd arguments, e.g.\n"
    "  chsmctl util singlecmd loginHSM -u CU -s cu1 -p user1234 findKey -l mykey\n"
    "\n"
    "Commands:\n"
    "  loginHSM -u CU -s <user> -p <password>      logoutHSM\n"
    "  genSymKey -t 31 -s <16|24|32> -l <label> [-id <id>] [-nex] [-sess]\n"
    "  genRSAKeyPair -m <2048|3072|4096> -e 65537 -l <label> [-id <id>] [-nex] [-sess]\n"
    "  genECCKeyPair -i <2 (P-256)|14 (P-384)> -l <label> [-id <id>] [-nex] [-sess]\n"
    "  findKey [-c <2 public|3 private|4 secret>] [-t <0 RSA|3 EC|31 AES>] [-l <label>]\n"
    "          [-id <id>]\n"
    "  getAttribute -o <handle> -a <attribute id|512 for all> [-out <file>]\n"
    "  deleteKey -k <handle>\n"
    "  exportPubKey -k <handle> -out <file.pem>\n"
    "  sign -f <file> -k <private handle> -m <mech> -out <signature file>\n"
    "  verify -f <file> -s <signature file> -k <public handle> -m <mech>\n"
    "  encrypt -k <handle> -m <AES-GCM|AES-CBC-PAD|RSA-OAEP-SHA256> -f <file> -out <file>\n"
    "  decrypt -k <handle> -m <mech> -f <file> -out <file>\n"
    "  wrapKey -k <key handle> -w <wrapping handle> -out <file> [-m <mech>]\n"
    "  unWrapKey -f <file> -w <wrapping handle> [-l <label>] [-id <id>]\n"
    "            [-kt <31 AES|0 RSA|3 EC>] [-m <mech>] [-nex] [-sess]\n"
    "  listUsers, help, exit, quit\n"
    "\n"
    "Sign/verify mechanisms (-m): 1 SHA256_RSA_PKCS, 2 SHA384_RSA_PKCS, 3 SHA512_RSA_PKCS,\n"
    "6 SHA256_RSA_PKCS_PSS, 7 SHA384_RSA_PKCS_PSS, 8 SHA512_RSA_PKCS_PSS, 17 ECDSA_SHA256,\n"
    "18 ECDSA_SHA384, 19 ECDSA_SHA512, or the emulator's names (RSA-PKCS-SHA256, ...).\n"
    "encrypt writes iv||ciphertext||tag (AES-GCM, 12-byte iv, 16-byte tag), iv||ciphertext\n"
    "(AES-CBC-PAD, 16-byte iv) or the ciphertext (RSA-OAEP-SHA256); decrypt reads the same.\n"
    "Exit code: 0 when every command succeeded, else the first failure's code.\n";

/* ---- output ---- */

static const char *hsm_error_text(const char *ret, const char *code)
{
    if (ret && strcmp(ret, "0x000000a3") == 0)
        return "0xa3 : HSM Error: RET_USER_LOGIN_FAILURE";
    if (ret && strcmp(ret, "0x000000a4") == 0)
        return "0xa4 : HSM Error: RET_USER_LOCKED";
    if (ret && strcmp(ret, "0x000000a8") == 0)
        return "0xa8 : HSM Error: Invalid object handle is passed to this operation";
    if (ret && strcmp(ret, "0x000000c6") == 0)
        return "0xc6 : HSM Error: Key Access is denied.";
    if (ret && strcmp(ret, "0x000000b3") == 0)
        return "0xb3 : HSM Error: This operation violates the current configured/FIPS "
               "policies.";
    if (code && strcmp(code, "OperationNotPermitted") == 0)
        return "0xdb : HSM Error: Invalid User Type.";
    return NULL;
}

static void node_block(ctl_shell *s)
{
    printf("\nCluster Status:\n");
    int k = ctl_shell_node_count(s);
    for (int i = 0; i < k; i++) {
        int up;
        ctl_shell_node(s, i, &up);
        if (up)
            printf("Node id %d status: 0x00000000 : HSM Return: SUCCESS\n", i + 1);
        else
            printf("Node id %d status: 0x30000085 : HSM CLUSTER ERROR: Server in cluster is "
                   "unavailable\n",
                   i + 1);
    }
}

/* ret prints "<fn> returned: ..." for rc and returns rc. */
static int ret(const char *fn, int rc, const chsmc_error *e)
{
    if (rc == CHSMC_OK) {
        printf("%s returned: 0x00 : HSM Return: SUCCESS\n", fn);
        return rc;
    }
    const char *text = e ? hsm_error_text(e->hsm_return, e->code) : NULL;
    if (text)
        printf("%s returned: %s\n", fn, text);
    else if (rc == CHSMC_EHTTP)
        printf("%s returned: 0xff : HSM Error: %s\n", fn, e->code);
    else
        printf("%s returned: 0xff : %s\n", fn, chsmc_status_name(rc));
    if (e && e->message[0])
        printf("    (%s%s%s)\n", e->code[0] ? e->code : "", e->code[0] ? ": " : "", e->message);
    return rc;
}

static int usage_line(const char *syntax, const char *err)
{
    if (err && *err)
        printf("Error: %s\n", err);
    printf("Usage: %s\n", syntax);
    return CHSMC_EUSAGE;
}

/* check_args validates argv[1..] against flags with values and bare flags. */
static int check_args(int argc, char **argv, const char *const *with_value, const char *const *bare,
                      const char *syntax)
{
    char err[200];
    if (chsmc_dash_check(argc - 1, argv + 1, with_value, bare, err, sizeof err) != CHSMC_OK)
        return usage_line(syntax, err);
    return CHSMC_OK;
}

static int get_handle(int argc, char **argv, const char *flag, long long *h)
{
    const char *v = chsmc_dash_value(argc, argv, flag);
    if (!v || chsmc_parse_int(v, 1, 0x7fffffffLL, h) != CHSMC_OK) {
        printf("Error: -%s needs a key handle\n", flag);
        return CHSMC_EUSAGE;
    }
    return CHSMC_OK;
}

static int need_login(ctl_shell *s)
{
    if (chsmc_hsm_logged_in(s->hsm, NULL, NULL))
        return CHSMC_OK;
    printf("Error: log in first: loginHSM -u CU -s <user> -p <password>\n");
    return CHSMC_EUSAGE;
}

static unsigned char *read_bytes(const char *path, size_t *len)
{
    char *d = chsmc_read_file(path, len);
    if (!d)
        printf("Error: cannot read '%s': %s\n", path, strerror(errno));
    return (unsigned char *)d;
}

static int write_bytes(const char *path, const void *data, size_t len)
{
    if (chsmc_write_file(path, data, len, 0644) != CHSMC_OK) {
        printf("Error: cannot write '%s'\n", path);
        return CHSMC_EIO;
    }
    return CHSMC_OK;
}

/* ---- sessions ---- */

static int cmd_login(ctl_shell *s, int argc, char **argv)
{
    static const char *const wv[] = {"u", "s", "p", NULL};
    static const char *const bare[] = {"hpswd", NULL};
    const char *syntax = "loginHSM -u <CU|CO> -s <user name> -p <password>";
    int rc = check_args(argc, argv, wv, bare, syntax);
    if (rc)
        return rc;
    const char *type = chsmc_dash_value(argc, argv, "u");
    const char *user = chsmc_dash_value(argc, argv, "s");
    const char *pw = chsmc_dash_value(argc, argv, "p");
    if (!type || !user || !pw)
        return usage_line(syntax, chsmc_dash_flag(argc, argv, "hpswd")
                                      ? "-hpswd (hidden password prompt) is not supported; use -p"
                                      : "-u, -s and -p are required");
    chsmc_error e;
    chsmc_error_clear(&e);
    rc = chsmc_hsm_login(s->hsm, type, user, pw, &e);
    ret("Cfm3LoginHSM", rc, &e);
    if (rc == CHSMC_OK)
        node_block(s);
    return rc;
}

static int cmd_logout(ctl_shell *s, int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return usage_line("logoutHSM", NULL);
    if (need_login(s))
        return CHSMC_EUSAGE;
    chsmc_error e;
    chsmc_error_clear(&e);
    int rc = chsmc_hsm_logout(s->hsm, &e);
    ret("Cfm3LogoutHSM", rc, &e);
    if (rc == CHSMC_OK)
        node_block(s);
    return rc;
}

/* ---- key generation ---- */

/* gen_spec starts a key spec with label, keyId and attributes from the common options. */
static cJSON *gen_spec(int argc, char **argv, const char *type)
{
    cJSON *spec = cJSON_CreateObject();
    cJSON_AddStringToObject(spec, "type", type);
    const char *label = chsmc_dash_value(argc, argv, "l");
    const char *id = chsmc_dash_value(argc, argv, "id");
    if (label)
        cJSON_AddStringToObject(spec, "label", label);
    if (id)
        cJSON_AddStringToObject(spec, "keyId", id);
    cJSON *a = cJSON_AddObjectToObject(spec, "attributes");
    cJSON_AddBoolToObject(a, "extractable", !chsmc_dash_flag(argc, argv, "nex"));
    cJSON_AddBoolToObject(a, "token", !chsmc_dash_flag(argc, argv, "sess"));
    return spec;
}

static long long handle_of_class(const cJSON *keys, const char *cls)
{
    const cJSON *k;
    cJSON_ArrayForEach(k, keys)
    {
        const char *c = cJSON_GetStringValue(cJSON_GetObjectItem(k, "class"));
        const cJSON *h = cJSON_GetObjectItem(k, "handle");
        if (c && strcmp(c, cls) == 0 && cJSON_IsNumber(h))
            return (long long)h->valuedouble;
    }
    return -1;
}

static int cmd_gen_sym(ctl_shell *s, int argc, char **argv)
{
    static const char *const wv[] = {
        "t", "s", "l", "id", "u", "m_value", "min_srv", "timeout", "wrap_with_trusted", NULL};
    static const char *const bare[] = {"nex", "sess", "attest", NULL};
    const char *syntax = "genSymKey -t 31 -s <16|24|32> -l <label> [-id <id>] [-nex] [-sess]";
    int rc = check_args(argc, argv, wv, bare, syntax);
    if (rc || (rc = need_login(s)))
        return rc;
    const char *t = chsmc_dash_value(argc, argv, "t");
    const char *sz = chsmc_dash_value(argc, argv, "s");
    long long bytes;
    if (!t || !sz || !chsmc_dash_value(argc, argv, "l"))
        return usage_line(syntax, "-t, -s and -l are required");
    if (strcmp(t, "31") != 0)
        return usage_line(syntax, "the emulated HSM generates AES keys only (-t 31)");
    if (chsmc_parse_int(sz, 16, 32, &bytes) != CHSMC_OK ||
        (bytes != 16 && bytes != 24 && bytes != 32))
        return usage_line(syntax, "AES key size -s is 16, 24 or 32 bytes");
    cJSON *spec = gen_spec(argc, argv, "AES");
    cJSON_AddNumberToObject(spec, "size", (double)(bytes * 8));
    chsmc_error e;
    chsmc_error_clear(&e);
    cJSON *keys = NULL;
    rc = chsmc_hsm_generate_key(s->hsm, spec, &keys, &e);
    cJSON_Delete(spec);
    ret("Cfm3GenerateSymmetricKey", rc, &e);
    if (rc == CHSMC_OK) {
        printf("\nSymmetric Key Created.  Key Handle: %lld\n", handle_of_class(keys, "secret"));
        node_block(s);
    }
    cJSON_Delete(keys);
    return rc;
}

static int print_pair(ctl_shell *s, int rc, const chsmc_error *e, cJSON *keys)
{
    ret("Cfm3GenerateKeyPair", rc, e);
    if (rc == CHSMC_OK) {
        printf("\nCfm3GenerateKeyPair:    public key handle: %lld    private key handle: %lld\n",
               handle_of_class(keys, "public"), handle_of_class(keys, "private"));
        node_block(s);
    }
    cJSON_Delete(keys);
    return rc;
}

static int cmd_gen_rsa(ctl_shell *s, int argc, char **argv)
{
    static const char *const wv[] = {"m",       "e",       "l",       "id", "u",
                                     "m_value", "min_srv", "timeout", NULL};
    static const char *const bare[] = {"nex", "sess", "attest", NULL};
    const char *syntax =
        "genRSAKeyPair -m <2048|3072|4096> -e 65537 -l <label> [-id <id>] [-nex] [-sess]";
    int rc = check_args(argc, argv, wv, bare, syntax);
    if (rc || (rc = need_login(s)))
        return rc;
    long long bits, exp;
    const char *m = chsmc_dash_value(argc, argv, "m");
    const char *ex = chsmc_dash_value(argc, argv, "e");
    if (!m || !ex || !chsmc_dash_value(argc, argv, "l"))
        return usage_line(syntax, "-m, -e and -l are required");
    if (chsmc_parse_int(m, 2048, 16384, &bits) != CHSMC_OK)
        return usage_line(syntax, "the modulus -m is at least 2048 bits");
    if (chsmc_parse_int(ex, 65537, 0x7fffffffLL, &exp) != CHSMC_OK || exp % 2 == 0)
        return usage_line(syntax, "the public exponent -e is odd and at least 65537");
    cJSON *spec = gen_spec(argc, argv, "RSA");
    cJSON_AddNumberToObject(spec, "size", (double)bits);
    cJSON_AddNumberToObject(spec, "publicExponent", (double)exp);
    chsmc_error e;
    chsmc_error_clear(&e);
    cJSON *keys = NULL;
    rc = chsmc_hsm_generate_key(s->hsm, spec, &keys, &e);
    cJSON_Delete(spec);
    return print_pair(s, rc, &e, keys);
}

static int cmd_gen_ecc(ctl_shell *s, int argc, char **argv)
{
    static const char *const wv[] = {"i", "l", "id", "u", "m_value", "min_srv", "timeout", NULL};
    static const char *const bare[] = {"nex", "sess", "attest", NULL};
    const char *syntax = "genECCKeyPair -i <2|14> -l <label> [-id <id>] [-nex] [-sess]";
    int rc = check_args(argc, argv, wv, bare, syntax);
    if (rc || (rc = need_login(s)))
        return rc;
    const char *i = chsmc_dash_value(argc, argv, "i");
    if (!i || !chsmc_dash_value(argc, argv, "l"))
        return usage_line(syntax, "-i and -l are required");
    const char *curve = strcmp(i, "2") == 0 ? "P-256" : strcmp(i, "14") == 0 ? "P-384" : NULL;
    if (!curve)
        return usage_line(syntax, "the emulated HSM supports curve ids 2 (prime256v1) and 14 "
                                  "(secp384r1)");
    cJSON *spec = gen_spec(argc, argv, "EC");
    cJSON_AddStringToObject(spec, "curve", curve);
    chsmc_error e;
    chsmc_error_clear(&e);
    cJSON *keys = NULL;
    rc = chsmc_hsm_generate_key(s->hsm, spec, &keys, &e);
    cJSON_Delete(spec);
    return print_pair(s, rc, &e, keys);
}

/* ---- finding and inspecting keys ---- */

static const char *class_name(const char *code)
{
    if (!code)
        return NULL;
    if (strcmp(code, "2") == 0)
        return "public";
    if (strcmp(code, "3") == 0)
        return "private";
    if (strcmp(code, "4") == 0)
        return "secret";
    return "";
}

static const char *type_name(const char *code)
{
    if (!code)
        return NULL;
    if (strcmp(code, "0") == 0)
        return "RSA";
    if (strcmp(code, "3") == 0)
        return "EC";
    if (strcmp(code, "31") == 0)
        return "AES";
    return "";
}

static int cmd_find(ctl_shell *s, int argc, char **argv)
{
    static const char *const wv[] = {"c", "t", "l", "id", "sess", "u", "m", "kcv", NULL};
    const char *syntax = "findKey [-c <2|3|4>] [-t <0|3|31>] [-l <label>] [-id <id>]";
    int rc = check_args(argc, argv, wv, NULL, syntax);
    if (rc || (rc = need_login(s)))
        return rc;
    const char *cls = class_name(chsmc_dash_value(argc, argv, "c"));
    const char *type = type_name(chsmc_dash_value(argc, argv, "t"));
    if ((cls && !*cls) || (type && !*type))
        return usage_line(syntax, "class -c is 2, 3 or 4; type -t is 0, 3 or 31");
    chsmc_error e;
    chsmc_error_clear(&e);
    cJSON *keys = NULL;
    rc = chsmc_hsm_find_keys(s->hsm, chsmc_dash_value(argc, argv, "l"), cls, type,
                             chsmc_dash_value(argc, argv, "id"), &keys, &e);
    if (rc == CHSMC_OK) {
        int n = cJSON_GetArraySize(keys);
        printf("Total number of keys present %d\n", n);
        if (n > 0) {
            printf("\n number of keys matched from start index 0::%d\n", n - 1);
            const cJSON *k;
            int first = 1;
            cJSON_ArrayForEach(k, keys)
            {
                const cJSON *h = cJSON_GetObjectItem(k, "handle");
                printf("%s%lld", first ? "" : ", ",
                       cJSON_IsNumber(h) ? (long long)h->valuedouble : -1LL);
                first = 0;
            }
            printf("\n");
        }
        node_block(s);
    }
    cJSON_Delete(keys);
    return ret("Cfm3FindKey", rc, &e);
}

typedef struct attr {
    int id;
    const char *name;
} attr;

static const attr attrs[] = {
    {0, "OBJ_ATTR_CLASS"},
    {1, "OBJ_ATTR_TOKEN"},
    {2, "OBJ_ATTR_PRIVATE"},
    {3, "OBJ_ATTR_LABEL"},
    {134, "OBJ_ATTR_TRUSTED"},
    {256, "OBJ_ATTR_KEY_TYPE"},
    {258, "OBJ_ATTR_ID"},
    {259, "OBJ_ATTR_SENSITIVE"},
    {260, "OBJ_ATTR_ENCRYPT"},
    {261, "OBJ_ATTR_DECRYPT"},
    {262, "OBJ_ATTR_WRAP"},
    {263, "OBJ_ATTR_UNWRAP"},
    {264, "OBJ_ATTR_SIGN"},
    {266, "OBJ_ATTR_VERIFY"},
    {268, "OBJ_ATTR_DERIVE"},
    {289, "OBJ_ATTR_MODULUS_BITS"},
    {353, "OBJ_ATTR_VALUE_LEN"},
    {354, "OBJ_ATTR_EXTRACTABLE"},
    {355, "OBJ_ATTR_LOCAL"},
    {356, "OBJ_ATTR_NEVER_EXTRACTABLE"},
    {357, "OBJ_ATTR_ALWAYS_SENSITIVE"},
    {371, "OBJ_ATTR_KCV"},
};

static int flag_of(const cJSON *key, const char *name)
{
    return cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(key, "attributes"), name));
}

/* attr_value writes the value of attribute id of key into out; 0 when it does not apply. */
static int attr_value(const cJSON *key, int id, char *out, size_t n)
{
    const char *cls = cJSON_GetStringValue(cJSON_GetObjectItem(key, "class"));
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(key, "type"));
    const cJSON *size = cJSON_GetObjectItem(key, "size");
    int bits = cJSON_IsNumber(size) ? size->valueint : 0;
    const char *s = NULL;
    long v = -1;
    switch (id) {
    case 0:
        v = !cls ? 0 : strcmp(cls, "public") == 0 ? 2 : strcmp(cls, "private") == 0 ? 3 : 4;
        break;
    case 1:
        v = cJSON_GetObjectItem(cJSON_GetObjectItem(key, "attributes"), "token")
                ? flag_of(key, "token")
                : 1;
        break;
    case 2:
        v = 1;
        break;
    case 3:
        s = cJSON_GetStringValue(cJSON_GetObjectItem(key, "label"));
        break;
    case 134:
        v = flag_of(key, "trusted");
        break;
    case 256:
        v = !type ? 0 : strcmp(type, "RSA") == 0 ? 0 : strcmp(type, "EC") == 0 ? 3 : 31;
        break;
    case 258:
        s = cJSON_GetStringValue(cJSON_GetObjectItem(key, "keyId"));
        break;
    case 259:
        v = flag_of(key, "sensitive");
        break;
    case 260:
        v = flag_of(key, "encrypt");
        break;
    case 261:
        v = flag_of(key, "decrypt");
        break;
    case 262:
        v = flag_of(key, "wrap");
        break;
    case 263:
        v = flag_of(key, "unwrap");
        break;
    case 264:
        v = flag_of(key, "sign");
        break;
    case 266:
        v = flag_of(key, "verify");
        break;
    case 268:
        v = flag_of(key, "derive");
        break;
    case 289:
        if (!type || strcmp(type, "RSA") != 0)
            return 0;
        v = bits;
        break;
    case 353:
        if (!type || strcmp(type, "AES") != 0)
            return 0;
        v = bits / 8;
        break;
    case 354:
        v = flag_of(key, "extractable");
        break;
    case 355:
        v = 1;
        break;
    case 356:
        v = !flag_of(key, "extractable");
        break;
    case 357:
        v = flag_of(key, "sensitive");
        break;
    case 371:
        s = cJSON_GetStringValue(cJSON_GetObjectItem(key, "kcv"));
        break;
    default:
        return 0;
    }
    if (s)
        snprintf(out, n, "%s", s);
    else if (v >= 0)
        snprintf(out, n, "0x%08lx", (unsigned long)v);
    else
        snprintf(out, n, "%s", "");
    return 1;
}

static int cmd_get_attribute(ctl_shell *s, int argc, char **argv)
{
    static const char *const wv[] = {"o", "a", "out", NULL};
    const char *syntax = "getAttribute -o <handle> -a <attribute id|512> [-out <file>]";
    int rc = check_args(argc, argv, wv, NULL, syntax);
    if (rc || (rc = need_login(s)))
        return rc;
    long long h, id;
    if (get_handle(argc, argv, "o", &h))
        return usage_line(syntax, NULL);
    if (chsmc_parse_int(chsmc_dash_value(argc, argv, "a"), 0, 0x7fffffffLL, &id) != CHSMC_OK)
        return usage_line(syntax, "-a needs an attribute id (512 for all)");
    chsmc_error e;
    chsmc_error_clear(&e);
    cJSON *key = NULL;
    rc = chsmc_hsm_get_key(s->hsm, h, &key, &e);
    if (rc != CHSMC_OK)
        return ret("Cfm3GetAttribute", rc, &e);
    chsmc_buf b = {0};
    int count = 0;
    char val[512];
    for (size_t i = 0; i < sizeof attrs / sizeof attrs[0]; i++) {
        if (id != 512 && attrs[i].id != id)
            continue;
        if (!attr_value(key, attrs[i].id, val, sizeof val))
            continue;
        chsmc_buf_printf(&b, "%s\n%s\n", attrs[i].name, val);
        count++;
    }
    cJSON_Delete(key);
    if (count == 0) {
        chsmc_buf_free(&b);
        printf("Error: attribute %lld is not known for this key\n", id);
        return ret("Cfm3GetAttribute", CHSMC_EUSAGE, NULL);
    }
    const char *out = chsmc_dash_value(argc, argv, "out");
    if (id == 512)
        printf("got all attributes of size %zu attr cnt %d\n", b.len, count);
    if (out) {
        rc = write_bytes(out, b.data, b.len);
        if (rc == CHSMC_OK)
            printf("Attributes dumped into %s file\n", out);
    } else {
        fputs(b.data, stdout);
    }
    chsmc_buf_free(&b);
    return ret("Cfm3GetAttribute", rc, NULL);
}

static int cmd_delete_key(ctl_shell *s, int argc, char **argv)
{
    static const char *const wv[] = {"k", NULL};
    const char *syntax = "deleteKey -k <handle>";
    int rc = check_args(argc, argv, wv, NULL, syntax);
    if (rc || (rc = need_login(s)))
        return rc;
    long long h;
    if (get_handle(argc, argv, "k", &h))
        return usage_line(syntax, NULL);
    chsmc_error e;
    chsmc_error_clear(&e);
    rc = chsmc_hsm_delete_key(s->hsm, h, &e);
    ret("Cfm3DeleteKey", rc, &e);
    if (rc == CHSMC_OK)
        node_block(s);
    return rc;
}

static int cmd_export_pub(ctl_shell *s, int argc, char **argv)
{
    static const char *const wv[] = {"k", "out", NULL};
    const char *syntax = "exportPubKey -k <handle> -out <file.pem>";
    int rc = check_args(argc, argv, wv, NULL, syntax);
    if (rc || (rc = need_login(s)))
        return rc;
    long long h;
    const char *out = chsmc_dash_value(argc, argv, "out");
    if (get_handle(argc, argv, "k", &h) || !out)
        return usage_line(syntax, NULL);
    chsmc_error e;
    chsmc_error_clear(&e);
    char *pem = NULL;
    rc = chsmc_hsm_public_pem(s->hsm, h, &pem, &e);
    if (rc == CHSMC_OK && (rc = write_bytes(out, pem, strlen(pem))) == CHSMC_OK)
        printf("PEM formatted public key is written to %s\n", out);
    free(pem);
    return ret("Cfm3ExportPubKey", rc, &e);
}

/* ---- crypto ---- */

static const char *sign_mechanism(const char *m)
{
    static const struct {
        const char *num;
        const char *name;
    } map[] = {{"1", "RSA-PKCS-SHA256"}, {"2", "RSA-PKCS-SHA384"}, {"3", "RSA-PKCS-SHA512"},
               {"6", "RSA-PSS-SHA256"},  {"7", "RSA-PSS-SHA384"},  {"8", "RSA-PSS-SHA512"},
               {"17", "ECDSA-SHA256"},   {"18", "ECDSA-SHA384"},   {"19", "ECDSA-SHA512"}};
    if (!m)
        return NULL;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i].num, m) == 0 || chsmc_streq_ci(map[i].name, m))
            return map[i].name;
    return NULL;
}

static int cmd_sign(ctl_shell *s, int argc, char **argv)
{
    static const char *const wv[] = {"f", "k", "m", "out", NULL};
    const char *syntax = "sign -f <file> -k <private key handle> -m <mechanism> -out <file>";
    int rc = check_args(argc, argv, wv, NULL, syntax);
    if (rc || (rc = need_login(s)))
        return rc;
    long long h;
    const char *in = chsmc_dash_value(argc, argv, "f");
    const char *out = chsmc_dash_value(argc, argv, "out");
    const char *mech = sign_mechanism(chsmc_dash_value(argc, argv, "m"));
    if (get_handle(argc, argv, "k", &h) || !in || !out)
        return usage_line(syntax, NULL);
    if (!mech)
        return usage_line(syntax, "unsupported mechanism (see help)");
    size_t len, siglen;
    unsigned char *data = read_bytes(in, &len), *sig = NULL;
    if (!data)
        return CHSMC_EIO;
    chsmc_error e;
    chsmc_error_clear(&e);
    rc = chsmc_hsm_sign(s->hsm, h, mech, data, len, &sig, &siglen, &e);
    free(data);
    ret("Cfm3Sign", rc, &e);
    if (rc == CHSMC_OK && (rc = write_bytes(out, sig, siglen)) == CHSMC_OK)
        printf("signature is written to file %s\n", out);
    free(sig);
    return rc;
}

static int cmd_verify(ctl_shell *s, int argc, char **argv)
{
    static const char *const wv[] = {"f", "s", "k", "m", NULL};
    const char *syntax = "verify -f <file> -s <signature file> -k <public key handle> -m <mech>";
    int rc = check_args(argc, argv, wv, NULL, syntax);
    if (rc || (rc = need_login(s)))
        return rc;
    long long h;
    const char *in = chsmc_dash_value(argc, argv, "f");
    const char *sf = chsmc_dash_value(argc, argv, "s");
    const char *mech = sign_mechanism(chsmc_dash_value(argc, argv, "m"));
    if (get_handle(argc, argv, "k", &h) || !in || !sf)
        return usage_line(syntax, NULL);
    if (!mech)
        return usage_line(syntax, "unsupported mechanism (see help)");
    size_t len, siglen;
    unsigned char *data = read_bytes(in, &len);
    unsigned char *sig = data ? read_bytes(sf, &siglen) : NULL;
    if (!data || !sig) {
        free(data);
        return CHSMC_EIO;
    }
    chsmc_error e;
    chsmc_error_clear(&e);
    int valid = 0;
    rc = chsmc_hsm_verify(s->hsm, h, mech, data, len, sig, siglen, &valid, &e);
    free(data);
    free(sig);
    if (rc != CHSMC_OK)
        return ret("Cfm3Verify", rc, &e);
    if (!valid) {
        printf("\nSignature verification failed\n");
        printf("Cfm3Verify returned: 0x1b : CSP Error: ERR_BAD_PKCS_DATA\n");
        return CHSMC_EFAIL;
    }
    printf("\nSignature verification successful\n");
    return ret("Cfm3Verify", CHSMC_OK, NULL);
}

static int aes_mech(const char *m, int *gcm)
{
    *gcm = strcmp(m, "AES-GCM") == 0;
    return *gcm || strcmp(m, "AES-CBC-PAD") == 0;
}

static int cmd_encrypt(ctl_shell *s, int argc, char **argv)
{
    static const char *const wv[] = {"k", "m", "f", "out", NULL};
    const char *syntax = "encrypt -k <handle> -m <AES-GCM|AES-CBC-PAD|RSA-OAEP-SHA256> -f <file> "
                         "-out <file>";
    int rc = check_args(argc, argv, wv, NULL, syntax);
    if (rc || (rc = need_login(s)))
        return rc;
    long long h;
    const char *mech = chsmc_dash_value(argc, argv, "m");
    const char *in = chsmc_dash_value(argc, argv, "f");
    const char *out = chsmc_dash_value(argc, argv, "out");
    int gcm;
    if (get_handle(argc, argv, "k", &h) || !mech || !in || !out)
        return usage_line(syntax, NULL);
    int aes = aes_mech(mech, &gcm);
    if (!aes && strcmp(mech, "RSA-OAEP-SHA256") != 0)
        return usage_line(syntax, "unsupported mechanism");
    chsmc_bytes plain = {0}, ct, iv, tag;
    plain.data = read_bytes(in, &plain.len);
    if (!plain.data)
        return CHSMC_EIO;
    chsmc_error e;
    chsmc_error_clear(&e);
    rc = chsmc_hsm_encrypt(s->hsm, h, mech, &plain, NULL, NULL, &ct, &iv, &tag, &e);
    chsmc_bytes_free(&plain);
    ret("Cfm3Encrypt", rc, &e);
    if (rc != CHSMC_OK)
        return rc;
    chsmc_buf b = {0};
    if (aes)
        chsmc_buf_append(&b, iv.data, iv.len);
    chsmc_buf_append(&b, ct.data, ct.len);
    if (gcm)
        chsmc_buf_append(&b, tag.data, tag.len);
    rc = write_bytes(out, b.data, b.len);
    if (rc == CHSMC_OK)
        printf("result written to file %s (%zu bytes)\n", out, b.len);
    chsmc_buf_free(&b);
    chsmc_bytes_free(&ct);
    chsmc_bytes_free(&iv);
    chsmc_bytes_free(&tag);
    return rc;
}

static int cmd_decrypt(ctl_shell *s, int argc, char **argv)
{
    static const char *const wv[] = {"k", "m", "f", "out", NULL};
    const char *syntax = "decrypt -k <handle> -m <AES-GCM|AES-CBC-PAD|RSA-OAEP-SHA256> -f <file> "
                         "-out <file>";
    int rc = check_args(argc, argv, wv, NULL, syntax);
    if (rc || (rc = need_login(s)))
        return rc;
    long long h;
    const char *mech = chsmc_dash_value(argc, argv, "m");
    const char *in = chsmc_dash_value(argc, argv, "f");
    const char *out = chsmc_dash_value(argc, argv, "out");
    int gcm;
    if (get_handle(argc, argv, "k", &h) || !mech || !in || !out)
        return usage_line(syntax, NULL);
    int aes = aes_mech(mech, &gcm);
    if (!aes && strcmp(mech, "RSA-OAEP-SHA256") != 0)
        return usage_line(syntax, "unsupported mechanism");
    size_t len;
    unsigned char *data = read_bytes(in, &len);
    if (!data)
        return CHSMC_EIO;
    size_t ivlen = aes ? (gcm ? 12 : 16) : 0, taglen = gcm ? 16 : 0;
    if (len < ivlen + taglen) {
        free(data);
        printf("Error: '%s' is too short for %s\n", in, mech);
        return CHSMC_EUSAGE;
    }
    chsmc_bytes iv = {data, ivlen}, ct = {data + ivlen, len - ivlen - taglen},
                tag = {data + len - taglen, taglen}, plain;
    chsmc_error e;
    chsmc_error_clear(&e);
    rc = chsmc_hsm_decrypt(s->hsm, h, mech, &ct, aes ? &iv : NULL, NULL, gcm ? &tag : NULL, &plain,
                           &e);
    free(data);
    ret("Cfm3Decrypt", rc, &e);
    if (rc == CHSMC_OK && (rc = write_bytes(out, plain.data, plain.len)) == CHSMC_OK)
        printf("result written to file %s (%zu bytes)\n", out, plain.len);
    chsmc_bytes_free(&plain);
    return rc;
}

/* wrap_mechanism picks the wrap mechanism from -m or the wrapping key's type. */
static const char *wrap_mechanism(ctl_shell *s, int argc, char **argv, long long wrapping)
{
    const char *m = chsmc_dash_value(argc, argv, "m");
    if (m)
        return m;
    chsmc_error e;
    cJSON *k = NULL;
    if (chsmc_hsm_get_key(s->hsm, wrapping, &k, &e) != CHSMC_OK)
        return "AES-KEY-WRAP-PAD"; /* the server reports the bad handle */
    const char *t = cJSON_GetStringValue(cJSON_GetObjectItem(k, "type"));
    int rsa = t && strcmp(t, "RSA") == 0;
    cJSON_Delete(k);
    return rsa ? "RSA-OAEP-SHA256" : "AES-KEY-WRAP-PAD";
}

static int cmd_wrap(ctl_shell *s, int argc, char **argv)
{
    static const char *const wv[] = {"k", "w", "out", "m", "t", "i", NULL};
    static const char *const bare[] = {"noheader", NULL};
    const char *syntax = "wrapKey -k <key handle> -w <wrapping key handle> -out <file> "
                         "[-m <AES-KEY-WRAP-PAD|RSA-OAEP-SHA256>]";
    int rc = check_args(argc, argv, wv, bare, syntax);
    if (rc || (rc = need_login(s)))
        return rc;
    long long k, w;
    const char *out = chsmc_dash_value(argc, argv, "out");
    if (get_handle(argc, argv, "k", &k) || get_handle(argc, argv, "w", &w) || !out)
        return usage_line(syntax, NULL);
    chsmc_error e;
    chsmc_error_clear(&e);
    chsmc_bytes wrapped;
    rc = chsmc_hsm_wrap(s->hsm, w, wrap_mechanism(s, argc, argv, w), k, &wrapped, &e);
    if (rc == CHSMC_OK && (rc = write_bytes(out, wrapped.data, wrapped.len)) == CHSMC_OK) {
        printf("\nKey Wrapped.\n\n");
        printf("Wrapped Key written to file \"%s\" length %zu\n\n", out, wrapped.len);
    }
    chsmc_bytes_free(&wrapped);
    return ret("Cfm2WrapKey", rc, &e);
}

static int cmd_unwrap(ctl_shell *s, int argc, char **argv)
{
    static const char *const wv[] = {"f", "w", "l", "id", "kt", "kc", "m", "t", "u", "i", NULL};
    static const char *const bare[] = {"nex", "sess", "noheader", NULL};
    const char *syntax = "unWrapKey -f <file> -w <wrapping key handle> [-l <label>] [-id <id>] "
                         "[-kt <31|0|3>] [-m <mech>] [-nex] [-sess]";
    int rc = check_args(argc, argv, wv, bare, syntax);
    if (rc || (rc = need_login(s)))
        return rc;
    long long w;
    const char *in = chsmc_dash_value(argc, argv, "f");
    const char *kt = chsmc_dash_value(argc, argv, "kt");
    const char *type = kt ? type_name(kt) : "AES";
    if (get_handle(argc, argv, "w", &w) || !in)
        return usage_line(syntax, NULL);
    if (!*type)
        return usage_line(syntax, "key type -kt is 31 (AES), 0 (RSA) or 3 (EC)");
    chsmc_bytes wrapped = {0};
    wrapped.data = read_bytes(in, &wrapped.len);
    if (!wrapped.data)
        return CHSMC_EIO;
    const char *label = chsmc_dash_value(argc, argv, "l");
    cJSON *a = cJSON_CreateObject();
    cJSON_AddBoolToObject(a, "extractable", !chsmc_dash_flag(argc, argv, "nex"));
    cJSON_AddBoolToObject(a, "token", !chsmc_dash_flag(argc, argv, "sess"));
    chsmc_error e;
    chsmc_error_clear(&e);
    cJSON *keys = NULL;
    rc = chsmc_hsm_unwrap(s->hsm, w, wrap_mechanism(s, argc, argv, w), &wrapped, type,
                          label ? label : "unwrapped", chsmc_dash_value(argc, argv, "id"), a, &keys,
                          &e);
    cJSON_Delete(a);
    chsmc_bytes_free(&wrapped);
    ret("Cfm3UnWrapKey", rc, &e);
    if (rc == CHSMC_OK) {
        long long h = handle_of_class(keys, strcmp(type, "AES") == 0 ? "secret" : "private");
        printf("\nKey Unwrapped.  Key Handle: %lld\n", h);
        node_block(s);
    }
    cJSON_Delete(keys);
    return rc;
}

static int cmd_list_users(ctl_shell *s, int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return usage_line("listUsers", NULL);
    if (need_login(s))
        return CHSMC_EUSAGE;
    chsmc_error e;
    chsmc_error_clear(&e);
    cJSON *users = NULL;
    int rc = chsmc_hsm_list_users(s->hsm, &users, &e);
    if (rc == CHSMC_OK) {
        printf("\nNumber Of Users found %d\n\n", cJSON_GetArraySize(users));
        printf("    %-8s%-10s%-12s%-34s%s\n", "Index", "User ID", "User Type", "User Name",
               "MofnPubKey");
        const cJSON *u;
        int i = 1;
        cJSON_ArrayForEach(u, users)
        {
            const cJSON *id = cJSON_GetObjectItem(u, "userId");
            const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(u, "userType"));
            const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(u, "username"));
            printf("    %-8d%-10d%-12s%-34s%s\n", i++, cJSON_IsNumber(id) ? id->valueint : 0,
                   type ? type : "?", name ? name : "?", "NO");
        }
    }
    cJSON_Delete(users);
    return ret("Cfm3ListUsers", rc, &e);
}

static int cmd_help(ctl_shell *s, int argc, char **argv)
{
    (void)s;
    (void)argc;
    (void)argv;
    const char *cmds = strstr(usage, "Commands:");
    if (cmds)
        fputs(cmds, stdout);
    return CHSMC_OK;
}

static int cmd_exit(ctl_shell *s, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    s->quit = 1;
    return CHSMC_OK;
}

static const struct {
    const char *name;
    int (*fn)(ctl_shell *s, int argc, char **argv);
} commands[] = {
    {"loginHSM", cmd_login},
    {"logoutHSM", cmd_logout},
    {"genSymKey", cmd_gen_sym},
    {"genRSAKeyPair", cmd_gen_rsa},
    {"genECCKeyPair", cmd_gen_ecc},
    {"findKey", cmd_find},
    {"getAttribute", cmd_get_attribute},
    {"deleteKey", cmd_delete_key},
    {"exportPubKey", cmd_export_pub},
    {"sign", cmd_sign},
    {"verify", cmd_verify},
    {"encrypt", cmd_encrypt},
    {"decrypt", cmd_decrypt},
    {"wrapKey", cmd_wrap},
    {"unWrapKey", cmd_unwrap},
    {"listUsers", cmd_list_users},
    {"help", cmd_help},
    {"exit", cmd_exit},
    {"quit", cmd_exit},
};

static int is_command(const char *w)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(commands[i].name, w) == 0)
            return 1;
    return 0;
}

static int is_bare_flag(const char *w)
{
    static const char *const bare[] = {"-nex", "-sess", "-attest", "-noheader", "-hpswd", NULL};
    for (int i = 0; bare[i]; i++)
        if (strcmp(bare[i], w) == 0)
            return 1;
    return 0;
}

/* split: a command runs until the next command name that is not an option's value. */
static int split(int argc, char **argv)
{
    int i = 1;
    while (i < argc) {
        if (argv[i][0] == '-' && !is_bare_flag(argv[i])) {
            i += 2; /* the option and its value */
            continue;
        }
        if (is_command(argv[i]))
            break;
        i++;
    }
    return i < argc ? i : argc;
}

static void mask(int argc, char **argv, char *out, size_t n)
{
    size_t o = 0;
    int login = strcmp(argv[0], "loginHSM") == 0;
    for (int i = 0; i < argc && o < n; i++) {
        int secret = login && i > 0 && strcmp(argv[i - 1], "-p") == 0;
        o += (size_t)snprintf(out + o, n - o, "%s%s", i ? " " : "", secret ? "********" : argv[i]);
    }
}

static int exec(ctl_shell *s, int argc, char **argv)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(commands[i].name, argv[0]) == 0) {
            if (argc == 2 && strcmp(argv[1], "-h") == 0)
                return cmd_help(s, 1, argv);
            return commands[i].fn(s, argc, argv);
        }
    printf("Invalid command: %s (type help for the list of commands)\n", argv[0]);
    return CHSMC_EUSAGE;
}

static void banner(ctl_shell *s)
{
    printf("Version info, Client Version: 2.0.2.3 (chsmctl %s, emulated), SDK API Version: "
           "2.09.07.02, SDK Package Version: 2.0.2.3\n",
           CHSM_VERSION);
    printf("Cfm3Initialize() returned app id : 01000000\n"
           "    session_handle 1000000\n"
           "    Current FIPS mode is: 00000000\n");
    const char *state = cJSON_GetStringValue(cJSON_GetObjectItem(s->cluster, "activationState"));
    if (state && strcmp(state, "Active") != 0)
        printf("WARNING: the cluster's activationState is %s\n", state);
}

int ctl_cmd_util(ctl *c, int argc, char **argv)
{
    ctl_shell s;
    memset(&s, 0, sizeof s);
    s.c = c;
    s.name = "util";
    s.prompt = "Command: ";
    s.exec = exec;
    s.split = split;
    s.mask = mask;
    s.banner = banner;
    return ctl_shell_main(&s, usage, argc, argv);
}

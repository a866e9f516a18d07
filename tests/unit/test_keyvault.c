/* test_keyvault.c - Key Vault vaults as the customer-managed key alternative
 * (mhsm/vault.c): key URLs, access policy validation and add/replace/remove,
 * the access policy and RBAC checks, and Azure Backup's check of a vault key
 * (backup/check.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "app/app.h"
#include "backup/backup.h"
#include "mhsm/mhsm.h"
#include "rbac/rbac.h"
#include "store/resources.h"
#include "util/json.h"
#include "util/status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUB "/subscriptions/11111111-2222-3333-4444-555555555555"
#define RG SUB "/resourceGroups/rg1"
#define KV_ID RG "/providers/Microsoft.KeyVault/vaults/kv1"
#define DES_ID RG "/providers/Microsoft.Compute/diskEncryptionSets/des1"
#define VM_ID RG "/providers/Microsoft.Compute/virtualMachines/vm1"
#define TENANT "72f988bf-86f1-41af-91ab-2d7cd011db47"
#define OTHER "99999999-0000-4000-8000-000000000001"
#define ROLE_READ_BACKUP "12345678-1234-4234-8234-123456789abc"
#define ROLE_READ "12345678-1234-4234-8234-123456789abd"

static void test_parse_key_url(void **state)
{
    (void)state;
    char kv[64], key[64], ver[64];
    assert_int_equal(chsm_kv_parse_key_url("https://Contoso.vault.azure.net/keys/cmk/abc", kv,
                                           sizeof kv, key, sizeof key, ver, sizeof ver),
                     CHSM_OK);
    assert_string_equal(kv, "Contoso");
    assert_string_equal(key, "cmk");
    assert_string_equal(ver, "abc");
    assert_int_equal(chsm_kv_parse_key_url("https://kv2.vault.localhost:8443/keys/k2", kv,
                                           sizeof kv, key, sizeof key, ver, sizeof ver),
                     CHSM_OK);
    assert_string_equal(kv, "kv2");
    assert_string_equal(ver, "");
    assert_int_equal(chsm_kv_parse_key_url("https://127.0.0.1:8443/kv/kv3/keys/k3/v3", kv,
                                           sizeof kv, key, sizeof key, ver, sizeof ver),
                     CHSM_OK);
    assert_string_equal(kv, "kv3");
    assert_string_equal(key, "k3");
    static const char *const bad[] = {"https://h.managedhsm.azure.net/keys/k",
                                      "https://kv.vault.azure.net/secrets/s",
                                      "https://kv.vault.azure.net/keys/",
                                      "https://kv.vault.azure.net/keys/a_b",
                                      "https://127.0.0.1:1/mhsm/h/keys/k",
                                      "kv.vault.azure.net/keys/k",
                                      NULL};
    for (int i = 0; bad[i]; i++)
        assert_int_equal(
            chsm_kv_parse_key_url(bad[i], kv, sizeof kv, key, sizeof key, ver, sizeof ver),
            CHSM_EINVAL);
}

static void test_check_access_policies(void **state)
{
    (void)state;
    char err[300];
    static const char *const good[] = {
        "[]", "[{\"tenantId\":\"" TENANT "\",\"objectId\":\"x\",\"permissions\":{}}]",
        "[{\"tenantId\":\"" TENANT "\",\"objectId\":\"" OTHER "\",\"permissions\":{\"keys\":["
        "\"Get\",\"LIST\",\"backup\",\"wrapKey\",\"all\"],\"secrets\":[\"get\"],"
        "\"certificates\":[\"managecontacts\"],\"storage\":[\"regeneratekey\"]}}]",
        "[{\"tenantId\":\"" TENANT "\",\"objectId\":\"o\",\"applicationId\":\"" OTHER
        "\",\"permissions\":{\"keys\":[]}}]",
        NULL};
    for (int i = 0; good[i]; i++) {
        cJSON *j = cJSON_Parse(good[i]);
        assert_int_equal(chsm_kv_check_access_policies(j, err, sizeof err), 0);
        cJSON_Delete(j);
    }
    static const char *const bad[] = {
        "{}",
        "[{\"objectId\":\"o\",\"permissions\":{}}]",
        "[{\"tenantId\":\"nope\",\"objectId\":\"o\",\"permissions\":{}}]",
        "[{\"tenantId\":\"" TENANT "\",\"permissions\":{}}]",
        "[{\"tenantId\":\"" TENANT "\",\"objectId\":\"o\"}]",
        "[{\"tenantId\":\"" TENANT "\",\"objectId\":\"o\",\"permissions\":{\"keys\":[\"fly\"]}}]",
        "[{\"tenantId\":\"" TENANT "\",\"objectId\":\"o\",\"permissions\":{\"secrets\":["
        "\"wrapKey\"]}}]",
        "[{\"tenantId\":\"" TENANT "\",\"objectId\":\"o\",\"permissions\":{\"blobs\":[]}}]",
        "[{\"tenantId\":\"" TENANT "\",\"objectId\":\"o\",\"permissions\":{\"keys\":\"get\"}}]",
        "[{\"tenantId\":\"" TENANT "\",\"objectId\":\"o\",\"applicationId\":\"x\","
        "\"permissions\":{}}]",
        NULL};
    for (int i = 0; bad[i]; i++) {
        cJSON *j = cJSON_Parse(bad[i]);
        assert_non_null(j);
        assert_int_equal(chsm_kv_check_access_policies(j, err, sizeof err), 1);
        assert_true(err[0] != '\0');
        cJSON_Delete(j);
    }
}

/* keys_of returns the sorted-by-insertion key permissions of objectId o as "a,b,c", or
 * "-" when there is no entry. */
static const char *keys_of(const cJSON *vault, const char *o, char *buf, size_t n)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(chsm_json_obj(vault, "properties"), "accessPolicies"))
    {
        if (strcmp(chsm_json_str(e, "objectId"), o) != 0)
            continue;
        buf[0] = '\0';
        const cJSON *v;
        cJSON_ArrayForEach(v, cJSON_GetObjectItem(chsm_json_obj(e, "permissions"), "keys"))
        {
            if (buf[0])
                strncat(buf, ",", n - strlen(buf) - 1);
            strncat(buf, v->valuestring, n - strlen(buf) - 1);
        }
        return buf;
    }
    return "-";
}

static void apply(cJSON *vault, const char *kind, const char *policies)
{
    cJSON *p = cJSON_Parse(policies);
    assert_non_null(p);
    assert_int_equal(chsm_kv_apply_policies(vault, kind, p), CHSM_OK);
    cJSON_Delete(p);
}

#define ENTRY(o, keys)                                                                             \
    "[{\"tenantId\":\"" TENANT "\",\"objectId\":\"" o "\",\"permissions\":{\"keys\":" keys "}}]"

static void test_apply_policies(void **state)
{
    (void)state;
    char buf[128];
    cJSON *v = cJSON_Parse("{\"properties\":{}}");
    apply(v, "add", ENTRY("a", "[\"get\"]"));
    assert_string_equal(keys_of(v, "a", buf, sizeof buf), "get");
    /* add merges, case-insensitively, without duplicates */
    apply(v, "add", ENTRY("a", "[\"GET\",\"list\"]"));
    assert_string_equal(keys_of(v, "a", buf, sizeof buf), "get,list");
    apply(v, "add", ENTRY("b", "[\"backup\"]"));
    assert_int_equal(
        cJSON_GetArraySize(cJSON_GetObjectItem(chsm_json_obj(v, "properties"), "accessPolicies")),
        2);
    assert_true(chsm_kv_policy_allows(v, "a", "list"));
    assert_true(chsm_kv_policy_allows(v, "A", "LIST"));
    assert_false(chsm_kv_policy_allows(v, "a", "backup"));
    assert_false(chsm_kv_policy_allows(v, "c", "get"));
    /* replace sets the entry's permissions */
    apply(v, "replace", ENTRY("a", "[\"backup\"]"));
    assert_string_equal(keys_of(v, "a", buf, sizeof buf), "backup");
    assert_false(chsm_kv_policy_allows(v, "a", "get"));
    apply(v, "replace", ENTRY("c", "[\"all\"]"));
    assert_true(chsm_kv_policy_allows(v, "c", "purge"));
    /* remove takes permissions away; an emptied entry goes */
    apply(v, "add", ENTRY("a", "[\"get\"]"));
    apply(v, "remove", ENTRY("a", "[\"backup\"]"));
    assert_string_equal(keys_of(v, "a", buf, sizeof buf), "get");
    apply(v, "remove", ENTRY("a", "[\"get\"]"));
    assert_string_equal(keys_of(v, "a", buf, sizeof buf), "-");
    /* an entry given with no permissions removes the whole entry */
    apply(v, "remove", "[{\"tenantId\":\"" TENANT "\",\"objectId\":\"b\",\"permissions\":{}}]");
    assert_string_equal(keys_of(v, "b", buf, sizeof buf), "-");
    /* removing from an absent entry is a no-op */
    apply(v, "remove", ENTRY("zz", "[\"get\"]"));
    /* another tenant or application id is another entry */
    apply(v, "add",
          "[{\"tenantId\":\"" OTHER "\",\"objectId\":\"c\",\"permissions\":{\"keys\":[\"get\"]}}]");
    apply(v, "add",
          "[{\"tenantId\":\"" TENANT "\",\"objectId\":\"c\",\"applicationId\":\"" OTHER
          "\",\"permissions\":{\"keys\":[\"get\"]}}]");
    assert_int_equal(
        cJSON_GetArraySize(cJSON_GetObjectItem(chsm_json_obj(v, "properties"), "accessPolicies")),
        3);
    cJSON *p = cJSON_Parse("[]");
    assert_int_equal(chsm_kv_apply_policies(v, "merge", p), CHSM_EINVAL);
    cJSON_Delete(p);
    cJSON_Delete(v);
}

static chsm_app *open_app(void)
{
    chsm_config cfg;
    chsm_config_defaults(&cfg);
    cfg.in_memory = 1;
    chsm_app *app = NULL;
    char err[256];
    assert_int_equal(chsm_app_open(&cfg, &app, err, sizeof err), CHSM_OK);
    return app;
}

static void put_doc(chsm_app *app, const char *id, const char *type, const char *name,
                    const char *parent, const char *json)
{
    cJSON *body = cJSON_Parse(json);
    assert_non_null(body);
    chsm_resource r = {.id = (char *)id,
                       .type = (char *)type,
                       .name = (char *)name,
                       .parent_id = (char *)parent,
                       .body = body};
    assert_int_equal(chsm_resources_put(app->store, &r), CHSM_OK);
    cJSON_Delete(body);
}

static void put_vault(chsm_app *app, int rbac, const char *policies)
{
    char json[2048];
    snprintf(json, sizeof json,
             "{\"name\":\"kv1\",\"location\":\"uaenorth\",\"properties\":{\"tenantId\":\"" TENANT
             "\",\"enableRbacAuthorization\":%s,\"accessPolicies\":%s}}",
             rbac ? "true" : "false", policies);
    put_doc(app, KV_ID, CHSM_KV_TYPE, "kv1", NULL, json);
}

static void setup_world(chsm_app *app)
{
    put_vault(app, 0, "[]");
    put_doc(app, DES_ID, "Microsoft.Compute/diskEncryptionSets", "des1", NULL,
            "{\"properties\":{\"encryptionType\":\"ConfidentialVmEncryptedWithCustomerKey\","
            "\"activeKey\":{\"keyUrl\":\"https://kv1.vault.azure.net/keys/cmk/v1\"}}}");
    put_doc(app, VM_ID, "Microsoft.Compute/virtualMachines", "vm1", NULL,
            "{\"location\":\"uaenorth\",\"properties\":{\"securityProfile\":{\"securityType\":"
            "\"ConfidentialVM\"},\"storageProfile\":{\"osDisk\":{\"osType\":\"Linux\","
            "\"managedDisk\":{\"securityProfile\":{\"securityEncryptionType\":"
            "\"DiskWithVMGuestState\",\"diskEncryptionSet\":{\"id\":\"" DES_ID "\"}}}}}}}");
    /* Two custom ARM roles: read + backup, and read alone. */
    static const struct {
        const char *guid;
        const char *actions;
    } roles[] = {{ROLE_READ_BACKUP, "\"" CHSM_KV_KEYS_READ "\",\"" CHSM_KV_KEYS_BACKUP "\""},
                 {ROLE_READ, "\"" CHSM_KV_KEYS_READ "\""}};
    for (size_t i = 0; i < 2; i++) {
        char *id = chsm_rbac_custom_role_id(roles[i].guid);
        char json[1024];
        snprintf(json, sizeof json,
                 "{\"id\":\"%s\",\"name\":\"%s\",\"type\":\"" CHSM_RBAC_DEFINITION_TYPE
                 "\",\"properties\":{\"roleName\":\"r%zu\",\"type\":\"CustomRole\","
                 "\"permissions\":[{\"actions\":[],\"notActions\":[],\"dataActions\":[%s],"
                 "\"notDataActions\":[]}],\"assignableScopes\":[\"" SUB "\"]}}",
                 id, roles[i].guid, i, roles[i].actions);
        put_doc(app, id, CHSM_RBAC_DEFINITION_TYPE, roles[i].guid, NULL, json);
        free(id);
    }
}

static int assignment_no;

/* arm_assign stores an ARM role assignment the way providers/authorization.c does. */
static void arm_assign(chsm_app *app, const char *scope, const char *principal, const char *role)
{
    char name[37], id[1024], json[2048];
    snprintf(name, sizeof name, "00000000-0000-4000-8000-%012d", ++assignment_no);
    snprintf(id, sizeof id, "%s/providers/Microsoft.Authorization/roleAssignments/%s", scope, name);
    snprintf(json, sizeof json,
             "{\"id\":\"%s\",\"properties\":{\"scope\":\"%s\",\"roleDefinitionId\":\"" SUB
             "/providers/Microsoft.Authorization/roleDefinitions/%s\",\"principalId\":\"%s\"}}",
             id, scope, role, principal);
    put_doc(app, id, CHSM_RBAC_ASSIGNMENT_TYPE, name, scope, json);
}

static void clear_arm_assignments(chsm_app *app)
{
    chsm_resource_query q = {.type = CHSM_RBAC_ASSIGNMENT_TYPE};
    chsm_resource *rows = NULL;
    size_t n = 0;
    assert_int_equal(chsm_resources_list(app->store, &q, &rows, &n), CHSM_OK);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(chsm_resources_delete(app->store, rows[i].id), CHSM_OK);
    chsm_resources_free(rows, n);
}

static int check(chsm_app *app, char *code)
{
    chsm_backup_vm vm;
    assert_int_equal(chsm_backup_read_vm(app, VM_ID, &vm), CHSM_OK);
    char message[400];
    cJSON *policy = cJSON_Parse("{\"properties\":{\"policyType\":\"V2\"}}");
    int rc = chsm_backup_check(app, &vm, policy, code, 96, message, 400);
    cJSON_Delete(policy);
    if (rc == 1)
        assert_string_equal(message, CHSM_BACKUP_KV_PERMISSIONS_MESSAGE);
    return rc;
}

#define BMS_ENTRY(perms)                                                                           \
    "[{\"tenantId\":\"" TENANT "\",\"objectId\":\"" CHSM_BMS_OBJECT_ID                             \
    "\",\"permissions\":{\"keys\":" perms "}}]"

static void test_backup_check_access_policies(void **state)
{
    (void)state;
    chsm_app *app = open_app();
    setup_world(app);
    chsm_backup_vm vm;
    assert_int_equal(chsm_backup_read_vm(app, VM_ID, &vm), CHSM_OK);
    assert_true(vm.cmk);
    assert_string_equal(vm.vault_name, "kv1");
    assert_string_equal(vm.vault_id, KV_ID);
    assert_string_equal(vm.hsm_id, "");
    assert_string_equal(vm.key_name, "cmk");
    assert_string_equal(chsm_backup_key_owner(&vm), KV_ID);
    char code[96];
    assert_int_equal(check(app, code), 1);
    assert_string_equal(code, CHSM_BACKUP_KV_PERMISSIONS_CODE);
    /* What must not work. */
    static const char *const refused[] = {
        BMS_ENTRY("[\"get\",\"list\"]"),
        BMS_ENTRY("[\"get\",\"backup\"]"),
        BMS_ENTRY("[\"list\",\"backup\",\"wrapKey\",\"unwrapKey\"]"),
        "[{\"tenantId\":\"" TENANT "\",\"objectId\":\"" OTHER
        "\",\"permissions\":{\"keys\":[\"all\"]}}]",
        "[{\"tenantId\":\"" TENANT "\",\"objectId\":\"" CHSM_BMS_OBJECT_ID
        "\",\"permissions\":{\"secrets\":[\"all\"]}}]",
        NULL};
    for (int i = 0; refused[i]; i++) {
        put_vault(app, 0, refused[i]);
        assert_int_equal(check(app, code), 1);
    }
    /* What works: get, list, backup (any case), all, or the app id as object id. */
    static const char *const allowed[] = {
        BMS_ENTRY("[\"get\",\"list\",\"backup\"]"), BMS_ENTRY("[\"Backup\",\"LIST\",\"Get\"]"),
        BMS_ENTRY("[\"all\"]"),
        "[{\"tenantId\":\"" TENANT "\",\"objectId\":\"" CHSM_BMS_APP_ID
        "\",\"permissions\":{\"keys\":[\"get\",\"list\",\"backup\"]}}]",
        NULL};
    for (int i = 0; allowed[i]; i++) {
        put_vault(app, 0, allowed[i]);
        assert_int_equal(check(app, code), 0);
    }
    /* In RBAC mode the access policies count for nothing. */
    put_vault(app, 1, BMS_ENTRY("[\"all\"]"));
    assert_int_equal(check(app, code), 1);
    /* A vault that no longer exists: refused. */
    put_vault(app, 0, BMS_ENTRY("[\"all\"]"));
    assert_int_equal(chsm_resources_delete(app->store, KV_ID), CHSM_OK);
    assert_int_equal(check(app, code), 1);
    chsm_app_close(app);
}

static void test_backup_check_rbac(void **state)
{
    (void)state;
    chsm_app *app = open_app();
    setup_world(app);
    put_vault(app, 1, "[]");
    char code[96];
    const char *key_scope = KV_ID "/keys/cmk";
    /* Works: read + backup on the key, the vault, the group; or the two from two roles. */
    static const char *const good_scopes[] = {KV_ID "/keys/cmk", KV_ID, RG, SUB};
    for (size_t i = 0; i < 4; i++) {
        arm_assign(app, good_scopes[i], CHSM_BMS_OBJECT_ID, ROLE_READ_BACKUP);
        assert_int_equal(check(app, code), 0);
        clear_arm_assignments(app);
    }
    /* Must not work: read alone, another key, another principal. */
    arm_assign(app, key_scope, CHSM_BMS_OBJECT_ID, ROLE_READ);
    assert_int_equal(check(app, code), 1);
    arm_assign(app, KV_ID "/keys/cmk2", CHSM_BMS_OBJECT_ID, ROLE_READ_BACKUP);
    assert_int_equal(check(app, code), 1);
    arm_assign(app, KV_ID, OTHER, ROLE_READ_BACKUP);
    assert_int_equal(check(app, code), 1);
    clear_arm_assignments(app);
    /* The data-plane check: get/list need keys/read; backup keys/backup/action. */
    chsm_resource kv;
    assert_int_equal(chsm_resources_get(app->store, KV_ID, &kv), CHSM_OK);
    char action[160];
    arm_assign(app, key_scope, OTHER, ROLE_READ);
    assert_int_equal(chsm_kv_allowed(app, &kv, OTHER, "cmk", "get", action, sizeof action), 1);
    assert_string_equal(action, CHSM_KV_KEYS_READ);
    assert_int_equal(chsm_kv_allowed(app, &kv, OTHER, "cmk", "backup", action, sizeof action), 0);
    assert_string_equal(action, CHSM_KV_KEYS_BACKUP);
    /* a grant on the key does not reach the vault-level list */
    assert_int_equal(chsm_kv_allowed(app, &kv, OTHER, NULL, "list", NULL, 0), 0);
    assert_int_equal(chsm_kv_allowed(app, &kv, OTHER, "other", "get", NULL, 0), 0);
    chsm_kv_allowed(app, &kv, OTHER, "cmk", "create", action, sizeof action);
    assert_string_equal(action, "Microsoft.KeyVault/vaults/keys/create/action");
    chsm_kv_allowed(app, &kv, OTHER, "cmk", "wrapKey", action, sizeof action);
    assert_string_equal(action, "Microsoft.KeyVault/vaults/keys/wrap/action");
    chsm_resource_clear(&kv);
    chsm_app_close(app);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_key_url),
        cmocka_unit_test(test_check_access_policies),
        cmocka_unit_test(test_apply_policies),
        cmocka_unit_test(test_backup_check_access_policies),
        cmocka_unit_test(test_backup_check_rbac),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_backup.c - Managed HSM local RBAC helpers and Azure Backup's
 * confidential VM / customer-managed key permission check. */
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
#define HSM_ID RG "/providers/Microsoft.KeyVault/managedHSMs/hsm1"
#define DES_ID RG "/providers/Microsoft.Compute/diskEncryptionSets/des1"
#define VM_ID RG "/providers/Microsoft.Compute/virtualMachines/vm1"
#define PLAIN_VM_ID RG "/providers/Microsoft.Compute/virtualMachines/vm2"
#define OTHER "99999999-0000-4000-8000-000000000001"

static void test_scope_normalize(void **state)
{
    (void)state;
    char out[160];
    static const struct {
        const char *in, *want;
    } ok[] = {{"", "/"},
              {"/", "/"},
              {"//", "/"},
              {"keys", "/keys"},
              {"//keys", "/keys"},
              {"/keys/", "/keys"},
              {"/keys/k-1", "/keys/k-1"},
              {"//keys//k1", "/keys/k1"}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        assert_int_equal(chsm_mhsm_scope_normalize(ok[i].in, out, sizeof out), CHSM_OK);
        assert_string_equal(out, ok[i].want);
    }
    assert_int_equal(chsm_mhsm_scope_normalize("/secrets", out, sizeof out), CHSM_EINVAL);
    assert_int_equal(chsm_mhsm_scope_normalize("/keys/a/b", out, sizeof out), CHSM_EINVAL);
    assert_int_equal(chsm_mhsm_scope_normalize("/keys/a_b", out, sizeof out), CHSM_EINVAL);
    assert_int_equal(chsm_mhsm_scope_normalize("/keysx", out, sizeof out), CHSM_EINVAL);
    assert_true(chsm_mhsm_scope_covers("/", "/keys/k1"));
    assert_true(chsm_mhsm_scope_covers("/keys", "/keys/k1"));
    assert_true(chsm_mhsm_scope_covers("/keys/K1", "/keys/k1"));
    assert_false(chsm_mhsm_scope_covers("/keys/k1", "/keys"));
    assert_false(chsm_mhsm_scope_covers("/keys/k1", "/keys/k10"));
}

static void test_parse_key_url(void **state)
{
    (void)state;
    char hsm[64], key[64], ver[64];
    assert_int_equal(chsm_mhsm_parse_key_url("https://Contoso.managedhsm.azure.net/keys/cmk/abc",
                                             hsm, sizeof hsm, key, sizeof key, ver, sizeof ver),
                     CHSM_OK);
    assert_string_equal(hsm, "Contoso");
    assert_string_equal(key, "cmk");
    assert_string_equal(ver, "abc");
    assert_int_equal(chsm_mhsm_parse_key_url("https://h2.managedhsm.localhost:8443/keys/k2", hsm,
                                             sizeof hsm, key, sizeof key, ver, sizeof ver),
                     CHSM_OK);
    assert_string_equal(hsm, "h2");
    assert_string_equal(ver, "");
    assert_int_equal(chsm_mhsm_parse_key_url("https://127.0.0.1:8443/mhsm/h3/keys/k3/v", hsm,
                                             sizeof hsm, key, sizeof key, ver, sizeof ver),
                     CHSM_OK);
    assert_string_equal(hsm, "h3");
    assert_int_equal(chsm_mhsm_parse_key_url("https://kv.vault.azure.net/keys/k", hsm, sizeof hsm,
                                             key, sizeof key, ver, sizeof ver),
                     CHSM_EINVAL);
    assert_int_equal(chsm_mhsm_parse_key_url("https://h.managedhsm.azure.net/secrets/s", hsm,
                                             sizeof hsm, key, sizeof key, ver, sizeof ver),
                     CHSM_EINVAL);
}

static void test_builtin_roles(void **state)
{
    (void)state;
    assert_int_equal(chsm_mhsm_builtin_count(), 9);
    cJSON *user = chsm_mhsm_builtin_role(CHSM_MHSM_ROLE_CRYPTO_USER);
    assert_non_null(user);
    assert_true(chsm_rbac_role_permits(user, CHSM_MHSM_KEYS_READ, 1));
    assert_true(chsm_rbac_role_permits(user, CHSM_MHSM_KEYS_BACKUP, 1));
    cJSON_Delete(user);
    cJSON *backup = chsm_mhsm_builtin_role(CHSM_MHSM_ROLE_BACKUP);
    assert_false(chsm_rbac_role_permits(backup, CHSM_MHSM_KEYS_READ, 1));
    assert_true(chsm_rbac_role_permits(backup, CHSM_MHSM_KEYS_BACKUP, 1));
    cJSON_Delete(backup);
    cJSON *admin = chsm_mhsm_builtin_role(CHSM_MHSM_ROLE_ADMINISTRATOR);
    assert_false(chsm_rbac_role_permits(admin, CHSM_MHSM_KEYS_READ, 1));
    cJSON_Delete(admin);
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
                    const char *json)
{
    cJSON *body = cJSON_Parse(json);
    assert_non_null(body);
    /* Managed HSM children are listed through parent_id = the HSM. */
    const char *parent = strncmp(id, HSM_ID "/", strlen(HSM_ID) + 1) == 0 ? HSM_ID : NULL;
    chsm_resource r = {.id = (char *)id,
                       .type = (char *)type,
                       .name = (char *)name,
                       .parent_id = (char *)parent,
                       .body = body};
    assert_int_equal(chsm_resources_put(app->store, &r), CHSM_OK);
    cJSON_Delete(body);
}

static void setup_world(chsm_app *app)
{
    put_doc(app, HSM_ID, CHSM_MHSM_TYPE, "hsm1", "{\"name\":\"hsm1\",\"properties\":{}}");
    put_doc(app, DES_ID, "Microsoft.Compute/diskEncryptionSets", "des1",
            "{\"properties\":{\"encryptionType\":\"ConfidentialVmEncryptedWithCustomerKey\","
            "\"activeKey\":{\"keyUrl\":\"https://hsm1.managedhsm.localhost:1/keys/cmk/v1\"}}}");
    put_doc(app, VM_ID, "Microsoft.Compute/virtualMachines", "vm1",
            "{\"location\":\"uaenorth\",\"properties\":{\"securityProfile\":{\"securityType\":"
            "\"ConfidentialVM\"},\"storageProfile\":{\"osDisk\":{\"osType\":\"Linux\","
            "\"managedDisk\":{\"securityProfile\":{\"securityEncryptionType\":"
            "\"DiskWithVMGuestState\",\"diskEncryptionSet\":{\"id\":\"" DES_ID "\"}}}}}}}");
    put_doc(app, PLAIN_VM_ID, "Microsoft.Compute/virtualMachines", "vm2",
            "{\"location\":\"uaenorth\",\"properties\":{}}");
}

static int assignment_no;

static void assign(chsm_app *app, const char *scope, const char *role, const char *who)
{
    char name[37];
    snprintf(name, sizeof name, "00000000-0000-4000-8000-%012d", ++assignment_no);
    assert_int_equal(chsm_mhsm_assign(app, HSM_ID, name, scope, role, who, NULL), CHSM_OK);
}

static void clear_assignments(chsm_app *app)
{
    char prefix[600];
    snprintf(prefix, sizeof prefix, "%s/roleAssignments", HSM_ID);
    assert_int_equal(chsm_resources_delete_under(app->store, prefix, NULL), CHSM_OK);
}

/* check runs the backup check of vm1 under a V2 (or V1) policy: 0 allowed, 1 refused. */
static int check(chsm_app *app, const char *vm_id, const char *policy_type, char *code)
{
    chsm_backup_vm vm;
    assert_int_equal(chsm_backup_read_vm(app, vm_id, &vm), CHSM_OK);
    char json[128], message[400];
    snprintf(json, sizeof json, "{\"properties\":{\"policyType\":\"%s\"}}", policy_type);
    cJSON *policy = cJSON_Parse(json);
    int rc = chsm_backup_check(app, &vm, policy, code, 96, message, sizeof message);
    cJSON_Delete(policy);
    if (rc == 1 && strcmp(code, CHSM_BACKUP_KV_PERMISSIONS_CODE) == 0)
        assert_string_equal(message, CHSM_BACKUP_KV_PERMISSIONS_MESSAGE);
    return rc;
}

static void test_read_vm(void **state)
{
    (void)state;
    chsm_app *app = open_app();
    setup_world(app);
    chsm_backup_vm vm;
    assert_int_equal(chsm_backup_read_vm(app, VM_ID, &vm), CHSM_OK);
    assert_true(vm.confidential);
    assert_true(vm.cmk);
    assert_string_equal(vm.hsm_name, "hsm1");
    assert_string_equal(vm.key_name, "cmk");
    assert_string_equal(vm.hsm_id, HSM_ID);
    assert_string_equal(vm.resource_group, "rg1");
    assert_int_equal(
        chsm_backup_read_vm(app, RG "/providers/Microsoft.Compute/virtualMachines/x", &vm),
        CHSM_ENOTFOUND);
    chsm_app_close(app);
}

static void test_permission_check(void **state)
{
    (void)state;
    chsm_app *app = open_app();
    setup_world(app);
    char code[96];
    /* No grant: the documented failure. */
    assert_int_equal(check(app, VM_ID, "V2", code), 1);
    assert_string_equal(code, CHSM_BACKUP_KV_PERMISSIONS_CODE);
    /* A VM that is not confidential is not checked. */
    assert_int_equal(check(app, PLAIN_VM_ID, "V1", code), 0);

    /* Grants that work. */
    static const char *const good_scopes[] = {"/keys/cmk", "/keys", "/", "//keys/CMK"};
    for (size_t i = 0; i < 4; i++) {
        assign(app, good_scopes[i], CHSM_MHSM_ROLE_CRYPTO_USER, CHSM_BMS_OBJECT_ID);
        assert_int_equal(check(app, VM_ID, "V2", code), 0);
        /* ... but never with a V1 policy. */
        assert_int_equal(check(app, VM_ID, "V1", code), 1);
        assert_string_equal(code, "UserErrorStandardPolicyNotSupportedForConfidentialVM");
        clear_assignments(app);
    }
    assign(app, "/keys/cmk", CHSM_MHSM_ROLE_CRYPTO_USER, CHSM_BMS_APP_ID);
    assert_int_equal(check(app, VM_ID, "V2", code), 0);
    clear_assignments(app);

    /* A custom role with exactly the two actions works; with one it does not. */
    put_doc(app, HSM_ID "/roleDefinitions/12345678-1234-4234-8234-123456789abc",
            CHSM_MHSM_ROLE_DEF_TYPE, "12345678-1234-4234-8234-123456789abc",
            "{\"name\":\"12345678-1234-4234-8234-123456789abc\",\"properties\":{\"permissions\":[{"
            "\"dataActions\":[\"" CHSM_MHSM_KEYS_READ "\",\"" CHSM_MHSM_KEYS_BACKUP "\"]}]}}");
    put_doc(app, HSM_ID "/roleDefinitions/12345678-1234-4234-8234-123456789abd",
            CHSM_MHSM_ROLE_DEF_TYPE, "12345678-1234-4234-8234-123456789abd",
            "{\"name\":\"12345678-1234-4234-8234-123456789abd\",\"properties\":{\"permissions\":[{"
            "\"dataActions\":[\"Microsoft.KeyVault/managedHsm/keys/"
            "*\"],\"notDataActions\":[\"" CHSM_MHSM_KEYS_BACKUP "\"]}]}}");
    static const char *const customs[] = {"12345678-1234-4234-8234-123456789abc",
                                          "12345678-1234-4234-8234-123456789abd"};
    assign(app, "/keys/cmk", customs[0], CHSM_BMS_OBJECT_ID);
    assert_int_equal(check(app, VM_ID, "V2", code), 0);
    clear_assignments(app);
    assign(app, "/", customs[1], CHSM_BMS_OBJECT_ID);
    assert_int_equal(check(app, VM_ID, "V2", code), 1); /* notDataActions removes backup */
    clear_assignments(app);

    /* Grants that must not work. */
    assign(app, "/", CHSM_MHSM_ROLE_BACKUP, CHSM_BMS_OBJECT_ID);
    assert_int_equal(check(app, VM_ID, "V2", code), 1);
    clear_assignments(app);
    assign(app, "/", CHSM_MHSM_ROLE_ADMINISTRATOR, CHSM_BMS_OBJECT_ID);
    assign(app, "/", CHSM_MHSM_ROLE_CRYPTO_OFFICER, CHSM_BMS_OBJECT_ID);
    assert_int_equal(check(app, VM_ID, "V2", code), 1);
    clear_assignments(app);
    assign(app, "/keys/cmk2", CHSM_MHSM_ROLE_CRYPTO_USER, CHSM_BMS_OBJECT_ID);
    assign(app, "/keys/cm", CHSM_MHSM_ROLE_CRYPTO_USER, CHSM_BMS_OBJECT_ID);
    assert_int_equal(check(app, VM_ID, "V2", code), 1);
    clear_assignments(app);
    assign(app, "/", CHSM_MHSM_ROLE_CRYPTO_USER, OTHER);
    assert_int_equal(check(app, VM_ID, "V2", code), 1);
    clear_assignments(app);
    /* Read and backup from two roles at different scopes add up. */
    assign(app, "/keys/cmk", CHSM_MHSM_ROLE_BACKUP, CHSM_BMS_OBJECT_ID);
    assign(app, "/keys", "2c18b078-7c48-4d3a-af88-5a3a1b3f82b3", CHSM_BMS_OBJECT_ID);
    assert_int_equal(check(app, VM_ID, "V2", code), 0);
    clear_assignments(app);
    /* A grant on an HSM that is then deleted: refused. */
    assign(app, "/", CHSM_MHSM_ROLE_CRYPTO_USER, CHSM_BMS_OBJECT_ID);
    assert_int_equal(chsm_resources_delete(app->store, HSM_ID), CHSM_OK);
    assert_int_equal(check(app, VM_ID, "V2", code), 1);
    chsm_app_close(app);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scope_normalize),  cmocka_unit_test(test_parse_key_url),
        cmocka_unit_test(test_builtin_roles),    cmocka_unit_test(test_read_vm),
        cmocka_unit_test(test_permission_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

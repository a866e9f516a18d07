/* test_rbac.c - role definitions, wildcard permissions, scope inheritance
 * and the store-backed access check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "app/app.h"
#include "rbac/rbac.h"
#include "store/resources.h"
#include "util/json.h"
#include "util/status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUB "/subscriptions/11111111-2222-3333-4444-555555555555"
#define RG1 SUB "/resourceGroups/rg1"
#define ACCT RG1 "/providers/Microsoft.Storage/storageAccounts/acct1"
#define CONTAINER ACCT "/blobServices/default/containers/backups"
#define MSI_PRINCIPAL "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
#define OTHER_PRINCIPAL "99999999-bbbb-cccc-dddd-eeeeeeeeeeee"

static void test_wildcards(void **state)
{
    (void)state;
    assert_true(chsm_rbac_action_matches("*", CHSM_ACTION_BLOB_READ));
    assert_true(chsm_rbac_action_matches("Microsoft.Storage/*", CHSM_ACTION_BLOB_WRITE));
    assert_true(chsm_rbac_action_matches(
        "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*",
        CHSM_ACTION_BLOB_DELETE));
    assert_true(chsm_rbac_action_matches("*/read", "Microsoft.Network/virtualNetworks/read"));
    assert_true(chsm_rbac_action_matches("Microsoft.Authorization/*/Write",
                                         "Microsoft.Authorization/roleAssignments/write"));
    /* case-insensitive */
    assert_true(chsm_rbac_action_matches("microsoft.storage/STORAGEACCOUNTS/*/blobs/READ",
                                         CHSM_ACTION_BLOB_READ));
    assert_false(chsm_rbac_action_matches("Microsoft.Storage/*", "Microsoft.StorageX/a/read"));
    assert_false(chsm_rbac_action_matches("*/read", CHSM_ACTION_BLOB_WRITE));
    assert_false(chsm_rbac_action_matches(
        "Microsoft.Storage/storageAccounts/blobServices/containers/read", CHSM_ACTION_BLOB_READ));
    assert_false(
        chsm_rbac_action_matches("Microsoft.Storage/storageAccounts", CHSM_ACTION_BLOB_READ));
    assert_false(chsm_rbac_action_matches("", CHSM_ACTION_BLOB_READ));
    assert_true(chsm_rbac_action_matches("a*b*c", "aXXbYYc"));
    assert_false(chsm_rbac_action_matches("a*b*c", "aXXbYYcd"));
}

static void test_builtin_roles(void **state)
{
    (void)state;
    cJSON *r = chsm_rbac_builtin_role(CHSM_ROLE_STORAGE_BLOB_DATA_CONTRIBUTOR,
                                      "11111111-2222-3333-4444-555555555555");
    assert_non_null(r);
    assert_string_equal(chsm_json_str(r, "id"),
                        SUB "/providers/Microsoft.Authorization/roleDefinitions/"
                            "ba92f5b4-2d11-453d-a403-e96b0029c9fe");
    assert_string_equal(chsm_json_str(chsm_json_obj(r, "properties"), "roleName"),
                        "Storage Blob Data Contributor");
    assert_true(chsm_rbac_role_permits(r, CHSM_ACTION_BLOB_WRITE, 1));
    assert_true(chsm_rbac_role_permits(r, CHSM_ACTION_BLOB_READ, 1));
    assert_false(chsm_rbac_role_permits(r, CHSM_ACTION_BLOB_WRITE, 0)); /* not an action */
    assert_true(chsm_rbac_role_permits(
        r, "Microsoft.Storage/storageAccounts/blobServices/containers/write", 0));
    cJSON_Delete(r);

    r = chsm_rbac_builtin_role(CHSM_ROLE_STORAGE_BLOB_DATA_READER, NULL);
    assert_string_equal(chsm_json_str(r, "id"),
                        "/providers/Microsoft.Authorization/roleDefinitions/"
                        "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1");
    assert_true(chsm_rbac_role_permits(r, CHSM_ACTION_BLOB_READ, 1));
    assert_false(chsm_rbac_role_permits(r, CHSM_ACTION_BLOB_WRITE, 1));
    cJSON_Delete(r);

    /* Owner and Contributor have no data actions: control plane only. */
    r = chsm_rbac_builtin_role(CHSM_ROLE_OWNER, NULL);
    assert_false(chsm_rbac_role_permits(r, CHSM_ACTION_BLOB_READ, 1));
    assert_true(chsm_rbac_role_permits(r, "Microsoft.Authorization/roleAssignments/write", 0));
    cJSON_Delete(r);
    r = chsm_rbac_builtin_role(CHSM_ROLE_CONTRIBUTOR, NULL);
    assert_true(chsm_rbac_role_permits(r, "Microsoft.Storage/storageAccounts/write", 0));
    assert_false(chsm_rbac_role_permits(r, "Microsoft.Authorization/roleAssignments/write", 0));
    assert_false(chsm_rbac_role_permits(r, "microsoft.authorization/roleassignments/delete", 0));
    assert_true(chsm_rbac_role_permits(r, "Microsoft.Authorization/roleAssignments/read", 0));
    cJSON_Delete(r);
    r = chsm_rbac_builtin_role(CHSM_ROLE_READER, NULL);
    assert_true(chsm_rbac_role_permits(r, "Microsoft.Storage/storageAccounts/read", 0));
    assert_false(chsm_rbac_role_permits(r, "Microsoft.Storage/storageAccounts/write", 0));
    cJSON_Delete(r);

    r = chsm_rbac_builtin_role("21DBD100-6940-42C2-9190-5D6CB909625B", NULL);
    assert_non_null(r);
    assert_true(chsm_rbac_role_permits(r, "Microsoft.KeyVault/managedHsm/keys/sign/action", 1));
    assert_false(
        chsm_rbac_role_permits(r, "Microsoft.KeyVault/managedHsm/keys/deletedKeys/delete", 1));
    cJSON_Delete(r);
    r = chsm_rbac_builtin_role(CHSM_ROLE_MHSM_CRYPTO_OFFICER, NULL);
    assert_true(
        chsm_rbac_role_permits(r, "Microsoft.KeyVault/managedHsm/keys/deletedKeys/delete", 1));
    assert_false(chsm_rbac_role_permits(r, "Microsoft.KeyVault/managedHsm/keys/sign/action", 1));
    cJSON_Delete(r);

    /* Key Vault Crypto User may back keys up and use them, not create them. */
    r = chsm_rbac_builtin_role(CHSM_ROLE_KV_CRYPTO_USER, NULL);
    assert_non_null(r);
    assert_true(chsm_rbac_role_permits(r, "Microsoft.KeyVault/vaults/keys/backup/action", 1));
    assert_true(chsm_rbac_role_permits(r, "Microsoft.KeyVault/vaults/keys/read", 1));
    assert_false(chsm_rbac_role_permits(r, "Microsoft.KeyVault/vaults/keys/create/action", 1));
    cJSON_Delete(r);
    /* Key Vault Administrator: every data action of the vault, by wildcard. */
    r = chsm_rbac_builtin_role(CHSM_ROLE_KV_ADMINISTRATOR, NULL);
    assert_true(chsm_rbac_role_permits(r, "Microsoft.KeyVault/vaults/keys/create/action", 1));
    assert_true(chsm_rbac_role_permits(r, "Microsoft.KeyVault/vaults/secrets/getSecret/action", 1));
    assert_false(chsm_rbac_role_permits(r, "Microsoft.KeyVault/managedHsm/keys/read/action", 1));
    cJSON_Delete(r);

    assert_null(chsm_rbac_builtin_role("00000000-0000-0000-0000-000000000000", NULL));
    assert_int_equal(chsm_rbac_builtin_count(), 13);
    for (size_t i = 0; i < chsm_rbac_builtin_count(); i++) {
        cJSON *b = chsm_rbac_builtin_role_at(i, NULL);
        assert_non_null(b);
        cJSON_Delete(b);
    }
    assert_null(chsm_rbac_builtin_role_at(chsm_rbac_builtin_count(), NULL));
}

static void test_not_data_actions(void **state)
{
    (void)state;
    const char *json =
        "{\"properties\":{\"permissions\":[{\"actions\":[],\"notActions\":[],"
        "\"dataActions\":[\"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*\"],"
        "\"notDataActions\":[\"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/"
        "delete\"]}]}}";
    cJSON *role = cJSON_Parse(json);
    assert_true(chsm_rbac_role_permits(role, CHSM_ACTION_BLOB_READ, 1));
    assert_true(chsm_rbac_role_permits(role, CHSM_ACTION_BLOB_WRITE, 1));
    assert_false(chsm_rbac_role_permits(role, CHSM_ACTION_BLOB_DELETE, 1));
    assert_false(chsm_rbac_role_permits(role, CHSM_ACTION_BLOB_READ, 0));
    cJSON_Delete(role);
    /* A second block can grant what the first one's notDataActions removed. */
    role = cJSON_Parse("{\"properties\":{\"permissions\":["
                       "{\"dataActions\":[\"*\"],\"notDataActions\":[\"*/delete\"]},"
                       "{\"dataActions\":[\"*/blobs/delete\"]}]}}");
    assert_true(chsm_rbac_role_permits(role, CHSM_ACTION_BLOB_DELETE, 1));
    cJSON_Delete(role);
    assert_false(chsm_rbac_role_permits(NULL, CHSM_ACTION_BLOB_READ, 1));
}

static void test_scope_covers(void **state)
{
    (void)state;
    assert_true(chsm_rbac_scope_covers(SUB, CONTAINER));
    assert_true(chsm_rbac_scope_covers(RG1, CONTAINER));
    assert_true(chsm_rbac_scope_covers(ACCT, CONTAINER));
    assert_true(chsm_rbac_scope_covers(CONTAINER, CONTAINER));
    assert_true(chsm_rbac_scope_covers("/", CONTAINER));
    assert_true(chsm_rbac_scope_covers(SUB "/RESOURCEGROUPS/RG1/", ACCT));
    assert_true(chsm_rbac_scope_covers(ACCT, ACCT "/"));
    /* Downward only. */
    assert_false(chsm_rbac_scope_covers(CONTAINER, ACCT));
    assert_false(chsm_rbac_scope_covers(ACCT, RG1));
    /* Prefixes that are not whole segments. */
    assert_false(chsm_rbac_scope_covers(RG1, SUB "/resourceGroups/rg10"));
    assert_false(chsm_rbac_scope_covers(RG1, SUB "/resourceGroups/rg10/providers/x/y/z"));
    assert_false(chsm_rbac_scope_covers(ACCT, ACCT "2"));
    assert_false(chsm_rbac_scope_covers("/subscriptions/1", "/subscriptions/11"));
    assert_false(chsm_rbac_scope_covers(NULL, ACCT));
}

static void test_role_guid(void **state)
{
    (void)state;
    char g[37];
    assert_int_equal(chsm_rbac_role_guid(SUB "/providers/Microsoft.Authorization/roleDefinitions/"
                                             "BA92F5B4-2D11-453D-A403-E96B0029C9FE",
                                         g),
                     CHSM_OK);
    assert_string_equal(g, CHSM_ROLE_STORAGE_BLOB_DATA_CONTRIBUTOR);
    assert_int_equal(chsm_rbac_role_guid("/providers/microsoft.authorization/roledefinitions/"
                                         "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
                                         g),
                     CHSM_OK);
    assert_int_equal(chsm_rbac_role_guid("ba92f5b4-2d11-453d-a403-e96b0029c9fe", g), CHSM_OK);
    assert_int_equal(chsm_rbac_role_guid(SUB "/providers/Microsoft.Authorization/roleAssignments/"
                                             "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
                                         g),
                     CHSM_EINVAL);
    assert_int_equal(chsm_rbac_role_guid("/providers/Microsoft.Authorization/roleDefinitions/x", g),
                     CHSM_EINVAL);
    assert_int_equal(chsm_rbac_role_guid("Storage Blob Data Contributor", g), CHSM_EINVAL);
    assert_int_equal(chsm_rbac_role_guid(NULL, g), CHSM_EINVAL);
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

static int assignment_no = 0;

/* assign stores a role assignment the way providers/authorization.c does. */
static void assign(chsm_app *app, const char *scope, const char *principal, const char *role)
{
    char name[37], id[1024], role_id[256];
    snprintf(name, sizeof name, "00000000-0000-0000-0000-%012d", ++assignment_no);
    snprintf(id, sizeof id, "%s/providers/Microsoft.Authorization/roleAssignments/%s",
             strcmp(scope, "/") == 0 ? "" : scope, name);
    snprintf(role_id, sizeof role_id, SUB "/providers/Microsoft.Authorization/roleDefinitions/%s",
             role);
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "id", id);
    cJSON *props = cJSON_AddObjectToObject(body, "properties");
    cJSON_AddStringToObject(props, "scope", scope);
    cJSON_AddStringToObject(props, "roleDefinitionId", role_id);
    cJSON_AddStringToObject(props, "principalId", principal);
    chsm_resource r = {.id = id,
                       .type = CHSM_RBAC_ASSIGNMENT_TYPE,
                       .name = name,
                       .parent_id = (char *)scope,
                       .body = body};
    assert_int_equal(chsm_resources_put(app->store, &r), CHSM_OK);
    cJSON_Delete(body);
}

static void test_inheritance_from_store(void **state)
{
    (void)state;
    chsm_app *app = open_app();
    /* Nothing assigned: no access anywhere. */
    assert_int_equal(
        chsm_rbac_has_data_action(app, MSI_PRINCIPAL, CONTAINER, CHSM_ACTION_BLOB_WRITE), 0);

    /* Reader on the account gives read only, and only under the account. */
    assign(app, ACCT, MSI_PRINCIPAL, CHSM_ROLE_STORAGE_BLOB_DATA_READER);
    assert_int_equal(
        chsm_rbac_has_data_action(app, MSI_PRINCIPAL, CONTAINER, CHSM_ACTION_BLOB_READ), 1);
    assert_int_equal(
        chsm_rbac_has_data_action(app, MSI_PRINCIPAL, CONTAINER, CHSM_ACTION_BLOB_WRITE), 0);
    assert_int_equal(chsm_rbac_has_data_action(app, MSI_PRINCIPAL, RG1, CHSM_ACTION_BLOB_READ), 0);
    assert_int_equal(chsm_rbac_has_data_action(app, MSI_PRINCIPAL, ACCT "2/blobServices/default",
                                               CHSM_ACTION_BLOB_READ),
                     0);
    /* Another principal gets nothing from it. */
    assert_int_equal(
        chsm_rbac_has_data_action(app, OTHER_PRINCIPAL, CONTAINER, CHSM_ACTION_BLOB_READ), 0);

    /* Contributor on rg1 (ids compared case-insensitively) covers the container. */
    assign(app, SUB "/resourcegroups/RG1", MSI_PRINCIPAL, CHSM_ROLE_STORAGE_BLOB_DATA_CONTRIBUTOR);
    assert_int_equal(
        chsm_rbac_has_data_action(app, MSI_PRINCIPAL, CONTAINER, CHSM_ACTION_BLOB_WRITE), 1);
    assert_int_equal(chsm_rbac_has_data_action(app, "AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE",
                                               CONTAINER, CHSM_ACTION_BLOB_WRITE),
                     1);
    /* ... but not rg10, whose id merely starts with rg1's. */
    assert_int_equal(chsm_rbac_has_data_action(app, MSI_PRINCIPAL,
                                               SUB "/resourceGroups/rg10/providers/"
                                                   "Microsoft.Storage/storageAccounts/a",
                                               CHSM_ACTION_BLOB_WRITE),
                     0);

    /* Subscription scope covers every group; a container scope only itself. */
    assign(app, SUB, OTHER_PRINCIPAL, CHSM_ROLE_STORAGE_BLOB_DATA_OWNER);
    assert_int_equal(chsm_rbac_has_data_action(app, OTHER_PRINCIPAL,
                                               SUB "/resourceGroups/other/providers/"
                                                   "Microsoft.Storage/storageAccounts/b",
                                               CHSM_ACTION_BLOB_DELETE),
                     1);
    const char *p3 = "33333333-bbbb-cccc-dddd-eeeeeeeeeeee";
    assign(app, CONTAINER, p3, CHSM_ROLE_STORAGE_BLOB_DATA_CONTRIBUTOR);
    assert_int_equal(chsm_rbac_has_data_action(app, p3, CONTAINER "/", CHSM_ACTION_BLOB_WRITE), 1);
    assert_int_equal(chsm_rbac_has_data_action(app, p3,
                                               ACCT "/blobServices/default/containers/"
                                                    "backups2",
                                               CHSM_ACTION_BLOB_WRITE),
                     0);
    assert_int_equal(chsm_rbac_has_data_action(app, p3, ACCT, CHSM_ACTION_BLOB_WRITE), 0);

    /* Owner at the root: control plane actions everywhere, no data actions. */
    const char *p4 = "44444444-bbbb-cccc-dddd-eeeeeeeeeeee";
    assign(app, "/", p4, CHSM_ROLE_OWNER);
    assert_int_equal(
        chsm_rbac_has_action(app, p4, ACCT, "Microsoft.Storage/storageAccounts/listKeys/action"),
        1);
    assert_int_equal(chsm_rbac_has_data_action(app, p4, CONTAINER, CHSM_ACTION_BLOB_READ), 0);
    chsm_app_close(app);
}

static void test_custom_role_from_store(void **state)
{
    (void)state;
    chsm_app *app = open_app();
    const char *guid = "12345678-1234-1234-1234-123456789abc";
    char *id = chsm_rbac_custom_role_id(guid);
    assert_string_equal(id, "/providers/Microsoft.Authorization/roleDefinitions/"
                            "12345678-1234-1234-1234-123456789abc");
    cJSON *body = cJSON_Parse(
        "{\"name\":\"12345678-1234-1234-1234-123456789abc\",\"properties\":{\"roleName\":\"Blob "
        "writer without delete\",\"type\":\"CustomRole\",\"permissions\":[{\"dataActions\":["
        "\"Microsoft.Storage/*\"],\"notDataActions\":[\"*/delete\"]}]}}");
    chsm_resource r = {
        .id = id, .type = CHSM_RBAC_DEFINITION_TYPE, .name = (char *)guid, .body = body};
    assert_int_equal(chsm_resources_put(app->store, &r), CHSM_OK);
    cJSON_Delete(body);
    free(id);

    cJSON *found = NULL;
    assert_int_equal(chsm_rbac_find_role(app, guid, "sub-x", &found), CHSM_OK);
    assert_string_equal(chsm_json_str(found, "id"), "/subscriptions/sub-x/providers/"
                                                    "Microsoft.Authorization/roleDefinitions/"
                                                    "12345678-1234-1234-1234-123456789abc");
    cJSON_Delete(found);
    assert_int_equal(chsm_rbac_find_role(app, "12345678-0000-1234-1234-123456789abc", NULL, &found),
                     CHSM_ENOTFOUND);

    assign(app, RG1, MSI_PRINCIPAL, guid);
    assert_int_equal(
        chsm_rbac_has_data_action(app, MSI_PRINCIPAL, CONTAINER, CHSM_ACTION_BLOB_WRITE), 1);
    assert_int_equal(
        chsm_rbac_has_data_action(app, MSI_PRINCIPAL, CONTAINER, CHSM_ACTION_BLOB_DELETE), 0);
    /* Deleting the role leaves the assignment granting nothing. */
    char *rid = chsm_rbac_custom_role_id(guid);
    assert_int_equal(chsm_resources_delete(app->store, rid), CHSM_OK);
    free(rid);
    assert_int_equal(
        chsm_rbac_has_data_action(app, MSI_PRINCIPAL, CONTAINER, CHSM_ACTION_BLOB_WRITE), 0);
    chsm_app_close(app);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wildcards),
        cmocka_unit_test(test_builtin_roles),
        cmocka_unit_test(test_not_data_actions),
        cmocka_unit_test(test_scope_covers),
        cmocka_unit_test(test_role_guid),
        cmocka_unit_test(test_inheritance_from_store),
        cmocka_unit_test(test_custom_role_from_store),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

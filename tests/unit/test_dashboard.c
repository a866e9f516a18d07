/* test_dashboard.c - the dashboard's embedded assets (control/ui.c) and the
 * inventory it reads (control/inventory.c), through the real ARM pipeline of
 * an in-memory app. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "app/app.h"
#include "blob/repo.h"
#include "control/ui.h"
#include "hsm/model.h"
#include "hsm/repo.h"
#include "store/resources.h"
#include "store/store.h"
#include "util/json.h"
#include "util/status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLUSTER                                                                                    \
    "/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.HardwareSecurityModules/"            \
    "cloudHsmClusters/src"

static chsm_app *open_app(int no_control, int strict)
{
    chsm_config cfg;
    chsm_config_defaults(&cfg);
    cfg.in_memory = 1;
    cfg.no_control = no_control;
    cfg.strict_auth = strict;
    chsm_app *app = NULL;
    char err[256];
    assert_int_equal(chsm_app_open(&cfg, &app, err, sizeof err), CHSM_OK);
    return app;
}

/* get sends GET path (with an optional If-None-Match and a bearer token) through the app. */
static void get(chsm_app *app, const char *path, const char *if_none_match, chsm_response *res)
{
    chsm_request req;
    chsm_request_init(&req, app, "GET");
    assert_int_equal(chsm_request_set_path(&req, path), CHSM_OK);
    chsm_request_add_header(&req, "Authorization", "Bearer unit-test");
    if (if_none_match)
        chsm_request_add_header(&req, "If-None-Match", if_none_match);
    chsm_response_init(res);
    chsm_app_dispatch(app, &req, res);
    chsm_request_free(&req);
}

static void test_assets_embedded(void **state)
{
    (void)state;
    static const char *const want[][2] = {{"index.html", "text/html; charset=utf-8"},
                                          {"app.js", "text/javascript; charset=utf-8"},
                                          {"app.css", "text/css; charset=utf-8"}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const chsm_ui_asset *a = chsm_ui_asset_find(want[i][0]);
        assert_non_null(a);
        assert_string_equal(a->content_type, want[i][1]);
        assert_true(a->len > 100);
        assert_int_equal(a->data[a->len], '\0');
        assert_int_equal(strlen((const char *)a->data), a->len);
        assert_int_equal(strlen(a->etag), 34); /* quoted 32 hex digits */
        assert_int_equal(a->etag[0], '"');
    }
    assert_null(chsm_ui_asset_find("nope.js"));
    assert_null(chsm_ui_asset_find("../index.html"));
    assert_null(chsm_ui_asset_find("INDEX.HTML"));
    assert_null(chsm_ui_asset_find(NULL));
}

static void test_page_headers_and_etag(void **state)
{
    (void)state;
    chsm_app *app = open_app(0, 0);
    const chsm_ui_asset *index = chsm_ui_asset_find("index.html");
    chsm_response res;
    get(app, "/_emulator/ui", NULL, &res);
    assert_int_equal(res.status, 200);
    assert_int_equal(res.body_len, index->len);
    assert_memory_equal(res.body, index->data, index->len);
    assert_string_equal(chsm_response_find_header(&res, "Content-Type"), index->content_type);
    assert_string_equal(chsm_response_find_header(&res, "X-Content-Type-Options"), "nosniff");
    assert_string_equal(chsm_response_find_header(&res, "ETag"), index->etag);
    assert_string_equal(chsm_response_find_header(&res, "Cache-Control"), "no-cache");
    assert_non_null(
        strstr(chsm_response_find_header(&res, "Content-Security-Policy"), "default-src 'self'"));
    chsm_response_free(&res);

    char weak[64], list[96], longer[64];
    snprintf(weak, sizeof weak, "W/%s", index->etag);
    snprintf(list, sizeof list, "\"other\", %s", index->etag);
    snprintf(longer, sizeof longer, "%.*sX\"", (int)strlen(index->etag) - 1, index->etag);
    const char *matching[] = {index->etag, weak, list, "*"};
    for (size_t i = 0; i < 4; i++) {
        get(app, "/_emulator/ui", matching[i], &res);
        assert_int_equal(res.status, 304);
        assert_int_equal(res.body_len, 0);
        chsm_response_free(&res);
    }
    const char *other[] = {"\"other\"", longer, ""};
    for (size_t i = 0; i < 3; i++) {
        get(app, "/_emulator/ui", other[i], &res);
        assert_int_equal(res.status, 200);
        chsm_response_free(&res);
    }

    get(app, "/_emulator/ui/app.js", NULL, &res);
    assert_int_equal(res.status, 200);
    assert_string_equal(chsm_response_find_header(&res, "Content-Type"),
                        "text/javascript; charset=utf-8");
    chsm_response_free(&res);
    get(app, "/_emulator/ui/missing.css", NULL, &res);
    assert_int_equal(res.status, 404);
    chsm_response_free(&res);
    chsm_app_close(app);
}

static void test_no_control_hides_everything(void **state)
{
    (void)state;
    chsm_app *app = open_app(1, 0);
    const char *paths[] = {"/_emulator/ui", "/_emulator/ui/app.js", "/_emulator/inventory"};
    for (size_t i = 0; i < 3; i++) {
        chsm_response res;
        get(app, paths[i], NULL, &res);
        assert_int_equal(res.status, 404);
        chsm_response_free(&res);
    }
    chsm_app_close(app);
    /* Not on loopback: off as well. */
    chsm_config cfg;
    chsm_config_defaults(&cfg);
    cfg.in_memory = 1;
    snprintf(cfg.arm_host, sizeof cfg.arm_host, "0.0.0.0");
    char err[256];
    assert_int_equal(chsm_app_open(&cfg, &app, err, sizeof err), CHSM_OK);
    chsm_response res;
    get(app, "/_emulator/ui", NULL, &res);
    assert_int_equal(res.status, 404);
    chsm_response_free(&res);
    chsm_app_close(app);
}

static void test_strict_auth_guards_inventory_only(void **state)
{
    (void)state;
    chsm_app *app = open_app(0, 1);
    chsm_response res;
    get(app, "/_emulator/ui", NULL, &res); /* the page holds no state */
    assert_int_equal(res.status, 200);
    chsm_response_free(&res);
    get(app, "/_emulator/inventory", NULL, &res); /* an unsigned token */
    assert_int_equal(res.status, 401);
    chsm_response_free(&res);
    chsm_app_close(app);
}

static cJSON *inventory(chsm_app *app)
{
    chsm_response res;
    get(app, "/_emulator/inventory", NULL, &res);
    assert_int_equal(res.status, 200);
    cJSON *b = cJSON_ParseWithLength(res.body, res.body_len);
    assert_non_null(b);
    chsm_response_free(&res);
    return b;
}

static void put_key(chsm_app *app, int64_t handle, const char *klass, const char *type)
{
    chsm_hsm_key k;
    memset(&k, 0, sizeof k);
    k.handle = handle;
    snprintf(k.key_id, sizeof k.key_id, "k%lld", (long long)handle);
    snprintf(k.klass, sizeof k.klass, "%s", klass);
    snprintf(k.owner, sizeof k.owner, "cu1");
    k.meta = cJSON_CreateObject();
    cJSON_AddStringToObject(k.meta, "type", type);
    static const unsigned char sealed[4] = {1, 2, 3, 4};
    k.sealed = (unsigned char *)sealed;
    k.sealed_len = sizeof sealed;
    assert_int_equal(chsm_hsm_repo_key_put(app->store, CLUSTER, &k), CHSM_OK);
    cJSON_Delete(k.meta);
}

static void test_inventory(void **state)
{
    (void)state;
    chsm_app *app = open_app(0, 0);
    cJSON *b = inventory(app);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(b, "clusters")), 0);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(b, "storageAccounts")), 0);
    cJSON_Delete(b);

    /* a cluster resource with its HSM: a CU and three keys */
    chsm_resource r;
    memset(&r, 0, sizeof r);
    r.id = CLUSTER;
    r.type = "Microsoft.HardwareSecurityModules/cloudHsmClusters";
    r.name = "src";
    r.subscription = "s1";
    r.resource_group = "rg1";
    r.body = cJSON_CreateObject();
    assert_int_equal(chsm_resources_put(app->store, &r), CHSM_OK);
    cJSON_Delete(r.body);
    assert_int_equal(chsm_hsm_cluster_create(app, CLUSTER, "src", "", ""), CHSM_OK);
    chsm_hsm_user u;
    memset(&u, 0, sizeof u);
    u.user_id = 2;
    snprintf(u.user_type, sizeof u.user_type, "CU");
    snprintf(u.username, sizeof u.username, "cu1");
    snprintf(u.password_hash, sizeof u.password_hash, "pbkdf2-sha256$secret-hash");
    assert_int_equal(chsm_hsm_repo_user_put(app->store, CLUSTER, &u), CHSM_OK);
    put_key(app, 262150, "secret", "AES");
    put_key(app, 262151, "public", "RSA");
    put_key(app, 262152, "private", "RSA");

    /* an account with a backup blob and a plain blob */
    chsm_blob_account a;
    memset(&a, 0, sizeof a);
    snprintf(a.name, sizeof a.name, "acct");
    snprintf(a.resource_id, sizeof a.resource_id,
             "/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.Storage/"
             "storageAccounts/acct");
    assert_int_equal(chsm_blob_repo_account_put(app->store, &a), CHSM_OK);
    chsm_blob_container c;
    memset(&c, 0, sizeof c);
    snprintf(c.account, sizeof c.account, "acct");
    snprintf(c.name, sizeof c.name, "backups");
    c.metadata = "{}";
    assert_int_equal(chsm_blob_repo_container_insert(app->store, &c), CHSM_OK);
    chsm_blob_row blob;
    memset(&blob, 0, sizeof blob);
    blob.name = "cloudhsm-1234";
    blob.size = 4096;
    blob.metadata = "{\"chsmbackupformat\":\"1\",\"sourcecluster\":\"src\"}";
    blob.blocks = "[]";
    blob.created_ms = blob.modified_ms = 1700000000000;
    assert_int_equal(chsm_blob_repo_blob_put(app->store, "acct", "backups", &blob), CHSM_OK);
    blob.name = "notes.txt";
    blob.size = 5;
    blob.metadata = "{}";
    assert_int_equal(chsm_blob_repo_blob_put(app->store, "acct", "backups", &blob), CHSM_OK);

    b = inventory(app);
    char *text = cJSON_PrintUnformatted(b);
    assert_null(strstr(text, "secret-hash")); /* password hashes never leave */
    free(text);
    cJSON *cl = cJSON_GetArrayItem(cJSON_GetObjectItem(b, "clusters"), 0);
    assert_string_equal(chsm_json_str(cl, "name"), "src");
    assert_string_equal(chsm_json_str(cl, "resourceGroup"), "rg1");
    cJSON *hsm = cJSON_GetObjectItem(cl, "hsm");
    assert_string_equal(chsm_json_str(hsm, "activationState"), "NotActivated");
    cJSON *keys = cJSON_GetObjectItem(hsm, "keys");
    assert_int_equal(cJSON_GetObjectItem(keys, "handles")->valueint, 3);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(keys, "byType"), "RSA")->valueint, 2);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(keys, "byType"), "AES")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(keys, "byClass"), "private")->valueint,
                     1);
    cJSON *users = cJSON_GetObjectItem(hsm, "users");
    assert_int_equal(cJSON_GetArraySize(users), 2); /* PRECO admin and cu1 */
    assert_string_equal(chsm_json_str(cJSON_GetArrayItem(users, 1), "username"), "cu1");
    assert_null(cJSON_GetObjectItem(cJSON_GetArrayItem(users, 1), "passwordHash"));

    cJSON *acct = cJSON_GetArrayItem(cJSON_GetObjectItem(b, "storageAccounts"), 0);
    assert_string_equal(chsm_json_str(acct, "name"), "acct");
    cJSON *cont = cJSON_GetArrayItem(cJSON_GetObjectItem(acct, "containers"), 0);
    assert_string_equal(chsm_json_str(cont, "name"), "backups");
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(cont, "truncated")));
    cJSON *blobs = cJSON_GetObjectItem(cont, "blobs");
    assert_int_equal(cJSON_GetArraySize(blobs), 2);
    cJSON *bk = cJSON_GetArrayItem(blobs, 0);
    assert_string_equal(chsm_json_str(bk, "name"), "cloudhsm-1234");
    assert_string_equal(chsm_json_str(bk, "backupId"), "cloudhsm-1234");
    assert_string_equal(chsm_json_str(bk, "sourceCluster"), "src");
    assert_int_equal(cJSON_GetObjectItem(bk, "size")->valueint, 4096);
    cJSON *plain = cJSON_GetArrayItem(blobs, 1);
    assert_null(cJSON_GetObjectItem(plain, "backupId"));
    cJSON_Delete(b);
    chsm_app_close(app);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_assets_embedded),
        cmocka_unit_test(test_page_headers_and_etag),
        cmocka_unit_test(test_no_control_hides_everything),
        cmocka_unit_test(test_strict_auth_guards_inventory_only),
        cmocka_unit_test(test_inventory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

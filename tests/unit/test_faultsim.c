/* test_faultsim.c - fault simulation in the style of SQLite's fault tests (docs/reliability.md).
 *
 * Built only with -DCHSM_FAULT_SIM=ON (scripts/test.sh's sanitizer suite). For a few
 * representative handlers - Cloud HSM cluster PUT, role assignment PUT, Blob Put Blob, the
 * backup POST and the backup job a poll runs - and for each kind of fault (the Nth allocation,
 * the Nth SQL statement, the Nth content file write), it first counts how many such events one
 * clean request has, then repeats the request failing event N for every N from 1 to that
 * count, and asserts each time that:
 *   - the answer is a clean 5xx with the listener's error body (ARM: {"error":{"code",
 *     "message"}}; Blob: XML <Error><Code>), or a 2xx when the failure was absorbed;
 *   - after a 5xx the state is exactly as before (chsm_store_export, sealed columns included)
 *     and no content file was left behind.
 * The process is single-threaded (no operation worker), and faults count only on this thread. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "app/app.h"
#include "arm/lro.h"
#include "blob/sharedkey.h"
#include "store/admin.h"
#include "util/buf.h"
#include "util/faultsim.h"
#include "util/json.h"
#include "util/status.h"
#include "util/text.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUB "00000000-0000-0000-0000-0000000000a1"
#define RG "/subscriptions/" SUB "/resourceGroups/fsrg"
#define HSMV "api-version=2025-03-31"
#define DEVKEY                                                                                     \
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
#define BLOB_CONTRIBUTOR "ba92f5b4-2d11-453d-a403-e96b0029c9fe"

static const char *const kind_names[] = {"allocation", "SQL statement", "content write"};

typedef struct answer {
    int status;
    char *body; /* owned */
    char location[512];
} answer;

static void answer_clear(answer *a)
{
    free(a->body);
    memset(a, 0, sizeof *a);
}

/* armed_arm_call answers one ARM request (path and query as sent; body JSON or NULL), with the
 * fault (kind, n) armed for the dispatch alone when n >= 0. */
static void armed_arm_call(chsm_app *app, const char *method, const char *path, const char *query,
                           const char *body, chsm_faultsim_kind kind, long n, answer *out)
{
    chsm_request req;
    chsm_response res;
    chsm_request_init(&req, app, method);
    chsm_response_init(&res);
    snprintf(req.base_url, sizeof req.base_url, "https://127.0.0.1:8443");
    memset(out, 0, sizeof *out);
    if (chsm_request_set_path(&req, path) != CHSM_OK ||
        (query && chsm_request_parse_query(&req, query) != CHSM_OK)) {
        out->status = -1; /* an allocation failed before the request existed */
    } else {
        chsm_request_add_header(&req, "Authorization", "Bearer faultsim");
        if (body) {
            chsm_request_add_header(&req, "Content-Type", "application/json");
            req.body = (const unsigned char *)body;
            req.body_len = strlen(body);
        }
        if (n >= 0)
            chsm_faultsim_arm(kind, n);
        chsm_app_dispatch(app, &req, &res);
        chsm_faultsim_disarm();
        out->status = res.status;
        const char *loc = chsm_response_find_header(&res, "Location");
        snprintf(out->location, sizeof out->location, "%s", loc ? loc : "");
        out->body = res.body ? chsm_strndup(res.body, res.body_len) : NULL;
    }
    chsm_request_free(&req);
    chsm_response_free(&res);
}

/* blob_put answers a signed Put Blob of len bytes (signed before the fault is armed). */
/* arm_call answers one ARM request with no fault. */
static void arm_call(chsm_app *app, const char *method, const char *path, const char *query,
                     const char *body, answer *out)
{
    armed_arm_call(app, method, path, query, body, CHSM_FAULTSIM_ALLOC, -1, out);
}

static void blob_put(chsm_app *app, const char *path, const char *data, size_t len,
                     int (*arm)(void *), void *ctx, answer *out)
{
    chsm_request req;
    chsm_response res;
    chsm_request_init(&req, app, "PUT");
    chsm_response_init(&res);
    req.listener = CHSM_LISTENER_BLOB;
    snprintf(req.base_url, sizeof req.base_url, "https://127.0.0.1:10000");
    assert_int_equal(chsm_request_set_path(&req, path), CHSM_OK);
    char cl[24];
    snprintf(cl, sizeof cl, "%zu", len);
    chsm_request_add_header(&req, "x-ms-date", "Wed, 25 Nov 2026 08:00:00 GMT");
    chsm_request_add_header(&req, "x-ms-version", "2025-05-05");
    chsm_request_add_header(&req, "x-ms-blob-type", "BlockBlob");
    chsm_request_add_header(&req, "Content-Length", cl);
    req.body = (const unsigned char *)data;
    req.body_len = len;
    char *sts = chsm_blob_sharedkey_string_to_sign(&req, "devstoreaccount1", path);
    char *sig = chsm_blob_hmac_base64(DEVKEY, sts);
    char auth[200];
    snprintf(auth, sizeof auth, "SharedKey devstoreaccount1:%s", sig);
    chsm_request_add_header(&req, "Authorization", auth);
    free(sts);
    free(sig);
    if (arm)
        arm(ctx);
    chsm_app_dispatch(app, &req, &res);
    chsm_faultsim_disarm();
    memset(out, 0, sizeof *out);
    out->status = res.status;
    out->body = res.body ? chsm_strndup(res.body, res.body_len) : NULL;
    chsm_request_free(&req);
    chsm_response_free(&res);
}

static int ok2xx(int status)
{
    return status >= 200 && status < 300;
}

static void must(chsm_app *app, const char *method, const char *path, const char *query,
                 const char *body)
{
    answer a;
    arm_call(app, method, path, query, body, &a);
    if (!ok2xx(a.status))
        fail_msg("setup %s %s: %d %s", method, path, a.status, a.body ? a.body : "");
    answer_clear(&a);
}

/* ---- the state a failed request must leave as it was ---- */

static long files_seen;
static int count_file(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_F && !strstr(path, "state.db")) {
        files_seen++;
        if (getenv("FAULTSIM_DUMP"))
            fprintf(stderr, "    file %s\n", path);
    }
    return 0;
}

/* snapshot returns the state as text (without the table named skip, if any) and counts the
 * content files. */
static char *snapshot_without(chsm_app *app, long *files, const char *skip)
{
    cJSON *doc = chsm_store_export(app->store, 1);
    assert_non_null(doc);
    if (skip)
        cJSON_DeleteItemFromObject(cJSON_GetObjectItem(doc, "tables"), skip);
    char *text = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    /* Blob contents (and their temp files) live under blobs/; the signing key a background
     * thread writes at start is not the request's doing. */
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/blobs", app->data_dir);
    files_seen = 0;
    nftw(dir, count_file, 16, FTW_PHYS);
    *files = files_seen;
    return text;
}

static char *snapshot(chsm_app *app, long *files)
{
    return snapshot_without(app, files, NULL);
}

/* ---- the scenarios ---- */

typedef struct scenario {
    const char *name;
    int is_blob;
    /* run does the request under test with the fault armed by arm(kind, n) right before the
     * dispatch; iteration gives fresh names. */
    void (*run)(chsm_app *app, int iteration, chsm_faultsim_kind kind, long n, answer *out);
    /* prepare (optional) runs before the state is taken; finish (optional) after the checks. */
    void (*prepare)(chsm_app *app);
    void (*finish)(chsm_app *app);
} scenario;

static chsm_faultsim_kind arm_kind;
static long arm_n;
static int do_arm(void *ctx)
{
    (void)ctx;
    chsm_faultsim_arm(arm_kind, arm_n);
    return 0;
}

static void run_cluster_put(chsm_app *app, int it, chsm_faultsim_kind kind, long n, answer *out)
{
    char path[256];
    snprintf(path, sizeof path,
             RG "/providers/Microsoft.HardwareSecurityModules/"
                "cloudHsmClusters/fs%d",
             it);
    armed_arm_call(app, "PUT", path, HSMV,
                   "{\"sku\":{\"family\":\"B\",\"name\":\"Standard_B1\"},\"location\":\"uksouth\"}",
                   kind, n, out);
}

static char ra_path[256];

static void run_role_assignment_put(chsm_app *app, int it, chsm_faultsim_kind kind, long n,
                                    answer *out)
{
    /* A new principal each time: one principal, role and scope make one assignment. */
    char *path = ra_path, body[400];
    snprintf(path, sizeof ra_path,
             RG "/providers/Microsoft.Authorization/roleAssignments/"
                "6a6d9a4e-0000-4000-8000-%012d",
             it);
    snprintf(body, sizeof body,
             "{\"properties\":{\"roleDefinitionId\":\"/subscriptions/" SUB
             "/providers/Microsoft.Authorization/roleDefinitions/" BLOB_CONTRIBUTOR
             "\",\"principalId\":\"7a6d9a4e-0000-4000-8000-%012d\"}}",
             it);
    armed_arm_call(app, "PUT", path, "api-version=2022-04-01", body, kind, n, out);
}

/* Assignments are checked against the others at the scope: each one made is deleted again so
 * every iteration sees the same number. */
static void finish_role_assignment(chsm_app *app)
{
    answer a;
    arm_call(app, "DELETE", ra_path, "api-version=2022-04-01", NULL, &a);
    answer_clear(&a);
}

static char blob_data[300 * 1024];

static void run_put_blob(chsm_app *app, int it, chsm_faultsim_kind kind, long n, answer *out)
{
    char path[128];
    snprintf(path, sizeof path, "/devstoreaccount1/fsbox/b%d", it);
    arm_kind = kind;
    arm_n = n;
    blob_put(app, path, blob_data, sizeof blob_data, do_arm, NULL, out);
}

#define SRC RG "/providers/Microsoft.HardwareSecurityModules/cloudHsmClusters/fssrc"
#define BACKUP_BODY                                                                                \
    "{\"azureStorageBlobContainerUri\":\"https://fsacct.blob.core.windows.net/bkp\"}"

/* The backup job runs when its operation is polled: a backup is accepted with no fault
 * (prepare), then the poll that runs it is the request under test; finish polls it to its end
 * so the next backup is not refused as a conflict. */
static char job_path[512], job_query[256];

static void prepare_backup_job(chsm_app *app)
{
    answer a;
    arm_call(app, "POST", SRC "/backup", HSMV, BACKUP_BODY, &a);
    if (a.status != 202)
        fail_msg("backup POST: %d %s", a.status, a.body ? a.body : "");
    const char *p = strstr(a.location, "/subscriptions/");
    assert_non_null(p);
    snprintf(job_path, sizeof job_path, "%s", p);
    answer_clear(&a);
    char *q = strchr(job_path, '?');
    assert_non_null(q);
    *q = '\0';
    snprintf(job_query, sizeof job_query, "%s", q + 1);
}

static void run_backup_job(chsm_app *app, int it, chsm_faultsim_kind kind, long n, answer *out)
{
    (void)it;
    armed_arm_call(app, "GET", job_path, job_query, NULL, kind, n, out);
}

static void finish_backup_job(chsm_app *app)
{
    /* A backup accepted by an answer that then failed (500 after the commit) runs here too. */
    chsm_lro_run_due(app->lro);
    if (!job_path[0])
        return;
    char last[400] = "";
    for (int i = 0; i < 5; i++) {
        answer a;
        arm_call(app, "GET", job_path, job_query, NULL, &a);
        int done = a.status == 200 && a.body && !strstr(a.body, "\"InProgress\"");
        snprintf(last, sizeof last, "%d %s", a.status, a.body ? a.body : "");
        answer_clear(&a);
        if (done)
            return;
    }
    fail_msg("the backup job %s did not end after the fault: %s", job_path, last);
}

/* The backup POST under test; a backup it accepted is run to its end (finish) before the next. */
static void run_backup_post(chsm_app *app, int it, chsm_faultsim_kind kind, long n, answer *out)
{
    (void)it;
    armed_arm_call(app, "POST", SRC "/backup", HSMV, BACKUP_BODY, kind, n, out);
    job_path[0] = '\0';
    const char *p = out->status == 202 ? strstr(out->location, "/subscriptions/") : NULL;
    if (p) {
        snprintf(job_path, sizeof job_path, "%s", p);
        char *q = strchr(job_path, '?');
        assert_non_null(q);
        *q = '\0';
        snprintf(job_query, sizeof job_query, "%s", q + 1);
    }
}

static const scenario scenarios[] = {
    {"cluster PUT", 0, run_cluster_put, NULL, NULL},
    {"role assignment PUT", 0, run_role_assignment_put, NULL, finish_role_assignment},
    {"Blob Put Blob", 1, run_put_blob, NULL, NULL},
    {"backup POST", 0, run_backup_post, NULL, finish_backup_job},
    {"backup job (the poll that runs it)", 0, run_backup_job, prepare_backup_job,
     finish_backup_job},
};

/* activate logs in as the PRECO admin through the HSM data plane and activates the source
 * cluster (a backup needs an Active cluster). */
static void activate(chsm_app *app)
{
    answer a;
    arm_call(app, "GET", SRC, HSMV, NULL, &a);
    cJSON *doc = cJSON_Parse(a.body);
    const cJSON *hsms = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "properties"), "hsms");
    const char *fqdn = chsm_json_str(cJSON_GetArrayItem(hsms, 0), "fqdn");
    assert_non_null(fqdn);
    char label[128];
    const char *dot = strchr(fqdn, '.');
    assert_non_null(dot);
    snprintf(label, sizeof label, "%.*s", (int)strcspn(dot + 1, "."), dot + 1);
    cJSON_Delete(doc);
    answer_clear(&a);
    char path[200];
    snprintf(path, sizeof path, "/hsm/%s/login", label);
    arm_call(app, "POST", path, NULL,
             "{\"userType\":\"PRECO\",\"username\":\"admin\",\"password\":\"tenantadmin\"}", &a);
    assert_int_equal(a.status, 200);
    doc = cJSON_Parse(a.body);
    char session[300];
    snprintf(session, sizeof session, "HSM-Session %s", chsm_json_str(doc, "session"));
    cJSON_Delete(doc);
    answer_clear(&a);
    snprintf(path, sizeof path, "/hsm/%s/activate", label);
    chsm_request req;
    chsm_response res;
    chsm_request_init(&req, app, "POST");
    chsm_response_init(&res);
    assert_int_equal(chsm_request_set_path(&req, path), CHSM_OK);
    chsm_request_add_header(&req, "Authorization", session);
    chsm_request_add_header(&req, "Content-Type", "application/json");
    const char *body = "{\"newPassword\":\"adminpass1\"}";
    req.body = (const unsigned char *)body;
    req.body_len = strlen(body);
    chsm_app_dispatch(app, &req, &res);
    assert_int_equal(res.status, 200);
    chsm_request_free(&req);
    chsm_response_free(&res);
}

static chsm_app *open_app(void)
{
    chsm_config cfg;
    chsm_config_defaults(&cfg);
    cfg.in_memory = 1;
    chsm_app *app = NULL;
    char err[256];
    assert_int_equal(chsm_app_open(&cfg, &app, err, sizeof err), CHSM_OK);
    chsm_json_init();
    must(app, "PUT", "/subscriptions/" SUB "/resourcegroups/fsrg", "api-version=2021-04-01",
         "{\"location\":\"uksouth\"}");
    must(app, "PUT", RG "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/fsid",
         "api-version=2023-01-31", "{\"location\":\"uksouth\"}");
    must(app, "PUT", RG "/providers/Microsoft.Storage/storageAccounts/fsacct",
         "api-version=2023-05-01",
         "{\"sku\":{\"name\":\"Standard_LRS\"},\"kind\":\"StorageV2\",\"location\":\"uksouth\"}");
    must(app, "GET", RG "/providers/Microsoft.Storage/storageAccounts/fsacct",
         "api-version=2023-05-01", NULL);
    must(app, "PUT",
         RG "/providers/Microsoft.Storage/storageAccounts/fsacct/blobServices/default/"
            "containers/bkp",
         "api-version=2023-05-01", "{}");
    answer a;
    arm_call(app, "GET", RG "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/fsid",
             "api-version=2023-01-31", NULL, &a);
    cJSON *id = cJSON_Parse(a.body);
    const char *principal = chsm_json_str(cJSON_GetObjectItem(id, "properties"), "principalId");
    assert_non_null(principal);
    char body[600];
    snprintf(body, sizeof body,
             "{\"properties\":{\"roleDefinitionId\":\"/subscriptions/" SUB
             "/providers/Microsoft.Authorization/roleDefinitions/" BLOB_CONTRIBUTOR
             "\",\"principalId\":\"%s\",\"principalType\":\"ServicePrincipal\"}}",
             principal);
    cJSON_Delete(id);
    answer_clear(&a);
    must(app, "PUT",
         RG "/providers/Microsoft.Storage/storageAccounts/fsacct/providers/"
            "Microsoft.Authorization/roleAssignments/6a6d9a4e-0000-4000-8000-0000000000aa",
         "api-version=2022-04-01", body);
    must(app, "PUT", SRC, HSMV,
         "{\"sku\":{\"family\":\"B\",\"name\":\"Standard_B1\"},\"location\":\"uksouth\","
         "\"identity\":{\"type\":\"UserAssigned\",\"userAssignedIdentities\":{\"" RG
         "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/fsid\":{}}}}");
    must(app, "GET", SRC, HSMV, NULL); /* completes the provisioning */
    activate(app);
    /* A container for Put Blob (restype=container is in the query). */
    chsm_request req;
    chsm_response res;
    chsm_request_init(&req, app, "PUT");
    chsm_response_init(&res);
    req.listener = CHSM_LISTENER_BLOB;
    chsm_request_set_path(&req, "/devstoreaccount1/fsbox");
    chsm_request_parse_query(&req, "restype=container");
    chsm_request_add_header(&req, "x-ms-date", "Wed, 25 Nov 2026 08:00:00 GMT");
    chsm_request_add_header(&req, "x-ms-version", "2025-05-05");
    char *sts =
        chsm_blob_sharedkey_string_to_sign(&req, "devstoreaccount1", "/devstoreaccount1/fsbox");
    char *sig = chsm_blob_hmac_base64(DEVKEY, sts);
    char auth[200];
    snprintf(auth, sizeof auth, "SharedKey devstoreaccount1:%s", sig);
    chsm_request_add_header(&req, "Authorization", auth);
    free(sts);
    free(sig);
    chsm_app_dispatch(app, &req, &res);
    assert_int_equal(res.status, 201);
    chsm_request_free(&req);
    chsm_response_free(&res);
    for (size_t i = 0; i < sizeof blob_data; i++)
        blob_data[i] = (char)(i * 131 + 7);
    return app;
}

/* clean_error tells whether body is the listener's error format. */
static int clean_error(const scenario *sc, const char *body)
{
    if (!body)
        return 0;
    if (sc->is_blob)
        return strstr(body, "<Error><Code>") != NULL;
    cJSON *doc = cJSON_Parse(body);
    const cJSON *err = cJSON_GetObjectItem(doc, "error");
    int ok = chsm_json_str(err, "code") && chsm_json_str(err, "message");
    cJSON_Delete(doc);
    return ok;
}

static int iteration;

/* skeleton appends the member names of a JSON document (paths, arrays by index) to b: an
 * answer whose failure was absorbed must still be whole, with every member the clean answer
 * has (values differ: ids, times). */
static void skeleton(const cJSON *j, const char *prefix, chsm_buf *b)
{
    int i = 0;
    for (const cJSON *c = j ? j->child : NULL; c; c = c->next, i++) {
        char path[512];
        if (cJSON_IsArray(j))
            snprintf(path, sizeof path, "%s/%d", prefix, i);
        else
            snprintf(path, sizeof path, "%s/%s", prefix, c->string ? c->string : "?");
        chsm_buf_printf(b, "%s\n", path);
        skeleton(c, path, b);
    }
}

static char *skeleton_of(const char *body)
{
    cJSON *doc = body ? cJSON_Parse(body) : NULL;
    chsm_buf b = {0};
    chsm_buf_puts(&b, "");
    skeleton(doc, "", &b);
    cJSON_Delete(doc);
    return chsm_buf_steal(&b);
}

static void run_scenario(chsm_app *app, const scenario *sc)
{
    for (int kind = 0; kind < CHSM_FAULTSIM_KINDS; kind++) {
        /* A clean run first: the answer an absorbed failure must match in shape. */
        answer a;
        if (sc->prepare)
            sc->prepare(app);
        sc->run(app, ++iteration, (chsm_faultsim_kind)kind, 0, &a);
        long events = chsm_faultsim_seen();
        if (!ok2xx(a.status))
            fail_msg("%s: clean run answered %d %s", sc->name, a.status, a.body ? a.body : "");
        char *clean_shape = skeleton_of(a.body);
        char clean_body[4096];
        snprintf(clean_body, sizeof clean_body, "%s", a.body ? a.body : "");
        int clean_status = a.status;
        answer_clear(&a);
        if (sc->finish)
            sc->finish(app);
        /* Then fail event N for N = 1, 2, ... until the request runs without reaching N (its
         * event count varies a little with ids and times, so it is not fixed in advance). */
        long failed = 0, absorbed = 0, late = 0, deferred = 0, job_failed = 0, n;
        for (n = 1;; n++) {
            if (n > 2 * events + 100)
                fail_msg("%s: %s: still failing at N=%ld", sc->name, kind_names[kind], n);
            long files_before, files_after;
            if (sc->prepare)
                sc->prepare(app);
            char *before = snapshot(app, &files_before);
            long files_nops;
            char *before_nops = snapshot_without(app, &files_nops, "operations");
            int it = ++iteration;
            sc->run(app, it, (chsm_faultsim_kind)kind, n, &a);
            int fired = chsm_faultsim_fired();
            long commits = chsm_faultsim_commits();
            if (getenv("FAULTSIM_VERBOSE"))
                printf("  %s %s %ld: %d (commits %ld) %.160s %s\n", sc->name, kind_names[kind], n,
                       a.status, commits, a.body ? a.body : "", a.location);
            if (!fired) {
                if (!ok2xx(a.status))
                    fail_msg("%s: with no fault left (N=%ld) answered %d", sc->name, n, a.status);
                free(before);
                free(before_nops);
                answer_clear(&a);
                if (sc->finish)
                    sc->finish(app);
                break;
            }
            if (ok2xx(a.status) && a.status != clean_status) {
                /* Deferred (a poll answering 202 "still running"): nothing may have changed. */
                deferred++;
                char *after = snapshot(app, &files_after);
                if (strcmp(before, after) != 0 || files_before != files_after)
                    fail_msg("%s: %s %ld answered %d (not %d) but changed the state", sc->name,
                             kind_names[kind], n, a.status, clean_status);
                free(after);
            } else if (ok2xx(a.status) && a.body && strstr(a.body, "\"status\":\"Failed\"") &&
                       !strstr(clean_body, "\"status\":\"Failed\"")) {
                /* An operation that failed cleanly: its status says so, and nothing but the
                 * operation's own record changed. */
                job_failed++;
                char *after = snapshot_without(app, &files_after, "operations");
                if (strcmp(before_nops, after) != 0 && getenv("FAULTSIM_DUMP")) {
                    FILE *f = fopen("/tmp/faultsim-before.json", "w");
                    fputs(before_nops, f);
                    fclose(f);
                    f = fopen("/tmp/faultsim-after.json", "w");
                    fputs(after, f);
                    fclose(f);
                }
                /* A content file the rolled-back job wrote may stay behind unreferenced: files
                 * no row names are removed at the next start (blob/service.c), so only the
                 * store is compared here. */
                if (strcmp(before_nops, after) != 0)
                    fail_msg("%s: %s %ld: the operation failed but changed more than its record",
                             sc->name, kind_names[kind], n);
                free(after);
            } else if (ok2xx(a.status)) {
                /* Absorbed: fine if the answer is whole. */
                char *shape = skeleton_of(a.body);
                if (!sc->is_blob && strcmp(shape, clean_shape) != 0)
                    fail_msg("%s: %s %ld answered %d with members missing: %.300s", sc->name,
                             kind_names[kind], n, a.status, a.body ? a.body : "");
                free(shape);
                absorbed++;
            } else if (a.status >= 500 && a.status < 600 && clean_error(sc, a.body) &&
                       commits > 0) {
                /* Failed after its one transaction committed (rendering the answer): the change
                 * is whole, and the client's retry of the same request converges. */
                late++;
                if (commits != 1)
                    fail_msg("%s: %s %ld: %ld transactions committed", sc->name, kind_names[kind],
                             n, commits);
            } else if (a.status >= 500 && a.status < 600 && clean_error(sc, a.body)) {
                failed++;
                char *after = snapshot(app, &files_after);
                if ((strcmp(before, after) != 0 || files_before != files_after) &&
                    getenv("FAULTSIM_DUMP")) {
                    FILE *f = fopen("/tmp/faultsim-before.json", "w");
                    fputs(before, f);
                    fclose(f);
                    f = fopen("/tmp/faultsim-after.json", "w");
                    fputs(after, f);
                    fclose(f);
                }
                if (strcmp(before, after) != 0 || files_before != files_after)
                    fail_msg("%s: %s %ld failed with %d but changed the state (files %ld -> %ld)",
                             sc->name, kind_names[kind], n, a.status, files_before, files_after);
                free(after);
            } else {
                fail_msg("%s: %s %ld answered %d: %.300s", sc->name, kind_names[kind], n, a.status,
                         a.body ? a.body : "(no body)");
            }
            free(before);
            free(before_nops);
            answer_clear(&a);
            if (sc->finish)
                sc->finish(app);
        }
        free(clean_shape);
        printf("faultsim %s: %s N=1..%ld: %ld clean 5xx with the state unchanged, %ld 5xx "
               "after the commit, %ld deferred (2xx, unchanged), %ld operation Failed "
               "cleanly, %ld absorbed (2xx, whole)\n",
               sc->name, kind_names[kind], n - 1, failed, late, deferred, job_failed, absorbed);
    }
}

static void test_cluster_put(void **state)
{
    run_scenario(*state, &scenarios[0]);
}
static void test_role_assignment_put(void **state)
{
    run_scenario(*state, &scenarios[1]);
}
static void test_put_blob(void **state)
{
    run_scenario(*state, &scenarios[2]);
}
static void test_backup_post(void **state)
{
    run_scenario(*state, &scenarios[3]);
}
static void test_backup_job(void **state)
{
    run_scenario(*state, &scenarios[4]);
}

static int setup(void **state)
{
    *state = open_app();
    return 0;
}

static int teardown(void **state)
{
    chsm_app_close(*state);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cluster_put, setup, teardown),
        cmocka_unit_test_setup_teardown(test_role_assignment_put, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_blob, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backup_post, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backup_job, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* qa.c - the QA control surface under /_emulator/: fault rules, the request
 * journal, operations driven by hand, the clock, reset, state export/import
 * and snapshots. Documented with worked examples in docs/qa.md.
 *
 * It is served only when the ARM listener is on a loopback address (unless
 * --no-control, when never); with --strict-auth it also needs a bearer token
 * issued to the client id "emulator-admin". */
#include "providers/provider.h"

#include "app/app.h"
#include "app/files.h"
#include "arm/errors.h"
#include "arm/lro.h"
#include "arm/read_cache.h"
#include "arm/resource.h"
#include "arm/timing.h"
#include "control/access.h"
#include "control/faults.h"
#include "control/fixtures.h"
#include "control/journal.h"
#include "store/admin.h"
#include "util/json.h"
#include "util/status.h"
#include "util/text.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define QA_MAX_LIST 1000

/* control_allowed answers and returns 0 when the control surface is off or
 * the caller may not use it (control/access.h, shared with the inventory and
 * the dashboard). */
static int control_allowed(chsm_request *req, chsm_response *res)
{
    return chsm_control_allowed(req, res);
}

static void store_error(chsm_response *res, int rc)
{
    chsm_arm_error(res, 500, "InternalServerError", "The state store failed: %s.",
                   chsm_status_str(rc));
}

/* ---- fault rules ---- */

static void add_fault(chsm_request *req, chsm_response *res)
{
    if (!control_allowed(req, res))
        return;
    cJSON *rule = chsm_arm_body_object(req, res, 1);
    if (!rule)
        return;
    cJSON *out = NULL;
    char err[300];
    int rc = chsm_faults_add(req->app->faults, rule, &out, err, sizeof err);
    cJSON_Delete(rule);
    if (rc == CHSM_EEXISTS)
        chsm_arm_error(res, 409, "Conflict", "%s", err);
    else if (rc != CHSM_OK)
        chsm_arm_error(res, 400, "InvalidFaultRule", "%s", err);
    else
        chsm_arm_json(res, 201, out);
}

static void list_faults(chsm_request *req, chsm_response *res)
{
    if (control_allowed(req, res))
        chsm_arm_json(res, 200, chsm_faults_list(req->app->faults));
}

static void get_fault(chsm_request *req, chsm_response *res)
{
    if (!control_allowed(req, res))
        return;
    const char *id = chsm_request_param(req, "id");
    cJSON *j = chsm_faults_get(req->app->faults, id);
    if (j)
        chsm_arm_json(res, 200, j);
    else
        chsm_arm_error(res, 404, "NotFound", "No fault rule '%.64s'.", id);
}

static void delete_fault(chsm_request *req, chsm_response *res)
{
    if (!control_allowed(req, res))
        return;
    const char *id = chsm_request_param(req, "id");
    if (chsm_faults_delete(req->app->faults, id) == CHSM_OK)
        chsm_arm_json(res, 204, NULL);
    else
        chsm_arm_error(res, 404, "NotFound", "No fault rule '%.64s'.", id);
}

static void delete_faults(chsm_request *req, chsm_response *res)
{
    if (!control_allowed(req, res))
        return;
    chsm_faults_clear(req->app->faults);
    chsm_arm_json(res, 204, NULL);
}

static void release_fault(chsm_request *req, chsm_response *res)
{
    if (!control_allowed(req, res))
        return;
    int count = 0;
    int rc = chsm_lro_release_rule(req->app, chsm_request_param(req, "id"), &count);
    if (rc != CHSM_OK) {
        store_error(res, rc);
        return;
    }
    cJSON *b = cJSON_CreateObject();
    cJSON_AddNumberToObject(b, "released", count);
    chsm_arm_json(res, 200, b);
}

/* ---- journal ---- */

static void list_requests(chsm_request *req, chsm_response *res)
{
    if (!control_allowed(req, res))
        return;
    const char *l = chsm_request_query(req, "limit");
    int limit = l ? atoi(l) : 100;
    if (limit < 1 || limit > QA_MAX_LIST) {
        chsm_arm_error(res, 400, "InvalidParameter", "limit must be 1 to %d.", QA_MAX_LIST);
        return;
    }
    chsm_arm_json(res, 200, chsm_journal_list(req->app->journal, limit));
}

/* ---- operations ---- */

static cJSON *op_json(const chsm_op *op)
{
    cJSON *o = cJSON_CreateObject();
    char ts[40];
    cJSON_AddStringToObject(o, "id", op->id);
    cJSON_AddStringToObject(o, "kind", op->kind);
    if (op->resource_id)
        cJSON_AddStringToObject(o, "resourceId", op->resource_id);
    cJSON_AddStringToObject(o, "status", op->status);
    cJSON_AddNumberToObject(o, "percentComplete", op->percent);
    if (op->progress_details)
        cJSON_AddStringToObject(o, "statusDetails", op->progress_details);
    chsm_format_time(op->start_ms, ts, sizeof ts);
    cJSON_AddStringToObject(o, "startTime", ts);
    if (op->end_ms) {
        chsm_format_time(op->end_ms, ts, sizeof ts);
        cJSON_AddStringToObject(o, "endTime", ts);
        cJSON_AddNumberToObject(o, "durationMs", (double)(op->end_ms - op->start_ms));
    }
    if (op->error_code) {
        cJSON *e = cJSON_AddObjectToObject(o, "error");
        cJSON_AddStringToObject(e, "code", op->error_code);
        cJSON_AddStringToObject(e, "message", op->error_message ? op->error_message : "");
    }
    if (op->fault)
        cJSON_AddItemToObject(o, "fault", cJSON_Duplicate(op->fault, 1));
    return o;
}

static void list_operations(chsm_request *req, chsm_response *res)
{
    if (!control_allowed(req, res))
        return;
    chsm_op *ops = NULL;
    size_t n = 0;
    int rc = chsm_ops_list(req->app->store, QA_MAX_LIST, &ops, &n);
    cJSON *arr = cJSON_CreateArray();
    int64_t now = chsm_now_ms();
    for (size_t i = 0; i < n; i++) {
        chsm_lro_progress(req->app, &ops[i], now);
        cJSON_AddItemToArray(arr, op_json(&ops[i]));
        chsm_op_clear(&ops[i]);
    }
    free(ops);
    if (rc != CHSM_OK) {
        cJSON_Delete(arr);
        store_error(res, rc);
        return;
    }
    chsm_arm_json(res, 200, chsm_arm_list_body(arr, NULL));
}

static void get_operation(chsm_request *req, chsm_response *res)
{
    if (!control_allowed(req, res))
        return;
    chsm_op op;
    const char *id = chsm_request_param(req, "id");
    int rc = chsm_lro_get(req->app, id, &op);
    if (rc == CHSM_ENOTFOUND) {
        chsm_arm_error(res, 404, "OperationNotFound", "No operation '%.64s'.", id);
        return;
    }
    if (rc != CHSM_OK) {
        store_error(res, rc);
        return;
    }
    chsm_arm_json(res, 200, op_json(&op));
    chsm_op_clear(&op);
}

/* ---- operation timing ---- */

static void list_timing(chsm_request *req, chsm_response *res)
{
    if (control_allowed(req, res))
        chsm_arm_json(res, 200, chsm_arm_list_body(chsm_timing_to_json(req->app->timing), NULL));
}

/* POST /_emulator/timing: {"kind","durationMs"|"duration","steps"?,
 * "statusDetails"?} adds or replaces the rule of one kind. */
static void set_timing(chsm_request *req, chsm_response *res)
{
    if (!control_allowed(req, res))
        return;
    cJSON *rule = chsm_arm_body_object(req, res, 1);
    if (!rule)
        return;
    char err[300];
    int rc = chsm_timing_set(req->app->timing, rule, err, sizeof err);
    cJSON_Delete(rule);
    if (rc == CHSM_ENOMEM)
        store_error(res, rc);
    else if (rc != CHSM_OK)
        chsm_arm_error(res, 400, "InvalidTimingRule", "%s", err);
    else
        chsm_arm_json(res, 200, chsm_arm_list_body(chsm_timing_to_json(req->app->timing), NULL));
}

/* DELETE /_emulator/timing[?kind=K]: drops one kind's rule, or without kind
 * goes back to the rules given at start (--op-duration). */
static void delete_timing(chsm_request *req, chsm_response *res)
{
    if (!control_allowed(req, res))
        return;
    const char *kind = chsm_request_query(req, "kind");
    if (!kind) {
        chsm_timing_reset(req->app->timing);
    } else if (chsm_timing_delete(req->app->timing, kind) != CHSM_OK) {
        chsm_arm_error(res, 404, "TimingRuleNotFound", "No timing rule for the kind '%.64s'.",
                       kind);
        return;
    }
    chsm_arm_json(res, 200, chsm_arm_list_body(chsm_timing_to_json(req->app->timing), NULL));
}

static void answer_operation_change(chsm_request *req, chsm_response *res, int rc)
{
    const char *id = chsm_request_param(req, "id");
    if (rc == CHSM_ENOTFOUND)
        chsm_arm_error(res, 404, "OperationNotFound", "No operation '%.64s'.", id);
    else if (rc == CHSM_ECONFLICT)
        chsm_arm_error(res, 409, "OperationNotRunning", "The operation '%.64s' has already ended.",
                       id);
    else if (rc != CHSM_OK)
        store_error(res, rc);
    else
        get_operation(req, res);
}

static void complete_operation(chsm_request *req, chsm_response *res)
{
    if (!control_allowed(req, res))
        return;
    answer_operation_change(req, res, chsm_lro_release(req->app, chsm_request_param(req, "id")));
}

static void fail_operation(chsm_request *req, chsm_response *res)
{
    if (!control_allowed(req, res))
        return;
    cJSON *body = chsm_arm_body_object(req, res, 0);
    if (!body)
        return;
    const char *code = chsm_json_str(body, "code");
    const char *message = chsm_json_str(body, "message");
    int rc =
        chsm_lro_force_fail(req->app, chsm_request_param(req, "id"), code ? code : "InternalError",
                            message ? message : "The operation was failed by QA control.");
    cJSON_Delete(body);
    answer_operation_change(req, res, rc);
}

/* ---- clock ---- */

static void clock_json(chsm_response *res, int status)
{
    int64_t offset;
    int frozen;
    chsm_clock_state(&offset, &frozen);
    char now[40];
    chsm_format_time(chsm_now_ms(), now, sizeof now);
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "now", now);
    cJSON_AddNumberToObject(b, "offsetSeconds", (double)offset / 1000.0);
    cJSON_AddBoolToObject(b, "frozen", frozen);
    chsm_arm_json(res, status, b);
}

static void get_clock(chsm_request *req, chsm_response *res)
{
    if (control_allowed(req, res))
        clock_json(res, 200);
}

/* parse_rfc3339 reads "YYYY-MM-DDTHH:MM:SS[.fff]Z" into ms since the epoch. */
static int parse_rfc3339(const char *s, int64_t *ms)
{
    int y, mo, d, h, mi, sec;
    char rest[16] = "";
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%15s", &y, &mo, &d, &h, &mi, &sec, rest) < 6)
        return CHSM_EINVAL;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 || y < 1970)
        return CHSM_EINVAL;
    /* days from civil (proleptic Gregorian), as in Howard Hinnant's algorithm */
    int yy = y - (mo <= 2);
    int era = yy / 400;
    int yoe = yy - era * 400;
    int doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = (int64_t)era * 146097 + doe - 719468;
    *ms = ((days * 24 + h) * 60 + mi) * 60000 + (int64_t)sec * 1000;
    return CHSM_OK;
}

/* The last instant the clock may show (9999-12-31T23:59:59.999Z): what RFC 3339 can write. */
#define CLOCK_MAX_MS 253402300799999.0

/* clock_target_ok tells whether the request moves the clock within 1970..9999,
 * computed in doubles the way set_clock applies it: so the conversions to
 * milliseconds below cannot overflow, whatever number the body holds. */
static int clock_target_ok(const int64_t *at, const cJSON *offset, const cJSON *advance)
{
    int64_t off;
    int frozen;
    chsm_clock_state(&off, &frozen);
    double now = (double)chsm_now_ms();
    double t = at ? (double)*at : now;
    if (offset)
        t = now - (double)off + offset->valuedouble * 1000.0;
    if (advance)
        t += advance->valuedouble * 1000.0;
    return t >= 0 && t <= CLOCK_MAX_MS;
}

static void set_clock(chsm_request *req, chsm_response *res)
{
    if (!control_allowed(req, res))
        return;
    cJSON *b = chsm_arm_body_object(req, res, 1);
    if (!b)
        return;
    const cJSON *offset = cJSON_GetObjectItem(b, "offsetSeconds");
    const cJSON *advance = cJSON_GetObjectItem(b, "advanceSeconds");
    const char *now = chsm_json_str(b, "now");
    const cJSON *frozen = cJSON_GetObjectItem(b, "frozen");
    int64_t at = 0;
    if (now && parse_rfc3339(now, &at) != CHSM_OK) {
        chsm_arm_error_target(res, 400, "InvalidParameter", "now",
                              "'now' must be an RFC 3339 UTC time such as 2026-01-01T00:00:00Z.");
    } else if ((offset && !cJSON_IsNumber(offset)) || (advance && !cJSON_IsNumber(advance)) ||
               (frozen && !cJSON_IsBool(frozen)) || (!offset && !advance && !now && !frozen)) {
        chsm_arm_error(res, 400, "InvalidParameter",
                       "Give one of offsetSeconds (number), advanceSeconds (number), now (RFC "
                       "3339) and optionally frozen (boolean).");
    } else if (!clock_target_ok(now ? &at : NULL, offset, advance)) {
        chsm_arm_error(res, 400, "InvalidParameter",
                       "The clock can only be moved to a time between 1970 and the end of 9999.");
    } else {
        if (now)
            chsm_clock_freeze(at);
        if (offset)
            chsm_clock_set_offset((int64_t)(offset->valuedouble * 1000));
        if (advance)
            chsm_clock_advance((int64_t)(advance->valuedouble * 1000));
        if (frozen && cJSON_IsTrue(frozen) && !now)
            chsm_clock_freeze(chsm_now_ms());
        else if (frozen && cJSON_IsFalse(frozen)) {
            int64_t off;
            int fz;
            chsm_clock_state(&off, &fz);
            chsm_clock_set_offset(off);
        }
        if (req->app->lro)
            chsm_lro_wake(req->app->lro);
        clock_json(res, 200);
    }
    cJSON_Delete(b);
}

/* ---- reset, state, snapshots ---- */

static int run_hooks_reset(chsm_app *app)
{
    for (int i = 0; i < app->nstate_hooks; i++)
        if (app->state_hooks[i]->reset && app->state_hooks[i]->reset(app) != CHSM_OK)
            return CHSM_EIO;
    return CHSM_OK;
}

static void reset(chsm_request *req, chsm_response *res)
{
    if (!control_allowed(req, res))
        return;
    chsm_app *app = req->app;
    int rc = chsm_store_reset(app->store);
    chsm_read_cache_invalidate(app->read_cache);
    if (rc == CHSM_OK)
        rc = run_hooks_reset(app);
    const char *keep = chsm_request_query(req, "keepFaults");
    if (!keep || !chsm_streq_ci(keep, "true"))
        chsm_faults_clear(app->faults);
    const char *keep_timing = chsm_request_query(req, "keepTiming");
    if (!keep_timing || !chsm_streq_ci(keep_timing, "true"))
        chsm_timing_reset(app->timing);
    chsm_journal_clear(app->journal);
    if (rc != CHSM_OK)
        store_error(res, rc);
    else
        chsm_arm_json(res, 204, NULL);
}

static void export_state(chsm_request *req, chsm_response *res)
{
    if (!control_allowed(req, res))
        return;
    const char *km = chsm_request_query(req, "includeKeyMaterial");
    cJSON *state = chsm_store_export(req->app->store, km && chsm_streq_ci(km, "true"));
    if (!state)
        store_error(res, CHSM_EIO);
    else
        chsm_arm_json(res, 200, state);
}

static void import_state(chsm_request *req, chsm_response *res)
{
    if (!control_allowed(req, res))
        return;
    cJSON *state = chsm_arm_body_object(req, res, 1);
    if (!state)
        return;
    char err[512];
    int rc = chsm_store_import(req->app->store, state, err, sizeof err);
    cJSON_Delete(state);
    if (rc == CHSM_EINVAL)
        chsm_arm_error(res, 400, "InvalidState", "%s", err);
    else if (rc != CHSM_OK)
        store_error(res, rc);
    else
        chsm_arm_json(res, 204, NULL);
}

static int valid_snapshot_name(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n < 1 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)name[i]) && name[i] != '-' && name[i] != '_')
            return 0;
    return 1;
}

static int snapshot_dir(chsm_request *req, chsm_response *res, char *dir, size_t dirlen)
{
    const char *name = chsm_request_param(req, "name");
    if (!valid_snapshot_name(name)) {
        chsm_arm_error_target(res, 400, "InvalidSnapshotName", "name",
                              "Snapshot names are 1-64 letters, digits, '-' and '_'.");
        return 0;
    }
    snprintf(dir, dirlen, "%s/snapshots/%s", req->app->data_dir, name);
    return 1;
}

static void save_snapshot(chsm_request *req, chsm_response *res)
{
    if (!control_allowed(req, res))
        return;
    char dir[1400], db[1500];
    if (!snapshot_dir(req, res, dir, sizeof dir))
        return;
    chsm_app *app = req->app;
    chsm_remove_tree(dir);
    int rc = chsm_mkdirs(dir);
    snprintf(db, sizeof db, "%s/state.db", dir);
    if (rc == CHSM_OK)
        rc = chsm_store_snapshot_save(app->store, db);
    for (int i = 0; rc == CHSM_OK && i < app->nstate_hooks; i++)
        if (app->state_hooks[i]->snapshot_save)
            rc = app->state_hooks[i]->snapshot_save(app, dir);
    if (rc != CHSM_OK) {
        chsm_remove_tree(dir);
        store_error(res, rc);
        return;
    }
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "name", chsm_request_param(req, "name"));
    char ts[40];
    chsm_format_time(chsm_now_ms(), ts, sizeof ts);
    cJSON_AddStringToObject(b, "createdAt", ts);
    chsm_arm_json(res, 201, b);
}

static void restore_snapshot(chsm_request *req, chsm_response *res)
{
    if (!control_allowed(req, res))
        return;
    char dir[1400], db[1500];
    if (!snapshot_dir(req, res, dir, sizeof dir))
        return;
    struct stat st;
    snprintf(db, sizeof db, "%s/state.db", dir);
    if (stat(db, &st) != 0) {
        chsm_arm_error(res, 404, "SnapshotNotFound", "No snapshot named '%s'.",
                       chsm_request_param(req, "name"));
        return;
    }
    chsm_app *app = req->app;
    int rc = chsm_store_snapshot_restore(app->store, db);
    chsm_read_cache_invalidate(app->read_cache); /* a restore moves no row counter */
    for (int i = 0; rc == CHSM_OK && i < app->nstate_hooks; i++)
        if (app->state_hooks[i]->snapshot_restore)
            rc = app->state_hooks[i]->snapshot_restore(app, dir);
    if (rc != CHSM_OK)
        store_error(res, rc);
    else
        chsm_arm_json(res, 204, NULL);
}

static void delete_snapshot(chsm_request *req, chsm_response *res)
{
    if (!control_allowed(req, res))
        return;
    char dir[1400];
    if (!snapshot_dir(req, res, dir, sizeof dir))
        return;
    struct stat st;
    if (stat(dir, &st) != 0) {
        chsm_arm_error(res, 404, "SnapshotNotFound", "No snapshot named '%s'.",
                       chsm_request_param(req, "name"));
        return;
    }
    chsm_arm_json(res, chsm_remove_tree(dir) == CHSM_OK ? 204 : 500, NULL);
}

static void list_snapshots(chsm_request *req, chsm_response *res)
{
    if (!control_allowed(req, res))
        return;
    char dir[1200];
    snprintf(dir, sizeof dir, "%s/snapshots", req->app->data_dir);
    char **names = NULL;
    size_t n = 0;
    chsm_list_dir(dir, &names, &n);
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", names[i]);
        cJSON_AddItemToArray(arr, o);
        free(names[i]);
    }
    free(names);
    chsm_arm_json(res, 200, chsm_arm_list_body(arr, NULL));
}

/* ---- fixtures ---- */

static void list_fixtures(chsm_request *req, chsm_response *res)
{
    if (!control_allowed(req, res))
        return;
    cJSON *arr = cJSON_CreateArray();
    for (const char *const *n = chsm_fixture_builtin_names(); *n; n++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", *n);
        cJSON *doc = cJSON_Parse(chsm_fixture_builtin(*n));
        const char *desc = chsm_json_str(doc, "description");
        if (desc)
            cJSON_AddStringToObject(o, "description", desc);
        cJSON_Delete(doc);
        cJSON_AddItemToArray(arr, o);
    }
    chsm_arm_json(res, 200, chsm_arm_list_body(arr, NULL));
}

/* POST /_emulator/fixtures: {"name":"tutorial-ready"} loads a built-in
 * fixture; any other body is a fixture document itself. */
static void load_fixture(chsm_request *req, chsm_response *res)
{
    if (!control_allowed(req, res))
        return;
    cJSON *body = chsm_arm_body_object(req, res, 1);
    if (!body)
        return;
    char err[1024];
    int rc;
    const char *name = chsm_json_str(body, "name");
    if (name && !cJSON_GetObjectItem(body, "steps")) {
        const char *text = chsm_fixture_builtin(name);
        if (!text) {
            chsm_arm_error_target(res, 404, "FixtureNotFound", "name",
                                  "There is no built-in fixture named '%.100s' (GET "
                                  "/_emulator/fixtures lists them).",
                                  name);
            cJSON_Delete(body);
            return;
        }
        rc = chsm_fixture_apply_text(req->app, text, strlen(text), err, sizeof err);
    } else {
        rc = chsm_fixture_apply(req->app, body, err, sizeof err);
    }
    cJSON_Delete(body);
    if (rc == CHSM_EINVAL)
        chsm_arm_error(res, 400, "InvalidFixture", "%s", err);
    else if (rc != CHSM_OK)
        chsm_arm_error(res, 500, "InternalServerError", "The fixture could not be applied: %s",
                       err);
    else
        chsm_arm_json(res, 204, NULL);
}

#define CONTROL (CHSM_ROUTE_PUBLIC | CHSM_ROUTE_NO_API_VERSION)

static const chsm_route routes[] = {
    {"POST", "/_emulator/faults", add_fault, "emulator/faults", NULL, CONTROL},
    {"GET", "/_emulator/faults", list_faults, "emulator/faults", NULL, CONTROL},
    {"DELETE", "/_emulator/faults", delete_faults, "emulator/faults", NULL, CONTROL},
    {"GET", "/_emulator/faults/{id}", get_fault, "emulator/faults", NULL, CONTROL},
    {"DELETE", "/_emulator/faults/{id}", delete_fault, "emulator/faults", NULL, CONTROL},
    {"POST", "/_emulator/faults/{id}/release", release_fault, "emulator/faults", NULL, CONTROL},
    {"GET", "/_emulator/requests", list_requests, "emulator/requests", NULL, CONTROL},
    {"GET", "/_emulator/operations", list_operations, "emulator/operations", NULL, CONTROL},
    {"GET", "/_emulator/operations/{id}", get_operation, "emulator/operations", NULL, CONTROL},
    {"POST", "/_emulator/operations/{id}/complete", complete_operation, "emulator/operations", NULL,
     CONTROL},
    {"POST", "/_emulator/operations/{id}/fail", fail_operation, "emulator/operations", NULL,
     CONTROL},
    {"GET", "/_emulator/timing", list_timing, "emulator/timing", NULL, CONTROL},
    {"POST", "/_emulator/timing", set_timing, "emulator/timing", NULL, CONTROL},
    {"DELETE", "/_emulator/timing", delete_timing, "emulator/timing", NULL, CONTROL},
    {"GET", "/_emulator/clock", get_clock, "emulator/clock", NULL, CONTROL},
    {"POST", "/_emulator/clock", set_clock, "emulator/clock", NULL, CONTROL},
    {"POST", "/_emulator/reset", reset, "emulator/reset", NULL, CONTROL},
    {"GET", "/_emulator/state", export_state, "emulator/state", NULL, CONTROL},
    {"PUT", "/_emulator/state", import_state, "emulator/state", NULL, CONTROL},
    {"GET", "/_emulator/fixtures", list_fixtures, "emulator/fixtures", NULL, CONTROL},
    {"POST", "/_emulator/fixtures", load_fixture, "emulator/fixtures", NULL, CONTROL},
    {"GET", "/_emulator/snapshots", list_snapshots, "emulator/snapshots", NULL, CONTROL},
    {"POST", "/_emulator/snapshots/{name}", save_snapshot, "emulator/snapshots", NULL, CONTROL},
    {"DELETE", "/_emulator/snapshots/{name}", delete_snapshot, "emulator/snapshots", NULL, CONTROL},
    {"POST", "/_emulator/snapshots/{name}/restore", restore_snapshot, "emulator/snapshots", NULL,
     CONTROL},
};

const chsm_provider chsm_provider_qa = {"emulator QA controls", routes, CHSM_COUNT(routes), NULL};

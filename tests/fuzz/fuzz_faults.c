/* fuzz_faults.c - control/faults.h: fault rule validation (the JSON of
 * POST /_emulator/faults and of --faults files), the stored rules' JSON,
 * matching with globs, nth/count/probability, and node-down lookups.
 *
 * Input: JSON text, as a --faults file holds it: one rule, an array of rules
 * or {"rules":[...]}. Each rule is added to a fresh rule set; then every
 * stored rule is listed, fetched by id and matched against fixed requests
 * and against its own operation and resource strings. Nothing sleeps here:
 * latency is applied by chsm_faults_on_request, which this harness does not
 * call. Checks: a refused rule always says why, a stored rule can be fetched
 * and deleted by its id, and a glob without wildcards matches itself. */
#include "harness.h"

#include "control/faults.h"
#include "util/json.h"
#include "util/status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_INPUT (256 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_faults: %s\n", what);
        abort();
    }
}

static void add_rule(chsm_faults *f, const cJSON *rule)
{
    char err[512];
    err[0] = '\0';
    cJSON *stored = NULL;
    int rc = chsm_faults_add(f, rule, &stored, err, sizeof err);
    if (rc != CHSM_OK) {
        check(!stored, "a refused rule was returned");
        check(rc != CHSM_EINVAL || err[0], "a refused rule gave no reason");
        return;
    }
    const char *id = chsm_json_str(stored, "id");
    check(id && *id, "a stored rule has no id");
    cJSON *again = chsm_faults_get(f, id);
    check(again != NULL, "a stored rule cannot be fetched by its id");
    cJSON_Delete(again);
    cJSON_Delete(stored);
}

/* match_all runs the matchers over fixed requests and each rule's own strings. */
static void match_all(chsm_faults *f)
{
    static const char *const ops[][3] = {
        {"resourceGroups/read", "GET", "/subscriptions/s/resourcegroups/rg"},
        {"cloudHsmClusters/backup", "POST",
         "/subscriptions/s/resourceGroups/rg/providers/"
         "Microsoft.HardwareSecurityModules/cloudHsmClusters/c"},
        {"blob/PutBlob", "PUT", "/devstoreaccount1/backups/b1"},
        {"hsm/keys/sign", "POST", "/hsm/c-0123456789abcdef/keys/1/sign"},
        {"", NULL, NULL},
    };
    chsm_fault_hit hit;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        chsm_faults_match(f, ops[i][0], ops[i][1], ops[i][2], ~0u, &hit);
    cJSON *list = chsm_faults_list(f);
    const cJSON *rules = cJSON_GetObjectItem(list, "value");
    check(cJSON_IsArray(rules), "the rule list has no value array");
    const cJSON *r;
    cJSON_ArrayForEach(r, rules)
    {
        const char *op = chsm_json_str(r, "operation");
        const char *res = chsm_json_str(r, "resource");
        const char *method = chsm_json_str(r, "method");
        if (op && res)
            chsm_faults_match(f, op, method, res, ~0u, &hit);
        if (op && !strpbrk(op, "*?"))
            check(chsm_faults_glob(op, op), "a glob without wildcards does not match itself");
        if (res) {
            char rule_id[64];
            chsm_faults_node_down(f, res, 1, rule_id, sizeof rule_id);
            chsm_faults_node_down(f, res, 3, rule_id, sizeof rule_id);
        }
    }
    cJSON_ArrayForEach(r, rules)
    {
        const char *id = chsm_json_str(r, "id");
        check(id && chsm_faults_delete(f, id) == CHSM_OK, "a listed rule cannot be deleted");
    }
    cJSON_Delete(list);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_INPUT)
        return 0;
    char perr[160];
    cJSON *root = chsm_json_parse((const char *)data, size, perr, sizeof perr);
    if (!root)
        return 0;
    chsm_faults *f = chsm_faults_new();
    check(f != NULL, "no memory for a rule set");
    const cJSON *rules = cJSON_IsArray(root) ? root : cJSON_GetObjectItem(root, "rules");
    if (cJSON_IsArray(rules)) {
        const cJSON *r;
        cJSON_ArrayForEach(r, rules) add_rule(f, r);
    } else {
        add_rule(f, root);
    }
    match_all(f);
    chsm_faults_free(f);
    cJSON_Delete(root);
    return 0;
}

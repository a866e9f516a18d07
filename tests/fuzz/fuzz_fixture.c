/* fuzz_fixture.c - control/fixtures.h: fixture documents (format, version,
 * variables, steps with {var} expansion, expect, save, HSM sessions) replayed
 * through the request path inside one transaction.
 *
 * Input: the fixture's JSON text. Beyond "no crash, no leak", the harness
 * checks the fixture contract: when applying fails, the store is exactly as
 * before (compared through chsm_store_export). The state is emptied every
 * RESET_EVERY inputs; seeds are the built-in fixtures and small variations. */
#include "harness.h"

#include "control/fixtures.h"
#include "store/admin.h"
#include "util/status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RESET_EVERY 500
/* Larger fixtures only repeat steps; keep the time per input bounded. */
#define MAX_INPUT (64 * 1024)

static chsm_app *app;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    app = fuzz_app_open();
    return 0;
}

/* state_text returns the whole store as JSON text (caller frees). */
static char *state_text(void)
{
    cJSON *state = chsm_store_export(app->store, 1);
    char *text = state ? cJSON_PrintUnformatted(state) : NULL;
    cJSON_Delete(state);
    if (!text) {
        fprintf(stderr, "fuzz_fixture: cannot export the state\n");
        abort();
    }
    return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static unsigned long runs;
    if (size > MAX_INPUT)
        return 0;
    char err[1024];
    cJSON *doc = cJSON_ParseWithLength((const char *)data, size);
    if (!doc) {
        /* Not JSON: only the parser and its error message run. */
        if (chsm_fixture_apply_text(app, (const char *)data, size, err, sizeof err) == CHSM_OK) {
            fprintf(stderr, "fuzz_fixture: text cJSON refuses was applied\n");
            abort();
        }
        return 0;
    }
    cJSON_Delete(doc);
    char *before = state_text();
    err[0] = '\0';
    int rc = chsm_fixture_apply_text(app, (const char *)data, size, err, sizeof err);
    if (rc != CHSM_OK) {
        char *after = state_text();
        if (strcmp(before, after) != 0) {
            fprintf(stderr, "fuzz_fixture: a failed fixture (%s) changed the state\n", err);
            abort();
        }
        if (!err[0]) {
            fprintf(stderr, "fuzz_fixture: a failed fixture gave no reason\n");
            abort();
        }
        free(after);
    }
    free(before);
    fuzz_after_input(app);
    if (++runs % RESET_EVERY == 0)
        fuzz_reset(app);
    return 0;
}

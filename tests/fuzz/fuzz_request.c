/* fuzz_request.c - whole ARM requests through chsm_app_dispatch: the router
 * (templates, captures, case-insensitive literals, 404/405), percent-decoding
 * of path segments and query parameters, api-version and bearer-token checks,
 * and the JSON body parser and validation of every registered provider and
 * of the /_emulator/ controls.
 *
 * Input: METHOD SP TARGET LF (Name ":" value LF)* LF body (see harness.h);
 * seeds are requests from the tutorial and the e2e tests. Every input runs
 * against one in-memory emulator; the state is emptied every RESET_EVERY
 * inputs so the database stays small, and fault rules or a moved clock never
 * outlive the input that made them. */
#include "harness.h"

#include <stddef.h>
#include <stdint.h>

#define RESET_EVERY 2000

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static unsigned long runs;
    fuzz_send_raw(app, CHSM_LISTENER_ARM, data, size, NULL);
    fuzz_after_input(app);
    if (++runs % RESET_EVERY == 0)
        fuzz_reset(app);
    return 0;
}

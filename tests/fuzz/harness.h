/* harness.h - what the libFuzzer harnesses in tests/fuzz/ share: one
 * in-memory emulator per process and in-process requests built from bytes.
 *
 * Nothing here is part of the emulator; it is linked into each fuzz_<name>
 * executable only (CMake option CHSM_FUZZ). */
#ifndef CHSM_FUZZ_HARNESS_H
#define CHSM_FUZZ_HARNESS_H

#include "app/app.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

/* fuzz_app_open returns a new app with in-memory state, seeded ids, quiet
 * logging and no background worker; aborts the process when it cannot
 * (a harness without its app is useless). Caller closes with chsm_app_close. */
chsm_app *fuzz_app_open(void);

/* With CHSM_FUZZ_VERBOSE set, fuzz_send prints each status, request line
 * and the start of the answer on stderr (for checking seeds). */

/* fuzz_send dispatches one in-process request to the ARM listener, as the
 * server would: method, url ("/path?query"), headers as "Name: value"
 * strings (NULL-terminated, may be NULL), body (may be NULL). Returns the
 * status (0 when the url is malformed: the server answers 400 before any
 * handler) and, when json is not NULL, the parsed response body (caller
 * frees, NULL if none). */
int fuzz_send(chsm_app *app, const char *method, const char *url, const char *const *headers,
              const void *body, size_t body_len, cJSON **json);

/* fuzz_send_raw dispatches a request described by raw bytes:
 *   METHOD SP TARGET LF (Name ":" value LF)* LF body
 * (CR before LF is dropped; a missing blank line means no body). Paths not
 * starting with prefix (NULL: any) are rewritten to prefix + path, so a
 * harness can keep the fuzzer under one part of the URL space. Returns the
 * status, 0 when the input is not a request. */
int fuzz_send_raw(chsm_app *app, const uint8_t *data, size_t size, const char *prefix);

/* fuzz_after_input undoes the process-wide effects one input may leave
 * (fault rules, a moved clock) so later inputs run alike. */
void fuzz_after_input(chsm_app *app);

/* fuzz_reset empties the store (and what QA snapshots wrote) to keep the
 * database small; aborts on failure. */
void fuzz_reset(chsm_app *app);

#endif

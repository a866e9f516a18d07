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

/* When set, fuzz_send calls this on each request just before dispatching it
 * (a harness that signs requests sets it). */
extern void (*fuzz_prepare_hook)(chsm_request *req);

/* fuzz_send dispatches one in-process request to listener (enum
 * chsm_listener_kind), as the server would: method, url ("/path?query"), headers as "Name: value"
 * strings (NULL-terminated, may be NULL), body (may be NULL). Returns the
 * status (0 when the url is malformed: the server answers 400 before any
 * handler) and, when json is not NULL, the parsed response body (caller
 * frees, NULL if none). */
int fuzz_send(chsm_app *app, int listener, const char *method, const char *url,
              const char *const *headers, const void *body, size_t body_len, cJSON **json);

/* fuzz_send_raw dispatches to listener a request described by raw bytes:
 *   METHOD SP TARGET LF (Name ":" value LF)* LF body
 * (CR before LF is dropped; a missing blank line means no body). Paths not
 * starting with prefix (NULL: any) are rewritten to prefix + path, so a
 * harness can keep the fuzzer under one part of the URL space. Returns the
 * status, 0 when the input is not a request. */
int fuzz_send_raw(chsm_app *app, int listener, const uint8_t *data, size_t size,
                  const char *prefix);

/* fuzz_expand returns data with every "{name}" of vars (name, value pairs,
 * NULL-terminated) replaced by its value (caller frees, *outlen bytes, plus a
 * NUL); NULL when out of memory. */
char *fuzz_expand(const uint8_t *data, size_t size, const char *const *vars, size_t *outlen);

/* fuzz_cluster_create makes resource group "fuzz-rg" and a provisioned,
 * not yet activated Cloud HSM cluster named name in it through in-process
 * ARM requests; writes its resource id and data-plane label. Aborts on
 * failure. */
void fuzz_cluster_create(chsm_app *app, const char *name, char *id, size_t idlen, char *label,
                         size_t labellen);

/* fuzz_hsm_call sends one data-plane request to /hsm/{label}{path} with the
 * given session token (NULL: none) and JSON body (NULL: none); returns the
 * status and the answer (caller frees *json when json is not NULL). */
int fuzz_hsm_call(chsm_app *app, const char *label, const char *method, const char *path,
                  const char *session, const char *body, cJSON **json);

/* fuzz_after_input undoes the process-wide effects one input may leave
 * (fault rules, a moved clock) so later inputs run alike. */
void fuzz_after_input(chsm_app *app);

/* fuzz_reset empties the store (and what QA snapshots wrote) to keep the
 * database small; aborts on failure. */
void fuzz_reset(chsm_app *app);

#endif

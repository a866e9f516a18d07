/* access.h - who may use the control surface under /_emulator/.
 *
 * It is served only when the ARM listener is on a loopback address, never
 * with --no-control; with --strict-auth a caller also needs a bearer token
 * issued to the client id "emulator-admin" (docs/qa.md). */
#ifndef CHSM_CONTROL_ACCESS_H
#define CHSM_CONTROL_ACCESS_H

#include "http/message.h"

/* The client id whose tokens may use the control surface under --strict-auth. */
#define CHSM_CONTROL_ADMIN_CLIENT "emulator-admin"

/* chsm_control_enabled returns 1 when the control surface is on; otherwise it
 * answers 404 NotFound on res and returns 0. */
int chsm_control_enabled(chsm_request *req, chsm_response *res);
/* chsm_control_allowed returns 1 when the control surface is on and the
 * caller may use it (with --strict-auth: an emulator-admin token); otherwise
 * it answers (404, 401 or 403) on res and returns 0. */
int chsm_control_allowed(chsm_request *req, chsm_response *res);

#endif

/* pipeline.h - the ARM front door: route, check, authenticate, handle. */
#ifndef CHSM_ARM_PIPELINE_H
#define CHSM_ARM_PIPELINE_H

#include "http/message.h"

struct chsm_app;

/* chsm_arm_dispatch answers one request of the ARM listener: 404/405 for
 * unknown routes, the api-version rule, bearer auth, the handler, and the
 * headers ARM puts on every response. */
void chsm_arm_dispatch(struct chsm_app *app, chsm_request *req, chsm_response *res);

#endif

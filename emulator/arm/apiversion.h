/* apiversion.h - the api-version rule of ARM.
 *
 * Every ARM request names ?api-version=; each route lists what it accepts.
 * A missing one is 400 MissingApiVersionParameter, an unknown one 400
 * InvalidApiVersionParameter listing the supported ones, unless the server
 * runs with --loose-api-version (for SDKs newer than this emulator). */
#ifndef CHSM_ARM_APIVERSION_H
#define CHSM_ARM_APIVERSION_H

#include "http/message.h"
#include "router/router.h"

/* chsm_arm_check_api_version answers the error and returns nonzero when req's
 * api-version is missing or not accepted by route. */
int chsm_arm_check_api_version(const chsm_request *req, const chsm_route *route, int loose,
                               chsm_response *res);

#endif

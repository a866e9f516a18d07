/* errors.h - the ARM error envelope.
 *
 * Every failure on the ARM listener answers {"error":{"code","message",
 * "target"?,"details"?}} with the right status, as common-types v5
 * ErrorResponse describes; SDKs need both code and message. */
#ifndef CHSM_ARM_ERRORS_H
#define CHSM_ARM_ERRORS_H

#include "http/message.h"
#include "util/status.h"

#include <cjson/cJSON.h>

/* chsm_arm_error answers status with an ARM error body (message is printf-style). */
void chsm_arm_error(chsm_response *res, int status, const char *code, const char *fmt, ...)
    CHSM_PRINTF(4, 5);
/* chsm_arm_error_target is chsm_arm_error with a "target" (the offending property). */
void chsm_arm_error_target(chsm_response *res, int status, const char *code, const char *target,
                           const char *fmt, ...) CHSM_PRINTF(5, 6);
/* chsm_arm_error_detail returns a new {"code","message"} object (for LRO results). */
cJSON *chsm_arm_error_detail(const char *code, const char *message);
/* chsm_arm_json answers status with a JSON body, taking ownership of body (may be NULL: no body).
 */
void chsm_arm_json(chsm_response *res, int status, cJSON *body);

#endif

/* errors.c - the ARM error envelope and JSON responses. */
#include "arm/errors.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define ARM_JSON "application/json; charset=utf-8"

cJSON *chsm_arm_error_detail(const char *code, const char *message)
{
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "code", code);
    cJSON_AddStringToObject(e, "message", message);
    return e;
}

static void error_v(chsm_response *res, int status, const char *code, const char *target,
                    const char *fmt, va_list ap)
{
    char message[1024];
    vsnprintf(message, sizeof message, fmt, ap);
    cJSON *detail = chsm_arm_error_detail(code, message);
    if (target)
        cJSON_AddStringToObject(detail, "target", target);
    cJSON *body = cJSON_CreateObject();
    cJSON_AddItemToObject(body, "error", detail);
    chsm_arm_json(res, status, body);
    /* ARM repeats the code in a header; clients log it. */
    chsm_response_header(res, "x-ms-failure-cause", "gateway", 1);
}

void chsm_arm_error(chsm_response *res, int status, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_v(res, status, code, NULL, fmt, ap);
    va_end(ap);
}

void chsm_arm_error_target(chsm_response *res, int status, const char *code, const char *target,
                           const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_v(res, status, code, target, fmt, ap);
    va_end(ap);
}

void chsm_arm_json(chsm_response *res, int status, cJSON *body)
{
    if (!body) {
        chsm_response_set_body(res, status, NULL, NULL, 0);
        return;
    }
    char *text = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    if (!text) {
        chsm_response_set_text(res, 500, ARM_JSON,
                               "{\"error\":{\"code\":\"InternalServerError\","
                               "\"message\":\"Out of memory while rendering the response.\"}}");
        return;
    }
    chsm_response_set_body(res, status, ARM_JSON, text, strlen(text));
}

/* resource.c - ARM resource envelope helpers. */
#include "arm/resource.h"

#include "app/app.h"

#include "arm/errors.h"
#include "arm/names.h"
#include "store/resources.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/text.h"

#include <stdlib.h>
#include <string.h>

char *chsm_arm_rg_id(const char *sub, const char *rg)
{
    chsm_buf b = {0};
    chsm_buf_printf(&b, "/subscriptions/%s/resourceGroups/%s", sub, rg);
    return chsm_buf_steal(&b);
}

char *chsm_arm_resource_id(const char *sub, const char *rg, const char *type, const char *name)
{
    chsm_buf b = {0};
    chsm_buf_printf(&b, "/subscriptions/%s/resourceGroups/%s/providers/%s/%s", sub, rg, type, name);
    return chsm_buf_steal(&b);
}

cJSON *chsm_arm_system_data(const chsm_request *req, const cJSON *previous)
{
    char now[40];
    chsm_format_time(chsm_now_ms(), now, sizeof now);
    const char *who = req->principal.oid[0] ? req->principal.oid : "emulator-user";
    const char *who_type = req->principal.appid[0] ? "Application" : "User";
    cJSON *sd = cJSON_CreateObject();
    const char *created_by =
        previous ? cJSON_GetStringValue(cJSON_GetObjectItem(previous, "createdBy")) : NULL;
    const char *created_type =
        previous ? cJSON_GetStringValue(cJSON_GetObjectItem(previous, "createdByType")) : NULL;
    const char *created_at =
        previous ? cJSON_GetStringValue(cJSON_GetObjectItem(previous, "createdAt")) : NULL;
    cJSON_AddStringToObject(sd, "createdBy", created_by ? created_by : who);
    cJSON_AddStringToObject(sd, "createdByType", created_type ? created_type : who_type);
    cJSON_AddStringToObject(sd, "createdAt", created_at ? created_at : now);
    cJSON_AddStringToObject(sd, "lastModifiedBy", who);
    cJSON_AddStringToObject(sd, "lastModifiedByType", who_type);
    cJSON_AddStringToObject(sd, "lastModifiedAt", now);
    return sd;
}

int chsm_arm_check_tags(const cJSON *tags, chsm_response *res)
{
    if (!tags || cJSON_IsNull(tags))
        return 0;
    if (!cJSON_IsObject(tags)) {
        chsm_arm_error_target(res, 400, "InvalidRequestContent", "tags",
                              "The 'tags' property must be an object of string values.");
        return 1;
    }
    int count = 0;
    for (const cJSON *t = tags->child; t; t = t->next) {
        if (++count > 50) {
            chsm_arm_error_target(res, 400, "InvalidTag", "tags",
                                  "A resource can have at most 50 tags.");
            return 1;
        }
        if (!cJSON_IsString(t) || strlen(t->string) == 0 || strlen(t->string) > 512 ||
            strlen(t->valuestring) > 256 || strpbrk(t->string, "<>%&\\?/")) {
            chsm_arm_error_target(res, 400, "InvalidTag", "tags",
                                  "The tag '%.100s' is invalid: names are 1-512 characters "
                                  "without <>%%&\\?/, values are strings of at most 256.",
                                  t->string);
            return 1;
        }
    }
    return 0;
}

cJSON *chsm_arm_list_body(cJSON *items, const char *next_link)
{
    cJSON *body = cJSON_CreateObject();
    cJSON_AddItemToObject(body, "value", items ? items : cJSON_CreateArray());
    if (next_link)
        cJSON_AddStringToObject(body, "nextLink", next_link);
    return body;
}

static void append_api_version(chsm_buf *b, const chsm_request *req, char sep)
{
    const char *v = chsm_request_query(req, "api-version");
    if (v) {
        char *enc = chsm_percent_encode(v, 0);
        chsm_buf_printf(b, "%capi-version=%s", sep, enc ? enc : "");
        free(enc);
    }
}

char *chsm_arm_next_link(const chsm_request *req, const char *token)
{
    chsm_buf b = {0};
    chsm_buf_printf(&b, "%s%s", req->base_url, req->raw_path);
    append_api_version(&b, req, '?');
    char *enc = chsm_percent_encode(token, 0);
    chsm_buf_printf(&b, "%s$skiptoken=%s", chsm_request_query(req, "api-version") ? "&" : "?",
                    enc ? enc : "");
    free(enc);
    return chsm_buf_steal(&b);
}

char *chsm_arm_abs_url(const chsm_request *req, const char *path)
{
    chsm_buf b = {0};
    chsm_buf_printf(&b, "%s%s", req->base_url, path);
    append_api_version(&b, req, '?');
    return chsm_buf_steal(&b);
}

cJSON *chsm_arm_body_object(const chsm_request *req, chsm_response *res, int required)
{
    if (req->body_len == 0 && !req->body_path) {
        if (!required)
            return cJSON_CreateObject();
        chsm_arm_error(res, 400, "InvalidRequestContent",
                       "The request content was invalid and could not be deserialized: the "
                       "body is required.");
        return NULL;
    }
    char err[160];
    cJSON *root = NULL;
    int rc = req->body ? chsm_json_parse_rc((const char *)req->body, req->body_len, &root, err,
                                            sizeof err)
                       : CHSM_EINVAL;
    if (rc == CHSM_ENOMEM) {
        chsm_arm_error(res, 500, "InternalServerError", "%s", err);
        return NULL;
    }
    if (!root) {
        chsm_arm_error(res, 400, "InvalidRequestContent",
                       "The request content was invalid and could not be deserialized: %s",
                       req->body ? err : "the body is too large.");
        return NULL;
    }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        chsm_arm_error(res, 400, "InvalidRequestContent",
                       "The request content was invalid and could not be deserialized: "
                       "a JSON object was expected.");
        return NULL;
    }
    return root;
}

int chsm_arm_valid_subscription(const char *sub)
{
    size_t n = sub ? strlen(sub) : 0;
    return n >= 1 && n <= 64 &&
           strspn(sub, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-") == n;
}

int chsm_arm_require_resource_group(const chsm_request *req, chsm_response *res, const char *sub,
                                    const char *rg)
{
    if (!chsm_arm_valid_subscription(sub)) {
        chsm_arm_error(res, 400, "InvalidSubscriptionId",
                       "The provided subscription identifier "
                       "'%.100s' is malformed or invalid.",
                       sub ? sub : "");
        return 1;
    }
    if (!chsm_arm_valid_resource_group(rg)) {
        chsm_arm_error_target(res, 400, "InvalidResourceGroup", "resourceGroupName",
                              "The resource group name '%.100s' is invalid.", rg ? rg : "");
        return 1;
    }
    char *id = chsm_arm_rg_id(sub, rg);
    int exists = id ? chsm_resources_exists(req->app->store, id) : -1;
    free(id);
    if (exists == 1)
        return 0;
    if (exists < 0)
        chsm_arm_error(res, 500, "InternalServerError", "The state store could not be read.");
    else
        chsm_arm_error(res, 404, "ResourceGroupNotFound", "Resource group '%s' could not be found.",
                       rg);
    return 1;
}

/* json.c - cJSON helpers. */
#include "util/json.h"

#include <stdio.h>
#include <string.h>

cJSON *chsm_json_parse(const char *data, size_t len, char *err, size_t errlen)
{
    if (!data || len == 0) {
        snprintf(err, errlen, "The request body is empty.");
        return NULL;
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(data, len, &end, 0);
    if (!root) {
        size_t at = end && end >= data ? (size_t)(end - data) : 0;
        snprintf(err, errlen, "The request content is not valid JSON (at byte %zu).", at);
        return NULL;
    }
    /* Trailing garbage after the value is malformed input too. */
    while (end && (size_t)(end - data) < len &&
           (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t'))
        end++;
    if (end && (size_t)(end - data) < len) {
        cJSON_Delete(root);
        snprintf(err, errlen, "The request content has trailing data after the JSON value.");
        return NULL;
    }
    return root;
}

const char *chsm_json_str(const cJSON *obj, const char *key)
{
    const cJSON *it = cJSON_GetObjectItem(obj, key);
    return cJSON_IsString(it) ? it->valuestring : NULL;
}

cJSON *chsm_json_obj(const cJSON *obj, const char *key)
{
    cJSON *it = cJSON_GetObjectItem(obj, key);
    return cJSON_IsObject(it) ? it : NULL;
}

void chsm_json_set(cJSON *obj, const char *key, cJSON *item)
{
    if (!item)
        return;
    if (cJSON_GetObjectItem(obj, key))
        cJSON_ReplaceItemInObject(obj, key, item);
    else
        cJSON_AddItemToObject(obj, key, item);
}

void chsm_json_set_str(cJSON *obj, const char *key, const char *value)
{
    chsm_json_set(obj, key, value ? cJSON_CreateString(value) : cJSON_CreateNull());
}

char *chsm_json_print_owned(const cJSON *item)
{
    return cJSON_PrintUnformatted(item);
}

/* json.c - cJSON helpers. */
#include "util/json.h"
#include "util/text.h"

#include <stdio.h>
#include <string.h>

/* bad_string_char finds what JSON strings may not hold but cJSON would take: a raw control
 * character (RFC 8259 wants them escaped) or an escaped NUL, which would silently cut the C
 * string short ("uksouth\u0000evil" read as "uksouth"). Returns a message or NULL. */
static const char *bad_string_char(const char *data, size_t len)
{
    int in_string = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)data[i];
        if (c == 0)
            return "The request content contains a NUL byte.";
        if (!in_string) {
            if (c == '"')
                in_string = 1;
            continue;
        }
        if (c == '"') {
            in_string = 0;
        } else if (c < 0x20) {
            return "The request content has an unescaped control character in a string.";
        } else if (c == '\\' && i + 1 < len) {
            if (data[i + 1] == 'u' && i + 5 < len && memcmp(data + i + 2, "0000", 4) == 0)
                return "The request content contains a NUL character (\\u0000) in a string.";
            i++; /* the escaped character */
        }
    }
    return NULL;
}

cJSON *chsm_json_parse(const char *data, size_t len, char *err, size_t errlen)
{
    if (!data || len == 0) {
        snprintf(err, errlen, "The request body is empty.");
        return NULL;
    }
    /* JSON text is UTF-8 (RFC 8259): invalid bytes would be stored and exported as they are. */
    if (!chsm_utf8_valid(data, len)) {
        snprintf(err, errlen, "The request content is not valid UTF-8.");
        return NULL;
    }
    const char *bad = bad_string_char(data, len);
    if (bad) {
        snprintf(err, errlen, "%s", bad);
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

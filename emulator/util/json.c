/* json.c - cJSON helpers. */
#include "util/json.h"
#include "util/faultsim.h"
#include "util/oom.h"
#include "util/status.h"
#include "util/text.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Set when an allocation of this thread's cJSON call failed. */
static _Thread_local int json_oom;

static void *json_malloc(size_t n)
{
    void *p = CHSM_FAULTSIM_FAIL(CHSM_FAULTSIM_ALLOC) ? NULL : malloc(n);
    if (!p) {
        json_oom = 1;
        chsm_oom_note();
    }
    return p;
}

static void json_install_hooks(void)
{
    cJSON_Hooks hooks = {json_malloc, free};
    cJSON_InitHooks(&hooks);
}

void chsm_json_init(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, json_install_hooks);
}

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
    cJSON *root = NULL;
    chsm_json_parse_rc(data, len, &root, err, errlen);
    return root;
}

int chsm_json_parse_rc(const char *data, size_t len, cJSON **out, char *err, size_t errlen)
{
    *out = NULL;
    chsm_json_init();
    if (!data || len == 0) {
        snprintf(err, errlen, "The request body is empty.");
        return CHSM_EINVAL;
    }
    /* JSON text is UTF-8 (RFC 8259): invalid bytes would be stored and exported as they are. */
    if (!chsm_utf8_valid(data, len)) {
        snprintf(err, errlen, "The request content is not valid UTF-8.");
        return CHSM_EINVAL;
    }
    const char *bad = bad_string_char(data, len);
    if (bad) {
        snprintf(err, errlen, "%s", bad);
        return CHSM_EINVAL;
    }
    const char *end = NULL;
    json_oom = 0;
    cJSON *root = cJSON_ParseWithLengthOpts(data, len, &end, 0);
    if (!root && json_oom) {
        snprintf(err, errlen, "The server ran out of memory reading the request content.");
        return CHSM_ENOMEM;
    }
    if (!root) {
        size_t at = end && end >= data ? (size_t)(end - data) : 0;
        snprintf(err, errlen, "The request content is not valid JSON (at byte %zu).", at);
        return CHSM_EINVAL;
    }
    /* Trailing garbage after the value is malformed input too. */
    while (end && (size_t)(end - data) < len &&
           (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t'))
        end++;
    if (end && (size_t)(end - data) < len) {
        cJSON_Delete(root);
        snprintf(err, errlen, "The request content has trailing data after the JSON value.");
        return CHSM_EINVAL;
    }
    *out = root;
    return CHSM_OK;
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

void chsm_json_put(cJSON *obj, const char *key, cJSON *item)
{
    if (!item)
        return;
    /* Adding copies the key: when that cannot be allocated the item is not attached, and
     * would leak (the failure itself is counted by util/oom.h). */
    int ok = cJSON_GetObjectItem(obj, key) ? cJSON_ReplaceItemInObject(obj, key, item)
                                           : cJSON_AddItemToObject(obj, key, item);
    if (!ok)
        cJSON_Delete(item);
}

void chsm_json_set_str(cJSON *obj, const char *key, const char *value)
{
    chsm_json_put(obj, key, value ? cJSON_CreateString(value) : cJSON_CreateNull());
}

char *chsm_json_print_owned(const cJSON *item)
{
    return cJSON_PrintUnformatted(item);
}

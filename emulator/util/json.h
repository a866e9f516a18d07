/* json.h - small helpers over cJSON used by every provider.
 *
 * cJSON_GetObjectItem matches keys case-insensitively, which is what ARM does
 * with request bodies (the tutorial sends "Sku", "Location", "Identity"), so
 * readers here use it; writers always emit the spec's camelCase names. */
#ifndef CHSM_UTIL_JSON_H
#define CHSM_UTIL_JSON_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* chsm_json_parse parses len bytes into a new cJSON tree (caller frees); on
 * failure returns NULL and describes the problem in err. */
cJSON *chsm_json_parse(const char *data, size_t len, char *err, size_t errlen);
/* chsm_json_parse_rc is chsm_json_parse telling why it failed: CHSM_EINVAL for bad input,
 * CHSM_ENOMEM when cJSON ran out of memory (the server's failure, not the client's). */
int chsm_json_parse_rc(const char *data, size_t len, cJSON **out, char *err, size_t errlen);
/* chsm_json_init routes cJSON's allocations through a wrapper that notes failures (so a parse
 * can tell running out of memory from bad input); idempotent, also done by the first parse. */
void chsm_json_init(void);
/* chsm_json_str returns the string member key of obj (any key case), or NULL. */
const char *chsm_json_str(const cJSON *obj, const char *key);
/* chsm_json_obj returns the object member key of obj (any key case), or NULL. */
cJSON *chsm_json_obj(const cJSON *obj, const char *key);
/* chsm_json_set replaces (or adds) member key of obj with item, taking ownership. */
void chsm_json_set(cJSON *obj, const char *key, cJSON *item);
/* chsm_json_put is chsm_json_set for an item the caller does not use afterwards: when it
 * cannot be attached (out of memory) it is freed instead of leaked. */
void chsm_json_put(cJSON *obj, const char *key, cJSON *item);
/* chsm_json_set_str replaces (or adds) a string member; NULL value stores JSON null. */
void chsm_json_set_str(cJSON *obj, const char *key, const char *value);
/* chsm_json_print_owned renders item compactly; the caller frees the string. */
char *chsm_json_print_owned(const cJSON *item);

#endif

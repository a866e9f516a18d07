/* resource.h - the ARM resource envelope: ids, systemData, tags, lists.
 *
 * Resource ids keep the names as the client sent them; ARM compares them
 * case-insensitively, so the store keys on a lowercased copy. */
#ifndef CHSM_ARM_RESOURCE_H
#define CHSM_ARM_RESOURCE_H

#include "http/message.h"

#include <cjson/cJSON.h>

/* chsm_arm_rg_id returns "/subscriptions/{sub}/resourceGroups/{rg}" (caller frees). */
char *chsm_arm_rg_id(const char *sub, const char *rg);
/* chsm_arm_resource_id returns the id of a resource of provider type ns/type
 * ("Microsoft.X/things") named name in sub/rg (caller frees). */
char *chsm_arm_resource_id(const char *sub, const char *rg, const char *type, const char *name);
/* chsm_arm_system_data returns a new systemData object for a create (created*
 * = lastModified* = now) or, when previous is given, an update keeping created*. */
cJSON *chsm_arm_system_data(const chsm_request *req, const cJSON *previous);
/* chsm_arm_check_tags answers 400 InvalidTag and returns nonzero when tags is
 * present but not an object of at most 50 string values with ARM's limits. */
int chsm_arm_check_tags(const cJSON *tags, chsm_response *res);
/* chsm_arm_list_body returns {"value":[items...],"nextLink"?} taking ownership
 * of items; next_link NULL omits it. */
cJSON *chsm_arm_list_body(cJSON *items, const char *next_link);
/* chsm_arm_next_link returns base_url + raw_path + api-version + $skiptoken=token (caller frees).
 */
char *chsm_arm_next_link(const chsm_request *req, const char *token);
/* chsm_arm_abs_url returns base_url + path + "?api-version=" + the request's api-version (caller
 * frees). */
char *chsm_arm_abs_url(const chsm_request *req, const char *path);

/* chsm_arm_body_object parses the request body as a JSON object (caller
 * frees). With no body it returns an empty object unless required, in which
 * case, or when the body is not a JSON object, it answers 400
 * InvalidRequestContent and returns NULL. */
cJSON *chsm_arm_body_object(const chsm_request *req, chsm_response *res, int required);
/* chsm_arm_require_resource_group answers 404 ResourceGroupNotFound (or 400
 * for an invalid name) and returns nonzero unless sub/rg exists. */
int chsm_arm_require_resource_group(const chsm_request *req, chsm_response *res, const char *sub,
                                    const char *rg);
/* chsm_arm_valid_subscription tells whether sub is an acceptable subscription
 * id: 1-64 letters, digits and '-' (any GUID, as ARM's are). */
int chsm_arm_valid_subscription(const char *sub);

#endif

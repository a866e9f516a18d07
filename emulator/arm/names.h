/* names.h - ARM resource naming rules, checked before anything is stored. */
#ifndef CHSM_ARM_NAMES_H
#define CHSM_ARM_NAMES_H

#include "http/message.h"

/* chsm_arm_valid_resource_group tells whether name follows the resource group
 * rule: 1-90 of letters, digits, '_', '-', '.', '(' and ')', not ending in '.'. */
int chsm_arm_valid_resource_group(const char *name);
/* chsm_arm_valid_name tells whether name has min..max characters, each a letter,
 * digit or one of extra (e.g. "-_"), and does not start or end with '-' or '.'. */
int chsm_arm_valid_name(const char *name, size_t min, size_t max, const char *extra);
/* chsm_arm_check_name answers 400 InvalidResourceName and returns nonzero when
 * the named kind of resource has an invalid name. */
int chsm_arm_check_name(chsm_response *res, const char *kind, const char *name, size_t min,
                        size_t max, const char *extra);

#endif

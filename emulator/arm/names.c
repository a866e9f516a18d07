/* names.c - ARM resource naming rules. */
#include "arm/names.h"

#include "arm/errors.h"

#include <ctype.h>
#include <string.h>

int chsm_arm_valid_resource_group(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n < 1 || n > 90 || name[n - 1] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!isalnum(c) && !strchr("_-.()", c))
            return 0;
    }
    return 1;
}

int chsm_arm_valid_name(const char *name, size_t min, size_t max, const char *extra)
{
    size_t n = name ? strlen(name) : 0;
    if (n < min || n > max)
        return 0;
    if (name[0] == '-' || name[0] == '.' || name[n - 1] == '-' || name[n - 1] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!isalnum(c) && !(extra && c && strchr(extra, c)))
            return 0;
    }
    return 1;
}

int chsm_arm_check_name(chsm_response *res, const char *kind, const char *name, size_t min,
                        size_t max, const char *extra)
{
    if (chsm_arm_valid_name(name, min, max, extra))
        return 0;
    chsm_arm_error_target(res, 400, "InvalidResourceName", kind,
                          "The %s name '%.200s' is invalid. It must be %zu to %zu characters of "
                          "letters, digits%s%s, and must not start or end with '-' or '.'.",
                          kind, name ? name : "", min, max, extra && *extra ? " or " : "",
                          extra ? extra : "");
    return 1;
}

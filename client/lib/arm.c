/* arm.c - ARM paths and built-in roles. */
#include "chsmc_arm.h"

#include "chsmc.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

int chsmc_path_group(const char *sub, const char *rg, char *out, size_t n)
{
    int w = snprintf(out, n, "/subscriptions/%s/resourcegroups/%s", sub, rg);
    return w < 0 || (size_t)w >= n ? -1 : 0;
}

int chsmc_path_resource(const char *sub, const char *rg, const char *type, const char *name,
                        char *out, size_t n)
{
    int w = snprintf(out, n, "/subscriptions/%s/resourceGroups/%s/providers/%s%s%s", sub, rg, type,
                     name ? "/" : "", name ? name : "");
    return w < 0 || (size_t)w >= n ? -1 : 0;
}

static const struct {
    const char *name;
    const char *guid;
} roles[] = {
    {"Owner", "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"},
    {"Contributor", "b24988ac-6180-42a0-ab88-20f7382dd24c"},
    {"Reader", "acdd72a7-3385-48ef-bd42-f606fba81ae7"},
    {"Storage Blob Data Contributor", "ba92f5b4-2d11-453d-a403-e96b0029c9fe"},
    {"Storage Blob Data Owner", "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"},
    {"Storage Blob Data Reader", "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"},
};

int chsmc_is_guid(const char *s)
{
    if (!s || strlen(s) != 36)
        return 0;
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return 0;
        } else if (!isxdigit((unsigned char)s[i])) {
            return 0;
        }
    }
    return 1;
}

static const char *last_segment(const char *s)
{
    const char *slash = strrchr(s, '/');
    return slash ? slash + 1 : s;
}

const char *chsmc_role_guid(const char *name_or_id)
{
    if (!name_or_id)
        return NULL;
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (chsmc_streq_ci(roles[i].name, name_or_id))
            return roles[i].guid;
    if (chsmc_is_guid(last_segment(name_or_id)))
        return name_or_id;
    return NULL;
}

const char *chsmc_role_name(const char *guid_or_id)
{
    if (!guid_or_id)
        return NULL;
    const char *g = last_segment(guid_or_id);
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (chsmc_streq_ci(roles[i].guid, g))
            return roles[i].name;
    return NULL;
}

int chsmc_valid_name(const char *name, size_t max, const char *extra)
{
    if (!name || !*name || strlen(name) > max)
        return 0;
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && !(extra && strchr(extra, *p)))
            return 0;
    return 1;
}

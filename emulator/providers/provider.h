/* provider.h - what an ARM provider file exports.
 *
 * A provider is one file of handlers over a small model: a route table and
 * an optional init that registers its operation kinds or seeds built-ins.
 * providers/registry.c lists them all. */
#ifndef CHSM_PROVIDERS_PROVIDER_H
#define CHSM_PROVIDERS_PROVIDER_H

#include "router/router.h"

#include <stddef.h>

struct chsm_app;

typedef struct chsm_provider {
    const char *name;
    const chsm_route *routes;
    size_t nroutes;
    int (*init)(struct chsm_app *app); /* may be NULL */
} chsm_provider;

/* chsm_providers lists every provider, NULL-terminated (registry.c). */
extern const chsm_provider *const chsm_providers[];

/* Helper for route tables. */
#define CHSM_COUNT(a) (sizeof(a) / sizeof((a)[0]))

#endif

/* resources.h - the repository of ARM resource documents.
 *
 * Most ARM resources (resource groups, identities, role assignments, storage
 * accounts, clusters ...) are a JSON document under an id. They live in one
 * table keyed by the lowercased id, with the columns lists filter on. */
#ifndef CHSM_STORE_RESOURCES_H
#define CHSM_STORE_RESOURCES_H

#include "store/store.h"

#include <cjson/cJSON.h>
#include <stdint.h>

typedef struct chsm_resource {
    char *id;             /* as the client spelled it */
    char *type;           /* "Microsoft.Resources/resourceGroups" (stored lowercased) */
    char *name;           /* last segment of the id */
    char *subscription;   /* subscription id, or NULL */
    char *resource_group; /* resource group name, or NULL */
    char *parent_id;      /* enclosing resource or scope id for nested types, or NULL */
    cJSON *body;          /* the document */
    char etag[40];        /* changes with every put */
    int64_t created_ms;
    int64_t updated_ms;
} chsm_resource;

typedef struct chsm_resource_query {
    const char *type;           /* required: provider/type, any case */
    const char *subscription;   /* NULL: any */
    const char *resource_group; /* NULL: any */
    const char *parent_id;      /* NULL: any */
    const char *after_id;       /* paging: ids greater than this (lowercased order) */
    size_t limit;               /* 0: no limit */
} chsm_resource_query;

/* chsm_resources_get loads the resource with id (any case) into out (caller
 * clears with chsm_resource_clear); CHSM_ENOTFOUND when absent. */
int chsm_resources_get(chsm_store *s, const char *id, chsm_resource *out);
/* chsm_resources_etag copies the etag of id (any case) into out (40 bytes); CHSM_ENOTFOUND
 * when absent. Cheaper than chsm_resources_get: the body is not read. */
int chsm_resources_etag(chsm_store *s, const char *id, char out[40]);
/* chsm_resources_exists tells whether id (any case) exists: 1, 0, or <0 on error. */
int chsm_resources_exists(chsm_store *s, const char *id);
/* chsm_resources_put inserts or replaces r by id; sets r->etag, created_ms
 * (kept on replace) and updated_ms. */
int chsm_resources_put(chsm_store *s, chsm_resource *r);
/* chsm_resources_delete removes id; CHSM_ENOTFOUND when absent. */
int chsm_resources_delete(chsm_store *s, const char *id);
/* chsm_resources_delete_under removes every resource whose id starts with
 * prefix + "/" (any case); count (if not NULL) receives how many. */
int chsm_resources_delete_under(chsm_store *s, const char *prefix, int *count);
/* chsm_resources_list returns matching resources ordered by id in a new array
 * (caller frees with chsm_resources_free). */
int chsm_resources_list(chsm_store *s, const chsm_resource_query *q, chsm_resource **out,
                        size_t *n);
/* chsm_resource_clear frees what r owns and zeroes it. */
void chsm_resource_clear(chsm_resource *r);
/* chsm_resources_free clears and frees an array from chsm_resources_list. */
void chsm_resources_free(chsm_resource *arr, size_t n);

#endif

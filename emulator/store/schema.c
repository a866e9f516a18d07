/* schema.c - the schema of every repository, in the order they are migrated.
 *
 * Each repository owns a module with its own version, so adding a table for
 * one aggregate never renumbers another's migrations. */
#include "store/store_internal.h"

#include <stddef.h>

static const char *const core_steps[] = {
    /* 1: generic ARM resources, long-running operations, settings */
    "CREATE TABLE resources ("
    "  id_key TEXT PRIMARY KEY," /* lowercased id: ARM compares ids case-insensitively */
    "  id TEXT NOT NULL,"        /* as the client spelled it */
    "  type_key TEXT NOT NULL,"  /* lowercased provider/type */
    "  name TEXT NOT NULL,"
    "  subscription_key TEXT,"
    "  rg_key TEXT,"
    "  parent_key TEXT,"
    "  body TEXT NOT NULL,"
    "  etag TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  updated_ms INTEGER NOT NULL);"
    "CREATE INDEX resources_by_type ON resources(type_key, subscription_key, rg_key, id_key);"
    "CREATE INDEX resources_by_parent ON resources(parent_key, id_key);"
    "CREATE TABLE operations ("
    "  id TEXT PRIMARY KEY,"
    "  kind TEXT NOT NULL,"
    "  resource_key TEXT,"
    "  resource_id TEXT,"
    "  status TEXT NOT NULL,"
    "  percent INTEGER NOT NULL DEFAULT 0,"
    "  start_ms INTEGER NOT NULL,"
    "  end_ms INTEGER,"
    "  due_ms INTEGER NOT NULL,"
    "  error_code TEXT,"
    "  error_message TEXT,"
    "  params TEXT,"
    "  result TEXT);"
    "CREATE INDEX operations_due ON operations(status, due_ms);"
    "CREATE INDEX operations_by_resource ON operations(resource_key, start_ms);"
    "CREATE TABLE settings (name TEXT PRIMARY KEY, value BLOB NOT NULL);",
    /* 2: a fault rule's hold on an operation (failed or stalled on purpose) */
    "ALTER TABLE operations ADD COLUMN fault TEXT;",
};

static const store_schema_ core_schema = {"core", core_steps,
                                          (int)(sizeof core_steps / sizeof core_steps[0])};

extern const store_schema_ chsm_hsm_schema_; /* hsm/repo.c */
extern const store_schema_ chsm_blob_schema_; /* blob/repo.c */

const store_schema_ *const store_schemas_[] = {
    &core_schema,
    &chsm_hsm_schema_,
    &chsm_blob_schema_,
    NULL,
};

/* admin.h - whole-database operations for QA: reset, export/import as JSON,
 * and named snapshots through SQLite's online backup API. */
#ifndef CHSM_STORE_ADMIN_H
#define CHSM_STORE_ADMIN_H

#include "store/store.h"

#include <cjson/cJSON.h>
#include <stddef.h>

/* chsm_store_reset empties every table but the emulator's own settings
 * (signing key, fleet secret) and the schema bookkeeping, in one transaction. */
int chsm_store_reset(chsm_store *s);
/* chsm_store_export returns the state as JSON (caller frees):
 * {"format":"chsm-state","version":1,"schema":{module:version},
 *  "tables":{name:{"columns":[...],"rows":[[...],...]}}}. BLOB values are
 * {"base64":"..."}; columns whose name contains "sealed" (key material, kept
 * encrypted) are left out unless include_sealed. */
cJSON *chsm_store_export(chsm_store *s, int include_sealed);
/* chsm_store_import replaces the state with an export, in one transaction;
 * the export's schema versions must equal this database's. Sealed columns
 * missing from the export are imported as NULL (or rejected by the table). */
int chsm_store_import(chsm_store *s, const cJSON *state, char *err, size_t errlen);
/* chsm_store_snapshot_save copies the database to path (consistent, online). */
int chsm_store_snapshot_save(chsm_store *s, const char *path);
/* chsm_store_snapshot_restore replaces the database with the copy at path. */
int chsm_store_snapshot_restore(chsm_store *s, const char *path);

#endif

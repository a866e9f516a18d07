/* chsmc_arm.h - the ARM resources chsmctl manages: api-versions, resource
 * paths and built-in role names. */
#ifndef CHSMC_ARM_H
#define CHSMC_ARM_H

#include <stddef.h>

#define CHSMC_API_RESOURCES "2021-04-01"
#define CHSMC_API_MSI "2023-01-31"
#define CHSMC_API_STORAGE "2023-05-01"
#define CHSMC_API_AUTHORIZATION "2022-04-01"
#define CHSMC_API_CLOUDHSM "2025-03-31"

#define CHSMC_TYPE_MSI "Microsoft.ManagedIdentity/userAssignedIdentities"
#define CHSMC_TYPE_STORAGE "Microsoft.Storage/storageAccounts"
#define CHSMC_TYPE_CLUSTER "Microsoft.HardwareSecurityModules/cloudHsmClusters"
#define CHSMC_ROLE_ASSIGNMENTS "providers/Microsoft.Authorization/roleAssignments"

/* chsmc_path_group writes /subscriptions/{sub}/resourcegroups/{rg}; 0 or -1 if too long. */
int chsmc_path_group(const char *sub, const char *rg, char *out, size_t n);
/* chsmc_path_resource writes /subscriptions/{sub}/resourceGroups/{rg}/providers/{type}/{name}
 * (name NULL: the collection); 0 or -1 if it does not fit. */
int chsmc_path_resource(const char *sub, const char *rg, const char *type, const char *name,
                        char *out, size_t n);
/* chsmc_role_guid returns the role definition GUID for a built-in role name (any case, e.g.
 * "Storage Blob Data Contributor") or the argument itself when it already is a GUID or a
 * role definition id; NULL when unknown. */
const char *chsmc_role_guid(const char *name_or_id);
/* chsmc_role_name returns the built-in role name of a GUID or role definition id, or NULL. */
const char *chsmc_role_name(const char *guid_or_id);
/* chsmc_is_guid tells whether s is a GUID (8-4-4-4-12 hex digits). */
int chsmc_is_guid(const char *s);
/* chsmc_valid_name tells whether name is 1..max characters of letters, digits and the
 * characters in extra. */
int chsmc_valid_name(const char *name, size_t max, const char *extra);

#endif

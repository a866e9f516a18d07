/* managed_identity.h - looking up user-assigned identities for other providers. */
#ifndef CHSM_PROVIDERS_MANAGED_IDENTITY_H
#define CHSM_PROVIDERS_MANAGED_IDENTITY_H

#include <stddef.h>

struct chsm_app;

typedef struct chsm_msi_info {
    char principal_id[40]; /* object id: what role assignments name */
    char client_id[40];
    char tenant_id[40];
} chsm_msi_info;

/* chsm_msi_lookup finds the user-assigned identity with resource id (any
 * case) and fills info; CHSM_ENOTFOUND when it does not exist. */
int chsm_msi_lookup(struct chsm_app *app, const char *resource_id, chsm_msi_info *info);
/* chsm_msi_find_by_client_id finds an identity by client id (for the IMDS
 * token endpoint); fills info and, if not NULL, its resource id (idlen bytes). */
int chsm_msi_find_by_client_id(struct chsm_app *app, const char *client_id, chsm_msi_info *info,
                               char *resource_id, size_t idlen);
/* chsm_msi_find_by_principal_id is the same by principal (object) id, for
 * role assignments that name an identity. */
int chsm_msi_find_by_principal_id(struct chsm_app *app, const char *principal_id,
                                  chsm_msi_info *info, char *resource_id, size_t idlen);

#endif

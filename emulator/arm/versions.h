/* versions.h - the api-versions each resource provider accepts: one table
 * for the whole emulator (docs/clients.md lists the same). A version not
 * listed fails with 400 InvalidApiVersionParameter unless --loose-api-version. */
#ifndef CHSM_ARM_VERSIONS_H
#define CHSM_ARM_VERSIONS_H

/* Microsoft.Resources: subscriptions, resource groups, operation results. */
extern const char *const chsm_api_resources[];
/* Microsoft.ManagedIdentity/userAssignedIdentities. */
extern const char *const chsm_api_msi[];
/* Microsoft.Storage: accounts, keys, blob containers. */
extern const char *const chsm_api_storage[];
/* Microsoft.Authorization: role assignments and definitions. */
extern const char *const chsm_api_authorization[];
/* Microsoft.HardwareSecurityModules/cloudHsmClusters. */
extern const char *const chsm_api_cloudhsm[];
/* Microsoft.Network: virtual networks, subnets, private endpoints. */
extern const char *const chsm_api_network[];
/* Microsoft.KeyVault: managedHSMs (and vaults). */
extern const char *const chsm_api_keyvault[];
/* The Managed HSM data plane (Key Vault api-versions 7.2 ... 2025-07-01). */
extern const char *const chsm_api_managedhsm[];
/* Microsoft.Compute: virtualMachines, diskEncryptionSets. */
extern const char *const chsm_api_compute[];
/* Microsoft.RecoveryServices vaults and backup. */
extern const char *const chsm_api_recoveryservices[];

#endif

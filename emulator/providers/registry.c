/* registry.c - every ARM provider the emulator serves, in routing order.
 *
 * Order matters only where templates overlap: more specific tables first. */
#include "providers/provider.h"

extern const chsm_provider chsm_provider_control;
extern const chsm_provider chsm_provider_qa;
extern const chsm_provider chsm_provider_inventory;
extern const chsm_provider chsm_provider_ui;
extern const chsm_provider chsm_provider_identity_platform;
extern const chsm_provider chsm_provider_resources;
extern const chsm_provider chsm_provider_managed_identity;
extern const chsm_provider chsm_provider_authorization;
extern const chsm_provider chsm_provider_network;
extern const chsm_provider chsm_provider_storage;
extern const chsm_provider chsm_provider_cloudhsm;
extern const chsm_provider chsm_provider_hsm_data_plane;
extern const chsm_provider chsm_provider_keyvault;
extern const chsm_provider chsm_provider_mhsm_data_plane;
extern const chsm_provider chsm_provider_compute;
extern const chsm_provider chsm_provider_recoveryservices;

const chsm_provider *const chsm_providers[] = {
    &chsm_provider_control,
    &chsm_provider_qa,
    &chsm_provider_inventory,
    &chsm_provider_ui,
    &chsm_provider_identity_platform,
    &chsm_provider_resources,
    &chsm_provider_managed_identity,
    &chsm_provider_mhsm_data_plane, /* before authorization: /mhsm/{name}/providers/... */
    &chsm_provider_authorization,
    &chsm_provider_network,
    &chsm_provider_storage,
    &chsm_provider_cloudhsm,
    &chsm_provider_hsm_data_plane,
    &chsm_provider_keyvault,
    &chsm_provider_compute,
    &chsm_provider_recoveryservices,
    NULL,
};

/* cli_backup.h - what chsmctl's Azure Backup commands (azbackup.c) and Managed
 * HSM commands (mhsm.c) share: the Backup Management Service's identity in the
 * emulator, Managed HSM data-plane helpers, and the backup group's commands. */
#ifndef CHSMCTL_CLI_BACKUP_H
#define CHSMCTL_CLI_BACKUP_H

#include "cli.h"

/* The Backup Management Service: its well-known app id and the fixed object id
 * the emulator gives it (docs/backup.md). */
#define CTL_BMS_APP_ID "262044b1-e2ce-469f-a196-69ab7ada62d3"
#define CTL_BMS_OBJECT_ID "6a4b2f8e-1c3d-4e5f-9a7b-262044b1e2ce"
/* The Managed HSM Crypto User role the portal grants it. */
#define CTL_MHSM_ROLE_CRYPTO_USER "21dbd100-6940-42c2-9190-5d6cb909625b"

/* ctl_mhsm_role_guid returns the GUID of a built-in Managed HSM role name ("Managed HSM
 * Crypto User" or "Crypto User", any case) or of a GUID / role definition id; NULL if
 * neither. */
const char *ctl_mhsm_role_guid(const char *name_or_id);
/* ctl_mhsm_scope normalizes a local RBAC scope ("/", "keys", "//keys/k") into "/", "/keys"
 * or "/keys/{name}"; CHSMC_EUSAGE for anything else. */
int ctl_mhsm_scope(const char *raw, char *out, size_t n);
/* ctl_mhsm_url connects and writes {armUrl}/mhsm/{hsm}{suffix}. */
int ctl_mhsm_url(ctl *c, const char *hsm, const char *suffix, char *out, size_t n, chsmc_error *e);
/* ctl_mhsm_assign assigns role_guid to principal at scope (normalized) of HSM hsm under
 * name (a new GUID when NULL); *out (may be NULL) gets the assignment (caller frees). */
int ctl_mhsm_assign(ctl *c, const char *hsm, const char *scope, const char *role_guid,
                    const char *principal, const char *name, cJSON **out, chsmc_error *e);
/* ctl_mhsm_list_assignments lists the assignments that apply at scope of HSM hsm (caller
 * frees *items). */
int ctl_mhsm_list_assignments(ctl *c, const char *hsm, const char *scope, cJSON **items,
                              chsmc_error *e);

/* The backup group's Azure Backup commands (azbackup.c). */
int ctl_cmd_backup_vault(ctl *c, int argc, char **argv);
int ctl_cmd_backup_protect(ctl *c, int argc, char **argv);
int ctl_cmd_backup_now(ctl *c, int argc, char **argv);
int ctl_cmd_backup_jobs(ctl *c, int argc, char **argv);
int ctl_cmd_backup_items(ctl *c, int argc, char **argv);
int ctl_cmd_backup_rp(ctl *c, int argc, char **argv);
int ctl_cmd_backup_restore_disks(ctl *c, int argc, char **argv);

#endif

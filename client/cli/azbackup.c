/* azbackup.c - chsmctl backup vault|protect|now|jobs|rp|restore-disks: Azure
 * Backup of virtual machines into a Recovery Services vault (docs/backup.md),
 * the way az backup drives it: refresh containers, find the protectable item,
 * PUT the protected item (202), follow the operation, show the job.
 *
 * protect --grant-like-portal reproduces what the portal does when it
 * configures backup of a confidential VM whose disk key is customer-managed:
 * it first grants the Backup Management Service access to that key (Managed
 * HSM Crypto User on the key in a Managed HSM; an access policy with keys and
 * secrets get/list/backup in an access-policy Key Vault). */
#include "cli.h"
#include "cli_backup.h"

#include <stdlib.h>
#include <string.h>

#define TYPE_RS_VAULT "Microsoft.RecoveryServices/vaults"
#define TYPE_VM "Microsoft.Compute/virtualMachines"
#define API_RS "2023-06-01"
#define API_COMPUTE "2023-09-01"
#define API_KEYVAULT "2023-07-01"

static const ctl_column vault_cols[] = {{"NAME", "name"},
                                        {"LOCATION", "location"},
                                        {"STATE", "properties.provisioningState"},
                                        {"IDENTITY", "identity.principalId"},
                                        {NULL, NULL}};
static const ctl_column job_cols[] = {{"NAME", "name"},
                                      {"OPERATION", "properties.operation"},
                                      {"STATUS", "properties.status"},
                                      {"ENTITY", "properties.entityFriendlyName"},
                                      {"START", "properties.startTime"},
                                      {"ERROR", "properties.errorDetails.0.errorTitle"},
                                      {NULL, NULL}};
static const ctl_column item_cols[] = {{"NAME", "name"},
                                       {"VM", "properties.friendlyName"},
                                       {"STATE", "properties.protectionState"},
                                       {"POLICY", "properties.policyName"},
                                       {"LAST BACKUP", "properties.lastBackupStatus"},
                                       {NULL, NULL}};
static const ctl_column rp_cols[] = {{"NAME", "name"},
                                     {"TIME", "properties.recoveryPointTime"},
                                     {"TYPE", "properties.recoveryPointType"},
                                     {"SECURITY", "properties.securityType"},
                                     {NULL, NULL}};

/* ---- paths ---- */

/* vault_path writes the vault's path from --vault and -g. */
static int vault_path(ctl *c, const chsmc_opts *o, char *out, size_t n, chsmc_error *e)
{
    const char *vault = chsmc_opts_get(o, "vault");
    if (!vault)
        return chsmc_error_set(e, CHSMC_EUSAGE, "MissingVault",
                               "name the Recovery Services vault with --vault");
    return ctl_rg_path(c, o, TYPE_RS_VAULT, vault, out, n, e);
}

/* vm_rg is --vm-resource-group, else the vault's -g. */
static const char *vm_rg(const chsmc_opts *o)
{
    const char *g = chsmc_opts_get(o, "vm-resource-group");
    return g ? g : ctl_resource_group(o);
}

/* vm_id writes the VM's id (--vm is a name in the VM's resource group or an id) and its
 * resource group and name. */
static int vm_id(ctl *c, const chsmc_opts *o, char *out, size_t n, char *rg, size_t rgn, char *name,
                 size_t namen, chsmc_error *e)
{
    const char *vm = chsmc_opts_get(o, "vm");
    if (!vm)
        return chsmc_error_set(e, CHSMC_EUSAGE, "MissingVm", "name the virtual machine with --vm");
    if (vm[0] == '/') {
        chsmc_copy(out, n, vm);
        const char *p = strstr(vm, "/resourceGroups/");
        if (!p)
            p = strstr(vm, "/resourcegroups/");
        const char *last = strrchr(vm, '/');
        if (!p || !last || !strstr(vm, "/virtualMachines/"))
            return chsmc_error_set(e, CHSMC_EUSAGE, "InvalidVm",
                                   "--vm '%s' is not a virtual machine id", vm);
        p += strlen("/resourceGroups/");
        snprintf(rg, rgn, "%.*s", (int)strcspn(p, "/"), p);
        chsmc_copy(name, namen, last + 1);
        return CHSMC_OK;
    }
    const char *g = vm_rg(o);
    if (!g)
        return chsmc_error_set(e, CHSMC_EUSAGE, "MissingResourceGroup",
                               "name the resource group with -g (or --vm-resource-group)");
    if (!chsmc_valid_name(vm, 64, "-_.") || !chsmc_valid_name(g, 90, "-_.()"))
        return chsmc_error_set(e, CHSMC_EUSAGE, "InvalidName", "invalid VM or group name");
    chsmc_path_resource(c->ep.subscription, g, TYPE_VM, vm, out, n);
    chsmc_copy(rg, rgn, g);
    chsmc_copy(name, namen, vm);
    return CHSMC_OK;
}

/* item_path writes the protected item's path for VM vmname in resource group rg. */
static void item_path(const char *vault, const char *rg, const char *vmname, char *out, size_t n)
{
    snprintf(out, n,
             "%s/backupFabrics/Azure/protectionContainers/IaasVMContainer;iaasvmcontainerv2;%s;%s"
             "/protectedItems/VM;iaasvmcontainerv2;%s;%s",
             vault, rg, vmname, rg, vmname);
}

/* resolve_item fills the vault path and the item path from --vault, -g and --vm. */
static int resolve_item(ctl *c, const chsmc_opts *o, char *vault, size_t vn, char *item, size_t in,
                        chsmc_error *e)
{
    char vm[700], rg[128], name[128];
    int rc = vault_path(c, o, vault, vn, e);
    if (rc == CHSMC_OK)
        rc = vm_id(c, o, vm, sizeof vm, rg, sizeof rg, name, sizeof name, e);
    if (rc == CHSMC_OK)
        item_path(vault, rg, name, item, in);
    return rc;
}

/* ---- backup vault ---- */

static const char vcreate_usage[] =
    "usage: chsmctl backup vault create NAME -g RG [--location LOC] [--no-identity]\n"
    "Creates a Recovery Services vault (PUT Microsoft.RecoveryServices/vaults, 2023-06-01)\n"
    "with a system-assigned identity (unless --no-identity). It comes with DefaultPolicy (V1)\n"
    "and EnhancedPolicy (V2); confidential VMs need the Enhanced one.\n";

static int cmd_vault_create(ctl *c, int argc, char **argv)
{
    static const chsmc_opt_spec specs[] = {{"help", 'h', 0},
                                           {"resource-group", 'g', 1},
                                           {"location", 'l', 1},
                                           {"no-identity", 0, 0},
                                           {"wait", 0, 0}};
    chsmc_opts o;
    int rc = ctl_parse(vcreate_usage, specs, CTL_N(specs), argc, argv, &o, 1, 1);
    if (rc)
        return ctl_done(rc);
    chsmc_error e;
    chsmc_error_clear(&e);
    char path[700];
    rc = ctl_rg_path(c, &o, TYPE_RS_VAULT, o.positionals[0], path, sizeof path, &e);
    if (rc != CHSMC_OK)
        return ctl_error("backup vault create", rc, &e);
    const char *loc = chsmc_opts_get(&o, "location");
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "location", loc ? loc : CTL_DEFAULT_LOCATION);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(body, "sku"), "name", "Standard");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(body, "properties"), "publicNetworkAccess",
                            "Enabled");
    if (!chsmc_opts_has(&o, "no-identity"))
        cJSON_AddStringToObject(cJSON_AddObjectToObject(body, "identity"), "type",
                                "SystemAssigned");
    cJSON *res = NULL;
    rc = ctl_arm(c, "PUT", path, API_RS, body, 1, "backup vault create", &res, &e);
    cJSON_Delete(body);
    if (rc != CHSMC_OK)
        return ctl_error("backup vault create", rc, &e);
    ctl_print(c, res, vault_cols);
    cJSON_Delete(res);
    return CHSMC_OK;
}

static int cmd_vault_show(ctl *c, int argc, char **argv)
{
    static const char usage[] = "usage: chsmctl backup vault show NAME -g RG\n";
    return ctl_simple(c, "backup vault show", usage, "GET", TYPE_RS_VAULT, API_RS, vault_cols, argc,
                      argv);
}

static int cmd_vault_delete(ctl *c, int argc, char **argv)
{
    static const char usage[] = "usage: chsmctl backup vault delete NAME -g RG\n"
                                "Deletes an empty vault (409 while items are protected).\n";
    return ctl_simple(c, "backup vault delete", usage, "DELETE", TYPE_RS_VAULT, API_RS, vault_cols,
                      argc, argv);
}

static const char policies_usage[] = "usage: chsmctl backup vault policies NAME -g RG\n"
                                     "Lists the vault's backup policies.\n";

static int cmd_vault_policies(ctl *c, int argc, char **argv)
{
    static const chsmc_opt_spec specs[] = {{"help", 'h', 0}, {"resource-group", 'g', 1}};
    static const ctl_column cols[] = {{"NAME", "name"},
                                      {"TYPE", "properties.policyType"},
                                      {"ITEMS", "properties.protectedItemsCount"},
                                      {NULL, NULL}};
    chsmc_opts o;
    int rc = ctl_parse(policies_usage, specs, CTL_N(specs), argc, argv, &o, 1, 1);
    if (rc)
        return ctl_done(rc);
    chsmc_error e;
    chsmc_error_clear(&e);
    char path[800];
    cJSON *items = NULL;
    rc = ctl_rg_path(c, &o, TYPE_RS_VAULT, o.positionals[0], path, sizeof path - 20, &e);
    if (rc == CHSMC_OK) {
        strcat(path, "/backupPolicies");
        rc = ctl_list(c, path, API_RS, &items, &e);
    }
    if (rc != CHSMC_OK)
        return ctl_error("backup vault policies", rc, &e);
    ctl_print(c, items, cols);
    cJSON_Delete(items);
    return CHSMC_OK;
}

int ctl_cmd_backup_vault(ctl *c, int argc, char **argv)
{
    static const ctl_command cmds[] = {
        {"create", cmd_vault_create, "create a Recovery Services vault"},
        {"show", cmd_vault_show, "show a vault"},
        {"delete", cmd_vault_delete, "delete a vault"},
        {"policies", cmd_vault_policies, "list a vault's backup policies"},
        {NULL, NULL, NULL}};
    return ctl_group_run(c, "backup vault", "Recovery Services vaults.", cmds, argc, argv);
}

/* ---- the portal's grant ---- */

/* key_location parses a key URL into kind ('h' Managed HSM, 'v' Key Vault), the HSM or
 * vault name and the key name; 0 when it is neither form. */
static int key_location(const char *url, const char *arm_url, char *kind, char *name, size_t nn,
                        char *key, size_t kn)
{
    const char *rest = NULL;
    size_t al = strlen(arm_url);
    if (strncmp(url, arm_url, al) == 0 &&
        (strncmp(url + al, "/mhsm/", 6) == 0 || strncmp(url + al, "/kv/", 4) == 0)) {
        *kind = url[al + 1] == 'm' ? 'h' : 'v';
        const char *n = url + al + (*kind == 'h' ? 6 : 4);
        snprintf(name, nn, "%.*s", (int)strcspn(n, "/"), n);
        rest = n + strcspn(n, "/");
    } else {
        const char *host = strstr(url, "://");
        if (!host)
            return 0;
        host += 3;
        size_t hl = strcspn(host, "/");
        size_t label = strcspn(host, ".");
        if (label >= hl)
            return 0;
        const char *domain = host + label + 1;
        if (strncmp(domain, "managedhsm.", 11) == 0)
            *kind = 'h';
        else if (strncmp(domain, "vault.", 6) == 0)
            *kind = 'v';
        else
            return 0;
        snprintf(name, nn, "%.*s", (int)label, host);
        rest = host + hl;
    }
    if (strncmp(rest, "/keys/", 6) != 0)
        return 0;
    rest += 6;
    snprintf(key, kn, "%.*s", (int)strcspn(rest, "/?"), rest);
    return name[0] && key[0];
}

/* find_key_vault writes the ARM id of the Key Vault named name (listing the subscription). */
static int find_key_vault(ctl *c, const char *name, char *out, size_t n, cJSON **vault,
                          chsmc_error *e)
{
    char path[300];
    snprintf(path, sizeof path, "/subscriptions/%s/providers/Microsoft.KeyVault/vaults",
             c->ep.subscription);
    cJSON *items = NULL;
    int rc = ctl_list(c, path, API_KEYVAULT, &items, e);
    if (rc != CHSMC_OK)
        return rc;
    cJSON *it;
    cJSON_ArrayForEach(it, items)
    {
        if (chsmc_streq_ci(cJSON_GetStringValue(cJSON_GetObjectItem(it, "name")), name)) {
            chsmc_copy(out, n, cJSON_GetStringValue(cJSON_GetObjectItem(it, "id")));
            *vault = cJSON_Duplicate(it, 1);
            cJSON_Delete(items);
            return CHSMC_OK;
        }
    }
    cJSON_Delete(items);
    return chsmc_error_set(e, CHSMC_EHTTP, "VaultNotFound",
                           "the Key Vault '%s' of the disk encryption key was not found", name);
}

/* grant_like_portal gives the Backup Management Service access to the customer-managed
 * key of VM vm (a GET body) as the portal does; says what it did on stderr. */
static int grant_like_portal(ctl *c, const cJSON *vm, chsmc_error *e)
{
    const char *vmname = cJSON_GetStringValue(cJSON_GetObjectItem(vm, "name"));
    const char *sec = cJSON_GetStringValue(ctl_jget(vm, "properties.securityProfile.securityType"));
    const char *des = cJSON_GetStringValue(ctl_jget(
        vm, "properties.storageProfile.osDisk.managedDisk.securityProfile.diskEncryptionSet.id"));
    if (!chsmc_streq_ci(sec, "ConfidentialVM") || !des) {
        fprintf(stderr,
                "--grant-like-portal: %s is not a confidential VM with a disk encryption set; "
                "nothing to grant\n",
                vmname ? vmname : "the VM");
        return CHSMC_OK;
    }
    cJSON *set = NULL;
    int rc = chsmc_arm_call(c->client, "GET", des, API_COMPUTE, NULL, NULL, &set, e);
    if (rc != CHSMC_OK)
        return rc;
    const char *etype = cJSON_GetStringValue(ctl_jget(set, "properties.encryptionType"));
    const char *url = cJSON_GetStringValue(ctl_jget(set, "properties.activeKey.keyUrl"));
    char kind = 0, owner[128] = "", key[128] = "";
    if (!chsmc_streq_ci(etype, "ConfidentialVmEncryptedWithCustomerKey") || !url) {
        fprintf(stderr, "--grant-like-portal: the disk encryption set does not use a "
                        "customer-managed key for a confidential VM; nothing to grant\n");
        cJSON_Delete(set);
        return CHSMC_OK;
    }
    if (!key_location(url, c->ep.arm_url, &kind, owner, sizeof owner, key, sizeof key)) {
        rc = chsmc_error_set(e, CHSMC_EFAIL, "UnknownKeyUrl",
                             "cannot tell where the key '%s' is kept", url);
        cJSON_Delete(set);
        return rc;
    }
    cJSON_Delete(set);
    if (kind == 'h') {
        char scope[200];
        snprintf(scope, sizeof scope, "/keys/%s", key);
        rc = ctl_mhsm_assign(c, owner, scope, CTL_MHSM_ROLE_CRYPTO_USER, CTL_BMS_OBJECT_ID, NULL,
                             NULL, e);
        if (rc != CHSMC_OK) {
            chsmc_error_prefix(e, "granting the Backup Management Service access to the key: ");
            return rc;
        }
        fprintf(stderr,
                "granted the Backup Management Service (object id " CTL_BMS_OBJECT_ID
                ") the Managed HSM Crypto User role on %s of Managed HSM %s, as the portal "
                "does\n",
                scope, owner);
        return CHSMC_OK;
    }
    char vid[600];
    cJSON *kv = NULL;
    rc = find_key_vault(c, owner, vid, sizeof vid, &kv, e);
    if (rc != CHSMC_OK)
        return rc;
    int rbac = cJSON_IsTrue(ctl_jget(kv, "properties.enableRbacAuthorization"));
    char tenant[64];
    ctl_jstr(kv, "properties.tenantId", tenant, sizeof tenant);
    cJSON_Delete(kv);
    if (rbac)
        return chsmc_error_set(e, CHSMC_EFAIL, "RbacVault",
                               "the Key Vault '%s' uses Azure RBAC: assign the Backup Management "
                               "Service (" CTL_BMS_OBJECT_ID
                               ") a role with Microsoft.KeyVault/vaults/keys/read and "
                               "keys/backup/action on the key yourself (chsmctl role assign)",
                               owner);
    char path[800];
    snprintf(path, sizeof path, "%s/accessPolicies/add", vid);
    cJSON *body = cJSON_CreateObject();
    cJSON *list =
        cJSON_AddArrayToObject(cJSON_AddObjectToObject(body, "properties"), "accessPolicies");
    cJSON *entry = cJSON_CreateObject();
    cJSON_AddItemToArray(list, entry);
    cJSON_AddStringToObject(entry, "tenantId", tenant[0] ? tenant : c->ep.tenant);
    cJSON_AddStringToObject(entry, "objectId", CTL_BMS_OBJECT_ID);
    cJSON *perm = cJSON_AddObjectToObject(entry, "permissions");
    static const char *const three[] = {"get", "list", "backup"};
    cJSON_AddItemToObject(perm, "keys", cJSON_CreateStringArray(three, 3));
    cJSON_AddItemToObject(perm, "secrets", cJSON_CreateStringArray(three, 3));
    rc = chsmc_arm_call(c->client, "PUT", path, API_KEYVAULT, body, NULL, NULL, e);
    cJSON_Delete(body);
    if (rc != CHSMC_OK) {
        chsmc_error_prefix(e, "granting the Backup Management Service access to the key: ");
        return rc;
    }
    fprintf(stderr,
            "added an access policy for the Backup Management Service (object id " CTL_BMS_OBJECT_ID
            ") to Key Vault %s: keys and secrets get, list, backup, as the portal does\n",
            owner);
    return CHSMC_OK;
}

/* ---- protect ---- */

/* follow_job follows an operation URL to its end and loads its job into *job (NULL when
 * the operation names none). */
static int follow_job(ctl *c, const char *url, const char *vault, const char *what, cJSON **job,
                      chsmc_error *e)
{
    *job = NULL;
    chsmc_wait_opts w;
    ctl_wait_opts(c, &w, what);
    cJSON *st = NULL;
    int rc = chsmc_lro_follow(c->client, url, &w, &st, e);
    ctl_progress_end();
    if (rc != CHSMC_OK) {
        cJSON_Delete(st);
        return rc;
    }
    const char *jid = cJSON_GetStringValue(ctl_jget(st, "properties.jobId"));
    if (jid) {
        char path[1200];
        snprintf(path, sizeof path, "%s/backupJobs/%s", vault, jid);
        rc = chsmc_arm_call(c->client, "GET", path, API_RS, NULL, NULL, job, e);
        cJSON_Delete(st);
        return rc;
    }
    *job = st;
    return CHSMC_OK;
}

/* job_outcome turns a Failed job into exit code 4 with its error. */
static int job_outcome(const char *what, const cJSON *job)
{
    const char *status = cJSON_GetStringValue(ctl_jget(job, "properties.status"));
    if (!chsmc_streq_ci(status, "Failed") && !chsmc_streq_ci(status, "Cancelled"))
        return CHSMC_OK;
    chsmc_error e;
    chsmc_error_clear(&e);
    ctl_jstr(job, "properties.errorDetails.0.errorTitle", e.code, sizeof e.code);
    ctl_jstr(job, "properties.errorDetails.0.errorString", e.message, sizeof e.message);
    if (!e.message[0])
        snprintf(e.message, sizeof e.message, "the job ended %s", status);
    return ctl_error(what, CHSMC_EOPFAILED, &e);
}

static const char protect_usage[] =
    "usage: chsmctl backup protect --vault VAULT -g RG --vm VM [--vm-resource-group RG2]\n"
    "                              [--policy NAME] [--grant-like-portal] [--no-wait]\n"
    "Enables protection of a VM (az backup protection enable-for-vm): refreshes the\n"
    "containers, finds the VM among the protectable items, PUTs the protected item (202) and\n"
    "follows the operation; prints the ConfigureBackup job. The default policy is\n"
    "EnhancedPolicy (confidential VMs need an Enhanced one).\n"
    "A confidential VM whose disk key is customer-managed fails with\n"
    "UserErrorKeyVaultPermissionsNotConfigured (exit 4) until the Backup Management Service\n"
    "may read and back up the key. --grant-like-portal grants that first, as configuring\n"
    "backup in the portal does: Managed HSM Crypto User on the key (Managed HSM), or an\n"
    "access policy with keys and secrets get/list/backup (access-policy Key Vault).\n";

static int cmd_protect(ctl *c, int argc, char **argv)
{
    static const chsmc_opt_spec specs[] = {
        {"help", 'h', 0},  {"resource-group", 'g', 1},  {"vault", 0, 1},
        {"vm", 0, 1},      {"vm-resource-group", 0, 1}, {"policy", 0, 1},
        {"no-wait", 0, 0}, {"grant-like-portal", 0, 0}};
    chsmc_opts o;
    int rc = ctl_parse(protect_usage, specs, CTL_N(specs), argc, argv, &o, 0, 0);
    if (rc)
        return ctl_done(rc);
    const char *policy = chsmc_opts_get(&o, "policy");
    if (!policy)
        policy = "EnhancedPolicy";
    if (!chsmc_valid_name(policy, 150, "-_."))
        return ctl_usage_error("invalid policy name '%s'", policy);
    chsmc_error e;
    chsmc_error_clear(&e);
    char vault[700], vm[700], rg[128], vmname[128];
    rc = vault_path(c, &o, vault, sizeof vault, &e);
    if (rc == CHSMC_OK)
        rc = vm_id(c, &o, vm, sizeof vm, rg, sizeof rg, vmname, sizeof vmname, &e);
    cJSON *vmj = NULL, *res = NULL, *items = NULL, *body = NULL, *job = NULL;
    if (rc == CHSMC_OK)
        rc = chsmc_arm_call(c->client, "GET", vm, API_COMPUTE, NULL, NULL, &vmj, &e);
    if (rc == CHSMC_OK && chsmc_opts_has(&o, "grant-like-portal"))
        rc = grant_like_portal(c, vmj, &e);
    /* Discovery, as az does it. */
    char path[1400];
    if (rc == CHSMC_OK) {
        snprintf(path, sizeof path, "%s/backupFabrics/Azure/refreshContainers", vault);
        rc = ctl_arm(c, "POST", path, API_RS, NULL, 1, "refresh containers", NULL, &e);
    }
    if (rc == CHSMC_OK) {
        snprintf(
            path, sizeof path,
            "%s/backupProtectableItems?%%24filter=backupManagementType%%20eq%%20%%27AzureIaasVM"
            "%%27",
            vault);
        rc = ctl_list(c, path, API_RS, &items, &e);
    }
    char container[300] = "", itemname[300] = "";
    if (rc == CHSMC_OK) {
        const char *vid = cJSON_GetStringValue(cJSON_GetObjectItem(vmj, "id"));
        cJSON *it;
        cJSON_ArrayForEach(it, items)
        {
            const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(it, "id"));
            const char *pv = cJSON_GetStringValue(ctl_jget(it, "properties.virtualMachineId"));
            const char *pc = id ? strstr(id, "/protectionContainers/") : NULL;
            const char *pi = id ? strstr(id, "/protectableItems/") : NULL;
            if (!pc || !pi || !chsmc_streq_ci(pv, vid ? vid : vm))
                continue;
            pc += strlen("/protectionContainers/");
            snprintf(container, sizeof container, "%.*s", (int)(pi - pc), pc);
            chsmc_copy(itemname, sizeof itemname, pi + strlen("/protectableItems/"));
        }
        if (!container[0])
            rc = chsmc_error_set(&e, CHSMC_EFAIL, "VmNotProtectable",
                                 "the VM %s is not among the vault's protectable items (is it "
                                 "in the vault's region, and not protected already?)",
                                 vmname);
    }
    if (rc == CHSMC_OK) {
        snprintf(path, sizeof path,
                 "%s/backupFabrics/Azure/protectionContainers/%s/protectedItems/%s", vault,
                 container, itemname);
        body = cJSON_CreateObject();
        cJSON *p = cJSON_AddObjectToObject(body, "properties");
        cJSON_AddStringToObject(p, "protectedItemType", TYPE_VM);
        cJSON_AddStringToObject(p, "sourceResourceId",
                                cJSON_GetStringValue(cJSON_GetObjectItem(vmj, "id")));
        char pol[900];
        snprintf(pol, sizeof pol, "%s/backupPolicies/%s", vault, policy);
        cJSON_AddStringToObject(p, "policyId", pol);
        rc = ctl_arm(c, "PUT", path, API_RS, body, 0, "backup protect", &res, &e);
    }
    const char *loc = cJSON_GetStringValue(cJSON_GetObjectItem(res, "location"));
    if (rc == CHSMC_OK && !chsmc_opts_has(&o, "no-wait") && loc) {
        rc = follow_job(c, loc, vault, "backup protect", &job, &e);
    } else if (rc == CHSMC_OK) {
        job = res;
        res = NULL;
    }
    cJSON_Delete(vmj);
    cJSON_Delete(items);
    cJSON_Delete(body);
    cJSON_Delete(res);
    if (rc != CHSMC_OK) {
        cJSON_Delete(job);
        return ctl_error("backup protect", rc, &e);
    }
    ctl_print(c, job, job_cols);
    rc = job_outcome("backup protect", job);
    cJSON_Delete(job);
    return rc;
}

int ctl_cmd_backup_protect(ctl *c, int argc, char **argv)
{
    return cmd_protect(c, argc, argv);
}

/* post_and_follow POSTs body (caller keeps it) to path for command what; with wait it follows
 * the Backup job the answer's location names, prints it and returns its outcome, else (or
 * when there is no location) it prints the answer. */
static int post_and_follow(ctl *c, const char *path, const cJSON *body, const char *vault,
                           const char *what, int wait, chsmc_error *e)
{
    cJSON *res = NULL, *job = NULL;
    int rc = ctl_arm(c, "POST", path, API_RS, body, 0, what, &res, e);
    const char *loc = cJSON_GetStringValue(cJSON_GetObjectItem(res, "location"));
    if (rc == CHSMC_OK && wait && loc)
        rc = follow_job(c, loc, vault, what, &job, e);
    if (rc != CHSMC_OK) {
        cJSON_Delete(res);
        return ctl_error(what, rc, e);
    }
    if (!job) {
        ctl_print_json(res);
        cJSON_Delete(res);
        return CHSMC_OK;
    }
    cJSON_Delete(res);
    ctl_print(c, job, job_cols);
    rc = job_outcome(what, job);
    cJSON_Delete(job);
    return rc;
}

/* ---- backup now ---- */

static const char now_usage[] =
    "usage: chsmctl backup now --vault VAULT -g RG --vm VM [--vm-resource-group RG2]\n"
    "                          [--retain-until YYYY-MM-DDThh:mm:ssZ] [--wait]\n"
    "Starts an on-demand backup (POST {item}/backup, 202). --wait follows the operation\n"
    "and prints the Backup job; a job that failed (e.g. the key grant was removed) is\n"
    "exit 4 with its error.\n";

static int cmd_now(ctl *c, int argc, char **argv)
{
    static const chsmc_opt_spec specs[] = {
        {"help", 'h', 0}, {"resource-group", 'g', 1},  {"vault", 0, 1},
        {"vm", 0, 1},     {"vm-resource-group", 0, 1}, {"retain-until", 0, 1},
        {"wait", 0, 0}};
    chsmc_opts o;
    int rc = ctl_parse(now_usage, specs, CTL_N(specs), argc, argv, &o, 0, 0);
    if (rc)
        return ctl_done(rc);
    chsmc_error e;
    chsmc_error_clear(&e);
    char vault[700], item[1400], path[1500];
    rc = resolve_item(c, &o, vault, sizeof vault, item, sizeof item, &e);
    if (rc != CHSMC_OK)
        return ctl_error("backup now", rc, &e);
    cJSON *body = cJSON_CreateObject();
    cJSON *p = cJSON_AddObjectToObject(body, "properties");
    cJSON_AddStringToObject(p, "objectType", "IaasVMBackupRequest");
    const char *until = chsmc_opts_get(&o, "retain-until");
    if (until)
        cJSON_AddStringToObject(p, "recoveryPointExpiryTimeInUTC", until);
    snprintf(path, sizeof path, "%s/backup", item);
    rc = post_and_follow(c, path, body, vault, "backup now", chsmc_opts_has(&o, "wait"), &e);
    cJSON_Delete(body);
    return rc;
}

int ctl_cmd_backup_now(ctl *c, int argc, char **argv)
{
    return cmd_now(c, argc, argv);
}

/* ---- jobs ---- */

static const char jlist_usage[] =
    "usage: chsmctl backup jobs list --vault VAULT -g RG [--operation OP] [--status STATUS]\n"
    "Lists the vault's backup jobs, newest first (GET {vault}/backupJobs with $filter).\n"
    "OP: ConfigureBackup, Backup, Restore, DisableBackup, DeleteBackupData. STATUS:\n"
    "InProgress, Completed, Failed, CompletedWithWarnings, Cancelled.\n";

static int cmd_jobs_list(ctl *c, int argc, char **argv)
{
    static const chsmc_opt_spec specs[] = {{"help", 'h', 0},
                                           {"resource-group", 'g', 1},
                                           {"vault", 0, 1},
                                           {"operation", 0, 1},
                                           {"status", 0, 1}};
    chsmc_opts o;
    int rc = ctl_parse(jlist_usage, specs, CTL_N(specs), argc, argv, &o, 0, 0);
    if (rc)
        return ctl_done(rc);
    const char *op = chsmc_opts_get(&o, "operation");
    const char *st = chsmc_opts_get(&o, "status");
    if ((op && !chsmc_valid_name(op, 40, "")) || (st && !chsmc_valid_name(st, 40, "")))
        return ctl_usage_error("--operation and --status are single words");
    chsmc_error e;
    chsmc_error_clear(&e);
    char vault[700], path[1200];
    rc = vault_path(c, &o, vault, sizeof vault, &e);
    if (rc != CHSMC_OK)
        return ctl_error("backup jobs list", rc, &e);
    int n = snprintf(path, sizeof path, "%s/backupJobs", vault);
    if (op || st)
        snprintf(path + n, sizeof path - (size_t)n, "?%%24filter=%s%s%s%s%s%s%s",
                 op ? "operation%20eq%20%27" : "", op ? op : "", op ? "%27" : "",
                 op && st ? "%20and%20" : "", st ? "status%20eq%20%27" : "", st ? st : "",
                 st ? "%27" : "");
    cJSON *items = NULL;
    rc = ctl_list(c, path, API_RS, &items, &e);
    if (rc != CHSMC_OK)
        return ctl_error("backup jobs list", rc, &e);
    ctl_print(c, items, job_cols);
    cJSON_Delete(items);
    return CHSMC_OK;
}

static const char jshow_usage[] =
    "usage: chsmctl backup jobs show JOB --vault VAULT -g RG [--wait]\n"
    "Shows a job (GET {vault}/backupJobs/{id}). --wait polls it until it is no longer\n"
    "InProgress or Cancelling; a Failed or Cancelled job then exits 4 with its error.\n";

static int cmd_jobs_show(ctl *c, int argc, char **argv)
{
    static const chsmc_opt_spec specs[] = {
        {"help", 'h', 0}, {"resource-group", 'g', 1}, {"vault", 0, 1}, {"wait", 0, 0}};
    chsmc_opts o;
    int rc = ctl_parse(jshow_usage, specs, CTL_N(specs), argc, argv, &o, 1, 1);
    if (rc)
        return ctl_done(rc);
    if (!chsmc_valid_name(o.positionals[0], 64, "-"))
        return ctl_usage_error("a job name is a GUID");
    chsmc_error e;
    chsmc_error_clear(&e);
    char vault[700], path[1200];
    rc = vault_path(c, &o, vault, sizeof vault, &e);
    if (rc != CHSMC_OK)
        return ctl_error("backup jobs show", rc, &e);
    snprintf(path, sizeof path, "%s/backupJobs/%s", vault, o.positionals[0]);
    int wait = chsmc_opts_has(&o, "wait");
    long long deadline = chsmc_now_ms() + (long long)c->timeout_s * 1000;
    cJSON *job = NULL;
    char last[64] = "";
    for (;;) {
        rc = chsmc_arm_call(c->client, "GET", path, API_RS, NULL, NULL, &job, &e);
        if (rc != CHSMC_OK)
            return ctl_error("backup jobs show", rc, &e);
        char status[64];
        ctl_jstr(job, "properties.status", status, sizeof status);
        int running = chsmc_streq_ci(status, "InProgress") || chsmc_streq_ci(status, "Cancelling");
        if (!wait || !running)
            break;
        if (!c->quiet && strcmp(last, status) != 0)
            fprintf(stderr, "backup jobs show: %s\n", status);
        chsmc_copy(last, sizeof last, status);
        cJSON_Delete(job);
        job = NULL;
        if (chsmc_now_ms() >= deadline) {
            chsmc_error_set(&e, CHSMC_ETIMEOUT, "Timeout", "the job is still %s after %d s", status,
                            c->timeout_s);
            return ctl_error("backup jobs show", CHSMC_ETIMEOUT, &e);
        }
        chsmc_sleep_ms(1000);
    }
    ctl_print(c, job, job_cols);
    rc = wait ? job_outcome("backup jobs show", job) : CHSMC_OK;
    cJSON_Delete(job);
    return rc;
}

int ctl_cmd_backup_jobs(ctl *c, int argc, char **argv)
{
    static const ctl_command cmds[] = {{"list", cmd_jobs_list, "list a vault's backup jobs"},
                                       {"show", cmd_jobs_show, "show (or --wait for) a job"},
                                       {NULL, NULL, NULL}};
    return ctl_group_run(c, "backup jobs", "Azure Backup jobs.", cmds, argc, argv);
}

/* ---- protected items and recovery points ---- */

static const char items_usage[] = "usage: chsmctl backup items --vault VAULT -g RG\n"
                                  "Lists the vault's protected items.\n";

static int cmd_items(ctl *c, int argc, char **argv)
{
    static const chsmc_opt_spec specs[] = {
        {"help", 'h', 0}, {"resource-group", 'g', 1}, {"vault", 0, 1}};
    chsmc_opts o;
    int rc = ctl_parse(items_usage, specs, CTL_N(specs), argc, argv, &o, 0, 0);
    if (rc)
        return ctl_done(rc);
    chsmc_error e;
    chsmc_error_clear(&e);
    char vault[700], path[900];
    cJSON *items = NULL;
    rc = vault_path(c, &o, vault, sizeof vault, &e);
    if (rc == CHSMC_OK) {
        snprintf(path, sizeof path, "%s/backupProtectedItems", vault);
        rc = ctl_list(c, path, API_RS, &items, &e);
    }
    if (rc != CHSMC_OK)
        return ctl_error("backup items", rc, &e);
    ctl_print(c, items, item_cols);
    cJSON_Delete(items);
    return CHSMC_OK;
}

static const char rp_usage[] =
    "usage: chsmctl backup rp list --vault VAULT -g RG --vm VM [--vm-resource-group RG2]\n"
    "       chsmctl backup rp show RP --vault VAULT -g RG --vm VM [--vm-resource-group RG2]\n"
    "Lists a protected VM's recovery points (newest first) or shows one.\n";

static int rp_cmd(ctl *c, int show, int argc, char **argv)
{
    static const chsmc_opt_spec specs[] = {{"help", 'h', 0},
                                           {"resource-group", 'g', 1},
                                           {"vault", 0, 1},
                                           {"vm", 0, 1},
                                           {"vm-resource-group", 0, 1}};
    chsmc_opts o;
    int rc = ctl_parse(rp_usage, specs, CTL_N(specs), argc, argv, &o, show, show);
    if (rc)
        return ctl_done(rc);
    if (show && !chsmc_valid_name(o.positionals[0], 64, ""))
        return ctl_usage_error("a recovery point name is a number");
    chsmc_error e;
    chsmc_error_clear(&e);
    char vault[700], item[1400], path[1500];
    cJSON *res = NULL;
    rc = resolve_item(c, &o, vault, sizeof vault, item, sizeof item, &e);
    if (rc == CHSMC_OK) {
        snprintf(path, sizeof path, "%s/recoveryPoints%s%s", item, show ? "/" : "",
                 show ? o.positionals[0] : "");
        rc = show ? chsmc_arm_call(c->client, "GET", path, API_RS, NULL, NULL, &res, &e)
                  : ctl_list(c, path, API_RS, &res, &e);
    }
    if (rc != CHSMC_OK)
        return ctl_error(show ? "backup rp show" : "backup rp list", rc, &e);
    ctl_print(c, res, rp_cols);
    cJSON_Delete(res);
    return CHSMC_OK;
}

int ctl_cmd_backup_items(ctl *c, int argc, char **argv)
{
    return cmd_items(c, argc, argv);
}

static int cmd_rp_list(ctl *c, int argc, char **argv)
{
    return rp_cmd(c, 0, argc, argv);
}

static int cmd_rp_show(ctl *c, int argc, char **argv)
{
    return rp_cmd(c, 1, argc, argv);
}

int ctl_cmd_backup_rp(ctl *c, int argc, char **argv)
{
    static const ctl_command cmds[] = {{"list", cmd_rp_list, "list a VM's recovery points"},
                                       {"show", cmd_rp_show, "show a recovery point"},
                                       {NULL, NULL, NULL}};
    return ctl_group_run(c, "backup rp", "Recovery points.", cmds, argc, argv);
}

/* ---- restore ---- */

static const char restore_usage[] =
    "usage: chsmctl backup restore-disks --vault VAULT -g RG --vm VM --rp RP\n"
    "                                    --storage-account NAME|ID\n"
    "                                    [--target-resource-group RG2]\n"
    "                                    [--disk-encryption-set ID] [--vm-resource-group RG3]\n"
    "                                    [--no-wait]\n"
    "Restores a recovery point's disks (POST {rp}/restore, IaasVMRestoreRequest with\n"
    "recoveryType RestoreDisks): the managed disks are created in the target resource group\n"
    "(default: the VM's). For a confidential VM, --disk-encryption-set passes\n"
    "securedVMDetails.securedVMOsDiskEncryptionSetId. Follows the operation and prints the\n"
    "Restore job.\n";

static int cmd_restore_disks(ctl *c, int argc, char **argv)
{
    static const chsmc_opt_spec specs[] = {{"help", 'h', 0},
                                           {"resource-group", 'g', 1},
                                           {"vault", 0, 1},
                                           {"vm", 0, 1},
                                           {"vm-resource-group", 0, 1},
                                           {"rp", 0, 1},
                                           {"storage-account", 0, 1},
                                           {"target-resource-group", 0, 1},
                                           {"disk-encryption-set", 0, 1},
                                           {"no-wait", 0, 0}};
    chsmc_opts o;
    int rc = ctl_parse(restore_usage, specs, CTL_N(specs), argc, argv, &o, 0, 0);
    if (rc)
        return ctl_done(rc);
    const char *rp = chsmc_opts_get(&o, "rp");
    const char *sa = chsmc_opts_get(&o, "storage-account");
    const char *target = chsmc_opts_get(&o, "target-resource-group");
    const char *des = chsmc_opts_get(&o, "disk-encryption-set");
    if (!rp || !sa)
        return ctl_usage_error("backup restore-disks needs --rp and --storage-account");
    if (!chsmc_valid_name(rp, 64, "") || (target && !chsmc_valid_name(target, 90, "-_.()")))
        return ctl_usage_error("invalid --rp or --target-resource-group");
    chsmc_error e;
    chsmc_error_clear(&e);
    char vault[700], item[1400], path[1600], vm[700], rg[128], vmname[128], said[700];
    rc = resolve_item(c, &o, vault, sizeof vault, item, sizeof item, &e);
    if (rc == CHSMC_OK)
        rc = vm_id(c, &o, vm, sizeof vm, rg, sizeof rg, vmname, sizeof vmname, &e);
    if (rc != CHSMC_OK)
        return ctl_error("backup restore-disks", rc, &e);
    if (sa[0] == '/')
        chsmc_copy(said, sizeof said, sa);
    else
        chsmc_path_resource(c->ep.subscription, ctl_resource_group(&o), CHSMC_TYPE_STORAGE, sa,
                            said, sizeof said);
    cJSON *body = cJSON_CreateObject();
    cJSON *p = cJSON_AddObjectToObject(body, "properties");
    cJSON_AddStringToObject(p, "objectType", "IaasVMRestoreRequest");
    cJSON_AddStringToObject(p, "recoveryPointId", rp);
    cJSON_AddStringToObject(p, "recoveryType", "RestoreDisks");
    cJSON_AddStringToObject(p, "sourceResourceId", vm);
    cJSON_AddStringToObject(p, "storageAccountId", said);
    char tg[300];
    snprintf(tg, sizeof tg, "/subscriptions/%s/resourceGroups/%s", c->ep.subscription,
             target ? target : rg);
    cJSON_AddStringToObject(p, "targetResourceGroupId", tg);
    cJSON_AddBoolToObject(p, "originalStorageAccountOption", 0);
    cJSON_AddBoolToObject(p, "createNewCloudService", 0);
    cJSON_AddBoolToObject(cJSON_AddObjectToObject(p, "encryptionDetails"), "encryptionEnabled", 0);
    if (des)
        cJSON_AddStringToObject(cJSON_AddObjectToObject(p, "securedVMDetails"),
                                "securedVMOsDiskEncryptionSetId", des);
    snprintf(path, sizeof path, "%s/recoveryPoints/%s/restore", item, rp);
    rc = post_and_follow(c, path, body, vault, "backup restore-disks",
                         !chsmc_opts_has(&o, "no-wait"), &e);
    cJSON_Delete(body);
    return rc;
}

int ctl_cmd_backup_restore_disks(ctl *c, int argc, char **argv)
{
    return cmd_restore_disks(c, argc, argv);
}

/* dr.c - chsmctl dr run: the "Back up and restore Azure Cloud HSM resources"
 * tutorial in one command, one line per step, stopping at the first failure;
 * --expect-failure runs one of the tutorial's failure cases and succeeds only
 * when the step that should fail does. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MESSAGE "chsmctl dr run: signed before the backup"

/* The failure cases and the step where each must fail. */
typedef enum dr_step {
    S_NONE = 0,
    S_BACKUP,
    S_RESTORE,
} dr_step;

static const struct {
    const char *name;
    dr_step at;
    const char *what;
} cases[] = {
    {"sas-token", S_BACKUP, "a backup with a SAS token is refused"},
    {"missing-role", S_BACKUP,
     "a backup fails when the identity lacks Storage Blob Data Contributor"},
    {"missing-container", S_BACKUP, "a backup into a missing container fails"},
    {"missing-identity", S_BACKUP, "a backup of a cluster without a managed identity fails"},
    {"unknown-backup", S_RESTORE, "a restore of a backup id that does not exist fails"},
    {"restore-to-source", S_RESTORE, "a restore into the backup's source cluster is refused"},
    {"restore-to-activated", S_RESTORE, "a restore into an activated cluster fails"},
};

typedef struct dr {
    ctl *c;
    char rg[96], location[64], prefix[24];
    char msi[64], src[32], dst[32], account[32], container[64];
    char msi_id[700], principal[64], src_fqdn[256], dst_fqdn[256];
    char container_uri[256], backup_id[256];
    const char *password, *cu, *cu_password;
    const char *expect, *expect_code;
    dr_step expect_at;
    int step, total;
    cJSON *src_keys;
    struct {
        char key_id[96];
        const char *mech;
        unsigned char *sig;
        size_t len;
    } sigs[2];
    chsmc_error e;
    char detail[512];
} dr;

static const char usage[] =
    "usage: chsmctl dr run [-g RG] [--location LOC] [--prefix PFX] [--password PW]\n"
    "                      [--cu-user NAME] [--cu-password PW] [--cleanup]\n"
    "                      [--expect-failure CASE [--expect-code CODE]]\n"
    "\n"
    "Runs the backup and restore tutorial end to end: resource group, user-assigned\n"
    "identity, source and destination clusters with that identity, storage account and\n"
    "container, Storage Blob Data Contributor for the identity on the account, activation of\n"
    "the source, a crypto user with AES, RSA and EC keys, a signature, backup, restore into\n"
    "the destination, then checks that every source key is on the destination with the same\n"
    "keyId and attributes and that the signature made before the backup verifies with the\n"
    "restored key. One line per step; stops at the first failure (exit code of the failure,\n"
    "1 when a check does not hold).\n"
    "\n"
    "--expect-failure CASE runs a failure case of the tutorial and exits 0 only when the\n"
    "step that must fail does (1 when it succeeds); --expect-code also requires the error\n"
    "code. Cases:\n"
    "  sas-token            backup with a SAS token (the 'token' property)\n"
    "  missing-role         no role assignment for the identity on the storage account\n"
    "  missing-container    the container is not created\n"
    "  missing-identity     the clusters have no managed identity\n"
    "  unknown-backup       restore of a backup id that is not in the container\n"
    "  restore-to-source    restore into the backup's own (activated) source cluster\n"
    "  restore-to-activated restore into a destination that was activated first\n"
    "\n"
    "Names default to a random prefix (dr<6 hex>): <prefix>-rg, <prefix>-msi, <prefix>-src,\n"
    "<prefix>-dst, storage account <prefix>sa, container hsm-backups. --cleanup deletes the\n"
    "resource group at the end.\n";

/* ---- step reporting ---- */

typedef int (*step_fn)(dr *d);

/* run_step runs fn as step n and prints its line; returns fn's code. */
static int run_step(dr *d, const char *desc, step_fn fn)
{
    d->step++;
    d->detail[0] = '\0';
    chsmc_error_clear(&d->e);
    int rc = fn(d);
    if (rc == CHSMC_OK) {
        printf("[%2d/%d] %s: ok%s%s%s\n", d->step, d->total, desc, d->detail[0] ? " (" : "",
               d->detail, d->detail[0] ? ")" : "");
    } else {
        printf("[%2d/%d] %s: FAILED: %s", d->step, d->total, desc,
               d->e.message[0] ? d->e.message : chsmc_status_name(rc));
        if (d->e.code[0] && d->e.http_status)
            printf(" [%s, HTTP %ld]", d->e.code, d->e.http_status);
        else if (d->e.code[0])
            printf(" [%s]", d->e.code);
        printf("\n");
    }
    fflush(stdout);
    return rc;
}

/* expect_step runs the step that must fail; returns 0 when it failed as expected. */
static int expect_step(dr *d, const char *desc, step_fn fn)
{
    d->step++;
    chsmc_error_clear(&d->e);
    d->detail[0] = '\0';
    int rc = fn(d);
    if (rc == CHSMC_OK) {
        printf("[%2d/%d] %s: UNEXPECTED SUCCESS (expected a failure: %s)\n", d->step, d->total,
               desc, d->expect);
        return CHSMC_EFAIL;
    }
    if (rc == CHSMC_ECONNECT || rc == CHSMC_ETIMEOUT || rc == CHSMC_ENOMEM) {
        printf("[%2d/%d] %s: FAILED for another reason: %s [%s]\n", d->step, d->total, desc,
               d->e.message, chsmc_status_name(rc));
        return rc;
    }
    if (d->expect_code && strcmp(d->expect_code, d->e.code) != 0) {
        printf("[%2d/%d] %s: failed with %s, expected %s: %s\n", d->step, d->total, desc, d->e.code,
               d->expect_code, d->e.message);
        return CHSMC_EFAIL;
    }
    printf("[%2d/%d] %s: failed as expected: %s", d->step, d->total, desc, d->e.message);
    if (d->e.http_status)
        printf(" [%s, HTTP %ld]\n", d->e.code, d->e.http_status);
    else
        printf(" [%s]\n", d->e.code);
    fflush(stdout);
    return CHSMC_OK;
}

static void detail(dr *d, const char *fmt, const char *a, const char *b)
{
    snprintf(d->detail, sizeof d->detail, fmt, a ? a : "", b ? b : "");
}

/* ---- ARM steps ---- */

static int arm_put(dr *d, const char *path, const char *api, cJSON *body, int wait, cJSON **out)
{
    int rc = ctl_arm(d->c, "PUT", path, api, body, wait, "", out, &d->e);
    cJSON_Delete(body);
    return rc;
}

static int s_group(dr *d)
{
    char path[300];
    chsmc_path_group(d->c->ep.subscription, d->rg, path, sizeof path);
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "location", d->location);
    cJSON *out = NULL;
    int rc = arm_put(d, path, CHSMC_API_RESOURCES, b, 1, &out);
    cJSON_Delete(out);
    detail(d, "%s", d->rg, NULL);
    return rc;
}

static int s_identity(dr *d)
{
    char path[600], buf[64];
    chsmc_path_resource(d->c->ep.subscription, d->rg, CHSMC_TYPE_MSI, d->msi, path, sizeof path);
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "location", d->location);
    cJSON *out = NULL;
    int rc = arm_put(d, path, CHSMC_API_MSI, b, 1, &out);
    if (rc == CHSMC_OK) {
        ctl_jstr(out, "properties.principalId", buf, sizeof buf);
        if (!buf[0])
            rc = chsmc_error_set(&d->e, CHSMC_EFAIL, "NoPrincipalId",
                                 "the identity has no principalId");
        chsmc_copy(d->principal, sizeof d->principal, buf);
        detail(d, "%s, principalId %s", d->msi, d->principal);
    }
    cJSON_Delete(out);
    ctl_identity_id(d->c, d->rg, d->msi, d->msi_id, sizeof d->msi_id);
    return rc;
}

static int create_cluster(dr *d, const char *name, char *fqdn, size_t n)
{
    char path[600];
    ctl_cluster_path(d->c, d->rg, name, path, sizeof path);
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "location", d->location);
    cJSON *sku = cJSON_AddObjectToObject(b, "sku");
    cJSON_AddStringToObject(sku, "family", "B");
    cJSON_AddStringToObject(sku, "name", "Standard_B1");
    if (!d->expect || strcmp(d->expect, "missing-identity") != 0) {
        cJSON *i = cJSON_AddObjectToObject(b, "identity");
        cJSON_AddStringToObject(i, "type", "UserAssigned");
        cJSON_AddItemToObject(cJSON_AddObjectToObject(i, "userAssignedIdentities"), d->msi_id,
                              cJSON_CreateObject());
    }
    cJSON_AddStringToObject(cJSON_AddObjectToObject(b, "properties"),
                            "autoGeneratedDomainNameLabelScope", "TenantReuse");
    cJSON *out = NULL;
    int rc = arm_put(d, path, CHSMC_API_CLOUDHSM, b, 1, &out);
    char ps[64], as[64], f[256];
    ctl_jstr(out, "properties.provisioningState", ps, sizeof ps);
    ctl_jstr(out, "properties.activationState", as, sizeof as);
    ctl_jstr(out, "properties.hsms.0.fqdn", f, sizeof f);
    cJSON_Delete(out);
    if (rc != CHSMC_OK)
        return rc;
    if (strcmp(ps, "Succeeded") != 0 || !f[0])
        return chsmc_error_set(&d->e, CHSMC_EFAIL, "NotProvisioned",
                               "the cluster ended with provisioningState '%s' and no HSM nodes",
                               ps);
    chsmc_copy(fqdn, n, f);
    snprintf(d->detail, sizeof d->detail, "%s: %s, %s", name, as, f);
    return CHSMC_OK;
}

static int s_src(dr *d)
{
    return create_cluster(d, d->src, d->src_fqdn, sizeof d->src_fqdn);
}

static int s_dst(dr *d)
{
    return create_cluster(d, d->dst, d->dst_fqdn, sizeof d->dst_fqdn);
}

static int s_storage(dr *d)
{
    char path[600];
    chsmc_path_resource(d->c->ep.subscription, d->rg, CHSMC_TYPE_STORAGE, d->account, path,
                        sizeof path);
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "location", d->location);
    cJSON_AddStringToObject(b, "kind", "StorageV2");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(b, "sku"), "name", "Standard_LRS");
    cJSON *p = cJSON_AddObjectToObject(b, "properties");
    cJSON_AddStringToObject(p, "minimumTlsVersion", "TLS1_2");
    cJSON_AddBoolToObject(p, "allowSharedKeyAccess", 0); /* as the tutorial: MSI only */
    cJSON *out = NULL;
    int rc = arm_put(d, path, CHSMC_API_STORAGE, b, 1, &out);
    cJSON_Delete(out);
    detail(d, "%s, shared key access disabled", d->account, NULL);
    return rc;
}

static int s_container(dr *d)
{
    char path[800];
    chsmc_path_resource(d->c->ep.subscription, d->rg, CHSMC_TYPE_STORAGE, d->account, path,
                        sizeof path - 120);
    strcat(path, "/blobServices/default/containers/");
    strcat(path, d->container);
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(cJSON_AddObjectToObject(b, "properties"), "publicAccess", "None");
    cJSON *out = NULL;
    int rc = arm_put(d, path, CHSMC_API_STORAGE, b, 0, &out);
    cJSON_Delete(out);
    detail(d, "%s", d->container_uri, NULL);
    return rc;
}

static int s_role(dr *d)
{
    char scope[600], path[900], rdef[300], name[37];
    chsmc_path_resource(d->c->ep.subscription, d->rg, CHSMC_TYPE_STORAGE, d->account, scope,
                        sizeof scope);
    chsmc_uuid(name);
    snprintf(path, sizeof path, "%s/" CHSMC_ROLE_ASSIGNMENTS "/%s", scope, name);
    snprintf(rdef, sizeof rdef,
             "/subscriptions/%s/providers/Microsoft.Authorization/roleDefinitions/%s",
             d->c->ep.subscription, chsmc_role_guid("Storage Blob Data Contributor"));
    cJSON *b = cJSON_CreateObject();
    cJSON *p = cJSON_AddObjectToObject(b, "properties");
    cJSON_AddStringToObject(p, "roleDefinitionId", rdef);
    cJSON_AddStringToObject(p, "principalId", d->principal);
    cJSON_AddStringToObject(p, "principalType", "ServicePrincipal");
    cJSON *out = NULL;
    int rc = arm_put(d, path, CHSMC_API_AUTHORIZATION, b, 0, &out);
    cJSON_Delete(out);
    detail(d, "Storage Blob Data Contributor for %s on %s", d->msi, d->account);
    return rc;
}

/* ---- HSM steps ---- */

static int s_activate_src(dr *d)
{
    int rc = ctl_cluster_activate(d->c, d->src_fqdn, "tenantadmin", d->password, &d->e);
    detail(d, "%s: PRECO admin -> CO", d->src, NULL);
    return rc;
}

static int s_activate_dst(dr *d)
{
    int rc = ctl_cluster_activate(d->c, d->dst_fqdn, "tenantadmin", d->password, &d->e);
    detail(d, "%s activated before the restore", d->dst, NULL);
    return rc;
}

static int open_hsm(dr *d, const char *fqdn, const char *type, const char *user, const char *pw,
                    chsmc_hsm **h)
{
    int rc = chsmc_hsm_open(d->c->client, fqdn, h, &d->e);
    if (rc == CHSMC_OK && (rc = chsmc_hsm_login(*h, type, user, pw, &d->e)) != CHSMC_OK) {
        chsmc_hsm_free(*h);
        *h = NULL;
    }
    return rc;
}

static void close_hsm(chsmc_hsm *h)
{
    chsmc_error e;
    if (h)
        chsmc_hsm_logout(h, &e);
    chsmc_hsm_free(h);
}

static int s_cu(dr *d)
{
    chsmc_hsm *h = NULL;
    int rc = open_hsm(d, d->src_fqdn, "CO", "admin", d->password, &h);
    if (rc == CHSMC_OK)
        rc = chsmc_hsm_create_user(h, "CU", d->cu, d->cu_password, NULL, &d->e);
    close_hsm(h);
    detail(d, "%s on %s", d->cu, d->src);
    return rc;
}

static int gen(dr *d, chsmc_hsm *h, const char *type, const char *sizekey, int size,
               const char *curve, const char *suffix)
{
    char id[96], label[96];
    snprintf(id, sizeof id, "%s-%s", d->prefix, suffix);
    snprintf(label, sizeof label, "dr %s key", suffix);
    cJSON *spec = cJSON_CreateObject();
    cJSON_AddStringToObject(spec, "type", type);
    if (curve)
        cJSON_AddStringToObject(spec, "curve", curve);
    else
        cJSON_AddNumberToObject(spec, sizekey, size);
    cJSON_AddStringToObject(spec, "label", label);
    cJSON_AddStringToObject(spec, "keyId", id);
    cJSON *tags = cJSON_AddObjectToObject(spec, "tags");
    cJSON_AddStringToObject(tags, "purpose", "dr");
    cJSON *keys = NULL;
    int rc = chsmc_hsm_generate_key(h, spec, &keys, &d->e);
    cJSON_Delete(spec);
    cJSON_Delete(keys);
    return rc;
}

static long long handle_by(const cJSON *keys, const char *key_id, const char *cls)
{
    const cJSON *k;
    cJSON_ArrayForEach(k, keys)
    {
        const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(k, "keyId"));
        const char *c = cJSON_GetStringValue(cJSON_GetObjectItem(k, "class"));
        const cJSON *h = cJSON_GetObjectItem(k, "handle");
        if (id && c && strcmp(id, key_id) == 0 && strcmp(c, cls) == 0 && cJSON_IsNumber(h))
            return (long long)h->valuedouble;
    }
    return -1;
}

static int s_keys(dr *d)
{
    chsmc_hsm *h = NULL;
    int rc = open_hsm(d, d->src_fqdn, "CU", d->cu, d->cu_password, &h);
    if (rc == CHSMC_OK)
        rc = gen(d, h, "AES", "size", 256, NULL, "aes");
    if (rc == CHSMC_OK)
        rc = gen(d, h, "RSA", "size", 2048, NULL, "rsa");
    if (rc == CHSMC_OK)
        rc = gen(d, h, "EC", NULL, 0, "P-256", "ec");
    /* Sign before the backup with both private keys. */
    for (int i = 0; rc == CHSMC_OK && i < 2; i++) {
        cJSON *all = NULL;
        snprintf(d->sigs[i].key_id, sizeof d->sigs[i].key_id, "%s-%s", d->prefix,
                 i == 0 ? "rsa" : "ec");
        d->sigs[i].mech = i == 0 ? "RSA-PKCS-SHA256" : "ECDSA-SHA256";
        rc = chsmc_hsm_find_keys(h, NULL, NULL, NULL, d->sigs[i].key_id, &all, &d->e);
        long long priv = rc == CHSMC_OK ? handle_by(all, d->sigs[i].key_id, "private") : -1;
        cJSON_Delete(all);
        if (rc == CHSMC_OK && priv < 0)
            rc = chsmc_error_set(&d->e, CHSMC_EFAIL, "KeyNotFound",
                                 "the private key %s is not found by its keyId", d->sigs[i].key_id);
        if (rc == CHSMC_OK)
            rc = chsmc_hsm_sign(h, priv, d->sigs[i].mech, MESSAGE, strlen(MESSAGE), &d->sigs[i].sig,
                                &d->sigs[i].len, &d->e);
    }
    if (rc == CHSMC_OK)
        rc = chsmc_hsm_find_keys(h, NULL, NULL, NULL, NULL, &d->src_keys, &d->e);
    close_hsm(h);
    if (rc == CHSMC_OK)
        snprintf(d->detail, sizeof d->detail,
                 "%s: AES-256, RSA-2048 and EC P-256 keys (%d objects), 2 signatures", d->cu,
                 cJSON_GetArraySize(d->src_keys));
    return rc;
}

/* ---- backup and restore ---- */

static int job(dr *d, const char *cluster, int restore, const char *backup_id, cJSON **out)
{
    char path[700];
    ctl_cluster_path(d->c, d->rg, cluster, path, sizeof path - 40);
    strcat(path, restore ? "/restore" : "/backup");
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "azureStorageBlobContainerUri", d->container_uri);
    if (!restore && d->expect && strcmp(d->expect, "sas-token") == 0)
        cJSON_AddStringToObject(b, "token",
                                "sv=2022-11-02&ss=b&srt=co&sp=rwl&se=2030-01-01&sig=ZmFrZQ%3D%3D");
    if (restore)
        cJSON_AddStringToObject(b, "backupId", backup_id);
    int rc = ctl_arm(d->c, "POST", path, CHSMC_API_CLOUDHSM, b, 1, "", out, &d->e);
    cJSON_Delete(b);
    return rc;
}

static int s_backup(dr *d)
{
    cJSON *out = NULL;
    int rc = job(d, d->src, 0, NULL, &out);
    char id[256], status[64];
    ctl_jstr(out, "properties.backupId", id, sizeof id);
    ctl_jstr(out, "properties.status", status, sizeof status);
    cJSON_Delete(out);
    if (rc == CHSMC_OK && !id[0])
        rc = chsmc_error_set(&d->e, CHSMC_EFAIL, "NoBackupId",
                             "the backup ended (%s) without a backupId", status);
    chsmc_copy(d->backup_id, sizeof d->backup_id, id);
    detail(d, "%s -> %s", d->src, id);
    return rc;
}

static int s_restore(dr *d)
{
    const char *target = d->dst;
    char fake[128];
    const char *bid = d->backup_id;
    if (d->expect && strcmp(d->expect, "restore-to-source") == 0)
        target = d->src;
    if (d->expect && strcmp(d->expect, "unknown-backup") == 0) {
        char uuid[37];
        chsmc_uuid(uuid);
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        char ts[32];
        strftime(ts, sizeof ts, "%Y%m%d%H%M%S00", &tm);
        snprintf(fake, sizeof fake, "cloudhsm-%s-%s", uuid, ts);
        bid = fake;
    }
    cJSON *out = NULL;
    int rc = job(d, target, 1, bid, &out);
    char status[64];
    ctl_jstr(out, "properties.status", status, sizeof status);
    cJSON_Delete(out);
    detail(d, "%s into %s", bid, target);
    return rc;
}

static int s_dst_active(dr *d)
{
    char path[600], as[64];
    ctl_cluster_path(d->c, d->rg, d->dst, path, sizeof path);
    cJSON *out = NULL;
    int rc = ctl_arm(d->c, "GET", path, CHSMC_API_CLOUDHSM, NULL, 0, "", &out, &d->e);
    ctl_jstr(out, "properties.activationState", as, sizeof as);
    cJSON_Delete(out);
    if (rc == CHSMC_OK && strcmp(as, "Active") != 0)
        rc = chsmc_error_set(&d->e, CHSMC_EFAIL, "NotActive",
                             "the destination's activationState is '%s', not Active", as);
    detail(d, "%s is %s", d->dst, as);
    return rc;
}

/* same_key compares what a restore must keep. */
static int same_key(const cJSON *a, const cJSON *b, char *why, size_t n)
{
    static const char *const fields[] = {"keyId", "class", "type",       "size", "curve",
                                         "label", "owner", "attributes", "tags", "kcv"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        const cJSON *x = cJSON_GetObjectItem(a, fields[i]);
        const cJSON *y = cJSON_GetObjectItem(b, fields[i]);
        if (!x && !y)
            continue;
        if (!x || !y || !cJSON_Compare(x, y, 1)) {
            snprintf(why, n, "'%s' differs", fields[i]);
            return 0;
        }
    }
    return 1;
}

static int s_verify_keys(dr *d)
{
    chsmc_hsm *h = NULL;
    cJSON *dst_keys = NULL;
    int rc = open_hsm(d, d->dst_fqdn, "CU", d->cu, d->cu_password, &h);
    if (rc == CHSMC_OK)
        rc = chsmc_hsm_find_keys(h, NULL, NULL, NULL, NULL, &dst_keys, &d->e);
    int checked = 0;
    const cJSON *k;
    cJSON_ArrayForEach(k, d->src_keys)
    {
        if (rc != CHSMC_OK)
            break;
        const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(k, "keyId"));
        const char *cls = cJSON_GetStringValue(cJSON_GetObjectItem(k, "class"));
        if (!id || !cls)
            continue;
        const cJSON *found = NULL, *m;
        cJSON_ArrayForEach(m, dst_keys)
        {
            if (chsmc_streq_ci(cJSON_GetStringValue(cJSON_GetObjectItem(m, "keyId")), id) &&
                chsmc_streq_ci(cJSON_GetStringValue(cJSON_GetObjectItem(m, "class")), cls))
                found = m;
        }
        char why[128];
        if (!found)
            rc = chsmc_error_set(&d->e, CHSMC_EFAIL, "KeyMissing",
                                 "the %s key '%s' is not on the destination", cls, id);
        else if (!same_key(k, found, why, sizeof why))
            rc = chsmc_error_set(&d->e, CHSMC_EFAIL, "KeyDiffers",
                                 "the %s key '%s' differs on the destination: %s", cls, id, why);
        else
            checked++;
    }
    if (rc == CHSMC_OK && checked == 0)
        rc = chsmc_error_set(&d->e, CHSMC_EFAIL, "NoKeys", "the source had no keys to check");
    /* The signatures made before the backup verify with the restored public keys. */
    for (int i = 0; rc == CHSMC_OK && i < 2; i++) {
        long long pub = handle_by(dst_keys, d->sigs[i].key_id, "public");
        int valid = 0;
        if (pub < 0)
            rc = chsmc_error_set(&d->e, CHSMC_EFAIL, "KeyMissing",
                                 "no public key '%s' on the destination", d->sigs[i].key_id);
        else
            rc = chsmc_hsm_verify(h, pub, d->sigs[i].mech, MESSAGE, strlen(MESSAGE), d->sigs[i].sig,
                                  d->sigs[i].len, &valid, &d->e);
        if (rc == CHSMC_OK && !valid)
            rc = chsmc_error_set(&d->e, CHSMC_EFAIL, "SignatureInvalid",
                                 "the %s signature made before the backup does not verify with "
                                 "the restored key '%s'",
                                 d->sigs[i].mech, d->sigs[i].key_id);
    }
    cJSON_Delete(dst_keys);
    close_hsm(h);
    if (rc == CHSMC_OK)
        snprintf(d->detail, sizeof d->detail,
                 "%d key objects with the same keyId and attributes; RSA and ECDSA signatures "
                 "made before the backup verify",
                 checked);
    return rc;
}

static int s_cleanup(dr *d)
{
    char path[300];
    chsmc_path_group(d->c->ep.subscription, d->rg, path, sizeof path);
    int rc = ctl_arm(d->c, "DELETE", path, CHSMC_API_RESOURCES, NULL, 1, "", NULL, &d->e);
    detail(d, "%s deleted", d->rg, NULL);
    return rc;
}

/* report_destination prints the destination's activation state after a restore into an
 * activated cluster (the tutorial: it is left nonfunctional). */
static void report_destination(dr *d)
{
    char path[600], as[64];
    ctl_cluster_path(d->c, d->rg, d->dst, path, sizeof path);
    cJSON *out = NULL;
    chsmc_error e;
    if (ctl_arm(d->c, "GET", path, CHSMC_API_CLOUDHSM, NULL, 0, "", &out, &e) == CHSMC_OK)
        printf("dr run: destination %s activationState is now %s\n", d->dst,
               ctl_jstr(out, "properties.activationState", as, sizeof as));
    cJSON_Delete(out);
}

/* ---- the plan ---- */

typedef struct plan_step {
    const char *desc;
    step_fn fn;
    int skip;      /* not run in this case */
    int must_fail; /* the expected failure */
} plan_step;

static int run(dr *d, int cleanup)
{
    const char *ex = d->expect ? d->expect : "";
    int missing_role = strcmp(ex, "missing-role") == 0;
    int missing_container = strcmp(ex, "missing-container") == 0;
    int to_activated = strcmp(ex, "restore-to-activated") == 0;
    plan_step plan[] = {
        {"create resource group", s_group, 0, 0},
        {"create user-assigned identity", s_identity, 0, 0},
        {"create source cluster", s_src, 0, 0},
        {"create destination cluster", s_dst, 0, 0},
        {"create storage account", s_storage, 0, 0},
        {"create blob container", s_container, missing_container, 0},
        {"assign Storage Blob Data Contributor", s_role, missing_role, 0},
        {"activate the source cluster", s_activate_src, 0, 0},
        {"create crypto user on the source", s_cu, 0, 0},
        {"create keys and sign on the source", s_keys, 0, 0},
        {"back up the source", s_backup, 0, d->expect_at == S_BACKUP},
        {"activate the destination (failure case)", s_activate_dst, !to_activated, 0},
        {"restore into the destination", s_restore, 0, d->expect_at == S_RESTORE},
        {"destination is Active", s_dst_active, 0, 0},
        {"keys and signatures on the destination", s_verify_keys, 0, 0},
        {"delete resource group", s_cleanup, !cleanup, 0},
    };
    size_t n = sizeof plan / sizeof plan[0];
    d->total = 0;
    for (size_t i = 0; i < n; i++) {
        if (plan[i].skip)
            continue;
        d->total++;
        if (plan[i].must_fail)
            break;
    }
    printf("dr run: resource group %s, clusters %s -> %s, container %s\n", d->rg, d->src, d->dst,
           d->container_uri);
    for (size_t i = 0; d->expect && i < sizeof cases / sizeof cases[0]; i++)
        if (strcmp(cases[i].name, d->expect) == 0)
            printf("dr run: failure case %s: %s\n", d->expect, cases[i].what);
    for (size_t i = 0; i < n; i++) {
        if (plan[i].skip)
            continue;
        if (plan[i].must_fail) {
            int rc = expect_step(d, plan[i].desc, plan[i].fn);
            if (rc == CHSMC_OK && to_activated)
                report_destination(d);
            if (rc == CHSMC_OK)
                printf("dr run: expected failure '%s' observed\n", d->expect);
            return rc;
        }
        int rc = run_step(d, plan[i].desc, plan[i].fn);
        if (rc != CHSMC_OK) {
            printf("dr run: stopped at step %d\n", d->step);
            return rc;
        }
    }
    printf("dr run: backup and restore verified\n");
    return CHSMC_OK;
}

static int cmd_run(ctl *c, int argc, char **argv)
{
    static const chsmc_opt_spec specs[] = {{"help", 'h', 0},         {"resource-group", 'g', 1},
                                           {"location", 'l', 1},     {"prefix", 0, 1},
                                           {"password", 0, 1},       {"cu-user", 0, 1},
                                           {"cu-password", 0, 1},    {"cleanup", 0, 0},
                                           {"expect-failure", 0, 1}, {"expect-code", 0, 1}};
    chsmc_opts o;
    int rc = ctl_parse(usage, specs, CTL_N(specs), argc, argv, &o, 0, 0);
    if (rc)
        return ctl_done(rc);
    dr d;
    memset(&d, 0, sizeof d);
    d.c = c;
    d.expect = chsmc_opts_get(&o, "expect-failure");
    d.expect_code = chsmc_opts_get(&o, "expect-code");
    if (d.expect) {
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
            if (strcmp(cases[i].name, d.expect) == 0)
                d.expect_at = cases[i].at;
        if (d.expect_at == S_NONE)
            return ctl_usage_error("unknown failure case '%s' (see chsmctl dr run --help)",
                                   d.expect);
    } else if (d.expect_code) {
        return ctl_usage_error("--expect-code needs --expect-failure");
    }
    const char *prefix = chsmc_opts_get(&o, "prefix");
    if (prefix) {
        if (!chsmc_valid_name(prefix, 12, "") || prefix[0] < 'a' || prefix[0] > 'z')
            return ctl_usage_error("--prefix is 1-12 lowercase letters and digits, starting "
                                   "with a letter");
        for (const char *p = prefix; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                return ctl_usage_error("--prefix must be lowercase");
        chsmc_copy(d.prefix, sizeof d.prefix, prefix);
    } else {
        char hex[7];
        chsmc_random_hex(hex, 6);
        snprintf(d.prefix, sizeof d.prefix, "dr%s", hex);
    }
    const char *rg = ctl_resource_group(&o);
    if (rg)
        chsmc_copy(d.rg, sizeof d.rg, rg);
    else
        snprintf(d.rg, sizeof d.rg, "%s-rg", d.prefix);
    const char *loc = chsmc_opts_get(&o, "location");
    chsmc_copy(d.location, sizeof d.location, loc ? loc : CTL_DEFAULT_LOCATION);
    snprintf(d.msi, sizeof d.msi, "%s-msi", d.prefix);
    snprintf(d.src, sizeof d.src, "%s-src", d.prefix);
    snprintf(d.dst, sizeof d.dst, "%s-dst", d.prefix);
    snprintf(d.account, sizeof d.account, "%ssa", d.prefix);
    chsmc_copy(d.container, sizeof d.container, "hsm-backups");
    snprintf(d.container_uri, sizeof d.container_uri, "https://%s.blob.core.windows.net/%s",
             d.account, d.container);
    d.password = chsmc_opts_get(&o, "password");
    if (!d.password)
        d.password = "CryptoOfficer1";
    d.cu = chsmc_opts_get(&o, "cu-user");
    if (!d.cu)
        d.cu = "cu1";
    d.cu_password = chsmc_opts_get(&o, "cu-password");
    if (!d.cu_password)
        d.cu_password = "user1234";
    chsmc_error e;
    chsmc_error_clear(&e);
    rc = ctl_connect(c, &e);
    if (rc != CHSMC_OK)
        return ctl_error("dr run", rc, &e);
    c->quiet = 1; /* one line per step; no polling chatter */
    rc = run(&d, chsmc_opts_has(&o, "cleanup"));
    cJSON_Delete(d.src_keys);
    for (int i = 0; i < 2; i++)
        free(d.sigs[i].sig);
    return rc;
}

int ctl_cmd_dr(ctl *c, int argc, char **argv)
{
    static const ctl_command cmds[] = {
        {"run", cmd_run, "run the backup and restore tutorial (or one of its failure cases)"},
        {NULL, NULL, NULL}};
    return ctl_group_run(c, "dr", "Disaster recovery: the Cloud HSM backup/restore tutorial.", cmds,
                         argc, argv);
}

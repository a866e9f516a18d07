/* jobs.c - chsmctl backup start, restore start and operation show: the Cloud HSM
 * backup/restore jobs (202 + Location to backupOperationStatus / restoreOperationStatus)
 * and following any operation URL. */
#include "cli.h"
#include "cli_backup.h"

#include <string.h>

static const ctl_column bcols[] = {
    {"STATUS", "properties.status"}, {"BACKUP ID", "properties.backupId"},
    {"JOB", "properties.jobId"},     {"CONTAINER", "properties.azureStorageBlobContainerUri"},
    {"LOCATION", "location"},        {NULL, NULL}};

/* container_uri takes --container-uri, or builds the Azure form from --account and
 * --container. */
static const char *container_uri(const chsmc_opts *o, char *buf, size_t n)
{
    const char *uri = chsmc_opts_get(o, "container-uri");
    if (uri)
        return uri;
    const char *account = chsmc_opts_get(o, "account");
    const char *container = chsmc_opts_get(o, "container");
    if (!account || !container)
        return NULL;
    snprintf(buf, n, "https://%s.blob.core.windows.net/%s", account, container);
    return buf;
}

static int job(ctl *c, int restore, int argc, char **argv)
{
    static const chsmc_opt_spec specs[] = {{"help", 'h', 0},        {"resource-group", 'g', 1},
                                           {"container-uri", 0, 1}, {"account", 0, 1},
                                           {"container", 0, 1},     {"token", 0, 1},
                                           {"backup-id", 0, 1},     {"wait", 0, 0},
                                           {"validate", 0, 0}};
    static const char backup_usage[] =
        "usage: chsmctl backup start CLUSTER -g RG (--container-uri URI |\n"
        "                            --account ACCOUNT --container NAME) [--wait]\n"
        "                            [--token SAS] [--validate]\n"
        "Backs up an activated cluster into a blob container, with the cluster's managed\n"
        "identity (it needs Storage Blob Data Contributor on the account). Answers 202 +\n"
        "Location; --wait follows it and prints the result with its backupId. --token sends a\n"
        "SAS token, which Cloud HSM refuses (SasTokenNotSupported). --validate calls\n"
        "validateBackupProperties instead.\n";
    static const char restore_usage[] =
        "usage: chsmctl restore start CLUSTER -g RG (--container-uri URI |\n"
        "                             --account ACCOUNT --container NAME) --backup-id ID\n"
        "                             [--wait] [--token SAS] [--validate]\n"
        "Restores a backup into a cluster that is not activated (never its source). Answers\n"
        "202 + Location; --wait follows it. --validate calls validateRestoreProperties.\n";
    const char *what = restore ? "restore start" : "backup start";
    chsmc_opts o;
    int rc = ctl_parse(restore ? restore_usage : backup_usage, specs, CTL_N(specs), argc, argv, &o,
                       1, 1);
    if (rc)
        return ctl_done(rc);
    char ubuf[600];
    const char *uri = container_uri(&o, ubuf, sizeof ubuf);
    const char *backup_id = chsmc_opts_get(&o, "backup-id");
    const char *token = chsmc_opts_get(&o, "token");
    int validate = chsmc_opts_has(&o, "validate");
    if (!uri)
        return ctl_usage_error("%s needs --container-uri URI (or --account and --container)", what);
    if (restore && !backup_id && !validate)
        return ctl_usage_error("restore start needs --backup-id ID");
    if (!restore && backup_id)
        return ctl_usage_error("backup start takes no --backup-id");
    chsmc_error e;
    chsmc_error_clear(&e);
    char path[800];
    rc = ctl_rg_path(c, &o, CHSMC_TYPE_CLUSTER, o.positionals[0], path, sizeof path - 40, &e);
    if (rc != CHSMC_OK)
        return ctl_error(what, rc, &e);
    strcat(path, restore ? (validate ? "/validateRestoreProperties" : "/restore")
                         : (validate ? "/validateBackupProperties" : "/backup"));
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "azureStorageBlobContainerUri", uri);
    if (token)
        cJSON_AddStringToObject(body, "token", token);
    if (restore && backup_id)
        cJSON_AddStringToObject(body, "backupId", backup_id);
    cJSON *res = NULL;
    rc = ctl_arm(c, "POST", path, CHSMC_API_CLOUDHSM, body, chsmc_opts_has(&o, "wait"), what, &res,
                 &e);
    cJSON_Delete(body);
    if (rc != CHSMC_OK)
        return ctl_error(what, rc, &e);
    ctl_print(c, res, bcols);
    cJSON_Delete(res);
    return CHSMC_OK;
}

static int cmd_backup_start(ctl *c, int argc, char **argv)
{
    return job(c, 0, argc, argv);
}

static int cmd_restore_start(ctl *c, int argc, char **argv)
{
    return job(c, 1, argc, argv);
}

int ctl_cmd_backup(ctl *c, int argc, char **argv)
{
    static const ctl_command cmds[] = {
        {"start", cmd_backup_start, "back up a Cloud HSM cluster into a blob container"},
        {"vault", ctl_cmd_backup_vault, "Recovery Services vaults: create, show, delete, policies"},
        {"protect", ctl_cmd_backup_protect, "enable Azure Backup of a VM [--grant-like-portal]"},
        {"now", ctl_cmd_backup_now, "on-demand backup of a protected VM"},
        {"jobs", ctl_cmd_backup_jobs, "Azure Backup jobs: list, show [--wait]"},
        {"items", ctl_cmd_backup_items, "list a vault's protected items"},
        {"rp", ctl_cmd_backup_rp, "recovery points: list, show"},
        {"restore-disks", ctl_cmd_backup_restore_disks, "restore a recovery point's disks"},
        {NULL, NULL, NULL}};
    return ctl_group_run(c, "backup", "Cloud HSM backups and Azure Backup of VMs.", cmds, argc,
                         argv);
}

int ctl_cmd_restore(ctl *c, int argc, char **argv)
{
    static const ctl_command cmds[] = {
        {"start", cmd_restore_start, "restore a backup into a cluster that is not activated"},
        {NULL, NULL, NULL}};
    return ctl_group_run(c, "restore", "Cloud HSM restores.", cmds, argc, argv);
}

static const char show_usage[] =
    "usage: chsmctl operation show URL [--wait]\n"
    "GETs an operation URL (a Location or Azure-AsyncOperation header value) once and prints\n"
    "its body; the HTTP status goes to stderr. --wait polls it until it ends (202 means\n"
    "running; a body status of Failed/Canceled ends it with exit code 4).\n";

static int cmd_show(ctl *c, int argc, char **argv)
{
    static const chsmc_opt_spec specs[] = {{"help", 'h', 0}, {"wait", 0, 0}};
    chsmc_opts o;
    int rc = ctl_parse(show_usage, specs, CTL_N(specs), argc, argv, &o, 1, 1);
    if (rc)
        return ctl_done(rc);
    const char *url = o.positionals[0];
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0 && url[0] != '/')
        return ctl_usage_error("URL must be absolute (http(s)://...) or an ARM path");
    chsmc_error e;
    chsmc_error_clear(&e);
    rc = ctl_connect(c, &e);
    if (rc != CHSMC_OK)
        return ctl_error("operation show", rc, &e);
    cJSON *res = NULL;
    if (chsmc_opts_has(&o, "wait")) {
        chsmc_wait_opts w;
        ctl_wait_opts(c, &w, "operation");
        rc = chsmc_lro_follow(c->client, url, &w, &res, &e);
        ctl_progress_end();
    } else {
        chsmc_response r;
        rc = chsmc_arm_request(c->client, "GET", url, NULL, NULL, &r, &e);
        if (rc == CHSMC_OK && r.status >= 400) {
            chsmc_error_parse(r.body, r.status, &e);
            rc = CHSMC_EHTTP;
        } else if (rc == CHSMC_OK) {
            char label[128];
            chsmc_lro_classify(CHSMC_LRO_LOCATION, &r, label, sizeof label, NULL);
            fprintf(stderr, "HTTP %ld: %s\n", r.status, label);
            res = chsmc_response_json(&r);
        }
        chsmc_response_clear(&r);
    }
    if (rc != CHSMC_OK)
        return ctl_error("operation show", rc, &e);
    ctl_print(c, res, bcols);
    cJSON_Delete(res);
    return CHSMC_OK;
}

int ctl_cmd_operation(ctl *c, int argc, char **argv)
{
    static const ctl_command cmds[] = {{"show", cmd_show, "get (or --wait for) an operation URL"},
                                       {NULL, NULL, NULL}};
    return ctl_group_run(c, "operation", "Long-running operations.", cmds, argc, argv);
}

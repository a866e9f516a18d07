/* config.c - endpoint discovery, resource cfg files and HSM FQDN mapping. */
#include "chsmc_config.h"

#include <cjson/cJSON.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *pick(const char *flag, const char *env_name)
{
    if (flag && *flag)
        return flag;
    const char *v = getenv(env_name);
    return v && *v ? v : NULL;
}

static void strip_slash(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == '/')
        s[--n] = '\0';
}

static int valid_url(const char *u)
{
    return strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0;
}

int chsmc_endpoint_resolve(const chsmc_endpoint_opts *flags, chsmc_endpoint *out, chsmc_error *e)
{
    chsmc_endpoint_opts none = {0};
    if (!flags)
        flags = &none;
    memset(out, 0, sizeof *out);
    const char *dd = pick(flags->data_dir, "CHSM_DATA_DIR");
    chsmc_copy(out->data_dir, sizeof out->data_dir, dd ? dd : CHSMC_DEFAULT_DATA_DIR);
    const char *sub = pick(flags->subscription, "CHSM_SUBSCRIPTION");
    chsmc_copy(out->subscription, sizeof out->subscription, sub ? sub : CHSMC_DEFAULT_SUBSCRIPTION);
    const char *tenant = pick(flags->tenant, "CHSM_TENANT");
    chsmc_copy(out->tenant, sizeof out->tenant, tenant ? tenant : CHSMC_DEFAULT_TENANT);
    const char *cid = pick(flags->client_id, "CHSM_CLIENT_ID");
    chsmc_copy(out->client_id, sizeof out->client_id, cid ? cid : CHSMC_DEFAULT_CLIENT_ID);

    const char *arm = NULL, *ca = NULL;
    if (flags->endpoint && *flags->endpoint) {
        arm = flags->endpoint;
        chsmc_copy(out->source, sizeof out->source, "flag");
    } else if ((arm = pick(NULL, "CHSM_ENDPOINT")) != NULL) {
        chsmc_copy(out->source, sizeof out->source, "env");
    } else if (flags->cfg_arm_url && *flags->cfg_arm_url) {
        arm = flags->cfg_arm_url;
        chsmc_copy(out->source, sizeof out->source, "cfg");
    }
    ca = pick(flags->ca_cert, "CHSM_CA_CERT");
    if (!ca && flags->cfg_ca_cert && *flags->cfg_ca_cert && arm == flags->cfg_arm_url)
        ca = flags->cfg_ca_cert;

    /* emulator.json: fills what is still missing (everything when no endpoint was named;
     * only the CA and blob URL when it describes the same ARM URL). */
    char path[1100];
    snprintf(path, sizeof path, "%s/emulator.json", out->data_dir);
    char *text = chsmc_read_file(path, NULL);
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    free(text);
    const char *j_arm = j ? cJSON_GetStringValue(cJSON_GetObjectItem(j, "armUrl")) : NULL;
    const char *j_blob = j ? cJSON_GetStringValue(cJSON_GetObjectItem(j, "blobUrl")) : NULL;
    const char *j_ca = j ? cJSON_GetStringValue(cJSON_GetObjectItem(j, "caCert")) : NULL;
    int same = 0;
    if (!arm && j_arm) {
        arm = j_arm;
        chsmc_copy(out->source, sizeof out->source, "emulator.json");
        same = 1;
    } else if (arm && j_arm) {
        char a[512], b[512];
        chsmc_copy(a, sizeof a, arm);
        chsmc_copy(b, sizeof b, j_arm);
        strip_slash(a);
        strip_slash(b);
        same = chsmc_streq_ci(a, b);
    }
    if (!arm) {
        cJSON_Delete(j);
        return chsmc_error_set(e, CHSMC_ECONNECT, "EmulatorNotFound",
                               "no emulator endpoint: pass --endpoint URL, set CHSM_ENDPOINT, or "
                               "start the emulator with data dir '%s' (it writes %s)",
                               out->data_dir, path);
    }
    if (!valid_url(arm)) {
        /* arm may point into j: format the message before freeing it. */
        int rc = chsmc_error_set(e, CHSMC_EUSAGE, "InvalidEndpoint",
                                 "the endpoint '%.300s' is not an http:// or https:// URL", arm);
        cJSON_Delete(j);
        return rc;
    }
    chsmc_copy(out->arm_url, sizeof out->arm_url, arm);
    strip_slash(out->arm_url);
    if (!ca && same && j_ca)
        ca = j_ca;
    chsmc_copy(out->ca_cert, sizeof out->ca_cert, ca);
    const char *blob = pick(NULL, "CHSM_BLOB_ENDPOINT");
    if (!blob && same)
        blob = j_blob;
    chsmc_copy(out->blob_url, sizeof out->blob_url, blob);
    strip_slash(out->blob_url);
    cJSON_Delete(j);
    return CHSMC_OK;
}

int chsmc_cfg_parse(const char *text, chsmc_resource_cfg *out, chsmc_error *e)
{
    memset(out, 0, sizeof *out);
    cJSON *j = cJSON_Parse(text ? text : "");
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return chsmc_error_set(e, CHSMC_EUSAGE, "InvalidConfig",
                               "the resource cfg is not a JSON object");
    }
    const cJSON *servers = cJSON_GetObjectItemCaseSensitive(j, "servers");
    const cJSON *first = cJSON_IsArray(servers) ? cJSON_GetArrayItem(servers, 0) : NULL;
    const char *host =
        first ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(first, "hostname")) : NULL;
    if (!host || !*host || strlen(host) >= sizeof out->hostname) {
        cJSON_Delete(j);
        return chsmc_error_set(e, CHSMC_EUSAGE, "InvalidConfig",
                               "the resource cfg has no servers[0].hostname");
    }
    chsmc_copy(out->hostname, sizeof out->hostname, host);
    const cJSON *emu = cJSON_GetObjectItemCaseSensitive(j, "emulator");
    if (cJSON_IsObject(emu)) {
        const char *arm = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(emu, "armUrl"));
        const char *ca = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(emu, "caCert"));
        if (arm && !valid_url(arm)) {
            int rc = chsmc_error_set(e, CHSMC_EUSAGE, "InvalidConfig",
                                     "emulator.armUrl '%.300s' is not an http(s) URL", arm);
            cJSON_Delete(j);
            return rc;
        }
        chsmc_copy(out->arm_url, sizeof out->arm_url, arm);
        strip_slash(out->arm_url);
        chsmc_copy(out->ca_cert, sizeof out->ca_cert, ca);
    }
    cJSON_Delete(j);
    return CHSMC_OK;
}

int chsmc_cfg_hostnames(const char *text, char (*hosts)[256], size_t max, size_t *count,
                        chsmc_error *e)
{
    *count = 0;
    cJSON *j = cJSON_Parse(text ? text : "");
    const cJSON *servers = cJSON_GetObjectItemCaseSensitive(j, "servers");
    const cJSON *list = cJSON_IsArray(servers) ? servers : NULL;
    const cJSON *s;
    int rc = CHSMC_OK;
    cJSON_ArrayForEach(s, list)
    {
        const char *h = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "hostname"));
        if (!h || !*h || strlen(h) >= 256) {
            rc = chsmc_error_set(e, CHSMC_EUSAGE, "InvalidConfig",
                                 "every servers[].hostname must be a name of 1-255 characters");
            break;
        }
        if (*count < max)
            chsmc_copy(hosts[(*count)++], 256, h);
    }
    cJSON_Delete(j);
    if (rc == CHSMC_OK && *count == 0)
        rc = chsmc_error_set(e, CHSMC_EUSAGE, "InvalidConfig",
                             "the resource cfg has no servers[].hostname");
    return rc;
}

int chsmc_cfg_load(const char *path, chsmc_resource_cfg *out, chsmc_error *e)
{
    char *text = chsmc_read_file(path, NULL);
    if (!text)
        return chsmc_error_set(e, CHSMC_EIO, "ConfigUnreadable", "cannot read '%s': %s", path,
                               strerror(errno));
    int rc = chsmc_cfg_parse(text, out, e);
    free(text);
    if (rc != CHSMC_OK && e) {
        char prefix[1100];
        snprintf(prefix, sizeof prefix, "%s: ", path);
        chsmc_error_prefix(e, prefix);
    }
    return rc;
}

char *chsmc_cfg_render(const char *hostname, const char *arm_url, const char *ca_cert)
{
    cJSON *j = cJSON_CreateObject();
    cJSON *servers = cJSON_AddArrayToObject(j, "servers");
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "hostname", hostname ? hostname : "");
    cJSON_AddItemToArray(servers, s);
    if (arm_url) {
        cJSON *emu = cJSON_AddObjectToObject(j, "emulator");
        cJSON_AddStringToObject(emu, "armUrl", arm_url);
        if (ca_cert && *ca_cert)
            cJSON_AddStringToObject(emu, "caCert", ca_cert);
    }
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    if (!text)
        return NULL;
    size_t n = strlen(text);
    char *withnl = realloc(text, n + 2);
    if (!withnl) {
        free(text);
        return NULL;
    }
    withnl[n] = '\n';
    withnl[n + 1] = '\0';
    return withnl;
}

int chsmc_hsm_label_from_fqdn(const char *fqdn, char *label, size_t labellen)
{
    if (!fqdn)
        return CHSMC_EUSAGE;
    size_t n = strlen(fqdn);
    if (n > 0 && fqdn[n - 1] == '.')
        n--;
    const size_t dlen = strlen(CHSMC_HSM_DOMAIN);
    /* hsm{digits}.{label}.cloudhsm.localhost */
    if (n < 4 + 1 + 1 + dlen || (fqdn[0] != 'h' && fqdn[0] != 'H') ||
        (fqdn[1] != 's' && fqdn[1] != 'S') || (fqdn[2] != 'm' && fqdn[2] != 'M'))
        return CHSMC_EUSAGE;
    size_t i = 3;
    if (!isdigit((unsigned char)fqdn[i]))
        return CHSMC_EUSAGE;
    while (i < n && isdigit((unsigned char)fqdn[i]))
        i++;
    if (i >= n || fqdn[i] != '.')
        return CHSMC_EUSAGE;
    size_t start = i + 1;
    if (n < start + 1 + dlen || fqdn[n - dlen - 1] != '.')
        return CHSMC_EUSAGE;
    char dom[64];
    snprintf(dom, sizeof dom, "%.*s", (int)dlen, fqdn + n - dlen);
    if (!chsmc_streq_ci(dom, CHSMC_HSM_DOMAIN))
        return CHSMC_EUSAGE;
    size_t llen = n - dlen - 1 - start;
    if (llen == 0 || llen >= labellen)
        return CHSMC_EUSAGE;
    for (size_t k = start; k < start + llen; k++) {
        unsigned char c = (unsigned char)fqdn[k];
        if (!isalnum(c) && c != '-')
            return CHSMC_EUSAGE; /* one DNS label: no dots, no odd characters */
    }
    for (size_t k = 0; k < llen; k++) /* DNS names are case-insensitive; labels are lowercase */
        label[k] = (char)tolower((unsigned char)fqdn[start + k]);
    label[llen] = '\0';
    return CHSMC_OK;
}

int chsmc_hsm_base_url(const char *arm_url, const char *fqdn, char *out, size_t outlen)
{
    char label[128];
    if (!arm_url || chsmc_hsm_label_from_fqdn(fqdn, label, sizeof label) != CHSMC_OK)
        return CHSMC_EUSAGE;
    size_t alen = strlen(arm_url);
    while (alen > 0 && arm_url[alen - 1] == '/')
        alen--;
    int w = snprintf(out, outlen, "%.*s/hsm/%s", (int)alen, arm_url, label);
    return w < 0 || (size_t)w >= outlen ? CHSMC_EUSAGE : CHSMC_OK;
}

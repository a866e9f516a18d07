/* p11_transport.c - configuration, per-slot connections and error mapping. */
#include "p11_transport.h"

#include "chsmc_config.h"

#include <cjson/cJSON.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct p11_conn {
    chsmc_client *client;
    chsmc_hsm *hsm;
} p11_conn;

void p11_debug(const char *fmt, ...)
{
    const char *d = getenv("CHSM_PKCS11_DEBUG");
    if (!d || !*d || strcmp(d, "0") == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "chsm-pkcs11: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

CK_RV p11_rv_from_http(long status, const char *code, const char *hsm_return, p11_ctx ctx)
{
    code = code ? code : "";
    hsm_return = hsm_return ? hsm_return : "";
    switch (status) {
    case 400:
        if (ctx == P11_CTX_DECRYPT && strcmp(hsm_return, "0x0000001b") == 0)
            return CKR_ENCRYPTED_DATA_INVALID;
        if (ctx == P11_CTX_WRAP && strcmp(hsm_return, "0x0000001b") == 0)
            return CKR_WRAPPED_KEY_INVALID;
        return ctx == P11_CTX_KEY || ctx == P11_CTX_DECRYPT ? CKR_DATA_INVALID
                                                            : CKR_FUNCTION_FAILED;
    case 401:
        return ctx == P11_CTX_LOGIN ? CKR_PIN_INCORRECT : CKR_USER_NOT_LOGGED_IN;
    case 403:
        if (strcmp(code, "KeyAccessDenied") == 0)
            return CKR_ACTION_PROHIBITED;
        if (ctx == P11_CTX_WRAP)
            return CKR_KEY_UNEXTRACTABLE;
        return ctx == P11_CTX_LOGIN ? CKR_USER_TYPE_INVALID : CKR_KEY_FUNCTION_NOT_PERMITTED;
    case 404:
        if (strcmp(code, "ClusterNotFound") == 0)
            return CKR_TOKEN_NOT_PRESENT;
        if (strcmp(code, "UserNotFound") == 0)
            return ctx == P11_CTX_LOGIN ? CKR_PIN_INCORRECT : CKR_ARGUMENTS_BAD;
        return CKR_KEY_HANDLE_INVALID;
    case 409:
        if (strcmp(code, "ClusterNotActivated") == 0)
            return CKR_USER_PIN_NOT_INITIALIZED;
        if (strcmp(code, "KeyIdAlreadyExists") == 0)
            return CKR_ATTRIBUTE_VALUE_INVALID;
        return CKR_DEVICE_ERROR;
    case 423:
        return CKR_PIN_LOCKED;
    default:
        return CKR_DEVICE_ERROR;
    }
}

CK_RV p11_rv_from(int rc, const chsmc_error *e, p11_ctx ctx)
{
    switch (rc) {
    case CHSMC_OK:
        return CKR_OK;
    case CHSMC_ENOMEM:
        return CKR_HOST_MEMORY;
    case CHSMC_EHTTP:
        p11_debug("HSM error %ld %s (%s): %s", e->http_status, e->code, e->hsm_return, e->message);
        return p11_rv_from_http(e->http_status, e->code, e->hsm_return, ctx);
    default:
        p11_debug("%s: %s", e->code, e->message);
        return CKR_DEVICE_ERROR;
    }
}

chsmc_hsm *p11_hsm(p11_slot *s)
{
    return s->conn ? ((p11_conn *)s->conn)->hsm : NULL;
}

int p11_relogin(p11_slot *s)
{
    if (!s->pin || s->login == P11_NOBODY || !s->conn)
        return 0;
    char *colon = strchr(s->pin, ':');
    if (!colon)
        return 0;
    char user[64];
    snprintf(user, sizeof user, "%.*s", (int)(colon - s->pin), s->pin);
    chsmc_error e;
    chsmc_error_clear(&e);
    int rc = chsmc_hsm_login(p11_hsm(s), s->login == CKU_SO ? "CO" : "CU", user, colon + 1, &e);
    p11_debug("session expired; logging %s in again: %s", user, rc == CHSMC_OK ? "ok" : e.message);
    return rc == CHSMC_OK;
}

static const char *config_path(void)
{
    const char *env = getenv("CHSM_PKCS11_CONFIG");
    if (env && *env)
        return env;
    if (access("azcloudhsm_resource.cfg", R_OK) == 0)
        return "azcloudhsm_resource.cfg";
    return "/opt/azurecloudhsm/bin/azcloudhsm_resource.cfg";
}

static void close_conn(p11_slot *s)
{
    p11_conn *c = s->conn;
    if (!c)
        return;
    chsmc_hsm_free(c->hsm);
    chsmc_client_free(c->client);
    free(c);
    s->conn = NULL;
}

void p11_config_close(p11_state *st)
{
    for (size_t i = 0; i < st->nslots; i++)
        close_conn(&st->slots[i]);
}

CK_RV p11_config_load(p11_state *st, chsmc_error *e)
{
    const char *path = config_path();
    char *text = chsmc_read_file(path, NULL);
    if (!text) {
        chsmc_error_set(e, CHSMC_EIO, "ConfigUnreadable",
                        "cannot read the resource cfg '%s' (set CHSM_PKCS11_CONFIG): %s", path,
                        strerror(errno));
        return CKR_GENERAL_ERROR;
    }
    chsmc_resource_cfg cfg;
    char hosts[P11_MAX_SLOTS][256];
    size_t nhosts = 0;
    int rc = chsmc_cfg_parse(text, &cfg, e);
    if (rc == CHSMC_OK)
        rc = chsmc_cfg_hostnames(text, hosts, P11_MAX_SLOTS, &nhosts, e);
    free(text);
    if (rc != CHSMC_OK) {
        chsmc_error_prefix(e, "resource cfg: ");
        return CKR_GENERAL_ERROR;
    }
    chsmc_endpoint_opts opts = {0};
    opts.cfg_arm_url = cfg.arm_url[0] ? cfg.arm_url : NULL;
    opts.cfg_ca_cert = cfg.ca_cert[0] ? cfg.ca_cert : NULL;
    chsmc_endpoint ep;
    if (chsmc_endpoint_resolve(&opts, &ep, e) != CHSMC_OK)
        return CKR_GENERAL_ERROR;
    for (size_t i = 0; i < nhosts; i++) {
        char label[128];
        if (chsmc_hsm_label_from_fqdn(hosts[i], label, sizeof label) != CHSMC_OK) {
            chsmc_error_set(e, CHSMC_EUSAGE, "InvalidHsmHostname",
                            "'%.200s' is not an emulator HSM node name", hosts[i]);
            return CKR_GENERAL_ERROR;
        }
        int seen = 0;
        for (size_t k = 0; k < st->nslots; k++)
            seen |= strcmp(st->slots[k].label, label) == 0;
        if (seen)
            continue; /* another node of a cluster that has its slot */
        if (p11_state_add_slot(st, hosts[i], label) != CKR_OK)
            return CKR_HOST_MEMORY;
        p11_slot *s = &st->slots[st->nslots - 1];
        p11_conn *c = calloc(1, sizeof *c);
        if (!c)
            return CKR_HOST_MEMORY;
        s->conn = c;
        if (chsmc_client_new(&ep, &c->client, e) != CHSMC_OK ||
            chsmc_hsm_open(c->client, hosts[i], &c->hsm, e) != CHSMC_OK)
            return CKR_GENERAL_ERROR;
    }
    p11_debug("%zu slot(s) from %s, emulator %s", st->nslots, path, ep.arm_url);
    return CKR_OK;
}

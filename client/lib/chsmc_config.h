/* chsmc_config.h - where the emulator is: endpoint discovery (flags, then the
 * environment, then a resource cfg file's "emulator" object, then
 * <data-dir>/emulator.json), azcloudhsm_resource.cfg files, and the mapping of
 * an HSM node FQDN to its data-plane base URL. */
#ifndef CHSMC_CONFIG_H
#define CHSMC_CONFIG_H

#include "chsmc.h"

#include <stddef.h>

#define CHSMC_DEFAULT_DATA_DIR "./.chsm-data"
#define CHSMC_DEFAULT_SUBSCRIPTION "00000000-0000-0000-0000-000000000001"
#define CHSMC_DEFAULT_TENANT "72f988bf-86f1-41af-91ab-2d7cd011db47"
#define CHSMC_DEFAULT_CLIENT_ID "chsmctl"
#define CHSMC_HSM_DOMAIN "cloudhsm.localhost"

/* Values given explicitly (command-line flags); NULL means "not given". */
typedef struct chsmc_endpoint_opts {
    const char *endpoint;     /* ARM base URL */
    const char *ca_cert;      /* PEM file to trust */
    const char *subscription; /* subscription id */
    const char *data_dir;     /* where emulator.json is */
    const char *tenant;       /* tenant for tokens */
    const char *client_id;    /* client id for tokens */
    const char *cfg_arm_url;  /* from a resource cfg's "emulator" object (below env) */
    const char *cfg_ca_cert;
} chsmc_endpoint_opts;

/* A resolved endpoint. */
typedef struct chsmc_endpoint {
    char arm_url[512]; /* no trailing slash */
    char blob_url[512];
    char ca_cert[1024]; /* "" = system trust store */
    char data_dir[1024];
    char subscription[64];
    char tenant[64];
    char client_id[128];
    char source[32]; /* where arm_url came from: "flag", "env", "cfg", "emulator.json" */
} chsmc_endpoint;

/* chsmc_endpoint_resolve fills out from flags, then CHSM_ENDPOINT / CHSM_CA_CERT /
 * CHSM_SUBSCRIPTION / CHSM_DATA_DIR / CHSM_TENANT / CHSM_CLIENT_ID, then the cfg values in
 * flags, then <data-dir>/emulator.json (default data dir ./.chsm-data). Returns CHSMC_OK, or
 * CHSMC_ECONNECT with e filled when no ARM URL can be found, CHSMC_EUSAGE for a bad value. */
int chsmc_endpoint_resolve(const chsmc_endpoint_opts *flags, chsmc_endpoint *out, chsmc_error *e);

/* A parsed azcloudhsm_resource.cfg. */
typedef struct chsmc_resource_cfg {
    char hostname[256]; /* servers[0].hostname */
    char arm_url[512];  /* emulator.armUrl, "" if absent */
    char ca_cert[1024]; /* emulator.caCert, "" if absent */
} chsmc_resource_cfg;

/* chsmc_cfg_parse parses the JSON text of a resource cfg: {"servers":[{"hostname":...}],
 * "emulator":{"armUrl","caCert"}?}. CHSMC_OK or CHSMC_EUSAGE with a message. */
int chsmc_cfg_parse(const char *text, chsmc_resource_cfg *out, chsmc_error *e);
/* chsmc_cfg_hostnames copies every servers[i].hostname of a resource cfg's JSON text (at most
 * max, in order) into hosts; *count gets how many. CHSMC_OK or CHSMC_EUSAGE (no hostname, or
 * one that is not a string of at most 255 characters). */
int chsmc_cfg_hostnames(const char *text, char (*hosts)[256], size_t max, size_t *count,
                        chsmc_error *e);
/* chsmc_cfg_load reads and parses the file at path (CHSMC_EIO when unreadable). */
int chsmc_cfg_load(const char *path, chsmc_resource_cfg *out, chsmc_error *e);
/* chsmc_cfg_render returns the text of a resource cfg naming hostname, with an
 * "emulator" object when arm_url is not NULL (caller frees); NULL on OOM. */
char *chsmc_cfg_render(const char *hostname, const char *arm_url, const char *ca_cert);

/* chsmc_hsm_label_from_fqdn extracts {label} from hsm{N}.{label}.cloudhsm.localhost (case
 * kept, an ending '.' allowed); CHSMC_OK or CHSMC_EUSAGE when the name is not of that form. */
int chsmc_hsm_label_from_fqdn(const char *fqdn, char *label, size_t labellen);
/* chsmc_hsm_base_url writes {arm_url}/hsm/{label} for an HSM node FQDN; CHSMC_EUSAGE when the
 * FQDN is not an emulator HSM name or the result does not fit. */
int chsmc_hsm_base_url(const char *arm_url, const char *fqdn, char *out, size_t outlen);

#endif

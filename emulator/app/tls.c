/* tls.c - loading or generating the listeners' certificate.
 *
 * Generated material is a local CA plus a leaf for localhost names and
 * loopback addresses; the CA is what users trust (NODE_EXTRA_CA_CERTS,
 * REQUESTS_CA_BUNDLE, SSL_CERT_FILE), since some clients refuse a
 * self-signed leaf as a trust anchor. The CA key is never kept. */
#include "app/tls.h"

#include "app/app.h"
#include "app/files.h"
#include "crypto/cert.h"
#include "util/buf.h"
#include "util/status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TLS_MAX_PEM (256 * 1024)

static int load_pair(const char *cert_path, const char *key_path, char **cert, char **key,
                     char *err, size_t errlen)
{
    size_t n;
    if (chsm_read_file(cert_path, TLS_MAX_PEM, cert, &n) != CHSM_OK) {
        snprintf(err, errlen, "cannot read the TLS certificate '%s'", cert_path);
        return CHSM_EIO;
    }
    if (chsm_read_file(key_path, TLS_MAX_PEM, key, &n) != CHSM_OK) {
        snprintf(err, errlen, "cannot read the TLS key '%s'", key_path);
        free(*cert);
        *cert = NULL;
        return CHSM_EIO;
    }
    return chsm_crypto_cert_check_pair(*cert, *key, err, errlen);
}

int chsm_app_tls_material(struct chsm_app *app, char **cert_pem, char **key_pem, char *err,
                          size_t errlen)
{
    *cert_pem = *key_pem = NULL;
    if (app->cfg.tls_cert[0]) {
        snprintf(app->ca_cert_path, sizeof app->ca_cert_path, "%s", app->cfg.tls_cert);
        return load_pair(app->cfg.tls_cert, app->cfg.tls_key, cert_pem, key_pem, err, errlen);
    }
    char dir[1100], ca[1200], leaf[1200], key[1200];
    snprintf(dir, sizeof dir, "%s/tls", app->data_dir);
    snprintf(ca, sizeof ca, "%s/ca.pem", dir);
    snprintf(leaf, sizeof leaf, "%s/server.pem", dir);
    snprintf(key, sizeof key, "%s/server-key.pem", dir);
    snprintf(app->ca_cert_path, sizeof app->ca_cert_path, "%s", ca);
    char *ca_pem = NULL;
    size_t n;
    if (chsm_read_file(ca, TLS_MAX_PEM, &ca_pem, &n) == CHSM_OK &&
        strstr(ca_pem, "-----BEGIN CERTIFICATE-----") &&
        load_pair(leaf, key, cert_pem, key_pem, err, errlen) == CHSM_OK) {
        free(ca_pem);
        return CHSM_OK;
    }
    free(ca_pem);
    free(*cert_pem);
    free(*key_pem);
    *cert_pem = *key_pem = NULL;

    /* fsynced only with --fsync, the store's contract: without it a new data dir starts
     * ~10 ms sooner and a power loss may cost the certificates (then made anew). */
    int durable = app->cfg.fsync;
    char *leaf_pem = NULL;
    int rc = chsm_crypto_cert_generate(&ca_pem, &leaf_pem, key_pem, err, errlen);
    if (rc != CHSM_OK)
        return rc;
    /* Serve the chain (leaf then CA) so clients that trust the CA can build it. */
    chsm_buf chain = {0};
    chsm_buf_puts(&chain, leaf_pem);
    chsm_buf_puts(&chain, ca_pem);
    *cert_pem = chsm_buf_steal(&chain);
    if (!*cert_pem || chsm_mkdirs(dir) != CHSM_OK ||
        chsm_write_file_atomic(key, *key_pem, strlen(*key_pem), 0600, durable) != CHSM_OK ||
        chsm_write_file_atomic(leaf, *cert_pem, strlen(*cert_pem), 0644, durable) != CHSM_OK ||
        chsm_write_file_atomic(ca, ca_pem, strlen(ca_pem), 0644, durable) != CHSM_OK) {
        snprintf(err, errlen, "cannot write the generated certificate to '%s'", dir);
        rc = CHSM_EIO;
    }
    free(ca_pem);
    free(leaf_pem);
    if (rc != CHSM_OK) {
        free(*cert_pem);
        free(*key_pem);
        *cert_pem = *key_pem = NULL;
    }
    return rc;
}

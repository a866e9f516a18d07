/* tls.h - the certificate the listeners serve. */
#ifndef CHSM_APP_TLS_H
#define CHSM_APP_TLS_H

#include <stddef.h>

struct chsm_app;

/* chsm_app_tls_material loads --tls-cert/--tls-key, or the generated pair
 * kept in <data-dir>/tls/ (creating it on first start), and sets
 * app->ca_cert_path to the PEM clients should trust. The caller frees both. */
int chsm_app_tls_material(struct chsm_app *app, char **cert_pem, char **key_pem, char *err,
                          size_t errlen);

#endif

/* p11_transport.h - the module's thin layer over client/lib: one data-plane
 * connection per slot (chsmc_client + chsmc_hsm), the configuration
 * (azcloudhsm_resource.cfg or CHSM_PKCS11_CONFIG) and the mapping of data-plane
 * errors to CKR_* codes. */
#ifndef P11_TRANSPORT_H
#define P11_TRANSPORT_H

#include "p11_state.h"

#include "chsmc_hsm.h"

/* At most this many node names are read from a resource cfg. */
#define P11_MAX_SLOTS 16

/* What a data-plane call was doing, for the error mapping. */
typedef enum p11_ctx {
    P11_CTX_LOGIN,   /* 401 means a wrong PIN */
    P11_CTX_KEY,     /* a key is used: 404 means the key is gone */
    P11_CTX_DECRYPT, /* ERR_BAD_PKCS_DATA means the ciphertext is wrong */
    P11_CTX_WRAP,    /* 403 means the key to wrap is not extractable */
    P11_CTX_OTHER
} p11_ctx;

/* p11_rv_from_http maps an HTTP status, error.code and error.hsmReturn of a data-plane error
 * to a CKR_* code. */
CK_RV p11_rv_from_http(long status, const char *code, const char *hsm_return, p11_ctx ctx);
/* p11_rv_from maps a chsmc_status and its error record to a CKR_* code. */
CK_RV p11_rv_from(int rc, const chsmc_error *e, p11_ctx ctx);

/* p11_config_load fills st's slots from the configuration: the file named by
 * CHSM_PKCS11_CONFIG, else ./azcloudhsm_resource.cfg, else
 * /opt/azurecloudhsm/bin/azcloudhsm_resource.cfg. Each distinct cluster among
 * servers[].hostname becomes a slot with its own connection. CKR_OK or
 * CKR_GENERAL_ERROR (message in e). */
CK_RV p11_config_load(p11_state *st, chsmc_error *e);
/* p11_config_close closes the connections of st's slots (logging nobody out). */
void p11_config_close(p11_state *st);

/* p11_hsm is the data-plane client of a slot. */
chsmc_hsm *p11_hsm(p11_slot *s);
/* p11_relogin logs the slot's remembered user in again after its HSM session expired;
 * 1 when it did. */
int p11_relogin(p11_slot *s);

/* P11_CALL runs a data-plane call expression into rc, logging in again once when the HSM
 * answers 401 to a logged-in slot (sessions expire after 15 idle minutes). */
#define P11_CALL(slot, rc, err, expr)                                                              \
    do {                                                                                           \
        (rc) = (expr);                                                                             \
        if ((rc) == CHSMC_EHTTP && (err).http_status == 401 && p11_relogin(slot))                  \
            (rc) = (expr);                                                                         \
    } while (0)

/* p11_debug prints a message on stderr when CHSM_PKCS11_DEBUG is set (the only output). */
void p11_debug(const char *fmt, ...) CHSMC_PRINTF(1, 2);

#endif

/* auth.h - who is calling: bearer tokens on the ARM listener.
 *
 * Default mode accepts any syntactically valid bearer token, like Azurite's
 * basic mode, reading oid/tid/appid from it when it is a JWT. --strict-auth
 * accepts only tokens this emulator signed, unexpired, for a known audience.
 * The caller's oid is what role assignments are checked against. */
#ifndef CHSM_ARM_AUTH_H
#define CHSM_ARM_AUTH_H

#include "http/message.h"

#include <cjson/cJSON.h>

struct chsm_app;

/* The tenant the emulated Entra ID issues tokens for unless asked for another. */
#define CHSM_DEFAULT_TENANT "72f988bf-86f1-41af-91ab-2d7cd011db47"
/* The subscription that exists from the first start. */
#define CHSM_DEFAULT_SUBSCRIPTION "00000000-0000-0000-0000-000000000001"
/* The object id given to callers whose token names none. */
#define CHSM_DEFAULT_OID "00000000-0000-0000-0000-00000000c0de"

/* chsm_arm_authenticate fills req->principal from the Authorization header,
 * or answers 401 (with WWW-Authenticate) and returns nonzero. */
int chsm_arm_authenticate(struct chsm_app *app, chsm_request *req, chsm_response *res);
/* chsm_auth_principal_from_token fills p from a bearer token; strict verifies
 * signature, expiry and audience. On failure returns an error code and a
 * message in err. */
int chsm_auth_principal_from_token(struct chsm_app *app, const char *token, int strict,
                                   chsm_principal *p, char *err, size_t errlen);
/* chsm_auth_issue_token signs a token for subject oid/appid in tenant tid for
 * audience aud, valid for lifetime_s; returns it (caller frees) or NULL. */
char *chsm_auth_issue_token(struct chsm_app *app, const char *tid, const char *oid,
                            const char *appid, const char *aud, int lifetime_s);

#endif

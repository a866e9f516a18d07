/* fuzz_jwt.c - bearer tokens: crypto/jwt.h decoding and RS256 verification,
 * and arm/auth.h turning a token into a principal in both modes.
 *
 * Each input is used twice:
 *  1. as a token (the bytes up to the first NUL): decode, verify against the
 *     emulator's key, and read a principal in the default and strict modes;
 *     a token that verifies must also decode to the same claims;
 *  2. when it is a JSON object, as the claims of a token the emulator signs:
 *     signing then decoding must give the claims back, and the strict mode
 *     reads exp, aud, oid, tid, appid/azp from whatever values they hold
 *     (what only a signed token can reach). */
#include "harness.h"

#include "app/signing_key.h"
#include "arm/auth.h"
#include "crypto/jwt.h"
#include "util/status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static chsm_app *app;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    app = fuzz_app_open();
    return 0;
}

/* same_json compares two documents by their printed form (cJSON_Compare
 * would call {"a":1,"a":2} different from itself). */
static int same_json(const cJSON *a, const cJSON *b)
{
    char *ta = cJSON_PrintUnformatted(a), *tb = cJSON_PrintUnformatted(b);
    int same = ta && tb && strcmp(ta, tb) == 0;
    free(ta);
    free(tb);
    return same;
}

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_jwt: %s\n", what);
        abort();
    }
}

/* as_token runs every token reader over token. */
static void as_token(const char *token)
{
    cJSON *header = NULL, *claims = NULL, *verified = NULL;
    int decoded = chsm_crypto_jwt_decode(token, &header, &claims);
    check(decoded == CHSM_OK || (!header && !claims), "a failed decode returned parts");
    int rc = chsm_crypto_jwt_verify(chsm_signing_key_get(app), token, &verified);
    if (rc == CHSM_OK)
        check(decoded == CHSM_OK && same_json(claims, verified),
              "a verified token decodes to other claims");
    else
        check(!verified, "a failed verify returned claims");
    chsm_principal p;
    char err[256];
    for (int strict = 0; strict <= 1; strict++) {
        err[0] = '\0';
        rc = chsm_auth_principal_from_token(app, token, strict, &p, err, sizeof err);
        check(rc == CHSM_OK ? p.authenticated == 1 : p.authenticated == 0 && err[0],
              "principal and result disagree");
    }
    cJSON_Delete(header);
    cJSON_Delete(claims);
    cJSON_Delete(verified);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 2 * CHSM_CRYPTO_JWT_MAX_TOKEN)
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    as_token(text);

    cJSON *claims = cJSON_ParseWithLength(text, size);
    if (cJSON_IsObject(claims)) {
        char *token = chsm_crypto_jwt_sign(chsm_signing_key_get(app), claims);
        if (token) {
            cJSON *back = NULL;
            check(chsm_crypto_jwt_verify(chsm_signing_key_get(app), token, &back) == CHSM_OK,
                  "a token the emulator signed does not verify");
            check(same_json(claims, back), "signed claims do not come back");
            cJSON_Delete(back);
            as_token(token);
            free(token);
        }
    }
    cJSON_Delete(claims);
    free(text);
    return 0;
}

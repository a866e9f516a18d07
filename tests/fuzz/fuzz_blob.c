/* fuzz_blob.c - the Blob listener (emulator/blob/) through chsm_app_dispatch:
 * addressing (path- and host-style), x-ms-* and conditional headers,
 * metadata, ranges, Shared Key and SAS authorization, and the XML bodies it
 * reads (Put Block List, service properties, container ACLs).
 *
 * Input: METHOD SP TARGET LF (Name ":" value LF)* LF body (see harness.h),
 * on the Blob listener. So that mutated requests get past authorization and
 * reach the handlers, the harness signs for them, with the development
 * account's published key:
 *   - "Authorization: SharedKey devstoreaccount1:{sig}" gets the Shared Key
 *     signature of the request as dispatched;
 *   - a query "sig={sig}" gets the SAS signature of the other SAS fields.
 * Every request's SAS fields, Authorization header, XML body, names and
 * times also go through the parsers directly, signed or not. The container
 * "backups" exists at the start; the state is emptied (and the container
 * made again) every RESET_EVERY inputs. */
#include "harness.h"

#include "blob/blob.h"
#include "blob/names.h"
#include "blob/sas.h"
#include "blob/sharedkey.h"
#include "blob/xml.h"
#include "util/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RESET_EVERY 2000
#define MAX_INPUT (256 * 1024)
/* Azurite's well-known development account and key (published by Microsoft). */
#define DEV_ACCOUNT "devstoreaccount1"
#define DEV_KEY                                                                                    \
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

static chsm_app *app;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void set_value(char **slot, const char *value)
{
    char *copy = chsm_strdup(value);
    if (copy) {
        free(*slot);
        *slot = copy;
    }
}

/* container_and_blob splits a path-style request's decoded segments. */
static void container_and_blob(const chsm_request *req, const char **container, char **blob)
{
    *container = req->nsegments > 1 ? req->segments[1] : NULL;
    *blob = NULL;
    if (req->nsegments > 2) {
        size_t n = 0;
        for (size_t i = 2; i < req->nsegments; i++)
            n += strlen(req->segments[i]) + 1;
        char *b = malloc(n);
        if (!b)
            return;
        b[0] = '\0';
        for (size_t i = 2; i < req->nsegments; i++) {
            if (i > 2)
                strcat(b, "/");
            strcat(b, req->segments[i]);
        }
        *blob = b;
    }
}

/* parse_all runs the blob parsers over whatever the request holds. */
static void parse_all(const chsm_request *req)
{
    chsm_blob_sas sas;
    const char *container;
    char *blob;
    container_and_blob(req, &container, &blob);
    if (chsm_blob_sas_parse(req, &sas)) {
        free(chsm_blob_sas_string_to_sign(&sas, DEV_ACCOUNT, container, blob));
        int64_t ms;
        chsm_blob_parse_iso8601(sas.st, &ms);
        chsm_blob_parse_iso8601(sas.se, &ms);
        const char *keys[1] = {DEV_KEY};
        char why[512];
        chsm_blob_sas_check(&sas, DEV_ACCOUNT, container, blob, keys, 1, 0, 1,
                            blob ? CHSM_SAS_LEVEL_OBJECT : CHSM_SAS_LEVEL_CONTAINER, "rwdlacup",
                            why, sizeof why);
    }
    const char *auth = chsm_request_header(req, "Authorization");
    if (auth) {
        char acct[64], sig[128];
        chsm_blob_sharedkey_parse(auth, acct, sizeof acct, sig, sizeof sig);
    }
    free(chsm_blob_sharedkey_canonical_headers(req));
    for (size_t i = 0; i < req->nsegments; i++) {
        chsm_blob_check_account_name(req->segments[i]);
        chsm_blob_check_container_name(req->segments[i]);
        chsm_blob_check_blob_name(req->segments[i]);
        chsm_blob_valid_metadata_name(req->segments[i]);
    }
    if (blob)
        chsm_blob_check_blob_name(blob);
    if (req->body_len) {
        char err[256];
        chsm_xml_free(chsm_xml_parse((const char *)req->body, req->body_len, err, sizeof err));
    }
    char a[64], c[64];
    if (req->raw_path)
        chsm_blob_resolve_container_uri(req->raw_path, a, sizeof a, c, sizeof c);
    free(blob);
}

/* sign fills the {sig} placeholders (see the top of this file). */
static void sign(chsm_request *req)
{
    parse_all(req);
    for (size_t i = 0; i < req->nheaders; i++) {
        if (!chsm_streq_ci(req->headers[i].name, "Authorization") ||
            strcmp(req->headers[i].value, "SharedKey " DEV_ACCOUNT ":{sig}") != 0)
            continue;
        char *sts = chsm_blob_sharedkey_string_to_sign(req, DEV_ACCOUNT,
                                                       req->raw_path ? req->raw_path : "/");
        char *mac = sts ? chsm_blob_hmac_base64(DEV_KEY, sts) : NULL;
        if (mac) {
            char value[256];
            snprintf(value, sizeof value, "SharedKey %s:%s", DEV_ACCOUNT, mac);
            set_value(&req->headers[i].value, value);
        }
        free(mac);
        free(sts);
    }
    for (size_t i = 0; i < req->nquery; i++) {
        if (strcmp(req->query[i].name, "sig") != 0 || strcmp(req->query[i].value, "{sig}") != 0)
            continue;
        chsm_blob_sas sas;
        const char *container;
        char *blob;
        container_and_blob(req, &container, &blob);
        char *sts = chsm_blob_sas_parse(req, &sas)
                        ? chsm_blob_sas_string_to_sign(&sas, DEV_ACCOUNT, container, blob)
                        : NULL;
        char *mac = sts ? chsm_blob_hmac_base64(DEV_KEY, sts) : NULL;
        if (mac)
            set_value(&req->query[i].value, mac);
        free(mac);
        free(sts);
        free(blob);
    }
}

/* setup creates the container "backups" most seeds use. */
static void setup(void)
{
    static const char create[] = "PUT /" DEV_ACCOUNT "/backups?restype=container\n"
                                 "Authorization: SharedKey " DEV_ACCOUNT ":{sig}\n"
                                 "x-ms-date: Tue, 25 Nov 2025 06:00:00 GMT\n"
                                 "x-ms-version: 2025-01-05\n";
    int st =
        fuzz_send_raw(app, CHSM_LISTENER_BLOB, (const uint8_t *)create, sizeof create - 1, NULL);
    if (st != 201) {
        fprintf(stderr, "fuzz_blob: cannot create the container (HTTP %d)\n", st);
        abort();
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    app = fuzz_app_open();
    fuzz_prepare_hook = sign;
    setup();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static unsigned long runs;
    if (size > MAX_INPUT)
        return 0;
    fuzz_send_raw(app, CHSM_LISTENER_BLOB, data, size, NULL);
    fuzz_after_input(app);
    if (++runs % RESET_EVERY == 0) {
        fuzz_reset(app);
        setup();
    }
    return 0;
}

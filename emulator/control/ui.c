/* ui.c - GET /_emulator/ui: the dashboard (docs/dashboard.md), one page whose
 * HTML, CSS and JavaScript are compiled into the binary (ui.h).
 *
 * The assets hold no state, so like /_emulator/health they need no token; they
 * are served only when the control surface is on (loopback, not
 * --no-control). Every call the page then makes is an ordinary documented
 * /_emulator/ or ARM request and carries the token the user gave the page. */
#include "control/ui.h"

#include "arm/errors.h"
#include "control/access.h"
#include "providers/provider.h"
#include "util/text.h"

#include <stdlib.h>
#include <string.h>

/* Only this origin's own files; no inline script or style, no framing, no forms posting away. */
#define UI_CSP                                                                                     \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "                 \
    "frame-ancestors 'none'"

const chsm_ui_asset *chsm_ui_asset_find(const char *name)
{
    if (!name)
        return NULL;
    for (const chsm_ui_asset *a = chsm_ui_assets; a->name; a++)
        if (strcmp(a->name, name) == 0)
            return a;
    return NULL;
}

/* etag_matches tells whether an If-None-Match header names etag (or is "*"). */
static int etag_matches(const char *header, const char *etag)
{
    size_t n = strlen(etag);
    for (const char *p = header; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '*')
            return 1;
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        if (strncmp(p, etag, n) == 0 && (p[n] == '\0' || p[n] == ',' || p[n] == ' '))
            return 1;
        while (*p && *p != ',')
            p++;
    }
    return 0;
}

static void serve(chsm_request *req, chsm_response *res, const char *name)
{
    if (!chsm_control_enabled(req, res))
        return;
    const chsm_ui_asset *a = chsm_ui_asset_find(name);
    if (!a) {
        chsm_arm_error(res, 404, "NotFound", "The dashboard has no file '%.100s'.", name);
        return;
    }
    chsm_response_header(res, "Content-Security-Policy", UI_CSP, 1);
    chsm_response_header(res, "X-Content-Type-Options", "nosniff", 1);
    chsm_response_header(res, "X-Frame-Options", "DENY", 1);
    chsm_response_header(res, "Referrer-Policy", "no-referrer", 1);
    /* The binary's assets change only with the binary: revalidate, then 304. */
    chsm_response_header(res, "Cache-Control", "no-cache", 1);
    chsm_response_header(res, "ETag", a->etag, 1);
    const char *inm = chsm_request_header(req, "If-None-Match");
    if (inm && etag_matches(inm, a->etag)) {
        chsm_response_set_body(res, 304, NULL, NULL, 0);
        return;
    }
    char *body = malloc(a->len ? a->len : 1);
    if (!body) {
        chsm_arm_error(res, 500, "InternalServerError", "Out of memory.");
        return;
    }
    memcpy(body, a->data, a->len);
    chsm_response_set_body(res, 200, a->content_type, body, a->len);
}

static void get_index(chsm_request *req, chsm_response *res)
{
    serve(req, res, "index.html");
}

static void get_asset(chsm_request *req, chsm_response *res)
{
    serve(req, res, chsm_request_param(req, "file"));
}

#define PUBLIC (CHSM_ROUTE_PUBLIC | CHSM_ROUTE_NO_API_VERSION)

static const chsm_route routes[] = {
    {"GET", "/_emulator/ui", get_index, "emulator/ui", NULL, PUBLIC},
    {"GET", "/_emulator/ui/{file}", get_asset, "emulator/ui", NULL, PUBLIC},
};

const chsm_provider chsm_provider_ui = {"emulator dashboard", routes, CHSM_COUNT(routes), NULL};

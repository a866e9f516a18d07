/* access.c - the control surface's gate, shared by every /_emulator/ route
 * that changes or reveals state (qa.c, inventory.c) and the dashboard's
 * assets (ui.c). */
#include "control/access.h"

#include "app/app.h"
#include "arm/auth.h"
#include "arm/errors.h"

#include <string.h>

static int is_loopback(const char *host)
{
    return strcmp(host, "127.0.0.1") == 0 || strncmp(host, "127.", 4) == 0 ||
           strcmp(host, "::1") == 0 || strcmp(host, "localhost") == 0;
}

int chsm_control_enabled(chsm_request *req, chsm_response *res)
{
    chsm_app *app = req->app;
    if (app->cfg.no_control || !is_loopback(app->cfg.arm_host)) {
        chsm_arm_error(res, 404, "NotFound",
                       "The emulator control surface is off (--no-control, or the ARM listener "
                       "is not on a loopback address).");
        return 0;
    }
    return 1;
}

int chsm_control_allowed(chsm_request *req, chsm_response *res)
{
    if (!chsm_control_enabled(req, res))
        return 0;
    chsm_app *app = req->app;
    if (app->cfg.strict_auth) {
        if (chsm_arm_authenticate(app, req, res))
            return 0;
        if (strcmp(req->principal.appid, CHSM_CONTROL_ADMIN_CLIENT) != 0) {
            chsm_arm_error(res, 403, "AuthorizationFailed",
                           "With --strict-auth the control surface needs a token issued to the "
                           "client id '%s'.",
                           CHSM_CONTROL_ADMIN_CLIENT);
            return 0;
        }
    }
    return 1;
}

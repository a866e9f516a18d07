/* apiversion.c - checking ?api-version= against a route's list. */
#include "arm/apiversion.h"

#include "arm/errors.h"
#include "util/buf.h"
#include "util/text.h"

int chsm_arm_check_api_version(const chsm_request *req, const chsm_route *route, int loose,
                               chsm_response *res)
{
    if (route->flags & CHSM_ROUTE_NO_API_VERSION)
        return 0;
    const char *v = chsm_request_query(req, "api-version");
    if (!v || !*v) {
        chsm_arm_error(res, 400, "MissingApiVersionParameter",
                       "The api-version query parameter (?api-version=) is required for all "
                       "requests.");
        return 1;
    }
    /* Two api-versions would leave which one counts to chance: ARM refuses them. */
    size_t count = 0;
    for (size_t i = 0; i < req->nquery; i++)
        count += chsm_streq_ci(req->query[i].name, "api-version");
    if (count > 1) {
        chsm_arm_error(res, 400, "InvalidApiVersionParameter",
                       "The api-version query parameter is given %zu times; give it once.", count);
        return 1;
    }
    if (!route->api_versions || loose)
        return 0;
    chsm_buf list = {0};
    for (const char *const *p = route->api_versions; *p; p++) {
        if (chsm_streq_ci(*p, v)) {
            chsm_buf_free(&list);
            return 0;
        }
        chsm_buf_printf(&list, "%s%s", p == route->api_versions ? "" : ", ", *p);
    }
    chsm_arm_error(res, 400, "InvalidApiVersionParameter",
                   "The api-version '%s' is invalid. The supported versions are '%s'.", v,
                   list.data ? list.data : "");
    chsm_buf_free(&list);
    return 1;
}

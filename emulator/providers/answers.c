/* answers.c - answers that several ARM providers give alike. */
#include "providers/answers.h"

#include "app/app.h"
#include "arm/errors.h"
#include "arm/resource.h"
#include "util/status.h"

#include <stdint.h>
#include <stdlib.h>

void chsm_provider_store_error(chsm_response *res, int rc)
{
    chsm_arm_error(res, 500, "InternalServerError", "The state store failed: %s.",
                   chsm_status_str(rc));
}

/* answer_list answers 200 with the first page (at most) of the documents q finds, each
 * through render (NULL: as stored), and a nextLink when q found more; 500 when the store
 * fails. */
static void answer_list(chsm_request *req, chsm_response *res, const chsm_resource_query *q,
                        size_t page, chsm_provider_render_fn render)
{
    chsm_resource *rows = NULL;
    size_t n = 0;
    int rc = chsm_resources_list(req->app->store, q, &rows, &n);
    if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
        return;
    }
    cJSON *items = cJSON_CreateArray();
    for (size_t i = 0; i < n && i < page; i++) {
        cJSON *item = render ? render(req, rows[i].body) : rows[i].body;
        if (!render)
            rows[i].body = NULL; /* moved into the list */
        if (item)
            cJSON_AddItemToArray(items, item);
    }
    char *next = n > page ? chsm_arm_next_link(req, rows[page - 1].id) : NULL;
    chsm_resources_free(rows, n);
    chsm_arm_json(res, 200, chsm_arm_list_body(items, next));
    free(next);
}

void chsm_provider_list_all(chsm_request *req, chsm_response *res, const chsm_resource_query *q)
{
    answer_list(req, res, q, SIZE_MAX, NULL);
}

int chsm_provider_list_scope_ok(chsm_request *req, chsm_response *res, const char *sub,
                                const char *rg)
{
    if (rg)
        return !chsm_arm_require_resource_group(req, res, sub, rg);
    if (chsm_arm_valid_subscription(sub))
        return 1;
    chsm_arm_error(res, 400, "InvalidSubscriptionId",
                   "The provided subscription identifier '%.100s' is malformed or invalid.",
                   sub ? sub : "");
    return 0;
}

void chsm_provider_answer_page(chsm_request *req, chsm_response *res, chsm_resource_query *q,
                               size_t page, chsm_provider_render_fn render)
{
    q->limit = page + 1; /* one more than the page tells whether a nextLink is due */
    answer_list(req, res, q, page, render);
}

void chsm_provider_list_page(chsm_request *req, chsm_response *res, const char *rg,
                             const char *type, chsm_provider_render_fn render)
{
    const char *sub = chsm_request_param(req, "subscriptionId");
    if (!chsm_provider_list_scope_ok(req, res, sub, rg))
        return;
    chsm_resource_query q = {.type = type,
                             .subscription = sub,
                             .resource_group = rg,
                             .after_id = chsm_request_query(req, "$skiptoken")};
    chsm_provider_answer_page(req, res, &q, CHSM_PROVIDER_LIST_PAGE, render);
}

int chsm_provider_finish_tx(chsm_store *s, int rc)
{
    if (rc == CHSM_OK)
        return chsm_store_commit(s);
    chsm_store_rollback(s);
    return rc;
}

/* answers.h - answers that several ARM providers give alike (their handlers' shared tail). */
#ifndef CHSM_PROVIDERS_ANSWERS_H
#define CHSM_PROVIDERS_ANSWERS_H

#include "http/message.h"
#include "store/resources.h"
#include "store/store.h"

/* chsm_provider_store_error answers 500 InternalServerError "The state store failed: <rc>.". */
void chsm_provider_store_error(chsm_response *res, int rc);

/* chsm_provider_list_all answers 200 with an ARM list (no nextLink) of every document q finds,
 * as stored; 500 when the store fails. */
void chsm_provider_list_all(chsm_request *req, chsm_response *res, const chsm_resource_query *q);

/* Renders a stored document as its ARM answer (caller frees the result; doc stays the
 * caller's). */
typedef cJSON *(*chsm_provider_render_fn)(const chsm_request *req, const cJSON *doc);

/* How many documents one page of a list holds (the rest through nextLink / $skiptoken). */
#define CHSM_PROVIDER_LIST_PAGE 100

/* chsm_provider_list_scope_ok checks a list's scope: the resource group rg when given (its
 * 404 when it does not exist), else the subscription sub (400 InvalidSubscriptionId when
 * malformed); returns 1 when the list may be answered, else 0 with res filled. */
int chsm_provider_list_scope_ok(chsm_request *req, chsm_response *res, const char *sub,
                                const char *rg);

/* chsm_provider_answer_page answers 200 with at most page of the documents q finds (its
 * limit is set here), each through render (NULL: as stored), with a nextLink when more
 * follow; 500 when the store fails. */
void chsm_provider_answer_page(chsm_request *req, chsm_response *res, chsm_resource_query *q,
                               size_t page, chsm_provider_render_fn render);

/* chsm_provider_list_page answers one page of the documents of type in the request's
 * subscription (rg NULL) or resource group rg, each through render (NULL: as stored), with a
 * nextLink when more follow: 400 InvalidSubscriptionId for a malformed subscription, the
 * resource group's 404 when it does not exist, 500 when the store fails. */
void chsm_provider_list_page(chsm_request *req, chsm_response *res, const char *rg,
                             const char *type, chsm_provider_render_fn render);

/* chsm_provider_finish_tx commits the store's transaction when rc is CHSM_OK, else rolls it
 * back; returns rc, or the commit's failure. */
int chsm_provider_finish_tx(chsm_store *s, int rc);

#endif

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

/* chsm_provider_finish_tx commits the store's transaction when rc is CHSM_OK, else rolls it
 * back; returns rc, or the commit's failure. */
int chsm_provider_finish_tx(chsm_store *s, int rc);

#endif

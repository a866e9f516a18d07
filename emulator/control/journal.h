/* journal.h - the last requests the emulator answered, for explaining a
 * failed CI run (GET /_emulator/requests). Kept in memory, bounded. */
#ifndef CHSM_CONTROL_JOURNAL_H
#define CHSM_CONTROL_JOURNAL_H

#include "http/message.h"

#include <cjson/cJSON.h>

typedef struct chsm_journal chsm_journal;

/* chsm_journal_new keeps the last capacity entries (caller frees). */
chsm_journal *chsm_journal_new(int capacity);
/* chsm_journal_free frees the journal. */
void chsm_journal_free(chsm_journal *j);
/* chsm_journal_add records one answered request. */
void chsm_journal_add(chsm_journal *j, const chsm_request *req, const chsm_response *res,
                      double ms);
/* chsm_journal_list returns {"value":[...]} with at most limit entries,
 * newest first (caller frees). */
cJSON *chsm_journal_list(chsm_journal *j, int limit);
/* chsm_journal_clear forgets every entry. */
void chsm_journal_clear(chsm_journal *j);

#endif

/* chsmc_lro.h - following ARM long-running operations the way the Azure SDKs
 * do: Azure-AsyncOperation / Operation-Location (status in the body), then
 * Location (status from the HTTP code, 202 = running), then provisioningState
 * polling of a PUT/PATCH resource; Retry-After paces the polls and a timeout
 * bounds the wait. */
#ifndef CHSMC_LRO_H
#define CHSMC_LRO_H

#include "chsmc_client.h"

/* How an operation is followed. */
typedef enum chsmc_lro_mode {
    CHSMC_LRO_DONE = 0,        /* nothing to follow: the initial response is final */
    CHSMC_LRO_ASYNC_OPERATION, /* poll Azure-AsyncOperation/Operation-Location; body.status */
    CHSMC_LRO_LOCATION,        /* poll Location; 202 running, 2xx done (body status honoured) */
    CHSMC_LRO_BODY,            /* poll the resource; properties.provisioningState */
} chsmc_lro_mode;

/* Where an operation is. */
typedef enum chsmc_lro_state {
    CHSMC_LRO_RUNNING = 0,
    CHSMC_LRO_SUCCEEDED,
    CHSMC_LRO_FAILED,
    CHSMC_LRO_CANCELED,
} chsmc_lro_state;

/* chsmc_lro_select picks the mode for an initial response to method on original_url and
 * writes the URL to poll into poll_url (n bytes). An error status (>= 400) is DONE. */
chsmc_lro_mode chsmc_lro_select(const char *method, const chsmc_response *initial,
                                const char *original_url, char *poll_url, size_t n);
/* chsmc_lro_classify reads the state from one poll response in mode; label gets the status
 * text shown to users ("InProgress", "Provisioning", "Succeeded", ...); on FAILED/CANCELED
 * e gets the operation's error. */
chsmc_lro_state chsmc_lro_classify(chsmc_lro_mode mode, const chsmc_response *r, char *label,
                                   size_t n, chsmc_error *e);
/* chsmc_lro_retry_after_ms is the Retry-After of r in milliseconds (seconds form), or
 * default_ms when absent, zero or unparseable. */
long chsmc_lro_retry_after_ms(const chsmc_response *r, long default_ms);

/* Progress callback: called after every poll with the status text, the time waited and
 * whether the status changed since the previous call. */
typedef void (*chsmc_progress_fn)(void *ctx, const char *status, long long elapsed_ms, int changed);

typedef struct chsmc_wait_opts {
    int timeout_s;    /* <= 0: 300 */
    long interval_ms; /* poll interval without Retry-After; <= 0: 1000 */
    chsmc_progress_fn progress;
    void *progress_ctx;
} chsmc_wait_opts;

/* chsmc_lro_wait follows the operation started by method on path_or_url (initial is its
 * response, not consumed) to the end. *result (may be NULL) gets the final body: the
 * resource for PUT/PATCH, the last status body for POST, NULL for DELETE. Returns CHSMC_OK,
 * CHSMC_EOPFAILED (failed/canceled, e has the error), CHSMC_EHTTP (a poll answered an
 * error), CHSMC_ETIMEOUT, or a transport error. */
int chsmc_lro_wait(chsmc_client *c, const char *method, const char *path_or_url,
                   const char *api_version, const chsmc_response *initial, const chsmc_wait_opts *o,
                   cJSON **result, chsmc_error *e);
/* chsmc_lro_follow polls an operation URL (as a Location, honouring a body status) until it
 * ends; *result gets the last body (caller frees). Same returns as chsmc_lro_wait. */
int chsmc_lro_follow(chsmc_client *c, const char *url, const chsmc_wait_opts *o, cJSON **result,
                     chsmc_error *e);

#endif

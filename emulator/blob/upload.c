/* upload.c - the Blob listener's spill observer: the MD5 of a large Put Blob
 * body computed on another core while the body arrives. */
#include "blob/blob.h"

#include "blob/internal.h"
#include "crypto/md5follow.h"
#include "util/status.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Uploads hashed concurrently; beyond this the handler hashes in a second pass. */
#define MAX_FOLLOWERS 8

static atomic_int followers;

static void *spill_begin(void *ctx, const chsm_body_probe *probe)
{
    (void)ctx;
    /* Only Put Blob answers and stores the MD5 of what it received (Put
     * Block and the rest name a comp= parameter). */
    if (strcmp(probe->method, "PUT") != 0 || probe->query(probe, "comp") ||
        probe->query(probe, "restype") || !probe->header(probe, "x-ms-blob-type"))
        return NULL;
    if (atomic_fetch_add(&followers, 1) >= MAX_FOLLOWERS) {
        atomic_fetch_sub(&followers, 1);
        return NULL;
    }
    chsm_md5_follower *f = chsm_crypto_md5_follow_start(probe->fd);
    if (!f)
        atomic_fetch_sub(&followers, 1);
    return f;
}

static void spill_wrote(void *state, size_t n)
{
    chsm_crypto_md5_follow_wrote(state, n);
}

static void spill_end(void *state)
{
    chsm_crypto_md5_follow_stop(state);
    atomic_fetch_sub(&followers, 1);
}

const chsm_spill_observer chsm_blob_spill_observer = {spill_begin, spill_wrote, spill_end};

int chsm_blob_observed_md5(const chsm_request *req, unsigned char md5[16])
{
    if (!req->body_path || !req->body_observed)
        return CHSM_ENOTFOUND;
    return chsm_crypto_md5_follow_result(req->body_observed, md5);
}

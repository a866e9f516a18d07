/* status.c - names of the shared result codes, for logs and messages. */
#include "util/status.h"

const char *chsm_status_str(int status)
{
    switch (status) {
    case CHSM_OK:
        return "ok";
    case CHSM_ENOTFOUND:
        return "not found";
    case CHSM_EEXISTS:
        return "already exists";
    case CHSM_EINVAL:
        return "invalid input";
    case CHSM_EIO:
        return "I/O error";
    case CHSM_ENOMEM:
        return "out of memory";
    case CHSM_ECONFLICT:
        return "conflict";
    case CHSM_EDENIED:
        return "denied";
    case CHSM_ETOOBIG:
        return "too big";
    case CHSM_ECRYPTO:
        return "cryptographic failure";
    case CHSM_EUNAVAILABLE:
        return "service unavailable";
    default:
        return "unknown error";
    }
}

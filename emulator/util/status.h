/* status.h - result codes shared by every layer of the emulator.
 *
 * Functions that can fail return one of these (0 on success) and, where a
 * message helps the caller, fill a caller-owned buffer; nothing below the
 * HTTP layer prints. */
#ifndef CHSM_UTIL_STATUS_H
#define CHSM_UTIL_STATUS_H

enum chsm_status {
    CHSM_OK = 0,
    CHSM_ENOTFOUND = -1,     /* the thing asked for does not exist */
    CHSM_EEXISTS = -2,       /* it exists already and must not */
    CHSM_EINVAL = -3,        /* the input is malformed */
    CHSM_EIO = -4,           /* the disk or the database failed */
    CHSM_ENOMEM = -5,        /* an allocation failed */
    CHSM_ECONFLICT = -6,     /* the state does not allow it */
    CHSM_EDENIED = -7,       /* the caller may not */
    CHSM_ETOOBIG = -8,       /* over a size limit */
    CHSM_ECRYPTO = -9,       /* authentication of sealed data or a crypto call failed */
    CHSM_EUNAVAILABLE = -10, /* a service refused the call (QA fault rule: outage, read-only) */
};

/* CHSM_PRINTF marks printf-style functions so the compiler checks their
 * arguments; it expands to nothing on compilers without the attribute. */
#if defined(__GNUC__) || defined(__clang__)
#define CHSM_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define CHSM_PRINTF(fmt, args)
#endif

/* chsm_status_str returns a short constant name for a status code. */
const char *chsm_status_str(int status);

#endif

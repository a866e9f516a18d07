/* sas.h - shared access signatures signed with an account key: account SAS
 * (ss/srt) and Blob service SAS (sr=c container, sr=b blob), versions
 * 2015-04-05 and later, in their three string-to-sign generations. */
#ifndef CHSM_BLOB_SAS_H
#define CHSM_BLOB_SAS_H

#include "http/message.h"

#include <stddef.h>
#include <stdint.h>

enum chsm_blob_sas_kind { CHSM_SAS_ACCOUNT = 1, CHSM_SAS_SERVICE = 2 };

/* The SAS fields of a request; pointers into its query (never NULL once parsed). */
typedef struct chsm_blob_sas {
    int kind;
    const char *sv, *sp, *st, *se, *sip, *spr, *sig;
    const char *ss, *srt, *ses;     /* account SAS (ses also service SAS) */
    const char *sr, *si, *snapshot; /* service SAS */
    const char *rscc, *rscd, *rsce, *rscl, *rsct;
    int user_delegation; /* skoid present: not supported */
} chsm_blob_sas;

/* Where an operation acts, for srt / sr checks. */
enum chsm_blob_sas_level {
    CHSM_SAS_LEVEL_SERVICE = 's',
    CHSM_SAS_LEVEL_CONTAINER = 'c',
    CHSM_SAS_LEVEL_OBJECT = 'o'
};

/* What a SAS check concluded. */
enum chsm_blob_sas_result {
    CHSM_SAS_OK = 0,
    CHSM_SAS_BAD_SIGNATURE,     /* 403 AuthenticationFailed */
    CHSM_SAS_BAD_TIME,          /* 403 AuthenticationFailed (outside st..se, or malformed) */
    CHSM_SAS_UNSUPPORTED,       /* 403 AuthenticationFailed (stored policy, user delegation, sv) */
    CHSM_SAS_PROTOCOL,          /* 403 AuthorizationProtocolMismatch */
    CHSM_SAS_SERVICE_MISMATCH,  /* 403 AuthorizationServiceMismatch */
    CHSM_SAS_RESOURCE_MISMATCH, /* 403 AuthorizationResourceTypeMismatch */
    CHSM_SAS_PERMISSION,        /* 403 AuthorizationPermissionMismatch */
};

/* chsm_blob_sas_parse fills s from req's query; returns 1 when the request
 * carries a signature (sig=), 0 when not. */
int chsm_blob_sas_parse(const chsm_request *req, chsm_blob_sas *s);
/* chsm_blob_sas_string_to_sign returns what the SAS's signature covers for
 * account and (service SAS) container/blob, per s->sv (caller frees); NULL for
 * an unsupported form. blob may be NULL for a container SAS. */
char *chsm_blob_sas_string_to_sign(const chsm_blob_sas *s, const char *account,
                                   const char *container, const char *blob);
/* chsm_blob_sas_check verifies the signature against keys (base64, nkeys of
 * them), the time window at now_ms and the protocol, then that the SAS grants
 * one of the permission letters in perms at level; why gets a detail. */
int chsm_blob_sas_check(const chsm_blob_sas *s, const char *account, const char *container,
                        const char *blob, const char *const *keys, size_t nkeys, int64_t now_ms,
                        int https, int level, const char *perms, char *why, size_t whylen);
/* chsm_blob_parse_iso8601 parses "YYYY-MM-DD", "YYYY-MM-DDThh:mm[:ss[.fff]]Z"
 * into ms since the epoch; CHSM_EINVAL when malformed. */
int chsm_blob_parse_iso8601(const char *s, int64_t *ms);

#endif

/* names.h - the Blob service's naming rules, checked before anything is
 * looked up or stored. */
#ifndef CHSM_BLOB_NAMES_H
#define CHSM_BLOB_NAMES_H

#include <stddef.h>

/* Longest blob name in characters (Azure: 1024). */
#define CHSM_BLOB_MAX_NAME 1024

/* How a name failed, so the caller answers the matching Azure code. */
enum chsm_blob_name_check {
    CHSM_BLOB_NAME_OK = 0,
    CHSM_BLOB_NAME_BAD_LENGTH = 1, /* OutOfRangeInput */
    CHSM_BLOB_NAME_BAD_CHARS = 2,  /* InvalidResourceName */
};

/* chsm_blob_check_account_name: 3-24 lowercase letters and digits. */
int chsm_blob_check_account_name(const char *name);
/* chsm_blob_check_container_name: 3-63 lowercase letters, digits and single
 * hyphens, starting and ending with a letter or digit ("$root" and "$logs"
 * are not served). */
int chsm_blob_check_container_name(const char *name);
/* chsm_blob_check_blob_name: 1-1024 characters of valid UTF-8 without control
 * characters or backslashes, no "." or ".." path segment and no trailing '.'
 * or '/' (which URL normalisation would change). */
int chsm_blob_check_blob_name(const char *name);
/* chsm_blob_valid_metadata_name tells whether name is a C# identifier, as
 * metadata names must be. */
int chsm_blob_valid_metadata_name(const char *name);

#endif

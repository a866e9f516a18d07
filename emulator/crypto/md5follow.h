/* md5follow.h - the MD5 of a file while it is still being appended to,
 * computed on a thread of its own: a large upload is hashed on another core as
 * it arrives instead of in a second pass after it. For Content-MD5 only, never
 * for security. */
#ifndef CHSM_CRYPTO_MD5FOLLOW_H
#define CHSM_CRYPTO_MD5FOLLOW_H

#include <stddef.h>

typedef struct chsm_md5_follower chsm_md5_follower;

/* chsm_crypto_md5_follow_start starts hashing the file fd from offset 0 as
 * chsm_crypto_md5_follow_wrote reports bytes in it; fd stays the caller's and
 * must stay open until chsm_crypto_md5_follow_stop returns. NULL on failure. */
chsm_md5_follower *chsm_crypto_md5_follow_start(int fd);
/* chsm_crypto_md5_follow_wrote reports that n more bytes were appended to the file. */
void chsm_crypto_md5_follow_wrote(chsm_md5_follower *f, size_t n);
/* chsm_crypto_md5_follow_result waits until every reported byte is hashed and
 * writes the digest of them all; CHSM_EIO when the file could not be read.
 * Reporting more bytes afterwards is not allowed. */
int chsm_crypto_md5_follow_result(chsm_md5_follower *f, unsigned char out[16]);
/* chsm_crypto_md5_follow_stop ends the thread (without waiting for the rest of
 * the file) and frees f; NULL is fine. */
void chsm_crypto_md5_follow_stop(chsm_md5_follower *f);

#endif

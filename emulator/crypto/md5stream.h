/* md5stream.h - MD5 over data that arrives in pieces (a blob streamed from a
 * file), for Content-MD5 only, never for security. */
#ifndef CHSM_CRYPTO_MD5STREAM_H
#define CHSM_CRYPTO_MD5STREAM_H

#include <stddef.h>

typedef struct chsm_md5_stream chsm_md5_stream;

/* chsm_crypto_md5_stream_new starts a digest (caller finishes it with _final); NULL on failure. */
chsm_md5_stream *chsm_crypto_md5_stream_new(void);
/* chsm_crypto_md5_stream_update feeds n bytes. */
void chsm_crypto_md5_stream_update(chsm_md5_stream *m, const void *data, size_t n);
/* chsm_crypto_md5_stream_final writes the digest to out and frees m. */
void chsm_crypto_md5_stream_final(chsm_md5_stream *m, unsigned char out[16]);

#endif

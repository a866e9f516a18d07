/* backup_codec.h - the binary format of Cloud HSM backups (docs/backup-format.md).
 *
 * A backup is a versioned header in the clear (magic, version, backupId,
 * source cluster id, time, salt, iv, payload length) followed by the payload
 * sealed with AES-256-GCM under HKDF-SHA256(fleet secret, salt, "chsm backup
 * v<version>" || 0 || backupId), with the whole header as additional
 * authenticated data: changing any byte anywhere makes decoding fail. The
 * decoder trusts no length it reads and never reads past the input.
 *
 * Version 2 (written since format 2 snapshots, hsm/snapshot.h) is laid out as
 * version 1; a writer builds it in one buffer, payload appended in the clear
 * and sealed in place. Version 1 blobs are still read. */
#ifndef CHSM_HSM_BACKUP_CODEC_H
#define CHSM_HSM_BACKUP_CODEC_H

#include <stddef.h>
#include <stdint.h>

#define CHSM_BACKUP_MAGIC "CHSMBKUP"
#define CHSM_BACKUP_VERSION 2               /* the version written */
#define CHSM_BACKUP_VERSION_MIN 1           /* the oldest version read */
#define CHSM_BACKUP_MAX_ID 128              /* longest backupId */
#define CHSM_BACKUP_MAX_SOURCE 1024         /* longest source cluster resource id */
#define CHSM_BACKUP_MAX_PAYLOAD (64u << 20) /* largest sealed payload */
/* The largest whole backup blob (header + payload + tag). */
#define CHSM_BACKUP_MAX_BLOB (CHSM_BACKUP_MAX_PAYLOAD + 2048u)

typedef struct chsm_backup_header {
    int version;
    char backup_id[CHSM_BACKUP_MAX_ID + 1];
    char source_id[CHSM_BACKUP_MAX_SOURCE + 1];
    int64_t created_ms;
    unsigned char salt[32];
    unsigned char iv[12];
    uint64_t payload_len;
} chsm_backup_header;

/* chsm_backup_encode seals n bytes of payload into a new VERSION 1 backup blob (caller frees
 * *out) for backup_id and source_id, with a fresh random salt and iv: the format of backups
 * written before version 2, kept so that old-format backups can be made for tests. */
int chsm_backup_encode(const unsigned char fleet_secret[32], const char *backup_id,
                       const char *source_id, int64_t created_ms, const void *payload, size_t n,
                       unsigned char **out, size_t *outlen);
/* chsm_backup_peek parses the header only, WITHOUT authenticating it (use it for early,
 * advisory checks); CHSM_EINVAL with a reason in err when the blob is not a well-formed
 * backup of a supported version. */
int chsm_backup_peek(const unsigned char *blob, size_t len, chsm_backup_header *h, char *err,
                     size_t errlen);
/* chsm_backup_decode parses and authenticates a blob and returns its payload (caller frees
 * *payload, *n bytes, NUL-terminated for convenience). CHSM_EINVAL: malformed or truncated;
 * CHSM_ECRYPTO: tampered with or sealed under another fleet secret. err gets the reason. */
int chsm_backup_decode(const unsigned char fleet_secret[32], const unsigned char *blob, size_t len,
                       chsm_backup_header *h, unsigned char **payload, size_t *n, char *err,
                       size_t errlen);

/* chsm_backup_decode_in_place is chsm_backup_decode decrypting into the blob itself: *payload
 * points into blob (n bytes, not NUL-terminated). On failure the payload bytes of blob are
 * wiped. The caller wipes blob when done, since it then holds the payload in the clear. */
int chsm_backup_decode_in_place(const unsigned char fleet_secret[32], unsigned char *blob,
                                size_t len, chsm_backup_header *h, unsigned char **payload,
                                size_t *n, char *err, size_t errlen);

/* A version-2 backup blob being written: header, then the payload appended in the clear, then
 * sealed in place. Appends after a failure are no-ops; finish reports the failure. */
typedef struct chsm_backup_writer {
    unsigned char *buf; /* owned; wiped on growth and discard (it holds key material) */
    size_t len, cap;
    size_t header_len;
    int failed; /* CHSM_* of the first failure, 0 if none */
    char backup_id[CHSM_BACKUP_MAX_ID + 1];
} chsm_backup_writer;

/* chsm_backup_writer_begin starts a blob for backup_id and source_id (printable ASCII) created
 * at created_ms, with room for about size_hint payload bytes. */
int chsm_backup_writer_begin(chsm_backup_writer *w, const char *backup_id, const char *source_id,
                             int64_t created_ms, size_t size_hint);
/* chsm_backup_writer_reserve makes room for n more payload bytes (a hint: appends grow the
 * buffer anyway, but growing a large one copies it). */
void chsm_backup_writer_reserve(chsm_backup_writer *w, size_t n);
/* chsm_backup_writer_put appends n payload bytes. */
void chsm_backup_writer_put(chsm_backup_writer *w, const void *data, size_t n);
/* chsm_backup_writer_put_u16 appends a big-endian 16-bit number. */
void chsm_backup_writer_put_u16(chsm_backup_writer *w, unsigned v);
/* chsm_backup_writer_put_u32 appends a big-endian 32-bit number. */
void chsm_backup_writer_put_u32(chsm_backup_writer *w, uint32_t v);
/* chsm_backup_writer_put_u64 appends a big-endian 64-bit number. */
void chsm_backup_writer_put_u64(chsm_backup_writer *w, uint64_t v);
/* chsm_backup_writer_payload_len tells how many payload bytes were appended so far. */
size_t chsm_backup_writer_payload_len(const chsm_backup_writer *w);
/* chsm_backup_writer_patch_u32 overwrites the 32-bit number at payload offset off. */
void chsm_backup_writer_patch_u32(chsm_backup_writer *w, size_t off, uint32_t v);
/* chsm_backup_writer_finish seals the payload under a fresh salt and iv and hands the blob over
 * (caller frees *out); CHSM_ETOOBIG past CHSM_BACKUP_MAX_PAYLOAD. w is empty afterwards. */
int chsm_backup_writer_finish(chsm_backup_writer *w, const unsigned char fleet_secret[32],
                              unsigned char **out, size_t *outlen);
/* chsm_backup_writer_discard wipes and frees what w holds (after finish it is a no-op). */
void chsm_backup_writer_discard(chsm_backup_writer *w);

#endif

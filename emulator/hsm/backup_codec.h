/* backup_codec.h - the binary format of Cloud HSM backups (docs/backup-format.md).
 *
 * A backup is a versioned header in the clear (magic, version, backupId,
 * source cluster id, time, salt, iv, payload length) followed by the payload
 * sealed with AES-256-GCM under HKDF-SHA256(fleet secret, salt, "chsm backup
 * v1" || 0 || backupId), with the whole header as additional authenticated
 * data: changing any byte anywhere makes decoding fail. The decoder trusts no
 * length it reads and never reads past the input. */
#ifndef CHSM_HSM_BACKUP_CODEC_H
#define CHSM_HSM_BACKUP_CODEC_H

#include <stddef.h>
#include <stdint.h>

#define CHSM_BACKUP_MAGIC "CHSMBKUP"
#define CHSM_BACKUP_VERSION 1
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

/* chsm_backup_encode seals n bytes of payload into a new backup blob (caller frees *out) for
 * backup_id and source_id, with a fresh random salt and iv. */
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

#endif

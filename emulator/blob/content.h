/* content.h - blob bytes on disk under <data-dir>/blobs/.
 *
 * Every committed blob and every uncommitted block is one immutable file in
 * blobs/data/ named by a generated 32-hex id, never by a blob name, so no
 * name can reach the file system. A file is written under blobs/tmp/, fsynced
 * and renamed into place before the transaction that references it commits;
 * files that no row references (a crash between the two) are collected when
 * the service opens. Because files never change after the rename, snapshots
 * hard-link them. */
#ifndef CHSM_BLOB_CONTENT_H
#define CHSM_BLOB_CONTENT_H

#include <stddef.h>
#include <stdint.h>

typedef struct chsm_blob_content {
    char data[1100]; /* <data-dir>/blobs/data */
    char tmp[1100];  /* <data-dir>/blobs/tmp */
    int fsync;       /* fsync files and the folder before a commit (--fsync); without it a
                        committed blob survives any process crash, as the store's commits do */
} chsm_blob_content;

/* A file being written (chsm_blob_content_create ... _commit or _abort). */
typedef struct chsm_blob_writer {
    int fd;
    char tmp_path[1200];
    uint64_t size;
} chsm_blob_writer;

/* chsm_blob_content_init creates the folders under data_dir and empties tmp/. */
int chsm_blob_content_init(chsm_blob_content *c, const char *data_dir);
/* chsm_blob_content_new_id writes a fresh 32-hex file id. */
void chsm_blob_content_new_id(char id[33]);
/* chsm_blob_content_path writes the file path of id; CHSM_EINVAL unless id is 32 hex digits. */
int chsm_blob_content_path(const chsm_blob_content *c, const char *id, char *out, size_t outlen);
/* chsm_blob_content_create opens a new temp file for writing. */
int chsm_blob_content_create(const chsm_blob_content *c, chsm_blob_writer *w);
/* chsm_blob_content_append writes n bytes to w. */
int chsm_blob_content_append(chsm_blob_writer *w, const void *data, size_t n);
/* chsm_blob_content_append_file copies len bytes of the file at path from offset into w. */
int chsm_blob_content_append_file(chsm_blob_writer *w, const char *path, uint64_t offset,
                                  uint64_t len);
/* chsm_blob_content_commit fsyncs w and renames it into place under a new id (id out). */
int chsm_blob_content_commit(const chsm_blob_content *c, chsm_blob_writer *w, char id[33]);
/* chsm_blob_content_abort closes and removes an unfinished w. */
void chsm_blob_content_abort(chsm_blob_writer *w);
/* chsm_blob_content_write stores len bytes as a new file (id out). */
int chsm_blob_content_write(const chsm_blob_content *c, const void *data, size_t len, char id[33]);
/* chsm_blob_content_import takes the complete file at src (a spilled request
 * body, on the same file system) as a new file by hard link, or by copy when
 * linking is impossible; src itself is left for its owner to remove. */
int chsm_blob_content_import(const chsm_blob_content *c, const char *src, char id[33]);
/* chsm_blob_content_open opens id for reading (caller closes *fd); CHSM_ENOTFOUND if absent. */
int chsm_blob_content_open(const chsm_blob_content *c, const char *id, int *fd, uint64_t *size);
/* chsm_blob_content_remove deletes the file of id (absent is fine); a large
 * file leaves data/ at once and is unlinked by a background thread. */
void chsm_blob_content_remove(const chsm_blob_content *c, const char *id);
/* chsm_blob_content_digest reads len bytes of fd from offset, computing MD5
 * (md5 may be NULL) and the Azure CRC-64 (crc may be NULL). */
int chsm_blob_content_digest(int fd, uint64_t offset, uint64_t len, unsigned char md5[16],
                             uint64_t *crc);
/* chsm_blob_content_reap_wait waits until every large file removed so far is
 * unlinked and stops the thread that does it (at close; it restarts on demand). */
void chsm_blob_content_reap_wait(void);
/* chsm_blob_content_clear removes every file (QA reset). */
int chsm_blob_content_clear(const chsm_blob_content *c);
/* chsm_blob_content_collect removes files for which keep(ctx, id) is 0. */
int chsm_blob_content_collect(const chsm_blob_content *c, int (*keep)(void *ctx, const char *id),
                              void *ctx);
/* chsm_blob_content_save links (or copies) every file into dir. */
int chsm_blob_content_save(const chsm_blob_content *c, const char *dir);
/* chsm_blob_content_restore replaces every file with those of dir (absent dir: none). */
int chsm_blob_content_restore(const chsm_blob_content *c, const char *dir);

#endif

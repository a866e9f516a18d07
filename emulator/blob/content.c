/* content.c - blob files: temp, fsync, rename; links for imports and snapshots. */
#include "blob/content.h"

#include "app/files.h"
#include "crypto/digest.h"
#include "crypto/md5stream.h"
#include "util/faultsim.h"
#include "util/ids.h"
#include "util/status.h"
#include "util/text.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define COPY_CHUNK (1024 * 1024)
/* Files at least this large are unlinked by the reaper thread, off the request. */
#define REAP_MIN_SIZE (8 * 1024 * 1024)

/* The reaper: a removed large file is renamed into tmp/ at once (it is gone
 * from data/ when the remove returns) and unlinked by one background thread,
 * because freeing a large file's pages takes milliseconds (17 ms for 256 MiB
 * here) that the answer need not wait for. tmp/ is emptied when the service
 * opens, so a crash before the unlink leaves nothing behind. */
static pthread_mutex_t reap_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t reap_cond = PTHREAD_COND_INITIALIZER;
static char **reap_paths;
static size_t reap_n;
static int reap_running, reap_stop;
static pthread_t reap_thread;

static void *reaper(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&reap_lock);
    for (;;) {
        while (reap_n == 0 && !reap_stop)
            pthread_cond_wait(&reap_cond, &reap_lock);
        if (reap_n == 0)
            break; /* stopping, nothing left */
        char **list = reap_paths;
        size_t n = reap_n;
        reap_paths = NULL;
        reap_n = 0;
        pthread_mutex_unlock(&reap_lock);
        for (size_t i = 0; i < n; i++) {
            unlink(list[i]);
            free(list[i]);
        }
        free(list);
        pthread_mutex_lock(&reap_lock);
    }
    pthread_mutex_unlock(&reap_lock);
    return NULL;
}

/* reap_later queues path for the reaper; nonzero when it could not (the caller unlinks). */
static int reap_later(const char *path)
{
    char *copy = chsm_strdup(path);
    if (!copy)
        return -1;
    pthread_mutex_lock(&reap_lock);
    int ok = reap_running;
    if (!ok && !reap_stop && pthread_create(&reap_thread, NULL, reaper, NULL) == 0)
        ok = reap_running = 1;
    char **p = ok ? realloc(reap_paths, (reap_n + 1) * sizeof *p) : NULL;
    if (p) {
        reap_paths = p;
        reap_paths[reap_n++] = copy;
        pthread_cond_signal(&reap_cond);
    }
    pthread_mutex_unlock(&reap_lock);
    if (!p) {
        free(copy);
        return -1;
    }
    return 0;
}

void chsm_blob_content_reap_wait(void)
{
    pthread_mutex_lock(&reap_lock);
    if (!reap_running) {
        pthread_mutex_unlock(&reap_lock);
        return;
    }
    reap_stop = 1;
    pthread_cond_signal(&reap_cond);
    pthread_mutex_unlock(&reap_lock);
    pthread_join(reap_thread, NULL);
    pthread_mutex_lock(&reap_lock);
    reap_running = 0;
    reap_stop = 0;
    pthread_mutex_unlock(&reap_lock);
}

static int valid_id(const char *id)
{
    if (!id || strlen(id) != 32)
        return 0;
    for (int i = 0; i < 32; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
            return 0;
    return 1;
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return CHSM_EIO;
    int rc = fsync(fd) == 0 ? CHSM_OK : CHSM_EIO;
    close(fd);
    return rc;
}

static void remove_all_in(const char *dir)
{
    char **names = NULL;
    size_t n = 0;
    if (chsm_list_dir(dir, &names, &n) != CHSM_OK)
        return;
    for (size_t i = 0; i < n; i++) {
        char path[1400];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
        free(names[i]);
    }
    free(names);
}

int chsm_blob_content_init(chsm_blob_content *c, const char *data_dir)
{
    int n1 = snprintf(c->data, sizeof c->data, "%s/blobs/data", data_dir);
    int n2 = snprintf(c->tmp, sizeof c->tmp, "%s/blobs/tmp", data_dir);
    if (n1 < 0 || (size_t)n1 >= sizeof c->data || n2 < 0 || (size_t)n2 >= sizeof c->tmp)
        return CHSM_EINVAL;
    if (chsm_mkdirs(c->data) != CHSM_OK || chsm_mkdirs(c->tmp) != CHSM_OK)
        return CHSM_EIO;
    remove_all_in(c->tmp);
    return CHSM_OK;
}

void chsm_blob_content_new_id(char id[33])
{
    chsm_uuid_hex(id);
}

int chsm_blob_content_path(const chsm_blob_content *c, const char *id, char *out, size_t outlen)
{
    if (!valid_id(id))
        return CHSM_EINVAL;
    int n = snprintf(out, outlen, "%s/%s", c->data, id);
    return n > 0 && (size_t)n < outlen ? CHSM_OK : CHSM_EINVAL;
}

int chsm_blob_content_create(const chsm_blob_content *c, chsm_blob_writer *w)
{
    memset(w, 0, sizeof *w);
    snprintf(w->tmp_path, sizeof w->tmp_path, "%s/w-XXXXXX", c->tmp);
    w->fd = mkstemp(w->tmp_path);
    if (w->fd < 0) {
        w->tmp_path[0] = '\0';
        return CHSM_EIO;
    }
    return CHSM_OK;
}

int chsm_blob_content_append(chsm_blob_writer *w, const void *data, size_t n)
{
    const char *p = data;
    while (n > 0) {
        ssize_t k =
            CHSM_FAULTSIM_FAIL(CHSM_FAULTSIM_WRITE) ? (errno = EIO, -1) : write(w->fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return CHSM_EIO;
        p += k;
        n -= (size_t)k;
        w->size += (uint64_t)k;
    }
    return CHSM_OK;
}

int chsm_blob_content_append_file(chsm_blob_writer *w, const char *path, uint64_t offset,
                                  uint64_t len)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return errno == ENOENT ? CHSM_ENOTFOUND : CHSM_EIO;
    char *buf = malloc(COPY_CHUNK);
    int rc = buf ? CHSM_OK : CHSM_ENOMEM;
    while (rc == CHSM_OK && len > 0) {
        size_t want = len < COPY_CHUNK ? (size_t)len : COPY_CHUNK;
        ssize_t k = pread(fd, buf, want, (off_t)offset);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            rc = CHSM_EIO; /* shorter than its row says */
            break;
        }
        rc = chsm_blob_content_append(w, buf, (size_t)k);
        offset += (uint64_t)k;
        len -= (uint64_t)k;
    }
    free(buf);
    close(fd);
    return rc;
}

int chsm_blob_content_commit(const chsm_blob_content *c, chsm_blob_writer *w, char id[33])
{
    int rc = !c->fsync || fsync(w->fd) == 0 ? CHSM_OK : CHSM_EIO;
    close(w->fd);
    w->fd = -1;
    char path[1200] = "";
    if (rc == CHSM_OK) {
        chsm_blob_content_new_id(id);
        rc = chsm_blob_content_path(c, id, path, sizeof path);
    }
    if (rc == CHSM_OK && rename(w->tmp_path, path) != 0)
        rc = CHSM_EIO;
    if (rc == CHSM_OK && c->fsync)
        rc = fsync_dir(c->data);
    if (rc != CHSM_OK) {
        unlink(w->tmp_path);
        if (path[0])
            unlink(path);
    }
    w->tmp_path[0] = '\0';
    return rc;
}

void chsm_blob_content_abort(chsm_blob_writer *w)
{
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    if (w->tmp_path[0])
        unlink(w->tmp_path);
    w->tmp_path[0] = '\0';
}

int chsm_blob_content_write(const chsm_blob_content *c, const void *data, size_t len, char id[33])
{
    chsm_blob_writer w;
    int rc = chsm_blob_content_create(c, &w);
    if (rc != CHSM_OK)
        return rc;
    rc = chsm_blob_content_append(&w, data, len);
    if (rc != CHSM_OK) {
        chsm_blob_content_abort(&w);
        return rc;
    }
    return chsm_blob_content_commit(c, &w, id);
}

int chsm_blob_content_import(const chsm_blob_content *c, const char *src, char id[33])
{
    char path[1200];
    chsm_blob_content_new_id(id);
    int rc = chsm_blob_content_path(c, id, path, sizeof path);
    if (rc != CHSM_OK)
        return rc;
    if (link(src, path) == 0) /* with --fsync the spill file was fsynced before dispatch */
        return c->fsync ? fsync_dir(c->data) : CHSM_OK;
    struct stat st;
    if (stat(src, &st) != 0)
        return CHSM_EIO;
    chsm_blob_writer w;
    rc = chsm_blob_content_create(c, &w);
    if (rc == CHSM_OK)
        rc = chsm_blob_content_append_file(&w, src, 0, (uint64_t)st.st_size);
    if (rc != CHSM_OK) {
        chsm_blob_content_abort(&w);
        return rc;
    }
    return chsm_blob_content_commit(c, &w, id);
}

int chsm_blob_content_open(const chsm_blob_content *c, const char *id, int *fd, uint64_t *size)
{
    char path[1200];
    int rc = chsm_blob_content_path(c, id, path, sizeof path);
    if (rc != CHSM_OK)
        return rc;
    int f = open(path, O_RDONLY);
    if (f < 0)
        return errno == ENOENT ? CHSM_ENOTFOUND : CHSM_EIO;
    struct stat st;
    if (fstat(f, &st) != 0) {
        close(f);
        return CHSM_EIO;
    }
    *fd = f;
    if (size)
        *size = (uint64_t)st.st_size;
    return CHSM_OK;
}

void chsm_blob_content_remove(const chsm_blob_content *c, const char *id)
{
    char path[1200];
    if (!id || chsm_blob_content_path(c, id, path, sizeof path) != CHSM_OK)
        return;
    struct stat st;
    if (stat(path, &st) == 0 && st.st_size >= REAP_MIN_SIZE) {
        char doomed[1200];
        snprintf(doomed, sizeof doomed, "%s/x-%s", c->tmp, id);
        if (rename(path, doomed) == 0) {
            if (reap_later(doomed) != 0)
                unlink(doomed);
            return;
        }
    }
    unlink(path);
}

int chsm_blob_content_digest(int fd, uint64_t offset, uint64_t len, unsigned char md5[16],
                             uint64_t *crc)
{
    char *buf = malloc(COPY_CHUNK);
    if (!buf)
        return CHSM_ENOMEM;
    chsm_md5_stream *m = md5 ? chsm_crypto_md5_stream_new() : NULL;
    if (md5 && !m) {
        free(buf);
        return CHSM_ENOMEM;
    }
    uint64_t c = 0;
    int rc = CHSM_OK;
    while (len > 0) {
        size_t want = len < COPY_CHUNK ? (size_t)len : COPY_CHUNK;
        ssize_t k = pread(fd, buf, want, (off_t)offset);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            rc = CHSM_EIO;
            break;
        }
        if (m)
            chsm_crypto_md5_stream_update(m, buf, (size_t)k);
        if (crc)
            c = chsm_crypto_crc64(c, buf, (size_t)k);
        offset += (uint64_t)k;
        len -= (uint64_t)k;
    }
    if (m)
        chsm_crypto_md5_stream_final(m, md5);
    if (crc)
        *crc = c;
    free(buf);
    return rc;
}

int chsm_blob_content_clear(const chsm_blob_content *c)
{
    remove_all_in(c->data);
    remove_all_in(c->tmp);
    return CHSM_OK;
}

int chsm_blob_content_collect(const chsm_blob_content *c, int (*keep)(void *ctx, const char *id),
                              void *ctx)
{
    char **names = NULL;
    size_t n = 0;
    int rc = chsm_list_dir(c->data, &names, &n);
    if (rc != CHSM_OK)
        return rc;
    for (size_t i = 0; i < n; i++) {
        int k = valid_id(names[i]) ? keep(ctx, names[i]) : 0;
        if (k < 0)
            rc = CHSM_EIO;
        else if (k == 0) {
            char path[1400];
            snprintf(path, sizeof path, "%s/%s", c->data, names[i]);
            unlink(path);
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

/* link_or_copy makes dst a copy of src (a hard link when possible: files never change). */
static int link_or_copy(const char *src, const char *dst)
{
    if (link(src, dst) == 0)
        return CHSM_OK;
    int in = open(src, O_RDONLY);
    if (in < 0)
        return CHSM_EIO;
    int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (out < 0) {
        close(in);
        return CHSM_EIO;
    }
    char *buf = malloc(COPY_CHUNK);
    int rc = buf ? CHSM_OK : CHSM_ENOMEM;
    while (rc == CHSM_OK) {
        ssize_t k = read(in, buf, COPY_CHUNK);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            rc = CHSM_EIO;
        if (k <= 0)
            break;
        for (ssize_t off = 0; rc == CHSM_OK && off < k;) {
            ssize_t w = CHSM_FAULTSIM_FAIL(CHSM_FAULTSIM_WRITE)
                            ? (errno = EIO, -1)
                            : write(out, buf + off, (size_t)(k - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                rc = CHSM_EIO;
            else
                off += w;
        }
    }
    if (rc == CHSM_OK && fsync(out) != 0)
        rc = CHSM_EIO;
    free(buf);
    close(in);
    close(out);
    if (rc != CHSM_OK)
        unlink(dst);
    return rc;
}

static int copy_all(const char *from, const char *to)
{
    char **names = NULL;
    size_t n = 0;
    int rc = chsm_mkdirs(to);
    if (rc == CHSM_OK)
        rc = chsm_list_dir(from, &names, &n);
    for (size_t i = 0; i < n; i++) {
        if (rc == CHSM_OK && valid_id(names[i])) {
            char src[1400], dst[1400];
            snprintf(src, sizeof src, "%s/%s", from, names[i]);
            snprintf(dst, sizeof dst, "%s/%s", to, names[i]);
            rc = link_or_copy(src, dst);
        }
        free(names[i]);
    }
    free(names);
    if (rc == CHSM_OK)
        rc = fsync_dir(to);
    return rc;
}

int chsm_blob_content_save(const chsm_blob_content *c, const char *dir)
{
    char to[1200];
    snprintf(to, sizeof to, "%s/blobs", dir);
    return copy_all(c->data, to);
}

int chsm_blob_content_restore(const chsm_blob_content *c, const char *dir)
{
    char from[1200];
    snprintf(from, sizeof from, "%s/blobs", dir);
    remove_all_in(c->data);
    struct stat st;
    if (stat(from, &st) != 0)
        return CHSM_OK;
    return copy_all(from, c->data);
}

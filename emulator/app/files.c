/* files.c - data dir file helpers. */
#define _XOPEN_SOURCE 700
#include "app/files.h"

#include "util/status.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int chsm_mkdirs(const char *dir)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path)
        return CHSM_EINVAL;
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            return CHSM_EIO;
        *p = '/';
    }
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return CHSM_EIO;
    return CHSM_OK;
}

int chsm_write_file_atomic(const char *path, const void *data, size_t len, int mode, int durable)
{
    char tmp[4200];
    if (snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return CHSM_EINVAL;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return CHSM_EIO;
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            close(fd);
            unlink(tmp);
            return CHSM_EIO;
        }
        p += w;
        left -= (size_t)w;
    }
    if ((durable && fsync(fd) != 0) || close(fd) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return CHSM_EIO;
    }
    return CHSM_OK;
}

int chsm_read_file(const char *path, size_t max, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno == ENOENT ? CHSM_ENOTFOUND : CHSM_EIO;
    char *buf = malloc(max + 1);
    if (!buf) {
        fclose(f);
        return CHSM_ENOMEM;
    }
    size_t n = fread(buf, 1, max + 1, f);
    int err = ferror(f);
    fclose(f);
    if (err || n > max) {
        free(buf);
        return err ? CHSM_EIO : CHSM_ETOOBIG;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return CHSM_OK;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int chsm_remove_tree(const char *dir)
{
    return nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) == 0 ? CHSM_OK : CHSM_EIO;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int chsm_list_dir(const char *dir, char ***names, size_t *n)
{
    *names = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? CHSM_OK : CHSM_EIO;
    struct dirent *e;
    size_t cap = 0;
    int rc = CHSM_OK;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            char **p = realloc(*names, cap * sizeof *p);
            if (!p) {
                rc = CHSM_ENOMEM;
                break;
            }
            *names = p;
        }
        (*names)[*n] = strdup(e->d_name);
        if (!(*names)[*n]) {
            rc = CHSM_ENOMEM;
            break;
        }
        (*n)++;
    }
    closedir(d);
    if (*n)
        qsort(*names, *n, sizeof **names, cmp_names);
    return rc;
}

/* files.h - small file-system helpers for the data dir. */
#ifndef CHSM_APP_FILES_H
#define CHSM_APP_FILES_H

#include <stddef.h>

/* chsm_mkdirs creates dir and its parents (mode 0700 for new ones). */
int chsm_mkdirs(const char *dir);
/* chsm_write_file_atomic writes len bytes to path through a temp file and a rename, so
 * readers see the old or the new content, never a torn one; with durable, the file is
 * fsynced before the rename, so it also survives power loss (a killed process never
 * loses it either way: the kernel has it). */
int chsm_write_file_atomic(const char *path, const void *data, size_t len, int mode, int durable);
/* chsm_read_file reads a whole file of at most max bytes (caller frees *out, NUL-terminated). */
int chsm_read_file(const char *path, size_t max, char **out, size_t *len);
/* chsm_remove_tree deletes dir and everything below it. */
int chsm_remove_tree(const char *dir);

/* chsm_list_dir returns the names in dir, sorted, without "." and ".."
 * (caller frees each name and the array); an absent dir is an empty list. */
int chsm_list_dir(const char *dir, char ***names, size_t *n);

#endif

/* File helpers. Durable writes are temp + fsync + rename + fsync(dir). */
#ifndef MO_FS_H
#define MO_FS_H

#include <stdbool.h>
#include <stddef.h>

/* Reads a whole regular file of at most max bytes into a NUL-terminated buffer.
 * Returns 0, or -1 with errno set (EFBIG when larger than max). */
int fs_read_file(const char *path, size_t max, char **out, size_t *len);
/* Writes data to path atomically and durably. Returns 0 or -1 with errno. */
int fs_write_atomic(const char *path, const void *data, size_t len, unsigned mode);
/* fsync of the directory holding path (or of path itself if it is a directory). */
int fs_fsync_dir(const char *dir);
bool fs_exists(const char *path);
bool fs_is_regular(const char *path);
/* Joins dir and name with one '/'; an absolute name is returned as it is. */
char *fs_join(const char *dir, const char *name);
/* Absolute directory holding path (from realpath of that directory). NULL on error. */
char *fs_abs_dirname(const char *path);
/* The program a command names, as execve would run it: cmd itself when it holds a '/',
 * else the first executable regular file `cmd` in the directories of $PATH (a default
 * list without it). NULL when there is none (or cmd is not an executable regular file).
 * Caller frees. */
char *fs_find_program(const char *cmd);
/* fs_find_program's path, else a copy of cmd itself (running it then fails with an error
 * that names it). Caller frees. */
char *fs_resolve_program(const char *cmd);
/* The name of the RAM file system path lies on ("tmpfs", "ramfs"), whose content a
 * reboot loses, or NULL when it is another one (or cannot be told). */
const char *fs_volatile_kind(const char *path);

#endif

#include "iface/workdir.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/mem.h"

char *workdir_escape(const char *part)
{
    size_t n = strlen(part);
    char *out = xmalloc(n * 3 + 1), *o = out;
    bool dots = strcmp(part, ".") == 0 || strcmp(part, "..") == 0;
    for (const unsigned char *p = (const unsigned char *)part; *p; p++) {
        bool plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' ||
                     *p == '-' || (*p == '.' && !dots);
        if (plain)
            *o++ = (char)*p;
        else
            o += sprintf(o, "%%%02X", *p);
    }
    *o = '\0';
    return out;
}

char *workdir_path(const char *datastore, const char *component_type, const char *id)
{
    assert(datastore && component_type && id);
    _cleanup_free_ char *t = workdir_escape(component_type);
    _cleanup_free_ char *i = workdir_escape(id);
    return xasprintf("%s/work/%s/%s", datastore, t, i);
}

int workdir_mkdirs(const char *dir)
{
    assert(dir);
    _cleanup_free_ char *p = xstrdup(dir);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0700) < 0 && errno != EEXIST)
            return -1;
        *s = '/';
    }
    return mkdir(p, 0700) < 0 && errno != EEXIST ? -1 : 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

int workdir_check(const char *dir, int levels, struct error **err)
{
    assert(dir && levels >= 0);
    _cleanup_free_ char *p = xstrdup(dir);
    for (int i = 0; i < levels; i++) {
        struct stat st;
        if (lstat(p, &st) == 0 && !S_ISDIR(st.st_mode))
            return error_set(err, 0, "%s: %s; remove it (work dirs must be real directories)", p,
                             S_ISLNK(st.st_mode) ? "is a symbolic link" : "is not a directory");
        char *slash = strrchr(p, '/');
        if (!slash || slash == p)
            break;
        *slash = '\0';
    }
    return 0;
}

int workdir_remove(const char *dir)
{
    assert(dir);
    struct stat st;
    if (lstat(dir, &st) < 0)
        return errno == ENOENT ? 0 : -1;
    return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int write_all(int fd, const char *p, size_t left)
{
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        left -= (size_t)w;
    }
    return 0;
}

/* Writes a file (0600), fsynced if durable; the directory is fsynced by the caller. Never
 * blocks on a FIFO found there (O_NONBLOCK: no reader fails the open). */
static int put_file(const char *dir, const char *name, const void *data, size_t len, bool durable, struct error **err)
{
    _cleanup_free_ char *path = fs_join(dir, name);
    _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW, 0600);
    if (fd < 0 || write_all(fd, data, len) < 0 || (durable && fsync(fd) < 0))
        return error_set_errno(err, errno, "%s", path);
    return 0;
}

static int put(const char *dir, const char *name, const void *data, size_t len, struct error **err)
{
    return put_file(dir, name, data, len, true, err);
}

/* value and a newline; an empty file for NULL. */
static int put_line(const char *dir, const char *name, const char *value, struct error **err)
{
    if (!value)
        return put(dir, name, "", 0, err);
    _cleanup_free_ char *s = xasprintf("%s\n", value);
    return put(dir, name, s, strlen(s), err);
}

/* value as it is; an empty file for NULL. */
static int put_str(const char *dir, const char *name, const char *value, struct error **err)
{
    return put(dir, name, value ? value : "", value ? strlen(value) : 0, err);
}

static int make_dir(const char *dir, const char *name, struct error **err)
{
    _cleanup_free_ char *p = fs_join(dir, name);
    if (mkdir(p, 0700) < 0)
        return error_set_errno(err, errno, "%s", p);
    return 0;
}

/* The files directly in the work dir: the format version and what runs now. */
static int put_top(const char *dir, const char *component_type, const struct kvlist *provides, struct error **err)
{
    if (put(dir, "version", "1\n", 2, err) < 0 ||
        put_line(dir, "current_artifact_name", kvl_get(provides, "artifact_name"), err) < 0 ||
        put_line(dir, "current_artifact_group", kvl_get(provides, "artifact_group"), err) < 0 ||
        put_line(dir, "current_device_type", component_type, err) < 0 || make_dir(dir, "tmp", err) < 0 ||
        make_dir(dir, "header", err) < 0)
        return -1;
    return 0;
}

/* header/: the Artifact's header as the Interface sees it. */
static int put_header(const char *header, const struct artifact_info *info, struct error **err)
{
    bool meta = info->meta_data && info->meta_data_len;
    if (put_str(header, "artifact_name", info->artifact_name, err) < 0 ||
        put_str(header, "artifact_group", info->artifact_group, err) < 0 ||
        put_str(header, "payload_type", info->payload_type, err) < 0 ||
        put(header, "header-info", info->header_info, info->header_info_len, err) < 0 ||
        put(header, "type-info", info->type_info, info->type_info_len, err) < 0 ||
        put(header, "meta-data", meta ? info->meta_data : "null", meta ? info->meta_data_len : 4, err) < 0)
        return -1;
    return 0;
}

int workdir_create(const char *dir, const char *component_type, const struct kvlist *provides,
                   const struct artifact_info *info, struct error **err)
{
    assert(dir && component_type && provides && info);
    if (workdir_check(dir, 3, err) < 0)
        return -1;
    if (workdir_remove(dir) < 0 || workdir_mkdirs(dir) < 0)
        return error_set_errno(err, errno, "%s", dir);
    if (workdir_check(dir, 3, err) < 0)
        return -1;
    _cleanup_free_ char *header = fs_join(dir, "header");
    if (put_top(dir, component_type, provides, err) < 0 || put_header(header, info, err) < 0)
        return -1;
    if (fs_fsync_dir(header) < 0 || fs_fsync_dir(dir) < 0)
        return error_set_errno(err, errno, "%s: fsync", dir);
    /* The new directory entry itself must be durable too. */
    _cleanup_free_ char *parent = xstrdup(dir);
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent) {
        *slash = '\0';
        fs_fsync_dir(parent);
    }
    return 0;
}

char *workdir_scratch(const char *datastore, struct error **err)
{
    assert(datastore);
    static atomic_uint counter;
    unsigned n = atomic_fetch_add(&counter, 1) + 1;
    _cleanup_free_ char *dir = xasprintf("%s/query/%ld-%u", datastore, (long)getpid(), n);
    if (workdir_check(dir, 2, err) < 0)
        return NULL;
    if (workdir_remove(dir) < 0 || workdir_mkdirs(dir) < 0) {
        error_set_errno(err, errno, "%s", dir);
        return NULL;
    }
    /* Thrown away after one query: nothing to make durable. */
    if (workdir_check(dir, 2, err) < 0 || put_file(dir, "version", "1\n", 2, false, err) < 0 ||
        make_dir(dir, "tmp", err) < 0)
        return NULL;
    return TAKE_PTR(dir);
}

void workdir_sweep_scratch(const char *datastore)
{
    assert(datastore);
    _cleanup_free_ char *query = fs_join(datastore, "query");
    _cleanup_error_ struct error *e = NULL;
    if (workdir_check(query, 1, &e) != 0) { /* nothing is removed through a symlink */
        log_warn("%s", error_message(e));
        return;
    }
    _cleanup_closedir_ DIR *dir = opendir(query);
    if (!dir)
        return;
    struct dirent *ent;
    while ((ent = readdir(dir))) {
        char *end = NULL;
        errno = 0;
        long pid = strtol(ent->d_name, &end, 10);
        if (errno || end == ent->d_name || *end != '-' || pid <= 0 || pid == (long)getpid())
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue; /* still running (or not ours to judge) */
        _cleanup_free_ char *path = fs_join(query, ent->d_name);
        if (workdir_remove(path) == 0)
            log_info("removed %s, left by an orchestrator that did not finish its query", path);
    }
}

#include "iface/workdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <ftw.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
    char *t = workdir_escape(component_type), *i = workdir_escape(id);
    char *p = xasprintf("%s/work/%s/%s", datastore, t, i);
    free(t);
    free(i);
    return p;
}

int workdir_mkdirs(const char *dir)
{
    char *p = xstrdup(dir);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0700) < 0 && errno != EEXIST) {
            free(p);
            return -1;
        }
        *s = '/';
    }
    int r = mkdir(p, 0700) < 0 && errno != EEXIST ? -1 : 0;
    free(p);
    return r;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

int workdir_check(const char *dir, int levels, char *err, size_t errlen)
{
    char *p = xstrdup(dir);
    int r = 0;
    for (int i = 0; i < levels && r == 0; i++) {
        struct stat st;
        if (lstat(p, &st) == 0 && !S_ISDIR(st.st_mode)) {
            snprintf(err, errlen, "%s: %s; remove it (work dirs must be real directories)", p,
                     S_ISLNK(st.st_mode) ? "is a symbolic link" : "is not a directory");
            r = -1;
        }
        char *slash = strrchr(p, '/');
        if (!slash || slash == p)
            break;
        *slash = '\0';
    }
    free(p);
    return r;
}

int workdir_remove(const char *dir)
{
    struct stat st;
    if (lstat(dir, &st) < 0)
        return errno == ENOENT ? 0 : -1;
    return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Writes a file (0600), fsynced if durable; the directory is fsynced by the caller. */
static int put_file(const char *dir, const char *name, const void *data, size_t len, bool durable, char *err,
                    size_t errlen)
{
    char *path = fs_join(dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int r = -1;
    if (fd >= 0) {
        const char *p = data;
        size_t left = len;
        while (left) {
            ssize_t w = write(fd, p, left);
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                break;
            p += w;
            left -= (size_t)w;
        }
        if (left == 0 && (!durable || fsync(fd) == 0))
            r = 0;
        close(fd);
    }
    if (r < 0)
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
    free(path);
    return r;
}

static int put(const char *dir, const char *name, const void *data, size_t len, char *err, size_t errlen)
{
    return put_file(dir, name, data, len, true, err, errlen);
}

static int put_line(const char *dir, const char *name, const char *value, char *err, size_t errlen)
{
    if (!value)
        return put(dir, name, "", 0, err, errlen);
    char *s = xasprintf("%s\n", value);
    int r = put(dir, name, s, strlen(s), err, errlen);
    free(s);
    return r;
}

static int put_str(const char *dir, const char *name, const char *value, char *err, size_t errlen)
{
    return put(dir, name, value ? value : "", value ? strlen(value) : 0, err, errlen);
}

static int make_dir(const char *dir, const char *name, char *err, size_t errlen)
{
    char *p = fs_join(dir, name);
    int r = mkdir(p, 0700);
    if (r < 0)
        snprintf(err, errlen, "%s: %s", p, strerror(errno));
    free(p);
    return r;
}

int workdir_create(const char *dir, const char *component_type, const struct kvlist *provides,
                   const struct artifact_info *info, char *err, size_t errlen)
{
    if (workdir_check(dir, 3, err, errlen) < 0)
        return -1;
    if (workdir_remove(dir) < 0 || workdir_mkdirs(dir) < 0) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return -1;
    }
    if (workdir_check(dir, 3, err, errlen) < 0)
        return -1;
    char *header = fs_join(dir, "header");
    int r = -1;
    if (put(dir, "version", "1\n", 2, err, errlen) || put_line(dir, "current_artifact_name", kvl_get(provides, "artifact_name"), err, errlen) ||
        put_line(dir, "current_artifact_group", kvl_get(provides, "artifact_group"), err, errlen) ||
        put_line(dir, "current_device_type", component_type, err, errlen) || make_dir(dir, "tmp", err, errlen) ||
        make_dir(dir, "header", err, errlen))
        goto out;
    if (put_str(header, "artifact_name", info->artifact_name, err, errlen) ||
        put_str(header, "artifact_group", info->artifact_group, err, errlen) ||
        put_str(header, "payload_type", info->payload_type, err, errlen) ||
        put(header, "header-info", info->header_info, info->header_info_len, err, errlen) ||
        put(header, "type-info", info->type_info, info->type_info_len, err, errlen))
        goto out;
    if (info->meta_data && info->meta_data_len)
        r = put(header, "meta-data", info->meta_data, info->meta_data_len, err, errlen);
    else
        r = put(header, "meta-data", "null", 4, err, errlen);
    if (r == 0 && (fs_fsync_dir(header) < 0 || fs_fsync_dir(dir) < 0)) {
        snprintf(err, errlen, "%s: fsync: %s", dir, strerror(errno));
        r = -1;
    }
    if (r == 0) {
        /* The new directory entry itself must be durable too. */
        char *parent = xstrdup(dir);
        char *slash = strrchr(parent, '/');
        if (slash && slash != parent) {
            *slash = '\0';
            fs_fsync_dir(parent);
        }
        free(parent);
    }
out:
    free(header);
    return r;
}

char *workdir_scratch(const char *datastore, char *err, size_t errlen)
{
    static atomic_uint counter;
    unsigned n = atomic_fetch_add(&counter, 1) + 1;
    err[0] = '\0';
    char *dir = xasprintf("%s/query/%ld-%u", datastore, (long)getpid(), n);
    if (workdir_check(dir, 2, err, errlen) < 0) {
        free(dir);
        return NULL;
    }
    /* Thrown away after one query: nothing to make durable. */
    if (workdir_remove(dir) < 0 || workdir_mkdirs(dir) < 0 || workdir_check(dir, 2, err, errlen) < 0 ||
        put_file(dir, "version", "1\n", 2, false, err, errlen) ||
        make_dir(dir, "tmp", err, errlen)) {
        if (!err[0])
            snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        free(dir);
        return NULL;
    }
    return dir;
}

void workdir_sweep_scratch(const char *datastore)
{
    char *query = fs_join(datastore, "query");
    char why[512];
    if (workdir_check(query, 1, why, sizeof(why)) != 0) {   /* nothing is removed through a symlink */
        log_warn("%s", why);
        free(query);
        return;
    }
    DIR *dir = opendir(query);
    if (!dir) {
        free(query);
        return;
    }
    struct dirent *e;
    while ((e = readdir(dir))) {
        char *end = NULL;
        errno = 0;
        long pid = strtol(e->d_name, &end, 10);
        if (errno || end == e->d_name || *end != '-' || pid <= 0 || pid == (long)getpid())
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue; /* still running (or not ours to judge) */
        char *path = fs_join(query, e->d_name);
        if (workdir_remove(path) == 0)
            log_info("removed %s, left by an orchestrator that did not finish its query", path);
        free(path);
    }
    closedir(dir);
    free(query);
}

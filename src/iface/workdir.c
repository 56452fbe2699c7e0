#include "iface/workdir.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
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
    /* The deepest part first: its parents mostly exist (one mkdir, not one per part). */
    if (mkdir(dir, 0700) == 0 || errno == EEXIST)
        return 0;
    if (errno != ENOENT)
        return -1;
    _cleanup_free_ char *parent = xstrdup(dir);
    char *slash = strrchr(parent, '/');
    while (slash && slash > parent && slash[1] == '\0') { /* trailing slashes */
        *slash = '\0';
        slash = strrchr(parent, '/');
    }
    if (!slash || slash == parent)
        return -1; /* ENOENT for a part under the root: nothing to make */
    *slash = '\0';
    if (workdir_mkdirs(parent) < 0)
        return -1;
    return mkdir(dir, 0700) < 0 && errno != EEXIST ? -1 : 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)ftw;
    /* Directories come after their contents (FTW_DEPTH): one call each, not remove()'s
     * unlink, EISDIR, rmdir. */
    int r = flag == FTW_DP || flag == FTW_DNR ? rmdir(path) : unlink(path);
    return r < 0 && errno != ENOENT ? -1 : 0;
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

/* One spare scratch dir, {datastore}/query/<pid>-0/: the last one given back exactly as
 * it was made (a query that left nothing in it), renamed for the next query instead of
 * removed and made again. Each removed file or directory costs the next ones made: ext4
 * without a journal does not reuse an inode freed in the last minute, and scans past
 * each such inode to allocate a new one (docs/benchmarks.md, "Interface calls at
 * scale"). The spare goes at exit; one left by a killed orchestrator is swept like any
 * other scratch dir. */
static pthread_mutex_t spare_mu = PTHREAD_MUTEX_INITIALIZER;
static char *spare;

static void spare_remove(void)
{
    pthread_mutex_lock(&spare_mu);
    if (spare)
        workdir_remove(spare);
    free(spare);
    spare = NULL;
    pthread_mutex_unlock(&spare_mu);
}

static void register_spare_remove(void) { atexit(spare_remove); }

/* The spare for datastore, renamed to dir; false if there is none (or it is gone). */
static bool spare_take(const char *datastore, const char *dir)
{
    pthread_mutex_lock(&spare_mu);
    _cleanup_free_ char *sp = NULL;
    size_t n = strlen(datastore);
    if (spare && strncmp(spare, datastore, n) == 0 && strncmp(spare + n, "/query/", 7) == 0)
        sp = TAKE_PTR(spare);
    pthread_mutex_unlock(&spare_mu);
    if (!sp)
        return false;
    if (rename(sp, dir) == 0)
        return true;
    workdir_remove(sp);
    return false;
}

/* Exactly what workdir_scratch made: mode 0700 (st), `version` 0600 holding "1\n", an
 * empty tmp/ 0700, nothing else. */
static bool scratch_pristine(const char *dir, const struct stat *st)
{
    if (!S_ISDIR(st->st_mode) || (st->st_mode & 07777) != 0700)
        return false;
    _cleanup_closedir_ DIR *d = opendir(dir);
    if (!d)
        return false;
    int seen = 0;
    struct dirent *ent;
    while ((ent = readdir(d))) {
        struct stat es;
        const char *name = ent->d_name;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
            continue;
        if (fstatat(dirfd(d), name, &es, AT_SYMLINK_NOFOLLOW) < 0)
            return false;
        if (strcmp(name, "version") == 0 && S_ISREG(es.st_mode) && (es.st_mode & 07777) == 0600 && es.st_size == 2 &&
            es.st_nlink == 1) {
            char buf[2];
            _cleanup_close_ int fd = openat(dirfd(d), name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
            if (fd < 0 || read(fd, buf, 2) != 2 || memcmp(buf, "1\n", 2) != 0)
                return false;
            seen |= 1;
        } else if (strcmp(name, "tmp") == 0 && S_ISDIR(es.st_mode) && (es.st_mode & 07777) == 0700 &&
                   es.st_nlink == 2) {
            _cleanup_free_ char *tmp = fs_join(dir, "tmp");
            _cleanup_closedir_ DIR *t = opendir(tmp);
            struct dirent *te;
            while (t && (te = readdir(t)))
                if (strcmp(te->d_name, ".") != 0 && strcmp(te->d_name, "..") != 0)
                    return false;
            if (!t)
                return false;
            seen |= 2;
        } else {
            return false;
        }
    }
    return seen == 3;
}

char *workdir_scratch(const char *datastore, struct error **err)
{
    assert(datastore);
    static atomic_uint counter;
    unsigned n = atomic_fetch_add(&counter, 1) + 1;
    _cleanup_free_ char *dir = xasprintf("%s/query/%ld-%u", datastore, (long)getpid(), n);
    if (workdir_check(dir, 2, err) < 0)
        return NULL;
    if (workdir_remove(dir) < 0) {
        error_set_errno(err, errno, "%s", dir);
        return NULL;
    }
    if (spare_take(datastore, dir))
        return TAKE_PTR(dir);
    if (workdir_mkdirs(dir) < 0) {
        error_set_errno(err, errno, "%s", dir);
        return NULL;
    }
    /* Thrown away after one query: nothing to make durable. */
    if (workdir_check(dir, 2, err) < 0 || put_file(dir, "version", "1\n", 2, false, err) < 0 ||
        make_dir(dir, "tmp", err) < 0)
        return NULL;
    return TAKE_PTR(dir);
}

void workdir_scratch_done(const char *dir)
{
    assert(dir);
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    struct stat st;
    if (lstat(dir, &st) < 0)
        return;
    _cleanup_free_ char *name = xstrdup(dir);
    char *slash = strrchr(name, '/');
    _cleanup_free_ char *sp = slash ? xasprintf("%.*s/%ld-0", (int)(slash - name), name, (long)getpid()) : NULL;
    pthread_mutex_lock(&spare_mu);
    bool keep = sp && !spare && scratch_pristine(dir, &st) && rename(dir, sp) == 0;
    if (keep)
        spare = TAKE_PTR(sp);
    pthread_mutex_unlock(&spare_mu);
    if (keep)
        pthread_once(&once, register_spare_remove);
    else
        workdir_remove(dir);
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

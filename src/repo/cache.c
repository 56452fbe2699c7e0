#include "repo/cache.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "util/fs.h"
#include "util/log.h"
#include "util/mem.h"

struct repo_cache {
    char *dir;
    uint64_t max; /* 0 = unlimited */
    pthread_mutex_t lock;
    pthread_cond_t changed;
    struct strv writing; /* SHA-256 of entries a thread of ours writes */
    struct strv reading; /* one element per reader of a complete entry */
};

struct repo_cache *repo_cache_open(const struct config *cfg)
{
    if (!cfg->cache_enabled)
        return NULL;
    struct stat st;
    if (stat(cfg->cache_path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        log_warn("ArtifactsCache.Path %s: %s; Artifacts are streamed uncached (the directory is never created "
                 "by us: create it to use the cache)",
                 cfg->cache_path, errno ? strerror(errno) : "not a directory");
        return NULL;
    }
    struct repo_cache *c = xcalloc(1, sizeof(*c));
    c->dir = xstrdup(cfg->cache_path);
    c->max = cfg->cache_max_bytes;
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->changed, NULL);
    return c;
}

void repo_cache_close(struct repo_cache *c)
{
    if (!c)
        return;
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->changed);
    strv_free(&c->writing);
    strv_free(&c->reading);
    free(c->dir);
    free(c);
}

/* An entry name: 64 lowercase hex digits, optionally ".tmp". *sha gets the digits. */
static bool entry_name(const char *name, char sha[65])
{
    size_t n = strlen(name);
    if (n != 64 && !(n == 68 && strcmp(name + 64, ".tmp") == 0))
        return false;
    for (int i = 0; i < 64; i++)
        if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
            return false;
    memcpy(sha, name, 64);
    sha[64] = '\0';
    return true;
}

struct entry {
    char *name;
    char sha[65];
    uint64_t size;
    struct timespec mtime;
};

static int cmp_age(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    if (x->mtime.tv_sec != y->mtime.tv_sec)
        return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
    if (x->mtime.tv_nsec != y->mtime.tv_nsec)
        return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
    return strcmp(x->name, y->name);
}

static size_t list_entries(const char *dir, struct entry **out)
{
    *out = NULL;
    _cleanup_closedir_ DIR *dh = opendir(dir);
    if (!dh)
        return 0;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(dh)) != NULL) {
        char sha[65];
        struct stat st;
        if (!entry_name(de->d_name, sha) || fstatat(dirfd(dh), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISREG(st.st_mode))
            continue;
        *out = xrealloc(*out, (n + 1) * sizeof(**out));
        (*out)[n++] = (struct entry){ xstrdup(de->d_name), "", (uint64_t)st.st_size, st.st_mtim };
        memcpy((*out)[n - 1].sha, sha, 65);
    }
    if (n > 1)
        qsort(*out, n, sizeof(**out), cmp_age);
    return n;
}

static void free_entries(struct entry *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].name);
    free(v);
}

static void strv_remove_one(struct strv *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], s) == 0) {
            free(l->v[i]);
            l->v[i] = l->v[--l->n];
            return;
        }
}

/* Room for `need` more bytes: evicts the oldest entries nobody uses (caller holds the
 * lock). false, with a warning, when the cap or the disk cannot take them. */
static bool make_room(struct repo_cache *c, const char *sha, uint64_t size, uint64_t need)
{
    if (c->max && size > c->max) {
        log_warn("Artifact cache: the Artifact %.12s… (%llu bytes) is larger than ArtifactsCache.MaxSizeBytes "
                 "(%llu); streaming it uncached",
                 sha, (unsigned long long)size, (unsigned long long)c->max);
        return false;
    }
    struct entry *v;
    size_t n = list_entries(c->dir, &v);
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += v[i].size;
    for (size_t i = 0; i < n && c->max && total + need > c->max; i++) {
        if (strcmp(v[i].sha, sha) == 0 || strv_contains(&c->writing, v[i].sha) || strv_contains(&c->reading, v[i].sha))
            continue;
        char *p = fs_join(c->dir, v[i].name);
        if (unlink(p) == 0) {
            log_info("Artifact cache: evicted %s (%llu bytes, the oldest) to stay within MaxSizeBytes", v[i].name,
                     (unsigned long long)v[i].size);
            total -= v[i].size;
        }
        free(p);
    }
    free_entries(v, n);
    if (c->max && total + need > c->max) {
        log_warn("Artifact cache: no room for the Artifact %.12s… within MaxSizeBytes (the rest is in use); "
                 "streaming it uncached",
                 sha);
        return false;
    }
    struct statvfs vfs;
    if (statvfs(c->dir, &vfs) == 0 && (uint64_t)vfs.f_bavail * vfs.f_frsize < need) {
        log_warn("Artifact cache: %s has %llu bytes free, the Artifact needs %llu; streaming it uncached", c->dir,
                 (unsigned long long)vfs.f_bavail * vfs.f_frsize, (unsigned long long)need);
        return false;
    }
    return true;
}

char *repo_cache_complete(struct repo_cache *c, const char *sha, uint64_t size)
{
    if (!c)
        return NULL;
    char *final = fs_join(c->dir, sha);
    struct stat st;
    if (stat(final, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == size)
        return final;
    free(final);
    return NULL;
}

/* The part of repo_cache_acquire under the lock, when no thread of ours writes sha. */
static void acquire_locked(struct repo_cache *c, const char *sha, uint64_t size, struct cache_slot *slot)
{
    _cleanup_free_ char *final = fs_join(c->dir, sha);
    _cleanup_free_ char *tmpname = xasprintf("%s.tmp", sha);
    _cleanup_free_ char *tmp = fs_join(c->dir, tmpname);
    struct stat st;
    if (stat(final, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == size) {
        (void)utimensat(AT_FDCWD, final, NULL, 0); /* most recently used: evicted last */
        slot->use = CACHE_HIT;
        slot->path = TAKE_PTR(final);
        strv_push(&c->reading, sha);
        return;
    }
    if (stat(final, &st) == 0)
        unlink(final); /* not what the index says: not ours to trust */
    uint64_t have = 0;
    if (stat(tmp, &st) == 0 && S_ISREG(st.st_mode)) {
        have = (uint64_t)st.st_size;
        if (have > size) {
            unlink(tmp);
            have = 0;
        }
    }
    if (!make_room(c, sha, size, size - have))
        return;
    _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        log_warn("Artifact cache: %s: %s; streaming it uncached", tmp, strerror(errno));
        return;
    }
    if (have) {
        slot->prefix_fd = open(tmp, O_RDONLY | O_CLOEXEC);
        if (slot->prefix_fd >= 0)
            log_info("Artifact cache: continuing %s.tmp from byte %llu", sha, (unsigned long long)have);
        else if (ftruncate(fd, 0) != 0)
            return;
        else
            have = 0;
    }
    slot->fd = TAKE_FD(fd);
    slot->prefix = have;
    slot->use = CACHE_WRITE;
    slot->path = TAKE_PTR(tmp);
    strv_push(&c->writing, sha);
}

void repo_cache_acquire(struct repo_cache *c, const char *sha, uint64_t size, struct cache_slot *slot)
{
    assert(sha && slot);
    memset(slot, 0, sizeof(*slot));
    slot->fd = slot->prefix_fd = -1;
    snprintf(slot->sha256, sizeof(slot->sha256), "%s", sha);
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    while (strv_contains(&c->writing, sha)) /* another Component of this deployment writes it */
        pthread_cond_wait(&c->changed, &c->lock);
    acquire_locked(c, sha, size, slot);
    pthread_mutex_unlock(&c->lock);
}

void repo_cache_release(struct repo_cache *c, struct cache_slot *slot, bool complete, bool keep_partial)
{
    if (!c || slot->use == CACHE_NONE) {
        free(slot->path);
        slot->path = NULL;
        return;
    }
    pthread_mutex_lock(&c->lock);
    if (slot->use == CACHE_HIT) {
        strv_remove_one(&c->reading, slot->sha256);
    } else {
        if (slot->prefix_fd >= 0)
            close(slot->prefix_fd);
        bool ok = complete && fsync(slot->fd) == 0;
        close(slot->fd);
        char *final = fs_join(c->dir, slot->sha256);
        if (ok && (rename(slot->path, final) != 0 || fs_fsync_dir(c->dir) != 0)) {
            log_warn("Artifact cache: %s: %s", final, strerror(errno));
            ok = false;
        }
        if (ok)
            log_info("Artifact cache: stored %s", slot->sha256);
        else if (!keep_partial || complete)
            unlink(slot->path);
        free(final);
        strv_remove_one(&c->writing, slot->sha256);
        pthread_cond_broadcast(&c->changed);
    }
    pthread_mutex_unlock(&c->lock);
    free(slot->path);
    slot->path = NULL;
    slot->use = CACHE_NONE;
}

void repo_cache_prune(const struct config *cfg, const struct strv *keep)
{
    if (!cfg->cache_enabled)
        return;
    struct entry *v;
    size_t n = list_entries(cfg->cache_path, &v);
    for (size_t i = 0; i < n; i++) {
        if (strv_contains(keep, v[i].sha))
            continue;
        char *p = fs_join(cfg->cache_path, v[i].name);
        if (unlink(p) == 0)
            log_info("Artifact cache: removed %s (not used by this deployment)", v[i].name);
        free(p);
    }
    free_entries(v, n);
}

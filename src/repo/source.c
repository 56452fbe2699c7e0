#include "repo/source.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"
#include "util/mem.h"

struct repo_reader {
    struct artifact_source src;
    struct repo_cache *cache;
    struct cache_slot slot;
    int fd;                  /* a complete cache entry */
    struct fetch_stream *fs; /* or a download */
};

static ssize_t file_read(void *ctx, void *buf, size_t len)
{
    struct repo_reader *r = ctx;
    ssize_t n;
    do
        n = read(r->fd, buf, len);
    while (n < 0 && errno == EINTR);
    return n;
}

static int file_finish(void *ctx, struct error **err)
{
    (void)ctx;
    (void)err;
    return 0; /* checked when it was stored */
}

static ssize_t dl_read(void *ctx, void *buf, size_t len)
{
    return fetch_stream_read(((struct repo_reader *)ctx)->fs, buf, len);
}

static int dl_finish(void *ctx, struct error **err)
{
    return fetch_stream_finish(((struct repo_reader *)ctx)->fs, err);
}

struct repo_reader *repo_reader_open(const struct fetch_opts *o, struct repo_cache *cache, const struct repo_ref *ref,
                                     uint64_t header_bytes, struct error **err)
{
    assert(o && ref && ref->url);
    bool header_only = header_bytes > 0;
    struct repo_reader *r = xcalloc(1, sizeof(*r));
    r->fd = -1;
    r->cache = cache;
    r->slot.use = CACHE_NONE;
    r->slot.fd = r->slot.prefix_fd = -1;
    if (!header_only)
        repo_cache_acquire(cache, ref->sha256, ref->size, &r->slot);
    else if ((r->slot.path = repo_cache_complete(cache, ref->sha256, ref->size)) != NULL) {
        /* a complete entry serves the header too; nothing else is touched */
        r->fd = open(r->slot.path, O_RDONLY | O_CLOEXEC);
        free(r->slot.path);
        r->slot.path = NULL;
        if (r->fd >= 0) {
            r->src = (struct artifact_source){ r, file_read, file_finish };
            return r;
        }
    }
    if (r->slot.use == CACHE_HIT) {
        r->fd = open(r->slot.path, O_RDONLY | O_CLOEXEC);
        if (r->fd >= 0) {
            log_info("Artifact cache: using %s for %s", r->slot.sha256, ref->url);
            r->src = (struct artifact_source){ r, file_read, file_finish };
            return r;
        }
        repo_cache_release(cache, &r->slot, false, false);
    }
    struct fetch_stream_args a = {
        .url = ref->url,
        .size = header_only ? 0 : ref->size,
        .sha256 = header_only ? NULL : ref->sha256,
        .prefix_fd = r->slot.use == CACHE_WRITE ? r->slot.prefix_fd : -1,
        .tee_fd = r->slot.use == CACHE_WRITE ? r->slot.fd : -1,
        .first_bytes = header_bytes,
    };
    r->fs = fetch_stream_open(o, &a, err);
    if (!r->fs) {
        repo_cache_release(cache, &r->slot, false, true);
        free(r);
        return NULL;
    }
    r->src = (struct artifact_source){ r, dl_read, dl_finish };
    return r;
}

const struct artifact_source *repo_reader_source(struct repo_reader *r) { return &r->src; }

const char *repo_reader_origin(const struct repo_reader *r) { return r->fs ? "repository" : "cache"; }

const char *repo_reader_error(struct repo_reader *r) { return r->fs ? fetch_stream_error(r->fs) : NULL; }

void repo_reader_close(struct repo_reader *r)
{
    if (!r)
        return;
    if (r->fd >= 0)
        close(r->fd);
    bool complete = false, keep = false;
    if (r->fs) {
        /* complete: every byte arrived, matched the index, and reached the cache file;
         * a transfer that broke keeps its partial entry for a Range request later */
        const char *e = fetch_stream_error(r->fs);
        complete = fetch_stream_done(r->fs) && fetch_stream_tee_ok(r->fs);
        keep = e && !fetch_stream_mismatch(r->fs) && fetch_stream_tee_ok(r->fs);
        fetch_stream_close(r->fs);
    }
    repo_cache_release(r->cache, &r->slot, complete, keep);
    free(r);
}

#include "iface/stream.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "iface/workdir.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/mem.h"

enum mode { UNDECIDED, STREAMING, FILES };

struct dl {
    const struct download_opts *o;
    struct proc *p;
    enum mode mode;
    int fd;              /* current stream or temporary file */
    struct strv pending; /* files mode: names written to files/.<name>.tmp, not yet final */
    char *stream_next, *streams_dir, *files_dir;
    struct error *err; /* the first failure seen by the sink (it wins over the reader's reason) */
    uint64_t bytes;
    bool ok; /* the download succeeded: files/ stays */
};

#define EXITED (-2)
#define STREAM_PIPE_SIZE (1024 * 1024)
/* The longest pause while waiting for the Interface to open or drain a stream (it gives
 * no event to wait for): a pause doubles from 50-100 µs up to this. It was 10 ms and 5 ms:
 * the first stream of a Download was opened up to 10 ms after the Interface did, which
 * a small Artifact's install paid in full (docs/benchmarks.md). */
#define POLL_MAX_US 1000

/* Records a failure unless one is recorded already (the first is the cause, what
 * follows is its fallout). Returns -1. */
static int __attribute__((format(printf, 3, 4))) fail(struct dl *d, int code, const char *fmt, ...)
{
    if (d->err)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    _cleanup_free_ char *m = xvasprintf(fmt, ap);
    va_end(ap);
    return error_set(&d->err, code, "%s", m);
}

/* Opens a FIFO for writing, waiting for the reader while the Interface runs.
 * Returns the fd, EXITED once the Interface has exited, or -1 on error. */
static int open_fifo(struct dl *d, const char *path)
{
    useconds_t wait = 100;
    for (;;) {
        int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd >= 0) {
            fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
            /* A larger pipe halves the context switches between us and the reader;
             * failing to grow it (pipe-max-size) is harmless. */
            (void)fcntl(fd, F_SETPIPE_SZ, STREAM_PIPE_SIZE);
            return fd;
        }
        if (errno != ENXIO && errno != EINTR)
            return fail(d, errno, "%s", strerror(errno));
        if (proc_has_exited(d->p))
            return EXITED;
        usleep(wait);
        if (wait < POLL_MAX_US) /* an Interface is seldom this slow to start; then 1 ms late at most */
            wait *= 2;
    }
}

static int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* The Interface exited without ever opening stream-next: drop the streams tree and
 * use files/ from now on. */
static int switch_to_files(struct dl *d)
{
    unlink(d->stream_next);
    workdir_remove(d->streams_dir);
    if (mkdir(d->files_dir, 0700) < 0 && errno != EEXIST)
        return fail(d, errno, "files/: %s", strerror(errno));
    d->mode = FILES;
    return 0;
}

/* Writes one stream-next line (or, with line NULL, the final zero-length read). */
static int announce(struct dl *d, const char *line)
{
    _cleanup_close_ int fd = open_fifo(d, d->stream_next);
    if (fd == EXITED) {
        fd = -1;
        if (d->mode == UNDECIDED)
            return switch_to_files(d);
        return fail(d, 0, "%s", "Interface started downloading, but did not finish");
    }
    if (fd < 0)
        return -1;
    if (line && write_all(fd, line, strlen(line)) < 0)
        return fail(d, errno, "stream-next: %s", strerror(errno));
    d->mode = STREAMING;
    return 0;
}

/* Waits until the Interface has read every byte written to a stream. With a pipe
 * buffer as large as a whole file, closing early gives no EPIPE: unread bytes left
 * when the reader is gone are what tells. */
static int wait_drained(struct dl *d, int fd)
{
    useconds_t wait = 50;
    for (;;) {
        int unread = 0;
        if (ioctl(fd, FIONREAD, &unread) < 0)
            return 0; /* cannot tell; the Interface's exit status still decides */
        struct pollfd p = { .fd = fd, .events = 0 };
        poll(&p, 1, 0);
        if (p.revents & POLLERR) { /* no reader any more */
            if (unread == 0)
                return 0;
            return fail(d, 0, "%s", "Interface closed a stream before its end");
        }
        if (unread == 0)
            return 0;
        usleep(wait);
        if (wait < POLL_MAX_US)
            wait *= 2;
    }
}

/* Ends the current file's bytes (complete = all of them were written). The reader
 * calls file_begin for the next file only after the previous one's checksum matched,
 * so a stream is closed here (its reader sees EOF, once it has read everything) and a
 * temporary file is synced, waiting for file_end to make it final. */
static int close_current(struct dl *d, bool complete)
{
    if (d->fd < 0)
        return 0;
    int r = !complete ? 0 : d->mode == FILES ? fsync(d->fd) : wait_drained(d, d->fd);
    if (r < 0 && d->mode == FILES)
        fail(d, errno, "files/: %s", strerror(errno));
    close(d->fd);
    d->fd = -1;
    return r;
}

static char *tmp_name(struct dl *d, const char *name) { return xasprintf("%s/.%s.tmp", d->files_dir, name); }

/* Makes streams/<name>, announces it on stream-next and opens it: 0 with d->fd open
 * (STREAMING), 0 with d->fd -1 after a switch to files mode, or -1. */
static int begin_stream(struct dl *d, const char *name, int64_t size)
{
    _cleanup_free_ char *fifo = xasprintf("%s/%s", d->streams_dir, name);
    if (mkfifo(fifo, 0600) < 0)
        return fail(d, errno, "streams/: %s", strerror(errno));
    _cleanup_free_ char *line = d->o->with_sizes ? xasprintf("streams/%s %lld\n", name, (long long)size)
                                                 : xasprintf("streams/%s\n", name);
    if (announce(d, line) < 0)
        return -1;
    if (d->mode != STREAMING)
        return 0;
    d->fd = open_fifo(d, fifo);
    if (d->fd == EXITED) {
        d->fd = -1;
        return fail(d, 0, "%s", "Interface started downloading, but did not finish");
    }
    return d->fd < 0 ? -1 : 0;
}

static int begin_file(struct dl *d, const char *name, int64_t size)
{
    if (close_current(d, true) < 0)
        return -1;
    if (d->mode != FILES) {
        if (begin_stream(d, name, size) < 0)
            return -1;
        if (d->mode == STREAMING)
            return 0;
    }
    _cleanup_free_ char *tmp = tmp_name(d, name);
    /* O_NONBLOCK: a FIFO put there (by what an Interface left running) fails the open at
     * once rather than blocking it for ever; a regular file does not mind. */
    d->fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW, 0600);
    if (d->fd < 0)
        return fail(d, errno, "files/: %s", strerror(errno));
    strv_push(&d->pending, name);
    return 0;
}

static int data(struct dl *d, const void *buf, size_t len)
{
    if (write_all(d->fd, buf, len) < 0) {
        if (errno == EPIPE)
            return fail(d, EPIPE, "%s", "Interface closed a stream before its end");
        return fail(d, errno, "write: %s", strerror(errno));
    }
    uint64_t before = d->bytes;
    d->bytes += len;
    if (d->o->progress && (d->bytes >> 20) != (before >> 20))
        d->o->progress(d->o->progress_ctx, d->bytes);
    return 0;
}

/* Called for every file once the whole Artifact was checked: ok = all checks passed. */
static int end_file(struct dl *d, const char *name, bool ok)
{
    int r = close_current(d, ok);
    if (d->mode != FILES || !strv_contains(&d->pending, name))
        return r;
    _cleanup_free_ char *tmp = tmp_name(d, name);
    if (!ok || r != 0) {
        unlink(tmp);
        return r;
    }
    _cleanup_free_ char *final = xasprintf("%s/%s", d->files_dir, name);
    if (rename(tmp, final) < 0 || fs_fsync_dir(d->files_dir) < 0)
        return fail(d, errno, "files/: %s", strerror(errno));
    return 0;
}

static int sink_begin(void *ctx, const char *name, int64_t size) { return begin_file(ctx, name, size); }
static int sink_data(void *ctx, const void *buf, size_t len) { return data(ctx, buf, len); }
static int sink_end(void *ctx, const char *name, bool ok) { return end_file(ctx, name, ok); }

static int sink_header(void *ctx, const struct artifact_info *info)
{
    struct dl *d = ctx;
    const unsigned char *want = d->o->expect_manifest_sha256;
    if (want && memcmp(want, info->manifest_sha256, 32) != 0)
        return fail(d, 0, "%s", "the Artifact changed since it was selected (its manifest differs)");
    return 0;
}

/* Whole-Artifact mode: the reader's source, forwarding every byte it reads. */
struct tee {
    struct dl *d;
    const struct artifact_source *in;
    int failed;
};

static ssize_t tee_read(void *ctx, void *buf, size_t len)
{
    struct tee *t = ctx;
    ssize_t r = t->in->read(t->in->ctx, buf, len);
    if (r > 0 && data(t->d, buf, (size_t)r) < 0) {
        t->failed = 1;
        return -1;
    }
    return r;
}

static ssize_t fd_read(void *ctx, void *buf, size_t len)
{
    ssize_t r;
    do
        r = read(*(int *)ctx, buf, len);
    while (r < 0 && errno == EINTR);
    return r;
}

/* Packed mode: the whole .mender file is one stream (artifact.mender), checked by the
 * reader as it passes. *why receives the reader's (or the source's) reason. */
static int read_whole(struct dl *d, const struct artifact_sink *sink, struct artifact_info *info, struct error **why)
{
    _cleanup_close_ int fd = -1;
    int64_t size = (int64_t)d->o->artifact_size;
    struct artifact_source file = { &fd, fd_read, NULL };
    const struct artifact_source *in = d->o->source;
    if (!in) {
        fd = open(d->o->artifact_path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0)
            return fail(d, errno, "%s: %s", d->o->artifact_path, strerror(errno));
        size = (int64_t)st.st_size;
        in = &file;
    }
    struct tee t = { d, in, 0 };
    if (begin_file(d, "artifact.mender", size) < 0)
        return -1;
    struct artifact_source src = { &t, tee_read, NULL };
    struct artifact_sink hdr_only = { sink->ctx, sink->header, NULL, NULL, NULL };
    int r = artifact_read(&src, d->o->keys, &hdr_only, info, why);
    char buf[65536];
    while (r == 0) { /* forward what the parser did not need (tar padding) */
        ssize_t n = tee_read(&t, buf, sizeof(buf));
        if (n <= 0) {
            r = n < 0 ? -1 : 0;
            break;
        }
    }
    if (r == 0 && in->finish && in->finish(in->ctx, why) != 0)
        r = -1;
    if (end_file(d, "artifact.mender", r == 0) < 0)
        r = -1;
    return r;
}

/* Reads the Artifact into the streams (or files/), then the final zero-length read
 * of stream-next. Returns 0, or -1 with the reason in d->err or else in *why. */
static int deliver(struct dl *d, struct error **why)
{
    const struct download_opts *o = d->o;
    _cleanup_(artifact_info_free) struct artifact_info info = { 0 };
    struct artifact_sink sink = { d, sink_header, sink_begin, sink_data, sink_end };
    int r = !o->unpacked ? read_whole(d, &sink, &info, why)
            : o->source  ? artifact_read(o->source, o->keys, &sink, &info, why)
                         : artifact_read_file(o->artifact_path, o->keys, &sink, &info, why);
    close_current(d, false);
    for (size_t i = 0; i < d->pending.n; i++) { /* files the reader never ended */
        _cleanup_free_ char *tmp = tmp_name(d, d->pending.v[i]);
        unlink(tmp);
    }
    if (r == 0 && d->mode != FILES)
        r = announce(d, NULL);
    return r;
}

/* What a download leaves behind: never the streams tree, files/ only on success. */
static void dl_done(struct dl *d)
{
    if (d->fd >= 0)
        close(d->fd);
    unlink(d->stream_next);
    workdir_remove(d->streams_dir);
    if (!d->ok)
        workdir_remove(d->files_dir);
    free(d->stream_next);
    free(d->streams_dir);
    free(d->files_dir);
    strv_free(&d->pending);
    error_free(d->err);
}

int iface_download(const struct download_opts *o, struct download_result *res, struct error **err)
{
    assert(o && o->env && o->target && o->workdir && (o->artifact_path || o->source) && res);
    *res = (struct download_result){ 0 };
    _cleanup_(dl_done) struct dl d = {
        .o = o,
        .fd = -1,
        .stream_next = fs_join(o->workdir, "stream-next"),
        .streams_dir = fs_join(o->workdir, "streams"),
        .files_dir = fs_join(o->workdir, "files"),
    };
    const char *state = o->with_sizes ? "DownloadWithFileSizes" : "Download";

    unlink(d.stream_next);
    workdir_remove(d.streams_dir);
    workdir_remove(d.files_dir);
    if (mkfifo(d.stream_next, 0600) < 0 || mkdir(d.streams_dir, 0700) < 0)
        return error_set_errno(err, errno, "%s: cannot create the streams tree", o->workdir);
    d.p = iface_start_state(o->env, o->target, state, o->workdir, err);
    if (!d.p)
        return -1;

    /* The reader's own reason, for when the sink recorded none. */
    _cleanup_error_ struct error *why = NULL;
    int r = deliver(&d, &why);
    if (r != 0 && !proc_has_exited(d.p))
        proc_cancel(d.p);
    struct proc_result pr;
    proc_finish(d.p, &pr);
    if (r != 0) {
        if (d.err || why)
            error_propagate(err, d.err ? TAKE_PTR(d.err) : TAKE_PTR(why));
        else /* a source that failed without a word */
            error_set(err, 0, "%s", "");
        return error_prefix(err, "%s", state);
    }
    if (proc_check(&pr, err) < 0)
        return error_prefix(err, "%s", state);
    res->streamed = d.mode == STREAMING;
    res->files = d.mode == FILES;
    res->bytes = d.bytes;
    d.ok = true;
    return 0;
}

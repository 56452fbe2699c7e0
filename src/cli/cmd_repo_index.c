/* `repo-index DIR`: checks every *.mender in DIR (not recursive) fully and writes the
 * repository index (docs/repository.md) atomically. Any invalid
 * file: exit 1, nothing written. */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "artifact/artifact.h"
#include "artifact/sha256.h"
#include "cli/cli.h"
#include "cli/exitcodes.h"
#include "repo/index.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/mem.h"

/* The reader's source: a file, hashed and counted as it is read. */
struct hashed_file {
    int fd;
    struct artifact_sha256 *md;
    uint64_t bytes;
};

static ssize_t hashed_read(void *ctx, void *buf, size_t len)
{
    struct hashed_file *h = ctx;
    ssize_t n;
    do
        n = read(h->fd, buf, len);
    while (n < 0 && errno == EINTR);
    if (n > 0) {
        artifact_sha256_update(h->md, buf, (size_t)n);
        h->bytes += (uint64_t)n;
    }
    return n;
}

/* After the Artifact was verified: the bytes after it (tar padding) count too. */
static int hashed_finish(void *ctx, struct error **err)
{
    char buf[65536];
    ssize_t n;
    while ((n = hashed_read(ctx, buf, sizeof(buf))) > 0)
        ;
    if (n < 0)
        return error_set_errno(err, errno, "read");
    return 0;
}

MO_DEFINE_POINTER_CLEANUP(sha256_freep, struct artifact_sha256 *, artifact_sha256_free)

/* Reads and checks the Artifact at path fully, hashing it, into e. */
static int index_one(const char *path, const char *name, struct repo_entry *e, struct error **err)
{
    memset(e, 0, sizeof(*e));
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return error_set_errno(err, errno, "cannot open");
    _cleanup_(sha256_freep) struct artifact_sha256 *md = artifact_sha256_new();
    struct hashed_file h = { fd, md, 0 };
    struct artifact_source src = { &h, hashed_read, hashed_finish };
    if (artifact_read(&src, NULL, NULL, &e->info, err) != 0)
        return -1;
    unsigned char digest[32];
    artifact_sha256_final(TAKE_PTR(md), digest);
    for (int i = 0; i < 32; i++)
        snprintf(e->sha256 + 2 * i, 3, "%02x", digest[i]);
    e->size = h.bytes;
    e->file = xstrdup(name);
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The names of the *.mender files in dir (not hidden ones), sorted. 0, or -1 logged. */
static int list_artifacts(const char *dir, struct strv *names)
{
    _cleanup_closedir_ DIR *dh = opendir(dir);
    if (!dh) {
        log_error("repo-index: %s: %s", dir, strerror(errno));
        return -1;
    }
    struct dirent *de;
    while ((de = readdir(dh)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n > 7 && strcmp(de->d_name + n - 7, ".mender") == 0 && de->d_name[0] != '.')
            strv_push(names, de->d_name);
    }
    if (names->n)
        qsort(names->v, names->n, sizeof(*names->v), cmp_str);
    return 0;
}

/* Adds every valid file of names to idx (room for all of them). Returns the number of
 * invalid ones, each logged. */
static int index_all(const char *dir, const struct strv *names, struct repo_index *idx)
{
    int errors = 0;
    for (size_t i = 0; i < names->n; i++) {
        _cleanup_free_ char *path = fs_join(dir, names->v[i]);
        _cleanup_error_ struct error *e = NULL;
        if (!repo_file_name_ok(names->v[i])) {
            log_error("repo-index: %s: the file name may only hold [A-Za-z0-9._,+-]; rename it", path);
            errors++;
        } else if (!fs_is_regular(path)) {
            log_error("repo-index: %s: not a regular file", path);
            errors++;
        } else if (index_one(path, names->v[i], &idx->v[idx->n], &e) != 0) {
            log_error("repo-index: %s: %s", path, error_message(e));
            artifact_info_free(&idx->v[idx->n].info);
            errors++;
        } else {
            idx->n++;
        }
    }
    return errors;
}

int cmd_repo_index(const struct cli_args *args)
{
    assert(args && args->positional.n == 1);
    const char *dir = args->positional.v[0];
    _cleanup_(strv_free) struct strv names = { 0 };
    if (list_artifacts(dir, &names) != 0)
        return EXIT_FAILED;
    _cleanup_(repo_index_free) struct repo_index idx = { xcalloc(names.n ? names.n : 1, sizeof(struct repo_entry)), 0 };
    int errors = index_all(dir, &names, &idx);
    if (errors) {
        log_error("repo-index: %d invalid file%s in %s: no index written", errors, errors == 1 ? "" : "s", dir);
        return EXIT_FAILED;
    }
    if (names.n == 0)
        log_warn("repo-index: %s holds no *.mender file; the index lists nothing", dir);
    _cleanup_free_ char *json = repo_index_to_json(&idx);
    _cleanup_free_ char *out = args->output ? xstrdup(args->output) : fs_join(dir, REPO_INDEX_NAME);
    if (fs_write_atomic(out, json, strlen(json), 0644) != 0) {
        log_error("repo-index: %s: cannot write: %s", out, strerror(errno));
        return EXIT_FAILED;
    }
    log_info("repo-index: %s: %zu Artifact%s", out, idx.n, idx.n == 1 ? "" : "s");
    return EXIT_OK;
}

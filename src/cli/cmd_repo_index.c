/* `repo-index DIR`: checks every *.mender in DIR (not recursive) fully and writes the
 * repository index (orchestrator.md §10.2, docs/repository.md) atomically. Any invalid
 * file: exit 1, nothing written. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "artifact/artifact.h"
#include "cli/cli.h"
#include "cli/exitcodes.h"
#include "repo/index.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/mem.h"

/* The reader's source: a file, hashed and counted as it is read. */
struct hashed_file {
    int fd;
    EVP_MD_CTX *md;
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
        EVP_DigestUpdate(h->md, buf, (size_t)n);
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

static int index_one(const char *path, const char *name, struct repo_entry *e, char *err, size_t errlen)
{
    memset(e, 0, sizeof(*e));
    struct hashed_file h = { open(path, O_RDONLY | O_CLOEXEC), EVP_MD_CTX_new(), 0 };
    if (h.fd < 0) {
        snprintf(err, errlen, "cannot open: %s", strerror(errno));
        EVP_MD_CTX_free(h.md);
        return -1;
    }
    EVP_DigestInit_ex(h.md, EVP_sha256(), NULL);
    struct artifact_source src = { &h, hashed_read, hashed_finish };
    _cleanup_error_ struct error *ae = NULL;
    int rc = artifact_read(&src, NULL, NULL, &e->info, &ae);
    if (ae)
        snprintf(err, errlen, "%s", error_message(ae));
    close(h.fd);
    unsigned char md[32];
    EVP_DigestFinal_ex(h.md, md, NULL);
    EVP_MD_CTX_free(h.md);
    if (rc != 0)
        return -1;
    for (int i = 0; i < 32; i++)
        snprintf(e->sha256 + 2 * i, 3, "%02x", md[i]);
    e->size = h.bytes;
    e->file = xstrdup(name);
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int cmd_repo_index(const struct cli_args *args)
{
    const char *dir = args->positional.v[0];
    DIR *dh = opendir(dir);
    if (!dh) {
        log_error("repo-index: %s: %s", dir, strerror(errno));
        return EXIT_FAILED;
    }
    struct strv names = { 0 };
    struct dirent *de;
    while ((de = readdir(dh)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n > 7 && strcmp(de->d_name + n - 7, ".mender") == 0 && de->d_name[0] != '.')
            strv_push(&names, de->d_name);
    }
    closedir(dh);
    if (names.n)
        qsort(names.v, names.n, sizeof(*names.v), cmp_str);

    struct repo_index idx = { xcalloc(names.n ? names.n : 1, sizeof(struct repo_entry)), 0 };
    int errors = 0;
    for (size_t i = 0; i < names.n; i++) {
        char *path = fs_join(dir, names.v[i]);
        char err[512];
        if (!repo_file_name_ok(names.v[i])) {
            log_error("repo-index: %s: the file name may only hold [A-Za-z0-9._,+-]; rename it", path);
            errors++;
        } else if (!fs_is_regular(path)) {
            log_error("repo-index: %s: not a regular file", path);
            errors++;
        } else if (index_one(path, names.v[i], &idx.v[idx.n], err, sizeof(err)) != 0) {
            log_error("repo-index: %s: %s", path, err);
            artifact_info_free(&idx.v[idx.n].info);
            errors++;
        } else {
            idx.n++;
        }
        free(path);
    }
    int rc = EXIT_FAILED;
    if (errors) {
        log_error("repo-index: %d invalid file%s in %s: no index written", errors, errors == 1 ? "" : "s", dir);
        goto out;
    }
    if (names.n == 0)
        log_warn("repo-index: %s holds no *.mender file; the index lists nothing", dir);
    char *json = repo_index_to_json(&idx);
    char *out = args->output ? xstrdup(args->output) : fs_join(dir, REPO_INDEX_NAME);
    if (fs_write_atomic(out, json, strlen(json), 0644) != 0)
        log_error("repo-index: %s: cannot write: %s", out, strerror(errno));
    else {
        log_info("repo-index: %s: %zu Artifact%s", out, idx.n, idx.n == 1 ? "" : "s");
        rc = EXIT_OK;
    }
    free(json);
    free(out);
out:
    repo_index_free(&idx);
    strv_free(&names);
    return rc;
}

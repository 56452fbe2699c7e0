/* The record in tmp/ of the work dir. */
#include "txn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void copy(char *dst, size_t n, const char *src) { snprintf(dst, n, "%s", src); }

int txn_load(const struct msmp_ctx *c, struct txn *t)
{
    memset(t, 0, sizeof *t);
    FILE *f = fopen(TXN_PATH, "re");
    if (!f) {
        if (errno == ENOENT)
            return 0;
        return msmp_fail(c, "%s in the work dir: %s", TXN_PATH, strerror(errno));
    }
    char line[256];
    int bad = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *v = strchr(line, '=');
        if (!v)
            continue;
        *v++ = '\0';
        if (!strcmp(line, "old_hash"))
            bad |= img_unhex(v, t->old_hash, IMG_HASH_LEN) < 0, t->has_old = true;
        else if (!strcmp(line, "new_hash"))
            bad |= img_unhex(v, t->new_hash, IMG_HASH_LEN) < 0, t->has_new = true;
        else if (!strcmp(line, "old_version"))
            copy(t->old_version, sizeof t->old_version, v);
        else if (!strcmp(line, "new_version"))
            copy(t->new_version, sizeof t->new_version, v);
        else if (!strcmp(line, "phase"))
            copy(t->phase, sizeof t->phase, v);
    }
    fclose(f);
    if (bad)
        return msmp_fail(c, "%s in the work dir: a hash is not 64 hex digits (the file was changed by hand?)",
                         TXN_PATH);
    return 1;
}

int txn_save(const struct msmp_ctx *c, const struct txn *t)
{
    char tmp[] = TXN_PATH ".new";
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return msmp_fail(c, "%s in the work dir: %s", tmp, strerror(errno));
    char hex[IMG_HEX_LEN], buf[512];
    size_t n = 0;
    if (t->has_old) {
        img_hex(t->old_hash, IMG_HASH_LEN, hex);
        n += (size_t)snprintf(buf + n, sizeof buf - n, "old_hash=%s\nold_version=%s\n", hex, t->old_version);
    }
    if (t->has_new) {
        img_hex(t->new_hash, IMG_HASH_LEN, hex);
        n += (size_t)snprintf(buf + n, sizeof buf - n, "new_hash=%s\nnew_version=%s\n", hex, t->new_version);
    }
    n += (size_t)snprintf(buf + n, sizeof buf - n, "phase=%s\n", t->phase);
    int ok = write(fd, buf, n) == (ssize_t)n && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, TXN_PATH) < 0)
        return msmp_fail(c, "%s in the work dir: cannot write it: %s", TXN_PATH, strerror(errno));
    int dfd = open("tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

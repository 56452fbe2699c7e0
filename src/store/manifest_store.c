#include "store/manifest_store.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "store/private_dir.h"
#include "util/fs.h"
#include "util/log.h"

/* "<digits>.yaml" (or a temporary "<digits>.yaml.tmp.<pid>" left by a crash):
 * the deployment id, else -1. */
static long long store_name_id(const char *name, bool *tmp)
{
    const char *p = name;
    long long id = 0;
    if (*p < '0' || *p > '9')
        return -1;
    while (*p >= '0' && *p <= '9') {
        if (id > (INT64_MAX - 9) / 10)
            return -1;
        id = id * 10 + (*p++ - '0');
    }
    if (strncmp(p, ".yaml", 5) != 0)
        return -1;
    p += 5;
    *tmp = false;
    if (*p == '\0')
        return id;
    if (strncmp(p, ".tmp.", 5) != 0 || !p[5])
        return -1;
    for (p += 5; *p; p++)
        if (*p < '0' || *p > '9')
            return -1;
    *tmp = true;
    return id;
}

/* Removes the copies other than id's and keep_other's; fsyncs the store when it did. */
static int remove_others(const char *store, long long id, long long keep_other, struct error **err)
{
    _cleanup_closedir_ DIR *dir = opendir(store);
    if (!dir)
        return error_set_errno(err, errno, "cannot read the Manifest store %s", store);
    bool removed = false;
    struct dirent *e;
    while ((e = readdir(dir))) {
        bool tmp;
        long long other = store_name_id(e->d_name, &tmp);
        if (other < 0 || (!tmp && (other == id || (keep_other > 0 && other == keep_other))))
            continue;
        if (unlinkat(dirfd(dir), e->d_name, 0) != 0) {
            if (errno != ENOENT)
                log_warn("cannot remove %s/%s: %s", store, e->d_name, strerror(errno));
        } else {
            removed = true;
        }
    }
    if (removed)
        fs_fsync_dir(store);
    return 0;
}

int manifest_store_put(const char *store, long long id, const char *text, long long keep_other, struct error **err)
{
    assert(store);
    assert(id > 0);
    if (private_dir_create(store) != 0)
        return error_set_errno(err, errno, "cannot create the Manifest store %s", store);
    char name[32];
    snprintf(name, sizeof(name), "%lld.yaml", id);
    _cleanup_free_ char *path = fs_join(store, name);
    if (!text)
        text = "";
    if (fs_write_atomic(path, text, strlen(text), 0600) != 0)
        return error_set_errno(err, errno, "cannot write %s", path);
    return remove_others(store, id, keep_other, err);
}

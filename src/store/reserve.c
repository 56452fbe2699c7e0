#include "store/reserve.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fs.h"
#include "util/mem.h"

#define RESERVE_NAME "orchestrator.reserve"

int reserve_ensure(const char *datastore, char *err, size_t errlen)
{
    char *path = fs_join(datastore, RESERVE_NAME);
    int r = -1;
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= RESERVE_BYTES &&
        st.st_blocks * 512 >= RESERVE_BYTES) {
        free(path);
        return 0;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto out;
    }
    int e = posix_fallocate(fd, 0, RESERVE_BYTES);   /* really allocated: not a sparse file */
    if (e == 0 && fsync(fd) != 0)
        e = errno;
    close(fd);
    if (e != 0) {
        unlink(path);
        snprintf(err, errlen, "%s: cannot keep %d KiB free for the journal: %s; free space on the datastore's "
                 "filesystem and retry", path, RESERVE_BYTES / 1024, strerror(e));
        goto out;
    }
    fs_fsync_dir(datastore);
    r = 0;
out:
    free(path);
    return r;
}

bool reserve_release(const char *datastore)
{
    char *path = fs_join(datastore, RESERVE_NAME);
    bool had = unlink(path) == 0;
    free(path);
    return had;
}

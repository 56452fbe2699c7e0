#include "store/reserve.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fs.h"

#define RESERVE_NAME "orchestrator.reserve"

int reserve_ensure(const char *datastore, struct error **err)
{
    assert(datastore);
    _cleanup_free_ char *path = fs_join(datastore, RESERVE_NAME);
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= RESERVE_BYTES &&
        st.st_blocks * 512 >= RESERVE_BYTES)
        return 0;
    _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return error_set_errno(err, errno, "%s", path);
    int e = posix_fallocate(fd, 0, RESERVE_BYTES); /* really allocated: not a sparse file */
    if (e == 0 && fsync(fd) != 0)
        e = errno;
    close(TAKE_FD(fd));
    if (e != 0) {
        unlink(path);
        return error_set(err, e,
                         "%s: cannot keep %d KiB free for the journal: %s; free space on the datastore's "
                         "filesystem and retry",
                         path, RESERVE_BYTES / 1024, strerror(e));
    }
    fs_fsync_dir(datastore);
    return 0;
}

bool reserve_release(const char *datastore)
{
    assert(datastore);
    _cleanup_free_ char *path = fs_join(datastore, RESERVE_NAME);
    return unlink(path) == 0;
}

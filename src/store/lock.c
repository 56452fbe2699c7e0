#include "store/lock.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>

#include "store/private_dir.h"
#include "util/fs.h"

int store_lock_acquire(const char *datastore, struct error **err)
{
    assert(datastore);
    if (private_dir_create(datastore) != 0)
        return error_set_errno(err, errno, "cannot create the datastore directory %s", datastore);
    _cleanup_free_ char *path = fs_join(datastore, "orchestrator.lock");
    _cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return error_set_errno(err, errno, "cannot open %s", path);
    while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EINTR)
            continue;
        if (errno == EWOULDBLOCK)
            return error_set(err, errno, "another mender-orchestrator process is running");
        return error_set_errno(err, errno, "cannot lock %s", path);
    }
    return TAKE_FD(fd);
}

#include "store/lock.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "store/datastore.h"
#include "store/private_dir.h"
#include "util/fs.h"

/* The flock is the lock. A process holding it also takes a POSIX record lock on the
 * file, only so that the others can learn its PID (F_GETLK reports it; flock cannot). */
static void advertise_pid(int fd)
{
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
    (void)fcntl(fd, F_SETLK, &fl); /* best effort: without it the message has no PID */
}

/* The PID of the process holding the lock, or 0 when not known. */
static pid_t holder_pid(int fd)
{
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
    if (fcntl(fd, F_GETLK, &fl) != 0 || fl.l_type == F_UNLCK || fl.l_pid <= 0)
        return 0;
    return fl.l_pid;
}

static int held_error(int fd, const char *path, struct error **err)
{
    pid_t pid = holder_pid(fd);
    if (pid > 0)
        return error_set(err, EWOULDBLOCK,
                         "another mender-orchestrator process is running (PID %ld holds %s); wait for it to end, "
                         "then try again",
                         (long)pid, path);
    return error_set(err, EWOULDBLOCK,
                     "another mender-orchestrator process is running (it holds %s); wait for it to end, then try again",
                     path);
}

int store_lock_acquire(const char *datastore, struct error **err)
{
    assert(datastore);
    if (datastore_check(datastore, err) != 0)
        return -1;
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
            return held_error(fd, path, err);
        return error_set_errno(err, errno, "cannot lock %s", path);
    }
    advertise_pid(fd);
    return TAKE_FD(fd);
}

/* Scope-based cleanup: a variable declared with one of these attributes is released
 * when it goes out of scope, on every return path (GCC and Clang's cleanup attribute,
 * as systemd's _cleanup_free_). Take ownership out of one with TAKE_PTR / TAKE_FD.
 *
 *     _cleanup_free_ char *path = fs_join(dir, name);
 *     _cleanup_close_ int fd = open(path, O_RDONLY);
 *     if (fd < 0)
 *         return error_set_errno(err, errno, "cannot open %s", path);
 *     ...
 *     return TAKE_FD(fd);
 */
#ifndef MO_CLEANUP_H
#define MO_CLEANUP_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

/* A fallible function whose result must be looked at. */
#define MO_MUST_CHECK __attribute__((warn_unused_result))

/* Defines static inline void name(type *p): calls func(*p) when *p is not NULL. */
#define MO_DEFINE_POINTER_CLEANUP(name, type, func) \
    static inline void name(type *p)                \
    {                                               \
        if (*p)                                     \
            func(*p);                               \
    }

static inline void freep(void *p) { free(*(void **)p); }

/* Closes an fd >= 0, keeping errno (a cleanup runs on error paths that report it). */
static inline void closep(int *fd)
{
    if (*fd >= 0) {
        int saved = errno;
        close(*fd);
        errno = saved;
    }
}

MO_DEFINE_POINTER_CLEANUP(fclosep, FILE *, fclose)
MO_DEFINE_POINTER_CLEANUP(closedirp, DIR *, closedir)

#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)
#define _cleanup_closedir_ _cleanup_(closedirp)

/* The value of a pointer variable, which is set to NULL (its cleanup then does nothing). */
#define TAKE_PTR(p)                        \
    __extension__({                        \
        __typeof__(p) take_ptr_tmp_ = (p); \
        (p) = NULL;                        \
        take_ptr_tmp_;                     \
    })
/* The same for an fd variable, set to -1. */
#define TAKE_FD(fd)              \
    __extension__({              \
        int take_fd_tmp_ = (fd); \
        (fd) = -1;               \
        take_fd_tmp_;            \
    })

#endif

#include "store/private_dir.h"

#include <assert.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "util/mem.h"

int private_dir_create(const char *dir)
{
    assert(dir);
    if (!*dir) {
        errno = ENOENT;
        return -1;
    }
    _cleanup_free_ char *p = xstrdup(dir); /* free() keeps errno (glibc >= 2.33, POSIX 2024) */
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        p[--n] = '\0';
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, 0700) != 0 && errno != EEXIST)
            return -1;
        *s = c;
        if (c == '\0')
            break;
    }
    struct stat st;
    if (stat(p, &st) != 0)
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

/* What an Interface call leaves behind that interface-check can see: processes that
 * outlive it, and changes in the folders it watches (docs/interface-check.md). */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conform/conform_int.h"
#include "util/cleanup.h"
#include "util/mem.h"

int observe_start(void) { return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); }

/* Reaps pid (-1: any child) if it ended; counts it in *killed when SIGKILL ended it.
 * Returns the pid reaped, 0 when none ended, -1 when there is no such child. */
static pid_t reap(pid_t pid, int *killed)
{
    int status;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r > 0 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        (*killed)++;
    return r;
}

static void reap_all(int *killed)
{
    while (reap(-1, killed) > 0)
        ;
}

/* Parent pid, state and command name of /proc/<pid>/stat. Returns 0 or -1. */
static int stat_of(pid_t pid, pid_t *ppid, char *state, char *comm, size_t comm_size)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    _cleanup_fclose_ FILE *f = fopen(path, "re");
    if (!f || !fgets(buf, sizeof(buf), f))
        return -1;
    char *open = strchr(buf, '('), *close = strrchr(buf, ')');
    if (!open || !close || close < open)
        return -1;
    snprintf(comm, comm_size, "%.*s", (int)(close - open - 1), open + 1);
    int pp;
    if (sscanf(close + 1, " %c %d", state, &pp) != 2)
        return -1;
    *ppid = pp;
    return 0;
}

/* Our children that do not look dead (a zombie, or gone) yet. */
static size_t live_children(pid_t *pids, size_t max)
{
    _cleanup_closedir_ DIR *d = opendir("/proc");
    if (!d)
        return 0;
    pid_t self = getpid();
    size_t n = 0;
    struct dirent *e;
    while (n < max && (e = readdir(d))) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0)
            continue;
        pid_t ppid;
        char state, comm[64];
        if (stat_of((pid_t)pid, &ppid, &state, comm, sizeof(comm)) == 0 && ppid == self && state != 'Z')
            pids[n++] = (pid_t)pid;
    }
    return n;
}

#define MAX_LEFT 64
#define DYING_WAIT_US 500000 /* a process the call's end killed may not have died yet */

void observe_leftovers(struct strv *found, int *killed)
{
    *killed = 0;
    reap_all(killed);
    pid_t pids[MAX_LEFT];
    size_t n = live_children(pids, MAX_LEFT);
    for (useconds_t waited = 0; n && waited < DYING_WAIT_US; waited += 10000) {
        usleep(10000);
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            pid_t ppid;
            char state, comm[64];
            bool gone = stat_of(pids[i], &ppid, &state, comm, sizeof(comm)) != 0 || state == 'Z';
            if (!gone || reap(pids[i], killed) == 0)
                pids[k++] = pids[i];
        }
        n = k;
    }
    for (size_t i = 0; i < n; i++) {
        pid_t ppid;
        char state, comm[64] = "?";
        (void)stat_of(pids[i], &ppid, &state, comm, sizeof(comm));
        strv_push_owned(found, xasprintf("%ld (%s)", (long)pids[i], comm));
        kill(pids[i], SIGKILL);
        waitpid(pids[i], NULL, 0);
    }
    reap_all(killed);
}

static bool is_under(const char *path, const char *top)
{
    size_t n = strlen(top);
    return strncmp(path, top, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static bool skipped(const char *path, const struct strv *skip)
{
    for (size_t i = 0; skip && i < skip->n; i++)
        if (is_under(path, skip->v[i]))
            return true;
    return false;
}

static void walk(struct strv *out, const char *path, const struct strv *skip, int depth)
{
    if (skipped(path, skip))
        return;
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        strv_push_owned(out, xasprintf("%s\td", path));
        _cleanup_closedir_ DIR *d = depth < 32 ? opendir(path) : NULL;
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            _cleanup_free_ char *child = xasprintf("%s/%s", path, e->d_name);
            walk(out, child, skip, depth + 1);
        }
    } else if (S_ISLNK(st.st_mode)) {
        char target[4096];
        ssize_t n = readlink(path, target, sizeof(target) - 1);
        target[n < 0 ? 0 : n] = '\0';
        strv_push_owned(out, xasprintf("%s\tl %s", path, target));
    } else {
        strv_push_owned(out,
                        xasprintf("%s\tf %o %lld %lld.%09ld %llu", path, (unsigned)st.st_mode, (long long)st.st_size,
                                  (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, (unsigned long long)st.st_ino));
    }
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

void snapshot_take(struct strv *out, const struct strv *roots, const struct strv *skip)
{
    for (size_t i = 0; i < roots->n; i++)
        walk(out, roots->v[i], skip, 0);
    if (out->n)
        qsort(out->v, out->n, sizeof(*out->v), cmp_str);
}

/* A folder on the way to a skipped path (made or removed with it). */
static bool leads_to_skip(const char *entry, const struct strv *skip)
{
    size_t n = strcspn(entry, "\t");
    for (size_t i = 0; skip && i < skip->n; i++)
        if (strncmp(skip->v[i], entry, n) == 0 && skip->v[i][n] == '/')
            return true;
    return false;
}

char *snapshot_diff(const struct strv *before, const struct strv *after, const struct strv *skip)
{
    size_t i = 0, j = 0;
    while (i < before->n || j < after->n) {
        int c = i == before->n ? 1 : j == after->n ? -1 : strcmp(before->v[i], after->v[j]);
        const char *differs = NULL;
        if (c == 0) {
            i++, j++;
            continue;
        }
        differs = c < 0 ? before->v[i++] : after->v[j++];
        if (!leads_to_skip(differs, skip))
            return xasprintf("%.*s", (int)strcspn(differs, "\t"), differs);
    }
    return NULL;
}

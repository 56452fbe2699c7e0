#include "util/testhook.h"

#ifdef MO_TEST_HOOKS
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static atomic_long commits;

void testhook_commit(const char *what, long seq)
{
    long n = atomic_fetch_add(&commits, 1) + 1;
    const char *log = getenv("MO_TEST_COMMIT_LOG");
    if (log && *log) {
        FILE *f = fopen(log, "a");
        if (f) {
            fprintf(f, "%ld %s %ld\n", n, what, seq);
            fclose(f);
        }
    }
    const char *crash = getenv("MO_TEST_CRASH_AFTER_COMMIT");
    if (crash && *crash && atol(crash) == n)
        raise(SIGKILL);
}

void testhook_pause(const char *point)
{
    const char *at = getenv("MO_TEST_PAUSE_AT");
    if (at && strcmp(at, point) == 0)
        raise(SIGSTOP);
}

bool testhook_next_release(void)
{
    const char *v = getenv("MO_TEST_NEXT_RELEASE");
    return v && strcmp(v, "1") == 0;
}
#else
typedef int testhook_unused; /* ISO C wants a non-empty translation unit */
#endif

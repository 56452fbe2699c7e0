/* Test-build-only hooks (meson -Dtest_hooks=true); compiled out of release builds.
 *
 * testhook_commit(what, seq) is called right after every durable journal commit, with the
 * deployment's step number. With
 *   MO_TEST_COMMIT_LOG=FILE          a line "<n> <what> <seq>" is appended to FILE per commit;
 *   MO_TEST_CRASH_AFTER_COMMIT=N     the process SIGKILLs itself right after its Nth
 *                                    commit (counted from 1 in this process),
 * so tests can cut the power at every point where the state changes.
 *
 * testhook_pause(point) is called at a few named points. With
 *   MO_TEST_PAUSE_AT=POINT           the process stops itself (SIGSTOP) there, so that a
 *                                    test can change the world (fill the disk) and let it
 *                                    go on (SIGCONT). Points: "finish" (before the end of a
 *                                    deployment is written to the journal).
 *
 * testhook_next_release() is true with
 *   MO_TEST_NEXT_RELEASE=1           the binary plays the next release of itself, for the
 *                                    cross-version tests (docs/compatibility.md): another
 *                                    version string, program 2 (engine/program.c: one
 *                                    query moved, one more step in the forward and in the
 *                                    rollback program) and fields of its own in the record. */
#ifndef MO_TESTHOOK_H
#define MO_TESTHOOK_H

#include <stdbool.h>

#ifdef MO_TEST_HOOKS
void testhook_commit(const char *what, long seq);
void testhook_pause(const char *point);
bool testhook_next_release(void);
#else
static inline void testhook_commit(const char *what, long seq)
{
    (void)what;
    (void)seq;
}
static inline void testhook_pause(const char *point) { (void)point; }
static inline bool testhook_next_release(void) { return false; }
#endif

#endif

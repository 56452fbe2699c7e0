/* Inside the conformance kit: what a call leaves behind that the kit can see
 * (observe.c). */
#ifndef MO_CONFORM_INT_H
#define MO_CONFORM_INT_H

#include <stdbool.h>

#include "util/strv.h"

/* Makes this process the child subreaper (PR_SET_CHILD_SUBREAPER): a process that an
 * Interface call leaves behind, even one that left the call's process group and session,
 * becomes our child when its parent ends. Returns 0, or -1 with errno. */
int observe_start(void);

/* Our children that still run once a call is over (no call runs now; a child that is
 * dying is waited for, up to 0.5 s): adds "<pid> (<command name>)" for each to found,
 * then SIGKILLs them. Reaps every child that has ended, and counts in *killed those that
 * SIGKILL ended: the processes a call left in its process group, which the end of the
 * call killed (they become ours when the call's process exits). */
void observe_leftovers(struct strv *found, int *killed);

/* The state of the trees under roots (files: type, size, mtime, inode; folders and
 * links: type and target), sorted, leaving out skip and everything under it. */
void snapshot_take(struct strv *out, const struct strv *roots, const struct strv *skip);

/* The first path that differs between two snapshots (added, removed or changed), not
 * counting the folders that lead to a path of skip; NULL when none. Caller frees. */
char *snapshot_diff(const struct strv *before, const struct strv *after, const struct strv *skip);

#endif

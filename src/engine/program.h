/* The programs the engine walks: the forward path and the rollback path, each a list
 * of steps built from one table of step kinds (orchestrator.md §6.2, §6.4, §6.6). */
#ifndef MO_PROGRAM_H
#define MO_PROGRAM_H

#include <stdbool.h>
#include <stddef.h>

#include "deploy/deployment.h"

enum step_kind {
    SK_WORKDIR,        /* fresh work dir with the verified header (no call) */
    SK_QUERY,          /* an install-phase query; the answer is stored */
    SK_DOWNLOAD,       /* Download / DownloadWithFileSizes with the streams */
    SK_STATE,          /* a state call */
    SK_SYSTEM_REBOOT,  /* one System-device reboot for the group */
    SK_RB_RETRY,       /* rollback reboot verified? else go back for another attempt */
    SK_STOP,           /* a --stop-before point */
};

/* What an interrupted call (started, no result in the journal) means on resume. */
enum on_interrupt { INT_RERUN, INT_FAIL, INT_DONE };

/* What a failed call means. */
enum on_failure {
    FAIL_ROLLBACK,      /* the deployment fails: whole-System rollback */
    FAIL_LOG,           /* logged, nothing else */
    FAIL_INCONSISTENT,  /* logged, and the System may be inconsistent */
};

struct member;

struct step_def {
    const char *name;        /* state or query name, or the stop point */
    enum step_kind kind;
    /* which members of the group the step calls */
    bool (*applies)(const struct member *m);
    enum on_interrupt interrupted;
    enum on_failure failure;
    /* queries: allows Automatic; the default for empty output; stored where */
    bool automatic;
    int dflt;
    size_t answer_offset;    /* offsetof(struct member, ...) */
};

struct step {
    const struct step_def *def;
    int group;               /* index into the deployment's groups; -1 for stop points */
};

struct program {
    struct step *steps;
    size_t n;
    int *groups;             /* distinct orders of the selected members, ascending */
    size_t ngroups;
};

/* Builds the program of d's current direction. */
void program_build(const struct deployment *d, struct program *p);
void program_free(struct program *p);

/* Index of the first step of a kind/name in the program at or after from, in the same
 * group; -1 if none. */
int program_find(const struct program *p, int from, const char *name, int group);

/* The group a member belongs to in the program, or -1 if it is not selected. */
int program_group_of(const struct program *p, const struct member *m);

/* The cursor of the forward program's "stop before Cleanup" point. */
int program_cleanup_start(const struct program *p);

#endif

/* The programs the engine walks: the forward path and the rollback path, each a list
 * of steps built from one table of step kinds (docs/state-machine.md). */
#ifndef MO_PROGRAM_H
#define MO_PROGRAM_H

#include <stdbool.h>
#include <stddef.h>

#include "deploy/deployment.h"
#include "util/cleanup.h"

/* What a step is: a state or query of the Interface protocol, or a step of the engine's
 * own. The engine compares these, never names; the name is for calls, logs and events. */
enum state_id {
    ST_DOWNLOAD,
    ST_NEEDS_UNPACKED_ARTIFACT,
    ST_PROVIDE_PAYLOAD_FILE_SIZES,
    ST_SUPPORTS_ROLLBACK,
    ST_ARTIFACT_INSTALL,
    ST_NEEDS_ARTIFACT_REBOOT,
    ST_ARTIFACT_REBOOT,
    ST_SYSTEM_REBOOT,
    ST_ARTIFACT_VERIFY_REBOOT,
    ST_ARTIFACT_COMMIT,
    ST_CLEANUP,
    ST_ARTIFACT_ROLLBACK,
    ST_ARTIFACT_ROLLBACK_REBOOT,
    ST_ARTIFACT_VERIFY_ROLLBACK_REBOOT,
    ST_ROLLBACK_REBOOT_RETRY,
    ST_ARTIFACT_FAILURE,
    ST_ROLLBACK_CHECK,
    ST_CHECKPOINT, /* program 2's own step (SK_NOTE) */
    ST_COUNT_
};

/* The protocol's name of a state or query ("ArtifactInstall"). */
const char *state_name(enum state_id s);

/* The points a run can stop before (--stop-before), as bits of a set. */
enum stop_point {
    STOP_ARTIFACT_COMMIT = 1u << 0,
    STOP_ARTIFACT_ROLLBACK = 1u << 1,
    STOP_CLEANUP = 1u << 2,
};

/* The stop point named name ("ArtifactCommit", "ArtifactRollback", "Cleanup"), or 0. */
MO_MUST_CHECK unsigned stop_point_from_name(const char *name);

enum step_kind {
    SK_WORKDIR,       /* fresh work dir with the verified header (no call) */
    SK_QUERY,         /* an install-phase query; the answer is stored */
    SK_DOWNLOAD,      /* Download / DownloadWithFileSizes with the streams */
    SK_STATE,         /* a state call */
    SK_SYSTEM_REBOOT, /* one System-device reboot for the group */
    SK_RB_RETRY,      /* rollback reboot verified? else go back for another attempt */
    SK_RB_CHECK,      /* end of the rollback pass: every member's rollback complete? else park */
    SK_STOP,          /* a --stop-before point */
    SK_NOTE,          /* a step of the engine's own that only records progress (program 2 of
                         the test builds: util/testhook.h) */
};

/* The parts of a program, each a template of steps run once or once per group
 * (docs/compatibility.md: a position is a section, a group and a step of its template). */
enum section {
    SEC_INSTALL,        /* per group, ascending */
    SEC_STOP_COMMIT,    /* once */
    SEC_COMMIT,         /* per group, ascending */
    SEC_STOP_ROLLBACK,  /* once */
    SEC_ROLLBACK,       /* per group, from the highest touched one down */
    SEC_ROLLBACK_CHECK, /* once */
    SEC_STOP_CLEANUP,   /* once */
    SEC_CLEANUP,        /* per group, ascending */
    SEC_COUNT_
};

/* What an interrupted call (started, no result in the journal) means on resume. */
enum on_interrupt { INT_RERUN, INT_FAIL, INT_DONE };

/* What a failed call means. */
enum on_failure {
    FAIL_ROLLBACK, /* the deployment fails: whole-System rollback */
    FAIL_LOG,      /* logged, nothing else */
    /* a rollback step: logged, recorded in the member (the System may be inconsistent), and
     * retried by the next rollback pass; the pass goes on and the deployment then waits,
     * open, before Cleanup (docs/state-machine.md) */
    FAIL_INCOMPLETE,
    FAIL_INVALID, /* a query: an invalid answer fails the deployment as FAIL_ROLLBACK does;
                      a failed call is logged and counts as No */
};

struct member;

struct step_def {
    enum state_id state; /* the state or query called; a stop point: the state it stops before */
    enum step_kind kind;
    /* which members of the group the step calls (NULL for stop points) */
    bool (*applies)(const struct member *m);
    enum on_interrupt interrupted;
    enum on_failure failure;
    /* queries: allows Automatic; the default for empty output; stored where */
    bool automatic;
    int dflt;
    size_t answer_offset; /* offsetof(struct member, ...) */
    enum stop_point stop; /* SK_STOP: which point */
};

/* The name of the state or query a step calls (of the state a stop point is before). */
static inline const char *step_name(const struct step_def *def) { return state_name(def->state); }

struct step {
    const struct step_def *def;
    int group;            /* index into the deployment's groups; -1 for stop points */
    enum section section; /* the part of the program it is in */
    unsigned index;       /* its place in the section's template */
};

struct program_tables;

struct program {
    struct step *steps;
    size_t n, cap;
    int *groups; /* distinct orders of the selected members, ascending */
    size_t ngroups;
    const struct program_tables *tables;
};

/* The version of the step tables this binary runs: 1 (0.1.0's and this release's), or 2
 * in a test build playing the next release (util/testhook.h). */
int program_version(void);

/* Builds the program of d's current direction from this binary's tables. */
void program_build(const struct deployment *d, struct program *p);
/* The same from the tables of program version (1, or 2 in test builds): 0, or -1 when
 * this binary does not have them. */
MO_MUST_CHECK int program_build_version(const struct deployment *d, int version, struct program *p);
void program_free(struct program *p);

/* Records in d->pos where d->cursor is in p (and in d->program p's version). */
void program_record_position(const struct program *p, struct deployment *d);

/* Where the position a record gives (d->pos, or for a record without one d->cursor in
 * program 1) is in p (docs/compatibility.md): *cursor is the first step of p, in the
 * position's section and group, that the writer knew and had not done (the end of that
 * section's group if none). */
enum locate {
    LOCATE_SAME,            /* the same step: its calls' records stand */
    LOCATE_MOVED,           /* another step (a different program): the step count must move on */
    LOCATE_UNKNOWN_STEP,    /* p has no step like the writer's current one */
    LOCATE_UNKNOWN_SECTION, /* p has no such section or group: *cursor not set */
};
MO_MUST_CHECK enum locate program_locate(const struct program *p, const struct deployment *d, int *cursor);

/* The name of a section as records write it ("install"). */
const char *section_name(enum section s);

/* Index of the first step calling state s in the program at or after from, in the same
 * group; -1 if none. */
MO_MUST_CHECK int program_find(const struct program *p, int from, enum state_id s, int group);

/* The group a member belongs to in the program, or -1 if it is not selected. */
MO_MUST_CHECK int program_group_of(const struct program *p, const struct member *m);

/* The cursor of the "stop before Cleanup" point (in every program). */
MO_MUST_CHECK int program_cleanup_start(const struct program *p);

/* The cursor of the rollback pass's end check (SK_RB_CHECK), or -1 if the program has none. */
MO_MUST_CHECK int program_rollback_check(const struct program *p);

#endif

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
    int group; /* index into the deployment's groups; -1 for stop points */
};

struct program {
    struct step *steps;
    size_t n;
    int *groups; /* distinct orders of the selected members, ascending */
    size_t ngroups;
};

/* Builds the program of d's current direction. */
void program_build(const struct deployment *d, struct program *p);
void program_free(struct program *p);

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

/* A deployment: everything the engine needs to run, resume or roll back an update of
 * the whole System. It is saved whole to the journal at every transition. */
#ifndef MO_DEPLOYMENT_H
#define MO_DEPLOYMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "util/cleanup.h"
#include "util/error.h"
#include "util/strv.h"

#define ANSWER_UNSET (-1) /* a query not asked yet; otherwise an enum answer (iface/query.h) */

/* How a deployment stands; an ended one (docs/mender-orchestrator.1, history): success,
 * failed (and rolled back), inconsistent (a rollback step failed or was impossible), or
 * rolled_back (the rollback command undid it, every rollback step successful). */
enum dep_status { DEP_IN_PROGRESS, DEP_SUCCESS, DEP_FAILED, DEP_INCONSISTENT, DEP_ROLLED_BACK };
enum dep_direction { DIR_FORWARD, DIR_ROLLBACK };

/* The record format this binary writes (docs/compatibility.md): 1 is 0.1.0's (no
 * position, no versions), 2 adds them. A record of a higher format is not continued. */
#define DEPLOYMENT_FORMAT 2

/* Where a deployment is, in terms that survive a change of program (docs/compatibility.md):
 * the section of the program, the group (by its order value), and the section's steps as
 * the writer's program has them ("kind:State"), with the index of the current one. */
struct dep_position {
    char *section; /* NULL: not recorded (0.1.0): the cursor is an index into program 1 */
    bool has_group;
    int group;
    size_t index;
    struct strv steps;
};

/* One Component of the System in this deployment. */
struct member {
    /* fixed at preparation (written to the journal once; test builds check it stays so) */
    char *component_type;
    char *id;
    char *interface;
    struct strv args;
    bool legacy;         /* argv carries the id */
    int order;           /* update_strategy.order of its type */
    bool selected;       /* false: skipped (already installed); no state runs */
    char *artifact_path; /* absolute path of the selected local Artifact, or NULL */
    char *artifact_name;
    uint64_t artifact_size;
    char manifest_sha256[65];   /* hex SHA-256 of the Artifact's manifest member ("" for a
                                  * repository Artifact: not known before it is fetched) */
    char *artifact_url;         /* repository Artifact: its URL (from index.json), or NULL */
    char artifact_sha256[65];   /* repository Artifact: hex SHA-256 of the whole file, else "" */
    struct kvlist provides;     /* Provides answer at preparation */
    struct kvlist new_provides; /* the provides the Artifact will give (for display) */

    /* query answers, ANSWER_UNSET until asked */
    int needs_unpacked;
    int provide_sizes;
    int supports_rollback;
    int needs_reboot;    /* after ArtifactInstall */
    int rollback_reboot; /* NeedsArtifactReboot asked again after ArtifactRollback */

    /* progress */
    bool touched;         /* had an install-phase call: Cleanup runs for it */
    bool install_started; /* ArtifactInstall started: it is in the rollback set */
    bool rollback_ok;     /* ArtifactRollback succeeded */
    int rb_attempts;      /* rollback reboot attempts made */
    bool rb_verified;     /* ArtifactVerifyRollbackReboot succeeded */
    bool rb_given_up;     /* RollbackRebootRetries attempts ran out */
    bool failure_ok;      /* ArtifactFailure succeeded */
    /* a rollback step that did not complete for it in the last rollback pass (its name, and
     * the reason, one line), or NULL: retried by the next pass (docs/state-machine.md) */
    char *rb_failed_step;
    char *rb_failed_error;

    /* the journal's view of the call in flight, by step sequence number */
    long call_seq;    /* seq of the step whose call was last started (0 none) */
    long done_seq;    /* seq of the step whose call last finished */
    int last_rc;      /* 0 = the last finished call succeeded, else MEMBER_RC_* */
    char *last_state; /* name of the last call started, for status */
    char *last_error; /* one line, or NULL */

    /* fields of the record this binary does not know (a newer one wrote them): a JSON
     * object, or NULL; written back as they were (docs/compatibility.md) */
    char *extra;
};

/* A member's last_rc when its last call did not succeed. */
#define MEMBER_RC_FAILED 1  /* the call failed (exit status, signal, timeout, ...) */
#define MEMBER_RC_INVALID 2 /* a query exited 0 with an invalid answer */

struct deployment {
    long long id; /* journal row id, 0 until recorded */
    enum dep_status status;
    /* the Manifest and Topology, as given */
    char *manifest_name;
    char *manifest_path;
    char *manifest_dir; /* absolute: relative artifact_path are resolved again on resume */
    char *manifest_text;
    int manifest_format; /* enum manifest_format */
    char *topology_text; /* snapshot; NULL for legacy Manifests */
    char *plan_hash;     /* hex */

    struct member *members; /* in Topology (or legacy list) order */
    size_t nmembers;

    /* position */
    enum dep_direction direction;
    int cursor;              /* index of the current step in the program */
    struct dep_position pos; /* the same, as the record says it (engine/program.h) */
    int cursor_1;            /* the same as an index into program 1, which 0.1.0 reads as
                              * "cursor" (it reads nothing else of the position) */
    int format;              /* the record format read (1 when it has none) */
    int program;             /* the version of the program that wrote the position (0: none) */
    struct strv versions;    /* the mender-orchestrator versions that wrote it, first to last */
    long seq;                /* step sequence number: grows by one at every step entered */
    int rollback_top;        /* highest group index in which any state ran (rollback start) */
    bool inconsistent;       /* for good: a modified member cannot roll back, a step was skipped, or the
                        * operator gave the rollback up (a rollback step that may still be retried
                        * is recorded in its member instead) */
    bool rollback_requested; /* the rollback command turned it back (it had not failed) */
    bool reboot_pending;     /* a System-device reboot was started and not yet seen done */
    char *boot_id;           /* /proc/sys/kernel/random/boot_id when it was started */
    long resume_seq;         /* seq at the last resume, for the loop guard */
    int resumes_without_progress;
    char *failure; /* the first failure, one line, or NULL */
    /* the rollback pass ended with steps that did not complete (members' rb_failed_step): the
     * deployment waits, open, for a retry or for the operator to give up */
    bool rollback_failed;
    int rollback_retries; /* retry passes resume started by itself since the operator's last */
    time_t started, ended;
    char *extra_head, *extra_fixed; /* fields it does not know, as in struct member */
};

void member_init(struct member *m);
/* Frees what d holds and zeroes it; also a cleanup: _cleanup_(deployment_free). */
void deployment_free(struct deployment *d);

/* True when a member's rollback did not complete (rb_failed_step set). */
bool deployment_rollback_incomplete(const struct deployment *d);
/* True when the System may be inconsistent: the inconsistent flag, or a rollback that did
 * not complete. */
bool deployment_may_be_inconsistent(const struct deployment *d);

/* Distinct orders of the selected members, ascending. Caller frees. */
int *deployment_groups(const struct deployment *d, size_t *ngroups);

/* JSON (jansson) form used by the journal. to_json returns a malloc'ed string;
 * from_json fills d (not initialized by the caller) and returns 0, or -1 with d empty
 * and *err set ("deployment record: ..."). */
char *deployment_to_json(const struct deployment *d);
MO_MUST_CHECK int deployment_from_json(const char *json, struct deployment *d, struct error **err);

/* The same document in parts, so that the journal writes only what changed: the
 * deployment's fields set at preparation (FIXED), its other fields (HEAD), and one per
 * member. from_parts joins them back (members in order). */
enum dep_part { DEP_PART_HEAD, DEP_PART_FIXED };
char *deployment_part_json(const struct deployment *d, enum dep_part part);
char *deployment_member_json(const struct member *m);
MO_MUST_CHECK int deployment_from_parts(const char *head, const char *fixed, char *const *members, size_t n,
                                        struct deployment *d, struct error **err);
/* A member's fields that change after preparation (answers, progress, the call in
 * flight, the manifest checksum of a fetched Artifact): compare, copy, free a copy.
 * Every such field must be in member_progress_same, or the journal would not save it. */
bool member_progress_same(const struct member *a, const struct member *b);
void member_progress_copy(struct member *dst, const struct member *src);
void member_progress_free(struct member *m);

const char *dep_status_name(enum dep_status s);

void dep_position_free(struct dep_position *p);

/* The version that wrote every record of format 1, which names none. */
#define FORMAT_1_WRITER "0.1.0"
/* The versions that wrote d, first to last, into out (empty): as recorded, or
 * FORMAT_1_WRITER for a record that has none. */
void deployment_writers(const struct deployment *d, struct strv *out);

#endif

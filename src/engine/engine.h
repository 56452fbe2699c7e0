/* The System-wide state machine (docs/state-machine.md): one table-driven program for the
 * forward path and one for the rollback path, run group by group with a barrier per
 * state, every transition saved to the journal before it is acted on. */
#ifndef MO_ENGINE_H
#define MO_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "artifact/artifact.h"
#include "deploy/deployment.h"
#include "engine/program.h"
#include "inputs/config.h"
#include "store/journal.h"
#include "util/cleanup.h"
#include "util/error.h"

/* What the engine tells the outside world (progress views, tests). */
enum engine_event_kind { EV_STEP, EV_CALL_START, EV_CALL_END, EV_PROGRESS, EV_REBOOT, EV_DIRECTION };

struct engine_event {
    enum engine_event_kind kind;
    const struct deployment *d;
    const struct member *m; /* NULL for deployment-level events */
    const char *state;      /* state, query or step name */
    int group_order;        /* order of the group, 0 if none */
    int rc;                 /* EV_CALL_END: 0 ok */
    uint64_t bytes, total;  /* EV_PROGRESS */
};

typedef void (*engine_event_fn)(void *ctx, const struct engine_event *ev);

/* Which command runs the engine: a resume or a rollback first checks that the last runs
 * made progress (the loop guard). */
enum engine_command { ENGINE_INSTALL, ENGINE_RESUME, ENGINE_ROLLBACK };

struct engine_opts {
    const struct config *cfg;
    struct journal *journal;
    const struct artifact_keys *keys;
    unsigned stop_before; /* a set of enum stop_point */
    bool exit_on_reboot;
    enum engine_command command;
    engine_event_fn on_event;
    void *event_ctx;
    struct call_registry *calls; /* Interface calls recorded for the next run (iface/calls.h), or NULL */
};

/* How a run of the engine ended. Every outcome is logged by the engine; what it means
 * for the user (an exit code) is the caller's to decide. */
enum engine_outcome {
    ENGINE_DONE,             /* the success path ended: the Manifest is installed */
    ENGINE_STOPPED,          /* stopped at a requested stop point of the success path */
    ENGINE_REBOOT_REQUIRED,  /* a System-device reboot is due (exit_on_reboot) */
    ENGINE_ROLLED_BACK,      /* the rollback path ended, the System consistent */
    ENGINE_STOPPED_ROLLBACK, /* stopped at a requested stop point of the rollback path, consistent */
    ENGINE_INCONSISTENT,     /* on the rollback path (ended or stopped), and the System may be inconsistent */
    ENGINE_ROLLBACK_FAILED,  /* the rollback pass ended with steps that did not complete: the deployment waits,
                              * open, for a retry or for the operator to give up; the System may be inconsistent */
    ENGINE_JOURNAL_FAILED,   /* the journal cannot be written (also: the end of a deployment that ran to it); the
                              * deployment stays in progress for resume */
};

/* Runs d from its saved position until it ends, stops, or needs a reboot. */
MO_MUST_CHECK enum engine_outcome engine_run(const struct engine_opts *o, struct deployment *d);

/* Turns d to the rollback path (the `rollback` command, or a failure). Returns 0, or -1
 * with *err when it cannot: the success path already started Cleanup. */
MO_MUST_CHECK int engine_begin_rollback(struct deployment *d, const char *reason, struct error **err);

/* Starts a retry pass of a deployment whose rollback failed (d->rollback_failed): the
 * rollback program from its start, calling only the members whose steps did not complete.
 * by_operator: the rollback command (the count of resume's own retries starts again), else
 * resume. Returns false (d unchanged) when d's rollback has not failed. */
bool engine_retry_rollback(struct deployment *d, bool by_operator);

/* The operator gives a failed rollback up (rollback --give-up): d is recorded as
 * inconsistent and moves on to Cleanup. Returns 0, or -1 with *err when d's rollback has
 * not failed. */
MO_MUST_CHECK int engine_give_up(struct deployment *d, struct error **err);

/* Parks a deployment whose preparation failed before Cleanup (docs/state-machine.md), as
 * a first-group Download failure would be: rollback path, nothing to roll back. */
void engine_park_failed(struct deployment *d, const char *reason);

/* Cross-version deployments (docs/compatibility.md). */

/* Records in d where it is (the position of d->cursor in p, d's program if p is NULL, and
 * the program version) and, when this binary is not the last that wrote it, this binary's
 * version: before every write of d. */
void engine_stamp(struct deployment *d, const struct program *p);

/* Takes over d as loaded from the journal, whichever mender-orchestrator wrote it: maps its
 * position onto this binary's program (d->cursor), so that status shows it and resume and
 * rollback go on from it. act: for resume and rollback, which then save d: a step this
 * binary does not know, interrupted in a call, is dealt with (the deployment fails, or the
 * rollback pass starts again), and the mapping is logged. Returns 0, or -1 with *err when
 * d is outside what this binary can continue (a newer record format, a part of the program
 * it does not know on the success path): d is then not to be run or saved. */
MO_MUST_CHECK int engine_adopt(struct deployment *d, bool act, struct error **err);

/* Names of the phase d is in, for status: "install", "commit", "cleanup", "rollback",
 * "rollback-failed". */
const char *engine_phase_name(const struct deployment *d);

#endif

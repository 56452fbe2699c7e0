#include "engine/program.h"

#include <assert.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "iface/query.h"
#include "util/mem.h"

/* ---- which members a step calls ------------------------------------------------------ */

static bool all(const struct member *m)
{
    (void)m;
    return true;
}
static bool reboot_yes(const struct member *m) { return m->needs_reboot == ANSWER_YES; }
static bool reboot_automatic(const struct member *m) { return m->needs_reboot == ANSWER_AUTOMATIC; }
static bool rebooted(const struct member *m) { return reboot_yes(m) || reboot_automatic(m); }
static bool touched(const struct member *m) { return m->touched; }
/* The rollback steps call only members for which they have not completed yet, so that a
 * retry pass repeats only what did not (docs/state-machine.md). */
static bool can_roll_back(const struct member *m)
{
    return m->install_started && m->supports_rollback == ANSWER_YES && !m->rollback_ok;
}
static bool rolled_back(const struct member *m) { return m->rollback_ok && m->rollback_reboot == ANSWER_UNSET; }
static bool rb_pending(const struct member *m)
{
    return m->rollback_ok && !m->rb_verified && !m->rb_given_up &&
           (m->rollback_reboot == ANSWER_YES || m->rollback_reboot == ANSWER_AUTOMATIC);
}
static bool rb_reboot_yes(const struct member *m) { return rb_pending(m) && m->rollback_reboot == ANSWER_YES; }
static bool rb_reboot_automatic(const struct member *m)
{
    return rb_pending(m) && m->rollback_reboot == ANSWER_AUTOMATIC;
}
static bool failure_pending(const struct member *m) { return m->install_started && !m->failure_ok; }

#define ANSWER_AT(field) offsetof(struct member, field)

/* ---- names ---------------------------------------------------------------------------- */

static const char *const state_names[ST_COUNT_] = {
    [ST_DOWNLOAD] = "Download",
    [ST_NEEDS_UNPACKED_ARTIFACT] = "NeedsUnpackedArtifact",
    [ST_PROVIDE_PAYLOAD_FILE_SIZES] = "ProvidePayloadFileSizes",
    [ST_SUPPORTS_ROLLBACK] = "SupportsRollback",
    [ST_ARTIFACT_INSTALL] = "ArtifactInstall",
    [ST_NEEDS_ARTIFACT_REBOOT] = "NeedsArtifactReboot",
    [ST_ARTIFACT_REBOOT] = "ArtifactReboot",
    [ST_SYSTEM_REBOOT] = "SystemReboot",
    [ST_ARTIFACT_VERIFY_REBOOT] = "ArtifactVerifyReboot",
    [ST_ARTIFACT_COMMIT] = "ArtifactCommit",
    [ST_CLEANUP] = "Cleanup",
    [ST_ARTIFACT_ROLLBACK] = "ArtifactRollback",
    [ST_ARTIFACT_ROLLBACK_REBOOT] = "ArtifactRollbackReboot",
    [ST_ARTIFACT_VERIFY_ROLLBACK_REBOOT] = "ArtifactVerifyRollbackReboot",
    [ST_ROLLBACK_REBOOT_RETRY] = "RollbackRebootRetry",
    [ST_ARTIFACT_FAILURE] = "ArtifactFailure",
    [ST_ROLLBACK_CHECK] = "RollbackCheck",
};

const char *state_name(enum state_id s)
{
    assert((unsigned)s < ST_COUNT_ && state_names[s]);
    return state_names[s];
}

/* ---- the table ------------------------------------------------------------------------ */

/* Forward path, per group (docs/state-machine.md: the forward program, interruptions). */
static const struct step_def forward_group[] = {
    { .state = ST_DOWNLOAD, .kind = SK_WORKDIR, .applies = all, .interrupted = INT_RERUN, .failure = FAIL_ROLLBACK },
    { .state = ST_NEEDS_UNPACKED_ARTIFACT,
      .kind = SK_QUERY,
      .applies = all,
      .interrupted = INT_RERUN,
      .failure = FAIL_ROLLBACK,
      .dflt = ANSWER_YES,
      .answer_offset = ANSWER_AT(needs_unpacked) },
    { .state = ST_PROVIDE_PAYLOAD_FILE_SIZES,
      .kind = SK_QUERY,
      .applies = all,
      .interrupted = INT_RERUN,
      .failure = FAIL_ROLLBACK,
      .dflt = ANSWER_NO,
      .answer_offset = ANSWER_AT(provide_sizes) },
    { .state = ST_DOWNLOAD, .kind = SK_DOWNLOAD, .applies = all, .interrupted = INT_FAIL, .failure = FAIL_ROLLBACK },
    { .state = ST_SUPPORTS_ROLLBACK,
      .kind = SK_QUERY,
      .applies = all,
      .interrupted = INT_RERUN,
      .failure = FAIL_INVALID,
      .dflt = ANSWER_NO,
      .answer_offset = ANSWER_AT(supports_rollback) },
    { .state = ST_ARTIFACT_INSTALL,
      .kind = SK_STATE,
      .applies = all,
      .interrupted = INT_FAIL,
      .failure = FAIL_ROLLBACK },
    { .state = ST_NEEDS_ARTIFACT_REBOOT,
      .kind = SK_QUERY,
      .applies = all,
      .interrupted = INT_RERUN,
      .failure = FAIL_ROLLBACK,
      .automatic = true,
      .dflt = ANSWER_NO,
      .answer_offset = ANSWER_AT(needs_reboot) },
    { .state = ST_ARTIFACT_REBOOT,
      .kind = SK_STATE,
      .applies = reboot_yes,
      .interrupted = INT_DONE,
      .failure = FAIL_ROLLBACK },
    { .state = ST_SYSTEM_REBOOT,
      .kind = SK_SYSTEM_REBOOT,
      .applies = reboot_automatic,
      .interrupted = INT_DONE,
      .failure = FAIL_ROLLBACK },
    { .state = ST_ARTIFACT_VERIFY_REBOOT,
      .kind = SK_STATE,
      .applies = rebooted,
      .interrupted = INT_FAIL,
      .failure = FAIL_ROLLBACK },
};

static const struct step_def stop_commit = { .state = ST_ARTIFACT_COMMIT,
                                             .kind = SK_STOP,
                                             .interrupted = INT_DONE,
                                             .failure = FAIL_LOG,
                                             .stop = STOP_ARTIFACT_COMMIT };
static const struct step_def commit = {
    .state = ST_ARTIFACT_COMMIT, .kind = SK_STATE, .applies = all, .interrupted = INT_FAIL, .failure = FAIL_ROLLBACK
};
static const struct step_def stop_cleanup = {
    .state = ST_CLEANUP, .kind = SK_STOP, .interrupted = INT_DONE, .failure = FAIL_LOG, .stop = STOP_CLEANUP
};
static const struct step_def cleanup = {
    .state = ST_CLEANUP, .kind = SK_STATE, .applies = touched, .interrupted = INT_RERUN, .failure = FAIL_LOG
};
static const struct step_def stop_rollback = { .state = ST_ARTIFACT_ROLLBACK,
                                               .kind = SK_STOP,
                                               .interrupted = INT_DONE,
                                               .failure = FAIL_LOG,
                                               .stop = STOP_ARTIFACT_ROLLBACK };

/* Rollback path, per group, highest first (docs/state-machine.md). */
static const struct step_def rollback_group[] = {
    { .state = ST_ARTIFACT_ROLLBACK,
      .kind = SK_STATE,
      .applies = can_roll_back,
      .interrupted = INT_RERUN,
      .failure = FAIL_INCOMPLETE },
    /* Asked again, as the Mender Client does (docs/state-machine.md); a failure leaves it
     * unanswered, so the next pass asks again. */
    { .state = ST_NEEDS_ARTIFACT_REBOOT,
      .kind = SK_QUERY,
      .applies = rolled_back,
      .interrupted = INT_RERUN,
      .failure = FAIL_INCOMPLETE,
      .automatic = true,
      .dflt = ANSWER_NO,
      .answer_offset = ANSWER_AT(rollback_reboot) },
    { .state = ST_ARTIFACT_ROLLBACK_REBOOT,
      .kind = SK_STATE,
      .applies = rb_reboot_yes,
      .interrupted = INT_DONE,
      .failure = FAIL_LOG },
    { .state = ST_SYSTEM_REBOOT,
      .kind = SK_SYSTEM_REBOOT,
      .applies = rb_reboot_automatic,
      .interrupted = INT_DONE,
      .failure = FAIL_LOG },
    { .state = ST_ARTIFACT_VERIFY_ROLLBACK_REBOOT,
      .kind = SK_STATE,
      .applies = rb_pending,
      .interrupted = INT_RERUN,
      .failure = FAIL_LOG },
    { .state = ST_ROLLBACK_REBOOT_RETRY,
      .kind = SK_RB_RETRY,
      .applies = rb_pending,
      .interrupted = INT_RERUN,
      .failure = FAIL_INCOMPLETE },
    { .state = ST_ARTIFACT_FAILURE,
      .kind = SK_STATE,
      .applies = failure_pending,
      .interrupted = INT_RERUN,
      .failure = FAIL_INCOMPLETE },
};

/* After the rollback groups: a member whose rollback did not complete keeps the deployment
 * open before Cleanup, its work dir and rollback data kept, until a retry or give-up. */
static const struct step_def rollback_check = {
    .state = ST_ROLLBACK_CHECK, .kind = SK_RB_CHECK, .interrupted = INT_DONE, .failure = FAIL_INCOMPLETE
};

/* The stop points by the name --stop-before gives them. */
static const struct step_def *const stop_points[] = { &stop_commit, &stop_rollback, &stop_cleanup };

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

static void push(struct program *p, const struct step_def *def, int group)
{
    p->steps = xrealloc(p->steps, (p->n + 1) * sizeof(*p->steps));
    p->steps[p->n].def = def;
    p->steps[p->n].group = group;
    p->n++;
}

static void push_group_steps(struct program *p, const struct step_def *defs, size_t n, int group)
{
    for (size_t i = 0; i < n; i++)
        push(p, &defs[i], group);
}

void program_build(const struct deployment *d, struct program *p)
{
    assert(d && p);
    memset(p, 0, sizeof(*p));
    p->groups = deployment_groups(d, &p->ngroups);
    int ng = (int)p->ngroups;
    if (d->direction == DIR_FORWARD) {
        for (int g = 0; g < ng; g++)
            push_group_steps(p, forward_group, N_ELEMS(forward_group), g);
        push(p, &stop_commit, -1);
        for (int g = 0; g < ng; g++)
            push(p, &commit, g);
    } else if (d->rollback_top >= 0) {
        /* Only when some ArtifactInstall started; else straight to Cleanup (docs/state-machine.md). */
        push(p, &stop_rollback, -1);
        for (int g = d->rollback_top; g >= 0; g--)
            push_group_steps(p, rollback_group, N_ELEMS(rollback_group), g);
        push(p, &rollback_check, -1);
    }
    push(p, &stop_cleanup, -1);
    for (int g = 0; g < ng; g++)
        push(p, &cleanup, g);
}

void program_free(struct program *p)
{
    free(p->steps);
    free(p->groups);
    memset(p, 0, sizeof(*p));
}

unsigned stop_point_from_name(const char *name)
{
    assert(name);
    for (size_t i = 0; i < N_ELEMS(stop_points); i++)
        if (strcmp(step_name(stop_points[i]), name) == 0)
            return stop_points[i]->stop;
    return 0;
}

int program_find(const struct program *p, int from, enum state_id s, int group)
{
    assert(p);
    for (size_t i = (size_t)(from < 0 ? 0 : from); i < p->n; i++)
        if (p->steps[i].group == group && p->steps[i].def->state == s)
            return (int)i;
    return -1;
}

int program_group_of(const struct program *p, const struct member *m)
{
    assert(p && m);
    if (!m->selected)
        return -1;
    for (size_t g = 0; g < p->ngroups; g++)
        if (p->groups[g] == m->order)
            return (int)g;
    return -1;
}

int program_cleanup_start(const struct program *p)
{
    assert(p);
    for (size_t i = 0; i < p->n; i++)
        if (p->steps[i].def == &stop_cleanup)
            return (int)i;
    return -1;
}

int program_rollback_check(const struct program *p)
{
    assert(p);
    for (size_t i = 0; i < p->n; i++)
        if (p->steps[i].def == &rollback_check)
            return (int)i;
    return -1;
}

#include "engine/program.h"

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
static bool can_roll_back(const struct member *m)
{
    return m->install_started && m->supports_rollback == ANSWER_YES;
}
static bool rolled_back(const struct member *m) { return m->rollback_ok; }
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
static bool install_started(const struct member *m) { return m->install_started; }

#define ANSWER_AT(field) offsetof(struct member, field)

/* ---- the table ------------------------------------------------------------------------ */

/* Forward path, per group (§6.2; interruptions §6.6). */
static const struct step_def forward_group[] = {
    { "Download", SK_WORKDIR, all, INT_RERUN, FAIL_ROLLBACK, false, 0, 0 },
    { "NeedsUnpackedArtifact", SK_QUERY, all, INT_RERUN, FAIL_ROLLBACK, false, ANSWER_YES,
      ANSWER_AT(needs_unpacked) },
    { "ProvidePayloadFileSizes", SK_QUERY, all, INT_RERUN, FAIL_ROLLBACK, false, ANSWER_NO,
      ANSWER_AT(provide_sizes) },
    { "Download", SK_DOWNLOAD, all, INT_FAIL, FAIL_ROLLBACK, false, 0, 0 },
    { "SupportsRollback", SK_QUERY, all, INT_RERUN, FAIL_LOG, false, ANSWER_NO, ANSWER_AT(supports_rollback) },
    { "ArtifactInstall", SK_STATE, all, INT_FAIL, FAIL_ROLLBACK, false, 0, 0 },
    { "NeedsArtifactReboot", SK_QUERY, all, INT_RERUN, FAIL_ROLLBACK, true, ANSWER_NO, ANSWER_AT(needs_reboot) },
    { "ArtifactReboot", SK_STATE, reboot_yes, INT_DONE, FAIL_ROLLBACK, false, 0, 0 },
    { "SystemReboot", SK_SYSTEM_REBOOT, reboot_automatic, INT_DONE, FAIL_ROLLBACK, false, 0, 0 },
    { "ArtifactVerifyReboot", SK_STATE, rebooted, INT_FAIL, FAIL_ROLLBACK, false, 0, 0 },
};

static const struct step_def stop_commit = { "ArtifactCommit", SK_STOP, NULL, INT_DONE, FAIL_LOG, false, 0, 0 };
static const struct step_def commit = { "ArtifactCommit", SK_STATE, all, INT_FAIL, FAIL_ROLLBACK, false, 0, 0 };
static const struct step_def stop_cleanup = { "Cleanup", SK_STOP, NULL, INT_DONE, FAIL_LOG, false, 0, 0 };
static const struct step_def cleanup = { "Cleanup", SK_STATE, touched, INT_RERUN, FAIL_LOG, false, 0, 0 };
static const struct step_def stop_rollback = { "ArtifactRollback", SK_STOP, NULL, INT_DONE, FAIL_LOG, false, 0, 0 };

/* Rollback path, per group, highest first (§6.4 step 2). */
static const struct step_def rollback_group[] = {
    { "ArtifactRollback", SK_STATE, can_roll_back, INT_RERUN, FAIL_INCONSISTENT, false, 0, 0 },
    { "NeedsArtifactReboot", SK_QUERY, rolled_back, INT_RERUN, FAIL_INCONSISTENT, true, ANSWER_NO,
      ANSWER_AT(rollback_reboot) },
    { "ArtifactRollbackReboot", SK_STATE, rb_reboot_yes, INT_DONE, FAIL_LOG, false, 0, 0 },
    { "SystemReboot", SK_SYSTEM_REBOOT, rb_reboot_automatic, INT_DONE, FAIL_LOG, false, 0, 0 },
    { "ArtifactVerifyRollbackReboot", SK_STATE, rb_pending, INT_RERUN, FAIL_LOG, false, 0, 0 },
    { "RollbackRebootRetry", SK_RB_RETRY, rb_pending, INT_RERUN, FAIL_INCONSISTENT, false, 0, 0 },
    { "ArtifactFailure", SK_STATE, install_started, INT_RERUN, FAIL_INCONSISTENT, false, 0, 0 },
};

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
        /* Only when some ArtifactInstall started; else straight to Cleanup (§6.4 step 1). */
        push(p, &stop_rollback, -1);
        for (int g = d->rollback_top; g >= 0; g--)
            push_group_steps(p, rollback_group, N_ELEMS(rollback_group), g);
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

int program_find(const struct program *p, int from, const char *name, int group)
{
    for (size_t i = (size_t)(from < 0 ? 0 : from); i < p->n; i++)
        if (p->steps[i].group == group && strcmp(p->steps[i].def->name, name) == 0)
            return (int)i;
    return -1;
}

int program_group_of(const struct program *p, const struct member *m)
{
    if (!m->selected)
        return -1;
    for (size_t g = 0; g < p->ngroups; g++)
        if (p->groups[g] == m->order)
            return (int)g;
    return -1;
}

int program_cleanup_start(const struct program *p)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->steps[i].def == &stop_cleanup)
            return (int)i;
    return -1;
}

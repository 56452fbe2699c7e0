/* Cross-version deployments (docs/compatibility.md): a deployment written by another
 * mender-orchestrator (the one before a System-device reboot into a new root file system,
 * or the one a rollback reboot returns to) is continued from the step it had reached, found
 * by what the step is rather than by its index in a program. */
#include <stdio.h>
#include <string.h>

#include "engine/engine.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/version.h"

/* The version that last wrote d. */
static const char *writer_of(const struct deployment *d)
{
    return d->versions.n ? d->versions.v[d->versions.n - 1] : FORMAT_1_WRITER;
}

void engine_stamp(struct deployment *d, const struct program *p)
{
    _cleanup_(program_free) struct program own = { 0 };
    if (!p) {
        program_build(d, &own);
        p = &own;
    }
    program_record_position(p, d);
    if (!d->versions.n && d->format == 1 && d->id)
        strv_push(&d->versions, FORMAT_1_WRITER); /* started by it: format 1 records no version */
    if (!d->versions.n || strcmp(d->versions.v[d->versions.n - 1], mo_version()) != 0)
        strv_push(&d->versions, mo_version());
}

/* True when a call of the step at d's position was started and has no result. */
static bool call_in_flight(const struct deployment *d)
{
    for (size_t i = 0; i < d->nmembers; i++)
        if (d->members[i].call_seq == d->seq && d->members[i].done_seq != d->seq)
            return true;
    return false;
}

/* "step query:SupportsRollback of the install section (group 10)". Caller frees. */
static char *describe(const struct dep_position *pos)
{
    if (!pos->section)
        return xstrdup("its step (a record of 0.1.0)");
    const char *step = pos->index < pos->steps.n ? pos->steps.v[pos->index] : "?";
    if (pos->has_group)
        return xasprintf("step %s of the %s section (group %d)", step, pos->section, pos->group);
    return xasprintf("step %s of the %s section", step, pos->section);
}

/* The rollback pass from its start: its steps call only members for which they did not
 * complete, so nothing done is done again and nothing is skipped. */
static void restart_rollback(struct deployment *d, bool act, const char *where)
{
    if (act)
        log_warn("deployment %lld: %s, written by mender-orchestrator %s, is unknown to %s: the rollback pass "
                 "starts again from its beginning (it calls only what has not completed)",
                 d->id, where, writer_of(d), mo_version());
    d->cursor = 0;
    d->seq++;
}

static int unknown_section(struct deployment *d, bool act, const char *where, struct error **err)
{
    if (d->direction == DIR_ROLLBACK) {
        restart_rollback(d, act, where);
        return 0;
    }
    return error_set(err, 0,
                     "deployment %lld is at %s, written by mender-orchestrator %s, which %s does not know; "
                     "resume or roll it back with mender-orchestrator %s or later (its journal is left as it is)",
                     d->id, where, writer_of(d), mo_version(), writer_of(d));
}

/* The writer's current step is not in this program. */
static int unknown_step(struct deployment *d, bool act, int cursor, const char *where, struct error **err)
{
    bool interrupted = call_in_flight(d);
    const char *sec = d->pos.section ? d->pos.section : "";
    if (interrupted && act && (strcmp(sec, "install") == 0 || strcmp(sec, "commit") == 0)) {
        /* it may have changed a Component in a way this binary cannot judge */
        _cleanup_free_ char *why = xasprintf("interrupted in %s, which mender-orchestrator %s (this one) does not know",
                                             where, mo_version());
        return engine_begin_rollback(d, why, err);
    }
    if (interrupted && (strcmp(sec, "rollback") == 0 || strcmp(sec, "rollback-check") == 0)) {
        restart_rollback(d, act, where);
        return 0;
    }
    if (act)
        log_info("deployment %lld: %s, written by mender-orchestrator %s, is not a step of %s; going on with the "
                 "next step it has",
                 d->id, where, writer_of(d), mo_version());
    d->cursor = cursor;
    d->seq++;
    return 0;
}

int engine_adopt(struct deployment *d, bool act, struct error **err)
{
    if (d->format > DEPLOYMENT_FORMAT)
        return error_set(err, 0,
                         "deployment %lld was written by mender-orchestrator %s in record format %d, and %s reads "
                         "formats up to %d; continue it with mender-orchestrator %s or later (its journal is left as "
                         "it is)",
                         d->id, writer_of(d), d->format, mo_version(), DEPLOYMENT_FORMAT, writer_of(d));
    if (act && strcmp(writer_of(d), mo_version()) != 0)
        log_info("deployment %lld was last written by mender-orchestrator %s; %s continues it", d->id, writer_of(d),
                 mo_version());
    _cleanup_(program_free) struct program p = { 0 };
    program_build(d, &p);
    int cursor = d->cursor;
    enum locate where = program_locate(&p, d, &cursor);
    _cleanup_free_ char *what = describe(&d->pos);
    switch (where) {
    case LOCATE_SAME: d->cursor = cursor; return 0;
    case LOCATE_MOVED:
        if (act)
            log_info("deployment %lld: written by mender-orchestrator %s at %s; %s goes on from its step %d", d->id,
                     writer_of(d), what, mo_version(), cursor);
        d->cursor = cursor;
        d->seq++; /* the calls recorded were of another step */
        return 0;
    case LOCATE_UNKNOWN_STEP: return unknown_step(d, act, cursor, what, err);
    case LOCATE_UNKNOWN_SECTION: return unknown_section(d, act, what, err);
    }
    return 0;
}

#include "engine/program.h"

#include <assert.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "iface/query.h"
#include "util/mem.h"
#include "util/testhook.h"

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
    [ST_CHECKPOINT] = "Checkpoint",
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

/* ---- the programs ---------------------------------------------------------------------- */

/* A program version: the template of each section. */
struct program_tables {
    int version;
    struct {
        const struct step_def *steps;
        size_t n;
    } sec[SEC_COUNT_];
};

#define ONE(def)  \
    {             \
        &(def), 1 \
    }
#define ALL(arr)            \
    {                       \
        (arr), N_ELEMS(arr) \
    }

static const struct program_tables program_1 = {
    .version = 1,
    .sec = {
        [SEC_INSTALL] = ALL(forward_group),
        [SEC_STOP_COMMIT] = ONE(stop_commit),
        [SEC_COMMIT] = ONE(commit),
        [SEC_STOP_ROLLBACK] = ONE(stop_rollback),
        [SEC_ROLLBACK] = ALL(rollback_group),
        [SEC_ROLLBACK_CHECK] = ONE(rollback_check),
        [SEC_STOP_CLEANUP] = ONE(stop_cleanup),
        [SEC_CLEANUP] = ONE(cleanup),
    },
};

#ifdef MO_TEST_HOOKS
/* Program 2, what a next release could change (util/testhook.h): the first two queries
 * swapped, and a step of its own after SupportsRollback and after ArtifactRollback. Made
 * from program 1's tables at first use. */
static struct step_def forward_group_2[N_ELEMS(forward_group) + 1];
static struct step_def rollback_group_2[N_ELEMS(rollback_group) + 1];
static struct program_tables program_2;

/* Copies n steps of from to *to, inserting note after the step calling state after. */
static void copy_with_note(struct step_def *to, const struct step_def *from, size_t n, enum state_id after,
                           enum on_failure failure)
{
    for (size_t i = 0; i < n; i++) {
        *to++ = from[i];
        if (from[i].state == after)
            *to++ = (struct step_def){ .state = ST_CHECKPOINT,
                                       .kind = SK_NOTE,
                                       .applies = all,
                                       .interrupted = INT_RERUN,
                                       .failure = failure };
    }
}

static const struct program_tables *program_2_tables(void)
{
    if (program_2.version)
        return &program_2;
    copy_with_note(forward_group_2, forward_group, N_ELEMS(forward_group), ST_SUPPORTS_ROLLBACK, FAIL_ROLLBACK);
    struct step_def q = forward_group_2[1];
    forward_group_2[1] = forward_group_2[2];
    forward_group_2[2] = q;
    copy_with_note(rollback_group_2, rollback_group, N_ELEMS(rollback_group), ST_ARTIFACT_ROLLBACK, FAIL_INCOMPLETE);
    program_2 = program_1;
    program_2.version = 2;
    program_2.sec[SEC_INSTALL].steps = forward_group_2;
    program_2.sec[SEC_INSTALL].n = N_ELEMS(forward_group_2);
    program_2.sec[SEC_ROLLBACK].steps = rollback_group_2;
    program_2.sec[SEC_ROLLBACK].n = N_ELEMS(rollback_group_2);
    return &program_2;
}
#endif

static const struct program_tables *tables_of(int version)
{
#ifdef MO_TEST_HOOKS
    if (version == 2)
        return program_2_tables();
#endif
    return version == 1 ? &program_1 : NULL;
}

int program_version(void) { return testhook_next_release() ? 2 : 1; }

static const char *const section_names[SEC_COUNT_] = {
    [SEC_INSTALL] = "install",
    [SEC_STOP_COMMIT] = "stop-commit",
    [SEC_COMMIT] = "commit",
    [SEC_STOP_ROLLBACK] = "stop-rollback",
    [SEC_ROLLBACK] = "rollback",
    [SEC_ROLLBACK_CHECK] = "rollback-check",
    [SEC_STOP_CLEANUP] = "stop-cleanup",
    [SEC_CLEANUP] = "cleanup",
};

const char *section_name(enum section s)
{
    assert((unsigned)s < SEC_COUNT_);
    return section_names[s];
}

/* The end of the program, as a position. */
#define END_SECTION "end"
#define END_STEP "end:End"

static void push(struct program *p, const struct step_def *def, int group, enum section sec, unsigned index)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 32;
        p->steps = xrealloc(p->steps, p->cap * sizeof(*p->steps));
    }
    p->steps[p->n++] = (struct step){ .def = def, .group = group, .section = sec, .index = index };
}

static void push_section(struct program *p, enum section sec, int group)
{
    for (size_t i = 0; i < p->tables->sec[sec].n; i++)
        push(p, &p->tables->sec[sec].steps[i], group, sec, (unsigned)i);
}

static void build(const struct deployment *d, const struct program_tables *t, struct program *p)
{
    memset(p, 0, sizeof(*p));
    p->tables = t;
    p->groups = deployment_groups(d, &p->ngroups);
    int ng = (int)p->ngroups;
    if (d->direction == DIR_FORWARD) {
        for (int g = 0; g < ng; g++)
            push_section(p, SEC_INSTALL, g);
        push_section(p, SEC_STOP_COMMIT, -1);
        for (int g = 0; g < ng; g++)
            push_section(p, SEC_COMMIT, g);
    } else if (d->rollback_top >= 0) {
        /* Only when some ArtifactInstall started; else straight to Cleanup (docs/state-machine.md). */
        push_section(p, SEC_STOP_ROLLBACK, -1);
        for (int g = d->rollback_top; g >= 0; g--)
            push_section(p, SEC_ROLLBACK, g);
        push_section(p, SEC_ROLLBACK_CHECK, -1);
    }
    push_section(p, SEC_STOP_CLEANUP, -1);
    for (int g = 0; g < ng; g++)
        push_section(p, SEC_CLEANUP, g);
}

void program_build(const struct deployment *d, struct program *p)
{
    assert(d && p);
    build(d, tables_of(program_version()), p);
}

int program_build_version(const struct deployment *d, int version, struct program *p)
{
    assert(d && p);
    const struct program_tables *t = tables_of(version);
    if (!t)
        return -1;
    build(d, t, p);
    return 0;
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

static int first_of_section(const struct program *p, enum section sec)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->steps[i].section == sec)
            return (int)i;
    return -1;
}

int program_cleanup_start(const struct program *p)
{
    assert(p);
    return first_of_section(p, SEC_STOP_CLEANUP);
}

int program_rollback_check(const struct program *p)
{
    assert(p);
    return first_of_section(p, SEC_ROLLBACK_CHECK);
}

/* ---- positions (docs/compatibility.md) --------------------------------------------------- */

static const char *const kind_names[] = {
    [SK_WORKDIR] = "workdir",
    [SK_QUERY] = "query",
    [SK_DOWNLOAD] = "download",
    [SK_STATE] = "state",
    [SK_SYSTEM_REBOOT] = "reboot",
    [SK_RB_RETRY] = "retry",
    [SK_RB_CHECK] = "check",
    [SK_STOP] = "stop",
    [SK_NOTE] = "note",
};

/* A step as positions name it: "<kind>:<State>", e.g. "query:SupportsRollback". */
static char *identity(const struct step_def *def) { return xasprintf("%s:%s", kind_names[def->kind], step_name(def)); }

static enum locate locate_position(const struct program *p, const struct dep_position *pos, int *cursor);

void program_record_position(const struct program *p, struct deployment *d)
{
    assert(p && d);
    struct dep_position *pos = &d->pos;
    bool end = d->cursor < 0 || (size_t)d->cursor >= p->n;
    const struct step *st = end ? NULL : &p->steps[d->cursor];
    const char *sec = end ? END_SECTION : section_names[st->section];
    bool has_group = st && st->group >= 0;
    int group = has_group ? p->groups[st->group] : 0;
    size_t index = st ? st->index : 0;
    if (d->program == p->tables->version && pos->section && strcmp(pos->section, sec) == 0 &&
        pos->has_group == has_group && pos->group == group && pos->index == index)
        return; /* as recorded: the common case, a save within one step */
    dep_position_free(pos);
    pos->section = xstrdup(sec);
    pos->has_group = has_group;
    pos->group = group;
    pos->index = index;
    if (end) {
        strv_push(&pos->steps, END_STEP);
    } else {
        for (size_t i = 0; i < p->tables->sec[st->section].n; i++)
            strv_push_owned(&pos->steps, identity(&p->tables->sec[st->section].steps[i]));
    }
    d->program = p->tables->version;
    d->cursor_1 = d->cursor;
    if (p->tables->version != 1) { /* where 0.1.0 would go on: the same rule as locating it */
        struct program p1;
        build(d, &program_1, &p1);
        int c1 = (int)p1.n;
        if (locate_position(&p1, pos, &c1) != LOCATE_UNKNOWN_SECTION)
            d->cursor_1 = c1;
        program_free(&p1);
    }
}

/* The index of s in l, or -1. */
static long index_in(const struct strv *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], s) == 0)
            return (long)i;
    return -1;
}

/* The steps [*lo, *hi) of p in section sec and group (an order value) of pos; false if p has none. */
static bool section_range(const struct program *p, const struct dep_position *pos, size_t *lo, size_t *hi)
{
    size_t i = 0;
    for (; i < p->n; i++) {
        const struct step *st = &p->steps[i];
        if (strcmp(section_names[st->section], pos->section) == 0 && (st->group >= 0) == pos->has_group &&
            (!pos->has_group || p->groups[st->group] == pos->group))
            break;
    }
    if (i == p->n)
        return false;
    *lo = i;
    while (i < p->n && p->steps[i].section == p->steps[*lo].section && p->steps[i].group == p->steps[*lo].group)
        i++;
    *hi = i;
    return true;
}

static enum locate locate_position(const struct program *p, const struct dep_position *pos, int *cursor)
{
    if (strcmp(pos->section, END_SECTION) == 0) {
        *cursor = (int)p->n;
        return LOCATE_SAME;
    }
    size_t lo, hi;
    if (!section_range(p, pos, &lo, &hi))
        return LOCATE_UNKNOWN_SECTION;
    const char *current = pos->steps.v[pos->index];
    bool known = false;
    size_t at = hi;
    for (size_t k = lo; k < hi; k++) {
        _cleanup_free_ char *id = identity(p->steps[k].def);
        long w = index_in(&pos->steps, id);
        known |= strcmp(id, current) == 0;
        if (at == hi && w >= (long)pos->index) /* the writer knew it and had not done it */
            at = k;
    }
    *cursor = (int)at;
    if (!known)
        return LOCATE_UNKNOWN_STEP;
    _cleanup_free_ char *id = at < hi ? identity(p->steps[at].def) : NULL;
    return id && strcmp(id, current) == 0 ? LOCATE_SAME : LOCATE_MOVED;
}

enum locate program_locate(const struct program *p, const struct deployment *d, int *cursor)
{
    assert(p && d && cursor);
    if (d->pos.section)
        return locate_position(p, &d->pos, cursor);
    /* 0.1.0's record: an index into program 1 */
    struct program p1;
    if (program_build_version(d, 1, &p1) != 0)
        return LOCATE_UNKNOWN_SECTION;
    struct deployment where = { .cursor = d->cursor };
    program_record_position(&p1, &where);
    enum locate r = locate_position(p, &where.pos, cursor);
    dep_position_free(&where.pos);
    program_free(&p1);
    return r;
}

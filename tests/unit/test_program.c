/* The engine's programs (src/engine/program.c): the steps of the forward and the rollback
 * path for one to three groups, with and without reboots, with stop points, and after a
 * failure. Each case walks the program as a run in which every call succeeds (but the one
 * a case makes fail) and writes one line per step that calls a member or stops, so that a
 * failing case prints the whole sequence next to the one expected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deploy/deployment.h"
#include "engine/engine.h"
#include "engine/program.h"
#include "iface/query.h"
#include "util/mem.h"
#include "util/strv.h"

/* ---- a deployment from scripted members ----------------------------------------------- */

/* A member: its group, and its answers to the queries that decide later steps. An answer
 * left 0 is No. */
struct script {
    const char *id;
    int order;
    bool skipped;          /* not selected: in no group */
    enum answer reboot;    /* NeedsArtifactReboot after ArtifactInstall */
    enum answer rb_reboot; /* NeedsArtifactReboot after ArtifactRollback */
    bool no_rollback;      /* SupportsRollback No */
};

static void make_deployment(struct deployment *d, const struct script *s, size_t n)
{
    memset(d, 0, sizeof(*d));
    d->members = xcalloc(n, sizeof(*d->members));
    d->nmembers = n;
    d->direction = DIR_FORWARD;
    d->rollback_top = -1;
    d->seq = 1;
    for (size_t i = 0; i < n; i++) {
        struct member *m = &d->members[i];
        member_init(m);
        m->component_type = xstrdup("t");
        m->id = xstrdup(s[i].id);
        m->order = s[i].order;
        m->selected = !s[i].skipped;
    }
}

/* ---- walking a program --------------------------------------------------------------- */

/* What a case does besides succeeding: stop points requested, and the call that fails. */
struct run {
    unsigned stops;     /* a set of enum stop_point */
    enum state_id fail; /* with fail_order: the call on the forward path that fails (ST_COUNT_: none) */
    int fail_order;
    const char *rb_fail_id; /* with rb_fail: the member whose call on the rollback path fails (NULL: none) */
    enum state_id rb_fail;
};

/* The answer a member gives to the query of def. */
static int scripted_answer(const struct step_def *def, const struct script *s)
{
    if (def->answer_offset == offsetof(struct member, needs_reboot))
        return (int)s->reboot;
    if (def->answer_offset == offsetof(struct member, rollback_reboot))
        return (int)s->rb_reboot;
    if (def->answer_offset == offsetof(struct member, supports_rollback))
        return s->no_rollback ? ANSWER_NO : ANSWER_YES;
    return def->dflt;
}

/* What a call does to its member that the next steps' choice of members depends on (as
 * engine.c's run_member records it): before the call, then after it when it succeeded. */
static void called(struct member *m, const struct step_def *def, const struct script *s, bool ok)
{
    if (def->kind != SK_WORKDIR)
        m->touched = true;
    if (def->state == ST_ARTIFACT_INSTALL)
        m->install_started = true;
    if (def->state == ST_ARTIFACT_VERIFY_ROLLBACK_REBOOT)
        m->rb_attempts++;
    if (!ok) { /* as engine.c's judge records a rollback step that did not complete */
        if (def->failure == FAIL_INCOMPLETE && !m->rb_failed_step) {
            m->rb_failed_step = xstrdup(step_name(def));
            m->rb_failed_error = xasprintf("%s: failed", step_name(def));
        }
        return;
    }
    if (def->kind == SK_QUERY)
        *(int *)((char *)m + def->answer_offset) = scripted_answer(def, s);
    if (def->state == ST_ARTIFACT_ROLLBACK)
        m->rollback_ok = true;
    if (def->state == ST_ARTIFACT_VERIFY_ROLLBACK_REBOOT)
        m->rb_verified = true;
    if (def->state == ST_ARTIFACT_FAILURE)
        m->failure_ok = true;
}

/* One line for step st of p, or "" when the step calls no one and is no requested stop:
 * "g1 ArtifactInstall", "reboot g2", "stop Cleanup", "g1 work dir" (the work dir made
 * before Download), "park" (the rollback check found a rollback step not completed), with
 * the members in brackets when the step calls only some of its group's. Calls the members
 * (called()); *failed when the run's failing call was one. */
static void step_line(struct deployment *d, const struct program *p, const struct step *st, const struct run *run,
                      const struct script *s, char *line, size_t len, bool *failed)
{
    const struct step_def *def = st->def;
    line[0] = '\0';
    *failed = false;
    if (def->kind == SK_STOP) {
        if (run->stops & def->stop)
            snprintf(line, len, "stop %s", step_name(def));
        return;
    }
    if (def->kind == SK_RB_CHECK) {
        if (deployment_rollback_incomplete(d)) {
            d->rollback_failed = true; /* as engine.c's rollback_check */
            snprintf(line, len, "park");
        }
        return;
    }
    int order = p->groups[st->group];
    char who[256] = "";
    size_t ncalled = 0, ngroup = 0;
    for (size_t i = 0; i < d->nmembers; i++) {
        struct member *m = &d->members[i];
        if (program_group_of(p, m) != st->group)
            continue;
        ngroup++;
        if (!def->applies(m))
            continue;
        size_t used = strlen(who);
        snprintf(who + used, sizeof(who) - used, "%s%s", ncalled ? " " : "", m->id);
        ncalled++;
        /* on the forward path; Download's work dir is no call: the call after it fails */
        bool fails = d->direction == DIR_FORWARD && def->state == run->fail && order == run->fail_order &&
                     def->kind != SK_WORKDIR;
        fails |= d->direction == DIR_ROLLBACK && run->rb_fail_id && strcmp(m->id, run->rb_fail_id) == 0 &&
                 def->state == run->rb_fail;
        called(m, def, &s[i], !fails);
        *failed |= fails;
    }
    if (ncalled == 0)
        return;
    if (def->kind == SK_SYSTEM_REBOOT)
        snprintf(line, len, "reboot g%d", order);
    else
        snprintf(line, len, "g%d %s", order, def->kind == SK_WORKDIR ? "work dir" : step_name(def));
    if (ncalled < ngroup) {
        size_t used = strlen(line);
        snprintf(line + used, len - used, " [%s]", who);
    }
    if (*failed) {
        size_t used = strlen(line);
        snprintf(line + used, len - used, " fails");
    }
}

/* The lines of a run of d from its position to its end, or to a park; a failure on the
 * forward path turns d to the rollback path ("-> rollback") as the engine does. */
static void walk(struct deployment *d, const struct script *s, const struct run *run, struct strv *out)
{
    struct program p;
    program_build(d, &p);
    for (; (size_t)d->cursor < p.n; d->cursor++) {
        char line[512];
        bool failed;
        step_line(d, &p, &p.steps[d->cursor], run, s, line, sizeof(line), &failed);
        if (line[0])
            strv_push(out, line);
        if (strcmp(line, "park") == 0)
            break;
        if (failed && d->direction == DIR_FORWARD && p.steps[d->cursor].def->failure == FAIL_ROLLBACK) {
            assert_int_equal(engine_begin_rollback(d, "test", NULL), 0);
            strv_push(out, "-> rollback");
            program_free(&p);
            program_build(d, &p);
            d->cursor = -1;
        }
    }
    program_free(&p);
}

/* ---- comparing sequences -------------------------------------------------------------- */

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* Fails, printing both sequences side by side, unless got is want. */
static void assert_lines(const struct strv *got, const char *const *want, size_t nwant)
{
    bool same = got->n == nwant;
    for (size_t i = 0; same && i < nwant; i++)
        same = strcmp(got->v[i], want[i]) == 0;
    if (same)
        return;
    print_error("%-4s %-40s %s\n", "", "expected", "got");
    for (size_t i = 0; i < nwant || i < got->n; i++) {
        const char *w = i < nwant ? want[i] : "";
        const char *g = i < got->n ? got->v[i] : "";
        print_error("%-4s %-40s %s\n", strcmp(w, g) == 0 ? "" : "!=", w, g);
    }
    fail_msg("the sequence differs (%zu lines expected, %zu got)", nwant, got->n);
}

static void check(const struct script *s, size_t ns, const struct run *run, const char *const *want, size_t nwant)
{
    struct deployment d;
    make_deployment(&d, s, ns);
    struct strv got = { 0 };
    walk(&d, s, run, &got);
    assert_lines(&got, want, nwant);
    strv_free(&got);
    deployment_free(&d);
}

#define CHECK(scripts, run, want) check(scripts, N_ELEMS(scripts), run, want, N_ELEMS(want))

static const struct run plain = { .fail = ST_COUNT_ };
static const struct run all_stops = { .stops = STOP_ARTIFACT_COMMIT | STOP_ARTIFACT_ROLLBACK | STOP_CLEANUP,
                                      .fail = ST_COUNT_ };

/* A group's install phase up to its NeedsArtifactReboot answer. */
#define INSTALL(g)                                                                                                 \
    g " work dir", g " NeedsUnpackedArtifact", g " ProvidePayloadFileSizes", g " Download", g " SupportsRollback", \
        g " ArtifactInstall", g " NeedsArtifactReboot"
/* A group's rollback, no reboot asked for. */
#define ROLLBACK(g) g " ArtifactRollback", g " NeedsArtifactReboot", g " ArtifactFailure"

/* ---- forward path --------------------------------------------------------------------- */

static void forward_one_group(void **state)
{
    (void)state;
    static const struct script s[] = { { .id = "a", .order = 1 } };
    static const char *const want[] = {
        "g1 work dir",         "g1 NeedsUnpackedArtifact", "g1 ProvidePayloadFileSizes", "g1 Download",
        "g1 SupportsRollback", "g1 ArtifactInstall",       "g1 NeedsArtifactReboot",     "g1 ArtifactCommit",
        "g1 Cleanup",
    };
    CHECK(s, &plain, want);
}

static void forward_one_group_reboot_yes(void **state)
{
    (void)state;
    static const struct script s[] = { { .id = "a", .order = 1, .reboot = ANSWER_YES } };
    static const char *const want[] = {
        INSTALL("g1"), "g1 ArtifactReboot", "g1 ArtifactVerifyReboot", "g1 ArtifactCommit", "g1 Cleanup",
    };
    CHECK(s, &plain, want);
}

static void forward_one_group_reboot_automatic(void **state)
{
    (void)state;
    static const struct script s[] = { { .id = "a", .order = 1, .reboot = ANSWER_AUTOMATIC } };
    static const char *const want[] = {
        INSTALL("g1"), "reboot g1", "g1 ArtifactVerifyReboot", "g1 ArtifactCommit", "g1 Cleanup",
    };
    CHECK(s, &plain, want);
}

static void forward_one_group_stops(void **state)
{
    (void)state;
    static const struct script s[] = { { .id = "a", .order = 1 } };
    static const char *const want[] = {
        INSTALL("g1"), "stop ArtifactCommit", "g1 ArtifactCommit", "stop Cleanup", "g1 Cleanup",
    };
    CHECK(s, &all_stops, want);
}

static void forward_two_groups(void **state)
{
    (void)state;
    /* in Topology order, not group order: the groups go by order */
    static const struct script s[] = { { .id = "b", .order = 2 }, { .id = "a", .order = 1 } };
    static const char *const want[] = {
        INSTALL("g1"), INSTALL("g2"), "g1 ArtifactCommit", "g2 ArtifactCommit", "g1 Cleanup", "g2 Cleanup",
    };
    CHECK(s, &plain, want);
}

static void forward_two_groups_reboots_stops(void **state)
{
    (void)state;
    static const struct script s[] = {
        { .id = "a", .order = 1, .reboot = ANSWER_YES },
        { .id = "b", .order = 2, .reboot = ANSWER_AUTOMATIC },
    };
    static const char *const want[] = {
        INSTALL("g1"),         "g1 ArtifactReboot", "g1 ArtifactVerifyReboot",
        INSTALL("g2"),         "reboot g2",         "g2 ArtifactVerifyReboot",
        "stop ArtifactCommit", "g1 ArtifactCommit", "g2 ArtifactCommit",
        "stop Cleanup",        "g1 Cleanup",        "g2 Cleanup",
    };
    CHECK(s, &all_stops, want);
}

static void forward_three_groups(void **state)
{
    (void)state;
    static const struct script s[] = { { .id = "a", .order = 1 },
                                       { .id = "b", .order = 2 },
                                       { .id = "c", .order = 3 } };
    static const char *const want[] = {
        INSTALL("g1"),       INSTALL("g2"), INSTALL("g3"), "g1 ArtifactCommit", "g2 ArtifactCommit",
        "g3 ArtifactCommit", "g1 Cleanup",  "g2 Cleanup",  "g3 Cleanup",
    };
    CHECK(s, &plain, want);
}

/* Two members in a group, one rebooting each way, one not: the reboot steps call only
 * those that asked; one System-device reboot for the group. */
static void forward_three_groups_mixed_reboots(void **state)
{
    (void)state;
    static const struct script s[] = {
        { .id = "a1", .order = 10, .reboot = ANSWER_YES },
        { .id = "a2", .order = 10 },
        { .id = "b1", .order = 20, .reboot = ANSWER_AUTOMATIC },
        { .id = "b2", .order = 20, .reboot = ANSWER_YES },
        { .id = "c1", .order = 30 },
        { .id = "c2", .order = 30, .reboot = ANSWER_AUTOMATIC },
    };
    static const char *const want[] = {
        INSTALL("g10"),
        "g10 ArtifactReboot [a1]",
        "g10 ArtifactVerifyReboot [a1]",
        INSTALL("g20"),
        "g20 ArtifactReboot [b2]",
        "reboot g20 [b1]",
        "g20 ArtifactVerifyReboot",
        INSTALL("g30"),
        "reboot g30 [c2]",
        "g30 ArtifactVerifyReboot [c2]",
        "stop ArtifactCommit",
        "g10 ArtifactCommit",
        "g20 ArtifactCommit",
        "g30 ArtifactCommit",
        "stop Cleanup",
        "g10 Cleanup",
        "g20 Cleanup",
        "g30 Cleanup",
    };
    CHECK(s, &all_stops, want);
}

/* A member not selected (already installed) is in no group, and a group of only such
 * members is no group at all. */
static void forward_skipped_members(void **state)
{
    (void)state;
    static const struct script s[] = {
        { .id = "a", .order = 1 },
        { .id = "x", .order = 1, .skipped = true },
        { .id = "y", .order = 2, .skipped = true },
        { .id = "c", .order = 3 },
    };
    static const char *const want[] = {
        INSTALL("g1"), INSTALL("g3"), "g1 ArtifactCommit", "g3 ArtifactCommit", "g1 Cleanup", "g3 Cleanup",
    };
    CHECK(s, &plain, want);
}

/* ---- rollback path -------------------------------------------------------------------- */

/* A failure in the first group's Download: nothing was installed, nothing to roll back;
 * Cleanup for the members called. */
static void rollback_one_group_download_fails(void **state)
{
    (void)state;
    static const struct script s[] = { { .id = "a", .order = 1 } };
    static const struct run run = { .stops = STOP_ARTIFACT_ROLLBACK | STOP_CLEANUP,
                                    .fail = ST_DOWNLOAD,
                                    .fail_order = 1 };
    static const char *const want[] = {
        "g1 work dir",
        "g1 NeedsUnpackedArtifact",
        "g1 ProvidePayloadFileSizes",
        "g1 Download fails",
        "-> rollback",
        "stop Cleanup",
        "g1 Cleanup",
    };
    CHECK(s, &run, want);
}

static void rollback_one_group(void **state)
{
    (void)state;
    static const struct script s[] = { { .id = "a", .order = 1 } };
    static const struct run run = { .fail = ST_ARTIFACT_INSTALL, .fail_order = 1 };
    static const char *const want[] = {
        "g1 work dir",
        "g1 NeedsUnpackedArtifact",
        "g1 ProvidePayloadFileSizes",
        "g1 Download",
        "g1 SupportsRollback",
        "g1 ArtifactInstall fails",
        "-> rollback",
        "g1 ArtifactRollback",
        "g1 NeedsArtifactReboot",
        "g1 ArtifactFailure",
        "g1 Cleanup",
    };
    CHECK(s, &run, want);
}

static void rollback_one_group_reboots(void **state)
{
    (void)state;
    static const struct script s[] = { { .id = "a", .order = 1, .reboot = ANSWER_YES, .rb_reboot = ANSWER_YES } };
    static const struct run run = { .stops = STOP_ARTIFACT_ROLLBACK,
                                    .fail = ST_ARTIFACT_VERIFY_REBOOT,
                                    .fail_order = 1 };
    static const char *const want[] = {
        INSTALL("g1"),
        "g1 ArtifactReboot",
        "g1 ArtifactVerifyReboot fails",
        "-> rollback",
        "stop ArtifactRollback",
        "g1 ArtifactRollback",
        "g1 NeedsArtifactReboot",
        "g1 ArtifactRollbackReboot",
        "g1 ArtifactVerifyRollbackReboot",
        "g1 ArtifactFailure",
        "g1 Cleanup",
    };
    CHECK(s, &run, want);
}

/* The second group fails: both are rolled back, the higher first; the third group never
 * started and is not called. */
static void rollback_three_groups_second_fails(void **state)
{
    (void)state;
    static const struct script s[] = { { .id = "a", .order = 1 },
                                       { .id = "b", .order = 2 },
                                       { .id = "c", .order = 3 } };
    static const struct run run = { .stops = STOP_ARTIFACT_ROLLBACK | STOP_CLEANUP,
                                    .fail = ST_NEEDS_ARTIFACT_REBOOT,
                                    .fail_order = 2 };
    static const char *const want[] = {
        INSTALL("g1"),
        "g2 work dir",
        "g2 NeedsUnpackedArtifact",
        "g2 ProvidePayloadFileSizes",
        "g2 Download",
        "g2 SupportsRollback",
        "g2 ArtifactInstall",
        "g2 NeedsArtifactReboot fails",
        "-> rollback",
        "stop ArtifactRollback",
        ROLLBACK("g2"),
        ROLLBACK("g1"),
        "stop Cleanup",
        "g1 Cleanup",
        "g2 Cleanup",
    };
    CHECK(s, &run, want);
}

/* A failure at ArtifactCommit: every group is rolled back, with the reboots each asks
 * for after its ArtifactRollback. */
static void rollback_three_groups_commit_fails_reboots(void **state)
{
    (void)state;
    static const struct script s[] = {
        { .id = "a", .order = 1, .reboot = ANSWER_AUTOMATIC, .rb_reboot = ANSWER_AUTOMATIC },
        { .id = "b", .order = 2, .rb_reboot = ANSWER_YES },
        { .id = "c", .order = 3, .reboot = ANSWER_YES },
    };
    static const struct run run = { .stops = STOP_ARTIFACT_COMMIT, .fail = ST_ARTIFACT_COMMIT, .fail_order = 2 };
    static const char *const want[] = {
        INSTALL("g1"),
        "reboot g1",
        "g1 ArtifactVerifyReboot",
        INSTALL("g2"),
        INSTALL("g3"),
        "g3 ArtifactReboot",
        "g3 ArtifactVerifyReboot",
        "stop ArtifactCommit",
        "g1 ArtifactCommit",
        "g2 ArtifactCommit fails",
        "-> rollback",
        ROLLBACK("g3"),
        "g2 ArtifactRollback",
        "g2 NeedsArtifactReboot",
        "g2 ArtifactRollbackReboot",
        "g2 ArtifactVerifyRollbackReboot",
        "g2 ArtifactFailure",
        "g1 ArtifactRollback",
        "g1 NeedsArtifactReboot",
        "reboot g1",
        "g1 ArtifactVerifyRollbackReboot",
        "g1 ArtifactFailure",
        "g1 Cleanup",
        "g2 Cleanup",
        "g3 Cleanup",
    };
    CHECK(s, &run, want);
}

/* A member that does not support rollback gets no ArtifactRollback (and no question about a
 * reboot after it), but ArtifactFailure and Cleanup; the deployment is inconsistent. */
static void rollback_two_groups_without_support(void **state)
{
    (void)state;
    static const struct script s[] = {
        { .id = "a1", .order = 1, .no_rollback = true },
        { .id = "a2", .order = 1 },
        { .id = "b", .order = 2 },
    };
    static const struct run run = { .fail = ST_ARTIFACT_INSTALL, .fail_order = 2 };
    static const char *const want[] = {
        INSTALL("g1"),
        "g2 work dir",
        "g2 NeedsUnpackedArtifact",
        "g2 ProvidePayloadFileSizes",
        "g2 Download",
        "g2 SupportsRollback",
        "g2 ArtifactInstall fails",
        "-> rollback",
        ROLLBACK("g2"),
        "g1 ArtifactRollback [a2]",
        "g1 NeedsArtifactReboot [a2]",
        "g1 ArtifactFailure",
        "g1 Cleanup",
        "g2 Cleanup",
    };
    struct deployment d;
    make_deployment(&d, s, N_ELEMS(s));
    struct strv got = { 0 };
    walk(&d, s, &run, &got);
    assert_lines(&got, want, N_ELEMS(want));
    assert_true(d.inconsistent);
    strv_free(&got);
    deployment_free(&d);
}

/* A rollback step that fails keeps the deployment open after the rollback pass (no
 * Cleanup); the retry pass calls only the steps that did not complete; giving up runs the
 * cleanups. */
static void rollback_fails_then_retry_or_give_up(void **state)
{
    (void)state;
    static const struct script s[] = {
        { .id = "a", .order = 1 },
        { .id = "b", .order = 1 },
        { .id = "c", .order = 2, .reboot = ANSWER_YES, .rb_reboot = ANSWER_YES },
    };
    static const struct run rb_fails = { .fail = ST_ARTIFACT_COMMIT,
                                         .fail_order = 2,
                                         .rb_fail_id = "a",
                                         .rb_fail = ST_ARTIFACT_ROLLBACK };
    static const char *const want[] = {
        INSTALL("g1"),
        INSTALL("g2"),
        "g2 ArtifactReboot",
        "g2 ArtifactVerifyReboot",
        "g1 ArtifactCommit",
        "g2 ArtifactCommit fails",
        "-> rollback",
        "g2 ArtifactRollback",
        "g2 NeedsArtifactReboot",
        "g2 ArtifactRollbackReboot",
        "g2 ArtifactVerifyRollbackReboot",
        "g2 ArtifactFailure",
        "g1 ArtifactRollback fails",
        "g1 NeedsArtifactReboot [b]",
        "g1 ArtifactFailure",
        "park",
    };
    static const char *const retry[] = {
        "g1 ArtifactRollback [a]",
        "g1 NeedsArtifactReboot [a]",
        "g1 Cleanup",
        "g2 Cleanup",
    };
    for (int give_up = 0; give_up < 2; give_up++) {
        struct deployment d;
        make_deployment(&d, s, N_ELEMS(s));
        struct strv got = { 0 };
        walk(&d, s, &rb_fails, &got);
        assert_lines(&got, want, N_ELEMS(want));
        assert_true(d.rollback_failed);
        assert_string_equal(d.members[0].rb_failed_step, "ArtifactRollback");
        assert_true(deployment_may_be_inconsistent(&d));
        assert_false(d.inconsistent);
        assert_string_equal(engine_phase_name(&d), "rollback-failed");
        strv_free(&got);
        if (give_up) {
            assert_int_equal(engine_give_up(&d, NULL), 0);
            walk(&d, s, &plain, &got);
            assert_lines(&got, retry + 2, 2);
            assert_true(d.inconsistent);
            assert_string_equal(d.members[0].rb_failed_step, "ArtifactRollback"); /* kept for the record */
        } else {
            assert_true(engine_retry_rollback(&d, false));
            assert_int_equal(d.rollback_retries, 1);
            assert_false(engine_retry_rollback(&d, true)); /* not parked any more */
            walk(&d, s, &plain, &got);
            assert_lines(&got, retry, N_ELEMS(retry));
            assert_false(deployment_may_be_inconsistent(&d));
        }
        assert_false(d.rollback_failed);
        struct error *err = NULL;
        assert_int_equal(engine_give_up(&d, &err), -1); /* nothing to give up */
        error_free(err);
        strv_free(&got);
        deployment_free(&d);
    }
}

/* ArtifactFailure that fails is called again by the retry pass, for that member only. */
static void rollback_failure_step_retried(void **state)
{
    (void)state;
    static const struct script s[] = { { .id = "a", .order = 1 }, { .id = "b", .order = 1 } };
    static const struct run rb_fails = { .fail = ST_ARTIFACT_INSTALL,
                                         .fail_order = 1,
                                         .rb_fail_id = "b",
                                         .rb_fail = ST_ARTIFACT_FAILURE };
    static const char *const want[] = { "g1 work dir", "g1 NeedsUnpackedArtifact", "g1 ProvidePayloadFileSizes",
                                        "g1 Download", "g1 SupportsRollback",      "g1 ArtifactInstall fails",
                                        "-> rollback", ROLLBACK("g1") " fails",    "park" };
    static const char *const retry[] = { "g1 ArtifactFailure [b]", "g1 Cleanup" };
    struct deployment d;
    make_deployment(&d, s, N_ELEMS(s));
    struct strv got = { 0 };
    walk(&d, s, &rb_fails, &got);
    assert_lines(&got, want, N_ELEMS(want));
    strv_free(&got);
    assert_true(engine_retry_rollback(&d, true));
    assert_int_equal(d.rollback_retries, 0);
    walk(&d, s, &plain, &got);
    assert_lines(&got, retry, N_ELEMS(retry));
    strv_free(&got);
    deployment_free(&d);
}

/* ---- the program's queries ------------------------------------------------------------ */

static void find_and_cleanup_start(void **state)
{
    (void)state;
    static const struct script s[] = { { .id = "a", .order = 1 }, { .id = "b", .order = 2 } };
    struct deployment d;
    make_deployment(&d, s, N_ELEMS(s));
    struct program p;
    program_build(&d, &p);
    assert_int_equal(p.ngroups, 2);
    assert_int_equal(p.n, 2 * 10 + 1 + 2 + 1 + 2);
    int cleanup = program_cleanup_start(&p);
    assert_int_equal(cleanup, 2 * 10 + 1 + 2);
    assert_int_equal(p.steps[cleanup].def->kind, SK_STOP);
    assert_int_equal(p.steps[cleanup].def->stop, STOP_CLEANUP);
    /* Download is two steps of a group: the work dir, then the call */
    int wd = program_find(&p, 0, ST_DOWNLOAD, 1);
    assert_int_equal(wd, 10);
    assert_int_equal(p.steps[wd].def->kind, SK_WORKDIR);
    int dl = program_find(&p, wd + 1, ST_DOWNLOAD, 1);
    assert_int_equal(dl, 13);
    assert_int_equal(p.steps[dl].def->kind, SK_DOWNLOAD);
    assert_int_equal(program_find(&p, dl + 1, ST_DOWNLOAD, 1), -1);
    assert_int_equal(program_find(&p, 0, ST_ARTIFACT_ROLLBACK, 0), -1);
    assert_int_equal(program_find(&p, 0, ST_ARTIFACT_COMMIT, -1), 20);
    assert_int_equal(program_rollback_check(&p), -1);
    assert_int_equal(program_group_of(&p, &d.members[1]), 1);
    program_free(&p);

    /* the rollback path from the second group down; its stop before Cleanup */
    d.direction = DIR_ROLLBACK;
    d.rollback_top = 1;
    program_build(&d, &p);
    assert_int_equal(p.n, 1 + 2 * 7 + 1 + 1 + 2);
    assert_int_equal(program_rollback_check(&p), 1 + 2 * 7);
    assert_int_equal(program_cleanup_start(&p), 1 + 2 * 7 + 1);
    assert_int_equal(program_find(&p, 0, ST_ARTIFACT_ROLLBACK_REBOOT, 0), 1 + 7 + 2);
    program_free(&p);

    /* nothing installed: straight to Cleanup */
    d.rollback_top = -1;
    program_build(&d, &p);
    assert_int_equal(p.n, 1 + 2);
    assert_int_equal(program_cleanup_start(&p), 0);
    program_free(&p);
    deployment_free(&d);
}

/* Once the success path is past its stop before Cleanup, it cannot turn back. */
static void no_rollback_once_cleaning_up(void **state)
{
    (void)state;
    static const struct script s[] = { { .id = "a", .order = 1 } };
    struct deployment d;
    make_deployment(&d, s, N_ELEMS(s));
    struct program p;
    program_build(&d, &p);
    d.cursor = program_cleanup_start(&p);
    assert_int_equal(engine_begin_rollback(&d, "test", NULL), 0); /* at the stop: not yet */
    assert_int_equal(d.direction, DIR_ROLLBACK);
    assert_int_equal(d.cursor, 0);
    assert_string_equal(d.failure, "test");
    d.direction = DIR_FORWARD;
    d.cursor = program_cleanup_start(&p) + 1;
    struct error *err = NULL;
    assert_int_equal(engine_begin_rollback(&d, "again", &err), -1);
    assert_string_equal(error_message(err), "the deployment already succeeded and is cleaning up; run "
                                            "'mender-orchestrator resume' to finish it");
    assert_int_equal(d.direction, DIR_FORWARD);
    error_free(err);
    program_free(&p);
    deployment_free(&d);
}

static void stop_points_by_name(void **state)
{
    (void)state;
    assert_int_equal(stop_point_from_name("ArtifactCommit"), STOP_ARTIFACT_COMMIT);
    assert_int_equal(stop_point_from_name("ArtifactRollback"), STOP_ARTIFACT_ROLLBACK);
    assert_int_equal(stop_point_from_name("Cleanup"), STOP_CLEANUP);
    assert_int_equal(stop_point_from_name("ArtifactInstall"), 0);
    assert_int_equal(stop_point_from_name("cleanup"), 0);
    assert_int_equal(stop_point_from_name(""), 0);
    for (int st = 0; st < ST_COUNT_; st++)
        assert_non_null(state_name((enum state_id)st));
    assert_string_equal(state_name(ST_ARTIFACT_VERIFY_ROLLBACK_REBOOT), "ArtifactVerifyRollbackReboot");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(forward_one_group),
        cmocka_unit_test(forward_one_group_reboot_yes),
        cmocka_unit_test(forward_one_group_reboot_automatic),
        cmocka_unit_test(forward_one_group_stops),
        cmocka_unit_test(forward_two_groups),
        cmocka_unit_test(forward_two_groups_reboots_stops),
        cmocka_unit_test(forward_three_groups),
        cmocka_unit_test(forward_three_groups_mixed_reboots),
        cmocka_unit_test(forward_skipped_members),
        cmocka_unit_test(rollback_one_group_download_fails),
        cmocka_unit_test(rollback_one_group),
        cmocka_unit_test(rollback_one_group_reboots),
        cmocka_unit_test(rollback_three_groups_second_fails),
        cmocka_unit_test(rollback_three_groups_commit_fails_reboots),
        cmocka_unit_test(rollback_two_groups_without_support),
        cmocka_unit_test(rollback_fails_then_retry_or_give_up),
        cmocka_unit_test(rollback_failure_step_retried),
        cmocka_unit_test(find_and_cleanup_start),
        cmocka_unit_test(no_rollback_once_cleaning_up),
        cmocka_unit_test(stop_points_by_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

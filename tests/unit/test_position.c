/* Positions that survive a change of program (docs/compatibility.md; src/engine/program.c,
 * src/engine/adopt.c): recorded and found again by the same program, read from a record of
 * 0.1.0 (a bare index), mapped from another program (a query moved, a step added), and the
 * documented choices for a step or section this binary does not know. And the record keeps
 * the fields it does not know (src/deploy/deployment.c). */
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
#include "util/error.h"
#include "util/mem.h"
#include "util/strv.h"
#include "util/version.h"

/* Two groups (orders 10 and 20), one member each, on the forward path. */
static void two_groups(struct deployment *d)
{
    memset(d, 0, sizeof(*d));
    d->nmembers = 2;
    d->members = xcalloc(2, sizeof(*d->members));
    for (size_t i = 0; i < 2; i++) {
        member_init(&d->members[i]);
        d->members[i].component_type = xstrdup("t");
        d->members[i].interface = xstrdup("i");
        d->members[i].id = xasprintf("m%zu", i);
        d->members[i].order = i ? 20 : 10;
        d->members[i].selected = true;
        d->members[i].supports_rollback = 1; /* Yes */
        d->members[i].install_started = true;
        d->members[i].touched = true;
    }
    d->id = 7;
    d->seq = 40;
    d->format = DEPLOYMENT_FORMAT;
    d->rollback_top = -1;
}

/* Sets d->pos to the writer's position: section, group, steps (NULL-terminated), index. */
static void writer_at(struct deployment *d, const char *section, int group, size_t index, ...)
{
    dep_position_free(&d->pos);
    d->pos.section = xstrdup(section);
    d->pos.has_group = group >= 0;
    d->pos.group = group;
    d->pos.index = index;
    va_list ap;
    va_start(ap, index);
    for (const char *s; (s = va_arg(ap, const char *));)
        strv_push(&d->pos.steps, s);
    va_end(ap);
    strv_push(&d->versions, "9.9.9");
}

/* The identity ("kind:State") of the step at cursor c of d's program. */
static const char *step_at(const struct deployment *d, int c, char *buf, size_t n)
{
    struct program p;
    program_build(d, &p);
    assert_true(c >= 0 && (size_t)c < p.n);
    snprintf(buf, n, "%s/%d", step_name(p.steps[c].def), p.steps[c].group);
    program_free(&p);
    return buf;
}

/* Every position of both programs, recorded and located again: the same step. */
static void same_program_finds_every_step(void **state)
{
    (void)state;
    for (int dir = 0; dir < 2; dir++) {
        struct deployment d;
        two_groups(&d);
        d.direction = dir ? DIR_ROLLBACK : DIR_FORWARD;
        d.rollback_top = dir ? 1 : -1;
        struct program p;
        program_build(&d, &p);
        for (int c = 0; c <= (int)p.n; c++) {
            d.cursor = c;
            program_record_position(&p, &d);
            int found = -1;
            assert_int_equal(program_locate(&p, &d, &found), LOCATE_SAME);
            assert_int_equal(found, c);
        }
        program_free(&p);
        deployment_free(&d);
    }
}

/* A record of 0.1.0 has a bare index into program 1, which this one is. */
static void a_bare_index_is_read_in_program_1(void **state)
{
    (void)state;
    struct deployment d;
    two_groups(&d);
    struct program p;
    program_build(&d, &p);
    for (int c = 0; c < (int)p.n; c++) {
        d.cursor = c;
        int found = -1;
        assert_int_equal(program_locate(&p, &d, &found), LOCATE_SAME);
        assert_int_equal(found, c);
    }
    program_free(&p);
    deployment_free(&d);
}

#define PROGRAM_2_INSTALL                                                                                    \
    "workdir:Download", "query:ProvidePayloadFileSizes", "query:NeedsUnpackedArtifact", "download:Download", \
        "query:SupportsRollback", "note:Checkpoint", "state:ArtifactInstall", "query:NeedsArtifactReboot",   \
        "state:ArtifactReboot", "reboot:SystemReboot", "state:ArtifactVerifyReboot", NULL

/* The writer asked ProvidePayloadFileSizes first and is at NeedsUnpackedArtifact: this
 * program asks NeedsUnpackedArtifact first, then ProvidePayloadFileSizes again (a query is
 * safe to repeat); nothing is skipped. */
static void a_moved_query_is_asked_again_rather_than_skipped(void **state)
{
    (void)state;
    char buf[64];
    struct deployment d;
    two_groups(&d);
    writer_at(&d, "install", 20, 2, PROGRAM_2_INSTALL);
    struct program p;
    program_build(&d, &p);
    int c = -1;
    assert_int_equal(program_locate(&p, &d, &c), LOCATE_SAME);
    assert_string_equal(step_at(&d, c, buf, sizeof(buf)), "NeedsUnpackedArtifact/1");
    /* at ProvidePayloadFileSizes (nothing asked yet): this program starts with the other */
    writer_at(&d, "install", 10, 1, PROGRAM_2_INSTALL);
    assert_int_equal(program_locate(&p, &d, &c), LOCATE_MOVED);
    assert_string_equal(step_at(&d, c, buf, sizeof(buf)), "NeedsUnpackedArtifact/0");
    program_free(&p);
    deployment_free(&d);
}

/* The writer's own step, not interrupted in a call: this one goes on with the next step it
 * has, and the step count moves on (the calls recorded were of another step). */
static void an_unknown_step_not_in_a_call_goes_on_with_the_next(void **state)
{
    (void)state;
    char buf[64];
    struct deployment d;
    two_groups(&d);
    writer_at(&d, "install", 10, 5, PROGRAM_2_INSTALL);
    _cleanup_error_ struct error *err = NULL;
    assert_int_equal(engine_adopt(&d, true, &err), 0);
    assert_string_equal(step_at(&d, d.cursor, buf, sizeof(buf)), "ArtifactInstall/0");
    assert_int_equal(d.seq, 41);
    assert_int_equal(d.direction, DIR_FORWARD);
    deployment_free(&d);
}

/* Interrupted in a call of a step it does not know, on the success path: the deployment
 * fails (the step may have changed the Component in a way it cannot judge). */
static void an_unknown_step_interrupted_in_a_call_fails_the_deployment(void **state)
{
    (void)state;
    struct deployment d;
    two_groups(&d);
    writer_at(&d, "install", 10, 5, PROGRAM_2_INSTALL);
    d.members[0].call_seq = d.seq;
    _cleanup_error_ struct error *err = NULL;
    assert_int_equal(engine_adopt(&d, true, &err), 0);
    assert_int_equal(d.direction, DIR_ROLLBACK);
    assert_non_null(strstr(d.failure, "note:Checkpoint"));
    assert_non_null(strstr(d.failure, "does not know"));
    deployment_free(&d);
}

/* ... on the rollback path: the rollback pass starts again from its beginning. */
static void an_unknown_rollback_step_interrupted_restarts_the_pass(void **state)
{
    (void)state;
    struct deployment d;
    two_groups(&d);
    d.direction = DIR_ROLLBACK;
    d.rollback_top = 1;
    writer_at(&d, "rollback", 10, 1, "state:ArtifactRollback", "note:Checkpoint", "query:NeedsArtifactReboot",
              "state:ArtifactRollbackReboot", "reboot:SystemReboot", "state:ArtifactVerifyRollbackReboot",
              "retry:RollbackRebootRetry", "state:ArtifactFailure", NULL);
    d.members[0].call_seq = d.seq;
    _cleanup_error_ struct error *err = NULL;
    assert_int_equal(engine_adopt(&d, true, &err), 0);
    assert_int_equal(d.cursor, 0);
    assert_int_equal(d.seq, 41);
    deployment_free(&d);
}

/* A section it does not know: outside the window on the success path (an error naming both
 * versions, d as it was), the rollback pass again on the rollback path. */
static void an_unknown_section(void **state)
{
    (void)state;
    struct deployment d;
    two_groups(&d);
    writer_at(&d, "preflight", 10, 0, "note:Preflight", NULL);
    d.cursor = 3;
    _cleanup_error_ struct error *err = NULL;
    assert_int_equal(engine_adopt(&d, true, &err), -1);
    assert_non_null(strstr(error_message(err), "9.9.9"));
    assert_non_null(strstr(error_message(err), mo_version()));
    assert_int_equal(d.cursor, 3);
    assert_int_equal(d.seq, 40);
    d.direction = DIR_ROLLBACK;
    d.rollback_top = 1;
    assert_int_equal(engine_adopt(&d, true, NULL), 0);
    assert_int_equal(d.cursor, 0);
    deployment_free(&d);
}

/* A record of a newer format is not continued: the message names both versions. */
static void a_newer_format_is_refused(void **state)
{
    (void)state;
    struct deployment d;
    two_groups(&d);
    strv_push(&d.versions, "3.0.0");
    d.format = DEPLOYMENT_FORMAT + 1;
    _cleanup_error_ struct error *err = NULL;
    assert_int_equal(engine_adopt(&d, true, &err), -1);
    assert_non_null(strstr(error_message(err), "3.0.0"));
    assert_non_null(strstr(error_message(err), mo_version()));
    deployment_free(&d);
}

/* Fields a newer binary wrote are written back, each in its part. */
static void unknown_fields_are_kept(void **state)
{
    (void)state;
    struct deployment d;
    two_groups(&d);
    _cleanup_free_ char *head = deployment_part_json(&d, DEP_PART_HEAD);
    _cleanup_free_ char *fixed = deployment_part_json(&d, DEP_PART_FIXED);
    _cleanup_free_ char *m0 = deployment_member_json(&d.members[0]);
    _cleanup_free_ char *m1 = deployment_member_json(&d.members[1]);
    /* a newer binary's fields in each part */
    _cleanup_free_ char *head2 = xasprintf("{\"new_head\":[1,2],%s", head + 1);
    _cleanup_free_ char *fixed2 = xasprintf("{\"new_fixed\":\"f\",%s", fixed + 1);
    _cleanup_free_ char *m1x = xasprintf("{\"new_member\":{\"a\":true},%s", m1 + 1);
    char *rows[] = { m0, m1x };
    struct deployment back;
    _cleanup_error_ struct error *err = NULL;
    int rc = deployment_from_parts(head2, fixed2, rows, 2, &back, &err);
    if (rc != 0)
        fprintf(stderr, "%s\n", error_message(err));
    assert_int_equal(rc, 0);
    _cleanup_free_ char *h = deployment_part_json(&back, DEP_PART_HEAD);
    _cleanup_free_ char *f = deployment_part_json(&back, DEP_PART_FIXED);
    _cleanup_free_ char *r0 = deployment_member_json(&back.members[0]);
    _cleanup_free_ char *r1 = deployment_member_json(&back.members[1]);
    assert_non_null(strstr(h, "\"new_head\":[1,2]"));
    assert_null(strstr(h, "new_fixed"));
    assert_non_null(strstr(f, "\"new_fixed\":\"f\""));
    assert_null(strstr(f, "new_head"));
    assert_null(strstr(r0, "new_member"));
    assert_non_null(strstr(r1, "\"new_member\":{\"a\":true}"));
    _cleanup_free_ char *whole = deployment_to_json(&back);
    assert_non_null(strstr(whole, "new_head"));
    assert_non_null(strstr(whole, "new_fixed"));
    assert_non_null(strstr(whole, "new_member"));
    deployment_free(&back);
    deployment_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_program_finds_every_step),
        cmocka_unit_test(a_bare_index_is_read_in_program_1),
        cmocka_unit_test(a_moved_query_is_asked_again_rather_than_skipped),
        cmocka_unit_test(an_unknown_step_not_in_a_call_goes_on_with_the_next),
        cmocka_unit_test(an_unknown_step_interrupted_in_a_call_fails_the_deployment),
        cmocka_unit_test(an_unknown_rollback_step_interrupted_restarts_the_pass),
        cmocka_unit_test(an_unknown_section),
        cmocka_unit_test(a_newer_format_is_refused),
        cmocka_unit_test(unknown_fields_are_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

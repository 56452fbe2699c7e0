#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "iface/query.h"

static int answer(const char *query, const char *out, int automatic, enum answer dflt, enum answer *a, char *err)
{
    return query_parse_answer(query, out, strlen(out), automatic, dflt, a, err, 256);
}

static void yes_no_answers(void **state)
{
    (void)state;
    enum answer a;
    char err[256];
    assert_int_equal(answer("SupportsRollback", "Yes", 0, ANSWER_NO, &a, err), 0);
    assert_int_equal(a, ANSWER_YES);
    assert_int_equal(answer("SupportsRollback", "No\n", 0, ANSWER_YES, &a, err), 0);
    assert_int_equal(a, ANSWER_NO);
    assert_int_equal(answer("NeedsArtifactReboot", "Automatic\n", 1, ANSWER_NO, &a, err), 0);
    assert_int_equal(a, ANSWER_AUTOMATIC);
}

static void empty_output_gives_the_default(void **state)
{
    (void)state;
    enum answer a = ANSWER_NO;
    char err[256];
    assert_int_equal(answer("NeedsUnpackedArtifact", "", 0, ANSWER_YES, &a, err), 0);
    assert_int_equal(a, ANSWER_YES);
}

static void bogus_answers_are_protocol_errors(void **state)
{
    (void)state;
    enum answer a;
    char err[256];
    const char *bad[] = { "yes", "Yes ", "Yes\r", "Yes\r\n", " No", "Maybe" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(answer("SupportsRollback", bad[i], 0, ANSWER_NO, &a, err), -1);
        assert_non_null(strstr(err, "Unexpected output when querying SupportsRollback"));
    }
    assert_int_equal(answer("SupportsRollback", "Automatic", 0, ANSWER_NO, &a, err), -1);
}

static void two_lines_are_too_many(void **state)
{
    (void)state;
    enum answer a;
    char err[256];
    assert_int_equal(answer("SupportsRollback", "Yes\n\n", 0, ANSWER_NO, &a, err), -1);
    assert_string_equal(err, "Too many lines when querying SupportsRollback");
    assert_int_equal(answer("NeedsArtifactReboot", "No\nYes\n", 1, ANSWER_NO, &a, err), -1);
    assert_string_equal(err, "Too many lines when querying NeedsArtifactReboot");
}

static void identity_rules(void **state)
{
    (void)state;
    char *id;
    char err[256];
    assert_int_equal(query_parse_identity("id=R123\n", 8, &id, err, sizeof(err)), 0);
    assert_string_equal(id, "R123");
    free(id);
    assert_int_equal(query_parse_identity("id=a=b", 6, &id, err, sizeof(err)), 0);
    assert_string_equal(id, "a=b");
    free(id);
    assert_int_equal(query_parse_identity("", 0, &id, err, sizeof(err)), 0);
    assert_null(id);
    assert_int_equal(query_parse_identity("id=\n", 4, &id, err, sizeof(err)), -1);
    assert_int_equal(query_parse_identity("ident=x", 7, &id, err, sizeof(err)), -1);
    assert_int_equal(query_parse_identity("id=x\ny", 6, &id, err, sizeof(err)), -1);
}

static void provides_lines(void **state)
{
    (void)state;
    struct kvlist kv = { 0 };
    char err[256];
    int dropped;
    const char *out = "rootfs-image.rtos.version=v1\n\nartifact_name=a=b\nempty=\ndevice_type=x\n";
    assert_int_equal(query_parse_provides(out, strlen(out), &kv, &dropped, err, sizeof(err)), 0);
    assert_int_equal(kv.n, 3);
    assert_string_equal(kvl_get(&kv, "artifact_name"), "a=b");
    assert_string_equal(kvl_get(&kv, "empty"), "");
    assert_null(kvl_get(&kv, "device_type"));
    assert_true(dropped);
    kvl_free(&kv);
}

static void provides_errors(void **state)
{
    (void)state;
    struct kvlist kv = { 0 };
    char err[256];
    assert_int_equal(query_parse_provides("a=1\nnoequals\n", 12, &kv, NULL, err, sizeof(err)), -1);
    assert_string_equal(err, "Provides: line 2: expected key=value");
    assert_int_equal(kv.n, 0);
    assert_int_equal(query_parse_provides("a=1\na=2\n", 8, &kv, NULL, err, sizeof(err)), -1);
    assert_string_equal(err, "Provides: key a is repeated");
    assert_int_equal(query_parse_provides("a b=1\n", 6, &kv, NULL, err, sizeof(err)), -1);
    assert_int_equal(query_parse_provides("=1\n", 3, &kv, NULL, err, sizeof(err)), -1);
    assert_int_equal(query_parse_provides("a=1\r\n", 5, &kv, NULL, err, sizeof(err)), -1);
    assert_string_equal(err, "Provides: line 1: control character in output");
}

static void inventory_keeps_repeats(void **state)
{
    (void)state;
    struct strv l = { 0 };
    char err[256];
    const char *out = "ip=1\nip=2\nmodel=x\n";
    assert_int_equal(query_parse_inventory(out, strlen(out), &l, err, sizeof(err)), 0);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.v[1], "ip=2");
    strv_free(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(yes_no_answers),
        cmocka_unit_test(empty_output_gives_the_default),
        cmocka_unit_test(bogus_answers_are_protocol_errors),
        cmocka_unit_test(two_lines_are_too_many),
        cmocka_unit_test(identity_rules),
        cmocka_unit_test(provides_lines),
        cmocka_unit_test(provides_errors),
        cmocka_unit_test(inventory_keeps_repeats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

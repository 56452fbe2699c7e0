#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "iface/query.h"

/* The last failure's message, kept for the asserts (freed by the next call). */
static struct error *last;

static int answer(const char *query, const char *out, int automatic, enum answer dflt, enum answer *a)
{
    error_free(last);
    last = NULL;
    return query_parse_answer(query, out, strlen(out), automatic, dflt, a, &last);
}

static void yes_no_answers(void **state)
{
    (void)state;
    enum answer a;
    assert_int_equal(answer("SupportsRollback", "Yes", 0, ANSWER_NO, &a), 0);
    assert_int_equal(a, ANSWER_YES);
    assert_int_equal(answer("SupportsRollback", "No\n", 0, ANSWER_YES, &a), 0);
    assert_int_equal(a, ANSWER_NO);
    assert_int_equal(answer("NeedsArtifactReboot", "Automatic\n", 1, ANSWER_NO, &a), 0);
    assert_int_equal(a, ANSWER_AUTOMATIC);
    assert_null(last);
    assert_string_equal(answer_name(ANSWER_AUTOMATIC), "Automatic");
}

static void empty_output_gives_the_default(void **state)
{
    (void)state;
    enum answer a = ANSWER_NO;
    assert_int_equal(answer("NeedsUnpackedArtifact", "", 0, ANSWER_YES, &a), 0);
    assert_int_equal(a, ANSWER_YES);
}

static void bogus_answers_are_protocol_errors(void **state)
{
    (void)state;
    enum answer a;
    const char *bad[] = { "yes", "Yes ", "Yes\r", "Yes\r\n", " No", "Maybe" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(answer("SupportsRollback", bad[i], 0, ANSWER_NO, &a), -1);
        assert_non_null(strstr(error_message(last), "Unexpected output when querying SupportsRollback"));
    }
    assert_int_equal(answer("SupportsRollback", "Maybe\n", 0, ANSWER_NO, &a), -1);
    assert_string_equal(error_message(last), "Unexpected output when querying SupportsRollback: \"Maybe\"");
    assert_int_equal(error_code(last), EPROTO); /* invalid, not failed: the engine tells them apart */
    assert_int_equal(answer("SupportsRollback", "Yes\r", 0, ANSWER_NO, &a), -1);
    assert_string_equal(error_message(last), "Unexpected output when querying SupportsRollback: \"Yes\\x0d\"");
    assert_int_equal(answer("SupportsRollback", "Automatic", 0, ANSWER_NO, &a), -1);
}

static void long_bogus_answers_are_cut_in_the_message(void **state)
{
    (void)state;
    enum answer a;
    char out[200];
    memset(out, 'x', sizeof(out) - 1);
    out[sizeof(out) - 1] = '\0';
    assert_int_equal(answer("SupportsRollback", out, 0, ANSWER_NO, &a), -1);
    size_t prefix = strlen("Unexpected output when querying SupportsRollback: \"");
    assert_int_equal(strlen(error_message(last)), prefix + 64 + 1);
}

static void two_lines_are_too_many(void **state)
{
    (void)state;
    enum answer a;
    assert_int_equal(answer("SupportsRollback", "Yes\n\n", 0, ANSWER_NO, &a), -1);
    assert_string_equal(error_message(last), "Too many lines when querying SupportsRollback");
    assert_int_equal(error_code(last), EPROTO);
    assert_int_equal(answer("NeedsArtifactReboot", "No\nYes\n", 1, ANSWER_NO, &a), -1);
    assert_string_equal(error_message(last), "Too many lines when querying NeedsArtifactReboot");
}

static void identity_rules(void **state)
{
    (void)state;
    char *id;
    _cleanup_error_ struct error *e = NULL;
    assert_int_equal(query_parse_identity("id=R123\n", 8, &id, &e), 0);
    assert_string_equal(id, "R123");
    free(id);
    assert_int_equal(query_parse_identity("id=52:54:00:1d:94:82", 20, &id, &e), 0);
    assert_string_equal(id, "52:54:00:1d:94:82");
    free(id);
    assert_int_equal(query_parse_identity("id=Z.9_a@b+c-d", 14, &id, &e), 0);
    assert_string_equal(id, "Z.9_a@b+c-d");
    free(id);
    assert_int_equal(query_parse_identity("", 0, &id, &e), 0);
    assert_null(id);
    assert_null(e);
    assert_int_equal(query_parse_identity("id=\n", 4, &id, &e), -1);
    assert_string_equal(error_message(e), "Identity: the id must be non-empty and free of control characters");
    error_free(e);
    e = NULL;
    assert_int_equal(query_parse_identity("ident=x", 7, &id, &e), -1);
    assert_string_equal(error_message(e), "Identity: expected one line \"id=<component id>\"");
    error_free(e);
    e = NULL;
    assert_int_equal(query_parse_identity("id=x\ny", 6, &id, &e), -1);
    assert_null(id);
    error_free(e);
    e = NULL;
    /* outside the id character set: printed as-is, show-provides would be ambiguous */
    const char *bad[] = { "id=a=b", "id=a b", "id=../../../escape", "id=.hidden", "id=a/b", "id=a,b", "id=\xc3\xa9" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(query_parse_identity(bad[i], strlen(bad[i]), &id, &e), -1);
        assert_null(id);
        assert_non_null(strstr(error_message(e), "invalid component id"));
        error_free(e);
        e = NULL;
    }
    assert_int_equal(query_parse_identity("id=a b", 6, &id, &e), -1);
    assert_string_equal(error_message(e),
                        "Identity: \"a b\": invalid component id: use 1 to 64 characters of A-Z "
                        "a-z 0-9 . _ : @ + -, not starting with a dot; fix what the Interface prints");
    error_free(e);
    e = NULL;
    char longid[3 + 65 + 1] = "id=";
    memset(longid + 3, 'a', 65);
    longid[3 + 65] = '\0';
    assert_int_equal(query_parse_identity(longid, strlen(longid), &id, &e), -1);
    longid[3 + 64] = '\0';
    assert_int_equal(query_parse_identity(longid, strlen(longid), &id, NULL), 0);
    free(id);
    /* the error is optional */
    assert_int_equal(query_parse_identity("ident=x", 7, &id, NULL), -1);
}

static void provides_lines(void **state)
{
    (void)state;
    struct kvlist kv = { 0 };
    int dropped;
    const char *out = "rootfs-image.rtos.version=v1\n\nartifact_name=a=b\nempty=\ndevice_type=x\n";
    assert_int_equal(query_parse_provides(out, strlen(out), &kv, &dropped, NULL), 0);
    assert_int_equal(kv.n, 3);
    assert_string_equal(kvl_get(&kv, "artifact_name"), "a=b");
    assert_string_equal(kvl_get(&kv, "empty"), "");
    assert_null(kvl_get(&kv, "device_type"));
    assert_true(dropped);
    kvl_free(&kv);
}

static void provides_error(const char *out, const char *message)
{
    struct kvlist kv = { 0 };
    _cleanup_error_ struct error *e = NULL;
    assert_int_equal(query_parse_provides(out, strlen(out), &kv, NULL, &e), -1);
    assert_int_equal(kv.n, 0);
    if (message)
        assert_string_equal(error_message(e), message);
}

static void provides_errors(void **state)
{
    (void)state;
    provides_error("a=1\nnoequals\n", "Provides: line 2: expected key=value");
    provides_error("a=1\na=2\n", "Provides: key a is repeated");
    provides_error("a b=1\n", "Provides: line 1: the key must be non-empty and contain no whitespace");
    provides_error("=1\n", "Provides: line 1: the key must be non-empty and contain no whitespace");
    provides_error("a=1\r\n", "Provides: line 1: control character in output");
}

static void inventory_keeps_repeats(void **state)
{
    (void)state;
    struct strv l = { 0 };
    _cleanup_error_ struct error *e = NULL;
    const char *out = "ip=1\nip=2\nmodel=x\n";
    assert_int_equal(query_parse_inventory(out, strlen(out), &l, &e), 0);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.v[1], "ip=2");
    strv_free(&l);
    assert_int_equal(query_parse_inventory("ip=1\nx\n", 7, &l, &e), -1);
    assert_string_equal(error_message(e), "Inventory: line 2: expected key=value");
    assert_int_equal(l.n, 0);
}

static int teardown(void **state)
{
    (void)state;
    error_free(last);
    last = NULL;
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(yes_no_answers),
        cmocka_unit_test(empty_output_gives_the_default),
        cmocka_unit_test(bogus_answers_are_protocol_errors),
        cmocka_unit_test(long_bogus_answers_are_cut_in_the_message),
        cmocka_unit_test(two_lines_are_too_many),
        cmocka_unit_test(identity_rules),
        cmocka_unit_test(provides_lines),
        cmocka_unit_test(provides_errors),
        cmocka_unit_test(inventory_keeps_repeats),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}

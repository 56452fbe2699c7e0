/* The repository index (src/repo/index.c): file names, round trip, refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "repo/index.h"
#include "util/strv.h"

static void file_names(void **state)
{
    (void)state;
    static const char *const good[] = { "a.mender", "rel-7/rtos_v2.mender", "x,y+z-1.mender", "A/B/C" };
    static const char *const bad[] = { "",   "/abs.mender", "../x.mender", "a/../b", "./a",   "a//b",
                                       "a/", "sp ace",      "q?x",         "a\\b",   "%2e%2e" };
    for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
        assert_true(repo_file_name_ok(good[i]));
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        assert_false(repo_file_name_ok(bad[i]));
}

static void round_trip(void **state)
{
    (void)state;
    const char *text =
        "{\"version\": 1, \"future\": true, \"artifacts\": [{\"file\": \"rtos-v2.mender\", \"size\": 10240, "
        "\"sha256\": \"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\", "
        "\"artifact_name\": \"rtos-v2\", \"payload_type\": \"rtos-interface\", \"compatible_types\": [\"rtos\"], "
        "\"provides\": {\"rootfs-image.rtos-interface.version\": \"rtos-v2\"}, "
        "\"depends\": {\"rootfs-image.rtos-interface.version\": [\"rtos-v1\", \"rtos-v0\"], \"k\": \"one\"}, "
        "\"clears\": [], \"signed\": true, \"unknown\": 1}, "
        "{\"file\": \"boot.mender\", \"size\": 3, \"sha256\": "
        "\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\", \"artifact_name\": \"b\", "
        "\"payload_type\": null, \"compatible_types\": []}]}";
    struct repo_index idx;
    assert_int_equal(repo_index_parse(text, strlen(text), &idx, NULL), 0);
    assert_int_equal(idx.n, 2);
    const struct artifact_info *a = &idx.v[0].info;
    assert_string_equal(a->artifact_name, "rtos-v2");
    assert_int_equal(idx.v[0].size, 10240);
    assert_true(a->has_type_provides && a->has_clears && a->clears.n == 0 && a->is_signed);
    assert_int_equal(a->type_depends.n, 2);
    assert_int_equal(a->type_depends.items[0].values.n, 2);
    assert_string_equal(a->type_depends.items[1].values.v[0], "one"); /* a string becomes a 1-list */
    assert_null(idx.v[1].info.payload_type);
    assert_false(idx.v[1].info.has_type_provides || idx.v[1].info.has_clears);

    char *out = repo_index_to_json(&idx);
    struct repo_index again;
    assert_int_equal(repo_index_parse(out, strlen(out), &again, NULL), 0);
    assert_int_equal(again.n, 2);
    assert_string_equal(again.v[0].sha256, idx.v[0].sha256);
    assert_true(again.v[0].info.has_clears);
    assert_false(again.v[1].info.has_clears);
    assert_null(strstr(out, "unknown"));
    free(out);
    repo_index_free(&again);
    repo_index_free(&idx);
}

static void refusals(void **state)
{
    (void)state;
    static const struct {
        const char *text, *err;
    } cases[] = {
        { "[", "1:1: not valid JSON" },
        { "{\"version\": 2, \"artifacts\": []}", "version: expected 1" },
        { "{\"version\": 1}", "artifacts: expected a list" },
        { "{\"version\": 1, \"artifacts\": [{\"file\": \"a\", \"size\": -1}]}", "artifacts[0] (a): size:" },
        { "{\"version\": 1, \"artifacts\": [1]}", "artifacts[0]: expected an object" },
        { "{\"version\": 1, \"artifacts\": [{\"file\": \"a\", \"size\": 1, \"sha256\": \"AB\"}]}",
          "artifacts[0] (a): sha256: expected 64 lowercase hex digits" },
        { "{\"version\": 1, \"version\": 1, \"artifacts\": []}", "not valid JSON" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        struct repo_index idx;
        _cleanup_error_ struct error *err = NULL;
        assert_int_equal(repo_index_parse(cases[i].text, strlen(cases[i].text), &idx, &err), -1);
        if (!strstr(error_message(err), cases[i].err))
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, error_message(err), cases[i].err);
        assert_int_equal(idx.n, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(file_names),
        cmocka_unit_test(round_trip),
        cmocka_unit_test(refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

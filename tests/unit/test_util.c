#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "util/diag.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strv.h"

static void diag_formats_location(void **state)
{
    (void)state;
    struct diag_list d = { 0 };
    diag_error(&d, "topology.yaml", 7, 5, "components[1].interface: \"%s\": invalid interface name", "../x");
    diag_warn(&d, "m.yaml", 0, 0, "no position");
    diag_error(&d, NULL, 0, 0, "bare");
    assert_int_equal(d.nerrors, 2);
    assert_string_equal(d.errors[0], "topology.yaml:7:5: components[1].interface: \"../x\": invalid interface name");
    assert_string_equal(d.errors[1], "bare");
    assert_string_equal(d.warnings[0], "m.yaml: no position");
    diag_free(&d);
    assert_int_equal(d.nerrors, 0);
}

static void kvlist_set_get_equal(void **state)
{
    (void)state;
    struct kvlist a = { 0 }, b = { 0 };
    kvl_set(&a, "k2", "v2");
    kvl_set(&a, "k1", "v1");
    kvl_set(&a, "k2", "v2b");
    assert_int_equal(a.n, 2);
    assert_string_equal(kvl_get(&a, "k2"), "v2b");
    kvl_set(&b, "k1", "v1");
    kvl_set(&b, "k2", "v2b");
    assert_true(kvl_equal(&a, &b));
    kvl_sort(&a);
    assert_string_equal(a.items[0].key, "k1");
    assert_true(kvl_remove(&b, "k1"));
    assert_false(kvl_remove(&b, "k1"));
    assert_false(kvl_equal(&a, &b));
    kvl_free(&a);
    kvl_free(&b);
}

static void log_level_names(void **state)
{
    (void)state;
    enum log_level l;
    assert_int_equal(log_level_parse("warning", &l), 0);
    assert_int_equal(l, LOG_WARNING);
    assert_int_equal(log_level_parse("warn", &l), -1);
    assert_string_equal(log_level_name(LOG_FATAL), "fatal");
}

static void atomic_write_and_read_back(void **state)
{
    (void)state;
    char dir[] = "/tmp/mo-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *p = fs_join(dir, "f");
    assert_int_equal(fs_write_atomic(p, "hello", 5, 0600), 0);
    char *buf;
    size_t len;
    assert_int_equal(fs_read_file(p, 100, &buf, &len), 0);
    assert_int_equal(len, 5);
    assert_string_equal(buf, "hello");
    free(buf);
    assert_int_equal(fs_read_file(p, 4, &buf, &len), -1);
    unlink(p);
    rmdir(dir);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(diag_formats_location),
        cmocka_unit_test(kvlist_set_get_equal),
        cmocka_unit_test(log_level_names),
        cmocka_unit_test(atomic_write_and_read_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* conform: the watched folders of interface-check (what a call changed, leaving out the
 * places a call may change and the folders that lead to them). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "conform/conform_int.h"
#include "iface/workdir.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/mem.h"

static char dir[] = "/tmp/mo-test-conform-XXXXXX";

static void put(const char *rel, const char *text)
{
    _cleanup_free_ char *p = xasprintf("%s/%s", dir, rel);
    assert_int_equal(fs_write_atomic(p, text, strlen(text), 0600), 0);
}

/* What changed between two snapshots of dir, with skip as interface-check sets it. */
static char *change(void (*act)(void))
{
    struct strv roots = { 0 }, skip = { 0 }, before = { 0 }, after = { 0 };
    strv_push(&roots, dir);
    strv_push_owned(&skip, xasprintf("%s/interface-data/if", dir));
    strv_push_owned(&skip, xasprintf("%s/work/t/c1", dir));
    snapshot_take(&before, &roots, &skip);
    act();
    snapshot_take(&after, &roots, &skip);
    char *d = snapshot_diff(&before, &after, &skip);
    strv_free(&roots);
    strv_free(&skip);
    strv_free(&before);
    strv_free(&after);
    return d;
}

static void nothing(void) {}
static void own_state(void)
{
    _cleanup_free_ char *p = xasprintf("%s/interface-data/if/x", dir);
    assert_int_equal(workdir_mkdirs(p), 0);
}
static void own_workdir(void)
{
    _cleanup_free_ char *p = xasprintf("%s/work/t/c1/tmp", dir);
    assert_int_equal(workdir_mkdirs(p), 0);
    put("work/t/c1/tmp/new", "x");
}
static void other_workdir(void) { put("work/t/other/keep", "changed"); }
static void stray(void) { put("stray", "x"); }
static void other_state(void)
{
    _cleanup_free_ char *p = xasprintf("%s/interface-data/another", dir);
    assert_int_equal(workdir_mkdirs(p), 0);
}

static void what_a_call_may_change(void **state)
{
    (void)state;
    _cleanup_free_ char *a = change(nothing);
    assert_null(a);
    _cleanup_free_ char *b = change(own_workdir);
    assert_null(b);
    _cleanup_free_ char *c = change(own_state); /* interface-data/ itself is made: it leads there */
    assert_null(c);
}

static void what_it_may_not(void **state)
{
    (void)state;
    _cleanup_free_ char *other = xasprintf("%s/work/t/other/keep", dir);
    _cleanup_free_ char *a = change(other_workdir);
    assert_string_equal(a, other);
    _cleanup_free_ char *s = xasprintf("%s/stray", dir);
    _cleanup_free_ char *b = change(stray);
    assert_string_equal(b, s);
    _cleanup_free_ char *o = xasprintf("%s/interface-data/another", dir);
    _cleanup_free_ char *c = change(other_state);
    assert_string_equal(c, o);
}

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(dir))
        return -1;
    _cleanup_free_ char *w = xasprintf("%s/work/t/other", dir);
    if (workdir_mkdirs(w) != 0)
        return -1;
    put("work/t/other/keep", "another Component's");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    workdir_remove(dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(what_a_call_may_change),
        cmocka_unit_test(what_it_may_not),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

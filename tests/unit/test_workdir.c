/* workdir: the File API work dir made from an Artifact's header, the query scratch
 * dirs, and the refusal to work through symbolic links. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "iface/workdir.h"
#include "testutil.h"
#include "util/fs.h"
#include "util/mem.h"

static char dir[] = "/tmp/mo-test-workdir-XXXXXX";

/* A fresh datastore per test. */
static char *datastore;

static char *path_in(const char *base, const char *name) { return fs_join(base, name); }

static void assert_file(const char *base, const char *name, const void *want, size_t want_len, unsigned mode)
{
    _cleanup_free_ char *p = path_in(base, name);
    char *buf = NULL;
    size_t len;
    if (fs_read_file(p, 1u << 20, &buf, &len) != 0)
        fail_msg("%s: %s", p, strerror(errno));
    assert_int_equal(len, want_len);
    assert_memory_equal(buf, want, want_len);
    free(buf);
    struct stat st;
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, mode);
}

static void assert_text(const char *base, const char *name, const char *want)
{
    assert_file(base, name, want, strlen(want), 0600);
}

static void assert_dir(const char *p, unsigned mode)
{
    struct stat st;
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 07777, mode);
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The names in a directory, sorted, joined by spaces. */
static char *listing(const char *p)
{
    struct strv names = { 0 };
    _cleanup_closedir_ DIR *d = opendir(p);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            strv_push(&names, e->d_name);
    if (names.n)
        qsort(names.v, names.n, sizeof(*names.v), by_name);
    char *out = xstrdup("");
    for (size_t i = 0; i < names.n; i++) {
        char *next = xasprintf("%s%s%s", out, i ? " " : "", names.v[i]);
        free(out);
        out = next;
    }
    strv_free(&names);
    return out;
}

static void header_of(struct artifact_info *info, const char *name, const char *group, const char *type)
{
    *info = (struct artifact_info){ 0 };
    info->artifact_name = xstrdup(name);
    info->artifact_group = group ? xstrdup(group) : NULL;
    info->payload_type = type ? xstrdup(type) : NULL;
    info->header_info = xstrdup("{\"payloads\":[{\"type\":\"rtos-interface\"}]}");
    info->header_info_len = strlen(info->header_info);
    info->type_info = xstrdup("{\"type\":\"rtos-interface\"}");
    info->type_info_len = strlen(info->type_info);
}

static void escaping(void **state)
{
    (void)state;
    const char *cases[][2] = {
        { "rtos", "rtos" }, { "R-1_a.b", "R-1_a.b" }, { "a/b", "a%2Fb" },     { "..", "%2E%2E" },
        { ".", "%2E" },     { "...", "..." },         { "a b%", "a%20b%25" }, { "\xc3\xa9", "%C3%A9" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        _cleanup_free_ char *e = workdir_escape(cases[i][0]);
        assert_string_equal(e, cases[i][1]);
    }
    _cleanup_free_ char *p = workdir_path("/var/lib/mo", "rtos", "../R 1");
    assert_string_equal(p, "/var/lib/mo/work/rtos/..%2FR%201");
}

static void the_work_dir_holds_what_the_file_api_names(void **state)
{
    (void)state;
    _cleanup_free_ char *wd = workdir_path(datastore, "rtos", "R1");
    struct kvlist provides = { 0 };
    kvl_set(&provides, "artifact_name", "rtos-v1");
    kvl_set(&provides, "rootfs-image.rtos-interface.version", "rtos-v1");
    _cleanup_(artifact_info_free) struct artifact_info info = { 0 };
    header_of(&info, "rtos-v2", "grp", "rtos-interface");
    _cleanup_error_ struct error *e = NULL;
    assert_int_equal(workdir_create(wd, "rtos", &provides, &info, &e), 0);
    assert_null(e);

    _cleanup_free_ char *top = listing(wd);
    assert_string_equal(top, "current_artifact_group current_artifact_name current_device_type header tmp version");
    assert_dir(wd, 0700);
    assert_text(wd, "version", "1\n");
    assert_text(wd, "current_artifact_name", "rtos-v1\n");
    assert_text(wd, "current_artifact_group", ""); /* no artifact_group in the Provides */
    assert_text(wd, "current_device_type", "rtos\n");
    _cleanup_free_ char *tmp = path_in(wd, "tmp");
    assert_dir(tmp, 0700);
    _cleanup_free_ char *tmp_listing = listing(tmp);
    assert_string_equal(tmp_listing, "");

    _cleanup_free_ char *header = path_in(wd, "header");
    assert_dir(header, 0700);
    _cleanup_free_ char *hdr = listing(header);
    assert_string_equal(hdr, "artifact_group artifact_name header-info meta-data payload_type type-info");
    assert_text(header, "artifact_name", "rtos-v2"); /* header values: no newline */
    assert_text(header, "artifact_group", "grp");
    assert_text(header, "payload_type", "rtos-interface");
    assert_file(header, "header-info", info.header_info, info.header_info_len, 0600);
    assert_file(header, "type-info", info.type_info, info.type_info_len, 0600);
    assert_text(header, "meta-data", "null"); /* none in the Artifact */
    kvl_free(&provides);
}

static void a_new_work_dir_replaces_the_old_one(void **state)
{
    (void)state;
    _cleanup_free_ char *wd = workdir_path(datastore, "rtos", "R1");
    struct kvlist provides = { 0 };
    kvl_set(&provides, "artifact_group", "g1");
    _cleanup_(artifact_info_free) struct artifact_info info = { 0 };
    header_of(&info, "boot-1", NULL, NULL); /* a bootstrap Artifact: no payload type */
    info.meta_data = xstrdup("{\"k\":1}");
    info.meta_data_len = strlen(info.meta_data);
    assert_int_equal(workdir_mkdirs(wd), 0);
    assert_int_equal(test_sh("mkdir -p '%s/files' && echo old > '%s/files/a' && echo old > '%s/stray'", wd, wd, wd), 0);
    assert_int_equal(workdir_create(wd, "rtos", &provides, &info, NULL), 0);
    _cleanup_free_ char *top = listing(wd);
    assert_string_equal(top, "current_artifact_group current_artifact_name current_device_type header tmp version");
    assert_text(wd, "current_artifact_name", "");
    assert_text(wd, "current_artifact_group", "g1\n");
    _cleanup_free_ char *header = path_in(wd, "header");
    assert_text(header, "artifact_group", "");
    assert_text(header, "payload_type", "");
    assert_text(header, "meta-data", "{\"k\":1}");

    assert_int_equal(workdir_remove(wd), 0);
    assert_false(fs_exists(wd));
    assert_int_equal(workdir_remove(wd), 0); /* missing is fine */
    kvl_free(&provides);
}

static void no_work_dir_through_a_symbolic_link(void **state)
{
    (void)state;
    struct kvlist provides = { 0 };
    _cleanup_(artifact_info_free) struct artifact_info info = { 0 };
    header_of(&info, "rtos-v2", NULL, "rtos-interface");
    _cleanup_free_ char *elsewhere = path_in(datastore, "elsewhere");
    assert_int_equal(test_sh("mkdir -p '%s' '%s/work' && ln -s '%s' '%s/work/rtos'", elsewhere, datastore, elsewhere,
                             datastore),
                     0);
    _cleanup_free_ char *wd = workdir_path(datastore, "rtos", "R1");
    _cleanup_error_ struct error *e = NULL;
    assert_int_equal(workdir_create(wd, "rtos", &provides, &info, &e), -1);
    _cleanup_free_ char *want =
        xasprintf("%s/work/rtos: is a symbolic link; remove it (work dirs must be real directories)", datastore);
    assert_string_equal(error_message(e), want);
    _cleanup_free_ char *nothing = listing(elsewhere);
    assert_string_equal(nothing, "");

    /* a file where the work dir should be */
    error_free(e);
    e = NULL;
    _cleanup_free_ char *wd2 = workdir_path(datastore, "gateway", "G1");
    assert_int_equal(test_sh("mkdir -p '%s/work/gateway' && touch '%s'", datastore, wd2), 0);
    assert_int_equal(workdir_check(wd2, 3, &e), -1);
    _cleanup_free_ char *want2 = xasprintf("%s: is not a directory; remove it (work dirs must be real directories)",
                                           wd2);
    assert_string_equal(error_message(e), want2);

    /* the datastore itself may be a link */
    _cleanup_free_ char *link = path_in(dir, "ds-link");
    assert_int_equal(symlink(datastore, link), 0);
    _cleanup_free_ char *wd3 = workdir_path(link, "modem", "M1");
    assert_int_equal(workdir_create(wd3, "modem", &provides, &info, NULL), 0);
    assert_int_equal(unlink(link), 0);
}

static void scratch_dirs(void **state)
{
    (void)state;
    _cleanup_error_ struct error *e = NULL;
    _cleanup_free_ char *a = workdir_scratch(datastore, &e);
    _cleanup_free_ char *b = workdir_scratch(datastore, &e);
    assert_non_null(a);
    assert_non_null(b);
    assert_string_not_equal(a, b);
    _cleanup_free_ char *prefix = xasprintf("%s/query/%ld-", datastore, (long)getpid());
    assert_memory_equal(a, prefix, strlen(prefix));
    assert_text(a, "version", "1\n");
    _cleanup_free_ char *tmp = path_in(a, "tmp");
    assert_dir(tmp, 0700);
    _cleanup_free_ char *names = listing(a);
    assert_string_equal(names, "tmp version");
    assert_int_equal(workdir_remove(a), 0);
    assert_int_equal(workdir_remove(b), 0);

    /* never through a link */
    _cleanup_free_ char *query = path_in(datastore, "query");
    assert_int_equal(test_sh("rm -rf '%s' && ln -s /tmp '%s'", query, query), 0);
    _cleanup_free_ char *c = workdir_scratch(datastore, &e);
    assert_null(c);
    _cleanup_free_ char *want = xasprintf("%s: is a symbolic link; remove it (work dirs must be real directories)",
                                          query);
    assert_string_equal(error_message(e), want);
    assert_int_equal(unlink(query), 0);
}

static void the_sweep_removes_what_dead_processes_left(void **state)
{
    (void)state;
    pid_t child = fork();
    if (child == 0)
        _exit(0);
    assert_true(child > 0);
    assert_int_equal(waitpid(child, NULL, 0), child); /* its pid is free now */
    _cleanup_free_ char *dead = xasprintf("%s/query/%ld-1", datastore, (long)child);
    _cleanup_free_ char *mine = xasprintf("%s/query/%ld-9", datastore, (long)getpid());
    _cleanup_free_ char *other = xasprintf("%s/query/notapid", datastore);
    assert_int_equal(test_sh("mkdir -p '%s/tmp' '%s' '%s' && touch '%s/version'", dead, mine, other, dead), 0);
    workdir_sweep_scratch(datastore);
    assert_false(fs_exists(dead));
    assert_true(fs_exists(mine));
    assert_true(fs_exists(other));
    workdir_sweep_scratch(dir); /* no query/ at all */
}

static void mkdirs_makes_every_part(void **state)
{
    (void)state;
    _cleanup_free_ char *deep = xasprintf("%s/a/b/c", datastore);
    assert_int_equal(workdir_mkdirs(deep), 0);
    assert_dir(deep, 0700);
    assert_int_equal(workdir_mkdirs(deep), 0); /* existing is fine */
    _cleanup_free_ char *file = xasprintf("%s/a/f", datastore);
    assert_int_equal(test_sh("touch '%s'", file), 0);
    _cleanup_free_ char *under = xasprintf("%s/x", file);
    assert_int_equal(workdir_mkdirs(under), -1);
    assert_int_equal(errno, ENOTDIR);
}

static int each_setup(void **state)
{
    (void)state;
    static int n;
    datastore = xasprintf("%s/ds%d", dir, ++n);
    return workdir_mkdirs(datastore);
}

static int each_teardown(void **state)
{
    (void)state;
    test_sh("rm -rf '%s'", datastore);
    free(datastore);
    datastore = NULL;
    return 0;
}

static int setup(void **state)
{
    (void)state;
    umask(022);
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    test_sh("rm -rf '%s'", dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(escaping),
        cmocka_unit_test_setup_teardown(the_work_dir_holds_what_the_file_api_names, each_setup, each_teardown),
        cmocka_unit_test_setup_teardown(a_new_work_dir_replaces_the_old_one, each_setup, each_teardown),
        cmocka_unit_test_setup_teardown(no_work_dir_through_a_symbolic_link, each_setup, each_teardown),
        cmocka_unit_test_setup_teardown(scratch_dirs, each_setup, each_teardown),
        cmocka_unit_test_setup_teardown(the_sweep_removes_what_dead_processes_left, each_setup, each_teardown),
        cmocka_unit_test_setup_teardown(mkdirs_makes_every_part, each_setup, each_teardown),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

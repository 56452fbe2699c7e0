/* stream: Download through the streams tree (stream-next and streams/<name> FIFOs) or
 * into files/, with small /bin/sh Interfaces on the other end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iface/stream.h"
#include "iface/workdir.h"
#include "testutil.h"
#include "util/fs.h"
#include "util/mem.h"

static char dir[] = "/tmp/mo-test-stream-XXXXXX";

/* Reads every stream announced on stream-next into $4/<name>, the announcements into
 * $4/lines; "final" once the zero-length read came. */
static const char streamer[] = "#!/bin/sh\n"
                               "case $1 in Download|DownloadWithFileSizes) ;; *) exit 0 ;; esac\n"
                               "cd \"$2\" || exit 1\n"
                               "out=$4\n"
                               ": > \"$out/lines\"\n"
                               "while :; do\n"
                               "    line=$(cat stream-next) || exit 1\n"
                               "    [ -n \"$line\" ] || break\n"
                               "    printf '%s\\n' \"$line\" >> \"$out/lines\"\n"
                               "    set -- $line\n"
                               "    cat \"$1\" > \"$out/${1#streams/}\" || exit 1\n"
                               "done\n"
                               "echo yes > \"$out/final\"\n";

/* Reads 4 bytes of each stream (one at a time: nothing more is taken from the pipe). */
static const char partial[] = "#!/bin/sh\n"
                              "cd \"$2\" || exit 1\n"
                              "while :; do\n"
                              "    line=$(cat stream-next) || exit 1\n"
                              "    [ -n \"$line\" ] || break\n"
                              "    dd if=\"$line\" of=/dev/null bs=1 count=4 2>/dev/null\n"
                              "done\n";

static struct iface_env env;
static struct strv args; /* the Interfaces' last argument: where the streamer writes */
static char *data_dir, *datastore, *outdir, *two, *small;

struct call {
    struct iface_target t;
    char *wd;
    struct artifact_info info;
    struct download_opts o;
    struct download_result res;
    struct error *err;
};

static int write_iface(const char *name, const char *script)
{
    _cleanup_free_ char *p = xasprintf("%s/share/interfaces/v1/%s", dir, name);
    if (fs_write_atomic(p, script, strlen(script), 0755) != 0)
        return -1;
    return 0;
}

/* The work dir made as the engine does, and download options for it. */
static void prepare(struct call *c, const char *iface, const char *artifact)
{
    *c = (struct call){ .t = { .component_type = "rtos", .id = "R1", .interface = iface, .args = &args } };
    c->wd = workdir_path(env.datastore, "rtos", "R1");
    _cleanup_error_ struct error *e = NULL;
    if (artifact_read_header_file(artifact, NULL, &c->info, &e) != 0)
        fail_msg("%s: %s", artifact, error_message(e));
    struct kvlist provides = { 0 };
    assert_int_equal(workdir_create(c->wd, "rtos", &provides, &c->info, NULL), 0);
    c->o = (struct download_opts){ .env = &env,
                                   .target = &c->t,
                                   .workdir = c->wd,
                                   .artifact_path = artifact,
                                   .unpacked = true,
                                   .expect_manifest_sha256 = c->info.manifest_sha256 };
    assert_int_equal(test_sh("rm -rf '%s' && mkdir -p '%s'", outdir, outdir), 0);
}

static void call_free(struct call *c)
{
    free(c->wd);
    artifact_info_free(&c->info);
    error_free(c->err);
}

static int download(struct call *c)
{
    error_free(c->err);
    c->err = NULL;
    return iface_download(&c->o, &c->res, &c->err);
}

static void assert_same_file(const char *a, const char *b)
{
    char *x = NULL, *y = NULL;
    size_t xl = 0, yl = 0;
    if (fs_read_file(a, 64u << 20, &x, &xl) != 0)
        fail_msg("%s: %s", a, strerror(errno));
    if (fs_read_file(b, 64u << 20, &y, &yl) != 0)
        fail_msg("%s: %s", b, strerror(errno));
    assert_int_equal(xl, yl);
    assert_memory_equal(x, y, xl);
    free(x);
    free(y);
}

static char *in(const char *base, const char *name) { return fs_join(base, name); }

static void assert_in_out(const char *name, const char *src)
{
    _cleanup_free_ char *got = in(outdir, name);
    _cleanup_free_ char *want = in(dir, src);
    assert_same_file(got, want);
}

static void assert_text(const char *path, const char *want)
{
    char *buf = NULL;
    size_t len;
    if (fs_read_file(path, 1u << 20, &buf, &len) != 0)
        fail_msg("%s: %s", path, strerror(errno));
    assert_string_equal(buf, want);
    free(buf);
}

/* Neither stream-next nor streams/ outlives a download; files/ only as given. */
static void assert_tree_after(const struct call *c, bool files)
{
    _cleanup_free_ char *next = in(c->wd, "stream-next");
    _cleanup_free_ char *streams = in(c->wd, "streams");
    _cleanup_free_ char *f = in(c->wd, "files");
    assert_false(fs_exists(next));
    assert_false(fs_exists(streams));
    assert_int_equal(fs_exists(f), files);
}

static void progress(void *ctx, uint64_t bytes)
{
    uint64_t *last = ctx;
    assert_true(bytes > *last);
    *last = bytes;
}

static void streams_carry_exactly_the_payload(void **state)
{
    (void)state;
    struct call c;
    prepare(&c, "streamer", two);
    uint64_t last = 0;
    c.o.progress = progress;
    c.o.progress_ctx = &last;
    assert_int_equal(download(&c), 0);
    assert_true(c.res.streamed);
    assert_false(c.res.files);
    assert_int_equal(c.res.bytes, 1572864 + 12);
    assert_true(last >= 1u << 20); /* about every MiB */
    assert_in_out("a.bin", "a.bin");
    assert_in_out("b.txt", "b.txt");
    _cleanup_free_ char *lines = in(outdir, "lines");
    assert_text(lines, "streams/a.bin\nstreams/b.txt\n");
    _cleanup_free_ char *final = in(outdir, "final");
    assert_text(final, "yes\n");
    assert_tree_after(&c, false);
    call_free(&c);
}

static void with_file_sizes(void **state)
{
    (void)state;
    struct call c;
    prepare(&c, "streamer", two);
    c.o.with_sizes = true;
    assert_int_equal(download(&c), 0);
    _cleanup_free_ char *lines = in(outdir, "lines");
    assert_text(lines, "streams/a.bin 1572864\nstreams/b.txt 12\n");
    assert_in_out("b.txt", "b.txt");
    call_free(&c);
}

static void the_whole_artifact_as_one_stream(void **state)
{
    (void)state;
    struct call c;
    prepare(&c, "streamer", two);
    c.o.unpacked = false;
    assert_int_equal(download(&c), 0);
    assert_true(c.res.streamed);
    assert_in_out("artifact.mender", "two.mender");
    _cleanup_free_ char *lines = in(outdir, "lines");
    assert_text(lines, "streams/artifact.mender\n");
    call_free(&c);
}

static void files_when_stream_next_is_never_opened(void **state)
{
    (void)state;
    for (int packed = 0; packed < 2; packed++) {
        struct call c;
        prepare(&c, "files-only", two);
        c.o.unpacked = !packed;
        assert_int_equal(download(&c), 0);
        assert_false(c.res.streamed);
        assert_true(c.res.files);
        assert_tree_after(&c, true);
        _cleanup_free_ char *files = in(c.wd, "files");
        if (packed) {
            _cleanup_free_ char *got = in(files, "artifact.mender");
            assert_same_file(got, two);
        } else {
            _cleanup_free_ char *got_a = in(files, "a.bin");
            _cleanup_free_ char *want_a = in(dir, "a.bin");
            assert_same_file(got_a, want_a);
            _cleanup_free_ char *got_b = in(files, "b.txt");
            _cleanup_free_ char *want_b = in(dir, "b.txt");
            assert_same_file(got_b, want_b);
        }
        /* no temporary file is left */
        assert_int_equal(test_sh("test -z \"$(ls -A '%s' | grep '^\\.')\"", files), 0);
        call_free(&c);
    }
}

static void a_stream_closed_early_fails(void **state)
{
    (void)state;
    /* a small file: the pipe takes it whole, unread bytes tell; a large one: EPIPE */
    const char *artifacts[] = { small, two };
    for (int i = 0; i < 2; i++) {
        struct call c;
        prepare(&c, "partial", artifacts[i]);
        assert_int_equal(download(&c), -1);
        assert_string_equal(error_message(c.err), "Download: Interface closed a stream before its end");
        assert_tree_after(&c, false);
        call_free(&c);
    }
}

static void the_exit_status_decides(void **state)
{
    (void)state;
    struct call c;
    prepare(&c, "exit3", two);
    assert_int_equal(download(&c), -1);
    assert_string_equal(error_message(c.err), "Download: Process exited with status 3");
    assert_tree_after(&c, false); /* the files it never used are gone */
    call_free(&c);
}

static void a_changed_artifact_is_refused(void **state)
{
    (void)state;
    struct call c;
    prepare(&c, "streamer", two);
    unsigned char other[32] = { 0 };
    c.o.expect_manifest_sha256 = other;
    c.o.with_sizes = true;
    assert_int_equal(download(&c), -1);
    assert_string_equal(error_message(c.err),
                        "DownloadWithFileSizes: the Artifact changed since it was selected (its manifest differs)");
    assert_tree_after(&c, false);
    call_free(&c);
}

static void a_missing_interface(void **state)
{
    (void)state;
    struct call c;
    prepare(&c, "nope", two);
    assert_int_equal(download(&c), -1);
    _cleanup_free_ char *want = xasprintf("Interface nope: %s/share/interfaces/v1/nope: No such file or directory",
                                          dir);
    assert_string_equal(error_message(c.err), want);
    assert_tree_after(&c, false);
    call_free(&c);
}

static int setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN); /* as the program: a closed stream is an EPIPE, not a death */
    if (!mkdtemp(dir))
        return -1;
    int bad = test_sh("cd '%s' && mkdir -p share/interfaces/v1 ds && head -c 1572864 /dev/urandom > a.bin && "
                      "printf 'second file\\n' > b.txt && printf '0123456789\\n' > c.txt && "
                      "mender-artifact write module-image -T rtos-interface -n rtos-v2 -t rtos -f a.bin -f b.txt "
                      "-o two.mender >/dev/null 2>&1 && "
                      "mender-artifact write module-image -T rtos-interface -n rtos-v3 -t rtos -f c.txt "
                      "-o small.mender >/dev/null 2>&1",
                      dir);
    bad |= write_iface("streamer", streamer);
    bad |= write_iface("partial", partial);
    bad |= write_iface("files-only", "#!/bin/sh\nexit 0\n");
    bad |= write_iface("exit3", "#!/bin/sh\nexit 3\n");
    if (bad) {
        fprintf(stderr, "setting up failed\n");
        return -1;
    }
    data_dir = fs_join(dir, "share");
    datastore = fs_join(dir, "ds");
    env = (struct iface_env){ .data_dir = data_dir,
                              .datastore = datastore,
                              .timeout_seconds = 20,
                              .kill_grace_seconds = 1 };
    outdir = fs_join(dir, "out");
    strv_push(&args, outdir);
    two = fs_join(dir, "two.mender");
    small = fs_join(dir, "small.mender");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_sh("rm -rf '%s'", dir);
    free(data_dir);
    free(datastore);
    free(outdir);
    free(two);
    free(small);
    strv_free(&args);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(streams_carry_exactly_the_payload), cmocka_unit_test(with_file_sizes),
        cmocka_unit_test(the_whole_artifact_as_one_stream),  cmocka_unit_test(files_when_stream_next_is_never_opened),
        cmocka_unit_test(a_stream_closed_early_fails),       cmocka_unit_test(the_exit_status_decides),
        cmocka_unit_test(a_changed_artifact_is_refused),     cmocka_unit_test(a_missing_interface),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

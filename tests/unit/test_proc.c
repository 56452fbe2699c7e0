/* proc: one Interface call as a child process (exit status, output, timeout, the
 * process group, its tie to the orchestrator's lifetime), with /bin/sh programs standing
 * in for Interfaces; calls: the calls file and what the next run does with it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "iface/calls.h"
#include "iface/proc.h"
#include "testutil.h"
#include "util/fs.h"
#include "util/mem.h"

static char dir[] = "/tmp/mo-test-proc-XXXXXX";

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A spec running `/bin/sh -c script` (the test's shell, not one the runner adds). */
struct sh {
    char *argv[4];
    struct proc_spec spec;
};

static void sh_spec(struct sh *s, const char *script)
{
    s->argv[0] = xstrdup("/bin/sh");
    s->argv[1] = xstrdup("-c");
    s->argv[2] = xstrdup(script);
    s->argv[3] = NULL;
    s->spec = (struct proc_spec){ .path = "/bin/sh", .argv = s->argv, .stdout_level = LOG_INFO, .capture_max = 4096 };
}

static void sh_free(struct sh *s)
{
    for (int i = 0; i < 3; i++)
        free(s->argv[i]);
}

/* Runs the spec; the call must start. */
static void run(const struct proc_spec *spec, struct proc_result *res)
{
    _cleanup_error_ struct error *e = NULL;
    int r = proc_run(spec, res, &e);
    if (r != 0)
        fail_msg("proc_run: %s", error_message(e));
    assert_true(res->started);
}

/* The log lines written while the call ran: stderr goes to a file meanwhile. */
static int saved_stderr = -1;

static void capture_begin(void)
{
    _cleanup_free_ char *path = fs_join(dir, "log");
    fflush(stderr);
    saved_stderr = dup(2);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0 && saved_stderr >= 0);
    dup2(fd, 2);
    close(fd);
}

static char *capture_end(void)
{
    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    _cleanup_free_ char *path = fs_join(dir, "log");
    char *buf;
    size_t len;
    assert_int_equal(fs_read_file(path, 1u << 20, &buf, &len), 0);
    return buf;
}

/* Whether pid is gone (or a zombie nobody reaped yet), waiting up to 2 s for it. */
static bool gone(long pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    for (int i = 0; i < 200; i++) {
        char *stat = NULL;
        size_t len;
        if (fs_read_file(path, 4096, &stat, &len) != 0)
            return true;
        const char *paren = strrchr(stat, ')');
        bool zombie = paren && paren[1] == ' ' && (paren[2] == 'Z' || paren[2] == 'X');
        free(stat);
        if (zombie)
            return true;
        usleep(10000);
    }
    return false;
}

static void exit_status(void **state)
{
    (void)state;
    struct sh s;
    struct proc_result res;
    sh_spec(&s, "exit 3");
    run(&s.spec, &res);
    assert_false(res.signaled);
    assert_false(res.timed_out);
    assert_int_equal(res.status, 3);
    assert_false(proc_succeeded(&res));
    _cleanup_error_ struct error *e = NULL;
    assert_int_equal(proc_check(&res, &e), -1);
    assert_string_equal(error_message(e), "Process exited with status 3");
    assert_null(res.out); /* nothing captured unless asked */
    proc_result_free(&res);
    sh_free(&s);

    sh_spec(&s, "exit 0");
    run(&s.spec, &res);
    assert_true(proc_succeeded(&res));
    assert_int_equal(proc_check(&res, NULL), 0);
    proc_result_free(&res);
    sh_free(&s);
}

static void killed_by_a_signal(void **state)
{
    (void)state;
    struct sh s;
    struct proc_result res;
    sh_spec(&s, "kill -KILL $$");
    run(&s.spec, &res);
    assert_true(res.signaled);
    assert_int_equal(res.status, SIGKILL);
    _cleanup_error_ struct error *e = NULL;
    assert_int_equal(proc_check(&res, &e), -1);
    char want[64];
    snprintf(want, sizeof(want), "killed by signal %d (%s)", SIGKILL, strsignal(SIGKILL));
    assert_string_equal(error_message(e), want);
    sh_free(&s);
}

/* Runs the call of s with the log captured; returns what was logged. */
static char *run_logged(struct sh *s, struct proc_result *res)
{
    capture_begin();
    run(&s->spec, res);
    return capture_end();
}

static void output_lines_are_logged(void **state)
{
    (void)state;
    struct sh s;
    struct proc_result res;
    sh_spec(&s, "printf 'one\\ntwo\\n'; printf 'warn \"x\"\\n' >&2; printf 'no newline at the end'");
    s.spec.log_type = "rtos";
    s.spec.log_id = "R1";
    _cleanup_free_ char *log = run_logged(&s, &res);
    assert_true(proc_succeeded(&res));
    assert_non_null(strstr(log, "name=\"rtos\" id=\"R1\" msg=\"Update Interface output (stdout): one\"\n"));
    assert_non_null(strstr(log, "msg=\"Update Interface output (stdout): two\"\n"));
    assert_non_null(strstr(log, "msg=\"Update Interface output (stderr): warn \\\"x\\\"\"\n"));
    assert_non_null(strstr(log, "msg=\"Update Interface output (stdout): no newline at the end\"\n"));
    sh_free(&s);
}

static void lines_split_across_reads_and_odd_bytes_are_logged_whole(void **state)
{
    (void)state;
    struct sh s;
    struct proc_result res;
    /* The first line arrives in two writes a pause apart (two reads of ours); the second
     * holds a NUL and an escape character, which are shown, not cut. */
    sh_spec(&s, "printf 'first ha'; sleep 0.2; printf 'lf\\nab\\000c\\033d\\n'");
    _cleanup_free_ char *log = run_logged(&s, &res);
    assert_true(proc_succeeded(&res));
    assert_non_null(strstr(log, "msg=\"Update Interface output (stdout): first half\"\n"));
    assert_non_null(strstr(log, "msg=\"Update Interface output (stdout): ab\\x00c\\x1bd\"\n"));
    sh_free(&s);
}

static void both_streams_are_drained_while_the_call_runs(void **state)
{
    (void)state;
    struct sh s;
    struct proc_result res;
    /* More than a pipe buffer (64 KiB) on each stream: a call whose stderr were not read
     * while we wait for its stdout would block for good (and time out). Not logged: this
     * test is about the pipes; the log's own tests are above. */
    sh_spec(&s, "line=$(head -c 1000 /dev/zero | tr '\\0' f); "
                "i=0; while [ $i -lt 100 ]; do echo \"$line\"; echo \"$line\" >&2; i=$((i+1)); done");
    s.spec.capture_stdout = true;
    s.spec.capture_max = 1u << 20;
    s.spec.timeout_seconds = 30;
    enum log_level level = log_get_level();
    log_set_level(LOG_WARNING);
    run(&s.spec, &res);
    log_set_level(level);
    assert_false(res.timed_out);
    assert_true(proc_succeeded(&res));
    assert_int_equal(res.out_len, 100 * 1001);
    proc_result_free(&res);
    sh_free(&s);
}

static void long_lines_are_logged_in_pieces(void **state)
{
    (void)state;
    struct sh s;
    struct proc_result res;
    sh_spec(&s, "head -c 5000 /dev/zero | tr '\\0' x");
    _cleanup_free_ char *log = run_logged(&s, &res);
    char piece[4097];
    memset(piece, 'x', 4096);
    piece[4096] = '\0';
    _cleanup_free_ char *first = xasprintf("(stdout): %s\"\n", piece);
    piece[904] = '\0';
    _cleanup_free_ char *second = xasprintf("(stdout): %s\"\n", piece);
    assert_non_null(strstr(log, first));
    assert_non_null(strstr(log, second));
    sh_free(&s);
}

static void stdout_level_and_capture(void **state)
{
    (void)state;
    struct sh s;
    struct proc_result res;
    sh_spec(&s, "printf 'Yes\\n'; echo diagnostics >&2");
    s.spec.capture_stdout = true;
    s.spec.stdout_level = LOG_DEBUG; /* queries: the answer is not logged at info */
    _cleanup_free_ char *log = run_logged(&s, &res);
    assert_string_equal(res.out, "Yes\n");
    assert_int_equal(res.out_len, 4);
    assert_false(res.capture_overflow);
    assert_null(strstr(log, "(stdout)"));
    assert_non_null(strstr(log, "msg=\"Update Interface output (stderr): diagnostics\""));
    proc_result_free(&res);
    sh_free(&s);

    sh_spec(&s, "printf '12345'");
    s.spec.capture_stdout = true;
    s.spec.capture_max = 4;
    s.spec.stdout_level = LOG_DEBUG;
    run(&s.spec, &res);
    assert_true(res.capture_overflow);
    proc_result_free(&res);
    sh_free(&s);
}

static void argv_is_passed_without_a_shell(void **state)
{
    (void)state;
    char prog[] = "/usr/bin/printf", fmt[] = "[%s]\\n", a1[] = "a b", a2[] = "$HOME", a3[] = "*", a4[] = ";echo x",
         a5[] = "`id`", a6[] = "";
    char *argv[] = { prog, fmt, a1, a2, a3, a4, a5, a6, NULL };
    struct proc_spec spec = { .path = argv[0],
                              .argv = argv,
                              .capture_stdout = true,
                              .capture_max = 4096,
                              .stdout_level = LOG_DEBUG };
    struct proc_result res;
    run(&spec, &res);
    assert_true(proc_succeeded(&res));
    assert_string_equal(res.out, "[a b]\n[$HOME]\n[*]\n[;echo x]\n[`id`]\n[]\n");
    proc_result_free(&res);
}

static void cwd_and_stdin(void **state)
{
    (void)state;
    struct sh s;
    struct proc_result res;
    sh_spec(&s, "pwd; cat; echo end"); /* stdin is /dev/null: cat ends at once */
    s.spec.cwd = dir;
    s.spec.capture_stdout = true;
    s.spec.stdout_level = LOG_DEBUG;
    run(&s.spec, &res);
    char real[PATH_MAX];
    assert_non_null(realpath(dir, real));
    _cleanup_free_ char *want = xasprintf("%s\nend\n", real);
    assert_string_equal(res.out, want);
    proc_result_free(&res);
    sh_free(&s);
}

static void start_failures(void **state)
{
    (void)state;
    _cleanup_free_ char *missing = fs_join(dir, "missing");
    _cleanup_free_ char *plain = fs_join(dir, "plain");
    assert_int_equal(test_sh("printf '#!/bin/sh\\nexit 0\\n' > '%s' && chmod 644 '%s'", plain, plain), 0);
    char *argv[2] = { missing, NULL };
    struct proc_spec spec = { .path = missing, .argv = argv };
    struct proc_result res;
    _cleanup_error_ struct error *e = NULL;
    assert_int_equal(proc_run(&spec, &res, &e), -1);
    assert_false(res.started);
    _cleanup_free_ char *want = xasprintf("%s: No such file or directory", missing);
    assert_string_equal(error_message(e), want);
    assert_int_equal(error_code(e), ENOENT);
    assert_int_equal(proc_check(&res, NULL), -1);

    char *not_exec[] = { plain, dir };
    for (int i = 0; i < 2; i++) {
        error_free(e);
        e = NULL;
        argv[0] = not_exec[i];
        spec.path = not_exec[i];
        assert_null(proc_start(&spec, &e));
        _cleanup_free_ char *w = xasprintf("%s: not an executable file", not_exec[i]);
        assert_string_equal(error_message(e), w);
    }
}

static void timeout_terminates_the_group(void **state)
{
    (void)state;
    struct sh s;
    struct proc_result res;
    /* SIGTERM is handled: the call ends at once, without waiting for the grace time. */
    sh_spec(&s, "trap 'echo got TERM; exit 7' TERM; while :; do sleep 0.05; done");
    s.spec.timeout_seconds = 0.5;
    s.spec.kill_grace_seconds = 8;
    capture_begin();
    double t0 = now();
    run(&s.spec, &res);
    double took = now() - t0;
    _cleanup_free_ char *log = capture_end();
    assert_true(took >= 0.5 && took < 6); /* well before the grace time's end */
    assert_true(res.timed_out);
    assert_non_null(strstr(log, "msg=\"Interface call timed out after 0.5 s; terminating it\""));
    if (res.signaled) {
        /* a machine so busy that the shell had not set its trap yet: SIGTERM killed it */
        assert_int_equal(res.status, SIGTERM);
    } else {
        assert_int_equal(res.status, 7);
        assert_non_null(strstr(log, "msg=\"Update Interface output (stdout): got TERM\""));
    }
    _cleanup_error_ struct error *e = NULL;
    assert_int_equal(proc_check(&res, &e), -1);
    assert_string_equal(error_message(e), "timed out and was killed");
    sh_free(&s);
}

static void sigkill_after_the_grace_time(void **state)
{
    (void)state;
    struct sh s;
    struct proc_result res;
    /* SIGTERM ignored by the call from its start and by a grandchild: an ignored signal
     * stays ignored across fork and exec (no trap to set, however slow the start). */
    sh_spec(&s, "sleep 30 >/dev/null 2>&1 & echo $!; while :; do sleep 0.05; done");
    s.spec.timeout_seconds = 0.3;
    s.spec.kill_grace_seconds = 0.5;
    s.spec.capture_stdout = true;
    s.spec.capture_max = 64;
    struct sigaction ign = { .sa_handler = SIG_IGN }, old;
    sigaction(SIGTERM, &ign, &old);
    double t0 = now();
    run(&s.spec, &res);
    double took = now() - t0;
    sigaction(SIGTERM, &old, NULL);
    assert_true(took >= 0.8 && took < 8);
    assert_true(res.timed_out);
    assert_true(res.signaled);
    assert_int_equal(res.status, SIGKILL);
    long grandchild = strtol(res.out, NULL, 10);
    assert_true(grandchild > 0);
    assert_true(gone(grandchild));
    proc_result_free(&res);
    sh_free(&s);
}

static void nothing_of_the_group_outlives_the_call(void **state)
{
    (void)state;
    struct sh s;
    struct proc_result res;
    /* The call exits 0 at once, leaving a grandchild that does not hold its output. */
    sh_spec(&s, "sleep 30 >/dev/null 2>&1 & echo $!");
    s.spec.capture_stdout = true;
    s.spec.capture_max = 64;
    run(&s.spec, &res);
    assert_true(proc_succeeded(&res));
    long pid = strtol(res.out, NULL, 10);
    assert_true(pid > 0);
    assert_true(gone(pid));
    proc_result_free(&res);
    sh_free(&s);

    /* A grandchild holding the output pipes: read for a while after the exit, then killed. */
    sh_spec(&s, "sleep 30 & echo $!");
    s.spec.capture_stdout = true;
    s.spec.capture_max = 64;
    double t0 = now();
    run(&s.spec, &res);
    assert_true(now() - t0 < 8);
    assert_true(proc_succeeded(&res));
    pid = strtol(res.out, NULL, 10);
    assert_true(pid > 0);
    assert_true(gone(pid));
    proc_result_free(&res);
    sh_free(&s);
}

static void cancel_and_has_exited(void **state)
{
    (void)state;
    struct sh s;
    struct proc_result res;
    sh_spec(&s, "trap 'exit 5' TERM; while :; do sleep 0.05; done");
    _cleanup_error_ struct error *e = NULL;
    struct proc *p = proc_start(&s.spec, &e);
    assert_non_null(p);
    usleep(100000);
    assert_false(proc_has_exited(p));
    proc_cancel(p);
    proc_finish(p, &res);
    assert_true(res.cancelled);
    assert_false(res.timed_out);
    assert_int_equal(proc_check(&res, &e), -1);
    assert_string_equal(error_message(e), "was stopped");
    sh_free(&s);

    sh_spec(&s, "exit 0");
    p = proc_start(&s.spec, NULL);
    assert_non_null(p);
    double t0 = now();
    while (!proc_has_exited(p) && now() - t0 < 5)
        usleep(1000);
    assert_true(proc_has_exited(p));
    proc_finish(p, &res);
    assert_true(proc_succeeded(&res));
    sh_free(&s);
}

/* proc_kill: SIGKILL at once, no SIGTERM the Interface could trap (a power cut). */
static void kill_gives_no_term(void **state)
{
    (void)state;
    struct sh s;
    struct proc_result res;
    _cleanup_free_ char *marker = xasprintf("%s/trapped", dir);
    _cleanup_free_ char *script = xasprintf("trap 'touch %s; exit 5' TERM; echo up; while :; do sleep 0.05; done",
                                            marker);
    sh_spec(&s, script);
    s.spec.capture_stdout = true;
    _cleanup_error_ struct error *e = NULL;
    struct proc *p = proc_start(&s.spec, &e);
    assert_non_null(p);
    usleep(100000);
    proc_kill(p);
    proc_finish(p, &res);
    assert_true(res.cancelled);
    assert_true(res.signaled);
    assert_int_equal(res.status, SIGKILL);
    assert_false(fs_exists(marker));
    proc_result_free(&res);
    sh_free(&s);
}

/* ---- the orchestrator's death (iface/calls.h) ------------------------------------------ */

/* The first line of path once written (waits up to 10 s). */
static char *wait_line(const char *path)
{
    for (int i = 0; i < 1000; i++) {
        char *text = NULL;
        size_t len;
        if (fs_read_file(path, 4096, &text, &len) == 0 && len && text[len - 1] == '\n')
            return text;
        free(text);
        usleep(10000);
    }
    fail_msg("%s: nothing written", path);
    return NULL;
}

static bool running(long pid)
{
    struct proc_stat st;
    _cleanup_free_ char *path = xasprintf("/proc/%ld/stat", pid);
    _cleanup_free_ char *text = NULL;
    size_t len;
    return fs_read_file(path, 4096, &text, &len) == 0 && proc_stat_parse(text, len, &st) == 0 && st.state != 'Z';
}

static struct proc_stat stat_of(long pid)
{
    struct proc_stat st = { 0 };
    _cleanup_free_ char *path = xasprintf("/proc/%ld/stat", pid);
    _cleanup_free_ char *text = NULL;
    size_t len;
    assert_int_equal(fs_read_file(path, 4096, &text, &len), 0);
    assert_int_equal(proc_stat_parse(text, len, &st), 0);
    return st;
}

/* A stand-in orchestrator: a forked process that starts script as a call (recorded in the
 * calls file of datastore, if not NULL) and waits to be killed. */
static pid_t stand_in(const char *script, const char *datastore)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid > 0)
        return pid;
    struct call_registry *r = datastore ? calls_open(datastore, 5, NULL) : NULL;
    struct sh s;
    sh_spec(&s, script);
    s.spec.calls = r;
    if ((datastore && !r) || !proc_start(&s.spec, NULL))
        _exit(1);
    for (;;)
        pause();
}

static void kill_stand_in(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static void proc_stat_fields(void **state)
{
    (void)state;
    const char *line = "1234 (a) b (c) S 1 1234 1200 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 9 9 9\n";
    struct proc_stat st;
    assert_int_equal(proc_stat_parse(line, strlen(line), &st), 0);
    assert_int_equal(st.state, 'S');
    assert_int_equal(st.pgrp, 1234);
    assert_int_equal(st.session, 1200);
    assert_int_equal(st.start_time, 987654);
    assert_int_equal(proc_stat_parse(line, 40, &st), -1); /* cut before field 22 */
    assert_int_equal(proc_stat_parse("1234 no parenthesis", 19, &st), -1);
    const char *bad = "1 (x) S 1 x 1 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654\n";
    assert_int_equal(proc_stat_parse(bad, strlen(bad), &st), -1);

    st = stat_of(getpid());
    assert_int_equal(st.pgrp, getpgrp());
    assert_int_equal(st.session, getsid(0));
    assert_true(st.start_time > 0);
}

static void a_call_dies_with_the_orchestrator(void **state)
{
    (void)state;
    _cleanup_free_ char *pidfile = fs_join(dir, "lifetime.pid");
    _cleanup_free_ char *script = xasprintf("echo $$ > '%s'; exec sleep 30", pidfile);
    pid_t orch = stand_in(script, NULL);
    _cleanup_free_ char *line = wait_line(pidfile);
    long call = strtol(line, NULL, 10);
    assert_true(call > 0 && running(call));
    kill_stand_in(orch);
    assert_true(gone(call));
}

/* The calls file: "boot_id=<id>" then one slot, each padded to a line of CALLS_SLOT_SIZE. */
static void write_calls_file(const char *datastore, const char *boot_id, const char *slot)
{
    char text[2 * CALLS_SLOT_SIZE + 1];
    snprintf(text, sizeof(text), "boot_id=%-*s\n%-*s\n", CALLS_SLOT_SIZE - 9, boot_id, CALLS_SLOT_SIZE - 1, slot);
    _cleanup_free_ char *path = fs_join(datastore, CALLS_FILE);
    assert_int_equal(fs_write_atomic(path, text, strlen(text), 0600), 0);
}

static char *boot_id(void)
{
    char *id = NULL;
    size_t len;
    assert_int_equal(fs_read_file("/proc/sys/kernel/random/boot_id", 4096, &id, &len), 0);
    id[strcspn(id, "\n")] = '\0';
    return id;
}

static void leftovers_are_stopped_by_the_next_run(void **state)
{
    (void)state;
    _cleanup_free_ char *ds = fs_join(dir, "ds-leftovers");
    _cleanup_free_ char *pidfile = fs_join(dir, "leftovers.pid");
    assert_int_equal(mkdir(ds, 0700), 0);
    /* The call leaves a child doing its work, as a shell's command would. */
    _cleanup_free_ char *script = xasprintf("sleep 30 & echo $$ $! > '%s'; wait", pidfile);
    pid_t orch = stand_in(script, ds);
    _cleanup_free_ char *line = wait_line(pidfile);
    char *end;
    long call = strtol(line, &end, 10), child = strtol(end, NULL, 10);
    assert_true(call > 0 && child > 0);

    /* Recorded before it ran: its group, start time and session, in slot 0. */
    _cleanup_free_ char *path = fs_join(ds, CALLS_FILE), *text = NULL;
    size_t len;
    assert_int_equal(fs_read_file(path, 1 << 20, &text, &len), 0);
    assert_int_equal(len, 65 * CALLS_SLOT_SIZE);
    struct proc_stat st = stat_of(call);
    _cleanup_free_ char *want = xasprintf("%ld %llu %ld ", call, st.start_time, st.session);
    assert_memory_equal(text + CALLS_SLOT_SIZE, want, strlen(want));

    kill_stand_in(orch);
    assert_true(gone(call));     /* tied to the orchestrator */
    assert_true(running(child)); /* its child is not: the next run stops it */
    _cleanup_error_ struct error *e = NULL;
    struct call_registry *r = calls_open(ds, 5, &e);
    assert_non_null(r);
    assert_true(gone(child));
    free(text);
    text = NULL;
    assert_int_equal(fs_read_file(path, 1 << 20, &text, &len), 0);
    assert_int_equal(len, 65 * CALLS_SLOT_SIZE);
    assert_int_equal(text[CALLS_SLOT_SIZE], ' '); /* afresh */
    calls_close(r);
}

static void records_of_other_processes_are_left_alone(void **state)
{
    (void)state;
    _cleanup_free_ char *ds = fs_join(dir, "ds-others");
    _cleanup_free_ char *pidfile = fs_join(dir, "others.pid");
    assert_int_equal(mkdir(ds, 0700), 0);
    _cleanup_free_ char *script = xasprintf("echo $$ > '%s'; exec sleep 30", pidfile);
    struct sh s;
    sh_spec(&s, script);
    struct proc *p = proc_start(&s.spec, NULL);
    assert_non_null(p);
    _cleanup_free_ char *line = wait_line(pidfile);
    long pid = strtol(line, NULL, 10);
    struct proc_stat st = stat_of(pid);
    assert_int_equal(st.pgrp, pid);
    _cleanup_free_ char *id = boot_id();
    _cleanup_free_ char *other_start = xasprintf("%ld %llu %ld", pid, st.start_time + 1, st.session);
    _cleanup_free_ char *same = xasprintf("%ld %llu %ld", pid, st.start_time, st.session);
    const char *cases[][2] = { { id, other_start }, { "another-boot", same }, { id, same } };
    for (int i = 0; i < 3; i++) {
        write_calls_file(ds, cases[i][0], cases[i][1]);
        _cleanup_error_ struct error *e = NULL;
        struct call_registry *r = calls_open(ds, 5, &e);
        assert_non_null(r);
        calls_close(r);
        assert_true(i < 2 ? running(pid) : gone(pid)); /* a pid taken again, an earlier boot: not ours */
    }
    struct proc_result res;
    proc_finish(p, &res);
    assert_true(res.signaled && res.status == SIGKILL);
    sh_free(&s);
}

static int setup(void **state)
{
    (void)state;
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
        cmocka_unit_test(exit_status),
        cmocka_unit_test(killed_by_a_signal),
        cmocka_unit_test(output_lines_are_logged),
        cmocka_unit_test(lines_split_across_reads_and_odd_bytes_are_logged_whole),
        cmocka_unit_test(both_streams_are_drained_while_the_call_runs),
        cmocka_unit_test(long_lines_are_logged_in_pieces),
        cmocka_unit_test(stdout_level_and_capture),
        cmocka_unit_test(argv_is_passed_without_a_shell),
        cmocka_unit_test(cwd_and_stdin),
        cmocka_unit_test(start_failures),
        cmocka_unit_test(timeout_terminates_the_group),
        cmocka_unit_test(sigkill_after_the_grace_time),
        cmocka_unit_test(nothing_of_the_group_outlives_the_call),
        cmocka_unit_test(cancel_and_has_exited),
        cmocka_unit_test(kill_gives_no_term),
        cmocka_unit_test(proc_stat_fields),
        cmocka_unit_test(a_call_dies_with_the_orchestrator),
        cmocka_unit_test(leftovers_are_stopped_by_the_next_run),
        cmocka_unit_test(records_of_other_processes_are_left_alone),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

#include "iface/proc.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "iface/calls.h"
#include "util/mem.h"
#include "util/thread.h"

#define LINE_MAX_BYTES 4096     /* longer output lines are logged in pieces */
#define ORPHAN_WAIT_SECONDS 2.0 /* after exit, how long pipes held by leftovers are read */
#define DEFAULT_KILL_GRACE 10.0
#define OUTPUT_PIPE_SIZE (1 << 20) /* bytes of output the pipes hold (F_SETPIPE_SZ) */

struct linebuf {
    char buf[LINE_MAX_BYTES];
    size_t len;
};

struct proc {
    pid_t pid;
    int pidfd; /* readable when the child exits (pidfd_open, Linux 5.3), or -1 */
    int fd[2]; /* stdout, stderr read ends; -1 when closed */
    pthread_t thread;
    bool threaded; /* the monitor runs on its own thread (proc_start), not in proc_run */
    pthread_mutex_t mu;
    bool exited;
    bool flowing; /* the last drain read output but emptied the pipe (drain) */
    int wstatus;
    bool timed_out;
    bool cancel_requested, cancelled;
    bool kill_requested; /* proc_kill: SIGKILL at once */
    double timeout, grace;
    bool capture;
    size_t capture_max;
    bool overflow;
    char *out;
    size_t out_len, out_cap;
    enum log_level stdout_level;
    char *log_type, *log_id;
    struct linebuf lines[2];
    struct call_registry *calls; /* the calls file, or NULL: not recorded */
    int slot;                    /* the call's slot in it */
    int unrecorded;              /* errno value: the call could not write its slot */
};

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void log_line(struct proc *p, int which, const char *s, size_t n)
{
    enum log_level level = which == 0 ? p->stdout_level : LOG_INFO;
    log_comp_bytes(level, p->log_type, p->log_id,
                   which == 0 ? "Update Interface output (stdout): " : "Update Interface output (stderr): ", s, n);
}

static void add_output(struct proc *p, int which, const char *data, size_t n)
{
    if (which == 0 && p->capture) {
        if (p->out_len + n > p->capture_max) {
            p->overflow = true;
        } else {
            if (p->out_len + n + 1 > p->out_cap) {
                p->out_cap = (p->out_len + n + 1) * 2;
                p->out = xrealloc(p->out, p->out_cap);
            }
            memcpy(p->out + p->out_len, data, n);
            p->out_len += n;
            p->out[p->out_len] = '\0';
        }
    }
    /* Whole lines are logged from data; the start of a line the chunk ends in waits in lb
     * for the rest; lines longer than lb are logged in pieces of its size. */
    struct linebuf *lb = &p->lines[which];
    const char *end = data + n;
    while (data < end) {
        const char *nl = memchr(data, '\n', (size_t)(end - data));
        size_t len = (size_t)((nl ? nl : end) - data);
        if (nl && lb->len == 0 && len <= sizeof(lb->buf)) {
            log_line(p, which, data, len);
            data = nl + 1;
            continue;
        }
        size_t room = sizeof(lb->buf) - lb->len;
        size_t take = len < room ? len : room;
        memcpy(lb->buf + lb->len, data, take);
        lb->len += take;
        data += take;
        if (take < len || nl) { /* the line ends, or lb is full and it goes on: log lb */
            log_line(p, which, lb->buf, lb->len);
            lb->len = 0;
            if (take == len)
                data = nl + 1;
        }
    }
}

static void kill_group(struct proc *p, int sig)
{
    if (kill(-p->pid, sig) < 0 && errno == ESRCH && !p->exited)
        kill(p->pid, sig);
}

/* The monitor thread's clock: when the call started, exited, was sent SIGTERM. */
struct watch {
    double start, exit_time, term_time;
    bool killed;
};

/* Waits up to 50 ms for output or the child's exit; logs (and keeps) what came, each
 * chunk read as one batch of log records (util/log.h). */
static void drain(struct proc *p)
{
    char buf[65536];
    struct pollfd pfd[3];
    int nfd = 0;
    for (int i = 0; i < 2; i++)
        if (p->fd[i] >= 0)
            pfd[nfd++] = (struct pollfd){ .fd = p->fd[i], .events = POLLIN };
    int npipes = nfd;
    /* The child's exit wakes the poll too (no sleeping between its pipes' end and its exit). */
    if (!p->exited && p->pidfd >= 0)
        pfd[nfd++] = (struct pollfd){ .fd = p->pidfd, .events = POLLIN };
    if (nfd)
        poll(pfd, (nfds_t)nfd, 50);
    else
        usleep(p->exited ? 20000 : 2000);
    bool got = false, full = false;
    for (int k = 0; k < npipes; k++) {
        if (!(pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        int which = pfd[k].fd == p->fd[0] ? 0 : 1;
        ssize_t r = read(pfd[k].fd, buf, sizeof(buf));
        if (r > 0) {
            log_batch_begin();
            add_output(p, which, buf, (size_t)r);
            log_batch_end();
            got = true;
            full = full || (size_t)r == sizeof(buf);
        } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
            close(p->fd[which]);
            p->fd[which] = -1;
        }
    }
    /* Output that keeps coming (a second round in a row) is read at most every ms: each
     * write into an empty pipe wakes its reader, which costs the writer more than the
     * write (a flasher's 4 KiB stdio writes). The pipes hold 1 MiB meanwhile; a round
     * that filled the buffer goes on at once. A query's answer (one round, then EOF) is
     * not delayed. */
    if (got && !full && p->flowing && !p->exited)
        usleep(1000);
    p->flowing = got && !full;
}

/* Notes the main process's exit (without blocking). */
static void reap(struct proc *p, struct watch *w, double t)
{
    if (p->exited)
        return;
    int st;
    pid_t r = waitpid(p->pid, &st, WNOHANG);
    if (r == p->pid || (r < 0 && errno == ECHILD)) {
        pthread_mutex_lock(&p->mu);
        p->exited = true;
        p->wstatus = r == p->pid ? st : 0;
        pthread_mutex_unlock(&p->mu);
        w->exit_time = t;
    }
}

/* The timeout and proc_cancel: SIGTERM to the group, SIGKILL after the grace time. */
static void enforce(struct proc *p, struct watch *w, double t)
{
    if (!p->timed_out && p->timeout > 0 && t - w->start >= p->timeout) {
        p->timed_out = true;
        w->term_time = t;
        log_comp(LOG_ERROR, p->log_type, p->log_id, "Interface call timed out after %g s; terminating it", p->timeout);
        kill_group(p, SIGTERM);
    }
    pthread_mutex_lock(&p->mu);
    bool cancel = p->cancel_requested && !p->cancelled && !p->timed_out;
    bool kill_now = p->kill_requested && !w->killed;
    pthread_mutex_unlock(&p->mu);
    if (kill_now && !p->exited) {
        p->cancelled = true;
        w->killed = true;
        kill_group(p, SIGKILL);
        return;
    }
    if (cancel && !p->exited) {
        p->cancelled = true;
        w->term_time = t;
        kill_group(p, SIGTERM);
    }
    if ((p->timed_out || p->cancelled) && !w->killed && t - w->term_time >= p->grace) {
        w->killed = true;
        kill_group(p, SIGKILL);
    }
}

static void *monitor(void *arg)
{
    struct proc *p = arg;
    struct watch w = { .start = now_seconds() };
    for (;;) {
        drain(p);
        double t = now_seconds();
        reap(p, &w, t);
        if (p->exited && (p->fd[0] < 0 && p->fd[1] < 0))
            break;
        if (p->exited && t - w.exit_time > ORPHAN_WAIT_SECONDS)
            break;
        enforce(p, &w, t);
    }
    /* Nothing of the call may outlive it. */
    kill(-p->pid, SIGKILL);
    if (p->pidfd >= 0)
        close(p->pidfd);
    p->pidfd = -1;
    for (int i = 0; i < 2; i++) {
        if (p->lines[i].len)
            log_line(p, i, p->lines[i].buf, p->lines[i].len);
        if (p->fd[i] >= 0)
            close(p->fd[i]);
        p->fd[i] = -1;
    }
    return NULL;
}

/* Frees p and what it holds (the monitor thread is not running). */
static void proc_free(struct proc *p)
{
    if (p->calls)
        calls_slot_release(p->calls, p->slot);
    if (p->pidfd >= 0)
        close(p->pidfd);
    for (int i = 0; i < 2; i++)
        if (p->fd[i] >= 0)
            close(p->fd[i]);
    pthread_mutex_destroy(&p->mu);
    free(p->out);
    free(p->log_type);
    free(p->log_id);
    free(p);
}

/* ---- starting the call ----------------------------------------------------------------- */

/* What the child needs between vfork and execve. It shares our memory until then, so it
 * only makes system calls (async-signal-safe) and reports through the pipe `report`. */
struct child_args {
    const struct proc_spec *spec;
    int in, out, err; /* become 0, 1, 2 */
    int report;       /* close-on-exec: EOF once the Interface runs */
    pid_t parent;
    int calls_fd; /* -1: the call is not recorded */
    off_t calls_offset;
};

enum { NOTE_UNRECORDED = 1, NOTE_FAILED = 2 }; /* what the child reports: {note, errno} */

static void note(int fd, int what, int code)
{
    int msg[2] = { what, code };
    ssize_t w = write(fd, msg, sizeof(msg));
    (void)w;
}

static _Noreturn void child_fail(const struct child_args *a)
{
    note(a->report, NOTE_FAILED, errno);
    _exit(127);
}

/* Caught signals back to their default before any is unblocked (a handler must not run in
 * a child sharing our memory), and SIGPIPE, which we ignore, too. */
static void reset_signals(void)
{
    for (int sig = 1; sig < NSIG; sig++) {
        struct sigaction sa;
        if (sigaction(sig, NULL, &sa) != 0)
            continue;
        bool caught = (sa.sa_flags & SA_SIGINFO) || (sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN);
        if (caught || sig == SIGPIPE) {
            sa = (struct sigaction){ .sa_handler = SIG_DFL };
            sigaction(sig, &sa, NULL);
        }
    }
}

static int move_fd(int from, int to)
{
    if (from == to)
        return fcntl(to, F_SETFD, 0); /* kept open across execve */
    return dup2(from, to) < 0 ? -1 : 0;
}

/* The child: its own process group; tied to our lifetime (SIGKILL when the thread that
 * started it ends, which the whole process's death does too; if we died already, getppid
 * is no longer us); recorded in the calls file before the Interface runs; stdin, stdout,
 * stderr, cwd; no blocked signals; execve. */
static _Noreturn void child_main(const struct child_args *a)
{
    reset_signals();
    if (setpgid(0, 0) != 0)
        child_fail(a);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
        child_fail(a);
    if (getppid() != a->parent)
        _exit(127);
    if (a->calls_fd >= 0 && calls_record_self(a->calls_fd, a->calls_offset) != 0)
        note(a->report, NOTE_UNRECORDED, errno);
    if (move_fd(a->in, 0) != 0 || move_fd(a->out, 1) != 0 || move_fd(a->err, 2) != 0)
        child_fail(a);
    if (a->spec->cwd && chdir(a->spec->cwd) != 0)
        child_fail(a);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execve(a->spec->path, a->spec->argv, environ);
    child_fail(a);
}

/* vfork: no copy of our page tables per call (a fork of this multi-threaded process paid
 * for them, and for copy-on-write faults after); this thread waits until the child has
 * executed the Interface or failed. */
static pid_t start_child(const struct child_args *a)
{
    pid_t pid = vfork();
    if (pid == 0)
        child_main(a);
    return pid;
}

/* Reads the child's reports until the Interface runs: 0, or the errno value of the step
 * that failed. */
static int read_reports(int fd, int *unrecorded)
{
    int msg[2], failed = 0;
    for (;;) {
        ssize_t r = read(fd, msg, sizeof(msg));
        if (r < 0 && errno == EINTR)
            continue;
        if (r != (ssize_t)sizeof(msg))
            return failed;
        if (msg[0] == NOTE_FAILED)
            failed = msg[1] ? msg[1] : EIO;
        else
            *unrecorded = msg[1] ? msg[1] : EIO;
    }
}

/* Starts the child with every signal blocked meanwhile (they are unblocked in it just
 * before execve). Returns 0 with p->pid set, or an errno value. */
static int spawn(const struct proc_spec *spec, int in, int out, int errfd, struct proc *p)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return errno;
    _cleanup_close_ int rd = fds[0], wr = fds[1];
    struct child_args
        a = { .spec = spec, .in = in, .out = out, .err = errfd, .report = wr, .parent = getpid(), .calls_fd = -1 };
    if (p->calls) {
        a.calls_fd = calls_fd(p->calls);
        a.calls_offset = calls_slot_offset(p->slot);
    }
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    pid_t pid = start_child(&a);
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (pid < 0)
        return saved;
    close(TAKE_FD(wr));
    int failed = read_reports(rd, &p->unrecorded);
    if (failed) {
        waitpid(pid, NULL, 0);
        return failed;
    }
    p->pid = pid;
    return 0;
}

/* A proc for spec, not started yet (no child, no thread); its slot taken. */
static struct proc *proc_new(const struct proc_spec *spec)
{
    struct proc *p = xcalloc(1, sizeof(*p));
    p->pidfd = p->fd[0] = p->fd[1] = -1;
    p->timeout = spec->timeout_seconds;
    p->grace = spec->kill_grace_seconds > 0 ? spec->kill_grace_seconds : DEFAULT_KILL_GRACE;
    p->capture = spec->capture_stdout;
    p->capture_max = spec->capture_max;
    p->stdout_level = spec->stdout_level;
    p->log_type = spec->log_type ? xstrdup(spec->log_type) : NULL;
    p->log_id = spec->log_id ? xstrdup(spec->log_id) : NULL;
    p->calls = spec->calls;
    if (p->calls)
        p->slot = calls_slot_take(p->calls);
    pthread_mutex_init(&p->mu, NULL);
    return p;
}

static int check_executable(const char *path, struct error **err)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return error_set_errno(err, errno, "%s", path);
    if (!S_ISREG(st.st_mode) || access(path, X_OK) < 0)
        return error_set(err, 0, "%s: not an executable file", path);
    return 0;
}

/* Starts the call; the monitor on a thread of its own when threaded (proc_start: the
 * caller goes on while the call runs), else left to the caller (proc_run). */
static struct proc *launch(const struct proc_spec *spec, bool threaded, struct error **err)
{
    assert(spec && spec->path && spec->argv && spec->argv[0]);
    if (check_executable(spec->path, err) != 0)
        return NULL;
    _cleanup_close_ int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull < 0) {
        error_set_errno(err, errno, "/dev/null");
        return NULL;
    }
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) {
        error_set_errno(err, errno, "pipe");
        return NULL;
    }
    _cleanup_close_ int out_r = fds[0], out_w = fds[1];
    if (pipe2(fds, O_CLOEXEC) < 0) {
        error_set_errno(err, errno, "pipe");
        return NULL;
    }
    _cleanup_close_ int err_r = fds[0], err_w = fds[1];
    /* room for a burst of output while the monitor batches (drain); the default 64 KiB
     * where the system allows no more */
    (void)fcntl(out_r, F_SETPIPE_SZ, OUTPUT_PIPE_SIZE);
    (void)fcntl(err_r, F_SETPIPE_SZ, OUTPUT_PIPE_SIZE);
    struct proc *p = proc_new(spec);
    int rc = spawn(spec, devnull, out_w, err_w, p);
    /* Our copies of the write ends go now: the pipes reach EOF when the call's own do. */
    close(TAKE_FD(out_w));
    close(TAKE_FD(err_w));
    if (rc != 0) {
        proc_free(p);
        error_set_errno(err, rc, "%s: cannot execute", spec->path);
        return NULL;
    }
    if (p->unrecorded)
        log_comp(LOG_WARNING, p->log_type, p->log_id,
                 "cannot record the call in %s (%s): if the orchestrator is killed, the next run cannot stop what "
                 "the call leaves running",
                 CALLS_FILE, strerror(p->unrecorded));
    p->pidfd = (int)syscall(SYS_pidfd_open, p->pid, 0); /* close-on-exec; -1 on older kernels */
    p->fd[0] = TAKE_FD(out_r);
    p->fd[1] = TAKE_FD(err_r);
    if (!threaded)
        return p;
    rc = thread_start(&p->thread, monitor, p);
    p->threaded = rc == 0;
    if (rc != 0) {
        kill(-p->pid, SIGKILL);
        waitpid(p->pid, NULL, 0);
        proc_free(p);
        error_set(err, rc, "cannot start a monitor thread");
        return NULL;
    }
    return p;
}

struct proc *proc_start(const struct proc_spec *spec, struct error **err) { return launch(spec, true, err); }

void proc_cancel(struct proc *p)
{
    assert(p);
    pthread_mutex_lock(&p->mu);
    p->cancel_requested = true;
    pthread_mutex_unlock(&p->mu);
}

void proc_kill(struct proc *p)
{
    assert(p);
    pthread_mutex_lock(&p->mu);
    p->kill_requested = true;
    pthread_mutex_unlock(&p->mu);
}

bool proc_has_exited(struct proc *p)
{
    assert(p);
    pthread_mutex_lock(&p->mu);
    bool e = p->exited;
    pthread_mutex_unlock(&p->mu);
    return e;
}

void proc_finish(struct proc *p, struct proc_result *res)
{
    assert(p && res);
    if (p->threaded)
        pthread_join(p->thread, NULL);
    else
        monitor(p);
    *res = (struct proc_result){
        .started = true,
        .timed_out = p->timed_out,
        .cancelled = p->cancelled,
        .signaled = WIFSIGNALED(p->wstatus),
        .status = WIFSIGNALED(p->wstatus) ? WTERMSIG(p->wstatus) : WEXITSTATUS(p->wstatus),
        .capture_overflow = p->overflow,
    };
    if (p->capture) {
        res->out = p->out ? TAKE_PTR(p->out) : xstrdup("");
        res->out_len = p->out_len;
    }
    proc_free(p);
}

int proc_run(const struct proc_spec *spec, struct proc_result *res, struct error **err)
{
    assert(spec && res);
    *res = (struct proc_result){ 0 };
    /* The monitor runs in this thread, which waits anyway: no thread to start and end
     * per call (docs/benchmarks.md, "Interface calls at scale"). */
    struct proc *p = launch(spec, false, err);
    if (!p)
        return -1;
    proc_finish(p, res);
    return 0;
}

int proc_check(const struct proc_result *res, struct error **err)
{
    assert(res);
    if (!res->started)
        return error_set(err, 0, "could not be started");
    if (res->timed_out)
        return error_set(err, 0, "timed out and was killed");
    if (res->cancelled)
        return error_set(err, 0, "was stopped");
    if (res->signaled)
        return error_set(err, 0, "killed by signal %d (%s)", res->status, strsignal(res->status));
    if (res->status != 0)
        return error_set(err, 0, "Process exited with status %d", res->status);
    return 0;
}

bool proc_succeeded(const struct proc_result *res) { return proc_check(res, NULL) == 0; }

void proc_result_free(struct proc_result *res)
{
    assert(res);
    free(res->out);
    res->out = NULL;
}

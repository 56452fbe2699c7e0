#include "iface/proc.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/mem.h"

#define LINE_MAX_BYTES 4096     /* longer output lines are logged in pieces */
#define ORPHAN_WAIT_SECONDS 2.0 /* after exit, how long pipes held by leftovers are read */
#define DEFAULT_KILL_GRACE 10.0

struct linebuf {
    char buf[LINE_MAX_BYTES];
    size_t len;
};

struct proc {
    pid_t pid;
    int pidfd; /* readable when the child exits (pidfd_open, Linux 5.3), or -1 */
    int fd[2]; /* stdout, stderr read ends; -1 when closed */
    pthread_t thread;
    pthread_mutex_t mu;
    bool exited;
    int wstatus;
    bool timed_out;
    bool cancel_requested, cancelled;
    double timeout, grace;
    bool capture;
    size_t capture_max;
    bool overflow;
    char *out;
    size_t out_len, out_cap;
    enum log_level stdout_level;
    char *log_type, *log_id;
    struct linebuf lines[2];
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
    log_comp(level, p->log_type, p->log_id, "Update Interface output (%s): %.*s", which == 0 ? "stdout" : "stderr",
             (int)n, s);
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
    struct linebuf *lb = &p->lines[which];
    for (size_t i = 0; i < n; i++) {
        if (data[i] == '\n') {
            log_line(p, which, lb->buf, lb->len);
            lb->len = 0;
            continue;
        }
        if (lb->len == sizeof(lb->buf)) {
            log_line(p, which, lb->buf, lb->len);
            lb->len = 0;
        }
        lb->buf[lb->len++] = data[i];
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

/* Waits up to 50 ms for output or the child's exit; logs (and keeps) what came. */
static void drain(struct proc *p)
{
    char buf[16384];
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
    for (int k = 0; k < npipes; k++) {
        if (!(pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        int which = pfd[k].fd == p->fd[0] ? 0 : 1;
        ssize_t r = read(pfd[k].fd, buf, sizeof(buf));
        if (r > 0) {
            add_output(p, which, buf, (size_t)r);
        } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
            close(p->fd[which]);
            p->fd[which] = -1;
        }
    }
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
    pthread_mutex_unlock(&p->mu);
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

/* posix_spawn (vfork-like in glibc): no copy of our page tables per call, which a
 * fork of this multi-threaded process paid (and then its copy-on-write faults).
 * The child: its own process group, no blocked signals, SIGPIPE at its default,
 * stdin /dev/null, stdout and stderr on our pipes, cwd the work dir. An exec or
 * chdir failure comes back as posix_spawn's result (an errno value). */
static int spawn(const struct proc_spec *spec, int in, int out, int errfd, pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_adddup2(&fa, in, 0);
    posix_spawn_file_actions_adddup2(&fa, out, 1);
    posix_spawn_file_actions_adddup2(&fa, errfd, 2);
    if (spec->cwd)
        posix_spawn_file_actions_addchdir_np(&fa, spec->cwd);
    sigset_t none, dflt;
    sigemptyset(&none);
    sigemptyset(&dflt);
    sigaddset(&dflt, SIGPIPE);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &dflt);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    int rc = posix_spawn(pid, spec->path, &fa, &attr, spec->argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    return rc;
}

struct proc *proc_start(const struct proc_spec *spec, struct error **err)
{
    assert(spec && spec->path && spec->argv && spec->argv[0]);
    struct stat st;
    if (stat(spec->path, &st) < 0) {
        error_set_errno(err, errno, "%s", spec->path);
        return NULL;
    }
    if (!S_ISREG(st.st_mode) || access(spec->path, X_OK) < 0) {
        error_set(err, 0, "%s: not an executable file", spec->path);
        return NULL;
    }
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
    pid_t pid;
    int rc = spawn(spec, devnull, out_w, err_w, &pid);
    /* Our copies of the write ends go now: the pipes reach EOF when the call's own do. */
    close(TAKE_FD(out_w));
    close(TAKE_FD(err_w));
    if (rc != 0) {
        error_set_errno(err, rc, "%s: cannot execute", spec->path);
        return NULL;
    }
    struct proc *p = xcalloc(1, sizeof(*p));
    p->pid = pid;
    p->pidfd = (int)syscall(SYS_pidfd_open, pid, 0); /* close-on-exec; -1 on older kernels */
    p->fd[0] = TAKE_FD(out_r);
    p->fd[1] = TAKE_FD(err_r);
    p->timeout = spec->timeout_seconds;
    p->grace = spec->kill_grace_seconds > 0 ? spec->kill_grace_seconds : DEFAULT_KILL_GRACE;
    p->capture = spec->capture_stdout;
    p->capture_max = spec->capture_max;
    p->stdout_level = spec->stdout_level;
    p->log_type = spec->log_type ? xstrdup(spec->log_type) : NULL;
    p->log_id = spec->log_id ? xstrdup(spec->log_id) : NULL;
    pthread_mutex_init(&p->mu, NULL);
    rc = pthread_create(&p->thread, NULL, monitor, p);
    if (rc != 0) {
        kill(-pid, SIGKILL);
        waitpid(pid, NULL, 0);
        proc_free(p);
        error_set(err, rc, "cannot start a monitor thread");
        return NULL;
    }
    return p;
}

void proc_cancel(struct proc *p)
{
    assert(p);
    pthread_mutex_lock(&p->mu);
    p->cancel_requested = true;
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
    pthread_join(p->thread, NULL);
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
    struct proc *p = proc_start(spec, err);
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

#include "iface/proc.h"

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

#define LINE_MAX_BYTES 4096       /* longer output lines are logged in pieces */
#define ORPHAN_WAIT_SECONDS 2.0   /* after exit, how long pipes held by leftovers are read */
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

static void *monitor(void *arg)
{
    struct proc *p = arg;
    double start = now_seconds(), exit_time = 0, term_time = 0;
    bool killed = false;
    char buf[16384];
    for (;;) {
        struct pollfd pfd[3];
        int nfd = 0;
        for (int i = 0; i < 2; i++)
            if (p->fd[i] >= 0) {
                pfd[nfd].fd = p->fd[i];
                pfd[nfd].events = POLLIN;
                pfd[nfd].revents = 0;
                nfd++;
            }
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
        double t = now_seconds();
        if (!p->exited) {
            int st;
            pid_t r = waitpid(p->pid, &st, WNOHANG);
            if (r == p->pid || (r < 0 && errno == ECHILD)) {
                pthread_mutex_lock(&p->mu);
                p->exited = true;
                p->wstatus = r == p->pid ? st : 0;
                pthread_mutex_unlock(&p->mu);
                exit_time = t;
            }
        }
        if (p->exited && (p->fd[0] < 0 && p->fd[1] < 0))
            break;
        if (p->exited && t - exit_time > ORPHAN_WAIT_SECONDS)
            break;
        if (!p->timed_out && p->timeout > 0 && t - start >= p->timeout) {
            p->timed_out = true;
            term_time = t;
            log_comp(LOG_ERROR, p->log_type, p->log_id, "Interface call timed out after %g s; terminating it",
                     p->timeout);
            kill_group(p, SIGTERM);
        }
        pthread_mutex_lock(&p->mu);
        bool cancel = p->cancel_requested && !p->cancelled && !p->timed_out;
        pthread_mutex_unlock(&p->mu);
        if (cancel && !p->exited) {
            p->cancelled = true;
            term_time = t;
            kill_group(p, SIGTERM);
        }
        if ((p->timed_out || p->cancelled) && !killed && t - term_time >= p->grace) {
            killed = true;
            kill_group(p, SIGKILL);
        }
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

struct proc *proc_start(const struct proc_spec *spec, char *err, size_t errlen)
{
    struct stat st;
    if (stat(spec->path, &st) < 0) {
        snprintf(err, errlen, "%s: %s", spec->path, strerror(errno));
        return NULL;
    }
    if (!S_ISREG(st.st_mode) || access(spec->path, X_OK) < 0) {
        snprintf(err, errlen, "%s: not an executable file", spec->path);
        return NULL;
    }
    int outp[2], errp[2];
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull < 0) {
        snprintf(err, errlen, "/dev/null: %s", strerror(errno));
        return NULL;
    }
    if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        close(devnull);
        return NULL;
    }
    /* posix_spawn (vfork-like in glibc): no copy of our page tables per call, which a
     * fork of this multi-threaded process paid (and then its copy-on-write faults).
     * The child: its own process group, no blocked signals, SIGPIPE at its default,
     * stdin /dev/null, stdout and stderr on our pipes, cwd the work dir. An exec or
     * chdir failure comes back as posix_spawn's result. */
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_adddup2(&fa, devnull, 0);
    posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
    posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
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
    pid_t pid;
    int rc = posix_spawn(&pid, spec->path, &fa, &attr, spec->argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(devnull);
    close(outp[1]);
    close(errp[1]);
    if (rc != 0) {
        snprintf(err, errlen, "%s: cannot execute: %s", spec->path, strerror(rc));
        close(outp[0]);
        close(errp[0]);
        return NULL;
    }
    struct proc *p = xcalloc(1, sizeof(*p));
    p->pid = pid;
    p->pidfd = (int)syscall(SYS_pidfd_open, pid, 0); /* close-on-exec; -1 on older kernels */
    p->fd[0] = outp[0];
    p->fd[1] = errp[0];
    p->timeout = spec->timeout_seconds;
    p->grace = spec->kill_grace_seconds > 0 ? spec->kill_grace_seconds : DEFAULT_KILL_GRACE;
    p->capture = spec->capture_stdout;
    p->capture_max = spec->capture_max;
    p->stdout_level = spec->stdout_level;
    p->log_type = spec->log_type ? xstrdup(spec->log_type) : NULL;
    p->log_id = spec->log_id ? xstrdup(spec->log_id) : NULL;
    pthread_mutex_init(&p->mu, NULL);
    if (pthread_create(&p->thread, NULL, monitor, p) != 0) {
        kill(-pid, SIGKILL);
        waitpid(pid, NULL, 0);
        snprintf(err, errlen, "cannot start a monitor thread");
        if (p->pidfd >= 0)
            close(p->pidfd);
        close(outp[0]);
        close(errp[0]);
        free(p->log_type);
        free(p->log_id);
        free(p);
        return NULL;
    }
    return p;
}

void proc_cancel(struct proc *p)
{
    pthread_mutex_lock(&p->mu);
    p->cancel_requested = true;
    pthread_mutex_unlock(&p->mu);
}

bool proc_has_exited(struct proc *p)
{
    pthread_mutex_lock(&p->mu);
    bool e = p->exited;
    pthread_mutex_unlock(&p->mu);
    return e;
}

void proc_finish(struct proc *p, struct proc_result *res)
{
    pthread_join(p->thread, NULL);
    memset(res, 0, sizeof(*res));
    res->started = true;
    res->timed_out = p->timed_out;
    res->cancelled = p->cancelled;
    if (WIFSIGNALED(p->wstatus)) {
        res->signaled = true;
        res->status = WTERMSIG(p->wstatus);
    } else {
        res->status = WEXITSTATUS(p->wstatus);
    }
    res->capture_overflow = p->overflow;
    if (p->capture) {
        res->out = p->out ? p->out : xstrdup("");
        res->out_len = p->out_len;
    } else {
        free(p->out);
    }
    pthread_mutex_destroy(&p->mu);
    free(p->log_type);
    free(p->log_id);
    free(p);
}

void proc_run(const struct proc_spec *spec, struct proc_result *res, char *err, size_t errlen)
{
    struct proc *p = proc_start(spec, err, errlen);
    if (!p) {
        memset(res, 0, sizeof(*res));
        return;
    }
    proc_finish(p, res);
}

bool proc_succeeded(const struct proc_result *res)
{
    return res->started && !res->timed_out && !res->cancelled && !res->signaled && res->status == 0;
}

void proc_describe(const struct proc_result *res, char *buf, size_t len)
{
    if (!res->started)
        snprintf(buf, len, "could not be started");
    else if (res->timed_out)
        snprintf(buf, len, "timed out and was killed");
    else if (res->cancelled)
        snprintf(buf, len, "was stopped");
    else if (res->signaled)
        snprintf(buf, len, "killed by signal %d (%s)", res->status, strsignal(res->status));
    else
        snprintf(buf, len, "Process exited with status %d", res->status);
}

void proc_result_free(struct proc_result *res)
{
    free(res->out);
    res->out = NULL;
}

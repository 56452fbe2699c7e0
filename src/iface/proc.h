/* Running one Interface call: execve without a shell, own process group, stdin
 * /dev/null, stdout and stderr drained concurrently and logged line by line, a
 * timeout that terminates then kills the whole group. The call's process is tied to
 * the thread that starts it (SIGKILL when that thread ends: the orchestrator's death
 * kills it), so that thread must outlive the call; with a calls file, the call is
 * recorded in it before the program starts (iface/calls.h). */
#ifndef MO_PROC_H
#define MO_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/error.h"
#include "util/log.h"

struct call_registry;

struct proc_spec {
    const char *path;            /* absolute path of the executable (argv[0] too) */
    char *const *argv;           /* NULL-terminated, argv[0] included */
    const char *cwd;             /* working directory, NULL = unchanged */
    double timeout_seconds;      /* 0 = none */
    double kill_grace_seconds;   /* SIGTERM to SIGKILL; 0 = the default of 10 s */
    bool capture_stdout;         /* queries: keep stdout as the answer */
    size_t capture_max;          /* cap on kept stdout (more = protocol error) */
    enum log_level stdout_level; /* level of "Update Interface output (stdout)" lines */
    const char *log_type;        /* Component tag for log lines (may be NULL) */
    const char *log_id;
    struct call_registry *calls; /* records the call for the next run (iface/calls.h); NULL = not */
};

struct proc_result {
    bool started; /* false: could not be executed (proc_run's error says why) */
    bool timed_out;
    bool cancelled; /* ended by proc_cancel */
    bool signaled;
    int status;            /* exit status, or signal number if signaled */
    bool capture_overflow; /* stdout exceeded capture_max */
    char *out;             /* captured stdout (NUL-terminated), or NULL */
    size_t out_len;
};

struct proc;

/* Starts the call. Returns NULL with a one-line reason in *err if it cannot run
 * ("<path>: No such file or directory", "<path>: not an executable file",
 * "<path>: cannot execute: ..."). */
MO_MUST_CHECK struct proc *proc_start(const struct proc_spec *spec, struct error **err);
/* True once the main process has exited (non-blocking). */
bool proc_has_exited(struct proc *p);
/* Ends the call early: SIGTERM to its group now, SIGKILL after the grace period. */
void proc_cancel(struct proc *p);
/* Ends the call at once: SIGKILL to its group, no SIGTERM first (a power cut, as
 * `interface-check` simulates one: docs/interface-check.md). */
void proc_kill(struct proc *p);
/* Waits for the end of the call (timeout enforced; whatever is left of its process
 * group is killed), fills res, frees p. */
void proc_finish(struct proc *p, struct proc_result *res);
/* Convenience: start + finish. Returns 0 when the call ran (res says how it ended), or
 * -1 with *err when it could not be started (res->started is then false). */
MO_MUST_CHECK int proc_run(const struct proc_spec *spec, struct proc_result *res, struct error **err);
/* Returns 0 when the call ran and exited 0, else -1 with *err describing how it ended
 * ("Process exited with status 3", "timed out and was killed", ...). */
MO_MUST_CHECK int proc_check(const struct proc_result *res, struct error **err);
/* True when the call ran and exited 0. */
bool proc_succeeded(const struct proc_result *res);
void proc_result_free(struct proc_result *res);

#endif

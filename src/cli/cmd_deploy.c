/* `install`, `resume` and `rollback` (docs/state-machine.md, docs/mender-orchestrator.1): the journal's deployment
 * handed to the engine, one deployment at a time. */
#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/context.h"
#include "cli/engine_map.h"
#include "cli/exitcodes.h"
#include "cli/progress.h"
#include "deploy/prepare.h"
#include "engine/engine.h"
#include "iface/calls.h"
#include "iface/workdir.h"
#include "store/journal.h"
#include "store/lock.h"
#include "store/manifest_store.h"
#include "store/reserve.h"
#include "util/log.h"
#include "util/mem.h"

/* How long the calls an earlier, killed run left running may take to die once killed. */
#define LEFTOVER_WAIT_SECONDS 30.0

/* What every deploying command holds while it runs. */
struct session {
    struct config cfg;
    int lock_fd;
    struct call_registry *calls; /* what the Interface calls of this run are, for the next one */
    struct journal *journal;
    struct artifact_keys *keys;
};

static void session_close(struct session *s)
{
    artifact_keys_free(s->keys);
    journal_close(s->journal);
    calls_close(s->calls);
    if (s->lock_fd >= 0)
        close(s->lock_fd);
    config_free(&s->cfg);
}

/* The datastore is full (err says so): what to do. A deployment may be in progress, so this
 * is the "journal cannot be written" outcome of docs/state-machine.md, exit 3, but for
 * install, which has not started anything (exit 1). */
static int full_datastore(const struct cli_args *args, const struct config *cfg, const struct error *err)
{
    if (error_code(err) != ENOSPC || strcmp(args->command, "install") == 0) {
        log_error("%s", error_message(err));
        return EXIT_FAILED;
    }
    log_error("%s: the datastore is full and nothing was done; free space in %s, then run 'mender-orchestrator %s' "
              "again",
              error_message(err), cfg->datastore_dir, args->command);
    return EXIT_INCONSISTENT;
}

/* Opens the journal; a full disk gets the space kept in reserve, as the engine's saves do.
 * Returns 0 or an exit code. */
static int open_journal(const struct cli_args *args, struct session *s)
{
    _cleanup_error_ struct error *e = NULL;
    s->journal = journal_open(s->cfg.datastore_dir, &e);
    if (!s->journal && error_code(e) == ENOSPC && reserve_release(s->cfg.datastore_dir)) {
        log_warn("%s; using the space kept in reserve", error_message(e));
        error_free(TAKE_PTR(e));
        s->journal = journal_open(s->cfg.datastore_dir, &e);
    }
    return s->journal ? 0 : full_datastore(args, &s->cfg, e);
}

/* Saves d before the engine runs it, likewise. Returns 0 or an exit code. */
static int save_first(const struct cli_args *args, struct session *s, struct deployment *d)
{
    engine_stamp(d, NULL);
    _cleanup_error_ struct error *e = NULL;
    int r = journal_save(s->journal, d, &e);
    if (r != 0 && error_code(e) == ENOSPC && reserve_release(s->cfg.datastore_dir)) {
        log_warn("journal: %s; using the space kept in reserve", error_message(e));
        error_free(TAKE_PTR(e));
        r = journal_save(s->journal, d, &e);
    }
    if (r == 0)
        return 0;
    error_prefix(&e, "journal");
    return full_datastore(args, &s->cfg, e);
}

/* Configuration, the lock, the journal, the verification keys. Returns 0 or an exit code. */
static int session_open(const struct cli_args *args, struct session *s)
{
    memset(s, 0, sizeof(*s));
    s->lock_fd = -1;
    if (context_load_config(args, &s->cfg) != 0)
        return EXIT_FAILED;
    _cleanup_error_ struct error *e = NULL;
    s->lock_fd = store_lock_acquire(s->cfg.datastore_dir, &e);
    if (s->lock_fd < 0) {
        log_error("%s", error_message(e));
        return EXIT_FAILED;
    }
    /* Before anything else: no call of an earlier run that was killed still runs. */
    s->calls = calls_open(s->cfg.datastore_dir, LEFTOVER_WAIT_SECONDS, &e);
    if (!s->calls) {
        log_error("%s", error_message(e));
        return EXIT_FAILED;
    }
    int rc = open_journal(args, s);
    if (rc != 0)
        return rc;
    workdir_sweep_scratch(s->cfg.datastore_dir);
    if (s->cfg.verify_keys.n) {
        _cleanup_error_ struct error *kerr = NULL;
        s->keys = artifact_keys_load(&s->cfg.verify_keys, &kerr);
        if (!s->keys) {
            log_error("ArtifactVerifyKey: %s", error_message(kerr));
            return EXIT_FAILED;
        }
    }
    return 0;
}

static int run_engine(const struct cli_args *args, struct session *s, struct deployment *d, enum engine_command cmd)
{
    struct progress p;
    progress_init(&p, args->progress, stdout);
    struct engine_opts o = {
        .on_event = progress_event,
        .event_ctx = &p,
        .cfg = &s->cfg,
        .journal = s->journal,
        .keys = s->keys,
        .stop_before = engine_map_stop_points(&args->stop_before),
        .exit_on_reboot = args->exit_on_reboot,
        .command = cmd,
        .calls = s->calls,
    };
    return engine_map_exit_code(engine_run(&o, d), cmd);
}

/* Keeps copies of this deployment's Manifest and of the last successful one. */
static void store_manifest(struct session *s, const struct deployment *d)
{
    long long keep = 0;
    struct history_entry *h = NULL;
    size_t n = 0;
    if (journal_history(s->journal, JOURNAL_HISTORY_MAX, &h, &n) == 0)
        for (size_t i = 0; i < n && !keep; i++)
            if (h[i].status == DEP_SUCCESS)
                keep = h[i].id;
    history_free(h, n);
    _cleanup_error_ struct error *err = NULL;
    if (manifest_store_put(s->cfg.manifest_store, d->id, d->manifest_text ? d->manifest_text : "", keep, &err) != 0)
        log_warn("Manifest store: %s", error_message(err));
}

/* Loads the deployment in progress: 1 if there is one, 0 if none, -1 on error. */
static int load_current(struct session *s, struct deployment *d)
{
    _cleanup_error_ struct error *err = NULL;
    int r = journal_load_current(s->journal, d, &err);
    if (r < 0)
        log_error("journal: %s", error_message(err));
    return r;
}

/* Loads the deployment in progress to continue it (resume, rollback), whichever
 * mender-orchestrator wrote it (docs/compatibility.md): 1, 0 if none, -1 (logged). */
static int load_to_continue(struct session *s, struct deployment *d)
{
    int r = load_current(s, d);
    if (r <= 0)
        return r;
    _cleanup_error_ struct error *err = NULL;
    if (engine_adopt(d, true, &err) == 0)
        return 1;
    log_error("%s", error_message(err));
    return -1;
}

/* True when no deployment is in progress, so that install may start one; else says why not. */
static bool none_in_progress(struct session *s)
{
    _cleanup_(deployment_free) struct deployment cur = { 0 };
    int r = load_current(s, &cur);
    if (r > 0 && cur.rollback_failed)
        log_error("deployment %lld (Manifest %s) failed to roll back and is still open; fix the cause, then run "
                  "'mender-orchestrator rollback', or give up with 'mender-orchestrator rollback --give-up' "
                  "('mender-orchestrator status' names the Components and steps)",
                  cur.id, cur.manifest_name ? cur.manifest_name : "?");
    else if (r > 0)
        log_error("deployment %lld (Manifest %s) is in progress; run 'mender-orchestrator resume' to finish it "
                  "or 'mender-orchestrator rollback' to undo it",
                  cur.id, cur.manifest_name ? cur.manifest_name : "?");
    return r == 0;
}

/* Prepares d from the command line's Manifest: 0, or -1 with every error logged. */
static int prepare(const struct cli_args *args, struct session *s, struct deployment *d)
{
    struct prepare_opts o = context_prepare_opts(args, &s->cfg);
    o.install = true;
    o.exit_on_reboot = args->exit_on_reboot;
    o.env.calls = s->calls;
    struct diag_list diag = { 0 };
    int prepared = prepare_deployment(&o, &s->cfg, d, NULL, &diag);
    _cleanup_free_ char *first = diag.nerrors ? xstrdup(diag.errors[0]) : NULL;
    diag_flush(&diag);
    if (prepared == 0)
        return 0;
    /* Recorded only so that the Update Module's later calls find it (docs/state-machine.md, Preparation). */
    if (engine_map_stop_points(&args->stop_before) & STOP_CLEANUP) {
        d->status = DEP_IN_PROGRESS;
        d->started = time(NULL);
        engine_park_failed(d, first ? first : "preparation failed");
        engine_stamp(d, NULL);
        _cleanup_error_ struct error *err = NULL;
        if (journal_insert(s->journal, d, &err) != 0)
            log_error("journal: %s", error_message(err));
        else
            log_info("deployment %lld failed in preparation; stopped before Cleanup", d->id);
    }
    return -1;
}

int cmd_install(const struct cli_args *args)
{
    assert(args && args->positional.n == 1);
    _cleanup_(session_close) struct session s = { .lock_fd = -1 };
    int rc = session_open(args, &s);
    if (rc != 0)
        return rc;
    if (!none_in_progress(&s))
        return EXIT_FAILED;
    _cleanup_(deployment_free) struct deployment d = { 0 };
    if (prepare(args, &s, &d) != 0)
        return EXIT_FAILED;
    if (args->plan_hash && strcmp(args->plan_hash, d.plan_hash) != 0) {
        log_error("the plan is %s, not %s: the System or the release changed since it was planned; run "
                  "'mender-orchestrator plan' again",
                  d.plan_hash, args->plan_hash);
        return EXIT_FAILED;
    }
    d.status = DEP_IN_PROGRESS;
    d.started = time(NULL);
    d.seq = 1; /* members' call records start at 0: "no call yet" */
    engine_stamp(&d, NULL);
    _cleanup_error_ struct error *err = NULL;
    if (reserve_ensure(s.cfg.datastore_dir, &err) != 0) {
        log_error("%s", error_message(err));
        return EXIT_FAILED;
    }
    if (journal_insert(s.journal, &d, &err) != 0) {
        log_error("journal: %s", error_message(err));
        return EXIT_FAILED;
    }
    store_manifest(&s, &d);
    log_info("deployment %lld: installing Manifest %s", d.id, d.manifest_name);
    return run_engine(args, &s, &d, ENGINE_INSTALL);
}

int cmd_resume(const struct cli_args *args)
{
    assert(args);
    _cleanup_(session_close) struct session s = { .lock_fd = -1 };
    int rc = session_open(args, &s);
    if (rc != 0)
        return rc;
    _cleanup_(deployment_free) struct deployment d = { 0 };
    int cur = load_to_continue(&s, &d);
    if (cur == 0) {
        log_info("nothing to resume: no deployment is in progress");
        return EXIT_NOTHING;
    }
    if (cur < 0)
        return EXIT_FAILED;
    log_info("deployment %lld: resuming Manifest %s", d.id, d.manifest_name);
    store_manifest(&s, &d); /* again: the power may have gone before install wrote it */
    return run_engine(args, &s, &d, ENGINE_RESUME);
}

int cmd_rollback(const struct cli_args *args)
{
    assert(args);
    _cleanup_(session_close) struct session s = { .lock_fd = -1 };
    int rc = session_open(args, &s);
    if (rc != 0)
        return rc;
    _cleanup_(deployment_free) struct deployment d = { 0 };
    int cur = load_to_continue(&s, &d);
    if (cur == 0) {
        log_info("nothing to %s: no deployment is in progress", args->give_up ? "give up" : "roll back");
        return EXIT_NOTHING;
    }
    if (cur < 0)
        return EXIT_FAILED;
    _cleanup_error_ struct error *rb_err = NULL;
    bool requested = d.direction == DIR_FORWARD; /* else it failed and is rolling back already */
    if (args->give_up ? engine_give_up(&d, &rb_err) != 0
                      : engine_begin_rollback(&d, "rollback requested", &rb_err) != 0) {
        log_error("deployment %lld: cannot %s: %s", d.id, args->give_up ? "give up" : "roll back",
                  error_message(rb_err));
        return EXIT_FAILED;
    }
    d.rollback_requested |= requested; /* history: rolled_back, not failed */
    if (!args->give_up)
        (void)engine_retry_rollback(&d, true); /* after a failed rollback: the operator retries it */
    rc = save_first(args, &s, &d);
    if (rc != 0)
        return rc;
    log_info("deployment %lld: rolling back Manifest %s", d.id, d.manifest_name);
    store_manifest(&s, &d);
    return run_engine(args, &s, &d, ENGINE_ROLLBACK);
}

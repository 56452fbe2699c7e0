/* `install`, `resume` and `rollback` (orchestrator.md §6, §8): the journal's deployment
 * handed to the engine, one deployment at a time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/context.h"
#include "cli/exitcodes.h"
#include "store/reserve.h"
#include "cli/progress.h"
#include "engine/engine.h"
#include "iface/workdir.h"
#include "store/journal.h"
#include "store/lock.h"
#include "store/manifest_store.h"
#include "deploy/prepare.h"
#include "util/log.h"
#include "util/mem.h"

/* What every deploying command holds while it runs. */
struct session {
    struct config cfg;
    int lock_fd;
    struct journal *journal;
    struct artifact_keys *keys;
};

static void session_close(struct session *s)
{
    artifact_keys_free(s->keys);
    journal_close(s->journal);
    if (s->lock_fd >= 0)
        close(s->lock_fd);
    config_free(&s->cfg);
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
    s->journal = journal_open(s->cfg.datastore_dir, &e);
    if (!s->journal) {
        log_error("%s", error_message(e));
        return EXIT_FAILED;
    }
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
        .stop_before = &args->stop_before,
        .exit_on_reboot = args->exit_on_reboot,
        .command = cmd,
    };
    return engine_run(&o, d);
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

int cmd_install(const struct cli_args *args)
{
    struct session s;
    int rc = session_open(args, &s);
    struct deployment d = { 0 };
    _cleanup_error_ struct error *err = NULL;
    if (rc != 0)
        goto out;
    rc = EXIT_FAILED;
    int cur = load_current(&s, &d);
    if (cur != 0) {
        if (cur > 0)
            log_error("deployment %lld (Manifest %s) is in progress; run 'mender-orchestrator resume' to finish it "
                      "or 'mender-orchestrator rollback' to undo it",
                      d.id, d.manifest_name ? d.manifest_name : "?");
        goto out;
    }
    deployment_free(&d);
    memset(&d, 0, sizeof(d));
    struct diag_list diag = { 0 };
    int prepared = prepare_deployment(args, &s.cfg, args->positional.v[0], &d, &diag);
    char *first = diag.nerrors ? xstrdup(diag.errors[0]) : NULL;
    diag_flush(&diag);
    if (prepared != 0) {
        /* Recorded only so that the Update Module's later calls find it (§6.1). */
        if (strv_contains(&args->stop_before, "Cleanup")) {
            d.status = DEP_IN_PROGRESS;
            d.started = time(NULL);
            engine_park_failed(&d, first ? first : "preparation failed");
            if (journal_insert(s.journal, &d, &err) != 0)
                log_error("journal: %s", error_message(err));
            else
                log_info("deployment %lld failed in preparation; stopped before Cleanup", d.id);
        }
        free(first);
        goto out;
    }
    free(first);
    if (args->plan_hash && strcmp(args->plan_hash, d.plan_hash) != 0) {
        log_error("the plan is %s, not %s: the System or the release changed since it was planned; run "
                  "'mender-orchestrator plan' again",
                  d.plan_hash, args->plan_hash);
        goto out;
    }
    d.status = DEP_IN_PROGRESS;
    d.started = time(NULL);
    d.seq = 1; /* members' call records start at 0: "no call yet" */
    if (reserve_ensure(s.cfg.datastore_dir, &err) != 0) {
        log_error("%s", error_message(err));
        goto out;
    }
    if (journal_insert(s.journal, &d, &err) != 0) {
        log_error("journal: %s", error_message(err));
        goto out;
    }
    store_manifest(&s, &d);
    log_info("deployment %lld: installing Manifest %s", d.id, d.manifest_name);
    rc = run_engine(args, &s, &d, ENGINE_INSTALL);
out:
    deployment_free(&d);
    session_close(&s);
    return rc;
}

int cmd_resume(const struct cli_args *args)
{
    struct session s;
    int rc = session_open(args, &s);
    struct deployment d = { 0 };
    if (rc == 0) {
        int cur = load_current(&s, &d);
        if (cur == 0) {
            log_info("nothing to resume: no deployment is in progress");
            rc = EXIT_NOTHING;
        } else if (cur < 0) {
            rc = EXIT_FAILED;
        } else {
            log_info("deployment %lld: resuming Manifest %s", d.id, d.manifest_name);
            store_manifest(&s, &d); /* again: the power may have gone before install wrote it */
            rc = run_engine(args, &s, &d, ENGINE_RESUME);
        }
    }
    deployment_free(&d);
    session_close(&s);
    return rc;
}

int cmd_rollback(const struct cli_args *args)
{
    struct session s;
    int rc = session_open(args, &s);
    struct deployment d = { 0 };
    if (rc == 0) {
        int cur = load_current(&s, &d);
        char err[512];
        _cleanup_error_ struct error *e = NULL;
        if (cur == 0) {
            log_info("nothing to roll back: no deployment is in progress");
            rc = EXIT_NOTHING;
        } else if (cur < 0) {
            rc = EXIT_FAILED;
        } else if (engine_begin_rollback(&d, "rollback requested", err, sizeof(err)) != 0) {
            log_error("deployment %lld: cannot roll back: %s", d.id, err);
            rc = EXIT_FAILED;
        } else if (journal_save(s.journal, &d, &e) != 0) {
            log_error("journal: %s", error_message(e));
            rc = EXIT_FAILED;
        } else {
            log_info("deployment %lld: rolling back Manifest %s", d.id, d.manifest_name);
            store_manifest(&s, &d);
            rc = run_engine(args, &s, &d, ENGINE_ROLLBACK);
        }
    }
    deployment_free(&d);
    session_close(&s);
    return rc;
}

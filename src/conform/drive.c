/* interface-check's driver: a scratch data dir and datastore, the Interface linked into
 * it, and the protocol's calls made through iface/ exactly as the engine makes them, in
 * the cycles of docs/interface-check.md. Each call is timed and followed by a look at
 * what it left behind (observe.c). */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "artifact/provides.h"
#include "conform/conform.h"
#include "conform/conform_int.h"
#include "deploy/select.h"
#include "iface/proc.h"
#include "iface/runner.h"
#include "iface/stream.h"
#include "iface/workdir.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/mem.h"

#define QUERY_SLOW_SECONDS 1.0
#define UNKNOWN_CALL "InterfaceCheckUnknownCall"
#define DECOY_ID "interface-check-decoy"

enum cycle_kind { CY_ROLLBACK_INSTALL, CY_POWER_CUT, CY_ROLLBACK_COMMIT, CY_SUCCESS };

/* The deployments the kit plays, in order; the Component ends on the first Artifact,
 * or on the second when one was given. */
static const struct cycle {
    const char *name;
    enum cycle_kind kind;
    int artifact;
} cycles[] = {
    { "rollback-after-install", CY_ROLLBACK_INSTALL, 0 },
    { "power-cut", CY_POWER_CUT, 0 },
    { "rollback-after-commit", CY_ROLLBACK_COMMIT, 0 },
    { "install", CY_SUCCESS, 0 },
    { "upgrade", CY_SUCCESS, 1 },
};

struct run {
    const struct conform_opts *o;
    struct conform_report *rep;
    struct iface_env env;
    struct iface_target t;
    char *scratch, *data, *datastore, *id, *workdir;
    struct artifact_info info[2];
    struct strv roots, skip; /* what the writes check watches, and what it leaves out */
    const char *cycle;       /* of the calls being made */
    const char *artifact;    /* path, of the cycle */
    const struct artifact_info *ai;
    double install_seconds; /* the first complete ArtifactInstall */
    double slowest;
    const char *slowest_call;
    bool supports_rollback;
    bool cutting; /* the power cut's kill: what it kills is no leftover */
};

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- one call: timed, and what it left behind ------------------------------------------ */

struct call_watch {
    struct strv snap;
    double start;
};

static void call_begin(struct run *r, struct call_watch *w)
{
    *w = (struct call_watch){ 0 };
    snapshot_take(&w->snap, &r->roots, &r->skip);
    w->start = now_seconds();
}

static void call_end(struct run *r, struct call_watch *w, const char *call, bool ok, bool query)
{
    double dt = now_seconds() - w->start;
    report_call(r->rep, r->cycle, call, dt, ok);
    if (r->o->timeout_seconds > 0 && dt >= r->o->timeout_seconds)
        check_set(r->rep, CK_TIMING, CS_FAIL, "%s (%s) ran into the --timeout of %g s and was killed", call, r->cycle,
                  r->o->timeout_seconds);
    else if (query && dt > QUERY_SLOW_SECONDS)
        check_set(r->rep, CK_TIMING, CS_WARN,
                  "%s took %.1f s: queries are asked of every Component before anything starts (plan, "
                  "install, show-provides, the inventory): answer within %g s",
                  call, dt, QUERY_SLOW_SECONDS);
    if (dt > r->slowest) {
        r->slowest = dt;
        r->slowest_call = call;
    }
    struct strv after = { 0 };
    snapshot_take(&after, &r->roots, &r->skip);
    _cleanup_free_ char *changed = snapshot_diff(&w->snap, &after, &r->skip);
    if (changed)
        check_set(r->rep, CK_WRITES, CS_FAIL, "%s (%s) changed %s, outside its work dir", call, r->cycle, changed);
    strv_free(&after);
    strv_free(&w->snap);
    struct strv left = { 0 };
    int killed;
    observe_leftovers(&left, &killed);
    if (left.n)
        check_set(r->rep, CK_PROCESSES, CS_FAIL,
                  "%s (%s) left process %s running after it exited (interface-check killed it)", call, r->cycle,
                  left.v[0]);
    if (killed && !r->cutting)
        check_set(r->rep, CK_PROCESSES, CS_WARN,
                  "%s (%s) left %d process(es) in its process group, killed when the call ended: wait for what "
                  "you start (a daemon must leave the group with setsid)",
                  call, r->cycle, killed);
    strv_free(&left);
}

static int state(struct run *r, const char *name, struct error **err)
{
    struct call_watch w;
    call_begin(r, &w);
    int rc = iface_state(&r->env, &r->t, name, r->workdir, err);
    call_end(r, &w, name, rc == 0, false);
    return rc;
}

/* A Yes/No query in the work dir, judged by the answers check. On a failed or invalid
 * answer *a is what the engine goes on with (dflt), and -1 is returned. */
static int answer(struct run *r, const char *q, bool automatic, enum answer dflt, enum answer *a)
{
    struct call_watch w;
    _cleanup_error_ struct error *err = NULL;
    call_begin(r, &w);
    int rc = iface_query_answer(&r->env, &r->t, q, r->workdir, automatic, dflt, a, &err);
    call_end(r, &w, q, rc == 0, true);
    if (rc == 0) {
        check_set(r->rep, CK_ANSWERS, CS_PASS, "every Yes/No query answered validly");
        return 0;
    }
    *a = dflt;
    bool invalid = error_code(err) == EPROTO;
    if (!invalid && strcmp(q, "SupportsRollback") == 0) /* the engine logs it and takes No */
        check_set(r->rep, CK_ANSWERS, CS_WARN, "%s failed, which counts as No: %s", q, error_message(err));
    else
        check_set(r->rep, CK_ANSWERS, CS_FAIL, "%s (%s): %s", q, r->cycle, error_message(err));
    return -1;
}

/* Provides in a scratch dir, judged by the provides check when it fails. */
static int provides(struct run *r, struct kvlist *out)
{
    struct call_watch w;
    _cleanup_error_ struct error *err = NULL;
    call_begin(r, &w);
    int rc = iface_provides(&r->env, &r->t, out, &err);
    call_end(r, &w, "Provides", rc == 0, true);
    if (rc != 0)
        check_set(r->rep, CK_PROVIDES, CS_FAIL, "%s (%s)", error_message(err), r->cycle);
    return rc;
}

/* ---- the queries outside a deployment ---------------------------------------------------- */

static void check_unknown_call(struct run *r)
{
    struct call_watch w;
    _cleanup_error_ struct error *err = NULL;
    _cleanup_free_ char *out = NULL;
    size_t len = 0;
    call_begin(r, &w);
    int rc = iface_query(&r->env, &r->t, UNKNOWN_CALL, NULL, &out, &len, &err);
    call_end(r, &w, UNKNOWN_CALL, rc == 0, true);
    if (rc != 0)
        check_set(r->rep, CK_UNKNOWN_CALL, CS_FAIL, "%s: exit 0 for calls you do not know", error_message(err));
    else if (len)
        check_set(r->rep, CK_UNKNOWN_CALL, CS_FAIL, "%s printed %zu byte(s) on stdout; print nothing", UNKNOWN_CALL,
                  len);
    else
        check_set(r->rep, CK_UNKNOWN_CALL, CS_PASS, "%s printed nothing and exited 0", UNKNOWN_CALL);
}

static void check_identity(struct run *r)
{
    struct call_watch w;
    _cleanup_error_ struct error *err = NULL;
    call_begin(r, &w);
    int rc = iface_identity(&r->env, &r->t, &r->id, &err);
    call_end(r, &w, "Identity", rc == 0, true);
    if (rc != 0)
        check_set(r->rep, CK_IDENTITY, CS_FAIL, "%s", error_message(err));
    else if (!r->id)
        check_set(r->rep, CK_IDENTITY, CS_WARN,
                  "Identity printed nothing: the orchestrator names the Component %s-<n> by its place in the "
                  "Topology",
                  r->t.component_type);
    else
        check_set(r->rep, CK_IDENTITY, CS_PASS, "id=%s", r->id);
    if (!r->id)
        r->id = xasprintf("%s-1", r->t.component_type);
    r->t.id = r->id;
}

static void check_provides(struct run *r)
{
    struct kvlist p = { 0 };
    r->cycle = "queries";
    if (provides(r, &p) == 0) {
        if (select_has_version_key(&p, r->t.interface))
            check_set(r->rep, CK_PROVIDES, CS_PASS, "%zu key(s), with the version key", p.n);
        else
            check_set(r->rep, CK_PROVIDES, CS_FAIL, "no version key: print rootfs-image.%s.version=<installed version>",
                      r->t.interface);
    }
    kvl_free(&p);
}

static void check_inventory(struct run *r)
{
    struct call_watch w;
    _cleanup_error_ struct error *err = NULL;
    struct strv lines = { 0 };
    call_begin(r, &w);
    int rc = iface_inventory(&r->env, &r->t, &lines, &err);
    call_end(r, &w, "Inventory", rc == 0, true);
    if (rc != 0)
        check_set(r->rep, CK_INVENTORY, CS_FAIL, "%s", error_message(err));
    else
        check_set(r->rep, CK_INVENTORY, CS_PASS, "%zu line(s)", lines.n);
    strv_free(&lines);
}

/* ---- a deployment ------------------------------------------------------------------------- */

/* The first key whose value differs between want and got ("key=got (want: value)"), or
 * NULL. Caller frees. */
static char *first_difference(const struct kvlist *want, const struct kvlist *got)
{
    for (size_t i = 0; i < want->n; i++) {
        const char *v = kvl_get(got, want->items[i].key);
        if (!v || strcmp(v, want->items[i].value) != 0)
            return xasprintf("%s=%s, expected %s", want->items[i].key, v ? v : "(missing)", want->items[i].value);
    }
    for (size_t i = 0; i < got->n; i++)
        if (!kvl_get(want, got->items[i].key))
            return xasprintf("%s=%s, expected no such key", got->items[i].key, got->items[i].value);
    return NULL;
}

/* The System-device reboot of an Automatic answer: --reboot-command, run as the engine
 * runs RebootCommand (no shell, its output logged), but expected to return once the
 * "reboot" is over. Returns 0, or -1 with *err. */
static int system_reboot(struct run *r, struct error **err)
{
    _cleanup_free_ char *path = fs_resolve_program(r->o->reboot_command);
    char *argv[] = { path, NULL };
    struct proc_spec spec = { .path = path,
                              .argv = argv,
                              .stdout_level = LOG_INFO,
                              .timeout_seconds = r->o->timeout_seconds };
    _cleanup_(proc_result_free) struct proc_result res = { 0 };
    if (proc_run(&spec, &res, err) != 0 || proc_check(&res, err) != 0)
        return error_prefix(err, "--reboot-command");
    return 0;
}

/* NeedsArtifactReboot and the reboot calls it asks for (forward, or in a rollback).
 * Returns 0, or -1 with *err when a reboot call failed. */
static int reboot_steps(struct run *r, bool rollback, struct error **err)
{
    enum answer a;
    (void)answer(r, "NeedsArtifactReboot", true, ANSWER_NO, &a);
    if (a == ANSWER_YES && rollback) {
        _cleanup_error_ struct error *logged = NULL; /* only logged: the verify decides */
        (void)state(r, "ArtifactRollbackReboot", &logged);
    } else if (a == ANSWER_YES && state(r, "ArtifactReboot", err) != 0) {
        return -1;
    }
    if (a == ANSWER_AUTOMATIC) {
        if (!r->o->reboot_command) {
            check_set(r->rep, CK_REBOOT, CS_WARN,
                      "NeedsArtifactReboot answered Automatic: the System device would reboot here; without "
                      "--reboot-command interface-check does not reboot it, nor call %s",
                      rollback ? "ArtifactVerifyRollbackReboot" : "ArtifactVerifyReboot");
            return 0;
        }
        if (system_reboot(r, err) != 0)
            return -1;
    }
    if (a != ANSWER_NO && state(r, rollback ? "ArtifactVerifyRollbackReboot" : "ArtifactVerifyReboot", err) != 0)
        return -1;
    if (!rollback)
        check_set(r->rep, CK_REBOOT, CS_PASS,
                  a == ANSWER_NO ? "no reboot needed" : "ArtifactReboot and ArtifactVerifyReboot exited 0");
    return 0;
}

/* The rollback path after a failure (docs/protocol.md, The rollback path), judged by
 * check id (CK_COUNT: by none); base is Provides before the install. */
static void rollback_path(struct run *r, enum check_id id, const struct kvlist *base, const char *when)
{
    _cleanup_error_ struct error *err = NULL;
    if (!r->supports_rollback) {
        check_set(r->rep, id, CS_WARN,
                  "SupportsRollback answered No: a failure %s leaves the Component as it is and the System "
                  "inconsistent (exit status 3)",
                  when);
        (void)state(r, "ArtifactFailure", &err);
        return;
    }
    if (state(r, "ArtifactRollback", &err) != 0) {
        check_set(r->rep, id, CS_FAIL, "%s: %s", when, error_message(err));
        return;
    }
    if (reboot_steps(r, true, &err) != 0 || state(r, "ArtifactFailure", &err) != 0) {
        check_set(r->rep, id, CS_FAIL, "rollback %s: %s", when, error_message(err));
        return;
    }
    struct kvlist now = { 0 };
    if (provides(r, &now) == 0) {
        _cleanup_free_ char *diff = first_difference(base, &now);
        if (diff)
            check_set(r->rep, id, CS_FAIL, "after ArtifactRollback %s Provides says %s (as before the install)", when,
                      diff);
        else
            check_set(r->rep, id, CS_PASS, "ArtifactRollback %s gave back the Provides of before", when);
    }
    kvl_free(&now);
}

static void cleanup_calls(struct run *r, bool twice, const struct kvlist *installed)
{
    _cleanup_error_ struct error *err = NULL;
    if (state(r, "Cleanup", &err) != 0) {
        check_set(r->rep, CK_CLEANUP, CS_FAIL, "%s (%s)", error_message(err), r->cycle);
        return;
    }
    if (installed) {
        struct kvlist now = { 0 };
        if (provides(r, &now) == 0) {
            _cleanup_free_ char *diff = first_difference(installed, &now);
            if (diff)
                check_set(r->rep, CK_CLEANUP, CS_FAIL, "Cleanup changed the installed software: Provides says %s",
                          diff);
        }
        kvl_free(&now);
    }
    check_set(r->rep, CK_CLEANUP, CS_PASS, "Cleanup exited 0 and left Provides as it was");
    if (!twice)
        return;
    if (state(r, "Cleanup", &err) != 0)
        check_set(r->rep, CK_CLEANUP_REPEAT, CS_FAIL, "Cleanup called again: %s", error_message(err));
    else
        check_set(r->rep, CK_CLEANUP_REPEAT, CS_PASS, "the second Cleanup exited 0");
}

/* A failure the cycle does not judge: the engine's rollback, then Cleanup. */
static void give_up(struct run *r, const struct kvlist *base, bool installed)
{
    if (installed)
        rollback_path(r, CK_COUNT, base, "");
    cleanup_calls(r, false, NULL);
}

/* The refinements of rollback are judged only once the plain rollback works. */
static enum check_id if_rollback_works(struct run *r, enum check_id id)
{
    if (r->rep->r[CK_ROLLBACK].status == CS_PASS)
        return id;
    check_set(r->rep, id, CS_SKIP, "not judged: the rollback check did not pass");
    return CK_COUNT;
}

static void power_cut(struct run *r, const struct kvlist *base)
{
    _cleanup_error_ struct error *err = NULL;
    struct call_watch w;
    call_begin(r, &w);
    struct proc *p = iface_start_state(&r->env, &r->t, "ArtifactInstall", r->workdir, &err);
    if (!p) {
        call_end(r, &w, "ArtifactInstall", false, false);
        check_set(r->rep, CK_POWER_CUT, CS_FAIL, "%s", error_message(err));
        return;
    }
    double at = r->install_seconds > 0 ? r->install_seconds / 2 : 0.05;
    while (!proc_has_exited(p) && now_seconds() - w.start < at)
        usleep(2000);
    bool cut = !proc_has_exited(p);
    proc_kill(p);
    struct proc_result res;
    proc_finish(p, &res);
    proc_result_free(&res);
    r->cutting = true;
    call_end(r, &w, "ArtifactInstall", false, false);
    r->cutting = false;
    _cleanup_free_ char *when = xasprintf(cut ? "after ArtifactInstall was killed at %.2f s"
                                              : "after ArtifactInstall (it ended before the cut at %.2f s)",
                                          at);
    rollback_path(r, if_rollback_works(r, CK_POWER_CUT), base, when);
}

static int download(struct run *r, enum answer unpacked, enum answer sizes)
{
    _cleanup_error_ struct error *err = NULL;
    struct download_opts d = {
        .env = &r->env,
        .target = &r->t,
        .workdir = r->workdir,
        .artifact_path = r->artifact,
        .unpacked = unpacked == ANSWER_YES,
        .with_sizes = sizes == ANSWER_YES,
    };
    struct download_result res = { 0 };
    const char *name = d.with_sizes ? "DownloadWithFileSizes" : "Download";
    struct call_watch w;
    call_begin(r, &w);
    int rc = iface_download(&d, &res, &err);
    call_end(r, &w, name, rc == 0, false);
    if (rc != 0) {
        check_set(r->rep, CK_DOWNLOAD, CS_FAIL, "%s (%s)", error_message(err), r->cycle);
        return -1;
    }
    check_set(r->rep, CK_DOWNLOAD, CS_PASS, "%s %s %llu payload byte(s)%s", name,
              res.streamed ? "streamed" : "left the streams; files/ got", (unsigned long long)res.bytes,
              unpacked == ANSWER_YES ? "" : " (the whole .mender)");
    return 0;
}

/* The forward steps up to and including ArtifactCommit; returns 0 when all of them
 * succeeded, else -1 once the failure was handled (the rollback and Cleanup made). */
static int forward(struct run *r, const struct cycle *c, const struct kvlist *base)
{
    _cleanup_error_ struct error *err = NULL;
    enum answer unpacked, sizes;
    (void)answer(r, "NeedsUnpackedArtifact", false, ANSWER_YES, &unpacked);
    (void)answer(r, "ProvidePayloadFileSizes", false, ANSWER_NO, &sizes);
    if (download(r, unpacked, sizes) != 0) {
        give_up(r, base, false);
        return -1;
    }
    enum answer rb;
    (void)answer(r, "SupportsRollback", false, ANSWER_NO, &rb);
    r->supports_rollback = rb == ANSWER_YES;
    if (c->kind == CY_POWER_CUT) {
        power_cut(r, base);
        cleanup_calls(r, false, NULL);
        return -1;
    }
    double t0 = now_seconds();
    if (state(r, "ArtifactInstall", &err) != 0) {
        check_set(r->rep, CK_INSTALL, CS_FAIL, "%s (%s)", error_message(err), r->cycle);
        give_up(r, base, true);
        return -1;
    }
    if (!(r->install_seconds > 0))
        r->install_seconds = now_seconds() - t0;
    check_set(r->rep, CK_INSTALL, CS_PASS, "ArtifactInstall exited 0");
    if (reboot_steps(r, false, &err) != 0) {
        check_set(r->rep, CK_REBOOT, CS_FAIL, "%s (%s)", error_message(err), r->cycle);
        give_up(r, base, true);
        return -1;
    }
    if (c->kind == CY_ROLLBACK_INSTALL) {
        rollback_path(r, CK_ROLLBACK, base, "after ArtifactInstall");
        enum check_id id = if_rollback_works(r, CK_ROLLBACK_REPEAT);
        if (id != CK_COUNT && state(r, "ArtifactRollback", &err) != 0) {
            check_set(r->rep, id, CS_FAIL, "ArtifactRollback called again: %s", error_message(err));
        } else if (id != CK_COUNT) {
            struct kvlist now = { 0 };
            if (provides(r, &now) == 0) {
                _cleanup_free_ char *diff = first_difference(base, &now);
                if (diff)
                    check_set(r->rep, id, CS_FAIL, "after the second ArtifactRollback Provides says %s", diff);
                else
                    check_set(r->rep, id, CS_PASS, "the second ArtifactRollback exited 0 and changed nothing");
            }
            kvl_free(&now);
        }
        cleanup_calls(r, false, NULL);
        return -1;
    }
    if (state(r, "ArtifactCommit", &err) != 0) {
        check_set(r->rep, CK_COMMIT, CS_FAIL, "%s (%s)", error_message(err), r->cycle);
        give_up(r, base, true);
        return -1;
    }
    check_set(r->rep, CK_COMMIT, CS_PASS, "ArtifactCommit exited 0");
    if (c->kind == CY_ROLLBACK_COMMIT) {
        rollback_path(r, if_rollback_works(r, CK_ROLLBACK_COMMIT), base, "after ArtifactCommit");
        cleanup_calls(r, false, NULL);
        return -1;
    }
    return 0;
}

/* After a successful install: what Provides says, and whether the engine would skip
 * the Component for the same Artifact; then Cleanup, twice. */
static void installed(struct run *r, const struct kvlist *base)
{
    struct kvlist want = { 0 }, got = { 0 };
    provides_apply(base, r->ai, &want);
    if (provides(r, &got) == 0) {
        const char *w = select_current_version(&want, r->t.interface),
                   *g = select_current_version(&got, r->t.interface);
        if (!g || !w || strcmp(g, w) != 0)
            check_set(r->rep, CK_PROVIDES_AFTER, CS_FAIL,
                      "after ArtifactInstall and ArtifactCommit of %s Provides reports version %s; the Artifact "
                      "provides %s",
                      r->ai->artifact_name, g ? g : "(none)", w ? w : "(none)");
        else
            check_set(r->rep, CK_PROVIDES_AFTER, CS_PASS, "Provides reports %s after the install", g);
        if (r->rep->r[CK_PROVIDES_AFTER].status != CS_PASS) {
            check_set(r->rep, CK_ALREADY_INSTALLED, CS_SKIP, "not judged: provides-after-install did not pass");
        } else if (provides_installed(&got, r->ai)) {
            check_set(r->rep, CK_ALREADY_INSTALLED, CS_PASS, "installing %s again would skip the Component",
                      r->ai->artifact_name);
        } else {
            _cleanup_free_ char *diff = first_difference(&want, &got);
            check_set(r->rep, CK_ALREADY_INSTALLED, CS_FAIL,
                      "installing %s again would install it again: Provides says %s", r->ai->artifact_name,
                      diff ? diff : "something else");
        }
        cleanup_calls(r, true, &got);
    } else {
        cleanup_calls(r, true, NULL);
    }
    kvl_free(&want);
    kvl_free(&got);
}

static void run_cycle(struct run *r, const struct cycle *c)
{
    _cleanup_error_ struct error *err = NULL;
    r->cycle = c->name;
    r->artifact = r->o->artifacts[c->artifact];
    r->ai = &r->info[c->artifact];
    struct kvlist base = { 0 };
    if (provides(r, &base) != 0)
        return;
    if (workdir_create(r->workdir, r->t.component_type, &base, r->ai, &err) != 0) {
        check_set(r->rep, CK_DOWNLOAD, CS_FAIL, "work dir: %s", error_message(err));
    } else if (forward(r, c, &base) == 0) {
        installed(r, &base);
    }
    workdir_remove(r->workdir);
    kvl_free(&base);
}

/* ---- setting up -------------------------------------------------------------------------- */

static int read_artifacts(struct run *r, struct error **err)
{
    for (int i = 0; i < 2 && r->o->artifacts[i]; i++)
        if (artifact_read_header_file(r->o->artifacts[i], NULL, &r->info[i], err) != 0)
            return error_prefix(err, "%s", r->o->artifacts[i]);
    const char *type = r->o->component_type;
    if (!type && r->info[0].compatible_types.n)
        type = r->info[0].compatible_types.v[0];
    if (!type)
        return error_set(err, 0, "%s: the Artifact names no device type; give --component-type", r->o->artifacts[0]);
    r->rep->component_type = xstrdup(type);
    for (int i = 0; i < 2 && r->o->artifacts[i]; i++)
        if (!provides_compatible(&r->info[i], type))
            return error_set(err, 0, "%s: not made for the component type %s: give the right --component-type",
                             r->o->artifacts[i], type);
    return 0;
}

static bool valid_name(const char *s)
{
    return *s && strcmp(s, ".") != 0 && strcmp(s, "..") != 0 &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == strlen(s);
}

/* The scratch dir: data/interfaces/v1/<name> -> the Interface, datastore/ with another
 * Component's work dir in it (a decoy no call may touch). */
static int make_scratch(struct run *r, const char *abs_iface, struct error **err)
{
    const char *parent = r->o->scratch_parent ? r->o->scratch_parent : getenv("TMPDIR");
    _cleanup_free_ char *tmpl = xasprintf("%s/mo-interface-check.XXXXXX", parent && *parent ? parent : "/tmp");
    if (!mkdtemp(tmpl))
        return error_set_errno(err, errno, "%s", tmpl);
    /* absolute: argv[0] and argv[2] are built from it (docs/protocol.md, How a call is made) */
    r->scratch = realpath(tmpl, NULL);
    if (!r->scratch) {
        int e = errno;
        rmdir(tmpl);
        return error_set_errno(err, e, "%s", tmpl);
    }
    r->data = xasprintf("%s/data", r->scratch);
    r->datastore = xasprintf("%s/datastore", r->scratch);
    _cleanup_free_ char *dir = xasprintf("%s/interfaces/v1", r->data);
    _cleanup_free_ char *link = xasprintf("%s/%s", dir, r->t.interface);
    _cleanup_free_ char *decoy = xasprintf("%s/work/%s/%s/tmp", r->datastore, r->t.component_type, DECOY_ID);
    _cleanup_free_ char *keep = xasprintf("%s/keep", decoy);
    if (workdir_mkdirs(dir) != 0 || symlink(abs_iface, link) != 0 || workdir_mkdirs(decoy) != 0 ||
        fs_write_atomic(keep, "another Component's\n", 20, 0600) != 0)
        return error_set_errno(err, errno, "%s", r->scratch);
    return 0;
}

static int setup(struct run *r, struct error **err)
{
    const struct conform_opts *o = r->o;
    char abs_iface[PATH_MAX];
    struct stat st;
    if (!realpath(o->interface, abs_iface) || stat(abs_iface, &st) != 0 || !S_ISREG(st.st_mode) ||
        access(abs_iface, X_OK) != 0) {
        check_set(r->rep, CK_EXECUTABLE, CS_FAIL, "%s: not an executable file: install it with mode 0755",
                  o->interface);
        return 1;
    }
    check_set(r->rep, CK_EXECUTABLE, CS_PASS, "%s", abs_iface);
    if (!valid_name(r->t.interface))
        return error_set(err, 0, "%s: an Interface's name is one path part of [A-Za-z0-9._-]", o->interface);
    if (read_artifacts(r, err) != 0)
        return -1;
    r->t.component_type = r->rep->component_type;
    if (make_scratch(r, abs_iface, err) != 0)
        return -1;
    /* The Interface sees the scratch datastore, and keeps its own state there. */
    setenv("MENDER_ORCHESTRATOR_DATASTORE_DIR", r->datastore, 1);
    setenv("MENDER_ORCHESTRATOR_DATA_DIR", r->data, 1);
    r->env =
        (struct iface_env){ .data_dir = r->data, .datastore = r->datastore, .timeout_seconds = o->timeout_seconds };
    if (observe_start() != 0)
        return error_set_errno(err, errno, "cannot watch for processes left behind (PR_SET_CHILD_SUBREAPER)");
    strv_push(&r->roots, r->datastore);
    for (size_t i = 0; o->watch && i < o->watch->n; i++) {
        char abs[PATH_MAX];
        if (!realpath(o->watch->v[i], abs))
            return error_set_errno(err, errno, "--watch %s", o->watch->v[i]);
        strv_push(&r->roots, abs);
    }
    strv_push_owned(&r->skip, xasprintf("%s/query", r->datastore));
    strv_push_owned(&r->skip, xasprintf("%s/interface-data/%s", r->datastore, r->t.interface));
    return 0;
}

int conform_run(const struct conform_opts *o, struct conform_report *rep, struct error **err)
{
    assert(o && o->interface && o->artifacts[0] && rep);
    memset(rep, 0, sizeof(*rep));
    const char *base = strrchr(o->interface, '/');
    rep->interface = xstrdup(base ? base + 1 : o->interface);
    struct run r = { .o = o, .rep = rep };
    r.t = (struct iface_target){ .interface = rep->interface, .args = o->args };
    int rc = setup(&r, err);
    if (rc == 0) {
        r.cycle = "queries";
        check_unknown_call(&r);
        check_identity(&r);
        r.workdir = workdir_path(r.datastore, r.t.component_type, r.id);
        strv_push(&r.skip, r.workdir);
        check_provides(&r);
        check_inventory(&r);
        for (size_t i = 0; i < sizeof(cycles) / sizeof(cycles[0]); i++)
            if (o->artifacts[cycles[i].artifact])
                run_cycle(&r, &cycles[i]);
        check_set(rep, CK_TIMING, CS_PASS, "the slowest call: %s, %.2f s", r.slowest_call ? r.slowest_call : "none",
                  r.slowest);
        check_set(rep, CK_PROCESSES, CS_PASS, "every call's processes ended with it");
        check_set(rep, CK_WRITES, CS_PASS, "nothing changed outside the work dir in %zu watched folder(s)", r.roots.n);
    }
    if (r.scratch && !o->keep)
        workdir_remove(r.scratch);
    else if (r.scratch)
        log_info("interface-check: the scratch dir %s is kept", r.scratch);
    for (int i = 0; i < 2; i++)
        artifact_info_free(&r.info[i]);
    strv_free(&r.roots);
    strv_free(&r.skip);
    free(r.scratch);
    free(r.data);
    free(r.datastore);
    free(r.id);
    free(r.workdir);
    return rc < 0 ? -1 : 0;
}

#include "engine/engine.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/program.h"
#include "iface/proc.h"
#include "iface/runner.h"
#include "iface/stream.h"
#include "iface/workdir.h"
#include "repo/cache.h"
#include "repo/fetch.h"
#include "repo/source.h"
#include "store/reserve.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/strv.h"
#include "util/testhook.h"
#include "util/thread.h"

#define LOOP_GUARD_MAX 5          /* resumes at one position before the deployment is failed */
#define RESUME_ROLLBACK_RETRIES 3 /* retry passes resume starts by itself for a rollback that failed */

struct engine {
    const struct engine_opts *o;
    struct deployment *d;
    struct program prog;
    struct iface_env env;
    pthread_mutex_t lock; /* guards d while calls run in parallel */
    bool journal_failed;
    struct fetch_opts fetch; /* repository Artifacts (docs/repository.md) */
    struct repo_cache *cache;
    /* Group commit: save requests made, requests covered by a durable write, a write in
     * progress (made without the lock), signalled when one ends. */
    unsigned long long save_req, save_done;
    bool flushing;
    pthread_cond_t saved;
};

enum step_result { STEP_OK, STEP_FAILED, STEP_JUMP, STEP_STOP, STEP_PARK, STEP_REBOOT, STEP_ERROR };

/* ---- small helpers ---------------------------------------------------------------------- */

static void emit(struct engine *e, enum engine_event_kind kind, const struct member *m, const char *state, int group,
                 int rc)
{
    if (!e->o->on_event)
        return;
    struct engine_event ev = { .kind = kind,
                               .d = e->d,
                               .m = m,
                               .state = state,
                               .rc = rc,
                               .group_order = group >= 0 && (size_t)group < e->prog.ngroups ? e->prog.groups[group]
                                                                                            : 0 };
    e->o->on_event(e->o->event_ctx, &ev);
}

/* Saves d durably; the caller holds e->lock. A failed save stops the engine before it
 * acts. Group commit: d is serialized under the lock and written without it, so members
 * running in parallel do not wait for each other's writes one by one: a request made
 * while a write is in progress is covered by the next write, which takes every change
 * made until it starts. Returns once a write that started after this request is durable
 * (the lock is released meanwhile). Each request counts as one commit for the test hooks,
 * whatever the writes, so crash points stay the same from run to run. */
static int save_locked(struct engine *e)
{
    unsigned long long mine = ++e->save_req;
    while (!e->journal_failed && e->save_done < mine) {
        if (e->flushing) {
            pthread_cond_wait(&e->saved, &e->lock);
            continue;
        }
        e->flushing = true;
        unsigned long long upto = e->save_req;
        engine_stamp(e->d, &e->prog);
        struct journal_snapshot s;
        journal_snapshot_take(e->o->journal, &s, e->d);
        pthread_mutex_unlock(&e->lock);
        _cleanup_error_ struct error *err = NULL;
        int r = journal_save_snapshot(e->o->journal, &s, &err);
        if (r != 0 && reserve_release(e->o->cfg->datastore_dir)) { /* the disk is full: use the reserve */
            log_warn("journal: %s; using the space kept in reserve", error_message(err));
            error_free(TAKE_PTR(err));
            r = journal_save_snapshot(e->o->journal, &s, &err);
        }
        journal_snapshot_free(&s);
        pthread_mutex_lock(&e->lock);
        e->flushing = false;
        if (r == 0) {
            e->save_done = upto;
        } else {
            if (!e->journal_failed)
                log_error("journal: %s", error_message(err));
            e->journal_failed = true;
        }
        pthread_cond_broadcast(&e->saved);
    }
    if (e->journal_failed)
        return -1;
    testhook_commit("save", e->d->seq);
    return 0;
}

static int save(struct engine *e)
{
    pthread_mutex_lock(&e->lock);
    int r = save_locked(e);
    pthread_mutex_unlock(&e->lock);
    return r;
}

static void set_str(char **dst, const char *src)
{
    free(*dst);
    *dst = src ? xstrdup(src) : NULL;
}

static struct iface_target target_of(const struct member *m)
{
    return (struct iface_target){ .component_type = m->component_type,
                                  .id = m->id,
                                  .interface = m->interface,
                                  .args = &m->args,
                                  .legacy = m->legacy };
}

static char *read_boot_id(void)
{
    char *s = NULL;
    size_t n;
    if (fs_read_file("/proc/sys/kernel/random/boot_id", 4096, &s, &n) != 0)
        return xstrdup("unknown");
    while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
        s[--n] = '\0';
    return s;
}

static bool stop_requested(const struct engine *e, const struct step_def *def)
{
    return (e->o->stop_before & def->stop) != 0;
}

/* ---- one call for one member ------------------------------------------------------------- */

static void hex_to_bin(const char *hex, unsigned char out[32])
{
    for (int i = 0; i < 32; i++) {
        unsigned v = 0;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (unsigned char)v;
    }
}

struct download_progress {
    struct engine *e;
    const struct member *m;
};

static void on_download_progress(void *ctx, uint64_t bytes)
{
    struct download_progress *p = ctx;
    if (!p->e->o->on_event)
        return;
    struct engine_event ev = { .kind = EV_PROGRESS,
                               .d = p->e->d,
                               .m = p->m,
                               .state = "Download",
                               .bytes = bytes,
                               .total = p->m->artifact_size };
    p->e->o->on_event(p->e->o->event_ctx, &ev);
}

/* The header of m's Artifact: from its first bytes in the repository, or from the local
 * file. */
static int read_header(struct engine *e, const struct member *m, struct artifact_info *info, struct error **err)
{
    if (!m->artifact_url)
        return artifact_read_header_file(m->artifact_path, e->o->keys, info, err);
    /* The header's bytes only (the file is checked whole at Download): the first 1 MiB
     * holds it but for unusually large headers, then the whole file. */
    struct repo_ref ref = { m->artifact_url, m->artifact_size, m->artifact_sha256 };
    uint64_t head_len = 1024 * 1024;
    for (;;) {
        bool part = head_len < m->artifact_size;
        _cleanup_error_ struct error *why = NULL;
        _cleanup_repo_reader_ struct repo_reader *rr = repo_reader_open(&e->fetch, e->cache, &ref,
                                                                        part ? head_len : m->artifact_size, &why);
        if (!rr)
            return error_propagate(err, TAKE_PTR(why));
        if (artifact_read_header(repo_reader_source(rr), e->o->keys, info, &why) == 0)
            return 0;
        if (repo_reader_error(rr)) /* the transfer's own reason says more */
            return error_set(err, 0, "%s", repo_reader_error(rr));
        if (!part)
            return error_propagate(err, TAKE_PTR(why));
        head_len = m->artifact_size; /* perhaps cut short: once more, whole */
    }
}

/* A fresh work dir for m with its Artifact's verified header (Download's first step; no
 * Interface call). */
static int make_workdir(struct engine *e, struct member *m, const char *wd, struct error **err)
{
    const char *where = m->artifact_url ? m->artifact_url : m->artifact_path;
    _cleanup_(artifact_info_free) struct artifact_info info = { 0 };
    if (read_header(e, m, &info, err) != 0)
        return error_prefix(err, "Download: %s", where);
    unsigned char want[32];
    hex_to_bin(m->manifest_sha256, want);
    if (m->manifest_sha256[0] && memcmp(want, info.manifest_sha256, 32) != 0)
        return error_set(err, 0, "Download: %s: the Artifact changed since it was selected", where);
    if (workdir_create(wd, m->component_type, &m->provides, &info, err) != 0) {
        error_prefix(err, "Download: work dir");
        /* No Interface has seen it, and no Cleanup runs for a member never called: what
         * was made of it goes now (a full disk stops it half-way). */
        if (workdir_remove(wd) != 0)
            log_comp(LOG_WARNING, m->component_type, m->id, "cannot remove the work dir %s: %s", wd, strerror(errno));
        return -1;
    }
    if (!m->manifest_sha256[0]) { /* a repository Artifact: pinned from now on */
        pthread_mutex_lock(&e->lock);
        for (int i = 0; i < 32; i++)
            snprintf(m->manifest_sha256 + 2 * i, 3, "%02x", info.manifest_sha256[i]);
        pthread_mutex_unlock(&e->lock);
    }
    return 0;
}

/* Download (or DownloadWithFileSizes) for m, with the streams of its Artifact. */
static int download(struct engine *e, const struct member *m, const struct iface_target *t, const char *wd,
                    struct error **err)
{
    unsigned char want[32];
    hex_to_bin(m->manifest_sha256, want);
    struct download_progress prog = { e, m };
    struct download_opts o = {
        .env = &e->env,
        .target = t,
        .workdir = wd,
        .artifact_path = m->artifact_path,
        .keys = e->o->keys,
        .unpacked = m->needs_unpacked != ANSWER_NO,
        .with_sizes = m->provide_sizes == ANSWER_YES,
        .expect_manifest_sha256 = m->manifest_sha256[0] ? want : NULL,
        .artifact_size = m->artifact_size,
        .progress = on_download_progress,
        .progress_ctx = &prog,
    };
    _cleanup_repo_reader_ struct repo_reader *rr = NULL;
    if (m->artifact_url) {
        struct repo_ref ref = { m->artifact_url, m->artifact_size, m->artifact_sha256 };
        rr = repo_reader_open(&e->fetch, e->cache, &ref, false, err);
        if (!rr)
            return error_prefix(err, "Download: %s", m->artifact_url);
        log_comp(LOG_INFO, m->component_type, m->id, "Download: %s from the %s", m->artifact_url,
                 repo_reader_origin(rr));
        o.source = repo_reader_source(rr);
    }
    struct download_result res;
    _cleanup_error_ struct error *why = NULL;
    if (iface_download(&o, &res, &why) == 0)
        return 0;
    if (rr && repo_reader_error(rr)) /* the transfer's own reason says more */
        return error_set(err, 0, "Download: %s", repo_reader_error(rr));
    return error_propagate(err, TAKE_PTR(why));
}

/* A state call for m. */
static int state_call(struct engine *e, const struct step_def *def, const struct member *m,
                      const struct iface_target *t, const char *wd, struct error **err)
{
    if (workdir_mkdirs(wd) != 0)
        return error_set(err, 0, "%s: work dir %s: %s", step_name(def), wd, strerror(errno));
    int r = iface_state(&e->env, t, step_name(def), wd, err);
    if (def->state == ST_CLEANUP && workdir_remove(wd) != 0)
        log_comp(LOG_WARNING, m->component_type, m->id, "cannot remove the work dir %s: %s", wd, strerror(errno));
    return r;
}

/* Makes the call of step def for m. Returns 0 or -1 with *err; *answer for queries. */
static int call(struct engine *e, const struct step_def *def, struct member *m, int *answer, struct error **err)
{
    struct iface_target t = target_of(m);
    _cleanup_free_ char *wd = workdir_path(e->env.datastore, m->component_type, m->id);
    if (def->kind != SK_WORKDIR && workdir_check(wd, 3, err) != 0)
        return error_prefix(err, "%s", step_name(def)); /* no Interface runs through a symlink */
    switch (def->kind) {
    case SK_WORKDIR: return make_workdir(e, m, wd, err);
    case SK_QUERY: {
        enum answer a;
        if (iface_query_answer(&e->env, &t, step_name(def), wd, def->automatic, (enum answer)def->dflt, &a, err) != 0)
            return -1;
        *answer = (int)a;
        return 0;
    }
    case SK_DOWNLOAD: return download(e, m, &t, wd, err);
    case SK_STATE: return state_call(e, def, m, &t, wd, err);
    default: return error_set(err, 0, "internal: not a call");
    }
}

/* Records "about to run", makes the call, records the result: each durably. */
static void run_member(struct engine *e, const struct step_def *def, struct member *m)
{
    pthread_mutex_lock(&e->lock);
    m->call_seq = e->d->seq;
    set_str(&m->last_state, step_name(def));
    if (def->kind != SK_WORKDIR)
        m->touched = true;
    if (def->state == ST_ARTIFACT_INSTALL)
        m->install_started = true;
    if (def->state == ST_ARTIFACT_VERIFY_ROLLBACK_REBOOT)
        m->rb_attempts++;
    int saved = save_locked(e);
    pthread_mutex_unlock(&e->lock);
    if (saved != 0)
        return;

    bool is_call = def->kind != SK_WORKDIR; /* the work dir is ours: no Interface call */
    if (is_call) {
        emit(e, EV_CALL_START, m, step_name(def), -1, 0);
        log_comp(LOG_INFO, m->component_type, m->id, "%s", step_name(def));
    }
    _cleanup_error_ struct error *err = NULL;
    int answer = ANSWER_UNSET;
    int rc = call(e, def, m, &answer, &err);
    if (rc != 0)
        log_comp(LOG_ERROR, m->component_type, m->id, "%s", error_message(err));

    pthread_mutex_lock(&e->lock);
    m->done_seq = e->d->seq;
    m->last_rc = rc == 0 ? 0 : error_code(err) == EPROTO ? MEMBER_RC_INVALID : MEMBER_RC_FAILED;
    set_str(&m->last_error, rc == 0 ? NULL : error_message(err));
    if (def->kind == SK_QUERY) /* a failed rollback query stays unanswered: the next pass asks again */
        *(int *)((char *)m + def->answer_offset) = rc == 0                           ? answer
                                                   : def->failure == FAIL_INCOMPLETE ? ANSWER_UNSET
                                                                                     : (int)ANSWER_NO;
    if (rc == 0 && def->state == ST_ARTIFACT_ROLLBACK)
        m->rollback_ok = true;
    if (rc == 0 && def->state == ST_ARTIFACT_FAILURE)
        m->failure_ok = true;
    if (rc == 0 && def->state == ST_ARTIFACT_VERIFY_ROLLBACK_REBOOT)
        m->rb_verified = true;
    save_locked(e);
    pthread_mutex_unlock(&e->lock);
    if (is_call || rc != 0)
        emit(e, EV_CALL_END, m, step_name(def), -1, rc);
}

struct pool {
    struct engine *e;
    const struct step_def *def;
    struct member **todo;
    size_t n;
    atomic_size_t next;
};

static void *worker(void *arg)
{
    struct pool *p = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&p->next, 1);
        if (i >= p->n || p->e->journal_failed)
            return NULL;
        run_member(p->e, p->def, p->todo[i]);
    }
}

/* Runs the calls of one step: members in parallel, at most MaxParallelInterfaces at a
 * time; returns when all are done (the barrier). */
static void run_parallel(struct engine *e, const struct step_def *def, struct member **todo, size_t n)
{
    if (n == 0)
        return;
    size_t cap = e->o->cfg->max_parallel_interfaces > 0 ? (size_t)e->o->cfg->max_parallel_interfaces : n;
    size_t nthreads = cap < n ? cap : n;
    struct pool p = { .e = e, .def = def, .todo = todo, .n = n };
    atomic_init(&p.next, 0);
    if (nthreads == 1) {
        worker(&p);
        return;
    }
    pthread_t *th = xcalloc(nthreads, sizeof(*th));
    size_t started = 0;
    for (; started < nthreads; started++)
        if (thread_start(&th[started], worker, &p) != 0)
            break;
    if (started == 0)
        worker(&p);
    for (size_t i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    free(th);
}

/* ---- steps ------------------------------------------------------------------------------ */

/* The members of step st's group it applies to. */
static size_t step_members(struct engine *e, const struct step *st, struct member **out)
{
    size_t n = 0;
    for (size_t i = 0; i < e->d->nmembers; i++) {
        struct member *m = &e->d->members[i];
        if (program_group_of(&e->prog, m) == st->group && st->def->applies(m))
            out[n++] = m;
    }
    return n;
}

/* Records that a rollback step did not complete for m (the first one of the pass is kept:
 * the later ones mostly follow from it). why: one line, or NULL. */
static void mark_incomplete(struct member *m, const char *step, const char *why)
{
    if (m->rb_failed_step)
        return;
    m->rb_failed_step = xstrdup(step);
    size_t n = strlen(step);
    if (why && strncmp(why, step, n) == 0 && why[n] == ':')
        m->rb_failed_error = xstrdup(why);
    else
        m->rb_failed_error = xasprintf("%s: %s", step, why ? why : "failed");
}

/* Applies the failure policy of a step to the members whose call failed. */
static enum step_result judge(struct engine *e, const struct step_def *def, struct member **ms, size_t n)
{
    enum step_result r = STEP_OK;
    for (size_t i = 0; i < n; i++) {
        struct member *m = ms[i];
        if (m->done_seq != e->d->seq || m->last_rc == 0)
            continue;
        if (def->failure == FAIL_INCOMPLETE)
            mark_incomplete(m, step_name(def), m->last_error);
        bool fails = def->failure == FAIL_ROLLBACK || (def->failure == FAIL_INVALID && m->last_rc == MEMBER_RC_INVALID);
        if (fails && r == STEP_OK) {
            r = STEP_FAILED;
            if (!e->d->failure)
                e->d->failure = xasprintf("%s.%s: %s", m->component_type, m->id,
                                          m->last_error ? m->last_error : step_name(def));
        }
    }
    return r;
}

static enum step_result run_calls(struct engine *e, const struct step *st)
{
    _cleanup_free_ struct member **ms = xcalloc(e->d->nmembers + 1, sizeof(*ms));
    _cleanup_free_ struct member **todo = xcalloc(e->d->nmembers + 1, sizeof(*todo));
    size_t n = step_members(e, st, ms), ntodo = 0;
    const struct step_def *def = st->def;

    /* Members whose call is recorded as started but has no result were interrupted. */
    pthread_mutex_lock(&e->lock);
    bool marked = false;
    for (size_t i = 0; i < n; i++) {
        struct member *m = ms[i];
        if (m->done_seq == e->d->seq)
            continue;
        if (m->call_seq != e->d->seq || def->interrupted == INT_RERUN) {
            todo[ntodo++] = m;
            continue;
        }
        bool failed = def->interrupted == INT_FAIL;
        log_comp(failed ? LOG_ERROR : LOG_WARNING, m->component_type, m->id, "%s was interrupted; %s", step_name(def),
                 failed ? "that is a failure" : "taking it as done");
        m->done_seq = e->d->seq;
        m->last_rc = failed ? MEMBER_RC_FAILED : 0;
        if (failed)
            set_str(&m->last_error, "interrupted");
        marked = true;
    }
    int saved = marked ? save_locked(e) : 0; /* else each call's own record carries the position */
    pthread_mutex_unlock(&e->lock);
    if (saved != 0)
        return STEP_ERROR;
    run_parallel(e, def, todo, ntodo);
    return e->journal_failed ? STEP_ERROR : judge(e, def, ms, n);
}

MO_DEFINE_POINTER_CLEANUP(argv_freep, char **, iface_argv_free)

/* Runs RebootCommand. Returns 0 once it exited 0 (the reboot is then under way), else -1
 * with *err. */
static int reboot_command(const struct config *cfg, struct error **err)
{
    const struct strv *cmd = &cfg->reboot_command;
    _cleanup_(argv_freep) char **argv = xcalloc(cmd->n + 1, sizeof(*argv));
    for (size_t i = 0; i < cmd->n; i++)
        argv[i] = i == 0 ? fs_resolve_program(cmd->v[0]) : xstrdup(cmd->v[i]);
    log_info("rebooting the System device: %s", argv[0]);
    struct proc_spec spec = { .path = argv[0], .argv = argv, .stdout_level = LOG_INFO };
    _cleanup_(proc_result_free) struct proc_result res = { 0 };
    if (proc_run(&spec, &res, err) != 0)
        return error_prefix(err, "RebootCommand");
    return proc_check(&res, err);
}

/* One System-device reboot for the group: recorded first (with the boot id), then
 * either exit 4 (--exit-on-reboot) or RebootCommand, after which we should not live. */
static enum step_result system_reboot(struct engine *e, const struct step *st)
{
    struct deployment *d = e->d;
    _cleanup_free_ struct member **ms = xcalloc(d->nmembers + 1, sizeof(*ms));
    size_t n = step_members(e, st, ms);
    if (d->reboot_pending) { /* resumed after the reboot */
        _cleanup_free_ char *now = read_boot_id();
        if (d->boot_id && strcmp(now, d->boot_id) == 0)
            log_warn("resumed after a System-device reboot, but the boot id is unchanged (%s)", now);
        d->reboot_pending = false;
        return save(e) == 0 ? STEP_OK : STEP_ERROR;
    }
    if (n == 0)
        return STEP_OK;
    d->reboot_pending = true;
    free(d->boot_id);
    d->boot_id = read_boot_id();
    if (save(e) != 0)
        return STEP_ERROR;
    emit(e, EV_REBOOT, NULL, step_name(st->def), st->group, 0);
    if (e->o->exit_on_reboot) {
        log_info("System-device reboot required; run 'mender-orchestrator resume' after it");
        return STEP_REBOOT;
    }
    _cleanup_error_ struct error *why = NULL;
    if (reboot_command(e->o->cfg, &why) == 0) {
        long t = e->o->cfg->reboot_timeout_seconds;
        for (long i = 0; i < t * 10; i++)
            usleep(100000); /* the reboot ends us here */
        error_set(&why, 0, "the System device did not reboot within %ld s", t);
    }
    log_error("System-device reboot failed: %s", error_message(why));
    d->reboot_pending = false;
    if (st->def->failure == FAIL_ROLLBACK && !d->failure)
        d->failure = xasprintf("System-device reboot failed: %s", error_message(why));
    if (save(e) != 0)
        return STEP_ERROR;
    return st->def->failure == FAIL_ROLLBACK ? STEP_FAILED : STEP_OK;
}

/* After a group's rollback reboots: retry those not verified, or give up on them. */
static enum step_result rollback_retry(struct engine *e, const struct step *st, int *jump)
{
    _cleanup_free_ struct member **ms = xcalloc(e->d->nmembers + 1, sizeof(*ms));
    size_t n = step_members(e, st, ms);
    bool again = false;
    for (size_t i = 0; i < n; i++) {
        if (ms[i]->rb_attempts < e->o->cfg->rollback_reboot_retries) {
            again = true;
            continue;
        }
        _cleanup_free_ char *why = xasprintf("the rollback reboot could not be verified after %d attempts",
                                             ms[i]->rb_attempts);
        log_comp(LOG_ERROR, ms[i]->component_type, ms[i]->id, "%s", why);
        ms[i]->rb_given_up = true;
        mark_incomplete(ms[i], state_name(ST_ARTIFACT_VERIFY_ROLLBACK_REBOOT), why);
    }
    if (!again)
        return save(e) == 0 ? STEP_OK : STEP_ERROR;
    *jump = program_find(&e->prog, 0, ST_ARTIFACT_ROLLBACK_REBOOT, st->group);
    return STEP_JUMP;
}

/* The members whose rollback did not complete, one line: "t.id: Step: reason; ...". */
static char *incomplete_list(const struct deployment *d)
{
    char *out = xstrdup("");
    for (size_t i = 0; i < d->nmembers; i++) {
        const struct member *m = &d->members[i];
        if (!m->rb_failed_step)
            continue;
        char *next = xasprintf("%s%s%s.%s: %s", out, *out ? "; " : "", m->component_type, m->id, m->rb_failed_error);
        free(out);
        out = next;
    }
    return out;
}

/* End of the rollback pass: if a member's rollback did not complete, the deployment stays
 * open here, before Cleanup (which would delete the Interfaces' rollback data), until a
 * retry pass or the operator gives up (docs/state-machine.md). */
static enum step_result rollback_check(struct engine *e)
{
    struct deployment *d = e->d;
    if (!deployment_rollback_incomplete(d))
        return STEP_OK;
    d->rollback_failed = true;
    if (save(e) != 0)
        return STEP_ERROR;
    _cleanup_free_ char *what = incomplete_list(d);
    log_error("deployment %lld: the rollback did not complete: %s. The System may be inconsistent; the deployment "
              "stays open and every work dir, with the Interfaces' rollback data, is kept. Fix the cause, then run "
              "'mender-orchestrator rollback' to retry what did not complete, or give up with "
              "'mender-orchestrator rollback --give-up'",
              d->id, what);
    return STEP_PARK;
}

static enum step_result run_step(struct engine *e, const struct step *st, int *jump)
{
    switch (st->def->kind) {
    case SK_STOP:
        if (!stop_requested(e, st->def))
            return STEP_OK;
        return save(e) == 0 ? STEP_STOP : STEP_ERROR; /* status and resume start from here */
    case SK_SYSTEM_REBOOT: return system_reboot(e, st);
    case SK_RB_RETRY: return rollback_retry(e, st, jump);
    case SK_RB_CHECK: return rollback_check(e);
    case SK_NOTE: return STEP_OK; /* its record is the position itself */
    default: return run_calls(e, st);
    }
}

/* ---- direction and position ------------------------------------------------------------- */

static int highest_touched_group(const struct deployment *d, const struct program *p)
{
    int top = -1;
    bool any_install = false;
    for (size_t i = 0; i < d->nmembers; i++) {
        const struct member *m = &d->members[i];
        any_install |= m->install_started;
        int g = program_group_of(p, m);
        if (m->touched && g > top)
            top = g;
    }
    return any_install ? top : -1;
}

int engine_begin_rollback(struct deployment *d, const char *reason, struct error **err)
{
    assert(d);
    if (d->direction == DIR_ROLLBACK)
        return 0;
    _cleanup_(program_free) struct program p = { 0 };
    program_build(d, &p);
    if (d->cursor > program_cleanup_start(&p))
        return error_set(err, 0,
                         "the deployment already succeeded and is cleaning up; run 'mender-orchestrator "
                         "resume' to finish it");
    d->rollback_top = highest_touched_group(d, &p);
    for (size_t i = 0; i < d->nmembers; i++) {
        const struct member *m = &d->members[i];
        if (m->install_started && m->supports_rollback != ANSWER_YES) {
            log_comp(LOG_ERROR, m->component_type, m->id,
                     "was modified but does not support rollback: the System may be inconsistent");
            d->inconsistent = true;
        }
    }
    if (!d->failure && reason)
        d->failure = xstrdup(reason);
    d->direction = DIR_ROLLBACK;
    d->cursor = 0;
    d->seq++;
    return 0;
}

bool engine_retry_rollback(struct deployment *d, bool by_operator)
{
    assert(d);
    if (!d->rollback_failed)
        return false;
    _cleanup_free_ char *what = incomplete_list(d);
    log_info("deployment %lld: retrying the rollback steps that did not complete: %s", d->id, what);
    for (size_t i = 0; i < d->nmembers; i++) {
        struct member *m = &d->members[i];
        if (m->rb_given_up) { /* another round of rollback reboots and verifications */
            m->rb_given_up = false;
            m->rb_attempts = 0;
        }
        free(m->rb_failed_step);
        free(m->rb_failed_error);
        m->rb_failed_step = m->rb_failed_error = NULL;
    }
    d->rollback_failed = false;
    d->rollback_retries = by_operator ? 0 : d->rollback_retries + 1;
    d->cursor = 0; /* the whole rollback program: its steps call only who has not completed them */
    d->seq++;
    return true;
}

int engine_give_up(struct deployment *d, struct error **err)
{
    assert(d);
    if (!d->rollback_failed)
        return error_set(err, 0,
                         "its rollback has not failed, so there is nothing to give up; run 'mender-orchestrator "
                         "rollback' or 'mender-orchestrator resume' to go on");
    _cleanup_(program_free) struct program p = { 0 };
    program_build(d, &p);
    _cleanup_free_ char *what = incomplete_list(d);
    log_warn("deployment %lld: giving up the rollback of %s. The System is recorded as inconsistent; Cleanup now "
             "removes every work dir, with the Interfaces' rollback data",
             d->id, what);
    d->inconsistent = true;
    d->rollback_failed = false;
    d->cursor = program_cleanup_start(&p);
    d->seq++;
    return 0;
}

void engine_park_failed(struct deployment *d, const char *reason)
{
    assert(d);
    d->direction = DIR_ROLLBACK;
    d->rollback_top = -1;
    d->cursor = 0; /* the rollback program then starts at "stop before Cleanup" */
    d->seq++;
    if (!d->failure && reason)
        d->failure = xstrdup(reason);
}

const char *engine_phase_name(const struct deployment *d)
{
    assert(d);
    if (d->rollback_failed)
        return "rollback-failed";
    _cleanup_(program_free) struct program p = { 0 };
    program_build(d, &p);
    if (d->cursor < 0 || (size_t)d->cursor >= p.n)
        return "done";
    if (d->cursor >= program_cleanup_start(&p))
        return "cleanup";
    if (d->direction == DIR_ROLLBACK)
        return "rollback";
    return p.steps[d->cursor].def->state == ST_ARTIFACT_COMMIT ? "commit" : "install";
}

/* The loop guard's way past the step at the cursor. On the rollback path, the members for
 * which a rollback step has no result are marked as not completed (the next retry pass
 * calls them again); any other step skipped there makes the System inconsistent for good. */
static void skip_step(struct engine *e)
{
    struct deployment *d = e->d;
    const struct step *st = &e->prog.steps[d->cursor];
    if (d->direction == DIR_ROLLBACK && st->def->failure == FAIL_INCOMPLETE && st->group >= 0) {
        _cleanup_free_ struct member **ms = xcalloc(d->nmembers + 1, sizeof(*ms));
        size_t n = step_members(e, st, ms);
        for (size_t i = 0; i < n; i++)
            if (ms[i]->done_seq != d->seq)
                mark_incomplete(ms[i], step_name(st->def), "interrupted too many times in a row");
    } else if (d->direction == DIR_ROLLBACK) {
        d->inconsistent = true;
    }
    d->cursor++;
    d->seq++;
}

static void loop_guard(struct engine *e)
{
    struct deployment *d = e->d;
    /* a stop point, or a deployment waiting after a failed rollback: no progress expected */
    bool at_stop = (size_t)d->cursor < e->prog.n &&
                   (e->prog.steps[d->cursor].def->kind == SK_STOP || e->prog.steps[d->cursor].def->kind == SK_RB_CHECK);
    if (at_stop || d->seq != d->resume_seq) {
        d->resumes_without_progress = 0;
        d->resume_seq = d->seq;
        return;
    }
    if (++d->resumes_without_progress < LOOP_GUARD_MAX)
        return;
    log_error("resumed %d times at the same step without progress", d->resumes_without_progress);
    d->resumes_without_progress = 0;
    if (d->direction == DIR_FORWARD && engine_begin_rollback(d, "resumed too many times without progress", NULL) == 0) {
        program_free(&e->prog);
        program_build(d, &e->prog);
    } else {
        skip_step(e);
    }
    d->resume_seq = d->seq;
}

/* End of a deployment: cached Artifacts it did not use go (docs/repository.md). */
static void prune_cache(struct engine *e)
{
    _cleanup_(strv_free) struct strv keep = { 0 };
    for (size_t i = 0; i < e->d->nmembers; i++)
        if (e->d->members[i].artifact_url)
            strv_push(&keep, e->d->members[i].artifact_sha256);
    repo_cache_prune(e->o->cfg, &keep);
}

/* Writes d's end to the journal; a full disk gets the space kept in reserve, as saves do.
 * Returns 0, or -1 (logged: what to do). */
static int record_end(struct engine *e)
{
    struct deployment *d = e->d;
    engine_stamp(d, &e->prog);
    testhook_pause("finish");
    _cleanup_error_ struct error *err = NULL;
    int r = journal_finish(e->o->journal, d, &err);
    if (r != 0 && reserve_release(e->o->cfg->datastore_dir)) {
        log_warn("journal: %s; using the space kept in reserve", error_message(err));
        error_free(TAKE_PTR(err));
        r = journal_finish(e->o->journal, d, &err);
    }
    if (r == 0)
        return 0;
    log_error("deployment %lld ran to its end, but the end cannot be recorded: %s; free space in %s (or repair it), "
              "then run 'mender-orchestrator resume' to record it",
              d->id, error_message(err), e->o->cfg->datastore_dir);
    return -1;
}

/* Why the System may be inconsistent, one line: the Components and what they lack. */
static char *inconsistency(const struct deployment *d)
{
    char *out = xstrdup("");
    for (size_t i = 0; i < d->nmembers; i++) {
        const struct member *m = &d->members[i];
        _cleanup_free_ char *one = NULL;
        if (m->rb_failed_step)
            one = xasprintf("%s.%s did not roll back (%s; given up)", m->component_type, m->id, m->rb_failed_error);
        else if (m->install_started && m->supports_rollback != ANSWER_YES)
            one = xasprintf("%s.%s was modified but does not support rollback", m->component_type, m->id);
        if (!one)
            continue;
        char *next = xasprintf("%s%s%s", out, *out ? "; " : "", one);
        free(out);
        out = next;
    }
    if (!*out) {
        free(out);
        out = xstrdup("a rollback step was skipped after repeated interruptions (see the log)");
    }
    return out;
}

static enum engine_outcome finish(struct engine *e)
{
    struct deployment *d = e->d;
    d->status = d->direction == DIR_FORWARD         ? DEP_SUCCESS
                : deployment_may_be_inconsistent(d) ? DEP_INCONSISTENT
                : d->rollback_requested             ? DEP_ROLLED_BACK
                                                    : DEP_FAILED;
    d->ended = time(NULL);
    if (record_end(e) != 0)
        return ENGINE_JOURNAL_FAILED;
    prune_cache(e);
    switch (d->status) {
    case DEP_SUCCESS: log_info("deployment %lld: Manifest %s installed", d->id, d->manifest_name); return ENGINE_DONE;
    case DEP_INCONSISTENT: {
        _cleanup_free_ char *why = inconsistency(d);
        log_error("deployment %lld ended and the System may be inconsistent: %s. Check those Components "
                  "('mender-orchestrator show-provides') and bring them to a known version, e.g. by installing a "
                  "Manifest",
                  d->id, why);
        return ENGINE_INCONSISTENT;
    }
    case DEP_ROLLED_BACK: /* what the operator asked for: not a failure */
        log_info("deployment %lld: rolled back as requested; Manifest %s undone", d->id, d->manifest_name);
        return ENGINE_ROLLED_BACK;
    default:
        log_error("deployment %lld failed and was rolled back: %s", d->id, d->failure ? d->failure : "rollback");
        return ENGINE_ROLLED_BACK;
    }
}

/* A run stopped at a requested stop point. */
static enum engine_outcome stopped(const struct engine *e)
{
    if (e->d->direction == DIR_FORWARD)
        return ENGINE_STOPPED;
    return deployment_may_be_inconsistent(e->d) ? ENGINE_INCONSISTENT : ENGINE_STOPPED_ROLLBACK;
}

/* The deployment failed on the forward path: the rest of the run is the rollback path. */
static void turn_back(struct engine *e)
{
    struct deployment *d = e->d;
    log_error("deployment %lld failed: %s; rolling the System back", d->id, d->failure ? d->failure : "");
    /* Cannot be refused: a step that fails the deployment comes before Cleanup. */
    int turned = engine_begin_rollback(d, NULL, NULL);
    assert(turned == 0);
    (void)turned;
    program_free(&e->prog);
    program_build(d, &e->prog);
    emit(e, EV_DIRECTION, NULL, "rollback", -1, 0);
}

/* resume on a deployment whose rollback failed: a retry pass, a few times at most (the
 * boot-time unit runs resume at every boot); then the operator decides. */
static void resume_retry(struct deployment *d)
{
    if (d->rollback_retries < RESUME_ROLLBACK_RETRIES) {
        log_info("deployment %lld: resume retries the failed rollback (%d of %d)", d->id, d->rollback_retries + 1,
                 RESUME_ROLLBACK_RETRIES);
        bool retried = engine_retry_rollback(d, false);
        assert(retried);
        (void)retried;
        return;
    }
    log_warn("deployment %lld: resume already retried the failed rollback %d times and does not retry it again by "
             "itself",
             d->id, d->rollback_retries);
}

/* Runs the program from d's position until it ends, stops, needs a reboot or cannot
 * write the journal. */
static enum engine_outcome walk(struct engine *e)
{
    struct deployment *d = e->d;
    while ((size_t)d->cursor < e->prog.n) {
        const struct step *st = &e->prog.steps[d->cursor];
        int jump = -1;
        if (st->group >= 0) /* not a stop point or the rollback check */
            emit(e, EV_STEP, NULL, step_name(st->def), st->group, 0);
        enum step_result r = run_step(e, st, &jump);
        if (r == STEP_STOP) {
            log_info("stopped before %s", step_name(st->def));
            return stopped(e);
        }
        if (r == STEP_PARK)
            return ENGINE_ROLLBACK_FAILED;
        if (r == STEP_REBOOT)
            return ENGINE_REBOOT_REQUIRED;
        if (r == STEP_ERROR)
            return ENGINE_JOURNAL_FAILED; /* only a save fails a step so */
        if (r == STEP_FAILED && d->direction == DIR_FORWARD) {
            turn_back(e);
        } else {
            d->cursor = r == STEP_JUMP && jump >= 0 ? jump : d->cursor + 1;
            d->seq++;
        }
        /* Not written here: the position is in the record made before the next action (a
         * call, a reboot, a stop) or at the end. A power cut before that resumes at the
         * step just done, whose members are all recorded done: it moves on at once. */
    }
    return finish(e);
}

enum engine_outcome engine_run(const struct engine_opts *o, struct deployment *d)
{
    assert(o && o->cfg && o->journal && d);
    struct engine e = { .o = o, .d = d };
    pthread_mutex_init(&e.lock, NULL);
    pthread_cond_init(&e.saved, NULL);
    e.env = (struct iface_env){ .data_dir = o->cfg->data_dir,
                                .datastore = o->cfg->datastore_dir,
                                .timeout_seconds = (double)o->cfg->interface_timeout_seconds,
                                .calls = o->calls };
    program_build(d, &e.prog);
    fetch_opts_from_config(o->cfg, &e.fetch);
    for (size_t i = 0; i < d->nmembers && !e.cache; i++)
        if (d->members[i].artifact_url && d->members[i].selected) {
            e.cache = repo_cache_open(o->cfg);
            break;
        }
    bool ready = true;
    if (o->command == ENGINE_RESUME && d->rollback_failed)
        resume_retry(d);
    if (o->command != ENGINE_INSTALL) {
        loop_guard(&e);
        ready = save(&e) == 0;
    }
    enum engine_outcome rc = ready ? walk(&e) : ENGINE_JOURNAL_FAILED;
    if (e.journal_failed) {
        log_error("deployment %lld interrupted: its journal cannot be written, and the System may be half-updated; "
                  "free space in %s (or repair it), then run 'mender-orchestrator resume'",
                  d->id, o->cfg->datastore_dir);
        rc = ENGINE_JOURNAL_FAILED;
    }
    program_free(&e.prog);
    repo_cache_close(e.cache);
    pthread_cond_destroy(&e.saved);
    pthread_mutex_destroy(&e.lock);
    return rc;
}

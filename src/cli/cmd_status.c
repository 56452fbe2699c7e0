/* `status` and `history` (docs/mender-orchestrator.1): read-only views of the journal. No lock
 * is taken and nothing is written; no journal yet means idle. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/context.h"
#include "cli/exitcodes.h"
#include "engine/engine.h"
#include "engine/program.h"
#include "store/journal.h"
#include "util/log.h"
#include "util/mem.h"

/* ISO-8601 local time with the UTC offset, e.g. 2024-05-01T10:00:00+02:00; "-" when
 * unknown (0). */
static void iso_time(time_t t, char *buf, size_t n)
{
    struct tm tm;
    if (t <= 0 || !localtime_r(&t, &tm)) {
        snprintf(buf, n, "-");
        return;
    }
    char date[32], off[16];
    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
    if (strftime(off, sizeof(off), "%z", &tm) == 5) /* +hhmm */
        snprintf(buf, n, "%s%.3s:%.2s", date, off, off + 3);
    else
        snprintf(buf, n, "%s%s", date, off);
}

static json_t *jtime(time_t t)
{
    char buf[64];
    iso_time(t, buf, sizeof(buf));
    return t > 0 ? json_string(buf) : json_null();
}

/* A JSON string, with bytes that are not UTF-8 (never expected) shown as '?'. */
static json_t *jstr(const char *s)
{
    if (!s)
        return json_null();
    json_t *v = json_string(s);
    if (v)
        return v;
    char *c = xstrdup(s);
    for (char *p = c; *p; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    v = json_string(c);
    free(c);
    return v;
}

static json_t *jstrv(const struct strv *l)
{
    json_t *a = json_array();
    for (size_t i = 0; i < l->n; i++)
        json_array_append_new(a, jstr(l->v[i]));
    return a;
}

/* "0.1.0->0.2.0": the versions that wrote a deployment, first to last. Caller frees. */
static char *versions_text(const struct strv *v)
{
    char *out = xstrdup(v->n ? "" : "-");
    for (size_t i = 0; i < v->n; i++) {
        char *next = xasprintf("%s%s%s", out, i ? "->" : "", v->v[i]);
        free(out);
        out = next;
    }
    return out;
}

static void print_json(json_t *v)
{
    char *s = json_dumps(v, JSON_INDENT(2) | JSON_ENCODE_ANY);
    if (s) {
        printf("%s\n", s);
        free(s);
    }
    json_decref(v);
}

/* Opens the journal read-only: 1 open, 0 no journal yet, -1 error (logged). */
static int open_journal(const struct cli_args *args, struct journal **j)
{
    _cleanup_(config_free) struct config cfg = { 0 };
    *j = NULL;
    if (context_load_config(args, &cfg) != 0)
        return -1;
    bool missing = false;
    _cleanup_error_ struct error *err = NULL;
    *j = journal_open_readonly(cfg.datastore_dir, &missing, &err);
    if (*j)
        return 1;
    if (missing)
        return 0;
    log_error("%s", error_message(err));
    return -1;
}

/* ---- status ---- */

static const char *member_result(const struct member *m)
{
    if (!m->selected || m->call_seq <= 0)
        return "none";
    if (m->call_seq > m->done_seq)
        return "running";
    return m->last_rc == 0 ? "ok" : "failed";
}

/* The member whose call started last, or NULL. */
static const struct member *latest_member(const struct deployment *d)
{
    const struct member *best = NULL;
    for (size_t i = 0; i < d->nmembers; i++) {
        const struct member *m = &d->members[i];
        if (m->call_seq > 0 && (!best || m->call_seq > best->call_seq))
            best = m;
    }
    return best;
}

/* The rollback step that did not complete for m, or null. */
static json_t *rollback_failure_json(const struct member *m)
{
    if (!m->rb_failed_step)
        return json_null();
    json_t *o = json_object();
    json_object_set_new(o, "state", jstr(m->rb_failed_step));
    json_object_set_new(o, "error", jstr(m->rb_failed_error));
    return o;
}

static const char *direction_name(enum dep_direction dir) { return dir == DIR_ROLLBACK ? "rollback" : "forward"; }

/* Where a deployment parked at a stop point (--stop-before) stands, and the commands
 * that go on from there (docs/state-machine.md, Stop points). */
struct stop_view {
    const char *state;  /* the state it stopped before, NULL when not stopped */
    const char *cmd[2]; /* the commands that continue it, the usual one first */
    const char *hint;   /* what to run, for the text form */
};

static struct stop_view stop_view(const struct deployment *d)
{
    _cleanup_(program_free) struct program p = { 0 };
    program_build(d, &p);
    if (d->cursor < 0 || (size_t)d->cursor >= p.n || p.steps[d->cursor].def->kind != SK_STOP)
        return (struct stop_view){ 0 };
    const char *state = step_name(p.steps[d->cursor].def);
    if (d->direction == DIR_FORWARD) /* rollback is still possible: Cleanup has not started */
        return (struct stop_view){ state,
                                   { "resume", "rollback" },
                                   "run 'mender-orchestrator resume' to continue, or 'mender-orchestrator rollback' "
                                   "to roll the System back" };
    if (p.steps[d->cursor].def->stop == STOP_ARTIFACT_ROLLBACK)
        return (struct stop_view){ state,
                                   { "rollback", "resume" },
                                   "run 'mender-orchestrator rollback' (or resume) to roll the System back" };
    return (struct stop_view){ state,
                               { "resume", "rollback" },
                               "run 'mender-orchestrator resume' (or rollback) to clean up and end the deployment" };
}

static json_t *status_json(const struct deployment *d)
{
    json_t *o = json_object();
    const struct member *last = latest_member(d);
    json_object_set_new(o, "id", json_integer(d->id));
    json_object_set_new(o, "status", json_string(dep_status_name(d->status)));
    json_object_set_new(o, "manifest", jstr(d->manifest_name));
    json_object_set_new(o, "started", jtime(d->started));
    json_object_set_new(o, "direction", json_string(direction_name(d->direction)));
    json_object_set_new(o, "phase", json_string(engine_phase_name(d)));
    struct stop_view sv = stop_view(d);
    json_object_set_new(o, "stopped_before", sv.state ? json_string(sv.state) : json_null());
    json_t *cw = json_array();
    for (size_t i = 0; sv.state && i < 2; i++)
        json_array_append_new(cw, json_string(sv.cmd[i]));
    json_object_set_new(o, "continue_with", cw);
    size_t ng;
    int *groups = deployment_groups(d, &ng);
    json_t *ga = json_array();
    for (size_t i = 0; i < ng; i++)
        json_array_append_new(ga, json_integer(groups[i]));
    free(groups);
    json_object_set_new(o, "groups", ga);
    json_object_set_new(o, "group", last ? json_integer(last->order) : json_null());
    if (last) {
        json_t *ls = json_object();
        json_object_set_new(ls, "state", jstr(last->last_state));
        json_object_set_new(ls, "component_type", jstr(last->component_type));
        json_object_set_new(ls, "id", jstr(last->id));
        json_object_set_new(ls, "result", json_string(member_result(last)));
        json_object_set_new(o, "last_step", ls);
    } else {
        json_object_set_new(o, "last_step", json_null());
    }
    json_object_set_new(o, "reboot_pending", json_boolean(d->reboot_pending));
    json_object_set_new(o, "inconsistent", json_boolean(deployment_may_be_inconsistent(d)));
    json_object_set_new(o, "rollback_failed", json_boolean(d->rollback_failed));
    json_object_set_new(o, "failure", jstr(d->failure));
    _cleanup_(strv_free) struct strv by = { 0 };
    deployment_writers(d, &by);
    json_object_set_new(o, "versions", jstrv(&by));
    json_t *comps = json_array();
    for (size_t i = 0; i < d->nmembers; i++) {
        const struct member *m = &d->members[i];
        json_t *c = json_object();
        json_object_set_new(c, "component_type", jstr(m->component_type));
        json_object_set_new(c, "id", jstr(m->id));
        json_object_set_new(c, "interface", jstr(m->interface));
        json_object_set_new(c, "order", json_integer(m->order));
        json_object_set_new(c, "action", json_string(m->selected ? "install" : "skip"));
        json_object_set_new(c, "artifact", jstr(m->artifact_name));
        json_object_set_new(c, "state", jstr(m->last_state));
        json_object_set_new(c, "result", json_string(member_result(m)));
        json_object_set_new(c, "error", jstr(m->last_error));
        json_object_set_new(c, "rollback_failure", rollback_failure_json(m));
        json_array_append_new(comps, c);
    }
    json_object_set_new(o, "components", comps);
    return o;
}

static const char *dash(const char *s) { return s && *s ? s : "-"; }

static void status_table(const struct deployment *d);

static void status_text(const struct deployment *d)
{
    char t[64];
    iso_time(d->started, t, sizeof(t));
    const struct member *last = latest_member(d);
    printf("Deployment %lld in progress\n", d->id);
    printf("Manifest:        %s\n", dash(d->manifest_name));
    printf("Started:         %s\n", t);
    printf("Direction:       %s\n", direction_name(d->direction));
    printf("Phase:           %s\n", engine_phase_name(d));
    _cleanup_(strv_free) struct strv by = { 0 };
    deployment_writers(d, &by);
    _cleanup_free_ char *by_text = versions_text(&by);
    printf("Written by:      mender-orchestrator %s\n", by_text);
    struct stop_view sv = stop_view(d);
    if (sv.state)
        printf("Stopped before:  %s; %s\n", sv.state, sv.hint);
    size_t ng;
    int *groups = deployment_groups(d, &ng);
    printf("Groups:          ");
    for (size_t i = 0; i < ng; i++)
        printf("%s%d", i ? ", " : "", groups[i]);
    printf("%s\n", ng ? "" : "none (nothing to install)");
    free(groups);
    if (last) {
        printf("Current group:   order %d\n", last->order);
        printf("Last step:       %s on %s.%s (%s)\n", dash(last->last_state), dash(last->component_type),
               dash(last->id), member_result(last));
    } else {
        printf("Current group:   -\n");
        printf("Last step:       none yet\n");
    }
    printf("Reboot pending:  %s\n", d->reboot_pending ? "yes" : "no");
    printf("Inconsistent:    %s\n", deployment_may_be_inconsistent(d) ? "yes" : "no");
    if (d->failure)
        printf("Failure:         %s\n", d->failure);
    for (size_t i = 0; i < d->nmembers; i++)
        if (d->members[i].rb_failed_step)
            printf("Rollback failed: %s.%s: %s\n", d->members[i].component_type, d->members[i].id,
                   dash(d->members[i].rb_failed_error));
    if (d->rollback_failed)
        printf("Next:            fix the cause, then run 'mender-orchestrator rollback' to retry what did not "
               "complete, or give up with 'mender-orchestrator rollback --give-up'\n");

    status_table(d);
}

/* The Components of d as a table, each with its last error under it. */
static void status_table(const struct deployment *d)
{
    static const char *const head[] = { "COMPONENT", "INTERFACE", "ORDER", "ACTION", "ARTIFACT", "STATE", "RESULT" };
    enum { NCOL = 7 };
    size_t n = d->nmembers;
    char **cells = xcalloc((n + 1) * NCOL, sizeof(*cells));
    for (int c = 0; c < NCOL; c++)
        cells[c] = xstrdup(head[c]);
    for (size_t i = 0; i < n; i++) {
        const struct member *m = &d->members[i];
        char **row = cells + (i + 1) * NCOL;
        row[0] = xasprintf("%s.%s", dash(m->component_type), dash(m->id));
        row[1] = xstrdup(dash(m->interface));
        row[2] = xasprintf("%d", m->order);
        row[3] = xstrdup(m->selected ? "install" : "skip");
        row[4] = xstrdup(dash(m->artifact_name));
        row[5] = xstrdup(dash(m->last_state));
        row[6] = xstrdup(member_result(m));
    }
    size_t w[NCOL] = { 0 };
    for (size_t r = 0; r <= n; r++)
        for (int c = 0; c < NCOL; c++) {
            size_t l = strlen(cells[r * NCOL + c]);
            if (l > w[c])
                w[c] = l;
        }
    printf("\n");
    for (size_t r = 0; r <= n; r++) {
        for (int c = 0; c < NCOL; c++) {
            const char *s = cells[r * NCOL + c];
            if (c == NCOL - 1)
                printf("%s\n", s);
            else
                printf("%-*s  ", (int)w[c], s);
        }
        if (r > 0 && d->members[r - 1].last_error)
            printf("  error: %s\n", d->members[r - 1].last_error);
    }
    for (size_t k = 0; k < (n + 1) * NCOL; k++)
        free(cells[k]);
    free(cells);
}

int cmd_status(const struct cli_args *args)
{
    struct journal *j;
    int r = open_journal(args, &j);
    if (r < 0)
        return EXIT_FAILED;
    _cleanup_(deployment_free) struct deployment d = { 0 };
    if (r > 0) {
        _cleanup_error_ struct error *err = NULL;
        r = journal_load_current(j, &d, &err);
        journal_close(j);
        if (r < 0) {
            log_error("%s", error_message(err));
            return EXIT_FAILED;
        }
        if (r > 0 && engine_adopt(&d, false, &err) != 0) /* shown as recorded */
            log_warn("%s", error_message(err));
    }
    if (r == 0) {
        if (args->json)
            print_json(json_null());
        else
            printf("No deployment in progress\n");
        return EXIT_OK;
    }
    if (args->json)
        print_json(status_json(&d));
    else
        status_text(&d);
    return EXIT_OK;
}

/* ---- history ---- */

/* -n COUNT: a positive decimal integer (large values mean "all"). */
static int parse_count(const char *s, size_t *out)
{
    if (!s || !*s)
        return -1;
    for (const char *p = s; *p; p++)
        if (*p < '0' || *p > '9')
            return -1;
    errno = 0;
    unsigned long long v = strtoull(s, NULL, 10);
    if (errno == ERANGE || v > JOURNAL_HISTORY_MAX)
        v = JOURNAL_HISTORY_MAX;
    if (v == 0)
        return -1;
    *out = (size_t)v;
    return 0;
}

/* The deployments as a JSON array. */
static void history_json(const struct history_entry *h, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "id", json_integer(h[i].id));
        json_object_set_new(o, "manifest", jstr(h[i].manifest_name));
        json_object_set_new(o, "started", jtime(h[i].started));
        json_object_set_new(o, "ended", jtime(h[i].ended));
        json_object_set_new(o, "result", json_string(dep_status_name(h[i].status)));
        json_t *ch = json_array();
        for (size_t k = 0; k < h[i].changed.n; k++)
            json_array_append_new(ch, jstr(h[i].changed.v[k]));
        json_object_set_new(o, "changed", ch);
        json_object_set_new(o, "versions", jstrv(&h[i].versions));
        json_object_set_new(o, "failure", jstr(h[i].failure));
        json_array_append_new(a, o);
    }
    print_json(a);
}

/* One line per deployment, columns aligned. */
static void history_text(const struct history_entry *h, size_t n)
{
    int wid = 0, wman = 0, wres = 0;
    for (size_t i = 0; i < n; i++) {
        int l = snprintf(NULL, 0, "%lld", h[i].id);
        if (l > wid)
            wid = l;
        l = (int)strlen(dash(h[i].manifest_name));
        if (l > wman)
            wman = l;
        l = (int)strlen(dep_status_name(h[i].status));
        if (l > wres)
            wres = l;
    }
    for (size_t i = 0; i < n; i++) {
        char s[64], e[64];
        iso_time(h[i].started, s, sizeof(s));
        iso_time(h[i].ended, e, sizeof(e));
        _cleanup_free_ char *by = versions_text(&h[i].versions);
        printf("%*lld  %-*s  %s  %s  %-*s  %s  ", wid, h[i].id, wman, dash(h[i].manifest_name), s, e, wres,
               dep_status_name(h[i].status), by);
        if (h[i].changed.n == 0)
            printf("-");
        for (size_t k = 0; k < h[i].changed.n; k++)
            printf("%s%s", k ? ", " : "", h[i].changed.v[k]);
        if (h[i].failure)
            printf("  (%s)", h[i].failure);
        printf("\n");
    }
}

int cmd_history(const struct cli_args *args)
{
    size_t max = JOURNAL_HISTORY_MAX;
    if (args->count && parse_count(args->count, &max) != 0) {
        fprintf(stderr,
                "mender-orchestrator: -n needs a positive integer, not \"%s\"; run 'mender-orchestrator help' for "
                "usage\n",
                args->count);
        return EXIT_FAILED;
    }
    struct journal *j;
    int r = open_journal(args, &j);
    if (r < 0)
        return EXIT_FAILED;
    struct history_entry *h = NULL;
    size_t n = 0;
    if (r > 0) {
        r = journal_history(j, max, &h, &n);
        journal_close(j);
        if (r < 0)
            return EXIT_FAILED; /* logged */
    }
    if (args->json)
        history_json(h, n);
    else
        history_text(h, n);
    history_free(h, n);
    return EXIT_OK;
}

/* The report of `interface-check`: the table of checks (name, what it proves, where
 * docs/protocol.md explains it), the outcomes, and their text and JSON forms. */
#include <assert.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "conform/conform.h"
#include "util/cleanup.h"
#include "util/mem.h"

struct check_def {
    const char *name;
    const char *what; /* reported when the check was not reached */
    const char *hint; /* docs/protocol.md#<anchor> */
};

#define HINT(a) "docs/protocol.md#" a

static const struct check_def checks[CK_COUNT] = {
    [CK_EXECUTABLE] = { "executable", "the Interface is an executable file",
                        HINT("where-interfaces-live-and-their-names") },
    [CK_UNKNOWN_CALL] = { "unknown-call", "an unknown call prints nothing and exits 0", HINT("how-a-call-is-made") },
    [CK_IDENTITY] = { "identity", "Identity answers id=<component id>", HINT("identity") },
    [CK_PROVIDES] = { "provides", "Provides answers key=value lines with the version key", HINT("provides") },
    [CK_INVENTORY] = { "inventory", "Inventory answers key=value lines", HINT("inventory") },
    [CK_ANSWERS] = { "answers", "every Yes/No query answers exactly Yes, No (or Automatic) or nothing",
                     HINT("yesno-answers") },
    [CK_DOWNLOAD] = { "download", "Download takes the payload (streams or files/) and exits 0",
                      HINT("download-streaming-and-files") },
    [CK_INSTALL] = { "install", "ArtifactInstall exits 0", HINT("what-each-state-should-do") },
    [CK_REBOOT] = { "reboot", "NeedsArtifactReboot, ArtifactReboot and ArtifactVerifyReboot agree", HINT("reboots") },
    [CK_COMMIT] = { "commit", "ArtifactCommit exits 0", HINT("what-each-state-should-do") },
    [CK_PROVIDES_AFTER] = { "provides-after-install", "after the install Provides reports the Artifact's version",
                            HINT("provides") },
    [CK_ALREADY_INSTALLED] = { "already-installed",
                               "after the install the same Artifact counts as installed (the Component is skipped)",
                               HINT("when-each-call-is-made") },
    [CK_ROLLBACK] = { "rollback", "ArtifactRollback after ArtifactInstall restores the old Provides",
                      HINT("the-rollback-path") },
    [CK_ROLLBACK_REPEAT] = { "rollback-repeat", "a second ArtifactRollback exits 0 and changes nothing",
                             HINT("interruptions-and-repeated-calls") },
    [CK_ROLLBACK_COMMIT] = { "rollback-after-commit", "ArtifactRollback after ArtifactCommit restores the old Provides",
                             HINT("the-forward-path") },
    [CK_POWER_CUT] = { "power-cut", "ArtifactRollback after ArtifactInstall was killed restores the old Provides",
                       HINT("interruptions-and-repeated-calls") },
    [CK_CLEANUP] = { "cleanup", "Cleanup exits 0 and leaves the installed software as it is",
                     HINT("what-each-state-should-do") },
    [CK_CLEANUP_REPEAT] = { "cleanup-repeat", "a second Cleanup exits 0", HINT("interruptions-and-repeated-calls") },
    [CK_PROCESSES] = { "processes", "no call leaves a process running", HINT("timeouts-and-the-end-of-a-call") },
    [CK_WRITES] = { "writes", "no call writes outside its work dir where the kit watches",
                    HINT("the-file-api-the-work-dir") },
    [CK_TIMING] = { "timing", "queries answer within 1 s; every call within --timeout",
                    HINT("timeouts-and-the-end-of-a-call") },
};

static const char *const status_names[] = { "skip", "pass", "warn", "fail" };

void check_set(struct conform_report *rep, enum check_id id, enum check_status st, const char *fmt, ...)
{
    assert(rep && id <= CK_COUNT && fmt);
    if (id == CK_COUNT)
        return;
    struct check_result *r = &rep->r[id];
    if (r->reason && st <= r->status)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *m = xvasprintf(fmt, ap);
    va_end(ap);
    /* one line, whatever an Interface printed into it */
    for (char *c = m; *c; c++)
        if (*c == '\n' || *c == '\r')
            *c = ' ';
    free(r->reason);
    r->reason = m;
    r->status = st;
}

void report_call(struct conform_report *rep, const char *cycle, const char *call, double seconds, bool ok)
{
    if (rep->ncalls == rep->calls_cap) {
        rep->calls_cap = rep->calls_cap ? rep->calls_cap * 2 : 64;
        rep->calls = xrealloc(rep->calls, rep->calls_cap * sizeof(*rep->calls));
    }
    rep->calls[rep->ncalls++] =
        (struct call_record){ .cycle = xstrdup(cycle), .call = xstrdup(call), .seconds = seconds, .ok = ok };
}

bool report_failed(const struct conform_report *rep)
{
    for (int i = 0; i < CK_COUNT; i++)
        if (rep->r[i].status == CS_FAIL)
            return true;
    return false;
}

static const char *reason_of(const struct conform_report *rep, int i)
{
    return rep->r[i].reason ? rep->r[i].reason : "not reached";
}

void report_print_text(FILE *f, const struct conform_report *rep)
{
    int count[4] = { 0 };
    for (int i = 0; i < CK_COUNT; i++) {
        const struct check_result *r = &rep->r[i];
        count[r->status]++;
        fprintf(f, "%-4s  %-22s  %s", status_names[r->status], checks[i].name, reason_of(rep, i));
        if (r->status != CS_PASS)
            fprintf(f, " (%s)", checks[i].hint);
        fputc('\n', f);
    }
    fprintf(f, "%d checks: %d passed, %d failed, %d warnings, %d not reached\n", CK_COUNT, count[CS_PASS],
            count[CS_FAIL], count[CS_WARN], count[CS_SKIP]);
}

void report_print_json(FILE *f, const struct conform_report *rep)
{
    json_t *root = json_object();
    json_object_set_new(root, "interface", json_string(rep->interface ? rep->interface : ""));
    json_object_set_new(root, "component_type", json_string(rep->component_type ? rep->component_type : ""));
    json_object_set_new(root, "result", json_string(report_failed(rep) ? "fail" : "pass"));
    json_t *list = json_array();
    for (int i = 0; i < CK_COUNT; i++) {
        json_t *c = json_object();
        json_object_set_new(c, "check", json_string(checks[i].name));
        json_object_set_new(c, "status", json_string(status_names[rep->r[i].status]));
        json_object_set_new(c, "reason", json_string(reason_of(rep, i)));
        json_object_set_new(c, "checks", json_string(checks[i].what));
        json_object_set_new(c, "hint", json_string(checks[i].hint));
        json_array_append_new(list, c);
    }
    json_object_set_new(root, "checks", list);
    json_t *calls = json_array();
    for (size_t i = 0; i < rep->ncalls; i++) {
        const struct call_record *c = &rep->calls[i];
        json_t *o = json_object();
        json_object_set_new(o, "cycle", json_string(c->cycle));
        json_object_set_new(o, "call", json_string(c->call));
        json_object_set_new(o, "seconds", json_real((double)(long long)(c->seconds * 1000 + 0.5) / 1000));
        json_object_set_new(o, "ok", json_boolean(c->ok));
        json_array_append_new(calls, o);
    }
    json_object_set_new(root, "calls", calls);
    _cleanup_free_ char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (text)
        fprintf(f, "%s\n", text);
}

void report_free(struct conform_report *rep)
{
    for (int i = 0; i < CK_COUNT; i++)
        free(rep->r[i].reason);
    for (size_t i = 0; i < rep->ncalls; i++) {
        free(rep->calls[i].cycle);
        free(rep->calls[i].call);
    }
    free(rep->calls);
    free(rep->interface);
    free(rep->component_type);
    memset(rep, 0, sizeof(*rep));
}

/* The Interface conformance kit (`mender-orchestrator interface-check`,
 * docs/interface-check.md): drives one Interface through the protocol in a scratch
 * datastore with the engine's own calls (iface/), and reports one result per check. */
#ifndef MO_CONFORM_H
#define MO_CONFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "util/error.h"
#include "util/strv.h"

/* The checks, in report order (the table in report.c names them). */
enum check_id {
    CK_EXECUTABLE,
    CK_UNKNOWN_CALL,
    CK_IDENTITY,
    CK_PROVIDES,
    CK_INVENTORY,
    CK_ANSWERS,
    CK_DOWNLOAD,
    CK_INSTALL,
    CK_REBOOT,
    CK_COMMIT,
    CK_PROVIDES_AFTER,
    CK_ALREADY_INSTALLED,
    CK_ROLLBACK,
    CK_ROLLBACK_REPEAT,
    CK_ROLLBACK_COMMIT,
    CK_POWER_CUT,
    CK_CLEANUP,
    CK_CLEANUP_REPEAT,
    CK_PROCESSES,
    CK_WRITES,
    CK_TIMING,
    CK_COUNT
};

/* Worst last: a check keeps the worst status it was given. */
enum check_status { CS_SKIP, CS_PASS, CS_WARN, CS_FAIL };

struct check_result {
    enum check_status status;
    char *reason; /* one line */
};

/* One Interface call the kit made. */
struct call_record {
    char *cycle; /* "queries", "rollback-after-install", ... */
    char *call;
    double seconds;
    bool ok;
};

struct conform_report {
    char *interface;      /* the Interface's name (its file's base name) */
    char *component_type; /* as given, or taken from the Artifact */
    struct check_result r[CK_COUNT];
    struct call_record *calls;
    size_t ncalls, calls_cap;
};

struct conform_opts {
    const char *interface;      /* path of the Interface executable */
    const char *component_type; /* NULL: the first device type of the first Artifact */
    const struct strv *args;    /* interface_args */
    const char *artifacts[2];   /* the second may be NULL */
    const struct strv *watch;   /* more folders no call may write into */
    double timeout_seconds;     /* per call */
    const char *scratch_parent; /* where the scratch dir is made; NULL = $TMPDIR or /tmp */
    bool keep;                  /* leave the scratch dir */
    const char *reboot_command; /* run for a System-device reboot (Automatic); NULL = none */
};

/* Runs every check into rep. Returns 0 (the report says how the Interface did), or -1
 * with *err when the checks cannot run at all (an unreadable Artifact, no scratch dir). */
MO_MUST_CHECK int conform_run(const struct conform_opts *o, struct conform_report *rep, struct error **err);

/* ---- the report (report.c) ---- */

/* Records an outcome of check id: the worst status given wins, with the reason it came
 * with (the first of that status). id CK_COUNT: judged by no check (nothing recorded). */
void check_set(struct conform_report *rep, enum check_id id, enum check_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Records that a call was made and how long it took. */
void report_call(struct conform_report *rep, const char *cycle, const char *call, double seconds, bool ok);
/* True when any check failed. */
bool report_failed(const struct conform_report *rep);
/* One line per check, then a summary line. */
void report_print_text(FILE *f, const struct conform_report *rep);
/* The report as one JSON object (docs/interface-check.md). */
void report_print_json(FILE *f, const struct conform_report *rep);
void report_free(struct conform_report *rep);

#endif

/* The journal: SQLite {datastore}/orchestrator.db (WAL, synchronous=FULL), the only
 * writer of durable state. The deployment in progress is saved at every transition (the
 * parts that changed, in one transaction); ended deployments form the history (the last
 * 100); the last successful Manifest is kept. Errors name the file they are about. */
#ifndef MO_JOURNAL_H
#define MO_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "deploy/deployment.h"
#include "util/cleanup.h"
#include "util/error.h"

#define JOURNAL_HISTORY_MAX 100

struct journal;

/* Opens the journal, creating the datastore (0700) and the database if missing, and
 * bringing its tables to the current schema; then marks the datastore as having one
 * (store/datastore.h). A journal missing or without tables in a datastore that shows it
 * had one is lost: NULL with err saying what to do, nothing created. NULL with err on
 * any failure (a datastore that is not a directory too). */
struct journal *journal_open(const char *datastore, struct error **err) MO_MUST_CHECK;
/* Opens an existing journal read-only for status/history/plan; NULL with err, and
 * *missing set when there is no database yet and nothing shows there was one (for the
 * caller, rarely an error). A lost journal or an unusable datastore is an error (not
 * *missing). */
struct journal *journal_open_readonly(const char *datastore, bool *missing, struct error **err) MO_MUST_CHECK;
void journal_close(struct journal *j);
MO_DEFINE_POINTER_CLEANUP(journal_closep, struct journal *, journal_close)
#define _cleanup_journal_ _cleanup_(journal_closep)

/* The deployment in progress: 1 and *d filled, 0 if none, -1 with err. */
int journal_load_current(struct journal *j, struct deployment *d, struct error **err) MO_MUST_CHECK;
/* Records a new deployment (sets d->id) in one transaction; at most one can be in
 * progress. -1 with err (d->id unchanged). */
int journal_insert(struct journal *j, struct deployment *d, struct error **err) MO_MUST_CHECK;
/* Saves d durably before returning. Safe to call from several threads. */
int journal_save(struct journal *j, const struct deployment *d, struct error **err) MO_MUST_CHECK;
/* The same in two steps, so that a caller can serialize d under its own lock and write
 * without it (the engine's group commit: one write covers every change made before it).
 * A snapshot holds only the parts that changed since the last one taken: snapshots must
 * be written in the order they were taken, one at a time. */
struct journal_snapshot {
    long long id;
    enum dep_status status;
    char *manifest_name;
    time_t started, ended;
    char *head;  /* the deployment's own fields (JSON) */
    char *fixed; /* those set at preparation, or NULL: already written */
    size_t n;    /* members to write: their indexes and JSON */
    size_t *idx;
    char **member;
    bool unchanged; /* the database holds it already: a save writes nothing */
    char *whole;    /* test builds: the whole deployment, to check the rows against */
};
void journal_snapshot_take(struct journal *j, struct journal_snapshot *s, const struct deployment *d);
void journal_snapshot_free(struct journal_snapshot *s);
/* Writes the snapshot durably (no test-hook commit count: the caller counts). */
int journal_save_snapshot(struct journal *j, const struct journal_snapshot *s, struct error **err) MO_MUST_CHECK;
/* Saves d as ended (d->status and d->ended set by the caller). A successful one becomes
 * the last successful Manifest. Keeps the last JOURNAL_HISTORY_MAX deployments. */
int journal_finish(struct journal *j, const struct deployment *d, struct error **err) MO_MUST_CHECK;

/* The reads below log their errors (error level) themselves. */

/* Name and text of the last successful Manifest: 1 if there is one, 0 if not, -1 error. */
int journal_last_success(struct journal *j, char **name, char **text) MO_MUST_CHECK;
/* The NeedsArtifactReboot answer recorded for Component m (the same component type, id
 * and Interface) in the latest deployment that asked it: 1 and *answer set, 0 if none,
 * -1 error. Each Component has its own: another one of the same Interface may differ. */
int journal_last_reboot_answer(struct journal *j, const struct member *m, int *answer) MO_MUST_CHECK;

struct history_entry {
    long long id;
    char *manifest_name;
    time_t started, ended;
    enum dep_status status;
    struct strv changed;  /* "<component_type>.<id>: <artifact_name>" of the members whose
                           * ArtifactInstall started (rolled back ones too) */
    struct strv versions; /* the mender-orchestrator versions that wrote it, first to last */
    char *failure;        /* why it failed (the first failure), or NULL */
};
/* The latest ended deployments, newest first, at most max: 0, or -1 (nothing in *out). */
int journal_history(struct journal *j, size_t max, struct history_entry **out, size_t *n) MO_MUST_CHECK;
void history_free(struct history_entry *h, size_t n);

#endif

/* The journal: SQLite {datastore}/orchestrator.db (WAL, synchronous=FULL), the only
 * writer of durable state. The deployment in progress is saved at every transition (the
 * parts that changed, in one transaction); ended deployments form the history (the last 100); the last successful
 * Manifest is kept. Plus the deployment lock and the Manifest store. */
#ifndef MO_JOURNAL_H
#define MO_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "deploy/deployment.h"

#define JOURNAL_HISTORY_MAX 100

struct journal;

/* Opens the journal, creating the datastore (0700) and the database if missing.
 * NULL with a reason in err on failure. */
struct journal *journal_open(const char *datastore, char *err, size_t errlen);
/* Opens an existing journal read-only for status/history/plan; NULL with *missing
 * set when there is no database yet (not an error). */
struct journal *journal_open_readonly(const char *datastore, bool *missing, char *err, size_t errlen);
void journal_close(struct journal *j);

/* The deployment in progress: 1 and *d filled, 0 if none, -1 on error. */
int journal_load_current(struct journal *j, struct deployment *d, char *err, size_t errlen);
/* Records a new deployment (sets d->id) in one transaction. */
int journal_insert(struct journal *j, struct deployment *d, char *err, size_t errlen);
/* Saves d durably before returning. Safe to call from several threads. */
int journal_save(struct journal *j, const struct deployment *d, char *err, size_t errlen);
/* The same in two steps, so that a caller can serialize d under its own lock and write
 * without it (the engine's group commit: one write covers every change made before it).
 * A snapshot holds only the parts that changed since the last one taken: snapshots must
 * be written in the order they were taken, one at a time. */
struct journal_snapshot {
    long long id;
    enum dep_status status;
    char *manifest_name;
    time_t started, ended;
    char *head;            /* the deployment's own fields (JSON) */
    char *fixed;           /* those set at preparation, or NULL: already written */
    size_t n;              /* members to write: their indexes and JSON */
    size_t *idx;
    char **member;
    bool unchanged;        /* the database holds it already: a save writes nothing */
    char *whole;           /* test builds: the whole deployment, to check the rows against */
};
void journal_snapshot_take(struct journal *j, struct journal_snapshot *s, const struct deployment *d);
void journal_snapshot_free(struct journal_snapshot *s);
/* Writes the snapshot durably (no test-hook commit count: the caller counts). */
int journal_save_snapshot(struct journal *j, const struct journal_snapshot *s, char *err, size_t errlen);
/* Saves d as ended (d->status and d->ended set by the caller). A successful one becomes
 * the last successful Manifest. Keeps the last JOURNAL_HISTORY_MAX deployments. */
int journal_finish(struct journal *j, const struct deployment *d, char *err, size_t errlen);

/* Name and text of the last successful Manifest: 1 if there is one, 0 if not, -1 error. */
int journal_last_success(struct journal *j, char **name, char **text);
/* The NeedsArtifactReboot answer recorded for this Interface in the latest deployment
 * that asked it: 1 and *answer set, 0 if none. */
int journal_last_reboot_answer(struct journal *j, const char *interface, int *answer);

struct history_entry {
    long long id;
    char *manifest_name;
    time_t started, ended;
    enum dep_status status;
    struct strv changed;  /* "<component_type>.<id>: <artifact_name>" of the selected members */
};
/* The latest deployments, newest first, at most max. */
int journal_history(struct journal *j, size_t max, struct history_entry **out, size_t *n);
void history_free(struct history_entry *h, size_t n);

/* One deployment at a time: a non-blocking flock on {datastore}/orchestrator.lock.
 * Returns the fd (keep it open), or -1 with err ("another mender-orchestrator process
 * is running" when held). */
int journal_lock(const char *datastore, char *err, size_t errlen);

/* Copies the Manifest text to {store}/<id>.yaml durably; removes copies other than
 * keep_a and keep_b (the in-progress and last successful ones). */
int manifest_store_put(const char *store, long long id, const char *text, long long keep_other, char *err,
                       size_t errlen);

#endif

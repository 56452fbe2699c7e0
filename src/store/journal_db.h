/* Private to the journal's files (journal*.c): the connection and what they share.
 *
 *   journal.c          opening, the deployment in progress: load, record, save, finish
 *   journal_schema.c   the tables, created or upgraded by a read-write open
 *   journal_parts.c    the deployment in progress kept in parts: what the database holds,
 *                      snapshots of what changed, writing and reading them
 *   journal_history.c  ended deployments: the history, the last success, past answers
 *   journal_db.c       the SQLite helpers below
 *
 * Errors of these helpers are bare ("<SQLite's message>", "no such deployment"): each
 * caller puts what it was doing in front, and the public functions the database path. */
#ifndef MO_JOURNAL_DB_H
#define MO_JOURNAL_DB_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

#include "deploy/deployment.h"
#include "store/journal.h"
#include "util/cleanup.h"
#include "util/error.h"

#define SCHEMA_VERSION 2

struct journal {
    sqlite3 *db;
    char *path;
    bool readonly;
    int version;        /* schema version of the file (1 or 2; read-only opens keep 1) */
    pthread_mutex_t mu; /* guards the connection (opened NOMUTEX) and the cache below */
    /* What the database holds of deployment `saved_id` (in progress): every member's
     * progress as last written. 0: not known, the next save writes every part. */
    long long saved_id;
    struct member *saved;
    size_t nsaved;
    char *saved_head; /* and the head as last written (it holds the row's other columns too) */
};

MO_DEFINE_POINTER_CLEANUP(sqlite3_finalizep, sqlite3_stmt *, sqlite3_finalize)
#define _cleanup_stmt_ _cleanup_(sqlite3_finalizep)

/* ---- journal_db.c ---- */

/* Sets err from the connection's last error: SQLite's message, and for an I/O error the
 * system's too ("disk I/O error (No space left on device)", the errno as code). -1. */
int db_error(struct journal *j, struct error **err);
int db_exec(struct journal *j, const char *sql, struct error **err) MO_MUST_CHECK;
sqlite3_stmt *db_prepare(struct journal *j, const char *sql, struct error **err) MO_MUST_CHECK;
/* Runs a statement that returns no rows. */
int db_step_done(struct journal *j, sqlite3_stmt *st, struct error **err) MO_MUST_CHECK;
/* Ends the transaction, if one is open, without its changes. */
void db_rollback(struct journal *j);
/* Binds s, or NULL for a NULL s. */
void db_bind_text(sqlite3_stmt *st, int i, const char *s);
/* Binds d's status, manifest name, start and end times to parameters 1 to 4 of st, the
 * columns every write of a deployment row sets. */
void db_bind_row_head(sqlite3_stmt *st, const struct deployment *d);
/* A copy of the column, or NULL. */
char *db_column_text(sqlite3_stmt *st, int i);
/* The SELECT list of a deployment row's parts: id, state, fixed (NULL in schema 1). */
const char *db_parts_columns(const struct journal *j);

/* ---- journal_schema.c ---- */

/* Brings the file to SCHEMA_VERSION in one transaction, creating the tables of a new
 * one; sets j->version. */
int journal_schema_upgrade(struct journal *j, struct error **err) MO_MUST_CHECK;
/* The file's schema version, as it is (0: the tables were never created); an error
 * when newer than SCHEMA_VERSION. */
int journal_schema_read(struct journal *j, struct error **err) MO_MUST_CHECK;

/* ---- journal_parts.c (callers hold j->mu) ---- */

/* The database now holds deployment d exactly / what it holds is no longer known. */
void journal_remember_saved(struct journal *j, const struct deployment *d);
void journal_forget_saved(struct journal *j);
/* Takes the parts of d that differ from what the database holds (all of them when that
 * is not known), and records them as held. */
void journal_take_parts(struct journal *j, struct journal_snapshot *s, const struct deployment *d);
/* Writes the snapshot's parts inside the caller's transaction. */
int journal_write_parts(struct journal *j, const struct journal_snapshot *s, struct error **err) MO_MUST_CHECK;
/* Writes d whole as one document in `state`, its parts dropped (an ended deployment),
 * inside the caller's transaction. */
int journal_write_whole(struct journal *j, const struct deployment *d, struct error **err) MO_MUST_CHECK;
/* Loads deployment `id` from its row's state and fixed columns (and, when fixed is
 * set, its member rows) into d, inside the caller's read transaction if any. */
int journal_load_parts(struct journal *j, long long id, const char *state, const char *fixed, struct deployment *d,
                       struct error **err) MO_MUST_CHECK;
#ifdef MO_TEST_HOOKS
/* Test builds: exits the process when the rows just written do not add up to the
 * deployment the snapshot was taken of. */
void journal_check_parts(struct journal *j, const struct journal_snapshot *s);
#endif

#endif

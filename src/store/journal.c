/* The journal over SQLite: one connection guarded by a mutex; every write is one
 * transaction, durable when it returns (WAL, synchronous=FULL). This file opens it and
 * holds the transactions of the deployment in progress; journal_db.h lists the others.
 *
 * Each public function holds the mutex around a *_locked body that returns at the first
 * error; a failed transaction is rolled back before the mutex is released, and the
 * public function puts the database path in front of the error. */
#include "store/journal.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/datastore.h"
#include "store/journal_db.h"
#include "store/private_dir.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/testhook.h"

#define BUSY_TIMEOUT_MS 30000

static struct journal *journal_new(const char *path)
{
    struct journal *j = xcalloc(1, sizeof(*j));
    j->path = xstrdup(path);
    pthread_mutex_init(&j->mu, NULL);
    return j;
}

void journal_close(struct journal *j)
{
    if (!j)
        return;
    if (j->db)
        sqlite3_close(j->db);
    journal_forget_saved(j);
    pthread_mutex_destroy(&j->mu);
    free(j->path);
    free(j);
}

static int connect_db(struct journal *j, int flags, struct error **err)
{
    if (sqlite3_open_v2(j->path, &j->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        if (!j->db) /* no memory for a connection: no message either */
            return error_set(err, ENOMEM, "cannot open the database");
        db_error(j, err);
        return error_prefix(err, "cannot open the database");
    }
    sqlite3_extended_result_codes(j->db, 1);
    sqlite3_busy_timeout(j->db, BUSY_TIMEOUT_MS);
    return 0;
}

static int journal_mode_wal(struct journal *j, struct error **err)
{
    _cleanup_stmt_ sqlite3_stmt *st = db_prepare(j, "PRAGMA journal_mode=WAL", err);
    if (!st)
        return error_prefix(err, "cannot set the WAL journal mode");
    if (sqlite3_step(st) != SQLITE_ROW) {
        db_error(j, err);
        return error_prefix(err, "cannot set the WAL journal mode");
    }
    const char *mode = (const char *)sqlite3_column_text(st, 0);
    if (!mode || strcmp(mode, "wal") != 0)
        return error_set(err, 0, "cannot set the WAL journal mode (got \"%s\")", mode ? mode : "");
    return 0;
}

/* The connection of a read-write open, the tables brought to the current schema. A file
 * without tables becomes a new journal only when nothing shows that one was lost. */
static int open_rw(struct journal *j, const char *datastore, struct error **err)
{
    if (connect_db(j, SQLITE_OPEN_READWRITE, err) != 0)
        return -1;
    int v = journal_schema_read(j, err);
    if (v < 0)
        return -1;
    if (v == 0 && datastore_check_journal_lost(datastore, err) != 0)
        return -1;
    if (journal_mode_wal(j, err) != 0)
        return -1;
    if (db_exec(j, "PRAGMA synchronous=FULL", err) != 0)
        return error_prefix(err, "cannot set synchronous=FULL");
    return journal_schema_upgrade(j, err);
}

/* The marker that makes a later loss of the journal visible (store/datastore.h). */
static void mark(const char *datastore)
{
    _cleanup_error_ struct error *e = NULL;
    if (datastore_mark_journal(datastore, &e) != 0)
        log_warn("%s; a loss of the journal would go unnoticed", error_message(e));
}

struct journal *journal_open(const char *datastore, struct error **err)
{
    assert(datastore);
    if (datastore_check(datastore, err) != 0)
        return NULL;
    if (private_dir_create(datastore) != 0) {
        error_set_errno(err, errno, "cannot create the datastore directory %s", datastore);
        return NULL;
    }
    _cleanup_free_ char *path = fs_join(datastore, "orchestrator.db");
    if (!fs_exists(path) && datastore_check_journal_lost(datastore, err) != 0) {
        error_prefix(err, "%s", path);
        return NULL;
    }
    /* Created by us first, so that it is private (it holds the Manifests). */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        error_set_errno(err, errno, "cannot open %s", path);
        return NULL;
    }
    close(fd);
    _cleanup_journal_ struct journal *j = journal_new(path);
    if (open_rw(j, datastore, err) != 0) {
        error_prefix(err, "%s", j->path);
        return NULL;
    }
    mark(datastore);
    return TAKE_PTR(j);
}

/* A connection that reads; *missing when the tables were never created. */
static int open_ro(struct journal *j, const char *datastore, bool *missing, struct error **err)
{
    if (connect_db(j, SQLITE_OPEN_READONLY, err) != 0)
        return -1;
    int v = journal_schema_read(j, err);
    if (v < 0)
        return -1;
    if (v == 0) { /* created, but the tables never were: nothing recorded, unless it was lost */
        if (datastore_check_journal_lost(datastore, err) != 0)
            return -1;
        *missing = true;
        return error_set(err, ENOENT, "no journal yet");
    }
    j->version = v;
    return 0;
}

struct journal *journal_open_readonly(const char *datastore, bool *missing, struct error **err)
{
    assert(datastore && missing);
    *missing = false;
    if (datastore_check(datastore, err) != 0)
        return NULL;
    _cleanup_free_ char *path = fs_join(datastore, "orchestrator.db");
    struct stat sb;
    if (stat(path, &sb) != 0) {
        int e = errno;
        if (e != ENOENT) {
            error_set_errno(err, e, "cannot open %s", path);
        } else if (datastore_check_journal_lost(datastore, err) != 0) {
            error_prefix(err, "%s", path);
        } else {
            *missing = true;
            error_set(err, e, "%s: no journal yet", path);
        }
        return NULL;
    }
    _cleanup_journal_ struct journal *j = journal_new(path);
    j->readonly = true;
    if (open_ro(j, datastore, missing, err) != 0) {
        error_prefix(err, "%s", j->path);
        return NULL;
    }
    return TAKE_PTR(j);
}

/* ---- the deployment in progress ---- */

/* Inside the caller's read transaction. */
static int load_current_locked(struct journal *j, struct deployment *d, struct error **err)
{
    char sql[160];
    snprintf(sql, sizeof(sql), "SELECT %s FROM deployment WHERE status = 'in_progress' ORDER BY id DESC LIMIT 2",
             db_parts_columns(j));
    _cleanup_stmt_ sqlite3_stmt *st = db_prepare(j, sql, err);
    if (!st)
        return error_prefix(err, "cannot read the deployment in progress");
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW) {
        db_error(j, err);
        return error_prefix(err, "cannot read the deployment in progress");
    }
    long long id = sqlite3_column_int64(st, 0);
    _cleanup_free_ char *state = db_column_text(st, 1);
    _cleanup_free_ char *fixed = db_column_text(st, 2);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        return error_set(err, 0, "more than one deployment in progress (%lld and %lld)", id,
                         (long long)sqlite3_column_int64(st, 0));
    if (rc != SQLITE_DONE) {
        db_error(j, err);
        return error_prefix(err, "cannot read the deployment in progress");
    }
    if (journal_load_parts(j, id, state, fixed, d, err) != 0)
        return -1;
    if (fixed) /* the rows hold d as loaded; a schema-1 row is written whole next time */
        journal_remember_saved(j, d);
    else
        journal_forget_saved(j);
    return 1;
}

int journal_load_current(struct journal *j, struct deployment *d, struct error **err)
{
    assert(j && d);
    memset(d, 0, sizeof(*d));
    pthread_mutex_lock(&j->mu);
    int r;
    /* one read transaction: the row and its member rows of the same save */
    if (db_exec(j, "BEGIN", err) != 0)
        r = error_prefix(err, "cannot read the deployment in progress");
    else
        r = load_current_locked(j, d, err);
    db_rollback(j); /* ends the read transaction */
    pthread_mutex_unlock(&j->mu);
    if (r < 0)
        return error_prefix(err, "%s", j->path);
    return r;
}

/* The id of a deployment in progress, 0 if none, -1 on error. */
static long long in_progress_id(struct journal *j, struct error **err)
{
    _cleanup_stmt_ sqlite3_stmt *st = db_prepare(j, "SELECT id FROM deployment WHERE status = 'in_progress' LIMIT 1",
                                                 err);
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        return sqlite3_column_int64(st, 0);
    if (rc != SQLITE_DONE)
        return db_error(j, err);
    return 0;
}

/* A new row for d (sets d->id), then d's parts or d whole, then COMMIT. */
static int insert_row(struct journal *j, struct deployment *d, struct error **err)
{
    {
        _cleanup_stmt_ sqlite3_stmt *st = db_prepare(j,
                                                     "INSERT INTO deployment (status, manifest_name, started, ended, "
                                                     "state) VALUES (?, ?, ?, ?, '')",
                                                     err);
        if (!st)
            return -1;
        db_bind_row_head(st, d);
        if (db_step_done(j, st, err) != 0)
            return -1;
    }
    d->id = sqlite3_last_insert_rowid(j->db);
    if (d->status == DEP_IN_PROGRESS) {
        journal_forget_saved(j);
        _cleanup_(journal_snapshot_free) struct journal_snapshot snap = { 0 };
        journal_take_parts(j, &snap, d);
        if (journal_write_parts(j, &snap, err) != 0)
            return -1;
    } else if (journal_write_whole(j, d, err) != 0) {
        return -1;
    }
    return db_exec(j, "COMMIT", err);
}

static int insert_locked(struct journal *j, struct deployment *d, struct error **err)
{
    if (db_exec(j, "BEGIN IMMEDIATE", err) != 0)
        return error_prefix(err, "cannot start a transaction");
    if (d->status == DEP_IN_PROGRESS) {
        long long other = in_progress_id(j, err);
        if (other < 0)
            return error_prefix(err, "cannot record the deployment");
        if (other > 0)
            return error_set(err, 0, "deployment %lld is already in progress", other);
    }
    if (insert_row(j, d, err) != 0)
        return error_prefix(err, "cannot record the deployment");
    testhook_commit("insert", d->seq);
    return 0;
}

int journal_insert(struct journal *j, struct deployment *d, struct error **err)
{
    assert(j && d);
    if (j->readonly)
        return error_set(err, 0, "%s: opened read-only", j->path);
    long long old_id = d->id;
    pthread_mutex_lock(&j->mu);
    int r = insert_locked(j, d, err);
    if (r != 0) {
        db_rollback(j);
        journal_forget_saved(j);
        d->id = old_id;
    }
    pthread_mutex_unlock(&j->mu);
    if (r != 0)
        return error_prefix(err, "%s", j->path);
    return 0;
}

/* Writes the snapshot in one transaction. Caller holds j->mu. */
static int save_locked(struct journal *j, const struct journal_snapshot *s, struct error **err)
{
    if (j->readonly)
        return error_set(err, 0, "opened read-only");
    if (s->id <= 0)
        return error_set(err, 0, "cannot save a deployment that was never recorded");
    if (s->unchanged)
        return 0;
    if (db_exec(j, "BEGIN IMMEDIATE", err) != 0 || journal_write_parts(j, s, err) != 0 ||
        db_exec(j, "COMMIT", err) != 0) {
        db_rollback(j);
        journal_forget_saved(j); /* the next save writes every part */
        return error_prefix(err, "cannot save deployment %lld", s->id);
    }
#ifdef MO_TEST_HOOKS
    journal_check_parts(j, s);
#endif
    return 0;
}

void journal_snapshot_take(struct journal *j, struct journal_snapshot *s, const struct deployment *d)
{
    assert(j && s && d);
    pthread_mutex_lock(&j->mu);
    journal_take_parts(j, s, d);
    pthread_mutex_unlock(&j->mu);
}

int journal_save_snapshot(struct journal *j, const struct journal_snapshot *s, struct error **err)
{
    assert(j && s);
    pthread_mutex_lock(&j->mu);
    int r = save_locked(j, s, err);
    pthread_mutex_unlock(&j->mu);
    if (r != 0)
        return error_prefix(err, "%s", j->path);
    return 0;
}

int journal_save(struct journal *j, const struct deployment *d, struct error **err)
{
    assert(j && d);
    _cleanup_(journal_snapshot_free) struct journal_snapshot s = { 0 };
    pthread_mutex_lock(&j->mu); /* taken and written at once: concurrent saves of d stay whole */
    journal_take_parts(j, &s, d);
    int r = save_locked(j, &s, err);
    pthread_mutex_unlock(&j->mu);
    if (r != 0)
        return error_prefix(err, "%s", j->path);
    testhook_commit("save", d->seq);
    return 0;
}

/* Inside the caller's transaction: d whole, the last success, the history pruned. */
static int finish_rows(struct journal *j, const struct deployment *d, struct error **err)
{
    if (journal_write_whole(j, d, err) != 0)
        return -1;
    if (d->status == DEP_SUCCESS) {
        _cleanup_stmt_ sqlite3_stmt *st =
            db_prepare(j, "INSERT OR REPLACE INTO last_success (id, deployment_id, name, text) VALUES (1, ?, ?, ?)",
                       err);
        if (!st)
            return -1;
        sqlite3_bind_int64(st, 1, d->id);
        db_bind_text(st, 2, d->manifest_name);
        sqlite3_bind_text(st, 3, d->manifest_text ? d->manifest_text : "", -1, SQLITE_STATIC);
        if (db_step_done(j, st, err) != 0)
            return -1;
    }
    _cleanup_stmt_ sqlite3_stmt *st =
        db_prepare(j,
                   "DELETE FROM deployment WHERE status != 'in_progress' AND id NOT IN "
                   "(SELECT id FROM deployment WHERE status != 'in_progress' ORDER BY id DESC LIMIT ?)",
                   err);
    if (!st)
        return -1;
    sqlite3_bind_int(st, 1, JOURNAL_HISTORY_MAX);
    return db_step_done(j, st, err);
}

static int finish_locked(struct journal *j, const struct deployment *d, struct error **err)
{
    journal_forget_saved(j);
    if (db_exec(j, "BEGIN IMMEDIATE", err) != 0 || finish_rows(j, d, err) != 0 || db_exec(j, "COMMIT", err) != 0)
        return error_prefix(err, "cannot finish deployment %lld", d->id);
    testhook_commit("finish", d->seq);
    return 0;
}

int journal_finish(struct journal *j, const struct deployment *d, struct error **err)
{
    assert(j && d);
    if (j->readonly)
        return error_set(err, 0, "%s: opened read-only", j->path);
    if (d->id <= 0)
        return error_set(err, 0, "%s: cannot finish a deployment that was never recorded", j->path);
    if (d->status == DEP_IN_PROGRESS)
        return error_set(err, 0, "%s: deployment %lld cannot finish as in_progress", j->path, d->id);
    pthread_mutex_lock(&j->mu);
    int r = finish_locked(j, d, err);
    if (r != 0)
        db_rollback(j);
    pthread_mutex_unlock(&j->mu);
    if (r != 0)
        return error_prefix(err, "%s", j->path);
    return 0;
}

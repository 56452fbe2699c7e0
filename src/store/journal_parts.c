/* The deployment in progress kept in parts (journal_schema.c has the rows): the journal
 * remembers what the database holds of it, so that a save writes only the parts that
 * changed since; an ended deployment is written whole again. */
#include "store/journal_db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/mem.h"

void journal_forget_saved(struct journal *j)
{
    for (size_t i = 0; i < j->nsaved; i++)
        member_progress_free(&j->saved[i]);
    free(j->saved);
    free(j->saved_head);
    j->saved = NULL;
    j->saved_head = NULL;
    j->nsaved = 0;
    j->saved_id = 0;
}

void journal_remember_saved(struct journal *j, const struct deployment *d)
{
    journal_forget_saved(j);
    j->saved = xcalloc(d->nmembers ? d->nmembers : 1, sizeof(*j->saved));
    for (size_t i = 0; i < d->nmembers; i++) {
        member_init(&j->saved[i]);
        member_progress_copy(&j->saved[i], &d->members[i]);
    }
    j->nsaved = d->nmembers;
    j->saved_id = d->id;
}

void journal_take_parts(struct journal *j, struct journal_snapshot *s, const struct deployment *d)
{
    memset(s, 0, sizeof(*s));
    s->id = d->id;
    s->status = d->status;
    s->manifest_name = d->manifest_name ? xstrdup(d->manifest_name) : NULL;
    s->started = d->started;
    s->ended = d->ended;
    s->head = deployment_part_json(d, DEP_PART_HEAD);
    bool all = j->saved_id != d->id || j->nsaved != d->nmembers;
    if (all) {
        s->fixed = deployment_part_json(d, DEP_PART_FIXED);
        journal_remember_saved(j, d);
    }
    bool same_head = !all && j->saved_head && strcmp(j->saved_head, s->head) == 0;
    free(j->saved_head);
    j->saved_head = xstrdup(s->head);
    s->idx = xcalloc(d->nmembers ? d->nmembers : 1, sizeof(*s->idx));
    s->member = xcalloc(d->nmembers ? d->nmembers : 1, sizeof(*s->member));
    for (size_t i = 0; i < d->nmembers; i++) {
        if (!all && member_progress_same(&j->saved[i], &d->members[i]))
            continue;
        if (!all)
            member_progress_copy(&j->saved[i], &d->members[i]);
        s->idx[s->n] = i;
        s->member[s->n++] = deployment_member_json(&d->members[i]);
    }
    s->unchanged = same_head && s->n == 0; /* the database holds d already: nothing to write */
#ifdef MO_TEST_HOOKS
    s->whole = deployment_to_json(d);
#endif
}

void journal_snapshot_free(struct journal_snapshot *s)
{
    free(s->manifest_name);
    free(s->head);
    free(s->fixed);
    for (size_t i = 0; i < s->n; i++)
        free(s->member[i]);
    free(s->member);
    free(s->idx);
    free(s->whole);
    memset(s, 0, sizeof(*s));
}

/* The deployment's row: its columns, its own fields, and its fixed part when taken. */
static int write_head(struct journal *j, const struct journal_snapshot *s, struct error **err)
{
    _cleanup_stmt_ sqlite3_stmt *st =
        db_prepare(j,
                   s->fixed ? "UPDATE deployment SET status = ?, manifest_name = ?, started = ?, ended = ?, "
                              "state = ?, fixed = ? WHERE id = ?"
                            : "UPDATE deployment SET status = ?, manifest_name = ?, started = ?, ended = ?, "
                              "state = ? WHERE id = ?",
                   err);
    if (!st)
        return -1;
    int k = 1;
    sqlite3_bind_text(st, k++, dep_status_name(s->status), -1, SQLITE_STATIC);
    db_bind_text(st, k++, s->manifest_name);
    sqlite3_bind_int64(st, k++, (sqlite3_int64)s->started);
    sqlite3_bind_int64(st, k++, (sqlite3_int64)s->ended);
    sqlite3_bind_text(st, k++, s->head, -1, SQLITE_STATIC);
    if (s->fixed)
        sqlite3_bind_text(st, k++, s->fixed, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, k, s->id);
    if (db_step_done(j, st, err) != 0)
        return -1;
    if (sqlite3_changes(j->db) != 1)
        return error_set(err, 0, "no such deployment");
    return 0;
}

/* The member rows of the snapshot. */
static int write_members(struct journal *j, const struct journal_snapshot *s, struct error **err)
{
    _cleanup_stmt_ sqlite3_stmt *st =
        db_prepare(j, "INSERT OR REPLACE INTO member (deployment_id, idx, state) VALUES (?, ?, ?)", err);
    if (!st)
        return -1;
    for (size_t i = 0; i < s->n; i++) {
        sqlite3_bind_int64(st, 1, s->id);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)s->idx[i]);
        sqlite3_bind_text(st, 3, s->member[i], -1, SQLITE_STATIC);
        if (db_step_done(j, st, err) != 0)
            return -1;
        sqlite3_reset(st);
    }
    return 0;
}

int journal_write_parts(struct journal *j, const struct journal_snapshot *s, struct error **err)
{
    if (write_head(j, s, err) != 0)
        return -1;
    return s->n ? write_members(j, s, err) : 0;
}

#ifdef MO_TEST_HOOKS
/* Test builds: the rows just written must add up to the deployment the snapshot was
 * taken of, so that a progress field missing from member_progress_same, or a field
 * "fixed at preparation" changed later, fails every test at once. */
void journal_check_parts(struct journal *j, const struct journal_snapshot *s)
{
    char sql[128];
    snprintf(sql, sizeof(sql), "SELECT %s FROM deployment WHERE id = ?", db_parts_columns(j));
    _cleanup_error_ struct error *e = NULL;
    _cleanup_free_ char *json = NULL;
    _cleanup_stmt_ sqlite3_stmt *st = db_prepare(j, sql, &e);
    if (st) {
        sqlite3_bind_int64(st, 1, s->id);
        struct deployment d;
        if (sqlite3_step(st) == SQLITE_ROW &&
            journal_load_parts(j, s->id, (const char *)sqlite3_column_text(st, 1),
                               (const char *)sqlite3_column_text(st, 2), &d, &e) == 0) {
            json = deployment_to_json(&d);
            deployment_free(&d);
        }
    }
    if (!json || strcmp(json, s->whole) != 0) {
        error_prefix(&e, "%s", j->path);
        fprintf(stderr,
                "journal check failed: deployment %lld as saved differs from the deployment\n"
                "saved: %s\nwanted: %s\n",
                s->id, json ? json : error_message(e), s->whole);
        _exit(99);
    }
}
#endif

int journal_write_whole(struct journal *j, const struct deployment *d, struct error **err)
{
    _cleanup_free_ char *json = deployment_to_json(d);
    {
        _cleanup_stmt_ sqlite3_stmt *st = db_prepare(j,
                                                     "UPDATE deployment SET status = ?, manifest_name = ?, "
                                                     "started = ?, ended = ?, state = ?, fixed = NULL WHERE id = ?",
                                                     err);
        if (!st)
            return -1;
        db_bind_row_head(st, d);
        sqlite3_bind_text(st, 5, json, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 6, d->id);
        if (db_step_done(j, st, err) != 0)
            return -1;
        if (sqlite3_changes(j->db) != 1)
            return error_set(err, 0, "no such deployment");
    }
    _cleanup_stmt_ sqlite3_stmt *st = db_prepare(j, "DELETE FROM member WHERE deployment_id = ?", err);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, d->id);
    return db_step_done(j, st, err);
}

/* The member rows of deployment id, in order; *numbered false (and no error) when they
 * are not numbered 0, 1, 2... */
static int load_member_rows(struct journal *j, long long id, struct strv *rows, bool *numbered, struct error **err)
{
    *numbered = true;
    _cleanup_stmt_ sqlite3_stmt *st =
        db_prepare(j, "SELECT idx, state FROM member WHERE deployment_id = ? ORDER BY idx", err);
    if (!st)
        return error_prefix(err, "cannot read the deployment's members");
    sqlite3_bind_int64(st, 1, id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (sqlite3_column_int64(st, 0) != (sqlite3_int64)rows->n) {
            *numbered = false;
            return 0;
        }
        strv_push(rows, (const char *)sqlite3_column_text(st, 1));
    }
    if (rc != SQLITE_DONE) {
        db_error(j, err);
        return error_prefix(err, "cannot read the deployment's members");
    }
    return 0;
}

int journal_load_parts(struct journal *j, long long id, const char *state, const char *fixed, struct deployment *d,
                       struct error **err)
{
    int r;
    if (!fixed) {
        r = deployment_from_json(state, d, err);
    } else {
        _cleanup_(strv_free) struct strv rows = { 0 };
        bool numbered;
        if (load_member_rows(j, id, &rows, &numbered, err) != 0)
            return -1;
        if (numbered)
            r = deployment_from_parts(state, fixed, rows.v, rows.n, d, err);
        else
            r = error_set(err, 0, "deployment record: member rows are not numbered 0, 1, 2...");
    }
    if (r != 0)
        return error_prefix(err, "deployment %lld", id);
    d->id = id;
    return 0;
}

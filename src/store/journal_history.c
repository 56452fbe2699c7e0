/* What the journal keeps of ended deployments, for status, history and plan: the
 * history, the last successful Manifest, the answers Interfaces gave. These reads log
 * their errors themselves: every caller goes on without them. */
#include "store/journal.h"

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/journal_db.h"
#include "util/log.h"
#include "util/mem.h"

static int last_success_locked(struct journal *j, char **name, char **text, struct error **err)
{
    _cleanup_stmt_ sqlite3_stmt *st = db_prepare(j, "SELECT name, text FROM last_success WHERE id = 1", err);
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW)
        return db_error(j, err);
    *name = db_column_text(st, 0);
    *text = db_column_text(st, 1);
    if (!*text)
        *text = xstrdup("");
    return 1;
}

int journal_last_success(struct journal *j, char **name, char **text)
{
    assert(j && name && text);
    *name = NULL;
    *text = NULL;
    _cleanup_error_ struct error *e = NULL;
    pthread_mutex_lock(&j->mu);
    int r = last_success_locked(j, name, text, &e);
    pthread_mutex_unlock(&j->mu);
    if (r < 0)
        log_error("%s: cannot read the last success: %s", j->path, error_message(e));
    return r;
}

static bool same_text(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }

/* d's answer for Component c: 1 and *answer set, 0 if it has none. */
static int answer_of(const struct deployment *d, const struct member *c, int *answer)
{
    for (size_t i = 0; i < d->nmembers; i++) {
        const struct member *m = &d->members[i];
        if (same_text(m->component_type, c->component_type) && same_text(m->id, c->id) &&
            same_text(m->interface, c->interface) && m->needs_reboot != ANSWER_UNSET) {
            *answer = m->needs_reboot;
            return 1;
        }
    }
    return 0;
}

static int last_reboot_answer_locked(struct journal *j, const struct member *c, int *answer, struct error **err)
{
    char sql[96];
    snprintf(sql, sizeof(sql), "SELECT %s FROM deployment ORDER BY id DESC", db_parts_columns(j));
    _cleanup_stmt_ sqlite3_stmt *st = db_prepare(j, sql, err);
    if (!st)
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct deployment d;
        long long id = sqlite3_column_int64(st, 0);
        _cleanup_error_ struct error *e = NULL;
        if (journal_load_parts(j, id, (const char *)sqlite3_column_text(st, 1),
                               (const char *)sqlite3_column_text(st, 2), &d, &e) != 0) {
            log_debug("%s: %s", j->path, error_message(e));
            continue;
        }
        int found = answer_of(&d, c, answer);
        deployment_free(&d);
        if (found)
            return 1;
    }
    if (rc != SQLITE_DONE)
        return db_error(j, err);
    return 0;
}

int journal_last_reboot_answer(struct journal *j, const struct member *m, int *answer)
{
    assert(j && m && answer);
    *answer = ANSWER_UNSET;
    _cleanup_error_ struct error *e = NULL;
    pthread_mutex_lock(&j->mu);
    int r = last_reboot_answer_locked(j, m, answer, &e);
    pthread_mutex_unlock(&j->mu);
    if (r < 0)
        log_error("%s: cannot read deployments: %s", j->path, error_message(e));
    return r;
}

/* What h shows of the record: the Components changed, the versions that wrote it, why
 * it failed. */
static void fill_from_record(struct history_entry *h, const char *state)
{
    struct deployment d;
    _cleanup_error_ struct error *e = NULL;
    if (deployment_from_json(state, &d, &e) != 0) {
        log_debug("deployment %lld: %s", h->id, error_message(e));
        return;
    }
    deployment_writers(&d, &h->versions);
    h->failure = d.failure ? xstrdup(d.failure) : NULL;
    for (size_t i = 0; i < d.nmembers; i++) {
        const struct member *m = &d.members[i];
        if (!m->selected || !m->install_started) /* skipped, or never modified (e.g. Download failed) */
            continue;
        const char *art = m->artifact_name ? m->artifact_name : m->artifact_path ? m->artifact_path : "-";
        strv_push_owned(&h->changed, xasprintf("%s.%s: %s", m->component_type, m->id, art));
    }
    deployment_free(&d);
}

static int status_parse(const char *s, enum dep_status *out)
{
    for (int i = DEP_IN_PROGRESS; i <= DEP_ROLLED_BACK; i++)
        if (s && strcmp(s, dep_status_name((enum dep_status)i)) == 0) {
            *out = (enum dep_status)i;
            return 0;
        }
    return -1;
}

static int history_locked(struct journal *j, size_t max, struct history_entry **out, size_t *n, struct error **err)
{
    _cleanup_stmt_ sqlite3_stmt *st = db_prepare(j,
                                                 "SELECT id, status, manifest_name, started, ended, state "
                                                 "FROM deployment WHERE status != 'in_progress' "
                                                 "ORDER BY id DESC LIMIT ?",
                                                 err);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, max > (size_t)INT64_MAX ? INT64_MAX : (sqlite3_int64)max);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            *out = xrealloc(*out, cap * sizeof(**out));
        }
        struct history_entry *h = &(*out)[*n];
        memset(h, 0, sizeof(*h));
        h->id = sqlite3_column_int64(st, 0);
        if (status_parse((const char *)sqlite3_column_text(st, 1), &h->status) != 0)
            h->status = DEP_FAILED;
        h->manifest_name = db_column_text(st, 2);
        h->started = (time_t)sqlite3_column_int64(st, 3);
        h->ended = (time_t)sqlite3_column_int64(st, 4);
        fill_from_record(h, (const char *)sqlite3_column_text(st, 5));
        (*n)++;
    }
    if (rc != SQLITE_DONE)
        return db_error(j, err);
    return 0;
}

int journal_history(struct journal *j, size_t max, struct history_entry **out, size_t *n)
{
    assert(j && out && n);
    *out = NULL;
    *n = 0;
    if (max == 0)
        return 0;
    _cleanup_error_ struct error *e = NULL;
    pthread_mutex_lock(&j->mu);
    int r = history_locked(j, max, out, n, &e);
    pthread_mutex_unlock(&j->mu);
    if (r < 0) {
        log_error("%s: cannot read the history: %s", j->path, error_message(e));
        history_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return r;
}

void history_free(struct history_entry *h, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(h[i].manifest_name);
        strv_free(&h[i].changed);
        strv_free(&h[i].versions);
        free(h[i].failure);
    }
    free(h);
}

/* The journal over SQLite: one connection guarded by a mutex; every write is one
 * transaction, durable when it returns (WAL, synchronous=FULL).
 *
 * Schema 2. A deployment row whose `fixed` is NULL holds the whole deployment as one
 * JSON document in `state` (ended deployments, and rows written by schema 1). The
 * deployment in progress is kept in parts, so that a save writes only what changed:
 * `state` has the deployment's own fields, `fixed` those set at preparation (written
 * once), and table `member` one row per member, rewritten only when that member's
 * progress changed. Finishing folds it back into one document. */
#include "store/journal.h"
#include "util/testhook.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fs.h"
#include "util/log.h"
#include "util/mem.h"

#define SCHEMA_VERSION 2
#define BUSY_TIMEOUT_MS 30000

struct journal {
    sqlite3 *db;
    char *path;
    bool readonly;
    int version;           /* schema version of the file (1 or 2; read-only opens keep 1) */
    pthread_mutex_t mu;
    /* What the database holds of deployment `saved_id` (in progress): every member's
     * progress as last written. 0: not known, the next save writes every part. */
    long long saved_id;
    struct member *saved;
    size_t nsaved;
    char *saved_head;      /* and the head as last written (it holds the row's other columns too) */
};

#define MEMBER_TABLE_SQL                                                                                      \
    "CREATE TABLE member ("                                                                                     \
    "  deployment_id INTEGER NOT NULL,"                                                                         \
    "  idx INTEGER NOT NULL,"                                                                                   \
    "  state TEXT NOT NULL,"                                                                                    \
    "  PRIMARY KEY (deployment_id, idx)"                                                                        \
    ") WITHOUT ROWID;"

static const char schema_sql[] =
    "CREATE TABLE deployment ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  status TEXT NOT NULL,"
    "  manifest_name TEXT,"
    "  started INTEGER NOT NULL DEFAULT 0,"
    "  ended INTEGER NOT NULL DEFAULT 0,"
    "  state TEXT NOT NULL,"
    "  fixed TEXT"
    ");"
    "CREATE INDEX deployment_status ON deployment(status);"
    "CREATE TABLE last_success ("
    "  id INTEGER PRIMARY KEY CHECK (id = 1),"
    "  deployment_id INTEGER NOT NULL,"
    "  name TEXT,"
    "  text TEXT NOT NULL"
    ");" MEMBER_TABLE_SQL;

/* Schema 1 to 2: rows of schema 1 stay valid as they are (fixed NULL). */
static const char migrate_1_2_sql[] = "ALTER TABLE deployment ADD COLUMN fixed TEXT;" MEMBER_TABLE_SQL;

static void fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* "<db path>: <what>: <sqlite message>" */
static int db_fail(struct journal *j, char *err, size_t errlen, const char *what)
{
    int os = sqlite3_system_errno(j->db);   /* "disk I/O error" alone does not say ENOSPC */
    if (os > 0 && (sqlite3_extended_errcode(j->db) & 0xff) == SQLITE_IOERR)
        fail(err, errlen, "%s: %s: %s (%s)", j->path, what, sqlite3_errmsg(j->db), strerror(os));
    else
        fail(err, errlen, "%s: %s: %s", j->path, what, sqlite3_errmsg(j->db));
    return -1;
}

/* mkdir -p with mode for the directories it creates. */
static int mkdir_p(const char *dir, mode_t mode)
{
    char *p = xstrdup(dir);
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        p[--n] = '\0';
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, mode) != 0 && errno != EEXIST) {
            int e = errno;
            free(p);
            errno = e;
            return -1;
        }
        *s = c;
        if (c == '\0')
            break;
    }
    struct stat st;
    int r = stat(p, &st);
    free(p);
    if (r != 0)
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

static int exec(struct journal *j, const char *sql, char *err, size_t errlen, const char *what)
{
    if (sqlite3_exec(j->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(j, err, errlen, what);
    return 0;
}

static void rollback(struct journal *j)
{
    if (!sqlite3_get_autocommit(j->db))
        sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
}

static sqlite3_stmt *prepare(struct journal *j, const char *sql, char *err, size_t errlen, const char *what)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(j->db, sql, -1, &st, NULL) != SQLITE_OK) {
        db_fail(j, err, errlen, what);
        sqlite3_finalize(st);
        return NULL;
    }
    return st;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

static char *col_text(sqlite3_stmt *st, int i)
{
    const unsigned char *s = sqlite3_column_text(st, i);
    return s ? xstrdup((const char *)s) : NULL;
}

/* PRAGMA user_version; -1 on error. */
static int user_version(struct journal *j, char *err, size_t errlen)
{
    sqlite3_stmt *st = prepare(j, "PRAGMA user_version", err, errlen, "cannot read the schema version");
    if (!st)
        return -1;
    int v = -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    else
        db_fail(j, err, errlen, "cannot read the schema version");
    sqlite3_finalize(st);
    return v;
}

/* The cache of what the database holds is no longer known to be right. */
static void forget_saved(struct journal *j)
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

/* The database now holds d exactly (caller holds j->mu). */
static void remember_saved(struct journal *j, const struct deployment *d)
{
    forget_saved(j);
    j->saved = xcalloc(d->nmembers ? d->nmembers : 1, sizeof(*j->saved));
    for (size_t i = 0; i < d->nmembers; i++) {
        member_init(&j->saved[i]);
        member_progress_copy(&j->saved[i], &d->members[i]);
    }
    j->nsaved = d->nmembers;
    j->saved_id = d->id;
}

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
    forget_saved(j);
    pthread_mutex_destroy(&j->mu);
    free(j->path);
    free(j);
}

static int journal_mode_wal(struct journal *j, char *err, size_t errlen)
{
    sqlite3_stmt *st = prepare(j, "PRAGMA journal_mode=WAL", err, errlen, "cannot set the WAL journal mode");
    if (!st)
        return -1;
    int r = -1;
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *mode = (const char *)sqlite3_column_text(st, 0);
        if (mode && strcmp(mode, "wal") == 0)
            r = 0;
        else
            fail(err, errlen, "%s: cannot set the WAL journal mode (got \"%s\")", j->path, mode ? mode : "");
    } else {
        db_fail(j, err, errlen, "cannot set the WAL journal mode");
    }
    sqlite3_finalize(st);
    return r;
}

struct journal *journal_open(const char *datastore, char *err, size_t errlen)
{
    if (mkdir_p(datastore, 0700) != 0) {
        fail(err, errlen, "cannot create the datastore directory %s: %s", datastore, strerror(errno));
        return NULL;
    }
    char *path = fs_join(datastore, "orchestrator.db");
    /* Created by us first, so that it is private (it holds the Manifests). */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        fail(err, errlen, "cannot open %s: %s", path, strerror(errno));
        free(path);
        return NULL;
    }
    close(fd);
    struct journal *j = journal_new(path);
    free(path);
    if (sqlite3_open_v2(j->path, &j->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        if (j->db)
            db_fail(j, err, errlen, "cannot open the database");
        else
            fail(err, errlen, "%s: cannot open the database", j->path);
        goto fail;
    }
    sqlite3_extended_result_codes(j->db, 1);
    sqlite3_busy_timeout(j->db, BUSY_TIMEOUT_MS);
    if (journal_mode_wal(j, err, errlen) != 0 ||
        exec(j, "PRAGMA synchronous=FULL", err, errlen, "cannot set synchronous=FULL") != 0)
        goto fail;
    if (exec(j, "BEGIN IMMEDIATE", err, errlen, "cannot start a transaction") != 0)
        goto fail;
    int v = user_version(j, err, errlen);
    if (v < 0)
        goto fail_tx;
    if (v > SCHEMA_VERSION) {
        fail(err, errlen, "%s: schema version %d is newer than this mender-orchestrator supports (%d)", j->path, v,
             SCHEMA_VERSION);
        goto fail_tx;
    }
    if (v < SCHEMA_VERSION) {
        char set[64];
        snprintf(set, sizeof(set), "PRAGMA user_version=%d", SCHEMA_VERSION);
        if (exec(j, v == 0 ? schema_sql : migrate_1_2_sql, err, errlen,
                 v == 0 ? "cannot create the tables" : "cannot upgrade the tables to schema 2") != 0 ||
            exec(j, set, err, errlen, "cannot set the schema version") != 0)
            goto fail_tx;
    }
    j->version = SCHEMA_VERSION;
    if (exec(j, "COMMIT", err, errlen, "cannot create the tables") != 0)
        goto fail_tx;
    return j;
fail_tx:
    rollback(j);
fail:
    journal_close(j);
    return NULL;
}

struct journal *journal_open_readonly(const char *datastore, bool *missing, char *err, size_t errlen)
{
    *missing = false;
    char *path = fs_join(datastore, "orchestrator.db");
    struct stat sb;
    if (stat(path, &sb) != 0) {
        int e = errno;
        if (e == ENOENT || e == ENOTDIR) {
            *missing = true;
            fail(err, errlen, "%s: no journal yet", path);
        } else {
            fail(err, errlen, "cannot open %s: %s", path, strerror(e));
        }
        free(path);
        return NULL;
    }
    struct journal *j = journal_new(path);
    free(path);
    j->readonly = true;
    if (sqlite3_open_v2(j->path, &j->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        if (j->db)
            db_fail(j, err, errlen, "cannot open the database");
        else
            fail(err, errlen, "%s: cannot open the database", j->path);
        journal_close(j);
        return NULL;
    }
    sqlite3_extended_result_codes(j->db, 1);
    sqlite3_busy_timeout(j->db, BUSY_TIMEOUT_MS);
    int v = user_version(j, err, errlen);
    if (v < 0) {
        journal_close(j);
        return NULL;
    }
    if (v == 0) { /* created, but the tables never were: nothing recorded */
        *missing = true;
        fail(err, errlen, "%s: no journal yet", j->path);
        journal_close(j);
        return NULL;
    }
    if (v > SCHEMA_VERSION) {
        fail(err, errlen, "%s: schema version %d is newer than this mender-orchestrator supports (%d)", j->path, v,
             SCHEMA_VERSION);
        journal_close(j);
        return NULL;
    }
    j->version = v;
    return j;
}

/* ---- deployments ---- */

/* The SELECT list of a deployment row's parts: id, state, fixed (NULL in schema 1). */
static const char *parts_columns(const struct journal *j)
{
    return j->version >= 2 ? "id, state, fixed" : "id, state, NULL";
}

/* Loads deployment `id` from its row's state and fixed columns (and, when fixed is
 * set, its member rows) into d. Caller holds j->mu. */
static int load_parts(struct journal *j, long long id, const char *state, const char *fixed, struct deployment *d,
                      char *err, size_t errlen)
{
    char why[256];
    _cleanup_error_ struct error *e = NULL;
    int r = -1;
    if (!fixed) {
        r = deployment_from_json(state, d, &e);
    } else {
        struct strv rows = { 0 };
        sqlite3_stmt *st = prepare(j, "SELECT idx, state FROM member WHERE deployment_id = ? ORDER BY idx", err,
                                   errlen, "cannot read the deployment's members");
        if (!st)
            return -1;
        sqlite3_bind_int64(st, 1, id);
        int rc;
        snprintf(why, sizeof(why), "deployment record: member rows are not numbered 0, 1, 2...");
        bool ok = true;
        while (ok && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            ok = sqlite3_column_int64(st, 0) == (sqlite3_int64)rows.n;
            strv_push(&rows, (const char *)sqlite3_column_text(st, 1));
        }
        if (ok && rc != SQLITE_DONE) {
            db_fail(j, err, errlen, "cannot read the deployment's members");
            sqlite3_finalize(st);
            strv_free(&rows);
            return -1;
        }
        sqlite3_finalize(st);
        if (ok)
            r = deployment_from_parts(state, fixed, rows.v, rows.n, d, &e);
        strv_free(&rows);
    }
    if (r != 0) {
        fail(err, errlen, "%s: deployment %lld: %s", j->path, id, e ? error_message(e) : why);
        return -1;
    }
    d->id = id;
    return 0;
}

int journal_load_current(struct journal *j, struct deployment *d, char *err, size_t errlen)
{
    memset(d, 0, sizeof(*d));
    pthread_mutex_lock(&j->mu);
    int r = -1;
    sqlite3_stmt *st = NULL;
    /* one read transaction: the row and its member rows of the same save */
    if (exec(j, "BEGIN", err, errlen, "cannot read the deployment in progress") != 0)
        goto out;
    char sql[160];
    snprintf(sql, sizeof(sql), "SELECT %s FROM deployment WHERE status = 'in_progress' ORDER BY id DESC LIMIT 2",
             parts_columns(j));
    st = prepare(j, sql, err, errlen, "cannot read the deployment in progress");
    if (!st)
        goto out;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        r = 0;
        goto out;
    }
    if (rc != SQLITE_ROW) {
        db_fail(j, err, errlen, "cannot read the deployment in progress");
        goto out;
    }
    long long id = sqlite3_column_int64(st, 0);
    char *state = col_text(st, 1);
    char *fixed = col_text(st, 2);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        fail(err, errlen, "%s: more than one deployment in progress (%lld and %lld)", j->path, id,
             (long long)sqlite3_column_int64(st, 0));
    } else if (rc != SQLITE_DONE) {
        db_fail(j, err, errlen, "cannot read the deployment in progress");
    } else if (load_parts(j, id, state, fixed, d, err, errlen) == 0) {
        r = 1;
        if (fixed) /* the rows hold d as loaded; a schema-1 row is written whole next time */
            remember_saved(j, d);
        else
            forget_saved(j);
    }
    free(state);
    free(fixed);
out:
    sqlite3_finalize(st);
    rollback(j); /* ends the read transaction */
    pthread_mutex_unlock(&j->mu);
    return r;
}

/* Takes the parts of d that differ from what the database holds (all of them when that
 * is not known), and records them as held. Caller holds j->mu. */
static void take_parts(struct journal *j, struct journal_snapshot *s, const struct deployment *d)
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
        remember_saved(j, d);
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

void journal_snapshot_take(struct journal *j, struct journal_snapshot *s, const struct deployment *d)
{
    pthread_mutex_lock(&j->mu);
    take_parts(j, s, d);
    pthread_mutex_unlock(&j->mu);
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

/* Writes the snapshot's parts inside the caller's transaction. */
static int write_parts(struct journal *j, const struct journal_snapshot *s, const char *what, char *err,
                       size_t errlen)
{
    sqlite3_stmt *st = prepare(j,
                               s->fixed ? "UPDATE deployment SET status = ?, manifest_name = ?, started = ?, ended = ?, "
                                          "state = ?, fixed = ? WHERE id = ?"
                                        : "UPDATE deployment SET status = ?, manifest_name = ?, started = ?, ended = ?, "
                                          "state = ? WHERE id = ?",
                               err, errlen, what);
    if (!st)
        return -1;
    int k = 1;
    sqlite3_bind_text(st, k++, dep_status_name(s->status), -1, SQLITE_STATIC);
    bind_text(st, k++, s->manifest_name);
    sqlite3_bind_int64(st, k++, (sqlite3_int64)s->started);
    sqlite3_bind_int64(st, k++, (sqlite3_int64)s->ended);
    sqlite3_bind_text(st, k++, s->head, -1, SQLITE_STATIC);
    if (s->fixed)
        sqlite3_bind_text(st, k++, s->fixed, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, k, s->id);
    int r = 0;
    if (sqlite3_step(st) != SQLITE_DONE)
        r = db_fail(j, err, errlen, what);
    else if (sqlite3_changes(j->db) != 1) {
        fail(err, errlen, "%s: %s: no such deployment", j->path, what);
        r = -1;
    }
    sqlite3_finalize(st);
    if (r != 0 || s->n == 0)
        return r;
    st = prepare(j, "INSERT OR REPLACE INTO member (deployment_id, idx, state) VALUES (?, ?, ?)", err, errlen, what);
    if (!st)
        return -1;
    for (size_t i = 0; i < s->n && r == 0; i++) {
        sqlite3_bind_int64(st, 1, s->id);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)s->idx[i]);
        sqlite3_bind_text(st, 3, s->member[i], -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            r = db_fail(j, err, errlen, what);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    return r;
}

#ifdef MO_TEST_HOOKS
/* Test builds: the rows just written must add up to the deployment the snapshot was
 * taken of, so that a progress field missing from member_progress_same, or a field
 * "fixed at preparation" changed later, fails every test at once. */
static void check_parts(struct journal *j, const struct journal_snapshot *s)
{
    char sql[128], err[512];
    snprintf(sql, sizeof(sql), "SELECT %s FROM deployment WHERE id = ?", parts_columns(j));
    sqlite3_stmt *st = prepare(j, sql, err, sizeof(err), "check");
    struct deployment d;
    char *json = NULL;
    if (st) {
        sqlite3_bind_int64(st, 1, s->id);
        if (sqlite3_step(st) == SQLITE_ROW &&
            load_parts(j, s->id, (const char *)sqlite3_column_text(st, 1), (const char *)sqlite3_column_text(st, 2),
                       &d, err, sizeof(err)) == 0) {
            json = deployment_to_json(&d);
            deployment_free(&d);
        }
        sqlite3_finalize(st);
    }
    if (!json || strcmp(json, s->whole) != 0) {
        fprintf(stderr, "journal check failed: deployment %lld as saved differs from the deployment\n"
                        "saved: %s\nwanted: %s\n", s->id, json ? json : err, s->whole);
        _exit(99);
    }
    free(json);
}
#endif

/* The whole deployment as one document in `state`, its parts dropped (an ended one). */
static int write_whole(struct journal *j, const struct deployment *d, const char *what, char *err, size_t errlen)
{
    char *json = deployment_to_json(d);
    sqlite3_stmt *st = prepare(j,
                               "UPDATE deployment SET status = ?, manifest_name = ?, started = ?, ended = ?, "
                               "state = ?, fixed = NULL WHERE id = ?",
                               err, errlen, what);
    int r = -1;
    if (st) {
        sqlite3_bind_text(st, 1, dep_status_name(d->status), -1, SQLITE_STATIC);
        bind_text(st, 2, d->manifest_name);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)d->started);
        sqlite3_bind_int64(st, 4, (sqlite3_int64)d->ended);
        sqlite3_bind_text(st, 5, json, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 6, d->id);
        if (sqlite3_step(st) != SQLITE_DONE)
            db_fail(j, err, errlen, what);
        else if (sqlite3_changes(j->db) != 1)
            fail(err, errlen, "%s: %s: no such deployment", j->path, what);
        else
            r = 0;
        sqlite3_finalize(st);
    }
    free(json);
    if (r != 0)
        return r;
    st = prepare(j, "DELETE FROM member WHERE deployment_id = ?", err, errlen, what);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, d->id);
    if (sqlite3_step(st) != SQLITE_DONE)
        r = db_fail(j, err, errlen, what);
    sqlite3_finalize(st);
    return r;
}

int journal_insert(struct journal *j, struct deployment *d, char *err, size_t errlen)
{
    if (j->readonly) {
        fail(err, errlen, "%s: opened read-only", j->path);
        return -1;
    }
    long long old_id = d->id;
    sqlite3_stmt *st = NULL;
    struct journal_snapshot snap = { 0 };
    int r = -1;
    pthread_mutex_lock(&j->mu);
    if (exec(j, "BEGIN IMMEDIATE", err, errlen, "cannot start a transaction") != 0)
        goto out;
    if (d->status == DEP_IN_PROGRESS) {
        st = prepare(j, "SELECT id FROM deployment WHERE status = 'in_progress' LIMIT 1", err, errlen,
                     "cannot record the deployment");
        if (!st)
            goto out;
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            fail(err, errlen, "%s: deployment %lld is already in progress", j->path,
                 (long long)sqlite3_column_int64(st, 0));
            goto out;
        }
        if (rc != SQLITE_DONE) {
            db_fail(j, err, errlen, "cannot record the deployment");
            goto out;
        }
        sqlite3_finalize(st);
    }
    st = prepare(j,
                 "INSERT INTO deployment (status, manifest_name, started, ended, state) "
                 "VALUES (?, ?, ?, ?, '')",
                 err, errlen, "cannot record the deployment");
    if (!st)
        goto out;
    sqlite3_bind_text(st, 1, dep_status_name(d->status), -1, SQLITE_STATIC);
    bind_text(st, 2, d->manifest_name);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)d->started);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)d->ended);
    if (sqlite3_step(st) != SQLITE_DONE) {
        db_fail(j, err, errlen, "cannot record the deployment");
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;
    d->id = sqlite3_last_insert_rowid(j->db);
    if (d->status == DEP_IN_PROGRESS) {
        forget_saved(j);
        take_parts(j, &snap, d);
        if (write_parts(j, &snap, "cannot record the deployment", err, errlen) != 0)
            goto out;
    } else if (write_whole(j, d, "cannot record the deployment", err, errlen) != 0) {
        goto out;
    }
    if (exec(j, "COMMIT", err, errlen, "cannot record the deployment") != 0)
        goto out;
    testhook_commit("insert");
    r = 0;
out:
    sqlite3_finalize(st);
    if (r != 0) {
        rollback(j);
        forget_saved(j);
        d->id = old_id;
    }
    pthread_mutex_unlock(&j->mu);
    journal_snapshot_free(&snap);
    return r;
}

/* Writes the snapshot in one transaction. Caller holds j->mu. */
static int save_parts(struct journal *j, const struct journal_snapshot *s, char *err, size_t errlen)
{
    if (j->readonly) {
        fail(err, errlen, "%s: opened read-only", j->path);
        return -1;
    }
    if (s->id <= 0) {
        fail(err, errlen, "%s: cannot save a deployment that was never recorded", j->path);
        return -1;
    }
    if (s->unchanged)
        return 0;
    char what[96];
    snprintf(what, sizeof(what), "cannot save deployment %lld", s->id);
    if (exec(j, "BEGIN IMMEDIATE", err, errlen, what) != 0 || write_parts(j, s, what, err, errlen) != 0 ||
        exec(j, "COMMIT", err, errlen, what) != 0) {
        rollback(j);
        forget_saved(j); /* the next save writes every part */
        return -1;
    }
#ifdef MO_TEST_HOOKS
    check_parts(j, s);
#endif
    return 0;
}

int journal_save_snapshot(struct journal *j, const struct journal_snapshot *s, char *err, size_t errlen)
{
    pthread_mutex_lock(&j->mu);
    int r = save_parts(j, s, err, errlen);
    pthread_mutex_unlock(&j->mu);
    return r;
}

int journal_save(struct journal *j, const struct deployment *d, char *err, size_t errlen)
{
    struct journal_snapshot s;
    pthread_mutex_lock(&j->mu); /* taken and written at once: concurrent saves of d stay whole */
    take_parts(j, &s, d);
    int r = save_parts(j, &s, err, errlen);
    pthread_mutex_unlock(&j->mu);
    journal_snapshot_free(&s);
    if (r == 0)
        testhook_commit("save");
    return r;
}

int journal_finish(struct journal *j, const struct deployment *d, char *err, size_t errlen)
{
    if (j->readonly) {
        fail(err, errlen, "%s: opened read-only", j->path);
        return -1;
    }
    if (d->id <= 0) {
        fail(err, errlen, "%s: cannot finish a deployment that was never recorded", j->path);
        return -1;
    }
    if (d->status == DEP_IN_PROGRESS) {
        fail(err, errlen, "%s: deployment %lld cannot finish as in_progress", j->path, d->id);
        return -1;
    }
    char what[96];
    snprintf(what, sizeof(what), "cannot finish deployment %lld", d->id);
    sqlite3_stmt *st = NULL;
    int r = -1;
    pthread_mutex_lock(&j->mu);
    forget_saved(j);
    if (exec(j, "BEGIN IMMEDIATE", err, errlen, what) != 0)
        goto out;
    if (write_whole(j, d, what, err, errlen) != 0)
        goto out;
    if (d->status == DEP_SUCCESS) {
        st = prepare(j, "INSERT OR REPLACE INTO last_success (id, deployment_id, name, text) VALUES (1, ?, ?, ?)",
                     err, errlen, what);
        if (!st)
            goto out;
        sqlite3_bind_int64(st, 1, d->id);
        bind_text(st, 2, d->manifest_name);
        sqlite3_bind_text(st, 3, d->manifest_text ? d->manifest_text : "", -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) {
            db_fail(j, err, errlen, what);
            goto out;
        }
        sqlite3_finalize(st);
    }
    st = prepare(j,
                 "DELETE FROM deployment WHERE status != 'in_progress' AND id NOT IN "
                 "(SELECT id FROM deployment WHERE status != 'in_progress' ORDER BY id DESC LIMIT ?)",
                 err, errlen, what);
    if (!st)
        goto out;
    sqlite3_bind_int(st, 1, JOURNAL_HISTORY_MAX);
    if (sqlite3_step(st) != SQLITE_DONE) {
        db_fail(j, err, errlen, what);
        goto out;
    }
    if (exec(j, "COMMIT", err, errlen, what) != 0)
        goto out;
    testhook_commit("finish");
    r = 0;
out:
    sqlite3_finalize(st);
    if (r != 0)
        rollback(j);
    pthread_mutex_unlock(&j->mu);
    return r;
}

int journal_last_success(struct journal *j, char **name, char **text)
{
    *name = NULL;
    *text = NULL;
    char err[512];
    int r = -1;
    pthread_mutex_lock(&j->mu);
    sqlite3_stmt *st = prepare(j, "SELECT name, text FROM last_success WHERE id = 1", err, sizeof(err),
                               "cannot read the last success");
    if (st) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *name = col_text(st, 0);
            *text = col_text(st, 1);
            if (!*text)
                *text = xstrdup("");
            r = 1;
        } else if (rc == SQLITE_DONE) {
            r = 0;
        } else {
            db_fail(j, err, sizeof(err), "cannot read the last success");
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&j->mu);
    if (r < 0)
        log_error("%s", err);
    return r;
}

int journal_last_reboot_answer(struct journal *j, const char *interface, int *answer)
{
    *answer = ANSWER_UNSET;
    char err[512];
    int r = 0;
    pthread_mutex_lock(&j->mu);
    char sql[96];
    snprintf(sql, sizeof(sql), "SELECT %s FROM deployment ORDER BY id DESC", parts_columns(j));
    sqlite3_stmt *st = prepare(j, sql, err, sizeof(err), "cannot read deployments");
    if (!st) {
        r = -1;
    } else {
        int rc;
        while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            struct deployment d;
            char why[512];
            long long id = sqlite3_column_int64(st, 0);
            if (load_parts(j, id, (const char *)sqlite3_column_text(st, 1), (const char *)sqlite3_column_text(st, 2),
                           &d, why, sizeof(why)) != 0) {
                log_debug("%s", why);
                continue;
            }
            for (size_t i = 0; i < d.nmembers; i++)
                if (d.members[i].interface && strcmp(d.members[i].interface, interface) == 0 &&
                    d.members[i].needs_reboot != ANSWER_UNSET) {
                    *answer = d.members[i].needs_reboot;
                    r = 1;
                    break;
                }
            deployment_free(&d);
        }
        if (r == 0 && rc != SQLITE_DONE)
            r = db_fail(j, err, sizeof(err), "cannot read deployments");
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&j->mu);
    if (r < 0)
        log_error("%s", err);
    return r;
}

static void fill_changed(struct history_entry *h, const char *state)
{
    struct deployment d;
    _cleanup_error_ struct error *e = NULL;
    if (deployment_from_json(state, &d, &e) != 0) {
        log_debug("deployment %lld: %s", h->id, error_message(e));
        return;
    }
    for (size_t i = 0; i < d.nmembers; i++) {
        const struct member *m = &d.members[i];
        if (!m->selected)
            continue;
        const char *art = m->artifact_name ? m->artifact_name : m->artifact_path ? m->artifact_path : "-";
        strv_push_owned(&h->changed, xasprintf("%s.%s: %s", m->component_type, m->id, art));
    }
    deployment_free(&d);
}

static int status_parse(const char *s, enum dep_status *out)
{
    for (int i = DEP_IN_PROGRESS; i <= DEP_INCONSISTENT; i++)
        if (s && strcmp(s, dep_status_name((enum dep_status)i)) == 0) {
            *out = (enum dep_status)i;
            return 0;
        }
    return -1;
}

int journal_history(struct journal *j, size_t max, struct history_entry **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (max == 0)
        return 0;
    char err[512];
    int r = 0;
    size_t cap = 0;
    pthread_mutex_lock(&j->mu);
    sqlite3_stmt *st = prepare(j,
                               "SELECT id, status, manifest_name, started, ended, state FROM deployment "
                               "WHERE status != 'in_progress' ORDER BY id DESC LIMIT ?",
                               err, sizeof(err), "cannot read the history");
    if (!st) {
        r = -1;
    } else {
        sqlite3_bind_int64(st, 1, max > (size_t)INT64_MAX ? INT64_MAX : (sqlite3_int64)max);
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
            h->manifest_name = col_text(st, 2);
            h->started = (time_t)sqlite3_column_int64(st, 3);
            h->ended = (time_t)sqlite3_column_int64(st, 4);
            fill_changed(h, (const char *)sqlite3_column_text(st, 5));
            (*n)++;
        }
        if (rc != SQLITE_DONE)
            r = db_fail(j, err, sizeof(err), "cannot read the history");
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&j->mu);
    if (r < 0) {
        log_error("%s", err);
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
    }
    free(h);
}

/* ---- lock and Manifest store ---- */

int journal_lock(const char *datastore, char *err, size_t errlen)
{
    if (mkdir_p(datastore, 0700) != 0) {
        fail(err, errlen, "cannot create the datastore directory %s: %s", datastore, strerror(errno));
        return -1;
    }
    char *path = fs_join(datastore, "orchestrator.lock");
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        fail(err, errlen, "cannot open %s: %s", path, strerror(errno));
        free(path);
        return -1;
    }
    while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EINTR)
            continue;
        if (errno == EWOULDBLOCK)
            fail(err, errlen, "another mender-orchestrator process is running");
        else
            fail(err, errlen, "cannot lock %s: %s", path, strerror(errno));
        close(fd);
        free(path);
        return -1;
    }
    free(path);
    return fd;
}

/* "<digits>.yaml" (or a temporary "<digits>.yaml.tmp.<pid>" left by a crash):
 * the deployment id, else -1. */
static long long store_name_id(const char *name, bool *tmp)
{
    const char *p = name;
    long long id = 0;
    if (*p < '0' || *p > '9')
        return -1;
    while (*p >= '0' && *p <= '9') {
        if (id > (INT64_MAX - 9) / 10)
            return -1;
        id = id * 10 + (*p++ - '0');
    }
    if (strncmp(p, ".yaml", 5) != 0)
        return -1;
    p += 5;
    *tmp = false;
    if (*p == '\0')
        return id;
    if (strncmp(p, ".tmp.", 5) != 0 || !p[5])
        return -1;
    for (p += 5; *p; p++)
        if (*p < '0' || *p > '9')
            return -1;
    *tmp = true;
    return id;
}

int manifest_store_put(const char *store, long long id, const char *text, long long keep_other, char *err,
                       size_t errlen)
{
    if (mkdir_p(store, 0700) != 0) {
        fail(err, errlen, "cannot create the Manifest store %s: %s", store, strerror(errno));
        return -1;
    }
    char name[64];
    snprintf(name, sizeof(name), "%lld.yaml", id);
    char *path = fs_join(store, name);
    if (!text)
        text = "";
    if (fs_write_atomic(path, text, strlen(text), 0600) != 0) {
        fail(err, errlen, "cannot write %s: %s", path, strerror(errno));
        free(path);
        return -1;
    }
    free(path);
    DIR *dir = opendir(store);
    if (!dir) {
        fail(err, errlen, "cannot read the Manifest store %s: %s", store, strerror(errno));
        return -1;
    }
    bool removed = false;
    struct dirent *e;
    while ((e = readdir(dir))) {
        bool tmp;
        long long other = store_name_id(e->d_name, &tmp);
        if (other < 0 || (!tmp && (other == id || (keep_other > 0 && other == keep_other))))
            continue;
        if (unlinkat(dirfd(dir), e->d_name, 0) != 0) {
            if (errno != ENOENT)
                log_warn("cannot remove %s/%s: %s", store, e->d_name, strerror(errno));
        } else {
            removed = true;
        }
    }
    closedir(dir);
    if (removed)
        fs_fsync_dir(store);
    return 0;
}

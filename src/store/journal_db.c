#include "store/journal_db.h"

#include <string.h>

#include "util/mem.h"

int db_error(struct journal *j, struct error **err)
{
    int os = sqlite3_system_errno(j->db); /* "disk I/O error" alone does not say ENOSPC */
    if (os > 0 && (sqlite3_extended_errcode(j->db) & 0xff) == SQLITE_IOERR)
        return error_set(err, os, "%s (%s)", sqlite3_errmsg(j->db), strerror(os));
    return error_set(err, 0, "%s", sqlite3_errmsg(j->db));
}

int db_exec(struct journal *j, const char *sql, struct error **err)
{
    if (sqlite3_exec(j->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return db_error(j, err);
    return 0;
}

sqlite3_stmt *db_prepare(struct journal *j, const char *sql, struct error **err)
{
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(j->db, sql, -1, &st, NULL) != SQLITE_OK) {
        db_error(j, err);
        return NULL;
    }
    return TAKE_PTR(st);
}

int db_step_done(struct journal *j, sqlite3_stmt *st, struct error **err)
{
    if (sqlite3_step(st) != SQLITE_DONE)
        return db_error(j, err);
    return 0;
}

void db_rollback(struct journal *j)
{
    if (!sqlite3_get_autocommit(j->db))
        sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
}

void db_bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

char *db_column_text(sqlite3_stmt *st, int i)
{
    const unsigned char *s = sqlite3_column_text(st, i);
    return s ? xstrdup((const char *)s) : NULL;
}

const char *db_parts_columns(const struct journal *j)
{
    return j->version >= 2 ? "id, state, fixed" : "id, state, NULL";
}

void db_bind_row_head(sqlite3_stmt *st, const struct deployment *d)
{
    sqlite3_bind_text(st, 1, dep_status_name(d->status), -1, SQLITE_STATIC);
    db_bind_text(st, 2, d->manifest_name);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)d->started);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)d->ended);
}

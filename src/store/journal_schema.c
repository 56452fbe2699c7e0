/* The journal's tables. Schema 2: a deployment row whose `fixed` is NULL holds the whole
 * deployment as one JSON document in `state` (ended deployments, and rows written by
 * schema 1). The deployment in progress is kept in parts, so that a save writes only
 * what changed: `state` has the deployment's own fields, `fixed` those set at
 * preparation (written once), and table `member` one row per member, rewritten only
 * when that member's progress changed. Finishing folds it back into one document.
 * PRAGMA user_version holds the schema version. */
#include "store/journal_db.h"

#include <stdio.h>

#include "util/version.h"

#define MEMBER_TABLE_SQL                 \
    "CREATE TABLE member ("              \
    "  deployment_id INTEGER NOT NULL,"  \
    "  idx INTEGER NOT NULL,"            \
    "  state TEXT NOT NULL,"             \
    "  PRIMARY KEY (deployment_id, idx)" \
    ") WITHOUT ROWID;"

static const char schema_sql[] = "CREATE TABLE deployment ("
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

/* PRAGMA user_version, without a check. */
static int user_version(struct journal *j, struct error **err)
{
    _cleanup_stmt_ sqlite3_stmt *st = db_prepare(j, "PRAGMA user_version", err);
    if (!st)
        return error_prefix(err, "cannot read the schema version");
    if (sqlite3_step(st) != SQLITE_ROW) {
        db_error(j, err);
        return error_prefix(err, "cannot read the schema version");
    }
    return sqlite3_column_int(st, 0);
}

int journal_schema_read(struct journal *j, struct error **err)
{
    int v = user_version(j, err);
    if (v > SCHEMA_VERSION)
        return error_set(err, 0,
                         "schema version %d is newer than mender-orchestrator %s supports (%d): a newer "
                         "mender-orchestrator wrote it; run that version or a later one (the journal is left as it is)",
                         v, mo_version(), SCHEMA_VERSION);
    return v;
}

/* The upgrade inside the caller's transaction. */
static int upgrade(struct journal *j, struct error **err)
{
    int v = journal_schema_read(j, err);
    if (v < 0)
        return -1;
    if (v == SCHEMA_VERSION)
        return 0;
    if (db_exec(j, v == 0 ? schema_sql : migrate_1_2_sql, err) != 0)
        return error_prefix(err, v == 0 ? "cannot create the tables" : "cannot upgrade the tables to schema 2");
    char set[64];
    snprintf(set, sizeof(set), "PRAGMA user_version=%d", SCHEMA_VERSION);
    if (db_exec(j, set, err) != 0)
        return error_prefix(err, "cannot set the schema version");
    return 0;
}

int journal_schema_upgrade(struct journal *j, struct error **err)
{
    if (db_exec(j, "BEGIN IMMEDIATE", err) != 0)
        return error_prefix(err, "cannot start a transaction");
    if (upgrade(j, err) != 0) {
        db_rollback(j);
        return -1;
    }
    if (db_exec(j, "COMMIT", err) != 0) {
        db_rollback(j);
        return error_prefix(err, "cannot create the tables");
    }
    j->version = SCHEMA_VERSION;
    return 0;
}

/* The datastore directory ({datastore}, docs/configuration.md) as a whole: whether it can
 * be used, and the traces that show it had a journal, so that a journal lost (deleted,
 * emptied, a file system repaired) is never taken for a new one: a new one would say
 * "nothing in progress" while Components are half-updated. */
#ifndef MO_DATASTORE_H
#define MO_DATASTORE_H

#include "util/cleanup.h"
#include "util/error.h"

/* Written beside the journal once its tables exist; never removed by us. */
#define DATASTORE_MARKER "orchestrator.created"

/* 0 when dir is a directory, or does not exist yet (it is created when needed); -1 with
 * err naming dir and what to do when it cannot be used (not a directory, no access). */
int datastore_check(const char *dir, struct error **err) MO_MUST_CHECK;

/* For a datastore whose journal is missing or empty: 0 when nothing shows that it had
 * one (a new datastore), else -1 with err ("the journal is missing or empty, but ...")
 * naming the traces found (the marker, Component work dirs, SQLite's -wal or -shm file)
 * and what to do. Reads only. */
int datastore_check_journal_lost(const char *dir, struct error **err) MO_MUST_CHECK;

/* Writes the marker durably if it is missing. -1 with err. */
int datastore_mark_journal(const char *dir, struct error **err) MO_MUST_CHECK;

#endif

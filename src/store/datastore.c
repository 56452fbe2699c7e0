#include "store/datastore.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fs.h"
#include "util/mem.h"
#include "util/strv.h"

#define NEXT_STEP                                                                                                 \
    "restore the journal from a backup; or check every Component (mender-orchestrator show-provides), put right " \
    "by hand any left half-updated, then remove %s to start a new journal (README: Troubleshooting)"

#define MOVE_OR_POINT "move the file away, or point MENDER_ORCHESTRATOR_DATASTORE_DIR at the datastore directory"

int datastore_check(const char *dir, struct error **err)
{
    assert(dir);
    struct stat st;
    if (stat(dir, &st) != 0) {
        int e = errno;
        if (e == ENOENT)
            return 0;
        if (e == ENOTDIR)
            return error_set(err, e, "datastore %s: part of its path is a file, not a directory; " MOVE_OR_POINT, dir);
        return error_set(err, e, "datastore %s: %s; check the path and its permissions", dir, strerror(e));
    }
    if (!S_ISDIR(st.st_mode))
        return error_set(err, ENOTDIR, "datastore %s is not a directory; " MOVE_OR_POINT, dir);
    if (access(dir, R_OK | X_OK) != 0) {
        int e = errno;
        return error_set(err, e, "datastore %s: %s; run as its owner (usually root)", dir, strerror(e));
    }
    return 0;
}

/* The Component work dirs under {dir}/work (work/<type>/<id>): how many, the first
 * in *first ("<type>/<id>"). -1 with err when the folder cannot be read. */
static int count_work_dirs(const char *work, char **first, struct error **err)
{
    _cleanup_closedir_ DIR *top = opendir(work);
    if (!top) {
        if (errno == ENOENT || errno == ENOTDIR)
            return 0;
        return error_set_errno(err, errno, "cannot read %s", work);
    }
    int n = 0;
    struct dirent *t;
    while ((t = readdir(top))) {
        if (strcmp(t->d_name, ".") == 0 || strcmp(t->d_name, "..") == 0)
            continue;
        _cleanup_free_ char *type_dir = fs_join(work, t->d_name);
        _cleanup_closedir_ DIR *sub = opendir(type_dir);
        struct dirent *c;
        while (sub && (c = readdir(sub))) {
            if (strcmp(c->d_name, ".") == 0 || strcmp(c->d_name, "..") == 0)
                continue;
            if (n++ == 0)
                *first = xasprintf("%s/%s", t->d_name, c->d_name);
        }
    }
    return n;
}

/* "a", "a and b", "a, b and c". */
static char *join_and(const struct strv *l)
{
    char *s = xstrdup("");
    for (size_t i = 0; i < l->n; i++) {
        const char *sep = i == 0 ? "" : i + 1 == l->n ? " and " : ", ";
        char *t = xasprintf("%s%s%s", s, sep, l->v[i]);
        free(s);
        s = t;
    }
    return s;
}

/* The SQLite files left beside a journal that is gone (deleted or emptied). Beside a
 * file that has SQLite's header but no tables yet they are a creation cut short, not a
 * trace. */
static void sqlite_leftovers(const char *dir, struct strv *found)
{
    _cleanup_free_ char *db = fs_join(dir, "orchestrator.db");
    struct stat st;
    if (stat(db, &st) == 0 && st.st_size > 0)
        return;
    static const char *const names[] = { "orchestrator.db-wal", "orchestrator.db-shm" };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        _cleanup_free_ char *p = fs_join(dir, names[i]);
        if (fs_exists(p))
            strv_push(found, p);
    }
}

int datastore_check_journal_lost(const char *dir, struct error **err)
{
    assert(dir);
    _cleanup_free_ char *work = fs_join(dir, "work");
    _cleanup_free_ char *marker = fs_join(dir, DATASTORE_MARKER);
    _cleanup_free_ char *first = NULL;
    int nwork = count_work_dirs(work, &first, err);
    if (nwork < 0)
        return -1;
    _cleanup_(strv_free) struct strv found = { 0 };
    if (nwork > 0)
        strv_push(&found, work);
    if (fs_exists(marker))
        strv_push(&found, marker);
    sqlite_leftovers(dir, &found);
    if (found.n == 0)
        return 0;
    _cleanup_free_ char *remove = join_and(&found);
    _cleanup_free_ char *more = nwork > 1 ? xasprintf(" and %d more", nwork - 1) : xstrdup("");
    if (nwork > 0)
        return error_set(err, 0,
                         "the journal is missing or empty, but %s holds the work dirs of a deployment in progress "
                         "(%s%s): its Components may be half-updated, and without the journal it can be neither "
                         "resumed nor rolled back; " NEXT_STEP,
                         work, first, more, remove);
    return error_set(err, 0,
                     "the journal is missing or empty, but %s shows that this datastore had one: the history is "
                     "lost and a deployment may have been in progress; " NEXT_STEP,
                     found.v[0], remove);
}

int datastore_mark_journal(const char *dir, struct error **err)
{
    assert(dir);
    _cleanup_free_ char *marker = fs_join(dir, DATASTORE_MARKER);
    if (fs_exists(marker))
        return 0;
    static const char text[] =
        "mender-orchestrator: this datastore has a journal (orchestrator.db). While this file\n"
        "exists, a missing or empty journal is an error, never a fresh start: see Troubleshooting\n"
        "in the README of mender-orchestrator.\n";
    if (fs_write_atomic(marker, text, sizeof(text) - 1, 0600) != 0)
        return error_set_errno(err, errno, "cannot write %s", marker);
    return 0;
}

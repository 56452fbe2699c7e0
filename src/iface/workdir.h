/* The File API work directory of one Component (docs/protocol.md), and the
 * scratch directory of queries made outside the install phase (docs/protocol.md). */
#ifndef MO_WORKDIR_H
#define MO_WORKDIR_H

#include "artifact/artifact.h"
#include "util/error.h"
#include "util/strv.h"

/* One path part escaped: bytes outside [A-Za-z0-9._-] become %XX, "." and ".." have
 * their dots escaped. Caller frees. */
char *workdir_escape(const char *part);

/* {datastore}/work/<type>/<id>/, escaped. Caller frees. */
char *workdir_path(const char *datastore, const char *component_type, const char *id);

/* Creates the work dir fresh (an old one is removed first): version, current_*,
 * the header files, tmp/; files 0600, directories 0700; everything fsynced. provides is the
 * Component's Provides answer; info the verified Artifact header. Returns 0 or -1
 * with *err ("<path>: <strerror>", or workdir_check's reason). */
MO_MUST_CHECK int workdir_create(const char *dir, const char *component_type, const struct kvlist *provides,
                                 const struct artifact_info *info, struct error **err);

/* Scratch dir {datastore}/query/<pid>-<n>/ with `version` and an empty tmp/.
 * Returns the path (caller frees) or NULL with *err. */
MO_MUST_CHECK char *workdir_scratch(const char *datastore, struct error **err);
/* The query is over: the scratch dir goes (renamed to {datastore}/query/<pid>-0/ and
 * reused by the next workdir_scratch when the query left it exactly as it was made;
 * removed at exit). */
void workdir_scratch_done(const char *dir);

/* Removes the scratch dirs of processes that no longer run ({datastore}/query/<pid>-<n>/
 * whose <pid> is gone): what an orchestrator killed during a query left behind. */
void workdir_sweep_scratch(const char *datastore);

/* Refuses a work dir reached through a symbolic link or a non-directory: dir and its
 * parents up to `levels` path parts (3 for {datastore}/work/<type>/<id>, 2 for a query
 * scratch dir); the datastore itself may be a symlink. Missing parts are fine.
 * Returns 0, or -1 with "<path>: ..." in *err. */
MO_MUST_CHECK int workdir_check(const char *dir, int levels, struct error **err);

/* Removes a directory tree; missing is fine. Returns 0 or -1 with errno. Not
 * MO_MUST_CHECK: most callers remove what is left of a failed call, best effort. */
int workdir_remove(const char *dir);

/* mkdir -p with mode 0700 for created parts. Returns 0 or -1 with errno. */
MO_MUST_CHECK int workdir_mkdirs(const char *dir);

#endif

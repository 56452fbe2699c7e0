/* The journal's space reserve: {datastore}/orchestrator.reserve, 1 MiB allocated before
 * a deployment starts. When the datastore's filesystem fills up during the deployment
 * (a payload in files/, another program), the file is deleted and the journal write
 * retried, so that the rollback can still be recorded and run. */
#ifndef MO_RESERVE_H
#define MO_RESERVE_H

#include <stdbool.h>

#include "util/error.h"

#define RESERVE_BYTES (1024 * 1024)

/* Makes sure the reserve exists with its full size. Returns 0, or -1 with err (e.g.
 * the filesystem has less than RESERVE_BYTES free). */
int reserve_ensure(const char *datastore, struct error **err) MO_MUST_CHECK;

/* Deletes the reserve; true if there was one to give back. */
bool reserve_release(const char *datastore);

#endif

/* One deployment at a time: a non-blocking flock on {datastore}/orchestrator.lock, held
 * by install, resume and rollback while they run (with a POSIX record lock beside it, so
 * that a refused process can name the holder's PID). */
#ifndef MO_STORE_LOCK_H
#define MO_STORE_LOCK_H

#include "util/error.h"

/* Takes the lock, creating the datastore (0700) and the lock file if missing. Returns
 * the fd (the lock is held while it is open), or -1 with err ("another
 * mender-orchestrator process is running (PID <n> holds <lock file>); ..." when another
 * process holds it; the PID when it can be learnt). */
int store_lock_acquire(const char *datastore, struct error **err) MO_MUST_CHECK;

#endif

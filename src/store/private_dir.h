/* The store's directories (the datastore, the Manifest store) hold the Manifests:
 * whatever of them is missing is created readable by the owner only. */
#ifndef MO_PRIVATE_DIR_H
#define MO_PRIVATE_DIR_H

#include "util/cleanup.h"

/* mkdir -p dir, creating missing directories with mode 0700. Returns 0, or -1 with
 * errno set (ENOTDIR when dir or a parent is not a directory). */
int private_dir_create(const char *dir) MO_MUST_CHECK;

#endif

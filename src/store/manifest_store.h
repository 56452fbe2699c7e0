/* The Manifest store: copies of the Manifest of the deployment in progress and of the
 * last successful one, as {store}/<deployment id>.yaml (config: ManifestStore). */
#ifndef MO_MANIFEST_STORE_H
#define MO_MANIFEST_STORE_H

#include "util/error.h"

/* Writes text (NULL: empty) durably to {store}/<id>.yaml, creating the store (0700) if
 * missing, then removes every other copy but keep_other's (0: none), and temporary
 * files left by a crash. Returns 0, or -1 with err. */
int manifest_store_put(const char *store, long long id, const char *text, long long keep_other,
                       struct error **err) MO_MUST_CHECK;

#endif

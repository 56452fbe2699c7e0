/* What most commands load first: configuration, then Topology and Manifest. */
#ifndef MO_CONTEXT_H
#define MO_CONTEXT_H

#include "cli/cli.h"
#include "inputs/config.h"
#include "inputs/manifest.h"
#include "inputs/topology.h"
#include "util/diag.h"

/* Loads the configuration with the command line's overrides and applies LogLevel.
 * Returns 0, or -1 with the errors already logged. */
int context_load_config(const struct cli_args *args, struct config *cfg);

/* Loads the Manifest at path and the Components it applies to: for the current format
 * the Topology (topology_path, or the configured location) cross-checked with the
 * Manifest; for the legacy format the Manifest's own list. Everything found is added
 * to d. Returns 0 when no error was found. *have_topology tells whether top was filled. */
int context_load_inputs(const struct cli_args *args, const struct config *cfg, const char *manifest_path,
                        const char *topology_path, struct manifest *m, struct topology *top, int *have_topology,
                        struct diag_list *d);

#endif

/* What most commands load first: configuration, then Topology and Manifest. */
#ifndef MO_CONTEXT_H
#define MO_CONTEXT_H

#include "cli/cli.h"
#include "deploy/prepare.h"
#include "iface/runner.h"
#include "inputs/config.h"
#include "inputs/manifest.h"
#include "inputs/topology.h"
#include "util/cleanup.h"
#include "util/diag.h"

/* Loads the configuration with the command line's overrides and applies LogLevel.
 * Returns 0, or -1 with the errors already logged. */
MO_MUST_CHECK int context_load_config(const struct cli_args *args, struct config *cfg);

/* Checks that the datastore can be used (a directory, or not there yet). Returns 0, or
 * -1 with the error logged. */
MO_MUST_CHECK int context_check_datastore(const struct config *cfg);

/* The release named on the command line (positional MANIFEST, --topology,
 * --manifest-components) and the runner's settings, for deploy/prepare.h. */
struct prepare_opts context_prepare_opts(const struct cli_args *args, const struct config *cfg);

/* The component list of show-* commands: a legacy --manifest-components file, else
 * the Topology. */
struct component_sources {
    bool legacy;
    const char *system_type; /* the Topology's; NULL for legacy */
    const struct component_def *defs;
    size_t ndefs;
    struct topology top;
    struct manifest legacy_manifest;
    int have_top, have_legacy;
};

MO_MUST_CHECK int context_load_components(const struct cli_args *args, const struct config *cfg,
                                          struct component_sources *src, struct diag_list *d);
void context_components_free(struct component_sources *src);

/* The runner's settings from the configuration. */
struct iface_env context_iface_env(const struct config *cfg);

/* Name of the last successfully installed Manifest, or NULL if none is known. */
char *context_last_manifest_name(const struct config *cfg);

#endif

#include "cli/context.h"

#include <stdlib.h>

#include "util/log.h"

int context_load_config(const struct cli_args *args, struct config *cfg)
{
    struct diag_list d = { 0 };
    struct config_overrides ov = { .log_level = args->log_level,
                                   .topology_components = args->topology_components };
    int r = config_load(cfg, &ov, &d);
    if (r == 0 && !args->log_level)
        log_set_level(cfg->log_level);
    log_info("Running mender-orchestrator %s", MO_VERSION);
    diag_flush(&d);
    return r;
}

int context_load_inputs(const struct cli_args *args, const struct config *cfg, const char *manifest_path,
                        const char *topology_path, struct manifest *m, struct topology *top, int *have_topology,
                        struct diag_list *d)
{
    *have_topology = 0;
    if (manifest_load(manifest_path, args->manifest_components, m, d) != 0)
        return -1;
    if (m->format == MANIFEST_LEGACY)
        return 0;
    char *def = NULL;
    if (!topology_path)
        topology_path = def = config_topology_path(cfg);
    int r = topology_load(topology_path, cfg->topology_components, top, d);
    free(def);
    if (r != 0)
        return -1;
    *have_topology = 1;
    return manifest_check_topology(m, top, d);
}

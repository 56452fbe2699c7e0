#include "cli/context.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "store/datastore.h"
#include "store/journal.h"
#include "util/log.h"
#include "util/version.h"

int context_load_config(const struct cli_args *args, struct config *cfg)
{
    struct diag_list d = { 0 };
    struct config_overrides ov = { .log_level = args->log_level, .topology_components = args->topology_components };
    int r = config_load(cfg, &ov, &d);
    if (r == 0 && !args->log_level)
        log_set_level(cfg->log_level);
    log_info("Running mender-orchestrator %s", mo_version());
    diag_flush(&d);
    return r;
}

int context_check_datastore(const struct config *cfg)
{
    _cleanup_error_ struct error *err = NULL;
    if (datastore_check(cfg->datastore_dir, &err) == 0)
        return 0;
    log_error("%s", error_message(err));
    return -1;
}

struct prepare_opts context_prepare_opts(const struct cli_args *args, const struct config *cfg)
{
    assert(args && args->positional.n >= 1 && cfg);
    return (struct prepare_opts){
        .manifest_path = args->positional.v[0],
        .topology_path = args->topology,
        .manifest_components = args->manifest_components,
        .env = context_iface_env(cfg),
    };
}

int context_load_components(const struct cli_args *args, const struct config *cfg, struct component_sources *src,
                            struct diag_list *d)
{
    memset(src, 0, sizeof(*src));
    if (args->manifest_components) {
        if (legacy_components_load(args->manifest_components, &src->legacy_manifest, d) != 0)
            return -1;
        src->have_legacy = 1;
        src->legacy = true;
        src->defs = src->legacy_manifest.components;
        src->ndefs = src->legacy_manifest.ncomponents;
        return 0;
    }
    char *path = config_topology_path(cfg);
    int r = topology_load(path, cfg->topology_components, &src->top, d);
    free(path);
    if (r != 0)
        return -1;
    src->have_top = 1;
    src->system_type = src->top.system_type;
    src->defs = src->top.components;
    src->ndefs = src->top.ncomponents;
    return 0;
}

void context_components_free(struct component_sources *src)
{
    if (src->have_top)
        topology_free(&src->top);
    if (src->have_legacy)
        manifest_free(&src->legacy_manifest);
    memset(src, 0, sizeof(*src));
}

struct iface_env context_iface_env(const struct config *cfg)
{
    return (struct iface_env){
        .data_dir = cfg->data_dir,
        .datastore = cfg->datastore_dir,
        .timeout_seconds = (double)cfg->interface_timeout_seconds,
    };
}

char *context_last_manifest_name(const struct config *cfg)
{
    bool missing = false;
    _cleanup_error_ struct error *err = NULL;
    struct journal *j = journal_open_readonly(cfg->datastore_dir, &missing, &err);
    if (!j) {
        if (!missing)
            log_warn("journal: %s", error_message(err));
        return NULL;
    }
    char *name = NULL, *text = NULL;
    if (journal_last_success(j, &name, &text) != 1) {
        free(name);
        name = NULL;
    }
    free(text);
    journal_close(j);
    return name;
}

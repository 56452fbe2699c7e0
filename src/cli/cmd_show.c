/* `show-provides` and `show-inventory` (docs/mender-orchestrator.1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/context.h"
#include "cli/exitcodes.h"
#include "system/components.h"
#include "util/log.h"
#include "util/mem.h"

/* What both commands work on: the configuration, the component list, and each
 * Component's Identity and Provides answers. */
struct system_view {
    struct config cfg;
    struct component_sources src;
    struct component_set set;
    bool usable;   /* the configuration and the component list could be read */
    bool complete; /* every query was answered and valid */
};

static void view_load(const struct cli_args *args, struct system_view *v)
{
    memset(v, 0, sizeof(*v));
    struct diag_list d = { 0 };
    if (context_load_config(args, &v->cfg) != 0 || context_check_datastore(&v->cfg) != 0)
        return;
    if (context_load_components(args, &v->cfg, &v->src, &d) == 0) {
        v->usable = true;
        struct iface_env env = context_iface_env(&v->cfg);
        v->complete = components_query(&env, v->src.defs, v->src.ndefs, v->src.legacy, &v->set, &d) == 0;
    }
    diag_flush(&d);
}

static void view_free(struct system_view *v)
{
    components_free(&v->set);
    context_components_free(&v->src);
    config_free(&v->cfg);
}

/* Whether c's lines can be printed: its id is known and names it alone (two Components
 * under one id would mix their lines; components_query reported them). */
static bool printable(const struct component *c)
{
    if (c->identified && c->duplicate)
        log_comp(LOG_ERROR, c->def->component_type, c->id, "left out: its id is not unique within its type");
    return c->identified && !c->duplicate;
}

static bool is_version_key(const char *key)
{
    size_t n = strlen(key);
    return strcmp(key, "rootfs-image.version") == 0 ||
           (strncmp(key, "rootfs-image.", 13) == 0 && n > 21 && strcmp(key + n - 8, ".version") == 0);
}

int cmd_show_provides(const struct cli_args *args)
{
    _cleanup_(view_free) struct system_view v = { 0 };
    view_load(args, &v);
    for (size_t i = 0; i < v.set.n; i++) {
        const struct component *c = &v.set.v[i];
        if (!printable(c) || !c->have_provides)
            continue;
        struct kvlist p = { 0 };
        kvl_copy(&p, &c->provides);
        kvl_set(&p, "device_type", c->def->component_type);
        kvl_sort(&p);
        for (size_t k = 0; k < p.n; k++)
            printf("%s.%s.%s=%s\n", c->def->component_type, c->id, p.items[k].key, p.items[k].value);
        kvl_free(&p);
    }
    return v.complete ? EXIT_OK : EXIT_FAILED;
}

int cmd_show_inventory(const struct cli_args *args)
{
    _cleanup_(view_free) struct system_view v = { 0 };
    view_load(args, &v);
    if (!v.usable)
        return EXIT_FAILED;
    const char *prefix = "mender-orchestrator-manifest";
    _cleanup_free_ char *last = context_last_manifest_name(&v.cfg);
    if (last)
        printf("%s.version=%s\n", prefix, last);
    if (v.src.system_type)
        printf("%s.system_type=%s\n", prefix, v.src.system_type);
    struct strv types = { 0 };
    for (size_t i = 0; i < v.src.ndefs; i++)
        if (!strv_contains(&types, v.src.defs[i].component_type)) {
            strv_push(&types, v.src.defs[i].component_type);
            printf("%s.component_type=%s\n", prefix, v.src.defs[i].component_type);
        }
    strv_free(&types);

    struct iface_env env = context_iface_env(&v.cfg);
    for (size_t i = 0; i < v.set.n; i++) {
        const struct component *c = &v.set.v[i];
        if (!printable(c))
            continue;
        const char *type = c->def->component_type;
        for (size_t k = 0; k < c->provides.n; k++)
            if (is_version_key(c->provides.items[k].key))
                printf("%s.%s.%s=%s\n", type, c->id, c->provides.items[k].key, c->provides.items[k].value);
        struct iface_target t = component_target(c, v.src.legacy);
        struct strv inv = { 0 };
        _cleanup_error_ struct error *err = NULL;
        if (iface_inventory(&env, &t, &inv, &err) != 0) {
            log_comp(LOG_ERROR, type, c->id, "%s", error_message(err));
            continue;
        }
        for (size_t k = 0; k < inv.n; k++)
            printf("%s.%s.%s\n", type, c->id, inv.v[k]);
        strv_free(&inv);
    }
    return EXIT_OK;
}

/* `show-provides` and `show-inventory` (orchestrator.md §12). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/context.h"
#include "cli/exitcodes.h"
#include "components.h"
#include "util/log.h"
#include "util/mem.h"

/* Queries every Component of the System; returns 0 when all answered. *usable is 0
 * when there is no usable component list at all. */
static int query_system(const struct cli_args *args, struct config *cfg, struct component_sources *src,
                        struct component_set *set, int *usable)
{
    struct diag_list d = { 0 };
    *usable = 0;
    if (context_load_components(args, cfg, src, &d) != 0) {
        diag_flush(&d);
        return -1;
    }
    *usable = 1;
    struct iface_env env = context_iface_env(cfg);
    int r = components_query(&env, src->defs, src->ndefs, src->legacy, set, &d);
    diag_flush(&d);
    return r;
}

static bool is_version_key(const char *key)
{
    size_t n = strlen(key);
    return strcmp(key, "rootfs-image.version") == 0 ||
           (strncmp(key, "rootfs-image.", 13) == 0 && n > 21 && strcmp(key + n - 8, ".version") == 0);
}

int cmd_show_provides(const struct cli_args *args)
{
    struct config cfg = { 0 };
    if (context_load_config(args, &cfg) != 0) {
        config_free(&cfg);
        return EXIT_FAILED;
    }
    struct component_sources src = { 0 };
    struct component_set set = { 0 };
    int usable;
    int r = query_system(args, &cfg, &src, &set, &usable);
    for (size_t i = 0; i < set.n; i++) {
        const struct component *c = &set.v[i];
        if (!c->have_provides)
            continue;
        struct kvlist p = { 0 };
        kvl_copy(&p, &c->provides);
        kvl_set(&p, "device_type", c->def->component_type);
        kvl_sort(&p);
        for (size_t k = 0; k < p.n; k++)
            printf("%s.%s.%s=%s\n", c->def->component_type, c->id, p.items[k].key, p.items[k].value);
        kvl_free(&p);
    }
    components_free(&set);
    context_components_free(&src);
    config_free(&cfg);
    return r == 0 ? EXIT_OK : EXIT_FAILED;
}

int cmd_show_inventory(const struct cli_args *args)
{
    struct config cfg = { 0 };
    if (context_load_config(args, &cfg) != 0) {
        config_free(&cfg);
        return EXIT_FAILED;
    }
    struct component_sources src = { 0 };
    struct component_set set = { 0 };
    int usable;
    query_system(args, &cfg, &src, &set, &usable);
    if (!usable) {
        context_components_free(&src);
        config_free(&cfg);
        return EXIT_FAILED;
    }
    const char *prefix = "mender-orchestrator-manifest";
    char *last = context_last_manifest_name(&cfg);
    if (last)
        printf("%s.version=%s\n", prefix, last);
    free(last);
    if (src.system_type)
        printf("%s.system_type=%s\n", prefix, src.system_type);
    struct strv types = { 0 };
    for (size_t i = 0; i < src.ndefs; i++)
        if (!strv_contains(&types, src.defs[i].component_type)) {
            strv_push(&types, src.defs[i].component_type);
            printf("%s.component_type=%s\n", prefix, src.defs[i].component_type);
        }
    strv_free(&types);

    struct iface_env env = context_iface_env(&cfg);
    char err[1024];
    for (size_t i = 0; i < set.n; i++) {
        const struct component *c = &set.v[i];
        if (!c->identified)
            continue;
        const char *type = c->def->component_type;
        for (size_t k = 0; k < c->provides.n; k++)
            if (is_version_key(c->provides.items[k].key))
                printf("%s.%s.%s=%s\n", type, c->id, c->provides.items[k].key, c->provides.items[k].value);
        struct iface_target t = component_target(c, src.legacy);
        struct strv inv = { 0 };
        if (iface_inventory(&env, &t, &inv, err, sizeof(err)) != 0) {
            log_comp(LOG_ERROR, type, c->id, "%s", err);
            continue;
        }
        for (size_t k = 0; k < inv.n; k++)
            printf("%s.%s.%s\n", type, c->id, inv.v[k]);
        strv_free(&inv);
    }
    components_free(&set);
    context_components_free(&src);
    config_free(&cfg);
    return EXIT_OK;
}

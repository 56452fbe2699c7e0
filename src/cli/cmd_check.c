/* `check MANIFEST`: offline validation of a release (docs/mender-orchestrator.1). Nothing is
 * written and no Interface is called. */
#include <assert.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artifact/artifact.h"
#include "artifact/provides.h"
#include "cli/cli.h"
#include "cli/context.h"
#include "cli/exitcodes.h"
#include "deploy/prepare.h"
#include "deploy/select.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/mem.h"

struct type_use {
    const char *component_type;
    struct strv interfaces; /* distinct Interfaces serving this type */
};

/* Distinct component types in order of first appearance, with their Interfaces. */
static size_t collect_types(const struct component_def *c, size_t n, struct type_use *out)
{
    size_t nt = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        while (k < nt && strcmp(out[k].component_type, c[i].component_type) != 0)
            k++;
        if (k == nt) {
            out[nt].component_type = c[i].component_type;
            out[nt].interfaces = (struct strv){ 0 };
            nt++;
        }
        if (!strv_contains(&out[k].interfaces, c[i].interface))
            strv_push(&out[k].interfaces, c[i].interface);
    }
    return nt;
}

static char *join_provides(const struct artifact_info *a)
{
    struct kvlist p = { 0 };
    provides_of_artifact(a, &p);
    kvl_sort(&p);
    size_t len = 1;
    for (size_t i = 0; i < p.n; i++)
        len += strlen(p.items[i].key) + strlen(p.items[i].value) + 2;
    char *s = xmalloc(len);
    s[0] = '\0';
    for (size_t i = 0; i < p.n; i++) {
        if (i)
            strcat(s, ",");
        strcat(s, p.items[i].key);
        strcat(s, "=");
        strcat(s, p.items[i].value);
    }
    kvl_free(&p);
    return s;
}

/* Checks the local Artifact of one type; prints its line; adds errors to d. */
static void check_type(const struct type_use *t, const struct manifest *m, const struct manifest_entry *e,
                       const struct artifact_keys *keys, struct diag_list *d)
{
    const char *type = t->component_type;
    if (!e->artifact_abspath || !fs_exists(e->artifact_abspath)) {
        if (e->artifact_path && !e->artifact_name) {
            diag_error(d, NULL, 0, 0,
                       "component type %s: artifact_path %s: file not found and no artifact_name to fall back to", type,
                       e->artifact_abspath);
            printf("component_type=%s file=%s verdict=error\n", type, e->artifact_path);
            return;
        }
        if (e->artifact_path)
            diag_warn(d, NULL, 0, 0,
                      "component type %s: artifact_path %s not found; artifact_name %s will be fetched by name", type,
                      e->artifact_abspath, e->artifact_name);
        printf("component_type=%s artifact_name=%s verdict=by-name (fetched at install, not checked offline)\n", type,
               e->artifact_name);
        return;
    }

    _cleanup_(artifact_info_free) struct artifact_info a = { 0 };
    _cleanup_error_ struct error *err = NULL;
    const char *file = e->artifact_path;
    if (artifact_read_file(e->artifact_abspath, keys, NULL, &a, &err) != 0) {
        diag_error(d, NULL, 0, 0, "component type %s: %s: %s", type, e->artifact_abspath, error_message(err));
        printf("component_type=%s file=%s verdict=error\n", type, file);
        return;
    }
    size_t before = d->nerrors;
    if (!a.payload_type)
        diag_error(d, NULL, 0, 0,
                   "component type %s: %s: empty-payload (bootstrap) Artifacts cannot be installed on a Component",
                   type, e->artifact_abspath);
    else if (!a.has_type_provides || a.type_provides.n == 0)
        diag_error(d, NULL, 0, 0,
                   "component type %s: %s: the payload has no artifact_provides, so it can never be selected", type,
                   e->artifact_abspath);
    if (!provides_compatible(&a, type)) {
        _cleanup_free_ char *types = xstrdup("");
        for (size_t i = 0; i < a.compatible_types.n; i++) {
            char *n = xasprintf("%s%s%s", types, i ? ", " : "", a.compatible_types.v[i]);
            free(types);
            types = n;
        }
        diag_error(d, NULL, 0, 0, "component type %s: %s: not compatible with component type %s (device_type: %s)",
                   type, e->artifact_abspath, type, types);
    }
    for (size_t i = 0; a.payload_type && i < t->interfaces.n; i++)
        if (strcmp(a.payload_type, t->interfaces.v[i]) != 0)
            diag_warn(d, NULL, 0, 0, "component type %s: %s: payload type %s differs from Interface %s", type,
                      e->artifact_abspath, a.payload_type, t->interfaces.v[i]);
    (void)select_check_name(m, e, a.artifact_name, d);

    _cleanup_free_ char *prov = join_provides(&a);
    printf("component_type=%s artifact_name=%s file=%s payload_type=%s provides=\"%s\" signed=%s verdict=%s\n", type,
           a.artifact_name, file, a.payload_type ? a.payload_type : "null", prov,
           a.is_signed ? (keys ? "verified" : "yes") : "no", d->nerrors == before ? "ok" : "error");
}

/* Checks the local Artifact of every component type of the release, in Topology order.
 * Returns 0, or -1 when the verification keys cannot be loaded (in d). */
static int check_release(const struct config *cfg, const struct prepare_inputs *in, struct diag_list *d)
{
    _cleanup_artifact_keys_ struct artifact_keys *keys = NULL;
    if (cfg->verify_keys.n) {
        _cleanup_error_ struct error *err = NULL;
        keys = artifact_keys_load(&cfg->verify_keys, &err);
        if (!keys) {
            diag_error(d, NULL, 0, 0, "ArtifactVerifyKey: %s", error_message(err));
            return -1;
        }
    }
    size_t ncomps;
    const struct component_def *comps = prepare_inputs_components(in, &ncomps);
    _cleanup_free_ struct type_use *types = xcalloc(ncomps ? ncomps : 1, sizeof(*types));
    size_t nt = collect_types(comps, ncomps, types);
    for (size_t i = 0; i < nt; i++) {
        const struct manifest_entry *e = manifest_find(&in->manifest, types[i].component_type);
        if (e)
            check_type(&types[i], &in->manifest, e, keys, d);
        strv_free(&types[i].interfaces);
    }
    return 0;
}

int cmd_check(const struct cli_args *args)
{
    assert(args && args->positional.n == 1);
    _cleanup_(config_free) struct config cfg = { 0 };
    if (context_load_config(args, &cfg) != 0)
        return EXIT_FAILED;
    const struct prepare_opts o = context_prepare_opts(args, &cfg);
    _cleanup_(prepare_inputs_free) struct prepare_inputs in = { 0 };
    struct diag_list d = { 0 };
    bool ok = prepare_load_inputs(&o, &cfg, &in, &d) == 0 && check_release(&cfg, &in, &d) == 0 && d.nerrors == 0;
    size_t nerrors = d.nerrors;
    diag_flush(&d);
    if (nerrors)
        log_error("%s: check failed with %zu error(s)", o.manifest_path, nerrors);
    else
        log_info("%s: Manifest %s is valid", o.manifest_path, in.manifest.name);
    return ok ? EXIT_OK : EXIT_FAILED;
}

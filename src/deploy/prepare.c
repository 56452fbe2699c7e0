#include "deploy/prepare.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "artifact/artifact.h"
#include "deploy/plan.h"
#include "deploy/select.h"
#include "system/components.h"
#include "util/fs.h"
#include "util/mem.h"

/* Same cap as the Topology reader (docs/manifest.md). */
#define TOPOLOGY_TEXT_MAX (1024u * 1024)

char *prepare_topology_snapshot(const struct topology *t, struct diag_list *diag)
{
    assert(t && t->path && diag);
    _cleanup_free_ char *main_text = NULL;
    _cleanup_free_ char *comp_text = NULL;
    size_t len = 0;
    if (fs_read_file(t->path, TOPOLOGY_TEXT_MAX, &main_text, &len) != 0) {
        diag_error(diag, t->path, 0, 0, "cannot read the Topology again for the deployment record: %s",
                   strerror(errno));
        return NULL;
    }
    if (!t->components_path)
        return TAKE_PTR(main_text);
    if (fs_read_file(t->components_path, TOPOLOGY_TEXT_MAX, &comp_text, &len) != 0) {
        diag_error(diag, t->components_path, 0, 0,
                   "cannot read the Topology components file again for the deployment record: %s", strerror(errno));
        return NULL;
    }
    size_t ml = strlen(main_text);
    return xasprintf("%s%s---\n# components file: %s\n%s", main_text, ml && main_text[ml - 1] != '\n' ? "\n" : "",
                     t->components_path, comp_text);
}

int prepare_load_inputs(const struct prepare_opts *o, const struct config *cfg, struct prepare_inputs *in,
                        struct diag_list *diag)
{
    assert(o && o->manifest_path && cfg && in && diag);
    in->have_topology = false;
    if (manifest_load(o->manifest_path, o->manifest_components, &in->manifest, diag) != 0)
        return -1;
    if (in->manifest.format == MANIFEST_LEGACY)
        return 0;
    _cleanup_free_ char *configured = o->topology_path ? NULL : config_topology_path(cfg);
    if (topology_load(o->topology_path ? o->topology_path : configured, cfg->topology_components, &in->topology,
                      diag) != 0)
        return -1;
    in->have_topology = true;
    return manifest_check_topology(&in->manifest, &in->topology, diag);
}

void prepare_inputs_free(struct prepare_inputs *in)
{
    if (!in)
        return;
    if (in->have_topology)
        topology_free(&in->topology);
    manifest_free(&in->manifest);
    memset(in, 0, sizeof(*in));
}

const struct component_def *prepare_inputs_components(const struct prepare_inputs *in, size_t *n)
{
    assert(in && n);
    *n = in->have_topology ? in->topology.ncomponents : in->manifest.ncomponents;
    return in->have_topology ? in->topology.components : in->manifest.components;
}

static char *absolute_path(const char *path, const struct manifest *m)
{
    if (path[0] == '/')
        return xstrdup(path);
    if (m && m->dir) {
        const char *slash = strrchr(path, '/');
        return fs_join(m->dir, slash ? slash + 1 : path);
    }
    char buf[PATH_MAX];
    if (realpath(path, buf))
        return xstrdup(buf);
    return xstrdup(path);
}

/* What the deployment record keeps of the release as given, also when loading failed. */
static void record_inputs(const struct prepare_opts *o, const struct prepare_inputs *in, struct deployment *d,
                          struct diag_list *diag)
{
    const struct manifest *m = &in->manifest;
    d->manifest_path = absolute_path(o->manifest_path, m->text ? m : NULL);
    if (m->text) {
        d->manifest_name = m->name ? xstrdup(m->name) : NULL;
        d->manifest_dir = m->dir ? xstrdup(m->dir) : NULL;
        d->manifest_text = xstrndup(m->text, m->text_len);
        d->manifest_format = (int)m->format;
    }
    if (in->have_topology)
        d->topology_text = prepare_topology_snapshot(&in->topology, diag);
}

int prepare_deployment(const struct prepare_opts *o, const struct config *cfg, struct deployment *d,
                       struct diag_list *diag)
{
    assert(o && o->manifest_path && cfg && d && diag);
    size_t e0 = diag->nerrors;
    _cleanup_(prepare_inputs_free) struct prepare_inputs in = { 0 };
    int loaded = prepare_load_inputs(o, cfg, &in, diag);
    record_inputs(o, &in, d, diag);
    if (loaded != 0 || diag->nerrors > e0)
        return -1;

    _cleanup_artifact_keys_ struct artifact_keys *keys = NULL;
    if (cfg->verify_keys.n) {
        _cleanup_error_ struct error *err = NULL;
        keys = artifact_keys_load(&cfg->verify_keys, &err);
        if (!keys) {
            diag_error(diag, NULL, 0, 0, "ArtifactVerifyKey: %s; fix the key files named in the configuration",
                       error_message(err));
            return -1;
        }
    }

    bool legacy = in.manifest.format == MANIFEST_LEGACY;
    size_t ndefs;
    const struct component_def *defs = prepare_inputs_components(&in, &ndefs);
    _cleanup_(components_free) struct component_set set = { 0 };
    int q = components_query(&o->env, defs, ndefs, legacy, &set, diag);
    /* Selection runs even when a query failed, so every error is reported at once. */
    int s = select_artifacts(cfg, &in.manifest, &set, legacy, keys, d, diag);
    d->plan_hash = plan_hash(d);
    return q == 0 && s == 0 && diag->nerrors == e0 ? 0 : -1;
}

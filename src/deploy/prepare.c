#include "deploy/prepare.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "artifact/artifact.h"
#include "cli/context.h"
#include "system/components.h"
#include "deploy/plan.h"
#include "deploy/select.h"
#include "util/fs.h"
#include "util/mem.h"

/* Same cap as the Topology reader (orchestrator.md §3.4). */
#define TOPOLOGY_TEXT_MAX (1024u * 1024)

char *prepare_topology_snapshot(const struct topology *t, struct diag_list *diag)
{
    char *main_text = NULL, *comp_text = NULL;
    size_t len = 0;
    if (fs_read_file(t->path, TOPOLOGY_TEXT_MAX, &main_text, &len) != 0) {
        diag_error(diag, t->path, 0, 0, "cannot read the Topology again for the deployment record: %s", strerror(errno));
        return NULL;
    }
    if (!t->components_path)
        return main_text;
    if (fs_read_file(t->components_path, TOPOLOGY_TEXT_MAX, &comp_text, &len) != 0) {
        diag_error(diag, t->components_path, 0, 0, "cannot read the Topology components file again for the deployment "
                   "record: %s", strerror(errno));
        free(main_text);
        return NULL;
    }
    size_t ml = strlen(main_text);
    char *s = xasprintf("%s%s---\n# components file: %s\n%s", main_text, ml && main_text[ml - 1] != '\n' ? "\n" : "",
                        t->components_path, comp_text);
    free(main_text);
    free(comp_text);
    return s;
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

int prepare_deployment(const struct cli_args *args, const struct config *cfg, const char *manifest_path,
                       struct deployment *d, struct diag_list *diag)
{
    size_t e0 = diag->nerrors;
    struct manifest m = { 0 };
    struct topology top = { 0 };
    struct component_set set = { 0 };
    struct artifact_keys *keys = NULL;
    int have_top = 0;
    int rc = -1;

    int in = context_load_inputs(args, cfg, manifest_path, args->topology, &m, &top, &have_top, diag);
    d->manifest_path = absolute_path(manifest_path, m.text ? &m : NULL);
    if (m.text) {
        d->manifest_name = m.name ? xstrdup(m.name) : NULL;
        d->manifest_dir = m.dir ? xstrdup(m.dir) : NULL;
        d->manifest_text = xstrndup(m.text, m.text_len);
        d->manifest_format = (int)m.format;
    }
    if (have_top)
        d->topology_text = prepare_topology_snapshot(&top, diag);
    if (in != 0 || diag->nerrors > e0)
        goto out;

    if (cfg->verify_keys.n) {
        _cleanup_error_ struct error *err = NULL;
        keys = artifact_keys_load(&cfg->verify_keys, &err);
        if (!keys) {
            diag_error(diag, NULL, 0, 0, "ArtifactVerifyKey: %s; fix the key files named in the configuration",
                       error_message(err));
            goto out;
        }
    }

    bool legacy = m.format == MANIFEST_LEGACY;
    const struct component_def *defs = have_top ? top.components : m.components;
    size_t ndefs = have_top ? top.ncomponents : m.ncomponents;
    struct iface_env env = context_iface_env(cfg);
    int q = components_query(&env, defs, ndefs, legacy, &set, diag);
    /* Selection runs even when a query failed, so every error is reported at once. */
    int s = select_artifacts(cfg, &m, &set, legacy, keys, d, diag);
    d->plan_hash = plan_hash(d);
    if (q == 0 && s == 0 && diag->nerrors == e0)
        rc = 0;
out:
    components_free(&set);
    artifact_keys_free(keys);
    if (have_top)
        topology_free(&top);
    manifest_free(&m);
    return rc;
}

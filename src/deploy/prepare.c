#include "deploy/prepare.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "artifact/artifact.h"
#include "deploy/plan.h"
#include "deploy/select.h"
#include "deploy/states.h"
#include "system/components.h"
#include "util/fs.h"
#include "util/mem.h"
#include "util/testhook.h"

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

/* RebootCommand runs at a System-device reboot, long after anything was modified: its
 * program must exist now. */
static void check_reboot_command(const struct config *cfg, struct diag_list *diag)
{
    const char *cmd = cfg->reboot_command.n ? cfg->reboot_command.v[0] : "";
    _cleanup_free_ char *found = fs_find_program(cmd);
    if (found)
        return;
    diag_error(diag, NULL, 0, 0,
               "RebootCommand: %s: %s; set RebootCommand in the configuration to a program that reboots the System "
               "device (or install with --exit-on-reboot and reboot yourself)",
               cmd, strchr(cmd, '/') ? "not an executable file" : "no such executable in PATH");
}

/* A file lost at a reboot, needed after one: a warning. */
static void warn_if_volatile(const char *path, const char *what, struct strv *seen, struct diag_list *diag)
{
    const char *kind = fs_volatile_kind(path);
    if (!kind || strv_contains(seen, path))
        return;
    strv_push(seen, path);
    diag_warn(diag, NULL, 0, 0,
              "%s %s lies on a %s, which a reboot empties, and may be needed after a System-device reboot; "
              "keep local Artifacts and the Manifest on storage that survives a reboot",
              what, path, kind);
}

/* The Manifest and the local Artifacts of every order group but the first (read after a
 * System-device reboot may have come) on a RAM file system: warnings. */
static void warn_volatile_files(const struct deployment *d, struct diag_list *diag)
{
    _cleanup_(strv_free) struct strv seen = { 0 };
    int first = 0;
    for (size_t i = 0; i < d->nmembers; i++)
        if (d->members[i].selected && (!first || d->members[i].order < first))
            first = d->members[i].order;
    if (d->manifest_path)
        warn_if_volatile(d->manifest_path, "the Manifest", &seen, diag);
    for (size_t i = 0; i < d->nmembers; i++) {
        const struct member *m = &d->members[i];
        if (m->selected && m->order > first && m->artifact_path) {
            _cleanup_free_ char *what = xasprintf("the Artifact of order group %d", m->order);
            warn_if_volatile(m->artifact_path, what, &seen, diag);
        }
    }
}

/* Test builds playing the next release: fields of the record this release does not know,
 * which it must keep (docs/compatibility.md). */
static void add_next_release_fields(struct deployment *d)
{
    free(d->extra_head);
    d->extra_head = xstrdup("{\"next_release\":{\"note\":\"written by the next release\"}}");
    for (size_t i = 0; i < d->nmembers; i++) {
        free(d->members[i].extra);
        d->members[i].extra = xasprintf("{\"next_release_mark\":%zu}", i);
    }
}

int prepare_deployment(const struct prepare_opts *o, const struct config *cfg, struct deployment *d,
                       struct states_report *states, struct diag_list *diag)
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
    /* The constraints need every Component's versions: checked (or the order derived) last. */
    if (q == 0 && s == 0 && diag->nerrors == e0 && states_apply(&in.manifest, d, states, diag) != 0)
        s = -1;
    d->plan_hash = plan_hash(d);
    if (o->install && !o->exit_on_reboot)
        check_reboot_command(cfg, diag);
    if (o->install && diag->nerrors == e0)
        warn_volatile_files(d, diag);
    if (testhook_next_release()) /* the next release's own fields (util/testhook.h) */
        add_next_release_fields(d);
    return q == 0 && s == 0 && diag->nerrors == e0 ? 0 : -1;
}

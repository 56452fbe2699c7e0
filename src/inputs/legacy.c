/* The legacy 2024 preview Manifest, kind: update_manifest (docs/manifest.md). */
#include "inputs/legacy.h"

#include <stdlib.h>
#include <string.h>

#include "util/fs.h"
#include "util/mem.h"

static const char *const comp_keys[] = { "api_version", "kind", "components", NULL };

static void parse_component(const struct ydoc *doc, const struct ynode *item, size_t i, const struct ynode *types,
                            struct manifest *m, struct diag_list *d)
{
    static const char *const known[] = { "component_type", "id", "args", NULL };
    char *path = yaml_path_index("components", i);
    if (item->kind != YNODE_MAPPING) {
        yaml_diag_error(d, doc, item, "%s: expected a mapping, got %s", path, yaml_kind_name(item));
        free(path);
        return;
    }
    size_t e0 = d->nerrors;
    struct component_def c = { 0 };
    yaml_map_check_keys(doc, item, known, d);
    if (yaml_get_string(doc, item, path, "component_type", YAML_REQUIRED | YAML_NONEMPTY | YAML_ONELINE, NULL,
                        &c.component_type, d) == 0 &&
        types && !yaml_map_find(types, c.component_type)) {
        char *q = yaml_quote(c.component_type);
        yaml_diag_error(d, doc, yaml_map_get(item, "component_type"),
                        "%s.component_type: %s: no entry in component_types", path, q);
        free(q);
    }
    if (yaml_get_string(doc, item, path, "id", YAML_REQUIRED | YAML_NONEMPTY, NULL, &c.id, d) == 0 && c.id &&
        !component_id_valid(c.id)) {
        char *q = yaml_quote(c.id);
        yaml_diag_error(d, doc, yaml_map_get(item, "id"),
                        "%s.id: %s: invalid component id: use 1 to %d characters of %s, not starting with a dot", path,
                        q, COMPONENT_ID_MAX, COMPONENT_ID_CHARS);
        free(q);
    }
    if (c.component_type && c.id) {
        for (size_t j = 0; j < m->ncomponents; j++) {
            const struct component_def *o = &m->components[j];
            if (strcmp(o->component_type, c.component_type) == 0 && strcmp(o->id, c.id) == 0) {
                char *qi = yaml_quote(c.id), *qt = yaml_quote(c.component_type);
                yaml_diag_error(d, doc, yaml_map_get(item, "id"),
                                "%s.id: %s: duplicate id for component type %s (first at %s:%d:%d)", path, qi, qt,
                                o->file, o->line, o->col);
                free(qi);
                free(qt);
                break;
            }
        }
    }
    yaml_get_scalar_list(doc, item, path, "args", 0, NULL, &c.args, NULL, d);
    if (c.component_type && !types && !interface_name_valid(c.component_type)) {
        /* read without component_types (legacy_components_load): the Interface is
         * named after the type, so the type must be a valid Interface name */
        char *q = yaml_quote(c.component_type);
        yaml_diag_error(d, doc, yaml_map_get(item, "component_type"),
                        "%s.component_type: %s: invalid interface name (the Interface is named after the type)", path,
                        q);
        free(q);
    }
    free(path);
    if (d->nerrors > e0) {
        component_def_free(&c);
        return;
    }
    const struct manifest_entry *e = manifest_find(m, c.component_type);
    c.interface = xstrdup(e && e->update_interface ? e->update_interface : c.component_type);
    c.file = xstrdup(doc->path);
    c.line = item->line;
    c.col = item->col;
    m->components = xrealloc(m->components, (m->ncomponents + 1) * sizeof(*m->components));
    m->components[m->ncomponents++] = c;
}

static void parse_components(const struct ydoc *doc, const struct ynode *map, const struct ynode *types,
                             struct manifest *m, struct diag_list *d)
{
    const struct ynode *seq = yaml_get_node(doc, map, NULL, "components", YNODE_SEQUENCE, YAML_REQUIRED | YAML_NONEMPTY,
                                            NULL, NULL, d);
    for (size_t i = 0; seq && i < seq->nitems; i++)
        parse_component(doc, seq->items[i], i, types, m, d);
}

void legacy_manifest_parse(const struct ydoc *doc, const struct ynode *root, const struct yaml_input *components,
                           struct manifest *m, struct diag_list *d)
{
    const char *components_path = components ? components->path : NULL;
    static const char *const known[] = { "api_version", "kind",        "version", "component_types",
                                         "components",  "constraints", NULL };
    yaml_map_check_keys(doc, root, known, d);
    yaml_get_string(doc, root, NULL, "version", YAML_REQUIRED | YAML_NONEMPTY | YAML_ONELINE, NULL, &m->name, d);
    manifest_parse_entries(doc, root, true, m, d);
    const struct ynode *types = yaml_map_get(root, "component_types");
    if (types && types->kind != YNODE_MAPPING)
        types = NULL; /* already reported; skip the per-component type check */

    const struct ypair *in_main = yaml_map_find(root, "components");
    size_t e0 = d->nerrors;
    if (!components_path) {
        parse_components(doc, root, types, m, d);
    } else {
        struct ydoc cdoc = { 0 };
        const struct ynode *croot = NULL;
        if (yaml_load_input(components, &cdoc, d) == 0 && (croot = yaml_root_mapping(&cdoc, d))) {
            yaml_map_check_keys(&cdoc, croot, comp_keys, d);
            yaml_expect_string(&cdoc, croot, NULL, "api_version", 0, "mender/v1", d);
            yaml_expect_string(&cdoc, croot, NULL, "kind", 0, "update_manifest", d);
            const struct ypair *in_comp = yaml_map_find(croot, "components");
            if (in_main && in_comp)
                yaml_diag_error(d, doc, in_main->key,
                                "components: also defined in %s; the list must come from exactly one of the two files",
                                components_path);
            else if (in_main)
                parse_components(doc, root, types, m, d);
            else if (in_comp)
                parse_components(&cdoc, croot, types, m, d);
            else
                yaml_diag_error(d, doc, root, "components: required field missing (in the Manifest or in %s)",
                                components_path);
        }
        yaml_doc_free(&cdoc);
    }
    if (d->nerrors > e0 || !types)
        return;

    /* Entries no component uses: warning. */
    for (size_t i = 0; i < m->nentries; i++) {
        const struct manifest_entry *e = &m->entries[i];
        bool used = false;
        for (size_t j = 0; j < m->ncomponents && !used; j++)
            used = strcmp(m->components[j].component_type, e->component_type) == 0;
        if (!used)
            diag_warn(d, m->path, e->line, e->col, "component_types.%s: no component of this type, entry ignored",
                      e->component_type);
    }
}

int legacy_components_load(const char *path, struct manifest *out, struct diag_list *d)
{
    struct yaml_input file = { .path = path };
    return legacy_components_load_input(&file, out, d);
}

int legacy_components_load_input(const struct yaml_input *file, struct manifest *out, struct diag_list *d)
{
    const char *path = file->path;
    size_t e0 = d->nerrors;
    memset(out, 0, sizeof(*out));
    out->format = MANIFEST_LEGACY;
    out->path = xstrdup(path);
    struct ydoc doc = { 0 };
    const struct ynode *root;
    if (yaml_load_input(file, &doc, d) == 0 && (root = yaml_root_mapping(&doc, d))) {
        out->dir = fs_abs_dirname(path);
        yaml_map_check_keys(&doc, root, comp_keys, d);
        yaml_expect_string(&doc, root, NULL, "api_version", 0, "mender/v1", d);
        yaml_expect_string(&doc, root, NULL, "kind", 0, "update_manifest", d);
        parse_components(&doc, root, NULL, out, d);
        out->text = yaml_doc_take_text(&doc, &out->text_len);
    }
    yaml_doc_free(&doc);
    if (d->nerrors > e0) {
        manifest_free(out);
        return -1;
    }
    return 0;
}

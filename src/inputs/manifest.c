#include "inputs/manifest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "inputs/legacy.h"
#include "inputs/yaml.h"
#include "util/fs.h"
#include "util/mem.h"

static void entry_free(struct manifest_entry *e)
{
    free(e->component_type);
    free(e->artifact_name);
    free(e->artifact_path);
    free(e->artifact_abspath);
    free(e->update_interface);
}

void manifest_free(struct manifest *m)
{
    if (!m)
        return;
    free(m->path);
    free(m->dir);
    free(m->name);
    strv_free(&m->system_types_compatible);
    for (size_t i = 0; i < m->nentries; i++)
        entry_free(&m->entries[i]);
    free(m->entries);
    for (size_t i = 0; i < m->ncomponents; i++)
        component_def_free(&m->components[i]);
    free(m->components);
    free(m->text);
    constraints_free(&m->constraints);
    memset(m, 0, sizeof(*m));
}

const struct manifest_entry *manifest_find(const struct manifest *m, const char *component_type)
{
    if (!m || !component_type)
        return NULL;
    for (size_t i = 0; i < m->nentries; i++)
        if (strcmp(m->entries[i].component_type, component_type) == 0)
            return &m->entries[i];
    return NULL;
}

/* One entry of component_types. order_optional: the Manifest has constraints, so
 * update_strategy and its order may be left out (docs/constraints.md). */
static void parse_entry(const struct ydoc *doc, const struct ypair *p, bool legacy, bool order_optional,
                        struct manifest *m, struct diag_list *d)
{
    static const char *const known[] = { "artifact_name", "artifact_path", "update_strategy", NULL };
    static const char *const known_legacy[] = { "artifact_name", "artifact_path", "update_strategy", "update_interface",
                                                NULL };
    static const char *const strategy_keys[] = { "order", NULL };
    const struct ynode *key = p->key, *v = p->value;
    if (key->kind != YNODE_SCALAR) {
        yaml_diag_error(d, doc, key, "component_types: key must be a component type, got %s", yaml_kind_name(key));
        return;
    }
    if (key->len == 0 || yaml_has_control(key->text, key->len)) {
        char *q = yaml_quote(key->text);
        yaml_diag_error(d, doc, key, "component_types: %s: invalid component type", q);
        free(q);
        return;
    }
    char *path = yaml_path_key("component_types", key->text);
    if (v->kind != YNODE_MAPPING) {
        yaml_diag_error(d, doc, yaml_is_null(v) && v->len == 0 ? key : v, "%s: expected a mapping, got %s", path,
                        yaml_kind_name(v));
        free(path);
        return;
    }
    size_t e0 = d->nerrors;
    struct manifest_entry e = { .line = key->line, .col = key->col };
    e.component_type = xstrdup(key->text);
    yaml_map_check_keys(doc, v, legacy ? known_legacy : known, d);
    if (yaml_get_string(doc, v, path, "artifact_name", YAML_NONEMPTY | YAML_ONELINE, NULL, &e.artifact_name, d) == 0 &&
        e.artifact_name) {
        const struct ynode *at = yaml_map_get(v, "artifact_name");
        e.name_line = at->line;
        e.name_col = at->col;
    }
    yaml_get_string(doc, v, path, "artifact_path", YAML_NONEMPTY | YAML_ONELINE, NULL, &e.artifact_path, d);
    if (!yaml_map_find(v, "artifact_name") && !yaml_map_find(v, "artifact_path"))
        yaml_diag_error(d, doc, key, "%s: needs artifact_path or artifact_name", path);
    bool err = false;
    char *spath = yaml_path_key(path, "update_strategy");
    unsigned required = order_optional ? 0 : YAML_REQUIRED;
    const struct ynode *strat = yaml_get_node(doc, v, path, "update_strategy", YNODE_MAPPING, required, NULL, &err, d);
    if (strat) {
        long order = 0;
        yaml_map_check_keys(doc, strat, strategy_keys, d);
        if (yaml_get_int(doc, strat, spath, "order", required, 1, 100, NULL, &order, NULL, d) == 0 &&
            yaml_map_find(strat, "order")) {
            const struct ynode *at = yaml_map_get(strat, "order");
            e.order = (int)order;
            e.order_line = at->line;
            e.order_col = at->col;
        }
    }
    free(spath);
    if (legacy) {
        if (yaml_get_string(doc, v, path, "update_interface", 0, NULL, &e.update_interface, d) == 0) {
            const char *iface = e.update_interface ? e.update_interface : e.component_type;
            if (!interface_name_valid(iface)) {
                const struct ynode *at = yaml_map_get(v, "update_interface");
                char *q = yaml_quote(iface);
                yaml_diag_error(d, doc, at ? at : key, "%s.update_interface: %s: invalid interface name", path, q);
                free(q);
            }
        }
    }
    free(path);
    if (d->nerrors > e0) {
        entry_free(&e);
        return;
    }
    if (e.artifact_path)
        e.artifact_abspath = fs_join(m->dir, e.artifact_path);
    m->entries = xrealloc(m->entries, (m->nentries + 1) * sizeof(*m->entries));
    m->entries[m->nentries++] = e;
}

/* With constraints, order is given for every type (and checked) or for none (and derived):
 * an entry without one beside an entry with one is an error. */
static void check_order_all_or_none(const struct ydoc *doc, struct manifest *m, struct diag_list *d)
{
    const struct manifest_entry *given = NULL;
    for (size_t i = 0; i < m->nentries && !given; i++)
        if (m->entries[i].order)
            given = &m->entries[i];
    m->derive_order = !given && m->nentries > 0;
    for (size_t i = 0; given && i < m->nentries; i++) {
        const struct manifest_entry *e = &m->entries[i];
        if (!e->order)
            diag_error(d, doc->path, e->line, e->col,
                       "component_types.%s.update_strategy.order: required field missing: component_types.%s gives "
                       "one (line %d); give order for every type (checked against the constraints) or for none "
                       "(derived from them)",
                       e->component_type, given->component_type, given->order_line);
    }
}

void manifest_parse_entries(const struct ydoc *doc, const struct ynode *root, bool legacy, struct manifest *m,
                            struct diag_list *d)
{
    const struct ypair *p = yaml_map_find(root, "component_types");
    bool with_constraints = yaml_map_find(root, "constraints") != NULL;
    if (p) {
        m->types_line = p->key->line;
        m->types_col = p->key->col;
    }
    const struct ynode *types = yaml_get_node(doc, root, NULL, "component_types", YNODE_MAPPING,
                                              YAML_REQUIRED | YAML_NONEMPTY, NULL, NULL, d);
    for (size_t i = 0; types && i < types->npairs; i++)
        parse_entry(doc, &types->pairs[i], legacy, with_constraints, m, d);
    if (with_constraints) {
        check_order_all_or_none(doc, m, d);
        constraints_parse(doc, root, &m->constraints, d);
    }
}

static void parse_current(const struct ydoc *doc, const struct ynode *root, struct manifest *m, struct diag_list *d)
{
    static const char *const known[] = { "api_version",     "kind",        "name", "system_types_compatible",
                                         "component_types", "constraints", NULL };
    yaml_map_check_keys(doc, root, known, d);
    yaml_get_string(doc, root, NULL, "name", YAML_REQUIRED | YAML_NONEMPTY | YAML_ONELINE, NULL, &m->name, d);
    const struct ypair *p = yaml_map_find(root, "system_types_compatible");
    if (p) {
        m->stc_line = p->key->line;
        m->stc_col = p->key->col;
    }
    const struct ynode *stc = yaml_get_node(doc, root, NULL, "system_types_compatible", YNODE_SEQUENCE,
                                            YAML_REQUIRED | YAML_NONEMPTY, NULL, NULL, d);
    for (size_t i = 0; stc && i < stc->nitems; i++) {
        const struct ynode *it = stc->items[i];
        if (it->kind != YNODE_SCALAR || yaml_is_null(it)) {
            yaml_diag_error(d, doc, it, "system_types_compatible[%zu]: expected a string, got %s", i,
                            yaml_kind_name(it));
        } else if (it->len == 0 || strlen(it->text) != it->len || yaml_has_control(it->text, it->len)) {
            yaml_diag_error(d, doc, it,
                            "system_types_compatible[%zu]: must be a non-empty string without control "
                            "characters",
                            i);
        } else {
            strv_push(&m->system_types_compatible, it->text);
        }
    }
    manifest_parse_entries(doc, root, false, m, d);
}

int manifest_load(const char *path, const char *components_path, struct manifest *out, struct diag_list *d)
{
    struct yaml_input file = { .path = path }, comp = { .path = components_path };
    return manifest_load_input(&file, components_path ? &comp : NULL, out, d);
}

int manifest_load_input(const struct yaml_input *file, const struct yaml_input *components, struct manifest *out,
                        struct diag_list *d)
{
    const char *path = file->path, *components_path = components ? components->path : NULL;
    size_t e0 = d->nerrors;
    memset(out, 0, sizeof(*out));
    out->path = xstrdup(path);
    struct ydoc doc = { 0 };
    const struct ynode *root;
    if (yaml_load_input(file, &doc, d) != 0)
        goto done;
    out->text = yaml_doc_take_text(&doc, &out->text_len);
    out->dir = fs_abs_dirname(path);
    if (!out->dir) {
        diag_error(d, path, 0, 0, "cannot resolve its directory: %s", strerror(errno));
        goto done;
    }
    if (!(root = yaml_root_mapping(&doc, d)))
        goto done;
    yaml_expect_string(&doc, root, NULL, "api_version", YAML_REQUIRED, "mender/v1", d);
    char *kind = NULL;
    if (yaml_get_string(&doc, root, NULL, "kind", YAML_REQUIRED, NULL, &kind, d) != 0)
        goto done;
    const struct ynode *kind_node = yaml_map_get(root, "kind");
    char *qk = yaml_quote(kind);
    if (strcmp(kind, "manifest") == 0) {
        out->format = MANIFEST_CURRENT;
        if (components_path)
            yaml_diag_error(d, &doc, kind_node,
                            "kind: %s: --manifest-components (%s) is only valid with kind \"update_manifest\"", qk,
                            components_path);
        parse_current(&doc, root, out, d);
    } else if (strcmp(kind, "update_manifest") == 0) {
        out->format = MANIFEST_LEGACY;
        legacy_manifest_parse(&doc, root, components, out, d);
    } else {
        yaml_diag_error(d, &doc, kind_node, "kind: %s: expected \"manifest\" or \"update_manifest\"", qk);
    }
    free(qk);
    free(kind);
done:
    yaml_doc_free(&doc);
    if (d->nerrors > e0) {
        manifest_free(out);
        return -1;
    }
    return 0;
}

int manifest_check_topology(const struct manifest *m, const struct topology *t, struct diag_list *d)
{
    size_t e0 = d->nerrors;
    if (m->format != MANIFEST_CURRENT)
        return 0;
    for (size_t i = 0; i < t->ncomponents; i++) {
        const struct component_def *c = &t->components[i];
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(t->components[j].component_type, c->component_type) == 0;
        if (seen || manifest_find(m, c->component_type))
            continue;
        char *q = yaml_quote(c->component_type);
        if (c->file)
            diag_error(d, m->path, m->types_line, m->types_col,
                       "component_types: no entry for component type %s of the Topology (%s:%d:%d)", q, c->file,
                       c->line, c->col);
        else
            diag_error(d, m->path, m->types_line, m->types_col,
                       "component_types: no entry for component type %s of the Topology", q);
        free(q);
    }
    for (size_t i = 0; i < m->nentries; i++) {
        const struct manifest_entry *e = &m->entries[i];
        bool used = false;
        for (size_t j = 0; j < t->ncomponents && !used; j++)
            used = strcmp(t->components[j].component_type, e->component_type) == 0;
        if (!used)
            diag_warn(d, m->path, e->line, e->col, "component_types.%s: component type not in the Topology, ignored",
                      e->component_type);
    }
    if (t->system_type && !strv_contains(&m->system_types_compatible, t->system_type)) {
        char *q = yaml_quote(t->system_type);
        diag_warn(d, m->path, m->stc_line, m->stc_col,
                  "system_types_compatible: does not list the Topology system type %s", q);
        free(q);
    }
    return d->nerrors > e0 ? -1 : 0;
}

#include "inputs/topology.h"

#include <stdlib.h>
#include <string.h>

#include "inputs/yaml.h"
#include "util/mem.h"

int interface_name_valid(const char *name)
{
    if (!name || !name[0] || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return 0;
    size_t n = 0;
    for (const char *p = name; *p; p++, n++) {
        char c = *p;
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                  c == '-';
        if (!ok)
            return 0;
    }
    return n <= 255; /* one path component (NAME_MAX) */
}

int component_id_valid(const char *id)
{
    if (!id || !id[0] || id[0] == '.')
        return 0;
    size_t n = 0;
    for (const char *p = id; *p; p++, n++) {
        char c = *p;
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                  c == ':' || c == '@' || c == '+' || c == '-';
        if (!ok)
            return 0;
    }
    return n <= COMPONENT_ID_MAX;
}

void component_def_free(struct component_def *c)
{
    if (!c)
        return;
    free(c->component_type);
    free(c->interface);
    strv_free(&c->args);
    free(c->id);
    free(c->file);
    memset(c, 0, sizeof(*c));
}

void topology_free(struct topology *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->ncomponents; i++)
        component_def_free(&t->components[i]);
    free(t->components);
    free(t->path);
    free(t->components_path);
    free(t->system_type);
    memset(t, 0, sizeof(*t));
}

static void parse_component(const struct ydoc *doc, const struct ynode *item, size_t i, struct topology *t,
                            struct diag_list *d)
{
    static const char *const known[] = { "component_type", "interface", "interface_args", NULL };
    char *path = yaml_path_index("components", i);
    size_t e0 = d->nerrors;
    if (item->kind != YNODE_MAPPING) {
        yaml_diag_error(d, doc, item, "%s: expected a mapping, got %s", path, yaml_kind_name(item));
        free(path);
        return;
    }
    struct component_def c = { 0 };
    yaml_map_check_keys(doc, item, known, d);
    yaml_get_string(doc, item, path, "component_type", YAML_REQUIRED | YAML_NONEMPTY | YAML_ONELINE, NULL,
                    &c.component_type, d);
    if (yaml_get_string(doc, item, path, "interface", 0, NULL, &c.interface, d) == 0) {
        const struct ynode *at = yaml_map_get(item, "interface");
        if (!c.interface && c.component_type)
            c.interface = xstrdup(c.component_type);
        if (c.interface && !interface_name_valid(c.interface)) {
            char *q = yaml_quote(c.interface);
            yaml_diag_error(d, doc, at ? at : item, "%s.interface: %s: invalid interface name", path, q);
            free(q);
        }
    }
    yaml_get_scalar_list(doc, item, path, "interface_args", 0, NULL, &c.args, NULL, d);
    free(path);
    if (d->nerrors > e0) {
        component_def_free(&c);
        return;
    }
    c.file = xstrdup(doc->path);
    c.line = item->line;
    c.col = item->col;
    t->components = xrealloc(t->components, (t->ncomponents + 1) * sizeof(*t->components));
    t->components[t->ncomponents++] = c;
}

static void parse_component_list(const struct ydoc *doc, const struct ynode *seq, struct topology *t,
                                 struct diag_list *d)
{
    for (size_t i = 0; i < seq->nitems; i++)
        parse_component(doc, seq->items[i], i, t, d);
}

static void parse_components(const struct ydoc *doc, const struct ynode *map, struct topology *t, struct diag_list *d)
{
    const struct ynode *seq = yaml_get_node(doc, map, NULL, "components", YNODE_SEQUENCE, YAML_REQUIRED | YAML_NONEMPTY,
                                            NULL, NULL, d);
    if (seq)
        parse_component_list(doc, seq, t, d);
}

/* The separate components file: a mapping holding `components:` (api_version and kind
 * tolerated, but they must match the main file's when given), or the bare list. Returns
 * its root (the mapping or the list), or NULL after an error. */
static const struct ynode *components_root(const struct ydoc *cdoc, struct diag_list *d)
{
    static const char *const comp_keys[] = { "api_version", "kind", "components", NULL };
    const struct ynode *root = cdoc->root;
    if (root && root->kind == YNODE_SEQUENCE) {
        if (root->nitems == 0)
            yaml_diag_error(d, cdoc, root, "components: must not be empty");
        return root->nitems ? root : NULL;
    }
    if (!root || root->kind != YNODE_MAPPING) {
        const char *got = yaml_kind_name(root);
        diag_error(d, cdoc->path, root ? root->line : 1, root ? root->col : 1,
                   "expected the components list, or a mapping holding components:, got %s",
                   root && !yaml_is_null(root) ? got : "an empty document");
        return NULL;
    }
    yaml_map_check_keys(cdoc, root, comp_keys, d);
    yaml_expect_string(cdoc, root, NULL, "api_version", 0, "mender/v1", d);
    yaml_expect_string(cdoc, root, NULL, "kind", 0, "topology", d);
    return root;
}

int topology_load(const char *path, const char *components_path, struct topology *out, struct diag_list *d)
{
    struct yaml_input file = { .path = path }, comp = { .path = components_path };
    return topology_load_input(&file, components_path ? &comp : NULL, out, d);
}

int topology_load_input(const struct yaml_input *file, const struct yaml_input *components, struct topology *out,
                        struct diag_list *d)
{
    const char *path = file->path, *components_path = components ? components->path : NULL;
    static const char *const main_keys[] = { "api_version", "kind", "system_type", "components", NULL };
    size_t e0 = d->nerrors;
    memset(out, 0, sizeof(*out));
    out->path = xstrdup(path);
    out->components_path = components_path ? xstrdup(components_path) : NULL;

    struct ydoc doc = { 0 }, cdoc = { 0 };
    const struct ynode *root = NULL, *croot = NULL;
    if (yaml_load_input(file, &doc, d) == 0 && (root = yaml_root_mapping(&doc, d))) {
        yaml_map_check_keys(&doc, root, main_keys, d);
        yaml_expect_string(&doc, root, NULL, "api_version", YAML_REQUIRED, "mender/v1", d);
        yaml_expect_string(&doc, root, NULL, "kind", YAML_REQUIRED, "topology", d);
        yaml_get_string(&doc, root, NULL, "system_type", YAML_REQUIRED | YAML_NONEMPTY | YAML_ONELINE, NULL,
                        &out->system_type, d);
    }
    if (components && yaml_load_input(components, &cdoc, d) == 0)
        croot = components_root(&cdoc, d);

    const struct ypair *in_main = root ? yaml_map_find(root, "components") : NULL;
    if (components_path) {
        if (in_main) {
            yaml_diag_error(d, &doc, in_main->key,
                            "components: also defined in the components file %s; exactly one place is allowed",
                            components_path);
        } else if (croot && croot->kind == YNODE_SEQUENCE) {
            parse_component_list(&cdoc, croot, out, d);
        } else if (croot) {
            parse_components(&cdoc, croot, out, d);
        }
    } else if (root) {
        parse_components(&doc, root, out, d);
    }

    yaml_doc_free(&doc);
    yaml_doc_free(&cdoc);
    if (d->nerrors > e0) {
        topology_free(out);
        return -1;
    }
    return 0;
}

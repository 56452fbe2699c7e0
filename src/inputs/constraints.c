/* The constraints key of a Manifest, either format (docs/constraints.md): read, validated
 * (every problem reported with its position; unknown keys are errors), and the pattern
 * matching its rules use. */
#include "inputs/constraints.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inputs/legacy.h"
#include "inputs/yaml.h"
#include "util/mem.h"

static void cmatch_free(struct cmatch *m)
{
    free(m->component_type);
    strv_free(&m->names);
    kvl_free(&m->provides);
}

static void combo_free(struct ccombo *c)
{
    for (size_t i = 0; i < c->n; i++)
        cmatch_free(&c->m[i]);
    free(c->m);
    memset(c, 0, sizeof(*c));
}

void constraints_free(struct constraints *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nrules; i++) {
        combo_free(&c->rules[i].combo);
        combo_free(&c->rules[i].then);
    }
    free(c->rules);
    strv_free(&c->no_rollback);
    memset(c, 0, sizeof(*c));
}

bool constraint_pattern_match(const char *pattern, const char *s)
{
    assert(pattern && s);
    /* the usual greedy match with one backtrack point: the last '*' seen */
    const char *star = NULL, *resume = NULL;
    while (*s) {
        if (*pattern == '*') {
            star = pattern++;
            resume = s;
        } else if (*pattern == *s) {
            pattern++;
            s++;
        } else if (star) {
            pattern = star + 1;
            s = ++resume;
        } else {
            return false;
        }
    }
    while (*pattern == '*')
        pattern++;
    return *pattern == '\0';
}

bool cmatch_matches(const struct cmatch *m, const char *name, const struct kvlist *provides)
{
    assert(m);
    if (m->names.n) {
        for (size_t i = 0; i < m->names.n; i++)
            if (name ? constraint_pattern_match(m->names.v[i], name) : strcmp(m->names.v[i], "*") == 0)
                return true;
        return false;
    }
    for (size_t i = 0; i < m->provides.n; i++) {
        const char *v = provides ? kvl_get(provides, m->provides.items[i].key) : NULL;
        if (!v || !constraint_pattern_match(m->provides.items[i].value, v))
            return false;
    }
    return true;
}

const struct cmatch *ccombo_find(const struct ccombo *c, const char *component_type)
{
    assert(c && component_type);
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->m[i].component_type, component_type) == 0)
            return &c->m[i];
    return NULL;
}

const char *crule_list_name(enum crule_kind kind)
{
    switch (kind) {
    case CRULE_END: return "end_states";
    case CRULE_TRANSITION: return "transition_states";
    default: return "requires";
    }
}

/* ---- describing rules ----------------------------------------------------------------- */

static void put_combo(FILE *f, const struct ccombo *c)
{
    fputc('{', f);
    for (size_t i = 0; i < c->n; i++) {
        const struct cmatch *m = &c->m[i];
        fprintf(f, "%s%s: ", i ? ", " : "", m->component_type);
        if (m->names.n == 1) {
            fputs(m->names.v[0], f);
        } else if (m->names.n) {
            for (size_t k = 0; k < m->names.n; k++)
                fprintf(f, "%s%s", k ? ", " : "[", m->names.v[k]);
            fputc(']', f);
        } else {
            for (size_t k = 0; k < m->provides.n; k++)
                fprintf(f, "%s%s: %s", k ? ", " : "{", m->provides.items[k].key, m->provides.items[k].value);
            fputc('}', f);
        }
    }
    fputc('}', f);
}

char *crule_describe(const struct crule *r)
{
    assert(r);
    char *s = NULL;
    size_t len = 0;
    FILE *f = xopen_memstream(&s, &len);
    if (r->kind != CRULE_REQUIRES) {
        fprintf(f, "%s[%zu] ", crule_list_name(r->kind), r->index);
        put_combo(f, &r->combo);
    } else {
        fprintf(f, "requires[%zu] {if: ", r->index);
        put_combo(f, &r->combo);
        fputs(", then: ", f);
        put_combo(f, &r->then);
        fputc('}', f);
    }
    fclose(f);
    return s;
}

/* ---- reading ---------------------------------------------------------------------------- */

struct reader {
    const struct ydoc *doc;
    const struct ynode *types; /* component_types, when a mapping */
    struct diag_list *d;
};

/* Unknown keys of a constraints mapping are errors (a misspelt rule must not be ignored). */
static void strict_keys(const struct reader *r, const struct ynode *map, const char *path, const char *const *known)
{
    for (size_t i = 0; i < map->npairs; i++) {
        const struct ynode *k = map->pairs[i].key;
        bool found = false;
        for (size_t j = 0; k->kind == YNODE_SCALAR && known[j] && !found; j++)
            found = strcmp(known[j], k->text) == 0;
        if (found)
            continue;
        _cleanup_free_ char *q = k->kind == YNODE_SCALAR ? yaml_quote(k->text) : xstrdup(yaml_kind_name(k));
        _cleanup_free_ char *list = xstrdup(known[0]);
        for (size_t j = 1; known[j]; j++) {
            char *n = xasprintf("%s, %s", list, known[j]);
            free(list);
            list = n;
        }
        yaml_diag_error(r->d, r->doc, k, "%s: unknown key %s (known: %s)", path, q, list);
    }
}

/* A pattern: a non-empty one-line string. */
static int read_pattern(const struct reader *r, const struct ynode *v, const char *path, struct strv *out)
{
    if (v->kind != YNODE_SCALAR || yaml_is_null(v)) {
        yaml_diag_error(r->d, r->doc, v, "%s: expected a pattern (a string), got %s", path, yaml_kind_name(v));
        return -1;
    }
    if (v->len == 0 || strlen(v->text) != v->len || yaml_has_control(v->text, v->len)) {
        yaml_diag_error(r->d, r->doc, v, "%s: a pattern must be a non-empty string without control characters", path);
        return -1;
    }
    strv_push(out, v->text);
    return 0;
}

/* One component type of a combination: a name pattern, a list of them, or a mapping of
 * provides keys to patterns. */
static int read_match(const struct reader *r, const struct ypair *p, const char *prefix, struct cmatch *out)
{
    const struct ynode *k = p->key, *v = p->value;
    if (k->kind != YNODE_SCALAR || yaml_is_null(k)) {
        yaml_diag_error(r->d, r->doc, k, "%s: a key must be a component type, got %s", prefix, yaml_kind_name(k));
        return -1;
    }
    _cleanup_free_ char *path = yaml_path_key(prefix, k->text);
    if (!r->types || !yaml_map_find(r->types, k->text)) {
        _cleanup_free_ char *q = yaml_quote(k->text);
        yaml_diag_error(r->d, r->doc, k, "%s: %s is not a component type of component_types", prefix, q);
        return -1;
    }
    out->component_type = xstrdup(k->text);
    out->line = k->line;
    out->col = k->col;
    int rc = 0;
    if (v->kind == YNODE_SEQUENCE) {
        if (v->nitems == 0) {
            yaml_diag_error(r->d, r->doc, v, "%s: must not be empty", path);
            return -1;
        }
        for (size_t i = 0; i < v->nitems; i++) {
            _cleanup_free_ char *ip = yaml_path_index(path, i);
            rc |= read_pattern(r, v->items[i], ip, &out->names);
        }
    } else if (v->kind == YNODE_MAPPING) {
        if (v->npairs == 0) {
            yaml_diag_error(r->d, r->doc, v, "%s: must not be empty", path);
            return -1;
        }
        for (size_t i = 0; i < v->npairs; i++) {
            const struct ynode *pk = v->pairs[i].key;
            if (pk->kind != YNODE_SCALAR || pk->len == 0 || strlen(pk->text) != pk->len ||
                yaml_has_control(pk->text, pk->len)) {
                yaml_diag_error(r->d, r->doc, pk, "%s: a key must be a provides key (a non-empty string)", path);
                rc = -1;
                continue;
            }
            _cleanup_free_ char *kp = yaml_path_key(path, pk->text);
            _cleanup_(strv_free) struct strv one = { 0 };
            if (read_pattern(r, v->pairs[i].value, kp, &one) == 0)
                kvl_set(&out->provides, pk->text, one.v[0]);
            else
                rc = -1;
        }
    } else {
        rc = read_pattern(r, v, path, &out->names);
    }
    return rc;
}

/* A combination: a non-empty mapping of component types to matchers. */
static int read_combo(const struct reader *r, const struct ynode *v, const char *path, struct ccombo *out)
{
    if (v->kind != YNODE_MAPPING || v->npairs == 0) {
        yaml_diag_error(r->d, r->doc, v,
                        "%s: expected a mapping of component types to versions (gateway: gateway-v2), got %s", path,
                        v->kind == YNODE_MAPPING ? "an empty mapping" : yaml_kind_name(v));
        return -1;
    }
    int rc = 0;
    out->m = xcalloc(v->npairs, sizeof(*out->m));
    for (size_t i = 0; i < v->npairs; i++) {
        if (read_match(r, &v->pairs[i], path, &out->m[out->n]) == 0)
            out->n++;
        else {
            cmatch_free(&out->m[out->n]);
            memset(&out->m[out->n], 0, sizeof(out->m[out->n]));
            rc = -1;
        }
    }
    return rc;
}

static struct crule *add_rule(struct constraints *c, enum crule_kind kind, size_t index, const struct ynode *at)
{
    c->rules = xrealloc(c->rules, (c->nrules + 1) * sizeof(*c->rules));
    struct crule *rule = &c->rules[c->nrules++];
    memset(rule, 0, sizeof(*rule));
    rule->kind = kind;
    rule->index = index;
    rule->line = at->line;
    rule->col = at->col;
    return rule;
}

static void drop_last(struct constraints *c)
{
    struct crule *rule = &c->rules[--c->nrules];
    combo_free(&rule->combo);
    combo_free(&rule->then);
}

/* end_states or transition_states: a non-empty list of combinations. */
static void read_states(const struct reader *r, const struct ynode *map, enum crule_kind kind, struct constraints *c,
                        size_t *count)
{
    const char *key = crule_list_name(kind);
    _cleanup_free_ char *path = yaml_path_key("constraints", key);
    const struct ynode *seq = yaml_get_node(r->doc, map, "constraints", key, YNODE_SEQUENCE, YAML_NONEMPTY, NULL, NULL,
                                            r->d);
    for (size_t i = 0; seq && i < seq->nitems; i++) {
        _cleanup_free_ char *ip = yaml_path_index(path, i);
        struct crule *rule = add_rule(c, kind, i, seq->items[i]);
        if (read_combo(r, seq->items[i], ip, &rule->combo) == 0)
            (*count)++;
        else
            drop_last(c);
    }
}

static void read_requires(const struct reader *r, const struct ynode *map, struct constraints *c)
{
    static const char *const keys[] = { "if", "then", NULL };
    const struct ynode *seq = yaml_get_node(r->doc, map, "constraints", "requires", YNODE_SEQUENCE, YAML_NONEMPTY, NULL,
                                            NULL, r->d);
    for (size_t i = 0; seq && i < seq->nitems; i++) {
        const struct ynode *it = seq->items[i];
        _cleanup_free_ char *ip = yaml_path_index("constraints.requires", i);
        if (it->kind != YNODE_MAPPING) {
            yaml_diag_error(r->d, r->doc, it, "%s: expected a mapping {if: ..., then: ...}, got %s", ip,
                            yaml_kind_name(it));
            continue;
        }
        size_t e0 = r->d->nerrors;
        strict_keys(r, it, ip, keys);
        struct crule *rule = add_rule(c, CRULE_REQUIRES, i, it);
        const struct ynode *when = yaml_get_node(r->doc, it, ip, "if", YNODE_MAPPING, YAML_REQUIRED, NULL, NULL, r->d);
        const struct ynode *then = yaml_get_node(r->doc, it, ip, "then", YNODE_MAPPING, YAML_REQUIRED, NULL, NULL,
                                                 r->d);
        _cleanup_free_ char *wp = yaml_path_key(ip, "if");
        _cleanup_free_ char *tp = yaml_path_key(ip, "then");
        if (when)
            (void)read_combo(r, when, wp, &rule->combo);
        if (then)
            (void)read_combo(r, then, tp, &rule->then);
        if (r->d->nerrors > e0)
            drop_last(c);
        else
            c->nrequires++;
    }
}

static void read_no_rollback(const struct reader *r, const struct ynode *map, struct constraints *c)
{
    const struct ynode *seq = yaml_get_node(r->doc, map, "constraints", "no_rollback", YNODE_SEQUENCE, YAML_NONEMPTY,
                                            NULL, NULL, r->d);
    for (size_t i = 0; seq && i < seq->nitems; i++) {
        const struct ynode *it = seq->items[i];
        _cleanup_free_ char *ip = yaml_path_index("constraints.no_rollback", i);
        if (it->kind != YNODE_SCALAR || yaml_is_null(it) || strlen(it->text) != it->len) {
            yaml_diag_error(r->d, r->doc, it, "%s: expected a component type, got %s", ip, yaml_kind_name(it));
        } else if (!r->types || !yaml_map_find(r->types, it->text)) {
            _cleanup_free_ char *q = yaml_quote(it->text);
            yaml_diag_error(r->d, r->doc, it, "%s: %s is not a component type of component_types", ip, q);
        } else if (!strv_contains(&c->no_rollback, it->text)) {
            strv_push(&c->no_rollback, it->text);
        }
    }
}

static void key_position(const struct ynode *map, const char *key, int *line, int *col)
{
    const struct ypair *p = yaml_map_find(map, key);
    *line = p ? p->key->line : 0;
    *col = p ? p->key->col : 0;
}

void constraints_parse(const struct ydoc *doc, const struct ynode *root, struct constraints *c, struct diag_list *d)
{
    static const char *const keys[] = { "end_states", "transition_states", "requires", "no_rollback", NULL };
    assert(doc && root && c && d);
    size_t e0 = d->nerrors;
    const struct ypair *p = yaml_map_find(root, "constraints");
    if (!p)
        return;
    c->present = true;
    c->line = p->key->line;
    c->col = p->key->col;
    const struct ynode *types = yaml_map_get(root, "component_types");
    struct reader r = { .doc = doc, .types = types && types->kind == YNODE_MAPPING ? types : NULL, .d = d };
    const struct ynode *map = yaml_get_node(doc, root, NULL, "constraints", YNODE_MAPPING, YAML_NONEMPTY, NULL, NULL,
                                            d);
    if (!map)
        return;
    strict_keys(&r, map, "constraints", keys);
    key_position(map, "end_states", &c->end_line, &c->end_col);
    key_position(map, "transition_states", &c->transition_line, &c->transition_col);
    read_states(&r, map, CRULE_END, c, &c->nend);
    read_states(&r, map, CRULE_TRANSITION, c, &c->ntransition);
    read_requires(&r, map, c);
    read_no_rollback(&r, map, c);
    if (c->transition_line && !c->end_line)
        yaml_diag_error(d, doc, yaml_map_find(map, "transition_states")->key,
                        "constraints.transition_states: needs end_states: the states a System may pass through are "
                        "the end states and the transition states; without end_states every state is acceptable");
    if (!yaml_map_find(map, "end_states") && !yaml_map_find(map, "requires") && d->nerrors == e0)
        yaml_diag_error(d, doc, p->key,
                        "constraints: needs end_states or requires: no_rollback alone constrains nothing");
}

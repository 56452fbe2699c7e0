/* The plan's section on the System states (docs/constraints.md, "What plan shows"): the
 * combinations of versions the forward path and each rollback path can pass through, each
 * with the rule that admits it, as text, JSON and a Graphviz cluster. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "deploy/plan_int.h"
#include "util/mem.h"

/* "now", "end", "group 20 (rtos, sensor)". Caller frees. */
static char *phase_label(const struct state_phase *p)
{
    if (p->kind == PHASE_NOW)
        return xstrdup("now");
    if (p->kind == PHASE_END)
        return xstrdup("end");
    char *s = xasprintf("group %d (", p->order);
    for (size_t i = 0; i < p->types.n; i++) {
        char *n = xasprintf("%s%s%s", s, i ? ", " : "", p->types.v[i]);
        free(s);
        s = n;
    }
    char *n = xasprintf("%s)", s);
    free(s);
    return n;
}

/* "transition_states[0], manifest.yaml:17:7" or "current state". Caller frees. */
static char *rule_text(const struct states_report *r, const struct state_combo *c)
{
    if (!c->rule_line)
        return xstrdup(c->rule);
    return xasprintf("%s, %s:%d:%d", c->rule, r->manifest_path, c->rule_line, c->rule_col);
}

static void text_phase(FILE *f, const struct states_report *r, const struct state_phase *p)
{
    _cleanup_free_ char *label = phase_label(p);
    if (!p->ncombos)
        fprintf(f, "  %s: no constrained component type changes\n", label);
    for (size_t i = 0; i < p->ncombos; i++) {
        _cleanup_free_ char *rule = rule_text(r, &p->combos[i]);
        fprintf(f, "  %s: %s (%s)\n", label, p->combos[i].text, rule);
    }
}

static char *path_title(const struct state_path *p)
{
    const struct state_phase *first = p->nphases ? &p->phases[0] : NULL;
    _cleanup_free_ char *label = first ? phase_label(first) : xasprintf("group %d", p->failure_order);
    return xasprintf("a failure in %s%s", label, p->at_commit ? " or during the commits" : "");
}

void plan_states_text(FILE *f, const struct states_report *r)
{
    if (!r || !r->present)
        return;
    fprintf(f, "States (constraints of %s; order %s):\n", r->manifest_path, r->derived ? "derived" : "checked");
    for (size_t i = 0; i < r->nforward; i++)
        text_phase(f, r, &r->forward[i]);
    if (r->no_rollback.n) {
        fprintf(f, "  Components that stay new in a rollback (constraints.no_rollback):");
        for (size_t i = 0; i < r->no_rollback.n; i++)
            fprintf(f, "%s %s", i ? "," : "", r->no_rollback.v[i]);
        fputc('\n', f);
    }
    for (size_t i = 0; i < r->nrollbacks; i++) {
        _cleanup_free_ char *title = path_title(&r->rollbacks[i]);
        fprintf(f, "Rollback after %s:\n", title);
        for (size_t k = 0; k < r->rollbacks[i].nphases; k++)
            text_phase(f, r, &r->rollbacks[i].phases[k]);
    }
}

/* ---- JSON ------------------------------------------------------------------------------- */

static json_t *strv_json(const struct strv *l)
{
    json_t *a = json_array();
    for (size_t i = 0; i < l->n; i++)
        json_array_append_new(a, json_string(l->v[i]));
    return a;
}

static json_t *phase_json(const struct states_report *r, const struct state_phase *p)
{
    static const char *const
        kinds[] = { [PHASE_NOW] = "now", [PHASE_GROUP] = "group", [PHASE_END] = "end", [PHASE_ROLLBACK] = "rollback" };
    json_t *o = json_object();
    json_object_set_new(o, "phase", json_string(kinds[p->kind]));
    bool grouped = p->kind == PHASE_GROUP || p->kind == PHASE_ROLLBACK;
    json_object_set_new(o, "order", grouped ? json_integer(p->order) : json_null());
    json_object_set_new(o, "component_types", strv_json(&p->types));
    json_t *states = json_array();
    for (size_t i = 0; i < p->ncombos; i++) {
        const struct state_combo *c = &p->combos[i];
        json_t *s = json_object(), *v = json_object();
        for (size_t t = 0; t < r->types.n && t < c->names.n; t++)
            json_object_set_new(v, r->types.v[t], json_string(c->names.v[t]));
        json_object_set_new(s, "versions", v);
        json_object_set_new(s, "text", json_string(c->text));
        json_object_set_new(s, "rule", json_string(c->rule));
        json_object_set_new(s, "rule_at",
                            c->rule_line ? json_sprintf("%s:%d:%d", r->manifest_path, c->rule_line, c->rule_col)
                                         : json_null());
        json_array_append_new(states, s);
    }
    json_object_set_new(o, "states", states);
    return o;
}

json_t *plan_states_json(const struct states_report *r)
{
    if (!r || !r->present)
        return json_null();
    json_t *o = json_object();
    json_object_set_new(o, "order", json_string(r->derived ? "derived" : "checked"));
    json_object_set_new(o, "component_types", strv_json(&r->types));
    json_object_set_new(o, "no_rollback", strv_json(&r->no_rollback));
    json_t *fw = json_array();
    for (size_t i = 0; i < r->nforward; i++)
        json_array_append_new(fw, phase_json(r, &r->forward[i]));
    json_object_set_new(o, "forward", fw);
    json_t *rbs = json_array();
    for (size_t i = 0; i < r->nrollbacks; i++) {
        const struct state_path *p = &r->rollbacks[i];
        json_t *po = json_object(), *phases = json_array();
        json_object_set_new(po, "failure_in_group", json_integer(p->failure_order));
        json_object_set_new(po, "also_during_commits", json_boolean(p->at_commit));
        for (size_t k = 0; k < p->nphases; k++)
            json_array_append_new(phases, phase_json(r, &p->phases[k]));
        json_object_set_new(po, "phases", phases);
        json_array_append_new(rbs, po);
    }
    json_object_set_new(o, "rollbacks", rbs);
    return o;
}

/* ---- dot -------------------------------------------------------------------------------- */

/* One node per phase: its label, then a line per combination and its rule. */
static void dot_node(FILE *f, const struct states_report *r, const char *id, const struct state_phase *p, bool dashed)
{
    _cleanup_free_ char *label = phase_label(p);
    fprintf(f, "    %s [%slabel=\"", id, dashed ? "style=dashed, " : "");
    plan_dot_esc(f, p->kind == PHASE_ROLLBACK ? "roll back " : "");
    plan_dot_esc(f, label);
    if (!p->ncombos)
        fprintf(f, "\\nno constrained type changes");
    for (size_t i = 0; i < p->ncombos; i++) {
        _cleanup_free_ char *rule = rule_text(r, &p->combos[i]);
        fprintf(f, "\\n");
        plan_dot_esc(f, p->combos[i].text);
        fprintf(f, " (");
        plan_dot_esc(f, rule);
        fprintf(f, ")");
    }
    fprintf(f, "\"];\n");
}

void plan_states_dot(FILE *f, const struct states_report *r)
{
    if (!r || !r->present)
        return;
    fprintf(f, "  subgraph cluster_states {\n    label=\"states (order %s)\";\n", r->derived ? "derived" : "checked");
    for (size_t i = 0; i < r->nforward; i++) {
        char id[32];
        snprintf(id, sizeof(id), "s%zu", i);
        dot_node(f, r, id, &r->forward[i], false);
        if (i)
            fprintf(f, "    s%zu -> s%zu;\n", i - 1, i);
    }
    /* a failure in group k (forward node k + 1) leads to its rollback phases */
    for (size_t i = 0; i < r->nrollbacks; i++) {
        const struct state_path *p = &r->rollbacks[i];
        for (size_t k = 0; k < p->nphases; k++) {
            char id[48];
            snprintf(id, sizeof(id), "r%zu_%zu", i, k);
            dot_node(f, r, id, &p->phases[k], true);
            if (k)
                fprintf(f, "    r%zu_%zu -> r%zu_%zu [style=dashed];\n", i, k - 1, i, k);
            else
                fprintf(f, "    s%zu -> r%zu_0 [style=dashed, label=\"failure\"];\n", i + 1, i);
        }
    }
    fprintf(f, "  }\n");
}

/* The System states of a deployment and the Manifest's constraints (docs/constraints.md).
 *
 * A state is, for each Component, old or new: new from the start of its ArtifactInstall
 * until its ArtifactRollback completes. Constraints speak of component types, so a state
 * is judged by its combinations: every choice of one Component per constrained type,
 * each at the version (view) it runs. Members of a group finish in any order, so while a
 * group moves every subset of it may have moved; since each Component moves on its own,
 * the combinations a phase can reach are the product, over the types, of the views the
 * type's Components can be at during it. A phase is acceptable when every combination
 * of that product is. Each combination is evaluated once (a cache indexed by the view of
 * each type), so checking an order costs O(groups^2 x combinations). */
#include "deploy/states.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deploy/select.h"
#include "deploy/states_int.h"
#include "util/mem.h"

/* ---- the model ---------------------------------------------------------------------------- */

/* Whether any rule names component type t. */
static bool constrained(const struct constraints *c, const char *t)
{
    for (size_t i = 0; i < c->nrules; i++)
        if (ccombo_find(&c->rules[i].combo, t) || ccombo_find(&c->rules[i].then, t))
            return true;
    return false;
}

/* Index of type name in x->all, adding it when missing. */
static size_t all_index(struct model *x, const char *type)
{
    for (size_t i = 0; i < x->nall; i++)
        if (strcmp(x->all[i].type, type) == 0)
            return i;
    x->all = xrealloc(x->all, (x->nall + 1) * sizeof(*x->all));
    x->all[x->nall] = (struct gtype){ .type = type, .model = -1 };
    return x->nall++;
}

/* Whether views a and b of type t are one: both current or both new, the same name, and
 * satisfying exactly the same matchers. A new view is never merged with a current one: a
 * combination is the current state only when each of its Components is where it is now. */
static bool same_view(const struct model *x, const char *t, const struct view *a, const struct view *b)
{
    if (a->current != b->current || (a->name == NULL) != (b->name == NULL) || (a->name && strcmp(a->name, b->name)))
        return false;
    for (size_t i = 0; i < x->c->nrules; i++) {
        const struct ccombo *cc[2] = { &x->c->rules[i].combo, &x->c->rules[i].then };
        for (int k = 0; k < 2; k++) {
            const struct cmatch *m = ccombo_find(cc[k], t);
            if (m && cmatch_matches(m, a->name, a->provides) != cmatch_matches(m, b->name, b->provides))
                return false;
        }
    }
    return true;
}

/* Index of view v in type T, adding it when new; -1 when T has too many. */
static int add_view(const struct model *x, struct mtype *T, struct view v)
{
    for (size_t i = 0; i < T->nviews; i++)
        if (same_view(x, T->type, &T->views[i], &v))
            return (int)i;
    if (T->nviews == STATES_MAX_VIEWS)
        return -1;
    T->views = xrealloc(T->views, (T->nviews + 1) * sizeof(*T->views));
    T->views[T->nviews] = v;
    return (int)T->nviews++;
}

/* The name a Component shows before it is updated: its Provides' artifact_name, else the
 * value of its version key (which mender-artifact sets to the Artifact name by default). */
static const char *current_name(const struct member *m)
{
    const char *n = kvl_get(&m->provides, "artifact_name");
    return n ? n : select_current_version(&m->provides, m->interface);
}

void model_free(struct model *x)
{
    for (size_t i = 0; i < x->nt; i++)
        free(x->t[i].views);
    free(x->t);
    free(x->all);
    free(x->mm);
    free(x->cache);
    memset(x, 0, sizeof(*x));
}

int model_build(struct model *x, const struct manifest *m, const struct deployment *d, struct diag_list *diag)
{
    memset(x, 0, sizeof(*x));
    x->c = &m->constraints;
    x->path = m->path;
    for (size_t i = 0; i < d->nmembers; i++) {
        const struct member *mem = &d->members[i];
        size_t a = all_index(x, mem->component_type);
        x->all[a].selected |= mem->selected;
        if (!constrained(x->c, mem->component_type))
            continue;
        if (x->all[a].model < 0) {
            x->t = xrealloc(x->t, (x->nt + 1) * sizeof(*x->t));
            x->t[x->nt] = (struct mtype){ .type = mem->component_type,
                                          .all = a,
                                          .capable = !strv_contains(&x->c->no_rollback, mem->component_type) };
            x->all[a].model = (int)x->nt++;
        }
        struct mtype *T = &x->t[x->all[a].model];
        int ov = add_view(x, T,
                          (struct view){ .name = current_name(mem), .provides = &mem->provides, .current = true });
        int nv = mem->selected
                     ? add_view(x, T, (struct view){ .name = mem->artifact_name, .provides = &mem->new_provides })
                     : ov;
        if (ov < 0 || nv < 0) {
            diag_error(diag, x->path, x->c->line, x->c->col,
                       "constraints: the Components of type %s run or get more than %d different versions: too many "
                       "to check; bring them to fewer versions first, or leave the type out of the constraints",
                       T->type, STATES_MAX_VIEWS);
            return -1;
        }
        x->mm = xrealloc(x->mm, (x->nmm + 1) * sizeof(*x->mm));
        x->mm[x->nmm++] = (struct mmember){ .t = (size_t)x->all[a].model,
                                            .oldv = (size_t)ov,
                                            .newv = (size_t)nv,
                                            .selected = mem->selected };
    }
    x->ncombos = 1;
    for (size_t t = x->nt; t-- > 0;) {
        x->t[t].stride = x->ncombos;
        if (x->ncombos > STATES_MAX_COMBOS / x->t[t].nviews) {
            diag_error(diag, x->path, x->c->line, x->c->col,
                       "constraints: the %zu component types they name can run more than %d combinations of "
                       "versions: too many to check; name fewer types in the constraints",
                       x->nt, STATES_MAX_COMBOS);
            return -1;
        }
        x->ncombos *= x->t[t].nviews;
    }
    x->cache = xcalloc(x->ncombos, sizeof(*x->cache));
    return 0;
}

/* ---- judging one combination ------------------------------------------------------------ */

static bool combo_matches(const struct model *x, const struct ccombo *cc, const size_t *vi)
{
    for (size_t i = 0; i < cc->n; i++) {
        const struct cmatch *m = &cc->m[i];
        for (size_t t = 0; t < x->nt; t++)
            if (strcmp(x->t[t].type, m->component_type) == 0) {
                const struct view *v = &x->t[t].views[vi[t]];
                if (!cmatch_matches(m, v->name, v->provides))
                    return false;
            }
    }
    return true;
}

static struct adm judge(const struct model *x, const size_t *vi, bool end)
{
    const struct constraints *c = x->c;
    bool current = !end;
    for (size_t t = 0; t < x->nt && current; t++)
        current = x->t[t].views[vi[t]].current;
    if (current)
        return (struct adm){ ADM_CURRENT, -1 };
    for (size_t i = 0; i < c->nrules; i++)
        if (c->rules[i].kind == CRULE_REQUIRES && combo_matches(x, &c->rules[i].combo, vi) &&
            !combo_matches(x, &c->rules[i].then, vi))
            return (struct adm){ ADM_VIOLATES, (int)i };
    if (c->nend == 0)
        return (struct adm){ ADM_FREE, -1 };
    for (int pass = 0; pass < (end ? 1 : 2); pass++)
        for (size_t i = 0; i < c->nrules; i++)
            if (c->rules[i].kind == (pass ? CRULE_TRANSITION : CRULE_END) && combo_matches(x, &c->rules[i].combo, vi))
                return (struct adm){ ADM_RULE, (int)i };
    return (struct adm){ ADM_UNLISTED, -1 };
}

struct adm model_judge(struct model *x, const size_t *vi, bool end)
{
    if (end)
        return judge(x, vi, true);
    size_t idx = 0;
    for (size_t t = 0; t < x->nt; t++)
        idx += vi[t] * x->t[t].stride;
    if (x->cache[idx].kind == ADM_UNKNOWN)
        x->cache[idx] = judge(x, vi, false);
    return x->cache[idx];
}

bool adm_ok(struct adm a) { return a.kind == ADM_CURRENT || a.kind == ADM_FREE || a.kind == ADM_RULE; }

/* ---- phases ----------------------------------------------------------------------------- */

static uint64_t bit(size_t v) { return (uint64_t)1 << v; }

/* The views each constrained type's Components can be at during phase ph, and those the
 * phase moves them to. tgroup: the group index of each type of x->all (INT_MAX: not yet
 * placed, i.e. later than any group placed). */
static void phase_masks(const struct model *x, const int *tgroup, struct phase ph, uint64_t *mask, uint64_t *moving)
{
    memset(mask, 0, x->nt * sizeof(*mask));
    memset(moving, 0, x->nt * sizeof(*moving));
    for (size_t i = 0; i < x->nmm; i++) {
        const struct mmember *mm = &x->mm[i];
        const struct mtype *T = &x->t[mm->t];
        uint64_t o = bit(mm->oldv), n = bit(mm->newv), *mk = &mask[mm->t], *mv = &moving[mm->t];
        int g = tgroup[T->all];
        if (!mm->selected || ph.kind == PH_NOW) {
            *mk |= o;
        } else if (ph.kind == PH_END) {
            *mk |= n;
        } else if (ph.kind == PH_FORWARD) {
            *mk |= g < ph.k ? n : g > ph.k ? o : o | n;
            *mv |= g == ph.k ? n : 0;
        } else if (g > ph.k) { /* rolling back group ph.j after a failure in group ph.k */
            *mk |= o;
        } else if (g < ph.j) {
            *mk |= n;
        } else if (!T->capable) { /* stays new once installed; in the failed group it may not be */
            *mk |= g < ph.k ? n : o | n;
        } else if (g == ph.j) {
            *mk |= o | n;
            *mv |= o;
        } else {
            *mk |= o;
        }
    }
}

/* Calls fn for every combination of the views in mask (when moving is not NULL, only those
 * with at least one view in moving); stops at the first false. Returns false if fn did. */
static bool each_combo(const struct model *x, const uint64_t *mask, const uint64_t *moving,
                       bool (*fn)(void *ctx, const size_t *vi), void *ctx)
{
    _cleanup_free_ size_t *vi = xcalloc(x->nt ? x->nt : 1, sizeof(*vi));
    for (size_t t = 0; t < x->nt; t++)
        while (!(mask[t] & bit(vi[t])))
            vi[t]++;
    for (;;) {
        bool moved = !moving;
        for (size_t t = 0; t < x->nt && !moved; t++)
            moved = (moving[t] & bit(vi[t])) != 0;
        if (moved && !fn(ctx, vi))
            return false;
        size_t t = x->nt;
        for (;;) { /* next: the last type's view advances first */
            if (t == 0)
                return true;
            t--;
            do
                vi[t]++;
            while (vi[t] < x->t[t].nviews && !(mask[t] & bit(vi[t])));
            if (vi[t] < x->t[t].nviews)
                break;
            vi[t] = 0;
            while (!(mask[t] & bit(vi[t])))
                vi[t]++;
        }
    }
}

struct check_ctx {
    struct model *x;
    bool end;
    struct violation *out;
};

static bool check_one(void *p, const size_t *vi)
{
    struct check_ctx *cx = p;
    struct adm a = model_judge(cx->x, vi, cx->end);
    if (adm_ok(a))
        return true;
    cx->out->adm = a;
    memcpy(cx->out->vi, vi, cx->x->nt * sizeof(*vi));
    return false;
}

bool model_check_phase(struct model *x, const int *tgroup, struct phase ph, struct violation *out)
{
    if (ph.kind == PH_NOW)
        return true;
    _cleanup_free_ uint64_t *mask = xcalloc(x->nt ? x->nt : 1, sizeof(*mask));
    _cleanup_free_ uint64_t *moving = xcalloc(x->nt ? x->nt : 1, sizeof(*moving));
    phase_masks(x, tgroup, ph, mask, moving);
    struct check_ctx cx = { .x = x, .end = ph.kind == PH_END, .out = out };
    if (each_combo(x, mask, NULL, check_one, &cx))
        return true;
    out->phase = ph;
    return false;
}

bool model_check_group(struct model *x, const int *tgroup, int k, struct violation *out)
{
    if (!model_check_phase(x, tgroup, (struct phase){ PH_FORWARD, k, 0 }, out))
        return false;
    for (int j = k; j >= 0; j--)
        if (!model_check_phase(x, tgroup, (struct phase){ PH_ROLLBACK, k, j }, out))
            return false;
    return true;
}

/* ---- messages ----------------------------------------------------------------------------- */

char *model_combo_text(const struct model *x, const size_t *vi)
{
    char *s = xstrdup("");
    for (size_t t = 0; t < x->nt; t++) {
        const struct view *v = &x->t[t].views[vi[t]];
        char *n = v->name ? xasprintf("%s%s%s", s, t ? " + " : "", v->name)
                          : xasprintf("%s%s%s (version unknown)", s, t ? " + " : "", x->t[t].type);
        free(s);
        s = n;
    }
    return s;
}

/* "group 20 (rtos, sensor)": its order and component types. */
char *model_group_label(const struct model *x, const int *tgroup, const int *orders, int g)
{
    char *s = xasprintf("group %d (", orders[g]);
    bool first = true;
    for (size_t a = 0; a < x->nall; a++)
        if (x->all[a].selected && tgroup[a] == g) {
            char *n = xasprintf("%s%s%s", s, first ? "" : ", ", x->all[a].type);
            free(s);
            s = n;
            first = false;
        }
    char *n = xasprintf("%s)", s);
    free(s);
    return n;
}

/* Why a combination is not acceptable: the rule it breaks, or the tables that do not list it
 * (at their lines in the Manifest, which the message names first). */
static char *reason(const struct model *x, struct adm a, bool end)
{
    const struct constraints *c = x->c;
    if (a.kind == ADM_VIOLATES) {
        const struct crule *r = &c->rules[a.rule];
        _cleanup_free_ char *desc = crule_describe(r);
        return xasprintf("which breaks constraints.%s (line %d)", desc, r->line);
    }
    if (end || !c->ntransition)
        return xasprintf("which constraints.end_states (line %d) does not list%s", c->end_line,
                         end ? " as an end state" : "");
    return xasprintf("which neither constraints.end_states (line %d) nor constraints.transition_states (line %d) lists",
                     c->end_line, c->transition_line);
}

char *model_violation_text(const struct model *x, const int *tgroup, const int *orders, const struct violation *v)
{
    _cleanup_free_ char *combo = model_combo_text(x, v->vi);
    _cleanup_free_ char *why = reason(x, v->adm, v->phase.kind == PH_END);
    if (v->phase.kind == PH_END)
        return xasprintf("once every group is installed, the System is at %s, %s", combo, why);
    _cleanup_free_ char *gk = model_group_label(x, tgroup, orders, v->phase.k);
    if (v->phase.kind == PH_FORWARD)
        return xasprintf("while %s installs, the System can be at %s, %s", gk, combo, why);
    _cleanup_free_ char *gj = model_group_label(x, tgroup, orders, v->phase.j);
    /* the types whose Components stay new in this combination */
    _cleanup_free_ char *stay = xstrdup("");
    for (size_t t = 0; t < x->nt; t++)
        if (!x->t[t].capable && !x->t[t].views[v->vi[t]].current) {
            char *n = xasprintf("%s%s%s", stay, stay[0] ? ", " : "", x->t[t].type);
            free(stay);
            stay = n;
        }
    return xasprintf("rolling back %s after a failure in %s, the System can be at %s%s%s%s, %s", gj, gk, combo,
                     stay[0] ? " (" : "", stay, stay[0] ? " in constraints.no_rollback: stays new)" : "", why);
}

int model_check_end(struct model *x, const int *tgroup, const int *orders, struct diag_list *diag)
{
    const struct constraints *c = x->c;
    _cleanup_free_ size_t *vi = xcalloc(x->nt ? x->nt : 1, sizeof(*vi));
    struct violation v = { .vi = vi };
    if (model_check_phase(x, tgroup, (struct phase){ PH_END, 0, 0 }, &v))
        return 0;
    _cleanup_free_ char *msg = model_violation_text(x, tgroup, orders, &v);
    diag_error(diag, x->path, c->end_line ? c->end_line : c->line, c->end_line ? c->end_col : c->col,
               "constraints: %s; list it in constraints.end_states, or name Artifacts that make an end state it lists",
               msg);
    return -1;
}

/* ---- the report --------------------------------------------------------------------------- */

static void phase_free(struct state_phase *p)
{
    for (size_t i = 0; i < p->ncombos; i++) {
        strv_free(&p->combos[i].names);
        free(p->combos[i].text);
        free(p->combos[i].rule);
    }
    free(p->combos);
    strv_free(&p->types);
}

void states_report_free(struct states_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nforward; i++)
        phase_free(&r->forward[i]);
    free(r->forward);
    for (size_t i = 0; i < r->nrollbacks; i++) {
        for (size_t k = 0; k < r->rollbacks[i].nphases; k++)
            phase_free(&r->rollbacks[i].phases[k]);
        free(r->rollbacks[i].phases);
    }
    free(r->rollbacks);
    free(r->manifest_path);
    strv_free(&r->types);
    strv_free(&r->no_rollback);
    memset(r, 0, sizeof(*r));
}

struct collect_ctx {
    struct model *x;
    bool end;
    struct state_phase *p;
};

static bool collect_one(void *p, const size_t *vi)
{
    struct collect_ctx *cx = p;
    const struct model *x = cx->x;
    struct adm a = model_judge(cx->x, vi, cx->end);
    struct state_phase *ph = cx->p;
    _cleanup_free_ char *text = model_combo_text(x, vi);
    _cleanup_free_ char *rule = NULL;
    if (a.kind == ADM_RULE)
        rule = xasprintf("%s[%zu]", crule_list_name(x->c->rules[a.rule].kind), x->c->rules[a.rule].index);
    else
        rule = xstrdup(a.kind == ADM_CURRENT ? "current state" : "no rule forbids it");
    /* the same versions reached by other Components (one moved, one already there) show once */
    for (size_t i = 0; i < ph->ncombos; i++)
        if (strcmp(ph->combos[i].text, text) == 0 && strcmp(ph->combos[i].rule, rule) == 0)
            return true;
    ph->combos = xrealloc(ph->combos, (ph->ncombos + 1) * sizeof(*ph->combos));
    struct state_combo *c = &ph->combos[ph->ncombos++];
    memset(c, 0, sizeof(*c));
    for (size_t t = 0; t < x->nt; t++) {
        const char *n = x->t[t].views[vi[t]].name;
        strv_push(&c->names, n ? n : "unknown");
    }
    c->text = TAKE_PTR(text);
    c->rule = TAKE_PTR(rule);
    if (a.kind == ADM_RULE) {
        c->rule_line = x->c->rules[a.rule].line;
        c->rule_col = x->c->rules[a.rule].col;
    }
    return true;
}

static void add_phase(struct model *x, const int *tgroup, const int *orders, struct phase ph, struct state_phase **v,
                      size_t *n)
{
    *v = xrealloc(*v, (*n + 1) * sizeof(**v));
    struct state_phase *p = &(*v)[(*n)++];
    memset(p, 0, sizeof(*p));
    p->kind = ph.kind == PH_NOW       ? PHASE_NOW
              : ph.kind == PH_END     ? PHASE_END
              : ph.kind == PH_FORWARD ? PHASE_GROUP
                                      : PHASE_ROLLBACK;
    int g = ph.kind == PH_ROLLBACK ? ph.j : ph.k;
    if (ph.kind == PH_FORWARD || ph.kind == PH_ROLLBACK) {
        p->order = orders[g];
        for (size_t a = 0; a < x->nall; a++)
            if (x->all[a].selected && tgroup[a] == g)
                strv_push(&p->types, x->all[a].type);
    }
    _cleanup_free_ uint64_t *mask = xcalloc(x->nt ? x->nt : 1, sizeof(*mask));
    _cleanup_free_ uint64_t *moving = xcalloc(x->nt ? x->nt : 1, sizeof(*moving));
    phase_masks(x, tgroup, ph, mask, moving);
    struct collect_ctx cx = { .x = x, .end = ph.kind == PH_END, .p = p };
    bool all = ph.kind == PH_NOW || ph.kind == PH_END;
    if (x->nt) /* else no Component of a type the constraints name: nothing to show */
        (void)each_combo(x, mask, all ? NULL : moving, collect_one, &cx);
}

static void build_report(struct model *x, const int *tgroup, const int *orders, int ngroups, bool derived,
                         struct states_report *r)
{
    r->present = true;
    r->derived = derived;
    r->manifest_path = xstrdup(x->path);
    for (size_t t = 0; t < x->nt; t++)
        strv_push(&r->types, x->t[t].type);
    strv_copy(&r->no_rollback, &x->c->no_rollback);
    add_phase(x, tgroup, orders, (struct phase){ PH_NOW, 0, 0 }, &r->forward, &r->nforward);
    for (int k = 0; k < ngroups; k++)
        add_phase(x, tgroup, orders, (struct phase){ PH_FORWARD, k, 0 }, &r->forward, &r->nforward);
    add_phase(x, tgroup, orders, (struct phase){ PH_END, 0, 0 }, &r->forward, &r->nforward);
    r->rollbacks = xcalloc(ngroups ? (size_t)ngroups : 1, sizeof(*r->rollbacks));
    for (int k = 0; k < ngroups; k++) {
        struct state_path *p = &r->rollbacks[r->nrollbacks++];
        p->failure_order = orders[k];
        p->at_commit = k == ngroups - 1;
        for (int j = k; j >= 0; j--)
            add_phase(x, tgroup, orders, (struct phase){ PH_ROLLBACK, k, j }, &p->phases, &p->nphases);
    }
}

/* ---- checking a given order ---------------------------------------------------------------- */

/* The group index of each type of x->all from the members' orders; the orders ascending. */
static void groups_of(const struct model *x, const struct deployment *d, int *tgroup, int *orders, int *ngroups)
{
    size_t n = 0;
    _cleanup_free_ int *g = deployment_groups(d, &n);
    memcpy(orders, g, n * sizeof(*g));
    *ngroups = (int)n;
    for (size_t a = 0; a < x->nall; a++) {
        tgroup[a] = -1;
        for (size_t i = 0; i < d->nmembers; i++)
            if (d->members[i].selected && strcmp(d->members[i].component_type, x->all[a].type) == 0)
                for (size_t k = 0; k < n; k++)
                    if (g[k] == d->members[i].order)
                        tgroup[a] = (int)k;
    }
}

/* The position of the order value of the first type of group g (for messages). */
static const struct manifest_entry *group_entry(const struct model *x, const struct manifest *m, const int *tgroup,
                                                int g)
{
    for (size_t a = 0; a < x->nall; a++)
        if (x->all[a].selected && tgroup[a] == g)
            return manifest_find(m, x->all[a].type);
    return NULL;
}

static int check_order(struct model *x, const struct manifest *m, const struct deployment *d, int *tgroup, int *orders,
                       int *ngroups, struct diag_list *diag)
{
    groups_of(x, d, tgroup, orders, ngroups);
    _cleanup_free_ size_t *vi = xcalloc(x->nt ? x->nt : 1, sizeof(*vi));
    struct violation v = { .vi = vi };
    const struct constraints *c = &m->constraints;
    if (model_check_end(x, tgroup, orders, diag) != 0)
        return -1;
    for (int k = 0; k < *ngroups; k++) {
        if (model_check_group(x, tgroup, k, &v))
            continue;
        int g = v.phase.kind == PH_FORWARD ? v.phase.k : v.phase.j;
        const struct manifest_entry *e = group_entry(x, m, tgroup, g);
        _cleanup_free_ char *msg = model_violation_text(x, tgroup, orders, &v);
        diag_error(diag, x->path, e ? e->order_line : c->line, e ? e->order_col : c->col,
                   "component_types.%s.update_strategy.order: %d: %s; change the order, or leave order out of "
                   "every type to have it derived from the constraints",
                   e ? e->component_type : "?", orders[g], msg);
        return -1;
    }
    return 0;
}

/* ---- entry point ------------------------------------------------------------------------------ */

int states_apply(const struct manifest *m, struct deployment *d, struct states_report *report, struct diag_list *diag)
{
    assert(m && d && diag);
    if (!m->constraints.present)
        return 0;
    _cleanup_(model_free) struct model x = { 0 };
    if (model_build(&x, m, d, diag) != 0)
        return -1;
    size_t cap = x.nall ? x.nall : 1;
    _cleanup_free_ int *tgroup = xcalloc(cap, sizeof(*tgroup));
    _cleanup_free_ int *orders = xcalloc(cap, sizeof(*orders));
    int ngroups = 0;
    if (m->derive_order) {
        if (states_derive(&x, tgroup, &ngroups, diag) != 0)
            return -1;
        for (int g = 0; g < ngroups; g++)
            orders[g] = 10 * (g + 1);
        for (size_t i = 0; i < d->nmembers; i++) {
            struct member *mem = &d->members[i];
            for (size_t a = 0; a < x.nall; a++)
                if (strcmp(x.all[a].type, mem->component_type) == 0)
                    mem->order = tgroup[a] >= 0 ? orders[tgroup[a]] : 10; /* nothing to install: shown only */
        }
    } else if (check_order(&x, m, d, tgroup, orders, &ngroups, diag) != 0) {
        return -1;
    }
    if (report)
        build_report(&x, tgroup, orders, ngroups, m->derive_order, report);
    return 0;
}

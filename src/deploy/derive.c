/* The order groups derived from the constraints (docs/constraints.md, "Deriving the
 * order"): the fewest sequential groups such that every state the forward path and every
 * rollback path can pass through is acceptable.
 *
 * A search over ordered partitions of the component types the constraints name (at most
 * STATES_DERIVE_MAX_TYPES of them; a Fubini number of partitions: 545,835 for 8): for 1,
 * 2, ... groups, the groups are chosen first to last, and a group is kept only when its
 * own forward phase and the rollbacks from a failure in it are acceptable. Those depend
 * only on the groups before it, so a prefix that fails is never extended. The first
 * complete order found has the fewest groups; among those, larger groups come first, then
 * types earlier in the Topology. Types the constraints do not name join the first group. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "deploy/states.h"
#include "deploy/states_int.h"
#include "util/mem.h"

struct search {
    struct model *x;
    int *tgroup;
    size_t u[STATES_DERIVE_MAX_TYPES]; /* the types to order: indices in x->all */
    size_t n;
    int groups; /* the number of groups being tried */
    size_t *vi;
    /* the candidate that got furthest, for the message: the most types in groups before the
     * one that failed, then the most groups (finer orders pass through fewer states) */
    int best_placed;
    int best_groups;
    int best_group;
    int *best_tgroup;
    struct violation best;
};

static int popcount(unsigned v) { return __builtin_popcount(v); }

static int cmp_subsets(const void *pa, const void *pb)
{
    unsigned a = *(const unsigned *)pa, b = *(const unsigned *)pb;
    if (popcount(a) != popcount(b))
        return popcount(b) - popcount(a);
    return (a > b) - (a < b);
}

static void place(struct search *s, unsigned set, int group)
{
    for (size_t i = 0; i < s->n; i++)
        if (set & (1u << i))
            s->tgroup[s->u[i]] = group;
}

/* Tries every group k from the types in remaining, then the groups after it. */
static bool dfs(struct search *s, int k, unsigned remaining)
{
    int left = s->groups - k;
    unsigned subsets[1u << STATES_DERIVE_MAX_TYPES];
    size_t ns = 0;
    if (left == 1) {
        subsets[ns++] = remaining;
    } else {
        for (unsigned b = remaining; b; b = (b - 1) & remaining)
            if (popcount(remaining & ~b) >= left - 1)
                subsets[ns++] = b;
        qsort(subsets, ns, sizeof(*subsets), cmp_subsets);
    }
    struct violation v = { .vi = s->vi };
    for (size_t i = 0; i < ns; i++) {
        place(s, subsets[i], k);
        if (model_check_group(s->x, s->tgroup, k, &v)) {
            if (left == 1 || dfs(s, k + 1, remaining & ~subsets[i]))
                return true;
        } else {
            int placed = (int)s->n - popcount(remaining);
            if (placed > s->best_placed || (placed == s->best_placed && s->groups > s->best_groups)) {
                s->best_placed = placed;
                s->best_groups = s->groups;
                s->best_group = k;
                memcpy(s->best_tgroup, s->tgroup, s->x->nall * sizeof(*s->tgroup));
                s->best.phase = v.phase;
                s->best.adm = v.adm;
                memcpy(s->best.vi, v.vi, s->x->nt * sizeof(*v.vi));
            }
        }
        place(s, subsets[i], INT_MAX);
    }
    return false;
}

/* "gateway, then rtos and sensor": the groups of a candidate, up to group last (the one that
 * failed; the groups after it were not chosen yet). */
static char *candidate_text(const struct model *x, const int *tgroup, int last)
{
    char *s = xstrdup("");
    for (int g = 0; g <= last; g++) {
        bool first = true;
        for (size_t a = 0; a < x->nall; a++)
            if (x->all[a].model >= 0 && tgroup[a] == g) {
                char *n = xasprintf("%s%s%s", s, first ? (g ? ", then " : "") : " and ", x->all[a].type);
                free(s);
                s = n;
                first = false;
            }
    }
    return s;
}

static char *types_text(const struct model *x, const struct search *s)
{
    char *t = xstrdup("");
    for (size_t i = 0; i < s->n; i++) {
        char *n = xasprintf("%s%s%s", t, i ? ", " : "", x->all[s->u[i]].type);
        free(t);
        t = n;
    }
    return t;
}

int states_derive(struct model *x, int *tgroup, int *ngroups, struct diag_list *diag)
{
    const struct constraints *c = x->c;
    struct search s = { .x = x, .tgroup = tgroup, .best_placed = -1 };
    bool any = false;
    for (size_t a = 0; a < x->nall; a++) {
        any |= x->all[a].selected;
        tgroup[a] = !x->all[a].selected ? -1 : x->all[a].model < 0 ? 0 : INT_MAX;
        if (x->all[a].selected && x->all[a].model >= 0) {
            if (s.n == STATES_DERIVE_MAX_TYPES) {
                diag_error(diag, x->path, c->line, c->col,
                           "constraints: more than %d component types named by the constraints have Components to "
                           "update: too many to derive their order; give update_strategy.order for every type (it is "
                           "then checked against the constraints)",
                           STATES_DERIVE_MAX_TYPES);
                return -1;
            }
            s.u[s.n++] = a;
        }
    }
    *ngroups = any ? 1 : 0;
    _cleanup_free_ size_t *vi = xcalloc(x->nt ? x->nt : 1, sizeof(*vi));
    _cleanup_free_ size_t *best_vi = xcalloc(x->nt ? x->nt : 1, sizeof(*best_vi));
    _cleanup_free_ int *best_tgroup = xcalloc(x->nall ? x->nall : 1, sizeof(*best_tgroup));
    s.vi = vi;
    s.best.vi = best_vi;
    s.best_tgroup = best_tgroup;
    int orders[STATES_DERIVE_MAX_TYPES + 1];
    for (int g = 0; g <= STATES_DERIVE_MAX_TYPES; g++)
        orders[g] = 10 * (g + 1);

    if (model_check_end(x, tgroup, orders, diag) != 0)
        return -1;
    if (s.n == 0)
        return 0;
    unsigned full = (1u << s.n) - 1;
    for (s.groups = 1; s.groups <= (int)s.n; s.groups++)
        if (dfs(&s, 0, full)) {
            *ngroups = s.groups;
            return 0;
        }
    _cleanup_free_ char *types = types_text(x, &s);
    _cleanup_free_ char *cand = candidate_text(x, s.best_tgroup, s.best_group);
    _cleanup_free_ char *msg = model_violation_text(x, s.best_tgroup, orders, &s.best);
    diag_error(diag, x->path, c->line, c->col,
               "constraints: no order of %s passes only acceptable states; the order that gets furthest (%s%s): %s; "
               "change the constraints (or the Artifacts) so that some order is acceptable",
               types, cand, s.best_group + 1 < s.best_groups ? ", then the others" : "", msg);
    return -1;
}

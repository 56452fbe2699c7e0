#include "system/components.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/mem.h"

struct iface_target component_target(const struct component *c, bool legacy)
{
    assert(c && c->def);
    return (struct iface_target){
        .component_type = c->def->component_type,
        .id = c->id,
        .interface = c->def->interface,
        .args = &c->def->args,
        .legacy = legacy,
    };
}

/* Position of defs[i] among the Components of its type, from 1. */
static size_t position_in_type(const struct component_def *defs, size_t i)
{
    size_t n = 1;
    for (size_t k = 0; k < i; k++)
        if (strcmp(defs[k].component_type, defs[i].component_type) == 0)
            n++;
    return n;
}

int components_query(const struct iface_env *env, const struct component_def *defs, size_t n, bool legacy,
                     struct component_set *out, struct diag_list *d)
{
    assert(env && (defs || n == 0) && out && d);
    out->v = xcalloc(n ? n : 1, sizeof(*out->v));
    out->n = n;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        _cleanup_error_ struct error *err = NULL;
        struct component *c = &out->v[i];
        c->def = &defs[i];
        struct iface_target t = component_target(c, legacy);
        if (legacy) {
            c->id = xstrdup(defs[i].id);
        } else if (iface_identity(env, &t, &c->id, &err) != 0) {
            c->error = xstrdup(error_message(err));
            diag_error(d, NULL, 0, 0, "component %s #%zu: %s", defs[i].component_type, position_in_type(defs, i),
                       c->error);
            rc = -1;
            continue;
        } else if (!c->id) {
            c->id = xasprintf("%s-%zu", defs[i].component_type, position_in_type(defs, i));
            diag_warn(d, NULL, 0, 0, "component %s #%zu: Identity printed nothing; using the id %s",
                      defs[i].component_type, position_in_type(defs, i), c->id);
        }
        c->identified = true;
        t.id = c->id;
        if (iface_provides(env, &t, &c->provides, &err) != 0) {
            c->error = xstrdup(error_message(err));
            diag_error(d, NULL, 0, 0, "component %s.%s: %s", defs[i].component_type, c->id, c->error);
            rc = -1;
            continue;
        }
        c->have_provides = true;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t k = i + 1; k < n; k++) {
            struct component *a = &out->v[i], *b = &out->v[k];
            if (a->identified && b->identified && strcmp(a->def->component_type, b->def->component_type) == 0 &&
                strcmp(a->id, b->id) == 0) {
                diag_error(d, NULL, 0, 0,
                           "component type %s: two Components have the id %s (Topology items %zu and %zu); each "
                           "needs its own: fix what their Interface prints for Identity",
                           a->def->component_type, a->id, i + 1, k + 1);
                a->duplicate = b->duplicate = true;
                rc = -1;
            }
        }
    return rc;
}

void components_free(struct component_set *s)
{
    assert(s);
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].id);
        free(s->v[i].error);
        kvl_free(&s->v[i].provides);
    }
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

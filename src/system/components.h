/* The Components of the System at run time: a Topology (or legacy Manifest) entry plus
 * what its Interface answered (Identity, Provides). */
#ifndef MO_COMPONENTS_H
#define MO_COMPONENTS_H

#include <stdbool.h>
#include <stddef.h>

#include "iface/runner.h"
#include "inputs/topology.h"
#include "util/cleanup.h"
#include "util/diag.h"
#include "util/strv.h"

struct component {
    const struct component_def *def; /* type, interface, args (and the legacy id) */
    char *id;
    bool identified; /* id known (Identity answered, or legacy) */
    bool have_provides;
    bool duplicate;         /* another Component of its type has the same id */
    struct kvlist provides; /* the Provides answer (no device_type) */
    char *error;            /* why a query failed, or NULL */
};

struct component_set {
    struct component *v;
    size_t n;
};

/* Asks each Component, in order, Identity (current format; an empty answer gives
 * "<type>-<n>" with a warning) and then Provides. A failed query is recorded in the
 * component's error and in d; the others are still asked. Duplicate ids within a type
 * are errors in d, and both Components are marked duplicate. Returns 0 when everything was answered and valid. */
MO_MUST_CHECK int components_query(const struct iface_env *env, const struct component_def *defs, size_t n, bool legacy,
                                   struct component_set *out, struct diag_list *d);

/* The runner's view of one Component. */
struct iface_target component_target(const struct component *c, bool legacy);

void components_free(struct component_set *s);

#endif

/* The System states a deployment passes through, checked against the Manifest's
 * constraints (docs/constraints.md): on the forward path and on the rollback path from
 * every possible failure point. With constraints and no update_strategy.order, the order
 * groups are derived from them (the fewest groups whose states are all acceptable);
 * with an order, it is checked. The result is kept as a report for `plan`. */
#ifndef MO_STATES_H
#define MO_STATES_H

#include <stdbool.h>
#include <stddef.h>

#include "deploy/deployment.h"
#include "inputs/manifest.h"
#include "util/cleanup.h"
#include "util/diag.h"
#include "util/strv.h"

/* Above this many component types to order, the order is not derived (the search tries
 * every ordered partition of them): give update_strategy.order instead, which is checked. */
#define STATES_DERIVE_MAX_TYPES 8
/* Above this many combinations of the versions the constrained types may run, nothing is
 * checked (each combination is evaluated once). */
#define STATES_MAX_COMBOS 65536

/* A combination of versions the System may be in, one per constrained component type. */
struct state_combo {
    struct strv names;       /* per type of the report, the version (name) shown */
    char *text;              /* "gateway-v2 + rtos-v1" */
    char *rule;              /* what admits it: "end_states[1]", "transition_states[0]", "current state",
                          "no rule forbids it" (only requires rules given) */
    int rule_line, rule_col; /* the rule's position in the Manifest (0 for the current state) */
};

enum state_phase_kind {
    PHASE_NOW,      /* before anything is installed */
    PHASE_GROUP,    /* while a group installs */
    PHASE_END,      /* every group installed */
    PHASE_ROLLBACK, /* while a group rolls back */
};

/* A stretch of a path: the combinations it can create (those it can reach that the phase
 * before could not: some Component of its group at the version it moves to). */
struct state_phase {
    enum state_phase_kind kind;
    int order;         /* the group's order (PHASE_GROUP, PHASE_ROLLBACK) */
    struct strv types; /* the group's component types */
    struct state_combo *combos;
    size_t ncombos;
};

/* The rollback after a failure in one group (in the last group: also during the commits). */
struct state_path {
    int failure_order;
    bool at_commit;
    struct state_phase *phases;
    size_t nphases;
};

struct states_report {
    bool present; /* the Manifest has constraints; nothing else is set otherwise */
    bool derived; /* the order was derived (else checked) */
    char *manifest_path;
    struct strv types;           /* the constrained component types (with Components), Topology order */
    struct strv no_rollback;     /* constraints.no_rollback */
    struct state_phase *forward; /* now, each group, the end */
    size_t nforward;
    struct state_path *rollbacks; /* one per group, ascending */
    size_t nrollbacks;
};

/* Applies m's constraints to the prepared deployment d (members selected): derives the
 * members' orders when m->derive_order, else checks them. A violated or unsatisfiable
 * constraint is one error in diag naming the combination and the rule. report (may be NULL;
 * zeroed by the caller) receives the states for `plan`. Returns 0, or -1. Without
 * constraints: 0, nothing done. */
MO_MUST_CHECK int states_apply(const struct manifest *m, struct deployment *d, struct states_report *report,
                               struct diag_list *diag);

void states_report_free(struct states_report *r);

#endif

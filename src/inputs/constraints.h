/* The declarative constraints of a Manifest (docs/constraints.md): the combinations of
 * versions the System may be in once an update completes (end_states) and while it moves
 * (transition_states), pairwise rules (requires), and the component types whose Components
 * cannot roll back (no_rollback). Read with the Manifest, of either format; checked and used
 * to plan by src/deploy/states.c. */
#ifndef MO_CONSTRAINTS_H
#define MO_CONSTRAINTS_H

#include <stdbool.h>
#include <stddef.h>

#include "util/diag.h"
#include "util/strv.h"

/* What one component type of a combination must run: a Component matches by its name (any
 * of names) or by its provides (every key of provides, each value a pattern). */
struct cmatch {
    char *component_type;
    struct strv names;      /* name patterns, any of which matches; empty when by provides */
    struct kvlist provides; /* provides key -> value pattern, all of which must match */
    int line, col;          /* of the component type's key */
};

/* A combination: one matcher per component type it names; the types it does not name may
 * run anything. */
struct ccombo {
    struct cmatch *m;
    size_t n;
};

enum crule_kind { CRULE_END, CRULE_TRANSITION, CRULE_REQUIRES };

struct crule {
    enum crule_kind kind;
    size_t index;        /* in its list: end_states[index] */
    struct ccombo combo; /* the combination; for requires, its `if` */
    struct ccombo then;  /* requires only */
    int line, col;       /* of the list item */
};

struct constraints {
    bool present;  /* the Manifest has a constraints key */
    int line, col; /* of that key */
    struct crule *rules;
    size_t nrules; /* end_states, then transition_states, then requires, each in file order */
    size_t nend, ntransition, nrequires;
    int end_line, end_col, transition_line, transition_col; /* of the list keys (0 when absent) */
    struct strv no_rollback;                                /* component types */
};

void constraints_free(struct constraints *c);

/* Whether s matches pattern: '*' matches any run of characters (also none); every other
 * character stands for itself. */
bool constraint_pattern_match(const char *pattern, const char *s);

/* Whether a Component with this name (NULL when unknown) and these provides satisfies m. */
bool cmatch_matches(const struct cmatch *m, const char *name, const struct kvlist *provides);

/* The matcher of combo for component_type, or NULL when the combination does not name it. */
const struct cmatch *ccombo_find(const struct ccombo *c, const char *component_type);

/* "end_states", "transition_states", "requires". */
const char *crule_list_name(enum crule_kind kind);

/* A rule for messages, one line: `end_states[1] {gateway: gateway-v2, rtos: rtos-v2}`,
 * `requires[0] {if: {rtos: rtos-v2*}, then: {gateway: gateway-v2*}}`. Caller frees. */
char *crule_describe(const struct crule *r);

#endif

/* Private to src/deploy: the plan's section on the System states (src/deploy/plan_states.c),
 * in each of the plan's forms (src/deploy/plan.c). */
#ifndef MO_PLAN_INT_H
#define MO_PLAN_INT_H

#include <jansson.h>
#include <stdio.h>

#include "deploy/states.h"

/* Text lines: the forward path, then one block per rollback path. Nothing without constraints. */
void plan_states_text(FILE *f, const struct states_report *r);
/* The "constraints" member of the JSON plan: an object, or null without constraints. */
json_t *plan_states_json(const struct states_report *r);
/* A dot cluster of the states (forward path solid, rollback paths dashed). Nothing without
 * constraints. */
void plan_states_dot(FILE *f, const struct states_report *r);

/* Writes s (NULL: nothing) escaped for a double-quoted dot string (src/deploy/plan.c). */
void plan_dot_esc(FILE *f, const char *s);

#endif

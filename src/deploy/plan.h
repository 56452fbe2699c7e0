/* The plan of a prepared deployment: order groups ascending, members per group,
 * skipped Components, expected reboots; printed as text, JSON or Graphviz dot, and a
 * hash that identifies it (install --plan-hash). */
#ifndef MO_PLAN_H
#define MO_PLAN_H

#include <stdio.h>

#include "deploy/deployment.h"
#include "deploy/states.h"
#include "util/cleanup.h"

/* Reboot answer known for this Component (the same component type, id and Interface;
 * from the journal), or ANSWER_UNSET. */
typedef int (*plan_reboot_hint)(void *ctx, const struct member *m);

/* Hex SHA-256 over a canonical form of the plan (members, ids, Artifacts by manifest
 * SHA-256, orders, skipped). Caller frees. */
char *plan_hash(const struct deployment *d);

enum plan_format { PLAN_TEXT, PLAN_JSON, PLAN_DOT };
/* 0, or -1 for a name other than text, json, dot (NULL is text). */
MO_MUST_CHECK int plan_format_parse(const char *s, enum plan_format *out);

/* Prints the plan of d (d->plan_hash set) to f, with the states it passes through when the
 * Manifest has constraints (states: from prepare_deployment, or NULL). */
void plan_print(FILE *f, const struct deployment *d, const struct states_report *states, enum plan_format fmt,
                plan_reboot_hint hint, void *hint_ctx);

#endif

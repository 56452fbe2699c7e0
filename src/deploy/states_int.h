/* Private to src/deploy: the state model shared by the check of an order
 * (src/deploy/states.c) and its derivation (src/deploy/derive.c); docs/constraints.md. */
#ifndef MO_STATES_INT_H
#define MO_STATES_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "deploy/deployment.h"
#include "inputs/manifest.h"
#include "util/diag.h"

/* Distinct versions one type's Components may run, now or after (a bit each in a phase's
 * mask). */
#define STATES_MAX_VIEWS 64

/* A version a Component can be at, as the rules see it. */
struct view {
    const char *name;              /* NULL when unknown */
    const struct kvlist *provides; /* the Component's before, or the Artifact's after */
    bool current;                  /* a Component's version now (else the one its Artifact gives) */
};

/* A component type of the deployment (its group is kept apart, in a tgroup array). */
struct gtype {
    const char *type;
    bool selected; /* has a member to install */
    int model;     /* index in model.t when the constraints name it, else -1 */
};

/* A component type the constraints name. */
struct mtype {
    const char *type;
    size_t all; /* index in model.all */
    struct view *views;
    size_t nviews;
    size_t stride; /* of its view index in a combination's cache index */
    bool selected; /* has a member to install */
    bool capable;  /* not in no_rollback */
};

/* A Component of a constrained type. */
struct mmember {
    size_t t; /* model.t index */
    size_t oldv, newv;
    bool selected;
};

enum adm_kind { ADM_UNKNOWN, ADM_CURRENT, ADM_FREE, ADM_RULE, ADM_UNLISTED, ADM_VIOLATES };

/* How a combination is judged: admitted (as the current state, by a rule, or for want of
 * end_states), or not (not listed, or breaking a requires rule). */
struct adm {
    enum adm_kind kind;
    int rule; /* index in constraints.rules, or -1 */
};

struct model {
    const struct constraints *c;
    const char *path; /* the Manifest, for messages */
    struct gtype *all;
    size_t nall;
    struct mtype *t;
    size_t nt;
    struct mmember *mm;
    size_t nmm;
    size_t ncombos;
    struct adm *cache; /* per combination, judged as a state to pass through */
};

/* A stretch of a path: before anything (NOW), while group k installs (FORWARD), rolling
 * back group j after a failure in group k (ROLLBACK), every group installed (END). */
enum phase_kind { PH_NOW, PH_FORWARD, PH_ROLLBACK, PH_END };
struct phase {
    enum phase_kind kind;
    int k, j;
};

/* The first unacceptable combination found: vi is the caller's array of nt entries. */
struct violation {
    struct phase phase;
    struct adm adm;
    size_t *vi;
};

/* Builds the model of d's members under m's constraints; -1 with an error in diag when it
 * is too big to check. Freed with model_free (also after a failure). */
int model_build(struct model *x, const struct manifest *m, const struct deployment *d, struct diag_list *diag);
void model_free(struct model *x);

/* The judgement of combination vi (a view index per type), as an end state or as a state
 * to pass through (cached). */
struct adm model_judge(struct model *x, const size_t *vi, bool end);
bool adm_ok(struct adm a);

/* Whether every combination of phase ph is acceptable, under the group of each type of
 * model.all in tgroup (INT_MAX: placed after every group); else false and *out filled. */
bool model_check_phase(struct model *x, const int *tgroup, struct phase ph, struct violation *out);
/* Group k's forward phase and the rollback from a failure in it. */
bool model_check_group(struct model *x, const int *tgroup, int k, struct violation *out);

/* The end state (every group installed): 0 if acceptable, else -1 with the error in diag,
 * at constraints.end_states. */
int model_check_end(struct model *x, const int *tgroup, const int *orders, struct diag_list *diag);

/* Messages: the combination ("gateway-v1 + rtos-v2"), a group ("group 20 (rtos)"), and a
 * violation as one clause. orders: each group's order. Caller frees. */
char *model_combo_text(const struct model *x, const size_t *vi);
char *model_group_label(const struct model *x, const int *tgroup, const int *orders, int g);
char *model_violation_text(const struct model *x, const int *tgroup, const int *orders, const struct violation *v);

/* Derives the fewest order groups (src/deploy/derive.c): tgroup[a] for every type of
 * model.all (-1 for a type with nothing to install), *ngroups. -1 with the error in diag
 * when no order is acceptable or there are too many types to order. */
int states_derive(struct model *x, int *tgroup, int *ngroups, struct diag_list *diag);

#endif

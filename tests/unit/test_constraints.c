/* Declarative constraints (docs/constraints.md): reading them from a Manifest of either format,
 * their patterns, and the states a deployment passes through: an order checked, or derived.
 *
 * The tables are those of the original product description ("Declarative approach to
 * updates"): end states gateway-v1 + rtos-v1 and gateway-v2 + rtos-v2; while moving,
 * gateway-v2 + rtos-v1 yes, gateway-v1 + rtos-v2 no. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "testutil.h"

#include "deploy/deployment.h"
#include "deploy/states.h"
#include "inputs/constraints.h"
#include "inputs/manifest.h"
#include "inputs/yaml.h"
#include "util/diag.h"
#include "util/mem.h"

#define HEAD                   \
    "api_version: mender/v1\n" \
    "kind: manifest\n"         \
    "name: v2\n"               \
    "system_types_compatible: [sys]\n"

#define SEED_TABLES                                \
    "constraints:\n"                               \
    "  end_states:\n"                              \
    "    - {gateway: gateway-v1, rtos: rtos-v1}\n" \
    "    - {gateway: gateway-v2, rtos: rtos-v2}\n" \
    "  transition_states:\n"                       \
    "    - {gateway: gateway-v2, rtos: rtos-v1}\n"

#define SEED_TYPES                             \
    "component_types:\n"                       \
    "  gateway: {artifact_name: gateway-v2}\n" \
    "  rtos: {artifact_name: rtos-v2}\n"

static int load(const char *text, struct manifest *m, struct diag_list *d)
{
    struct yaml_input in = { "m.yaml", text, strlen(text) };
    return manifest_load_input(&in, NULL, m, d);
}

/* Loads a Manifest expected to fail with exactly these errors (NULL-terminated). */
static void expect_errors(const char *text, const char *const *want)
{
    struct diag_list d = { 0 };
    struct manifest m;
    assert_int_equal(load(text, &m, &d), -1);
    test_assert_lines(d.errors, d.nerrors, want);
    diag_free(&d);
}

/* ---- patterns ---------------------------------------------------------------------------- */

static void patterns(void **state)
{
    (void)state;
    assert_true(constraint_pattern_match("rtos-v2", "rtos-v2"));
    assert_false(constraint_pattern_match("rtos-v2", "rtos-v2.1"));
    assert_true(constraint_pattern_match("rtos-v2*", "rtos-v2.1"));
    assert_true(constraint_pattern_match("rtos-v2*", "rtos-v2"));
    assert_false(constraint_pattern_match("rtos-v2*", "rtos-v1"));
    assert_true(constraint_pattern_match("*", ""));
    assert_true(constraint_pattern_match("*-v2", "gateway-v2"));
    assert_true(constraint_pattern_match("a*b*c", "aXbYbZc"));
    assert_false(constraint_pattern_match("a*b*c", "aXbYbZ"));
    assert_true(constraint_pattern_match("**", "x"));
    /* nothing but '*' is special */
    assert_false(constraint_pattern_match("rtos-v?", "rtos-v2"));
    assert_true(constraint_pattern_match("rtos-v[2]", "rtos-v[2]"));
}

/* ---- reading ------------------------------------------------------------------------------- */

static void reads_the_seed_tables(void **state)
{
    (void)state;
    struct diag_list d = { 0 };
    struct manifest m;
    assert_int_equal(load(HEAD SEED_TYPES SEED_TABLES "  requires:\n"
                                                      "    - if: {rtos: [\"rtos-v2*\", rtos-v3]}\n"
                                                      "      then: {gateway: {rootfs-image.version: \"gateway-v2*\"}}\n"
                                                      "  no_rollback: [rtos, rtos]\n",
                          &m, &d),
                     0);
    assert_int_equal(d.nerrors + d.nwarnings, 0);
    const struct constraints *c = &m.constraints;
    assert_true(c->present);
    assert_true(m.derive_order);
    assert_int_equal(c->line, 8);
    assert_int_equal(c->nend, 2);
    assert_int_equal(c->ntransition, 1);
    assert_int_equal(c->nrequires, 1);
    assert_int_equal(c->nrules, 4);
    assert_int_equal(c->end_line, 9);
    assert_int_equal(c->transition_line, 12);
    assert_int_equal(c->no_rollback.n, 1);
    assert_string_equal(c->no_rollback.v[0], "rtos");
    char *s = crule_describe(&c->rules[1]);
    assert_string_equal(s, "end_states[1] {gateway: gateway-v2, rtos: rtos-v2}");
    free(s);
    assert_int_equal(c->rules[1].line, 11);
    assert_int_equal(c->rules[1].col, 7);
    s = crule_describe(&c->rules[3]);
    assert_string_equal(
        s, "requires[0] {if: {rtos: [rtos-v2*, rtos-v3]}, then: {gateway: {rootfs-image.version: gateway-v2*}}}");
    free(s);
    const struct cmatch *g = ccombo_find(&c->rules[3].then, "gateway");
    struct kvlist p = { 0 };
    kvl_set(&p, "rootfs-image.version", "gateway-v2.1");
    assert_true(cmatch_matches(g, "anything", &p));
    kvl_set(&p, "rootfs-image.version", "gateway-v1");
    assert_false(cmatch_matches(g, "gateway-v2", &p));
    kvl_free(&p);
    assert_false(cmatch_matches(g, "gateway-v2", NULL));
    const struct cmatch *r = ccombo_find(&c->rules[3].combo, "rtos");
    assert_true(cmatch_matches(r, "rtos-v3", NULL));
    assert_false(cmatch_matches(r, "rtos-v3.1", NULL));
    assert_false(cmatch_matches(r, NULL, NULL)); /* an unknown version matches only "*" */
    manifest_free(&m);
}

static void order_given_for_every_type_is_checked(void **state)
{
    (void)state;
    struct diag_list d = { 0 };
    struct manifest m;
    assert_int_equal(load(HEAD "component_types:\n"
                               "  gateway: {artifact_name: gateway-v2, update_strategy: {order: 10}}\n"
                               "  rtos: {artifact_name: rtos-v2, update_strategy: {order: 20}}\n" SEED_TABLES,
                          &m, &d),
                     0);
    assert_false(m.derive_order);
    assert_int_equal(m.entries[1].order, 20);
    assert_int_equal(m.entries[1].order_line, 7);
    assert_int_equal(m.entries[1].order_col, 59);
    manifest_free(&m);
}

static void reading_errors(void **state)
{
    (void)state;
    /* unknown keys are errors, not warnings */
    expect_errors(HEAD SEED_TYPES "constraints:\n"
                                  "  end_state:\n"
                                  "    - {gateway: gateway-v1}\n",
                  (const char *const[]){ "m.yaml:9:3: constraints: unknown key \"end_state\" (known: end_states, "
                                         "transition_states, requires, no_rollback)",
                                         NULL });
    expect_errors(HEAD SEED_TYPES "constraints:\n"
                                  "  end_states:\n"
                                  "    - {gatway: gateway-v1, rtos: [rtos-v1, {a: b}]}\n"
                                  "    - {}\n"
                                  "    - gateway-v2\n"
                                  "  transition_states: []\n"
                                  "  requires:\n"
                                  "    - {if: {rtos: rtos-v2}, than: {gateway: gateway-v2}}\n"
                                  "    - {if: {rtos: \"\"}, then: {gateway: {}}}\n"
                                  "  no_rollback: [sensor, {x: y}]\n",
                  (const char *const[]){
                      "m.yaml:10:8: constraints.end_states[0]: \"gatway\" is not a component type of component_types",
                      "m.yaml:10:44: constraints.end_states[0].rtos[1]: expected a pattern (a string), got a mapping",
                      "m.yaml:11:7: constraints.end_states[1]: expected a mapping of component types to versions "
                      "(gateway: gateway-v2), got an empty mapping",
                      "m.yaml:12:7: constraints.end_states[2]: expected a mapping of component types to versions "
                      "(gateway: gateway-v2), got a scalar",
                      "m.yaml:13:22: constraints.transition_states: must not be empty",
                      "m.yaml:15:29: constraints.requires[0]: unknown key \"than\" (known: if, then)",
                      "m.yaml:15:7: constraints.requires[0].then: required field missing",
                      "m.yaml:16:19: constraints.requires[1].if.rtos: a pattern must be a non-empty string without "
                      "control characters",
                      "m.yaml:16:40: constraints.requires[1].then.gateway: must not be empty",
                      "m.yaml:17:17: constraints.no_rollback[0]: \"sensor\" is not a component type of "
                      "component_types",
                      "m.yaml:17:25: constraints.no_rollback[1]: expected a component type, got a mapping", NULL });
    expect_errors(HEAD SEED_TYPES "constraints:\n"
                                  "  transition_states:\n"
                                  "    - {gateway: gateway-v2, rtos: rtos-v1}\n",
                  (const char *const[]){ "m.yaml:9:3: constraints.transition_states: needs end_states: the states a "
                                         "System may pass through are the end states and the transition states; "
                                         "without end_states every state is acceptable",
                                         NULL });
    expect_errors(HEAD SEED_TYPES "constraints: [a]\n",
                  (const char *const[]){ "m.yaml:8:14: constraints: expected a mapping, got a sequence", NULL });
    /* order for some types only */
    expect_errors(HEAD "component_types:\n"
                       "  gateway: {artifact_name: gateway-v2, update_strategy: {order: 10}}\n"
                       "  rtos: {artifact_name: rtos-v2}\n" SEED_TABLES,
                  (const char *const[]){ "m.yaml:7:3: component_types.rtos.update_strategy.order: required field "
                                         "missing: component_types.gateway gives one (line 6); give order for every "
                                         "type (checked against the constraints) or for none (derived from them)",
                                         NULL });
    /* without constraints, order stays required */
    expect_errors(HEAD SEED_TYPES,
                  (const char *const[]){ "m.yaml:6:12: component_types.gateway.update_strategy: required field missing",
                                         "m.yaml:7:9: component_types.rtos.update_strategy: required field missing",
                                         NULL });
}

static void legacy_format(void **state)
{
    (void)state;
    static const char text[] = "api_version: mender/v1\n"
                               "kind: update_manifest\n"
                               "version: v2\n" SEED_TYPES "components:\n"
                               "  - {component_type: gateway, id: G13}\n"
                               "  - {component_type: rtos, id: R456}\n" SEED_TABLES;
    struct diag_list d = { 0 };
    struct manifest m;
    assert_int_equal(load(text, &m, &d), 0);
    assert_int_equal(d.nerrors + d.nwarnings, 0);
    assert_true(m.derive_order);
    assert_int_equal(m.constraints.nend, 2);
    manifest_free(&m);
    expect_errors("api_version: mender/v1\n"
                  "kind: update_manifest\n"
                  "version: v2\n" SEED_TYPES "components:\n"
                  "  - {component_type: gateway, id: G13}\n"
                  "constraints: {requires: [{if: {rtos: x}, then: {gateway: y}, else: {}}]}\n",
                  (const char *const[]){ "m.yaml:9:62: constraints.requires[0]: unknown key \"else\" (known: if, then)",
                                         NULL });
}

/* ---- the states --------------------------------------------------------------------------- */

struct tmem {
    const char *type, *id, *now, *next; /* next NULL: skipped (already runs now) */
    int order;                          /* 0 when derived */
};

/* A prepared deployment of these Components: provides with their version key (and
 * artifact_name) at `now`, the Artifact named `next`. */
static void build(struct deployment *d, const struct tmem *v)
{
    memset(d, 0, sizeof(*d));
    size_t n = 0;
    while (v[n].type)
        n++;
    d->members = xcalloc(n, sizeof(*d->members));
    d->nmembers = n;
    for (size_t i = 0; i < n; i++) {
        struct member *m = &d->members[i];
        member_init(m);
        m->component_type = xstrdup(v[i].type);
        m->id = xstrdup(v[i].id);
        m->interface = xasprintf("%s-if", v[i].type);
        char *key = xasprintf("rootfs-image.%s.version", m->interface);
        kvl_set(&m->provides, key, v[i].now);
        m->selected = v[i].next != NULL;
        m->artifact_name = xstrdup(v[i].next ? v[i].next : v[i].now);
        kvl_set(&m->new_provides, "artifact_name", m->artifact_name);
        kvl_set(&m->new_provides, key, m->artifact_name);
        m->order = v[i].order;
        free(key);
    }
}

/* Loads text, applies its constraints to the deployment of v; returns states_apply's result,
 * the first error in *err (or NULL) and the members' orders in orders. */
static int apply(const char *text, const struct tmem *v, int *orders, char **err, struct states_report *report)
{
    struct diag_list d = { 0 };
    struct manifest m;
    assert_int_equal(load(text, &m, &d), 0);
    struct deployment dep;
    build(&dep, v);
    int rc = states_apply(&m, &dep, report, &d);
    *err = d.nerrors ? xstrdup(d.errors[0]) : NULL;
    for (size_t i = 0; i < dep.nmembers; i++)
        orders[i] = dep.members[i].order;
    deployment_free(&dep);
    manifest_free(&m);
    diag_free(&d);
    return rc;
}

/* states_apply refuses the deployment of v under text with exactly this error. */
static void expect_refused(const char *text, const struct tmem *v, const char *want)
{
    int o[16];
    char *err;
    assert_int_equal(apply(text, v, o, &err, NULL), -1);
    assert_string_equal(err, want);
    free(err);
}

static const struct tmem SEED[] = {
    { "gateway", "G13", "gateway-v1", "gateway-v2", 0 },
    { "rtos", "R456", "rtos-v1", "rtos-v2", 0 },
    { "rtos", "R998", "rtos-v1", "rtos-v2", 0 },
    { 0 },
};

static void seed_derives_the_gateway_first(void **state)
{
    (void)state;
    int o[3];
    char *err;
    struct states_report r = { 0 };
    assert_int_equal(apply(HEAD SEED_TYPES SEED_TABLES, SEED, o, &err, &r), 0);
    assert_null(err);
    assert_int_equal(o[0], 10);
    assert_int_equal(o[1], 20);
    assert_int_equal(o[2], 20);
    assert_true(r.present && r.derived);
    assert_int_equal(r.nforward, 4); /* now, group 10, group 20, end */
    assert_string_equal(r.forward[1].combos[0].text, "gateway-v2 + rtos-v1");
    assert_string_equal(r.forward[1].combos[0].rule, "transition_states[0]");
    assert_int_equal(r.forward[1].combos[0].rule_line, 13);
    /* R456 at rtos-v2 while R998 is still at rtos-v1: both combinations of the gateway */
    assert_int_equal(r.forward[2].ncombos, 1);
    assert_string_equal(r.forward[2].combos[0].text, "gateway-v2 + rtos-v2");
    assert_int_equal(r.nrollbacks, 2);
    assert_int_equal(r.rollbacks[1].nphases, 2);
    assert_true(r.rollbacks[1].at_commit);
    assert_string_equal(r.rollbacks[1].phases[0].combos[0].text, "gateway-v2 + rtos-v1");
    assert_string_equal(r.rollbacks[1].phases[1].combos[0].rule, "current state");
    states_report_free(&r);
}

/* Back from v2 to v1, the same tables put the RTOS first: gateway-v2 + rtos-v1 is the
 * transition state, gateway-v1 + rtos-v2 is not. */
static void seed_derives_the_rtos_first_on_the_way_back(void **state)
{
    (void)state;
    static const struct tmem v[] = {
        { "gateway", "G13", "gateway-v2", "gateway-v1", 0 },
        { "rtos", "R456", "rtos-v2", "rtos-v1", 0 },
        { "rtos", "R998", "rtos-v2", "rtos-v1", 0 },
        { 0 },
    };
    int o[3];
    char *err;
    assert_int_equal(apply(HEAD "component_types:\n"
                                "  gateway: {artifact_name: gateway-v1}\n"
                                "  rtos: {artifact_name: rtos-v1}\n" SEED_TABLES,
                           v, o, &err, NULL),
                     0);
    assert_null(err);
    assert_int_equal(o[0], 20);
    assert_int_equal(o[1], 10);
    assert_int_equal(o[2], 10);
}

static void seed_refuses_the_rtos_first(void **state)
{
    (void)state;
    static const struct tmem v[] = {
        { "gateway", "G13", "gateway-v1", "gateway-v2", 20 },
        { "rtos", "R456", "rtos-v1", "rtos-v2", 10 },
        { "rtos", "R998", "rtos-v1", "rtos-v2", 10 },
        { 0 },
    };
    expect_refused(HEAD "component_types:\n"
                        "  gateway: {artifact_name: gateway-v2, update_strategy: {order: 20}}\n"
                        "  rtos: {artifact_name: rtos-v2, update_strategy: {order: 10}}\n" SEED_TABLES,
                   v,
                   "m.yaml:7:59: component_types.rtos.update_strategy.order: 10: while group 10 (rtos) "
                   "installs, the System can be at gateway-v1 + rtos-v2, which neither "
                   "constraints.end_states (line 9) nor constraints.transition_states (line 12) lists; "
                   "change the order, or leave order out of every type to have it derived from the "
                   "constraints");
}

static void no_rollback_makes_the_seed_unsatisfiable(void **state)
{
    (void)state;
    int o[3];
    char *err;
    expect_refused(HEAD SEED_TYPES SEED_TABLES "  no_rollback: [rtos]\n", SEED,
                   "m.yaml:8:1: constraints: no order of gateway, rtos passes only acceptable states; the "
                   "order that gets furthest (gateway, then rtos): rolling back group 10 (gateway) after a "
                   "failure in group 20 (rtos), the System can be at gateway-v1 + rtos-v2 (rtos in "
                   "constraints.no_rollback: stays new), which neither constraints.end_states (line 9) nor "
                   "constraints.transition_states (line 12) lists; change the constraints (or the "
                   "Artifacts) so that some order is acceptable");
    /* a gateway that cannot roll back leaves gateway-v2 + rtos-v1 behind, which is a transition state */
    struct states_report r = { 0 };
    assert_int_equal(apply(HEAD SEED_TYPES SEED_TABLES "  no_rollback: [gateway]\n", SEED, o, &err, &r), 0);
    assert_null(err);
    assert_int_equal(o[0], 10);
    assert_int_equal(o[1], 20);
    /* after a failure in group 20 the gateway stays new: the last rollback phase changes nothing */
    assert_int_equal(r.rollbacks[1].phases[1].ncombos, 0);
    states_report_free(&r);
}

static void unsatisfiable_end_state(void **state)
{
    (void)state;
    expect_refused(HEAD SEED_TYPES "constraints:\n"
                                   "  end_states:\n"
                                   "    - {gateway: gateway-v1, rtos: rtos-v1}\n"
                                   "    - {gateway: gateway-v2, rtos: rtos-v3}\n",
                   SEED,
                   "m.yaml:9:3: constraints: once every group is installed, the System is at gateway-v2 + "
                   "rtos-v2, which constraints.end_states (line 9) does not list as an end state; list it "
                   "in constraints.end_states, or name Artifacts that make an end state it lists");
}

static void three_types_in_two_groups(void **state)
{
    (void)state;
    static const struct tmem v[] = {
        { "gateway", "G", "gateway-v1", "gateway-v2", 0 },
        { "rtos", "R1", "rtos-v1", "rtos-v2", 0 },
        { "sensor", "S1", "sensor-v1", "sensor-v2", 0 },
        { "camera", "C1", "camera-v1", "camera-v2", 0 }, /* not constrained: joins the first group */
        { 0 },
    };
    int o[4];
    char *err;
    assert_int_equal(apply(HEAD "component_types:\n"
                                "  gateway: {artifact_name: gateway-v2}\n"
                                "  rtos: {artifact_name: rtos-v2}\n"
                                "  sensor: {artifact_name: sensor-v2}\n"
                                "  camera: {artifact_name: camera-v2}\n"
                                "constraints:\n"
                                "  requires:\n"
                                "    - {if: {rtos: \"rtos-v2*\"}, then: {gateway: \"gateway-v2*\"}}\n"
                                "    - {if: {sensor: \"sensor-v2*\"}, then: {gateway: \"gateway-v2*\"}}\n",
                           v, o, &err, NULL),
                     0);
    assert_null(err);
    assert_int_equal(o[0], 10);
    assert_int_equal(o[1], 20);
    assert_int_equal(o[2], 20);
    assert_int_equal(o[3], 10);
    /* a chain: sensor needs the rtos, the rtos needs the gateway: three groups */
    assert_int_equal(apply(HEAD "component_types:\n"
                                "  gateway: {artifact_name: gateway-v2}\n"
                                "  rtos: {artifact_name: rtos-v2}\n"
                                "  sensor: {artifact_name: sensor-v2}\n"
                                "  camera: {artifact_name: camera-v2}\n"
                                "constraints:\n"
                                "  requires:\n"
                                "    - {if: {rtos: \"rtos-v2*\"}, then: {gateway: \"gateway-v2*\"}}\n"
                                "    - {if: {sensor: \"sensor-v2*\"}, then: {rtos: \"rtos-v2*\"}}\n",
                           v, o, &err, NULL),
                     0);
    assert_int_equal(o[0], 10);
    assert_int_equal(o[1], 20);
    assert_int_equal(o[2], 30);
    /* an order breaking a requires rule names it */
    static const struct tmem w[] = {
        { "gateway", "G", "gateway-v1", "gateway-v2", 10 },
        { "rtos", "R1", "rtos-v1", "rtos-v2", 10 },
        { 0 },
    };
    expect_refused(HEAD "component_types:\n"
                        "  gateway: {artifact_name: gateway-v2, update_strategy: {order: 10}}\n"
                        "  rtos: {artifact_name: rtos-v2, update_strategy: {order: 10}}\n"
                        "constraints:\n"
                        "  requires:\n"
                        "    - {if: {rtos: \"rtos-v2*\"}, then: {gateway: \"gateway-v2*\"}}\n",
                   w,
                   "m.yaml:6:65: component_types.gateway.update_strategy.order: 10: while group 10 "
                   "(gateway, rtos) installs, the System can be at gateway-v1 + rtos-v2, which breaks "
                   "constraints.requires[0] {if: {rtos: rtos-v2*}, then: {gateway: gateway-v2*}} (line 10); "
                   "change the order, or leave order out of every type to have it derived from the "
                   "constraints");
}

static void the_current_state_and_skipped_components(void **state)
{
    (void)state;
    /* the System is now in a state the tables forbid (gateway-v1 + rtos-v2 on R998): moving
     * away from it is allowed; R998 is skipped (already at rtos-v2) */
    static const struct tmem v[] = {
        { "gateway", "G13", "gateway-v1", "gateway-v2", 0 },
        { "rtos", "R456", "rtos-v1", "rtos-v2", 0 },
        { "rtos", "R998", "rtos-v2", NULL, 0 },
        { 0 },
    };
    int o[3];
    char *err;
    struct states_report r = { 0 };
    assert_int_equal(apply(HEAD SEED_TYPES SEED_TABLES, v, o, &err, &r), 0);
    assert_null(err);
    assert_int_equal(o[0], 10);
    assert_int_equal(o[1], 20);
    assert_int_equal(o[2], 20);
    assert_int_equal(r.forward[0].ncombos, 2);
    assert_string_equal(r.forward[0].combos[1].text, "gateway-v1 + rtos-v2");
    assert_string_equal(r.forward[0].combos[1].rule, "current state");
    states_report_free(&r);
    /* every Component already there: nothing to order */
    static const struct tmem done[] = {
        { "gateway", "G13", "gateway-v2", NULL, 0 },
        { "rtos", "R456", "rtos-v2", NULL, 0 },
        { 0 },
    };
    assert_int_equal(apply(HEAD SEED_TYPES SEED_TABLES, done, o, &err, NULL), 0);
    assert_int_equal(o[0], 10);
    assert_int_equal(o[1], 10);
}

static void matching_by_provides(void **state)
{
    (void)state;
    int o[3];
    char *err;
    assert_int_equal(apply(HEAD SEED_TYPES "constraints:\n"
                                           "  end_states:\n"
                                           "    - {gateway: \"*-v1\", rtos: {rootfs-image.rtos-if.version: rtos-v1}}\n"
                                           "    - {gateway: \"*-v2\", rtos: {rootfs-image.rtos-if.version: rtos-v2}}\n"
                                           "  transition_states:\n"
                                           "    - {gateway: [gateway-v2, gateway-v3], rtos: \"*\"}\n",
                           SEED, o, &err, NULL),
                     0);
    assert_null(err);
    assert_int_equal(o[0], 10);
    assert_int_equal(o[1], 20);
}

static void too_many_types_to_derive(void **state)
{
    (void)state;
    char text[4096] = HEAD "component_types:\n";
    char rules[2048] = "constraints:\n  requires:\n";
    struct tmem v[11] = { { 0 } };
    int o[10];
    char *err;
    static const char *const names[] = { "t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8" };
    for (int i = 0; i < 9; i++) {
        size_t len = strlen(text);
        snprintf(text + len, sizeof(text) - len, "  %s: {artifact_name: %s-v2}\n", names[i], names[i]);
        len = strlen(rules);
        snprintf(rules + len, sizeof(rules) - len, "    - {if: {%s: \"*-v2\"}, then: {%s: \"*\"}}\n", names[i],
                 names[i]);
        v[i] = (struct tmem){ names[i], "x", "v1", "v2", 0 };
    }
    strcat(text, rules);
    expect_refused(text, v,
                   "m.yaml:15:1: constraints: more than 8 component types named by the constraints have "
                   "Components to update: too many to derive their order; give update_strategy.order for "
                   "every type (it is then checked against the constraints)");
    /* 8 are derived, and rules that forbid nothing give one group */
    v[8] = (struct tmem){ 0 };
    assert_int_equal(apply(HEAD "component_types:\n"
                                "  t0: {artifact_name: t0-v2}\n  t1: {artifact_name: t1-v2}\n"
                                "  t2: {artifact_name: t2-v2}\n  t3: {artifact_name: t3-v2}\n"
                                "  t4: {artifact_name: t4-v2}\n  t5: {artifact_name: t5-v2}\n"
                                "  t6: {artifact_name: t6-v2}\n  t7: {artifact_name: t7-v2}\n"
                                "constraints:\n  requires:\n"
                                "    - {if: {t0: \"*\"}, then: {t1: \"*\", t2: \"*\", t3: \"*\", t4: \"*\", t5: \"*\", "
                                "t6: \"*\", t7: \"*\"}}\n",
                           v, o, &err, NULL),
                     0);
    for (int i = 0; i < 8; i++)
        assert_int_equal(o[i], 10);
}

/* Eight types that must each go alone, in a chain t7 < t6 < ... < t0: the search's worst
 * realistic case (every shorter order is tried first). */
static void a_chain_of_eight(void **state)
{
    (void)state;
    char text[4096] = HEAD "component_types:\n";
    struct tmem v[9] = { { 0 } };
    static const char *const names[] = { "t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7" };
    for (int i = 0; i < 8; i++) {
        size_t len = strlen(text);
        snprintf(text + len, sizeof(text) - len, "  %s: {artifact_name: v2}\n", names[i]);
        v[i] = (struct tmem){ names[i], "x", "v1", "v2", 0 };
    }
    strcat(text, "constraints:\n  requires:\n");
    for (int i = 0; i < 7; i++) {
        size_t len = strlen(text);
        snprintf(text + len, sizeof(text) - len, "    - {if: {%s: v2}, then: {%s: v2}}\n", names[i], names[i + 1]);
    }
    int o[8];
    char *err;
    assert_int_equal(apply(text, v, o, &err, NULL), 0);
    assert_null(err);
    for (int i = 0; i < 8; i++)
        assert_int_equal(o[i], 10 * (8 - i));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(patterns),
        cmocka_unit_test(reads_the_seed_tables),
        cmocka_unit_test(order_given_for_every_type_is_checked),
        cmocka_unit_test(reading_errors),
        cmocka_unit_test(legacy_format),
        cmocka_unit_test(seed_derives_the_gateway_first),
        cmocka_unit_test(seed_derives_the_rtos_first_on_the_way_back),
        cmocka_unit_test(seed_refuses_the_rtos_first),
        cmocka_unit_test(no_rollback_makes_the_seed_unsatisfiable),
        cmocka_unit_test(unsatisfiable_end_state),
        cmocka_unit_test(three_types_in_two_groups),
        cmocka_unit_test(the_current_state_and_skipped_components),
        cmocka_unit_test(matching_by_provides),
        cmocka_unit_test(too_many_types_to_derive),
        cmocka_unit_test(a_chain_of_eight),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

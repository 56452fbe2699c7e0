/* Preparation of a deployment, shared by `plan` and `install` (docs/state-machine.md):
 * Manifest and Topology (or the legacy list), signature keys, every Component's
 * Identity and Provides, Artifact selection and the plan hash. No state is called and
 * nothing is written. */
#ifndef MO_PREPARE_H
#define MO_PREPARE_H

#include <stdbool.h>
#include <stddef.h>

#include "deploy/deployment.h"
#include "deploy/states.h"
#include "iface/runner.h"
#include "inputs/config.h"
#include "inputs/manifest.h"
#include "inputs/topology.h"
#include "util/cleanup.h"
#include "util/diag.h"

/* What the command line says about the release to prepare. */
struct prepare_opts {
    const char *manifest_path;       /* the Manifest file; required */
    const char *topology_path;       /* instead of the configured Topology (plan, check), or NULL */
    const char *manifest_components; /* legacy: the Manifest's components list file, or NULL */
    struct iface_env env;            /* how Identity and Provides are asked (not used by the loading) */
    /* `install` only: RebootCommand must name an executable (unless exit_on_reboot), and
     * local files on a RAM file system get a warning (lost at a System-device reboot) */
    bool install;
    bool exit_on_reboot;
};

/* A release as read from disk: the Manifest and the Components it applies to. */
struct prepare_inputs {
    struct manifest manifest;
    struct topology topology; /* filled when have_topology */
    bool have_topology;
};

/* Loads the Manifest and the Components it applies to: for the current format the
 * Topology (o->topology_path, or the configured location) cross-checked with the
 * Manifest; for the legacy format the Manifest's own list. Everything found is added to
 * diag. in (zeroed by the caller) is filled as far as loading got, even on failure.
 * Returns 0 when no error was found, else -1. The caller frees in with
 * prepare_inputs_free. */
MO_MUST_CHECK int prepare_load_inputs(const struct prepare_opts *o, const struct config *cfg, struct prepare_inputs *in,
                                      struct diag_list *diag);
void prepare_inputs_free(struct prepare_inputs *in);

/* The Components of a loaded release: the Topology's, or the legacy Manifest's list. */
const struct component_def *prepare_inputs_components(const struct prepare_inputs *in, size_t *n);

/* Fills d (zeroed by the caller): the Manifest fields (name, absolute path and
 * directory, text, format), the Topology snapshot, one member per Component with its
 * selection and order (derived from the Manifest's constraints when it gives none, else
 * checked against them: docs/constraints.md), and plan_hash. d is filled as far as
 * preparation got, even on failure (manifest_path always). states (NULL, or zeroed by the
 * caller; freed with states_report_free) receives the states the deployment can pass
 * through, for `plan`. Returns 0 when install may proceed, -1 with every error found in
 * diag. The caller frees d with deployment_free. */
MO_MUST_CHECK int prepare_deployment(const struct prepare_opts *o, const struct config *cfg, struct deployment *d,
                                     struct states_report *states, struct diag_list *diag);

/* The raw text of the Topology files as read now: the main file, and for a separate
 * components file (docs/manifest.md) a second YAML document "---" introduced by a comment naming
 * it. NULL (with a reason in diag) if a file cannot be read. Caller frees. */
MO_MUST_CHECK char *prepare_topology_snapshot(const struct topology *t, struct diag_list *diag);

#endif

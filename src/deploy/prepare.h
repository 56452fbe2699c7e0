/* Preparation of a deployment, shared by `plan` and `install` (orchestrator.md §6.1):
 * Manifest and Topology (or the legacy list), signature keys, every Component's
 * Identity and Provides, Artifact selection and the plan hash. No state is called and
 * nothing is written. */
#ifndef MO_PREPARE_H
#define MO_PREPARE_H

#include "cli/cli.h"
#include "deploy/deployment.h"
#include "inputs/config.h"
#include "inputs/topology.h"
#include "util/diag.h"

/* Fills d (zeroed by the caller): the Manifest fields (name, absolute path and
 * directory, text, format), the Topology snapshot, one member per Component with its
 * selection, and plan_hash. Uses args->topology (plan, check) when set, else the
 * configured Topology, and args->manifest_components. d is filled as far as preparation
 * got, even on failure (manifest_path always). Returns 0 when install may proceed, -1
 * with every error found in diag. The caller frees d with deployment_free. */
int prepare_deployment(const struct cli_args *args, const struct config *cfg, const char *manifest_path,
                       struct deployment *d, struct diag_list *diag);

/* The raw text of the Topology files as read now: the main file, and for a separate
 * components file (§3.3) a second YAML document "---" introduced by a comment naming
 * it. NULL (with a reason in diag) if a file cannot be read. Caller frees. */
char *prepare_topology_snapshot(const struct topology *t, struct diag_list *diag);

#endif

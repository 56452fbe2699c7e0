/* Preparation of a deployment (orchestrator.md §5, §6.1): validation, the Components'
 * answers, Artifact selection for every Component before anything is modified. */
#ifndef MO_SELECT_H
#define MO_SELECT_H

#include "artifact/artifact.h"
#include "components.h"
#include "engine/deployment.h"
#include "inputs/config.h"
#include "inputs/manifest.h"
#include "util/diag.h"

/* Selects an Artifact for every Component of set (defs in the order given) per the
 * Manifest: fills d->members (one per Component, skipped ones with selected=false).
 * Any Component without a candidate is an error in d (naming it and why). keys: the
 * signature policy (NULL = ignore signatures). Returns 0 or -1. */
int select_artifacts(const struct config *cfg, const struct manifest *m, const struct component_set *set,
                     bool legacy, const struct artifact_keys *keys, struct deployment *d, struct diag_list *diag);

/* The version key a Component's Provides must hold: "rootfs-image.<I>.version", or
 * "rootfs-image.version" for the System device. True if p holds one. */
bool select_has_version_key(const struct kvlist *p, const char *interface);

#endif

/* Preparation of a deployment (docs/selection.md, docs/state-machine.md): validation, the Components'
 * answers, Artifact selection for every Component before anything is modified. */
#ifndef MO_SELECT_H
#define MO_SELECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "artifact/artifact.h"
#include "deploy/deployment.h"
#include "inputs/config.h"
#include "inputs/manifest.h"
#include "system/components.h"
#include "util/cleanup.h"
#include "util/diag.h"

/* Selects an Artifact for every Component of set (defs in the order given) per the
 * Manifest: fills d->members (one per Component, skipped ones with selected=false).
 * Any Component without a candidate is an error in d (naming it and why). keys: the
 * signature policy (NULL = ignore signatures). Returns 0 or -1. */
MO_MUST_CHECK int select_artifacts(const struct config *cfg, const struct manifest *m, const struct component_set *set,
                                   bool legacy, const struct artifact_keys *keys, struct deployment *d,
                                   struct diag_list *diag);

/* When entry e of Manifest m names an artifact_name that differs from the name inside the
 * Artifact found at its artifact_path (artifact_name, as read from that file): adds the
 * error to diag, at e's artifact_name, and returns -1. Else 0. `install`, `plan` and
 * `check` refuse such an entry alike. */
int select_check_name(const struct manifest *m, const struct manifest_entry *e, const char *artifact_name,
                      struct diag_list *diag);

/* The version key a Component's Provides must hold: "rootfs-image.<I>.version", or
 * "rootfs-image.version" for the System device. True if p holds one. */
bool select_has_version_key(const struct kvlist *p, const char *interface);

/* The installed version shown for a Component: the value of its version key
 * ("rootfs-image.<I>.version" preferred over "rootfs-image.version"), or NULL. */
const char *select_current_version(const struct kvlist *p, const char *interface);

/* One candidate Artifact of a Component, for the final pick (docs/selection.md, "Pick"). */
struct select_candidate {
    const char *file; /* file name (base name of a local file, or a repository file) */
    uint64_t size;    /* file size in bytes */
};

/* Index of the candidate to install: the smallest by size (a delta beats a full image),
 * ties broken by the bytewise smallest file name, then by position. -1 when n == 0. */
long select_pick_smallest(const struct select_candidate *c, size_t n);

#endif

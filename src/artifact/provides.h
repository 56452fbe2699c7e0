/* Provides, depends and clears rules (docs/artifact-format.md, docs/selection.md). */
#ifndef MO_PROVIDES_H
#define MO_PROVIDES_H

#include <stdbool.h>

#include "artifact/artifact.h"
#include "util/strv.h"

/* clears_artifact_provides pattern match: '*' = any run of characters, nothing else special. */
bool provides_pattern_match(const char *pattern, const char *key);

/* The Artifact's own provides: artifact_name, artifact_group (if set), type-info provides. */
void provides_of_artifact(const struct artifact_info *a, struct kvlist *out);

/* The provides of a Component with provides `cur` after installing `a` (docs/artifact-format.md). */
void provides_apply(const struct kvlist *cur, const struct artifact_info *a, struct kvlist *out);

/* "Already installed": applying `a` changes nothing, artifact_name left out of the
 * comparison unless it is the only key on either side (docs/selection.md). */
bool provides_installed(const struct kvlist *cur, const struct artifact_info *a);

/* Depends match for a Component of type component_type with provides `cur`:
 * device_type against component_type, every other key against cur. On mismatch,
 * returns false and (if why != NULL) a malloc'ed one-line reason. */
bool provides_depends_match(const struct artifact_info *a, const char *component_type, const struct kvlist *cur,
                            char **why);

/* The Artifact can be installed on component_type at all (device_type depends). */
bool provides_compatible(const struct artifact_info *a, const char *component_type);

#endif

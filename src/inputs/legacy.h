/* Private to src/inputs: the legacy 2024 update_manifest reader (docs/manifest.md)
 * and the component_types and constraints parsers it shares with the current format. */
#ifndef MO_LEGACY_H
#define MO_LEGACY_H

#include <stdbool.h>

#include "inputs/constraints.h"
#include "inputs/manifest.h"
#include "inputs/yaml.h"
#include "util/diag.h"

/* Parses root's component_types into m->entries (legacy: update_interface is
 * allowed, defaulting to the type, and validated), then root's constraints into
 * m->constraints (docs/constraints.md). With constraints, update_strategy.order may be
 * left out of every entry (m->derive_order): the order is then derived from them. m->dir
 * must be set to resolve artifact_path. Errors go to d. */
void manifest_parse_entries(const struct ydoc *doc, const struct ynode *root, bool legacy, struct manifest *m,
                            struct diag_list *d);

/* Reads root's constraints key, if any, into c (src/inputs/constraints.c); the component
 * types it names must be keys of root's component_types. Errors go to d. */
void constraints_parse(const struct ydoc *doc, const struct ynode *root, struct constraints *c, struct diag_list *d);

/* Reads the rest of a kind: update_manifest document whose api_version and kind
 * were checked by manifest_load: version, component_types and the components
 * list, from the Manifest or from components (--manifest-components; NULL if not given). */
void legacy_manifest_parse(const struct ydoc *doc, const struct ynode *root, const struct yaml_input *components,
                           struct manifest *m, struct diag_list *d);

#endif

/* Manifest 1.0 and the legacy 2024 update_manifest (docs/manifest.md). */
#ifndef MO_MANIFEST_H
#define MO_MANIFEST_H

#include <stddef.h>

#include "inputs/constraints.h"
#include "inputs/topology.h"
#include "util/diag.h"
#include "util/strv.h"

enum manifest_format { MANIFEST_CURRENT, MANIFEST_LEGACY };

struct manifest_entry {
    char *component_type;
    char *artifact_name;       /* NULL if absent */
    char *artifact_path;       /* as written, NULL if absent */
    char *artifact_abspath;    /* artifact_path resolved against the Manifest's directory */
    int order;                 /* 1..100; 0 when left out (m->derive_order) */
    int order_line, order_col; /* of the order value (0 when absent) */
    char *update_interface;    /* legacy only, NULL if absent */
    int line, col;             /* of the component_types key */
    int name_line, name_col;   /* of the artifact_name value (0 when absent) */
};

struct manifest {
    enum manifest_format format;
    char *path;                          /* as given */
    char *dir;                           /* absolute directory of the Manifest file */
    char *name;                          /* current: name; legacy: version */
    struct strv system_types_compatible; /* current format only */
    struct manifest_entry *entries;
    size_t nentries;
    /* Legacy only: the components list (from the Manifest or --manifest-components). */
    struct component_def *components;
    size_t ncomponents;
    char *text; /* raw bytes of the Manifest file */
    size_t text_len;
    /* Positions for messages (0 when absent): the component_types and
     * system_types_compatible keys. */
    int types_line, types_col;
    int stc_line, stc_col;
    /* The constraints (docs/constraints.md); constraints.present false when the Manifest
     * has none. derive_order: no entry gives update_strategy.order, so the order groups are
     * derived from the constraints (src/deploy/states.c). */
    struct constraints constraints;
    bool derive_order;
};

/* Reads and validates a Manifest of either format. components_path is the legacy
 * --manifest-components file (NULL if not given; an error with a current-format
 * Manifest). Returns 0 when no error was found, -1 otherwise. */
int manifest_load(const char *path, const char *components_path, struct manifest *out, struct diag_list *d);
/* The same from inputs that may be held in memory (see struct yaml_input);
 * components may be NULL. m->dir is still the real directory of file->path. */
struct yaml_input;
int manifest_load_input(const struct yaml_input *file, const struct yaml_input *components, struct manifest *out,
                        struct diag_list *d);
void manifest_free(struct manifest *m);

/* Reads a legacy --manifest-components file on its own (api_version and kind:
 * update_manifest optional, components: required) for the show-* commands: fills
 * out->components (format MANIFEST_LEGACY, path, dir, text; no entries, so each
 * Component's interface is its component_type). Returns 0 or -1 (out freed). */
int legacy_components_load(const char *path, struct manifest *out, struct diag_list *d);
int legacy_components_load_input(const struct yaml_input *file, struct manifest *out, struct diag_list *d);

/* Cross-checks a current-format Manifest against a Topology: every Topology
 * component_type needs an entry (error); entries for unknown types and a system_type
 * missing from system_types_compatible are warnings. Returns 0 or -1. */
int manifest_check_topology(const struct manifest *m, const struct topology *t, struct diag_list *d);

const struct manifest_entry *manifest_find(const struct manifest *m, const char *component_type);

#endif

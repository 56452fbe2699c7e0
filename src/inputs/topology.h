/* Topology 1.0 (docs/manifest.md): the Components of the System and their Interfaces. */
#ifndef MO_TOPOLOGY_H
#define MO_TOPOLOGY_H

#include <stddef.h>

#include "util/diag.h"
#include "util/strv.h"

/* One Component as listed in a Topology (or, for a legacy Manifest, in its components list). */
struct component_def {
    char *component_type;
    char *interface;  /* explicit or defaulted to component_type (legacy: update_interface) */
    struct strv args; /* interface_args (legacy: args), YAML text of each scalar */
    char *id;         /* legacy Manifests only; NULL in the current format (Identity decides) */
    char *file;       /* file and position of the list item, for messages */
    int line, col;
};

struct topology {
    char *path;            /* main file as given */
    char *components_path; /* separate components file, or NULL */
    char *system_type;
    struct component_def *components;
    size_t ncomponents;
};

/* Reads and validates the Topology at path; components_path (may be NULL) names the
 * separate components file (docs/manifest.md). Errors and warnings go to d. Returns 0 when no
 * error was found, -1 otherwise (out is then freed). */
int topology_load(const char *path, const char *components_path, struct topology *out, struct diag_list *d);
/* The same from inputs that may be held in memory (see struct yaml_input);
 * components may be NULL. */
struct yaml_input;
int topology_load_input(const struct yaml_input *file, const struct yaml_input *components, struct topology *out,
                        struct diag_list *d);
void topology_free(struct topology *t);
void component_def_free(struct component_def *c);

/* Interface names: one path component of [A-Za-z0-9._-], not "." or "..". */
int interface_name_valid(const char *name);

/* Component ids (an Identity answer, a legacy Manifest's id): 1 to COMPONENT_ID_MAX
 * characters of COMPONENT_ID_CHARS, not starting with a dot, so that the
 * "<component_type>.<id>.<key>=<value>" lines of show-provides and show-inventory stay
 * one line each, split at the first '=' (docs/protocol.md, Identity). */
#define COMPONENT_ID_MAX 64
#define COMPONENT_ID_CHARS "A-Z a-z 0-9 . _ : @ + -"
int component_id_valid(const char *id);

#endif

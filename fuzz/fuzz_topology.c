/* libFuzzer harness: the Topology reader (src/inputs/topology.c over yaml.c).
 * Each input is read as the main topology.yaml, then as a separate components
 * file next to a fixed main file without components (docs/manifest.md). */
#include <string.h>

#include "harness.h"
#include "inputs/topology.h"
#include "inputs/yaml.h"

static void check_topology(const struct topology *t)
{
    FUZZ_ASSERT(t->ncomponents > 0);
    for (size_t i = 0; i < t->ncomponents; i++) {
        const struct component_def *c = &t->components[i];
        FUZZ_ASSERT(c->component_type && c->component_type[0]);
        FUZZ_ASSERT(interface_name_valid(c->interface));
        for (size_t j = 0; j < c->args.n; j++)
            FUZZ_ASSERT(c->args.v[j] != NULL);
    }
}

static void one(const struct yaml_input *file, const struct yaml_input *components)
{
    struct topology t;
    struct diag_list d = { 0 };
    int rc = topology_load_input(file, components, &t, &d);
    if (rc == 0) {
        check_topology(&t);
        topology_free(&t);
    }
    fuzz_check_diags(rc, &d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char main_text[] = "api_version: mender/v1\nkind: topology\nsystem_type: fuzz\n";
    struct yaml_input in = { .path = "topology.yaml", .text = (const char *)data, .len = size };
    one(&in, NULL);
    struct yaml_input file = { .path = "topology.yaml", .text = main_text, .len = strlen(main_text) };
    in.path = "components.yaml";
    one(&file, &in);
    return 0;
}

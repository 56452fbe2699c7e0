/* libFuzzer harness: the legacy 2024 Manifest (kind: update_manifest,
 * src/inputs/legacy.c). Each input is read as a whole Manifest, as the
 * --manifest-components file of a fixed Manifest without components, and on its
 * own as show-provides reads that file. */
#include <string.h>

#include "harness.h"
#include "inputs/manifest.h"
#include "inputs/topology.h"
#include "inputs/yaml.h"

static void check_components(const struct manifest *m)
{
    for (size_t i = 0; i < m->ncomponents; i++) {
        const struct component_def *c = &m->components[i];
        FUZZ_ASSERT(c->component_type && c->component_type[0]);
        FUZZ_ASSERT(c->id && c->id[0]);
        FUZZ_ASSERT(interface_name_valid(c->interface));
        for (size_t j = 0; j < i; j++)
            FUZZ_ASSERT(strcmp(m->components[j].component_type, c->component_type) != 0 ||
                        strcmp(m->components[j].id, c->id) != 0);
    }
}

static void one(const struct yaml_input *file, const struct yaml_input *components)
{
    struct manifest m;
    struct diag_list d = { 0 };
    int rc = manifest_load_input(file, components, &m, &d);
    if (rc == 0) {
        FUZZ_ASSERT(m.name && m.name[0] && m.nentries > 0);
        if (m.format == MANIFEST_LEGACY)
            FUZZ_ASSERT(m.ncomponents > 0);
        check_components(&m);
        manifest_free(&m);
    }
    fuzz_check_diags(rc, &d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char main_text[] = "api_version: mender/v1\n"
                                    "kind: update_manifest\n"
                                    "version: fuzz-1\n"
                                    "component_types:\n"
                                    "  rtos:\n"
                                    "    artifact_path: rtos.mender\n"
                                    "    update_strategy: {order: 1}\n"
                                    "    update_interface: rtos-interface\n"
                                    "  gateway:\n"
                                    "    artifact_name: gw-1\n"
                                    "    update_strategy: {order: 2}\n";
    struct yaml_input in = { .path = "manifest.yaml", .text = (const char *)data, .len = size };
    one(&in, NULL);

    struct yaml_input file = { .path = "manifest.yaml", .text = main_text, .len = strlen(main_text) };
    in.path = "components.yaml";
    one(&file, &in);

    struct manifest m;
    struct diag_list d = { 0 };
    int rc = legacy_components_load_input(&in, &m, &d);
    if (rc == 0) {
        FUZZ_ASSERT(m.ncomponents > 0);
        check_components(&m);
        manifest_free(&m);
    }
    fuzz_check_diags(rc, &d);
    return 0;
}

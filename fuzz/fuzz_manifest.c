/* libFuzzer harness: the Manifest reader (src/inputs/manifest.c, both formats),
 * then its cross-check against a fixed Topology as `check` and `install` do. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "inputs/manifest.h"
#include "inputs/topology.h"
#include "inputs/yaml.h"

static struct topology topo;

static void check_manifest(const struct manifest *m)
{
    FUZZ_ASSERT(m->name && m->name[0]);
    FUZZ_ASSERT(m->nentries > 0);
    for (size_t i = 0; i < m->nentries; i++) {
        const struct manifest_entry *e = &m->entries[i];
        FUZZ_ASSERT(e->component_type && e->component_type[0]);
        FUZZ_ASSERT(e->artifact_name || e->artifact_path);
        FUZZ_ASSERT(!e->artifact_path || e->artifact_abspath);
        /* with constraints, order is given for every type or for none (docs/constraints.md) */
        FUZZ_ASSERT(m->derive_order ? e->order == 0 : e->order >= 1 && e->order <= 100);
        FUZZ_ASSERT(manifest_find(m, e->component_type) != NULL);
    }
    FUZZ_ASSERT(!m->derive_order || m->constraints.present);
    const struct constraints *c = &m->constraints;
    FUZZ_ASSERT(c->nrules == c->nend + c->ntransition + c->nrequires);
    FUZZ_ASSERT(!c->present || c->nend || c->nrequires);
    for (size_t i = 0; i < c->nrules; i++) {
        const struct crule *r = &c->rules[i];
        FUZZ_ASSERT(r->combo.n > 0 && (r->kind != CRULE_REQUIRES || r->then.n > 0));
        for (size_t k = 0; k < r->combo.n; k++)
            FUZZ_ASSERT(manifest_find(m, r->combo.m[k].component_type) != NULL);
        char *desc = crule_describe(r);
        FUZZ_ASSERT(strchr(desc, '\n') == NULL);
        free(desc);
    }
    if (m->format == MANIFEST_CURRENT)
        FUZZ_ASSERT(m->system_types_compatible.n > 0);
    for (size_t i = 0; i < m->ncomponents; i++)
        FUZZ_ASSERT(interface_name_valid(m->components[i].interface));
}

void fuzz_setup(void)
{
    static const char text[] = "api_version: mender/v1\n"
                               "kind: topology\n"
                               "system_type: system-core\n"
                               "components:\n"
                               "  - component_type: gateway\n"
                               "    interface: rootfs-image\n"
                               "  - component_type: rtos\n"
                               "    interface: rtos-interface\n"
                               "    interface_args: [\"1\"]\n";
    struct yaml_input in = { .path = "topology.yaml", .text = text, .len = strlen(text) };
    struct diag_list d = { 0 };
    if (topology_load_input(&in, NULL, &topo, &d) != 0)
        abort();
    diag_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct yaml_input in = { .path = "manifest.yaml", .text = (const char *)data, .len = size };
    struct manifest m;
    struct diag_list d = { 0 };
    int rc = manifest_load_input(&in, NULL, &m, &d);
    if (rc == 0) {
        check_manifest(&m);
        FUZZ_ASSERT(m.text_len == size && memcmp(m.text, data, size) == 0);
        rc = manifest_check_topology(&m, &topo, &d);
        manifest_free(&m);
    }
    fuzz_check_diags(rc, &d);
    return 0;
}

/* Manifest reader: current format and legacy (docs/manifest.md). */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "inputs/manifest.h"
#include "inputs/topology.h"
#include "util/diag.h"
#include "util/fs.h"
#include "util/mem.h"

static int to_data_dir(void **state)
{
    (void)state;
    const char *dir = getenv("MO_TEST_DATA");
    return dir && chdir(dir) == 0 ? 0 : -1;
}

static size_t count(const char *const *v)
{
    size_t n = 0;
    while (v[n])
        n++;
    return n;
}

static void assert_lines(char **got, size_t ngot, const char *const *want)
{
    size_t n = count(want);
    for (size_t i = 0; i < ngot && i < n; i++)
        assert_string_equal(got[i], want[i]);
    assert_int_equal(ngot, n);
    for (size_t i = 0; i < ngot; i++)
        assert_null(strchr(got[i], '\n'));
}

/* Loads a Manifest expected to fail and checks the exact errors and warnings. */
static void expect_fail(const char *path, const char *comps, const char *const *errors, const char *const *warnings)
{
    struct diag_list d = { 0 };
    struct manifest m;
    assert_int_equal(manifest_load(path, comps, &m, &d), -1);
    assert_null(m.entries);
    assert_null(m.components);
    assert_null(m.text);
    assert_lines(d.errors, d.nerrors, errors);
    if (warnings)
        assert_lines(d.warnings, d.nwarnings, warnings);
    diag_free(&d);
}

static const char *const NONE[] = { NULL };

static char *cwd_join(const char *name)
{
    char *cwd = getcwd(NULL, 0);
    char *real = realpath(cwd, NULL);
    char *p = fs_join(real, name);
    free(cwd);
    free(real);
    return p;
}

static void current_manifest(void **state)
{
    (void)state;
    struct diag_list d = { 0 };
    struct manifest m;
    assert_int_equal(manifest_load("manifest-ok.yaml", NULL, &m, &d), 0);
    assert_int_equal(d.nerrors + d.nwarnings, 0);
    assert_int_equal(m.format, MANIFEST_CURRENT);
    assert_string_equal(m.path, "manifest-ok.yaml");
    char *dir = cwd_join(".");
    dir[strlen(dir) - 2] = '\0'; /* strip "/." */
    assert_string_equal(m.dir, dir);
    free(dir);
    assert_string_equal(m.name, "system-core-v2");
    assert_int_equal(m.system_types_compatible.n, 2);
    assert_string_equal(m.system_types_compatible.v[1], "system-core-b");
    assert_int_equal(m.nentries, 3);
    assert_int_equal(m.ncomponents, 0);

    const struct manifest_entry *g = manifest_find(&m, "gateway");
    assert_ptr_equal(g, &m.entries[0]);
    assert_string_equal(g->artifact_name, "gateway-v2");
    assert_null(g->artifact_path);
    assert_null(g->artifact_abspath);
    assert_int_equal(g->order, 10);
    assert_null(g->update_interface);
    assert_int_equal(g->line, 6);
    assert_int_equal(g->col, 3);

    /* a relative artifact_path is resolved against the Manifest's directory */
    const struct manifest_entry *r = manifest_find(&m, "rtos");
    assert_string_equal(r->artifact_path, "rtos-v2.mender");
    char *abs = cwd_join("rtos-v2.mender");
    assert_string_equal(r->artifact_abspath, abs);
    free(abs);
    assert_string_equal(r->artifact_name, "rtos-v2");
    assert_int_equal(r->order, 20);

    /* an absolute one is kept; order 0x14 is a YAML integer */
    const struct manifest_entry *s = manifest_find(&m, "dsp");
    assert_string_equal(s->artifact_abspath, "/opt/images/dsp-v2.mender");
    assert_null(s->artifact_name);
    assert_int_equal(s->order, 20);
    assert_null(manifest_find(&m, "modem"));

    /* the raw text is kept */
    char *raw;
    size_t len;
    assert_int_equal(fs_read_file("manifest-ok.yaml", 1 << 20, &raw, &len), 0);
    assert_int_equal(m.text_len, len);
    assert_memory_equal(m.text, raw, len);
    free(raw);
    manifest_free(&m);
    manifest_free(&m); /* idempotent */
}

static void relative_path_from_another_directory(void **state)
{
    (void)state;
    char tmpl[] = "/tmp/mo-test-manifest-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    char *sub = xasprintf("%s/bundle", tmpl);
    assert_int_equal(mkdir(sub, 0755), 0);
    char *path = xasprintf("%s/manifest.yaml", sub);
    static const char text[] =
        "api_version: mender/v1\nkind: manifest\nname: n\nsystem_types_compatible: [s]\n"
        "component_types:\n  a: {artifact_path: ../images/a.mender, update_strategy: {order: 1}}\n";
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);

    struct diag_list d = { 0 };
    struct manifest m;
    assert_int_equal(manifest_load(path, NULL, &m, &d), 0);
    char *real = realpath(sub, NULL);
    char *want = xasprintf("%s/../images/a.mender", real);
    assert_string_equal(m.dir, real);
    assert_string_equal(m.entries[0].artifact_abspath, want);
    manifest_free(&m);
    free(want);
    free(real);

    /* given as a relative path from elsewhere: still the file's own directory */
    char *cwd = getcwd(NULL, 0);
    assert_int_equal(chdir(tmpl), 0);
    assert_int_equal(manifest_load("bundle/manifest.yaml", NULL, &m, &d), 0);
    assert_string_equal(m.path, "bundle/manifest.yaml");
    real = realpath(sub, NULL);
    assert_string_equal(m.dir, real);
    manifest_free(&m);
    free(real);
    assert_int_equal(chdir(cwd), 0);
    free(cwd);

    unlink(path);
    rmdir(sub);
    rmdir(tmpl);
    free(path);
    free(sub);
    diag_free(&d);
}

static void required_fields_and_types(void **state)
{
    (void)state;
    expect_fail("manifest-missing-fields.yaml", NULL,
                (const char *const[]){
                    "manifest-missing-fields.yaml:1:1: name: required field missing",
                    "manifest-missing-fields.yaml:1:1: system_types_compatible: required field missing",
                    "manifest-missing-fields.yaml:1:1: component_types: required field missing", NULL },
                NONE);
    expect_fail("manifest-wrong-types.yaml", NULL,
                (const char *const[]){
                    "manifest-wrong-types.yaml:3:7: name: expected a string, got a sequence",
                    "manifest-wrong-types.yaml:4:26: system_types_compatible: expected a sequence, got a scalar",
                    "manifest-wrong-types.yaml:6:3: component_types: expected a mapping, got a sequence", NULL },
                NONE);
    expect_fail(
        "manifest-stc-items.yaml", NULL,
        (const char *const[]){
            "manifest-stc-items.yaml:4:40: system_types_compatible[1]: expected a string, got a sequence",
            "manifest-stc-items.yaml:4:50: system_types_compatible[2]: must be a non-empty string without control characters",
            "manifest-stc-items.yaml:6:12: component_types.gateway: expected a mapping, got a sequence",
            "manifest-stc-items.yaml:7:3: component_types.rtos: expected a mapping, got null", NULL },
        NONE);
    expect_fail("manifest-kind-bad.yaml", NULL,
                (const char *const[]){
                    "manifest-kind-bad.yaml:2:7: kind: \"Manifest\": expected \"manifest\" or \"update_manifest\"",
                    NULL },
                NONE);
    expect_fail("no-such-manifest.yaml", NULL,
                (const char *const[]){ "no-such-manifest.yaml: cannot read: No such file or directory", NULL }, NONE);
}

static void order_must_be_a_yaml_integer_1_to_100(void **state)
{
    (void)state;
    expect_fail(
        "manifest-order.yaml", NULL,
        (const char *const[]){
            "manifest-order.yaml:9:14: component_types.a.update_strategy.order: \"10\": must be an integer from 1 to 100",
            "manifest-order.yaml:13:14: component_types.b.update_strategy.order: 10.0: must be an integer from 1 to 100",
            "manifest-order.yaml:16:30: component_types.c.update_strategy.order: 0: must be an integer from 1 to 100",
            "manifest-order.yaml:19:30: component_types.d.update_strategy.order: 101: must be an integer from 1 to 100",
            "manifest-order.yaml:22:22: component_types.e.update_strategy.order: required field missing",
            "manifest-order.yaml:24:5: component_types.f.update_strategy: required field missing",
            "manifest-order.yaml:27:30: component_types.g.update_strategy.order: expected an integer from 1 to 100, "
            "got a sequence",
            NULL },
        (const char *const[]){ "manifest-order.yaml:30:33: unknown key \"parallel\"", NULL });
}

static void entry_needs_an_artifact(void **state)
{
    (void)state;
    expect_fail("manifest-no-artifact.yaml", NULL,
                (const char *const[]){
                    "manifest-no-artifact.yaml:6:3: component_types.gateway: needs artifact_path or artifact_name",
                    "manifest-no-artifact.yaml:10:20: component_types.rtos.artifact_path: must not be empty", NULL },
                NONE);
}

static void unknown_keys_warn(void **state)
{
    (void)state;
    struct diag_list d = { 0 };
    struct manifest m;
    assert_int_equal(manifest_load("manifest-extra-key.yaml", NULL, &m, &d), 0);
    assert_int_equal(d.nerrors, 0);
    /* update_interface belongs to the legacy format only */
    assert_lines(d.warnings, d.nwarnings,
                 (const char *const[]){ "manifest-extra-key.yaml:4:1: unknown key \"description\"",
                                        "manifest-extra-key.yaml:9:5: unknown key \"update_interface\"",
                                        "manifest-extra-key.yaml:10:34: unknown key \"timeout\"", NULL });
    assert_null(m.entries[0].update_interface);
    manifest_free(&m);
    diag_free(&d);
}

static void components_file_needs_a_legacy_manifest(void **state)
{
    (void)state;
    expect_fail("manifest-ok.yaml", "legacy-components.yaml",
                (const char *const[]){ "manifest-ok.yaml:2:7: kind: \"manifest\": --manifest-components "
                                       "(legacy-components.yaml) is only valid with kind \"update_manifest\"",
                                       NULL },
                NONE);
}

static void check_against_topology(void **state)
{
    (void)state;
    struct diag_list d = { 0 };
    struct manifest m;
    struct topology t;
    assert_int_equal(topology_load("topology-ok.yaml", NULL, &t, &d), 0);

    assert_int_equal(manifest_load("manifest-ok.yaml", NULL, &m, &d), 0);
    assert_int_equal(manifest_check_topology(&m, &t, &d), 0);
    assert_int_equal(d.nerrors + d.nwarnings, 0);
    manifest_free(&m);

    assert_int_equal(manifest_load("manifest-partial.yaml", NULL, &m, &d), 0);
    assert_int_equal(manifest_check_topology(&m, &t, &d), -1);
    assert_lines(d.errors, d.nerrors,
                 (const char *const[]){ "manifest-partial.yaml:6:1: component_types: no entry for component type "
                                        "\"rtos\" of the Topology (topology-ok.yaml:7:5)",
                                        "manifest-partial.yaml:6:1: component_types: no entry for component type "
                                        "\"dsp\" of the Topology (topology-ok.yaml:13:5)",
                                        NULL });
    assert_lines(d.warnings, d.nwarnings,
                 (const char *const[]){
                     "manifest-partial.yaml:10:3: component_types.modem: component type not in the Topology, ignored",
                     "manifest-partial.yaml:4:1: system_types_compatible: does not list the Topology system type "
                     "\"system-core\"",
                     NULL });
    manifest_free(&m);
    diag_free(&d);

    /* a legacy Manifest carries its own components: nothing to check */
    assert_int_equal(manifest_load("legacy-seed-2024-fixed.yaml", NULL, &m, &d), 0);
    assert_int_equal(manifest_check_topology(&m, &t, &d), 0);
    assert_int_equal(d.nerrors + d.nwarnings, 0);
    manifest_free(&m);
    topology_free(&t);
}

/* ---- legacy ----------------------------------------------------------- */

static void legacy_seed_is_rejected_at_its_slip(void **state)
{
    (void)state;
    /* libyaml's wording */
    expect_fail("legacy-seed-2024.yaml", NULL,
                (const char *const[]){ "legacy-seed-2024.yaml:19:2: did not find expected key "
                                       "(while parsing a block mapping that starts at 1:1)",
                                       NULL },
                NONE);
}

static void legacy_seed_fixed(void **state)
{
    (void)state;
    struct diag_list d = { 0 };
    struct manifest m;
    assert_int_equal(manifest_load("legacy-seed-2024-fixed.yaml", NULL, &m, &d), 0);
    assert_int_equal(d.nerrors + d.nwarnings, 0);
    assert_int_equal(m.format, MANIFEST_LEGACY);
    assert_string_equal(m.name, "system-core-v1");
    assert_int_equal(m.system_types_compatible.n, 0);
    assert_int_equal(m.nentries, 2);
    assert_string_equal(m.entries[0].component_type, "gateway");
    assert_string_equal(m.entries[0].artifact_path, "gateway-v1.mender");
    char *abs = cwd_join("gateway-v1.mender");
    assert_string_equal(m.entries[0].artifact_abspath, abs);
    free(abs);
    assert_int_equal(m.entries[0].order, 10);
    assert_int_equal(m.entries[1].order, 20);
    assert_null(m.entries[1].update_interface);

    assert_int_equal(m.ncomponents, 3);
    static const char *const types[] = { "gateway", "rtos", "rtos" };
    static const char *const ids[] = { "G13", "R456", "R998" };
    static const int lines[] = { 15, 19, 23 };
    for (size_t i = 0; i < 3; i++) {
        const struct component_def *c = &m.components[i];
        assert_string_equal(c->component_type, types[i]);
        assert_string_equal(c->id, ids[i]);
        assert_string_equal(c->interface, types[i]); /* no update_interface: the type */
        assert_int_equal(c->args.n, 1);
        assert_string_equal(c->args.v[0], "arg1");
        assert_string_equal(c->file, "legacy-seed-2024-fixed.yaml");
        assert_int_equal(c->line, lines[i]);
        assert_int_equal(c->col, 5);
    }
    manifest_free(&m);
}

static void legacy_duplicate_ids(void **state)
{
    (void)state;
    /* the same id under two types is fine; twice under one type is not */
    expect_fail("legacy-dup-ids.yaml", NULL,
                (const char *const[]){ "legacy-dup-ids.yaml:11:32: components[3].id: \"R456\": duplicate id for "
                                       "component type \"rtos\" (first at legacy-dup-ids.yaml:10:5)",
                                       NULL },
                NONE);
}

static void legacy_unknown_component_type(void **state)
{
    (void)state;
    expect_fail("legacy-unknown-type.yaml", NULL,
                (const char *const[]){ "legacy-unknown-type.yaml:9:22: components[1].component_type: \"dsp\": "
                                       "no entry in component_types",
                                       NULL },
                NONE);
}

static void legacy_unused_entry_warns(void **state)
{
    (void)state;
    struct diag_list d = { 0 };
    struct manifest m;
    assert_int_equal(manifest_load("legacy-unused-entry.yaml", NULL, &m, &d), 0);
    assert_int_equal(d.nerrors, 0);
    assert_lines(d.warnings, d.nwarnings,
                 (const char *const[]){
                     "legacy-unused-entry.yaml:6:3: component_types.unused: no component of this type, entry ignored",
                     NULL });
    assert_int_equal(m.ncomponents, 1);
    const struct component_def *c = &m.components[0];
    assert_string_equal(c->interface, "rootfs-image"); /* update_interface */
    assert_string_equal(m.entries[0].update_interface, "rootfs-image");
    assert_int_equal(c->args.n, 3);
    assert_string_equal(c->args.v[0], "1");
    assert_string_equal(c->args.v[1], "two");
    assert_string_equal(c->args.v[2], "3.0");
    manifest_free(&m);
    diag_free(&d);
}

static void legacy_component_errors(void **state)
{
    (void)state;
    expect_fail(
        "legacy-component-errors.yaml", NULL,
        (const char *const[]){
            "legacy-component-errors.yaml:7:23: component_types.gateway.update_interface: \"../x\": invalid interface "
            "name",
            "legacy-component-errors.yaml:11:5: components[0].id: required field missing",
            "legacy-component-errors.yaml:12:32: components[1].id: must not be empty",
            "legacy-component-errors.yaml:13:42: components[2].args: expected a sequence, got a scalar",
            "legacy-component-errors.yaml:14:43: components[3].args[0]: expected a scalar, got a mapping", NULL },
        (const char *const[]){ "legacy-component-errors.yaml:15:36: unknown key \"extra\"", NULL });
    expect_fail("legacy-missing-fields.yaml", NULL,
                (const char *const[]){ "legacy-missing-fields.yaml:1:1: version: required field missing",
                                       "legacy-missing-fields.yaml:1:1: component_types: required field missing",
                                       "legacy-missing-fields.yaml:1:1: components: required field missing", NULL },
                NONE);
}

static void legacy_manifest_components_file(void **state)
{
    (void)state;
    struct diag_list d = { 0 };
    struct manifest m;
    assert_int_equal(manifest_load("legacy-main-nocomps.yaml", "legacy-components.yaml", &m, &d), 0);
    assert_int_equal(d.nerrors + d.nwarnings, 0);
    assert_string_equal(m.name, "system-core-v1");
    assert_int_equal(m.ncomponents, 3);
    assert_string_equal(m.components[0].id, "G13");
    assert_string_equal(m.components[0].interface, "rootfs-image");
    assert_string_equal(m.components[0].file, "legacy-components.yaml");
    assert_int_equal(m.components[0].line, 4);
    assert_string_equal(m.components[2].id, "R998");
    assert_string_equal(m.components[2].interface, "rtos");
    assert_int_equal(m.components[2].args.n, 0);
    manifest_free(&m);
}

static void legacy_components_in_exactly_one_place(void **state)
{
    (void)state;
    expect_fail("legacy-seed-2024-fixed.yaml", "legacy-components.yaml",
                (const char *const[]){ "legacy-seed-2024-fixed.yaml:14:1: components: also defined in "
                                       "legacy-components.yaml; the list must come from exactly one of the two files",
                                       NULL },
                NONE);
    expect_fail("legacy-main-nocomps.yaml", "legacy-components-none.yaml",
                (const char *const[]){ "legacy-main-nocomps.yaml:1:1: components: required field missing (in the "
                                       "Manifest or in legacy-components-none.yaml)",
                                       NULL },
                NONE);
    expect_fail("legacy-main-nocomps.yaml", NULL,
                (const char *const[]){ "legacy-main-nocomps.yaml:1:1: components: required field missing", NULL },
                NONE);
}

static void legacy_components_file_alone(void **state)
{
    (void)state;
    struct diag_list d = { 0 };
    struct manifest m;
    assert_int_equal(legacy_components_load("legacy-components.yaml", &m, &d), 0);
    assert_int_equal(d.nerrors + d.nwarnings, 0);
    assert_int_equal(m.format, MANIFEST_LEGACY);
    assert_string_equal(m.path, "legacy-components.yaml");
    assert_int_equal(m.nentries, 0);
    assert_int_equal(m.ncomponents, 3);
    assert_string_equal(m.components[0].component_type, "gateway");
    assert_string_equal(m.components[0].interface, "gateway");
    assert_string_equal(m.components[1].id, "R456");
    assert_non_null(m.text);
    manifest_free(&m);

    assert_int_equal(legacy_components_load("legacy-components-none.yaml", &m, &d), -1);
    assert_null(m.components);
    assert_lines(d.errors, d.nerrors,
                 (const char *const[]){ "legacy-components-none.yaml:1:1: components: required field missing", NULL });
    diag_free(&d);
    assert_int_equal(legacy_components_load("legacy-dup-ids.yaml", &m, &d), -1);
    assert_lines(d.errors, d.nerrors,
                 (const char *const[]){ "legacy-dup-ids.yaml:11:32: components[3].id: \"R456\": duplicate id for "
                                        "component type \"rtos\" (first at legacy-dup-ids.yaml:10:5)",
                                        NULL });
    assert_lines(d.warnings, d.nwarnings,
                 (const char *const[]){ "legacy-dup-ids.yaml:3:1: unknown key \"version\"",
                                        "legacy-dup-ids.yaml:4:1: unknown key \"component_types\"", NULL });
    diag_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(current_manifest),
        cmocka_unit_test(relative_path_from_another_directory),
        cmocka_unit_test(required_fields_and_types),
        cmocka_unit_test(order_must_be_a_yaml_integer_1_to_100),
        cmocka_unit_test(entry_needs_an_artifact),
        cmocka_unit_test(unknown_keys_warn),
        cmocka_unit_test(components_file_needs_a_legacy_manifest),
        cmocka_unit_test(check_against_topology),
        cmocka_unit_test(legacy_seed_is_rejected_at_its_slip),
        cmocka_unit_test(legacy_seed_fixed),
        cmocka_unit_test(legacy_duplicate_ids),
        cmocka_unit_test(legacy_unknown_component_type),
        cmocka_unit_test(legacy_unused_entry_warns),
        cmocka_unit_test(legacy_component_errors),
        cmocka_unit_test(legacy_manifest_components_file),
        cmocka_unit_test(legacy_components_in_exactly_one_place),
        cmocka_unit_test(legacy_components_file_alone),
    };
    return cmocka_run_group_tests(tests, to_data_dir, NULL);
}

/* Topology reader and the shared YAML rules (docs/manifest.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "inputs/topology.h"
#include "inputs/yaml.h"
#include "util/diag.h"
#include "util/mem.h"

static int to_data_dir(void **state)
{
    (void)state;
    const char *dir = getenv("MO_TEST_DATA");
    return dir && chdir(dir) == 0 ? 0 : -1;
}

/* Loads a Topology expected to fail and checks the exact errors. */
static void expect_errors(const char *path, const char *comps, const char *const *errors)
{
    struct diag_list d = { 0 };
    struct topology t;
    assert_int_equal(topology_load(path, comps, &t, &d), -1);
    assert_null(t.components);
    assert_int_equal(t.ncomponents, 0);
    size_t n = 0;
    while (errors[n])
        n++;
    for (size_t i = 0; i < d.nerrors && i < n; i++)
        assert_string_equal(d.errors[i], errors[i]);
    assert_int_equal(d.nerrors, n);
    for (size_t i = 0; i < d.nerrors; i++)
        assert_null(strchr(d.errors[i], '\n'));
    diag_free(&d);
}

static void valid_topology(void **state)
{
    (void)state;
    struct diag_list d = { 0 };
    struct topology t;
    assert_int_equal(topology_load("topology-ok.yaml", NULL, &t, &d), 0);
    assert_int_equal(d.nerrors, 0);
    assert_int_equal(d.nwarnings, 0);
    assert_string_equal(t.path, "topology-ok.yaml");
    assert_null(t.components_path);
    assert_string_equal(t.system_type, "system-core");
    assert_int_equal(t.ncomponents, 4);
    assert_string_equal(t.components[0].component_type, "gateway");
    assert_string_equal(t.components[0].interface, "rootfs-image");
    assert_int_equal(t.components[0].args.n, 0);
    assert_null(t.components[0].id);
    assert_string_equal(t.components[0].file, "topology-ok.yaml");
    assert_int_equal(t.components[0].line, 5);
    assert_int_equal(t.components[0].col, 5);
    assert_string_equal(t.components[1].interface, "rtos-interface");
    assert_int_equal(t.components[1].args.n, 1);
    assert_string_equal(t.components[1].args.v[0], "1");
    /* interface_args: [2, two, "3"]: the YAML text of each scalar */
    assert_int_equal(t.components[2].args.n, 3);
    assert_string_equal(t.components[2].args.v[0], "2");
    assert_string_equal(t.components[2].args.v[1], "two");
    assert_string_equal(t.components[2].args.v[2], "3");
    assert_int_equal(t.components[2].line, 10);
    /* interface defaults to the component_type */
    assert_string_equal(t.components[3].component_type, "dsp");
    assert_string_equal(t.components[3].interface, "dsp");
    topology_free(&t);
    topology_free(&t); /* idempotent */
}

static void unknown_keys_are_warnings(void **state)
{
    (void)state;
    struct diag_list d = { 0 };
    struct topology t;
    assert_int_equal(topology_load("topology-extra-key.yaml", NULL, &t, &d), 0);
    assert_int_equal(d.nerrors, 0);
    assert_int_equal(d.nwarnings, 2);
    assert_string_equal(d.warnings[0], "topology-extra-key.yaml:3:1: unknown key \"version\"");
    assert_string_equal(d.warnings[1], "topology-extra-key.yaml:8:5: unknown key \"comment\"");
    assert_int_equal(t.ncomponents, 1);
    topology_free(&t);
    diag_free(&d);
}

static void required_fields_missing(void **state)
{
    (void)state;
    expect_errors("topology-missing-fields.yaml", NULL,
                  (const char *const[]){ "topology-missing-fields.yaml:1:1: api_version: required field missing",
                                         "topology-missing-fields.yaml:1:1: kind: required field missing",
                                         "topology-missing-fields.yaml:1:1: system_type: required field missing",
                                         NULL });
    expect_errors("topology-main-only.yaml", NULL,
                  (const char *const[]){ "topology-main-only.yaml:1:1: components: required field missing", NULL });
}

static void wrong_types(void **state)
{
    (void)state;
    expect_errors("topology-wrong-types.yaml", NULL,
                  (const char *const[]){
                      "topology-wrong-types.yaml:1:14: api_version: expected a string, got a sequence",
                      "topology-wrong-types.yaml:3:14: system_type: expected a string, got a mapping",
                      "topology-wrong-types.yaml:4:13: components: expected a sequence, got a scalar", NULL });
}

static void bad_values(void **state)
{
    (void)state;
    expect_errors("topology-bad-values.yaml", NULL,
                  (const char *const[]){
                      "topology-bad-values.yaml:1:14: api_version: \"mender/v2\": expected \"mender/v1\"",
                      "topology-bad-values.yaml:2:7: kind: \"manifest\": expected \"topology\"",
                      "topology-bad-values.yaml:3:14: system_type: must not be empty",
                      "topology-bad-values.yaml:4:13: components: must not be empty", NULL });
}

static void component_errors(void **state)
{
    (void)state;
    expect_errors(
        "topology-component-errors.yaml", NULL,
        (const char *const[]){
            "topology-component-errors.yaml:5:5: components[0].component_type: required field missing",
            "topology-component-errors.yaml:6:5: components[1]: expected a mapping, got a scalar",
            "topology-component-errors.yaml:7:21: components[2].component_type: expected a string, got a sequence",
            "topology-component-errors.yaml:8:5: components[3].component_type: expected a string, got null",
            "topology-component-errors.yaml:9:21: components[4].component_type: must not be empty", NULL });
}

static void bad_interface_names(void **state)
{
    (void)state;
    expect_errors("topology-bad-interface.yaml", NULL,
                  (const char *const[]){
                      "topology-bad-interface.yaml:8:16: components[1].interface: \"../x\": invalid interface name",
                      "topology-bad-interface.yaml:10:16: components[2].interface: \"..\": invalid interface name",
                      "topology-bad-interface.yaml:12:16: components[3].interface: \"a/b\": invalid interface name",
                      /* defaulted from the component_type: reported at the component */
                      "topology-bad-interface.yaml:13:5: components[4].interface: \"my type\": invalid interface name",
                      "topology-bad-interface.yaml:15:16: components[5].interface: \"\": invalid interface name",
                      NULL });
}

static void interface_name_rules(void **state)
{
    (void)state;
    assert_true(interface_name_valid("rootfs-image"));
    assert_true(interface_name_valid("rtos_interface.v2"));
    assert_true(interface_name_valid("..."));
    assert_true(interface_name_valid(".hidden"));
    assert_false(interface_name_valid(NULL));
    assert_false(interface_name_valid(""));
    assert_false(interface_name_valid("."));
    assert_false(interface_name_valid(".."));
    assert_false(interface_name_valid("a/b"));
    assert_false(interface_name_valid("/abs"));
    assert_false(interface_name_valid("a b"));
    assert_false(interface_name_valid("a\nb"));
    assert_false(interface_name_valid("caf\xc3\xa9"));
    char longname[300];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_false(interface_name_valid(longname));
}

static void interface_args_must_be_scalars(void **state)
{
    (void)state;
    expect_errors("topology-args.yaml", NULL,
                  (const char *const[]){
                      "topology-args.yaml:6:25: components[0].interface_args[1]: expected a scalar, got a mapping",
                      "topology-args.yaml:6:33: components[0].interface_args[2]: expected a scalar, got a sequence",
                      "topology-args.yaml:8:21: components[1].interface_args: expected a sequence, got a scalar",
                      NULL });
}

static void separate_components_file(void **state)
{
    (void)state;
    struct diag_list d = { 0 };
    struct topology t;
    assert_int_equal(topology_load("topology-main-only.yaml", "topology-components.yaml", &t, &d), 0);
    assert_int_equal(d.nerrors + d.nwarnings, 0);
    assert_string_equal(t.components_path, "topology-components.yaml");
    assert_string_equal(t.system_type, "system-core");
    assert_int_equal(t.ncomponents, 2);
    assert_string_equal(t.components[1].component_type, "rtos");
    assert_string_equal(t.components[1].interface, "rtos");
    assert_string_equal(t.components[1].args.v[0], "7");
    assert_string_equal(t.components[1].file, "topology-components.yaml");
    assert_int_equal(t.components[1].line, 4);
    topology_free(&t);
}

static void components_in_both_or_neither_place(void **state)
{
    (void)state;
    expect_errors("topology-ok.yaml", "topology-components.yaml",
                  (const char *const[]){ "topology-ok.yaml:4:1: components: also defined in the components file "
                                         "topology-components.yaml; exactly one place is allowed",
                                         NULL });
    expect_errors("topology-main-only.yaml", "topology-components-none.yaml",
                  (const char *const[]){ "topology-components-none.yaml:1:1: components: required field missing",
                                         NULL });
    expect_errors("topology-main-only.yaml", "no-such-components.yaml",
                  (const char *const[]){ "no-such-components.yaml: cannot read: No such file or directory", NULL });
}

static void duplicate_keys(void **state)
{
    (void)state;
    expect_errors("topology-dupkey.yaml", NULL,
                  (const char *const[]){ "topology-dupkey.yaml:4:1: duplicate key \"kind\"",
                                         "topology-dupkey.yaml:8:5: duplicate key \"interface\"", NULL });
}

static void several_documents(void **state)
{
    (void)state;
    expect_errors("topology-two-docs.yaml", NULL,
                  (const char *const[]){ "topology-two-docs.yaml:6:1: several YAML documents; exactly one is allowed",
                                         NULL });
}

static void syntax_error_is_one_line(void **state)
{
    (void)state;
    /* libyaml's wording */
    expect_errors("topology-syntax.yaml", NULL,
                  (const char *const[]){ "topology-syntax.yaml:6:1: did not find expected ',' or ']' "
                                         "(while parsing a flow sequence that starts at 4:13)",
                                         NULL });
}

static void missing_file(void **state)
{
    (void)state;
    expect_errors("no-such-topology.yaml", NULL,
                  (const char *const[]){ "no-such-topology.yaml: cannot read: No such file or directory", NULL });
}

static char *write_tmp(const char *name, const char *head, size_t total)
{
    char *dir = xstrdup("/tmp/mo-test-topology-XXXXXX");
    assert_non_null(mkdtemp(dir));
    char *path = xasprintf("%s/%s", dir, name);
    free(dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    size_t n = strlen(head);
    assert_int_equal(fwrite(head, 1, n, f), n);
    /* pad with comment lines up to total bytes */
    while (n < total) {
        size_t line = total - n > 64 ? 64 : total - n;
        char buf[64];
        memset(buf, ' ', line);
        buf[0] = '#';
        buf[line - 1] = '\n';
        assert_int_equal(fwrite(buf, 1, line, f), line);
        n += line;
    }
    assert_int_equal(fclose(f), 0);
    return path;
}

static void remove_tmp(char *path)
{
    unlink(path);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    rmdir(path);
    free(path);
}

static void size_limit(void **state)
{
    (void)state;
    static const char head[] = "api_version: mender/v1\nkind: topology\nsystem_type: s\n"
                               "components:\n  - component_type: gateway\n";
    char *ok = write_tmp("topology.yaml", head, YAML_MAX_SIZE);
    struct diag_list d = { 0 };
    struct topology t;
    assert_int_equal(topology_load(ok, NULL, &t, &d), 0);
    assert_int_equal(t.ncomponents, 1);
    topology_free(&t);
    remove_tmp(ok);

    char *big = write_tmp("topology.yaml", head, YAML_MAX_SIZE + 1);
    char *msg = xasprintf("%s: file is larger than 1 MiB", big);
    expect_errors(big, NULL, (const char *const[]){ msg, NULL });
    free(msg);
    remove_tmp(big);
}

static void yaml_rules(void **state)
{
    (void)state;
    struct diag_list d = { 0 };
    struct ydoc doc;
    /* anchors and aliases resolve; the alias keeps its own position */
    static const char aliases[] = "a: &x [1, 2]\nb: *x\nc: *y\n";
    assert_int_equal(yaml_load_string("t.yaml", aliases, strlen(aliases), &doc, &d), -1);
    assert_string_equal(d.errors[0], "t.yaml:3:4: unknown alias \"y\"");
    yaml_doc_free(&doc);
    diag_free(&d);
    static const char ok[] = "a: &x [1, 2]\nb: *x\nn: ~\nq: '7'\nh: 0x10\ns: -3\n";
    assert_int_equal(yaml_load_string("t.yaml", ok, strlen(ok), &doc, &d), 0);
    const struct ynode *b = yaml_map_get(doc.root, "b");
    assert_int_equal(b->kind, YNODE_SEQUENCE);
    assert_int_equal(b->nitems, 2);
    assert_int_equal(b->line, 2);
    assert_int_equal(b->col, 4);
    assert_true(yaml_is_null(yaml_map_get(doc.root, "n")));
    long long v;
    assert_false(yaml_scalar_int(yaml_map_get(doc.root, "q"), &v));
    assert_true(yaml_scalar_int(yaml_map_get(doc.root, "h"), &v));
    assert_int_equal(v, 16);
    assert_true(yaml_scalar_int(yaml_map_get(doc.root, "s"), &v));
    assert_int_equal(v, -3);
    assert_string_equal(doc.text, ok);
    yaml_doc_free(&doc);
    /* an empty stream and a NUL byte */
    assert_int_equal(yaml_load_string("e.yaml", "", 0, &doc, &d), 0);
    assert_null(yaml_root_mapping(&doc, &d));
    assert_string_equal(d.errors[0], "e.yaml:1:1: empty document, expected a mapping");
    yaml_doc_free(&doc);
    assert_int_equal(yaml_load_string("z.yaml", "a: b\nc\0d", 8, &doc, &d), -1);
    assert_string_equal(d.errors[1], "z.yaml:2:2: NUL character not allowed");
    yaml_doc_free(&doc);
    diag_free(&d);
    /* messages stay on one line */
    char *q = yaml_quote("a\"b\\c\nd\x01");
    assert_string_equal(q, "\"a\\\"b\\\\c\\nd\\x01\"");
    free(q);
}

static void merge_keys(void **state)
{
    (void)state;
    struct diag_list d = { 0 };
    struct ydoc doc;
    /* its own keys win, then the earlier sources; merged entries keep their positions */
    static const char text[] = "a: &a {x: 1, y: 2}\n"
                               "b: &b {y: 3, z: 4}\n"
                               "c:\n"
                               "  <<: [*a, *b]\n"
                               "  x: 9\n"
                               "d: {\"<<\": *a}\n";
    assert_int_equal(yaml_load_string("m.yaml", text, strlen(text), &doc, &d), 0);
    const struct ynode *c = yaml_map_get(doc.root, "c");
    assert_int_equal(c->npairs, 3);
    assert_string_equal(yaml_map_get(c, "x")->text, "9");
    assert_string_equal(yaml_map_get(c, "y")->text, "2");
    assert_string_equal(yaml_map_get(c, "z")->text, "4");
    assert_int_equal(yaml_map_get(c, "z")->line, 2);
    assert_int_equal(yaml_map_get(c, "z")->col, 17);
    assert_non_null(yaml_map_get(yaml_map_get(doc.root, "d"), "<<")); /* quoted: an ordinary key */
    yaml_doc_free(&doc);
    /* a merge of something else than mappings: one error, at it */
    static const char bad[] = "a: [1]\nb:\n  <<: [{k: v}, 7]\n";
    assert_int_equal(yaml_load_string("m.yaml", bad, strlen(bad), &doc, &d), -1);
    assert_int_equal(d.nerrors, 1);
    assert_string_equal(d.errors[0], "m.yaml:3:16: merge key <<: expected a mapping or a list of mappings (aliases "
                                     "such as *defaults), got a scalar");
    yaml_doc_free(&doc);
    diag_free(&d);
}

static void bare_components_list(void **state)
{
    (void)state;
    static const char main_text[] = "api_version: mender/v1\nkind: topology\nsystem_type: s\n";
    static const char list[] = "- component_type: gateway\n  interface: rootfs-image\n- component_type: rtos\n";
    struct yaml_input file = { "main.yaml", main_text, strlen(main_text) };
    struct yaml_input comps = { "comps.yaml", list, strlen(list) };
    struct diag_list d = { 0 };
    struct topology t;
    assert_int_equal(topology_load_input(&file, &comps, &t, &d), 0);
    assert_int_equal(d.nerrors + d.nwarnings, 0);
    assert_int_equal(t.ncomponents, 2);
    assert_string_equal(t.components[0].interface, "rootfs-image");
    assert_string_equal(t.components[1].file, "comps.yaml");
    assert_int_equal(t.components[1].line, 3);
    topology_free(&t);
    comps.text = "[]\n";
    comps.len = 3;
    assert_int_equal(topology_load_input(&file, &comps, &t, &d), -1);
    assert_string_equal(d.errors[0], "comps.yaml:1:1: components: must not be empty");
    diag_free(&d);
    comps.text = "7\n";
    comps.len = 2;
    assert_int_equal(topology_load_input(&file, &comps, &t, &d), -1);
    assert_string_equal(d.errors[0],
                        "comps.yaml:1:1: expected the components list, or a mapping holding components:, got a scalar");
    diag_free(&d);
}

static void component_id_rules(void **state)
{
    (void)state;
    assert_true(component_id_valid("52:54:00:1d:94:82"));
    assert_true(component_id_valid("R123"));
    assert_true(component_id_valid("a.b_c@d+e-f"));
    const char *bad[] = { NULL, "", ".x", "..", "a b", "a=b", "a/b", "a\nb", "a,b", "\xc3\xa9" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(component_id_valid(bad[i]));
    char id[COMPONENT_ID_MAX + 2];
    memset(id, 'a', sizeof(id) - 1);
    id[COMPONENT_ID_MAX + 1] = '\0';
    assert_false(component_id_valid(id));
    id[COMPONENT_ID_MAX] = '\0';
    assert_true(component_id_valid(id));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_topology),
        cmocka_unit_test(unknown_keys_are_warnings),
        cmocka_unit_test(required_fields_missing),
        cmocka_unit_test(wrong_types),
        cmocka_unit_test(bad_values),
        cmocka_unit_test(component_errors),
        cmocka_unit_test(bad_interface_names),
        cmocka_unit_test(interface_name_rules),
        cmocka_unit_test(interface_args_must_be_scalars),
        cmocka_unit_test(separate_components_file),
        cmocka_unit_test(components_in_both_or_neither_place),
        cmocka_unit_test(duplicate_keys),
        cmocka_unit_test(several_documents),
        cmocka_unit_test(syntax_error_is_one_line),
        cmocka_unit_test(missing_file),
        cmocka_unit_test(size_limit),
        cmocka_unit_test(yaml_rules),
        cmocka_unit_test(merge_keys),
        cmocka_unit_test(bare_components_list),
        cmocka_unit_test(component_id_rules),
    };
    return cmocka_run_group_tests(tests, to_data_dir, NULL);
}

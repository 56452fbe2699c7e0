/* Every reproducer of fuzz/regressions/ (a finding of the libFuzzer harnesses,
 * docs/fuzzing.md), read the way the program reads that input: each must fail with
 * its one clear line, not crash. One test per reproducer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "artifact/artifact.h"
#include "inputs/config.h"
#include "inputs/manifest.h"
#include "inputs/topology.h"
#include "util/diag.h"
#include "util/fs.h"

enum reader { TOPOLOGY, MANIFEST, LEGACY_COMPONENTS, CONFIG, ARTIFACT, ARTIFACT_HEADER };

struct repro {
    enum reader reader;
    const char *file;  /* under fuzz/regressions/ */
    const char *error; /* the first error line (YAML, config) or the reader's reason (artifact) */
};

static const struct repro repros[] = {
    /* show-provides --manifest-components: a component type that is no Interface
     * name was run as the Interface (it can climb out of the interfaces folder) */
    { LEGACY_COMPONENTS, "legacy/components-type-escapes-interfaces.yaml",
      "legacy/components-type-escapes-interfaces.yaml:2:21: components[0].component_type: \"../../../tmp/x\": "
      "invalid interface name (the Interface is named after the type)" },
    /* the fuzzer's input holds a raw control character (0x11), which libyaml refuses anywhere in
     * the text (YAML allows only printable characters); the -escaped copy writes it "\x11" in a
     * double-quoted scalar, so the type still holds it and reaches the Interface name check */
    { LEGACY_COMPONENTS, "legacy/components-type-not-interface-name.yaml",
      "legacy/components-type-not-interface-name.yaml:8:142: control characters are not allowed (U+0011)" },
    { LEGACY_COMPONENTS, "legacy/components-type-not-interface-name-escaped.yaml",
      "legacy/components-type-not-interface-name-escaped.yaml:8:22: components[0].component_type: "
      "\"gatewa111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111"
      "111111111111111111111\\x111111111111y\": control characters are not allowed (the value is printed on one "
      "line); remove them" },
    /* libfyaml looped forever on malformed UTF-8 in a directive ("%a\xf0"): check,
     * install and the boot-time resume hung on such a Topology or Manifest */
    { TOPOLOGY, "topology/directive-bad-utf8-hang.yaml",
      "topology/directive-bad-utf8-hang.yaml:1:3: malformed UTF8 (byte 0xf0): the file must be UTF-8" },
    { TOPOLOGY, "topology/directive-bad-utf8-hang-2.yaml",
      "topology/directive-bad-utf8-hang-2.yaml:1:4: malformed UTF8 (byte 0xf0): the file must be UTF-8" },
    { TOPOLOGY, "topology/yaml-directive-bad-utf8-hang.yaml",
      "topology/yaml-directive-bad-utf8-hang.yaml:1:15: malformed UTF8 (byte 0xff): the file must be UTF-8" },
    { MANIFEST, "manifest/directive-bad-utf8-hang.yaml",
      "manifest/directive-bad-utf8-hang.yaml:1:134: malformed UTF8 (byte 0xbe): the file must be UTF-8" },
    /* libfyaml 0.7.12 crashed (SIGSEGV in fy_parser_destroy) after its "cannot use tab for
     * indentation" error inside an explicit key. libyaml reads "? i:<TAB>>" as a key that is a
     * mapping; the second input holds a raw control character (0x0b) */
    { TOPOLOGY, "topology/explicit-key-tab-crash.yaml",
      "topology/explicit-key-tab-crash.yaml:1:3: mapping key must be a scalar, got a mapping" },
    { TOPOLOGY, "topology/explicit-key-tab-crash-2.yaml",
      "topology/explicit-key-tab-crash-2.yaml:1:53: control characters are not allowed (U+000B)" },
    /* libfyaml quoted the offending character in its message: a DEL (0x7f) reached ours raw.
     * libyaml's wording names it by its code point */
    { MANIFEST, "manifest/del-in-libfyaml-error.yaml",
      "manifest/del-in-libfyaml-error.yaml:2:9: control characters are not allowed (U+007F)" },
    /* libfyaml leaked inside itself on a single-quoted scalar with many '' escapes (so this
     * row waited for the YAML library to change: the ASan suite would report the leak) */
    { MANIFEST, "manifest/libfyaml-leak-quoted-escapes.yaml",
      "manifest/libfyaml-leak-quoted-escapes.yaml:1:1: expected a mapping at the top level, got a scalar" },
    /* a control character from the file (jansson's "near '...'", a key, a value)
     * was copied into the message, breaking the one-line rule */
    { CONFIG, "config/invalid-token-control-char.json",
      "/etc/mender-orchestrator/mender-orchestrator.conf:1:2: invalid JSON: invalid token near '\\x19'" },
    { CONFIG, "config/newline-in-key-and-value.json",
      "/var/lib/mender-orchestrator/mender-orchestrator.conf: LogLevel: \"info\\x0d\\x0adebug\": unknown log level "
      "(trace, debug, info, warning, error, fatal)" },
};

static void check_diags(int rc, struct diag_list *d, const char *want)
{
    assert_int_equal(rc, -1);
    assert_true(d->nerrors > 0);
    assert_string_equal(d->errors[0], want);
    for (size_t i = 0; i < d->nerrors; i++)
        for (const char *p = d->errors[i]; *p; p++)
            assert_false((unsigned char)*p < 0x20);
    for (size_t i = 0; i < d->nwarnings; i++)
        for (const char *p = d->warnings[i]; *p; p++)
            assert_false((unsigned char)*p < 0x20);
    diag_free(d);
}

static void run_repro(void **state)
{
    const struct repro *r = *state;
    struct diag_list d = { 0 };
    int rc;
    switch (r->reader) {
    case TOPOLOGY: {
        struct topology t;
        rc = topology_load(r->file, NULL, &t, &d);
        check_diags(rc, &d, r->error);
        break;
    }
    case MANIFEST: {
        struct manifest m;
        rc = manifest_load(r->file, NULL, &m, &d);
        check_diags(rc, &d, r->error);
        break;
    }
    case LEGACY_COMPONENTS: {
        struct manifest m;
        rc = legacy_components_load(r->file, &m, &d);
        check_diags(rc, &d, r->error);
        break;
    }
    case CONFIG: {
        /* the harness's input: the main file, then after a NUL byte the fallback file */
        char *buf = NULL;
        size_t len = 0;
        assert_int_equal(fs_read_file(r->file, 1 << 20, &buf, &len), 0);
        const char *nul = memchr(buf, '\0', len);
        size_t main_len = nul ? (size_t)(nul - buf) : len;
        struct config cfg;
        /* the messages name the files in the folders of a --prefix=/usr build */
        setenv("MENDER_ORCHESTRATOR_CONF_DIR", "/etc/mender-orchestrator", 1);
        setenv("MENDER_ORCHESTRATOR_DATASTORE_DIR", "/var/lib/mender-orchestrator", 1);
        rc = config_load_texts(&cfg, NULL, buf, main_len, nul ? nul + 1 : NULL, nul ? len - main_len - 1 : 0, &d);
        free(buf);
        check_diags(rc, &d, r->error);
        break;
    }
    case ARTIFACT:
    case ARTIFACT_HEADER: {
        struct artifact_info info;
        _cleanup_error_ struct error *err = NULL;
        if (r->reader == ARTIFACT)
            rc = artifact_read_file(r->file, NULL, NULL, &info, &err);
        else
            rc = artifact_read_header_file(r->file, NULL, &info, &err);
        assert_int_equal(rc, -1);
        assert_string_equal(error_message(err), r->error);
        artifact_info_free(&info);
        break;
    }
    }
}

static int to_regressions(void **state)
{
    (void)state;
    /* the configuration's file names in messages are the defaults */
    unsetenv("MENDER_ORCHESTRATOR_CONF_DIR");
    unsetenv("MENDER_ORCHESTRATOR_DATASTORE_DIR");
    const char *root = getenv("MO_SOURCE_ROOT");
    if (!root)
        return -1;
    char *dir = fs_join(root, "fuzz/regressions");
    int rc = chdir(dir);
    free(dir);
    return rc;
}

int main(void)
{
    enum { N = sizeof(repros) / sizeof(repros[0]) };
    struct CMUnitTest tests[N];
    for (size_t i = 0; i < N; i++)
        tests[i] = (struct CMUnitTest){ .name = repros[i].file,
                                        .test_func = run_repro,
                                        .initial_state = (void *)(uintptr_t)&repros[i] };
    return cmocka_run_group_tests(tests, to_regressions, NULL);
}

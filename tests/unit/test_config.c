/* Configuration (docs/configuration.md). Each test gets a fresh temporary conf and
 * datastore directory through the environment. */
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

#include "inputs/config.h"
#include "util/diag.h"
#include "util/fs.h"
#include "util/mem.h"

static const char *const env_vars[] = {
    "MENDER_ORCHESTRATOR_CONF_DIR",
    "MENDER_ORCHESTRATOR_DATA_DIR",
    "MENDER_ORCHESTRATOR_DATASTORE_DIR",
    "MENDER_ORCHESTRATOR_TOPOLOGY_DIR",
    "MENDER_ORCHESTRATOR_TOPOLOGY_COMPONENTS_FILE",
    "MENDER_ORCHESTRATOR_MANIFEST_STORE_DIR",
    "MENDER_ORCHESTRATOR_ARTIFACTS_CACHE_DIR",
};

struct fixture {
    char *root;
    char *conf;      /* {root}/conf */
    char *ds;        /* {root}/ds */
    char *main_file; /* {conf}/mender-orchestrator.conf */
    char *fb_file;   /* {ds}/mender-orchestrator.conf */
};

static void clear_env(void)
{
    for (size_t i = 0; i < sizeof(env_vars) / sizeof(env_vars[0]); i++)
        unsetenv(env_vars[i]);
}

static int setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    char tmpl[] = "/tmp/mo-test-config-XXXXXX";
    if (!mkdtemp(tmpl))
        return -1;
    f->root = xstrdup(tmpl);
    f->conf = fs_join(f->root, "conf");
    f->ds = fs_join(f->root, "ds");
    if (mkdir(f->conf, 0700) < 0 || mkdir(f->ds, 0700) < 0)
        return -1;
    f->main_file = fs_join(f->conf, "mender-orchestrator.conf");
    f->fb_file = fs_join(f->ds, "mender-orchestrator.conf");
    clear_env();
    setenv("MENDER_ORCHESTRATOR_CONF_DIR", f->conf, 1);
    setenv("MENDER_ORCHESTRATOR_DATASTORE_DIR", f->ds, 1);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    unlink(f->main_file);
    unlink(f->fb_file);
    rmdir(f->conf);
    rmdir(f->ds);
    rmdir(f->root);
    free(f->root);
    free(f->conf);
    free(f->ds);
    free(f->main_file);
    free(f->fb_file);
    free(f);
    clear_env();
    return 0;
}

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(fputs(text, fp) >= 0, 1);
    assert_int_equal(fclose(fp), 0);
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    char *s = xvasprintf(f, ap);
    va_end(ap);
    return s;
}

static void print_diags(const struct diag_list *d)
{
    for (size_t i = 0; i < d->nerrors; i++)
        print_message("error: %s\n", d->errors[i]);
    for (size_t i = 0; i < d->nwarnings; i++)
        print_message("warning: %s\n", d->warnings[i]);
}

/* Loads and expects success without any diagnostics. */
static void load_ok(struct config *cfg, const struct config_overrides *cli)
{
    struct diag_list d = { 0 };
    int r = config_load(cfg, cli, &d);
    if (r != 0 || d.nerrors || d.nwarnings)
        print_diags(&d);
    assert_int_equal(r, 0);
    assert_int_equal(d.nerrors, 0);
    assert_int_equal(d.nwarnings, 0);
    diag_free(&d);
}

/* Loads, expects failure with exactly one error equal to want. */
static void load_fails_with(const struct config_overrides *cli, const char *want)
{
    struct config cfg;
    struct diag_list d = { 0 };
    int r = config_load(&cfg, cli, &d);
    if (r != -1 || d.nerrors != 1 || strcmp(d.errors[0], want) != 0)
        print_diags(&d);
    assert_int_equal(r, -1);
    assert_int_equal(d.nerrors, 1);
    assert_string_equal(d.errors[0], want);
    diag_free(&d);
    config_free(&cfg); /* harmless after a failed load */
}

static bool has_msg(char **v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0)
            return true;
    return false;
}

/* ---- defaults and environment ---- */

static void defaults_builtin(void **state)
{
    (void)state;
    clear_env();
    struct config cfg;
    struct diag_list d = { 0 };
    int r = config_load(&cfg, NULL, &d);
    /* The folders of this build (meson's, where `meson install` puts things;
     * tests/integration/test_layout.py checks them for --prefix=/usr). Host files at the
     * default paths are not ours to control: only check the directory defaults, and the
     * values when those files are absent. */
    if (r == 0) {
        assert_string_equal(cfg.conf_dir, CONFIG_DEFAULT_CONF_DIR);
        assert_string_equal(cfg.data_dir, CONFIG_DEFAULT_DATA_DIR);
        assert_string_equal(cfg.datastore_dir, CONFIG_DEFAULT_DATASTORE_DIR);
        assert_string_equal(cfg.topology_dir, CONFIG_DEFAULT_DATASTORE_DIR);
        assert_string_equal(cfg.main_file, CONFIG_DEFAULT_CONF_DIR "/mender-orchestrator.conf");
        assert_string_equal(cfg.fallback_file, CONFIG_DEFAULT_DATASTORE_DIR "/mender-orchestrator.conf");
        assert_string_equal(cfg.manifest_store, CONFIG_DEFAULT_DATASTORE_DIR "/manifests");
        char *tp = config_topology_path(&cfg);
        assert_string_equal(tp, CONFIG_DEFAULT_DATASTORE_DIR "/topology.yaml");
        free(tp);
        if (!fs_exists(cfg.main_file) && !fs_exists(cfg.fallback_file)) {
            assert_string_equal(cfg.cache_path, CONFIG_DEFAULT_DATASTORE_DIR "/artifacts");
            assert_int_equal(cfg.log_level, LOG_INFO);
        }
        config_free(&cfg);
    }
    diag_free(&d);
}

static void defaults_no_files(void **state)
{
    struct fixture *f = *state;
    struct config cfg;
    load_ok(&cfg, NULL);
    assert_string_equal(cfg.conf_dir, f->conf);
    assert_string_equal(cfg.datastore_dir, f->ds);
    assert_string_equal(cfg.data_dir, CONFIG_DEFAULT_DATA_DIR);
    assert_string_equal(cfg.topology_dir, f->ds);
    assert_string_equal(cfg.main_file, f->main_file);
    assert_string_equal(cfg.fallback_file, f->fb_file);
    assert_int_equal(cfg.verify_keys.n, 0);
    assert_false(cfg.cache_enabled);
    char *want = fmt("%s/artifacts", f->ds);
    assert_string_equal(cfg.cache_path, want);
    free(want);
    assert_int_equal(cfg.cache_max_bytes, 0);
    assert_null(cfg.https_cert);
    assert_null(cfg.https_key);
    assert_int_equal(cfg.interface_timeout_seconds, 14400);
    assert_int_equal(cfg.log_level, LOG_INFO);
    want = fmt("%s/manifests", f->ds);
    assert_string_equal(cfg.manifest_store, want);
    free(want);
    assert_null(cfg.server_certificate);
    assert_null(cfg.topology_components);
    assert_int_equal(cfg.rollback_reboot_retries, 3);
    assert_int_equal(cfg.max_parallel_interfaces, 0);
    assert_int_equal(cfg.reboot_command.n, 1);
    assert_string_equal(cfg.reboot_command.v[0], "reboot");
    assert_int_equal(cfg.reboot_timeout_seconds, 600);
    assert_null(cfg.repository_url);
    char *tp = config_topology_path(&cfg);
    want = fmt("%s/topology.yaml", f->ds);
    assert_string_equal(tp, want);
    free(want);
    free(tp);
    config_free(&cfg);
}

static void env_dirs(void **state)
{
    (void)state;
    struct config cfg;
    setenv("MENDER_ORCHESTRATOR_DATA_DIR", "/opt/mo-data", 1);
    setenv("MENDER_ORCHESTRATOR_TOPOLOGY_DIR", "/opt/topo", 1);
    setenv("MENDER_ORCHESTRATOR_MANIFEST_STORE_DIR", "/opt/manifests", 1);
    setenv("MENDER_ORCHESTRATOR_ARTIFACTS_CACHE_DIR", "/opt/cache", 1);
    setenv("MENDER_ORCHESTRATOR_TOPOLOGY_COMPONENTS_FILE", "/opt/components.yaml", 1);
    load_ok(&cfg, NULL);
    assert_string_equal(cfg.data_dir, "/opt/mo-data");
    assert_string_equal(cfg.topology_dir, "/opt/topo");
    assert_string_equal(cfg.manifest_store, "/opt/manifests");
    assert_string_equal(cfg.cache_path, "/opt/cache");
    assert_string_equal(cfg.topology_components, "/opt/components.yaml");
    char *tp = config_topology_path(&cfg);
    assert_string_equal(tp, "/opt/topo/topology.yaml");
    free(tp);
    config_free(&cfg);
}

static void env_overrides_files(void **state)
{
    struct fixture *f = *state;
    struct config cfg;
    write_file(f->main_file,
               "{\"ManifestStore\": \"/file/manifests\",\n"
               " \"TopologyComponents\": \"/file/components.yaml\",\n"
               " \"ArtifactsCache\": {\"Enabled\": true, \"Path\": \"/file/cache\", \"MaxSizeBytes\": 1000}}\n");
    load_ok(&cfg, NULL);
    assert_string_equal(cfg.manifest_store, "/file/manifests");
    assert_string_equal(cfg.topology_components, "/file/components.yaml");
    assert_string_equal(cfg.cache_path, "/file/cache");
    assert_true(cfg.cache_enabled);
    assert_int_equal(cfg.cache_max_bytes, 1000);
    config_free(&cfg);

    setenv("MENDER_ORCHESTRATOR_MANIFEST_STORE_DIR", "/env/manifests", 1);
    setenv("MENDER_ORCHESTRATOR_TOPOLOGY_COMPONENTS_FILE", "/env/components.yaml", 1);
    setenv("MENDER_ORCHESTRATOR_ARTIFACTS_CACHE_DIR", "/env/cache", 1);
    load_ok(&cfg, NULL);
    assert_string_equal(cfg.manifest_store, "/env/manifests");
    assert_string_equal(cfg.topology_components, "/env/components.yaml");
    assert_string_equal(cfg.cache_path, "/env/cache");
    assert_true(cfg.cache_enabled);
    assert_int_equal(cfg.cache_max_bytes, 1000);
    config_free(&cfg);
}

static void env_empty_is_unset(void **state)
{
    struct fixture *f = *state;
    struct config cfg;
    setenv("MENDER_ORCHESTRATOR_DATA_DIR", "", 1);
    setenv("MENDER_ORCHESTRATOR_TOPOLOGY_DIR", "", 1);
    setenv("MENDER_ORCHESTRATOR_MANIFEST_STORE_DIR", "", 1);
    setenv("MENDER_ORCHESTRATOR_ARTIFACTS_CACHE_DIR", "", 1);
    setenv("MENDER_ORCHESTRATOR_TOPOLOGY_COMPONENTS_FILE", "", 1);
    write_file(f->main_file, "{\"TopologyComponents\": \"/file/components.yaml\"}");
    load_ok(&cfg, NULL);
    assert_string_equal(cfg.data_dir, CONFIG_DEFAULT_DATA_DIR);
    assert_string_equal(cfg.topology_dir, f->ds);
    assert_string_equal(cfg.topology_components, "/file/components.yaml");
    char *want = fmt("%s/manifests", f->ds);
    assert_string_equal(cfg.manifest_store, want);
    free(want);
    want = fmt("%s/artifacts", f->ds);
    assert_string_equal(cfg.cache_path, want);
    free(want);
    config_free(&cfg);
}

/* ---- every key, and main over fallback ---- */

static void all_keys(void **state)
{
    struct fixture *f = *state;
    struct config cfg;
    write_file(f->main_file,
               "{\n"
               "  \"ArtifactVerifyKeys\": [\"/k/a.pem\", \"/k/b.pem\"],\n"
               "  \"ArtifactsCache\": {\"Enabled\": true, \"Path\": \"/c\", \"MaxSizeBytes\": 123456789012},\n"
               "  \"HttpsClient\": {\"Certificate\": \"/tls/c.pem\", \"Key\": \"pkcs11:token=x\"},\n"
               "  \"InterfaceTimeoutSeconds\": 60,\n"
               "  \"LogLevel\": \"trace\",\n"
               "  \"ManifestStore\": \"/m\",\n"
               "  \"ServerCertificate\": \"/tls/server.pem\",\n"
               "  \"TopologyComponents\": \"/t/components.yaml\",\n"
               "  \"RollbackRebootRetries\": 5,\n"
               "  \"MaxParallelInterfaces\": 2,\n"
               "  \"RebootCommand\": [\"/sbin/reboot\", \"-f\"],\n"
               "  \"RebootTimeoutSeconds\": 90,\n"
               "  \"ArtifactRepository\": {\"URL\": \"https://repo.example.com/artifacts\"}\n"
               "}\n");
    load_ok(&cfg, NULL);
    assert_int_equal(cfg.verify_keys.n, 2);
    assert_string_equal(cfg.verify_keys.v[0], "/k/a.pem");
    assert_string_equal(cfg.verify_keys.v[1], "/k/b.pem");
    assert_true(cfg.cache_enabled);
    assert_string_equal(cfg.cache_path, "/c");
    assert_true(cfg.cache_max_bytes == 123456789012ull);
    assert_string_equal(cfg.https_cert, "/tls/c.pem");
    assert_string_equal(cfg.https_key, "pkcs11:token=x");
    assert_int_equal(cfg.interface_timeout_seconds, 60);
    assert_int_equal(cfg.log_level, LOG_TRACE);
    assert_string_equal(cfg.manifest_store, "/m");
    assert_string_equal(cfg.server_certificate, "/tls/server.pem");
    assert_string_equal(cfg.topology_components, "/t/components.yaml");
    assert_int_equal(cfg.rollback_reboot_retries, 5);
    assert_int_equal(cfg.max_parallel_interfaces, 2);
    assert_int_equal(cfg.reboot_command.n, 2);
    assert_string_equal(cfg.reboot_command.v[0], "/sbin/reboot");
    assert_string_equal(cfg.reboot_command.v[1], "-f");
    assert_int_equal(cfg.reboot_timeout_seconds, 90);
    assert_string_equal(cfg.repository_url, "https://repo.example.com/artifacts");
    config_free(&cfg);

    write_file(f->main_file, "{\"ArtifactVerifyKey\": \"/k/single.pem\"}");
    load_ok(&cfg, NULL);
    assert_int_equal(cfg.verify_keys.n, 1);
    assert_string_equal(cfg.verify_keys.v[0], "/k/single.pem");
    config_free(&cfg);
}

static void main_over_fallback(void **state)
{
    struct fixture *f = *state;
    struct config cfg;
    write_file(f->main_file, "{\"ArtifactsCache\": {\"Enabled\": true}, \"LogLevel\": \"debug\"}");
    write_file(f->fb_file, "{\"ArtifactsCache\": {\"Path\": \"/fb/cache\", \"MaxSizeBytes\": 5},\n"
                           " \"LogLevel\": \"error\", \"InterfaceTimeoutSeconds\": 30,\n"
                           " \"RebootCommand\": \"fb-reboot now\"}");
    load_ok(&cfg, NULL);
    /* ArtifactsCache is taken whole from the main file */
    assert_true(cfg.cache_enabled);
    char *want = fmt("%s/artifacts", f->ds);
    assert_string_equal(cfg.cache_path, want);
    free(want);
    assert_int_equal(cfg.cache_max_bytes, 0);
    assert_int_equal(cfg.log_level, LOG_DEBUG);
    /* keys the main file lacks come from the fallback */
    assert_int_equal(cfg.interface_timeout_seconds, 30);
    assert_int_equal(cfg.reboot_command.n, 2);
    assert_string_equal(cfg.reboot_command.v[0], "fb-reboot");
    assert_string_equal(cfg.reboot_command.v[1], "now");
    config_free(&cfg);
}

static void fallback_only(void **state)
{
    struct fixture *f = *state;
    struct config cfg;
    write_file(f->fb_file, "{\"ArtifactsCache\": {\"Enabled\": true, \"Path\": \"/fb/cache\"}}");
    load_ok(&cfg, NULL);
    assert_true(cfg.cache_enabled);
    assert_string_equal(cfg.cache_path, "/fb/cache");
    config_free(&cfg);
}

static void fallback_value_shadowed(void **state)
{
    struct fixture *f = *state;
    struct config cfg;
    /* an invalid fallback value is never used when the main file has the key */
    write_file(f->main_file, "{\"InterfaceTimeoutSeconds\": 10}");
    write_file(f->fb_file, "{\"InterfaceTimeoutSeconds\": \"forever\"}");
    load_ok(&cfg, NULL);
    assert_int_equal(cfg.interface_timeout_seconds, 10);
    config_free(&cfg);
}

/* A UTF-8 byte order mark is skipped; an empty or blank file means every default. */
static void bom_and_empty_files(void **state)
{
    struct fixture *f = *state;
    struct config cfg;
    write_file(f->main_file, "\xEF\xBB\xBF{\"InterfaceTimeoutSeconds\": 10}\n");
    write_file(f->fb_file, "");
    load_ok(&cfg, NULL);
    assert_int_equal(cfg.interface_timeout_seconds, 10);
    config_free(&cfg);
    write_file(f->main_file, "\xEF\xBB\xBF \n\t\r\n");
    write_file(f->fb_file, "\n");
    load_ok(&cfg, NULL);
    assert_int_equal(cfg.interface_timeout_seconds, 14400);
    config_free(&cfg);
}

/* ---- errors ---- */

static void malformed_json(void **state)
{
    struct fixture *f = *state;
    write_file(f->main_file, "{\n  \"LogLevel\": \"info\",\n}\n");
    char *want = fmt("%s:3:1: invalid JSON: string or '}' expected near '}'", f->main_file);
    load_fails_with(NULL, want);
    free(want);

    write_file(f->main_file, "{\"LogLevel\": tru}");
    want = fmt("%s:1:16: invalid JSON: invalid token near 'tru'", f->main_file);
    load_fails_with(NULL, want);
    free(want);
    unlink(f->main_file);

    /* in the fallback file too */
    write_file(f->fb_file, "{\"LogLevel\": \"info\"} x");
    struct config cfg;
    struct diag_list d = { 0 };
    assert_int_equal(config_load(&cfg, NULL, &d), -1);
    assert_int_equal(d.nerrors, 1);
    char *prefix = fmt("%s:1:", f->fb_file);
    assert_true(strncmp(d.errors[0], prefix, strlen(prefix)) == 0);
    assert_non_null(strstr(d.errors[0], "invalid JSON"));
    free(prefix);
    diag_free(&d);

    /* a BOM before the text does not count; a malformed file with one is reported by
     * the position an editor shows (the BOM hidden) */
    write_file(f->fb_file, "\xEF\xBB\xBF{\"LogLevel\": tru}");
    want = fmt("%s:1:16: invalid JSON: invalid token near 'tru'", f->fb_file);
    load_fails_with(NULL, want);
    free(want);

    /* duplicate keys */
    write_file(f->fb_file, "{\"LogLevel\": \"info\", \"LogLevel\": \"debug\"}");
    assert_int_equal(config_load(&cfg, NULL, &d), -1);
    assert_int_equal(d.nerrors, 1);
    assert_non_null(strstr(d.errors[0], "duplicate object key"));
    diag_free(&d);

    /* not an object */
    write_file(f->fb_file, "[1, 2]");
    want = fmt("%s: expected a JSON object at the top level", f->fb_file);
    load_fails_with(NULL, want);
    free(want);
}

static void type_errors(void **state)
{
    struct fixture *f = *state;
    static const struct {
        const char *json;
        const char *msg;
    } cases[] = {
        { "{\"InterfaceTimeoutSeconds\": \"60\"}", "InterfaceTimeoutSeconds: expected a positive integer" },
        { "{\"InterfaceTimeoutSeconds\": 0}", "InterfaceTimeoutSeconds: expected a positive integer" },
        { "{\"InterfaceTimeoutSeconds\": -5}", "InterfaceTimeoutSeconds: expected a positive integer" },
        { "{\"InterfaceTimeoutSeconds\": 1.5}", "InterfaceTimeoutSeconds: expected a positive integer" },
        { "{\"RebootTimeoutSeconds\": null}", "RebootTimeoutSeconds: expected a positive integer" },
        { "{\"RollbackRebootRetries\": 0}", "RollbackRebootRetries: expected a positive integer" },
        { "{\"RollbackRebootRetries\": 4294967296}",
          "RollbackRebootRetries: 4294967296 is too large (at most 2147483647)" },
        { "{\"MaxParallelInterfaces\": -1}", "MaxParallelInterfaces: expected a non-negative integer" },
        { "{\"LogLevel\": 3}", "LogLevel: expected a string" },
        { "{\"LogLevel\": \"verbose\"}",
          "LogLevel: \"verbose\": unknown log level (trace, debug, info, warning, error, fatal)" },
        { "{\"ManifestStore\": 1}", "ManifestStore: expected a string" },
        { "{\"ServerCertificate\": true}", "ServerCertificate: expected a string" },
        { "{\"TopologyComponents\": []}", "TopologyComponents: expected a string" },
        { "{\"ArtifactVerifyKey\": [\"a\"]}", "ArtifactVerifyKey: expected a string" },
        { "{\"ArtifactVerifyKeys\": \"a\"}", "ArtifactVerifyKeys: expected an array of strings" },
        { "{\"ArtifactVerifyKeys\": [\"a\", 2]}", "ArtifactVerifyKeys[1]: expected a non-empty string" },
        { "{\"ArtifactsCache\": true}", "ArtifactsCache: expected an object" },
        { "{\"ArtifactsCache\": {\"Enabled\": \"yes\"}}", "ArtifactsCache.Enabled: expected a boolean" },
        { "{\"ArtifactsCache\": {\"Path\": 5}}", "ArtifactsCache.Path: expected a string" },
        { "{\"ArtifactsCache\": {\"MaxSizeBytes\": -1}}",
          "ArtifactsCache.MaxSizeBytes: expected a non-negative integer" },
        { "{\"HttpsClient\": \"x\"}", "HttpsClient: expected an object" },
        { "{\"HttpsClient\": {\"Key\": 1}}", "HttpsClient.Key: expected a string" },
        { "{\"ArtifactRepository\": {\"URL\": false}}", "ArtifactRepository.URL: expected a string" },
        { "{\"ArtifactRepository\": []}", "ArtifactRepository: expected an object" },
        { "{\"RebootCommand\": 5}", "RebootCommand: expected a string or an array of strings" },
        { "{\"RebootCommand\": \"\"}", "RebootCommand: expected a non-empty command" },
        { "{\"RebootCommand\": \"   \"}", "RebootCommand: expected a non-empty command" },
        { "{\"RebootCommand\": []}", "RebootCommand: expected a non-empty command" },
        { "{\"RebootCommand\": [\"reboot\", 1]}", "RebootCommand[1]: expected a non-empty string" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        write_file(f->main_file, cases[i].json);
        char *want = fmt("%s: %s", f->main_file, cases[i].msg);
        load_fails_with(NULL, want);
        free(want);
    }
}

static void errors_collected(void **state)
{
    struct fixture *f = *state;
    write_file(f->main_file, "{\"InterfaceTimeoutSeconds\": 0, \"LogLevel\": \"x\", \"Bogus\": 1}");
    write_file(f->fb_file, "{\"RebootTimeoutSeconds\": \"soon\"}");
    struct config cfg;
    struct diag_list d = { 0 };
    assert_int_equal(config_load(&cfg, NULL, &d), -1);
    assert_int_equal(d.nerrors, 3);
    assert_int_equal(d.nwarnings, 1);
    char *e = fmt("%s: RebootTimeoutSeconds: expected a positive integer", f->fb_file);
    assert_true(has_msg(d.errors, d.nerrors, e));
    free(e);
    diag_free(&d);
}

static void both_verify_keys(void **state)
{
    struct fixture *f = *state;
    write_file(f->main_file, "{\"ArtifactVerifyKey\": \"/a.pem\", \"ArtifactVerifyKeys\": [\"/b.pem\"]}");
    char *want = fmt("%s: ArtifactVerifyKey and ArtifactVerifyKeys are both set; only one may be set", f->main_file);
    load_fails_with(NULL, want);
    free(want);

    /* one in each file: both end up set */
    write_file(f->main_file, "{\"ArtifactVerifyKey\": \"/a.pem\"}");
    write_file(f->fb_file, "{\"ArtifactVerifyKeys\": [\"/b.pem\"]}");
    want = fmt("%s: ArtifactVerifyKey and ArtifactVerifyKeys (in %s) are both set; only one may be set", f->main_file,
               f->fb_file);
    load_fails_with(NULL, want);
    free(want);

    /* an empty value counts as unset */
    write_file(f->main_file, "{\"ArtifactVerifyKey\": \"\", \"ArtifactVerifyKeys\": [\"/b.pem\"]}");
    unlink(f->fb_file);
    struct config cfg;
    load_ok(&cfg, NULL);
    assert_int_equal(cfg.verify_keys.n, 1);
    assert_string_equal(cfg.verify_keys.v[0], "/b.pem");
    config_free(&cfg);
    write_file(f->main_file, "{\"ArtifactVerifyKey\": \"/a.pem\", \"ArtifactVerifyKeys\": []}");
    load_ok(&cfg, NULL);
    assert_int_equal(cfg.verify_keys.n, 1);
    assert_string_equal(cfg.verify_keys.v[0], "/a.pem");
    config_free(&cfg);
}

static void unknown_keys_warn(void **state)
{
    struct fixture *f = *state;
    write_file(f->main_file, "{\"Foo\": 1,\n"
                             " \"ArtifactsCache\": {\"Enabled\": false, \"Bar\": 2},\n"
                             " \"HttpsClient\": {\"SSLEngine\": \"x\"},\n"
                             " \"ArtifactRepository\": {\"URL\": \"https://r\", \"Token\": \"t\"}}");
    write_file(f->fb_file, "{\"Baz\": true}");
    struct config cfg;
    struct diag_list d = { 0 };
    assert_int_equal(config_load(&cfg, NULL, &d), 0);
    assert_int_equal(d.nerrors, 0);
    assert_int_equal(d.nwarnings, 5);
    char *w[5] = {
        fmt("%s: Foo: unknown key", f->main_file),
        fmt("%s: ArtifactsCache.Bar: unknown key", f->main_file),
        fmt("%s: HttpsClient.SSLEngine: unknown key", f->main_file),
        fmt("%s: ArtifactRepository.Token: unknown key", f->main_file),
        fmt("%s: Baz: unknown key", f->fb_file),
    };
    for (int i = 0; i < 5; i++) {
        assert_true(has_msg(d.warnings, d.nwarnings, w[i]));
        free(w[i]);
    }
    assert_string_equal(cfg.repository_url, "https://r");
    diag_free(&d);
    config_free(&cfg);
}

/* ---- command line ---- */

static void cli_overrides(void **state)
{
    struct fixture *f = *state;
    write_file(f->main_file, "{\"LogLevel\": \"error\", \"TopologyComponents\": \"/file/c.yaml\"}");
    setenv("MENDER_ORCHESTRATOR_TOPOLOGY_COMPONENTS_FILE", "/env/c.yaml", 1);
    struct config cfg;
    struct config_overrides cli = { .log_level = "debug", .topology_components = "/cli/c.yaml" };
    load_ok(&cfg, &cli);
    assert_int_equal(cfg.log_level, LOG_DEBUG);
    assert_string_equal(cfg.topology_components, "/cli/c.yaml");
    config_free(&cfg);

    struct config_overrides none = { 0 };
    load_ok(&cfg, &none);
    assert_int_equal(cfg.log_level, LOG_ERROR);
    assert_string_equal(cfg.topology_components, "/env/c.yaml");
    config_free(&cfg);

    /* an unknown level on the command line is an error */
    struct config_overrides bad = { .log_level = "loud" };
    load_fails_with(&bad, "--log-level: \"loud\": unknown log level (trace, debug, info, warning, error, fatal)");
}

static void reboot_command_forms(void **state)
{
    struct fixture *f = *state;
    struct config cfg;
    write_file(f->main_file, "{\"RebootCommand\": \"  systemctl  reboot --force \"}");
    load_ok(&cfg, NULL);
    assert_int_equal(cfg.reboot_command.n, 3);
    assert_string_equal(cfg.reboot_command.v[0], "systemctl");
    assert_string_equal(cfg.reboot_command.v[1], "reboot");
    assert_string_equal(cfg.reboot_command.v[2], "--force");
    config_free(&cfg);

    write_file(f->main_file, "{\"RebootCommand\": [\"/bin/sh\", \"-c\", \"sync; reboot now\"]}");
    load_ok(&cfg, NULL);
    assert_int_equal(cfg.reboot_command.n, 3);
    assert_string_equal(cfg.reboot_command.v[0], "/bin/sh");
    assert_string_equal(cfg.reboot_command.v[1], "-c");
    assert_string_equal(cfg.reboot_command.v[2], "sync; reboot now");
    config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(defaults_builtin, setup, teardown),
        cmocka_unit_test_setup_teardown(defaults_no_files, setup, teardown),
        cmocka_unit_test_setup_teardown(env_dirs, setup, teardown),
        cmocka_unit_test_setup_teardown(env_overrides_files, setup, teardown),
        cmocka_unit_test_setup_teardown(env_empty_is_unset, setup, teardown),
        cmocka_unit_test_setup_teardown(bom_and_empty_files, setup, teardown),
        cmocka_unit_test_setup_teardown(all_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(main_over_fallback, setup, teardown),
        cmocka_unit_test_setup_teardown(fallback_only, setup, teardown),
        cmocka_unit_test_setup_teardown(fallback_value_shadowed, setup, teardown),
        cmocka_unit_test_setup_teardown(malformed_json, setup, teardown),
        cmocka_unit_test_setup_teardown(type_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(errors_collected, setup, teardown),
        cmocka_unit_test_setup_teardown(both_verify_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_keys_warn, setup, teardown),
        cmocka_unit_test_setup_teardown(cli_overrides, setup, teardown),
        cmocka_unit_test_setup_teardown(reboot_command_forms, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

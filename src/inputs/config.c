/* Configuration (docs/configuration.md).
 *
 * Two JSON files are merged per top-level key: a key present in the main file
 * ({conf}/mender-orchestrator.conf) wins as a whole (nested objects are not
 * merged); the fallback file ({datastore}/mender-orchestrator.conf) supplies only
 * keys the main file lacks. Environment variables and the command line override
 * the files. Every problem is collected in the diag list so that all of them are
 * reported at once. */
#include "inputs/config.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/mem.h"

#define CONFIG_FILE_NAME "mender-orchestrator.conf"
#define CONFIG_FILE_MAX (1024u * 1024)

/* An environment variable; empty counts as unset. */
static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && v[0] ? v : NULL;
}

static void set_str(char **dst, const char *value)
{
    char *v = value ? xstrdup(value) : NULL;
    free(*dst);
    *dst = v;
}

/* True when buf holds only JSON whitespace. */
static bool blank(const char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!strchr(" \t\r\n", buf[i]) || !buf[i])
            return false;
    return true;
}

/* Parses one file's contents. A UTF-8 byte order mark is skipped (editors write one and
 * hide it); an empty (or blank) file is an empty object: every key takes its default. */
static json_t *parse_json(const char *path, const char *buf, size_t len, struct diag_list *d)
{
    static const char bom[] = "\xEF\xBB\xBF";
    if (len >= 3 && memcmp(buf, bom, 3) == 0) {
        buf += 3;
        len -= 3;
    }
    if (blank(buf, len))
        return json_object();
    json_error_t err;
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
    if (!root) {
        char *why = diag_printable(err.text);
        diag_error(d, path, err.line > 0 ? err.line : 0, err.line > 0 ? (err.column > 0 ? err.column : 1) : 0,
                   "invalid JSON: %s", why);
        free(why);
        return NULL;
    }
    if (!json_is_object(root)) {
        diag_error(d, path, 0, 0, "expected a JSON object at the top level");
        json_decref(root);
        return NULL;
    }
    return root;
}

/* Reads and parses one file. Missing = NULL without error. */
static json_t *load_file(const char *path, struct diag_list *d)
{
    char *buf = NULL;
    size_t len = 0;
    if (fs_read_file(path, CONFIG_FILE_MAX, &buf, &len) < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return NULL;
        if (errno == EFBIG)
            diag_error(d, path, 0, 0, "file larger than %u bytes", CONFIG_FILE_MAX);
        else
            diag_error(d, path, 0, 0, "cannot read: %s", strerror(errno));
        return NULL;
    }
    json_t *root = parse_json(path, buf, len, d);
    free(buf);
    return root;
}

/* A file given in memory (text NULL = missing). */
static json_t *load_text(const char *path, const char *text, size_t len, struct diag_list *d)
{
    if (!text)
        return NULL;
    if (len > CONFIG_FILE_MAX) {
        diag_error(d, path, 0, 0, "file larger than %u bytes", CONFIG_FILE_MAX);
        return NULL;
    }
    return parse_json(path, text, len, d);
}

/* ---- value helpers: each reports "file: key: expected ..." and returns -1 ---- */

/* Optional string: "" counts as unset (*out left alone). */
static int get_string(struct diag_list *d, const char *file, const char *key, json_t *v, char **out)
{
    if (!json_is_string(v)) {
        diag_error(d, file, 0, 0, "%s: expected a string", key);
        return -1;
    }
    if (json_string_length(v) != strlen(json_string_value(v))) {
        diag_error(d, file, 0, 0, "%s: string contains a NUL character", key);
        return -1;
    }
    if (json_string_value(v)[0])
        set_str(out, json_string_value(v));
    return 0;
}

static int get_bool(struct diag_list *d, const char *file, const char *key, json_t *v, bool *out)
{
    if (!json_is_boolean(v)) {
        diag_error(d, file, 0, 0, "%s: expected a boolean", key);
        return -1;
    }
    *out = json_is_true(v);
    return 0;
}

/* Integer in [min, max]. */
static int get_int(struct diag_list *d, const char *file, const char *key, json_t *v, json_int_t min, json_int_t max,
                   json_int_t *out)
{
    const char *what = min > 0 ? "a positive integer" : "a non-negative integer";
    if (!json_is_integer(v)) {
        diag_error(d, file, 0, 0, "%s: expected %s", key, what);
        return -1;
    }
    json_int_t i = json_integer_value(v);
    if (i < min) {
        diag_error(d, file, 0, 0, "%s: expected %s", key, what);
        return -1;
    }
    if (i > max) {
        diag_error(d, file, 0, 0, "%s: %lld is too large (at most %lld)", key, (long long)i, (long long)max);
        return -1;
    }
    *out = i;
    return 0;
}

/* Array of non-empty strings into out (replacing it). */
static int get_string_array(struct diag_list *d, const char *file, const char *key, json_t *v, struct strv *out)
{
    if (!json_is_array(v)) {
        diag_error(d, file, 0, 0, "%s: expected an array of strings", key);
        return -1;
    }
    struct strv l = { 0 };
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
        if (!json_is_string(e) || !json_string_value(e)[0] || json_string_length(e) != strlen(json_string_value(e))) {
            diag_error(d, file, 0, 0, "%s[%zu]: expected a non-empty string", key, i);
            strv_free(&l);
            return -1;
        }
        strv_push(&l, json_string_value(e));
    }
    strv_free(out);
    *out = l;
    return 0;
}

/* ---- one value per known key ---- */

static void unknown_nested(struct diag_list *d, const char *file, const char *parent, json_t *obj,
                           const char *const *known)
{
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        bool ok = false;
        for (size_t i = 0; known[i]; i++)
            if (strcmp(k, known[i]) == 0)
                ok = true;
        if (!ok) {
            char *pk = diag_printable(k);
            diag_warn(d, file, 0, 0, "%s.%s: unknown key", parent, pk);
            free(pk);
        }
    }
}

static void do_cache(struct config *cfg, struct diag_list *d, const char *file, json_t *v)
{
    static const char *const known[] = { "Enabled", "Path", "MaxSizeBytes", NULL };
    if (!json_is_object(v)) {
        diag_error(d, file, 0, 0, "ArtifactsCache: expected an object");
        return;
    }
    unknown_nested(d, file, "ArtifactsCache", v, known);
    json_t *e;
    if ((e = json_object_get(v, "Enabled")))
        get_bool(d, file, "ArtifactsCache.Enabled", e, &cfg->cache_enabled);
    if ((e = json_object_get(v, "Path")))
        get_string(d, file, "ArtifactsCache.Path", e, &cfg->cache_path);
    json_int_t n;
    if ((e = json_object_get(v, "MaxSizeBytes")) &&
        get_int(d, file, "ArtifactsCache.MaxSizeBytes", e, 0, LLONG_MAX, &n) == 0)
        cfg->cache_max_bytes = (uint64_t)n;
}

static void do_https(struct config *cfg, struct diag_list *d, const char *file, json_t *v)
{
    static const char *const known[] = { "Certificate", "Key", NULL };
    if (!json_is_object(v)) {
        diag_error(d, file, 0, 0, "HttpsClient: expected an object");
        return;
    }
    unknown_nested(d, file, "HttpsClient", v, known);
    json_t *e;
    if ((e = json_object_get(v, "Certificate")))
        get_string(d, file, "HttpsClient.Certificate", e, &cfg->https_cert);
    if ((e = json_object_get(v, "Key")))
        get_string(d, file, "HttpsClient.Key", e, &cfg->https_key);
}

static void do_repository(struct config *cfg, struct diag_list *d, const char *file, json_t *v)
{
    static const char *const known[] = { "URL", NULL };
    if (!json_is_object(v)) {
        diag_error(d, file, 0, 0, "ArtifactRepository: expected an object");
        return;
    }
    unknown_nested(d, file, "ArtifactRepository", v, known);
    json_t *e;
    if ((e = json_object_get(v, "URL")))
        get_string(d, file, "ArtifactRepository.URL", e, &cfg->repository_url);
}

static void do_verify_key(struct config *cfg, struct diag_list *d, const char *file, json_t *v)
{
    char *s = NULL;
    if (get_string(d, file, "ArtifactVerifyKey", v, &s) == 0 && s) {
        strv_free(&cfg->verify_keys);
        strv_push_owned(&cfg->verify_keys, s);
    }
}

static void do_verify_keys(struct config *cfg, struct diag_list *d, const char *file, json_t *v)
{
    struct strv l = { 0 };
    if (get_string_array(d, file, "ArtifactVerifyKeys", v, &l) == 0 && l.n > 0) {
        strv_free(&cfg->verify_keys);
        cfg->verify_keys = l;
    } else {
        strv_free(&l);
    }
}

static void do_timeout(struct config *cfg, struct diag_list *d, const char *file, json_t *v)
{
    json_int_t n;
    if (get_int(d, file, "InterfaceTimeoutSeconds", v, 1, LONG_MAX, &n) == 0)
        cfg->interface_timeout_seconds = (long)n;
}

static void do_log_level(struct config *cfg, struct diag_list *d, const char *file, json_t *v)
{
    if (!json_is_string(v)) {
        diag_error(d, file, 0, 0, "LogLevel: expected a string");
        return;
    }
    if (log_level_parse(json_string_value(v), &cfg->log_level) < 0) {
        char *pv = diag_printable(json_string_value(v));
        diag_error(d, file, 0, 0, "LogLevel: \"%s\": unknown log level (trace, debug, info, warning, error, fatal)",
                   pv);
        free(pv);
    }
}

static void do_manifest_store(struct config *cfg, struct diag_list *d, const char *file, json_t *v)
{
    get_string(d, file, "ManifestStore", v, &cfg->manifest_store);
}

static void do_server_cert(struct config *cfg, struct diag_list *d, const char *file, json_t *v)
{
    get_string(d, file, "ServerCertificate", v, &cfg->server_certificate);
}

static void do_topology_components(struct config *cfg, struct diag_list *d, const char *file, json_t *v)
{
    get_string(d, file, "TopologyComponents", v, &cfg->topology_components);
}

static void do_rollback_retries(struct config *cfg, struct diag_list *d, const char *file, json_t *v)
{
    json_int_t n;
    if (get_int(d, file, "RollbackRebootRetries", v, 1, INT_MAX, &n) == 0)
        cfg->rollback_reboot_retries = (int)n;
}

static void do_max_parallel(struct config *cfg, struct diag_list *d, const char *file, json_t *v)
{
    json_int_t n;
    if (get_int(d, file, "MaxParallelInterfaces", v, 0, INT_MAX, &n) == 0)
        cfg->max_parallel_interfaces = (int)n;
}

static void do_reboot_command(struct config *cfg, struct diag_list *d, const char *file, json_t *v)
{
    if (json_is_string(v)) {
        struct strv l = { 0 };
        const char *p = json_string_value(v);
        while (*p) {
            while (*p == ' ')
                p++;
            const char *start = p;
            while (*p && *p != ' ')
                p++;
            if (p > start)
                strv_push_owned(&l, xstrndup(start, (size_t)(p - start)));
        }
        if (l.n == 0 || json_string_length(v) != strlen(json_string_value(v))) {
            diag_error(d, file, 0, 0, "RebootCommand: expected a non-empty command");
            strv_free(&l);
            return;
        }
        strv_free(&cfg->reboot_command);
        cfg->reboot_command = l;
        return;
    }
    if (!json_is_array(v)) {
        diag_error(d, file, 0, 0, "RebootCommand: expected a string or an array of strings");
        return;
    }
    if (json_array_size(v) == 0) {
        diag_error(d, file, 0, 0, "RebootCommand: expected a non-empty command");
        return;
    }
    get_string_array(d, file, "RebootCommand", v, &cfg->reboot_command);
}

static void do_reboot_timeout(struct config *cfg, struct diag_list *d, const char *file, json_t *v)
{
    json_int_t n;
    if (get_int(d, file, "RebootTimeoutSeconds", v, 1, LONG_MAX, &n) == 0)
        cfg->reboot_timeout_seconds = (long)n;
}

struct key_handler {
    const char *key;
    void (*fn)(struct config *cfg, struct diag_list *d, const char *file, json_t *v);
};

static const struct key_handler handlers[] = {
    { "ArtifactVerifyKey", do_verify_key },
    { "ArtifactVerifyKeys", do_verify_keys },
    { "ArtifactsCache", do_cache },
    { "HttpsClient", do_https },
    { "InterfaceTimeoutSeconds", do_timeout },
    { "LogLevel", do_log_level },
    { "ManifestStore", do_manifest_store },
    { "ServerCertificate", do_server_cert },
    { "TopologyComponents", do_topology_components },
    { "RollbackRebootRetries", do_rollback_retries },
    { "MaxParallelInterfaces", do_max_parallel },
    { "RebootCommand", do_reboot_command },
    { "RebootTimeoutSeconds", do_reboot_timeout },
    { "ArtifactRepository", do_repository },
};
#define NHANDLERS (sizeof(handlers) / sizeof(handlers[0]))

static void warn_unknown(struct diag_list *d, const char *file, json_t *root)
{
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v) {
        bool ok = false;
        for (size_t i = 0; i < NHANDLERS; i++)
            if (strcmp(k, handlers[i].key) == 0)
                ok = true;
        if (!ok) {
            char *pk = diag_printable(k);
            diag_warn(d, file, 0, 0, "%s: unknown key", pk);
            free(pk);
        }
    }
}

/* The value of a top-level key: main file first, then fallback. */
static json_t *pick(json_t *main_root, const char *main_file, json_t *fb_root, const char *fb_file, const char *key,
                    const char **file)
{
    json_t *v;
    if (main_root && (v = json_object_get(main_root, key))) {
        *file = main_file;
        return v;
    }
    if (fb_root && (v = json_object_get(fb_root, key))) {
        *file = fb_file;
        return v;
    }
    *file = NULL;
    return NULL;
}

/* "Set" = present with a non-empty value (an empty value counts as unset). */
static bool verify_value_set(json_t *v)
{
    if (json_is_string(v))
        return json_string_value(v)[0] != '\0';
    if (json_is_array(v))
        return json_array_size(v) > 0;
    return v != NULL;
}

/* The two files' contents in memory, for config_load_texts. */
struct config_texts {
    const char *main_text, *fallback_text;
    size_t main_len, fallback_len;
};

/* The folders (from the environment) and the defaults of every setting. */
static void set_defaults(struct config *cfg)
{
    const char *s;
    cfg->conf_dir = xstrdup((s = env("MENDER_ORCHESTRATOR_CONF_DIR")) ? s : CONFIG_DEFAULT_CONF_DIR);
    cfg->data_dir = xstrdup((s = env("MENDER_ORCHESTRATOR_DATA_DIR")) ? s : CONFIG_DEFAULT_DATA_DIR);
    cfg->datastore_dir = xstrdup((s = env("MENDER_ORCHESTRATOR_DATASTORE_DIR")) ? s : CONFIG_DEFAULT_DATASTORE_DIR);
    cfg->topology_dir = xstrdup((s = env("MENDER_ORCHESTRATOR_TOPOLOGY_DIR")) ? s : cfg->datastore_dir);
    cfg->main_file = fs_join(cfg->conf_dir, CONFIG_FILE_NAME);
    cfg->fallback_file = fs_join(cfg->datastore_dir, CONFIG_FILE_NAME);

    cfg->cache_enabled = false;
    cfg->cache_max_bytes = 0;
    cfg->interface_timeout_seconds = 14400;
    cfg->log_level = LOG_INFO;
    cfg->rollback_reboot_retries = 3;
    cfg->max_parallel_interfaces = 0;
    strv_push(&cfg->reboot_command, "reboot");
    cfg->reboot_timeout_seconds = 600;
}

/* The settings of the two files: each key from the main file, else from the fallback. */
static void apply_files(struct config *cfg, const struct config_texts *texts, struct diag_list *d)
{
    json_t *main_root = texts ? load_text(cfg->main_file, texts->main_text, texts->main_len, d)
                              : load_file(cfg->main_file, d);
    json_t *fb_root = NULL;
    if (strcmp(cfg->fallback_file, cfg->main_file) != 0)
        fb_root = texts ? load_text(cfg->fallback_file, texts->fallback_text, texts->fallback_len, d)
                        : load_file(cfg->fallback_file, d);
    if (main_root)
        warn_unknown(d, cfg->main_file, main_root);
    if (fb_root)
        warn_unknown(d, cfg->fallback_file, fb_root);

    const char *fk1, *fk2;
    json_t *k1 = pick(main_root, cfg->main_file, fb_root, cfg->fallback_file, "ArtifactVerifyKey", &fk1);
    json_t *k2 = pick(main_root, cfg->main_file, fb_root, cfg->fallback_file, "ArtifactVerifyKeys", &fk2);
    if (verify_value_set(k1) && verify_value_set(k2)) {
        if (fk1 == fk2)
            diag_error(d, fk1, 0, 0, "ArtifactVerifyKey and ArtifactVerifyKeys are both set; only one may be set");
        else
            diag_error(d, fk1, 0, 0,
                       "ArtifactVerifyKey and ArtifactVerifyKeys (in %s) are both set; only one may be set", fk2);
    }

    for (size_t i = 0; i < NHANDLERS; i++) {
        const char *file;
        json_t *v = pick(main_root, cfg->main_file, fb_root, cfg->fallback_file, handlers[i].key, &file);
        if (v)
            handlers[i].fn(cfg, d, file, v);
    }
    json_decref(main_root);
    json_decref(fb_root);
}

/* What the environment and then the command line override, and the defaults that
 * depend on other values. */
static void apply_overrides(struct config *cfg, const struct config_overrides *cli, struct diag_list *d)
{
    const char *s;
    if ((s = env("MENDER_ORCHESTRATOR_TOPOLOGY_COMPONENTS_FILE")))
        set_str(&cfg->topology_components, s);
    if ((s = env("MENDER_ORCHESTRATOR_MANIFEST_STORE_DIR")))
        set_str(&cfg->manifest_store, s);
    if ((s = env("MENDER_ORCHESTRATOR_ARTIFACTS_CACHE_DIR")))
        set_str(&cfg->cache_path, s);

    if (cli && cli->log_level && log_level_parse(cli->log_level, &cfg->log_level) < 0) {
        _cleanup_free_ char *pv = diag_printable(cli->log_level);
        diag_error(d, NULL, 0, 0, "--log-level: \"%s\": unknown log level (trace, debug, info, warning, error, fatal)",
                   pv);
    }
    if (cli && cli->topology_components && cli->topology_components[0])
        set_str(&cfg->topology_components, cli->topology_components);

    if (!cfg->manifest_store)
        cfg->manifest_store = fs_join(cfg->datastore_dir, "manifests");
    if (!cfg->cache_path)
        cfg->cache_path = fs_join(cfg->datastore_dir, "artifacts");
}

/* Defaults, then the files, the environment and the command line, each over the one
 * before. */
static int load(struct config *cfg, const struct config_overrides *cli, const struct config_texts *texts,
                struct diag_list *d)
{
    size_t errors_before = d->nerrors;
    memset(cfg, 0, sizeof(*cfg));
    set_defaults(cfg);
    apply_files(cfg, texts, d);
    apply_overrides(cfg, cli, d);
    if (d->nerrors > errors_before) {
        config_free(cfg);
        return -1;
    }
    return 0;
}

int config_load(struct config *cfg, const struct config_overrides *cli, struct diag_list *d)
{
    return load(cfg, cli, NULL, d);
}

int config_load_texts(struct config *cfg, const struct config_overrides *cli, const char *main_text, size_t main_len,
                      const char *fallback_text, size_t fallback_len, struct diag_list *d)
{
    struct config_texts t = { .main_text = main_text,
                              .main_len = main_len,
                              .fallback_text = fallback_text,
                              .fallback_len = fallback_len };
    return load(cfg, cli, &t, d);
}

void config_free(struct config *cfg)
{
    if (!cfg)
        return;
    free(cfg->conf_dir);
    free(cfg->data_dir);
    free(cfg->datastore_dir);
    free(cfg->topology_dir);
    free(cfg->main_file);
    free(cfg->fallback_file);
    strv_free(&cfg->verify_keys);
    free(cfg->cache_path);
    free(cfg->https_cert);
    free(cfg->https_key);
    free(cfg->manifest_store);
    free(cfg->server_certificate);
    free(cfg->topology_components);
    strv_free(&cfg->reboot_command);
    free(cfg->repository_url);
    memset(cfg, 0, sizeof(*cfg));
}

char *config_topology_path(const struct config *cfg)
{
    const char *dir = cfg->topology_dir ? cfg->topology_dir : CONFIG_DEFAULT_DATASTORE_DIR;
    return fs_join(dir, "topology.yaml");
}

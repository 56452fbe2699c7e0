/* The header member of a v3 Artifact (docs/artifact-format.md): header-info, state
 * scripts (validated and ignored), headers/0000/type-info and headers/0000/meta-data.
 * Messages name the file inside the header ("header-info: payloads: empty list"); the
 * reader puts the member's name in front. */
#include <archive_entry.h>
#include <assert.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "artifact/artifact_int.h"
#include "util/diag.h"
#include "util/mem.h"

/* Entries in a header (header-info, type-info, meta-data, scripts, directories). */
#define HEADER_MAX_ENTRIES 1024

bool artifact_script_name_ok(const char *s)
{
    static const char *const states[] = { "Install", "Reboot", "Rollback", "RollbackReboot", "Commit", "Failure" };
    static const char *const actions[] = { "Enter", "Leave", "Error" };
    if (strncmp(s, "Artifact", 8) != 0)
        return false;
    s += 8;
    const char *after = NULL;
    for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
        size_t l = strlen(states[i]);
        if (strncmp(s, states[i], l) == 0 && s[l] == '_') {
            after = s + l + 1;
            break;
        }
    }
    if (!after)
        return false;
    s = after;
    after = NULL;
    for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
        size_t l = strlen(actions[i]);
        if (strncmp(s, actions[i], l) == 0 && s[l] == '_') {
            after = s + l + 1;
            break;
        }
    }
    if (!after)
        return false;
    s = after;
    if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]))
        return false;
    s += 2;
    if (*s == '\0')
        return true;
    if (*s != '_' || s[1] == '\0')
        return false;
    /* (_\S+)?: no whitespace; no '/' either, scripts live directly under scripts/. */
    for (s++; *s; s++)
        if (isspace((unsigned char)*s) || *s == '/' || (unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

/* ---- JSON helpers ---------------------------------------------------------------- */

static json_t *load_json(const char *buf, size_t len, struct error **err)
{
    json_error_t je;
    _cleanup_json_ json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        error_set(err, 0, "invalid JSON: %s (line %d, column %d)", je.text, je.line, je.column);
        return NULL;
    }
    if (!json_is_object(root)) {
        error_set(err, 0, "not a JSON object");
        return NULL;
    }
    return TAKE_PTR(root);
}

/* An array of strings into out. required: must be present; nonempty: at least one
 * element, and no empty strings. Absent or null (when optional) leaves out empty. */
static int get_str_array(json_t *obj, const char *key, const char *path, bool required, bool nonempty, struct strv *out,
                         struct error **err)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return required ? error_set(err, 0, "%s: missing", path) : 0;
    if (!json_is_array(v))
        return error_set(err, 0, "%s: not an array of strings", path);
    if (nonempty && json_array_size(v) == 0)
        return error_set(err, 0, "%s: empty list", path);
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
        if (!json_is_string(e))
            return error_set(err, 0, "%s[%zu]: not a string", path, i);
        if (nonempty && json_string_length(e) == 0)
            return error_set(err, 0, "%s[%zu]: empty string", path, i);
        strv_push(out, json_string_value(e));
    }
    return 0;
}

bool artifact_one_line(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

static int not_one_line(const char *path, const char *value, struct error **err)
{
    _cleanup_free_ char *shown = diag_printable(value);
    return error_set(err, 0, "%s: \"%s\": control characters are not allowed; rebuild the Artifact without them", path,
                     shown);
}

/* ---- header-info ----------------------------------------------------------------- */

/* payloads: exactly one, its type a non-empty string or null (bootstrap). */
static int header_info_payload(json_t *root, struct artifact_info *info, struct error **err)
{
    json_t *payloads = json_object_get(root, "payloads");
    if (!payloads || !json_is_array(payloads)) {
        if (json_object_get(root, "updates"))
            return error_set(err, 0, "version 2 header (\"updates\") in a version 3 artifact");
        return error_set(err, 0, "payloads: missing or not an array");
    }
    if (json_array_size(payloads) == 0)
        return error_set(err, 0, "payloads: empty list");
    if (json_array_size(payloads) > 1)
        return error_set(err, 0, "artifacts with more than one payload are not supported");
    json_t *p0 = json_array_get(payloads, 0);
    if (!json_is_object(p0))
        return error_set(err, 0, "payloads[0]: not an object");
    json_t *t = json_object_get(p0, "type");
    if (!t)
        return error_set(err, 0, "payloads[0].type: missing");
    if (json_is_string(t)) {
        if (json_string_length(t) == 0)
            return error_set(err, 0, "payloads[0].type: empty string");
        info->payload_type = xstrdup(json_string_value(t));
    } else if (!json_is_null(t)) {
        return error_set(err, 0, "payloads[0].type: not a string or null");
    }
    return 0;
}

static int parse_header_info(const char *buf, size_t len, struct artifact_info *info, struct error **err)
{
    _cleanup_json_ json_t *root = load_json(buf, len, err);
    if (!root || header_info_payload(root, info, err) < 0)
        return -1;

    json_t *prov = json_object_get(root, "artifact_provides");
    if (!json_is_object(prov))
        return error_set(err, 0, "artifact_provides: missing or not an object");
    json_t *name = json_object_get(prov, "artifact_name");
    if (!json_is_string(name) || json_string_length(name) == 0)
        return error_set(err, 0, "artifact_provides.artifact_name: missing or not a non-empty string");
    if (!artifact_one_line(json_string_value(name)))
        return not_one_line("artifact_provides.artifact_name", json_string_value(name), err);
    info->artifact_name = xstrdup(json_string_value(name));
    json_t *group = json_object_get(prov, "artifact_group");
    if (group && !json_is_null(group)) {
        if (!json_is_string(group))
            return error_set(err, 0, "artifact_provides.artifact_group: not a string");
        if (!artifact_one_line(json_string_value(group)))
            return not_one_line("artifact_provides.artifact_group", json_string_value(group), err);
        if (json_string_length(group) > 0)
            info->artifact_group = xstrdup(json_string_value(group));
    }

    json_t *deps = json_object_get(root, "artifact_depends");
    if (!json_is_object(deps))
        return error_set(err, 0, "artifact_depends: missing or not an object");
    if (get_str_array(deps, "device_type", "artifact_depends.device_type", true, true, &info->compatible_types, err) <
            0 ||
        get_str_array(deps, "artifact_name", "artifact_depends.artifact_name", false, false,
                      &info->depends_artifact_name, err) < 0 ||
        get_str_array(deps, "artifact_group", "artifact_depends.artifact_group", false, false,
                      &info->depends_artifact_group, err) < 0)
        return -1;
    return 0;
}

/* ---- type-info ------------------------------------------------------------------- */

static void dependlist_add(struct dependlist *l, const char *key, struct strv *values)
{
    l->items = xrealloc(l->items, (l->n + 1) * sizeof(*l->items));
    l->items[l->n].key = xstrdup(key);
    l->items[l->n].values = *values;
    l->n++;
    values->v = NULL;
    values->n = 0;
}

/* type: the header-info's payload type ("" also stands for rootfs-image), or null for
 * a bootstrap Artifact. */
static int type_info_type(json_t *root, const struct artifact_info *info, struct error **err)
{
    json_t *t = json_object_get(root, "type");
    if (!t)
        return error_set(err, 0, "type: missing");
    if (json_is_null(t)) {
        if (info->payload_type)
            return error_set(err, 0, "type null does not match header-info type \"%s\"", info->payload_type);
        return 0;
    }
    if (!json_is_string(t))
        return error_set(err, 0, "type: not a string or null");
    const char *ts = json_string_value(t);
    bool ok = info->payload_type && (strcmp(ts, info->payload_type) == 0 ||
                                     (ts[0] == '\0' && strcmp(info->payload_type, "rootfs-image") == 0));
    if (!ok)
        return error_set(err, 0, "type \"%s\" does not match header-info type %s%s%s", ts,
                         info->payload_type ? "\"" : "", info->payload_type ? info->payload_type : "null",
                         info->payload_type ? "\"" : "");
    return 0;
}

static int type_info_provides(json_t *prov, struct artifact_info *info, struct error **err)
{
    if (!json_is_object(prov))
        return error_set(err, 0, "artifact_provides: not an object");
    info->has_type_provides = true;
    const char *k;
    json_t *v;
    json_object_foreach(prov, k, v) {
        if (k[0] == '\0')
            return error_set(err, 0, "artifact_provides: empty key");
        if (!json_is_string(v))
            return error_set(err, 0, "artifact_provides.%s: not a string", k);
        if (!artifact_one_line(k) || strchr(k, '=') || strchr(k, ' ')) {
            _cleanup_free_ char *shown = diag_printable(k);
            return error_set(err, 0,
                             "artifact_provides: \"%s\": a key holds no control character, space or '='; rebuild "
                             "the Artifact with another key",
                             shown);
        }
        if (!artifact_one_line(json_string_value(v))) {
            _cleanup_free_ char *path = xasprintf("artifact_provides.%s", k);
            return not_one_line(path, json_string_value(v), err);
        }
        if (strcmp(k, "artifact_name") == 0 || (strcmp(k, "artifact_group") == 0 && info->artifact_group))
            return error_set(err, 0, "artifact_provides.%s: already provided by header-info", k);
        kvl_set(&info->type_provides, k, json_string_value(v));
    }
    return 0;
}

/* artifact_depends: each key a string (a 1-list) or a list of strings. */
static int type_info_depends(json_t *deps, struct artifact_info *info, struct error **err)
{
    if (!json_is_object(deps))
        return error_set(err, 0, "artifact_depends: not an object");
    const char *k;
    json_t *v;
    json_object_foreach(deps, k, v) {
        if (k[0] == '\0')
            return error_set(err, 0, "artifact_depends: empty key");
        if (strcmp(k, "device_type") == 0 || (strcmp(k, "artifact_name") == 0 && info->depends_artifact_name.n) ||
            (strcmp(k, "artifact_group") == 0 && info->depends_artifact_group.n))
            return error_set(err, 0, "artifact_depends.%s: already set by header-info", k);
        _cleanup_(strv_free) struct strv vals = { 0 };
        if (json_is_string(v)) {
            strv_push(&vals, json_string_value(v));
        } else if (json_is_array(v)) {
            size_t i;
            json_t *e;
            json_array_foreach(v, i, e) {
                if (!json_is_string(e))
                    return error_set(err, 0, "artifact_depends.%s[%zu]: not a string", k, i);
                strv_push(&vals, json_string_value(e));
            }
        } else {
            return error_set(err, 0, "artifact_depends.%s: not a string or list of strings", k);
        }
        dependlist_add(&info->type_depends, k, &vals);
    }
    return 0;
}

static int parse_type_info(const char *buf, size_t len, struct artifact_info *info, struct error **err)
{
    _cleanup_json_ json_t *root = load_json(buf, len, err);
    if (!root || type_info_type(root, info, err) < 0)
        return -1;
    json_t *prov = json_object_get(root, "artifact_provides");
    if (prov && !json_is_null(prov) && type_info_provides(prov, info, err) < 0)
        return -1;
    json_t *deps = json_object_get(root, "artifact_depends");
    if (deps && !json_is_null(deps) && type_info_depends(deps, info, err) < 0)
        return -1;
    json_t *clears = json_object_get(root, "clears_artifact_provides");
    if (clears && !json_is_null(clears)) {
        if (get_str_array(root, "clears_artifact_provides", "clears_artifact_provides", false, false, &info->clears,
                          err) < 0)
            return -1;
        info->has_clears = true;
    }
    return 0;
}

/* meta-data: any JSON object; kept as bytes. */
static int check_meta_data(const char *buf, size_t len, struct error **err)
{
    _cleanup_json_ json_t *root = load_json(buf, len, err);
    return root ? 0 : -1;
}

/* ---- the header tar -------------------------------------------------------------- */

enum hstate { H_START, H_AFTER_INFO, H_AFTER_TYPE, H_AFTER_META };

struct hdr {
    struct archive *a;
    struct artifact_info *info;
    enum hstate st;
    unsigned entries;
    uint64_t total;
};

typedef int (*json_parser)(const char *buf, size_t len, struct artifact_info *info, struct error **err);

/* A JSON file of the header: its bytes go to *data (kept in info), then parse checks
 * them. Messages get the file's name in front. */
static int json_entry(struct hdr *h, struct archive_entry *e, const char *name, char **data, size_t *len,
                      json_parser parse, struct error **err)
{
    if (artifact_read_entry(h->a, e, ARTIFACT_JSON_MAX, data, len, err) < 0 || parse(*data, *len, h->info, err) < 0)
        return error_prefix(err, "%s", name);
    return 0;
}

static int unexpected(const char *name, struct error **err)
{
    return error_set(err, 0, "unexpected file in header: %s", name);
}

/* scripts/<name>: validated, never extracted nor run. */
static int script_entry(struct hdr *h, const char *name, struct error **err)
{
    if (!artifact_script_name_ok(name + 8))
        return error_set(err, 0, "%s: invalid state script name", name);
    if (h->st != H_AFTER_INFO)
        return error_set(err, 0, "%s: state scripts must come before headers/", name);
    int sr = archive_read_data_skip(h->a);
    if (sr != ARCHIVE_OK && sr != ARCHIVE_WARN)
        return error_set(err, 0, "%s: %s", name,
                         archive_error_string(h->a) ? archive_error_string(h->a) : "read error");
    return 0;
}

/* headers/0000/meta-data: an empty file counts as none. */
static int meta_data_entry(struct hdr *h, struct archive_entry *e, const char *name, struct error **err)
{
    struct artifact_info *info = h->info;
    if (h->st != H_AFTER_TYPE)
        return unexpected(name, err);
    _cleanup_free_ char *data = NULL;
    size_t len = 0;
    if (artifact_read_entry(h->a, e, ARTIFACT_JSON_MAX, &data, &len, err) < 0)
        return error_prefix(err, "%s", name);
    if (len == 0)
        return 0;
    info->meta_data = TAKE_PTR(data);
    info->meta_data_len = len;
    info->has_meta_data = true;
    if (check_meta_data(info->meta_data, len, err) < 0)
        return error_prefix(err, "%s", name);
    return 0;
}

/* One entry of the header tar, in the order header-info, scripts/, type-info, meta-data. */
static int header_entry(struct hdr *h, struct archive_entry *e, struct error **err)
{
    struct artifact_info *info = h->info;
    if (++h->entries > HEADER_MAX_ENTRIES)
        return error_set(err, 0, "too many entries");
    const char *name = archive_entry_pathname(e);
    if (!name)
        name = "";
    if (archive_entry_filetype(e) == AE_IFDIR && !archive_entry_hardlink(e))
        return 0;
    if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e) || archive_entry_symlink(e))
        return error_set(err, 0, "%s: not a regular file", name);
    if (archive_entry_size_is_set(e) && archive_entry_size(e) > 0)
        h->total += (uint64_t)archive_entry_size(e);
    if (h->total > ARTIFACT_HEADER_MAX)
        return error_set(err, 0, "uncompressed header too large (limit %u bytes)", ARTIFACT_HEADER_MAX);

    if (strcmp(name, "header-info") == 0) {
        if (h->st != H_START)
            return unexpected(name, err);
        if (json_entry(h, e, name, &info->header_info, &info->header_info_len, parse_header_info, err) < 0)
            return -1;
        h->st = H_AFTER_INFO;
    } else if (h->st == H_START) {
        return error_set(err, 0, "header-info must be the first file in the header (found %s)", name);
    } else if (strncmp(name, "scripts/", 8) == 0) {
        return script_entry(h, name, err);
    } else if (strcmp(name, "headers/0000/type-info") == 0) {
        if (h->st != H_AFTER_INFO)
            return unexpected(name, err);
        if (json_entry(h, e, name, &info->type_info, &info->type_info_len, parse_type_info, err) < 0)
            return -1;
        h->st = H_AFTER_TYPE;
    } else if (strcmp(name, "headers/0000/meta-data") == 0) {
        if (meta_data_entry(h, e, name, err) < 0)
            return -1;
        h->st = H_AFTER_META;
    } else if (strncmp(name, "headers/", 8) == 0 && strncmp(name, "headers/0000/", 13) != 0) {
        return error_set(err, 0, "%s: artifacts with more than one payload are not supported", name);
    } else {
        return unexpected(name, err);
    }
    return 0;
}

int artifact_parse_header(const void *buf, size_t len, const struct artifact_codec *codec, struct artifact_info *info,
                          struct error **err)
{
    assert(buf && codec && info);
    _cleanup_archive_ struct archive *a = archive_read_new();
    if (!a)
        return error_set(err, 0, "cannot allocate archive reader");
    artifact_codec_enable_all(a);
    archive_read_support_format_tar(a);
    if (archive_read_open_memory(a, buf, len) != ARCHIVE_OK)
        return error_set(err, 0, "%s", archive_error_string(a) ? archive_error_string(a) : "cannot open");
    struct hdr h = { .a = a, .info = info, .st = H_START };
    for (bool first = true;; first = false) {
        struct archive_entry *e;
        int r = archive_read_next_header(a, &e);
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN && r != ARCHIVE_EOF)
            return error_set(err, 0, "%s", archive_error_string(a) ? archive_error_string(a) : "invalid tar");
        const char *found;
        if (first && !artifact_codec_matches(a, codec, &found))
            return error_set(err, 0, "compression does not match file name (found %s, expected %s)", found,
                             codec->name);
        if (r == ARCHIVE_EOF)
            break;
        if (header_entry(&h, e, err) < 0)
            return -1;
    }
    if (h.st == H_START)
        return error_set(err, 0, "header-info missing");
    if (h.st == H_AFTER_INFO)
        return error_set(err, 0, "headers/0000/type-info missing");
    return 0;
}

/* The header member of a v3 Artifact (artifact-format.md §5): header-info, state
 * scripts (validated and ignored), headers/0000/type-info and headers/0000/meta-data. */
#include <archive.h>
#include <archive_entry.h>
#include <ctype.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artifact/artifact_int.h"
#include "util/mem.h"

/* Entries in a header (header-info, type-info, meta-data, scripts, directories). */
#define HEADER_MAX_ENTRIES 1024

int artifact_codec_from_suffix(const char *suffix, enum artifact_codec *out)
{
    if (strcmp(suffix, "") == 0)
        *out = ARTIFACT_CODEC_NONE;
    else if (strcmp(suffix, ".gz") == 0)
        *out = ARTIFACT_CODEC_GZIP;
    else if (strcmp(suffix, ".xz") == 0)
        *out = ARTIFACT_CODEC_XZ;
    else if (strcmp(suffix, ".zst") == 0)
        *out = ARTIFACT_CODEC_ZSTD;
    else
        return -1;
    return 0;
}

const char *artifact_codec_name(enum artifact_codec c)
{
    switch (c) {
    case ARTIFACT_CODEC_NONE: return "none";
    case ARTIFACT_CODEC_GZIP: return "gzip";
    case ARTIFACT_CODEC_XZ: return "xz";
    case ARTIFACT_CODEC_ZSTD: return "zstd";
    }
    return "unknown";
}

void artifact_enable_filters(struct archive *a)
{
    /* Only these three: no bzip2, lz4, lzma-alone, uu, rpm, program filters... */
    archive_read_support_filter_gzip(a);
    archive_read_support_filter_xz(a);
    archive_read_support_filter_zstd(a);
}

bool artifact_codec_matches(struct archive *a, enum artifact_codec want, const char **found)
{
    int count = archive_filter_count(a);
    int code = count > 0 ? archive_filter_code(a, 0) : ARCHIVE_FILTER_NONE;
    enum artifact_codec got;
    switch (code) {
    case ARCHIVE_FILTER_NONE: got = ARTIFACT_CODEC_NONE; break;
    case ARCHIVE_FILTER_GZIP: got = ARTIFACT_CODEC_GZIP; break;
    case ARCHIVE_FILTER_XZ: got = ARTIFACT_CODEC_XZ; break;
    case ARCHIVE_FILTER_ZSTD: got = ARTIFACT_CODEC_ZSTD; break;
    default:
        *found = "unsupported";
        return false;
    }
    *found = artifact_codec_name(got);
    /* The pipeline is the detected filters plus the pseudo-filter of the client
     * callbacks: 1 when uncompressed, 2 with one decompressor, more if nested. */
    int expect_count = got == ARTIFACT_CODEC_NONE ? 1 : 2;
    if (count != expect_count) {
        *found = "nested compression";
        return false;
    }
    return got == want;
}

void artifact_seterr(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    for (char *p = err; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
}

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

struct hctx {
    const char *member;
    const char *file; /* "header-info", "headers/0000/type-info" ... */
    char *err;
    size_t errlen;
};

#define HFAIL(h, ...)                                                                                              \
    do {                                                                                                           \
        char msg_[512];                                                                                            \
        snprintf(msg_, sizeof(msg_), __VA_ARGS__);                                                                 \
        artifact_seterr((h)->err, (h)->errlen, "%s: %s: %s", (h)->member, (h)->file, msg_);                        \
        return -1;                                                                                                 \
    } while (0)

static json_t *load_json(struct hctx *h, const char *buf, size_t len)
{
    json_error_t je;
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        artifact_seterr(h->err, h->errlen, "%s: %s: invalid JSON: %s (line %d, column %d)", h->member, h->file,
                        je.text, je.line, je.column);
        return NULL;
    }
    if (!json_is_object(root)) {
        artifact_seterr(h->err, h->errlen, "%s: %s: not a JSON object", h->member, h->file);
        json_decref(root);
        return NULL;
    }
    return root;
}

/* An array of strings into out. required: must be present; nonempty: at least one
 * element, and no empty strings. Absent or null (when optional) leaves out empty. */
static int get_str_array(struct hctx *h, json_t *obj, const char *key, const char *path, bool required, bool nonempty,
                         struct strv *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        if (required)
            HFAIL(h, "%s: missing", path);
        return 0;
    }
    if (!json_is_array(v))
        HFAIL(h, "%s: not an array of strings", path);
    if (nonempty && json_array_size(v) == 0)
        HFAIL(h, "%s: empty list", path);
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
        if (!json_is_string(e))
            HFAIL(h, "%s[%zu]: not a string", path, i);
        if (nonempty && json_string_length(e) == 0)
            HFAIL(h, "%s[%zu]: empty string", path, i);
        strv_push(out, json_string_value(e));
    }
    return 0;
}

static int parse_header_info(struct hctx *h, const char *buf, size_t len, struct artifact_info *info)
{
    json_t *root = load_json(h, buf, len);
    if (!root)
        return -1;
    int rc = -1;
    json_t *payloads = json_object_get(root, "payloads");
    if (!payloads || !json_is_array(payloads)) {
        if (json_object_get(root, "updates"))
            artifact_seterr(h->err, h->errlen, "%s: %s: version 2 header (\"updates\") in a version 3 artifact",
                            h->member, h->file);
        else
            artifact_seterr(h->err, h->errlen, "%s: %s: payloads: missing or not an array", h->member, h->file);
        goto out;
    }
    if (json_array_size(payloads) == 0) {
        artifact_seterr(h->err, h->errlen, "%s: %s: payloads: empty list", h->member, h->file);
        goto out;
    }
    if (json_array_size(payloads) > 1) {
        artifact_seterr(h->err, h->errlen, "%s: %s: artifacts with more than one payload are not supported",
                        h->member, h->file);
        goto out;
    }
    json_t *p0 = json_array_get(payloads, 0);
    if (!json_is_object(p0)) {
        artifact_seterr(h->err, h->errlen, "%s: %s: payloads[0]: not an object", h->member, h->file);
        goto out;
    }
    json_t *t = json_object_get(p0, "type");
    if (!t) {
        artifact_seterr(h->err, h->errlen, "%s: %s: payloads[0].type: missing", h->member, h->file);
        goto out;
    }
    if (json_is_string(t)) {
        if (json_string_length(t) == 0) {
            artifact_seterr(h->err, h->errlen, "%s: %s: payloads[0].type: empty string", h->member, h->file);
            goto out;
        }
        info->payload_type = xstrdup(json_string_value(t));
    } else if (!json_is_null(t)) {
        artifact_seterr(h->err, h->errlen, "%s: %s: payloads[0].type: not a string or null", h->member, h->file);
        goto out;
    }

    json_t *prov = json_object_get(root, "artifact_provides");
    if (!json_is_object(prov)) {
        artifact_seterr(h->err, h->errlen, "%s: %s: artifact_provides: missing or not an object", h->member,
                        h->file);
        goto out;
    }
    json_t *name = json_object_get(prov, "artifact_name");
    if (!json_is_string(name) || json_string_length(name) == 0) {
        artifact_seterr(h->err, h->errlen, "%s: %s: artifact_provides.artifact_name: missing or not a non-empty string",
                        h->member, h->file);
        goto out;
    }
    info->artifact_name = xstrdup(json_string_value(name));
    json_t *group = json_object_get(prov, "artifact_group");
    if (group && !json_is_null(group)) {
        if (!json_is_string(group)) {
            artifact_seterr(h->err, h->errlen, "%s: %s: artifact_provides.artifact_group: not a string", h->member,
                            h->file);
            goto out;
        }
        if (json_string_length(group) > 0)
            info->artifact_group = xstrdup(json_string_value(group));
    }

    json_t *deps = json_object_get(root, "artifact_depends");
    if (!json_is_object(deps)) {
        artifact_seterr(h->err, h->errlen, "%s: %s: artifact_depends: missing or not an object", h->member, h->file);
        goto out;
    }
    if (get_str_array(h, deps, "device_type", "artifact_depends.device_type", true, true, &info->compatible_types) <
            0 ||
        get_str_array(h, deps, "artifact_name", "artifact_depends.artifact_name", false, false,
                      &info->depends_artifact_name) < 0 ||
        get_str_array(h, deps, "artifact_group", "artifact_depends.artifact_group", false, false,
                      &info->depends_artifact_group) < 0)
        goto out;
    rc = 0;
out:
    json_decref(root);
    return rc;
}

static void dependlist_add(struct dependlist *l, const char *key, struct strv *values)
{
    l->items = xrealloc(l->items, (l->n + 1) * sizeof(*l->items));
    l->items[l->n].key = xstrdup(key);
    l->items[l->n].values = *values;
    l->n++;
    values->v = NULL;
    values->n = 0;
}

static int parse_type_info(struct hctx *h, const char *buf, size_t len, struct artifact_info *info)
{
    json_t *root = load_json(h, buf, len);
    if (!root)
        return -1;
    int rc = -1;
    struct strv vals = { 0 };

    json_t *t = json_object_get(root, "type");
    if (!t) {
        artifact_seterr(h->err, h->errlen, "%s: %s: type: missing", h->member, h->file);
        goto out;
    }
    if (json_is_null(t)) {
        if (info->payload_type) {
            artifact_seterr(h->err, h->errlen, "%s: %s: type null does not match header-info type \"%s\"", h->member,
                            h->file, info->payload_type);
            goto out;
        }
    } else if (json_is_string(t)) {
        const char *ts = json_string_value(t);
        bool ok = info->payload_type &&
                  (strcmp(ts, info->payload_type) == 0 ||
                   (ts[0] == '\0' && strcmp(info->payload_type, "rootfs-image") == 0));
        if (!ok) {
            artifact_seterr(h->err, h->errlen, "%s: %s: type \"%s\" does not match header-info type %s%s%s", h->member,
                            h->file, ts, info->payload_type ? "\"" : "",
                            info->payload_type ? info->payload_type : "null", info->payload_type ? "\"" : "");
            goto out;
        }
    } else {
        artifact_seterr(h->err, h->errlen, "%s: %s: type: not a string or null", h->member, h->file);
        goto out;
    }

    json_t *prov = json_object_get(root, "artifact_provides");
    if (prov && !json_is_null(prov)) {
        if (!json_is_object(prov)) {
            artifact_seterr(h->err, h->errlen, "%s: %s: artifact_provides: not an object", h->member, h->file);
            goto out;
        }
        info->has_type_provides = true;
        const char *k;
        json_t *v;
        json_object_foreach(prov, k, v) {
            if (k[0] == '\0') {
                artifact_seterr(h->err, h->errlen, "%s: %s: artifact_provides: empty key", h->member, h->file);
                goto out;
            }
            if (!json_is_string(v)) {
                artifact_seterr(h->err, h->errlen, "%s: %s: artifact_provides.%s: not a string", h->member, h->file,
                                k);
                goto out;
            }
            if (strcmp(k, "artifact_name") == 0 || (strcmp(k, "artifact_group") == 0 && info->artifact_group)) {
                artifact_seterr(h->err, h->errlen, "%s: %s: artifact_provides.%s: already provided by header-info",
                                h->member, h->file, k);
                goto out;
            }
            kvl_set(&info->type_provides, k, json_string_value(v));
        }
    }

    json_t *deps = json_object_get(root, "artifact_depends");
    if (deps && !json_is_null(deps)) {
        if (!json_is_object(deps)) {
            artifact_seterr(h->err, h->errlen, "%s: %s: artifact_depends: not an object", h->member, h->file);
            goto out;
        }
        const char *k;
        json_t *v;
        json_object_foreach(deps, k, v) {
            if (k[0] == '\0') {
                artifact_seterr(h->err, h->errlen, "%s: %s: artifact_depends: empty key", h->member, h->file);
                goto out;
            }
            if (strcmp(k, "device_type") == 0 || (strcmp(k, "artifact_name") == 0 && info->depends_artifact_name.n) ||
                (strcmp(k, "artifact_group") == 0 && info->depends_artifact_group.n)) {
                artifact_seterr(h->err, h->errlen, "%s: %s: artifact_depends.%s: already set by header-info",
                                h->member, h->file, k);
                goto out;
            }
            if (json_is_string(v)) {
                strv_push(&vals, json_string_value(v));
            } else if (json_is_array(v)) {
                size_t i;
                json_t *e;
                json_array_foreach(v, i, e) {
                    if (!json_is_string(e)) {
                        artifact_seterr(h->err, h->errlen, "%s: %s: artifact_depends.%s[%zu]: not a string",
                                        h->member, h->file, k, i);
                        goto out;
                    }
                    strv_push(&vals, json_string_value(e));
                }
            } else {
                artifact_seterr(h->err, h->errlen, "%s: %s: artifact_depends.%s: not a string or list of strings",
                                h->member, h->file, k);
                goto out;
            }
            dependlist_add(&info->type_depends, k, &vals);
        }
    }

    json_t *clears = json_object_get(root, "clears_artifact_provides");
    if (clears && !json_is_null(clears)) {
        if (get_str_array(h, root, "clears_artifact_provides", "clears_artifact_provides", false, false,
                          &info->clears) < 0)
            goto out;
        info->has_clears = true;
    }
    rc = 0;
out:
    strv_free(&vals);
    json_decref(root);
    return rc;
}

static int check_meta_data(struct hctx *h, const char *buf, size_t len)
{
    json_t *root = load_json(h, buf, len);
    if (!root)
        return -1;
    json_decref(root);
    return 0;
}

/* ---- the header tar -------------------------------------------------------------- */

/* Reads the current entry fully (at most cap bytes) into a NUL-terminated buffer. */
static int read_entry(struct archive *a, struct archive_entry *e, const char *member, const char *name, size_t cap,
                      char **out, size_t *outlen, char *err, size_t errlen)
{
    if (archive_entry_size_is_set(e) && archive_entry_size(e) > (la_int64_t)cap) {
        artifact_seterr(err, errlen, "%s: %s: too large (%lld bytes, limit %zu)", member, name,
                        (long long)archive_entry_size(e), cap);
        return -1;
    }
    size_t alloc = archive_entry_size_is_set(e) ? (size_t)archive_entry_size(e) + 1 : 4096;
    char *buf = xmalloc(alloc);
    size_t len = 0;
    for (;;) {
        if (len + 1 >= alloc) {
            if (len > cap) {
                free(buf);
                artifact_seterr(err, errlen, "%s: %s: too large (limit %zu bytes)", member, name, cap);
                return -1;
            }
            alloc = alloc * 2 > cap + 2 ? cap + 2 : alloc * 2;
            buf = xrealloc(buf, alloc);
        }
        la_ssize_t n = archive_read_data(a, buf + len, alloc - 1 - len);
        if (n < 0) {
            artifact_seterr(err, errlen, "%s: %s: %s", member, name,
                            archive_error_string(a) ? archive_error_string(a) : "read error");
            free(buf);
            return -1;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    if (len > cap) {
        free(buf);
        artifact_seterr(err, errlen, "%s: %s: too large (limit %zu bytes)", member, name, cap);
        return -1;
    }
    buf[len] = '\0';
    *out = buf;
    *outlen = len;
    return 0;
}

enum hstate { H_START, H_AFTER_INFO, H_AFTER_TYPE, H_AFTER_META };

int artifact_parse_header(const void *buf, size_t len, const char *member, enum artifact_codec codec,
                          struct artifact_info *info, char *err, size_t errlen)
{
    struct archive *a = archive_read_new();
    if (!a) {
        artifact_seterr(err, errlen, "%s: cannot allocate archive reader", member);
        return -1;
    }
    artifact_enable_filters(a);
    archive_read_support_format_tar(a);
    int rc = -1;
    enum hstate st = H_START;
    unsigned entries = 0;
    uint64_t total = 0;
    struct hctx h = { .member = member, .err = err, .errlen = errlen };

    if (archive_read_open_memory(a, buf, len) != ARCHIVE_OK) {
        artifact_seterr(err, errlen, "%s: %s", member,
                        archive_error_string(a) ? archive_error_string(a) : "cannot open");
        goto out;
    }
    for (bool first = true;; first = false) {
        struct archive_entry *e;
        int r = archive_read_next_header(a, &e);
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN && r != ARCHIVE_EOF) {
            artifact_seterr(err, errlen, "%s: %s", member,
                            archive_error_string(a) ? archive_error_string(a) : "invalid tar");
            goto out;
        }
        if (first) {
            const char *found;
            if (!artifact_codec_matches(a, codec, &found)) {
                artifact_seterr(err, errlen, "%s: compression does not match file name (found %s, expected %s)",
                                member, found, artifact_codec_name(codec));
                goto out;
            }
        }
        if (r == ARCHIVE_EOF)
            break;
        if (++entries > HEADER_MAX_ENTRIES) {
            artifact_seterr(err, errlen, "%s: too many entries", member);
            goto out;
        }
        const char *name = archive_entry_pathname(e);
        if (!name)
            name = "";
        if (archive_entry_filetype(e) == AE_IFDIR && !archive_entry_hardlink(e))
            continue;
        if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e) || archive_entry_symlink(e)) {
            artifact_seterr(err, errlen, "%s: %s: not a regular file", member, name);
            goto out;
        }
        if (archive_entry_size_is_set(e) && archive_entry_size(e) > 0)
            total += (uint64_t)archive_entry_size(e);
        if (total > ARTIFACT_HEADER_MAX) {
            artifact_seterr(err, errlen, "%s: uncompressed header too large (limit %u bytes)", member,
                            ARTIFACT_HEADER_MAX);
            goto out;
        }
        h.file = name;
        char *data = NULL;
        size_t dlen = 0;
        if (strcmp(name, "header-info") == 0) {
            if (st != H_START) {
                artifact_seterr(err, errlen, "%s: unexpected file in header: %s", member, name);
                goto out;
            }
            if (read_entry(a, e, member, name, ARTIFACT_JSON_MAX, &data, &dlen, err, errlen) < 0)
                goto out;
            info->header_info = data;
            info->header_info_len = dlen;
            if (parse_header_info(&h, data, dlen, info) < 0)
                goto out;
            st = H_AFTER_INFO;
        } else if (st == H_START) {
            artifact_seterr(err, errlen, "%s: header-info must be the first file in the header (found %s)", member,
                            name);
            goto out;
        } else if (strncmp(name, "scripts/", 8) == 0) {
            if (!artifact_script_name_ok(name + 8)) {
                artifact_seterr(err, errlen, "%s: %s: invalid state script name", member, name);
                goto out;
            }
            if (st != H_AFTER_INFO) {
                artifact_seterr(err, errlen, "%s: %s: state scripts must come before headers/", member, name);
                goto out;
            }
            /* Validated, never extracted nor run. */
            int sr = archive_read_data_skip(a);
            if (sr != ARCHIVE_OK && sr != ARCHIVE_WARN) {
                artifact_seterr(err, errlen, "%s: %s: %s", member, name,
                                archive_error_string(a) ? archive_error_string(a) : "read error");
                goto out;
            }
        } else if (strcmp(name, "headers/0000/type-info") == 0) {
            if (st != H_AFTER_INFO) {
                artifact_seterr(err, errlen, "%s: unexpected file in header: %s", member, name);
                goto out;
            }
            if (read_entry(a, e, member, name, ARTIFACT_JSON_MAX, &data, &dlen, err, errlen) < 0)
                goto out;
            info->type_info = data;
            info->type_info_len = dlen;
            if (parse_type_info(&h, data, dlen, info) < 0)
                goto out;
            st = H_AFTER_TYPE;
        } else if (strcmp(name, "headers/0000/meta-data") == 0) {
            if (st != H_AFTER_TYPE) {
                artifact_seterr(err, errlen, "%s: unexpected file in header: %s", member, name);
                goto out;
            }
            if (read_entry(a, e, member, name, ARTIFACT_JSON_MAX, &data, &dlen, err, errlen) < 0)
                goto out;
            if (dlen == 0) {
                free(data);
            } else {
                info->meta_data = data;
                info->meta_data_len = dlen;
                info->has_meta_data = true;
                if (check_meta_data(&h, data, dlen) < 0)
                    goto out;
            }
            st = H_AFTER_META;
        } else if (strncmp(name, "headers/", 8) == 0 && strncmp(name, "headers/0000/", 13) != 0) {
            artifact_seterr(err, errlen, "%s: %s: artifacts with more than one payload are not supported", member,
                            name);
            goto out;
        } else {
            artifact_seterr(err, errlen, "%s: unexpected file in header: %s", member, name);
            goto out;
        }
    }
    if (st == H_START) {
        artifact_seterr(err, errlen, "%s: header-info missing", member);
        goto out;
    }
    if (st == H_AFTER_INFO) {
        artifact_seterr(err, errlen, "%s: headers/0000/type-info missing", member);
        goto out;
    }
    rc = 0;
out:
    archive_read_free(a);
    return rc;
}

#include "repo/index.h"

#include <assert.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

int repo_file_name_ok(const char *file)
{
    if (!file || !*file || file[0] == '/')
        return 0;
    const char *seg = file;
    for (const char *p = file;; p++) {
        if (*p == '/' || *p == '\0') {
            size_t n = (size_t)(p - seg);
            if (n == 0 || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
                return 0;
            if (*p == '\0')
                return 1;
            seg = p + 1;
            continue;
        }
        char c = *p;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr("._,+-", c)))
            return 0;
    }
}

/* ---- writing ------------------------------------------------------------------------------ */

static json_t *strv_json(const struct strv *l)
{
    json_t *a = json_array();
    for (size_t i = 0; i < l->n; i++)
        json_array_append_new(a, json_string(l->v[i]));
    return a;
}

static json_t *entry_json(const struct repo_entry *e)
{
    const struct artifact_info *a = &e->info;
    json_t *o = json_object();
    json_object_set_new(o, "file", json_string(e->file));
    json_object_set_new(o, "size", json_integer((json_int_t)e->size));
    json_object_set_new(o, "sha256", json_string(e->sha256));
    json_object_set_new(o, "artifact_name", json_string(a->artifact_name ? a->artifact_name : ""));
    if (a->artifact_group)
        json_object_set_new(o, "artifact_group", json_string(a->artifact_group));
    json_object_set_new(o, "payload_type", a->payload_type ? json_string(a->payload_type) : json_null());
    json_object_set_new(o, "compatible_types", strv_json(&a->compatible_types));
    if (a->depends_artifact_name.n)
        json_object_set_new(o, "depends_artifact_name", strv_json(&a->depends_artifact_name));
    if (a->depends_artifact_group.n)
        json_object_set_new(o, "depends_artifact_group", strv_json(&a->depends_artifact_group));
    if (a->has_type_provides) {
        json_t *p = json_object();
        for (size_t i = 0; i < a->type_provides.n; i++)
            json_object_set_new(p, a->type_provides.items[i].key, json_string(a->type_provides.items[i].value));
        json_object_set_new(o, "provides", p);
    }
    if (a->type_depends.n) {
        json_t *d = json_object();
        for (size_t i = 0; i < a->type_depends.n; i++)
            json_object_set_new(d, a->type_depends.items[i].key, strv_json(&a->type_depends.items[i].values));
        json_object_set_new(o, "depends", d);
    }
    if (a->has_clears)
        json_object_set_new(o, "clears", strv_json(&a->clears));
    json_object_set_new(o, "signed", json_boolean(a->is_signed));
    return o;
}

char *repo_index_to_json(const struct repo_index *idx)
{
    json_t *root = json_object();
    json_object_set_new(root, "version", json_integer(1));
    json_t *arr = json_array();
    for (size_t i = 0; i < idx->n; i++)
        json_array_append_new(arr, entry_json(&idx->v[i]));
    json_object_set_new(root, "artifacts", arr);
    char *s = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    json_decref(root);
    char *out = xasprintf("%s\n", s ? s : "{}");
    free(s);
    return out;
}

/* ---- reading ------------------------------------------------------------------------------ */

/* Messages of the functions below name the field; repo_index_parse puts the entry in
 * front ("artifacts[3] (rtos.mender): size: expected ..."). */

static int get_strv(json_t *v, const char *field, struct strv *out, struct error **err)
{
    if (!json_is_array(v))
        return error_set(err, 0, "%s: expected a list of strings", field);
    size_t i;
    json_t *s;
    json_array_foreach(v, i, s) {
        if (!json_is_string(s))
            return error_set(err, 0, "%s[%zu]: expected a string", field, i);
        strv_push(out, json_string_value(s));
    }
    return 0;
}

static int get_str(json_t *o, const char *field, bool required, char **out, struct error **err)
{
    json_t *v = json_object_get(o, field);
    if (!v || json_is_null(v))
        return required ? error_set(err, 0, "%s: missing", field) : 0;
    if (!json_is_string(v))
        return error_set(err, 0, "%s: expected a string", field);
    *out = xstrdup(json_string_value(v));
    return 0;
}

static bool is_hex64(const char *s)
{
    if (strlen(s) != 64)
        return false;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return false;
    return true;
}

/* file, size, sha256. e->file is left NULL unless it is a valid name. */
static int parse_file_fields(json_t *o, struct repo_entry *e, struct error **err)
{
    if (get_str(o, "file", true, &e->file, err) < 0)
        return -1;
    if (!repo_file_name_ok(e->file)) {
        error_set(err, 0, "file: \"%s\": not a relative name of [A-Za-z0-9._,+-] segments", e->file);
        free(e->file);
        e->file = NULL;
        return -1;
    }
    json_t *v = json_object_get(o, "size");
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return error_set(err, 0, "size: expected a non-negative integer");
    e->size = (uint64_t)json_integer_value(v);
    _cleanup_free_ char *sha = NULL;
    if (get_str(o, "sha256", true, &sha, err) < 0)
        return -1;
    if (!is_hex64(sha))
        return error_set(err, 0, "sha256: expected 64 lowercase hex digits");
    memcpy(e->sha256, sha, 65);
    return 0;
}

/* provides: an object of strings; depends: an object of strings or string lists. */
static int parse_type_fields(json_t *o, struct artifact_info *a, struct error **err)
{
    json_t *v;
    if ((v = json_object_get(o, "provides"))) {
        if (!json_is_object(v))
            return error_set(err, 0, "provides: expected an object of strings");
        a->has_type_provides = true;
        const char *k;
        json_t *s;
        json_object_foreach(v, k, s) {
            if (!json_is_string(s))
                return error_set(err, 0, "provides.%s: expected a string", k);
            if (!artifact_one_line(k) || !artifact_one_line(json_string_value(s)))
                return error_set(err, 0, "provides: control characters are not allowed");
            kvl_set(&a->type_provides, k, json_string_value(s));
        }
    }
    if ((v = json_object_get(o, "depends"))) {
        if (!json_is_object(v))
            return error_set(err, 0, "depends: expected an object of string lists");
        const char *k;
        json_t *s;
        json_object_foreach(v, k, s) {
            a->type_depends.items = xrealloc(a->type_depends.items, (a->type_depends.n + 1) * sizeof(struct depend));
            struct depend *d = &a->type_depends.items[a->type_depends.n++];
            d->key = xstrdup(k);
            d->values = (struct strv){ 0 };
            _cleanup_free_ char *field = xasprintf("depends.%s", k);
            if (json_is_string(s))
                strv_push(&d->values, json_string_value(s));
            else if (get_strv(s, field, &d->values, err) < 0)
                return -1;
        }
    }
    if ((v = json_object_get(o, "clears"))) {
        a->has_clears = true;
        if (get_strv(v, "clears", &a->clears, err) < 0)
            return -1;
    }
    return 0;
}

static int parse_entry(json_t *o, struct repo_entry *e, struct error **err)
{
    if (!json_is_object(o))
        return error_set(err, 0, "expected an object");
    struct artifact_info *a = &e->info;
    a->format_version = 3;
    if (parse_file_fields(o, e, err) < 0)
        return -1;
    if (get_str(o, "artifact_name", true, &a->artifact_name, err) < 0 ||
        get_str(o, "artifact_group", false, &a->artifact_group, err) < 0 ||
        get_str(o, "payload_type", false, &a->payload_type, err) < 0)
        return -1;
    if (!artifact_one_line(a->artifact_name) || (a->artifact_group && !artifact_one_line(a->artifact_group)))
        return error_set(err, 0, "artifact_name, artifact_group: control characters are not allowed");
    json_t *v;
    if ((v = json_object_get(o, "compatible_types")) == NULL)
        return error_set(err, 0, "compatible_types: missing");
    if (get_strv(v, "compatible_types", &a->compatible_types, err) < 0)
        return -1;
    if ((v = json_object_get(o, "depends_artifact_name")) &&
        get_strv(v, "depends_artifact_name", &a->depends_artifact_name, err) < 0)
        return -1;
    if ((v = json_object_get(o, "depends_artifact_group")) &&
        get_strv(v, "depends_artifact_group", &a->depends_artifact_group, err) < 0)
        return -1;
    if (parse_type_fields(o, a, err) < 0)
        return -1;
    v = json_object_get(o, "signed");
    if (v && !json_is_boolean(v))
        return error_set(err, 0, "signed: expected true or false");
    a->is_signed = v && json_is_true(v);
    return 0;
}

static int parse_root(json_t *root, struct repo_index *idx, struct error **err)
{
    json_t *ver = json_object_get(root, "version");
    json_t *arr = json_object_get(root, "artifacts");
    if (!json_is_object(root) || !json_is_integer(ver) || json_integer_value(ver) != 1)
        return error_set(err, 0, "version: expected 1 (an index of another version needs a newer orchestrator)");
    if (!json_is_array(arr))
        return error_set(err, 0, "artifacts: expected a list");
    size_t n = json_array_size(arr);
    idx->v = xcalloc(n ? n : 1, sizeof(*idx->v));
    for (size_t i = 0; i < n; i++) {
        struct repo_entry *e = &idx->v[i];
        idx->n = i + 1;
        if (parse_entry(json_array_get(arr, i), e, err) < 0)
            return e->file ? error_prefix(err, "artifacts[%zu] (%s)", i, e->file)
                           : error_prefix(err, "artifacts[%zu]", i);
    }
    return 0;
}

int repo_index_parse(const char *text, size_t len, struct repo_index *idx, struct error **err)
{
    assert(text && idx);
    memset(idx, 0, sizeof(*idx));
    json_error_t je;
    json_auto_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return error_set(err, 0, "%d:%d: not valid JSON: %s", je.line, je.column, je.text);
    if (parse_root(root, idx, err) < 0) {
        repo_index_free(idx);
        return -1;
    }
    return 0;
}

void repo_index_free(struct repo_index *idx)
{
    for (size_t i = 0; i < idx->n; i++) {
        free(idx->v[i].file);
        artifact_info_free(&idx->v[i].info);
    }
    free(idx->v);
    idx->v = NULL;
    idx->n = 0;
}

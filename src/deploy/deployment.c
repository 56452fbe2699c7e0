/* The deployment record and its JSON form (the journal's "state" column). The JSON
 * holds every field so that resume/rollback rebuild the deployment exactly. */
#include "deploy/deployment.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iface/query.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/mem.h"

void member_init(struct member *m)
{
    assert(m);
    memset(m, 0, sizeof(*m));
    m->needs_unpacked = ANSWER_UNSET;
    m->provide_sizes = ANSWER_UNSET;
    m->supports_rollback = ANSWER_UNSET;
    m->needs_reboot = ANSWER_UNSET;
    m->rollback_reboot = ANSWER_UNSET;
}

static void member_free(struct member *m)
{
    free(m->component_type);
    free(m->id);
    free(m->interface);
    strv_free(&m->args);
    free(m->artifact_path);
    free(m->artifact_name);
    free(m->artifact_url);
    kvl_free(&m->provides);
    kvl_free(&m->new_provides);
    free(m->last_state);
    free(m->last_error);
    free(m->rb_failed_step);
    free(m->rb_failed_error);
    free(m->extra);
    member_init(m);
}

void dep_position_free(struct dep_position *p)
{
    assert(p);
    free(p->section);
    strv_free(&p->steps);
    memset(p, 0, sizeof(*p));
}

void deployment_free(struct deployment *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->nmembers; i++)
        member_free(&d->members[i]);
    free(d->members);
    free(d->manifest_name);
    free(d->manifest_path);
    free(d->manifest_dir);
    free(d->manifest_text);
    free(d->topology_text);
    free(d->plan_hash);
    free(d->boot_id);
    free(d->failure);
    dep_position_free(&d->pos);
    strv_free(&d->versions);
    free(d->extra_head);
    free(d->extra_fixed);
    memset(d, 0, sizeof(*d));
}

void deployment_writers(const struct deployment *d, struct strv *out)
{
    assert(d && out);
    strv_copy(out, &d->versions);
    if (!out->n)
        strv_push(out, FORMAT_1_WRITER);
}

bool deployment_rollback_incomplete(const struct deployment *d)
{
    assert(d);
    for (size_t i = 0; i < d->nmembers; i++)
        if (d->members[i].rb_failed_step)
            return true;
    return false;
}

bool deployment_may_be_inconsistent(const struct deployment *d)
{
    assert(d);
    return d->inconsistent || deployment_rollback_incomplete(d);
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

int *deployment_groups(const struct deployment *d, size_t *ngroups)
{
    assert(d && ngroups);
    int *g = xmalloc((d->nmembers ? d->nmembers : 1) * sizeof(*g));
    size_t n = 0;
    for (size_t i = 0; i < d->nmembers; i++) {
        if (!d->members[i].selected)
            continue;
        size_t k = 0;
        while (k < n && g[k] != d->members[i].order)
            k++;
        if (k == n)
            g[n++] = d->members[i].order;
    }
    qsort(g, n, sizeof(*g), cmp_int);
    *ngroups = n;
    return g;
}

static const char *const status_names[] = { "in_progress", "success", "failed", "inconsistent", "rolled_back" };
static const char *const direction_names[] = { "forward", "rollback" };

const char *dep_status_name(enum dep_status s)
{
    if ((unsigned)s >= sizeof(status_names) / sizeof(status_names[0]))
        return "unknown";
    return status_names[s];
}

/* ---- to JSON ---- */

/* JSON strings are UTF-8: bytes that do not form UTF-8 become U+FFFD (only possible
 * in text an Interface printed). Caller frees. */
static char *utf8_clean(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    char *out = xmalloc(n * 3 + 1), *o = out;
    for (size_t i = 0; i < n;) {
        unsigned c = p[i];
        size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
        bool ok = len > 0 && i + len <= n;
        for (size_t k = 1; ok && k < len; k++)
            ok = (p[i + k] & 0xC0) == 0x80;
        if (ok && len > 1) {
            unsigned cp = c & (0x7F >> len);
            for (size_t k = 1; k < len; k++)
                cp = (cp << 6) | (p[i + k] & 0x3F);
            static const unsigned min_cp[] = { 0, 0, 0x80, 0x800, 0x10000 };
            ok = cp >= min_cp[len] && cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF);
        }
        if (ok) {
            memcpy(o, p + i, len);
            o += len;
            i += len;
        } else {
            memcpy(o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        }
    }
    *o = '\0';
    return out;
}

static json_t *jstr(const char *s)
{
    if (!s)
        return json_null();
    json_t *v = json_string(s);
    if (!v) {
        char *c = utf8_clean(s);
        v = json_string(c);
        free(c);
    }
    return v;
}

static json_t *janswer(int a)
{
    if (a < ANSWER_NO || a > ANSWER_AUTOMATIC)
        return json_null();
    return json_string(answer_name((enum answer)a));
}

static json_t *jkvl(const struct kvlist *l)
{
    json_t *o = json_object();
    for (size_t i = 0; i < l->n; i++) {
        if (json_object_set_new(o, l->items[i].key, jstr(l->items[i].value)) != 0) {
            char *k = utf8_clean(l->items[i].key);
            json_object_set_new(o, k, jstr(l->items[i].value));
            free(k);
        }
    }
    return o;
}

static json_t *jstrv(const struct strv *l)
{
    json_t *a = json_array();
    for (size_t i = 0; i < l->n; i++)
        json_array_append_new(a, jstr(l->v[i]));
    return a;
}

static json_t *ju64(uint64_t v)
{
    if (v <= (uint64_t)INT64_MAX)
        return json_integer((json_int_t)v);
    char buf[32];
    snprintf(buf, sizeof(buf), "%" PRIu64, v);
    return json_string(buf);
}

/* Adds the fields of extra (a JSON object written by a newer binary) that o lacks. */
static void add_extra(json_t *o, const char *extra)
{
    if (!extra)
        return;
    json_t *x = json_loads(extra, 0, NULL);
    if (json_is_object(x))
        json_object_update_missing(o, x);
    json_decref(x);
}

static json_t *member_to_json(const struct member *m)
{
    json_t *o = json_object();
    json_object_set_new(o, "component_type", jstr(m->component_type));
    json_object_set_new(o, "id", jstr(m->id));
    json_object_set_new(o, "interface", jstr(m->interface));
    json_object_set_new(o, "args", jstrv(&m->args));
    json_object_set_new(o, "legacy", json_boolean(m->legacy));
    json_object_set_new(o, "order", json_integer(m->order));
    json_object_set_new(o, "selected", json_boolean(m->selected));
    json_object_set_new(o, "artifact_path", jstr(m->artifact_path));
    json_object_set_new(o, "artifact_name", jstr(m->artifact_name));
    json_object_set_new(o, "artifact_size", ju64(m->artifact_size));
    char sha[sizeof(m->manifest_sha256)];
    memcpy(sha, m->manifest_sha256, sizeof(sha));
    sha[sizeof(sha) - 1] = '\0';
    json_object_set_new(o, "manifest_sha256", jstr(sha));
    if (m->artifact_url) { /* a repository Artifact: resume never reads the index again */
        json_object_set_new(o, "artifact_url", jstr(m->artifact_url));
        json_object_set_new(o, "artifact_sha256", jstr(m->artifact_sha256));
    }
    json_object_set_new(o, "provides", jkvl(&m->provides));
    json_object_set_new(o, "new_provides", jkvl(&m->new_provides));
    json_object_set_new(o, "needs_unpacked", janswer(m->needs_unpacked));
    json_object_set_new(o, "provide_sizes", janswer(m->provide_sizes));
    json_object_set_new(o, "supports_rollback", janswer(m->supports_rollback));
    json_object_set_new(o, "needs_reboot", janswer(m->needs_reboot));
    json_object_set_new(o, "rollback_reboot", janswer(m->rollback_reboot));
    json_object_set_new(o, "touched", json_boolean(m->touched));
    json_object_set_new(o, "install_started", json_boolean(m->install_started));
    json_object_set_new(o, "rollback_ok", json_boolean(m->rollback_ok));
    json_object_set_new(o, "rb_attempts", json_integer(m->rb_attempts));
    json_object_set_new(o, "rb_verified", json_boolean(m->rb_verified));
    json_object_set_new(o, "rb_given_up", json_boolean(m->rb_given_up));
    json_object_set_new(o, "failure_ok", json_boolean(m->failure_ok));
    json_object_set_new(o, "rb_failed_step", jstr(m->rb_failed_step));
    json_object_set_new(o, "rb_failed_error", jstr(m->rb_failed_error));
    json_object_set_new(o, "call_seq", json_integer(m->call_seq));
    json_object_set_new(o, "done_seq", json_integer(m->done_seq));
    json_object_set_new(o, "last_rc", json_integer(m->last_rc));
    json_object_set_new(o, "last_state", jstr(m->last_state));
    json_object_set_new(o, "last_error", jstr(m->last_error));
    add_extra(o, m->extra);
    return o;
}

/* The fields set at preparation, never changed afterwards (the journal writes them once). */
static json_t *jposition(const struct dep_position *p)
{
    json_t *o = json_object();
    json_object_set_new(o, "section", jstr(p->section));
    json_object_set_new(o, "group", p->has_group ? json_integer(p->group) : json_null());
    json_object_set_new(o, "index", json_integer((json_int_t)p->index));
    json_object_set_new(o, "steps", jstrv(&p->steps));
    return o;
}

static void add_fixed(json_t *o, const struct deployment *d)
{
    json_object_set_new(o, "manifest_path", jstr(d->manifest_path));
    json_object_set_new(o, "manifest_dir", jstr(d->manifest_dir));
    json_object_set_new(o, "manifest_text", jstr(d->manifest_text));
    json_object_set_new(o, "manifest_format", json_integer(d->manifest_format));
    json_object_set_new(o, "topology_text", jstr(d->topology_text));
    json_object_set_new(o, "plan_hash", jstr(d->plan_hash));
    json_object_set_new(o, "member_count", json_integer((json_int_t)d->nmembers)); /* checks the member rows */
    add_extra(o, d->extra_fixed);
}

/* Everything else but the members. */
static void add_head(json_t *o, const struct deployment *d)
{
    json_object_set_new(o, "id", json_integer(d->id));
    json_object_set_new(o, "status", json_string(dep_status_name(d->status)));
    json_object_set_new(o, "manifest_name", jstr(d->manifest_name));
    json_object_set_new(o, "direction",
                        json_string((unsigned)d->direction < 2 ? direction_names[d->direction] : "unknown"));
    /* 0.1.0 reads only this: the index into program 1 when the position is recorded */
    json_object_set_new(o, "cursor", json_integer(d->pos.section ? d->cursor_1 : d->cursor));
    json_object_set_new(o, "seq", json_integer(d->seq));
    json_object_set_new(o, "rollback_top", json_integer(d->rollback_top));
    json_object_set_new(o, "inconsistent", json_boolean(d->inconsistent));
    json_object_set_new(o, "rollback_requested", json_boolean(d->rollback_requested));
    json_object_set_new(o, "reboot_pending", json_boolean(d->reboot_pending));
    json_object_set_new(o, "boot_id", jstr(d->boot_id));
    json_object_set_new(o, "resume_seq", json_integer(d->resume_seq));
    json_object_set_new(o, "resumes_without_progress", json_integer(d->resumes_without_progress));
    json_object_set_new(o, "failure", jstr(d->failure));
    json_object_set_new(o, "rollback_failed", json_boolean(d->rollback_failed));
    json_object_set_new(o, "rollback_retries", json_integer(d->rollback_retries));
    json_object_set_new(o, "started", json_integer((json_int_t)d->started));
    json_object_set_new(o, "ended", json_integer((json_int_t)d->ended));
    json_object_set_new(o, "format", json_integer(DEPLOYMENT_FORMAT));
    json_object_set_new(o, "versions", jstrv(&d->versions));
    if (d->pos.section) {
        json_object_set_new(o, "program", json_integer(d->program));
        json_object_set_new(o, "position", jposition(&d->pos));
    }
    add_extra(o, d->extra_head);
}

/* Takes o; returns a malloc'ed string. */
static char *dump(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!s) /* only when out of memory */
        s = xstrdup("");
    char *r = xstrdup(s);
    free(s);
    return r;
}

char *deployment_to_json(const struct deployment *d)
{
    assert(d);
    json_t *o = json_object();
    add_head(o, d);
    add_fixed(o, d);
    json_t *members = json_array();
    for (size_t i = 0; i < d->nmembers; i++)
        json_array_append_new(members, member_to_json(&d->members[i]));
    json_object_set_new(o, "members", members);
    return dump(o);
}

char *deployment_part_json(const struct deployment *d, enum dep_part part)
{
    assert(d);
    json_t *o = json_object();
    if (part == DEP_PART_FIXED)
        add_fixed(o, d);
    else
        add_head(o, d);
    return dump(o);
}

char *deployment_member_json(const struct member *m)
{
    assert(m);
    return dump(member_to_json(m));
}

static bool str_same(const char *a, const char *b) { return a ? b && strcmp(a, b) == 0 : !b; }

/* The member fields that change after preparation: every one of them must be here. */
bool member_progress_same(const struct member *a, const struct member *b)
{
    assert(a && b);
    return strcmp(a->manifest_sha256, b->manifest_sha256) == 0 && a->needs_unpacked == b->needs_unpacked &&
           a->provide_sizes == b->provide_sizes && a->supports_rollback == b->supports_rollback &&
           a->needs_reboot == b->needs_reboot && a->rollback_reboot == b->rollback_reboot && a->touched == b->touched &&
           a->install_started == b->install_started && a->rollback_ok == b->rollback_ok &&
           a->rb_attempts == b->rb_attempts && a->rb_verified == b->rb_verified && a->rb_given_up == b->rb_given_up &&
           a->failure_ok == b->failure_ok && a->call_seq == b->call_seq && a->done_seq == b->done_seq &&
           a->last_rc == b->last_rc && str_same(a->last_state, b->last_state) &&
           str_same(a->last_error, b->last_error) && str_same(a->rb_failed_step, b->rb_failed_step) &&
           str_same(a->rb_failed_error, b->rb_failed_error);
}

static char *str_copy(const char *s) { return s ? xstrdup(s) : NULL; }

void member_progress_copy(struct member *dst, const struct member *src)
{
    assert(dst && src);
    member_progress_free(dst);
    memcpy(dst->manifest_sha256, src->manifest_sha256, sizeof(dst->manifest_sha256));
    dst->needs_unpacked = src->needs_unpacked;
    dst->provide_sizes = src->provide_sizes;
    dst->supports_rollback = src->supports_rollback;
    dst->needs_reboot = src->needs_reboot;
    dst->rollback_reboot = src->rollback_reboot;
    dst->touched = src->touched;
    dst->install_started = src->install_started;
    dst->rollback_ok = src->rollback_ok;
    dst->rb_attempts = src->rb_attempts;
    dst->rb_verified = src->rb_verified;
    dst->rb_given_up = src->rb_given_up;
    dst->failure_ok = src->failure_ok;
    dst->call_seq = src->call_seq;
    dst->done_seq = src->done_seq;
    dst->last_rc = src->last_rc;
    dst->last_state = str_copy(src->last_state);
    dst->last_error = str_copy(src->last_error);
    dst->rb_failed_step = str_copy(src->rb_failed_step);
    dst->rb_failed_error = str_copy(src->rb_failed_error);
}

void member_progress_free(struct member *m)
{
    assert(m);
    free(m->last_state);
    free(m->last_error);
    free(m->rb_failed_step);
    free(m->rb_failed_error);
    m->last_state = m->last_error = m->rb_failed_step = m->rb_failed_error = NULL;
}

/* ---- from JSON ---- */

/* A reading in progress: the first failure is kept, later ones are not (they are
 * mostly consequences of it). */
struct rd {
    int failed;
    struct error *error;
    char where[64]; /* "members[3]." or "" */
    json_t *seen;   /* the keys of the object being read that were looked at (a set) */
};

static void rd_fail(struct rd *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void rd_fail(struct rd *r, const char *fmt, ...)
{
    if (r->failed)
        return;
    r->failed = 1;
    va_list ap;
    va_start(ap, fmt);
    _cleanup_free_ char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    error_set(&r->error, 0, "%s", msg);
}

static json_t *rd_get(struct rd *r, json_t *o, const char *key)
{
    json_object_set_new(r->seen, key, json_true());
    json_t *v = json_object_get(o, key);
    if (!v)
        rd_fail(r, "%s%s: missing", r->where, key);
    return v;
}

static char *rd_str(struct rd *r, json_t *o, const char *key, int nullable)
{
    json_t *v = rd_get(r, o, key);
    if (!v)
        return NULL;
    if (json_is_null(v) && nullable)
        return NULL;
    if (!json_is_string(v)) {
        rd_fail(r, "%s%s: not a string", r->where, key);
        return NULL;
    }
    if (strlen(json_string_value(v)) != json_string_length(v)) {
        rd_fail(r, "%s%s: contains a NUL character", r->where, key);
        return NULL;
    }
    return xstrdup(json_string_value(v));
}

static long long rd_int(struct rd *r, json_t *o, const char *key, long long min, long long max)
{
    json_t *v = rd_get(r, o, key);
    if (!v)
        return 0;
    if (!json_is_integer(v)) {
        rd_fail(r, "%s%s: not an integer", r->where, key);
        return 0;
    }
    long long x = json_integer_value(v);
    if (x < min || x > max) {
        rd_fail(r, "%s%s: %lld out of range", r->where, key, x);
        return 0;
    }
    return x;
}

static bool rd_bool(struct rd *r, json_t *o, const char *key)
{
    json_t *v = rd_get(r, o, key);
    if (!v)
        return false;
    if (!json_is_boolean(v)) {
        rd_fail(r, "%s%s: not a boolean", r->where, key);
        return false;
    }
    return json_is_true(v);
}

/* Fields added after schema 2 was first written: absent in older records, read as their
 * default. */
static bool rd_opt_bool(struct rd *r, json_t *o, const char *key)
{
    return json_object_get(o, key) ? rd_bool(r, o, key) : false;
}

static char *rd_opt_str(struct rd *r, json_t *o, const char *key)
{
    return json_object_get(o, key) ? rd_str(r, o, key, 1) : NULL;
}

static int rd_opt_int(struct rd *r, json_t *o, const char *key, int dflt)
{
    return json_object_get(o, key) ? (int)rd_int(r, o, key, 0, INT_MAX) : dflt;
}

/* The fields of o that were not read (written by a newer binary), as a JSON object, or
 * NULL if none: all of them (part NULL), or those of part's keys (inside) or not (!inside). */
static char *rd_extra(struct rd *r, json_t *o, json_t *part, bool inside)
{
    json_t *x = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        if (!json_object_get(r->seen, k) && (!part || (json_object_get(part, k) != NULL) == inside))
            json_object_set(x, k, v);
    }
    char *s = json_object_size(x) ? dump(x) : (json_decref(x), NULL);
    return s;
}

static void rd_next_object(struct rd *r) { json_object_clear(r->seen); }

static int rd_answer(struct rd *r, json_t *o, const char *key)
{
    json_t *v = rd_get(r, o, key);
    if (!v || json_is_null(v))
        return ANSWER_UNSET;
    if (json_is_string(v))
        for (int a = ANSWER_NO; a <= ANSWER_AUTOMATIC; a++)
            if (strcmp(json_string_value(v), answer_name((enum answer)a)) == 0)
                return a;
    rd_fail(r, "%s%s: not null, \"No\", \"Yes\" or \"Automatic\"", r->where, key);
    return ANSWER_UNSET;
}

static int rd_enum(struct rd *r, json_t *o, const char *key, const char *const *names, int n)
{
    json_t *v = rd_get(r, o, key);
    if (!v)
        return 0;
    if (json_is_string(v))
        for (int i = 0; i < n; i++)
            if (strcmp(json_string_value(v), names[i]) == 0)
                return i;
    rd_fail(r, "%s%s: unknown value", r->where, key);
    return 0;
}

static uint64_t rd_u64(struct rd *r, json_t *o, const char *key)
{
    json_t *v = rd_get(r, o, key);
    if (!v)
        return 0;
    if (json_is_integer(v) && json_integer_value(v) >= 0)
        return (uint64_t)json_integer_value(v);
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        if (s[0] >= '0' && s[0] <= '9') {
            errno = 0;
            unsigned long long x = strtoull(s, &end, 10);
            if (*end == '\0' && errno == 0)
                return x;
        }
    }
    rd_fail(r, "%s%s: not a size", r->where, key);
    return 0;
}

static void rd_kvl(struct rd *r, json_t *o, const char *key, struct kvlist *out)
{
    json_t *v = rd_get(r, o, key);
    if (!v)
        return;
    if (!json_is_object(v)) {
        rd_fail(r, "%s%s: not an object", r->where, key);
        return;
    }
    const char *k;
    json_t *val;
    json_object_foreach(v, k, val) {
        if (!json_is_string(val) || strlen(json_string_value(val)) != json_string_length(val)) {
            rd_fail(r, "%s%s.%s: not a string", r->where, key, k);
            return;
        }
        kvl_set(out, k, json_string_value(val));
    }
}

static void rd_strv(struct rd *r, json_t *o, const char *key, struct strv *out)
{
    json_t *v = rd_get(r, o, key);
    if (!v)
        return;
    if (!json_is_array(v)) {
        rd_fail(r, "%s%s: not an array", r->where, key);
        return;
    }
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
        if (!json_is_string(e) || strlen(json_string_value(e)) != json_string_length(e)) {
            rd_fail(r, "%s%s[%zu]: not a string", r->where, key, i);
            return;
        }
        strv_push(out, json_string_value(e));
    }
}

static void member_from_json(struct rd *r, json_t *o, struct member *m)
{
    if (!json_is_object(o)) {
        rd_fail(r, "%.*s: not an object", (int)strlen(r->where) - 1, r->where); /* "members[i]" */
        return;
    }
    m->component_type = rd_str(r, o, "component_type", 0);
    m->id = rd_str(r, o, "id", 0);
    m->interface = rd_str(r, o, "interface", 0);
    rd_strv(r, o, "args", &m->args);
    m->legacy = rd_bool(r, o, "legacy");
    m->order = (int)rd_int(r, o, "order", INT_MIN, INT_MAX);
    m->selected = rd_bool(r, o, "selected");
    m->artifact_path = rd_str(r, o, "artifact_path", 1);
    m->artifact_name = rd_str(r, o, "artifact_name", 1);
    m->artifact_size = rd_u64(r, o, "artifact_size");
    char *sha = rd_str(r, o, "manifest_sha256", 0);
    if (sha) {
        if (strlen(sha) >= sizeof(m->manifest_sha256))
            rd_fail(r, "%smanifest_sha256: longer than 64 characters", r->where);
        else
            memcpy(m->manifest_sha256, sha, strlen(sha) + 1);
        free(sha);
    }
    if (json_object_get(o, "artifact_url")) {
        m->artifact_url = rd_str(r, o, "artifact_url", 0);
        char *fsha = rd_str(r, o, "artifact_sha256", 0);
        if (fsha && strlen(fsha) == 64)
            memcpy(m->artifact_sha256, fsha, 65);
        else
            rd_fail(r, "%sartifact_sha256: expected 64 hex digits", r->where);
        free(fsha);
    }
    rd_kvl(r, o, "provides", &m->provides);
    rd_kvl(r, o, "new_provides", &m->new_provides);
    m->needs_unpacked = rd_answer(r, o, "needs_unpacked");
    m->provide_sizes = rd_answer(r, o, "provide_sizes");
    m->supports_rollback = rd_answer(r, o, "supports_rollback");
    m->needs_reboot = rd_answer(r, o, "needs_reboot");
    m->rollback_reboot = rd_answer(r, o, "rollback_reboot");
    m->touched = rd_bool(r, o, "touched");
    m->install_started = rd_bool(r, o, "install_started");
    m->rollback_ok = rd_bool(r, o, "rollback_ok");
    m->rb_attempts = (int)rd_int(r, o, "rb_attempts", INT_MIN, INT_MAX);
    m->rb_verified = rd_bool(r, o, "rb_verified");
    m->rb_given_up = rd_bool(r, o, "rb_given_up");
    m->failure_ok = rd_opt_bool(r, o, "failure_ok");
    m->rb_failed_step = rd_opt_str(r, o, "rb_failed_step");
    m->rb_failed_error = rd_opt_str(r, o, "rb_failed_error");
    m->call_seq = (long)rd_int(r, o, "call_seq", LONG_MIN, LONG_MAX);
    m->done_seq = (long)rd_int(r, o, "done_seq", LONG_MIN, LONG_MAX);
    m->last_rc = (int)rd_int(r, o, "last_rc", INT_MIN, INT_MAX);
    m->last_state = rd_str(r, o, "last_state", 1);
    m->last_error = rd_str(r, o, "last_error", 1);
}

/* Parses one JSON text of a record: NULL with *err set when it is not an object. */
static json_t *load_object(const char *json, const char *what, struct error **err)
{
    if (!json) {
        error_set(err, 0, "deployment record: %sempty", what);
        return NULL;
    }
    json_error_t je;
    json_auto_t *o = json_loads(json, JSON_REJECT_DUPLICATES, &je);
    if (!o) {
        error_set(err, 0, "deployment record: %sline %d column %d: %s", what, je.line, je.column, je.text);
        return NULL;
    }
    if (!json_is_object(o)) {
        error_set(err, 0, "deployment record: %snot an object", what);
        return NULL;
    }
    return TAKE_PTR(o);
}

static int from_object(json_t *o, json_t *fixed_keys, struct deployment *d, struct error **err);

int deployment_from_json(const char *json, struct deployment *d, struct error **err)
{
    assert(d);
    memset(d, 0, sizeof(*d));
    json_auto_t *o = load_object(json, "", err);
    if (!o)
        return -1;
    return from_object(o, NULL, d, err);
}

int deployment_from_parts(const char *head, const char *fixed, char *const *members, size_t n, struct deployment *d,
                          struct error **err)
{
    assert((members || n == 0) && d);
    memset(d, 0, sizeof(*d));
    json_auto_t *o = load_object(head, "", err);
    if (!o)
        return -1;
    json_auto_t *f = load_object(fixed, "fixed part: ", err);
    if (!f)
        return -1;
    json_t *count = json_object_get(f, "member_count");
    if (!json_is_integer(count) || json_integer_value(count) != (json_int_t)n)
        return error_set(err, 0, "deployment record: %zu member rows, but the fixed part says %s", n,
                         json_is_integer(count) ? "otherwise" : "nothing of their number");
    json_object_update(o, f); /* f's keys: "member_count" and the fixed fields */
    json_auto_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        char what[48];
        snprintf(what, sizeof(what), "members[%zu]: ", i);
        json_t *m = load_object(members[i], what, err);
        if (!m)
            return -1;
        json_array_append_new(arr, m);
    }
    json_object_set(o, "members", arr);
    return from_object(o, f, d, err);
}

static void read_members(struct rd *r, json_t *o, struct deployment *d)
{
    json_t *members = rd_get(r, o, "members");
    if (members && !json_is_array(members))
        rd_fail(r, "members: not an array");
    if (r->failed || json_array_size(members) == 0)
        return;
    size_t n = json_array_size(members);
    d->members = xcalloc(n, sizeof(*d->members));
    for (size_t i = 0; i < n; i++)
        member_init(&d->members[i]);
    d->nmembers = n;
    json_t *outer = r->seen;
    r->seen = json_object();
    for (size_t i = 0; i < n && !r->failed; i++) {
        snprintf(r->where, sizeof(r->where), "members[%zu].", i);
        json_t *m = json_array_get(members, i);
        member_from_json(r, m, &d->members[i]);
        if (json_is_object(m))
            d->members[i].extra = rd_extra(r, m, NULL, true);
        rd_next_object(r);
    }
    json_decref(r->seen);
    r->seen = outer;
    r->where[0] = '\0';
}

/* The position object ("position"), absent in records of format 1. */
static void read_position(struct rd *r, json_t *o, struct dep_position *p)
{
    if (!json_object_get(o, "position"))
        return;
    json_t *v = rd_get(r, o, "position");
    if (!json_is_object(v)) {
        rd_fail(r, "position: not an object");
        return;
    }
    json_t *outer = r->seen;
    r->seen = json_object();
    snprintf(r->where, sizeof(r->where), "position.");
    p->section = rd_str(r, v, "section", 0);
    json_t *g = rd_get(r, v, "group");
    p->has_group = g && !json_is_null(g);
    if (p->has_group)
        p->group = (int)rd_int(r, v, "group", INT_MIN, INT_MAX);
    p->index = (size_t)rd_int(r, v, "index", 0, INT_MAX);
    rd_strv(r, v, "steps", &p->steps);
    if (!r->failed && p->index >= p->steps.n)
        rd_fail(r, "position.index: %zu is not one of the %zu steps", p->index, p->steps.n);
    json_decref(r->seen);
    r->seen = outer;
    r->where[0] = '\0';
}

static void read_deployment(struct rd *r, json_t *o, struct deployment *d)
{
    if (!json_is_object(o)) {
        rd_fail(r, "not an object");
        return;
    }
    d->id = rd_int(r, o, "id", 0, LLONG_MAX);
    d->status = (enum dep_status)rd_enum(r, o, "status", status_names,
                                         (int)(sizeof(status_names) / sizeof(status_names[0])));
    d->manifest_name = rd_str(r, o, "manifest_name", 1);
    d->manifest_path = rd_str(r, o, "manifest_path", 1);
    d->manifest_dir = rd_str(r, o, "manifest_dir", 1);
    d->manifest_text = rd_str(r, o, "manifest_text", 1);
    d->manifest_format = (int)rd_int(r, o, "manifest_format", INT_MIN, INT_MAX);
    d->topology_text = rd_str(r, o, "topology_text", 1);
    d->plan_hash = rd_str(r, o, "plan_hash", 1);
    json_object_set_new(r->seen, "member_count", json_true()); /* checked by deployment_from_parts */
    read_members(r, o, d);
    d->direction = (enum dep_direction)rd_enum(r, o, "direction", direction_names, 2);
    d->cursor = (int)rd_int(r, o, "cursor", INT_MIN, INT_MAX);
    d->cursor_1 = d->cursor; /* what the record says; engine/adopt.c maps it to this program */
    d->seq = (long)rd_int(r, o, "seq", LONG_MIN, LONG_MAX);
    d->rollback_top = (int)rd_int(r, o, "rollback_top", INT_MIN, INT_MAX);
    d->inconsistent = rd_bool(r, o, "inconsistent");
    d->rollback_requested = rd_opt_bool(r, o, "rollback_requested"); /* absent in older records */
    d->reboot_pending = rd_bool(r, o, "reboot_pending");
    d->boot_id = rd_str(r, o, "boot_id", 1);
    d->resume_seq = (long)rd_int(r, o, "resume_seq", LONG_MIN, LONG_MAX);
    d->resumes_without_progress = (int)rd_int(r, o, "resumes_without_progress", INT_MIN, INT_MAX);
    d->failure = rd_str(r, o, "failure", 1);
    d->rollback_failed = rd_opt_bool(r, o, "rollback_failed");
    d->rollback_retries = rd_opt_int(r, o, "rollback_retries", 0);
    d->started = (time_t)rd_int(r, o, "started", LLONG_MIN, LLONG_MAX);
    d->ended = (time_t)rd_int(r, o, "ended", LLONG_MIN, LLONG_MAX);
    /* format 2 (docs/compatibility.md) */
    d->format = rd_opt_int(r, o, "format", 1);
    if (json_object_get(o, "versions"))
        rd_strv(r, o, "versions", &d->versions);
    d->program = rd_opt_int(r, o, "program", 0);
    read_position(r, o, &d->pos);
}

/* fixed_keys: the keys of the fixed part, for a record read in parts (NULL: whole). */
static int from_object(json_t *o, json_t *fixed_keys, struct deployment *d, struct error **err)
{
    struct rd r = { .seen = json_object() };
    read_deployment(&r, o, d);
    if (!r.failed) {
        /* the fields of the fixed part go back there, the others to the head */
        d->extra_head = rd_extra(&r, o, fixed_keys, false);
        if (fixed_keys)
            d->extra_fixed = rd_extra(&r, o, fixed_keys, true);
    }
    json_decref(r.seen);
    if (!r.failed)
        return 0;
    deployment_free(d);
    error_propagate(err, r.error);
    return error_prefix(err, "deployment record");
}

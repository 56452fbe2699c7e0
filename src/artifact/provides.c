/* Provides, depends and clears rules (docs/artifact-format.md, docs/selection.md).
 *
 * Output lists (`out`) are filled with kvl_set; callers pass an empty list. */
#include "artifact/provides.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/mem.h"

/* Finds needle (n bytes) in hay[0..hlen), leftmost; returns offset or -1. */
static long find_piece(const char *hay, size_t hlen, const char *needle, size_t n)
{
    if (n == 0)
        return 0;
    if (n > hlen)
        return -1;
    for (size_t i = 0; i + n <= hlen; i++)
        if (memcmp(hay + i, needle, n) == 0)
            return (long)i;
    return -1;
}

bool provides_pattern_match(const char *pattern, const char *key)
{
    if (!pattern || !key)
        return false;
    const char *first_star = strchr(pattern, '*');
    if (!first_star)
        return strcmp(pattern, key) == 0; /* also: empty pattern matches only "" */

    size_t klen = strlen(key);
    /* Leading piece: must be a prefix (empty when the pattern starts with '*'). */
    size_t head = (size_t)(first_star - pattern);
    /* Trailing piece: must be a suffix (empty when the pattern ends with '*'). */
    const char *last_star = strrchr(pattern, '*');
    const char *tail = last_star + 1;
    size_t tlen = strlen(tail);

    if (head + tlen > klen)
        return false; /* prefix and suffix would overlap */
    if (memcmp(key, pattern, head) != 0)
        return false;
    if (memcmp(key + klen - tlen, tail, tlen) != 0)
        return false;

    /* Middle pieces, in order, without overlap, inside key[head .. klen - tlen). */
    size_t pos = head;
    size_t end = klen - tlen;
    const char *p = first_star + 1;
    while (p <= last_star) {
        const char *star = strchr(p, '*'); /* non-NULL: last_star is at or after p */
        size_t n = (size_t)(star - p);
        if (n > 0) {
            long at = find_piece(key + pos, end - pos, p, n);
            if (at < 0)
                return false;
            pos += (size_t)at + n;
        }
        p = star + 1;
    }
    return true;
}

void provides_of_artifact(const struct artifact_info *a, struct kvlist *out)
{
    assert(a && out);
    if (a->artifact_name)
        kvl_set(out, "artifact_name", a->artifact_name);
    if (a->artifact_group && a->artifact_group[0])
        kvl_set(out, "artifact_group", a->artifact_group);
    for (size_t i = 0; i < a->type_provides.n; i++)
        kvl_set(out, a->type_provides.items[i].key, a->type_provides.items[i].value);
}

static bool cleared(const struct artifact_info *a, const char *key)
{
    for (size_t i = 0; i < a->clears.n; i++)
        if (provides_pattern_match(a->clears.v[i], key))
            return true;
    return false;
}

void provides_apply(const struct kvlist *cur, const struct artifact_info *a, struct kvlist *out)
{
    assert(a && out);
    /* C absent means ["*"]: nothing of cur survives. C present: keys matching C go. */
    if (a->has_clears && cur) {
        for (size_t i = 0; i < cur->n; i++)
            if (!cleared(a, cur->items[i].key))
                kvl_set(out, cur->items[i].key, cur->items[i].value);
    }
    /* P present: inserted, overwriting. */
    if (a->has_type_provides)
        for (size_t i = 0; i < a->type_provides.n; i++)
            kvl_set(out, a->type_provides.items[i].key, a->type_provides.items[i].value);
    if (a->artifact_name)
        kvl_set(out, "artifact_name", a->artifact_name);
    /* A non-empty group replaces; otherwise the old one survived above unless cleared. */
    if (a->artifact_group && a->artifact_group[0])
        kvl_set(out, "artifact_group", a->artifact_group);
}

static bool only_artifact_name(const struct kvlist *l)
{
    return l->n == 1 && strcmp(l->items[0].key, "artifact_name") == 0;
}

bool provides_installed(const struct kvlist *cur, const struct artifact_info *a)
{
    assert(a);
    static const struct kvlist empty;
    if (!cur)
        cur = &empty;
    _cleanup_(kvl_free) struct kvlist next = { 0 };
    provides_apply(cur, a, &next);
    if (only_artifact_name(cur) || only_artifact_name(&next))
        return kvl_equal(cur, &next);
    _cleanup_(kvl_free) struct kvlist c = { 0 };
    kvl_copy(&c, cur);
    kvl_remove(&c, "artifact_name");
    kvl_remove(&next, "artifact_name");
    return kvl_equal(&c, &next);
}

/* "[a, b]" */
static char *format_list(const struct strv *values)
{
    size_t len = 3;
    for (size_t i = 0; i < values->n; i++)
        len += strlen(values->v[i]) + 2;
    char *s = xmalloc(len);
    char *p = s;
    *p++ = '[';
    for (size_t i = 0; i < values->n; i++) {
        if (i > 0) {
            *p++ = ',';
            *p++ = ' ';
        }
        size_t n = strlen(values->v[i]);
        memcpy(p, values->v[i], n);
        p += n;
    }
    *p++ = ']';
    *p = '\0';
    return s;
}

static char *not_in(const char *key, const char *value, const struct strv *values)
{
    _cleanup_free_ char *list = format_list(values);
    return xasprintf("depends %s: \"%s\" not in %s", key, value, list);
}

/* One depends key against the Component's provides. NULL = satisfied. */
static char *check_key(const char *key, const struct strv *values, const char *component_type, const struct kvlist *cur)
{
    if (strcmp(key, "device_type") == 0) {
        const char *t = component_type ? component_type : "";
        if (strv_contains(values, t))
            return NULL;
        return not_in(key, t, values);
    }
    const char *have = cur ? kvl_get(cur, key) : NULL;
    if (!have)
        return xasprintf("depends %s: key missing from the component's provides", key);
    if (strv_contains(values, have))
        return NULL;
    return not_in(key, have, values);
}

bool provides_depends_match(const struct artifact_info *a, const char *component_type, const struct kvlist *cur,
                            char **why)
{
    assert(a);
    char *reason = check_key("device_type", &a->compatible_types, component_type, cur);
    /* Empty header-level lists are treated as absent (the writer omits them). */
    if (!reason && a->depends_artifact_name.n > 0)
        reason = check_key("artifact_name", &a->depends_artifact_name, component_type, cur);
    if (!reason && a->depends_artifact_group.n > 0)
        reason = check_key("artifact_group", &a->depends_artifact_group, component_type, cur);
    for (size_t i = 0; !reason && i < a->type_depends.n; i++)
        reason = check_key(a->type_depends.items[i].key, &a->type_depends.items[i].values, component_type, cur);
    if (!reason)
        return true;
    if (why)
        *why = reason;
    else
        free(reason);
    return false;
}

bool provides_compatible(const struct artifact_info *a, const char *component_type)
{
    assert(a);
    return component_type && strv_contains(&a->compatible_types, component_type);
}

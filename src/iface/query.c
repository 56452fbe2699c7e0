#include "iface/query.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "inputs/topology.h"
#include "util/diag.h"
#include "util/mem.h"

static const char *const answer_names[] = { "No", "Yes", "Automatic" };

const char *answer_name(enum answer a)
{
    assert((unsigned)a <= ANSWER_AUTOMATIC);
    return answer_names[a];
}

int query_parse_answer(const char *query, const char *out, size_t len, int allow_automatic, enum answer dflt,
                       enum answer *answer, struct error **err)
{
    assert(query && (out || len == 0) && answer);
    if (len == 0) {
        *answer = dflt;
        return 0;
    }
    const char *nl = memchr(out, '\n', len);
    size_t first = nl ? (size_t)(nl - out) : len;
    if (nl && first + 1 < len)
        return error_set(err, EPROTO, "Too many lines when querying %s", query);
    for (int a = ANSWER_NO; a <= ANSWER_AUTOMATIC; a++) {
        if (a == ANSWER_AUTOMATIC && !allow_automatic)
            break;
        if (strlen(answer_names[a]) == first && memcmp(out, answer_names[a], first) == 0) {
            *answer = (enum answer)a;
            return 0;
        }
    }
    _cleanup_free_ char *line = xstrndup(out, first > 64 ? 64 : first);
    _cleanup_free_ char *shown = diag_printable(line);
    return error_set(err, EPROTO, "Unexpected output when querying %s: \"%s\"", query, shown);
}

static int has_control(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 1;
    return 0;
}

int query_parse_identity(const char *out, size_t len, char **id, struct error **err)
{
    assert((out || len == 0) && id);
    *id = NULL;
    if (len == 0)
        return 0;
    if (out[len - 1] == '\n')
        len--;
    if (len < 3 || memcmp(out, "id=", 3) != 0)
        return error_set(err, 0, "Identity: expected one line \"id=<component id>\"");
    if (len == 3 || has_control(out + 3, len - 3))
        return error_set(err, 0, "Identity: the id must be non-empty and free of control characters");
    _cleanup_free_ char *value = xstrndup(out + 3, len - 3);
    if (!component_id_valid(value)) {
        _cleanup_free_ char *shown = diag_printable(value);
        return error_set(err, 0,
                         "Identity: \"%s\": invalid component id: use 1 to %d characters of %s, not starting "
                         "with a dot; fix what the Interface prints",
                         shown, COMPONENT_ID_MAX, COMPONENT_ID_CHARS);
    }
    *id = TAKE_PTR(value);
    return 0;
}

/* Calls fn for each non-empty line split at the first '='; checks the line rules. */
static int each_kv_line(const char *query, const char *out, size_t len,
                        int (*fn)(void *ctx, const char *key, const char *value, struct error **err), void *ctx,
                        struct error **err)
{
    size_t lineno = 0;
    const char *p = out, *end = out + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        lineno++;
        if (n > 0) {
            if (has_control(p, n))
                return error_set(err, 0, "%s: line %zu: control character in output", query, lineno);
            const char *eq = memchr(p, '=', n);
            if (!eq)
                return error_set(err, 0, "%s: line %zu: expected key=value", query, lineno);
            size_t klen = (size_t)(eq - p);
            if (klen == 0 || memchr(p, ' ', klen))
                return error_set(err, 0, "%s: line %zu: the key must be non-empty and contain no whitespace", query,
                                 lineno);
            _cleanup_free_ char *key = xstrndup(p, klen);
            _cleanup_free_ char *value = xstrndup(eq + 1, n - klen - 1);
            if (fn(ctx, key, value, err) != 0)
                return -1;
        }
        p += n + 1;
    }
    return 0;
}

struct provides_ctx {
    struct kvlist *kv;
    int dropped;
};

static int add_provide(void *ctx, const char *key, const char *value, struct error **err)
{
    struct provides_ctx *c = ctx;
    if (strcmp(key, "device_type") == 0) {
        c->dropped = 1;
        return 0;
    }
    if (kvl_get(c->kv, key))
        return error_set(err, 0, "Provides: key %s is repeated", key);
    kvl_set(c->kv, key, value);
    return 0;
}

int query_parse_provides(const char *out, size_t len, struct kvlist *provides, int *dropped_device_type,
                         struct error **err)
{
    assert((out || len == 0) && provides);
    struct provides_ctx c = { provides, 0 };
    int r = each_kv_line("Provides", out, len, add_provide, &c, err);
    if (dropped_device_type)
        *dropped_device_type = c.dropped;
    if (r)
        kvl_free(provides);
    return r;
}

static int add_inventory(void *ctx, const char *key, const char *value, struct error **err)
{
    (void)err;
    strv_push_owned(ctx, xasprintf("%s=%s", key, value));
    return 0;
}

int query_parse_inventory(const char *out, size_t len, struct strv *lines, struct error **err)
{
    assert((out || len == 0) && lines);
    int r = each_kv_line("Inventory", out, len, add_inventory, lines, err);
    if (r)
        strv_free(lines);
    return r;
}

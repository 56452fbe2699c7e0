#include "inputs/yaml.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/mem.h"

#define TAG_INT "tag:yaml.org,2002:int"
#define TAG_NULL "tag:yaml.org,2002:null"
#define TAG_MERGE "tag:yaml.org,2002:merge"
/* Mapping entries merge keys (<<) may look at in one document: far beyond any real
 * input, small enough that a file of merges of merges costs nothing. */
#define MERGE_MAX_VISITS ((size_t)1 << 20)
#define ANCHOR_BUCKETS 256

/* ---- messages --------------------------------------------------------- */

static void __attribute__((format(printf, 5, 0)))
vreport(struct diag_list *d, bool error, const struct ydoc *doc, const struct ynode *n, const char *fmt, va_list ap)
{
    _cleanup_free_ char *msg = xvasprintf(fmt, ap);
    int line = n ? n->line : 1, col = n ? n->col : 1;
    if (error)
        diag_error(d, doc->path, line, col, "%s", msg);
    else
        diag_warn(d, doc->path, line, col, "%s", msg);
}

void yaml_diag_error(struct diag_list *d, const struct ydoc *doc, const struct ynode *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(d, true, doc, n, fmt, ap);
    va_end(ap);
}

void yaml_diag_warn(struct diag_list *d, const struct ydoc *doc, const struct ynode *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(d, false, doc, n, fmt, ap);
    va_end(ap);
}

static char *quote_mem(const char *s, size_t len)
{
    size_t cap = len * 4 + 3, o = 0;
    char *out = xmalloc(cap);
    out[o++] = '"';
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"':
            out[o++] = '\\';
            out[o++] = '"';
            break;
        case '\\':
            out[o++] = '\\';
            out[o++] = '\\';
            break;
        case '\n':
            out[o++] = '\\';
            out[o++] = 'n';
            break;
        case '\t':
            out[o++] = '\\';
            out[o++] = 't';
            break;
        case '\r':
            out[o++] = '\\';
            out[o++] = 'r';
            break;
        default:
            if (c < 0x20 || c == 0x7f)
                o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
            else
                out[o++] = (char)c;
        }
    }
    out[o++] = '"';
    out[o] = '\0';
    return out;
}

char *yaml_quote(const char *s)
{
    assert(s);
    return quote_mem(s, strlen(s));
}

/* A scalar as written: plain text when it is safe on one line, else quoted. */
static char *scalar_display(const struct ynode *n)
{
    if (n->plain) {
        bool safe = n->len > 0;
        for (size_t i = 0; i < n->len && safe; i++) {
            unsigned char c = (unsigned char)n->text[i];
            if (c < 0x20 || c == 0x7f || c == '"')
                safe = false;
        }
        if (safe)
            return xstrdup(n->text);
    }
    return quote_mem(n->text, n->len);
}

char *yaml_path_key(const char *prefix, const char *key)
{
    assert(key);
    if (!prefix || !prefix[0])
        return xstrdup(key);
    return xasprintf("%s.%s", prefix, key);
}

char *yaml_path_index(const char *prefix, size_t i) { return xasprintf("%s[%zu]", prefix ? prefix : "", i); }

/* ---- nodes ------------------------------------------------------------ */

bool yaml_has_control(const char *s, size_t len)
{
    assert(s || len == 0);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return true;
    return false;
}

bool yaml_is_null(const struct ynode *n)
{
    if (!n || n->kind != YNODE_SCALAR)
        return false;
    if (n->tag)
        return strcmp(n->tag, TAG_NULL) == 0;
    if (!n->plain)
        return false;
    return n->len == 0 || strcmp(n->text, "~") == 0 || strcmp(n->text, "null") == 0 || strcmp(n->text, "Null") == 0 ||
           strcmp(n->text, "NULL") == 0;
}

const char *yaml_kind_name(const struct ynode *n)
{
    if (!n)
        return "nothing";
    switch (n->kind) {
    case YNODE_SCALAR: return yaml_is_null(n) ? "null" : "a scalar";
    case YNODE_SEQUENCE: return "a sequence";
    case YNODE_MAPPING: return "a mapping";
    }
    return "?";
}

static const char *want_name(enum ynode_kind k)
{
    switch (k) {
    case YNODE_SCALAR: return "a scalar";
    case YNODE_SEQUENCE: return "a sequence";
    case YNODE_MAPPING: return "a mapping";
    }
    return "?";
}

/* libyaml's marks count from 0; ours from 1 (the size cap keeps them far below INT_MAX). */
static int mark_line(const yaml_mark_t *m) { return (int)m->line + 1; }
static int mark_col(const yaml_mark_t *m) { return (int)m->column + 1; }

static struct ynode *node_new(struct ydoc *doc, enum ynode_kind kind, const yaml_mark_t *m)
{
    struct ynode *n = xcalloc(1, sizeof(*n));
    n->kind = kind;
    n->line = mark_line(m);
    n->col = mark_col(m);
    n->next_alloc = doc->nodes;
    doc->nodes = n;
    return n;
}

void yaml_doc_free(struct ydoc *doc)
{
    assert(doc);
    struct ynode *n = doc->nodes;
    while (n) {
        struct ynode *next = n->next_alloc;
        if (!n->borrowed) {
            free(n->text);
            free(n->tag);
            free(n->items);
            free(n->pairs);
        }
        free(n);
        n = next;
    }
    free(doc->path);
    free(doc->text);
    memset(doc, 0, sizeof(*doc));
}

char *yaml_doc_take_text(struct ydoc *doc, size_t *len)
{
    assert(doc);
    char *t = doc->text;
    if (len)
        *len = doc->len;
    doc->text = NULL;
    doc->len = 0;
    return t;
}

/* ---- building the tree from events ------------------------------------ */

struct anchor {
    char *name;
    struct ynode *node;
    struct anchor *next;
};

struct frame {
    struct ynode *node;
    struct ynode *pending_key;
    char *anchor;
    size_t cap;
};

struct pending { /* an error found while building (duplicate key, ...), reported in order at the end */
    int line, col;
    char *msg;
};

struct builder {
    struct pending *dups;
    size_t ndups;
    struct ydoc *doc;
    struct frame *stack;
    size_t depth, cap;
    struct anchor *anchors[ANCHOR_BUCKETS];
    int ndocs;
    bool failed;
    size_t merge_visits; /* entries looked at by merge keys so far (MERGE_MAX_VISITS) */
};

static void builder_free(struct builder *b)
{
    for (size_t i = 0; i < b->ndups; i++)
        free(b->dups[i].msg);
    free(b->dups);
    for (size_t i = 0; i < b->depth; i++)
        free(b->stack[i].anchor);
    free(b->stack);
    for (size_t i = 0; i < ANCHOR_BUCKETS; i++) {
        struct anchor *a = b->anchors[i];
        while (a) {
            struct anchor *next = a->next;
            free(a->name);
            free(a);
            a = next;
        }
    }
}

static unsigned hash_name(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h % ANCHOR_BUCKETS;
}

static char *dup_name(const yaml_char_t *s) { return s ? xstrdup((const char *)s) : NULL; }

static void pend_at(struct builder *b, int line, int col, char *msg)
{
    b->dups = xrealloc(b->dups, (b->ndups + 1) * sizeof(*b->dups));
    b->dups[b->ndups++] = (struct pending){ line, col, msg };
    b->failed = true;
}

static void pend(struct builder *b, const yaml_mark_t *m, char *msg) { pend_at(b, mark_line(m), mark_col(m), msg); }

static void anchor_set(struct builder *b, char *name, struct ynode *n)
{
    if (!name)
        return;
    struct anchor *a = xmalloc(sizeof(*a));
    unsigned h = hash_name(name);
    a->name = name;
    a->node = n;
    a->next = b->anchors[h]; /* a redefined anchor shadows the older one */
    b->anchors[h] = a;
}

static struct ynode *anchor_get(struct builder *b, const char *name)
{
    for (struct anchor *a = b->anchors[hash_name(name)]; a; a = a->next)
        if (strcmp(a->name, name) == 0)
            return a->node;
    return NULL;
}

static void attach(struct builder *b, struct ynode *n)
{
    if (b->depth == 0) {
        b->doc->root = n;
        return;
    }
    struct frame *f = &b->stack[b->depth - 1];
    struct ynode *p = f->node;
    if (p->kind == YNODE_SEQUENCE) {
        if (p->nitems == f->cap) {
            f->cap = f->cap ? f->cap * 2 : 4;
            p->items = xrealloc(p->items, f->cap * sizeof(*p->items));
        }
        p->items[p->nitems++] = n;
    } else if (!f->pending_key) {
        f->pending_key = n;
    } else {
        if (p->npairs == f->cap) {
            f->cap = f->cap ? f->cap * 2 : 4;
            p->pairs = xrealloc(p->pairs, f->cap * sizeof(*p->pairs));
        }
        p->pairs[p->npairs].key = f->pending_key;
        p->pairs[p->npairs].value = n;
        p->npairs++;
        f->pending_key = NULL;
    }
}

static void push(struct builder *b, struct ynode *n, char *anchor)
{
    if (b->depth == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 16;
        b->stack = xrealloc(b->stack, b->cap * sizeof(*b->stack));
    }
    b->stack[b->depth++] = (struct frame){ .node = n, .anchor = anchor };
}

static int cmp_key_index(const void *pa, const void *pb, void *ctx)
{
    const struct ypair *pairs = ctx;
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    const struct ynode *ka = pairs[a].key, *kb = pairs[b].key;
    size_t l = ka->len < kb->len ? ka->len : kb->len;
    int c = memcmp(ka->text, kb->text, l);
    if (c == 0 && ka->len != kb->len)
        c = ka->len < kb->len ? -1 : 1;
    if (c == 0)
        c = a < b ? -1 : a > b ? 1 : 0;
    return c;
}

static int cmp_pending(const void *pa, const void *pb)
{
    const struct pending *a = pa, *b = pb;
    if (a->line != b->line)
        return a->line < b->line ? -1 : 1;
    return a->col < b->col ? -1 : a->col > b->col ? 1 : 0;
}

static int cmp_size(const void *pa, const void *pb)
{
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    return a < b ? -1 : a > b ? 1 : 0;
}

static bool same_key(const struct ynode *a, const struct ynode *b)
{
    return a->len == b->len && memcmp(a->text, b->text, a->len) == 0;
}

/* Reports every repeated scalar key of a mapping, at each repetition, in order. */
static void check_duplicates(struct builder *b, const struct ynode *map)
{
    if (map->npairs < 2)
        return;
    _cleanup_free_ size_t *idx = xmalloc(map->npairs * sizeof(*idx));
    size_t n = 0;
    for (size_t i = 0; i < map->npairs; i++)
        if (map->pairs[i].key->kind == YNODE_SCALAR)
            idx[n++] = i;
    if (n < 2)
        return;
    qsort_r(idx, n, sizeof(*idx), cmp_key_index, map->pairs);
    _cleanup_free_ size_t *dups = xmalloc(n * sizeof(*dups));
    size_t ndup = 0;
    for (size_t i = 1; i < n; i++)
        if (same_key(map->pairs[idx[i - 1]].key, map->pairs[idx[i]].key))
            dups[ndup++] = idx[i];
    qsort(dups, ndup, sizeof(*dups), cmp_size);
    for (size_t i = 0; i < ndup; i++) {
        const struct ynode *k = map->pairs[dups[i]].key;
        _cleanup_free_ char *q = quote_mem(k->text, k->len);
        pend_at(b, k->line, k->col, xasprintf("duplicate key %s", q));
    }
}

/* ---- merge keys (<<) ---------------------------------------------------- */

/* The set of scalar keys a mapping has so far, by text: open addressing over a power
 * of two of slots. */
struct keyset {
    const struct ynode **slot;
    size_t mask;
};

static size_t key_hash(const struct ynode *k)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < k->len; i++)
        h = (h ^ (unsigned char)k->text[i]) * 16777619u;
    return h;
}

/* Adds k; false if a key with the same text is there already. */
static bool keyset_add(struct keyset *ks, const struct ynode *k)
{
    for (size_t i = key_hash(k) & ks->mask;; i = (i + 1) & ks->mask) {
        if (!ks->slot[i]) {
            ks->slot[i] = k;
            return true;
        }
        if (same_key(ks->slot[i], k))
            return false;
    }
}

static bool is_merge_key(const struct ynode *k)
{
    return k->kind == YNODE_SCALAR && k->len == 2 && memcmp(k->text, "<<", 2) == 0 &&
           (k->tag ? strcmp(k->tag, TAG_MERGE) == 0 : k->plain);
}

/* The mappings a merge key's value names: itself, or the items of a list of them. */
static bool merge_sources(struct builder *b, const struct ynode *v, const struct ynode ***out, size_t *n)
{
    if (v->kind == YNODE_MAPPING) {
        *out = xmalloc(sizeof(**out));
        (*out)[0] = v;
        *n = 1;
        return true;
    }
    const struct ynode *bad = v->kind == YNODE_SEQUENCE ? NULL : v;
    for (size_t i = 0; !bad && i < v->nitems; i++)
        if (v->items[i]->kind != YNODE_MAPPING)
            bad = v->items[i];
    if (bad) {
        pend_at(b, bad->line, bad->col,
                xasprintf("merge key <<: expected a mapping or a list of mappings (aliases such as *defaults), got %s",
                          yaml_kind_name(bad)));
        return false;
    }
    *out = xmalloc((v->nitems ? v->nitems : 1) * sizeof(**out));
    memcpy(*out, v->items, v->nitems * sizeof(**out));
    *n = v->nitems;
    return true;
}

/* Appends the entries of the mappings merged by the << entry p whose keys map does not
 * have yet (its own keys win, then earlier sources); false after an error. */
static bool merge_one(struct builder *b, const struct ypair *p, struct keyset *ks, struct ypair **out, size_t *n)
{
    _cleanup_free_ const struct ynode **src = NULL;
    size_t nsrc = 0;
    if (!merge_sources(b, p->value, &src, &nsrc))
        return false;
    for (size_t s = 0; s < nsrc; s++) {
        if (src[s]->npairs > MERGE_MAX_VISITS - b->merge_visits) {
            pend_at(b, p->key->line, p->key->col,
                    xasprintf("merge keys (<<) copy more than %zu entries in this document; write the mappings out",
                              MERGE_MAX_VISITS));
            return false;
        }
        b->merge_visits += src[s]->npairs;
        for (size_t i = 0; i < src[s]->npairs; i++) {
            const struct ypair *q = &src[s]->pairs[i];
            if (q->key->kind != YNODE_SCALAR || keyset_add(ks, q->key))
                (*out)[(*n)++] = *q;
        }
    }
    return true;
}

/* Resolves the merge keys of a complete mapping (YAML 1.1 "<<", e.g. `<<: *defaults`):
 * each is replaced, where it stands, by the entries of the mapping(s) it names that the
 * mapping does not have itself. False after an error. */
static bool merge_keys(struct builder *b, struct ynode *map)
{
    size_t nmerge = 0, room = 0;
    for (size_t i = 0; i < map->npairs; i++)
        if (is_merge_key(map->pairs[i].key)) {
            const struct ynode *v = map->pairs[i].value;
            nmerge++;
            if (v->kind == YNODE_MAPPING)
                room += v->npairs;
            for (size_t k = 0; v->kind == YNODE_SEQUENCE && k < v->nitems; k++)
                room += v->items[k]->kind == YNODE_MAPPING ? v->items[k]->npairs : 0;
        }
    if (nmerge == 0)
        return true;
    if (room > MERGE_MAX_VISITS)
        room = MERGE_MAX_VISITS; /* merge_one stops there */
    size_t slots = 16;
    while (slots < 2 * (map->npairs + room))
        slots *= 2;
    _cleanup_free_ const struct ynode **slot = xcalloc(slots, sizeof(*slot));
    struct keyset ks = { slot, slots - 1 };
    for (size_t i = 0; i < map->npairs; i++)
        if (!is_merge_key(map->pairs[i].key) && map->pairs[i].key->kind == YNODE_SCALAR)
            keyset_add(&ks, map->pairs[i].key);
    struct ypair *out = xmalloc((map->npairs + room) * sizeof(*out));
    size_t n = 0;
    for (size_t i = 0; i < map->npairs; i++) {
        if (!is_merge_key(map->pairs[i].key))
            out[n++] = map->pairs[i];
        else if (!merge_one(b, &map->pairs[i], &ks, &out, &n)) {
            free(out);
            return false;
        }
    }
    free(map->pairs);
    map->pairs = out;
    map->npairs = n;
    return true;
}

/* A sequence or mapping begins; false when it would nest too deep. */
static bool collection_start(struct builder *b, enum ynode_kind kind, const yaml_event_t *e, const yaml_char_t *anchor)
{
    if (b->depth >= YAML_MAX_DEPTH) { /* a nesting bomb: stop before it costs memory */
        pend(b, &e->start_mark, xasprintf("nested deeper than %d levels; flatten the document", YAML_MAX_DEPTH));
        return false;
    }
    push(b, node_new(b->doc, kind, &e->start_mark), dup_name(anchor));
    return true;
}

static bool collection_end(struct builder *b)
{
    if (b->depth == 0)
        return true;
    struct frame f = b->stack[--b->depth];
    if (f.node->kind == YNODE_MAPPING) {
        if (f.pending_key) { /* cannot happen with a well-formed event stream */
            free(f.anchor);
            pend_at(b, f.node->line, f.node->col, xstrdup("mapping key without a value"));
            return false;
        }
        check_duplicates(b, f.node);
        if (!merge_keys(b, f.node)) {
            free(f.anchor);
            return false;
        }
    }
    anchor_set(b, f.anchor, f.node); /* only complete nodes: no cycles */
    attach(b, f.node);
    return true;
}

static void scalar(struct builder *b, const yaml_event_t *e)
{
    struct ynode *n = node_new(b->doc, YNODE_SCALAR, &e->start_mark);
    size_t len = e->data.scalar.value ? e->data.scalar.length : 0;
    n->text = xmalloc(len + 1);
    if (len)
        memcpy(n->text, e->data.scalar.value, len);
    n->text[len] = '\0';
    n->len = len;
    n->plain = e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    n->tag = dup_name(e->data.scalar.tag);
    anchor_set(b, dup_name(e->data.scalar.anchor), n);
    attach(b, n);
}

/* An alias: a shallow copy of its anchor's node, at the alias's own place. */
static bool alias(struct builder *b, const yaml_event_t *e)
{
    const char *name = e->data.alias.anchor ? (const char *)e->data.alias.anchor : "";
    struct ynode *target = anchor_get(b, name);
    if (!target) {
        _cleanup_free_ char *q = yaml_quote(name);
        pend(b, &e->start_mark, xasprintf("unknown alias %s", q));
        return false;
    }
    struct ynode *n = node_new(b->doc, target->kind, &e->start_mark);
    struct ynode *keep = n->next_alloc;
    int line = n->line, col = n->col;
    *n = *target;
    n->line = line;
    n->col = col;
    n->borrowed = true;
    n->next_alloc = keep;
    attach(b, n);
    return true;
}

/* Adds one event to the tree; false to stop reading (an error is pending). */
static bool handle_event(struct builder *b, const yaml_event_t *e)
{
    switch (e->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (++b->ndocs > 1) {
            pend(b, &e->start_mark, xstrdup("several YAML documents; exactly one is allowed"));
            return false;
        }
        return true;
    case YAML_SEQUENCE_START_EVENT: return collection_start(b, YNODE_SEQUENCE, e, e->data.sequence_start.anchor);
    case YAML_MAPPING_START_EVENT: return collection_start(b, YNODE_MAPPING, e, e->data.mapping_start.anchor);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT: return collection_end(b);
    case YAML_SCALAR_EVENT: scalar(b, e); return true;
    case YAML_ALIAS_EVENT: return alias(b, e);
    default: return true;
    }
}

/* The 1-based line and column of byte `off` of text, counted as libyaml counts its marks,
 * so that every position in messages agrees: a column is a character, and a line ends at
 * "\r\n", "\r", "\n", U+0085, U+2028 or U+2029. */
static void text_position(const char *text, size_t len, size_t off, int *line, int *col)
{
    const unsigned char *t = (const unsigned char *)text;
    int ln = 1, cl = 1;
    for (size_t i = 0; i < off && i < len; i++) {
        bool nel = t[i] == 0xc2 && i + 1 < len && t[i + 1] == 0x85;
        bool lsps = t[i] == 0xe2 && i + 2 < len && t[i + 1] == 0x80 && (t[i + 2] == 0xa8 || t[i + 2] == 0xa9);
        if (t[i] == '\n' || (t[i] == '\r' && (i + 1 >= len || t[i + 1] != '\n')) || nel || lsps) {
            ln++;
            cl = 1;
        } else if ((t[i] & 0xc0) != 0x80) {
            cl++;
        }
    }
    *line = ln;
    *col = cl;
}

/* libyaml's error, as one line "file:line:col: message": its problem, at its place, then
 * what it was reading (its context) and where that began. */
static void report_syntax_error(const struct ydoc *doc, const yaml_parser_t *p, struct diag_list *d)
{
    const char *problem = p->problem ? p->problem : "invalid YAML";
    _cleanup_free_ char *raw = NULL;
    int line = 1, col = 1;
    switch (p->error) {
    case YAML_MEMORY_ERROR: diag_error(d, doc->path, 0, 0, "out of memory while reading the YAML"); return;
    case YAML_READER_ERROR: /* a character the text may not hold; the problem is at a byte offset */
        text_position(doc->text, doc->len, p->problem_offset, &line, &col);
        raw = p->problem_value >= 0 ? xasprintf("%s (U+%04X)", problem, (unsigned)p->problem_value) : xstrdup(problem);
        break;
    default:
        line = mark_line(&p->problem_mark);
        col = mark_col(&p->problem_mark);
        /* the context ("while parsing a block mapping") says something when it began elsewhere */
        if (p->context && p->context_mark.index != p->problem_mark.index)
            raw = xasprintf("%s (%s that starts at %d:%d)", problem, p->context, mark_line(&p->context_mark),
                            mark_col(&p->context_mark));
        else
            raw = xstrdup(problem);
        break;
    }
    _cleanup_free_ char *msg = diag_printable(raw);
    diag_error(d, doc->path, line, col, "%s", msg);
}

/* Length of the well-formed UTF-8 sequence at t (RFC 3629: no overlong forms, no
 * surrogates, nothing over U+10FFFF), 0 if there is none. */
static size_t utf8_seq(const unsigned char *t, size_t left)
{
    unsigned char c = t[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf; /* range of the second byte */
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else {
        return 0;
    }
    if (left < n || t[1] < lo || t[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if ((t[i] & 0xc0) != 0x80)
            return 0;
    return n;
}

/* The offset of the first byte that does not begin a well-formed UTF-8 sequence, len if
 * there is none. */
static size_t utf8_invalid(const char *text, size_t len)
{
    const unsigned char *t = (const unsigned char *)text;
    for (size_t i = 0; i < len;) {
        size_t n = utf8_seq(t + i, len - i);
        if (n == 0)
            return i;
        i += n;
    }
    return len;
}

static void event_deletep(yaml_event_t *e) { yaml_event_delete(e); }
MO_DEFINE_POINTER_CLEANUP(parser_deletep, yaml_parser_t *, yaml_parser_delete)

static int parse_text(struct ydoc *doc, struct diag_list *d)
{
    /* libyaml's reader refuses both too, but these messages name the byte, as they always have */
    int line, col;
    const char *nul = memchr(doc->text, '\0', doc->len);
    if (nul) {
        text_position(doc->text, doc->len, (size_t)(nul - doc->text), &line, &col);
        diag_error(d, doc->path, line, col, "NUL character not allowed");
        return -1;
    }
    size_t bad = utf8_invalid(doc->text, doc->len);
    if (bad < doc->len) {
        text_position(doc->text, doc->len, bad, &line, &col);
        diag_error(d, doc->path, line, col, "malformed UTF8 (byte 0x%02x): the file must be UTF-8",
                   (unsigned char)doc->text[bad]);
        return -1;
    }

    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        diag_error(d, doc->path, 0, 0, "cannot create the YAML parser");
        return -1;
    }
    _cleanup_(parser_deletep) yaml_parser_t *p = &parser;
    yaml_parser_set_input_string(p, (const unsigned char *)doc->text, doc->len);

    _cleanup_(builder_free) struct builder b = { .doc = doc };
    for (;;) {
        _cleanup_(event_deletep) yaml_event_t e = { 0 };
        if (!yaml_parser_parse(p, &e)) {
            report_syntax_error(doc, p, d); /* alone: it describes a malformed file */
            return -1;
        }
        if (e.type == YAML_STREAM_END_EVENT || !handle_event(&b, &e))
            break;
    }
    /* duplicate keys and the like, in document order */
    if (b.ndups > 1)
        qsort(b.dups, b.ndups, sizeof(*b.dups), cmp_pending);
    for (size_t i = 0; i < b.ndups; i++)
        diag_error(d, doc->path, b.dups[i].line, b.dups[i].col, "%s", b.dups[i].msg);
    return b.failed ? -1 : 0;
}

/* Parses doc->text; on an error the tree goes (path and text stay). */
static int load_text(struct ydoc *doc, struct diag_list *d)
{
    if (parse_text(doc, d) == 0)
        return 0;
    char *path = doc->path, *text = doc->text;
    size_t len = doc->len;
    doc->path = doc->text = NULL;
    yaml_doc_free(doc);
    doc->path = path;
    doc->text = text;
    doc->len = len;
    return -1;
}

int yaml_load_string(const char *path, const char *text, size_t len, struct ydoc *doc, struct diag_list *d)
{
    assert(path && (text || len == 0) && doc && d);
    memset(doc, 0, sizeof(*doc));
    doc->path = xstrdup(path);
    if (len > YAML_MAX_SIZE) {
        diag_error(d, path, 0, 0, "file is larger than 1 MiB");
        return -1;
    }
    doc->text = xmalloc(len + 1);
    if (len)
        memcpy(doc->text, text, len);
    doc->text[len] = '\0';
    doc->len = len;
    return load_text(doc, d);
}

int yaml_load_file(const char *path, struct ydoc *doc, struct diag_list *d)
{
    assert(path && doc && d);
    memset(doc, 0, sizeof(*doc));
    doc->path = xstrdup(path);
    char *buf = NULL;
    size_t len = 0;
    if (fs_read_file(path, YAML_MAX_SIZE, &buf, &len) != 0) {
        if (errno == EFBIG)
            diag_error(d, path, 0, 0, "file is larger than 1 MiB");
        else
            diag_error(d, path, 0, 0, "cannot read: %s", strerror(errno));
        return -1;
    }
    doc->text = buf;
    doc->len = len;
    return load_text(doc, d);
}

int yaml_load_input(const struct yaml_input *in, struct ydoc *doc, struct diag_list *d)
{
    assert(in);
    if (in->text)
        return yaml_load_string(in->path, in->text, in->len, doc, d);
    return yaml_load_file(in->path, doc, d);
}

/* ---- access ----------------------------------------------------------- */

const struct ypair *yaml_map_find(const struct ynode *map, const char *key)
{
    assert(key);
    if (!map || map->kind != YNODE_MAPPING)
        return NULL;
    size_t kl = strlen(key);
    for (size_t i = 0; i < map->npairs; i++) {
        const struct ynode *k = map->pairs[i].key;
        if (k->kind == YNODE_SCALAR && k->len == kl && memcmp(k->text, key, kl) == 0)
            return &map->pairs[i];
    }
    return NULL;
}

const struct ynode *yaml_map_get(const struct ynode *map, const char *key)
{
    const struct ypair *p = yaml_map_find(map, key);
    return p ? p->value : NULL;
}

int yaml_map_check_keys(const struct ydoc *doc, const struct ynode *map, const char *const *known, struct diag_list *d)
{
    assert(doc && d);
    int rc = 0;
    if (!map || map->kind != YNODE_MAPPING)
        return 0;
    for (size_t i = 0; i < map->npairs; i++) {
        const struct ynode *k = map->pairs[i].key;
        if (k->kind != YNODE_SCALAR) {
            yaml_diag_error(d, doc, k, "mapping key must be a scalar, got %s", yaml_kind_name(k));
            rc = -1;
            continue;
        }
        bool found = false;
        for (size_t j = 0; known && known[j] && !found; j++)
            found = strlen(known[j]) == k->len && memcmp(known[j], k->text, k->len) == 0;
        if (!found) {
            _cleanup_free_ char *q = quote_mem(k->text, k->len);
            yaml_diag_warn(d, doc, k, "unknown key %s", q);
        }
    }
    return rc;
}

const struct ynode *yaml_root_mapping(const struct ydoc *doc, struct diag_list *d)
{
    assert(doc && d);
    if (!doc->root || yaml_is_null(doc->root)) {
        diag_error(d, doc->path, 1, 1, "empty document, expected a mapping");
        return NULL;
    }
    if (doc->root->kind != YNODE_MAPPING) {
        yaml_diag_error(d, doc, doc->root, "expected a mapping at the top level, got %s", yaml_kind_name(doc->root));
        return NULL;
    }
    return doc->root;
}

/* Where an error about a present field goes: `at` if given, else the value
 * (its key when the value is empty, having no position of its own). */
static const struct ynode *value_loc(const struct ynode *at, const struct ypair *p)
{
    if (at)
        return at;
    if (p->value->kind == YNODE_SCALAR && p->value->plain && p->value->len == 0)
        return p->key;
    return p->value;
}

/* Finds map[key]; reports a missing required field. */
static const struct ypair *lookup(const struct ydoc *doc, const struct ynode *map, const char *path, const char *key,
                                  unsigned flags, const struct ynode *at, int *rc, struct diag_list *d)
{
    const struct ypair *p = yaml_map_find(map, key);
    *rc = 0;
    if (!p && (flags & YAML_REQUIRED)) {
        yaml_diag_error(d, doc, at ? at : map, "%s: required field missing", path);
        *rc = -1;
    }
    return p;
}

const struct ynode *yaml_get_node(const struct ydoc *doc, const struct ynode *map, const char *prefix, const char *key,
                                  enum ynode_kind kind, unsigned flags, const struct ynode *at, bool *err,
                                  struct diag_list *d)
{
    assert(doc && key && d);
    _cleanup_free_ char *path = yaml_path_key(prefix, key);
    int rc;
    const struct ypair *p = lookup(doc, map, path, key, flags, at, &rc, d);
    const struct ynode *res = NULL;
    if (p) {
        const struct ynode *v = p->value;
        const struct ynode *loc = value_loc(at, p);
        if (v->kind != kind || (kind == YNODE_SCALAR && yaml_is_null(v))) {
            yaml_diag_error(d, doc, loc, "%s: expected %s, got %s", path, want_name(kind), yaml_kind_name(v));
            rc = -1;
        } else if ((flags & YAML_NONEMPTY) &&
                   ((kind == YNODE_SEQUENCE && v->nitems == 0) || (kind == YNODE_MAPPING && v->npairs == 0))) {
            yaml_diag_error(d, doc, loc, "%s: must not be empty", path);
            rc = -1;
        } else {
            res = v;
        }
    }
    if (rc != 0 && err)
        *err = true;
    return res;
}

/* Text of a string scalar; reports null, collections and NUL bytes. */
static int scalar_string(const struct ydoc *doc, const struct ynode *v, const struct ynode *loc, const char *path,
                         unsigned flags, char **out, struct diag_list *d)
{
    if (v->kind != YNODE_SCALAR || yaml_is_null(v)) {
        yaml_diag_error(d, doc, loc, "%s: expected a string, got %s", path, yaml_kind_name(v));
        return -1;
    }
    if (strlen(v->text) != v->len) {
        yaml_diag_error(d, doc, loc, "%s: contains a NUL character", path);
        return -1;
    }
    if ((flags & YAML_NONEMPTY) && v->len == 0) {
        yaml_diag_error(d, doc, loc, "%s: must not be empty", path);
        return -1;
    }
    if ((flags & YAML_ONELINE) && yaml_has_control(v->text, v->len)) {
        _cleanup_free_ char *q = quote_mem(v->text, v->len);
        yaml_diag_error(d, doc, loc,
                        "%s: %s: control characters are not allowed (the value is printed on one line); remove them",
                        path, q);
        return -1;
    }
    *out = xstrdup(v->text);
    return 0;
}

int yaml_get_string(const struct ydoc *doc, const struct ynode *map, const char *prefix, const char *key,
                    unsigned flags, const struct ynode *at, char **out, struct diag_list *d)
{
    assert(doc && key && out && d);
    _cleanup_free_ char *path = yaml_path_key(prefix, key);
    int rc;
    *out = NULL;
    const struct ypair *p = lookup(doc, map, path, key, flags, at, &rc, d);
    if (p)
        rc = scalar_string(doc, p->value, value_loc(at, p), path, flags, out, d);
    return rc;
}

int yaml_expect_string(const struct ydoc *doc, const struct ynode *map, const char *prefix, const char *key,
                       unsigned flags, const char *want, struct diag_list *d)
{
    assert(want);
    _cleanup_free_ char *s = NULL;
    int rc = yaml_get_string(doc, map, prefix, key, flags, NULL, &s, d);
    if (rc == 0 && s && strcmp(s, want) != 0) {
        const struct ypair *p = yaml_map_find(map, key);
        _cleanup_free_ char *path = yaml_path_key(prefix, key);
        _cleanup_free_ char *qs = yaml_quote(s);
        _cleanup_free_ char *qw = yaml_quote(want);
        yaml_diag_error(d, doc, value_loc(NULL, p), "%s: %s: expected %s", path, qs, qw);
        rc = -1;
    }
    return rc;
}

static bool all_digits(const char *s, int base)
{
    if (!*s)
        return false;
    for (; *s; s++) {
        char c = *s;
        bool ok = base == 16  ? ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))
                  : base == 8 ? (c >= '0' && c <= '7')
                              : (c >= '0' && c <= '9');
        if (!ok)
            return false;
    }
    return true;
}

bool yaml_scalar_int(const struct ynode *n, long long *out)
{
    if (!n || n->kind != YNODE_SCALAR || strlen(n->text) != n->len)
        return false;
    bool int_tag = n->tag && strcmp(n->tag, TAG_INT) == 0;
    if (n->tag && !int_tag)
        return false;
    if (!n->plain && !int_tag)
        return false;
    const char *s = n->text;
    int base = 10;
    bool neg = false;
    if (s[0] == '0' && s[1] == 'x') {
        base = 16;
        s += 2;
    } else if (s[0] == '0' && s[1] == 'o') {
        base = 8;
        s += 2;
    } else if (s[0] == '-' || s[0] == '+') {
        neg = s[0] == '-';
        s++;
    }
    if (!all_digits(s, base))
        return false;
    errno = 0;
    unsigned long long v = strtoull(s, NULL, base);
    if (errno == ERANGE || v > (unsigned long long)INT64_MAX)
        return false;
    *out = neg ? -(long long)v : (long long)v;
    return true;
}

int yaml_get_int(const struct ydoc *doc, const struct ynode *map, const char *prefix, const char *key, unsigned flags,
                 long min, long max, const struct ynode *at, long *out, bool *present, struct diag_list *d)
{
    assert(doc && key && out && d);
    _cleanup_free_ char *path = yaml_path_key(prefix, key);
    int rc;
    const struct ypair *p = lookup(doc, map, path, key, flags, at, &rc, d);
    if (present)
        *present = p != NULL;
    if (p) {
        const struct ynode *v = p->value, *loc = value_loc(at, p);
        long long val;
        if (v->kind != YNODE_SCALAR || yaml_is_null(v)) {
            yaml_diag_error(d, doc, loc, "%s: expected an integer from %ld to %ld, got %s", path, min, max,
                            yaml_kind_name(v));
            rc = -1;
        } else if (!yaml_scalar_int(v, &val) || val < min || val > max) {
            _cleanup_free_ char *shown = scalar_display(v);
            yaml_diag_error(d, doc, loc, "%s: %s: must be an integer from %ld to %ld", path, shown, min, max);
            rc = -1;
        } else {
            *out = (long)val;
        }
    }
    return rc;
}

int yaml_get_scalar_list(const struct ydoc *doc, const struct ynode *map, const char *prefix, const char *key,
                         unsigned flags, const struct ynode *at, struct strv *out, bool *present, struct diag_list *d)
{
    assert(out);
    bool err = false;
    const struct ynode *seq = yaml_get_node(doc, map, prefix, key, YNODE_SEQUENCE, flags, at, &err, d);
    if (present)
        *present = yaml_map_find(map, key) != NULL;
    if (!seq)
        return err ? -1 : 0;
    _cleanup_free_ char *path = yaml_path_key(prefix, key);
    int rc = 0;
    for (size_t i = 0; i < seq->nitems; i++) {
        const struct ynode *it = seq->items[i];
        if (it->kind != YNODE_SCALAR) {
            yaml_diag_error(d, doc, at ? at : it, "%s[%zu]: expected a scalar, got %s", path, i, yaml_kind_name(it));
            rc = -1;
        } else if (strlen(it->text) != it->len) {
            yaml_diag_error(d, doc, at ? at : it, "%s[%zu]: contains a NUL character", path, i);
            rc = -1;
        } else {
            strv_push(out, it->text);
        }
    }
    return rc;
}

#include "util/strv.h"

#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

void strv_push_owned(struct strv *l, char *s)
{
    l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
    l->v[l->n++] = s;
}

void strv_push(struct strv *l, const char *s) { strv_push_owned(l, xstrdup(s)); }

bool strv_contains(const struct strv *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], s) == 0)
            return true;
    return false;
}

void strv_copy(struct strv *dst, const struct strv *src)
{
    for (size_t i = 0; i < src->n; i++)
        strv_push(dst, src->v[i]);
}

void strv_free(struct strv *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static struct kv *kvl_find(const struct kvlist *l, const char *key)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->items[i].key, key) == 0)
            return &l->items[i];
    return NULL;
}

const char *kvl_get(const struct kvlist *l, const char *key)
{
    struct kv *e = kvl_find(l, key);
    return e ? e->value : NULL;
}

void kvl_set(struct kvlist *l, const char *key, const char *value)
{
    struct kv *e = kvl_find(l, key);
    if (e) {
        char *v = xstrdup(value);
        free(e->value);
        e->value = v;
        return;
    }
    l->items = xrealloc(l->items, (l->n + 1) * sizeof(*l->items));
    l->items[l->n].key = xstrdup(key);
    l->items[l->n].value = xstrdup(value);
    l->n++;
}

bool kvl_remove(struct kvlist *l, const char *key)
{
    struct kv *e = kvl_find(l, key);
    if (!e)
        return false;
    size_t i = (size_t)(e - l->items);
    free(e->key);
    free(e->value);
    memmove(&l->items[i], &l->items[i + 1], (l->n - i - 1) * sizeof(*l->items));
    l->n--;
    return true;
}

void kvl_copy(struct kvlist *dst, const struct kvlist *src)
{
    for (size_t i = 0; i < src->n; i++)
        kvl_set(dst, src->items[i].key, src->items[i].value);
}

static int kv_cmp(const void *a, const void *b)
{
    return strcmp(((const struct kv *)a)->key, ((const struct kv *)b)->key);
}

void kvl_sort(struct kvlist *l)
{
    if (l->n > 1)
        qsort(l->items, l->n, sizeof(*l->items), kv_cmp);
}

bool kvl_equal(const struct kvlist *a, const struct kvlist *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++) {
        const char *v = kvl_get(b, a->items[i].key);
        if (!v || strcmp(v, a->items[i].value) != 0)
            return false;
    }
    return true;
}

void kvl_free(struct kvlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->items[i].key);
        free(l->items[i].value);
    }
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

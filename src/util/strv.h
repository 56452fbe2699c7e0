/* Growable string lists and ordered key=value lists. */
#ifndef MO_STRV_H
#define MO_STRV_H

#include <stdbool.h>
#include <stddef.h>

struct strv {
    char **v;
    size_t n;
};

void strv_push(struct strv *l, const char *s); /* copies s */
void strv_push_owned(struct strv *l, char *s); /* takes s */
bool strv_contains(const struct strv *l, const char *s);
void strv_copy(struct strv *dst, const struct strv *src);
void strv_free(struct strv *l);

struct kv {
    char *key;
    char *value;
};

/* Keys are unique; kvl_set keeps the position of an existing key. */
struct kvlist {
    struct kv *items;
    size_t n;
};

const char *kvl_get(const struct kvlist *l, const char *key);
void kvl_set(struct kvlist *l, const char *key, const char *value);
bool kvl_remove(struct kvlist *l, const char *key);
void kvl_copy(struct kvlist *dst, const struct kvlist *src);
void kvl_sort(struct kvlist *l); /* bytewise by key */
/* Same keys with the same values, in any order. */
bool kvl_equal(const struct kvlist *a, const struct kvlist *b);
void kvl_free(struct kvlist *l);

#endif

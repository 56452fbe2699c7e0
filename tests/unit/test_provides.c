/* Provides, depends and clears rules (docs/artifact-format.md, docs/selection.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "artifact/artifact.h"
#include "artifact/provides.h"
#include "util/mem.h"
#include "util/strv.h"

/* ---- building artifact_info by hand ---- */

static void info_init(struct artifact_info *a, const char *name, const char *group)
{
    memset(a, 0, sizeof(*a));
    a->format_version = 3;
    a->artifact_name = xstrdup(name);
    a->artifact_group = group ? xstrdup(group) : NULL;
}

static void info_provide(struct artifact_info *a, const char *key, const char *value)
{
    a->has_type_provides = true;
    kvl_set(&a->type_provides, key, value);
}

static void info_clears(struct artifact_info *a, const char *pattern)
{
    a->has_clears = true;
    if (pattern)
        strv_push(&a->clears, pattern);
}

/* NULL-terminated list of values. */
static void info_depend(struct artifact_info *a, const char *key, ...)
{
    a->type_depends.items = xrealloc(a->type_depends.items, (a->type_depends.n + 1) * sizeof(struct depend));
    struct depend *dep = &a->type_depends.items[a->type_depends.n++];
    memset(dep, 0, sizeof(*dep));
    dep->key = xstrdup(key);
    va_list ap;
    va_start(ap, key);
    const char *v;
    while ((v = va_arg(ap, const char *)))
        strv_push(&dep->values, v);
    va_end(ap);
}

/* Local free: does not depend on the reader's artifact_info_free. */
static void info_free(struct artifact_info *a)
{
    free(a->artifact_name);
    free(a->artifact_group);
    free(a->payload_type);
    strv_free(&a->compatible_types);
    strv_free(&a->depends_artifact_name);
    strv_free(&a->depends_artifact_group);
    kvl_free(&a->type_provides);
    for (size_t i = 0; i < a->type_depends.n; i++) {
        free(a->type_depends.items[i].key);
        strv_free(&a->type_depends.items[i].values);
    }
    free(a->type_depends.items);
    strv_free(&a->clears);
    memset(a, 0, sizeof(*a));
}

/* kvlist from "k=v" strings, NULL-terminated. */
static struct kvlist kvl(const char *first, ...)
{
    struct kvlist l = { 0 };
    va_list ap;
    va_start(ap, first);
    for (const char *s = first; s; s = va_arg(ap, const char *)) {
        const char *eq = strchr(s, '=');
        char *k = xstrndup(s, (size_t)(eq - s));
        kvl_set(&l, k, eq + 1);
        free(k);
    }
    va_end(ap);
    return l;
}

static void assert_kvl(const struct kvlist *got, const struct kvlist *want)
{
    if (!kvl_equal(got, want)) {
        for (size_t i = 0; i < got->n; i++)
            print_message("got  %s=%s\n", got->items[i].key, got->items[i].value);
        for (size_t i = 0; i < want->n; i++)
            print_message("want %s=%s\n", want->items[i].key, want->items[i].value);
        fail_msg("provides differ");
    }
}

/* ---- wildcard matcher ---- */

static void pattern_rootfs_image_star(void **state)
{
    (void)state;
    assert_true(provides_pattern_match("rootfs-image.*", "rootfs-image.version"));
    assert_true(provides_pattern_match("rootfs-image.*", "rootfs-image.checksum"));
    assert_true(provides_pattern_match("rootfs-image.*", "rootfs-image."));
    assert_true(provides_pattern_match("rootfs-image.*", "rootfs-image.rtos-interface.version"));
    assert_false(provides_pattern_match("rootfs-image.*", "rootfs-image"));
    assert_false(provides_pattern_match("rootfs-image.*", "data-partition.checksum"));
    assert_false(provides_pattern_match("rootfs-image.*", "xrootfs-image.version"));
}

static void pattern_star_alone(void **state)
{
    (void)state;
    assert_true(provides_pattern_match("*", ""));
    assert_true(provides_pattern_match("*", "anything"));
    assert_true(provides_pattern_match("*", "artifact_group"));
    assert_true(provides_pattern_match("**", ""));
    assert_true(provides_pattern_match("***", "abc"));
}

static void pattern_overlap(void **state)
{
    (void)state;
    /* prefix and suffix may not share characters */
    assert_false(provides_pattern_match("a*a", "a"));
    assert_true(provides_pattern_match("a*a", "aa"));
    assert_true(provides_pattern_match("a*a", "aba"));
    assert_false(provides_pattern_match("ab*bc", "abc"));
    assert_true(provides_pattern_match("ab*bc", "abbc"));
    /* pieces in order without overlap */
    assert_true(provides_pattern_match("a*b*c", "abc"));
    assert_true(provides_pattern_match("a*b*c", "axxbyyc"));
    assert_true(provides_pattern_match("a*b*c", "abcbc"));
    assert_false(provides_pattern_match("a*b*c", "ac"));
    assert_false(provides_pattern_match("a*b*c", "acb"));
    assert_false(provides_pattern_match("a*b*c", "abcd"));
    assert_false(provides_pattern_match("*a*a*", "a"));
    assert_true(provides_pattern_match("*a*a*", "aa"));
    assert_true(provides_pattern_match("*a*a*", "xaya"));
    assert_false(provides_pattern_match("*aa*aa*", "aaa"));
    assert_true(provides_pattern_match("*aa*aa*", "aaaa"));
    /* a middle piece may not use the suffix's characters */
    assert_false(provides_pattern_match("x*ab*b", "xab"));
    assert_true(provides_pattern_match("x*ab*b", "xabb"));
}

static void pattern_empty(void **state)
{
    (void)state;
    assert_true(provides_pattern_match("", ""));
    assert_false(provides_pattern_match("", "a"));
    assert_false(provides_pattern_match("a", ""));
    assert_false(provides_pattern_match("a*", ""));
}

static void pattern_leading_trailing(void **state)
{
    (void)state;
    assert_true(provides_pattern_match("*.version", "rootfs-image.version"));
    assert_true(provides_pattern_match("*.version", ".version"));
    assert_false(provides_pattern_match("*.version", "rootfs-image.version.x"));
    assert_true(provides_pattern_match("rootfs*", "rootfs"));
    assert_true(provides_pattern_match("rootfs*", "rootfs-image.version"));
    assert_false(provides_pattern_match("rootfs*", "xrootfs"));
    assert_true(provides_pattern_match("*image*", "rootfs-image.version"));
    assert_true(provides_pattern_match("*image*", "image"));
    assert_false(provides_pattern_match("*image*", "imag"));
}

static void pattern_no_star_is_exact(void **state)
{
    (void)state;
    assert_true(provides_pattern_match("artifact_group", "artifact_group"));
    assert_false(provides_pattern_match("artifact_group", "artifact_group2"));
    assert_false(provides_pattern_match("artifact_group", "artifact"));
    assert_false(provides_pattern_match("Artifact_group", "artifact_group"));
    /* nothing but '*' is special */
    assert_false(provides_pattern_match("a?c", "abc"));
    assert_true(provides_pattern_match("a?c", "a?c"));
    assert_false(provides_pattern_match("[ab]", "a"));
    assert_true(provides_pattern_match("[ab]", "[ab]"));
    assert_true(provides_pattern_match("a\\*", "a\\xyz"));
    assert_false(provides_pattern_match("a\\*", "a*"));
}

/* ---- provides of an Artifact ---- */

static void artifact_provides(void **state)
{
    (void)state;
    struct artifact_info a;
    info_init(&a, "rtos-v2", "grpA");
    info_provide(&a, "rootfs-image.rtos-interface.version", "rtos-v2");
    info_provide(&a, "app.version", "2");
    struct kvlist got = { 0 };
    provides_of_artifact(&a, &got);
    struct kvlist want = kvl("artifact_name=rtos-v2", "artifact_group=grpA",
                             "rootfs-image.rtos-interface.version=rtos-v2", "app.version=2", NULL);
    assert_kvl(&got, &want);
    kvl_free(&got);
    kvl_free(&want);
    info_free(&a);

    info_init(&a, "plain", NULL);
    provides_of_artifact(&a, &got);
    want = kvl("artifact_name=plain", NULL);
    assert_kvl(&got, &want);
    kvl_free(&got);
    kvl_free(&want);
    info_free(&a);

    info_init(&a, "emptygroup", "");
    provides_of_artifact(&a, &got);
    want = kvl("artifact_name=emptygroup", NULL);
    assert_kvl(&got, &want);
    kvl_free(&got);
    kvl_free(&want);
    info_free(&a);
}

/* ---- the apply table ---- */

static struct kvlist existing(void)
{
    return kvl("artifact_name=old", "artifact_group=grp0", "rootfs-image.version=v1", "rootfs-image.checksum=abc",
               "data.x=1", NULL);
}

static void check_apply(const struct artifact_info *a, const struct kvlist *want)
{
    struct kvlist cur = existing();
    struct kvlist got = { 0 };
    provides_apply(&cur, a, &got);
    assert_kvl(&got, want);
    kvl_free(&got);
    kvl_free(&cur);
}

static void apply_p_absent_c_absent(void **state)
{
    (void)state;
    struct artifact_info a;
    info_init(&a, "new", NULL);
    struct kvlist want = kvl("artifact_name=new", NULL);
    check_apply(&a, &want);
    kvl_free(&want);
    info_free(&a);
}

static void apply_p_absent_c_present(void **state)
{
    (void)state;
    struct artifact_info a;
    info_init(&a, "new", NULL);
    info_clears(&a, "data.*");
    struct kvlist want = kvl("artifact_name=new", "artifact_group=grp0", "rootfs-image.version=v1",
                             "rootfs-image.checksum=abc", NULL);
    check_apply(&a, &want);
    kvl_free(&want);
    info_free(&a);
}

static void apply_p_present_c_absent(void **state)
{
    (void)state;
    struct artifact_info a;
    info_init(&a, "new", NULL);
    info_provide(&a, "rootfs-image.version", "v2");
    info_provide(&a, "other", "o");
    struct kvlist want = kvl("artifact_name=new", "rootfs-image.version=v2", "other=o", NULL);
    check_apply(&a, &want);
    kvl_free(&want);
    info_free(&a);
}

static void apply_p_present_c_present(void **state)
{
    (void)state;
    struct artifact_info a;
    info_init(&a, "new", NULL);
    info_provide(&a, "rootfs-image.version", "v2");
    info_provide(&a, "data.x", "2");
    info_clears(&a, "rootfs-image.*");
    /* checksum cleared, data.x overwritten, group survives */
    struct kvlist want = kvl("artifact_name=new", "artifact_group=grp0", "rootfs-image.version=v2", "data.x=2", NULL);
    check_apply(&a, &want);
    kvl_free(&want);
    info_free(&a);
}

static void apply_c_empty_clears_nothing(void **state)
{
    (void)state;
    struct artifact_info a;
    info_init(&a, "new", NULL);
    info_provide(&a, "extra", "e");
    info_clears(&a, NULL); /* present, [] */
    struct kvlist want = kvl("artifact_name=new", "artifact_group=grp0", "rootfs-image.version=v1",
                             "rootfs-image.checksum=abc", "data.x=1", "extra=e", NULL);
    check_apply(&a, &want);
    kvl_free(&want);
    info_free(&a);
}

static void apply_group_rules(void **state)
{
    (void)state;
    struct artifact_info a;
    struct kvlist want;

    /* a non-empty group replaces the old one, even when C is absent */
    info_init(&a, "new", "grpB");
    want = kvl("artifact_name=new", "artifact_group=grpB", NULL);
    check_apply(&a, &want);
    kvl_free(&want);
    info_free(&a);

    /* an empty group: the old one survives when C does not clear it */
    info_init(&a, "new", "");
    info_clears(&a, "data.*");
    want = kvl("artifact_name=new", "artifact_group=grp0", "rootfs-image.version=v1", "rootfs-image.checksum=abc",
               NULL);
    check_apply(&a, &want);
    kvl_free(&want);
    info_free(&a);

    /* ... and is cleared by a pattern that matches artifact_group */
    info_init(&a, "new", NULL);
    info_clears(&a, "artifact_group");
    want = kvl("artifact_name=new", "rootfs-image.version=v1", "rootfs-image.checksum=abc", "data.x=1", NULL);
    check_apply(&a, &want);
    kvl_free(&want);
    info_free(&a);

    info_init(&a, "new", NULL);
    info_clears(&a, "artifact_*");
    want = kvl("artifact_name=new", "rootfs-image.version=v1", "rootfs-image.checksum=abc", "data.x=1", NULL);
    check_apply(&a, &want);
    kvl_free(&want);
    info_free(&a);

    /* C absent clears everything, the group included */
    info_init(&a, "new", NULL);
    info_provide(&a, "rootfs-image.version", "v1");
    want = kvl("artifact_name=new", "rootfs-image.version=v1", NULL);
    check_apply(&a, &want);
    kvl_free(&want);
    info_free(&a);

    /* a group is added to provides that had none */
    struct kvlist cur = kvl("k=v", NULL), got = { 0 };
    info_init(&a, "new", "grpC");
    info_clears(&a, NULL);
    provides_apply(&cur, &a, &got);
    want = kvl("k=v", "artifact_name=new", "artifact_group=grpC", NULL);
    assert_kvl(&got, &want);
    kvl_free(&want);
    kvl_free(&got);
    kvl_free(&cur);
    info_free(&a);
}

/* ---- installed ---- */

/* The Mender docs example: rtos-v2 depends on rtos-v1. */
static void rtos_v2(struct artifact_info *a)
{
    info_init(a, "rtos-v2", NULL);
    strv_push(&a->compatible_types, "rtos");
    info_provide(a, "rootfs-image.rtos-interface.version", "rtos-v2");
    info_clears(a, "rootfs-image.rtos-interface.*");
    info_depend(a, "rootfs-image.rtos-interface.version", "rtos-v1", NULL);
}

static void docs_example(void **state)
{
    (void)state;
    struct artifact_info a;
    rtos_v2(&a);
    char *why = NULL;

    /* R123 at rtos-v1: depends satisfied, not installed: gets it */
    struct kvlist r123 = kvl("rootfs-image.rtos-interface.version=rtos-v1", NULL);
    assert_true(provides_compatible(&a, "rtos"));
    assert_false(provides_installed(&r123, &a));
    assert_true(provides_depends_match(&a, "rtos", &r123, &why));
    assert_null(why);

    /* R456 at rtos-v2: installed (skipped) */
    struct kvlist r456 = kvl("rootfs-image.rtos-interface.version=rtos-v2", NULL);
    assert_true(provides_installed(&r456, &a));

    /* R789 at rtos-v0: depends fail */
    struct kvlist r789 = kvl("rootfs-image.rtos-interface.version=rtos-v0", NULL);
    assert_false(provides_installed(&r789, &a));
    assert_false(provides_depends_match(&a, "rtos", &r789, &why));
    assert_non_null(why);
    assert_string_equal(why, "depends rootfs-image.rtos-interface.version: \"rtos-v0\" not in [rtos-v1]");
    free(why);

    /* A reported artifact_name takes no part when other keys exist */
    struct kvlist named = kvl("artifact_name=something-else", "rootfs-image.rtos-interface.version=rtos-v2", NULL);
    assert_true(provides_installed(&named, &a));

    kvl_free(&r123);
    kvl_free(&r456);
    kvl_free(&r789);
    kvl_free(&named);
    info_free(&a);
}

static void installed_artifact_name_only(void **state)
{
    (void)state;
    struct artifact_info a;
    info_init(&a, "app-1", NULL); /* no provides, no clears: new = {artifact_name} */

    struct kvlist same = kvl("artifact_name=app-1", NULL);
    struct kvlist other = kvl("artifact_name=app-0", NULL);
    struct kvlist empty = { 0 };
    struct kvlist more = kvl("artifact_name=app-1", "k=v", NULL);
    assert_true(provides_installed(&same, &a));
    assert_false(provides_installed(&other, &a));
    assert_false(provides_installed(&empty, &a));
    /* new = {artifact_name} is the only key on that side: compared, k=v lost */
    assert_false(provides_installed(&more, &a));
    kvl_free(&same);
    kvl_free(&other);
    kvl_free(&more);
    info_free(&a);

    /* artifact_name only on the current side: compared too */
    info_init(&a, "app-1", NULL);
    info_provide(&a, "k", "v");
    struct kvlist only_name = kvl("artifact_name=app-1", NULL);
    assert_false(provides_installed(&only_name, &a));
    kvl_free(&only_name);
    /* with other keys, artifact_name is left out */
    struct kvlist kv = kvl("k=v", NULL);
    struct kvlist kv_named = kvl("k=v", "artifact_name=zzz", NULL);
    assert_true(provides_installed(&kv, &a));
    assert_true(provides_installed(&kv_named, &a));
    kvl_free(&kv);
    kvl_free(&kv_named);
    info_free(&a);
}

static void installed_partial_update(void **state)
{
    (void)state;
    struct artifact_info a;
    info_init(&a, "app-2", NULL);
    info_provide(&a, "app.version", "2");
    info_clears(&a, "app.*");

    struct kvlist at2 = kvl("rootfs-image.rtos-interface.version=rtos-v1", "app.version=2", NULL);
    struct kvlist at1 = kvl("rootfs-image.rtos-interface.version=rtos-v1", "app.version=1", NULL);
    struct kvlist extra = kvl("rootfs-image.rtos-interface.version=rtos-v1", "app.version=2", "app.extra=x", NULL);
    assert_true(provides_installed(&at2, &a)); /* uncleared keys kept */
    assert_false(provides_installed(&at1, &a));
    assert_false(provides_installed(&extra, &a)); /* app.extra would be cleared */

    /* without clears, the same Artifact would erase the version key: not installed */
    strv_free(&a.clears);
    a.has_clears = false;
    assert_false(provides_installed(&at2, &a));

    /* a group that would change makes it not installed */
    a.has_clears = true;
    strv_push(&a.clears, "app.*");
    a.artifact_group = xstrdup("grpA");
    assert_false(provides_installed(&at2, &a));
    struct kvlist grouped = kvl("rootfs-image.rtos-interface.version=rtos-v1", "app.version=2", "artifact_group=grpA",
                                NULL);
    assert_true(provides_installed(&grouped, &a));
    kvl_free(&grouped);

    kvl_free(&at2);
    kvl_free(&at1);
    kvl_free(&extra);
    info_free(&a);
}

static void installed_group_cleared(void **state)
{
    (void)state;
    /* the current group would be erased (C absent): not installed */
    struct artifact_info a;
    info_init(&a, "v2", NULL);
    info_provide(&a, "rootfs-image.version", "v2");
    struct kvlist cur = kvl("rootfs-image.version=v2", "artifact_group=g", NULL);
    assert_false(provides_installed(&cur, &a));
    struct kvlist nogroup = kvl("rootfs-image.version=v2", NULL);
    assert_true(provides_installed(&nogroup, &a));
    kvl_free(&cur);
    kvl_free(&nogroup);
    info_free(&a);
}

/* ---- depends ---- */

static void depends_device_type(void **state)
{
    (void)state;
    struct artifact_info a;
    info_init(&a, "x", NULL);
    strv_push(&a.compatible_types, "rtos");
    strv_push(&a.compatible_types, "rtos-b");
    struct kvlist cur = kvl("rootfs-image.version=1", "device_type=gateway", NULL);
    char *why = NULL;

    assert_true(provides_compatible(&a, "rtos"));
    assert_true(provides_compatible(&a, "rtos-b"));
    assert_false(provides_compatible(&a, "gateway"));
    assert_false(provides_compatible(&a, "rto"));

    /* component_type decides, never a device_type in the provides */
    assert_true(provides_depends_match(&a, "rtos-b", &cur, &why));
    assert_null(why);
    assert_false(provides_depends_match(&a, "gateway", &cur, &why));
    assert_string_equal(why, "depends device_type: \"gateway\" not in [rtos, rtos-b]");
    free(why);
    why = NULL;

    /* why may be NULL */
    assert_false(provides_depends_match(&a, "gateway", &cur, NULL));

    /* No depends on the version key: any installed version accepted */
    struct kvlist empty = { 0 };
    assert_true(provides_depends_match(&a, "rtos", &empty, NULL));
    kvl_free(&cur);
    info_free(&a);
}

static void depends_name_and_group(void **state)
{
    (void)state;
    struct artifact_info a;
    info_init(&a, "rtos-v2", NULL);
    strv_push(&a.compatible_types, "rtos");
    strv_push(&a.depends_artifact_name, "rtos-v1");
    char *why = NULL;

    struct kvlist noname = kvl("rootfs-image.rtos-interface.version=rtos-v1", NULL);
    assert_false(provides_depends_match(&a, "rtos", &noname, &why));
    assert_string_equal(why, "depends artifact_name: key missing from the component's provides");
    free(why);
    why = NULL;

    struct kvlist named = kvl("artifact_name=rtos-v1", NULL);
    assert_true(provides_depends_match(&a, "rtos", &named, &why));
    struct kvlist wrongname = kvl("artifact_name=rtos-v0", NULL);
    assert_false(provides_depends_match(&a, "rtos", &wrongname, &why));
    assert_string_equal(why, "depends artifact_name: \"rtos-v0\" not in [rtos-v1]");
    free(why);
    why = NULL;

    /* artifact_group depends */
    strv_push(&a.depends_artifact_group, "grp0");
    strv_push(&a.depends_artifact_group, "grp1");
    assert_false(provides_depends_match(&a, "rtos", &named, &why));
    assert_string_equal(why, "depends artifact_group: key missing from the component's provides");
    free(why);
    why = NULL;
    struct kvlist g1 = kvl("artifact_name=rtos-v1", "artifact_group=grp1", NULL);
    assert_true(provides_depends_match(&a, "rtos", &g1, &why));
    struct kvlist g2 = kvl("artifact_name=rtos-v1", "artifact_group=grp2", NULL);
    assert_false(provides_depends_match(&a, "rtos", &g2, &why));
    assert_string_equal(why, "depends artifact_group: \"grp2\" not in [grp0, grp1]");
    free(why);

    kvl_free(&noname);
    kvl_free(&named);
    kvl_free(&wrongname);
    kvl_free(&g1);
    kvl_free(&g2);
    info_free(&a);
}

static void depends_or_and(void **state)
{
    (void)state;
    struct artifact_info a;
    info_init(&a, "x", NULL);
    strv_push(&a.compatible_types, "t");
    info_depend(&a, "os.version", "1", "2", "3", NULL);
    info_depend(&a, "bl.version", "a", NULL);
    char *why = NULL;

    struct kvlist ok2 = kvl("os.version=2", "bl.version=a", NULL);
    struct kvlist ok3 = kvl("bl.version=a", "os.version=3", "unrelated=u", NULL);
    assert_true(provides_depends_match(&a, "t", &ok2, &why));
    assert_true(provides_depends_match(&a, "t", &ok3, &why));
    assert_null(why);

    struct kvlist bad_os = kvl("os.version=4", "bl.version=a", NULL);
    assert_false(provides_depends_match(&a, "t", &bad_os, &why));
    assert_string_equal(why, "depends os.version: \"4\" not in [1, 2, 3]");
    free(why);
    why = NULL;

    struct kvlist bad_bl = kvl("os.version=1", "bl.version=b", NULL);
    assert_false(provides_depends_match(&a, "t", &bad_bl, &why));
    assert_string_equal(why, "depends bl.version: \"b\" not in [a]");
    free(why);
    why = NULL;

    struct kvlist missing_bl = kvl("os.version=1", NULL);
    assert_false(provides_depends_match(&a, "t", &missing_bl, &why));
    assert_string_equal(why, "depends bl.version: key missing from the component's provides");
    free(why);
    why = NULL;

    /* device_type is checked along with the other keys */
    assert_false(provides_depends_match(&a, "u", &ok2, &why));
    assert_string_equal(why, "depends device_type: \"u\" not in [t]");
    free(why);

    kvl_free(&ok2);
    kvl_free(&ok3);
    kvl_free(&bad_os);
    kvl_free(&bad_bl);
    kvl_free(&missing_bl);
    info_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pattern_rootfs_image_star),
        cmocka_unit_test(pattern_star_alone),
        cmocka_unit_test(pattern_overlap),
        cmocka_unit_test(pattern_empty),
        cmocka_unit_test(pattern_leading_trailing),
        cmocka_unit_test(pattern_no_star_is_exact),
        cmocka_unit_test(artifact_provides),
        cmocka_unit_test(apply_p_absent_c_absent),
        cmocka_unit_test(apply_p_absent_c_present),
        cmocka_unit_test(apply_p_present_c_absent),
        cmocka_unit_test(apply_p_present_c_present),
        cmocka_unit_test(apply_c_empty_clears_nothing),
        cmocka_unit_test(apply_group_rules),
        cmocka_unit_test(docs_example),
        cmocka_unit_test(installed_artifact_name_only),
        cmocka_unit_test(installed_partial_update),
        cmocka_unit_test(installed_group_cleared),
        cmocka_unit_test(depends_device_type),
        cmocka_unit_test(depends_name_and_group),
        cmocka_unit_test(depends_or_and),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Artifact selection (docs/selection.md) against Artifacts made at test time with
 * mender-artifact 3.9, and the plan built from it (hash, text, JSON, dot). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "testutil.h"

#include <jansson.h>

#include "artifact/artifact.h"
#include "deploy/deployment.h"
#include "deploy/plan.h"
#include "deploy/prepare.h"
#include "deploy/select.h"
#include "iface/query.h"
#include "inputs/config.h"
#include "inputs/manifest.h"
#include "system/components.h"
#include "util/mem.h"
#include "util/strv.h"

static char dir[] = "/tmp/mo-test-select-XXXXXX";
static struct artifact_keys *k_rsa;

/* ---- helpers ---------------------------------------------------------------------- */

static char *fx(const char *name) { return xasprintf("%s/%s", dir, name); }

/* mender-artifact write module-image into dir/<out>, payload "payload.bin". */
static int module(const char *out, const char *type, const char *name, const char *device_type, const char *extra)
{
    return test_sh(
        "cd '%s' && mender-artifact write module-image -T %s -n %s -t %s -f payload.bin -o %s %s >/dev/null 2>&1", dir,
        type, name, device_type, out, extra ? extra : "");
}

static off_t fsize(const char *name)
{
    char *p = fx(name);
    struct stat st;
    off_t s = stat(p, &st) == 0 ? st.st_size : -1;
    free(p);
    return s;
}

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(dir))
        return -1;
    int bad = 0;
    bad |= test_sh("cd '%s' && printf 'firmware\\n' > payload.bin && head -c 5000 /dev/urandom > big.bin", dir);
    bad |= test_sh("cd '%s' && openssl genrsa -traditional -out rsa.key 2048 2>/dev/null && "
                   "openssl rsa -in rsa.key -pubout -out rsa.pub 2>/dev/null",
                   dir);
    /* the Mender docs example: rtos-v2 depends on rtos-v1 */
    bad |= module("rtos-v2.mender", "rtos-interface", "rtos-v2", "rtos",
                  "-d rootfs-image.rtos-interface.version:rtos-v1");
    bad |= module("plain-v2.mender", "rtos-interface", "rtos-v2", "rtos", NULL);
    bad |= module("gw-only.mender", "rtos-interface", "gw-v1", "gateway", NULL);
    bad |= test_sh(
        "cd '%s' && mender-artifact write bootstrap-artifact -n boot-1 -t rtos -o bootstrap.mender >/dev/null 2>&1",
        dir);
    bad |= module("signed.mender", "rtos-interface", "rtos-v3", "rtos", "-k rsa.key");
    bad |= module("app-a2.mender", "rtos-interface", "app-a2", "rtos", "--software-name app --software-version a2");
    bad |= module("renamed.mender", "rtos-interface", "rtos-v2-renamed", "rtos", "--software-version rtos-v2");
    bad |= module("noprov.mender", "rtos-interface", "np-1", "rtos",
                  "--no-default-software-version --no-default-clears-provides");
    bad |= module("odd.mender", "odd-type", "odd-1", "rtos", "--software-name rtos-interface");
    bad |= test_sh(
        "cd '%s' && mender-artifact write rootfs-image -n gw-v2 -t gateway -f big.bin -o gw-v2.mender >/dev/null 2>&1",
        dir);
    if (bad) {
        fprintf(stderr, "making test Artifacts failed\n");
        return -1;
    }
    struct strv paths = { 0 };
    strv_push_owned(&paths, fx("rsa.pub"));
    k_rsa = artifact_keys_load(&paths, NULL);
    strv_free(&paths);
    return k_rsa ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    artifact_keys_free(k_rsa);
    test_sh("rm -rf '%s'", dir);
    return 0;
}

/* A System under test: Components with their answers and a Manifest. */
struct sys {
    struct component_def defs[8];
    struct component comps[8];
    size_t n;
    struct manifest m;
    struct config cfg;
    struct deployment d;
    struct diag_list diag;
};

static struct sys *sys_new(void)
{
    struct sys *s = xcalloc(1, sizeof(*s));
    s->m.name = xstrdup("system-core-v2");
    s->m.dir = xstrdup(dir);
    return s;
}

/* Adds a Component; provides as "key=value" strings, NULL-terminated. */
static void comp(struct sys *s, const char *type, const char *iface, const char *id, ...)
{
    struct component_def *d = &s->defs[s->n];
    struct component *c = &s->comps[s->n];
    d->component_type = xstrdup(type);
    d->interface = xstrdup(iface);
    strv_push(&d->args, id);
    c->def = d;
    c->id = xstrdup(id);
    c->identified = true;
    c->have_provides = true;
    va_list ap;
    va_start(ap, id);
    const char *kv;
    while ((kv = va_arg(ap, const char *)) != NULL) {
        const char *eq = strchr(kv, '=');
        char *k = xstrndup(kv, (size_t)(eq - kv));
        kvl_set(&c->provides, k, eq + 1);
        free(k);
    }
    va_end(ap);
    s->n++;
}

static void entry(struct sys *s, const char *type, const char *path, const char *name, int order)
{
    s->m.entries = xrealloc(s->m.entries, (s->m.nentries + 1) * sizeof(*s->m.entries));
    struct manifest_entry *e = &s->m.entries[s->m.nentries++];
    memset(e, 0, sizeof(*e));
    e->component_type = xstrdup(type);
    e->artifact_path = path ? xstrdup(path) : NULL;
    e->artifact_abspath = path ? fx(path) : NULL;
    e->artifact_name = name ? xstrdup(name) : NULL;
    e->order = order;
}

static int run(struct sys *s, const struct artifact_keys *keys)
{
    struct component_set set = { .v = s->comps, .n = s->n };
    return select_artifacts(&s->cfg, &s->m, &set, false, keys, &s->d, &s->diag);
}

static void dump(const struct sys *s);

static void sys_free(struct sys *s)
{
    if (getenv("MO_TEST_DUMP")) /* to read the messages as users see them */
        dump(s);
    for (size_t i = 0; i < s->n; i++) {
        component_def_free(&s->defs[i]);
        free(s->comps[i].id);
        kvl_free(&s->comps[i].provides);
    }
    manifest_free(&s->m);
    free(s->cfg.repository_url);
    deployment_free(&s->d);
    diag_free(&s->diag);
    free(s);
}

static bool has(char **v, size_t n, const char *needle)
{
    for (size_t i = 0; i < n; i++)
        if (strstr(v[i], needle))
            return true;
    return false;
}

static void dump(const struct sys *s)
{
    for (size_t i = 0; i < s->diag.nerrors; i++)
        fprintf(stderr, "error: %s\n", s->diag.errors[i]);
    for (size_t i = 0; i < s->diag.nwarnings; i++)
        fprintf(stderr, "warning: %s\n", s->diag.warnings[i]);
}

#define ASSERT_ERROR(s, needle)                                    \
    do {                                                           \
        if (!has((s)->diag.errors, (s)->diag.nerrors, (needle))) { \
            dump(s);                                               \
            fail_msg("no error containing: %s", (needle));         \
        }                                                          \
    } while (0)
#define ASSERT_WARNING(s, needle)                                      \
    do {                                                               \
        if (!has((s)->diag.warnings, (s)->diag.nwarnings, (needle))) { \
            dump(s);                                                   \
            fail_msg("no warning containing: %s", (needle));           \
        }                                                              \
    } while (0)

static const struct member *mem(const struct sys *s, size_t i)
{
    assert_true(i < s->d.nmembers);
    return &s->d.members[i];
}

/* ---- selection -------------------------------------------------------------------- */

static void docs_example(void **state)
{
    (void)state;
    struct sys *s = sys_new();
    comp(s, "rtos", "rtos-interface", "R123", "rootfs-image.rtos-interface.version=rtos-v1", NULL);
    comp(s, "rtos", "rtos-interface", "R456", "rootfs-image.rtos-interface.version=rtos-v2", NULL);
    comp(s, "rtos", "rtos-interface", "R789", "rootfs-image.rtos-interface.version=rtos-v0", NULL);
    entry(s, "rtos", "rtos-v2.mender", "rtos-v2", 20);
    assert_int_equal(run(s, NULL), -1);
    assert_int_equal(s->diag.nerrors, 1);
    ASSERT_ERROR(s, "component rtos.R789: no candidate: ");
    ASSERT_ERROR(s,
                 "rtos-v2.mender (rtos-v2): depends rootfs-image.rtos-interface.version: \"rtos-v0\" not in [rtos-v1]");
    assert_int_equal(s->d.nmembers, 3);

    const struct member *a = mem(s, 0);
    assert_string_equal(a->component_type, "rtos");
    assert_string_equal(a->id, "R123");
    assert_string_equal(a->interface, "rtos-interface");
    assert_int_equal(a->args.n, 1);
    assert_string_equal(a->args.v[0], "R123");
    assert_false(a->legacy);
    assert_int_equal(a->order, 20);
    assert_true(a->selected);
    char *p = fx("rtos-v2.mender");
    assert_string_equal(a->artifact_path, p);
    free(p);
    assert_string_equal(a->artifact_name, "rtos-v2");
    assert_int_equal(a->artifact_size, fsize("rtos-v2.mender"));
    assert_int_equal(strlen(a->manifest_sha256), 64);
    assert_string_equal(kvl_get(&a->provides, "rootfs-image.rtos-interface.version"), "rtos-v1");
    assert_string_equal(kvl_get(&a->new_provides, "rootfs-image.rtos-interface.version"), "rtos-v2");
    assert_string_equal(kvl_get(&a->new_provides, "artifact_name"), "rtos-v2");
    assert_int_equal(a->needs_reboot, ANSWER_UNSET);

    const struct member *b = mem(s, 1);
    assert_string_equal(b->id, "R456");
    assert_false(b->selected);
    assert_string_equal(b->artifact_name, "rtos-v2");
    assert_string_equal(b->manifest_sha256, a->manifest_sha256);
    sys_free(s);

    /* without R789 the whole call succeeds */
    s = sys_new();
    comp(s, "rtos", "rtos-interface", "R123", "rootfs-image.rtos-interface.version=rtos-v1", NULL);
    comp(s, "rtos", "rtos-interface", "R456", "rootfs-image.rtos-interface.version=rtos-v2", NULL);
    entry(s, "rtos", "rtos-v2.mender", "rtos-v2", 20);
    assert_int_equal(run(s, NULL), 0);
    assert_int_equal(s->diag.nerrors, 0);
    assert_int_equal(s->diag.nwarnings, 0);
    assert_true(mem(s, 0)->selected);
    assert_false(mem(s, 1)->selected);
    sys_free(s);
}

static void every_component_is_examined(void **state)
{
    (void)state;
    struct sys *s = sys_new();
    comp(s, "rtos", "rtos-interface", "R1", "rootfs-image.rtos-interface.version=rtos-v0", NULL);
    comp(s, "gateway", "gateway-interface", "G1", "other=1", NULL);
    comp(s, "rtos", "rtos-interface", "R2", "rootfs-image.rtos-interface.version=rtos-v1", NULL);
    entry(s, "rtos", "rtos-v2.mender", "rtos-v2", 20);
    entry(s, "gateway", "gw-v2.mender", NULL, 10);
    assert_int_equal(run(s, NULL), -1);
    assert_int_equal(s->diag.nerrors, 2);
    ASSERT_ERROR(s, "component rtos.R1: no candidate");
    ASSERT_ERROR(s, "component gateway.G1: its Provides lack the version key rootfs-image.gateway-interface.version");
    assert_true(mem(s, 2)->selected);
    assert_int_equal(mem(s, 1)->order, 10);
    sys_free(s);
}

static void incompatible_device_type(void **state)
{
    (void)state;
    struct sys *s = sys_new();
    comp(s, "rtos", "rtos-interface", "R1", "rootfs-image.rtos-interface.version=rtos-v1", NULL);
    entry(s, "rtos", "gw-only.mender", NULL, 20);
    assert_int_equal(run(s, NULL), -1);
    ASSERT_ERROR(s, "component rtos.R1: no candidate: ");
    ASSERT_ERROR(s, "gw-only.mender (gw-v1): not compatible with component type rtos (its device_type lists: gateway)");
    sys_free(s);
}

static void missing_version_key(void **state)
{
    (void)state;
    struct sys *s = sys_new();
    comp(s, "rtos", "rtos-interface", "R1", "rootfs-image.other.version=1", "artifact_name=rtos-v1", NULL);
    comp(s, "gateway", "rootfs-image", "G1", "artifact_name=gw-v1", NULL);
    entry(s, "rtos", "plain-v2.mender", NULL, 20);
    entry(s, "gateway", "gw-v2.mender", NULL, 10);
    assert_int_equal(run(s, NULL), -1);
    ASSERT_ERROR(s, "component rtos.R1: its Provides lack the version key rootfs-image.rtos-interface.version");
    /* the System device (Interface rootfs-image) reports rootfs-image.version */
    ASSERT_ERROR(s, "component gateway.G1: its Provides lack the version key rootfs-image.version,");
    sys_free(s);

    assert_false(select_has_version_key(NULL, "x"));
    struct kvlist p = { 0 };
    kvl_set(&p, "rootfs-image.version", "gw-1");
    assert_true(select_has_version_key(&p, "gateway-interface"));
    assert_string_equal(select_current_version(&p, "gateway-interface"), "gw-1");
    kvl_set(&p, "rootfs-image.gateway-interface.version", "gw-2");
    assert_string_equal(select_current_version(&p, "gateway-interface"), "gw-2");
    kvl_free(&p);
}

static void both_version_keys_warn(void **state)
{
    (void)state;
    struct sys *s = sys_new();
    comp(s, "gateway", "gateway-interface", "G1", "rootfs-image.version=gw-v1",
         "rootfs-image.gateway-interface.version=gw-v1", NULL);
    entry(s, "gateway", "gw-v2.mender", NULL, 10);
    assert_int_equal(run(s, NULL), 0);
    ASSERT_WARNING(s, "component gateway.G1: Provides hold both rootfs-image.gateway-interface.version and "
                      "rootfs-image.version");
    /* a rootfs-image payload for a gateway-interface Component: warning only */
    ASSERT_WARNING(s, "payload type rootfs-image differs from the Interface gateway-interface");
    assert_true(mem(s, 0)->selected);
    assert_string_equal(kvl_get(&mem(s, 0)->new_provides, "rootfs-image.version"), "gw-v2");
    sys_free(s);
}

static void bootstrap_artifact(void **state)
{
    (void)state;
    struct sys *s = sys_new();
    comp(s, "rtos", "rtos-interface", "R1", "rootfs-image.rtos-interface.version=rtos-v1", NULL);
    entry(s, "rtos", "bootstrap.mender", "boot-1", 20);
    assert_int_equal(run(s, NULL), -1);
    ASSERT_ERROR(s, "component rtos.R1: no candidate: ");
    ASSERT_ERROR(s, "bootstrap.mender (boot-1): an empty-payload (bootstrap) Artifact cannot be installed");
    sys_free(s);
}

static void payload_without_provides(void **state)
{
    (void)state;
    struct sys *s = sys_new();
    comp(s, "rtos", "rtos-interface", "R1", "rootfs-image.rtos-interface.version=rtos-v1", NULL);
    entry(s, "rtos", "noprov.mender", NULL, 20);
    assert_int_equal(run(s, NULL), -1);
    ASSERT_ERROR(s, "noprov.mender (np-1): its payload has no artifact_provides");
    sys_free(s);
}

static void signature_policy(void **state)
{
    (void)state;
    struct sys *s = sys_new();
    comp(s, "rtos", "rtos-interface", "R1", "rootfs-image.rtos-interface.version=rtos-v1", NULL);
    entry(s, "rtos", "plain-v2.mender", NULL, 20);
    assert_int_equal(run(s, k_rsa), -1);
    ASSERT_ERROR(s, "component rtos.R1: no candidate: ");
    ASSERT_ERROR(s, "plain-v2.mender: ");
    sys_free(s);

    s = sys_new();
    comp(s, "rtos", "rtos-interface", "R1", "rootfs-image.rtos-interface.version=rtos-v1", NULL);
    entry(s, "rtos", "signed.mender", NULL, 20);
    assert_int_equal(run(s, k_rsa), 0);
    assert_true(mem(s, 0)->selected);
    assert_string_equal(mem(s, 0)->artifact_name, "rtos-v3");
    sys_free(s);

    /* without keys, signatures are ignored */
    s = sys_new();
    comp(s, "rtos", "rtos-interface", "R1", "rootfs-image.rtos-interface.version=rtos-v1", NULL);
    entry(s, "rtos", "plain-v2.mender", NULL, 20);
    assert_int_equal(run(s, NULL), 0);
    sys_free(s);
}

static void artifact_path_missing(void **state)
{
    (void)state;
    /* no artifact_name to fall back to */
    struct sys *s = sys_new();
    comp(s, "rtos", "rtos-interface", "R1", "rootfs-image.rtos-interface.version=rtos-v1", NULL);
    entry(s, "rtos", "nowhere.mender", NULL, 20);
    assert_int_equal(run(s, NULL), -1);
    ASSERT_ERROR(s, "component rtos.R1: no candidate: artifact_path ");
    ASSERT_ERROR(s, "nowhere.mender: no such file, and the Manifest gives no artifact_name to fall back to");
    sys_free(s);

    /* artifact_name, no repository configured */
    s = sys_new();
    comp(s, "rtos", "rtos-interface", "R1", "rootfs-image.rtos-interface.version=rtos-v1", NULL);
    entry(s, "rtos", "nowhere.mender", "rtos-v2", 20);
    assert_int_equal(run(s, NULL), -1);
    ASSERT_ERROR(s, "nowhere.mender: no such file, and artifact_name rtos-v2 can only be fetched by name from an "
                    "Artifact repository: set ArtifactRepository.URL");
    sys_free(s);

    /* artifact_name only, repository configured but its index cannot be read */
    s = sys_new();
    s->cfg.repository_url = xstrdup("file:///nonexistent/mo-test-repo");
    comp(s, "rtos", "rtos-interface", "R1", "rootfs-image.rtos-interface.version=rtos-v1", NULL);
    entry(s, "rtos", NULL, "rtos-v2", 20);
    assert_int_equal(run(s, NULL), -1);
    ASSERT_ERROR(s, "component rtos.R1: no candidate: artifact_name rtos-v2: cannot read the Artifact repository "
                    "index: file:///nonexistent/mo-test-repo/index.json: ");
    sys_free(s);

    /* artifact_name only, no repository */
    s = sys_new();
    comp(s, "rtos", "rtos-interface", "R1", "rootfs-image.rtos-interface.version=rtos-v1", NULL);
    entry(s, "rtos", NULL, "rtos-v2", 20);
    assert_int_equal(run(s, NULL), -1);
    ASSERT_ERROR(s, "component rtos.R1: no candidate: artifact_name rtos-v2 can only be fetched by name");
    sys_free(s);

    /* the file exists: artifact_path wins over artifact_name, which must then be its name */
    s = sys_new();
    comp(s, "rtos", "rtos-interface", "R1", "rootfs-image.rtos-interface.version=rtos-v1", NULL);
    entry(s, "rtos", "plain-v2.mender", "rtos-v2", 20);
    assert_int_equal(run(s, NULL), 0);
    assert_string_equal(mem(s, 0)->artifact_name, "rtos-v2");
    sys_free(s);

    /* a file named otherwise: refused, once for the entry (two Components use it) */
    s = sys_new();
    comp(s, "rtos", "rtos-interface", "R1", "rootfs-image.rtos-interface.version=rtos-v1", NULL);
    comp(s, "rtos", "rtos-interface", "R2", "rootfs-image.rtos-interface.version=rtos-v1", NULL);
    entry(s, "rtos", "plain-v2.mender", "something-else", 20);
    assert_int_equal(run(s, NULL), -1);
    ASSERT_ERROR(s, "component_types.rtos.artifact_name: something-else does not match the Artifact at artifact_path ");
    ASSERT_ERROR(s, "plain-v2.mender, named rtos-v2; correct artifact_name, or point artifact_path at the Artifact "
                    "you mean");
    assert_int_equal(s->diag.nerrors, 1);
    sys_free(s);
}

static void partial_update(void **state)
{
    (void)state;
    /* app-a2 provides rootfs-image.app.version=a2 and clears only rootfs-image.app.* */
    struct sys *s = sys_new();
    comp(s, "rtos", "rtos-interface", "R1", "rootfs-image.rtos-interface.version=rtos-v2",
         "rootfs-image.app.version=a2", "artifact_name=rtos-v2", NULL);
    comp(s, "rtos", "rtos-interface", "R2", "rootfs-image.rtos-interface.version=rtos-v2",
         "rootfs-image.app.version=a1", "artifact_name=rtos-v2", NULL);
    entry(s, "rtos", "app-a2.mender", NULL, 20);
    assert_int_equal(run(s, NULL), 0);
    assert_false(mem(s, 0)->selected); /* its own keys match: installed */
    assert_true(mem(s, 1)->selected);
    const struct kvlist *np = &mem(s, 1)->new_provides;
    assert_string_equal(kvl_get(np, "rootfs-image.rtos-interface.version"), "rtos-v2"); /* kept */
    assert_string_equal(kvl_get(np, "rootfs-image.app.version"), "a2");
    assert_string_equal(kvl_get(np, "artifact_name"), "app-a2");
    sys_free(s);
}

static void artifact_name_rule(void **state)
{
    (void)state;
    struct sys *s = sys_new();
    /* same version, another artifact_name: artifact_name is left out, so installed */
    comp(s, "rtos", "rtos-interface", "R1", "rootfs-image.rtos-interface.version=rtos-v2", "artifact_name=old-name",
         NULL);
    /* the artifact_name matches but the version does not: not installed */
    comp(s, "rtos", "rtos-interface", "R2", "rootfs-image.rtos-interface.version=rtos-v1",
         "artifact_name=rtos-v2-renamed", NULL);
    entry(s, "rtos", "renamed.mender", NULL, 20);
    assert_int_equal(run(s, NULL), 0);
    assert_false(mem(s, 0)->selected);
    assert_true(mem(s, 1)->selected);
    assert_string_equal(mem(s, 1)->artifact_name, "rtos-v2-renamed");
    sys_free(s);
}

static void payload_type_warning_only(void **state)
{
    (void)state;
    struct sys *s = sys_new();
    comp(s, "rtos", "rtos-interface", "R1", "rootfs-image.rtos-interface.version=rtos-v1", NULL);
    entry(s, "rtos", "odd.mender", NULL, 20);
    assert_int_equal(run(s, NULL), 0);
    assert_int_equal(s->diag.nerrors, 0);
    ASSERT_WARNING(s, "component rtos.R1: ");
    ASSERT_WARNING(s, "odd.mender: payload type odd-type differs from the Interface rtos-interface");
    assert_true(mem(s, 0)->selected);
    sys_free(s);
}

static void query_failures_and_missing_entry(void **state)
{
    (void)state;
    struct sys *s = sys_new();
    comp(s, "rtos", "rtos-interface", "R1", NULL);
    s->comps[0].have_provides = false;
    s->comps[0].error = xstrdup("Provides: Process exited with status 1");
    comp(s, "rtos", "rtos-interface", "R2", NULL);
    s->comps[1].have_provides = false;
    comp(s, "modem", "modem", "M1", "rootfs-image.modem.version=1", NULL);
    entry(s, "rtos", "plain-v2.mender", NULL, 20);
    assert_int_equal(run(s, NULL), -1);
    /* R1's failure was reported by the query itself */
    assert_false(has(s->diag.errors, s->diag.nerrors, "rtos.R1"));
    ASSERT_ERROR(s, "component rtos.R2: no Provides answer");
    ASSERT_ERROR(s, "component modem.M1: the Manifest has no entry for component type modem");
    free(s->comps[0].error);
    sys_free(s);
}

static void pick_smallest(void **state)
{
    (void)state;
    assert_int_equal(select_pick_smallest(NULL, 0), -1);
    struct select_candidate c[] = {
        { "full.mender", 1000 },
        { "delta-b.mender", 200 },
        { "delta-a.mender", 200 },
        { "huge.mender", 5000 },
    };
    assert_int_equal(select_pick_smallest(c, 4), 2);
    assert_int_equal(select_pick_smallest(c, 2), 1);
    assert_int_equal(select_pick_smallest(c, 1), 0);
    struct select_candidate same[] = { { "x.mender", 7 }, { "x.mender", 7 } };
    assert_int_equal(select_pick_smallest(same, 2), 0);
}

/* ---- plan ------------------------------------------------------------------------- */

static int hint_automatic(void *ctx, const struct member *m)
{
    (void)ctx;
    return strcmp(m->interface, "rtos-interface") == 0 ? ANSWER_AUTOMATIC : ANSWER_UNSET;
}

static char *print_plan(const struct deployment *d, enum plan_format fmt, plan_reboot_hint hint)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    plan_print(f, d, NULL, fmt, hint, NULL);
    fclose(f);
    return buf;
}

static void plan_hash_and_formats(void **state)
{
    (void)state;
    struct sys *s = sys_new();
    comp(s, "gateway", "gateway-interface", "G1", "rootfs-image.version=gw-v1", NULL);
    comp(s, "rtos", "rtos-interface", "R123", "rootfs-image.rtos-interface.version=rtos-v1", NULL);
    comp(s, "rtos", "rtos-interface", "R456", "rootfs-image.rtos-interface.version=rtos-v2", NULL);
    entry(s, "gateway", "gw-v2.mender", NULL, 10);
    entry(s, "rtos", "plain-v2.mender", NULL, 20);
    s->d.manifest_name = xstrdup("system-core-v2");
    assert_int_equal(run(s, NULL), 0);
    char *h1 = plan_hash(&s->d);
    assert_int_equal(strlen(h1), 64);
    char *h1b = plan_hash(&s->d);
    assert_string_equal(h1, h1b);
    free(h1b);
    s->d.plan_hash = xstrdup(h1);

    /* text */
    char *text = print_plan(&s->d, PLAN_TEXT, NULL);
    char *want = xasprintf("Manifest: system-core-v2\n"
                           "Group 10:\n"
                           "  gateway.G1: gw-v1 -> gw-v2 (interface gateway-interface, expected reboot: unknown)\n"
                           "Group 20:\n"
                           "  rtos.R123: rtos-v1 -> rtos-v2 (interface rtos-interface, expected reboot: unknown)\n"
                           "Skipped:\n"
                           "  rtos.R456: rtos-v2 already installed (order 20)\n"
                           "Plan hash: %s\n",
                           h1);
    assert_string_equal(text, want);
    free(want);
    free(text);
    text = print_plan(&s->d, PLAN_TEXT, hint_automatic);
    assert_non_null(strstr(text, "expected reboot: Automatic (last deployment))\n"));
    assert_null(strstr(text, "Warning")); /* one group only */
    free(text);

    /* JSON */
    text = print_plan(&s->d, PLAN_JSON, hint_automatic);
    json_error_t jerr;
    json_t *root = json_loads(text, 0, &jerr);
    assert_non_null(root);
    assert_string_equal(json_string_value(json_object_get(root, "manifest")), "system-core-v2");
    assert_string_equal(json_string_value(json_object_get(root, "plan_hash")), h1);
    json_t *groups = json_object_get(root, "groups");
    assert_int_equal(json_array_size(groups), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(groups, 0), "order")), 10);
    json_t *c = json_array_get(json_object_get(json_array_get(groups, 1), "components"), 0);
    assert_string_equal(json_string_value(json_object_get(c, "component_type")), "rtos");
    assert_string_equal(json_string_value(json_object_get(c, "id")), "R123");
    assert_string_equal(json_string_value(json_object_get(c, "action")), "install");
    assert_string_equal(json_string_value(json_object_get(c, "artifact")), "rtos-v2");
    assert_string_equal(json_string_value(json_object_get(c, "current_version")), "rtos-v1");
    assert_string_equal(json_string_value(json_object_get(c, "expected_reboot")), "Automatic");
    assert_string_equal(json_string_value(json_object_get(c, "expected_reboot_source")), "last_deployment");
    json_t *sk = json_object_get(root, "skipped");
    assert_int_equal(json_array_size(sk), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(sk, 0), "id")), "R456");
    /* keys in a stable order */
    const char *first_key = json_object_iter_key(json_object_iter(c));
    assert_string_equal(first_key, "component_type");
    json_decref(root);
    free(text);

    /* dot */
    text = print_plan(&s->d, PLAN_DOT, NULL);
    assert_true(strncmp(text, "digraph plan {\n", 15) == 0);
    char *c10 = strstr(text, "subgraph cluster_10 {"), *c20 = strstr(text, "subgraph cluster_20 {");
    assert_non_null(c10);
    assert_non_null(c20);
    assert_true(c10 < c20);
    assert_non_null(strstr(text, "m0 -> m1 [ltail=cluster_10, lhead=cluster_20];"));
    assert_non_null(strstr(text, "rtos.R456\\nrtos-v2 already installed"));
    free(text);

    /* the hash follows the Artifact and the selection */
    char saved = s->d.members[1].manifest_sha256[0];
    s->d.members[1].manifest_sha256[0] = saved == 'a' ? 'b' : 'a';
    char *h2 = plan_hash(&s->d);
    assert_string_not_equal(h1, h2);
    free(h2);
    s->d.members[1].manifest_sha256[0] = saved;
    s->d.members[2].selected = true;
    h2 = plan_hash(&s->d);
    assert_string_not_equal(h1, h2);
    free(h2);
    s->d.members[2].selected = false;
    free(s->d.manifest_name);
    s->d.manifest_name = xstrdup("system-core-v3");
    h2 = plan_hash(&s->d);
    assert_string_not_equal(h1, h2);
    free(h2);
    free(h1);
    sys_free(s);
}

static void plan_warns_on_automatic_in_two_groups(void **state)
{
    (void)state;
    struct sys *s = sys_new();
    comp(s, "rtos", "rtos-interface", "R1", "rootfs-image.rtos-interface.version=rtos-v1", NULL);
    comp(s, "mcu", "rtos-interface", "M1", "rootfs-image.rtos-interface.version=rtos-v1", NULL);
    entry(s, "rtos", "plain-v2.mender", NULL, 20);
    entry(s, "mcu", "plain-v2.mender", NULL, 30);
    /* plain-v2 is for device type rtos only; let mcu use it through its type being rtos */
    free(s->defs[1].component_type);
    s->defs[1].component_type = xstrdup("rtos");
    free(s->m.entries[1].component_type);
    s->m.entries[1].component_type = xstrdup("unused");
    assert_int_equal(run(s, NULL), 0);
    s->d.members[1].order = 30; /* as if from a second entry */
    s->d.plan_hash = plan_hash(&s->d);
    char *text = print_plan(&s->d, PLAN_TEXT, hint_automatic);
    assert_non_null(strstr(
        text,
        "Warning: Components answering Automatic are in groups 20, 30: the System device reboots once per group"));
    free(text);
    text = print_plan(&s->d, PLAN_JSON, hint_automatic);
    assert_non_null(strstr(text, "\"warnings\": [\n    \"Components answering Automatic are in groups 20, 30"));
    free(text);
    /* no hint: nothing known, no warning */
    text = print_plan(&s->d, PLAN_TEXT, NULL);
    assert_null(strstr(text, "Warning"));
    free(text);
    sys_free(s);
}

static void plan_nothing_to_install(void **state)
{
    (void)state;
    struct sys *s = sys_new();
    comp(s, "rtos", "rtos-interface", "R1", "rootfs-image.rtos-interface.version=rtos-v2", NULL);
    entry(s, "rtos", "plain-v2.mender", NULL, 20);
    assert_int_equal(run(s, NULL), 0);
    s->d.manifest_name = xstrdup("m");
    s->d.plan_hash = plan_hash(&s->d);
    char *text = print_plan(&s->d, PLAN_TEXT, NULL);
    assert_non_null(strstr(text, "Nothing to install"));
    free(text);
    text = print_plan(&s->d, PLAN_DOT, NULL);
    assert_null(strstr(text, "cluster_"));
    free(text);
    text = print_plan(&s->d, PLAN_JSON, NULL);
    json_t *root = json_loads(text, 0, NULL);
    assert_non_null(root);
    assert_int_equal(json_array_size(json_object_get(root, "groups")), 0);
    json_decref(root);
    free(text);
    sys_free(s);

    enum plan_format f;
    assert_int_equal(plan_format_parse("json", &f), 0);
    assert_int_equal(f, PLAN_JSON);
    assert_int_equal(plan_format_parse("dot", &f), 0);
    assert_int_equal(f, PLAN_DOT);
    assert_int_equal(plan_format_parse(NULL, &f), 0);
    assert_int_equal(f, PLAN_TEXT);
    assert_int_equal(plan_format_parse("yaml", &f), -1);
}

static void topology_snapshot(void **state)
{
    (void)state;
    struct diag_list diag = { 0 };
    struct topology t = { 0 };
    t.path = fx("topo-main.yaml");
    assert_int_equal(test_sh("printf 'api_version: mender/v1\\nkind: topology\\nsystem_type: s' > '%s'", t.path), 0);
    char *snap = prepare_topology_snapshot(&t, &diag);
    assert_string_equal(snap, "api_version: mender/v1\nkind: topology\nsystem_type: s");
    free(snap);
    t.components_path = fx("topo-comps.yaml");
    assert_int_equal(test_sh("printf 'components:\\n  - component_type: a\\n' > '%s'", t.components_path), 0);
    snap = prepare_topology_snapshot(&t, &diag);
    char *want = xasprintf("api_version: mender/v1\nkind: topology\nsystem_type: s\n---\n# components file: %s\n"
                           "components:\n  - component_type: a\n",
                           t.components_path);
    assert_string_equal(snap, want);
    free(want);
    free(snap);
    assert_int_equal(diag.nerrors, 0);
    unlink(t.components_path);
    assert_null(prepare_topology_snapshot(&t, &diag));
    assert_int_equal(diag.nerrors, 1);
    assert_non_null(strstr(diag.errors[0], "topo-comps.yaml: cannot read the Topology components file again"));
    free(t.path);
    free(t.components_path);
    diag_free(&diag);
}

/* ---- the release's inputs --------------------------------------------------------- */

static char *data_file(const char *name) { return xasprintf("%s/%s", getenv("MO_TEST_DATA"), name); }

static void load_inputs(void **state)
{
    (void)state;
    struct config cfg = { 0 };
    struct diag_list diag = { 0 };
    char *topology = data_file("topology-ok.yaml"), *manifest = data_file("manifest-ok.yaml");
    char *legacy = data_file("legacy-seed-2024-fixed.yaml");

    /* current format: the Topology given instead of the configured one */
    struct prepare_opts o = { .manifest_path = manifest, .topology_path = topology };
    struct prepare_inputs in = { 0 };
    assert_int_equal(prepare_load_inputs(&o, &cfg, &in, &diag), 0);
    assert_true(in.have_topology);
    assert_string_equal(in.manifest.name, "system-core-v2");
    size_t n = 0;
    const struct component_def *defs = prepare_inputs_components(&in, &n);
    assert_ptr_equal(defs, in.topology.components);
    assert_int_equal(n, 4);
    prepare_inputs_free(&in);
    assert_false(in.have_topology);

    /* legacy: the Manifest's own list; no Topology is read */
    o = (struct prepare_opts){ .manifest_path = legacy, .topology_path = "/nonexistent/topology.yaml" };
    assert_int_equal(prepare_load_inputs(&o, &cfg, &in, &diag), 0);
    assert_false(in.have_topology);
    defs = prepare_inputs_components(&in, &n);
    assert_ptr_equal(defs, in.manifest.components);
    assert_int_equal(n, 3);
    prepare_inputs_free(&in);
    assert_int_equal(diag.nerrors, 0);

    /* a Manifest that cannot be read: -1 with the reason in diag */
    o = (struct prepare_opts){ .manifest_path = "/nonexistent/manifest.yaml", .topology_path = topology };
    assert_int_equal(prepare_load_inputs(&o, &cfg, &in, &diag), -1);
    assert_false(in.have_topology);
    assert_true(diag.nerrors > 0);
    prepare_inputs_free(&in);

    diag_free(&diag);
    free(topology);
    free(manifest);
    free(legacy);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(docs_example),
        cmocka_unit_test(load_inputs),
        cmocka_unit_test(every_component_is_examined),
        cmocka_unit_test(incompatible_device_type),
        cmocka_unit_test(missing_version_key),
        cmocka_unit_test(both_version_keys_warn),
        cmocka_unit_test(bootstrap_artifact),
        cmocka_unit_test(payload_without_provides),
        cmocka_unit_test(signature_policy),
        cmocka_unit_test(artifact_path_missing),
        cmocka_unit_test(partial_update),
        cmocka_unit_test(artifact_name_rule),
        cmocka_unit_test(payload_type_warning_only),
        cmocka_unit_test(query_failures_and_missing_entry),
        cmocka_unit_test(pick_smallest),
        cmocka_unit_test(plan_hash_and_formats),
        cmocka_unit_test(plan_warns_on_automatic_in_two_groups),
        cmocka_unit_test(plan_nothing_to_install),
        cmocka_unit_test(topology_snapshot),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

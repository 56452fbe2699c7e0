/* Artifact selection and "already installed" (docs/selection.md).
 *
 * For every Component, in the order given: its candidates (the usable artifact_path
 * file only, else Artifacts fetched by artifact_name, which needs a repository), then
 * "installed?" over every candidate, then the depends of the rest, then the smallest.
 * Every Component is examined even after a failure, so that all errors are reported
 * at once; nothing is modified. */
#include "deploy/select.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "artifact/provides.h"
#include "repo/fetch.h"
#include "repo/index.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/mem.h"

/* ---- version key ------------------------------------------------------------------ */

#define SYSTEM_VERSION_KEY "rootfs-image.version"

static char *interface_version_key(const char *interface)
{
    return xasprintf("rootfs-image.%s.version", interface ? interface : "");
}

bool select_has_version_key(const struct kvlist *p, const char *interface)
{
    if (!p)
        return false;
    if (kvl_get(p, SYSTEM_VERSION_KEY))
        return true;
    _cleanup_free_ char *key = interface_version_key(interface);
    return kvl_get(p, key) != NULL;
}

const char *select_current_version(const struct kvlist *p, const char *interface)
{
    if (!p)
        return NULL;
    _cleanup_free_ char *key = interface_version_key(interface);
    const char *v = kvl_get(p, key);
    return v ? v : kvl_get(p, SYSTEM_VERSION_KEY);
}

/* The key a Component of this Interface is expected to report, for messages: the
 * System device (Interface rootfs-image) reports rootfs-image.version. */
static char *expected_version_key(const char *interface)
{
    if (interface && strcmp(interface, "rootfs-image") == 0)
        return xstrdup(SYSTEM_VERSION_KEY);
    return interface_version_key(interface);
}

/* ---- the pick --------------------------------------------------------------------- */

long select_pick_smallest(const struct select_candidate *c, size_t n)
{
    assert(c || n == 0);
    long best = -1;
    for (size_t i = 0; i < n; i++) {
        if (best < 0) {
            best = (long)i;
            continue;
        }
        const struct select_candidate *b = &c[best];
        const char *fi = c[i].file ? c[i].file : "", *fb = b->file ? b->file : "";
        if (c[i].size < b->size || (c[i].size == b->size && strcmp(fi, fb) < 0))
            best = (long)i;
    }
    return best;
}

/* ---- the Manifest's artifact_name against the file --------------------------------- */

int select_check_name(const struct manifest *m, const struct manifest_entry *e, const char *artifact_name,
                      struct diag_list *diag)
{
    assert(m && e && artifact_name && diag);
    if (!e->artifact_name || strcmp(e->artifact_name, artifact_name) == 0)
        return 0;
    diag_error(diag, m->path, e->name_line, e->name_col,
               "component_types.%s.artifact_name: %s does not match the Artifact at artifact_path %s, named %s; "
               "correct artifact_name, or point artifact_path at the Artifact you mean",
               e->component_type, e->artifact_name, e->artifact_abspath ? e->artifact_abspath : e->artifact_path,
               artifact_name);
    return -1;
}

/* ---- header cache: each distinct file is read once per call ------------------------ */

struct cached_header {
    char *path;
    int rc;    /* 0: read and verified up to the header */
    char *err; /* why not, when rc != 0 */
    struct artifact_info info;
    uint64_t size;
};

struct header_cache {
    struct cached_header *v;
    size_t n;
};

static const struct cached_header *cache_get(struct header_cache *c, const char *path, const struct artifact_keys *keys)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->v[i].path, path) == 0)
            return &c->v[i];
    c->v = xrealloc(c->v, (c->n + 1) * sizeof(*c->v));
    struct cached_header *e = &c->v[c->n++];
    memset(e, 0, sizeof(*e));
    e->path = xstrdup(path);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        e->rc = -1;
        e->err = xstrdup("not a readable regular file");
        return e;
    }
    e->size = (uint64_t)st.st_size;
    _cleanup_error_ struct error *err = NULL;
    e->rc = artifact_read_header_file(path, keys, &e->info, &err);
    if (e->rc != 0)
        e->err = xstrdup(error_message(err));
    return e;
}

static void cache_free(struct header_cache *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->v[i].path);
        free(c->v[i].err);
        artifact_info_free(&c->v[i].info);
    }
    free(c->v);
    c->v = NULL;
    c->n = 0;
}

/* ---- one Component ---------------------------------------------------------------- */

struct candidate {
    const char *path; /* local path, or the repository URL */
    const struct artifact_info *info;
    uint64_t size;
    const char *file;              /* base name, for the pick */
    const struct repo_entry *repo; /* from the repository index, or NULL */
};

struct candidates {
    struct candidate *v;
    size_t n;
};

static void cand_add(struct candidates *l, const struct cached_header *h)
{
    l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
    const char *slash = strrchr(h->path, '/');
    l->v[l->n++] =
        (struct candidate){ .path = h->path, .info = &h->info, .size = h->size, .file = slash ? slash + 1 : h->path };
}

static char *join_strv(const struct strv *l)
{
    char *s = xstrdup("");
    for (size_t i = 0; i < l->n; i++) {
        char *n = xasprintf("%s%s%s", s, i ? ", " : "", l->v[i]);
        free(s);
        s = n;
    }
    return s;
}

/* Why an Artifact read without error is no candidate for component_type at all, or NULL. */
static char *unusable(const struct artifact_info *a, const char *component_type)
{
    if (!a->payload_type)
        return xstrdup("an empty-payload (bootstrap) Artifact cannot be installed on a Component; "
                       "name a module-image Artifact in the Manifest");
    if (!a->has_type_provides || a->type_provides.n == 0)
        return xstrdup("its payload has no artifact_provides, so it is never selected; "
                       "rebuild it with its version provide (mender-artifact's default)");
    if (!provides_compatible(a, component_type)) {
        char *types = join_strv(&a->compatible_types);
        char *s = xasprintf("not compatible with component type %s (its device_type lists: %s); "
                            "rebuild it with -t %s or fix the Manifest entry",
                            component_type, types[0] ? types : "nothing", component_type);
        free(types);
        return s;
    }
    return NULL;
}

static void hex32(const unsigned char in[32], char out[65])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[64] = '\0';
}

static void fill_artifact(struct member *mem, const struct component *c, const struct candidate *k)
{
    free(mem->artifact_path);
    free(mem->artifact_name);
    free(mem->artifact_url);
    mem->artifact_path = k->repo ? NULL : xstrdup(k->path);
    mem->artifact_url = k->repo ? xstrdup(k->path) : NULL;
    mem->artifact_name = xstrdup(k->info->artifact_name ? k->info->artifact_name : "");
    mem->artifact_size = k->size;
    if (k->repo) {
        mem->manifest_sha256[0] = '\0'; /* known once fetched; the file's SHA-256 pins it */
        memcpy(mem->artifact_sha256, k->repo->sha256, sizeof(mem->artifact_sha256));
    } else {
        hex32(k->info->manifest_sha256, mem->manifest_sha256);
        mem->artifact_sha256[0] = '\0';
    }
    kvl_free(&mem->new_provides);
    provides_apply(&c->provides, k->info, &mem->new_provides);
}

struct select_ctx {
    const struct config *cfg;
    const struct artifact_keys *keys;
    struct header_cache cache;
    struct diag_list *diag;
    /* the repository index, read at the first entry that needs it */
    bool index_tried;
    int index_rc;
    char *index_err;
    struct repo_index index;
    struct strv urls;         /* the entries' URLs, in index order */
    struct strv name_checked; /* component types whose artifact_name was checked against the file */
};

static void ctx_free(struct select_ctx *x)
{
    cache_free(&x->cache);
    repo_index_free(&x->index);
    strv_free(&x->urls);
    strv_free(&x->name_checked);
    free(x->index_err);
}

/* Reads <URL>/index.json once. 0, or -1 with x->index_err. */
static int load_index(struct select_ctx *x)
{
    if (x->index_tried)
        return x->index_rc;
    x->index_tried = true;
    struct fetch_opts fo;
    fetch_opts_from_config(x->cfg, &fo);
    _cleanup_free_ char *url = fetch_join_url(x->cfg->repository_url, REPO_INDEX_NAME);
    _cleanup_free_ char *text = NULL;
    _cleanup_error_ struct error *err = NULL;
    size_t len = 0;
    x->index_rc = -1;
    log_info("reading the Artifact repository index %s", url);
    if (fetch_buffer(&fo, url, REPO_INDEX_MAX, &text, &len, &err) != 0)
        x->index_err = xasprintf("cannot read the Artifact repository index: %s", error_message(err));
    else if (repo_index_parse(text, len, &x->index, &err) != 0)
        x->index_err = xasprintf("the Artifact repository index %s is not usable: %s", url, error_message(err));
    else {
        for (size_t i = 0; i < x->index.n; i++)
            strv_push_owned(&x->urls, fetch_join_url(x->cfg->repository_url, x->index.v[i].file));
        x->index_rc = 0;
    }
    return x->index_rc;
}

/* Candidates of an entry whose artifact_path is not usable: by artifact_name, from
 * the repository index (docs/repository.md). Index entries that cannot go on this
 * component type are no candidates; when none is left the reason goes to *why. */
static void by_name_candidates(struct select_ctx *x, const struct manifest_entry *e, const char *type,
                               struct candidates *out, char **why)
{
    _cleanup_free_ char *lead = e->artifact_path
                                    ? xasprintf("artifact_path %s: no such file, and ",
                                                e->artifact_abspath ? e->artifact_abspath : e->artifact_path)
                                    : xstrdup("");
    if (!e->artifact_name)
        *why = xasprintf(
            "%sthe Manifest gives no artifact_name to fall back to; put the Artifact there or add artifact_name", lead);
    else if (!x->cfg || !x->cfg->repository_url || !x->cfg->repository_url[0])
        *why = xasprintf("%sartifact_name %s can only be fetched by name from an Artifact repository: set "
                         "ArtifactRepository.URL in the configuration, or give a local artifact_path",
                         lead, e->artifact_name);
    else if (load_index(x) != 0)
        *why = xasprintf("%sartifact_name %s: %s", lead, e->artifact_name, x->index_err);
    else {
        _cleanup_free_ char *reasons = NULL;
        size_t named = 0;
        for (size_t i = 0; i < x->index.n; i++) {
            const struct repo_entry *r = &x->index.v[i];
            if (strcmp(r->info.artifact_name, e->artifact_name) != 0)
                continue;
            named++;
            _cleanup_free_ char *u = unusable(&r->info, type);
            if (u) {
                char *n = xasprintf("%s%s%s: %s", reasons ? reasons : "", reasons ? "; " : "", r->file, u);
                free(reasons);
                reasons = n;
                continue;
            }
            out->v = xrealloc(out->v, (out->n + 1) * sizeof(*out->v));
            out->v[out->n++] = (struct candidate){ .path = x->urls.v[i],
                                                   .info = &r->info,
                                                   .size = r->size,
                                                   .file = r->file,
                                                   .repo = r };
        }
        if (out->n == 0 && named == 0)
            *why = xasprintf("%sartifact_name %s: the Artifact repository index (%s) has no such Artifact", lead,
                             e->artifact_name, x->cfg->repository_url);
        else if (out->n == 0)
            *why = xasprintf("%sartifact_name %s in the Artifact repository: %s", lead, e->artifact_name, reasons);
    }
}

#define COMP_ERROR(x, c, ...) comp_error((x), (c)->def->component_type, (c)->id, __VA_ARGS__)

static void comp_error(struct select_ctx *x, const char *type, const char *id, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void comp_error(struct select_ctx *x, const char *type, const char *id, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    diag_error(x->diag, NULL, 0, 0, "component %s.%s: %s", type, id ? id : "?", msg);
    free(msg);
}

static void comp_warn(struct select_ctx *x, const struct component *c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void comp_warn(struct select_ctx *x, const struct component *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    diag_warn(x->diag, NULL, 0, 0, "component %s.%s: %s", c->def->component_type, c->id ? c->id : "?", msg);
    free(msg);
}

/* Whether c's Provides allow a selection at all: 0, or -1 with the error in x->diag. */
static int check_version_key(struct select_ctx *x, const struct component *c)
{
    const char *iface = c->def->interface;
    if (!c->have_provides) {
        /* components_query already reported why, when it set c->error */
        if (!c->error)
            COMP_ERROR(x, c, "no Provides answer, so no Artifact can be selected for it");
        return -1;
    }
    _cleanup_free_ char *ikey = interface_version_key(iface);
    bool has_sys = kvl_get(&c->provides, SYSTEM_VERSION_KEY) != NULL, has_if = kvl_get(&c->provides, ikey) != NULL;
    if (has_sys && has_if && strcmp(ikey, SYSTEM_VERSION_KEY) != 0)
        comp_warn(x, c,
                  "Provides hold both %s and %s; only one version key is expected (%s for Components "
                  "running Mender)",
                  ikey, SYSTEM_VERSION_KEY, SYSTEM_VERSION_KEY);
    if (!select_has_version_key(&c->provides, iface)) {
        _cleanup_free_ char *want = expected_version_key(iface);
        COMP_ERROR(x, c,
                   "its Provides lack the version key %s, so no Artifact can be selected for it; the "
                   "Interface %s must print %s=<installed version> for Provides",
                   want, iface, want);
        return -1;
    }
    return 0;
}

/* Whether the local file h may be a candidate for entry e: its name must be the entry's
 * artifact_name, if given (the error, reported once per entry, is in x->diag). */
static bool name_matches(struct select_ctx *x, const struct manifest *m, const struct manifest_entry *e,
                         const struct cached_header *h)
{
    if (!e->artifact_name || strcmp(e->artifact_name, h->info.artifact_name) == 0)
        return true;
    if (!strv_contains(&x->name_checked, e->component_type)) {
        strv_push(&x->name_checked, e->component_type);
        (void)select_check_name(m, e, h->info.artifact_name, x->diag);
    }
    return false;
}

/* Step 1: the candidates of c's Manifest entry e, into out. When there are none, the
 * error is in x->diag. */
static void gather_candidates(struct select_ctx *x, const struct manifest *m, const struct manifest_entry *e,
                              const struct component *c, struct candidates *out)
{
    const char *type = c->def->component_type;
    _cleanup_free_ char *why = NULL;
    if (e->artifact_abspath && fs_exists(e->artifact_abspath)) {
        const struct cached_header *h = cache_get(&x->cache, e->artifact_abspath, x->keys);
        if (h->rc != 0)
            COMP_ERROR(x, c, "no candidate: %s: %s", h->path, h->err);
        else if ((why = unusable(&h->info, type)) != NULL)
            COMP_ERROR(x, c, "no candidate: %s (%s): %s", h->path, h->info.artifact_name, why);
        else if (name_matches(x, m, e, h))
            cand_add(out, h);
        return;
    }
    by_name_candidates(x, e, type, out, &why);
    if (why)
        COMP_ERROR(x, c, "no candidate: %s", why);
}

/* Steps 3 and 4: of the candidates whose depends c meets, the smallest, into mem. 0, or
 * -1 with the error in x->diag. */
static int pick(struct select_ctx *x, const struct component *c, const struct candidates *cands, struct member *mem)
{
    const char *type = c->def->component_type;
    const char *iface = c->def->interface;
    _cleanup_free_ struct select_candidate *fit = xcalloc(cands->n, sizeof(*fit));
    _cleanup_free_ size_t *fit_idx = xcalloc(cands->n, sizeof(*fit_idx));
    size_t nfit = 0;
    _cleanup_free_ char *reasons = NULL;
    for (size_t k = 0; k < cands->n; k++) {
        _cleanup_free_ char *why = NULL;
        const struct candidate *h = &cands->v[k];
        if (provides_depends_match(h->info, type, &c->provides, &why)) {
            fit[nfit] = (struct select_candidate){ .file = h->file, .size = h->size };
            fit_idx[nfit++] = k;
        } else {
            char *r = xasprintf("%s%s%s (%s): %s", reasons ? reasons : "", reasons ? "; " : "", h->path,
                                h->info->artifact_name, why ? why : "depends not met");
            free(reasons);
            reasons = r;
        }
    }
    if (nfit == 0) {
        COMP_ERROR(x, c,
                   "no candidate: %s; update it to a version the Artifact depends on first, or name an "
                   "Artifact in the Manifest that fits what it runs",
                   reasons);
        return -1;
    }
    long best = select_pick_smallest(fit, nfit);
    const struct candidate *h = &cands->v[fit_idx[best]];
    fill_artifact(mem, c, h);
    mem->selected = true;
    if (h->info->payload_type && strcmp(h->info->payload_type, iface) != 0)
        comp_warn(x, c, "%s: payload type %s differs from the Interface %s; the Interface gets it anyway", h->path,
                  h->info->payload_type, iface);
    return 0;
}

static void candidates_free(struct candidates *l) { free(l->v); }

/* Selects for one Component into mem. 0, or -1 with the error in x->diag. */
static int select_one(struct select_ctx *x, const struct manifest *m, const struct component *c, struct member *mem)
{
    const char *type = c->def->component_type;
    const struct manifest_entry *e = manifest_find(m, type);
    if (!e) {
        COMP_ERROR(x, c, "the Manifest has no entry for component type %s; add one naming its Artifact", type);
        return -1;
    }
    mem->order = e->order;
    if (check_version_key(x, c) != 0)
        return -1;

    _cleanup_(candidates_free) struct candidates cands = { 0 };
    gather_candidates(x, m, e, c, &cands);
    if (cands.n == 0)
        return -1;

    /* 2. installed? Any installed candidate skips the Component. */
    for (size_t k = 0; k < cands.n; k++)
        if (provides_installed(&c->provides, cands.v[k].info)) {
            fill_artifact(mem, c, &cands.v[k]);
            mem->selected = false;
            return 0;
        }
    return pick(x, c, &cands, mem);
}

int select_artifacts(const struct config *cfg, const struct manifest *m, const struct component_set *set, bool legacy,
                     const struct artifact_keys *keys, struct deployment *d, struct diag_list *diag)
{
    assert(cfg && m && set && d && diag);
    _cleanup_(ctx_free) struct select_ctx x = { .cfg = cfg, .keys = keys, .diag = diag };
    size_t n = set->n;
    d->members = xcalloc(n ? n : 1, sizeof(*d->members));
    d->nmembers = n;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        const struct component *c = &set->v[i];
        struct member *mem = &d->members[i];
        member_init(mem);
        mem->component_type = xstrdup(c->def->component_type);
        mem->id = xstrdup(c->id ? c->id : (c->def->id ? c->def->id : ""));
        mem->interface = xstrdup(c->def->interface);
        strv_copy(&mem->args, &c->def->args);
        mem->legacy = legacy;
        kvl_copy(&mem->provides, &c->provides);
        if (select_one(&x, m, c, mem) != 0)
            rc = -1;
    }
    return rc;
}

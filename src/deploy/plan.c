/* The plan of a prepared deployment (docs/mender-orchestrator.1, plan): what `install` would
 * do, as text, JSON or a Graphviz digraph, and the hash that identifies it. */
#include "deploy/plan.h"

#include <assert.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "artifact/sha256.h"
#include "deploy/plan_int.h"
#include "deploy/select.h"
#include "iface/query.h"
#include "util/mem.h"

/* ---- hash ------------------------------------------------------------------------- */

/* Writes " <length>:<bytes>" so that no field can be mistaken for another. */
static void put_field(FILE *f, const char *s)
{
    if (!s)
        s = "";
    fprintf(f, " %zu:%s", strlen(s), s);
}

char *plan_hash(const struct deployment *d)
{
    assert(d);
    /* One line per member, in member order: order, type, id, interface, selected and the
     * SHA-256 of the Artifact's manifest member; then the Manifest name. */
    char *text = NULL;
    size_t len = 0;
    FILE *f = xopen_memstream(&text, &len);
    fprintf(f, "mender-orchestrator plan v1\n");
    for (size_t i = 0; i < d->nmembers; i++) {
        const struct member *m = &d->members[i];
        fprintf(f, "%d", m->order);
        put_field(f, m->component_type);
        put_field(f, m->id);
        put_field(f, m->interface);
        fprintf(f, " %d %s\n", m->selected ? 1 : 0,
                m->manifest_sha256[0]   ? m->manifest_sha256
                : m->artifact_sha256[0] ? m->artifact_sha256
                                        : "-");
    }
    fprintf(f, "manifest");
    put_field(f, d->manifest_name);
    fputc('\n', f);
    fclose(f);

    unsigned char h[32];
    artifact_sha256_buf(text, len, h);
    free(text);
    static const char digits[] = "0123456789abcdef";
    char *hex = xmalloc(65);
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = digits[h[i] >> 4];
        hex[2 * i + 1] = digits[h[i] & 15];
    }
    hex[64] = '\0';
    return hex;
}

int plan_format_parse(const char *s, enum plan_format *out)
{
    assert(out);
    if (!s || strcmp(s, "text") == 0)
        *out = PLAN_TEXT;
    else if (strcmp(s, "json") == 0)
        *out = PLAN_JSON;
    else if (strcmp(s, "dot") == 0)
        *out = PLAN_DOT;
    else
        return -1;
    return 0;
}

/* ---- shared view ------------------------------------------------------------------ */

enum reboot_source { RB_UNKNOWN, RB_DEPLOYMENT, RB_LAST_DEPLOYMENT };

struct reboot_view {
    int answer; /* enum answer, or ANSWER_UNSET */
    enum reboot_source source;
};

static bool answer_valid(int a) { return a == ANSWER_NO || a == ANSWER_YES || a == ANSWER_AUTOMATIC; }

/* The expected NeedsArtifactReboot answer of a member: asked in this deployment, else
 * the one recorded for its Interface in the last deployment (hint), else unknown. */
static struct reboot_view member_reboot(const struct member *m, plan_reboot_hint hint, void *ctx)
{
    if (answer_valid(m->needs_reboot))
        return (struct reboot_view){ m->needs_reboot, RB_DEPLOYMENT };
    if (hint) {
        int a = hint(ctx, m);
        if (answer_valid(a))
            return (struct reboot_view){ a, RB_LAST_DEPLOYMENT };
    }
    return (struct reboot_view){ ANSWER_UNSET, RB_UNKNOWN };
}

static const char *reboot_name(struct reboot_view r)
{
    return answer_valid(r.answer) ? answer_name((enum answer)r.answer) : "unknown";
}

static const char *current_version(const struct member *m)
{
    const char *v = select_current_version(&m->provides, m->interface);
    return v ? v : "unknown";
}

static const char *str(const char *s) { return s ? s : ""; }

/* Orders of the groups holding a member expected to answer Automatic, ascending; the
 * number of them in *n. Caller frees. */
static int *automatic_groups(const struct deployment *d, const int *groups, size_t ngroups, plan_reboot_hint hint,
                             void *ctx, size_t *n)
{
    int *out = xcalloc(ngroups ? ngroups : 1, sizeof(*out));
    *n = 0;
    for (size_t g = 0; g < ngroups; g++)
        for (size_t i = 0; i < d->nmembers; i++) {
            const struct member *m = &d->members[i];
            if (m->selected && m->order == groups[g] && member_reboot(m, hint, ctx).answer == ANSWER_AUTOMATIC) {
                out[(*n)++] = groups[g];
                break;
            }
        }
    return out;
}

static char *automatic_warning(const int *ag, size_t n)
{
    if (n < 2)
        return NULL;
    char *list = xstrdup("");
    for (size_t i = 0; i < n; i++) {
        char *s = xasprintf("%s%s%d", list, i ? ", " : "", ag[i]);
        free(list);
        list = s;
    }
    char *w = xasprintf("Components answering Automatic are in groups %s: the System device reboots once per group; "
                        "in managed mode the reboots after the Mender Client's are made at boot by "
                        "mender-orchestrator-resume.service, which must be enabled (docs/managed-mode.md)",
                        list);
    free(list);
    return w;
}

static size_t count_skipped(const struct deployment *d)
{
    size_t n = 0;
    for (size_t i = 0; i < d->nmembers; i++)
        if (!d->members[i].selected)
            n++;
    return n;
}

/* ---- text ------------------------------------------------------------------------- */

static void print_text(FILE *f, const struct deployment *d, const struct states_report *states, const int *groups,
                       size_t ngroups, const char *warning, plan_reboot_hint hint, void *ctx)
{
    fprintf(f, "Manifest: %s\n", str(d->manifest_name));
    if (ngroups == 0)
        fprintf(f, "Nothing to install: every Component already runs its Artifact.\n");
    for (size_t g = 0; g < ngroups; g++) {
        fprintf(f, "Group %d:\n", groups[g]);
        for (size_t i = 0; i < d->nmembers; i++) {
            const struct member *m = &d->members[i];
            if (!m->selected || m->order != groups[g])
                continue;
            struct reboot_view r = member_reboot(m, hint, ctx);
            fprintf(f, "  %s.%s: %s -> %s (interface %s, expected reboot: %s%s)\n", str(m->component_type), str(m->id),
                    current_version(m), str(m->artifact_name), str(m->interface), reboot_name(r),
                    r.source == RB_LAST_DEPLOYMENT ? " (last deployment)" : "");
        }
    }
    if (count_skipped(d)) {
        fprintf(f, "Skipped:\n");
        for (size_t i = 0; i < d->nmembers; i++) {
            const struct member *m = &d->members[i];
            if (!m->selected)
                fprintf(f, "  %s.%s: %s already installed (order %d)\n", str(m->component_type), str(m->id),
                        str(m->artifact_name), m->order);
        }
    }
    plan_states_text(f, states);
    if (warning)
        fprintf(f, "Warning: %s\n", warning);
    fprintf(f, "Plan hash: %s\n", str(d->plan_hash));
}

/* ---- JSON ------------------------------------------------------------------------- */

static json_t *kv_object(const struct kvlist *l)
{
    struct kvlist s = { 0 };
    kvl_copy(&s, l);
    kvl_sort(&s);
    json_t *o = json_object();
    for (size_t i = 0; i < s.n; i++)
        json_object_set_new(o, s.items[i].key, json_string(s.items[i].value));
    kvl_free(&s);
    return o;
}

static json_t *jstr(const char *s) { return s ? json_string(s) : json_null(); }

static json_t *member_json(const struct member *m, plan_reboot_hint hint, void *ctx)
{
    json_t *o = json_object();
    json_object_set_new(o, "component_type", jstr(m->component_type));
    json_object_set_new(o, "id", jstr(m->id));
    json_object_set_new(o, "interface", jstr(m->interface));
    json_object_set_new(o, "order", json_integer(m->order));
    json_object_set_new(o, "action", json_string(m->selected ? "install" : "skip"));
    if (!m->selected)
        json_object_set_new(o, "reason", json_string("already installed"));
    json_object_set_new(o, "artifact", jstr(m->artifact_name));
    json_object_set_new(o, "artifact_path", jstr(m->artifact_path));
    json_object_set_new(o, "artifact_size", json_integer((json_int_t)m->artifact_size));
    json_object_set_new(o, "artifact_url", jstr(m->artifact_url));
    json_object_set_new(o, "artifact_sha256", jstr(m->artifact_sha256[0] ? m->artifact_sha256 : NULL));
    json_object_set_new(o, "artifact_manifest_sha256", jstr(m->manifest_sha256[0] ? m->manifest_sha256 : NULL));
    json_object_set_new(o, "current_version", jstr(select_current_version(&m->provides, m->interface)));
    json_object_set_new(o, "provides", kv_object(&m->provides));
    if (m->selected) {
        json_object_set_new(o, "new_provides", kv_object(&m->new_provides));
        struct reboot_view r = member_reboot(m, hint, ctx);
        json_object_set_new(o, "expected_reboot", json_string(reboot_name(r)));
        json_object_set_new(o, "expected_reboot_source",
                            r.source == RB_LAST_DEPLOYMENT ? json_string("last_deployment")
                            : r.source == RB_DEPLOYMENT    ? json_string("deployment")
                                                           : json_null());
    }
    return o;
}

static void print_json(FILE *f, const struct deployment *d, const struct states_report *states, const int *groups,
                       size_t ngroups, const char *warning, plan_reboot_hint hint, void *ctx)
{
    json_t *root = json_object();
    json_object_set_new(root, "manifest", jstr(d->manifest_name));
    json_object_set_new(root, "plan_hash", jstr(d->plan_hash));
    json_t *ga = json_array();
    for (size_t g = 0; g < ngroups; g++) {
        json_t *go = json_object();
        json_object_set_new(go, "order", json_integer(groups[g]));
        json_t *ca = json_array();
        for (size_t i = 0; i < d->nmembers; i++)
            if (d->members[i].selected && d->members[i].order == groups[g])
                json_array_append_new(ca, member_json(&d->members[i], hint, ctx));
        json_object_set_new(go, "components", ca);
        json_array_append_new(ga, go);
    }
    json_object_set_new(root, "groups", ga);
    json_t *sa = json_array();
    for (size_t i = 0; i < d->nmembers; i++)
        if (!d->members[i].selected)
            json_array_append_new(sa, member_json(&d->members[i], hint, ctx));
    json_object_set_new(root, "skipped", sa);
    json_t *wa = json_array();
    if (warning)
        json_array_append_new(wa, json_string(warning));
    json_object_set_new(root, "warnings", wa);
    json_object_set_new(root, "constraints", plan_states_json(states));
    char *s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (s)
        fprintf(f, "%s\n", s);
    free(s);
    json_decref(root);
}

/* ---- Graphviz dot ----------------------------------------------------------------- */

/* Writes s escaped for a double-quoted dot string (our own "\n" line breaks are added
 * by the caller, outside of this). */
void plan_dot_esc(FILE *f, const char *s)
{
    for (s = str(s); *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        fputc(*s, f);
    }
}

/* One cluster per order group, linked in order. */
static void dot_groups(FILE *f, const struct deployment *d, const int *groups, size_t ngroups, plan_reboot_hint hint,
                       void *ctx)
{
    _cleanup_free_ long *first = xcalloc(ngroups ? ngroups : 1, sizeof(*first));
    for (size_t g = 0; g < ngroups; g++) {
        first[g] = -1;
        fprintf(f, "  subgraph cluster_%d {\n    label=\"order %d\";\n", groups[g], groups[g]);
        for (size_t i = 0; i < d->nmembers; i++) {
            const struct member *m = &d->members[i];
            if (!m->selected || m->order != groups[g])
                continue;
            if (first[g] < 0)
                first[g] = (long)i;
            struct reboot_view r = member_reboot(m, hint, ctx);
            fprintf(f, "    m%zu [label=\"", i);
            plan_dot_esc(f, m->component_type);
            fputc('.', f);
            plan_dot_esc(f, m->id);
            fprintf(f, "\\n");
            plan_dot_esc(f, current_version(m));
            fprintf(f, " -> ");
            plan_dot_esc(f, m->artifact_name);
            fprintf(f, "\\nreboot: %s%s\"];\n", reboot_name(r),
                    r.source == RB_LAST_DEPLOYMENT ? " (last deployment)" : "");
        }
        fprintf(f, "  }\n");
    }
    for (size_t g = 0; g + 1 < ngroups; g++)
        fprintf(f, "  m%ld -> m%ld [ltail=cluster_%d, lhead=cluster_%d];\n", first[g], first[g + 1], groups[g],
                groups[g + 1]);
}

/* The skipped (already installed) Components, dashed. */
static void dot_skipped(FILE *f, const struct deployment *d)
{
    if (!count_skipped(d))
        return;
    fprintf(f, "  subgraph skipped {\n    node [style=dashed];\n");
    for (size_t i = 0; i < d->nmembers; i++) {
        const struct member *m = &d->members[i];
        if (m->selected)
            continue;
        fprintf(f, "    m%zu [label=\"", i);
        plan_dot_esc(f, m->component_type);
        fputc('.', f);
        plan_dot_esc(f, m->id);
        fprintf(f, "\\n");
        plan_dot_esc(f, m->artifact_name);
        fprintf(f, " already installed\"];\n");
    }
    fprintf(f, "  }\n");
}

static void print_dot(FILE *f, const struct deployment *d, const struct states_report *states, const int *groups,
                      size_t ngroups, const char *warning, plan_reboot_hint hint, void *ctx)
{
    fprintf(f, "digraph plan {\n");
    fprintf(f, "  graph [compound=true, labelloc=t, fontname=\"sans-serif\", label=\"Manifest ");
    plan_dot_esc(f, d->manifest_name);
    fprintf(f, "\\nplan ");
    plan_dot_esc(f, d->plan_hash);
    if (ngroups == 0)
        fprintf(f, "\\nnothing to install");
    if (warning) {
        fprintf(f, "\\nwarning: ");
        plan_dot_esc(f, warning);
    }
    fprintf(f, "\"];\n");
    fprintf(f, "  node [shape=box, fontname=\"sans-serif\"];\n");
    dot_groups(f, d, groups, ngroups, hint, ctx);
    dot_skipped(f, d);
    plan_states_dot(f, states);
    fprintf(f, "}\n");
}

void plan_print(FILE *f, const struct deployment *d, const struct states_report *states, enum plan_format fmt,
                plan_reboot_hint hint, void *hint_ctx)
{
    assert(f && d);
    size_t ngroups = 0;
    _cleanup_free_ int *groups = deployment_groups(d, &ngroups);
    size_t nauto = 0;
    _cleanup_free_ int *ag = automatic_groups(d, groups, ngroups, hint, hint_ctx, &nauto);
    _cleanup_free_ char *warning = automatic_warning(ag, nauto);
    switch (fmt) {
    case PLAN_JSON: print_json(f, d, states, groups, ngroups, warning, hint, hint_ctx); break;
    case PLAN_DOT: print_dot(f, d, states, groups, ngroups, warning, hint, hint_ctx); break;
    default: print_text(f, d, states, groups, ngroups, warning, hint, hint_ctx); break;
    }
}

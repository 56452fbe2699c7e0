#include "iface/runner.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "iface/workdir.h"
#include "util/log.h"
#include "util/mem.h"

char *iface_path(const struct iface_env *env, const char *interface)
{
    assert(env && env->data_dir && interface);
    return xasprintf("%s/interfaces/v1/%s", env->data_dir, interface);
}

char **iface_argv(const struct iface_env *env, const struct iface_target *t, const char *call, const char *workdir)
{
    assert(env && t && t->interface && t->component_type && call && workdir);
    size_t nargs = t->args ? t->args->n : 0;
    char **argv = xcalloc(nargs + 6, sizeof(*argv));
    size_t i = 0;
    argv[i++] = iface_path(env, t->interface);
    argv[i++] = xstrdup(call);
    argv[i++] = xstrdup(workdir);
    argv[i++] = xstrdup(t->component_type);
    if (t->legacy)
        argv[i++] = xstrdup(t->id ? t->id : "");
    for (size_t k = 0; k < nargs; k++)
        argv[i++] = xstrdup(t->args->v[k]);
    argv[i] = NULL;
    return argv;
}

void iface_argv_free(char **argv)
{
    if (!argv)
        return;
    for (char **a = argv; *a; a++)
        free(*a);
    free(argv);
}

MO_DEFINE_POINTER_CLEANUP(iface_argv_freep, char **, iface_argv_free)

/* The call's spec (argv is the caller's, from iface_argv). */
static struct proc_spec spec_of(const struct iface_env *env, const struct iface_target *t, char **argv,
                                const char *call, const char *workdir, bool query)
{
    log_comp(LOG_DEBUG, t->component_type, t->id, "Calling Interface %s %s", t->interface, call);
    return (struct proc_spec){
        .path = argv[0],
        .argv = argv,
        .cwd = workdir,
        .timeout_seconds = env->timeout_seconds,
        .kill_grace_seconds = env->kill_grace_seconds,
        .capture_stdout = query,
        .capture_max = QUERY_OUTPUT_MAX,
        .stdout_level = query ? LOG_DEBUG : LOG_INFO,
        .log_type = t->component_type,
        .log_id = t->id,
        .calls = env->calls,
    };
}

/* Runs the call to its end in this thread (proc_run). */
static int run(const struct iface_env *env, const struct iface_target *t, const char *call, const char *workdir,
               bool query, struct proc_result *res, struct error **err)
{
    _cleanup_(iface_argv_freep) char **argv = iface_argv(env, t, call, workdir);
    struct proc_spec spec = spec_of(env, t, argv, call, workdir, query);
    if (proc_run(&spec, res, err) != 0)
        return error_prefix(err, "Interface %s", t->interface);
    return 0;
}

struct proc *iface_start_state(const struct iface_env *env, const struct iface_target *t, const char *state,
                               const char *workdir, struct error **err)
{
    assert(env && t && state && workdir);
    _cleanup_(iface_argv_freep) char **argv = iface_argv(env, t, state, workdir);
    struct proc_spec spec = spec_of(env, t, argv, state, workdir, false);
    struct proc *p = proc_start(&spec, err);
    if (!p)
        error_prefix(err, "Interface %s", t->interface);
    return p;
}

int iface_state(const struct iface_env *env, const struct iface_target *t, const char *state, const char *workdir,
                struct error **err)
{
    assert(env && t && state && workdir);
    struct proc_result res;
    if (run(env, t, state, workdir, false, &res, err) != 0)
        return -1;
    int r = proc_check(&res, err) < 0 ? error_prefix(err, "%s", state) : 0;
    proc_result_free(&res);
    return r;
}

/* A query's scratch dir goes with its scope. */
static void scratch_removep(char **dir)
{
    if (*dir)
        workdir_scratch_done(*dir);
    free(*dir);
}

int iface_query(const struct iface_env *env, const struct iface_target *t, const char *query, const char *workdir,
                char **out, size_t *len, struct error **err)
{
    assert(env && t && query && out && len);
    _cleanup_(scratch_removep) char *scratch = NULL;
    *out = NULL;
    if (!workdir) {
        workdir = scratch = workdir_scratch(env->datastore, err);
        if (!scratch)
            return -1;
    }
    struct proc_result res;
    if (run(env, t, query, workdir, true, &res, err) != 0)
        return -1;
    int r = 0;
    if (proc_check(&res, err) < 0)
        r = error_prefix(err, "%s", query);
    else if (res.capture_overflow)
        r = error_set(err, 0, "%s: more than %u bytes of output", query, QUERY_OUTPUT_MAX);
    if (r == 0) {
        log_comp(LOG_DEBUG, t->component_type, t->id, "%s answered %zu byte(s)", query, res.out_len);
        *out = TAKE_PTR(res.out);
        *len = res.out_len;
    }
    proc_result_free(&res);
    return r;
}

int iface_query_answer(const struct iface_env *env, const struct iface_target *t, const char *query,
                       const char *workdir, bool allow_automatic, enum answer dflt, enum answer *answer,
                       struct error **err)
{
    _cleanup_free_ char *out = NULL;
    size_t len;
    if (iface_query(env, t, query, workdir, &out, &len, err) != 0)
        return -1;
    return query_parse_answer(query, out, len, allow_automatic, dflt, answer, err);
}

int iface_identity(const struct iface_env *env, const struct iface_target *t, char **id, struct error **err)
{
    assert(id);
    _cleanup_free_ char *out = NULL;
    size_t len;
    *id = NULL;
    if (iface_query(env, t, "Identity", NULL, &out, &len, err) != 0)
        return -1;
    return query_parse_identity(out, len, id, err);
}

int iface_provides(const struct iface_env *env, const struct iface_target *t, struct kvlist *provides,
                   struct error **err)
{
    _cleanup_free_ char *out = NULL;
    size_t len;
    if (iface_query(env, t, "Provides", NULL, &out, &len, err) != 0)
        return -1;
    int dropped = 0;
    if (query_parse_provides(out, len, provides, &dropped, err) != 0)
        return -1;
    if (dropped)
        log_comp(LOG_WARNING, t->component_type, t->id,
                 "Provides: device_type is reserved (the Topology's component_type is used); ignored");
    return 0;
}

int iface_inventory(const struct iface_env *env, const struct iface_target *t, struct strv *lines, struct error **err)
{
    _cleanup_free_ char *out = NULL;
    size_t len;
    if (iface_query(env, t, "Inventory", NULL, &out, &len, err) != 0)
        return -1;
    return query_parse_inventory(out, len, lines, err);
}

#include "iface/runner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iface/workdir.h"
#include "util/log.h"
#include "util/mem.h"

char *iface_path(const struct iface_env *env, const char *interface)
{
    return xasprintf("%s/interfaces/v1/%s", env->data_dir, interface);
}

char **iface_argv(const struct iface_env *env, const struct iface_target *t, const char *call, const char *workdir)
{
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
    for (char **a = argv; *a; a++)
        free(*a);
    free(argv);
}

static struct proc *start(const struct iface_env *env, const struct iface_target *t, const char *call,
                          const char *workdir, bool query, char *err, size_t errlen)
{
    char **argv = iface_argv(env, t, call, workdir);
    struct proc_spec spec = {
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
    };
    log_comp(LOG_DEBUG, t->component_type, t->id, "Calling Interface %s %s", t->interface, call);
    char why[512];
    struct proc *p = proc_start(&spec, why, sizeof(why));
    if (!p)
        snprintf(err, errlen, "Interface %s: %s", t->interface, why);
    iface_argv_free(argv);
    return p;
}

struct proc *iface_start_state(const struct iface_env *env, const struct iface_target *t, const char *state,
                               const char *workdir, char *err, size_t errlen)
{
    return start(env, t, state, workdir, false, err, errlen);
}

int iface_state(const struct iface_env *env, const struct iface_target *t, const char *state, const char *workdir,
                char *err, size_t errlen)
{
    struct proc *p = iface_start_state(env, t, state, workdir, err, errlen);
    if (!p)
        return -1;
    struct proc_result res;
    proc_finish(p, &res);
    if (proc_succeeded(&res))
        return 0;
    char why[128];
    proc_describe(&res, why, sizeof(why));
    snprintf(err, errlen, "%s: %s", state, why);
    return -1;
}

int iface_query(const struct iface_env *env, const struct iface_target *t, const char *query, const char *workdir,
                char **out, size_t *len, char *err, size_t errlen)
{
    char *scratch = NULL;
    *out = NULL;
    if (!workdir) {
        workdir = scratch = workdir_scratch(env->datastore, err, errlen);
        if (!scratch)
            return -1;
    }
    int r = -1;
    struct proc *p = start(env, t, query, workdir, true, err, errlen);
    if (p) {
        struct proc_result res;
        proc_finish(p, &res);
        char why[128];
        if (!proc_succeeded(&res)) {
            proc_describe(&res, why, sizeof(why));
            snprintf(err, errlen, "%s: %s", query, why);
        } else if (res.capture_overflow) {
            snprintf(err, errlen, "%s: more than %u bytes of output", query, QUERY_OUTPUT_MAX);
        } else {
            log_comp(LOG_DEBUG, t->component_type, t->id, "%s answered %zu byte(s)", query, res.out_len);
            *out = res.out;
            *len = res.out_len;
            res.out = NULL;
            r = 0;
        }
        proc_result_free(&res);
    }
    if (scratch) {
        workdir_remove(scratch);
        free(scratch);
    }
    return r;
}

int iface_query_answer(const struct iface_env *env, const struct iface_target *t, const char *query,
                       const char *workdir, bool allow_automatic, enum answer dflt, enum answer *answer, char *err,
                       size_t errlen)
{
    char *out;
    size_t len;
    if (iface_query(env, t, query, workdir, &out, &len, err, errlen) != 0)
        return -1;
    int r = query_parse_answer(query, out, len, allow_automatic, dflt, answer, err, errlen);
    free(out);
    return r;
}

int iface_identity(const struct iface_env *env, const struct iface_target *t, char **id, char *err, size_t errlen)
{
    char *out;
    size_t len;
    *id = NULL;
    if (iface_query(env, t, "Identity", NULL, &out, &len, err, errlen) != 0)
        return -1;
    int r = query_parse_identity(out, len, id, err, errlen);
    free(out);
    return r;
}

int iface_provides(const struct iface_env *env, const struct iface_target *t, struct kvlist *provides, char *err,
                   size_t errlen)
{
    char *out;
    size_t len;
    if (iface_query(env, t, "Provides", NULL, &out, &len, err, errlen) != 0)
        return -1;
    int dropped = 0;
    int r = query_parse_provides(out, len, provides, &dropped, err, errlen);
    free(out);
    if (r == 0 && dropped)
        log_comp(LOG_WARNING, t->component_type, t->id,
                 "Provides: device_type is reserved (the Topology's component_type is used); ignored");
    return r;
}

int iface_inventory(const struct iface_env *env, const struct iface_target *t, struct strv *lines, char *err,
                    size_t errlen)
{
    char *out;
    size_t len;
    if (iface_query(env, t, "Inventory", NULL, &out, &len, err, errlen) != 0)
        return -1;
    int r = query_parse_inventory(out, len, lines, err, errlen);
    free(out);
    return r;
}

/* Calling Interfaces (docs/protocol.md): where they are, their argv, state
 * calls and queries. */
#ifndef MO_RUNNER_H
#define MO_RUNNER_H

#include <stdbool.h>
#include <stddef.h>

#include "iface/proc.h"
#include "iface/query.h"
#include "util/error.h"
#include "util/strv.h"

/* Where and how calls run; filled from the configuration. */
struct iface_env {
    const char *data_dir;        /* Interfaces are in {data}/interfaces/v1/ */
    const char *datastore;       /* work and query dirs */
    double timeout_seconds;      /* InterfaceTimeoutSeconds */
    double kill_grace_seconds;   /* 0 = 10 s */
    struct call_registry *calls; /* where calls are recorded for the next run (iface/calls.h); NULL = not */
};

/* One Component as the runner sees it. */
struct iface_target {
    const char *component_type;
    const char *id; /* for log tags, and the argv of legacy calls */
    const char *interface;
    const struct strv *args; /* interface_args (legacy: args) */
    bool legacy;             /* argv carries the id after the component type */
};

#define QUERY_OUTPUT_MAX (1024u * 1024)

/* {data}/interfaces/v1/<interface>. Caller frees. */
char *iface_path(const struct iface_env *env, const char *interface);

/* Builds the argv of a call (NULL-terminated; free with iface_argv_free). */
char **iface_argv(const struct iface_env *env, const struct iface_target *t, const char *call, const char *workdir);
void iface_argv_free(char **argv);

/* Starts a state call (output logged at info). NULL with *err ("Interface <name>: ...")
 * if it cannot run. */
MO_MUST_CHECK struct proc *iface_start_state(const struct iface_env *env, const struct iface_target *t,
                                             const char *state, const char *workdir, struct error **err);
/* Runs a state call to its end. Returns 0 on exit status 0, else -1 with *err
 * ("<state>: Process exited with status 3"). */
MO_MUST_CHECK int iface_state(const struct iface_env *env, const struct iface_target *t, const char *state,
                              const char *workdir, struct error **err);

/* Runs a query; its stdout (at most QUERY_OUTPUT_MAX) is the answer. workdir NULL =
 * a fresh scratch dir, removed afterwards. Returns 0 with *out (caller frees), or -1
 * with *err. */
MO_MUST_CHECK int iface_query(const struct iface_env *env, const struct iface_target *t, const char *query,
                              const char *workdir, char **out, size_t *len, struct error **err);
/* Yes/No(/Automatic) query with its default for empty output. */
MO_MUST_CHECK int iface_query_answer(const struct iface_env *env, const struct iface_target *t, const char *query,
                                     const char *workdir, bool allow_automatic, enum answer dflt, enum answer *answer,
                                     struct error **err);
/* Identity (scratch dir); *id NULL when the output was empty. */
MO_MUST_CHECK int iface_identity(const struct iface_env *env, const struct iface_target *t, char **id,
                                 struct error **err);
/* Provides (scratch dir); device_type is dropped with a warning. */
MO_MUST_CHECK int iface_provides(const struct iface_env *env, const struct iface_target *t, struct kvlist *provides,
                                 struct error **err);
/* Inventory (scratch dir). */
MO_MUST_CHECK int iface_inventory(const struct iface_env *env, const struct iface_target *t, struct strv *lines,
                                  struct error **err);

#endif

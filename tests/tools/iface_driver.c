/* Test driver for the Interface runner: makes one call the way the engine will, so
 * integration tests can exercise Download streaming, state calls and queries directly.
 *
 *   mo-iface-driver CALL --data-dir D --datastore S --interface I --type T
 *       [--id ID] [--legacy] [--arg A]... [--timeout SEC] [--grace SEC]
 *       [--artifact F [--packed] [--sizes] [--key PEM]... [--provide K=V]...]
 *
 * CALL Download: creates the work dir, streams the Artifact; prints
 * "ok streamed=<0|1> files=<0|1> bytes=<n>" or "error: <reason>". Other calls: a state
 * call, or with --query the answer on stdout. Exit 0 on success, 1 otherwise. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artifact/artifact.h"
#include "iface/runner.h"
#include "iface/stream.h"
#include "iface/workdir.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/mem.h"

struct opts {
    const char *call;
    struct iface_env env;
    struct iface_target t;
    struct strv args, keypaths;
    struct kvlist provides;
    const char *artifact;
    bool packed, sizes, query;
};

static void opts_free(struct opts *o)
{
    strv_free(&o->args);
    strv_free(&o->keypaths);
    kvl_free(&o->provides);
}

/* Returns 0, or 2 (the usage exit status) after a message. */
static int parse(int argc, char **argv, struct opts *o)
{
    o->call = argv[1];
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define OPT(name) (strcmp(a, name) == 0 && v && ++i)
        if (OPT("--data-dir"))
            o->env.data_dir = v;
        else if (OPT("--datastore"))
            o->env.datastore = v;
        else if (OPT("--interface"))
            o->t.interface = v;
        else if (OPT("--type"))
            o->t.component_type = v;
        else if (OPT("--id"))
            o->t.id = v;
        else if (OPT("--arg"))
            strv_push(&o->args, v);
        else if (OPT("--timeout"))
            o->env.timeout_seconds = atof(v);
        else if (OPT("--grace"))
            o->env.kill_grace_seconds = atof(v);
        else if (OPT("--artifact"))
            o->artifact = v;
        else if (OPT("--key"))
            strv_push(&o->keypaths, v);
        else if (OPT("--provide")) {
            const char *eq = strchr(v, '=');
            _cleanup_free_ char *k = xstrndup(v, eq ? (size_t)(eq - v) : strlen(v));
            kvl_set(&o->provides, k, eq ? eq + 1 : "");
        } else if (strcmp(a, "--packed") == 0)
            o->packed = true;
        else if (strcmp(a, "--sizes") == 0)
            o->sizes = true;
        else if (strcmp(a, "--legacy") == 0)
            o->t.legacy = true;
        else if (strcmp(a, "--query") == 0)
            o->query = true;
        else {
            fprintf(stderr, "mo-iface-driver: bad option %s\n", a);
            return 2;
        }
#undef OPT
    }
    o->t.args = &o->args;
    if (!o->t.id)
        o->t.id = o->t.component_type;
    return 0;
}

static int run_query(const struct opts *o, struct error **err)
{
    _cleanup_free_ char *out = NULL;
    size_t len;
    if (iface_query(&o->env, &o->t, o->call, NULL, &out, &len, err) != 0)
        return -1;
    fwrite(out, 1, len, stdout);
    return 0;
}

static int run_download(const struct opts *o, const struct artifact_keys *keys, const char *wd, struct error **err)
{
    _cleanup_(artifact_info_free) struct artifact_info info = { 0 };
    if (artifact_read_header_file(o->artifact, keys, &info, err) != 0 ||
        workdir_create(wd, o->t.component_type, &o->provides, &info, err) != 0)
        return -1;
    struct download_opts d = { .env = &o->env,
                               .target = &o->t,
                               .workdir = wd,
                               .artifact_path = o->artifact,
                               .keys = keys,
                               .unpacked = !o->packed,
                               .with_sizes = o->sizes,
                               .expect_manifest_sha256 = info.manifest_sha256 };
    struct download_result res;
    if (iface_download(&d, &res, err) != 0)
        return -1;
    printf("ok streamed=%d files=%d bytes=%llu\n", res.streamed, res.files, (unsigned long long)res.bytes);
    return 0;
}

static int run_state(const struct opts *o, const char *wd, struct error **err)
{
    if (workdir_mkdirs(wd) != 0)
        return error_set_errno(err, errno, "%s", wd);
    if (iface_state(&o->env, &o->t, o->call, wd, err) != 0)
        return -1;
    printf("ok\n");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs("usage: mo-iface-driver CALL options...\n", stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    _cleanup_(opts_free) struct opts o = { .env.timeout_seconds = 0 };
    if (parse(argc, argv, &o) != 0)
        return 2;
    _cleanup_free_ char *wd = workdir_path(o.env.datastore, o.t.component_type, o.t.id);
    _cleanup_error_ struct error *err = NULL;
    _cleanup_artifact_keys_ struct artifact_keys *keys = NULL;
    int r;
    if (o.keypaths.n && !(keys = artifact_keys_load(&o.keypaths, &err)))
        r = -1;
    else if (o.query)
        r = run_query(&o, &err);
    else if (strcmp(o.call, "Download") == 0)
        r = run_download(&o, keys, wd, &err);
    else
        r = run_state(&o, wd, &err);
    if (r != 0) {
        printf("error: %s\n", error_message(err));
        return 1;
    }
    return 0;
}

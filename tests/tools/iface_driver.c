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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artifact/artifact.h"
#include "iface/runner.h"
#include "iface/stream.h"
#include "iface/workdir.h"
#include "util/mem.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs("usage: mo-iface-driver CALL options...\n", stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    const char *call = argv[1];
    struct iface_env env = { .timeout_seconds = 0 };
    struct iface_target t = { 0 };
    struct strv args = { 0 }, keypaths = { 0 };
    struct kvlist provides = { 0 };
    const char *artifact = NULL;
    bool packed = false, sizes = false, query = false;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define OPT(name) (strcmp(a, name) == 0 && v && ++i)
        if (OPT("--data-dir"))
            env.data_dir = v;
        else if (OPT("--datastore"))
            env.datastore = v;
        else if (OPT("--interface"))
            t.interface = v;
        else if (OPT("--type"))
            t.component_type = v;
        else if (OPT("--id"))
            t.id = v;
        else if (OPT("--arg"))
            strv_push(&args, v);
        else if (OPT("--timeout"))
            env.timeout_seconds = atof(v);
        else if (OPT("--grace"))
            env.kill_grace_seconds = atof(v);
        else if (OPT("--artifact"))
            artifact = v;
        else if (OPT("--key"))
            strv_push(&keypaths, v);
        else if (OPT("--provide")) {
            const char *eq = strchr(v, '=');
            char *k = xstrndup(v, eq ? (size_t)(eq - v) : strlen(v));
            kvl_set(&provides, k, eq ? eq + 1 : "");
            free(k);
        } else if (strcmp(a, "--packed") == 0)
            packed = true;
        else if (strcmp(a, "--sizes") == 0)
            sizes = true;
        else if (strcmp(a, "--legacy") == 0)
            t.legacy = true;
        else if (strcmp(a, "--query") == 0)
            query = true;
        else {
            fprintf(stderr, "mo-iface-driver: bad option %s\n", a);
            return 2;
        }
    }
    t.args = &args;
    if (!t.id)
        t.id = t.component_type;
    char err[1024] = "";
    int rc = 1;
    char *wd = workdir_path(env.datastore, t.component_type, t.id);
    struct artifact_keys *keys = NULL;
    _cleanup_error_ struct error *ae = NULL;
    if (keypaths.n && !(keys = artifact_keys_load(&keypaths, &ae))) {
        printf("error: %s\n", error_message(ae));
        goto out;
    }
    if (query) {
        char *out;
        size_t len;
        if (iface_query(&env, &t, call, NULL, &out, &len, err, sizeof(err)) == 0) {
            fwrite(out, 1, len, stdout);
            free(out);
            rc = 0;
        } else {
            printf("error: %s\n", err);
        }
        goto out;
    }
    if (strcmp(call, "Download") == 0) {
        struct artifact_info info = { 0 };
        if (artifact_read_header_file(artifact, keys, &info, &ae) != 0 ||
            workdir_create(wd, t.component_type, &provides, &info, err, sizeof(err)) != 0) {
            printf("error: %s\n", ae ? error_message(ae) : err);
            artifact_info_free(&info);
            goto out;
        }
        struct download_opts o = { .env = &env, .target = &t, .workdir = wd, .artifact_path = artifact,
                                    .keys = keys, .unpacked = !packed, .with_sizes = sizes,
                                    .expect_manifest_sha256 = info.manifest_sha256 };
        struct download_result res;
        if (iface_download(&o, &res, err, sizeof(err)) == 0) {
            printf("ok streamed=%d files=%d bytes=%llu\n", res.streamed, res.files, (unsigned long long)res.bytes);
            rc = 0;
        } else {
            printf("error: %s\n", err);
        }
        artifact_info_free(&info);
        goto out;
    }
    if (workdir_mkdirs(wd) != 0 || iface_state(&env, &t, call, wd, err, sizeof(err)) != 0)
        printf("error: %s\n", err);
    else {
        printf("ok\n");
        rc = 0;
    }
out:
    free(wd);
    artifact_keys_free(keys);
    strv_free(&args);
    strv_free(&keypaths);
    kvl_free(&provides);
    return rc;
}

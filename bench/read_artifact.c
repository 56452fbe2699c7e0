/* mo-read-artifact: reads a .mender file through artifact_read_file with a sink
 * that discards the payload bytes, and prints a summary. For bench/artifact_rss.sh.
 *
 *   mo-read-artifact [--key PEM]... FILE
 *
 * Exit 0 if the Artifact is valid (and signed by one of the keys, if given), else 1. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "artifact/artifact.h"
#include "util/strv.h"

struct counts {
    unsigned files;
    unsigned bad;
    uint64_t bytes;
};

static int on_header(void *ctx, const struct artifact_info *info)
{
    (void)ctx;
    (void)info;
    return 0;
}

static int on_begin(void *ctx, const char *name, int64_t size)
{
    (void)ctx;
    (void)name;
    (void)size;
    return 0;
}

static int on_data(void *ctx, const void *buf, size_t len)
{
    (void)buf;
    ((struct counts *)ctx)->bytes += len;
    return 0;
}

static int on_end(void *ctx, const char *name, bool ok)
{
    (void)name;
    struct counts *c = ctx;
    if (ok)
        c->files++;
    else
        c->bad++;
    return 0;
}

int main(int argc, char **argv)
{
    struct strv keypaths = { 0 };
    const char *file = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--key") == 0 && i + 1 < argc) {
            strv_push(&keypaths, argv[++i]);
        } else if (argv[i][0] == '-' || file) {
            fprintf(stderr, "usage: %s [--key PEM]... FILE\n", argv[0]);
            strv_free(&keypaths);
            return 1;
        } else {
            file = argv[i];
        }
    }
    if (!file) {
        fprintf(stderr, "usage: %s [--key PEM]... FILE\n", argv[0]);
        strv_free(&keypaths);
        return 1;
    }
    _cleanup_error_ struct error *err = NULL;
    struct artifact_keys *keys = NULL;
    if (keypaths.n) {
        keys = artifact_keys_load(&keypaths, &err);
        strv_free(&keypaths);
        if (!keys) {
            fprintf(stderr, "error: %s\n", error_message(err));
            return 1;
        }
    }
    struct counts c = { 0 };
    struct artifact_sink sink = { &c, on_header, on_begin, on_data, on_end };
    struct artifact_info info;
    int rc = artifact_read_file(file, keys, &sink, &info, &err);
    artifact_keys_free(keys);
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", file, error_message(err));
        return 1;
    }
    printf("artifact_name=%s payload_type=%s signed=%s files=%u bytes=%" PRIu64 " header=%s data=%s\n",
           info.artifact_name, info.payload_type ? info.payload_type : "(null)", info.is_signed ? "yes" : "no", c.files,
           c.bytes, info.header_member, info.data_member ? info.data_member : "(none)");
    artifact_info_free(&info);
    return 0;
}

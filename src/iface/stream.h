/* Download: delivering an Artifact's payload to an Interface through the streams tree
 * (stream-next FIFO protocol) or, if the Interface never opens stream-next, into
 * files/ (docs/protocol.md). Every check of the Artifact runs on the bytes as
 * they pass; nothing is placed under a final name before its checksum matched. */
#ifndef MO_STREAM_H
#define MO_STREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "artifact/artifact.h"
#include "iface/runner.h"
#include "util/error.h"

struct download_opts {
    const struct iface_env *env;
    const struct iface_target *target;
    const char *workdir;
    const char *artifact_path;                   /* local .mender file, when source is NULL */
    const struct artifact_source *source;        /* else the Artifact's bytes (e.g. a download); its
                                              * finish runs before the last file is made final */
    uint64_t artifact_size;                      /* size of the whole file, with source */
    const struct artifact_keys *keys;            /* signature policy; NULL = ignore signatures */
    bool unpacked;                               /* NeedsUnpackedArtifact = Yes */
    bool with_sizes;                             /* ProvidePayloadFileSizes = Yes: DownloadWithFileSizes */
    const unsigned char *expect_manifest_sha256; /* the Artifact must still be the selected one; NULL = any */
    /* called as bytes are delivered (about every MiB), may be NULL */
    void (*progress)(void *ctx, uint64_t bytes);
    void *progress_ctx;
};

struct download_result {
    bool streamed;  /* the Interface read the streams */
    bool files;     /* the payload was put into files/ instead */
    uint64_t bytes; /* payload bytes delivered */
};

/* Runs Download (or DownloadWithFileSizes). Returns 0 when the Interface exited 0 and
 * every check passed; -1 with *err otherwise ("Download: <reason>", or the runner's
 * "Interface <name>: ..." when it could not be started). */
MO_MUST_CHECK int iface_download(const struct download_opts *o, struct download_result *res, struct error **err);

#endif

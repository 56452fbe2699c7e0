/* The .mender reader (docs/artifact-format.md): a streaming, verifying reader of v3
 * Artifacts. Payload bytes go to a caller-supplied sink; a file's end is reported
 * as good only after its SHA-256 matched the manifest. */
#ifndef MO_ARTIFACT_H
#define MO_ARTIFACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/cleanup.h"
#include "util/error.h"
#include "util/strv.h"

/* Fixed caps on in-memory members (docs/artifact-format.md). */
#define ARTIFACT_VERSION_MAX (4u * 1024)
#define ARTIFACT_MANIFEST_MAX (1024u * 1024)
#define ARTIFACT_SIG_MAX (4u * 1024)
#define ARTIFACT_HEADER_MAX (16u * 1024 * 1024)
#define ARTIFACT_JSON_MAX (1024u * 1024)

/* One depends key with its accepted values (lists are OR, keys are AND). */
struct depend {
    char *key;
    struct strv values;
};

struct dependlist {
    struct depend *items;
    size_t n;
};

struct artifact_info {
    int format_version;                 /* 3 */
    char *artifact_name;                /* header-info artifact_provides.artifact_name */
    char *artifact_group;               /* header-info artifact_provides.artifact_group, or NULL */
    char *payload_type;                 /* header-info payloads[0].type; NULL = bootstrap (empty) */
    struct strv compatible_types;       /* header-info artifact_depends.device_type */
    struct strv depends_artifact_name;  /* header-info artifact_depends.artifact_name */
    struct strv depends_artifact_group; /* header-info artifact_depends.artifact_group */
    bool has_type_provides;             /* type-info artifact_provides present */
    struct kvlist type_provides;        /* type-info artifact_provides */
    struct dependlist type_depends;     /* type-info artifact_depends (strings become 1-lists) */
    bool has_clears;                    /* type-info clears_artifact_provides present (absent != []) */
    struct strv clears;
    bool has_meta_data; /* non-empty meta-data member */
    bool is_signed;     /* manifest.sig present (verified if keys were given) */
    char *header_info;
    size_t header_info_len; /* raw bytes, for the File API */
    char *type_info;
    size_t type_info_len;
    char *meta_data;
    size_t meta_data_len;              /* NULL if absent or empty */
    unsigned char manifest_sha256[32]; /* SHA-256 of the raw manifest member */
    char *header_member;               /* e.g. "header.tar.gz" */
    char *data_member;                 /* e.g. "data/0000.tar.xz", NULL if none */
    struct strv payload_files;         /* manifest names "data/0000/<name>", manifest order */
    uint64_t payload_bytes;            /* sum of payload file sizes seen */
};

/* Whether s holds no control character (below 0x20, or 0x7f): Artifact names, groups and
 * provides are printed one per line (status, history, check, show-provides), so the
 * reader refuses others ("artifact_provides.artifact_name: \"a\\x0ab\": control characters
 * are not allowed ..."); so does the repository index. */
bool artifact_one_line(const char *s);

/* Receives payload files in archive order. Any callback returning non-zero aborts the
 * read with that failure (the reader reports "<what>: refused by the consumer"; a
 * consumer with a better reason keeps it itself, as iface/stream.c does).
 * Any callback may be NULL.
 *
 * Order of calls:
 *   header
 *   file_begin(A), file_data(A)..., file_begin(B), file_data(B)..., ...
 *   and then, once, at the very end: file_end(A, ok), file_end(B, ok), ...
 *   (archive order; every begun file gets exactly one file_end).
 * A file's bytes are complete and its SHA-256 matched the manifest when the next
 * file_begin arrives (a mismatch fails the read at once, before any other file_begin),
 * so a sink streaming to an Interface closes a stream at the next file_begin, or at
 * the first file_end for the last file. file_end(ok=true) only comes after EVERYTHING
 * was verified (every payload checksum, every manifest line seen, nothing after the
 * payload): the file may then become final (renamed into place). file_end(ok=false):
 * reading failed (checksum, truncation, refusal, a bad later member...): discard the
 * file. A file whose file_begin returned non-zero gets no file_end. */
struct artifact_sink {
    void *ctx;
    /* After the header was verified and parsed, before any payload byte: the caller
     * may refuse the Artifact (compatibility, depends) by returning non-zero. */
    int (*header)(void *ctx, const struct artifact_info *info);
    /* name is the base name (payload files have no directories); size from the tar
     * header, -1 if unknown. */
    int (*file_begin)(void *ctx, const char *name, int64_t size);
    int (*file_data)(void *ctx, const void *buf, size_t len);
    int (*file_end)(void *ctx, const char *name, bool ok);
};

/* A byte source (e.g. a file, or a tee over bytes being forwarded elsewhere). */
struct artifact_source {
    void *ctx;
    /* Returns bytes read, 0 at end, -1 on error. */
    ssize_t (*read)(void *ctx, void *buf, size_t len);
    /* Optional: called once after the whole Artifact was verified and before any
     * file_end(ok): the source confirms its own end (e.g. a download's size and
     * SHA-256). Non-zero fails the read with the reason it set in *err. */
    int (*finish)(void *ctx, struct error **err);
};

struct artifact_keys; /* loaded public keys (verify.c) */

/* Reads and verifies a whole Artifact from src. keys may be NULL or empty (signatures
 * then ignored, though is_signed is still set). sink may be NULL (payload bytes are
 * still hashed and checked). On failure returns -1 with *err set to a one-line reason
 * (without the file name, e.g. "data/0000/payload.bin: checksum mismatch") and info
 * is left zeroed (artifact_info_free on it is harmless). On success the caller frees
 * info with artifact_info_free. A bootstrap Artifact (payload type null) is read
 * successfully with info->payload_type == NULL: refusing it is the caller's job. */
MO_MUST_CHECK int artifact_read(const struct artifact_source *src, const struct artifact_keys *keys,
                                const struct artifact_sink *sink, struct artifact_info *info, struct error **err);
/* The same for a file on disk. */
MO_MUST_CHECK int artifact_read_file(const char *path, const struct artifact_keys *keys,
                                     const struct artifact_sink *sink, struct artifact_info *info, struct error **err);
/* Reads and verifies only up to the header (version, manifest, signature policy, header
 * checksum and rules): what the File API's header/ needs before Download. The payload
 * is not read, so payload_bytes stays 0 and the payload is not verified. */
MO_MUST_CHECK int artifact_read_header_file(const char *path, const struct artifact_keys *keys,
                                            struct artifact_info *info, struct error **err);
/* The same from any source (e.g. a download); reading stops after the header. */
MO_MUST_CHECK int artifact_read_header(const struct artifact_source *src, const struct artifact_keys *keys,
                                       struct artifact_info *info, struct error **err);
/* Frees what info holds and zeroes it; also a cleanup: _cleanup_(artifact_info_free). */
void artifact_info_free(struct artifact_info *info);

/* Public keys (PEM SubjectPublicKeyInfo; RSA any size, EC P-256 only). Returns NULL
 * with *err set ("<path>: <reason>") if any key cannot be loaded. */
MO_MUST_CHECK struct artifact_keys *artifact_keys_load(const struct strv *paths, struct error **err);
void artifact_keys_free(struct artifact_keys *keys);
MO_DEFINE_POINTER_CLEANUP(artifact_keys_freep, struct artifact_keys *, artifact_keys_free)
#define _cleanup_artifact_keys_ _cleanup_(artifact_keys_freep)
/* Number of loaded keys; 0 for NULL. artifact_read treats 0 keys like keys == NULL. */
size_t artifact_keys_count(const struct artifact_keys *keys);
/* Verifies a base64 manifest.sig over the manifest bytes with any of the keys: 0 = ok,
 * else -1 with *err set. */
MO_MUST_CHECK int artifact_verify_signature(const struct artifact_keys *keys, const char *sig_b64, size_t sig_len,
                                            const unsigned char *manifest, size_t manifest_len, struct error **err);

#endif

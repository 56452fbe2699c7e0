/* The .mender reader (artifact-format.md): a streaming, verifying reader of v3
 * Artifacts. Payload bytes go to a caller-supplied sink; a file's end is reported
 * as good only after its SHA-256 matched the manifest. */
#ifndef MO_ARTIFACT_H
#define MO_ARTIFACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/strv.h"

/* Fixed caps on in-memory members (artifact-format.md §9). */
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
    int format_version;              /* 3 */
    char *artifact_name;             /* header-info artifact_provides.artifact_name */
    char *artifact_group;            /* header-info artifact_provides.artifact_group, or NULL */
    char *payload_type;              /* header-info payloads[0].type; NULL = bootstrap (empty) */
    struct strv compatible_types;    /* header-info artifact_depends.device_type */
    struct strv depends_artifact_name;   /* header-info artifact_depends.artifact_name */
    struct strv depends_artifact_group;  /* header-info artifact_depends.artifact_group */
    bool has_type_provides;          /* type-info artifact_provides present */
    struct kvlist type_provides;     /* type-info artifact_provides */
    struct dependlist type_depends;  /* type-info artifact_depends (strings become 1-lists) */
    bool has_clears;                 /* type-info clears_artifact_provides present (absent != []) */
    struct strv clears;
    bool has_meta_data;              /* non-empty meta-data member */
    bool is_signed;                  /* manifest.sig present (verified if keys were given) */
    char *header_info; size_t header_info_len;  /* raw bytes, for the File API */
    char *type_info; size_t type_info_len;
    char *meta_data; size_t meta_data_len;      /* NULL if absent or empty */
    unsigned char manifest_sha256[32];          /* SHA-256 of the raw manifest member */
    char *header_member;             /* e.g. "header.tar.gz" */
    char *data_member;               /* e.g. "data/0000.tar.xz", NULL if none */
    struct strv payload_files;       /* names (data/0000/<name>) listed in the manifest */
    uint64_t payload_bytes;          /* sum of payload file sizes seen */
};

/* Receives payload files in archive order. Any callback returning non-zero aborts the
 * read with that failure. file_end(ok=false) means the checksum failed: discard. */
struct artifact_sink {
    void *ctx;
    /* After the header was verified and parsed, before any payload byte: the caller
     * may refuse the Artifact (compatibility, depends) by returning non-zero. */
    int (*header)(void *ctx, const struct artifact_info *info);
    int (*file_begin)(void *ctx, const char *name, int64_t size);
    int (*file_data)(void *ctx, const void *buf, size_t len);
    int (*file_end)(void *ctx, const char *name, bool ok);
};

/* A byte source (e.g. a file, or a tee over bytes being forwarded elsewhere). */
struct artifact_source {
    void *ctx;
    /* Returns bytes read, 0 at end, -1 on error. */
    ssize_t (*read)(void *ctx, void *buf, size_t len);
};

struct artifact_keys;  /* loaded public keys (verify.c) */

/* Reads and verifies a whole Artifact from src. keys may be NULL (signatures then
 * ignored). sink may be NULL (payload bytes are still hashed and checked). On
 * failure returns -1 with a one-line reason in err (without the file name). */
int artifact_read(const struct artifact_source *src, const struct artifact_keys *keys,
                  const struct artifact_sink *sink, struct artifact_info *info, char *err, size_t errlen);
/* The same for a file on disk. */
int artifact_read_file(const char *path, const struct artifact_keys *keys, const struct artifact_sink *sink,
                       struct artifact_info *info, char *err, size_t errlen);
void artifact_info_free(struct artifact_info *info);

/* Public keys (PEM SubjectPublicKeyInfo; RSA any size, EC P-256 only). Returns NULL
 * with a reason in err if any key cannot be loaded. */
struct artifact_keys *artifact_keys_load(const struct strv *paths, char *err, size_t errlen);
void artifact_keys_free(struct artifact_keys *keys);
/* Verifies a base64 manifest.sig over the manifest bytes with any of the keys: 0 = ok. */
int artifact_verify_signature(const struct artifact_keys *keys, const char *sig_b64, size_t sig_len,
                              const unsigned char *manifest, size_t manifest_len, char *err, size_t errlen);

#endif

/* Private helpers shared by the .mender reader's files (reader.c, header.c). */
#ifndef MO_ARTIFACT_INT_H
#define MO_ARTIFACT_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "artifact/artifact.h"

struct archive;

/* Compression of a member, from its name suffix and from the stream's magic. */
enum artifact_codec { ARTIFACT_CODEC_NONE, ARTIFACT_CODEC_GZIP, ARTIFACT_CODEC_XZ, ARTIFACT_CODEC_ZSTD };

/* Size of every fixed streaming buffer. */
#define ARTIFACT_IO_BUF (64u * 1024)

/* Maps "" / ".gz" / ".xz" / ".zst" to a codec; -1 for anything else. */
int artifact_codec_from_suffix(const char *suffix, enum artifact_codec *out);
const char *artifact_codec_name(enum artifact_codec c);
/* Enables exactly the gzip, xz and zstd filters on a read handle. */
void artifact_enable_filters(struct archive *a);
/* After the first archive_read_next_header: true if the filter chain libarchive
 * detected is exactly `want` (nothing else, no nesting). *found names what was found. */
bool artifact_codec_matches(struct archive *a, enum artifact_codec want, const char **found);

/* Formats a one-line message into err (newlines and control characters become spaces). */
void artifact_seterr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Parses a whole header member (already checked against the manifest) into info:
 * header-info, scripts (validated, ignored), headers/0000/type-info and meta-data.
 * member is the member name for messages. Returns 0, or -1 with err set. */
int artifact_parse_header(const void *buf, size_t len, const char *member, enum artifact_codec codec,
                          struct artifact_info *info, char *err, size_t errlen);

/* SHA-256 (sha256.c). final also frees the context. */
struct artifact_sha256;
struct artifact_sha256 *artifact_sha256_new(void);
void artifact_sha256_update(struct artifact_sha256 *h, const void *buf, size_t len);
void artifact_sha256_final(struct artifact_sha256 *h, unsigned char out[32]);
void artifact_sha256_buf(const void *buf, size_t len, unsigned char out[32]);

/* True if name is a valid state script name (artifact-format.md §5). */
bool artifact_script_name_ok(const char *name);

#endif

/* Private helpers shared by the .mender reader's files (reader.c, header.c, verify.c):
 * nothing outside src/artifact/ includes this (tests/ and fuzz/ may, for internals). */
#ifndef MO_ARTIFACT_INT_H
#define MO_ARTIFACT_INT_H

#include <archive.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "artifact/artifact.h"
#include "util/cleanup.h"
#include "util/error.h"

struct archive_entry;

/* Size of every fixed streaming buffer. */
#define ARTIFACT_IO_BUF (64u * 1024)

MO_DEFINE_POINTER_CLEANUP(archive_read_freep, struct archive *, archive_read_free)
#define _cleanup_archive_ _cleanup_(archive_read_freep)
#define _cleanup_json_ _cleanup_(json_decrefp) /* jansson's own (json_auto_t) */

/* The compression of a member (codec.c, one row per codec): from its name suffix, and
 * what libarchive must find in the stream. */
struct artifact_codec {
    const char *suffix;               /* after "<name>.tar" */
    const char *name;                 /* in messages */
    int filter;                       /* the ARCHIVE_FILTER_* libarchive detects */
    int (*enable)(struct archive *a); /* archive_read_support_filter_*, NULL for none */
    const char *magic;                /* the bytes a stream of it begins with ("" for none) */
};

/* The row of "" / ".gz" / ".xz" / ".zst"; NULL for any other suffix. */
const struct artifact_codec *artifact_codec_from_suffix(const char *suffix);
/* True for the uncompressed row. */
bool artifact_codec_is_none(const struct artifact_codec *c);
/* Enables exactly the table's filters on a read handle (no bzip2, lz4, uu, program...). */
void artifact_codec_enable_all(struct archive *a);
/* After the first archive_read_next_header: true if the filter chain libarchive
 * detected is exactly `want` (nothing else, no nesting). *found names what was found. */
bool artifact_codec_matches(struct archive *a, const struct artifact_codec *want, const char **found);

/* The message for libarchive's failure `why` while decoding member (compressed with c,
 * its first head_len bytes at head), at the payload file `where` (or NULL): for a
 * compressed member "<member>: corrupt gzip stream[ (it does not even begin like one)][ at
 * <where>]: <why>; the Artifact file is damaged: build or download it again";
 * uncompressed, "<where or member>: <why>". Caller frees. */
char *artifact_codec_failure(const struct artifact_codec *c, const char *member, const char *where, const char *why,
                             const void *head, size_t head_len);

/* Reads the current entry of a into a NUL-terminated buffer of at most cap bytes.
 * Returns 0, or -1 with *err set ("too large (...)", or libarchive's reason). */
MO_MUST_CHECK int artifact_read_entry(struct archive *a, struct archive_entry *e, size_t cap, char **out,
                                      size_t *outlen, struct error **err);

/* Parses a whole header member (already checked against the manifest) into info:
 * header-info, scripts (validated, ignored), headers/0000/type-info and meta-data.
 * Returns 0, or -1 with *err set (the caller puts the member name in front). */
MO_MUST_CHECK int artifact_parse_header(const void *buf, size_t len, const struct artifact_codec *codec,
                                        struct artifact_info *info, struct error **err);

/* True if name is a valid state script name (docs/artifact-format.md). */
bool artifact_script_name_ok(const char *name);

/* The reader's messages are one line: newlines and control characters in the text
 * of a library, a tar or JSON name, or a path become spaces. The public functions
 * apply this to the error they hand out. Returns -1. */
static inline int artifact_error_one_line(struct error **err)
{
    if (err && *err)
        for (char *p = (*err)->message; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                *p = ' ';
    return -1;
}

#endif

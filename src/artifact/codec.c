/* The compressions a header or payload member may use: one row per codec. The reader
 * accepts a suffix, enables a filter and checks what libarchive found only through
 * this table.
 *
 * Adding a codec is one row here and one line in meson.build's filter_deps (the
 * library libarchive's filter needs when libarchive is linked statically); the
 * meson.build line of each row is named beside it. */
#include <assert.h>
#include <string.h>

#include "artifact/artifact_int.h"
#include "util/mem.h"

static const struct artifact_codec codecs[] = {
    { "", "none", ARCHIVE_FILTER_NONE, NULL, "" },
    { ".gz", "gzip", ARCHIVE_FILTER_GZIP, archive_read_support_filter_gzip, "\x1f\x8b" }, /* filter_deps: zlib */
    { ".xz", "xz", ARCHIVE_FILTER_XZ, archive_read_support_filter_xz,
      "\xfd"
      "7zXZ" }, /* filter_deps: liblzma */
    { ".zst", "zstd", ARCHIVE_FILTER_ZSTD, archive_read_support_filter_zstd,
      "\x28\xb5\x2f\xfd" }, /* filter_deps: libzstd */
};
#define NCODECS (sizeof(codecs) / sizeof(codecs[0]))

const struct artifact_codec *artifact_codec_from_suffix(const char *suffix)
{
    assert(suffix);
    for (size_t i = 0; i < NCODECS; i++)
        if (strcmp(suffix, codecs[i].suffix) == 0)
            return &codecs[i];
    return NULL;
}

bool artifact_codec_is_none(const struct artifact_codec *c) { return c->filter == ARCHIVE_FILTER_NONE; }

void artifact_codec_enable_all(struct archive *a)
{
    for (size_t i = 0; i < NCODECS; i++)
        if (codecs[i].enable)
            codecs[i].enable(a);
}

static const struct artifact_codec *by_filter(int code)
{
    for (size_t i = 0; i < NCODECS; i++)
        if (codecs[i].filter == code)
            return &codecs[i];
    return NULL;
}

bool artifact_codec_matches(struct archive *a, const struct artifact_codec *want, const char **found)
{
    assert(a && want && found);
    int count = archive_filter_count(a);
    const struct artifact_codec *got = by_filter(count > 0 ? archive_filter_code(a, 0) : ARCHIVE_FILTER_NONE);
    if (!got) {
        *found = "unsupported";
        return false;
    }
    *found = got->name;
    /* The pipeline is the detected filters plus the pseudo-filter of the client
     * callbacks: 1 when uncompressed, 2 with one decompressor, more if nested. */
    int expect_count = artifact_codec_is_none(got) ? 1 : 2;
    if (count != expect_count) {
        *found = "nested compression";
        return false;
    }
    return got == want;
}

char *artifact_codec_failure(const struct artifact_codec *c, const char *member, const char *where, const char *why,
                             const void *head, size_t head_len)
{
    assert(c && member && why && (head || head_len == 0));
    if (artifact_codec_is_none(c))
        return xasprintf("%s: %s", where ? where : member, why);
    size_t n = strlen(c->magic);
    bool begins = head_len >= n && memcmp(head, c->magic, n) == 0;
    return xasprintf("%s: corrupt %s stream%s%s%s: %s; the Artifact file is damaged: build or download it again",
                     member, c->name, begins ? "" : " (it does not even begin like one)", where ? " at " : "",
                     where ? where : "", why);
}

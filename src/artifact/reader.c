/* Streaming, verifying reader of .mender v3 Artifacts (docs/artifact-format.md).
 *
 * The outer tar is read once, in order. Small members (version, manifest,
 * manifest.sig, header) are read into capped buffers; the payload tar is read by a
 * second libarchive handle that pulls from the outer entry, so payload bytes pass
 * through fixed 64 KiB buffers only and are hashed on the way to the sink. */
#include <archive_entry.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "artifact/artifact.h"
#include "artifact/artifact_int.h"
#include "artifact/hashpipe.h"
#include "artifact/sha256.h"
#include "util/mem.h"

#define MANIFEST_NAME_MAX 100

struct mline {
    char *name;
    unsigned char sha[32];
    bool seen;
};

/* Outer members in their required order. */
enum member {
    M_NONE,
    M_VERSION,
    M_MANIFEST,
    M_SIG,
    M_MANIFEST_AUGMENT,
    M_HEADER,
    M_HEADER_AUGMENT,
    M_DATA0,
    M_DATA_OTHER,
    M_UNKNOWN,
};

struct rd {
    const struct artifact_source *src;
    const struct artifact_keys *keys;
    bool have_keys;
    const struct artifact_sink *sink;
    struct artifact_info *info;
    struct error **err; /* never NULL: the first error of the read */
    struct archive *outer;
    unsigned char *srcbuf;                   /* source -> outer reader */
    la_int64_t data_off;                     /* bytes of the outer data entry given to the inner reader */
    const struct artifact_codec *data_codec; /* the data member's compression */
    unsigned char data_head[8];              /* its first bytes, for messages */
    size_t data_head_len;
    struct hashpipe *hp; /* inner reader -> sink, hashed on a second thread; made at the first payload file */
    struct mline *ml;
    size_t nml;
    char *version_raw;
    size_t version_len;
    char *manifest_raw;
    size_t manifest_len;
    bool have_sig;
    bool outer_failed; /* the inner reader's callback saw an outer read error */
    bool header_only;  /* stop once the header is verified and parsed */
    struct strv begun; /* payload files given to file_begin, awaiting file_end */
};

static void rd_done(struct rd *r)
{
    if (r->outer)
        archive_read_free(r->outer);
    for (size_t i = 0; i < r->nml; i++)
        free(r->ml[i].name);
    free(r->ml);
    free(r->version_raw);
    free(r->manifest_raw);
    free(r->srcbuf);
    hashpipe_free(r->hp);
    strv_free(&r->begun);
}

static const char *aerr(struct archive *a)
{
    const char *s = archive_error_string(a);
    return s ? s : "read error";
}

static struct mline *manifest_find(struct rd *r, const char *name)
{
    for (size_t i = 0; i < r->nml; i++)
        if (strcmp(r->ml[i].name, name) == 0)
            return &r->ml[i];
    return NULL;
}

/* ---- outer source ------------------------------------------------------------------- */

static la_ssize_t outer_read_cb(struct archive *a, void *ud, const void **buf)
{
    struct rd *r = ud;
    ssize_t n = r->src->read(r->src->ctx, r->srcbuf, ARTIFACT_IO_BUF);
    if (n < 0) {
        archive_set_error(a, EIO, "error reading artifact");
        return -1;
    }
    *buf = r->srcbuf;
    return (la_ssize_t)n;
}

int artifact_read_entry(struct archive *a, struct archive_entry *e, size_t cap, char **out, size_t *outlen,
                        struct error **err)
{
    if (archive_entry_size_is_set(e) && archive_entry_size(e) > (la_int64_t)cap)
        return error_set(err, 0, "too large (%lld bytes, limit %zu)", (long long)archive_entry_size(e), cap);
    size_t alloc = archive_entry_size_is_set(e) ? (size_t)archive_entry_size(e) + 1 : 4096;
    _cleanup_free_ char *buf = xmalloc(alloc);
    size_t len = 0;
    for (;;) {
        if (len + 1 >= alloc) {
            if (len > cap)
                break;
            alloc = alloc * 2 > cap + 2 ? cap + 2 : alloc * 2;
            buf = xrealloc(buf, alloc);
        }
        la_ssize_t n = archive_read_data(a, buf + len, alloc - 1 - len);
        if (n < 0)
            return error_set(err, 0, "%s", aerr(a));
        if (n == 0)
            break;
        len += (size_t)n;
    }
    if (len > cap)
        return error_set(err, 0, "too large (limit %zu bytes)", cap);
    buf[len] = '\0';
    *out = TAKE_PTR(buf);
    *outlen = len;
    return 0;
}

/* The current outer member, whole; messages get its name in front. */
static int read_member(struct rd *r, struct archive_entry *e, const char *name, size_t cap, char **out, size_t *outlen)
{
    if (artifact_read_entry(r->outer, e, cap, out, outlen, r->err) < 0)
        return error_prefix(r->err, "%s", name);
    return 0;
}

/* ---- member names ------------------------------------------------------------------- */

/* "<base><ext>" with an extension of the codec table ("", ".gz", ...). */
static bool has_tar_name(const char *name, const char *base, const struct artifact_codec **codec)
{
    size_t l = strlen(base);
    if (strncmp(name, base, l) != 0)
        return false;
    const struct artifact_codec *c = artifact_codec_from_suffix(name + l);
    if (!c)
        return false;
    if (codec)
        *codec = c;
    return true;
}

static enum member classify(const char *name, const struct artifact_codec **codec)
{
    if (strcmp(name, "version") == 0)
        return M_VERSION;
    if (strcmp(name, "manifest") == 0)
        return M_MANIFEST;
    if (strcmp(name, "manifest.sig") == 0)
        return M_SIG;
    if (strcmp(name, "manifest-augment") == 0)
        return M_MANIFEST_AUGMENT;
    if (has_tar_name(name, "header.tar", codec))
        return M_HEADER;
    if (has_tar_name(name, "header-augment.tar", NULL))
        return M_HEADER_AUGMENT;
    if (has_tar_name(name, "data/0000.tar", codec))
        return M_DATA0;
    if (strncmp(name, "data/", 5) == 0 && strlen(name) >= 13 && strncmp(name + 9, ".tar", 4) == 0) {
        bool digits = true;
        for (int i = 5; i < 9; i++)
            if (name[i] < '0' || name[i] > '9')
                digits = false;
        if (digits && artifact_codec_from_suffix(name + 13))
            return M_DATA_OTHER;
    }
    return M_UNKNOWN;
}

static const char *expected_after(enum member last)
{
    switch (last) {
    case M_NONE: return "version";
    case M_VERSION: return "manifest";
    case M_MANIFEST: return "manifest.sig or header.tar";
    case M_SIG: return "header.tar";
    case M_HEADER: return "data/0000.tar or end of artifact";
    default: return "end of artifact";
    }
}

/* Members come in the order version, manifest, [manifest.sig], header.tar, [data/0000.tar]. */
static int check_order(enum member m, enum member last, const char *name, struct error **err)
{
    bool in_order;
    switch (m) {
    case M_UNKNOWN: return error_set(err, 0, "unexpected file in artifact: %s", name);
    case M_MANIFEST_AUGMENT:
    case M_HEADER_AUGMENT: return error_set(err, 0, "augmented artifacts are not supported (%s)", name);
    case M_DATA_OTHER: return error_set(err, 0, "artifacts with more than one payload are not supported (%s)", name);
    case M_VERSION: in_order = last == M_NONE; break;
    case M_MANIFEST: in_order = last == M_VERSION; break;
    case M_SIG: in_order = last == M_MANIFEST; break;
    case M_HEADER: in_order = last == M_MANIFEST || last == M_SIG; break;
    case M_DATA0: in_order = last == M_HEADER; break;
    default: in_order = false; break;
    }
    if (in_order)
        return 0;
    if (m == M_DATA0 && last == M_DATA0)
        return error_set(err, 0, "unexpected file in artifact: %s (duplicate)", name);
    return error_set(err, 0, "unexpected file in artifact: %s (expected %s)", name, expected_after(last));
}

/* ---- version, manifest, signature --------------------------------------------------- */

static int parse_version(struct rd *r)
{
    json_error_t je;
    _cleanup_json_ json_t *root = json_loadb(r->version_raw, r->version_len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return error_set(r->err, 0, "version: invalid JSON: %s", je.text);
    json_t *fmt = json_object_get(root, "format");
    json_t *ver = json_object_get(root, "version");
    if (!json_is_object(root) || !json_is_string(fmt) || strcmp(json_string_value(fmt), "mender") != 0)
        return error_set(r->err, 0, "version: not a mender artifact (format is not \"mender\")");
    if (!json_is_integer(ver))
        return error_set(r->err, 0, "version: missing or non-integer version");
    if (json_integer_value(ver) == 2)
        return error_set(r->err, 0, "version 2 artifacts are not supported (only version 3)");
    if (json_integer_value(ver) != 3)
        return error_set(r->err, 0, "version %lld artifacts are not supported (only version 3)",
                         (long long)json_integer_value(ver));
    r->info->format_version = 3;
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* One manifest line, "<64 hex>  <name of 1..100 characters without blanks>". */
static int manifest_line(struct rd *r, const char *p, size_t l, unsigned lineno, struct mline *m)
{
    if (l < 67 || p[64] != ' ' || p[65] != ' ')
        return error_set(r->err, 0, "manifest: line %u: malformed (expected \"<sha256>  <name>\")", lineno);
    for (int i = 0; i < 32; i++) {
        int hi = hexval(p[2 * i]), lo = hexval(p[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return error_set(r->err, 0, "manifest: line %u: malformed checksum", lineno);
        m->sha[i] = (unsigned char)(hi << 4 | lo);
    }
    const char *name = p + 66;
    size_t nlen = l - 66;
    if (nlen > MANIFEST_NAME_MAX)
        return error_set(r->err, 0, "manifest: line %u: name longer than %d characters", lineno, MANIFEST_NAME_MAX);
    for (size_t i = 0; i < nlen; i++)
        if (name[i] == ' ' || name[i] == '\t' || name[i] == '\r' || name[i] == '\n')
            return error_set(r->err, 0, "manifest: line %u: malformed name", lineno);
    m->name = xstrndup(name, nlen);
    return 0;
}

static int parse_manifest(struct rd *r)
{
    const char *p = r->manifest_raw, *end = r->manifest_raw + r->manifest_len;
    unsigned lineno = 0;
    bool have_header = false;
    if (memchr(p, '\0', r->manifest_len))
        return error_set(r->err, 0, "manifest: contains a NUL byte");
    while (p < end) {
        lineno++;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        struct mline m = { 0 };
        if (manifest_line(r, p, (size_t)(le - p), lineno, &m) < 0)
            return -1;
        _cleanup_free_ char *name = m.name;
        if (manifest_find(r, name))
            return error_set(r->err, 0, "manifest: duplicate entry for %s", name);
        if (has_tar_name(name, "header.tar", NULL))
            have_header = true;
        if (strncmp(name, "data/", 5) == 0)
            strv_push(&r->info->payload_files, name);
        r->ml = xrealloc(r->ml, (r->nml + 1) * sizeof(*r->ml));
        m.name = TAKE_PTR(name);
        r->ml[r->nml++] = m;
        p = nl ? nl + 1 : end;
    }
    struct mline *v = manifest_find(r, "version");
    if (!v)
        return error_set(r->err, 0, "manifest: no entry for version");
    if (!have_header)
        return error_set(r->err, 0, "manifest: no entry for the header");
    unsigned char h[32];
    artifact_sha256_buf(r->version_raw, r->version_len, h);
    if (memcmp(h, v->sha, 32) != 0)
        return error_set(r->err, 0, "version: checksum mismatch");
    v->seen = true;
    return 0;
}

static int check_signature_policy(struct rd *r)
{
    if (r->have_keys && !r->have_sig)
        return error_set(r->err, 0, "expecting signed artifact, but no signature file found");
    return 0;
}

static int read_signature(struct rd *r, struct archive_entry *e, const char *name)
{
    _cleanup_free_ char *sig = NULL;
    size_t siglen = 0;
    if (read_member(r, e, name, ARTIFACT_SIG_MAX, &sig, &siglen) < 0)
        return -1;
    r->have_sig = true;
    r->info->is_signed = true;
    if (!r->have_keys)
        return 0;
    return artifact_verify_signature(r->keys, sig, siglen, (const unsigned char *)r->manifest_raw, r->manifest_len,
                                     r->err);
}

/* ---- payload ------------------------------------------------------------------------ */

/* Keeps the data member's first bytes (its compression's magic), for messages. */
static void keep_head(struct rd *r, const void *block, size_t n)
{
    size_t room = sizeof(r->data_head) - r->data_head_len;
    size_t k = n < room ? n : room;
    if (k)
        memcpy(r->data_head + r->data_head_len, block, k);
    r->data_head_len += k;
}

/* The inner reader reads the outer data member's blocks where the outer reader holds
 * them (no copy); a block stays valid until the next call, as libarchive asks of a read
 * callback. The member is not sparse (refused in read_outer_member()), so the blocks
 * are contiguous. */
static la_ssize_t inner_read_cb(struct archive *a, void *ud, const void **buf)
{
    struct rd *r = ud;
    for (;;) {
        size_t n;
        la_int64_t off;
        int ar = archive_read_data_block(r->outer, buf, &n, &off);
        if (ar == ARCHIVE_EOF)
            return 0;
        if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN) {
            r->outer_failed = true;
            archive_set_error(a, EIO, "%s", aerr(r->outer));
            return -1;
        }
        if (off != r->data_off) {
            archive_set_error(a, EIO, "data member: a hole in the tar entry");
            return -1;
        }
        r->data_off += (la_int64_t)n;
        keep_head(r, *buf, n);
        if (n > 0)
            return (la_ssize_t)n;
    }
}

/* The reason the inner reader failed: the outer one's when it was the cause. */
static const char *inner_err(struct rd *r, struct archive *in) { return r->outer_failed ? aerr(r->outer) : aerr(in); }

/* The inner reader of the data member failed (at the payload file `where`, or NULL):
 * the outer reader's reason when it was the cause, else what decoding the member said. */
static int inner_fail(struct rd *r, struct archive *in, const char *where)
{
    const char *member = r->info->data_member;
    if (r->outer_failed)
        return error_set(r->err, 0, "%s: %s", where ? where : member, aerr(r->outer));
    _cleanup_free_ char *msg = artifact_codec_failure(r->data_codec, member, where, aerr(in), r->data_head,
                                                      r->data_head_len);
    return error_set(r->err, 0, "%s", msg);
}

static bool payload_name_ok(const char *s)
{
    if (!*s || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return false;
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
              c == ',' || c == '-'))
            return false;
    }
    return true;
}

/* A sink callback returned non-zero. */
static int consumer_fail(struct rd *r, const char *what)
{
    return error_set(r->err, 0, "%s: refused by the consumer", what);
}

/* The final file_end calls: ok only when the whole Artifact was verified. */
static int end_files(struct rd *r, bool ok)
{
    int rc = 0;
    for (size_t i = 0; i < r->begun.n; i++) {
        if (!r->sink || !r->sink->file_end)
            continue;
        if (r->sink->file_end(r->sink->ctx, r->begun.v[i], ok) != 0 && ok) {
            _cleanup_free_ char *full = xasprintf("data/0000/%s", r->begun.v[i]);
            rc = consumer_fail(r, full);
            ok = false; /* the rest is discarded */
        }
    }
    strv_free(&r->begun);
    return rc;
}

/* One payload file's bytes to the sink, through the hashing thread; 0 once its
 * SHA-256 matched the manifest line m. */
static int stream_payload_file(struct rd *r, struct archive *in, const char *full, struct mline *m)
{
    hashpipe_begin(r->hp);
    for (;;) {
        unsigned char *buf = hashpipe_slot(r->hp);
        la_ssize_t n = archive_read_data(in, buf, HASHPIPE_SLOT);
        if (n < 0)
            return inner_fail(r, in, full);
        if (n == 0)
            break;
        hashpipe_push(r->hp, (size_t)n);
        r->info->payload_bytes += (uint64_t)n;
        if (r->sink && r->sink->file_data && r->sink->file_data(r->sink->ctx, buf, (size_t)n) != 0)
            return consumer_fail(r, full);
    }
    unsigned char h[32];
    hashpipe_final(r->hp, h);
    if (memcmp(h, m->sha, 32) != 0)
        return error_set(r->err, 0, "%s: checksum mismatch", full);
    m->seen = true;
    return 0;
}

/* Checks one inner file's entry and streams it to the sink, hashing it. */
static int read_payload_file(struct rd *r, struct archive *in, struct archive_entry *e, const char *member)
{
    const char *name = archive_entry_pathname(e);
    if (!name)
        return error_set(r->err, 0, "%s: payload entry without a usable name", member);
    if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e) || archive_entry_symlink(e))
        return error_set(r->err, 0, "%s: %s: not a regular file", member, name);
    /* libarchive reads a sparse file's holes back as zeros: a few stored bytes could
     * expand to any size. mender-artifact never writes them. */
    if (archive_entry_sparse_count(e) > 0)
        return error_set(r->err, 0, "%s: %s: not a regular file (a sparse tar entry)", member, name);
    if (!payload_name_ok(name))
        return error_set(r->err, 0, "%s: invalid payload file name: %s", member, name);
    _cleanup_free_ char *full = xasprintf("data/0000/%s", name);
    struct mline *m = manifest_find(r, full);
    if (!m)
        return error_set(r->err, 0, "%s: not listed in manifest", full);
    if (m->seen)
        return error_set(r->err, 0, "%s: duplicate file in payload", full);
    int64_t size = archive_entry_size_is_set(e) ? (int64_t)archive_entry_size(e) : -1;
    if (r->sink && r->sink->file_begin && r->sink->file_begin(r->sink->ctx, name, size) != 0)
        return consumer_fail(r, full);
    strv_push(&r->begun, name);
    if (!r->hp)
        r->hp = hashpipe_new();
    if (stream_payload_file(r, in, full, m) < 0) {
        unsigned char discard[32];
        hashpipe_final(r->hp, discard); /* ends the digest of a file given up half-way */
        return -1;
    }
    return 0;
}

/* Reads what is left of the data member after the payload tar's end. Uncompressed, it
 * can only be tar padding. */
static int drain_payload(struct rd *r, struct archive *in, const struct artifact_codec *codec)
{
    for (;;) {
        const void *block;
        la_ssize_t n = inner_read_cb(in, r, &block);
        if (n < 0)
            return error_set(r->err, 0, "%s", inner_err(r, in));
        if (n == 0)
            return 0;
        if (artifact_codec_is_none(codec))
            for (la_ssize_t i = 0; i < n; i++)
                if (((const unsigned char *)block)[i] != 0)
                    return error_set(r->err, 0, "unexpected data after the end of the payload tar");
    }
}

static int read_payload(struct rd *r, struct archive_entry *oe, const char *member, const struct artifact_codec *codec)
{
    if (archive_entry_size_is_set(oe) && archive_entry_size(oe) == 0)
        return 0; /* a 0-byte data member: no files */
    _cleanup_archive_ struct archive *in = archive_read_new();
    if (!in)
        return error_set(r->err, 0, "%s: cannot allocate archive reader", member);
    artifact_codec_enable_all(in);
    archive_read_support_format_tar(in);
    archive_read_support_format_empty(in);
    r->data_codec = codec;
    if (archive_read_open(in, r, NULL, inner_read_cb, NULL) != ARCHIVE_OK)
        return inner_fail(r, in, NULL);
    for (bool first = true;; first = false) {
        struct archive_entry *e;
        int ar = archive_read_next_header(in, &e);
        if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN && ar != ARCHIVE_EOF)
            return inner_fail(r, in, NULL);
        const char *found;
        if (first && !artifact_codec_matches(in, codec, &found))
            return error_set(r->err, 0, "%s: compression does not match file name (found %s, expected %s)", member,
                             found, codec->name);
        if (ar == ARCHIVE_EOF)
            break;
        if (read_payload_file(r, in, e, member) < 0)
            return -1;
    }
    if (drain_payload(r, in, codec) < 0)
        return error_prefix(r->err, "%s", member);
    return 0;
}

/* ---- main loop ---------------------------------------------------------------------- */

/* The header member: listed in the manifest, its checksum, its contents. */
static int check_header(struct rd *r, struct archive_entry *e, const char *name, const struct artifact_codec *codec)
{
    _cleanup_free_ char *buf = NULL;
    size_t len = 0;
    if (artifact_read_entry(r->outer, e, ARTIFACT_HEADER_MAX, &buf, &len, r->err) < 0)
        return -1;
    struct mline *m = manifest_find(r, name);
    if (!m)
        return error_set(r->err, 0, "not listed in manifest");
    unsigned char h[32];
    artifact_sha256_buf(buf, len, h);
    if (memcmp(h, m->sha, 32) != 0)
        return error_set(r->err, 0, "checksum mismatch");
    m->seen = true;
    r->info->header_member = xstrdup(name);
    return artifact_parse_header(buf, len, codec, r->info, r->err);
}

static int do_header(struct rd *r, struct archive_entry *e, const char *name, const struct artifact_codec *codec)
{
    if (check_signature_policy(r) < 0)
        return -1;
    if (check_header(r, e, name, codec) < 0)
        return error_prefix(r->err, "%s", name);
    if (r->sink && r->sink->header && r->sink->header(r->sink->ctx, r->info) != 0)
        return consumer_fail(r, "artifact");
    return 0;
}

/* One outer member, in order and a regular file. */
static int read_outer_member(struct rd *r, struct archive_entry *e, const char *name, enum member m,
                             const struct artifact_codec *codec)
{
    struct artifact_info *info = r->info;
    switch (m) {
    case M_VERSION:
        if (read_member(r, e, name, ARTIFACT_VERSION_MAX, &r->version_raw, &r->version_len) < 0)
            return -1;
        return parse_version(r);
    case M_MANIFEST:
        if (read_member(r, e, name, ARTIFACT_MANIFEST_MAX, &r->manifest_raw, &r->manifest_len) < 0)
            return -1;
        artifact_sha256_buf(r->manifest_raw, r->manifest_len, info->manifest_sha256);
        return parse_manifest(r);
    case M_SIG: return read_signature(r, e, name);
    case M_HEADER: return do_header(r, e, name, codec);
    case M_DATA0:
        if (archive_entry_sparse_count(e) > 0)
            return error_set(r->err, 0, "%s: not a regular file (a sparse tar entry)", name);
        info->data_member = xstrdup(name);
        return read_payload(r, e, name, codec);
    default: return 0;
    }
}

/* After the last member: nothing the manifest lists may be missing. */
static int check_end(struct rd *r, enum member last)
{
    if (last == M_NONE)
        return error_set(r->err, 0, "not a valid artifact: empty archive");
    if (last == M_VERSION)
        return error_set(r->err, 0, "manifest missing from artifact");
    if (last == M_MANIFEST || last == M_SIG) {
        if (check_signature_policy(r) < 0)
            return -1;
        return error_set(r->err, 0, "header missing from artifact");
    }
    for (size_t i = 0; i < r->nml; i++)
        if (strncmp(r->ml[i].name, "data/", 5) == 0 && !r->ml[i].seen)
            return error_set(r->err, 0, "%s: listed in manifest but missing from the payload", r->ml[i].name);
    return 0;
}

static int run(struct rd *r)
{
    r->outer = archive_read_new();
    if (!r->outer)
        return error_set(r->err, 0, "cannot allocate archive reader");
    archive_read_support_format_tar(r->outer); /* and no filters: the outer tar is never compressed */
    if (archive_read_open(r->outer, r, NULL, outer_read_cb, NULL) != ARCHIVE_OK)
        return error_set(r->err, 0, "not a valid artifact (tar): %s", aerr(r->outer));

    enum member last = M_NONE;
    for (;;) {
        struct archive_entry *e;
        int ar = archive_read_next_header(r->outer, &e);
        if (ar == ARCHIVE_EOF)
            break;
        if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN) {
            if (last == M_NONE)
                return error_set(r->err, 0, "not a valid artifact (tar): %s", aerr(r->outer));
            return error_set(r->err, 0, "corrupt or truncated artifact: %s", aerr(r->outer));
        }
        const char *name = archive_entry_pathname(e);
        if (!name)
            return error_set(r->err, 0, "unexpected file in artifact: member without a usable name");
        const struct artifact_codec *codec = NULL;
        enum member m = classify(name, &codec);
        if (check_order(m, last, name, r->err) < 0)
            return -1;
        if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e) || archive_entry_symlink(e))
            return error_set(r->err, 0, "%s: not a regular file", name);
        if (read_outer_member(r, e, name, m, codec) < 0)
            return -1;
        if (m == M_HEADER && r->header_only)
            return 0;
        last = m;
    }
    return check_end(r, last);
}

static int read_source(const struct artifact_source *src, const struct artifact_keys *keys,
                       const struct artifact_sink *sink, struct artifact_info *info, struct error **err,
                       bool header_only)
{
    memset(info, 0, sizeof(*info));
    _cleanup_error_ struct error *e = NULL;
    _cleanup_(rd_done) struct rd r = {
        .src = src,
        .keys = keys,
        .have_keys = artifact_keys_count(keys) > 0,
        .sink = sink,
        .info = info,
        .err = &e,
        .header_only = header_only,
        .srcbuf = xmalloc(ARTIFACT_IO_BUF),
    };
    int rc = run(&r);
    if (rc == 0 && !header_only && src->finish && src->finish(src->ctx, &e) != 0) {
        if (!e)
            error_set(&e, 0, "the source failed at its end");
        rc = -1;
    }
    /* Every begun file gets its file_end: ok only if everything passed. */
    if (end_files(&r, rc == 0) != 0)
        rc = -1;
    if (rc == 0)
        return 0;
    if (!e)
        error_set(&e, 0, "invalid artifact");
    artifact_info_free(info);
    artifact_error_one_line(&e);
    return error_propagate(err, TAKE_PTR(e));
}

int artifact_read(const struct artifact_source *src, const struct artifact_keys *keys, const struct artifact_sink *sink,
                  struct artifact_info *info, struct error **err)
{
    assert(src && src->read && info);
    return read_source(src, keys, sink, info, err, false);
}

int artifact_read_header(const struct artifact_source *src, const struct artifact_keys *keys,
                         struct artifact_info *info, struct error **err)
{
    assert(src && src->read && info);
    return read_source(src, keys, NULL, info, err, true);
}

/* ---- files -------------------------------------------------------------------------- */

static ssize_t fd_read(void *ctx, void *buf, size_t len)
{
    int fd = *(int *)ctx;
    for (;;) {
        ssize_t n = read(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        return n;
    }
}

static int read_path(const char *path, const struct artifact_keys *keys, const struct artifact_sink *sink,
                     struct artifact_info *info, struct error **err, bool header_only)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        memset(info, 0, sizeof(*info));
        return error_set_errno(err, errno, "cannot open artifact");
    }
#ifdef POSIX_FADV_SEQUENTIAL
    if (!header_only)
        (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
    struct artifact_source src = { .ctx = &fd, .read = fd_read };
    return read_source(&src, keys, sink, info, err, header_only);
}

int artifact_read_file(const char *path, const struct artifact_keys *keys, const struct artifact_sink *sink,
                       struct artifact_info *info, struct error **err)
{
    assert(path && info);
    return read_path(path, keys, sink, info, err, false);
}

int artifact_read_header_file(const char *path, const struct artifact_keys *keys, struct artifact_info *info,
                              struct error **err)
{
    assert(path && info);
    return read_path(path, keys, NULL, info, err, true);
}

static void dependlist_free(struct dependlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->items[i].key);
        strv_free(&l->items[i].values);
    }
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

void artifact_info_free(struct artifact_info *info)
{
    if (!info)
        return;
    free(info->artifact_name);
    free(info->artifact_group);
    free(info->payload_type);
    strv_free(&info->compatible_types);
    strv_free(&info->depends_artifact_name);
    strv_free(&info->depends_artifact_group);
    kvl_free(&info->type_provides);
    dependlist_free(&info->type_depends);
    strv_free(&info->clears);
    free(info->header_info);
    free(info->type_info);
    free(info->meta_data);
    free(info->header_member);
    free(info->data_member);
    strv_free(&info->payload_files);
    memset(info, 0, sizeof(*info));
}

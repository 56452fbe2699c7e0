/* Streaming, verifying reader of .mender v3 Artifacts (artifact-format.md §1-§9).
 *
 * The outer tar is read once, in order. Small members (version, manifest,
 * manifest.sig, header) are read into capped buffers; the payload tar is read by a
 * second libarchive handle that pulls from the outer entry, so payload bytes pass
 * through fixed 64 KiB buffers only and are hashed on the way to the sink. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "artifact/artifact.h"
#include "artifact/artifact_int.h"
#include "artifact/hashpipe.h"
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
    char *err;
    size_t errlen;
    struct archive *outer;
    unsigned char *srcbuf;  /* source -> outer reader */
    la_int64_t data_off;    /* bytes of the outer data entry given to the inner reader */
    struct hashpipe *hp;    /* inner reader -> sink, hashed on a second thread; made at the first payload file */
    struct mline *ml;
    size_t nml;
    char *version_raw;
    size_t version_len;
    char *manifest_raw;
    size_t manifest_len;
    bool outer_failed; /* the inner reader's callback saw an outer read error */
    bool header_only;  /* stop once the header is verified and parsed */
    struct strv begun; /* payload files given to file_begin, awaiting file_end */
};

static int fail(struct rd *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct rd *r, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    artifact_seterr(r->err, r->errlen, "%s", msg);
    return -1;
}

static const char *aerr(struct archive *a)
{
    const char *s = archive_error_string(a);
    return s ? s : "read error";
}

static void sha256(const void *buf, size_t len, unsigned char out[32]) { artifact_sha256_buf(buf, len, out); }

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

/* Reads the current outer member into a NUL-terminated buffer of at most cap bytes. */
static int read_member(struct rd *r, struct archive_entry *e, const char *name, size_t cap, char **out,
                       size_t *outlen)
{
    if (archive_entry_size_is_set(e) && archive_entry_size(e) > (la_int64_t)cap)
        return fail(r, "%s: too large (%lld bytes, limit %zu)", name, (long long)archive_entry_size(e), cap);
    size_t alloc = archive_entry_size_is_set(e) ? (size_t)archive_entry_size(e) + 1 : 4096;
    char *buf = xmalloc(alloc);
    size_t len = 0;
    for (;;) {
        if (len + 1 >= alloc) {
            if (len > cap)
                break;
            alloc = alloc * 2 > cap + 2 ? cap + 2 : alloc * 2;
            buf = xrealloc(buf, alloc);
        }
        la_ssize_t n = archive_read_data(r->outer, buf + len, alloc - 1 - len);
        if (n < 0) {
            free(buf);
            return fail(r, "%s: %s", name, aerr(r->outer));
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    if (len > cap) {
        free(buf);
        return fail(r, "%s: too large (limit %zu bytes)", name, cap);
    }
    buf[len] = '\0';
    *out = buf;
    *outlen = len;
    return 0;
}

/* ---- member names ------------------------------------------------------------------- */

/* "<base><ext>" with ext "", ".gz", ".xz" or ".zst". */
static bool has_tar_name(const char *name, const char *base, enum artifact_codec *codec)
{
    size_t l = strlen(base);
    if (strncmp(name, base, l) != 0)
        return false;
    enum artifact_codec c;
    if (artifact_codec_from_suffix(name + l, &c) < 0)
        return false;
    if (codec)
        *codec = c;
    return true;
}

static enum member classify(const char *name, enum artifact_codec *codec)
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
        enum artifact_codec c;
        if (digits && artifact_codec_from_suffix(name + 13, &c) == 0)
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

/* ---- version, manifest, signature --------------------------------------------------- */

static int parse_version(struct rd *r)
{
    json_error_t je;
    json_t *root = json_loadb(r->version_raw, r->version_len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return fail(r, "version: invalid JSON: %s", je.text);
    int rc = -1;
    json_t *fmt = json_object_get(root, "format");
    json_t *ver = json_object_get(root, "version");
    if (!json_is_object(root) || !json_is_string(fmt) || strcmp(json_string_value(fmt), "mender") != 0) {
        fail(r, "version: not a mender artifact (format is not \"mender\")");
    } else if (!json_is_integer(ver)) {
        fail(r, "version: missing or non-integer version");
    } else if (json_integer_value(ver) == 2) {
        fail(r, "version 2 artifacts are not supported (only version 3)");
    } else if (json_integer_value(ver) != 3) {
        fail(r, "version %lld artifacts are not supported (only version 3)", (long long)json_integer_value(ver));
    } else {
        r->info->format_version = 3;
        rc = 0;
    }
    json_decref(root);
    return rc;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static int parse_manifest(struct rd *r)
{
    const char *p = r->manifest_raw, *end = r->manifest_raw + r->manifest_len;
    unsigned lineno = 0;
    bool have_header = false;
    if (memchr(p, '\0', r->manifest_len))
        return fail(r, "manifest: contains a NUL byte");
    while (p < end) {
        lineno++;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        size_t l = (size_t)(le - p);
        /* 64 hex, two spaces, a name of 1..100 characters without blanks */
        if (l < 67 || p[64] != ' ' || p[65] != ' ')
            return fail(r, "manifest: line %u: malformed (expected \"<sha256>  <name>\")", lineno);
        struct mline m = { 0 };
        for (int i = 0; i < 32; i++) {
            int hi = hexval(p[2 * i]), lo = hexval(p[2 * i + 1]);
            if (hi < 0 || lo < 0)
                return fail(r, "manifest: line %u: malformed checksum", lineno);
            m.sha[i] = (unsigned char)(hi << 4 | lo);
        }
        const char *name = p + 66;
        size_t nlen = (size_t)(le - name);
        if (nlen > MANIFEST_NAME_MAX)
            return fail(r, "manifest: line %u: name longer than %d characters", lineno, MANIFEST_NAME_MAX);
        for (size_t i = 0; i < nlen; i++)
            if (name[i] == ' ' || name[i] == '\t' || name[i] == '\r' || name[i] == '\n')
                return fail(r, "manifest: line %u: malformed name", lineno);
        m.name = xstrndup(name, nlen);
        if (manifest_find(r, m.name)) {
            int rc = fail(r, "manifest: duplicate entry for %s", m.name);
            free(m.name);
            return rc;
        }
        r->ml = xrealloc(r->ml, (r->nml + 1) * sizeof(*r->ml));
        r->ml[r->nml++] = m;
        if (has_tar_name(m.name, "header.tar", NULL))
            have_header = true;
        if (strncmp(m.name, "data/", 5) == 0)
            strv_push(&r->info->payload_files, m.name);
        p = nl ? nl + 1 : end;
    }
    struct mline *v = manifest_find(r, "version");
    if (!v)
        return fail(r, "manifest: no entry for version");
    if (!have_header)
        return fail(r, "manifest: no entry for the header");
    unsigned char h[32];
    sha256(r->version_raw, r->version_len, h);
    if (memcmp(h, v->sha, 32) != 0)
        return fail(r, "version: checksum mismatch");
    v->seen = true;
    return 0;
}

/* ---- payload ------------------------------------------------------------------------ */

/* The inner reader reads the outer data member's blocks where the outer reader holds
 * them (no copy); a block stays valid until the next call, as libarchive asks of a read
 * callback. The member is not sparse (refused in run()), so the blocks are contiguous. */
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
        if (n > 0)
            return (la_ssize_t)n;
    }
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

/* A sink callback returned non-zero: keep a reason the consumer wrote into err. */
static int consumer_fail(struct rd *r, const char *what)
{
    if (r->err && r->errlen && r->err[0])
        return -1;
    return fail(r, "%s: refused by the consumer", what);
}

/* The final file_end calls: ok only when the whole Artifact was verified. */
static int end_files(struct rd *r, bool ok)
{
    int rc = 0;
    for (size_t i = 0; i < r->begun.n; i++) {
        if (!r->sink || !r->sink->file_end)
            continue;
        if (r->sink->file_end(r->sink->ctx, r->begun.v[i], ok) != 0 && ok) {
            char *full = xasprintf("data/0000/%s", r->begun.v[i]);
            rc = consumer_fail(r, full);
            free(full);
            ok = false; /* the rest is discarded */
        }
    }
    strv_free(&r->begun);
    return rc;
}

/* Streams one inner file to the sink, hashing it. */
static int read_payload_file(struct rd *r, struct archive *in, struct archive_entry *e, const char *member)
{
    const char *name = archive_entry_pathname(e);
    if (!name)
        return fail(r, "%s: payload entry without a usable name", member);
    if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e) || archive_entry_symlink(e))
        return fail(r, "%s: %s: not a regular file", member, name);
    /* libarchive reads a sparse file's holes back as zeros: a few stored bytes could
     * expand to any size. mender-artifact never writes them. */
    if (archive_entry_sparse_count(e) > 0)
        return fail(r, "%s: %s: not a regular file (a sparse tar entry)", member, name);
    if (!payload_name_ok(name))
        return fail(r, "%s: invalid payload file name: %s", member, name);
    char *full = xasprintf("data/0000/%s", name);
    struct mline *m = manifest_find(r, full);
    int rc = -1;
    if (!m) {
        fail(r, "%s: not listed in manifest", full);
        goto out;
    }
    if (m->seen) {
        fail(r, "%s: duplicate file in payload", full);
        goto out;
    }
    int64_t size = archive_entry_size_is_set(e) ? (int64_t)archive_entry_size(e) : -1;
    if (r->sink && r->sink->file_begin && r->sink->file_begin(r->sink->ctx, name, size) != 0) {
        consumer_fail(r, full);
        goto out;
    }
    strv_push(&r->begun, name);
    if (!r->hp)
        r->hp = hashpipe_new();
    hashpipe_begin(r->hp);
    for (;;) {
        unsigned char *buf = hashpipe_slot(r->hp);
        la_ssize_t n = archive_read_data(in, buf, HASHPIPE_SLOT);
        if (n < 0) {
            fail(r, "%s: %s", full, r->outer_failed ? aerr(r->outer) : aerr(in));
            goto out;
        }
        if (n == 0)
            break;
        hashpipe_push(r->hp, (size_t)n);
        r->info->payload_bytes += (uint64_t)n;
        if (r->sink && r->sink->file_data && r->sink->file_data(r->sink->ctx, buf, (size_t)n) != 0) {
            consumer_fail(r, full);
            goto out;
        }
    }
    unsigned char h[32];
    hashpipe_final(r->hp, h);
    if (memcmp(h, m->sha, 32) != 0) {
        fail(r, "%s: checksum mismatch", full);
        goto out;
    }
    m->seen = true;
    rc = 0;
out:
    if (rc != 0 && r->hp) {
        unsigned char discard[32];
        hashpipe_final(r->hp, discard); /* ends the digest of a file given up half-way */
    }
    free(full);
    return rc;
}

static int read_payload(struct rd *r, struct archive_entry *oe, const char *member, enum artifact_codec codec)
{
    if (archive_entry_size_is_set(oe) && archive_entry_size(oe) == 0)
        return 0; /* a 0-byte data member: no files */
    struct archive *in = archive_read_new();
    if (!in)
        return fail(r, "%s: cannot allocate archive reader", member);
    artifact_enable_filters(in);
    archive_read_support_format_tar(in);
    archive_read_support_format_empty(in);
    int rc = -1;
    if (archive_read_open(in, r, NULL, inner_read_cb, NULL) != ARCHIVE_OK) {
        fail(r, "%s: %s", member, r->outer_failed ? aerr(r->outer) : aerr(in));
        goto out;
    }
    for (bool first = true;; first = false) {
        struct archive_entry *e;
        int ar = archive_read_next_header(in, &e);
        if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN && ar != ARCHIVE_EOF) {
            fail(r, "%s: %s", member, r->outer_failed ? aerr(r->outer) : aerr(in));
            goto out;
        }
        if (first) {
            const char *found;
            if (!artifact_codec_matches(in, codec, &found)) {
                fail(r, "%s: compression does not match file name (found %s, expected %s)", member, found,
                     artifact_codec_name(codec));
                goto out;
            }
        }
        if (ar == ARCHIVE_EOF)
            break;
        if (read_payload_file(r, in, e, member) < 0)
            goto out;
    }
    /* Drain the rest of the member. Uncompressed, it can only be tar padding. */
    for (;;) {
        const void *block;
        la_ssize_t n = inner_read_cb(in, r, &block);
        if (n < 0) {
            fail(r, "%s: %s", member, r->outer_failed ? aerr(r->outer) : aerr(in));
            goto out;
        }
        if (n == 0)
            break;
        if (codec == ARTIFACT_CODEC_NONE)
            for (la_ssize_t i = 0; i < n; i++)
                if (((const unsigned char *)block)[i] != 0) {
                    fail(r, "%s: unexpected data after the end of the payload tar", member);
                    goto out;
                }
    }
    rc = 0;
out:
    archive_read_free(in);
    return rc;
}

/* ---- main loop ---------------------------------------------------------------------- */

static int check_signature_policy(struct rd *r, bool have_sig)
{
    if (r->have_keys && !have_sig)
        return fail(r, "expecting signed artifact, but no signature file found");
    return 0;
}

static int do_header(struct rd *r, struct archive_entry *e, const char *name, enum artifact_codec codec)
{
    char *buf = NULL;
    size_t len = 0;
    if (read_member(r, e, name, ARTIFACT_HEADER_MAX, &buf, &len) < 0)
        return -1;
    int rc = -1;
    struct mline *m = manifest_find(r, name);
    if (!m) {
        fail(r, "%s: not listed in manifest", name);
        goto out;
    }
    unsigned char h[32];
    sha256(buf, len, h);
    if (memcmp(h, m->sha, 32) != 0) {
        fail(r, "%s: checksum mismatch", name);
        goto out;
    }
    m->seen = true;
    r->info->header_member = xstrdup(name);
    if (artifact_parse_header(buf, len, name, codec, r->info, r->err, r->errlen) < 0)
        goto out;
    if (r->sink && r->sink->header && r->sink->header(r->sink->ctx, r->info) != 0) {
        consumer_fail(r, "artifact");
        goto out;
    }
    rc = 0;
out:
    free(buf);
    return rc;
}

static int run(struct rd *r)
{
    enum member last = M_NONE;
    bool have_sig = false;
    struct artifact_info *info = r->info;

    for (;;) {
        struct archive_entry *e;
        int ar = archive_read_next_header(r->outer, &e);
        if (ar == ARCHIVE_EOF)
            break;
        if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN && ar != ARCHIVE_EOF) {
            if (last == M_NONE)
                return fail(r, "not a valid artifact (tar): %s", aerr(r->outer));
            return fail(r, "corrupt or truncated artifact: %s", aerr(r->outer));
        }
        const char *name = archive_entry_pathname(e);
        if (!name)
            return fail(r, "unexpected file in artifact: member without a usable name");
        enum artifact_codec codec = ARTIFACT_CODEC_NONE;
        enum member m = classify(name, &codec);
        switch (m) {
        case M_UNKNOWN: return fail(r, "unexpected file in artifact: %s", name);
        case M_MANIFEST_AUGMENT:
        case M_HEADER_AUGMENT: return fail(r, "augmented artifacts are not supported (%s)", name);
        case M_DATA_OTHER: return fail(r, "artifacts with more than one payload are not supported (%s)", name);
        default: break;
        }
        bool in_order;
        switch (m) {
        case M_VERSION: in_order = last == M_NONE; break;
        case M_MANIFEST: in_order = last == M_VERSION; break;
        case M_SIG: in_order = last == M_MANIFEST; break;
        case M_HEADER: in_order = last == M_MANIFEST || last == M_SIG; break;
        case M_DATA0: in_order = last == M_HEADER; break;
        default: in_order = false; break;
        }
        if (!in_order) {
            if (m == M_DATA0 && last == M_DATA0)
                return fail(r, "unexpected file in artifact: %s (duplicate)", name);
            return fail(r, "unexpected file in artifact: %s (expected %s)", name, expected_after(last));
        }
        if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e) || archive_entry_symlink(e))
            return fail(r, "%s: not a regular file", name);

        switch (m) {
        case M_VERSION:
            if (read_member(r, e, name, ARTIFACT_VERSION_MAX, &r->version_raw, &r->version_len) < 0 ||
                parse_version(r) < 0)
                return -1;
            break;
        case M_MANIFEST:
            if (read_member(r, e, name, ARTIFACT_MANIFEST_MAX, &r->manifest_raw, &r->manifest_len) < 0)
                return -1;
            sha256(r->manifest_raw, r->manifest_len, info->manifest_sha256);
            if (parse_manifest(r) < 0)
                return -1;
            break;
        case M_SIG: {
            char *sig = NULL;
            size_t siglen = 0;
            if (read_member(r, e, name, ARTIFACT_SIG_MAX, &sig, &siglen) < 0)
                return -1;
            have_sig = true;
            info->is_signed = true;
            int vr = 0;
            if (r->have_keys)
                vr = artifact_verify_signature(r->keys, sig, siglen, (const unsigned char *)r->manifest_raw,
                                               r->manifest_len, r->err, r->errlen);
            free(sig);
            if (vr != 0)
                return -1;
            break;
        }
        case M_HEADER:
            if (check_signature_policy(r, have_sig) < 0 || do_header(r, e, name, codec) < 0)
                return -1;
            if (r->header_only)
                return 0;
            break;
        case M_DATA0:
            if (archive_entry_sparse_count(e) > 0)
                return fail(r, "%s: not a regular file (a sparse tar entry)", name);
            info->data_member = xstrdup(name);
            if (read_payload(r, e, name, codec) < 0)
                return -1;
            break;
        default: break;
        }
        last = m;
    }

    if (last == M_NONE)
        return fail(r, "not a valid artifact: empty archive");
    if (last == M_VERSION)
        return fail(r, "manifest missing from artifact");
    if (last == M_MANIFEST || last == M_SIG) {
        if (check_signature_policy(r, have_sig) < 0)
            return -1;
        return fail(r, "header missing from artifact");
    }
    for (size_t i = 0; i < r->nml; i++)
        if (strncmp(r->ml[i].name, "data/", 5) == 0 && !r->ml[i].seen)
            return fail(r, "%s: listed in manifest but missing from the payload", r->ml[i].name);
    return 0;
}

static int read_source(const struct artifact_source *src, const struct artifact_keys *keys,
                       const struct artifact_sink *sink, struct artifact_info *info, char *err, size_t errlen,
                       bool header_only)
{
    memset(info, 0, sizeof(*info));
    if (err && errlen)
        err[0] = '\0';
    struct rd r = {
        .src = src,
        .keys = keys,
        .have_keys = artifact_keys_count(keys) > 0,
        .sink = sink,
        .info = info,
        .err = err,
        .errlen = errlen,
        .header_only = header_only,
    };
    r.srcbuf = xmalloc(ARTIFACT_IO_BUF);
    int rc = -1;
    r.outer = archive_read_new();
    if (!r.outer) {
        fail(&r, "cannot allocate archive reader");
        goto out;
    }
    archive_read_support_format_tar(r.outer); /* and no filters: the outer tar is never compressed */
    if (archive_read_open(r.outer, &r, NULL, outer_read_cb, NULL) != ARCHIVE_OK) {
        fail(&r, "not a valid artifact (tar): %s", aerr(r.outer));
        goto out;
    }
    rc = run(&r);
    if (rc == 0 && !header_only && src->finish && src->finish(src->ctx, err, errlen) != 0) {
        if (err && errlen && !err[0])
            artifact_seterr(err, errlen, "the source failed at its end");
        rc = -1;
    }
out:
    /* Every begun file gets its file_end: ok only if everything passed. */
    if (end_files(&r, rc == 0) != 0)
        rc = -1;
    if (r.outer)
        archive_read_free(r.outer);
    for (size_t i = 0; i < r.nml; i++)
        free(r.ml[i].name);
    free(r.ml);
    free(r.version_raw);
    free(r.manifest_raw);
    free(r.srcbuf);
    hashpipe_free(r.hp);
    if (rc != 0) {
        if (err && errlen && !err[0])
            artifact_seterr(err, errlen, "invalid artifact");
        artifact_info_free(info);
    }
    return rc;
}

int artifact_read(const struct artifact_source *src, const struct artifact_keys *keys,
                  const struct artifact_sink *sink, struct artifact_info *info, char *err, size_t errlen)
{
    return read_source(src, keys, sink, info, err, errlen, false);
}

int artifact_read_header(const struct artifact_source *src, const struct artifact_keys *keys,
                         struct artifact_info *info, char *err, size_t errlen)
{
    return read_source(src, keys, NULL, info, err, errlen, true);
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
                     struct artifact_info *info, char *err, size_t errlen, bool header_only)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        memset(info, 0, sizeof(*info));
        artifact_seterr(err, errlen, "cannot open artifact: %s", strerror(errno));
        return -1;
    }
#ifdef POSIX_FADV_SEQUENTIAL
    if (!header_only)
        (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
    struct artifact_source src = { .ctx = &fd, .read = fd_read };
    int rc = read_source(&src, keys, sink, info, err, errlen, header_only);
    close(fd);
    return rc;
}

int artifact_read_file(const char *path, const struct artifact_keys *keys, const struct artifact_sink *sink,
                       struct artifact_info *info, char *err, size_t errlen)
{
    return read_path(path, keys, sink, info, err, errlen, false);
}

int artifact_read_header_file(const char *path, const struct artifact_keys *keys, struct artifact_info *info,
                              char *err, size_t errlen)
{
    return read_path(path, keys, NULL, info, err, errlen, true);
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

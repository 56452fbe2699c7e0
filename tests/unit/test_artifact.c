/* The .mender reader against real Artifacts made by mender-artifact 3.9 and by hand
 * (tests/fixtures/make-artifacts.sh, run once into a temporary directory), and against
 * small synthetic Artifacts built here with libarchive for the header/manifest rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "testutil.h"

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#include "artifact/artifact.h"
#include "artifact/artifact_int.h"
#include "artifact/hashpipe.h"
#include "artifact/sha256.h"
#include "util/fs.h"
#include "util/mem.h"
#include "util/strv.h"

static char dir[] = "/tmp/mo-test-artifact-XXXXXX";
static char *payload, *notes, *rootfs;
static size_t payload_len, notes_len, rootfs_len;
static struct artifact_keys *k_rsa, *k_rsa2, *k_ec, *k_ec2, *k_many;

/* ---- helpers ---------------------------------------------------------------------- */

static char *fx(const char *name) { return xasprintf("%s/%s", dir, name); }

static char *slurp(const char *name, size_t *len)
{
    char *p = fx(name), *buf = NULL;
    if (fs_read_file(p, 64u << 20, &buf, len) != 0)
        buf = NULL;
    free(p);
    return buf;
}

static struct artifact_keys *keys_of(const char *a, const char *b, const char *c)
{
    struct strv paths = { 0 };
    const char *n[] = { a, b, c };
    for (int i = 0; i < 3; i++)
        if (n[i])
            strv_push_owned(&paths, fx(n[i]));
    _cleanup_error_ struct error *err = NULL;
    struct artifact_keys *k = artifact_keys_load(&paths, &err);
    if (!k)
        fprintf(stderr, "keys: %s\n", error_message(err));
    strv_free(&paths);
    return k;
}

static char *sha_hex(const void *buf, size_t len)
{
    unsigned char h[32];
    unsigned int n = 32;
    EVP_Digest(buf, len, h, &n, EVP_sha256(), NULL);
    char *s = xmalloc(65);
    for (int i = 0; i < 32; i++)
        sprintf(s + 2 * i, "%02x", h[i]);
    return s;
}

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(dir))
        return -1;
    const char *root = getenv("MO_SOURCE_ROOT");
    if (!root)
        root = ".";
    if (test_sh("bash '%s/tests/fixtures/make-artifacts.sh' '%s'", root, dir) != 0) {
        fprintf(stderr, "make-artifacts.sh failed\n");
        return -1;
    }
    payload = slurp("payload.bin", &payload_len);
    notes = slurp("notes.txt", &notes_len);
    rootfs = slurp("rootfs.ext4", &rootfs_len);
    k_rsa = keys_of("rsa.pub", NULL, NULL);
    k_rsa2 = keys_of("rsa2.pub", NULL, NULL);
    k_ec = keys_of("ec.pub", NULL, NULL);
    k_ec2 = keys_of("ec2.pub", NULL, NULL);
    k_many = keys_of("rsa2.pub", "ec2.pub", "ec.pub");
    if (!payload || !notes || !rootfs || !k_rsa || !k_rsa2 || !k_ec || !k_ec2 || !k_many)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(payload);
    free(notes);
    free(rootfs);
    artifact_keys_free(k_rsa);
    artifact_keys_free(k_rsa2);
    artifact_keys_free(k_ec);
    artifact_keys_free(k_ec2);
    artifact_keys_free(k_many);
    test_sh("rm -rf '%s'", dir);
    return 0;
}

/* ---- a recording sink --------------------------------------------------------------- */

struct rfile {
    char *name;
    char *data;
    size_t len, cap;
    int64_t size;
    int ends;
    bool ok;
};

struct rec {
    int header_calls, begin_calls, data_calls, end_ok, end_bad;
    int violations; /* calls out of the documented order */
    bool refuse_header, refuse_data;
    char *header_name; /* artifact_name seen by the header callback */
    struct rfile f[16];
    size_t n;
};

static int on_header(void *ctx, const struct artifact_info *info)
{
    struct rec *r = ctx;
    r->header_calls++;
    if (r->begin_calls || r->header_calls > 1)
        r->violations++;
    free(r->header_name);
    r->header_name = info->artifact_name ? xstrdup(info->artifact_name) : NULL;
    return r->refuse_header ? -1 : 0;
}

static int on_begin(void *ctx, const char *name, int64_t size)
{
    struct rec *r = ctx;
    r->begin_calls++;
    if (r->header_calls != 1 || r->end_ok || r->end_bad || r->n >= 16) {
        r->violations++;
        return -1;
    }
    struct rfile *f = &r->f[r->n++];
    memset(f, 0, sizeof(*f));
    f->name = xstrdup(name);
    f->size = size;
    return 0;
}

static int on_data(void *ctx, const void *buf, size_t len)
{
    struct rec *r = ctx;
    r->data_calls++;
    if (r->n == 0 || r->end_ok || r->end_bad) {
        r->violations++;
        return -1;
    }
    if (r->refuse_data)
        return -1;
    struct rfile *f = &r->f[r->n - 1];
    if (f->len + len > f->cap) {
        f->cap = (f->len + len) * 2;
        f->data = xrealloc(f->data, f->cap);
    }
    memcpy(f->data + f->len, buf, len);
    f->len += len;
    return 0;
}

static int on_end(void *ctx, const char *name, bool ok)
{
    struct rec *r = ctx;
    ok ? r->end_ok++ : r->end_bad++;
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->f[i].name, name) == 0 && r->f[i].ends == 0) {
            r->f[i].ends++;
            r->f[i].ok = ok;
            return 0;
        }
    r->violations++;
    return 0;
}

static void rec_free(struct rec *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->f[i].name);
        free(r->f[i].data);
    }
    free(r->header_name);
    memset(r, 0, sizeof(*r));
}

/* Every begun file got exactly one file_end, and the calls came in order. */
static void rec_check(const struct rec *r)
{
    assert_int_equal(r->violations, 0);
    for (size_t i = 0; i < r->n; i++)
        assert_int_equal(r->f[i].ends, 1);
    assert_int_equal((size_t)(r->end_ok + r->end_bad), r->n);
}

static int read_path(const char *path, const struct artifact_keys *keys, struct rec *rec, struct artifact_info *info,
                     struct error **err)
{
    struct artifact_sink sink = {
        .ctx = rec,
        .header = on_header,
        .file_begin = on_begin,
        .file_data = on_data,
        .file_end = on_end,
    };
    int rc = artifact_read_file(path, keys, &sink, info, err);
    rec_check(rec);
    if (rc == 0) {
        assert_int_equal(rec->end_bad, 0);
        assert_null(*err);
    } else {
        /* Nothing became final, err is one line, info is left empty. */
        assert_int_equal(rec->end_ok, 0);
        assert_non_null(*err);
        const char *m = error_message(*err);
        assert_true(m[0] != '\0');
        for (const char *c = m; *c; c++)
            assert_false((unsigned char)*c < 0x20 || *c == 0x7f);
        assert_false(m[0] >= 'A' && m[0] <= 'Z');
        assert_null(info->artifact_name);
        assert_null(info->header_info);
        assert_int_equal(info->payload_files.n, 0);
    }
    return rc;
}

static int read_fx(const char *name, const struct artifact_keys *keys, struct rec *rec, struct artifact_info *info,
                   struct error **err)
{
    char *p = fx(name);
    int rc = read_path(p, keys, rec, info, err);
    free(p);
    return rc;
}

/* How far a failing read may have got. */
enum stage {
    BEFORE_HEADER,  /* the header callback was never called */
    BEFORE_PAYLOAD, /* header accepted, no file_begin */
    IN_PAYLOAD,     /* some file_begin, all ended with ok=false */
};

static void expect_bad_path(const char *path, const struct artifact_keys *keys, const char *want, enum stage st)
{
    struct rec rec = { 0 };
    struct artifact_info info;
    _cleanup_error_ struct error *err = NULL;
    int rc = read_path(path, keys, &rec, &info, &err);
    if (rc != -1)
        fail_msg("%s: accepted, expected \"%s\"", path, want);
    if (!strstr(error_message(err), want))
        fail_msg("%s: error \"%s\", expected \"%s\"", path, error_message(err), want);
    switch (st) {
    case BEFORE_HEADER:
        assert_int_equal(rec.header_calls, 0);
        assert_int_equal(rec.begin_calls, 0);
        break;
    case BEFORE_PAYLOAD:
        assert_int_equal(rec.header_calls, 1);
        assert_int_equal(rec.begin_calls, 0);
        break;
    case IN_PAYLOAD:
        assert_int_equal(rec.header_calls, 1);
        assert_true(rec.begin_calls > 0);
        assert_int_equal(rec.end_bad, rec.begin_calls);
        break;
    }
    assert_int_equal(rec.end_ok, 0);
    artifact_info_free(&info);
    rec_free(&rec);
}

static void expect_bad(const char *name, const struct artifact_keys *keys, const char *want, enum stage st)
{
    char *p = fx(name);
    expect_bad_path(p, keys, want, st);
    free(p);
}

static void assert_strv(const struct strv *l, size_t n, ...)
{
    assert_int_equal(l->n, n);
    va_list ap;
    va_start(ap, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(l->v[i], va_arg(ap, const char *));
    va_end(ap);
}

static const struct depend *find_depend(const struct artifact_info *info, const char *key)
{
    for (size_t i = 0; i < info->type_depends.n; i++)
        if (strcmp(info->type_depends.items[i].key, key) == 0)
            return &info->type_depends.items[i];
    return NULL;
}

/* The module-image fixture: every field make-artifacts.sh sets (MOD=...). */
static void check_module_info(const struct artifact_info *info, const char *header_member, const char *data_member)
{
    assert_int_equal(info->format_version, 3);
    assert_string_equal(info->artifact_name, "rtos-v2");
    assert_string_equal(info->artifact_group, "grpA");
    assert_string_equal(info->payload_type, "rtos-interface");
    assert_strv(&info->compatible_types, 2, "rtos", "rtos-b");
    assert_strv(&info->depends_artifact_name, 1, "rtos-v1");
    assert_strv(&info->depends_artifact_group, 1, "grp0");
    assert_true(info->has_type_provides);
    assert_int_equal(info->type_provides.n, 2);
    assert_string_equal(kvl_get(&info->type_provides, "app.version"), "2");
    assert_string_equal(kvl_get(&info->type_provides, "rootfs-image.rtos-interface.version"), "rtos-v2");
    assert_int_equal(info->type_depends.n, 1);
    const struct depend *d = find_depend(info, "rootfs-image.rtos-interface.version");
    assert_non_null(d);
    assert_strv(&d->values, 1, "rtos-v1");
    assert_true(info->has_clears);
    assert_strv(&info->clears, 1, "rootfs-image.rtos-interface.*");
    assert_true(info->has_meta_data);
    assert_non_null(info->meta_data);
    assert_int_equal(strlen(info->meta_data), info->meta_data_len);
    assert_non_null(strstr(info->meta_data, "\"flash_offset\""));
    assert_non_null(info->header_info);
    assert_int_equal(strlen(info->header_info), info->header_info_len);
    assert_non_null(strstr(info->header_info, "\"payloads\":[{\"type\":\"rtos-interface\"}]"));
    assert_non_null(info->type_info);
    assert_non_null(strstr(info->type_info, "\"clears_artifact_provides\""));
    assert_string_equal(info->header_member, header_member);
    assert_string_equal(info->data_member, data_member);
    assert_int_equal(info->payload_files.n, 2);
    assert_true(strv_contains(&info->payload_files, "data/0000/payload.bin"));
    assert_true(strv_contains(&info->payload_files, "data/0000/notes.txt"));
    assert_int_equal(info->payload_bytes, payload_len + notes_len);
}

/* The sink got payload.bin then notes.txt, byte for byte, both final. */
static void check_module_payload(const struct rec *rec)
{
    assert_int_equal(rec->header_calls, 1);
    assert_int_equal(rec->n, 2);
    assert_string_equal(rec->f[0].name, "payload.bin");
    assert_int_equal(rec->f[0].size, (int64_t)payload_len);
    assert_int_equal(rec->f[0].len, payload_len);
    assert_memory_equal(rec->f[0].data, payload, payload_len);
    assert_true(rec->f[0].ok);
    assert_string_equal(rec->f[1].name, "notes.txt");
    assert_int_equal(rec->f[1].len, notes_len);
    assert_memory_equal(rec->f[1].data, notes, notes_len);
    assert_true(rec->f[1].ok);
    assert_int_equal(rec->end_ok, 2);
    assert_int_equal(rec->end_bad, 0);
}

static void good_module(const char *name, const struct artifact_keys *keys, const char *hdr, const char *data,
                        bool is_signed)
{
    struct rec rec = { 0 };
    struct artifact_info info;
    _cleanup_error_ struct error *err = NULL;
    if (read_fx(name, keys, &rec, &info, &err) != 0)
        fail_msg("%s: %s", name, error_message(err));
    check_module_info(&info, hdr, data);
    check_module_payload(&rec);
    assert_string_equal(rec.header_name, "rtos-v2");
    assert_int_equal(info.is_signed, is_signed);
    artifact_info_free(&info);
    assert_null(info.artifact_name);
    rec_free(&rec);
}

/* ---- good fixtures ---------------------------------------------------------------- */

static void fixture_gzip(void **state)
{
    (void)state;
    good_module("gzip.mender", NULL, "header.tar.gz", "data/0000.tar.gz", false);

    /* manifest_sha256 is the hash of the raw manifest member. */
    struct artifact_info info;
    char *p = fx("gzip.mender"), *m = fx("manifest.extracted");
    assert_int_equal(test_sh("tar -xOf '%s' manifest > '%s'", p, m), 0);
    size_t ml;
    char *mb = slurp("manifest.extracted", &ml);
    assert_non_null(mb);
    assert_int_equal(artifact_read_file(p, NULL, NULL, &info, NULL), 0);
    unsigned char h[32];
    unsigned int hl = 32;
    EVP_Digest(mb, ml, h, &hl, EVP_sha256(), NULL);
    assert_memory_equal(info.manifest_sha256, h, 32);
    assert_int_equal(info.payload_bytes, payload_len + notes_len); /* hashed even without a sink */
    artifact_info_free(&info);
    free(mb);
    free(m);
    free(p);
}

static void fixture_xz(void **state)
{
    (void)state;
    good_module("xz.mender", NULL, "header.tar.xz", "data/0000.tar.xz", false);
}

static void fixture_none(void **state)
{
    (void)state;
    good_module("none.mender", NULL, "header.tar", "data/0000.tar", false);
}

static void fixture_zstd(void **state)
{
    (void)state;
    good_module("zstd.mender", NULL, "header.tar.zst", "data/0000.tar.zst", true);
    good_module("zstd.mender", k_rsa, "header.tar.zst", "data/0000.tar.zst", true);
    expect_bad("zstd.mender", k_ec, "wrong manifest signature or wrong key", BEFORE_HEADER);
}

static void fixture_signed_rsa(void **state)
{
    (void)state;
    good_module("signed-rsa.mender", k_rsa, "header.tar.gz", "data/0000.tar.gz", true);
    good_module("signed-rsa.mender", NULL, "header.tar.gz", "data/0000.tar.gz", true);
}

static void fixture_signed_ec_raw(void **state)
{
    (void)state;
    good_module("signed-ec.mender", k_ec, "header.tar.gz", "data/0000.tar.gz", true);
    good_module("signed-ec.mender", k_many, "header.tar.gz", "data/0000.tar.gz", true);
    /* mender-artifact writes 88 base64 characters: raw r||s. */
    char *p = fx("signed-ec.mender"), *s = fx("ec.sig");
    assert_int_equal(test_sh("tar -xOf '%s' manifest.sig > '%s'", p, s), 0);
    size_t l;
    char *sig = slurp("ec.sig", &l);
    assert_int_equal(l, 88);
    free(sig);
    free(s);
    free(p);
}

static void fixture_signed_ec_der(void **state)
{
    (void)state;
    good_module("signed-ec-der.mender", k_ec, "header.tar.gz", "data/0000.tar.gz", true);
    good_module("signed-ec-der.mender", k_many, "header.tar.gz", "data/0000.tar.gz", true);
}

static void fixture_wrong_key(void **state)
{
    (void)state;
    expect_bad("signed-rsa.mender", k_rsa2, "wrong manifest signature or wrong key", BEFORE_HEADER);
    expect_bad("signed-rsa.mender", k_many, "wrong manifest signature or wrong key", BEFORE_HEADER);
    expect_bad("signed-ec.mender", k_ec2, "wrong manifest signature or wrong key", BEFORE_HEADER);
    expect_bad("signed-ec.mender", k_rsa, "wrong manifest signature or wrong key", BEFORE_HEADER);
    expect_bad("signed-ec-der.mender", k_ec2, "wrong manifest signature or wrong key", BEFORE_HEADER);
}

static void fixture_unsigned_with_keys(void **state)
{
    (void)state;
    expect_bad("gzip.mender", k_rsa, "expecting signed artifact, but no signature file found", BEFORE_HEADER);
    expect_bad("none.mender", k_many, "expecting signed artifact, but no signature file found", BEFORE_HEADER);
}

static void fixture_edited_manifest(void **state)
{
    (void)state;
    /* Signed, then a manifest line edited: the signature catches it ... */
    expect_bad("edited-manifest.mender", k_rsa, "wrong manifest signature or wrong key", BEFORE_HEADER);
    /* ... and without keys, the payload checksum does. */
    expect_bad("edited-manifest.mender", NULL, "data/0000/payload.bin: checksum mismatch", IN_PAYLOAD);
}

static void fixture_garbage_sig(void **state)
{
    (void)state;
    expect_bad("garbage-sig.mender", k_rsa, "manifest.sig: invalid base64", BEFORE_HEADER);
    /* Without keys the signature is ignored, but noted. */
    good_module("garbage-sig.mender", NULL, "header.tar.gz", "data/0000.tar.gz", true);
}

static void fixture_flipped_payload_byte(void **state)
{
    (void)state;
    expect_bad("bad-payload-byte.mender", NULL, "data/0000/payload.bin: checksum mismatch", IN_PAYLOAD);
}

static void fixture_flipped_header_byte(void **state)
{
    (void)state;
    expect_bad("bad-header-byte.mender", NULL, "header.tar.gz: checksum mismatch", BEFORE_HEADER);
}

/* Reading only up to the header: what the work dir's header/ needs before Download. */
static void header_only_read(void **state)
{
    (void)state;
    struct artifact_info info;
    _cleanup_error_ struct error *e1 = NULL, *e2 = NULL;
    char *p = fx("gzip.mender");
    assert_int_equal(artifact_read_header_file(p, NULL, &info, NULL), 0);
    assert_string_equal(info.artifact_name, "rtos-v2");
    assert_string_equal(info.payload_type, "rtos-interface");
    assert_int_equal(info.payload_bytes, 0);
    artifact_info_free(&info);
    free(p);
    /* the payload is not read, so a bad payload byte goes unnoticed here ... */
    p = fx("bad-payload-byte.mender");
    assert_int_equal(artifact_read_header_file(p, NULL, &info, NULL), 0);
    artifact_info_free(&info);
    free(p);
    /* ... but the header's checksum and the signature policy are checked */
    p = fx("bad-header-byte.mender");
    assert_int_equal(artifact_read_header_file(p, NULL, &info, &e1), -1);
    assert_non_null(strstr(error_message(e1), "header.tar.gz: checksum mismatch"));
    free(p);
    p = fx("gzip.mender");
    assert_int_equal(artifact_read_header_file(p, k_rsa, &info, &e2), -1);
    assert_non_null(strstr(error_message(e2), "expecting signed artifact, but no signature file found"));
    free(p);
}

static void fixture_truncated(void **state)
{
    (void)state;
    struct rec rec = { 0 };
    struct artifact_info info;
    _cleanup_error_ struct error *err = NULL;
    assert_int_equal(read_fx("truncated.mender", NULL, &rec, &info, &err), -1);
    assert_non_null(strstr(error_message(err), "data/0000/payload.bin"));
    assert_non_null(strcasestr(error_message(err), "truncated"));
    assert_int_equal(rec.begin_calls, 1);
    assert_int_equal(rec.end_bad, 1);
    rec_free(&rec);

    /* Cut every fixture at many points before its end: always a clean failure. */
    const char *names[] = { "gzip.mender", "none.mender", "xz.mender", "zstd.mender", "signed-rsa.mender" };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        size_t len;
        char *buf = slurp(names[i], &len);
        assert_non_null(buf);
        /* The outer tar ends with zero blocks; stop well before the payload end. */
        size_t limit = len - 12 * 1024;
        size_t points[] = { 0,    1,    100,  511,  512,  513,       1000,      1024,          1536, 2000,
                            2560, 3000, 4096, 5000, 8000, limit / 4, limit / 2, limit * 3 / 4, limit };
        for (size_t j = 0; j < sizeof(points) / sizeof(points[0]); j++) {
            char *p = fx("cut.mender");
            FILE *f = fopen(p, "wb");
            assert_non_null(f);
            assert_int_equal(fwrite(buf, 1, points[j], f), points[j]);
            fclose(f);
            struct rec r2 = { 0 };
            _cleanup_error_ struct error *e2 = NULL;
            if (read_path(p, NULL, &r2, &info, &e2) != -1)
                fail_msg("%s cut at %zu was accepted", names[i], points[j]);
            rec_free(&r2);
            free(p);
        }
        free(buf);
    }
}

static void fixture_extra_member(void **state)
{
    (void)state;
    expect_bad("extra-member.mender", NULL, "unexpected file in artifact: foo", BEFORE_PAYLOAD);
}

static void fixture_dotdot_payload(void **state)
{
    (void)state;
    expect_bad("dotdot.mender", NULL, "data/0000.tar: invalid payload file name: ../x", BEFORE_PAYLOAD);
}

static void fixture_no_data_line(void **state)
{
    (void)state;
    expect_bad("no-data-line.mender", NULL, "data/0000/payload.bin: not listed in manifest", BEFORE_PAYLOAD);
}

static void fixture_missing_payload_file(void **state)
{
    (void)state;
    /* Both files verify, but a listed one never comes: neither becomes final. */
    expect_bad("missing-file.mender", NULL, "data/0000/missing.bin: listed in manifest but missing", IN_PAYLOAD);
}

static void fixture_wrong_order(void **state)
{
    (void)state;
    expect_bad("wrong-order.mender", NULL, "unexpected file in artifact: header.tar.gz", BEFORE_HEADER);
}

static void fixture_augmented(void **state)
{
    (void)state;
    expect_bad("augmented.mender", NULL, "augmented artifacts are not supported (manifest-augment)", BEFORE_HEADER);
}

static void fixture_two_payloads(void **state)
{
    (void)state;
    /* data/0000 streams fine, but nothing is final when data/0001 shows up. */
    expect_bad("two-payloads.mender", NULL, "more than one payload are not supported (data/0001.tar.gz)", IN_PAYLOAD);
}

static void fixture_zstd_named_gz(void **state)
{
    (void)state;
    expect_bad("zstd-as-gz-data.mender", NULL, "data/0000.tar.gz: compression does not match file name (found zstd",
               BEFORE_PAYLOAD);
    expect_bad("zstd-as-gz-header.mender", NULL, "header.tar.gz: compression does not match file name (found zstd",
               BEFORE_HEADER);
}

static void fixture_bootstrap(void **state)
{
    (void)state;
    struct rec rec = { 0 };
    struct artifact_info info;
    _cleanup_error_ struct error *err = NULL;
    if (read_fx("bootstrap.mender", NULL, &rec, &info, &err) != 0)
        fail_msg("bootstrap: %s", error_message(err));
    assert_null(info.payload_type);
    assert_string_equal(info.artifact_name, "boot-1");
    assert_null(info.artifact_group);
    assert_strv(&info.compatible_types, 1, "dev-a");
    assert_string_equal(info.type_info, "{\"type\":null}");
    assert_false(info.has_type_provides);
    assert_false(info.has_clears);
    assert_false(info.has_meta_data);
    assert_int_equal(info.payload_files.n, 0);
    assert_int_equal(info.payload_bytes, 0);
    assert_int_equal(rec.header_calls, 1);
    assert_int_equal(rec.begin_calls, 0);
    artifact_info_free(&info);
    rec_free(&rec);
}

static void fixture_empty_payload(void **state)
{
    (void)state;
    struct rec rec = { 0 };
    struct artifact_info info;
    _cleanup_error_ struct error *err = NULL;
    if (read_fx("empty-payload.mender", NULL, &rec, &info, &err) != 0)
        fail_msg("empty-payload: %s", error_message(err));
    assert_string_equal(info.payload_type, "app");
    assert_string_equal(info.artifact_name, "app-1");
    assert_string_equal(kvl_get(&info.type_provides, "rootfs-image.app.version"), "app-1");
    assert_string_equal(info.data_member, "data/0000.tar.gz");
    assert_int_equal(info.payload_files.n, 0);
    assert_int_equal(rec.header_calls, 1);
    assert_int_equal(rec.begin_calls, 0);
    artifact_info_free(&info);
    rec_free(&rec);
}

static void fixture_rootfs_image(void **state)
{
    (void)state;
    struct rec rec = { 0 };
    struct artifact_info info;
    _cleanup_error_ struct error *err = NULL;
    if (read_fx("rootfs.mender", NULL, &rec, &info, &err) != 0)
        fail_msg("rootfs: %s", error_message(err));
    assert_string_equal(info.payload_type, "rootfs-image");
    assert_non_null(strstr(info.type_info, "\"type\":\"\"")); /* the 3.9 quirk, accepted */
    assert_string_equal(info.artifact_name, "rel-1");
    assert_strv(&info.compatible_types, 1, "dev-a");
    assert_string_equal(kvl_get(&info.type_provides, "rootfs-image.version"), "rel-1");
    char *h = sha_hex(rootfs, rootfs_len);
    assert_string_equal(kvl_get(&info.type_provides, "rootfs-image.checksum"), h);
    free(h);
    assert_true(info.has_clears);
    assert_strv(&info.clears, 3, "artifact_group", "rootfs_image_checksum", "rootfs-image.*");
    assert_false(info.has_meta_data); /* the 0-byte meta-data */
    assert_null(info.meta_data);
    assert_int_equal(rec.n, 1);
    assert_string_equal(rec.f[0].name, "rootfs.ext4");
    assert_int_equal(rec.f[0].len, rootfs_len);
    assert_memory_equal(rec.f[0].data, rootfs, rootfs_len);
    assert_true(rec.f[0].ok);
    artifact_info_free(&info);
    rec_free(&rec);
}

static void fixture_v2(void **state)
{
    (void)state;
    expect_bad("v2.mender", NULL, "version 2 artifacts are not supported", BEFORE_HEADER);
}

static void fixture_type_mismatch(void **state)
{
    (void)state;
    expect_bad("type-mismatch.mender", NULL,
               "header.tar: headers/0000/type-info: type \"other-type\" does not match header-info type",
               BEFORE_HEADER);
}

static void fixture_not_an_artifact(void **state)
{
    (void)state;
    expect_bad("not-tar.mender", NULL, "not a valid artifact", BEFORE_HEADER);
    expect_bad("empty.mender", NULL, "not a valid artifact", BEFORE_HEADER);
    expect_bad("payload.bin", NULL, "not a valid artifact", BEFORE_HEADER);
    expect_bad("no-such-file.mender", NULL, "cannot open artifact", BEFORE_HEADER);
}

/* ---- sink and source behaviour ------------------------------------------------------ */

static void sink_refuses(void **state)
{
    (void)state;
    struct rec rec = { .refuse_header = true };
    struct artifact_info info;
    _cleanup_error_ struct error *e1 = NULL, *e2 = NULL;
    assert_int_equal(read_fx("gzip.mender", NULL, &rec, &info, &e1), -1);
    assert_non_null(strstr(error_message(e1), "refused"));
    assert_int_equal(rec.header_calls, 1);
    assert_int_equal(rec.begin_calls, 0);
    rec_free(&rec);

    rec = (struct rec){ .refuse_data = true };
    assert_int_equal(read_fx("none.mender", NULL, &rec, &info, &e2), -1);
    assert_non_null(strstr(error_message(e2), "data/0000/payload.bin: refused"));
    assert_int_equal(rec.begin_calls, 1);
    assert_int_equal(rec.end_bad, 1);
    rec_free(&rec);
}

struct chunked {
    const char *buf;
    size_t len, pos, step, fail_at;
};

static ssize_t chunked_read(void *ctx, void *buf, size_t len)
{
    struct chunked *c = ctx;
    if (c->fail_at && c->pos >= c->fail_at)
        return -1;
    size_t n = c->len - c->pos;
    if (n > c->step)
        n = c->step;
    if (n > len)
        n = len;
    memcpy(buf, c->buf + c->pos, n);
    c->pos += n;
    return (ssize_t)n;
}

static void source_small_reads_and_errors(void **state)
{
    (void)state;
    const char *names[] = { "gzip.mender", "none.mender", "xz.mender", "zstd.mender" };
    for (size_t i = 0; i < 4; i++) {
        size_t len;
        char *buf = slurp(names[i], &len);
        assert_non_null(buf);
        /* Odd-sized reads, crossing every block boundary. */
        struct chunked c = { .buf = buf, .len = len, .step = 777 };
        struct artifact_source src = { .ctx = &c, .read = chunked_read };
        struct rec rec = { 0 };
        struct artifact_sink sink = { .ctx = &rec,
                                      .header = on_header,
                                      .file_begin = on_begin,
                                      .file_data = on_data,
                                      .file_end = on_end };
        struct artifact_info info;
        _cleanup_error_ struct error *err = NULL;
        if (artifact_read(&src, NULL, &sink, &info, &err) != 0)
            fail_msg("%s: %s", names[i], error_message(err));
        rec_check(&rec);
        check_module_payload(&rec);
        artifact_info_free(&info);
        rec_free(&rec);

        /* A read error half way. */
        c = (struct chunked){ .buf = buf, .len = len, .step = 4096, .fail_at = len / 2 };
        assert_int_equal(artifact_read(&src, NULL, &sink, &info, &err), -1);
        assert_non_null(strstr(error_message(err), "error reading artifact"));
        rec_check(&rec);
        assert_int_equal(rec.end_ok, 0);
        rec_free(&rec);
        free(buf);
    }
}

/* ---- synthetic Artifacts (libarchive writer) -------------------------------------- */

struct ent {
    const char *name;
    const char *data; /* NULL: empty */
    size_t len;       /* 0: strlen(data) */
    unsigned type;    /* 0: regular file */
};

static size_t ent_len(const struct ent *e) { return e->len ? e->len : (e->data ? strlen(e->data) : 0); }

/* An uncompressed ustar archive of the entries, in memory. */
static char *mktar(const struct ent *e, size_t n, size_t *outlen)
{
    size_t cap = 4096;
    for (size_t i = 0; i < n; i++)
        cap += ent_len(&e[i]) + 2048;
    char *buf = xmalloc(cap);
    struct archive *a = archive_write_new();
    archive_write_set_format_ustar(a);
    archive_write_add_filter_none(a);
    archive_write_set_bytes_in_last_block(a, 1);
    size_t used = 0;
    assert_int_equal(archive_write_open_memory(a, buf, cap, &used), ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *ae = archive_entry_new();
        archive_entry_set_pathname(ae, e[i].name);
        unsigned type = e[i].type ? e[i].type : AE_IFREG;
        archive_entry_set_filetype(ae, type);
        archive_entry_set_perm(ae, 0600);
        size_t l = type == AE_IFREG ? ent_len(&e[i]) : 0;
        if (type == AE_IFLNK)
            archive_entry_set_symlink(ae, "target");
        archive_entry_set_size(ae, (la_int64_t)l);
        assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
        if (l)
            assert_int_equal(archive_write_data(a, e[i].data, l), (la_ssize_t)l);
        archive_entry_free(ae);
    }
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
    *outlen = used;
    return buf;
}

#define STD_VERSION "{\"format\":\"mender\",\"version\":3}"
#define STD_HI                                                                           \
    "{\"payloads\":[{\"type\":\"t\"}],\"artifact_provides\":{\"artifact_name\":\"a1\"}," \
    "\"artifact_depends\":{\"device_type\":[\"d\"]}}"
#define STD_TI "{\"type\":\"t\",\"artifact_provides\":{\"t.version\":\"a1\"}}"

/* The parts of a synthetic Artifact; NULL/0 fields take the defaults. */
struct synth {
    const char *version;
    const char *hi, *ti, *md; /* md NULL: no meta-data entry */
    const struct ent *hdr;    /* replaces the whole header tar */
    size_t nhdr;
    const struct ent *data; /* default: p.bin = "payload\n" */
    size_t ndata;
    const char *manifest;        /* replaces the computed manifest */
    const char *manifest_append; /* extra lines */
    bool manifest_missing_data;  /* computed manifest without the data lines */
};

static char *synth_write(const struct synth *s)
{
    const char *version = s->version ? s->version : STD_VERSION;
    struct ent hdr_def[3] = { { "header-info", s->hi ? s->hi : STD_HI, 0, 0 },
                              { "headers/0000/type-info", s->ti ? s->ti : STD_TI, 0, 0 },
                              { "headers/0000/meta-data", s->md, 0, 0 } };
    size_t hl, dl;
    char *hdr = s->hdr ? mktar(s->hdr, s->nhdr, &hl) : mktar(hdr_def, s->md ? 3 : 2, &hl);
    struct ent data_def[1] = { { "p.bin", "payload\n", 0, 0 } };
    const struct ent *data = s->data ? s->data : data_def;
    size_t ndata = s->data ? s->ndata : 1;
    char *dtar = mktar(data, ndata, &dl);

    char *manifest;
    if (s->manifest) {
        manifest = xstrdup(s->manifest);
    } else {
        manifest = xstrdup("");
        for (size_t i = 0; i < ndata && !s->manifest_missing_data; i++) {
            char *h = sha_hex(data[i].data ? data[i].data : "", ent_len(&data[i]));
            char *m2 = xasprintf("%s%s  data/0000/%s\n", manifest, h, data[i].name);
            free(h);
            free(manifest);
            manifest = m2;
        }
        char *h1 = sha_hex(hdr, hl), *h2 = sha_hex(STD_VERSION, strlen(STD_VERSION));
        char *m2 = xasprintf("%s%s  header.tar\n%s  version\n%s", manifest, h1, h2,
                             s->manifest_append ? s->manifest_append : "");
        free(h1);
        free(h2);
        free(manifest);
        manifest = m2;
    }
    struct ent outer[4] = { { "version", version, 0, 0 },
                            { "manifest", manifest, 0, 0 },
                            { "header.tar", hdr, hl, 0 },
                            { "data/0000.tar", dtar, dl, 0 } };
    size_t ol;
    char *art = mktar(outer, 4, &ol);
    char *path = fx("synth.mender");
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(art, 1, ol, f), ol);
    fclose(f);
    free(art);
    free(manifest);
    free(hdr);
    free(dtar);
    return path;
}

static void synth_bad(const struct synth *s, const char *want, enum stage st)
{
    char *p = synth_write(s);
    expect_bad_path(p, NULL, want, st);
    free(p);
}

static int synth_good(const struct synth *s, struct artifact_info *info)
{
    char *p = synth_write(s);
    struct rec rec = { 0 };
    _cleanup_error_ struct error *err = NULL;
    int rc = read_path(p, NULL, &rec, info, &err);
    if (rc != 0)
        fail_msg("synthetic artifact refused: %s", error_message(err));
    rec_free(&rec);
    free(p);
    return rc;
}

static void synth_defaults_and_type_info(void **state)
{
    (void)state;
    struct artifact_info info;
    struct synth s = { 0 };
    synth_good(&s, &info);
    assert_string_equal(info.payload_type, "t");
    assert_false(info.has_clears);
    assert_false(info.has_meta_data);
    assert_null(info.artifact_group);
    assert_int_equal(info.depends_artifact_name.n, 0);
    artifact_info_free(&info);

    /* clears: [] differs from absent; depends: a string becomes a one-element list. */
    s.ti = "{\"type\":\"t\",\"clears_artifact_provides\":[],"
           "\"artifact_depends\":{\"k1\":\"v\",\"k2\":[\"a\",\"b\"]},\"unknown\":{\"x\":1}}";
    s.md = "";
    synth_good(&s, &info);
    assert_true(info.has_clears);
    assert_int_equal(info.clears.n, 0);
    assert_false(info.has_type_provides);
    assert_false(info.has_meta_data);
    assert_int_equal(info.type_depends.n, 2);
    assert_strv(&find_depend(&info, "k1")->values, 1, "v");
    assert_strv(&find_depend(&info, "k2")->values, 2, "a", "b");
    artifact_info_free(&info);

    /* meta-data object kept raw; empty group means none; type-info group allowed then. */
    s = (struct synth){ .md = "{\"a\":1,\"b\":[\"x\"]}",
                        .hi = "{\"payloads\":[{\"type\":\"rootfs-image\"}],\"artifact_provides\":{\"artifact_name\":"
                              "\"a1\",\"artifact_group\":\"\"},\"artifact_depends\":{\"device_type\":[\"d\"],"
                              "\"artifact_group\":[\"g\"]}}",
                        .ti = "{\"type\":\"\",\"artifact_provides\":{\"artifact_group\":\"g2\"}}" };
    synth_good(&s, &info);
    assert_true(info.has_meta_data);
    assert_string_equal(info.meta_data, "{\"a\":1,\"b\":[\"x\"]}");
    assert_null(info.artifact_group);
    assert_strv(&info.depends_artifact_group, 1, "g");
    assert_string_equal(info.payload_type, "rootfs-image");
    artifact_info_free(&info);
}

struct bad_json {
    const char *hi, *ti, *md, *want;
};

static void synth_header_json_rules(void **state)
{
    (void)state;
    const char *prov = "\"artifact_provides\":{\"artifact_name\":\"a1\"}";
    const char *deps = "\"artifact_depends\":{\"device_type\":[\"d\"]}";
    char *hi_nopay = xasprintf("{%s,%s}", prov, deps);
    char *hi_empty = xasprintf("{\"payloads\":[],%s,%s}", prov, deps);
    char *hi_two = xasprintf("{\"payloads\":[{\"type\":\"t\"},{\"type\":\"t\"}],%s,%s}", prov, deps);
    char *hi_typeempty = xasprintf("{\"payloads\":[{\"type\":\"\"}],%s,%s}", prov, deps);
    char *hi_typenum = xasprintf("{\"payloads\":[{\"type\":5}],%s,%s}", prov, deps);
    char *hi_notype = xasprintf("{\"payloads\":[{}],%s,%s}", prov, deps);
    char *hi_v2 = xstrdup("{\"updates\":[{\"type\":\"rootfs-image\"}],\"device_types_compatible\":[\"d\"],"
                          "\"artifact_name\":\"a1\"}");
    char *hi_noprov = xasprintf("{\"payloads\":[{\"type\":\"t\"}],%s}", deps);
    char *hi_noname = xasprintf("{\"payloads\":[{\"type\":\"t\"}],\"artifact_provides\":{},%s}", deps);
    char *hi_nodeps = xasprintf("{\"payloads\":[{\"type\":\"t\"}],%s}", prov);
    char *hi_nodt = xasprintf("{\"payloads\":[{\"type\":\"t\"}],%s,\"artifact_depends\":{}}", prov);
    char *hi_dtempty = xasprintf("{\"payloads\":[{\"type\":\"t\"}],%s,\"artifact_depends\":{\"device_type\":[]}}",
                                 prov);
    char *hi_dtnum = xasprintf("{\"payloads\":[{\"type\":\"t\"}],%s,\"artifact_depends\":{\"device_type\":[1]}}", prov);
    char *hi_dtstr = xasprintf("{\"payloads\":[{\"type\":\"t\"}],%s,\"artifact_depends\":{\"device_type\":\"d\"}}",
                               prov);
    char *hi_dup = xasprintf("{\"payloads\":[{\"type\":\"t\"}],\"payloads\":[{\"type\":\"t\"}],%s,%s}", prov, deps);
    char *hi_group = xasprintf("{\"payloads\":[{\"type\":\"t\"}],\"artifact_provides\":{\"artifact_name\":\"a1\","
                               "\"artifact_group\":\"g\"},%s}",
                               deps);
    char *big = xmalloc(ARTIFACT_JSON_MAX + 64);
    memset(big, ' ', ARTIFACT_JSON_MAX + 63);
    memcpy(big, "{\"type\":\"t\"}", 12);
    big[ARTIFACT_JSON_MAX + 63] = '\0';

    const struct bad_json cases[] = {
        { hi_nopay, NULL, NULL, "header-info: payloads: missing" },
        { hi_empty, NULL, NULL, "header-info: payloads: empty list" },
        { hi_two, NULL, NULL, "more than one payload" },
        { hi_typeempty, NULL, NULL, "payloads[0].type: empty string" },
        { hi_typenum, NULL, NULL, "payloads[0].type: not a string or null" },
        { hi_notype, NULL, NULL, "payloads[0].type: missing" },
        { hi_v2, NULL, NULL, "version 2 header" },
        { hi_noprov, NULL, NULL, "artifact_provides: missing" },
        { hi_noname, NULL, NULL, "artifact_provides.artifact_name: missing" },
        { hi_nodeps, NULL, NULL, "artifact_depends: missing" },
        { hi_nodt, NULL, NULL, "artifact_depends.device_type: missing" },
        { hi_dtempty, NULL, NULL, "artifact_depends.device_type: empty list" },
        { hi_dtnum, NULL, NULL, "artifact_depends.device_type[0]: not a string" },
        { hi_dtstr, NULL, NULL, "artifact_depends.device_type: not an array" },
        { hi_dup, NULL, NULL, "header-info: invalid JSON" },
        { "[1]", NULL, NULL, "header-info: not a JSON object" },
        { "{\"payloads\":", NULL, NULL, "header-info: invalid JSON" },
        { NULL, "{}", NULL, "type-info: type: missing" },
        { NULL, "{\"type\":\"u\"}", NULL, "type \"u\" does not match header-info type \"t\"" },
        { NULL, "{\"type\":\"\"}", NULL, "type \"\" does not match header-info type \"t\"" },
        { NULL, "{\"type\":null}", NULL, "type null does not match" },
        { NULL, "{\"type\":1}", NULL, "type: not a string or null" },
        { NULL, "{\"type\":\"t\",\"artifact_provides\":{\"artifact_name\":\"x\"}}", NULL,
          "artifact_provides.artifact_name: already provided by header-info" },
        { hi_group, "{\"type\":\"t\",\"artifact_provides\":{\"artifact_group\":\"x\"}}", NULL,
          "artifact_provides.artifact_group: already provided by header-info" },
        { NULL, "{\"type\":\"t\",\"artifact_provides\":{\"k\":1}}", NULL, "artifact_provides.k: not a string" },
        { NULL, "{\"type\":\"t\",\"artifact_provides\":[]}", NULL, "artifact_provides: not an object" },
        { NULL, "{\"type\":\"t\",\"artifact_depends\":{\"device_type\":\"d\"}}", NULL,
          "artifact_depends.device_type: already set by header-info" },
        { NULL, "{\"type\":\"t\",\"artifact_depends\":{\"k\":{}}}", NULL,
          "artifact_depends.k: not a string or list of strings" },
        { NULL, "{\"type\":\"t\",\"artifact_depends\":{\"k\":[1]}}", NULL, "artifact_depends.k[0]: not a string" },
        { NULL, "{\"type\":\"t\",\"clears_artifact_provides\":\"x\"}", NULL, "clears_artifact_provides: not an array" },
        { NULL, "{\"type\":\"t\",\"clears_artifact_provides\":[1]}", NULL,
          "clears_artifact_provides[0]: not a string" },
        { NULL, big, NULL, "headers/0000/type-info: too large" },
        { NULL, NULL, "[1]", "headers/0000/meta-data: not a JSON object" },
        { NULL, NULL, "{", "headers/0000/meta-data: invalid JSON" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct synth s = { .hi = cases[i].hi, .ti = cases[i].ti, .md = cases[i].md };
        synth_bad(&s, cases[i].want, BEFORE_HEADER);
    }
    free(hi_nopay);
    free(hi_empty);
    free(hi_two);
    free(hi_typeempty);
    free(hi_typenum);
    free(hi_notype);
    free(hi_v2);
    free(hi_noprov);
    free(hi_noname);
    free(hi_nodeps);
    free(hi_nodt);
    free(hi_dtempty);
    free(hi_dtnum);
    free(hi_dtstr);
    free(hi_dup);
    free(hi_group);
    free(big);
}

static void synth_header_layout(void **state)
{
    (void)state;
    struct artifact_info info;
    /* Directories are skipped, valid state scripts are accepted and ignored. */
    const struct ent ok[] = {
        { "header-info", STD_HI, 0, 0 },
        { "scripts", NULL, 0, AE_IFDIR },
        { "scripts/ArtifactInstall_Enter_00", "#!/bin/sh\n", 0, 0 },
        { "scripts/ArtifactRollbackReboot_Error_99_undo.sh", "#!/bin/sh\n", 0, 0 },
        { "headers", NULL, 0, AE_IFDIR },
        { "headers/0000", NULL, 0, AE_IFDIR },
        { "headers/0000/type-info", STD_TI, 0, 0 },
        { "headers/0000/meta-data", "", 0, 0 },
    };
    struct synth s = { .hdr = ok, .nhdr = 8 };
    synth_good(&s, &info);
    artifact_info_free(&info);

    struct {
        struct ent e[3];
        const char *want;
    } cases[] = {
        { { { "headers/0000/type-info", STD_TI, 0, 0 }, { "header-info", STD_HI, 0, 0 }, { 0 } },
          "header-info must be the first file in the header (found headers/0000/type-info)" },
        { { { "header-info", STD_HI, 0, 0 }, { 0 }, { 0 } }, "header.tar: headers/0000/type-info missing" },
        { { { "header-info", STD_HI, 0, 0 }, { "scripts/ArtifactFoo_Enter_01", "x", 0, 0 }, { 0 } },
          "scripts/ArtifactFoo_Enter_01: invalid state script name" },
        { { { "header-info", STD_HI, 0, 0 }, { "scripts/ArtifactInstall_Enter_1", "x", 0, 0 }, { 0 } },
          "invalid state script name" },
        { { { "header-info", STD_HI, 0, 0 }, { "scripts/ArtifactInstall_Enter_01_", "x", 0, 0 }, { 0 } },
          "invalid state script name" },
        { { { "header-info", STD_HI, 0, 0 },
            { "headers/0000/type-info", STD_TI, 0, 0 },
            { "scripts/ArtifactInstall_Enter_01", "x", 0, 0 } },
          "state scripts must come before headers/" },
        { { { "header-info", STD_HI, 0, 0 },
            { "headers/0000/type-info", STD_TI, 0, 0 },
            { "headers/0001/type-info", STD_TI, 0, 0 } },
          "headers/0001/type-info: artifacts with more than one payload are not supported" },
        { { { "header-info", STD_HI, 0, 0 }, { "headers/0000/type-info", STD_TI, 0, 0 }, { "foo", "x", 0, 0 } },
          "header.tar: unexpected file in header: foo" },
        { { { "header-info", STD_HI, 0, 0 },
            { "headers/0000/type-info", STD_TI, 0, 0 },
            { "headers/0000/files", "{}", 0, 0 } },
          "unexpected file in header: headers/0000/files" },
        { { { "header-info", STD_HI, 0, 0 },
            { "headers/0000/type-info", STD_TI, 0, 0 },
            { "headers/0000/type-info", STD_TI, 0, 0 } },
          "unexpected file in header: headers/0000/type-info" },
        { { { "header-info", STD_HI, 0, 0 }, { "headers/0000/type-info", NULL, 0, AE_IFLNK }, { 0 } },
          "headers/0000/type-info: not a regular file" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = 0;
        while (n < 3 && cases[i].e[n].name)
            n++;
        struct synth b = { .hdr = cases[i].e, .nhdr = n };
        synth_bad(&b, cases[i].want, BEFORE_HEADER);
    }
}

static void synth_manifest_rules(void **state)
{
    (void)state;
    char *hv = sha_hex(STD_VERSION, strlen(STD_VERSION));
    char *up = xstrdup(hv);
    for (char *p = up; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    char *m_upper = xasprintf("%s  version\n", up);
    char *m_one_space = xasprintf("%s version\n", hv);
    char *m_crlf = xasprintf("%s  version\r\n", hv);
    char *m_blank = xasprintf("%s  version\n\n", hv);
    char *m_dup = xasprintf("%s  version\n%s  version\n", hv, hv);
    char *m_long = xasprintf("%s  version\n%s  data/0000/%0101d\n", hv, hv, 0);
    char *m_noheader = xasprintf("%s  version\n", hv);
    char *m_badver = xasprintf("%064d  version\n%s  header.tar\n", 0, hv);
    struct {
        struct synth s;
        const char *want;
    } cases[] = {
        { { .manifest = m_upper }, "manifest: line 1: malformed checksum" },
        { { .manifest = m_one_space }, "manifest: line 1: malformed" },
        { { .manifest = m_crlf }, "manifest: line 1: malformed name" },
        { { .manifest = m_blank }, "manifest: line 2: malformed" },
        { { .manifest = m_dup }, "manifest: duplicate entry for version" },
        { { .manifest = m_long }, "manifest: line 2: name longer than 100 characters" },
        { { .manifest = "" }, "manifest: no entry for version" },
        { { .manifest = m_noheader }, "manifest: no entry for the header" },
        { { .manifest = m_badver }, "version: checksum mismatch" },
        { { .version = "{\"format\":\"mender\",\"version\":1}" }, "version 1 artifacts are not supported" },
        { { .version = "{\"format\":\"other\",\"version\":3}" }, "version: not a mender artifact" },
        { { .version = "{\"format\":\"mender\",\"version\":\"3\"}" }, "version: missing or non-integer version" },
        { { .version = "{\"format\":\"mender\"" }, "version: invalid JSON" },
        /* A different but valid version member: its manifest hash no longer matches. */
        { { .version = "{\"format\":\"mender\", \"version\":3}" }, "version: checksum mismatch" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        synth_bad(&cases[i].s, cases[i].want, BEFORE_HEADER);

    /* The manifest lines name files the payload must hold. */
    struct synth s = { .manifest_missing_data = true };
    synth_bad(&s, "data/0000/p.bin: not listed in manifest", BEFORE_PAYLOAD);
    s = (struct synth){ .manifest_append = "0000000000000000000000000000000000000000000000000000000000000000  "
                                           "data/0000/q.bin\n" };
    synth_bad(&s, "data/0000/q.bin: listed in manifest but missing from the payload", IN_PAYLOAD);
    /* A manifest without its final newline is accepted. */
    const struct ent hdr_def[] = { { "header-info", STD_HI, 0, 0 }, { "headers/0000/type-info", STD_TI, 0, 0 } };
    size_t hl;
    char *htar = mktar(hdr_def, 2, &hl);
    char *hh = sha_hex(htar, hl), *hp = sha_hex("payload\n", 8);
    char *m_nonl = xasprintf("%s  data/0000/p.bin\n%s  header.tar\n%s  version", hp, hh, hv);
    s = (struct synth){ .manifest = m_nonl };
    struct artifact_info info;
    synth_good(&s, &info);
    assert_strv(&info.payload_files, 1, "data/0000/p.bin");
    artifact_info_free(&info);
    free(m_nonl);
    free(hp);
    free(hh);
    free(htar);
    free(hv);
    free(up);
    free(m_upper);
    free(m_one_space);
    free(m_crlf);
    free(m_blank);
    free(m_dup);
    free(m_long);
    free(m_noheader);
    free(m_badver);
}

static void synth_payload_entries(void **state)
{
    (void)state;
    struct artifact_info info;
    /* Several files, and an empty one. */
    const struct ent two[] = { { "a-1.bin", "aaa", 0, 0 }, { "B_2,x.img", NULL, 0, 0 } };
    struct synth s = { .data = two, .ndata = 2 };
    synth_good(&s, &info);
    assert_int_equal(info.payload_files.n, 2);
    assert_int_equal(info.payload_bytes, 3);
    artifact_info_free(&info);

    struct {
        struct ent e;
        const char *want;
    } cases[] = {
        { { "a@b", "x", 0, 0 }, "data/0000.tar: invalid payload file name: a@b" },
        { { "\xc3\xa9t\xc3\xa9", "x", 0, 0 }, "invalid payload file name" },
        { { "dir/x", "x", 0, 0 }, "invalid payload file name: dir/x" },
        { { "..", "x", 0, 0 }, "invalid payload file name: .." },
        { { "sub", NULL, 0, AE_IFDIR }, "data/0000.tar: sub/: not a regular file" },
        { { "link", NULL, 0, AE_IFLNK }, "data/0000.tar: link: not a regular file" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        /* List the entry in the manifest so only the name or type check can fail. */
        char *h = sha_hex(cases[i].e.data ? cases[i].e.data : "", ent_len(&cases[i].e));
        char *extra = xasprintf("%s  data/0000/%s\n", h, cases[i].e.name);
        struct synth b = { .data = &cases[i].e, .ndata = 1, .manifest_missing_data = true, .manifest_append = extra };
        synth_bad(&b, cases[i].want, BEFORE_PAYLOAD);
        free(extra);
        free(h);
    }
    /* The same file twice in the payload. */
    const struct ent dup[] = { { "a", "x", 0, 0 }, { "a", "x", 0, 0 } };
    char *h = sha_hex("x", 1);
    char *m = xasprintf("%s  data/0000/a\n", h);
    s = (struct synth){ .data = dup, .ndata = 2, .manifest_missing_data = true, .manifest_append = m };
    synth_bad(&s, "data/0000/a: duplicate file in payload", IN_PAYLOAD);
    free(m);
    free(h);
}

static void synth_outer_members(void **state)
{
    (void)state;
    /* A non-regular outer member, an oversized version, and a missing header. */
    size_t hl;
    const struct ent hdr[] = { { "header-info", STD_HI, 0, 0 }, { "headers/0000/type-info", STD_TI, 0, 0 } };
    char *htar = mktar(hdr, 2, &hl);
    char *hv = sha_hex(STD_VERSION, strlen(STD_VERSION)), *hh = sha_hex(htar, hl);
    char *man = xasprintf("%s  header.tar\n%s  version\n", hh, hv);
    char *bigver = xmalloc(ARTIFACT_VERSION_MAX + 2);
    memset(bigver, ' ', ARTIFACT_VERSION_MAX + 1);
    bigver[ARTIFACT_VERSION_MAX + 1] = '\0';
    struct {
        struct ent e[4];
        size_t n;
        const char *want;
        enum stage st;
    } cases[] = {
        { { { "version", STD_VERSION, 0, 0 }, { "manifest", NULL, 0, AE_IFLNK } },
          2,
          "manifest: not a regular file",
          BEFORE_HEADER },
        { { { "version", bigver, 0, 0 } }, 1, "version: too large", BEFORE_HEADER },
        { { { "version", STD_VERSION, 0, 0 }, { "manifest", man, 0, 0 } },
          2,
          "header missing from artifact",
          BEFORE_HEADER },
        { { { "version", STD_VERSION, 0, 0 } }, 1, "manifest missing from artifact", BEFORE_HEADER },
        { { { "manifest", man, 0, 0 } }, 1, "unexpected file in artifact: manifest (expected version)", BEFORE_HEADER },
        { { { "version", STD_VERSION, 0, 0 },
            { "manifest", man, 0, 0 },
            { "header.tar", htar, hl, 0 },
            { "header.tar", htar, hl, 0 } },
          4,
          "unexpected file in artifact: header.tar (expected data/0000.tar or end of artifact)",
          BEFORE_PAYLOAD },
        { { { "version", STD_VERSION, 0, 0 }, { "manifest", man, 0, 0 }, { "header.tar.bz2", htar, hl, 0 } },
          3,
          "unexpected file in artifact: header.tar.bz2",
          BEFORE_HEADER },
        { { { "version", STD_VERSION, 0, 0 }, { "manifest", man, 0, 0 }, { "header.tar.gz", htar, hl, 0 } },
          3,
          "header.tar.gz: not listed in manifest",
          BEFORE_HEADER },
        { { { "version", STD_VERSION, 0, 0 }, { "manifest", man, 0, 0 }, { "./header.tar", htar, hl, 0 } },
          3,
          "unexpected file in artifact: ./header.tar",
          BEFORE_HEADER },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t ol;
        char *art = mktar(cases[i].e, cases[i].n, &ol);
        char *p = fx("outer.mender");
        FILE *f = fopen(p, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(art, 1, ol, f), ol);
        fclose(f);
        expect_bad_path(p, NULL, cases[i].want, cases[i].st);
        free(p);
        free(art);
    }
    /* Without a data member at all: fine if the manifest lists no payload file. */
    const struct ent nodata[] = { { "version", STD_VERSION, 0, 0 },
                                  { "manifest", man, 0, 0 },
                                  { "header.tar", htar, hl, 0 } };
    size_t ol;
    char *art = mktar(nodata, 3, &ol);
    char *p = fx("outer.mender");
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(art, 1, ol, f), ol);
    fclose(f);
    struct artifact_info info;
    struct error *err = NULL;
    struct rec rec = { 0 };
    assert_int_equal(read_path(p, NULL, &rec, &info, &err), 0);
    assert_null(info.data_member);
    assert_int_equal(rec.header_calls, 1);
    artifact_info_free(&info);
    rec_free(&rec);
    /* ... and a 0-byte data member too. */
    const struct ent zerodata[] = { { "version", STD_VERSION, 0, 0 },
                                    { "manifest", man, 0, 0 },
                                    { "header.tar", htar, hl, 0 },
                                    { "data/0000.tar.gz", NULL, 0, 0 } };
    free(art);
    art = mktar(zerodata, 4, &ol);
    f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(art, 1, ol, f), ol);
    fclose(f);
    assert_int_equal(read_path(p, NULL, &rec, &info, &err), 0);
    assert_string_equal(info.data_member, "data/0000.tar.gz");
    artifact_info_free(&info);
    rec_free(&rec);
    free(art);
    free(p);
    free(bigver);
    free(man);
    free(hh);
    free(hv);
    free(htar);
}

/* The hashing thread's digest is that of exactly the bytes pushed, slot after slot, for
 * file after file, whatever the slot lengths; a slot is handed out again only once hashed
 * (filling it at once must not change the digest of what was pushed before). */
static void hashpipe_digest_matches_one_pass(void **state)
{
    (void)state;
    struct hashpipe *hp = hashpipe_new();
    size_t total = 3 * HASHPIPE_SLOTS * HASHPIPE_SLOT;
    unsigned char *all = xmalloc(total);
    for (int file = 0; file < 3; file++) {
        size_t len = 0;
        hashpipe_begin(hp);
        for (unsigned i = 0; i < 3 * HASHPIPE_SLOTS; i++) {
            size_t n = (i * 7919u + (unsigned)file * 104729u) % HASHPIPE_SLOT + 1;
            unsigned char *slot = hashpipe_slot(hp);
            for (size_t k = 0; k < n; k++)
                slot[k] = (unsigned char)(k * 31u + i + (unsigned)file);
            memcpy(all + len, slot, n);
            len += n;
            hashpipe_push(hp, n);
        }
        unsigned char got[32], want[32];
        hashpipe_final(hp, got);
        artifact_sha256_buf(all, len, want);
        assert_memory_equal(got, want, 32);
    }
    hashpipe_begin(hp); /* an empty file */
    unsigned char got[32], want[32];
    hashpipe_final(hp, got);
    artifact_sha256_buf("", 0, want);
    assert_memory_equal(got, want, 32);
    hashpipe_begin(hp); /* a file given up half-way: freed by hashpipe_free */
    memset(hashpipe_slot(hp), 1, 10);
    hashpipe_push(hp, 10);
    hashpipe_free(hp);
    free(all);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hashpipe_digest_matches_one_pass),
        cmocka_unit_test(fixture_gzip),
        cmocka_unit_test(fixture_xz),
        cmocka_unit_test(fixture_none),
        cmocka_unit_test(fixture_zstd),
        cmocka_unit_test(fixture_signed_rsa),
        cmocka_unit_test(fixture_signed_ec_raw),
        cmocka_unit_test(fixture_signed_ec_der),
        cmocka_unit_test(fixture_wrong_key),
        cmocka_unit_test(fixture_unsigned_with_keys),
        cmocka_unit_test(fixture_edited_manifest),
        cmocka_unit_test(fixture_garbage_sig),
        cmocka_unit_test(fixture_flipped_payload_byte),
        cmocka_unit_test(fixture_flipped_header_byte),
        cmocka_unit_test(header_only_read),
        cmocka_unit_test(fixture_truncated),
        cmocka_unit_test(fixture_extra_member),
        cmocka_unit_test(fixture_dotdot_payload),
        cmocka_unit_test(fixture_no_data_line),
        cmocka_unit_test(fixture_missing_payload_file),
        cmocka_unit_test(fixture_wrong_order),
        cmocka_unit_test(fixture_augmented),
        cmocka_unit_test(fixture_two_payloads),
        cmocka_unit_test(fixture_zstd_named_gz),
        cmocka_unit_test(fixture_bootstrap),
        cmocka_unit_test(fixture_empty_payload),
        cmocka_unit_test(fixture_rootfs_image),
        cmocka_unit_test(fixture_v2),
        cmocka_unit_test(fixture_type_mismatch),
        cmocka_unit_test(fixture_not_an_artifact),
        cmocka_unit_test(sink_refuses),
        cmocka_unit_test(source_small_reads_and_errors),
        cmocka_unit_test(synth_defaults_and_type_info),
        cmocka_unit_test(synth_header_json_rules),
        cmocka_unit_test(synth_header_layout),
        cmocka_unit_test(synth_manifest_rules),
        cmocka_unit_test(synth_payload_entries),
        cmocka_unit_test(synth_outer_members),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

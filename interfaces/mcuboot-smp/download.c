/* Download: stream-next, the stream, upload chunks, the checks after the last one.
 *
 * The first chunk carries the image's length and, when the Artifact's meta-data gives it
 * ({"mcuboot_smp": {"sha256": "<hex>"}}, as scripts/mkmcuboot writes it), the SHA-256 of
 * the whole file: MCUmgr's upload session id. A device that holds part of an upload with
 * that id answers the first chunk with the offset it has, and the upload goes on from
 * there (the bytes before it are read from the stream and hashed, not sent). After a lost
 * answer the device's offset tells whether the chunk arrived. An offset behind ours means
 * the device lost the session (it was reset): the stream cannot go back, so the Download
 * fails and nothing was marked for test. */
#include "download.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "img.h"
#include "mcuboot_image.h"
#include "txn.h"

/* The SMP header and the CBOR of an upload request around its data: the first chunk also
 * carries len and sha (84 bytes at most), the others image, off and data (41 at most). */
#define FIRST_OVERHEAD 96
#define NEXT_OVERHEAD 48

struct upload {
    const struct msmp_ctx *c;
    struct smp smp;
    struct mcuboot_image img;
    int fd;          /* the stream */
    uint64_t total;  /* its size, from stream-next */
    uint64_t pos;    /* bytes read from it */
    uint8_t *buf;    /* the chunk being sent */
    size_t cap, len; /* its capacity and length */
    uint64_t off;    /* its offset */
    uint8_t sha[IMG_HASH_LEN];
    bool has_sha;
};

/* The whole file's SHA-256 from header/meta-data, if the Artifact has it. */
static int meta_sha(struct upload *u)
{
    json_error_t e;
    json_t *root = json_load_file("header/meta-data", 0, &e);
    const char *hex = json_string_value(json_object_get(json_object_get(root, "mcuboot_smp"), "sha256"));
    int r = 0;
    if (hex && img_unhex(hex, u->sha, IMG_HASH_LEN) < 0)
        r = msmp_fail(
            u->c,
            "the Artifact's meta-data mcuboot_smp.sha256 is not 64 hex digits; make the Artifact with scripts/mkmcuboot");
    u->has_sha = hex && r == 0;
    json_decref(root);
    return r;
}

/* Reads up to want bytes of the stream (fewer only at its end) into p, through the parser. */
static ssize_t take(struct upload *u, uint8_t *p, size_t want)
{
    size_t got = 0;
    while (got < want) {
        ssize_t r = read(u->fd, p + got, want - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return msmp_fail(u->c, "reading the payload stream: %s", strerror(errno));
        if (r == 0)
            break;
        got += (size_t)r;
    }
    const char *why;
    if (got && mcuboot_image_feed(&u->img, p, got, &why) < 0)
        return msmp_fail(u->c, "the payload is not a valid MCUboot image: %s", why);
    u->pos += got;
    if (u->pos > u->total)
        return msmp_fail(u->c, "the payload stream is longer than the %llu bytes announced",
                         (unsigned long long)u->total);
    return (ssize_t)got;
}

/* The next chunk, at u->pos. */
static int fill(struct upload *u)
{
    u->off = u->pos;
    uint64_t left = u->total - u->pos;
    size_t want = u->off ? u->cap : u->cap - (FIRST_OVERHEAD - NEXT_OVERHEAD);
    ssize_t r = take(u, u->buf, left < want ? (size_t)left : want);
    if (r < 0)
        return -1;
    u->len = (size_t)r;
    if (u->len == 0 && left > 0)
        return msmp_fail(u->c, "the payload stream ended at %llu of %llu bytes", (unsigned long long)u->pos,
                         (unsigned long long)u->total);
    return 0;
}

/* Reads (and hashes) the stream up to to, without sending: the device has these bytes. */
static int skip_to(struct upload *u, uint64_t to)
{
    while (u->pos < to) {
        uint64_t left = to - u->pos;
        ssize_t r = take(u, u->buf, left < u->cap ? (size_t)left : u->cap);
        if (r <= 0)
            return r < 0 ? -1 : msmp_fail(u->c, "the payload stream ended early");
    }
    return 0;
}

static int send_all(struct upload *u)
{
    int stalls = 0;
    if (fill(u) < 0)
        return -1;
    for (;;) {
        uint64_t next;
        unsigned long resent = u->smp.resent;
        if (img_upload(&u->smp, u->off, u->buf, u->len, u->total, u->has_sha ? u->sha : NULL, &next) < 0)
            return -1;
        uint64_t end = u->off + u->len;
        if (next == end) {
            if (next == u->total)
                return 0;
            stalls = 0;
        } else if (next > end && next <= u->total) {
            msmp_note(u->c, "the device already holds %llu bytes of this image: continuing from there",
                      (unsigned long long)next);
            if (skip_to(u, next) < 0)
                return -1;
            if (next == u->total)
                return 0;
        } else if (next == u->off) {
            if (++stalls > u->c->retries)
                return msmp_fail(u->c, "the device does not take the chunk at offset %llu", (unsigned long long)u->off);
            continue;
        } else if (end == u->total && u->smp.resent > resent) {
            /* the last chunk's answer was lost and the device, done, closed the session:
               finish() checks that slot 1 holds the image */
            return 0;
        } else {
            return msmp_fail(
                u->c,
                "the device restarted the upload at offset %llu while we were at %llu (it was reset or another client uploads): the image cannot be sent again from this stream; run the deployment again",
                (unsigned long long)next, (unsigned long long)u->off);
        }
        if (fill(u) < 0)
            return -1;
    }
}

/* stream-next: "streams/<name> <size>\n", or "" at the end (*name = 0). */
static int next_stream(const struct msmp_ctx *c, char *name, size_t n, uint64_t *size)
{
    FILE *f = fopen("stream-next", "re");
    if (!f)
        return msmp_fail(c, "stream-next in the work dir: %s", strerror(errno));
    char line[512] = "";
    if (!fgets(line, sizeof line, f))
        line[0] = '\0';
    fclose(f);
    name[0] = '\0';
    if (!line[0])
        return 0;
    char *sp = strchr(line, ' ');
    line[strcspn(line, "\n")] = '\0';
    if (!sp)
        return msmp_fail(c, "stream-next gave no size (the orchestrator should: ProvidePayloadFileSizes is Yes)");
    *sp = '\0';
    *size = strtoull(sp + 1, NULL, 10);
    snprintf(name, n, "%s", line);
    return 0;
}

/* Before the upload: records what runs, and clears a test mark left in slot 1. */
static int prepare(struct upload *u, struct txn *t)
{
    struct img_list l;
    if (img_list(&u->smp, &l, 0) < 0)
        return -1;
    const struct img_slot *run = img_running(&l);
    if (!run)
        return msmp_fail(u->c, "the device reports no running image");
    if (!run->confirmed)
        return msmp_fail(
            u->c,
            "the running image %s is not confirmed (a test boot is in progress): reset the MCU or confirm it, then run the deployment again",
            run->version);
    if (l.slot[1].present && l.slot[1].pending && !l.slot[1].active) {
        msmp_note(u->c, "slot 1 holds image %s marked for test by someone else: erasing it", l.slot[1].version);
        if (img_erase(&u->smp) < 0)
            return -1;
    }
    memset(t, 0, sizeof *t);
    t->has_old = true;
    memcpy(t->old_hash, run->hash, IMG_HASH_LEN);
    snprintf(t->old_version, sizeof t->old_version, "%s", run->version);
    snprintf(t->phase, sizeof t->phase, "downloading");
    return txn_save(u->c, t);
}

/* After the upload: the image checked, the device showing it in slot 1, the record. */
static int finish(struct upload *u, struct txn *t, long long started)
{
    const char *why;
    uint8_t file_sha[IMG_HASH_LEN];
    if (mcuboot_image_finish(&u->img, t->new_hash, file_sha, &why) < 0)
        return msmp_fail(u->c, "the payload is not a valid MCUboot image: %s", why);
    if (u->has_sha && memcmp(file_sha, u->sha, IMG_HASH_LEN))
        return msmp_fail(u->c, "the payload's SHA-256 differs from the Artifact's meta-data mcuboot_smp.sha256");
    char name[512];
    uint64_t size;
    if (next_stream(u->c, name, sizeof name, &size) < 0)
        return -1;
    if (name[0])
        return msmp_fail(u->c, "the Artifact carries more than one file (%s): give only the MCUboot image", name);
    struct img_list l;
    if (img_list(&u->smp, &l, 0) < 0)
        return -1;
    if (!img_same(&l.slot[1], t->new_hash))
        return msmp_fail(u->c,
                         "after the upload, slot 1 does not hold the image (hash mismatch or the device rejected it)");
    t->has_new = true;
    snprintf(t->new_version, sizeof t->new_version, "%s", u->img.version);
    snprintf(t->phase, sizeof t->phase, "downloaded");
    if (txn_save(u->c, t) < 0)
        return -1;
    long long ms = serial_now_ms() - started;
    msmp_note(u->c, "image %s (%llu bytes) uploaded to slot 1 in %lld ms (%llu B/s), %lu request%s sent again",
              t->new_version, (unsigned long long)u->total, ms,
              (unsigned long long)(ms > 0 ? u->total * 1000 / (unsigned long long)ms : 0), u->smp.resent,
              u->smp.resent == 1 ? "" : "s");
    return 0;
}

int msmp_download(const struct msmp_ctx *c)
{
    struct upload u = { .c = c, .fd = -1 };
    struct txn t;
    int r = -1;
    long long started = serial_now_ms();
    u.cap = (size_t)(c->mtu - NEXT_OVERHEAD);
    u.buf = malloc(u.cap);
    if (!u.buf || mcuboot_image_init(&u.img) < 0) {
        free(u.buf);
        return msmp_fail(c, "out of memory");
    }
    if (meta_sha(&u) < 0 || smp_open(&u.smp, c) < 0)
        goto out;
    if (prepare(&u, &t) < 0)
        goto out_smp;
    char name[512];
    if (next_stream(c, name, sizeof name, &u.total) < 0)
        goto out_smp;
    if (!name[0]) {
        msmp_fail(c, "the Artifact has no payload file: give the MCUboot image");
        goto out_smp;
    }
    u.fd = open(name, O_RDONLY | O_CLOEXEC);
    if (u.fd < 0) {
        msmp_fail(c, "%s in the work dir: %s", name, strerror(errno));
        goto out_smp;
    }
    if (u.total < MCUBOOT_HDR_LEN) {
        msmp_fail(c, "the payload (%llu bytes) is too small for an MCUboot image", (unsigned long long)u.total);
        goto out_smp;
    }
    msmp_note(c, "uploading %s (%llu bytes) to slot 1, %zu bytes per request", name, (unsigned long long)u.total,
              u.cap);
    if (send_all(&u) < 0 || skip_to(&u, u.total) < 0)
        goto out_smp;
    uint8_t extra;
    if (read(u.fd, &extra, 1) != 0) {
        msmp_fail(c, "the payload stream is longer than the %llu bytes announced", (unsigned long long)u.total);
        goto out_smp;
    }
    close(u.fd);
    u.fd = -1;
    r = finish(&u, &t, started);
out_smp:
    if (u.fd >= 0)
        close(u.fd);
    smp_close(&u.smp);
out:
    mcuboot_image_free(&u.img);
    free(u.buf);
    return r;
}

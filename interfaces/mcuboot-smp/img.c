/* Image management and OS group commands. */
#include "img.h"

#include <stdio.h>
#include <string.h>

void img_hex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
    out[2 * n] = '\0';
}

int img_unhex(const char *s, uint8_t *out, size_t n)
{
    if (strlen(s) != 2 * n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (uint8_t)v;
    }
    return 0;
}

bool img_same(const struct img_slot *slot, const uint8_t hash[IMG_HASH_LEN])
{
    return slot && slot->present && !memcmp(slot->hash, hash, IMG_HASH_LEN);
}

const struct img_slot *img_running(const struct img_list *l)
{
    for (int i = 0; i < 2; i++)
        if (l->slot[i].present && l->slot[i].active)
            return &l->slot[i];
    return l->slot[0].present ? &l->slot[0] : NULL;
}

static int parse_slot(const struct msmp_ctx *c, const cbor_item_t *m, struct img_list *out)
{
    uint64_t image = 0, slot = 0;
    smp_get_uint(m, "image", &image);
    if (image != 0)
        return 0; /* only image 0: one pair of slots */
    if (!smp_get_uint(m, "slot", &slot) || slot > 1)
        return msmp_fail(c, "image list: an entry without a slot 0 or 1");
    struct img_slot *s = &out->slot[slot];
    memset(s, 0, sizeof *s);
    cbor_item_t *v = smp_get(m, "version");
    cbor_item_t *h = smp_get(m, "hash");
    if (!v || !cbor_isa_string(v) || !cbor_string_is_definite(v) || cbor_string_length(v) >= sizeof s->version)
        return msmp_fail(c, "image list: slot %llu has no readable version", (unsigned long long)slot);
    if (!h || !cbor_isa_bytestring(h) || !cbor_bytestring_is_definite(h) || cbor_bytestring_length(h) != IMG_HASH_LEN)
        return msmp_fail(c, "image list: slot %llu has no SHA-256 hash (is the image signed/hashed with imgtool?)",
                         (unsigned long long)slot);
    memcpy(s->version, cbor_string_handle(v), cbor_string_length(v));
    for (char *p = s->version; *p; p++)
        if (*p < 0x21 || *p > 0x7e)
            *p = '_';
    memcpy(s->hash, cbor_bytestring_handle(h), IMG_HASH_LEN);
    s->bootable = smp_get_bool(m, "bootable", false);
    s->pending = smp_get_bool(m, "pending", false);
    s->confirmed = smp_get_bool(m, "confirmed", false);
    s->active = smp_get_bool(m, "active", false);
    s->permanent = smp_get_bool(m, "permanent", false);
    s->present = true;
    return 0;
}

static int parse_list(const struct msmp_ctx *c, const cbor_item_t *body, struct img_list *out)
{
    memset(out, 0, sizeof *out);
    cbor_item_t *images = smp_get(body, "images");
    if (!images || !cbor_isa_array(images))
        return msmp_fail(c, "image list: the answer has no \"images\" array");
    size_t n = cbor_array_size(images);
    cbor_item_t **it = cbor_array_handle(images);
    for (size_t i = 0; i < n; i++) {
        if (!cbor_isa_map(it[i]))
            return msmp_fail(c, "image list: an entry is not a map");
        if (parse_slot(c, it[i], out) < 0)
            return -1;
    }
    return 0;
}

/* Sends a request whose answer is the image list. */
static int list_request(struct smp *s, const char *what, int op, cbor_item_t *body, struct img_list *out, int attempts)
{
    cbor_item_t *a = smp_request(s, what, op, SMP_GROUP_IMAGE, SMP_IMG_STATE, body, attempts);
    if (!a)
        return -1;
    int r = parse_list(s->line.ctx, a, out);
    cbor_decref(&a);
    return r;
}

int img_list(struct smp *s, struct img_list *out, int attempts)
{
    cbor_item_t *body = cbor_new_definite_map(0);
    int r = body ? list_request(s, "image list", SMP_OP_READ, body, out, attempts) : -1;
    if (body)
        cbor_decref(&body);
    return r;
}

int img_state_write(struct smp *s, const uint8_t hash[IMG_HASH_LEN], bool confirm, struct img_list *out)
{
    cbor_item_t *body = cbor_new_definite_map(2);
    int r = -1;
    if (body && smp_put(body, "hash", cbor_build_bytestring(hash, IMG_HASH_LEN)) &&
        smp_put(body, "confirm", cbor_build_bool(confirm)))
        r = list_request(s, confirm ? "image confirm" : "image test", SMP_OP_WRITE, body, out, 0);
    if (body)
        cbor_decref(&body);
    return r;
}

int img_upload(struct smp *s, uint64_t off, const uint8_t *data, size_t n, uint64_t total, const uint8_t *sha,
               uint64_t *next)
{
    cbor_item_t *body = cbor_new_definite_map(5);
    cbor_item_t *a = NULL;
    bool ok = body && smp_put(body, "image", cbor_build_uint8(0)) && smp_put(body, "off", cbor_build_uint64(off)) &&
              smp_put(body, "data", cbor_build_bytestring(data, n));
    if (ok && off == 0)
        ok = smp_put(body, "len", cbor_build_uint64(total)) &&
             (!sha || smp_put(body, "sha", cbor_build_bytestring(sha, IMG_HASH_LEN)));
    char what[64];
    snprintf(what, sizeof what, "upload at offset %llu", (unsigned long long)off);
    if (ok)
        a = smp_request(s, what, SMP_OP_WRITE, SMP_GROUP_IMAGE, SMP_IMG_UPLOAD, body, 0);
    if (body)
        cbor_decref(&body);
    if (!a)
        return -1;
    int r = smp_get_uint(a, "off", next) ? 0 : msmp_fail(s->line.ctx, "%s: the answer has no offset", what);
    cbor_decref(&a);
    return r;
}

int img_erase(struct smp *s)
{
    cbor_item_t *body = cbor_new_definite_map(0);
    cbor_item_t *a = body ? smp_request(s, "erase of slot 1", SMP_OP_WRITE, SMP_GROUP_IMAGE, SMP_IMG_ERASE, body, 0)
                          : NULL;
    if (body)
        cbor_decref(&body);
    if (!a)
        return -1;
    cbor_decref(&a);
    return 0;
}

int img_reset(struct smp *s, struct img_list *out)
{
    const struct msmp_ctx *c = s->line.ctx;
    cbor_item_t *body = cbor_new_definite_map(0);
    if (!body)
        return msmp_fail(c, "reset: out of memory");
    /* Sent once: a reset sent again after a lost answer would reset the MCU twice, and the
       second reset reverts an image that was just swapped in for test. Without an answer
       the wait below tells: ArtifactVerifyReboot, or the rollback's next look, sees what
       runs. */
    s->quiet = true;
    cbor_item_t *a = smp_request(s, "reset", SMP_OP_WRITE, SMP_GROUP_OS, SMP_OS_RESET, body, 1);
    s->quiet = false;
    cbor_decref(&body);
    if (a)
        cbor_decref(&a);
    else
        msmp_note(c, "no answer to the reset (it may have reset before answering): waiting for the MCU");
    long long start = serial_now_ms(), deadline = start + c->boot_timeout_ms;
    serial_sleep_ms(c->reset_wait_ms);
    for (;;) {
        /* a USB-CDC device re-enumerates: the old descriptor is dead, open the path again */
        if (serial_reopen(&s->line, deadline) < 0)
            return -1;
        serial_flush_input(&s->line);
        s->quiet = true;
        int r = img_list(s, out, 1);
        s->quiet = false;
        if (r == 0) {
            msmp_note(c, "back after the reset in %lld ms", serial_now_ms() - start);
            return 0;
        }
        if (serial_now_ms() >= deadline)
            return msmp_fail(c, "no answer within %d ms after the reset (boot_timeout_ms): the MCU did not come back",
                             c->boot_timeout_ms);
    }
}

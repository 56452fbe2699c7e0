/* SMP requests and answers. */
#include "smp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

static const char *const RC_NAMES[] = {
    "EOK",       "EUNKNOWN", "ENOMEM",  "EINVAL",   "ETIMEOUT", "ENOENT",
    "EBADSTATE", "EMSGSIZE", "ENOTSUP", "ECORRUPT", "EBUSY",
};

int smp_open(struct smp *s, const struct msmp_ctx *ctx)
{
    memset(s, 0, sizeof *s);
    s->seq = (uint8_t)(serial_now_ms() & 0xff);
    return serial_open(&s->line, ctx);
}

void smp_close(struct smp *s) { serial_close(&s->line); }

cbor_item_t *smp_get(const cbor_item_t *map, const char *key)
{
    if (!map || !cbor_isa_map(map))
        return NULL;
    size_t n = cbor_map_size(map), k = strlen(key);
    struct cbor_pair *p = cbor_map_handle(map);
    for (size_t i = 0; i < n; i++)
        if (cbor_isa_string(p[i].key) && cbor_string_is_definite(p[i].key) && cbor_string_length(p[i].key) == k &&
            !memcmp(cbor_string_handle(p[i].key), key, k))
            return p[i].value;
    return NULL;
}

bool smp_get_uint(const cbor_item_t *map, const char *key, uint64_t *out)
{
    cbor_item_t *v = smp_get(map, key);
    if (!v || !cbor_isa_uint(v))
        return false;
    *out = cbor_get_int(v);
    return true;
}

bool smp_get_bool(const cbor_item_t *map, const char *key, bool dflt)
{
    cbor_item_t *v = smp_get(map, key);
    return v && cbor_is_bool(v) ? cbor_get_bool(v) : dflt;
}

bool smp_put(cbor_item_t *map, const char *key, cbor_item_t *value)
{
    cbor_item_t *k = cbor_build_string(key);
    bool ok = k && value && cbor_map_add(map, (struct cbor_pair){ .key = k, .value = value });
    if (k)
        cbor_decref(&k);
    if (value)
        cbor_decref(&value);
    return ok;
}

/* The "rc" or "err" of an answer: 0 when it reports none. */
static int answer_rc(const cbor_item_t *body, uint64_t *group)
{
    uint64_t rc = 0;
    *group = (uint64_t)-1;
    if (smp_get_uint(body, "rc", &rc))
        return (int)(rc > 1000 ? 1000 : rc);
    cbor_item_t *err = smp_get(body, "err");
    if (err && smp_get_uint(err, "rc", &rc)) {
        smp_get_uint(err, "group", group);
        return (int)(rc > 1000 ? 1000 : rc);
    }
    return 0;
}

static cbor_item_t *check_answer(struct smp *s, const char *what, const uint8_t *pkt, size_t n)
{
    const struct msmp_ctx *c = s->line.ctx;
    struct cbor_load_result res;
    cbor_item_t *body = n > 8 ? cbor_load(pkt + 8, n - 8, &res) : cbor_new_definite_map(0);
    if (!body || !cbor_isa_map(body)) {
        if (body)
            cbor_decref(&body);
        msmp_fail(c, "%s: the answer is not a CBOR map (is this an SMP server?)", what);
        return NULL;
    }
    uint64_t group;
    int rc = answer_rc(body, &group);
    if (rc) {
        const char *name = rc < (int)(sizeof RC_NAMES / sizeof RC_NAMES[0]) ? RC_NAMES[rc] : "?";
        if (group != (uint64_t)-1)
            msmp_fail(c, "%s: the device answered error %d (group %llu)", what, rc, (unsigned long long)group);
        else
            msmp_fail(c, "%s: the device answered rc=%d (%s)", what, rc, name);
        cbor_decref(&body);
        return NULL;
    }
    return body;
}

/* Waits for the answer to seq; 1 with it in *pkt, 0 on a timeout or a corrupt frame
 * (*corrupt set), -1 on a line error (printed). */
static int await(struct smp *s, struct frame_decoder *d, const uint8_t *req, const uint8_t **pkt, size_t *n,
                 int *corrupt)
{
    long long deadline = serial_now_ms() + s->line.ctx->timeout_ms;
    uint8_t buf[512];
    for (;;) {
        ssize_t r = serial_read(&s->line, buf, sizeof buf, deadline);
        if (r == 0)
            return 0;
        if (r < 0) {
            if (errno == EIO || errno == ENXIO || errno == ENODEV || errno == EBADF) {
                serial_sleep_ms(50); /* gone for a moment (a reset): a timeout unless it comes back */
                if (serial_now_ms() >= deadline)
                    return 0;
                continue;
            }
            return msmp_fail(s->line.ctx, "read failed: %s", strerror(errno));
        }
        for (ssize_t i = 0; i < r; i++) {
            enum frame_event ev = frame_feed(d, buf[i]);
            if (ev == FRAME_CORRUPT) {
                *corrupt = 1;
                return 0;
            }
            if (ev != FRAME_PACKET)
                continue;
            const uint8_t *p = frame_packet(d, n);
            /* an answer is op+1, same group, seq and id; anything else is stale */
            if (*n >= 8 && p[0] == req[0] + 1 && p[4] == req[4] && p[5] == req[5] && p[6] == req[6] && p[7] == req[7]) {
                size_t blen = (size_t)p[2] << 8 | p[3];
                if (blen + 8 != *n)
                    continue;
                *pkt = p;
                return 1;
            }
        }
    }
}

cbor_item_t *smp_request(struct smp *s, const char *what, int op, int group, int id, cbor_item_t *body, int attempts)
{
    const struct msmp_ctx *c = s->line.ctx;
    unsigned char *cb = NULL;
    size_t cb_cap = 0, cb_len = cbor_serialize_alloc(body, &cb, &cb_cap);
    if (!cb_len || cb_len + 8 > (size_t)c->mtu || cb_len + 8 > FRAME_PACKET_MAX) {
        free(cb);
        msmp_fail(c, "%s: the request does not fit in a packet", what);
        return NULL;
    }
    uint8_t *req = malloc(cb_len + 8);
    if (!req) {
        free(cb);
        msmp_fail(c, "%s: out of memory", what);
        return NULL;
    }
    uint8_t seq = s->seq++;
    req[0] = (uint8_t)op;
    req[1] = 0;
    req[2] = (uint8_t)(cb_len >> 8);
    req[3] = (uint8_t)cb_len;
    req[4] = (uint8_t)(group >> 8);
    req[5] = (uint8_t)group;
    req[6] = seq;
    req[7] = (uint8_t)id;
    memcpy(req + 8, cb, cb_len);
    free(cb);
    size_t flen;
    uint8_t *frame = frame_encode(req, cb_len + 8, &flen);
    cbor_item_t *answer = NULL;
    if (!frame) {
        msmp_fail(c, "%s: out of memory", what);
        goto out;
    }
    if (attempts <= 0)
        attempts = 1 + c->retries;
    int corrupt = 0;
    for (int a = 0; a < attempts; a++) {
        if (a > 0)
            s->resent++;
        struct frame_decoder d;
        frame_decoder_init(&d);
        if (serial_write(&s->line, frame, flen) < 0)
            goto out;
        const uint8_t *pkt = NULL;
        size_t n = 0;
        int got = await(s, &d, req, &pkt, &n, &corrupt);
        if (got < 0)
            goto out;
        if (got > 0) {
            answer = check_answer(s, what, pkt, n);
            goto out;
        }
    }
    if (!s->quiet)
        msmp_fail(
            c,
            "%s: no %sanswer after %d attempt%s of %d ms each; check the wiring, the baud rate (%ld) and that the SMP server runs on this line",
            what, corrupt ? "valid " : "", attempts, attempts == 1 ? "" : "s", c->timeout_ms, c->baud);
out:
    free(frame);
    free(req);
    return answer;
}

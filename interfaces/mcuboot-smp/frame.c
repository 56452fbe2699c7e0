/* SMP serial framing: line markers, base64 (OpenSSL's EVP_EncodeBlock/EVP_DecodeBlock),
 * CRC16-XMODEM. */
#include "frame.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#define RAW_PER_LINE 93 /* 124 base64 characters: 127 minus the two marker bytes and '\n' */

uint16_t frame_crc16(const uint8_t *p, size_t n)
{
    uint16_t crc = 0;
    for (size_t i = 0; i < n; i++) {
        crc ^= (uint16_t)(p[i] << 8);
        for (int b = 0; b < 8; b++)
            crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
    }
    return crc;
}

uint8_t *frame_encode(const uint8_t *packet, size_t n, size_t *out_len)
{
    if (n > FRAME_PACKET_MAX)
        return NULL;
    size_t raw_len = n + 4;
    uint8_t *raw = malloc(raw_len);
    size_t lines = (raw_len + RAW_PER_LINE - 1) / RAW_PER_LINE;
    uint8_t *out = malloc(lines * FRAME_LINE_MAX + 1);
    if (!raw || !out) {
        free(raw);
        free(out);
        return NULL;
    }
    uint16_t crc = frame_crc16(packet, n);
    raw[0] = (uint8_t)((n + 2) >> 8);
    raw[1] = (uint8_t)(n + 2);
    memcpy(raw + 2, packet, n);
    raw[n + 2] = (uint8_t)(crc >> 8);
    raw[n + 3] = (uint8_t)crc;
    size_t o = 0;
    for (size_t off = 0; off < raw_len; off += RAW_PER_LINE) {
        size_t k = raw_len - off < RAW_PER_LINE ? raw_len - off : RAW_PER_LINE;
        out[o++] = off == 0 ? 0x06 : 0x04;
        out[o++] = off == 0 ? 0x09 : 0x14;
        o += (size_t)EVP_EncodeBlock(out + o, raw + off, (int)k);
        out[o++] = '\n';
    }
    free(raw);
    *out_len = o;
    return out;
}

void frame_decoder_init(struct frame_decoder *d) { memset(d, 0, sizeof *d); }

/* Appends the base64 of one line (after its marker) to the frame; -1 if it is not base64. */
static int append_b64(struct frame_decoder *d, const uint8_t *s, size_t n)
{
    if (n == 0 || n % 4)
        return -1;
    if (d->buf_len + n / 4 * 3 > sizeof d->buf)
        return -1;
    int got = EVP_DecodeBlock(d->buf + d->buf_len, s, (int)n);
    if (got < 0)
        return -1;
    size_t pad = (s[n - 1] == '=') + (s[n - 2] == '=');
    d->buf_len += (size_t)got - pad;
    return 0;
}

static enum frame_event end_line(struct frame_decoder *d)
{
    const uint8_t *l = d->line;
    size_t n = d->line_len;
    int overflow = d->line_overflow;
    d->line_len = 0;
    d->line_overflow = 0;
    if (n > 0 && l[n - 1] == '\r')
        n--;
    int first = n >= 2 && l[0] == 0x06 && l[1] == 0x09;
    int cont = n >= 2 && l[0] == 0x04 && l[1] == 0x14;
    if (!first && !cont)
        return FRAME_NONE; /* console output */
    if (first) {
        d->in_frame = 1;
        d->buf_len = 0;
    } else if (!d->in_frame) {
        return FRAME_NONE; /* the rest of a frame we did not see begin */
    }
    if (overflow || append_b64(d, l + 2, n - 2) < 0) {
        d->in_frame = 0;
        return FRAME_CORRUPT;
    }
    if (d->buf_len < 2)
        return FRAME_NONE;
    size_t want = (size_t)d->buf[0] << 8 | d->buf[1];
    if (want < 2 || want + 2 > sizeof d->buf) {
        d->in_frame = 0;
        return FRAME_CORRUPT;
    }
    if (d->buf_len - 2 < want)
        return FRAME_NONE;
    d->in_frame = 0;
    if (d->buf_len - 2 > want || frame_crc16(d->buf + 2, want) != 0)
        return FRAME_CORRUPT;
    d->packet_len = want - 2;
    return FRAME_PACKET;
}

enum frame_event frame_feed(struct frame_decoder *d, uint8_t byte)
{
    if (byte == '\n')
        return end_line(d);
    if (d->line_len < sizeof d->line)
        d->line[d->line_len++] = byte;
    else
        d->line_overflow = 1;
    return FRAME_NONE;
}

const uint8_t *frame_packet(const struct frame_decoder *d, size_t *len)
{
    *len = d->packet_len;
    return d->buf + 2;
}

/* SMP over a serial line (the MCUmgr serial transport): a packet travels as
 *   base64( length:u16be | packet | crc16-xmodem(packet):u16be )
 * cut into lines of at most 127 bytes: the first starts with 0x06 0x09, the next ones with
 * 0x04 0x14, each ends with '\n'. length counts the packet and the CRC. Each line carries a
 * whole number of base64 quads (at most 124 characters), so a device may decode line by
 * line. Lines that start with neither marker are the device's console output and are
 * skipped. */
#ifndef MSMP_FRAME_H
#define MSMP_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define FRAME_LINE_MAX 127
#define FRAME_PACKET_MAX 8192

uint16_t frame_crc16(const uint8_t *p, size_t n);

/* The bytes to write for packet[0..n): a malloc'ed buffer and its length in *out_len, or
 * NULL (n too large or no memory). */
uint8_t *frame_encode(const uint8_t *packet, size_t n, size_t *out_len);

enum frame_event {
    FRAME_NONE,    /* keep feeding */
    FRAME_PACKET,  /* a whole packet with a good CRC: frame_packet() */
    FRAME_CORRUPT, /* a frame ended with a bad CRC, bad base64 or a bad length: dropped */
};

struct frame_decoder {
    uint8_t line[FRAME_LINE_MAX + 1];
    size_t line_len;
    int line_overflow;
    int in_frame;
    uint8_t buf[FRAME_PACKET_MAX + 4];
    size_t buf_len;
    size_t packet_len; /* of the packet just completed */
};

void frame_decoder_init(struct frame_decoder *d);

/* Feeds one byte; returns what it completed. */
enum frame_event frame_feed(struct frame_decoder *d, uint8_t byte);

/* The packet FRAME_PACKET announced (valid until the next frame_feed). */
const uint8_t *frame_packet(const struct frame_decoder *d, size_t *len);

#endif

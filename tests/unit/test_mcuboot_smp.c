/* The mcuboot-smp Interface's serial framing (interfaces/mcuboot-smp/frame.c) and its
 * streamed MCUboot image parser (interfaces/mcuboot-smp/mcuboot_image.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>
#include <cmocka.h>

#include "frame.h"
#include "mcuboot_image.h"

static void test_crc16_xmodem(void **state)
{
    (void)state;
    assert_int_equal(frame_crc16((const uint8_t *)"123456789", 9), 0x31C3);
}

/* Feeds buf to d; the number of packets, the last one in out. */
static int feed(struct frame_decoder *d, const uint8_t *buf, size_t n, uint8_t *out, size_t *out_len, int *corrupt)
{
    int packets = 0;
    for (size_t i = 0; i < n; i++) {
        enum frame_event ev = frame_feed(d, buf[i]);
        if (ev == FRAME_CORRUPT)
            (*corrupt)++;
        if (ev == FRAME_PACKET) {
            const uint8_t *p = frame_packet(d, out_len);
            memcpy(out, p, *out_len);
            packets++;
        }
    }
    return packets;
}

static void test_frame_lines_and_round_trip(void **state)
{
    (void)state;
    for (size_t n = 1; n < 700; n += 37) {
        uint8_t pkt[700], got[FRAME_PACKET_MAX];
        for (size_t i = 0; i < n; i++)
            pkt[i] = (uint8_t)(i * 7 + n);
        size_t len, got_len = 0;
        uint8_t *f = frame_encode(pkt, n, &len);
        assert_non_null(f);
        /* lines of at most 127 bytes, markers 06 09 then 04 14, base64 in whole quads */
        size_t start = 0, lines = 0;
        for (size_t i = 0; i < len; i++) {
            if (f[i] != '\n')
                continue;
            size_t l = i + 1 - start;
            assert_true(l <= FRAME_LINE_MAX);
            assert_int_equal(f[start], lines ? 0x04 : 0x06);
            assert_int_equal(f[start + 1], lines ? 0x14 : 0x09);
            assert_int_equal((l - 3) % 4, 0);
            start = i + 1;
            lines++;
        }
        assert_int_equal(start, len);
        /* console output before and between frames is skipped */
        struct frame_decoder d;
        frame_decoder_init(&d);
        int corrupt = 0;
        const char *console = "*** Booting Zephyr OS ***\r\nuart:~$ \n";
        assert_int_equal(feed(&d, (const uint8_t *)console, strlen(console), got, &got_len, &corrupt), 0);
        assert_int_equal(feed(&d, f, len, got, &got_len, &corrupt), 1);
        assert_int_equal(corrupt, 0);
        assert_int_equal(got_len, n);
        assert_memory_equal(got, pkt, n);
        free(f);
    }
}

static void test_frame_corruption_is_reported(void **state)
{
    (void)state;
    uint8_t pkt[200], got[FRAME_PACKET_MAX];
    memset(pkt, 0x5a, sizeof pkt);
    size_t len, got_len = 0;
    uint8_t *f = frame_encode(pkt, sizeof pkt, &len);
    f[20] = f[20] == 'A' ? 'B' : 'A'; /* still base64: the CRC catches it */
    struct frame_decoder d;
    frame_decoder_init(&d);
    int corrupt = 0;
    assert_int_equal(feed(&d, f, len, got, &got_len, &corrupt), 0);
    assert_int_equal(corrupt, 1);
    f[20] = '!'; /* not base64 */
    frame_decoder_init(&d);
    assert_int_equal(feed(&d, f, len, got, &got_len, &corrupt), 0);
    assert_int_equal(corrupt, 2);
    free(f);
}

/* An image as scripts/mkmcuboot writes it: 32-byte header, payload, SHA-256 TLV. */
static size_t make_image(uint8_t *out, size_t payload)
{
    memset(out, 0, 32);
    uint32_t magic = MCUBOOT_MAGIC;
    for (int i = 0; i < 4; i++)
        out[i] = (uint8_t)(magic >> (8 * i));
    out[8] = 32;                                                   /* header size */
    out[12] = (uint8_t)payload, out[13] = (uint8_t)(payload >> 8); /* image size */
    out[20] = 1, out[21] = 2, out[22] = 3;                         /* version 1.2.3 */
    for (size_t i = 0; i < payload; i++)
        out[32 + i] = (uint8_t)(i * 13);
    uint8_t *t = out + 32 + payload;
    t[0] = 0x07, t[1] = 0x69, t[2] = 40, t[3] = 0; /* TLV info: magic 0x6907, 40 bytes */
    t[4] = 0x10, t[5] = 0, t[6] = 32, t[7] = 0;    /* SHA-256 */
    SHA256(out, 32 + payload, t + 8);
    return 32 + payload + 40;
}

static void test_image_parsed_in_any_pieces(void **state)
{
    (void)state;
    static uint8_t img[5000];
    size_t n = make_image(img, 4000);
    for (size_t step = 1; step < 600; step += 97) {
        struct mcuboot_image m;
        assert_int_equal(mcuboot_image_init(&m), 0);
        const char *why = NULL;
        for (size_t o = 0; o < n; o += step)
            assert_int_equal(mcuboot_image_feed(&m, img + o, o + step < n ? step : n - o, &why), 0);
        uint8_t hash[32], file_sha[32], want[32];
        assert_int_equal(mcuboot_image_finish(&m, hash, file_sha, &why), 0);
        assert_string_equal(m.version, "1.2.3");
        assert_memory_equal(hash, img + 32 + 4000 + 8, 32);
        SHA256(img, n, want);
        assert_memory_equal(file_sha, want, 32);
        mcuboot_image_free(&m);
    }
}

static void test_image_errors(void **state)
{
    (void)state;
    static uint8_t img[5000];
    size_t n = make_image(img, 1000);
    struct mcuboot_image m;
    const char *why = NULL;
    uint8_t hash[32], file_sha[32];
    img[100] ^= 1; /* the content no longer matches its hash */
    assert_int_equal(mcuboot_image_init(&m), 0);
    assert_int_equal(mcuboot_image_feed(&m, img, n, &why), 0);
    assert_int_equal(mcuboot_image_finish(&m, hash, file_sha, &why), -1);
    assert_non_null(strstr(why, "corrupt"));
    mcuboot_image_free(&m);
    img[0] = 0; /* no magic */
    assert_int_equal(mcuboot_image_init(&m), 0);
    assert_int_equal(mcuboot_image_feed(&m, img, n, &why), -1);
    assert_non_null(strstr(why, "magic"));
    mcuboot_image_free(&m);
    n = make_image(img, 1000);
    assert_int_equal(mcuboot_image_init(&m), 0); /* truncated: no TLV area */
    assert_int_equal(mcuboot_image_feed(&m, img, n - 40, &why), 0);
    assert_int_equal(mcuboot_image_finish(&m, hash, file_sha, &why), -1);
    assert_non_null(strstr(why, "TLV"));
    mcuboot_image_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc16_xmodem),
        cmocka_unit_test(test_frame_lines_and_round_trip),
        cmocka_unit_test(test_frame_corruption_is_reported),
        cmocka_unit_test(test_image_parsed_in_any_pieces),
        cmocka_unit_test(test_image_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

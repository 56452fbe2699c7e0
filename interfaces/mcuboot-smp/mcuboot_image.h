/* An MCUboot image read as it streams past: the header (magic 0x96f3b83d, header size,
 * protected TLV size, image size, version), the SHA-256 over what MCUboot hashes (header,
 * image, protected TLVs), and the SHA-256 TLV (type 0x10) of the TLV area that follows.
 * Layout as in MCUboot's bootutil/image.h; a signature TLV is carried but not checked
 * here (the bootloader does). */
#ifndef MSMP_MCUBOOT_IMAGE_H
#define MSMP_MCUBOOT_IMAGE_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MCUBOOT_MAGIC 0x96f3b83dU
#define MCUBOOT_HDR_LEN 32
#define MCUBOOT_TLV_KEEP 4096 /* the TLV area kept for parsing */

struct mcuboot_image {
    uint64_t seen; /* bytes fed */
    uint8_t hdr[MCUBOOT_HDR_LEN];
    bool hdr_ok;
    uint16_t hdr_size, protect_tlv_size;
    uint32_t img_size;
    char version[48];
    EVP_MD_CTX *mcuboot_sha; /* header + image + protected TLVs */
    EVP_MD_CTX *file_sha;    /* every byte */
    uint8_t tlv[MCUBOOT_TLV_KEEP];
    size_t tlv_len;
};

/* Returns 0, or -1 (no memory). */
int mcuboot_image_init(struct mcuboot_image *m);
void mcuboot_image_free(struct mcuboot_image *m);

/* Feeds the next bytes. Returns 0, or -1 with a reason in why (not an MCUboot image). */
int mcuboot_image_feed(struct mcuboot_image *m, const uint8_t *p, size_t n, const char **why);

/* After the last byte: checks the structure and the hash; the image's hash (from its
 * SHA-256 TLV) in hash, the SHA-256 of the whole file in file_sha. 0, or -1 with why. */
int mcuboot_image_finish(struct mcuboot_image *m, uint8_t hash[32], uint8_t file_sha[32], const char **why);

#endif

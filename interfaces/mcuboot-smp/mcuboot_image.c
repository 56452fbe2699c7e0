/* The streamed MCUboot image: header, hash, TLVs. */
#include "mcuboot_image.h"

#include <stdio.h>
#include <string.h>

#define TLV_INFO_MAGIC 0x6907
#define TLV_PROT_INFO_MAGIC 0x6908
#define TLV_SHA256 0x10

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int mcuboot_image_init(struct mcuboot_image *m)
{
    memset(m, 0, sizeof *m);
    m->mcuboot_sha = EVP_MD_CTX_new();
    m->file_sha = EVP_MD_CTX_new();
    if (!m->mcuboot_sha || !m->file_sha || !EVP_DigestInit_ex(m->mcuboot_sha, EVP_sha256(), NULL) ||
        !EVP_DigestInit_ex(m->file_sha, EVP_sha256(), NULL)) {
        mcuboot_image_free(m);
        return -1;
    }
    return 0;
}

void mcuboot_image_free(struct mcuboot_image *m)
{
    EVP_MD_CTX_free(m->mcuboot_sha);
    EVP_MD_CTX_free(m->file_sha);
    m->mcuboot_sha = m->file_sha = NULL;
}

static int parse_header(struct mcuboot_image *m, const char **why)
{
    const uint8_t *h = m->hdr;
    if (le32(h) != MCUBOOT_MAGIC) {
        *why = "no MCUboot header (magic 0x96f3b83d) at its start: make the image with imgtool or scripts/mkmcuboot";
        return -1;
    }
    m->hdr_size = le16(h + 8);
    m->protect_tlv_size = le16(h + 10);
    m->img_size = le32(h + 12);
    if (m->hdr_size < MCUBOOT_HDR_LEN) {
        *why = "the MCUboot header's size is below 32 bytes";
        return -1;
    }
    /* major.minor.revision, and .build when not 0, as MCUmgr prints it */
    uint32_t build = le32(h + 24);
    int n = snprintf(m->version, sizeof m->version, "%u.%u.%u", h[20], h[21], le16(h + 22));
    if (build)
        snprintf(m->version + n, sizeof m->version - (size_t)n, ".%u", build);
    m->hdr_ok = true;
    return 0;
}

int mcuboot_image_feed(struct mcuboot_image *m, const uint8_t *p, size_t n, const char **why)
{
    if (!EVP_DigestUpdate(m->file_sha, p, n)) {
        *why = "SHA-256 failed";
        return -1;
    }
    for (size_t i = 0; i < n;) {
        uint64_t at = m->seen;
        if (at < MCUBOOT_HDR_LEN) {
            m->hdr[at] = p[i];
            if (at + 1 == MCUBOOT_HDR_LEN && parse_header(m, why) < 0)
                return -1;
        }
        /* the run of bytes from here that falls in one region: header, hashed, TLVs */
        uint64_t tlv_start = (uint64_t)m->hdr_size + m->img_size;
        uint64_t hashed_end = tlv_start + m->protect_tlv_size;
        size_t k = 1;
        if (at >= MCUBOOT_HDR_LEN) {
            k = n - i;
            if (at < hashed_end && k > hashed_end - at)
                k = (size_t)(hashed_end - at);
            if (at < tlv_start && k > tlv_start - at)
                k = (size_t)(tlv_start - at);
        }
        if ((!m->hdr_ok || at < hashed_end) && !EVP_DigestUpdate(m->mcuboot_sha, p + i, k)) {
            *why = "SHA-256 failed";
            return -1;
        }
        if (m->hdr_ok && at >= tlv_start) {
            size_t room = sizeof m->tlv - m->tlv_len, c = k < room ? k : room;
            memcpy(m->tlv + m->tlv_len, p + i, c);
            m->tlv_len += c;
        }
        m->seen += k;
        i += k;
    }
    return 0;
}

int mcuboot_image_finish(struct mcuboot_image *m, uint8_t hash[32], uint8_t file_sha[32], const char **why)
{
    unsigned len = 0;
    uint8_t computed[32];
    if (!m->hdr_ok) {
        *why = "shorter than an MCUboot header";
        return -1;
    }
    if (!EVP_DigestFinal_ex(m->file_sha, file_sha, &len) || !EVP_DigestFinal_ex(m->mcuboot_sha, computed, &len)) {
        *why = "SHA-256 failed";
        return -1;
    }
    size_t o = 0;
    if (m->protect_tlv_size) {
        if (m->tlv_len < 4 || le16(m->tlv) != TLV_PROT_INFO_MAGIC || le16(m->tlv + 2) != m->protect_tlv_size) {
            *why = "the protected TLV area does not match the header";
            return -1;
        }
        o = m->protect_tlv_size;
    }
    if (m->tlv_len < o + 4 || le16(m->tlv + o) != TLV_INFO_MAGIC) {
        *why = "no TLV area (magic 0x6907) after the image: it is truncated or not an MCUboot image";
        return -1;
    }
    size_t end = o + le16(m->tlv + o + 2);
    if (end > m->tlv_len) {
        *why = "the TLV area is longer than the file";
        return -1;
    }
    for (size_t t = o + 4; t + 4 <= end;) {
        uint16_t tlen = le16(m->tlv + t + 2);
        if (t + 4 + tlen > end)
            break;
        if (m->tlv[t] == TLV_SHA256 && tlen == 32) {
            memcpy(hash, m->tlv + t + 4, 32);
            if (memcmp(hash, computed, 32)) {
                *why = "its SHA-256 TLV does not match its content: the image is corrupt";
                return -1;
            }
            return 0;
        }
        t += 4 + tlen;
    }
    *why = "no SHA-256 TLV (type 0x10): MCUboot cannot check it";
    return -1;
}

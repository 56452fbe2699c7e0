/* MCUmgr's image management and OS groups as this Interface uses them: the image list
 * (group 1 id 0, read), marking an image for test or confirming it (group 1 id 0, write),
 * upload chunks (group 1 id 1), erasing the secondary slot (group 1 id 5), and the reset
 * (group 0 id 5) followed by the wait for the device to answer again. Only image 0 (one
 * pair of slots) is handled. */
#ifndef MSMP_IMG_H
#define MSMP_IMG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smp.h"

#define IMG_HASH_LEN 32
#define IMG_HEX_LEN (2 * IMG_HASH_LEN + 1)

struct img_slot {
    bool present;
    char version[48];
    uint8_t hash[IMG_HASH_LEN];
    bool bootable, pending, confirmed, active, permanent;
};

struct img_list {
    struct img_slot slot[2]; /* [0] primary, [1] secondary */
};

/* The image list. Returns 0, or -1 (printed). attempts: as smp_request. */
int img_list(struct smp *s, struct img_list *out, int attempts);

/* Marks the image with hash for test (confirm false) or for good (confirm true: the
 * running image is confirmed, another one is marked permanent). The new list in *out. */
int img_state_write(struct smp *s, const uint8_t hash[IMG_HASH_LEN], bool confirm, struct img_list *out);

/* One upload chunk at off (with total and, when known, sha at off 0). *next: the offset
 * the device wants next. */
int img_upload(struct smp *s, uint64_t off, const uint8_t *data, size_t n, uint64_t total, const uint8_t *sha,
               uint64_t *next);

/* Erases the secondary slot (cancels an image marked for test that never ran). */
int img_erase(struct smp *s);

/* Resets the MCU, then waits until it answers the image list again (the new list in *out). */
int img_reset(struct smp *s, struct img_list *out);

/* The running image: the slot marked active, else the primary when present, else NULL. */
const struct img_slot *img_running(const struct img_list *l);

bool img_same(const struct img_slot *slot, const uint8_t hash[IMG_HASH_LEN]);

void img_hex(const uint8_t *p, size_t n, char *out);
int img_unhex(const char *s, uint8_t *out, size_t n);

#endif

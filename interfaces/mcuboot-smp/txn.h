/* What the Interface remembers between its calls of one deployment: the file
 * tmp/mcuboot-smp.txn in the work dir (kept by the orchestrator until Cleanup, across
 * reboots). key=value lines, written whole (a temporary file, fsync, rename, fsync of
 * the folder), so a power cut leaves the old record or the new one:
 *   old_hash, old_version   the image that ran before (from the device, at Download)
 *   new_hash, new_version   the uploaded image (its SHA-256 TLV, its header's version)
 *   phase                   downloading | downloaded | installed | rolled-back */
#ifndef MSMP_TXN_H
#define MSMP_TXN_H

#include <stdbool.h>

#include "ctx.h"
#include "img.h"

#define TXN_PATH "tmp/mcuboot-smp.txn"

struct txn {
    bool has_old, has_new;
    uint8_t old_hash[IMG_HASH_LEN], new_hash[IMG_HASH_LEN];
    char old_version[48], new_version[48];
    char phase[16];
};

/* 1 with *t filled, 0 when there is no record, -1 when it cannot be read (printed). */
int txn_load(const struct msmp_ctx *c, struct txn *t);

/* Writes *t durably. 0, or -1 (printed). */
int txn_save(const struct msmp_ctx *c, const struct txn *t);

#endif

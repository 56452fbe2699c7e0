/* The Artifacts cache (docs/repository.md): repository files kept as
 * {cache}/<sha256> (complete and verified) or {cache}/<sha256>.tmp (being written, or
 * a partial download to continue with a Range request). One copy per file is shared by
 * all Components of a deployment; the first writes it while its Interface streams it,
 * the others wait for it. A cache that cannot take a file (missing directory, file over
 * MaxSizeBytes, full disk) gives a warning and the file is streamed uncached. */
#ifndef MO_REPO_CACHE_H
#define MO_REPO_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "inputs/config.h"
#include "util/cleanup.h"
#include "util/strv.h"

struct repo_cache;

/* NULL when the cache is disabled, or unusable (a warning says why). */
MO_MUST_CHECK struct repo_cache *repo_cache_open(const struct config *cfg);
void repo_cache_close(struct repo_cache *c);

enum cache_use { CACHE_NONE, CACHE_HIT, CACHE_WRITE };

struct cache_slot {
    enum cache_use use;
    char sha256[65];
    char *path;      /* HIT: the complete entry */
    int fd;          /* WRITE: appends to <sha256>.tmp */
    int prefix_fd;   /* WRITE: reads the bytes already in <sha256>.tmp (or -1) */
    uint64_t prefix; /* WRITE: how many */
};

/* How to get the file of this SHA-256 and size. Waits while another thread of this
 * process writes the same entry. c may be NULL (CACHE_NONE). */
void repo_cache_acquire(struct repo_cache *c, const char *sha256, uint64_t size, struct cache_slot *slot);

/* Path of the complete entry of this SHA-256 and size, or NULL (c may be NULL). */
MO_MUST_CHECK char *repo_cache_complete(struct repo_cache *c, const char *sha256, uint64_t size);

/* Ends a use. WRITE: complete = the whole file arrived and was verified (it becomes the
 * entry: fsync, rename, fsync dir); otherwise keep_partial keeps <sha256>.tmp for a
 * later Range request, else it is removed. */
void repo_cache_release(struct repo_cache *c, struct cache_slot *slot, bool complete, bool keep_partial);

/* End of a deployment: removes every entry, complete or partial, whose SHA-256 is not
 * in keep. Nothing happens when the cache is disabled or missing. */
void repo_cache_prune(const struct config *cfg, const struct strv *keep);

#endif

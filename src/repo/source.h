/* The bytes of one repository Artifact for one read (docs/repository.md): from
 * the cache when a complete entry is there, else downloaded, written to the cache on
 * the way when it can take it (and continued from a partial entry with Range). */
#ifndef MO_REPO_SOURCE_H
#define MO_REPO_SOURCE_H

#include <stdbool.h>
#include <stdint.h>

#include "artifact/artifact.h"
#include "repo/cache.h"
#include "repo/fetch.h"
#include "util/cleanup.h"
#include "util/error.h"

struct repo_ref {
    const char *url;
    uint64_t size;
    const char *sha256;
};

struct repo_reader;

/* header_bytes > 0: only that many first bytes are fetched, for the File API's header/
 * (a Range request; no cache writing, no waiting for a writer). cache may be NULL.
 * NULL with *err set on failure. */
MO_MUST_CHECK struct repo_reader *repo_reader_open(const struct fetch_opts *o, struct repo_cache *cache,
                                                   const struct repo_ref *ref, uint64_t header_bytes,
                                                   struct error **err);
/* The source to give artifact_read: its finish checks size and SHA-256. */
const struct artifact_source *repo_reader_source(struct repo_reader *r);
/* "cache" or "repository". */
const char *repo_reader_origin(const struct repo_reader *r);
/* The download's own failure once reading stopped (or NULL): a better reason than the
 * reader's for a broken or mismatching transfer. */
const char *repo_reader_error(struct repo_reader *r);
/* Ends the read: stops a transfer still running, settles the cache entry. NULL is ignored. */
void repo_reader_close(struct repo_reader *r);
MO_DEFINE_POINTER_CLEANUP(repo_reader_closep, struct repo_reader *, repo_reader_close)
#define _cleanup_repo_reader_ _cleanup_(repo_reader_closep)

#endif

/* The Artifact repository's index.json (docs/repository.md):
 * what `repo-index` writes and what selection reads. */
#ifndef MO_REPO_INDEX_H
#define MO_REPO_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "artifact/artifact.h"
#include "util/cleanup.h"
#include "util/error.h"

#define REPO_INDEX_NAME "index.json"
#define REPO_INDEX_MAX (16u * 1024 * 1024)

/* One Artifact file of the repository. info holds what the index tells of it (names,
 * compatible types, type provides/depends/clears, signed); nothing of the payload. */
struct repo_entry {
    char *file; /* relative to the repository URL */
    uint64_t size;
    char sha256[65]; /* hex SHA-256 of the whole file */
    struct artifact_info info;
};

struct repo_index {
    struct repo_entry *v;
    size_t n;
};

/* True if file is a valid relative name: '/'-separated segments of [A-Za-z0-9._,+-],
 * none empty, "." or "..". */
int repo_file_name_ok(const char *file);

/* Serialises the index (entries in the order given). Caller frees. */
MO_MUST_CHECK char *repo_index_to_json(const struct repo_index *idx);

/* Parses index.json text. Returns 0, or -1 with *err set to a one-line reason (naming
 * the entry and field); idx is then empty. */
MO_MUST_CHECK int repo_index_parse(const char *text, size_t len, struct repo_index *idx, struct error **err);

void repo_index_free(struct repo_index *idx);

#endif

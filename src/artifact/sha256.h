/* SHA-256 (sha256.c): the reader's checksums, and the hash other layers take of what
 * they wrote (deploy/plan.c). final also frees the context. */
#ifndef MO_ARTIFACT_SHA256_H
#define MO_ARTIFACT_SHA256_H

#include <stddef.h>

struct artifact_sha256;

struct artifact_sha256 *artifact_sha256_new(void);
void artifact_sha256_update(struct artifact_sha256 *h, const void *buf, size_t len);
void artifact_sha256_final(struct artifact_sha256 *h, unsigned char out[32]);
/* Frees a context without a digest (NULL is fine). */
void artifact_sha256_free(struct artifact_sha256 *h);
/* The digest of one buffer. */
void artifact_sha256_buf(const void *buf, size_t len, unsigned char out[32]);

#endif

#ifndef MO_ARTIFACT_HASHPIPE_H
#define MO_ARTIFACT_HASHPIPE_H

#include <stddef.h>

/* SHA-256 on a second thread over bytes the caller streams on (hashpipe.c). */
#define HASHPIPE_SLOTS 4u
#define HASHPIPE_SLOT (64u * 1024)

struct hashpipe;

struct hashpipe *hashpipe_new(void);
/* Starts a new digest (the previous one was taken by hashpipe_final). */
void hashpipe_begin(struct hashpipe *hp);
/* The next slot to fill, HASHPIPE_SLOT bytes; waits until it has been hashed. */
unsigned char *hashpipe_slot(struct hashpipe *hp);
/* Hands the slot just filled (len bytes) to the hashing thread. The caller may go on
 * reading it until its next hashpipe_slot(). */
void hashpipe_push(struct hashpipe *hp, size_t len);
/* Waits until every pushed slot is hashed; the digest of everything since begin. */
void hashpipe_final(struct hashpipe *hp, unsigned char out[32]);
/* Stops the thread. NULL is ignored. */
void hashpipe_free(struct hashpipe *hp);

#endif

/* SHA-256 of a payload file on a second thread, while the reader's thread goes on
 * writing the same bytes to the consumer (docs/benchmarks.md: hashing was 40% of an
 * uncompressed install's CPU, all of it on the one thread that also read the Artifact
 * and wrote the stream).
 *
 * The bytes pass through a ring of HASHPIPE_SLOTS slots owned by the pipe. The caller
 * fills the slot hashpipe_slot() gives it, hands it over with hashpipe_push() and may
 * read that slot until its next hashpipe_slot() call; the hashing thread only reads.
 * A slot is given out again only once it has been hashed, so the digest is always that
 * of exactly the bytes the caller saw. The verdict is taken at the end of the file, as
 * it was before: hashpipe_final() waits for the thread and returns the digest.
 *
 * If the thread cannot be started, every push is hashed at once on the caller's thread
 * (same result, no parallelism). */
#include "artifact/hashpipe.h"

#include <assert.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "artifact/sha256.h"
#include "util/mem.h"

struct hashpipe {
    unsigned char *buf; /* HASHPIPE_SLOTS slots of HASHPIPE_SLOT bytes */
    size_t len[HASHPIPE_SLOTS];
    struct artifact_sha256 *md; /* the file being hashed; NULL between files */
    unsigned head;              /* pushes so far (slot head % SLOTS is the next to fill) */
    unsigned done;              /* slots hashed so far */
    bool threaded, quit;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t pushed, hashed;
};

static void *hash_main(void *arg)
{
    struct hashpipe *hp = arg;
    pthread_mutex_lock(&hp->mu);
    for (;;) {
        while (hp->done == hp->head && !hp->quit)
            pthread_cond_wait(&hp->pushed, &hp->mu);
        if (hp->done == hp->head)
            break; /* quit, nothing left */
        unsigned slot = hp->done % HASHPIPE_SLOTS;
        pthread_mutex_unlock(&hp->mu);
        artifact_sha256_update(hp->md, hp->buf + (size_t)slot * HASHPIPE_SLOT, hp->len[slot]);
        pthread_mutex_lock(&hp->mu);
        hp->done++;
        pthread_cond_signal(&hp->hashed);
    }
    pthread_mutex_unlock(&hp->mu);
    return NULL;
}

struct hashpipe *hashpipe_new(void)
{
    struct hashpipe *hp = xcalloc(1, sizeof(*hp));
    hp->buf = xmalloc((size_t)HASHPIPE_SLOTS * HASHPIPE_SLOT);
    pthread_mutex_init(&hp->mu, NULL);
    pthread_cond_init(&hp->pushed, NULL);
    pthread_cond_init(&hp->hashed, NULL);
    hp->threaded = pthread_create(&hp->thread, NULL, hash_main, hp) == 0;
    return hp;
}

void hashpipe_begin(struct hashpipe *hp)
{
    assert(hp);
    /* Between files the thread is idle (done == head), so md is ours to set. */
    pthread_mutex_lock(&hp->mu);
    hp->md = artifact_sha256_new();
    pthread_mutex_unlock(&hp->mu);
}

unsigned char *hashpipe_slot(struct hashpipe *hp)
{
    assert(hp);
    pthread_mutex_lock(&hp->mu);
    while (hp->head - hp->done >= HASHPIPE_SLOTS)
        pthread_cond_wait(&hp->hashed, &hp->mu);
    unsigned slot = hp->head % HASHPIPE_SLOTS;
    pthread_mutex_unlock(&hp->mu);
    return hp->buf + (size_t)slot * HASHPIPE_SLOT;
}

void hashpipe_push(struct hashpipe *hp, size_t len)
{
    assert(hp && len <= HASHPIPE_SLOT);
    pthread_mutex_lock(&hp->mu);
    unsigned slot = hp->head % HASHPIPE_SLOTS;
    hp->len[slot] = len;
    if (!hp->threaded) {
        artifact_sha256_update(hp->md, hp->buf + (size_t)slot * HASHPIPE_SLOT, len);
        hp->done++;
    }
    hp->head++;
    pthread_cond_signal(&hp->pushed);
    pthread_mutex_unlock(&hp->mu);
}

void hashpipe_final(struct hashpipe *hp, unsigned char out[32])
{
    assert(hp);
    pthread_mutex_lock(&hp->mu);
    while (hp->done != hp->head)
        pthread_cond_wait(&hp->hashed, &hp->mu);
    struct artifact_sha256 *md = hp->md;
    hp->md = NULL;
    pthread_mutex_unlock(&hp->mu);
    if (md)
        artifact_sha256_final(md, out);
}

void hashpipe_free(struct hashpipe *hp)
{
    if (!hp)
        return;
    unsigned char discard[32];
    hashpipe_final(hp, discard);
    if (hp->threaded) {
        pthread_mutex_lock(&hp->mu);
        hp->quit = true;
        pthread_cond_signal(&hp->pushed);
        pthread_mutex_unlock(&hp->mu);
        pthread_join(hp->thread, NULL);
    }
    pthread_cond_destroy(&hp->hashed);
    pthread_cond_destroy(&hp->pushed);
    pthread_mutex_destroy(&hp->mu);
    free(hp->buf);
    free(hp);
}

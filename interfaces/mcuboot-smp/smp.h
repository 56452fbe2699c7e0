/* SMP requests over the serial framing: an 8-byte header (op, flags, length, group, seq,
 * id; big-endian) and a CBOR map body (libcbor). Every request waits timeout_ms for its
 * answer and is sent again, with the same sequence number, after a lost or corrupt
 * answer, retries times at most. */
#ifndef MSMP_SMP_H
#define MSMP_SMP_H

#include <cbor.h>
#include <stdbool.h>
#include <stdint.h>

#include "serial.h"

enum { SMP_OP_READ = 0, SMP_OP_WRITE = 2 };
enum { SMP_GROUP_OS = 0, SMP_GROUP_IMAGE = 1 };
enum { SMP_OS_ECHO = 0, SMP_OS_RESET = 5 };
enum { SMP_IMG_STATE = 0, SMP_IMG_UPLOAD = 1, SMP_IMG_ERASE = 5 };

struct smp {
    struct serial line;
    uint8_t seq;
    unsigned long resent; /* requests sent again (lost or corrupt answers), for the summary */
    bool quiet;           /* while polling a device that is booting: no "no answer" line */
};

int smp_open(struct smp *s, const struct msmp_ctx *ctx);
void smp_close(struct smp *s);

/* Sends the request (body: a CBOR map, not consumed) and returns its answer's body (a
 * map, the caller's to cbor_decref), or NULL after printing why. An answer with a
 * non-zero "rc" (SMP v1) or an "err" map (SMP v2) is an error naming what was asked.
 * attempts: 0 for 1 + ctx->retries. */
cbor_item_t *smp_request(struct smp *s, const char *what, int op, int group, int id, cbor_item_t *body, int attempts);

/* Map helpers over an answer: the value of key, or NULL. */
cbor_item_t *smp_get(const cbor_item_t *map, const char *key);
bool smp_get_uint(const cbor_item_t *map, const char *key, uint64_t *out);
bool smp_get_bool(const cbor_item_t *map, const char *key, bool dflt);

/* Adds key: value to a request map (value consumed). Returns false on no memory. */
bool smp_put(cbor_item_t *map, const char *key, cbor_item_t *value);

#endif

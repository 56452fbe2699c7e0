/* HTTP(S) downloads with libcurl (docs/repository.md): TLS always verified
 * (ServerCertificate adds a trusted CA to the system's), HttpsClient client
 * certificates, proxy variables (libcurl's own handling), connect and low-speed
 * timeouts, and broken transfers retried with backoff, continued by Range requests. */
#ifndef MO_REPO_FETCH_H
#define MO_REPO_FETCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "inputs/config.h"
#include "util/cleanup.h"
#include "util/error.h"

struct fetch_opts {
    const char *server_ca;   /* ServerCertificate: PEM file of extra trusted certificates */
    const char *client_cert; /* HttpsClient.Certificate */
    const char *client_key;  /* HttpsClient.Key (file, or a pkcs11: URI) */
    long connect_timeout;    /* seconds */
    long low_speed_time;     /* seconds below 1 byte/s before a transfer counts as broken */
    int retries;             /* after the first attempt */
    long backoff_ms;         /* first pause between attempts; doubles */
};

/* Settings from the configuration (timeouts: MO_TEST_FETCH_* in test builds). */
void fetch_opts_from_config(const struct config *cfg, struct fetch_opts *o);

/* Joins the repository URL and a relative file name with one '/'. Caller frees. */
MO_MUST_CHECK char *fetch_join_url(const char *base, const char *file);

/* GETs url into a NUL-terminated buffer of at most max bytes. 0, or -1 with *err set. */
MO_MUST_CHECK int fetch_buffer(const struct fetch_opts *o, const char *url, size_t max, char **out, size_t *len,
                               struct error **err);

/* A download read as a byte stream (a thread runs the transfer into a pipe). */
struct fetch_stream;

struct fetch_stream_args {
    const char *url;
    uint64_t size;        /* expected file size (index); 0 = unknown, not checked */
    const char *sha256;   /* expected hex SHA-256 (index); NULL = not checked */
    int prefix_fd;        /* -1, or a file holding the first bytes (a partial cache entry):
                                  * they are read first and the transfer starts after them */
    int tee_fd;           /* -1, or where every byte is appended (the cache entry) */
    uint64_t first_bytes; /* >0: only the file's first bytes are wanted (a Range request;
                                  * a server without ranges sends everything) */
};

/* Starts the transfer. NULL with *err set when it cannot. */
MO_MUST_CHECK struct fetch_stream *fetch_stream_open(const struct fetch_opts *o, const struct fetch_stream_args *a,
                                                     struct error **err);
/* Bytes read, 0 at the end, -1 when the download failed (fetch_stream_finish says why). */
MO_MUST_CHECK ssize_t fetch_stream_read(struct fetch_stream *s, void *buf, size_t len);
/* Reads what is left, waits for the transfer and checks size and SHA-256: 0, or -1 with
 * *err set. */
MO_MUST_CHECK int fetch_stream_finish(struct fetch_stream *s, struct error **err);
/* Once the transfer ended (a read gave 0 or -1): its failure, or NULL. */
const char *fetch_stream_error(struct fetch_stream *s);
/* True once the whole file arrived and matched size and SHA-256. */
int fetch_stream_done(const struct fetch_stream *s);
/* True if the tee file got every byte (tee not dropped after a write error). */
int fetch_stream_tee_ok(const struct fetch_stream *s);
/* True if the failure was a content mismatch (size or SHA-256), not a transfer error. */
int fetch_stream_mismatch(const struct fetch_stream *s);
/* Stops the transfer if still running and frees s. */
void fetch_stream_close(struct fetch_stream *s);

#endif

/* SHA-256 for the reader, the repository downloads and the index. OpenSSL's low-level
 * SHA256_* functions run the same optimised code as EVP without initialising the
 * provider machinery, which alone costs about 2 MiB of resident memory
 * (bench/artifact_rss.sh). The build links them from libcrypto.a when it is there
 * (meson.build: about 25 KiB of code, the CPU-specific assembly included), so that an
 * install that checks no signature never maps libcrypto.so (1.5 MiB resident);
 * signature verification loads it (crypto_dl.c). They are deprecated in OpenSSL 3,
 * hence the fallback to EVP, linked, on builds without them. */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/evp.h>
#include <openssl/opensslconf.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>

#include "artifact/sha256.h"
#include "util/mem.h"

#ifndef OPENSSL_NO_DEPRECATED_3_0
struct artifact_sha256 {
    SHA256_CTX c;
};

struct artifact_sha256 *artifact_sha256_new(void)
{
    struct artifact_sha256 *h = xmalloc(sizeof(*h));
    SHA256_Init(&h->c);
    return h;
}

void artifact_sha256_update(struct artifact_sha256 *h, const void *buf, size_t len) { SHA256_Update(&h->c, buf, len); }

void artifact_sha256_final(struct artifact_sha256 *h, unsigned char out[32])
{
    SHA256_Final(out, &h->c);
    free(h);
}

void artifact_sha256_free(struct artifact_sha256 *h) { free(h); }
#else
struct artifact_sha256 {
    EVP_MD_CTX *c;
};

struct artifact_sha256 *artifact_sha256_new(void)
{
    struct artifact_sha256 *h = xmalloc(sizeof(*h));
    h->c = EVP_MD_CTX_new();
    if (!h->c || EVP_DigestInit_ex(h->c, EVP_sha256(), NULL) != 1) {
        fputs("mender-orchestrator: out of memory\n", stderr); /* as util/mem.c */
        exit(1);
    }
    return h;
}

void artifact_sha256_update(struct artifact_sha256 *h, const void *buf, size_t len)
{
    EVP_DigestUpdate(h->c, buf, len);
}

void artifact_sha256_final(struct artifact_sha256 *h, unsigned char out[32])
{
    unsigned int n = 32;
    EVP_DigestFinal_ex(h->c, out, &n);
    artifact_sha256_free(h);
}

void artifact_sha256_free(struct artifact_sha256 *h)
{
    if (!h)
        return;
    EVP_MD_CTX_free(h->c);
    free(h);
}
#endif

void artifact_sha256_buf(const void *buf, size_t len, unsigned char out[32])
{
    struct artifact_sha256 *h = artifact_sha256_new();
    artifact_sha256_update(h, buf, len);
    artifact_sha256_final(h, out);
}

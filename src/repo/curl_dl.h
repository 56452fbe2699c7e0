/* libcurl, loaded with dlopen at the first transfer. Linked normally it maps some forty
 * libraries (its TLS, HTTP/2, IDN, LDAP, SSH, Kerberos... dependencies) into every run,
 * about 4.5 MiB more peak RSS even for `--version` or an install from local files
 * (docs/benchmarks.md). fetch.c includes this header instead of <curl/curl.h>: the
 * curl_* calls it makes (and libssl's SSL_CTX_get_cert_store, for ServerCertificate)
 * go through the pointers filled by curl_dl_load(). */
#ifndef MO_CURL_DL_H
#define MO_CURL_DL_H

#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include <openssl/ssl.h>
#include <stddef.h>

#include "util/cleanup.h"
#include "util/error.h"

struct curl_dl {
    CURLcode (*global_init)(long flags);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *c, CURLoption opt, ...);
    CURLcode (*easy_perform)(CURL *c);
    CURLcode (*easy_getinfo)(CURL *c, CURLINFO info, ...);
    void (*easy_cleanup)(CURL *c);
    const char *(*easy_strerror)(CURLcode rc);
    X509_STORE *(*ssl_ctx_get_cert_store)(const SSL_CTX *ctx);
};
extern struct curl_dl curl_dl;

/* Loads libcurl.so.4 and calls curl_global_init, once (thread-safe). 0, or -1 with *err
 * set; after a failure curl_easy_init() returns NULL. */
MO_MUST_CHECK int curl_dl_load(struct error **err);

#undef curl_easy_setopt
#undef curl_easy_getinfo
#define curl_easy_init() (curl_dl.easy_init ? curl_dl.easy_init() : NULL)
#define curl_easy_setopt(...) curl_dl.easy_setopt(__VA_ARGS__)
#define curl_easy_perform(c) curl_dl.easy_perform(c)
#define curl_easy_getinfo(...) curl_dl.easy_getinfo(__VA_ARGS__)
#define curl_easy_cleanup(c) curl_dl.easy_cleanup(c)
#define curl_easy_strerror(rc) curl_dl.easy_strerror(rc)
#define SSL_CTX_get_cert_store(ctx) curl_dl.ssl_ctx_get_cert_store(ctx)

#endif

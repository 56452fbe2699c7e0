#include "repo/curl_dl.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "util/dl.h"
#include "util/mem.h"

struct curl_dl curl_dl;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char *load_error; /* why load() failed; set once, kept for every later caller */

static const struct dl_symbol symbols[] = {
    { "curl_global_init", offsetof(struct curl_dl, global_init) },
    { "curl_easy_init", offsetof(struct curl_dl, easy_init) },
    { "curl_easy_setopt", offsetof(struct curl_dl, easy_setopt) },
    { "curl_easy_perform", offsetof(struct curl_dl, easy_perform) },
    { "curl_easy_getinfo", offsetof(struct curl_dl, easy_getinfo) },
    { "curl_easy_cleanup", offsetof(struct curl_dl, easy_cleanup) },
    { "curl_easy_strerror", offsetof(struct curl_dl, easy_strerror) },
    { "SSL_CTX_get_cert_store", offsetof(struct curl_dl, ssl_ctx_get_cert_store) }, /* from its libssl */
};

static void load(void)
{
    struct curl_dl loaded;
    if (!dl_load_table("libcurl.so.4", symbols, sizeof(symbols) / sizeof(symbols[0]), &loaded, sizeof(loaded),
                       &load_error))
        return;
    if (loaded.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        load_error = xstrdup("libcurl: curl_global_init failed");
        return;
    }
    curl_dl = loaded;
}

int curl_dl_load(struct error **err)
{
    pthread_once(&once, load);
    if (curl_dl.easy_init)
        return 0;
    return error_set(err, 0, "%s", load_error);
}

#include "repo/curl_dl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "util/mem.h"

struct curl_dl curl_dl;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char *load_error; /* why load() failed; set once, kept for every later caller */

static const struct {
    const char *name;
    size_t offset;
} symbols[] = {
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
    void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        load_error = xasprintf("cannot load libcurl: %s", e ? e : "unknown error");
        return;
    }
    struct curl_dl loaded;
    for (size_t i = 0; i < sizeof(symbols) / sizeof(symbols[0]); i++) {
        void *sym = dlsym(h, symbols[i].name);
        if (!sym) {
            load_error = xasprintf("libcurl.so.4: %s is missing", symbols[i].name);
            dlclose(h);
            return;
        }
        /* POSIX guarantees function pointers survive the round trip through void *. */
        memcpy((char *)&loaded + symbols[i].offset, &sym, sizeof(sym));
    }
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

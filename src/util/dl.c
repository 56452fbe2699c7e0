#include "util/dl.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/mem.h"

void *dl_load_table(const char *soname, const struct dl_symbol *syms, size_t n, void *table, size_t table_size,
                    char **msg)
{
    void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        *msg = xasprintf("cannot load %s: %s", soname, e ? e : "unknown error");
        return NULL;
    }
    _cleanup_free_ char *loaded = xmalloc(table_size);
    for (size_t i = 0; i < n; i++) {
        void *sym = dlsym(h, syms[i].name);
        if (!sym) {
            *msg = xasprintf("%s: %s is missing", soname, syms[i].name);
            dlclose(h);
            return NULL;
        }
        /* POSIX guarantees function pointers survive the round trip through void *. */
        memcpy(loaded + syms[i].offset, &sym, sizeof(sym));
    }
    memcpy(table, loaded, table_size);
    return h;
}

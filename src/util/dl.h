/* Libraries loaded on first use (dlopen) instead of linked: a table of function pointers
 * filled from a list of symbol names. What is linked is mapped and relocated at every
 * start, used or not (docs/benchmarks.md, "Memory"); repo/curl_dl.c (libcurl) and
 * artifact/crypto_dl.c (OpenSSL's libcrypto, for signatures) load theirs this way. */
#ifndef MO_DL_H
#define MO_DL_H

#include <stddef.h>

struct dl_symbol {
    const char *name;
    size_t offset; /* of its function pointer in the table */
};

/* dlopen(soname) and fills the table's pointers from syms. Returns the handle, or NULL
 * with *msg set to a one-line reason (free it). The table is written only on success. */
void *dl_load_table(const char *soname, const struct dl_symbol *syms, size_t n, void *table, size_t table_size,
                    char **msg);

#endif

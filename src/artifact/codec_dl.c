/* The decompression libraries of libarchive's read filters, loaded with dlopen when an
 * Artifact first uses their codec (builds that link libarchive.a: meson.build,
 * static_libarchive). Linked, zlib, liblzma and libzstd are mapped and relocated at every
 * start, about 280 KiB of resident memory, though an uncompressed Artifact needs none of
 * them and a gzip one only zlib (docs/benchmarks.md, "Memory").
 *
 * Each function libarchive.a calls is defined here under its own name (the linker takes
 * it instead of the library's) and forwards to the library, loaded at the first call.
 * When a library cannot be loaded, the stream's set-up fails as when it is out of memory
 * (libarchive reports it on the Artifact), after one error line naming the library. */
#include <lzma.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <zlib.h>
#include <zstd.h>

#include "util/dl.h"
#include "util/log.h"

#define FN(name) __typeof__(name) *name
#define SYM(table, name)                    \
    {                                       \
#name, offsetof(struct table, name) \
    }
#define N(a) (sizeof(a) / sizeof(a[0]))

/* dlopen once; true when the table is filled. */
static bool load(pthread_once_t *once, void (*fn)(void), const bool *ok)
{
    pthread_once(once, fn);
    return *ok;
}

static void load_table(const char *soname, const struct dl_symbol *syms, size_t n, void *table, size_t size, bool *ok)
{
    char *msg = NULL;
    *ok = dl_load_table(soname, syms, n, table, size, &msg) != NULL;
    if (!*ok)
        log_error("%s; Artifacts compressed with it cannot be read", msg);
    free(msg);
}

/* ---- zlib (gzip) ----------------------------------------------------------------------- */

static struct z_dl {
    FN(inflateInit2_);
    FN(inflate);
    FN(inflateEnd);
    FN(crc32);
} z;
static const struct dl_symbol z_syms[] = { SYM(z_dl, inflateInit2_), SYM(z_dl, inflate), SYM(z_dl, inflateEnd),
                                           SYM(z_dl, crc32) };
static pthread_once_t z_once = PTHREAD_ONCE_INIT;
static bool z_ok;
static void z_load(void) { load_table("libz.so.1", z_syms, N(z_syms), &z, sizeof(z), &z_ok); }
#define Z_READY load(&z_once, z_load, &z_ok)

int inflateInit2_(z_streamp strm, int window_bits, const char *version, int stream_size)
{
    return Z_READY ? z.inflateInit2_(strm, window_bits, version, stream_size) : Z_MEM_ERROR;
}
int inflate(z_streamp strm, int flush) { return Z_READY ? z.inflate(strm, flush) : Z_STREAM_ERROR; }
int inflateEnd(z_streamp strm) { return Z_READY ? z.inflateEnd(strm) : Z_STREAM_ERROR; }
uLong crc32(uLong crc, const Bytef *buf, uInt len) { return Z_READY ? z.crc32(crc, buf, len) : 0; }

/* ---- liblzma (xz) ---------------------------------------------------------------------- */

static struct xz_dl {
    FN(lzma_stream_decoder);
    FN(lzma_alone_decoder);
    FN(lzma_raw_decoder);
    FN(lzma_properties_decode);
    FN(lzma_code);
    FN(lzma_end);
    FN(lzma_crc32);
} xz;
static const struct dl_symbol xz_syms[] = {
    SYM(xz_dl, lzma_stream_decoder), SYM(xz_dl, lzma_alone_decoder),
    SYM(xz_dl, lzma_raw_decoder),    SYM(xz_dl, lzma_properties_decode),
    SYM(xz_dl, lzma_code),           SYM(xz_dl, lzma_end),
    SYM(xz_dl, lzma_crc32),
};
static pthread_once_t xz_once = PTHREAD_ONCE_INIT;
static bool xz_ok;
static void xz_load(void) { load_table("liblzma.so.5", xz_syms, N(xz_syms), &xz, sizeof(xz), &xz_ok); }
#define XZ_READY load(&xz_once, xz_load, &xz_ok)

lzma_ret lzma_stream_decoder(lzma_stream *strm, uint64_t memlimit, uint32_t flags)
{
    return XZ_READY ? xz.lzma_stream_decoder(strm, memlimit, flags) : LZMA_MEM_ERROR;
}
lzma_ret lzma_alone_decoder(lzma_stream *strm, uint64_t memlimit)
{
    return XZ_READY ? xz.lzma_alone_decoder(strm, memlimit) : LZMA_MEM_ERROR;
}
lzma_ret lzma_raw_decoder(lzma_stream *strm, const lzma_filter *filters)
{
    return XZ_READY ? xz.lzma_raw_decoder(strm, filters) : LZMA_MEM_ERROR;
}
lzma_ret lzma_properties_decode(lzma_filter *filter, const lzma_allocator *allocator, const uint8_t *props,
                                size_t props_size)
{
    return XZ_READY ? xz.lzma_properties_decode(filter, allocator, props, props_size) : LZMA_MEM_ERROR;
}
lzma_ret lzma_code(lzma_stream *strm, lzma_action action)
{
    return XZ_READY ? xz.lzma_code(strm, action) : LZMA_PROG_ERROR;
}
void lzma_end(lzma_stream *strm)
{
    if (XZ_READY)
        xz.lzma_end(strm);
}
uint32_t lzma_crc32(const uint8_t *buf, size_t size, uint32_t crc)
{
    return XZ_READY ? xz.lzma_crc32(buf, size, crc) : 0;
}

/* ---- libzstd (zstd) -------------------------------------------------------------------- */

static struct zstd_dl {
    FN(ZSTD_createDStream);
    FN(ZSTD_initDStream);
    FN(ZSTD_decompressStream);
    FN(ZSTD_freeDStream);
    FN(ZSTD_DStreamOutSize);
    FN(ZSTD_isError);
    FN(ZSTD_getErrorName);
} zs;
static const struct dl_symbol zs_syms[] = {
    SYM(zstd_dl, ZSTD_createDStream), SYM(zstd_dl, ZSTD_initDStream),    SYM(zstd_dl, ZSTD_decompressStream),
    SYM(zstd_dl, ZSTD_freeDStream),   SYM(zstd_dl, ZSTD_DStreamOutSize), SYM(zstd_dl, ZSTD_isError),
    SYM(zstd_dl, ZSTD_getErrorName),
};
static pthread_once_t zs_once = PTHREAD_ONCE_INIT;
static bool zs_ok;
static void zs_load(void) { load_table("libzstd.so.1", zs_syms, N(zs_syms), &zs, sizeof(zs), &zs_ok); }
#define ZS_READY load(&zs_once, zs_load, &zs_ok)

ZSTD_DStream *ZSTD_createDStream(void) { return ZS_READY ? zs.ZSTD_createDStream() : NULL; }
size_t ZSTD_initDStream(ZSTD_DStream *zds) { return ZS_READY ? zs.ZSTD_initDStream(zds) : (size_t)-1; }
size_t ZSTD_decompressStream(ZSTD_DStream *zds, ZSTD_outBuffer *output, ZSTD_inBuffer *input)
{
    return ZS_READY ? zs.ZSTD_decompressStream(zds, output, input) : (size_t)-1;
}
size_t ZSTD_freeDStream(ZSTD_DStream *zds) { return zds && ZS_READY ? zs.ZSTD_freeDStream(zds) : 0; }
size_t ZSTD_DStreamOutSize(void) { return ZS_READY ? zs.ZSTD_DStreamOutSize() : ZSTD_BLOCKSIZE_MAX; }
unsigned ZSTD_isError(size_t code) { return ZS_READY ? zs.ZSTD_isError(code) : 1; }
const char *ZSTD_getErrorName(size_t code) { return ZS_READY ? zs.ZSTD_getErrorName(code) : "libzstd.so.1 not loaded"; }

/* libFuzzer harness: the whole-file .mender reader (src/artifact/reader.c), as
 * install reads an Artifact: without keys, then with the test keys of fuzz/keys/.
 * Payload bytes go to a sink that discards them (the reader writes nowhere) and
 * checks the order of calls the sink API promises (artifact.h). */
#include <string.h>

#include "harness.h"

struct order {
    bool header_seen;
    int begun, ended;
    bool open;   /* a file_begin accepted, no next file_begin yet */
    bool ending; /* the first file_end came: only file_end may follow */
    uint64_t bytes;
};

static int on_header(void *ctx, const struct artifact_info *info)
{
    struct order *o = ctx;
    FUZZ_ASSERT(!o->header_seen && o->begun == 0);
    FUZZ_ASSERT(info->artifact_name != NULL);
    o->header_seen = true;
    return 0;
}

static int on_begin(void *ctx, const char *name, int64_t size)
{
    struct order *o = ctx;
    FUZZ_ASSERT(o->header_seen && !o->ending);
    FUZZ_ASSERT(name && name[0] && !strchr(name, '/'));
    FUZZ_ASSERT(strcmp(name, ".") != 0 && strcmp(name, "..") != 0);
    FUZZ_ASSERT(size >= -1);
    o->begun++;
    o->open = true;
    return 0;
}

static int on_data(void *ctx, const void *buf, size_t len)
{
    struct order *o = ctx;
    FUZZ_ASSERT(o->open && !o->ending);
    FUZZ_ASSERT(buf != NULL || len == 0);
    o->bytes += len;
    return 0;
}

static int on_end(void *ctx, const char *name, bool ok)
{
    struct order *o = ctx;
    (void)ok;
    FUZZ_ASSERT(name != NULL);
    o->ending = true;
    o->ended++;
    FUZZ_ASSERT(o->ended <= o->begun);
    return 0;
}

static void one(const uint8_t *data, size_t size, const struct artifact_keys *keys)
{
    struct fuzz_mem mem;
    struct artifact_source src;
    fuzz_mem_source(&mem, data, size, &src);
    struct order o = { 0 };
    struct artifact_sink sink = { .ctx = &o,
                                  .header = on_header,
                                  .file_begin = on_begin,
                                  .file_data = on_data,
                                  .file_end = on_end };
    struct artifact_info info;
    _cleanup_error_ struct error *err = NULL;
    int rc = artifact_read(&src, keys, &sink, &info, &err);
    fuzz_check_reason(rc, err);
    FUZZ_ASSERT(o.ended == o.begun); /* every begun file got exactly one file_end */
    if (rc == 0) {
        FUZZ_ASSERT(o.header_seen);
        FUZZ_ASSERT(info.format_version == 3 && info.artifact_name);
        FUZZ_ASSERT(info.payload_bytes == o.bytes);
        FUZZ_ASSERT(info.payload_files.n == (size_t)o.begun);
    }
    artifact_info_free(&info);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    one(data, size, NULL);
    one(data, size, fuzz_keys());
    return 0;
}

/* libFuzzer harness: the header-only .mender reader (artifact_read_header, what
 * the File API's header/ and selection read before Download), without keys and
 * with the test keys of fuzz/keys/. It reads no payload and has no sink. */
#include "harness.h"

static void one(const uint8_t *data, size_t size, const struct artifact_keys *keys)
{
    struct fuzz_mem mem;
    struct artifact_source src;
    fuzz_mem_source(&mem, data, size, &src);
    struct artifact_info info;
    _cleanup_error_ struct error *err = NULL;
    int rc = artifact_read_header(&src, keys, &info, &err);
    fuzz_check_reason(rc, err);
    if (rc == 0) {
        FUZZ_ASSERT(info.format_version == 3 && info.artifact_name && info.header_info);
        FUZZ_ASSERT(info.payload_bytes == 0);
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

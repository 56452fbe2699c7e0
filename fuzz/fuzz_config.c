/* libFuzzer harness: the JSON configuration reader (src/inputs/config.c).
 * The input is the main file up to its first NUL byte and, after that byte, the
 * fallback file (no NUL: there is no fallback file), merged as config_load does. */
#include <string.h>

#include "harness.h"
#include "inputs/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    const char *nul = memchr(text, '\0', size);
    size_t main_len = nul ? (size_t)(nul - text) : size;
    const char *fb = nul ? nul + 1 : NULL;
    size_t fb_len = nul ? size - main_len - 1 : 0;

    struct config cfg;
    struct diag_list d = { 0 };
    int rc = config_load_texts(&cfg, NULL, text, main_len, fb, fb_len, &d);
    if (rc == 0) {
        FUZZ_ASSERT(cfg.reboot_command.n > 0);
        for (size_t i = 0; i < cfg.reboot_command.n; i++)
            FUZZ_ASSERT(cfg.reboot_command.v[i][0] != '\0');
        FUZZ_ASSERT(cfg.interface_timeout_seconds > 0 && cfg.reboot_timeout_seconds > 0);
        FUZZ_ASSERT(cfg.rollback_reboot_retries > 0 && cfg.max_parallel_interfaces >= 0);
        FUZZ_ASSERT(cfg.manifest_store && cfg.cache_path);
        config_free(&cfg);
    }
    fuzz_check_diags(rc, &d);
    return 0;
}

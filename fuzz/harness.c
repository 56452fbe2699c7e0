#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/strv.h"

void fuzz_fail(const char *what, const char *file, int line)
{
    fprintf(stderr, "%s:%d: property failed: %s\n", file, line, what);
    abort();
}

void fuzz_init_env(void)
{
    static const char *const vars[] = {
        "MENDER_ORCHESTRATOR_CONF_DIR",
        "MENDER_ORCHESTRATOR_DATA_DIR",
        "MENDER_ORCHESTRATOR_DATASTORE_DIR",
        "MENDER_ORCHESTRATOR_TOPOLOGY_DIR",
        "MENDER_ORCHESTRATOR_TOPOLOGY_COMPONENTS_FILE",
        "MENDER_ORCHESTRATOR_MANIFEST_STORE_DIR",
        "MENDER_ORCHESTRATOR_ARTIFACTS_CACHE_DIR",
        NULL,
    };
    for (size_t i = 0; vars[i]; i++)
        unsetenv(vars[i]);
}

__attribute__((weak)) void fuzz_setup(void) {}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_init_env();
    fuzz_setup();
    return 0;
}

static void check_line(const char *msg)
{
    FUZZ_ASSERT(msg != NULL);
    FUZZ_ASSERT(msg[0] != '\0');
    for (const unsigned char *p = (const unsigned char *)msg; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            fprintf(stderr, "message with control character 0x%02x: %s\n", *p, msg);
            FUZZ_ASSERT(!"a message is one line without control characters");
        }
    }
}

void fuzz_check_diags(int rc, struct diag_list *d)
{
    FUZZ_ASSERT(rc == 0 || rc == -1);
    FUZZ_ASSERT((rc == -1) == (d->nerrors > 0));
    for (size_t i = 0; i < d->nerrors; i++)
        check_line(d->errors[i]);
    for (size_t i = 0; i < d->nwarnings; i++)
        check_line(d->warnings[i]);
    diag_free(d);
}

void fuzz_check_reason(int rc, const struct error *err)
{
    FUZZ_ASSERT(rc == 0 || rc == -1);
    FUZZ_ASSERT((rc == 0) == (err == NULL));
    if (rc != 0)
        check_line(error_message(err));
}

static ssize_t mem_read(void *ctx, void *buf, size_t len)
{
    struct fuzz_mem *m = ctx;
    size_t n = m->size - m->pos;
    if (n > len)
        n = len;
    memcpy(buf, m->data + m->pos, n);
    m->pos += n;
    return (ssize_t)n;
}

void fuzz_mem_source(struct fuzz_mem *m, const uint8_t *data, size_t size, struct artifact_source *src)
{
    *m = (struct fuzz_mem){ .data = data, .size = size };
    *src = (struct artifact_source){ .ctx = m, .read = mem_read };
}

const struct artifact_keys *fuzz_keys(void)
{
    static struct artifact_keys *keys;
    if (!keys) {
        struct strv paths = { 0 };
        strv_push(&paths, FUZZ_KEYS_DIR "/ec.pub");
        strv_push(&paths, FUZZ_KEYS_DIR "/rsa.pub");
        _cleanup_error_ struct error *err = NULL;
        keys = artifact_keys_load(&paths, &err);
        strv_free(&paths);
        if (!keys) {
            fprintf(stderr, "cannot load the fuzzing keys: %s\n", error_message(err));
            abort();
        }
    }
    return keys;
}

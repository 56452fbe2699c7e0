/* Helpers shared by the libFuzzer harnesses (docs/fuzzing.md). */
#ifndef MO_FUZZ_HARNESS_H
#define MO_FUZZ_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "artifact/artifact.h"
#include "util/diag.h"

/* Aborts (a libFuzzer crash) when a property of the program does not hold. */
#define FUZZ_ASSERT(cond) ((cond) ? (void)0 : fuzz_fail(#cond, __FILE__, __LINE__))
_Noreturn void fuzz_fail(const char *what, const char *file, int line);

/* Clears the environment variables the readers look at (once, at start). */
void fuzz_init_env(void);

/* LLVMFuzzerInitialize is in harness.c: fuzz_init_env, then this, which a harness
 * defines when it has set-up of its own (the default does nothing). */
void fuzz_setup(void);

/* The user-visible contract of a parser's diagnostics: rc == -1 exactly when there
 * is an error, and every message is one non-empty line without control characters.
 * Then frees d. */
void fuzz_check_diags(int rc, struct diag_list *d);
/* The same for the one-line reason of the artifact reader. */
void fuzz_check_reason(int rc, const struct error *err);

/* Bytes in memory as an artifact source. */
struct fuzz_mem {
    const uint8_t *data;
    size_t size, pos;
};
void fuzz_mem_source(struct fuzz_mem *m, const uint8_t *data, size_t size, struct artifact_source *src);

/* The test keys of fuzz/keys/ (EC P-256 and RSA), loaded once; the seeds signed
 * with them verify. */
const struct artifact_keys *fuzz_keys(void);

#endif

/* Helpers shared by the unit tests. */
#ifndef MO_TESTUTIL_H
#define MO_TESTUTIL_H

#include <stddef.h>

/* Runs a shell command line built like printf; returns system()'s status. */
int test_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Asserts that got (ngot lines, e.g. a diag_list's errors) is exactly want (NULL-terminated),
 * each one line. */
void test_assert_lines(char *const *got, size_t ngot, const char *const *want);

#endif

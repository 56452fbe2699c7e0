/* Helpers shared by the unit tests. */
#ifndef MO_TESTUTIL_H
#define MO_TESTUTIL_H

/* Runs a shell command line built like printf; returns system()'s status. */
int test_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif

#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util/mem.h"

int test_sh(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *cmd = xvasprintf(fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    free(cmd);
    return rc;
}

void test_assert_lines(char *const *got, size_t ngot, const char *const *want)
{
    size_t n = 0;
    while (want[n])
        n++;
    for (size_t i = 0; i < ngot && i < n; i++)
        assert_string_equal(got[i], want[i]);
    assert_int_equal(ngot, n);
    for (size_t i = 0; i < ngot; i++)
        assert_null(strchr(got[i], '\n'));
}

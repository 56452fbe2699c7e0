#include "testutil.h"

#include <stdarg.h>
#include <stdlib.h>

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

#include "util/version.h"

#include "util/testhook.h"

const char *mo_version(void)
{
    /* test builds playing the next release (util/testhook.h) */
    return testhook_next_release() ? MO_VERSION "+next" : MO_VERSION;
}

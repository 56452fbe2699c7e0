#include "util/error.h"

#include <stdarg.h>
#include <string.h>

#include "util/mem.h"

static int set(struct error **err, int code, char *message)
{
    if (!err || *err) {
        free(message);
        return -1;
    }
    struct error *e = xmalloc(sizeof(*e));
    e->code = code;
    e->message = message;
    *err = e;
    return -1;
}

int error_set(struct error **err, int code, const char *fmt, ...)
{
    if (!err)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    char *m = xvasprintf(fmt, ap);
    va_end(ap);
    return set(err, code, m);
}

int error_set_errno(struct error **err, int errnum, const char *fmt, ...)
{
    if (!err)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    _cleanup_free_ char *m = xvasprintf(fmt, ap);
    va_end(ap);
    return set(err, errnum, xasprintf("%s: %s", m, strerror(errnum)));
}

int error_prefix(struct error **err, const char *fmt, ...)
{
    if (!err || !*err)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    _cleanup_free_ char *ctx = xvasprintf(fmt, ap);
    va_end(ap);
    char *m = xasprintf("%s: %s", ctx, (*err)->message);
    free((*err)->message);
    (*err)->message = m;
    return -1;
}

int error_propagate(struct error **dst, struct error *src)
{
    if (dst && !*dst)
        *dst = src;
    else
        error_free(src);
    return -1;
}

const char *error_message(const struct error *e) { return e ? e->message : "unknown error"; }

int error_code(const struct error *e) { return e ? e->code : 0; }

void error_free(struct error *e)
{
    if (!e)
        return;
    free(e->message);
    free(e);
}

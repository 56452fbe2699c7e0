#include "util/diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/mem.h"

static char *__attribute__((format(printf, 4, 0)))
vformat_located(const char *file, int line, int col, const char *fmt, va_list ap)
{
    char *body = xvasprintf(fmt, ap);
    char *out;
    if (file && line > 0)
        out = xasprintf("%s:%d:%d: %s", file, line, col, body);
    else if (file)
        out = xasprintf("%s: %s", file, body);
    else
        return body;
    free(body);
    return out;
}

static void push(char ***v, size_t *n, char *s)
{
    *v = xrealloc(*v, (*n + 1) * sizeof(**v));
    (*v)[(*n)++] = s;
}

void diag_error(struct diag_list *d, const char *file, int line, int col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    push(&d->errors, &d->nerrors, vformat_located(file, line, col, fmt, ap));
    va_end(ap);
}

void diag_warn(struct diag_list *d, const char *file, int line, int col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    push(&d->warnings, &d->nwarnings, vformat_located(file, line, col, fmt, ap));
    va_end(ap);
}

void diag_move(struct diag_list *dst, struct diag_list *src)
{
    for (size_t i = 0; i < src->nwarnings; i++)
        push(&dst->warnings, &dst->nwarnings, src->warnings[i]);
    for (size_t i = 0; i < src->nerrors; i++)
        push(&dst->errors, &dst->nerrors, src->errors[i]);
    free(src->warnings);
    free(src->errors);
    src->warnings = src->errors = NULL;
    src->nwarnings = src->nerrors = 0;
}

void diag_flush(struct diag_list *d)
{
    for (size_t i = 0; i < d->nwarnings; i++)
        log_warn("%s", d->warnings[i]);
    for (size_t i = 0; i < d->nerrors; i++)
        log_error("%s", d->errors[i]);
    diag_free(d);
}

void diag_free(struct diag_list *d)
{
    for (size_t i = 0; i < d->nwarnings; i++)
        free(d->warnings[i]);
    for (size_t i = 0; i < d->nerrors; i++)
        free(d->errors[i]);
    free(d->warnings);
    free(d->errors);
    d->warnings = d->errors = NULL;
    d->nwarnings = d->nerrors = 0;
}

char *diag_printable(const char *s)
{
    size_t n = strlen(s), o = 0;
    char *out = xmalloc(n * 4 + 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            o += (size_t)snprintf(out + o, 5, "\\x%02x", c);
        else
            out[o++] = (char)c;
    }
    out[o] = '\0';
    return out;
}

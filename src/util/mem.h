/* Allocation helpers: running out of memory is not an input error, it ends the
 * process with a fatal log line and exit code 1. */
#ifndef MO_MEM_H
#define MO_MEM_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
/* open_memstream(3): a string built with stdio, *buf set at fclose. */
FILE *xopen_memstream(char **buf, size_t *len);

#endif

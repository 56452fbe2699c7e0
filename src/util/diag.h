/* A list of user-facing errors and warnings, each one line, usually
 * "file:line:column: field: what is wrong". Parsers collect into it so that
 * `check` can print every error and unit tests can assert exact messages. */
#ifndef MO_DIAG_H
#define MO_DIAG_H

#include <stddef.h>

struct diag_list {
    char **errors;
    size_t nerrors;
    char **warnings;
    size_t nwarnings;
};

/* Adds "file:line:col: message" (line/col omitted when 0; file omitted when NULL). */
void diag_error(struct diag_list *d, const char *file, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void diag_warn(struct diag_list *d, const char *file, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* s with every control character written as \xNN, so that a message quoting text from
 * a file (a key, a value, a library's error text) stays one line. Caller frees. */
char *diag_printable(const char *s);
/* Logs every warning, then every error, and empties the list. */
void diag_flush(struct diag_list *d);
/* Moves all entries of src to the end of dst. */
void diag_move(struct diag_list *dst, struct diag_list *src);
void diag_free(struct diag_list *d);

#endif

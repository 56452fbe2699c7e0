/* The error model of every fallible function that is not an input parser (parsers
 * collect diagnostics instead, util/diag.h): the function returns -1 (or NULL) and, when
 * the caller passed a non-NULL `struct error **err`, sets *err to an error holding a code
 * and a one-line message of any length. On the way up a caller adds its context in front
 * (error_prefix), so the user reads the whole chain: "r1: ArtifactInstall: cannot run
 * /usr/share/.../x: Permission denied". The caller that handles an error frees it.
 *
 *     int load(const char *path, struct error **err)
 *     {
 *         if (read_it(path, err) < 0)
 *             return error_prefix(err, "%s", path);
 *         ...
 *     }
 *
 *     _cleanup_error_ struct error *e = NULL;
 *     if (load(path, &e) < 0)
 *         log_error("%s", error_message(e));
 */
#ifndef MO_ERROR_H
#define MO_ERROR_H

#include "util/cleanup.h"

struct error {
    int code;      /* an errno value when the cause was a system call, else 0 */
    char *message; /* one line, never NULL */
};

/* Sets *err (when err is not NULL; *err must be NULL) to a new error. Returns -1. */
int error_set(struct error **err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The same, with ": <strerror(errnum)>" after the message and errnum as the code. */
int error_set_errno(struct error **err, int errnum, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Writes "<context>: " in front of *err's message (when err and *err are not NULL).
 * Returns -1, so that `return error_prefix(err, ...)` propagates with context. */
int error_prefix(struct error **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Moves src into *dst (when dst is not NULL and *dst is NULL), else frees src. Returns -1. */
int error_propagate(struct error **dst, struct error *src);
/* The message, or "unknown error" for NULL. */
const char *error_message(const struct error *e);
/* The code, or 0 for NULL. */
int error_code(const struct error *e);
void error_free(struct error *e);

MO_DEFINE_POINTER_CLEANUP(error_freep, struct error *, error_free)
#define _cleanup_error_ _cleanup_(error_freep)

#endif

/* Parsing Interface query answers exactly as docs/protocol.md says. */
#ifndef MO_QUERY_H
#define MO_QUERY_H

#include <stddef.h>

#include "util/error.h"
#include "util/strv.h"

enum answer { ANSWER_NO, ANSWER_YES, ANSWER_AUTOMATIC };

/* Yes/No(/Automatic) queries: the answer is the first line; "X" or "X\n"; anything after
 * the first newline is "Too many lines when querying <query>"; exact match; empty =
 * dflt. Returns 0, or -1 with a one-line reason in *err, whose code is EPROTO (an
 * invalid answer, as opposed to a call that failed). */
MO_MUST_CHECK int query_parse_answer(const char *query, const char *out, size_t len, int allow_automatic,
                                     enum answer dflt, enum answer *answer, struct error **err);
const char *answer_name(enum answer a);

/* Identity: "id=<value>" with an optional trailing newline. *id is NULL for empty
 * output (the caller applies the fallback). Returns 0 or -1 with *err. */
MO_MUST_CHECK int query_parse_identity(const char *out, size_t len, char **id, struct error **err);

/* Provides: key=value lines (split at the first '='), empty lines ignored; a line
 * without '=', an empty key, whitespace in a key, a control character or a repeated
 * key is an error (provides is then emptied). device_type is dropped with a warning (in
 * *dropped_device_type, which may be NULL). */
MO_MUST_CHECK int query_parse_provides(const char *out, size_t len, struct kvlist *provides, int *dropped_device_type,
                                       struct error **err);

/* Inventory: the same line rules, but a repeated key forms a list; lines are returned
 * as "key=value" in order (lines is emptied on an error). */
MO_MUST_CHECK int query_parse_inventory(const char *out, size_t len, struct strv *lines, struct error **err);

#endif

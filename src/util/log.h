/* Diagnostics on stderr in the Mender Client's key=value line format. */
#ifndef MO_LOG_H
#define MO_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum log_level { LOG_TRACE, LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERROR, LOG_FATAL };

/* Parses a --log-level / LogLevel name; returns 0 on success, -1 if unknown. */
int log_level_parse(const char *name, enum log_level *out);
const char *log_level_name(enum log_level level);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/* One line: record_id=N severity=S time="..." [name="..." id="..."] msg="...". */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same, tagged with a Component (component_type, id); either may be NULL. */
void log_comp(enum log_level level, const char *component_type, const char *id, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void log_vcomp(enum log_level level, const char *component_type, const char *id, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));
/* The same with the message given as prefix (a C string) and n bytes that may hold
 * anything (an Interface's output: control characters and NUL are escaped, not cut). */
void log_comp_bytes(enum log_level level, const char *component_type, const char *id, const char *prefix,
                    const char *bytes, size_t n);

/* A batch: the calling thread's records from begin to end are written together (in
 * writes of up to 32 KiB) at the end, and no other thread logs in between: for many
 * lines at once, e.g. an Interface's output (iface/proc.c). Not nested. */
void log_batch_begin(void);
void log_batch_end(void);

#define log_trace(...) log_msg(LOG_TRACE, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif

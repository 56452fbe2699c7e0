#include "util/log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static const char *const level_names[] = { "trace", "debug", "info", "warning", "error", "fatal" };
static enum log_level current_level = LOG_INFO;
static unsigned long record_id;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

int log_level_parse(const char *name, enum log_level *out)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

const char *log_level_name(enum log_level level) { return level_names[level]; }
void log_set_level(enum log_level level) { current_level = level; }
enum log_level log_get_level(void) { return current_level; }

/* Writes s to f with " and \ escaped and control characters shown as \xNN. */
static void put_escaped(FILE *f, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\x%02x", *p);
        else
            fputc(*p, f);
    }
}

void log_vcomp(enum log_level level, const char *component_type, const char *id, const char *fmt, va_list ap)
{
    if (level < current_level)
        return;
    char stackbuf[1024];
    char *msg = stackbuf;
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(stackbuf, sizeof(stackbuf), fmt, ap);
    if (n >= (int)sizeof(stackbuf)) {
        msg = malloc((size_t)n + 1);
        if (msg)
            vsnprintf(msg, (size_t)n + 1, fmt, ap2);
        else
            msg = stackbuf;
    }
    va_end(ap2);

    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    localtime_r(&tv.tv_sec, &tm);
    char when[64];
    strftime(when, sizeof(when), "%Y-%b-%d %H:%M:%S", &tm);

    pthread_mutex_lock(&log_lock);
    fprintf(stderr, "record_id=%lu severity=%s time=\"%s.%06ld\" ", ++record_id, level_names[level], when,
            (long)tv.tv_usec);
    if (component_type) {
        fputs("name=\"", stderr);
        put_escaped(stderr, component_type);
        fputs("\" ", stderr);
    }
    if (id) {
        fputs("id=\"", stderr);
        put_escaped(stderr, id);
        fputs("\" ", stderr);
    }
    fputs("msg=\"", stderr);
    put_escaped(stderr, msg);
    fputs("\"\n", stderr);
    fflush(stderr);
    pthread_mutex_unlock(&log_lock);
    if (msg != stackbuf)
        free(msg);
}

void log_comp(enum log_level level, const char *component_type, const char *id, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vcomp(level, component_type, id, fmt, ap);
    va_end(ap);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vcomp(level, NULL, NULL, fmt, ap);
    va_end(ap);
}

#include "util/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

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

/* A log record being built: on the stack up to its size, then on the heap. */
struct record {
    char *p;
    size_t n, cap;
    bool heap;
    char stack[2048];
};

static void rec_reserve(struct record *r, size_t more)
{
    if (r->n + more <= r->cap)
        return;
    size_t cap = r->cap * 2 > r->n + more ? r->cap * 2 : r->n + more;
    char *p = r->heap ? realloc(r->p, cap) : malloc(cap);
    if (!p)
        return; /* out of memory: the record is cut short (rec_put checks) */
    if (!r->heap)
        memcpy(p, r->p, r->n);
    r->p = p;
    r->cap = cap;
    r->heap = true;
}

static void rec_put(struct record *r, const char *s, size_t n)
{
    rec_reserve(r, n);
    if (r->n + n > r->cap)
        n = r->cap - r->n;
    memcpy(r->p + r->n, s, n);
    r->n += n;
}

static void rec_puts(struct record *r, const char *s) { rec_put(r, s, strlen(s)); }

/* The n bytes of s with " and \ escaped and control characters (NUL included) shown as
 * \xNN. */
static void rec_put_escaped_n(struct record *r, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        const unsigned char *run = p;
        while (p < end && *p != '"' && *p != '\\' && *p >= 0x20 && *p != 0x7f)
            p++;
        rec_put(r, (const char *)run, (size_t)(p - run));
        if (p == end)
            break;
        char esc[4] = { '\\', (char)*p, 0, 0 };
        size_t k = 2;
        if (*p != '"' && *p != '\\') {
            esc[1] = 'x';
            esc[2] = hex[*p >> 4];
            esc[3] = hex[*p & 15];
            k = 4;
        }
        rec_put(r, esc, k);
        p++;
    }
}

static void rec_put_escaped(struct record *r, const char *s) { rec_put_escaped_n(r, s, strlen(s)); }

/* Records are written whole, with one write(2) where the kernel allows (a pipe takes up
 * to PIPE_BUF at once), so that they are never interleaved with other writers; a batch
 * writes many records at once. */
static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* nowhere to log to */
        p += w;
        n -= (size_t)w;
    }
}

/* A batch (log_batch_begin): the records of one thread, written together. */
static _Thread_local bool in_batch;
static struct record batch = { .cap = sizeof(batch.stack) };
#define BATCH_FLUSH 32768 /* bytes: written once a batch holds this much */

/* The time field's seconds, formatted once per second (under log_lock). */
static const char *format_seconds(time_t sec)
{
    static time_t last = (time_t)-1;
    static char when[64];
    if (sec != last) {
        struct tm tm;
        localtime_r(&sec, &tm);
        strftime(when, sizeof(when), "%Y-%b-%d %H:%M:%S", &tm);
        last = sec;
    }
    return when;
}

void log_batch_begin(void)
{
    pthread_mutex_lock(&log_lock);
    if (!batch.p)
        batch.p = batch.stack;
    batch.n = 0;
    in_batch = true;
}

void log_batch_end(void)
{
    write_all(STDERR_FILENO, batch.p, batch.n);
    batch.n = 0;
    in_batch = false;
    pthread_mutex_unlock(&log_lock);
}

/* One record: the message is prefix (a C string) followed by the n bytes of body. */
static void emit(enum log_level level, const char *component_type, const char *id, const char *prefix, const char *body,
                 size_t n)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct record one = { .cap = sizeof(one.stack) };
    one.p = one.stack;
    struct record *r = in_batch ? &batch : &one;
    if (!in_batch)
        pthread_mutex_lock(&log_lock);
    char head[160];
    int hn = snprintf(head, sizeof(head), "record_id=%lu severity=%s time=\"%s.%06ld\" ", ++record_id,
                      level_names[level], format_seconds(tv.tv_sec), (long)tv.tv_usec);
    rec_put(r, head, hn > 0 && (size_t)hn < sizeof(head) ? (size_t)hn : 0);
    if (component_type) {
        rec_puts(r, "name=\"");
        rec_put_escaped(r, component_type);
        rec_puts(r, "\" ");
    }
    if (id) {
        rec_puts(r, "id=\"");
        rec_put_escaped(r, id);
        rec_puts(r, "\" ");
    }
    rec_puts(r, "msg=\"");
    rec_put_escaped(r, prefix);
    rec_put_escaped_n(r, body, n);
    rec_puts(r, "\"\n");
    if (!in_batch) {
        write_all(STDERR_FILENO, one.p, one.n);
        pthread_mutex_unlock(&log_lock);
        if (one.heap)
            free(one.p);
    } else if (batch.n >= BATCH_FLUSH) {
        write_all(STDERR_FILENO, batch.p, batch.n);
        batch.n = 0;
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
    emit(level, component_type, id, "", msg, strlen(msg));
    if (msg != stackbuf)
        free(msg);
}

void log_comp_bytes(enum log_level level, const char *component_type, const char *id, const char *prefix,
                    const char *bytes, size_t n)
{
    if (level >= current_level)
        emit(level, component_type, id, prefix, bytes, n);
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

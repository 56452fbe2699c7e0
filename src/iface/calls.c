#include "iface/calls.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/mem.h"

#define SLOTS_AT_START 64           /* blank slots written at open: a 4 KiB file */
#define FILE_READ_MAX (1024 * 1024) /* the most of a leftover file looked at */
#define BOOT_ID_PATH "/proc/sys/kernel/random/boot_id"

struct call_registry {
    int fd;
    pthread_mutex_t mu;
    bool *used;    /* per slot: a call holds it */
    size_t nused;  /* entries of used */
    size_t nslots; /* slots the file holds */
};

/* One slot's record. */
struct rec {
    long pgid, session;
    unsigned long long start_time;
};

/* ---- the text of slots and of /proc/<pid>/stat (async-signal-safe) ----------------------- */

/* Reads a decimal number at *p (not past end); a leading '-' reads as 0 (fields we skip). */
static int parse_number(const char **p, const char *end, unsigned long long *out)
{
    const char *s = *p;
    bool neg = s < end && *s == '-';
    s += neg;
    if (s >= end || *s < '0' || *s > '9')
        return -1;
    unsigned long long n = 0;
    for (; s < end && *s >= '0' && *s <= '9'; s++) {
        if (n > (ULLONG_MAX - 9) / 10)
            return -1;
        n = n * 10 + (unsigned)(*s - '0');
    }
    *p = s;
    *out = neg ? 0 : n;
    return 0;
}

int proc_stat_parse(const char *buf, size_t len, struct proc_stat *out)
{
    const char *p = NULL, *end = buf + len;
    for (size_t i = len; i > 0 && !p; i--) /* the command name ends at the last ')' */
        if (buf[i - 1] == ')')
            p = buf + i;
    if (!p)
        return -1;
    unsigned long long v = 0;
    for (int field = 3; field <= 22; field++) {
        if (p >= end || *p++ != ' ' || p >= end)
            return -1;
        if (field == 3) {
            out->state = *p++;
            continue;
        }
        if (parse_number(&p, end, &v) != 0)
            return -1;
        if (field == 5)
            out->pgrp = (long)v;
        else if (field == 6)
            out->session = (long)v;
    }
    out->start_time = v;
    return 0;
}

static size_t put_number(char *dst, unsigned long long v)
{
    char tmp[24];
    size_t n = 0;
    do
        tmp[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    for (size_t i = 0; i < n; i++)
        dst[i] = tmp[n - 1 - i];
    return n;
}

/* "<pgid> <start time> <session>", padded with spaces to a line of CALLS_SLOT_SIZE. */
static void slot_line(char line[CALLS_SLOT_SIZE], const struct rec *r)
{
    memset(line, ' ', CALLS_SLOT_SIZE);
    size_t n = put_number(line, (unsigned long long)r->pgid);
    n += 1 + put_number(line + n + 1, r->start_time);
    put_number(line + n + 1, (unsigned long long)r->session);
    line[CALLS_SLOT_SIZE - 1] = '\n';
}

int calls_record_self(int fd, off_t offset)
{
    char buf[1024];
    int sfd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    if (sfd < 0)
        return -1;
    ssize_t n = read(sfd, buf, sizeof(buf));
    close(sfd);
    struct proc_stat st;
    if (n <= 0 || proc_stat_parse(buf, (size_t)n, &st) != 0) {
        errno = EIO;
        return -1;
    }
    struct rec r = { .pgid = st.pgrp, .session = st.session, .start_time = st.start_time };
    char line[CALLS_SLOT_SIZE];
    slot_line(line, &r);
    return pwrite(fd, line, sizeof(line), offset) == (ssize_t)sizeof(line) ? 0 : -1;
}

/* A slot's record, or -1 for a blank (or torn) one. */
static int parse_slot(const char *line, struct rec *r)
{
    const char *p = line, *end = line + CALLS_SLOT_SIZE;
    unsigned long long v[3];
    for (int i = 0; i < 3; i++) {
        if ((i > 0 && (p >= end || *p++ != ' ')) || parse_number(&p, end, &v[i]) != 0)
            return -1;
    }
    if (v[0] == 0 || v[0] > INT_MAX || v[2] > INT_MAX)
        return -1;
    *r = (struct rec){ .pgid = (long)v[0], .start_time = v[1], .session = (long)v[2] };
    return 0;
}

/* ---- the processes of a recorded group ------------------------------------------------- */

static int read_stat(long pid, struct proc_stat *st)
{
    char path[64], buf[1024];
    char *p = path;
    memcpy(p, "/proc/", 6);
    p += 6;
    p += put_number(p, (unsigned long long)pid);
    memcpy(p, "/stat", 6);
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof(buf));
    return n > 0 ? proc_stat_parse(buf, (size_t)n, st) : -1;
}

static bool dead(const struct proc_stat *st) { return st->state == 'Z' || st->state == 'X'; }

/* Processes of r's group that still run: in its session, started no earlier than its leader
 * (a zombie has ended: it only waits for its parent). */
static size_t live_members(const struct rec *r)
{
    _cleanup_closedir_ DIR *d = opendir("/proc");
    if (!d)
        return 0;
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        char *endp;
        long pid = strtol(e->d_name, &endp, 10);
        struct proc_stat st;
        if (*endp || pid <= 0 || read_stat(pid, &st) != 0)
            continue;
        n += st.pgrp == r->pgid && st.session == r->session && st.start_time >= r->start_time && !dead(&st);
    }
    return n;
}

/* Whether r's process group still exists as the call left it. A group id is the pid of its
 * leader and stays taken while the group has a member: a live process of that pid with
 * another start time means the group is gone; with the leader gone, its members tell. */
static bool group_lives(const struct rec *r)
{
    struct proc_stat st;
    if (read_stat(r->pgid, &st) == 0) {
        if (st.start_time != r->start_time)
            return false;
        if (!dead(&st))
            return true;
    }
    return live_members(r) > 0;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* SIGKILLs the groups and waits until none of their processes runs; a group is left alone
 * once it is gone (its id may be taken again). */
static int kill_groups(struct rec *recs, size_t n, double wait_seconds, struct error **err)
{
    double deadline = now_seconds() + wait_seconds;
    for (;;) {
        long last = 0;
        for (size_t i = 0; i < n; i++) {
            if (recs[i].pgid == 0)
                continue;
            kill(-(pid_t)recs[i].pgid, SIGKILL);
            if (live_members(&recs[i]) > 0)
                last = recs[i].pgid;
            else
                recs[i].pgid = 0;
        }
        if (last == 0)
            return 0;
        if (now_seconds() >= deadline)
            return error_set(err, 0, "process group %ld of an Interface call left by an earlier run does not die",
                             last);
        usleep(10000);
    }
}

/* ---- the file ------------------------------------------------------------------------- */

static char *read_boot_id(void)
{
    char *s = NULL;
    size_t n;
    if (fs_read_file(BOOT_ID_PATH, 4096, &s, &n) != 0)
        return xstrdup("unknown");
    while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
        s[--n] = '\0';
    return s;
}

/* "boot_id=<id>" padded to a line. */
static void header_line(char line[CALLS_SLOT_SIZE], const char *boot_id)
{
    memset(line, ' ', CALLS_SLOT_SIZE);
    size_t n = strlen(boot_id);
    if (n > CALLS_SLOT_SIZE - 9)
        n = CALLS_SLOT_SIZE - 9;
    memcpy(line, "boot_id=", 8);
    memcpy(line + 8, boot_id, n);
    line[CALLS_SLOT_SIZE - 1] = '\n';
}

/* The records of the file if it was written in this boot; *n = 0 otherwise. */
static struct rec *read_records(int fd, const char *boot_id, size_t *n)
{
    *n = 0;
    _cleanup_free_ char *buf = xmalloc(FILE_READ_MAX);
    ssize_t len = pread(fd, buf, FILE_READ_MAX, 0);
    char want[CALLS_SLOT_SIZE];
    header_line(want, boot_id);
    if (len < CALLS_SLOT_SIZE || memcmp(buf, want, CALLS_SLOT_SIZE) != 0)
        return NULL;
    size_t nslots = (size_t)len / CALLS_SLOT_SIZE - 1;
    struct rec *recs = xcalloc(nslots + 1, sizeof(*recs));
    for (size_t i = 0; i < nslots; i++)
        if (parse_slot(buf + (i + 1) * CALLS_SLOT_SIZE, &recs[*n]) == 0 && group_lives(&recs[*n]))
            (*n)++;
    return recs;
}

/* Blank slots [from, to) in the file, in one write. */
static int write_blanks(int fd, size_t from, size_t to)
{
    if (to <= from)
        return 0;
    size_t len = (to - from) * CALLS_SLOT_SIZE;
    _cleanup_free_ char *blank = xmalloc(len);
    memset(blank, ' ', len);
    for (size_t i = 1; i <= to - from; i++)
        blank[i * CALLS_SLOT_SIZE - 1] = '\n';
    return pwrite(fd, blank, len, calls_slot_offset((int)from)) == (ssize_t)len ? 0 : -1;
}

static void log_stopped(const struct rec *recs, size_t n)
{
    _cleanup_free_ char *list = xstrdup("");
    for (size_t i = 0; i < n; i++) {
        char *more = xasprintf("%s%s%ld", list, i ? ", " : "", recs[i].pgid);
        free(list);
        list = more;
    }
    log_warn("stopping %zu Interface call(s) left running by an earlier run (process group(s) %s)", n, list);
}

/* Kills what an earlier run of this boot left running, then writes a fresh file. */
static int start_afresh(int fd, double wait_seconds, struct error **err)
{
    _cleanup_free_ char *boot_id = read_boot_id();
    size_t n;
    _cleanup_free_ struct rec *recs = read_records(fd, boot_id, &n);
    if (n) {
        log_stopped(recs, n);
        if (kill_groups(recs, n, wait_seconds, err) != 0)
            return -1;
    }
    char header[CALLS_SLOT_SIZE];
    header_line(header, boot_id);
    if (ftruncate(fd, 0) != 0 || pwrite(fd, header, sizeof(header), 0) != (ssize_t)sizeof(header) ||
        write_blanks(fd, 0, SLOTS_AT_START) != 0)
        return error_set_errno(err, errno, "cannot write");
    return 0;
}

struct call_registry *calls_open(const char *datastore, double wait_seconds, struct error **err)
{
    assert(datastore);
    _cleanup_free_ char *path = fs_join(datastore, CALLS_FILE);
    _cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        error_set_errno(err, errno, "%s", path);
        return NULL;
    }
    if (start_afresh(fd, wait_seconds, err) != 0) {
        error_prefix(err, "%s", path);
        return NULL;
    }
    struct call_registry *r = xcalloc(1, sizeof(*r));
    r->fd = TAKE_FD(fd);
    r->nslots = SLOTS_AT_START;
    pthread_mutex_init(&r->mu, NULL);
    return r;
}

void calls_close(struct call_registry *r)
{
    if (!r)
        return;
    close(r->fd);
    pthread_mutex_destroy(&r->mu);
    free(r->used);
    free(r);
}

int calls_slot_take(struct call_registry *r)
{
    assert(r);
    pthread_mutex_lock(&r->mu);
    size_t i = 0;
    while (i < r->nused && r->used[i])
        i++;
    if (i == r->nused) {
        r->used = xrealloc(r->used, (r->nused + 16) * sizeof(*r->used));
        memset(r->used + r->nused, 0, 16 * sizeof(*r->used));
        r->nused += 16;
    }
    if (i >= r->nslots && write_blanks(r->fd, r->nslots, i + SLOTS_AT_START) == 0)
        r->nslots = i + SLOTS_AT_START; /* else the call's own write extends the file */
    r->used[i] = true;
    pthread_mutex_unlock(&r->mu);
    return (int)i;
}

off_t calls_slot_offset(int slot) { return (off_t)(slot + 1) * CALLS_SLOT_SIZE; }

void calls_slot_release(struct call_registry *r, int slot)
{
    assert(r && slot >= 0);
    pthread_mutex_lock(&r->mu);
    if (write_blanks(r->fd, (size_t)slot, (size_t)slot + 1) != 0)
        log_warn("%s: %s", CALLS_FILE, strerror(errno));
    r->used[slot] = false;
    pthread_mutex_unlock(&r->mu);
}

int calls_fd(const struct call_registry *r)
{
    assert(r);
    return r->fd;
}

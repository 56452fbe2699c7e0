/* interface_args of the mcuboot-smp Interface (documented in docs/interfaces.md). */
#include "ctx.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    long baud;
    speed_t speed;
} BAUDS[] = {
    { 9600, B9600 },       { 19200, B19200 },     { 38400, B38400 },     { 57600, B57600 },     { 115200, B115200 },
    { 230400, B230400 },   { 460800, B460800 },   { 500000, B500000 },   { 576000, B576000 },   { 921600, B921600 },
    { 1000000, B1000000 }, { 1500000, B1500000 }, { 2000000, B2000000 }, { 3000000, B3000000 },
};

static void vsay(const struct msmp_ctx *c, const char *fmt, va_list ap)
{
    fprintf(stderr, "%s[%s] %s: ", c->iface, c->id[0] ? c->id : "?", c->device ? c->device : "(no device)");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int msmp_fail(const struct msmp_ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsay(c, fmt, ap);
    va_end(ap);
    return -1;
}

void msmp_note(const struct msmp_ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsay(c, fmt, ap);
    va_end(ap);
}

static bool id_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || strchr("._:@+-", ch);
}

/* The default id: the device's base name, characters outside the id set as '-'. */
static void default_id(struct msmp_ctx *c)
{
    const char *b = strrchr(c->device, '/');
    b = b ? b + 1 : c->device;
    size_t n = 0;
    for (; b[n] && n < sizeof c->id - 1; n++)
        c->id[n] = id_char(b[n]) ? b[n] : '-';
    c->id[n] = '\0';
    if (c->id[0] == '.')
        c->id[0] = '-';
    if (!c->id[0])
        snprintf(c->id, sizeof c->id, "mcu");
}

static int number(const struct msmp_ctx *c, const char *item, const char *v, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < lo || n > hi)
        return msmp_fail(c, "interface_args item \"%s\": want a whole number from %ld to %ld; fix the Topology", item,
                         lo, hi);
    *out = n;
    return 0;
}

static int set_id(struct msmp_ctx *c, const char *item, const char *v)
{
    size_t n = strlen(v);
    bool ok = n >= 1 && n < sizeof c->id && v[0] != '.';
    for (size_t i = 0; ok && i < n; i++)
        ok = id_char(v[i]);
    if (!ok)
        return msmp_fail(
            c,
            "interface_args item \"%s\": use 1 to 64 characters of A-Z a-z 0-9 . _ : @ + -, not starting with a dot; fix the Topology",
            item);
    memcpy(c->id, v, n + 1);
    return 0;
}

static int set_baud(struct msmp_ctx *c, const char *item, const char *v)
{
    long b;
    if (number(c, item, v, 1, LONG_MAX, &b) < 0)
        return -1;
    for (size_t i = 0; i < sizeof BAUDS / sizeof BAUDS[0]; i++)
        if (BAUDS[i].baud == b) {
            c->baud = b;
            c->speed = BAUDS[i].speed;
            return 0;
        }
    return msmp_fail(
        c, "interface_args item \"%s\": not a baud rate this Interface can set (9600 ... 3000000); fix the Topology",
        item);
}

static int set_int(struct msmp_ctx *c, const char *item, const char *v, long lo, long hi, int *out)
{
    long n;
    if (number(c, item, v, lo, hi, &n) < 0)
        return -1;
    *out = (int)n;
    return 0;
}

/* The whole-number keys: name, range, field. */
static const struct {
    const char *key;
    long lo, hi;
    size_t offset;
} INTS[] = {
    { "timeout_ms", 10, 600000, offsetof(struct msmp_ctx, timeout_ms) },
    { "retries", 0, 100, offsetof(struct msmp_ctx, retries) },
    { "mtu", 128, 8192, offsetof(struct msmp_ctx, mtu) },
    { "reset_wait_ms", 0, 600000, offsetof(struct msmp_ctx, reset_wait_ms) },
    { "boot_timeout_ms", 100, 3600000, offsetof(struct msmp_ctx, boot_timeout_ms) },
    { "confirm_wait_ms", 0, 3600000, offsetof(struct msmp_ctx, confirm_wait_ms) },
};

static int item(struct msmp_ctx *c, const char *it)
{
    const char *eq = strchr(it, '=');
    if (!eq)
        return msmp_fail(
            c,
            "interface_args item \"%s\": after the device, give key=value items (baud, id, timeout_ms, retries, mtu, reset_wait_ms, boot_timeout_ms, confirm_wait_ms); fix the Topology",
            it);
    size_t k = (size_t)(eq - it);
    const char *v = eq + 1;
    if (k == 4 && !strncmp(it, "baud", 4))
        return set_baud(c, it, v);
    if (k == 2 && !strncmp(it, "id", 2))
        return set_id(c, it, v);
    for (size_t i = 0; i < sizeof INTS / sizeof INTS[0]; i++)
        if (strlen(INTS[i].key) == k && !strncmp(it, INTS[i].key, k))
            return set_int(c, it, v, INTS[i].lo, INTS[i].hi, (int *)((char *)c + INTS[i].offset));
    return msmp_fail(
        c,
        "interface_args item \"%s\": unknown key (known: baud, id, timeout_ms, retries, mtu, reset_wait_ms, boot_timeout_ms, confirm_wait_ms); fix the Topology",
        it);
}

int msmp_ctx_init(struct msmp_ctx *c, int argc, char **argv)
{
    memset(c, 0, sizeof *c);
    const char *b = strrchr(argv[0], '/');
    c->iface = b ? b + 1 : argv[0];
    c->state = argc > 1 ? argv[1] : "";
    c->baud = 115200;
    c->speed = B115200;
    c->timeout_ms = 3000;
    c->retries = 4;
    c->mtu = 256;
    c->reset_wait_ms = 1000;
    c->boot_timeout_ms = 30000;
    c->confirm_wait_ms = 0;
    if (argc < 5 || !argv[4][0]) {
        snprintf(c->id, sizeof c->id, "%s", argc > 3 ? argv[3] : "?");
        return msmp_fail(c, "no serial device: give its path as the first interface_args item in the Topology");
    }
    c->device = argv[4];
    default_id(c);
    for (int i = 5; i < argc; i++)
        if (item(c, argv[i]) < 0)
            return -1;
    return 0;
}

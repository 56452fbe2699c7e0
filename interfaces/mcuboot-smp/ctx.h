/* The configuration of one call of the mcuboot-smp Interface (from its argv) and the
 * one way it reports errors: a line on stderr naming the Component and its device. */
#ifndef MSMP_CTX_H
#define MSMP_CTX_H

#include <stdbool.h>
#include <termios.h>

struct msmp_ctx {
    const char *iface;   /* argv[0]'s base name: the payload type and the version key's middle part */
    const char *state;   /* argv[1] */
    const char *device;  /* interface_args[0]: the serial device's path */
    char id[65];         /* the Component's id: id=..., else the device's base name */
    speed_t speed;       /* baud=, as a termios speed */
    long baud;           /* baud=, as given */
    int timeout_ms;      /* timeout_ms=: the wait for one answer */
    int retries;         /* retries=: more attempts of a request after a lost or corrupt answer */
    int mtu;             /* mtu=: the largest SMP packet sent (header + CBOR) */
    int reset_wait_ms;   /* reset_wait_ms=: the quiet time after a reset before polling */
    int boot_timeout_ms; /* boot_timeout_ms=: how long a reset may take until the device answers */
    int confirm_wait_ms; /* confirm_wait_ms=: how long ArtifactCommit waits for a self-confirming image */
};

/* Parses interface_args (argv[4...]): "<device>" then "key=value" items (docs/interfaces.md).
 * Returns 0, or -1 after printing what is wrong. */
int msmp_ctx_init(struct msmp_ctx *c, int argc, char **argv);

/* Prints "<iface>[<id>] <device>: <message>" on stderr; returns -1. */
int msmp_fail(const struct msmp_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The same line, for progress (not an error); returns nothing. */
void msmp_note(const struct msmp_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif

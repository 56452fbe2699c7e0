/* The serial line to the microcontroller: opened exclusively (flock and TIOCEXCL), in raw
 * mode at the configured baud rate, read with deadlines. A USB-CDC device that vanishes
 * across the MCU's reset is opened again by serial_reopen. */
#ifndef MSMP_SERIAL_H
#define MSMP_SERIAL_H

#include <stddef.h>
#include <sys/types.h>

#include "ctx.h"

struct serial {
    const struct msmp_ctx *ctx;
    int fd;
};

/* Opens and configures ctx->device. Returns 0, or -1 after printing why. */
int serial_open(struct serial *s, const struct msmp_ctx *ctx);

/* Closes the device and opens it again, trying until deadline_ms (monotonic, see
 * serial_now_ms). Quiet while it tries; returns 0 or -1 (printed). */
int serial_reopen(struct serial *s, long long deadline_ms);

void serial_close(struct serial *s);

/* Writes all of buf. Returns 0, or -1 after printing why. */
int serial_write(struct serial *s, const void *buf, size_t n);

/* Reads what is there, waiting until deadline_ms at most: the count (> 0), 0 at the
 * deadline, -1 on an error (errno kept, nothing printed). */
ssize_t serial_read(struct serial *s, void *buf, size_t n, long long deadline_ms);

/* Drops what the device sent that nobody read. */
void serial_flush_input(struct serial *s);

/* CLOCK_MONOTONIC in milliseconds. */
long long serial_now_ms(void);

void serial_sleep_ms(int ms);

#endif

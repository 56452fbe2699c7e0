/* The serial device: exclusive, raw, with deadlines. */
#include "serial.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

long long serial_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void serial_sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

/* Opens and sets up the device; on failure returns -1 with *why set (errno kept). */
static int try_open(struct serial *s, const char **why)
{
    const struct msmp_ctx *c = s->ctx;
    int fd = open(c->device, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        *why = "cannot open it";
        return -1;
    }
    if (!isatty(fd)) {
        close(fd);
        errno = ENOTTY;
        *why = "not a serial device";
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        *why = e == EWOULDBLOCK ? "in use by another program (locked; close it: a terminal, ModemManager)"
                                : "cannot lock it";
        return -1;
    }
    struct termios t;
    if (ioctl(fd, TIOCEXCL) < 0 || tcgetattr(fd, &t) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        *why = "cannot set it up for exclusive use";
        return -1;
    }
    cfmakeraw(&t);
    t.c_cflag |= CLOCAL | CREAD;
    t.c_cflag &= ~(tcflag_t)(CSTOPB | CRTSCTS);
    t.c_cc[VMIN] = 0;
    t.c_cc[VTIME] = 0;
    if (cfsetispeed(&t, c->speed) < 0 || cfsetospeed(&t, c->speed) < 0 || tcsetattr(fd, TCSANOW, &t) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        *why = "cannot set raw mode and the baud rate";
        return -1;
    }
    tcflush(fd, TCIOFLUSH);
    s->fd = fd;
    return 0;
}

int serial_open(struct serial *s, const struct msmp_ctx *ctx)
{
    s->ctx = ctx;
    s->fd = -1;
    const char *why = "";
    if (try_open(s, &why) < 0)
        return msmp_fail(ctx, "%s: %s; check the device path (interface_args[0]) and the wiring", why, strerror(errno));
    return 0;
}

int serial_reopen(struct serial *s, long long deadline_ms)
{
    serial_close(s);
    const char *why = "";
    for (;;) {
        if (try_open(s, &why) == 0)
            return 0;
        if (serial_now_ms() >= deadline_ms)
            return msmp_fail(s->ctx, "did not come back after the reset: %s: %s", why, strerror(errno));
        serial_sleep_ms(100);
    }
}

void serial_close(struct serial *s)
{
    if (s->fd >= 0) {
        tcdrain(s->fd);
        ioctl(s->fd, TIOCNXCL); /* the tty stays open elsewhere (a pty's other side): let the next call in */
        close(s->fd);           /* the flock goes with the descriptor */
    }
    s->fd = -1;
}

int serial_write(struct serial *s, const void *buf, size_t n)
{
    const unsigned char *p = buf;
    long long deadline = serial_now_ms() + s->ctx->timeout_ms;
    while (n > 0) {
        ssize_t w = s->fd >= 0 ? write(s->fd, p, n) : (errno = EBADF, -1);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EINTR)
            return msmp_fail(s->ctx, "write failed: %s", strerror(errno));
        long long left = deadline - serial_now_ms();
        if (left <= 0)
            return msmp_fail(s->ctx,
                             "write timed out after %d ms (the line is stuck: check flow control and the cable)",
                             s->ctx->timeout_ms);
        struct pollfd pfd = { s->fd, POLLOUT, 0 };
        poll(&pfd, 1, (int)left);
    }
    return 0;
}

ssize_t serial_read(struct serial *s, void *buf, size_t n, long long deadline_ms)
{
    for (;;) {
        if (s->fd < 0) {
            errno = EBADF;
            return -1;
        }
        ssize_t r = read(s->fd, buf, n);
        if (r > 0)
            return r;
        if (r < 0 && errno != EAGAIN && errno != EINTR)
            return -1;
        long long left = deadline_ms - serial_now_ms();
        if (left <= 0)
            return 0;
        struct pollfd pfd = { s->fd, POLLIN, 0 };
        int p = poll(&pfd, 1, (int)left);
        if (p > 0 && (pfd.revents & (POLLERR | POLLNVAL))) {
            errno = EIO;
            return -1;
        }
        if (p > 0 && (pfd.revents & POLLHUP) && !(pfd.revents & POLLIN)) {
            /* the other end is gone for now (a pty's master side, a CDC device resetting) */
            serial_sleep_ms(20);
        }
    }
}

void serial_flush_input(struct serial *s)
{
    if (s->fd >= 0)
        tcflush(s->fd, TCIFLUSH);
}

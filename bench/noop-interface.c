/* mo-noop-interface: the smallest useful Interface, for the benchmarks (bench/bench.sh).
 *
 *   <name> <State> <work dir> <component_type> [<id> [sleep | print:N | print-null:N]]
 *
 * Identity: "id=<id>" (default "0"). Provides: "rootfs-image.<name>.version=bench-old",
 * <name> being the base name it was called by, so every install finds work to do.
 * Download / DownloadWithFileSizes: reads every stream named by <work dir>/stream-next
 * and discards its bytes (1 MiB reads), then the final zero-length read. ArtifactInstall:
 * sleeps 1 s when the fifth argument is "sleep"; prints N lines of a firmware flasher's
 * progress on stdout with "print:N", or writes them to /dev/null with "print-null:N" (the
 * same work without the orchestrator reading them). Every other state or query: nothing,
 * exit 0. Also usable as a Mender Update Module (same arguments up to the work dir).
 * MO_NOOP_COUNT=FILE appends one byte to FILE per call (to count calls; off when timing).
 * MO_NOOP_PSTAT=FILE copies the caller's /proc/<ppid>/stat to FILE at every Cleanup: the
 * last copy holds the orchestrator's own CPU time (its threads, not its children) near
 * the end of an install.
 * MO_NOOP_TIME=FILE writes the wall time of ArtifactInstall, in seconds, to FILE. */
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char buf[1 << 20];

static int drain(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        perror(path);
        return -1;
    }
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n == 0)
            break;
        if (n < 0) {
            perror(path);
            close(fd);
            return -1;
        }
    }
    close(fd);
    return 0;
}

/* One line of stream-next (opened anew for every line, as the protocol says). */
static int next_stream(char *line, size_t len)
{
    int fd = open("stream-next", O_RDONLY);
    if (fd < 0) {
        perror("stream-next");
        return -1;
    }
    size_t got = 0;
    for (;;) {
        ssize_t n = read(fd, line + got, len - 1 - got);
        if (n < 0) {
            perror("stream-next");
            close(fd);
            return -1;
        }
        if (n == 0 || (got += (size_t)n) >= len - 1)
            break;
    }
    close(fd);
    line[got] = '\0';
    line[strcspn(line, " \n")] = '\0';
    return 0;
}

static int download(const char *work)
{
    if (chdir(work) != 0) {
        perror(work);
        return 1;
    }
    char line[4096];
    for (;;) {
        if (next_stream(line, sizeof(line)) < 0)
            return 1;
        if (line[0] == '\0')
            return 0;
        if (drain(line) < 0)
            return 1;
    }
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* N lines as a flasher prints them (about 60 bytes each), through stdio's buffer. */
static int print_lines(const char *arg, const char *timefile)
{
    bool null = strncmp(arg, "print-null:", 11) == 0;
    long n = atol(strchr(arg, ':') + 1);
    FILE *f = null ? fopen("/dev/null", "w") : stdout;
    if (!f)
        return 1;
    setvbuf(f, NULL, _IOLBF, 0); /* a line at a time, as a flasher on a pipe would */
    double t0 = now();
    for (long i = 0; i < n; i++)
        fprintf(f, "flashing block %ld of %ld: 4096 bytes at 0x%08lx ... ok\n", i + 1, n, (unsigned long)i * 4096);
    fflush(f);
    double t = now() - t0;
    if (timefile) {
        FILE *tf = fopen(timefile, "w");
        if (tf) {
            fprintf(tf, "%.6f\n", t);
            fclose(tf);
        }
    }
    return 0;
}

static void copy_parent_stat(const char *to)
{
    char path[64], st[4096];
    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)getppid());
    int in = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = in >= 0 ? read(in, st, sizeof(st)) : -1;
    if (in >= 0)
        close(in);
    int out = n > 0 ? open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : -1;
    if (out >= 0) {
        if (write(out, st, (size_t)n) != n)
            perror(to);
        close(out);
    }
}

int main(int argc, char **argv)
{
    const char *state = argc > 1 ? argv[1] : "";
    const char *count = getenv("MO_NOOP_COUNT");
    if (count) {
        int fd = open(count, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd >= 0) {
            if (write(fd, "x", 1) != 1)
                perror(count);
            close(fd);
        }
    }
    const char *pstat = getenv("MO_NOOP_PSTAT");
    if (pstat && strcmp(state, "Cleanup") == 0)
        copy_parent_stat(pstat);
    if (strcmp(state, "Identity") == 0) {
        printf("id=%s\n", argc > 4 ? argv[4] : "0");
    } else if (strcmp(state, "Provides") == 0) {
        const char *name = strrchr(argv[0], '/');
        printf("rootfs-image.%s.version=bench-old\n", name ? name + 1 : argv[0]);
    } else if (strcmp(state, "Download") == 0 || strcmp(state, "DownloadWithFileSizes") == 0) {
        return download(argc > 2 ? argv[2] : ".");
    } else if (strcmp(state, "ArtifactInstall") == 0 && argc > 5 && strncmp(argv[5], "print", 5) == 0) {
        return print_lines(argv[5], getenv("MO_NOOP_TIME"));
    } else if (strcmp(state, "ArtifactInstall") == 0 && argc > 5 && strcmp(argv[5], "sleep") == 0) {
        struct timespec one = { 1, 0 };
        while (nanosleep(&one, &one) != 0)
            ;
    }
    return 0;
}

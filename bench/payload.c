/* mo-bench-payload: deterministic benchmark payloads on stdout (bench/bench.sh).
 *
 *   mo-bench-payload random|text MIB
 *
 * random: a xoshiro256** stream, incompressible (like an encrypted or already
 * compressed image). text: 4 KiB blocks, one in four all zeros, the others lines of
 * words drawn from a 64-word list (like a root file system: gzip shrinks it to about a
 * fifth, xz further). Same bytes every time for the same arguments. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t s[4] = { 0x9e3779b97f4a7c15u, 0xbf58476d1ce4e5b9u, 0x94d049bb133111ebu, 0x2545f4914f6cdd1du };

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t next(void)
{
    uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return r;
}

static const char *words[64] = {
    "the",     "update",   "component", "system", "manifest", "artifact", "interface", "rollback", "install", "commit",
    "gateway", "firmware", "version",   "device", "payload",  "stream",   "config",    "kernel",   "module",  "library",
    "binary",  "usr",      "lib",       "bin",    "etc",      "var",      "share",     "doc",      "locale",  "python3",
    "systemd", "network",  "service",   "socket", "timer",    "mount",    "target",    "path",     "slice",   "scope",
    "include", "define",   "return",    "static", "const",    "struct",   "void",      "int",      "char",    "size_t",
    "while",   "for",      "if",        "else",   "switch",   "case",     "break",     "continue", "goto",    "sizeof",
    "typedef", "enum",     "union",     "extern",
};

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "random") != 0 && strcmp(argv[1], "text") != 0)) {
        fprintf(stderr, "usage: mo-bench-payload random|text MIB\n");
        return 2;
    }
    int text = strcmp(argv[1], "text") == 0;
    uint64_t blocks = strtoull(argv[2], NULL, 10) * 256; /* 4 KiB blocks */
    static unsigned char b[4096];
    for (uint64_t i = 0; i < blocks; i++) {
        if (!text) {
            for (size_t k = 0; k < sizeof(b); k += 8) {
                uint64_t v = next();
                memcpy(b + k, &v, 8);
            }
        } else if ((next() & 3) == 0) {
            memset(b, 0, sizeof(b));
        } else {
            size_t k = 0;
            while (k < sizeof(b)) {
                uint64_t v = next();
                const char *w = words[v & 63];
                size_t n = strlen(w);
                for (size_t j = 0; j < n && k < sizeof(b); j++)
                    b[k++] = (unsigned char)w[j];
                if (k < sizeof(b))
                    b[k++] = ((v >> 6) & 7) == 0 ? '\n' : ' ';
            }
        }
        if (fwrite(b, 1, sizeof(b), stdout) != sizeof(b)) {
            perror("mo-bench-payload");
            return 1;
        }
    }
    return fflush(stdout) == 0 ? 0 : 1;
}

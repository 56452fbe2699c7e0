#include "repo/fetch.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "artifact/crypto_dl.h"
#include "artifact/sha256.h"
#include "repo/curl_dl.h"
#include "util/log.h"
#include "util/mem.h"

#define PIPE_SIZE (1024 * 1024)

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
    _cleanup_error_ struct error *e = NULL;
    if (curl_dl_load(&e) != 0)
        log_error("%s", error_message(e));
}

MO_DEFINE_POINTER_CLEANUP(curl_cleanupp, CURL *, curl_easy_cleanup)
#define _cleanup_curl_ _cleanup_(curl_cleanupp)
MO_DEFINE_POINTER_CLEANUP(bio_freep, BIO *, BIO_free)

static long env_long(const char *name, long dflt)
{
#ifdef MO_TEST_HOOKS
    const char *v = getenv(name);
    if (v && *v)
        return strtol(v, NULL, 10);
#else
    (void)name;
#endif
    return dflt;
}

void fetch_opts_from_config(const struct config *cfg, struct fetch_opts *o)
{
    *o = (struct fetch_opts){
        .server_ca = cfg->server_certificate,
        .client_cert = cfg->https_cert,
        .client_key = cfg->https_key,
        .connect_timeout = env_long("MO_TEST_FETCH_CONNECT_TIMEOUT", 30),
        .low_speed_time = env_long("MO_TEST_FETCH_LOW_SPEED_TIME", 60),
        .retries = 3,
        .backoff_ms = env_long("MO_TEST_FETCH_BACKOFF_MS", 1000),
    };
}

char *fetch_join_url(const char *base, const char *file)
{
    size_t n = strlen(base);
    while (n && base[n - 1] == '/')
        n--;
    return xasprintf("%.*s/%s", (int)n, base, file);
}

/* ServerCertificate is added to the trust store libcurl set up (the system's), so a
 * certificate that does not match leaves the system trust in force. */
static CURLcode add_server_ca(CURL *curl, void *sslctx, void *parm)
{
    (void)curl;
    const char *path = parm;
    _cleanup_error_ struct error *e = NULL;
    if (crypto_dl_load(&e) != 0) {
        log_warn("ServerCertificate %s: %s; only the system's trusted certificates apply", path, error_message(e));
        return CURLE_OK;
    }
    _cleanup_(bio_freep) BIO *bio = BIO_new_file(path, "r");
    if (!bio) {
        log_warn("ServerCertificate %s: cannot read it; only the system's trusted certificates apply", path);
        return CURLE_OK;
    }
    X509_STORE *store = SSL_CTX_get_cert_store((SSL_CTX *)sslctx);
    X509 *x;
    int n = 0;
    while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        X509_STORE_add_cert(store, x); /* a duplicate of a system certificate is harmless */
        X509_free(x);
        n++;
    }
    if (n == 0)
        log_warn("ServerCertificate %s: no PEM certificate in it; only the system's trusted certificates apply", path);
    return CURLE_OK;
}

static CURL *new_handle(const struct fetch_opts *o, const char *url, char *curl_err)
{
    pthread_once(&curl_once, curl_init_once);
    CURL *c = curl_easy_init();
    if (!c)
        return NULL;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https,file");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#endif
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, o->connect_timeout);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, o->low_speed_time);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "mender-orchestrator/" MO_VERSION);
    /* libcurl reads only the lower-case http_proxy (a CGI precaution); we are no CGI
     * program, and docs/configuration.md names HTTP_PROXY */
    const char *hp = getenv("HTTP_PROXY");
    if (strncmp(url, "http://", 7) == 0 && !getenv("http_proxy") && hp && *hp)
        curl_easy_setopt(c, CURLOPT_PROXY, hp);
    if (o->server_ca && o->server_ca[0]) {
        if (curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, add_server_ca) == CURLE_OK)
            curl_easy_setopt(c, CURLOPT_SSL_CTX_DATA, o->server_ca);
        else
            curl_easy_setopt(c, CURLOPT_CAINFO, o->server_ca); /* not OpenSSL: the file replaces the system's */
    }
    if (o->client_cert && o->client_cert[0])
        curl_easy_setopt(c, CURLOPT_SSLCERT, o->client_cert);
    if (o->client_key && o->client_key[0]) {
        if (strncmp(o->client_key, "pkcs11:", 7) == 0) {
            curl_easy_setopt(c, CURLOPT_SSLENGINE, "pkcs11");
            curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "ENG");
        }
        curl_easy_setopt(c, CURLOPT_SSLKEY, o->client_key);
    }
    return c;
}

/* Sets *err to a one-line reason for a failed transfer; true if trying again may help. */
static bool describe(CURL *c, CURLcode rc, const char *curl_err, const char *url, struct error **err)
{
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    if (rc == CURLE_HTTP_RETURNED_ERROR) {
        error_set(err, 0, "%s: HTTP %ld", url, code);
        return code >= 500 || code == 408 || code == 429;
    }
    error_set(err, 0, "%s: %s", url, curl_err[0] ? curl_err : curl_easy_strerror(rc));
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_PARTIAL_FILE:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_RANGE_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM: return true;
    default: return false;
    }
}

static void pause_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* ---- into a buffer ---------------------------------------------------------------------- */

struct membuf {
    char *p;
    size_t n, max;
    bool too_big;
};

static size_t membuf_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct membuf *b = ud;
    size_t len = size * nmemb;
    if (b->n + len > b->max) {
        b->too_big = true;
        return 0;
    }
    b->p = xrealloc(b->p, b->n + len + 1);
    memcpy(b->p + b->n, ptr, len);
    b->n += len;
    b->p[b->n] = '\0';
    return len;
}

/* One GET into a buffer. 0, or -1 with *err set and *again true when trying again may
 * help. */
static int get_once(const struct fetch_opts *o, const char *url, size_t max, char **out, size_t *len, bool *again,
                    struct error **err)
{
    *again = false;
    char curl_err[CURL_ERROR_SIZE] = "";
    _cleanup_curl_ CURL *c = new_handle(o, url, curl_err);
    if (!c)
        return error_set(err, 0, "%s: cannot set up libcurl", url);
    struct membuf b = { .max = max };
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, membuf_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    CURLcode rc = curl_easy_perform(c);
    _cleanup_free_ char *p = b.p;
    if (rc == CURLE_OK) {
        *out = p ? TAKE_PTR(p) : xstrdup("");
        *len = b.n;
        return 0;
    }
    if (b.too_big)
        return error_set(err, 0, "%s: larger than %zu bytes", url, max);
    *again = describe(c, rc, curl_err, url, err);
    return -1;
}

int fetch_buffer(const struct fetch_opts *o, const char *url, size_t max, char **out, size_t *len, struct error **err)
{
    assert(o && url && out && len);
    long backoff = o->backoff_ms;
    for (int attempt = 0;; attempt++) {
        _cleanup_error_ struct error *e = NULL;
        bool again;
        if (get_once(o, url, max, out, len, &again, &e) == 0)
            return 0;
        if (!again || attempt >= o->retries)
            return error_propagate(err, TAKE_PTR(e));
        log_warn("%s; trying again (%d of %d)", error_message(e), attempt + 1, o->retries);
        pause_ms(backoff);
        backoff *= 2;
    }
}

/* ---- as a stream -------------------------------------------------------------------------- */

struct fetch_stream {
    struct fetch_opts o;
    char *url;
    uint64_t size;
    char sha256[65];
    uint64_t first_bytes;
    int prefix_fd, tee_fd;
    bool tee_ok;
    int pipe_r, pipe_w;
    pthread_t thread;
    bool joined;
    atomic_bool stop;
    struct artifact_sha256 *md; /* freed by artifact_sha256_final */
    uint64_t got;               /* bytes delivered (hashed, teed, written to the pipe) */
    uint64_t discard;           /* bytes of the current response to drop (server ignored Range) */
    uint64_t attempt_start;     /* offset the current attempt asked for */
    long status;                /* of the response whose headers are arriving */
    bool mismatch;
    bool reader_gone;
    int rc;
    struct error *err; /* the transfer's failure (written by the thread; read after the join) */
};

/* The transfer's failure, replacing an earlier one. */
static void set_err(struct fetch_stream *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(struct fetch_stream *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    _cleanup_free_ char *m = xvasprintf(fmt, ap);
    va_end(ap);
    error_free(s->err);
    s->err = NULL;
    error_set(&s->err, 0, "%s", m);
}

/* Hands bytes on: hash, size check, tee, pipe. 0, or -1 to stop the transfer. */
static int deliver(struct fetch_stream *s, const char *p, size_t n, bool tee)
{
    if (s->size && s->got + n > s->size) {
        set_err(s, "%s: larger than the %llu bytes the index gives", s->url, (unsigned long long)s->size);
        s->mismatch = true;
        return -1;
    }
    artifact_sha256_update(s->md, p, n);
    s->got += n;
    if (tee && s->tee_fd >= 0 && s->tee_ok) {
        const char *q = p;
        size_t left = n;
        while (left) {
            ssize_t w = write(s->tee_fd, q, left);
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                log_warn("Artifact cache: cannot write: %s; going on without caching this Artifact", strerror(errno));
                s->tee_ok = false;
                break;
            }
            q += w;
            left -= (size_t)w;
        }
    }
    while (n) {
        if (atomic_load(&s->stop))
            return -1;
        ssize_t w = write(s->pipe_w, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            s->reader_gone = true;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static size_t stream_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct fetch_stream *s = ud;
    size_t len = size * nmemb, used = len;
    if (s->discard) {
        size_t d = s->discard < len ? (size_t)s->discard : len;
        s->discard -= d;
        ptr += d;
        len -= d;
    }
    if (len && deliver(s, ptr, len, true) < 0)
        return 0;
    return used;
}

/* Checks the announced length against the index before the body is taken. */
static size_t stream_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct fetch_stream *s = ud;
    size_t len = size * nmemb;
    if (len > 5 && strncmp(ptr, "HTTP/", 5) == 0) { /* a status line: a redirect's headers do not count */
        const char *sp = memchr(ptr, ' ', len);
        s->status = sp ? strtol(sp + 1, NULL, 10) : 0;
    }
    if (s->size && (s->status == 200 || s->status == 206) && len > 15 && strncasecmp(ptr, "Content-Length:", 15) == 0) {
        unsigned long long cl = strtoull(ptr + 15, NULL, 10);
        uint64_t want = s->size - s->attempt_start;
        if (s->discard == 0 && cl != want) {
            set_err(s, "%s: the server announces %llu bytes, the index %llu", s->url, cl, (unsigned long long)want);
            s->mismatch = true;
            return 0;
        }
    }
    return len;
}

/* Lets a reader that stopped end a transfer waiting for the network at once. */
static int stream_xferinfo(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return atomic_load(&((struct fetch_stream *)ud)->stop) ? 1 : 0;
}

/* 1. The bytes already in the partial cache entry. 0, or -1 to stop. */
static int stream_prefix(struct fetch_stream *s)
{
    if (s->prefix_fd < 0)
        return 0;
    _cleanup_free_ char *buf = xmalloc(65536);
    ssize_t n;
    while ((n = read(s->prefix_fd, buf, 65536)) > 0)
        if (deliver(s, buf, (size_t)n, false) < 0)
            break;
    return s->err || s->reader_gone || atomic_load(&s->stop) ? -1 : 0;
}

/* One request for what is still missing: a Range from s->got when the server takes
 * them, else everything with the bytes we have discarded. */
static CURLcode stream_attempt(struct fetch_stream *s, CURL *c, bool no_range)
{
    s->discard = 0;
    s->attempt_start = 0;
    s->status = 0;
    char range[64];
    if (s->first_bytes && !no_range) {
        snprintf(range, sizeof(range), "%llu-%llu", (unsigned long long)s->got, (unsigned long long)s->first_bytes - 1);
        curl_easy_setopt(c, CURLOPT_RANGE, range);
        s->attempt_start = s->got;
    } else if (s->got && !no_range) {
        curl_easy_setopt(c, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)s->got);
        s->attempt_start = s->got;
    } else {
        s->discard = s->got;
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, stream_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, stream_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, s);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, stream_xferinfo);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, s);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    return curl_easy_perform(c);
}

/* 2. The rest from the server, broken transfers tried again with backoff. 0, or -1
 * to stop. */
static int stream_transfer(struct fetch_stream *s)
{
    bool no_range = false;
    long backoff = s->o.backoff_ms;
    for (int attempt = 0; !(s->size && s->got == s->size && attempt == 0 && s->got > 0); attempt++) {
        char curl_err[CURL_ERROR_SIZE] = "";
        _cleanup_curl_ CURL *c = new_handle(&s->o, s->url, curl_err);
        if (!c) {
            set_err(s, "%s: cannot set up libcurl", s->url);
            return -1;
        }
        CURLcode rc = stream_attempt(s, c, no_range);
        if (rc == CURLE_OK)
            return 0;
        if (s->mismatch || s->reader_gone || atomic_load(&s->stop))
            return -1;
        error_free(s->err);
        s->err = NULL;
        bool again = describe(c, rc, curl_err, s->url, &s->err);
        curl_easy_cleanup(TAKE_PTR(c));
        if (rc == CURLE_RANGE_ERROR)
            no_range = true;
        if (!again || attempt >= s->o.retries)
            return -1;
        log_warn("%s after %llu bytes; trying again in %ld ms (%d of %d)%s", error_message(s->err),
                 (unsigned long long)s->got, backoff, attempt + 1, s->o.retries,
                 s->got && !no_range ? ", from there on" : "");
        error_free(s->err);
        s->err = NULL;
        for (long waited = 0; waited < backoff && !atomic_load(&s->stop); waited += 50)
            pause_ms(50);
        if (atomic_load(&s->stop))
            return -1;
        backoff *= 2;
    }
    return 0;
}

/* 3. What the index says: size and SHA-256. */
static int stream_check(struct fetch_stream *s)
{
    unsigned char md[32];
    char hex[65];
    artifact_sha256_final(s->md, md);
    s->md = NULL;
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    if (s->size && s->got != s->size) {
        set_err(s, "%s: %llu bytes, the index gives %llu", s->url, (unsigned long long)s->got,
                (unsigned long long)s->size);
        s->mismatch = true;
        return -1;
    }
    if (s->sha256[0] && strcmp(hex, s->sha256) != 0) {
        set_err(s, "%s: SHA-256 %s does not match the index (%s)", s->url, hex, s->sha256);
        s->mismatch = true;
        return -1;
    }
    return 0;
}

static void *stream_thread(void *arg)
{
    struct fetch_stream *s = arg;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    s->rc = stream_prefix(s) == 0 && stream_transfer(s) == 0 && stream_check(s) == 0 ? 0 : -1;
    if (s->rc != 0 && !s->err)
        set_err(s, "%s: download stopped", s->url);
    close(s->pipe_w);
    s->pipe_w = -1;
    return NULL;
}

struct fetch_stream *fetch_stream_open(const struct fetch_opts *o, const struct fetch_stream_args *a,
                                       struct error **err)
{
    assert(o && a && a->url);
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        error_set_errno(err, errno, "pipe");
        return NULL;
    }
    (void)fcntl(p[1], F_SETPIPE_SZ, PIPE_SIZE);
    struct fetch_stream *s = xcalloc(1, sizeof(*s));
    s->o = *o;
    s->url = xstrdup(a->url);
    s->size = a->size;
    s->first_bytes = a->first_bytes;
    if (a->sha256)
        snprintf(s->sha256, sizeof(s->sha256), "%s", a->sha256);
    s->prefix_fd = a->prefix_fd;
    s->tee_fd = a->tee_fd;
    s->tee_ok = a->tee_fd >= 0;
    s->md = artifact_sha256_new();
    atomic_init(&s->stop, false);
    s->pipe_r = p[0];
    s->pipe_w = p[1];
    if (pthread_create(&s->thread, NULL, stream_thread, s) != 0) {
        close(p[0]);
        close(p[1]);
        artifact_sha256_free(s->md);
        free(s->url);
        free(s);
        error_set(err, 0, "cannot start the download thread");
        return NULL;
    }
    return s;
}

static void join(struct fetch_stream *s)
{
    if (!s->joined) {
        pthread_join(s->thread, NULL);
        s->joined = true;
    }
}

ssize_t fetch_stream_read(struct fetch_stream *s, void *buf, size_t len)
{
    for (;;) {
        ssize_t n = read(s->pipe_r, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n != 0)
            return n;
        join(s);
        return s->rc == 0 ? 0 : -1;
    }
}

int fetch_stream_finish(struct fetch_stream *s, struct error **err)
{
    assert(s);
    char buf[65536];
    while (fetch_stream_read(s, buf, sizeof(buf)) > 0)
        ;
    join(s);
    if (s->rc != 0)
        return error_set(err, error_code(s->err), "%s", error_message(s->err));
    return 0;
}

const char *fetch_stream_error(struct fetch_stream *s)
{
    if (!s->joined)
        return NULL;
    return s->rc != 0 && s->err ? error_message(s->err) : NULL;
}

int fetch_stream_tee_ok(const struct fetch_stream *s) { return s->tee_ok; }
int fetch_stream_mismatch(const struct fetch_stream *s) { return s->mismatch; }

int fetch_stream_done(const struct fetch_stream *s) { return s->joined && s->rc == 0; }

void fetch_stream_close(struct fetch_stream *s)
{
    if (!s)
        return;
    atomic_store(&s->stop, true);
    close(s->pipe_r); /* a writer blocked on the pipe gets EPIPE */
    join(s);
    artifact_sha256_free(s->md);
    error_free(s->err);
    free(s->url);
    free(s);
}

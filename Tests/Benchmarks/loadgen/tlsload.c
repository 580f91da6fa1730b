/*
 * tlsload — the TLS load generator of unwrapd's benchmark (Tests/Benchmarks/README.md).
 *
 * One process, one thread, epoll, nonblocking OpenSSL: it keeps --concurrency connections in flight, so that one
 * client core can drive a TLS server on another core (a blocking client waits out every round trip and cannot).
 * Every operation it counts is real and complete, and checked:
 *   - the TCP connection and the TLS handshake completed, with the expected protocol version, cipher and group
 *     (and, with --resume, the session was resumed);
 *   - an HTTP request was sent and the whole response read: status 200, Content-Length body, and (with
 *     --expect-sha256) the body's SHA-256;
 *   - for new-connection-per-request, the server then closed the connection (Connection: close) and the client
 *     closed its side after it (close_notify, then close).
 * Anything else is an error, counted by kind and reported in the JSON result; nothing is retried silently.
 *
 * Modes:
 *   conn   new connection per request, for --duration seconds after --warmup seconds (handshakes/s); with
 *          --count N, exactly N connections instead (no warm-up: the window runs from the first connect to the
 *          end of the last connection; --duration then bounds it)
 *   bulk   one keep-alive connection downloading --path again and again (bytes/s)
 *   hold   open --hold connections (handshake + one keep-alive request each), keep them idle, report READY on
 *          stdout; then read commands on stdin: "status", "probe K" (K new connections, one at a time, latency),
 *          "quit" (or EOF)
 *   probe  one complete request on a new connection, retried every --interval until --timeout (readiness)
 *
 * While measuring it samples the CPU time (utime+stime, and cutime+cstime; the kernel's share, stime+cstime,
 * also apart) of the --pids processes from /proc at the exact start and end of the measurement window, and the
 * busy time of every CPU from /proc/stat.
 *
 * Written in C rather than Swift because the client core, not the daemon's, is the scarce resource on a 2-core
 * machine: the generator must spend as little as possible beside OpenSSL itself, and it is a direct use of two C
 * APIs (OpenSSL, epoll). It builds in a second with `cc -O2 tlsload.c -lssl -lcrypto`.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum mode { MODE_CONN, MODE_BULK, MODE_HOLD, MODE_PROBE };
enum state { ST_FREE, ST_CONNECTING, ST_HANDSHAKE, ST_WRITE, ST_READ, ST_DRAIN, ST_IDLE };

/* Error kinds, reported by name. */
enum err {
    E_CONNECT,   /* socket/connect failed */
    E_HANDSHAKE, /* TLS handshake failed (alert, protocol error, EOF) */
    E_PARAMS,    /* negotiated version/cipher/group differ from the expected ones */
    E_NOT_RESUMED, /* --resume: a session was offered and the server did a full handshake */
    E_TLS_IO,    /* SSL_read/SSL_write failed after the handshake */
    E_EOF,       /* the server closed before the response was complete */
    E_HTTP,      /* bad status line, status != 200, no Content-Length, header too long */
    E_BODY,      /* body longer than Content-Length, or wrong SHA-256 */
    E_EXTRA,     /* bytes after the response (in DRAIN or IDLE) */
    E_TIMEOUT,   /* no progress within --conn-timeout */
    E_DROPPED,   /* hold: an idle connection was closed by the server */
    E_COUNT
};
static const char *err_names[E_COUNT] = {"connect", "handshake", "params", "not_resumed", "tls_io", "eof",
                                         "http", "body", "extra_bytes", "timeout", "dropped"};

struct conn {
    int fd;
    enum state state;
    uint32_t events;
    SSL *ssl;
    SSL_SESSION *session; /* --resume: the session to offer next */
    double started;       /* connect() time, for latency */
    double last_progress; /* for --conn-timeout */
    double retry_at;      /* slot waits before reconnecting after a connect failure */
    size_t written;
    /* response parser */
    char head[4096];
    size_t head_len;
    int head_done;
    long long content_length;
    long long body;
    int hash_body;
    EVP_MD_CTX *md;
    int resumed;
    int index;
};

/* ---- options ---- */
static enum mode mode = MODE_CONN;
static const char *host = "127.0.0.1";
static int port = 0;
static int tls_version = 13;
static const char *suites = "TLS_AES_128_GCM_SHA256";
static const char *ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256";
static const char *groups = "X25519";
static const char *expect_cipher = NULL;
static const char *expect_group = NULL;
static int resume = 0;
static int no_tickets = 0; /* --no-tickets: ask for no session tickets (TLS 1.2 then resumes by session ID) */
static const char *path = "/100";
static const char *server_name = "localhost";
static const char *expect_sha256 = NULL;
static int concurrency = 64;
static double duration = 10, warmup = 2;
static int hold_count = 0;
static long long count_limit = 0; /* conn --count: connections to make in all (0: run for --duration) */
static double conn_timeout = 10;
static double probe_timeout = 10, probe_interval = 0.05;
static pid_t pids[64];
static int npids = 0;
static int verbose = 0;

/* ---- state ---- */
static SSL_CTX *ctx;
static int ep;
static struct sockaddr_in target;
static char request_close[512], request_keepalive[512];
static size_t request_close_len, request_keepalive_len;
static unsigned char expected_digest[32];
static int expected_nid = NID_undef;
static struct conn *conns;
static int nconns;
static long long errors[E_COUNT];
static int error_lines;
static char negotiated_version[32] = "", negotiated_cipher[64] = "", negotiated_group[32] = "";
static unsigned char buf[65536];
static int bulk_hashed; /* bulk: the first download's body was hashed */

/* measurement window */
static int measuring = 0;
static double window_start, window_end;
static long long ops;          /* completed operations in the window */
static long long ops_total;    /* completed operations, all time */
static long long full_in_window; /* --resume: full handshakes inside the window */
static long long bytes_in_window;
static long long no_close_notify; /* server closed without close_notify (information, not an error) */
static long long conns_started;   /* conn mode: connections started (with --count, never more than N) */

/* latency histogram: 10 µs buckets up to 1 s, then 10 ms buckets up to 100 s */
#define HIST_FINE 100000
#define HIST_COARSE 10000
static uint32_t hist_fine[HIST_FINE], hist_coarse[HIST_COARSE];
static long long hist_n;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "tlsload: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(2);
}

static void record_error(enum err kind, struct conn *c, const char *detail) {
    errors[kind]++;
    if (error_lines < 10 || verbose) {
        error_lines++;
        unsigned long e = ERR_peek_error();
        char text[256] = "";
        if (e) ERR_error_string_n(e, text, sizeof text);
        fprintf(stderr, "tlsload: error %s (slot %d): %s %s%s\n", err_names[kind], c ? c->index : -1,
                detail ? detail : "", text, error_lines == 10 && !verbose ? " (further errors only counted)" : "");
    }
    ERR_clear_error();
}

static void hist_add(double seconds) {
    long us10 = (long)(seconds * 1e5);
    if (us10 < HIST_FINE) hist_fine[us10 < 0 ? 0 : us10]++;
    else {
        long ms10 = (long)(seconds * 100);
        hist_coarse[ms10 < HIST_COARSE ? ms10 : HIST_COARSE - 1]++;
    }
    hist_n++;
}

static double hist_percentile(double p) {
    if (hist_n == 0) return 0;
    long long rank = (long long)(p / 100.0 * hist_n + 0.5), seen = 0;
    if (rank < 1) rank = 1;
    for (int i = 0; i < HIST_FINE; i++)
        if ((seen += hist_fine[i]) >= rank) return (i + 0.5) * 1e-5;
    for (int i = 0; i < HIST_COARSE; i++)
        if ((seen += hist_coarse[i]) >= rank) return (i + 0.5) * 1e-2;
    return 100;
}

/* ---- CPU accounting from /proc ---- */
struct cpu_sample {
    double daemon; /* seconds: utime+stime+cutime+cstime of --pids */
    double daemon_kernel; /* seconds: stime+cstime of --pids (the kernel's share of `daemon`) */
    int daemon_ok;
    double self;   /* this process, getrusage */
    double cpu_busy[8], cpu_total[8];
    int ncpu;
};

/* Adds the CPU time of `pid` to `s`: all of it to `daemon`, the kernel's share also to `daemon_kernel`. */
static void add_proc_cpu_seconds(pid_t pid, struct cpu_sample *s) {
    char name[64], text[1024];
    snprintf(name, sizeof name, "/proc/%d/stat", (int)pid);
    int fd = open(name, O_RDONLY | O_CLOEXEC);
    if (fd < 0) { s->daemon_ok = 0; return; }
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0) { s->daemon_ok = 0; return; }
    text[n] = 0;
    char *p = strrchr(text, ')');
    if (!p) { s->daemon_ok = 0; return; }
    /* after ") ": field 3 is state; utime is field 14 */
    unsigned long long v[20] = {0};
    int field = 3;
    p += 2;
    while (*p && field <= 17) {
        if (field >= 14) v[field] = strtoull(p, NULL, 10);
        while (*p && *p != ' ') p++;
        while (*p == ' ') p++;
        field++;
    }
    double tick = (double)sysconf(_SC_CLK_TCK);
    s->daemon += (double)(v[14] + v[15] + v[16] + v[17]) / tick;
    s->daemon_kernel += (double)(v[15] + v[17]) / tick;
}

static void sample(struct cpu_sample *s) {
    memset(s, 0, sizeof *s);
    s->daemon_ok = 1;
    for (int i = 0; i < npids; i++) add_proc_cpu_seconds(pids[i], s);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    s->self = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
    FILE *f = fopen("/proc/stat", "re");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        int cpu;
        unsigned long long u, ni, sy, id, io, irq, sirq, st;
        if (sscanf(line, "cpu%d %llu %llu %llu %llu %llu %llu %llu %llu", &cpu, &u, &ni, &sy, &id, &io, &irq, &sirq,
                   &st) == 9 && cpu >= 0 && cpu < 8) {
            s->cpu_busy[cpu] = (double)(u + ni + sy + irq + sirq + st);
            s->cpu_total[cpu] = (double)(u + ni + sy + id + io + irq + sirq + st);
            if (cpu + 1 > s->ncpu) s->ncpu = cpu + 1;
        }
    }
    fclose(f);
}

static struct cpu_sample sample_start, sample_end;

static void print_cpu_json(FILE *out, const struct cpu_sample *a, const struct cpu_sample *b) {
    fprintf(out,
            "\"daemon_cpu_s\":%.3f,\"daemon_kernel_cpu_s\":%.3f,\"daemon_cpu_ok\":%s,\"client_cpu_s\":%.3f,"
            "\"cpu_busy\":[",
            b->daemon - a->daemon, b->daemon_kernel - a->daemon_kernel,
            (a->daemon_ok && b->daemon_ok) ? "true" : "false", b->self - a->self);
    for (int i = 0; i < b->ncpu; i++) {
        double total = b->cpu_total[i] - a->cpu_total[i];
        fprintf(out, "%s%.3f", i ? "," : "", total > 0 ? (b->cpu_busy[i] - a->cpu_busy[i]) / total : 0);
    }
    fprintf(out, "]");
}

static void print_errors_json(FILE *out) {
    long long total = 0;
    fprintf(out, "\"errors\":{");
    int first = 1;
    for (int i = 0; i < E_COUNT; i++) {
        total += errors[i];
        if (errors[i]) {
            fprintf(out, "%s\"%s\":%lld", first ? "" : ",", err_names[i], errors[i]);
            first = 0;
        }
    }
    fprintf(out, "},\"errors_total\":%lld", total);
}

static void print_tls_json(FILE *out) {
    fprintf(out, "\"version\":\"%s\",\"cipher\":\"%s\",\"group\":\"%s\"", negotiated_version, negotiated_cipher,
            negotiated_group);
}

/* ---- connections ---- */
/* The fields every measuring mode reports last: what was negotiated, the errors, the CPU time sampled. */
static void print_common_json(void) {
    print_tls_json(stdout);
    printf(",");
    print_errors_json(stdout);
    printf(",");
    print_cpu_json(stdout, &sample_start, &sample_end);
}

static void set_interest(struct conn *c, uint32_t events) {
    if (c->events == events) return;
    struct epoll_event ev = {.events = events, .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) != 0) die("epoll_ctl: %s", strerror(errno));
    c->events = events;
}

static void release(struct conn *c, int send_close_notify) {
    if (c->ssl) {
        if (send_close_notify) SSL_shutdown(c->ssl); /* one nonblocking attempt; the peer may be gone */
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    c->state = ST_FREE;
    ERR_clear_error();
}

static void fail(struct conn *c, enum err kind, const char *detail) {
    record_error(kind, c, detail);
    release(c, 0);
}

static void reset_parser(struct conn *c) {
    c->head_len = 0;
    c->head_done = 0;
    c->content_length = -1;
    c->body = 0;
    c->hash_body = expect_sha256 != NULL && !(mode == MODE_BULK && bulk_hashed);
    if (c->hash_body) EVP_DigestInit_ex(c->md, EVP_sha256(), NULL);
}

static void drive(struct conn *c);

static int start_conn(struct conn *c) {
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        record_error(E_CONNECT, c, strerror(errno));
        c->retry_at = now() + 0.01;
        return -1;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->started = c->last_progress = now();
    c->events = EPOLLOUT;
    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) die("epoll_ctl add: %s", strerror(errno));
    c->state = ST_CONNECTING;
    if (connect(c->fd, (struct sockaddr *)&target, sizeof target) == 0) {
        drive(c); /* connected at once (loopback) */
    } else if (errno != EINPROGRESS) {
        char detail[64];
        snprintf(detail, sizeof detail, "connect: %s", strerror(errno));
        fail(c, E_CONNECT, detail);
        c->retry_at = now() + 0.01;
        return -1;
    }
    return 0;
}

/* Checks the negotiated parameters right after the handshake. */
static int check_params(struct conn *c) {
    SSL *s = c->ssl;
    int want_version = tls_version == 13 ? TLS1_3_VERSION : TLS1_2_VERSION;
    const char *cipher = SSL_CIPHER_get_name(SSL_get_current_cipher(s));
    int nid = SSL_get_negotiated_group(s);
    c->resumed = SSL_session_reused(s);
    if (!negotiated_version[0]) {
        snprintf(negotiated_version, sizeof negotiated_version, "%s", SSL_get_version(s));
        snprintf(negotiated_cipher, sizeof negotiated_cipher, "%s", cipher);
        const char *g = nid != NID_undef && nid != 0 ? OBJ_nid2sn(nid) : "";
        snprintf(negotiated_group, sizeof negotiated_group, "%s", g ? g : "");
    }
    if (SSL_version(s) != want_version) return 0;
    if (expect_cipher && strcmp(cipher, expect_cipher) != 0) return 0;
    /* A resumed TLS 1.2 handshake has no key exchange, hence no group. */
    int has_key_exchange = tls_version == 13 || !c->resumed;
    if (expected_nid != NID_undef && has_key_exchange && nid != expected_nid) return 0;
    return 1;
}

static void begin_tls(struct conn *c) {
    c->ssl = SSL_new(ctx);
    if (!c->ssl) die("SSL_new failed");
    SSL_set_fd(c->ssl, c->fd);
    SSL_set_connect_state(c->ssl);
    if (server_name) SSL_set_tlsext_host_name(c->ssl, server_name);
    if (resume && c->session) SSL_set_session(c->ssl, c->session);
    c->state = ST_HANDSHAKE;
}

/* A response was read completely. */
static void response_done(struct conn *c);

/* Returns 1 when the response is complete, 0 when more is needed, -1 on a protocol error (already recorded). */
static int parse(struct conn *c, const unsigned char *data, size_t n) {
    if (!c->head_done) {
        size_t room = sizeof c->head - 1 - c->head_len;
        size_t take = n < room ? n : room;
        memcpy(c->head + c->head_len, data, take);
        size_t old = c->head_len;
        c->head_len += take;
        c->head[c->head_len] = 0;
        char *end = strstr(c->head, "\r\n\r\n");
        if (!end) {
            if (c->head_len == sizeof c->head - 1) { fail(c, E_HTTP, "response header too long"); return -1; }
            return 0;
        }
        size_t head_size = (size_t)(end - c->head) + 4;
        if (strncmp(c->head, "HTTP/1.1 200 ", 13) != 0 && strncmp(c->head, "HTTP/1.0 200 ", 13) != 0) {
            char detail[64];
            snprintf(detail, sizeof detail, "status line '%.30s'", c->head);
            fail(c, E_HTTP, detail);
            return -1;
        }
        for (char *p = c->head; p < end; p++) {
            if ((p == c->head || p[-1] == '\n') && strncasecmp(p, "content-length:", 15) == 0) {
                c->content_length = strtoll(p + 15, NULL, 10);
                break;
            }
        }
        if (c->content_length < 0) { fail(c, E_HTTP, "no Content-Length"); return -1; }
        c->head_done = 1;
        /* the body bytes that came with the header */
        size_t consumed = head_size - old;
        data += consumed;
        n -= consumed;
    }
    if ((long long)n > c->content_length - c->body) { fail(c, E_BODY, "more bytes than Content-Length"); return -1; }
    if (c->hash_body) EVP_DigestUpdate(c->md, data, n);
    c->body += n;
    if (measuring && mode == MODE_BULK) bytes_in_window += n;
    if (c->body < c->content_length) return 0;
    if (c->hash_body) {
        unsigned char digest[32];
        unsigned int len = 0;
        EVP_DigestFinal_ex(c->md, digest, &len);
        if (memcmp(digest, expected_digest, 32) != 0) { fail(c, E_BODY, "body SHA-256 differs"); return -1; }
        if (mode == MODE_BULK) bulk_hashed = 1; /* bulk: only the first (warm-up) download is hashed */
    }
    return 1;
}

/* Handles SSL_get_error for a call that returned r <= 0: sets the interest and returns 1 when it should wait. */
static int wants(struct conn *c, int r) {
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ) { set_interest(c, EPOLLIN); return 1; }
    if (e == SSL_ERROR_WANT_WRITE) { set_interest(c, EPOLLOUT); return 1; }
    return 0;
}

static void drive(struct conn *c) {
    c->last_progress = now();
    for (;;) {
        switch (c->state) {
        case ST_FREE:
            return;
        case ST_CONNECTING: {
            int err = 0;
            socklen_t len = sizeof err;
            getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
            if (err) {
                char detail[64];
                snprintf(detail, sizeof detail, "connect: %s", strerror(err));
                fail(c, E_CONNECT, detail);
                c->retry_at = now() + 0.01;
                return;
            }
            begin_tls(c);
            break;
        }
        case ST_HANDSHAKE: {
            int r = SSL_do_handshake(c->ssl);
            if (r == 1) {
                if (!check_params(c)) {
                    char detail[160];
                    snprintf(detail, sizeof detail, "negotiated %s %s group %d", SSL_get_version(c->ssl),
                             SSL_CIPHER_get_name(SSL_get_current_cipher(c->ssl)), (int)SSL_get_negotiated_group(c->ssl));
                    fail(c, E_PARAMS, detail);
                    return;
                }
                if (resume && c->session && !c->resumed && mode != MODE_CONN) {
                    fail(c, E_NOT_RESUMED, "");
                    return;
                }
                c->state = ST_WRITE;
                c->written = 0;
                break;
            }
            if (wants(c, r)) return;
            fail(c, E_HANDSHAKE, "");
            return;
        }
        case ST_WRITE: {
            /* bulk and hold keep the connection; conn and probe (also a probe while holding) ask the server to
             * close it after the response */
            int keepalive = mode == MODE_BULK || mode == MODE_HOLD;
            const char *request = keepalive ? request_keepalive : request_close;
            size_t request_len = keepalive ? request_keepalive_len : request_close_len;
            int r = SSL_write(c->ssl, request + c->written, (int)(request_len - c->written));
            if (r > 0) {
                c->written += (size_t)r;
                if (c->written == request_len) {
                    reset_parser(c);
                    c->state = ST_READ;
                }
                break;
            }
            if (wants(c, r)) return;
            fail(c, E_TLS_IO, "SSL_write");
            return;
        }
        case ST_READ: {
            int r = SSL_read(c->ssl, buf, sizeof buf);
            if (r > 0) {
                int done = parse(c, buf, (size_t)r);
                if (done < 0) return;
                if (done) {
                    response_done(c);
                    if (c->state == ST_FREE) return;
                }
                break;
            }
            if (wants(c, r)) return;
            int e = SSL_get_error(c->ssl, r);
            fail(c, e == SSL_ERROR_ZERO_RETURN ? E_EOF : E_TLS_IO, "SSL_read");
            return;
        }
        case ST_DRAIN:
        case ST_IDLE: {
            int r = SSL_read(c->ssl, buf, sizeof buf);
            if (r > 0) { fail(c, E_EXTRA, c->state == ST_IDLE ? "while idle" : "after the response"); return; }
            if (wants(c, r)) return;
            int e = SSL_get_error(c->ssl, r);
            if (c->state == ST_IDLE) { fail(c, E_DROPPED, ""); return; }
            if (e != SSL_ERROR_ZERO_RETURN) { fail(c, E_TLS_IO, "waiting for the server's close"); return; }
            if (!(SSL_get_shutdown(c->ssl) & SSL_RECEIVED_SHUTDOWN)) no_close_notify++;
            /* The operation is complete: handshake, request, response, orderly close by the server. */
            double t = now();
            ops_total++;
            if (measuring) {
                if (!resume || c->resumed) {
                    ops++;
                    hist_add(t - c->started);
                } else {
                    full_in_window++;
                }
            }
            if (resume) {
                SSL_SESSION *s = SSL_get1_session(c->ssl);
                if (s && SSL_SESSION_is_resumable(s)) {
                    if (c->session) SSL_SESSION_free(c->session);
                    c->session = s;
                } else if (s) {
                    SSL_SESSION_free(s);
                }
            }
            release(c, 1);
            return;
        }
        }
    }
}

static int bulk_downloads;
static double bulk_min_rate = 1e18, bulk_max_rate = 0, bulk_download_start;
static double bulk_deadline;

static void response_done(struct conn *c) {
    switch (mode) {
    case MODE_CONN:
    case MODE_PROBE:
        c->state = ST_DRAIN;
        set_interest(c, EPOLLIN);
        return;
    case MODE_HOLD:
        c->state = ST_IDLE;
        set_interest(c, EPOLLIN);
        ops_total++;
        return;
    case MODE_BULK: {
        double t = now();
        ops_total++;
        if (measuring) {
            double rate = c->content_length / (t - bulk_download_start);
            if (rate < bulk_min_rate) bulk_min_rate = rate;
            if (rate > bulk_max_rate) bulk_max_rate = rate;
            bulk_downloads++;
            ops++;
            if (t >= bulk_deadline) { /* end the window on a whole download */
                window_end = t;
                sample(&sample_end);
                measuring = 0;
                release(c, 1);
                return;
            }
        } else if (ops_total >= 1 && t >= window_start) {
            /* warm-up over (at least one whole download, hashed): start the window now */
            measuring = 1;
            window_start = t;
            bulk_deadline = t + duration;
            sample(&sample_start);
        }
        bulk_download_start = t;
        c->state = ST_WRITE;
        c->written = 0;
        return;
    }
    }
}

static void check_timeouts(double t) {
    for (int i = 0; i < nconns; i++) {
        struct conn *c = &conns[i];
        if (c->state != ST_FREE && c->state != ST_IDLE && t - c->last_progress > conn_timeout) {
            char detail[64];
            snprintf(detail, sizeof detail, "no progress for %.0f s in state %d", conn_timeout, c->state);
            fail(c, E_TIMEOUT, detail);
            c->retry_at = t;
        }
    }
}

static void handle_events(int timeout_ms) {
    struct epoll_event evs[256];
    int n = epoll_wait(ep, evs, 256, timeout_ms);
    if (n < 0 && errno != EINTR) die("epoll_wait: %s", strerror(errno));
    for (int i = 0; i < n; i++) drive((struct conn *)evs[i].data.ptr);
}

/* ---- modes ---- */
static void run_conn(void) {
    nconns = concurrency;
    conns = calloc((size_t)nconns, sizeof *conns);
    double t0 = now();
    if (count_limit) { /* --count: the window covers all N connections; --duration bounds it */
        sample(&sample_start);
        t0 = window_start = now();
        window_end = window_start + duration;
        measuring = 1;
    } else {
        window_start = t0 + warmup;
        window_end = window_start + duration;
    }
    for (int i = 0; i < nconns; i++) {
        conns[i].index = i;
        conns[i].fd = -1;
        conns[i].md = EVP_MD_CTX_new();
        if (!count_limit || conns_started < count_limit) {
            conns_started++;
            start_conn(&conns[i]);
        }
    }
    double last_check = t0;
    for (;;) {
        double t = now();
        if (count_limit && measuring && conns_started >= count_limit) {
            int busy = 0;
            for (int i = 0; i < nconns; i++) busy += conns[i].state != ST_FREE;
            if (!busy) { /* all N finished (completed or failed) */
                sample(&sample_end);
                window_end = now();
                measuring = 0;
                break;
            }
        }
        if (!measuring && t >= window_start && t < window_end) {
            sample(&sample_start);
            window_start = now();
            window_end = window_start + duration;
            measuring = 1;
        }
        if (measuring && t >= window_end) {
            sample(&sample_end);
            window_end = now();
            measuring = 0;
            break;
        }
        handle_events(5);
        t = now();
        for (int i = 0; i < nconns; i++) {
            struct conn *c = &conns[i];
            if (c->state == ST_FREE && t >= c->retry_at && (!count_limit || conns_started < count_limit)) {
                conns_started++;
                start_conn(c);
            }
        }
        if (t - last_check > 0.1) { check_timeouts(t); last_check = t; }
    }
    /* Let the connections in flight finish (not counted), so that the server sees no aborted handshakes. */
    double drain_end = now() + 5;
    for (;;) {
        int busy = 0;
        for (int i = 0; i < nconns; i++) busy += conns[i].state != ST_FREE;
        if (!busy || now() > drain_end) break;
        handle_events(5);
    }
    for (int i = 0; i < nconns; i++) release(&conns[i], 0);
    double secs = window_end - window_start;
    printf("{\"mode\":\"conn\",\"resume\":%s,\"ops\":%lld,\"seconds\":%.4f,\"rate\":%.1f,", resume ? "true" : "false",
           ops, secs, ops / secs);
    if (count_limit) printf("\"count\":%lld,\"started\":%lld,", count_limit, conns_started);
    if (resume) printf("\"full_in_window\":%lld,", full_in_window);
    printf("\"ops_total\":%lld,\"concurrency\":%d,\"latency_p50_ms\":%.3f,\"latency_p99_ms\":%.3f,"
           "\"server_closed_without_close_notify\":%lld,",
           ops_total, concurrency, hist_percentile(50) * 1e3, hist_percentile(99) * 1e3, no_close_notify);
    print_common_json();
    printf("}\n");
}

static void run_bulk(void) {
    nconns = 1;
    conns = calloc(1, sizeof *conns);
    conns[0].fd = -1;
    conns[0].md = EVP_MD_CTX_new();
    double t0 = now();
    window_start = t0 + warmup; /* the window starts after this and after the first whole download */
    double hard_end = t0 + warmup + duration + 60 + conn_timeout;
    start_conn(&conns[0]);
    bulk_download_start = now();
    double last_check = t0;
    while (conns[0].state != ST_FREE) {
        handle_events(50);
        double t = now();
        if (t - last_check > 0.1) { check_timeouts(t); last_check = t; }
        if (t > hard_end) { fail(&conns[0], E_TIMEOUT, "bulk run did not end"); break; }
    }
    double secs = window_end - window_start;
    int complete = bulk_downloads > 0 && !measuring;
    printf("{\"mode\":\"bulk\",\"downloads\":%d,\"ops_total\":%lld,\"bytes\":%lld,\"seconds\":%.4f,\"rate\":%.1f,"
           "\"download_rate_min\":%.1f,\"download_rate_max\":%.1f,",
           bulk_downloads, ops_total, complete ? bytes_in_window : 0, complete ? secs : 0,
           complete ? bytes_in_window / secs : 0, complete ? bulk_min_rate : 0, bulk_max_rate);
    print_common_json();
    printf("}\n");
}

/* One complete request on a new connection, driven to the end (probe mode, and "probe" in hold mode).
 * Returns the latency in seconds, or -1. */
static double one_request(double timeout) {
    static struct conn probe;
    if (!probe.md) probe.md = EVP_MD_CTX_new();
    probe.index = -1;
    probe.fd = -1;
    long long before = ops_total;
    long long errs_before = 0;
    for (int i = 0; i < E_COUNT; i++) errs_before += errors[i];
    enum mode saved = mode;
    mode = MODE_PROBE;
    double t0 = now();
    start_conn(&probe);
    while (probe.state != ST_FREE) {
        struct pollfd p = {.fd = probe.fd, .events = (short)((probe.events & EPOLLIN ? POLLIN : 0) |
                                                             (probe.events & EPOLLOUT ? POLLOUT : 0))};
        int left = (int)((t0 + timeout - now()) * 1000);
        if (left <= 0) { fail(&probe, E_TIMEOUT, "probe"); break; }
        if (poll(&p, 1, left > 100 ? 100 : left) > 0) drive(&probe);
    }
    mode = saved;
    return ops_total > before ? now() - t0 : -1;
}

static int run_probe(void) {
    /* readiness: retry quietly until one complete request succeeds */
    double deadline = now() + probe_timeout;
    int saved_lines = error_lines;
    for (;;) {
        error_lines = 1000; /* no error lines while the server is still starting */
        memset(errors, 0, sizeof errors);
        double latency = one_request(conn_timeout < probe_timeout ? conn_timeout : probe_timeout);
        error_lines = saved_lines;
        if (latency >= 0) {
            printf("{\"mode\":\"probe\",\"ok\":true,\"latency_ms\":%.3f,", latency * 1e3);
            print_tls_json(stdout);
            printf("}\n");
            return 0;
        }
        if (now() + probe_interval > deadline) break;
        usleep((useconds_t)(probe_interval * 1e6));
    }
    printf("{\"mode\":\"probe\",\"ok\":false,");
    print_errors_json(stdout);
    printf("}\n");
    return 1;
}

static void hold_status(const char *event) {
    long long open = 0;
    for (int i = 0; i < nconns; i++) open += conns[i].state == ST_IDLE;
    printf("{\"mode\":\"hold\",\"event\":\"%s\",\"requested\":%d,\"open\":%lld,", event, hold_count, open);
    print_common_json();
    printf(",\"seconds\":%.3f}\n", window_end - window_start);
    fflush(stdout);
}

static int run_hold(void) {
    nconns = hold_count;
    conns = calloc((size_t)nconns, sizeof *conns);
    for (int i = 0; i < nconns; i++) {
        conns[i].index = i;
        conns[i].fd = -1;
        conns[i].md = EVP_MD_CTX_new();
    }
    sample(&sample_start);
    window_start = now();
    double deadline = window_start + duration; /* --duration bounds the opening phase */
    int next = 0, in_flight = 0;
    double last_check = window_start;
    for (;;) {
        in_flight = 0;
        long long idle = 0;
        for (int i = 0; i < next; i++) {
            if (conns[i].state == ST_IDLE) idle++;
            else if (conns[i].state != ST_FREE) in_flight++;
        }
        long long failed = 0;
        for (int i = 0; i < E_COUNT; i++) failed += errors[i];
        if (next == nconns && in_flight == 0) break;
        if (failed > 100 || now() > deadline) break;
        while (next < nconns && in_flight < concurrency) {
            start_conn(&conns[next]);
            next++;
            in_flight++;
        }
        handle_events(10);
        double t = now();
        if (t - last_check > 0.1) { check_timeouts(t); last_check = t; }
        (void)idle;
    }
    window_end = now();
    sample(&sample_end);
    hold_status("ready");
    /* Serve commands; watch the idle connections (a server-side close is an error: "dropped"). */
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev);
    char line[128];
    size_t line_len = 0;
    for (;;) {
        struct epoll_event evs[64];
        int n = epoll_wait(ep, evs, 64, 1000);
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr) { drive((struct conn *)evs[i].data.ptr); continue; }
            ssize_t r = read(0, line + line_len, sizeof line - 1 - line_len);
            if (r <= 0) return 0;
            line_len += (size_t)r;
            line[line_len] = 0;
            char *nl;
            while ((nl = strchr(line, '\n'))) {
                *nl = 0;
                if (strcmp(line, "quit") == 0) return 0;
                if (strcmp(line, "status") == 0) hold_status("status");
                int k;
                if (sscanf(line, "probe %d", &k) == 1) {
                    /* new clients while holding: one at a time, latency of each */
                    int saved_resume = resume;
                    resume = 0;
                    hist_n = 0;
                    memset(hist_fine, 0, sizeof hist_fine);
                    memset(hist_coarse, 0, sizeof hist_coarse);
                    /* a new client that waits 5 s is not served "at once": it fails; after 3 failures in a
                     * row the rest are not tried (bounded: at most 3 * 5 s of waiting) */
                    int ok = 0, failed_in_row = 0, tried = 0;
                    double worst = 0;
                    for (int j = 0; j < k && failed_in_row < 3; j++, tried++) {
                        double l = one_request(5.0);
                        if (l >= 0) { ok++; failed_in_row = 0; hist_add(l); if (l > worst) worst = l; }
                        else failed_in_row++;
                    }
                    resume = saved_resume;
                    printf("{\"mode\":\"hold\",\"event\":\"probe\",\"probes\":%d,\"tried\":%d,\"ok\":%d,"
                           "\"latency_p50_ms\":%.3f,\"latency_max_ms\":%.3f}\n",
                           k, tried, ok, hist_percentile(50) * 1e3, worst * 1e3);
                    fflush(stdout);
                }
                size_t rest = line_len - (size_t)(nl + 1 - line);
                memmove(line, nl + 1, rest);
                line_len = rest;
                line[line_len] = 0;
            }
            if (line_len == sizeof line - 1) line_len = 0;
        }
    }
}

static void usage(void) {
    fprintf(stderr,
            "usage: tlsload --port P [--host 127.0.0.1] [--mode conn|bulk|hold|probe] [--tls 13|12]\n"
            "  [--suites S] [--ciphers C] [--groups G] [--expect-cipher NAME] [--expect-group NAME] [--resume]\n"
            "  [--no-tickets] [--path /100] [--sni NAME] [--expect-sha256 HEX] [--concurrency N] [--duration S]\n"
            "  [--warmup S] [--count N] [--hold N] [--conn-timeout S] [--probe-timeout S] [--pids P1,P2,...]\n"
            "  [--verbose]\n");
    exit(2);
}

int main(int argc, char **argv) {
    static struct option options[] = {
        {"mode", 1, 0, 'm'}, {"host", 1, 0, 'H'}, {"port", 1, 0, 'p'}, {"tls", 1, 0, 'T'},
        {"suites", 1, 0, 's'}, {"ciphers", 1, 0, 'c'}, {"groups", 1, 0, 'g'}, {"expect-cipher", 1, 0, 'C'},
        {"expect-group", 1, 0, 'G'}, {"resume", 0, 0, 'r'}, {"path", 1, 0, 'P'}, {"sni", 1, 0, 'S'},
        {"expect-sha256", 1, 0, 'X'}, {"concurrency", 1, 0, 'n'}, {"duration", 1, 0, 'd'}, {"warmup", 1, 0, 'w'},
        {"hold", 1, 0, 'N'}, {"conn-timeout", 1, 0, 't'}, {"probe-timeout", 1, 0, 'o'}, {"pids", 1, 0, 'i'},
        {"count", 1, 0, 'K'}, {"verbose", 0, 0, 'v'}, {"no-tickets", 0, 0, 'k'}, {0, 0, 0, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'm':
            if (!strcmp(optarg, "conn")) mode = MODE_CONN;
            else if (!strcmp(optarg, "bulk")) mode = MODE_BULK;
            else if (!strcmp(optarg, "hold")) mode = MODE_HOLD;
            else if (!strcmp(optarg, "probe")) mode = MODE_PROBE;
            else usage();
            break;
        case 'H': host = optarg; break;
        case 'p': port = atoi(optarg); break;
        case 'T': tls_version = atoi(optarg); break;
        case 's': suites = optarg; break;
        case 'c': ciphers = optarg; break;
        case 'g': groups = optarg; break;
        case 'C': expect_cipher = optarg; break;
        case 'G': expect_group = optarg; break;
        case 'r': resume = 1; break;
        case 'k': no_tickets = 1; break;
        case 'P': path = optarg; break;
        case 'S': server_name = *optarg ? optarg : NULL; break;
        case 'X': expect_sha256 = optarg; break;
        case 'n': concurrency = atoi(optarg); break;
        case 'd': duration = atof(optarg); break;
        case 'w': warmup = atof(optarg); break;
        case 'N': hold_count = atoi(optarg); break;
        case 'K': count_limit = atoll(optarg); break;
        case 't': conn_timeout = atof(optarg); break;
        case 'o': probe_timeout = atof(optarg); break;
        case 'i': {
            char *save, *list = strdup(optarg);
            for (char *tok = strtok_r(list, ",", &save); tok && npids < 64; tok = strtok_r(NULL, ",", &save))
                pids[npids++] = (pid_t)atoi(tok);
            break;
        }
        case 'v': verbose = 1; break;
        default: usage();
        }
    }
    if (port <= 0 || (tls_version != 13 && tls_version != 12) || concurrency < 1) usage();
    if (mode == MODE_HOLD && hold_count < 1) usage();
    if (count_limit < 0 || (count_limit && mode != MODE_CONN)) usage();
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);

    /* one descriptor per held connection: take the hard limit */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (mode == MODE_HOLD && getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)hold_count + 64)
        die("--hold %d needs %d descriptors; the open-files limit is %llu", hold_count, hold_count + 64,
            (unsigned long long)rl.rlim_cur);

    memset(&target, 0, sizeof target);
    target.sin_family = AF_INET;
    target.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &target.sin_addr) != 1) die("--host must be an IPv4 address: %s", host);

    if (expect_sha256) {
        if (strlen(expect_sha256) != 64) die("--expect-sha256 needs 64 hex digits");
        for (int i = 0; i < 32; i++) {
            unsigned v;
            if (sscanf(expect_sha256 + 2 * i, "%2x", &v) != 1) die("--expect-sha256: not hex");
            expected_digest[i] = (unsigned char)v;
        }
    }
    if (expect_group) {
        expected_nid = OBJ_sn2nid(expect_group);
        if (expected_nid == NID_undef) expected_nid = OBJ_txt2nid(expect_group);
        if (expected_nid == NID_undef && !strcmp(expect_group, "P-256")) expected_nid = NID_X9_62_prime256v1;
        if (expected_nid == NID_undef) die("--expect-group: unknown group %s", expect_group);
    }
    const char *host_header = server_name ? server_name : host;
    request_keepalive_len = (size_t)snprintf(request_keepalive, sizeof request_keepalive,
                                             "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, host_header);
    request_close_len = (size_t)snprintf(request_close, sizeof request_close,
                                         "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", path, host_header);

    ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) die("SSL_CTX_new failed");
    int v = tls_version == 13 ? TLS1_3_VERSION : TLS1_2_VERSION;
    SSL_CTX_set_min_proto_version(ctx, v);
    SSL_CTX_set_max_proto_version(ctx, v);
    if (tls_version == 13 && SSL_CTX_set_ciphersuites(ctx, suites) != 1) die("--suites: none usable in %s", suites);
    if (tls_version == 12 && SSL_CTX_set_cipher_list(ctx, ciphers) != 1) die("--ciphers: none usable in %s", ciphers);
    if (SSL_CTX_set1_groups_list(ctx, groups) != 1) die("--groups: unknown group in %s", groups);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL); /* self-signed; CertificateVerify is still checked */
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | (no_tickets ? SSL_OP_NO_TICKET : 0));
    /* sessions are kept per connection slot by this program, not by OpenSSL's cache */
    SSL_CTX_set_session_cache_mode(ctx, resume ? SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE
                                               : SSL_SESS_CACHE_OFF);

    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) die("epoll_create1: %s", strerror(errno));
    switch (mode) {
    case MODE_CONN: run_conn(); return 0;
    case MODE_BULK: run_bulk(); return 0;
    case MODE_HOLD: return run_hold();
    case MODE_PROBE: return run_probe();
    }
    return 0;
}

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
 *     closed its side after it (close_notify, then close);
 *   - with --expect-refusal (conn mode), the operation is the opposite: the server refused the handshake with a
 *     fatal alert (for instance when the client offers only a cipher the server does not accept), and a
 *     handshake that completes is the error.
 * Anything else is an error, counted by kind and reported in the JSON result; nothing is retried silently.
 *
 * Modes:
 *   conn   new connection per request, for --duration seconds after --warmup seconds (handshakes/s); with
 *          --count N, exactly N connections instead (no warm-up: the window runs from the first connect to the
 *          end of the last connection; --duration then bounds it)
 *   bulk   one keep-alive connection downloading --path again and again (bytes/s)
 *   hold   open --hold connections (handshake + one keep-alive request each), keep them idle, print a "ready"
 *          JSON line; then read commands on stdin: "status", "probe K" (K new connections, one at a time, latency),
 *          "quit" (or EOF)
 *   probe  one complete request on a new connection, retried every 50 ms until --probe-timeout (readiness)
 *
 * While measuring it samples the CPU time (utime+stime, and cutime+cstime; the kernel's share, stime+cstime,
 * also apart) of the --pids processes from /proc at the exact start and end of the measurement window, and the
 * busy time of every CPU from /proc/stat.
 *
 * Written in C rather than Swift because the client core, not the daemon's, is the scarce resource on a 2-core
 * machine: the generator must spend as little as possible beside OpenSSL itself, and it is a direct use of two C
 * APIs (OpenSSL, epoll). It builds in a second: the .c files of this directory with -lssl -lcrypto (the Makefile's
 * `bench` target).
 *
 * The files: main.c (options and set-up), connection.c (one connection's state machine), response.c (the HTTP
 * response's checks), report.c (errors, latency histogram, CPU samples, JSON), mode_conn.c, mode_bulk.c and
 * mode_hold.c (the modes; mode_hold.c also has the probes). This header is what they share.
 */
#ifndef TLSLOAD_H
#define TLSLOAD_H

#define _GNU_SOURCE
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

enum mode { MODE_CONN, MODE_BULK, MODE_HOLD, MODE_PROBE };
enum state { ST_FREE, ST_CONNECTING, ST_HANDSHAKE, ST_WRITE, ST_READ, ST_DRAIN, ST_IDLE };

/* Error kinds, reported by name. */
enum err {
    E_CONNECT,     /* socket/connect failed */
    E_HANDSHAKE,   /* TLS handshake failed (alert, protocol error, EOF) */
    E_PARAMS,      /* negotiated version/cipher/group differ from the expected ones */
    E_NOT_RESUMED, /* --resume: a session was offered and the server did a full handshake */
    E_TLS_IO,      /* SSL_read/SSL_write failed after the handshake */
    E_EOF,         /* the server closed before the response was complete */
    E_HTTP,        /* bad status line, status != 200, no Content-Length, header too long */
    E_BODY,        /* body longer than Content-Length, or wrong SHA-256 */
    E_EXTRA,       /* bytes after the response (in DRAIN or IDLE) */
    E_TIMEOUT,     /* no progress within --conn-timeout */
    E_DROPPED,     /* hold: an idle connection was closed by the server */
    E_ACCEPTED,    /* --expect-refusal: the server completed the handshake */
    E_NOT_STAPLED, /* --status: the handshake came without a stapled OCSP response */
    E_COUNT
};

/* One client connection (a slot: conn mode reuses it for the next connection). */
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

/* ---- the options (main.c); mode and resume change for the probes of hold mode ---- */
extern enum mode mode;
extern int tls_version;
extern int resume;
extern int expect_refusal;
extern int status_request; /* --status: ask for a stapled OCSP response, and count a handshake without one */
extern const char *server_name;
extern const char *expect_cipher;
extern const char *expect_sha256;
extern int concurrency;
extern double duration, warmup;
extern int hold_count;
extern long long count_limit; /* conn --count: connections to make in all (0: run for --duration) */
extern double conn_timeout;
extern double probe_timeout;
extern pid_t pids[64];
extern int npids;
extern int verbose;

/* ---- what main.c sets up from the options ---- */
extern SSL_CTX *ctx;
extern int ep; /* the epoll descriptor */
extern struct sockaddr_in target;
extern char request_close[512], request_keepalive[512];
extern size_t request_close_len, request_keepalive_len;
extern unsigned char expected_digest[32];
extern int expected_nid;

/* ---- the connections and the measurement window (connection.c) ---- */
extern struct conn *conns;
extern int nconns;
extern int measuring;
extern double window_start, window_end;
extern long long ops;             /* completed operations in the window */
extern long long ops_total;       /* completed operations, all time */
extern long long full_in_window;  /* --resume: full handshakes inside the window */
extern long long bytes_in_window; /* bulk: body bytes inside the window */
extern long long no_close_notify; /* server closed without close_notify (information, not an error) */

/* ---- report.c ---- */
struct cpu_sample {
    double daemon;        /* seconds: utime+stime+cutime+cstime of --pids */
    double daemon_kernel; /* seconds: stime+cstime of --pids (the kernel's share of `daemon`) */
    int daemon_ok;
    double self; /* this process, getrusage */
    double cpu_busy[8], cpu_total[8];
    int ncpu;
};
extern struct cpu_sample sample_start, sample_end;
extern long long errors[E_COUNT];
extern int error_lines;
extern char negotiated_version[32], negotiated_cipher[64], negotiated_group[32];

double now(void);
void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void record_error(enum err kind, struct conn *c, const char *detail);
long long errors_sum(void);
void hist_add(double seconds);
void hist_reset(void);
double hist_percentile(double p);
void sample(struct cpu_sample *s);
void print_errors_json(FILE *out);
void print_tls_json(FILE *out);
void print_common_json(void);

/* ---- connection.c ---- */
struct conn *alloc_conns(int n);
int start_conn(struct conn *c);
void drive(struct conn *c);
void release(struct conn *c, int send_close_notify);
void fail(struct conn *c, enum err kind, const char *detail);
void check_timeouts(double t);
void handle_events(int timeout_ms);

/* ---- response.c ---- */
extern int bulk_hashed; /* bulk: the first download's body was hashed */
void reset_parser(struct conn *c);
int parse(struct conn *c, const unsigned char *data, size_t n);

/* ---- the modes ---- */
void run_conn(void);
void run_bulk(void);
void bulk_response_done(struct conn *c);
double one_request(double timeout);
int run_probe(void);
int run_hold(void);

#endif

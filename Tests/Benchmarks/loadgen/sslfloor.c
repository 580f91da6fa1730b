/*
 * sslfloor — what OpenSSL alone costs a TLS server, with no daemon and no sockets: the floors under the
 * benchmark's figures (as `openssl speed` is the ceiling over its rates). Tests/Benchmarks/README.md.
 *
 * Server and client SSL objects in one process talk through memory BIOs, with the benchmark's client settings
 * (TLS 1.3, TLS_AES_128_GCM_SHA256, X25519; TLS 1.2: ECDHE-ECDSA-AES128-GCM-SHA256) and a server context as both
 * daemons set it up (SSL_MODE_RELEASE_BUFFERS, session tickets, the default server session cache).
 *
 * Memory (the idle scenarios): N server connections each complete a handshake and exchange 100 bytes each way
 * (the client also reads the session tickets). The client side is then freed and the server's BIOs are replaced
 * by null BIOs, so what stays is the server SSL object and everything OpenSSL keeps for it. Printed: heap in use
 * (mallinfo2 uordblks) after the N connections minus before them, divided by N, after one warm-up connection.
 *
 * CPU (--cpu): the time spent inside the server side's OpenSSL calls per operation, the client's left out (a
 * monotonic clock read around each server call; run it pinned to an otherwise idle CPU, as the benchmark does),
 * the quickest of three rounds of N operations after 100 for warm-up:
 *   full      a new connection with a full handshake, one request and its response, close_notify, SSL_free
 *   resume13  the same, resuming a TLS 1.3 session from a ticket (one new ticket per connection)
 *   resume12  the same over TLS 1.2, resuming from a ticket
 *   request   one request and its response on an established connection (keep-alive)
 *   bulk      16 KiB SSL_write calls on one connection, into a null BIO (encryption and framing, no copy);
 *             the figure is per MB (10^6 bytes)
 * The request and response sizes are the benchmark's (57 and 333 bytes: GET /100 and nginx's 100-byte answer).
 *
 *   sslfloor PEM [N]               one JSON line: {"connections":N,"kib_per_connection":...}
 *   sslfloor --sites PEM [N]       also, on stderr, where that memory is: OpenSSL's allocation sites (file:line,
 *                                  as OpenSSL passes them to CRYPTO_malloc) with the bytes and blocks each keeps
 *                                  per connection, largest first
 *   sslfloor --cpu MODE PEM [N]    one JSON line: {"mode":MODE,"operations":N,"server_us_per_op":...}
 */
#include <malloc.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* --sites: CRYPTO_set_mem_functions wrappers that count live blocks by allocation site. */
struct site_header {
    size_t size;
    const char *file; /* NULL: not counted (allocated before or after the measured connections) */
    int line;
};
struct site {
    const char *file;
    int line;
    long blocks, bytes;
};
static int counting;
static struct site sites[1024];
static int site_count;

static struct site *site_at(const char *file, int line) {
    for (int i = 0; i < site_count; i++)
        if (sites[i].line == line && sites[i].file == file) return &sites[i];
    if (site_count == (int)(sizeof sites / sizeof sites[0])) return &sites[0];
    sites[site_count] = (struct site){file, line, 0, 0};
    return &sites[site_count++];
}

static void *counted_malloc(size_t size, const char *file, int line) {
    struct site_header *h = malloc(sizeof *h + size);
    if (h == NULL) return NULL;
    *h = (struct site_header){size, counting ? file : NULL, line};
    if (counting) {
        struct site *s = site_at(file, line);
        s->blocks++;
        s->bytes += (long)size;
    }
    return h + 1;
}

static void counted_free(void *p, const char *file, int line) {
    (void)file;
    (void)line;
    if (p == NULL) return;
    struct site_header *h = (struct site_header *)p - 1;
    if (h->file != NULL) {
        struct site *s = site_at(h->file, h->line);
        s->blocks--;
        s->bytes -= (long)h->size;
    }
    free(h);
}

static void *counted_realloc(void *p, size_t size, const char *file, int line) {
    if (p == NULL) return counted_malloc(size, file, line);
    struct site_header *h = (struct site_header *)p - 1;
    void *q = counted_malloc(size, file, line);
    if (q == NULL) return NULL;
    memcpy(q, p, h->size < size ? h->size : size);
    counted_free(p, file, line);
    return q;
}

static int by_bytes(const void *a, const void *b) {
    long x = ((const struct site *)a)->bytes, y = ((const struct site *)b)->bytes;
    return (x < y) - (x > y);
}

static void print_sites(int n) {
    qsort(sites, (size_t)site_count, sizeof sites[0], by_bytes);
    long total = 0;
    for (int i = 0; i < site_count; i++) total += sites[i].bytes;
    fprintf(stderr, "OpenSSL's live blocks per idle server connection: %.0f bytes\n", (double)total / n);
    for (int i = 0; i < site_count && sites[i].bytes > 0; i++)
        fprintf(stderr, "%8.0f B %5.1f blocks  %s:%d\n", (double)sites[i].bytes / n, (double)sites[i].blocks / n,
                sites[i].file, sites[i].line);
}

static void pump(BIO *from, BIO *to) {
    char buf[16384];
    int n;
    while ((n = BIO_read(from, buf, sizeof buf)) > 0) BIO_write(to, buf, n);
}

static void fail(const char *what) {
    ERR_print_errors_fp(stderr);
    fprintf(stderr, "sslfloor: %s failed\n", what);
    exit(1);
}

/* --cpu: seconds spent in the server side's calls, read around each of them. */
static double server_seconds;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

#define ON_SERVER(call)                     \
    __extension__({                         \
        double started_ = now();            \
        __auto_type result_ = (call);       \
        server_seconds += now() - started_; \
        result_;                            \
    })

/* A server and a client connected by memory BIOs. */
struct pair {
    SSL *server, *client;
    BIO *server_out, *client_out; /* what each side wrote, not yet handed to the other */
    BIO *server_in, *client_in;
};

static SSL *new_server(SSL_CTX *ctx, BIO **in, BIO **out) {
    SSL *s = SSL_new(ctx);
    if (s == NULL) fail("SSL_new");
    *in = BIO_new(BIO_s_mem());
    *out = BIO_new(BIO_s_mem());
    SSL_set_bio(s, *in, *out);
    SSL_set_accept_state(s);
    return s;
}

static void open_pair(struct pair *p, SSL_CTX *server_ctx, SSL_CTX *client_ctx, SSL_SESSION *offer) {
    p->server = ON_SERVER(new_server(server_ctx, &p->server_in, &p->server_out));
    p->client = SSL_new(client_ctx);
    p->client_in = BIO_new(BIO_s_mem());
    p->client_out = BIO_new(BIO_s_mem());
    SSL_set_bio(p->client, p->client_in, p->client_out);
    SSL_set_connect_state(p->client);
    SSL_set_tlsext_host_name(p->client, "localhost");
    if (offer != NULL) SSL_set_session(p->client, offer);
    for (int k = 0; k < 20 && (!SSL_is_init_finished(p->server) || !SSL_is_init_finished(p->client)); k++) {
        SSL_do_handshake(p->client);
        pump(p->client_out, p->server_in);
        ON_SERVER(SSL_do_handshake(p->server));
        pump(p->server_out, p->client_in);
    }
    if (!SSL_is_init_finished(p->server) || !SSL_is_init_finished(p->client)) fail("the handshake");
}

/* The client sends `request` bytes, the server reads them and answers `response` bytes, the client reads them
 * (and the session tickets before them). */
static void exchange(struct pair *p, int request, int response) {
    static char data[16384], buf[16384];
    SSL_write(p->client, data, request);
    pump(p->client_out, p->server_in);
    if (ON_SERVER(SSL_read(p->server, buf, sizeof buf)) != request) fail("the server's read");
    if (ON_SERVER(SSL_write(p->server, data, response)) != response) fail("the server's write");
    pump(p->server_out, p->client_in);
    for (int got = 0; got < response;) {
        int n = SSL_read(p->client, buf, sizeof buf);
        if (n <= 0) fail("the client's read");
        got += n;
    }
}

/* SSL_free with a value, for ON_SERVER. */
static int free_server(SSL *server) {
    SSL_free(server);
    return 0;
}

/* Both sides close (the server sends close_notify first, as after a Connection: close response) and are freed. */
static void close_pair(struct pair *p) {
    ON_SERVER(SSL_shutdown(p->server));
    pump(p->server_out, p->client_in);
    SSL_shutdown(p->client);
    pump(p->client_out, p->server_in);
    ON_SERVER(free_server(p->server));
    SSL_free(p->client);
}

static SSL *idle_server_connection(SSL_CTX *server_ctx, SSL_CTX *client_ctx) {
    struct pair p;
    open_pair(&p, server_ctx, client_ctx, NULL);
    exchange(&p, 100, 100);
    SSL_free(p.client);
    SSL_set_bio(p.server, BIO_new(BIO_s_null()), BIO_new(BIO_s_null()));
    return p.server;
}

static SSL_CTX *server_context(const char *pem) {
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (SSL_CTX_use_certificate_chain_file(ctx, pem) != 1 || SSL_CTX_use_PrivateKey_file(ctx, pem, SSL_FILETYPE_PEM) != 1)
        fail(pem);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_num_tickets(ctx, 1); /* the fewest that keep resumption working */
    return ctx;
}

static SSL_CTX *client_context(int tls12) {
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    int version = tls12 ? TLS1_2_VERSION : TLS1_3_VERSION;
    SSL_CTX_set_min_proto_version(ctx, version);
    SSL_CTX_set_max_proto_version(ctx, version);
    if (tls12) {
        SSL_CTX_set_cipher_list(ctx, "ECDHE-ECDSA-AES128-GCM-SHA256");
        SSL_CTX_set1_groups_list(ctx, "X25519:P-256");
    } else {
        SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256");
        SSL_CTX_set1_groups_list(ctx, "X25519");
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    return ctx;
}

enum { REQUEST = 57, RESPONSE = 333, CHUNK = 16384 };

/* One operation of --cpu MODE; `session` carries the ticket from one resumed connection to the next. */
static void cpu_operation(const char *mode, SSL_CTX *server_ctx, SSL_CTX *client_ctx, struct pair *kept,
                          SSL_SESSION **session) {
    if (strcmp(mode, "request") == 0) {
        exchange(kept, REQUEST, RESPONSE);
    } else if (strcmp(mode, "bulk") == 0) {
        static char data[CHUNK];
        if (ON_SERVER(SSL_write(kept->server, data, CHUNK)) != CHUNK) fail("the server's write");
    } else {
        struct pair p;
        open_pair(&p, server_ctx, client_ctx, *session);
        if (*session != NULL && !SSL_session_reused(p.server)) fail("resumption");
        exchange(&p, REQUEST, RESPONSE);
        if (strcmp(mode, "full") != 0) {
            SSL_SESSION_free(*session);
            *session = SSL_get1_session(p.client);
        }
        close_pair(&p);
    }
}

static int cpu_floor(const char *mode, const char *pem, int n) {
    int known = 0;
    const char *modes[] = {"full", "resume13", "resume12", "request", "bulk"};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) known |= strcmp(mode, modes[i]) == 0;
    if (!known) {
        fprintf(stderr, "sslfloor: --cpu %s: unknown mode (full, resume13, resume12, request or bulk)\n", mode);
        return 2;
    }
    SSL_CTX *server_ctx = server_context(pem), *client_ctx = client_context(strcmp(mode, "resume12") == 0);
    struct pair kept;
    open_pair(&kept, server_ctx, client_ctx, NULL);
    if (strcmp(mode, "bulk") == 0) SSL_set0_wbio(kept.server, BIO_new(BIO_s_null())); /* records go nowhere */
    SSL_SESSION *session = NULL;
    /* Warm-up: one-time allocations and caches; the resuming modes also get their first ticket here. */
    for (int i = 0; i < 100; i++) cpu_operation(mode, server_ctx, client_ctx, &kept, &session);
    if (strncmp(mode, "resume", 6) == 0 && session == NULL) fail("getting a session");
    double best = 0; /* the quickest of three rounds, as `openssl speed` is read: the least disturbed */
    for (int round = 0; round < 3; round++) {
        server_seconds = 0;
        for (int i = 0; i < n; i++) cpu_operation(mode, server_ctx, client_ctx, &kept, &session);
        if (round == 0 || server_seconds < best) best = server_seconds;
    }
    double per_op = best * 1e6 / n;
    if (strcmp(mode, "bulk") == 0) per_op = per_op * 1e6 / CHUNK; /* per MB */
    printf("{\"mode\":\"%s\",\"operations_per_round\":%d,\"rounds\":3,\"server_us_per_op\":%.2f,\"unit\":\"%s\",\"openssl\":\"%s\"}\n", mode,
           n, per_op, strcmp(mode, "bulk") == 0 ? "MB" : "operation", OpenSSL_version(OPENSSL_VERSION));
    return 0;
}

static int memory_floor(const char *pem, int n, int by_site) {
    SSL_CTX *server_ctx = server_context(pem), *client_ctx = client_context(0);
    SSL_free(idle_server_connection(server_ctx, client_ctx)); /* warm-up: one-time allocations */
    malloc_trim(0);
    SSL **kept = calloc((size_t)n, sizeof *kept);
    size_t before = mallinfo2().uordblks;
    counting = 1;
    for (int i = 0; i < n; i++) kept[i] = idle_server_connection(server_ctx, client_ctx);
    counting = 0;
    size_t after = mallinfo2().uordblks;
    if (by_site) print_sites(n);
    printf("{\"connections\":%d,\"kib_per_connection\":%.2f,\"openssl\":\"%s\"}\n", n,
           (double)(after - before) / n / 1024, OpenSSL_version(OPENSSL_VERSION));
    for (int i = 0; i < n; i++) SSL_free(kept[i]);
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 3 && strcmp(argv[1], "--cpu") == 0) return cpu_floor(argv[2], argv[3], argc > 4 ? atoi(argv[4]) : 2000);
    int by_site = argc > 1 && strcmp(argv[1], "--sites") == 0;
    if (by_site) {
        argv++;
        argc--;
        CRYPTO_set_mem_functions(counted_malloc, counted_realloc, counted_free);
    }
    if (argc < 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: sslfloor [--sites] PEM [N] | sslfloor --cpu MODE PEM [N]\n");
        return 2;
    }
    return memory_floor(argv[1], argc > 2 ? atoi(argv[2]) : 2000, by_site);
}

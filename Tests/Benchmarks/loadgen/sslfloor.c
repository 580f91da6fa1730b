/*
 * sslfloor — OpenSSL's own memory per idle TLS server connection: the floor under the benchmark's "memory per
 * idle connection" (as `openssl speed` is the ceiling over its rates). Tests/Benchmarks/README.md.
 *
 * In one process, without sockets: N server-side SSL objects (context with SSL_MODE_RELEASE_BUFFERS, as both
 * daemons use it when idle) each complete a handshake with a client SSL through memory BIOs, with the benchmark's
 * client settings (TLS 1.3, TLS_AES_128_GCM_SHA256, X25519), and exchange 100 bytes each way (the client also
 * reads the session tickets). The client side is then freed and the server's BIOs are replaced by null BIOs, so
 * what stays is the server SSL object and everything OpenSSL keeps for it. Printed: heap in use (mallinfo2
 * uordblks) after the N connections minus before them, divided by N, after one warm-up connection.
 *
 *   sslfloor PEM [N]          one JSON line: {"connections":N,"kib_per_connection":...}
 *   sslfloor --sites PEM [N]  also, on stderr, where that memory is: OpenSSL's allocation sites (file:line, as
 *                             OpenSSL passes them to CRYPTO_malloc) with the bytes and blocks each keeps per
 *                             connection, largest first
 */
#include <malloc.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static SSL *idle_server_connection(SSL_CTX *server_ctx, SSL_CTX *client_ctx) {
    SSL *s = SSL_new(server_ctx), *c = SSL_new(client_ctx);
    BIO *s_in = BIO_new(BIO_s_mem()), *s_out = BIO_new(BIO_s_mem());
    BIO *c_in = BIO_new(BIO_s_mem()), *c_out = BIO_new(BIO_s_mem());
    SSL_set_bio(s, s_in, s_out);
    SSL_set_bio(c, c_in, c_out);
    SSL_set_accept_state(s);
    SSL_set_connect_state(c);
    SSL_set_tlsext_host_name(c, "localhost");
    for (int k = 0; k < 20 && (!SSL_is_init_finished(s) || !SSL_is_init_finished(c)); k++) {
        SSL_do_handshake(c);
        pump(c_out, s_in);
        SSL_do_handshake(s);
        pump(s_out, c_in);
    }
    char data[100] = {0}, buf[256];
    SSL_write(c, data, sizeof data);
    pump(c_out, s_in);
    if (SSL_read(s, buf, sizeof buf) != (int)sizeof data) {
        ERR_print_errors_fp(stderr);
        fprintf(stderr, "sslfloor: the handshake or the exchange failed\n");
        exit(1);
    }
    SSL_write(s, data, sizeof data);
    pump(s_out, c_in);
    SSL_read(c, buf, sizeof buf);
    SSL_free(c);
    SSL_set_bio(s, BIO_new(BIO_s_null()), BIO_new(BIO_s_null()));
    return s;
}

int main(int argc, char **argv) {
    int by_site = argc > 1 && strcmp(argv[1], "--sites") == 0;
    if (by_site) {
        argv++;
        argc--;
        CRYPTO_set_mem_functions(counted_malloc, counted_realloc, counted_free);
    }
    if (argc < 2) {
        fprintf(stderr, "usage: sslfloor [--sites] PEM [N]\n");
        return 2;
    }
    const char *pem = argv[1];
    int n = argc > 2 ? atoi(argv[2]) : 2000;
    SSL_CTX *server_ctx = SSL_CTX_new(TLS_server_method()), *client_ctx = SSL_CTX_new(TLS_client_method());
    if (SSL_CTX_use_certificate_chain_file(server_ctx, pem) != 1 ||
        SSL_CTX_use_PrivateKey_file(server_ctx, pem, SSL_FILETYPE_PEM) != 1) {
        ERR_print_errors_fp(stderr);
        return 1;
    }
    SSL_CTX_set_mode(server_ctx, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_min_proto_version(client_ctx, TLS1_3_VERSION);
    SSL_CTX_set_ciphersuites(client_ctx, "TLS_AES_128_GCM_SHA256");
    SSL_CTX_set1_groups_list(client_ctx, "X25519");
    SSL_CTX_set_verify(client_ctx, SSL_VERIFY_NONE, NULL);

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

/* sslfloor PEM [N]: the heap OpenSSL keeps per idle server connection. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

#include "sslfloor.h"

/* A server connection after a handshake and 100 bytes each way, its client freed and its BIOs null BIOs: what
 * stays is the server SSL object and everything OpenSSL keeps for it. */
static SSL *idle_server_connection(SSL_CTX *server_ctx, SSL_CTX *client_ctx) {
    struct pair p;
    open_pair(&p, server_ctx, client_ctx, NULL);
    exchange(&p, 100, 100);
    SSL_free(p.client);
    SSL_set_bio(p.server, BIO_new(BIO_s_null()), BIO_new(BIO_s_null()));
    return p.server;
}

/* Heap in use after `n` idle connections minus before them, per connection, as one JSON line; with `by_site`,
 * also where it is (sites.c). */
int memory_floor(const char *pem, int n, int by_site) {
    SSL_CTX *server_ctx = server_context(pem), *client_ctx = client_context(0);
    SSL_free(idle_server_connection(server_ctx, client_ctx)); /* warm-up: one-time allocations */
    malloc_trim(0);
    SSL **kept = calloc((size_t)n, sizeof *kept);
    if (kept == NULL) fail("calloc");
    size_t before = mallinfo2().uordblks;
    sites_counting(1);
    for (int i = 0; i < n; i++) kept[i] = idle_server_connection(server_ctx, client_ctx);
    sites_counting(0);
    size_t after = mallinfo2().uordblks;
    if (by_site) sites_print(n);
    printf("{\"connections\":%d,\"kib_per_connection\":%.2f,\"openssl\":\"%s\"}\n", n,
           (double)(after - before) / n / 1024, OpenSSL_version(OPENSSL_VERSION));
    for (int i = 0; i < n; i++) SSL_free(kept[i]);
    free(kept);
    return 0;
}

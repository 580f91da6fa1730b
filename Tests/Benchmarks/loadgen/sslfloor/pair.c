/* A server and a client SSL object in one process, joined by memory BIOs, with the benchmark's settings. */
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "sslfloor.h"

double server_seconds;

double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

void fail(const char *what) {
    ERR_print_errors_fp(stderr);
    fprintf(stderr, "sslfloor: %s failed\n", what);
    exit(1);
}

/* As both daemons set up a server: released buffers, one session ticket, the default server session cache. */
SSL_CTX *server_context(const char *pem) {
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (SSL_CTX_use_certificate_chain_file(ctx, pem) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, pem, SSL_FILETYPE_PEM) != 1) {
        ERR_print_errors_fp(stderr);
        fprintf(stderr, "sslfloor: %s: no certificate chain and private key could be loaded from it\n", pem);
        exit(2);
    }
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_num_tickets(ctx, 1); /* the fewest that keep resumption working */
    return ctx;
}

/* As the benchmark's clients offer: TLS 1.3 with TLS_AES_128_GCM_SHA256 and X25519, or TLS 1.2 with
 * ECDHE-ECDSA-AES128-GCM-SHA256. */
SSL_CTX *client_context(int tls12) {
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

static void pump(BIO *from, BIO *to) {
    char buf[16384];
    int n;
    while ((n = BIO_read(from, buf, sizeof buf)) > 0) BIO_write(to, buf, n);
}

static SSL *new_server(SSL_CTX *ctx, BIO **in, BIO **out) {
    SSL *s = SSL_new(ctx);
    if (s == NULL) fail("SSL_new");
    *in = BIO_new(BIO_s_mem());
    *out = BIO_new(BIO_s_mem());
    SSL_set_bio(s, *in, *out);
    SSL_set_accept_state(s);
    return s;
}

/* A new pair with its handshake done; the client offers `offer` (a session to resume) unless it is NULL. */
void open_pair(struct pair *p, SSL_CTX *server_ctx, SSL_CTX *client_ctx, SSL_SESSION *offer) {
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
void exchange(struct pair *p, int request, int response) {
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
void close_pair(struct pair *p) {
    ON_SERVER(SSL_shutdown(p->server));
    pump(p->server_out, p->client_in);
    SSL_shutdown(p->client);
    pump(p->client_out, p->server_in);
    ON_SERVER(free_server(p->server));
    SSL_free(p->client);
}

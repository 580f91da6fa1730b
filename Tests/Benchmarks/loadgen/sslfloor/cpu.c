/* sslfloor --cpu MODE: the server side's CPU time per operation, the client's left out. */
#include <stdio.h>
#include <string.h>

#include "sslfloor.h"

static const char *const modes[] = {"full", "resume13", "resume12", "request", "bulk"};

int cpu_mode_known(const char *mode) {
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
        if (strcmp(mode, modes[i]) == 0) return 1;
    return 0;
}

/* One operation of MODE; `session` carries the ticket from one resumed connection to the next. */
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

/* The quickest of three rounds of `n` operations after 100 for warm-up, as one JSON line. */
int cpu_floor(const char *mode, const char *pem, int n) {
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
    printf("{\"mode\":\"%s\",\"operations_per_round\":%d,\"rounds\":3,\"server_us_per_op\":%.2f,"
           "\"unit\":\"%s\",\"openssl\":\"%s\"}\n",
           mode, n, per_op, strcmp(mode, "bulk") == 0 ? "MB" : "operation", OpenSSL_version(OPENSSL_VERSION));
    return 0;
}

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
 *   sslfloor --cpu MODE PEM [N]    one JSON line: {"mode":MODE,"operations_per_round":N,"server_us_per_op":...}
 * N is 1 to 1 000 000 (default 2 000); a bad argument or an unloadable PEM exits 2 with a one-line reason.
 *
 * Files: main.c (this: the arguments), pair.c (the two SSL objects, their contexts and the clock around the
 * server's calls), memory.c (the idle connections' heap), cpu.c (--cpu), sites.c (--sites), sslfloor.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sslfloor.h"

enum { DEFAULT_COUNT = 2000, MAX_COUNT = 1000000 };

static int usage(void) {
    fprintf(stderr, "usage: sslfloor [--sites] PEM [N] | sslfloor --cpu MODE PEM [N]\n");
    return 2;
}

/* N, from 1 to MAX_COUNT; 0 (after a one-line error) for anything else. */
static int count(const char *text) {
    if (text == NULL) return DEFAULT_COUNT;
    char *end;
    errno = 0;
    long n = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || n < 1 || n > MAX_COUNT) {
        fprintf(stderr, "sslfloor: N \"%s\": a whole number from 1 to %d is needed\n", text, MAX_COUNT);
        return 0;
    }
    return (int)n;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--cpu") == 0) {
        if (argc < 4 || argc > 5) return usage();
        if (!cpu_mode_known(argv[2])) {
            fprintf(stderr, "sslfloor: --cpu %s: unknown mode (full, resume13, resume12, request or bulk)\n", argv[2]);
            return 2;
        }
        int n = count(argv[4]);
        return n ? cpu_floor(argv[2], argv[3], n) : 2;
    }
    int by_site = argc > 1 && strcmp(argv[1], "--sites") == 0;
    if (by_site) {
        argv++;
        argc--;
    }
    if (argc < 2 || argc > 3 || argv[1][0] == '-') return usage();
    int n = count(argv[2]);
    if (n == 0) return 2;
    if (by_site && !sites_install()) {
        fprintf(stderr, "sslfloor: --sites: OpenSSL had already allocated; its blocks cannot be counted\n");
        return 1;
    }
    return memory_floor(argv[1], n, by_site);
}

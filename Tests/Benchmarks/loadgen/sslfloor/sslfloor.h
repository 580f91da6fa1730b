/* sslfloor's shared parts: a server and a client in one process, joined by memory BIOs, and the clock around the
 * server's calls. What sslfloor measures and how: main.c. */
#ifndef SSLFLOOR_H
#define SSLFLOOR_H

#include <openssl/ssl.h>

/* The benchmark's request and response sizes (GET /100 and nginx's 100-byte answer), and bulk's write size. */
enum { REQUEST = 57, RESPONSE = 333, CHUNK = 16384 };

/* A server and a client connected by memory BIOs. */
struct pair {
    SSL *server, *client;
    BIO *server_out, *client_out; /* what each side wrote, not yet handed to the other */
    BIO *server_in, *client_in;
};

/* pair.c */
void fail(const char *what) __attribute__((noreturn));
SSL_CTX *server_context(const char *pem);
SSL_CTX *client_context(int tls12);
void open_pair(struct pair *p, SSL_CTX *server_ctx, SSL_CTX *client_ctx, SSL_SESSION *offer);
void exchange(struct pair *p, int request, int response);
void close_pair(struct pair *p);

/* --cpu: seconds spent in the server side's calls, read around each of them (pair.c). */
extern double server_seconds;
double now(void);

#define ON_SERVER(call)                     \
    __extension__({                         \
        double started_ = now();            \
        __auto_type result_ = (call);       \
        server_seconds += now() - started_; \
        result_;                            \
    })

/* cpu.c */
int cpu_mode_known(const char *mode);
int cpu_floor(const char *mode, const char *pem, int n);

/* memory.c */
int memory_floor(const char *pem, int n, int by_site);

/* sites.c: OpenSSL's live blocks counted by allocation site while counting is on. */
int sites_install(void);
void sites_counting(int on);
void sites_print(int n);

#endif

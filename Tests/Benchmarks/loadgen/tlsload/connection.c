/* One client connection's life: connect, handshake (checked), request, response, and the server's close (or, in
 * hold mode, idling), driven by epoll readiness; and the measurement window the completed ones count in. */
#include "tlsload.h"

#include <errno.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

struct conn *conns;
int nconns;
int measuring;
double window_start, window_end;
long long ops, ops_total, full_in_window, bytes_in_window, no_close_notify;
static unsigned char buf[65536];

/* `n` free connection slots, numbered from 0. */
struct conn *alloc_conns(int n) {
    struct conn *slots = calloc((size_t)n, sizeof *slots);
    if (!slots) die("out of memory for %d connections", n);
    for (int i = 0; i < n; i++) {
        slots[i].index = i;
        slots[i].fd = -1;
        slots[i].md = EVP_MD_CTX_new();
    }
    return slots;
}

static void set_interest(struct conn *c, uint32_t events) {
    if (c->events == events) return;
    struct epoll_event ev = {.events = events, .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) != 0) die("epoll_ctl: %s", strerror(errno));
    c->events = events;
}

void release(struct conn *c, int send_close_notify) {
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

void fail(struct conn *c, enum err kind, const char *detail) {
    record_error(kind, c, detail);
    release(c, 0);
}

/* Starts a nonblocking connect; 0 on success, -1 (recorded, slot retries after 10 ms) on failure. */
int start_conn(struct conn *c) {
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
    if (status_request) SSL_set_tlsext_status_type(c->ssl, TLSEXT_STATUSTYPE_ocsp);
    c->state = ST_HANDSHAKE;
}

/* Handles SSL_get_error for a call that returned r <= 0: sets the interest and returns 1 when it should wait. */
static int wants(struct conn *c, int r) {
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ) { set_interest(c, EPOLLIN); return 1; }
    if (e == SSL_ERROR_WANT_WRITE) { set_interest(c, EPOLLOUT); return 1; }
    return 0;
}

/* A response was read completely: what follows depends on the mode. */
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
    case MODE_BULK:
        bulk_response_done(c);
        return;
    }
}

/* The server closed after the response: the operation is complete (handshake, request, response, orderly close). */
static void server_closed(struct conn *c) {
    if (!(SSL_get_shutdown(c->ssl) & SSL_RECEIVED_SHUTDOWN)) no_close_notify++;
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
}

/* Whether the handshake just failed because the server sent a fatal alert (OpenSSL files a received alert under
 * reason SSL_AD_REASON_OFFSET + its code), not because of a local error, a reset or an EOF. */
static int refused_by_server(void) {
    unsigned long e = ERR_peek_error();
    return ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) >= SSL_AD_REASON_OFFSET;
}

/* --expect-refusal: the server refused the handshake with an alert, which is the operation. */
static void refused(struct conn *c) {
    ops_total++;
    if (measuring) {
        ops++;
        hist_add(now() - c->started);
    }
    release(c, 0);
}

/* Takes the connection as far as it can go without waiting. */
void drive(struct conn *c) {
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
            if (r == 1 && expect_refusal) {
                fail(c, E_ACCEPTED, SSL_CIPHER_get_name(SSL_get_current_cipher(c->ssl)));
                return;
            }
            if (r == 1) {
                if (!check_params(c)) {
                    char detail[160];
                    snprintf(detail, sizeof detail, "negotiated %s %s group %d", SSL_get_version(c->ssl),
                             SSL_CIPHER_get_name(SSL_get_current_cipher(c->ssl)),
                             (int)SSL_get_negotiated_group(c->ssl));
                    fail(c, E_PARAMS, detail);
                    return;
                }
                if (resume && c->session && !c->resumed && mode != MODE_CONN) {
                    fail(c, E_NOT_RESUMED, "");
                    return;
                }
                const unsigned char *staple;
                if (status_request && SSL_get_tlsext_status_ocsp_resp(c->ssl, &staple) <= 0) {
                    fail(c, E_NOT_STAPLED, "");
                    return;
                }
                c->state = ST_WRITE;
                c->written = 0;
                break;
            }
            if (wants(c, r)) return;
            if (expect_refusal && refused_by_server()) {
                refused(c);
                return;
            }
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
            server_closed(c);
            return;
        }
        }
    }
}

/* Fails the connections (not the idle ones) that made no progress for --conn-timeout; their slots retry at once. */
void check_timeouts(double t) {
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

/* Waits up to `timeout_ms` for readiness and drives the connections that are ready. */
void handle_events(int timeout_ms) {
    struct epoll_event evs[256];
    int n = epoll_wait(ep, evs, 256, timeout_ms);
    if (n < 0 && errno != EINTR) die("epoll_wait: %s", strerror(errno));
    for (int i = 0; i < n; i++) drive((struct conn *)evs[i].data.ptr);
}

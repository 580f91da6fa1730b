// CUnwrapdShims: the only C in unwrapd besides the system headers.
//
// Everything here exists because Swift cannot import it directly: OpenSSL's ctrl macros and option bit macros,
// libev's watcher-initialisation macros, variadic or _GNU_SOURCE libc functions, and atomics on memory shared
// between processes. No logic lives here; names follow `unwrapd_<original name>`.
#ifndef UNWRAPD_C_SHIMS_H
#define UNWRAPD_C_SHIMS_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <signal.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <malloc.h>
#include <ev.h>
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

// MARK: - OpenSSL option and mode bits (macros built from casts and shifts do not import)

static const uint64_t UNWRAPD_SSL_OP_ALL = SSL_OP_ALL;
static const uint64_t UNWRAPD_SSL_OP_NO_COMPRESSION = SSL_OP_NO_COMPRESSION;
static const uint64_t UNWRAPD_SSL_OP_NO_RENEGOTIATION = SSL_OP_NO_RENEGOTIATION;
static const uint64_t UNWRAPD_SSL_OP_CIPHER_SERVER_PREFERENCE = SSL_OP_CIPHER_SERVER_PREFERENCE;
static const uint64_t UNWRAPD_SSL_OP_IGNORE_UNEXPECTED_EOF = SSL_OP_IGNORE_UNEXPECTED_EOF;
static const uint64_t UNWRAPD_SSL_OP_NO_TICKET = SSL_OP_NO_TICKET;
static const uint64_t UNWRAPD_SSL_OP_NO_SSLv3 = SSL_OP_NO_SSLv3;
static const uint64_t UNWRAPD_SSL_OP_NO_TLSv1 = SSL_OP_NO_TLSv1;
static const uint64_t UNWRAPD_SSL_OP_NO_TLSv1_1 = SSL_OP_NO_TLSv1_1;
static const uint64_t UNWRAPD_SSL_OP_NO_TLSv1_2 = SSL_OP_NO_TLSv1_2;
static const uint64_t UNWRAPD_SSL_OP_NO_TLSv1_3 = SSL_OP_NO_TLSv1_3;
static const long UNWRAPD_SSL_MODE_ENABLE_PARTIAL_WRITE = SSL_MODE_ENABLE_PARTIAL_WRITE;
static const long UNWRAPD_SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER = SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER;
static const long UNWRAPD_SSL_MODE_RELEASE_BUFFERS = SSL_MODE_RELEASE_BUFFERS;
static const long UNWRAPD_SSL_MODE_AUTO_RETRY = SSL_MODE_AUTO_RETRY;
static const long UNWRAPD_SSL_MODE_NO_AUTO_CHAIN = SSL_MODE_NO_AUTO_CHAIN;
static const long UNWRAPD_SSL_SESS_CACHE_SERVER = SSL_SESS_CACHE_SERVER;
static const long UNWRAPD_SSL_SESS_CACHE_NO_INTERNAL = SSL_SESS_CACHE_NO_INTERNAL;

// MARK: - OpenSSL ctrl macros

static inline long unwrapd_SSL_CTX_set_mode(SSL_CTX *ctx, long mode) { return SSL_CTX_set_mode(ctx, mode); }
static inline void unwrapd_SSL_CTX_set_read_ahead(SSL_CTX *ctx, int yes) { SSL_CTX_set_read_ahead(ctx, yes); }
static inline int unwrapd_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_min_proto_version(ctx, version);
}
static inline int unwrapd_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_max_proto_version(ctx, version);
}
static inline int unwrapd_SSL_CTX_set1_groups_list(SSL_CTX *ctx, const char *list) {
    return (int)SSL_CTX_set1_groups_list(ctx, list);
}
static inline int unwrapd_SSL_CTX_set_dh_auto(SSL_CTX *ctx, int onoff) { return (int)SSL_CTX_set_dh_auto(ctx, onoff); }
static inline long unwrapd_SSL_CTX_set_session_cache_mode(SSL_CTX *ctx, long mode) {
    return SSL_CTX_set_session_cache_mode(ctx, mode);
}
static inline long unwrapd_SSL_num_renegotiations(SSL *ssl) { return SSL_num_renegotiations(ssl); }
static inline long unwrapd_SSL_session_reused(SSL *ssl) { return SSL_session_reused(ssl); }
static inline int unwrapd_SSL_set_tlsext_host_name(SSL *ssl, const char *name) {
    return (int)SSL_set_tlsext_host_name(ssl, name);
}

/// For an error code from OpenSSL's queue: the errno it wraps (ERR_LIB_SYS), or 0 for a library error.
static inline int unwrapd_ERR_system_errno(unsigned long code) {
    return ERR_SYSTEM_ERROR(code) ? (int)ERR_GET_REASON(code) : 0;
}
static inline long unwrapd_BIO_get_mem_data(BIO *bio, char **data) { return BIO_get_mem_data(bio, data); }
static inline void unwrapd_BIO_set_retry_read(BIO *bio) { BIO_set_retry_read(bio); }
static inline void unwrapd_BIO_set_retry_write(BIO *bio) { BIO_set_retry_write(bio); }
static inline void unwrapd_BIO_clear_retry_flags(BIO *bio) { BIO_clear_retry_flags(bio); }

typedef int (*unwrapd_ticket_key_cb)(SSL *ssl, unsigned char *name, unsigned char *iv, EVP_CIPHER_CTX *cipher,
                                     EVP_MAC_CTX *mac, int encrypt);
static inline int unwrapd_SSL_CTX_set_tlsext_ticket_key_evp_cb(SSL_CTX *ctx, unwrapd_ticket_key_cb cb) {
    return (int)SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, cb);
}

typedef int (*unwrapd_servername_cb)(SSL *ssl, int *alert, void *arg);
static inline int unwrapd_SSL_CTX_set_tlsext_servername_callback(SSL_CTX *ctx, unwrapd_servername_cb cb, void *arg) {
    if (SSL_CTX_set_tlsext_servername_callback(ctx, cb) != 1) return 0;
    return (int)SSL_CTX_set_tlsext_servername_arg(ctx, arg);
}

// MARK: - OCSP stapling (ctrl macros)

typedef int (*unwrapd_status_cb)(SSL *ssl, void *arg);
static inline int unwrapd_SSL_CTX_set_tlsext_status_cb(SSL_CTX *ctx, unwrapd_status_cb cb, void *arg) {
    if (SSL_CTX_set_tlsext_status_cb(ctx, cb) != 1) return 0;
    return (int)SSL_CTX_set_tlsext_status_arg(ctx, arg);
}
/// Hands `response` (from OPENSSL_malloc; OpenSSL frees it) to the session as its stapled OCSP response.
static inline int unwrapd_SSL_set_tlsext_status_ocsp_resp(SSL *ssl, unsigned char *response, long length) {
    return (int)SSL_set_tlsext_status_ocsp_resp(ssl, response, length);
}
static inline void *unwrapd_OPENSSL_malloc(size_t size) { return OPENSSL_malloc(size); }
/// The chain certificates loaded with the context's certificate (not the certificate itself); NULL if none.
static inline STACK_OF(X509) *unwrapd_SSL_CTX_get0_chain_certs(SSL_CTX *ctx) {
    STACK_OF(X509) *chain = NULL;
    return SSL_CTX_get0_chain_certs(ctx, &chain) == 1 ? chain : NULL;
}

// MARK: - Certificates: the DNS names of a certificate (SAN dNSName entries, else the subject CN)

/// Calls `visit(name, length, context)` for each DNS name of `cert`: every subjectAltName dNSName, or the subject
/// CN when the certificate has no DNS SAN (RFC 6125). Returns the number of names visited.
int unwrapd_x509_visit_dns_names(X509 *cert, void (*visit)(const char *name, int length, void *context),
                                 void *context);

/// Copies the subject CN of `cert` into `buffer` (NUL-terminated, truncated); returns its length or -1 without CN.
int unwrapd_x509_subject_common_name(X509 *cert, char *buffer, int capacity);

// MARK: - libev watcher macros

typedef void (*unwrapd_io_cb)(struct ev_loop *loop, ev_io *watcher, int revents);
typedef void (*unwrapd_timer_cb)(struct ev_loop *loop, ev_timer *watcher, int revents);
typedef void (*unwrapd_signal_cb)(struct ev_loop *loop, ev_signal *watcher, int revents);
typedef void (*unwrapd_prepare_cb)(struct ev_loop *loop, ev_prepare *watcher, int revents);
typedef void (*unwrapd_check_cb)(struct ev_loop *loop, ev_check *watcher, int revents);

static inline void unwrapd_ev_io_init(ev_io *w, unwrapd_io_cb cb, int fd, int events) { ev_io_init(w, cb, fd, events); }
static inline void unwrapd_ev_io_set(ev_io *w, int fd, int events) { ev_io_set(w, fd, events); }
static inline void unwrapd_ev_io_modify(ev_io *w, int events) { ev_io_modify(w, events); }
static inline void unwrapd_ev_timer_init(ev_timer *w, unwrapd_timer_cb cb, double after, double repeat) {
    ev_timer_init(w, cb, after, repeat);
}
static inline void unwrapd_ev_signal_init(ev_signal *w, unwrapd_signal_cb cb, int signum) {
    ev_signal_init(w, cb, signum);
}
static inline void unwrapd_ev_prepare_init(ev_prepare *w, unwrapd_prepare_cb cb) { ev_prepare_init(w, cb); }
static inline void unwrapd_ev_check_init(ev_check *w, unwrapd_check_cb cb) { ev_check_init(w, cb); }
static inline int unwrapd_ev_is_active(const void *w) { return ev_is_active(w); }
static inline struct ev_loop *unwrapd_ev_default_loop(unsigned int flags) { return ev_default_loop(flags); }

// MARK: - libc: _GNU_SOURCE and variadic functions

int unwrapd_accept4(int fd, struct sockaddr *address, socklen_t *length, int flags);
int unwrapd_pipe2(int fds[2], int flags);
int unwrapd_set_parent_death_signal(int signal);
void unwrapd_openlog(const char *ident, int facility);
void unwrapd_syslog(int priority, const char *message);
int unwrapd_fcntl_get_flags(int fd);
int unwrapd_fcntl_set_flags(int fd, int flags);
/// F_SETFD: the descriptor flags (FD_CLOEXEC).
int unwrapd_fcntl_set_descriptor_flags(int fd, int flags);
int unwrapd_open(const char *path, int flags, mode_t mode);
int unwrapd_sigaction_ignore(int signal);
/// Sends `length` bytes on a UNIX socket with `descriptor` attached (SCM_RIGHTS; -1 attaches none). Returns
/// sendmsg's result.
ssize_t unwrapd_send_with_descriptor(int socket, const void *bytes, size_t length, int descriptor);
/// Receives up to `capacity` bytes from a UNIX socket; a descriptor that came with them is stored in `*descriptor`
/// (else -1). Returns recvmsg's result.
ssize_t unwrapd_receive_with_descriptor(int socket, void *bytes, size_t capacity, int *descriptor);
/// timerfd_create(2) on CLOCK_MONOTONIC, nonblocking and close-on-exec (sys/timerfd.h is not part of Swift's Glibc
/// module): a descriptor that becomes readable when the timer expires.
int unwrapd_timerfd_create(void);
/// Arms the timer once, `nanoseconds` from now (timerfd_settime(2)); 0 disarms it.
int unwrapd_timerfd_arm(int fd, long long nanoseconds);

/// pidfd_open(2) (Linux 5.3): a descriptor that becomes readable when process `pid` exits. The syscall has no
/// glibc declaration without _GNU_SOURCE and syscall(2) is variadic. Used by the integration tests' process kit.
static inline int unwrapd_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }
/* malloc.h is not part of Swift's Glibc module. */
static inline size_t unwrapd_malloc_usable_size(void *block) { return malloc_usable_size(block); }

// MARK: - State shared by all worker processes (one mmap(MAP_SHARED) region created before fork)

/// Counters every worker updates with the atomics below. Plain `long` fields so that Swift imports the struct.
typedef struct unwrapd_shared_counters {
    long open_connections;       ///< Connections open right now, all workers (the global cap applies to this).
} unwrapd_shared_counters;

// MARK: - Atomics on process-shared memory

static inline long unwrapd_atomic_add(long *p, long delta) { return __atomic_add_fetch(p, delta, __ATOMIC_RELAXED); }
/// Adds one to `*p` unless that would exceed `limit`; returns 1 when it did.
static inline int unwrapd_atomic_increment_below(long *p, long limit) {
    long current = __atomic_load_n(p, __ATOMIC_RELAXED);
    while (current < limit) {
        if (__atomic_compare_exchange_n(p, &current, current + 1, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) return 1;
    }
    return 0;
}
/// Publishes `value` (after the writes before it) and reads it (before the reads after it): the session-ticket
/// keys' generation, which the parent advances once the new key is written.
static inline void unwrapd_atomic_store_release(long *p, long value) { __atomic_store_n(p, value, __ATOMIC_RELEASE); }
static inline long unwrapd_atomic_load_acquire(long *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }

// MARK: - OCSP responses fetched while running (one mmap(MAP_SHARED) slot per certificate, made before fork)

/// The largest OCSP response a slot holds (responses are typically 0.5-3 KB; one with a long responder chain more).
#define UNWRAPD_OCSP_SLOT_BYTES 16384

/// One certificate's fetched OCSP response: the fetcher process writes it, workers copy it for the handshakes that
/// ask. `sequence` is a sequence lock: odd while the fetcher writes, advanced to even when it is done, so that a
/// worker that copied while it changed sees a different number and does not staple the copy.
typedef struct unwrapd_ocsp_slot {
    unsigned long sequence;
    long length;          ///< 0: no response yet.
    long next_update;     ///< The response's nextUpdate (seconds since the epoch); 0: none, it does not expire.
    long fetched_at;      ///< When the fetcher got it (seconds since the epoch); 0: loaded at start, not fetched.
    unsigned char bytes[UNWRAPD_OCSP_SLOT_BYTES];
} unwrapd_ocsp_slot;

/// The fetcher's write of a new response (length at most UNWRAPD_OCSP_SLOT_BYTES).
static inline void unwrapd_ocsp_slot_publish(unwrapd_ocsp_slot *slot, const unsigned char *bytes, long length,
                                             long next_update, long fetched_at) {
    unsigned long sequence = __atomic_load_n(&slot->sequence, __ATOMIC_RELAXED);
    __atomic_store_n(&slot->sequence, sequence + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    __atomic_store_n(&slot->length, length, __ATOMIC_RELAXED);
    __atomic_store_n(&slot->next_update, next_update, __ATOMIC_RELAXED);
    __atomic_store_n(&slot->fetched_at, fetched_at, __ATOMIC_RELAXED);
    for (long i = 0; i < length; i++) __atomic_store_n(&slot->bytes[i], bytes[i], __ATOMIC_RELAXED);
    __atomic_store_n(&slot->sequence, sequence + 2, __ATOMIC_RELEASE);
}

/// A copy of the slot's response (from OPENSSL_malloc, for SSL_set_tlsext_status_ocsp_resp) while it is current at
/// `now`; NULL when there is none, it expired, or the fetcher was writing it (that handshake goes without).
static inline unsigned char *unwrapd_ocsp_slot_copy(unwrapd_ocsp_slot *slot, long now, long *length) {
    unsigned long before = __atomic_load_n(&slot->sequence, __ATOMIC_ACQUIRE);
    if (before & 1) return NULL;
    long size = __atomic_load_n(&slot->length, __ATOMIC_RELAXED);
    long next_update = __atomic_load_n(&slot->next_update, __ATOMIC_RELAXED);
    if (size <= 0 || size > UNWRAPD_OCSP_SLOT_BYTES || (next_update != 0 && now >= next_update)) return NULL;
    unsigned char *copy = OPENSSL_malloc((size_t)size);
    if (copy == NULL) return NULL;
    for (long i = 0; i < size; i++) copy[i] = __atomic_load_n(&slot->bytes[i], __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (__atomic_load_n(&slot->sequence, __ATOMIC_RELAXED) != before) {
        OPENSSL_free(copy);
        return NULL;
    }
    *length = size;
    return copy;
}

/// The slot's nextUpdate and fetch time as last published (what a restarted fetcher schedules its next fetch by).
static inline long unwrapd_ocsp_slot_next_update(unwrapd_ocsp_slot *slot) {
    return __atomic_load_n(&slot->next_update, __ATOMIC_ACQUIRE);
}
static inline long unwrapd_ocsp_slot_fetched_at(unwrapd_ocsp_slot *slot) {
    return __atomic_load_n(&slot->fetched_at, __ATOMIC_ACQUIRE);
}

/// The certificate's first OCSP responder URL (authorityInfoAccess), copied into `buffer`; 0 when it names none
/// or the URL does not fit.
static inline int unwrapd_X509_ocsp_url(X509 *certificate, char *buffer, size_t size) {
    STACK_OF(OPENSSL_STRING) *urls = X509_get1_ocsp(certificate);
    int found = 0;
    if (urls != NULL && sk_OPENSSL_STRING_num(urls) > 0) {
        const char *url = sk_OPENSSL_STRING_value(urls, 0);
        size_t length = __builtin_strlen(url);
        if (length < size) {
            __builtin_memcpy(buffer, url, length + 1);
            found = 1;
        }
    }
    X509_email_free(urls);
    return found;
}

#endif

// An LD_PRELOAD library for unwrapd's system-call tests: counts, per process, system calls the relay should not
// make, and one that `-t` should not (the count file: count_file.h). Three counters:
//   [0] reads of a socket that said only EAGAIN right after the process wrote to that socket (no event between:
//       the answer to what was just sent cannot be there yet);
//   [1] setsockopt(TCP_CORK) calls;
//   [2] listen calls.
// Compiled by the test with the system C compiler.
#define _GNU_SOURCE
#define COUNTERS 3
#include "count_file.h"
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#define TRACKED_DESCRIPTORS 65536

static unsigned char wrote_last[TRACKED_DESCRIPTORS]; /* the last call on the descriptor was a successful write */

static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_recv)(int, void *, size_t, int);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_send)(int, const void *, size_t, int);
static int (*real_setsockopt)(int, int, int, const void *, socklen_t);
static int (*real_listen)(int, int);
static int (*real_close)(int);

__attribute__((constructor)) static void start_counting(void) {
    real_read = dlsym(RTLD_NEXT, "read");
    real_recv = dlsym(RTLD_NEXT, "recv");
    real_write = dlsym(RTLD_NEXT, "write");
    real_send = dlsym(RTLD_NEXT, "send");
    real_setsockopt = dlsym(RTLD_NEXT, "setsockopt");
    real_listen = dlsym(RTLD_NEXT, "listen");
    real_close = dlsym(RTLD_NEXT, "close");
    start_count_file();
}

static inline int tracked(int descriptor) { return descriptor >= 0 && descriptor < TRACKED_DESCRIPTORS; }

static inline void after_read(int descriptor, ssize_t result) {
    if (!tracked(descriptor)) return;
    if (result < 0 && errno == EAGAIN && wrote_last[descriptor]) add_to_counter(0);
    wrote_last[descriptor] = 0;
}

static inline void after_write(int descriptor, ssize_t result) {
    if (tracked(descriptor)) wrote_last[descriptor] = result > 0;
}

ssize_t read(int descriptor, void *buffer, size_t count) {
    ssize_t result = real_read(descriptor, buffer, count);
    int saved = errno;
    after_read(descriptor, result);
    errno = saved;
    return result;
}

ssize_t recv(int descriptor, void *buffer, size_t count, int flags) {
    ssize_t result = real_recv(descriptor, buffer, count, flags);
    int saved = errno;
    if (!(flags & MSG_PEEK)) after_read(descriptor, result);
    errno = saved;
    return result;
}

ssize_t write(int descriptor, const void *buffer, size_t count) {
    ssize_t result = real_write(descriptor, buffer, count);
    after_write(descriptor, result);
    return result;
}

ssize_t send(int descriptor, const void *buffer, size_t count, int flags) {
    ssize_t result = real_send(descriptor, buffer, count, flags);
    after_write(descriptor, result);
    return result;
}

/* The number may come back for another socket, which has not been written to. */
int close(int descriptor) {
    if (tracked(descriptor)) wrote_last[descriptor] = 0;
    return real_close(descriptor);
}

int setsockopt(int descriptor, int level, int option, const void *value, socklen_t length) {
    if (level == IPPROTO_TCP && option == TCP_CORK) add_to_counter(1);
    return real_setsockopt(descriptor, level, option, value, length);
}

int listen(int descriptor, int backlog) {
    add_to_counter(2);
    return real_listen(descriptor, backlog);
}

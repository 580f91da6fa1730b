// libc functions Swift cannot call directly: _GNU_SOURCE declarations and variadic functions.
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <syslog.h>
#include <unistd.h>
#include "CUnwrapdShims.h"

int unwrapd_accept4(int fd, struct sockaddr *address, socklen_t *length, int flags) {
    return accept4(fd, address, length, flags);
}

int unwrapd_pipe2(int fds[2], int flags) { return pipe2(fds, flags); }

int unwrapd_set_parent_death_signal(int signal) { return prctl(PR_SET_PDEATHSIG, (unsigned long)signal, 0, 0, 0); }

void unwrapd_openlog(const char *ident, int facility) { openlog(ident, LOG_PID | LOG_NDELAY, facility); }

void unwrapd_syslog(int priority, const char *message) { syslog(priority, "%s", message); }

int unwrapd_fcntl_get_flags(int fd) { return fcntl(fd, F_GETFL); }

int unwrapd_fcntl_set_flags(int fd, int flags) { return fcntl(fd, F_SETFL, flags); }

int unwrapd_fcntl_set_descriptor_flags(int fd, int flags) { return fcntl(fd, F_SETFD, flags); }

int unwrapd_open(const char *path, int flags, mode_t mode) { return open(path, flags, mode); }

static int set_disposition(int signal, void (*handler)(int)) {
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_handler = handler;
    sigemptyset(&action.sa_mask);
    return sigaction(signal, &action, NULL);
}

int unwrapd_sigaction_ignore(int signal) { return set_disposition(signal, SIG_IGN); }

ssize_t unwrapd_send_with_descriptor(int socket, const void *bytes, size_t length, int descriptor) {
    struct iovec part = {.iov_base = (void *)bytes, .iov_len = length};
    union {
        char space[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    struct msghdr message = {.msg_iov = &part, .msg_iovlen = 1};
    if (descriptor >= 0) {
        memset(&control, 0, sizeof(control));
        message.msg_control = control.space;
        message.msg_controllen = sizeof(control.space);
        struct cmsghdr *header = CMSG_FIRSTHDR(&message);
        header->cmsg_level = SOL_SOCKET;
        header->cmsg_type = SCM_RIGHTS;
        header->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(header), &descriptor, sizeof(int));
    }
    return sendmsg(socket, &message, MSG_NOSIGNAL);
}

ssize_t unwrapd_receive_with_descriptor(int socket, void *bytes, size_t capacity, int *descriptor) {
    struct iovec part = {.iov_base = bytes, .iov_len = capacity};
    union {
        char space[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    struct msghdr message = {.msg_iov = &part, .msg_iovlen = 1, .msg_control = control.space,
                             .msg_controllen = sizeof(control.space)};
    *descriptor = -1;
    ssize_t received = recvmsg(socket, &message, MSG_CMSG_CLOEXEC);
    if (received < 0) return received;
    for (struct cmsghdr *header = CMSG_FIRSTHDR(&message); header != NULL; header = CMSG_NXTHDR(&message, header)) {
        if (header->cmsg_level == SOL_SOCKET && header->cmsg_type == SCM_RIGHTS) {
            memcpy(descriptor, CMSG_DATA(header), sizeof(int));
        }
    }
    return received;
}

int unwrapd_timerfd_create(void) { return timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC); }

int unwrapd_timerfd_arm(int fd, long long nanoseconds) {
    struct itimerspec when = {.it_value = {.tv_sec = nanoseconds / 1000000000LL, .tv_nsec = nanoseconds % 1000000000LL}};
    return timerfd_settime(fd, 0, &when, NULL);
}

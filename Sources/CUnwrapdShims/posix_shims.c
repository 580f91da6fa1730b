// libc functions Swift cannot call directly: _GNU_SOURCE declarations and variadic functions.
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
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

int unwrapd_fcntl_set_fd_flags(int fd, int flags) { return fcntl(fd, F_SETFD, flags); }

int unwrapd_open(const char *path, int flags, mode_t mode) { return open(path, flags, mode); }

static int set_disposition(int signal, void (*handler)(int)) {
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_handler = handler;
    sigemptyset(&action.sa_mask);
    return sigaction(signal, &action, NULL);
}

int unwrapd_sigaction_ignore(int signal) { return set_disposition(signal, SIG_IGN); }

int unwrapd_sigaction_default(int signal) { return set_disposition(signal, SIG_DFL); }

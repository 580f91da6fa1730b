// An LD_PRELOAD library for the reload tests: while the file named by $UNWRAPD_REFUSE_SETGROUPS_IF exists,
// setgroups(2) fails with EPERM, so that a worker started then cannot drop its privileges and exits before it
// reports ready (the parent never calls setgroups). Compiled by the test with the system C compiler.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <unistd.h>

int setgroups(size_t count, const gid_t *groups) {
    const char *flag = getenv("UNWRAPD_REFUSE_SETGROUPS_IF");
    if (flag != NULL && access(flag, F_OK) == 0) {
        errno = EPERM;
        return -1;
    }
    int (*real_setgroups)(size_t, const gid_t *) = (int (*)(size_t, const gid_t *))dlsym(RTLD_NEXT, "setgroups");
    return real_setgroups(count, groups);
}

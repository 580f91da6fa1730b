// An LD_PRELOAD library for unwrapd's allocation-budget test: counts the heap allocations of each process
// (malloc, calloc, realloc, the aligned variants) into two 8-byte counters in the file
// $UNWRAPD_MALLOC_COUNT_DIR/<pid>, mapped shared, so that a test can read a running worker's counts:
//   [0] every allocation,
//   [1] the allocations not made by OpenSSL (whose caller is outside libssl and libcrypto): unwrapd's own.
// A forked child gets a file of its own (pthread_atfork). Compiled by the test with the system C compiler.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);

static long *counters;
static __thread int classifying;

static void attach_counters(void) {
    counters = NULL;
    const char *directory = getenv("UNWRAPD_MALLOC_COUNT_DIR");
    if (directory == NULL) return;
    char path[512];
    snprintf(path, sizeof(path), "%s/%d", directory, (int)getpid());
    int descriptor = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (descriptor < 0) return;
    if (ftruncate(descriptor, 2 * sizeof(long)) == 0) {
        void *mapping = mmap(NULL, 2 * sizeof(long), PROT_READ | PROT_WRITE, MAP_SHARED, descriptor, 0);
        if (mapping != MAP_FAILED) counters = mapping;
    }
    close(descriptor);
}

__attribute__((constructor)) static void start_counting(void) {
    attach_counters();
    pthread_atfork(NULL, NULL, attach_counters);
}

/// True when `caller` lies in libssl or libcrypto.
static int called_by_openssl(void *caller) {
    Dl_info info;
    if (dladdr(caller, &info) == 0 || info.dli_fname == NULL) return 0;
    return strstr(info.dli_fname, "libssl") != NULL || strstr(info.dli_fname, "libcrypto") != NULL;
}

static void count(void *caller) {
    if (counters == NULL || classifying) return;
    classifying = 1;
    __atomic_fetch_add(&counters[0], 1, __ATOMIC_RELAXED);
    if (!called_by_openssl(caller)) __atomic_fetch_add(&counters[1], 1, __ATOMIC_RELAXED);
    classifying = 0;
}

#define CALLER __builtin_return_address(0)
void *malloc(size_t size) { count(CALLER); return __libc_malloc(size); }
void *calloc(size_t count_, size_t size) { count(CALLER); return __libc_calloc(count_, size); }
void *realloc(void *pointer, size_t size) { count(CALLER); return __libc_realloc(pointer, size); }
void *memalign(size_t alignment, size_t size) { count(CALLER); return __libc_memalign(alignment, size); }
void *aligned_alloc(size_t alignment, size_t size) { count(CALLER); return __libc_memalign(alignment, size); }
int posix_memalign(void **result, size_t alignment, size_t size) {
    count(CALLER);
    void *pointer = __libc_memalign(alignment, size);
    if (pointer == NULL) return 12; /* ENOMEM */
    *result = pointer;
    return 0;
}

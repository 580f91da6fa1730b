// An LD_PRELOAD library for unwrapd's allocation-budget tests: counts the heap allocations of each process
// (malloc, calloc, realloc and the aligned variants) in the file $UNWRAPD_MALLOC_COUNT_DIR/<pid>, mapped shared,
// so that a test can read a running worker's counts: two 8-byte counters, all allocations, then those of 257 to
// 16 384 bytes by malloc, calloc or realloc (the sizes of OpenSSL's in-between blocks, OpenSSLAllocator.swift).
// A forked child gets a file of its own (pthread_atfork). Compiled by the test with the system C compiler.
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);

static long *counter; /* [0]: all allocations, [1]: in-between sizes */

static void attach_counter(void) {
    counter = NULL;
    const char *directory = getenv("UNWRAPD_MALLOC_COUNT_DIR");
    if (directory == NULL) return;
    char path[512];
    snprintf(path, sizeof(path), "%s/%d", directory, (int)getpid());
    int descriptor = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (descriptor < 0) return;
    if (ftruncate(descriptor, 2 * sizeof(long)) == 0) {
        void *mapping = mmap(NULL, 2 * sizeof(long), PROT_READ | PROT_WRITE, MAP_SHARED, descriptor, 0);
        if (mapping != MAP_FAILED) counter = mapping;
    }
    close(descriptor);
}

__attribute__((constructor)) static void start_counting(void) {
    attach_counter();
    pthread_atfork(NULL, NULL, attach_counter);
}

static inline void count(void) {
    if (counter != NULL) __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}

static inline void count_sized(size_t size) {
    count();
    if (counter != NULL && size > 256 && size <= 16384) __atomic_fetch_add(counter + 1, 1, __ATOMIC_RELAXED);
}

void *malloc(size_t size) { count_sized(size); return __libc_malloc(size); }
void *calloc(size_t count_, size_t size) { count_sized(count_ * size); return __libc_calloc(count_, size); }
void *realloc(void *pointer, size_t size) { count_sized(size); return __libc_realloc(pointer, size); }
void *memalign(size_t alignment, size_t size) { count(); return __libc_memalign(alignment, size); }
void *aligned_alloc(size_t alignment, size_t size) { count(); return __libc_memalign(alignment, size); }
int posix_memalign(void **result, size_t alignment, size_t size) {
    count();
    void *pointer = __libc_memalign(alignment, size);
    if (pointer == NULL) return 12; /* ENOMEM */
    *result = pointer;
    return 0;
}

// An LD_PRELOAD library for unwrapd's allocation-budget tests: counts the heap allocations of each process
// (malloc, calloc, realloc and the aligned variants) in the file $UNWRAPD_COUNT_DIR/<pid>, mapped shared,
// so that a test can read a running worker's counts: two 8-byte counters, all allocations, then those of 257 to
// 16 384 bytes by malloc, calloc or realloc (the sizes of OpenSSL's in-between blocks, OpenSSLAllocator.swift).
// The count file: count_file.h. Compiled by the test with the system C compiler.
#define _GNU_SOURCE
#define COUNTERS 2 /* [0]: all allocations, [1]: in-between sizes */
#include "count_file.h"

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);

__attribute__((constructor)) static void start_counting(void) { start_count_file(); }

static inline void count(void) { add_to_counter(0); }

static inline void count_sized(size_t size) {
    count();
    if (size > 256 && size <= 16384) add_to_counter(1);
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

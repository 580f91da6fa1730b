// Shared by the LD_PRELOAD counters (malloc_counter.c, syscall_counter.c): each process counts into the file
// $UNWRAPD_COUNT_DIR/<pid> of COUNTERS 8-byte counters, mapped shared, so that a test can read a running process's
// counts. A forked child gets a file of its own (pthread_atfork). Define COUNTERS before including this.
#ifndef UNWRAPD_COUNT_FILE_H
#define UNWRAPD_COUNT_FILE_H

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static long *counter; /* COUNTERS counters, or NULL when the process has no file */

static void attach_counter(void) {
    counter = NULL;
    const char *directory = getenv("UNWRAPD_COUNT_DIR");
    if (directory == NULL) return;
    char path[512];
    snprintf(path, sizeof(path), "%s/%d", directory, (int)getpid());
    int descriptor = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (descriptor < 0) return;
    if (ftruncate(descriptor, COUNTERS * sizeof(long)) == 0) {
        void *mapping = mmap(NULL, COUNTERS * sizeof(long), PROT_READ | PROT_WRITE, MAP_SHARED, descriptor, 0);
        if (mapping != MAP_FAILED) counter = mapping;
    }
    close(descriptor);
}

/* Called by the library's constructor. */
static void start_count_file(void) {
    attach_counter();
    pthread_atfork(NULL, NULL, attach_counter);
}

static inline void add_to_counter(int index) {
    if (counter != NULL) __atomic_fetch_add(counter + index, 1, __ATOMIC_RELAXED);
}

#endif

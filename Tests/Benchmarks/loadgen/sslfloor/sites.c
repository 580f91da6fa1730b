/* sslfloor --sites: CRYPTO_set_mem_functions wrappers that count OpenSSL's live blocks by allocation site. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sslfloor.h"

struct site_header {
    size_t size;
    const char *file; /* NULL: not counted (allocated before or after the measured connections) */
    int line;
};
struct site {
    const char *file;
    int line;
    long blocks, bytes;
};
static int counting;
static struct site sites[1024];
static int site_count;

static struct site *site_at(const char *file, int line) {
    for (int i = 0; i < site_count; i++)
        if (sites[i].line == line && sites[i].file == file) return &sites[i];
    if (site_count == (int)(sizeof sites / sizeof sites[0])) return &sites[0];
    sites[site_count] = (struct site){file, line, 0, 0};
    return &sites[site_count++];
}

static void *counted_malloc(size_t size, const char *file, int line) {
    struct site_header *h = malloc(sizeof *h + size);
    if (h == NULL) return NULL;
    *h = (struct site_header){size, counting ? file : NULL, line};
    if (counting) {
        struct site *s = site_at(file, line);
        s->blocks++;
        s->bytes += (long)size;
    }
    return h + 1;
}

static void counted_free(void *p, const char *file, int line) {
    (void)file;
    (void)line;
    if (p == NULL) return;
    struct site_header *h = (struct site_header *)p - 1;
    if (h->file != NULL) {
        struct site *s = site_at(h->file, h->line);
        s->blocks--;
        s->bytes -= (long)h->size;
    }
    free(h);
}

static void *counted_realloc(void *p, size_t size, const char *file, int line) {
    if (p == NULL) return counted_malloc(size, file, line);
    struct site_header *h = (struct site_header *)p - 1;
    void *q = counted_malloc(size, file, line);
    if (q == NULL) return NULL;
    memcpy(q, p, h->size < size ? h->size : size);
    counted_free(p, file, line);
    return q;
}

/* Before OpenSSL allocates anything; 0 if it already has (it then keeps malloc). */
int sites_install(void) { return CRYPTO_set_mem_functions(counted_malloc, counted_realloc, counted_free); }

void sites_counting(int on) { counting = on; }

static int by_bytes(const void *a, const void *b) {
    long x = ((const struct site *)a)->bytes, y = ((const struct site *)b)->bytes;
    return (x < y) - (x > y);
}

/* On stderr: the bytes and blocks each site keeps per connection (of `n`), largest first. */
void sites_print(int n) {
    qsort(sites, (size_t)site_count, sizeof sites[0], by_bytes);
    long total = 0;
    for (int i = 0; i < site_count; i++) total += sites[i].bytes;
    fprintf(stderr, "OpenSSL's live blocks per idle server connection: %.0f bytes\n", (double)total / n);
    for (int i = 0; i < site_count && sites[i].bytes > 0; i++)
        fprintf(stderr, "%8.0f B %5.1f blocks  %s:%d\n", (double)sites[i].bytes / n, (double)sites[i].blocks / n,
                sites[i].file, sites[i].line);
}

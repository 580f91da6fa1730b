/* What tlsload reports: the clock, errors by kind, the latency histogram, CPU samples from /proc, and the JSON
 * fields every mode prints. */
#include "tlsload.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static const char *err_names[E_COUNT] = {"connect", "handshake", "params", "not_resumed", "tls_io", "eof",
                                         "http", "body", "extra_bytes", "timeout", "dropped",
                                         "accepted", "not_stapled"};
long long errors[E_COUNT];
int error_lines;
char negotiated_version[32] = "", negotiated_cipher[64] = "", negotiated_group[32] = "";
struct cpu_sample sample_start, sample_end;

/* latency histogram: 10 µs buckets up to 1 s, then 10 ms buckets up to 100 s */
#define HIST_FINE 100000
#define HIST_COARSE 10000
static uint32_t hist_fine[HIST_FINE], hist_coarse[HIST_COARSE];
static long long hist_n;

double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "tlsload: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(2);
}

/* Counts an error of `kind`; the first ten (all with --verbose) are also written to stderr with OpenSSL's reason. */
void record_error(enum err kind, struct conn *c, const char *detail) {
    errors[kind]++;
    if (error_lines < 10 || verbose) {
        error_lines++;
        unsigned long e = ERR_peek_error();
        char text[256] = "";
        if (e) ERR_error_string_n(e, text, sizeof text);
        fprintf(stderr, "tlsload: error %s (slot %d): %s %s%s\n", err_names[kind], c ? c->index : -1,
                detail ? detail : "", text, error_lines == 10 && !verbose ? " (further errors only counted)" : "");
    }
    ERR_clear_error();
}

long long errors_sum(void) {
    long long total = 0;
    for (int i = 0; i < E_COUNT; i++) total += errors[i];
    return total;
}

void hist_add(double seconds) {
    long us10 = (long)(seconds * 1e5);
    if (us10 < HIST_FINE) hist_fine[us10 < 0 ? 0 : us10]++;
    else {
        long ms10 = (long)(seconds * 100);
        hist_coarse[ms10 < HIST_COARSE ? ms10 : HIST_COARSE - 1]++;
    }
    hist_n++;
}

void hist_reset(void) {
    hist_n = 0;
    memset(hist_fine, 0, sizeof hist_fine);
    memset(hist_coarse, 0, sizeof hist_coarse);
}

double hist_percentile(double p) {
    if (hist_n == 0) return 0;
    long long rank = (long long)(p / 100.0 * hist_n + 0.5), seen = 0;
    if (rank < 1) rank = 1;
    for (int i = 0; i < HIST_FINE; i++)
        if ((seen += hist_fine[i]) >= rank) return (i + 0.5) * 1e-5;
    for (int i = 0; i < HIST_COARSE; i++)
        if ((seen += hist_coarse[i]) >= rank) return (i + 0.5) * 1e-2;
    return 100;
}

/* Adds the CPU time of `pid` to `s`: all of it to `daemon`, the kernel's share also to `daemon_kernel`. */
static void add_proc_cpu_seconds(pid_t pid, struct cpu_sample *s) {
    char name[64], text[1024];
    snprintf(name, sizeof name, "/proc/%d/stat", (int)pid);
    int fd = open(name, O_RDONLY | O_CLOEXEC);
    if (fd < 0) { s->daemon_ok = 0; return; }
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0) { s->daemon_ok = 0; return; }
    text[n] = 0;
    char *p = strrchr(text, ')');
    if (!p) { s->daemon_ok = 0; return; }
    /* after ") ": field 3 is state; utime is field 14 */
    unsigned long long v[20] = {0};
    int field = 3;
    p += 2;
    while (*p && field <= 17) {
        if (field >= 14) v[field] = strtoull(p, NULL, 10);
        while (*p && *p != ' ') p++;
        while (*p == ' ') p++;
        field++;
    }
    double tick = (double)sysconf(_SC_CLK_TCK);
    s->daemon += (double)(v[14] + v[15] + v[16] + v[17]) / tick;
    s->daemon_kernel += (double)(v[15] + v[17]) / tick;
}

/* The CPU time of the --pids processes and of this one, and the busy time of every CPU, now. */
void sample(struct cpu_sample *s) {
    memset(s, 0, sizeof *s);
    s->daemon_ok = 1;
    for (int i = 0; i < npids; i++) add_proc_cpu_seconds(pids[i], s);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    s->self = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
    FILE *f = fopen("/proc/stat", "re");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        int cpu;
        unsigned long long u, ni, sy, id, io, irq, sirq, st;
        if (sscanf(line, "cpu%d %llu %llu %llu %llu %llu %llu %llu %llu", &cpu, &u, &ni, &sy, &id, &io, &irq, &sirq,
                   &st) == 9 && cpu >= 0 && cpu < 8) {
            s->cpu_busy[cpu] = (double)(u + ni + sy + irq + sirq + st);
            s->cpu_total[cpu] = (double)(u + ni + sy + id + io + irq + sirq + st);
            if (cpu + 1 > s->ncpu) s->ncpu = cpu + 1;
        }
    }
    fclose(f);
}

static void print_cpu_json(FILE *out, const struct cpu_sample *a, const struct cpu_sample *b) {
    fprintf(out,
            "\"daemon_cpu_s\":%.3f,\"daemon_kernel_cpu_s\":%.3f,\"daemon_cpu_ok\":%s,\"client_cpu_s\":%.3f,"
            "\"cpu_busy\":[",
            b->daemon - a->daemon, b->daemon_kernel - a->daemon_kernel,
            (a->daemon_ok && b->daemon_ok) ? "true" : "false", b->self - a->self);
    for (int i = 0; i < b->ncpu; i++) {
        double total = b->cpu_total[i] - a->cpu_total[i];
        fprintf(out, "%s%.3f", i ? "," : "", total > 0 ? (b->cpu_busy[i] - a->cpu_busy[i]) / total : 0);
    }
    fprintf(out, "]");
}

void print_errors_json(FILE *out) {
    fprintf(out, "\"errors\":{");
    int first = 1;
    for (int i = 0; i < E_COUNT; i++) {
        if (errors[i]) {
            fprintf(out, "%s\"%s\":%lld", first ? "" : ",", err_names[i], errors[i]);
            first = 0;
        }
    }
    fprintf(out, "},\"errors_total\":%lld", errors_sum());
}

void print_tls_json(FILE *out) {
    fprintf(out, "\"version\":\"%s\",\"cipher\":\"%s\",\"group\":\"%s\"", negotiated_version, negotiated_cipher,
            negotiated_group);
}

/* The fields every measuring mode reports last: what was negotiated, the errors, the CPU time sampled. */
void print_common_json(void) {
    print_tls_json(stdout);
    printf(",");
    print_errors_json(stdout);
    printf(",");
    print_cpu_json(stdout, &sample_start, &sample_end);
}

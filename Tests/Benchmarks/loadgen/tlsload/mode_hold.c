/* hold mode (open --hold connections, keep them idle, answer "status", "probe K" and "quit" on stdin) and probe
 * mode (one complete request on a new connection, retried until the server is ready). */
#include "tlsload.h"

#include <poll.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

static const double PROBE_INTERVAL = 0.05; /* probe mode: seconds between tries while the server starts */

/* One complete request on a new connection, driven to the end (probe mode, and "probe" in hold mode).
 * Returns the latency in seconds, or -1. */
double one_request(double timeout) {
    static struct conn probe;
    if (!probe.md) probe.md = EVP_MD_CTX_new();
    probe.index = -1;
    probe.fd = -1;
    long long before = ops_total;
    enum mode saved = mode;
    mode = MODE_PROBE;
    double t0 = now();
    start_conn(&probe);
    while (probe.state != ST_FREE) {
        struct pollfd p = {.fd = probe.fd, .events = (short)((probe.events & EPOLLIN ? POLLIN : 0) |
                                                             (probe.events & EPOLLOUT ? POLLOUT : 0))};
        int left = (int)((t0 + timeout - now()) * 1000);
        if (left <= 0) { fail(&probe, E_TIMEOUT, "probe"); break; }
        if (poll(&p, 1, left > 100 ? 100 : left) > 0) drive(&probe);
    }
    mode = saved;
    return ops_total > before ? now() - t0 : -1;
}

int run_probe(void) {
    /* readiness: retry quietly until one complete request succeeds */
    double deadline = now() + probe_timeout;
    int saved_lines = error_lines;
    for (;;) {
        error_lines = 1000; /* no error lines while the server is still starting */
        memset(errors, 0, sizeof errors);
        double latency = one_request(conn_timeout < probe_timeout ? conn_timeout : probe_timeout);
        error_lines = saved_lines;
        if (latency >= 0) {
            printf("{\"mode\":\"probe\",\"ok\":true,\"latency_ms\":%.3f,", latency * 1e3);
            print_tls_json(stdout);
            printf("}\n");
            return 0;
        }
        if (now() + PROBE_INTERVAL > deadline) break;
        usleep((useconds_t)(PROBE_INTERVAL * 1e6));
    }
    printf("{\"mode\":\"probe\",\"ok\":false,");
    print_errors_json(stdout);
    printf("}\n");
    return 1;
}

static void hold_status(const char *event) {
    long long open = 0;
    for (int i = 0; i < nconns; i++) open += conns[i].state == ST_IDLE;
    printf("{\"mode\":\"hold\",\"event\":\"%s\",\"requested\":%d,\"open\":%lld,", event, hold_count, open);
    print_common_json();
    printf(",\"seconds\":%.3f}\n", window_end - window_start);
    fflush(stdout);
}

/* Opens the --hold connections, --concurrency at a time, within --duration (more than 100 errors end it early). */
static void open_held_connections(void) {
    sample(&sample_start);
    window_start = now();
    double deadline = window_start + duration; /* --duration bounds the opening phase */
    int next = 0;
    double last_check = window_start;
    for (;;) {
        int in_flight = 0;
        for (int i = 0; i < next; i++) in_flight += conns[i].state != ST_IDLE && conns[i].state != ST_FREE;
        if (next == nconns && in_flight == 0) break;
        if (errors_sum() > 100 || now() > deadline) break;
        while (next < nconns && in_flight < concurrency) {
            start_conn(&conns[next]);
            next++;
            in_flight++;
        }
        handle_events(10);
        double t = now();
        if (t - last_check > 0.1) { check_timeouts(t); last_check = t; }
    }
    window_end = now();
    sample(&sample_end);
}

/* "probe K": K new clients while holding, one at a time, and the latency of each. A new client that waits 5 s is
 * not served "at once": it fails; after 3 failures in a row the rest are not tried (at most 3 * 5 s of waiting). */
static void probe_while_holding(int k) {
    int saved_resume = resume;
    resume = 0;
    hist_reset();
    int ok = 0, failed_in_row = 0, tried = 0;
    double worst = 0;
    for (int j = 0; j < k && failed_in_row < 3; j++, tried++) {
        double l = one_request(5.0);
        if (l >= 0) { ok++; failed_in_row = 0; hist_add(l); if (l > worst) worst = l; }
        else failed_in_row++;
    }
    resume = saved_resume;
    printf("{\"mode\":\"hold\",\"event\":\"probe\",\"probes\":%d,\"tried\":%d,\"ok\":%d,"
           "\"latency_p50_ms\":%.3f,\"latency_max_ms\":%.3f}\n",
           k, tried, ok, hist_percentile(50) * 1e3, worst * 1e3);
    fflush(stdout);
}

/* Runs one command line; returns 0 for "quit". */
static int run_command(const char *line) {
    if (strcmp(line, "quit") == 0) return 0;
    if (strcmp(line, "status") == 0) hold_status("status");
    int k;
    if (sscanf(line, "probe %d", &k) == 1) probe_while_holding(k);
    return 1;
}

int run_hold(void) {
    nconns = hold_count;
    conns = alloc_conns(nconns);
    open_held_connections();
    hold_status("ready");
    /* Serve commands; watch the idle connections (a server-side close is an error: "dropped"). */
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev);
    char line[128];
    size_t line_len = 0;
    for (;;) {
        struct epoll_event evs[64];
        int n = epoll_wait(ep, evs, 64, 1000);
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr) { drive((struct conn *)evs[i].data.ptr); continue; }
            ssize_t r = read(0, line + line_len, sizeof line - 1 - line_len);
            if (r <= 0) return 0;
            line_len += (size_t)r;
            line[line_len] = 0;
            char *nl;
            while ((nl = strchr(line, '\n'))) {
                *nl = 0;
                if (!run_command(line)) return 0;
                size_t rest = line_len - (size_t)(nl + 1 - line);
                memmove(line, nl + 1, rest);
                line_len = rest;
                line[line_len] = 0;
            }
            if (line_len == sizeof line - 1) line_len = 0;
        }
    }
}

/* conn mode: a new connection per request, --concurrency in flight, for --duration after --warmup, or exactly
 * --count connections. Reports completed operations per second and their latency. */
#include "tlsload.h"

static long long conns_started; /* connections started (with --count, never more than N) */

static int may_start(void) {
    return !count_limit || conns_started < count_limit;
}

static int busy_conns(void) {
    int busy = 0;
    for (int i = 0; i < nconns; i++) busy += conns[i].state != ST_FREE;
    return busy;
}

void run_conn(void) {
    nconns = concurrency;
    conns = alloc_conns(nconns);
    double t0 = now();
    if (count_limit) { /* --count: the window covers all N connections; --duration bounds it */
        sample(&sample_start);
        t0 = window_start = now();
        window_end = window_start + duration;
        measuring = 1;
    } else {
        window_start = t0 + warmup;
        window_end = window_start + duration;
    }
    for (int i = 0; i < nconns && may_start(); i++) {
        conns_started++;
        start_conn(&conns[i]);
    }
    double last_check = t0;
    for (;;) {
        double t = now();
        if (count_limit && measuring && conns_started >= count_limit && !busy_conns()) {
            /* all N finished (completed or failed) */
            sample(&sample_end);
            window_end = now();
            measuring = 0;
            break;
        }
        if (!measuring && t >= window_start && t < window_end) {
            sample(&sample_start);
            window_start = now();
            window_end = window_start + duration;
            measuring = 1;
        }
        if (measuring && t >= window_end) {
            sample(&sample_end);
            window_end = now();
            measuring = 0;
            break;
        }
        handle_events(5);
        t = now();
        for (int i = 0; i < nconns; i++) {
            struct conn *c = &conns[i];
            if (c->state == ST_FREE && t >= c->retry_at && may_start()) {
                conns_started++;
                start_conn(c);
            }
        }
        if (t - last_check > 0.1) { check_timeouts(t); last_check = t; }
    }
    /* Let the connections in flight finish (not counted), so that the server sees no aborted handshakes. */
    double drain_end = now() + 5;
    while (busy_conns() && now() <= drain_end) handle_events(5);
    for (int i = 0; i < nconns; i++) release(&conns[i], 0);
    double secs = window_end - window_start;
    printf("{\"mode\":\"conn\",\"resume\":%s,\"ops\":%lld,\"seconds\":%.4f,\"rate\":%.1f,", resume ? "true" : "false",
           ops, secs, ops / secs);
    if (count_limit) printf("\"count\":%lld,\"started\":%lld,", count_limit, conns_started);
    if (resume) printf("\"full_in_window\":%lld,", full_in_window);
    printf("\"ops_total\":%lld,\"concurrency\":%d,\"latency_p50_ms\":%.3f,\"latency_p99_ms\":%.3f,"
           "\"server_closed_without_close_notify\":%lld,",
           ops_total, concurrency, hist_percentile(50) * 1e3, hist_percentile(99) * 1e3, no_close_notify);
    print_common_json();
    printf("}\n");
}

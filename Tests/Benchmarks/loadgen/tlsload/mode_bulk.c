/* bulk mode: one keep-alive connection downloads --path again and again; after --warmup and one whole (hashed)
 * download, the window runs for --duration and ends on a whole download. Reports body bytes per second. */
#include "tlsload.h"

static int bulk_downloads;
static double bulk_min_rate = 1e18, bulk_max_rate = 0, bulk_download_start;
static double bulk_deadline;

/* A download is complete: count it, open or close the window, and ask for the next one. */
void bulk_response_done(struct conn *c) {
    double t = now();
    ops_total++;
    if (measuring) {
        double rate = c->content_length / (t - bulk_download_start);
        if (rate < bulk_min_rate) bulk_min_rate = rate;
        if (rate > bulk_max_rate) bulk_max_rate = rate;
        bulk_downloads++;
        ops++;
        if (t >= bulk_deadline) { /* end the window on a whole download */
            window_end = t;
            sample(&sample_end);
            measuring = 0;
            release(c, 1);
            return;
        }
    } else if (ops_total >= 1 && t >= window_start) {
        /* warm-up over (at least one whole download, hashed): start the window now */
        measuring = 1;
        window_start = t;
        bulk_deadline = t + duration;
        sample(&sample_start);
    }
    bulk_download_start = t;
    c->state = ST_WRITE;
    c->written = 0;
}

void run_bulk(void) {
    nconns = 1;
    conns = alloc_conns(1);
    double t0 = now();
    window_start = t0 + warmup; /* the window starts after this and after the first whole download */
    double hard_end = t0 + warmup + duration + 60 + conn_timeout;
    start_conn(&conns[0]);
    bulk_download_start = now();
    double last_check = t0;
    while (conns[0].state != ST_FREE) {
        handle_events(50);
        double t = now();
        if (t - last_check > 0.1) { check_timeouts(t); last_check = t; }
        if (t > hard_end) { fail(&conns[0], E_TIMEOUT, "bulk run did not end"); break; }
    }
    double secs = window_end - window_start;
    int complete = bulk_downloads > 0 && !measuring;
    printf("{\"mode\":\"bulk\",\"downloads\":%d,\"ops_total\":%lld,\"bytes\":%lld,\"seconds\":%.4f,\"rate\":%.1f,"
           "\"download_rate_min\":%.1f,\"download_rate_max\":%.1f,",
           bulk_downloads, ops_total, complete ? bytes_in_window : 0, complete ? secs : 0,
           complete ? bytes_in_window / secs : 0, complete ? bulk_min_rate : 0, bulk_max_rate);
    print_common_json();
    printf("}\n");
}

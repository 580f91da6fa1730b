"""One run's measurement for each kind of scenario, with tlsload or wrk on the clients' core: connections,
keep-alive requests, bulk downloads, idle connections held, the spread over two workers."""

import os
import resource
import subprocess
import time

from .perf import AcceptCounter
from .processes import Proc, RunFailed, read_json_line, run_for_json
from .procfs import (
    busy_fractions, connections_held, cpu_busy, cpu_times, cpus_allowed, listening_inodes, pss_kib, socket_inodes,
    status_value, tcp_counter, tcp_per_connection, tcp_snapshot, voluntary_switches)
from .rig import HERE

SPREAD_BOUND_S = 300  # spread: tlsload's bound for its N connections (about 10 s at this machine's rate)


def wait_for_connections(pids, count, when, timeout=30.0):
    """Waits (bounded) until the daemon's processes hold exactly `count` TCP connections, so that its memory is read
    once it has closed, or opened, all it was given."""
    deadline = time.monotonic() + timeout
    while (held := connections_held(pids)) != count:
        if time.monotonic() > deadline:
            raise RunFailed(f"hold: {when}, the daemon held {held} TCP connections after {timeout:.0f} s, "
                            f"expected {count}")
        time.sleep(0.05)


def window_metrics(bench, lg, ops):
    """Common metrics from a tlsload result: CPU per op, the daemon's busy share of its core."""
    secs = lg.get("seconds") or 0
    cpu = lg.get("daemon_cpu_s", 0)
    busy = lg.get("cpu_busy", [])
    m = {"seconds": secs, "daemon_cpu_s": cpu, "client_cpu_s": lg.get("client_cpu_s"),
         "daemon_busy": round(cpu / secs, 3) if secs else None,
         "cpu_busy": busy,
         "cpu_daemon_core_busy": busy[bench.cfg.daemon_cpu] if len(busy) > bench.cfg.daemon_cpu else None,
         "cpu_client_core_busy": busy[bench.cfg.client_cpu] if len(busy) > bench.cfg.client_cpu else None,
         "cpu_us_per_op": round(cpu * 1e6 / ops, 2) if ops else None,
         "kernel_cpu_us_per_op": (round(lg["daemon_kernel_cpu_s"] * 1e6 / ops, 2)
                                  if ops and lg.get("daemon_kernel_cpu_s") is not None else None),
         "client_cpu_us_per_op": (round(lg["client_cpu_s"] * 1e6 / ops, 2)
                                  if ops and lg.get("client_cpu_s") is not None else None),
         "errors_total": lg.get("errors_total", 0), "errors": lg.get("errors", {}),
         "negotiated": {k: lg.get(k) for k in ("version", "cipher", "group")}}
    return m


def conn_argv(bench, sc, port, pids, concurrency):
    """tlsload's command line for new connections to `port`, one request each (full or resumed handshakes; in the
    `refuse` scenarios a handshake the daemon refuses), with `concurrency` in flight, reading the CPU time of `pids`
    over its measured window."""
    cfg = bench.cfg
    argv = bench.tlsload_args(sc, port, pids) + [
        "--mode", "conn", "--concurrency", str(concurrency), "--duration", str(cfg.duration),
        "--warmup", str(cfg.warmup), "--expect-sha256", cfg.digests["/100"], "--path", "/100"]
    return argv + (["--resume"] if sc.resume else []) + (["--expect-refusal"] if sc.kind == "refuse" else [])


def wrk_report(bench, port, connections, seconds, log_path):
    """wrk's keep-alive requests for /100 on `port` over `connections` for `seconds`: its exact counts as JSON
    (`wrk-report.lua`), with TLS pinned by the benchmark's OpenSSL configuration."""
    cfg = bench.cfg
    argv = bench.client(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s",
                         "-s", os.path.join(HERE, "wrk-report.lua"), f"https://127.0.0.1:{port}/100"])
    return run_for_json("wrk", argv, seconds + 30, log_path, env=dict(os.environ, OPENSSL_CONF=cfg.client_openssl_conf))


def response_size_error(cfg, report):
    """What was wrong when wrk's responses were not all of the backend's size (bytes lost or mixed up); None if
    they were."""
    requests = report["requests"]
    per_response = report["bytes"] / requests if requests else 0
    if requests and abs(per_response - cfg.response_size) > 0.01 * cfg.response_size:
        return f"{per_response:.1f} bytes per response, expected {cfg.response_size}"
    return None


def run_conn(bench, sc, pids, log_path):
    """New connections, one request each (full or resumed handshakes): tlsload with `concurrency` in flight. In
    the `refuse` scenarios the operation is the daemon's refusal of the handshake instead, and no request is made:
    the backend must serve none (the runner's cross-check)."""
    cfg = bench.cfg
    refusals = sc.kind == "refuse"
    argv = conn_argv(bench, sc, cfg.frontend_port, pids, cfg.concurrency)
    tcp0 = tcp_snapshot()
    lg = bench.tlsload_json(argv, cfg.warmup + cfg.duration + 60, log_path + ".tlsload")
    m = window_metrics(bench, lg, lg.get("ops", 0))
    m.update(tcp_per_connection(tcp0, lg))
    m.update({"rate": lg.get("rate"), "ops": lg.get("ops"), "client_requests": 0 if refusals else lg.get("ops_total"),
              "latency_p50_ms": lg.get("latency_p50_ms"),
              "latency_p99_ms": lg.get("latency_p99_ms"), "concurrency": cfg.concurrency,
              "server_closed_without_close_notify": lg.get("server_closed_without_close_notify")})
    if sc.resume:
        m["full_in_window"] = lg.get("full_in_window", 0)
        if m["full_in_window"] > 0.01 * max(1, lg.get("ops", 0)):
            m["errors_total"] += m["full_in_window"]  # resumption did not work: not a valid run
    m["loadgen"] = lg
    return m


def run_bulk(bench, sc, pids, log_path):
    """64 MiB downloads over one connection after another: MB/s and CPU per MB."""
    cfg = bench.cfg
    argv = bench.tlsload_args(sc, cfg.frontend_port, pids) + [
        "--mode", "bulk", "--path", "/64m", "--expect-sha256", cfg.digests["/64m"],
        "--duration", str(cfg.duration), "--warmup", str(cfg.warmup)]
    lg = bench.tlsload_json(argv, cfg.warmup + cfg.duration + 120, log_path + ".tlsload")
    mb = (lg.get("bytes") or 0) / 1e6
    m = window_metrics(bench, lg, mb)
    m.update({"rate_mb": round(lg.get("rate", 0) / 1e6, 1), "bytes": lg.get("bytes"),
              "downloads": lg.get("downloads"), "client_requests": lg.get("ops_total"),
              "download_mb_s_min": round(lg.get("download_rate_min", 0) / 1e6, 1),
              "download_mb_s_max": round(lg.get("download_rate_max", 0) / 1e6, 1)})
    if not lg.get("downloads"):
        m["errors_total"] += 1
    m["loadgen"] = lg
    return m


def run_wrk(bench, sc, pids, log_path):
    """Keep-alive small requests with wrk: requests/s, latency, CPU per request, sleeps and segments per request."""
    cfg = bench.cfg

    def wrk(seconds):
        return wrk_report(bench, cfg.frontend_port, cfg.wrk_connections, seconds, log_path + ".wrk")

    warm = wrk(max(1, int(round(cfg.warmup))))  # warm-up, not measured
    children = lambda: sum(getattr(resource.getrusage(resource.RUSAGE_CHILDREN), f) for f in ("ru_utime", "ru_stime"))
    (cpu0, kernel0), busy0, t0, wrk0 = cpu_times(pids), cpu_busy(), time.monotonic(), children()
    sleeps0, segments0 = voluntary_switches(pids), tcp_counter("OutSegs")
    report = wrk(int(round(cfg.duration)))
    sleeps1, segments1 = voluntary_switches(pids), tcp_counter("OutSegs")
    (cpu1, kernel1), busy1, t1, wrk1 = cpu_times(pids), cpu_busy(), time.monotonic(), children()
    requests = report["requests"]
    errors = report["errors"]
    lg = {"seconds": t1 - t0, "daemon_cpu_s": cpu1 - cpu0, "daemon_kernel_cpu_s": kernel1 - kernel0,
          "cpu_busy": busy_fractions(busy0, busy1),
          "client_cpu_s": wrk1 - wrk0,
          "errors": {k: v for k, v in errors.items() if v}, "errors_total": sum(errors.values())}
    m = window_metrics(bench, lg, requests)
    per_response = report["bytes"] / requests if requests else 0
    wrong_size = response_size_error(cfg, report)
    if wrong_size:
        m["errors_total"] += 1
        m["errors"]["response_size"] = wrong_size
    duration = report["duration_us"] / 1e6
    m.update({"rate": round(requests / duration, 1) if duration else None, "requests": requests,
              "client_requests": warm["requests"] + requests,
              "p50_ms": report["latency_p50_us"] / 1e3, "p99_ms": report["latency_p99_us"] / 1e3,
              "latency_max_ms": report["latency_max_us"] / 1e3, "wrk": report,
              "bytes_per_response": round(per_response, 1),
              "sleeps_per_op": round((sleeps1 - sleeps0) / requests, 3) if requests else None,
              "tcp_segments_per_op": round((segments1 - segments0) / requests, 3) if requests else None})
    return m


def run_hold(bench, sc, pids, log_path):
    """N connections opened and held idle: the daemon's RSS per connection, and new clients served meanwhile."""
    cfg = bench.cfg
    # Warm-up (one-time allocations of the TLS stack are not per-connection memory), then RSS at 0.
    warm = bench.tlsload_args(sc, cfg.frontend_port) + [
        "--mode", "conn", "--concurrency", "16", "--duration", "1", "--warmup", "0",
        "--expect-sha256", cfg.digests["/100"]]
    warmed = bench.tlsload_json(warm, 60, log_path + ".tlsload")
    wait_for_connections(pids, 0, "after the warm-up")
    rss0 = sum(status_value(p, "VmRSS") for p in pids)
    pss0 = sum(pss_kib(p) for p in pids)
    # One descriptor per held connection on the client side: beyond what one process may open, the connections
    # are held by several tlsload processes, started one after the other.
    per_process = max(1, resource.getrlimit(resource.RLIMIT_NOFILE)[1] - 100)
    counts = [min(per_process, sc.hold - i) for i in range(0, sc.hold, per_process)]
    err = open(log_path + ".tlsload", "a")
    holders, readies = [], []

    def tell(proc, command):
        proc.popen.stdin.write(command.encode() + b"\n")
        proc.popen.stdin.flush()

    def ask(proc, command, timeout):
        tell(proc, command)
        return read_json_line(proc, timeout)

    try:
        for count in counts:
            argv = bench.tlsload_args(sc, cfg.frontend_port, pids) + [
                "--mode", "hold", "--hold", str(count), "--concurrency", "64", "--duration", "120",
                "--expect-sha256", cfg.digests["/100"]]
            holders.append(Proc("tlsload-hold", bench.client(argv), stdout=subprocess.PIPE, stderr=err,
                                stdin=subprocess.PIPE))
            readies.append(read_json_line(holders[-1], 150))
        wait_for_connections(pids, 2 * sc.hold, "with the idle connections open")  # the client's and the backend's
        rss = sum(status_value(p, "VmRSS") for p in pids)
        pss = sum(pss_kib(p) for p in pids)
        rss_each = {str(p): status_value(p, "VmRSS") for p in pids}
        statuses = [ask(proc, "status", 30) for proc in holders]
        probe = ask(holders[0], "probe 20", 120)
        for proc in holders:
            tell(proc, "quit")
        for proc in holders:
            proc.popen.wait(30)
    except (subprocess.TimeoutExpired, BrokenPipeError) as error:
        raise RunFailed(f"hold: {error!r}")
    finally:
        for proc in holders:
            proc.stop()
        err.close()
    opened = sum(r.get("open") or 0 for r in readies)
    held = sum(st.get("open") or 0 for st in statuses)
    ready = {"seconds": sum(r.get("seconds") or 0 for r in readies),
             "daemon_cpu_s": sum(r.get("daemon_cpu_s") or 0 for r in readies),
             "daemon_kernel_cpu_s": sum(r.get("daemon_kernel_cpu_s") or 0 for r in readies),
             "client_cpu_s": sum(r.get("client_cpu_s") or 0 for r in readies),
             "cpu_busy": readies[0].get("cpu_busy", []),
             "version": readies[0].get("version"), "cipher": readies[0].get("cipher"),
             "group": readies[0].get("group")}
    m = window_metrics(bench, ready, sc.hold)
    m["errors"] = {}
    for st in statuses:
        for kind, n in (st.get("errors") or {}).items():
            m["errors"][kind] = m["errors"].get(kind, 0) + n
    m["errors_total"] = sum(m["errors"].values())
    if held != sc.hold:
        m["errors_total"] += 1
    if probe.get("ok") != probe.get("probes"):
        m["errors_total"] += 1
        m["errors"]["probes_failed"] = probe.get("probes", 0) - probe.get("ok", 0)
    m.update({"open": held, "requested": sc.hold, "client_processes": len(holders),
              "rss0_kib": rss0, "rss_kib": rss,
              "client_requests": warmed.get("ops_total", 0) + opened + (probe.get("ok") or 0),
              "rss_per_process_kib": rss_each, "pss0_kib": pss0, "pss_kib": pss,
              # per connection actually held (all N in a valid run)
              "kib_per_conn": round((rss - rss0) / held, 2) if held else None,
              "pss_kib_per_conn": round((pss - pss0) / held, 2) if held else None,
              "open_seconds": ready["seconds"],
              "probe_p50_ms": probe.get("latency_p50_ms") if probe.get("ok") else None,
              "probe_max_ms": probe.get("latency_max_ms") if probe.get("ok") else None,
              "loadgen": {"ready": readies, "status": statuses, "probe": probe}})
    return m


def run_spread(bench, sc, pids, log_path):
    """-n 2: exactly sc.count new connections (one request each); how many each worker accepted, counted by
    perf from outside (the daemons' logs are not used)."""
    cfg = bench.cfg
    # The workers: the processes (beside the main one) that hold a listening socket of the frontend port. hitch
    # also has a helper process without one; unwrapd's main process holds them all, hitch's closes its own.
    listening = listening_inodes(cfg.frontend_port)
    workers = [p for p in pids[1:] if socket_inodes(p) & listening]
    counters = []
    try:
        for pid in pids:  # the main process too: it should accept nothing, and this shows it
            counters.append(AcceptCounter(cfg, pid, f"{log_path}.perf-{pid}"))
        argv = bench.tlsload_args(sc, cfg.frontend_port, pids) + [
            "--mode", "conn", "--count", str(sc.count), "--concurrency", str(cfg.concurrency),
            "--duration", str(SPREAD_BOUND_S), "--expect-sha256", cfg.digests["/100"], "--path", "/100"]
        tcp0 = tcp_snapshot()
        lg = bench.tlsload_json(argv, SPREAD_BOUND_S + 60, log_path + ".tlsload")
        tcp_per_conn = tcp_per_connection(tcp0, lg)
    finally:
        accepted = {counter.pid: counter.stop() for counter in counters}
    if len(accepted) != len(pids) or any(v is None for v in accepted.values()):
        raise RunFailed(f"perf gave no accept count for every process (see {log_path}.perf-*)")
    per_pid = {pid: v["accept4"] + v["accept"] for pid, v in accepted.items()}
    failed = {pid: v["accept4_failed"] + v["accept_failed"] for pid, v in accepted.items()}
    counts = [per_pid[p] for p in workers]
    total = sum(per_pid.values())
    m = window_metrics(bench, lg, lg.get("ops", 0))
    m.update({"rate": lg.get("rate"), "ops": lg.get("ops"), "client_requests": lg.get("ops_total"),
              "connections_requested": sc.count, "connections_started": lg.get("started"),
              "latency_p50_ms": lg.get("latency_p50_ms"), "latency_p99_ms": lg.get("latency_p99_ms"),
              "concurrency": cfg.concurrency, "workers": len(workers),
              "accepted_per_worker": {str(p): per_pid[p] for p in workers},
              "accepted_by_other_processes": {str(p): per_pid[p] for p in pids if p not in workers},
              "listening_sockets": len(listening),
              "cpus_allowed_during_run": {str(p): cpus_allowed(p) for p in pids},
              "accept_calls": {str(p): accepted[p] for p in pids},
              "failed_accepts_per_worker": {str(p): failed[p] for p in workers},
              "failed_accepts_per_conn": round(sum(failed.values()) / sc.count, 3),
              "accepted_total": total,
              "accepted_max": max(counts) if counts else None,
              "accepted_min": min(counts) if counts else None,
              "spread_ratio": round(max(counts) / min(counts), 4) if counts and min(counts) else None,
              **tcp_per_conn,
              "loadgen": lg})
    if len(workers) != sc.workers:
        m["errors_total"] += 1
        m["errors"]["workers"] = f"{len(workers)} worker processes, expected {sc.workers}"
    if total != sc.count:  # every connection accepted once, and perf saw all of them
        m["errors_total"] += 1
        m["errors"]["accepted_total"] = f"{total} accepted, {sc.count} connections made"
    return m


# The measurement of each kind of scenario (Scenario.kind): the daemon's metrics of one run.
WORKLOADS = {"conn": run_conn, "refuse": run_conn, "wrk": run_wrk, "bulk": run_bulk, "hold": run_hold,
             "spread": run_spread}

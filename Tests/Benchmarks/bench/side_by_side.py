"""Side by side (`--side-by-side`): both daemons at once on the daemon's CPU, each with clients of its own on the
clients' core (tlsload or wrk, with half the connections each) and the same nginx, so that every round measures
both over the same seconds. The machine's drift between runs (other guests on the host, its clock) then drops out of
the ratio: on the development machine one build's CPU per handshake spread over 597–771 µs from one alternating run
to the next, while two copies of one build side by side gave round ratios of 0.995–1.008 (README, "Side by side").
What it changes: in the normal runs each daemon has its core to itself; here they take turns on it, and each finds
the caches as the other left them, alike for both. For comparing two builds of unwrapd (`--baseline-unwrapd
OTHER_BUILD`) as much as unwrapd with hitch."""

import concurrent.futures
import os
import time

from .formatting import fmt, ratio_label
from .machine import now_iso
from .processes import RunFailed, note
from .procfs import cpu_times
from .verdicts import sign_test_interval, stats
from .workloads import conn_argv, response_size_error, wrk_report

# The kinds of scenario measured side by side: new connections (tlsload), refused handshakes (tlsload
# --expect-refusal: a handshake a daemon completes is a client-side error) and keep-alive requests (wrk).
KINDS = ("conn", "refuse", "wrk")


def shared(connections):
    """Each daemon's part of the connections one client would make alone."""
    return max(1, connections // 2)


def run_rounds(bench, sc):
    """`cfg.runs` rounds of scenario `sc` (new connections, full or resumed handshakes, or keep-alive requests) with
    both daemons started once; records each round and returns the records."""
    cfg = bench.cfg
    ports = dict(zip(cfg.daemons, (cfg.frontend_port, cfg.frontend_port_b)))
    started = {}
    records = []
    try:
        for daemon in cfg.daemons:
            log_path = os.path.join(cfg.logs, f"{sc.name}-side-by-side-{daemon}.log")
            try:
                started[daemon] = bench.start_daemon(daemon, sc, log_path, port=ports[daemon])
            except RunFailed as failure:
                note(f"  [{sc.name}] {failure}: no rounds")
                return records
        with concurrent.futures.ThreadPoolExecutor(len(cfg.daemons)) as pool:
            for index in range(1, cfg.runs + 1):
                records.append(one_round(bench, sc, index, ports, started, pool))
    finally:
        for proc, _ in started.values():
            proc.stop()
    return records


def one_round(bench, sc, index, ports, started, pool):
    """Both daemons' clients at once, each measuring its own daemon's CPU time over the same seconds."""
    cfg = bench.cfg
    record = {"type": "side_by_side", "bench_id": cfg.bench_id, "scenario": sc.name, "round": index,
              "started": now_iso(), "metrics": {}, "problems": []}
    measure = measure_requests if sc.kind == "wrk" else measure_handshakes
    futures = {}
    for daemon in cfg.daemons:
        log_path = os.path.join(cfg.logs, f"{sc.name}-side-by-side-{daemon}.log.clients")
        futures[daemon] = pool.submit(measure, bench, sc, ports[daemon], started[daemon][1], log_path)
    for daemon in cfg.daemons:
        try:
            result = futures[daemon].result()
        except RunFailed as failure:
            record["problems"].append(f"{daemon}: {failure}")
            continue
        ops = result["ops"]
        record["metrics"][daemon] = {
            "ops": ops, "seconds": result["seconds"], "daemon_cpu_s": result["daemon_cpu_s"],
            "cpu_us_per_op": round(result["daemon_cpu_s"] * 1e6 / ops, 2) if ops else None,
            "kernel_cpu_us_per_op": (round(result["daemon_kernel_cpu_s"] * 1e6 / ops, 2)
                                     if ops and result["daemon_kernel_cpu_s"] is not None else None),
            "errors_total": result["errors_total"]}
        if not ops:
            record["problems"].append(f"{daemon}: no operation completed in the measured window")
        if result["errors_total"]:
            record["problems"].append(f"{daemon}: {result['errors_total']} client-side errors")
        if not started[daemon][0].alive():
            record["problems"].append(f"{daemon} exited during the round")
    record["valid"] = not record["problems"]
    bench.emit(record)
    m = record["metrics"]
    first, second = cfg.daemons
    cpu = {d: m.get(d, {}).get("cpu_us_per_op") for d in cfg.daemons}
    ratio = cpu[first] / cpu[second] if record["valid"] and cpu[second] else None
    note(f"  [{sc.name} round {index}/{cfg.runs}] cpu/op " + "  ".join(f"{d} {fmt(cpu[d])} µs" for d in cfg.daemons)
         + f"  {ratio_label(cfg.daemons)} {fmt(ratio)}"
         + (f"  PROBLEMS: {'; '.join(record['problems'])}" if record["problems"] else ""))
    return record


def measure_handshakes(bench, sc, port, pids, log_path):
    """New connections (full, resumed or refused handshakes): tlsload with half of `--concurrency` in flight, reading
    the daemon's CPU time over its measured window."""
    cfg = bench.cfg
    argv = conn_argv(bench, sc, port, pids, shared(cfg.concurrency))
    result = bench.tlsload_json(argv, cfg.warmup + cfg.duration + 60, log_path)
    return {"ops": result.get("ops", 0), "seconds": result.get("seconds"), "daemon_cpu_s": result["daemon_cpu_s"],
            "daemon_kernel_cpu_s": result.get("daemon_kernel_cpu_s"), "errors_total": result.get("errors_total", 0)}


def measure_requests(bench, sc, port, pids, log_path):
    """Keep-alive requests: wrk with half of `--wrk-connections`, the daemon's CPU time read around it. A response
    of another size than the backend's counts as an error."""
    cfg = bench.cfg
    (cpu0, kernel0), started = cpu_times(pids), time.monotonic()
    report = wrk_report(bench, port, shared(cfg.wrk_connections), int(round(cfg.duration)), log_path)
    (cpu1, kernel1), ended = cpu_times(pids), time.monotonic()
    errors = sum(report["errors"].values()) + (1 if response_size_error(cfg, report) else 0)
    return {"ops": report["requests"], "seconds": ended - started, "daemon_cpu_s": cpu1 - cpu0,
            "daemon_kernel_cpu_s": kernel1 - kernel0, "errors_total": errors}


def summarize_rounds(daemons, records):
    """Per daemon the CPU per operation over the valid rounds (median, min, max), and the rounds' ratios
    first/second of `daemons` with the sign test's interval for their median; None when no round is valid."""
    valid = [r for r in records if r["valid"]]
    if not valid:
        return None
    first, second = daemons
    summary = {d: stats([r["metrics"][d]["cpu_us_per_op"] for r in valid]) for d in daemons}
    ratios = stats([r["metrics"][first]["cpu_us_per_op"] / r["metrics"][second]["cpu_us_per_op"] for r in valid])
    ratios.update(zip(("low", "high", "coverage"), sign_test_interval(ratios["values"])))
    summary["ratio"] = ratios
    summary["invalid"] = len(records) - len(valid)
    return summary


def render_rounds(cfg, summaries):
    """The side-by-side table: one line per scenario."""
    lines = [f"side by side: both daemons at once on CPU {cfg.daemon_cpu}, {cfg.runs} rounds of {cfg.duration:g} s "
             f"each; to each daemon {shared(cfg.concurrency)} tlsload connections in flight (after "
             f"{cfg.warmup:g} s of warm-up) or {shared(cfg.wrk_connections)} of wrk's",
             f"{'scenario':14}" + "".join(f"{d + ' µs/op':>26}" for d in cfg.daemons)
             + f"{ratio_label(cfg.daemons):>8}   rounds (sign-test interval)"]
    for name, s in summaries.items():
        if s is None:
            lines.append(f"{name:14}no valid round")
            continue
        cells = [f"{fmt(s[d]['median'])} [{fmt(s[d]['min'])}–{fmt(s[d]['max'])}]" for d in cfg.daemons]
        r = s["ratio"]
        lines.append(f"{name:14}{cells[0]:>26}{cells[1]:>26}{r['median']:>8.3f}   {r['low']:.3f}–{r['high']:.3f} "
                     f"({r['coverage']:.0%}; {r['n']} valid, {s['invalid']} invalid)")
    return "\n".join(lines) + "\n"

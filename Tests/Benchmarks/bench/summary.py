"""One scenario's runs summarized: a row per metric with both daemons' medians, the ratio, the verdict, and the
targets the measurements show out of reach."""

import statistics

from .formatting import fmt, pct
from .scenarios import CPU_ROW, ROWS
from .verdicts import RATIO_TARGETS, judge, paired_ratios, stats, within_noise


PROFILE_SHOWN = ("kernel", "openssl", "libc", "own")  # "own" shown with libev (and "other", if any)


def profile_medians(profiles):
    """The median share of each part over the runs that have a profile; libev and "other" counted with "own"."""
    profiles = [p for p in profiles if p]
    if not profiles:
        return None
    merged = [dict(p, own=p["own"] + p["libev"] + p["other"]) for p in profiles]
    return {part: statistics.median(p[part] for p in merged) for part in PROFILE_SHOWN}


def clients_core_cap(row, daemons, clients, clients_h):
    """For a throughput row while the clients' core was saturated (≥ 95 % busy with unwrapd): the clients' core's CPU
    per operation against each of `daemons` (unwrapd, the other; busy share / rate) and the highest rate ratio that
    core could give unwrapd if it were 100 % busy at that cost: (unwrapd's rate / its busy share) / the other's rate.
    None otherwise."""
    first, second = (row[d] for d in daemons)
    if row["key"] not in ("rate", "rate_mb") or not (first and second) or None in (clients, clients_h) \
            or clients < 0.95 or not (first["median"] and second["median"]):
        return None
    u_rate, h_rate = first["median"], second["median"]
    u_us, h_us = clients / u_rate * 1e6, clients_h / h_rate * 1e6
    return {"unwrapd_us": u_us, "other_us": h_us, "cost_ratio": u_us / h_us, "ratio": u_rate / clients / h_rate}


def out_of_reach(summary, cfg):
    """Targets the measurements show out of reach, each with the measurement that shows it.

    - A throughput target while the clients' core was saturated: at what that core spent per operation against
      unwrapd, all of it would still have given less than the target (rate / busy share, over the other daemon's
      rate).
    - A p99 target while the clients' core was saturated and the daemon's was not: the latency is the clients'.
    - A CPU target that unwrapd would miss even if its own code and libev took no time at all (perf samples):
      (unwrapd's CPU − what ran in its own code and libev) / the other daemon's CPU.
    - The same bound caps the throughput when both daemons saturated their core.
    - Memory per idle connection below what OpenSSL alone keeps (sslfloor)."""
    rows = summary["rows"]
    by_key = {row["key"]: row for row in rows}
    d = summary["daemons"]
    first, second = cfg.daemons
    median = lambda st: st["median"] if st else None
    u_busy, h_busy = median(d[first]["daemon_busy"]), median(d[second]["daemon_busy"])
    clients = median(d[first]["client_core_busy"])
    clients_h = median(d[second]["client_core_busy"])
    cpu, own = by_key.get("cpu_us_per_op"), by_key.get("own_us_per_op")
    unit = cpu["metric"].split("µs/")[-1] if cpu else "operation"
    bound = None
    if cpu and own and cpu[first] and cpu[second] and own[first] and cpu[second]["median"]:
        bound = (cpu[first]["median"] - own[first]["median"]) / cpu[second]["median"]
    lines = []
    for row in rows:
        if row["met"] is not False:
            continue
        target = f"{row['metric'].strip()} {row['target']}"
        cap = clients_core_cap(row, cfg.daemons, clients, clients_h)
        if cap and cap["ratio"] < row["target_value"]:
            lines.append(f"{target}: the clients' core was saturated (CPU{cfg.client_cpu} {pct(clients)}) and spent "
                         f"{fmt(cap['unwrapd_us'])} µs per {unit} against unwrapd ({cap['cost_ratio']:.2f}× its "
                         f"{fmt(cap['other_us'])} against {second}): all of that core would give at most "
                         f"{cap['ratio']:.2f}×")
        elif row["key"] == "p99_ms" and None not in (clients, u_busy) and clients >= 0.95 and u_busy < 0.90:
            lines.append(f"{target}: the clients' core was saturated (CPU{cfg.client_cpu} {pct(clients)}), unwrapd was"
                         f" not ({pct(u_busy)}); the latency is the clients'")
        elif row["key"] in ("rate", "rate_mb") and bound and None not in (u_busy, h_busy) \
                and min(u_busy, h_busy) >= 0.95 and (u_busy / h_busy) / bound < row["target_value"]:
            lines.append(f"{target}: both daemons saturated their core, and with no own code unwrapd's CPU per "
                         f"operation would still be {bound:.2f}× {second}'s: at most {(u_busy / h_busy) / bound:.2f}×")
        elif row["key"] == "cpu_us_per_op" and bound and bound > row["target_value"]:
            lines.append(f"{target}: with no own code and libev at all, unwrapd's CPU would still be {bound:.2f}× "
                         f"{second}'s (perf: the rest ran in OpenSSL, libc and the kernel)")
        elif row["key"] == "kib_per_conn" and summary.get("openssl_floor"):
            floor = summary["openssl_floor"]["kib_per_connection"]
            if floor > row["target_value"]:
                lines.append(f"{target}: OpenSSL alone keeps {fmt(floor)} KiB per idle connection (sslfloor)")
    return lines


def row_target(cfg, target):
    """A row's target of issue #3 in this run: against a baseline build of unwrapd the targets on its values only
    (memory, connections held, the spread), for those on the ratio are unwrapd's against hitch."""
    return None if cfg.baseline_unwrapd and target and target[0] in RATIO_TARGETS else target


def summarize(bench):
    """One summary per scenario run (also emitted as a record): its rows, each daemon's runs, problems and profile."""
    cfg = bench.cfg
    first, second = cfg.daemons
    summaries = []
    for sc in cfg.scenarios:
        if sc.kind == "speed":
            continue
        per = {d: bench.runs.get((sc.name, d), []) for d in cfg.daemons}
        rows = []
        for label, key, better, target in ROWS[sc.kind]:
            if label == "cpu":
                label = CPU_ROW[sc.kind]
            target = row_target(cfg, target)
            s = {d: stats([r["metrics"].get(key) for r in per[d]]) for d in cfg.daemons}
            ratio = (s[first]["median"] / s[second]["median"]
                     if s[first] and s[second] and s[second]["median"] else None)
            target_text, met = judge(target, ratio, s[first], sc.hold or sc.count)
            pairs = paired_ratios(per[first], per[second], key)
            rows.append({"metric": label, "key": key, "better": better, first: s[first], second: s[second],
                         "ratio": ratio, "pairs": pairs, "target": target_text,
                         "target_value": target and target[1], "met": met,
                         "within_noise": within_noise(target, pairs)})
        extra = {}
        for d in cfg.daemons:
            extra[d] = {
                "runs": len(per[d]),
                "valid_runs": sum(1 for r in per[d] if r["valid"]),
                "errors_total": sum(r["metrics"].get("errors_total", 0) or 0 for r in per[d]),
                "problems": [p for r in per[d] for p in r["problems"]],
                "daemon_busy": stats([r["metrics"].get("daemon_busy") for r in per[d]]),
                "daemon_core_busy": stats([r["metrics"].get("cpu_daemon_core_busy") for r in per[d]]),
                "client_core_busy": stats([r["metrics"].get("cpu_client_core_busy") for r in per[d]]),
                "tls_s_client": bench.tls_checks.get((sc.name, d)),
                "negotiated": next((r["metrics"].get("negotiated") for r in per[d] if r["metrics"].get("negotiated")),
                                   None),
                "daemon_log_lines": sum(r.get("daemon_log_lines") or 0 for r in per[d]),
                "profile": profile_medians([r["metrics"].get("profile") for r in per[d]]),
            }
            if sc.kind == "spread":  # each run's count per worker, busiest first
                extra[d]["accepted_per_worker_runs"] = [
                    sorted(r["metrics"]["accepted_per_worker"].values(), reverse=True)
                    for r in per[d] if r["metrics"].get("accepted_per_worker")]
                extra[d]["listening_sockets"] = sorted({r["metrics"]["listening_sockets"] for r in per[d]
                                                        if r["metrics"].get("listening_sockets") is not None})
        ceiling = bench.ceilings.get(sc.name)
        floor = bench.floor if sc.kind == "hold" else None
        summary = {"type": "summary", "bench_id": cfg.bench_id, "scenario": sc.name, "title": sc.title,
                   "rows": rows, "daemons": extra, "ceiling": ceiling, "openssl_floor": floor,
                   "openssl_cpu_floor": bench.cpu_floors.get((sc.floor_mode, sc.cert)),
                   "openssl_cpu_floor_mode": sc.floor_mode,
                   "machine": cfg.machine,
                   "settings": {"runs": cfg.runs, "duration": cfg.duration, "warmup": cfg.warmup,
                                "concurrency": cfg.concurrency, "wrk_connections": cfg.wrk_connections,
                                "unwrapd_args": cfg.unwrapd_args}}
        if ceiling:
            primary = rows[0]
            summary["fraction_of_ceiling"] = {
                d: (primary[d]["median"] / ceiling if primary[d] else None) for d in cfg.daemons}
        bench.emit(summary)
        summaries.append(summary)
    return summaries

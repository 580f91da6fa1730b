"""The table (stdout, table.txt) and its copy in the READMEs."""

import os

from .formatting import fmt, pct, ratio_label
from .perf import PROFILE_HZ
from .processes import note
from .rig import HERE, REPO, cpus_text, daemon_cpus
from .summary import PROFILE_SHOWN, out_of_reach


def render(bench, summaries):
    """The whole table as text: header (machine, method, client offers, openssl speed), a block per scenario, notes."""
    cfg = bench.cfg
    first, second = cfg.daemons
    ratio_name = ratio_label(cfg.daemons)
    m = cfg.machine
    out = []
    out.append(f"unwrapd benchmark {cfg.bench_id} — {m['date']}")
    out.append(f"machine: {m['cores']} cores, {m['cpu_model']}"
               + (f" ({m['hypervisor']} guest)" if m.get("hypervisor") and m["hypervisor"] != "?" else "")
               + f", Linux {m['kernel']}, {m['openssl']}")
    out.append(f"daemons: {m[first]} vs {'baseline ' if cfg.baseline_unwrapd else ''}{m[second]}; "
               f"backend {m['nginx']}; clients tlsload, {m['wrk']}")
    spread = [sc for sc in cfg.scenarios if sc.kind == "spread"]
    workers = (f" ({spread[0].name}: {spread[0].workers} each, on {cpus_text(daemon_cpus(cfg, spread[0]))})"
               if spread else "")
    out.append(f"method: 1 worker each pinned to CPU {cfg.daemon_cpu}{workers}; clients and backend on CPU "
               f"{cfg.client_cpu}; "
               f"{cfg.runs} runs per daemon, alternating {first}/{second}, fresh daemon per run; "
               f"{cfg.duration:g} s measured after {cfg.warmup:g} s warm-up; median [min–max]"
               + (f"; everything at nice {cfg.nice}" if cfg.nice else "")
               + (f"; {'both builds' if cfg.baseline_unwrapd else 'unwrapd'} with {' '.join(cfg.unwrapd_args)}"
                  if cfg.unwrapd_args else ""))
    if bench.offers:
        for who, offer in bench.offers.items():
            out.append(f"client offers ({who}, from its ClientHello): {'/'.join(offer.get('versions', []))}, "
                       f"suites {','.join(s for s in offer.get('suites', []) if 'SCSV' not in s)}, "
                       f"groups {','.join(offer.get('groups', []))}, "
                       f"key share {','.join(offer.get('key_shares', [])) or '- (TLS 1.2 has none)'}")
    out.append("")
    if bench.speed:
        s = bench.speed
        out.append(f"openssl speed on CPU {cfg.daemon_cpu} (best of {len(s['x25519']['values'])}): "
                   f"ECDSA P-256 sign {fmt(s['ecdsap256_sign']['max'])}/s, RSA-2048 sign {fmt(s['rsa2048_sign']['max'])}/s, "
                   f"X25519 {fmt(s['x25519']['max'])}/s, AES-128-GCM {fmt(s['aes128gcm_16k']['max'])} MB/s (16 KiB)")
        out.append("")
    header = (f"{'scenario':<13} {'metric':<33} {first:>24} {second:>24} {ratio_name:>6} {'pairs':>11} "
              f"{'target':>11} {'met':>4}")
    out.append(header)
    out.append("-" * len(header))
    for summary in summaries:
        first_row = True
        for row in summary["rows"]:
            cell = lambda st: "-" if not st else f"{fmt(st['median'])} [{fmt(st['min'])}–{fmt(st['max'])}]"
            met = "" if row["met"] is None else ("yes" if row["met"] else "NO") + ("?" if row["within_noise"] else "")
            ratio = "-" if row["ratio"] is None else f"{row['ratio']:.2f}"
            pairs = "" if not row["pairs"] else f"{row['pairs']['low']:.2f}–{row['pairs']['high']:.2f}"
            out.append(f"{summary['scenario'] if first_row else '':<13} {row['metric']:<33} {cell(row[first]):>24} "
                       f"{cell(row[second]):>24} {ratio:>6} {pairs:>11} {row['target']:>11} {met:>4}")
            first_row = False
        d = summary["daemons"]
        busy = lambda x: pct(x["median"]) if x else "-"
        out.append(f"{'':<13} {'busy: daemon / CPU' + str(cfg.daemon_cpu) + ' / CPU' + str(cfg.client_cpu):<33} "
                   f"{busy(d[first]['daemon_busy']) + ' / ' + busy(d[first]['daemon_core_busy']) + ' / ' + busy(d[first]['client_core_busy']):>24} "
                   f"{busy(d[second]['daemon_busy']) + ' / ' + busy(d[second]['daemon_core_busy']) + ' / ' + busy(d[second]['client_core_busy']):>24}")
        if summary.get("openssl_floor"):
            out.append(f"{'':<13} {'OpenSSL-only floor, KiB/conn':<33} "
                       f"{fmt(summary['openssl_floor']['kib_per_connection']):>24}   (sslfloor: server SSL objects "
                       f"alone, released buffers)")
        cpu_floor = summary.get("openssl_cpu_floor")
        if cpu_floor is not None:
            by_key = {row["key"]: row for row in summary["rows"]}
            kernel, second_cpu = by_key["kernel_cpu_us_per_op"][first], by_key["cpu_us_per_op"][second]
            bound = (f"; {ratio_name} with no user-space work beyond it: "
                     f"≥{(cpu_floor + kernel['median']) / second_cpu['median']:.2f}"
                     if kernel and second_cpu and second_cpu["median"] else "")
            out.append(f"{'':<13} {'OpenSSL alone, server CPU µs/op':<33} {fmt(cpu_floor):>24}   (sslfloor --cpu "
                       f"{summary['openssl_cpu_floor_mode']}{bound})")
        shares = {daemon: d[daemon]["profile"] for daemon in cfg.daemons}
        if any(shares.values()):
            text = lambda p: "-" if not p else "/".join(f"{p[k] * 100:.0f}" for k in PROFILE_SHOWN) + " %"
            out.append(f"{'':<13} {'perf: kernel/OpenSSL/libc/ev+own':<33} {text(shares[first]):>24} "
                       f"{text(shares[second]):>24}")
        for line in out_of_reach(summary, cfg):
            out.append(f"{'':<13} out of reach here: {line}")
        if summary.get("fraction_of_ceiling"):
            f = summary["fraction_of_ceiling"]
            out.append(f"{'':<13} {'of OpenSSL-only ceiling ' + fmt(summary['ceiling']):<33} {pct(f[first]):>24} "
                       f"{pct(f[second]):>24}")
        errs = f"{d[first]['errors_total']} / {d[second]['errors_total']}"
        neg = d[first]["tls_s_client"] or {}
        negh = d[second]["tls_s_client"] or {}
        tls = (f"{neg.get('version')} {neg.get('cipher')} {neg.get('group')}"
               + ("" if (negh.get('version'), negh.get('cipher'), negh.get('group')) ==
                  (neg.get('version'), neg.get('cipher'), neg.get('group'))
                  else f" ({second}: {negh.get('version')} {negh.get('cipher')} {negh.get('group')})"))
        out.append(f"{'':<13} errors {ratio_name}: {errs}; invalid runs {ratio_name}: "
                   f"{d[first]['runs'] - d[first]['valid_runs']}/{d[second]['runs'] - d[second]['valid_runs']}"
                   f"; s_client: {tls}")
        for daemon in cfg.daemons:
            if "accepted_per_worker_runs" in d[daemon]:
                runs = "  ".join("+".join(str(n) for n in counts) for counts in d[daemon]["accepted_per_worker_runs"])
                sockets = "/".join(str(n) for n in d[daemon]["listening_sockets"]) or "?"
                out.append(f"{'':<13} {'accepted per worker (' + daemon + ')':<33} {runs}   ({sockets} listening "
                           f"socket{'' if sockets == '1' else 's'} on the port)")
        out.append("")
    notes = [
        f"{ratio_name}: ratio of the medians, {first}/{second}; met: the target of issue #3 ("
        + ("against a baseline build, those on unwrapd's own values only" if cfg.baseline_unwrapd
           else "ratios from the same run") + ").",
        f"pairs: the ratios of {first}'s run i to {second}'s run i (run one after the other), the sign test's interval",
        "for their median: with 5 pairs the lowest to the highest (94 %), with more the k-th lowest to the k-th",
        "highest for the largest k that keeps 94 % or more (10 pairs: the 2nd; 15: the 4th).",
        "? after met: the target lies inside that interval, so these runs do not decide it (run-to-run noise).",
        "busy: the daemon's CPU time over the window (100% = its core saturated) / all load on its core / all load",
        f"on the clients' core. Daemon below ~90% while CPU{cfg.client_cpu} is ~100%: the clients, not the daemon, "
        "limited the rate, and CPU per operation decides. CPU" + str(cfg.daemon_cpu) + " above the daemon's share: "
        "other load on its core.",
        "CPU time: utime+stime (+cutime+cstime) of all the daemon's processes from /proc/PID/stat over the window;",
        "of it in the kernel: stime+cstime. OpenSSL alone: the server side's CPU for the same operation with no daemon",
        "and no sockets (sslfloor --cpu, memory BIOs, on the daemon's CPU); beyond OpenSSL alone: the daemon's CPU minus",
        f"that, i.e. its own code and the kernel's socket work. ≥x: the lowest {ratio_name} unwrapd could reach if its user-space",
        f"work beyond OpenSSL were zero (OpenSSL alone + unwrapd's kernel time, over {second}'s CPU).",
        f"perf samples ({PROFILE_HZ} Hz, whole machine, each run): the daemon's CPU per operation split by where it ran:",
        "OpenSSL (libssl, libcrypto), libc and vDSO, the daemon's own binary with libev (unwrapd's includes its",
        "allocator for OpenSSL, which takes work off malloc); the perf line gives the shares, kernel first.",
        "out of reach here: a target these measurements rule out, and the measurement that does (see README).",
    ]
    if spread:
        notes.append(f"{spread[0].name}: -n {spread[0].workers} on {cpus_text(daemon_cpus(cfg, spread[0]))}; "
                     "accepted = successful accept4/accept calls of each worker process (perf stat, syscall exit "
                     f"tracepoints, ret >= 0), over exactly {spread[0].count} connections; busiest+least busy "
                     "worker per run.")
    out.extend(notes)
    return "\n".join(out) + "\n"


def update_readme(table, cfg):
    """Writes the table between the markers of the benchmark's README and of the project's README."""
    begin, end = "<!-- bench-table:begin -->", "<!-- bench-table:end -->"
    for path in (os.path.join(HERE, "README.md"), os.path.join(REPO, "README.md")):
        path = os.path.normpath(path)
        text = open(path).read()
        if begin not in text or end not in text:
            note(f"bench: {path} has no table markers; not updated")
            continue
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        with open(path, "w") as f:
            f.write(head + f"{begin}\n```\n{table}```\n{end}" + tail)
        note(f"bench: updated {path}")

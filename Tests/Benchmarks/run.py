#!/usr/bin/env python3
"""unwrapd's benchmark: unwrapd and hitch side by side, the method of issue #3 (see README.md beside this file).

Started by `make bench` (which installs the tools and builds unwrapd and tlsload first); arguments go through
`make bench BENCH_ARGS='...'`. Python standard library only. Every process it starts is recorded and stopped by
its PID on exit, on failure and on SIGINT/SIGTERM/SIGHUP; every wait is bounded; all traffic stays on 127.0.0.1.
This file reads the command line and runs the scenarios in order; the parts are in the package `bench/` beside it.
"""

import argparse
import atexit
import datetime
import os
import re
import resource
import shutil
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # run as root: no root-owned __pycache__ in the checkout

from bench import references
from bench.machine import first_line, machine_info
from bench.perf import perf_usable, profile_usable
from bench.processes import cleanup, install_cleanup, note, run
from bench.procfs import cpu_list
from bench.rig import (
    CLIENT_OPENSSL_CONF, REPO, daemon_binary, free_port, http_get_plain, make_certificates, make_documents,
    start_backend)
from bench.runner import Bench
from bench.scenarios import AS_OLDER_BUILDS_DO, BY_NAME, GROUP, SCENARIOS, SUITE13, Scenario
from bench.side_by_side import KINDS as SIDE_BY_SIDE_KINDS, render_rounds, run_rounds, summarize_rounds
from bench.summary import summarize
from bench.table import render, update_readme


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="unwrapd vs hitch, side by side (issue #3). See README.md.")
    p.add_argument("--unwrapd", required=True, help="the unwrapd release binary")
    p.add_argument("--unwrapd-arg", dest="unwrapd_args", action="append", default=[], metavar="ARG",
                   help="one more argument for unwrapd (and for the --baseline-unwrapd build), e.g. "
                        "--unwrapd-arg=--session-tickets=off (repeatable)")
    second = p.add_mutually_exclusive_group()
    second.add_argument("--hitch", default="/usr/sbin/hitch")
    second.add_argument("--baseline-unwrapd", metavar="PATH", default=None,
                        help="compare with this other unwrapd build instead of hitch, started exactly like --unwrapd "
                             "(--unwrapd-arg and the scenarios' own settings included); ratios unwrapd/baseline")
    p.add_argument("--tlsload", required=True, help="the load generator binary")
    p.add_argument("--sslfloor", default=None, help="the OpenSSL memory floor probe (loadgen/sslfloor/)")
    p.add_argument("--scenarios", default="all",
                   help="comma-separated: " + ",".join(s.name for s in SCENARIOS) + " (default all); also idle-N "
                        "for any N")
    p.add_argument("--runs", type=int, default=None, help="runs per daemon and scenario (default 5; quick 2)")
    p.add_argument("--duration", type=float, default=None, help="measured seconds per run (default 10; quick 3)")
    p.add_argument("--warmup", type=float, default=None, help="warm-up seconds per run (default 2; quick 1)")
    p.add_argument("--quick", action="store_true", help="development mode: 2 runs, 3 s, 1 s warm-up")
    p.add_argument("--concurrency", type=int, default=64, help="tlsload connections in flight (default 64)")
    p.add_argument("--wrk-connections", type=int, default=50)
    p.add_argument("--daemon-cpu", type=int, default=0)
    p.add_argument("--client-cpu", type=int, default=1)
    p.add_argument("--spread-cpus", default=None,
                   help="CPUs of the daemons in the spread scenario (taskset list; default: daemon and client CPU)")
    p.add_argument("--nice", type=int, default=0,
                   help="run daemons, backend and clients at this nice level (e.g. -10 on a busy shared machine)")
    p.add_argument("--out", default=None, help="results directory (default bench-results/<UTC time>)")
    p.add_argument("--update-readme", action="store_true",
                   help="write the table into Tests/Benchmarks/README.md (Performance section)")
    p.add_argument("--no-profile", dest="profile", action="store_false",
                   help="no perf samples during the runs (the rows of where the CPU went stay empty)")
    p.add_argument("--side-by-side", action="store_true",
                   help="both daemons at once, --runs rounds, for the handshake, refusal and keep-alive scenarios: CPU per "
                        "operation without the machine's drift between runs (README, \"Side by side\")")
    args = p.parse_args(argv)
    args.runs = args.runs or (2 if args.quick else 5)
    args.duration = args.duration or (3.0 if args.quick else 10.0)
    args.warmup = args.warmup if args.warmup is not None else (1.0 if args.quick else 2.0)
    args.speed_seconds = 1 if args.quick else 3
    # the two daemons compared, the ratios first over second
    args.daemons = ["unwrapd", "baseline" if args.baseline_unwrapd else "hitch"]
    if args.baseline_unwrapd and args.update_readme:
        p.error("--baseline-unwrapd has no table for the README's Performance section (unwrapd against hitch)")
    args.scenarios_requested = args.scenarios
    names = [s.name for s in SCENARIOS] if args.scenarios == "all" else args.scenarios.split(",")
    for name in names:  # idle-N for any N: how far one worker goes (with a higher open-files limit)
        m = re.fullmatch(r"idle-(\d+)", name)
        if m and name not in BY_NAME and int(m.group(1)) > 0:
            scenario = Scenario(name, f"memory per idle connection, N = {m.group(1)}", "hold", hold=int(m.group(1)))
            SCENARIOS.append(scenario)
            BY_NAME[name] = scenario
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        p.error(f"unknown scenario(s): {', '.join(unknown)}")
    args.scenarios = [s for s in SCENARIOS if s.name in names]
    if args.side_by_side:
        if args.scenarios_requested == "all":
            args.scenarios = [s for s in SCENARIOS if s.kind in SIDE_BY_SIDE_KINDS]
        others = [s.name for s in args.scenarios if s.kind not in SIDE_BY_SIDE_KINDS]
        if others:
            p.error(f"--side-by-side measures the handshake, refusal and keep-alive scenarios only, not "
                    f"{', '.join(others)}")
        if args.update_readme:
            p.error("--side-by-side has no table for the README's Performance section")
        args.profile = False
    return args


def second_daemon_refusal(cfg, version):
    """Why the second daemon cannot be compared as given, from the first line its `--version` printed; None if it can.
    An unwrapd build given as --hitch would get hitch's command line only (no --unwrapd-arg, no scenario's own
    settings such as --session-tickets=off): an unequal comparison that looks like an equal one."""
    is_unwrapd = version.startswith("unwrapd ")
    if cfg.baseline_unwrapd and not is_unwrapd:
        return f"--baseline-unwrapd {cfg.baseline_unwrapd} is not an unwrapd build (--version: {version})"
    if not cfg.baseline_unwrapd and is_unwrapd:
        return (f"--hitch {cfg.hitch} is an unwrapd build ({version}): compare two builds with --baseline-unwrapd "
                f"{cfg.hitch}, which starts it with unwrapd's arguments")
    return None


def baseline_left_out(cfg, help_text):
    """unwrapd's settings (--unwrapd-arg, the scenarios' own) the --baseline-unwrapd build is started without: those
    its --help does not name and that only restate what older builds did (AS_OLDER_BUILDS_DO). Raises SystemExit
    for another setting it does not know: without it the two builds would not be compared alike."""
    left_out = set()
    for arg in cfg.unwrapd_args + [a for sc in cfg.scenarios for a in sc.unwrapd_args]:
        option = arg.split("=", 1)[0]
        if not option.startswith("--") or re.search(re.escape(option) + r"(?![\w-])", help_text):
            continue
        if arg not in AS_OLDER_BUILDS_DO:
            raise SystemExit(f"bench: --baseline-unwrapd {cfg.baseline_unwrapd} does not know {option} (its --help "
                             f"does not name it): the two builds cannot be started alike")
        left_out.add(arg)
    return left_out


def main():
    cfg = parse_args()
    install_cleanup()
    if os.geteuid() != 0:
        raise SystemExit("bench: run as root (the daemons drop privileges to nobody, as in production)")
    ncpu = os.cpu_count() or 1
    if max(cfg.daemon_cpu, cfg.client_cpu) >= ncpu or cfg.daemon_cpu == cfg.client_cpu:
        raise SystemExit(f"bench: needs two distinct CPUs (daemon {cfg.daemon_cpu}, clients {cfg.client_cpu})")
    if cfg.spread_cpus is not None and (not cpu_list(cfg.spread_cpus) or max(cpu_list(cfg.spread_cpus)) >= ncpu):
        raise SystemExit(f"bench: --spread-cpus {cfg.spread_cpus}: not a list of this machine's CPUs")
    second_binary = daemon_binary(cfg, cfg.daemons[1])
    for tool in (cfg.unwrapd, second_binary, cfg.tlsload):
        if not os.access(tool, os.X_OK):
            raise SystemExit(f"bench: {tool} is not an executable")
    refusal = second_daemon_refusal(cfg, first_line([second_binary, "--version"]))
    if refusal:
        raise SystemExit(f"bench: {refusal}")
    cfg.baseline_left_out = set()
    if cfg.baseline_unwrapd:
        help_text = run([cfg.baseline_unwrapd, "--help"], timeout=10).stdout
        cfg.baseline_left_out = baseline_left_out(cfg, help_text)
        for arg in sorted(cfg.baseline_left_out):
            note(f"bench: the baseline build does not know {arg.split('=', 1)[0]}; started without {arg}, "
                 f"as it behaves anyway")
    for tool in ("openssl", "wrk", "nginx", "taskset"):
        if not shutil.which(tool):
            raise SystemExit(f"bench: {tool} not found (make bench installs it)")
    if any(sc.kind == "spread" for sc in cfg.scenarios):
        why = perf_usable()
        if why and cfg.scenarios_requested == "all":
            note(f"bench: skipping the spread scenario: {why}")
            cfg.scenarios = [sc for sc in cfg.scenarios if sc.kind != "spread"]
        elif why:
            raise SystemExit(f"bench: the spread scenario needs perf: {why}")

    if cfg.profile:
        why = profile_usable()
        if why:
            note(f"bench: no profile of where the CPU goes: {why}")
            cfg.profile = False

    # Both daemons get the same open-files limit (the hard one): 9000 idle connections need 18000 descriptors.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    started = time.monotonic()
    cfg.bench_id = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    cfg.out = os.path.abspath(cfg.out or os.path.join(REPO, "bench-results", cfg.bench_id))
    cfg.logs = os.path.join(cfg.out, "logs")
    os.makedirs(cfg.logs, exist_ok=True)
    os.chmod(cfg.out, 0o755)
    cfg.jsonl = os.path.join(cfg.out, "results.jsonl")
    cfg.machine = machine_info(cfg)
    note(f"bench: results in {cfg.out}")

    workdir = tempfile.mkdtemp(prefix="unwrapd-bench-")
    atexit.register(shutil.rmtree, workdir, True)
    os.chmod(workdir, 0o755)
    docroot = os.path.join(workdir, "docroot")
    os.makedirs(docroot)
    cfg.digests = make_documents(docroot)
    certs = os.path.join(cfg.out, "certs")
    os.makedirs(certs, exist_ok=True)
    cfg.pems = make_certificates(certs)
    cfg.client_openssl_conf = os.path.join(cfg.out, "client-openssl.cnf")
    with open(cfg.client_openssl_conf, "w") as f:
        f.write(CLIENT_OPENSSL_CONF.format(suite=SUITE13, group=GROUP))

    used = set()
    cfg.backend_port = free_port(used)
    cfg.frontend_port = free_port(used)
    cfg.frontend_port_b = free_port(used) if cfg.side_by_side else None  # the second daemon's, side by side
    note(f"bench: backend nginx on 127.0.0.1:{cfg.backend_port}, daemons on 127.0.0.1:{cfg.frontend_port}"
         + (f" and {cfg.frontend_port_b}" if cfg.side_by_side else ""))
    bench = Bench(cfg)
    bench.emit({"type": "machine", "bench_id": cfg.bench_id, "machine": cfg.machine,
                "scenarios": [s.name for s in cfg.scenarios],
                "settings": {"runs": cfg.runs, "duration": cfg.duration, "warmup": cfg.warmup, "quick": cfg.quick,
                             "concurrency": cfg.concurrency, "wrk_connections": cfg.wrk_connections,
                             "frontend_port": cfg.frontend_port, "backend_port": cfg.backend_port,
                             "unwrapd_args": cfg.unwrapd_args, "side_by_side": cfg.side_by_side,
                             "daemons": {d: daemon_binary(cfg, d) for d in cfg.daemons}}})

    backend = start_backend(cfg, cfg.backend_port, docroot, os.path.join(cfg.out, "nginx"))
    # wrk's requests are keep-alive ones: the same response with "Connection: keep-alive".
    cfg.response_size = len(http_get_plain(cfg.backend_port, "/100").replace(
        b"Connection: close\r\n", b"Connection: keep-alive\r\n"))
    references.check_offers(bench)

    if cfg.side_by_side:
        summaries = {}
        for sc in cfg.scenarios:
            note(f"bench: {sc.name}: {sc.title}, side by side")
            summaries[sc.name] = summarize_rounds(cfg.daemons, run_rounds(bench, sc))
        finish(cfg, render_rounds(cfg, summaries), started)
        backend.stop()
        return

    for sc in cfg.scenarios:
        note(f"bench: {sc.name}: {sc.title}")
        if sc.kind == "speed":
            references.run_speed(bench)
            continue
        if sc.kind == "hold":
            references.run_floor(bench)
        references.run_cpu_floor(bench, sc)
        order = 0
        for index in range(1, cfg.runs + 1):
            for daemon in cfg.daemons:  # A B A B ...
                order += 1
                if not backend.alive():
                    raise SystemExit("bench: the backend (nginx) died")
                bench.one_run(sc, daemon, index, order)

    summaries = summarize(bench)
    table = finish(cfg, render(bench, summaries), started)
    if cfg.update_readme:
        update_readme(table, cfg)
    backend.stop()


def finish(cfg, table, started):
    """Adds the total time to the table, writes it to table.txt beside the results, points `latest` at them and
    prints it; returns it."""
    elapsed = time.monotonic() - started
    table += f"total time {elapsed / 60:.1f} min; results {cfg.jsonl}\n"
    with open(os.path.join(cfg.out, "table.txt"), "w") as f:
        f.write(table)
    latest = os.path.join(os.path.dirname(cfg.out), "latest")
    try:
        if os.path.islink(latest):
            os.remove(latest)
        os.symlink(os.path.basename(cfg.out), latest)
    except OSError:
        pass
    sys.stdout.write(table)
    sys.stdout.flush()
    return table


if __name__ == "__main__":
    try:
        main()
    finally:
        cleanup()

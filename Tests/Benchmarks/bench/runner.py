"""One run of one scenario with one daemon: start it fresh and pinned, wait until it answers, measure, profile,
cross-check with the backend, record."""

import json
import os
import re
import subprocess
import time

from .formatting import fmt, pct
from .machine import now_iso
from .perf import Profiler
from .processes import Proc, RunFailed, niced, note, run, run_for_json
from .procfs import connections_closing, cpu_list, cpus_allowed
from .rig import backend_requests, daemon_argv, daemon_binary, daemon_cpus, port_is_free
from .scenarios import BY_NAME, CIPHER12, GROUP, GROUPS12, PROFILE_ROWS, ROWS, SUITE13
from .workloads import WORKLOADS

SETTLE_TIMEOUT = 10  # seconds a run's connections may take to close after the daemon stopped


class Bench:
    """One benchmark: its settings (`cfg`), the runs recorded so far and the references measured once; every
    record goes to the JSON-lines file as it is made."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.runs = {}  # (scenario, daemon) -> [run records]
        self.tls_checks = {}  # (scenario, daemon) -> s_client summary
        self.speed = None
        self.ceilings = {}  # scenario -> the zero-overhead rate from openssl speed (empty without the speed scenario)
        self.offers = {}
        self.floor = None
        self.cpu_floors = {}  # (sslfloor --cpu mode, certificate) -> µs per operation, or None when it failed

    # ---- helpers
    def client(self, argv):
        """`argv` to run on the clients' core (at the benchmark's nice level)."""
        return niced(self.cfg, ["taskset", "-c", str(self.cfg.client_cpu)] + argv)

    def tlsload_args(self, sc, port, pids=None):
        """tlsload's arguments for the scenario's TLS settings, and the daemon's PIDs, whose CPU time it reads."""
        args = [self.cfg.tlsload, "--port", str(port), "--tls", str(sc.tls), "--expect-cipher", sc.cipher,
                "--expect-group", GROUP]
        if sc.tls == 13:
            args += ["--suites", SUITE13, "--groups", GROUP]
        else:
            args += ["--ciphers", sc.cipher, "--groups", GROUPS12]
        if pids:
            args += ["--pids", ",".join(str(p) for p in pids)]
        return args

    def tlsload_json(self, argv, timeout, log_path):
        """Runs tlsload on the clients' core to its end (at most `timeout` seconds); the result it prints last."""
        return run_for_json("tlsload", self.client(argv), timeout, log_path)

    # ---- daemons
    def start_daemon(self, daemon, sc, log_path, port=None):
        """`daemon` started fresh and pinned, listening on `port` (default: the frontend's); returned with its PIDs
        once it answers a complete request."""
        cfg = self.cfg
        port = port or cfg.frontend_port
        if not port_is_free(port):
            raise RunFailed(f"port {port} is in use by another program")
        argv = niced(cfg, ["taskset", "-c", daemon_cpus(cfg, sc)] + daemon_argv(cfg, daemon, sc, port))
        log = open(log_path, "w")
        log.write("# " + " ".join(argv) + "\n")
        log.flush()
        proc = Proc(daemon, argv, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        # Ready when a complete TLS request succeeds (hitch has no readiness notification); bounded.
        probe = self.tlsload_args(BY_NAME["hs-ecdsa"], port) + [
            "--mode", "probe", "--probe-timeout", "1", "--conn-timeout", "1",
            "--expect-sha256", cfg.digests["/100"]]
        deadline = time.monotonic() + 10
        while True:
            if not proc.alive():
                raise RunFailed(f"{daemon} exited with status {proc.popen.returncode} at start (see {log_path})")
            if self.tlsload_json(probe, 10, log_path + ".tlsload").get("ok") and proc.alive():
                break
            if time.monotonic() > deadline:
                proc.stop()
                raise RunFailed(f"{daemon} did not become ready within 10 s (see {log_path})")
        pids = [proc.pid] + proc.descendants()
        deadline = time.monotonic() + 5
        while len(pids) < 1 + sc.workers and time.monotonic() < deadline:  # the workers
            time.sleep(0.05)
            pids = [proc.pid] + proc.descendants()
        return proc, pids

    def s_client_check(self, sc, port):
        """One openssl s_client handshake with the scenario's client settings; what was negotiated."""
        argv = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "localhost", "-brief"]
        if sc.tls == 13:
            argv += ["-tls1_3", "-ciphersuites", SUITE13, "-groups", GROUP]
        else:
            argv += ["-tls1_2", "-cipher", CIPHER12, "-groups", GROUPS12]
        result = run(self.client(argv), timeout=15, stdin=subprocess.DEVNULL)
        text = result.stdout + result.stderr
        found = {}
        for key, label in (("version", "Protocol version"), ("cipher", "Ciphersuite"),
                           ("key", "Server Temp Key"), ("signature", "Signature type")):
            m = re.search(label + r": (.*)", text)
            found[key] = m.group(1).strip() if m else None
        found["group"] = (found.get("key") or "").split(",")[0] or None
        return found

    # ---- one run of one scenario with one daemon
    def one_run(self, sc, daemon, index, order):
        cfg = self.cfg
        tag = f"{sc.name}-{index}-{daemon}"
        log_path = os.path.join(cfg.logs, tag + ".log")
        record = {"type": "run", "bench_id": cfg.bench_id, "scenario": sc.name, "daemon": daemon, "run": index,
                  "order": order, "started": now_iso(), "problems": []}
        proc = None
        backend_before = backend_requests(cfg.backend_port)
        try:
            proc, pids = self.start_daemon(daemon, sc, log_path)
            record["daemon_pids"] = pids
            record["cpus_allowed"] = {str(p): cpus_allowed(p) for p in pids}
            allowed = cpu_list(daemon_cpus(cfg, sc))
            if any(not cpu_list(v) or not cpu_list(v) <= allowed for v in record["cpus_allowed"].values()):
                record["problems"].append("daemon not pinned to CPU %s: %s" % (daemon_cpus(cfg, sc),
                                                                               record["cpus_allowed"]))
            if (sc.name, daemon) not in self.tls_checks:
                self.tls_checks[(sc.name, daemon)] = self.s_client_check(sc, cfg.frontend_port)
            profiler = (Profiler(cfg, pids, daemon_binary(cfg, daemon), log_path + ".perf.data")
                        if cfg.profile else None)
            try:
                metrics = WORKLOADS[sc.kind](self, sc, pids, log_path)
            finally:
                profile = profiler.stop() if profiler else None
            floor = self.cpu_floors.get((sc.floor_mode, sc.cert))
            cpu = metrics.get("cpu_us_per_op")
            if floor is not None and cpu is not None:
                metrics["beyond_openssl_us_per_op"] = round(cpu - floor, 2)
            if profile:
                metrics["profile"] = profile
                if cpu is not None:
                    for key, parts in PROFILE_ROWS.items():
                        metrics[key] = round(cpu * sum(profile[part] for part in parts), 2)
            record["metrics"] = metrics
            if sorted(pids) != sorted([proc.pid] + proc.descendants()) or not proc.alive():
                record["problems"].append("the daemon's processes changed during the run (a worker died?)")
        except RunFailed as failure:
            record["problems"].append(str(failure))
            record.setdefault("metrics", {})
        finally:
            if proc:
                proc.stop()
                record["daemon_exit"] = proc.popen.returncode
        record["settle_s"] = self.settle()
        if record["settle_s"] is None:
            note(f"  [{sc.name} {index}/{cfg.runs} {daemon:8}] connections on ports {cfg.frontend_port} and "
                 f"{cfg.backend_port} still open or closing {SETTLE_TIMEOUT} s after the daemon stopped; going on")
        # Cross-check with the backend: it must have served at least every request the clients counted as complete
        # (the readiness probe included; the difference is requests in flight when a client stopped).
        record["backend_requests"] = backend_requests(cfg.backend_port) - backend_before - 1
        counted = record["metrics"].get("client_requests")
        if counted is not None:
            record["client_requests"] = counted + 1
            if record["backend_requests"] < counted + 1:
                record["problems"].append(f"the backend served {record['backend_requests']} requests, fewer than "
                                          f"the {counted + 1} the clients counted")
        if sc.kind == "refuse" and counted is not None and record["backend_requests"] > counted + 1:
            record["problems"].append(f"the backend served {record['backend_requests']} requests, the readiness "
                                      "probe's and more, while the daemon refused every handshake")
        errors = record["metrics"].get("errors_total", 0)
        if errors:
            record["problems"].append(f"{errors} client-side errors")
        record["daemon_log_lines"] = count_log_lines(log_path)
        record["valid"] = not record["problems"]
        record["machine"] = cfg.machine
        self.emit(record)
        self.runs.setdefault((sc.name, daemon), []).append(record)
        m = record["metrics"]
        key = ROWS[sc.kind][0][1]
        cpu = m.get("cpu_us_per_op")
        note(f"  [{sc.name} {index}/{cfg.runs} {daemon:8}] {ROWS[sc.kind][0][0]} {fmt(m.get(key))}"
             f"  cpu/op {fmt(cpu)} µs  daemon busy {pct(m.get('daemon_busy'))}"
             f"  cpu{cfg.daemon_cpu} {pct(m.get('cpu_daemon_core_busy'))}"
             + (f"  PROBLEMS: {'; '.join(record['problems'])}" if record["problems"] else ""))

    def settle(self):
        """Waits until the connections of the run that just ended are closed on the frontend's and the backend's
        ports (TIME_WAIT aside), so that the next run does not start while the kernel still closes them. Returns
        the seconds it took, or None if some were still open or closing after SETTLE_TIMEOUT."""
        ports = (self.cfg.frontend_port, self.cfg.backend_port)
        started = time.monotonic()
        while connections_closing(ports):
            if time.monotonic() - started > SETTLE_TIMEOUT:
                return None
            time.sleep(0.01)
        return round(time.monotonic() - started, 3)

    def emit(self, record):
        with open(self.cfg.jsonl, "a") as f:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")


def count_log_lines(path):
    """Lines a daemon logged in a run (the benchmark's own `#` lines left out); None if there is no log."""
    try:
        with open(path) as f:
            return sum(1 for line in f if not line.startswith("#"))
    except OSError:
        return None

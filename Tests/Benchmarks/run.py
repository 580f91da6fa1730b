#!/usr/bin/env python3
"""unwrapd's benchmark: unwrapd and hitch side by side, the method of issue #3 (see README.md beside this file).

Started by `make bench` (which installs the tools and builds unwrapd and tlsload first); arguments go through
`make bench BENCH_ARGS='...'`. Python standard library only. Every process it starts is recorded and stopped by
its PID on exit, on failure and on SIGINT/SIGTERM/SIGHUP; every wait is bounded; all traffic stays on 127.0.0.1.
"""

import argparse
import atexit
import ctypes
import datetime
import hashlib
import json
import math
import os
import platform
import re
import resource
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))

# --------------------------------------------------------------------------------------------------------------
# Scenarios

SUITE13 = "TLS_AES_128_GCM_SHA256"
GROUP = "X25519"
# TLS 1.2 has no TLS_AES_128_GCM_SHA256: its equivalent (AES-128-GCM, SHA-256, ECDHE over X25519). An ECDSA P-256
# certificate in TLS 1.2 requires the client to list P-256 among its groups, so the client offers X25519 first and
# P-256 second; the key exchange is checked to be X25519.
CIPHER12 = "ECDHE-ECDSA-AES128-GCM-SHA256"
GROUPS12 = "X25519:P-256"


class Scenario:
    def __init__(self, name, title, kind, cert="ecdsa", tls=13, resume=False, hold=0, workers=1, count=0,
                 unwrapd_args=()):
        self.name, self.title, self.kind, self.cert, self.tls, self.resume, self.hold = (
            name, title, kind, cert, tls, resume, hold)
        self.workers, self.count = workers, count  # -n of both daemons; spread: connections made in all
        self.unwrapd_args = list(unwrapd_args)  # a setting of unwrapd's that hitch does not have

    @property
    def cipher(self):
        return SUITE13 if self.tls == 13 else CIPHER12

    @property
    def groups(self):
        return GROUP if self.tls == 13 else GROUPS12

    @property
    def floor_mode(self):
        """What OpenSSL alone does per operation of this scenario (`sslfloor --cpu MODE`), or None."""
        if self.resume:
            return "resume13" if self.tls == 13 else "resume12"
        return {"conn": "full", "hold": "full", "spread": "full", "wrk": "request", "bulk": "bulk"}.get(self.kind)


SCENARIOS = [
    Scenario("speed", "zero-overhead limit on the daemon's CPU (openssl speed)", "speed"),
    Scenario("hs-ecdsa", "full handshakes, new connection per request, ECDSA P-256", "conn", cert="ecdsa"),
    Scenario("hs-rsa", "full handshakes, new connection per request, RSA-2048", "conn", cert="rsa"),
    Scenario("resume-tls13", "resumed handshakes, TLS 1.3 tickets (psk_dhe_ke, X25519)", "conn", resume=True),
    Scenario("resume-tls13-stateful", "resumed handshakes, TLS 1.3, unwrapd with --session-tickets=off (stateful "
             "single-use tickets from its session cache; hitch has no such setting)", "conn", resume=True,
             unwrapd_args=["--session-tickets=off"]),
    Scenario("resume-tls12", "resumed handshakes, TLS 1.2 tickets (" + CIPHER12 + ")", "conn", tls=12, resume=True),
    Scenario("keepalive", "keep-alive small requests (wrk, 50 connections, 100-byte body)", "wrk"),
    Scenario("bulk", "bulk download, 64 MiB responses over one connection", "bulk"),
    Scenario("idle-2000", "memory per idle connection, N = 2000", "hold", hold=2000),
    Scenario("idle-9000", "memory per idle connection, N = 9000; new clients served meanwhile", "hold", hold=9000),
    Scenario("spread", "2 workers (-n 2): 10 000 new connections, how many each worker accepted", "spread",
             workers=2, count=10000),
]
BY_NAME = {s.name: s for s in SCENARIOS}
DAEMONS = ["unwrapd", "hitch"]

# Rows of the table: (label, metric key, better, target). Targets from issue #3, section 2.
#   ("ge", x): ratio unwrapd/hitch >= x;  ("le", x): ratio <= x;  ("abs_le", x): unwrapd's value <= x;
#   ("max_le", x): unwrapd's value <= x in every run;  ("all", None): unwrapd's value equals the requested count
#   in every run.
CPU_ROW = {"conn": "daemon CPU µs/handshake", "wrk": "daemon CPU µs/request", "bulk": "daemon CPU µs/MB",
           "hold": "daemon CPU µs/conn opened", "spread": "daemon CPU µs/connection"}
# Under every CPU row: the kernel's share of it (system time), and what is left after OpenSSL's own work for the
# same operation (sslfloor --cpu), i.e. the daemon's user-space work plus the kernel's.
# Then, from perf samples (Profiler), what ran in OpenSSL, in the C library, and in the daemon's own code with
# libev: each run's CPU per operation times that part's share of the daemon's samples.
PROFILE_ROWS = {"openssl_us_per_op": ("openssl",), "libc_us_per_op": ("libc",), "own_us_per_op": ("own", "libev")}
CPU_PARTS = [("  of it in the kernel (stime)", "kernel_cpu_us_per_op", "lower", None),
             ("  beyond OpenSSL alone", "beyond_openssl_us_per_op", "lower", None),
             ("  in OpenSSL (perf samples)", "openssl_us_per_op", "lower", None),
             ("  in libc and vDSO (perf samples)", "libc_us_per_op", "lower", None),
             ("  in its own code + libev (perf)", "own_us_per_op", "lower", None)]
ROWS = {
    "conn": [("handshakes/s", "rate", "higher", ("ge", 1.10)),
             ("cpu", "cpu_us_per_op", "lower", ("le", 0.90)),
             *CPU_PARTS,
             ("client (tlsload) CPU µs/handshake", "client_cpu_us_per_op", "lower", None),
             ("client-side latency p50 ms", "latency_p50_ms", "lower", None),
             ("TCP segments on loopback/connection", "tcp_segments_per_conn", "lower", None),
             ("TCP resets sent per connection", "tcp_resets_per_conn", "lower", None)],
    "wrk": [("requests/s", "rate", "higher", ("ge", 1.10)),
            ("latency p50 ms", "p50_ms", "lower", None),
            ("latency p99 ms", "p99_ms", "lower", ("le", 0.90)),
            ("cpu", "cpu_us_per_op", "lower", ("le", 0.90)),
            *CPU_PARTS,
            ("client (wrk) CPU µs/request", "client_cpu_us_per_op", "lower", None),
            ("daemon sleeps/request", "sleeps_per_op", "lower", None),
            ("TCP segments on loopback/request", "tcp_segments_per_op", "lower", None)],
    "bulk": [("MB/s (10^6 B/s)", "rate_mb", "higher", ("ge", 1.00)),
             ("cpu", "cpu_us_per_op", "lower", ("le", 0.90)),
             *CPU_PARTS,
             ("client (tlsload) CPU µs/MB", "client_cpu_us_per_op", "lower", None)],
    "hold": [("KiB per idle connection", "kib_per_conn", "lower", ("abs_le", 12.0)),
             ("cpu", "cpu_us_per_op", "lower", ("le", 0.90)),
             *CPU_PARTS,
             ("connections held", "open", "higher", ("all", None)),
             ("new client while holding, p50 ms", "probe_p50_ms", "lower", None),
             ("new client while holding, max ms", "probe_max_ms", "lower", None)],
    # issue #3: with -n 2, max/min of the connections accepted per worker <= 1.2 over 10 000 connections
    "spread": [("max/min accepted per worker", "spread_ratio", "lower", ("max_le", 1.20)),
               ("accepted by the busiest worker", "accepted_max", "lower", None),
               ("accepted by the least busy worker", "accepted_min", "higher", None),
               ("accepted, all workers", "accepted_total", "higher", ("all", None)),
               ("accept calls that failed, per conn.", "failed_accepts_per_conn", "lower", None),
               ("cpu", "cpu_us_per_op", "lower", ("le", 0.90)),
               *CPU_PARTS,
               ("handshakes/s (2 workers)", "rate", "higher", None),
               ("TCP segments on loopback/connection", "tcp_segments_per_conn", "lower", None),
               ("TCP resets sent per connection", "tcp_resets_per_conn", "lower", None)],
}

# --------------------------------------------------------------------------------------------------------------
# Processes: everything started is recorded here and stopped by PID.

STARTED = []  # [Proc]
LOG = sys.stderr


def note(text):
    print(text, file=LOG, flush=True)


def _die_with_parent():
    """In the child before exec: die when the benchmark dies (even by SIGKILL)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def proc_start_time(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


class Proc:
    """A started process, and the descendants it had when last looked at (stopped too, by PID)."""

    def __init__(self, name, argv, stdout=None, stderr=None, stdin=subprocess.DEVNULL, env=None):
        self.name = name
        self.argv = argv
        self.popen = subprocess.Popen(argv, stdout=stdout, stderr=stderr, stdin=stdin, env=env,
                                      preexec_fn=_die_with_parent, start_new_session=True)
        self.pid = self.popen.pid
        self.known = {}  # descendant pid -> start time
        STARTED.append(self)

    def descendants(self):
        found, stack = [], [self.pid]
        while stack:
            pid = stack.pop()
            try:
                tasks = os.listdir(f"/proc/{pid}/task")
            except OSError:
                continue
            for task in tasks:
                try:
                    with open(f"/proc/{pid}/task/{task}/children") as f:
                        kids = [int(k) for k in f.read().split()]
                except OSError:
                    kids = []
                for kid in kids:
                    if kid not in found:
                        found.append(kid)
                        stack.append(kid)
        for kid in found:
            self.known.setdefault(kid, proc_start_time(kid))
        return found

    def alive(self):
        return self.popen.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        if self.alive():
            self.descendants()
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                note(f"bench: {self.name} (pid {self.pid}) did not stop within {timeout:.0f} s: SIGKILL")
                os.kill(self.pid, signal.SIGKILL)
                self.popen.wait(5)
        # descendants that outlived it (same PID and same start time: not a reused PID)
        deadline = time.monotonic() + 5
        for pid, started in self.known.items():
            while started and proc_start_time(pid) == started and time.monotonic() < deadline:
                time.sleep(0.05)
            if started and proc_start_time(pid) == started:
                note(f"bench: {self.name}'s child {pid} outlived it: SIGKILL")
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if self in STARTED:
            STARTED.remove(self)


def cleanup():
    # A second Ctrl-C must not interrupt the cleanup.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    for proc in reversed(list(STARTED)):
        try:
            proc.stop(timeout=5)
        except Exception as error:  # keep stopping the others
            note(f"bench: stopping {proc.name}: {error}")


def on_signal(signum, frame):
    note(f"bench: {signal.Signals(signum).name}: stopping everything it started")
    raise SystemExit(128 + signum)


def niced(cfg, argv):
    """--nice: the same scheduling priority for everything the benchmark runs (daemons, backend, clients)."""
    return (["nice", "-n", str(cfg.nice)] + argv) if cfg.nice else argv


def run(argv, timeout, **kwargs):
    """A short command, bounded; returns CompletedProcess (text)."""
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, preexec_fn=_die_with_parent,
                          **kwargs)


# --------------------------------------------------------------------------------------------------------------
# /proc

def cpu_times(pids):
    """(all, kernel's share) of these processes' CPU time in seconds: utime+stime (+cutime+cstime: children
    already waited for), and stime+cstime."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = kernel = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                utime, stime, cutime, cstime = (int(x) for x in f.read().rsplit(")", 1)[1].split()[11:15])
            total += utime + stime + cutime + cstime
            kernel += stime + cstime
        except (OSError, IndexError, ValueError):
            pass
    return total / ticks, kernel / ticks


def cpu_busy():
    """Per-CPU (busy, total) jiffies from /proc/stat (busy includes steal)."""
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            m = re.match(r"cpu(\d+) (.*)", line)
            if m:
                v = [int(x) for x in m.group(2).split()]
                user, nice, system, idle, iowait, irq, softirq, steal = (v + [0] * 8)[:8]
                busy = user + nice + system + irq + softirq + steal
                out[int(m.group(1))] = (busy, busy + idle + iowait)
    return out


def busy_fractions(a, b):
    return [round((b[c][0] - a[c][0]) / max(1, b[c][1] - a[c][1]), 3) for c in sorted(b)]


def voluntary_switches(pids):
    """Times these processes' threads gave up the CPU to wait (voluntary context switches, /proc/PID/task/*/status):
    for an event loop, how often it found nothing to do and slept."""
    total = 0
    for pid in pids:
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for task in tasks:
            total += status_value(f"{pid}/task/{task}", "voluntary_ctxt_switches")
    return total


def tcp_counter(name):
    """One of the kernel's TCP counters in /proc/net/snmp, all sockets: OutSegs (segments sent; on loopback every
    segment is sent once and received once), OutRsts (resets sent)."""
    with open("/proc/net/snmp") as f:
        rows = [line.split() for line in f if line.startswith("Tcp:")]
    return int(rows[1][rows[0].index(name)])


def tcp_snapshot():
    """The TCP counters a connection scenario reports per connection, now: OutSegs, OutRsts."""
    return {name: tcp_counter(name) for name in ("OutSegs", "OutRsts")}


def tcp_per_connection(before, loadgen):
    """TCP segments and resets sent on the machine while tlsload ran, per connection it completed (warm-up
    included). Segments: on loopback every one is sent once and received once, by the daemon or its peers, so
    fewer means less kernel work on both sides. Resets: a daemon that closes before reading the client's
    close_notify gets about one, since the client's close_notify meets a closed socket and the kernel answers with
    a reset. None without connections."""
    connections = loadgen.get("ops_total") or 0
    if not connections:
        return {"tcp_segments_per_conn": None, "tcp_resets_per_conn": None}
    now = tcp_snapshot()
    return {"tcp_segments_per_conn": round((now["OutSegs"] - before["OutSegs"]) / connections, 2),
            "tcp_resets_per_conn": round((now["OutRsts"] - before["OutRsts"]) / connections, 3)}


def status_value(pid, key):
    """The number on the `key:` line of /proc/PID/status (kB for the memory lines); 0 if the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def pss_kib(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_list(text):
    """The CPUs of a list like "0", "0-1", "0,2-3" (Cpus_allowed_list, taskset -c); empty set if unreadable."""
    cpus = set()
    try:
        for part in text.split(","):
            first, _, last = part.partition("-")
            cpus.update(range(int(first), int(last or first) + 1))
    except ValueError:
        return set()
    return cpus


def daemon_binary(cfg, daemon):
    """The executable of `daemon` ("unwrapd" or "hitch")."""
    return cfg.unwrapd if daemon == "unwrapd" else cfg.hitch


def daemon_argv(cfg, daemon, sc):
    """The command line of `daemon` in scenario `sc`: the same for both, then unwrapd's own settings (--unwrapd-arg
    and the scenario's), then the certificate."""
    own = cfg.unwrapd_args + sc.unwrapd_args if daemon == "unwrapd" else []
    return ([daemon_binary(cfg, daemon), "-n", str(sc.workers),
             "-f", f"[127.0.0.1]:{cfg.frontend_port}", "-b", f"[127.0.0.1]:{cfg.backend_port}", "-u", "nobody"]
            + own + [cfg.pems[sc.cert]])


def daemon_cpus(cfg, sc):
    """Where the daemon may run: its CPU; in the spread scenario (-n 2) both CPUs, or --spread-cpus (README)."""
    if sc.kind == "spread":
        return cfg.spread_cpus or f"{cfg.daemon_cpu},{cfg.client_cpu}"
    return str(cfg.daemon_cpu)


def cpus_text(cpus):
    return ("CPU " if len(cpu_list(cpus)) == 1 else "CPUs ") + cpus


def listening_inodes(port):
    """Socket inodes of the TCP sockets listening on this port (/proc/net/tcp, tcp6)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                        inodes.add(fields[9])
        except (OSError, IndexError, ValueError, StopIteration):
            pass
    return inodes


def socket_inodes(pid):
    """Inodes of the sockets this process holds."""
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
    except OSError:
        pass
    return inodes


def cpus_allowed(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("Cpus_allowed_list:"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


# --------------------------------------------------------------------------------------------------------------
# Setup: ports, certificates, documents, backend


def free_port(used):
    """A TCP port on 127.0.0.1 nobody listens on, below the ephemeral range (other sessions use this machine)."""
    low, high = 20000, 32000
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            first = int(f.read().split()[0])
            high = min(high, first - 1)
    except (OSError, ValueError):
        pass
    start = low + (os.getpid() * 7919) % (high - low)
    for offset in range(high - low):
        port = low + (start - low + offset) % (high - low)
        if port in used:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        used.add(port)
        return port
    raise SystemExit("bench: no free port")


def port_is_free(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def make_certificates(directory):
    """Self-signed ECDSA P-256 and RSA-2048 certificates, key + certificate in one PEM (as both daemons take it)."""
    pems = {}
    for name, keyopts in (("ecdsa", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]),
                          ("rsa", ["-newkey", "rsa:2048"])):
        key, crt, pem = (os.path.join(directory, f"{name}.{ext}") for ext in ("key", "crt", "pem"))
        result = run(["openssl", "req", "-x509", *keyopts, "-nodes", "-days", "2", "-subj", "/CN=localhost",
                      "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", key, "-out", crt],
                     timeout=60)
        if result.returncode != 0:
            raise SystemExit(f"bench: openssl req ({name}): {result.stderr.strip()}")
        with open(pem, "w") as out:
            out.write(open(key).read() + open(crt).read())
        os.remove(key)
        os.chmod(pem, 0o600)
        pems[name] = pem
    return pems


def make_documents(directory):
    """The backend's files: /100 (100 bytes) and /64m (64 MiB of random bytes). Returns their SHA-256."""
    os.chmod(directory, 0o755)
    small = b"0123456789" * 10
    big_path = os.path.join(directory, "64m")
    digest = hashlib.sha256()
    with open(big_path, "wb") as f:
        for _ in range(64):
            chunk = os.urandom(1 << 20)
            digest.update(chunk)
            f.write(chunk)
    with open(os.path.join(directory, "100"), "wb") as f:
        f.write(small)
    for name in ("64m", "100"):
        os.chmod(os.path.join(directory, name), 0o644)
    return {"/100": hashlib.sha256(small).hexdigest(), "/64m": digest.hexdigest()}


NGINX_CONF = """# generated by Tests/Benchmarks/run.py
worker_processes 1;
worker_rlimit_nofile {nofile};
daemon off;
master_process on;
user nobody nogroup;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections {connections}; }}
http {{
    access_log off;
    sendfile on;
    keepalive_timeout 3600s;
    keepalive_requests 1000000000;
    server_tokens off;
    default_type application/octet-stream;
    client_body_temp_path {dir}/tmp-body;
    proxy_temp_path {dir}/tmp-proxy;
    fastcgi_temp_path {dir}/tmp-fastcgi;
    uwsgi_temp_path {dir}/tmp-uwsgi;
    scgi_temp_path {dir}/tmp-scgi;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        root {root};
        # requests served, read before and after each run: every request a client counted must be here
        location = /nginx-status {{ stub_status; }}
    }}
}}
"""


def http_get_plain(port, path, timeout=2.0):
    """One plain HTTP/1.1 request to the backend; returns the whole response (bytes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return data
            data += chunk


def backend_requests(port):
    """nginx's count of requests served so far (stub_status), this request included."""
    m = re.search(rb"\n\s*\d+\s+\d+\s+(\d+)", http_get_plain(port, "/nginx-status"))
    if not m:
        raise SystemExit("bench: cannot read nginx's stub_status")
    return int(m.group(1))


def start_backend(cfg, port, root, directory):
    os.makedirs(directory, exist_ok=True)
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    conf = os.path.join(directory, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(nofile=nofile, connections=max(1024, nofile - 100), dir=directory, port=port,
                                  root=root))
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    err = open(os.path.join(directory, "stderr.log"), "w")
    proc = Proc("nginx", niced(cfg, ["taskset", "-c", str(cfg.client_cpu), nginx, "-p", directory, "-c", conf,
                                     "-e", os.path.join(directory, "error.log")]), stdout=err, stderr=err)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not proc.alive():
            raise SystemExit(f"bench: nginx exited: see {directory}/error.log")
        try:
            if http_get_plain(port, "/100").endswith(b"0123456789"):
                return proc
        except OSError:
            pass
        time.sleep(0.05)
    raise SystemExit("bench: nginx did not answer within 10 s")


# --------------------------------------------------------------------------------------------------------------
# Tools: tlsload, s_client, wrk, the ClientHello check


class Bench:
    def __init__(self, cfg):
        self.cfg = cfg
        self.results = []
        self.runs = {}  # (scenario, daemon) -> [run records]
        self.tls_checks = {}  # (scenario, daemon) -> s_client summary
        self.speed = None
        self.offers = {}
        self.floor = None
        self.cpu_floors = {}  # (sslfloor --cpu mode, certificate) -> µs per operation, or None when it failed

    # ---- helpers
    def client(self, argv):
        return niced(self.cfg, ["taskset", "-c", str(self.cfg.client_cpu)] + argv)

    def tlsload_args(self, sc, port, pids=None):
        args = [self.cfg.tlsload, "--port", str(port), "--tls", str(sc.tls), "--expect-cipher", sc.cipher,
                "--expect-group", GROUP]
        if sc.tls == 13:
            args += ["--suites", SUITE13, "--groups", GROUP]
        else:
            args += ["--ciphers", CIPHER12, "--groups", GROUPS12]
        if pids:
            args += ["--pids", ",".join(str(p) for p in pids)]
        return args

    def tlsload_json(self, argv, timeout, stderr_path):
        with open(stderr_path, "a") as err:
            proc = Proc("tlsload", self.client(argv), stdout=subprocess.PIPE, stderr=err)
            try:
                out, _ = proc.popen.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.stop()
                raise RunFailed(f"tlsload did not finish within {timeout:.0f} s")
            proc.stop()
        lines = [l for l in out.decode().splitlines() if l.startswith("{")]
        if not lines:
            raise RunFailed(f"tlsload printed no result (exit {proc.popen.returncode}); see {stderr_path}")
        return json.loads(lines[-1])

    # ---- daemons
    def start_daemon(self, daemon, sc, log_path):
        cfg = self.cfg
        if not port_is_free(cfg.frontend_port):
            raise RunFailed(f"port {cfg.frontend_port} is in use by another program")
        argv = niced(cfg, ["taskset", "-c", daemon_cpus(cfg, sc)] + daemon_argv(cfg, daemon, sc))
        log = open(log_path, "w")
        log.write("# " + " ".join(argv) + "\n")
        log.flush()
        proc = Proc(daemon, argv, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        # Ready when a complete TLS request succeeds (hitch has no readiness notification); bounded.
        probe = self.tlsload_args(BY_NAME["hs-ecdsa"], cfg.frontend_port) + [
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
                if sc.kind == "conn":
                    metrics = self.run_conn(sc, pids, log_path)
                elif sc.kind == "wrk":
                    metrics = self.run_wrk(sc, pids, log_path)
                elif sc.kind == "bulk":
                    metrics = self.run_bulk(sc, pids, log_path)
                elif sc.kind == "spread":
                    metrics = self.run_spread(sc, pids, log_path)
                else:
                    metrics = self.run_hold(sc, pids, log_path)
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
        # Cross-check with the backend: it must have served at least every request the clients counted as complete
        # (the readiness probe included; the difference is requests in flight when a client stopped).
        record["backend_requests"] = backend_requests(cfg.backend_port) - backend_before - 1
        counted = record["metrics"].get("client_requests")
        if counted is not None:
            record["client_requests"] = counted + 1
            if record["backend_requests"] < counted + 1:
                record["problems"].append(f"the backend served {record['backend_requests']} requests, fewer than "
                                          f"the {counted + 1} the clients counted")
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
        note(f"  [{sc.name} {index}/{cfg.runs} {daemon:7}] {ROWS[sc.kind][0][0]} {fmt(m.get(key))}"
             f"  cpu/op {fmt(cpu)} µs  daemon busy {pct(m.get('daemon_busy'))}"
             f"  cpu{cfg.daemon_cpu} {pct(m.get('cpu_daemon_core_busy'))}"
             + (f"  PROBLEMS: {'; '.join(record['problems'])}" if record["problems"] else ""))

    def window_metrics(self, lg, ops, unit_scale=1.0):
        """Common metrics from a tlsload result: CPU per op, the daemon's busy share of its core."""
        secs = lg.get("seconds") or 0
        cpu = lg.get("daemon_cpu_s", 0)
        busy = lg.get("cpu_busy", [])
        m = {"seconds": secs, "daemon_cpu_s": cpu, "client_cpu_s": lg.get("client_cpu_s"),
             "daemon_busy": round(cpu / secs, 3) if secs else None,
             "cpu_busy": busy,
             "cpu_daemon_core_busy": busy[self.cfg.daemon_cpu] if len(busy) > self.cfg.daemon_cpu else None,
             "cpu_client_core_busy": busy[self.cfg.client_cpu] if len(busy) > self.cfg.client_cpu else None,
             "cpu_us_per_op": round(cpu * 1e6 / (ops * unit_scale), 2) if ops else None,
             "kernel_cpu_us_per_op": (round(lg["daemon_kernel_cpu_s"] * 1e6 / (ops * unit_scale), 2)
                                      if ops and lg.get("daemon_kernel_cpu_s") is not None else None),
             "client_cpu_us_per_op": (round(lg["client_cpu_s"] * 1e6 / (ops * unit_scale), 2)
                                      if ops and lg.get("client_cpu_s") is not None else None),
             "errors_total": lg.get("errors_total", 0), "errors": lg.get("errors", {}),
             "negotiated": {k: lg.get(k) for k in ("version", "cipher", "group")}}
        if not lg.get("daemon_cpu_ok", True):
            m["errors_total"] += 0
        return m

    def run_conn(self, sc, pids, log_path):
        cfg = self.cfg
        argv = self.tlsload_args(sc, cfg.frontend_port, pids) + [
            "--mode", "conn", "--concurrency", str(cfg.concurrency), "--duration", str(cfg.duration),
            "--warmup", str(cfg.warmup), "--expect-sha256", cfg.digests["/100"], "--path", "/100"]
        if sc.resume:
            argv.append("--resume")
        tcp0 = tcp_snapshot()
        lg = self.tlsload_json(argv, cfg.warmup + cfg.duration + 60, log_path + ".tlsload")
        m = self.window_metrics(lg, lg.get("ops", 0))
        m.update(tcp_per_connection(tcp0, lg))
        m.update({"rate": lg.get("rate"), "ops": lg.get("ops"), "client_requests": lg.get("ops_total"),
                  "latency_p50_ms": lg.get("latency_p50_ms"),
                  "latency_p99_ms": lg.get("latency_p99_ms"), "concurrency": cfg.concurrency,
                  "server_closed_without_close_notify": lg.get("server_closed_without_close_notify")})
        if sc.resume:
            m["full_in_window"] = lg.get("full_in_window", 0)
            if m["full_in_window"] > 0.01 * max(1, lg.get("ops", 0)):
                m["errors_total"] += m["full_in_window"]  # resumption did not work: not a valid run
        m["loadgen"] = lg
        return m

    def run_bulk(self, sc, pids, log_path):
        cfg = self.cfg
        argv = self.tlsload_args(sc, cfg.frontend_port, pids) + [
            "--mode", "bulk", "--path", "/64m", "--expect-sha256", cfg.digests["/64m"],
            "--duration", str(cfg.duration), "--warmup", str(cfg.warmup)]
        lg = self.tlsload_json(argv, cfg.warmup + cfg.duration + 120, log_path + ".tlsload")
        mb = (lg.get("bytes") or 0) / 1e6
        m = self.window_metrics(lg, mb)
        m.update({"rate_mb": round(lg.get("rate", 0) / 1e6, 1), "bytes": lg.get("bytes"),
                  "downloads": lg.get("downloads"), "client_requests": lg.get("ops_total"),
                  "download_mb_s_min": round(lg.get("download_rate_min", 0) / 1e6, 1),
                  "download_mb_s_max": round(lg.get("download_rate_max", 0) / 1e6, 1)})
        if not lg.get("downloads"):
            m["errors_total"] += 1
        m["loadgen"] = lg
        return m

    def run_wrk(self, sc, pids, log_path):
        cfg = self.cfg
        url = f"https://127.0.0.1:{cfg.frontend_port}/100"
        env = dict(os.environ, OPENSSL_CONF=cfg.client_openssl_conf)

        def wrk(seconds):
            argv = self.client(["wrk", "-t1", f"-c{cfg.wrk_connections}", f"-d{seconds}s", "--latency",
                                "--timeout", "5s", "-s", os.path.join(HERE, "wrk-report.lua"), url])
            with open(log_path + ".wrk", "a") as err:
                proc = Proc("wrk", argv, stdout=subprocess.PIPE, stderr=err, env=env)
                try:
                    out, _ = proc.popen.communicate(timeout=seconds + 30)
                except subprocess.TimeoutExpired:
                    proc.stop()
                    raise RunFailed("wrk did not finish")
                proc.stop()
            with open(log_path + ".wrk", "a") as f:
                f.write(out.decode())
            lines = [l for l in out.decode().splitlines() if l.startswith("{")]
            if not lines:
                raise RunFailed("wrk printed no report")
            return json.loads(lines[-1])

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
        m = self.window_metrics(lg, requests)
        per_response = report["bytes"] / requests if requests else 0
        if requests and abs(per_response - cfg.response_size) > 0.01 * cfg.response_size:
            m["errors_total"] += 1
            m["errors"]["response_size"] = f"{per_response:.1f} bytes per response, expected {cfg.response_size}"
        duration = report["duration_us"] / 1e6
        m.update({"rate": round(requests / duration, 1) if duration else None, "requests": requests,
                  "client_requests": warm["requests"] + requests,
                  "p50_ms": report["latency_p50_us"] / 1e3, "p99_ms": report["latency_p99_us"] / 1e3,
                  "latency_max_ms": report["latency_max_us"] / 1e3, "wrk": report,
                  "bytes_per_response": round(per_response, 1),
                  "sleeps_per_op": round((sleeps1 - sleeps0) / requests, 3) if requests else None,
                  "tcp_segments_per_op": round((segments1 - segments0) / requests, 3) if requests else None})
        return m

    def run_hold(self, sc, pids, log_path):
        cfg = self.cfg
        # Warm-up (one-time allocations of the TLS stack are not per-connection memory), then RSS at 0.
        warm = self.tlsload_args(sc, cfg.frontend_port) + [
            "--mode", "conn", "--concurrency", "16", "--duration", "1", "--warmup", "0",
            "--expect-sha256", cfg.digests["/100"]]
        warmed = self.tlsload_json(warm, 60, log_path + ".tlsload")
        time.sleep(0.5)
        rss0 = sum(status_value(p, "VmRSS") for p in pids)
        pss0 = sum(pss_kib(p) for p in pids)
        # One descriptor per held connection on the client side: beyond what one process may open, the connections
        # are held by several tlsload processes, started one after the other.
        per_process = max(1, resource.getrlimit(resource.RLIMIT_NOFILE)[1] - 100)
        counts = [min(per_process, sc.hold - i) for i in range(0, sc.hold, per_process)]
        err = open(log_path + ".tlsload", "a")
        holders, readies = [], []

        def ask(proc, command, timeout):
            proc.popen.stdin.write(command.encode() + b"\n")
            proc.popen.stdin.flush()
            return read_json_line(proc, timeout)

        try:
            for count in counts:
                argv = self.tlsload_args(sc, cfg.frontend_port, pids) + [
                    "--mode", "hold", "--hold", str(count), "--concurrency", "64", "--duration", "120",
                    "--expect-sha256", cfg.digests["/100"]]
                holders.append(Proc("tlsload-hold", self.client(argv), stdout=subprocess.PIPE, stderr=err,
                                    stdin=subprocess.PIPE))
                readies.append(read_json_line(holders[-1], 150))
            time.sleep(1.0)  # settle
            rss = sum(status_value(p, "VmRSS") for p in pids)
            pss = sum(pss_kib(p) for p in pids)
            rss_each = {str(p): status_value(p, "VmRSS") for p in pids}
            statuses = [ask(proc, "status", 30) for proc in holders]
            probe = ask(holders[0], "probe 20", 120)
            for proc in holders:
                proc.popen.stdin.write(b"quit\n")
                proc.popen.stdin.flush()
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
        m = self.window_metrics(ready, sc.hold)
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

    def run_spread(self, sc, pids, log_path):
        """-n 2: exactly sc.count new connections (one request each); how many each worker accepted, counted by
        perf from outside (the daemons' logs are not used)."""
        cfg = self.cfg
        # The workers: the processes (beside the main one) that hold a listening socket of the frontend port. hitch
        # also has a helper process without one; unwrapd's main process holds them all, hitch's closes its own.
        listening = listening_inodes(cfg.frontend_port)
        workers = [p for p in pids[1:] if socket_inodes(p) & listening]
        counters = []
        try:
            for pid in pids:  # the main process too: it should accept nothing, and this shows it
                counters.append(AcceptCounter(cfg, pid, f"{log_path}.perf-{pid}"))
            argv = self.tlsload_args(sc, cfg.frontend_port, pids) + [
                "--mode", "conn", "--count", str(sc.count), "--concurrency", str(cfg.concurrency),
                "--duration", str(SPREAD_BOUND_S), "--expect-sha256", cfg.digests["/100"], "--path", "/100"]
            tcp0 = tcp_snapshot()
            lg = self.tlsload_json(argv, SPREAD_BOUND_S + 60, log_path + ".tlsload")
            tcp_per_conn = tcp_per_connection(tcp0, lg)
        finally:
            accepted = {counter.pid: counter.stop() for counter in counters}
        if len(accepted) != len(pids) or any(v is None for v in accepted.values()):
            raise RunFailed(f"perf gave no accept count for every process (see {log_path}.perf-*)")
        per_pid = {pid: v["accept4"] + v["accept"] for pid, v in accepted.items()}
        failed = {pid: v["accept4_failed"] + v["accept_failed"] for pid, v in accepted.items()}
        counts = [per_pid[p] for p in workers]
        total = sum(per_pid.values())
        m = self.window_metrics(lg, lg.get("ops", 0))
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

    def run_floor(self):
        """OpenSSL's own memory per idle server connection (loadgen/sslfloor.c), once per benchmark."""
        cfg = self.cfg
        if self.floor is not None or not cfg.sslfloor:
            return
        result = run(self.client([cfg.sslfloor, cfg.pems["ecdsa"], "2000"]), timeout=120)
        lines = [l for l in result.stdout.splitlines() if l.startswith("{")]
        if result.returncode != 0 or not lines:
            note(f"bench: sslfloor failed: {result.stderr.strip()}")
            self.floor = {}
            return
        self.floor = json.loads(lines[-1])
        self.emit({"type": "openssl_floor", "bench_id": cfg.bench_id, "pem": "ecdsa", **self.floor,
                   "machine": cfg.machine})
        note(f"  [floor] OpenSSL alone: {self.floor['kib_per_connection']} KiB per idle server connection")

    def run_cpu_floor(self, sc):
        """OpenSSL's own server CPU per operation of the scenario (loadgen/sslfloor.c --cpu), on the daemon's CPU,
        once per mode and certificate."""
        cfg = self.cfg
        key = (sc.floor_mode, sc.cert)
        if key in self.cpu_floors or not cfg.sslfloor or not sc.floor_mode:
            return
        count = {"request": 20000, "bulk": 4000}.get(sc.floor_mode, 1000)
        argv = niced(cfg, ["taskset", "-c", str(cfg.daemon_cpu), cfg.sslfloor, "--cpu", sc.floor_mode,
                           cfg.pems[sc.cert], str(count)])
        result = run(argv, timeout=300)
        lines = [l for l in result.stdout.splitlines() if l.startswith("{")]
        if result.returncode != 0 or not lines:
            note(f"bench: sslfloor --cpu {sc.floor_mode} failed: {result.stderr.strip()}")
            self.cpu_floors[key] = None
            return
        floor = json.loads(lines[-1])
        self.cpu_floors[key] = floor["server_us_per_op"]
        self.emit({"type": "openssl_cpu_floor", "bench_id": cfg.bench_id, "pem": sc.cert, **floor,
                   "cpu": cfg.daemon_cpu, "machine": cfg.machine})
        note(f"  [floor] OpenSSL alone: {floor['server_us_per_op']} µs of server CPU per {floor['unit']} "
             f"({sc.floor_mode}, {sc.cert})")

    # ---- openssl speed
    def run_speed(self):
        cfg = self.cfg
        reps = 1 if cfg.quick else 3
        samples = {"ecdsap256_sign": [], "rsa2048_sign": [], "x25519": [], "aes128gcm_16k": []}
        for _ in range(reps):
            speed = niced(cfg, ["taskset", "-c", str(cfg.daemon_cpu), "openssl", "speed", "-seconds",
                                str(cfg.speed_seconds), "-mr"])
            out = run(speed + ["ecdsap256", "rsa2048", "ecdhx25519"], timeout=60 + 10 * cfg.speed_seconds).stdout
            out += run(speed + ["-aead", "-evp", "aes-128-gcm", "-bytes", "16384"],
                       timeout=60 + 10 * cfg.speed_seconds).stdout
            for line in out.splitlines():
                f = line.split(":")
                if line.startswith("+F2:") and f[2] == "2048":
                    samples["rsa2048_sign"].append(float(f[3]))
                elif line.startswith("+F4:") and f[2] == "256":
                    samples["ecdsap256_sign"].append(float(f[3]))
                elif line.startswith("+F5:") and f[2] == "253":
                    samples["x25519"].append(float(f[3]))
                elif line.startswith("+F:") and "AES-128-GCM" in line:
                    samples["aes128gcm_16k"].append(float(f[3]) / 1e6)
        speed = {k: {"max": max(v), "min": min(v), "values": v} if v else None for k, v in samples.items()}
        if any(v is None for v in speed.values()):
            raise SystemExit(f"bench: could not parse openssl speed's output: {samples}")
        self.speed = speed
        sign_e, sign_r, x = (speed[k]["max"] for k in ("ecdsap256_sign", "rsa2048_sign", "x25519"))
        # Server-side public-key work per handshake (one X25519 derive; the key generation, a fixed-base
        # multiplication that `openssl speed` does not time, is left out: the ceilings are upper bounds).
        self.ceilings = {
            "hs-ecdsa": 1 / (1 / sign_e + 1 / x),
            "hs-rsa": 1 / (1 / sign_r + 1 / x),
            "resume-tls13": x,
            "resume-tls13-stateful": x,
            "bulk": speed["aes128gcm_16k"]["max"],
        }
        record = {"type": "summary", "bench_id": cfg.bench_id, "scenario": "speed", "cpu": cfg.daemon_cpu,
                  "seconds_per_algorithm": cfg.speed_seconds, "repetitions": reps,
                  "units": {"ecdsap256_sign": "signs/s", "rsa2048_sign": "signs/s", "x25519": "derives/s",
                            "aes128gcm_16k": "MB/s (10^6 B/s, 16 KiB AEAD records, encrypt)"},
                  "results": speed, "ceilings": self.ceilings, "machine": cfg.machine}
        self.emit(record)
        note(f"  [speed] ECDSA P-256 sign {sign_e:.0f}/s, RSA-2048 sign {sign_r:.0f}/s, X25519 {x:.0f}/s, "
             f"AES-128-GCM {speed['aes128gcm_16k']['max']:.0f} MB/s")

    # ---- the ClientHello each client sends
    def check_offers(self):
        cfg = self.cfg
        wrk_argv = lambda port: self.client(["wrk", "-t1", "-c1", "-d1s", f"https://127.0.0.1:{port}/100"])
        env = dict(os.environ, OPENSSL_CONF=cfg.client_openssl_conf)
        self.offers["wrk"] = capture_client_hello(wrk_argv, env=env)
        for sc in (BY_NAME["hs-ecdsa"], BY_NAME["resume-tls12"]):
            argv = lambda port, sc=sc: self.client(self.tlsload_args(sc, port) + [
                "--mode", "probe", "--probe-timeout", "1"])
            self.offers[f"tlsload TLS 1.{sc.tls - 10}"] = capture_client_hello(argv)
        for who, offer in self.offers.items():
            note(f"  [offers] {who}: versions {offer.get('versions')}, suites {offer.get('suites')}, "
                 f"groups {offer.get('groups')}, key shares {offer.get('key_shares')}")
        self.emit({"type": "client_offers", "bench_id": cfg.bench_id, "offers": self.offers,
                   "machine": cfg.machine})

    def emit(self, record):
        self.results.append(record)
        with open(self.cfg.jsonl, "a") as f:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")


class RunFailed(Exception):
    pass


SPREAD_BOUND_S = 300  # spread: tlsload's bound for its N connections (about 10 s at this machine's rate)
# What perf counts per process, in this order: (name, tracepoint, filter). A failed call is mostly EAGAIN: a worker
# woken for a connection another worker took, or the end of an accept loop.
ACCEPT_COUNTERS = (("accept4", "syscalls:sys_exit_accept4", "ret >= 0"),
                   ("accept", "syscalls:sys_exit_accept", "ret >= 0"),
                   ("accept4_failed", "syscalls:sys_exit_accept4", "ret < 0"),
                   ("accept_failed", "syscalls:sys_exit_accept", "ret < 0"))


def accept_counter_args():
    args = []
    for _, event, condition in ACCEPT_COUNTERS:
        args += ["-e", event, "--filter", condition]
    return args


def perf_refusal(argv, what):
    """Why `perf ARGV -- true` fails (naming `what` it was to do), or None when it works."""
    if not shutil.which("perf"):
        return "perf not found (Debian: apt-get install linux-perf)"
    try:
        result = run(["perf"] + argv + ["--", "true"], timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"perf {argv[0]}: {error}"
    return None if result.returncode == 0 else f"perf {argv[0]} cannot {what}: {' '.join(result.stderr.split())}"


def perf_usable():
    """perf can count the accept tracepoints (the spread scenario needs it); why not, or None."""
    return perf_refusal(["stat", "-x", ",", "-o", os.devnull] + accept_counter_args(), "count accept calls")


def profile_usable():
    """perf can sample the whole machine (Profiler); why not, or None."""
    with tempfile.TemporaryDirectory(prefix="unwrapd-bench-perf-") as directory:
        return perf_refusal(["record", "-a", "-F", str(PROFILE_HZ), "-o", os.path.join(directory, "perf.data"),
                             "--quiet"], "sample the whole machine")


def perf_descriptors(pid):
    count = 0
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                count += os.readlink(f"/proc/{pid}/fd/{fd}") == "anon_inode:[perf_event]"
            except OSError:
                pass
    except OSError:
        pass
    return count


class AcceptCounter:
    """`perf stat` attached to one process: its accept4/accept calls (syscall exit tracepoints), successful
    (ret >= 0) and failed, counted in the kernel; read when perf is stopped (SIGINT makes it write its counts)."""

    def __init__(self, cfg, pid, out_path):
        self.pid, self.out_path = pid, out_path
        argv = ["perf", "stat", "-x", ",", "-o", out_path] + accept_counter_args() + ["-p", str(pid)]
        self.err = open(out_path + ".stderr", "w")
        self.proc = Proc(f"perf-{pid}", ["taskset", "-c", str(cfg.client_cpu)] + argv, stdout=subprocess.DEVNULL,
                         stderr=self.err)
        # Attached once it holds an event descriptor per event and thread of the process; bounded.
        try:
            threads = len(os.listdir(f"/proc/{pid}/task"))
        except OSError:
            raise RunFailed(f"process {pid} is gone")
        deadline = time.monotonic() + 5
        while perf_descriptors(self.proc.pid) < len(ACCEPT_COUNTERS) * threads:
            if not self.proc.alive() or time.monotonic() > deadline:
                raise RunFailed(f"perf did not attach to {pid} within 5 s (see {out_path}.stderr)")
            time.sleep(0.02)
        time.sleep(0.1)  # enabled right after opening; a missed accept shows in the total anyway

    def stop(self):
        """{counter name: count}, or None when perf wrote no counts."""
        self.proc.stop(sig=signal.SIGINT, timeout=10)
        self.err.close()
        values = []  # one line per counter, in the order given (the same event may come twice)
        try:
            with open(self.out_path) as f:
                for line in f:
                    fields = line.strip().split(",")
                    if len(fields) >= 3 and fields[2].startswith("syscalls:"):
                        values.append((fields[2], int(fields[0]) if fields[0].isdigit() else 0))  # "<not counted>"
        except OSError:
            return None
        if [event for event, _ in values] != [event for _, event, _ in ACCEPT_COUNTERS]:
            return None
        return {name: value for (name, _, _), (_, value) in zip(ACCEPT_COUNTERS, values)}


# Where each daemon's CPU time goes, by code: perf samples of the whole machine during a run (timer-based, as
# this KVM guest has no hardware counters), counted for the daemon's threads by the object they ran in.
PROFILE_HZ = 499
PROFILE_PARTS = ("kernel", "openssl", "libc", "libev", "own", "other")


def profile_part(dso, binary_name):
    """The part of a daemon a perf sample's object belongs to: kernel, OpenSSL, the C library (and the vDSO),
    libev, the daemon's own binary, or other."""
    name = os.path.basename(dso.strip())
    if name.startswith("[") and name != "[vdso]":
        return "kernel"  # [kernel.kallsyms], modules, [unknown]: the CPU was in the kernel
    if name.startswith(("libssl.so", "libcrypto.so")):
        return "openssl"
    if name == "[vdso]" or name.startswith(("libc.so", "ld-linux", "libm.so", "libpthread.so")):
        return "libc"
    if name.startswith("libev.so"):
        return "libev"
    return "own" if name == binary_name else "other"


class Profiler:
    """`perf record -a` at PROFILE_HZ during one run; `stop()` gives the share of the daemon's samples per part.
    Every run of both daemons is sampled the same way; perf itself runs on the clients' core."""

    def __init__(self, cfg, pids, binary, out_path):
        self.out_path, self.binary_name = out_path, os.path.basename(binary)
        self.tids = set()
        for pid in pids:
            try:
                self.tids.update(int(tid) for tid in os.listdir(f"/proc/{pid}/task"))
            except OSError:
                raise RunFailed(f"process {pid} is gone")
        self.err = open(out_path + ".stderr", "w")
        argv = ["perf", "record", "-a", "-F", str(PROFILE_HZ), "-o", out_path, "--quiet"]
        self.proc = Proc("perf-record", ["taskset", "-c", str(cfg.client_cpu)] + argv, stdout=subprocess.DEVNULL,
                         stderr=self.err)

    def stop(self):
        """{part: share of the daemon's samples}, with "samples": their number; None when perf recorded nothing."""
        self.proc.stop(sig=signal.SIGINT, timeout=20)
        self.err.close()
        try:
            report = run(["perf", "report", "-i", self.out_path, "--sort", "pid,dso", "-F", "sample,pid,dso",
                          "--stdio", "-q"], timeout=120)
        except (OSError, subprocess.TimeoutExpired):
            return None
        finally:
            for path in (self.out_path, self.out_path + ".old"):
                if os.path.exists(path):
                    os.remove(path)  # ~1 MB a run; the counts below are what the results keep
        counts = dict.fromkeys(PROFILE_PARTS, 0)
        for line in report.stdout.splitlines():
            m = re.match(r"\s*(\d+)\s+(-?\d+):\S*\s+(.+?)\s*$", line)
            if m and int(m.group(2)) in self.tids:
                counts[profile_part(m.group(3), self.binary_name)] += int(m.group(1))
        total = sum(counts.values())
        if not total:
            return None
        shares = {part: round(n / total, 4) for part, n in counts.items()}
        shares["samples"] = total
        return shares


def read_json_line(proc, timeout):
    deadline = time.monotonic() + timeout
    stream = proc.popen.stdout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([stream], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        line = stream.readline()
        if not line:
            raise RunFailed(f"{proc.name} ended early (exit {proc.popen.poll()})")
        line = line.decode().strip()
        if line.startswith("{"):
            return json.loads(line)
    raise RunFailed(f"{proc.name}: no answer within {timeout:.0f} s")


def count_log_lines(path):
    try:
        with open(path) as f:
            return sum(1 for line in f if not line.startswith("#"))
    except OSError:
        return None


# --------------------------------------------------------------------------------------------------------------
# The ClientHello check: a plain TCP listener reads what a client offers.

SUITE_NAMES = {0x1301: "TLS_AES_128_GCM_SHA256", 0x1302: "TLS_AES_256_GCM_SHA384",
               0x1303: "TLS_CHACHA20_POLY1305_SHA256", 0xC02B: "ECDHE-ECDSA-AES128-GCM-SHA256",
               0xC02F: "ECDHE-RSA-AES128-GCM-SHA256", 0x00FF: "TLS_EMPTY_RENEGOTIATION_INFO_SCSV"}
GROUP_NAMES = {0x001D: "X25519", 0x0017: "P-256", 0x0018: "P-384", 0x0019: "P-521", 0x001E: "X448"}
VERSION_NAMES = {0x0304: "TLSv1.3", 0x0303: "TLSv1.2", 0x0302: "TLSv1.1", 0x0301: "TLSv1.0"}


def parse_client_hello(data):
    def u16(b, i):
        return int.from_bytes(b[i:i + 2], "big")

    if len(data) < 9 or data[0] != 22 or data[5] != 1:
        return {"error": "no ClientHello received"}
    body = data[9:]
    i = 2 + 32
    i += 1 + body[i]  # session id
    n = u16(body, i)
    suites = [u16(body, i + 2 + k) for k in range(0, n, 2)]
    i += 2 + n
    i += 1 + body[i]  # compression
    end = i + 2 + u16(body, i)
    i += 2
    groups, versions, shares = [], [u16(body, 0)], []
    while i + 4 <= end:
        kind, length = u16(body, i), u16(body, i + 2)
        ext = body[i + 4:i + 4 + length]
        if kind == 10:
            groups = [u16(ext, 2 + k) for k in range(0, u16(ext, 0), 2)]
        elif kind == 43:
            versions = [u16(ext, 1 + k) for k in range(0, ext[0], 2)]
        elif kind == 51:
            j = 2
            while j + 4 <= len(ext):
                shares.append(u16(ext, j))
                j += 4 + u16(ext, j + 2)
        i += 4 + length
    name = lambda table, v: table.get(v, f"0x{v:04x}")
    return {"suites": [name(SUITE_NAMES, s) for s in suites], "groups": [name(GROUP_NAMES, g) for g in groups],
            "versions": [name(VERSION_NAMES, v) for v in versions],
            "key_shares": [name(GROUP_NAMES, g) for g in shares]}


def capture_client_hello(argv_for_port, env=None, timeout=5.0):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        server.settimeout(timeout)
        port = server.getsockname()[1]
        proc = Proc("client-hello-check", argv_for_port(port), stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL, env=env)
        data = b""
        deadline = time.monotonic() + timeout
        try:
            # wrk first tests the address with a plain connect and close: take connections until one says hello.
            while not data and time.monotonic() < deadline:
                conn, _ = server.accept()
                with conn:
                    conn.settimeout(timeout)
                    while len(data) < 5 or len(data) < 5 + int.from_bytes(data[3:5], "big"):
                        chunk = conn.recv(65536)
                        if not chunk:
                            break
                        data += chunk
        except OSError:
            pass
        finally:
            proc.stop(timeout=5)
    return parse_client_hello(data)


# --------------------------------------------------------------------------------------------------------------
# Machine and versions


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()


def first_line(argv, stream="stdout"):
    try:
        r = run(argv, timeout=10)
        text = (r.stdout if stream == "stdout" else r.stderr) or r.stdout or r.stderr
        return text.strip().splitlines()[0] if text.strip() else "?"
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def machine_info(cfg):
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    hypervisor = first_line(["sh", "-c", "lscpu | grep -i 'hypervisor vendor' | sed 's/.*: *//'"]) or None
    commit = first_line(["git", "-C", REPO, "rev-parse", "--short", "HEAD"])
    dirty = run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"], timeout=10).stdout.strip()
    libssl = lambda binary: first_line(["sh", "-c", f"ldd {binary} | grep -o 'libssl[^ ]* => [^ ]*'"])
    return {
        "date": now_iso(), "host": platform.node(), "cores": os.cpu_count(), "cpu_model": model,
        "hypervisor": hypervisor, "kernel": platform.release(),
        "openssl": first_line(["openssl", "version"]),
        "unwrapd": first_line([cfg.unwrapd, "--version"]) + f" (git {commit}{'+dirty' if dirty else ''})",
        "unwrapd_libssl": libssl(cfg.unwrapd), "hitch": first_line([cfg.hitch, "--version"]),
        "hitch_libssl": libssl(cfg.hitch),
        "nginx": first_line(["nginx", "-v"], "stderr").replace("nginx version: ", ""),
        "wrk": " ".join(first_line(["sh", "-c", "wrk -v 2>&1 | head -1"]).split()[:2]),
        "python": platform.python_version(),
        "open_files_limit": open_files_limit(), "daemon_cpu": cfg.daemon_cpu, "client_cpu": cfg.client_cpu,
    }


def open_files_limit():
    return list(resource.getrlimit(resource.RLIMIT_NOFILE))


# --------------------------------------------------------------------------------------------------------------
# Summary and table


def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, (int,)) or (isinstance(v, float) and abs(v) >= 1000):
        return f"{v:,.0f}".replace(",", " ")
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def pct(v):
    return "-" if v is None else f"{100 * v:.0f}%"


def stats(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values),
            "values": values}


def judge(target, ratio, u_stats, requested=None):
    if target is None:
        return "", None
    kind, value = target
    if kind == "ge":
        return f"≥{value:.2f}×", (ratio is not None and ratio >= value)
    if kind == "le":
        return f"≤{value:.2f}×", (ratio is not None and ratio <= value)
    if kind == "abs_le":
        return f"≤{value:g} (abs.)", (u_stats is not None and u_stats["median"] <= value)
    if kind == "max_le":
        return f"≤{value:g} each", (u_stats is not None and u_stats["max"] <= value)
    if kind == "all":
        return f"all {requested}", (u_stats is not None and u_stats["min"] == requested)
    return "", None


def paired_ratios(per, key):
    """unwrapd's run i over hitch's run i (the two ran one after the other) for every i both have a value for, with
    the sign test's interval for their median ("low", "high", "coverage")."""
    hitch = {r["run"]: r["metrics"].get(key) for r in per["hitch"]}
    pairs = stats([r["metrics"].get(key) / hitch[r["run"]] for r in per["unwrapd"]
                   if r["metrics"].get(key) is not None and hitch.get(r["run"])])
    if pairs:
        pairs.update(zip(("low", "high", "coverage"), sign_test_interval(pairs["values"])))
    return pairs


# The coverage the whole range of 5 pairs has (1 - 2^-4); more pairs keep at least this much.
SIGN_TEST_COVERAGE = 15 / 16


def sign_test_coverage(n, k):
    """How often the k-th lowest and k-th highest of n paired ratios enclose their true median: 1 - 2 P(B < k),
    with B ~ Binomial(n, 1/2) the number of ratios below the median."""
    return 1 - 2 * sum(math.comb(n, i) for i in range(k)) / 2 ** n


def sign_test_interval(values):
    """(low, high, coverage): the k-th lowest and k-th highest of `values`, with the largest k whose coverage is
    still SIGN_TEST_COVERAGE or more. Distribution-free. For 5 pairs that is [min, max] (94 %); for 10, the 2nd
    lowest to the 2nd highest (98 %); for 15, the 4th to the 12th (96 %): more runs narrow it instead of widening
    it. Fewer than 5 pairs get [min, max] with less coverage."""
    ordered, n, k = sorted(values), len(values), 1
    while k < n // 2 and sign_test_coverage(n, k + 1) >= SIGN_TEST_COVERAGE:
        k += 1
    return ordered[k - 1], ordered[n - k], sign_test_coverage(n, k)


def within_noise(target, pairs):
    """True when a ratio target lies inside the sign test's interval of the paired ratios: the runs do not decide
    it."""
    if target is None or target[0] not in ("ge", "le") or not pairs or pairs["n"] < 2:
        return None
    return pairs["low"] < target[1] < pairs["high"]


PROFILE_SHOWN = ("kernel", "openssl", "libc", "own")  # "own" shown with libev (and "other", if any)


def profile_medians(profiles):
    """The median share of each part over the runs that have a profile; libev and "other" counted with "own"."""
    profiles = [p for p in profiles if p]
    if not profiles:
        return None
    merged = [dict(p, own=p["own"] + p["libev"] + p["other"]) for p in profiles]
    return {part: statistics.median(p[part] for p in merged) for part in PROFILE_SHOWN}


def clients_core_cap(row, clients, clients_h):
    """For a throughput row while the clients' core was saturated (≥ 95 % busy with unwrapd): the clients' core's CPU
    per operation against each daemon (busy share / rate) and the highest rate ratio that core could give unwrapd if
    it were 100 % busy at that cost: (unwrapd's rate / its busy share) / hitch's rate. None otherwise."""
    if row["key"] not in ("rate", "rate_mb") or not (row["unwrapd"] and row["hitch"]) or None in (clients, clients_h) \
            or clients < 0.95 or not (row["unwrapd"]["median"] and row["hitch"]["median"]):
        return None
    u_rate, h_rate = row["unwrapd"]["median"], row["hitch"]["median"]
    u_us, h_us = clients / u_rate * 1e6, clients_h / h_rate * 1e6
    return {"unwrapd_us": u_us, "hitch_us": h_us, "cost_ratio": u_us / h_us, "ratio": u_rate / clients / h_rate}


def out_of_reach(summary, cfg):
    """Targets the measurements show out of reach, each with the measurement that shows it.

    - A throughput target while the clients' core was saturated: at what that core spent per operation against
      unwrapd, all of it would still have given less than the target (rate / busy share, over hitch's rate).
    - A p99 target while the clients' core was saturated and the daemon's was not: the latency is the clients'.
    - A CPU target that unwrapd would miss even if its own code and libev took no time at all (perf samples):
      (unwrapd's CPU − what ran in its own code and libev) / hitch's CPU.
    - The same bound caps the throughput when both daemons saturated their core.
    - Memory per idle connection below what OpenSSL alone keeps (sslfloor)."""
    rows = summary["rows"]
    by_key = {row["key"]: row for row in rows}
    d = summary["daemons"]
    median = lambda st: st["median"] if st else None
    u_busy, h_busy = median(d["unwrapd"]["daemon_busy"]), median(d["hitch"]["daemon_busy"])
    clients = median(d["unwrapd"]["client_core_busy"])
    clients_h = median(d["hitch"]["client_core_busy"])
    cpu, own = by_key.get("cpu_us_per_op"), by_key.get("own_us_per_op")
    unit = cpu["metric"].split("µs/")[-1] if cpu else "operation"
    bound = None
    if cpu and own and cpu["unwrapd"] and cpu["hitch"] and own["unwrapd"] and cpu["hitch"]["median"]:
        bound = (cpu["unwrapd"]["median"] - own["unwrapd"]["median"]) / cpu["hitch"]["median"]
    lines = []
    for row in rows:
        if row["met"] is not False:
            continue
        target = f"{row['metric'].strip()} {row['target']}"
        cap = clients_core_cap(row, clients, clients_h)
        if cap and cap["ratio"] < row["target_value"]:
            lines.append(f"{target}: the clients' core was saturated (CPU{cfg.client_cpu} {pct(clients)}) and spent "
                         f"{fmt(cap['unwrapd_us'])} µs per {unit} against unwrapd ({cap['cost_ratio']:.2f}× its "
                         f"{fmt(cap['hitch_us'])} against hitch): all of that core would give at most "
                         f"{cap['ratio']:.2f}×")
        elif row["key"] == "p99_ms" and None not in (clients, u_busy) and clients >= 0.95 and u_busy < 0.90:
            lines.append(f"{target}: the clients' core was saturated (CPU{cfg.client_cpu} {pct(clients)}), unwrapd was"
                         f" not ({pct(u_busy)}); the latency is the clients'")
        elif row["key"] in ("rate", "rate_mb") and bound and None not in (u_busy, h_busy) \
                and min(u_busy, h_busy) >= 0.95 and (u_busy / h_busy) / bound < row["target_value"]:
            lines.append(f"{target}: both daemons saturated their core, and with no own code unwrapd's CPU per "
                         f"operation would still be {bound:.2f}× hitch's: at most {(u_busy / h_busy) / bound:.2f}×")
        elif row["key"] == "cpu_us_per_op" and bound and bound > row["target_value"]:
            lines.append(f"{target}: with no own code and libev at all, unwrapd's CPU would still be {bound:.2f}× "
                         f"hitch's (perf: the rest ran in OpenSSL, libc and the kernel)")
        elif row["key"] == "kib_per_conn" and summary.get("openssl_floor"):
            floor = summary["openssl_floor"]["kib_per_connection"]
            if floor > row["target_value"]:
                lines.append(f"{target}: OpenSSL alone keeps {fmt(floor)} KiB per idle connection (sslfloor)")
    return lines


def summarize(bench):
    cfg = bench.cfg
    summaries = []
    for sc in cfg.scenarios:
        if sc.kind == "speed":
            continue
        per = {d: bench.runs.get((sc.name, d), []) for d in DAEMONS}
        rows = []
        for label, key, better, target in ROWS[sc.kind]:
            if label == "cpu":
                label = CPU_ROW[sc.kind]
            s = {d: stats([r["metrics"].get(key) for r in per[d]]) for d in DAEMONS}
            ratio = (s["unwrapd"]["median"] / s["hitch"]["median"]
                     if s["unwrapd"] and s["hitch"] and s["hitch"]["median"] else None)
            target_text, met = judge(target, ratio, s["unwrapd"], sc.hold or sc.count)
            pairs = paired_ratios(per, key)
            rows.append({"metric": label, "key": key, "better": better, "unwrapd": s["unwrapd"], "hitch": s["hitch"],
                         "ratio": ratio, "pairs": pairs, "target": target_text,
                         "target_value": target and target[1], "met": met,
                         "within_noise": within_noise(target, pairs)})
        extra = {}
        for d in DAEMONS:
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
        ceiling = getattr(bench, "ceilings", {}).get(sc.name)
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
                d: (primary[d]["median"] / ceiling if primary[d] else None) for d in DAEMONS}
        bench.emit(summary)
        summaries.append(summary)
    return summaries


def render(bench, summaries):
    cfg = bench.cfg
    m = cfg.machine
    out = []
    out.append(f"unwrapd benchmark {cfg.bench_id} — {m['date']}")
    out.append(f"machine: {m['cores']} cores, {m['cpu_model']}"
               + (f" ({m['hypervisor']} guest)" if m.get("hypervisor") and m["hypervisor"] != "?" else "")
               + f", Linux {m['kernel']}, {m['openssl']}")
    out.append(f"daemons: {m['unwrapd']} vs {m['hitch']}; backend {m['nginx']}; clients tlsload, {m['wrk']}")
    spread = [sc for sc in cfg.scenarios if sc.kind == "spread"]
    workers = (f" ({spread[0].name}: {spread[0].workers} each, on {cpus_text(daemon_cpus(cfg, spread[0]))})"
               if spread else "")
    out.append(f"method: 1 worker each pinned to CPU {cfg.daemon_cpu}{workers}; clients and backend on CPU "
               f"{cfg.client_cpu}; "
               f"{cfg.runs} runs per daemon, alternating unwrapd/hitch, fresh daemon per run; "
               f"{cfg.duration:g} s measured after {cfg.warmup:g} s warm-up; median [min–max]"
               + (f"; everything at nice {cfg.nice}" if cfg.nice else "")
               + (f"; unwrapd with {' '.join(cfg.unwrapd_args)}" if cfg.unwrapd_args else ""))
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
    header = (f"{'scenario':<13} {'metric':<33} {'unwrapd':>24} {'hitch':>24} {'u/h':>6} {'pairs':>11} "
              f"{'target':>11} {'met':>4}")
    out.append(header)
    out.append("-" * len(header))
    for summary in summaries:
        first = True
        for row in summary["rows"]:
            cell = lambda st: "-" if not st else f"{fmt(st['median'])} [{fmt(st['min'])}–{fmt(st['max'])}]"
            met = "" if row["met"] is None else ("yes" if row["met"] else "NO") + ("?" if row["within_noise"] else "")
            ratio = "-" if row["ratio"] is None else f"{row['ratio']:.2f}"
            pairs = "" if not row["pairs"] else f"{row['pairs']['low']:.2f}–{row['pairs']['high']:.2f}"
            out.append(f"{summary['scenario'] if first else '':<13} {row['metric']:<33} {cell(row['unwrapd']):>24} "
                       f"{cell(row['hitch']):>24} {ratio:>6} {pairs:>11} {row['target']:>11} {met:>4}")
            first = False
        d = summary["daemons"]
        busy = lambda x: pct(x["median"]) if x else "-"
        out.append(f"{'':<13} {'busy: daemon / CPU' + str(cfg.daemon_cpu) + ' / CPU' + str(cfg.client_cpu):<33} "
                   f"{busy(d['unwrapd']['daemon_busy']) + ' / ' + busy(d['unwrapd']['daemon_core_busy']) + ' / ' + busy(d['unwrapd']['client_core_busy']):>24} "
                   f"{busy(d['hitch']['daemon_busy']) + ' / ' + busy(d['hitch']['daemon_core_busy']) + ' / ' + busy(d['hitch']['client_core_busy']):>24}")
        if summary.get("openssl_floor"):
            out.append(f"{'':<13} {'OpenSSL-only floor, KiB/conn':<33} "
                       f"{fmt(summary['openssl_floor']['kib_per_connection']):>24}   (sslfloor: server SSL objects "
                       f"alone, released buffers)")
        cpu_floor = summary.get("openssl_cpu_floor")
        if cpu_floor is not None:
            by_key = {row["key"]: row for row in summary["rows"]}
            kernel, hitch_cpu = by_key["kernel_cpu_us_per_op"]["unwrapd"], by_key["cpu_us_per_op"]["hitch"]
            bound = (f"; u/h with no user-space work beyond it: ≥{(cpu_floor + kernel['median']) / hitch_cpu['median']:.2f}"
                     if kernel and hitch_cpu and hitch_cpu["median"] else "")
            out.append(f"{'':<13} {'OpenSSL alone, server CPU µs/op':<33} {fmt(cpu_floor):>24}   (sslfloor --cpu "
                       f"{summary['openssl_cpu_floor_mode']}{bound})")
        shares = {daemon: d[daemon]["profile"] for daemon in DAEMONS}
        if any(shares.values()):
            text = lambda p: "-" if not p else "/".join(f"{p[k] * 100:.0f}" for k in PROFILE_SHOWN) + " %"
            out.append(f"{'':<13} {'perf: kernel/OpenSSL/libc/ev+own':<33} {text(shares['unwrapd']):>24} "
                       f"{text(shares['hitch']):>24}")
        for line in out_of_reach(summary, cfg):
            out.append(f"{'':<13} out of reach here: {line}")
        if summary.get("fraction_of_ceiling"):
            f = summary["fraction_of_ceiling"]
            out.append(f"{'':<13} {'of OpenSSL-only ceiling ' + fmt(summary['ceiling']):<33} {pct(f['unwrapd']):>24} "
                       f"{pct(f['hitch']):>24}")
        errs = f"{d['unwrapd']['errors_total']} / {d['hitch']['errors_total']}"
        neg = d["unwrapd"]["tls_s_client"] or {}
        negh = d["hitch"]["tls_s_client"] or {}
        tls = (f"{neg.get('version')} {neg.get('cipher')} {neg.get('group')}"
               + ("" if (negh.get('version'), negh.get('cipher'), negh.get('group')) ==
                  (neg.get('version'), neg.get('cipher'), neg.get('group'))
                  else f" (hitch: {negh.get('version')} {negh.get('cipher')} {negh.get('group')})"))
        out.append(f"{'':<13} errors u/h: {errs}; invalid runs u/h: "
                   f"{d['unwrapd']['runs'] - d['unwrapd']['valid_runs']}/{d['hitch']['runs'] - d['hitch']['valid_runs']}"
                   f"; s_client: {tls}")
        for daemon in DAEMONS:
            if "accepted_per_worker_runs" in d[daemon]:
                runs = "  ".join("+".join(str(n) for n in counts) for counts in d[daemon]["accepted_per_worker_runs"])
                sockets = "/".join(str(n) for n in d[daemon]["listening_sockets"]) or "?"
                out.append(f"{'':<13} {'accepted per worker (' + daemon + ')':<33} {runs}   ({sockets} listening "
                           f"socket{'' if sockets == '1' else 's'} on the port)")
        out.append("")
    notes = [
        "u/h: ratio of the medians, unwrapd/hitch; met: the target of issue #3 (ratios from the same run).",
        "pairs: the ratios of unwrapd's run i to hitch's run i (run one after the other), the sign test's interval",
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
        "that, i.e. its own code and the kernel's socket work. ≥x: the lowest u/h unwrapd could reach if its user-space",
        "work beyond OpenSSL were zero (OpenSSL alone + unwrapd's kernel time, over hitch's CPU).",
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
    for path in (os.path.join(HERE, "README.md"), os.path.join(HERE, "..", "..", "README.md")):
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


# --------------------------------------------------------------------------------------------------------------


CLIENT_OPENSSL_CONF = """# generated by Tests/Benchmarks/run.py: pins wrk's TLS (wrk has no TLS options; OpenSSL reads this at start)
openssl_conf = openssl_init
[openssl_init]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
MinProtocol = TLSv1.3
MaxProtocol = TLSv1.3
Ciphersuites = {suite}
Groups = {group}
"""


def parse_args():
    p = argparse.ArgumentParser(description="unwrapd vs hitch, side by side (issue #3). See README.md.")
    p.add_argument("--unwrapd", required=True, help="the unwrapd release binary")
    p.add_argument("--unwrapd-arg", dest="unwrapd_args", action="append", default=[], metavar="ARG",
                   help="one more argument for unwrapd, e.g. --unwrapd-arg=--session-tickets=off (repeatable)")
    p.add_argument("--hitch", default="/usr/sbin/hitch")
    p.add_argument("--tlsload", required=True, help="the load generator binary")
    p.add_argument("--sslfloor", default=None, help="the OpenSSL memory floor probe (loadgen/sslfloor.c)")
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
    args = p.parse_args()
    args.runs = args.runs or (2 if args.quick else 5)
    args.duration = args.duration or (3.0 if args.quick else 10.0)
    args.warmup = args.warmup if args.warmup is not None else (1.0 if args.quick else 2.0)
    args.speed_seconds = 1 if args.quick else 3
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
    return args


def main():
    cfg = parse_args()
    # Explicitly, also SIGINT: a shell starts background jobs with SIGINT ignored.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    atexit.register(cleanup)
    if os.geteuid() != 0:
        raise SystemExit("bench: run as root (the daemons drop privileges to nobody, as in production)")
    ncpu = os.cpu_count() or 1
    if max(cfg.daemon_cpu, cfg.client_cpu) >= ncpu or cfg.daemon_cpu == cfg.client_cpu:
        raise SystemExit(f"bench: needs two distinct CPUs (daemon {cfg.daemon_cpu}, clients {cfg.client_cpu})")
    if cfg.spread_cpus is not None and (not cpu_list(cfg.spread_cpus) or max(cpu_list(cfg.spread_cpus)) >= ncpu):
        raise SystemExit(f"bench: --spread-cpus {cfg.spread_cpus}: not a list of this machine's CPUs")
    for tool in (cfg.unwrapd, cfg.hitch, cfg.tlsload):
        if not os.access(tool, os.X_OK):
            raise SystemExit(f"bench: {tool} is not an executable")
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
    note(f"bench: backend nginx on 127.0.0.1:{cfg.backend_port}, daemons on 127.0.0.1:{cfg.frontend_port}")
    bench = Bench(cfg)
    bench.emit({"type": "machine", "bench_id": cfg.bench_id, "machine": cfg.machine,
                "scenarios": [s.name for s in cfg.scenarios],
                "settings": {"runs": cfg.runs, "duration": cfg.duration, "warmup": cfg.warmup, "quick": cfg.quick,
                             "concurrency": cfg.concurrency, "wrk_connections": cfg.wrk_connections,
                             "frontend_port": cfg.frontend_port, "backend_port": cfg.backend_port,
                             "unwrapd_args": cfg.unwrapd_args}})

    backend = start_backend(cfg, cfg.backend_port, docroot, os.path.join(cfg.out, "nginx"))
    # wrk's requests are keep-alive ones: the same response with "Connection: keep-alive".
    cfg.response_size = len(http_get_plain(cfg.backend_port, "/100").replace(
        b"Connection: close\r\n", b"Connection: keep-alive\r\n"))
    bench.check_offers()

    for sc in cfg.scenarios:
        note(f"bench: {sc.name}: {sc.title}")
        if sc.kind == "speed":
            bench.run_speed()
            continue
        if sc.kind == "hold":
            bench.run_floor()
        bench.run_cpu_floor(sc)
        order = 0
        for index in range(1, cfg.runs + 1):
            for daemon in DAEMONS:  # A B A B ...
                order += 1
                if not backend.alive():
                    raise SystemExit("bench: the backend (nginx) died")
                bench.one_run(sc, daemon, index, order)
                time.sleep(0.3)

    summaries = summarize(bench)
    table = render(bench, summaries)
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
    if cfg.update_readme:
        update_readme(table, cfg)
    backend.stop()


if __name__ == "__main__":
    try:
        main()
    finally:
        cleanup()

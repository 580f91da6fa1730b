"""perf, attached from outside: accept calls counted per process (the spread scenario), and where the daemon's
CPU time goes by code (sampled profile)."""

import os
import re
import select
import shutil
import signal
import subprocess
import tempfile

from .processes import Proc, RunFailed, run


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


class AcceptCounter:
    """`perf stat` attached to one process: its accept4/accept calls (syscall exit tracepoints), successful
    (ret >= 0) and failed, counted in the kernel; read when perf is stopped (SIGINT makes it write its counts).
    perf starts with its events disabled and enables them on a command through a FIFO, then answers "ack" through
    another: counting has begun once the answer is read."""

    ACK_TIMEOUT = 5  # seconds

    def __init__(self, cfg, pid, out_path):
        self.pid, self.out_path = pid, out_path
        control, ack = out_path + ".ctl", out_path + ".ack"
        for fifo in (control, ack):
            if os.path.exists(fifo):
                os.remove(fifo)
            os.mkfifo(fifo)
        argv = (["perf", "stat", "-x", ",", "-o", out_path, "--delay", "-1", "--control", f"fifo:{control},{ack}"]
                + accept_counter_args() + ["-p", str(pid)])
        self.err = open(out_path + ".stderr", "w")
        self.proc = Proc(f"perf-{pid}", ["taskset", "-c", str(cfg.client_cpu)] + argv, stdout=subprocess.DEVNULL,
                         stderr=self.err)
        # Opened read-write, neither end waits for perf to open its own (Linux FIFOs).
        control_fd, ack_fd = os.open(control, os.O_RDWR), os.open(ack, os.O_RDWR)
        try:
            os.write(control_fd, b"enable\n")
            ready, _, _ = select.select([ack_fd], [], [], self.ACK_TIMEOUT)
            answer = os.read(ack_fd, 16) if ready else b""
        finally:
            os.close(control_fd)
            os.close(ack_fd)
            os.remove(control)
            os.remove(ack)
        if not answer.startswith(b"ack\n"):  # perf writes the string's terminating NUL too
            raise RunFailed(f"perf did not start counting {pid}'s accept calls within {self.ACK_TIMEOUT} s "
                            f"(see {out_path}.stderr)")

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

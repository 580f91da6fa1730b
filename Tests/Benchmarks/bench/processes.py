"""Every process the benchmark starts, recorded and stopped by its PID (also on failure and on signals), and
bounded short commands."""

import atexit
import ctypes
import json
import os
import select
import signal
import subprocess
import sys
import time

from bench.procfs import stat_fields


STARTED = []  # [Proc]


LOG = sys.stderr


def note(text):
    """A progress line on stderr."""
    print(text, file=LOG, flush=True)


def _die_with_parent():
    """In the child before exec: die when the benchmark dies (even by SIGKILL)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def proc_start_time(pid):
    """The process's start time (clock ticks since boot), which tells a reused PID from the process seen before."""
    fields = stat_fields(pid)
    return fields[19] if fields and len(fields) > 19 else None


def running(pid, started):
    """Whether `pid` is still the process that started at `started` and has not ended (a zombie has ended)."""
    fields = stat_fields(pid)
    return bool(fields) and len(fields) > 19 and fields[0] not in ("Z", "X") and fields[19] == started


def wait_ended(pid, started, timeout):
    """Waits at most `timeout` seconds for the process `pid` that started at `started` to end; whether it has.
    A pidfd becomes readable when the process ends, so this is a wait, not a poll."""
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        if not running(pid, started):  # checked after opening: the pidfd is the process that was checked
            return True
        return bool(select.select([pidfd], [], [], timeout)[0])
    finally:
        os.close(pidfd)


def send_signal(pid, sig):
    """os.kill, but a process that has just ended is not an error."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


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
        """Stops the process with `sig`, SIGKILL if it has not ended after `timeout` seconds; then its descendants
        that outlived it (a daemon's parent stops its own workers first): SIGTERM, SIGKILL after `timeout` more.
        Closes the pipes to it: what it wrote must have been read before."""
        if self.alive():
            self.descendants()
            send_signal(self.pid, sig)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                note(f"bench: {self.name} (pid {self.pid}) did not stop within {timeout:g} s: SIGKILL")
                send_signal(self.pid, signal.SIGKILL)
                self.popen.wait(5)
        # descendants that outlived it (same PID and same start time: not a reused PID)
        orphans = {pid: started for pid, started in self.known.items() if started and running(pid, started)}
        for pid in orphans:
            send_signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for pid, started in orphans.items():
            if not wait_ended(pid, started, max(0.0, deadline - time.monotonic())):
                note(f"bench: {self.name}'s child {pid} outlived it and did not stop within {timeout:g} s of "
                     "SIGTERM: SIGKILL")
                send_signal(pid, signal.SIGKILL)
                wait_ended(pid, started, 5)
        for pipe in (self.popen.stdin, self.popen.stdout, self.popen.stderr):
            if pipe:
                pipe.close()
        if self in STARTED:
            STARTED.remove(self)


def cleanup():
    """Stops everything still running that the benchmark started, newest first (at exit, also after a failure)."""
    # A second Ctrl-C must not interrupt the cleanup.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    for proc in reversed(list(STARTED)):
        try:
            proc.stop(timeout=5)
        except Exception as error:  # keep stopping the others
            note(f"bench: stopping {proc.name}: {error}")


def on_signal(signum, frame):
    """SIGINT/SIGTERM/SIGHUP: exit through `cleanup`."""
    note(f"bench: {signal.Signals(signum).name}: stopping everything it started")
    raise SystemExit(128 + signum)


def install_cleanup():
    """However the benchmark ends, everything it started is stopped: on a normal exit and after an exception
    (`atexit`), on SIGINT, SIGTERM and SIGHUP (through SystemExit). If it is killed (SIGKILL), each process it
    started directly gets SIGTERM from the kernel (PR_SET_PDEATHSIG)."""
    # Explicitly, also SIGINT: a shell starts background jobs with SIGINT ignored.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    atexit.register(cleanup)


def niced(cfg, argv):
    """--nice: the same scheduling priority for everything the benchmark runs (daemons, backend, clients)."""
    return (["nice", "-n", str(cfg.nice)] + argv) if cfg.nice else argv


def run(argv, timeout, **kwargs):
    """A short command, bounded; returns CompletedProcess (text)."""
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, preexec_fn=_die_with_parent,
                          **kwargs)


class RunFailed(Exception):
    """One run could not be measured; it is recorded as invalid with this reason and the benchmark goes on."""

    pass


def run_for_json(name, argv, timeout, log_path, env=None):
    """Runs a client to its end (at most `timeout` seconds, stopped by PID otherwise), with its stderr and then its
    stdout appended to `log_path`, and returns the last JSON line it printed on stdout."""
    with open(log_path, "a") as log:
        proc = Proc(name, argv, stdout=subprocess.PIPE, stderr=log, env=env)
        try:
            out, _ = proc.popen.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.stop()
            raise RunFailed(f"{name} did not finish within {timeout:g} s (see {log_path})")
        proc.stop()
        text = out.decode()
        log.write(text)
    lines = [line for line in text.splitlines() if line.startswith("{")]
    if not lines:
        raise RunFailed(f"{name} printed no result (exit {proc.popen.returncode}); see {log_path}")
    return json.loads(lines[-1])


def read_json_line(proc, timeout):
    """The next JSON line `proc` prints on stdout (other lines skipped), waiting at most `timeout` seconds."""
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
    raise RunFailed(f"{proc.name}: no answer within {timeout:g} s")

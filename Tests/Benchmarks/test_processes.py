"""Tests of the benchmark's process handling (bench/processes.py): `make bench` must stop every process it starts,
also on failure. A small program that uses it the way run.py does starts real processes (a `sleep`, and a shell
with two `sleep`s of its own, which outlive the shell), then fails, is stopped by a signal or is killed; the tests
check by PID and start time that nothing it started is still running. Also: a process that ignores SIGTERM is
killed, and a client that hangs or prints no result is a failed run, not a hang of the benchmark.

Run by `make test` (python3 -m unittest); every wait is bounded and every process is stopped by its PID.
"""
import io
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import unittest

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH_DIR)
from bench import processes  # noqa: E402

TIMEOUT = 30  # seconds, for anything that should take well under one

# Starts what `argv[1]` says and prints {"pid": start time} of everything started; then waits for a line on stdin
# (or a signal) and ends normally, or with an exception if `argv[2]` is "fail".
PROGRAM = """
import json, subprocess, sys
sys.dont_write_bytecode = True
sys.path.insert(0, {bench_dir!r})
from bench import processes
processes.install_cleanup()
started = [processes.Proc("sleeper", ["sleep", "300"])]
if sys.argv[1] == "with-shell":
    shell = processes.Proc("shell", ["sh", "-c", "sleep 300 & sleep 301 & echo started; wait"],
                           stdout=subprocess.PIPE)
    shell.popen.stdout.readline()  # its two children exist
    shell.descendants()
    started.append(shell)
pids = {{}}
for proc in started:
    pids[proc.pid] = processes.proc_start_time(proc.pid)
    pids.update(proc.known)
print(json.dumps(pids), flush=True)
sys.stdin.readline()  # the test has seen them run; a line (or its end) lets this go on, else it signals this
if sys.argv[2] == "fail":
    raise RuntimeError("planned failure")
"""


def running(pids):
    """The PIDs of `pids` (pid -> start time) still running as the process that was started."""
    return [pid for pid, started in pids.items() if processes.running(pid, started)]


class CleanupTests(unittest.TestCase):
    """run.py's way of stopping what it started, in a separate process as the benchmark is."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="processes-test-")
        cls.program = os.path.join(cls.dir, "program.py")
        with open(cls.program, "w") as f:
            f.write(PROGRAM.format(bench_dir=BENCH_DIR))

    @classmethod
    def tearDownClass(cls):
        os.remove(cls.program)
        os.rmdir(cls.dir)

    def start(self, what, end):
        """The program, and the processes it started (pid -> start time), once it has started them."""
        program = subprocess.Popen([sys.executable, self.program, what, end], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(self.reap, program)
        ready, _, _ = select.select([program.stdout], [], [], TIMEOUT)
        self.assertTrue(ready, "the program did not start its processes")
        line = program.stdout.readline()
        if not line:
            self.fail(f"the program ended early: {program.communicate(timeout=TIMEOUT)[1]}")
        pids = {int(pid): started for pid, started in json.loads(line).items()}
        self.addCleanup(self.kill_left_over, pids)
        self.assertEqual(len(pids), 4 if what == "with-shell" else 1)
        self.assertEqual(running(pids), list(pids))
        return program, pids

    def reap(self, program):
        """Cleanup: the program ended (killed if a test left it running) and its pipes read to their end."""
        if program.poll() is None:
            program.kill()
        program.communicate(timeout=TIMEOUT)

    def kill_left_over(self, pids):
        """Cleanup, before `reap`: what a failed test left running, by PID and start time."""
        for pid in running(pids):
            processes.send_signal(pid, signal.SIGKILL)

    def test_a_failure_stops_every_process_it_started_and_the_orphans_of_those(self):
        program, pids = self.start("with-shell", "fail")
        _, stderr = program.communicate("go on\n", timeout=TIMEOUT)
        self.assertEqual(program.returncode, 1)
        self.assertIn("RuntimeError: planned failure", stderr)
        self.assertEqual(running(pids), [])
        self.assertNotIn("SIGKILL", stderr, "processes that stop on SIGTERM were killed")

    def test_sigterm_stops_every_process_it_started(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            with self.subTest(signal=sig.name):
                program, pids = self.start("with-shell", "wait")
                program.send_signal(sig)
                _, stderr = program.communicate(timeout=TIMEOUT)
                self.assertEqual(program.returncode, 128 + sig)
                self.assertIn(f"{sig.name}: stopping everything it started", stderr)
                self.assertEqual(running(pids), [])

    def test_when_it_is_killed_the_kernel_stops_what_it_started_directly(self):
        program, pids = self.start("alone", "wait")
        program.kill()
        program.communicate(timeout=TIMEOUT)
        for pid, started in pids.items():
            self.assertTrue(processes.wait_ended(pid, started, TIMEOUT), f"pid {pid} outlived the killed program")


class StopTests(unittest.TestCase):
    """Proc.stop and run_for_json in this process, with their notes captured."""

    def setUp(self):
        self.notes = io.StringIO()
        self.addCleanup(setattr, processes, "LOG", processes.LOG)
        processes.LOG = self.notes

    def started(self, name, argv, **kwargs):
        proc = processes.Proc(name, argv, **kwargs)
        self.addCleanup(proc.stop, signal.SIGKILL, TIMEOUT)
        return proc

    def test_a_process_that_ignores_sigterm_is_killed_after_the_timeout(self):
        ignore_sigterm = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print(1, flush=True); " \
                         "time.sleep(300)"
        proc = self.started("stubborn", [sys.executable, "-c", ignore_sigterm], stdout=subprocess.PIPE)
        proc.popen.stdout.readline()
        proc.stop(timeout=0.5)
        self.assertEqual(proc.popen.returncode, -signal.SIGKILL)
        self.assertIn(f"stubborn (pid {proc.pid}) did not stop within 0.5 s: SIGKILL", self.notes.getvalue())
        self.assertNotIn(proc, processes.STARTED)

    def test_a_child_that_outlives_its_parent_and_ignores_sigterm_is_killed(self):
        proc = self.started("parent", ["sh", "-c", "trap '' TERM; sleep 300 & echo started; wait"],
                            stdout=subprocess.PIPE)
        proc.popen.stdout.readline()
        (child,) = proc.descendants()
        started = processes.proc_start_time(child)
        self.addCleanup(lambda: processes.running(child, started) and os.kill(child, signal.SIGKILL))
        proc.stop(timeout=0.5)
        self.assertFalse(processes.running(child, started))
        self.assertIn(f"parent's child {child} outlived it and did not stop within 0.5 s of SIGTERM: SIGKILL",
                      self.notes.getvalue())

    def test_run_for_json_returns_the_last_json_line(self):
        with tempfile.NamedTemporaryFile("r") as log:
            result = processes.run_for_json("client", ["sh", "-c", 'echo "{\\"n\\": 1}"; echo other; '
                                                       'echo "{\\"n\\": 2}"; echo warning >&2'], TIMEOUT, log.name)
            self.assertEqual(result, {"n": 2})
            self.assertEqual(log.read(), 'warning\n{"n": 1}\nother\n{"n": 2}\n')

    def test_run_for_json_fails_the_run_when_the_client_prints_no_result(self):
        with tempfile.NamedTemporaryFile("r") as log:
            with self.assertRaisesRegex(processes.RunFailed, r"client printed no result \(exit 3\)"):
                processes.run_for_json("client", ["sh", "-c", "echo no json; exit 3"], TIMEOUT, log.name)

    def test_run_for_json_stops_a_client_that_does_not_finish(self):
        with tempfile.NamedTemporaryFile("r") as log:
            with self.assertRaisesRegex(processes.RunFailed, "client did not finish within 0.5 s"):
                processes.run_for_json("client", ["sh", "-c", "echo $$ >&2; exec sleep 300"], 0.5, log.name)
            pid = int(log.read())
        self.assertFalse(os.path.exists(f"/proc/{pid}"), "the client still runs")


if __name__ == "__main__":
    unittest.main()

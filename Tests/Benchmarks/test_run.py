"""Unit tests for the benchmark's pure logic (package bench/): the paired ratios, the sign test's
interval, the verdicts, the side-by-side rounds' summary, the daemons' command lines, the comparison of two unwrapd
builds (--baseline-unwrapd), the kernel's TCP counters.

Run by `make test` (python3 -m unittest); they start no process, and the kernel counters' tests use TCP on
127.0.0.1 only.
"""
import contextlib
import io
import os
import select
import socket
import sys
import time
import types
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402
from bench import procfs, rig, runner, scenarios, side_by_side, summary, table, verdicts, workloads  # noqa: E402


DAEMONS = ["unwrapd", "hitch"]  # as run.py compares them by default


def runs(values):
    """Run records as Bench keeps them: run index and one metric."""
    return [{"run": i + 1, "metrics": {"cpu": v}} for i, v in enumerate(values)]


class SignTestIntervalTests(unittest.TestCase):
    def test_coverage_is_the_binomial_tail(self):
        self.assertAlmostEqual(verdicts.sign_test_coverage(5, 1), 15 / 16)
        self.assertAlmostEqual(verdicts.sign_test_coverage(10, 2), 1 - 2 * 11 / 1024)
        self.assertAlmostEqual(verdicts.sign_test_coverage(15, 4), 1 - 2 * (1 + 15 + 105 + 455) / 2 ** 15)

    def test_five_pairs_give_the_whole_range(self):
        low, high, coverage = verdicts.sign_test_interval([0.95, 0.80, 1.10, 0.90, 0.85])
        self.assertEqual((low, high), (0.80, 1.10))
        self.assertAlmostEqual(coverage, 15 / 16)

    def test_more_pairs_drop_the_extremes_and_keep_the_coverage(self):
        for n, k in ((8, 1), (9, 2), (10, 2), (12, 3), (15, 4), (16, 4), (20, 6)):
            values = [float(v) for v in range(n, 0, -1)]  # unsorted on purpose
            low, high, coverage = verdicts.sign_test_interval(values)
            self.assertEqual((low, high), (float(k), float(n + 1 - k)), f"{n} pairs")
            self.assertGreaterEqual(coverage, verdicts.SIGN_TEST_COVERAGE, f"{n} pairs")
            self.assertLess(verdicts.sign_test_coverage(n, k + 1), verdicts.SIGN_TEST_COVERAGE, f"{n} pairs: k is the largest")

    def test_too_few_pairs_still_give_the_range_with_its_lower_coverage(self):
        self.assertEqual(verdicts.sign_test_interval([1.0, 2.0, 3.0]), (1.0, 3.0, 0.75))
        self.assertEqual(verdicts.sign_test_interval([1.0]), (1.0, 1.0, 0.0))


class VerdictTests(unittest.TestCase):
    def test_pairs_match_runs_by_index_and_skip_missing_values(self):
        per = {"unwrapd": runs([90, 80, None, 100]), "hitch": runs([100, 100, 100, 0])}
        pairs = verdicts.paired_ratios(per["unwrapd"], per["hitch"], "cpu")
        self.assertEqual(sorted(pairs["values"]), [0.8, 0.9])
        self.assertEqual((pairs["low"], pairs["high"]), (0.8, 0.9))

    def test_fifteen_pairs_decide_a_target_that_only_the_extremes_straddle(self):
        ratios = [0.80, 0.81, 0.82] + [0.83 + 0.005 * i for i in range(11)] + [0.95]
        per = {"unwrapd": runs(ratios), "hitch": runs([1.0] * len(ratios))}
        pairs = verdicts.paired_ratios(per["unwrapd"], per["hitch"], "cpu")
        self.assertTrue(pairs["min"] < 0.90 < pairs["max"])
        self.assertFalse(verdicts.within_noise(("le", 0.90), pairs))

    def test_a_target_inside_the_interval_is_not_decided(self):
        per = {"unwrapd": runs([0.85, 0.88, 0.91, 0.93, 0.95]), "hitch": runs([1.0] * 5)}
        pairs = verdicts.paired_ratios(per["unwrapd"], per["hitch"], "cpu")
        self.assertTrue(verdicts.within_noise(("le", 0.90), pairs))
        self.assertFalse(verdicts.within_noise(("le", 0.80), pairs))
        self.assertIsNone(verdicts.within_noise(("abs_le", 12.0), pairs))

    def test_judge_compares_the_ratio_of_the_medians(self):
        self.assertEqual(verdicts.judge(("le", 0.90), 0.89, None), ("≤0.90×", True))
        self.assertEqual(verdicts.judge(("ge", 1.10), 1.02, None), ("≥1.10×", False))
        self.assertEqual(verdicts.judge(("abs_le", 12.0), None, {"median": 13.9}), ("≤12 (abs.)", False))


def round_record(unwrapd, hitch, problems=()):
    """A side-by-side round as `one_round` records it: both daemons' CPU per operation."""
    return {"valid": not problems, "problems": list(problems),
            "metrics": {"unwrapd": {"cpu_us_per_op": unwrapd}, "hitch": {"cpu_us_per_op": hitch}}}


class SideBySideTests(unittest.TestCase):
    def test_each_round_gives_one_ratio_and_invalid_rounds_are_left_out(self):
        records = [round_record(90, 100), round_record(180, 200), round_record(50, 100, ["hitch: 3 errors"]),
                   round_record(95, 100), round_record(88, 100), round_record(92, 100)]
        summary = side_by_side.summarize_rounds(DAEMONS, records)
        self.assertEqual(sorted(summary["ratio"]["values"]), [0.88, 0.9, 0.9, 0.92, 0.95])
        self.assertEqual((summary["ratio"]["low"], summary["ratio"]["high"]), (0.88, 0.95))
        self.assertEqual(summary["ratio"]["median"], 0.9)
        self.assertEqual((summary["unwrapd"]["min"], summary["unwrapd"]["max"]), (88, 180))
        self.assertEqual(summary["invalid"], 1)

    def test_no_valid_round_gives_no_summary_and_the_table_says_so(self):
        exited = round_record(1, 1, ["unwrapd exited during the round"])
        self.assertIsNone(side_by_side.summarize_rounds(DAEMONS, [exited]))
        cfg = types.SimpleNamespace(daemons=DAEMONS, daemon_cpu=0, runs=1, duration=10.0, warmup=2.0,
                                    concurrency=64, wrk_connections=50)
        table = side_by_side.render_rounds(cfg, {"hs-ecdsa": None})
        self.assertIn("hs-ecdsa      no valid round", table)
        self.assertIn("32 tlsload connections in flight", table)
        self.assertIn("or 25 of wrk's", table)


class DaemonCommandLineTests(unittest.TestCase):
    cfg = types.SimpleNamespace(unwrapd="/u", hitch="/h", baseline_unwrapd="/b", frontend_port=1, backend_port=2,
                                pems={"ecdsa": "e.pem"}, unwrapd_args=["--log-level=3"], baseline_left_out=set())

    def test_only_unwrapd_gets_its_own_settings_and_the_certificate_stays_last(self):
        stateful = scenarios.BY_NAME["resume-tls13-stateful"]
        self.assertEqual(rig.daemon_argv(self.cfg, "unwrapd", stateful)[-3:],
                         ["--log-level=3", "--session-tickets=off", "e.pem"])
        self.assertEqual(rig.daemon_argv(self.cfg, "hitch", stateful),
                         ["/h", "-n", "1", "-f", "[127.0.0.1]:1", "-b", "[127.0.0.1]:2", "-u", "nobody", "e.pem"])
        self.assertEqual(rig.daemon_argv(self.cfg, "unwrapd", scenarios.BY_NAME["resume-tls13"])[-2:],
                         ["--log-level=3", "e.pem"])

    def test_a_baseline_build_is_started_exactly_like_unwrapd(self):
        for name in ("resume-tls13-stateful", "hs-ecdsa", "spread"):
            sc = scenarios.BY_NAME[name]
            unwrapd, baseline = (rig.daemon_argv(self.cfg, d, sc) for d in ("unwrapd", "baseline"))
            self.assertEqual(baseline, ["/b"] + unwrapd[1:], name)
        stateful = rig.daemon_argv(self.cfg, "baseline", scenarios.BY_NAME["resume-tls13-stateful"])
        self.assertEqual(stateful[-3:], ["--log-level=3", "--session-tickets=off", "e.pem"])

    def test_refusals_are_logged_one_line_each_as_hitch_does(self):
        refused = scenarios.BY_NAME["refused"]
        self.assertIn("--connection-log-limit=0", rig.daemon_argv(self.cfg, "unwrapd", refused))
        self.assertNotIn("--connection-log-limit=0", rig.daemon_argv(self.cfg, "hitch", refused))

    def test_a_baseline_that_predates_a_restated_default_is_started_without_it(self):
        refused = scenarios.BY_NAME["refused"]
        old_help = "  --session-tickets[=on|off]  ...\n  --log-level=NUM\n"
        cfg = types.SimpleNamespace(**vars(self.cfg), scenarios=[refused])
        cfg.baseline_left_out = run.baseline_left_out(cfg, old_help)
        self.assertEqual(cfg.baseline_left_out, {"--connection-log-limit=0"})
        self.assertEqual(rig.daemon_argv(cfg, "baseline", refused)[-2:], ["--log-level=3", "e.pem"])
        self.assertIn("--connection-log-limit=0", rig.daemon_argv(cfg, "unwrapd", refused))
        self.assertEqual(run.baseline_left_out(cfg, old_help + "  --connection-log-limit=N\n"), set())

    def test_a_baseline_that_lacks_another_setting_is_refused(self):
        cfg = types.SimpleNamespace(**vars(self.cfg), scenarios=[scenarios.BY_NAME["resume-tls13-stateful"]])
        with self.assertRaises(SystemExit) as raised:
            run.baseline_left_out(cfg, "  --session-tickets-other\n  --log-level=NUM\n")
        self.assertIn("does not know --session-tickets", str(raised.exception))

    def test_a_daemon_side_by_side_listens_on_the_port_it_is_given(self):
        argv = rig.daemon_argv(self.cfg, "hitch", scenarios.BY_NAME["hs-ecdsa"], port=7)
        self.assertEqual(argv[argv.index("-f") + 1], "[127.0.0.1]:7")
        self.assertEqual(argv[argv.index("-b") + 1], "[127.0.0.1]:2")


def parse(*args):
    """run.py's settings from these arguments; SystemExit with argparse's message when it refuses them."""
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            return run.parse_args(["--unwrapd", "/u", "--tlsload", "/t", *args])
    except SystemExit:
        raise SystemExit(stderr.getvalue())


class BaselineOptionTests(unittest.TestCase):
    """--baseline-unwrapd: a second unwrapd build instead of hitch, named "baseline" wherever results are shown."""

    def test_the_second_daemon_is_hitch_unless_a_baseline_build_is_given(self):
        self.assertEqual(parse().daemons, ["unwrapd", "hitch"])
        cfg = parse("--baseline-unwrapd", "/b")
        self.assertEqual(cfg.daemons, ["unwrapd", "baseline"])
        self.assertEqual(rig.daemon_binary(cfg, "baseline"), "/b")

    def test_hitch_and_a_baseline_build_are_not_both_accepted(self):
        with self.assertRaisesRegex(SystemExit, "not allowed with argument --hitch"):
            parse("--hitch", "/h", "--baseline-unwrapd", "/b")

    def test_the_readmes_table_is_not_written_from_a_comparison_with_a_baseline(self):
        with self.assertRaisesRegex(SystemExit, "--baseline-unwrapd has no table for the README"):
            parse("--baseline-unwrapd", "/b", "--update-readme")

    def test_an_unwrapd_build_given_as_hitch_is_refused_with_the_option_to_use(self):
        refusal = run.second_daemon_refusal(parse("--hitch", "/old/unwrapd"), "unwrapd 0.1.0")
        self.assertIn("--hitch /old/unwrapd is an unwrapd build", refusal)
        self.assertIn("--baseline-unwrapd /old/unwrapd", refusal)
        self.assertIsNone(run.second_daemon_refusal(parse(), "hitch 1.7.2"))

    def test_a_baseline_that_is_not_unwrapd_is_refused(self):
        cfg = parse("--baseline-unwrapd", "/usr/sbin/hitch")
        self.assertIn("is not an unwrapd build", run.second_daemon_refusal(cfg, "hitch 1.7.2"))
        self.assertIsNone(run.second_daemon_refusal(parse("--baseline-unwrapd", "/b"), "unwrapd 0.1.0"))


def fake_bench(daemons, baseline_unwrapd=None):
    """A Bench with two full-handshake runs of each daemon recorded, unwrapd spending 0.90× the other's CPU."""
    cfg = types.SimpleNamespace(
        daemons=daemons, baseline_unwrapd=baseline_unwrapd, bench_id="B", scenarios=[scenarios.BY_NAME["hs-ecdsa"]],
        daemon_cpu=0, client_cpu=1, runs=2, duration=3.0, warmup=1.0, nice=0, unwrapd_args=["--log-level=3"],
        concurrency=64, wrk_connections=50,
        machine={"date": "d", "cores": 2, "cpu_model": "m", "kernel": "k", "openssl": "o", "nginx": "n", "wrk": "w",
                 daemons[0]: "unwrapd 0.1.0", daemons[1]: "2.0"})
    bench = types.SimpleNamespace(cfg=cfg, runs={}, tls_checks={}, ceilings={}, floor=None, cpu_floors={}, offers={},
                                  speed=None, emit=lambda record: None)
    for daemon, cpu in zip(daemons, (90.0, 100.0)):
        bench.runs[("hs-ecdsa", daemon)] = [
            {"run": i, "valid": True, "problems": [], "metrics": {"cpu_us_per_op": cpu, "rate": 1e6 / cpu}}
            for i in (1, 2)]
    return bench


class BaselineLabelTests(unittest.TestCase):
    def test_the_table_and_the_summary_name_the_baseline(self):
        bench = fake_bench(["unwrapd", "baseline"], baseline_unwrapd="/b")
        summaries = summary.summarize(bench)
        cpu_row = next(row for row in summaries[0]["rows"] if row["key"] == "cpu_us_per_op")
        self.assertEqual((cpu_row["unwrapd"]["median"], cpu_row["baseline"]["median"]), (90.0, 100.0))
        self.assertAlmostEqual(cpu_row["ratio"], 0.9)
        text = table.render(bench, summaries)
        self.assertIn("daemons: unwrapd 0.1.0 vs baseline 2.0;", text)
        self.assertRegex(text, r"scenario +metric +unwrapd +baseline +u/b ")
        self.assertIn("alternating unwrapd/baseline", text)
        self.assertIn("both builds with --log-level=3", text)
        self.assertNotIn("hitch", text)

    def test_against_a_baseline_the_ratio_targets_of_issue_3_are_not_judged(self):
        judged = lambda bench: {row["key"]: row["met"] for row in summary.summarize(bench)[0]["rows"]}
        self.assertEqual(judged(fake_bench(["unwrapd", "hitch"]))["cpu_us_per_op"], True)
        self.assertIsNone(judged(fake_bench(["unwrapd", "baseline"], baseline_unwrapd="/b"))["cpu_us_per_op"])

    def test_side_by_side_names_the_baseline(self):
        cfg = types.SimpleNamespace(daemons=["unwrapd", "baseline"], daemon_cpu=0, runs=1, duration=10.0,
                                    warmup=2.0, concurrency=64, wrk_connections=50)
        header = side_by_side.render_rounds(cfg, {}).splitlines()[1]
        self.assertRegex(header, r"unwrapd µs/op +baseline µs/op +u/b ")


class RefusedScenarioTests(unittest.TestCase):
    """The `refused` scenario's client offers TLS 1.2 with only a cipher the daemons refuse, and counts refusals."""

    def client_argv(self, name):
        bench = types.SimpleNamespace(cfg=types.SimpleNamespace(tlsload="/t", duration=10, warmup=2,
                                                                digests={"/100": "d"}))
        bench.tlsload_args = lambda sc, port, pids=None: runner.Bench.tlsload_args(bench, sc, port, pids)
        return workloads.conn_argv(bench, scenarios.BY_NAME[name], 5, None, 64)

    def test_its_client_offers_only_the_refused_cipher_and_counts_refusals(self):
        argv = self.client_argv("refused")
        self.assertEqual(argv[argv.index("--tls") + 1], "12")
        self.assertEqual(argv[argv.index("--ciphers") + 1], scenarios.REFUSED_CIPHER)
        self.assertIn("--expect-refusal", argv)

    def test_it_runs_side_by_side_with_the_handshake_and_keep_alive_scenarios(self):
        self.assertEqual([s.name for s in parse("--side-by-side", "--scenarios", "refused").scenarios], ["refused"])
        default = [s.name for s in parse("--side-by-side").scenarios]
        self.assertEqual(default, ["hs-ecdsa", "hs-rsa", "resume-tls13", "resume-tls13-stateful", "resume-tls12",
                                   "keepalive", "refused"])
        with self.assertRaisesRegex(SystemExit, "refusal and keep-alive scenarios only, not bulk"):
            parse("--side-by-side", "--scenarios", "bulk")

    def test_the_other_handshake_scenarios_expect_completed_handshakes(self):
        for name in ("hs-ecdsa", "resume-tls12"):
            argv = self.client_argv(name)
            self.assertNotIn("--expect-refusal", argv, name)
            self.assertNotEqual(argv[argv.index("--expect-cipher") + 1], scenarios.REFUSED_CIPHER, name)


def reset_loopback_connections(count):
    """Opens `count` TCP connections on 127.0.0.1 and closes each accepted side with unread bytes in its receive
    queue, so that the kernel answers with a reset (as when a client's close_notify meets a closed socket)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(count)
        for _ in range(count):
            with socket.create_connection(listener.getsockname(), timeout=5) as client:
                accepted, _ = listener.accept()
                with accepted:
                    client.sendall(b"x")
                    # Closing the accepted socket unread, once the byte is in its queue, sends the reset.
                    readable, _, _ = select.select([accepted], [], [], 5)
                    if not readable:
                        raise TimeoutError("the byte sent on 127.0.0.1 did not arrive within 5 s")


class KernelCounterTests(unittest.TestCase):
    def test_tcp_counters_are_read_from_proc_and_count_resets(self):
        with self.assertRaises(ValueError):
            procfs.tcp_counter("NoSuchCounter")
        segments, resets = procfs.tcp_counter("OutSegs"), procfs.tcp_counter("OutRsts")
        reset_loopback_connections(3)
        self.assertGreaterEqual(procfs.tcp_counter("OutRsts") - resets, 3, "one reset per connection closed unread")
        # On loopback this host sends every segment: per connection SYN, SYN-ACK, ACK, the byte and the reset.
        self.assertGreaterEqual(procfs.tcp_counter("OutSegs") - segments, 3 * 4)

    def test_connections_held_counts_open_connections_and_not_listeners(self):
        me = [os.getpid()]
        before = procfs.connections_held(me)
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen(1)
            self.assertEqual(procfs.connections_held(me), before, "a listening socket is not a connection")
            with socket.create_connection(listener.getsockname(), timeout=5):
                accepted, _ = listener.accept()
                with accepted:
                    self.assertEqual(procfs.connections_held(me), before + 2, "both ends are this process's")
                self.assertEqual(procfs.connections_held(me), before + 1)
        self.assertEqual(procfs.connections_held(me), before)

    def test_connections_closing_counts_a_port_until_its_connections_are_closed(self):
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen(1)
            port = listener.getsockname()[1]
            self.assertEqual(procfs.connections_closing([port]), 0, "a listening socket is not a connection")
            client = socket.create_connection(("127.0.0.1", port), timeout=5)
            accepted, _ = listener.accept()
            self.assertEqual(procfs.connections_closing([port]), 2, "both ends: by local port and by remote port")
            client.close()
            self.assertGreaterEqual(procfs.connections_closing([port]), 1, "the end not closed yet still counts")
            accepted.close()
            deadline = time.monotonic() + 5
            while procfs.connections_closing([port]) and time.monotonic() < deadline:
                time.sleep(0.01)
            self.assertEqual(procfs.connections_closing([port]), 0, "closed, and TIME_WAIT is not counted")

    def test_per_connection_counts_the_segments_and_resets_since_the_start(self):
        before = procfs.tcp_snapshot()
        self.assertEqual(procfs.tcp_per_connection(before, {"ops_total": 0}),
                         {"tcp_segments_per_conn": None, "tcp_resets_per_conn": None})
        reset_loopback_connections(4)
        # Other sockets of the machine may add segments and resets of their own, never take any away.
        four = procfs.tcp_per_connection(before, {"ops_total": 4})
        eight = procfs.tcp_per_connection(before, {"ops_total": 8})
        self.assertGreaterEqual(four["tcp_resets_per_conn"], 1.0)
        self.assertGreaterEqual(eight["tcp_resets_per_conn"], 0.5)
        # SYN, SYN-ACK, ACK, the byte and the reset of each connection.
        self.assertGreaterEqual(four["tcp_segments_per_conn"], 4.0)


if __name__ == "__main__":
    unittest.main()

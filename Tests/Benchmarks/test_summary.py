"""Unit tests for how the benchmark reads a scenario's runs (package bench/, module summary): the clients' core's cap
on a rate, the "out of reach" lines that name a target the measurements rule out, and the profile's medians.

Run by `make test` (python3 -m unittest); pure functions, no process, no socket.
"""
import os
import sys
import types
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import summary  # noqa: E402

CFG = types.SimpleNamespace(client_cpu=1, daemons=["unwrapd", "hitch"])


def median(value):
    """Run statistics as summarize keeps them, reduced to the median the rules read."""
    return None if value is None else {"median": value}


def row(key, metric, met, target_value, unwrapd, hitch, target="≤0.90×"):
    return {"key": key, "metric": metric, "met": met, "target": target, "target_value": target_value,
            "unwrapd": median(unwrapd), "hitch": median(hitch)}


def scenario(rows, u_busy=0.60, h_busy=0.60, clients=1.00, clients_h=1.00, floor=None):
    return {"rows": rows, "openssl_floor": floor,
            "daemons": {"unwrapd": {"daemon_busy": median(u_busy), "client_core_busy": median(clients)},
                        "hitch": {"daemon_busy": median(h_busy), "client_core_busy": median(clients_h)}}}


def rate_row(unwrapd, hitch):
    return row("rate", "handshakes/s", False, 1.10, unwrapd, hitch, target="≥1.10×")


def cpu_rows(cpu_u, cpu_h, own_u, met=False):
    return [row("cpu_us_per_op", "daemon CPU µs/handshake", met, 0.90, cpu_u, cpu_h),
            row("own_us_per_op", "  in its own code + libev (perf)", None, None, own_u, 3.0, target="")]


class ClientsCoreCapTests(unittest.TestCase):
    def test_the_cap_is_the_rate_per_busy_share_over_hitchs_rate(self):
        cap = summary.clients_core_cap(rate_row(2000, 1900), CFG.daemons, 0.98, 1.00)
        self.assertAlmostEqual(cap["unwrapd_us"], 0.98 / 2000 * 1e6)
        self.assertAlmostEqual(cap["other_us"], 1.00 / 1900 * 1e6)
        self.assertAlmostEqual(cap["ratio"], 2000 / 0.98 / 1900)

    def test_no_cap_unless_the_clients_core_was_saturated_on_a_rate_row(self):
        self.assertIsNone(summary.clients_core_cap(rate_row(2000, 1900), CFG.daemons, 0.94, 1.0))
        cpu_row = row("cpu_us_per_op", "cpu", False, 0.90, 300, 310)
        self.assertIsNone(summary.clients_core_cap(cpu_row, CFG.daemons, 1.0, 1.0))
        no_rate = row("rate", "handshakes/s", False, 1.10, 2000, None)
        self.assertIsNone(summary.clients_core_cap(no_rate, CFG.daemons, 1.0, 1.0))


class OutOfReachTests(unittest.TestCase):
    def test_a_rate_the_saturated_clients_core_could_not_give(self):
        lines = summary.out_of_reach(scenario([rate_row(2000, 1900)]), CFG)
        self.assertEqual(len(lines), 1)
        self.assertIn("the clients' core was saturated (CPU1 100%)", lines[0])
        self.assertIn("at most 1.05×", lines[0])

    def test_a_rate_the_clients_core_could_still_give_is_not_ruled_out(self):
        rows = [rate_row(2000, 1900)]
        self.assertEqual(summary.out_of_reach(scenario(rows, clients=0.80), CFG), [])
        self.assertEqual(summary.out_of_reach(scenario([rate_row(2000, 1800)],
                                                       clients=0.95), CFG), [])  # 2000 / 0.95 / 1800 = 1.17

    def test_a_cpu_target_missed_even_without_unwrapds_own_code(self):
        lines = summary.out_of_reach(scenario(cpu_rows(cpu_u=300, cpu_h=310, own_u=6)), CFG)
        self.assertEqual(len(lines), 1)
        self.assertIn("would still be 0.95× hitch's", lines[0])  # (300 - 6) / 310

    def test_a_cpu_target_that_less_own_code_could_meet_is_not_ruled_out(self):
        self.assertEqual(summary.out_of_reach(scenario(cpu_rows(cpu_u=300, cpu_h=310, own_u=25)), CFG), [])
        self.assertEqual(summary.out_of_reach(scenario(cpu_rows(cpu_u=300, cpu_h=310, own_u=6, met=True)), CFG), [])

    def test_a_rate_capped_by_both_daemons_saturated_and_the_cpu_bound(self):
        rows = [rate_row(2000, 1900)] + cpu_rows(cpu_u=480, cpu_h=500, own_u=5)
        lines = summary.out_of_reach(scenario(rows, u_busy=0.99, h_busy=0.99, clients=0.90), CFG)
        self.assertTrue(lines[0].startswith("handshakes/s ≥1.10×: both daemons saturated their core"), lines)
        self.assertIn("at most 1.05×", lines[0])  # (0.99 / 0.99) / ((480 - 5) / 500)

    def test_p99_is_the_clients_when_their_core_was_saturated_and_the_daemons_was_not(self):
        rows = [row("p99_ms", "latency p99 ms", False, 0.90, 1.8, 1.9)]
        self.assertIn("the latency is the clients'", summary.out_of_reach(scenario(rows, u_busy=0.82), CFG)[0])
        self.assertEqual(summary.out_of_reach(scenario(rows, u_busy=0.95), CFG), [])

    def test_memory_below_what_openssl_alone_keeps(self):
        rows = [row("kib_per_conn", "KiB per idle connection", False, 12.0, 14.0, 40.9, target="≤12 (abs.)")]
        lines = summary.out_of_reach(scenario(rows, floor={"kib_per_connection": 13.7}), CFG)
        self.assertEqual(lines, ["KiB per idle connection ≤12 (abs.): OpenSSL alone keeps 13.7 KiB per idle "
                                 "connection (sslfloor)"])
        self.assertEqual(summary.out_of_reach(scenario(rows, floor={"kib_per_connection": 11.5}), CFG), [])
        self.assertEqual(summary.out_of_reach(scenario(rows), CFG), [])


class ProfileMedianTests(unittest.TestCase):
    def test_libev_and_other_count_as_own_and_runs_without_a_profile_are_left_out(self):
        parts = lambda own, libev, other: {"kernel": 0.4, "openssl": 0.5, "libc": 0.08, "own": own, "libev": libev,
                                           "other": other}
        medians = summary.profile_medians([parts(0.01, 0.01, 0.0), None, parts(0.02, 0.01, 0.01),
                                           parts(0.03, 0.0, 0.0)])
        self.assertAlmostEqual(medians["own"], 0.03)
        self.assertEqual(set(medians), {"kernel", "openssl", "libc", "own"})
        self.assertIsNone(summary.profile_medians([None, None]))


if __name__ == "__main__":
    unittest.main()

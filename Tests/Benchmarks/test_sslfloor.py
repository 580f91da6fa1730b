"""Tests of sslfloor (loadgen/sslfloor/), the floors under the benchmark's figures: it is built with cc and run
with the benchmark's certificates (made fresh). Its two ways of counting an idle connection's memory, the heap's
bytes in use (mallinfo2) and OpenSSL's live blocks by allocation site, must agree up to malloc's per-block
overhead; every --cpu mode must complete its operations (sslfloor itself fails when a session does not resume);
bad arguments (a count that is not 1 to 1 000 000, an unknown mode, a PEM with no key) are refused with a
reason.

Run by `make test` (python3 -m unittest); each run is one short process, waited for.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import rig  # noqa: E402

CONNECTIONS = 200
MALLOC_OVERHEAD = 32  # bytes per block at most: glibc's chunk header (8) and rounding to 16
TIMEOUT = 120


class SslfloorTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="sslfloor-test-")
        cls.binary = rig.build_loadgen("sslfloor", cls.dir)
        cls.pems = rig.make_certificates(cls.dir)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def sslfloor(self, *args):
        return subprocess.run([self.binary, *args], capture_output=True, text=True, timeout=TIMEOUT)

    def test_the_heap_holds_what_openssl_keeps_per_idle_connection_and_no_more(self):
        heap = self.sslfloor(self.pems["ecdsa"], str(CONNECTIONS))
        self.assertEqual(heap.returncode, 0, heap.stderr)
        heap_bytes = json.loads(heap.stdout)["kib_per_connection"] * 1024
        by_site = self.sslfloor("--sites", self.pems["ecdsa"], str(CONNECTIONS))
        self.assertEqual(by_site.returncode, 0, by_site.stderr)
        total_line, *site_lines = by_site.stderr.splitlines()
        live = int(re.fullmatch(r"OpenSSL's live blocks per idle server connection: (\d+) bytes", total_line).group(1))
        sites = [re.fullmatch(r"\s*(\d+) B\s+([\d.]+) blocks\s+(\S+):(\d+)", line) for line in site_lines]
        self.assertTrue(sites and all(sites), by_site.stderr)
        self.assertAlmostEqual(sum(int(m.group(1)) for m in sites), live, delta=len(sites), msg="the sites add up")
        blocks = sum(float(m.group(2)) for m in sites)
        self.assertGreaterEqual(heap_bytes, live)
        self.assertLessEqual(heap_bytes - live, blocks * MALLOC_OVERHEAD,
                             f"{heap_bytes:.0f} bytes of heap for {live} bytes in {blocks} blocks")
        # The largest is the SSL object itself (Tests/Benchmarks/README.md, "Floor").
        self.assertTrue(sites[0].group(3).endswith("ssl/ssl_lib.c"), sites[0].group(0))

    def test_every_cpu_mode_completes_its_operations(self):
        for mode, pem, unit in (("full", "ecdsa", "operation"), ("full", "rsa", "operation"),
                                ("resume13", "ecdsa", "operation"), ("resume12", "ecdsa", "operation"),
                                ("request", "ecdsa", "operation"), ("bulk", "ecdsa", "MB")):
            done = self.sslfloor("--cpu", mode, self.pems[pem], "20")
            self.assertEqual(done.returncode, 0, f"{mode} {pem}: {done.stderr}")
            result = json.loads(done.stdout)
            self.assertEqual((result["mode"], result["operations_per_round"], result["unit"]), (mode, 20, unit))
            self.assertGreater(result["server_us_per_op"], 0, mode)

    def test_bad_arguments_are_refused_with_a_reason(self):
        unknown = self.sslfloor("--cpu", "sideways", self.pems["ecdsa"])
        self.assertEqual(unknown.returncode, 2)
        self.assertIn("--cpu sideways: unknown mode", unknown.stderr)
        missing = self.sslfloor()
        self.assertEqual(missing.returncode, 2)
        self.assertIn("usage: sslfloor", missing.stderr)
        pem = self.pems["ecdsa"]
        for args in ((pem, "abc"), (pem, "0"), ("--cpu", "full", pem, "20x"), ("--sites", pem, "-5")):
            with self.subTest(args=args):
                refused = self.sslfloor(*args)
                self.assertEqual((refused.returncode, refused.stdout), (2, ""))
                self.assertIn(f'sslfloor: N "{args[-1]}": a whole number from 1 to 1000000 is needed', refused.stderr)
        unloadable = self.sslfloor("--cpu", "full", os.path.join(self.dir, "missing.pem"), "1")
        self.assertEqual(unloadable.returncode, 2)
        self.assertIn("missing.pem: no certificate chain and private key could be loaded from it", unloadable.stderr)


if __name__ == "__main__":
    unittest.main()

"""Tests of the load generator (loadgen/tlsload/): it is built with cc and run against a real TLS server, a
Python HTTPS server on 127.0.0.1 with the benchmark's ECDSA P-256 certificate (made fresh), so that what the benchmark's figures rest
on is checked: completed operations are counted exactly, resumed and full handshakes apart, and a wrong body, a
wrong status, a missing OCSP staple when one is asked for (`--status`, checked against `openssl s_server
-status_file` too) or a bad option is an error, never an operation.

Run by `make test` (python3 -m unittest). Every process is started by the test and waited for; the server is
shut down and its port closed in tearDownClass.
"""
import hashlib
import http.server
import json
import os
import select
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import rig  # noqa: E402

SMALL = bytes(range(100))
LARGE = bytes(i * 7 % 251 for i in range(1 << 20))
TIMEOUT = 60  # seconds any one tlsload run may take


class Handler(http.server.BaseHTTPRequestHandler):
    """/100: 100 bytes, /large: 1 MiB, anything else: 404; HTTP/1.1 with Content-Length, keep-alive unless asked."""
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        body = {"/100": SMALL, "/large": LARGE}.get(self.path)
        self.send_response(200 if body is not None else 404)
        body = body if body is not None else b"not found\n"
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class TLSServer(http.server.ThreadingHTTPServer):
    """The handshake runs in the connection's thread (on its first read), not in the accepting one."""
    daemon_threads = True

    def __init__(self, context):
        super().__init__(("127.0.0.1", 0), Handler)
        self.context = context

    def get_request(self):
        sock, address = super().get_request()
        return self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address


class TlsloadTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="tlsload-test-")
        cls.binary = rig.build_loadgen("tlsload", cls.dir)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(rig.make_certificates(cls.dir)["ecdsa"])
        cls.server = TLSServer(context)
        cls.port = cls.server.server_address[1]
        cls.thread = threading.Thread(target=cls.server.serve_forever, daemon=True)
        cls.thread.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()
        cls.thread.join(timeout=10)
        shutil.rmtree(cls.dir, ignore_errors=True)

    def tlsload(self, *args, stdin=None):
        """Runs tlsload against the server; returns its exit status and its JSON lines."""
        done = subprocess.run([self.binary, "--port", str(self.port), *args], input=stdin, capture_output=True,
                              text=True, timeout=TIMEOUT)
        return done.returncode, [json.loads(line) for line in done.stdout.splitlines() if line.strip()]

    def test_counts_exactly_the_connections_asked_for_and_checks_what_was_negotiated(self):
        status, [result] = self.tlsload("--mode", "conn", "--count", "40", "--concurrency", "4", "--duration", "30",
                                        "--expect-sha256", hashlib.sha256(SMALL).hexdigest(),
                                        "--expect-cipher", "TLS_AES_128_GCM_SHA256", "--expect-group", "X25519")
        self.assertEqual(status, 0)
        self.assertEqual((result["ops"], result["started"], result["ops_total"]), (40, 40, 40))
        self.assertEqual(result["errors_total"], 0, result["errors"])
        self.assertEqual((result["version"], result["cipher"], result["group"]),
                         ("TLSv1.3", "TLS_AES_128_GCM_SHA256", "X25519"))

    def test_resumed_and_full_handshakes_are_counted_apart(self):
        # Each of the 2 slots makes one full handshake, then offers the ticket it got on every later connection.
        status, [result] = self.tlsload("--mode", "conn", "--count", "20", "--concurrency", "2", "--duration", "30",
                                        "--resume")
        self.assertEqual(status, 0)
        self.assertEqual(result["errors_total"], 0, result["errors"])
        self.assertEqual((result["ops"], result["full_in_window"], result["ops_total"]), (18, 2, 20))

    def test_a_body_that_differs_is_an_error_not_an_operation(self):
        _, [result] = self.tlsload("--mode", "conn", "--count", "6", "--concurrency", "2", "--duration", "30",
                                   "--expect-sha256", hashlib.sha256(b"something else").hexdigest())
        self.assertEqual(result["ops"], 0)
        self.assertEqual(result["errors"], {"body": 6})

    def test_a_status_other_than_200_is_an_error(self):
        _, [result] = self.tlsload("--mode", "conn", "--count", "3", "--duration", "30", "--path", "/missing")
        self.assertEqual(result["ops"], 0)
        self.assertEqual(result["errors"], {"http": 3})

    def test_bulk_downloads_whole_bodies_and_counts_their_bytes(self):
        status, [result] = self.tlsload("--mode", "bulk", "--path", "/large", "--duration", "0.3", "--warmup", "0",
                                        "--expect-sha256", hashlib.sha256(LARGE).hexdigest())
        self.assertEqual(status, 0)
        self.assertEqual(result["errors_total"], 0, result["errors"])
        self.assertGreaterEqual(result["downloads"], 1)
        self.assertEqual(result["bytes"], result["downloads"] * len(LARGE))

    def test_hold_keeps_connections_open_and_serves_probes_while_holding(self):
        status, lines = self.tlsload("--mode", "hold", "--hold", "12", "--concurrency", "4", "--duration", "30",
                                     stdin="status\nprobe 3\nquit\n")
        self.assertEqual(status, 0)
        ready, current, probe = lines
        self.assertEqual((ready["event"], ready["open"], ready["errors_total"]), ("ready", 12, 0))
        self.assertEqual((current["event"], current["open"]), ("status", 12))
        self.assertEqual((probe["event"], probe["tried"], probe["ok"]), ("probe", 3, 3))

    def test_refusals_are_the_operations_when_asked_for(self):
        # The server's default TLS 1.2 ciphers all have forward secrecy: it refuses AES256-SHA with an alert.
        status, [result] = self.tlsload("--mode", "conn", "--count", "10", "--concurrency", "2", "--duration", "30",
                                        "--tls", "12", "--ciphers", "AES256-SHA", "--expect-refusal")
        self.assertEqual(status, 0)
        self.assertEqual(result["errors_total"], 0, result["errors"])
        self.assertEqual((result["ops"], result["ops_total"]), (10, 10))

    def test_a_completed_handshake_is_an_error_when_a_refusal_is_expected(self):
        _, [result] = self.tlsload("--mode", "conn", "--count", "4", "--duration", "30", "--expect-refusal")
        self.assertEqual(result["ops"], 0)
        self.assertEqual(result["errors"], {"accepted": 4})

    def test_a_refusal_is_an_error_when_none_is_expected(self):
        _, [result] = self.tlsload("--mode", "conn", "--count", "3", "--duration", "30", "--tls", "12",
                                   "--ciphers", "AES256-SHA")
        self.assertEqual(result["ops"], 0)
        self.assertEqual(result["errors"], {"handshake": 3})

    def test_a_handshake_without_a_staple_is_an_error_when_one_is_asked_for(self):
        _, [result] = self.tlsload("--mode", "conn", "--count", "3", "--duration", "30", "--status")
        self.assertEqual(result["ops"], 0)
        self.assertEqual(result["errors"], {"not_stapled": 3})

    def test_stapled_handshakes_are_operations_when_a_staple_is_asked_for(self):
        """Against `openssl s_server -status_file`, which staples an OCSP response (made by `openssl ocsp` for the
        certificate) to every handshake that asks."""
        pem = os.path.join(self.dir, "ecdsa.pem")
        crt = os.path.join(self.dir, "ecdsa.crt")
        served = tempfile.mkdtemp(prefix="stapling-", dir=self.dir)
        serial = subprocess.run(["openssl", "x509", "-in", crt, "-noout", "-serial"], capture_output=True,
                                text=True, timeout=TIMEOUT, check=True).stdout.strip().split("=")[1]
        with open(os.path.join(served, "index.txt"), "w") as f:
            f.write(f"V\t491231235959Z\t\t{serial}\tunknown\t/CN=localhost\n")
        request, response = os.path.join(served, "request.der"), os.path.join(served, "response.der")
        for argv in (["-issuer", crt, "-cert", crt, "-no_nonce", "-reqout", request],
                     ["-index", os.path.join(served, "index.txt"), "-CA", crt, "-rsigner", crt, "-rkey", pem,
                      "-reqin", request, "-respout", response, "-ndays", "1"]):
            subprocess.run(["openssl", "ocsp", *argv], capture_output=True, timeout=TIMEOUT, check=True)
        with open(os.path.join(served, "100"), "wb") as f:  # -HTTP: the file holds the whole response
            f.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + SMALL)
        port = rig.free_port(set())
        server = subprocess.Popen(["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-cert", pem, "-key", pem,
                                   "-status_file", response, "-HTTP"], cwd=served, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0)
        try:
            printed = b""  # "Using default temp DH parameters", then "ACCEPT" once it listens
            while b"ACCEPT\n" not in printed and select.select([server.stdout], [], [], 10)[0]:
                chunk = os.read(server.stdout.fileno(), 4096)
                if not chunk:
                    break
                printed += chunk
            self.assertIn(b"ACCEPT\n", printed, "s_server did not listen")
            done = subprocess.run([self.binary, "--port", str(port), "--mode", "conn", "--count", "3",
                                   "--concurrency", "1", "--duration", "30", "--status"],
                                  capture_output=True, text=True, timeout=TIMEOUT)
            [result] = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
        finally:
            server.terminate()
            server.wait(timeout=10)
            server.stdout.close()
        self.assertEqual(result["ops"], 3, result)
        self.assertEqual(result["errors"], {}, result)

    def test_a_bad_option_is_refused_with_a_reason(self):
        for args, reason in ((["--mode", "sideways"], "usage: tlsload"),
                             (["--expect-sha256", "abc"], "--expect-sha256 needs 64 hex digits"),
                             (["--expect-group", "nosuchgroup"], "unknown group nosuchgroup"),
                             (["--mode", "bulk", "--count", "5"], "usage: tlsload"),
                             (["--mode", "bulk", "--expect-refusal"], "usage: tlsload"),
                             (["--resume", "--expect-refusal"], "usage: tlsload"),
                             (["--mode", "bulk", "--status"], "usage: tlsload"),
                             (["--expect-refusal", "--status"], "usage: tlsload")):
            done = subprocess.run([self.binary, "--port", str(self.port), *args], capture_output=True, text=True,
                                  timeout=TIMEOUT)
            self.assertEqual(done.returncode, 2, args)
            self.assertIn(reason, done.stderr, args)
            self.assertEqual(done.stdout, "", args)


if __name__ == "__main__":
    unittest.main()

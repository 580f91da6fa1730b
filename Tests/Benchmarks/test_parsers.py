"""Unit tests for what the benchmark parses (package bench/): a real ClientHello from OpenSSL (made in memory by
Python's ssl module, no socket), perf's object names, and CPU lists.

Run by `make test` (python3 -m unittest); no process, no socket.
"""
import os
import ssl
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import clienthello, perf, procfs  # noqa: E402


def client_hello(version):
    """The ClientHello record OpenSSL writes for a client limited to `version`."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = context.maximum_version = version
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    connection = context.wrap_bio(incoming, outgoing, server_hostname="localhost")
    try:
        connection.do_handshake()
    except ssl.SSLWantReadError:  # waiting for the server's answer, the ClientHello written
        return outgoing.read()
    raise AssertionError("the handshake did not wait for a server")


class ClientHelloTests(unittest.TestCase):
    def test_a_tls13_client_offers_tls13_only_and_a_key_share_among_its_groups(self):
        offer = clienthello.parse_client_hello(client_hello(ssl.TLSVersion.TLSv1_3))
        self.assertEqual(offer["versions"], ["TLSv1.3"])
        self.assertIn("TLS_AES_128_GCM_SHA256", offer["suites"])
        self.assertIn("X25519", offer["groups"])
        self.assertTrue(offer["key_shares"])
        self.assertLessEqual(set(offer["key_shares"]), set(offer["groups"]))

    def test_a_tls12_client_has_the_record_version_and_no_key_share(self):
        offer = clienthello.parse_client_hello(client_hello(ssl.TLSVersion.TLSv1_2))
        self.assertEqual(offer["versions"], ["TLSv1.2"])
        self.assertEqual(offer["key_shares"], [])
        self.assertNotIn("TLS_AES_128_GCM_SHA256", offer["suites"])

    def test_anything_else_is_an_error_not_an_exception(self):
        record = client_hello(ssl.TLSVersion.TLSv1_3)
        self.assertEqual(clienthello.parse_client_hello(b"GET / HTTP/1.1\r\n"), {"error": "no ClientHello received"})
        for cut in (9, 60, len(record) - 1):
            self.assertEqual(clienthello.parse_client_hello(record[:cut]),
                             {"error": f"the ClientHello ends early ({cut} bytes received)"}, f"cut at {cut}")
        # A whole record whose handshake message is shorter than its fields say.
        short = bytes([22, 3, 1, 0, 8, 1, 0, 0, 4, 3, 3, 0xFF, 0xFF])
        self.assertEqual(clienthello.parse_client_hello(short),
                         {"error": "the ClientHello ends early (13 bytes received)"})


class ProfilePartTests(unittest.TestCase):
    def test_each_object_is_counted_where_the_cpu_ran(self):
        for dso, part in (("[kernel.kallsyms]", "kernel"), ("[unknown]", "kernel"), ("[vdso]", "libc"),
                          ("/usr/lib/x86_64-linux-gnu/libcrypto.so.3", "openssl"), ("libssl.so.3", "openssl"),
                          ("/lib/x86_64-linux-gnu/libc.so.6", "libc"), ("ld-linux-x86-64.so.2", "libc"),
                          ("libev.so.4.0.0", "libev"), ("/work/.build/release/unwrapd", "own"),
                          ("/usr/sbin/hitch", "other")):
            self.assertEqual(perf.profile_part(dso, "unwrapd"), part, dso)
        self.assertEqual(perf.profile_part("/usr/sbin/hitch ", "hitch"), "own")


class CpuListTests(unittest.TestCase):
    def test_lists_and_ranges(self):
        self.assertEqual(procfs.cpu_list("0"), {0})
        self.assertEqual(procfs.cpu_list("0-1,3"), {0, 1, 3})
        self.assertEqual(procfs.cpu_list("2-4"), {2, 3, 4})
        self.assertEqual(procfs.cpu_list("?"), set())


if __name__ == "__main__":
    unittest.main()

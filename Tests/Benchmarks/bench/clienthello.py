"""The ClientHello check: a plain TCP listener reads what a client offers (versions, suites, groups, key
shares), so the table can show that both daemons were offered the same."""

import socket
import subprocess
import time

from .processes import Proc


SUITE_NAMES = {0x1301: "TLS_AES_128_GCM_SHA256", 0x1302: "TLS_AES_256_GCM_SHA384",
               0x1303: "TLS_CHACHA20_POLY1305_SHA256", 0xC02B: "ECDHE-ECDSA-AES128-GCM-SHA256",
               0xC02F: "ECDHE-RSA-AES128-GCM-SHA256", 0x00FF: "TLS_EMPTY_RENEGOTIATION_INFO_SCSV"}


GROUP_NAMES = {0x001D: "X25519", 0x0017: "P-256", 0x0018: "P-384", 0x0019: "P-521", 0x001E: "X448"}


VERSION_NAMES = {0x0304: "TLSv1.3", 0x0303: "TLSv1.2", 0x0302: "TLSv1.1", 0x0301: "TLSv1.0"}


def u16(b, i):
    """The big-endian 16-bit number at `b[i]`; IndexError past the end."""
    if i + 2 > len(b):
        raise IndexError(i)
    return int.from_bytes(b[i:i + 2], "big")


def parse_client_hello(data):
    """Versions, suites, groups and key shares of a ClientHello record (names where known, else hex); {"error": ...}
    when `data` is not one, or ends before its extensions do."""
    if len(data) < 9 or data[0] != 22 or data[5] != 1:
        return {"error": "no ClientHello received"}
    try:
        if len(data) < 5 + u16(data, 3):  # the record's length
            raise IndexError(len(data))
        return _client_hello_fields(data[9:])
    except IndexError:
        return {"error": f"the ClientHello ends early ({len(data)} bytes received)"}


def _client_hello_fields(body):
    """parse_client_hello's walk over the handshake body (after the record and handshake headers)."""
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
    """Starts the client given by `argv_for_port(port)` against a plain listener and parses the ClientHello it
    sends (bounded by `timeout`)."""
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
                    while len(data) < 5 or len(data) < 5 + u16(data, 3):  # the whole record
                        chunk = conn.recv(65536)
                        if not chunk:
                            break
                        data += chunk
        except OSError:
            pass
        finally:
            proc.stop(timeout=5)
    return parse_client_hello(data)

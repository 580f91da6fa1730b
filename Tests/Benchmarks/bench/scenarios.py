"""The scenarios of issue #3 and the rows of the table each kind of scenario reports, with their targets."""


SUITE13 = "TLS_AES_128_GCM_SHA256"


GROUP = "X25519"


# TLS 1.2 has no TLS_AES_128_GCM_SHA256: its equivalent (AES-128-GCM, SHA-256, ECDHE over X25519). An ECDSA P-256
# certificate in TLS 1.2 requires the client to list P-256 among its groups, so the client offers X25519 first and
# P-256 second; the key exchange is checked to be X25519.
CIPHER12 = "ECDHE-ECDSA-AES128-GCM-SHA256"


GROUPS12 = "X25519:P-256"


# The `refused` scenario's client offers TLS 1.2 with only this cipher (RSA key exchange, no forward secrecy), which
# neither daemon accepts: each handshake ends with the server's handshake_failure alert ("no shared cipher").
REFUSED_CIPHER = "AES256-SHA"

# Scenario settings of unwrapd's that only restate what builds older than the setting did anyway: a
# --baseline-unwrapd build whose --help does not name one is started without it (run.py).
AS_OLDER_BUILDS_DO = {"--connection-log-limit=0"}


class Scenario:
    """One scenario of the table: what the clients do (`kind`), with which certificate, TLS version and
    resumption, and how many workers both daemons run."""

    def __init__(self, name, title, kind, cert="ecdsa", tls=13, resume=False, hold=0, workers=1, count=0,
                 unwrapd_args=()):
        self.name, self.title, self.kind, self.cert, self.tls, self.resume, self.hold = (
            name, title, kind, cert, tls, resume, hold)
        self.workers, self.count = workers, count  # -n of both daemons; spread: connections made in all
        self.unwrapd_args = list(unwrapd_args)  # a setting of unwrapd's that hitch does not have

    @property
    def cipher(self):
        if self.kind == "refuse":
            return REFUSED_CIPHER
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
    Scenario("refused", "refused handshakes, new connection each time: a TLS 1.2 client offering only "
             + REFUSED_CIPHER + ", which neither daemon accepts (what a client retrying a failure costs)", "refuse",
             tls=12, unwrapd_args=["--connection-log-limit=0"]),  # one line per refusal, as hitch writes
]


BY_NAME = {s.name: s for s in SCENARIOS}


# Rows of the table: (label, metric key, better, target). Targets from issue #3, section 2.
#   ("ge", x): ratio unwrapd/hitch >= x;  ("le", x): ratio <= x;  ("abs_le", x): unwrapd's value <= x;
#   ("max_le", x): unwrapd's value <= x in every run;  ("all", None): unwrapd's value equals the requested count
#   in every run.
CPU_ROW = {"conn": "daemon CPU µs/handshake", "wrk": "daemon CPU µs/request", "bulk": "daemon CPU µs/MB",
           "hold": "daemon CPU µs/conn opened", "spread": "daemon CPU µs/connection",
           "refuse": "daemon CPU µs/refusal"}


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
    # No target in issue #3; the brief asks that a failure cost the daemon little, for clients that retry at once.
    "refuse": [("refusals/s", "rate", "higher", None),
               ("cpu", "cpu_us_per_op", "lower", None),
               *CPU_PARTS,
               ("client (tlsload) CPU µs/refusal", "client_cpu_us_per_op", "lower", None),
               ("client-side latency p50 ms", "latency_p50_ms", "lower", None),
               ("TCP segments on loopback/connection", "tcp_segments_per_conn", "lower", None),
               ("TCP resets sent per connection", "tcp_resets_per_conn", "lower", None)],
}

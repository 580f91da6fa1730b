"""The test rig: ports, certificates, the backend's documents, nginx as the backend, and the daemons' command
lines (the same for unwrapd and hitch)."""

import hashlib
import os
import re
import resource
import shutil
import socket
import time

from .processes import Proc, niced, run
from .procfs import cpu_list


# The benchmark's directory (Tests/Benchmarks: READMEs, wrk-report.lua) and the repository's root.
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))


def daemon_binary(cfg, daemon):
    """The executable of `daemon`: "unwrapd", "hitch", or "baseline" (the unwrapd build of --baseline-unwrapd)."""
    return {"unwrapd": cfg.unwrapd, "hitch": cfg.hitch, "baseline": cfg.baseline_unwrapd}[daemon]


def daemon_argv(cfg, daemon, sc, port=None):
    """The command line of `daemon` in scenario `sc`, listening on `port` (default: the frontend's): the same for
    both, then unwrapd's own settings (--unwrapd-arg and the scenario's; a baseline build gets them too), then the
    certificate."""
    own = [] if daemon == "hitch" else cfg.unwrapd_args + sc.unwrapd_args
    if daemon == "baseline":
        own = [arg for arg in own if arg not in cfg.baseline_left_out]
    return ([daemon_binary(cfg, daemon), "-n", str(sc.workers),
             "-f", f"[127.0.0.1]:{port or cfg.frontend_port}", "-b", f"[127.0.0.1]:{cfg.backend_port}", "-u", "nobody"]
            + own + [cfg.pems[sc.cert]])


def daemon_cpus(cfg, sc):
    """Where the daemon may run: its CPU; in the spread scenario (-n 2) both CPUs, or --spread-cpus (README)."""
    if sc.kind == "spread":
        return cfg.spread_cpus or f"{cfg.daemon_cpu},{cfg.client_cpu}"
    return str(cfg.daemon_cpu)


def cpus_text(cpus):
    """"CPU 0" or "CPUs 0,1" for a taskset list."""
    return ("CPU " if len(cpu_list(cpus)) == 1 else "CPUs ") + cpus


def free_port(used):
    """A TCP port on 127.0.0.1 nobody listens on, below the ephemeral range (other sessions use this machine)."""
    low, high = 20000, 32000
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            first = int(f.read().split()[0])
            high = min(high, first - 1)
    except (OSError, ValueError):
        pass
    start = low + (os.getpid() * 7919) % (high - low)
    for offset in range(high - low):
        port = low + (start - low + offset) % (high - low)
        if port in used:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        used.add(port)
        return port
    raise SystemExit("bench: no free port")


def port_is_free(port):
    """Nothing listens on this port of 127.0.0.1 (checked before each daemon starts)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def build_loadgen(name, directory):
    """Builds the load generator's program NAME (loadgen/NAME.c, or the .c files of loadgen/NAME/) into
    directory/NAME with warnings as errors, as the tests do (`make bench` builds the same sources); its path."""
    source = os.path.join(HERE, "loadgen", name)
    sources = ([os.path.join(source, f) for f in sorted(os.listdir(source)) if f.endswith(".c")]
               if os.path.isdir(source) else [source + ".c"])
    binary = os.path.join(directory, name)
    result = run(["cc", "-O2", "-Wall", "-Wextra", "-Werror", "-o", binary, *sources, "-lssl", "-lcrypto"],
                 timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"cc {name}: {result.stderr.strip()}")
    return binary


def make_certificates(directory):
    """Self-signed ECDSA P-256 and RSA-2048 certificates, key + certificate in one PEM (as both daemons take it)."""
    pems = {}
    for name, keyopts in (("ecdsa", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]),
                          ("rsa", ["-newkey", "rsa:2048"])):
        key, crt, pem = (os.path.join(directory, f"{name}.{ext}") for ext in ("key", "crt", "pem"))
        result = run(["openssl", "req", "-x509", *keyopts, "-nodes", "-days", "2", "-subj", "/CN=localhost",
                      "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", key, "-out", crt],
                     timeout=60)
        if result.returncode != 0:
            raise SystemExit(f"bench: openssl req ({name}): {result.stderr.strip()}")
        with open(pem, "w") as out:
            out.write(open(key).read() + open(crt).read())
        os.remove(key)
        os.chmod(pem, 0o600)
        pems[name] = pem
    return pems


def make_documents(directory):
    """The backend's files: /100 (100 bytes) and /64m (64 MiB of random bytes). Returns their SHA-256."""
    os.chmod(directory, 0o755)
    small = b"0123456789" * 10
    big_path = os.path.join(directory, "64m")
    digest = hashlib.sha256()
    with open(big_path, "wb") as f:
        for _ in range(64):
            chunk = os.urandom(1 << 20)
            digest.update(chunk)
            f.write(chunk)
    with open(os.path.join(directory, "100"), "wb") as f:
        f.write(small)
    for name in ("64m", "100"):
        os.chmod(os.path.join(directory, name), 0o644)
    return {"/100": hashlib.sha256(small).hexdigest(), "/64m": digest.hexdigest()}


NGINX_CONF = """# generated by Tests/Benchmarks/run.py
worker_processes 1;
worker_rlimit_nofile {nofile};
daemon off;
master_process on;
user nobody nogroup;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections {connections}; }}
http {{
    access_log off;
    sendfile on;
    keepalive_timeout 3600s;
    keepalive_requests 1000000000;
    server_tokens off;
    default_type application/octet-stream;
    client_body_temp_path {dir}/tmp-body;
    proxy_temp_path {dir}/tmp-proxy;
    fastcgi_temp_path {dir}/tmp-fastcgi;
    uwsgi_temp_path {dir}/tmp-uwsgi;
    scgi_temp_path {dir}/tmp-scgi;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        root {root};
        # requests served, read before and after each run: every request a client counted must be here
        location = /nginx-status {{ stub_status; }}
    }}
}}
"""


def http_get_plain(port, path, timeout=2.0):
    """One plain HTTP/1.1 request to the backend; returns the whole response (bytes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return data
            data += chunk


def backend_requests(port):
    """nginx's count of requests served so far (stub_status), this request included."""
    m = re.search(rb"\n\s*\d+\s+\d+\s+(\d+)", http_get_plain(port, "/nginx-status"))
    if not m:
        raise SystemExit("bench: cannot read nginx's stub_status")
    return int(m.group(1))


def start_backend(cfg, port, root, directory):
    """nginx on the clients' core, serving `root` on 127.0.0.1:`port`; returned once it answers (at most 10 s)."""
    os.makedirs(directory, exist_ok=True)
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    conf = os.path.join(directory, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(nofile=nofile, connections=max(1024, nofile - 100), dir=directory, port=port,
                                  root=root))
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    err = open(os.path.join(directory, "stderr.log"), "w")
    proc = Proc("nginx", niced(cfg, ["taskset", "-c", str(cfg.client_cpu), nginx, "-p", directory, "-c", conf,
                                     "-e", os.path.join(directory, "error.log")]), stdout=err, stderr=err)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not proc.alive():
            raise SystemExit(f"bench: nginx exited: see {directory}/error.log")
        try:
            if http_get_plain(port, "/100").endswith(b"0123456789"):
                return proc
        except OSError:
            pass
        time.sleep(0.05)
    raise SystemExit("bench: nginx did not answer within 10 s")


CLIENT_OPENSSL_CONF = """# generated by Tests/Benchmarks/run.py: pins wrk's TLS (wrk has no TLS options; OpenSSL reads this at start)
openssl_conf = openssl_init
[openssl_init]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
MinProtocol = TLSv1.3
MaxProtocol = TLSv1.3
Ciphersuites = {suite}
Groups = {group}
"""

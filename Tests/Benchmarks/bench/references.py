"""What the daemons' figures are read against, measured once per benchmark: OpenSSL alone (sslfloor's memory
and CPU per operation), `openssl speed` on the daemon's core, and the ClientHello each client sends."""

import json
import os

from .clienthello import capture_client_hello
from .processes import niced, note, run
from .scenarios import BY_NAME


def sslfloor_result(argv, timeout, what):
    """The JSON line sslfloor printed last, or None (noted, with its stderr) when it failed."""
    result = run(argv, timeout=timeout)
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode != 0 or not lines:
        note(f"bench: {what} failed: {result.stderr.strip()}")
        return None
    return json.loads(lines[-1])


def run_floor(bench):
    """OpenSSL's own memory per idle server connection (loadgen/sslfloor/), once per benchmark."""
    cfg = bench.cfg
    if bench.floor is not None or not cfg.sslfloor:
        return
    bench.floor = sslfloor_result(bench.client([cfg.sslfloor, cfg.pems["ecdsa"], "2000"]), 120, "sslfloor") or {}
    if not bench.floor:
        return
    bench.emit({"type": "openssl_floor", "bench_id": cfg.bench_id, "pem": "ecdsa", **bench.floor,
               "machine": cfg.machine})
    note(f"  [floor] OpenSSL alone: {bench.floor['kib_per_connection']} KiB per idle server connection")


def run_cpu_floor(bench, sc):
    """OpenSSL's own server CPU per operation of the scenario (loadgen/sslfloor/, --cpu), on the daemon's CPU,
    once per mode and certificate."""
    cfg = bench.cfg
    key = (sc.floor_mode, sc.cert)
    if key in bench.cpu_floors or not cfg.sslfloor or not sc.floor_mode:
        return
    count = {"request": 20000, "bulk": 4000}.get(sc.floor_mode, 1000)
    argv = niced(cfg, ["taskset", "-c", str(cfg.daemon_cpu), cfg.sslfloor, "--cpu", sc.floor_mode,
                       cfg.pems[sc.cert], str(count)])
    floor = sslfloor_result(argv, 300, f"sslfloor --cpu {sc.floor_mode}")
    bench.cpu_floors[key] = floor["server_us_per_op"] if floor else None
    if not floor:
        return
    bench.emit({"type": "openssl_cpu_floor", "bench_id": cfg.bench_id, "pem": sc.cert, **floor,
               "cpu": cfg.daemon_cpu, "machine": cfg.machine})
    note(f"  [floor] OpenSSL alone: {floor['server_us_per_op']} µs of server CPU per {floor['unit']} "
         f"({sc.floor_mode}, {sc.cert})")


def run_speed(bench):
    """`openssl speed` on the daemon's core (best of three): the zero-overhead ceilings of the scenarios."""
    cfg = bench.cfg
    reps = 1 if cfg.quick else 3
    samples = {"ecdsap256_sign": [], "rsa2048_sign": [], "x25519": [], "aes128gcm_16k": []}
    for _ in range(reps):
        speed = niced(cfg, ["taskset", "-c", str(cfg.daemon_cpu), "openssl", "speed", "-seconds",
                            str(cfg.speed_seconds), "-mr"])
        out = run(speed + ["ecdsap256", "rsa2048", "ecdhx25519"], timeout=60 + 10 * cfg.speed_seconds).stdout
        out += run(speed + ["-aead", "-evp", "aes-128-gcm", "-bytes", "16384"],
                   timeout=60 + 10 * cfg.speed_seconds).stdout
        for line in out.splitlines():
            f = line.split(":")
            if line.startswith("+F2:") and f[2] == "2048":
                samples["rsa2048_sign"].append(float(f[3]))
            elif line.startswith("+F4:") and f[2] == "256":
                samples["ecdsap256_sign"].append(float(f[3]))
            elif line.startswith("+F5:") and f[2] == "253":
                samples["x25519"].append(float(f[3]))
            elif line.startswith("+F:") and "AES-128-GCM" in line:
                samples["aes128gcm_16k"].append(float(f[3]) / 1e6)
    speed = {k: {"max": max(v), "min": min(v), "values": v} if v else None for k, v in samples.items()}
    if any(v is None for v in speed.values()):
        raise SystemExit(f"bench: could not parse openssl speed's output: {samples}")
    bench.speed = speed
    sign_e, sign_r, x = (speed[k]["max"] for k in ("ecdsap256_sign", "rsa2048_sign", "x25519"))
    # Server-side public-key work per handshake (one X25519 derive; the key generation, a fixed-base
    # multiplication that `openssl speed` does not time, is left out: the ceilings are upper bounds).
    bench.ceilings = {
        "hs-ecdsa": 1 / (1 / sign_e + 1 / x),
        "hs-rsa": 1 / (1 / sign_r + 1 / x),
        "resume-tls13": x,
        "resume-tls13-stateful": x,
        "bulk": speed["aes128gcm_16k"]["max"],
    }
    record = {"type": "summary", "bench_id": cfg.bench_id, "scenario": "speed", "cpu": cfg.daemon_cpu,
              "seconds_per_algorithm": cfg.speed_seconds, "repetitions": reps,
              "units": {"ecdsap256_sign": "signs/s", "rsa2048_sign": "signs/s", "x25519": "derives/s",
                        "aes128gcm_16k": "MB/s (10^6 B/s, 16 KiB AEAD records, encrypt)"},
              "results": speed, "ceilings": bench.ceilings, "machine": cfg.machine}
    bench.emit(record)
    note(f"  [speed] ECDSA P-256 sign {sign_e:.0f}/s, RSA-2048 sign {sign_r:.0f}/s, X25519 {x:.0f}/s, "
         f"AES-128-GCM {speed['aes128gcm_16k']['max']:.0f} MB/s")


def check_offers(bench):
    """What each client (wrk, tlsload with TLS 1.3 and 1.2) offers in its ClientHello, read by a plain listener."""
    cfg = bench.cfg
    wrk_argv = lambda port: bench.client(["wrk", "-t1", "-c1", "-d1s", f"https://127.0.0.1:{port}/100"])
    env = dict(os.environ, OPENSSL_CONF=cfg.client_openssl_conf)
    bench.offers["wrk"] = capture_client_hello(wrk_argv, env=env)
    for sc in (BY_NAME["hs-ecdsa"], BY_NAME["resume-tls12"]):
        argv = lambda port, sc=sc: bench.client(bench.tlsload_args(sc, port) + [
            "--mode", "probe", "--probe-timeout", "1"])
        bench.offers[f"tlsload TLS 1.{sc.tls - 10}"] = capture_client_hello(argv)
    for who, offer in bench.offers.items():
        note(f"  [offers] {who}: versions {offer.get('versions')}, suites {offer.get('suites')}, "
             f"groups {offer.get('groups')}, key shares {offer.get('key_shares')}")
    bench.emit({"type": "client_offers", "bench_id": cfg.bench_id, "offers": bench.offers,
               "machine": cfg.machine})

"""The machine and the versions a table was measured with."""

import datetime
import os
import platform
import resource
import subprocess

from .processes import run
from .rig import REPO, daemon_binary


def now_iso():
    """The time now, UTC, to the second (ISO 8601)."""
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()


def first_line(argv, stream="stdout"):
    """The first line a short command prints (on `stream`, else the other), or "?"."""
    try:
        r = run(argv, timeout=10)
        text = (r.stdout if stream == "stdout" else r.stderr) or r.stdout or r.stderr
        return text.strip().splitlines()[0] if text.strip() else "?"
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def machine_info(cfg):
    """The machine, the kernel, and the versions of everything measured, for the table's header and every record."""
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    hypervisor = first_line(["sh", "-c", "lscpu | grep -i 'hypervisor vendor' | sed 's/.*: *//'"]) or None
    commit = first_line(["git", "-C", REPO, "rev-parse", "--short", "HEAD"])
    dirty = run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"], timeout=10).stdout.strip()
    libssl = lambda binary: first_line(["sh", "-c", f"ldd {binary} | grep -o 'libssl[^ ]* => [^ ]*'"])
    second = cfg.daemons[1]
    second_version = first_line([daemon_binary(cfg, second), "--version"])
    return {
        "date": now_iso(), "host": platform.node(), "cores": os.cpu_count(), "cpu_model": model,
        "hypervisor": hypervisor, "kernel": platform.release(),
        "openssl": first_line(["openssl", "version"]),
        "unwrapd": first_line([cfg.unwrapd, "--version"]) + f" (git {commit}{'+dirty' if dirty else ''})",
        "unwrapd_libssl": libssl(cfg.unwrapd),
        # a baseline build has the same version line: its path tells it apart
        second: second_version + (f" ({cfg.baseline_unwrapd})" if cfg.baseline_unwrapd else ""),
        f"{second}_libssl": libssl(daemon_binary(cfg, second)),
        "nginx": first_line(["nginx", "-v"], "stderr").replace("nginx version: ", ""),
        "wrk": " ".join(first_line(["sh", "-c", "wrk -v 2>&1 | head -1"]).split()[:2]),
        "python": platform.python_version(),
        "open_files_limit": open_files_limit(), "daemon_cpu": cfg.daemon_cpu, "client_cpu": cfg.client_cpu,
    }


def open_files_limit():
    """[soft, hard] limit on open files of this process (the daemons inherit it)."""
    return list(resource.getrlimit(resource.RLIMIT_NOFILE))
